/* activation.c — element-wise activations (SiLU, GELU, QuickGELU, ReLU,
 * tanh), GEGLU and softmax: kernels, front doors and backward functions.
 *
 * The element-wise loops are plain float loops over contiguous arrays, split
 * across threads by OpenMP and vectorized by GCC. exp and tanh come from
 * base/vmath.h and the normal CDF from gelu_and_grad() below: inline,
 * branch-free, within 5 ulp of float64 (measured on every third float;
 * test_activation sweeps every 1777th). libm's expf, erfcf and tanhf are scalar
 * calls that would stop the vectorizer. Softmax subtracts the row maximum
 * before exponentiating and sums in double.
 *
 * Infinite inputs give the limits (silu(-inf) = gelu(-inf) = 0, their
 * derivatives 0 at -inf and 1 at +inf) rather than inf * 0 = NaN, and NaN
 * propagates.
 */
#include "ops/activation.h"

#include <math.h>

#include "autograd/tape_impl.h"
#include "base/vmath.h"
#include "tensor/context.h"

#define RG_QUICK_GELU_ALPHA 1.702f
#define RG_PAR_MIN 32768 /* elements below which a kernel stays on one thread */

/* ---- scalar functions, inlined into vectorized loops --------------------------- */

/* y = x s(a x), s the logistic sigmoid, and *grad = dy/dx. With E = exp(-a x)
 * and q = s(a x) = 1 / (1 + E), 1 - q = E q keeps its relative precision:
 *     y = x q,    dy/dx = q + a x q (1 - q) = q + (a x q) (E q).
 * For a x > 87.3, E is below FLT_MIN: E = 0, q = 1, and the last term is 0
 * (also at x = +inf). For a x < -87, |y| and |dy/dx| are below 2e-36 and
 * flush to 0 (also at x = -inf; E overflows at a x < -88.7). */
static inline float swish_and_grad(float x, float a, float *grad)
{
    float ax = a * x;
    int big = ax > -VM_EXP_LO;
    int tiny = ax < -87.0f;
    float e = vm_select(big, 0.0f, a == 1.0f ? vm_exp_core(-x) : vm_exp_mul(-a, x));
    float q = 1.0f / (1.0f + e);
    *grad = vm_select(tiny, 0.0f, q + vm_select(big, 0.0f, (ax * q) * (e * q)));
    return vm_select(tiny, 0.0f, x * q);
}

/* y = gelu(x) = x Phi(x), Phi the standard normal CDF, and *grad = dy/dx =
 * Phi(x) + x phi(x), phi(x) = g / sqrt(2 pi), g = exp(-x^2 / 2).
 *
 * The lower tail Phi(-|x|) = 0.5 erfc(|x| / sqrt 2) = t Q(u) g, with
 * t = 1 / (1 + 0.375 |x|) and u = |x| t in [0, 2.67), where Q is a degree 9
 * polynomial fitted for minimax relative error (1.2e-8) over |x| <= 14.2.
 * Writing Q in u rather than t keeps |x| near 0 from amplifying the
 * rounding of t. Then, without cancellation on either side,
 *     gelu(x) = relu(x) - |x| Phi(-|x|) = relu(x) - u Q(u) g
 *     Phi(x)  = x < 0 ? t Q(u) g : 1 - t Q(u) g.
 * g comes from the exact -x^2 / 2 (vm_exp_mul), so that the tail keeps its
 * relative precision where x^2 is large. Beyond |x| = 13.2 (also at +-inf),
 * g underflows: the tail terms are 0 ("far"), so gelu(x) flushes to 0 below
 * x = -13.2, where it is above -1e-37. The compiler drops what a caller does
 * not use. */
static inline float gelu_and_grad(float x, float *grad)
{
    float h = -0.5f * x;
    float g = vm_exp_mul(h, x); // exp(-x^2 / 2); garbage where far
    int far = h * x < VM_EXP_LO;
    float ax = fabsf(x);
    float d = fmaf(ax, 0.375f, 1.0f);
    float t = 1.0f / d;
    float u = ax / d; // not ax * t: one rounding, and forward needs no t
    float q = fmaf(-3.09625398e-06f, u, 2.14687789e-05f);
    q = fmaf(q, u, -2.76037172e-05f);
    q = fmaf(q, u, -1.54776626e-05f);
    q = fmaf(q, u, -0.000317812228f);
    q = fmaf(q, u, -0.000312884949f);
    q = fmaf(q, u, 0.00634419359f);
    q = fmaf(q, u, 0.0211024452f);
    q = fmaf(q, u, -0.211441934f);
    q = fmaf(q, u, 0.5f);
    float tail = vm_select(far, 0.0f, t * q * g); // Phi(-|x|)
    float cdf = vm_select(x < 0.0f, tail, 1.0f - tail);
    *grad = fmaf(vm_select(far, 0.0f, x * g), 0.398942280f, cdf); // 1 / sqrt(2 pi)
    return (x > 0.0f ? x : 0.0f) - vm_select(far, 0.0f, u * q * g);
}

