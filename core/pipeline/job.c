/* job.c — job settings: the official defaults, the fast preset, and the
 * checks a job must pass before it runs. */
#include <math.h>
#include <string.h>

#include "pipeline/pipeline_impl.h"

/* configs/drag_real.yaml and siblings (the double space is theirs). */
static const char default_negative[] =
    "poorly drawn, ugly, tiling, out of frame, mutation, mutated, extra limbs, extra legs, extra arms, "
    "disfigured, deformed, cross-eye, body out of frame, blurry, bad art, bad anatomy, blurred, text, "
    "watermark, grainy,  writing, calligraphy, sign, cut off";

const char *rg_default_negative_prompt(void)
{
    return default_negative;
}

void rg_job_init(rg_job *job, rg_job_kind kind)
{
    memset(job, 0, sizeof *job);
    job->kind = kind;
    job->negative_prompt = default_negative;
    job->steps = 100;
    job->seed = 100;
    job->cfg = 0.0f;           // 0: the official value for the case (see job_cfg())
    job->cfg_reference = 0.0f; // likewise
    job->guidance_weight = 0.02f;
    job->guidance_ratio[0] = 0.0f;
    job->guidance_ratio[1] = 0.5f;
    job->recurrent_steps = 1;
    job->eta = kind == RG_JOB_POSE || kind == RG_JOB_GENERATE ? 1.0f : 0.0f;
    job->appearance_scale = 1.0f;
    job->correspondence_scale = 1.0f;
    job->spatial_scale = 0.5f;
}

void rg_job_apply_fast_preset(rg_job *job)
{
    job->steps = 25;
    job->cache_reference = TRUE;
}

/* Whether the job starts from a real image that is inverted. */
gboolean job_real_reference(const rg_job *job)
{
    return (job->kind == RG_JOB_DRAG && job->image) || job->kind == RG_JOB_IDENTITY;
}

void job_cfg(const rg_pipeline *p, const rg_job *job, float *cfg_reference, float *cfg)
{
    // drag_real.yaml: text_weight [1.0, 3.5]; generated images and spatial control: 7.5
    const gboolean real = job_real_reference(job);
    *cfg = job->cfg > 0.0f ? job->cfg : (job->kind == RG_JOB_DRAG && real ? p->real_drag_cfg : 7.5f);
    *cfg_reference = job->cfg_reference > 0.0f ? job->cfg_reference : (real ? 1.0f : *cfg);
}

static gboolean fail(GError **error, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static gboolean fail(GError **error, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, RG_ERROR, code, msg);
    return FALSE;
}

static const char *job_name(rg_job_kind kind)
{
    static const char *const names[] = {"drag", "identity", "pose", "generate"};
    return (unsigned)kind < G_N_ELEMENTS(names) ? names[kind] : "job";
}

/* The head for @role, present, made for this model, and of the right kind. */
static gboolean need_head(rg_pipeline *p, const rg_job *job, const char *role, gboolean spatial, GError **error)
{
    rg_head *h = rg_head_set_get(job->heads, role);
    if (!h)
        return fail(error, RG_ERROR_ARGUMENT, "%s: no %s head (give a heads folder holding %s.pt or "
                    "%s.safetensors, or the official readout_sdv15_*_%s.pt)", job_name(job->kind), role, role, role,
                    role);
    if (!rg_head_check_unet(h, p->unet, error))
        return FALSE;
    if (rg_head_get_config(h)->use_output_head != spatial)
        return fail(error, RG_ERROR_ARGUMENT, "%s: the %s head is a %s head; this job needs a %s one",
                    job_name(job->kind), role, spatial ? "relative" : "spatial", spatial ? "spatial" : "relative");
    return TRUE;
}

static gboolean check_prompt(const rg_job *job, GError **error)
{
    g_autofree char *stripped = g_strstrip(g_strdup(job->prompt ? job->prompt : ""));
    if (!*stripped)
        return fail(error, RG_ERROR_ARGUMENT, "%s: a prompt is required (describe the picture to make)",
                    job_name(job->kind));
    return TRUE;
}

