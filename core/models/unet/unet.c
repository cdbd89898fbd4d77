/* unet.c — UNet2DConditionModel: construction from a config and a tensor
 * source, the forward pass with decoder feature capture, and the list of
 * tensors a config needs.
 *
 * Forward (diffusers models/unets/unet_2d_condition.py):
 *   temb = linear_2(silu(linear_1(timestep_embedding(t))))
 *   h = conv_in(sample); skips = [h]
 *   down block i: for each resnet (+ transformer): h = ...; skips.push(h)
 *                 downsampler: h = conv3x3/2(h); skips.push(h)
 *   mid: resnet, transformer, resnet
 *   up block i:   for each resnet (+ transformer): h = resnet(cat[h, skips.pop()]) ...
 *                 (feature k = that resnet's conv2 output); upsampler
 *   eps = conv_out(silu(conv_norm_out(h)))
 */
#include <string.h>

#include "models/unet/unet_internal.h"
#include "tensor/tensor_impl.h"

typedef struct {
    int n_resnets;
    unet_resnet *resnets;
    unet_transformer *attns; /* one per resnet, or NULL */
    unet_sampler *sampler;   /* Downsample2D / Upsample2D, or NULL */
} unet_block;

struct rg_unet {
    rg_unet_config config;
    gboolean checkpointing;
    rg_tensor *conv_in_w, *conv_in_b;         // (C0, Cin, 3, 3), (C0)
    rg_tensor *time1_w, *time1_b;             // (Temb, C0), (Temb)
    rg_tensor *time2_w, *time2_b;             // (Temb, Temb), (Temb)
    unet_block down[RG_UNET_MAX_LEVELS];      // down_blocks.i, level i
    unet_block mid;                           // 2 resnets, 1 transformer
    unet_block up[RG_UNET_MAX_LEVELS];        // up_blocks.i, level L-1-i
    rg_tensor *norm_out_w, *norm_out_b;       // (C0)
    rg_tensor *conv_out_w, *conv_out_b;       // (Cout, C0, 3, 3), (Cout)
    int n_features;
    int *feature_channels, *feature_factor;
    /* every tensor in construction order: names (char *) and tensors (borrowed from the fields above) */
    GPtrArray *param_names, *params;
};

static void block_clear(unet_block *b)
{
    for (int j = 0; b->resnets && j < b->n_resnets; j++)
        unet_resnet_clear(&b->resnets[j]);
    for (int j = 0; b->attns && j < b->n_resnets; j++)
        unet_transformer_clear(&b->attns[j]);
    if (b->sampler)
        unet_sampler_clear(b->sampler);
    g_free(b->resnets);
    g_free(b->attns);
    g_free(b->sampler);
    memset(b, 0, sizeof *b);
}

void rg_unet_free(rg_unet *u)
{
    if (!u)
        return;
    for (int i = 0; i < RG_UNET_MAX_LEVELS; i++) {
        block_clear(&u->down[i]);
        block_clear(&u->up[i]);
    }
    block_clear(&u->mid);
    rg_tensor **all[] = {&u->conv_in_w, &u->conv_in_b,  &u->time1_w,    &u->time1_b,    &u->time2_w,
                         &u->time2_b,   &u->norm_out_w, &u->norm_out_b, &u->conv_out_w, &u->conv_out_b};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        g_clear_pointer(all[i], rg_tensor_unref);
    g_free(u->feature_channels);
    g_free(u->feature_factor);
    if (u->param_names)
        g_ptr_array_unref(u->param_names);
    if (u->params)
        g_ptr_array_unref(u->params);
    g_free(u);
}

/* Checks that a GroupNorm over @channels fits the config's groups (the
 * concatenated inputs of up-block resnets are not level widths). */
static gboolean groups_fit(const rg_unet_config *c, const char *prefix, int channels, GError **error)
{
    if (channels % c->norm_num_groups == 0)
        return TRUE;
    g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                "unet config: %s has %d input channels, not a multiple of norm_num_groups %d", prefix, channels,
                c->norm_num_groups);
    return FALSE;
}

