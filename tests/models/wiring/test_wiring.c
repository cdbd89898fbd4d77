/* test_wiring.c — Stable Diffusion 1.5 at full size, wired end to end.
 *
 * Writes a checkpoint with exactly SD1.5's tensor names and shapes (every row
 * of ../shared/docs/sd15_tensors.tsv, passed as RG_SD15_TENSORS_TSV) holding
 * small pseudo-random values (uniform in +-0.02; norm weights 1 +- 0.02), as
 * F16, in both layouts users have:
 *   1. one LDM single file (model.diffusion_model.*, first_stage_model.*,
 *      cond_stage_model.transformer.*; SD1.5's defaults as the config), and
 *   2. a diffusers folder (unet/, vae/, text_encoder/ with SD1.5's
 *      config.json files as published, and model_index.json),
 * the same value for the same tensor in both (the writer is shared with the
 * benchmarks: tests/common/sd15_fixture.c). Each layout is opened with
 * rg_model_open() and runs: the UNet on an 8x8 latent, batch 1 (eps, the 12
 * decoder features with their SD1.5 shapes, and the gradient of random
 * cotangents of eps and every feature with respect to the sample), the VAE
 * encoder on a 64x64 image and the decoder on an 8x8 latent, and the text
 * encoder on 77 ids. Outputs must be finite, not all zero, and bit-identical
 * across the layouts.
 *
 * The layouts are written one after the other (the first is deleted before
 * the second is written), so the disk holds one at a time: ~2.1 GB. The test
 * skips (77) when the TSV is absent or the temporary folder lacks the space.
 * It prints its run time and peak memory.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include "readout/clip.h"
#include "readout/model.h"
#include "readout/unet.h"
#include "readout/vae.h"
#include "rg_test.h"
#include "sd15_fixture.h"

static gboolean ok = TRUE;

static void report(gboolean good, const char *what)
{
    g_print("%s %s\n", good ? "OK" : "NOT OK", what);
    ok &= good;
}

static double now_s(void)
{
    return (double)g_get_monotonic_time() / 1e6;
}

static double peak_rss_gib(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_maxrss / (1024.0 * 1024.0); /* KiB on Linux */
}

/* ---- running a layout ------------------------------------------------------------- */

#define N_FEATURES 12

typedef struct {
    rg_tensor *sample, *timestep, *ehs, *cot_eps, *image, *latent, *ids;
} inputs;

typedef struct {
    rg_tensor *eps, *features[N_FEATURES], *grad, *mean, *logvar, *image, *hidden;
} results;

static void results_clear(results *r)
{
    rg_tensor **all[] = {&r->eps, &r->grad, &r->mean, &r->logvar, &r->image, &r->hidden};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        g_clear_pointer(all[i], rg_tensor_unref);
    for (int k = 0; k < N_FEATURES; k++)
        g_clear_pointer(&r->features[k], rg_tensor_unref);
}

static void inputs_init(inputs *in)
{
    GError *error = NULL;
    in->sample = rg_test_random(1, 4, (int64_t[]){1, 4, 8, 8}, -1.5f, 1.5f);
    in->timestep = rg_tensor_new_full(1, (int64_t[]){1}, 500.0f, &error);
    in->ehs = rg_test_random(2, 3, (int64_t[]){1, 77, 768}, -1, 1);
    in->cot_eps = rg_test_random(3, 4, (int64_t[]){1, 4, 8, 8}, -1, 1);
    in->image = rg_test_random(4, 4, (int64_t[]){1, 3, 64, 64}, -1, 1);
    in->latent = rg_test_random(5, 4, (int64_t[]){1, 4, 8, 8}, -2, 2);
    in->ids = rg_tensor_new(RG_DTYPE_I64, 2, (int64_t[]){1, 77}, &error);
    rg_assert_no_error(error);
    /* "a photo of an astronaut riding a horse" in CLIP ids, then EOS padding */
    const int64_t prompt[] = {49406, 320, 1125, 539, 550, 18376, 6765, 320, 4558, 49407};
    for (int i = 0; i < 77; i++)
        rg_tensor_data_i64(in->ids)[i] = i < (int)G_N_ELEMENTS(prompt) ? prompt[i] : 49407;
}

