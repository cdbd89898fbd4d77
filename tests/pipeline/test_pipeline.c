/* test_pipeline.c — the Readout Guidance jobs on a tiny random model
 * (tests/data/tiny-sd, made by tests/reference/tiny_model.py) with random
 * heads: a guided step lowers the guidance loss, correspondence guidance
 * moves the feature match toward the target, DDIM inversion + reconstruction
 * returns close to the input latent, every job runs end to end with the
 * input's size kept, a fill keeps the unmasked pixels, the cached reference
 * agrees with the parallel one, an unguided generated drag is `generate`,
 * cancel stops a job, and bad input gets clear errors. */
#include <math.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/pipeline_impl.h"
#include "rg_test.h"

static rg_pipeline *pipe_;
static rg_head_set *heads;

static rg_head *random_head(const char *role, gboolean spatial, int n_layers, guint64 seed)
{
    rg_unet *u = rg_pipeline_get_unet(pipe_);
    rg_head_config c = {0};
    c.n_layers = n_layers;
    for (int l = 0; l < n_layers; l++)
        c.dims[l] = rg_unet_feature_channels(u, l % rg_unet_n_features(u));
    c.projection_dim = 128;
    c.emb_dim = rg_unet_get_config(u)->time_embedding_dim;
    c.norm_groups = 32;
    c.use_output_head = spatial;
    c.output_channels = 3;
    c.output_act = TRUE;
    c.control_range[0] = -0.5f;
    c.control_range[1] = 0.5f;
    g_strlcpy(c.base_model, "tests/data/tiny-sd", sizeof c.base_model);
    g_strlcpy(c.role, role, sizeof c.role);
    GError *error = NULL;
    rg_head *h = rg_head_new_random(&c, seed, &error);
    rg_assert_no_error(error);
    return h;
}

/* A 40x24 picture: a gradient with a bright square. */
static rg_image *test_image(void)
{
    rg_image *img = rg_image_new(40, 24, 3, NULL);
    for (int y = 0; y < 24; y++)
        for (int x = 0; x < 40; x++) {
            guint8 *px = img->data + 3 * (y * 40 + x);
            const gboolean square = x >= 8 && x < 18 && y >= 6 && y < 16;
            px[0] = square ? 240 : (guint8)(x * 5);
            px[1] = square ? 200 : (guint8)(y * 8);
            px[2] = square ? 30 : 120;
        }
    return img;
}

static rg_tensor *context_rows(int B, const char *prompt)
{
    GError *error = NULL;
    g_autoptr(rg_tensor) u = encode_prompt(pipe_, "", &error);
    g_autoptr(rg_tensor) c = encode_prompt(pipe_, prompt, &error);
    rg_assert_no_error(error);
    rg_tensor *rows[4] = {u, B == 2 ? u : c, c, c};
    rg_tensor *t = rg_concat(pipe_->ctx, rows, 2 * B, 0, &error);
    rg_assert_no_error(error);
    return t;
}

/* (B, 4, 8, 12) noise; @same: every row the same draw. */
static rg_tensor *random_latent(int B, guint64 seed, gboolean same)
{
    rg_rng r;
    noise_rng_init(&r, seed, NOISE_INITIAL);
    if (!same)
        return noise_tensor(&r, B, 4, 8, 12, NULL);
    g_autoptr(rg_tensor) one = noise_tensor(&r, 1, 4, 8, 12, NULL);
    rg_tensor *rows[2] = {one, one};
    return B == 1 ? rg_tensor_ref(one) : rg_concat(pipe_->ctx, rows, B, 0, NULL);
}

/* The guidance loss before and after one guided update, for @terms, with
 * reference and edited rows that differ (identical rows would start the
 * appearance term at its minimum). */
static void loss_drop(const char *label, guide_term *terms, int n_terms, int B)
{
    rg_job job;
    rg_job_init(&job, RG_JOB_DRAG);
    sampler s = {.p = pipe_, .job = &job, .phase = "test", .B = B, .cfg = {1.0f, 3.5f},
                 .context = context_rows(B, "a red ball"), .terms = terms, .n_terms = n_terms};
    g_autoptr(rg_tensor) z = random_latent(B, 7, FALSE);
    GError *error = NULL;
    double before = 0, after = 0;
    RG_CHECK(sampler_guide(&s, &z, 10, 501, &before, &error));
    rg_assert_no_error(error);
    RG_CHECK(sampler_guide(&s, &z, 10, 501, &after, &error));
    rg_assert_no_error(error);
    g_print("%s: loss %.6g -> %.6g after one guided step\n", label, before, after);
    RG_CHECK(isfinite(before) && after < before);
    rg_tensor_unref(s.context);
}

