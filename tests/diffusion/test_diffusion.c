/* test_diffusion.c — core/diffusion: the DDIM schedule against diffusers'
 * float32 values and the leading timesteps (tests/reference/ddim.py); DDIM
 * steps (denoising with eta 0, 1 and 0.5, the last step to -1, inversion)
 * against rg_helpers.get_xt_next in float64; a 100-step inversion and its
 * reversal with a constant eps, which DDIM undoes exactly; that the step stays
 * off the tape; CFG; torch.optim.AdamW over 3 steps and its first sign step;
 * bad inputs. Exits non-zero on any failure.
 *
 * Tolerances: the steps are three f32 scalings and adds of O(1) values with
 * coefficients up to 1/sqrt(a_991) ~ 15, so a few 1e-7 relative; 1e-6
 * absolute + 2e-6 relative leaves a margin while a wrong alpha (a neighbouring
 * timestep differs by ~1e-3) or coefficient shows at once.
 */
#include <math.h>
#include <string.h>

#include "readout/diffusion.h"
#include "rg_test.h"

static gboolean ok = TRUE;

/* As RG_EXPECT_ERROR_FULL for a call that returns a gboolean. */
#define EXPECT_FALSE(what, call, code, op, needle)                                                                     \
    do {                                                                                                               \
        GError *err_ = NULL;                                                                                           \
        if ((call)) {                                                                                                  \
            g_print("NOT OK error %s: the call succeeded\n", (what));                                                  \
            ok = FALSE;                                                                                                \
        } else {                                                                                                       \
            ok &= rg_expect_error_full((what), NULL, err_, (code), (op), (needle));                                    \
        }                                                                                                              \
    } while (0)

static void check(gboolean cond, const char *what)
{
    g_print("%s %s\n", cond ? "OK" : "NOT OK", what);
    ok &= cond;
}

/* ---- schedule ------------------------------------------------------------- */

static void schedule(rg_safetensors *golden)
{
    rg_ddim s;
    rg_ddim_init(&s);
    g_autoptr(rg_tensor) ref = rg_test_load(golden, "schedule", "alphas_cumprod");
    int64_t n = RG_DDIM_TRAIN_STEPS;
    g_autoptr(rg_tensor) got = rg_tensor_new(RG_DTYPE_F32, 1, &n, NULL);
    int exact = 0;
    double max_abs = 0;
    for (int t = 0; t < n; t++) {
        rg_tensor_data_f32(got)[t] = (float)s.alphas_cumprod[t];
        exact += s.alphas_cumprod[t] == rg_tensor_get_flat(ref, t);
        max_abs = MAX(max_abs, fabs(s.alphas_cumprod[t] - rg_tensor_get_flat(ref, t)));
    }
    /* diffusers' float32 values; this build reproduces them bit for bit on
     * x86-64 (torch's AVX2 linspace), other torch builds within an ulp */
    ok &= rg_check_tensor("alphas_cumprod", got, ref, 1e-7, 0);
    g_print("alphas_cumprod: %d of 1000 bit-exact, max |diff| %.3g\n", exact, max_abs);
    check(s.n_train == 1000 && s.final_alpha_cumprod == s.alphas_cumprod[0], "final alpha is alphas_cumprod[0]");
    check(fabs(s.alphas_cumprod[0] - 0.99915) < 1e-7 && fabs(rg_ddim_alpha(&s, 999) - 0.0046600960) < 1e-9,
          "alpha_0 = 0.99915, alpha_999 = 0.00466");
    check(rg_ddim_alpha(&s, -1) == s.alphas_cumprod[0] && rg_ddim_alpha(&s, 500) == s.alphas_cumprod[500] &&
              isnan(rg_ddim_alpha(&s, 1000)),
          "rg_ddim_alpha at -1, 500, 1000");
    check(s.n_steps == 0 && s.timesteps == NULL && rg_ddim_next(&s, 0) == -1, "no steps before set_steps");

    const int counts[5] = {100, 50, 7, 1, 999};
    for (int c = 0; c < 5; c++) {
        GError *error = NULL;
        g_autofree char *name = g_strdup_printf("timesteps%d", counts[c]);
        g_autoptr(rg_tensor) tref = rg_test_load(golden, name, "t");
        gboolean good =
            rg_ddim_set_steps(&s, counts[c], &error) && s.n_steps == counts[c] && rg_tensor_numel(tref) == counts[c];
        rg_assert_no_error(error);
        for (int i = 0; good && i < counts[c]; i++) {
            good &= s.timesteps[i] == (int)rg_tensor_get_flat(tref, i);
            good &= rg_ddim_next(&s, i) == (i + 1 < counts[c] ? (int)rg_tensor_get_flat(tref, i + 1) : -1);
        }
        g_autofree char *what = g_strdup_printf("%d steps: timesteps %d..%d and next", counts[c], s.timesteps[0],
                                                s.timesteps[counts[c] - 1]);
        check(good, what);
    }
    check(rg_ddim_set_steps(&s, 100, NULL) && s.timesteps[0] == 991 && s.timesteps[99] == 1 &&
              rg_ddim_next(&s, 98) == 1 && rg_ddim_next(&s, 99) == -1,
          "100 steps: 991, 981, ..., 1, then -1");
    EXPECT_FALSE("0 steps", rg_ddim_set_steps(&s, 0, &err_), RG_ERROR_ARGUMENT, "ddim", "0 steps");
    EXPECT_FALSE("1000 steps", rg_ddim_set_steps(&s, 1000, &err_), RG_ERROR_ARGUMENT, "ddim", "1000 steps");
    EXPECT_FALSE("-3 steps", rg_ddim_set_steps(&s, -3, &err_), RG_ERROR_ARGUMENT, "ddim", "-3 steps");
    check(s.n_steps == 100, "a failed set_steps keeps the steps");
    rg_ddim_clear(&s);
    check(s.n_steps == 0 && s.timesteps == NULL, "clear");
    rg_ddim_clear(&s);
}