/* Room for @n resnets, with a transformer each when @attn. */
static void block_alloc(unet_block *b, int n, gboolean attn)
{
    b->n_resnets = n;
    b->resnets = g_new0(unet_resnet, n);
    b->attns = attn ? g_new0(unet_transformer, n) : NULL;
}

static gboolean resnet_at(rg_unet *u, unet_block *b, int j, unet_source *src, const char *prefix, int in_ch,
                          int out_ch, GError **error)
{
    const rg_unet_config *c = &u->config;
    g_autofree char *p = g_strdup_printf("%s.resnets.%d", prefix, j);
    return groups_fit(c, p, in_ch, error) &&
           unet_resnet_init(&b->resnets[j], src, p, in_ch, out_ch, c->time_embedding_dim, c->norm_num_groups,
                            c->norm_eps, error);
}

static gboolean attn_at(rg_unet *u, unet_block *b, int j, int level, int depth, unet_source *src,
                        const char *prefix, GError **error)
{
    const rg_unet_config *c = &u->config;
    g_autofree char *p = g_strdup_printf("%s.attentions.%d", prefix, j);
    return unet_transformer_init(&b->attns[j], src, p, c->block_out_channels[level], c->attention_heads[level],
                                 depth, c->cross_attention_dim, c->norm_num_groups, c->use_linear_projection, error);
}

static gboolean sampler_at(unet_block *b, unet_source *src, const char *prefix, const char *kind, int channels,
                           GError **error)
{
    g_autofree char *p = g_strdup_printf("%s.%s.0", prefix, kind);
    b->sampler = g_new0(unet_sampler, 1);
    return unet_sampler_init(b->sampler, src, p, channels, error);
}

static gboolean build(rg_unet *u, unet_source *src, GError **error)
{
    const rg_unet_config *c = &u->config;
    const int L = c->n_levels, c0 = c->block_out_channels[0], temb = c->time_embedding_dim;
    const int64_t s_in[4] = {c0, c->in_channels, 3, 3}, s_c0[1] = {c0}, s_t1[2] = {temb, c0};
    const int64_t s_t[1] = {temb}, s_t2[2] = {temb, temb}, s_out[4] = {c->out_channels, c0, 3, 3};
    const int64_t s_ob[1] = {c->out_channels};
    if (!(u->conv_in_w = src->fn("conv_in.weight", 4, s_in, src->data, error)) ||
        !(u->conv_in_b = src->fn("conv_in.bias", 1, s_c0, src->data, error)) ||
        !(u->time1_w = src->fn("time_embedding.linear_1.weight", 2, s_t1, src->data, error)) ||
        !(u->time1_b = src->fn("time_embedding.linear_1.bias", 1, s_t, src->data, error)) ||
        !(u->time2_w = src->fn("time_embedding.linear_2.weight", 2, s_t2, src->data, error)) ||
        !(u->time2_b = src->fn("time_embedding.linear_2.bias", 1, s_t, src->data, error)))
        return FALSE;

    /* down path; skip_ch follows the channels pushed on the skip stack */
    int skip_ch[RG_UNET_MAX_LEVELS * (RG_UNET_MAX_LAYERS + 1)], n_skip = 0, h_ch = c0;
    skip_ch[n_skip++] = c0;
    for (int i = 0; i < L; i++) {
        unet_block *b = &u->down[i];
        int out = c->block_out_channels[i], n = c->layers_per_block[i];
        g_autofree char *prefix = g_strdup_printf("down_blocks.%d", i);
        block_alloc(b, n, c->down_cross_attention[i]);
        for (int j = 0; j < n; j++) {
            if (!resnet_at(u, b, j, src, prefix, h_ch, out, error) ||
                (b->attns && !attn_at(u, b, j, i, c->transformer_layers[i], src, prefix, error)))
                return FALSE;
            h_ch = out;
            skip_ch[n_skip++] = out;
        }
        if (i < L - 1) {
            if (!sampler_at(b, src, prefix, "downsamplers", out, error))
                return FALSE;
            skip_ch[n_skip++] = out;
        }
    }

    if (c->mid_block) {
        block_alloc(&u->mid, 2, TRUE);
        if (!resnet_at(u, &u->mid, 0, src, "mid_block", h_ch, h_ch, error) ||
            !attn_at(u, &u->mid, 0, L - 1, c->transformer_layers[L - 1], src, "mid_block", error) ||
            !resnet_at(u, &u->mid, 1, src, "mid_block", h_ch, h_ch, error))
            return FALSE;
    }

    /* up path: up block i is level L-1-i and pops one skip per resnet */
    u->n_features = 0;
    for (int i = 0; i < L; i++)
        u->n_features += c->layers_per_block[L - 1 - i] + 1;
    u->feature_channels = g_new0(int, u->n_features);
    u->feature_factor = g_new0(int, u->n_features);
    int k = 0;
    for (int i = 0; i < L; i++) {
        int level = L - 1 - i, out = c->block_out_channels[level], n = c->layers_per_block[level] + 1;
        unet_block *b = &u->up[i];
        g_autofree char *prefix = g_strdup_printf("up_blocks.%d", i);
        block_alloc(b, n, c->up_cross_attention[i]);
        for (int j = 0; j < n; j++) {
            g_assert(n_skip > 0); /* as many pushes as pops by construction */
            int in = h_ch + skip_ch[--n_skip];
            if (!resnet_at(u, b, j, src, prefix, in, out, error) ||
                (b->attns && !attn_at(u, b, j, level, c->transformer_layers[level], src, prefix, error)))
                return FALSE;
            h_ch = out;
            u->feature_channels[k] = out;
            u->feature_factor[k++] = 1 << level;
        }
        if (i < L - 1 && !sampler_at(b, src, prefix, "upsamplers", out, error))
            return FALSE;
    }
    g_assert(n_skip == 0);
    return (u->norm_out_w = src->fn("conv_norm_out.weight", 1, s_c0, src->data, error)) &&
           (u->norm_out_b = src->fn("conv_norm_out.bias", 1, s_c0, src->data, error)) &&
           (u->conv_out_w = src->fn("conv_out.weight", 4, s_out, src->data, error)) &&
           (u->conv_out_b = src->fn("conv_out.bias", 1, s_ob, src->data, error));
}

