/* test_optim.c — the optimizer side of core/train (adamw.c) against torch:
 * AdamW over three tensors for three steps with clip_grad_norm_ before each
 * (goldens of tests/reference/train.py: torch.optim.AdamW, weight decay
 * 0.01), the EMA of diffusers' EMAModel, the warm-up schedule, thread
 * invariance, and the errors (bad settings, gradients that do not fit, a
 * failed step that changes nothing).
 */
#include <math.h>
#include <string.h>

#include "readout/train.h"
#include "rg_test.h"

#define N_PARAMS 3

static rg_tensor *copy_of(rg_tensor *x)
{
    GError *error = NULL;
    rg_tensor *c = rg_tensor_new_from_data(RG_DTYPE_F32, rg_tensor_ndim(x), rg_tensor_shape(x),
                                           rg_tensor_data_f32(x), &error);
    rg_assert_no_error(error);
    return c;
}

/* Gives parameter @p the gradient @g (a copy), as a backward pass would. */
static void set_grad(rg_tensor *p, rg_tensor *g)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_tensor_zero_grad(p);
    /* d <p, g> / dp = g */
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) pg = rg_mul(ctx, p, g, &error);
    g_autoptr(rg_tensor) s = pg ? rg_sum(ctx, pg, &error) : NULL;
    rg_ctx_set_tape(ctx, NULL);
    rg_assert_no_error(error);
    g_assert_true(rg_tape_backward(ctx, tape, s, &error));
    rg_assert_no_error(error);
}

static gboolean test_adamw_ema_parity(rg_safetensors *golden)
{
    GError *error = NULL;
    gboolean ok = TRUE;
    rg_tensor *params[N_PARAMS];
    for (int i = 0; i < N_PARAMS; i++) {
        g_autofree char *k = g_strdup_printf("init.%d", i);
        g_autoptr(rg_tensor) init = rg_test_load(golden, "adamw", k);
        params[i] = copy_of(init);
        rg_tensor_set_requires_grad(params[i], TRUE);
    }
    rg_adamw_config c;
    rg_adamw_config_init(&c);
    c.lr = 0.01f;
    ok &= c.beta1 == 0.9f && c.beta2 == 0.999f && c.eps == 1e-8f && c.weight_decay == 0.01f;
    g_autoptr(rg_adamw) opt = rg_adamw_new(&c, N_PARAMS, params, &error);
    rg_assert_no_error(error);
    g_autoptr(rg_ema) ema = rg_ema_new(N_PARAMS, params, 0.9f, &error);
    rg_assert_no_error(error);
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < N_PARAMS; i++) {
            g_autofree char *k = g_strdup_printf("grads.%d.%d", s, i);
            g_autoptr(rg_tensor) g = rg_test_load(golden, "adamw", k);
            set_grad(params[i], g);
        }
        double norm = 0;
        g_assert_true(rg_clip_grad_norm(N_PARAMS, params, 1.0, &norm, &error));
        g_autofree char *kn = g_strdup_printf("norm.%d", s);
        g_autoptr(rg_tensor) ref_norm = rg_test_load(golden, "adamw", kn);
        const double rn = rg_tensor_get_flat(ref_norm, 0);
        gboolean norm_ok = fabs(norm - rn) <= 1e-5 * rn;
        g_print("%s step %d total norm %.7g, torch %.7g\n", norm_ok ? "OK" : "NOT OK", s, norm, rn);
        ok &= norm_ok;
        g_assert_true(rg_adamw_step(opt, -1, &error));
        for (int i = 0; i < N_PARAMS; i++) {
            g_autofree char *k = g_strdup_printf("param.%d.%d", s, i);
            g_autofree char *label = g_strdup_printf("adamw step %d param %d", s, i);
            g_autoptr(rg_tensor) ref = rg_test_load(golden, "adamw", k);
            ok &= rg_check_tensor(label, params[i], ref, 1e-6, 1e-5);
            ok &= rg_adamw_get_step(opt, i) == s + 1;
        }
        g_assert_true(rg_ema_update(ema, params, &error));
        g_autofree char *kd = g_strdup_printf("decay.%d", s);
        g_autoptr(rg_tensor) ref_decay = rg_test_load(golden, "ema", kd);
        const double d = rg_ema_decay(s + 1, 0.9f), rd = rg_tensor_get_flat(ref_decay, 0);
        g_print("%s ema update %d decay %.6f, diffusers %.6f\n", fabs(d - rd) < 1e-7 ? "OK" : "NOT OK", s + 1, d, rd);
        ok &= fabs(d - rd) < 1e-7;
        for (int i = 0; i < N_PARAMS; i++) {
            g_autofree char *k = g_strdup_printf("shadow.%d.%d", s, i);
            g_autofree char *label = g_strdup_printf("ema update %d param %d", s + 1, i);
            g_autoptr(rg_tensor) ref = rg_test_load(golden, "ema", k);
            ok &= rg_check_tensor(label, rg_ema_get(ema, i), ref, 1e-6, 1e-5);
        }
    }
    for (int i = 0; i < N_PARAMS; i++) {
        g_autofree char *km = g_strdup_printf("exp_avg.%d", i);
        g_autofree char *kv = g_strdup_printf("exp_avg_sq.%d", i);
        g_autoptr(rg_tensor) rm = rg_test_load(golden, "adamw", km);
        g_autoptr(rg_tensor) rv = rg_test_load(golden, "adamw", kv);
        ok &= rg_check_tensor("adamw exp_avg", rg_adamw_moment(opt, i, 0), rm, 1e-7, 1e-5);
        ok &= rg_check_tensor("adamw exp_avg_sq", rg_adamw_moment(opt, i, 1), rv, 1e-9, 1e-5);
    }
    /* the EMA's decay ramps as diffusers' (1 + k) / (10 + k) and stops at its maximum */
    ok &= rg_ema_decay(1, 0.9999f) == 0.0 && fabs(rg_ema_decay(2, 0.9999f) - 2.0 / 11.0) < 1e-12 &&
          fabs(rg_ema_decay(1001, 0.9999f) - 1001.0 / 1010.0) < 1e-12 && rg_ema_decay(1000000, 0.9999f) == 0.9999f;
    for (int i = 0; i < N_PARAMS; i++)
        rg_tensor_unref(params[i]);
    return ok;
}

