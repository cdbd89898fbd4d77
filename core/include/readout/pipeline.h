/* pipeline.h — the Readout Guidance jobs: drag, identity, pose and generate.
 * One API serves the command line and the GIMP plug-ins.
 *
 *   g_autoptr(rg_pipeline) p = rg_pipeline_new ("path/to/model", NULL, &error);
 *   g_autoptr(rg_head_set) heads = rg_head_set_open_dir ("path/to/heads", &error);
 *   rg_job job;
 *   rg_job_init (&job, RG_JOB_DRAG);           // the official settings
 *   job.image = source;  job.points = xy;  job.n_points = 1;  job.heads = heads;
 *   g_autoptr(rg_image) out = rg_pipeline_run (p, &job, &error);
 *
 * What each job does (readout_guidance_spec.md §4–§6):
 *  - DRAG with an image: the image is encoded (a posterior sample) and DDIM-
 *    inverted with the prompt at CFG 1; sample 0 (CFG 1) reconstructs it,
 *    sample 1 (CFG 3.5) is guided by the appearance head (same look as
 *    sample 0) and the correspondence head (content at each handle moves to
 *    its target). Without an image, both samples start from the seed's noise
 *    at CFG 7.5: sample 0 is the image `generate` makes with the same seed.
 *  - IDENTITY: sample 0 reconstructs the reference (inverted like a drag
 *    source), sample 1 starts from the seed's noise with the prompt and is
 *    guided by the identity head (or the appearance head when there is none)
 *    to look like sample 0, inside the box when one is given.
 *  - POSE: guided by the pose head towards the pose map; with an image and a
 *    mask, only the masked region changes: outside it the known latents
 *    (the image's, noised to the current step) replace the sample's at every
 *    step, and the final picture keeps the image's own pixels there.
 *  - GENERATE: text to image, guided by a spatial head towards a control map
 *    when both are given.
 * Guidance: for steps i with int(ratio0 N) <= i < int(ratio1 N), the loss
 * (summed over both CFG branches and the heads) is back-propagated through
 * the UNet to the latent, which takes recurrent_steps fresh-Adam steps of
 * size guidance_weight (a sign step), then the DDIM step runs.
 *
 * Sizes: images of any size and aspect are resized so that the longest side
 * is max_side (the model's native size by default), both sides multiples of
 * the model's size multiple (8 x the UNet's), and the result is resized back
 * to the input's size. Points, boxes and masks follow the same mapping.
 */
#pragma once

#include "readout/head.h"
#include "readout/image.h"

G_BEGIN_DECLS

/* ---- models --------------------------------------------------------------- */

typedef struct rg_pipeline rg_pipeline;

/* Loads the UNet, VAE, text encoder and tokenizer of the model at @path (a
 * diffusers folder or a single-file checkpoint, see readout/model.h) on
 * @backend (transfer full; NULL: the CPU). Errors: those of rg_model_open()
 * and the components, naming what is missing or unusable. */
RG_API rg_pipeline *rg_pipeline_new(const char *path, rg_backend *backend, GError **error);
RG_API void rg_pipeline_free(rg_pipeline *p);
/* The image side the model was trained at (UNet sample_size x VAE factor: 512
 * for SD1.5) and the multiple image sides must have (8 x 8 for SD1.5). */
RG_API int rg_pipeline_native_size(const rg_pipeline *p);
RG_API int rg_pipeline_size_multiple(const rg_pipeline *p);
/* (transfer none) */
RG_API rg_unet *rg_pipeline_get_unet(rg_pipeline *p);

/* ---- heads by role -------------------------------------------------------- */

typedef struct rg_head_set rg_head_set;

/* The roles jobs use. */
#define RG_ROLE_APPEARANCE "appearance"
#define RG_ROLE_CORRESPONDENCE "correspondence"
#define RG_ROLE_IDENTITY "identity"
#define RG_ROLE_POSE "pose"
#define RG_ROLE_DEPTH "depth"
#define RG_ROLE_EDGE "edge"

RG_API rg_head_set *rg_head_set_new(void);
/* Every head file in @dir (.pt or .safetensors) whose name gives a role:
 * appearance.pt, pose.safetensors, readout_sdv15_drag_appearance.pt, ...
 * Files of no known role are ignored; two files for one role are an error.
 * Errors: RG_ERROR_IO (no such folder), those of rg_head_open(). */
RG_API rg_head_set *rg_head_set_open_dir(const char *dir, GError **error);
/* Adds @head (transfer full) under @role (NULL: the head's own role).
 * Errors: RG_ERROR_ARGUMENT (no role, or the role is taken). */
RG_API gboolean rg_head_set_add(rg_head_set *set, const char *role, rg_head *head, GError **error);
/* (transfer none) The head for @role, or NULL. */
RG_API rg_head *rg_head_set_get(const rg_head_set *set, const char *role);
RG_API void rg_head_set_free(rg_head_set *set);

/* ---- jobs ----------------------------------------------------------------- */

