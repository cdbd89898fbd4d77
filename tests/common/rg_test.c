/* rg_test.c — see rg_test.h. */
#include "rg_test.h"

#include "ops/shape.h"

#include <math.h>
#include <sys/wait.h>
#include <string.h>

int rg_test_failures = 0;

rg_safetensors *rg_test_golden(const char *family)
{
    g_autofree char *name = g_strdup_printf("%s.safetensors", family);
    g_autofree char *path = g_build_filename(RG_TEST_GOLDEN_DIR, name, NULL);
    GError *error = NULL;
    rg_safetensors *st = rg_safetensors_open(path, &error);
    if (!st)
        g_error("golden file missing or unreadable: %s\n---> HINT: regenerate with "
                "/usr/bin/python3 tests/reference/%s.py (needs python3-torch)",
                error->message, family);
    return st;
}

rg_tensor *rg_test_load(rg_safetensors *golden, const char *case_name, const char *what)
{
    g_autofree char *name = g_strdup_printf("%s.%s", case_name, what);
    GError *error = NULL;
    rg_tensor *t = rg_safetensors_load(golden, name, &error);
    if (!t)
        g_error("golden tensor: %s", error->message);
    return t;
}

gboolean rg_check_tensor(const char *label, rg_tensor *got, rg_tensor *ref, double atol, double rtol)
{
    if (!got || !ref || !rg_tensor_same_shape(got, ref)) {
        g_autofree char *sg = got ? rg_tensor_shape_string(got) : g_strdup("NULL");
        g_autofree char *sr = ref ? rg_tensor_shape_string(ref) : g_strdup("NULL");
        g_printerr("NOT OK %s: shape %s, expected %s\n", label, sg, sr);
        return FALSE;
    }
    int64_t n = rg_tensor_numel(ref), worst = 0, bad = 0;
    if (n == 0) { /* empty: equal shapes are all there is to compare */
        g_print("OK %s: empty\n", label);
        return TRUE;
    }
    double max_abs = 0, max_rel = 0, worst_excess = -1;
    for (int64_t i = 0; i < n; i++) {
        double g = rg_tensor_get_flat(got, i), r = rg_tensor_get_flat(ref, i);
        /* equal infinities and NaN against NaN match */
        double d = (g == r || (isnan(g) && isnan(r))) ? 0.0 : fabs(g - r);
        double tol = atol + (rtol > 0 ? rtol * fabs(r) : 0.0);
        if (!(d <= tol))
            bad++;
        double excess = isnan(d) ? INFINITY : d - tol;
        if (excess > worst_excess) {
            worst_excess = excess;
            worst = i;
        }
        max_abs = MAX(max_abs, isnan(d) ? INFINITY : d);
        if (fabs(r) > 0)
            max_rel = MAX(max_rel, d / fabs(r));
    }
    g_print("%s %s: n=%" G_GINT64_FORMAT " max_abs=%.3g max_rel=%.3g worst[%" G_GINT64_FORMAT
            "]: %.7g vs %.7g (atol %.1g rtol %.1g)\n",
            bad ? "NOT OK" : "OK", label, n, max_abs, max_rel, worst, rg_tensor_get_flat(got, worst),
            rg_tensor_get_flat(ref, worst), atol, rtol);
    if (bad) {
        for (int64_t i = 0; i < MIN(n, 5); i++)
            g_print("  [%" G_GINT64_FORMAT "] %.7g vs %.7g\n", i, rg_tensor_get_flat(got, i),
                    rg_tensor_get_flat(ref, i));
        g_print("  %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " elements out of tolerance\n", bad, n);
    }
    return bad == 0;
}

rg_tensor *rg_test_random(guint32 seed, int ndim, const int64_t *shape, float lo, float hi)
{
    GError *error = NULL;
    rg_tensor *t = rg_tensor_new(RG_DTYPE_F32, ndim, shape, &error);
    rg_assert_no_error(error);
    GRand *r = g_rand_new_with_seed(seed);
    float *p = rg_tensor_data_f32(t);
    for (int64_t i = 0; i < rg_tensor_numel(t); i++)
        p[i] = (float)g_rand_double_range(r, lo, hi);
    g_rand_free(r);
    return t;
}

rg_tensor *rg_test_strided(rg_tensor *x)
{
    GError *error = NULL;
    int64_t shape[RG_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] += 3;
    g_autoptr(rg_tensor) big = rg_tensor_new(x->dtype, x->ndim, shape, &error);
    rg_assert_no_error(error);
    rg_tensor *view = rg_tensor_view(big, x->ndim, x->shape, big->strides, big->offset + 2);
    rg_tensor *args[2] = { view, x };
    g_assert(rg_cpu_copy(NULL, NULL, args) == RG_STATUS_OK && !rg_tensor_is_contiguous(view));
    return view;
}

/* Runs @f on @inputs with a tape, each input i with want[i] requiring a
 * gradient (from zero), then backward with the cotangent *@dout; when *@dout
 * is NULL, a random one of the output's shape is made and handed back. The
 * gradients stay on the inputs until release_inputs(). Returns f's output. */
static rg_tensor *forward_backward(const char *label, rg_test_fn f, gpointer user_data, rg_tensor *const *inputs, int n,
                                   const gboolean *want, rg_tensor **dout)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    for (int i = 0; i < n; i++)
        if (inputs[i] && want[i]) {
            rg_tensor_zero_grad(inputs[i]);
            rg_tensor_set_requires_grad(inputs[i], TRUE);
        }
    rg_ctx_set_tape(ctx, tape);
    rg_tensor *y = f(ctx, inputs, user_data, &error);
    rg_assert_no_error(error);
    rg_ctx_set_tape(ctx, NULL);
    if (!*dout)
        *dout = rg_test_random(1234, rg_tensor_ndim(y), rg_tensor_shape(y), -1.0f, 1.0f);
    if (!rg_tape_backward_with(ctx, tape, 1, &y, dout, &error))
        g_error("%s: backward failed: %s", label, error->message);
    return y;
}

