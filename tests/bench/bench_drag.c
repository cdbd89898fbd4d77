/* bench_drag.c — time and peak memory of one drag edit (issue 4).
 *
 * Loads the model at MODEL_DIR with rg_pipeline_new(), makes random
 * appearance and correspondence heads of the official SD1.5 head shape
 * (relative heads over every decoder feature of the UNet, projection_dim
 * 384, emb_dim = the UNet's time-embedding width, 32 groups), and runs ONE
 * drag edit of a synthetic picture (a gradient with a bright square; one
 * point pair moving the square's centre by 1/8 of the side) with
 *   official  rg_job_init(RG_JOB_DRAG): 100 DDIM steps, the first 50 guided,
 *             the reference sample denoised in parallel (batch 2 x CFG 2)
 *   fast      + rg_job_apply_fast_preset(): 25 steps, cached reference readouts
 * One configuration per process, so that the peak memory is that of one
 * configuration (tests/bench/run_drag.sh runs the four).
 *
 * Prints the wall time of loading and of the job, the time per step of each
 * phase from the progress callback (the time from the callback for step i
 * to the next callback): inversion steps, reference steps (cached preset;
 * "record" are those of the guided range, which also run the heads), and
 * denoising steps guided / unguided; peak RSS (getrusage ru_maxrss) after
 * loading and of the job alone (the peak reset through /proc/self/clear_refs
 * after loading), the engine's peak tensor bytes, the job's CPU time (user +
 * system; near 2 x wall on two idle cores) and /proc/loadavg before and
 * after. The machine's other work slows the job: with more runnable
 * processes than cores, the two OpenMP threads wait for each other at every
 * parallel region, and steps take several times longer. With STEPS given
 * (fewer than the setting's), the guided share stays the same and the
 * program also prints the time extrapolated to the setting's step count: the
 * time outside the steps plus, per kind of step, its mean time x its count
 * at the full step count.
 *
 * Usage: OMP_NUM_THREADS=2 bench_drag MODEL_DIR official|fast [MAX_SIDE] [STEPS]
 *        bench_drag --write-sd15 DIR
 * The second form writes SD1.5's architecture with generated weights as a
 * diffusers folder (tests/common/sd15_fixture.h; ~2.1 GB, F16), from the
 * tensor list RG_SD15_TENSORS_TSV; exit status 77 when the list is absent.
 * The folder needs a tokenizer/ (vocab.json, merges.txt) to run.
 * MAX_SIDE: longest side of the working size (0 or absent: the model's
 * native size); the synthetic picture is MAX_SIDE x MAX_SIDE.
 * The last line is a summary for scripts:
 *   result SETTING key=value ...
 * Not a test: nothing passes or fails on time. GB = 1e9 bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "readout/pipeline.h"
#include "sd15_fixture.h"

/* ---- clocks, memory, load ---------------------------------------------------- */

static double now_s(void)
{
    return (double)g_get_monotonic_time() / 1e6;
}

/* User + system CPU seconds of the process so far. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double peak_rss_gb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss * 1024.0 / 1e9; /* KiB on Linux */
}

