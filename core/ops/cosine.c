/* cosine.c — cosine similarity across dim 1, (N, C, ...) x2 -> (N, ...):
 * CPU kernels, forward and backward, and the front door
 * rg_cosine_similarity().
 *
 * The formula is torch 1.13's (aten/src/ATen/native/Distance.cpp), checked
 * against torch numerically, near-zero vectors included:
 *   na = sqrt(clamp_min(sum_c a^2, eps^2))   (clamped in place without grad)
 *   nb = sqrt(clamp_min(sum_c b^2, eps^2))
 *   out = sum_c (a / na) (b / nb)
 * Kernels work on blocks of pixels: the three channel sums of a block are
 * accumulated in double over the channels (inner loop over contiguous pixels,
 * which vectorizes), then turned into the result or the per-pixel backward
 * coefficients. OpenMP splits the (n, block) pairs.
 */
#include "ops/cosine.h"

#include <math.h>

#include "autograd/tape_impl.h"
#include "tensor/context.h"

#define RG_COS_BLOCK 256 /* pixels per block */

/* s12 = sum_c a b, s1 = sum_c a^2, s2 = sum_c b^2 over the @np pixels of a block. */
static void block_sums(const float *a, const float *b, int64_t C, int64_t P, int64_t np, double *s12, double *s1,
                       double *s2) // a, b (C, P) starting at the block's first pixel
{
    for (int64_t p = 0; p < np; p++)
        s12[p] = s1[p] = s2[p] = 0;
    for (int64_t c = 0; c < C; c++) {
        const float *ac = a + c * P, *bc = b + c * P;
        for (int64_t p = 0; p < np; p++) {
            double x = ac[p], y = bc[p];
            s12[p] += x * y;
            s1[p] += x * x;
            s2[p] += y * y;
        }
    }
}

rg_status rg_cpu_cosine_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    const rg_cosine_params *p = params;
    rg_tensor *out = t[0], *ta = t[1], *tb = t[2];
    int64_t N = ta->shape[0], C = ta->shape[1], P = rg_tensor_numel(out) / MAX(N, 1);
    float *y = rg_tensor_data_f32(out);      // (N, P)
    const float *a = rg_tensor_data_f32(ta); // (N, C, P)
    const float *b = rg_tensor_data_f32(tb); // (N, C, P)
    double eps2 = (double)p->eps * (double)p->eps;
    int64_t blocks = (P + RG_COS_BLOCK - 1) / RG_COS_BLOCK;
#pragma omp parallel for if (N * C * P > 32768) schedule(static)
    for (int64_t task = 0; task < N * blocks; task++) {
        int64_t n = task / blocks, p0 = task % blocks * RG_COS_BLOCK, np = MIN(RG_COS_BLOCK, P - p0);
        double s12[RG_COS_BLOCK], s1[RG_COS_BLOCK], s2[RG_COS_BLOCK];
        block_sums(a + n * C * P + p0, b + n * C * P + p0, C, P, np, s12, s1, s2);
        for (int64_t q = 0; q < np; q++)
            y[n * P + p0 + q] = (float)(s12[q] / (sqrt(MAX(s1[q], eps2)) * sqrt(MAX(s2[q], eps2))));
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_cosine_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    const rg_cosine_params *p = params;
    rg_tensor *tda = t[0], *tdb = t[1], *tg = t[2], *ta = t[3], *tb = t[4];
    int64_t N = ta->shape[0], C = ta->shape[1], P = rg_tensor_numel(tg) / MAX(N, 1);
    float *da = tda ? rg_tensor_data_f32(tda) : NULL; // (N, C, P)
    float *db = tdb ? rg_tensor_data_f32(tdb) : NULL; // (N, C, P)
    const float *g = rg_tensor_data_f32(tg);          // (N, P)
    const float *a = rg_tensor_data_f32(ta);          // (N, C, P)
    const float *b = rg_tensor_data_f32(tb);          // (N, C, P)
    double eps2 = (double)p->eps * (double)p->eps;
    int64_t blocks = (P + RG_COS_BLOCK - 1) / RG_COS_BLOCK;
#pragma omp parallel for if (N * C * P > 32768) schedule(static)
    for (int64_t task = 0; task < N * blocks; task++) {
        int64_t n = task / blocks, p0 = task % blocks * RG_COS_BLOCK, np = MIN(RG_COS_BLOCK, P - p0);
        int64_t off = n * C * P + p0;
        double s12[RG_COS_BLOCK], s1[RG_COS_BLOCK], s2[RG_COS_BLOCK];
        float kab[RG_COS_BLOCK], kaa[RG_COS_BLOCK], kbb[RG_COS_BLOCK];
        block_sums(a + off, b + off, C, P, np, s12, s1, s2);
        /* out = sum_c a b / (na nb), with na = sqrt(s1) (s1 clamped, but its
         * derivative taken as if not): d out / d a_c = b_c / (na nb) - out a_c / na^2 */
        for (int64_t q = 0; q < np; q++) {
            double na = sqrt(MAX(s1[q], eps2)), nb = sqrt(MAX(s2[q], eps2));
            double gq = g[n * P + p0 + q], out = s12[q] / (na * nb);
            kab[q] = (float)(gq / (na * nb));
            kaa[q] = (float)(gq * out / (na * na));
            kbb[q] = (float)(gq * out / (nb * nb));
        }
        for (int64_t c = 0; c < C; c++) {
            const float *ac = a + off + c * P, *bc = b + off + c * P;
            if (da) {
                float *d = da + off + c * P;
                for (int64_t q = 0; q < np; q++)
                    d[q] = kab[q] * bc[q] - kaa[q] * ac[q];
            }
            if (db) {
                float *d = db + off + c * P;
                for (int64_t q = 0; q < np; q++)
                    d[q] = kab[q] * ac[q] - kbb[q] * bc[q];
            }
        }
    }
    return RG_STATUS_OK;
}

