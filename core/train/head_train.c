/* head_train.c — the readout-head trainer (readout_guidance_spec.md §3): a
 * frozen model (rg_pipeline), a new head, AdamW; batches of the data made
 * into the UNet's features at one random timestep; steps; state files.
 *
 * Step k draws everything from streams keyed (seed, purpose, k, index): the
 * timestep, the items (demo scenes; folder crops and the epoch's order), the
 * VAE posterior noise and the diffusion noise of every image. A run resumed
 * from its state therefore trains on what an unbroken run would.
 */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "models/head/head_internal.h"
#include "pipeline/pipeline_impl.h"
#include "train/head_train_internal.h"


/* ---- roles and settings ----------------------------------------------------------- */

static const char *const roles[] = {"appearance", "correspondence", "pose", "depth", "edge", "identity"};

gboolean rg_head_train_role_known(const char *role)
{
    for (size_t i = 0; role && i < G_N_ELEMENTS(roles); i++)
        if (!strcmp(role, roles[i]))
            return TRUE;
    return FALSE;
}

head_recipe head_recipe_of(const char *role)
{
    if (!g_strcmp0(role, "correspondence"))
        return RECIPE_CORRESPONDENCE;
    if (!g_strcmp0(role, "appearance") || !g_strcmp0(role, "identity"))
        return RECIPE_APPEARANCE;
    return RECIPE_SPATIAL;
}

int rg_head_train_default_steps(const char *role)
{
    const head_recipe r = head_recipe_of(role);
    return r == RECIPE_SPATIAL ? 5000 : r == RECIPE_CORRESPONDENCE ? 10000 : 1000;
}

void rg_head_train_config_init(rg_head_train_config *c, const char *role)
{
    memset(c, 0, sizeof *c);
    g_strlcpy(c->role, role ? role : "", sizeof c->role);
    const head_recipe r = head_recipe_of(role);
    c->seed = 0;
    c->batch = r == RECIPE_SPATIAL ? 8 : 1;
    c->lr = r == RECIPE_APPEARANCE ? 1e-4f : 1e-3f;
    c->projection_dim = 384;
    c->corrected_timestep = FALSE;
    c->temperature = 0.07f;
    c->margin = 0.5f;
    c->max_points = 256;
}

static gboolean check_config(const rg_head_train_config *c, GError **error)
{
    const char *bad = NULL;
    double v = 0;
    if (!memchr(c->role, 0, sizeof c->role) || !rg_head_train_role_known(c->role)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "train-head: unknown role \"%.32s\" (appearance, "
                    "correspondence, pose, depth, edge or identity)", c->role);
        return FALSE;
    }
    if (c->batch < 1 || c->batch > 1024)
        bad = "batch", v = c->batch;
    else if (!isfinite(c->lr) || c->lr <= 0)
        bad = "lr", v = c->lr;
    else if (c->projection_dim < 128 || c->projection_dim % 128)
        bad = "projection_dim (a multiple of 128: 32 norm groups of its quarter)", v = c->projection_dim;
    else if (!isfinite(c->temperature) || c->temperature <= 0)
        bad = "temperature", v = c->temperature;
    else if (!isfinite(c->margin))
        bad = "margin", v = c->margin;
    else if (c->max_points < 0)
        bad = "max_points", v = c->max_points;
    else if (!memchr(c->base_model, 0, sizeof c->base_model))
        bad = "base_model (not a terminated string)", v = 0;
    if (!bad)
        return TRUE;
    g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "train-head: %s %g is out of range", bad, v);
    return FALSE;
}

/* ---- the trainer ------------------------------------------------------------------ */

void rg_head_trainer_free(rg_head_trainer *t)
{
    if (!t)
        return;
    rg_adamw_free(t->opt);
    if (t->names)
        g_ptr_array_unref(t->names);
    if (t->params)
        g_ptr_array_unref(t->params);
    rg_head_free(t->head);
    if (t->text)
        rg_tensor_unref(t->text);
    rg_pipeline_free(t->p);
    head_data_free(t->data);
    rg_ddim_clear(&t->sched);
    g_free(t->head_config_json);
    g_free(t);
}

/* The base model's name: the model folder's or file's name without extension. */
static void base_model_name(const char *path, gboolean demo, char *out, size_t size)
{
    if (demo) {
        g_strlcpy(out, "readout-demo", size);
        return;
    }
    g_autofree char *trimmed = g_strdup(path);
    for (size_t n = strlen(trimmed); n > 1 && (trimmed[n - 1] == '/' || trimmed[n - 1] == '\\'); n--)
        trimmed[n - 1] = 0;
    g_autofree char *base = g_path_get_basename(trimmed);
    const char *exts[] = {".safetensors", ".ckpt"};
    for (size_t i = 0; i < G_N_ELEMENTS(exts); i++)
        if (g_str_has_suffix(base, exts[i]) && strlen(base) > strlen(exts[i]))
            base[strlen(base) - strlen(exts[i])] = 0;
    g_strlcpy(out, base, size);
}

