/* describe.c — what kind of model an rg_model is, found from the shapes of
 * a few key tensors (conv_in: input channels; attn2.to_k: cross-attention
 * width; add_embedding / label_emb / conditioner.*: SDXL-style added
 * conditioning; OpenCLIP names: SD 2.x), and the report of `readout inspect`.
 *
 * SD 1.x: 4 input channels, cross-attention 768, 320 base channels.
 * SD 2.x: cross-attention 1024 (OpenCLIP ViT-H). SDXL: 2048 and added
 * conditioning. Inpainting: 9 input channels (latent, mask, masked image).
 */
#include <glib/gstdio.h>
#include <string.h>

#include "models/loader/model_impl.h"

/* Dimension @dim of tensor @name of @part when it has @ndim dimensions, else -1. */
static int64_t dim_of(const rg_model *m, rg_part part, const char *name, int ndim, int dim)
{
    const model_tensor *t = rg_loader_find(m, part, name);
    return t && t->known && t->ndim == ndim ? t->shape[dim] : -1;
}

/* The width of the UNet's cross-attention context (attn2.to_k is (C, ctx)), or -1. */
static int64_t cross_attention_dim(const rg_model *m)
{
    const model_part *p = &m->parts[RG_PART_UNET];
    for (guint i = 0; i < p->tensors->len; i++) {
        const model_tensor *t = &g_array_index(p->tensors, model_tensor, i);
        if (t->known && t->ndim == 2 && g_str_has_suffix(t->name, ".attn2.to_k.weight"))
            return t->shape[1];
    }
    return -1;
}

static gboolean unet_has_prefix(const rg_model *m, const char *prefix)
{
    const model_part *p = &m->parts[RG_PART_UNET];
    for (guint i = 0; i < p->tensors->len; i++)
        if (g_str_has_prefix(g_array_index(p->tensors, model_tensor, i).name, prefix))
            return TRUE;
    return FALSE;
}

#define ONLY_SD1 "Readout runs Stable Diffusion 1.x text-to-image models"

void rg_loader_detect_type(rg_model *m)
{
    const gboolean unet = m->parts[RG_PART_UNET].present;
    const int64_t in_ch = dim_of(m, RG_PART_UNET, "conv_in.weight", 4, 1);
    const int64_t base_ch = dim_of(m, RG_PART_UNET, "conv_in.weight", 4, 0);
    const int64_t ctx = cross_attention_dim(m);
    const int64_t text_width = dim_of(m, RG_PART_TEXT_ENCODER, "text_model.final_layer_norm.weight", 1, 0);
    const gboolean added = m->has_label_emb || unet_has_prefix(m, "add_embedding.") ||
                           unet_has_prefix(m, "class_embedding.");
    const char *cls = m->class_name ? m->class_name : "";

    g_autoptr(GString) d = g_string_new(NULL);
    if (in_ch > 0)
        g_string_append_printf(d, "UNet: %" G_GINT64_FORMAT " input channels, %" G_GINT64_FORMAT " base channels",
                               in_ch, base_ch);
    if (ctx > 0)
        g_string_append_printf(d, "%scross-attention width %" G_GINT64_FORMAT, d->len ? ", " : "UNet: ", ctx);
    if (text_width > 0)
        g_string_append_printf(d, "%stext encoder width %" G_GINT64_FORMAT, d->len ? "; " : "", text_width);
    m->type_details = g_strdup(d->str);

    const char *inpaint = in_ch == 9 ? " inpainting" : "";
    if (m->has_conditioner || ctx == 2048 || (added && unet_has_prefix(m, "add_embedding.")) || strstr(cls, "XL")) {
        m->type_name = g_strdup("Stable Diffusion XL");
        m->unsupported = g_strdup(ONLY_SD1 "; SDXL has a different UNet (added size conditioning, 2048-wide "
                                  "cross-attention from two text encoders)");
    } else if (ctx == 1024 || m->has_openclip || text_width == 1024) {
        m->type_name = g_strdup_printf("Stable Diffusion 2.x%s", inpaint);
        m->unsupported = g_strdup(ONLY_SD1 "; SD 2.x conditions on the 1024-wide OpenCLIP ViT-H text encoder "
                                  "(SD 1.x: 768-wide CLIP ViT-L)");
    } else if (added) {
        m->type_name = g_strdup("Stable Diffusion with class conditioning (unCLIP-style)");
        m->unsupported = g_strdup(ONLY_SD1 "; this UNet also takes a class or image embedding");
    } else if (in_ch == 9 || strstr(cls, "Inpaint")) {
        m->type_name = g_strdup("Stable Diffusion 1.x inpainting");
        m->unsupported = g_strdup(ONLY_SD1 "; the inpainting UNet takes 9 input channels (latent, mask, masked "
                                  "image) where Readout feeds 4");
    } else if (m->space_to_depth_channels && in_ch == m->space_to_depth_channels && unet && ctx > 0) {
        m->type_name = g_strdup("Readout demo-style model (space-to-depth autoencoder, Stable Diffusion 1.x UNet "
                                "architecture)");
    } else if (in_ch > 0 && in_ch != 4) {
        m->type_name = g_strdup_printf("Stable Diffusion 1.x-style model with %" G_GINT64_FORMAT " input channels%s",
                                       in_ch, in_ch == 8 ? " (InstructPix2Pix-style)" : "");
        m->unsupported = g_strdup_printf(ONLY_SD1 "; this UNet takes %" G_GINT64_FORMAT " input channels where "
                                         "Readout feeds 4 latent channels", in_ch);
    } else if (unet && ctx == 768 && base_ch == 320) {
        m->type_name = g_strdup("Stable Diffusion 1.x");
    } else if (unet && ctx > 0 && base_ch > 0) {
        m->type_name = g_strdup("Stable Diffusion 1.x architecture, custom configuration");
    } else if (unet) {
        m->type_name = g_strdup("unrecognised UNet (no conv_in.weight (C,4,3,3) or cross-attention weights)");
    } else if (m->vae_file) {
        m->type_name = g_strdup("standalone VAE");
    } else {
        m->type_name = g_strdup("no UNet (components only)");
    }
}

