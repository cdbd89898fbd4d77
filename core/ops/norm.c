/* norm.c — group normalisation and layer normalisation, forward and backward,
 * with their front doors (rg_group_norm, rg_layer_norm).
 *
 * Statistics are computed row by row (a row is one channel's HW elements for
 * group norm, one C-vector for layer norm): a first pass over the row finds an
 * approximate mean a, a second pass (from L1/L2) sums x - a and (x - a)^2, and
 * the rows of a group are merged in double (Chan et al.'s parallel variance).
 * This is as accurate as a two-pass algorithm over the whole group while
 * reading memory once. Inner loops keep RG_LANES float partial sums so that
 * they vectorize without -ffast-math; the partial sums are added up in double.
 * The cached mean is f32; backward measures its rounding error (sum of x - m
 * in the pass it makes anyway) and corrects for it, so inputs whose mean is
 * large against their spread keep full precision.
 *
 * Group norm runs one OpenMP task per (n, g); layer norm one per row.
 */
#include "ops/norm.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "autograd/tape_impl.h"
#include "tensor/context.h"

#define RG_LANES 32

/* ---- row reductions ------------------------------------------------------- */

/* sum_i x[i] */
static double row_sum(const float *x, int64_t n) // x (n)
{
    float acc[RG_LANES] = { 0 };
    int64_t i = 0;
    for (; i + RG_LANES <= n; i += RG_LANES)
        for (int j = 0; j < RG_LANES; j++)
            acc[j] += x[i + j];
    double s = 0;
    for (; i < n; i++)
        s += x[i];
    for (int j = 0; j < RG_LANES; j++)
        s += acc[j];
    return s;
}

/* s1 = sum_i (x[i] - a), s2 = sum_i (x[i] - a)^2 */
static void row_moments(const float *x, int64_t n, float a, double *s1, double *s2) // x (n)
{
    float acc1[RG_LANES] = { 0 }, acc2[RG_LANES] = { 0 };
    int64_t i = 0;
    for (; i + RG_LANES <= n; i += RG_LANES)
        for (int j = 0; j < RG_LANES; j++) {
            float d = x[i + j] - a;
            acc1[j] += d;
            acc2[j] += d * d;
        }
    double t1 = 0, t2 = 0;
    for (; i < n; i++) {
        double d = (double)x[i] - a;
        t1 += d;
        t2 += d * d;
    }
    for (int j = 0; j < RG_LANES; j++) {
        t1 += acc1[j];
        t2 += acc2[j];
    }
    *s1 = t1;
    *s2 = t2;
}

/* s_dyx = sum_i w[i] dy[i] (x[i] - m), s_dy = sum_i w[i] dy[i], s_x = sum_i (x[i] - m);
 * w NULL means 1. m is the cached f32 mean; s_x tells how far it is from the
 * exact mean, which backward corrects for. */
static void row_dot_dev(const float *dy, const float *w, const float *x, int64_t n, float m, double *s_dyx,
                        double *s_dy, double *s_x) // dy, w, x (n)
{
    float acc1[RG_LANES] = { 0 }, acc2[RG_LANES] = { 0 }, acc3[RG_LANES] = { 0 };
    int64_t i = 0;
    if (w) {
        for (; i + RG_LANES <= n; i += RG_LANES)
            for (int j = 0; j < RG_LANES; j++) {
                float g = dy[i + j] * w[i + j], d = x[i + j] - m;
                acc1[j] += g * d;
                acc2[j] += g;
                acc3[j] += d;
            }
    } else {
        for (; i + RG_LANES <= n; i += RG_LANES)
            for (int j = 0; j < RG_LANES; j++) {
                float d = x[i + j] - m;
                acc1[j] += dy[i + j] * d;
                acc2[j] += dy[i + j];
                acc3[j] += d;
            }
    }
    double t1 = 0, t2 = 0, t3 = 0;
    for (; i < n; i++) {
        double g = w ? (double)dy[i] * w[i] : dy[i], d = (double)x[i] - m;
        t1 += g * d;
        t2 += g;
        t3 += d;
    }
    for (int j = 0; j < RG_LANES; j++) {
        t1 += acc1[j];
        t2 += acc2[j];
        t3 += acc3[j];
    }
    *s_dyx = t1;
    *s_dy = t2;
    *s_x = t3;
}

