/* embedding.c — sinusoidal timestep embedding t (B) -> (B, dim): CPU
 * kernels, forward and backward, and the front door rg_timestep_embedding().
 *
 * Precision: diffusers computes the frequencies, the angles t * freq and
 * their sines in float32. For SD's timesteps (up to 999) the angle reaches
 * ~1000 rad, where one float32 ulp is 6e-5, so PyTorch's own result is off
 * the exact value by up to ~1e-4 (rounding of the frequency and the product).
 * Here frequencies, angles, sines and cosines are computed in double and
 * rounded once: the result is the exact embedding of the given float32
 * timesteps to within 1 float32 ulp; it differs from PyTorch's float32
 * result by PyTorch's own rounding error (~1e-4 at t = 999, far below
 * anything the time-embedding MLP notices).
 */
#include "ops/embedding.h"

#include <math.h>

#include "autograd/tape_impl.h"
#include "tensor/context.h"

/* freq[j] = exp(-ln(10000) * j / (half - shift)) for j < half, in double. */
static double *frequencies(rg_backend *backend, const rg_timestep_emb_params *p, int half)
{
    double *freq = rg_cpu_workspace(backend, 0, (size_t)MAX(half, 1) * sizeof(double));
    if (!freq)
        return NULL;
    double denom = (double)half - (double)p->downscale_freq_shift;
    for (int j = 0; j < half; j++)
        freq[j] = exp(-log(10000.0) * (double)j / denom);
    return freq;
}

rg_status rg_cpu_timestep_emb_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    const rg_timestep_emb_params *p = params;
    rg_tensor *out = t[0], *tt = t[1];
    int64_t B = tt->shape[0];
    int dim = p->dim, half = dim / 2;
    int sin_at = p->flip_sin_to_cos ? half : 0, cos_at = p->flip_sin_to_cos ? 0 : half;
    float *y = rg_tensor_data_f32(out);                 // (B, dim)
    const float *ts = rg_tensor_data_f32(tt);           // (B)
    const double *freq = frequencies(backend, p, half); // (half)
    if (!freq)
        return RG_STATUS_OUT_OF_MEMORY;
#pragma omp parallel for if (B * dim > 16384) schedule(static)
    for (int64_t b = 0; b < B; b++) {
        float *yb = y + b * dim;
        double tb = ts[b];
        for (int j = 0; j < half; j++) {
            double angle = tb * freq[j];
            yb[sin_at + j] = (float)sin(angle);
            yb[cos_at + j] = (float)cos(angle);
        }
        if (dim % 2)
            yb[dim - 1] = 0.0f;
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_timestep_emb_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    const rg_timestep_emb_params *p = params;
    rg_tensor *tdt = t[0], *tg = t[1], *tt = t[2];
    int64_t B = tt->shape[0];
    int dim = p->dim, half = dim / 2;
    int sin_at = p->flip_sin_to_cos ? half : 0, cos_at = p->flip_sin_to_cos ? 0 : half;
    float *dt = rg_tensor_data_f32(tdt);                // (B)
    const float *g = rg_tensor_data_f32(tg);            // (B, dim)
    const float *ts = rg_tensor_data_f32(tt);           // (B)
    const double *freq = frequencies(backend, p, half); // (half)
    if (!freq)
        return RG_STATUS_OUT_OF_MEMORY;
        /* out[sin_at + j] = sin(t freq[j]), out[cos_at + j] = cos(t freq[j])
         *   =>  dt = sum_j freq[j] (dout[sin_at + j] cos(t freq[j]) - dout[cos_at + j] sin(t freq[j]))
         * (the zero padding column does not depend on t) */
#pragma omp parallel for if (B * dim > 16384) schedule(static)
    for (int64_t b = 0; b < B; b++) {
        const float *gb = g + b * dim;
        double tb = ts[b], s = 0;
        for (int j = 0; j < half; j++) {
            double angle = tb * freq[j];
            s += freq[j] * ((double)gb[sin_at + j] * cos(angle) - (double)gb[cos_at + j] * sin(angle));
        }
        dt[b] = (float)s;
    }
    return RG_STATUS_OK;
}

/* ---- front door ----------------------------------------------------------- */

static gboolean timestep_emb_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                                      GError **error)
{
    rg_tensor *ts = node->saved[0];
    g_autoptr(rg_tensor) g = rg_tensor_contiguous_copy(dout[0], error); // (B, dim)
    if (!g)
        return FALSE;
    rg_tensor *dt = rg_tensor_new_like(ts, error); // (B)
    if (!dt)
        return FALSE;
    rg_tensor *args[3] = {dt, g, ts};
    if (!rg_ctx_compute(ctx, RG_OP_TIMESTEP_EMB_BACK, rg_node_params(node, rg_timestep_emb_params), args, error)) {
        rg_tensor_unref(dt);
        return FALSE;
    }
    din[0] = dt;
    return TRUE;
}

rg_tensor *rg_timestep_embedding(rg_ctx *ctx, rg_tensor *t, int dim, gboolean flip_sin_to_cos,
                                 float downscale_freq_shift, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    if (!rg_check_ndim("timestep_embedding", "timesteps", t, 1, error))
        return NULL;
    int half = dim / 2;
    if (dim < 1 || !isfinite(downscale_freq_shift) || (half > 0 && (double)half == downscale_freq_shift)) {
        g_autofree char *s = rg_tensor_shape_string(t);
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "timestep_embedding: dim %d with downscale_freq_shift %g for timesteps %s: dim must be >= 1 "
                    "and dim / 2 - downscale_freq_shift finite and nonzero",
                    dim, (double)downscale_freq_shift, s);
        return NULL;
    }
    g_autoptr(rg_tensor) tc = rg_tensor_contiguous_copy(t, error);
    if (!tc)
        return NULL;
    int64_t shape[2] = {t->shape[0], dim};
    rg_tensor *out = rg_tensor_new_uninit(RG_DTYPE_F32, 2, shape, error); // (B, dim)
    if (!out)
        return NULL;
    rg_timestep_emb_params params = {
        .dim = dim, .flip_sin_to_cos = flip_sin_to_cos ? 1 : 0, .downscale_freq_shift = downscale_freq_shift};
    rg_tensor *args[2] = {out, tc};
    if (!rg_ctx_compute(ctx, RG_OP_TIMESTEP_EMB, &params, args, error)) {
        rg_tensor_unref(out);
        return NULL;
    }
    if (rg_autograd_wants(ctx, &t, 1)) {
        rg_node *node = rg_autograd_record(ctx, "timestep_embedding", timestep_emb_backward, &t, 1, &out, 1);
        rg_node_save(node, 0, tc);
        *rg_node_params(node, rg_timestep_emb_params) = params;
    }
    return out;
}