static inline float silu(float x)
{
    float grad;
    return swish_and_grad(x, 1.0f, &grad);
}

static inline float silu_grad(float x)
{
    float grad;
    swish_and_grad(x, 1.0f, &grad);
    return grad;
}

static inline float quick_gelu(float x)
{
    float grad;
    return swish_and_grad(x, RG_QUICK_GELU_ALPHA, &grad);
}

static inline float quick_gelu_grad(float x)
{
    float grad;
    swish_and_grad(x, RG_QUICK_GELU_ALPHA, &grad);
    return grad;
}

static inline float gelu(float x)
{
    float grad;
    return gelu_and_grad(x, &grad);
}

static inline float gelu_grad(float x)
{
    float grad;
    gelu_and_grad(x, &grad);
    return grad;
}

/* ---- loops over elements ------------------------------------------------------- */

/* The loops below are compiled twice, for AVX-512 (x86-64-v4) and for the
 * build's baseline (x86-64-v3, AVX2); GCC adds an ifunc resolver that picks
 * one when the program loads. simdlen(16) makes GCC use 512-bit vectors in
 * the first (its tuning prefers 256-bit ones) and pairs of 256-bit vectors
 * in the second. The kernels split their tensors into blocks for threads. */
#define RG_CLONES __attribute__((target_clones("arch=x86-64-v4", "default")))
#define RG_BLOCK 16384    /* elements per call of an element-wise loop function */
#define RG_ROW_BLOCK 4096 /* about as many per call of a row loop function, in whole rows */

RG_CLONES static void unary_forward_loop(rg_unary_kind kind, float *out, const float *inp, int64_t n)
{
    switch (kind) {
    case RG_UNARY_SILU:
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < n; i++)
            out[i] = silu(inp[i]);
        break;
    case RG_UNARY_GELU:
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < n; i++)
            out[i] = gelu(inp[i]);
        break;
    case RG_UNARY_QUICK_GELU:
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < n; i++)
            out[i] = quick_gelu(inp[i]);
        break;
    case RG_UNARY_RELU:
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < n; i++)
            out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
        break;
    case RG_UNARY_TANH:
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < n; i++)
            out[i] = vm_tanh(inp[i]);
        break;
    case RG_UNARY_EXP:
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < n; i++)
            out[i] = vm_exp(inp[i]);
        break;
    }
}

/* saved is the forward input, or its output for tanh and exp */
RG_CLONES static void unary_backward_loop(rg_unary_kind kind, float *dinp, const float *dout, const float *saved,
                                          int64_t n)
{
    switch (kind) {
    case RG_UNARY_SILU:
        /* forward: y = x s, s = sigmoid(x)  =>  dy/dx = s + x s (1 - s) */
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < n; i++)
            dinp[i] = dout[i] * silu_grad(saved[i]);
        break;
    case RG_UNARY_GELU:
        /* forward: y = x Phi(x)  =>  dy/dx = Phi(x) + x phi(x) */
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < n; i++)
            dinp[i] = dout[i] * gelu_grad(saved[i]);
        break;
    case RG_UNARY_QUICK_GELU:
        /* forward: y = x s, s = sigmoid(a x)  =>  dy/dx = s + a x s (1 - s) */
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < n; i++)
            dinp[i] = dout[i] * quick_gelu_grad(saved[i]);
        break;
    case RG_UNARY_RELU:
        /* forward: y = max(x, 0)  =>  dy/dx = [x > 0] */
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < n; i++)
            dinp[i] = saved[i] > 0.0f ? dout[i] : 0.0f;
        break;
    case RG_UNARY_TANH:
        /* forward: y = tanh(x)  =>  dy/dx = 1 - y^2 */
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < n; i++)
            dinp[i] = dout[i] * (1.0f - saved[i] * saved[i]);
        break;
    case RG_UNARY_EXP:
        /* forward: y = exp(x)  =>  dy/dx = y */
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < n; i++)
            dinp[i] = dout[i] * saved[i];
        break;
    }
}

