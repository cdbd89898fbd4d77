/* canvas.c — RgCanvas: its state, the public API and the mouse and keyboard
 * (see canvas.h for the gestures). Drawing is in canvas_draw.c, the arrow
 * list and its undo history in arrows.c. */
#include <math.h>
#include <string.h>

#include "canvas_private.h"
#include "image_surface.h"

/* Press distance from an end, in widget pixels, that still takes it. */
#define HIT_RADIUS 10.0
/* A press and release closer than this (widget pixels) is a click. */
#define CLICK_SLOP 4.0
#define ZOOM_STEP 1.25
#define ZOOM_MIN 0.02
#define ZOOM_MAX 64.0

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE(RgCanvas, rg_canvas, GTK_TYPE_DRAWING_AREA)

static void emit_changed(RgCanvas *c)
{
    gtk_widget_queue_draw(GTK_WIDGET(c));
    g_signal_emit(c, signals[SIGNAL_CHANGED], 0);
}

/* ---- view ---------------------------------------------------------------- */

void rg_canvas_priv_update_view(RgCanvas *c)
{
    if (!c->fit || !c->image)
        return;
    double aw = gtk_widget_get_allocated_width(GTK_WIDGET(c));
    double ah = gtk_widget_get_allocated_height(GTK_WIDGET(c));
    double z = MIN(aw / c->image->width, ah / c->image->height);
    c->zoom = z > 0.0 ? z : 1.0;
    c->ox = 0.5 * (aw - c->zoom * c->image->width);
    c->oy = 0.5 * (ah - c->zoom * c->image->height);
}

void rg_canvas_image_to_widget(RgCanvas *c, double ix, double iy, double *wx, double *wy)
{
    g_return_if_fail(RG_IS_CANVAS(c));
    rg_canvas_priv_update_view(c);
    if (wx)
        *wx = c->ox + ix * c->zoom;
    if (wy)
        *wy = c->oy + iy * c->zoom;
}

void rg_canvas_widget_to_image(RgCanvas *c, double wx, double wy, double *ix, double *iy)
{
    g_return_if_fail(RG_IS_CANVAS(c));
    rg_canvas_priv_update_view(c);
    if (ix)
        *ix = (wx - c->ox) / c->zoom;
    if (iy)
        *iy = (wy - c->oy) / c->zoom;
}

/* Zooms keeping the image point under (wx, wy) where it is. */
static void zoom_around(RgCanvas *c, double zoom, double wx, double wy)
{
    double ix, iy;
    rg_canvas_widget_to_image(c, wx, wy, &ix, &iy);
    c->fit = FALSE;
    c->zoom = CLAMP(zoom, ZOOM_MIN, ZOOM_MAX);
    c->ox = wx - ix * c->zoom;
    c->oy = wy - iy * c->zoom;
    gtk_widget_queue_draw(GTK_WIDGET(c));
}

void rg_canvas_set_zoom(RgCanvas *c, double zoom)
{
    g_return_if_fail(RG_IS_CANVAS(c) && zoom > 0.0);
    zoom_around(c, zoom, 0.5 * gtk_widget_get_allocated_width(GTK_WIDGET(c)),
                0.5 * gtk_widget_get_allocated_height(GTK_WIDGET(c)));
}

double rg_canvas_get_zoom(RgCanvas *c)
{
    g_return_val_if_fail(RG_IS_CANVAS(c), 1.0);
    rg_canvas_priv_update_view(c);
    return c->zoom;
}

void rg_canvas_zoom_to_fit(RgCanvas *c)
{
    g_return_if_fail(RG_IS_CANVAS(c));
    c->fit = TRUE;
    gtk_widget_queue_draw(GTK_WIDGET(c));
}

/* ---- layer and overlay ---------------------------------------------------- */

