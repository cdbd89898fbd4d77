/* run.c — rg_pipeline_run(): the working size, prompts, guidance terms and
 * starting latents of each job, then the sampler, then the picture. */
#include <math.h>
#include <string.h>

#include "pipeline/pipeline_impl.h"

/* Sizes of one run: the input picture (src), the working size (W x H) and
 * the latent grid (lw x lh). */
typedef struct {
    int src_w, src_h, W, H, lw, lh, channels;
} geometry;

typedef struct {
    guide_term terms[2];
    int n;
} term_list;

static void term_list_clear(term_list *tl)
{
    for (int k = 0; k < tl->n; k++) {
        g_clear_pointer(&tl->terms[k].control, rg_tensor_unref);
        g_clear_pointer(&tl->terms[k].pairs, g_free);
    }
    tl->n = 0;
}

/* The picture whose size and aspect the run takes. */
static const rg_image *shape_source(const rg_job *job)
{
    switch (job->kind) {
    case RG_JOB_DRAG:
        return job->image;
    case RG_JOB_IDENTITY:
        return job->reference;
    case RG_JOB_POSE:
        return job->image ? job->image : job->control;
    case RG_JOB_GENERATE:
        return job->control;
    }
    return NULL;
}

static void make_geometry(rg_pipeline *p, const rg_job *job, geometry *g)
{
    const rg_image *src = shape_source(job);
    const int native = rg_pipeline_native_size(p);
    g->src_w = src ? src->width : native;
    g->src_h = src ? src->height : native;
    rg_image_fit_size(g->src_w, g->src_h, job->max_side ? job->max_side : native, rg_pipeline_size_multiple(p), &g->W,
                      &g->H);
    g->lw = g->W / p->vae_factor;
    g->lh = g->H / p->vae_factor;
    g->channels = rg_vae_get_config(p->vae)->latent_channels;
}

/* @img at the working size, 3 channels. */
static rg_image *working_rgb(const rg_image *img, const geometry *g, GError **error)
{
    g_autoptr(rg_image) rgb = rg_image_convert(img, 3, error);
    return rgb ? rg_image_resize(rgb, g->W, g->H, RG_RESIZE_BILINEAR, error) : NULL;
}

/* The spatial target: @map on the latent grid, from [0, 255] to the head's control range. */
static rg_tensor *control_tensor(rg_pipeline *p, const rg_image *map, const rg_head_config *hc, const geometry *g,
                                 GError **error)
{
    g_autoptr(rg_image) rgb = rg_image_convert(map, 3, error);
    g_autoptr(rg_image) small = rgb ? rg_image_resize(rgb, g->lw, g->lh, RG_RESIZE_BILINEAR, error) : NULL;
    g_autoptr(rg_tensor) t = small ? rg_image_to_tensor(small, error) : NULL; // [-1, 1]
    const float lo = hc->control_range[0], hi = hc->control_range[1];
    return t ? rg_scale(p->ctx, t, 0.5f * (hi - lo), 0.5f * (hi + lo), error) : NULL;
}

static gboolean add_spatial(rg_pipeline *p, const rg_job *job, const char *role, const rg_image *map,
                            const geometry *g, term_list *tl, GError **error)
{
    guide_term *term = &tl->terms[tl->n];
    memset(term, 0, sizeof *term);
    term->kind = TERM_SPATIAL;
    term->role = role;
    term->head = rg_head_set_get(job->heads, role);
    const rg_head_config *hc = rg_head_get_config(term->head);
    if (hc->output_channels != 3) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "the %s head outputs %d channels; guidance compares an RGB map (3 channels)", role,
                    hc->output_channels);
        return FALSE;
    }
    term->use_emb = TRUE;
    term->scale = job->spatial_scale;
    term->cmin = hc->control_range[0];
    term->cmax = hc->control_range[1];
    if (!(term->control = control_tensor(p, map, hc, g, error)))
        return FALSE;
    tl->n++;
    return TRUE;
}

