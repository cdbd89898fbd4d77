/* PLACEHOLDER — replaced by the family implementation. */
#include "ops/op.h"
rg_status rg_cpu_unary_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{ (void)backend; (void)params; (void)t; return RG_STATUS_UNSUPPORTED; }
rg_status rg_cpu_unary_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{ (void)backend; (void)params; (void)t; return RG_STATUS_UNSUPPORTED; }
rg_status rg_cpu_geglu_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{ (void)backend; (void)params; (void)t; return RG_STATUS_UNSUPPORTED; }
rg_status rg_cpu_geglu_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{ (void)backend; (void)params; (void)t; return RG_STATUS_UNSUPPORTED; }
rg_status rg_cpu_softmax_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{ (void)backend; (void)params; (void)t; return RG_STATUS_UNSUPPORTED; }
rg_status rg_cpu_softmax_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{ (void)backend; (void)params; (void)t; return RG_STATUS_UNSUPPORTED; }
