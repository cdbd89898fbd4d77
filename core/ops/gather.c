/* PLACEHOLDER — replaced by the family implementation. */
#include "ops/op.h"
rg_status rg_cpu_gather_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{ (void)backend; (void)params; (void)t; return RG_STATUS_UNSUPPORTED; }
rg_status rg_cpu_gather_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{ (void)backend; (void)params; (void)t; return RG_STATUS_UNSUPPORTED; }
