/* test_request.c — the plug-ins' request layer on the demo model: what is
 * refused before any model is loaded, what a run returns (size, alpha,
 * mask), cancelling, and the errors for a missing model or head. */
#include <glib/gstdio.h>
#include <string.h>

#include "readout/scene.h"
#include "request.h"

/* Few steps keep every run short; the demo model still runs the whole chain. */
#define STEPS 4

static rg_image *scene_rgba(guint64 seed)
{
    rg_scene s;
    rg_scene_generate(&s, seed);
    g_autoptr(rg_image) rgb = rg_scene_render(&s, NULL, NULL);
    g_assert_nonnull(rgb);
    return rg_image_convert(rgb, 4, NULL);
}

static RgRequest *drag_request(void)
{
    RgRequest *r = rg_request_new(RG_JOB_DRAG);
    r->image = scene_rgba(3);
    r->steps = STEPS;
    rg_request_add_point(r, 30, 30, 36, 30);
    return r;
}

static void assert_why(RgRequest *r, const char *part)
{
    g_autofree char *why = rg_request_why_invalid(r);
    g_assert_nonnull(why);
    if (!strstr(why, part))
        g_error("\"%s\" does not say \"%s\"", why, part);
}

static void test_why_invalid(void)
{
    g_autoptr(RgRequest) r = rg_request_new(RG_JOB_DRAG);
    assert_why(r, "no layer");
    r->image = scene_rgba(3);
    assert_why(r, "Drag on the picture");
    rg_request_add_point(r, 10, 10, 64, 10); // x = 64 is one past the last column
    assert_why(r, "target of point 1 (64, 10) lies outside the 64×64 layer");
    g_array_index(r->points, float, 2) = 63.5f;
    g_autofree char *ok = rg_request_why_invalid(r);
    g_assert_null(ok);
    rg_image_free(r->image);
    r->image = rg_image_new(4, 40, 4, NULL);
    assert_why(r, "at least 8×8");

    g_autoptr(RgRequest) id = rg_request_new(RG_JOB_IDENTITY);
    assert_why(id, "reference layer");
    id->reference = scene_rgba(5);
    assert_why(id, "prompt");
    id->prompt = g_strdup("a red star");
    id->has_box = TRUE;
    memcpy(id->box, (int[]){10, 10, 10, 20}, sizeof id->box);
    assert_why(id, "box 10,10 – 10,20 is empty");

    g_autoptr(RgRequest) pose = rg_request_new(RG_JOB_POSE);
    pose->image = scene_rgba(5);
    pose->prompt = g_strdup("a figure");
    assert_why(pose, "pose");
    pose->control = scene_rgba(6);
    pose->mask = rg_image_new(32, 32, 1, NULL);
    assert_why(pose, "fill region is 32×32");
}

static void test_result_name(void)
{
    g_autoptr(RgRequest) r = rg_request_new(RG_JOB_POSE);
    r->seed = 4242;
    g_autofree char *name = rg_request_result_name(r);
    g_assert_cmpstr(name, ==, "Readout pose fill (seed 4242)");
}

static void test_drag_run(void)
{
    g_autoptr(RgRequest) r = drag_request();
    for (int i = 0; i < 64; i++) // a transparent column must stay transparent
        r->image->data[4 * (i * 64 + 5) + 3] = 0;
    g_autoptr(GError) error = NULL;
    g_autoptr(RgEngine) engine = rg_engine_new();
    g_autoptr(rg_image) out = rg_request_run(r, engine, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpint(out->width, ==, 64);
    g_assert_cmpint(out->height, ==, 64);
    g_assert_cmpint(out->channels, ==, 4);
    for (int i = 0; i < 64 * 64; i++)
        g_assert_cmpint(out->data[4 * i + 3], ==, r->image->data[4 * i + 3]);
    size_t changed = 0;
    for (size_t i = 0; i < (size_t)64 * 64 * 4; i++)
        changed += out->data[i] != r->image->data[i];
    g_assert_cmpuint(changed, >, 100);

    // a mask keeps the layer's pixels wherever it is zero; the engine is reused
    r->mask = rg_image_new(64, 64, 1, NULL);
    for (int y = 20; y < 44; y++)
        memset(r->mask->data + y * 64 + 20, 255, 24);
    g_autoptr(rg_image) masked = rg_request_run(r, engine, NULL, &error);
    g_assert_no_error(error);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++)
            if (!r->mask->data[y * 64 + x])
                g_assert_cmpmem(masked->data + 4 * (y * 64 + x), 4, r->image->data + 4 * (y * 64 + x), 4);
}

static gboolean cancel_after_first(gpointer data)
{
    int *polls = data;
    return ++*polls > 3;
}

static void test_cancel(void)
{
    g_autoptr(RgRequest) r = drag_request();
    r->steps = 50;
    int polls = 0;
    rg_job_callbacks cb = {.cancelled = cancel_after_first, .user_data = &polls};
    g_autoptr(GError) error = NULL;
    g_autoptr(rg_image) out = rg_request_run(r, NULL, &cb, &error);
    g_assert_null(out);
    g_assert_error(error, RG_ERROR, RG_ERROR_CANCELLED);
    g_assert_cmpint(polls, <, 10);
}

static void test_missing_model_and_heads(void)
{
    g_autoptr(RgRequest) r = drag_request();
    r->model = g_strdup("/no/such/model");
    g_autoptr(GError) error = NULL;
    g_autoptr(rg_image) out = rg_request_run(r, NULL, NULL, &error);
    g_assert_null(out);
    g_assert_error(error, RG_ERROR, RG_ERROR_IO);
    g_assert_nonnull(strstr(error->message, "/no/such/model"));

    // a heads folder without the drag's heads: the check names the missing role
    g_autofree char *empty = g_dir_make_tmp("readout-heads-XXXXXX", NULL);
    g_clear_pointer(&r->model, g_free);
    r->heads = g_strdup(empty);
    g_clear_error(&error);
    g_autoptr(rg_image) out2 = rg_request_run(r, NULL, NULL, &error);
    g_assert_null(out2);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error->message, "appearance"));
    g_rmdir(empty);
}

static void test_pose_fill_keeps_outside(void)
{
    g_autoptr(RgRequest) r = rg_request_new(RG_JOB_POSE);
    r->image = scene_rgba(8);
    r->control = scene_rgba(9);
    r->prompt = g_strdup("a red star");
    r->steps = STEPS;
    r->mask = rg_image_new(64, 64, 1, NULL);
    for (int y = 16; y < 48; y++)
        memset(r->mask->data + y * 64 + 16, 255, 32);
    g_autoptr(GError) error = NULL;
    g_autoptr(rg_image) out = rg_request_run(r, NULL, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpint(out->width, ==, 64);
    size_t same = 0, outside = 0;
    for (int i = 0; i < 64 * 64; i++)
        if (!r->mask->data[i]) {
            outside++;
            same += !memcmp(out->data + 4 * i, r->image->data + 4 * i, 3);
        }
    g_assert_cmpuint(same, ==, outside);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/request/why-invalid", test_why_invalid);
    g_test_add_func("/request/result-name", test_result_name);
    g_test_add_func("/request/drag-run", test_drag_run);
    g_test_add_func("/request/cancel", test_cancel);
    g_test_add_func("/request/missing-model-and-heads", test_missing_model_and_heads);
    g_test_add_func("/request/pose-fill-keeps-outside", test_pose_fill_keeps_outside);
    return g_test_run();
}