static void inputs_clear(inputs *in)
{
    rg_tensor **all[] = {&in->sample, &in->timestep, &in->ehs, &in->cot_eps, &in->image, &in->latent, &in->ids};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        g_clear_pointer(all[i], rg_tensor_unref);
}

/* Finite, not all zero, of the given shape. */
static void check_output(const char *layout, const char *name, rg_tensor *t, int ndim, const int64_t *shape)
{
    gboolean good = rg_tensor_ndim(t) == ndim;
    for (int d = 0; good && d < ndim; d++)
        good = rg_tensor_shape(t)[d] == shape[d];
    int64_t nonfinite = 0;
    double max_abs = 0;
    for (int64_t i = 0; i < rg_tensor_numel(t); i++) {
        double v = rg_tensor_get_flat(t, i);
        if (!isfinite(v))
            nonfinite++;
        else
            max_abs = MAX(max_abs, fabs(v));
    }
    g_autofree char *s = rg_tensor_shape_string(t);
    g_autofree char *label = g_strdup_printf("%s: %s %s finite (%" G_GINT64_FORMAT " not), max |x| %.3g", layout,
                                             name, s, (gint64)nonfinite, max_abs);
    report(good && nonfinite == 0 && max_abs > 0, label);
}

/* SD1.5's decoder features at an 8x8 latent: 1280 at 1x1, 1280 at 2x2, 640 at 4x4, 320 at 8x8. */
static const int feature_channels[N_FEATURES] = {1280, 1280, 1280, 1280, 1280, 1280, 640, 640, 640, 320, 320, 320};
static const int feature_size[N_FEATURES] = {1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8};

static gboolean run_unet(rg_model *m, rg_ctx *ctx, inputs *in, results *r, const char *layout, GError **error)
{
    double t0 = now_s();
    g_autoptr(rg_unet) u = NULL;
    if (!(u = rg_model_load_unet(m, error)))
        return FALSE;
    double t1 = now_s();
    if (rg_unet_n_features(u) != N_FEATURES) {
        g_set_error(error, RG_ERROR, RG_ERROR_FAILED, "the UNet has %d features, SD1.5 12", rg_unet_n_features(u));
        return FALSE;
    }
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_tensor_set_requires_grad(in->sample, TRUE);
    rg_ctx_set_tape(ctx, tape);
    gboolean good = rg_unet_forward(u, ctx, in->sample, in->timestep, in->ehs, &r->eps, r->features, error);
    rg_ctx_set_tape(ctx, NULL);
    double t2 = now_s();
    rg_tensor *outs[1 + N_FEATURES], *cots[1 + N_FEATURES] = {0};
    if (good) {
        outs[0] = r->eps;
        cots[0] = rg_tensor_ref(in->cot_eps);
        for (int k = 0; k < N_FEATURES; k++) {
            outs[1 + k] = r->features[k];
            cots[1 + k] = rg_test_random(100 + (guint32)k, 4, rg_tensor_shape(r->features[k]), -1, 1);
        }
        good = rg_tape_backward_with(ctx, tape, 1 + N_FEATURES, outs, cots, error);
        for (int k = 0; k <= N_FEATURES; k++)
            rg_tensor_unref(cots[k]);
    }
    if (good && !rg_tensor_get_grad(in->sample)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FAILED, "no gradient reached the sample");
        good = FALSE;
    }
    if (good)
        r->grad = rg_tensor_ref(rg_tensor_get_grad(in->sample));
    rg_tensor_zero_grad(in->sample);
    rg_tensor_set_requires_grad(in->sample, FALSE);
    g_print("  %s: UNet loaded in %.1f s, forward %.1f s, backward %.1f s\n", layout, t1 - t0, t2 - t1,
            now_s() - t2);
    if (!good)
        return FALSE;
    check_output(layout, "eps", r->eps, 4, (int64_t[]){1, 4, 8, 8});
    for (int k = 0; k < N_FEATURES; k++) {
        g_autofree char *name = g_strdup_printf("features.%d", k);
        const int64_t s = feature_size[k];
        check_output(layout, name, r->features[k], 4, (int64_t[]){1, feature_channels[k], s, s});
    }
    check_output(layout, "grad.sample", r->grad, 4, (int64_t[]){1, 4, 8, 8});
    return TRUE;
}

