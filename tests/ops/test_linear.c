/* test_linear.c — rg_linear and rg_matmul: parity with PyTorch
 * (tests/reference/linear.py) for the output and every gradient, frozen
 * weights, non-contiguous arguments, finite differences, bad input.
 *
 * Tolerances: the golden tensors are float64 results rounded to f32; ours
 * accumulate in f32 over K <= 40 terms of size ~1, so errors stay ~1e-6.
 * Weight and bias gradients sum over up to 90 rows and reach ~20, hence a
 * larger atol for them.
 */
#include "ops/linear.h"
#include "rg_test.h"

/* f32 accumulation over K <= 40 products of O(1) values */
#define ATOL 1e-5
#define RTOL 1e-5
/* sums over up to 90 rows, magnitude up to ~20 */
#define ATOL_SUM 1e-4

static gboolean check(const char *c, const char *what, rg_tensor *got, rg_tensor *ref, double atol)
{
    g_autofree char *label = g_strdup_printf("%s %s", c, what);
    return rg_check_tensor(label, got, ref, atol, RTOL);
}

static rg_tensor *f_linear(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    (void)user_data;
    return rg_linear(ctx, in[0], in[1], in[2], error);
}

static gboolean parity_linear(rg_safetensors *g, const char *name, gboolean has_bias)
{
    g_autoptr(rg_tensor) x = rg_test_load(g, name, "inp");
    g_autoptr(rg_tensor) w = rg_test_load(g, name, "weight");
    g_autoptr(rg_tensor) b = has_bias ? rg_test_load(g, name, "bias") : NULL;
    g_autoptr(rg_tensor) out_ref = rg_test_load(g, name, "out");
    g_autoptr(rg_tensor) dout = rg_test_load(g, name, "dout");
    g_autoptr(rg_tensor) dx_ref = rg_test_load(g, name, "dinp");
    g_autoptr(rg_tensor) dw_ref = rg_test_load(g, name, "dweight");
    g_autoptr(rg_tensor) db_ref = has_bias ? rg_test_load(g, name, "dbias") : NULL;
    rg_tensor *in[3] = {x, w, b}, *din_refs[3] = {dx_ref, dw_ref, db_ref};
    static const char *const names[3] = {"dinp", "dweight", "dbias"};
    static const rg_tol tol[4] = {{ATOL, RTOL}, {ATOL, RTOL}, {ATOL_SUM, RTOL}, {ATOL_SUM, RTOL}};
    return rg_check_vjp_full(name, f_linear, NULL, in, 3, out_ref, dout, din_refs, names, tol);
}

/* Frozen weight: only dx, and the activation is not kept for backward. */
static gboolean frozen_linear(rg_safetensors *g)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    g_autoptr(rg_tensor) x = rg_test_load(g, "lin4", "inp");
    g_autoptr(rg_tensor) w = rg_test_load(g, "lin4", "weight");
    g_autoptr(rg_tensor) b = rg_test_load(g, "lin4", "bias");
    g_autoptr(rg_tensor) dout = rg_test_load(g, "lin4", "dout");
    g_autoptr(rg_tensor) dx_ref = rg_test_load(g, "lin4", "dinp");
    rg_tensor_set_requires_grad(x, TRUE);
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) y = rg_linear(ctx, x, w, b, &error);
    rg_assert_no_error(error);
    rg_ctx_set_tape(ctx, NULL);
    gboolean ok = y->node && y->node->saved[0] == NULL && y->node->saved[1] != NULL;
    g_print("%s frozen linear: input not saved, weight saved\n", ok ? "OK" : "NOT OK");
    if (!rg_tape_backward_with(ctx, tape, 1, &y, &dout, &error))
        g_error("frozen: backward failed: %s", error->message);
    ok &= check("frozen", "dinp", rg_tensor_get_grad(x), dx_ref, ATOL);
    gboolean none = rg_tensor_get_grad(w) == NULL && rg_tensor_get_grad(b) == NULL;
    g_print("%s frozen linear: no weight or bias gradient\n", none ? "OK" : "NOT OK");
    return ok && none;
}

typedef struct {
    gboolean ta, tb;
} mm_args;

static rg_tensor *f_matmul(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    const mm_args *a = user_data;
    return rg_matmul(ctx, in[0], in[1], a->ta, a->tb, error);
}

