/* sampler.c — the guided DDIM loop of Readout Guidance (readout_guidance_spec.md
 * §4.1) and DDIM inversion (§5.3).
 *
 * Per step i at timestep t: when the step is guided, the UNet runs on
 * [z; z] with [uncond; cond] under a tape, each term's head reads the
 * edited row's features in both branches, the loss (summed over branches
 * and terms) is back-propagated to z, and a fresh Adam takes
 * recurrent_steps steps on z. Then one more UNet pass predicts eps for the
 * CFG-combined DDIM step. */
#include <math.h>
#include <string.h>

#include "pipeline/pipeline_impl.h"

gboolean job_cancelled(const rg_job *job, GError **error)
{
    if (job->callbacks.cancelled && job->callbacks.cancelled(job->callbacks.user_data)) {
        g_set_error(error, RG_ERROR, RG_ERROR_CANCELLED, "the job was cancelled");
        return TRUE;
    }
    return FALSE;
}

void job_progress(const rg_job *job, const char *phase, int i, int n)
{
    if (job->callbacks.progress)
        job->callbacks.progress(phase, i, n, job->callbacks.user_data);
}

static rg_tensor *scalar_tensor(float v, GError **error)
{
    const int64_t one = 1;
    return rg_tensor_new_full(1, &one, v, error);
}

static gboolean is_relative(const guide_term *term)
{
    return term->kind != TERM_SPATIAL;
}

static gboolean step_is_guided(const sampler *s, int i)
{
    const rg_job *job = s->job;
    const int n = job->steps;
    return s->n_terms > 0 && job->guidance_weight > 0.0f && (int)(job->guidance_ratio[0] * n) <= i &&
           i < (int)(job->guidance_ratio[1] * n);
}

/* The head's emb: the UNet time embedding of t, as the official guidance
 * embeds it, or of 999 - t, the noise level the heads were trained with. */
static rg_tensor *head_emb(sampler *s, int t, GError **error)
{
    const float v = s->job->corrected_head_timestep ? (float)(RG_DDIM_TRAIN_STEPS - 1 - t) : (float)t;
    g_autoptr(rg_tensor) tt = scalar_tensor(v, error);
    rg_tape *tape = rg_ctx_get_tape(s->p->ctx);
    rg_ctx_set_tape(s->p->ctx, NULL); // a constant: nothing to differentiate
    rg_tensor *emb = tt ? rg_unet_time_embedding(s->p->unet, s->p->ctx, tt, error) : NULL;
    rg_ctx_set_tape(s->p->ctx, tape);
    return emb;
}

/* The readout of @term on row @row of the features (each (2B, C, h, w)). */
static rg_tensor *readout(sampler *s, const guide_term *term, rg_tensor **feats, int row, rg_tensor *emb,
                          int64_t h, int64_t w, GError **error)
{
    const int n = rg_unet_n_features(s->p->unet);
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    for (int k = 0; k < n; k++) {
        rg_tensor *r = rg_slice(s->p->ctx, feats[k], 0, row, 1, error);
        if (!r)
            return NULL;
        g_ptr_array_add(rows, r);
    }
    return rg_head_forward(term->head, s->p->ctx, (rg_tensor *const *)rows->pdata, term->use_emb ? emb : NULL, h, w,
                           error);
}

static rg_tensor *term_loss(sampler *s, const guide_term *term, rg_tensor *obs, rg_tensor *gt, float lmin,
                            float lmax, GError **error)
{
    rg_ctx *ctx = s->p->ctx;
    g_autoptr(rg_tensor) l = NULL;
    switch (term->kind) {
    case TERM_SPATIAL:
        l = rg_loss_spatial(ctx, obs, term->control, term->cmin, term->cmax, lmin, lmax, error);
        break;
    case TERM_CORRESPONDENCE:
        l = rg_loss_correspondence(ctx, gt, obs, term->pairs, term->n_pairs, error);
        break;
    case TERM_APPEARANCE:
        l = rg_loss_appearance(ctx, gt, obs, term->boxed ? term->gt_box : NULL, term->boxed ? term->obs_box : NULL,
                               lmin, lmax, error);
        break;
    }
    return l ? rg_scale(ctx, l, term->scale, 0.0f, error) : NULL;
}

static void free_features(rg_tensor **feats, int n)
{
    for (int k = 0; k < n; k++)
        g_clear_pointer(&feats[k], rg_tensor_unref);
}

