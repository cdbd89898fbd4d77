/* test_canvas.c — RgCanvas driven by synthesized mouse and key events, under
 * Xvfb (meson wraps it in xvfb-run).
 *
 * The layer is 200 x 100 in a 400 x 300 canvas: fitted, zoom 2, the picture
 * centred at widget y 50..250, so image (x, y) is widget (2x, 50 + 2y).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "widget_events.h"

#define W 200
#define H 100

typedef struct {
    GtkWidget *window;
    GtkWidget *canvas;
    RgCanvas *c;
    int changed;
} Fixture;

static void on_changed(RgCanvas *c, gpointer user_data)
{
    ((Fixture *)user_data)->changed++;
}

static void setup(Fixture *f, gconstpointer data)
{
    g_autoptr(rg_image) img = rg_image_new(W, H, 3, NULL);
    for (size_t i = 0; i < (size_t)W * H * 3; i++)
        img->data[i] = (guint8)(i * 7 % 256);
    f->canvas = rg_canvas_new();
    f->c = RG_CANVAS(f->canvas);
    rg_canvas_set_image(f->c, img);
    g_signal_connect(f->canvas, "changed", G_CALLBACK(on_changed), f);
    f->window = rg_wt_window_new(f->canvas, 400, 300);
    gtk_widget_grab_focus(f->canvas);
    f->changed = 0;
}

static void teardown(Fixture *f, gconstpointer data)
{
    gtk_widget_destroy(f->window);
    rg_wt_flush();
}

/* Widget point of image point (x, y), from the layout above (not from the
 * widget, so that wrong view maths fail). */
static double wx(double x)
{
    return 2.0 * x;
}

static double wy(double y)
{
    return 50.0 + 2.0 * y;
}

static void assert_arrow(RgCanvas *c, int i, float x0, float y0, float x1, float y1)
{
    g_autoptr(GArray) xy = rg_canvas_get_points(c);
    g_assert_cmpuint(xy->len, ==, 4 * (guint)rg_canvas_get_n_arrows(c));
    g_assert_cmpint(i, <, rg_canvas_get_n_arrows(c));
    const float *p = &g_array_index(xy, float, 4 * i);
    const float want[4] = {x0, y0, x1, y1};
    for (int k = 0; k < 4; k++) {
        if (fabsf(p[k] - want[k]) > 0.01f)
            g_error("arrow %d is (%.2f %.2f -> %.2f %.2f), expected (%.2f %.2f -> %.2f %.2f)", i, p[0], p[1], p[2],
                    p[3], want[0], want[1], want[2], want[3]);
    }
}

static void test_view(Fixture *f, gconstpointer data)
{
    g_assert_cmpfloat(rg_canvas_get_zoom(f->c), ==, 2.0);
    double x, y;
    rg_canvas_image_to_widget(f->c, 20, 30, &x, &y);
    g_assert_cmpfloat(x, ==, wx(20));
    g_assert_cmpfloat(y, ==, wy(30));
    rg_canvas_widget_to_image(f->c, wx(150), wy(75), &x, &y);
    g_assert_cmpfloat(fabs(x - 150), <, 1e-9);
    g_assert_cmpfloat(fabs(y - 75), <, 1e-9);
    g_assert_cmpint(rg_canvas_get_mode(f->c), ==, RG_CANVAS_MODE_ARROWS);
}

static void test_create_and_move(Fixture *f, gconstpointer data)
{
    rg_wt_drag(f->canvas, 1, wx(20), wy(30), wx(120), wy(70), 8);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 1);
    assert_arrow(f->c, 0, 20, 30, 120, 70);
    g_assert_cmpint(f->changed, ==, 1);
    g_assert_cmpint(rg_canvas_get_selected(f->c), ==, 0);

    // Dragging the target, grabbed 3 px off its centre, moves it by the drag.
    rg_wt_drag(f->canvas, 1, wx(120) + 3, wy(70) - 2, wx(150) + 3, wy(90) - 2, 5);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 1);
    assert_arrow(f->c, 0, 20, 30, 150, 90);
    // And the handle.
    rg_wt_drag(f->canvas, 1, wx(20), wy(30), wx(10), wy(15), 3);
    assert_arrow(f->c, 0, 10, 15, 150, 90);
    g_assert_cmpint(f->changed, ==, 3);

    // Ends stay on the picture.
    rg_wt_drag(f->canvas, 1, wx(150), wy(90), 399, 299, 3);
    assert_arrow(f->c, 0, 10, 15, W - 1, H - 1);

    // A second arrow, and a click on empty space that makes none and deselects.
    rg_wt_drag(f->canvas, 1, wx(100), wy(10), wx(60), wy(50), 4);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 2);
    assert_arrow(f->c, 1, 100, 10, 60, 50);
    g_assert_cmpint(rg_canvas_get_selected(f->c), ==, 1);
    rg_wt_click(f->canvas, 1, wx(180), wy(20));
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 2);
    g_assert_cmpint(rg_canvas_get_selected(f->c), ==, -1);
    // A click on an end selects without moving anything.
    int before = f->changed;
    rg_wt_click(f->canvas, 1, wx(10) + 2, wy(15));
    g_assert_cmpint(rg_canvas_get_selected(f->c), ==, 0);
    assert_arrow(f->c, 0, 10, 15, W - 1, H - 1);
    g_assert_cmpint(f->changed, ==, before);
}

