/* head.c — rg_head: the tensor list of a config (state_dict names and
 * shapes), the official random initialisation, the forward pass (resize,
 * bottleneck blocks, softmax mixing, output head) built from engine ops so
 * that it back-propagates, and the check against a UNet. Files are in
 * head_io.c, the config in config.c. */
#include <math.h>
#include <string.h>

#include "models/head/head_internal.h"

/* ---- the tensor list ------------------------------------------------------- */

char *head_shape_string(int ndim, const int64_t *shape)
{
    GString *s = g_string_new("(");
    for (int d = 0; d < ndim; d++)
        g_string_append_printf(s, "%s%" G_GINT64_FORMAT, d ? "," : "", (gint64)shape[d]);
    g_string_append_c(s, ')');
    return g_string_free(s, FALSE);
}

static void add_entry(rg_head *h, char *name, int ndim, const int64_t *shape, rg_tensor **slot, head_init init,
                      int64_t fan)
{
    head_entry e = {name, ndim, {0}, slot, init, fan};
    memcpy(e.shape, shape, (size_t)ndim * sizeof *shape);
    g_array_append_val(h->entries, e);
}

/* "<prefix>.weight" (cout, cin, k, k) and its GroupNorm "<prefix>.norm.{weight,bias}" (cout) */
static void add_convgn(rg_head *h, const char *prefix, head_convgn *c, int cin, int cout, int k)
{
    const int64_t w[4] = {cout, cin, k, k}, v[1] = {cout};
    add_entry(h, g_strconcat(prefix, ".weight", NULL), 4, w, &c->w, HEAD_INIT_MSRA, (int64_t)cout * k * k);
    add_entry(h, g_strconcat(prefix, ".norm.weight", NULL), 1, v, &c->gn_w, HEAD_INIT_ONES, 0);
    add_entry(h, g_strconcat(prefix, ".norm.bias", NULL), 1, v, &c->gn_b, HEAD_INIT_ZEROS, 0);
}

/* An nn.Conv2d with bias "<prefix>.{weight,bias}" */
static void add_conv(rg_head *h, const char *prefix, rg_tensor **w, rg_tensor **b, int cin, int cout, int k)
{
    const int64_t ws[4] = {cout, cin, k, k}, bs[1] = {cout};
    const int64_t fan_in = (int64_t)cin * k * k;
    add_entry(h, g_strconcat(prefix, ".weight", NULL), 4, ws, w, HEAD_INIT_UNIFORM, fan_in);
    add_entry(h, g_strconcat(prefix, ".bias", NULL), 1, bs, b, HEAD_INIT_UNIFORM, fan_in);
}

/* In the official state_dict's order: the module's own parameter first,
 * then the blocks (shortcut, conv1..3, emb_layers), then the output head. */
static void list_entries(rg_head *h)
{
    const rg_head_config *c = &h->config;
    const int P = c->projection_dim, b = P / 4;
    const int64_t mix[1] = {c->n_layers};
    add_entry(h, g_strdup("mixing_weights"), 1, mix, &h->mixing, HEAD_INIT_ONES, 0);
    for (int l = 0; l < c->n_layers; l++) {
        head_block *k = &h->blocks[l];
        g_autofree char *p = g_strdup_printf(c->bottleneck_sequential ? "bottleneck_layers.%d.0." :
                                                                        "bottleneck_layers.%d.", l);
        g_autofree char *sc = g_strconcat(p, "shortcut", NULL), *c1 = g_strconcat(p, "conv1", NULL);
        g_autofree char *c2 = g_strconcat(p, "conv2", NULL), *c3 = g_strconcat(p, "conv3", NULL);
        k->has_shortcut = c->dims[l] != P;
        if (k->has_shortcut)
            add_convgn(h, sc, &k->shortcut, c->dims[l], P, 1);
        add_convgn(h, c1, &k->conv1, c->dims[l], b, 1);
        add_convgn(h, c2, &k->conv2, b, b, 3);
        add_convgn(h, c3, &k->conv3, b, P, 1);
        const int64_t ew[2] = {b, c->emb_dim}, eb[1] = {b};
        add_entry(h, g_strconcat(p, "emb_layers.weight", NULL), 2, ew, &k->emb_w, HEAD_INIT_UNIFORM, c->emb_dim);
        add_entry(h, g_strconcat(p, "emb_layers.bias", NULL), 1, eb, &k->emb_b, HEAD_INIT_UNIFORM, c->emb_dim);
    }
    if (c->use_output_head) {
        add_conv(h, "output_head.0", &h->out_w[0], &h->out_b[0], P, 128, 3);
        add_conv(h, "output_head.2", &h->out_w[1], &h->out_b[1], 128, 32, 3);
        add_conv(h, "output_head.4", &h->out_w[2], &h->out_b[2], 32, c->output_channels, 1);
    }
}

