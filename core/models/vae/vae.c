/* vae.c — rg_vae: construction from named weights (or, for
 * rg_vae_required_tensors(), the list of what construction asks for), encode
 * to the posterior's mean and logvar, sampling, and decode. The blocks are in
 * blocks.c. */
#include <math.h>
#include <string.h>

#include "models/vae/vae_impl.h"

/* ---- construction -------------------------------------------------------- */

static void mid_load(vae_loader *l, vae_mid *m, const char *prefix, int c, int groups, gboolean attention)
{
    g_autofree char *r0 = g_strconcat(prefix, "mid_block.resnets.0.", NULL);
    g_autofree char *a0 = g_strconcat(prefix, "mid_block.attentions.0.", NULL);
    g_autofree char *r1 = g_strconcat(prefix, "mid_block.resnets.1.", NULL);
    vae_resnet_load(l, &m->resnet0, r0, c, c, groups);
    m->has_attention = attention;
    if (attention)
        vae_attention_load(l, &m->attention, a0, c, groups);
    vae_resnet_load(l, &m->resnet1, r1, c, c, groups);
}

static void mid_clear(vae_mid *m)
{
    vae_resnet_clear(&m->resnet0);
    vae_attention_clear(&m->attention);
    vae_resnet_clear(&m->resnet1);
}

/* One level: @n ResNets cin -> cout (the first) and cout -> cout, then the
 * sampler (when @sampler) — diffusers' DownEncoderBlock2D / UpDecoderBlock2D. */
static void level_load(vae_loader *l, vae_level *lv, const char *prefix, int n, int cin, int cout, int groups,
                       const char *sampler)
{
    lv->n_resnets = n;
    lv->resnets = g_new0(vae_resnet, n);
    for (int j = 0; j < n; j++) {
        g_autofree char *p = g_strdup_printf("%sresnets.%d.", prefix, j);
        vae_resnet_load(l, &lv->resnets[j], p, j == 0 ? cin : cout, cout, groups);
    }
    if (sampler) {
        g_autofree char *p = g_strdup_printf("%s%s.0.conv.", prefix, sampler);
        vae_conv_load(l, &lv->sampler, p, cout, cout, 3);
    }
}

static void level_clear(vae_level *lv)
{
    for (int j = 0; j < lv->n_resnets; j++)
        vae_resnet_clear(&lv->resnets[j]);
    g_clear_pointer(&lv->resnets, g_free);
    vae_conv_clear(&lv->sampler);
}

/* Asks @l for every tensor, in forward order (that of sd15_tensors.tsv). */
static void build(rg_vae *v, vae_loader *l)
{
    const rg_vae_config *c = &v->config;
    const int n = c->n_levels, g = c->norm_num_groups, top = c->block_out_channels[n - 1];

    vae_conv_load(l, &v->enc_conv_in, "encoder.conv_in.", c->in_channels, c->block_out_channels[0], 3);
    int out_c = c->block_out_channels[0];
    for (int i = 0; i < n; i++) {
        int in_c = out_c;
        out_c = c->block_out_channels[i];
        g_autofree char *p = g_strdup_printf("encoder.down_blocks.%d.", i);
        level_load(l, &v->enc_levels[i], p, c->layers_per_block, in_c, out_c, g, i < n - 1 ? "downsamplers" : NULL);
    }
    mid_load(l, &v->enc_mid, "encoder.", top, g, c->mid_block_add_attention);
    vae_head_load(l, &v->enc_head, "encoder.conv_norm_out.", "encoder.conv_out.", top, 2 * c->latent_channels, g);
    if (c->use_quant_conv)
        vae_conv_load(l, &v->quant_conv, "quant_conv.", 2 * c->latent_channels, 2 * c->latent_channels, 1);

    if (c->use_post_quant_conv)
        vae_conv_load(l, &v->post_quant_conv, "post_quant_conv.", c->latent_channels, c->latent_channels, 1);
    vae_conv_load(l, &v->dec_conv_in, "decoder.conv_in.", c->latent_channels, top, 3);
    mid_load(l, &v->dec_mid, "decoder.", top, g, c->mid_block_add_attention);
    out_c = top;
    for (int i = 0; i < n; i++) {
        int prev = out_c;
        out_c = c->block_out_channels[n - 1 - i];
        g_autofree char *p = g_strdup_printf("decoder.up_blocks.%d.", i);
        level_load(l, &v->dec_levels[i], p, c->layers_per_block + 1, prev, out_c, g, i < n - 1 ? "upsamplers" : NULL);
    }
    vae_head_load(l, &v->dec_head, "decoder.conv_norm_out.", "decoder.conv_out.", c->block_out_channels[0],
                  c->out_channels, g);
}

