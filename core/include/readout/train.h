/* train.h — training with the engine: AdamW over many tensors, gradient
 * clipping, learning-rate warm-up, an EMA of the weights, and the trainer of
 * the demo diffusion model (readout issue 5) that `readout train-diffusion`
 * runs.
 *
 * The optimizer pieces work on any set of F32 leaf tensors (a UNet's
 * rg_unet_parameters(), a head's rg_head_parameters()):
 *
 *   rg_adamw_config oc;
 *   rg_adamw_config_init (&oc);                       // lr 1e-4, wd 0.01
 *   g_autoptr(rg_adamw) opt = rg_adamw_new (&oc, n, params, &error);
 *   g_autoptr(rg_ema) ema = rg_ema_new (n, params, 0.9999f, &error);
 *   for (step...) {
 *       ... forward with a tape, rg_tape_backward ...
 *       rg_clip_grad_norm (n, params, 1.0, &norm, &error);
 *       rg_adamw_step (opt, rg_lr_warmup (oc.lr, step, 100), &error);
 *       rg_ema_update (ema, params, &error);
 *       for (i...) rg_tensor_zero_grad (params[i]);
 *   }
 *
 * The diffusion trainer (rg_diffusion_trainer) trains the UNet of a model
 * folder with ε-prediction on scenes of the demo world generated on the fly:
 * every random choice is a function of (seed, step, index), so a run resumed
 * from its checkpoint continues bit for bit like one that never stopped.
 */
#pragma once

#include "readout/clip.h"
#include "readout/unet.h"

G_BEGIN_DECLS

/* ---- AdamW ----------------------------------------------------------------- */

/* torch.optim.AdamW's settings. */
typedef struct {
    float lr;           /* 1e-4 here (torch: 1e-3) */
    float beta1, beta2; /* 0.9, 0.999 */
    float eps;          /* 1e-8 */
    float weight_decay; /* decoupled: p *= 1 - lr * wd before the Adam step; 0.01 (torch's default) */
} rg_adamw_config;

RG_API void rg_adamw_config_init(rg_adamw_config *c);

typedef struct rg_adamw rg_adamw;

/* An optimizer of @params (F32, contiguous, host memory; referenced, not
 * copied), with zero moments. Errors: RG_ERROR_ARGUMENT (a setting torch
 * refuses: lr, eps or weight_decay < 0 or not finite, betas outside [0, 1);
 * no parameters; one given twice), RG_ERROR_DTYPE, RG_ERROR_SHAPE (not
 * contiguous). */
RG_API rg_adamw *rg_adamw_new(const rg_adamw_config *c, int n, rg_tensor *const *params, GError **error);
RG_API void rg_adamw_free(rg_adamw *a);
/* One step with learning rate @lr (the scheduled one; the config's lr when
 * negative) from the gradients the parameters hold (rg_tensor_get_grad()),
 * exactly torch's single-tensor AdamW in f32:
 *   p *= 1 - lr wd;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= lr / (1 - b1^k) * m / (sqrt(v) / sqrt(1 - b2^k) + eps)
 * with k the parameter's own step count. A parameter without a gradient is
 * skipped (its moments and step count stay), as torch does. Element loops
 * run on the engine's threads. Errors: RG_ERROR_ARGUMENT (lr not finite),
 * RG_ERROR_SHAPE (a gradient unlike its parameter); nothing changes then. */
RG_API gboolean rg_adamw_step(rg_adamw *a, float lr, GError **error);
RG_API int rg_adamw_n_params(const rg_adamw *a);
/* (transfer none) The moments of parameter @i: exp_avg (which 0) and
 * exp_avg_sq (which 1), F32 shaped like it; writable (checkpoint loading). */
RG_API rg_tensor *rg_adamw_moment(rg_adamw *a, int i, int which);
/* The step count of parameter @i (torch's state["step"]); settable for
 * checkpoint loading. */
RG_API int64_t rg_adamw_get_step(const rg_adamw *a, int i);
RG_API void rg_adamw_set_step(rg_adamw *a, int i, int64_t step);

/* torch.nn.utils.clip_grad_norm_ (2-norm): the total norm of the gradients
 * of @params (those without one count as zero) goes to @total_norm (may be
 * NULL), and when @max_norm > 0 every gradient is multiplied by
 * min(1, max_norm / (total + 1e-6)). Errors: RG_ERROR_ARGUMENT (a gradient
 * that is not finite: nothing is scaled then, and the norm is NaN or inf). */
RG_API gboolean rg_clip_grad_norm(int n, rg_tensor *const *params, double max_norm, double *total_norm,
                                  GError **error);

/* Linear warm-up: @lr * min(1, (step + 1) / @warmup_steps) for the step
 * numbered @step from 0 (so the first step is not wasted at lr 0, unlike
 * diffusers' constant_with_warmup); @lr when @warmup_steps <= 0. */