/* Index of (step, term, branch) in a record of readouts. */
static guint record_index(const sampler *s, int i, int k, int branch)
{
    return ((guint)i * (guint)s->n_terms + (guint)k) * 2u + (guint)branch;
}

/* (2B, ...) = [z; z]: the rows for the uncond and the cond branch. */
static rg_tensor *doubled(rg_ctx *ctx, rg_tensor *z, GError **error)
{
    rg_tensor *both[2] = {z, z};
    return rg_concat(ctx, both, 2, 0, error);
}

/* Min and max of @z (the official latents_scale). */
static void latent_range(rg_tensor *z, float *lmin, float *lmax)
{
    const int64_t n = rg_tensor_numel(z);
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        const double v = rg_tensor_get_flat(z, i);
        lo = MIN(lo, v);
        hi = MAX(hi, v);
    }
    *lmin = (float)lo;
    *lmax = (float)hi;
}

gboolean sampler_guide(sampler *s, rg_tensor **z, int i, int t, double *loss, GError **error)
{
    rg_pipeline *p = s->p;
    rg_ctx *ctx = p->ctx;
    const int n_feat = rg_unet_n_features(p->unet), B = s->B;
    const int64_t *zs = rg_tensor_shape(*z);
    g_autoptr(rg_adam) adam = rg_adam_new(s->job->guidance_weight, 0.9f, 0.999f, 1e-8f); // fresh every timestep
    g_autoptr(rg_tensor) emb = head_emb(s, t, error);
    g_autoptr(rg_tensor) tt = scalar_tensor((float)t, error);
    g_autoptr(rg_tensor) leaf = rg_scale(ctx, *z, 1.0f, 0.0f, error); // our own copy: Adam updates it in place
    if (!emb || !tt || !leaf)
        return FALSE;
    rg_tensor_set_requires_grad(leaf, TRUE);
    for (int r = 0; r < s->job->recurrent_steps; r++) {
        if (job_cancelled(s->job, error))
            return FALSE;
        float lmin, lmax;
        latent_range(leaf, &lmin, &lmax);
        g_autoptr(rg_tape) tape = rg_tape_new();
        rg_ctx_set_tape(ctx, tape);
        g_autofree rg_tensor **feats = g_new0(rg_tensor *, n_feat);
        g_autoptr(rg_tensor) zz = doubled(ctx, leaf, error);
        gboolean ok = zz && rg_unet_forward(p->unet, ctx, zz, tt, s->context, NULL, feats, error);
        g_autoptr(rg_tensor) total = NULL;
        for (int branch = 0; ok && branch < 2; branch++) {
            for (int k = 0; ok && k < s->n_terms; k++) {
                const guide_term *term = &s->terms[k];
                g_autoptr(rg_tensor) obs = readout(s, term, feats, branch * B + B - 1, emb, zs[2], zs[3], error);
                g_autoptr(rg_tensor) gt = NULL;
                if (obs && is_relative(term)) {
                    if (s->cached) {
                        gt = rg_tensor_ref(g_ptr_array_index(s->cached, record_index(s, i, k, branch)));
                    } else { // the reference row's readout is a constant (the official detach)
                        rg_ctx_set_tape(ctx, NULL);
                        gt = readout(s, term, feats, branch * B, emb, zs[2], zs[3], error);
                        rg_ctx_set_tape(ctx, tape);
                    }
                }
                rg_tensor *l = obs && (gt || !is_relative(term)) ? term_loss(s, term, obs, gt, lmin, lmax, error)
                                                                  : NULL;
                if (l && total) {
                    rg_tensor *sum = rg_add(ctx, total, l, error);
                    rg_tensor_unref(l);
                    rg_tensor_unref(total);
                    total = sum;
                } else {
                    total = l;
                }
                ok = total != NULL;
            }
        }
        free_features(feats, n_feat);
        rg_ctx_set_tape(ctx, NULL);
        if (!ok || job_cancelled(s->job, error))
            return FALSE;
        if (r == 0 && loss)
            *loss = rg_tensor_get_flat(total, 0);
        rg_tensor_zero_grad(leaf);
        if (!rg_tape_backward(ctx, tape, total, error))
            return FALSE;
        rg_tensor *grad = rg_tensor_get_grad(leaf);
        if (!grad) {
            g_set_error(error, RG_ERROR, RG_ERROR_FAILED, "guidance: the loss does not depend on the latent");
            return FALSE;
        }
        if (!rg_adam_step(adam, leaf, grad, error))
            return FALSE;
    }
    rg_tensor_set_requires_grad(leaf, FALSE);
    g_clear_pointer(z, rg_tensor_unref);
    *z = g_steal_pointer(&leaf);
    return TRUE;
}