/* A parameter without a gradient is skipped: unchanged, its step count too. */
static gboolean test_skip_and_errors(void)
{
    GError *error = NULL;
    gboolean ok = TRUE;
    const int64_t s3[1] = {3};
    g_autoptr(rg_tensor) a = rg_test_random(1, 1, s3, -1, 1);
    g_autoptr(rg_tensor) b = rg_test_random(2, 1, s3, -1, 1);
    g_autoptr(rg_tensor) b0 = copy_of(b);
    rg_tensor *p[2] = {a, b};
    rg_tensor_set_requires_grad(a, TRUE);
    rg_tensor_set_requires_grad(b, TRUE);
    rg_adamw_config c;
    rg_adamw_config_init(&c);
    g_autoptr(rg_adamw) opt = rg_adamw_new(&c, 2, p, &error);
    rg_assert_no_error(error);
    g_autoptr(rg_tensor) g = rg_test_random(3, 1, s3, -1, 1);
    set_grad(a, g);
    g_assert_true(rg_adamw_step(opt, 1e-2f, &error));
    ok &= rg_check_tensor("param without a gradient", b, b0, 0, 0);
    RG_CHECK(rg_adamw_get_step(opt, 0) == 1 && rg_adamw_get_step(opt, 1) == 0);

    /* bad settings, as torch refuses them */
    rg_adamw_config bad = c;
    bad.lr = -1;
    RG_EXPECT_ERROR_FULL(ok, "negative lr", rg_adamw_new(&bad, 2, p, &err_), RG_ERROR_ARGUMENT, "adamw", "lr");
    bad = c;
    bad.beta2 = 1.0f;
    RG_EXPECT_ERROR_FULL(ok, "beta2 1", rg_adamw_new(&bad, 2, p, &err_), RG_ERROR_ARGUMENT, "adamw", "beta2");
    bad = c;
    bad.weight_decay = NAN;
    RG_EXPECT_ERROR_FULL(ok, "NaN weight decay", rg_adamw_new(&bad, 2, p, &err_), RG_ERROR_ARGUMENT, "adamw",
                         "weight_decay");
    rg_tensor *twice[2] = {a, a};
    RG_EXPECT_ERROR_FULL(ok, "a parameter twice", rg_adamw_new(&c, 2, twice, &err_), RG_ERROR_ARGUMENT, "adamw",
                         "twice");
    RG_EXPECT_ERROR_FULL(ok, "no parameters", rg_adamw_new(&c, 0, p, &err_), RG_ERROR_ARGUMENT, "adamw", NULL);
    g_autoptr(rg_tensor) ints = rg_tensor_new(RG_DTYPE_I64, 1, s3, &error);
    rg_tensor *pi[1] = {ints};
    RG_EXPECT_ERROR_FULL(ok, "I64 parameter", rg_adamw_new(&c, 1, pi, &err_), RG_ERROR_DTYPE, "adamw", "I64");
    const int64_t s23[2] = {2, 3};
    g_autoptr(rg_tensor) a23 = rg_test_random(6, 2, s23, -1, 1);
    g_autoptr(rg_tensor) strided = rg_test_strided(a23);
    rg_tensor *ps[1] = {strided};
    RG_EXPECT_ERROR_FULL(ok, "strided parameter", rg_adamw_new(&c, 1, ps, &err_), RG_ERROR_SHAPE, "adamw",
                         "contiguous");
    /* a failed step changes nothing */
    set_grad(a, g);
    g_autoptr(rg_tensor) a1 = copy_of(a);
    RG_EXPECT_ERROR_FULL(ok, "NaN lr at a step", GINT_TO_POINTER(rg_adamw_step(opt, NAN, &err_)), RG_ERROR_ARGUMENT,
                         "adamw", "not finite");
    ok &= rg_check_tensor("param after a failed step", a, a1, 0, 0);
    RG_CHECK(rg_adamw_get_step(opt, 0) == 1);
    const int64_t s4[1] = {4};
    g_autoptr(rg_tensor) wide = rg_test_random(4, 1, s4, -1, 1);

    /* clip_grad_norm: a non-finite gradient is refused and nothing is scaled */
    g_autoptr(rg_tensor) gn = rg_tensor_new_full(1, s3, INFINITY, &error);
    set_grad(b, gn);
    double norm = 0;
    RG_EXPECT_ERROR_FULL(ok, "inf gradient", GINT_TO_POINTER(rg_clip_grad_norm(2, p, 1.0, &norm, &err_)),
                         RG_ERROR_ARGUMENT, "clip_grad_norm", "inf");
    ok &= isinf(norm);
    /* clipping off: the norm is reported, the gradients stay */
    set_grad(b, g);
    g_autoptr(rg_tensor) before = copy_of(rg_tensor_get_grad(b));
    g_assert_true(rg_clip_grad_norm(2, p, 0, &norm, &error));
    ok &= rg_check_tensor("no clipping at max_norm 0", rg_tensor_get_grad(b), before, 0, 0);

    /* ema errors */
    RG_EXPECT_ERROR_FULL(ok, "ema max_decay 2", rg_ema_new(2, p, 2.0f, &err_), RG_ERROR_ARGUMENT, "ema", "max_decay");
    g_autoptr(rg_ema) ema = rg_ema_new(2, p, 0.99f, &error);
    rg_assert_no_error(error);
    rg_tensor *mismatched[2] = {a, wide};
    RG_EXPECT_ERROR_FULL(ok, "ema of other tensors", GINT_TO_POINTER(rg_ema_update(ema, mismatched, &err_)),
                         RG_ERROR_SHAPE, "ema", "parameter 1");
    ok &= rg_ema_get_updates(ema) == 0;
    return ok;
}