void rg_canvas_set_image(RgCanvas *c, const rg_image *img)
{
    g_return_if_fail(RG_IS_CANVAS(c));
    gboolean same_size = img && c->image && img->width == c->image->width && img->height == c->image->height;
    g_clear_pointer(&c->image, rg_image_free);
    g_clear_pointer(&c->image_surface, cairo_surface_destroy);
    g_autoptr(GError) error = NULL;
    c->image = img ? rg_image_copy(img, &error) : NULL;
    if (img && !c->image)
        g_warning("cannot show the layer: %s", error->message);
    c->image_surface = rg_image_surface_new(c->image);
    if (!same_size) {
        // Marks are in the old picture's pixels: they mean nothing on this one.
        gboolean had_marks = rg_arrows_get_n(c->arrows) > 0 || c->mask || c->has_box;
        if (rg_arrows_in_edit(c->arrows))
            rg_arrows_cancel(c->arrows);
        rg_arrows_reset(c->arrows);
        c->drag = DRAG_NONE;
        c->selected = -1;
        g_clear_pointer(&c->mask, g_free);
        g_clear_pointer(&c->mask_surface, cairo_surface_destroy);
        c->has_box = FALSE;
        c->fit = TRUE;
        if (had_marks)
            g_signal_emit(c, signals[SIGNAL_CHANGED], 0);
    }
    gtk_widget_queue_draw(GTK_WIDGET(c));
}

void rg_canvas_set_overlay(RgCanvas *c, const rg_image *img, double opacity)
{
    g_return_if_fail(RG_IS_CANVAS(c));
    g_clear_pointer(&c->overlay_surface, cairo_surface_destroy);
    c->overlay_surface = rg_image_surface_new(img);
    c->overlay_opacity = CLAMP(opacity, 0.0, 1.0);
    gtk_widget_queue_draw(GTK_WIDGET(c));
}

void rg_canvas_set_mode(RgCanvas *c, RgCanvasMode mode)
{
    g_return_if_fail(RG_IS_CANVAS(c));
    c->mode = mode;
    gtk_widget_queue_draw(GTK_WIDGET(c));
}

RgCanvasMode rg_canvas_get_mode(RgCanvas *c)
{
    g_return_val_if_fail(RG_IS_CANVAS(c), RG_CANVAS_MODE_VIEW);
    return c->mode;
}

/* ---- arrows --------------------------------------------------------------- */

GArray *rg_canvas_get_points(RgCanvas *c)
{
    g_return_val_if_fail(RG_IS_CANVAS(c), NULL);
    int n = rg_arrows_get_n(c->arrows);
    GArray *xy = g_array_sized_new(FALSE, FALSE, sizeof(float), 4 * (guint)n);
    g_array_append_vals(xy, rg_arrows_get_data(c->arrows), 4 * (guint)n);
    return xy;
}

int rg_canvas_get_n_arrows(RgCanvas *c)
{
    g_return_val_if_fail(RG_IS_CANVAS(c), 0);
    return rg_arrows_get_n(c->arrows);
}

/* Ends a drag in progress, keeping what it did, before an outside change. */
static void finish_arrow_drag(RgCanvas *c)
{
    if (rg_arrows_in_edit(c->arrows))
        rg_arrows_commit(c->arrows);
    if (c->drag == DRAG_NEW_ARROW || c->drag == DRAG_END)
        c->drag = DRAG_NONE;
}

void rg_canvas_set_points(RgCanvas *c, const float *xy, int n_arrows)
{
    g_return_if_fail(RG_IS_CANVAS(c) && n_arrows >= 0 && (xy || n_arrows == 0));
    finish_arrow_drag(c);
    rg_arrows_set(c->arrows, xy, n_arrows);
    c->selected = -1;
    emit_changed(c);
}

int rg_canvas_get_selected(RgCanvas *c)
{
    g_return_val_if_fail(RG_IS_CANVAS(c), -1);
    return c->selected;
}

void rg_canvas_delete_selected(RgCanvas *c)
{
    g_return_if_fail(RG_IS_CANVAS(c));
    if (c->selected < 0)
        return;
    finish_arrow_drag(c);
    rg_arrows_remove(c->arrows, c->selected);
    c->selected = -1;
    emit_changed(c);
}

static gboolean history_step(RgCanvas *c, gboolean redo)
{
    if (!(redo ? rg_arrows_redo(c->arrows) : rg_arrows_undo(c->arrows)))
        return FALSE;
    if (c->selected >= rg_arrows_get_n(c->arrows))
        c->selected = -1;
    emit_changed(c);
    return TRUE;
}

gboolean rg_canvas_undo(RgCanvas *c)
{
    g_return_val_if_fail(RG_IS_CANVAS(c), FALSE);
    return history_step(c, FALSE);
}

