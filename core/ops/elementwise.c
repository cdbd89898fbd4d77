/* elementwise.c — add, sub, mul with NumPy broadcasting; scale; sum and mean.
 *
 * Broadcasting aligns shapes at the trailing dimension; an input's broadcast
 * dimensions become stride-0 views of the output's shape, so one strided loop
 * serves every case. The backward of a broadcast input sums the cotangent
 * over the dimensions it was broadcast along (RG_OP_REDUCE).
 */
#include "ops/elementwise.h"

#include <math.h>
#include <string.h>

#include "autograd/tape_impl.h"
#include "tensor/context.h"

/* ---- kernels ------------------------------------------------------------ */

/* Offsets of row @r (all dims but the last) in a tensor of @like's shape. */
static inline int64_t row_offset(const rg_tensor *like, const rg_tensor *t, int64_t r)
{
    int64_t off = t->offset;
    for (int i = like->ndim - 2; i >= 0; i--) {
        int64_t k = r % like->shape[i];
        r /= like->shape[i];
        off += k * t->strides[i];
    }
    return off;
}

static inline int64_t inner_size(const rg_tensor *t)
{
    return t->ndim ? t->shape[t->ndim - 1] : 1;
}

static inline int64_t inner_stride(const rg_tensor *t)
{
    return t->ndim ? t->strides[t->ndim - 1] : 1;
}

rg_status rg_cpu_binary(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    rg_binary_kind kind = ((const binary_params *)params)->kind;
    rg_tensor *out = t[0], *a = t[1], *b = t[2];
    float *po = rg_tensor_data_f32(out);
    const float *pa = (const float *)a->storage->data, *pb = (const float *)b->storage->data;
    int64_t inner = inner_size(out), rows = inner ? rg_tensor_numel(out) / inner : 0;
    int64_t sa = inner_stride(a), sb = inner_stride(b);
#pragma omp parallel for if (rows * inner > 32768) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *ra = pa + row_offset(out, a, r), *rb = pb + row_offset(out, b, r);
        float *ro = po + r * inner;
        if (sa == 1 && sb == 1) {
            switch (kind) {
            case RG_BINARY_ADD:
#pragma omp simd
                for (int64_t j = 0; j < inner; j++) ro[j] = ra[j] + rb[j];
                break;
            case RG_BINARY_SUB:
#pragma omp simd
                for (int64_t j = 0; j < inner; j++) ro[j] = ra[j] - rb[j];
                break;
            case RG_BINARY_MUL:
#pragma omp simd
                for (int64_t j = 0; j < inner; j++) ro[j] = ra[j] * rb[j];
                break;
            }
        } else {
            for (int64_t j = 0; j < inner; j++) {
                float x = ra[j * sa], y = rb[j * sb];
                ro[j] = kind == RG_BINARY_ADD ? x + y : kind == RG_BINARY_SUB ? x - y : x * y;
            }
        }
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_scale(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    const scale_params *p = params;
    rg_tensor *out = t[0], *x = t[1];
    float *po = rg_tensor_data_f32(out);
    const float *px = (const float *)x->storage->data;
    int64_t inner = inner_size(out), rows = inner ? rg_tensor_numel(out) / inner : 0, sx = inner_stride(x);
    float s = p->scale, c = p->shift;
#pragma omp parallel for if (rows * inner > 32768) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *rx = px + row_offset(out, x, r);
        float *ro = po + r * inner;
        if (sx == 1) {
#pragma omp simd
            for (int64_t j = 0; j < inner; j++) ro[j] = rx[j] * s + c;
        } else {
            for (int64_t j = 0; j < inner; j++) ro[j] = rx[j * sx] * s + c;
        }
    }
    return RG_STATUS_OK;
}

typedef struct {
    const rg_tensor *x;
    int n_red;
    int red[RG_MAX_DIMS]; /* reduced dimensions */
} fiber;

