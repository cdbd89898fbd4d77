/* canvas_draw.c — how RgCanvas looks: the layer, the overlay, the mask as a
 * tint, the box as marching ants, arrows with red handles and blue targets.
 * Marks are drawn in widget space so that they keep their size at any zoom. */
#include <math.h>
#include <string.h>

#include "canvas_private.h"

#define DOT_RADIUS 5.0
#define HEAD_LENGTH 12.0
#define HEAD_HALF_WIDTH 5.0

/* Sets up @cr so that user space is image pixels. */
static void to_image_space(RgCanvas *c, cairo_t *cr)
{
    cairo_translate(cr, c->ox, c->oy);
    cairo_scale(cr, c->zoom, c->zoom);
}

/* Paints @surface stretched over the layer, pixels crisp once magnified. */
static void paint_stretched(RgCanvas *c, cairo_t *cr, cairo_surface_t *surface, double alpha)
{
    int w = cairo_image_surface_get_width(surface), h = cairo_image_surface_get_height(surface);
    if (w <= 0 || h <= 0)
        return;
    cairo_save(cr);
    to_image_space(c, cr);
    cairo_scale(cr, (double)c->image->width / w, (double)c->image->height / h);
    cairo_set_source_surface(cr, surface, 0.0, 0.0);
    if (c->zoom * c->image->width / w >= 2.0)
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint_with_alpha(cr, alpha);
    cairo_restore(cr);
}

static void draw_mask(RgCanvas *c, cairo_t *cr)
{
    int w = c->image->width, h = c->image->height;
    if (c->mask_dirty || !c->mask_surface) {
        g_clear_pointer(&c->mask_surface, cairo_surface_destroy);
        c->mask_surface = cairo_image_surface_create(CAIRO_FORMAT_A8, w, h);
        cairo_surface_flush(c->mask_surface);
        guint8 *dst = cairo_image_surface_get_data(c->mask_surface);
        int stride = cairo_image_surface_get_stride(c->mask_surface);
        for (int y = 0; dst && y < h; y++)
            memcpy(dst + (size_t)y * (size_t)stride, c->mask + (size_t)y * (size_t)w, (size_t)w);
        cairo_surface_mark_dirty(c->mask_surface);
        c->mask_dirty = FALSE;
    }
    cairo_save(cr);
    to_image_space(c, cr);
    cairo_set_source_rgba(cr, 1.0, 0.15, 0.55, 0.45);
    cairo_pattern_t *pattern = cairo_pattern_create_for_surface(c->mask_surface);
    if (c->zoom >= 2.0)
        cairo_pattern_set_filter(pattern, CAIRO_FILTER_NEAREST);
    cairo_mask(cr, pattern);
    cairo_pattern_destroy(pattern);
    cairo_restore(cr);
}

static void draw_box(RgCanvas *c, cairo_t *cr)
{
    double x0, y0, x1, y1;
    rg_canvas_image_to_widget(c, c->box[0], c->box[1], &x0, &y0);
    rg_canvas_image_to_widget(c, c->box[2], c->box[3], &x1, &y1);
    // Dark and light dashes in turn, visible on any picture.
    const double dash[] = {6.0};
    cairo_set_line_width(cr, 1.5);
    cairo_rectangle(cr, floor(x0) + 0.5, floor(y0) + 0.5, floor(x1) - floor(x0), floor(y1) - floor(y0));
    cairo_set_dash(cr, dash, 1, 0.0);
    cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
    cairo_stroke_preserve(cr);
    cairo_set_dash(cr, dash, 1, 6.0);
    cairo_set_source_rgb(cr, 1.0, 1.0, 1.0);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0.0);
}

static void draw_dot(cairo_t *cr, double x, double y, double r, double g, double b)
{
    cairo_arc(cr, x, y, DOT_RADIUS, 0.0, 2.0 * G_PI);
    cairo_set_source_rgb(cr, r, g, b);
    cairo_fill_preserve(cr);
    cairo_set_line_width(cr, 1.5);
    cairo_set_source_rgb(cr, 1.0, 1.0, 1.0);
    cairo_stroke(cr);
}

