/* test_attention.c — rg_attention and rg_attention_causal against PyTorch
 * (float64 golden tensors from tests/reference/attention.py): the output and
 * dq, dk, dv; the same with only some inputs wanting a gradient, with a
 * strided q and on other thread counts; finite differences on tiny shapes;
 * and bad inputs that must fail with a GError.
 */
#include <math.h>
#include <string.h>

#include "rg_test.h"

/* ---- parity with PyTorch ---------------------------------------------------- */

typedef struct {
    const char *name;
    double out_atol;  /* the output is a convex mix of v rows: f32 rounding of sums of ~Tk terms */
    double grad_atol; /* gradients sum ~Tq or ~Tk products; the "blocks" case has peaked logits */
    gboolean causal;  /* rg_attention_causal */
} golden_case;

/* Runs the case with @want[i] marking which of q, k, v require a gradient;
 * q is passed as a strided view (a slice of a wider tensor) when @strided_q. */
static void check_case(rg_safetensors *golden, const golden_case *gc, const gboolean want[3], gboolean strided_q)
{
    GError *error = NULL;
    g_autoptr(rg_tensor) q0 = rg_test_load(golden, gc->name, "q");
    g_autoptr(rg_tensor) k = rg_test_load(golden, gc->name, "k");
    g_autoptr(rg_tensor) v = rg_test_load(golden, gc->name, "v");
    g_autoptr(rg_tensor) dout = rg_test_load(golden, gc->name, "dout");
    g_autoptr(rg_tensor) out_ref = rg_test_load(golden, gc->name, "out");
    g_autoptr(rg_tensor) heads_t = rg_test_load(golden, gc->name, "heads");
    g_autoptr(rg_tensor) scale_t = rg_test_load(golden, gc->name, "scale");
    int heads = (int)rg_tensor_get_flat(heads_t, 0);
    float scale = (float)rg_tensor_get_flat(scale_t, 0);
    const char *grad_names[3] = {"dq", "dk", "dv"};

    /* a leaf holding q in its first C channels of 2C: the op gets a non-contiguous view */
    g_autoptr(rg_tensor) wide = NULL;
    g_autoptr(rg_tensor) q = NULL;
    const int64_t *qs = rg_tensor_shape(q0);
    if (strided_q) {
        int64_t ws[3] = {qs[0], qs[1], 2 * qs[2]};
        wide = rg_tensor_new_full(3, ws, 7.0f, &error);
        rg_assert_no_error(error);
        float *w = rg_tensor_data_f32(wide), *src = rg_tensor_data_f32(q0);
        for (int64_t r = 0; r < qs[0] * qs[1]; r++)
            memcpy(w + r * 2 * qs[2], src + r * qs[2], sizeof(float) * (size_t)qs[2]);
    }

    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_tensor *leaves[3] = {strided_q ? wide : q0, k, v};
    for (int i = 0; i < 3; i++)
        rg_tensor_set_requires_grad(leaves[i], want[i]);
    rg_ctx_set_tape(ctx, tape);
    if (strided_q) {
        q = rg_slice(ctx, wide, 2, 0, qs[2], &error);
        rg_assert_no_error(error);
        RG_CHECK(!rg_tensor_is_contiguous(q));
    } else {
        q = rg_tensor_ref(q0);
    }
    g_autoptr(rg_tensor) out = gc->causal ? rg_attention_causal(ctx, q, k, v, heads, scale, &error)
                                          : rg_attention(ctx, q, k, v, heads, scale, &error);
    rg_assert_no_error(error);
    rg_ctx_set_tape(ctx, NULL);

    g_autofree char *label =
        g_strdup_printf("%s%s want=%d%d%d", gc->name, strided_q ? " strided-q" : "", want[0], want[1], want[2]);
    g_autofree char *lo = g_strdup_printf("%s out", label);
    RG_CHECK(rg_check_tensor(lo, out, out_ref, gc->out_atol, 1e-4));

    if (!(want[0] || want[1] || want[2])) {
        RG_CHECK(rg_tape_size(tape) == 0);
        return;
    }
    RG_CHECK(rg_tape_backward_with(ctx, tape, 1, &out, &dout, &error));
    rg_assert_no_error(error);
    for (int i = 0; i < 3; i++) {
        rg_tensor *g = rg_tensor_get_grad(leaves[i]);
        if (!want[i]) {
            RG_CHECK(g == NULL);
            continue;
        }
        g_autoptr(rg_tensor) ref = rg_test_load(golden, gc->name, grad_names[i]);
        g_autofree char *lg = g_strdup_printf("%s %s", label, grad_names[i]);
        if (i == 0 && strided_q) {
            /* the gradient of the wide leaf: dq in the first C channels, 0 in the rest */
            g_autoptr(rg_tensor) gq = rg_tensor_view(g, 3, qs, rg_tensor_strides(g), 0);
            g_autoptr(rg_tensor) gz = rg_tensor_view(g, 3, qs, rg_tensor_strides(g), qs[2]);
            g_autoptr(rg_tensor) zero = rg_tensor_new(RG_DTYPE_F32, 3, qs, &error);
            RG_CHECK(rg_check_tensor(lg, gq, ref, gc->grad_atol, 1e-4));
            RG_CHECK(rg_check_tensor("  unused channels of the wide q", gz, zero, 0, 0));
        } else {
            RG_CHECK(rg_check_tensor(lg, g, ref, gc->grad_atol, 1e-4));
        }
    }
}

