/* test_train_diffusion.c — the diffusion trainer (core/train/diffusion.c) on
 * a tiny UNet in a fresh demo model folder:
 *   - the model folder: every component loads, the text encoder's init;
 *   - batches: deterministic per (seed, step), x_t from the DDIM schedule's
 *     alphas, captions dropped, min-SNR weights;
 *   - training on one fixed batch brings its loss down;
 *   - N steps straight and N/2 + save + load + N/2 give the same bits
 *     (weights, EMA, moments);
 *   - checkpoints of another config or other files are refused and change
 *     nothing; the exported EMA UNet loads as a UNet;
 *   - the SD-shaped tiny model (a learned VAE) trains too;
 *   - settings and models the trainer cannot use are refused.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "readout/diffusion.h"
#include "readout/tokenizer.h"
#include "rg_test.h"
#include "train/train_internal.h"

static void tiny_config(rg_unet_config *c, int top)
{
    rg_demo_unet_config_init(c);
    const int ch[3] = {8, 16, top};
    for (int i = 0; i < 3; i++) {
        c->block_out_channels[i] = ch[i];
        c->attention_heads[i] = 2;
    }
    c->norm_num_groups = 4;
    c->time_embedding_dim = 32;
}

static char *make_model(const char *root, const char *name, int top, guint64 seed)
{
    GError *error = NULL;
    rg_unet_config c;
    tiny_config(&c, top);
    char *dir = g_build_filename(root, name, NULL);
    g_assert_true(rg_demo_model_create(dir, &c, seed, &error));
    rg_assert_no_error(error);
    return dir;
}

static void small_settings(rg_diffusion_train_config *c)
{
    rg_diffusion_train_config_init(c);
    c->seed = 42;
    c->batch = 3;
    c->warmup_steps = 2;
}

/* Whether every parameter, EMA shadow and moment of @a and @b are the same bits. */
static gboolean same_state(rg_diffusion_trainer *a, rg_diffusion_trainer *b, const char *label)
{
    g_autoptr(GPtrArray) na = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) pa = g_ptr_array_new();
    g_autoptr(GPtrArray) nb = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) pb = g_ptr_array_new();
    rg_unet_parameters(rg_diffusion_trainer_get_unet(a), na, pa);
    rg_unet_parameters(rg_diffusion_trainer_get_unet(b), nb, pb);
    int differ = 0;
    for (guint i = 0; i < pa->len; i++) {
        rg_tensor *x = g_ptr_array_index(pa, i), *y = g_ptr_array_index(pb, i);
        differ += memcmp(rg_tensor_data_f32(x), rg_tensor_data_f32(y), sizeof(float) * (size_t)rg_tensor_numel(x)) != 0;
    }
    gboolean ok = differ == 0 && rg_diffusion_trainer_get_step(a) == rg_diffusion_trainer_get_step(b);
    g_print("%s %s: %u weights, %d differ; steps %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT "\n", ok ? "OK" : "NOT OK",
            label, pa->len, differ, rg_diffusion_trainer_get_step(a), rg_diffusion_trainer_get_step(b));
    return ok;
}

/* The checkpoints' tensors (EMA and moments included) compared bit for bit. */
static gboolean same_checkpoints(const char *pa, const char *pb, const char *label)
{
    GError *error = NULL;
    g_autoptr(rg_safetensors) a = rg_safetensors_open(pa, &error);
    g_autoptr(rg_safetensors) b = rg_safetensors_open(pb, &error);
    rg_assert_no_error(error);
    int differ = 0, n = rg_safetensors_count(a);
    gboolean ok = n == rg_safetensors_count(b);
    for (int i = 0; ok && i < n; i++) {
        const char *name = rg_safetensors_name(a, i);
        g_autoptr(rg_tensor) x = rg_safetensors_load(a, name, &error);
        g_autoptr(rg_tensor) y = rg_safetensors_load(b, name, &error);
        rg_assert_no_error(error);
        size_t bytes = (size_t)rg_tensor_numel(x) * rg_dtype_size(rg_tensor_dtype(x));
        const void *dx = rg_tensor_dtype(x) == RG_DTYPE_I64 ? (void *)rg_tensor_data_i64(x) : rg_tensor_data_f32(x);
        const void *dy = rg_tensor_dtype(y) == RG_DTYPE_I64 ? (void *)rg_tensor_data_i64(y) : rg_tensor_data_f32(y);
        if (rg_tensor_numel(x) != rg_tensor_numel(y) || memcmp(dx, dy, bytes) != 0) {
            if (differ < 3)
                g_printerr("  %s differs\n", name);
            differ++;
        }
    }
    ok &= differ == 0;
    g_print("%s %s: %d tensors, %d differ\n", ok ? "OK" : "NOT OK", label, n, differ);
    return ok;
}

