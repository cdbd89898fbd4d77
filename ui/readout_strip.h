/* readout_strip.h — a row of small pictures updated at every step of a
 * job: the predicted image and each head's readout, each under its name. */
#pragma once

#include <gtk/gtk.h>

#include "readout/image.h"

G_BEGIN_DECLS

#define RG_TYPE_READOUT_STRIP (rg_readout_strip_get_type())
G_DECLARE_FINAL_TYPE(RgReadoutStrip, rg_readout_strip, RG, READOUT_STRIP, GtkBox)

/* Pictures are shown @size pixels high (nearest-neighbour when enlarged, so
 * that a 64-pixel readout stays sharp). */
GtkWidget *rg_readout_strip_new(int size);
/* Shows @img under @name, adding a slot the first time a name is seen. */
void rg_readout_strip_set(RgReadoutStrip *s, const char *name, const rg_image *img);
/* The names shown, in order. (transfer container) */
GList *rg_readout_strip_get_names(RgReadoutStrip *s);
void rg_readout_strip_clear(RgReadoutStrip *s);

G_END_DECLS