/* out = h * gelu(g) for R rows of inp = [h | g] */
RG_CLONES static void geglu_forward_loop(float *out, const float *inp, int64_t R, int64_t D)
{
    for (int64_t r = 0; r < R; r++) {
        const float *h = inp + r * 2 * D, *g = h + D; // (D), (D)
        float *y = out + r * D;                       // (D)
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < D; i++)
            y[i] = h[i] * gelu(g[i]);
    }
}

RG_CLONES static void geglu_backward_loop(float *dinp, const float *dout, const float *inp, int64_t R, int64_t D)
{
    for (int64_t r = 0; r < R; r++) {
        const float *h = inp + r * 2 * D, *g = h + D, *dy = dout + r * D; // (D) each
        float *dh = dinp + r * 2 * D, *dg = dh + D;                       // (D) each
        /* forward: y = h gelu(g)  =>  dh = dy gelu(g), dg = dy h gelu'(g) */
#pragma omp simd simdlen(16)
        for (int64_t i = 0; i < D; i++) {
            float grad, y = gelu_and_grad(g[i], &grad);
            dh[i] = dy[i] * y;
            dg[i] = dy[i] * h[i] * grad;
        }
    }
}

/* y = exp(x - max) / sum exp(x - max) for R rows of length L. x - max <= 0,
 * and NaN when the row is all -inf or holds +inf or NaN (as in PyTorch).
 * Not cloned: 512-bit vectors are slower on rows as short as 77. */
static void softmax_forward_loop(float *out, const float *inp, int64_t R, int64_t L)
{
    for (int64_t r = 0; r < R; r++) {
        const float *x = inp + r * L; // (L)
        float *y = out + r * L;       // (L)
        float mx = vm_max(x, L);
        double sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int64_t i = 0; i < L; i++) {
            y[i] = vm_exp_neg(x[i] - mx);
            sum += y[i];
        }
        float inv = (float)(1.0 / sum);
#pragma omp simd
        for (int64_t i = 0; i < L; i++)
            y[i] *= inv;
    }
}

/* ---- kernels ------------------------------------------------------------------- */

rg_status rg_cpu_unary_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    rg_unary_kind kind = ((const rg_unary_params *)params)->kind;
    float *out = rg_tensor_data_f32(t[0]);       // (n)
    const float *inp = rg_tensor_data_f32(t[1]); // (n)
    int64_t n = rg_tensor_numel(t[0]);
    if ((unsigned)kind > RG_UNARY_EXP)
        return RG_STATUS_UNSUPPORTED;
    int64_t blocks = (n + RG_BLOCK - 1) / RG_BLOCK;
#pragma omp parallel for schedule(static) if (n > RG_PAR_MIN)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t i = b * RG_BLOCK;
        unary_forward_loop(kind, out + i, inp + i, MIN(RG_BLOCK, n - i));
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_unary_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    rg_unary_kind kind = ((const rg_unary_params *)params)->kind;
    float *dinp = rg_tensor_data_f32(t[0]);        // (n)
    const float *dout = rg_tensor_data_f32(t[1]);  // (n)
    const float *saved = rg_tensor_data_f32(t[2]); // (n) inp, or out for tanh and exp
    int64_t n = rg_tensor_numel(t[0]);
    if ((unsigned)kind > RG_UNARY_EXP)
        return RG_STATUS_UNSUPPORTED;
    int64_t blocks = (n + RG_BLOCK - 1) / RG_BLOCK;
#pragma omp parallel for schedule(static) if (n > RG_PAR_MIN)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t i = b * RG_BLOCK;
        unary_backward_loop(kind, dinp + i, dout + i, saved + i, MIN(RG_BLOCK, n - i));
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_geglu_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    (void)params;
    int64_t D = t[0]->ndim > 0 ? t[0]->shape[t[0]->ndim - 1] : 1;
    int64_t R = D > 0 ? rg_tensor_numel(t[0]) / D : 0;
    float *out = rg_tensor_data_f32(t[0]);       // (R, D)
    const float *inp = rg_tensor_data_f32(t[1]); // (R, 2D)
    int64_t rows = MAX(1, RG_ROW_BLOCK / MAX(D, 1)), blocks = (R + rows - 1) / rows;
