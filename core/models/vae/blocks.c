/* blocks.c — the VAE's building blocks: weight loading (vae_loader) and the
 * forward passes of the ResNet block, the mid-block attention, the output
 * head (GroupNorm, SiLU, conv), and the down- and upsamplers.
 *
 * ResNets, attentions and heads run as checkpointed segments when their input
 * needs a gradient: the tape then holds only the block's input, and backward
 * recomputes the inside. The samplers keep nothing (their convs have frozen
 * weights, concat and nearest upsampling need no saved tensors).
 */
#include <string.h>

#include "autograd/tape_impl.h"
#include "models/vae/vae_impl.h"

/* ---- loading ------------------------------------------------------------- */

static void spec_free(gpointer p)
{
    rg_vae_tensor_spec *s = p;
    g_free(s->name);
    g_free(s);
}

rg_tensor *vae_load(vae_loader *l, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    const int64_t shape[4] = {d0, d1, d2, d3};
    if (l->error)
        return NULL;
    if (!l->w) {
        if (!l->record)
            l->record = g_ptr_array_new_with_free_func(spec_free);
        rg_vae_tensor_spec *s = g_new0(rg_vae_tensor_spec, 1);
        s->name = g_strdup(name);
        s->ndim = ndim;
        memcpy(s->shape, shape, sizeof shape);
        g_ptr_array_add(l->record, s);
        return NULL;
    }
    rg_tensor *t = rg_weights_load(l->w, name, ndim, shape, &l->error);
    if (!t)
        g_prefix_error(&l->error, "vae: ");
    return t;
}

void vae_conv_load(vae_loader *l, vae_conv *c, const char *prefix, int cin, int cout, int k)
{
    g_autofree char *w = g_strconcat(prefix, "weight", NULL);
    g_autofree char *b = g_strconcat(prefix, "bias", NULL);
    c->weight = vae_load(l, w, 4, cout, cin, k, k);
    c->bias = vae_load(l, b, 1, cout, 0, 0, 0);
}

static void norm_load(vae_loader *l, vae_norm *n, const char *prefix, int c)
{
    g_autofree char *w = g_strconcat(prefix, "weight", NULL);
    g_autofree char *b = g_strconcat(prefix, "bias", NULL);
    n->weight = vae_load(l, w, 1, c, 0, 0, 0);
    n->bias = vae_load(l, b, 1, c, 0, 0, 0);
}

void vae_conv_clear(vae_conv *c)
{
    g_clear_pointer(&c->weight, rg_tensor_unref);
    g_clear_pointer(&c->bias, rg_tensor_unref);
}

static void norm_clear(vae_norm *n)
{
    g_clear_pointer(&n->weight, rg_tensor_unref);
    g_clear_pointer(&n->bias, rg_tensor_unref);
}

void vae_resnet_load(vae_loader *l, vae_resnet *r, const char *prefix, int cin, int cout, int groups)
{
    g_autofree char *n1 = g_strconcat(prefix, "norm1.", NULL);
    g_autofree char *c1 = g_strconcat(prefix, "conv1.", NULL);
    g_autofree char *n2 = g_strconcat(prefix, "norm2.", NULL);
    g_autofree char *c2 = g_strconcat(prefix, "conv2.", NULL);
    g_autofree char *sc = g_strconcat(prefix, "conv_shortcut.", NULL);
    r->groups = groups;
    norm_load(l, &r->norm1, n1, cin);
    vae_conv_load(l, &r->conv1, c1, cin, cout, 3);
    norm_load(l, &r->norm2, n2, cout);
    vae_conv_load(l, &r->conv2, c2, cout, cout, 3);
    if (cin != cout)
        vae_conv_load(l, &r->shortcut, sc, cin, cout, 1);
}

void vae_resnet_clear(vae_resnet *r)
{
    norm_clear(&r->norm1);
    vae_conv_clear(&r->conv1);
    norm_clear(&r->norm2);
    vae_conv_clear(&r->conv2);
    vae_conv_clear(&r->shortcut);
}

