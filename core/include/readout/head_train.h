/* head_train.h — training readout heads with the official recipes
 * (readout_guidance_spec.md §3), for SD1.5 and for the demo model
 * (readout issue 5); `readout train-head` runs it.
 *
 * Features (§3.1): each image is encoded by the model's VAE (a posterior
 * sample times the scaling factor; the demo's space-to-depth is exact). One
 * s, uniform in 1..999, is drawn per batch; with tau = 999 - s the latent is
 * noised to x = sqrt(a_tau) z + sqrt(1 - a_tau) eps (eps per image), the
 * frozen UNet runs once at timestep tau + 1 with the "" prompt (no CFG), and
 * the head takes its decoder features and, as emb, the UNet's time embedding
 * of s. Both are the official code's quirks (the UNet one step off the noise
 * level; the head told the generation index s rather than the noise level);
 * corrected_timestep uses tau for both instead. A head trained the official
 * way is told 999 - noise level, while guidance (the official code and
 * rg_pipeline by default) embeds the noise level t: a corrected head is the
 * one consistent with that default.
 *
 * Recipes by role:
 *  - pose, edge, depth (spatial): the head with its output head (3 channels,
 *    tanh) against the target map in control_range ((-0.5, 0.5) pose/edge,
 *    (-1, 1) depth), sampled to the latent grid by nearest (pixels 0, f, 2f,
 *    ...); balanced MSE for pose and edge (sparse_loss), plain MSE for depth;
 *    lr 1e-3, batch 8, 5000 steps.
 *  - correspondence: symmetric InfoNCE at temperature 0.07 over all grid
 *    positions of a pair; lr 1e-3, batch 1 pair, 10000 steps.
 *  - appearance, identity: hinge max(0, 0.5 + d(anchor, positive) -
 *    d(anchor, negative)), d = mean over pixels of 1 - cos over channels;
 *    lr 1e-4, batch 1 triplet, 1000 steps.
 * AdamW with weight decay 0 (the official AdamW8bit's settings, in f32), no
 * schedule, no clipping. The official loop takes max_steps + 1 updates; here
 * a run of N steps takes N.
 *
 * Data: "demo" (the demo world, generated from the seed: exact tracks,
 * triplets and pose maps) or a folder:
 *  - spatial: DIR/images/NAME.png and DIR/targets/NAME.png (same names);
 *  - correspondence: DIR/pairs.json, a list (or {"pairs": [...]}) of
 *    {"source": "a.png", "target": "b.png", "points": [[x0, y0, x1, y1], ...]}
 *    in pixels of the images (pixel centres at integers, as the official
 *    CoTracker tracks);
 *  - appearance / identity: DIR/triplets.json, a list (or
 *    {"triplets": [...]}) of {"anchor": ..., "positive": ..., "negative": ...}.
 * File names are relative to DIR. Each item gets the official preprocessing:
 * a random square crop of side min(W, H) (the same one for the images of an
 * item and its target), resized to the model's native size — bilinear with
 * antialiasing (rg_image_resize) where the official loader uses PIL's
 * bicubic. Items are visited in a new random order every epoch.
 *
 * Every random draw is a function of (seed, step, index), so a run resumed
 * from its state file continues as one that never stopped.
 */
#pragma once

#include "readout/head.h"
#include "readout/scene.h"

G_BEGIN_DECLS

/* ---- losses ----------------------------------------------------------------
 * Built from engine operations (the cross entropy is one recorded operation
 * of its own, as the engine has no log): differentiable with respect to the
 * predictions. Each returns a (1) tensor. */

/* Spatial: pred and target (B, C, h, w). Sparse (pose, edge): the squared
 * error averaged separately over the elements whose target equals @bg_value
 * (control_range[0]) and over the others, 1/2 each; the plain mean when
 * either set is empty. Otherwise the plain mean. Errors: RG_ERROR_SHAPE,
 * RG_ERROR_DTYPE. */
RG_API rg_tensor *rg_head_loss_spatial(rg_ctx *ctx, rg_tensor *pred, rg_tensor *target, gboolean sparse,
                                       float bg_value, GError **error);

/* Mean over rows of the cross entropy of @logits (N, K) with the classes
 * @targets[N] in [0, K): mean_n (logsumexp(logits[n]) - logits[n, targets[n]]),
 * as torch's F.cross_entropy. Host memory (CPU backend). Errors:
 * RG_ERROR_SHAPE, RG_ERROR_DTYPE, RG_ERROR_ARGUMENT (a class out of range). */