static gboolean run_vae_clip(rg_model *m, rg_ctx *ctx, inputs *in, results *r, const char *layout, GError **error)
{
    double t0 = now_s();
    {
        g_autoptr(rg_vae) v = NULL;
        if (!(v = rg_model_load_vae(m, error)) || !rg_vae_encode(v, ctx, in->image, &r->mean, &r->logvar, error) ||
            !(r->image = rg_vae_decode(v, ctx, in->latent, error)))
            return FALSE;
    }
    double t1 = now_s();
    {
        g_autoptr(rg_clip_text) t = NULL;
        if (!(t = rg_model_load_text_encoder(m, error)) || !(r->hidden = rg_clip_text_forward(t, ctx, in->ids, error)))
            return FALSE;
    }
    g_print("  %s: VAE load + encode 64x64 + decode 8x8 %.1f s, text encoder load + forward %.1f s\n", layout,
            t1 - t0, now_s() - t1);
    check_output(layout, "vae mean", r->mean, 4, (int64_t[]){1, 4, 8, 8});
    check_output(layout, "vae logvar", r->logvar, 4, (int64_t[]){1, 4, 8, 8});
    check_output(layout, "vae decoded image", r->image, 4, (int64_t[]){1, 3, 64, 64});
    check_output(layout, "last_hidden_state", r->hidden, 3, (int64_t[]){1, 77, 768});
    return TRUE;
}

static gboolean run_layout(const char *path, const char *layout, inputs *in, results *r, GError **error)
{
    g_autoptr(rg_model) m = rg_model_open(path, error);
    if (!m || !rg_model_check(m, error))
        return FALSE;
    g_autofree char *label = g_strdup_printf("%s: opens as %s, \"%s\"", layout, rg_model_layout_name(m),
                                             rg_model_type_name(m));
    report(!strcmp(rg_model_type_name(m), "Stable Diffusion 1.x"), label);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, error);
    return ctx && run_unet(m, ctx, in, r, layout, error) && run_vae_clip(m, ctx, in, r, layout, error);
}

static void compare(results *a, results *b)
{
    rg_tensor *ta[] = {a->eps, a->grad, a->mean, a->logvar, a->image, a->hidden};
    rg_tensor *tb[] = {b->eps, b->grad, b->mean, b->logvar, b->image, b->hidden};
    const char *names[] = {"eps", "grad.sample", "vae mean", "vae logvar", "vae decoded image", "last_hidden_state"};
    for (size_t i = 0; i < G_N_ELEMENTS(ta); i++) {
        g_autofree char *l = g_strdup_printf("single file = diffusers folder: %s", names[i]);
        ok &= rg_check_tensor(l, ta[i], tb[i], 0, 0);
    }
    for (int k = 0; k < N_FEATURES; k++) {
        g_autofree char *l = g_strdup_printf("single file = diffusers folder: features.%d", k);
        ok &= rg_check_tensor(l, a->features[k], b->features[k], 0, 0);
    }
}

/* ---- main -------------------------------------------------------------------------- */

static void rmtree(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
        g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
        for (const char *n; d && (n = g_dir_read_name(d));) {
            g_autofree char *p = g_build_filename(path, n, NULL);
            rmtree(p);
        }
    }
    g_remove(path);
}