/* Resets the process's peak RSS (and the engine's peak tensor count). */
static gboolean reset_peaks(void)
{
    rg_memory_reset_peak();
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return FALSE;
    gboolean ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* The first three fields of /proc/loadavg (new string). */
static char *loadavg(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/loadavg", &text, NULL, NULL))
        return g_strdup("?");
    g_auto(GStrv) f = g_strsplit(g_strstrip(text), " ", -1);
    return g_strv_length(f) >= 3 ? g_strdup_printf("%s %s %s", f[0], f[1], f[2]) : g_strdup("?");
}

/* ---- progress events ----------------------------------------------------------- */

typedef struct {
    char phase[16];
    int i, n;
    double t;
} event;

static void on_progress(const char *phase, int i, int n, gpointer data)
{
    event e = {.i = i, .n = n, .t = now_s()};
    g_strlcpy(e.phase, phase, sizeof e.phase);
    g_array_append_val((GArray *)data, e);
}

/* The kinds of step timed separately. */
enum { K_INVERT, K_REF_RECORD, K_REF_PLAIN, K_GUIDED, K_UNGUIDED, K_COUNT };
static const char *const kind_names[K_COUNT] = {
    "inversion step (UNet forward, batch 1)",
    "reference step, guided range (forward batch 2 + head readouts)",
    "reference step, unguided range (forward batch 2)",
    "denoising step, guided",
    "denoising step, unguided",
};
static const char *const kind_keys[K_COUNT] = {"invert_s", "ref_record_s", "ref_plain_s", "guided_s", "unguided_s"};

typedef struct {
    int count[K_COUNT];
    double sum[K_COUNT];
    double steps_total; /* time inside the steps */
} step_times;

static gboolean in_guided_range(const rg_job *job, int i, int n)
{
    return (int)(job->guidance_ratio[0] * n) <= i && i < (int)(job->guidance_ratio[1] * n);
}

/* Counts of each kind of step of @job run with @n steps. */
static void kind_counts(const rg_job *job, int n, int *count)
{
    memset(count, 0, K_COUNT * sizeof *count);
    const int guided = (int)(job->guidance_ratio[1] * n) - (int)(job->guidance_ratio[0] * n);
    count[K_INVERT] = n;
    if (job->cache_reference) {
        count[K_REF_RECORD] = guided;
        count[K_REF_PLAIN] = n - guided;
    }
    count[K_GUIDED] = guided;
    count[K_UNGUIDED] = n - guided;
}

static void sum_steps(const rg_job *job, GArray *events, step_times *st)
{
    memset(st, 0, sizeof *st);
    for (guint k = 0; k + 1 < events->len; k++) {
        const event *e = &g_array_index(events, event, k), *next = &g_array_index(events, event, k + 1);
        if (e->i >= e->n)
            continue;
        int kind;
        const gboolean g = in_guided_range(job, e->i, e->n);
        if (!strcmp(e->phase, "invert"))
            kind = K_INVERT;
        else if (!strcmp(e->phase, "reference"))
            kind = g ? K_REF_RECORD : K_REF_PLAIN;
        else if (!strcmp(e->phase, "denoise"))
            kind = g ? K_GUIDED : K_UNGUIDED;
        else
            continue;
        st->count[kind]++;
        st->sum[kind] += next->t - e->t;
        st->steps_total += next->t - e->t;
    }
}

/* Time from the first event of @phase to the first event after its last one. */
static double phase_span(GArray *events, const char *phase)
{
    double t0 = -1, t1 = -1;
    for (guint k = 0; k < events->len; k++) {
        const event *e = &g_array_index(events, event, k);
        if (!strcmp(e->phase, phase)) {
            if (t0 < 0)
                t0 = e->t;
            t1 = k + 1 < events->len ? g_array_index(events, event, k + 1).t : e->t;
        }
    }
    return t0 < 0 ? 0 : t1 - t0;
}

/* ---- inputs ---------------------------------------------------------------------- */

/* A relative head of the official SD1.5 shape over every decoder feature of @u. */
static rg_head *make_head(rg_unet *u, const char *role, const char *base_model, guint64 seed, GError **error)
{
    rg_head_config c = {0};
    c.n_layers = rg_unet_n_features(u);
    for (int l = 0; l < c.n_layers; l++)
        c.dims[l] = rg_unet_feature_channels(u, l);
    c.projection_dim = 384;
    c.emb_dim = rg_unet_get_config(u)->time_embedding_dim;
    c.norm_groups = 32;
    c.use_output_head = FALSE;
    c.output_channels = 3;
    c.output_act = TRUE;
    c.control_range[0] = -1.0f;
    c.control_range[1] = 1.0f;
    g_strlcpy(c.base_model, base_model, sizeof c.base_model);
    g_strlcpy(c.role, role, sizeof c.role);
    return rg_head_new_random(&c, seed, error);
}

/* A @size x @size gradient with a bright square in the upper left quarter. */
static rg_image *test_image(int size, GError **error)
{
    rg_image *img = rg_image_new(size, size, 3, error);
    if (!img)
        return NULL;
    const int s0 = size / 4, s1 = size / 2;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            guint8 *px = img->data + 3 * (y * size + x);
            const gboolean square = x >= s0 && x < s1 && y >= s0 && y < s1;
            px[0] = square ? 240 : (guint8)(255 * x / size);
            px[1] = square ? 200 : (guint8)(255 * y / size);
            px[2] = square ? 30 : 120;
        }
    return img;
}