RG_API rg_tensor *rg_head_cross_entropy(rg_ctx *ctx, rg_tensor *logits, const int64_t *targets, GError **error);

/* Correspondence: symmetric InfoNCE of the official code (DHF's
 * compute_clip_loss). @src and @tgt (1, C, H, W) readouts, @n matches from
 * grid index @src_idx[k] to @tgt_idx[k] (y * W + x). With unit vectors f1,
 * f2 over channels: logits_st = f1[src_idx] . f2[all] / temperature,
 * logits_ts = f2[tgt_idx] . f1[all] / temperature; loss = (CE(logits_st,
 * tgt_idx) + CE(logits_ts, src_idx)) / 2. Only the n rows of the HW x HW
 * matrix that the loss reads are formed. Errors: RG_ERROR_SHAPE,
 * RG_ERROR_ARGUMENT (no matches, an index off the grid, temperature <= 0). */
RG_API rg_tensor *rg_head_loss_infonce(rg_ctx *ctx, rg_tensor *src, rg_tensor *tgt, const int64_t *src_idx,
                                       const int64_t *tgt_idx, int n, float temperature, GError **error);

/* Appearance: anchor, positive, negative (B, C, H, W); per sample
 * d(a, b) = mean over pixels of (1 - cos(a, b)) (eps 1e-8, torch's) and
 * loss = sum_b max(0, @margin + d(anchor, positive) - d(anchor, negative)).
 * Errors: RG_ERROR_SHAPE, RG_ERROR_DTYPE. */
RG_API rg_tensor *rg_head_loss_triplet(rg_ctx *ctx, rg_tensor *anchor, rg_tensor *positive, rg_tensor *negative,
                                       float margin, GError **error);

/* The official point normalisation (§3.3): (x, y) in pixels of a @res x @res
 * image -> divided by res - 1 and clipped to [0, 1] -> times the grid size ->
 * clipped to [0, grid - 1] -> rounded half to even (np.round) -> index
 * grid_w * row + column (DHF's points_to_idxs). -1 for a non-finite
 * coordinate. */
RG_API int64_t rg_head_point_index(float x, float y, int res, int grid_h, int grid_w);

/* ---- the demo world's supervision ------------------------------------------ */

/* Colours of the demo pose map (RGB): each object's visible pixels in the
 * colour of its shape, black elsewhere; the creature's head key point as a
 * white dot (radius 2.5 px) and its eyes as magenta dots (radius 1.5 px, over
 * the head's), drawn where the key point's pixel shows the creature; each dot
 * covers an even pixel (2i, 2j), so the latent grid's targets keep it. */
RG_API void rg_demo_pose_color(rg_shape shape, guint8 rgb[3]);
#define RG_DEMO_POSE_HEAD_RGB 255, 255, 255
#define RG_DEMO_POSE_EYE_RGB 255, 0, 255
/* The pose-like map of scene @s with its label map @labels (rg_scene_render()).
 * Errors: RG_ERROR_ARGUMENT (labels not 1 channel of the scene's size). */
RG_API rg_image *rg_demo_pose_map(const rg_scene *s, const rg_image *labels, GError **error);
/* The edge map: white where a pixel's label differs from its right or lower
 * neighbour's (both pixels), black elsewhere. */
RG_API rg_image *rg_demo_edge_map(const rg_image *labels, GError **error);

/* A correspondence pair of the demo world from @seed: @a the scene, @b the
 * same scene with objects moved (up to 12 px along each axis, the centre
 * kept 6 px inside the image), rotated (up to 0.35 rad) and scaled
 * (0.85..1.2), a quarter of them left in place; and tracks x0 y0 x1 y1
 * (pixels, pixel centres at integers, as in pairs.json): the even pixels
 * (2i, 2j) of a's objects that rg_scene_track_point() follows into b (which
 * the official normalisation puts exactly in cell (i, j)), and the background
 * pixels (8i + 4, 8j + 4) that are background in both (the background does
 * not move), at most @max_points in all (0: no limit; else a uniform random
 * subset). @points: (out) a new array of 4 * @n_points floats. */
RG_API gboolean rg_demo_correspondence_pair(guint64 seed, int max_points, rg_scene *a, rg_scene *b,
                                            float **points, int *n_points, GError **error);
