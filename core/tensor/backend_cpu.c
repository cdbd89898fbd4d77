/* backend_cpu.c — the CPU backend: the kernel table and its workspace.
 *
 * Kernels run on the calling thread and use OpenMP inside; GEMMs go to the
 * BLAS, which is the OpenMP build of OpenBLAS, so both share one pool of
 * threads and never oversubscribe the cores (ENGINE_NOTES "Pitfalls").
 */
#include "tensor/backend_impl.h"

#define RG_CPU_WORKSPACE_SLOTS 4

typedef struct {
    void *buf[RG_CPU_WORKSPACE_SLOTS];
    size_t size[RG_CPU_WORKSPACE_SLOTS];
} cpu_context;

static const rg_kernel_fn cpu_kernels[RG_OP_COUNT] = {
#define RG_OP_TABLE(e, n, f) [RG_OP_##e] = f,
    RG_OPS(RG_OP_TABLE)
#undef RG_OP_TABLE
};

static const char *cpu_get_name(rg_backend *backend)
{
    (void)backend;
    return "cpu";
}

static gboolean cpu_supports_op(rg_backend *backend, rg_op op)
{
    (void)backend;
    return op >= 0 && op < RG_OP_COUNT && cpu_kernels[op] != NULL;
}

static rg_status cpu_compute(rg_backend *backend, rg_op op, const void *params, rg_tensor *const *t)
{
    if (!cpu_supports_op(backend, op))
        return RG_STATUS_UNSUPPORTED;
    return cpu_kernels[op](backend, params, t);
}

static void cpu_free(rg_backend *backend)
{
    cpu_context *c = backend->context;
    for (int i = 0; i < RG_CPU_WORKSPACE_SLOTS; i++)
        rg_aligned_free(c->buf[i]);
    g_free(c);
    g_free(backend);
}

static const struct rg_backend_i cpu_interface = {
    .get_name = cpu_get_name,
    .supports_op = cpu_supports_op,
    .compute = cpu_compute,
    .last_error = NULL,
    .free = cpu_free,
};

rg_backend *rg_backend_cpu_new(void)
{
    rg_backend *b = g_new0(rg_backend, 1);
    b->iface = &cpu_interface;
    b->context = g_new0(cpu_context, 1);
    return b;
}

void *rg_cpu_workspace(rg_backend *backend, int slot, size_t nbytes)
{
    g_assert(backend && backend->iface == &cpu_interface && slot >= 0 && slot < RG_CPU_WORKSPACE_SLOTS);
    cpu_context *c = backend->context;
    if (c->size[slot] < nbytes) {
        rg_aligned_free(c->buf[slot]);
        c->buf[slot] = rg_aligned_alloc(nbytes);
        c->size[slot] = c->buf[slot] ? nbytes : 0;
    }
    return c->buf[slot];
}