gboolean rg_canvas_redo(RgCanvas *c)
{
    g_return_val_if_fail(RG_IS_CANVAS(c), FALSE);
    return history_step(c, TRUE);
}

gboolean rg_canvas_can_undo(RgCanvas *c)
{
    g_return_val_if_fail(RG_IS_CANVAS(c), FALSE);
    return rg_arrows_can_undo(c->arrows);
}

gboolean rg_canvas_can_redo(RgCanvas *c)
{
    g_return_val_if_fail(RG_IS_CANVAS(c), FALSE);
    return rg_arrows_can_redo(c->arrows);
}

/* ---- mask and box --------------------------------------------------------- */

rg_image *rg_canvas_get_mask(RgCanvas *c)
{
    g_return_val_if_fail(RG_IS_CANVAS(c), NULL);
    if (!c->mask)
        return NULL;
    size_t n = (size_t)c->image->width * (size_t)c->image->height, i = 0;
    while (i < n && c->mask[i] == 0)
        i++;
    if (i == n)
        return NULL;
    rg_image *mask = rg_image_new(c->image->width, c->image->height, 1, NULL);
    if (mask)
        memcpy(mask->data, c->mask, n);
    return mask;
}

void rg_canvas_clear_mask(RgCanvas *c)
{
    g_return_if_fail(RG_IS_CANVAS(c));
    if (!c->mask)
        return;
    g_clear_pointer(&c->mask, g_free);
    g_clear_pointer(&c->mask_surface, cairo_surface_destroy);
    emit_changed(c);
}

void rg_canvas_set_brush_radius(RgCanvas *c, double radius)
{
    g_return_if_fail(RG_IS_CANVAS(c) && radius > 0.0);
    c->brush_radius = radius;
    gtk_widget_queue_draw(GTK_WIDGET(c));
}

/* Sets every mask pixel whose centre is within the brush of (x, y). */
static void dab(RgCanvas *c, double x, double y)
{
    int w = c->image->width, h = c->image->height;
    if (!c->mask)
        c->mask = g_malloc0((size_t)w * (size_t)h);
    double r = c->brush_radius;
    guint8 value = c->paint_erase ? 0 : 255;
    int x0 = MAX(0, (int)floor(x - r)), x1 = MIN(w - 1, (int)ceil(x + r));
    int y0 = MAX(0, (int)floor(y - r)), y1 = MIN(h - 1, (int)ceil(y + r));
    for (int py = y0; py <= y1; py++) {
        double dy = py + 0.5 - y;
        for (int px = x0; px <= x1; px++) {
            double dx = px + 0.5 - x;
            if (dx * dx + dy * dy <= r * r)
                c->mask[(size_t)py * (size_t)w + (size_t)px] = value;
        }
    }
    c->mask_dirty = TRUE;
}

/* Dabs along the segment, close enough that the stroke has no gaps. */
static void stroke(RgCanvas *c, double x0, double y0, double x1, double y1)
{
    double spacing = MAX(0.5, 0.25 * c->brush_radius);
    int n = (int)ceil(hypot(x1 - x0, y1 - y0) / spacing);
    for (int i = 1; i <= n; i++)
        dab(c, x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n);
    gtk_widget_queue_draw(GTK_WIDGET(c));
}

/* Sets the box from two image points: whole pixels covering both, clamped. */
static void box_from_points(RgCanvas *c, double ax, double ay, double bx, double by)
{
    int w = c->image->width, h = c->image->height;
    c->box[0] = CLAMP((int)floor(MIN(ax, bx)), 0, w);
    c->box[1] = CLAMP((int)floor(MIN(ay, by)), 0, h);
    c->box[2] = CLAMP((int)ceil(MAX(ax, bx)), 0, w);
    c->box[3] = CLAMP((int)ceil(MAX(ay, by)), 0, h);
    c->has_box = c->box[2] > c->box[0] && c->box[3] > c->box[1];
}

gboolean rg_canvas_get_box(RgCanvas *c, int box[4])
{
    g_return_val_if_fail(RG_IS_CANVAS(c), FALSE);
    if (c->has_box && box)
        memcpy(box, c->box, sizeof c->box);
    return c->has_box;
}