/* Readouts of the edited row (cond branch) for the callbacks, from a pass
 * that computed @feats. */
static gboolean report_readouts(sampler *s, rg_tensor **feats, int i, int t, const int64_t *zs, GError **error)
{
    g_autoptr(rg_tensor) emb = head_emb(s, t, error);
    if (!emb)
        return FALSE;
    for (int k = 0; k < s->n_terms; k++) {
        const guide_term *term = &s->terms[k];
        g_autoptr(rg_tensor) r = readout(s, term, feats, 2 * s->B - 1, emb, zs[2], zs[3], error);
        const rg_head_config *hc = rg_head_get_config(term->head);
        g_autoptr(rg_image) pic = r ? rg_image_from_readout(r, hc->control_range[0], hc->control_range[1], error)
                                    : NULL;
        if (!pic)
            return FALSE;
        s->job->callbacks.readout(term->role, pic, i, s->job->callbacks.user_data);
    }
    return TRUE;
}

/* Stores the relative terms' readouts of both branches (record runs). */
static gboolean record_readouts(sampler *s, rg_tensor **feats, int i, int t, const int64_t *zs, GError **error)
{
    g_autoptr(rg_tensor) emb = head_emb(s, t, error);
    if (!emb)
        return FALSE;
    for (int k = 0; k < s->n_terms; k++) {
        if (!is_relative(&s->terms[k]))
            continue;
        for (int branch = 0; branch < 2; branch++) {
            rg_tensor *r = readout(s, &s->terms[k], feats, branch, emb, zs[2], zs[3], error);
            if (!r)
                return FALSE;
            g_ptr_array_index(s->record, record_index(s, i, k, branch)) = r; // each entry is written once
        }
    }
    return TRUE;
}

/* Inpainting: z <- z * (1 - keep) + (sqrt(a) known + sqrt(1 - a) noise) * keep. */
static rg_tensor *blend_known(sampler *s, rg_tensor *z, double alpha, GError **error)
{
    rg_ctx *ctx = s->p->ctx;
    g_autoptr(rg_tensor) a = rg_scale(ctx, s->known, (float)sqrt(alpha), 0.0f, error);
    g_autoptr(rg_tensor) b = a ? rg_scale(ctx, s->known_noise, (float)sqrt(1.0 - alpha), 0.0f, error) : NULL;
    g_autoptr(rg_tensor) known_t = b ? rg_add(ctx, a, b, error) : NULL;
    g_autoptr(rg_tensor) diff = known_t ? rg_sub(ctx, known_t, z, error) : NULL;
    g_autoptr(rg_tensor) masked = diff ? rg_mul(ctx, diff, s->keep_mask, error) : NULL;
    return masked ? rg_add(ctx, z, masked, error) : NULL;
}

