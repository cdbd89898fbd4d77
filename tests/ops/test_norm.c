/* test_norm.c — rg_group_norm and rg_layer_norm: parity with PyTorch
 * (tests/reference/norm.py) for the output and every gradient, finite
 * difference gradient checks, and errors for bad arguments.
 */
#include <math.h>

#include "rg_test.h"

typedef struct {
    const char *name;
    gboolean layer; /* layer norm, else group norm */
    int groups;
    float eps;
    int slice_dim; /* when slice_length > 0, the op sees inp[start:start+length] along slice_dim */
    int64_t slice_start, slice_length;
} norm_case;

/* Mirrors tests/reference/norm.py. */
static const norm_case cases[] = {
    { "gn_affine", FALSE, 8, 1e-5f, 0, 0, 0 },    // (2,40,9,9), 8 groups, weight and bias
    { "gn_3d", FALSE, 5, 1e-6f, 0, 0, 0 },        // (1,40,7), weight only
    { "gn_noaffine", FALSE, 4, 1e-5f, 0, 0, 0 },  // (2,12,3,5,4)
    { "gn_2d", FALSE, 3, 1e-3f, 0, 0, 0 },        // (3,6), bias only
    { "gn_offset", FALSE, 32, 1e-6f, 0, 0, 0 },   // (1,64,16,17), mean 20, std 0.5; multithreaded
    { "gn_slice", FALSE, 10, 1e-5f, 1, 4, 40 },   // channels [4,44) of (2,48,9,9)
    { "ln_affine", TRUE, 0, 1e-5f, 0, 0, 0 },     // (2,7,40)
    { "ln_noaffine", TRUE, 0, 1e-5f, 0, 0, 0 },   // (3,33)
    { "ln_clip", TRUE, 0, 1e-5f, 0, 0, 0 },       // (5,768), mean 3, std 2
    { "ln_big", TRUE, 0, 1e-6f, 0, 0, 0 },        // (52,320); multithreaded
    { "ln_1", TRUE, 0, 1e-5f, 0, 0, 0 },          // (4,1): xhat = 0
    { "ln_slice", TRUE, 0, 1e-5f, 1, 3, 40 },     // columns [3,43) of (4,50), weight only
};

static rg_tensor *apply(rg_ctx *ctx, const norm_case *c, rg_tensor *inp, rg_tensor *weight, rg_tensor *bias,
                        GError **error)
{
    g_autoptr(rg_tensor) x = c->slice_length > 0
                                 ? rg_slice(ctx, inp, c->slice_dim, c->slice_start, c->slice_length, error)
                                 : rg_tensor_ref(inp);
    if (!x)
        return NULL;
    if (c->layer)
        return rg_layer_norm(ctx, x, weight, bias, c->eps, error);
    return rg_group_norm(ctx, x, c->groups, weight, bias, c->eps, error);
}

static rg_tensor *load_optional(rg_safetensors *golden, const char *case_name, const char *what)
{
    g_autofree char *name = g_strdup_printf("%s.%s", case_name, what);
    return rg_safetensors_contains(golden, name) ? rg_test_load(golden, case_name, what) : NULL;
}

/* Which leaves want gradients: the input, the weight and bias, or both. */
typedef enum { GRAD_ALL, GRAD_INPUT_ONLY, GRAD_PARAMS_ONLY } grad_mode;

static rg_tensor *apply_fn(rg_ctx *ctx, rg_tensor *const *inputs, gpointer user_data, GError **error)
{
    return apply(ctx, user_data, inputs[0], inputs[1], inputs[2], error);
}