void rg_vae_free(rg_vae *v)
{
    if (!v)
        return;
    vae_conv_clear(&v->enc_conv_in);
    for (int i = 0; i < RG_VAE_MAX_LEVELS; i++) {
        level_clear(&v->enc_levels[i]);
        level_clear(&v->dec_levels[i]);
    }
    mid_clear(&v->enc_mid);
    vae_head_clear(&v->enc_head);
    vae_conv_clear(&v->quant_conv);
    vae_conv_clear(&v->post_quant_conv);
    vae_conv_clear(&v->dec_conv_in);
    mid_clear(&v->dec_mid);
    vae_head_clear(&v->dec_head);
    g_free(v);
}

rg_vae *rg_vae_new(const rg_vae_config *config, rg_weights *w, GError **error)
{
    g_return_val_if_fail(config != NULL && (w != NULL || config->space_to_depth), NULL);
    if (!rg_vae_config_check(config, "vae", error))
        return NULL;
    rg_vae *v = g_new0(rg_vae, 1);
    v->config = *config;
    if (config->space_to_depth) // nothing to load
        return v;
    vae_loader l = {.w = w};
    build(v, &l);
    if (l.error) {
        g_propagate_error(error, l.error);
        rg_vae_free(v);
        return NULL;
    }
    return v;
}

GPtrArray *rg_vae_required_tensors(const rg_vae_config *config, GError **error)
{
    if (!rg_vae_config_check(config, "vae", error))
        return NULL;
    rg_vae *v = g_new0(rg_vae, 1);
    v->config = *config;
    vae_loader l = {0};
    if (!config->space_to_depth)
        build(v, &l);
    rg_vae_free(v);
    return l.record ? l.record : g_ptr_array_new();
}

const rg_vae_config *rg_vae_get_config(const rg_vae *v)
{
    g_return_val_if_fail(v != NULL, NULL);
    return &v->config;
}

/* ---- shared forward pieces ----------------------------------------------- */

static rg_tensor *then(rg_tensor *old, rg_tensor *next)
{
    rg_tensor_unref(old);
    return next;
}

/* resnet0, attention, resnet1 */
static rg_tensor *mid_forward(rg_ctx *ctx, vae_mid *m, rg_tensor *h, GError **error)
{
    rg_tensor *x = vae_resnet_forward(ctx, &m->resnet0, h, error);
    if (x && m->has_attention)
        x = then(x, vae_attention_forward(ctx, &m->attention, x, error));
    return x ? then(x, vae_resnet_forward(ctx, &m->resnet1, x, error)) : NULL;
}

/* Checks that @x is a 4-D F32 tensor with @channels channels; @what names it. */
static gboolean check_nchw(const char *op, const char *what, rg_tensor *x, int channels, GError **error)
{
    if (!x) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: %s is NULL", op, what);
        return FALSE;
    }
    if (!rg_check_f32(op, what, x, error) || !rg_check_ndim(op, what, x, 4, error))
        return FALSE;
    const int64_t *s = rg_tensor_shape(x);
    if (s[1] != channels || s[0] < 1 || s[2] < 1 || s[3] < 1) {
        g_autofree char *sx = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: %s %s must be (B, %d, H, W) with B, H, W > 0", op, what, sx,
                    channels);
        return FALSE;
    }
    return TRUE;
}

/* x clamped to [lo, hi] as x - relu(x - hi) + relu(lo - x): exact inside the
 * range, gradient 1 inside and 0 outside (torch.clamp). */