/* y = (x - m) * scale + shift */
static void row_affine(float *y, const float *x, int64_t n, float m, float scale, float shift) // y, x (n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        y[i] = (x[i] - m) * scale + shift;
}

/* ---- group norm kernels ----------------------------------------------------- */

static int64_t trailing_numel(const rg_tensor *x) // (N, C, ...) -> HW
{
    int64_t hw = 1;
    for (int d = 2; d < x->ndim; d++)
        hw *= x->shape[d];
    return hw;
}

rg_status rg_cpu_group_norm_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    const rg_group_norm_params *p = params;
    rg_tensor *inp_t = t[3];
    int64_t N = inp_t->shape[0], C = inp_t->shape[1], HW = trailing_numel(inp_t);
    int64_t G = p->groups, Cg = C / G, M = Cg * HW;
    float *out = rg_tensor_data_f32(t[0]);                  // (N, C, HW)
    float *mean = rg_tensor_data_f32(t[1]);                 // (N, G)
    float *rstd = rg_tensor_data_f32(t[2]);                 // (N, G)
    const float *inp = rg_tensor_data_f32(inp_t);           // (N, C, HW)
    const float *weight = t[4] ? rg_tensor_data_f32(t[4]) : NULL; // (C)
    const float *bias = t[5] ? rg_tensor_data_f32(t[5]) : NULL;   // (C)
    float eps = p->eps;