static gboolean test_model_folder(const char *dir)
{
    GError *error = NULL;
    gboolean ok = TRUE;
    const char *files[] = {"model_index.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
                           "text_encoder/config.json", "text_encoder/model.safetensors", "vae/config.json",
                           "unet/config.json", "unet/diffusion_pytorch_model.safetensors"};
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *p = g_build_filename(dir, files[i], NULL);
        if (!g_file_test(p, G_FILE_TEST_IS_REGULAR)) {
            g_printerr("NOT OK model folder lacks %s\n", files[i]);
            ok = FALSE;
        }
    }
    /* the text encoder: the demo config, transformers' init (embeddings N(0, 0.02), LayerNorms 1) */
    g_autofree char *tc_path = g_build_filename(dir, "text_encoder", "config.json", NULL);
    g_autofree char *tw_path = g_build_filename(dir, "text_encoder", "model.safetensors", NULL);
    g_autofree char *tok_dir = g_build_filename(dir, "tokenizer", NULL);
    rg_clip_text_config tc;
    g_assert_true(rg_clip_text_config_load(&tc, tc_path, &error));
    g_autoptr(rg_tokenizer) tok = rg_tokenizer_new_from_dir(tok_dir, &error);
    rg_assert_no_error(error);
    ok &= tc.hidden_size == 64 && tc.num_layers == 2 && tc.num_heads == 4 && tc.intermediate_size == 128 &&
          tc.max_positions == 77 && tc.vocab_size == rg_tokenizer_vocab_size(tok);
    g_autoptr(rg_safetensors) st = rg_safetensors_open(tw_path, &error);
    rg_assert_no_error(error);
    g_autoptr(rg_tensor) emb = rg_safetensors_load(st, "text_model.embeddings.token_embedding.weight", &error);
    g_autoptr(rg_tensor) ln = rg_safetensors_load(st, "text_model.final_layer_norm.weight", &error);
    rg_assert_no_error(error);
    double s2 = 0;
    for (int64_t k = 0; k < rg_tensor_numel(emb); k++)
        s2 += rg_tensor_get_flat(emb, k) * rg_tensor_get_flat(emb, k);
    const double std = sqrt(s2 / (double)rg_tensor_numel(emb));
    ok &= fabs(std - 0.02) < 0.002 && rg_tensor_get_flat(ln, 0) == 1.0;
    g_print("%s demo text encoder: config, vocab %d, token embedding std %.4f, LayerNorm 1\n", ok ? "OK" : "NOT OK",
            tc.vocab_size, std);
    return ok;
}