/* One of the attention's linears, weight (C, C) and bias (C), under its
 * current name (to_q) or its pre-0.14 diffusers name (query); the weight may
 * also be a 1x1 conv (C, C, 1, 1), as in LDM files. Recorded as the current
 * name with shape (C, C). */
static void attention_linear_load(vae_loader *l, vae_conv *lin, const char *prefix, const char *name,
                                  const char *old_name, int c)
{
    g_autofree char *w = g_strconcat(prefix, name, ".weight", NULL);
    g_autofree char *b = g_strconcat(prefix, name, ".bias", NULL);
    g_autofree char *w_old = g_strconcat(prefix, old_name, ".weight", NULL);
    g_autofree char *b_old = g_strconcat(prefix, old_name, ".bias", NULL);
    gboolean old_w = l->w && !rg_weights_contains(l->w, w) && rg_weights_contains(l->w, w_old);
    gboolean old_b = l->w && !rg_weights_contains(l->w, b) && rg_weights_contains(l->w, b_old);
    const char *wname = old_w ? w_old : w;
    rg_dtype dtype;
    int nd = 0;
    int64_t shape[RG_MAX_DIMS];
    if (l->w && rg_weights_info(l->w, wname, &dtype, &nd, shape) && nd == 4 && shape[0] == c && shape[1] == c &&
        shape[2] == 1 && shape[3] == 1) {
        /* a 1x1 conv weight (C, C, 1, 1): the same matrix */
        rg_tensor *t = vae_load(l, wname, 4, c, c, 1, 1);
        const int64_t shape2[2] = {c, c}, strides2[2] = {c, 1};
        lin->weight = t ? rg_tensor_view(t, 2, shape2, strides2, t->offset) : NULL;
        rg_tensor_unref(t);
    } else {
        lin->weight = vae_load(l, wname, 2, c, c, 0, 0);
    }
    lin->bias = vae_load(l, old_b ? b_old : b, 1, c, 0, 0, 0);
}

void vae_attention_load(vae_loader *l, vae_attention *a, const char *prefix, int c, int groups)
{
    g_autofree char *gn = g_strconcat(prefix, "group_norm.", NULL);
    a->groups = groups;
    norm_load(l, &a->norm, gn, c);
    attention_linear_load(l, &a->q, prefix, "to_q", "query", c);
    attention_linear_load(l, &a->k, prefix, "to_k", "key", c);
    attention_linear_load(l, &a->v, prefix, "to_v", "value", c);
    attention_linear_load(l, &a->out, prefix, "to_out.0", "proj_attn", c);
}

void vae_attention_clear(vae_attention *a)
{
    norm_clear(&a->norm);
    vae_conv_clear(&a->q);
    vae_conv_clear(&a->k);
    vae_conv_clear(&a->v);
    vae_conv_clear(&a->out);
}

void vae_head_load(vae_loader *l, vae_head *h, const char *norm_prefix, const char *conv_prefix, int cin, int cout,
                   int groups)
{
    h->groups = groups;
    norm_load(l, &h->norm, norm_prefix, cin);
    vae_conv_load(l, &h->conv, conv_prefix, cin, cout, 3);
}

void vae_head_clear(vae_head *h)
{
    norm_clear(&h->norm);
    vae_conv_clear(&h->conv);
}

/* ---- forward ------------------------------------------------------------- */

/* Releases @old and returns @next: h = then(h, op(h)) keeps one reference. */
static rg_tensor *then(rg_tensor *old, rg_tensor *next)
{
    rg_tensor_unref(old);
    return next;
}

/* Runs @fn on @x, as a checkpointed segment when @x needs a gradient (the
 * weights inside are frozen, so nothing else can want one). */
