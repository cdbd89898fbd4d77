/* head_train_loss.c — the training losses of the official readout heads
 * (readout_guidance_spec.md §3.2–§3.4): balanced MSE (train_spatial.py),
 * symmetric InfoNCE (DHF's compute_clip_loss), the DreamSim-style hinge
 * (train_appearance.py); the cross entropy they need; the official point
 * normalisation.
 *
 * Everything but the cross entropy is made of engine operations, so the
 * tape differentiates it. The engine has no log, so the cross entropy is one
 * recorded operation of its own here: forward logsumexp in double, backward
 * (softmax - onehot) / N.
 */
#include <math.h>
#include <string.h>

#include "autograd/tape_impl.h"
#include "train/head_train_internal.h"

/* Replaces *@t by @next (which may be NULL after an error); returns @next. */
static rg_tensor *then(rg_tensor **t, rg_tensor *next)
{
    rg_tensor_unref(*t);
    *t = next;
    return next;
}

static gboolean check_pair(const char *op, rg_tensor *a, const char *na, rg_tensor *b, const char *nb, int ndim,
                           GError **error)
{
    if (!a || !b) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: %s is missing", op, !a ? na : nb);
        return FALSE;
    }
    if (!rg_check_f32(op, na, a, error) || !rg_check_f32(op, nb, b, error))
        return FALSE;
    if (rg_tensor_ndim(a) != ndim || !rg_tensor_same_shape(a, b) || rg_tensor_numel(a) == 0) {
        g_autofree char *sa = rg_tensor_shape_string(a);
        g_autofree char *sb = rg_tensor_shape_string(b);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: %s %s and %s %s must be the same non-empty %d-D shape", op,
                    na, sa, nb, sb, ndim);
        return FALSE;
    }
    return TRUE;
}

/* ---- spatial ------------------------------------------------------------------ */

rg_tensor *rg_head_loss_spatial(rg_ctx *ctx, rg_tensor *pred, rg_tensor *target, gboolean sparse, float bg_value,
                                GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    if (!check_pair("head_loss_spatial", pred, "pred", target, "target", 4, error))
        return NULL;
    g_autoptr(rg_tensor) d = rg_sub(ctx, pred, target, error);
    g_autoptr(rg_tensor) sq = d ? rg_mul(ctx, d, d, error) : NULL; // (B, C, h, w)
    if (!sq)
        return NULL;
    if (!sparse)
        return rg_mean(ctx, sq, error);
    /* the masks are constants: which elements are background (target == control_range[0]) */
    g_autoptr(rg_tensor) tc = rg_tensor_contiguous_copy(target, error);
    g_autoptr(rg_tensor) bg = tc ? rg_tensor_new_like(target, error) : NULL;
    g_autoptr(rg_tensor) fg = bg ? rg_tensor_new_like(target, error) : NULL;
    if (!fg)
        return NULL;
    const float *tv = rg_tensor_data_f32(tc);
    float *bv = rg_tensor_data_f32(bg), *fv = rg_tensor_data_f32(fg);
    const int64_t n = rg_tensor_numel(target);
    int64_t n_bg = 0;
    for (int64_t i = 0; i < n; i++) {
        bv[i] = tv[i] == bg_value ? 1.0f : 0.0f;
        fv[i] = 1.0f - bv[i];
        n_bg += tv[i] == bg_value;
    }
    if (n_bg == 0 || n_bg == n) /* the official falls back to the plain mean without background */
        return rg_mean(ctx, sq, error);
    // 1/2 mean over background + 1/2 mean over the rest
    g_autoptr(rg_tensor) lb = rg_mul(ctx, sq, bg, error);
    g_autoptr(rg_tensor) lf = lb ? rg_mul(ctx, sq, fg, error) : NULL;
    if (!lf || !then(&lb, rg_sum(ctx, lb, error)) || !then(&lf, rg_sum(ctx, lf, error)) ||
        !then(&lb, rg_scale(ctx, lb, (float)(0.5 / (double)n_bg), 0.0f, error)) ||
        !then(&lf, rg_scale(ctx, lf, (float)(0.5 / (double)(n - n_bg)), 0.0f, error)))
        return NULL;
    return rg_add(ctx, lb, lf, error);
}

