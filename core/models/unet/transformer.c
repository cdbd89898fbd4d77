/* transformer.c — the UNet's Transformer2DModel (diffusers
 * models/transformers/transformer_2d.py, continuous input) and its
 * BasicTransformerBlocks (models/attention.py: self-attention,
 * cross-attention, GEGLU feed-forward, pre-LayerNorm, residuals).
 *
 * Each BasicTransformerBlock is one checkpointable segment. The first also
 * does the GroupNorm (eps 1e-6) and proj_in, the last proj_out and the
 * residual add, so a depth-1 transformer (SD1.5) is a single segment whose
 * only saved inputs are the image and the context. proj_in/proj_out run on
 * tokens as linears also when they are 1x1 convs (the same matrix); the
 * weights may have either shape whatever use_linear_projection says.
 */
#include <string.h>

#include "models/unet/unet_internal.h"

#define TRANSFORMER_GN_EPS 1e-6f /* Transformer2DModel.norm */
#define TRANSFORMER_LN_EPS 1e-5f /* BasicTransformerBlock norm1..3 */

static gboolean tblock_init(unet_tblock *b, unet_source *src, const char *prefix, int c, int cross_dim,
                            GError **error)
{
    const int64_t s_c[1] = {c}, s_cc[2] = {c, c}, s_cx[2] = {c, cross_dim};
    const int64_t s_ff1[2] = {8 * (int64_t)c, c}, s_ff1b[1] = {8 * (int64_t)c}, s_ff2[2] = {c, 4 * (int64_t)c};
    return (b->norm1_w = unet_param(src, prefix, "norm1.weight", 1, s_c, error)) &&
           (b->norm1_b = unet_param(src, prefix, "norm1.bias", 1, s_c, error)) &&
           (b->attn1_q = unet_param(src, prefix, "attn1.to_q.weight", 2, s_cc, error)) &&
           (b->attn1_k = unet_param(src, prefix, "attn1.to_k.weight", 2, s_cc, error)) &&
           (b->attn1_v = unet_param(src, prefix, "attn1.to_v.weight", 2, s_cc, error)) &&
           (b->attn1_out_w = unet_param(src, prefix, "attn1.to_out.0.weight", 2, s_cc, error)) &&
           (b->attn1_out_b = unet_param(src, prefix, "attn1.to_out.0.bias", 1, s_c, error)) &&
           (b->norm2_w = unet_param(src, prefix, "norm2.weight", 1, s_c, error)) &&
           (b->norm2_b = unet_param(src, prefix, "norm2.bias", 1, s_c, error)) &&
           (b->attn2_q = unet_param(src, prefix, "attn2.to_q.weight", 2, s_cc, error)) &&
           (b->attn2_k = unet_param(src, prefix, "attn2.to_k.weight", 2, s_cx, error)) &&
           (b->attn2_v = unet_param(src, prefix, "attn2.to_v.weight", 2, s_cx, error)) &&
           (b->attn2_out_w = unet_param(src, prefix, "attn2.to_out.0.weight", 2, s_cc, error)) &&
           (b->attn2_out_b = unet_param(src, prefix, "attn2.to_out.0.bias", 1, s_c, error)) &&
           (b->norm3_w = unet_param(src, prefix, "norm3.weight", 1, s_c, error)) &&
           (b->norm3_b = unet_param(src, prefix, "norm3.bias", 1, s_c, error)) &&
           (b->ff1_w = unet_param(src, prefix, "ff.net.0.proj.weight", 2, s_ff1, error)) &&
           (b->ff1_b = unet_param(src, prefix, "ff.net.0.proj.bias", 1, s_ff1b, error)) &&
           (b->ff2_w = unet_param(src, prefix, "ff.net.2.weight", 2, s_ff2, error)) &&
           (b->ff2_b = unet_param(src, prefix, "ff.net.2.bias", 1, s_c, error));
}

static void tblock_clear(unet_tblock *b)
{
    rg_tensor **all[] = {&b->norm1_w, &b->norm1_b, &b->attn1_q,     &b->attn1_k,     &b->attn1_v,
                         &b->attn1_out_w, &b->attn1_out_b, &b->norm2_w, &b->norm2_b, &b->attn2_q,
                         &b->attn2_k, &b->attn2_v, &b->attn2_out_w, &b->attn2_out_b, &b->norm3_w,
                         &b->norm3_b, &b->ff1_w, &b->ff1_b, &b->ff2_w, &b->ff2_b};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        g_clear_pointer(all[i], rg_tensor_unref);
}