void rg_canvas_set_box(RgCanvas *c, const int box[4])
{
    g_return_if_fail(RG_IS_CANVAS(c));
    if (box && c->image)
        box_from_points(c, box[0], box[1], box[2], box[3]);
    else
        c->has_box = FALSE;
    if (c->drag == DRAG_BOX)
        c->drag = DRAG_NONE;
    emit_changed(c);
}

/* ---- input ---------------------------------------------------------------- */

/* An image point clamped to the picture, where arrow ends may go. */
static void clamp_point(RgCanvas *c, double *x, double *y)
{
    *x = CLAMP(*x, 0.0, (double)(c->image->width - 1));
    *y = CLAMP(*y, 0.0, (double)(c->image->height - 1));
}

static void press_arrows(RgCanvas *c, const GdkEventButton *ev, double ix, double iy)
{
    float radius = (float)(HIT_RADIUS / c->zoom);
    int end = 0, i = rg_arrows_hit_end(c->arrows, (float)ix, (float)iy, radius, &end);
    if (ev->button == GDK_BUTTON_SECONDARY) {
        if (i >= 0) {
            rg_arrows_remove(c->arrows, i);
            c->selected = -1;
            emit_changed(c);
        }
        return;
    }
    if (ev->button != GDK_BUTTON_PRIMARY)
        return;
    if (i >= 0) {
        // The end keeps its offset from the pointer instead of jumping to it.
        float xy[4];
        rg_arrows_get(c->arrows, i, xy);
        c->grab_dx = xy[2 * end] - ix;
        c->grab_dy = xy[2 * end + 1] - iy;
        rg_arrows_begin(c->arrows);
        c->drag = DRAG_END;
        c->drag_end = end;
    } else if ((i = rg_arrows_hit_line(c->arrows, (float)ix, (float)iy, radius)) >= 0) {
        c->selected = i; // a click on the shaft only selects
        gtk_widget_queue_draw(GTK_WIDGET(c));
        return;
    } else {
        clamp_point(c, &ix, &iy);
        rg_arrows_begin(c->arrows);
        i = rg_arrows_add(c->arrows, (float)ix, (float)iy, (float)ix, (float)iy);
        c->grab_dx = c->grab_dy = 0.0;
        c->drag = DRAG_NEW_ARROW;
        c->drag_end = 1;
    }
    c->drag_arrow = i;
    c->selected = i;
    gtk_widget_queue_draw(GTK_WIDGET(c));
}

static gboolean rg_canvas_button_press(GtkWidget *widget, GdkEventButton *ev)
{
    RgCanvas *c = RG_CANVAS(widget);
    if (!gtk_widget_has_focus(widget))
        gtk_widget_grab_focus(widget);
    if (ev->type != GDK_BUTTON_PRESS || c->drag != DRAG_NONE)
        return TRUE; // double clicks, and second buttons during a drag
    c->press_x = c->last_x = ev->x;
    c->press_y = c->last_y = ev->y;
    c->drag_button = ev->button;
    gboolean primary = ev->button == GDK_BUTTON_PRIMARY;
    if (ev->button == GDK_BUTTON_MIDDLE || (primary && (c->space_down || c->mode == RG_CANVAS_MODE_VIEW))) {
        c->drag = DRAG_PAN;
        return TRUE;
    }
    if (!c->image)
        return TRUE;
    double ix, iy;
    rg_canvas_widget_to_image(c, ev->x, ev->y, &ix, &iy);
    switch (c->mode) {
    case RG_CANVAS_MODE_ARROWS:
        press_arrows(c, ev, ix, iy);
        break;
    case RG_CANVAS_MODE_MASK:
        if (primary || ev->button == GDK_BUTTON_SECONDARY) {
            c->paint_erase = !primary;
            c->drag = DRAG_PAINT;
            c->last_x = ix;
            c->last_y = iy;
            dab(c, ix, iy);
            gtk_widget_queue_draw(widget);
        }
        break;
    case RG_CANVAS_MODE_BOX:
        if (primary) {
            c->drag = DRAG_BOX;
            c->box_x0 = ix;
            c->box_y0 = iy;
        }
        break;
    case RG_CANVAS_MODE_VIEW:
        break;
    }
    return TRUE;
}