/* Pixel coordinate @v of a @size-pixel side to latent cells of @cells. */
static float to_cells(float v, int size, int cells)
{
    return v * (float)cells / (float)size;
}

static gboolean build_terms(rg_pipeline *p, const rg_job *job, const geometry *g, term_list *tl, GError **error)
{
    tl->n = 0;
    switch (job->kind) {
    case RG_JOB_DRAG: {
        // drag_*.yaml: appearance with the emb, correspondence without (use_emb: False)
        guide_term *app = &tl->terms[tl->n++];
        *app = (guide_term){.kind = TERM_APPEARANCE, .role = RG_ROLE_APPEARANCE,
                            .head = rg_head_set_get(job->heads, RG_ROLE_APPEARANCE), .use_emb = TRUE,
                            .scale = job->appearance_scale};
        guide_term *cor = &tl->terms[tl->n++];
        *cor = (guide_term){.kind = TERM_CORRESPONDENCE, .role = RG_ROLE_CORRESPONDENCE,
                            .head = rg_head_set_get(job->heads, RG_ROLE_CORRESPONDENCE), .use_emb = FALSE,
                            .scale = job->correspondence_scale};
        cor->pairs = g_new(rg_point_pair, job->n_points);
        cor->n_pairs = job->n_points;
        for (int k = 0; k < job->n_points; k++) {
            const float *pt = job->points + 4 * k;
            cor->pairs[k] = (rg_point_pair){to_cells(pt[1], g->src_h, g->lh), to_cells(pt[0], g->src_w, g->lw),
                                            to_cells(pt[3], g->src_h, g->lh), to_cells(pt[2], g->src_w, g->lw)};
        }
        return TRUE;
    }
    case RG_JOB_IDENTITY: {
        const char *role = rg_head_set_get(job->heads, RG_ROLE_IDENTITY) ? RG_ROLE_IDENTITY : RG_ROLE_APPEARANCE;
        guide_term *app = &tl->terms[tl->n++];
        *app = (guide_term){.kind = TERM_APPEARANCE, .role = role, .head = rg_head_set_get(job->heads, role),
                            .use_emb = TRUE, .scale = job->appearance_scale};
        if (job->box) { // cells the box touches; the generated image is compared in the same place
            const int *b = job->box;
            app->boxed = TRUE;
            app->gt_box[0] = (int)floorf(to_cells((float)b[0], g->src_w, g->lw));
            app->gt_box[1] = (int)floorf(to_cells((float)b[1], g->src_h, g->lh));
            app->gt_box[2] = MAX(app->gt_box[0] + 1, (int)ceilf(to_cells((float)b[2], g->src_w, g->lw)));
            app->gt_box[3] = MAX(app->gt_box[1] + 1, (int)ceilf(to_cells((float)b[3], g->src_h, g->lh)));
            app->gt_box[2] = MIN(app->gt_box[2], g->lw);
            app->gt_box[3] = MIN(app->gt_box[3], g->lh);
            memcpy(app->obs_box, app->gt_box, sizeof app->obs_box);
        }
        return TRUE;
    }
    case RG_JOB_POSE:
        return add_spatial(p, job, RG_ROLE_POSE, job->control, g, tl, error);
    case RG_JOB_GENERATE:
        return !job->control_role || add_spatial(p, job, job->control_role, job->control, g, tl, error);
    }
    return TRUE;
}

/* [uncond x B; cond x B] */
static rg_tensor *batch_context(rg_ctx *ctx, rg_tensor *uncond, rg_tensor *cond, int B, GError **error)
{
    rg_tensor *rows[4] = {uncond, uncond, cond, cond};
    if (B == 1) {
        rows[1] = cond;
        return rg_concat(ctx, rows, 2, 0, error);
    }
    return rg_concat(ctx, rows, 4, 0, error);
}

