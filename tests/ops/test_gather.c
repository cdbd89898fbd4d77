/* test_gather.c — rg_gather: parity with torch.gather (tests/reference/
 * gather.py) forward and the gradient of x, repeated indices included;
 * strided x and index; finite-difference gradient checks; 1 vs 2 threads;
 * bad-input errors (shapes, dtypes, out-of-range indices). Exits non-zero on
 * any failure.
 */
#include <string.h>

#include "rg_test.h"

static gboolean ok = TRUE;

static void parity(rg_safetensors *golden, const char *name, gboolean strided)
{
    GError *error = NULL;
    g_autoptr(rg_tensor) x0 = rg_test_load(golden, name, "x");
    g_autoptr(rg_tensor) index0 = rg_test_load(golden, name, "index");
    g_autoptr(rg_tensor) out_ref = rg_test_load(golden, name, "out");
    g_autoptr(rg_tensor) dout = rg_test_load(golden, name, "dout");
    g_autoptr(rg_tensor) dx_ref = rg_test_load(golden, name, "dx");
    g_autoptr(rg_tensor) x = strided ? rg_test_strided(x0) : rg_tensor_ref(x0);
    g_autoptr(rg_tensor) index = strided ? rg_test_strided(index0) : rg_tensor_ref(index0);
    rg_tensor_set_requires_grad(x, TRUE);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) y = rg_gather(ctx, x, index, &error);
    rg_assert_no_error(error);
    rg_ctx_set_tape(ctx, NULL);
    if (!rg_tape_backward_with(ctx, tape, 1, &y, &dout, &error))
        g_error("%s: backward: %s", name, error->message);
    g_autofree char *lo = g_strdup_printf("%s%s out", name, strided ? " strided" : "");
    g_autofree char *ld = g_strdup_printf("%s%s dx", name, strided ? " strided" : "");
    /* a copy: exact */
    ok &= rg_check_tensor(lo, y, out_ref, 0, 0);
    /* float32 sums of the repeated positions (up to ~15 terms) vs float64 */
    ok &= rg_check_tensor(ld, rg_tensor_get_grad(x), dx_ref, 1e-6, 1e-6);
}

static rg_tensor *f_gather(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    return rg_gather(ctx, in[0], user_data, error);
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
    GError *error = NULL;
    int64_t sx[3] = {2, 64, 512}, sg[3] = {2, 64, 700};
    g_autoptr(rg_tensor) x = rg_test_random(5, 3, sx, -1, 1);
    g_autoptr(rg_tensor) g = rg_test_random(6, 3, sg, -1, 1);
    int64_t *iv = g_new(int64_t, 2 * 700);
    for (int i = 0; i < 2 * 700; i++)
        iv[i] = (i * 7919) % 512;
    g_autoptr(rg_tensor) index = new_index(2, 700, iv);
    g_free(iv);
    rg_tensor *res[2][2];
    int saved = rg_get_num_threads();
    for (int k = 0; k < 2; k++) {
        rg_set_num_threads(k + 1);
        rg_tensor_set_requires_grad(x, TRUE);
        g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
        g_autoptr(rg_tape) tape = rg_tape_new();
        rg_ctx_set_tape(ctx, tape);
        res[k][0] = rg_gather(ctx, x, index, &error);
        rg_assert_no_error(error);
        rg_ctx_set_tape(ctx, NULL);
        if (!rg_tape_backward_with(ctx, tape, 1, &res[k][0], &g, &error))
            g_error("threads: backward: %s", error->message);
        res[k][1] = rg_tensor_ref(rg_tensor_get_grad(x));
        rg_tensor_zero_grad(x);
    }
    rg_set_num_threads(saved);
    static const char *const what[2] = {"out", "dx"};
    for (int i = 0; i < 2; i++) {
        g_autofree char *label = g_strdup_printf("(2,64,512) at (2,700) 2 threads = 1 thread: %s", what[i]);
        ok &= rg_check_tensor(label, res[1][i], res[0][i], 0, 0);
        rg_tensor_unref(res[0][i]);
        rg_tensor_unref(res[1][i]);
    }
}

/* Expects failure with @code and a message naming the op and containing @needle. */
static void expect_error(const char *label, rg_tensor *result, GError *error, int code, const char *needle)
{
    if (result || !error || error->domain != RG_ERROR || error->code != code || !strstr(error->message, "gather") ||
        !strstr(error->message, needle)) {
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
    rg_tensor *r;
    r = rg_gather(ctx, x2, i_ok, &error);
    expect_error("2-D x", r, error, RG_ERROR_SHAPE, "(2,3)");
    error = NULL;
    r = rg_gather(ctx, x, if32, &error);
    expect_error("F32 index", r, error, RG_ERROR_DTYPE, "F32");
    error = NULL;
    r = rg_gather(ctx, x, ii32, &error);
    expect_error("I32 index", r, error, RG_ERROR_DTYPE, "I32");
    error = NULL;
    r = rg_gather(ctx, x, i1, &error);
    expect_error("1-D index", r, error, RG_ERROR_SHAPE, "(3)");
    error = NULL;
    r = rg_gather(ctx, x, i_n3, &error);
    expect_error("index batch 3 for x batch 2", r, error, RG_ERROR_SHAPE, "(3,3)");
    error = NULL;
    r = rg_gather(ctx, x, i_neg, &error);
    expect_error("negative index", r, error, RG_ERROR_ARGUMENT, "index[1,2] = -1");
    error = NULL;
    r = rg_gather(ctx, x, i_big, &error);
    expect_error("index = L", r, error, RG_ERROR_ARGUMENT, "index[0,2] = 5");
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