#pragma omp parallel for schedule(static) if (R * D > RG_PAR_MIN)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t r = b * rows;
        geglu_forward_loop(out + r * D, inp + r * 2 * D, MIN(rows, R - r), D);
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_geglu_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    (void)params;
    int64_t D = t[1]->ndim > 0 ? t[1]->shape[t[1]->ndim - 1] : 1;
    int64_t R = D > 0 ? rg_tensor_numel(t[1]) / D : 0;
    float *dinp = rg_tensor_data_f32(t[0]);       // (R, 2D)
    const float *dout = rg_tensor_data_f32(t[1]); // (R, D)
    const float *inp = rg_tensor_data_f32(t[2]);  // (R, 2D)
    int64_t rows = MAX(1, RG_ROW_BLOCK / MAX(D, 1)), blocks = (R + rows - 1) / rows;
#pragma omp parallel for schedule(static) if (R * D > RG_PAR_MIN)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t r = b * rows;
        geglu_backward_loop(dinp + r * 2 * D, dout + r * D, inp + r * 2 * D, MIN(rows, R - r), D);
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_softmax_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    (void)params;
    int64_t L = t[0]->ndim > 0 ? t[0]->shape[t[0]->ndim - 1] : 1;
    int64_t R = L > 0 ? rg_tensor_numel(t[0]) / L : 0;
    float *out = rg_tensor_data_f32(t[0]);       // (R, L)
    const float *inp = rg_tensor_data_f32(t[1]); // (R, L)
    int64_t rows = MAX(1, RG_ROW_BLOCK / MAX(L, 1)), blocks = (R + rows - 1) / rows;
#pragma omp parallel for schedule(static) if (R * L > RG_PAR_MIN / 4)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t r = b * rows;
        softmax_forward_loop(out + r * L, inp + r * L, MIN(rows, R - r), L);
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_softmax_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    (void)params;
    int64_t L = t[0]->ndim > 0 ? t[0]->shape[t[0]->ndim - 1] : 1;
    int64_t R = L > 0 ? rg_tensor_numel(t[0]) / L : 0;
    float *dinp = rg_tensor_data_f32(t[0]);       // (R, L)
    const float *dout = rg_tensor_data_f32(t[1]); // (R, L)
    const float *out = rg_tensor_data_f32(t[2]);  // (R, L)
#pragma omp parallel for schedule(static) if (R * L > RG_PAR_MIN / 4)
    for (int64_t r = 0; r < R; r++) {
        const float *y = out + r * L, *dy = dout + r * L;
        float *dx = dinp + r * L;
        /* forward: y_i = exp(x_i) / sum_j exp(x_j)  =>  dx_i = y_i (dy_i - sum_j dy_j y_j) */
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < L; i++)
            s += (double)dy[i] * y[i];
        float fs = (float)s;
#pragma omp simd
        for (int64_t i = 0; i < L; i++)
            dx[i] = y[i] * (dy[i] - fs);
    }
    return RG_STATUS_OK;
}

/* ---- front doors ------------------------------------------------------------ */

/* Runs a backward kernel t = { dinp, dout (made contiguous), saved[0] }. */
static gboolean run_backward(rg_ctx *ctx, rg_node *node, rg_op op, const void *params, rg_tensor *const *dout,
                             rg_tensor **din, GError **error)
{
    if (!node->in[0].needs_grad)
        return TRUE;
    g_autoptr(rg_tensor) dy = rg_tensor_contiguous_copy(dout[0], error);
    if (!dy)
        return FALSE;
    rg_tensor *dx = rg_tensor_new_uninit(RG_DTYPE_F32, node->in[0].ndim, node->in[0].shape, error);
    if (!dx)
        return FALSE;
    rg_tensor *t[3] = { dx, dy, node->saved[0] };
    if (!rg_ctx_compute(ctx, op, params, t, error)) {
        rg_tensor_unref(dx);
        return FALSE;
    }
    din[0] = dx;
    return TRUE;
}

