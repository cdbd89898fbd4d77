/* shape.h — copies and fills, the kernels behind views, permutes, slices
 * and concatenation.
 *
 * RG_OP_COPY:  t = { dst, src }, same shape, any strides on both sides (a
 *              zero stride in src broadcasts). Element type F32 or I64.
 * RG_OP_FILL:  t = { dst } contiguous F32, params = const float *value.
 */
#pragma once

#include "ops/op.h"
