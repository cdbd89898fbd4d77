/* test_wiring.c — Stable Diffusion 1.5 at full size, wired end to end.
 *
 * Writes a checkpoint with exactly SD1.5's tensor names and shapes (every row
 * of ../shared/docs/sd15_tensors.tsv, passed as RG_SD15_TENSORS_TSV) holding
 * small pseudo-random values (uniform in +-0.02; norm weights 1 +- 0.02), as
 * F16, in both layouts users have:
 *   1. one LDM single file (model.diffusion_model.*, first_stage_model.*,
 *      cond_stage_model.transformer.*; SD1.5's defaults as the config), and
 *   2. a diffusers folder (unet/, vae/, text_encoder/ with SD1.5's
 *      config.json files as published, and model_index.json),
 * the same value for the same tensor in both. Each layout is opened with
 * rg_model_open() and runs: the UNet on an 8x8 latent, batch 1 (eps, the 12
 * decoder features with their SD1.5 shapes, and the gradient of random
 * cotangents of eps and every feature with respect to the sample), the VAE
 * encoder on a 64x64 image and the decoder on an 8x8 latent, and the text
 * encoder on 77 ids. Outputs must be finite, not all zero, and bit-identical
 * across the layouts.
 *
 * The layouts are written one after the other (the first is deleted before
 * the second is written), so the disk holds one at a time: ~2.1 GB. The test
 * skips (77) when the TSV is absent or the temporary folder lacks the space.
 * It prints its run time and peak memory.
 */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include "readout/clip.h"
#include "readout/model.h"
#include "readout/unet.h"
#include "readout/vae.h"
#include "rg_test.h"
#include "tensor/tensor_impl.h"

static gboolean ok = TRUE;

static void report(gboolean good, const char *what)
{
    g_print("%s %s\n", good ? "OK" : "NOT OK", what);
    ok &= good;
}

static double now_s(void)
{
    return (double)g_get_monotonic_time() / 1e6;
}

static double peak_rss_gib(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_maxrss / (1024.0 * 1024.0); /* KiB on Linux */
}

/* ---- the tensor list ------------------------------------------------------------ */

typedef struct {
    char *part;          /* "unet", "vae", "text_encoder" */
    char *ldm, *diff;    /* names in the single file and in the part's file */
    char *key;           /* "part/diff": where the values come from */
    int ldm_ndim, diff_ndim;
    int64_t ldm_shape[4], diff_shape[4];
    int64_t numel;
} row;

static gboolean parse_shape(const char *s, int *ndim, int64_t *shape)
{
    g_auto(GStrv) d = g_strsplit(s, "x", -1);
    *ndim = (int)g_strv_length(d);
    if (*ndim < 1 || *ndim > 4)
        return FALSE;
    for (int i = 0; i < *ndim; i++)
        if ((shape[i] = g_ascii_strtoll(d[i], NULL, 10)) <= 0)
            return FALSE;
    return TRUE;
}

static GArray *read_tsv(const char *text)
{
    GArray *rows = g_array_new(FALSE, TRUE, sizeof(row));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (int l = 1; lines[l]; l++) {
        g_auto(GStrv) f = g_strsplit(lines[l], "\t", -1);
        if (g_strv_length(f) != 5)
            continue;
        const char *slash = strchr(f[3], '/');
        g_assert_nonnull(slash);
        row r = {.part = g_strndup(f[3], (gsize)(slash - f[3])), .ldm = g_strdup(f[1]), .diff = g_strdup(slash + 1),
                 .key = g_strdup(f[3])};
        g_assert_true(parse_shape(f[2], &r.ldm_ndim, r.ldm_shape) && parse_shape(f[4], &r.diff_ndim, r.diff_shape));
        r.numel = 1;
        for (int d = 0; d < r.diff_ndim; d++)
            r.numel *= r.diff_shape[d];
        g_array_append_val(rows, r);
    }
    return rows;
}

