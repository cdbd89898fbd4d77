/* activation.c — element-wise activations (SiLU, GELU, QuickGELU, ReLU,
 * tanh), GEGLU and softmax: kernels, front doors and backward functions.
 *
 * The element-wise loops are plain float loops over contiguous arrays, split
 * across threads by OpenMP; they call expf/erff/tanhf from libm, which keeps
 * them within an ulp or two of the float64 reference. Softmax subtracts the
 * row maximum before exponentiating and sums in double.
 */
#include "ops/activation.h"

#include <math.h>

#include "autograd/tape_impl.h"
#include "tensor/context.h"

#define RG_QUICK_GELU_ALPHA 1.702f
#define RG_PAR_MIN 32768 /* elements below which a kernel stays on one thread */

/* ---- scalar functions --------------------------------------------------- */

static inline float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2); erfc keeps
 * Phi's relative precision for negative x, where 1 + erf cancels. */
static inline float gelu(float x)
{
    return 0.5f * x * erfcf(-x * (float)M_SQRT1_2);
}

/* d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi) */
static inline float gelu_grad(float x)
{
    float cdf = 0.5f * erfcf(-x * (float)M_SQRT1_2);
    float pdf = expf(-0.5f * x * x) * (float)(0.5 * M_2_SQRTPI * M_SQRT1_2);
    return cdf + x * pdf;
}

/* ---- unary kernels -------------------------------------------------------- */

rg_status rg_cpu_unary_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    rg_unary_kind kind = ((const rg_unary_params *)params)->kind;
    float *out = rg_tensor_data_f32(t[0]);       // (n)
    const float *inp = rg_tensor_data_f32(t[1]); // (n)
    int64_t n = rg_tensor_numel(t[0]);
    switch (kind) {
    case RG_UNARY_SILU:
#pragma omp parallel for simd schedule(static) if (n > RG_PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            out[i] = inp[i] * sigmoid(inp[i]);
        break;
    case RG_UNARY_GELU:
#pragma omp parallel for simd schedule(static) if (n > RG_PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            out[i] = gelu(inp[i]);
        break;
    case RG_UNARY_QUICK_GELU:
#pragma omp parallel for simd schedule(static) if (n > RG_PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            out[i] = inp[i] * sigmoid(RG_QUICK_GELU_ALPHA * inp[i]);
        break;
    case RG_UNARY_RELU:
#pragma omp parallel for simd schedule(static) if (n > RG_PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
        break;
    case RG_UNARY_TANH:
#pragma omp parallel for simd schedule(static) if (n > RG_PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            out[i] = tanhf(inp[i]);
        break;
    default:
        return RG_STATUS_UNSUPPORTED;
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_unary_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    rg_unary_kind kind = ((const rg_unary_params *)params)->kind;
    float *dinp = rg_tensor_data_f32(t[0]);        // (n)
    const float *dout = rg_tensor_data_f32(t[1]);  // (n)
    const float *saved = rg_tensor_data_f32(t[2]); // (n) inp, or out for tanh
    int64_t n = rg_tensor_numel(t[0]);
    switch (kind) {
    case RG_UNARY_SILU:
        /* forward: y = x s, s = sigmoid(x)  =>  dy/dx = s + x s (1 - s) */
#pragma omp parallel for simd schedule(static) if (n > RG_PAR_MIN)
        for (int64_t i = 0; i < n; i++) {
            float x = saved[i], s = sigmoid(x);
            dinp[i] = dout[i] * s * (1.0f + x * (1.0f - s));
        }
        break;
    case RG_UNARY_GELU:
        /* forward: y = x Phi(x)  =>  dy/dx = Phi(x) + x phi(x) */
#pragma omp parallel for simd schedule(static) if (n > RG_PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            dinp[i] = dout[i] * gelu_grad(saved[i]);
        break;
    case RG_UNARY_QUICK_GELU:
        /* forward: y = x s, s = sigmoid(a x)  =>  dy/dx = s + a x s (1 - s) */
#pragma omp parallel for simd schedule(static) if (n > RG_PAR_MIN)
        for (int64_t i = 0; i < n; i++) {
            float x = saved[i], s = sigmoid(RG_QUICK_GELU_ALPHA * x);
            dinp[i] = dout[i] * s * (1.0f + RG_QUICK_GELU_ALPHA * x * (1.0f - s));
        }
        break;
    case RG_UNARY_RELU:
        /* forward: y = max(x, 0)  =>  dy/dx = [x > 0] */
#pragma omp parallel for simd schedule(static) if (n > RG_PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            dinp[i] = saved[i] > 0.0f ? dout[i] : 0.0f;
        break;
    case RG_UNARY_TANH:
        /* forward: y = tanh(x)  =>  dy/dx = 1 - y^2 */
#pragma omp parallel for simd schedule(static) if (n > RG_PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            dinp[i] = dout[i] * (1.0f - saved[i] * saved[i]);
        break;
    default:
        return RG_STATUS_UNSUPPORTED;
    }
    return RG_STATUS_OK;
}