static void head_config_for(rg_head_trainer *t, const char *model_path, rg_head_config *hc)
{
    rg_unet *u = t->p->unet;
    const rg_head_train_config *c = &t->c;
    memset(hc, 0, sizeof *hc);
    hc->n_layers = rg_unet_n_features(u);
    for (int l = 0; l < hc->n_layers && l < RG_HEAD_MAX_LAYERS; l++)
        hc->dims[l] = rg_unet_feature_channels(u, l);
    hc->projection_dim = c->projection_dim;
    hc->emb_dim = rg_unet_get_config(u)->time_embedding_dim;
    hc->norm_groups = 32;
    hc->use_output_head = t->recipe == RECIPE_SPATIAL;
    hc->output_channels = 3;
    hc->output_act = TRUE;
    const gboolean depth = !strcmp(c->role, "depth");
    hc->control_range[0] = depth ? -1.0f : -0.5f;
    hc->control_range[1] = depth ? 1.0f : 0.5f;
    hc->sparse_loss = !strcmp(c->role, "pose") || !strcmp(c->role, "edge");
    hc->bottleneck_sequential = FALSE;
    g_strlcpy(hc->role, c->role, sizeof hc->role);
    if (c->base_model[0])
        g_strlcpy(hc->base_model, c->base_model, sizeof hc->base_model);
    else
        base_model_name(model_path, rg_vae_get_config(t->p->vae)->space_to_depth, hc->base_model,
                        sizeof hc->base_model);
}

rg_head_trainer *rg_head_trainer_new(const char *model_path, const char *data, const rg_head_train_config *c,
                                     GError **error)
{
    g_return_val_if_fail(model_path != NULL && data != NULL && c != NULL, NULL);
    if (!check_config(c, error))
        return NULL;
    g_autoptr(rg_head_trainer) t = g_new0(rg_head_trainer, 1);
    t->c = *c;
    t->recipe = head_recipe_of(c->role);
    rg_ddim_init(&t->sched);
    if (!(t->data = head_data_open(data, t->recipe, c->role, c->max_points, error)) ||
        !(t->p = rg_pipeline_new(model_path, NULL, error)))
        return NULL;
    t->res = rg_pipeline_native_size(t->p);
    t->grid = t->res / t->p->vae_factor;
    if (head_data_is_demo(t->data) && t->res != RG_SCENE_SIZE) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "train-head: demo data is %dx%d scenes, and %s works at %dx%d; "
                    "train on a folder, or give the demo model", RG_SCENE_SIZE, RG_SCENE_SIZE, model_path, t->res,
                    t->res);
        return NULL;
    }
    if (t->res % rg_pipeline_size_multiple(t->p) != 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "train-head: %s's native size %d is not a multiple of %d",
                    model_path, t->res, rg_pipeline_size_multiple(t->p));
        return NULL;
    }
    rg_head_config hc;
    head_config_for(t, model_path, &hc);
    if (!(t->head = rg_head_new_random(&hc, c->seed ^ HEAD_KEY_INIT, error)) ||
        !(t->text = encode_prompt(t->p, "", error)))
        return NULL;
    /* Without checkpointing a backward pass keeps about 3000 channels of
     * activations per layer and image at the grid's size: a third less time where
     * that fits (the demo: ~0.6 GB at batch 8), checkpointed otherwise (SD1.5:
     * ~4.5 GB at batch 8). */
    const int per = t->recipe == RECIPE_SPATIAL ? 1 : t->recipe == RECIPE_CORRESPONDENCE ? 2 : 3;
    const double keep = 3000.0 * 4 * hc.projection_dim / 384 * t->grid * t->grid * hc.n_layers * per * c->batch;
    rg_head_set_checkpointing(t->head, keep > 1.5e9);
    t->head_config_json = head_config_to_json(&hc);
    t->names = g_ptr_array_new_with_free_func(g_free);
    t->params = g_ptr_array_new();
    rg_head_parameters(t->head, t->names, t->params);
    t->n = (int)t->params->len;
    for (int i = 0; i < t->n; i++)
        rg_tensor_set_requires_grad(g_ptr_array_index(t->params, i), TRUE);
    rg_adamw_config oc;
    rg_adamw_config_init(&oc);
    oc.lr = c->lr;
    oc.weight_decay = 0; /* the official configs */
    if (!(t->opt = rg_adamw_new(&oc, t->n, (rg_tensor *const *)t->params->pdata, error)))
        return NULL;
    return g_steal_pointer(&t);
}