static void rows_free(GArray *rows)
{
    for (guint i = 0; i < rows->len; i++) {
        row *r = &g_array_index(rows, row, i);
        g_free(r->part), g_free(r->ldm), g_free(r->diff), g_free(r->key);
    }
    g_array_unref(rows);
}

/* ---- values and F16 safetensors files ------------------------------------------- */

static guint64 fnv1a(const char *s)
{
    guint64 h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (guint8)*s) * 0x100000001b3ull;
    return h;
}

/* Element @i of the tensor of @seed: uniform in [-0.02, 0.02), plus 1 for norm weights. */
static inline float value(guint64 seed, int64_t i, float base)
{
    guint64 z = seed + (guint64)i * 0x9e3779b97f4a7c15ull; /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return base + 0.04f * ((float)(z >> 40) / 16777216.0f - 0.5f);
}

/* 1 for the weights of GroupNorm / LayerNorm layers (the module name holds "norm"), else 0. */
static float base_of(const char *diff)
{
    if (!g_str_has_suffix(diff, ".weight"))
        return 0;
    g_autofree char *module = g_strndup(diff, strlen(diff) - strlen(".weight"));
    const char *last = strrchr(module, '.');
    return strstr(last ? last + 1 : module, "norm") ? 1.0f : 0.0f;
}

/* Writes the rows of @part (all when NULL) to @path as F16, named by their
 * LDM (@ldm) or diffusers names, streamed one chunk at a time. */
static gboolean write_checkpoint(const char *path, GArray *rows, const char *part, gboolean ldm, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "__metadata__");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, "pt");
    json_builder_end_object(b);
    guint64 offset = 0;
    for (guint i = 0; i < rows->len; i++) {
        const row *r = &g_array_index(rows, row, i);
        if (part && strcmp(r->part, part))
            continue;
        json_builder_set_member_name(b, ldm ? r->ldm : r->diff);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "dtype");
        json_builder_add_string_value(b, "F16");
        json_builder_set_member_name(b, "shape");
        json_builder_begin_array(b);
        for (int d = 0; d < (ldm ? r->ldm_ndim : r->diff_ndim); d++)
            json_builder_add_int_value(b, ldm ? r->ldm_shape[d] : r->diff_shape[d]);
        json_builder_end_array(b);
        json_builder_set_member_name(b, "data_offsets");
        json_builder_begin_array(b);
        json_builder_add_int_value(b, (gint64)offset);
        offset += 2 * (guint64)r->numel;
        json_builder_add_int_value(b, (gint64)offset);
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    gsize hlen;
    g_autofree char *header = json_generator_to_data(gen, &hlen);
    const gsize padded = (hlen + 7) / 8 * 8;

    g_autofree char *dir = g_path_get_dirname(path);
    g_mkdir_with_parents(dir, 0755);
    FILE *f = fopen(path, "wb");
    if (!f) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s: cannot create", path);
        return FALSE;
    }
    const guint64 len = padded; /* little-endian hosts */
    gboolean good = fwrite(&len, 8, 1, f) == 1 && fwrite(header, 1, hlen, f) == hlen;
    for (gsize i = hlen; i < padded && good; i++)
        good = fputc(' ', f) != EOF;
    enum { CHUNK = 1 << 20 };
    g_autofree guint16 *buf = g_new(guint16, CHUNK);
    for (guint i = 0; i < rows->len && good; i++) {
        const row *r = &g_array_index(rows, row, i);
        if (part && strcmp(r->part, part))
            continue;
        const guint64 seed = fnv1a(r->key);
        const float base = base_of(r->diff);
        for (int64_t start = 0; start < r->numel && good; start += CHUNK) {
            const int64_t n = MIN(CHUNK, r->numel - start);
#pragma omp parallel for schedule(static) if (n > 65536)
            for (int64_t k = 0; k < n; k++)
                buf[k] = rg_f32_to_f16(value(seed, start + k, base));
            good = fwrite(buf, 2, (size_t)n, f) == (size_t)n;
        }
    }
    good = (fclose(f) == 0) && good;
    if (!good)
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s: write failed (disk full?)", path);
    return good;
}

