/* attention.h — multi-head scaled-dot-product attention kernels, without a
 * mask or with a causal one.
 *
 * Shapes: q (B, Tq, H*D), k and v (B, Tk, H*D), head h on channels
 * [h*D, (h+1)*D) as diffusers' head_to_batch_dim. All tensors contiguous F32.
 * With causal (Tq == Tk), query i attends to keys 0..i only: key blocks
 * wholly above the diagonal are skipped, and the diagonal blocks are masked.
 *
 * RG_OP_ATTENTION (forward), params = rg_attention_params:
 *   t = { out (B, Tq, H*D), lse (B, H, Tq), q, k, v }
 *   out = softmax(q k^T * scale) v per head; lse = the log-sum-exp of each row
 *   of q k^T * scale, the cache of the backward. The Tq x Tk matrix is never
 *   stored whole: query blocks meet key blocks with an online softmax.
 *
 * RG_OP_ATTENTION_BACK, params = rg_attention_params:
 *   t = { dq, dk, dv, dout, q, k, v, out, lse }
 *   dq, dk, dv are shaped like q, k, v, or NULL when not wanted (at least one
 *   is given); they are overwritten, not accumulated into. The score blocks
 *   are recomputed from q, k and lse (FlashAttention-2 backward).
 */
#pragma once

#include "ops/op.h"

typedef struct {
    int heads;   /* H */
    float scale; /* > 0, already resolved from the caller's value */
    int causal;  /* nonzero: query i sees keys 0..i (Tq == Tk) */
} rg_attention_params;
