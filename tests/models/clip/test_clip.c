/* test_clip.c — the CLIP text encoder (rg_clip_text) against the float64
 * PyTorch reference of tests/reference/clip.py on a small config: the last
 * hidden state for batch 2 x 77 tokens, for 9 tokens, with GELU, with
 * strided ids and on 1 and 2 threads; nothing recorded on a tape; config.json
 * parsing; bad weights, bad ids and bad configs that must fail with a GError.
 *
 * With --sd15-names it checks instead that the SD1.5 config asks for exactly
 * the text-encoder rows of ../shared/docs/sd15_tensors.tsv (diffusers names
 * and shapes, in order); exit 77 (skipped) when that file is absent.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/clip/clip_internal.h"
#include "rg_test.h"

/* The config of tests/reference/clip.py. */
static rg_clip_text_config small_config(rg_clip_activation act)
{
    return (rg_clip_text_config){.vocab_size = 100,
                                 .hidden_size = 32,
                                 .num_layers = 2,
                                 .num_heads = 4,
                                 .intermediate_size = 64,
                                 .max_positions = 77,
                                 .activation = act,
                                 .layer_norm_eps = 1e-5f};
}

static rg_clip_text *golden_model(rg_clip_activation act)
{
    GError *error = NULL;
    g_autoptr(rg_weights) w = rg_weights_open_safetensors(CLIP_GOLDEN, "weights.", &error);
    rg_assert_no_error(error);
    rg_clip_text_config c = small_config(act);
    rg_clip_text *m = rg_clip_text_new(&c, w, &error);
    rg_assert_no_error(error);
    return m;
}

/* ---- parity with PyTorch ------------------------------------------------------ */

/* f32 through 2 layers of widths 32/64 and a final LayerNorm: outputs are O(1),
 * rounding stays near 1e-6 */
#define ATOL 2e-5
#define RTOL 1e-4

static void check_golden(rg_safetensors *golden, rg_clip_text *m, const char *ids_case, const char *out_case)
{
    GError *error = NULL;
    g_autoptr(rg_tensor) ids = rg_test_load(golden, ids_case, "input_ids");
    g_autoptr(rg_tensor) ref = rg_test_load(golden, out_case, "last_hidden_state");
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tensor) out = rg_clip_text_forward(m, ctx, ids, &error);
    rg_assert_no_error(error);
    g_autofree char *label = g_strdup_printf("%s last_hidden_state", out_case);
    RG_CHECK(rg_check_tensor(label, out, ref, ATOL, RTOL));
}

/* The ids as a non-contiguous view (every other column of a wider tensor),
 * with a tape attached: same output, nothing recorded. */
static void check_strided_and_tape(rg_safetensors *golden, rg_clip_text *m)
{
    GError *error = NULL;
    g_autoptr(rg_tensor) ids = rg_test_load(golden, "main", "input_ids");
    g_autoptr(rg_tensor) ref = rg_test_load(golden, "main", "last_hidden_state");
    const int64_t *s = rg_tensor_shape(ids);
    int64_t wide_shape[2] = {s[0], 2 * s[1]};
    g_autoptr(rg_tensor) wide = rg_tensor_new(RG_DTYPE_I64, 2, wide_shape, &error);
    rg_assert_no_error(error);
    int64_t *w = rg_tensor_data_i64(wide), *src = rg_tensor_data_i64(ids);
    for (int64_t i = 0; i < s[0] * s[1]; i++) {
        w[2 * i] = src[i];
        w[2 * i + 1] = -5; /* out of range: read by mistake, it fails */
    }
    int64_t strides[2] = {2 * s[1], 2};
    g_autoptr(rg_tensor) view = rg_tensor_view(wide, 2, s, strides, 0);
    RG_CHECK(!rg_tensor_is_contiguous(view));

    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) out = rg_clip_text_forward(m, ctx, view, &error);
    rg_assert_no_error(error);
    RG_CHECK(rg_ctx_get_tape(ctx) == tape); /* given back */
    rg_ctx_set_tape(ctx, NULL);
    RG_CHECK(rg_check_tensor("strided ids, tape attached", out, ref, ATOL, RTOL));
    RG_CHECK(rg_tape_size(tape) == 0);
}