/* Leaves the inputs as forward_backward() found them: frozen, no gradient. */
static void release_inputs(rg_tensor *const *inputs, int n, const gboolean *want)
{
    for (int i = 0; i < n; i++)
        if (inputs[i] && want[i]) {
            rg_tensor_set_requires_grad(inputs[i], FALSE);
            rg_tensor_zero_grad(inputs[i]);
        }
}

/* <f(inputs), c> in double. */
static double objective(rg_test_fn f, gpointer user_data, rg_tensor *const *inputs, rg_tensor *c)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tensor) y = f(ctx, inputs, user_data, &error);
    rg_assert_no_error(error);
    double s = 0;
    for (int64_t i = 0; i < rg_tensor_numel(y); i++)
        s += rg_tensor_get_flat(y, i) * rg_tensor_get_flat(c, i);
    return s;
}

gboolean rg_gradcheck(const char *label, rg_test_fn f, gpointer user_data, rg_tensor *const *inputs, int n,
                      const gboolean *check, double eps, double atol, double rtol, int max_points)
{
    g_autoptr(rg_tensor) c = NULL;
    /* the output itself is not needed here, only the gradients and c */
    g_autoptr(rg_tensor) y = forward_backward(label, f, user_data, inputs, n, check, &c);
    (void)y;

    gboolean ok = TRUE;
    for (int i = 0; i < n; i++) {
        if (!inputs[i] || !check[i])
            continue;
        rg_tensor *x = inputs[i];
        rg_tensor *g = rg_tensor_get_grad(x);
        if (!g) {
            g_printerr("NOT OK %s: input %d received no gradient\n", label, i);
            ok = FALSE;
            continue;
        }
        int64_t numel = rg_tensor_numel(x);
        int64_t step = MAX(1, numel / MAX(1, max_points));
        float *p = rg_tensor_data_f32(x);
        int bad = 0, probed = 0;
        double max_err = 0;
        for (int64_t j = 0; j < numel; j += step) {
            float saved = p[j];
            p[j] = (float)(saved + eps);
            double fp = objective(f, user_data, inputs, c);
            p[j] = (float)(saved - eps);
            double fm = objective(f, user_data, inputs, c);
            p[j] = saved;
            double num = (fp - fm) / (2 * eps);
            double ana = rg_tensor_get_flat(g, j);
            double err = fabs(num - ana);
            max_err = MAX(max_err, err);
            probed++;
            if (!(err <= atol + rtol * fabs(num))) {
                if (bad < 5)
                    g_printerr("  %s input %d [%" G_GINT64_FORMAT "]: numeric %.6g analytic %.6g\n", label, i, j, num,
                               ana);
                bad++;
            }
        }
        g_print("%s gradcheck %s input %d: %d points, max err %.3g\n", bad ? "NOT OK" : "OK", label, i, probed,
                max_err);
        ok &= bad == 0;
    }
    release_inputs(inputs, n, check);
    return ok;
}

