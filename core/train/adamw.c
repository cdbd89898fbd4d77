/* adamw.c — the optimizer side of training: torch.optim.AdamW over many
 * tensors, clip_grad_norm_, linear learning-rate warm-up, and diffusers'
 * EMAModel of the weights.
 *
 * These touch host memory directly: they are the non-differentiable update
 * of leaves between backward passes, never recorded on a tape. Element loops
 * are split over the engine's OpenMP threads; each element's arithmetic does
 * not depend on the split, so results are the same bits on any thread count.
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "readout/train.h"

/* Loops shorter than this stay on one thread (a fork costs more). */
#define PARALLEL_MIN 16384

static gboolean check_param(const char *what, int i, rg_tensor *p, GError **error)
{
    if (!p) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: parameter %d is missing", what, i);
        return FALSE;
    }
    if (rg_tensor_dtype(p) != RG_DTYPE_F32) {
        g_set_error(error, RG_ERROR, RG_ERROR_DTYPE, "%s: parameter %d is %s, not F32", what, i,
                    rg_dtype_name(rg_tensor_dtype(p)));
        return FALSE;
    }
    if (!rg_tensor_is_contiguous(p)) {
        g_autofree char *s = rg_tensor_shape_string(p);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: parameter %d %s is not contiguous", what, i, s);
        return FALSE;
    }
    return TRUE;
}

/* Whether @g is usable as the gradient of @p (same shape, F32, contiguous). */
static gboolean check_grad(const char *what, int i, rg_tensor *p, rg_tensor *g, GError **error)
{
    int nd = rg_tensor_ndim(p);
    if (rg_tensor_dtype(g) == RG_DTYPE_F32 && rg_tensor_ndim(g) == nd && rg_tensor_is_contiguous(g) &&
        memcmp(rg_tensor_shape(g), rg_tensor_shape(p), sizeof(int64_t) * (size_t)nd) == 0)
        return TRUE;
    g_autofree char *sp = rg_tensor_shape_string(p);
    g_autofree char *sg = rg_tensor_shape_string(g);
    g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: the gradient %s of parameter %d does not fit it %s (or is not "
                "contiguous F32)", what, sg, i, sp);
    return FALSE;
}

/* ---- AdamW ------------------------------------------------------------------ */

struct rg_adamw {
    rg_adamw_config c;
    int n;
    rg_tensor **params; /* references */
    rg_tensor **m, **v; /* exp_avg, exp_avg_sq */
    int64_t *step;
};

void rg_adamw_config_init(rg_adamw_config *c)
{
    c->lr = 1e-4f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
    c->weight_decay = 0.01f;
}

static gboolean check_config(const rg_adamw_config *c, GError **error)
{
    const char *bad = NULL;
    double value = 0;
    if (!isfinite(c->lr) || c->lr < 0)
        bad = "lr", value = c->lr;
    else if (!isfinite(c->eps) || c->eps < 0)
        bad = "eps", value = c->eps;
    else if (!(c->beta1 >= 0 && c->beta1 < 1))
        bad = "beta1", value = c->beta1;
    else if (!(c->beta2 >= 0 && c->beta2 < 1))
        bad = "beta2", value = c->beta2;
    else if (!isfinite(c->weight_decay) || c->weight_decay < 0)
        bad = "weight_decay", value = c->weight_decay;
    if (!bad)
        return TRUE;
    g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "adamw: %s %g is out of range (lr, eps, weight_decay >= 0, "
                "betas in [0, 1))", bad, value);
    return FALSE;
}

void rg_adamw_free(rg_adamw *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->n; i++) {
        if (a->params[i])
            rg_tensor_unref(a->params[i]);
        if (a->m[i])
            rg_tensor_unref(a->m[i]);
        if (a->v[i])
            rg_tensor_unref(a->v[i]);
    }
    g_free(a->params);
    g_free(a->m);
    g_free(a->v);
    g_free(a->step);
    g_free(a);
}

rg_adamw *rg_adamw_new(const rg_adamw_config *c, int n, rg_tensor *const *params, GError **error)
{
    g_return_val_if_fail(c != NULL, NULL);
    if (!check_config(c, error))
        return NULL;
    if (n < 1 || !params) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "adamw: no parameters to optimise");
        return NULL;
    }
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
    for (int i = 0; i < n; i++) {
        if (!check_param("adamw", i, params[i], error))
            return NULL;
        if (!g_hash_table_add(seen, params[i])) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "adamw: parameter %d is given twice", i);
            return NULL;
        }
    }
    g_autoptr(rg_adamw) a = g_new0(rg_adamw, 1);
    a->c = *c;
    a->n = n;
    a->params = g_new0(rg_tensor *, n);
    a->m = g_new0(rg_tensor *, n);
    a->v = g_new0(rg_tensor *, n);
    a->step = g_new0(int64_t, n);
    for (int i = 0; i < n; i++) {
        a->params[i] = rg_tensor_ref(params[i]);
        int nd = rg_tensor_ndim(params[i]);
        const int64_t *shape = rg_tensor_shape(params[i]);
        if (!(a->m[i] = rg_tensor_new(RG_DTYPE_F32, nd, shape, error)) ||
            !(a->v[i] = rg_tensor_new(RG_DTYPE_F32, nd, shape, error)))
            return NULL;
    }
    return g_steal_pointer(&a);
}