static gboolean test_batches(const char *dir)
{
    GError *error = NULL;
    gboolean ok = TRUE;
    rg_diffusion_train_config c;
    small_settings(&c);
    c.batch = 8;
    c.min_snr_gamma = 5;
    g_autoptr(rg_diffusion_trainer) t = rg_diffusion_trainer_new(dir, &c, &error);
    rg_assert_no_error(error);
    train_batch a, b, d;
    g_assert_true(train_make_batch(t, 3, &a, &error) && train_make_batch(t, 3, &b, &error) &&
                  train_make_batch(t, 4, &d, &error));
    rg_assert_no_error(error);
    ok &= rg_check_tensor("batch x0 of the same step", a.x0, b.x0, 0, 0) &&
          rg_check_tensor("batch noise of the same step", a.noise, b.noise, 0, 0) &&
          rg_check_tensor("batch t of the same step", a.t, b.t, 0, 0) &&
          rg_check_tensor("batch text of the same step", a.text, b.text, 0, 0);
    const int64_t *s = rg_tensor_shape(a.x0);
    ok &= rg_tensor_ndim(a.x0) == 4 && s[0] == 8 && s[1] == 12 && s[2] == 32 && s[3] == 32;
    ok &= rg_tensor_shape(a.text)[1] == 77 && rg_tensor_shape(a.text)[2] == 64;
    /* x0 is the scenes' pixels rearranged (the exact space-to-depth): every value is 2 v / 255 - 1 */
    double diff = 0, lo = 1, hi = -1, off_grid = 0;
    for (int64_t k = 0; k < rg_tensor_numel(a.x0); k++) {
        const double v = rg_tensor_get_flat(a.x0, k), level = (v + 1) * 255 / 2;
        diff += fabs(v - rg_tensor_get_flat(d.x0, k));
        lo = MIN(lo, v);
        hi = MAX(hi, v);
        off_grid = MAX(off_grid, fabs(level - round(level)));
    }
    ok &= diff > 0 && lo >= -1 && hi <= 1 && hi - lo > 0.5 && off_grid < 1e-4;
    g_print("%s batches: the same per (seed, step), another step differs, x0 in [%.3f, %.3f] on the 8-bit grid "
            "(off by %.2g)\n", ok ? "OK" : "NOT OK", lo, hi, off_grid);
    /* x_t = sqrt(a_t) x0 + sqrt(1 - a_t) eps with the DDIM schedule's alphas; min-SNR weights */
    rg_ddim sched;
    rg_ddim_init(&sched);
    const int64_t per = 12 * 32 * 32;
    double worst = 0, wworst = 0;
    gboolean t_ok = TRUE;
    for (int i = 0; i < 8; i++) {
        const double tv = rg_tensor_get_flat(a.t, i), al = rg_ddim_alpha(&sched, (int)tv);
        t_ok &= tv == floor(tv) && tv >= 0 && tv <= 999;
        for (int64_t k = i * per; k < (i + 1) * per; k += 97) {
            const double want = sqrt(al) * rg_tensor_get_flat(a.x0, k) + sqrt(1 - al) * rg_tensor_get_flat(a.noise, k);
            worst = MAX(worst, fabs(want - rg_tensor_get_flat(a.xt, k)));
        }
        const double snr = al / (1 - al);
        wworst = MAX(wworst, fabs(rg_tensor_get_flat(a.weight, i) - MIN(snr, 5.0) / snr));
    }
    rg_ddim_clear(&sched);
    ok &= t_ok && worst < 1e-6 && wworst < 1e-6;
    g_print("%s x_t from alphas_cumprod (max err %.2g), t integers in 0..999, min-SNR-5 weights (max err %.2g)\n",
            t_ok && worst < 1e-6 && wworst < 1e-6 ? "OK" : "NOT OK", worst, wworst);
    /* captions dropped now and then (10%), never all */
    int empty = 0, total = 0;
    for (int step = 0; step < 8; step++) {
        train_batch e;
        g_assert_true(train_make_batch(t, step, &e, &error));
        for (int i = 0; i < 8; i++, total++)
            empty += e.captions[i][0] == '\0';
        train_batch_clear(&e);
    }
    ok &= empty >= 1 && empty <= 20;
    g_print("%s captions: %d of %d empty (caption_dropout 0.1); e.g. \"%s\"\n", empty >= 1 && empty <= 20 ? "OK" : "NOT OK",
            empty, total, a.captions[0]);
    train_batch_clear(&a);
    train_batch_clear(&b);
    train_batch_clear(&d);
    return ok;
}

/* Many steps on one batch: its loss goes down. */
static gboolean test_fixed_batch(const char *dir)
{
    GError *error = NULL;
    rg_diffusion_train_config c;
    small_settings(&c);
    c.batch = 1;
    c.lr = 5e-3f;
    c.warmup_steps = 0;
    g_autoptr(rg_diffusion_trainer) t = rg_diffusion_trainer_new(dir, &c, &error);
    rg_assert_no_error(error);
    train_batch b;
    g_assert_true(train_make_batch(t, 0, &b, &error));
    double first = 0, last = 0, loss = 0;
    g_assert_true(train_batch_loss(t, &b, FALSE, &first, &error));
    for (int s = 0; s < 20; s++)
        g_assert_true(train_step_on(t, &b, &loss, &error));
    g_assert_true(train_batch_loss(t, &b, FALSE, &last, &error));
    rg_assert_no_error(error);
    train_batch_clear(&b);
    const gboolean ok = last < 0.6 * first;
    g_print("%s loss on a fixed batch: %.4f -> %.4f after 20 steps\n", ok ? "OK" : "NOT OK", first, last);
    return ok;
}