/* ---- main -------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr, "usage: OMP_NUM_THREADS=2 bench_drag MODEL_DIR official|fast [MAX_SIDE] [STEPS]\n"
                    "       bench_drag --write-sd15 DIR\n");
    return 2;
}

static int write_sd15(const char *dir)
{
    if (!g_file_test(RG_SD15_TENSORS_TSV, G_FILE_TEST_EXISTS)) {
        fprintf(stderr, "bench_drag: %s is absent: cannot write SD1.5's architecture\n", RG_SD15_TENSORS_TSV);
        return 77;
    }
    GError *error = NULL;
    const double t0 = now_s();
    GArray *rows = sd15_rows_read(RG_SD15_TENSORS_TSV, &error);
    gboolean ok = rows && sd15_write_folder(dir, rows, &error);
    if (ok)
        printf("SD1.5 architecture, generated weights: %.2f GB written to %s in %.1f s\n",
               sd15_rows_bytes(rows, NULL) / 1e9, dir, now_s() - t0);
    else
        fprintf(stderr, "bench_drag: %s\n", error->message), g_error_free(error);
    sd15_rows_free(rows);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write-sd15"))
        return write_sd15(argv[2]);
    if (argc < 3 || argc > 5 || (strcmp(argv[2], "official") && strcmp(argv[2], "fast")))
        return usage();
    const char *model = argv[1], *setting = argv[2];
    const int max_side_arg = argc > 3 ? atoi(argv[3]) : 0;
    const int steps_arg = argc > 4 ? atoi(argv[4]) : 0;
    if (max_side_arg < 0 || steps_arg < 0)
        return usage();
    GError *error = NULL;
    g_autofree char *load_start = loadavg();

    double t0 = now_s();
    g_autoptr(rg_pipeline) p = rg_pipeline_new(model, NULL, &error);
    if (!p) {
        fprintf(stderr, "bench_drag: %s\n", error->message);
        return 1;
    }
    const double load_s = now_s() - t0, rss_load = peak_rss_gb();
    rg_unet *u = rg_pipeline_get_unet(p);
    const rg_unet_config *uc = rg_unet_get_config(u);
    // heads are checked against the UNet's shapes; the name is informational
    const gboolean sd15 = rg_unet_n_features(u) == 12 && uc->time_embedding_dim == 1280;
    const char *base_model = sd15 ? "runwayml/stable-diffusion-v1-5" : model;
    g_autoptr(rg_head_set) heads = rg_head_set_new();
    rg_head *app = make_head(u, RG_ROLE_APPEARANCE, base_model, 1, &error);
    if (!app || !rg_head_set_add(heads, NULL, app, &error)) {
        fprintf(stderr, "bench_drag: appearance head: %s\n", error->message);
        return 1;
    }
    rg_head *corr = make_head(u, RG_ROLE_CORRESPONDENCE, base_model, 2, &error);
    if (!corr || !rg_head_set_add(heads, NULL, corr, &error)) {
        fprintf(stderr, "bench_drag: correspondence head: %s\n", error->message);
        return 1;
    }

    const int side = max_side_arg > 0 ? max_side_arg : rg_pipeline_native_size(p);
    g_autoptr(rg_image) img = test_image(side, &error);
    if (!img) {
        fprintf(stderr, "bench_drag: %s\n", error->message);
        return 1;
    }
    // the square's centre moves right and down by 1/8 of the side
    const float c = 3.0f * side / 8.0f, points[4] = {c, c, c + side / 8.0f, c + side / 8.0f};
    g_autoptr(GArray) events = g_array_new(FALSE, TRUE, sizeof(event));
    rg_job job;
    rg_job_init(&job, RG_JOB_DRAG);
    if (!strcmp(setting, "fast"))
        rg_job_apply_fast_preset(&job);
    const int full_steps = job.steps;
    if (steps_arg > 0)
        job.steps = steps_arg;
    job.max_side = max_side_arg;
    job.prompt = "a photo of a yellow square on a gradient";
    job.image = img;
    job.points = points;
    job.n_points = 1;
    job.heads = heads;
    job.callbacks.progress = on_progress;
    job.callbacks.user_data = events;

    int lw = 0, lh = 0, counts[K_COUNT];
    rg_image_fit_size(side, side, max_side_arg > 0 ? max_side_arg : rg_pipeline_native_size(p),
                      rg_pipeline_size_multiple(p), &lw, &lh);
    kind_counts(&job, job.steps, counts);
    const int vae_factor = rg_pipeline_size_multiple(p) / rg_unet_size_multiple(u);
    const char *threads = g_getenv("OMP_NUM_THREADS");
    printf("model %s (%s), setting %s: %d steps (%d guided), %s reference, working size %dx%d, latent %dx%d, "
           "OMP_NUM_THREADS %s\n", model, sd15 ? "SD1.5 architecture" : "not SD1.5", setting, job.steps,
           counts[K_GUIDED], job.cache_reference ? "cached" : "parallel", lw, lh, lw / vae_factor, lh / vae_factor,
           threads ? threads : "unset");
    printf("load: %.2f s, peak RSS after loading %.3f GB\n", load_s, rss_load);
    fflush(stdout);

    const gboolean reset = reset_peaks();
    g_autofree char *load_before = loadavg();
    t0 = now_s();
    const double c0 = cpu_s();
    g_autoptr(rg_image) out = rg_pipeline_run(p, &job, &error);
    const double run_s = now_s() - t0, run_cpu = cpu_s() - c0;
    g_autofree char *load_after = loadavg();
    if (!out) {
        fprintf(stderr, "bench_drag: the drag failed: %s\n", error->message);
        return 1;
    }
    const double rss_job = peak_rss_gb();
    size_t live = 0, peak_tensors = 0;
    rg_memory_stats(&live, &peak_tensors);

    step_times st;
    sum_steps(&job, events, &st);
    printf("job: %.2f s wall, %.2f s CPU (output %dx%d)\n", run_s, run_cpu, out->width, out->height);
    printf("  prompts + VAE encode %.2f s, inversion %.2f s, reference %.2f s, denoising %.2f s, decode %.2f s\n",
           phase_span(events, "encode"), phase_span(events, "invert"), phase_span(events, "reference"),
           phase_span(events, "denoise"), phase_span(events, "decode"));
    for (int k = 0; k < K_COUNT; k++)
        if (st.count[k] > 0)
            printf("  %-64s %3d x %8.3f s = %8.2f s\n", kind_names[k], st.count[k], st.sum[k] / st.count[k],
                   st.sum[k]);
    printf("peak RSS: whole process %.3f GB, the job alone %s%.3f GB; engine tensors peak %.3f GB\n",
           MAX(rss_load, rss_job), reset ? "" : "(peak not reset, includes loading) ", rss_job, peak_tensors / 1e9);
    printf("loadavg: start %s, before the job %s, after %s\n", load_start, load_before, load_after);

    double est = run_s;
    if (job.steps != full_steps) {
        // the time outside the steps, plus each kind of step at its full count
        int full[K_COUNT];
        kind_counts(&job, full_steps, full);
        est = run_s - st.steps_total;
        for (int k = 0; k < K_COUNT; k++)
            if (st.count[k] > 0)
                est += st.sum[k] / st.count[k] * full[k];
        printf("EXTRAPOLATED: measured %d steps, not the setting's %d; at %d steps (%d guided) the job would "
               "take about %.0f s (%.1f min)\n", job.steps, full_steps, full_steps, full[K_GUIDED], est, est / 60);
    }
    printf("result %s steps=%d full_steps=%d run_s=%.2f cpu_s=%.2f est_full_s=%.1f load_s=%.2f", setting, job.steps,
           full_steps, run_s, run_cpu, est, load_s);
    for (int k = 0; k < K_COUNT; k++)
        if (st.count[k] > 0)
            printf(" %s=%.3f", kind_keys[k], st.sum[k] / st.count[k]);
    printf(" rss_load_gb=%.3f rss_job_gb=%.3f tensors_gb=%.3f loadavg=%s\n", rss_load, rss_job, peak_tensors / 1e9,
           load_after);
    return 0;
}
