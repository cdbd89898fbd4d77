/* conv2d.h — 2-D convolution of NCHW images with 1x1 and 3x3 kernels.
 *
 * RG_OP_CONV2D:      t = { out (N,O,OH,OW), inp (N,I,H,W), weight (O,I,K,K), bias (O) or NULL }
 * RG_OP_CONV2D_BACK: t = { dinp (N,I,H,W) or NULL, dweight (O,I,K,K) or NULL, dbias (O) or NULL,
 *                          dout (N,O,OH,OW), inp (N,I,H,W), weight (O,I,K,K) }
 *   A NULL gradient is not wanted and costs nothing; inp may be NULL when
 *   dweight is, weight may be NULL when dinp is. The backward kernel
 *   overwrites its outputs (no accumulation).
 * params: const rg_conv2d_params *. OH = (H + 2*padding - K) / stride + 1.
 *
 * Algorithms (CPU): 3x3 stride 1 goes through Winograd F(4x4,3x3) (36 GEMMs
 * over tiles x channels) when there are enough tiles to pay for the weight
 * transform; everything else is im2col + GEMM (1x1 stride 1 without padding
 * is a GEMM on the image itself). The input gradient of a stride-1 3x3 conv
 * is the same Winograd conv with the flipped, transposed kernel.
 */
#pragma once

#include "ops/op.h"

typedef enum {
    RG_CONV2D_AUTO = 0,     /* pick by shape (what the front door uses) */
    RG_CONV2D_GEMM = 1,     /* im2col + GEMM */
    RG_CONV2D_WINOGRAD = 2, /* Winograd F(4x4,3x3); 3x3 stride 1 only, else GEMM */
} rg_conv2d_algo;

typedef struct {
    int stride;
    int padding;
    rg_conv2d_algo algo; /* forward and input gradient */
} rg_conv2d_params;
