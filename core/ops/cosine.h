/* cosine.h — cosine similarity across channels: kernel parameters and tensor
 * order.
 *
 * All tensors are contiguous F32. The trailing dimensions of a and b are
 * flattened to P = numel / (N * C) pixels. Backward overwrites its outputs
 * and computes only those whose slot is non-NULL.
 *
 * RG_OP_COSINE       t = { out (N, P), a (N, C, P), b (N, C, P) }
 * RG_OP_COSINE_BACK  t = { da (N, C, P) | NULL, db (N, C, P) | NULL, dout (N, P),
 *                          a (N, C, P), b (N, C, P) }
 *     params = const rg_cosine_params *. As torch 1.13's F.cosine_similarity:
 *     na = sqrt(max(sum_c a^2, eps^2)), nb likewise, out = sum_c a b / (na nb).
 *     The clamp is applied without gradient (torch clamps in place under
 *     NoGradGuard), so d na / d a = a / na even where it clamps.
 */
#pragma once

#include "ops/op.h"

typedef struct {
    float eps;
} rg_cosine_params;