/* SD1.5's config files as published (runwayml/stable-diffusion-v1-5). */
static const char *unet_config =
    "{\"_class_name\": \"UNet2DConditionModel\", \"_diffusers_version\": \"0.6.0\", \"act_fn\": \"silu\",\n"
    " \"attention_head_dim\": 8, \"block_out_channels\": [320, 640, 1280, 1280], \"center_input_sample\": false,\n"
    " \"cross_attention_dim\": 768, \"down_block_types\": [\"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\",\n"
    " \"CrossAttnDownBlock2D\", \"DownBlock2D\"], \"downsample_padding\": 1, \"flip_sin_to_cos\": true,\n"
    " \"freq_shift\": 0, \"in_channels\": 4, \"layers_per_block\": 2, \"mid_block_scale_factor\": 1,\n"
    " \"norm_eps\": 1e-05, \"norm_num_groups\": 32, \"out_channels\": 4, \"sample_size\": 64,\n"
    " \"up_block_types\": [\"UpBlock2D\", \"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\"]}\n";
static const char *vae_config =
    "{\"_class_name\": \"AutoencoderKL\", \"_diffusers_version\": \"0.6.0\", \"act_fn\": \"silu\",\n"
    " \"block_out_channels\": [128, 256, 512, 512], \"down_block_types\": [\"DownEncoderBlock2D\",\n"
    " \"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\"], \"in_channels\": 3,\n"
    " \"latent_channels\": 4, \"layers_per_block\": 2, \"norm_num_groups\": 32, \"out_channels\": 3,\n"
    " \"sample_size\": 512, \"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\", \"UpDecoderBlock2D\",\n"
    " \"UpDecoderBlock2D\"]}\n";
static const char *text_config =
    "{\"_name_or_path\": \"openai/clip-vit-large-patch14\", \"architectures\": [\"CLIPTextModel\"],\n"
    " \"attention_dropout\": 0.0, \"bos_token_id\": 0, \"dropout\": 0.0, \"eos_token_id\": 2,\n"
    " \"hidden_act\": \"quick_gelu\", \"hidden_size\": 768, \"initializer_factor\": 1.0, \"initializer_range\": 0.02,\n"
    " \"intermediate_size\": 3072, \"layer_norm_eps\": 1e-05, \"max_position_embeddings\": 77,\n"
    " \"model_type\": \"clip_text_model\", \"num_attention_heads\": 12, \"num_hidden_layers\": 12,\n"
    " \"pad_token_id\": 1, \"projection_dim\": 768, \"torch_dtype\": \"float32\",\n"
    " \"transformers_version\": \"4.22.0.dev0\", \"vocab_size\": 49408}\n";
static const char *model_index =
    "{\"_class_name\": \"StableDiffusionPipeline\", \"_diffusers_version\": \"0.6.0\",\n"
    " \"scheduler\": [\"diffusers\", \"PNDMScheduler\"], \"text_encoder\": [\"transformers\", \"CLIPTextModel\"],\n"
    " \"tokenizer\": [\"transformers\", \"CLIPTokenizer\"], \"unet\": [\"diffusers\", \"UNet2DConditionModel\"],\n"
    " \"vae\": [\"diffusers\", \"AutoencoderKL\"]}\n";

static gboolean write_text(const char *dir, const char *part, const char *name, const char *text, GError **error)
{
    g_autofree char *d = g_build_filename(dir, part, NULL);
    g_autofree char *p = g_build_filename(d, name, NULL);
    g_mkdir_with_parents(d, 0755);
    return g_file_set_contents(p, text, -1, error);
}

