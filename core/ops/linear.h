/* linear.h — fully connected layers and batched matrix products (GEMMs on
 * the BLAS).
 *
 * RG_OP_LINEAR:      t = { out (M,N), x (M,K), weight (N,K), bias (N) or NULL }, params NULL.
 *                    M is every leading dimension of x folded together.
 * RG_OP_LINEAR_BACK: t = { dx (M,K) or NULL, dweight (N,K) or NULL, dbias (N) or NULL,
 *                          dout (M,N), x (M,K), weight (N,K) }, params NULL.
 *   x may be NULL when dweight is, weight may be NULL when dx is.
 *
 * RG_OP_MATMUL:      t = { out (B,M,N), a, b }, params const rg_matmul_params *;
 *                    a is (B,M,K), or (B,K,M) when transpose_a; b is (B,K,N),
 *                    or (B,N,K) when transpose_b. 2-D tensors are batch 1.
 * RG_OP_MATMUL_BACK: t = { da or NULL, db or NULL, dout (B,M,N), a, b }, params as forward;
 *   da and db are shaped like a and b; a may be NULL when db is, b may be
 *   NULL when da is.
 *
 * Backward kernels overwrite their outputs (no accumulation).
 */
#pragma once

#include "ops/op.h"

typedef struct {
    gboolean transpose_a;
    gboolean transpose_b;
} rg_matmul_params;
