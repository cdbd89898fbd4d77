/* test_pose_editor.c — RgPoseEditor driven by synthesized mouse events,
 * under Xvfb (meson wraps it in xvfb-run).
 *
 * The background is 200 x 200 in a 400 x 400 editor: scale 2, no margin.
 */
#include <math.h>

#include "pose_editor.h"
#include "widget_events.h"

typedef struct {
    GtkWidget *window;
    GtkWidget *editor;
    RgPoseEditor *e;
    int changed;
} Fixture;

static void on_changed(RgPoseEditor *e, gpointer user_data)
{
    ((Fixture *)user_data)->changed++;
}

static void setup(Fixture *f, gconstpointer data)
{
    g_autoptr(rg_image) bg = rg_image_new(200, 200, 3, NULL);
    for (size_t i = 0; i < (size_t)200 * 200 * 3; i++)
        bg->data[i] = (guint8)(i % 251);
    f->editor = rg_pose_editor_new();
    f->e = RG_POSE_EDITOR(f->editor);
    rg_pose_editor_set_background(f->e, bg);
    g_signal_connect(f->editor, "changed", G_CALLBACK(on_changed), f);
    f->window = rg_wt_window_new(f->editor, 400, 400);
    f->changed = 0;
}

static void teardown(Fixture *f, gconstpointer data)
{
    gtk_widget_destroy(f->window);
    rg_wt_flush();
}

static void test_default_pose(Fixture *f, gconstpointer data)
{
    RgPose pose, expected;
    rg_pose_editor_get_pose(f->e, &pose);
    rg_pose_init_default(&expected, 200, 200);
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        g_assert_cmpfloat(pose.x[j], ==, expected.x[j]);
        g_assert_cmpfloat(pose.y[j], ==, expected.y[j]);
        g_assert_true(pose.visible[j]);
    }
    double x, y;
    rg_pose_editor_image_to_widget(f->e, 50, 60, &x, &y);
    g_assert_cmpfloat(x, ==, 100);
    g_assert_cmpfloat(y, ==, 120);
}

static void test_drag_joint(Fixture *f, gconstpointer data)
{
    RgPose before, after;
    rg_pose_editor_get_pose(f->e, &before);
    const int j = 4; // right wrist, away from the other joints
    double x = 2.0 * before.x[j], y = 2.0 * before.y[j];
    rg_wt_drag(f->editor, 1, x + 2, y - 1, x + 2 - 40, y - 1 + 30, 6);
    rg_pose_editor_get_pose(f->e, &after);
    // Grabbed off-centre, the joint moves by the drag.
    g_assert_cmpfloat(fabsf(after.x[j] - (before.x[j] - 20)), <, 1e-4f);
    g_assert_cmpfloat(fabsf(after.y[j] - (before.y[j] + 15)), <, 1e-4f);
    for (int k = 0; k < RG_POSE_N_JOINTS; k++) {
        if (k != j) {
            g_assert_cmpfloat(after.x[k], ==, before.x[k]);
            g_assert_cmpfloat(after.y[k], ==, before.y[k]);
        }
    }
    g_assert_cmpint(f->changed, ==, 1);
    // A drag on empty space moves nothing.
    rg_wt_drag(f->editor, 1, 5, 5, 60, 60, 3);
    RgPose same;
    rg_pose_editor_get_pose(f->e, &same);
    g_assert_cmpmem(&same, sizeof same, &after, sizeof after);
    g_assert_cmpint(f->changed, ==, 1);
}