static void test_delete_undo_redo(Fixture *f, gconstpointer data)
{
    rg_wt_drag(f->canvas, 1, wx(20), wy(30), wx(120), wy(70), 4);
    rg_wt_drag(f->canvas, 1, wx(100), wy(10), wx(60), wy(50), 4);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 2);

    // A right-click on an end deletes that arrow.
    rg_wt_click(f->canvas, 3, wx(120), wy(70));
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 1);
    assert_arrow(f->c, 0, 100, 10, 60, 50);
    // A right-click elsewhere does nothing.
    rg_wt_click(f->canvas, 3, wx(180), wy(90));
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 1);
    g_assert_cmpint(f->changed, ==, 3);

    rg_wt_key(f->canvas, GDK_KEY_z, GDK_CONTROL_MASK); // brings the deleted one back
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 2);
    assert_arrow(f->c, 0, 20, 30, 120, 70);
    g_assert_cmpint(f->changed, ==, 4);
    rg_wt_key(f->canvas, GDK_KEY_z, GDK_CONTROL_MASK); // unmakes the second
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 1);
    assert_arrow(f->c, 0, 20, 30, 120, 70);
    g_assert_true(rg_canvas_can_redo(f->c));
    rg_wt_key(f->canvas, GDK_KEY_y, GDK_CONTROL_MASK);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 2);
    rg_wt_key(f->canvas, GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 1);
    assert_arrow(f->c, 0, 100, 10, 60, 50);
    g_assert_false(rg_canvas_can_redo(f->c));
    g_assert_cmpint(f->changed, ==, 7);
    // Plain z is not undo.
    rg_wt_key(f->canvas, GDK_KEY_z, 0);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 1);

    // Delete and BackSpace remove the selected arrow.
    rg_wt_click(f->canvas, 1, wx(60), wy(50));
    g_assert_cmpint(rg_canvas_get_selected(f->c), ==, 0);
    rg_wt_key(f->canvas, GDK_KEY_Delete, 0);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 0);
    g_assert_cmpint(rg_canvas_get_selected(f->c), ==, -1);
    rg_wt_key(f->canvas, GDK_KEY_z, GDK_CONTROL_MASK);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 1);
    rg_wt_click(f->canvas, 1, wx(100), wy(10));
    rg_wt_key(f->canvas, GDK_KEY_BackSpace, 0);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 0);
}

static void test_set_points(Fixture *f, gconstpointer data)
{
    rg_wt_drag(f->canvas, 1, wx(20), wy(30), wx(120), wy(70), 4);
    const float xy[8] = {1, 2, 3, 4, 50, 60, 70, 80};
    rg_canvas_set_points(f->c, xy, 2);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 2);
    assert_arrow(f->c, 1, 50, 60, 70, 80);
    g_assert_cmpint(f->changed, ==, 2);
    g_assert_true(rg_canvas_undo(f->c));
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 1);
    assert_arrow(f->c, 0, 20, 30, 120, 70);
    g_assert_true(rg_canvas_redo(f->c));
    assert_arrow(f->c, 0, 1, 2, 3, 4);
    g_assert_cmpint(f->changed, ==, 4);
    // The new arrows take the mouse like the drawn ones.
    rg_wt_drag(f->canvas, 1, wx(70), wy(80), wx(90), wy(85), 2);
    assert_arrow(f->c, 1, 50, 60, 90, 85);
    // A picture of another size clears them; the same size keeps them.
    g_autoptr(rg_image) same = rg_image_new(W, H, 4, NULL);
    rg_canvas_set_image(f->c, same);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 2);
    g_autoptr(rg_image) other = rg_image_new(64, 64, 1, NULL);
    rg_canvas_set_image(f->c, other);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 0);
    g_assert_false(rg_canvas_can_undo(f->c));
}