static void entry_clear(gpointer p)
{
    head_entry *e = p;
    g_free(e->name);
    if (e->slot)
        g_clear_pointer(e->slot, rg_tensor_unref);
}

rg_head *head_new_empty(const rg_head_config *c, const char *name, int code, GError **error)
{
    if (!head_config_check(c, name, code, error))
        return NULL;
    rg_head *h = g_new0(rg_head, 1);
    h->config = *c;
    h->name = g_strdup(name);
    h->entries = g_array_new(FALSE, TRUE, sizeof(head_entry));
    g_array_set_clear_func(h->entries, entry_clear);
    h->segments = g_ptr_array_new_with_free_func(g_free);
    h->checkpointing = TRUE;
    list_entries(h);
    return h;
}

void rg_head_free(rg_head *h)
{
    if (!h)
        return;
    g_array_unref(h->entries); /* drops every tensor */
    g_ptr_array_unref(h->segments);
    g_free(h->official_config);
    g_free(h->name);
    g_free(h);
}

const rg_head_config *rg_head_get_config(const rg_head *h)
{
    g_return_val_if_fail(h != NULL, NULL);
    return &h->config;
}

int64_t head_n_parameters(const rg_head *h)
{
    int64_t n = 0;
    for (guint i = 0; i < h->entries->len; i++) {
        const head_entry *e = &g_array_index(h->entries, head_entry, i);
        int64_t k = 1;
        for (int d = 0; d < e->ndim; d++)
            k *= e->shape[d];
        n += k;
    }
    return n;
}

void rg_head_parameters(rg_head *h, GPtrArray *names, GPtrArray *tensors)
{
    g_return_if_fail(h != NULL && names != NULL && tensors != NULL);
    for (guint i = 0; i < h->entries->len; i++) {
        head_entry *e = &g_array_index(h->entries, head_entry, i);
        g_ptr_array_add(names, g_strdup(e->name));
        g_ptr_array_add(tensors, *e->slot);
    }
}

void rg_head_set_checkpointing(rg_head *h, gboolean checkpointing)
{
    g_return_if_fail(h != NULL);
    h->checkpointing = checkpointing;
}

/* ---- random initialisation ------------------------------------------------- */

static double normal(GRand *r)
{
    /* Box-Muller; 1 - u keeps the log finite */
    double u = 1.0 - g_rand_double(r), v = g_rand_double(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * G_PI * v);
}

rg_head *rg_head_new_random(const rg_head_config *c, guint64 seed, GError **error)
{
    g_return_val_if_fail(c != NULL, NULL);
    g_autoptr(rg_head) h = head_new_empty(c, "(random head)", RG_ERROR_ARGUMENT, error);
    if (!h)
        return NULL;
    const guint32 s[2] = {(guint32)seed, (guint32)(seed >> 32)};
    GRand *r = g_rand_new_with_seed_array(s, 2);
    for (guint i = 0; i < h->entries->len; i++) {
        head_entry *e = &g_array_index(h->entries, head_entry, i);
        rg_tensor *t = rg_tensor_new(RG_DTYPE_F32, e->ndim, e->shape, error);
        if (!t) {
            g_rand_free(r);
            return NULL;
        }
        *e->slot = t;
        float *p = rg_tensor_data_f32(t);
        const int64_t n = rg_tensor_numel(t);
        /* c2_msra_fill: kaiming_normal_(mode="fan_out", nonlinearity="relu");
         * default Linear/Conv2d: kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in)), bias alike */
        const double std = e->fan > 0 ? sqrt(2.0 / (double)e->fan) : 0.0;
        const double bound = e->fan > 0 ? 1.0 / sqrt((double)e->fan) : 0.0;
        for (int64_t k = 0; k < n; k++) {
            switch (e->init) {
            case HEAD_INIT_MSRA: p[k] = (float)(std * normal(r)); break;
            case HEAD_INIT_ONES: p[k] = 1.0f; break;
            case HEAD_INIT_ZEROS: p[k] = 0.0f; break;
            case HEAD_INIT_UNIFORM: p[k] = (float)g_rand_double_range(r, -bound, bound); break;
            }
        }
    }
    g_rand_free(r);
    return g_steal_pointer(&h);
}