/* MemAvailable of /proc/meminfo in bytes, or -1. */
static double mem_available(void)
{
    g_autofree char *info = NULL;
    if (!g_file_get_contents("/proc/meminfo", &info, NULL, NULL))
        return -1;
    const char *p = strstr(info, "MemAvailable:");
    return p ? g_ascii_strtod(p + strlen("MemAvailable:"), NULL) * 1024.0 : -1;
}

int main(void)
{
    const double start = now_s();
    if (!g_file_test(RG_SD15_TENSORS_TSV, G_FILE_TEST_EXISTS)) {
        g_print("SKIP %s is absent\n", RG_SD15_TENSORS_TSV);
        return 77;
    }
    GError *error = NULL;
    GArray *rows = sd15_rows_read(RG_SD15_TENSORS_TSV, &error);
    rg_assert_no_error(error);
    guint64 bytes = 0;
    int64_t params[3] = {0};
    for (guint i = 0; i < rows->len; i++) {
        const sd15_row *r = &g_array_index(rows, sd15_row, i);
        bytes += 2 * (guint64)r->numel;
        params[!strcmp(r->part, "unet") ? 0 : !strcmp(r->part, "vae") ? 1 : 2] += r->numel;
    }
    g_print("%u tensors: UNet %.1fM, VAE %.1fM, text encoder %.1fM parameters; %.2f GB per layout in F16\n",
            rows->len, params[0] / 1e6, params[1] / 1e6, params[2] / 1e6, bytes / 1e9);
    report(rows->len == 1130 && params[0] == 859520964, "the TSV lists SD1.5 (1130 tensors, 859,520,964 UNet parameters)");

    /* one layout on disk at a time, plus headers and a margin */
    const char *tmpdir = g_get_tmp_dir();
    struct statvfs fs;
    const double need = (double)bytes + 256e6;
    if (statvfs(tmpdir, &fs) == 0 && (double)fs.f_bavail * (double)fs.f_frsize < need) {
        g_print("SKIP %s has %.2f GB free; this test writes %.2f GB\n", tmpdir,
                (double)fs.f_bavail * (double)fs.f_frsize / 1e9, need / 1e9);
        sd15_rows_free(rows);
        return 77;
    }
    /* the F32 UNet (3.4 GB) and the pages of its F16 file being read */
    const double mem = mem_available(), mem_need = 6.0e9;
    if (mem > 0 && mem < mem_need) {
        g_print("SKIP %.1f GB of memory available; this test needs %.1f GB\n", mem / 1e9, mem_need / 1e9);
        sd15_rows_free(rows);
        return 77;
    }

    g_autofree char *dir = g_dir_make_tmp("rg-wiring-XXXXXX", NULL);
    g_assert_nonnull(dir);
    g_autofree char *single = g_build_filename(dir, "v1-5-wiring.safetensors", NULL);
    g_autofree char *folder = g_build_filename(dir, "v1-5-wiring", NULL);
    inputs in = {0};
    inputs_init(&in);
    results ra = {0}, rb = {0};

    double t = now_s();
    gboolean good = sd15_write_checkpoint(single, rows, NULL, TRUE, &error);
    g_print("  single file written in %.1f s\n", now_s() - t);
    good = good && run_layout(single, "single file", &in, &ra, &error);
    g_remove(single);
    if (good) {
        t = now_s();
        good = sd15_write_folder(folder, rows, &error);
        g_print("  diffusers folder written in %.1f s\n", now_s() - t);
        good = good && run_layout(folder, "diffusers folder", &in, &rb, &error);
    }
    rmtree(dir);
    if (!good) {
        g_print("NOT OK %s\n", error->message);
        g_error_free(error);
        ok = FALSE;
    } else {
        compare(&ra, &rb);
    }
    results_clear(&ra);
    results_clear(&rb);
    inputs_clear(&in);
    sd15_rows_free(rows);
    size_t peak_tensors;
    rg_memory_stats(NULL, &peak_tensors);
    g_print("run time %.1f s, peak RSS %.2f GiB, peak tensor memory %.2f GB\n", now_s() - start, peak_rss_gib(),
            peak_tensors / 1e9);
    g_print("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