/* out = op(x), with an output of shape @shape; *xc receives the contiguous input. */
static rg_tensor *run_forward(rg_ctx *ctx, rg_op op, const void *params, rg_tensor *x, int ndim,
                              const int64_t *shape, rg_tensor **xc, GError **error)
{
    *xc = rg_tensor_contiguous_copy(x, error);
    if (!*xc)
        return NULL;
    rg_tensor *out = rg_tensor_new_uninit(RG_DTYPE_F32, ndim, shape, error);
    rg_tensor *t[2] = { out, *xc };
    if (!out || !rg_ctx_compute(ctx, op, params, t, error)) {
        g_clear_pointer(&out, rg_tensor_unref);
        g_clear_pointer(xc, rg_tensor_unref);
        return NULL;
    }
    return out;
}

static gboolean unary_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din, GError **error)
{
    return run_backward(ctx, node, RG_OP_UNARY_BACK, rg_node_params(node, rg_unary_params), dout, din, error);
}

static rg_tensor *unary(rg_ctx *ctx, rg_tensor *x, rg_unary_kind kind, const char *name, GError **error)
{
    g_return_val_if_fail(ctx && x, NULL);
    if (!rg_check_f32(name, "input", x, error))
        return NULL;
    rg_unary_params p = { .kind = kind };
    g_autoptr(rg_tensor) xc = NULL;
    rg_tensor *out = run_forward(ctx, RG_OP_UNARY, &p, x, x->ndim, x->shape, &xc, error);
    if (out && rg_autograd_wants(ctx, &x, 1)) {
        rg_node *node = rg_autograd_record(ctx, name, unary_backward, &x, 1, &out, 1);
        /* tanh and exp differentiate from their output, the others from their input */
        rg_node_save(node, 0, kind == RG_UNARY_TANH || kind == RG_UNARY_EXP ? out : xc);
        *rg_node_params(node, rg_unary_params) = p;
    }
    return out;
}

rg_tensor *rg_silu(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    return unary(ctx, x, RG_UNARY_SILU, "silu", error);
}

rg_tensor *rg_gelu(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    return unary(ctx, x, RG_UNARY_GELU, "gelu", error);
}

rg_tensor *rg_quick_gelu(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    return unary(ctx, x, RG_UNARY_QUICK_GELU, "quick_gelu", error);
}

rg_tensor *rg_relu(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    return unary(ctx, x, RG_UNARY_RELU, "relu", error);
}

rg_tensor *rg_tanh(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    return unary(ctx, x, RG_UNARY_TANH, "tanh", error);
}

rg_tensor *rg_exp(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    return unary(ctx, x, RG_UNARY_EXP, "exp", error);
}

static gboolean geglu_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din, GError **error)
{
    return run_backward(ctx, node, RG_OP_GEGLU_BACK, NULL, dout, din, error);
}

rg_tensor *rg_geglu(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    g_return_val_if_fail(ctx && x, NULL);
    if (!rg_check_f32("geglu", "input", x, error))
        return NULL;
    if (x->ndim < 1 || x->shape[x->ndim - 1] % 2 != 0) {
        g_autofree char *s = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "geglu: input %s should be (..., 2D) with an even last dimension", s);
        return NULL;
    }
    int64_t shape[RG_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        shape[d] = x->shape[d];
    shape[x->ndim - 1] /= 2;
    g_autoptr(rg_tensor) xc = NULL;
    rg_tensor *out = run_forward(ctx, RG_OP_GEGLU, NULL, x, x->ndim, shape, &xc, error);
    if (out && rg_autograd_wants(ctx, &x, 1)) {
        rg_node *node = rg_autograd_record(ctx, "geglu", geglu_backward, &x, 1, &out, 1);
        rg_node_save(node, 0, xc);
    }
    return out;
}

static gboolean softmax_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                                 GError **error)
{
    return run_backward(ctx, node, RG_OP_SOFTMAX_BACK, NULL, dout, din, error);
}

rg_tensor *rg_softmax(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    g_return_val_if_fail(ctx && x, NULL);
    if (!rg_check_f32("softmax", "input", x, error))
        return NULL;
    if (x->ndim < 1) {
        g_autofree char *s = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "softmax: input %s has no last dimension", s);
        return NULL;
    }
    g_autoptr(rg_tensor) xc = NULL;
    rg_tensor *out = run_forward(ctx, RG_OP_SOFTMAX, NULL, x, x->ndim, x->shape, &xc, error);
    if (out && rg_autograd_wants(ctx, &x, 1)) {
        rg_node *node = rg_autograd_record(ctx, "softmax", softmax_backward, &x, 1, &out, 1);
        rg_node_save(node, 0, out);
    }
    return out;
}