/* ---- steps ---------------------------------------------------------------- */

static void step_parity(rg_safetensors *golden, const char *name)
{
    GError *error = NULL;
    rg_ddim s;
    rg_ddim_init(&s);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tensor) z = rg_test_load(golden, name, "z");
    g_autoptr(rg_tensor) eps = rg_test_load(golden, name, "eps");
    g_autoptr(rg_tensor) noise = rg_test_load(golden, name, "noise");
    g_autoptr(rg_tensor) zref = rg_test_load(golden, name, "z_next");
    g_autoptr(rg_tensor) x0ref = rg_test_load(golden, name, "x0");
    g_autoptr(rg_tensor) tt = rg_test_load(golden, name, "t");
    g_autoptr(rg_tensor) tn = rg_test_load(golden, name, "t_next");
    g_autoptr(rg_tensor) te = rg_test_load(golden, name, "eta");
    int t = (int)rg_tensor_get_flat(tt, 0), t_next = (int)rg_tensor_get_flat(tn, 0);
    float eta = (float)rg_tensor_get_flat(te, 0);
    g_autoptr(rg_tensor) x0 = NULL;
    /* eta 0: the noise is not used and may be absent */
    g_autoptr(rg_tensor) zn = rg_ddim_step(ctx, &s, z, eps, t, t_next, eta, eta > 0 ? noise : NULL, &x0, &error);
    rg_assert_no_error(error);
    g_autofree char *l1 = g_strdup_printf("%s (t %d -> %d, eta %g) z_next", name, t, t_next, eta);
    g_autofree char *l2 = g_strdup_printf("%s x0", name);
    ok &= rg_check_tensor(l1, zn, zref, 1e-6, 2e-6);
    ok &= rg_check_tensor(l2, x0, x0ref, 1e-6, 2e-6);
    /* strided inputs and no x0 */
    g_autoptr(rg_tensor) zs = rg_test_strided(z);
    g_autoptr(rg_tensor) es = rg_test_strided(eps);
    g_autoptr(rg_tensor) zn2 = rg_ddim_step(ctx, &s, zs, es, t, t_next, eta, noise, NULL, &error);
    rg_assert_no_error(error);
    g_autofree char *l3 = g_strdup_printf("%s strided", name);
    ok &= rg_check_tensor(l3, zn2, zref, 1e-6, 2e-6);
}