/* ---- the UNet it reads ----------------------------------------------------- */

gboolean rg_head_check_unet(const rg_head *h, const rg_unet *u, GError **error)
{
    g_return_val_if_fail(h != NULL && u != NULL, FALSE);
    const rg_head_config *c = &h->config;
    const char *base = c->base_model[0] ? c->base_model : "an unknown base model";
    const int nf = rg_unet_n_features(u);
    if (nf != c->n_layers) {
        g_set_error(error, RG_ERROR, RG_ERROR_UNSUPPORTED, "head %s was made for %s (%d features), the model has %d "
                    "decoder features", h->name, base, c->n_layers, nf);
        return FALSE;
    }
    for (int l = 0; l < nf; l++) {
        const int ch = rg_unet_feature_channels(u, l);
        if (ch != c->dims[l]) {
            g_set_error(error, RG_ERROR, RG_ERROR_UNSUPPORTED, "head %s was made for %s: its feature %d has %d "
                        "channels, the model's has %d", h->name, base, l, c->dims[l], ch);
            return FALSE;
        }
    }
    const int temb = rg_unet_get_config(u)->time_embedding_dim;
    if (!c->bottleneck_sequential && temb != c->emb_dim) {
        g_set_error(error, RG_ERROR, RG_ERROR_UNSUPPORTED, "head %s was made for %s: it takes a time embedding of "
                    "width %d, the model's is %d wide", h->name, base, c->emb_dim, temb);
        return FALSE;
    }
    return TRUE;
}

/* ---- forward ------------------------------------------------------------- */

/* Replaces *@t by @next (which may be NULL after an error); returns @next. */
static rg_tensor *then(rg_tensor **t, rg_tensor *next)
{
    rg_tensor_unref(*t);
    *t = next;
    return next;
}

/* What a checkpointed layer needs besides its inputs; kept by the head
 * (h->segments) because a tape may run the segment again at any later time. */
typedef struct {
    rg_head *h;
    int l;
    int64_t out_h, out_w;
} head_segment;

static rg_tensor *convgn(rg_ctx *ctx, const rg_head *h, const head_convgn *c, rg_tensor *x, int padding,
                         GError **error)
{
    g_autoptr(rg_tensor) y = rg_conv2d(ctx, x, c->w, NULL, 1, padding, error);
    return y ? rg_group_norm(ctx, y, h->config.norm_groups, c->gn_w, c->gn_b, 1e-5f, error) : NULL;
}

/* One layer: inputs[0] the feature (B, C_l, h, w), inputs[1] emb (B or 1, E)
 * or NULL, inputs[2] its mixing weight (1); outputs[0] = mixing *
 * block(resize(feature), emb) (B, P, out_h, out_w). */
