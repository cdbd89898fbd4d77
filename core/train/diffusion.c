/* diffusion.c — the demo diffusion model's trainer (ε-prediction, DDPM
 * training on the DDIM code's schedule, AdamW, EMA, checkpoints). Scenes
 * reach the latent space through the model's own VAE (the demo's exact
 * space-to-depth), as rg_pipeline encodes images.
 *
 * Step k draws B scenes, each from the stream keyed (seed, k, index): the
 * scene's seed, whether its caption is dropped, its timestep and its noise.
 * Nothing else is random, so the weights after N steps depend only on the
 * starting weights, the settings and N (and the thread count, which decides
 * how the engine's sums are split).
 */
#include <math.h>
#include <string.h>

#include "readout/diffusion.h"
#include "readout/model.h"
#include "readout/scene.h"
#include "readout/tokenizer.h"
#include "readout/vae.h"
#include "train/train_internal.h"

#define KEY_BATCH 0x6261746368ULL /* "batch" */
#define STATE_FORMAT "readout-diffusion-train"
#define STATE_VERSION 1

struct rg_diffusion_trainer {
    rg_diffusion_train_config c;
    rg_ctx *ctx;
    rg_unet *unet;
    rg_clip_text *text;
    rg_tokenizer *tok;
    rg_vae *vae;        /* the demo's space-to-depth (or any VAE: its mean is the latent) */
    rg_ddim sched;
    int n;              /* parameters */
    GPtrArray *names;   /* char *, diffusers names */
    GPtrArray *params;  /* rg_tensor *, borrowed from the UNet */
    rg_adamw *opt;
    rg_ema *ema;
    int64_t step;
    char *unet_config_json;
    int latent;         /* latent size: RG_SCENE_SIZE / the VAE's factor (32) */
};

void rg_diffusion_train_config_init(rg_diffusion_train_config *c)
{
    c->seed = 0;
    c->batch = 16;
    c->lr = 1e-3f;
    c->warmup_steps = 100;
    c->weight_decay = 0.01f;
    c->max_grad_norm = 1.0f;
    c->ema_max_decay = 0.9999f;
    c->caption_dropout = 0.1f;
    c->min_snr_gamma = 5.0f;
    c->checkpointing = FALSE;
}

static gboolean check_train_config(const rg_diffusion_train_config *c, GError **error)
{
    const char *bad = NULL;
    double v = 0;
    if (c->batch < 1 || c->batch > 4096)
        bad = "batch", v = c->batch;
    else if (!isfinite(c->lr) || c->lr <= 0)
        bad = "lr", v = c->lr;
    else if (c->warmup_steps < 0)
        bad = "warmup_steps", v = c->warmup_steps;
    else if (!isfinite(c->weight_decay) || c->weight_decay < 0)
        bad = "weight_decay", v = c->weight_decay;
    else if (!isfinite(c->max_grad_norm) || c->max_grad_norm < 0)
        bad = "max_grad_norm", v = c->max_grad_norm;
    else if (!(c->ema_max_decay >= 0 && c->ema_max_decay <= 1))
        bad = "ema_max_decay", v = c->ema_max_decay;
    else if (!(c->caption_dropout >= 0 && c->caption_dropout <= 1))
        bad = "caption_dropout", v = c->caption_dropout;
    else if (!isfinite(c->min_snr_gamma) || c->min_snr_gamma < 0)
        bad = "min_snr_gamma", v = c->min_snr_gamma;
    if (!bad)
        return TRUE;
    g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "train-diffusion: %s %g is out of range", bad, v);
    return FALSE;
}

void rg_diffusion_trainer_free(rg_diffusion_trainer *t)
{
    if (!t)
        return;
    rg_adamw_free(t->opt);
    rg_ema_free(t->ema);
    if (t->names)
        g_ptr_array_unref(t->names);
    if (t->params)
        g_ptr_array_unref(t->params);
    rg_unet_free(t->unet);
    rg_clip_text_free(t->text);
    rg_tokenizer_free(t->tok);
    rg_vae_free(t->vae);
    rg_ddim_clear(&t->sched);
    rg_ctx_free(t->ctx);
    g_free(t->unet_config_json);
    g_free(t);
}