/* Offset in x of element @f of the fiber that starts at @base. */
static inline int64_t fiber_offset(const fiber *fb, int64_t base, int64_t f)
{
    for (int j = fb->n_red - 1; j >= 0; j--) {
        int d = fb->red[j];
        base += (f % fb->x->shape[d]) * fb->x->strides[d];
        f /= fb->x->shape[d];
    }
    return base;
}

rg_status rg_cpu_reduce(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    float scale = ((const reduce_params *)params)->scale;
    rg_tensor *out = t[0], *x = t[1];
    fiber fb = { .x = x };
    int64_t len = 1;
    for (int i = 0; i < x->ndim; i++)
        if (out->shape[i] == 1 && x->shape[i] != 1) {
            fb.red[fb.n_red++] = i;
            len *= x->shape[i];
        }
    int64_t n_out = rg_tensor_numel(out);
    float *po = rg_tensor_data_f32(out);
    const float *px = (const float *)x->storage->data;
    /* Many outputs: one thread per output. Few (a full sum): split each fiber. */
    gboolean split_fibers = n_out < 4;
#pragma omp parallel for if (!split_fibers && n_out * len > 32768) schedule(static)
    for (int64_t o = 0; o < n_out; o++) {
        int64_t base = x->offset, rem = o;
        for (int i = x->ndim - 1; i >= 0; i--) {
            base += (rem % out->shape[i]) * x->strides[i];
            rem /= out->shape[i];
        }
        double acc = 0;
#pragma omp parallel for reduction(+ : acc) if (split_fibers && len > 32768) schedule(static)
        for (int64_t f = 0; f < len; f++)
            acc += px[fiber_offset(&fb, base, f)];
        po[o] = (float)(acc * scale);
    }
    return RG_STATUS_OK;
}

/* ---- helpers -------------------------------------------------------------- */

/* @x seen with @ndim dimensions and shape @shape: leading 1s prepended and
 * broadcast dimensions at stride 0. */
static rg_tensor *broadcast_view(rg_tensor *x, int ndim, const int64_t *shape)
{
    int64_t strides[RG_MAX_DIMS];
    int lead = ndim - x->ndim;
    for (int i = 0; i < ndim; i++) {
        int j = i - lead;
        strides[i] = (j < 0 || x->shape[j] == 1) ? 0 : x->strides[j];
    }
    return rg_tensor_view(x, ndim, shape, strides, x->offset);
}

/* Sums @g (shape @ndim/@shape of the broadcast result) back to the edge's shape, times @scale. */
static rg_tensor *reduce_to(rg_ctx *ctx, rg_tensor *g, const rg_edge *e, float scale, GError **error)
{
    int64_t kept[RG_MAX_DIMS];
    int lead = g->ndim - e->ndim;
    gboolean same = lead == 0;
    for (int i = 0; i < g->ndim; i++) {
        int j = i - lead;
        kept[i] = (j < 0) ? 1 : e->shape[j];
        same &= kept[i] == g->shape[i];
    }
    if (same && scale == 1.0f)
        return rg_tensor_ref(g);
    g_autoptr(rg_tensor) r = rg_tensor_new_uninit(RG_DTYPE_F32, g->ndim, kept, error);
    reduce_params p = { scale };
    rg_tensor *args[2] = { r, g };
    if (!r || !rg_ctx_compute(ctx, RG_OP_REDUCE, &p, args, error))
        return NULL;
    return rg_reshape(ctx, r, e->ndim, e->shape, error);
}

static gboolean broadcast_shape(const char *op, const rg_tensor *a, const rg_tensor *b, int *ndim,
                                int64_t *shape, GError **error)
{
    int nd = MAX(a->ndim, b->ndim);
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            g_autofree char *sa = rg_tensor_shape_string(a);
            g_autofree char *sb = rg_tensor_shape_string(b);
            g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: shapes %s and %s do not broadcast", op, sa, sb);
            return FALSE;
        }
        shape[i] = da == 1 ? db : da;
    }
    *ndim = nd;
    return TRUE;
}

/* ---- add, sub, mul ------------------------------------------------------- */