int rg_adamw_n_params(const rg_adamw *a)
{
    return a->n;
}

rg_tensor *rg_adamw_moment(rg_adamw *a, int i, int which)
{
    g_return_val_if_fail(a != NULL && i >= 0 && i < a->n && (which == 0 || which == 1), NULL);
    return which == 0 ? a->m[i] : a->v[i];
}

int64_t rg_adamw_get_step(const rg_adamw *a, int i)
{
    g_return_val_if_fail(a != NULL && i >= 0 && i < a->n, 0);
    return a->step[i];
}

void rg_adamw_set_step(rg_adamw *a, int i, int64_t step)
{
    g_return_if_fail(a != NULL && i >= 0 && i < a->n && step >= 0);
    a->step[i] = step;
}

/* torch 1.13 _single_tensor_adamw, element by element in f32 (torch's
 * tensor ops with the Python-double coefficients rounded to float). */
static void adamw_update(float *p, const float *g, float *m, float *v, int64_t count, const rg_adamw_config *c,
                         float lr, int64_t step)
{
    const float decay = (float)(1.0 - (double)lr * c->weight_decay);
    const float b1 = c->beta1, b2 = c->beta2, omb1 = (float)(1.0 - c->beta1), omb2 = (float)(1.0 - c->beta2);
    const double bc1 = 1.0 - pow(c->beta1, (double)step), bc2 = 1.0 - pow(c->beta2, (double)step);
    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2), eps = c->eps;
    const int threads = count >= PARALLEL_MIN ? rg_get_num_threads() : 1;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t k = 0; k < count; k++) {
        float pk = p[k] * decay;
        float mk = m[k] * b1 + omb1 * g[k];
        float vk = v[k] * b2 + omb2 * (g[k] * g[k]);
        float denom = sqrtf(vk) / bc2_sqrt + eps;
        p[k] = pk + -step_size * (mk / denom);
        m[k] = mk;
        v[k] = vk;
    }
}

gboolean rg_adamw_step(rg_adamw *a, float lr, GError **error)
{
    g_return_val_if_fail(a != NULL, FALSE);
    if (lr < 0)
        lr = a->c.lr;
    if (!isfinite(lr)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "adamw: learning rate %g is not finite", lr);
        return FALSE;
    }
    /* check everything first, so that a failed step changes nothing */
    for (int i = 0; i < a->n; i++) {
        rg_tensor *g = rg_tensor_get_grad(a->params[i]);
        if (g && !check_grad("adamw", i, a->params[i], g, error))
            return FALSE;
    }
    for (int i = 0; i < a->n; i++) {
        rg_tensor *g = rg_tensor_get_grad(a->params[i]);
        if (!g)
            continue;
        a->step[i]++;
        adamw_update(rg_tensor_data_f32(a->params[i]), rg_tensor_data_f32(g), rg_tensor_data_f32(a->m[i]),
                     rg_tensor_data_f32(a->v[i]), rg_tensor_numel(a->params[i]), &a->c, lr, a->step[i]);
    }
    return TRUE;
}

/* ---- gradient clipping and warm-up ----------------------------------------- */