gboolean unet_transformer_init(unet_transformer *t, unet_source *src, const char *prefix, int channels, int heads,
                               int depth, int cross_dim, int groups, gboolean linear, GError **error)
{
    memset(t, 0, sizeof *t);
    t->channels = channels;
    t->heads = heads;
    t->depth = depth;
    t->groups = groups;
    t->linear = linear;
    t->blocks = g_new0(unet_tblock, depth);
    const int64_t c = channels, s_c[1] = {c}, s_lin[2] = {c, c}, s_conv[4] = {c, c, 1, 1};
    const int64_t *s_proj = linear ? s_lin : s_conv;
    int proj_ndim = linear ? 2 : 4;
    if (!(t->norm_w = unet_param(src, prefix, "norm.weight", 1, s_c, error)) ||
        !(t->norm_b = unet_param(src, prefix, "norm.bias", 1, s_c, error)) ||
        !(t->proj_in_w = unet_param(src, prefix, "proj_in.weight", proj_ndim, s_proj, error)) ||
        !(t->proj_in_b = unet_param(src, prefix, "proj_in.bias", 1, s_c, error)))
        return FALSE;
    for (int i = 0; i < depth; i++) {
        g_autofree char *bp = g_strdup_printf("%s.transformer_blocks.%d", prefix, i);
        t->blocks[i].parent = t;
        t->blocks[i].index = i;
        if (!tblock_init(&t->blocks[i], src, bp, channels, cross_dim, error))
            return FALSE;
    }
    return (t->proj_out_w = unet_param(src, prefix, "proj_out.weight", proj_ndim, s_proj, error)) &&
           (t->proj_out_b = unet_param(src, prefix, "proj_out.bias", 1, s_c, error));
}

void unet_transformer_clear(unet_transformer *t)
{
    for (int i = 0; t->blocks && i < t->depth; i++)
        tblock_clear(&t->blocks[i]);
    g_clear_pointer(&t->blocks, g_free);
    rg_tensor **all[] = {&t->norm_w, &t->norm_b, &t->proj_in_w, &t->proj_in_b, &t->proj_out_w, &t->proj_out_b};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        g_clear_pointer(all[i], rg_tensor_unref);
}

/* tokens (B, T, C) x proj (C, C[, 1, 1]) + b -> (B, T, C); a 1x1 conv on the
 * image is this linear on its tokens (whichever shape was stored). */
static rg_tensor *proj(rg_ctx *ctx, unet_transformer *t, rg_tensor *tokens, rg_tensor *w, rg_tensor *b,
                       GError **error)
{
    if (rg_tensor_ndim(w) == 2)
        return rg_linear(ctx, tokens, w, b, error);
    const int64_t s2[2] = {t->channels, t->channels};
    g_autoptr(rg_tensor) w2 = rg_reshape(ctx, w, 2, s2, error);
    return w2 ? rg_linear(ctx, tokens, w2, b, error) : NULL;
}

/* Attention(x, context): to_out.0(attention(to_q(x), to_k(c), to_v(c))).
 * x (B, T, C), c (B, S, Dc) -> (B, T, C). */
static rg_tensor *attention(rg_ctx *ctx, int heads, rg_tensor *x, rg_tensor *c, rg_tensor *wq, rg_tensor *wk,
                            rg_tensor *wv, rg_tensor *wo, rg_tensor *bo, GError **error)
{
    g_autoptr(rg_tensor) q = rg_linear(ctx, x, wq, NULL, error); // (B, T, C)
    g_autoptr(rg_tensor) k = q ? rg_linear(ctx, c, wk, NULL, error) : NULL; // (B, S, C)
    g_autoptr(rg_tensor) v = k ? rg_linear(ctx, c, wv, NULL, error) : NULL; // (B, S, C)
    g_autoptr(rg_tensor) a = v ? rg_attention(ctx, q, k, v, heads, 0.0f, error) : NULL; // (B, T, C)
    return a ? rg_linear(ctx, a, wo, bo, error) : NULL;
}

/* x + f(x), consuming the reference to @fx; NULL stays NULL. */
static rg_tensor *residual(rg_ctx *ctx, rg_tensor *x, rg_tensor *fx, GError **error)
{
    if (!fx)
        return NULL;
    rg_tensor *y = rg_add(ctx, x, fx, error);
    rg_tensor_unref(fx);
    return y;
}

/* BasicTransformerBlock on tokens (B, T, C) with context (B, S, Dc). */
static rg_tensor *tblock_forward(rg_ctx *ctx, unet_tblock *b, rg_tensor *x, rg_tensor *context, GError **error)
{
    int heads = b->parent->heads;
    // x = attn1(norm1(x)) + x
    g_autoptr(rg_tensor) n1 = rg_layer_norm(ctx, x, b->norm1_w, b->norm1_b, TRANSFORMER_LN_EPS, error);
    g_autoptr(rg_tensor) x1 =
        n1 ? residual(ctx, x,
                      attention(ctx, heads, n1, n1, b->attn1_q, b->attn1_k, b->attn1_v, b->attn1_out_w, b->attn1_out_b,
                                error),
                      error)
           : NULL;
    g_clear_pointer(&n1, rg_tensor_unref);
    // x = attn2(norm2(x), encoder_hidden_states) + x
    g_autoptr(rg_tensor) n2 = x1 ? rg_layer_norm(ctx, x1, b->norm2_w, b->norm2_b, TRANSFORMER_LN_EPS, error) : NULL;
    g_autoptr(rg_tensor) x2 =
        n2 ? residual(ctx, x1,
                      attention(ctx, heads, n2, context, b->attn2_q, b->attn2_k, b->attn2_v, b->attn2_out_w,
                                b->attn2_out_b, error),
                      error)
           : NULL;
    g_clear_pointer(&n2, rg_tensor_unref);
    g_clear_pointer(&x1, rg_tensor_unref);
    // x = ff(norm3(x)) + x, ff = net.2(geglu(net.0.proj(.)))
    g_autoptr(rg_tensor) n3 = x2 ? rg_layer_norm(ctx, x2, b->norm3_w, b->norm3_b, TRANSFORMER_LN_EPS, error) : NULL;
    g_autoptr(rg_tensor) p = n3 ? rg_linear(ctx, n3, b->ff1_w, b->ff1_b, error) : NULL; // (B, T, 8C)
    g_clear_pointer(&n3, rg_tensor_unref);
    g_autoptr(rg_tensor) g = p ? rg_geglu(ctx, p, error) : NULL; // (B, T, 4C)
    g_clear_pointer(&p, rg_tensor_unref);
    return g ? residual(ctx, x2, rg_linear(ctx, g, b->ff2_w, b->ff2_b, error), error) : NULL;
}