static rg_tensor *run_block(rg_ctx *ctx, rg_segment_fn fn, gpointer block, rg_tensor *x, GError **error)
{
    rg_tensor *out = NULL;
    gboolean ok = rg_autograd_wants(ctx, &x, 1) ? rg_checkpoint(ctx, fn, block, &x, 1, &out, 1, error)
                                                : fn(ctx, &x, 1, &out, 1, block, error);
    return ok ? out : NULL;
}

/* silu(norm2(conv1(silu(norm1(x))))): the ResNet up to conv2 */
static gboolean resnet_inner_fn(rg_ctx *ctx, rg_tensor *const *in, int n_in, rg_tensor **out, int n_out,
                                gpointer user_data, GError **error)
{
    (void)n_in;
    (void)n_out;
    vae_resnet *r = user_data;
    rg_tensor *x = in[0]; // (B, Cin, H, W)
    rg_tensor *h = rg_group_norm(ctx, x, r->groups, r->norm1.weight, r->norm1.bias, VAE_NORM_EPS, error);
    h = h ? then(h, rg_silu(ctx, h, error)) : NULL;
    h = h ? then(h, rg_conv2d(ctx, h, r->conv1.weight, r->conv1.bias, 1, 1, error)) : NULL; // (B, Cout, H, W)
    h = h ? then(h, rg_group_norm(ctx, h, r->groups, r->norm2.weight, r->norm2.bias, VAE_NORM_EPS, error)) : NULL;
    out[0] = h ? rg_silu(ctx, h, error) : NULL;
    rg_tensor_unref(h);
    return out[0] != NULL;
}

/* x + conv2(silu(norm2(conv1(silu(norm1(x)))))), x through conv_shortcut when
 * Cin != Cout. Only the part before conv2 is checkpointed: conv2, the
 * shortcut and the sum keep nothing for backward (frozen weights), so
 * running them again in backward would be wasted; the tape still holds only x. */
rg_tensor *vae_resnet_forward(rg_ctx *ctx, vae_resnet *r, rg_tensor *x, GError **error)
{
    rg_tensor *h = run_block(ctx, resnet_inner_fn, r, x, error);                        // (B, Cout, H, W)
    h = h ? then(h, rg_conv2d(ctx, h, r->conv2.weight, r->conv2.bias, 1, 1, error)) : NULL;
    if (!h)
        return NULL;
    if (r->shortcut.weight) {
        g_autoptr(rg_tensor) s = rg_conv2d(ctx, x, r->shortcut.weight, r->shortcut.bias, 1, 0, error);
        return then(h, s ? rg_add(ctx, s, h, error) : NULL);
    }
    return then(h, rg_add(ctx, x, h, error));
}

/* x + to_out(softmax(q k^T / sqrt(C)) v), q = to_q(t), ..., t = group_norm(x) as (B, H*W, C) */
static gboolean attention_fn(rg_ctx *ctx, rg_tensor *const *in, int n_in, rg_tensor **out, int n_out,
                             gpointer user_data, GError **error)
{
    (void)n_in;
    (void)n_out;
    vae_attention *a = user_data;
    rg_tensor *x = in[0]; // (B, C, H, W)
    const int64_t *s = rg_tensor_shape(x);
    const int64_t flat[3] = {s[0], s[1], s[2] * s[3]};
    static const int swap12[3] = {0, 2, 1};
    rg_tensor *t = rg_group_norm(ctx, x, a->groups, a->norm.weight, a->norm.bias, VAE_NORM_EPS, error);
    t = t ? then(t, rg_reshape(ctx, t, 3, flat, error)) : NULL; // (B, C, HW)
    t = t ? then(t, rg_permute(ctx, t, swap12, error)) : NULL;  // (B, HW, C)
    if (!t)
        return FALSE;
    g_autoptr(rg_tensor) q = rg_linear(ctx, t, a->q.weight, a->q.bias, error); // (B, HW, C)
    g_autoptr(rg_tensor) k = q ? rg_linear(ctx, t, a->k.weight, a->k.bias, error) : NULL;
    g_autoptr(rg_tensor) v = k ? rg_linear(ctx, t, a->v.weight, a->v.bias, error) : NULL;
    rg_tensor_unref(t);
    rg_tensor *o = v ? rg_attention(ctx, q, k, v, 1, 0.0f, error) : NULL; // (B, HW, C), scale 1/sqrt(C)
    g_clear_pointer(&q, rg_tensor_unref);
    g_clear_pointer(&k, rg_tensor_unref);
    g_clear_pointer(&v, rg_tensor_unref);
    o = o ? then(o, rg_linear(ctx, o, a->out.weight, a->out.bias, error)) : NULL;
    o = o ? then(o, rg_permute(ctx, o, swap12, error)) : NULL; // (B, C, HW)
    o = o ? then(o, rg_reshape(ctx, o, 4, s, error)) : NULL;   // (B, C, H, W)
    out[0] = o ? rg_add(ctx, x, o, error) : NULL;
    rg_tensor_unref(o);
    return out[0] != NULL;
}