/* The step is not on the tape even when z needs a gradient. */
static void step_off_tape(void)
{
    GError *error = NULL;
    rg_ddim s;
    rg_ddim_init(&s);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    int64_t shape[4] = {1, 4, 3, 3};
    g_autoptr(rg_tensor) z = rg_test_random(1, 4, shape, -1, 1);
    g_autoptr(rg_tensor) eps = rg_test_random(2, 4, shape, -1, 1);
    rg_tensor_set_requires_grad(z, TRUE);
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) x0 = NULL;
    g_autoptr(rg_tensor) zn = rg_ddim_step(ctx, &s, z, eps, 501, 491, 0.0f, NULL, &x0, &error);
    rg_assert_no_error(error);
    check(rg_ctx_get_tape(ctx) == tape && rg_tape_size(tape) == 0 && !rg_tensor_requires_grad(zn),
          "ddim_step records nothing and leaves the tape attached");
    rg_ctx_set_tape(ctx, NULL);
}

/* With eps independent of z and t, DDIM with eta 0 keeps x0 fixed, so the
 * official 100-step inversion (t = -1, 1, ..., 981 -> 1, 11, ..., 991) ends at
 * sqrt(a_991) x0 + sqrt(1 - a_991) eps and denoising from there returns to
 * the start. */
static void round_trip(void)
{
    GError *error = NULL;
    rg_ddim s;
    rg_ddim_init(&s);
    g_assert_true(rg_ddim_set_steps(&s, 100, &error));
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int64_t shape[4] = {2, 4, 6, 5};
    g_autoptr(rg_tensor) z0 = rg_test_random(3, 4, shape, -2, 2);
    g_autoptr(rg_tensor) eps = rg_test_random(4, 4, shape, -2, 2);
    rg_tensor *z = rg_tensor_ref(z0);
    double a0 = rg_ddim_alpha(&s, -1), max_x0_drift = 0;
    g_autoptr(rg_tensor) x0_first = NULL;
    for (int k = 0; k < s.n_steps; k++) { /* inversion */
        int i = s.n_steps - 1 - k;
        int t = rg_ddim_next(&s, i), t_next = s.timesteps[i];
        if (k == 0)
            check(t == -1 && t_next == 1, "inversion starts at timestep -1 -> 1");
        rg_tensor *x0 = NULL;
        rg_tensor *zn = rg_ddim_step(ctx, &s, z, eps, t, t_next, 0.0f, NULL, &x0, &error);
        rg_assert_no_error(error);
        if (!x0_first)
            x0_first = rg_tensor_ref(x0);
        for (int64_t j = 0; j < rg_tensor_numel(x0); j++)
            max_x0_drift = MAX(max_x0_drift, fabs(rg_tensor_get_flat(x0, j) - rg_tensor_get_flat(x0_first, j)));
        rg_tensor_unref(x0);
        rg_tensor_unref(z);
        z = zn;
    }
    check(max_x0_drift < 1e-4, "x0 stays fixed along the inversion");
    g_print("  x0 drift %.3g\n", max_x0_drift);
    /* closed form of the inverted latent, in double */
    double aT = rg_ddim_alpha(&s, 991), worst = 0;
    for (int64_t j = 0; j < rg_tensor_numel(z); j++) {
        double x0 = (rg_tensor_get_flat(z0, j) - sqrt(1 - a0) * rg_tensor_get_flat(eps, j)) / sqrt(a0);
        double zt = sqrt(aT) * x0 + sqrt(1 - aT) * rg_tensor_get_flat(eps, j);
        worst = MAX(worst, fabs(zt - rg_tensor_get_flat(z, j)));
    }
    g_print("  inverted latent vs closed form: max |diff| %.3g\n", worst);
    check(worst < 1e-5, "inverted latent = sqrt(a_991) x0 + sqrt(1 - a_991) eps");
    for (int i = 0; i < s.n_steps; i++) { /* denoising back */
        rg_tensor *zn = rg_ddim_step(ctx, &s, z, eps, s.timesteps[i], rg_ddim_next(&s, i), 0.0f, NULL, NULL, &error);
        rg_assert_no_error(error);
        rg_tensor_unref(z);
        z = zn;
    }
    ok &= rg_check_tensor("inversion then denoising returns to the start", z, z0, 2e-5, 0);
    rg_tensor_unref(z);
    rg_ddim_clear(&s);
}

