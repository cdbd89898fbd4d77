/* clip.c — the CLIP text encoder (transformers' CLIPTextModel): construction
 * from named weights, the list of tensors a config needs, the token
 * embedding lookup and the forward.
 *
 *   x = token_embedding[ids] + position_embedding[0..T)             (B, T, C)
 *   for each layer:                                                   pre-LN
 *       x = x + out_proj(attention_causal(q_proj(h), k_proj(h), v_proj(h)))  h = layer_norm1(x)
 *       x = x + fc2(act(fc1(layer_norm2(x))))                         act = QuickGELU (SD1.x) or GELU
 *   last_hidden_state = final_layer_norm(x)
 *
 * The attention is scaled by head_size^-1/2 (transformers multiplies q_proj's
 * output by it) with CLIP's causal mask: token t sees tokens 0..t.
 *
 * Every tensor is named and shaped in one place, walk(): construction loads
 * through it, rg_clip_text_required_tensors() lists through it, and freeing
 * releases through it, so the three cannot disagree.
 *
 * The lookup copies rows (B*T*C floats; 0.2 MB for SD1.5) outside autograd:
 * the tables are frozen weights and the ids integers. Its cost is that of a
 * memcpy, a few microseconds next to the ~10^10 FLOPs of the layers.
 */
#include "models/clip/clip_internal.h"

#include <string.h>

#include "tensor/tensor_impl.h"

/* ---- every tensor, by name and shape -------------------------------------- */

/* Visits tensor @name of @ndim dimensions @shape; @slot is where the model
 * keeps it, or NULL when only listing. */
typedef gboolean (*visit_fn)(const char *name, int ndim, const int64_t *shape, rg_tensor **slot, gpointer data,
                             GError **error);

typedef struct {
    visit_fn visit;
    gpointer data;
} visitor;

static gboolean param(visitor *v, rg_tensor **slot, const char *prefix, const char *suffix, int ndim, int64_t d0,
                      int64_t d1, GError **error)
{
    g_autofree char *name = g_strconcat(prefix, suffix, NULL);
    int64_t shape[2] = {d0, d1};
    return v->visit(name, ndim, shape, slot, v->data, error);
}

/* "@prefix@what.weight" (out, in) and "@prefix@what.bias" (out) of a Linear. */
static gboolean linear_params(visitor *v, rg_tensor **w, rg_tensor **b, const char *prefix, const char *what,
                              int64_t out, int64_t in, GError **error)
{
    g_autofree char *pw = g_strconcat(prefix, what, ".weight", NULL);
    g_autofree char *pb = g_strconcat(prefix, what, ".bias", NULL);
    return param(v, w, pw, "", 2, out, in, error) && param(v, b, pb, "", 1, out, 0, error);
}

/* "@prefix@what.weight" and ".bias" (C) of a LayerNorm. */
static gboolean norm_params(visitor *v, rg_tensor **w, rg_tensor **b, const char *prefix, const char *what, int64_t C,
                            GError **error)
{
    g_autofree char *pw = g_strconcat(prefix, what, ".weight", NULL);
    g_autofree char *pb = g_strconcat(prefix, what, ".bias", NULL);
    return param(v, w, pw, "", 1, C, 0, error) && param(v, b, pb, "", 1, C, 0, error);
}

/* Visits every tensor of @c in the order of sd15_tensors.tsv; @m (may be
 * NULL, then the slots are NULL) holds them. */
static gboolean walk(const rg_clip_text_config *c, rg_clip_text *m, visitor *v, GError **error)
{
    int64_t V = c->vocab_size, C = c->hidden_size, P = c->max_positions, I = c->intermediate_size;
    const char *emb = "text_model.embeddings.";
    if (!param(v, m ? &m->token_embedding : NULL, emb, "token_embedding.weight", 2, V, C, error) ||
        !param(v, m ? &m->position_embedding : NULL, emb, "position_embedding.weight", 2, P, C, error))
        return FALSE;
    for (int i = 0; i < c->num_layers; i++) {
        g_autofree char *pre = g_strdup_printf("text_model.encoder.layers.%d.", i);
        clip_layer *L = m ? &m->layers[i] : NULL;
#define SLOTS(a, b) L ? &L->a : NULL, L ? &L->b : NULL
        if (!norm_params(v, SLOTS(ln1_w, ln1_b), pre, "layer_norm1", C, error) ||
            !linear_params(v, SLOTS(q_w, q_b), pre, "self_attn.q_proj", C, C, error) ||
            !linear_params(v, SLOTS(k_w, k_b), pre, "self_attn.k_proj", C, C, error) ||
            !linear_params(v, SLOTS(v_w, v_b), pre, "self_attn.v_proj", C, C, error) ||
            !linear_params(v, SLOTS(o_w, o_b), pre, "self_attn.out_proj", C, C, error) ||
            !norm_params(v, SLOTS(ln2_w, ln2_b), pre, "layer_norm2", C, error) ||
            !linear_params(v, SLOTS(fc1_w, fc1_b), pre, "mlp.fc1", I, C, error) ||
            !linear_params(v, SLOTS(fc2_w, fc2_b), pre, "mlp.fc2", C, I, error))
            return FALSE;
#undef SLOTS
    }
    return norm_params(v, m ? &m->final_w : NULL, m ? &m->final_b : NULL, "text_model.", "final_layer_norm", C,
                       error);
}