int64_t rg_head_trainer_get_step(const rg_head_trainer *t)
{
    return t->step;
}

rg_head *rg_head_trainer_get_head(rg_head_trainer *t)
{
    return t->head;
}

const rg_head_train_config *rg_head_trainer_get_config(const rg_head_trainer *t)
{
    return &t->c;
}

int rg_head_trainer_n_items(const rg_head_trainer *t)
{
    return head_data_n_items(t->data);
}

/* ---- batches ---------------------------------------------------------------------------- */

void head_batch_clear(head_batch *b)
{
    for (int l = 0; b->features && l < b->n_features; l++)
        if (b->features[l])
            rg_tensor_unref(b->features[l]);
    g_free(b->features);
    g_clear_pointer(&b->emb, rg_tensor_unref);
    g_clear_pointer(&b->latents, rg_tensor_unref);
    g_clear_pointer(&b->target, rg_tensor_unref);
    g_free(b->src_idx);
    g_free(b->tgt_idx);
    g_free(b->n_matches);
    memset(b, 0, sizeof *b);
}

/* (1, C, h, w) N(0, 1) from the stream (seed, @key, step, @index). */
static rg_tensor *keyed_noise(const rg_head_trainer *t, guint64 key, int64_t step, int index, const int64_t *shape,
                              GError **error)
{
    rg_tensor *x = rg_tensor_new(RG_DTYPE_F32, 4, shape, error);
    if (!x)
        return NULL;
    rg_rng r;
    rg_rng_init(&r, t->c.seed, key, (guint64)step, (guint64)index);
    float *v = rg_tensor_data_f32(x);
    for (int64_t k = 0; k < rg_tensor_numel(x); k++)
        v[k] = (float)rg_rng_normal(&r);
    return x;
}

/* The noised latent of image @i: sqrt(a) z + sqrt(1 - a) eps, z a posterior sample times the scaling factor. (1, C, g, g) */
static rg_tensor *noised_latent(rg_head_trainer *t, const rg_image *img, int64_t step, int i, int tau, GError **error)
{
    rg_ctx *ctx = t->p->ctx;
    g_autoptr(rg_tensor) x = rg_image_to_tensor(img, error); // (1, 3, res, res)
    g_autoptr(rg_tensor) mean = NULL, logvar = NULL;
    if (!x || !rg_vae_encode(t->p->vae, ctx, x, &mean, &logvar, error))
        return NULL;
    g_autoptr(rg_tensor) pn = keyed_noise(t, HEAD_KEY_POSTERIOR, step, i, rg_tensor_shape(mean), error);
    g_autoptr(rg_tensor) z = pn ? rg_vae_sample(ctx, mean, logvar, pn, error) : NULL;
    g_autoptr(rg_tensor) eps = z ? keyed_noise(t, HEAD_KEY_NOISE, step, i, rg_tensor_shape(z), error) : NULL;
    if (!eps)
        return NULL;
    const double a = rg_ddim_alpha(&t->sched, tau);
    const float k = rg_vae_get_config(t->p->vae)->scaling_factor;
    g_autoptr(rg_tensor) sz = rg_scale(ctx, z, (float)(sqrt(a) * k), 0.0f, error);
    g_autoptr(rg_tensor) se = sz ? rg_scale(ctx, eps, (float)sqrt(1.0 - a), 0.0f, error) : NULL;
    return se ? rg_add(ctx, sz, se, error) : NULL;
}

