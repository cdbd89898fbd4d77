/* pipeline_impl.h — the inside of rg_pipeline, shared by the files of
 * core/pipeline: models (pipeline.c), seeded noise (noise.c), previews
 * (preview.c), the guided sampler (sampler.c) and the jobs (jobs.c). */
#pragma once

#include "base/rng.h"
#include "readout/clip.h"
#include "readout/diffusion.h"
#include "readout/guidance.h"
#include "readout/pipeline.h"
#include "readout/tokenizer.h"
#include "readout/vae.h"

struct rg_pipeline {
    rg_ctx *ctx;
    rg_unet *unet;
    rg_vae *vae;
    rg_clip_text *text;
    rg_tokenizer *tokenizer;
    int vae_factor;  /* image pixels per latent cell: 8 for SD1.5 */
    int native_size; /* UNet sample_size x vae_factor */
    gboolean sd_latent_rgb; /* the SD1.x latent space: previews by a linear map */
    float real_drag_cfg;    /* CFG of a real-image drag's edited sample: 3.5, or the model's readout.json */
};

/* ---- noise.c: reproducible Gaussian noise --------------------------------- */

/* Independent streams of one job seed. */
typedef enum {
    NOISE_INITIAL = 1,   /* the starting latent */
    NOISE_POSTERIOR = 2, /* VAE posterior samples */
    NOISE_ETA = 3,       /* the per-step DDIM noise (eta > 0) */
} noise_stream;

void noise_rng_init(rg_rng *r, guint64 seed, noise_stream stream);
/* A new (n, c, h, w) tensor of N(0, 1) draws. */
rg_tensor *noise_tensor(rg_rng *r, int64_t n, int64_t c, int64_t h, int64_t w, GError **error);

/* ---- preview.c ----------------------------------------------------------- */

/* The picture of a diffusion-space latent @x0 (1, C, h, w): SD1.x's linear
 * latent-to-RGB map when the model has its latent space, else a VAE decode. */
rg_image *preview_image(rg_pipeline *p, rg_tensor *x0, GError **error);
/* VAE decode of a diffusion-space latent (1, C, h, w) to an image. */
rg_image *decode_image(rg_pipeline *p, rg_tensor *z, GError **error);
/* Diffusion-space latent (1, C, h, w) of @img (already at a working size):
 * a posterior sample with @noise_seed, times the scaling factor. */
rg_tensor *encode_image(rg_pipeline *p, const rg_image *img, guint64 seed, GError **error);

/* ---- pipeline.c ----------------------------------------------------------- */

/* (1, 77, D) text encoder output for @prompt. */
rg_tensor *encode_prompt(rg_pipeline *p, const char *prompt, GError **error);

/* ---- job.c ---------------------------------------------------------------- */

/* Whether the job's reference is a real image that is inverted (drag with an
 * image, identity). */
gboolean job_real_reference(const rg_job *job);
/* The CFG scales of the reference and the edited row, the official values
 * (or the model's readout.json) where the job leaves them 0. */
void job_cfg(const rg_pipeline *p, const rg_job *job, float *cfg_reference, float *cfg);

/* ---- sampler.c: guided DDIM over a batch ---------------------------------- */

typedef enum {
    TERM_SPATIAL,
    TERM_CORRESPONDENCE,
    TERM_APPEARANCE,
} term_kind;

/* One guidance loss. */
typedef struct {
    term_kind kind;
    const char *role; /* for readouts */
    rg_head *head;
    gboolean use_emb;
    float scale;           /* loss_rescale */
    rg_tensor *control;    /* SPATIAL: (1, C, h, w) in the head's control range */
    float cmin, cmax;      /* SPATIAL: the control range */
    rg_point_pair *pairs;  /* CORRESPONDENCE */
    int n_pairs;
    gboolean boxed;        /* APPEARANCE */
    int gt_box[4], obs_box[4];
} guide_term;

/* A sampler run: @B rows denoised together from @z (B, C, h, w). Row B-1 is
 * the edited sample; with B == 2 row 0 is the reference whose readouts are
 * the targets of the relative terms. With @record set (B == 1), the run
 * stores the readouts of the relative terms at every guided step (both CFG
 * branches) instead of guiding; with @cached set, a B == 1 run takes its
 * targets from such a record. */
typedef struct {
    rg_pipeline *p;
    const rg_job *job;
    const char *phase;
    int B;
    float cfg[2];           /* per row */
    rg_tensor *context;     /* (2B, T, D): [uncond x B; cond x B] */
    guide_term *terms;
    int n_terms;
    GPtrArray *record;      /* out: readouts per guided step, term and branch */
    GPtrArray *cached;      /* in */
    /* Inpainting: rows are replaced outside @keep_mask (1, 1, h, w; 1 = keep)
     * by @known (1, C, h, w) noised with @known_noise to the current step. */
    rg_tensor *keep_mask, *known, *known_noise;
    gboolean report;        /* callbacks (preview, readouts) for this run */
} sampler;

/* One guided update of *@z (B, C, h, w) at step @i, timestep @t: the
 * job's recurrent_steps Adam steps on the guidance loss, whose value before
 * the first step goes to @loss (may be NULL). */
gboolean sampler_guide(sampler *s, rg_tensor **z, int i, int t, double *loss, GError **error);
/* Runs the DDIM loop over the job's steps; returns the final latents (B, C, h, w). */
rg_tensor *sampler_run(sampler *s, rg_tensor *z, GError **error);
/* DDIM inversion of @z0 (1, C, h, w) with @context (1, T, D) at CFG 1: the latent at the first step's timestep. */
rg_tensor *sampler_invert(rg_pipeline *p, const rg_job *job, rg_tensor *z0, rg_tensor *context, GError **error);
/* Reports step @i of @n of @phase to the job's progress callback. */
void job_progress(const rg_job *job, const char *phase, int i, int n);
/* TRUE when the job asks to stop (and sets RG_ERROR_CANCELLED). */
gboolean job_cancelled(const rg_job *job, GError **error);