static gboolean write_folder(const char *dir, GArray *rows, GError **error)
{
    const char *parts[3] = {"unet", "vae", "text_encoder"};
    const char *configs[3] = {unet_config, vae_config, text_config};
    if (!write_text(dir, "", "model_index.json", model_index, error))
        return FALSE;
    for (int p = 0; p < 3; p++) {
        g_autofree char *file = g_build_filename(dir, parts[p], p == 2 ? "model.safetensors"
                                                                       : "diffusion_pytorch_model.safetensors", NULL);
        if (!write_text(dir, parts[p], "config.json", configs[p], error) ||
            !write_checkpoint(file, rows, parts[p], FALSE, error))
            return FALSE;
    }
    return TRUE;
}

/* ---- running a layout ------------------------------------------------------------- */

#define N_FEATURES 12

typedef struct {
    rg_tensor *sample, *timestep, *ehs, *cot_eps, *image, *latent, *ids;
} inputs;

typedef struct {
    rg_tensor *eps, *features[N_FEATURES], *grad, *mean, *logvar, *image, *hidden;
} results;

static void results_clear(results *r)
{
    rg_tensor **all[] = {&r->eps, &r->grad, &r->mean, &r->logvar, &r->image, &r->hidden};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        g_clear_pointer(all[i], rg_tensor_unref);
    for (int k = 0; k < N_FEATURES; k++)
        g_clear_pointer(&r->features[k], rg_tensor_unref);
}

static void inputs_init(inputs *in)
{
    GError *error = NULL;
    in->sample = rg_test_random(1, 4, (int64_t[]){1, 4, 8, 8}, -1.5f, 1.5f);
    in->timestep = rg_tensor_new_full(1, (int64_t[]){1}, 500.0f, &error);
    in->ehs = rg_test_random(2, 3, (int64_t[]){1, 77, 768}, -1, 1);
    in->cot_eps = rg_test_random(3, 4, (int64_t[]){1, 4, 8, 8}, -1, 1);
    in->image = rg_test_random(4, 4, (int64_t[]){1, 3, 64, 64}, -1, 1);
    in->latent = rg_test_random(5, 4, (int64_t[]){1, 4, 8, 8}, -2, 2);
    in->ids = rg_tensor_new(RG_DTYPE_I64, 2, (int64_t[]){1, 77}, &error);
    rg_assert_no_error(error);
    /* "a photo of an astronaut riding a horse" in CLIP ids, then EOS padding */
    const int64_t prompt[] = {49406, 320, 1125, 539, 550, 18376, 6765, 320, 4558, 49407};
    for (int i = 0; i < 77; i++)
        rg_tensor_data_i64(in->ids)[i] = i < (int)G_N_ELEMENTS(prompt) ? prompt[i] : 49407;
}

static void inputs_clear(inputs *in)
{
    rg_tensor **all[] = {&in->sample, &in->timestep, &in->ehs, &in->cot_eps, &in->image, &in->latent, &in->ids};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        g_clear_pointer(all[i], rg_tensor_unref);
}

/* Finite, not all zero, of the given shape. */
static void check_output(const char *layout, const char *name, rg_tensor *t, int ndim, const int64_t *shape)
{
    gboolean good = rg_tensor_ndim(t) == ndim;
    for (int d = 0; good && d < ndim; d++)
        good = rg_tensor_shape(t)[d] == shape[d];
    int64_t nonfinite = 0;
    double max_abs = 0;
    for (int64_t i = 0; i < rg_tensor_numel(t); i++) {
        double v = rg_tensor_get_flat(t, i);
        if (!isfinite(v))
            nonfinite++;
        else
            max_abs = MAX(max_abs, fabs(v));
    }
    g_autofree char *s = rg_tensor_shape_string(t);
    g_autofree char *label = g_strdup_printf("%s: %s %s finite (%" G_GINT64_FORMAT " not), max |x| %.3g", layout,
                                             name, s, (gint64)nonfinite, max_abs);
    report(good && nonfinite == 0 && max_abs > 0, label);
}