/* The source of rg_unet_new_from_source() with every tensor it gives listed
 * for rg_unet_parameters(). */
typedef struct {
    unet_source inner;
    rg_unet *u;
} listing_source;

static rg_tensor *listing_fn(const char *name, int ndim, const int64_t *shape, gpointer data, GError **error)
{
    listing_source *l = data;
    rg_tensor *t = l->inner.fn(name, ndim, shape, l->inner.data, error);
    if (t) {
        g_ptr_array_add(l->u->param_names, g_strdup(name));
        g_ptr_array_add(l->u->params, t);
    }
    return t;
}

rg_unet *rg_unet_new_from_source(const rg_unet_config *c, rg_unet_source_fn fn, gpointer data, GError **error)
{
    if (!rg_unet_config_validate(c, error))
        return NULL;
    rg_unet *u = g_new0(rg_unet, 1);
    u->config = *c;
    u->checkpointing = TRUE;
    u->param_names = g_ptr_array_new_with_free_func(g_free);
    u->params = g_ptr_array_new();
    listing_source l = {{fn, data}, u};
    unet_source src = {listing_fn, &l};
    if (!build(u, &src, error)) {
        rg_unet_free(u);
        return NULL;
    }
    return u;
}

/* proj_in/proj_out weights: a 1x1 convolution (C,C,1,1) and a linear (C,C)
 * are the same matrix, so whichever of the two is stored is taken (SD2.x
 * files may say either; the transformer uses both). Returns the stored
 * shape in @alt when it is the other one. */
static gboolean projection_alternative(rg_weights *w, const char *name, int ndim, const int64_t *shape, int *alt_ndim,
                                       int64_t *alt)
{
    rg_dtype dtype;
    if ((!g_str_has_suffix(name, ".proj_in.weight") && !g_str_has_suffix(name, ".proj_out.weight")) ||
        !rg_weights_info(w, name, &dtype, alt_ndim, alt) || alt[0] != shape[0] || alt[1] != shape[1])
        return FALSE;
    return (ndim == 4 && *alt_ndim == 2 && shape[2] == 1 && shape[3] == 1) ||
           (ndim == 2 && *alt_ndim == 4 && alt[2] == 1 && alt[3] == 1);
}

