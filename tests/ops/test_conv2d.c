/* test_conv2d.c — rg_conv2d: parity with PyTorch (tests/reference/conv2d.py)
 * for the output and every gradient, through the front door and through each
 * kernel algorithm (im2col + GEMM, Winograd); frozen weights; non-contiguous
 * arguments; finite differences; bad input.
 *
 * Tolerances: the golden tensors are float64 results rounded to f32. The GEMM
 * path differs from them by f32 accumulation only (~1e-6 relative); Winograd
 * F(4x4,3x3) adds the rounding of its transforms (~1e-5 relative to the
 * output's scale, which is ~1). Weight and bias gradients sum over up to
 * N*H*W ~ 500 pixels and are ~20 in size, so they get a larger atol.
 */
#include <math.h>

#include "ops/conv2d.h"
#include "rg_test.h"

typedef struct {
    const char *name;
    int stride, padding;
    gboolean bias;
} conv_case;

/* as in tests/reference/conv2d.py */
static const conv_case cases[] = {
    {"s1", 1, 1, TRUE},   /* 3x3 stride 1 pad 1, C 40 -> 24, 9x9, batch 2 */
    {"s2", 2, 1, TRUE},   /* 3x3 stride 2, 7x9 */
    {"pw", 1, 0, TRUE},   /* 1x1 */
    {"nob", 1, 1, FALSE}, /* no bias */
    {"edge", 1, 1, TRUE}, /* 1x32x17x15 -> 16: Winograd tiles cut at both edges */
    {"p0", 1, 0, TRUE},   /* no padding */
    {"p2", 1, 2, TRUE},   /* padding 2 */
    {"p3", 1, 3, TRUE},   /* padding 3: the input-gradient conv crops */
    {"pw2", 2, 1, TRUE},  /* 1x1 stride 2 with padding */
    {"s2e", 2, 0, TRUE},  /* stride 2, no padding, last row unused */
};

/* f32 accumulation of O(1) terms (out, dinp) */
#define ATOL_OUT 1e-4
#define RTOL_OUT 1e-4
/* Winograd: transform rounding on top, still well under 1e-4 of the scale */
#define ATOL_WINO 2e-4
/* dweight and dbias: sums of hundreds of O(1) products, magnitude ~20 */
#define ATOL_DW 5e-4

static gboolean check(const char *c, const char *what, rg_tensor *got, rg_tensor *ref, double atol, double rtol)
{
    g_autofree char *label = g_strdup_printf("%s %s", c, what);
    return rg_check_tensor(label, got, ref, atol, rtol);
}

typedef struct {
    int stride, padding;
} conv_args;

static rg_tensor *f_conv(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    const conv_args *a = user_data;
    return rg_conv2d(ctx, in[0], in[1], in[2], a->stride, a->padding, error);
}

static const char *const grad_names[3] = {"dinp", "dweight", "dbias"};

/* The front door with a tape: out, dinp, dweight, dbias against PyTorch. */
static gboolean parity_front_door(rg_safetensors *g, const conv_case *c)
{
    g_autoptr(rg_tensor) x = rg_test_load(g, c->name, "inp");
    g_autoptr(rg_tensor) w = rg_test_load(g, c->name, "weight");
    g_autoptr(rg_tensor) b = c->bias ? rg_test_load(g, c->name, "bias") : NULL;
    g_autoptr(rg_tensor) out_ref = rg_test_load(g, c->name, "out");
    g_autoptr(rg_tensor) dout = rg_test_load(g, c->name, "dout");
    g_autoptr(rg_tensor) dx_ref = rg_test_load(g, c->name, "dinp");
    g_autoptr(rg_tensor) dw_ref = rg_test_load(g, c->name, "dweight");
    g_autoptr(rg_tensor) db_ref = c->bias ? rg_test_load(g, c->name, "dbias") : NULL;
    rg_tensor *in[3] = {x, w, b}, *din_refs[3] = {dx_ref, dw_ref, db_ref};
    conv_args args = {c->stride, c->padding};
    static const rg_tol tol[4] = {
        {ATOL_WINO, RTOL_OUT}, {ATOL_WINO, RTOL_OUT}, {ATOL_DW, RTOL_OUT}, {ATOL_DW, RTOL_OUT}};
    return rg_check_vjp_full(c->name, f_conv, &args, in, 3, out_ref, dout, din_refs, grad_names, tol);
}