RG_API float rg_lr_warmup(float lr, int64_t step, int64_t warmup_steps);

/* ---- EMA of weights ----------------------------------------------------- */

typedef struct rg_ema rg_ema;

/* diffusers' EMAModel (update_after_step 0, use_ema_warmup False,
 * min_decay 0): a shadow copy of @params (F32), updated after each
 * optimizer step as s -= (1 - d) (s - p) with
 * d = min(@max_decay, (1 + k) / (10 + k)), k = updates so far - 1 (d = 0 for
 * the first update, so the shadow starts from the trained weights). */
RG_API rg_ema *rg_ema_new(int n, rg_tensor *const *params, float max_decay, GError **error);
RG_API void rg_ema_free(rg_ema *e);
/* The decay of update number @update (1 for the first), as above. */
RG_API double rg_ema_decay(int64_t update, float max_decay);
/* One update toward @params (the same tensors, in the same order, as given
 * to rg_ema_new()). Errors: RG_ERROR_SHAPE. */
RG_API gboolean rg_ema_update(rg_ema *e, rg_tensor *const *params, GError **error);
/* (transfer none) The shadow of parameter @i (writable, for checkpoint loading). */
RG_API rg_tensor *rg_ema_get(rg_ema *e, int i);
RG_API int64_t rg_ema_get_updates(const rg_ema *e);
RG_API void rg_ema_set_updates(rg_ema *e, int64_t updates);

/* ---- the demo model ---------------------------------------------------- */

/* The demo UNet of issue 5: 12 -> 12 channels (a 2x2 space-to-depth of
 * 64x64 RGB), block_out_channels (32, 64, 64), one ResNet per block, down
 * (DownBlock2D, CrossAttnDownBlock2D, CrossAttnDownBlock2D), up
 * (CrossAttnUpBlock2D, CrossAttnUpBlock2D, UpBlock2D), 4 heads, depth 1, 8
 * norm groups, context width 64, sample_size 32, mid block. */
RG_API void rg_demo_unet_config_init(rg_unet_config *c);
/* The demo text encoder: hidden 64, 2 layers, 4 heads, intermediate 128, 77
 * positions, quick_gelu, for a tokenizer of @vocab_size entries. */
RG_API void rg_demo_text_config_init(rg_clip_text_config *c, int vocab_size);
/* The seed of the demo text encoder's random weights. */
#define RG_DEMO_TEXT_ENCODER_SEED 5

/* diffusers' unet/config.json for @c (a JSON object). (transfer full) */
RG_API char *rg_unet_config_to_json(const rg_unet_config *c);

/* A UNet of @c with PyTorch's default initialisation from @seed: every
 * convolution and linear weight uniform in +-1/sqrt(fan_in) (kaiming_uniform
 * with a = sqrt(5)) and its bias likewise, GroupNorm / LayerNorm weights 1
 * and biases 0. */
RG_API rg_unet *rg_unet_new_random(const rg_unet_config *c, guint64 seed, GError **error);

/* Writes a new demo model folder @dir (created; existing files of the same
 * names are replaced): model_index.json, tokenizer/ (rg_scene_write_tokenizer),
 * text_encoder/ (config.json and model.safetensors with the random weights of
 * transformers' CLIP initialisation from RG_DEMO_TEXT_ENCODER_SEED),
 * vae/config.json (the 2x2 space-to-depth autoencoder) and unet/
 * (config.json from @unet_config, or the demo's when NULL, and
 * diffusion_pytorch_model.safetensors of rg_unet_new_random(@unet_seed)).
 * Errors: RG_ERROR_IO naming the file, RG_ERROR_ARGUMENT (a UNet config
 * whose context width is not the text encoder's 64). */
RG_API gboolean rg_demo_model_create(const char *dir, const rg_unet_config *unet_config, guint64 unet_seed,
                                     GError **error);

/* 2x2 (@factor x @factor) space-to-depth as torch's pixel_unshuffle:
 * (B, C, H, W) -> (B, C f^2, H/f, W/f), output channel c f^2 + i f + j
 * holding pixel (f y + i, f x + j) of channel c. Differentiable. The same map
 * as the demo model's VAE (rg_vae with space_to_depth), without a model.
 * Errors: RG_ERROR_SHAPE (not 4-D, H or W not multiples of @factor). */
RG_API rg_tensor *rg_space_to_depth(rg_ctx *ctx, rg_tensor *x, int factor, GError **error);

/* ---- the diffusion trainer ----------------------------------------------- */