static void step_errors(void)
{
    GError *error = NULL;
    rg_ddim s;
    rg_ddim_init(&s);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int64_t shape[4] = {1, 4, 3, 3}, other[4] = {1, 4, 3, 2};
    g_autoptr(rg_tensor) z = rg_test_random(1, 4, shape, -1, 1);
    g_autoptr(rg_tensor) e = rg_test_random(2, 4, shape, -1, 1);
    g_autoptr(rg_tensor) bad = rg_test_random(3, 4, other, -1, 1);
    g_autoptr(rg_tensor) zi = rg_tensor_new(RG_DTYPE_I64, 4, shape, &error);
    const char *op = "ddim_step";
    RG_EXPECT_ERROR_FULL(ok, "eps shape", rg_ddim_step(ctx, &s, z, bad, 501, 491, 0, NULL, NULL, &err_), RG_ERROR_SHAPE,
                         op, "(1,4,3,2)");
    RG_EXPECT_ERROR_FULL(ok, "noise shape", rg_ddim_step(ctx, &s, z, e, 501, 491, 1, bad, NULL, &err_), RG_ERROR_SHAPE,
                         op, "noise");
    RG_EXPECT_ERROR_FULL(ok, "I64 z", rg_ddim_step(ctx, &s, zi, e, 501, 491, 0, NULL, NULL, &err_), RG_ERROR_DTYPE, op,
                         "I64");
    RG_EXPECT_ERROR_FULL(ok, "no eps", rg_ddim_step(ctx, &s, z, NULL, 501, 491, 0, NULL, NULL, &err_),
                         RG_ERROR_ARGUMENT, op, "eps");
    RG_EXPECT_ERROR_FULL(ok, "eta without noise", rg_ddim_step(ctx, &s, z, e, 501, 491, 1, NULL, NULL, &err_),
                         RG_ERROR_ARGUMENT, op, "noise");
    RG_EXPECT_ERROR_FULL(ok, "negative eta", rg_ddim_step(ctx, &s, z, e, 501, 491, -0.5f, e, NULL, &err_),
                         RG_ERROR_ARGUMENT, op, "eta");
    RG_EXPECT_ERROR_FULL(ok, "NaN eta", rg_ddim_step(ctx, &s, z, e, 501, 491, NAN, e, NULL, &err_), RG_ERROR_ARGUMENT,
                         op, "eta");
    RG_EXPECT_ERROR_FULL(ok, "eta on an inversion step", rg_ddim_step(ctx, &s, z, e, 491, 501, 1, e, NULL, &err_),
                         RG_ERROR_ARGUMENT, op, "491 -> 501");
    RG_EXPECT_ERROR_FULL(ok, "eta too large", rg_ddim_step(ctx, &s, z, e, 991, 1, 3, e, NULL, &err_), RG_ERROR_ARGUMENT,
                         op, "too large");
    RG_EXPECT_ERROR_FULL(ok, "timestep 1000", rg_ddim_step(ctx, &s, z, e, 1000, 990, 0, NULL, NULL, &err_),
                         RG_ERROR_ARGUMENT, op, "1000");
    rg_tensor *x0 = (rg_tensor *)0x1;
    rg_tensor *r = rg_ddim_step(ctx, &s, z, bad, 501, 491, 0, NULL, &x0, &error);
    check(!r && x0 == NULL, "x0 is NULL after a failed step");
    g_clear_error(&error);
}

/* ---- CFG ------------------------------------------------------------------ */

static rg_tensor *f_cfg(rg_ctx *ctx, rg_tensor *const *in, gpointer scales, GError **error)
{
    return rg_cfg_combine(ctx, in[0], scales, error);
}

