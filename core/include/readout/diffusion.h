/* diffusion.h — DDIM sampling and inversion as the official Readout Guidance
 * code runs them (readout_guidance_spec.md §4.1, §5.3), and the Adam step it
 * takes on the latent.
 *
 * Schedule: Stable Diffusion's scaled-linear betas (sqrt-linear from
 * beta_start 0.00085 to beta_end 0.012 over 1000 steps), alphas_cumprod;
 * "leading" spacing with steps_offset 1: for N steps t_i = (N-1-i) * (1000 / N) + 1
 * (991, 981, ..., 1 for N = 100); set_alpha_to_one false, so the alpha of
 * "timestep -1" (the one after the last) is alphas_cumprod[0].
 */
#pragma once

#include "readout/readout.h"

G_BEGIN_DECLS

#define RG_DDIM_TRAIN_STEPS 1000

typedef struct {
    int n_train;                              /* 1000 */
    double alphas_cumprod[RG_DDIM_TRAIN_STEPS];
    double final_alpha_cumprod;               /* alphas_cumprod[0] (set_alpha_to_one false) */
    int n_steps;                              /* set by rg_ddim_set_steps() */
    int *timesteps;                           /* n_steps entries, descending */
} rg_ddim;

/* SD's schedule (beta_start 0.00085, beta_end 0.012, scaled-linear, 1000
 * steps): diffusers' float32 alphas_cumprod, bit for bit, held in doubles. */
RG_API void rg_ddim_init(rg_ddim *s);
RG_API void rg_ddim_clear(rg_ddim *s);
/* Leading spacing, steps_offset 1. Errors: RG_ERROR_ARGUMENT for @n_steps
 * outside 1..999 (1000 steps would start at timestep 1000, past the
 * schedule; diffusers fails there too). */
RG_API gboolean rg_ddim_set_steps(rg_ddim *s, int n_steps, GError **error);
/* alphas_cumprod[t], or final_alpha_cumprod for t < 0; NaN for t >= 1000. */
RG_API double rg_ddim_alpha(const rg_ddim *s, int t);
/* Timestep after step i (i = 0..n_steps-1): timesteps[i+1], or -1 after the
 * last. The official inversion's step k = 0..n_steps-1 goes from
 * rg_ddim_next(s, n-1-k) to timesteps[n-1-k] (-1 -> 1, 1 -> 11, ...). */
RG_API int rg_ddim_next(const rg_ddim *s, int i);

/* One DDIM move of @z (eps predicted at timestep @t) to timestep @t_next
 * (rg_helpers.get_xt_next):
 *   x0 = (z - sqrt(1-a_t) eps) / sqrt(a_t)
 *   c1 = eta sqrt((1 - a_t/a_next)(1 - a_next)/(1 - a_t)),  c2 = sqrt(1 - a_next - c1^2)
 *   z_next = sqrt(a_next) x0 + c2 eps + c1 noise
 * Denoising: t > t_next; inversion: t < t_next (the official inversion calls
 * it with t = -1, 1, 11, ... and t_next = 1, 11, 21, ..., eta 0). @noise may
 * be NULL when eta is 0. @x0: (out, may be NULL) the predicted clean latent.
 * (transfer full) Not recorded on a tape (it is detached for the call).
 * Coefficients in double from the float32 alphas; element-wise in f32.
 * Errors: RG_ERROR_SHAPE / _DTYPE (eps or noise unlike z, not F32),
 * RG_ERROR_ARGUMENT (timestep >= 1000, eta < 0 or not finite, eta > 0
 * without noise or on a step toward more noise, eta so large that
 * 1 - a_next - c1^2 < 0). */
RG_API rg_tensor *rg_ddim_step(rg_ctx *ctx, const rg_ddim *s, rg_tensor *z, rg_tensor *eps, int t, int t_next,
                               float eta, rg_tensor *noise, rg_tensor **x0, GError **error);

/* Classifier-free guidance on a UNet output for the batch [uncond; cond]
 * (2B, C, H, W): eps_u + w_b (eps_c - eps_u) per sample b, @scales (B).
 * Made of engine operations: recorded (differentiable) when a tape is
 * attached and eps needs a gradient. Errors: RG_ERROR_SHAPE (odd or zero
 * batch), RG_ERROR_DTYPE, RG_ERROR_ARGUMENT (missing or non-finite scales). */
RG_API rg_tensor *rg_cfg_combine(rg_ctx *ctx, rg_tensor *eps, const float *scales, GError **error);

/* torch.optim.AdamW (weight decay 0) on one tensor, the way the official
 * guidance uses it: made fresh at every timestep, so its first step is
 * z -= lr * g / (|g| + eps), a sign step; further steps (num_recurrent_steps
 * > 1) follow Adam with the state kept. */
typedef struct rg_adam rg_adam;
RG_API rg_adam *rg_adam_new(float lr, float beta1, float beta2, float eps);
RG_API void rg_adam_free(rg_adam *a);
/* Updates @param (F32, contiguous, host memory) in place from @grad (F32,
 * same shape, any strides). The moments are kept in double. The settings
 * are checked here: RG_ERROR_ARGUMENT for lr or eps < 0 or not finite and
 * betas outside [0, 1), as torch. Other errors: RG_ERROR_SHAPE (grad unlike
 * param, or a param unlike the one of the earlier steps), RG_ERROR_DTYPE. A
 * failed step changes nothing. */
RG_API gboolean rg_adam_step(rg_adam *a, rg_tensor *param, rg_tensor *grad, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_adam, rg_adam_free)

G_END_DECLS
