/* test_pose.c — COCO-18 tables, pose maps rendered and read back (no display). */
#include <math.h>

#include "pose.h"

static const guint8 *pixel(const rg_image *img, float x, float y)
{
    return img->data + ((size_t)floorf(y) * (size_t)img->width + (size_t)floorf(x)) * (size_t)img->channels;
}

static void assert_rgb(const guint8 *px, int r, int g, int b)
{
    g_assert_cmpint(px[0], ==, r);
    g_assert_cmpint(px[1], ==, g);
    g_assert_cmpint(px[2], ==, b);
}

static void test_tables(void)
{
    guint8 rgb[3];
    rg_pose_joint_color(0, rgb);
    assert_rgb(rgb, 255, 0, 0);
    rg_pose_joint_color(17, rgb);
    assert_rgb(rgb, 255, 0, 85);
    int a, b;
    rg_pose_limb(0, &a, &b, rgb); // limbSeq [2, 3], 1-based
    g_assert_cmpint(a, ==, 1);
    g_assert_cmpint(b, ==, 2);
    assert_rgb(rgb, 255, 0, 0);
    rg_pose_limb(12, &a, &b, rgb); // [2, 1]: neck to nose
    g_assert_cmpint(a, ==, 1);
    g_assert_cmpint(b, ==, 0);
    rg_pose_joint_color(12, rgb);
    guint8 limb_rgb[3];
    rg_pose_limb(12, NULL, NULL, limb_rgb);
    assert_rgb(limb_rgb, rgb[0], rgb[1], rgb[2]);
    rg_pose_limb(16, &a, &b, NULL); // [16, 18]
    g_assert_cmpint(a, ==, 15);
    g_assert_cmpint(b, ==, 17);
    g_assert_cmpstr(rg_pose_joint_name(0), ==, "nose");
    g_assert_cmpstr(rg_pose_joint_name(17), ==, "left ear");
}

/* Renders @pose, reads it back and compares every joint. */
static void round_trip(const RgPose *pose, int width, int height)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(rg_image) map = rg_pose_render(pose, width, height, &error);
    g_assert_no_error(error);
    g_assert_cmpint(map->width, ==, width);
    g_assert_cmpint(map->height, ==, height);
    g_assert_cmpint(map->channels, ==, 3);
    RgPose back;
    g_assert_true(rg_pose_from_map(&back, map, &error));
    g_assert_no_error(error);
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        g_assert_cmpint(back.visible[j], ==, pose->visible[j]);
        if (!pose->visible[j])
            continue;
        if (fabsf(back.x[j] - pose->x[j]) > 1.0f || fabsf(back.y[j] - pose->y[j]) > 1.0f)
            g_error("%dx%d: joint %d (%s) at (%.2f, %.2f), read back at (%.2f, %.2f)", width, height, j,
                    rg_pose_joint_name(j), pose->x[j], pose->y[j], back.x[j], back.y[j]);
    }
}

static void test_round_trip(void)
{
    const int sizes[][2] = {{256, 256}, {512, 384}, {384, 512}, {768, 512}};
    for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
        RgPose pose;
        rg_pose_init_default(&pose, sizes[s][0], sizes[s][1]);
        for (int j = 0; j < RG_POSE_N_JOINTS; j++)
            g_assert_true(pose.visible[j]);
        round_trip(&pose, sizes[s][0], sizes[s][1]);
        // Off the pixel grid, raised arm, some joints hidden.
        for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
            pose.x[j] += 7.3f;
            pose.y[j] -= 3.6f;
        }
        pose.y[7] = pose.y[5] - 0.15f * sizes[s][1];
        pose.visible[4] = FALSE;
        pose.visible[16] = FALSE;
        round_trip(&pose, sizes[s][0], sizes[s][1]);
    }
}

static void test_render_colours(void)
{
    const int w = 512, h = 512;
    RgPose pose;
    rg_pose_init_default(&pose, w, h);
    pose.visible[10] = FALSE; // right ankle: limb 8 (knee -> ankle) goes too
    g_autoptr(rg_image) map = rg_pose_render(&pose, w, h, NULL);
    assert_rgb(pixel(map, 2, 2), 0, 0, 0);
    assert_rgb(pixel(map, pose.x[1], pose.y[1]), 255, 85, 0);   // neck
    assert_rgb(pixel(map, pose.x[13], pose.y[13]), 85, 0, 255); // left ankle
    // Limbs are their colour at 60 % over black: right thigh (limb 7, colours[7]).
    assert_rgb(pixel(map, 0.5f * (pose.x[8] + pose.x[9]), 0.5f * (pose.y[8] + pose.y[9])), 0, 153, 51);
    assert_rgb(pixel(map, 0.5f * (pose.x[9] + pose.x[10]), 0.5f * (pose.y[9] + pose.y[10])), 0, 0, 0);
    assert_rgb(pixel(map, pose.x[10], pose.y[10]), 0, 0, 0);
    // Joints are 4 px in radius at 512: in at 3, out at 6.
    assert_rgb(pixel(map, pose.x[13] + 3.0f, pose.y[13]), 85, 0, 255);
    g_assert_cmpint(pixel(map, pose.x[13] + 6.0f, pose.y[13])[2], !=, 255);
}

static void test_map_variants(void)
{
    RgPose pose;
    rg_pose_init_default(&pose, 320, 320);
    g_autoptr(rg_image) map = rg_pose_render(&pose, 320, 320, NULL);
    // An RGBA layer reads the same.
    g_autoptr(rg_image) rgba = rg_image_convert(map, 4, NULL);
    RgPose back;
    g_assert_true(rg_pose_from_map(&back, rgba, NULL));
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        g_assert_true(back.visible[j]);
        g_assert_cmpfloat(fabsf(back.x[j] - pose.x[j]), <=, 1.0f);
    }
    // A map at another size gives that size's pixels.
    g_autoptr(rg_image) big = rg_image_resize(map, 640, 640, RG_RESIZE_NEAREST, NULL);
    g_assert_true(rg_pose_from_map(&back, big, NULL));
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        g_assert_true(back.visible[j]);
        g_assert_cmpfloat(fabsf(back.x[j] - 2.0f * pose.x[j]), <=, 2.0f);
        g_assert_cmpfloat(fabsf(back.y[j] - 2.0f * pose.y[j]), <=, 2.0f);
    }
}

static void test_no_pose(void)
{
    g_autoptr(rg_image) black = rg_image_new(128, 96, 3, NULL);
    RgPose pose;
    g_autoptr(GError) error = NULL;
    g_assert_false(rg_pose_from_map(&pose, black, &error));
    g_assert_error(error, RG_ERROR, RG_ERROR_FORMAT);
    // Nor in a picture whose colours are near but not on the palette.
    for (size_t i = 0; i < (size_t)128 * 96 * 3; i += 3) {
        black->data[i] = 200;
        black->data[i + 1] = 40;
    }
    g_clear_error(&error);
    g_assert_false(rg_pose_from_map(&pose, black, &error));
    g_assert_error(error, RG_ERROR, RG_ERROR_FORMAT);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pose/tables", test_tables);
    g_test_add_func("/pose/round-trip", test_round_trip);
    g_test_add_func("/pose/render-colours", test_render_colours);
    g_test_add_func("/pose/map-variants", test_map_variants);
    g_test_add_func("/pose/no-pose", test_no_pose);
    return g_test_run();
}