/* 859520964 -> "859,520,964". (transfer full) */
static char *thousands(guint64 v)
{
    g_autofree char *digits = g_strdup_printf("%" G_GUINT64_FORMAT, v);
    GString *s = g_string_new(NULL);
    size_t n = strlen(digits);
    for (size_t i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            g_string_append_c(s, ',');
        g_string_append_c(s, digits[i]);
    }
    return g_string_free(s, FALSE);
}

static guint64 file_bytes(const GPtrArray *files)
{
    guint64 total = 0;
    for (guint i = 0; i < files->len; i++) {
        GStatBuf sb;
        if (g_stat(g_ptr_array_index(files, i), &sb) == 0)
            total += (guint64)sb.st_size;
    }
    return total;
}

/* "4.27 GB", "920 bytes" (g_format_size() puts a no-break space, which the
 * C locale prints as '?'). (transfer full) */
static char *size_string(guint64 bytes)
{
    static const char *const units[] = { "kB", "MB", "GB", "TB" };
    if (bytes < 1000)
        return g_strdup_printf("%" G_GUINT64_FORMAT " bytes", bytes);
    double v = (double)bytes / 1000.0;
    int u = 0;
    while (v >= 1000.0 && u < 3) {
        v /= 1000.0;
        u++;
    }
    return g_strdup_printf("%.*f %s", v < 10 ? 2 : 1, v, units[u]);
}

char *rg_loader_ignored_summary(const rg_model *m)
{
    if (!m->n_ema && !m->n_ignored)
        return NULL;
    GString *s = g_string_new(NULL);
    if (m->n_ema)
        g_string_append_printf(s, "%d EMA cop%s (model_ema.*)", m->n_ema, m->n_ema == 1 ? "y" : "ies");
    if (m->n_ignored)
        g_string_append_printf(s, "%s%d %stensor%s Readout does not use (such as \"%s\")", m->n_ema ? " and " : "",
                               m->n_ignored, m->n_ema ? "other " : "", m->n_ignored == 1 ? "" : "s",
                               m->ignored_example);
    return g_string_free(s, FALSE);
}