static void test_guided_step_lowers_loss(void)
{
    rg_point_pair pair = {3.0f, 2.0f, 4.0f, 7.0f};
    guide_term drag[2] = {
        {.kind = TERM_APPEARANCE, .role = "appearance", .head = rg_head_set_get(heads, "appearance"), .use_emb = TRUE,
         .scale = 1.0f},
        {.kind = TERM_CORRESPONDENCE, .role = "correspondence", .head = rg_head_set_get(heads, "correspondence"),
         .scale = 1.0f, .pairs = &pair, .n_pairs = 1},
    };
    loss_drop("drag terms", drag, 2, 2);
    loss_drop("correspondence", drag + 1, 1, 2);
    const int64_t cs[4] = {1, 3, 8, 12};
    g_autoptr(rg_tensor) control = rg_test_random(3, 4, cs, -0.5f, 0.5f);
    guide_term spatial = {.kind = TERM_SPATIAL, .role = "pose", .head = rg_head_set_get(heads, "pose"),
                          .use_emb = TRUE, .scale = 0.5f, .control = control, .cmin = -0.5f, .cmax = 0.5f};
    loss_drop("spatial", &spatial, 1, 1);
}

/* Readout of @head on sample @z (1, 4, h, w) with the cond prompt, at timestep t. */
static rg_tensor *readout_of(rg_head *head, rg_tensor *z, int t, rg_tensor *cond)
{
    rg_unet *u = rg_pipeline_get_unet(pipe_);
    const int n = rg_unet_n_features(u);
    GError *error = NULL;
    rg_tensor *feats[RG_HEAD_MAX_LAYERS] = {0};
    const int64_t one = 1;
    g_autoptr(rg_tensor) tt = rg_tensor_new_full(1, &one, (float)t, NULL);
    RG_CHECK(rg_unet_forward(u, pipe_->ctx, z, tt, cond, NULL, feats, &error));
    rg_assert_no_error(error);
    const int64_t *zs = rg_tensor_shape(z);
    rg_tensor *r = rg_head_forward(head, pipe_->ctx, feats, NULL, zs[2], zs[3], &error);
    rg_assert_no_error(error);
    for (int k = 0; k < n; k++)
        rg_tensor_unref(feats[k]);
    return r;
}

/* Cell of @obs (1, C, h, w) most similar (cosine) to @gt at cell (y, x). */
static int best_match(rg_tensor *gt, rg_tensor *obs, int y, int x)
{
    const int64_t *s = rg_tensor_shape(obs);
    const int64_t C = s[1], hw = s[2] * s[3];
    const float *g = rg_tensor_data_f32(gt), *o = rg_tensor_data_f32(obs);
    int best = -1;
    double best_cos = -2;
    for (int64_t i = 0; i < hw; i++) {
        double dot = 0, ng = 0, no = 0;
        for (int64_t c = 0; c < C; c++) {
            const double a = g[c * hw + y * s[3] + x], b = o[c * hw + i];
            dot += a * b, ng += a * a, no += b * b;
        }
        const double cos = dot / (sqrt(ng * no) + 1e-12);
        if (cos > best_cos)
            best_cos = cos, best = (int)i;
    }
    return best;
}

