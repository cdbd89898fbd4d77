/* test_autograd.c — the tape: a graph of several ops against hand-derived
 * gradients and finite differences, checkpointed segments against the same
 * graph without checkpointing, frozen leaves, recording only when wanted,
 * cotangents, and misuse errors. */
#include "rg_test.h"

/* A residual-style block, y = x + (x * w1 + (x * x) * w2 + b), built from
 * several ops so that gradients fan in and out. */
typedef struct {
    rg_tensor *w1, *w2, *b; /* (C,1,1) each */
} block;

static gboolean block_fn(rg_ctx *ctx, rg_tensor *const *in, int n_in, rg_tensor **out, int n_out,
                         gpointer user_data, GError **error)
{
    (void)n_in;
    (void)n_out;
    block *p = user_data;
    rg_tensor *x = in[0];
    g_autoptr(rg_tensor) a = rg_mul(ctx, x, p->w1, error);
    g_autoptr(rg_tensor) sq = a ? rg_mul(ctx, x, x, error) : NULL;
    g_autoptr(rg_tensor) c = sq ? rg_mul(ctx, sq, p->w2, error) : NULL;
    g_autoptr(rg_tensor) s = c ? rg_add(ctx, a, c, error) : NULL;
    g_autoptr(rg_tensor) h = s ? rg_add(ctx, s, p->b, error) : NULL;
    out[0] = h ? rg_add(ctx, x, h, error) : NULL; /* the residual */
    return out[0] != NULL;
}

/* loss = mean(block(block(x))) through two blocks, each optionally checkpointed. */
static rg_tensor *network(rg_ctx *ctx, rg_tensor *x, block *b1, block *b2, gboolean checkpointed, GError **error)
{
    rg_tensor *h1 = NULL, *h2 = NULL;
    gboolean ok = checkpointed ? rg_checkpoint(ctx, block_fn, b1, &x, 1, &h1, 1, error)
                               : block_fn(ctx, &x, 1, &h1, 1, b1, error);
    ok = ok && (checkpointed ? rg_checkpoint(ctx, block_fn, b2, &h1, 1, &h2, 1, error)
                             : block_fn(ctx, &h1, 1, &h2, 1, b2, error));
    rg_tensor *loss = ok ? rg_mean(ctx, h2, error) : NULL;
    if (h1)
        rg_tensor_unref(h1);
    if (h2)
        rg_tensor_unref(h2);
    return loss;
}

static block make_block(guint32 seed)
{
    int64_t s[3] = { 3, 1, 1 };
    return (block){ rg_test_random(seed, 3, s, -1, 1), rg_test_random(seed + 1, 3, s, -1, 1),
                    rg_test_random(seed + 2, 3, s, -1, 1) };
}

static void free_block(block *b)
{
    rg_tensor_unref(b->w1);
    rg_tensor_unref(b->w2);
    rg_tensor_unref(b->b);
}

/* Gradients of x and of the first block's weights, with or without checkpointing. */
static void run_network(gboolean checkpointed, rg_tensor *x, block *b1, block *b2, rg_tensor **dx, rg_tensor **dw1,
                        int *tape_size)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_tensor_set_requires_grad(x, TRUE);
    rg_tensor_set_requires_grad(b1->w1, TRUE);
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) loss = network(ctx, x, b1, b2, checkpointed, &error);
    rg_assert_no_error(error);
    rg_ctx_set_tape(ctx, NULL);
    *tape_size = rg_tape_size(tape);
    rg_tape_backward(ctx, tape, loss, &error);
    rg_assert_no_error(error);
    *dx = rg_tensor_ref(rg_tensor_get_grad(x));
    *dw1 = rg_tensor_ref(rg_tensor_get_grad(b1->w1));
    rg_tensor_zero_grad(x);
    rg_tensor_zero_grad(b1->w1);
    rg_tensor_set_requires_grad(x, FALSE);
    rg_tensor_set_requires_grad(b1->w1, FALSE);
}

