/* shape.c — reshape, contiguous, permute, slice, split, concat, and the copy
 * and fill kernels under them.
 *
 * Reshape and slice are views when the layout allows (no data moves);
 * permute and concat copy. Each records a backward that routes the cotangent
 * back through the same geometry.
 */
#include "ops/shape.h"

#include <string.h>

#include "autograd/tape_impl.h"
#include "tensor/context.h"

/* ---- kernels ------------------------------------------------------------ */

/* Calls body(dst_offset, src_offset) for every element, innermost dim in a loop. */
rg_status rg_cpu_copy(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    (void)params;
    rg_tensor *dst = t[0], *src = t[1];
    g_assert(rg_tensor_same_shape(dst, src) && dst->dtype == src->dtype);
    size_t es = rg_dtype_size(dst->dtype);
    int nd = dst->ndim;
    if (nd == 0) {
        memcpy((char *)dst->storage->data + dst->offset * es, (char *)src->storage->data + src->offset * es, es);
        return RG_STATUS_OK;
    }
    int64_t inner = dst->shape[nd - 1];
    int64_t ds = dst->strides[nd - 1], ss = src->strides[nd - 1];
    int64_t rows = rg_tensor_numel(dst) / MAX(inner, 1);
    if (inner == 0)
        return RG_STATUS_OK;
    char *dbase = (char *)dst->storage->data;
    const char *sbase = (const char *)src->storage->data;
#pragma omp parallel for if (rows * inner > 32768) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t doff = dst->offset, soff = src->offset, rem = r;
        for (int i = nd - 2; i >= 0; i--) {
            int64_t k = rem % dst->shape[i];
            rem /= dst->shape[i];
            doff += k * dst->strides[i];
            soff += k * src->strides[i];
        }
        if (es == 4) {
            float *d = (float *)dbase + doff;
            const float *s = (const float *)sbase + soff;
            if (ds == 1 && ss == 1)
                memcpy(d, s, (size_t)inner * 4);
            else
                for (int64_t j = 0; j < inner; j++)
                    d[j * ds] = s[j * ss];
        } else {
            for (int64_t j = 0; j < inner; j++)
                memcpy(dbase + (doff + j * ds) * (int64_t)es, sbase + (soff + j * ss) * (int64_t)es, es);
        }
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_fill(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    float v = *(const float *)params;
    float *d = rg_tensor_data_f32(t[0]);
    int64_t n = rg_tensor_numel(t[0]);
#pragma omp parallel for simd if (parallel : n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++)
        d[i] = v;
    return RG_STATUS_OK;
}

/* ---- helpers -------------------------------------------------------------- */

static gboolean copy_into(rg_ctx *ctx, rg_tensor *dst, rg_tensor *src, GError **error)
{
    rg_tensor *args[2] = { dst, src };
    return rg_ctx_compute(ctx, RG_OP_COPY, NULL, args, error);
}

static gboolean check_dim(const char *op, const rg_tensor *x, int *dim, GError **error)
{
    int d = *dim < 0 ? *dim + x->ndim : *dim;
    if (d < 0 || d >= x->ndim) {
        g_autofree char *s = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: dimension %d is out of range for %s", op, *dim, s);
        return FALSE;
    }
    *dim = d;
    return TRUE;
}

/* ---- reshape -------------------------------------------------------------- */

static gboolean reshape_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                                 GError **error)
{
    din[0] = rg_reshape(ctx, dout[0], node->in[0].ndim, node->in[0].shape, error);
    return din[0] != NULL;
}

rg_tensor *rg_reshape(rg_ctx *ctx, rg_tensor *x, int ndim, const int64_t *shape, GError **error)
{
    g_return_val_if_fail(ctx && x, NULL);
    int64_t want[RG_MAX_DIMS], n = 1;
    int infer = -1;
    if (ndim < 0 || ndim > RG_MAX_DIMS) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "reshape: %d dimensions (at most %d)", ndim, RG_MAX_DIMS);
        return NULL;
    }
    for (int i = 0; i < ndim; i++) {
        want[i] = shape[i];
        if (shape[i] == -1 && infer < 0)
            infer = i;
        else if (shape[i] < 0)
            infer = -2;
        else
            n *= shape[i];
    }
    if (infer >= 0 && n > 0)
        want[infer] = rg_tensor_numel(x) / n;
    int64_t total = 1;
    for (int i = 0; i < ndim; i++)
        total *= want[i];
    if (infer == -2 || total != rg_tensor_numel(x)) {
        g_autofree char *sx = rg_tensor_shape_string(x);
        g_autofree char *sw = rg_shape_string(ndim, shape);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "reshape: cannot view %s as %s", sx, sw);
        return NULL;
    }
    g_autoptr(rg_tensor) src = rg_tensor_contiguous_copy(x, error);
    if (!src)
        return NULL;
    int64_t strides[RG_MAX_DIMS];
    rg_contiguous_strides(ndim, want, strides);
    rg_tensor *out = rg_tensor_view(src, ndim, want, strides, src->offset);
    if (rg_autograd_wants(ctx, &x, 1))
        rg_autograd_record(ctx, "reshape", reshape_backward, &x, 1, &out, 1);
    return out;
}