static gboolean layer_fn(rg_ctx *ctx, rg_tensor *const *inputs, int n_inputs, rg_tensor **outputs, int n_outputs,
                         gpointer user_data, GError **error)
{
    (void)n_inputs;
    (void)n_outputs;
    const head_segment *s = user_data;
    const rg_head *h = s->h;
    const head_block *k = &h->blocks[s->l];
    rg_tensor *feature = inputs[0], *emb = inputs[1], *mix = inputs[2];
    g_autoptr(rg_tensor) x = NULL; // (B, C, H, W)
    const int64_t *fs = rg_tensor_shape(feature);
    if (fs[2] == s->out_h && fs[3] == s->out_w)
        x = rg_tensor_ref(feature);
    else if (!(x = rg_resize_bilinear(ctx, feature, s->out_h, s->out_w, error)))
        return FALSE;

    g_autoptr(rg_tensor) t = convgn(ctx, h, &k->conv1, x, 0, error); // (B, b, H, W)
    if (!t || !then(&t, rg_relu(ctx, t, error)))
        return FALSE;
    if (emb) {
        g_autoptr(rg_tensor) e = rg_linear(ctx, emb, k->emb_w, k->emb_b, error); // (B, b)
        if (!e || !then(&e, rg_relu(ctx, e, error)))
            return FALSE;
        const int64_t *es = rg_tensor_shape(e);
        if (!then(&e, rg_reshape(ctx, e, 4, (const int64_t[]){es[0], es[1], 1, 1}, error)) ||
            !then(&t, rg_add(ctx, t, e, error)))
            return FALSE;
    }
    if (!then(&t, convgn(ctx, h, &k->conv2, t, 1, error)) || !then(&t, rg_relu(ctx, t, error)) ||
        !then(&t, convgn(ctx, h, &k->conv3, t, 0, error))) // (B, P, H, W)
        return FALSE;
    if (k->has_shortcut) {
        g_autoptr(rg_tensor) sc = convgn(ctx, h, &k->shortcut, x, 0, error);
        g_clear_pointer(&x, rg_tensor_unref);
        if (!sc || !then(&t, rg_add(ctx, t, sc, error)))
            return FALSE;
    } else if (!then(&t, rg_add(ctx, t, x, error))) {
        return FALSE;
    }
    g_clear_pointer(&x, rg_tensor_unref);
    if (!then(&t, rg_relu(ctx, t, error)) || !then(&t, rg_mul(ctx, t, mix, error)))
        return FALSE;
    outputs[0] = g_steal_pointer(&t);
    return TRUE;
}

static head_segment *segment_for(rg_head *h, int l, int64_t out_h, int64_t out_w)
{
    for (guint i = 0; i < h->segments->len; i++) {
        head_segment *s = g_ptr_array_index(h->segments, i);
        if (s->l == l && s->out_h == out_h && s->out_w == out_w)
            return s;
    }
    head_segment *s = g_new(head_segment, 1);
    *s = (head_segment){h, l, out_h, out_w};
    g_ptr_array_add(h->segments, s);
    return s;
}

/* The inputs fit the head: FALSE with RG_ERROR_SHAPE / RG_ERROR_ARGUMENT naming them otherwise. */
static gboolean check_inputs(const rg_head *h, rg_tensor *const *features, rg_tensor *emb, int64_t out_h,
                             int64_t out_w, GError **error)
{
    const rg_head_config *c = &h->config;
    if (out_h < 1 || out_w < 1 || out_h > G_MAXINT32 || out_w > G_MAXINT32) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "head: output size %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                    " must be positive", (gint64)out_h, (gint64)out_w);
        return FALSE;
    }
    int64_t batch = -1;
    for (int l = 0; l < c->n_layers; l++) {
        rg_tensor *f = features[l];
        if (!f) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "head: features[%d] is missing (the head reads %d)", l,
                        c->n_layers);
            return FALSE;
        }
        const int64_t *s = rg_tensor_shape(f);
        const gboolean fits = rg_tensor_dtype(f) == RG_DTYPE_F32 && rg_tensor_ndim(f) == 4 && s[1] == c->dims[l] &&
                              s[0] >= 1 && s[2] >= 1 && s[3] >= 1 && (batch < 0 || s[0] == batch);
        if (!fits) {
            g_autofree char *got = rg_tensor_shape_string(f);
            g_autofree char *b = batch < 0 ? g_strdup("B") : g_strdup_printf("%" G_GINT64_FORMAT, (gint64)batch);
            g_set_error(error, RG_ERROR, rg_tensor_dtype(f) == RG_DTYPE_F32 ? RG_ERROR_SHAPE : RG_ERROR_DTYPE,
                        "head: features[%d] is %s %s; expected F32 (%s,%d,h,w)", l, rg_dtype_name(rg_tensor_dtype(f)),
                        got, b, c->dims[l]);
            return FALSE;
        }
        batch = s[0];
    }
    if (emb && !c->bottleneck_sequential) {
        const int64_t *s = rg_tensor_shape(emb);
        if (rg_tensor_dtype(emb) != RG_DTYPE_F32 || rg_tensor_ndim(emb) != 2 || s[1] != c->emb_dim || s[0] < 1 ||
            (s[0] != 1 && s[0] < batch)) {
            g_autofree char *got = rg_tensor_shape_string(emb);
            g_set_error(error, RG_ERROR, rg_tensor_dtype(emb) == RG_DTYPE_F32 ? RG_ERROR_SHAPE : RG_ERROR_DTYPE,
                        "head: emb is %s %s; expected F32 (%" G_GINT64_FORMAT ",%d) or (1,%d)",
                        rg_dtype_name(rg_tensor_dtype(emb)), got, (gint64)batch, c->emb_dim, c->emb_dim);
            return FALSE;
        }
    }
    return TRUE;
}

