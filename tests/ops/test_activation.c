/* test_activation.c — rg_silu, rg_gelu, rg_quick_gelu, rg_relu, rg_tanh,
 * rg_geglu and rg_softmax: parity with PyTorch (tests/reference/activation.py)
 * for the output and the input gradient, a multithreaded GEGLU against a
 * double-precision loop, finite difference gradient checks, and errors for
 * bad arguments.
 */
#include <math.h>
#include <string.h>

#include "rg_test.h"

typedef rg_tensor *(*act_fn)(rg_ctx *ctx, rg_tensor *x, GError **error);

typedef struct {
    const char *name;
    act_fn fn;
    int slice_dim; /* when slice_length > 0, the op sees inp[start:start+length] along slice_dim */
    int64_t slice_start, slice_length;
} act_case;

/* Mirrors tests/reference/activation.py. */
static const act_case cases[] = {
    { "silu", rg_silu, 0, 0, 0 },             // (3,37) with 0, -20, 20
    { "gelu", rg_gelu, 0, 0, 0 },
    { "quick_gelu", rg_quick_gelu, 0, 0, 0 },
    { "relu", rg_relu, 0, 0, 0 },
    { "tanh", rg_tanh, 0, 0, 0 },
    { "silu_big", rg_silu, 0, 0, 0 },         // (2,16500): multithreaded
    { "gelu_slice", rg_gelu, 1, 5, 10 },      // columns [5,15) of (6,20)
    { "geglu", rg_geglu, 0, 0, 0 },           // (2,5,48) -> (2,5,24)
    { "geglu_1", rg_geglu, 0, 0, 0 },         // (3,2) -> (3,1)
    { "geglu_slice", rg_geglu, 2, 6, 48 },    // [6,54) of the last dim of (2,5,60)
    { "softmax", rg_softmax, 0, 0, 0 },       // (3,4,17), logits ~ N(0, 30^2)
    { "softmax_1", rg_softmax, 0, 0, 0 },     // (5,1)
    { "softmax_big", rg_softmax, 0, 0, 0 },   // (4,40,60): multithreaded
    { "softmax_slice", rg_softmax, 1, 2, 25 }, // columns [2,27) of (4,30)
    { "exp", rg_exp, 0, 0, 0 },               // (3,37) with 0, -20, 20
};

/* Every function once, for gradient checks and bad input. */
static const act_case functions[] = {
    { "silu", rg_silu, 0, 0, 0 }, { "gelu", rg_gelu, 0, 0, 0 }, { "quick_gelu", rg_quick_gelu, 0, 0, 0 },
    { "relu", rg_relu, 0, 0, 0 }, { "tanh", rg_tanh, 0, 0, 0 },   { "geglu", rg_geglu, 0, 0, 0 },
    { "softmax", rg_softmax, 0, 0, 0 }, { "exp", rg_exp, 0, 0, 0 },
};

static rg_tensor *apply(rg_ctx *ctx, const act_case *c, rg_tensor *inp, GError **error)
{
    g_autoptr(rg_tensor) x = c->slice_length > 0
                                 ? rg_slice(ctx, inp, c->slice_dim, c->slice_start, c->slice_length, error)
                                 : rg_tensor_ref(inp);
    return x ? c->fn(ctx, x, error) : NULL;
}