/* ---- finite differences ----------------------------------------------------- */

typedef struct {
    int heads;
    float scale;
    gboolean causal;
} attn_args;

static rg_tensor *attn_fn(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    const attn_args *a = user_data;
    if (a->causal)
        return rg_attention_causal(ctx, in[0], in[1], in[2], a->heads, a->scale, error);
    return rg_attention(ctx, in[0], in[1], in[2], a->heads, a->scale, error);
}

static void gradcheck(const char *label, int64_t b, int64_t tq, int64_t tk, int heads, int64_t d, float scale,
                      gboolean causal)
{
    int64_t qs[3] = {b, tq, heads * d}, ks[3] = {b, tk, heads * d};
    /* spread 2 keeps the softmax away from uniform, where dq and dk would be tiny */
    g_autoptr(rg_tensor) q = rg_test_random(11, 3, qs, -2.0f, 2.0f);
    g_autoptr(rg_tensor) k = rg_test_random(12, 3, ks, -2.0f, 2.0f);
    g_autoptr(rg_tensor) v = rg_test_random(13, 3, ks, -1.0f, 1.0f);
    rg_tensor *in[3] = {q, k, v};
    gboolean check[3] = {TRUE, TRUE, TRUE};
    attn_args a = {heads, scale, causal};
    /* f32 outputs summed in double: central differences with eps 1e-2 carry ~1e-4 rounding noise
       and O(eps^2) truncation */
    RG_CHECK(rg_gradcheck(label, attn_fn, &a, in, 3, check, 1e-2, 2e-3, 2e-2, 64));
}

/* ---- bad inputs ------------------------------------------------------------- */

static rg_tensor *zeros(rg_dtype dtype, int ndim, int64_t a, int64_t b, int64_t c)
{
    int64_t s[3] = {a, b, c};
    GError *error = NULL;
    rg_tensor *t = rg_tensor_new(dtype, ndim, s, &error);
    rg_assert_no_error(error);
    return t;
}

static gboolean bad_inputs(void)
{
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, NULL);
    g_autoptr(rg_tensor) q = zeros(RG_DTYPE_F32, 3, 2, 4, 12);
    g_autoptr(rg_tensor) k = zeros(RG_DTYPE_F32, 3, 2, 5, 12);
    g_autoptr(rg_tensor) v = zeros(RG_DTYPE_F32, 3, 2, 5, 12);
    g_autoptr(rg_tensor) k6 = zeros(RG_DTYPE_F32, 3, 2, 6, 12);
    g_autoptr(rg_tensor) k1 = zeros(RG_DTYPE_F32, 3, 1, 5, 12);
    g_autoptr(rg_tensor) v1 = zeros(RG_DTYPE_F32, 3, 1, 5, 12);
    g_autoptr(rg_tensor) k8 = zeros(RG_DTYPE_F32, 3, 2, 5, 8);
    g_autoptr(rg_tensor) v8 = zeros(RG_DTYPE_F32, 3, 2, 5, 8);
    g_autoptr(rg_tensor) k0 = zeros(RG_DTYPE_F32, 3, 2, 0, 12);
    g_autoptr(rg_tensor) v0 = zeros(RG_DTYPE_F32, 3, 2, 0, 12);
    g_autoptr(rg_tensor) qi = zeros(RG_DTYPE_I64, 3, 2, 4, 12);
    g_autoptr(rg_tensor) q2d = zeros(RG_DTYPE_F32, 2, 4, 12, 1);
    gboolean ok = TRUE;
    const char *op = "attention";
    RG_EXPECT_ERROR_FULL(ok, "channels not divisible by heads", rg_attention(ctx, q, k, v, 5, 0, &err_),
                         RG_ERROR_SHAPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "k and v differ", rg_attention(ctx, q, k, k6, 3, 0, &err_), RG_ERROR_SHAPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "batch mismatch", rg_attention(ctx, q, k1, v1, 3, 0, &err_), RG_ERROR_SHAPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "channel mismatch", rg_attention(ctx, q, k8, v8, 2, 0, &err_), RG_ERROR_SHAPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "no keys", rg_attention(ctx, q, k0, v0, 3, 0, &err_), RG_ERROR_SHAPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "I64 q", rg_attention(ctx, qi, k, v, 3, 0, &err_), RG_ERROR_DTYPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "2-D q", rg_attention(ctx, q2d, k, v, 3, 0, &err_), RG_ERROR_SHAPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "zero heads", rg_attention(ctx, q, k, v, 0, 0, &err_), RG_ERROR_ARGUMENT, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "missing v", rg_attention(ctx, q, k, NULL, 3, 0, &err_), RG_ERROR_ARGUMENT, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "NaN scale", rg_attention(ctx, q, k, v, 3, NAN, &err_), RG_ERROR_ARGUMENT, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "causal with Tq != Tk", rg_attention_causal(ctx, q, k, v, 3, 0, &err_), RG_ERROR_SHAPE,
                         op, "causal");
    RG_EXPECT_ERROR_FULL(ok, "causal, channels not divisible by heads", rg_attention_causal(ctx, q, q, q, 5, 0, &err_),
                         RG_ERROR_SHAPE, op, NULL);
    RG_EXPECT_ERROR_FULL(ok, "causal I64 q", rg_attention_causal(ctx, qi, qi, qi, 3, 0, &err_), RG_ERROR_DTYPE, op,
                         NULL);
    return ok;
}