rg_tensor *rg_head_forward(rg_head *h, rg_ctx *ctx, rg_tensor *const *features, rg_tensor *emb, int64_t out_h,
                           int64_t out_w, GError **error)
{
    g_return_val_if_fail(h != NULL && ctx != NULL && features != NULL, NULL);
    const rg_head_config *c = &h->config;
    if (!check_inputs(h, features, emb, out_h, out_w, error))
        return NULL;
    const int64_t batch = rg_tensor_shape(features[0])[0];
    g_autoptr(rg_tensor) e = NULL; // (B or 1, E)
    if (emb && !c->bottleneck_sequential) {
        /* the official blocks keep the first B rows of a longer emb */
        if (rg_tensor_shape(emb)[0] > batch)
            e = rg_slice(ctx, emb, 0, 0, batch, error);
        else
            e = rg_tensor_ref(emb);
        if (!e)
            return NULL;
    }
    g_autoptr(rg_tensor) mix = rg_softmax(ctx, h->mixing, error); // (L)
    if (!mix)
        return NULL;
    const gboolean checkpoint = h->checkpointing && rg_ctx_get_tape(ctx);
    g_autoptr(rg_tensor) acc = NULL; // (B, P, H, W)
    for (int l = 0; l < c->n_layers; l++) {
        g_autoptr(rg_tensor) m = rg_slice(ctx, mix, 0, l, 1, error); // (1)
        if (!m)
            return NULL;
        rg_tensor *in[3] = {features[l], e, m};
        g_autoptr(rg_tensor) y = NULL;
        head_segment *s = segment_for(h, l, out_h, out_w);
        gboolean ok = checkpoint ? rg_checkpoint(ctx, layer_fn, s, in, 3, &y, 1, error)
                                 : layer_fn(ctx, in, 3, &y, 1, s, error);
        if (!ok)
            return NULL;
        if (!acc)
            acc = g_steal_pointer(&y);
        else if (!then(&acc, rg_add(ctx, acc, y, error)))
            return NULL;
    }
    if (!c->use_output_head)
        return g_steal_pointer(&acc);
    /* conv3x3 P->128, SiLU, conv3x3 128->32, SiLU, conv1x1 32->C_out, tanh */
    if (!then(&acc, rg_conv2d(ctx, acc, h->out_w[0], h->out_b[0], 1, 1, error)) ||
        !then(&acc, rg_silu(ctx, acc, error)) ||
        !then(&acc, rg_conv2d(ctx, acc, h->out_w[1], h->out_b[1], 1, 1, error)) ||
        !then(&acc, rg_silu(ctx, acc, error)) ||
        !then(&acc, rg_conv2d(ctx, acc, h->out_w[2], h->out_b[2], 1, 0, error)))
        return NULL;
    if (c->output_act && !then(&acc, rg_tanh(ctx, acc, error)))
        return NULL;
    return g_steal_pointer(&acc);
}
