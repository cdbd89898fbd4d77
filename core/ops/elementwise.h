/* elementwise.h — broadcasting arithmetic and reductions.
 *
 * RG_OP_BINARY:  t = { out, a, b }. out contiguous; a and b are views of out's
 *                shape where broadcast dimensions have stride 0.
 *                params = binary_params. Overwrites out.
 * RG_OP_SCALE:   t = { out, inp }, out = inp * scale + shift; inp any strides
 *                (stride 0 broadcasts). params = scale_params. Overwrites out.
 * RG_OP_REDUCE:  t = { out, inp }, out has inp's rank with size 1 on every
 *                reduced dimension; out = scale * sum over those dimensions,
 *                accumulated in double. params = reduce_params. Overwrites out.
 */
#pragma once

#include "ops/op.h"

typedef enum {
    RG_BINARY_ADD = 0,
    RG_BINARY_SUB = 1,
    RG_BINARY_MUL = 2,
} rg_binary_kind;

typedef struct {
    rg_binary_kind kind;
} binary_params;

typedef struct {
    float scale;
    float shift;
} scale_params;

typedef struct {
    float scale;
} reduce_params;
