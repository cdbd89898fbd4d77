/* backend_impl.h — the backend interface (a vtable, as ggml's backends).
 *
 * A backend is { iface, context }. The CPU backend (backend_cpu.c) is always
 * present; the CUDA backend (shaders/) fills the same table when built.
 */
#pragma once

#include "ops/op.h"

struct rg_backend_i {
    /* Short name: "cpu", "cuda:0". */
    const char *(*get_name)(rg_backend *backend);
    /* Whether @op is implemented. */
    gboolean (*supports_op)(rg_backend *backend, rg_op op);
    /* Runs @op on @t (see op.h for the order). */
    rg_status (*compute)(rg_backend *backend, rg_op op, const void *params, rg_tensor *const *t);
    /* Last error text for a non-OK status (optional). */
    const char *(*last_error)(rg_backend *backend);
    /* Releases the backend and its context. */
    void (*free)(rg_backend *backend);
};

struct rg_backend {
    const struct rg_backend_i *iface;
    void *context;
};

/* Scratch memory owned by the CPU backend, reused between calls: at least
 * @nbytes in slot @slot (0..3), NULL when memory is exhausted. Valid until the
 * next call with the same slot. */
void *rg_cpu_workspace(rg_backend *backend, int slot, size_t nbytes);