#pragma omp parallel for schedule(static) if (N * C * HW > 16384)
    for (int64_t ng = 0; ng < N * G; ng++) {
        int64_t c0 = (ng % G) * Cg;
        const float *x = inp + (ng / G * C + c0) * HW; // (Cg, HW)
        float *y = out + (ng / G * C + c0) * HW;       // (Cg, HW)
        /* Per row: centre a (first pass), s1 = sum (x - a), s2 = sum (x - a)^2 (second
         * pass), giving the row's mean and M2; rows merge as Chan et al.'s parallel
         * variance: M2 += M2_row + delta^2 count HW / (count + HW). */
        double m = 0, m2 = 0, count = 0;
        for (int64_t c = 0; c < Cg && HW > 0; c++) {
            float a = (float)(row_sum(x + c * HW, HW) / (double)HW);
            double s1, s2;
            row_moments(x + c * HW, HW, a, &s1, &s2);
            double row_mean = a + s1 / (double)HW, row_m2 = s2 - s1 * s1 / (double)HW;
            double delta = row_mean - m, total = count + (double)HW;
            m += delta * (double)HW / total;
            m2 += MAX(row_m2, 0.0) + delta * delta * count * (double)HW / total;
            count = total;
        }
        double var = M > 0 ? m2 / (double)M : 0.0;
        double r = 1.0 / sqrt(var + eps);
        mean[ng] = (float)m;
        rstd[ng] = (float)r;
        for (int64_t c = 0; c < Cg; c++) {
            /* y = (x - m) r w + b = (x - fm) s + (b - (m - fm) s), fm = (float)m: x - fm
             * first keeps precision when |m| >> std */
            double s = weight ? r * weight[c0 + c] : r;
            double shift = (bias ? bias[c0 + c] : 0.0) - (m - (double)(float)m) * s;
            row_affine(y + c * HW, x + c * HW, HW, (float)m, (float)s, (float)shift);
        }
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_group_norm_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    const rg_group_norm_params *p = params;
    rg_tensor *inp_t = t[4];
    int64_t N = inp_t->shape[0], C = inp_t->shape[1], HW = trailing_numel(inp_t);
    int64_t G = p->groups, Cg = C / G, M = Cg * HW;
    float *dinp = t[0] ? rg_tensor_data_f32(t[0]) : NULL;    // (N, C, HW)
    float *dweight = t[1] ? rg_tensor_data_f32(t[1]) : NULL; // (C)
    float *dbias = t[2] ? rg_tensor_data_f32(t[2]) : NULL;   // (C)
    const float *dout = rg_tensor_data_f32(t[3]);            // (N, C, HW)
    const float *inp = rg_tensor_data_f32(inp_t);            // (N, C, HW)
    const float *weight = t[5] ? rg_tensor_data_f32(t[5]) : NULL; // (C)
    const float *mean = rg_tensor_data_f32(t[6]);            // (N, G)
    const float *rstd = rg_tensor_data_f32(t[7]);            // (N, G)

    /* Per (n, c): sum_hw dout (x - mean) and sum_hw dout, for the weight and bias gradients. */
    double *sums = rg_cpu_workspace(backend, 0, sizeof(double) * 2 * (size_t)MAX(N * C, 1)); // (N, C, 2)
    if (!sums)
        return RG_STATUS_OUT_OF_MEMORY;

#pragma omp parallel for schedule(static) if (N * C * HW > 16384)
    for (int64_t ng = 0; ng < N * G; ng++) {
        int64_t n = ng / G, c0 = (ng % G) * Cg;
        const float *x = inp + (n * C + c0) * HW; // (Cg, HW)
        const float *dy = dout + (n * C + c0) * HW;
        float fm = mean[ng];
        double r = rstd[ng], sum_x = 0;
        for (int64_t c = 0; c < Cg; c++) {
            double *s = sums + 2 * (n * C + c0 + c), s_x;
            row_dot_dev(dy + c * HW, NULL, x + c * HW, HW, fm, &s[0], &s[1], &s_x);
            sum_x += s_x;
        }
        /* The exact mean is m = fm + dm; s[0] becomes sum_hw dout (x - m).
         * With xhat = (x - m) r and dxhat = dout w:
         *   sum_dxhat = sum_c w_c sum_hw dout, sum_dxhat_xhat = sum_c w_c r sum_hw dout (x - m) */
        double dm = M > 0 ? sum_x / (double)M : 0.0;
        double sum_dxhat = 0, sum_dxhat_xhat = 0;
        for (int64_t c = 0; c < Cg; c++) {
            double *s = sums + 2 * (n * C + c0 + c);
            s[0] -= dm * s[1];
            double w = weight ? weight[c0 + c] : 1.0;
            sum_dxhat += w * s[1];
            sum_dxhat_xhat += w * r * s[0];
        }
        if (!dinp)
            continue;
        /* forward: y = xhat w + b, xhat = (x - m) r
         * dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat))
         *    = (r w) dout + (x - fm) k + d - k dm,  k = -r^2 mean(dxhat xhat), d = -r mean(dxhat) */
        double k = M > 0 ? -r * r * sum_dxhat_xhat / (double)M : 0.0;
        double d = M > 0 ? -r * sum_dxhat / (double)M : 0.0;
        float fk = (float)k, fd = (float)(d - k * dm);
        for (int64_t c = 0; c < Cg; c++) {
            float fa = (float)(weight ? r * weight[c0 + c] : r);
            const float *xc = x + c * HW, *dyc = dy + c * HW;
            float *dx = dinp + (n * C + c0 + c) * HW;
#pragma omp simd
            for (int64_t i = 0; i < HW; i++)
                dx[i] = fa * dyc[i] + fk * (xc[i] - fm) + fd;
        }
    }

    /* forward: y = xhat w + b  =>  dw_c = sum_n r_ng sum_hw dout (x - m), db_c = sum_n sum_hw dout */
    for (int64_t c = 0; c < C && (dweight || dbias); c++) {
        double dw = 0, db = 0;
        for (int64_t n = 0; n < N; n++) {
            const double *s = sums + 2 * (n * C + c);
            dw += s[0] * rstd[n * G + c / Cg];
            db += s[1];
        }
        if (dweight)
            dweight[c] = (float)dw;
        if (dbias)
            dbias[c] = (float)db;
    }
    return RG_STATUS_OK;
}

/* ---- layer norm kernels ------------------------------------------------------ */

rg_status rg_cpu_layer_norm_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    const rg_layer_norm_params *p = params;
    rg_tensor *inp_t = t[3];
    int64_t C = inp_t->ndim > 0 ? inp_t->shape[inp_t->ndim - 1] : 1;
    int64_t R = rg_tensor_numel(t[1]);
    float *out = rg_tensor_data_f32(t[0]);                        // (R, C)
    float *mean = rg_tensor_data_f32(t[1]);                       // (R)
    float *rstd = rg_tensor_data_f32(t[2]);                       // (R)
    const float *inp = rg_tensor_data_f32(inp_t);                 // (R, C)
    const float *weight = t[4] ? rg_tensor_data_f32(t[4]) : NULL; // (C)
    const float *bias = t[5] ? rg_tensor_data_f32(t[5]) : NULL;   // (C)
    float eps = p->eps;

