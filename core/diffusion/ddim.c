/* ddim.c — Stable Diffusion's DDIM schedule, the DDIM step that the official
 * Readout Guidance code uses for sampling and for inversion
 * (rg_helpers.get_xt_next), and classifier-free guidance on a UNet output.
 *
 * The schedule reproduces diffusers' float32 tensors bit for bit (checked
 * against torch in tests/diffusion): the official code reads its alphas from
 * them, so the values are float32 numbers kept in doubles. The step and CFG
 * are made of engine operations, so they run on the context's backend.
 */
#include "readout/diffusion.h"

#include <math.h>

#include "tensor/tensor_impl.h"

#define BETA_START 0.00085
#define BETA_END 0.012

/* torch.linspace(sqrt(BETA_START), sqrt(BETA_END), 1000, dtype=float32) the
 * way torch 1.13's CPU kernel computes it: a float32 step, the first half
 * counted from the start and the second from the end, in vectors of 8 whose
 * first element is start + step * idx (fused multiply-add, as the AVX2 build
 * compiles it) and whose others add i * step to that. Plain float32 or
 * double arithmetic differ from torch by one ulp in about a quarter of the
 * values. */
static void scaled_linear_roots(float *out, int n)
{
    const float start = (float)sqrt(BETA_START), end = (float)sqrt(BETA_END);
    const float step = (end - start) / (float)(n - 1);
    const int halfway = n / 2, vec = 8;
    for (int i0 = 0; i0 < n; i0 += vec) {
        float base = i0 < halfway ? fmaf(step, (float)i0, start) : fmaf(-step, (float)(n - 1 - i0), end);
        for (int i = 0; i < vec && i0 + i < n; i++)
            out[i0 + i] = fmaf((float)i, step, base);
    }
}

void rg_ddim_init(rg_ddim *s)
{
    g_return_if_fail(s != NULL);
    float roots[RG_DDIM_TRAIN_STEPS];
    scaled_linear_roots(roots, RG_DDIM_TRAIN_STEPS);
    /* betas = roots ** 2 and alphas = 1 - betas in float32; torch's CPU
     * cumprod accumulates in double and rounds each output to float32 */
    double acc = 1.0;
    for (int t = 0; t < RG_DDIM_TRAIN_STEPS; t++) {
        float beta = roots[t] * roots[t];
        acc *= (double)(1.0f - beta);
        s->alphas_cumprod[t] = (double)(float)acc;
    }
    s->n_train = RG_DDIM_TRAIN_STEPS;
    s->final_alpha_cumprod = s->alphas_cumprod[0];
    s->n_steps = 0;
    s->timesteps = NULL;
}

void rg_ddim_clear(rg_ddim *s)
{
    g_return_if_fail(s != NULL);
    g_clear_pointer(&s->timesteps, g_free);
    s->n_steps = 0;
}

gboolean rg_ddim_set_steps(rg_ddim *s, int n_steps, GError **error)
{
    g_return_val_if_fail(s != NULL, FALSE);
    /* with steps_offset 1 the first timestep is (n-1) * (1000 / n) + 1, which
     * is 1000 (past the schedule) for n = 1000 */
    if (n_steps < 1 || n_steps >= s->n_train) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "ddim: %d steps is outside 1..%d (leading spacing with steps_offset 1 over %d training steps)",
                    n_steps, s->n_train - 1, s->n_train);
        return FALSE;
    }
    g_free(s->timesteps);
    s->timesteps = g_new(int, n_steps);
    s->n_steps = n_steps;
    int ratio = s->n_train / n_steps;
    for (int i = 0; i < n_steps; i++)
        s->timesteps[i] = (n_steps - 1 - i) * ratio + 1;
    return TRUE;
}

double rg_ddim_alpha(const rg_ddim *s, int t)
{
    g_return_val_if_fail(s != NULL, NAN);
    if (t < 0)
        return s->final_alpha_cumprod;
    return t < s->n_train ? s->alphas_cumprod[t] : NAN;
}

int rg_ddim_next(const rg_ddim *s, int i)
{
    g_return_val_if_fail(s != NULL, -1);
    return i + 1 >= 0 && i + 1 < s->n_steps ? s->timesteps[i + 1] : -1;
}

/* ---- the step ----------------------------------------------------------- */

static gboolean check_like(const char *what, rg_tensor *x, rg_tensor *like, GError **error)
{
    g_autofree char *sx = rg_tensor_shape_string(x);
    if (rg_tensor_dtype(x) != RG_DTYPE_F32) {
        g_set_error(error, RG_ERROR, RG_ERROR_DTYPE, "ddim_step: %s %s is %s, expected F32", what, sx,
                    rg_dtype_name(rg_tensor_dtype(x)));
        return FALSE;
    }
    if (!rg_tensor_same_shape(x, like)) {
        g_autofree char *sl = rg_tensor_shape_string(like);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "ddim_step: %s %s does not match z %s", what, sx, sl);
        return FALSE;
    }
    return TRUE;
}

/* a * x + b * y, unrecorded. */
static rg_tensor *axpby(rg_ctx *ctx, double a, rg_tensor *x, double b, rg_tensor *y, GError **error)
{
    g_autoptr(rg_tensor) ax = rg_scale(ctx, x, (float)a, 0.0f, error);
    g_autoptr(rg_tensor) by = ax ? rg_scale(ctx, y, (float)b, 0.0f, error) : NULL;
    return by ? rg_add(ctx, ax, by, error) : NULL;
}

