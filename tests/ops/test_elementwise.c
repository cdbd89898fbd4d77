/* test_elementwise.c — add/sub/mul with broadcasting, scale, sum, mean:
 * parity with PyTorch (tests/reference/elementwise.py), finite differences,
 * errors. */
#include "rg_test.h"

typedef rg_tensor *(*binary_fn)(rg_ctx *, rg_tensor *, rg_tensor *, GError **);

static rg_tensor *f_binary(rg_ctx *ctx, rg_tensor *const *in, gpointer u, GError **e)
{
    return ((binary_fn)u)(ctx, in[0], in[1], e);
}

static rg_tensor *f_scale(rg_ctx *ctx, rg_tensor *const *in, gpointer u, GError **e)
{
    (void)u;
    return rg_scale(ctx, in[0], 0.37f, -1.5f, e);
}

static rg_tensor *f_sum(rg_ctx *ctx, rg_tensor *const *in, gpointer u, GError **e)
{
    (void)u;
    return rg_sum(ctx, in[0], e);
}

static rg_tensor *f_mean(rg_ctx *ctx, rg_tensor *const *in, gpointer u, GError **e)
{
    (void)u;
    return rg_mean(ctx, in[0], e);
}

static rg_tensor *f_sum_dim1(rg_ctx *ctx, rg_tensor *const *in, gpointer u, GError **e)
{
    (void)u;
    return rg_sum_dim(ctx, in[0], 1, e);
}

static rg_tensor *f_mean_dim2(rg_ctx *ctx, rg_tensor *const *in, gpointer u, GError **e)
{
    (void)u;
    return rg_mean_dim(ctx, in[0], -1, e);
}

static const struct {
    const char *name;
    binary_fn fn;
} binaries[] = { { "add", rg_add }, { "sub", rg_sub }, { "mul", rg_mul } };

static const struct {
    const char *name;
    rg_test_fn fn;
} unaries[] = {
    { "scale", f_scale }, { "sum", f_sum }, { "mean", f_mean }, { "sum_dim1", f_sum_dim1 }, { "mean_dim2", f_mean_dim2 },
};

static gboolean parity(void)
{
    g_autoptr(rg_safetensors) g = rg_test_golden("elementwise");
    gboolean ok = TRUE;
    /* f32 arithmetic against a float64 reference: a few ulps */
    const double atol = 1e-6, rtol = 1e-6;
    for (size_t i = 0; i < G_N_ELEMENTS(binaries); i++) {
        for (int variant = 0; variant < 2; variant++) {
            g_autofree char *c = g_strdup_printf("%s_%s", binaries[i].name, variant ? "both" : "channel");
            rg_tensor *in[2] = { rg_test_load(g, c, "a"), rg_test_load(g, c, "b") };
            rg_tensor *dref[2] = { rg_test_load(g, c, "da"), rg_test_load(g, c, "db") };
            g_autoptr(rg_tensor) out = rg_test_load(g, c, "out");
            g_autoptr(rg_tensor) dout = rg_test_load(g, c, "dout");
            ok &= rg_check_vjp(c, f_binary, (gpointer)binaries[i].fn, in, 2, out, dout, dref, atol, rtol);
            for (int k = 0; k < 2; k++) {
                rg_tensor_unref(in[k]);
                rg_tensor_unref(dref[k]);
            }
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(unaries); i++) {
        g_autoptr(rg_tensor) x = rg_test_load(g, unaries[i].name, "inp");
        g_autoptr(rg_tensor) out = rg_test_load(g, unaries[i].name, "out");
        g_autoptr(rg_tensor) dout = rg_test_load(g, unaries[i].name, "dout");
        g_autoptr(rg_tensor) dx = rg_test_load(g, unaries[i].name, "dinp");
        ok &= rg_check_vjp(unaries[i].name, unaries[i].fn, NULL, &x, 1, out, dout, &dx, atol, rtol);
    }
    return ok;
}

static gboolean gradients(void)
{
    gboolean ok = TRUE, yes[2] = { TRUE, TRUE };
    int64_t sa[4] = { 2, 3, 2, 2 }, sb[3] = { 3, 1, 1 }, sc[4] = { 1, 3, 1, 2 };
    for (size_t i = 0; i < G_N_ELEMENTS(binaries); i++) {
        rg_tensor *in[2] = { rg_test_random(10 + (guint32)i, 4, sa, -1, 1), rg_test_random(20, 3, sb, -1, 1) };
        ok &= rg_gradcheck(binaries[i].name, f_binary, (gpointer)binaries[i].fn, in, 2, yes, 1e-2, 1e-3, 1e-3, 64);
        rg_tensor_unref(in[1]);
        in[1] = rg_test_random(21, 4, sc, -1, 1);
        ok &= rg_gradcheck(binaries[i].name, f_binary, (gpointer)binaries[i].fn, in, 2, yes, 1e-2, 1e-3, 1e-3, 64);
        rg_tensor_unref(in[0]);
        rg_tensor_unref(in[1]);
    }
    g_autoptr(rg_tensor) x = rg_test_random(30, 4, sa, -1, 1);
    for (size_t i = 0; i < G_N_ELEMENTS(unaries); i++)
        ok &= rg_gradcheck(unaries[i].name, unaries[i].fn, NULL, &x, 1, yes, 1e-2, 1e-3, 1e-3, 64);
    return ok;
}

static gboolean errors(void)
{
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, NULL);
    int64_t s[3] = { 2, 3, 4 }, t[2] = { 5, 4 }, one = 3;
    g_autoptr(rg_tensor) x = rg_test_random(1, 3, s, 0, 1);
    g_autoptr(rg_tensor) y = rg_test_random(1, 2, t, 0, 1);
    g_autoptr(rg_tensor) idx = rg_tensor_new(RG_DTYPE_I64, 1, &one, NULL);
    gboolean ok = TRUE;
    RG_EXPECT_ERROR(ok, "add", rg_add(ctx, x, y, &err_), RG_ERROR_SHAPE, "add");
    RG_EXPECT_ERROR(ok, "mul", rg_mul(ctx, x, y, &err_), RG_ERROR_SHAPE, "mul");
    RG_EXPECT_ERROR(ok, "sub dtype", rg_sub(ctx, x, idx, &err_), RG_ERROR_DTYPE, "sub");
    RG_EXPECT_ERROR(ok, "sum_dim", rg_sum_dim(ctx, x, 3, &err_), RG_ERROR_ARGUMENT, "sum_dim");
    RG_EXPECT_ERROR(ok, "mean dtype", rg_mean(ctx, idx, &err_), RG_ERROR_DTYPE, "mean");
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
