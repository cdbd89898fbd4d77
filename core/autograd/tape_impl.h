/* tape_impl.h — how operations record themselves for backward.
 *
 * A front door computes its result, then, when rg_autograd_wants() says a
 * gradient is wanted, calls rg_autograd_record() and saves what its backward
 * needs with rg_node_save() and rg_node_params(). The backward function gets
 * the cotangents of the node's outputs and fills din[i] (new references) for
 * each input i with node->in[i].needs_grad; the tape accumulates them.
 * Backward functions run with recording off.
 */
#pragma once

#include "tensor/tensor_impl.h"

#define RG_NODE_MAX_SAVED 6
#define RG_NODE_PARAMS_SIZE 128

typedef gboolean (*rg_backward_fn)(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                                   GError **error);

typedef struct {
    rg_node *node;       /* producer, when the input came from a recorded op (weak; same tape) */
    int output;          /* which output of the producer */
    rg_tensor *leaf;     /* the input itself when it is a leaf that requires grad (strong) */
    gboolean needs_grad; /* whether backward must produce din for it */
    int ndim;
    int64_t shape[RG_MAX_DIMS];
} rg_edge;

struct rg_node {
    const char *name;
    rg_backward_fn backward;
    rg_tape *tape;
    int index; /* position on the tape */

    int n_in;
    rg_edge *in;

    int n_out;
    rg_tensor **out;  /* weak; cleared when the tensor goes */
    rg_tensor **dout; /* accumulated cotangents during backward */
    int *out_ndim;
    int64_t (*out_shape)[RG_MAX_DIMS];

    rg_tensor *saved[RG_NODE_MAX_SAVED];
    guint8 params[RG_NODE_PARAMS_SIZE] __attribute__((aligned(8)));
    gpointer data; /* larger state (checkpoint segments), freed with data_free */
    GDestroyNotify data_free;
};

/* Whether a tape is attached to @ctx and one of @inputs (NULLs allowed) needs a gradient. */
gboolean rg_autograd_wants(rg_ctx *ctx, rg_tensor *const *inputs, int n_inputs);
/* Records a node on the context's tape. @inputs may hold NULLs. */
rg_node *rg_autograd_record(rg_ctx *ctx, const char *name, rg_backward_fn backward, rg_tensor *const *inputs,
                            int n_inputs, rg_tensor *const *outputs, int n_outputs);
/* Keeps a reference to @t (may be NULL) in slot @slot for backward. */
void rg_node_save(rg_node *node, int slot, rg_tensor *t);
/* Inline storage of RG_NODE_PARAMS_SIZE bytes for the op's scalar parameters. */
#define rg_node_params(node, type) \
    (G_STATIC_ASSERT_EXPR(sizeof(type) <= RG_NODE_PARAMS_SIZE), (type *)(void *)(node)->params)

/* Called when a tensor is freed: drops the node's weak pointer to it. */
void rg_autograd_forget_tensor(rg_tensor *t);