/* ---- GEGLU kernels ---------------------------------------------------------- */

rg_status rg_cpu_geglu_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    (void)params;
    int64_t D = t[0]->ndim > 0 ? t[0]->shape[t[0]->ndim - 1] : 1;
    int64_t R = D > 0 ? rg_tensor_numel(t[0]) / D : 0;
    float *out = rg_tensor_data_f32(t[0]);       // (R, D)
    const float *inp = rg_tensor_data_f32(t[1]); // (R, 2D)
#pragma omp parallel for schedule(static) if (R * D > RG_PAR_MIN)
    for (int64_t r = 0; r < R; r++) {
        const float *h = inp + r * 2 * D, *g = h + D;
        float *y = out + r * D;
#pragma omp simd
        for (int64_t i = 0; i < D; i++)
            y[i] = h[i] * gelu(g[i]);
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
#pragma omp parallel for schedule(static) if (R * D > RG_PAR_MIN)
    for (int64_t r = 0; r < R; r++) {
        const float *h = inp + r * 2 * D, *g = h + D, *dy = dout + r * D;
        float *dh = dinp + r * 2 * D, *dg = dh + D;
        /* forward: y = h gelu(g)  =>  dh = dy gelu(g), dg = dy h gelu'(g) */
#pragma omp simd
        for (int64_t i = 0; i < D; i++) {
            dh[i] = dy[i] * gelu(g[i]);
            dg[i] = dy[i] * h[i] * gelu_grad(g[i]);
        }
    }
    return RG_STATUS_OK;
}

/* ---- softmax kernels ----------------------------------------------------------- */

rg_status rg_cpu_softmax_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    (void)params;
    int64_t L = t[0]->ndim > 0 ? t[0]->shape[t[0]->ndim - 1] : 1;
    int64_t R = L > 0 ? rg_tensor_numel(t[0]) / L : 0;
    float *out = rg_tensor_data_f32(t[0]);       // (R, L)
    const float *inp = rg_tensor_data_f32(t[1]); // (R, L)
#pragma omp parallel for schedule(static) if (R * L > RG_PAR_MIN / 4)
    for (int64_t r = 0; r < R; r++) {
        const float *x = inp + r * L;
        float *y = out + r * L;
        float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
        for (int64_t i = 0; i < L; i++)
            mx = fmaxf(mx, x[i]);
        /* y = exp(x - max) / sum exp(x - max) */
        double sum = 0;
        for (int64_t i = 0; i < L; i++) {
            y[i] = expf(x[i] - mx);
            sum += y[i];
        }
        float inv = (float)(1.0 / sum);
#pragma omp simd
        for (int64_t i = 0; i < L; i++)
            y[i] *= inv;
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
        /* tanh differentiates from its output, the others from their input */
        rg_node_save(node, 0, kind == RG_UNARY_TANH ? out : xc);
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