/* The kernels called directly with a forced algorithm (Winograd applies to
 * 3x3 stride 1 only; other cases fall back to GEMM, so both calls agree). */
static gboolean parity_kernels(rg_safetensors *g, const conv_case *c, rg_conv2d_algo algo)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tensor) x = rg_test_load(g, c->name, "inp");
    g_autoptr(rg_tensor) w = rg_test_load(g, c->name, "weight");
    g_autoptr(rg_tensor) b = c->bias ? rg_test_load(g, c->name, "bias") : NULL;
    g_autoptr(rg_tensor) out_ref = rg_test_load(g, c->name, "out");
    g_autoptr(rg_tensor) dout = rg_test_load(g, c->name, "dout");
    g_autoptr(rg_tensor) dx_ref = rg_test_load(g, c->name, "dinp");
    g_autoptr(rg_tensor) dw_ref = rg_test_load(g, c->name, "dweight");
    g_autoptr(rg_tensor) y = rg_tensor_new_full(4, rg_tensor_shape(out_ref), NAN, &error);
    g_autoptr(rg_tensor) dx = rg_tensor_new_full(4, rg_tensor_shape(x), NAN, &error);
    g_autoptr(rg_tensor) dw = rg_tensor_new_full(4, rg_tensor_shape(w), NAN, &error);
    rg_conv2d_params p = {c->stride, c->padding, algo};
    const char *an = algo == RG_CONV2D_WINOGRAD ? "winograd" : "gemm";
    g_autofree char *name = g_strdup_printf("%s[%s]", c->name, an);
    gboolean ok = TRUE;

    rg_tensor *fwd[4] = {y, x, w, b};
    ok &= rg_ctx_compute(ctx, RG_OP_CONV2D, &p, fwd, &error);
    rg_assert_no_error(error);
    ok &= check(name, "out", y, out_ref, algo == RG_CONV2D_WINOGRAD ? ATOL_WINO : ATOL_OUT, RTOL_OUT);
    /* input gradient alone, as with frozen weights (no input passed) */
    rg_tensor *back[6] = {dx, NULL, NULL, dout, NULL, w};
    ok &= rg_ctx_compute(ctx, RG_OP_CONV2D_BACK, &p, back, &error);
    rg_assert_no_error(error);
    ok &= check(name, "dinp", dx, dx_ref, algo == RG_CONV2D_WINOGRAD ? ATOL_WINO : ATOL_OUT, RTOL_OUT);
    /* weight gradient alone (no weight passed) */
    rg_tensor *backw[6] = {NULL, dw, NULL, dout, x, NULL};
    ok &= rg_ctx_compute(ctx, RG_OP_CONV2D_BACK, &p, backw, &error);
    rg_assert_no_error(error);
    ok &= check(name, "dweight", dw, dw_ref, ATOL_DW, RTOL_OUT);
    return ok;
}

/* Frozen weights, as in guidance: only dinp is computed and the activation is not kept. */
static gboolean frozen_weights(rg_safetensors *g)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    g_autoptr(rg_tensor) x = rg_test_load(g, "edge", "inp");
    g_autoptr(rg_tensor) w = rg_test_load(g, "edge", "weight");
    g_autoptr(rg_tensor) b = rg_test_load(g, "edge", "bias");
    g_autoptr(rg_tensor) dout = rg_test_load(g, "edge", "dout");
    g_autoptr(rg_tensor) dx_ref = rg_test_load(g, "edge", "dinp");
    rg_tensor_set_requires_grad(x, TRUE);
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) y = rg_conv2d(ctx, x, w, b, 1, 1, &error);
    rg_assert_no_error(error);
    rg_ctx_set_tape(ctx, NULL);
    gboolean ok = y->node && y->node->saved[0] == NULL && y->node->saved[1] != NULL;
    g_print("%s frozen weights: input not saved, weight saved\n", ok ? "OK" : "NOT OK");
    if (!rg_tape_backward_with(ctx, tape, 1, &y, &dout, &error))
        g_error("frozen: backward failed: %s", error->message);
    ok &= check("frozen", "dinp", rg_tensor_get_grad(x), dx_ref, ATOL_WINO, RTOL_OUT);
    gboolean none = rg_tensor_get_grad(w) == NULL && rg_tensor_get_grad(b) == NULL;
    g_print("%s frozen weights: no weight or bias gradient\n", none ? "OK" : "NOT OK");
    return ok && none;
}

