/* test_head_files.c — reading readout heads strictly, on the fixtures of
 * tests/reference/head.py (golden/heads/) and safetensors heads written here:
 *   - a missing, unexpected or mis-shaped key, wrong mixing weights, several
 *     timesteps, no dims, a key layout the config contradicts, bare state
 *     dicts, legacy pickles, junk: errors naming the file, the key and both
 *     shapes;
 *   - Readout's safetensors format: the same checks, and bad
 *     "readout.head_config" metadata (version, format, fields);
 *   - the role from file names and metadata, and the official config's
 *     meaning (control range, sparse loss, base model, groups, DHF style).
 */
#include <glib/gstdio.h>
#include <string.h>

#include "models/head/head_internal.h"
#include "rg_test.h"

static char *tmp;

static char *fixture(const char *name)
{
    return g_build_filename(RG_HEAD_DIR, name, NULL);
}

static rg_head *open_fixture(const char *name)
{
    g_autofree char *path = fixture(name);
    GError *error = NULL;
    rg_head *h = rg_head_open(path, &error);
    rg_assert_no_error(error);
    return h;
}

static gboolean report(gboolean good, const char *what)
{
    g_print("%s %s\n", good ? "OK" : "NOT OK", what);
    return good;
}

/* ---- strictness ---------------------------------------------------------------- */

static gboolean expect_open_error(const char *what, const char *path, int code, const char *needle,
                                  const char *needle2)
{
    GError *error = NULL;
    rg_head *h = rg_head_open(path, &error);
    gboolean ok = !h && error && error->code == code && strstr(error->message, path) &&
                  (!needle || strstr(error->message, needle)) && (!needle2 || strstr(error->message, needle2));
    g_print("%s %s: %s\n", ok ? "OK" : "NOT OK", what, error ? error->message : "(no error)");
    if (h)
        rg_head_free(h);
    g_clear_error(&error);
    return ok;
}

static gboolean strict_pt(void)
{
    const struct {
        const char *file;
        int code;
        const char *needle, *needle2;
    } bad[] = {
        {"bad_missing.pt", RG_ERROR_FORMAT, "missing tensor \"aggregation_network.bottleneck_layers.0.conv2.norm.bias\"",
         "(4)"},
        {"bad_extra.pt", RG_ERROR_FORMAT, "unexpected tensor \"aggregation_network.bottleneck_layers.0.conv4.weight\"",
         "(4,4,1,1)"},
        {"bad_shape.pt", RG_ERROR_FORMAT, "\"aggregation_network.bottleneck_layers.0.conv1.weight\" is (4,7,1,1)",
         "expected (4,8,1,1)"},
        {"bad_mixing.pt", RG_ERROR_FORMAT, "\"aggregation_network.mixing_weights\" is (2)", "expected (1)"},
        {"bad_timesteps.pt", RG_ERROR_UNSUPPORTED, "save_timestep has 2 entries", NULL},
        {"bad_nodims.pt", RG_ERROR_FORMAT, "no \"dims\"", NULL},
        {"bad_sequential.pt", RG_ERROR_FORMAT, "DHF-style", "bottleneck_sequential is False"},
        {"not_a_head.pt", RG_ERROR_FORMAT, "not a readout head", "\"config\""},
    };
    gboolean ok = TRUE;
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *path = fixture(bad[i].file);
        ok &= expect_open_error(bad[i].file, path, bad[i].code, bad[i].needle, bad[i].needle2);
    }
    /* the good sibling of the bad files opens */
    g_autoptr(rg_head) h = open_fixture("tiny.pt");
    ok &= report(h && rg_head_get_config(h)->emb_dim == 8 && rg_head_get_config(h)->norm_groups == 4,
                 "tiny.pt opens (emb_dim 8 from emb_layers.weight, num_norm_groups 4 from aggregation_kwargs)");
    ok &= expect_open_error("no such file", "/no/such/head.pt", RG_ERROR_IO, NULL, NULL);
    g_autofree char *junk = g_build_filename(tmp, "junk.bin", NULL);
    g_file_set_contents(junk, "hello, this is not a head at all", -1, NULL);
    ok &= expect_open_error("junk", junk, RG_ERROR_FORMAT, "neither", NULL);
    g_autofree char *legacy = g_build_filename(tmp, "legacy.pt", NULL);
    g_file_set_contents(legacy, "\x80\x02\x8a\x0alegacy torch", -1, NULL);
    ok &= expect_open_error("legacy pickle", legacy, RG_ERROR_FORMAT, "zip format", NULL);
    g_unlink(junk);
    g_unlink(legacy);
    return ok;
}

