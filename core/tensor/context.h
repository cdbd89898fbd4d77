/* context.h — the inside of rg_ctx. */
#pragma once

#include "tensor/backend_impl.h"

struct rg_ctx {
    rg_backend *backend;
    rg_tape *tape; /* where operations are recorded, or NULL */
};