static gboolean parity_matmul(rg_safetensors *g)
{
    gboolean ok = TRUE;
    const char *names[5] = {"mm00", "mm01", "mm10", "mm11", "mm2d"};
    mm_args args[5] = {{FALSE, FALSE}, {FALSE, TRUE}, {TRUE, FALSE}, {TRUE, TRUE}, {FALSE, TRUE}};
    for (int i = 0; i < 5; i++) {
        rg_tensor *in[2] = {rg_test_load(g, names[i], "a"), rg_test_load(g, names[i], "b")};
        rg_tensor *dref[2] = {rg_test_load(g, names[i], "da"), rg_test_load(g, names[i], "db")};
        g_autoptr(rg_tensor) out = rg_test_load(g, names[i], "out");
        g_autoptr(rg_tensor) dout = rg_test_load(g, names[i], "dout");
        /* K <= 20 products of O(1) values: f32 accumulation only */
        ok &= rg_check_vjp(names[i], f_matmul, &args[i], in, 2, out, dout, dref, ATOL, RTOL);
        for (int j = 0; j < 2; j++) {
            rg_tensor_unref(in[j]);
            rg_tensor_unref(dref[j]);
        }
    }
    return ok;
}

/* Transposed views (non-contiguous) of mm00's operands, used with the flags
 * that undo the transposition: same results as mm00. */
static gboolean matmul_views(rg_safetensors *g)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tensor) a = rg_test_load(g, "mm00", "a"); // (B, M, K)
    g_autoptr(rg_tensor) b = rg_test_load(g, "mm00", "b"); // (B, K, N)
    g_autoptr(rg_tensor) out = rg_test_load(g, "mm00", "out");
    const int64_t *as = rg_tensor_shape(a), *ast = rg_tensor_strides(a);
    int64_t tshape[3] = {as[0], as[2], as[1]}, tstrides[3] = {ast[0], ast[2], ast[1]};
    g_autoptr(rg_tensor) at = rg_tensor_view(a, 3, tshape, tstrides, 0); // (B, K, M), strided
    g_autoptr(rg_tensor) y = rg_matmul(ctx, at, b, TRUE, FALSE, &error);
    rg_assert_no_error(error);
    return check("mm strided", "out", y, out, ATOL);
}

/* ---- finite differences ----------------------------------------------------- */

static gboolean gradients(void)
{
    gboolean ok = TRUE, all[3] = {TRUE, TRUE, TRUE};
    /* linear in each input: differences are exact but for f32 rounding of the outputs */
    int64_t sx[3] = {2, 3, 5}, sw[2] = {4, 5}, sb[1] = {4};
    rg_tensor *lin[3] = {rg_test_random(1, 3, sx, -1, 1), rg_test_random(2, 2, sw, -1, 1),
                         rg_test_random(3, 1, sb, -1, 1)};
    ok &= rg_gradcheck("linear", f_linear, NULL, lin, 3, all, 1e-2, 1e-3, 1e-3, 40);
    for (int i = 0; i < 3; i++)
        rg_tensor_unref(lin[i]);
    int64_t B = 2, M = 3, K = 4, N = 5;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int64_t sa[3] = {B, ta ? K : M, ta ? M : K}, sbb[3] = {B, tb ? N : K, tb ? K : N};
            rg_tensor *in[2] = {rg_test_random(4 + ta, 3, sa, -1, 1), rg_test_random(6 + tb, 3, sbb, -1, 1)};
            mm_args args = {ta, tb};
            g_autofree char *label = g_strdup_printf("matmul ta=%d tb=%d", ta, tb);
            ok &= rg_gradcheck(label, f_matmul, &args, in, 2, all, 1e-2, 1e-3, 1e-3, 40);
            rg_tensor_unref(in[0]);
            rg_tensor_unref(in[1]);
        }
    int64_t s2a[2] = {3, 4}, s2b[2] = {4, 2};
    rg_tensor *in2[2] = {rg_test_random(8, 2, s2a, -1, 1), rg_test_random(9, 2, s2b, -1, 1)};
    mm_args plain = {FALSE, FALSE};
    ok &= rg_gradcheck("matmul 2-D", f_matmul, &plain, in2, 2, all, 1e-2, 1e-3, 1e-3, 40);
    rg_tensor_unref(in2[0]);
    rg_tensor_unref(in2[1]);
    return ok;
}

/* ---- errors ----------------------------------------------------------------- */