/* A sliced input, a transposed weight view and a sliced cotangent. */
static gboolean non_contiguous(rg_safetensors *g)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tensor) x = rg_test_load(g, "s2", "inp");
    g_autoptr(rg_tensor) w = rg_test_load(g, "s2", "weight");
    g_autoptr(rg_tensor) b = rg_test_load(g, "s2", "bias");
    g_autoptr(rg_tensor) out_ref = rg_test_load(g, "s2", "out");
    g_autoptr(rg_tensor) dout = rg_test_load(g, "s2", "dout");
    g_autoptr(rg_tensor) dx_ref = rg_test_load(g, "s2", "dinp");
    g_autoptr(rg_tensor) dw_ref = rg_test_load(g, "s2", "dweight");
    const int64_t *xs = rg_tensor_shape(x), *ws = rg_tensor_shape(w), *ds = rg_tensor_shape(dout);

    /* x inside a wider buffer, sliced along W */
    int64_t wide[4] = {xs[0], xs[1], xs[2], xs[3] + 3};
    g_autoptr(rg_tensor) xbuf = rg_tensor_new_full(4, wide, 7.0f, &error);
    g_autoptr(rg_tensor) xv = rg_slice(ctx, xbuf, 3, 1, xs[3], &error);
    /* w stored as (Cin, Cout, K, K), viewed as (Cout, Cin, K, K) */
    int64_t tshape[4] = {ws[1], ws[0], ws[2], ws[3]}, tstrides[4];
    g_autoptr(rg_tensor) wbuf = rg_tensor_new_full(4, tshape, 0.0f, &error);
    rg_contiguous_strides(4, tshape, tstrides);
    int64_t vstrides[4] = {tstrides[1], tstrides[0], tstrides[2], tstrides[3]};
    g_autoptr(rg_tensor) wv = rg_tensor_view(wbuf, 4, ws, vstrides, 0);
    /* the cotangent sliced along N from a doubled batch */
    int64_t dshape[4] = {ds[0] * 2, ds[1], ds[2], ds[3]};
    g_autoptr(rg_tensor) dbuf = rg_tensor_new_full(4, dshape, -3.0f, &error);
    g_autoptr(rg_tensor) dv = rg_slice(ctx, dbuf, 0, ds[0], ds[0], &error);
    rg_assert_no_error(error);
    rg_tensor *pairs[3][2] = {{xv, x}, {wv, w}, {dv, dout}};
    for (int i = 0; i < 3; i++) {
        rg_tensor *args[2] = {pairs[i][0], pairs[i][1]};
        rg_cpu_copy(NULL, NULL, args);
    }
    gboolean ok = !rg_tensor_is_contiguous(xv) && !rg_tensor_is_contiguous(wv);

    /* b stays frozen (checked to get no gradient) */
    rg_tensor *in[3] = {xv, wv, b}, *din_refs[3] = {dx_ref, dw_ref, NULL};
    conv_args args = {2, 1};
    static const rg_tol tol[4] = {{ATOL_OUT, RTOL_OUT}, {ATOL_OUT, RTOL_OUT}, {ATOL_DW, RTOL_OUT}, {0, 0}};
    ok &= rg_check_vjp_full("strided", f_conv, &args, in, 3, out_ref, dv, din_refs, grad_names, tol);
    return ok;
}

/* A batch with more tiles than one Winograd chunk holds (chunks end inside the
 * second image): Winograd against the GEMM path, forward and input gradient. */