static gboolean checkpoint_matches(void)
{
    int64_t s[4] = { 2, 3, 4, 5 };
    g_autoptr(rg_tensor) x = rg_test_random(7, 4, s, -1, 1);
    block b1 = make_block(100), b2 = make_block(200);
    rg_tensor *dx_plain, *dw_plain, *dx_ckpt, *dw_ckpt;
    int n_plain, n_ckpt;
    run_network(FALSE, x, &b1, &b2, &dx_plain, &dw_plain, &n_plain);
    run_network(TRUE, x, &b1, &b2, &dx_ckpt, &dw_ckpt, &n_ckpt);
    gboolean ok = rg_check_tensor("checkpoint dx", dx_ckpt, dx_plain, 0, 0);
    ok &= rg_check_tensor("checkpoint dw1 (leaf inside a segment)", dw_ckpt, dw_plain, 0, 0);
    /* a checkpointed block is one node on the tape; a plain block is six */
    g_print("%s tape sizes: plain %d, checkpointed %d\n", n_ckpt == 3 && n_plain == 13 ? "OK" : "NOT OK", n_plain,
            n_ckpt);
    ok &= n_ckpt == 3 && n_plain == 13;
    rg_tensor_unref(dx_plain);
    rg_tensor_unref(dw_plain);
    rg_tensor_unref(dx_ckpt);
    rg_tensor_unref(dw_ckpt);
    free_block(&b1);
    free_block(&b2);
    return ok;
}

static block *fd_blocks;

static rg_tensor *f_network(rg_ctx *ctx, rg_tensor *const *in, gpointer u, GError **e)
{
    (void)in;
    return network(ctx, in[0], &fd_blocks[0], &fd_blocks[1], GPOINTER_TO_INT(u), e);
}

static gboolean network_gradcheck(void)
{
    int64_t s[4] = { 1, 3, 2, 3 };
    g_autoptr(rg_tensor) x = rg_test_random(8, 4, s, -1, 1);
    block b[2] = { make_block(300), make_block(400) };
    fd_blocks = b;
    gboolean yes[2] = { TRUE, TRUE }, ok = TRUE;
    for (int ck = 0; ck < 2; ck++) {
        /* b[0].w2 reaches the block through user data, not as an input: a
         * leaf inside a (checkpointed) segment */
        rg_tensor *in[2] = { x, b[0].w2 };
        ok &= rg_gradcheck(ck ? "network checkpointed" : "network plain", f_network, GINT_TO_POINTER(ck), in, 2,
                           yes, 1e-2, 1e-4, 1e-3, 64);
    }
    free_block(&b[0]);
    free_block(&b[1]);
    return ok;
}

static gboolean frozen_and_recording(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    int64_t s[2] = { 3, 4 };
    g_autoptr(rg_tensor) x = rg_test_random(1, 2, s, -1, 1);
    g_autoptr(rg_tensor) w = rg_test_random(2, 2, s, -1, 1); /* frozen */
    gboolean ok = TRUE;

    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) nothing = rg_mul(ctx, x, w, &error); /* nothing wants a gradient yet */
    ok &= nothing != NULL && rg_tape_size(tape) == 0;
    rg_tensor_set_requires_grad(x, TRUE);
    g_autoptr(rg_tensor) y = rg_mul(ctx, x, w, &error);
    g_autoptr(rg_tensor) loss = rg_sum(ctx, y, &error);
    rg_ctx_set_tape(ctx, NULL);
    ok &= rg_tape_size(tape) == 2;
    g_print("%s recording: %d ops on the tape\n", ok ? "OK" : "NOT OK", rg_tape_size(tape));

    RG_EXPECT_ERROR(ok, "non-scalar loss", rg_tape_backward(ctx, tape, y, &err_) ? rg_tensor_ref(x) : NULL, RG_ERROR_SHAPE,
                    "backward");
    g_assert_true(rg_tape_backward(ctx, tape, loss, &error));
    rg_assert_no_error(error);
    /* d sum(x*w) / dx = w; the frozen w gets nothing */
    ok &= rg_check_tensor("dx = w", rg_tensor_get_grad(x), w, 0, 0);
    gboolean frozen_ok = rg_tensor_get_grad(w) == NULL;
    g_print("%s frozen leaf has no gradient\n", frozen_ok ? "OK" : "NOT OK");
    ok &= frozen_ok;
    RG_EXPECT_ERROR(ok, "tape used twice", rg_tape_backward(ctx, tape, loss, &err_) ? rg_tensor_ref(x) : NULL,
                    RG_ERROR_ARGUMENT, "backward");
    return ok;
}