static void test_correspondence_moves_match(void)
{
    rg_point_pair pair = {4.0f, 3.0f, 4.0f, 8.0f}; // (y, x) 4,3 -> 4,8 on the 8x12 grid
    guide_term term = {.kind = TERM_CORRESPONDENCE, .role = "correspondence",
                       .head = rg_head_set_get(heads, "correspondence"), .scale = 1.0f, .pairs = &pair, .n_pairs = 1};
    rg_job job;
    rg_job_init(&job, RG_JOB_DRAG);
    job.recurrent_steps = 10;
    g_autoptr(rg_tensor) ctx2 = context_rows(2, "a red ball");
    sampler s = {.p = pipe_, .job = &job, .phase = "test", .B = 2, .cfg = {1.0f, 3.5f}, .context = ctx2,
                 .terms = &term, .n_terms = 1};
    g_autoptr(rg_tensor) z = random_latent(2, 11, TRUE);
    g_autoptr(rg_tensor) cond = encode_prompt(pipe_, "a red ball", NULL);
    g_autoptr(rg_tensor) ref = rg_slice(pipe_->ctx, z, 0, 0, 1, NULL);
    g_autoptr(rg_tensor) gt = readout_of(term.head, ref, 501, cond);
    GError *error = NULL;
    double loss0 = 0, loss1 = 0;
    for (int k = 0; k < 4; k++)
        RG_CHECK(sampler_guide(&s, &z, 0, 501, k == 0 ? &loss0 : &loss1, &error));
    rg_assert_no_error(error);
    g_autoptr(rg_tensor) edit = rg_slice(pipe_->ctx, z, 0, 1, 1, NULL);
    g_autoptr(rg_tensor) edit_c = rg_contiguous(pipe_->ctx, edit, NULL);
    g_autoptr(rg_tensor) obs = readout_of(term.head, edit_c, 501, cond);
    const int m = best_match(gt, obs, 4, 3), my = m / 12, mx = m % 12;
    const double d = hypot(my - 4, mx - 8);
    g_print("correspondence: loss %.4f -> %.4f; best match of (4,3) now (%d,%d), %.1f cells from the target "
            "(was 5)\n", loss0, loss1, my, mx, d);
    RG_CHECK(loss1 < loss0);
    RG_CHECK(d < 5.0);
}

/* Relative RMS distance between a latent and its DDIM inversion (@steps,
 * CFG 1) followed by reconstruction; @moved: how far the inverted latent is. */
static double inversion_error(int steps, double *moved)
{
    rg_job job;
    rg_job_init(&job, RG_JOB_DRAG);
    job.steps = steps;
    GError *error = NULL;
    g_autoptr(rg_image) img = test_image();
    g_autoptr(rg_image) w = rg_image_resize(img, 32, 20, RG_RESIZE_BILINEAR, &error);
    g_autoptr(rg_tensor) z0 = encode_image(pipe_, w, 1, &error);
    g_autoptr(rg_tensor) cond = encode_prompt(pipe_, "a red ball", &error);
    g_autoptr(rg_tensor) zT = sampler_invert(pipe_, &job, z0, cond, &error);
    rg_assert_no_error(error);
    g_autoptr(rg_tensor) ctx1 = context_rows(1, "a red ball");
    sampler s = {.p = pipe_, .job = &job, .phase = "test", .B = 1, .cfg = {1.0f}, .context = ctx1};
    g_autoptr(rg_tensor) back = sampler_run(&s, zT, &error);
    rg_assert_no_error(error);
    double num = 0, den = 0, far = 0;
    for (int64_t i = 0; i < rg_tensor_numel(z0); i++) {
        const double a = rg_tensor_get_flat(z0, i), b = rg_tensor_get_flat(back, i), c = rg_tensor_get_flat(zT, i);
        num += (a - b) * (a - b), den += a * a, far += (a - c) * (a - c);
    }
    *moved = sqrt(far / den);
    return sqrt(num / den);
}

/* DDIM inversion is first order: the round trip error falls like 1/steps. */
static void test_inversion_roundtrip(void)
{
    double moved25, moved100;
    const double e25 = inversion_error(25, &moved25), e100 = inversion_error(100, &moved100);
    g_print("inversion + reconstruction at CFG 1: relative RMS error %.4f (25 steps), %.4f (100 steps); the "
            "inverted latent is %.2f away\n", e25, e100, moved100);
    RG_CHECK(e100 < 0.35 * e25 && e100 < 0.1 && moved25 > 0.5 && moved100 > 0.5);
}

typedef struct {
    int progress_calls, previews, readouts, cancel_after;
} watch;

static void on_progress(const char *phase, int i, int n, gpointer data)
{
    ((watch *)data)->progress_calls++;
}

static void on_preview(const rg_image *rgb, int i, gpointer data)
{
    ((watch *)data)->previews++;
}

static void on_readout(const char *role, const rg_image *picture, int i, gpointer data)
{
    ((watch *)data)->readouts++;
}