static rg_tensor *weights_source(const char *name, int ndim, const int64_t *shape, gpointer data, GError **error)
{
    int alt_ndim;
    int64_t alt[RG_MAX_DIMS];
    if (projection_alternative(data, name, ndim, shape, &alt_ndim, alt)) {
        ndim = alt_ndim;
        shape = alt;
    }
    rg_tensor *t = rg_weights_load(data, name, ndim, shape, error);
    if (!t && error && *error && !strstr((*error)->message, name))
        g_prefix_error(error, "unet: %s: ", name); /* a renamed tensor (LDM names) */
    else if (!t)
        g_prefix_error(error, "unet: ");
    return t;
}

rg_unet *rg_unet_new(const rg_unet_config *c, rg_weights *w, GError **error)
{
    g_return_val_if_fail(c != NULL && w != NULL, NULL);
    return rg_unet_new_from_source(c, weights_source, w, error);
}

typedef struct {
    rg_unet_tensor_fn fn;
    gpointer user_data;
    rg_tensor *dummy;
} recorder;

static rg_tensor *record_source(const char *name, int ndim, const int64_t *shape, gpointer data, GError **error)
{
    (void)error;
    recorder *r = data;
    r->fn(name, ndim, shape, r->user_data);
    return rg_tensor_ref(r->dummy);
}

gboolean rg_unet_required_tensors(const rg_unet_config *c, rg_unet_tensor_fn fn, gpointer user_data, GError **error)
{
    const int64_t one[1] = {1};
    recorder r = {fn, user_data, rg_tensor_new(RG_DTYPE_F32, 1, one, error)};
    if (!r.dummy)
        return FALSE;
    rg_unet *u = rg_unet_new_from_source(c, record_source, &r, error);
    rg_tensor_unref(r.dummy);
    rg_unet_free(u);
    return u != NULL;
}

const rg_unet_config *rg_unet_get_config(const rg_unet *u)
{
    return &u->config;
}

int rg_unet_n_features(const rg_unet *u)
{
    return u->n_features;
}

int rg_unet_feature_channels(const rg_unet *u, int k)
{
    g_return_val_if_fail(k >= 0 && k < u->n_features, 0);
    return u->feature_channels[k];
}

int rg_unet_feature_factor(const rg_unet *u, int k)
{
    g_return_val_if_fail(k >= 0 && k < u->n_features, 0);
    return u->feature_factor[k];
}

int rg_unet_size_multiple(const rg_unet *u)
{
    return 1 << (u->config.n_levels - 1);
}

void rg_unet_parameters(rg_unet *u, GPtrArray *names, GPtrArray *tensors)
{
    g_return_if_fail(u != NULL && names != NULL && tensors != NULL);
    for (guint i = 0; i < u->params->len; i++) {
        g_ptr_array_add(names, g_strdup(g_ptr_array_index(u->param_names, i)));
        g_ptr_array_add(tensors, g_ptr_array_index(u->params, i));
    }
}

void rg_unet_set_checkpointing(rg_unet *u, gboolean checkpointing)
{
    u->checkpointing = checkpointing;
}

/* ---- forward ------------------------------------------------------------- */