static gboolean test_resume(const char *root, const char *dir, const char *other_dir)
{
    GError *error = NULL;
    gboolean ok = TRUE;
    rg_diffusion_train_config c;
    small_settings(&c);
    g_autofree char *ck_half = g_build_filename(root, "half.safetensors", NULL);
    g_autofree char *ck_a = g_build_filename(root, "a.safetensors", NULL);
    g_autofree char *ck_c = g_build_filename(root, "c.safetensors", NULL);
    g_autoptr(rg_diffusion_trainer) a = rg_diffusion_trainer_new(dir, &c, &error);
    rg_assert_no_error(error);
    double loss = 0;
    for (int s = 0; s < 4; s++)
        g_assert_true(rg_diffusion_trainer_step(a, &loss, &error));
    {
        g_autoptr(rg_diffusion_trainer) b = rg_diffusion_trainer_new(dir, &c, &error);
        for (int s = 0; s < 2; s++)
            g_assert_true(rg_diffusion_trainer_step(b, &loss, &error));
        g_assert_true(rg_diffusion_trainer_save(b, ck_half, "{\"note\": \"half\"}", &error));
        rg_assert_no_error(error);
    }
    g_autoptr(rg_diffusion_trainer) r = rg_diffusion_trainer_new(dir, &c, &error);
    g_autofree char *run = NULL;
    g_assert_true(rg_diffusion_trainer_load(r, ck_half, &run, &error));
    rg_assert_no_error(error);
    ok &= run && strstr(run, "half") && rg_diffusion_trainer_get_step(r) == 2;
    for (int s = 0; s < 2; s++)
        g_assert_true(rg_diffusion_trainer_step(r, &loss, &error));
    ok &= same_state(a, r, "4 steps straight vs 2 + save + load + 2");
    g_assert_true(rg_diffusion_trainer_save(a, ck_a, NULL, &error) && rg_diffusion_trainer_save(r, ck_c, NULL, &error));
    ok &= same_checkpoints(ck_a, ck_c, "their checkpoints (weights, EMA, AdamW moments, steps)");

    /* the EMA is not the weights, and the eval with it differs */
    double l_w = 0, l_e = 0;
    g_assert_true(rg_diffusion_trainer_eval(a, 100, FALSE, &l_w, &error) &&
                  rg_diffusion_trainer_eval(a, 100, TRUE, &l_e, &error));
    double l_w2 = 0;
    g_assert_true(rg_diffusion_trainer_eval(a, 100, FALSE, &l_w2, &error));
    ok &= l_w != l_e && l_w == l_w2;
    g_print("%s eval: weights %.5f, EMA %.5f, weights again %.5f (restored)\n", l_w != l_e && l_w == l_w2 ? "OK" : "NOT OK",
            l_w, l_e, l_w2);

    /* the exported EMA UNet loads as a UNet */
    g_autofree char *exp_path = g_build_filename(root, "ema_unet.safetensors", NULL);
    g_assert_true(rg_diffusion_trainer_export(a, exp_path, TRUE, &error));
    g_autoptr(rg_weights) w = rg_weights_open_safetensors(exp_path, "", &error);
    rg_assert_no_error(error);
    g_autoptr(rg_unet) u = rg_unet_new(rg_unet_get_config(rg_diffusion_trainer_get_unet(a)), w, &error);
    rg_assert_no_error(error);
    ok &= u != NULL;

    /* another config, other files: refused, nothing changes */
    rg_diffusion_train_config c2 = c;
    g_autoptr(rg_diffusion_trainer) o = rg_diffusion_trainer_new(other_dir, &c2, &error);
    rg_assert_no_error(error);
    RG_EXPECT_ERROR(ok, "checkpoint of another config",
                    GINT_TO_POINTER(rg_diffusion_trainer_load(o, ck_a, NULL, &err_)), RG_ERROR_ARGUMENT,
                    "another UNet config: block_out_channels is [8,16,16] there and [8,16,24] in this run");
    RG_EXPECT_ERROR(ok, "a UNet file as checkpoint", GINT_TO_POINTER(rg_diffusion_trainer_load(a, exp_path, NULL, &err_)),
                    RG_ERROR_FORMAT, "not a train-diffusion checkpoint");
    g_autofree char *missing = g_build_filename(root, "none.safetensors", NULL);
    RG_EXPECT_ERROR(ok, "no checkpoint file", GINT_TO_POINTER(rg_diffusion_trainer_load(a, missing, NULL, &err_)),
                    RG_ERROR_IO, "none.safetensors");
    g_autofree char *ck_after = g_build_filename(root, "after.safetensors", NULL);
    g_assert_true(rg_diffusion_trainer_save(a, ck_after, NULL, &error));
    ok &= same_checkpoints(ck_a, ck_after, "state after refused loads");
    return ok;
}

