/* resize.h — resampling of (N, C, H, W) images: nearest 2x upsampling and
 * bilinear resizing to any size. Kernel tensor order.
 *
 * All tensors are contiguous F32; no params (sizes come from the shapes).
 * Backward kernels overwrite their output (they do not accumulate).
 *
 * RG_OP_UPSAMPLE_NEAREST2X       t = { out (N, C, 2H, 2W), inp (N, C, H, W) }
 *     out[n, c, y, x] = inp[n, c, y / 2, x / 2], as F.interpolate(scale_factor=2,
 *     mode="nearest").
 * RG_OP_UPSAMPLE_NEAREST2X_BACK  t = { dinp (N, C, H, W), dout (N, C, 2H, 2W) }
 *     dinp is the sum of each 2x2 block of dout.
 *
 * RG_OP_RESIZE_BILINEAR          t = { out (N, C, OH, OW), inp (N, C, H, W) }
 *     F.interpolate(size=(OH, OW), mode="bilinear", align_corners=False),
 *     without antialiasing: along each axis the source coordinate of output
 *     pixel o is max((o + 0.5) * in / out - 0.5, 0), read from the two
 *     neighbouring input pixels (the second clamped to the last one).
 *     H, W, OH, OW are at least 1 and below 2^31.
 * RG_OP_RESIZE_BILINEAR_BACK     t = { dinp (N, C, H, W), dout (N, C, OH, OW) }
 *     The transpose of the forward map, with the same weights.
 */
#pragma once

#include "ops/op.h"