/* ---- cross entropy ------------------------------------------------------------ */

typedef struct {
    int64_t n, k;
} ce_params;

/* d loss / d logits = dout (softmax - onehot) / N */
static gboolean ce_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din, GError **error)
{
    (void)ctx;
    const ce_params *p = rg_node_params(node, ce_params);
    rg_tensor *prob = node->saved[0], *targets = node->saved[1];
    const double g = rg_tensor_get_flat(dout[0], 0) / (double)p->n;
    const int64_t shape[2] = {p->n, p->k};
    rg_tensor *dx = rg_tensor_new_uninit(RG_DTYPE_F32, 2, shape, error);
    if (!dx)
        return FALSE;
    const float *pv = rg_tensor_data_f32(prob);
    const int64_t *tv = rg_tensor_data_i64(targets);
    float *dv = rg_tensor_data_f32(dx);
    for (int64_t i = 0; i < p->n; i++) {
        for (int64_t j = 0; j < p->k; j++)
            dv[i * p->k + j] = (float)(g * pv[i * p->k + j]);
        dv[i * p->k + tv[i]] = (float)(g * ((double)pv[i * p->k + tv[i]] - 1.0));
    }
    din[0] = dx;
    return TRUE;
}

rg_tensor *rg_head_cross_entropy(rg_ctx *ctx, rg_tensor *logits, const int64_t *targets, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    if (!logits || !targets) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "head_cross_entropy: %s is missing",
                    !logits ? "logits" : "targets");
        return NULL;
    }
    if (!rg_check_f32("head_cross_entropy", "logits", logits, error) ||
        !rg_check_ndim("head_cross_entropy", "logits", logits, 2, error))
        return NULL;
    const int64_t n = rg_tensor_shape(logits)[0], k = rg_tensor_shape(logits)[1];
    if (n < 1 || k < 1) {
        g_autofree char *s = rg_tensor_shape_string(logits);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "head_cross_entropy: logits %s are empty", s);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        if (targets[i] < 0 || targets[i] >= k) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "head_cross_entropy: target %" G_GINT64_FORMAT " = %"
                        G_GINT64_FORMAT " is not a class in [0, %" G_GINT64_FORMAT ")", (gint64)i, (gint64)targets[i],
                        (gint64)k);
            return NULL;
        }
    }
    const gboolean wants = rg_autograd_wants(ctx, &logits, 1);
    g_autoptr(rg_tensor) x = rg_tensor_contiguous_copy(logits, error);
    const int64_t shape[1] = {1}, tshape[1] = {n};
    g_autoptr(rg_tensor) out = x ? rg_tensor_new(RG_DTYPE_F32, 1, shape, error) : NULL;
    g_autoptr(rg_tensor) prob = out && wants ? rg_tensor_new_like(x, error) : NULL;
    g_autoptr(rg_tensor) tt = out && wants ? rg_tensor_new_from_data(RG_DTYPE_I64, 1, tshape, targets, error) : NULL;
    if (!out || (wants && (!prob || !tt)))
        return NULL;
    const float *xv = rg_tensor_data_f32(x);
    float *pv = prob ? rg_tensor_data_f32(prob) : NULL;
    double total = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *row = xv + i * k;
        double m = -INFINITY, s = 0;
        for (int64_t j = 0; j < k; j++)
            m = MAX(m, (double)row[j]);
        for (int64_t j = 0; j < k; j++)
            s += exp((double)row[j] - m);
        const double lse = m + log(s);
        total += lse - (double)row[targets[i]];
        if (pv)
            for (int64_t j = 0; j < k; j++)
                pv[i * k + j] = (float)exp((double)row[j] - lse);
    }
    rg_tensor_data_f32(out)[0] = (float)(total / (double)n);
    if (wants) {
        rg_node *node = rg_autograd_record(ctx, "head_cross_entropy", ce_backward, &logits, 1, &out, 1);
        *rg_node_params(node, ce_params) = (ce_params){n, k};
        rg_node_save(node, 0, prob);
        rg_node_save(node, 1, tt);
    }
    return g_steal_pointer(&out);
}