static void draw_arrow(RgCanvas *c, cairo_t *cr, const float xy[4], gboolean selected)
{
    double ax, ay, bx, by;
    rg_canvas_image_to_widget(c, xy[0], xy[1], &ax, &ay);
    rg_canvas_image_to_widget(c, xy[2], xy[3], &bx, &by);
    double dx = bx - ax, dy = by - ay, len = hypot(dx, dy);
    double line = selected ? 3.0 : 2.0;
    double green = selected ? 0.85 : 1.0, blue = selected ? 0.0 : 1.0; // selected: yellow, else white
    if (selected) {                                                    // a ring around both ends marks the selection
        cairo_set_source_rgba(cr, 1.0, 0.85, 0.0, 0.9);
        cairo_set_line_width(cr, 2.0);
        cairo_new_sub_path(cr);
        cairo_arc(cr, ax, ay, DOT_RADIUS + 4.0, 0.0, 2.0 * G_PI);
        cairo_new_sub_path(cr);
        cairo_arc(cr, bx, by, DOT_RADIUS + 4.0, 0.0, 2.0 * G_PI);
        cairo_stroke(cr);
    }
    if (len > DOT_RADIUS) {
        // The head's tip touches the target's dot instead of hiding under it.
        double ux = dx / len, uy = dy / len;
        double tx = bx - ux * DOT_RADIUS, ty = by - uy * DOT_RADIUS;
        double head = MIN(HEAD_LENGTH, len - DOT_RADIUS);
        double hx = tx - ux * head, hy = ty - uy * head;
        for (int pass = 0; pass < 2; pass++) { // a dark outline first, then the colour
            cairo_move_to(cr, ax, ay);
            cairo_line_to(cr, hx, hy);
            cairo_set_line_width(cr, pass ? line : line + 2.0);
            if (pass)
                cairo_set_source_rgb(cr, 1.0, green, blue);
            else
                cairo_set_source_rgba(cr, 0.0, 0.0, 0.0, 0.6);
            cairo_stroke(cr);
            cairo_move_to(cr, tx, ty);
            cairo_line_to(cr, hx - uy * HEAD_HALF_WIDTH, hy + ux * HEAD_HALF_WIDTH);
            cairo_line_to(cr, hx + uy * HEAD_HALF_WIDTH, hy - ux * HEAD_HALF_WIDTH);
            cairo_close_path(cr);
            if (pass) {
                cairo_fill(cr);
            } else {
                cairo_set_line_width(cr, 2.0);
                cairo_stroke(cr);
            }
        }
    }
    draw_dot(cr, ax, ay, 0.9, 0.1, 0.1);
    draw_dot(cr, bx, by, 0.15, 0.35, 1.0);
}

gboolean rg_canvas_priv_draw(GtkWidget *widget, cairo_t *cr)
{
    RgCanvas *c = RG_CANVAS(widget);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_paint(cr);
    if (!c->image)
        return FALSE;
    rg_canvas_priv_update_view(c);
    paint_stretched(c, cr, c->image_surface, 1.0);
    if (c->overlay_surface)
        paint_stretched(c, cr, c->overlay_surface, c->overlay_opacity);
    if (c->mask)
        draw_mask(c, cr);
    if (c->has_box)
        draw_box(c, cr);
    const float *xy = rg_arrows_get_data(c->arrows);
    for (int i = 0; i < rg_arrows_get_n(c->arrows); i++)
        draw_arrow(c, cr, xy + 4 * i, i == c->selected);
    if (c->mode == RG_CANVAS_MODE_MASK && c->pointer_in && c->drag != DRAG_PAN) {
        cairo_arc(cr, c->pointer_x, c->pointer_y, MAX(1.0, c->brush_radius * c->zoom), 0.0, 2.0 * G_PI);
        cairo_set_line_width(cr, 1.0);
        cairo_set_source_rgba(cr, 1.0, 1.0, 1.0, 0.8);
        cairo_stroke(cr);
    }
    return FALSE;
}