#pragma omp parallel for schedule(static) if (R * C > 16384)
    for (int64_t row = 0; row < R; row++) {
        const float *x = inp + row * C;
        float *y = out + row * C;
        float a = C > 0 ? (float)(row_sum(x, C) / (double)C) : 0.0f;
        double s1, s2;
        row_moments(x, C, a, &s1, &s2);
        double d = C > 0 ? s1 / (double)C : 0.0;
        double var = C > 0 ? MAX(s2 / (double)C - d * d, 0.0) : 0.0;
        float m = (float)(a + d), dm = (float)(a + d - (double)m), r = (float)(1.0 / sqrt(var + eps));
        mean[row] = m;
        rstd[row] = r;
        /* y = (x - m) r w + b, with the exact mean m + dm */
#pragma omp simd
        for (int64_t i = 0; i < C; i++) {
            float v = (x[i] - m - dm) * r;
            if (weight)
                v *= weight[i];
            if (bias)
                v += bias[i];
            y[i] = v;
        }
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_layer_norm_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)params;
    rg_tensor *inp_t = t[4];
    int64_t C = inp_t->ndim > 0 ? inp_t->shape[inp_t->ndim - 1] : 1;
    int64_t R = rg_tensor_numel(t[6]);
    float *dinp = t[0] ? rg_tensor_data_f32(t[0]) : NULL;         // (R, C)
    float *dweight = t[1] ? rg_tensor_data_f32(t[1]) : NULL;      // (C)
    float *dbias = t[2] ? rg_tensor_data_f32(t[2]) : NULL;        // (C)
    const float *dout = rg_tensor_data_f32(t[3]);                 // (R, C)
    const float *inp = rg_tensor_data_f32(inp_t);                 // (R, C)
    const float *weight = t[5] ? rg_tensor_data_f32(t[5]) : NULL; // (C)
    const float *mean = rg_tensor_data_f32(t[6]);                 // (R)
    const float *rstd = rg_tensor_data_f32(t[7]);                 // (R)
    gboolean params_wanted = dweight || dbias;

    /* Per-thread partial sums of dweight and dbias, added up at the end. */
    int nt = omp_get_max_threads();
    double *part = NULL; // (nt, 2, C)
    if (params_wanted) {
        part = rg_cpu_workspace(backend, 0, sizeof(double) * 2 * (size_t)nt * (size_t)MAX(C, 1));
        if (!part)
            return RG_STATUS_OUT_OF_MEMORY;
        memset(part, 0, sizeof(double) * 2 * (size_t)nt * (size_t)C);
    }

#pragma omp parallel if (R * C > 16384)
    {
        double *dw_acc = params_wanted ? part + 2 * (size_t)omp_get_thread_num() * (size_t)C : NULL;
        double *db_acc = params_wanted ? dw_acc + C : NULL;
#pragma omp for schedule(static)
        for (int64_t row = 0; row < R; row++) {
            const float *x = inp + row * C, *dy = dout + row * C;
            float m = mean[row], r = rstd[row];
            /* The exact mean is m + dm (the cache holds it rounded to f32). */
            double s_dyx, s_dy, s_x;
            row_dot_dev(dy, weight, x, C, m, &s_dyx, &s_dy, &s_x);
            float dm = (float)(s_x / (double)MAX(C, 1));
            if (dinp) {
                /* forward: y = xhat w + b, xhat = (x - m - dm) r, dxhat = dout w
                 * dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) */
                float mean_dxhat = (float)(s_dy / (double)C);
                float mean_dxhat_xhat = (float)((s_dyx - dm * s_dy) * r / (double)C);
                float *dx = dinp + row * C;
#pragma omp simd
                for (int64_t i = 0; i < C; i++) {
                    float dxhat = weight ? dy[i] * weight[i] : dy[i];
                    dx[i] = r * (dxhat - mean_dxhat - (x[i] - m - dm) * r * mean_dxhat_xhat);
                }
            }
            if (params_wanted) {
                /* dw += dout xhat, db += dout */
#pragma omp simd
                for (int64_t i = 0; i < C; i++) {
                    dw_acc[i] += (double)dy[i] * ((x[i] - m - dm) * r);
                    db_acc[i] += dy[i];
                }
            }
        }
    }

    for (int64_t i = 0; i < C && params_wanted; i++) {
        double dw = 0, db = 0;
        for (int k = 0; k < nt; k++) {
            dw += part[(size_t)k * 2 * (size_t)C + (size_t)i];
            db += part[(size_t)k * 2 * (size_t)C + (size_t)C + (size_t)i];
        }
        if (dweight)
            dweight[i] = (float)dw;
        if (dbias)
            dbias[i] = (float)db;
    }
    return RG_STATUS_OK;
}