static gboolean check_case(rg_safetensors *golden, const act_case *c)
{
    GError *error = NULL;
    g_autoptr(rg_tensor) inp = rg_test_load(golden, c->name, "inp");
    g_autoptr(rg_tensor) out_ref = rg_test_load(golden, c->name, "out");
    g_autoptr(rg_tensor) dout = rg_test_load(golden, c->name, "dout");
    g_autoptr(rg_tensor) dinp_ref = rg_test_load(golden, c->name, "dinp");
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_tensor_set_requires_grad(inp, TRUE);
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) out = apply(ctx, c, inp, &error);
    rg_assert_no_error(error);
    rg_ctx_set_tape(ctx, NULL);
    if (!rg_tape_backward_with(ctx, tape, 1, &out, &dout, &error))
        g_error("%s: backward: %s", c->name, error->message);
    g_autofree char *l_out = g_strdup_printf("%s out", c->name);
    g_autofree char *l_dinp = g_strdup_printf("%s dinp", c->name);
    gboolean ok = TRUE;
    /* f32 expf/erff/tanhf are within a few ulp; outputs reach 20 (ulp 2e-6) */
    ok &= rg_check_tensor(l_out, out, out_ref, 1e-6, 1e-5);
    /* derivatives are products of two or three such terms with dout ~ N(0,1) */
    ok &= rg_check_tensor(l_dinp, rg_tensor_get_grad(inp), dinp_ref, 2e-6, 2e-5);
    return ok;
}

/* ---- multithreaded GEGLU against double precision ---------------------------- */

static double gelu_d(double x)
{
    return 0.5 * x * (1.0 + erf(x * M_SQRT1_2));
}

static gboolean geglu_big(void)
{
    GError *error = NULL;
    int64_t shape[3] = { 2, 100, 400 }, D = 200, R = 200; // R * D = 40000 > 32768: multithreaded
    int64_t oshape[3] = { 2, 100, 200 };
    g_autoptr(rg_tensor) x = rg_test_random(21, 3, shape, -4.0f, 4.0f);
    g_autoptr(rg_tensor) dy = rg_test_random(22, 3, oshape, -1.0f, 1.0f);
    g_autoptr(rg_tensor) out_ref = rg_tensor_new(RG_DTYPE_F32, 3, oshape, &error);
    g_autoptr(rg_tensor) dinp_ref = rg_tensor_new(RG_DTYPE_F32, 3, shape, &error);
    const float *px = rg_tensor_data_f32(x), *pdy = rg_tensor_data_f32(dy);
    float *po = rg_tensor_data_f32(out_ref), *pdx = rg_tensor_data_f32(dinp_ref);
    for (int64_t r = 0; r < R; r++)
        for (int64_t i = 0; i < D; i++) {
            double h = px[r * 2 * D + i], g = px[r * 2 * D + D + i], d = pdy[r * D + i];
            double dgelu = 0.5 * (1.0 + erf(g * M_SQRT1_2)) + g * exp(-0.5 * g * g) / sqrt(2.0 * M_PI);
            po[r * D + i] = (float)(h * gelu_d(g));
            pdx[r * 2 * D + i] = (float)(d * gelu_d(g));
            pdx[r * 2 * D + D + i] = (float)(d * h * dgelu);
        }
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_tensor_set_requires_grad(x, TRUE);
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) out = rg_geglu(ctx, x, &error);
    rg_assert_no_error(error);
    rg_ctx_set_tape(ctx, NULL);
    if (!rg_tape_backward_with(ctx, tape, 1, &out, &dy, &error))
        g_error("geglu_big: backward: %s", error->message);
    gboolean ok = TRUE;
    /* as for the golden cases */
    ok &= rg_check_tensor("geglu_big out", out, out_ref, 1e-6, 1e-5);
    ok &= rg_check_tensor("geglu_big dinp", rg_tensor_get_grad(x), dinp_ref, 2e-6, 2e-5);
    return ok;
}

/* ---- finite differences ------------------------------------------------------ */

static rg_tensor *gradcheck_fn(rg_ctx *ctx, rg_tensor *const *inputs, gpointer user_data, GError **error)
{
    return ((const act_case *)user_data)->fn(ctx, inputs[0], error);
}

