/* test_resize.c — rg_upsample_nearest2x and rg_resize_bilinear: parity with
 * PyTorch (tests/reference/resize.py) forward and input gradient, on
 * contiguous and strided inputs; finite-difference gradient checks; errors
 * for bad input. Exits non-zero on any failure.
 */
#include "rg_test.h"

static gboolean ok = TRUE;

static rg_tensor *f_nearest(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    (void)user_data;
    return rg_upsample_nearest2x(ctx, in[0], error);
}

static rg_tensor *f_bilinear(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    const int64_t *size = user_data;
    return rg_resize_bilinear(ctx, in[0], size[0], size[1], error);
}

/* Forward and backward of case @name against the golden tensors. */
static void parity(rg_safetensors *golden, const char *name, gboolean nearest, gboolean strided)
{
    g_autoptr(rg_tensor) inp = rg_test_load(golden, name, "inp");
    g_autoptr(rg_tensor) out_ref = rg_test_load(golden, name, "out");
    g_autoptr(rg_tensor) dout = rg_test_load(golden, name, "dout");
    g_autoptr(rg_tensor) dinp_ref = rg_test_load(golden, name, "dinp");
    g_autoptr(rg_tensor) x = strided ? rg_test_strided(inp) : rg_tensor_ref(inp);
    g_autofree char *label = g_strdup_printf("%s%s", name, strided ? " strided" : "");
    static const char *const names[1] = {"dinp"};
    /* nearest: a copy, exact; dinp sums 4 float32 terms (|term| < 5) vs float64 */
    static const rg_tol tol_nearest[2] = {{0, 0}, {2e-6, 1e-6}};
    /* bilinear: a float32 blend of 4 taps with float32 weights, |x| < 5; dinp
     * sums up to ~600 weighted terms in float32 (16x upscale) */
    static const rg_tol tol_bilinear[2] = {{2e-6, 1e-5}, {1e-5, 1e-5}};
    if (nearest)
        ok &= rg_check_vjp_full(label, f_nearest, NULL, &x, 1, out_ref, dout, &dinp_ref, names, tol_nearest);
    else
        ok &= rg_check_vjp_full(label, f_bilinear, &out_ref->shape[2], &x, 1, out_ref, dout, &dinp_ref, names,
                                tol_bilinear);
}

static void gradchecks(void)
{
    const gboolean check[1] = {TRUE};
    int64_t s1[4] = {2, 2, 3, 4};
    g_autoptr(rg_tensor) x1 = rg_test_random(1, 4, s1, -1, 1);
    /* linear maps: central differences are exact up to float32 rounding of the outputs */
    ok &= rg_gradcheck("nearest2x (2,2,3,4)", f_nearest, NULL, &x1, 1, check, 1e-2, 1e-3, 1e-3, 48);
    static const int64_t sizes[][2] = {{5, 3}, {2, 7}, {3, 4}, {1, 1}};
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        g_autofree char *label =
            g_strdup_printf("bilinear (2,2,3,4)->%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT, sizes[i][0], sizes[i][1]);
        ok &= rg_gradcheck(label, f_bilinear, (gpointer)sizes[i], &x1, 1, check, 1e-2, 1e-3, 1e-3, 48);
    }
}