static gboolean on_cancelled(gpointer data)
{
    watch *w = data;
    return w->cancel_after > 0 && w->progress_calls >= w->cancel_after;
}

static void job_setup(rg_job *job, rg_job_kind kind, watch *w)
{
    rg_job_init(job, kind);
    job->steps = 6;
    job->max_side = 32;
    job->heads = heads;
    job->prompt = "a red ball";
    job->callbacks = (rg_job_callbacks){on_progress, on_preview, on_readout, on_cancelled, w};
}

static rg_image *run_ok(const char *label, const rg_job *job)
{
    GError *error = NULL;
    gint64 t0 = g_get_monotonic_time();
    rg_image *out = rg_pipeline_run(pipe_, job, &error);
    if (!out)
        g_printerr("NOT OK %s: %s\n", label, error->message), rg_test_failures++, g_error_free(error);
    else
        g_print("%s: %dx%d in %.2f s\n", label, out->width, out->height, (g_get_monotonic_time() - t0) / 1e6);
    return out;
}

static double mean_abs_diff(const rg_image *a, const rg_image *b)
{
    double s = 0;
    const int n = a->width * a->height * a->channels;
    for (int i = 0; i < n; i++)
        s += fabs((double)a->data[i] - b->data[i]);
    return s / n;
}

static void test_jobs(void)
{
    g_autoptr(rg_image) img = test_image();
    const float points[4] = {12.0f, 10.0f, 30.0f, 12.0f};
    watch w = {0};
    rg_job job;

    job_setup(&job, RG_JOB_DRAG, &w);
    job.image = img;
    job.points = points;
    job.n_points = 1;
    g_autoptr(rg_image) drag = run_ok("drag (real image)", &job);
    RG_CHECK(drag && drag->width == 40 && drag->height == 24);
    RG_CHECK(w.previews == 6 && w.readouts == 12);
    job.cache_reference = TRUE;
    g_autoptr(rg_image) cached = run_ok("drag (real image, cached reference)", &job);
    if (drag && cached) {
        const double d = mean_abs_diff(drag, cached);
        g_print("cached vs parallel reference: mean |difference| %.3f / 255\n", d);
        RG_CHECK(d < 2.0);
    }

    // an unguided generated drag is `generate` at the same seed, CFG and eta
    job_setup(&job, RG_JOB_DRAG, &w);
    job.points = points;
    job.n_points = 1;
    job.guidance_weight = 0.0f;
    g_autoptr(rg_image) gen_drag = run_ok("drag (generated, unguided)", &job);
    job_setup(&job, RG_JOB_GENERATE, &w);
    job.eta = 0.0f;
    g_autoptr(rg_image) gen = run_ok("generate (eta 0)", &job);
    RG_CHECK(gen_drag && gen && gen->width == 32 && gen->height == 32 && mean_abs_diff(gen_drag, gen) < 0.5);

    job_setup(&job, RG_JOB_IDENTITY, &w);
    const int box[4] = {8, 6, 18, 16};
    job.reference = img;
    job.box = box;
    g_autoptr(rg_image) ident = run_ok("identity (box)", &job);
    RG_CHECK(ident && ident->width == 40 && ident->height == 24);

    // pose fill: outside the mask the picture is the input's, bit for bit
    g_autoptr(rg_image) mask = rg_image_new(40, 24, 1, NULL);
    for (int y = 4; y < 20; y++)
        memset(mask->data + y * 40 + 20, 255, 16);
    job_setup(&job, RG_JOB_POSE, &w);
    job.control = img;
    job.image = img;
    job.mask = mask;
    g_autoptr(rg_image) fill = run_ok("pose fill", &job);
    if (fill) {
        int changed_outside = 0, changed_inside = 0;
        for (int i = 0; i < 40 * 24; i++)
            for (int c = 0; c < 3; c++) {
                const gboolean diff = fill->data[3 * i + c] != img->data[3 * i + c];
                changed_outside += diff && mask->data[i] == 0;
                changed_inside += diff && mask->data[i] != 0;
            }
        g_print("pose fill: %d values changed outside the mask, %d inside\n", changed_outside, changed_inside);
        RG_CHECK(changed_outside == 0 && changed_inside > 100);
    }
    job_setup(&job, RG_JOB_GENERATE, &w);
    job.control = img;
    job.control_role = "pose";
    g_autoptr(rg_image) ctl = run_ok("generate (pose control)", &job);
    RG_CHECK(ctl && ctl->width == 40 && ctl->height == 24); // the control map's size
}