static void test_mask(Fixture *f, gconstpointer data)
{
    g_assert_null(rg_canvas_get_mask(f->c));
    rg_canvas_set_mode(f->c, RG_CANVAS_MODE_MASK);
    rg_canvas_set_brush_radius(f->c, 5.0);
    rg_wt_drag(f->canvas, 1, wx(50), wy(50), wx(100), wy(50), 10);
    g_assert_cmpint(f->changed, ==, 1);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 0);
    g_autoptr(rg_image) mask = rg_canvas_get_mask(f->c);
    g_assert_nonnull(mask);
    g_assert_cmpint(mask->width, ==, W);
    g_assert_cmpint(mask->height, ==, H);
    g_assert_cmpint(mask->channels, ==, 1);
    g_assert_cmpint(mask->data[50 * W + 50], ==, 255);
    g_assert_cmpint(mask->data[52 * W + 75], ==, 255);
    g_assert_cmpint(mask->data[50 * W + 100], ==, 255);
    g_assert_cmpint(mask->data[50 * W + 110], ==, 0);
    g_assert_cmpint(mask->data[60 * W + 75], ==, 0);
    g_assert_cmpint(mask->data[10 * W + 10], ==, 0);

    // The right button erases.
    rg_wt_drag(f->canvas, 3, wx(70), wy(50), wx(80), wy(50), 4);
    g_autoptr(rg_image) erased = rg_canvas_get_mask(f->c);
    g_assert_cmpint(erased->data[50 * W + 75], ==, 0);
    g_assert_cmpint(erased->data[50 * W + 55], ==, 255);
    g_assert_cmpint(f->changed, ==, 2);
    // Erasing everything leaves no mask.
    rg_canvas_set_brush_radius(f->c, 40.0);
    rg_wt_drag(f->canvas, 3, wx(40), wy(50), wx(110), wy(50), 4);
    g_assert_null(rg_canvas_get_mask(f->c));
    rg_wt_drag(f->canvas, 1, wx(40), wy(50), wx(40), wy(51), 1);
    rg_image *again = rg_canvas_get_mask(f->c);
    g_assert_nonnull(again);
    rg_image_free(again);
}

static void test_box(Fixture *f, gconstpointer data)
{
    int box[4] = {0};
    g_assert_false(rg_canvas_get_box(f->c, box));
    rg_canvas_set_mode(f->c, RG_CANVAS_MODE_BOX);
    // Drawn from bottom right to top left, off the grid: whole pixels covering it.
    rg_wt_drag(f->canvas, 1, wx(80.5), wy(60.5), wx(30.2), wy(20.3), 6);
    g_assert_true(rg_canvas_get_box(f->c, box));
    g_assert_cmpint(box[0], ==, 30);
    g_assert_cmpint(box[1], ==, 20);
    g_assert_cmpint(box[2], ==, 81);
    g_assert_cmpint(box[3], ==, 61);
    g_assert_cmpint(f->changed, ==, 1);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 0);
    // Clamped to the picture.
    rg_wt_drag(f->canvas, 1, wx(150), wy(50), 399, 299, 3);
    g_assert_true(rg_canvas_get_box(f->c, box));
    g_assert_cmpint(box[2], ==, W);
    g_assert_cmpint(box[3], ==, H);
    const int set[4] = {-5, 10, 20, 500};
    rg_canvas_set_box(f->c, set);
    g_assert_true(rg_canvas_get_box(f->c, box));
    g_assert_cmpint(box[0], ==, 0);
    g_assert_cmpint(box[3], ==, H);
    rg_canvas_set_box(f->c, NULL);
    g_assert_false(rg_canvas_get_box(f->c, box));
}