gboolean rg_pipeline_check(rg_pipeline *p, const rg_job *job, GError **error)
{
    g_return_val_if_fail(p != NULL && job != NULL, FALSE);
    const char *name = job_name(job->kind);
    if ((unsigned)job->kind > RG_JOB_GENERATE)
        return fail(error, RG_ERROR_ARGUMENT, "unknown job kind %d", (int)job->kind);
    if (job->steps < 1 || job->steps >= RG_DDIM_TRAIN_STEPS) // 1000 steps would start past the schedule
        return fail(error, RG_ERROR_ARGUMENT, "%s: steps must be 1 to %d, not %d", name, RG_DDIM_TRAIN_STEPS - 1,
                    job->steps);
    if (!isfinite(job->cfg) || job->cfg < 0.0f || !isfinite(job->cfg_reference) || job->cfg_reference < 0.0f)
        return fail(error, RG_ERROR_ARGUMENT, "%s: CFG scales must be finite and >= 0", name);
    if (!isfinite(job->guidance_weight) || job->guidance_weight < 0.0f)
        return fail(error, RG_ERROR_ARGUMENT, "%s: the guidance weight must be finite and >= 0, not %g", name,
                    job->guidance_weight);
    if (!(job->guidance_ratio[0] >= 0.0f && job->guidance_ratio[0] <= job->guidance_ratio[1] &&
          job->guidance_ratio[1] <= 1.0f))
        return fail(error, RG_ERROR_ARGUMENT, "%s: the guidance ratio must be 0 <= start <= end <= 1, not %g..%g",
                    name, job->guidance_ratio[0], job->guidance_ratio[1]);
    if (job->recurrent_steps < 1 || job->recurrent_steps > 100)
        return fail(error, RG_ERROR_ARGUMENT, "%s: recurrent steps must be 1 to 100, not %d", name,
                    job->recurrent_steps);
    if (!isfinite(job->eta) || job->eta < 0.0f || job->eta > 1.0f)
        return fail(error, RG_ERROR_ARGUMENT, "%s: eta must be in [0, 1], not %g", name, job->eta);
    const int multiple = rg_pipeline_size_multiple(p);
    if (job->max_side != 0 && (job->max_side < multiple || job->max_side > 4096))
        return fail(error, RG_ERROR_ARGUMENT, "%s: the longest side must be %d to 4096 pixels, not %d", name,
                    multiple, job->max_side);
    if (!isfinite(job->appearance_scale) || !isfinite(job->correspondence_scale) || !isfinite(job->spatial_scale))
        return fail(error, RG_ERROR_ARGUMENT, "%s: loss scales must be finite", name);

    switch (job->kind) {
    case RG_JOB_DRAG: {
        if (job->n_points < 1 || !job->points)
            return fail(error, RG_ERROR_ARGUMENT, "drag: no points (give at least one handle -> target pair)");
        const int w = job->image ? job->image->width : rg_pipeline_native_size(p);
        const int h = job->image ? job->image->height : rg_pipeline_native_size(p);
        for (int k = 0; k < job->n_points; k++)
            for (int e = 0; e < 2; e++) {
                const float x = job->points[4 * k + 2 * e], y = job->points[4 * k + 2 * e + 1];
                if (!(x >= 0.0f && x < (float)w && y >= 0.0f && y < (float)h))
                    return fail(error, RG_ERROR_ARGUMENT,
                                "drag: the %s of point %d (%g, %g) lies outside the %dx%d image", e ? "target" : "handle",
                                k + 1, x, y, w, h);
            }
        return need_head(p, job, RG_ROLE_APPEARANCE, FALSE, error) &&
               need_head(p, job, RG_ROLE_CORRESPONDENCE, FALSE, error);
    }
    case RG_JOB_IDENTITY:
        if (!check_prompt(job, error))
            return FALSE;
        if (!job->reference)
            return fail(error, RG_ERROR_ARGUMENT, "identity: no reference image");
        if (job->box) {
            const int *b = job->box;
            if (b[0] < 0 || b[1] < 0 || b[2] > job->reference->width || b[3] > job->reference->height ||
                b[2] <= b[0] || b[3] <= b[1])
                return fail(error, RG_ERROR_ARGUMENT,
                            "identity: the box %d,%d,%d,%d is empty or leaves the %dx%d reference", b[0], b[1], b[2],
                            b[3], job->reference->width, job->reference->height);
        }
        return need_head(p, job, rg_head_set_get(job->heads, RG_ROLE_IDENTITY) ? RG_ROLE_IDENTITY : RG_ROLE_APPEARANCE,
                         FALSE, error);
    case RG_JOB_POSE:
        if (!check_prompt(job, error))
            return FALSE;
        if (!job->control)
            return fail(error, RG_ERROR_ARGUMENT, "pose: no pose map");
        if (!job->image != !job->mask)
            return fail(error, RG_ERROR_ARGUMENT, "pose: an image to fill needs a mask and a mask needs an image");
        if (job->mask && (job->mask->width != job->image->width || job->mask->height != job->image->height))
            return fail(error, RG_ERROR_ARGUMENT, "pose: the mask is %dx%d, the image %dx%d; they must match",
                        job->mask->width, job->mask->height, job->image->width, job->image->height);
        return need_head(p, job, RG_ROLE_POSE, TRUE, error);
    case RG_JOB_GENERATE:
        if (!check_prompt(job, error))
            return FALSE;
        if (!job->control != !job->control_role)
            return fail(error, RG_ERROR_ARGUMENT, "generate: a control map needs a spatial head and the other way round");
        if (job->control_role && strcmp(job->control_role, RG_ROLE_POSE) && strcmp(job->control_role, RG_ROLE_DEPTH) &&
            strcmp(job->control_role, RG_ROLE_EDGE))
            return fail(error, RG_ERROR_ARGUMENT, "generate: \"%s\" is no spatial role (pose, depth or edge)",
                        job->control_role);
        return !job->control_role || need_head(p, job, job->control_role, TRUE, error);
    }
    return TRUE;
}