/* Segment of block i.
 * in[0]: the image (B, C, H, W) when i == 0, else tokens (B, HW, C);
 * in[1]: context (B, S, Dc); in[2]: the image for the residual when i is the
 * last block and not the first, else NULL.
 * out[0]: tokens (B, HW, C), or the transformer's output image (B, C, H, W)
 * after the last block. */
static gboolean tblock_fn(rg_ctx *ctx, rg_tensor *const *in, int n_in, rg_tensor **out, int n_out,
                          gpointer user_data, GError **error)
{
    (void)n_in;
    (void)n_out;
    unet_tblock *b = user_data;
    unet_transformer *t = b->parent;
    gboolean first = b->index == 0, last = b->index == t->depth - 1;
    rg_tensor *image = first ? in[0] : in[2]; // (B, C, H, W), the residual (read only when last)
    g_autoptr(rg_tensor) tokens = NULL;       // (B, HW, C)
    if (first) {
        // tokens = proj_in(norm(x).permute(0, 2, 3, 1).reshape(B, H * W, C))
        const int64_t *s = rg_tensor_shape(image);
        const int perm[4] = {0, 2, 3, 1};
        const int64_t s_tok[3] = {s[0], s[2] * s[3], s[1]};
        g_autoptr(rg_tensor) n = rg_group_norm(ctx, image, t->groups, t->norm_w, t->norm_b, TRANSFORMER_GN_EPS, error);
        g_autoptr(rg_tensor) nhwc = n ? rg_permute(ctx, n, perm, error) : NULL;
        g_clear_pointer(&n, rg_tensor_unref);
        g_autoptr(rg_tensor) flat = nhwc ? rg_reshape(ctx, nhwc, 3, s_tok, error) : NULL;
        tokens = flat ? proj(ctx, t, flat, t->proj_in_w, t->proj_in_b, error) : NULL;
    } else {
        tokens = rg_tensor_ref(in[0]);
    }
    g_autoptr(rg_tensor) y = tokens ? tblock_forward(ctx, b, tokens, in[1], error) : NULL;
    g_clear_pointer(&tokens, rg_tensor_unref);
    if (!y)
        return FALSE;
    if (!last) {
        out[0] = g_steal_pointer(&y);
        return TRUE;
    }
    // out = proj_out(tokens).reshape(B, H, W, C).permute(0, 3, 1, 2) + residual
    const int64_t *s = rg_tensor_shape(image);
    const int perm[4] = {0, 3, 1, 2};
    const int64_t s_nhwc[4] = {s[0], s[2], s[3], s[1]};
    g_autoptr(rg_tensor) po = proj(ctx, t, y, t->proj_out_w, t->proj_out_b, error);
    g_clear_pointer(&y, rg_tensor_unref);
    g_autoptr(rg_tensor) nhwc = po ? rg_reshape(ctx, po, 4, s_nhwc, error) : NULL;
    g_autoptr(rg_tensor) nchw = nhwc ? rg_permute(ctx, nhwc, perm, error) : NULL;
    out[0] = nchw ? rg_add(ctx, nchw, image, error) : NULL;
    return out[0] != NULL;
}

rg_tensor *unet_transformer_forward(rg_ctx *ctx, unet_transformer *t, gboolean checkpoint, rg_tensor *x,
                                    rg_tensor *context, GError **error)
{
    rg_tensor *h = rg_tensor_ref(x);
    for (int i = 0; i < t->depth; i++) {
        gboolean last = i == t->depth - 1;
        rg_tensor *in[3] = {h, context, last && i > 0 ? x : NULL};
        rg_tensor *next = NULL;
        gboolean ok = unet_segment(ctx, checkpoint, tblock_fn, &t->blocks[i], in, 3, &next, 1, error);
        rg_tensor_unref(h);
        if (!ok)
            return NULL;
        h = next;
    }
    return h;
}