rg_diffusion_trainer *rg_diffusion_trainer_new(const char *model_dir, const rg_diffusion_train_config *c,
                                               GError **error)
{
    g_return_val_if_fail(model_dir != NULL && c != NULL, NULL);
    if (!check_train_config(c, error))
        return NULL;
    g_autoptr(rg_diffusion_trainer) t = g_new0(rg_diffusion_trainer, 1);
    t->c = *c;
    rg_ddim_init(&t->sched);
    g_autofree char *tok_dir = g_build_filename(model_dir, "tokenizer", NULL);
    g_autoptr(rg_model) m = rg_model_open(model_dir, error);
    if (!m || !(t->ctx = rg_ctx_new(NULL, error)) || !(t->unet = rg_model_load_unet(m, error)) ||
        !(t->text = rg_model_load_text_encoder(m, error)) || !(t->tok = rg_tokenizer_new_from_dir(tok_dir, error)) ||
        !(t->vae = rg_model_load_vae(m, error)))
        return NULL;
    const rg_unet_config uc = *rg_unet_get_config(t->unet);
    const rg_clip_text_config *tc = rg_clip_text_get_config(t->text);
    const rg_vae_config *vc = rg_vae_get_config(t->vae);
    const int f = 1 << (vc->n_levels - 1), lc = vc->latent_channels;
    t->latent = RG_SCENE_SIZE / f;
    if (vc->in_channels != 3 || uc.in_channels != lc || uc.out_channels != lc ||
        uc.cross_attention_dim != tc->hidden_size || t->latent % rg_unet_size_multiple(t->unet) != 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "train-diffusion: the UNet of %s (%d -> %d channels, "
                    "context %d, sizes in multiples of %d) does not fit the demo world (%d -> %d channels of a "
                    "%dx%d latent from its VAE, context %d from its text encoder)", model_dir, uc.in_channels,
                    uc.out_channels, uc.cross_attention_dim, rg_unet_size_multiple(t->unet), lc, lc, t->latent,
                    t->latent, tc->hidden_size);
        return NULL;
    }
    rg_unet_set_checkpointing(t->unet, c->checkpointing);
    t->unet_config_json = rg_unet_config_to_json(&uc);
    t->names = g_ptr_array_new_with_free_func(g_free);
    t->params = g_ptr_array_new();
    rg_unet_parameters(t->unet, t->names, t->params);
    t->n = (int)t->params->len;
    for (int i = 0; i < t->n; i++)
        rg_tensor_set_requires_grad(g_ptr_array_index(t->params, i), TRUE);
    rg_adamw_config oc;
    rg_adamw_config_init(&oc);
    oc.lr = c->lr;
    oc.weight_decay = c->weight_decay;
    rg_tensor *const *p = (rg_tensor *const *)t->params->pdata;
    if (!(t->opt = rg_adamw_new(&oc, t->n, p, error)) || !(t->ema = rg_ema_new(t->n, p, c->ema_max_decay, error)))
        return NULL;
    return g_steal_pointer(&t);
}

int64_t rg_diffusion_trainer_get_step(const rg_diffusion_trainer *t)
{
    return t->step;
}

rg_unet *rg_diffusion_trainer_get_unet(rg_diffusion_trainer *t)
{
    return t->unet;
}

/* ---- batches ------------------------------------------------------------------ */

void train_batch_clear(train_batch *b)
{
    rg_tensor **all[] = {&b->x0, &b->noise, &b->xt, &b->t, &b->text, &b->weight};
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        g_clear_pointer(all[i], rg_tensor_unref);
    g_strfreev(b->captions);
    memset(b, 0, sizeof *b);
}

/* The text encoder's output for the captions of @b (B, 77, D). */
static rg_tensor *encode_captions(rg_diffusion_trainer *t, char **captions, int B, GError **error)
{
    const int64_t shape[2] = {B, RG_TOKENIZER_CONTEXT_LENGTH};
    g_autoptr(rg_tensor) ids = rg_tensor_new(RG_DTYPE_I64, 2, shape, error);
    if (!ids)
        return NULL;
    int64_t *d = rg_tensor_data_i64(ids);
    for (int i = 0; i < B; i++)
        if (!rg_tokenizer_encode(t->tok, captions[i], RG_TOKENIZER_CONTEXT_LENGTH, d + i * shape[1], NULL, error))
            return NULL;
    return rg_clip_text_forward(t->text, t->ctx, ids, error);
}

/* The diffusion-space latent of images (B, 3, S, S) in [-1, 1]: the VAE's
 * mean times its scaling factor; for the demo's space-to-depth (factor 1)
 * the exact 2x2 pixel unshuffle (B, 12, S/2, S/2). */