static gboolean rg_canvas_motion(GtkWidget *widget, GdkEventMotion *ev)
{
    RgCanvas *c = RG_CANVAS(widget);
    c->pointer_in = TRUE;
    c->pointer_x = ev->x;
    c->pointer_y = ev->y;
    double ix = 0.0, iy = 0.0;
    if (c->image)
        rg_canvas_widget_to_image(c, ev->x, ev->y, &ix, &iy);
    switch (c->drag) {
    case DRAG_PAN:
        c->fit = FALSE;
        c->ox += ev->x - c->last_x;
        c->oy += ev->y - c->last_y;
        c->last_x = ev->x;
        c->last_y = ev->y;
        break;
    case DRAG_NEW_ARROW:
    case DRAG_END:
        ix += c->grab_dx;
        iy += c->grab_dy;
        clamp_point(c, &ix, &iy);
        rg_arrows_move_end(c->arrows, c->drag_arrow, c->drag_end, (float)ix, (float)iy);
        break;
    case DRAG_PAINT:
        stroke(c, c->last_x, c->last_y, ix, iy);
        c->last_x = ix;
        c->last_y = iy;
        break;
    case DRAG_BOX:
        box_from_points(c, c->box_x0, c->box_y0, ix, iy);
        break;
    case DRAG_NONE:
        if (c->mode != RG_CANVAS_MODE_MASK)
            return FALSE; // nothing follows the pointer
        break;
    }
    gtk_widget_queue_draw(widget);
    return TRUE;
}

static gboolean rg_canvas_button_release(GtkWidget *widget, GdkEventButton *ev)
{
    RgCanvas *c = RG_CANVAS(widget);
    if (c->drag == DRAG_NONE || ev->button != c->drag_button)
        return FALSE;
    CanvasDrag drag = c->drag;
    c->drag = DRAG_NONE;
    gboolean changed = FALSE;
    if (drag == DRAG_NEW_ARROW && hypot(ev->x - c->press_x, ev->y - c->press_y) < CLICK_SLOP) {
        rg_arrows_cancel(c->arrows); // a click on empty space makes nothing and deselects
        c->selected = -1;
    } else if (drag == DRAG_NEW_ARROW || drag == DRAG_END) {
        changed = rg_arrows_commit(c->arrows);
    } else if (drag == DRAG_PAINT || drag == DRAG_BOX) {
        changed = TRUE;
    }
    gtk_widget_queue_draw(widget);
    if (changed)
        g_signal_emit(c, signals[SIGNAL_CHANGED], 0);
    return TRUE;
}

static gboolean rg_canvas_scroll(GtkWidget *widget, GdkEventScroll *ev)
{
    RgCanvas *c = RG_CANVAS(widget);
    double steps = 0.0, dx = 0.0, dy = 0.0;
    if (ev->direction == GDK_SCROLL_UP)
        steps = 1.0;
    else if (ev->direction == GDK_SCROLL_DOWN)
        steps = -1.0;
    else if (gdk_event_get_scroll_deltas((GdkEvent *)ev, &dx, &dy))
        steps = -dy;
    if (steps == 0.0 || !c->image)
        return FALSE;
    zoom_around(c, rg_canvas_get_zoom(c) * pow(ZOOM_STEP, steps), ev->x, ev->y);
    return TRUE;
}

static gboolean rg_canvas_key_press(GtkWidget *widget, GdkEventKey *ev)
{
    RgCanvas *c = RG_CANVAS(widget);
    GdkModifierType mods = ev->state & gtk_accelerator_get_default_mod_mask();
    guint key = gdk_keyval_to_lower(ev->keyval);
    // Taken even when there is nothing to undo, so that no outer shortcut fires instead.
    if (mods == GDK_CONTROL_MASK && key == GDK_KEY_z) {
        rg_canvas_undo(c);
        return TRUE;
    }
    if ((mods == (GDK_CONTROL_MASK | GDK_SHIFT_MASK) && key == GDK_KEY_z) ||
        (mods == GDK_CONTROL_MASK && key == GDK_KEY_y)) {
        rg_canvas_redo(c);
        return TRUE;
    }
    if (mods == 0 && (key == GDK_KEY_Delete || key == GDK_KEY_KP_Delete || key == GDK_KEY_BackSpace) &&
        c->selected >= 0 && c->drag == DRAG_NONE) {
        rg_canvas_delete_selected(c);
        return TRUE;
    }
    if (key == GDK_KEY_space) {
        c->space_down = TRUE;
        return TRUE;
    }
    return GTK_WIDGET_CLASS(rg_canvas_parent_class)->key_press_event(widget, ev);
}