/* ---- contiguous ----------------------------------------------------------- */

static gboolean identity_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                                  GError **error)
{
    (void)ctx;
    (void)node;
    (void)error;
    din[0] = rg_tensor_ref(dout[0]);
    return TRUE;
}

rg_tensor *rg_contiguous(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    g_return_val_if_fail(ctx && x, NULL);
    rg_tensor *out = rg_tensor_new_uninit(x->dtype, x->ndim, x->shape, error);
    if (!out || !copy_into(ctx, out, x, error)) {
        g_clear_pointer(&out, rg_tensor_unref);
        return NULL;
    }
    if (rg_autograd_wants(ctx, &x, 1))
        rg_autograd_record(ctx, "contiguous", identity_backward, &x, 1, &out, 1);
    return out;
}

/* ---- permute -------------------------------------------------------------- */

typedef struct {
    int perm[RG_MAX_DIMS];
} permute_params;

static gboolean permute_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                                 GError **error)
{
    const permute_params *p = rg_node_params(node, permute_params);
    int inverse[RG_MAX_DIMS];
    for (int i = 0; i < node->in[0].ndim; i++)
        inverse[p->perm[i]] = i;
    din[0] = rg_permute(ctx, dout[0], inverse, error);
    return din[0] != NULL;
}

rg_tensor *rg_permute(rg_ctx *ctx, rg_tensor *x, const int *perm, GError **error)
{
    g_return_val_if_fail(ctx && x && perm, NULL);
    int64_t shape[RG_MAX_DIMS], strides[RG_MAX_DIMS];
    gboolean seen[RG_MAX_DIMS] = { FALSE };
    for (int i = 0; i < x->ndim; i++) {
        if (perm[i] < 0 || perm[i] >= x->ndim || seen[perm[i]]) {
            g_autofree char *s = rg_tensor_shape_string(x);
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "permute: not a permutation of the %d dimensions of %s",
                        x->ndim, s);
            return NULL;
        }
        seen[perm[i]] = TRUE;
        shape[i] = x->shape[perm[i]];
        strides[i] = x->strides[perm[i]];
    }
    g_autoptr(rg_tensor) view = rg_tensor_view(x, x->ndim, shape, strides, x->offset);
    rg_tensor *out = rg_tensor_new_uninit(x->dtype, x->ndim, shape, error);
    if (!out || !copy_into(ctx, out, view, error)) {
        g_clear_pointer(&out, rg_tensor_unref);
        return NULL;
    }
    if (rg_autograd_wants(ctx, &x, 1)) {
        rg_node *n = rg_autograd_record(ctx, "permute", permute_backward, &x, 1, &out, 1);
        memcpy(rg_node_params(n, permute_params)->perm, perm, sizeof(int) * (size_t)x->ndim);
    }
    return out;
}

/* ---- slice and split ------------------------------------------------------ */

typedef struct {
    int dim;
    int64_t start;
} slice_params;

static gboolean slice_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                               GError **error)
{
    const slice_params *p = rg_node_params(node, slice_params);
    rg_tensor *g = rg_tensor_new(RG_DTYPE_F32, node->in[0].ndim, node->in[0].shape, error);
    if (!g)
        return FALSE;
    g_autoptr(rg_tensor) window =
        rg_tensor_view(g, g->ndim, dout[0]->shape, g->strides, p->start * g->strides[p->dim]);
    if (!copy_into(ctx, window, dout[0], error)) {
        rg_tensor_unref(g);
        return FALSE;
    }
    din[0] = g;
    return TRUE;
}