/* Latent keep-mask (1, 1, lh, lw): 1 where no pixel of the cell may change. */
static rg_tensor *keep_mask(const rg_image *mask, const geometry *g, GError **error)
{
    g_autoptr(rg_image) grey = rg_image_convert(mask, 1, error);
    g_autoptr(rg_image) small = grey ? rg_image_resize(grey, g->lw, g->lh, RG_RESIZE_BILINEAR, error) : NULL;
    if (!small)
        return NULL;
    const int64_t shape[4] = {1, 1, g->lh, g->lw};
    rg_tensor *t = rg_tensor_new(RG_DTYPE_F32, 4, shape, error);
    if (!t)
        return NULL;
    float *d = rg_tensor_data_f32(t);
    for (int i = 0; i < g->lw * g->lh; i++)
        d[i] = small->data[i] == 0 ? 1.0f : 0.0f; // any masked pixel in the cell frees it
    return t;
}

/* The result at the source size; a fill keeps the source's pixels outside the mask. */
static rg_image *finish(const rg_job *job, rg_image *out, const geometry *g, GError **error)
{
    g_autoptr(rg_image) sized = rg_image_resize(out, g->src_w, g->src_h, RG_RESIZE_BILINEAR, error);
    if (!sized || !(job->kind == RG_JOB_POSE && job->mask))
        return g_steal_pointer(&sized);
    g_autoptr(rg_image) src = rg_image_convert(job->image, 3, error);
    g_autoptr(rg_image) m = src ? rg_image_convert(job->mask, 1, error) : NULL;
    if (!m)
        return NULL;
    for (int i = 0; i < g->src_w * g->src_h; i++) {
        const int a = m->data[i];
        for (int c = 0; c < 3; c++)
            sized->data[3 * i + c] = (guint8)((sized->data[3 * i + c] * a + src->data[3 * i + c] * (255 - a) + 127) / 255);
    }
    return g_steal_pointer(&sized);
}

/* The two rows of a reference job: (reference start, edited start). */
static gboolean reference_starts(rg_pipeline *p, const rg_job *job, const geometry *g, rg_tensor *cond,
                                 rg_tensor *noise, rg_tensor **ref, rg_tensor **edit, GError **error)
{
    if (!job_real_reference(job)) { // generated drag: both rows start from the seed's noise
        *ref = rg_tensor_ref(noise);
        *edit = rg_tensor_ref(noise);
        return TRUE;
    }
    const rg_image *img = job->kind == RG_JOB_DRAG ? job->image : job->reference;
    job_progress(job, "encode", 0, 1);
    g_autoptr(rg_image) w = working_rgb(img, g, error);
    g_autoptr(rg_tensor) z0 = w ? encode_image(p, w, job->seed, error) : NULL;
    if (!z0 || job_cancelled(job, error))
        return FALSE;
    if (!(*ref = sampler_invert(p, job, z0, cond, error)))
        return FALSE;
    *edit = rg_tensor_ref(job->kind == RG_JOB_DRAG ? *ref : noise);
    return TRUE;
}