rg_tensor *sampler_run(sampler *s, rg_tensor *z_init, GError **error)
{
    rg_pipeline *p = s->p;
    rg_ctx *ctx = p->ctx;
    const rg_job *job = s->job;
    const int n = job->steps, n_feat = rg_unet_n_features(p->unet);
    rg_ddim ddim;
    rg_ddim_init(&ddim);
    if (!rg_ddim_set_steps(&ddim, n, error))
        return NULL;
    rg_rng eta_rng;
    noise_rng_init(&eta_rng, job->seed, NOISE_ETA);
    if (s->record)
        g_ptr_array_set_size(s->record, (guint)(n * s->n_terms * 2));
    const gboolean want_readouts = s->report && job->callbacks.readout && s->n_terms > 0;
    g_autoptr(rg_tensor) z = rg_tensor_ref(z_init);
    const int64_t *zs = rg_tensor_shape(z_init);
    gboolean ok = TRUE;
    for (int i = 0; ok && i < n; i++) {
        const int t = ddim.timesteps[i], t_next = rg_ddim_next(&ddim, i);
        job_progress(job, s->phase, i, n);
        if (job_cancelled(job, error)) {
            ok = FALSE;
            break;
        }
        const gboolean guided = step_is_guided(s, i);
        if (guided && !s->record && !(ok = sampler_guide(s, &z, i, t, NULL, error)))
            break;
        // eps for the DDIM step, with the features when readouts are recorded or shown
        const gboolean want_feats = (guided && s->record) || want_readouts;
        g_autofree rg_tensor **feats = want_feats ? g_new0(rg_tensor *, n_feat) : NULL;
        g_autoptr(rg_tensor) tt = scalar_tensor((float)t, error);
        g_autoptr(rg_tensor) zz = tt ? doubled(ctx, z, error) : NULL;
        g_autoptr(rg_tensor) eps2 = NULL, eps = NULL, noise = NULL, x0 = NULL, next = NULL;
        ok = zz && rg_unet_forward(p->unet, ctx, zz, tt, s->context, &eps2, feats, error) &&
             (eps = rg_cfg_combine(ctx, eps2, s->cfg, error)) != NULL;
        if (ok && guided && s->record)
            ok = record_readouts(s, feats, i, t, zs, error);
        if (ok && want_readouts)
            ok = report_readouts(s, feats, i, t, zs, error);
        if (feats)
            free_features(feats, n_feat);
        if (ok && job->eta > 0.0f) {
            g_autoptr(rg_tensor) one = noise_tensor(&eta_rng, 1, zs[1], zs[2], zs[3], error);
            rg_tensor *rows[2] = {one, one}; // the same draw for every row, as the official code
            ok = one && (noise = s->B == 1 ? rg_tensor_ref(one) : rg_concat(ctx, rows, s->B, 0, error)) != NULL;
        }
        ok = ok && (next = rg_ddim_step(ctx, &ddim, z, eps, t, t_next, job->eta, noise, &x0, error)) != NULL;
        if (ok && s->keep_mask) {
            rg_tensor *blended = blend_known(s, next, rg_ddim_alpha(&ddim, t_next), error);
            g_clear_pointer(&next, rg_tensor_unref);
            ok = (next = blended) != NULL;
        }
        if (ok && s->report && job->callbacks.preview) {
            g_autoptr(rg_tensor) row = rg_slice(ctx, x0, 0, s->B - 1, 1, error);
            g_autoptr(rg_image) pic = row ? preview_image(p, row, error) : NULL;
            if ((ok = pic != NULL))
                job->callbacks.preview(pic, i, job->callbacks.user_data);
        }
        if (ok) {
            g_clear_pointer(&z, rg_tensor_unref);
            z = g_steal_pointer(&next);
        }
    }
    rg_ddim_clear(&ddim);
    if (!ok)
        return NULL;
    job_progress(job, s->phase, n, n);
    return g_steal_pointer(&z);
}

rg_tensor *sampler_invert(rg_pipeline *p, const rg_job *job, rg_tensor *z0, rg_tensor *context, GError **error)
{
    rg_ddim ddim;
    rg_ddim_init(&ddim);
    if (!rg_ddim_set_steps(&ddim, job->steps, error))
        return NULL;
    const int n = job->steps;
    g_autoptr(rg_tensor) z = rg_tensor_ref(z0);
    gboolean ok = TRUE;
    for (int i = 0; ok && i < n; i++) {
        // official: t runs over [-1, 1, 11, ..., 981], moving to [1, 11, ..., 991]; CFG 1 = the cond prediction
        const int t = i == 0 ? -1 : ddim.timesteps[n - i], t_next = ddim.timesteps[n - 1 - i];
        job_progress(job, "invert", i, n);
        if (job_cancelled(job, error)) {
            ok = FALSE;
            break;
        }
        g_autoptr(rg_tensor) tt = scalar_tensor((float)t, error);
        g_autoptr(rg_tensor) eps = NULL;
        g_autoptr(rg_tensor) next = NULL;
        ok = tt && rg_unet_forward(p->unet, p->ctx, z, tt, context, &eps, NULL, error) &&
             (next = rg_ddim_step(p->ctx, &ddim, z, eps, t, t_next, 0.0f, NULL, NULL, error)) != NULL;
        if (ok) {
            g_clear_pointer(&z, rg_tensor_unref);
            z = g_steal_pointer(&next);
        }
    }
    rg_ddim_clear(&ddim);
    if (!ok)
        return NULL;
    job_progress(job, "invert", n, n);
    return g_steal_pointer(&z);
}