static rg_tensor *encode_images(rg_diffusion_trainer *t, rg_tensor *img, GError **error)
{
    g_autoptr(rg_tensor) mean = NULL, logvar = NULL;
    if (!rg_vae_encode(t->vae, t->ctx, img, &mean, &logvar, error))
        return NULL;
    const float scale = rg_vae_get_config(t->vae)->scaling_factor;
    return scale == 1.0f ? rg_contiguous(t->ctx, mean, error) : rg_scale(t->ctx, mean, scale, 0, error);
}

gboolean train_make_batch(rg_diffusion_trainer *t, int64_t step, train_batch *b, GError **error)
{
    memset(b, 0, sizeof *b);
    const int B = t->c.batch, S = RG_SCENE_SIZE, L = t->latent, C = rg_vae_get_config(t->vae)->latent_channels;
    const int64_t s_img[4] = {B, 3, S, S}, s_lat[4] = {B, C, L, L}, s_t[1] = {B}, s_w[4] = {B, 1, 1, 1};
    const int64_t per = (int64_t)C * L * L;
    b->batch = B;
    b->captions = g_new0(char *, B + 1);
    g_autoptr(rg_tensor) img = rg_tensor_new(RG_DTYPE_F32, 4, s_img, error);
    if (!img || !(b->noise = rg_tensor_new(RG_DTYPE_F32, 4, s_lat, error)) ||
        !(b->t = rg_tensor_new(RG_DTYPE_F32, 1, s_t, error)) ||
        (t->c.min_snr_gamma > 0 && !(b->weight = rg_tensor_new(RG_DTYPE_F32, 4, s_w, error))))
        goto fail;
    for (int i = 0; i < B; i++) {
        rg_rng r;
        rg_rng_init(&r, t->c.seed, KEY_BATCH, (guint64)step, (guint64)i);
        rg_scene scene;
        rg_scene_generate(&scene, rg_rng_u64(&r));
        const gboolean drop = rg_rng_uniform(&r) < t->c.caption_dropout;
        const int ti = (int)(rg_rng_uniform(&r) * RG_DDIM_TRAIN_STEPS); /* uniform in 0..999 */
        rg_tensor_data_f32(b->t)[i] = (float)ti;
        float *nz = rg_tensor_data_f32(b->noise) + i * per;
        for (int64_t k = 0; k < per; k++)
            nz[k] = (float)rg_rng_normal(&r);
        if (b->weight) {
            const double a = rg_ddim_alpha(&t->sched, ti), snr = a / (1.0 - a);
            rg_tensor_data_f32(b->weight)[i] = (float)(MIN(snr, (double)t->c.min_snr_gamma) / snr);
        }
        b->captions[i] = drop ? g_strdup("") : rg_scene_caption(&scene);
        g_autoptr(rg_image) im = rg_scene_render(&scene, NULL, error);
        if (!im)
            goto fail;
        if (im->width != S || im->height != S || im->channels != 3) {
            g_set_error(error, RG_ERROR, RG_ERROR_FAILED, "train-diffusion: scene %d of step %" G_GINT64_FORMAT
                        " rendered %dx%dx%d, not %dx%dx3", i, step, im->width, im->height, im->channels, S, S);
            goto fail;
        }
        float *px = rg_tensor_data_f32(img) + (int64_t)i * 3 * S * S;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) // [-1, 1] as rg_image_to_tensor
                    px[((int64_t)c * S + y) * S + x] = 2.0f * im->data[(y * S + x) * 3 + c] / 255.0f - 1.0f;
    }
    if (!(b->x0 = encode_images(t, img, error)) || !(b->xt = rg_tensor_new(RG_DTYPE_F32, 4, s_lat, error)) ||
        !(b->text = encode_captions(t, b->captions, B, error)))
        goto fail;
    // x_t = sqrt(a_t) x0 + sqrt(1 - a_t) eps, coefficients from diffusers' float32 alphas_cumprod
    for (int i = 0; i < B; i++) {
        const double a = rg_ddim_alpha(&t->sched, (int)rg_tensor_data_f32(b->t)[i]);
        const float sa = (float)sqrt(a), sb = (float)sqrt(1.0 - a);
        const float *x0 = rg_tensor_data_f32(b->x0) + i * per, *nz = rg_tensor_data_f32(b->noise) + i * per;
        float *xt = rg_tensor_data_f32(b->xt) + i * per;
        for (int64_t k = 0; k < per; k++)
            xt[k] = sa * x0[k] + sb * nz[k];
    }
    return TRUE;