static const char *const binary_names[] = { "add", "sub", "mul" };

static gboolean binary_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                                GError **error)
{
    rg_binary_kind kind = rg_node_params(node, binary_params)->kind;
    for (int i = 0; i < 2; i++) {
        if (!node->in[i].needs_grad)
            continue;
        if (kind == RG_BINARY_MUL) {
            /* out = a * b  =>  da = dout * b, db = dout * a */
            g_autoptr(rg_tensor) prod = rg_mul(ctx, dout[0], node->saved[1 - i], error);
            din[i] = prod ? reduce_to(ctx, prod, &node->in[i], 1.0f, error) : NULL;
        } else {
            /* out = a +- b  =>  da = dout, db = +-dout */
            float sign = (kind == RG_BINARY_SUB && i == 1) ? -1.0f : 1.0f;
            din[i] = reduce_to(ctx, dout[0], &node->in[i], sign, error);
        }
        if (!din[i])
            return FALSE;
    }
    return TRUE;
}

static rg_tensor *binary(rg_ctx *ctx, rg_binary_kind kind, rg_tensor *a, rg_tensor *b, GError **error)
{
    const char *op = binary_names[kind];
    int nd;
    int64_t shape[RG_MAX_DIMS];
    if (!rg_check_f32(op, "a", a, error) || !rg_check_f32(op, "b", b, error) ||
        !broadcast_shape(op, a, b, &nd, shape, error))
        return NULL;
    rg_tensor *out = rg_tensor_new_uninit(RG_DTYPE_F32, nd, shape, error);
    if (!out)
        return NULL;
    g_autoptr(rg_tensor) va = broadcast_view(a, nd, shape);
    g_autoptr(rg_tensor) vb = broadcast_view(b, nd, shape);
    binary_params p = { kind };
    rg_tensor *args[3] = { out, va, vb };
    if (!rg_ctx_compute(ctx, RG_OP_BINARY, &p, args, error)) {
        rg_tensor_unref(out);
        return NULL;
    }
    rg_tensor *inputs[2] = { a, b };
    if (rg_autograd_wants(ctx, inputs, 2)) {
        rg_node *n = rg_autograd_record(ctx, op, binary_backward, inputs, 2, &out, 1);
        rg_node_params(n, binary_params)->kind = kind;
        if (kind == RG_BINARY_MUL) {
            rg_node_save(n, 0, a);
            rg_node_save(n, 1, b);
        }
    }
    return out;
}

rg_tensor *rg_add(rg_ctx *ctx, rg_tensor *a, rg_tensor *b, GError **error)
{
    return binary(ctx, RG_BINARY_ADD, a, b, error);
}

rg_tensor *rg_sub(rg_ctx *ctx, rg_tensor *a, rg_tensor *b, GError **error)
{
    return binary(ctx, RG_BINARY_SUB, a, b, error);
}

rg_tensor *rg_mul(rg_ctx *ctx, rg_tensor *a, rg_tensor *b, GError **error)
{
    return binary(ctx, RG_BINARY_MUL, a, b, error);
}

/* ---- scale ---------------------------------------------------------------- */

static gboolean scale_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                               GError **error)
{
    /* out = x * s + c  =>  dx = dout * s */
    din[0] = rg_scale(ctx, dout[0], rg_node_params(node, scale_params)->scale, 0.0f, error);
    return din[0] != NULL;
}

rg_tensor *rg_scale(rg_ctx *ctx, rg_tensor *x, float scale, float shift, GError **error)
{
    if (!rg_check_f32("scale", "input", x, error))
        return NULL;
    rg_tensor *out = rg_tensor_new_like(x, error);
    scale_params p = { scale, shift };
    rg_tensor *args[2] = { out, x };
    if (!out || !rg_ctx_compute(ctx, RG_OP_SCALE, &p, args, error)) {
        g_clear_pointer(&out, rg_tensor_unref);
        return NULL;
    }
    if (rg_autograd_wants(ctx, &x, 1)) {
        rg_node *n = rg_autograd_record(ctx, "scale", scale_backward, &x, 1, &out, 1);
        *rg_node_params(n, scale_params) = p;
    }
    return out;
}

