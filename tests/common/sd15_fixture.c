/* sd15_fixture.c — Stable Diffusion 1.5 with generated weights: the tensor
 * list of ../shared/docs/sd15_tensors.tsv written as F16 safetensors, as one
 * LDM single file or a diffusers folder (see sd15_fixture.h). */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "sd15_fixture.h"
#include "tensor/tensor_impl.h"

/* ---- the tensor list ------------------------------------------------------------ */

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

void sd15_rows_free(GArray *rows)
{
    if (!rows)
        return;
    for (guint i = 0; i < rows->len; i++) {
        sd15_row *r = &g_array_index(rows, sd15_row, i);
        g_free(r->part), g_free(r->ldm), g_free(r->diff), g_free(r->key);
    }
    g_array_unref(rows);
}

GArray *sd15_rows_parse(const char *text, GError **error)
{
    GArray *rows = g_array_new(FALSE, TRUE, sizeof(sd15_row));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (int l = 1; lines[0] && lines[l]; l++) { // line 0 is the header
        g_auto(GStrv) f = g_strsplit(lines[l], "\t", -1);
        if (g_strv_length(f) != 5)
            continue;
        const char *slash = strchr(f[3], '/');
        sd15_row r = {0};
        if (!slash || !parse_shape(f[2], &r.ldm_ndim, r.ldm_shape) || !parse_shape(f[4], &r.diff_ndim, r.diff_shape)) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "SD1.5 tensor list, line %d: bad row \"%s\"", l + 1,
                        lines[l]);
            sd15_rows_free(rows);
            return NULL;
        }
        r.part = g_strndup(f[3], (gsize)(slash - f[3]));
        r.ldm = g_strdup(f[1]);
        r.diff = g_strdup(slash + 1);
        r.key = g_strdup(f[3]);
        r.numel = 1;
        for (int d = 0; d < r.diff_ndim; d++)
            r.numel *= r.diff_shape[d];
        g_array_append_val(rows, r);
    }
    return rows;
}

GArray *sd15_rows_read(const char *tsv_path, GError **error)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(tsv_path, &text, NULL, error))
        return NULL;
    return sd15_rows_parse(text, error);
}

guint64 sd15_rows_bytes(GArray *rows, const char *part)
{
    guint64 bytes = 0;
    for (guint i = 0; i < rows->len; i++) {
        const sd15_row *r = &g_array_index(rows, sd15_row, i);
        if (!part || !strcmp(r->part, part))
            bytes += 2 * (guint64)r->numel;
    }
    return bytes;
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
gboolean sd15_write_checkpoint(const char *path, GArray *rows, const char *part, gboolean ldm, GError **error)
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
        const sd15_row *r = &g_array_index(rows, sd15_row, i);
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
        const sd15_row *r = &g_array_index(rows, sd15_row, i);
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

gboolean sd15_write_folder(const char *dir, GArray *rows, GError **error)
{
    const char *parts[3] = {"unet", "vae", "text_encoder"};
    const char *configs[3] = {unet_config, vae_config, text_config};
    if (!write_text(dir, "", "model_index.json", model_index, error))
        return FALSE;
    for (int p = 0; p < 3; p++) {
        g_autofree char *file = g_build_filename(dir, parts[p], p == 2 ? "model.safetensors"
                                                                       : "diffusion_pytorch_model.safetensors", NULL);
        if (!write_text(dir, parts[p], "config.json", configs[p], error) ||
            !sd15_write_checkpoint(file, rows, parts[p], FALSE, error))
            return FALSE;
    }
    return TRUE;
}