static rg_tensor *run_reference_job(rg_pipeline *p, const rg_job *job, const geometry *g, term_list *tl,
                                    rg_tensor *uncond, rg_tensor *cond, rg_tensor *noise, GError **error)
{
    rg_ctx *ctx = p->ctx;
    float cfg_ref, cfg;
    job_cfg(p, job, &cfg_ref, &cfg);
    g_autoptr(rg_tensor) ref = NULL, edit = NULL;
    if (!reference_starts(p, job, g, cond, noise, &ref, &edit, error))
        return NULL;
    if (job->cache_reference) {
        g_autoptr(rg_tensor) ctx1 = batch_context(ctx, uncond, cond, 1, error);
        g_autoptr(GPtrArray) record = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
        sampler sr = {.p = p, .job = job, .phase = "reference", .B = 1, .cfg = {cfg_ref}, .context = ctx1,
                      .terms = tl->terms, .n_terms = tl->n, .record = record};
        g_autoptr(rg_tensor) done = ctx1 ? sampler_run(&sr, ref, error) : NULL;
        if (!done)
            return NULL;
        sampler se = {.p = p, .job = job, .phase = "denoise", .B = 1, .cfg = {cfg}, .context = ctx1,
                      .terms = tl->terms, .n_terms = tl->n, .cached = record, .report = TRUE};
        return sampler_run(&se, edit, error);
    }
    g_autoptr(rg_tensor) ctx2 = batch_context(ctx, uncond, cond, 2, error);
    rg_tensor *rows[2] = {ref, edit};
    g_autoptr(rg_tensor) z = ctx2 ? rg_concat(ctx, rows, 2, 0, error) : NULL;
    sampler s = {.p = p, .job = job, .phase = "denoise", .B = 2, .cfg = {cfg_ref, cfg}, .context = ctx2,
                 .terms = tl->terms, .n_terms = tl->n, .report = TRUE};
    g_autoptr(rg_tensor) out = z ? sampler_run(&s, z, error) : NULL;
    return out ? rg_slice(ctx, out, 0, 1, 1, error) : NULL;
}

static rg_tensor *run_single_job(rg_pipeline *p, const rg_job *job, const geometry *g, term_list *tl,
                                 rg_tensor *uncond, rg_tensor *cond, rg_tensor *noise, GError **error)
{
    float cfg_ref, cfg;
    job_cfg(p, job, &cfg_ref, &cfg);
    g_autoptr(rg_tensor) context = batch_context(p->ctx, uncond, cond, 1, error);
    sampler s = {.p = p, .job = job, .phase = "denoise", .B = 1, .cfg = {cfg}, .context = context,
                 .terms = tl->terms, .n_terms = tl->n, .report = TRUE};
    g_autoptr(rg_tensor) known = NULL, keep = NULL;
    if (job->kind == RG_JOB_POSE && job->image) { // fill: the image's latents outside the mask
        job_progress(job, "encode", 0, 1);
        g_autoptr(rg_image) w = working_rgb(job->image, g, error);
        if (!w || !(known = encode_image(p, w, job->seed, error)) || !(keep = keep_mask(job->mask, g, error)))
            return NULL;
        s.known = known;
        s.known_noise = noise;
        s.keep_mask = keep;
    }
    return context ? sampler_run(&s, noise, error) : NULL;
}

rg_image *rg_pipeline_run(rg_pipeline *p, const rg_job *job, GError **error)
{
    g_return_val_if_fail(p != NULL && job != NULL, NULL);
    if (!rg_pipeline_check(p, job, error) || job_cancelled(job, error))
        return NULL;
    geometry g;
    make_geometry(p, job, &g);
    job_progress(job, "encode", 0, 1);
    g_autoptr(rg_tensor) uncond = encode_prompt(p, job->negative_prompt, error);
    g_autoptr(rg_tensor) cond = uncond ? encode_prompt(p, job->prompt, error) : NULL;
    if (!cond)
        return NULL;
    term_list tl = {0};
    rg_rng rng;
    noise_rng_init(&rng, job->seed, NOISE_INITIAL);
    g_autoptr(rg_tensor) noise = noise_tensor(&rng, 1, g.channels, g.lh, g.lw, error);
    g_autoptr(rg_tensor) z = NULL;
    if (noise && build_terms(p, job, &g, &tl, error))
        z = job->kind == RG_JOB_DRAG || job->kind == RG_JOB_IDENTITY
                ? run_reference_job(p, job, &g, &tl, uncond, cond, noise, error)
                : run_single_job(p, job, &g, &tl, uncond, cond, noise, error);
    term_list_clear(&tl);
    if (!z || job_cancelled(job, error))
        return NULL;
    job_progress(job, "decode", 0, 1);
    g_autoptr(rg_image) out = decode_image(p, z, error);
    if (!out)
        return NULL;
    job_progress(job, "decode", 1, 1);
    return finish(job, out, &g, error);
}
