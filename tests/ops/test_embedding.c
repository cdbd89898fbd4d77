/* test_embedding.c — rg_timestep_embedding: parity with diffusers'
 * get_timestep_embedding (tests/reference/embedding.py) computed in float64,
 * and with diffusers' own float32 result; gradient of the timesteps;
 * strided timesteps; finite-difference gradient checks; 1 vs 2 threads;
 * bad-input errors. Exits non-zero on any failure.
 */
#include <math.h>

#include "rg_test.h"

static gboolean ok = TRUE;

typedef struct {
    int dim;
    gboolean flip;
    float shift;
} emb_args;

static rg_tensor *f_emb(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    const emb_args *a = user_data;
    return rg_timestep_embedding(ctx, in[0], a->dim, a->flip, a->shift, error);
}

static void parity(rg_safetensors *golden, const char *name, gboolean strided)
{
    GError *error = NULL;
    g_autoptr(rg_tensor) t0 = rg_test_load(golden, name, "t");
    g_autoptr(rg_tensor) out_ref = rg_test_load(golden, name, "out");
    g_autoptr(rg_tensor) out_f32 = rg_test_load(golden, name, "out_f32");
    g_autoptr(rg_tensor) dout = rg_test_load(golden, name, "dout");
    g_autoptr(rg_tensor) dt_ref = rg_test_load(golden, name, "dt");
    g_autoptr(rg_tensor) params = rg_test_load(golden, name, "params");
    emb_args args = {(int)rg_tensor_get_flat(params, 0), rg_tensor_get_flat(params, 1) != 0,
                     (float)rg_tensor_get_flat(params, 2)};
    g_autoptr(rg_tensor) t = NULL;
    if (strided) { /* every other element of a tensor twice as long */
        int64_t n = t0->shape[0], n2 = 2 * n, stride = 2;
        g_autoptr(rg_tensor) big = rg_tensor_new(RG_DTYPE_F32, 1, &n2, &error);
        rg_assert_no_error(error);
        for (int64_t i = 0; i < n; i++)
            rg_tensor_data_f32(big)[2 * i] = (float)rg_tensor_get_flat(t0, i);
        t = rg_tensor_view(big, 1, &n, &stride, big->offset);
    } else {
        t = rg_tensor_ref(t0);
    }
    g_autofree char *label = g_strdup_printf("%s%s", name, strided ? " strided" : "");
    static const char *const names[1] = {"dt"};
    /* out: computed in double and rounded once, |out| <= 1: 1 float32 ulp;
     * dt: a double sum of dim terms rounded once to float32 */
    static const rg_tol tol[2] = {{1.2e-7, 0}, {1e-6, 1e-6}};
    ok &= rg_check_vjp_full(label, f_emb, &args, &t, 1, out_ref, dout, &dt_ref, names, tol);

    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tensor) y = f_emb(ctx, &t, &args, &error);
    rg_assert_no_error(error);
    g_autofree char *l32 = g_strdup_printf("%s out vs diffusers float32", label);
    /* diffusers rounds the frequencies and angles t * freq (up to ~1000 rad,
     * where a float32 ulp is 6e-5) to float32: its result is off by ~1e-4 */
    ok &= rg_check_tensor(l32, y, out_f32, 2e-4, 0);
}

static void gradchecks(void)
{
    const gboolean check[1] = {TRUE};
    GError *error = NULL;
    int64_t n = 3;
    static const float tv[3] = {0.5f, 2.75f, 37.0f};
    g_autoptr(rg_tensor) t = rg_tensor_new_from_data(RG_DTYPE_F32, 1, &n, tv, &error);
    static const float tb[3] = {999.0f, 981.0f, 1.0f};
    g_autoptr(rg_tensor) t_big = rg_tensor_new_from_data(RG_DTYPE_F32, 1, &n, tb, &error);
    rg_assert_no_error(error);
    static emb_args a8 = {8, FALSE, 1.0f}, a33 = {33, TRUE, 0.0f};
    /* smooth (frequencies <= 1): truncation ~eps^2, float32 output rounding ~1e-6 */
    ok &= rg_gradcheck("timestep_embedding dim 8", f_emb, &a8, &t, 1, check, 1e-2, 1e-3, 1e-2, 3);
    ok &= rg_gradcheck("timestep_embedding dim 33 flipped", f_emb, &a33, &t, 1, check, 1e-2, 1e-3, 1e-2, 3);
    /* at t ~ 1000 the float32 step t +- eps is itself rounded by up to 3e-5 (0.3% of 1e-2) */
    ok &= rg_gradcheck("timestep_embedding dim 8 t~1000", f_emb, &a8, &t_big, 1, check, 1e-2, 1e-3, 1e-2, 3);
}

/* The OpenMP paths (above the size threshold) give the same bits on 1 and 2 threads. */
static void threads(void)
{
    int64_t n = 64;
    g_autoptr(rg_tensor) t = rg_test_random(5, 1, &n, 0, 999);
    static emb_args args = {320, TRUE, 0.0f};
    const gboolean grad[1] = {TRUE};
    ok &= rg_check_thread_invariance("(64) dim 320", f_emb, &args, &t, 1, grad);
}

static void bad_inputs(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int64_t s1[1] = {3}, s2[2] = {3, 1};
    g_autoptr(rg_tensor) t = rg_tensor_new(RG_DTYPE_F32, 1, s1, &error);
    g_autoptr(rg_tensor) t2 = rg_tensor_new(RG_DTYPE_F32, 2, s2, &error);
    g_autoptr(rg_tensor) ti = rg_tensor_new(RG_DTYPE_I64, 1, s1, &error);
    rg_assert_no_error(error);
    const char *op = "timestep_embedding";
    RG_EXPECT_ERROR_FULL(ok, "2-D timesteps", rg_timestep_embedding(ctx, t2, 320, TRUE, 0, &err_), RG_ERROR_SHAPE, op,
                         NULL);
    RG_EXPECT_ERROR_FULL(ok, "I64 timesteps", rg_timestep_embedding(ctx, ti, 320, TRUE, 0, &err_), RG_ERROR_DTYPE, op,
                         NULL);
    RG_EXPECT_ERROR_FULL(ok, "dim 0", rg_timestep_embedding(ctx, t, 0, TRUE, 0, &err_), RG_ERROR_ARGUMENT, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "dim -4", rg_timestep_embedding(ctx, t, -4, TRUE, 0, &err_), RG_ERROR_ARGUMENT, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "half - shift = 0", rg_timestep_embedding(ctx, t, 8, TRUE, 4.0f, &err_),
                         RG_ERROR_ARGUMENT, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "NaN shift", rg_timestep_embedding(ctx, t, 8, TRUE, NAN, &err_), RG_ERROR_ARGUMENT, op,
                         NULL);
}

int main(void)
{
    g_autoptr(rg_safetensors) golden = rg_test_golden("embedding");
    static const char *const cases[] = {"sd15", "noflip_shift1", "odd", "small", "dim1"};
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        parity(golden, cases[i], FALSE);
    parity(golden, "sd15", TRUE);
    gradchecks();
    threads();
    bad_inputs();
    g_print("%s\n", ok ? "ALL OK" : "FAILURES");
    return ok ? 0 : 1;
}