static gboolean gradchecks(void)
{
    gboolean ok = TRUE;
    for (size_t i = 0; i < G_N_ELEMENTS(functions); i++) {
        const act_case *c = &functions[i];
        int64_t shape[2] = { 3, 6 };
        g_autoptr(rg_tensor) x = rg_test_random(31 + (guint32)i, 2, shape, -2.5f, 2.5f);
        if (c->fn == rg_relu) {
            /* keep clear of the kink at 0, where the finite difference straddles it */
            float *p = rg_tensor_data_f32(x);
            for (int j = 0; j < 18; j++)
                if (fabsf(p[j]) < 0.05f)
                    p[j] = 0.5f;
        }
        gboolean check = TRUE;
        g_autofree char *label = g_strdup_printf("%s (3,6)", c->name);
        /* f32 forward: objective noise ~1e-6 over 2*eps = 2e-2, curvature error ~eps^2 */
        ok &= rg_gradcheck(label, gradcheck_fn, (gpointer)c, &x, 1, &check, 1e-2, 1e-3, 1e-2, 64);
    }
    return ok;
}

/* ---- accuracy against double precision, special values ---------------------- */

static double silu_d(double x)
{
    return x / (1.0 + exp(-x));
}

static double silu_grad_d(double x)
{
    double s = 1.0 / (1.0 + exp(-x));
    return s * (1.0 + x * (1.0 - s));
}

static double quick_gelu_d(double x)
{
    return x / (1.0 + exp(-(double)1.702f * x));
}

static double quick_gelu_grad_d(double x)
{
    double a = (double)1.702f, s = 1.0 / (1.0 + exp(-a * x));
    return s * (1.0 + a * x * (1.0 - s));
}

/* gelu_d() in the erfc form, which keeps its relative precision for x << 0 */
static double gelu_tail_d(double x)
{
    return 0.5 * x * erfc(-x * M_SQRT1_2);
}

static double gelu_grad_d(double x)
{
    return 0.5 * erfc(-x * M_SQRT1_2) + x * exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
}

static double tanh_grad_d(double x)
{
    double y = tanh(x);
    return 1.0 - y * y;
}

typedef struct {
    const char *name;
    act_fn fn;
    double (*f)(double x), (*df)(double x);
    double lo, hi; /* the sweep; silu and quick_gelu flush |f| < 2e-36 to 0, gelu x < -13.2 */
} unary_ref;

static const unary_ref unary_refs[] = {
    { "silu", rg_silu, silu_d, silu_grad_d, -80, 90 },
    { "gelu", rg_gelu, gelu_tail_d, gelu_grad_d, -13, 20 },
    { "quick_gelu", rg_quick_gelu, quick_gelu_d, quick_gelu_grad_d, -48, 60 },
    { "tanh", rg_tanh, tanh, tanh_grad_d, -20, 20 },
};

/* y = f(x) and dx = f'(x) (backward with dout = 1) through the front door */
static void run_unary(act_fn fn, rg_tensor *x, rg_tensor **y, rg_tensor **dx)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_tensor_set_requires_grad(x, TRUE);
    rg_ctx_set_tape(ctx, tape);
    *y = fn(ctx, x, &error);
    rg_assert_no_error(error);
    rg_ctx_set_tape(ctx, NULL);
    g_autoptr(rg_tensor) ones = rg_tensor_new_full(rg_tensor_ndim(*y), rg_tensor_shape(*y), 1.0f, &error);
    if (!rg_tape_backward_with(ctx, tape, 1, y, &ones, &error))
        g_error("backward: %s", error->message);
    *dx = rg_tensor_ref(rg_tensor_get_grad(x));
    rg_tensor_zero_grad(x);
}

/* Every 1777th float in [lo, hi]: the error of f and
 * of f' relative to the size of their terms (f' = s + x s (1 - s) and Phi + x
 * phi cross 0; tanh' = 1 - tanh^2 is computed from the float tanh, so its
 * error is absolute). */
