/* test_cosine.c — rg_cosine_similarity: parity with torch 1.13's
 * F.cosine_similarity (tests/reference/cosine.py) forward and both gradients,
 * zero and near-zero vectors included; strided inputs; one frozen input;
 * finite-difference gradient checks; 1 vs 2 threads; bad-input errors.
 * Exits non-zero on any failure.
 */
#include <math.h>
#include <string.h>

#include "rg_test.h"

static gboolean ok = TRUE;

/* Forward and backward of case @name; gradients of b only when !frozen_b. */
static void parity(rg_safetensors *golden, const char *name, gboolean strided, gboolean frozen_b, double atol_grad,
                   double rtol_grad)
{
    GError *error = NULL;
    g_autoptr(rg_tensor) a0 = rg_test_load(golden, name, "a");
    g_autoptr(rg_tensor) b0 = rg_test_load(golden, name, "b");
    g_autoptr(rg_tensor) out_ref = rg_test_load(golden, name, "out");
    g_autoptr(rg_tensor) dout = rg_test_load(golden, name, "dout");
    g_autoptr(rg_tensor) da_ref = rg_test_load(golden, name, "da");
    g_autoptr(rg_tensor) db_ref = rg_test_load(golden, name, "db");
    g_autoptr(rg_tensor) eps = rg_test_load(golden, name, "eps");
    g_autoptr(rg_tensor) a = strided ? rg_test_strided(a0) : rg_tensor_ref(a0);
    g_autoptr(rg_tensor) b = strided ? rg_test_strided(b0) : rg_tensor_ref(b0);
    rg_tensor_set_requires_grad(a, TRUE);
    rg_tensor_set_requires_grad(b, !frozen_b);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) y = rg_cosine_similarity(ctx, a, b, (float)rg_tensor_get_flat(eps, 0), &error);
    rg_assert_no_error(error);
    rg_ctx_set_tape(ctx, NULL);
    if (!rg_tape_backward_with(ctx, tape, 1, &y, &dout, &error))
        g_error("%s: backward: %s", name, error->message);

    const char *tag = strided ? " strided" : frozen_b ? " frozen b" : "";
    g_autofree char *lo = g_strdup_printf("%s%s out", name, tag);
    g_autofree char *la = g_strdup_printf("%s%s da", name, tag);
    g_autofree char *lb = g_strdup_printf("%s%s db", name, tag);
    /* sums in double, one rounding to float32 at the end; |out| <= 1 */
    ok &= rg_check_tensor(lo, y, out_ref, 2e-7, 2e-6);
    ok &= rg_check_tensor(la, rg_tensor_get_grad(a), da_ref, atol_grad, rtol_grad);
    if (frozen_b) {
        gboolean none = rg_tensor_get_grad(b) == NULL;
        g_print("%s %s: frozen b receives no gradient\n", none ? "OK" : "NOT OK", name);
        ok &= none;
    } else {
        ok &= rg_check_tensor(lb, rg_tensor_get_grad(b), db_ref, atol_grad, rtol_grad);
    }
}

static rg_tensor *f_cosine(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    return rg_cosine_similarity(ctx, in[0], in[1], *(const float *)user_data, error);
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
    GError *error = NULL;
    int64_t shape[4] = {2, 64, 40, 40}, oshape[3] = {2, 40, 40};
    g_autoptr(rg_tensor) a = rg_test_random(5, 4, shape, -1, 1);
    g_autoptr(rg_tensor) b = rg_test_random(6, 4, shape, -1, 1);
    g_autoptr(rg_tensor) g = rg_test_random(7, 3, oshape, -1, 1);
    rg_tensor *res[2][3];
    int saved = rg_get_num_threads();
    for (int k = 0; k < 2; k++) {
        rg_set_num_threads(k + 1);
        rg_tensor_set_requires_grad(a, TRUE);
        rg_tensor_set_requires_grad(b, TRUE);
        g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
        g_autoptr(rg_tape) tape = rg_tape_new();
        rg_ctx_set_tape(ctx, tape);
        res[k][0] = rg_cosine_similarity(ctx, a, b, 1e-8f, &error);
        rg_assert_no_error(error);
        rg_ctx_set_tape(ctx, NULL);
        if (!rg_tape_backward_with(ctx, tape, 1, &res[k][0], &g, &error))
            g_error("threads: backward: %s", error->message);
        res[k][1] = rg_tensor_ref(rg_tensor_get_grad(a));
        res[k][2] = rg_tensor_ref(rg_tensor_get_grad(b));
        rg_tensor_zero_grad(a);
        rg_tensor_zero_grad(b);
    }
    rg_set_num_threads(saved);
    static const char *const what[3] = {"out", "da", "db"};
    for (int i = 0; i < 3; i++) {
        g_autofree char *label = g_strdup_printf("(2,64,40,40) 2 threads = 1 thread: %s", what[i]);
        ok &= rg_check_tensor(label, res[1][i], res[0][i], 0, 0);
        rg_tensor_unref(res[0][i]);
        rg_tensor_unref(res[1][i]);
    }
}

static void expect_error(const char *label, rg_tensor *result, GError *error, int code)
{
    if (result || !error || error->domain != RG_ERROR || error->code != code ||
        !strstr(error->message, "cosine_similarity")) {
        g_print("NOT OK error %s: got %s (code %d, expected %d)\n", label, error ? error->message : "no error",
                error ? error->code : -1, code);
        ok = FALSE;
    } else {
        g_print("OK error %s: %s\n", label, error->message);
    }
    if (result)
        rg_tensor_unref(result);
    g_clear_error(&error);
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
    rg_tensor *r;
    r = rg_cosine_similarity(ctx, a, b, 1e-8f, &error);
    expect_error("shapes differ", r, error, RG_ERROR_SHAPE);
    error = NULL;
    r = rg_cosine_similarity(ctx, v, v, 1e-8f, &error);
    expect_error("1-D inputs", r, error, RG_ERROR_SHAPE);
    error = NULL;
    r = rg_cosine_similarity(ctx, ai, a, 1e-8f, &error);
    expect_error("I64 a", r, error, RG_ERROR_DTYPE);
    error = NULL;
    r = rg_cosine_similarity(ctx, a, ai, 1e-8f, &error);
    expect_error("I64 b", r, error, RG_ERROR_DTYPE);
    error = NULL;
    r = rg_cosine_similarity(ctx, a, a, -1.0f, &error);
    expect_error("negative eps", r, error, RG_ERROR_ARGUMENT);
    error = NULL;
    r = rg_cosine_similarity(ctx, a, a, NAN, &error);
    expect_error("NaN eps", r, error, RG_ERROR_ARGUMENT);
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