/* The OpenMP paths give the same bits on 1 and 2 threads (size @oh x @ow; 0 = nearest 2x). */
static void threads(const int64_t *shape, int64_t oh, int64_t ow)
{
    g_autoptr(rg_tensor) x = rg_test_random(5, 4, shape, -1, 1);
    const int64_t size[2] = {oh, ow};
    const gboolean grad[1] = {TRUE};
    g_autofree char *sx = rg_tensor_shape_string(x);
    g_autofree char *label = oh ? g_strdup_printf("bilinear %s->%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT, sx, oh, ow)
                                : g_strdup_printf("nearest %s", sx);
    ok &= rg_check_thread_invariance(label, oh ? f_bilinear : f_nearest, (gpointer)size, &x, 1, grad);
}

static void bad_inputs(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int64_t s3[3] = {2, 3, 4}, s4[4] = {1, 2, 3, 4}, s0[4] = {1, 2, 0, 4};
    g_autoptr(rg_tensor) x3 = rg_tensor_new(RG_DTYPE_F32, 3, s3, &error);
    g_autoptr(rg_tensor) xi = rg_tensor_new(RG_DTYPE_I64, 4, s4, &error);
    g_autoptr(rg_tensor) x4 = rg_tensor_new(RG_DTYPE_F32, 4, s4, &error);
    g_autoptr(rg_tensor) x0 = rg_tensor_new(RG_DTYPE_F32, 4, s0, &error);
    rg_assert_no_error(error);
    const char *near = "upsample_nearest2x", *bil = "resize_bilinear";
    RG_EXPECT_ERROR_FULL(ok, "nearest 3-D input", rg_upsample_nearest2x(ctx, x3, &err_), RG_ERROR_SHAPE, near, NULL);
    RG_EXPECT_ERROR_FULL(ok, "nearest I64 input", rg_upsample_nearest2x(ctx, xi, &err_), RG_ERROR_DTYPE, near, NULL);
    RG_EXPECT_ERROR_FULL(ok, "bilinear 3-D input", rg_resize_bilinear(ctx, x3, 4, 4, &err_), RG_ERROR_SHAPE, bil, NULL);
    RG_EXPECT_ERROR_FULL(ok, "bilinear I64 input", rg_resize_bilinear(ctx, xi, 4, 4, &err_), RG_ERROR_DTYPE, bil, NULL);
    RG_EXPECT_ERROR_FULL(ok, "bilinear zero height", rg_resize_bilinear(ctx, x4, 0, 4, &err_), RG_ERROR_ARGUMENT, bil,
                         NULL);
    RG_EXPECT_ERROR_FULL(ok, "bilinear negative width", rg_resize_bilinear(ctx, x4, 4, -3, &err_), RG_ERROR_ARGUMENT,
                         bil, NULL);
    RG_EXPECT_ERROR_FULL(ok, "bilinear huge height", rg_resize_bilinear(ctx, x4, INT64_C(1) << 40, 4, &err_),
                         RG_ERROR_ARGUMENT, bil, NULL);
    RG_EXPECT_ERROR_FULL(ok, "bilinear empty input image", rg_resize_bilinear(ctx, x0, 4, 4, &err_), RG_ERROR_SHAPE,
                         bil, NULL);
    /* an empty image is fine for nearest: an empty result */
    rg_tensor *r = rg_upsample_nearest2x(ctx, x0, &error);
    rg_assert_no_error(error);
    if (!r || rg_tensor_shape(r)[2] != 0 || rg_tensor_shape(r)[3] != 8) {
        g_print("NOT OK nearest of an empty image\n");
        ok = FALSE;
    } else {
        g_print("OK nearest of an empty image\n");
    }
    g_clear_pointer(&r, rg_tensor_unref);
}

int main(void)
{
    g_autoptr(rg_safetensors) golden = rg_test_golden("resize");
    static const char *const nearest[] = {"nearest_b2", "nearest_c40"};
    static const char *const bilinear[] = {
        "bilinear_up",     "bilinear_down",        "bilinear_up16",     "bilinear_same_h",
        "bilinear_same_w", "bilinear_down_same_w", "bilinear_c40",      "bilinear_to1",
        "bilinear_from1",  "bilinear_par_up",      "bilinear_par_down",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(nearest); i++)
        parity(golden, nearest[i], TRUE, FALSE);
    for (size_t i = 0; i < G_N_ELEMENTS(bilinear); i++)
        parity(golden, bilinear[i], FALSE, FALSE);
    parity(golden, "nearest_b2", TRUE, TRUE);
    parity(golden, "bilinear_up", FALSE, TRUE);
    parity(golden, "bilinear_down", FALSE, TRUE);
    gradchecks();
    static const int64_t s_near[4] = {2, 40, 24, 20}, s_up[4] = {1, 3, 40, 48}, s_down[4] = {1, 6, 130, 90};
    threads(s_near, 0, 0);
    threads(s_up, 160, 200); /* row cache */
    threads(s_down, 60, 70); /* rows blended first */
    bad_inputs();
    g_print("%s\n", ok ? "ALL OK" : "FAILURES");
    return ok ? 0 : 1;
}