int main(void)
{
    g_autoptr(rg_safetensors) golden = rg_test_golden("attention");
    const golden_case cases[] = {
        {"self", 1e-5, 1e-5, FALSE},
        {"cross", 1e-5, 1e-5, FALSE},
        {"blocks", 1e-5, 2e-5, FALSE},
        {"scale", 1e-5, 1e-5, FALSE},
        {"causal", 1e-5, 1e-5, TRUE},
        {"causal_blocks", 1e-5, 2e-5, TRUE},
        {"causal_scale", 1e-5, 1e-5, TRUE},
    };
    const gboolean all[3] = {TRUE, TRUE, TRUE};
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        check_case(golden, &cases[i], all, FALSE);

    /* only some gradients wanted: the kernel skips the others' GEMMs */
    const gboolean wants[][3] = {
        {FALSE, FALSE, TRUE}, {TRUE, FALSE, FALSE}, {FALSE, TRUE, FALSE}, {FALSE, FALSE, FALSE}};
    for (size_t i = 0; i < G_N_ELEMENTS(wants); i++)
        check_case(golden, &cases[2], wants[i], FALSE);
    check_case(golden, &cases[1], all, TRUE);
    check_case(golden, &cases[4], all, TRUE);
    for (size_t i = 0; i < G_N_ELEMENTS(wants); i++)
        check_case(golden, &cases[5], wants[i], FALSE);

    /* other thread counts: with 3 threads the 2 heads of "blocks" do not share out evenly and the backward
       splits each head's query blocks, summing the splits' dK, dV at the end (causal: split by work, the
       3 query blocks of "causal_blocks" as [0, 2), [2, 3) and an empty split) */
    int threads = rg_get_num_threads();
    for (int n = 1; n <= 3; n += 2) {
        rg_set_num_threads(n);
        g_print("# %d threads\n", n);
        check_case(golden, &cases[2], all, FALSE);
        check_case(golden, &cases[0], all, FALSE);
        check_case(golden, &cases[5], all, FALSE);
        check_case(golden, &cases[4], all, FALSE);
    }
    rg_set_num_threads(threads);
    check_case(golden, &cases[0], (const gboolean[3]){TRUE, FALSE, TRUE}, TRUE);

    gradcheck("self B=1 T=5 H=2 D=3", 1, 5, 5, 2, 3, 0.0f, FALSE);
    gradcheck("cross B=2 Tq=4 Tk=3 H=1 D=4", 2, 4, 3, 1, 4, 0.0f, FALSE);
    gradcheck("scale=0.9 B=1 Tq=3 Tk=6 H=3 D=2", 1, 3, 6, 3, 2, 0.9f, FALSE);
    gradcheck("causal B=2 T=5 H=2 D=3", 2, 5, 5, 2, 3, 0.0f, TRUE);
    gradcheck("causal scale=0.8 B=1 T=7 H=1 D=4", 1, 7, 7, 1, 4, 0.8f, TRUE);

    RG_CHECK(bad_inputs());

    if (rg_test_failures) {
        g_printerr("test_attention: %d failures\n", rg_test_failures);
        return 1;
    }
    g_print("test_attention: all OK\n");
    return 0;
}
