/* canvas.h — the layer as the user edits it: zoom and pan, drag arrows
 * (handle -> target), an optional mask brush and an optional box.
 *
 * Mouse, in arrow mode: press-drag-release on empty space makes an arrow;
 * pressing on either end of an arrow drags that end; a click on an end
 * selects the arrow; Delete / BackSpace or a right-click on an end deletes
 * it; Ctrl+Z / Ctrl+Shift+Z (Ctrl+Y) undo and redo point edits. Mask mode:
 * left paints, right erases, with a round brush. Box mode: press-drag-release
 * sets the box. In every mode the scroll wheel zooms around the pointer and
 * the middle button (or Space + left) pans.
 *
 * Coordinates in the API are pixels of the image (x right, y down), floats.
 */
#pragma once

#include <gtk/gtk.h>

#include "readout/image.h"

G_BEGIN_DECLS

typedef enum {
    RG_CANVAS_MODE_ARROWS,
    RG_CANVAS_MODE_MASK,
    RG_CANVAS_MODE_BOX,
    RG_CANVAS_MODE_VIEW, /* zoom and pan only */
} RgCanvasMode;

#define RG_TYPE_CANVAS (rg_canvas_get_type())
G_DECLARE_FINAL_TYPE(RgCanvas, rg_canvas, RG, CANVAS, GtkDrawingArea)

/* Signals: "changed" (arrows, mask or box changed, also by undo/redo). */
GtkWidget *rg_canvas_new(void);
/* Shows a copy of @img (grey, RGB or RGBA); arrows, mask and box are kept
 * when the size is unchanged, else cleared. */
void rg_canvas_set_image(RgCanvas *c, const rg_image *img);
/* An image drawn over the layer at @opacity (e.g. the live prediction), any
 * size, stretched to the layer; NULL removes it. */
void rg_canvas_set_overlay(RgCanvas *c, const rg_image *img, double opacity);
void rg_canvas_set_mode(RgCanvas *c, RgCanvasMode mode);
RgCanvasMode rg_canvas_get_mode(RgCanvas *c);

/* View: zoom 1 = one image pixel per widget pixel; zoom_to_fit fits the
 * widget (the default until the user zooms). */
void rg_canvas_set_zoom(RgCanvas *c, double zoom);
double rg_canvas_get_zoom(RgCanvas *c);
void rg_canvas_zoom_to_fit(RgCanvas *c);
void rg_canvas_image_to_widget(RgCanvas *c, double ix, double iy, double *wx, double *wy);
void rg_canvas_widget_to_image(RgCanvas *c, double wx, double wy, double *ix, double *iy);

/* Arrows: floats x0 y0 x1 y1 per arrow. (transfer full) */
GArray *rg_canvas_get_points(RgCanvas *c);
int rg_canvas_get_n_arrows(RgCanvas *c);
/* Replaces the arrows (an undoable edit). */
void rg_canvas_set_points(RgCanvas *c, const float *xy, int n_arrows);
/* The selected arrow, or -1. */
int rg_canvas_get_selected(RgCanvas *c);
void rg_canvas_delete_selected(RgCanvas *c);
gboolean rg_canvas_undo(RgCanvas *c);
gboolean rg_canvas_redo(RgCanvas *c);
gboolean rg_canvas_can_undo(RgCanvas *c);
gboolean rg_canvas_can_redo(RgCanvas *c);

/* Mask: a 1-channel image of the layer's size (255 = painted), or NULL when
 * nothing is painted. (transfer full) */
rg_image *rg_canvas_get_mask(RgCanvas *c);
void rg_canvas_clear_mask(RgCanvas *c);
void rg_canvas_set_brush_radius(RgCanvas *c, double radius);

/* Box: x0 y0 x1 y1 in image pixels (x0 < x1, y0 < y1, clamped to the image). */
gboolean rg_canvas_get_box(RgCanvas *c, int box[4]);
void rg_canvas_set_box(RgCanvas *c, const int box[4]); /* NULL clears */

G_END_DECLS
