/* op.h — every operation the backends implement, declared once.
 *
 * An operation is a forward or backward kernel over tensors. Front doors in
 * core/ops/<family>.c validate shapes, allocate outputs and call
 * rg_ctx_compute(ctx, RG_OP_..., &params, tensors). Each backend implements
 * the list in one table; the CPU functions named here live in the family
 * files. Tensor order in the array follows llm.c: forward = outputs, caches,
 * inputs, weights; backward = input and weight gradients, dout, forward
 * inputs and caches. Optional tensors are NULL. Kernels take contiguous F32
 * tensors (indices I64) unless their family header says otherwise.
 *
 * Append-only: new operations go at the end of RG_OPS.
 */
#pragma once

#include "base/status.h"
#include "tensor/tensor_impl.h"

/*  X(ENUM_NAME, "name", cpu function) */
#define RG_OPS(X)                                                   \
    X(FILL, "fill", rg_cpu_fill)                                    \
    X(COPY, "copy", rg_cpu_copy)                                    \
    X(BINARY, "binary", rg_cpu_binary)                              \
    X(SCALE, "scale", rg_cpu_scale)                                 \
    X(CONV2D, "conv2d", rg_cpu_conv2d_forward)                      \
    X(CONV2D_BACK, "conv2d_back", rg_cpu_conv2d_backward)           \
    X(LINEAR, "linear", rg_cpu_linear_forward)                      \
    X(LINEAR_BACK, "linear_back", rg_cpu_linear_backward)           \
    X(MATMUL, "matmul", rg_cpu_matmul_forward)                      \
    X(MATMUL_BACK, "matmul_back", rg_cpu_matmul_backward)           \
    X(GROUP_NORM, "group_norm", rg_cpu_group_norm_forward)          \
    X(GROUP_NORM_BACK, "group_norm_back", rg_cpu_group_norm_backward) \
    X(LAYER_NORM, "layer_norm", rg_cpu_layer_norm_forward)          \
    X(LAYER_NORM_BACK, "layer_norm_back", rg_cpu_layer_norm_backward) \
    X(UNARY, "unary", rg_cpu_unary_forward)                         \
    X(UNARY_BACK, "unary_back", rg_cpu_unary_backward)              \
    X(GEGLU, "geglu", rg_cpu_geglu_forward)                         \
    X(GEGLU_BACK, "geglu_back", rg_cpu_geglu_backward)              \
    X(SOFTMAX, "softmax", rg_cpu_softmax_forward)                   \
    X(SOFTMAX_BACK, "softmax_back", rg_cpu_softmax_backward)        \
    X(ATTENTION, "attention", rg_cpu_attention_forward)             \
    X(ATTENTION_BACK, "attention_back", rg_cpu_attention_backward)  \
    X(UPSAMPLE_NEAREST2X, "upsample_nearest2x", rg_cpu_upsample_nearest2x_forward) \
    X(UPSAMPLE_NEAREST2X_BACK, "upsample_nearest2x_back", rg_cpu_upsample_nearest2x_backward) \
    X(RESIZE_BILINEAR, "resize_bilinear", rg_cpu_resize_bilinear_forward) \
    X(RESIZE_BILINEAR_BACK, "resize_bilinear_back", rg_cpu_resize_bilinear_backward) \
    X(COSINE, "cosine_similarity", rg_cpu_cosine_forward)           \
    X(COSINE_BACK, "cosine_similarity_back", rg_cpu_cosine_backward) \
    X(GATHER, "gather", rg_cpu_gather_forward)                      \
    X(GATHER_BACK, "gather_back", rg_cpu_gather_backward)           \
    X(TIMESTEP_EMB, "timestep_embedding", rg_cpu_timestep_emb_forward) \
    X(TIMESTEP_EMB_BACK, "timestep_embedding_back", rg_cpu_timestep_emb_backward) \
    X(REDUCE, "reduce", rg_cpu_reduce)

typedef enum {
#define RG_OP_ENUM(e, n, f) RG_OP_##e,
    RG_OPS(RG_OP_ENUM)
#undef RG_OP_ENUM
    RG_OP_COUNT
} rg_op;

const char *rg_op_name(rg_op op);

/* The signature of every backend kernel entry: @t as described above. */
typedef rg_status (*rg_kernel_fn)(rg_backend *backend, const void *params, rg_tensor *const *t);

#define RG_OP_DECLARE_CPU(e, n, f) rg_status f(rg_backend *backend, const void *params, rg_tensor *const *t);
RG_OPS(RG_OP_DECLARE_CPU)
#undef RG_OP_DECLARE_CPU

/* Runs @op on the context's backend; a failure becomes a GError naming the
 * operation. */
gboolean rg_ctx_compute(rg_ctx *ctx, rg_op op, const void *params, rg_tensor *const *t, GError **error);