/* Fills the features and emb of @b from the items' @images (n_images of them) at save timestep b->s. */
static gboolean batch_features(rg_head_trainer *t, head_batch *b, rg_image **images, int64_t step, GError **error)
{
    rg_ctx *ctx = t->p->ctx;
    const int tau = 999 - b->s;
    /* the official: noise level tau, the UNet at tau + 1, the head told s */
    const float unet_t = (float)(t->c.corrected_timestep ? tau : tau + 1);
    const float emb_t = (float)(t->c.corrected_timestep ? tau : b->s);
    g_autoptr(GPtrArray) lat = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    g_autoptr(GPtrArray) txt = g_ptr_array_new();
    for (int i = 0; i < b->n_images; i++) {
        rg_tensor *z = noised_latent(t, images[i], step, i, tau, error);
        if (!z)
            return FALSE;
        g_ptr_array_add(lat, z);
        g_ptr_array_add(txt, t->text);
    }
    const int64_t one = 1;
    rg_tensor *x = b->latents = rg_concat(ctx, (rg_tensor *const *)lat->pdata, b->n_images, 0, error);
    g_autoptr(rg_tensor) ehs = x ? rg_concat(ctx, (rg_tensor *const *)txt->pdata, b->n_images, 0, error) : NULL;
    g_autoptr(rg_tensor) tt = ehs ? rg_tensor_new_from_data(RG_DTYPE_F32, 1, &one, &unet_t, error) : NULL;
    g_autoptr(rg_tensor) te = tt ? rg_tensor_new_from_data(RG_DTYPE_F32, 1, &one, &emb_t, error) : NULL;
    if (!te)
        return FALSE;
    g_clear_pointer(&lat, g_ptr_array_unref);
    b->n_features = rg_unet_n_features(t->p->unet);
    b->features = g_new0(rg_tensor *, b->n_features);
    return rg_unet_forward(t->p->unet, ctx, x, tt, ehs, NULL, b->features, error) &&
           (b->emb = rg_unet_time_embedding(t->p->unet, ctx, te, error)) != NULL;
}

/* (B, 3, g, g): pixels (f i, f j) of the target maps mapped from 0..255 to the control range. */
static rg_tensor *batch_target(rg_head_trainer *t, head_item *items, int B, GError **error)
{
    const int g = t->grid, f = t->res / t->grid;
    const int64_t shape[4] = {B, 3, g, g};
    rg_tensor *x = rg_tensor_new(RG_DTYPE_F32, 4, shape, error);
    if (!x)
        return NULL;
    const float *cr = rg_head_get_config(t->head)->control_range;
    float *v = rg_tensor_data_f32(x);
    for (int b = 0; b < B; b++) {
        const rg_image *m = items[b].target;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < g; y++)
                for (int k = 0; k < g; k++) // [0, 1] -> control range, as the official dataset
                    v[((int64_t)(b * 3 + c) * g + y) * g + k] =
                        m->data[((size_t)(f * y) * m->width + (size_t)(f * k)) * 3 + c] / 255.0f * (cr[1] - cr[0]) +
                        cr[0];
    }
    return x;
}

gboolean head_train_make_batch(rg_head_trainer *t, int64_t step, head_batch *b, GError **error)
{
    memset(b, 0, sizeof *b);
    const int B = t->c.batch;
    const int per = t->recipe == RECIPE_SPATIAL ? 1 : t->recipe == RECIPE_CORRESPONDENCE ? 2 : 3;
    b->batch = B;
    b->n_images = B * per;
    rg_rng r;
    rg_rng_init(&r, t->c.seed, HEAD_KEY_TIMESTEP, (guint64)step, 0);
    b->s = 1 + (int)(rg_rng_uniform(&r) * 999); /* np.random.choice(range(1, 1000)) */
    head_item *items = g_new0(head_item, B);
    rg_image **images = g_new0(rg_image *, b->n_images);
    gboolean ok = TRUE;
    for (int i = 0; ok && i < B; i++) {
        ok = head_data_item(t->data, t->c.seed, step, B, i, t->res, &items[i], error);
        for (int k = 0; ok && k < per; k++)
            images[k * B + i] = items[i].images[k]; /* [all sources; all targets; ...] */
    }
    if (ok && t->recipe == RECIPE_SPATIAL)
        ok = (b->target = batch_target(t, items, B, error)) != NULL;
    if (ok && t->recipe == RECIPE_CORRESPONDENCE) {
        int total = 0;
        for (int i = 0; i < B; i++)
            total += items[i].n_points;
        b->src_idx = g_new(int64_t, MAX(total, 1));
        b->tgt_idx = g_new(int64_t, MAX(total, 1));
        b->n_matches = g_new(int, B);
        int k = 0;
        for (int i = 0; i < B; i++) {
            const float *p = items[i].points;
            for (int j = 0; j < items[i].n_points; j++, k++) {
                b->src_idx[k] = rg_head_point_index(p[4 * j], p[4 * j + 1], t->res, t->grid, t->grid);
                b->tgt_idx[k] = rg_head_point_index(p[4 * j + 2], p[4 * j + 3], t->res, t->grid, t->grid);
            }
            b->n_matches[i] = items[i].n_points;
        }
    }
    if (ok)
        ok = batch_features(t, b, images, step, error);
    for (int i = 0; i < B; i++)
        head_item_clear(&items[i]);
    g_free(items);
    g_free(images);
    if (!ok)
        head_batch_clear(b);
    return ok;
}

/* ---- loss and steps ------------------------------------------------------------------------ */