gboolean rg_clip_grad_norm(int n, rg_tensor *const *params, double max_norm, double *total_norm, GError **error)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        rg_tensor *g = params[i] ? rg_tensor_get_grad(params[i]) : NULL;
        if (!g)
            continue;
        if (!check_grad("clip_grad_norm", i, params[i], g, error))
            return FALSE;
        const float *d = rg_tensor_data_f32(g);
        const int64_t count = rg_tensor_numel(g);
        double s = 0;
        /* fixed chunks summed in order: the same bits on any thread count */
        const int64_t chunk = 4096, n_chunks = (count + chunk - 1) / chunk;
        double *part = g_new0(double, MAX(n_chunks, 1));
        const int threads = count >= PARALLEL_MIN ? rg_get_num_threads() : 1;
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int64_t c = 0; c < n_chunks; c++) {
            double acc = 0;
            for (int64_t k = c * chunk; k < MIN(count, (c + 1) * chunk); k++)
                acc += (double)d[k] * d[k];
            part[c] = acc;
        }
        for (int64_t c = 0; c < n_chunks; c++)
            s += part[c];
        g_free(part);
        sum += s;
    }
    const double norm = sqrt(sum);
    if (total_norm)
        *total_norm = norm;
    if (!isfinite(norm)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "clip_grad_norm: the total gradient norm is %g", norm);
        return FALSE;
    }
    if (max_norm <= 0)
        return TRUE;
    const double coef = max_norm / (norm + 1e-6);
    if (coef >= 1.0)
        return TRUE; /* torch multiplies by the clamped 1.0: no change */
    const float f = (float)coef;
    for (int i = 0; i < n; i++) {
        rg_tensor *g = params[i] ? rg_tensor_get_grad(params[i]) : NULL;
        if (!g)
            continue;
        float *d = rg_tensor_data_f32(g);
        const int64_t count = rg_tensor_numel(g);
        const int threads = count >= PARALLEL_MIN ? rg_get_num_threads() : 1;
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int64_t k = 0; k < count; k++)
            d[k] *= f;
    }
    return TRUE;
}

float rg_lr_warmup(float lr, int64_t step, int64_t warmup_steps)
{
    if (warmup_steps <= 0 || step + 1 >= warmup_steps)
        return lr;
    return (float)((double)lr * (double)(step + 1) / (double)warmup_steps);
}

/* ---- EMA ------------------------------------------------------------------- */

struct rg_ema {
    int n;
    float max_decay;
    int64_t updates;
    rg_tensor **shadow;
};

void rg_ema_free(rg_ema *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->n; i++)
        if (e->shadow[i])
            rg_tensor_unref(e->shadow[i]);
    g_free(e->shadow);
    g_free(e);
}

rg_ema *rg_ema_new(int n, rg_tensor *const *params, float max_decay, GError **error)
{
    if (n < 1 || !params) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "ema: no parameters");
        return NULL;
    }
    if (!(max_decay >= 0 && max_decay <= 1)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "ema: max_decay %g is outside [0, 1]", max_decay);
        return NULL;
    }
    g_autoptr(rg_ema) e = g_new0(rg_ema, 1);
    e->n = n;
    e->max_decay = max_decay;
    e->shadow = g_new0(rg_tensor *, n);
    for (int i = 0; i < n; i++) {
        if (!check_param("ema", i, params[i], error))
            return NULL;
        e->shadow[i] = rg_tensor_new_from_data(RG_DTYPE_F32, rg_tensor_ndim(params[i]), rg_tensor_shape(params[i]),
                                               rg_tensor_data_f32(params[i]), error);
        if (!e->shadow[i])
            return NULL;
    }
    return g_steal_pointer(&e);
}

double rg_ema_decay(int64_t update, float max_decay)
{
    const int64_t k = MAX(0, update - 1);
    if (k <= 0)
        return 0.0;
    return MAX(MIN((1.0 + (double)k) / (10.0 + (double)k), (double)max_decay), 0.0);
}

gboolean rg_ema_update(rg_ema *e, rg_tensor *const *params, GError **error)
{
    g_return_val_if_fail(e != NULL && params != NULL, FALSE);
    for (int i = 0; i < e->n; i++) {
        if (!params[i] || rg_tensor_numel(params[i]) != rg_tensor_numel(e->shadow[i]) ||
            !check_param("ema", i, params[i], error)) {
            if (error && !*error)
                g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "ema: parameter %d does not fit its shadow", i);
            return FALSE;
        }
    }
    e->updates++;
    /* torch: s_param.sub_(one_minus_decay * (s_param - param)), f32 with the
     * Python-double factor rounded to float */
    const float omd = (float)(1.0 - rg_ema_decay(e->updates, e->max_decay));
    for (int i = 0; i < e->n; i++) {
        float *s = rg_tensor_data_f32(e->shadow[i]);
        const float *p = rg_tensor_data_f32(params[i]);
        const int64_t count = rg_tensor_numel(params[i]);
        const int threads = count >= PARALLEL_MIN ? rg_get_num_threads() : 1;
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int64_t k = 0; k < count; k++)
            s[k] -= omd * (s[k] - p[k]);
    }
    return TRUE;
}

rg_tensor *rg_ema_get(rg_ema *e, int i)
{
    g_return_val_if_fail(e != NULL && i >= 0 && i < e->n, NULL);
    return e->shadow[i];
}

int64_t rg_ema_get_updates(const rg_ema *e)
{
    return e->updates;
}

void rg_ema_set_updates(rg_ema *e, int64_t updates)
{
    g_return_if_fail(e != NULL && updates >= 0);
    e->updates = updates;
}