/* 1 and 2 threads give the same bits. */
static void check_threads(rg_safetensors *golden, rg_clip_text *m)
{
    GError *error = NULL;
    g_autoptr(rg_tensor) ids = rg_test_load(golden, "main", "input_ids");
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int threads = rg_get_num_threads();
    rg_set_num_threads(1);
    g_autoptr(rg_tensor) a = rg_clip_text_forward(m, ctx, ids, &error);
    rg_assert_no_error(error);
    rg_set_num_threads(2);
    g_autoptr(rg_tensor) b = rg_clip_text_forward(m, ctx, ids, &error);
    rg_assert_no_error(error);
    rg_set_num_threads(threads);
    RG_CHECK(rg_check_tensor("1 vs 2 threads", a, b, 0, 0));
}

/* ---- bad weights and ids ------------------------------------------------------ */

/* The golden weights with @name left out, or resolving to @stored instead. */
static rg_weights *weights_with(const char *name, const char *stored)
{
    GError *error = NULL;
    g_autoptr(rg_weights) all = rg_weights_open_safetensors(CLIP_GOLDEN, "weights.", &error);
    rg_assert_no_error(error);
    rg_weights *w = rg_weights_new();
    g_autoptr(GPtrArray) names = rg_weights_names(all);
    for (guint i = 0; i < names->len; i++) {
        const char *n = names->pdata[i];
        g_autofree char *st = g_strconcat("weights.", strcmp(n, name) == 0 ? stored : n, NULL);
        if (strcmp(n, name) == 0 && !stored)
            continue;
        RG_CHECK(rg_weights_add(w, n, CLIP_GOLDEN, st, &error));
        rg_assert_no_error(error);
    }
    return w;
}

static gboolean bad_weights(void)
{
    gboolean ok = TRUE;
    rg_clip_text_config c = small_config(RG_CLIP_ACT_QUICK_GELU);
    const char *fc1 = "text_model.encoder.layers.1.mlp.fc1.weight";
    {
        g_autoptr(rg_weights) w = weights_with(fc1, "text_model.encoder.layers.1.mlp.fc2.weight");
        RG_EXPECT_ERROR_FULL(ok, "fc1 with fc2's shape", rg_clip_text_new(&c, w, &err_), RG_ERROR_FORMAT, NULL,
                             "has shape (32,64), expected (64,32)");
        RG_EXPECT_ERROR_FULL(ok, "  the message names the tensor", rg_clip_text_new(&c, w, &err_), RG_ERROR_FORMAT,
                             NULL, "layers.1.mlp.fc2.weight");
    }
    {
        g_autoptr(rg_weights) w = weights_with("text_model.final_layer_norm.bias", NULL);
        RG_EXPECT_ERROR_FULL(ok, "missing final_layer_norm.bias", rg_clip_text_new(&c, w, &err_), RG_ERROR_FORMAT,
                             NULL, "missing tensor \"text_model.final_layer_norm.bias\" (expected shape (32))");
    }
    {
        /* a config that does not fit the file: 101 tokens */
        g_autoptr(rg_weights) w = weights_with("", NULL);
        rg_clip_text_config c2 = c;
        c2.vocab_size = 101;
        RG_EXPECT_ERROR_FULL(ok, "vocab 101 vs a 100-row table", rg_clip_text_new(&c2, w, &err_), RG_ERROR_FORMAT,
                             NULL, "has shape (100,32), expected (101,32)");
        c2 = c;
        c2.num_layers = 3;
        RG_EXPECT_ERROR_FULL(ok, "3 layers in a 2-layer file", rg_clip_text_new(&c2, w, &err_), RG_ERROR_FORMAT, NULL,
                             "text_model.encoder.layers.2.layer_norm1.weight");
        c2 = c;
        c2.num_heads = 5;
        RG_EXPECT_ERROR_FULL(ok, "heads do not divide the width", rg_clip_text_new(&c2, w, &err_), RG_ERROR_ARGUMENT,
                             NULL, "num_heads 5");
    }
    return ok;
}

