/* canvas_private.h — RgCanvas's instance, shared by canvas.c (state, input,
 * API) and canvas_draw.c (rendering). Not installed, not for other widgets. */
#pragma once

#include "arrows.h"
#include "canvas.h"

/* What the pointer is doing between press and release. */
typedef enum {
    DRAG_NONE,
    DRAG_NEW_ARROW, /* pulling the target of an arrow just made */
    DRAG_END,       /* moving one end of an existing arrow */
    DRAG_PAN,
    DRAG_PAINT,
    DRAG_BOX,
} CanvasDrag;

struct _RgCanvas {
    GtkDrawingArea parent;
    rg_image *image; /* a copy, or NULL */
    cairo_surface_t *image_surface, *overlay_surface;
    double overlay_opacity;
    RgCanvasMode mode;

    /* View: widget = (ox, oy) + image * zoom. While fit is set, zoom and
     * offset follow the allocation (rg_canvas_priv_update_view). */
    gboolean fit;
    double zoom, ox, oy;

    RgArrows *arrows;
    int selected; /* arrow index, or -1 */

    CanvasDrag drag;
    guint drag_button;
    int drag_arrow, drag_end;
    double grab_dx, grab_dy; /* image offset from the pointer to the dragged end */
    double press_x, press_y; /* widget */
    double last_x, last_y;   /* widget for panning, image for painting */
    gboolean space_down;
    gboolean pointer_in;
    double pointer_x, pointer_y; /* widget, for the brush outline */

    guint8 *mask; /* width * height, 255 = painted; NULL until painted */
    cairo_surface_t *mask_surface; /* A8 copy of mask for drawing, rebuilt when dirty */
    gboolean mask_dirty, paint_erase;
    double brush_radius; /* image pixels */

    gboolean has_box;
    int box[4];
    double box_x0, box_y0; /* image point where the box drag began */
};

/* Recomputes zoom and offset from the allocation while fit is set. */
void rg_canvas_priv_update_view(RgCanvas *c);
/* The draw vfunc. */
gboolean rg_canvas_priv_draw(GtkWidget *widget, cairo_t *cr);