fail:
    train_batch_clear(b);
    return FALSE;
}

/* ---- loss and steps ----------------------------------------------------------- */

gboolean train_batch_loss(rg_diffusion_trainer *t, train_batch *b, gboolean backward, double *loss, GError **error)
{
    g_autoptr(rg_tape) tape = backward ? rg_tape_new() : NULL;
    rg_ctx_set_tape(t->ctx, tape);
    g_autoptr(rg_tensor) eps = NULL;
    gboolean ok = rg_unet_forward(t->unet, t->ctx, b->xt, b->t, b->text, &eps, NULL, error);
    // loss = mean(w_b (eps_pred - eps)^2)
    g_autoptr(rg_tensor) d = ok ? rg_sub(t->ctx, eps, b->noise, error) : NULL;
    g_autoptr(rg_tensor) sq = d ? rg_mul(t->ctx, d, d, error) : NULL;
    g_autoptr(rg_tensor) wsq = sq && b->weight ? rg_mul(t->ctx, sq, b->weight, error) : NULL;
    g_autoptr(rg_tensor) l = sq ? rg_mean(t->ctx, b->weight ? wsq : sq, error) : NULL;
    rg_ctx_set_tape(t->ctx, NULL);
    if (!l)
        return FALSE;
    g_clear_pointer(&d, rg_tensor_unref);
    g_clear_pointer(&sq, rg_tensor_unref);
    g_clear_pointer(&wsq, rg_tensor_unref);
    g_clear_pointer(&eps, rg_tensor_unref);
    if (loss)
        *loss = rg_tensor_get_flat(l, 0);
    return !backward || rg_tape_backward(t->ctx, tape, l, error);
}

static void zero_grads(rg_diffusion_trainer *t)
{
    for (int i = 0; i < t->n; i++)
        rg_tensor_zero_grad(g_ptr_array_index(t->params, i));
}

gboolean train_step_on(rg_diffusion_trainer *t, train_batch *b, double *loss, GError **error)
{
    rg_tensor *const *p = (rg_tensor *const *)t->params->pdata;
    double l = 0;
    zero_grads(t);
    gboolean ok = train_batch_loss(t, b, TRUE, &l, error);
    if (ok && !isfinite(l)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FAILED, "train-diffusion: the loss of step %" G_GINT64_FORMAT
                    " is %g; lower the learning rate", t->step, l);
        ok = FALSE;
    }
    ok = ok && rg_clip_grad_norm(t->n, p, t->c.max_grad_norm, NULL, error) &&
         rg_adamw_step(t->opt, rg_lr_warmup(t->c.lr, t->step, t->c.warmup_steps), error) &&
         rg_ema_update(t->ema, p, error);
    zero_grads(t);
    if (!ok)
        return FALSE;
    if (loss)
        *loss = l;
    t->step++;
    return TRUE;
}

gboolean rg_diffusion_trainer_step(rg_diffusion_trainer *t, double *loss, GError **error)
{
    g_return_val_if_fail(t != NULL, FALSE);
    train_batch b;
    if (!train_make_batch(t, t->step, &b, error))
        return FALSE;
    gboolean ok = train_step_on(t, &b, loss, error);
    train_batch_clear(&b);
    return ok;
}

/* Exchanges the trained weights and the EMA's (twice restores both). */
static void swap_ema(rg_diffusion_trainer *t)
{
    for (int i = 0; i < t->n; i++) {
        float *p = rg_tensor_data_f32(g_ptr_array_index(t->params, i));
        float *s = rg_tensor_data_f32(rg_ema_get(t->ema, i));
        const int64_t count = rg_tensor_numel(g_ptr_array_index(t->params, i));
        for (int64_t k = 0; k < count; k++) {
            float v = p[k];
            p[k] = s[k];
            s[k] = v;
        }
    }
}

gboolean rg_diffusion_trainer_eval(rg_diffusion_trainer *t, int64_t step, gboolean ema, double *loss,
                                   GError **error)
{
    g_return_val_if_fail(t != NULL, FALSE);
    train_batch b;
    if (!train_make_batch(t, step, &b, error))
        return FALSE;
    g_clear_pointer(&b.weight, rg_tensor_unref); /* plain MSE, whatever the training weights */
    if (ema)
        swap_ema(t);
    gboolean ok = train_batch_loss(t, &b, FALSE, loss, error);
    if (ema)
        swap_ema(t);
    train_batch_clear(&b);
    return ok;
}