static gboolean accuracy_sweep(void)
{
    gboolean ok = TRUE;
    for (size_t k = 0; k < G_N_ELEMENTS(unary_refs); k++) {
        const unary_ref *u = &unary_refs[k];
        GArray *xs = g_array_new(FALSE, FALSE, sizeof(float));
        for (int sign = 0; sign < 2; sign++) {
            float end = sign ? (float)-u->lo : (float)u->hi, v;
            for (uint32_t bits = 0;; bits += 1777) {
                memcpy(&v, &bits, sizeof v);
                if (v > end)
                    break;
                v = sign ? -v : v;
                g_array_append_val(xs, v);
            }
        }
        int64_t n = xs->len;
        g_autoptr(rg_tensor) x = rg_tensor_new_from_data(RG_DTYPE_F32, 1, &n, xs->data, NULL);
        g_array_free(xs, TRUE);
        g_autoptr(rg_tensor) y = NULL;
        g_autoptr(rg_tensor) dx = NULL;
        run_unary(u->fn, x, &y, &dx);
        const float *px = rg_tensor_data_f32(x), *py = rg_tensor_data_f32(y), *pd = rg_tensor_data_f32(dx);
        double err_f = 0, err_d = 0;
        float at_f = 0, at_d = 0;
        for (int64_t i = 0; i < n; i++) {
            double xd = px[i], ref = u->f(xd), dref = u->df(xd);
            double e = fabs(py[i] - ref) / fmax(fabs(ref), 1e-37);
            /* f' = f / x + (f' - f / x): s + x s (1 - s), or Phi + x phi */
            double scale = xd == 0 ? fabs(dref) : fabs(ref / xd) + fabs(dref - ref / xd);
            if (u->fn == rg_tanh)
                scale = 1.0;
            double ed = fabs(pd[i] - dref) / fmax(scale, 1e-37);
            if (e > err_f) {
                err_f = e;
                at_f = px[i];
            }
            if (ed > err_d) {
                err_d = ed;
                at_d = px[i];
            }
        }
        /* 5e-7 is 4 to 8 ulp; the approximations measure 1.5 to 4.5 ulp over all floats */
        gboolean good = err_f <= 5e-7 && err_d <= 5e-7;
        g_print("%s %s vs double over %ld points in [%g, %g]: max rel error %.3g (x = %.7g), of the gradient %.3g "
                "(x = %.7g)\n",
                good ? "OK" : "NOT OK", u->name, (long)n, u->lo, u->hi, err_f, at_f, err_d, at_d);
        ok &= good;
    }
    return ok;
}

/* within 5e-7 relative, or atol; below 1e-35 the engine may flush to 0 */
static gboolean same_value(float got, double want, double atol)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want) || want == 0)
        return got == want;
    return fabs(got - want) <= 5e-7 * fabs(want) + atol || (fabs(want) < 1e-35 && got == 0);
}

/* NaN propagates; +-inf give the limits, not inf * 0 = NaN; values where exp
 * overflows or underflows in float. */
static gboolean special_values(void)
{
    static const float in[] = { NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e30f, -1e30f, 88.8f, -88.8f,
                                87.2f, -87.2f, 13.3f, -13.3f, 50.0f, -50.0f };
    /* the limits at +inf and -inf: f, then f' */
    static const double lim[][4] = { { INFINITY, 0, 1, 0 }, { INFINITY, 0, 1, 0 }, { INFINITY, 0, 1, 0 },
                                     { 1, -1, 0, 0 } };
    gboolean ok = TRUE;
    int64_t n = G_N_ELEMENTS(in);
    for (size_t k = 0; k < G_N_ELEMENTS(unary_refs); k++) {
        const unary_ref *u = &unary_refs[k];
        g_autoptr(rg_tensor) x = rg_tensor_new_from_data(RG_DTYPE_F32, 1, &n, in, NULL);
        g_autoptr(rg_tensor) y = NULL;
        g_autoptr(rg_tensor) dx = NULL;
        run_unary(u->fn, x, &y, &dx);
        const float *py = rg_tensor_data_f32(y), *pd = rg_tensor_data_f32(dx);
        for (int64_t i = 0; i < n; i++) {
            double f = u->f(in[i]), df = u->df(in[i]);
            if (isinf(in[i])) {
                f = lim[k][in[i] > 0 ? 0 : 1];
                df = lim[k][in[i] > 0 ? 2 : 3];
            }
            /* tanh' = 1 - tanh^2 from the float tanh: absolute error */
            gboolean good = same_value(py[i], f, 0) && same_value(pd[i], df, u->fn == rg_tanh ? 1e-7 : 0);
            if (!good)
                g_print("NOT OK %s(%g) = %g, gradient %g; expected %g, %g\n", u->name, in[i], py[i], pd[i], f, df);
            ok &= good;
        }
        g_print("%s %s of NaN, +-inf, +-0 and where exp overflows or underflows\n", ok ? "OK" : "NOT OK", u->name);
    }
    return ok;
}

