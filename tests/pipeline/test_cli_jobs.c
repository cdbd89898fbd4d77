/* test_cli_jobs.c — `readout drag / identity / pose / generate` on the tiny
 * model with random heads written to a temporary folder: results of the
 * input's size, JSON progress, readout pictures, and clear failures (non-PNG
 * input, points outside the image, no prompt, bad flags) that write nothing. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "readout/pipeline.h"
#include "rg_test.h"

static char *tmp;

static void write_head(const char *name, gboolean spatial, rg_unet *u)
{
    rg_head_config c = {0};
    c.n_layers = rg_unet_n_features(u);
    for (int l = 0; l < c.n_layers; l++)
        c.dims[l] = rg_unet_feature_channels(u, l);
    c.projection_dim = 128;
    c.emb_dim = rg_unet_get_config(u)->time_embedding_dim;
    c.norm_groups = 32;
    c.use_output_head = spatial;
    c.output_channels = 3;
    c.output_act = TRUE;
    c.control_range[0] = -0.5f;
    c.control_range[1] = 0.5f;
    g_strlcpy(c.base_model, "tests/data/tiny-sd", sizeof c.base_model);
    GError *error = NULL;
    g_autoptr(rg_head) h = rg_head_new_random(&c, g_str_hash(name), &error);
    g_autofree char *path = g_build_filename(tmp, "heads", name, NULL);
    RG_CHECK(h && rg_head_save(h, path, &error));
    rg_assert_no_error(error);
}

static char *path_in_tmp(const char *name)
{
    return g_build_filename(tmp, name, NULL);
}

static void expect_failure(const char *label, const char *needle, const char *output, const char *first, ...)
{
    g_autofree char *err = NULL;
    va_list ap;
    va_start(ap, first);
    const int status = rg_test_spawnv(RG_READOUT_EXE, NULL, &err, first, ap);
    va_end(ap);
    const gboolean ok = status != 0 && err && strstr(err, needle) &&
                        !g_file_test(output, G_FILE_TEST_EXISTS);
    if (!ok) {
        g_printerr("NOT OK %s: expected a failure saying \"%s\" and no %s; stderr: %s\n", label, needle, output, err);
        rg_test_failures++;
    } else {
        g_print("%s: %s", label, err);
    }
}

static rg_image *load(const char *path)
{
    return rg_image_load_png(path, NULL);
}

int main(void)
{
    tmp = g_dir_make_tmp("rg_cli_jobs_XXXXXX", NULL);
    g_autofree char *heads = path_in_tmp("heads");
    g_mkdir(heads, 0755);
    GError *error = NULL;
    {
        g_autoptr(rg_pipeline) p = rg_pipeline_new(RG_TINY_MODEL, NULL, &error);
        rg_assert_no_error(error);
        write_head("appearance.safetensors", FALSE, rg_pipeline_get_unet(p));
        write_head("correspondence.safetensors", FALSE, rg_pipeline_get_unet(p));
        write_head("pose.safetensors", TRUE, rg_pipeline_get_unet(p));
    }
    // a 40x24 input
    g_autoptr(rg_image) img = rg_image_new(40, 24, 3, NULL);
    for (int i = 0; i < 40 * 24 * 3; i++)
        img->data[i] = (guint8)(i * 7);
    g_autofree char *in = path_in_tmp("in.png"), *out = path_in_tmp("out.png"), *readouts = path_in_tmp("readouts");
    RG_CHECK(rg_image_save_png(img, in, NULL));

    g_autofree char *json = NULL, *err = NULL;
    int rc = rg_test_spawn(RG_READOUT_EXE, &json, &err, "drag", "--model", RG_TINY_MODEL, "--heads", heads, "--image", in, "--point",
                 "10,8:30,12", "--steps", "3", "--max-side", "32", "--json", "--readouts", readouts, "--output", out,
                 NULL);
    RG_CHECK(rc == 0);
    g_autoptr(rg_image) got = load(out);
    RG_CHECK(got && got->width == 40 && got->height == 24);
    // every stdout line is a JSON object with an event; the last one is "done"
    g_auto(GStrv) lines = g_strsplit(json ? json : "", "\n", -1);
    int n_lines = 0, progress = 0;
    const char *last = "";
    for (char **l = lines; *l && **l; l++, n_lines++) {
        g_autoptr(JsonParser) parser = json_parser_new();
        RG_CHECK(json_parser_load_from_data(parser, *l, -1, NULL));
        JsonNode *root = json_parser_get_root(parser);
        RG_CHECK(root && JSON_NODE_HOLDS_OBJECT(root));
        if (root && JSON_NODE_HOLDS_OBJECT(root)) {
            last = g_intern_string(json_object_get_string_member_with_default(json_node_get_object(root), "event", ""));
            progress += !strcmp(last, "progress");
        }
    }
    g_print("drag --json: %d lines, %d progress events, last \"%s\"\n", n_lines, progress, last);
    RG_CHECK(progress >= 6 && !strcmp(last, "done"));
    const char *pictures[] = {"predicted_000.png", "predicted_002.png", "appearance_002.png",
                              "correspondence_002.png"};
    for (size_t i = 0; i < G_N_ELEMENTS(pictures); i++) {
        g_autofree char *pic = g_build_filename(readouts, pictures[i], NULL);
        RG_CHECK(g_file_test(pic, G_FILE_TEST_EXISTS));
    }
    g_remove(out);

    g_clear_pointer(&err, g_free);
    g_autofree char *pose_head = g_build_filename(heads, "pose.safetensors", NULL);
    RG_CHECK(rg_test_spawn(RG_READOUT_EXE, NULL, &err, "pose", "--model", RG_TINY_MODEL, "--head", pose_head, "--pose", in, "--prompt",
                 "a red ball", "--steps", "3", "--fast", "--output", out, NULL) == 0);
    g_autoptr(rg_image) posed = load(out);
    RG_CHECK(posed && posed->width == 40 && posed->height == 24);
    g_remove(out);
    g_clear_pointer(&err, g_free);
    RG_CHECK(rg_test_spawn(RG_READOUT_EXE, NULL, &err, "generate", "--model", RG_TINY_MODEL, "--head", pose_head, "--control", in,
                 "--prompt", "a red ball", "--steps", "3", "--output", out, NULL) == 0);
    g_remove(out);
    g_clear_pointer(&err, g_free);
    RG_CHECK(rg_test_spawn(RG_READOUT_EXE, NULL, &err, "identity", "--model", RG_TINY_MODEL, "--heads", heads, "--reference", in, "--box",
                 "5,5,20,20", "--prompt", "a red ball", "--steps", "3", "--output", out, NULL) == 0);
    g_remove(out);

    g_autofree char *text = path_in_tmp("notes.png");
    g_file_set_contents(text, "not a picture", -1, NULL);
    expect_failure("non-PNG input", "not a PNG", out, "drag", "--model", RG_TINY_MODEL, "--heads", heads, "--image",
                   text, "--point", "1,1:2,2", "--output", out, NULL);
    expect_failure("point outside", "outside the 40x24 image", out, "drag", "--model", RG_TINY_MODEL, "--heads",
                   heads, "--image", in, "--point", "10,8:50,12", "--output", out, NULL);
    expect_failure("bad point", "X0,Y0:X1,Y1", out, "drag", "--model", RG_TINY_MODEL, "--heads", heads, "--image",
                   in, "--point", "10,8", "--output", out, NULL);
    expect_failure("no prompt", "prompt is required", out, "identity", "--model", RG_TINY_MODEL, "--heads", heads,
                   "--reference", in, "--output", out, NULL);
    expect_failure("no model", "no-such-model", out, "generate", "--model", "/no-such-model", "--prompt", "x",
                   "--output", out, NULL);
    expect_failure("missing heads", "no appearance head", out, "drag", "--model", RG_TINY_MODEL, "--head",
                   pose_head, "--image", in, "--point", "1,1:2,2", "--output", out, NULL);

    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp);
    RG_CHECK(system(cmd) == 0);
    if (rg_test_failures)
        g_printerr("%d check(s) failed\n", rg_test_failures);
    return rg_test_failures ? 1 : 0;
}
