/* norm.h — group and layer normalisation: kernel parameters and tensor order.
 *
 * All tensors are contiguous F32. Optional tensors are NULL. Backward kernels
 * overwrite their outputs (they do not accumulate) and compute only the
 * gradients whose slot is non-NULL.
 *
 * RG_OP_GROUP_NORM       t = { out (N, C, ...), mean (N, G), rstd (N, G),
 *                              inp (N, C, ...), weight (C) | NULL, bias (C) | NULL }
 * RG_OP_GROUP_NORM_BACK  t = { dinp (N, C, ...) | NULL, dweight (C) | NULL, dbias (C) | NULL,
 *                              dout (N, C, ...), inp (N, C, ...), weight (C) | NULL,
 *                              mean (N, G), rstd (N, G) }
 *     params = const rg_group_norm_params *. The trailing dimensions of inp
 *     are flattened to HW = numel / (N * C). rstd = 1 / sqrt(var + eps) with the
 *     biased variance over the C/G channels x HW elements of a group.
 *
 * RG_OP_LAYER_NORM       t = { out (R, C), mean (R), rstd (R), inp (R, C),
 *                              weight (C) | NULL, bias (C) | NULL }
 * RG_OP_LAYER_NORM_BACK  t = { dinp (R, C) | NULL, dweight (C) | NULL, dbias (C) | NULL,
 *                              dout (R, C), inp (R, C), weight (C) | NULL, mean (R), rstd (R) }
 *     params = const rg_layer_norm_params *. C is the last dimension of inp;
 *     the rows R are all the leading dimensions flattened (any shape with the
 *     right number of elements is accepted).
 */
#pragma once

#include "ops/op.h"

typedef struct {
    int groups;
    float eps;
} rg_group_norm_params;

typedef struct {
    float eps;
} rg_layer_norm_params;