/* Rows with -inf (masked), all -inf or NaN (NaN rows, as in PyTorch), and
 * logits far apart. */
static gboolean softmax_special(void)
{
    GError *error = NULL;
    float in[4][4] = { { -INFINITY, 0.0f, 1.0f, -INFINITY },
                       { -INFINITY, -INFINITY, -INFINITY, -INFINITY },
                       { 1.0f, NAN, 2.0f, 3.0f },
                       { 1000.0f, -1000.0f, 0.0f, 1000.0f } };
    double e = exp(1.0);
    double want[4][4] = { { 0, 1 / (1 + e), e / (1 + e), 0 }, { NAN, NAN, NAN, NAN }, { NAN, NAN, NAN, NAN },
                          { 0.5, 0, 0, 0.5 } };
    int64_t shape[2] = { 4, 4 };
    g_autoptr(rg_tensor) x = rg_tensor_new_from_data(RG_DTYPE_F32, 2, shape, in, NULL);
    g_autoptr(rg_tensor) dy = rg_test_random(5, 2, shape, -1.0f, 1.0f);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_tensor_set_requires_grad(x, TRUE);
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) y = rg_softmax(ctx, x, &error);
    rg_assert_no_error(error);
    rg_ctx_set_tape(ctx, NULL);
    if (!rg_tape_backward_with(ctx, tape, 1, &y, &dy, &error))
        g_error("softmax_special: backward: %s", error->message);
    const float *py = rg_tensor_data_f32(y), *pdx = rg_tensor_data_f32(rg_tensor_get_grad(x));
    const float *pdy = rg_tensor_data_f32(dy);
    gboolean ok = TRUE;
    for (int r = 0; r < 4; r++) {
        double s = 0; /* dx_i = y_i (dy_i - sum_j dy_j y_j) */
        for (int i = 0; i < 4; i++)
            s += pdy[r * 4 + i] * want[r][i];
        for (int i = 0; i < 4; i++) {
            double dx = want[r][i] * (pdy[r * 4 + i] - s);
            gboolean good = same_value(py[r * 4 + i], want[r][i], 0) &&
                            (isnan(dx) ? isnan(pdx[r * 4 + i]) : fabs(pdx[r * 4 + i] - dx) <= 1e-6);
            if (!good)
                g_print("NOT OK softmax row %d [%d]: %g, gradient %g; expected %g, %g\n", r, i, py[r * 4 + i],
                        pdx[r * 4 + i], want[r][i], dx);
            ok &= good;
        }
    }
    g_print("%s softmax of rows with -inf, all -inf, NaN, and logits 2000 apart\n", ok ? "OK" : "NOT OK");
    return ok;
}

/* The kernels split the work into fixed blocks: 1 and 2 threads give the same bits. */
static gboolean thread_invariance(void)
{
    gboolean ok = TRUE, grad = TRUE;
    int64_t shape[2] = { 3, 40000 }; // 120000 elements: several blocks per thread
    for (size_t i = 0; i < G_N_ELEMENTS(functions); i++) {
        g_autoptr(rg_tensor) x = rg_test_random(41 + (guint32)i, 2, shape, -8.0f, 8.0f);
        ok &= rg_check_thread_invariance(functions[i].name, gradcheck_fn, (gpointer)&functions[i], &x, 1, &grad);
    }
    return ok;
}

/* ---- bad input --------------------------------------------------------------- */