gboolean rg_check_vjp_full(const char *label, rg_test_fn f, gpointer user_data, rg_tensor *const *inputs, int n,
                           rg_tensor *out_ref, rg_tensor *dout, rg_tensor *const *din_refs, const char *const *names,
                           const rg_tol *tol)
{
    g_autofree gboolean *want = g_new(gboolean, n);
    for (int i = 0; i < n; i++)
        want[i] = din_refs[i] != NULL;
    g_autoptr(rg_tensor) y = forward_backward(label, f, user_data, inputs, n, want, &dout);
    g_autofree char *lo = g_strdup_printf("%s out", label);
    gboolean ok = rg_check_tensor(lo, y, out_ref, tol[0].atol, tol[0].rtol);
    for (int i = 0; i < n; i++) {
        if (!inputs[i])
            continue;
        g_autofree char *lg =
            names ? g_strdup_printf("%s %s", label, names[i]) : g_strdup_printf("%s grad %d", label, i);
        if (din_refs[i]) {
            ok &= rg_check_tensor(lg, rg_tensor_get_grad(inputs[i]), din_refs[i], tol[1 + i].atol, tol[1 + i].rtol);
        } else {
            /* a frozen input must cost nothing in backward */
            gboolean none = rg_tensor_get_grad(inputs[i]) == NULL;
            g_print("%s %s: frozen, no gradient\n", none ? "OK" : "NOT OK", lg);
            ok &= none;
        }
    }
    release_inputs(inputs, n, want);
    return ok;
}

gboolean rg_check_vjp(const char *label, rg_test_fn f, gpointer user_data, rg_tensor *const *inputs, int n,
                      rg_tensor *out_ref, rg_tensor *dout, rg_tensor *const *din_refs, double atol, double rtol)
{
    g_autofree rg_tol *tol = g_new(rg_tol, n + 1);
    for (int i = 0; i <= n; i++)
        tol[i] = (rg_tol){atol, rtol};
    return rg_check_vjp_full(label, f, user_data, inputs, n, out_ref, dout, din_refs, NULL, tol);
}

gboolean rg_check_thread_invariance(const char *label, rg_test_fn f, gpointer user_data, rg_tensor *const *inputs,
                                    int n, const gboolean *grad)
{
    /* res[k]: the output, then the gradient of each input, on k + 1 threads */
    rg_tensor **res[2] = {g_new0(rg_tensor *, n + 1), g_new0(rg_tensor *, n + 1)};
    g_autoptr(rg_tensor) dout = NULL;
    int saved = rg_get_num_threads();
    for (int k = 0; k < 2; k++) {
        rg_set_num_threads(k + 1);
        res[k][0] = forward_backward(label, f, user_data, inputs, n, grad, &dout);
        for (int i = 0; i < n; i++) {
            rg_tensor *g = inputs[i] && grad[i] ? rg_tensor_get_grad(inputs[i]) : NULL;
            res[k][1 + i] = g ? rg_tensor_ref(g) : NULL;
        }
        release_inputs(inputs, n, grad);
    }
    rg_set_num_threads(saved);

    g_autofree char *lo = g_strdup_printf("%s 2 threads = 1 thread: out", label);
    gboolean ok = rg_check_tensor(lo, res[1][0], res[0][0], 0, 0);
    for (int i = 0; i < n; i++) {
        if (!inputs[i] || !grad[i])
            continue;
        g_autofree char *lg = g_strdup_printf("%s 2 threads = 1 thread: grad %d", label, i);
        ok &= rg_check_tensor(lg, res[1][1 + i], res[0][1 + i], 0, 0);
    }
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i <= n; i++)
            rg_tensor_unref(res[k][i]);
        g_free(res[k]);
    }
    return ok;
}

gboolean rg_expect_error_full(const char *what, gpointer result, GError *error, int code, const char *op,
                              const char *needle)
{
    gboolean ok = result == NULL && error && error->domain == RG_ERROR && error->code == code;
    if (ok && op)
        ok = g_str_has_prefix(error->message, op) && error->message[strlen(op)] == ':';
    if (ok && needle)
        ok = strstr(error->message, needle) != NULL;
    if (ok)
        g_print("OK error %s: %s\n", what, error->message);
    else
        g_print("NOT OK error %s: %s (code %d, expected %d)\n", what, error ? error->message : "no error",
                error ? error->code : -1, code);
    if (result)
        rg_tensor_unref(result);
    g_clear_error(&error);
    return ok;
}

gboolean rg_expect_error(const char *what, gpointer result, GError *error, int code, const char *op)
{
    return rg_expect_error_full(what, result, error, code, NULL, op);
}

int rg_test_spawnv(const char *exe, char **out, char **err, const char *first, va_list ap)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)exe);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        g_ptr_array_add(argv, (gpointer)a);
    g_ptr_array_add(argv, NULL);
    int wait_status = 0;
    GError *error = NULL;
    const GSpawnFlags flags = (out ? 0 : G_SPAWN_STDOUT_TO_DEV_NULL) | (err ? 0 : G_SPAWN_STDERR_TO_DEV_NULL);
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, flags, NULL, NULL, out, err, &wait_status, &error)) {
        g_printerr("NOT OK cannot run %s: %s\n", exe, error->message);
        g_error_free(error);
        rg_test_failures++;
        return -1;
    }
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

int rg_test_spawn(const char *exe, char **out, char **err, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    const int status = rg_test_spawnv(exe, out, err, first, ap);
    va_end(ap);
    return status;
}