/* ---- front doors ----------------------------------------------------------- */

/* weight or bias: NULL, or F32 of shape (C). */
static gboolean check_param(const char *op, const char *what, const rg_tensor *p, int64_t C, const rg_tensor *x,
                            GError **error)
{
    if (!p)
        return TRUE;
    if (!rg_check_f32(op, what, p, error))
        return FALSE;
    if (p->ndim != 1 || p->shape[0] != C) {
        g_autofree char *sp = rg_tensor_shape_string(p);
        g_autofree char *sx = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: %s %s should be (%" G_GINT64_FORMAT ") for input %s", op,
                    what, sp, C, sx);
        return FALSE;
    }
    return TRUE;
}

static gboolean check_eps(const char *op, float eps, GError **error)
{
    if (!(eps >= 0.0f) || !isfinite(eps)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: eps %g must be finite and >= 0", op, (double)eps);
        return FALSE;
    }
    return TRUE;
}

/* Contiguous copies of x, weight, bias (weight, bias may be NULL). */
static gboolean contiguous_inputs(rg_tensor *x, rg_tensor *weight, rg_tensor *bias, rg_tensor **xc,
                                  rg_tensor **wc, rg_tensor **bc, GError **error)
{
    *xc = rg_tensor_contiguous_copy(x, error);
    *wc = *xc && weight ? rg_tensor_contiguous_copy(weight, error) : NULL;
    *bc = *xc && (!weight || *wc) && bias ? rg_tensor_contiguous_copy(bias, error) : NULL;
    return *xc && (!weight || *wc) && (!bias || *bc);
}

/* Runs a *_BACK op: t = { dinp, dweight, dbias, dout, inp, weight, mean, rstd }, with
 * node->saved = { inp, weight, mean, rstd } and gradients only where wanted. */
static gboolean norm_backward(rg_ctx *ctx, rg_node *node, rg_op op, const void *params, rg_tensor *const *dout,
                              rg_tensor **din, GError **error)
{
    rg_tensor *inp = node->saved[0], *weight = node->saved[1];
    for (int i = 0; i < 3; i++) {
        if (!node->in[i].needs_grad)
            continue;
        din[i] = rg_tensor_new_uninit(RG_DTYPE_F32, node->in[i].ndim, node->in[i].shape, error);
        if (!din[i])
            return FALSE;
    }
    if (!din[0] && !din[1] && !din[2])
        return TRUE;
    g_autoptr(rg_tensor) dy = rg_tensor_contiguous_copy(dout[0], error);
    if (!dy)
        return FALSE;
    rg_tensor *t[8] = { din[0], din[1], din[2], dy, inp, weight, node->saved[2], node->saved[3] };
    return rg_ctx_compute(ctx, op, params, t, error);
}

/* The common part of both front doors once arguments are checked: run @op
 * with statistics (mean, rstd) of shape @stat_shape and record the node. */