/* Writes the tiny head's tensors to @path with @drop left out, @extra added,
 * @reshape (a name) stored with one element more, and @config as metadata. */
static void write_variant(rg_head *h, const char *path, const char *drop, const char *extra, const char *reshape,
                          const char *config)
{
    GError *error = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) tensors = g_ptr_array_new();
    rg_head_parameters(h, names, tensors);
    g_autoptr(GPtrArray) keep = g_ptr_array_new();
    g_autoptr(GPtrArray) vals = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    for (guint i = 0; i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        if (drop && !strcmp(n, drop))
            continue;
        rg_tensor *t = g_ptr_array_index(tensors, i);
        g_ptr_array_add(keep, (gpointer)n);
        if (reshape && !strcmp(n, reshape)) {
            int64_t s[1] = {rg_tensor_numel(t) + 1};
            g_ptr_array_add(vals, rg_tensor_new(RG_DTYPE_F32, 1, s, &error));
        } else {
            g_ptr_array_add(vals, rg_tensor_ref(t));
        }
    }
    if (extra) {
        g_ptr_array_add(keep, (gpointer)extra);
        g_ptr_array_add(vals, rg_tensor_new(RG_DTYPE_F32, 1, (int64_t[]){3}, &error));
    }
    const char *metadata[] = {"readout.head_config", config, NULL};
    g_assert_true(rg_safetensors_save(path, (int)keep->len, (const char *const *)keep->pdata,
                                      (rg_tensor *const *)vals->pdata, config ? metadata : NULL, &error));
    rg_assert_no_error(error);
}