static void cfg(rg_safetensors *golden)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    const char *names[2] = {"cfg", "cfg1"};
    for (int c = 0; c < 2; c++) {
        g_autoptr(rg_tensor) eps = rg_test_load(golden, names[c], "eps");
        g_autoptr(rg_tensor) w = rg_test_load(golden, names[c], "scales");
        g_autoptr(rg_tensor) ref = rg_test_load(golden, names[c], "out");
        g_autoptr(rg_tensor) out = rg_cfg_combine(ctx, eps, rg_tensor_data_f32(w), &error);
        rg_assert_no_error(error);
        ok &= rg_check_tensor(names[c], out, ref, 1e-6, 1e-6);
    }
    /* differentiable when recorded: d out / d eps = (1 - w) on uncond, w on cond */
    int64_t shape[4] = {4, 2, 3, 2};
    float scales[2] = {1.0f, 3.5f};
    rg_tensor *in[1] = {rg_test_random(5, 4, shape, -1, 1)};
    const gboolean grad[1] = {TRUE};
    ok &= rg_gradcheck("cfg", f_cfg, scales, in, 1, grad, 1e-2, 1e-3, 1e-3, 48);
    rg_tensor_unref(in[0]);

    int64_t odd[4] = {3, 2, 2, 2};
    g_autoptr(rg_tensor) e3 = rg_test_random(6, 4, odd, -1, 1);
    g_autoptr(rg_tensor) e4 = rg_test_random(7, 4, shape, -1, 1);
    g_autoptr(rg_tensor) ei = rg_tensor_new(RG_DTYPE_I64, 4, shape, &error);
    float nan_scales[2] = {1.0f, NAN};
    const char *op = "cfg_combine";
    RG_EXPECT_ERROR_FULL(ok, "odd batch", rg_cfg_combine(ctx, e3, scales, &err_), RG_ERROR_SHAPE, op, "(3,2,2,2)");
    RG_EXPECT_ERROR_FULL(ok, "no scales", rg_cfg_combine(ctx, e4, NULL, &err_), RG_ERROR_ARGUMENT, op, "scales");
    RG_EXPECT_ERROR_FULL(ok, "NaN scale", rg_cfg_combine(ctx, e4, nan_scales, &err_), RG_ERROR_ARGUMENT, op, "scale 1");
    RG_EXPECT_ERROR_FULL(ok, "I64 eps", rg_cfg_combine(ctx, ei, scales, &err_), RG_ERROR_DTYPE, op, "I64");
}

/* ---- Adam ----------------------------------------------------------------- */

static void adam_parity(rg_safetensors *golden, const char *name)
{
    GError *error = NULL;
    g_autoptr(rg_tensor) param0 = rg_test_load(golden, name, "param");
    g_autoptr(rg_tensor) grads = rg_test_load(golden, name, "grads");
    g_autoptr(rg_tensor) params = rg_test_load(golden, name, "params");
    g_autoptr(rg_tensor) hyper = rg_test_load(golden, name, "hyper");
    float lr = (float)rg_tensor_get_flat(hyper, 0), b1 = (float)rg_tensor_get_flat(hyper, 1);
    float b2 = (float)rg_tensor_get_flat(hyper, 2), eps = (float)rg_tensor_get_flat(hyper, 3);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tensor) p = rg_scale(ctx, param0, 1.0f, 0.0f, &error); /* a copy updated in place */
    g_autoptr(rg_adam) adam = rg_adam_new(lr, b1, b2, eps);
    int n_steps = (int)rg_tensor_shape(grads)[0];
    for (int k = 0; k < n_steps; k++) {
        g_autoptr(rg_tensor) g = rg_slice(ctx, grads, 0, k, 1, &error);
        g_autoptr(rg_tensor) gk = rg_reshape(ctx, g, rg_tensor_ndim(p), rg_tensor_shape(p), &error);
        /* every other step from a strided gradient */
        g_autoptr(rg_tensor) gs = k % 2 ? rg_test_strided(gk) : rg_tensor_ref(gk);
        g_assert_true(rg_adam_step(adam, p, gs, &error));
        rg_assert_no_error(error);
        g_autoptr(rg_tensor) r = rg_slice(ctx, params, 0, k, 1, &error);
        g_autoptr(rg_tensor) rk = rg_reshape(ctx, r, rg_tensor_ndim(p), rg_tensor_shape(p), &error);
        g_autofree char *label = g_strdup_printf("%s step %d", name, k + 1);
        /* one f32 rounding of the parameter per step */
        ok &= rg_check_tensor(label, p, rk, 1e-7, 2e-7);
        if (k == 0) { /* the sign step, exactly */
            int bad = 0;
            for (int64_t j = 0; j < rg_tensor_numel(p); j++) {
                double g0 = rg_tensor_get_flat(gk, j);
                float want = (float)(rg_tensor_get_flat(param0, j) - (double)lr * g0 / (fabs(g0) + eps));
                bad += rg_tensor_data_f32(p)[j] != want;
            }
            g_autofree char *what = g_strdup_printf("%s: first step is p - lr g / (|g| + eps)", name);
            check(bad == 0, what);
        }
    }
}

