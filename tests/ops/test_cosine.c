/* test_cosine.c — rg_cosine_similarity: parity with torch 1.13's
 * F.cosine_similarity (tests/reference/cosine.py) forward and both gradients,
 * zero and near-zero vectors included; strided inputs; one frozen input;
 * finite-difference gradient checks; 1 vs 2 threads; bad-input errors.
 * Exits non-zero on any failure.
 */
#include <math.h>

#include "rg_test.h"

static gboolean ok = TRUE;

static rg_tensor *f_cosine(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    return rg_cosine_similarity(ctx, in[0], in[1], *(const float *)user_data, error);
}

/* Forward and backward of case @name; gradients of b only when !frozen_b. */
static void parity(rg_safetensors *golden, const char *name, gboolean strided, gboolean frozen_b, double atol_grad,
                   double rtol_grad)
{
    g_autoptr(rg_tensor) a0 = rg_test_load(golden, name, "a");
    g_autoptr(rg_tensor) b0 = rg_test_load(golden, name, "b");
    g_autoptr(rg_tensor) out_ref = rg_test_load(golden, name, "out");
    g_autoptr(rg_tensor) dout = rg_test_load(golden, name, "dout");
    g_autoptr(rg_tensor) da_ref = rg_test_load(golden, name, "da");
    g_autoptr(rg_tensor) db_ref = rg_test_load(golden, name, "db");
    g_autoptr(rg_tensor) eps = rg_test_load(golden, name, "eps");
    g_autoptr(rg_tensor) a = strided ? rg_test_strided(a0) : rg_tensor_ref(a0);
    g_autoptr(rg_tensor) b = strided ? rg_test_strided(b0) : rg_tensor_ref(b0);
    float e = (float)rg_tensor_get_flat(eps, 0);
    g_autofree char *label = g_strdup_printf("%s%s", name, strided ? " strided" : frozen_b ? " frozen b" : "");
    rg_tensor *in[2] = {a, b}, *din_refs[2] = {da_ref, frozen_b ? NULL : db_ref};
    static const char *const names[2] = {"da", "db"};
    /* out: sums in double, one rounding to float32 at the end; |out| <= 1 */
    const rg_tol tol[3] = {{2e-7, 2e-6}, {atol_grad, rtol_grad}, {atol_grad, rtol_grad}};
    ok &= rg_check_vjp_full(label, f_cosine, &e, in, 2, out_ref, dout, din_refs, names, tol);
}

/* Only away from the clamp: where |a| < eps torch's gradient (clamp without
 * grad) is on purpose not the derivative of the forward; the golden "tiny"
 * case covers that regime. */
static void gradchecks(void)
{
    const gboolean check[2] = {TRUE, TRUE};
    static const float eps = 1e-8f;
    int64_t s4[4] = {2, 3, 2, 3}, s2[2] = {3, 5};
    rg_tensor *in4[2] = {rg_test_random(1, 4, s4, -1, 1), rg_test_random(2, 4, s4, -1, 1)};
    rg_tensor *in2[2] = {rg_test_random(3, 2, s2, -1, 1), rg_test_random(4, 2, s2, -1, 1)};
    /* smooth; float32 outputs over 2 eps = 2e-3: ~1e-4 of rounding noise */
    ok &= rg_gradcheck("cosine (2,3,2,3)", f_cosine, (gpointer)&eps, in4, 2, check, 1e-3, 1e-3, 1e-2, 36);
    ok &= rg_gradcheck("cosine (3,5)", f_cosine, (gpointer)&eps, in2, 2, check, 1e-3, 1e-3, 1e-2, 15);
    for (int i = 0; i < 2; i++) {
        rg_tensor_unref(in4[i]);
        rg_tensor_unref(in2[i]);
    }
}

/* The OpenMP paths (above the size threshold) give the same bits on 1 and 2 threads. */
static void threads(void)
{
    int64_t shape[4] = {2, 64, 40, 40};
    static const float eps = 1e-8f;
    rg_tensor *in[2] = {rg_test_random(5, 4, shape, -1, 1), rg_test_random(6, 4, shape, -1, 1)};
    const gboolean grad[2] = {TRUE, TRUE};
    ok &= rg_check_thread_invariance("(2,64,40,40)", f_cosine, (gpointer)&eps, in, 2, grad);
    rg_tensor_unref(in[0]);
    rg_tensor_unref(in[1]);
}

static void bad_inputs(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int64_t s1[3] = {2, 3, 4}, s2[3] = {2, 3, 5}, s3[1] = {4};
    g_autoptr(rg_tensor) a = rg_tensor_new(RG_DTYPE_F32, 3, s1, &error);
    g_autoptr(rg_tensor) b = rg_tensor_new(RG_DTYPE_F32, 3, s2, &error);
    g_autoptr(rg_tensor) v = rg_tensor_new(RG_DTYPE_F32, 1, s3, &error);
    g_autoptr(rg_tensor) ai = rg_tensor_new(RG_DTYPE_I64, 3, s1, &error);
    rg_assert_no_error(error);
    const char *op = "cosine_similarity";
    RG_EXPECT_ERROR_FULL(ok, "shapes differ", rg_cosine_similarity(ctx, a, b, 1e-8f, &err_), RG_ERROR_SHAPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "1-D inputs", rg_cosine_similarity(ctx, v, v, 1e-8f, &err_), RG_ERROR_SHAPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "I64 a", rg_cosine_similarity(ctx, ai, a, 1e-8f, &err_), RG_ERROR_DTYPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "I64 b", rg_cosine_similarity(ctx, a, ai, 1e-8f, &err_), RG_ERROR_DTYPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "negative eps", rg_cosine_similarity(ctx, a, a, -1.0f, &err_), RG_ERROR_ARGUMENT, op,
                         NULL);
    RG_EXPECT_ERROR_FULL(ok, "NaN eps", rg_cosine_similarity(ctx, a, a, NAN, &err_), RG_ERROR_ARGUMENT, op, NULL);
}

int main(void)
{
    g_autoptr(rg_safetensors) golden = rg_test_golden("cosine");
    /* gradients: float32 coefficients times float32 inputs, two terms that may
     * cancel, |terms| ~ 1 / |a| */
    parity(golden, "c3", FALSE, FALSE, 1e-6, 1e-5);
    parity(golden, "c40", FALSE, FALSE, 1e-6, 1e-5);
    parity(golden, "vec", FALSE, FALSE, 1e-6, 1e-5);
    parity(golden, "p300", FALSE, FALSE, 1e-6, 1e-5);
    /* near zero the gradients reach ~1e3 (1 / eps): same relative accuracy */
    parity(golden, "tiny", FALSE, FALSE, 1e-4, 1e-5);
    parity(golden, "c3", TRUE, FALSE, 1e-6, 1e-5);
    parity(golden, "c40", FALSE, TRUE, 1e-6, 1e-5);
    gradchecks();
    threads();
    bad_inputs();
    g_print("%s\n", ok ? "ALL OK" : "FAILURES");
    return ok ? 0 : 1;
}
