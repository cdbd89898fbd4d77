/* embedding.h — sinusoidal timestep embedding: kernel parameters and tensor
 * order.
 *
 * All tensors are contiguous F32. The backward kernel overwrites dt.
 *
 * RG_OP_TIMESTEP_EMB       t = { out (B, dim), t (B) }
 * RG_OP_TIMESTEP_EMB_BACK  t = { dt (B), dout (B, dim), t (B) }
 *     params = const rg_timestep_emb_params *. As diffusers'
 *     get_timestep_embedding(t, dim, flip_sin_to_cos, downscale_freq_shift,
 *     scale=1, max_period=10000) with half = dim / 2:
 *       freq[j] = exp(-ln(10000) * j / (half - downscale_freq_shift)), j < half
 *       out[b] = [sin(t[b] freq), cos(t[b] freq)] ([cos, sin] when flipped),
 *       then one zero column when dim is odd.
 *     Angles, sines and cosines are computed in double (see embedding.c).
 */
#pragma once

#include "ops/op.h"

typedef struct {
    int dim;
    int flip_sin_to_cos;
    float downscale_freq_shift;
} rg_timestep_emb_params;