static void adam_errors(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int64_t shape[2] = {3, 4}, other[2] = {4, 3};
    g_autoptr(rg_tensor) p = rg_test_random(1, 2, shape, -1, 1);
    g_autoptr(rg_tensor) g = rg_test_random(2, 2, shape, -1, 1);
    g_autoptr(rg_tensor) q = rg_test_random(3, 2, other, -1, 1);
    g_autoptr(rg_tensor) pi = rg_tensor_new(RG_DTYPE_I64, 2, shape, &error);
    g_autoptr(rg_tensor) ps = rg_test_strided(p);
    g_autoptr(rg_adam) a = rg_adam_new(0.02f, 0.9f, 0.999f, 1e-8f);
    const char *op = "adam";
    EXPECT_FALSE("grad shape", rg_adam_step(a, p, q, &err_), RG_ERROR_SHAPE, op, "(4,3)");
    EXPECT_FALSE("I64 param", rg_adam_step(a, pi, g, &err_), RG_ERROR_DTYPE, op, "I64");
    EXPECT_FALSE("strided param", rg_adam_step(a, ps, g, &err_), RG_ERROR_ARGUMENT, op, "contiguous");
    EXPECT_FALSE("no grad", rg_adam_step(a, p, NULL, &err_), RG_ERROR_ARGUMENT, op, "grad");
    g_autoptr(rg_tensor) before = rg_scale(ctx, p, 1.0f, 0.0f, &error);
    ok &= rg_check_tensor("failed steps leave the param", p, before, 0, 0);
    g_assert_true(rg_adam_step(a, p, g, &error));
    EXPECT_FALSE("another param later", rg_adam_step(a, q, q, &err_), RG_ERROR_SHAPE, op, "(3,4)");
    const float bad_settings[4][4] = {{-1.0f, 0.9f, 0.999f, 1e-8f},
                                      {0.02f, 1.0f, 0.999f, 1e-8f},
                                      {0.02f, 0.9f, -0.1f, 1e-8f},
                                      {0.02f, 0.9f, 0.999f, NAN}};
    const char *needles[4] = {"learning rate -1", "beta1 1", "beta2 -0.1", "eps nan"};
    for (int i = 0; i < 4; i++) {
        g_autoptr(rg_adam) b =
            rg_adam_new(bad_settings[i][0], bad_settings[i][1], bad_settings[i][2], bad_settings[i][3]);
        EXPECT_FALSE(needles[i], rg_adam_step(b, p, g, &err_), RG_ERROR_ARGUMENT, op, needles[i]);
    }
}

int main(void)
{
    g_autoptr(rg_safetensors) golden = rg_test_golden("ddim");
    schedule(golden);
    const char *steps[6] = {"denoise_eta0", "denoise_eta1", "denoise_eta05", "last", "invert_first", "invert"};
    for (int i = 0; i < 6; i++)
        step_parity(golden, steps[i]);
    step_off_tape();
    round_trip();
    step_errors();
    cfg(golden);
    adam_parity(golden, "adam");
    adam_parity(golden, "adam_other");
    adam_errors();
    g_print("%s\n", ok && rg_test_failures == 0 ? "ALL OK" : "FAILURES");
    return ok && rg_test_failures == 0 ? 0 : 1;
}
