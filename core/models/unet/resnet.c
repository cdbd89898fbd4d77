/* resnet.c — the UNet's ResnetBlock2D (diffusers models/resnet.py, with
 * temb, time_embedding_norm "default", output_scale_factor 1) and its
 * Downsample2D / Upsample2D (use_conv, padding 1), as checkpointable
 * segments; also the parameter and segment helpers shared by the blocks. */
#include <string.h>

#include "models/unet/unet_internal.h"

rg_tensor *unet_param(unet_source *src, const char *prefix, const char *suffix, int ndim, const int64_t *shape,
                      GError **error)
{
    g_autofree char *name = g_strdup_printf("%s.%s", prefix, suffix);
    return src->fn(name, ndim, shape, src->data, error);
}

gboolean unet_segment(rg_ctx *ctx, gboolean checkpoint, rg_segment_fn fn, gpointer user_data,
                      rg_tensor *const *inputs, int n_inputs, rg_tensor **outputs, int n_outputs, GError **error)
{
    if (checkpoint && rg_ctx_get_tape(ctx))
        return rg_checkpoint(ctx, fn, user_data, inputs, n_inputs, outputs, n_outputs, error);
    for (int i = 0; i < n_outputs; i++)
        outputs[i] = NULL;
    if (fn(ctx, inputs, n_inputs, outputs, n_outputs, user_data, error))
        return TRUE;
    for (int i = 0; i < n_outputs; i++)
        g_clear_pointer(&outputs[i], rg_tensor_unref);
    return FALSE;
}

/* ---- ResnetBlock2D ------------------------------------------------------- */

gboolean unet_resnet_init(unet_resnet *r, unet_source *src, const char *prefix, int in_channels, int out_channels,
                          int temb_channels, int groups, float eps, GError **error)
{
    memset(r, 0, sizeof *r);
    r->in_channels = in_channels;
    r->out_channels = out_channels;
    r->groups = groups;
    r->eps = eps;
    const int64_t ci = in_channels, co = out_channels;
    const int64_t s_ci[1] = {ci}, s_co[1] = {co};
    const int64_t s_conv1[4] = {co, ci, 3, 3}, s_conv2[4] = {co, co, 3, 3}, s_short[4] = {co, ci, 1, 1};
    const int64_t s_temb[2] = {co, temb_channels};
    /* in diffusers' construction (and state_dict) order */
    if (!(r->norm1_w = unet_param(src, prefix, "norm1.weight", 1, s_ci, error)) ||
        !(r->norm1_b = unet_param(src, prefix, "norm1.bias", 1, s_ci, error)) ||
        !(r->conv1_w = unet_param(src, prefix, "conv1.weight", 4, s_conv1, error)) ||
        !(r->conv1_b = unet_param(src, prefix, "conv1.bias", 1, s_co, error)) ||
        !(r->temb_w = unet_param(src, prefix, "time_emb_proj.weight", 2, s_temb, error)) ||
        !(r->temb_b = unet_param(src, prefix, "time_emb_proj.bias", 1, s_co, error)) ||
        !(r->norm2_w = unet_param(src, prefix, "norm2.weight", 1, s_co, error)) ||
        !(r->norm2_b = unet_param(src, prefix, "norm2.bias", 1, s_co, error)) ||
        !(r->conv2_w = unet_param(src, prefix, "conv2.weight", 4, s_conv2, error)) ||
        !(r->conv2_b = unet_param(src, prefix, "conv2.bias", 1, s_co, error)))
        return FALSE;
    if (in_channels != out_channels &&
        (!(r->short_w = unet_param(src, prefix, "conv_shortcut.weight", 4, s_short, error)) ||
         !(r->short_b = unet_param(src, prefix, "conv_shortcut.bias", 1, s_co, error))))
        return FALSE;
    return TRUE;
}

void unet_resnet_clear(unet_resnet *r)
{
    rg_tensor **all[] = {&r->norm1_w, &r->norm1_b, &r->conv1_w, &r->conv1_b, &r->temb_w,  &r->temb_b,
                         &r->norm2_w, &r->norm2_b, &r->conv2_w, &r->conv2_b, &r->short_w, &r->short_b};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        g_clear_pointer(all[i], rg_tensor_unref);
}

/* in: x (B, Cx, H, W), temb_act (B|1, Temb), skip (B, Cs, H, W) or NULL.
 * out[0]: the block output (B, Cout, H, W); out[1] when n_out == 2: the conv2 output f. */
