/* adam.c — torch.optim.AdamW with weight decay 0 on one tensor, the update
 * the official guidance takes on the latent (readout_guidance_spec.md §4.2).
 *
 * Per element, at step k (from 1), as torch 1.13's _single_tensor_adamw:
 *   m = b1 m + (1 - b1) g,   v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^k) * m / (sqrt(v) / sqrt(1 - b2^k) + eps)
 * The moments are kept in double (torch keeps them in the parameter's
 * float32), so the first step is lr * g / (|g| + eps) to double precision.
 * This works on host memory: an optimiser step is not differentiable.
 */
#include "readout/diffusion.h"

#include <math.h>
#include <string.h>

#include "tensor/tensor_impl.h"

struct rg_adam {
    double lr, beta1, beta2, eps;
    int64_t step; /* steps taken */
    int ndim;     /* shape of the parameter, fixed by the first step */
    int64_t shape[RG_MAX_DIMS];
    double *m, *v; /* first and second moments, numel each */
};

rg_adam *rg_adam_new(float lr, float beta1, float beta2, float eps)
{
    rg_adam *a = g_new0(rg_adam, 1);
    a->lr = lr;
    a->beta1 = beta1;
    a->beta2 = beta2;
    a->eps = eps;
    return a;
}

void rg_adam_free(rg_adam *a)
{
    if (!a)
        return;
    g_free(a->m);
    g_free(a->v);
    g_free(a);
}

/* torch's AdamW raises ValueError for the same settings. */
static gboolean check_settings(const rg_adam *a, GError **error)
{
    const char *names[4] = {"learning rate", "eps", "beta1", "beta2"};
    const double values[4] = {a->lr, a->eps, a->beta1, a->beta2};
    const gboolean good[4] = {a->lr >= 0.0 && isfinite(a->lr), a->eps >= 0.0 && isfinite(a->eps),
                              a->beta1 >= 0.0 && a->beta1 < 1.0, a->beta2 >= 0.0 && a->beta2 < 1.0};
    for (int i = 0; i < 4; i++)
        if (!good[i]) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "adam: %s %g is invalid (lr and eps >= 0, betas in [0, 1))",
                        names[i], values[i]);
            return FALSE;
        }
    return TRUE;
}

/* @t has the shape (@ndim, @shape). */
static gboolean same_shape(int ndim, const int64_t *shape, const rg_tensor *t)
{
    if (rg_tensor_ndim(t) != ndim)
        return FALSE;
    return memcmp(rg_tensor_shape(t), shape, (size_t)ndim * sizeof(int64_t)) == 0;
}

static gboolean check_tensors(rg_adam *a, rg_tensor *param, rg_tensor *grad, GError **error)
{
    if (!param || !grad) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "adam: %s is missing", param ? "grad" : "param");
        return FALSE;
    }
    g_autofree char *sp = rg_tensor_shape_string(param);
    g_autofree char *sg = rg_tensor_shape_string(grad);
    if (rg_tensor_dtype(param) != RG_DTYPE_F32 || rg_tensor_dtype(grad) != RG_DTYPE_F32) {
        gboolean p = rg_tensor_dtype(param) != RG_DTYPE_F32;
        g_set_error(error, RG_ERROR, RG_ERROR_DTYPE, "adam: %s %s is %s, expected F32", p ? "param" : "grad",
                    p ? sp : sg, rg_dtype_name(rg_tensor_dtype(p ? param : grad)));
        return FALSE;
    }
    if (!rg_tensor_is_contiguous(param) || !rg_tensor_data_f32(param) || !rg_tensor_data_f32(grad)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "adam: param %s must be a contiguous tensor in host memory, and grad %s in host memory", sp, sg);
        return FALSE;
    }
    if (!rg_tensor_same_shape(param, grad)) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "adam: grad %s does not match param %s", sg, sp);
        return FALSE;
    }
    if (a->step > 0 && !same_shape(a->ndim, a->shape, param)) {
        g_autofree char *first = rg_shape_string(a->ndim, a->shape);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "adam: param %s does not match the parameter %s of the earlier steps", sp, first);
        return FALSE;
    }
    return TRUE;
}

gboolean rg_adam_step(rg_adam *a, rg_tensor *param, rg_tensor *grad, GError **error)
{
    g_return_val_if_fail(a != NULL, FALSE);
    if (!check_settings(a, error) || !check_tensors(a, param, grad, error))
        return FALSE;
    int64_t n = rg_tensor_numel(param);
    g_autoptr(rg_tensor) gc = rg_tensor_contiguous_copy(grad, error);
    if (!gc)
        return FALSE;
    if (a->step == 0) {
        a->ndim = rg_tensor_ndim(param);
        memcpy(a->shape, rg_tensor_shape(param), (size_t)a->ndim * sizeof(int64_t));
        a->m = g_try_new0(double, MAX(n, 1));
        a->v = g_try_new0(double, MAX(n, 1));
        if (!a->m || !a->v) {
            g_clear_pointer(&a->m, g_free);
            g_clear_pointer(&a->v, g_free);
            g_set_error(error, RG_ERROR, RG_ERROR_OUT_OF_MEMORY,
                        "adam: no memory for the moments of %" G_GINT64_FORMAT " elements", n);
            return FALSE;
        }
    }
    a->step++;
    double b1 = a->beta1, b2 = a->beta2;
    double step_size = a->lr / (1.0 - pow(b1, (double)a->step));
    double bc2_sqrt = sqrt(1.0 - pow(b2, (double)a->step));
    float *p = rg_tensor_data_f32(param); // contiguous
    const float *g = rg_tensor_data_f32(gc);
    double *m = a->m, *v = a->v;
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double gi = g[i];
        m[i] = b1 * m[i] + (1.0 - b1) * gi;
        v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
        double denom = sqrt(v[i]) / bc2_sqrt + a->eps;
        p[i] = (float)(p[i] - step_size * m[i] / denom);
    }
    return TRUE;
}
