/* tape.c — the autograd tape: recording, backward, checkpointed segments.
 *
 * Operations run eagerly; the tape lists the recorded nodes in execution
 * order, which is a topological order, so backward walks it in reverse. A
 * tape serves one backward pass: saved tensors and cotangents are released as
 * soon as backward has passed their node, which keeps peak memory at the
 * level of the forward pass.
 */
#include "autograd/tape_impl.h"

#include <string.h>

#include "ops/shape.h"
#include "tensor/context.h"

struct rg_tape {
    GPtrArray *nodes; /* rg_node *, owned */
    gboolean consumed;
};

static void node_free(rg_node *n)
{
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i].leaf)
            rg_tensor_unref(n->in[i].leaf);
    for (int i = 0; i < n->n_out; i++) {
        if (n->out[i])
            n->out[i]->node = NULL;
        if (n->dout[i])
            rg_tensor_unref(n->dout[i]);
    }
    for (int i = 0; i < RG_NODE_MAX_SAVED; i++)
        if (n->saved[i])
            rg_tensor_unref(n->saved[i]);
    if (n->data_free)
        n->data_free(n->data);
    g_free(n->in);
    g_free(n->out);
    g_free(n->dout);
    g_free(n->out_ndim);
    g_free(n->out_shape);
    g_free(n);
}

rg_tape *rg_tape_new(void)
{
    rg_tape *tape = g_new0(rg_tape, 1);
    tape->nodes = g_ptr_array_new_with_free_func((GDestroyNotify)node_free);
    return tape;
}

void rg_tape_free(rg_tape *tape)
{
    if (!tape)
        return;
    g_ptr_array_unref(tape->nodes);
    g_free(tape);
}

int rg_tape_size(const rg_tape *tape)
{
    return (int)tape->nodes->len;
}

gboolean rg_tensor_needs_grad(const rg_tensor *t)
{
    return t && (t->requires_grad || t->node != NULL);
}

void rg_tensor_set_requires_grad(rg_tensor *t, gboolean requires_grad)
{
    g_return_if_fail(t != NULL);
    t->requires_grad = requires_grad;
}

gboolean rg_tensor_requires_grad(const rg_tensor *t)
{
    return t->requires_grad;
}

rg_tensor *rg_tensor_get_grad(rg_tensor *t)
{
    return t->grad;
}

void rg_tensor_zero_grad(rg_tensor *t)
{
    g_clear_pointer(&t->grad, rg_tensor_unref);
}

void rg_autograd_forget_tensor(rg_tensor *t)
{
    if (t->node)
        t->node->out[t->node_output] = NULL;
    t->node = NULL;
}

gboolean rg_autograd_wants(rg_ctx *ctx, rg_tensor *const *inputs, int n_inputs)
{
    if (!ctx->tape)
        return FALSE;
    for (int i = 0; i < n_inputs; i++)
        if (rg_tensor_needs_grad(inputs[i]))
            return TRUE;
    return FALSE;
}

rg_node *rg_autograd_record(rg_ctx *ctx, const char *name, rg_backward_fn backward, rg_tensor *const *inputs,
                            int n_inputs, rg_tensor *const *outputs, int n_outputs)
{
    rg_tape *tape = ctx->tape;
    g_assert(tape != NULL);
    rg_node *n = g_new0(rg_node, 1);
    n->name = name;
    n->backward = backward;
    n->tape = tape;
    n->index = (int)tape->nodes->len;
    n->n_in = n_inputs;
    n->in = g_new0(rg_edge, MAX(n_inputs, 1));
    for (int i = 0; i < n_inputs; i++) {
        rg_tensor *x = inputs[i];
        rg_edge *e = &n->in[i];
        if (!x)
            continue;
        e->ndim = x->ndim;
        memcpy(e->shape, x->shape, sizeof e->shape);
        if (x->node && x->node->tape == tape) {
            e->node = x->node;
            e->output = x->node_output;
            e->needs_grad = TRUE;
        } else if (x->requires_grad) {
            e->leaf = rg_tensor_ref(x);
            e->needs_grad = TRUE;
        }
    }
    n->n_out = n_outputs;
    n->out = g_new0(rg_tensor *, n_outputs);
    n->dout = g_new0(rg_tensor *, n_outputs);
    n->out_ndim = g_new0(int, n_outputs);
    n->out_shape = g_malloc0_n((gsize)n_outputs, sizeof *n->out_shape);
    for (int i = 0; i < n_outputs; i++) {
        rg_tensor *y = outputs[i];
        g_assert(y->node == NULL);
        n->out[i] = y;
        n->out_ndim[i] = y->ndim;
        memcpy(n->out_shape[i], y->shape, sizeof n->out_shape[i]);
        y->node = n;
        y->node_output = i;
    }
    g_ptr_array_add(tape->nodes, n);
    return n;
}

void rg_node_save(rg_node *node, int slot, rg_tensor *t)
{
    g_assert(slot >= 0 && slot < RG_NODE_MAX_SAVED && node->saved[slot] == NULL);
    node->saved[slot] = t ? rg_tensor_ref(t) : NULL;
}

