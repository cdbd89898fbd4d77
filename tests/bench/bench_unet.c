/* bench_unet.c — times the SD1.5 UNet at a 64x64 latent, batch 1, on the CPU:
 *   forward       eps, no tape
 *   forward_grad  eps and the 12 decoder features with a tape (checkpointing
 *                 on, the default), then the gradient of sum_k <cot_k, f_k>
 *                 to the sample; weights frozen (the Readout Guidance step)
 * median of N runs after one warm-up, and the peak memory of each case.
 * The weights and inputs come from tests/bench/bench_unet.py gen DIR, so
 * PyTorch runs on the same numbers; eps and grad.sample go to
 * DIR/ours.safetensors for bench_unet.py to compare. tests/bench/run_unet.sh
 * runs both and prints the table. Not a test: nothing passes or fails on time.
 *
 * Output lines (the same as bench_unet.py's):
 *   time CASE MEDIAN_S T1 T2 ...
 *   mem CASE PEAK_RSS_GB PEAK_TENSOR_GB
 * peak RSS: getrusage ru_maxrss, the process's peak reset (/proc/self/clear_refs
 * 5) after loading, so it counts weights + activations, not the memory-mapped
 * file; peak tensor: rg_memory_stats (engine tensor bytes, weights included),
 * its peak reset likewise. GB = 1e9 bytes.
 *
 * Usage: OMP_NUM_THREADS=2 bench_unet DIR [N] [all|forward|grad]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "readout/unet.h"
#include "rg_test.h"

#define MAX_REPS 32
#define N_FEATURES 12

static gboolean reset_peaks(void)
{
    rg_memory_reset_peak();
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return FALSE;
    gboolean ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* Resident set size now, in GB (VmRSS of /proc/self/status), or -1. */
static double rss_now_gb(void)
{
    g_autofree char *status = NULL;
    if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL))
        return -1;
    const char *line = strstr(status, "VmRSS:");
    return line ? g_ascii_strtod(line + 6, NULL) * 1024.0 / 1e9 : -1;
}

static void print_mem(const char *name)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    size_t live, peak;
    rg_memory_stats(&live, &peak);
    printf("mem %s %.3f %.3f\n", name, ru.ru_maxrss * 1024.0 / 1e9, peak / 1e9);
}