static gboolean check_case(rg_safetensors *golden, const norm_case *c, grad_mode mode)
{
    g_autoptr(rg_tensor) inp = rg_test_load(golden, c->name, "inp");
    g_autoptr(rg_tensor) weight = load_optional(golden, c->name, "weight");
    g_autoptr(rg_tensor) bias = load_optional(golden, c->name, "bias");
    g_autoptr(rg_tensor) out_ref = rg_test_load(golden, c->name, "out");
    g_autoptr(rg_tensor) dout = rg_test_load(golden, c->name, "dout");
    g_autoptr(rg_tensor) dinp_ref = rg_test_load(golden, c->name, "dinp");
    g_autoptr(rg_tensor) dweight_ref = load_optional(golden, c->name, "dweight");
    g_autoptr(rg_tensor) dbias_ref = load_optional(golden, c->name, "dbias");
    if (mode == GRAD_PARAMS_ONLY && !weight && !bias)
        return TRUE;

    const char *suffix = mode == GRAD_ALL ? "" : mode == GRAD_INPUT_ONLY ? " (frozen params)" : " (frozen input)";
    g_autofree char *label = g_strdup_printf("%s%s", c->name, suffix);
    rg_tensor *inputs[3] = { inp, weight, bias };
    /* NULL: frozen, and checked to get no gradient */
    rg_tensor *din_refs[3] = { mode != GRAD_PARAMS_ONLY ? dinp_ref : NULL, mode != GRAD_INPUT_ONLY ? dweight_ref : NULL,
                               mode != GRAD_INPUT_ONLY ? dbias_ref : NULL };
    static const char *const names[3] = { "dinp", "dweight", "dbias" };
    static const rg_tol tol[4] = {
        { 5e-6, 1e-5 }, /* out: values up to ~5 (ulp 5e-7), from f32 statistics */
        { 1e-5, 1e-4 }, /* dinp: three terms of up to ~10 that cancel (ulp 1e-6), f32 sums over a group */
        { 2e-5, 2e-5 }, /* dweight, dbias: sums over N x HW (up to 272) O(1) products, f32 lanes then double */
        { 2e-5, 2e-5 },
    };
    gboolean ok = rg_check_vjp_full(label, apply_fn, (gpointer)c, inputs, 3, out_ref, dout, din_refs, names, tol);
    if (!ok)
        g_printerr("NOT OK case %s\n", label);
    return ok;
}

/* ---- finite differences ---------------------------------------------------- */

static gboolean gradcheck_case(const char *label, const norm_case *c, int ndim, const int64_t *shape,
                               gboolean affine, float offset)
{
    int64_t C = c->layer ? shape[ndim - 1] : shape[1];
    g_autoptr(rg_tensor) x = rg_test_random(11, ndim, shape, -2.0f + offset, 2.0f + offset);
    g_autoptr(rg_tensor) w = affine ? rg_test_random(12, 1, &C, 0.5f, 1.5f) : NULL;
    g_autoptr(rg_tensor) b = affine ? rg_test_random(13, 1, &C, -1.0f, 1.0f) : NULL;
    rg_tensor *inputs[3] = { x, w, b };
    gboolean check[3] = { TRUE, affine, affine };
    /* f32 forward: objective noise ~1e-6 over 2*eps = 2e-2, plus eps^2 curvature terms */
    return rg_gradcheck(label, apply_fn, (gpointer)c, inputs, 3, check, 1e-2, 3e-3, 1e-2, 64);
}

static gboolean gradchecks(void)
{
    static const norm_case gn = { "gn", FALSE, 3, 1e-5f, 0, 0, 0 };
    static const norm_case gn1 = { "gn1", FALSE, 1, 1e-5f, 0, 0, 0 };
    static const norm_case ln = { "ln", TRUE, 0, 1e-5f, 0, 0, 0 };
    gboolean ok = TRUE;
    ok &= gradcheck_case("group_norm (2,6,3,2) 3 groups affine", &gn, 4, (int64_t[]){ 2, 6, 3, 2 }, TRUE, 0.0f);
    ok &= gradcheck_case("group_norm (1,6,5) 3 groups", &gn, 3, (int64_t[]){ 1, 6, 5 }, FALSE, 0.0f);
    ok &= gradcheck_case("group_norm (2,3,4) 1 group affine, mean 5", &gn1, 3, (int64_t[]){ 2, 3, 4 }, TRUE, 5.0f);
    ok &= gradcheck_case("layer_norm (3,7) affine", &ln, 2, (int64_t[]){ 3, 7 }, TRUE, 0.0f);
    ok &= gradcheck_case("layer_norm (2,2,5)", &ln, 3, (int64_t[]){ 2, 2, 5 }, FALSE, 0.0f);
    return ok;
}

/* ---- bad input ---------------------------------------------------------------- */