static gboolean rg_canvas_key_release(GtkWidget *widget, GdkEventKey *ev)
{
    RgCanvas *c = RG_CANVAS(widget);
    if (ev->keyval == GDK_KEY_space) {
        c->space_down = FALSE;
        return TRUE;
    }
    return GTK_WIDGET_CLASS(rg_canvas_parent_class)->key_release_event(widget, ev);
}

static gboolean rg_canvas_leave(GtkWidget *widget, GdkEventCrossing *ev)
{
    RgCanvas *c = RG_CANVAS(widget);
    c->pointer_in = FALSE;
    if (c->mode == RG_CANVAS_MODE_MASK)
        gtk_widget_queue_draw(widget);
    return FALSE;
}

static gboolean rg_canvas_focus_out(GtkWidget *widget, GdkEventFocus *ev)
{
    // The Space release may go to another widget; a stuck pan mode would surprise.
    RG_CANVAS(widget)->space_down = FALSE;
    return GTK_WIDGET_CLASS(rg_canvas_parent_class)->focus_out_event(widget, ev);
}

/* ---- type ----------------------------------------------------------------- */

static void rg_canvas_get_preferred_width(GtkWidget *widget, int *minimum, int *natural)
{
    *minimum = 64;
    *natural = 512;
}

static void rg_canvas_get_preferred_height(GtkWidget *widget, int *minimum, int *natural)
{
    *minimum = 64;
    *natural = 512;
}

static void rg_canvas_finalize(GObject *object)
{
    RgCanvas *c = RG_CANVAS(object);
    g_clear_pointer(&c->image, rg_image_free);
    g_clear_pointer(&c->image_surface, cairo_surface_destroy);
    g_clear_pointer(&c->overlay_surface, cairo_surface_destroy);
    g_clear_pointer(&c->mask_surface, cairo_surface_destroy);
    g_clear_pointer(&c->mask, g_free);
    g_clear_pointer(&c->arrows, rg_arrows_free);
    G_OBJECT_CLASS(rg_canvas_parent_class)->finalize(object);
}

static void rg_canvas_class_init(RgCanvasClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    object_class->finalize = rg_canvas_finalize;
    widget_class->draw = rg_canvas_priv_draw;
    widget_class->button_press_event = rg_canvas_button_press;
    widget_class->button_release_event = rg_canvas_button_release;
    widget_class->motion_notify_event = rg_canvas_motion;
    widget_class->scroll_event = rg_canvas_scroll;
    widget_class->key_press_event = rg_canvas_key_press;
    widget_class->key_release_event = rg_canvas_key_release;
    widget_class->leave_notify_event = rg_canvas_leave;
    widget_class->focus_out_event = rg_canvas_focus_out;
    widget_class->get_preferred_width = rg_canvas_get_preferred_width;
    widget_class->get_preferred_height = rg_canvas_get_preferred_height;
    signals[SIGNAL_CHANGED] =
        g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void rg_canvas_init(RgCanvas *c)
{
    c->arrows = rg_arrows_new();
    c->selected = -1;
    c->fit = TRUE;
    c->zoom = 1.0;
    c->brush_radius = 12.0;
    c->overlay_opacity = 0.5;
    gtk_widget_set_can_focus(GTK_WIDGET(c), TRUE);
    gtk_widget_add_events(GTK_WIDGET(c), GDK_BUTTON_PRESS_MASK | GDK_BUTTON_RELEASE_MASK | GDK_POINTER_MOTION_MASK |
                                             GDK_SCROLL_MASK | GDK_SMOOTH_SCROLL_MASK | GDK_KEY_PRESS_MASK |
                                             GDK_KEY_RELEASE_MASK | GDK_LEAVE_NOTIFY_MASK);
}

GtkWidget *rg_canvas_new(void)
{
    return g_object_new(RG_TYPE_CANVAS, NULL);
}