static gboolean cotangents(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    int64_t s[2] = { 2, 3 };
    g_autoptr(rg_tensor) x = rg_test_random(1, 2, s, -1, 1);
    g_autoptr(rg_tensor) c1 = rg_test_random(2, 2, s, -1, 1);
    g_autoptr(rg_tensor) c2 = rg_test_random(3, 2, s, -1, 1);
    rg_tensor_set_requires_grad(x, TRUE);
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) a = rg_scale(ctx, x, 2.0f, 1.0f, &error);
    g_autoptr(rg_tensor) b = rg_mul(ctx, x, x, &error);
    rg_ctx_set_tape(ctx, NULL);
    rg_tensor *outs[2] = { a, b }, *cots[2] = { c1, c2 };
    g_assert_true(rg_tape_backward_with(ctx, tape, 2, outs, cots, &error));
    /* d/dx <2x+1, c1> + <x*x, c2> = 2 c1 + 2 x c2 */
    g_autoptr(rg_tensor) xc2 = rg_mul(ctx, x, c2, &error);
    g_autoptr(rg_tensor) sum = rg_add(ctx, c1, xc2, &error);
    g_autoptr(rg_tensor) expect = rg_scale(ctx, sum, 2.0f, 0.0f, &error);
    gboolean ok = rg_check_tensor("two cotangents", rg_tensor_get_grad(x), expect, 1e-6, 1e-6);

    g_autoptr(rg_tape) tape2 = rg_tape_new();
    rg_ctx_set_tape(ctx, tape2);
    g_autoptr(rg_tensor) d = rg_scale(ctx, x, 2.0f, 0.0f, &error);
    rg_ctx_set_tape(ctx, NULL);
    int64_t w[2] = { 3, 2 };
    g_autoptr(rg_tensor) wrong = rg_test_random(4, 2, w, -1, 1);
    RG_EXPECT_ERROR(ok, "cotangent shape", rg_tape_backward_with(ctx, tape2, 1, &d, &wrong, &err_) ? rg_tensor_ref(x) : NULL,
                    RG_ERROR_SHAPE, "backward");
    return ok;
}

/* y = x + x*x*x*x*w: four multiplications whose intermediates a plain
 * tape keeps until backward. */
static gboolean power_fn(rg_ctx *ctx, rg_tensor *const *in, int n_in, rg_tensor **out, int n_out,
                         gpointer user_data, GError **error)
{
    (void)n_in;
    (void)n_out;
    rg_tensor *x = in[0];
    g_autoptr(rg_tensor) a = rg_mul(ctx, x, x, error);
    g_autoptr(rg_tensor) b = a ? rg_mul(ctx, a, x, error) : NULL;
    g_autoptr(rg_tensor) c = b ? rg_mul(ctx, b, x, error) : NULL;
    g_autoptr(rg_tensor) d = c ? rg_mul(ctx, c, user_data, error) : NULL;
    out[0] = d ? rg_add(ctx, x, d, error) : NULL;
    return out[0] != NULL;
}

/* Peak tensor memory of forward + backward through 8 such segments. */
static size_t chain_peak(gboolean checkpointed, rg_tensor *x, rg_tensor *w, rg_tensor **grad)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    size_t base, peak;
    rg_memory_stats(&base, NULL);
    rg_memory_reset_peak();
    rg_tensor_set_requires_grad(x, TRUE);
    rg_ctx_set_tape(ctx, tape);
    rg_tensor *h = rg_tensor_ref(x);
    for (int i = 0; i < 8; i++) {
        rg_tensor *next = NULL;
        g_assert_true(checkpointed ? rg_checkpoint(ctx, power_fn, w, &h, 1, &next, 1, &error)
                                   : power_fn(ctx, &h, 1, &next, 1, w, &error));
        rg_tensor_unref(h);
        h = next;
    }
    g_autoptr(rg_tensor) loss = rg_mean(ctx, h, &error);
    rg_tensor_unref(h);
    rg_ctx_set_tape(ctx, NULL);
    g_assert_true(rg_tape_backward(ctx, tape, loss, &error));
    rg_memory_stats(NULL, &peak);
    *grad = rg_tensor_ref(rg_tensor_get_grad(x));
    rg_tensor_zero_grad(x);
    rg_tensor_set_requires_grad(x, FALSE);
    return peak - base;
}