typedef struct {
    guint64 seed;          /* the run's seed: scenes, captions dropped, t, noise */
    int batch;             /* scenes per step: 16 */
    float lr;              /* peak learning rate: 1e-3 */
    int warmup_steps;      /* linear warm-up (rg_lr_warmup): 100 */
    float weight_decay;    /* AdamW: 0.01 */
    float max_grad_norm;   /* clip the total gradient norm at this, 0 = no clipping: 1.0 */
    float ema_max_decay;   /* rg_ema max_decay: 0.9999 */
    float caption_dropout; /* share of captions replaced by "" (for CFG): 0.1 */
    float min_snr_gamma;   /* min-SNR loss weighting min(SNR, gamma) / SNR; 0 = off (plain MSE): 5 */
    gboolean checkpointing; /* checkpoint the UNet's blocks (less memory, ~1.3x the time): FALSE */
} rg_diffusion_train_config;

RG_API void rg_diffusion_train_config_init(rg_diffusion_train_config *c);

typedef struct rg_diffusion_trainer rg_diffusion_trainer;

/* A trainer of the model folder @model_dir: its text encoder, tokenizer and
 * VAE (frozen; the demo's is the exact space-to-depth), its UNet
 * (config.json and weights: the starting point), on the CPU. Errors: those
 * of loading the components; RG_ERROR_ARGUMENT (a bad setting, a UNet whose
 * channels are not the VAE's latent channels or whose context width is not
 * the text encoder's). */
RG_API rg_diffusion_trainer *rg_diffusion_trainer_new(const char *model_dir, const rg_diffusion_train_config *c,
                                                      GError **error);
RG_API void rg_diffusion_trainer_free(rg_diffusion_trainer *t);
/* One optimizer step on the batch of step rg_diffusion_trainer_get_step():
 * B scenes of seed (seed, step, index), x0 = the VAE's latent of the image in
 * [-1, 1] (its mean times the scaling factor: for the demo the space-to-depth,
 * (B, 12, 32, 32)), t uniform in 0..999, x_t = sqrt(a_t) x0 +
 * sqrt(1 - a_t) eps with the DDIM schedule's alphas_cumprod (rg_ddim_init),
 * loss = mean_b w_b MSE_b(UNet(x_t, t, CLIP(caption)), eps) with the min-SNR
 * weights w_b = min(SNR_t, gamma) / SNR_t (1 when min_snr_gamma is 0),
 * captions dropped to "" at caption_dropout; backward, clipping, AdamW with
 * warm-up, EMA update. @loss (may be NULL): the batch's (weighted) loss
 * before the step. */
RG_API gboolean rg_diffusion_trainer_step(rg_diffusion_trainer *t, double *loss, GError **error);
/* Steps taken (the next batch's number). */
RG_API int64_t rg_diffusion_trainer_get_step(const rg_diffusion_trainer *t);
/* (transfer none) The UNet being trained. */
RG_API rg_unet *rg_diffusion_trainer_get_unet(rg_diffusion_trainer *t);
/* The plain MSE (no min-SNR weighting) of the batch of step @step with the
 * current weights, or the EMA weights when @ema; no update. Held-out batches:
 * steps the run never reaches (RG_DIFFUSION_EVAL_STEP + k). */
#define RG_DIFFUSION_EVAL_STEP (G_GINT64_CONSTANT(1) << 62)
RG_API gboolean rg_diffusion_trainer_eval(rg_diffusion_trainer *t, int64_t step, gboolean ema, double *loss,
                                          GError **error);

/* Writes the training state to @path (a temporary file renamed over it):
 * "unet.NAME" weights, "ema.NAME" shadows, "adam_m.NAME" / "adam_v.NAME"
 * moments (F32), "step" (I64 (1)) and "adam_step" (I64 (n)); metadata
 * "readout.train_state" (format, version, the step), "readout.unet_config"
 * (the UNet's config.json) and, when not NULL, "readout.run" = @run_json (the
 * run's flags). */
RG_API gboolean rg_diffusion_trainer_save(rg_diffusion_trainer *t, const char *path, const char *run_json,
                                          GError **error);
/* Restores a state written by rg_diffusion_trainer_save(). Errors:
 * RG_ERROR_IO, RG_ERROR_FORMAT (not a training state, a tensor missing or
 * mis-shaped), RG_ERROR_ARGUMENT (a state of another UNet config, naming
 * the difference). Nothing changes on failure. @run_json (may be NULL)
 * receives the saved run metadata (a new string, or NULL). */
RG_API gboolean rg_diffusion_trainer_load(rg_diffusion_trainer *t, const char *path, char **run_json,
                                          GError **error);
/* Writes the EMA weights (or the trained ones when @ema is FALSE) under
 * their diffusers names as a UNet safetensors file (atomically). */
RG_API gboolean rg_diffusion_trainer_export(rg_diffusion_trainer *t, const char *path, gboolean ema,
                                            GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_adamw, rg_adamw_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_ema, rg_ema_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_diffusion_trainer, rg_diffusion_trainer_free)

G_END_DECLS