static rg_tensor *ids_tensor(int ndim, int64_t b, int64_t t, int64_t fill, int64_t bad_at, int64_t bad)
{
    GError *error = NULL;
    int64_t shape[3] = {b, t, 1};
    rg_tensor *x = rg_tensor_new(RG_DTYPE_I64, ndim, shape, &error);
    rg_assert_no_error(error);
    int64_t *d = rg_tensor_data_i64(x);
    for (int64_t i = 0; i < rg_tensor_numel(x); i++)
        d[i] = i == bad_at ? bad : fill;
    return x;
}

static gboolean bad_ids(rg_clip_text *m)
{
    gboolean ok = TRUE;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, NULL);
    g_autoptr(rg_tensor) too_big = ids_tensor(2, 2, 77, 3, 77 + 5, 100);
    g_autoptr(rg_tensor) negative = ids_tensor(2, 1, 9, 3, 8, -1);
    g_autoptr(rg_tensor) too_long = ids_tensor(2, 1, 78, 3, -1, 0);
    g_autoptr(rg_tensor) empty = ids_tensor(2, 1, 0, 3, -1, 0);
    g_autoptr(rg_tensor) three_d = ids_tensor(3, 1, 9, 3, -1, 0);
    int64_t s[2] = {1, 9};
    g_autoptr(rg_tensor) floats = rg_tensor_new(RG_DTYPE_F32, 2, s, NULL);
    const char *op = "clip text";
    RG_EXPECT_ERROR_FULL(ok, "id 100 of vocab 100", rg_clip_text_forward(m, ctx, too_big, &err_), RG_ERROR_ARGUMENT,
                         op, "token id 100 at position (1, 5)");
    RG_EXPECT_ERROR_FULL(ok, "id -1", rg_clip_text_forward(m, ctx, negative, &err_), RG_ERROR_ARGUMENT, op,
                         "token id -1 at position (0, 8)");
    RG_EXPECT_ERROR_FULL(ok, "78 tokens", rg_clip_text_forward(m, ctx, too_long, &err_), RG_ERROR_SHAPE, op,
                         "(1,78)");
    RG_EXPECT_ERROR_FULL(ok, "0 tokens", rg_clip_text_forward(m, ctx, empty, &err_), RG_ERROR_SHAPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "3-D ids", rg_clip_text_forward(m, ctx, three_d, &err_), RG_ERROR_SHAPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "F32 ids", rg_clip_text_forward(m, ctx, floats, &err_), RG_ERROR_DTYPE, op, "I64");
    RG_EXPECT_ERROR_FULL(ok, "no ids", rg_clip_text_forward(m, ctx, NULL, &err_), RG_ERROR_ARGUMENT, op, NULL);
    return ok;
}

/* ---- config.json ---------------------------------------------------------------- */

/* diffusers' runwayml/stable-diffusion-v1-5 text_encoder/config.json */
static const char sd15_json[] =
    "{\"_name_or_path\": \"openai/clip-vit-large-patch14\", \"architectures\": [\"CLIPTextModel\"],"
    " \"attention_dropout\": 0.0, \"bos_token_id\": 0, \"dropout\": 0.0, \"eos_token_id\": 2,"
    " \"hidden_act\": \"quick_gelu\", \"hidden_size\": 768, \"initializer_factor\": 1.0,"
    " \"initializer_range\": 0.02, \"intermediate_size\": 3072, \"layer_norm_eps\": 1e-05,"
    " \"max_position_embeddings\": 77, \"model_type\": \"clip_text_model\", \"num_attention_heads\": 12,"
    " \"num_hidden_layers\": 12, \"pad_token_id\": 1, \"projection_dim\": 768, \"torch_dtype\": \"float32\","
    " \"transformers_version\": \"4.22.0.dev0\", \"vocab_size\": 49408}";

static gboolean load_json(const char *dir, const char *text, rg_clip_text_config *c, GError **error)
{
    g_autofree char *path = g_build_filename(dir, "config.json", NULL);
    if (!g_file_set_contents(path, text, -1, NULL))
        g_error("cannot write %s", path);
    return rg_clip_text_config_load(c, path, error);
}