static gboolean expect_error(const char *label, rg_tensor *result, GError *error, int code, const char *op)
{
    g_autofree char *prefix = g_strdup_printf("%s:", op);
    gboolean ok = result == NULL && error != NULL && error->domain == RG_ERROR && error->code == code &&
                  g_str_has_prefix(error->message, prefix);
    g_print("%s error %s: %s\n", ok ? "OK" : "NOT OK", label, error ? error->message : "(no error)");
    if (result)
        rg_tensor_unref(result);
    g_clear_error(&error);
    return ok;
}

static gboolean bad_inputs(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int64_t s[2] = { 3, 5 };
    g_autoptr(rg_tensor) xi = rg_tensor_new(RG_DTYPE_I64, 2, s, &error);
    g_autoptr(rg_tensor) odd = rg_test_random(1, 2, s, -1, 1);
    g_autoptr(rg_tensor) x0 = rg_test_random(2, 0, NULL, -1, 1);
    rg_assert_no_error(error);
    gboolean ok = TRUE;
    for (size_t i = 0; i < G_N_ELEMENTS(functions); i++) {
        g_autofree char *label = g_strdup_printf("%s I64 input", functions[i].name);
        rg_tensor *r = functions[i].fn(ctx, xi, &error);
        ok &= expect_error(label, r, error, RG_ERROR_DTYPE, functions[i].name);
        error = NULL;
    }
    rg_tensor *r = rg_geglu(ctx, odd, &error);
    ok &= expect_error("geglu odd last dim (3,5)", r, error, RG_ERROR_SHAPE, "geglu");
    error = NULL;
    r = rg_geglu(ctx, x0, &error);
    ok &= expect_error("geglu 0-D input", r, error, RG_ERROR_SHAPE, "geglu");
    error = NULL;
    r = rg_softmax(ctx, x0, &error);
    ok &= expect_error("softmax 0-D input", r, error, RG_ERROR_SHAPE, "softmax");
    error = NULL;
    /* a 0-D input is fine for element-wise functions */
    r = rg_tanh(ctx, x0, &error);
    gboolean ok0 = r && !error && rg_tensor_ndim(r) == 0 &&
                   fabs(rg_tensor_get_flat(r, 0) - tanh(rg_tensor_get_flat(x0, 0))) < 1e-6;
    g_print("%s tanh of a 0-D input\n", ok0 ? "OK" : "NOT OK");
    ok &= ok0;
    g_clear_pointer(&r, rg_tensor_unref);
    g_clear_error(&error);
    return ok;
}

/* exp over the whole float range: overflow to +inf, underflow to 0, NaN stays. */
static gboolean exp_special(void)
{
    GError *error = NULL;
    const float in[8] = { -INFINITY, -104.0f, -87.0f, 0.0f, 88.7f, 89.0f, INFINITY, NAN };
    int64_t n = 8;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tensor) x = rg_tensor_new_from_data(RG_DTYPE_F32, 1, &n, in, &error);
    g_autoptr(rg_tensor) y = rg_exp(ctx, x, &error);
    rg_assert_no_error(error);
    const float *p = rg_tensor_data_f32(y);
    gboolean ok = p[0] == 0.0f && p[1] == 0.0f && fabs(p[2] / exp((double)in[2]) - 1) < 1e-6 && p[3] == 1.0f &&
                  fabs(p[4] / exp((double)in[4]) - 1) < 1e-6 && isinf(p[5]) && isinf(p[6]) && isnan(p[7]);
    g_print("%s exp of -inf, underflow, 0, overflow, +inf and NaN\n", ok ? "OK" : "NOT OK");
    return ok;
}

int main(void)
{
    gboolean ok = TRUE;
    g_autoptr(rg_safetensors) golden = rg_test_golden("activation");
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        ok &= check_case(golden, &cases[i]);
    ok &= geglu_big();
    ok &= gradchecks();
    ok &= accuracy_sweep();
    ok &= special_values();
    ok &= softmax_special();
    ok &= exp_special();
    ok &= thread_invariance();
    ok &= bad_inputs();
    g_print(ok ? "ALL OK test_activation\n" : "FAILED test_activation\n");
    return ok ? 0 : 1;
}
