/* tensor.c — tensor construction, views, reference counting, accessors. */
#include "tensor/tensor_impl.h"

#include <string.h>

#include "autograd/tape_impl.h"
#include "base/status.h"
#include "ops/op.h"

const char *rg_dtype_name(rg_dtype dtype)
{
    switch (dtype) {
    case RG_DTYPE_F32: return "F32";
    case RG_DTYPE_F16: return "F16";
    case RG_DTYPE_BF16: return "BF16";
    case RG_DTYPE_I64: return "I64";
    case RG_DTYPE_I32: return "I32";
    }
    return "unknown";
}

size_t rg_dtype_size(rg_dtype dtype)
{
    switch (dtype) {
    case RG_DTYPE_F32: return 4;
    case RG_DTYPE_F16: return 2;
    case RG_DTYPE_BF16: return 2;
    case RG_DTYPE_I64: return 8;
    case RG_DTYPE_I32: return 4;
    }
    return 0;
}

void rg_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i];
    }
}

char *rg_shape_string(int ndim, const int64_t *shape)
{
    GString *s = g_string_new("(");
    for (int i = 0; i < ndim; i++)
        g_string_append_printf(s, i ? ",%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, shape[i]);
    g_string_append_c(s, ')');
    return g_string_free(s, FALSE);
}

char *rg_tensor_shape_string(const rg_tensor *t)
{
    return t ? rg_shape_string(t->ndim, t->shape) : g_strdup("(null)");
}

static size_t live_bytes, peak_bytes;

void rg_memory_stats(size_t *live, size_t *peak)
{
    if (live)
        *live = __atomic_load_n(&live_bytes, __ATOMIC_RELAXED);
    if (peak)
        *peak = __atomic_load_n(&peak_bytes, __ATOMIC_RELAXED);
}

void rg_memory_reset_peak(void)
{
    __atomic_store_n(&peak_bytes, __atomic_load_n(&live_bytes, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
}

static void count_alloc(size_t nbytes)
{
    size_t now = __atomic_add_fetch(&live_bytes, nbytes, __ATOMIC_RELAXED);
    size_t peak = __atomic_load_n(&peak_bytes, __ATOMIC_RELAXED);
    while (now > peak && !__atomic_compare_exchange_n(&peak_bytes, &peak, now, TRUE, __ATOMIC_RELAXED,
                                                      __ATOMIC_RELAXED))
        ;
}

static void storage_unref(rg_storage *s)
{
    if (s && g_atomic_int_dec_and_test(&s->refcount)) {
        if (s->free_fn) {
            __atomic_sub_fetch(&live_bytes, s->nbytes, __ATOMIC_RELAXED);
            s->free_fn(s->data);
        }
        g_free(s);
    }
}

static gboolean check_geometry(int ndim, const int64_t *shape, int64_t *numel, GError **error)
{
    if (ndim < 0 || ndim > RG_MAX_DIMS || (ndim > 0 && !shape)) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "tensor: %d dimensions (at most %d)", ndim, RG_MAX_DIMS);
        return FALSE;
    }
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        /* 2^40 elements is far beyond any memory here; it also keeps n from overflowing. */
        if (shape[i] < 0 || shape[i] > (INT64_C(1) << 40) || (shape[i] && n > (INT64_C(1) << 40) / shape[i])) {
            g_autofree char *s = rg_shape_string(ndim, shape);
            g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "tensor: invalid shape %s", s);
            return FALSE;
        }
        n *= shape[i];
    }
    *numel = n;
    return TRUE;
}