static void test_toggle_visible(Fixture *f, gconstpointer data)
{
    RgPose pose;
    rg_pose_editor_get_pose(f->e, &pose);
    const int j = 13; // left ankle
    rg_wt_click(f->editor, 3, 2.0 * pose.x[j], 2.0 * pose.y[j]);
    rg_pose_editor_get_pose(f->e, &pose);
    g_assert_false(pose.visible[j]);
    g_assert_cmpint(f->changed, ==, 1);
    // The render leaves it out; the hidden joint still takes the right button.
    g_autoptr(rg_image) map = rg_pose_editor_render_map(f->e, NULL);
    RgPose back;
    g_assert_true(rg_pose_from_map(&back, map, NULL));
    g_assert_false(back.visible[j]);
    g_assert_true(back.visible[j - 1]);
    rg_wt_click(f->editor, 3, 2.0 * pose.x[j], 2.0 * pose.y[j]);
    rg_pose_editor_get_pose(f->e, &pose);
    g_assert_true(pose.visible[j]);
    g_assert_cmpint(f->changed, ==, 2);
}

static void test_map_round_trip(Fixture *f, gconstpointer data)
{
    RgPose pose;
    rg_pose_editor_get_pose(f->e, &pose);
    rg_wt_drag(f->editor, 1, 2.0 * pose.x[7], 2.0 * pose.y[7], 2.0 * pose.x[7] + 24, 2.0 * pose.y[7] - 120, 5);
    rg_pose_editor_get_pose(f->e, &pose);
    g_autoptr(GError) error = NULL;
    g_autoptr(rg_image) map = rg_pose_editor_render_map(f->e, &error);
    g_assert_no_error(error);
    g_assert_cmpint(map->width, ==, 200);
    g_assert_cmpint(map->height, ==, 200);

    // Into a fresh editor over the same picture.
    GtkWidget *other = rg_pose_editor_new();
    g_object_ref_sink(other);
    g_autoptr(rg_image) bg = rg_image_new(200, 200, 3, NULL);
    rg_pose_editor_set_background(RG_POSE_EDITOR(other), bg);
    g_assert_true(rg_pose_editor_load_map(RG_POSE_EDITOR(other), map, &error));
    g_assert_no_error(error);
    RgPose back;
    rg_pose_editor_get_pose(RG_POSE_EDITOR(other), &back);
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        g_assert_true(back.visible[j]);
        g_assert_cmpfloat(fabsf(back.x[j] - pose.x[j]), <=, 1.0f);
        g_assert_cmpfloat(fabsf(back.y[j] - pose.y[j]), <=, 1.0f);
    }

    // A map at twice the size lands in the background's pixels.
    RgPose big = pose;
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        big.x[j] *= 2.0f;
        big.y[j] *= 2.0f;
    }
    g_autoptr(rg_image) big_map = rg_pose_render(&big, 400, 400, NULL);
    g_assert_true(rg_pose_editor_load_map(f->e, big_map, &error));
    g_assert_cmpint(f->changed, ==, 2);
    rg_pose_editor_get_pose(f->e, &back);
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        g_assert_cmpfloat(fabsf(back.x[j] - pose.x[j]), <=, 1.0f);
        g_assert_cmpfloat(fabsf(back.y[j] - pose.y[j]), <=, 1.0f);
    }

    // A map with no pose on it is refused and changes nothing.
    g_autoptr(rg_image) black = rg_image_new(200, 200, 3, NULL);
    g_assert_false(rg_pose_editor_load_map(f->e, black, &error));
    g_assert_error(error, RG_ERROR, RG_ERROR_FORMAT);
    RgPose still;
    rg_pose_editor_get_pose(f->e, &still);
    g_assert_cmpmem(&still, sizeof still, &back, sizeof back);
    g_assert_cmpint(f->changed, ==, 2);
    g_object_unref(other);
}

int main(int argc, char **argv)
{
    gtk_test_init(&argc, &argv, NULL);
    g_test_add("/pose-editor/default-pose", Fixture, NULL, setup, test_default_pose, teardown);
    g_test_add("/pose-editor/drag-joint", Fixture, NULL, setup, test_drag_joint, teardown);
    g_test_add("/pose-editor/toggle-visible", Fixture, NULL, setup, test_toggle_visible, teardown);
    g_test_add("/pose-editor/map-round-trip", Fixture, NULL, setup, test_map_round_trip, teardown);
    return g_test_run();
}