rg_tensor *rg_slice(rg_ctx *ctx, rg_tensor *x, int dim, int64_t start, int64_t length, GError **error)
{
    g_return_val_if_fail(ctx && x, NULL);
    if (!check_dim("slice", x, &dim, error))
        return NULL;
    if (start < 0 || length < 0 || start > x->shape[dim] || length > x->shape[dim] - start) {
        g_autofree char *s = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "slice: [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ") is outside dimension %d of %s", start,
                    start + length, dim, s);
        return NULL;
    }
    int64_t shape[RG_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[dim] = length;
    rg_tensor *out = rg_tensor_view(x, x->ndim, shape, x->strides, x->offset + start * x->strides[dim]);
    if (rg_autograd_wants(ctx, &x, 1)) {
        rg_node *n = rg_autograd_record(ctx, "slice", slice_backward, &x, 1, &out, 1);
        *rg_node_params(n, slice_params) = (slice_params){ .dim = dim, .start = start };
    }
    return out;
}

gboolean rg_split(rg_ctx *ctx, rg_tensor *x, int dim, int n, rg_tensor **parts, GError **error)
{
    g_return_val_if_fail(ctx && x && parts, FALSE);
    if (!check_dim("split", x, &dim, error))
        return FALSE;
    if (n <= 0 || x->shape[dim] % n != 0) {
        g_autofree char *s = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "split: dimension %d of %s does not split into %d parts",
                    dim, s, n);
        return FALSE;
    }
    int64_t len = x->shape[dim] / n;
    for (int i = 0; i < n; i++) {
        parts[i] = rg_slice(ctx, x, dim, i * len, len, error);
        if (!parts[i]) {
            for (int j = 0; j < i; j++)
                g_clear_pointer(&parts[j], rg_tensor_unref);
            return FALSE;
        }
    }
    return TRUE;
}

/* ---- concat --------------------------------------------------------------- */

typedef struct {
    int dim;
} concat_params;

static gboolean concat_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                                GError **error)
{
    int dim = rg_node_params(node, concat_params)->dim;
    int64_t start = 0;
    for (int i = 0; i < node->n_in; i++) {
        int64_t len = node->in[i].shape[dim];
        if (node->in[i].needs_grad) {
            /* slice() records nothing here: backward runs with the tape detached */
            g_autoptr(rg_tensor) part = rg_slice(ctx, dout[0], dim, start, len, error);
            if (!part || !(din[i] = rg_contiguous(ctx, part, error)))
                return FALSE;
        }
        start += len;
    }
    return TRUE;
}

rg_tensor *rg_concat(rg_ctx *ctx, rg_tensor *const *xs, int n, int dim, GError **error)
{
    g_return_val_if_fail(ctx && xs && n > 0, NULL);
    rg_tensor *first = xs[0];
    if (!first || !check_dim("concat", first, &dim, error))
        return NULL;
    int64_t shape[RG_MAX_DIMS];
    memcpy(shape, first->shape, sizeof shape);
    shape[dim] = 0;
    for (int i = 0; i < n; i++) {
        gboolean fits = xs[i] && xs[i]->ndim == first->ndim && xs[i]->dtype == first->dtype;
        for (int d = 0; fits && d < first->ndim; d++)
            fits = d == dim || xs[i]->shape[d] == first->shape[d];
        if (!fits) {
            g_autofree char *s0 = rg_tensor_shape_string(first);
            g_autofree char *si = rg_tensor_shape_string(xs[i]);
            g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "concat: input %d %s does not fit input 0 %s along dim %d",
                        i, si, s0, dim);
            return NULL;
        }
        shape[dim] += xs[i]->shape[dim];
    }
    rg_tensor *out = rg_tensor_new_uninit(first->dtype, first->ndim, shape, error);
    if (!out)
        return NULL;
    int64_t start = 0;
    for (int i = 0; i < n; i++) {
        g_autoptr(rg_tensor) window = rg_tensor_view(out, out->ndim, xs[i]->shape, out->strides,
                                                     start * out->strides[dim]);
        if (!copy_into(ctx, window, xs[i], error)) {
            rg_tensor_unref(out);
            return NULL;
        }
        start += xs[i]->shape[dim];
    }
    if (rg_autograd_wants(ctx, xs, n)) {
        rg_node *node = rg_autograd_record(ctx, "concat", concat_backward, xs, n, &out, 1);
        rg_node_params(node, concat_params)->dim = dim;
    }
    return out;
}
