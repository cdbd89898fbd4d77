/* linear.c — rg_linear and rg_matmul: fully connected layers and batched
 * matrix products, their CPU kernels (cblas_sgemm) and backward.
 *
 * Tensor order and params are in linear.h. Backward computes only the
 * gradients wanted, and the front doors keep only what those need (a frozen
 * weight costs neither its gradient nor a saved copy of the activation).
 */
#include "ops/linear.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "autograd/tape_impl.h"
#include "tensor/context.h"

/* GEMMs below this many multiply-adds run one per thread instead of one at a time on all threads. */
#define SMALL_GEMM (1 << 21)

/* C[i] (m, n) = op(A[i]) (m, k) . op(B[i]) (k, n) for i < batch; A[i] is stored (m, k), or (k, m)
 * when ta; B[i] is stored (k, n), or (n, k) when tb; C is contiguous. */
static void batched_gemm(gboolean ta, gboolean tb, int64_t batch, int m, int n, int k, const float *A, int64_t sa,
                         const float *B, int64_t sb, float *C)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        memset(C, 0, sizeof(float) * (size_t)(batch * m * n));
        return;
    }
    int lda = ta ? m : k, ldb = tb ? k : n;
    enum CBLAS_TRANSPOSE opa = ta ? CblasTrans : CblasNoTrans, opb = tb ? CblasTrans : CblasNoTrans;
    if (batch > 1 && (double)m * n * k < SMALL_GEMM) {
        /* small: each thread runs whole GEMMs and the BLAS runs single-threaded inside */
#pragma omp parallel for schedule(dynamic)
        for (int64_t i = 0; i < batch; i++)
            cblas_sgemm(CblasRowMajor, opa, opb, m, n, k, 1.0f, A + i * sa, lda, B + i * sb, ldb, 0.0f,
                        C + i * m * n, n);
        return;
    }
    /* large: the BLAS threads each GEMM. Not even an inactive (if false)
     * parallel region around it: OpenBLAS then runs about 1.5x slower. */
    for (int64_t i = 0; i < batch; i++)
        cblas_sgemm(CblasRowMajor, opa, opb, m, n, k, 1.0f, A + i * sa, lda, B + i * sb, ldb, 0.0f, C + i * m * n, n);
}

/* ---- linear kernels --------------------------------------------------------- */

rg_status rg_cpu_linear_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    (void)params;
    rg_tensor *out = t[0], *x = t[1], *weight = t[2], *bias = t[3];
    int N = (int)weight->shape[0], K = (int)weight->shape[1];
    int64_t M = N ? rg_tensor_numel(out) / N : 0;
    float *y = rg_tensor_data_f32(out); // (M, N)
    if (M == 0 || N == 0)
        return RG_STATUS_OK;
    if (bias) {
        const float *b = rg_tensor_data_f32(bias); // (N)
#pragma omp parallel for if (M * N > 32768) schedule(static)
        for (int64_t m = 0; m < M; m++)
            memcpy(y + m * N, b, sizeof(float) * (size_t)N);
    } else if (K == 0) {
        memset(y, 0, sizeof(float) * (size_t)(M * N));
    }
    if (K > 0) /* y (M, N) = x (M, K) . weight^T (K, N) + y */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, N, K, 1.0f, rg_tensor_data_f32(x), K,
                    rg_tensor_data_f32(weight), K, bias ? 1.0f : 0.0f, y, N);
    return RG_STATUS_OK;
}

rg_status rg_cpu_linear_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    (void)params;
    rg_tensor *dx = t[0], *dweight = t[1], *dbias = t[2], *dout = t[3], *x = t[4], *weight = t[5];
    int N = (int)dout->shape[dout->ndim - 1];
    int64_t M = N ? rg_tensor_numel(dout) / N : 0;
    const float *dy = rg_tensor_data_f32(dout); // (M, N)
    if (dx) {                                   /* y = x . weight^T  ->  dx (M, K) = dy (M, N) . weight (N, K) */
        int K = (int)weight->shape[1];
        batched_gemm(FALSE, FALSE, 1, (int)M, K, N, dy, 0, rg_tensor_data_f32(weight), 0, rg_tensor_data_f32(dx));
    }
    if (dweight) { /* dweight (N, K) = dy^T (N, M) . x (M, K) */
        int K = (int)dweight->shape[1];
        batched_gemm(TRUE, FALSE, 1, N, K, (int)M, dy, 0, rg_tensor_data_f32(x), 0, rg_tensor_data_f32(dweight));
    }
    if (dbias) { /* y = ... + bias  ->  dbias (N) = sum over rows of dy */
        float *db = rg_tensor_data_f32(dbias);
#pragma omp parallel for if (M * N > 32768) schedule(static)
        for (int n0 = 0; n0 < N; n0 += 64) {
            int nb = MIN(64, N - n0);
            double acc[64] = {0};
            for (int64_t m = 0; m < M; m++)
                for (int j = 0; j < nb; j++)
                    acc[j] += dy[m * N + n0 + j];
            for (int j = 0; j < nb; j++)
                db[n0 + j] = (float)acc[j];
        }
    }
    return RG_STATUS_OK;
}