static gboolean bad_inputs(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int64_t s4[4] = { 2, 40, 3, 3 }, s1[1] = { 40 }, s39[1] = { 39 }, s2[2] = { 40, 1 };
    g_autoptr(rg_tensor) x = rg_test_random(1, 4, s4, -1, 1);
    g_autoptr(rg_tensor) xi = rg_tensor_new(RG_DTYPE_I64, 4, s4, &error);
    g_autoptr(rg_tensor) x1 = rg_test_random(2, 1, s1, -1, 1);
    g_autoptr(rg_tensor) x0 = rg_test_random(2, 0, NULL, -1, 1);
    g_autoptr(rg_tensor) w = rg_test_random(3, 1, s1, -1, 1);
    g_autoptr(rg_tensor) w39 = rg_test_random(3, 1, s39, -1, 1);
    g_autoptr(rg_tensor) w2d = rg_test_random(3, 2, s2, -1, 1);
    g_autoptr(rg_tensor) wi = rg_tensor_new(RG_DTYPE_I64, 1, s1, &error);
    g_autoptr(rg_tensor) l = rg_test_random(4, 2, (int64_t[]){ 3, 40 }, -1, 1);
    rg_assert_no_error(error);
    gboolean ok = TRUE;
    const char *gn = "group_norm", *ln = "layer_norm";
    RG_EXPECT_ERROR_FULL(ok, "3 groups for 40 channels", rg_group_norm(ctx, x, 3, w, w, 1e-5f, &err_),
                         RG_ERROR_ARGUMENT, gn, NULL);
    RG_EXPECT_ERROR_FULL(ok, "0 groups", rg_group_norm(ctx, x, 0, NULL, NULL, 1e-5f, &err_),
                         RG_ERROR_ARGUMENT, gn, NULL);
    RG_EXPECT_ERROR_FULL(ok, "-8 groups", rg_group_norm(ctx, x, -8, NULL, NULL, 1e-5f, &err_),
                         RG_ERROR_ARGUMENT, gn, NULL);
    RG_EXPECT_ERROR_FULL(ok, "weight (39)", rg_group_norm(ctx, x, 8, w39, w, 1e-5f, &err_), RG_ERROR_SHAPE, gn, NULL);
    RG_EXPECT_ERROR_FULL(ok, "bias (40,1)", rg_group_norm(ctx, x, 8, w, w2d, 1e-5f, &err_), RG_ERROR_SHAPE, gn, NULL);
    RG_EXPECT_ERROR_FULL(ok, "1-D input", rg_group_norm(ctx, x1, 8, NULL, NULL, 1e-5f, &err_),
                         RG_ERROR_SHAPE, gn, NULL);
    RG_EXPECT_ERROR_FULL(ok, "I64 input", rg_group_norm(ctx, xi, 8, NULL, NULL, 1e-5f, &err_),
                         RG_ERROR_DTYPE, gn, NULL);
    RG_EXPECT_ERROR_FULL(ok, "I64 weight", rg_group_norm(ctx, x, 8, wi, NULL, 1e-5f, &err_), RG_ERROR_DTYPE, gn, NULL);
    RG_EXPECT_ERROR_FULL(ok, "negative eps", rg_group_norm(ctx, x, 8, w, w, -1e-5f, &err_),
                         RG_ERROR_ARGUMENT, gn, NULL);
    RG_EXPECT_ERROR_FULL(ok, "NaN eps", rg_group_norm(ctx, x, 8, w, w, NAN, &err_), RG_ERROR_ARGUMENT, gn, NULL);
    RG_EXPECT_ERROR_FULL(ok, "ln weight (39)", rg_layer_norm(ctx, l, w39, NULL, 1e-5f, &err_),
                         RG_ERROR_SHAPE, ln, NULL);
    RG_EXPECT_ERROR_FULL(ok, "ln bias (39)", rg_layer_norm(ctx, l, w, w39, 1e-5f, &err_), RG_ERROR_SHAPE, ln, NULL);
    RG_EXPECT_ERROR_FULL(ok, "ln I64 bias", rg_layer_norm(ctx, l, NULL, wi, 1e-5f, &err_), RG_ERROR_DTYPE, ln, NULL);
    RG_EXPECT_ERROR_FULL(ok, "ln I64 input", rg_layer_norm(ctx, xi, NULL, NULL, 1e-5f, &err_),
                         RG_ERROR_DTYPE, ln, NULL);
    RG_EXPECT_ERROR_FULL(ok, "ln 0-D input", rg_layer_norm(ctx, x0, NULL, NULL, 1e-5f, &err_),
                         RG_ERROR_SHAPE, ln, NULL);
    RG_EXPECT_ERROR_FULL(ok, "ln infinite eps", rg_layer_norm(ctx, l, NULL, NULL, INFINITY, &err_),
                         RG_ERROR_ARGUMENT, ln, NULL);
    return ok;
}

int main(void)
{
    gboolean ok = TRUE;
    g_autoptr(rg_safetensors) golden = rg_test_golden("norm");
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        ok &= check_case(golden, &cases[i], GRAD_ALL);
        ok &= check_case(golden, &cases[i], GRAD_INPUT_ONLY);
        ok &= check_case(golden, &cases[i], GRAD_PARAMS_ONLY);
    }
    ok &= gradchecks();
    ok &= bad_inputs();
    g_print(ok ? "ALL OK test_norm\n" : "FAILED test_norm\n");
    return ok ? 0 : 1;
}