static rg_tensor *ddim_step(rg_ctx *ctx, const rg_ddim *s, rg_tensor *z, rg_tensor *eps, int t, int t_next, float eta,
                            rg_tensor *noise, rg_tensor **x0_out, GError **error)
{
    if (!z || !eps) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "ddim_step: %s is missing", z ? "eps" : "z");
        return NULL;
    }
    if (!check_like("z", z, z, error) || !check_like("eps", eps, z, error))
        return NULL;
    if (t >= s->n_train || t_next >= s->n_train) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "ddim_step: timestep %d -> %d is outside the schedule (timesteps < %d; negative means the "
                    "final alpha)",
                    t, t_next, s->n_train);
        return NULL;
    }
    if (!(eta >= 0.0f) || !isfinite(eta)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "ddim_step: eta %g must be a finite number >= 0", eta);
        return NULL;
    }
    if (eta > 0.0f && !noise) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "ddim_step: eta %g needs noise", eta);
        return NULL;
    }
    if (eta > 0.0f && !check_like("noise", noise, z, error))
        return NULL;

    double at = rg_ddim_alpha(s, t), an = rg_ddim_alpha(s, t_next);
    double c1 = 0.0;
    if (eta > 0.0f) {
        double r = (1.0 - at / an) * (1.0 - an) / (1.0 - at);
        if (r < 0.0) { /* a_next < a_t: a step toward more noise */
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                        "ddim_step: eta %g needs a denoising step, but timestep %d -> %d adds noise", eta, t, t_next);
            return NULL;
        }
        c1 = eta * sqrt(r);
    }
    double c2sq = (1.0 - an) - c1 * c1;
    if (c2sq < 0.0) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "ddim_step: eta %g is too large for timestep %d -> %d (1 - a_next - c1^2 = %g < 0)", eta, t, t_next,
                    c2sq);
        return NULL;
    }
    double c2 = sqrt(c2sq);

    // x0 = (z - sqrt(1 - a_t) eps) / sqrt(a_t)
    g_autoptr(rg_tensor) x0 = axpby(ctx, 1.0 / sqrt(at), z, -sqrt(1.0 - at) / sqrt(at), eps, error);
    if (!x0)
        return NULL;
    // z_next = sqrt(a_next) x0 + c2 eps (+ c1 noise)
    g_autoptr(rg_tensor) zn = axpby(ctx, sqrt(an), x0, c2, eps, error);
    if (!zn)
        return NULL;
    if (eta > 0.0f) {
        g_autoptr(rg_tensor) cn = rg_scale(ctx, noise, (float)c1, 0.0f, error);
        g_autoptr(rg_tensor) sum = cn ? rg_add(ctx, zn, cn, error) : NULL;
        if (!sum)
            return NULL;
        g_clear_pointer(&zn, rg_tensor_unref);
        zn = g_steal_pointer(&sum);
    }
    if (x0_out)
        *x0_out = g_steal_pointer(&x0);
    return g_steal_pointer(&zn);
}

rg_tensor *rg_ddim_step(rg_ctx *ctx, const rg_ddim *s, rg_tensor *z, rg_tensor *eps, int t, int t_next, float eta,
                        rg_tensor *noise, rg_tensor **x0, GError **error)
{
    g_return_val_if_fail(ctx != NULL && s != NULL, NULL);
    if (x0)
        *x0 = NULL;
    /* the update is not part of any gradient: keep it off the tape */
    rg_tape *tape = rg_ctx_get_tape(ctx);
    rg_ctx_set_tape(ctx, NULL);
    rg_tensor *out = ddim_step(ctx, s, z, eps, t, t_next, eta, noise, x0, error);
    rg_ctx_set_tape(ctx, tape);
    return out;
}

/* ---- classifier-free guidance ------------------------------------------- */

rg_tensor *rg_cfg_combine(rg_ctx *ctx, rg_tensor *eps, const float *scales, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    if (!eps || !scales) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "cfg_combine: %s is missing", eps ? "scales" : "eps");
        return NULL;
    }
    g_autofree char *se = rg_tensor_shape_string(eps);
    int ndim = rg_tensor_ndim(eps);
    if (rg_tensor_dtype(eps) != RG_DTYPE_F32) {
        g_set_error(error, RG_ERROR, RG_ERROR_DTYPE, "cfg_combine: eps %s is %s, expected F32", se,
                    rg_dtype_name(rg_tensor_dtype(eps)));
        return NULL;
    }
    if (ndim < 1 || rg_tensor_shape(eps)[0] < 2 || rg_tensor_shape(eps)[0] % 2) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "cfg_combine: eps %s must be the batch [uncond; cond], with an even first dimension", se);
        return NULL;
    }
    int64_t B = rg_tensor_shape(eps)[0] / 2;
    for (int64_t b = 0; b < B; b++)
        if (!isfinite(scales[b])) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "cfg_combine: scale %" G_GINT64_FORMAT " is %g", b,
                        scales[b]);
            return NULL;
        }
    int64_t wshape[RG_MAX_DIMS] = {B, 1, 1, 1, 1};
    g_autoptr(rg_tensor) w = rg_tensor_new_from_data(RG_DTYPE_F32, ndim, wshape, scales, error); // (B, 1, ...)
    if (!w)
        return NULL;
    g_autoptr(rg_tensor) u = rg_slice(ctx, eps, 0, 0, B, error); // (B, C, H, W)
    g_autoptr(rg_tensor) c = u ? rg_slice(ctx, eps, 0, B, B, error) : NULL;
    g_autoptr(rg_tensor) d = c ? rg_sub(ctx, c, u, error) : NULL;
    g_autoptr(rg_tensor) wd = d ? rg_mul(ctx, d, w, error) : NULL;
    return wd ? rg_add(ctx, u, wd, error) : NULL;
}
