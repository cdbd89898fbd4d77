/* tensor_impl.h — the inside of rg_tensor, shared by core's modules only.
 *
 * A tensor is a view (dtype, shape, strides in elements, offset) onto a
 * reference-counted storage. Storage is host memory on the CPU backend; a
 * later backend adds device memory through the same struct. Kernels take
 * contiguous tensors; front doors call rg_tensor_contiguous_copy() when a
 * view is not.
 */
#pragma once

#include "readout/readout.h"

typedef struct rg_node rg_node;

typedef struct rg_storage {
    gint refcount;
    void *data;        /* 64-byte aligned, or borrowed when free_fn == NULL */
    size_t nbytes;
    GDestroyNotify free_fn;
} rg_storage;

struct rg_tensor {
    gint refcount;
    rg_dtype dtype;
    int ndim;
    int64_t shape[RG_MAX_DIMS];
    int64_t strides[RG_MAX_DIMS]; /* in elements */
    int64_t offset;               /* in elements, into storage */
    rg_storage *storage;

    /* autograd */
    gboolean requires_grad; /* a leaf that wants its gradient */
    rg_tensor *grad;        /* accumulated gradient of a leaf */
    rg_node *node;          /* operation that made this tensor, while recorded (weak) */
    int node_output;        /* which output of that node this is */
};

/* A new contiguous tensor whose memory is not cleared (filled by the caller). */
rg_tensor *rg_tensor_new_uninit(rg_dtype dtype, int ndim, const int64_t *shape, GError **error);
/* Same shape as @like, F32, not cleared / cleared. */
rg_tensor *rg_tensor_new_like(const rg_tensor *like, GError **error);
rg_tensor *rg_tensor_zeros_like(const rg_tensor *like, GError **error);
/* A view sharing @base's storage with the given geometry. */
rg_tensor *rg_tensor_view(rg_tensor *base, int ndim, const int64_t *shape, const int64_t *strides,
                          int64_t offset);
/* @t itself (a new reference) when contiguous, else a contiguous copy. */
rg_tensor *rg_tensor_contiguous_copy(rg_tensor *t, GError **error);
/* dst += src; same shape, F32, dst contiguous. */
void rg_tensor_accumulate(rg_tensor *dst, const rg_tensor *src);
gboolean rg_tensor_same_shape(const rg_tensor *a, const rg_tensor *b);
/* Row-major contiguous strides for a shape. */
void rg_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides);
/* "(2,3)" for a raw shape. (transfer full) */
char *rg_shape_string(int ndim, const int64_t *shape);
/* Needs a gradient: a leaf that requires one, or the output of a recorded op. */
gboolean rg_tensor_needs_grad(const rg_tensor *t);

/* Element conversions used when loading storage types. */
float rg_f16_to_f32(uint16_t h);
float rg_bf16_to_f32(uint16_t b);
uint16_t rg_f32_to_f16(float f);
uint16_t rg_f32_to_bf16(float f);
void rg_convert_to_f32(float *dst, const void *src, rg_dtype src_dtype, int64_t n);

/* Fails with RG_ERROR_SHAPE / RG_ERROR_DTYPE naming @op and the tensor's shape. */
gboolean rg_check_f32(const char *op, const char *what, const rg_tensor *t, GError **error);
gboolean rg_check_ndim(const char *op, const char *what, const rg_tensor *t, int ndim, GError **error);
