/* activation.h — element-wise activations, GEGLU and softmax: kernel
 * parameters and tensor order.
 *
 * All tensors are contiguous F32. Backward kernels overwrite dinp (they do
 * not accumulate).
 *
 * RG_OP_UNARY       t = { out (n), inp (n) }            any shape, as flat arrays
 * RG_OP_UNARY_BACK  t = { dinp (n), dout (n), saved (n) }
 *     params = const rg_unary_params *. saved is the forward input, except
 *     for RG_UNARY_TANH and RG_UNARY_EXP where it is the forward output.
 *
 * RG_OP_GEGLU       t = { out (R, D), inp (R, 2D) }
 * RG_OP_GEGLU_BACK  t = { dinp (R, 2D), dout (R, D), inp (R, 2D) }
 *     params = NULL. out = inp[:, :D] * gelu(inp[:, D:]) with the exact erf GELU.
 *     D is the last dimension of out (of dout in backward).
 *
 * RG_OP_SOFTMAX       t = { out (R, L), inp (R, L) }
 * RG_OP_SOFTMAX_BACK  t = { dinp (R, L), dout (R, L), out (R, L) }
 *     params = NULL. Softmax along the last dimension L.
 */
#pragma once

#include "ops/op.h"

typedef enum {
    RG_UNARY_SILU = 0,       /* x sigmoid(x) */
    RG_UNARY_GELU = 1,       /* x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) */
    RG_UNARY_QUICK_GELU = 2, /* x sigmoid(1.702 x) */
    RG_UNARY_RELU = 3,       /* max(x, 0) */
    RG_UNARY_TANH = 4,       /* tanh(x) */
    RG_UNARY_EXP = 5,        /* exp(x) */
} rg_unary_kind;

typedef struct {
    rg_unary_kind kind;
} rg_unary_params;
