/* gather.c — x (N, C, L) at index (N, P) -> (N, C, P): CPU kernels, forward
 * and backward, and the front door rg_gather().
 *
 * Each sample n has its own list of P positions, shared by its C channels
 * (torch.gather(x, 2, index[:, None, :].expand(N, C, P))). Both kernels run
 * one OpenMP iteration per (n, c) row, so the backward scatter-add has no
 * races. The index receives no gradient.
 */
#include "ops/gather.h"

#include <string.h>

#include "autograd/tape_impl.h"
#include "tensor/context.h"

rg_status rg_cpu_gather_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    (void)params;
    rg_tensor *out = t[0], *tx = t[1], *ti = t[2];
    int64_t N = tx->shape[0], C = tx->shape[1], L = tx->shape[2], P = ti->shape[1];
    float *y = rg_tensor_data_f32(out);          // (N, C, P)
    const float *x = rg_tensor_data_f32(tx);     // (N, C, L)
    const int64_t *idx = rg_tensor_data_i64(ti); // (N, P)
#pragma omp parallel for if (N * C * P > 32768) schedule(static)
    for (int64_t r = 0; r < N * C; r++) {
        const int64_t *ir = idx + r / C * P;
        const float *xr = x + r * L;
        float *yr = y + r * P;
        for (int64_t p = 0; p < P; p++)
            yr[p] = xr[ir[p]];
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_gather_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    (void)params;
    rg_tensor *tdx = t[0], *tg = t[1], *ti = t[2];
    int64_t N = tdx->shape[0], C = tdx->shape[1], L = tdx->shape[2], P = ti->shape[1];
    float *dx = rg_tensor_data_f32(tdx);         // (N, C, L)
    const float *g = rg_tensor_data_f32(tg);     // (N, C, P)
    const int64_t *idx = rg_tensor_data_i64(ti); // (N, P)
    /* out[n, c, p] = x[n, c, index[n, p]]  =>  dx[n, c, index[n, p]] += dout[n, c, p] */
#pragma omp parallel for if (N * C * (P + L) > 32768) schedule(static)
    for (int64_t r = 0; r < N * C; r++) {
        const int64_t *ir = idx + r / C * P;
        const float *gr = g + r * P;
        float *dr = dx + r * L;
        memset(dr, 0, (size_t)L * sizeof(float));
        for (int64_t p = 0; p < P; p++)
            dr[ir[p]] += gr[p];
    }
    return RG_STATUS_OK;
}

/* ---- front door ----------------------------------------------------------- */

static gboolean gather_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din, GError **error)
{
    rg_tensor *index = node->saved[0];
    g_autoptr(rg_tensor) g = rg_tensor_contiguous_copy(dout[0], error); // (N, C, P)
    if (!g)
        return FALSE;
    rg_tensor *dx = rg_tensor_new_uninit(RG_DTYPE_F32, 3, node->in[0].shape, error); // (N, C, L)
    if (!dx)
        return FALSE;
    rg_tensor *args[3] = {dx, g, index};
    if (!rg_ctx_compute(ctx, RG_OP_GATHER_BACK, NULL, args, error)) {
        rg_tensor_unref(dx);
        return FALSE;
    }
    din[0] = dx;
    return TRUE;
}

rg_tensor *rg_gather(rg_ctx *ctx, rg_tensor *x, rg_tensor *index, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    if (!rg_check_ndim("gather", "x", x, 3, error))
        return NULL;
    if (!index) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "gather: index is missing");
        return NULL;
    }
    g_autofree char *sx = rg_tensor_shape_string(x);
    g_autofree char *si = rg_tensor_shape_string(index);
    if (index->dtype != RG_DTYPE_I64) {
        g_set_error(error, RG_ERROR, RG_ERROR_DTYPE, "gather: index %s is %s, expected I64", si,
                    rg_dtype_name(index->dtype));
        return NULL;
    }
    if (index->ndim != 2 || index->shape[0] != x->shape[0]) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "gather: index %s must be (N, P) for x %s (N, C, L)", si, sx);
        return NULL;
    }
    g_autoptr(rg_tensor) ic = rg_tensor_contiguous_copy(index, error);
    if (!ic)
        return NULL;
    int64_t N = x->shape[0], L = x->shape[2], P = index->shape[1];
    const int64_t *iv = rg_tensor_data_i64(ic);
    for (int64_t i = 0; i < N * P; i++) {
        if (iv[i] < 0 || iv[i] >= L) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                        "gather: index[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "] = %" G_GINT64_FORMAT
                        " is outside [0, %" G_GINT64_FORMAT ") for x %s",
                        i / P, i % P, iv[i], L, sx);
            return NULL;
        }
    }
    g_autoptr(rg_tensor) xc = rg_tensor_contiguous_copy(x, error);
    if (!xc)
        return NULL;
    int64_t shape[3] = {N, x->shape[1], P};
    rg_tensor *out = rg_tensor_new_uninit(RG_DTYPE_F32, 3, shape, error); // (N, C, P)
    if (!out)
        return NULL;
    rg_tensor *args[3] = {out, xc, ic};
    if (!rg_ctx_compute(ctx, RG_OP_GATHER, NULL, args, error)) {
        rg_tensor_unref(out);
        return NULL;
    }
    if (rg_autograd_wants(ctx, &x, 1)) { /* the index is not differentiable: not an input of the node */
        rg_node *node = rg_autograd_record(ctx, "gather", gather_backward, &x, 1, &out, 1);
        rg_node_save(node, 0, ic);
    }
    return out;
}