static void print_times(const char *name, double *times, int reps)
{
    double sorted[MAX_REPS];
    memcpy(sorted, times, reps * sizeof *times);
    for (int i = 0; i < reps; i++) /* insertion sort for the median */
        for (int j = i; j > 0 && sorted[j] < sorted[j - 1]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    double median = reps % 2 ? sorted[reps / 2] : (sorted[reps / 2 - 1] + sorted[reps / 2]) / 2;
    printf("time %s %.3f", name, median);
    for (int i = 0; i < reps; i++)
        printf(" %.3f", times[i]);
    printf("\n");
    fflush(stdout);
}

static rg_tensor *load(rg_safetensors *st, const char *name)
{
    GError *error = NULL;
    rg_tensor *t = rg_safetensors_load(st, name, &error);
    if (!t)
        g_error("%s", error->message);
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [N] [all|forward|grad]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    const char *which = argc > 3 ? argv[3] : "all";
    if (reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "N must be 1..%d\n", MAX_REPS);
        return 2;
    }
    gboolean do_forward = strcmp(which, "grad") != 0, do_grad = strcmp(which, "forward") != 0;
    rg_set_num_threads(2);
    GError *error = NULL;

    // the model: SD1.5 from DIR/unet.safetensors (F16 on disk, "unet." prefix)
    g_autofree char *wpath = g_build_filename(dir, "unet.safetensors", NULL);
    rg_weights *w = rg_weights_open_safetensors(wpath, "unet.", &error);
    if (!w)
        g_error("%s (run tests/bench/bench_unet.py gen %s first)", error->message, dir);
    rg_unet_config c;
    rg_unet_config_init_sd15(&c);
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(rg_unet) u = rg_unet_new(&c, w, &error);
    if (!u)
        g_error("%s", error->message);
    rg_weights_free(w); /* tensors were copied; unmaps the file */
    size_t weight_bytes, peak;
    rg_memory_stats(&weight_bytes, &peak);
    printf("info threads %d load_s %.1f weights_f32_gb %.3f blas %s\n", rg_get_num_threads(),
           (g_get_monotonic_time() - t0) / 1e6, weight_bytes / 1e9, rg_blas_description());

    // inputs: sample (1,4,64,64), timestep (1), encoder_hidden_states (1,77,768), cotangent.features.k
    g_autofree char *ipath = g_build_filename(dir, "inputs.safetensors", NULL);
    g_autoptr(rg_safetensors) st = rg_safetensors_open(ipath, &error);
    if (!st)
        g_error("%s", error->message);
    g_autoptr(rg_tensor) sample = load(st, "sample");
    g_autoptr(rg_tensor) timestep = load(st, "timestep");
    g_autoptr(rg_tensor) text = load(st, "encoder_hidden_states");
    rg_tensor *cots[N_FEATURES];
    g_assert_cmpint(rg_unet_n_features(u), ==, N_FEATURES);
    for (int k = 0; k < N_FEATURES; k++) {
        char name[64];
        snprintf(name, sizeof name, "cotangent.features.%d", k);
        cots[k] = load(st, name);
    }
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tensor) eps_out = NULL;
    g_autoptr(rg_tensor) grad_out = NULL;
    double times[MAX_REPS];
    printf("info rss_after_load_gb %.3f\n", rss_now_gb());
    if (!reset_peaks())
        printf("info /proc/self/clear_refs not writable: peak RSS includes loading\n");

    // forward: eps only, no tape
    if (do_forward) {
        for (int r = -1; r < reps; r++) { /* r = -1 warms up */
            g_clear_pointer(&eps_out, rg_tensor_unref);
            gint64 a = g_get_monotonic_time();
            if (!rg_unet_forward(u, ctx, sample, timestep, text, &eps_out, NULL, &error))
                g_error("%s", error->message);
            if (r >= 0)
                times[r] = (g_get_monotonic_time() - a) / 1e6;
        }
        print_times("forward", times, reps);
        print_mem("forward");
    }

    // forward_grad: eps + features on a tape, backward from the features to the sample
    if (do_grad) {
        reset_peaks();
        rg_tensor_set_requires_grad(sample, TRUE);
        for (int r = -1; r < reps; r++) {
            gint64 a = g_get_monotonic_time();
            g_autoptr(rg_tape) tape = rg_tape_new();
            rg_ctx_set_tape(ctx, tape);
            rg_tensor *eps = NULL, *feats[N_FEATURES];
            if (!rg_unet_forward(u, ctx, sample, timestep, text, &eps, feats, &error))
                g_error("%s", error->message);
            rg_ctx_set_tape(ctx, NULL);
            if (!rg_tape_backward_with(ctx, tape, N_FEATURES, feats, cots, &error))
                g_error("%s", error->message);
            g_clear_pointer(&tape, rg_tape_free);
            for (int k = 0; k < N_FEATURES; k++)
                rg_tensor_unref(feats[k]);
            g_clear_pointer(&grad_out, rg_tensor_unref);
            grad_out = rg_tensor_ref(rg_tensor_get_grad(sample));
            rg_tensor_zero_grad(sample);
            if (r >= 0)
                times[r] = (g_get_monotonic_time() - a) / 1e6;
            if (!eps_out)
                eps_out = eps;
            else
                rg_tensor_unref(eps);
        }
        print_times("forward_grad", times, reps);
        print_mem("forward_grad");
    }

    // eps and grad.sample for bench_unet.py to compare with PyTorch's
    const char *names[2];
    rg_tensor *outs[2];
    int n = 0;
    if (eps_out) {
        names[n] = "eps";
        outs[n++] = eps_out;
    }
    if (grad_out) {
        names[n] = "grad.sample";
        outs[n++] = grad_out;
    }
    g_autofree char *opath = g_build_filename(dir, "ours.safetensors", NULL);
    if (!rg_safetensors_save(opath, n, names, outs, NULL, &error))
        g_error("%s", error->message);
    for (int k = 0; k < N_FEATURES; k++)
        rg_tensor_unref(cots[k]);
    return 0;
}
