/* test_shape.c — permute, slice, split, concat, reshape, contiguous:
 * parity with PyTorch (tests/reference/shape.py), finite differences, errors. */
#include "rg_test.h"

static rg_tensor *f_permute(rg_ctx *ctx, rg_tensor *const *in, gpointer u, GError **e)
{
    static const int perm[4] = { 0, 2, 3, 1 };
    (void)u;
    return rg_permute(ctx, in[0], perm, e);
}

static rg_tensor *f_slice(rg_ctx *ctx, rg_tensor *const *in, gpointer u, GError **e)
{
    (void)u;
    return rg_slice(ctx, in[0], 1, 2, 5, e);
}

static rg_tensor *f_concat(rg_ctx *ctx, rg_tensor *const *in, gpointer u, GError **e)
{
    (void)u;
    return rg_concat(ctx, in, 3, 1, e);
}

static rg_tensor *f_reshape(rg_ctx *ctx, rg_tensor *const *in, gpointer u, GError **e)
{
    static const int64_t shape[3] = { 3, -1, 5 };
    (void)u;
    return rg_reshape(ctx, in[0], 3, shape, e);
}

/* The two halves of a split, each scaled differently, concatenated back:
 * exercises views of a non-contiguous input and gradient fan-in. */
static rg_tensor *f_split_mix(rg_ctx *ctx, rg_tensor *const *in, gpointer u, GError **e)
{
    static const int perm[3] = { 0, 2, 1 };
    (void)u;
    g_autoptr(rg_tensor) p = rg_permute(ctx, in[0], perm, e);
    rg_tensor *parts[2] = { NULL, NULL };
    if (!rg_split(ctx, p, 1, 2, parts, e))
        return NULL;
    g_autoptr(rg_tensor) a = rg_scale(ctx, parts[0], 2.0f, 0.0f, e);
    g_autoptr(rg_tensor) b = rg_mul(ctx, parts[1], parts[0], e);
    rg_tensor *both[2] = { a, b };
    rg_tensor *out = rg_concat(ctx, both, 2, 0, e);
    rg_tensor_unref(parts[0]);
    rg_tensor_unref(parts[1]);
    return out;
}

static gboolean parity(void)
{
    g_autoptr(rg_safetensors) g = rg_test_golden("shape");
    gboolean ok = TRUE;
    struct { const char *name; rg_test_fn f; } unary[] = {
        { "permute", f_permute }, { "slice", f_slice }, { "reshape", f_reshape },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(unary); i++) {
        g_autoptr(rg_tensor) x = rg_test_load(g, unary[i].name, "inp");
        g_autoptr(rg_tensor) out = rg_test_load(g, unary[i].name, "out");
        g_autoptr(rg_tensor) dout = rg_test_load(g, unary[i].name, "dout");
        g_autoptr(rg_tensor) dx = rg_test_load(g, unary[i].name, "dinp");
        /* pure data movement: exact */
        ok &= rg_check_vjp(unary[i].name, unary[i].f, NULL, &x, 1, out, dout, &dx, 0, 0);
    }
    rg_tensor *in[3] = { rg_test_load(g, "concat", "a"), rg_test_load(g, "concat", "b"),
                         rg_test_load(g, "concat", "c") };
    rg_tensor *dref[3] = { rg_test_load(g, "concat", "da"), rg_test_load(g, "concat", "db"),
                           rg_test_load(g, "concat", "dc") };
    g_autoptr(rg_tensor) out = rg_test_load(g, "concat", "out");
    g_autoptr(rg_tensor) dout = rg_test_load(g, "concat", "dout");
    ok &= rg_check_vjp("concat", f_concat, NULL, in, 3, out, dout, dref, 0, 0);
    for (int i = 0; i < 3; i++) {
        rg_tensor_unref(in[i]);
        rg_tensor_unref(dref[i]);
    }
    return ok;
}

static gboolean gradients(void)
{
    gboolean ok = TRUE, yes[3] = { TRUE, TRUE, TRUE };
    int64_t s4[4] = { 2, 3, 2, 3 }, s3[3] = { 2, 9, 2 }, s3b[3] = { 2, 3, 4 };
    g_autoptr(rg_tensor) x4 = rg_test_random(1, 4, s4, -1, 1);
    g_autoptr(rg_tensor) x3 = rg_test_random(2, 3, s3, -1, 1);
    g_autoptr(rg_tensor) y3 = rg_test_random(3, 3, s3b, -1, 1);
    ok &= rg_gradcheck("permute", f_permute, NULL, &x4, 1, yes, 1e-2, 1e-3, 1e-3, 64);
    ok &= rg_gradcheck("slice", f_slice, NULL, &x3, 1, yes, 1e-2, 1e-3, 1e-3, 64);
    ok &= rg_gradcheck("split_mix", f_split_mix, NULL, &y3, 1, yes, 1e-2, 1e-3, 1e-3, 64);
    int64_t sa[3] = { 2, 1, 2 }, sb[3] = { 2, 3, 2 };
    rg_tensor *cat[3] = { rg_test_random(4, 3, sa, -1, 1), rg_test_random(5, 3, sb, -1, 1),
                          rg_test_random(6, 3, sa, -1, 1) };
    ok &= rg_gradcheck("concat", f_concat, NULL, cat, 3, yes, 1e-2, 1e-3, 1e-3, 64);
    for (int i = 0; i < 3; i++)
        rg_tensor_unref(cat[i]);
    return ok;
}

static gboolean errors(void)
{
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, NULL);
    int64_t s[3] = { 2, 3, 4 }, t[3] = { 2, 5, 5 }, bad[2] = { 5, 5 };
    g_autoptr(rg_tensor) x = rg_test_random(1, 3, s, 0, 1);
    g_autoptr(rg_tensor) y = rg_test_random(1, 3, t, 0, 1);
    int perm[3] = { 0, 0, 1 };
    rg_tensor *pair[2] = { x, y };
    rg_tensor *parts[2];
    gboolean ok = TRUE;
    RG_EXPECT_ERROR(ok, "reshape", rg_reshape(ctx, x, 2, bad, &err_), RG_ERROR_SHAPE, "reshape");
    RG_EXPECT_ERROR(ok, "slice", rg_slice(ctx, x, 1, 2, 5, &err_), RG_ERROR_ARGUMENT, "slice");
    RG_EXPECT_ERROR(ok, "slice dim", rg_slice(ctx, x, 3, 0, 1, &err_), RG_ERROR_ARGUMENT, "slice");
    RG_EXPECT_ERROR(ok, "permute", rg_permute(ctx, x, perm, &err_), RG_ERROR_ARGUMENT, "permute");
    RG_EXPECT_ERROR(ok, "concat", rg_concat(ctx, pair, 2, 1, &err_), RG_ERROR_SHAPE, "concat");
    RG_EXPECT_ERROR(ok, "split", rg_split(ctx, x, 1, 2, parts, &err_) ? rg_tensor_ref(x) : NULL, RG_ERROR_ARGUMENT, "split");
    return ok;
}

int main(void)
{
    gboolean ok = parity();
    ok &= gradients();
    ok &= errors();
    g_print("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
