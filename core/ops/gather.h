/* gather.h — gathering positions along the last dimension: tensor order.
 *
 * x and out are contiguous F32, index contiguous I64 with every value in
 * [0, L) (the front door checks). No params. The backward kernel overwrites
 * dx (it zeroes it, then scatter-adds; repeated indices accumulate).
 *
 * RG_OP_GATHER       t = { out (N, C, P), x (N, C, L), index (N, P) }
 *     out[n, c, p] = x[n, c, index[n, p]]
 * RG_OP_GATHER_BACK  t = { dx (N, C, L), dout (N, C, P), index (N, P) }
 *     dx[n, c, l] = sum over p with index[n, p] == l of dout[n, c, p]
 */
#pragma once

#include "ops/op.h"