static gboolean same_config(const rg_clip_text_config *a, const rg_clip_text_config *b)
{
    return a->vocab_size == b->vocab_size && a->hidden_size == b->hidden_size && a->num_layers == b->num_layers &&
           a->num_heads == b->num_heads && a->intermediate_size == b->intermediate_size &&
           a->max_positions == b->max_positions && a->activation == b->activation &&
           fabsf(a->layer_norm_eps - b->layer_norm_eps) <= 1e-12f;
}

static void config_tests(void)
{
    GError *error = NULL;
    g_autofree char *dir = g_dir_make_tmp("test_clip_XXXXXX", &error);
    rg_assert_no_error(error);
    rg_clip_text_config sd15, c;
    rg_clip_text_config_init_sd15(&sd15);
    RG_CHECK(sd15.vocab_size == 49408 && sd15.hidden_size == 768 && sd15.num_layers == 12 && sd15.num_heads == 12 &&
          sd15.intermediate_size == 3072 && sd15.max_positions == 77 && sd15.activation == RG_CLIP_ACT_QUICK_GELU &&
          sd15.layer_norm_eps == 1e-5f);
    RG_CHECK(rg_clip_text_config_validate(&sd15, NULL));

    memset(&c, 0, sizeof c);
    RG_CHECK(load_json(dir, sd15_json, &c, &error));
    rg_assert_no_error(error);
    RG_CHECK(same_config(&c, &sd15));
    g_print("OK config.json of SD1.5\n");

    /* a CLIPConfig holding the text tower's config; SD2's OpenCLIP-H (gelu, 1024 wide, 23 layers) */
    RG_CHECK(load_json(dir,
                    "{\"model_type\": \"clip\", \"text_config\": {\"hidden_act\": \"gelu\", \"hidden_size\": 1024,"
                    " \"intermediate_size\": 4096, \"num_attention_heads\": 16, \"num_hidden_layers\": 23,"
                    " \"layer_norm_eps\": 1e-05}, \"vision_config\": {}}",
                    &c, &error));
    rg_assert_no_error(error);
    RG_CHECK(c.activation == RG_CLIP_ACT_GELU && c.hidden_size == 1024 && c.num_layers == 23 && c.num_heads == 16 &&
          c.vocab_size == 49408 && c.max_positions == 77);
    /* absent keys: CLIPTextConfig's defaults */
    RG_CHECK(load_json(dir, "{\"hidden_size\": 64.0}", &c, &error));
    rg_assert_no_error(error);
    RG_CHECK(c.hidden_size == 64 && c.num_heads == 8 && c.intermediate_size == 2048 && c.num_layers == 12 &&
          c.activation == RG_CLIP_ACT_QUICK_GELU && c.layer_norm_eps == 1e-5f);
    g_print("OK config.json: text_config, defaults\n");

    gboolean ok = TRUE;
    const char *op = NULL; /* messages begin with the file name */
    rg_clip_text_config before = c;
    RG_EXPECT_ERROR_FULL(ok, "no file", rg_clip_text_config_load(&c, "/nonexistent/config.json", &err_) ? &c : NULL,
                         RG_ERROR_IO, op, "/nonexistent/config.json");
    RG_EXPECT_ERROR_FULL(ok, "not JSON", load_json(dir, "{\"hidden_size\": ", &c, &err_) ? &c : NULL,
                         RG_ERROR_FORMAT, op, "config.json");
    RG_EXPECT_ERROR_FULL(ok, "an array", load_json(dir, "[1, 2]", &c, &err_) ? &c : NULL, RG_ERROR_FORMAT, op,
                         "not a JSON object");
    RG_EXPECT_ERROR_FULL(ok, "string width", load_json(dir, "{\"hidden_size\": \"768\"}", &c, &err_) ? &c : NULL,
                         RG_ERROR_FORMAT, op, "\"hidden_size\" is not an integer");
    RG_EXPECT_ERROR_FULL(ok, "fractional layers",
                         load_json(dir, "{\"num_hidden_layers\": 1.5}", &c, &err_) ? &c : NULL, RG_ERROR_FORMAT, op,
                         "num_hidden_layers");
    RG_EXPECT_ERROR_FULL(ok, "huge vocab", load_json(dir, "{\"vocab_size\": 1e12}", &c, &err_) ? &c : NULL,
                         RG_ERROR_FORMAT, op, "vocab_size");
    RG_EXPECT_ERROR_FULL(ok, "relu", load_json(dir, "{\"hidden_act\": \"relu\"}", &c, &err_) ? &c : NULL,
                         RG_ERROR_UNSUPPORTED, op, "hidden_act \"relu\"");
    RG_EXPECT_ERROR_FULL(ok, "act not a string", load_json(dir, "{\"hidden_act\": 3}", &c, &err_) ? &c : NULL,
                         RG_ERROR_FORMAT, op, "hidden_act");
    RG_EXPECT_ERROR_FULL(ok, "eps a string", load_json(dir, "{\"layer_norm_eps\": \"x\"}", &c, &err_) ? &c : NULL,
                         RG_ERROR_FORMAT, op, "layer_norm_eps");
    RG_EXPECT_ERROR_FULL(ok, "eps 0", load_json(dir, "{\"layer_norm_eps\": 0}", &c, &err_) ? &c : NULL,
                         RG_ERROR_ARGUMENT, op, "layer_norm_eps");
    RG_EXPECT_ERROR_FULL(ok, "heads do not divide",
                         load_json(dir, "{\"hidden_size\": 768, \"num_attention_heads\": 10}", &c, &err_) ? &c : NULL,
                         RG_ERROR_ARGUMENT, op, "num_heads 10");
    RG_EXPECT_ERROR_FULL(ok, "zero layers", load_json(dir, "{\"num_hidden_layers\": 0}", &c, &err_) ? &c : NULL,
                         RG_ERROR_ARGUMENT, op, "num_layers is 0");
    RG_EXPECT_ERROR_FULL(ok, "a diffusers UNet config",
                         load_json(dir, "{\"_class_name\": \"UNet2DConditionModel\", \"in_channels\": 4}", &c, &err_)
                             ? &c
                             : NULL,
                         RG_ERROR_FORMAT, op, "UNet2DConditionModel");
    RG_EXPECT_ERROR_FULL(ok, "a vision tower",
                         load_json(dir, "{\"model_type\": \"clip_vision_model\"}", &c, &err_) ? &c : NULL,
                         RG_ERROR_FORMAT, op, "clip_vision_model");
    RG_CHECK(ok);
    RG_CHECK(same_config(&c, &before)); /* failures leave the config as it was */

    g_autofree char *path = g_build_filename(dir, "config.json", NULL);
    g_remove(path);
    g_rmdir(dir);
}