static gboolean winograd_chunks(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int64_t sx[4] = {2, 64, 150, 146}, sw[4] = {48, 64, 3, 3}, sb[1] = {48}, so[4] = {2, 48, 150, 146};
    g_autoptr(rg_tensor) x = rg_test_random(1, 4, sx, -1, 1);
    g_autoptr(rg_tensor) w = rg_test_random(2, 4, sw, -0.05f, 0.05f);
    g_autoptr(rg_tensor) b = rg_test_random(3, 1, sb, -1, 1);
    g_autoptr(rg_tensor) dy = rg_test_random(4, 4, so, -1, 1);
    rg_tensor *y[2], *dx[2];
    for (int a = 0; a < 2; a++) {
        rg_conv2d_params p = {1, 1, a ? RG_CONV2D_WINOGRAD : RG_CONV2D_GEMM};
        y[a] = rg_tensor_new(RG_DTYPE_F32, 4, so, &error);
        dx[a] = rg_tensor_new(RG_DTYPE_F32, 4, sx, &error);
        rg_tensor *fwd[4] = {y[a], x, w, b}, *back[6] = {dx[a], NULL, NULL, dy, NULL, w};
        if (!rg_ctx_compute(ctx, RG_OP_CONV2D, &p, fwd, &error) ||
            !rg_ctx_compute(ctx, RG_OP_CONV2D_BACK, &p, back, &error))
            g_error("chunks: %s", error->message);
    }
    /* outputs ~0.5: Winograd rounding ~1e-5 of that */
    gboolean ok = check("chunks", "out winograd vs gemm", y[1], y[0], 1e-4, 1e-4);
    ok &= check("chunks", "dinp winograd vs gemm", dx[1], dx[0], 1e-4, 1e-4);
    for (int a = 0; a < 2; a++) {
        rg_tensor_unref(y[a]);
        rg_tensor_unref(dx[a]);
    }
    return ok;
}

/* ---- finite differences ----------------------------------------------------- */

static gboolean gradients(void)
{
    struct {
        const char *name;
        int64_t x[4], w[4];
        conv_args args;
        double atol;
    } g[] = {
        /* linear in each input: central differences are exact but for f32 rounding of the outputs */
        {"3x3 s1", {1, 2, 5, 4}, {3, 2, 3, 3}, {1, 1}, 2e-3},
        {"3x3 s2", {2, 2, 5, 7}, {2, 2, 3, 3}, {2, 1}, 2e-3},
        {"1x1", {1, 3, 3, 4}, {2, 3, 1, 1}, {1, 0}, 2e-3},
        {"1x1 s2 p1", {1, 2, 5, 5}, {2, 2, 1, 1}, {2, 1}, 2e-3},
        /* 64 output tiles: the front door takes Winograd; its rounding is ~1e-5 of outputs */
        {"3x3 wino", {1, 3, 32, 32}, {2, 3, 3, 3}, {1, 1}, 1e-2},
    };
    gboolean ok = TRUE, all[3] = {TRUE, TRUE, TRUE};
    for (size_t i = 0; i < G_N_ELEMENTS(g); i++) {
        int64_t bs[1] = {g[i].w[0]};
        rg_tensor *in[3] = {rg_test_random(10 + i, 4, g[i].x, -1, 1), rg_test_random(20 + i, 4, g[i].w, -1, 1),
                            rg_test_random(30 + i, 1, bs, -1, 1)};
        ok &= rg_gradcheck(g[i].name, f_conv, &g[i].args, in, 3, all, 1e-2, g[i].atol, 1e-3, 40);
        for (int j = 0; j < 3; j++)
            rg_tensor_unref(in[j]);
    }
    return ok;
}

/* ---- errors ----------------------------------------------------------------- */