static gboolean test_refusals(const char *dir, const char *four_channels)
{
    gboolean ok = TRUE;
    rg_diffusion_train_config c;
    small_settings(&c);
    c.batch = 0;
    RG_EXPECT_ERROR_FULL(ok, "batch 0", rg_diffusion_trainer_new(dir, &c, &err_), RG_ERROR_ARGUMENT, "train-diffusion",
                         "batch");
    small_settings(&c);
    c.caption_dropout = 1.5f;
    RG_EXPECT_ERROR_FULL(ok, "caption dropout 1.5", rg_diffusion_trainer_new(dir, &c, &err_), RG_ERROR_ARGUMENT,
                         "train-diffusion", "caption_dropout");
    small_settings(&c);
    RG_EXPECT_ERROR_FULL(ok, "a 4-channel UNet over the 12-channel space-to-depth",
                         rg_diffusion_trainer_new(four_channels, &c, &err_), RG_ERROR_ARGUMENT, "train-diffusion",
                         "does not fit the demo world (12 -> 12 channels");
    RG_EXPECT_ERROR(ok, "no model", rg_diffusion_trainer_new("/no/such/model", &c, &err_), RG_ERROR_IO, "/no/such/model");
    return ok;
}

/* Any model whose VAE, UNet and text encoder fit trains: the SD-shaped tiny
 * model (a learned AutoencoderKL, 4 latent channels) takes a step. */
static gboolean test_sd_shaped(void)
{
    GError *error = NULL;
    rg_diffusion_train_config c;
    small_settings(&c);
    c.batch = 1;
    g_autoptr(rg_diffusion_trainer) t = rg_diffusion_trainer_new(RG_TINY_MODEL, &c, &error);
    rg_assert_no_error(error);
    double loss = 0;
    const gboolean ok = rg_diffusion_trainer_step(t, &loss, &error) && isfinite(loss) && loss > 0;
    rg_assert_no_error(error);
    g_print("%s a step of the SD-shaped tiny model (AutoencoderKL latents): loss %.4f\n", ok ? "OK" : "NOT OK", loss);
    return ok;
}

int main(void)
{
    GError *error = NULL;
    g_autofree char *root = g_dir_make_tmp("rg-train-XXXXXX", &error);
    rg_assert_no_error(error);
    g_autofree char *dir = make_model(root, "model", 16, 1);
    g_autofree char *other = make_model(root, "other", 24, 1);
    gboolean ok = TRUE;
    ok &= test_model_folder(dir);
    ok &= test_batches(dir);
    ok &= test_fixed_batch(dir);
    ok &= test_resume(root, dir, other);
    ok &= test_sd_shaped();
    rg_unet_config c4;
    rg_demo_unet_config_init(&c4);
    c4.in_channels = c4.out_channels = 4;
    g_autofree char *four = g_build_filename(root, "four", NULL);
    g_assert_true(rg_demo_model_create(four, &c4, 1, &error));
    ok &= test_refusals(dir, four);
    ok &= rg_test_failures == 0;
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", root);
    if (ok && system(cmd) != 0)
        g_printerr("could not remove %s\n", root);
    g_print("%s\n", ok ? "ALL OK" : "FAILURES");
    return ok ? 0 : 1;
}