/* ---- front door ----------------------------------------------------------- */

static gboolean cosine_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din, GError **error)
{
    rg_tensor *a = node->saved[0], *b = node->saved[1];
    g_autoptr(rg_tensor) g = rg_tensor_contiguous_copy(dout[0], error); // (N, ...)
    if (!g)
        return FALSE;
    rg_tensor *da = NULL, *db = NULL;
    if (node->in[0].needs_grad && !(da = rg_tensor_new_like(a, error)))
        return FALSE;
    if (node->in[1].needs_grad && !(db = rg_tensor_new_like(b, error))) {
        g_clear_pointer(&da, rg_tensor_unref);
        return FALSE;
    }
    rg_tensor *args[5] = {da, db, g, a, b};
    if (!rg_ctx_compute(ctx, RG_OP_COSINE_BACK, rg_node_params(node, rg_cosine_params), args, error)) {
        g_clear_pointer(&da, rg_tensor_unref);
        g_clear_pointer(&db, rg_tensor_unref);
        return FALSE;
    }
    din[0] = da;
    din[1] = db;
    return TRUE;
}

rg_tensor *rg_cosine_similarity(rg_ctx *ctx, rg_tensor *a, rg_tensor *b, float eps, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    if (!rg_check_f32("cosine_similarity", "a", a, error) || !rg_check_f32("cosine_similarity", "b", b, error))
        return NULL;
    if (a->ndim < 2 || !rg_tensor_same_shape(a, b)) {
        g_autofree char *sa = rg_tensor_shape_string(a);
        g_autofree char *sb = rg_tensor_shape_string(b);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "cosine_similarity: a %s and b %s must have one shape (N, C, ...) of at least 2 dimensions", sa,
                    sb);
        return NULL;
    }
    if (!(eps >= 0) || isinf(eps)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "cosine_similarity: eps %g must be finite and >= 0",
                    (double)eps);
        return NULL;
    }
    g_autoptr(rg_tensor) ac = rg_tensor_contiguous_copy(a, error);
    if (!ac)
        return NULL;
    g_autoptr(rg_tensor) bc = rg_tensor_contiguous_copy(b, error);
    if (!bc)
        return NULL;
    int64_t shape[RG_MAX_DIMS];
    shape[0] = a->shape[0];
    for (int i = 2; i < a->ndim; i++)
        shape[i - 1] = a->shape[i];
    rg_tensor *out = rg_tensor_new_uninit(RG_DTYPE_F32, a->ndim - 1, shape, error); // (N, ...)
    if (!out)
        return NULL;
    rg_cosine_params params = {.eps = eps};
    rg_tensor *args[3] = {out, ac, bc};
    if (!rg_ctx_compute(ctx, RG_OP_COSINE, &params, args, error)) {
        rg_tensor_unref(out);
        return NULL;
    }
    rg_tensor *inputs[2] = {a, b};
    if (rg_autograd_wants(ctx, inputs, 2)) {
        rg_node *node = rg_autograd_record(ctx, "cosine_similarity", cosine_backward, inputs, 2, &out, 1);
        rg_node_save(node, 0, ac);
        rg_node_save(node, 1, bc);
        *rg_node_params(node, rg_cosine_params) = params;
    }
    return out;
}
