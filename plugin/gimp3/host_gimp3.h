/* host_gimp3.h — the RgHost of the GIMP 3 plug-in: layers, selection, new
 * layers, the on-canvas preview and progress through libgimp-3.0 and GEGL.
 * Layer ids (RgHostLayer.id) are GIMP's item ids (gimp_item_get_id). Every
 * function must be called on the plug-in's main thread, the only one allowed
 * to talk to GIMP. */
#pragma once

#include <libgimp/gimp.h>

#include "host.h"

G_BEGIN_DECLS

/* A host editing @drawable of @image (both borrowed; they outlive the run).
 * @interactive: flush the displays after changes (GIMP's own plug-ins do that
 * only when a user is watching). */
RgHost *rg_gimp3_host_new(GimpImage *image, GimpDrawable *drawable, gboolean interactive);
/* Removes the preview layer if one is left, closes an undo group left open,
 * and frees the host. */
void rg_gimp3_host_free(RgHost *host);

G_END_DECLS