rg_tensor *rg_tensor_new_uninit(rg_dtype dtype, int ndim, const int64_t *shape, GError **error)
{
    int64_t numel;
    if (!check_geometry(ndim, shape, &numel, error))
        return NULL;
    if (dtype != RG_DTYPE_F32 && dtype != RG_DTYPE_I64 && dtype != RG_DTYPE_I32) {
        g_set_error(error, RG_ERROR, RG_ERROR_DTYPE, "tensor: %s is a storage type; tensors hold F32, I64 or I32",
                    rg_dtype_name(dtype));
        return NULL;
    }
    size_t nbytes = (size_t)numel * rg_dtype_size(dtype);
    void *data = rg_aligned_alloc(nbytes);
    if (!data) {
        g_autofree char *s = rg_shape_string(ndim, shape);
        g_set_error(error, RG_ERROR, RG_ERROR_OUT_OF_MEMORY, "tensor: out of memory allocating %s %s (%.1f MiB)",
                    rg_dtype_name(dtype), s, nbytes / 1048576.0);
        return NULL;
    }
    rg_storage *st = g_new0(rg_storage, 1);
    st->refcount = 1;
    st->data = data;
    st->nbytes = nbytes;
    st->free_fn = rg_aligned_free;
    count_alloc(nbytes);

    rg_tensor *t = g_new0(rg_tensor, 1);
    t->refcount = 1;
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    rg_contiguous_strides(ndim, t->shape, t->strides);
    t->storage = st;
    return t;
}

rg_tensor *rg_tensor_new(rg_dtype dtype, int ndim, const int64_t *shape, GError **error)
{
    rg_tensor *t = rg_tensor_new_uninit(dtype, ndim, shape, error);
    if (t)
        memset(t->storage->data, 0, t->storage->nbytes);
    return t;
}

rg_tensor *rg_tensor_new_full(int ndim, const int64_t *shape, float value, GError **error)
{
    rg_tensor *t = rg_tensor_new_uninit(RG_DTYPE_F32, ndim, shape, error);
    if (!t)
        return NULL;
    float *p = t->storage->data;
    int64_t n = rg_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        p[i] = value;
    return t;
}

rg_tensor *rg_tensor_new_from_data(rg_dtype storage, int ndim, const int64_t *shape, const void *data,
                                   GError **error)
{
    rg_dtype dtype = (storage == RG_DTYPE_F16 || storage == RG_DTYPE_BF16) ? RG_DTYPE_F32 : storage;
    rg_tensor *t = rg_tensor_new_uninit(dtype, ndim, shape, error);
    if (!t)
        return NULL;
    int64_t n = rg_tensor_numel(t);
    if (dtype == storage)
        memcpy(t->storage->data, data, (size_t)n * rg_dtype_size(dtype));
    else
        rg_convert_to_f32(t->storage->data, data, storage, n);
    return t;
}

rg_tensor *rg_tensor_new_like(const rg_tensor *like, GError **error)
{
    return rg_tensor_new_uninit(RG_DTYPE_F32, like->ndim, like->shape, error);
}

rg_tensor *rg_tensor_zeros_like(const rg_tensor *like, GError **error)
{
    return rg_tensor_new(RG_DTYPE_F32, like->ndim, like->shape, error);
}

rg_tensor *rg_tensor_view(rg_tensor *base, int ndim, const int64_t *shape, const int64_t *strides, int64_t offset)
{
    g_assert(ndim >= 0 && ndim <= RG_MAX_DIMS);
    rg_tensor *t = g_new0(rg_tensor, 1);
    t->refcount = 1;
    t->dtype = base->dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->strides[i] = strides[i];
    }
    t->offset = offset;
    t->storage = base->storage;
    g_atomic_int_inc(&t->storage->refcount);
    return t;
}

rg_tensor *rg_tensor_ref(rg_tensor *t)
{
    g_return_val_if_fail(t != NULL, NULL);
    g_atomic_int_inc(&t->refcount);
    return t;
}

void rg_tensor_unref(rg_tensor *t)
{
    if (!t || !g_atomic_int_dec_and_test(&t->refcount))
        return;
    rg_autograd_forget_tensor(t);
    if (t->grad)
        rg_tensor_unref(t->grad);
    storage_unref(t->storage);
    g_free(t);
}