static gboolean strict_safetensors(void)
{
    g_autoptr(rg_head) h = open_fixture("tiny.pt");
    g_autofree char *good = head_config_to_json(rg_head_get_config(h));
    g_autofree char *path = g_build_filename(tmp, "variant.safetensors", NULL);
    gboolean ok = TRUE;
    write_variant(h, path, NULL, NULL, NULL, good);
    GError *error = NULL;
    g_autoptr(rg_head) back = rg_head_open(path, &error);
    rg_assert_no_error(error);
    ok &= report(back != NULL, "hand-written safetensors head opens");

    write_variant(h, path, "bottleneck_layers.0.conv3.weight", NULL, NULL, good);
    ok &= expect_open_error("safetensors: missing key", path, RG_ERROR_FORMAT,
                            "missing tensor \"bottleneck_layers.0.conv3.weight\"", "(16,4,1,1)");
    write_variant(h, path, NULL, "bottleneck_layers.1.conv1.weight", NULL, good);
    ok &= expect_open_error("safetensors: extra key", path, RG_ERROR_FORMAT,
                            "unexpected tensor \"bottleneck_layers.1.conv1.weight\"", NULL);
    write_variant(h, path, NULL, NULL, "bottleneck_layers.0.emb_layers.bias", good);
    ok &= expect_open_error("safetensors: wrong shape", path, RG_ERROR_FORMAT,
                            "\"bottleneck_layers.0.emb_layers.bias\" is (5)", "expected (4)");
    write_variant(h, path, NULL, NULL, NULL, NULL);
    ok &= expect_open_error("safetensors: no config", path, RG_ERROR_FORMAT, "readout.head_config", NULL);
    const struct {
        const char *what, *from, *to;
        int code;
        const char *needle;
    } edits[] = {
        {"version 2", "\"version\":1", "\"version\":2", RG_ERROR_UNSUPPORTED, "version is 2"},
        {"other format", "readout-head", "something", RG_ERROR_FORMAT, "format"},
        {"dims vs n_layers", "\"n_layers\":1", "\"n_layers\":2", RG_ERROR_FORMAT, "n_layers"},
        {"bad groups", "\"norm_groups\":4", "\"norm_groups\":3", RG_ERROR_FORMAT, "num_norm_groups 3"},
        {"unknown role", "\"role\":\"\"", "\"role\":\"segmentation\"", RG_ERROR_FORMAT, "segmentation"},
        {"not JSON", "{", "[", RG_ERROR_FORMAT, "not a JSON object"},
        {"dims not ints", "\"dims\":[8]", "\"dims\":[\"8\"]", RG_ERROR_FORMAT, "dims"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(edits); i++) {
        g_autofree char *cfg = NULL;
        char *at = strstr(good, edits[i].from);
        g_assert_nonnull(at);
        cfg = g_strdup_printf("%.*s%s%s", (int)(at - good), good, edits[i].to, at + strlen(edits[i].from));
        write_variant(h, path, NULL, NULL, NULL, cfg);
        g_autofree char *w = g_strdup_printf("safetensors: %s", edits[i].what);
        ok &= expect_open_error(w, path, edits[i].code, edits[i].needle, NULL);
    }
    g_unlink(path);
    return ok;
}

/* ---- roles ------------------------------------------------------------------- */

static gboolean roles(void)
{
    const char *names[][2] = {
        {"readout_sdv15_drag_appearance.pt", "appearance"}, {"readout_sdv15_spatial_pose.pt", "pose"},
        {"readout_sdxl_spatial_depth.pt", "depth"},         {"readout_sdv15_spatial_edge.pt", "edge"},
        {"readout_sdxl_drag_correspondence.pt", "correspondence"}, {"/a/b/Appearance.PT", "appearance"},
        {"correspondence.safetensors", "correspondence"},   {"pose.pt", "pose"}, {"depth", "depth"},
        {"identity.safetensors", "identity"},               {"readout_sdv15_pose_keypoint.pt", ""},
        {"poser.pt", ""},                                   {"head.pt", ""}, {"pose/head.pt", ""},
        {"my-edge-head.safetensors", "edge"},
    };
    gboolean ok = TRUE;
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        const char *got = head_role_from_name(names[i][0]);
        gboolean good = !strcmp(got, names[i][1]);
        if (!good)
            g_print("NOT OK role of %s: \"%s\", expected \"%s\"\n", names[i][0], got, names[i][1]);
        ok &= good;
    }
    report(ok, "roles from file names");
    /* the metadata's role wins over the file name; without one, the name decides */
    GError *error = NULL;
    g_autoptr(rg_head) h = open_fixture("readout_tiny_spatial_pose.pt");
    ok &= report(!strcmp(rg_head_get_config(h)->role, "pose"), "readout_tiny_spatial_pose.pt: role pose");
    g_autofree char *p1 = g_build_filename(tmp, "appearance.safetensors", NULL);
    g_assert_true(rg_head_save(h, p1, &error));
    g_autoptr(rg_head) a = rg_head_open(p1, &error);
    rg_assert_no_error(error);
    ok &= report(!strcmp(rg_head_get_config(a)->role, "pose"), "role in metadata beats the file name");
    g_autoptr(rg_head) t = open_fixture("tiny.pt");
    ok &= report(!strcmp(rg_head_get_config(t)->role, ""), "tiny.pt: no role");
    g_autofree char *p2 = g_build_filename(tmp, "depth.safetensors", NULL);
    g_assert_true(rg_head_save(t, p2, &error));
    g_autoptr(rg_head) d = rg_head_open(p2, &error);
    rg_assert_no_error(error);
    ok &= report(!strcmp(rg_head_get_config(d)->role, "depth"), "no role in metadata: the file name's");
    /* the official config's meaning kept: control range and sparse loss of a pose head */
    const rg_head_config *c = rg_head_get_config(a);
    ok &= report(c->control_range[0] == -0.5f && c->control_range[1] == 0.5f && c->sparse_loss &&
                     !strcmp(c->base_model, "tests/reference/unet.py:small") && c->use_output_head &&
                     c->output_channels == 3 && c->output_act && !c->bottleneck_sequential,
                 "pose head: control_range (-0.5, 0.5), sparse loss, base model, output head kept");
    g_autoptr(rg_head) rel = open_fixture("readout_tiny_drag_appearance.pt");
    const rg_head_config *rc = rg_head_get_config(rel);
    ok &= report(rc->control_range[0] == -1.0f && rc->control_range[1] == 1.0f && !rc->sparse_loss &&
                     rc->norm_groups == 32 && !rc->use_output_head,
                 "relative head: the dataset's default range (-1, 1), 32 groups by default");
    g_autoptr(rg_head) dhf = open_fixture("dhf_correspondence.pt");
    ok &= report(rg_head_get_config(dhf)->bottleneck_sequential, "dhf_correspondence.pt: DHF style (the default)");
    g_unlink(p1);
    g_unlink(p2);
    return ok;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    GError *error = NULL;
    tmp = g_dir_make_tmp("test-head-files-XXXXXX", &error);
    rg_assert_no_error(error);
    gboolean ok = strict_pt();
    ok &= strict_safetensors();
    ok &= roles();
    g_rmdir(tmp);
    g_free(tmp);
    ok &= rg_test_failures == 0;
    g_print("%s\n", ok ? "ALL OK" : "FAILED");
    return ok ? 0 : 1;
}
