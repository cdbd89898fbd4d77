/* test_gather.c — rg_gather: parity with torch.gather (tests/reference/
 * gather.py) forward and the gradient of x, repeated indices included;
 * strided x and index; finite-difference gradient checks; 1 vs 2 threads;
 * bad-input errors (shapes, dtypes, out-of-range indices). Exits non-zero on
 * any failure.
 */
#include "rg_test.h"

static gboolean ok = TRUE;

static rg_tensor *f_gather(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    return rg_gather(ctx, in[0], user_data, error);
}

static void parity(rg_safetensors *golden, const char *name, gboolean strided)
{
    g_autoptr(rg_tensor) x0 = rg_test_load(golden, name, "x");
    g_autoptr(rg_tensor) index0 = rg_test_load(golden, name, "index");
    g_autoptr(rg_tensor) out_ref = rg_test_load(golden, name, "out");
    g_autoptr(rg_tensor) dout = rg_test_load(golden, name, "dout");
    g_autoptr(rg_tensor) dx_ref = rg_test_load(golden, name, "dx");
    g_autoptr(rg_tensor) x = strided ? rg_test_strided(x0) : rg_tensor_ref(x0);
    g_autoptr(rg_tensor) index = strided ? rg_test_strided(index0) : rg_tensor_ref(index0);
    g_autofree char *label = g_strdup_printf("%s%s", name, strided ? " strided" : "");
    static const char *const names[1] = {"dx"};
    /* out: a copy, exact; dx: float32 sums of the repeated positions (up to ~15 terms) vs float64 */
    static const rg_tol tol[2] = {{0, 0}, {1e-6, 1e-6}};
    ok &= rg_check_vjp_full(label, f_gather, index, &x, 1, out_ref, dout, &dx_ref, names, tol);
}

static rg_tensor *new_index(int64_t n, int64_t p, const int64_t *values)
{
    GError *error = NULL;
    int64_t shape[2] = {n, p};
    rg_tensor *t = rg_tensor_new_from_data(RG_DTYPE_I64, 2, shape, values, &error);
    rg_assert_no_error(error);
    return t;
}

static void gradchecks(void)
{
    const gboolean check[1] = {TRUE};
    int64_t sx[3] = {2, 3, 5};
    static const int64_t iv[14] = {4, 0, 0, 2, 2, 2, 1, 3, 3, 0, 4, 1, 1, 3};
    g_autoptr(rg_tensor) x = rg_test_random(1, 3, sx, -1, 1);
    g_autoptr(rg_tensor) index = new_index(2, 7, iv);
    /* linear: central differences exact up to float32 rounding */
    ok &= rg_gradcheck("gather (2,3,5) at (2,7)", f_gather, index, &x, 1, check, 1e-2, 1e-3, 1e-3, 30);
}

/* The OpenMP paths (above the size threshold) give the same bits on 1 and 2 threads. */
static void threads(void)
{
    int64_t sx[3] = {2, 64, 512};
    g_autoptr(rg_tensor) x = rg_test_random(5, 3, sx, -1, 1);
    int64_t *iv = g_new(int64_t, 2 * 700);
    for (int i = 0; i < 2 * 700; i++)
        iv[i] = (i * 7919) % 512;
    g_autoptr(rg_tensor) index = new_index(2, 700, iv);
    g_free(iv);
    const gboolean grad[1] = {TRUE};
    ok &= rg_check_thread_invariance("(2,64,512) at (2,700)", f_gather, index, &x, 1, grad);
}

static void bad_inputs(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int64_t sx[3] = {2, 3, 5}, s2[2] = {2, 3}, s1[1] = {3};
    g_autoptr(rg_tensor) x = rg_tensor_new(RG_DTYPE_F32, 3, sx, &error);
    g_autoptr(rg_tensor) x2 = rg_tensor_new(RG_DTYPE_F32, 2, s2, &error);
    g_autoptr(rg_tensor) if32 = rg_tensor_new(RG_DTYPE_F32, 2, s2, &error);
    g_autoptr(rg_tensor) ii32 = rg_tensor_new(RG_DTYPE_I32, 2, s2, &error);
    g_autoptr(rg_tensor) i1 = rg_tensor_new(RG_DTYPE_I64, 1, s1, &error);
    rg_assert_no_error(error);
    static const int64_t good[6] = {0, 1, 2, 3, 4, 0}, neg[6] = {0, 1, 2, 3, 4, -1}, big[6] = {0, 1, 5, 3, 4, 0},
                         three[9] = {0};
    g_autoptr(rg_tensor) i_ok = new_index(2, 3, good);
    g_autoptr(rg_tensor) i_neg = new_index(2, 3, neg);
    g_autoptr(rg_tensor) i_big = new_index(2, 3, big);
    g_autoptr(rg_tensor) i_n3 = new_index(3, 3, three);
    RG_EXPECT_ERROR_FULL(ok, "2-D x", rg_gather(ctx, x2, i_ok, &err_), RG_ERROR_SHAPE, "gather", "(2,3)");
    RG_EXPECT_ERROR_FULL(ok, "F32 index", rg_gather(ctx, x, if32, &err_), RG_ERROR_DTYPE, "gather", "F32");
    RG_EXPECT_ERROR_FULL(ok, "I32 index", rg_gather(ctx, x, ii32, &err_), RG_ERROR_DTYPE, "gather", "I32");
    RG_EXPECT_ERROR_FULL(ok, "1-D index", rg_gather(ctx, x, i1, &err_), RG_ERROR_SHAPE, "gather", "(3)");
    RG_EXPECT_ERROR_FULL(ok, "index batch 3 for x batch 2", rg_gather(ctx, x, i_n3, &err_), RG_ERROR_SHAPE, "gather",
                         "(3,3)");
    RG_EXPECT_ERROR_FULL(ok, "negative index", rg_gather(ctx, x, i_neg, &err_), RG_ERROR_ARGUMENT, "gather",
                         "index[1,2] = -1");
    RG_EXPECT_ERROR_FULL(ok, "index = L", rg_gather(ctx, x, i_big, &err_), RG_ERROR_ARGUMENT, "gather",
                         "index[0,2] = 5");
}

int main(void)
{
    g_autoptr(rg_safetensors) golden = rg_test_golden("gather");
    static const char *const cases[] = {"b2", "c40", "many", "big"};
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        parity(golden, cases[i], FALSE);
    parity(golden, "b2", TRUE);
    parity(golden, "many", TRUE);
    gradchecks();
    threads();
    bad_inputs();
    g_print("%s\n", ok ? "ALL OK" : "FAILURES");
    return ok ? 0 : 1;
}
