/* bench_head.c — time and peak memory of an SD1.5-sized readout head (random
 * official initialisation) on SD1.5's 12 decoder features of a 64x64 latent
 * (1280 ch at 8x8 and 16x16, 640 at 32x32, 320 at 64x64): inference, and
 * forward + backward to the features and emb with and without
 * checkpointing. Not a test:
 *   ninja -C BUILD tests/models/head/bench_head && BUILD/tests/models/head/bench_head [spatial|relative] [BATCH]
 */
#include <stdio.h>
#include <string.h>

#include "readout/head.h"

static rg_tensor *randn(int ndim, const int64_t *shape, guint32 seed)
{
    rg_tensor *t = rg_tensor_new(RG_DTYPE_F32, ndim, shape, NULL);
    GRand *r = g_rand_new_with_seed(seed);
    float *p = rg_tensor_data_f32(t);
    for (int64_t i = 0; i < rg_tensor_numel(t); i++)
        p[i] = (float)g_rand_double_range(r, -1, 1);
    g_rand_free(r);
    return t;
}

typedef struct {
    double forward, backward; /* seconds */
    double kept, peak;        /* MiB above what was allocated before */
} result;

/* mode 0: no tape; 1: taped, checkpointed; 2: taped, plain. */
static gboolean run_mode(rg_head *h, rg_ctx *ctx, rg_tensor **f, rg_tensor *emb, int mode, result *res)
{
    GError *error = NULL;
    size_t live0, live1, peak;
    rg_memory_stats(&live0, &peak);
    rg_memory_reset_peak();
    gint64 t0 = g_get_monotonic_time();
    rg_tape *tape = mode ? rg_tape_new() : NULL;
    rg_head_set_checkpointing(h, mode == 1);
    if (tape) {
        for (int l = 0; l < 12; l++)
            rg_tensor_set_requires_grad(f[l], TRUE);
        rg_tensor_set_requires_grad(emb, TRUE);
        rg_ctx_set_tape(ctx, tape);
    }
    rg_tensor *y = rg_head_forward(h, ctx, f, emb, 64, 64, &error);
    rg_tensor *loss = y ? rg_sum(ctx, y, &error) : NULL;
    rg_ctx_set_tape(ctx, NULL);
    if (!loss) {
        fprintf(stderr, "%s\n", error->message);
        return FALSE;
    }
    gint64 t1 = g_get_monotonic_time();
    rg_memory_stats(&live1, &peak);
    if (tape && !rg_tape_backward(ctx, tape, loss, &error)) {
        fprintf(stderr, "%s\n", error->message);
        return FALSE;
    }
    gint64 t2 = g_get_monotonic_time();
    size_t live2;
    rg_memory_stats(&live2, &peak);
    if (res)
        *res = (result){(t1 - t0) / 1e6, (t2 - t1) / 1e6, (double)(live1 - MIN(live1, live0)) / (1 << 20),
                        (double)(peak - MIN(peak, live0)) / (1 << 20)};
    rg_tensor_unref(loss);
    rg_tensor_unref(y);
    if (tape) {
        rg_tape_free(tape);
        for (int l = 0; l < 12; l++) {
            rg_tensor_zero_grad(f[l]);
            rg_tensor_set_requires_grad(f[l], FALSE);
        }
        rg_tensor_zero_grad(emb);
        rg_tensor_set_requires_grad(emb, FALSE);
    }
    return TRUE;
}

int main(int argc, char **argv)
{
    const gboolean spatial = argc < 2 || strcmp(argv[1], "relative") != 0;
    const int64_t B = argc > 2 ? g_ascii_strtoll(argv[2], NULL, 10) : 1;
    static const int dims[12] = {1280, 1280, 1280, 1280, 1280, 1280, 640, 640, 640, 320, 320, 320};
    static const int sizes[12] = {8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64};
    rg_head_config c = {.n_layers = 12, .projection_dim = 384, .emb_dim = 1280, .norm_groups = 32,
                        .use_output_head = spatial, .output_channels = 3, .output_act = TRUE};
    memcpy(c.dims, dims, sizeof dims);
    GError *error = NULL;
    rg_head *h = rg_head_new_random(&c, 1, &error);
    rg_ctx *ctx = rg_ctx_new(NULL, &error);
    rg_tensor *f[12];
    for (int l = 0; l < 12; l++)
        f[l] = randn(4, (int64_t[]){B, dims[l], sizes[l], sizes[l]}, (guint32)l + 1);
    rg_tensor *emb = randn(2, (int64_t[]){B, 1280}, 99);
    printf("SD1.5 %s head, batch %" G_GINT64_FORMAT ", 64x64, %d threads\n", spatial ? "spatial" : "relative",
           (gint64)B, rg_get_num_threads());

    const char *names[] = {"inference", "forward+backward, checkpointed", "forward+backward, plain"};
    run_mode(h, ctx, f, emb, 0, NULL); /* warm-up: thread pool, first touch of memory */
    for (int mode = 0; mode < 3; mode++) {
        result best = {1e30, 1e30, 0, 0};
        for (int rep = 0; rep < 3; rep++) { /* the fastest of three: the machine is shared */
            result r;
            if (!run_mode(h, ctx, f, emb, mode, &r))
                return 1;
            best.forward = MIN(best.forward, r.forward);
            best.backward = MIN(best.backward, r.backward);
            best.kept = r.kept;
            best.peak = r.peak;
        }
        printf("%-31s forward %.2f s, backward %.2f s; kept after forward %.0f MiB, peak %.0f MiB above the "
               "inputs\n", names[mode], best.forward, best.backward, best.kept, best.peak);
    }
    for (int l = 0; l < 12; l++)
        rg_tensor_unref(f[l]);
    rg_tensor_unref(emb);
    rg_head_free(h);
    rg_ctx_free(ctx);
    return 0;
}