/* A contiguous copy of @t in storage of its own. */
static rg_tensor *private_copy(rg_tensor *t, GError **error)
{
    rg_tensor *own = rg_tensor_new_like(t, error);
    if (own) {
        rg_tensor *args[2] = { own, t };
        rg_cpu_copy(NULL, NULL, args);
    }
    return own;
}

/* Whether nothing else sees @t's memory, so that it may be written. */
static gboolean exclusive(const rg_tensor *t)
{
    return t->refcount == 1 && t->storage->refcount == 1 && rg_tensor_is_contiguous(t);
}

/* Adds @g (transfer full) into *@slot, in place when *slot is ours alone. */
static gboolean accumulate_into(rg_tensor **slot, rg_tensor *g, GError **error)
{
    rg_tensor *dst = *slot;
    if (dst && !exclusive(dst)) {
        /* shared with someone else (a saved tensor, another cotangent): copy before writing */
        dst = private_copy(*slot, error);
        if (!dst) {
            rg_tensor_unref(g);
            return FALSE;
        }
        rg_tensor_unref(*slot);
        *slot = dst;
    }
    if (!dst) {
        *slot = g;
        return TRUE;
    }
    rg_tensor_accumulate(dst, g);
    rg_tensor_unref(g);
    return TRUE;
}

static gboolean accumulate_leaf(rg_tensor *leaf, rg_tensor *g, GError **error)
{
    if (leaf->grad) {
        rg_tensor_accumulate(leaf->grad, g);
    } else if (exclusive(g)) {
        leaf->grad = g;
        return TRUE;
    } else {
        /* the user keeps this one: give it storage of its own */
        leaf->grad = private_copy(g, error);
    }
    rg_tensor_unref(g);
    return leaf->grad != NULL;
}

static gboolean seed_cotangent(rg_tape *tape, rg_tensor *out, rg_tensor *cot, GError **error)
{
    if (!rg_tensor_same_shape(out, cot)) {
        g_autofree char *so = rg_tensor_shape_string(out);
        g_autofree char *sc = rg_tensor_shape_string(cot);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "backward: cotangent %s does not match output %s", sc, so);
        return FALSE;
    }
    if (out->node && out->node->tape == tape)
        return accumulate_into(&out->node->dout[out->node_output], rg_tensor_ref(cot), error);
    if (out->requires_grad)
        return accumulate_leaf(out, rg_tensor_ref(cot), error);
    return TRUE; /* nothing that wants a gradient depends on it */
}

static gboolean run_node(rg_ctx *ctx, rg_node *n, GError **error)
{
    gboolean any = FALSE;
    for (int i = 0; i < n->n_out; i++)
        any |= n->dout[i] != NULL;
    if (!any)
        return TRUE;
    for (int i = 0; i < n->n_out; i++) {
        if (!n->dout[i]) {
            n->dout[i] = rg_tensor_new(RG_DTYPE_F32, n->out_ndim[i], n->out_shape[i], error);
            if (!n->dout[i])
                return FALSE;
        }
    }
    g_autofree rg_tensor **din = g_new0(rg_tensor *, MAX(n->n_in, 1));
    if (!n->backward(ctx, n, n->dout, din, error)) {
        g_prefix_error(error, "backward of %s: ", n->name);
        for (int i = 0; i < n->n_in; i++)
            g_clear_pointer(&din[i], rg_tensor_unref);
        return FALSE;
    }
    gboolean ok = TRUE;
    for (int i = 0; i < n->n_in; i++) {
        rg_edge *e = &n->in[i];
        rg_tensor *g = din[i];
        if (!g)
            continue;
        if (!ok || !e->needs_grad) {
            rg_tensor_unref(g);
            continue;
        }
        g_assert(g->ndim == e->ndim && memcmp(g->shape, e->shape, sizeof(int64_t) * (size_t)e->ndim) == 0);
        if (e->node)
            ok = accumulate_into(&e->node->dout[e->output], g, error);
        else
            ok = accumulate_leaf(e->leaf, g, error);
    }
    return ok;
}

/* Releases what a node no longer needs once backward has passed it. */
static void node_release(rg_node *n)
{
    for (int i = 0; i < n->n_out; i++)
        g_clear_pointer(&n->dout[i], rg_tensor_unref);
    for (int i = 0; i < RG_NODE_MAX_SAVED; i++)
        g_clear_pointer(&n->saved[i], rg_tensor_unref);
    if (n->data_free)
        g_clear_pointer(&n->data, n->data_free);
}