static gboolean checkpoint_saves_memory(void)
{
    int64_t s[2] = { 256, 1024 }; /* 1 MiB */
    g_autoptr(rg_tensor) x = rg_test_random(3, 2, s, -0.5f, 0.5f);
    g_autoptr(rg_tensor) w = rg_test_random(4, 2, s, -0.5f, 0.5f);
    rg_tensor *g_plain, *g_ckpt;
    size_t plain = chain_peak(FALSE, x, w, &g_plain);
    size_t ckpt = chain_peak(TRUE, x, w, &g_ckpt);
    gboolean ok = rg_check_tensor("checkpointed chain gradient", g_ckpt, g_plain, 0, 0);
    /* plain keeps ~4 tensors per segment, checkpointed ~1 plus one segment's worth */
    gboolean smaller = ckpt * 2 < plain;
    g_print("%s peak memory: plain %.1f MiB, checkpointed %.1f MiB\n", smaller ? "OK" : "NOT OK",
            plain / 1048576.0, ckpt / 1048576.0);
    rg_tensor_unref(g_plain);
    rg_tensor_unref(g_ckpt);
    return ok && smaller;
}

/* An SD-style ResNet block: h = conv2(silu(gn2(conv1(silu(gn1(x))) + proj(temb)))),
 * out = x + h; the weights are frozen except conv2's, as when training a
 * head on features or guiding a latent. */
typedef struct {
    rg_tensor *gn1_w, *gn1_b, *conv1_w, *conv1_b, *proj_w, *proj_b, *gn2_w, *gn2_b, *conv2_w, *conv2_b;
} resblock;

static gboolean resblock_fn(rg_ctx *ctx, rg_tensor *const *in, int n_in, rg_tensor **out, int n_out,
                            gpointer user_data, GError **error)
{
    (void)n_in;
    (void)n_out;
    resblock *p = user_data;
    rg_tensor *x = in[0], *temb = in[1];
    int64_t c = rg_tensor_shape(x)[1], bshape[4] = { rg_tensor_shape(x)[0], c, 1, 1 };
    g_autoptr(rg_tensor) a = rg_group_norm(ctx, x, 4, p->gn1_w, p->gn1_b, 1e-5f, error);
    g_autoptr(rg_tensor) b = a ? rg_silu(ctx, a, error) : NULL;
    g_autoptr(rg_tensor) h1 = b ? rg_conv2d(ctx, b, p->conv1_w, p->conv1_b, 1, 1, error) : NULL;
    g_autoptr(rg_tensor) st = h1 ? rg_silu(ctx, temb, error) : NULL;
    g_autoptr(rg_tensor) e = st ? rg_linear(ctx, st, p->proj_w, p->proj_b, error) : NULL;
    g_autoptr(rg_tensor) e4 = e ? rg_reshape(ctx, e, 4, bshape, error) : NULL;
    g_autoptr(rg_tensor) h2 = e4 ? rg_add(ctx, h1, e4, error) : NULL;
    g_autoptr(rg_tensor) g = h2 ? rg_group_norm(ctx, h2, 4, p->gn2_w, p->gn2_b, 1e-5f, error) : NULL;
    g_autoptr(rg_tensor) s = g ? rg_silu(ctx, g, error) : NULL;
    g_autoptr(rg_tensor) h = s ? rg_conv2d(ctx, s, p->conv2_w, p->conv2_b, 1, 1, error) : NULL;
    out[0] = h ? rg_add(ctx, x, h, error) : NULL;
    return out[0] != NULL;
}

static rg_tensor *f_resblock(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    rg_tensor *out = NULL;
    return rg_checkpoint(ctx, resblock_fn, user_data, in, 2, &out, 1, error) ? out : NULL;
}