/* Replaces *@t by @next (which may be NULL after an error); returns @next. */
static rg_tensor *then(rg_tensor **t, rg_tensor *next)
{
    rg_tensor_unref(*t);
    *t = next;
    return next;
}

/* The recipe's loss of the readouts @out (n_images, C, g, g); NULL with no error when no pair has matches. */
static rg_tensor *recipe_loss(rg_head_trainer *t, head_batch *b, rg_tensor *out, GError **error)
{
    rg_ctx *ctx = t->p->ctx;
    const int B = b->batch;
    const rg_head_config *hc = rg_head_get_config(t->head);
    if (t->recipe == RECIPE_SPATIAL)
        return rg_head_loss_spatial(ctx, out, b->target, hc->sparse_loss, hc->control_range[0], error);
    if (t->recipe == RECIPE_APPEARANCE) {
        g_autoptr(rg_tensor) a = rg_slice(ctx, out, 0, 0, B, error);
        g_autoptr(rg_tensor) p = a ? rg_slice(ctx, out, 0, B, B, error) : NULL;
        g_autoptr(rg_tensor) n = p ? rg_slice(ctx, out, 0, 2 * B, B, error) : NULL;
        return n ? rg_head_loss_triplet(ctx, a, p, n, t->c.margin, error) : NULL;
    }
    /* correspondence: the mean over the pairs that have matches */
    g_autoptr(rg_tensor) sum = NULL;
    int used = 0, offset = 0;
    for (int i = 0; i < B; offset += b->n_matches[i], i++) {
        if (b->n_matches[i] == 0)
            continue;
        g_autoptr(rg_tensor) s = rg_slice(ctx, out, 0, i, 1, error);
        g_autoptr(rg_tensor) d = s ? rg_slice(ctx, out, 0, B + i, 1, error) : NULL;
        g_autoptr(rg_tensor) l = d ? rg_head_loss_infonce(ctx, s, d, b->src_idx + offset, b->tgt_idx + offset,
                                                          b->n_matches[i], t->c.temperature, error) : NULL;
        if (!l)
            return NULL;
        if (!sum)
            sum = g_steal_pointer(&l);
        else if (!then(&sum, rg_add(ctx, sum, l, error)))
            return NULL;
        used++;
    }
    return sum ? rg_scale(ctx, sum, 1.0f / (float)used, 0.0f, error) : NULL;
}

gboolean head_train_batch_loss(rg_head_trainer *t, head_batch *b, gboolean backward, double *loss, GError **error)
{
    rg_ctx *ctx = t->p->ctx;
    g_autoptr(rg_tape) tape = backward ? rg_tape_new() : NULL;
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) out = rg_head_forward(t->head, ctx, b->features, b->emb, t->grid, t->grid, error);
    GError *e = NULL;
    g_autoptr(rg_tensor) l = out ? recipe_loss(t, b, out, &e) : NULL;
    rg_ctx_set_tape(ctx, NULL);
    if (!out)
        return FALSE;
    if (e) {
        g_propagate_error(error, e);
        return FALSE;
    }
    g_clear_pointer(&out, rg_tensor_unref);
    if (loss)
        *loss = l ? rg_tensor_get_flat(l, 0) : 0.0;
    return !backward || !l || rg_tape_backward(ctx, tape, l, error);
}

static void zero_grads(rg_head_trainer *t)
{
    for (int i = 0; i < t->n; i++)
        rg_tensor_zero_grad(g_ptr_array_index(t->params, i));
}

gboolean head_train_step_on(rg_head_trainer *t, head_batch *b, double *loss, GError **error)
{
    double l = 0;
    zero_grads(t);
    gboolean ok = head_train_batch_loss(t, b, TRUE, &l, error);
    if (ok && !isfinite(l)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FAILED, "train-head: the loss of step %" G_GINT64_FORMAT " is %g; lower "
                    "the learning rate", t->step, l);
        ok = FALSE;
    }
    /* a batch without matches leaves no gradients: AdamW skips every parameter */
    ok = ok && rg_adamw_step(t->opt, -1.0f, error);
    zero_grads(t);
    if (!ok)
        return FALSE;
    if (loss)
        *loss = l;
    t->step++;
    return TRUE;
}

gboolean rg_head_trainer_step(rg_head_trainer *t, double *loss, GError **error)
{
    g_return_val_if_fail(t != NULL, FALSE);
    head_batch b;
    if (!head_train_make_batch(t, t->step, &b, error))
        return FALSE;
    gboolean ok = head_train_step_on(t, &b, loss, error);
    head_batch_clear(&b);
    return ok;
}