rg_dtype rg_tensor_dtype(const rg_tensor *t) { return t->dtype; }
int rg_tensor_ndim(const rg_tensor *t) { return t->ndim; }
const int64_t *rg_tensor_shape(const rg_tensor *t) { return t->shape; }
const int64_t *rg_tensor_strides(const rg_tensor *t) { return t->strides; }

int64_t rg_tensor_numel(const rg_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

gboolean rg_tensor_is_contiguous(const rg_tensor *t)
{
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->strides[i] != s)
            return FALSE;
        s *= t->shape[i];
    }
    return TRUE;
}

float *rg_tensor_data_f32(rg_tensor *t)
{
    if (!t || t->dtype != RG_DTYPE_F32)
        return NULL;
    return (float *)t->storage->data + t->offset;
}

int64_t *rg_tensor_data_i64(rg_tensor *t)
{
    if (!t || t->dtype != RG_DTYPE_I64)
        return NULL;
    return (int64_t *)t->storage->data + t->offset;
}

static int64_t flat_to_offset(const rg_tensor *t, int64_t index)
{
    int64_t off = t->offset;
    for (int i = t->ndim - 1; i >= 0; i--) {
        int64_t k = index % t->shape[i];
        index /= t->shape[i];
        off += k * t->strides[i];
    }
    return off;
}

double rg_tensor_get_flat(const rg_tensor *t, int64_t index)
{
    int64_t off = flat_to_offset(t, index);
    switch (t->dtype) {
    case RG_DTYPE_F32: return ((const float *)t->storage->data)[off];
    case RG_DTYPE_I64: return (double)((const int64_t *)t->storage->data)[off];
    case RG_DTYPE_I32: return ((const int32_t *)t->storage->data)[off];
    default: return 0.0;
    }
}

gboolean rg_tensor_same_shape(const rg_tensor *a, const rg_tensor *b)
{
    if (a->ndim != b->ndim)
        return FALSE;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return FALSE;
    return TRUE;
}

rg_tensor *rg_tensor_contiguous_copy(rg_tensor *t, GError **error)
{
    if (rg_tensor_is_contiguous(t))
        return rg_tensor_ref(t);
    rg_tensor *out = rg_tensor_new_uninit(t->dtype, t->ndim, t->shape, error);
    if (!out)
        return NULL;
    rg_tensor *args[2] = { out, t };
    rg_status st = rg_cpu_copy(NULL, NULL, args);
    g_assert(st == RG_STATUS_OK);
    return out;
}

void rg_tensor_accumulate(rg_tensor *dst, const rg_tensor *src)
{
    g_assert(rg_tensor_is_contiguous(dst) && rg_tensor_same_shape(dst, src));
    float *d = rg_tensor_data_f32(dst);
    int64_t n = rg_tensor_numel(dst);
    if (rg_tensor_is_contiguous(src)) {
        const float *s = (const float *)src->storage->data + src->offset;
#pragma omp parallel for simd if (parallel : n > 65536) schedule(static)
        for (int64_t i = 0; i < n; i++)
            d[i] += s[i];
    } else {
        for (int64_t i = 0; i < n; i++)
            d[i] += (float)rg_tensor_get_flat(src, i);
    }
}

gboolean rg_check_f32(const char *op, const char *what, const rg_tensor *t, GError **error)
{
    if (!t) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: %s is missing", op, what);
        return FALSE;
    }
    if (t->dtype != RG_DTYPE_F32) {
        g_autofree char *s = rg_tensor_shape_string(t);
        g_set_error(error, RG_ERROR, RG_ERROR_DTYPE, "%s: %s %s is %s, expected F32", op, what, s,
                    rg_dtype_name(t->dtype));
        return FALSE;
    }
    return TRUE;
}

gboolean rg_check_ndim(const char *op, const char *what, const rg_tensor *t, int ndim, GError **error)
{
    if (!rg_check_f32(op, what, t, error))
        return FALSE;
    if (t->ndim != ndim) {
        g_autofree char *s = rg_tensor_shape_string(t);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: %s has shape %s, expected %d dimensions", op, what, s,
                    ndim);
        return FALSE;
    }
    return TRUE;
}