static const char *const state_kinds[4] = {"unet.", "ema.", "adam_m.", "adam_v."};

/* The weights, their EMA and the AdamW moments of parameter @i. */
static rg_tensor *state_tensor(gpointer owner, int k, int i)
{
    rg_diffusion_trainer *t = owner;
    return k == 0   ? g_ptr_array_index(t->params, i)
           : k == 1 ? rg_ema_get(t->ema, i)
                    : rg_adamw_moment(t->opt, i, k - 2);
}

static train_state_layout state_layout(rg_diffusion_trainer *t)
{
    return (train_state_layout){state_kinds, 4, t->names, state_tensor, t};
}

gboolean rg_diffusion_trainer_save(rg_diffusion_trainer *t, const char *path, const char *run_json, GError **error)
{
    g_return_val_if_fail(t != NULL && path != NULL, FALSE);
    g_autofree int64_t *adam_steps = g_new0(int64_t, t->n);
    for (int i = 0; i < t->n; i++)
        adam_steps[i] = rg_adamw_get_step(t->opt, i);
    int64_t step = t->step, updates = rg_ema_get_updates(t->ema);
    const train_counter counters[3] = {
        {"step", 1, &step}, {"ema_updates", 1, &updates}, {"adam_step", t->n, adam_steps}};
    g_autofree char *state = g_strdup_printf("{\"format\": \"%s\", \"version\": %d, \"step\": %" G_GINT64_FORMAT "}",
                                             STATE_FORMAT, STATE_VERSION, t->step);
    const char *meta[] = {"readout.train_state", state, "readout.unet_config", t->unet_config_json,
                          run_json ? "readout.run" : NULL, run_json, NULL};
    const train_state_layout l = state_layout(t);
    return train_state_save(path, &l, counters, 3, meta, error);
}

gboolean rg_diffusion_trainer_load(rg_diffusion_trainer *t, const char *path, char **run_json, GError **error)
{
    g_return_val_if_fail(t != NULL && path != NULL, FALSE);
    if (run_json)
        *run_json = NULL;
    g_autoptr(rg_safetensors) st = rg_safetensors_open(path, error);
    if (!st)
        return FALSE;
    const char *state = rg_safetensors_metadata(st, "readout.train_state");
    if (!state || !strstr(state, "\"" STATE_FORMAT "\"")) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s is not a train-diffusion checkpoint (no readout.train_state "
                    "metadata of format " STATE_FORMAT ")", path);
        return FALSE;
    }
    if (!train_same_config(path, "a checkpoint of another UNet config",
                           rg_safetensors_metadata(st, "readout.unet_config"), t->unet_config_json, error))
        return FALSE;
    g_autofree int64_t *adam_steps = g_new0(int64_t, t->n);
    int64_t step = 0, updates = 0;
    train_counter counters[3] = {
        {"step", 1, &step}, {"ema_updates", 1, &updates}, {"adam_step", t->n, adam_steps}};
    const train_state_layout l = state_layout(t);
    if (!train_state_load(st, path, &l, counters, 3, error))
        return FALSE;
    for (int i = 0; i < t->n; i++)
        rg_adamw_set_step(t->opt, i, adam_steps[i]);
    rg_ema_set_updates(t->ema, updates);
    t->step = step;
    const char *run = rg_safetensors_metadata(st, "readout.run");
    if (run_json && run)
        *run_json = g_strdup(run);
    return TRUE;
}

gboolean rg_diffusion_trainer_export(rg_diffusion_trainer *t, const char *path, gboolean ema, GError **error)
{
    g_return_val_if_fail(t != NULL && path != NULL, FALSE);
    g_autoptr(GPtrArray) tensors = g_ptr_array_new();
    for (int i = 0; i < t->n; i++)
        g_ptr_array_add(tensors, ema ? rg_ema_get(t->ema, i) : g_ptr_array_index(t->params, i));
    g_autofree char *step = g_strdup_printf("%" G_GINT64_FORMAT, t->step);
    const char *meta[] = {"format", "pt", "readout.train_step", step, "readout.weights", ema ? "ema" : "trained", NULL};
    return rg_safetensors_save(path, t->n, (const char *const *)t->names->pdata, (rg_tensor *const *)tensors->pdata,
                               meta, error);
}