static void describe_part(GString *out, const rg_model *m, rg_part part)
{
    const model_part *p = &m->parts[part];
    g_string_append_printf(out, "  %-13s ", rg_part_name(part));
    if (!p->present) {
        g_string_append_printf(out, "absent (%s)\n", p->why_absent);
        return;
    }
    guint64 params = 0;
    int per_dtype[RG_DTYPE_I32 + 1] = { 0 }, unknown = 0, reshaped = 0;
    for (guint i = 0; i < p->tensors->len; i++) {
        const model_tensor *t = &g_array_index(p->tensors, model_tensor, i);
        if (!t->known) {
            unknown++;
            continue;
        }
        guint64 n = 1;
        for (int k = 0; k < t->ndim; k++)
            n *= (guint64)t->shape[k];
        params += n;
        per_dtype[t->dtype]++;
        reshaped += t->reshaped;
    }
    g_autofree char *count = thousands(params);
    g_string_append_printf(out, "%u tensor%s, %s parameters,", p->tensors->len, p->tensors->len == 1 ? "" : "s", count);
    int kinds = 0;
    for (int k = 0; k <= RG_DTYPE_I32; k++)
        kinds += per_dtype[k] > 0;
    for (int k = 0; k <= RG_DTYPE_I32; k++) {
        if (!per_dtype[k])
            continue;
        g_string_append_printf(out, " %s", rg_dtype_name((rg_dtype)k));
        if (kinds > 1 || unknown)
            g_string_append_printf(out, " (%d)", per_dtype[k]);
    }
    if (unknown)
        g_string_append_printf(out, " and %d tensor%s of a dtype Readout does not load", unknown, unknown > 1 ? "s" : "");
    g_string_append_c(out, '\n');
    if (m->layout == LAYOUT_DIFFUSERS) {
        g_autofree char *size = size_string(file_bytes(p->files));
        g_string_append_printf(out, "  %-13s %s (%s)%s\n", "", p->origin, size,
                               p->config ? "" : ", no config.json: SD1.5 defaults");
    }
    if (reshaped)
        g_string_append_printf(out, "  %-13s %d weight%s stored as 1x1 convolution%s (C,C,1,1), read as linear (C,C)\n",
                               "", reshaped, reshaped == 1 ? "" : "s", reshaped == 1 ? "" : "s");
}

char *rg_model_describe(const rg_model *m)
{
    GString *out = g_string_new(NULL);
    g_string_append_printf(out, "%s\n", m->path);
    if (m->layout == LAYOUT_SINGLE) {
        GPtrArray *files = m->parts[m->vae_file ? RG_PART_VAE : RG_PART_UNET].files;
        g_autofree char *size = size_string(file_bytes(files));
        g_string_append_printf(out, "  %-13s single file, %s (%s)\n", "layout:",
                               m->vae_file ? "a VAE on its own" : "original LDM names", size);
    } else {
        g_string_append_printf(out, "  %-13s diffusers folder%s%s%s\n", "layout:", m->class_name ? " (" : "",
                               m->class_name ? m->class_name : "", m->class_name ? ")" : "");
    }
    g_string_append_printf(out, "  %-13s %s%s%s%s\n", "model type:", m->type_name, *m->type_details ? " (" : "",
                           m->type_details, *m->type_details ? ")" : "");
    if (m->unsupported)
        g_string_append_printf(out, "  %-13s NO: %s\n", "supported:", m->unsupported);
    else
        g_string_append_printf(out, "  %-13s yes\n", "supported:");
    g_string_append(out, "components:\n");
    for (int i = 0; i < RG_N_PARTS; i++)
        describe_part(out, m, (rg_part)i);
    if (m->tokenizer_dir)
        g_string_append_printf(out, "  %-13s %s (vocab.json, merges.txt)\n", "tokenizer", m->tokenizer_dir);
    else
        g_string_append_printf(out, "  %-13s absent (%s)\n", "tokenizer", m->tokenizer_why_absent);
    g_autofree char *ignored = rg_loader_ignored_summary(m);
    if (ignored)
        g_string_append_printf(out, "ignored:       %s\n", ignored);
    return g_string_free(out, FALSE);
}