/* ---- correspondence -------------------------------------------------------------- */

/* (1, C, H, W) -> (1, C, HW) of unit vectors over C. The engine has no sqrt
 * or division, so the norm comes from a layer norm of [x, -x] (2C values
 * with mean 0 and variance |x|^2 / C): its first half is x sqrt(C) / |x|. */
static rg_tensor *unit_columns(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    const int64_t *s = rg_tensor_shape(x);
    const int64_t C = s[1], HW = s[2] * s[3];
    g_autoptr(rg_tensor) t = rg_reshape(ctx, x, 3, (const int64_t[]){1, C, HW}, error);
    if (!t || !then(&t, rg_permute(ctx, t, (const int[]){0, 2, 1}, error))) // (1, HW, C)
        return NULL;
    g_autoptr(rg_tensor) neg = rg_scale(ctx, t, -1.0f, 0.0f, error);
    if (!neg)
        return NULL;
    rg_tensor *both[2] = {t, neg};
    g_autoptr(rg_tensor) u = rg_concat(ctx, both, 2, 2, error); // (1, HW, 2C)
    if (!u || !then(&u, rg_layer_norm(ctx, u, NULL, NULL, 1e-30f, error)) || !then(&u, rg_slice(ctx, u, 2, 0, C, error)) ||
        !then(&u, rg_scale(ctx, u, (float)(1.0 / sqrt((double)C)), 0.0f, error)))
        return NULL;
    return rg_permute(ctx, u, (const int[]){0, 2, 1}, error); // (1, C, HW)
}

/* CE over rows @idx of (cos(a[:, idx], b[:, all]) / T) against @classes. a, b (1, C, HW). */
static rg_tensor *directional(rg_ctx *ctx, rg_tensor *a, rg_tensor *b, const int64_t *idx, const int64_t *classes,
                              int n, float temperature, GError **error)
{
    const int64_t ishape[2] = {1, n};
    g_autoptr(rg_tensor) index = rg_tensor_new_from_data(RG_DTYPE_I64, 2, ishape, idx, error);
    g_autoptr(rg_tensor) rows = index ? rg_gather(ctx, a, index, error) : NULL; // (1, C, n)
    // (1, n, C) x (1, C, HW) -> (1, n, HW)
    g_autoptr(rg_tensor) logits = rows ? rg_matmul(ctx, rows, b, TRUE, FALSE, error) : NULL;
    const int64_t HW = rg_tensor_shape(b)[2];
    if (!logits || !then(&logits, rg_scale(ctx, logits, 1.0f / temperature, 0.0f, error)) ||
        !then(&logits, rg_reshape(ctx, logits, 2, (const int64_t[]){n, HW}, error)))
        return NULL;
    return rg_head_cross_entropy(ctx, logits, classes, error);
}