/* ---- listing, loading, freeing -------------------------------------------- */

typedef struct {
    rg_clip_tensor_fn fn;
    gpointer user_data;
} lister;

static gboolean list_one(const char *name, int ndim, const int64_t *shape, rg_tensor **slot, gpointer data,
                         GError **error)
{
    (void)slot;
    (void)error;
    lister *l = data;
    l->fn(name, ndim, shape, l->user_data);
    return TRUE;
}

gboolean rg_clip_text_required_tensors(const rg_clip_text_config *c, rg_clip_tensor_fn fn, gpointer user_data,
                                       GError **error)
{
    g_return_val_if_fail(c && fn, FALSE);
    if (!rg_clip_text_config_validate(c, error))
        return FALSE;
    lister l = {fn, user_data};
    visitor v = {list_one, &l};
    return walk(c, NULL, &v, error);
}

static gboolean load_one(const char *name, int ndim, const int64_t *shape, rg_tensor **slot, gpointer data,
                         GError **error)
{
    *slot = rg_weights_load(data, name, ndim, shape, error);
    return *slot != NULL;
}

static gboolean free_one(const char *name, int ndim, const int64_t *shape, rg_tensor **slot, gpointer data,
                         GError **error)
{
    (void)name;
    (void)ndim;
    (void)shape;
    (void)data;
    (void)error;
    g_clear_pointer(slot, rg_tensor_unref);
    return TRUE;
}

void rg_clip_text_free(rg_clip_text *m)
{
    if (!m)
        return;
    if (m->layers) {
        visitor v = {free_one, NULL};
        walk(&m->config, m, &v, NULL);
        g_free(m->layers);
    }
    g_free(m);
}

rg_clip_text *rg_clip_text_new(const rg_clip_text_config *c, rg_weights *w, GError **error)
{
    g_return_val_if_fail(c && w, NULL);
    if (!rg_clip_text_config_validate(c, error))
        return NULL;
    g_autoptr(rg_clip_text) m = g_new0(rg_clip_text, 1);
    m->config = *c;
    m->layers = g_new0(clip_layer, c->num_layers);
    visitor v = {load_one, w};
    if (!walk(c, m, &v, error)) {
        g_prefix_error(error, "CLIP text encoder: ");
        return NULL;
    }
    return g_steal_pointer(&m);
}

const rg_clip_text_config *rg_clip_text_get_config(const rg_clip_text *m)
{
    g_return_val_if_fail(m, NULL);
    return &m->config;
}

/* ---- forward -------------------------------------------------------------- */

rg_tensor *clip_embed(const rg_clip_text *m, rg_tensor *ids, GError **error)
{
    int64_t B = ids->shape[0], T = ids->shape[1], C = m->config.hidden_size, V = m->config.vocab_size;
    const int64_t *id = rg_tensor_data_i64(ids); // (B, T), rows strides[0] apart, strides[1] between ids
    int64_t s0 = ids->strides[0], s1 = ids->strides[1];
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++) {
            int64_t i = id[b * s0 + t * s1];
            if (i < 0 || i >= V) {
                g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                            "clip text: token id %" G_GINT64_FORMAT " at position (%" G_GINT64_FORMAT
                            ", %" G_GINT64_FORMAT ") of input_ids is out of range [0, %" G_GINT64_FORMAT ")",
                            i, b, t, V);
                return NULL;
            }
        }
    int64_t shape[3] = {B, T, C};
    rg_tensor *x = rg_tensor_new_uninit(RG_DTYPE_F32, 3, shape, error); // (B, T, C)
    if (!x)
        return NULL;
    float *out = rg_tensor_data_f32(x);
    const float *tok = rg_tensor_data_f32(m->token_embedding);    // (V, C)
    const float *pos = rg_tensor_data_f32(m->position_embedding); // (P, C)