/* An appearance triplet from @seed: anchor = the scene of the seed, positive =
 * rg_scene_relayout() of it (same objects elsewhere), negative =
 * rg_scene_recolor() of it (same layout, other colours and textures). */
RG_API void rg_demo_appearance_triplet(guint64 seed, rg_scene *anchor, rg_scene *positive, rg_scene *negative);

/* ---- the trainer ------------------------------------------------------------ */

typedef struct {
    char role[32];           /* appearance, correspondence, pose, depth, edge, identity */
    guint64 seed;            /* data order, crops, scenes, timesteps, noise, head init */
    int batch;               /* images (spatial) or pairs / triplets per step: 8 spatial, else 1 */
    float lr;                /* 1e-3; 1e-4 for appearance and identity */
    int projection_dim;      /* 384 */
    gboolean corrected_timestep; /* UNet at tau and emb of tau instead of tau + 1 and s */
    float temperature;       /* InfoNCE: 0.07 */
    float margin;            /* hinge: 0.5 */
    int max_points;          /* tracks per correspondence pair, 0 = all: 256 */
    char base_model[128];    /* the head config's base_model; "" = from the model (see rg_head_trainer_new) */
} rg_head_train_config;

/* The official settings of @role (an unknown role leaves the spatial ones;
 * rg_head_trainer_new() refuses it). */
RG_API void rg_head_train_config_init(rg_head_train_config *c, const char *role);
/* Whether @role is a role the trainer knows. */
RG_API gboolean rg_head_train_role_known(const char *role);
/* The official step count of @role's recipe (5000, 10000 or 1000). */
RG_API int rg_head_train_default_steps(const char *role);

typedef struct rg_head_trainer rg_head_trainer;

/* A trainer of a new head (rg_head_new_random(seed)) for the model at
 * @model_path (rg_pipeline_new(): UNet, VAE, text encoder, tokenizer; CPU) on
 * @data ("demo" or a folder, checked and indexed here). The head config:
 * the UNet's features and time-embedding width, projection_dim, 32 norm
 * groups, the role's output head and control range, base_model from @c or
 * else "readout-demo" for a model with the demo's space-to-depth VAE and the
 * model folder's (or file's) base name otherwise. Errors: those of loading
 * the model; RG_ERROR_ARGUMENT (unknown role, bad setting, demo data for a
 * model whose images are not the demo's 64x64, demo data for depth);
 * RG_ERROR_IO / RG_ERROR_FORMAT (a data folder that is missing, empty or
 * malformed, naming the file and entry). */
RG_API rg_head_trainer *rg_head_trainer_new(const char *model_path, const char *data,
                                            const rg_head_train_config *c, GError **error);
RG_API void rg_head_trainer_free(rg_head_trainer *t);
/* One optimizer step on the batch of step rg_head_trainer_get_step(); @loss
 * (may be NULL): the batch's loss before the step. */
RG_API gboolean rg_head_trainer_step(rg_head_trainer *t, double *loss, GError **error);
RG_API int64_t rg_head_trainer_get_step(const rg_head_trainer *t);
/* (transfer none) The head being trained. */
RG_API rg_head *rg_head_trainer_get_head(rg_head_trainer *t);
/* (transfer none) The settings in use. */
RG_API const rg_head_train_config *rg_head_trainer_get_config(const rg_head_trainer *t);
/* Items in the data (demo: 0, endless). */
RG_API int rg_head_trainer_n_items(const rg_head_trainer *t);

/* The training state (a safetensors file written atomically): "head.NAME"
 * weights, "adam_m.NAME" / "adam_v.NAME" moments, "step", "adam_step";
 * metadata "readout.head_train_state" (format, version, step),
 * "readout.head_config" (the head's config JSON) and, when not NULL,
 * "readout.run" = @run_json. */
RG_API gboolean rg_head_trainer_save_state(rg_head_trainer *t, const char *path, const char *run_json,
                                           GError **error);
/* Restores a state of the same head config. Nothing changes on failure.
 * Errors: RG_ERROR_IO, RG_ERROR_FORMAT (not a head training state, a tensor
 * missing or mis-shaped), RG_ERROR_ARGUMENT (another head config, naming
 * it). @run_json (may be NULL): the saved readout.run (new string or NULL). */
RG_API gboolean rg_head_trainer_load_state(rg_head_trainer *t, const char *path, char **run_json, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_head_trainer, rg_head_trainer_free)

G_END_DECLS