rg_tensor *rg_head_loss_infonce(rg_ctx *ctx, rg_tensor *src, rg_tensor *tgt, const int64_t *src_idx,
                                const int64_t *tgt_idx, int n, float temperature, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    const char *op = "head_loss_infonce";
    if (!check_pair(op, src, "src", tgt, "tgt", 4, error))
        return NULL;
    const int64_t *s = rg_tensor_shape(src), HW = s[2] * s[3];
    if (s[0] != 1) {
        g_autofree char *ss = rg_tensor_shape_string(src);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: src %s must hold one readout (1, C, H, W)", op, ss);
        return NULL;
    }
    if (n < 1 || !src_idx || !tgt_idx) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: no matches given", op);
        return NULL;
    }
    if (!(temperature > 0) || !isfinite(temperature)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: temperature %g must be positive", op, temperature);
        return NULL;
    }
    for (int k = 0; k < n; k++) {
        if (src_idx[k] < 0 || src_idx[k] >= HW || tgt_idx[k] < 0 || tgt_idx[k] >= HW) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: match %d (%" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT
                        ") is off the %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " grid", op, k, (gint64)src_idx[k],
                        (gint64)tgt_idx[k], (gint64)s[2], (gint64)s[3]);
            return NULL;
        }
    }
    g_autoptr(rg_tensor) f1 = unit_columns(ctx, src, error);
    g_autoptr(rg_tensor) f2 = f1 ? unit_columns(ctx, tgt, error) : NULL;
    g_autoptr(rg_tensor) st = f2 ? directional(ctx, f1, f2, src_idx, tgt_idx, n, temperature, error) : NULL;
    g_autoptr(rg_tensor) ts = st ? directional(ctx, f2, f1, tgt_idx, src_idx, n, temperature, error) : NULL;
    g_autoptr(rg_tensor) sum = ts ? rg_add(ctx, st, ts, error) : NULL;
    return sum ? rg_scale(ctx, sum, 0.5f, 0.0f, error) : NULL;
}

/* ---- appearance ------------------------------------------------------------------ */

/* Per sample: mean over pixels of 1 - cos(a, b) over channels. (B, 1) */
static rg_tensor *distance(rg_ctx *ctx, rg_tensor *a, rg_tensor *b, GError **error)
{
    const int64_t *s = rg_tensor_shape(a);
    g_autoptr(rg_tensor) c = rg_cosine_similarity(ctx, a, b, 1e-8f, error); // (B, H, W)
    if (!c || !then(&c, rg_reshape(ctx, c, 2, (const int64_t[]){s[0], s[2] * s[3]}, error)) ||
        !then(&c, rg_mean_dim(ctx, c, 1, error)))
        return NULL;
    return rg_scale(ctx, c, -1.0f, 1.0f, error);
}

rg_tensor *rg_head_loss_triplet(rg_ctx *ctx, rg_tensor *anchor, rg_tensor *positive, rg_tensor *negative,
                                float margin, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    const char *op = "head_loss_triplet";
    if (!check_pair(op, anchor, "anchor", positive, "positive", 4, error) ||
        !check_pair(op, anchor, "anchor", negative, "negative", 4, error))
        return NULL;
    if (!isfinite(margin)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: margin %g is not finite", op, margin);
        return NULL;
    }
    g_autoptr(rg_tensor) dp = distance(ctx, anchor, positive, error);
    g_autoptr(rg_tensor) dn = dp ? distance(ctx, anchor, negative, error) : NULL;
    // sum_b max(0, margin + d(a, p) - d(a, n))
    g_autoptr(rg_tensor) h = dn ? rg_sub(ctx, dp, dn, error) : NULL;
    if (!h || !then(&h, rg_scale(ctx, h, 1.0f, margin, error)) || !then(&h, rg_relu(ctx, h, error)))
        return NULL;
    return rg_sum(ctx, h, error);
}

/* ---- points ------------------------------------------------------------------------ */

int64_t rg_head_point_index(float x, float y, int res, int grid_h, int grid_w)
{
    if (!isfinite(x) || !isfinite(y) || res < 2 || grid_h < 1 || grid_w < 1)
        return -1;
    /* float32 as the official tensors: x / (res - 1) clipped to [0, 1], times the grid, clipped, np.round */
    float nx = CLAMP(x / (float)(res - 1), 0.0f, 1.0f) * (float)grid_w;
    float ny = CLAMP(y / (float)(res - 1), 0.0f, 1.0f) * (float)grid_h;
    nx = nearbyintf(CLAMP(nx, 0.0f, (float)(grid_w - 1)));
    ny = nearbyintf(CLAMP(ny, 0.0f, (float)(grid_h - 1)));
    return (int64_t)grid_w * (int64_t)ny + (int64_t)nx;
}