/* The component's config: its config.json where there is one, else SD1.5's. */
static gboolean unet_from(rg_model *m, rg_unet **u, GError **error)
{
    rg_unet_config c;
    g_autofree char *config = rg_model_config_path(m, "unet");
    if (!config)
        rg_unet_config_init_sd15(&c);
    else if (!rg_unet_config_load(&c, config, error))
        return FALSE;
    g_autoptr(rg_weights) w = rg_model_weights(m, "unet", error);
    return w && (*u = rg_unet_new(&c, w, error));
}

static gboolean vae_from(rg_model *m, rg_vae **v, GError **error)
{
    rg_vae_config c;
    g_autofree char *config = rg_model_config_path(m, "vae");
    if (!config)
        rg_vae_config_init_sd15(&c);
    else if (!rg_vae_config_load(&c, config, error))
        return FALSE;
    g_autoptr(rg_weights) w = rg_model_weights(m, "vae", error);
    return w && (*v = rg_vae_new(&c, w, error));
}

static gboolean clip_from(rg_model *m, rg_clip_text **t, GError **error)
{
    rg_clip_text_config c;
    g_autofree char *config = rg_model_config_path(m, "text_encoder");
    if (!config)
        rg_clip_text_config_init_sd15(&c);
    else if (!rg_clip_text_config_load(&c, config, error))
        return FALSE;
    g_autoptr(rg_weights) w = rg_model_weights(m, "text_encoder", error);
    return w && (*t = rg_clip_text_new(&c, w, error));
}

/* SD1.5's decoder features at an 8x8 latent: 1280 at 1x1, 1280 at 2x2, 640 at 4x4, 320 at 8x8. */
static const int feature_channels[N_FEATURES] = {1280, 1280, 1280, 1280, 1280, 1280, 640, 640, 640, 320, 320, 320};
static const int feature_size[N_FEATURES] = {1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8};

static gboolean run_unet(rg_model *m, rg_ctx *ctx, inputs *in, results *r, const char *layout, GError **error)
{
    double t0 = now_s();
    g_autoptr(rg_unet) u = NULL;
    if (!unet_from(m, &u, error))
        return FALSE;
    double t1 = now_s();
    if (rg_unet_n_features(u) != N_FEATURES) {
        g_set_error(error, RG_ERROR, RG_ERROR_FAILED, "the UNet has %d features, SD1.5 12", rg_unet_n_features(u));
        return FALSE;
    }
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_tensor_set_requires_grad(in->sample, TRUE);
    rg_ctx_set_tape(ctx, tape);
    gboolean good = rg_unet_forward(u, ctx, in->sample, in->timestep, in->ehs, &r->eps, r->features, error);
    rg_ctx_set_tape(ctx, NULL);
    double t2 = now_s();
    rg_tensor *outs[1 + N_FEATURES], *cots[1 + N_FEATURES] = {0};
    if (good) {
        outs[0] = r->eps;
        cots[0] = rg_tensor_ref(in->cot_eps);
        for (int k = 0; k < N_FEATURES; k++) {
            outs[1 + k] = r->features[k];
            cots[1 + k] = rg_test_random(100 + (guint32)k, 4, rg_tensor_shape(r->features[k]), -1, 1);
        }
        good = rg_tape_backward_with(ctx, tape, 1 + N_FEATURES, outs, cots, error);
        for (int k = 0; k <= N_FEATURES; k++)
            rg_tensor_unref(cots[k]);
    }
    if (good && !rg_tensor_get_grad(in->sample)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FAILED, "no gradient reached the sample");
        good = FALSE;
    }
    if (good)
        r->grad = rg_tensor_ref(rg_tensor_get_grad(in->sample));
    rg_tensor_zero_grad(in->sample);
    rg_tensor_set_requires_grad(in->sample, FALSE);
    g_print("  %s: UNet loaded in %.1f s, forward %.1f s, backward %.1f s\n", layout, t1 - t0, t2 - t1,
            now_s() - t2);
    if (!good)
        return FALSE;
    check_output(layout, "eps", r->eps, 4, (int64_t[]){1, 4, 8, 8});
    for (int k = 0; k < N_FEATURES; k++) {
        g_autofree char *name = g_strdup_printf("features.%d", k);
        const int64_t s = feature_size[k];
        check_output(layout, name, r->features[k], 4, (int64_t[]){1, feature_channels[k], s, s});
    }
    check_output(layout, "grad.sample", r->grad, 4, (int64_t[]){1, 4, 8, 8});
    return TRUE;
}