/* ---- matmul kernels --------------------------------------------------------- */

/* Batch, rows and columns of a (B, R, C) or (R, C) tensor. */
static void brc(const rg_tensor *t, int64_t *b, int *r, int *c)
{
    *b = t->ndim == 3 ? t->shape[0] : 1;
    *r = (int)t->shape[t->ndim - 2];
    *c = (int)t->shape[t->ndim - 1];
}

rg_status rg_cpu_matmul_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    const rg_matmul_params *p = params;
    rg_tensor *out = t[0], *a = t[1], *b = t[2];
    int64_t B;
    int M, N, ar, ac;
    brc(out, &B, &M, &N);
    brc(a, &B, &ar, &ac);
    int K = p->transpose_a ? ar : ac;
    /* out (M, N) = op(a) (M, K) . op(b) (K, N) per batch */
    batched_gemm(p->transpose_a, p->transpose_b, B, M, N, K, rg_tensor_data_f32(a), (int64_t)M * K,
                 rg_tensor_data_f32(b), (int64_t)K * N, rg_tensor_data_f32(out));
    return RG_STATUS_OK;
}

rg_status rg_cpu_matmul_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    const rg_matmul_params *p = params;
    gboolean ta = p->transpose_a, tb = p->transpose_b;
    rg_tensor *da = t[0], *db = t[1], *dout = t[2], *a = t[3], *b = t[4];
    int64_t B;
    int M, N;
    brc(dout, &B, &M, &N);
    const rg_tensor *anyb = db ? db : b;
    int K = tb ? (int)anyb->shape[anyb->ndim - 1] : (int)anyb->shape[anyb->ndim - 2];
    const float *dy = rg_tensor_data_f32(dout); // (B, M, N)
    int64_t mk = (int64_t)M * K, kn = (int64_t)K * N, mn = (int64_t)M * N;
    /* out = op(a) . op(b) */
    if (da && !ta) /* da (M, K) = dout (M, N) . op(b)^T (N, K) */
        batched_gemm(FALSE, !tb, B, M, K, N, dy, mn, rg_tensor_data_f32(b), kn, rg_tensor_data_f32(da));
    else if (da) /* a is (K, M): da = op(b) (K, N) . dout^T (N, M) */
        batched_gemm(tb, TRUE, B, K, M, N, rg_tensor_data_f32(b), kn, dy, mn, rg_tensor_data_f32(da));
    if (db && !tb) /* db (K, N) = op(a)^T (K, M) . dout (M, N) */
        batched_gemm(!ta, FALSE, B, K, N, M, rg_tensor_data_f32(a), mk, dy, mn, rg_tensor_data_f32(db));
    else if (db) /* b is (N, K): db = dout^T (N, M) . op(a) (M, K) */
        batched_gemm(TRUE, ta, B, N, K, M, dy, mn, rg_tensor_data_f32(a), mk, rg_tensor_data_f32(db));
    return RG_STATUS_OK;
}

/* ---- front doors and backward ----------------------------------------------- */

/* Gradients wanted by @node as new uninitialised tensors; dout made contiguous. */
static gboolean alloc_grads(rg_node *node, rg_tensor **din, GError **error)
{
    for (int i = 0; i < node->n_in; i++)
        if (node->in[i].needs_grad &&
            !(din[i] = rg_tensor_new_uninit(RG_DTYPE_F32, node->in[i].ndim, node->in[i].shape, error)))
            return FALSE;
    return TRUE;
}

static gboolean linear_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din, GError **error)
{
    g_autoptr(rg_tensor) dy = rg_tensor_contiguous_copy(dout[0], error);
    if (!dy || !alloc_grads(node, din, error))
        return FALSE;
    rg_tensor *t[6] = {din[0], din[1], din[2], dy, node->saved[0], node->saved[1]};
    return rg_ctx_compute(ctx, RG_OP_LINEAR_BACK, NULL, t, error);
}

