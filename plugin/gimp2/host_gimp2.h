/* host_gimp2.h — the RgHost of the GIMP 2.10 plug-in: layers, selection,
 * new layers, the on-canvas preview and progress through libgimp-2.0 and
 * GEGL. Every function must be called on the plug-in's main thread, which is
 * the only one allowed to talk to GIMP. */
#pragma once

#include <libgimp/gimp.h>

#include "host.h"

G_BEGIN_DECLS

/* A host editing @drawable of @image. @interactive: flush the displays after
 * changes (GIMP's own plug-ins do that only when a user is watching). */
RgHost *rg_gimp2_host_new(gint32 image, gint32 drawable, gboolean interactive);
/* Removes the preview layer if one is left, closes an undo group left open,
 * and frees the host. */
void rg_gimp2_host_free(RgHost *host);

G_END_DECLS