gboolean rg_tape_backward_with(rg_ctx *ctx, rg_tape *tape, int n, rg_tensor *const *outputs,
                               rg_tensor *const *cotangents, GError **error)
{
    if (tape->consumed) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "backward: this tape has already been used for a backward pass; record the graph again");
        return FALSE;
    }
    if (ctx->tape == tape) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "backward: detach the tape from the context first");
        return FALSE;
    }
    for (int i = 0; i < n; i++) {
        if (!outputs[i] || !cotangents[i]) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "backward: output or cotangent %d is missing", i);
            return FALSE;
        }
        if (!rg_check_f32("backward", "cotangent", cotangents[i], error))
            return FALSE;
    }
    tape->consumed = TRUE;
    for (int i = 0; i < n; i++)
        if (!seed_cotangent(tape, outputs[i], cotangents[i], error))
            return FALSE;

    rg_tape *attached = ctx->tape;
    ctx->tape = NULL; /* backward itself is not recorded */
    gboolean ok = TRUE;
    for (int i = (int)tape->nodes->len - 1; i >= 0 && ok; i--) {
        rg_node *node = g_ptr_array_index(tape->nodes, i);
        ok = run_node(ctx, node, error);
        node_release(node);
    }
    ctx->tape = attached;
    return ok;
}

gboolean rg_tape_backward(rg_ctx *ctx, rg_tape *tape, rg_tensor *loss, GError **error)
{
    if (!loss || rg_tensor_numel(loss) != 1) {
        g_autofree char *s = loss ? rg_tensor_shape_string(loss) : g_strdup("(null)");
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "backward: the loss must have one element, got %s", s);
        return FALSE;
    }
    g_autoptr(rg_tensor) one = rg_tensor_new_full(loss->ndim, loss->shape, 1.0f, error);
    return one && rg_tape_backward_with(ctx, tape, 1, &loss, &one, error);
}

/* ---- checkpointed segments ------------------------------------------------ */

typedef struct {
    rg_segment_fn fn;
    gpointer user_data;
} segment;

static gboolean checkpoint_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din,
                                    GError **error)
{
    segment *seg = node->data;
    int n_in = node->n_in;
    g_autofree rg_tensor **alias = g_new0(rg_tensor *, MAX(n_in, 1));
    g_autofree rg_tensor **outs = g_new0(rg_tensor *, node->n_out);
    g_autoptr(rg_tape) sub = rg_tape_new();
    gboolean ok;

    /* Fresh leaves over the same storage, so the recomputation's gradients
     * land on them and not on the caller's tensors. */
    for (int i = 0; i < n_in; i++) {
        rg_tensor *x = node->saved[i];
        if (!x)
            continue; /* an optional input left out */
        alias[i] = rg_tensor_view(x, x->ndim, x->shape, x->strides, x->offset);
        alias[i]->requires_grad = node->in[i].needs_grad;
    }
    ctx->tape = sub;
    ok = seg->fn(ctx, alias, n_in, outs, node->n_out, seg->user_data, error);
    ctx->tape = NULL;
    if (ok)
        ok = rg_tape_backward_with(ctx, sub, node->n_out, outs, dout, error);
    for (int i = 0; i < n_in; i++) {
        if (!alias[i])
            continue;
        if (ok && node->in[i].needs_grad && alias[i]->grad)
            din[i] = rg_tensor_ref(alias[i]->grad);
        rg_tensor_unref(alias[i]);
    }
    for (int i = 0; i < node->n_out; i++)
        if (outs[i])
            rg_tensor_unref(outs[i]);
    return ok;
}

gboolean rg_checkpoint(rg_ctx *ctx, rg_segment_fn fn, gpointer user_data, rg_tensor *const *inputs, int n_inputs,
                       rg_tensor **outputs, int n_outputs, GError **error)
{
    g_return_val_if_fail(n_inputs >= 0 && n_inputs <= RG_NODE_MAX_SAVED, FALSE);
    g_return_val_if_fail(n_outputs >= 1, FALSE);
    rg_tape *tape = ctx->tape;
    for (int i = 0; i < n_outputs; i++)
        outputs[i] = NULL;
    ctx->tape = NULL;
    gboolean ok = fn(ctx, inputs, n_inputs, outputs, n_outputs, user_data, error);
    ctx->tape = tape;
    for (int i = 0; ok && i < n_outputs; i++) {
        if (!outputs[i]) {
            g_set_error(error, RG_ERROR, RG_ERROR_FAILED, "checkpoint: the segment left output %d unset", i);
            ok = FALSE;
        }
    }
    if (!ok) {
        for (int i = 0; i < n_outputs; i++)
            g_clear_pointer(&outputs[i], rg_tensor_unref);
        return FALSE;
    }
    /* Leaves inside the segment may want gradients even when no input does,
     * so a segment is recorded whenever a tape is attached. */
    if (tape) {
        rg_node *n = rg_autograd_record(ctx, "checkpoint", checkpoint_backward, inputs, n_inputs, outputs,
                                        n_outputs);
        for (int i = 0; i < n_inputs; i++)
            rg_node_save(n, i, inputs[i]);
        segment *seg = g_new(segment, 1);
        seg->fn = fn;
        seg->user_data = user_data;
        n->data = seg;
        n->data_free = g_free;
    }
    return TRUE;
}