static gboolean run_vae_clip(rg_model *m, rg_ctx *ctx, inputs *in, results *r, const char *layout, GError **error)
{
    double t0 = now_s();
    {
        g_autoptr(rg_vae) v = NULL;
        if (!vae_from(m, &v, error) || !rg_vae_encode(v, ctx, in->image, &r->mean, &r->logvar, error) ||
            !(r->image = rg_vae_decode(v, ctx, in->latent, error)))
            return FALSE;
    }
    double t1 = now_s();
    {
        g_autoptr(rg_clip_text) t = NULL;
        if (!clip_from(m, &t, error) || !(r->hidden = rg_clip_text_forward(t, ctx, in->ids, error)))
            return FALSE;
    }
    g_print("  %s: VAE load + encode 64x64 + decode 8x8 %.1f s, text encoder load + forward %.1f s\n", layout,
            t1 - t0, now_s() - t1);
    check_output(layout, "vae mean", r->mean, 4, (int64_t[]){1, 4, 8, 8});
    check_output(layout, "vae logvar", r->logvar, 4, (int64_t[]){1, 4, 8, 8});
    check_output(layout, "vae decoded image", r->image, 4, (int64_t[]){1, 3, 64, 64});
    check_output(layout, "last_hidden_state", r->hidden, 3, (int64_t[]){1, 77, 768});
    return TRUE;
}

static gboolean run_layout(const char *path, const char *layout, inputs *in, results *r, GError **error)
{
    g_autoptr(rg_model) m = rg_model_open(path, error);
    if (!m || !rg_model_check(m, error))
        return FALSE;
    g_autofree char *label = g_strdup_printf("%s: opens as %s, \"%s\"", layout, rg_model_layout_name(m),
                                             rg_model_type_name(m));
    report(!strcmp(rg_model_type_name(m), "Stable Diffusion 1.x"), label);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, error);
    return ctx && run_unet(m, ctx, in, r, layout, error) && run_vae_clip(m, ctx, in, r, layout, error);
}

static void compare(results *a, results *b)
{
    rg_tensor *ta[] = {a->eps, a->grad, a->mean, a->logvar, a->image, a->hidden};
    rg_tensor *tb[] = {b->eps, b->grad, b->mean, b->logvar, b->image, b->hidden};
    const char *names[] = {"eps", "grad.sample", "vae mean", "vae logvar", "vae decoded image", "last_hidden_state"};
    for (size_t i = 0; i < G_N_ELEMENTS(ta); i++) {
        g_autofree char *l = g_strdup_printf("single file = diffusers folder: %s", names[i]);
        ok &= rg_check_tensor(l, ta[i], tb[i], 0, 0);
    }
    for (int k = 0; k < N_FEATURES; k++) {
        g_autofree char *l = g_strdup_printf("single file = diffusers folder: features.%d", k);
        ok &= rg_check_tensor(l, a->features[k], b->features[k], 0, 0);
    }
}

/* ---- main -------------------------------------------------------------------------- */

static void rmtree(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
        g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
        for (const char *n; d && (n = g_dir_read_name(d));) {
            g_autofree char *p = g_build_filename(path, n, NULL);
            rmtree(p);
        }
    }
    g_remove(path);
}

