/* backend.c — backends in general, and the context that runs operations. */
#include "tensor/context.h"

#include <malloc.h>

#include "rg_config.h"

static const char *const op_names[RG_OP_COUNT] = {
#define RG_OP_NAME(e, n, f) [RG_OP_##e] = n,
    RG_OPS(RG_OP_NAME)
#undef RG_OP_NAME
};
_Static_assert(G_N_ELEMENTS(op_names) == RG_OP_COUNT, "every op needs a name");

const char *rg_op_name(rg_op op)
{
    return (op >= 0 && op < RG_OP_COUNT) ? op_names[op] : "unknown-op";
}

const char *const *rg_backend_compiled_names(void)
{
    static const char *const names[] = {
        "cpu",
#if RG_HAVE_CUDA
        "cuda",
#endif
        NULL,
    };
    return names;
}

#if !RG_HAVE_CUDA
rg_backend *rg_backend_cuda_new(int device, GError **error)
{
    g_set_error(error, RG_ERROR, RG_ERROR_UNSUPPORTED,
                "CUDA device %d: this build of Readout has no CUDA backend", device);
    return NULL;
}
#endif

void rg_backend_free(rg_backend *backend)
{
    if (backend)
        backend->iface->free(backend);
}

const char *rg_backend_name(rg_backend *backend)
{
    return backend->iface->get_name(backend);
}

/* Activations of a few MB are allocated and freed at every op. Above glibc's
 * default 128 KiB threshold each would be a fresh mmap, faulted in page by
 * page and unmapped again: several times the cost of a GroupNorm. Keep
 * blocks up to the allowed maximum (32 MiB) in the heap, and keep freed heap
 * memory for reuse. (A plug-in runs in a process of its own, so this changes
 * nothing for GIMP.) */
static void tune_allocator(void)
{
    static gsize done;
    if (g_once_init_enter(&done)) {
        mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
        mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
        g_once_init_leave(&done, 1);
    }
}

rg_ctx *rg_ctx_new(rg_backend *backend, GError **error)
{
    (void)error;
    tune_allocator();
    rg_ctx *ctx = g_new0(rg_ctx, 1);
    ctx->backend = backend ? backend : rg_backend_cpu_new();
    return ctx;
}

void rg_ctx_free(rg_ctx *ctx)
{
    if (!ctx)
        return;
    rg_backend_free(ctx->backend);
    g_free(ctx);
}

rg_backend *rg_ctx_get_backend(rg_ctx *ctx)
{
    return ctx->backend;
}

void rg_ctx_set_tape(rg_ctx *ctx, rg_tape *tape)
{
    ctx->tape = tape;
}

rg_tape *rg_ctx_get_tape(rg_ctx *ctx)
{
    return ctx->tape;
}

gboolean rg_ctx_compute(rg_ctx *ctx, rg_op op, const void *params, rg_tensor *const *t, GError **error)
{
    rg_backend *b = ctx->backend;
    rg_status st = b->iface->compute(b, op, params, t);
    if (st == RG_STATUS_OK)
        return TRUE;
    const char *detail = b->iface->last_error ? b->iface->last_error(b) : NULL;
    return rg_status_to_error(st, rg_op_name(op), detail, error);
}