static gboolean check_inputs(rg_unet *u, rg_tensor *sample, rg_tensor *timestep, rg_tensor *ehs, GError **error)
{
    const rg_unet_config *c = &u->config;
    if (!sample || !timestep || !ehs) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "unet: sample, timestep and encoder_hidden_states are needed");
        return FALSE;
    }
    if (!rg_check_f32("unet", "sample", sample, error) || !rg_check_f32("unet", "timestep", timestep, error) ||
        !rg_check_f32("unet", "encoder_hidden_states", ehs, error) ||
        !rg_check_ndim("unet", "sample", sample, 4, error) || !rg_check_ndim("unet", "timestep", timestep, 1, error) ||
        !rg_check_ndim("unet", "encoder_hidden_states", ehs, 3, error))
        return FALSE;
    g_autofree char *ss = rg_tensor_shape_string(sample);
    g_autofree char *st = rg_tensor_shape_string(timestep);
    g_autofree char *se = rg_tensor_shape_string(ehs);
    const int64_t *x = rg_tensor_shape(sample), *t = rg_tensor_shape(timestep), *e = rg_tensor_shape(ehs);
    int m = rg_unet_size_multiple(u);
    if (x[1] != c->in_channels) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "unet: sample %s has %" G_GINT64_FORMAT
                    " channels, the model takes %d", ss, x[1], c->in_channels);
        return FALSE;
    }
    if (x[0] < 1 || x[2] < 1 || x[3] < 1 || x[2] % m != 0 || x[3] % m != 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "unet: sample %s: height and width must be positive multiples of %d for this model", ss, m);
        return FALSE;
    }
    if (t[0] != x[0] && t[0] != 1) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "unet: timestep %s does not fit sample %s (one timestep, or one "
                    "per batch item)", st, ss);
        return FALSE;
    }
    if (e[0] != x[0] || e[1] < 1 || e[2] != c->cross_attention_dim) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "unet: encoder_hidden_states %s does not fit sample %s: expected (%" G_GINT64_FORMAT
                    ",T,%d) with T >= 1", se, ss, x[0], c->cross_attention_dim);
        return FALSE;
    }
    return TRUE;
}

rg_tensor *rg_unet_time_embedding(rg_unet *u, rg_ctx *ctx, rg_tensor *timestep, GError **error)
{
    g_return_val_if_fail(u != NULL && ctx != NULL && timestep != NULL, NULL);
    const rg_unet_config *c = &u->config;
    g_autoptr(rg_tensor) s = rg_timestep_embedding(ctx, timestep, c->block_out_channels[0], c->flip_sin_to_cos,
                                                   c->freq_shift, error);
    g_autoptr(rg_tensor) t1 = s ? rg_linear(ctx, s, u->time1_w, u->time1_b, error) : NULL;
    g_autoptr(rg_tensor) a1 = t1 ? rg_silu(ctx, t1, error) : NULL;
    return a1 ? rg_linear(ctx, a1, u->time2_w, u->time2_b, error) : NULL;
}

/* silu(rg_unet_time_embedding(t)): (B, Temb), the activated embedding every
 * resnet projects. */
static rg_tensor *time_embedding(rg_unet *u, rg_ctx *ctx, rg_tensor *timestep, GError **error)
{
    g_autoptr(rg_tensor) t2 = rg_unet_time_embedding(u, ctx, timestep, error);
    return t2 ? rg_silu(ctx, t2, error) : NULL;
}

/* *h = next, dropping the old one; FALSE when next is NULL (failed). */
static gboolean replace(rg_tensor **h, rg_tensor *next)
{
    g_clear_pointer(h, rg_tensor_unref);
    *h = next;
    return next != NULL;
}

typedef struct {
    rg_unet *u;
    rg_ctx *ctx;
    gboolean ck;
    rg_tensor *temb;   // (B|1, Temb), activated
    rg_tensor *ehs;    // (B, T, Dc)
    GPtrArray *skips;  // rg_tensor *
} run_state;

/* resnet j of @b (+ its transformer) on *h; @skip (may be NULL) is
 * concatenated first; @feature (may be NULL) receives conv2's output. */
static gboolean layer(run_state *s, unet_block *b, int j, rg_tensor **h, rg_tensor *skip, rg_tensor **feature,
                      GError **error)
{
    rg_tensor *next = NULL;
    if (!unet_resnet_forward(s->ctx, &b->resnets[j], s->ck, *h, skip, s->temb, &next, feature, error))
        return FALSE;
    replace(h, next);
    return !b->attns || replace(h, unet_transformer_forward(s->ctx, &b->attns[j], s->ck, *h, s->ehs, error));
}