static rg_tensor *clamp(rg_ctx *ctx, rg_tensor *x, float lo, float hi, GError **error)
{
    rg_tensor *above = rg_scale(ctx, x, 1.0f, -hi, error); // x - hi
    above = above ? then(above, rg_relu(ctx, above, error)) : NULL;
    rg_tensor *below = above ? rg_scale(ctx, x, -1.0f, lo, error) : NULL; // lo - x
    below = below ? then(below, rg_relu(ctx, below, error)) : NULL;
    rg_tensor *y = below ? rg_sub(ctx, x, above, error) : NULL;
    y = y ? then(y, rg_add(ctx, y, below, error)) : NULL;
    rg_tensor_unref(above);
    rg_tensor_unref(below);
    return y;
}

/* ---- the space-to-depth autoencoder --------------------------------------- */

/* (B, C, H, W) -> (B, C f f, H/f, W/f), channel c*f*f + i*f + j = pixel (f y + i, f x + j) of c. */
static rg_tensor *pixel_unshuffle(rg_ctx *ctx, rg_tensor *x, int64_t f, GError **error)
{
    const int64_t *s = rg_tensor_shape(x), B = s[0], C = s[1], h = s[2] / f, w = s[3] / f;
    const int64_t split[5] = {B * C, h, f, w, f}, out[4] = {B, C * f * f, h, w};
    const int perm[5] = {0, 2, 4, 1, 3}; // (BC, h, i, w, j) -> (BC, i, j, h, w)
    g_autoptr(rg_tensor) a = rg_reshape(ctx, x, 5, split, error);
    g_autoptr(rg_tensor) b = a ? rg_permute(ctx, a, perm, error) : NULL;
    return b ? rg_reshape(ctx, b, 4, out, error) : NULL;
}

/* The inverse of pixel_unshuffle(). */
static rg_tensor *pixel_shuffle(rg_ctx *ctx, rg_tensor *z, int64_t f, GError **error)
{
    const int64_t *s = rg_tensor_shape(z), B = s[0], C = s[1] / (f * f), h = s[2], w = s[3];
    const int64_t split[5] = {B * C, f, f, h, w}, out[4] = {B, C, h * f, w * f};
    const int perm[5] = {0, 3, 1, 4, 2}; // (BC, i, j, h, w) -> (BC, h, i, w, j)
    g_autoptr(rg_tensor) c = rg_contiguous(ctx, z, error);
    g_autoptr(rg_tensor) a = c ? rg_reshape(ctx, c, 5, split, error) : NULL;
    g_autoptr(rg_tensor) b = a ? rg_permute(ctx, a, perm, error) : NULL;
    return b ? rg_reshape(ctx, b, 4, out, error) : NULL;
}

/* ---- encode -------------------------------------------------------------- */

gboolean rg_vae_encode(rg_vae *v, rg_ctx *ctx, rg_tensor *image, rg_tensor **mean, rg_tensor **logvar,
                       GError **error)
{
    g_return_val_if_fail(v != NULL && ctx != NULL && mean != NULL && logvar != NULL, FALSE);
    *mean = *logvar = NULL;
    const rg_vae_config *c = &v->config;
    if (!check_nchw("vae_encode", "image", image, c->in_channels, error))
        return FALSE;
    const int64_t *s = rg_tensor_shape(image); // (B, Cin, H, W)
    int64_t f = (int64_t)1 << (c->n_levels - 1);
    if (s[2] % f != 0 || s[3] % f != 0) {
        g_autofree char *sx = rg_tensor_shape_string(image);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "vae_encode: image %s: H and W must be multiples of %" G_GINT64_FORMAT " (the VAE halves them %d "
                    "times)",
                    sx, f, c->n_levels - 1);
        return FALSE;
    }
    if (c->space_to_depth) {
        if (!(*mean = pixel_unshuffle(ctx, image, f, error)))
            return FALSE;
        if (!(*logvar = rg_tensor_new_full(4, rg_tensor_shape(*mean), -30.0f, error))) {
            g_clear_pointer(mean, rg_tensor_unref);
            return FALSE;
        }
        return TRUE;
    }
    rg_tensor *h = rg_conv2d(ctx, image, v->enc_conv_in.weight, v->enc_conv_in.bias, 1, 1, error);
    for (int i = 0; h && i < c->n_levels; i++) {
        vae_level *lv = &v->enc_levels[i];
        for (int j = 0; h && j < lv->n_resnets; j++)
            h = then(h, vae_resnet_forward(ctx, &lv->resnets[j], h, error));
        if (h && lv->sampler.weight)
            h = then(h, vae_downsample_forward(ctx, &lv->sampler, h, error));
    }
    h = h ? then(h, mid_forward(ctx, &v->enc_mid, h, error)) : NULL;
    h = h ? then(h, vae_head_forward(ctx, &v->enc_head, h, error)) : NULL; // (B, 2L, h, w)
    if (h && v->quant_conv.weight)
        h = then(h, rg_conv2d(ctx, h, v->quant_conv.weight, v->quant_conv.bias, 1, 0, error));
    if (!h)
        return FALSE;
    /* DiagonalGaussianDistribution: mean, logvar = chunk(h, 2, dim=1); logvar clamped */
    g_autoptr(rg_tensor) m = rg_slice(ctx, h, 1, 0, c->latent_channels, error);
    g_autoptr(rg_tensor) lv = m ? rg_slice(ctx, h, 1, c->latent_channels, c->latent_channels, error) : NULL;
    rg_tensor_unref(h);
    *mean = lv ? rg_contiguous(ctx, m, error) : NULL;
    *logvar = *mean ? clamp(ctx, lv, -30.0f, 20.0f, error) : NULL;
    if (!*logvar) {
        g_clear_pointer(mean, rg_tensor_unref);
        return FALSE;
    }
    return TRUE;
}