/* ---- sum and mean --------------------------------------------------------- */

typedef struct {
    int64_t kept[RG_MAX_DIMS]; /* the input's shape with reduced dims at 1 */
    float scale;
} reduce_node_params;

static gboolean reduce_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                                GError **error)
{
    /* out = scale * sum(x over dims)  =>  dx = scale * dout broadcast to x */
    const rg_edge *e = &node->in[0];
    const reduce_node_params *rp = rg_node_params(node, reduce_node_params);
    g_autoptr(rg_tensor) kept = rg_reshape(ctx, dout[0], e->ndim, rp->kept, error);
    if (!kept)
        return FALSE;
    g_autoptr(rg_tensor) view = broadcast_view(kept, e->ndim, e->shape);
    float scale = rp->scale;
    rg_tensor *g = rg_tensor_new_uninit(RG_DTYPE_F32, e->ndim, e->shape, error);
    scale_params p = { scale, 0.0f };
    rg_tensor *args[2] = { g, view };
    if (!g || !rg_ctx_compute(ctx, RG_OP_SCALE, &p, args, error)) {
        g_clear_pointer(&g, rg_tensor_unref);
        return FALSE;
    }
    din[0] = g;
    return TRUE;
}

/* Reduces along @dim, or over everything when @all; @mean divides by the count. */
static rg_tensor *reduce(rg_ctx *ctx, const char *op, rg_tensor *x, int dim, gboolean all, gboolean mean,
                         GError **error)
{
    if (!rg_check_f32(op, "input", x, error))
        return NULL;
    if (!all && (dim < -x->ndim || dim >= x->ndim)) {
        g_autofree char *s = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: dimension %d is out of range for %s", op, dim, s);
        return NULL;
    }
    if (dim < 0)
        dim += x->ndim;
    int64_t kept[RG_MAX_DIMS], count = 1;
    for (int i = 0; i < x->ndim; i++) {
        gboolean reduced = all || i == dim;
        kept[i] = reduced ? 1 : x->shape[i];
        if (reduced)
            count *= x->shape[i];
    }
    float scale = mean ? (count ? 1.0f / (float)count : NAN) : 1.0f;
    g_autoptr(rg_tensor) r = rg_tensor_new_uninit(RG_DTYPE_F32, x->ndim, kept, error);
    reduce_params p = { scale };
    rg_tensor *args[2] = { r, x };
    if (!r || !rg_ctx_compute(ctx, RG_OP_REDUCE, &p, args, error))
        return NULL;
    /* A full reduction gives shape (1); a reduction along dim keeps it as 1. */
    int64_t one = 1;
    rg_tensor *out = all ? rg_tensor_view(r, 1, &one, &one, r->offset) : rg_tensor_ref(r);
    if (rg_autograd_wants(ctx, &x, 1)) {
        rg_node *n = rg_autograd_record(ctx, op, reduce_backward, &x, 1, &out, 1);
        reduce_node_params *rp = rg_node_params(n, reduce_node_params);
        memcpy(rp->kept, kept, sizeof kept);
        rp->scale = scale;
    }
    return out;
}

rg_tensor *rg_sum(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    return reduce(ctx, "sum", x, 0, TRUE, FALSE, error);
}

rg_tensor *rg_mean(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    return reduce(ctx, "mean", x, 0, TRUE, TRUE, error);
}

rg_tensor *rg_sum_dim(rg_ctx *ctx, rg_tensor *x, int dim, GError **error)
{
    return reduce(ctx, "sum_dim", x, dim, FALSE, FALSE, error);
}

rg_tensor *rg_mean_dim(rg_ctx *ctx, rg_tensor *x, int dim, GError **error)
{
    return reduce(ctx, "mean_dim", x, dim, FALSE, TRUE, error);
}