static gboolean errors(void)
{
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, NULL);
    int64_t sx[4] = {1, 3, 8, 8}, sx3[3] = {3, 8, 8}, sw[4] = {4, 3, 3, 3}, sw5[4] = {4, 3, 5, 5};
    int64_t sw31[4] = {4, 3, 3, 1}, swc[4] = {4, 5, 3, 3}, sb[1] = {4}, sb5[1] = {5}, sb2[2] = {2, 2};
    int64_t tiny[4] = {1, 3, 2, 2}, empty[4] = {0, 3, 8, 8};
    g_autoptr(rg_tensor) x = rg_test_random(1, 4, sx, -1, 1);
    g_autoptr(rg_tensor) x3 = rg_test_random(1, 3, sx3, -1, 1);
    g_autoptr(rg_tensor) xs = rg_test_random(1, 4, tiny, -1, 1);
    g_autoptr(rg_tensor) x0 = rg_tensor_new(RG_DTYPE_F32, 4, empty, NULL);
    g_autoptr(rg_tensor) xi = rg_tensor_new(RG_DTYPE_I64, 4, sx, NULL);
    g_autoptr(rg_tensor) w = rg_test_random(2, 4, sw, -1, 1);
    g_autoptr(rg_tensor) wi = rg_tensor_new(RG_DTYPE_I32, 4, sw, NULL);
    g_autoptr(rg_tensor) w5 = rg_test_random(2, 4, sw5, -1, 1);
    g_autoptr(rg_tensor) w31 = rg_test_random(2, 4, sw31, -1, 1);
    g_autoptr(rg_tensor) wc = rg_test_random(2, 4, swc, -1, 1);
    g_autoptr(rg_tensor) b = rg_test_random(3, 1, sb, -1, 1);
    g_autoptr(rg_tensor) b5 = rg_test_random(3, 1, sb5, -1, 1);
    g_autoptr(rg_tensor) b2 = rg_test_random(3, 2, sb2, -1, 1);
    gboolean ok = TRUE;
    RG_EXPECT_ERROR(ok, "wrong Cin", rg_conv2d(ctx, x, wc, b, 1, 1, &err_), RG_ERROR_SHAPE, "conv2d");
    RG_EXPECT_ERROR(ok, "5x5 kernel", rg_conv2d(ctx, x, w5, b, 1, 1, &err_), RG_ERROR_SHAPE, "conv2d");
    RG_EXPECT_ERROR(ok, "3x1 kernel", rg_conv2d(ctx, x, w31, b, 1, 1, &err_), RG_ERROR_SHAPE, "conv2d");
    RG_EXPECT_ERROR(ok, "bias length", rg_conv2d(ctx, x, w, b5, 1, 1, &err_), RG_ERROR_SHAPE, "conv2d");
    RG_EXPECT_ERROR(ok, "bias rank", rg_conv2d(ctx, x, w, b2, 1, 1, &err_), RG_ERROR_SHAPE, "conv2d");
    RG_EXPECT_ERROR(ok, "input rank", rg_conv2d(ctx, x3, w, b, 1, 1, &err_), RG_ERROR_SHAPE, "conv2d");
    RG_EXPECT_ERROR(ok, "weight rank", rg_conv2d(ctx, x, x3, b, 1, 1, &err_), RG_ERROR_SHAPE, "conv2d");
    RG_EXPECT_ERROR(ok, "I64 input", rg_conv2d(ctx, xi, w, b, 1, 1, &err_), RG_ERROR_DTYPE, "conv2d");
    RG_EXPECT_ERROR(ok, "I32 weight", rg_conv2d(ctx, x, wi, b, 1, 1, &err_), RG_ERROR_DTYPE, "conv2d");
    RG_EXPECT_ERROR(ok, "stride 0", rg_conv2d(ctx, x, w, b, 0, 1, &err_), RG_ERROR_ARGUMENT, "conv2d");
    RG_EXPECT_ERROR(ok, "padding -1", rg_conv2d(ctx, x, w, b, 1, -1, &err_), RG_ERROR_ARGUMENT, "conv2d");
    RG_EXPECT_ERROR(ok, "input smaller than kernel", rg_conv2d(ctx, xs, w, b, 1, 0, &err_), RG_ERROR_SHAPE, "conv2d");
    RG_EXPECT_ERROR(ok, "empty input", rg_conv2d(ctx, x0, w, b, 1, 1, &err_), RG_ERROR_SHAPE, "conv2d");
    RG_EXPECT_ERROR(ok, "no weight", rg_conv2d(ctx, x, NULL, b, 1, 1, &err_), RG_ERROR_ARGUMENT, "conv2d");
    return ok;
}

int main(void)
{
    g_autoptr(rg_safetensors) g = rg_test_golden("conv2d");
    gboolean ok = TRUE;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        ok &= parity_front_door(g, &cases[i]);
        ok &= parity_kernels(g, &cases[i], RG_CONV2D_GEMM);
        ok &= parity_kernels(g, &cases[i], RG_CONV2D_WINOGRAD);
    }
    ok &= frozen_weights(g);
    ok &= non_contiguous(g);
    ok &= winograd_chunks();
    ok &= gradients();
    ok &= errors();
    g_print("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