/* ---- tensor names ------------------------------------------------------------------ */

/* Appends "name<TAB>d0xd1" to the GPtrArray @user_data. */
static void collect(const char *name, int ndim, const int64_t *shape, gpointer user_data)
{
    GString *row = g_string_new(name);
    g_string_append_c(row, '\t');
    for (int i = 0; i < ndim; i++)
        g_string_append_printf(row, i ? "x%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, shape[i]);
    g_ptr_array_add(user_data, g_string_free(row, FALSE));
}

/* The golden state_dict, written by module names that mirror transformers',
 * holds exactly the tensors the small config asks for, plus position_ids. */
static void check_golden_names(rg_safetensors *golden)
{
    GError *error = NULL;
    rg_clip_text_config c = small_config(RG_CLIP_ACT_QUICK_GELU);
    g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func(g_free);
    RG_CHECK(rg_clip_text_required_tensors(&c, collect, want, &error));
    rg_assert_no_error(error);
    g_ptr_array_add(want, g_strdup("text_model.embeddings.position_ids\t1x77"));
    g_autoptr(GHashTable) have = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (int i = 0; i < rg_safetensors_count(golden); i++) {
        const char *n = rg_safetensors_name(golden, i);
        if (!g_str_has_prefix(n, "weights."))
            continue;
        rg_dtype dt;
        int nd;
        int64_t shape[RG_MAX_DIMS];
        RG_CHECK(rg_safetensors_info(golden, n, &dt, &nd, shape));
        g_autoptr(GPtrArray) one = g_ptr_array_new_with_free_func(g_free);
        collect(n + strlen("weights."), nd, shape, one);
        g_hash_table_add(have, g_strdup(one->pdata[0]));
    }
    gboolean same = g_hash_table_size(have) == want->len;
    for (guint i = 0; i < want->len; i++) {
        if (!g_hash_table_contains(have, want->pdata[i])) {
            g_printerr("NOT OK golden state_dict lacks %s\n", (char *)want->pdata[i]);
            same = FALSE;
        }
    }
    RG_CHECK(same);
    if (same)
        g_print("OK golden state_dict names and shapes = the %u requested tensors + position_ids\n", want->len - 1);
}

/* ---- SD1.5 names against sd15_tensors.tsv ---------------------------------------- */

static int sd15_names(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(CLIP_SD15_TSV, &text, NULL, NULL)) {
        g_print("SKIP: %s is absent\n", CLIP_SD15_TSV);
        return 77;
    }
    /* columns: component, ldm name, ldm shape, diffusers file/name, diffusers shape */
    g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (int i = 1; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], "\t", -1);
        if (g_strv_length(f) < 5 || !g_str_has_prefix(f[3], "text_encoder/"))
            continue;
        if (g_str_has_suffix(f[3], ".position_ids"))
            continue;
        g_ptr_array_add(want, g_strdup_printf("%s\t%s", f[3] + strlen("text_encoder/"), g_strstrip(f[4])));
    }
    rg_clip_text_config c;
    rg_clip_text_config_init_sd15(&c);
    g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);
    GError *error = NULL;
    RG_CHECK(rg_clip_text_required_tensors(&c, collect, got, &error));
    rg_assert_no_error(error);
    RG_CHECK(want->len == 196); /* spec §4.1: 196 tensors */
    RG_CHECK(got->len == want->len);
    int64_t params = 0;
    for (guint i = 0; i < MIN(got->len, want->len); i++) {
        if (strcmp(got->pdata[i], want->pdata[i]) != 0) {
            g_printerr("NOT OK row %u: requested \"%s\", the TSV has \"%s\"\n", i, (char *)got->pdata[i],
                       (char *)want->pdata[i]);
            rg_test_failures++;
            break;
        }
        int64_t n = 1;
        g_auto(GStrv) dims = g_strsplit(strchr(got->pdata[i], '\t') + 1, "x", -1);
        for (int d = 0; dims[d]; d++)
            n *= g_ascii_strtoll(dims[d], NULL, 10);
        params += n;
    }
    RG_CHECK(params == 123060480); /* spec §4.1 */
    if (rg_test_failures) {
        g_printerr("test_clip --sd15-names: %d failures\n", rg_test_failures);
        return 1;
    }
    g_print("OK SD1.5 text encoder: %u tensors, %" G_GINT64_FORMAT " parameters, names and shapes as the TSV\n",
            got->len, params);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--sd15-names") == 0)
        return sd15_names();

    g_autoptr(rg_safetensors) golden = rg_test_golden("clip");
    g_autoptr(rg_clip_text) m = golden_model(RG_CLIP_ACT_QUICK_GELU);
    g_autoptr(rg_clip_text) mg = golden_model(RG_CLIP_ACT_GELU);
    check_golden_names(golden);
    check_golden(golden, m, "main", "main");
    check_golden(golden, m, "short", "short");
    check_golden(golden, mg, "main", "gelu");
    check_strided_and_tape(golden, m);
    check_threads(golden, m);
    RG_CHECK(rg_clip_text_get_config(m)->hidden_size == 32);

    RG_CHECK(bad_weights());
    RG_CHECK(bad_ids(m));
    config_tests();

    if (rg_test_failures) {
        g_printerr("test_clip: %d failures\n", rg_test_failures);
        return 1;
    }
    g_print("test_clip: all OK\n");
    return 0;
}