static void test_zoom_pan(Fixture *f, gconstpointer data)
{
    // The image point under the pointer stays under it.
    double px = 100, py = 150, ix, iy;
    rg_wt_scroll(f->canvas, GDK_SCROLL_UP, px, py);
    g_assert_cmpfloat(fabs(rg_canvas_get_zoom(f->c) - 2.5), <, 1e-9);
    rg_canvas_widget_to_image(f->c, px, py, &ix, &iy);
    g_assert_cmpfloat(fabs(ix - 50), <, 1e-9);
    g_assert_cmpfloat(fabs(iy - 50), <, 1e-9);
    rg_wt_scroll(f->canvas, GDK_SCROLL_DOWN, 300, 60);
    rg_wt_scroll(f->canvas, GDK_SCROLL_DOWN, 300, 60);
    g_assert_cmpfloat(fabs(rg_canvas_get_zoom(f->c) - 1.6), <, 1e-9);

    // Middle-button pan.
    double x0, y0, x1, y1;
    rg_canvas_image_to_widget(f->c, 0, 0, &x0, &y0);
    rg_wt_drag(f->canvas, 2, 200, 150, 230, 170, 3);
    rg_canvas_image_to_widget(f->c, 0, 0, &x1, &y1);
    g_assert_cmpfloat(fabs(x1 - x0 - 30), <, 1e-9);
    g_assert_cmpfloat(fabs(y1 - y0 - 20), <, 1e-9);
    // Space + left pans and makes no arrow.
    rg_wt_key_press(f->canvas, GDK_KEY_space, 0);
    rg_wt_drag(f->canvas, 1, 200, 150, 190, 140, 3);
    rg_wt_key_release(f->canvas, GDK_KEY_space, 0);
    rg_canvas_image_to_widget(f->c, 0, 0, &x0, &y0);
    g_assert_cmpfloat(fabs(x0 - x1 + 10), <, 1e-9);
    g_assert_cmpfloat(fabs(y0 - y1 + 10), <, 1e-9);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 0);
    g_assert_cmpint(f->changed, ==, 0);
    // After Space is up, left draws again.
    rg_wt_drag(f->canvas, 1, 200, 150, 260, 150, 3);
    g_assert_cmpint(rg_canvas_get_n_arrows(f->c), ==, 1);

    rg_canvas_zoom_to_fit(f->c);
    g_assert_cmpfloat(rg_canvas_get_zoom(f->c), ==, 2.0);
    rg_canvas_set_zoom(f->c, 4.0);
    g_assert_cmpfloat(rg_canvas_get_zoom(f->c), ==, 4.0);
    // set_zoom keeps the widget's centre: image (100, 50).
    rg_canvas_widget_to_image(f->c, 200, 150, &ix, &iy);
    g_assert_cmpfloat(fabs(ix - 100), <, 1e-9);
    g_assert_cmpfloat(fabs(iy - 50), <, 1e-9);
}

/* The widget's look: red handles, blue targets, the overlay over the layer. */
static void test_draw(Fixture *f, gconstpointer data)
{
    g_autoptr(rg_image) white = rg_image_new(W, H, 3, NULL);
    memset(white->data, 255, (size_t)W * H * 3);
    rg_canvas_set_image(f->c, white);
    const float xy[4] = {20, 20, 150, 80};
    rg_canvas_set_points(f->c, xy, 1);
    g_autoptr(rg_image) black = rg_image_new(10, 10, 3, NULL);
    rg_canvas_set_overlay(f->c, black, 0.5);

    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 400, 300);
    cairo_t *cr = cairo_create(s);
    gtk_widget_draw(f->canvas, cr);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    const guint8 *pixels = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
#define PX(x, y) (*(const guint32 *)(const void *)(pixels + (size_t)(y) * (size_t)stride + 4 * (size_t)(x)))
#define R(p) ((int)(((p) >> 16) & 255))
#define G(p) ((int)(((p) >> 8) & 255))
#define B(p) ((int)((p)&255))
    guint32 handle = PX(wx(20), wy(20)), target = PX(wx(150), wy(80)), plain = PX(wx(180), wy(10));
    g_assert_cmpint(R(handle), >, 180);
    g_assert_cmpint(G(handle), <, 80);
    g_assert_cmpint(B(handle), <, 80);
    g_assert_cmpint(B(target), >, 180);
    g_assert_cmpint(R(target), <, 80);
    // White under black at half opacity.
    g_assert_cmpint(abs(R(plain) - 128), <=, 2);
    g_assert_cmpint(abs(B(plain) - 128), <=, 2);
    cairo_surface_destroy(s);
}

int main(int argc, char **argv)
{
    gtk_test_init(&argc, &argv, NULL);
    g_test_add("/canvas/view", Fixture, NULL, setup, test_view, teardown);
    g_test_add("/canvas/create-and-move", Fixture, NULL, setup, test_create_and_move, teardown);
    g_test_add("/canvas/delete-undo-redo", Fixture, NULL, setup, test_delete_undo_redo, teardown);
    g_test_add("/canvas/set-points", Fixture, NULL, setup, test_set_points, teardown);
    g_test_add("/canvas/mask", Fixture, NULL, setup, test_mask, teardown);
    g_test_add("/canvas/box", Fixture, NULL, setup, test_box, teardown);
    g_test_add("/canvas/zoom-pan", Fixture, NULL, setup, test_zoom_pan, teardown);
    g_test_add("/canvas/draw", Fixture, NULL, setup, test_draw, teardown);
    return g_test_run();
}