typedef enum {
    RG_JOB_DRAG,
    RG_JOB_IDENTITY,
    RG_JOB_POSE,
    RG_JOB_GENERATE,
} rg_job_kind;

/* What a job reports while it runs; every callback may be NULL. They are
 * called on the thread that runs the job. */
typedef struct {
    /* @phase: "encode", "invert", "reference", "denoise", "decode"; step @i of @n (0-based, i == n at the end). */
    void (*progress)(const char *phase, int i, int n, gpointer user_data);
    /* The predicted clean image of the edited sample after step @i (a cheap
     * latent-to-RGB approximation where the model has one, else the VAE), at
     * the working size. */
    void (*preview)(const rg_image *rgb, int i, gpointer user_data);
    /* The readout of head @role on the edited sample at step @i, as a picture
     * (rg_image_from_readout()). Asking for readouts costs a head pass per
     * step and head. */
    void (*readout)(const char *role, const rg_image *picture, int i, gpointer user_data);
    /* Polled between and inside steps; TRUE stops the job with
     * RG_ERROR_CANCELLED and nothing is returned. */
    gboolean (*cancelled)(gpointer user_data);
    gpointer user_data;
} rg_job_callbacks;

typedef struct {
    rg_job_kind kind;
    const char *prompt;          /* required for identity, pose and generate */
    const char *negative_prompt; /* the official long one by default */
    int steps;                   /* DDIM steps: 100 */
    guint64 seed;                /* initial noise, posterior samples, eta noise */
    float cfg;                   /* CFG scale of the edited sample: 7.5 (3.5 for a real-image drag, or the
                                    "real_drag_cfg" of the model folder's readout.json); 0: that default */
    float cfg_reference;         /* CFG scale of the reference sample: 1.0 for real images, else cfg */
    float guidance_weight;       /* the Adam learning rate (sign-step size) rg_weight: 0.02 */
    float guidance_ratio[2];     /* guided fraction of the steps [start, end): 0, 0.5 */
    int recurrent_steps;         /* Adam steps per guided timestep: 1 */
    float eta;                   /* DDIM eta: 0 for drag / identity, 1 for pose / generate */
    int max_side;                /* longest side of the working size: 0 = the model's native size */
    /* Read the reference sample's readouts from its own unguided trajectory,
     * run first, instead of denoising it in parallel (the fast preset). */
    gboolean cache_reference;
    /* Embed 999 - t for the heads instead of t (the official code embeds t
     * although the heads were trained on 999 - noise level; off by default
     * for weight compatibility). */
    gboolean corrected_head_timestep;

    const rg_head_set *heads;    /* the heads the job needs, by role */
    float appearance_scale;      /* loss_rescale of the appearance / identity head: 1 */
    float correspondence_scale;  /* loss_rescale of the correspondence head: 1 */
    float spatial_scale;         /* loss_rescale of a spatial head: 0.5 */

    /* DRAG: the source (NULL: generated from the seed); POSE: the image to fill (with mask). */
    const rg_image *image;
    /* DRAG: n_points pairs x0 y0 x1 y1 (handle, target) in pixels of image
     * (or of the working size without one). */
    const float *points;
    int n_points;
    /* IDENTITY: the reference and an optional box x0 y0 x1 y1 in its pixels (NULL: all). */
    const rg_image *reference;
    const int *box;
    /* POSE: the pose map (RGB OpenPose rendering); GENERATE: the control map of @control_role. */
    const rg_image *control;
    const char *control_role;    /* GENERATE: "pose", "depth" or "edge"; NULL: no guidance */
    /* POSE with image: where the fill may change pixels (non-zero = change), the image's size. */
    const rg_image *mask;

    rg_job_callbacks callbacks;
} rg_job;

/* The official settings for @kind (readout_guidance_spec.md §4.4). */
RG_API void rg_job_init(rg_job *job, rg_job_kind kind);
/* The fast preset: 25 steps, cached reference readouts; guidance keeps its
 * share of the steps. */
RG_API void rg_job_apply_fast_preset(rg_job *job);
/* The official negative prompt of the configs. (transfer none) */
RG_API const char *rg_default_negative_prompt(void);

/* Checks @job against the model without running it: required inputs, points
 * and boxes inside their images, mask size, heads present and made for this
 * model. Errors: RG_ERROR_ARGUMENT naming the problem, RG_ERROR_UNSUPPORTED
 * (a head of another base model). */
RG_API gboolean rg_pipeline_check(rg_pipeline *p, const rg_job *job, GError **error);
/* Runs @job: the edited image at the input image's size (the working size
 * for generated images). (transfer full) Errors: those of
 * rg_pipeline_check(), RG_ERROR_CANCELLED, RG_ERROR_OUT_OF_MEMORY, those of
 * the models. */
RG_API rg_image *rg_pipeline_run(rg_pipeline *p, const rg_job *job, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_pipeline, rg_pipeline_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_head_set, rg_head_set_free)

G_END_DECLS