static gboolean down_path(run_state *s, rg_tensor **h, GError **error)
{
    rg_unet *u = s->u;
    g_ptr_array_add(s->skips, rg_tensor_ref(*h));
    for (int i = 0; i < u->config.n_levels; i++) {
        unet_block *b = &u->down[i];
        for (int j = 0; j < b->n_resnets; j++) {
            if (!layer(s, b, j, h, NULL, NULL, error))
                return FALSE;
            g_ptr_array_add(s->skips, rg_tensor_ref(*h));
        }
        if (b->sampler) {
            if (!replace(h, unet_downsample(s->ctx, b->sampler, *h, error)))
                return FALSE;
            g_ptr_array_add(s->skips, rg_tensor_ref(*h));
        }
    }
    return !u->config.mid_block ||
           (layer(s, &u->mid, 0, h, NULL, NULL, error) && layer(s, &u->mid, 1, h, NULL, NULL, error));
}

/* The up path, filling @features (or not); stops after the last feature when
 * @all is FALSE. */
static gboolean up_path(run_state *s, rg_tensor **h, rg_tensor **features, gboolean all, GError **error)
{
    rg_unet *u = s->u;
    int k = 0;
    for (int i = 0; i < u->config.n_levels; i++) {
        unet_block *b = &u->up[i];
        for (int j = 0; j < b->n_resnets; j++, k++) {
            g_autoptr(rg_tensor) skip = g_ptr_array_steal_index(s->skips, s->skips->len - 1);
            rg_tensor *next = NULL;
            if (!unet_resnet_forward(s->ctx, &b->resnets[j], s->ck, *h, skip, s->temb, &next,
                                     features ? &features[k] : NULL, error))
                return FALSE;
            replace(h, next);
            if (!all && k == u->n_features - 1)
                return TRUE; /* the rest is not on the way to any feature */
            if (b->attns && !replace(h, unet_transformer_forward(s->ctx, &b->attns[j], s->ck, *h, s->ehs, error)))
                return FALSE;
        }
        if (b->sampler && !replace(h, unet_upsample(s->ctx, b->sampler, s->ck, *h, error)))
            return FALSE;
    }
    return TRUE;
}

gboolean rg_unet_forward(rg_unet *u, rg_ctx *ctx, rg_tensor *sample, rg_tensor *timestep,
                         rg_tensor *encoder_hidden_states, rg_tensor **eps, rg_tensor **features, GError **error)
{
    g_return_val_if_fail(u != NULL && ctx != NULL, FALSE);
    const rg_unet_config *c = &u->config;
    if (!eps && !features) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "unet: neither eps nor features asked for");
        return FALSE;
    }
    if (!check_inputs(u, sample, timestep, encoder_hidden_states, error))
        return FALSE;
    g_autofree rg_tensor **feats = features ? g_new0(rg_tensor *, u->n_features) : NULL;
    g_autoptr(GPtrArray) skips = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    g_autoptr(rg_tensor) temb = time_embedding(u, ctx, timestep, error);
    if (!temb)
        return FALSE;
    run_state s = {u, ctx, u->checkpointing, temb, encoder_hidden_states, skips};
    g_autoptr(rg_tensor) h = rg_conv2d(ctx, sample, u->conv_in_w, u->conv_in_b, 1, 1, error);
    gboolean ok = h && down_path(&s, &h, error) && up_path(&s, &h, feats, eps != NULL, error);
    g_ptr_array_set_size(skips, 0);
    if (ok && eps) {
        // eps = conv_out(silu(conv_norm_out(h)))
        g_autoptr(rg_tensor) n = rg_group_norm(ctx, h, c->norm_num_groups, u->norm_out_w, u->norm_out_b, c->norm_eps,
                                               error);
        g_clear_pointer(&h, rg_tensor_unref);
        g_autoptr(rg_tensor) a = n ? rg_silu(ctx, n, error) : NULL;
        g_clear_pointer(&n, rg_tensor_unref);
        *eps = a ? rg_conv2d(ctx, a, u->conv_out_w, u->conv_out_b, 1, 1, error) : NULL;
        ok = *eps != NULL;
    }
    for (int k = 0; feats && k < u->n_features; k++) {
        if (ok)
            features[k] = feats[k];
        else if (feats[k])
            rg_tensor_unref(feats[k]);
    }
    return ok;
}