static void test_cancel(void)
{
    watch w = {.cancel_after = 4};
    rg_job job;
    job_setup(&job, RG_JOB_GENERATE, &w);
    GError *error = NULL;
    rg_image *out = rg_pipeline_run(pipe_, &job, &error);
    RG_CHECK(out == NULL && g_error_matches(error, RG_ERROR, RG_ERROR_CANCELLED));
    RG_CHECK(w.progress_calls >= 4 && w.previews < 6);
    g_clear_error(&error);
}

/* The job fails with @code and a message holding @needle. */
static void expect_fail(const char *label, const rg_job *job, int code, const char *needle)
{
    GError *error = NULL;
    rg_image *out = rg_pipeline_run(pipe_, job, &error);
    const gboolean ok = !out && g_error_matches(error, RG_ERROR, code) && strstr(error->message, needle);
    if (!ok) {
        g_printerr("NOT OK %s: expected error %d with \"%s\", got %s\n", label, code, needle,
                   error ? error->message : "success");
        rg_test_failures++;
    } else {
        g_print("%s: %s\n", label, error->message);
    }
    rg_image_free(out);
    g_clear_error(&error);
}

static void test_bad_input(void)
{
    g_autoptr(rg_image) img = test_image();
    watch w = {0};
    rg_job job;
    const float outside[4] = {12.0f, 10.0f, 45.0f, 12.0f};
    job_setup(&job, RG_JOB_DRAG, &w);
    job.image = img;
    job.points = outside;
    job.n_points = 1;
    expect_fail("point outside", &job, RG_ERROR_ARGUMENT, "outside the 40x24 image");
    job.n_points = 0;
    expect_fail("no points", &job, RG_ERROR_ARGUMENT, "no points");

    job_setup(&job, RG_JOB_IDENTITY, &w);
    job.reference = img;
    job.prompt = "  ";
    expect_fail("empty prompt", &job, RG_ERROR_ARGUMENT, "prompt is required");
    job.prompt = "a cat";
    const int bad_box[4] = {10, 5, 50, 20};
    job.box = bad_box;
    expect_fail("box outside", &job, RG_ERROR_ARGUMENT, "leaves the 40x24 reference");

    g_autoptr(rg_image) small_mask = rg_image_new(20, 12, 1, NULL);
    job_setup(&job, RG_JOB_POSE, &w);
    job.control = img;
    job.image = img;
    job.mask = small_mask;
    expect_fail("mask of another size", &job, RG_ERROR_ARGUMENT, "mask is 20x12");
    job.mask = NULL;
    job.image = NULL;
    job.control = NULL;
    expect_fail("no pose map", &job, RG_ERROR_ARGUMENT, "no pose map");

    // a head made for another model (other feature count)
    g_autoptr(rg_head_set) other = rg_head_set_new();
    rg_head_set_add(other, "pose", random_head("pose", TRUE, 3, 5), NULL);
    job_setup(&job, RG_JOB_POSE, &w);
    job.control = img;
    job.heads = other;
    expect_fail("head of another model", &job, RG_ERROR_UNSUPPORTED, "tests/data/tiny-sd");
    job.heads = NULL;
    expect_fail("no heads", &job, RG_ERROR_ARGUMENT, "no pose head");
}

/* A copy of the tiny model (links to its parts) with @settings as its readout.json. */
static char *model_with_settings(const char *settings)
{
    char *dir = g_dir_make_tmp("rg_model_settings.XXXXXX", NULL);
    const char *parts[] = {"model_index.json", "text_encoder", "tokenizer", "unet", "vae"};
    for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
        g_autofree char *from = g_build_filename(RG_TINY_MODEL, parts[i], NULL);
        g_autofree char *to = g_build_filename(dir, parts[i], NULL);
        RG_CHECK(symlink(from, to) == 0);
    }
    g_autofree char *file = g_build_filename(dir, "readout.json", NULL);
    RG_CHECK(g_file_set_contents(file, settings, -1, NULL));
    return dir;
}

static void remove_model_copy(const char *dir)
{
    const char *parts[] = {"model_index.json", "text_encoder", "tokenizer", "unet", "vae", "readout.json"};
    for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
        g_autofree char *path = g_build_filename(dir, parts[i], NULL);
        g_unlink(path);
    }
    g_rmdir(dir);
}