static rg_tensor *norm_forward(rg_ctx *ctx, const char *name, rg_op op, rg_backward_fn backward, const void *params,
                               size_t params_size, rg_tensor *x, rg_tensor *weight, rg_tensor *bias, int stat_ndim,
                               const int64_t *stat_shape, GError **error)
{
    g_autoptr(rg_tensor) xc = NULL;
    g_autoptr(rg_tensor) wc = NULL;
    g_autoptr(rg_tensor) bc = NULL;
    if (!contiguous_inputs(x, weight, bias, &xc, &wc, &bc, error))
        return NULL;
    rg_tensor *out = rg_tensor_new_uninit(RG_DTYPE_F32, x->ndim, x->shape, error);
    g_autoptr(rg_tensor) mean = out ? rg_tensor_new_uninit(RG_DTYPE_F32, stat_ndim, stat_shape, error) : NULL;
    g_autoptr(rg_tensor) rstd = mean ? rg_tensor_new_uninit(RG_DTYPE_F32, stat_ndim, stat_shape, error) : NULL;
    rg_tensor *t[6] = { out, mean, rstd, xc, wc, bc };
    if (!rstd || !rg_ctx_compute(ctx, op, params, t, error)) {
        g_clear_pointer(&out, rg_tensor_unref);
        return NULL;
    }
    rg_tensor *inputs[3] = { x, weight, bias };
    if (rg_autograd_wants(ctx, inputs, 3)) {
        rg_node *node = rg_autograd_record(ctx, name, backward, inputs, 3, &out, 1);
        rg_node_save(node, 0, xc);
        rg_node_save(node, 1, wc);
        rg_node_save(node, 2, mean);
        rg_node_save(node, 3, rstd);
        g_assert(params_size <= RG_NODE_PARAMS_SIZE);
        memcpy(node->params, params, params_size);
    }
    return out;
}

static gboolean group_norm_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                                    GError **error)
{
    return norm_backward(ctx, node, RG_OP_GROUP_NORM_BACK, rg_node_params(node, rg_group_norm_params), dout, din,
                         error);
}

rg_tensor *rg_group_norm(rg_ctx *ctx, rg_tensor *x, int groups, rg_tensor *weight, rg_tensor *bias, float eps,
                         GError **error)
{
    g_return_val_if_fail(ctx && x, NULL);
    if (!rg_check_f32("group_norm", "input", x, error))
        return NULL;
    if (x->ndim < 2) {
        g_autofree char *s = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "group_norm: input %s should be (N, C, ...) with 2 to %d dimensions",
                    s, RG_MAX_DIMS);
        return NULL;
    }
    int64_t N = x->shape[0], C = x->shape[1];
    if (groups <= 0 || C % groups != 0) {
        g_autofree char *s = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "group_norm: %d groups do not divide the %" G_GINT64_FORMAT " channels of input %s", groups, C, s);
        return NULL;
    }
    if (!check_param("group_norm", "weight", weight, C, x, error) ||
        !check_param("group_norm", "bias", bias, C, x, error) || !check_eps("group_norm", eps, error))
        return NULL;

    int64_t stat_shape[2] = { N, groups };
    rg_group_norm_params p = { .groups = groups, .eps = eps };
    return norm_forward(ctx, "group_norm", RG_OP_GROUP_NORM, group_norm_backward, &p, sizeof p, x, weight, bias, 2,
                        stat_shape, error);
}

static gboolean layer_norm_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                                    GError **error)
{
    return norm_backward(ctx, node, RG_OP_LAYER_NORM_BACK, rg_node_params(node, rg_layer_norm_params), dout, din,
                         error);
}

rg_tensor *rg_layer_norm(rg_ctx *ctx, rg_tensor *x, rg_tensor *weight, rg_tensor *bias, float eps, GError **error)
{
    g_return_val_if_fail(ctx && x, NULL);
    if (!rg_check_f32("layer_norm", "input", x, error))
        return NULL;
    if (x->ndim < 1) {
        g_autofree char *s = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "layer_norm: input %s has no last dimension to normalise", s);
        return NULL;
    }
    int64_t C = x->shape[x->ndim - 1], R = 1;
    for (int d = 0; d < x->ndim - 1; d++)
        R *= x->shape[d];
    if (!check_param("layer_norm", "weight", weight, C, x, error) ||
        !check_param("layer_norm", "bias", bias, C, x, error) || !check_eps("layer_norm", eps, error))
        return NULL;

    rg_layer_norm_params p = { .eps = eps };
    return norm_forward(ctx, "layer_norm", RG_OP_LAYER_NORM, layer_norm_backward, &p, sizeof p, x, weight, bias, 1,
                        &R, error);
}
