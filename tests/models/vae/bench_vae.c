/* bench_vae.c — times the SD1.5 VAE: encode, decode, and decode plus the
 * gradient of <cot, decode(z)> with respect to z, with peak engine memory.
 * Run through bench_vae.py, which writes random SD1.5 weights and times
 * PyTorch on the same shapes:
 *
 *   bench_vae WEIGHTS.safetensors SIZE [REPEATS]
 *
 * SIZE is the image side (a multiple of 8); the latent side is SIZE / 8.
 */
#include <stdio.h>
#include <stdlib.h>

#include "readout/vae.h"

static double now(void)
{
    return (double)g_get_monotonic_time() * 1e-6;
}

static rg_tensor *filled(int64_t b, int64_t c, int64_t h, int64_t w, guint32 seed)
{
    const int64_t shape[4] = {b, c, h, w};
    rg_tensor *t = rg_tensor_new(RG_DTYPE_F32, 4, shape, NULL);
    GRand *r = g_rand_new_with_seed(seed);
    float *p = rg_tensor_data_f32(t);
    for (int64_t i = 0; i < rg_tensor_numel(t); i++)
        p[i] = (float)g_rand_double_range(r, -1, 1);
    g_rand_free(r);
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s WEIGHTS.safetensors SIZE [REPEATS]\n", argv[0]);
        return 2;
    }
    int size = atoi(argv[2]), reps = argc > 3 ? atoi(argv[3]) : 2;
    GError *error = NULL;
    rg_vae_config cfg;
    rg_vae_config_init_sd15(&cfg);
    g_autoptr(rg_weights) w = rg_weights_open_safetensors(argv[1], "", &error);
    g_autoptr(rg_vae) v = w ? rg_vae_new(&cfg, w, &error) : NULL;
    g_autoptr(rg_ctx) ctx = v ? rg_ctx_new(NULL, &error) : NULL;
    if (!ctx) {
        fprintf(stderr, "%s\n", error->message);
        return 1;
    }
    g_autoptr(rg_tensor) image = filled(1, 3, size, size, 1);
    g_autoptr(rg_tensor) latent = filled(1, 4, size / 8, size / 8, 2);
    size_t live0, peak;
    rg_memory_stats(&live0, &peak);
    double best[3] = {1e30, 1e30, 1e30};
    size_t peaks[3] = {0, 0, 0};
    for (int r = 0; r < reps; r++) {
        rg_tensor *mean = NULL, *logvar = NULL;
        rg_memory_reset_peak();
        double t0 = now();
        if (!rg_vae_encode(v, ctx, image, &mean, &logvar, &error))
            g_error("%s", error->message);
        best[0] = MIN(best[0], now() - t0);
        rg_memory_stats(NULL, &peaks[0]);
        rg_tensor_unref(mean);
        rg_tensor_unref(logvar);

        rg_memory_reset_peak();
        t0 = now();
        rg_tensor *img = rg_vae_decode(v, ctx, latent, &error);
        if (!img)
            g_error("%s", error->message);
        best[1] = MIN(best[1], now() - t0);
        rg_memory_stats(NULL, &peaks[1]);
        rg_tensor_unref(img);

        rg_memory_reset_peak();
        t0 = now();
        g_autoptr(rg_tape) tape = rg_tape_new();
        rg_tensor_set_requires_grad(latent, TRUE);
        rg_ctx_set_tape(ctx, tape);
        img = rg_vae_decode(v, ctx, latent, &error);
        rg_ctx_set_tape(ctx, NULL);
        g_autoptr(rg_tensor) cot = img ? rg_tensor_new_full(4, rg_tensor_shape(img), 1e-3f, &error) : NULL;
        if (!cot || !rg_tape_backward_with(ctx, tape, 1, &img, &cot, &error))
            g_error("%s", error->message);
        best[2] = MIN(best[2], now() - t0);
        rg_memory_stats(NULL, &peaks[2]);
        rg_tensor_unref(img);
        rg_tensor_set_requires_grad(latent, FALSE);
        rg_tensor_zero_grad(latent);
    }
    const char *what[3] = {"encode", "decode", "decode+grad"};
    for (int i = 0; i < 3; i++)
        printf("readout %-12s %dx%d: %.3f s, peak %.0f MiB above the weights\n", what[i], size, size, best[i],
               (double)(peaks[i] - live0) / (1 << 20));
    return 0;
}