/* A model folder's readout.json sets the CFG of a real-image drag; bad files are refused by name. */
static void test_model_settings(void)
{
    const struct {
        const char *text, *expect;
    } bad[] = {{"{\"real_drag_cfg\": 0.5}", "\"real_drag_cfg\" must be a number from 1 to 30"},
               {"{\"real_drag_cfg\": \"high\"}", "\"real_drag_cfg\" must be a number"},
               {"[1, 2]", "readout.json is not a JSON object"},
               {"{\"real_drag_cfg\": ", "readout.json is not valid JSON"},
               {"{\"real_drag_cfg\": 1, \"real_drag_cfg\": 2}", "holds the name \"real_drag_cfg\" twice"}};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *dir = model_with_settings(bad[i].text);
        GError *error = NULL;
        rg_pipeline *p = rg_pipeline_new(dir, NULL, &error);
        RG_CHECK(!p && g_error_matches(error, RG_ERROR, RG_ERROR_FORMAT) && strstr(error->message, bad[i].expect));
        if (error)
            g_print("refused as it should: %s\n", error->message);
        g_clear_error(&error);
        rg_pipeline_free(p);
        remove_model_copy(dir);
    }

    g_autofree char *dir = model_with_settings("{\"real_drag_cfg\": 2.0}");
    GError *error = NULL;
    rg_pipeline *p = rg_pipeline_new(dir, NULL, &error);
    rg_assert_no_error(error);
    g_autoptr(rg_image) img = test_image();
    const float points[4] = {12.0f, 10.0f, 30.0f, 12.0f};
    watch w = {0};
    rg_job job;
    job_setup(&job, RG_JOB_DRAG, &w);
    job.image = img;
    job.points = points;
    job.n_points = 1;
    job.steps = 3;
    g_autoptr(rg_image) by_model = p ? rg_pipeline_run(p, &job, &error) : NULL; // cfg 0: the model's 2.0
    rg_assert_no_error(error);
    job.cfg = 2.0f;
    g_autoptr(rg_image) by_job = run_ok("drag at cfg 2", &job);
    job.cfg = 0.0f;
    g_autoptr(rg_image) official = run_ok("drag at the official cfg 3.5", &job);
    if (by_model && by_job && official) {
        g_print("model default vs cfg 2: %.4f; vs 3.5: %.4f\n", mean_abs_diff(by_model, by_job),
                mean_abs_diff(by_model, official));
        RG_CHECK(mean_abs_diff(by_model, by_job) == 0.0 && mean_abs_diff(by_model, official) > 0.0);
    }
    rg_pipeline_free(p);
    remove_model_copy(dir);
}

int main(int argc, char **argv)
{
    GError *error = NULL;
    pipe_ = rg_pipeline_new(RG_TINY_MODEL, NULL, &error);
    rg_assert_no_error(error);
    const int L = rg_unet_n_features(rg_pipeline_get_unet(pipe_));
    heads = rg_head_set_new();
    RG_CHECK(rg_head_set_add(heads, NULL, random_head("appearance", FALSE, L, 1), &error));
    RG_CHECK(rg_head_set_add(heads, NULL, random_head("correspondence", FALSE, L, 2), &error));
    RG_CHECK(rg_head_set_add(heads, NULL, random_head("pose", TRUE, L, 3), &error));
    rg_assert_no_error(error);
    RG_CHECK(rg_pipeline_native_size(pipe_) == 32 && rg_pipeline_size_multiple(pipe_) == 4);

    const char *only = argc > 1 ? argv[1] : NULL;
    const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"guided-step", test_guided_step_lowers_loss}, {"correspondence", test_correspondence_moves_match},
        {"inversion", test_inversion_roundtrip},       {"jobs", test_jobs},
        {"cancel", test_cancel},                       {"bad-input", test_bad_input},
        {"model-settings", test_model_settings},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(tests); i++)
        if (!only || !strcmp(only, tests[i].name))
            tests[i].fn();
    rg_head_set_free(heads);
    rg_pipeline_free(pipe_);
    if (rg_test_failures)
        g_printerr("%d check(s) failed\n", rg_test_failures);
    return rg_test_failures ? 1 : 0;
}