static void resblock_grads(gboolean checkpointed, resblock *p, rg_tensor *x, rg_tensor *temb, rg_tensor **dx,
                           rg_tensor **dtemb, rg_tensor **dconv2)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_tensor *in[2] = { x, temb };
    rg_tensor *h1 = NULL, *h2 = NULL;
    rg_ctx_set_tape(ctx, tape);
    g_assert_true(checkpointed ? rg_checkpoint(ctx, resblock_fn, p, in, 2, &h1, 1, &error)
                               : resblock_fn(ctx, in, 2, &h1, 1, p, &error));
    in[0] = h1;
    g_assert_true(checkpointed ? rg_checkpoint(ctx, resblock_fn, p, in, 2, &h2, 1, &error)
                               : resblock_fn(ctx, in, 2, &h2, 1, p, &error));
    g_autoptr(rg_tensor) sq = rg_mul(ctx, h2, h2, &error);
    g_autoptr(rg_tensor) loss = rg_mean(ctx, sq, &error);
    rg_assert_no_error(error);
    rg_ctx_set_tape(ctx, NULL);
    g_assert_true(rg_tape_backward(ctx, tape, loss, &error));
    rg_tensor_unref(h1);
    rg_tensor_unref(h2);
    *dx = rg_tensor_ref(rg_tensor_get_grad(x));
    *dtemb = rg_tensor_ref(rg_tensor_get_grad(temb));
    *dconv2 = rg_tensor_ref(rg_tensor_get_grad(p->conv2_w));
    rg_tensor_zero_grad(x);
    rg_tensor_zero_grad(temb);
    rg_tensor_zero_grad(p->conv2_w);
}

static gboolean checkpointed_resblocks(void)
{
    const int64_t C = 8, T = 16;
    int64_t sx[4] = { 2, C, 9, 7 }, st[2] = { 2, T }, sc[4] = { C, C, 3, 3 }, sv[1] = { C }, sp[2] = { C, T };
    resblock p = { rg_test_random(1, 1, sv, 0.5f, 1.5f), rg_test_random(2, 1, sv, -0.2f, 0.2f),
                   rg_test_random(3, 4, sc, -0.2f, 0.2f), rg_test_random(4, 1, sv, -0.1f, 0.1f),
                   rg_test_random(5, 2, sp, -0.3f, 0.3f), rg_test_random(6, 1, sv, -0.1f, 0.1f),
                   rg_test_random(7, 1, sv, 0.5f, 1.5f), rg_test_random(8, 1, sv, -0.2f, 0.2f),
                   rg_test_random(9, 4, sc, -0.2f, 0.2f), rg_test_random(10, 1, sv, -0.1f, 0.1f) };
    g_autoptr(rg_tensor) x = rg_test_random(11, 4, sx, -1, 1);
    g_autoptr(rg_tensor) temb = rg_test_random(12, 2, st, -1, 1);
    rg_tensor_set_requires_grad(x, TRUE);
    rg_tensor_set_requires_grad(temb, TRUE);
    rg_tensor_set_requires_grad(p.conv2_w, TRUE);
    rg_tensor *plain[3], *ckpt[3];
    resblock_grads(FALSE, &p, x, temb, &plain[0], &plain[1], &plain[2]);
    resblock_grads(TRUE, &p, x, temb, &ckpt[0], &ckpt[1], &ckpt[2]);
    static const char *const names[3] = { "resblocks checkpointed dx", "resblocks checkpointed dtemb",
                                          "resblocks checkpointed dconv2 (leaf inside)" };
    gboolean ok = TRUE;
    for (int i = 0; i < 3; i++) {
        /* the same kernels on the same data: identical */
        ok &= rg_check_tensor(names[i], ckpt[i], plain[i], 0, 0);
        rg_tensor_unref(plain[i]);
        rg_tensor_unref(ckpt[i]);
    }
    /* and the whole block against finite differences (f32 forward, step 1e-2:
     * the difference quotient itself is good to about 1e-4) */
    rg_tensor_set_requires_grad(p.conv2_w, FALSE);
    rg_tensor *in[2] = { x, temb };
    gboolean yes[2] = { TRUE, TRUE };
    ok &= rg_gradcheck("resblock", f_resblock, &p, in, 2, yes, 1e-2, 2e-4, 1e-2, 48);
    gboolean frozen = rg_tensor_get_grad(p.conv1_w) == NULL && rg_tensor_get_grad(p.gn1_w) == NULL &&
                      rg_tensor_get_grad(p.proj_w) == NULL;
    g_print("%s frozen block weights got no gradient\n", frozen ? "OK" : "NOT OK");
    rg_tensor **all = (rg_tensor **)&p;
    for (size_t i = 0; i < sizeof p / sizeof(rg_tensor *); i++)
        rg_tensor_unref(all[i]);
    return ok && frozen;
}

int main(void)
{
    gboolean ok = checkpoint_matches();
    ok &= network_gradcheck();
    ok &= frozen_and_recording();
    ok &= cotangents();
    ok &= checkpoint_saves_memory();
    ok &= checkpointed_resblocks();
    g_print("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