rg_tensor *rg_linear(rg_ctx *ctx, rg_tensor *x, rg_tensor *weight, rg_tensor *bias, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    if (!rg_check_f32("linear", "input", x, error) || !rg_check_ndim("linear", "weight", weight, 2, error) ||
        (bias && !rg_check_ndim("linear", "bias", bias, 1, error)))
        return NULL;
    int64_t N = weight->shape[0], K = weight->shape[1];
    if (x->ndim < 1 || x->shape[x->ndim - 1] != K) {
        g_autofree char *sx = rg_tensor_shape_string(x);
        g_autofree char *sw = rg_tensor_shape_string(weight);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "linear: weight %s expects %" G_GINT64_FORMAT " features in the last dimension, input is %s", sw, K,
                    sx);
        return NULL;
    }
    if (bias && bias->shape[0] != N) {
        g_autofree char *sb = rg_tensor_shape_string(bias);
        g_autofree char *sw = rg_tensor_shape_string(weight);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "linear: bias %s does not match the %" G_GINT64_FORMAT " outputs of weight %s", sb, N, sw);
        return NULL;
    }
    int64_t M = K ? rg_tensor_numel(x) / K : 0;
    if (M > INT_MAX || N > INT_MAX || K > INT_MAX) {
        g_autofree char *sx = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "linear: input %s is too large", sx);
        return NULL;
    }
    g_autoptr(rg_tensor) xc = rg_tensor_contiguous_copy(x, error);
    g_autoptr(rg_tensor) wc = xc ? rg_tensor_contiguous_copy(weight, error) : NULL;
    g_autoptr(rg_tensor) bc = wc && bias ? rg_tensor_contiguous_copy(bias, error) : NULL;
    if (!wc || (bias && !bc))
        return NULL;
    int64_t shape[RG_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = N;
    rg_tensor *out = rg_tensor_new_uninit(RG_DTYPE_F32, x->ndim, shape, error);
    rg_tensor *t[4] = {out, xc, wc, bc};
    if (!out || !rg_ctx_compute(ctx, RG_OP_LINEAR, NULL, t, error)) {
        g_clear_pointer(&out, rg_tensor_unref);
        return NULL;
    }
    rg_tensor *inputs[3] = {x, weight, bias};
    if (rg_autograd_wants(ctx, inputs, 3)) {
        rg_node *node = rg_autograd_record(ctx, "linear", linear_backward, inputs, 3, &out, 1);
        if (node->in[1].needs_grad)
            rg_node_save(node, 0, xc); /* for dweight */
        if (node->in[0].needs_grad)
            rg_node_save(node, 1, wc); /* for dx */
    }
    return out;
}

static gboolean matmul_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din, GError **error)
{
    rg_matmul_params p = *rg_node_params(node, rg_matmul_params);
    g_autoptr(rg_tensor) dy = rg_tensor_contiguous_copy(dout[0], error);
    if (!dy || !alloc_grads(node, din, error))
        return FALSE;
    rg_tensor *t[5] = {din[0], din[1], dy, node->saved[0], node->saved[1]};
    return rg_ctx_compute(ctx, RG_OP_MATMUL_BACK, &p, t, error);
}

rg_tensor *rg_matmul(rg_ctx *ctx, rg_tensor *a, rg_tensor *b, gboolean transpose_a, gboolean transpose_b,
                     GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    if (!rg_check_f32("matmul", "a", a, error) || !rg_check_f32("matmul", "b", b, error))
        return NULL;
    g_autofree char *sa = rg_tensor_shape_string(a);
    g_autofree char *sb = rg_tensor_shape_string(b);
    int nd = a->ndim;
    if ((nd != 2 && nd != 3) || b->ndim != nd) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "matmul: a %s and b %s must be both 2-D or both 3-D", sa, sb);
        return NULL;
    }
    int64_t B = nd == 3 ? a->shape[0] : 1;
    int64_t M = a->shape[nd - (transpose_a ? 1 : 2)], Ka = a->shape[nd - (transpose_a ? 2 : 1)];
    int64_t N = b->shape[nd - (transpose_b ? 2 : 1)], Kb = b->shape[nd - (transpose_b ? 1 : 2)];
    if ((nd == 3 && b->shape[0] != B) || Ka != Kb) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "matmul: a %s%s and b %s%s do not fit (batch and inner dimensions must agree)", sa,
                    transpose_a ? " transposed" : "", sb, transpose_b ? " transposed" : "");
        return NULL;
    }
    if (M > INT_MAX || N > INT_MAX || Ka > INT_MAX) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "matmul: a %s and b %s are too large", sa, sb);
        return NULL;
    }
    g_autoptr(rg_tensor) ac = rg_tensor_contiguous_copy(a, error);
    g_autoptr(rg_tensor) bc = ac ? rg_tensor_contiguous_copy(b, error) : NULL;
    if (!bc)
        return NULL;
    int64_t shape[3] = {B, M, N};
    rg_tensor *out = rg_tensor_new_uninit(RG_DTYPE_F32, nd, nd == 3 ? shape : shape + 1, error);
    rg_matmul_params p = {.transpose_a = !!transpose_a, .transpose_b = !!transpose_b};
    rg_tensor *t[3] = {out, ac, bc};
    if (!out || !rg_ctx_compute(ctx, RG_OP_MATMUL, &p, t, error)) {
        g_clear_pointer(&out, rg_tensor_unref);
        return NULL;
    }
    rg_tensor *inputs[2] = {a, b};
    if (rg_autograd_wants(ctx, inputs, 2)) {
        rg_node *node = rg_autograd_record(ctx, "matmul", matmul_backward, inputs, 2, &out, 1);
        if (node->in[1].needs_grad)
            rg_node_save(node, 0, ac); /* for db */
        if (node->in[0].needs_grad)
            rg_node_save(node, 1, bc); /* for da */
        *rg_node_params(node, rg_matmul_params) = p;
    }
    return out;
}