static gboolean test_warmup(void)
{
    gboolean ok = TRUE;
    const double lr = 1e-3f;
    ok &= rg_lr_warmup(1e-3f, 0, 100) == (float)(lr * 1 / 100);
    ok &= rg_lr_warmup(1e-3f, 49, 100) == (float)(lr * 50 / 100);
    ok &= rg_lr_warmup(1e-3f, 99, 100) == 1e-3f && rg_lr_warmup(1e-3f, 5000, 100) == 1e-3f;
    ok &= rg_lr_warmup(1e-3f, 0, 0) == 1e-3f;
    g_print("%s warm-up: lr (step + 1) / warmup, then lr\n", ok ? "OK" : "NOT OK");
    return ok;
}

/* The update of a large tensor (split over threads) is the same bits on 1
 * and 2 threads. */
static gboolean test_threads(void)
{
    GError *error = NULL;
    const int64_t shape[2] = {300, 257};
    g_autoptr(rg_tensor) init = rg_test_random(7, 2, shape, -1, 1);
    g_autoptr(rg_tensor) g = rg_test_random(8, 2, shape, -3, 3);
    rg_tensor *results[2];
    const int saved = rg_get_num_threads();
    for (int k = 0; k < 2; k++) {
        rg_set_num_threads(k + 1);
        rg_tensor *p = copy_of(init);
        rg_tensor_set_requires_grad(p, TRUE);
        rg_adamw_config c;
        rg_adamw_config_init(&c);
        g_autoptr(rg_adamw) opt = rg_adamw_new(&c, 1, &p, &error);
        g_autoptr(rg_ema) ema = rg_ema_new(1, &p, 0.999f, &error);
        for (int s = 0; s < 3; s++) {
            set_grad(p, g);
            g_assert_true(rg_clip_grad_norm(1, &p, 1.0, NULL, &error));
            g_assert_true(rg_adamw_step(opt, -1, &error));
            g_assert_true(rg_ema_update(ema, &p, &error));
        }
        rg_tensor_zero_grad(p);
        results[k] = p;
    }
    rg_set_num_threads(saved);
    gboolean ok = rg_check_tensor("AdamW on 1 and 2 threads", results[1], results[0], 0, 0);
    rg_tensor_unref(results[0]);
    rg_tensor_unref(results[1]);
    return ok;
}

int main(void)
{
    g_autoptr(rg_safetensors) golden = rg_test_golden("train");
    gboolean ok = TRUE;
    ok &= test_adamw_ema_parity(golden);
    ok &= test_skip_and_errors();
    ok &= test_warmup();
    ok &= test_threads();
    ok &= rg_test_failures == 0;
    g_print("%s\n", ok ? "ALL OK" : "FAILURES");
    return ok ? 0 : 1;
}