/* ---- sample -------------------------------------------------------------- */

rg_tensor *rg_vae_sample(rg_ctx *ctx, rg_tensor *mean, rg_tensor *logvar, rg_tensor *noise, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    rg_tensor *args[3] = {mean, logvar, noise};
    static const char *const names[3] = {"mean", "logvar", "noise"};
    for (int i = 0; i < 3; i++) {
        if (!args[i]) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "vae_sample: %s is NULL", names[i]);
            return NULL;
        }
        if (!rg_check_f32("vae_sample", names[i], args[i], error))
            return NULL;
    }
    if (!rg_tensor_same_shape(mean, logvar) || !rg_tensor_same_shape(mean, noise)) {
        g_autofree char *sm = rg_tensor_shape_string(mean);
        g_autofree char *sl = rg_tensor_shape_string(logvar);
        g_autofree char *sn = rg_tensor_shape_string(noise);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "vae_sample: mean %s, logvar %s and noise %s must have the same shape", sm, sl, sn);
        return NULL;
    }
    rg_tensor *h = rg_scale(ctx, logvar, 0.5f, 0.0f, error);   // 0.5 logvar
    h = h ? then(h, rg_exp(ctx, h, error)) : NULL;             // std
    h = h ? then(h, rg_mul(ctx, h, noise, error)) : NULL;      // std * noise
    return h ? then(h, rg_add(ctx, mean, h, error)) : NULL;    // mean + std * noise
}

/* ---- decode -------------------------------------------------------------- */

rg_tensor *rg_vae_decode(rg_vae *v, rg_ctx *ctx, rg_tensor *latent, GError **error)
{
    g_return_val_if_fail(v != NULL && ctx != NULL, NULL);
    const rg_vae_config *c = &v->config;
    if (!check_nchw("vae_decode", "latent", latent, c->latent_channels, error))
        return NULL;
    if (c->space_to_depth)
        return pixel_shuffle(ctx, latent, (int64_t)1 << (c->n_levels - 1), error);
    rg_tensor *h = rg_tensor_ref(latent); // (B, L, h, w)
    if (v->post_quant_conv.weight)
        h = then(h, rg_conv2d(ctx, h, v->post_quant_conv.weight, v->post_quant_conv.bias, 1, 0, error));
    h = h ? then(h, rg_conv2d(ctx, h, v->dec_conv_in.weight, v->dec_conv_in.bias, 1, 1, error)) : NULL;
    h = h ? then(h, mid_forward(ctx, &v->dec_mid, h, error)) : NULL;
    for (int i = 0; h && i < c->n_levels; i++) {
        vae_level *lv = &v->dec_levels[i];
        for (int j = 0; h && j < lv->n_resnets; j++)
            h = then(h, vae_resnet_forward(ctx, &lv->resnets[j], h, error));
        if (h && lv->sampler.weight)
            h = then(h, vae_upsample_forward(ctx, &lv->sampler, h, error));
    }
    return h ? then(h, vae_head_forward(ctx, &v->dec_head, h, error)) : NULL; // (B, Cout, H, W)
}