/* MemAvailable of /proc/meminfo in bytes, or -1. */
static double mem_available(void)
{
    g_autofree char *info = NULL;
    if (!g_file_get_contents("/proc/meminfo", &info, NULL, NULL))
        return -1;
    const char *p = strstr(info, "MemAvailable:");
    return p ? g_ascii_strtod(p + strlen("MemAvailable:"), NULL) * 1024.0 : -1;
}

int main(void)
{
    const double start = now_s();
    g_autofree char *text = NULL;
    if (!g_file_get_contents(RG_SD15_TENSORS_TSV, &text, NULL, NULL)) {
        g_print("SKIP %s is absent\n", RG_SD15_TENSORS_TSV);
        return 77;
    }
    GArray *rows = read_tsv(text);
    guint64 bytes = 0;
    int64_t params[3] = {0};
    for (guint i = 0; i < rows->len; i++) {
        const row *r = &g_array_index(rows, row, i);
        bytes += 2 * (guint64)r->numel;
        params[!strcmp(r->part, "unet") ? 0 : !strcmp(r->part, "vae") ? 1 : 2] += r->numel;
    }
    g_print("%u tensors: UNet %.1fM, VAE %.1fM, text encoder %.1fM parameters; %.2f GB per layout in F16\n",
            rows->len, params[0] / 1e6, params[1] / 1e6, params[2] / 1e6, bytes / 1e9);
    report(rows->len == 1130 && params[0] == 859520964, "the TSV lists SD1.5 (1130 tensors, 859,520,964 UNet parameters)");

    /* one layout on disk at a time, plus headers and a margin */
    const char *tmpdir = g_get_tmp_dir();
    struct statvfs fs;
    const double need = (double)bytes + 256e6;
    if (statvfs(tmpdir, &fs) == 0 && (double)fs.f_bavail * (double)fs.f_frsize < need) {
        g_print("SKIP %s has %.2f GB free; this test writes %.2f GB\n", tmpdir,
                (double)fs.f_bavail * (double)fs.f_frsize / 1e9, need / 1e9);
        rows_free(rows);
        return 77;
    }
    /* the F32 UNet (3.4 GB) and the pages of its F16 file being read */
    const double mem = mem_available(), mem_need = 6.0e9;
    if (mem > 0 && mem < mem_need) {
        g_print("SKIP %.1f GB of memory available; this test needs %.1f GB\n", mem / 1e9, mem_need / 1e9);
        rows_free(rows);
        return 77;
    }

    g_autofree char *dir = g_dir_make_tmp("rg-wiring-XXXXXX", NULL);
    g_assert_nonnull(dir);
    g_autofree char *single = g_build_filename(dir, "v1-5-wiring.safetensors", NULL);
    g_autofree char *folder = g_build_filename(dir, "v1-5-wiring", NULL);
    inputs in = {0};
    inputs_init(&in);
    results ra = {0}, rb = {0};
    GError *error = NULL;

    double t = now_s();
    gboolean good = write_checkpoint(single, rows, NULL, TRUE, &error);
    g_print("  single file written in %.1f s\n", now_s() - t);
    good = good && run_layout(single, "single file", &in, &ra, &error);
    g_remove(single);
    if (good) {
        t = now_s();
        good = write_folder(folder, rows, &error);
        g_print("  diffusers folder written in %.1f s\n", now_s() - t);
        good = good && run_layout(folder, "diffusers folder", &in, &rb, &error);
    }
    rmtree(dir);
    if (!good) {
        g_print("NOT OK %s\n", error->message);
        g_error_free(error);
        ok = FALSE;
    } else {
        compare(&ra, &rb);
    }
    results_clear(&ra);
    results_clear(&rb);
    inputs_clear(&in);
    rows_free(rows);
    size_t peak_tensors;
    rg_memory_stats(NULL, &peak_tensors);
    g_print("run time %.1f s, peak RSS %.2f GiB, peak tensor memory %.2f GB\n", now_s() - start, peak_rss_gib(),
            peak_tensors / 1e9);
    g_print("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