static gboolean resnet_fn(rg_ctx *ctx, rg_tensor *const *in, int n_in, rg_tensor **out, int n_out,
                          gpointer user_data, GError **error)
{
    (void)n_in;
    unet_resnet *r = user_data;
    rg_tensor *x = in[0], *temb_act = in[1], *skip = in[2];
    g_autoptr(rg_tensor) xc = NULL; // (B, Cin, H, W), Cin = Cx + Cs
    if (skip) {
        rg_tensor *parts[2] = {x, skip}; // torch.cat([h, skip], dim=1)
        xc = rg_concat(ctx, parts, 2, 1, error);
    } else {
        xc = rg_tensor_ref(x);
    }
    if (!xc)
        return FALSE;
    int64_t e_shape[4] = {rg_tensor_shape(temb_act)[0], r->out_channels, 1, 1};
    // h = conv1(silu(norm1(x)))
    g_autoptr(rg_tensor) n1 = rg_group_norm(ctx, xc, r->groups, r->norm1_w, r->norm1_b, r->eps, error);
    g_autoptr(rg_tensor) a1 = n1 ? rg_silu(ctx, n1, error) : NULL;
    g_autoptr(rg_tensor) h1 = a1 ? rg_conv2d(ctx, a1, r->conv1_w, r->conv1_b, 1, 1, error) : NULL;
    // h = h + time_emb_proj(silu(temb))[:, :, None, None]
    g_autoptr(rg_tensor) e = h1 ? rg_linear(ctx, temb_act, r->temb_w, r->temb_b, error) : NULL;
    g_autoptr(rg_tensor) e4 = e ? rg_reshape(ctx, e, 4, e_shape, error) : NULL;
    g_autoptr(rg_tensor) h2 = e4 ? rg_add(ctx, h1, e4, error) : NULL;
    g_clear_pointer(&n1, rg_tensor_unref);
    g_clear_pointer(&a1, rg_tensor_unref);
    g_clear_pointer(&h1, rg_tensor_unref);
    // f = conv2(dropout(silu(norm2(h))))  (dropout is the identity at inference)
    g_autoptr(rg_tensor) n2 = h2 ? rg_group_norm(ctx, h2, r->groups, r->norm2_w, r->norm2_b, r->eps, error) : NULL;
    g_autoptr(rg_tensor) a2 = n2 ? rg_silu(ctx, n2, error) : NULL;
    g_clear_pointer(&h2, rg_tensor_unref);
    g_clear_pointer(&n2, rg_tensor_unref);
    g_autoptr(rg_tensor) f = a2 ? rg_conv2d(ctx, a2, r->conv2_w, r->conv2_b, 1, 1, error) : NULL;
    g_clear_pointer(&a2, rg_tensor_unref);
    if (!f)
        return FALSE;
    // out = conv_shortcut(x) + f
    g_autoptr(rg_tensor) sc = r->short_w ? rg_conv2d(ctx, xc, r->short_w, r->short_b, 1, 0, error) : rg_tensor_ref(xc);
    if (!sc || !(out[0] = rg_add(ctx, sc, f, error)))
        return FALSE;
    if (n_out == 2)
        out[1] = g_steal_pointer(&f);
    return TRUE;
}

gboolean unet_resnet_forward(rg_ctx *ctx, unet_resnet *r, gboolean checkpoint, rg_tensor *x, rg_tensor *skip,
                             rg_tensor *temb_act, rg_tensor **out, rg_tensor **feature, GError **error)
{
    rg_tensor *in[3] = {x, temb_act, skip};
    rg_tensor *outs[2] = {NULL, NULL};
    if (!unet_segment(ctx, checkpoint, resnet_fn, r, in, 3, outs, feature ? 2 : 1, error))
        return FALSE;
    *out = outs[0];
    if (feature)
        *feature = outs[1];
    return TRUE;
}

/* ---- Downsample2D / Upsample2D ------------------------------------------- */

gboolean unet_sampler_init(unet_sampler *s, unet_source *src, const char *prefix, int channels, GError **error)
{
    const int64_t s_w[4] = {channels, channels, 3, 3}, s_b[1] = {channels};
    memset(s, 0, sizeof *s);
    return (s->conv_w = unet_param(src, prefix, "conv.weight", 4, s_w, error)) &&
           (s->conv_b = unet_param(src, prefix, "conv.bias", 1, s_b, error));
}

void unet_sampler_clear(unet_sampler *s)
{
    g_clear_pointer(&s->conv_w, rg_tensor_unref);
    g_clear_pointer(&s->conv_b, rg_tensor_unref);
}

/* x (B, C, H, W) -> (B, C, ceil(H/2), ceil(W/2)) */
rg_tensor *unet_downsample(rg_ctx *ctx, unet_sampler *s, rg_tensor *x, GError **error)
{
    return rg_conv2d(ctx, x, s->conv_w, s->conv_b, 2, 1, error);
}

/* in: x (B, C, H, W); out[0]: conv(nearest2x(x)) (B, C, 2H, 2W) */
static gboolean upsample_fn(rg_ctx *ctx, rg_tensor *const *in, int n_in, rg_tensor **out, int n_out,
                            gpointer user_data, GError **error)
{
    (void)n_in;
    (void)n_out;
    unet_sampler *s = user_data;
    g_autoptr(rg_tensor) up = rg_upsample_nearest2x(ctx, in[0], error);
    out[0] = up ? rg_conv2d(ctx, up, s->conv_w, s->conv_b, 1, 1, error) : NULL;
    return out[0] != NULL;
}

rg_tensor *unet_upsample(rg_ctx *ctx, unet_sampler *s, gboolean checkpoint, rg_tensor *x, GError **error)
{
    rg_tensor *out = NULL;
    /* checkpointed, the 4x larger upsampled input is not kept for backward */
    return unet_segment(ctx, checkpoint, upsample_fn, s, &x, 1, &out, 1, error) ? out : NULL;
}