static gboolean errors(void)
{
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, NULL);
    int64_t sx[3] = {2, 3, 5}, sw[2] = {4, 5}, sw6[2] = {4, 6}, sw3[3] = {1, 4, 5}, sb[1] = {4};
    int64_t sb3[1] = {3};
    int64_t sa[3] = {2, 3, 4}, sbm[3] = {2, 4, 5}, sbm3[3] = {3, 4, 5}, sbk[3] = {2, 6, 5}, s2[2] = {4, 5};
    int64_t s4[4] = {1, 2, 3, 4};
    g_autoptr(rg_tensor) x = rg_test_random(1, 3, sx, -1, 1);
    g_autoptr(rg_tensor) xi = rg_tensor_new(RG_DTYPE_I64, 3, sx, NULL);
    g_autoptr(rg_tensor) w = rg_test_random(2, 2, sw, -1, 1);
    g_autoptr(rg_tensor) w6 = rg_test_random(2, 2, sw6, -1, 1);
    g_autoptr(rg_tensor) w3 = rg_test_random(2, 3, sw3, -1, 1);
    g_autoptr(rg_tensor) b = rg_test_random(3, 1, sb, -1, 1);
    g_autoptr(rg_tensor) b3 = rg_test_random(3, 1, sb3, -1, 1);
    g_autoptr(rg_tensor) a = rg_test_random(4, 3, sa, -1, 1);
    g_autoptr(rg_tensor) ai = rg_tensor_new(RG_DTYPE_I32, 3, sa, NULL);
    g_autoptr(rg_tensor) bm = rg_test_random(5, 3, sbm, -1, 1);
    g_autoptr(rg_tensor) bm3 = rg_test_random(5, 3, sbm3, -1, 1);
    g_autoptr(rg_tensor) bk = rg_test_random(5, 3, sbk, -1, 1);
    g_autoptr(rg_tensor) m2 = rg_test_random(6, 2, s2, -1, 1);
    g_autoptr(rg_tensor) m4 = rg_test_random(6, 4, s4, -1, 1);
    gboolean ok = TRUE;
    RG_EXPECT_ERROR(ok, "linear K", rg_linear(ctx, x, w6, b, &err_), RG_ERROR_SHAPE, "linear");
    RG_EXPECT_ERROR(ok, "linear weight rank", rg_linear(ctx, x, w3, b, &err_), RG_ERROR_SHAPE, "linear");
    RG_EXPECT_ERROR(ok, "linear bias length", rg_linear(ctx, x, w, b3, &err_), RG_ERROR_SHAPE, "linear");
    RG_EXPECT_ERROR(ok, "linear I64 input", rg_linear(ctx, xi, w, b, &err_), RG_ERROR_DTYPE, "linear");
    RG_EXPECT_ERROR(ok, "linear no weight", rg_linear(ctx, x, NULL, b, &err_), RG_ERROR_ARGUMENT, "linear");
    RG_EXPECT_ERROR(ok, "matmul inner", rg_matmul(ctx, a, bk, FALSE, FALSE, &err_), RG_ERROR_SHAPE, "matmul");
    RG_EXPECT_ERROR(ok, "matmul inner (transposed)", rg_matmul(ctx, a, bm, TRUE, FALSE, &err_), RG_ERROR_SHAPE,
                    "matmul");
    RG_EXPECT_ERROR(ok, "matmul batch", rg_matmul(ctx, a, bm3, FALSE, FALSE, &err_), RG_ERROR_SHAPE, "matmul");
    RG_EXPECT_ERROR(ok, "matmul rank mismatch", rg_matmul(ctx, a, m2, FALSE, FALSE, &err_), RG_ERROR_SHAPE, "matmul");
    RG_EXPECT_ERROR(ok, "matmul 4-D", rg_matmul(ctx, m4, m4, FALSE, FALSE, &err_), RG_ERROR_SHAPE, "matmul");
    RG_EXPECT_ERROR(ok, "matmul I32", rg_matmul(ctx, ai, bm, FALSE, FALSE, &err_), RG_ERROR_DTYPE, "matmul");
    RG_EXPECT_ERROR(ok, "matmul missing", rg_matmul(ctx, a, NULL, FALSE, FALSE, &err_), RG_ERROR_ARGUMENT, "matmul");
    return ok;
}

int main(void)
{
    g_autoptr(rg_safetensors) g = rg_test_golden("linear");
    gboolean ok = parity_linear(g, "lin2", TRUE);
    ok &= parity_linear(g, "lin3", FALSE);
    ok &= parity_linear(g, "lin4", TRUE);
    ok &= frozen_linear(g);
    ok &= parity_matmul(g);
    ok &= matmul_views(g);
    ok &= gradients();
    ok &= errors();
    g_print("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