#pragma omp parallel for if (B * T * C > 65536) schedule(static)
    for (int64_t r = 0; r < B * T; r++) {
        int64_t t = r % T;
        const float *e = tok + id[r / T * s0 + t * s1] * C, *p = pos + t * C;
        float *o = out + r * C;
#pragma omp simd
        for (int64_t c = 0; c < C; c++)
            o[c] = e[c] + p[c];
    }
    return x;
}

/* One CLIPEncoderLayer: x (B, T, C) -> (B, T, C), a new tensor. */
static rg_tensor *layer_forward(rg_ctx *ctx, const rg_clip_text_config *c, const clip_layer *L, rg_tensor *x,
                                GError **error)
{
    float eps = c->layer_norm_eps;
    // attention block: x + out_proj(attn(layer_norm1(x)))
    g_autoptr(rg_tensor) h = rg_layer_norm(ctx, x, L->ln1_w, L->ln1_b, eps, error); // (B, T, C)
    if (!h)
        return NULL;
    g_autoptr(rg_tensor) q = rg_linear(ctx, h, L->q_w, L->q_b, error); // (B, T, C)
    g_autoptr(rg_tensor) k = q ? rg_linear(ctx, h, L->k_w, L->k_b, error) : NULL;
    g_autoptr(rg_tensor) v = k ? rg_linear(ctx, h, L->v_w, L->v_b, error) : NULL;
    if (!v)
        return NULL;
    g_autoptr(rg_tensor) a = rg_attention_causal(ctx, q, k, v, c->num_heads, 0.0f, error); // (B, T, C)
    g_autoptr(rg_tensor) o = a ? rg_linear(ctx, a, L->o_w, L->o_b, error) : NULL;
    g_autoptr(rg_tensor) x1 = o ? rg_add(ctx, x, o, error) : NULL; // (B, T, C)
    if (!x1)
        return NULL;
    // MLP block: x1 + fc2(act(fc1(layer_norm2(x1))))
    g_autoptr(rg_tensor) h2 = rg_layer_norm(ctx, x1, L->ln2_w, L->ln2_b, eps, error);
    g_autoptr(rg_tensor) f1 = h2 ? rg_linear(ctx, h2, L->fc1_w, L->fc1_b, error) : NULL; // (B, T, I)
    if (!f1)
        return NULL;
    g_autoptr(rg_tensor) g = c->activation == RG_CLIP_ACT_GELU ? rg_gelu(ctx, f1, error)
                                                               : rg_quick_gelu(ctx, f1, error);
    g_autoptr(rg_tensor) f2 = g ? rg_linear(ctx, g, L->fc2_w, L->fc2_b, error) : NULL; // (B, T, C)
    return f2 ? rg_add(ctx, x1, f2, error) : NULL;
}

static rg_tensor *forward(rg_clip_text *m, rg_ctx *ctx, rg_tensor *ids, GError **error)
{
    g_autoptr(rg_tensor) x = clip_embed(m, ids, error); // (B, T, C)
    if (!x)
        return NULL;
    for (int i = 0; i < m->config.num_layers; i++) {
        rg_tensor *y = layer_forward(ctx, &m->config, &m->layers[i], x, error);
        if (!y) {
            g_prefix_error(error, "CLIP text encoder layer %d: ", i);
            return NULL;
        }
        rg_tensor_unref(x);
        x = y;
    }
    return rg_layer_norm(ctx, x, m->final_w, m->final_b, m->config.layer_norm_eps, error);
}

rg_tensor *rg_clip_text_forward(rg_clip_text *m, rg_ctx *ctx, rg_tensor *input_ids, GError **error)
{
    g_return_val_if_fail(m && ctx, NULL);
    if (!input_ids) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "clip text: input_ids is missing");
        return NULL;
    }
    g_autofree char *s = rg_tensor_shape_string(input_ids);
    if (rg_tensor_dtype(input_ids) != RG_DTYPE_I64) {
        g_set_error(error, RG_ERROR, RG_ERROR_DTYPE, "clip text: input_ids %s is %s, expected I64 token ids", s,
                    rg_dtype_name(rg_tensor_dtype(input_ids)));
        return NULL;
    }
    int64_t P = m->config.max_positions;
    if (rg_tensor_ndim(input_ids) != 2 || input_ids->shape[0] < 1 || input_ids->shape[1] < 1 ||
        input_ids->shape[1] > P) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "clip text: input_ids %s, expected (batch, tokens) with 1 to %" G_GINT64_FORMAT " tokens", s, P);
        return NULL;
    }
    /* frozen: nothing in here can want a gradient, so nothing is recorded */
    rg_tape *tape = rg_ctx_get_tape(ctx);
    rg_ctx_set_tape(ctx, NULL);
    rg_tensor *out = forward(m, ctx, input_ids, error); // (B, T, C)
    rg_ctx_set_tape(ctx, tape);
    return out;
}