rg_tensor *vae_attention_forward(rg_ctx *ctx, vae_attention *a, rg_tensor *x, GError **error)
{
    return run_block(ctx, attention_fn, a, x, error);
}

/* conv(silu(group_norm(x))) */
static gboolean head_fn(rg_ctx *ctx, rg_tensor *const *in, int n_in, rg_tensor **out, int n_out, gpointer user_data,
                        GError **error)
{
    (void)n_in;
    (void)n_out;
    vae_head *hd = user_data;
    rg_tensor *h = rg_group_norm(ctx, in[0], hd->groups, hd->norm.weight, hd->norm.bias, VAE_NORM_EPS, error);
    h = h ? then(h, rg_silu(ctx, h, error)) : NULL;
    out[0] = h ? rg_conv2d(ctx, h, hd->conv.weight, hd->conv.bias, 1, 1, error) : NULL;
    rg_tensor_unref(h);
    return out[0] != NULL;
}

rg_tensor *vae_head_forward(rg_ctx *ctx, vae_head *h, rg_tensor *x, GError **error)
{
    return run_block(ctx, head_fn, h, x, error);
}

/* conv3x3 stride 2, padding 0, of x padded with zeros by one column on the
 * right and one row at the bottom (F.pad(x, (0, 1, 0, 1))): the padding is
 * two concats, whose backward slices the padding away. */
rg_tensor *vae_downsample_forward(rg_ctx *ctx, vae_conv *c, rg_tensor *x, GError **error)
{
    const int64_t *s = rg_tensor_shape(x); // (B, C, H, W)
    const int64_t col_shape[4] = {s[0], s[1], s[2], 1}, row_shape[4] = {s[0], s[1], 1, s[3] + 1};
    g_autoptr(rg_tensor) col = rg_tensor_new(RG_DTYPE_F32, 4, col_shape, error);
    g_autoptr(rg_tensor) row = col ? rg_tensor_new(RG_DTYPE_F32, 4, row_shape, error) : NULL;
    if (!row)
        return NULL;
    rg_tensor *xs[2] = {x, col};
    rg_tensor *h = rg_concat(ctx, xs, 2, 3, error); // (B, C, H, W + 1)
    if (!h)
        return NULL;
    xs[0] = h;
    xs[1] = row;
    h = then(h, rg_concat(ctx, xs, 2, 2, error)); // (B, C, H + 1, W + 1)
    return h ? then(h, rg_conv2d(ctx, h, c->weight, c->bias, 2, 0, error)) : NULL;
}

/* conv3x3(nearest2x(x)) */
rg_tensor *vae_upsample_forward(rg_ctx *ctx, vae_conv *c, rg_tensor *x, GError **error)
{
    rg_tensor *h = rg_upsample_nearest2x(ctx, x, error); // (B, C, 2H, 2W)
    return h ? then(h, rg_conv2d(ctx, h, c->weight, c->bias, 1, 1, error)) : NULL;
}
