/* bench_ops.c — times the engine's hot ops at Stable Diffusion 1.5 sizes.
 * Prints one line per case: "<name> <median ms>". tests/bench/run.sh runs it
 * beside bench_torch.py (the same cases in PyTorch) and prints the ratios.
 * Not a test: nothing here passes or fails on time. */
#include <stdio.h>
#include <string.h>

#include "rg_test.h"

typedef struct {
    rg_tensor *a, *b, *c, *dout;
} inputs;

typedef enum { FORWARD, BACKWARD } phase;

typedef rg_tensor *(*op_fn)(rg_ctx *ctx, inputs *in, GError **error);

static rg_tensor *conv3x3(rg_ctx *ctx, inputs *in, GError **error)
{
    return rg_conv2d(ctx, in->a, in->b, in->c, 1, 1, error);
}

static rg_tensor *attention(rg_ctx *ctx, inputs *in, GError **error)
{
    return rg_attention(ctx, in->a, in->b, in->c, 8, 0.0f, error);
}

static rg_tensor *group_norm(rg_ctx *ctx, inputs *in, GError **error)
{
    return rg_group_norm(ctx, in->a, 32, in->b, in->c, 1e-5f, error);
}

static rg_tensor *linear(rg_ctx *ctx, inputs *in, GError **error)
{
    return rg_linear(ctx, in->a, in->b, in->c, error);
}

/* Median wall time in ms of @reps runs of the forward or of the backward
 * (the tape records the forward each time; only backward is timed then). */
static double time_op(op_fn fn, inputs *in, rg_tensor **grad_of, int n_grad, phase ph, int reps)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    double times[32];
    for (int i = 0; i < n_grad; i++)
        rg_tensor_set_requires_grad(grad_of[i], ph == BACKWARD);
    for (int r = -1; r < reps; r++) { /* r = -1 warms up */
        g_autoptr(rg_tape) tape = rg_tape_new();
        if (ph == BACKWARD)
            rg_ctx_set_tape(ctx, tape);
        gint64 t0 = g_get_monotonic_time();
        g_autoptr(rg_tensor) y = fn(ctx, in, &error);
        rg_assert_no_error(error);
        rg_ctx_set_tape(ctx, NULL);
        gint64 t1 = g_get_monotonic_time();
        if (ph == BACKWARD) {
            if (!rg_tape_backward_with(ctx, tape, 1, &y, &in->dout, &error))
                g_error("%s", error->message);
            t0 = t1;
            t1 = g_get_monotonic_time();
            for (int i = 0; i < n_grad; i++)
                rg_tensor_zero_grad(grad_of[i]);
        }
        if (r >= 0)
            times[r] = (t1 - t0) / 1000.0;
    }
    for (int i = 0; i < n_grad; i++)
        rg_tensor_set_requires_grad(grad_of[i], FALSE);
    for (int i = 0; i < reps; i++) /* insertion sort for the median */
        for (int j = i; j > 0 && times[j] < times[j - 1]; j--) {
            double t = times[j];
            times[j] = times[j - 1];
            times[j - 1] = t;
        }
    return times[reps / 2];
}

static void clear(inputs *in)
{
    g_clear_pointer(&in->a, rg_tensor_unref);
    g_clear_pointer(&in->b, rg_tensor_unref);
    g_clear_pointer(&in->c, rg_tensor_unref);
    g_clear_pointer(&in->dout, rg_tensor_unref);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    reps = CLAMP(reps, 1, 31);
    rg_set_num_threads(2);
    inputs in = { 0 };

    int64_t x_s[4] = { 1, 320, 64, 64 }, w_s[4] = { 320, 320, 3, 3 }, b_s[1] = { 320 };
    in.a = rg_test_random(1, 4, x_s, -1, 1);
    in.b = rg_test_random(2, 4, w_s, -0.02f, 0.02f);
    in.c = rg_test_random(3, 1, b_s, -0.1f, 0.1f);
    in.dout = rg_test_random(4, 4, x_s, -1, 1);
    printf("conv3x3_320_64x64_forward %.2f\n", time_op(conv3x3, &in, NULL, 0, FORWARD, reps));
    printf("conv3x3_320_64x64_grad_input %.2f\n", time_op(conv3x3, &in, &in.a, 1, BACKWARD, reps));
    clear(&in);

    int64_t t_s[3] = { 1, 4096, 320 };
    in.a = rg_test_random(5, 3, t_s, -1, 1);
    in.b = rg_test_random(6, 3, t_s, -1, 1);
    in.c = rg_test_random(7, 3, t_s, -1, 1);
    in.dout = rg_test_random(8, 3, t_s, -1, 1);
    rg_tensor *qkv[3] = { in.a, in.b, in.c };
    printf("attention_4096_h8_d40_forward %.2f\n", time_op(attention, &in, NULL, 0, FORWARD, reps));
    printf("attention_4096_h8_d40_backward %.2f\n", time_op(attention, &in, qkv, 3, BACKWARD, reps));
    clear(&in);

    in.a = rg_test_random(9, 4, x_s, -1, 1);
    in.b = rg_test_random(10, 1, b_s, 0.5f, 1.5f);
    in.c = rg_test_random(11, 1, b_s, -0.5f, 0.5f);
    in.dout = rg_test_random(12, 4, x_s, -1, 1);
    printf("group_norm_320_64x64_forward %.2f\n", time_op(group_norm, &in, NULL, 0, FORWARD, reps));
    printf("group_norm_320_64x64_grad_input %.2f\n", time_op(group_norm, &in, &in.a, 1, BACKWARD, reps));
    clear(&in);

    int64_t l_x[2] = { 4096, 320 }, l_w[2] = { 1280, 320 }, l_b[1] = { 1280 }, l_y[2] = { 4096, 1280 };
    in.a = rg_test_random(13, 2, l_x, -1, 1);
    in.b = rg_test_random(14, 2, l_w, -0.05f, 0.05f);
    in.c = rg_test_random(15, 1, l_b, -0.1f, 0.1f);
    in.dout = rg_test_random(16, 2, l_y, -1, 1);
    printf("linear_4096x320_1280_forward %.2f\n", time_op(linear, &in, NULL, 0, FORWARD, reps));
    printf("linear_4096x320_1280_grad_input %.2f\n", time_op(linear, &in, &in.a, 1, BACKWARD, reps));
    clear(&in);
    return 0;
}
