/* test_loader.c — rg_model on tiny fake checkpoints written in a temporary
 * folder: a single LDM file (names mapped, EMA and buffers ignored with one
 * note, the VAE's 1x1-conv attention read as linear, F16 data), a diffusers
 * folder (configs, tokenizer, legacy VAE names, fp16 variant, shards, a
 * UNet-only folder), a standalone VAE file; errors naming file, tensor and
 * shapes; paths that are no model; SDXL, SD 2.x and inpainting refused; and
 * `readout inspect` (core/cli/inspect.c). */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "readout/model.h"

int rg_cli_inspect(int argc, char **argv);

static char *dir;
static gboolean all_ok = TRUE;

static void report(gboolean ok, const char *what, const char *detail)
{
    g_print("%s %s%s%s\n", ok ? "OK" : "NOT OK", what, detail ? ": " : "", detail ? detail : "");
    all_ok &= ok;
}

/* The call failed with @code and its message holds each needle. */
static void expect_error(const char *what, gpointer result, GError *error, int code, const char *const *needles)
{
    gboolean ok = result == NULL && error && error->domain == RG_ERROR && error->code == code;
    for (int i = 0; ok && needles[i]; i++)
        ok = strstr(error->message, needles[i]) != NULL;
    report(ok, what, error ? error->message : "(no error)");
    g_clear_error(&error);
}
#define EXPECT_ERROR(what, call, code, ...)                                              \
    do {                                                                                 \
        GError *e_ = NULL;                                                               \
        gpointer r_ = (gpointer)(call);                                                  \
        const char *needles_[] = { __VA_ARGS__, NULL };                                  \
        expect_error((what), r_, e_, (code), needles_);                                  \
        g_assert_null(r_); /* every call here returns NULL on failure; nothing to free */ \
    } while (0)

/* The names of @w, sorted, joined by ' '. (transfer full) */
static char *names_of(rg_weights *w)
{
    g_autoptr(GPtrArray) names = rg_weights_names(w);
    g_ptr_array_add(names, NULL);
    return g_strjoinv(" ", (char **)names->pdata);
}

/* ---- (b) a single LDM file ------------------------------------------------ */

static void single_file(void)
{
    g_autofree char *path = fx_path(dir, "sd15-tiny.safetensors", NULL);
    const char *conv_in = "down_blocks.0.resnets.0.norm1.weight";
    const fx_tensor ts[] = {
        { "model.diffusion_model.input_blocks.0.0.weight", "F32", 4, { 320, 4, 3, 3 }, "conv_in.weight" },
        { "model.diffusion_model.input_blocks.1.0.in_layers.0.weight", "F32", 1, { 320 }, conv_in },
        { "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", "F16", 2, { 320, 768 },
          "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight" },
        { "model.diffusion_model.output_blocks.2.1.conv.weight", "F32", 4, { 2, 2, 3, 3 },
          "up_blocks.0.upsamplers.0.conv.weight" },
        { "model.diffusion_model.middle_block.1.proj_in.weight", "F32", 4, { 4, 4, 1, 1 },
          "mid_block.attentions.0.proj_in.weight" },
        { "first_stage_model.decoder.mid.attn_1.q.weight", "F32", 4, { 4, 4, 1, 1 },
          "decoder.mid_block.attentions.0.to_q.weight" },
        { "first_stage_model.decoder.mid.attn_1.q.bias", "F32", 1, { 4 }, "decoder.mid_block.attentions.0.to_q.bias" },
        { "first_stage_model.decoder.up.3.block.0.nin_shortcut.weight", "F32", 4, { 3, 2, 1, 1 },
          "decoder.up_blocks.0.resnets.0.conv_shortcut.weight" },
        { "cond_stage_model.transformer.text_model.final_layer_norm.weight", "BF16", 1, { 768 },
          "text_model.final_layer_norm.weight" },
        { "cond_stage_model.transformer.encoder.layers.0.mlp.fc1.bias", "F32", 1, { 6 }, /* old spelling */
          "text_model.encoder.layers.0.mlp.fc1.bias" },
        { "cond_stage_model.transformer.text_model.embeddings.position_ids", "I64", 2, { 1, 77 }, NULL },
        { "model_ema.diffusion_modelinput_blocks00weight", "F32", 1, { 3 }, NULL },
        { "model_ema.decay", "F32", 0, { 0 }, NULL },
        { "model_ema.num_updates", "I64", 0, { 0 }, NULL },
        { "betas", "F32", 1, { 4 }, NULL },
        { "alphas_cumprod", "F32", 1, { 4 }, NULL },
    };
    fx_write(path, G_N_ELEMENTS(ts), ts);
    GError *e = NULL;
    g_autoptr(rg_model) m = rg_model_open(path, &e);
    rg_assert_no_error(e);
    report(!strcmp(rg_model_layout_name(m), "single file") && !strcmp(rg_model_type_name(m), "Stable Diffusion 1.x") &&
               rg_model_check(m, NULL),
           "single file: layout and type", rg_model_type_name(m));
    g_autofree char *cfg = rg_model_config_path(m, "unet");
    g_autofree char *tok = rg_model_tokenizer_dir(m);
    report(rg_model_has_component(m, "unet") && rg_model_has_component(m, "vae") &&
               rg_model_has_component(m, "text_encoder") && !rg_model_has_component(m, "tokenizer") &&
               !rg_model_has_component(m, "nope") && !cfg && !tok,
           "single file: components; no config.json, no tokenizer", NULL);

    fx_capture_start();
    g_autoptr(rg_weights) unet = rg_model_weights(m, "unet", &e);
    g_autoptr(rg_weights) vae = rg_model_weights(m, "vae", &e);
    g_autoptr(rg_weights) text = rg_model_weights(m, "text_encoder", &e);
    rg_assert_no_error(e);
    int n_notes;
    g_autofree char *notes = fx_capture_stop(&n_notes);
    report(n_notes == 1 && strstr(notes, "ignoring 3 EMA copies (model_ema.*) and 3 other tensors Readout does not use") &&
               strstr(notes, path),
           "EMA copies and buffers ignored with one note", notes);

    g_autofree char *un = names_of(unet), *vn = names_of(vae), *tn = names_of(text);
    report(!strcmp(un, "conv_in.weight down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight "
                       "down_blocks.0.resnets.0.norm1.weight mid_block.attentions.0.proj_in.weight "
                       "up_blocks.0.upsamplers.0.conv.weight"),
           "UNet names mapped to diffusers", un);
    report(!strcmp(vn, "decoder.mid_block.attentions.0.to_q.bias decoder.mid_block.attentions.0.to_q.weight "
                       "decoder.up_blocks.0.resnets.0.conv_shortcut.weight"),
           "VAE names mapped to diffusers", vn);
    report(!strcmp(tn, "text_model.encoder.layers.0.mlp.fc1.bias text_model.final_layer_norm.weight"),
           "CLIP names (with and without text_model.), position_ids dropped", tn);

    /* values, conv 1x1 -> linear, F16 and BF16 data */
    int64_t s_in[4] = { 320, 4, 3, 3 }, s_k[2] = { 320, 768 }, s_q[2] = { 4, 4 }, s_q4[4] = { 4, 4, 1, 1 };
    int64_t s_p[4] = { 4, 4, 1, 1 }, s_ln = 768;
    g_autoptr(rg_tensor) t_in = rg_weights_load(unet, "conv_in.weight", 4, s_in, &e);
    g_autoptr(rg_tensor) t_k = rg_weights_load(unet, "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
                                               2, s_k, &e);
    g_autoptr(rg_tensor) t_p = rg_weights_load(unet, "mid_block.attentions.0.proj_in.weight", 4, s_p, &e);
    g_autoptr(rg_tensor) t_q = rg_weights_load(vae, "decoder.mid_block.attentions.0.to_q.weight", 2, s_q, &e);
    g_autoptr(rg_tensor) t_ln = rg_weights_load(text, "text_model.final_layer_norm.weight", 1, &s_ln, &e);
    rg_assert_no_error(e);
    report(fx_check(t_in, "conv_in.weight", 4, s_in) &&
               fx_check(t_k, "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight", 2, s_k) &&
               fx_check(t_p, "mid_block.attentions.0.proj_in.weight", 4, s_p) &&
               fx_check(t_ln, "text_model.final_layer_norm.weight", 1, &s_ln),
           "values load as stored (F32, F16, BF16); UNet proj_in stays a (C,C,1,1) conv", NULL);
    report(fx_check(t_q, "decoder.mid_block.attentions.0.to_q.weight", 2, s_q),
           "VAE attention q: LDM (4,4,1,1) loads as diffusers (4,4) with the same values", NULL);
    EXPECT_ERROR("VAE q asked as a conv", rg_weights_load(vae, "decoder.mid_block.attentions.0.to_q.weight", 4, s_q4, &e_),
                 RG_ERROR_FORMAT, "first_stage_model.decoder.mid.attn_1.q.weight", "stored as (4,4,1,1)");

    /* errors name file, tensor (LDM and diffusers), expected and found shapes */
    int64_t s_c1[4] = { 320, 320, 3, 3 }, s_bad = 640;
    EXPECT_ERROR("missing tensor", rg_weights_load(unet, "down_blocks.0.resnets.0.conv1.weight", 4, s_c1, &e_),
                 RG_ERROR_FORMAT, path, "missing tensor \"model.diffusion_model.input_blocks.1.0.in_layers.2.weight\"",
                 "\"down_blocks.0.resnets.0.conv1.weight\"", "expected shape (320,320,3,3)");
    EXPECT_ERROR("wrong shape", rg_weights_load(unet, conv_in, 1, &s_bad, &e_), RG_ERROR_FORMAT, path,
                 "\"model.diffusion_model.input_blocks.1.0.in_layers.0.weight\"", conv_in, "has shape (320)",
                 "expected (640)");
    EXPECT_ERROR("tokenizer has no weights", rg_model_weights(m, "tokenizer", &e_), RG_ERROR_ARGUMENT, "tokenizer");
    EXPECT_ERROR("unknown component", rg_model_weights(m, "controlnet", &e_), RG_ERROR_ARGUMENT, "controlnet");

    g_autofree char *d = rg_model_describe(m);
    report(strstr(d, "single file, original LDM names") && strstr(d, "model type:   Stable Diffusion 1.x (UNet: 4 "
                                                                 "input channels, 320 base channels, cross-attention "
                                                                 "width 768; text encoder width 768)") &&
               strstr(d, "supported:    yes") && strstr(d, "unet          5 tensors, 257,652 parameters, F32 (4) F16 (1)") &&
               strstr(d, "1 weight stored as 1x1 convolution (C,C,1,1)") && strstr(d, "ignored:       3 EMA copies (model_ema.*) and 3 other tensors"),
           "describe", d);

    /* two spellings of one CLIP tensor are an error, not a silent choice */
    g_autofree char *dup = fx_path(dir, "dup.safetensors", NULL);
    const fx_tensor dt[] = {
        { "cond_stage_model.transformer.text_model.final_layer_norm.bias", "F32", 1, { 2 }, NULL },
        { "cond_stage_model.transformer.final_layer_norm.bias", "F32", 1, { 2 }, NULL },
    };
    fx_write(dup, 2, dt);
    EXPECT_ERROR("two names for one tensor", rg_model_open(dup, &e_), RG_ERROR_FORMAT, "both give",
                 "\"text_model.final_layer_norm.bias\"");
}

/* ---- (a) diffusers folders ------------------------------------------------ */

static void diffusers_folder(void)
{
    g_autofree char *root = fx_path(dir, "sd-tiny", NULL);
    g_autofree char *unet_f = fx_path(root, "unet", "diffusion_pytorch_model.safetensors", NULL);
    g_autofree char *unet16 = fx_path(root, "unet", "diffusion_pytorch_model.fp16.safetensors", NULL);
    g_autofree char *vae_f = fx_path(root, "vae", "diffusion_pytorch_model.safetensors", NULL);
    g_autofree char *text_f = fx_path(root, "text_encoder", "model.safetensors", NULL);
    const char *to_k = "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight";
    const fx_tensor unet[] = { { "conv_in.weight", "F32", 4, { 8, 4, 3, 3 }, NULL }, { to_k, "F32", 2, { 8, 16 }, NULL } };
    const fx_tensor unet_fp16[] = { { "conv_in.weight", "F16", 4, { 8, 4, 3, 3 }, "wrong values" } };
    const fx_tensor vae[] = { /* written by an older diffusers: query/key/value/proj_attn */
        { "decoder.mid_block.attentions.0.query.weight", "F32", 2, { 4, 4 }, "q" },
        { "encoder.mid_block.attentions.0.key.weight", "F32", 4, { 4, 4, 1, 1 }, "k" },
        { "encoder.mid_block.attentions.0.proj_attn.bias", "F32", 1, { 4 }, "o" },
        { "decoder.conv_in.weight", "F32", 4, { 4, 4, 3, 3 }, NULL },
    };
    const fx_tensor text[] = {
        { "text_model.final_layer_norm.weight", "F32", 1, { 16 }, NULL },
        { "text_model.embeddings.position_ids", "I64", 2, { 1, 77 }, NULL },
    };
    fx_write(unet_f, G_N_ELEMENTS(unet), unet);
    fx_write(unet16, 1, unet_fp16);
    fx_write(vae_f, G_N_ELEMENTS(vae), vae);
    fx_write(text_f, G_N_ELEMENTS(text), text);
    const char *parts[] = { "unet", "vae", "text_encoder", "tokenizer" };
    for (int i = 0; i < 3; i++) {
        g_autofree char *c = fx_path(root, parts[i], "config.json", NULL);
        fx_text(c, "{\"_class_name\": \"X\", \"block_out_channels\": [8]}");
    }
    g_autofree char *index = fx_path(root, "model_index.json", NULL);
    g_autofree char *vocab = fx_path(root, "tokenizer", "vocab.json", NULL);
    g_autofree char *merges = fx_path(root, "tokenizer", "merges.txt", NULL);
    g_autofree char *tcfg = fx_path(root, "tokenizer", "tokenizer_config.json", NULL);
    fx_text(index, "{\"_class_name\": \"StableDiffusionPipeline\", \"unet\": [\"diffusers\", \"UNet2DConditionModel\"]}");
    fx_text(vocab, "{\"a</w>\": 0}");
    fx_text(merges, "#version: 0.2\n");
    fx_text(tcfg, "{}");

    GError *e = NULL;
    g_autoptr(rg_model) m = rg_model_open(root, &e);
    rg_assert_no_error(e);
    g_autofree char *cfg_unet = rg_model_config_path(m, "unet");
    g_autofree char *cfg_tok = rg_model_config_path(m, "tokenizer");
    g_autofree char *want_cfg = fx_path(root, "unet", "config.json", NULL);
    g_autofree char *tok = rg_model_tokenizer_dir(m);
    g_autofree char *want_tok = fx_path(root, "tokenizer", NULL);
    report(!strcmp(rg_model_layout_name(m), "diffusers folder") && rg_model_has_component(m, "unet") &&
               rg_model_has_component(m, "vae") && rg_model_has_component(m, "text_encoder") &&
               rg_model_has_component(m, "tokenizer") && cfg_unet && !strcmp(cfg_unet, want_cfg) && cfg_tok &&
               !strcmp(cfg_tok, tcfg) && tok && !strcmp(tok, want_tok),
           "diffusers folder: layout, components, config paths, tokenizer folder", NULL);
    report(!strcmp(rg_model_type_name(m), "Stable Diffusion 1.x architecture, custom configuration") &&
               rg_model_check(m, NULL),
           "a small custom config is accepted", rg_model_type_name(m));

    g_autoptr(rg_weights) wu = rg_model_weights(m, "unet", &e);
    g_autoptr(rg_weights) wv = rg_model_weights(m, "vae", &e);
    g_autoptr(rg_weights) wt = rg_model_weights(m, "text_encoder", &e);
    rg_assert_no_error(e);
    int64_t s_in[4] = { 8, 4, 3, 3 }, s_q[2] = { 4, 4 };
    g_autoptr(rg_tensor) t_in = rg_weights_load(wu, "conv_in.weight", 4, s_in, &e);
    g_autoptr(rg_tensor) t_q = rg_weights_load(wv, "decoder.mid_block.attentions.0.to_q.weight", 2, s_q, &e);
    g_autoptr(rg_tensor) t_k = rg_weights_load(wv, "encoder.mid_block.attentions.0.to_k.weight", 2, s_q, &e);
    rg_assert_no_error(e);
    report(fx_check(t_in, "conv_in.weight", 4, s_in), "the full-precision file is preferred to the fp16 variant", NULL);
    g_autofree char *vn = names_of(wv), *tn = names_of(wt);
    report(fx_check(t_q, "q", 2, s_q) && fx_check(t_k, "k", 2, s_q) &&
               !strcmp(vn, "decoder.conv_in.weight decoder.mid_block.attentions.0.to_q.weight "
                           "encoder.mid_block.attentions.0.to_k.weight encoder.mid_block.attentions.0.to_out.0.bias"),
           "older VAE names (query, key, proj_attn) read as to_q, to_k, to_out.0; (C,C,1,1) as (C,C)", vn);
    report(!strcmp(tn, "text_model.final_layer_norm.weight"), "text encoder: position_ids dropped", tn);
    int64_t s_c = 8;
    EXPECT_ERROR("missing tensor names the file", rg_weights_load(wu, "conv_in.bias", 1, &s_c, &e_), RG_ERROR_FORMAT,
                 unet_f, "missing tensor \"conv_in.bias\" (expected shape (8))");
    g_autofree char *d = rg_model_describe(m);
    report(strstr(d, "diffusers folder (StableDiffusionPipeline)") && strstr(d, unet_f) &&
               strstr(d, "unet          2 tensors, 416 parameters, F32") && strstr(d, "tokenizer") &&
               strstr(d, "ignored:       1 tensor Readout does not use (such as \"text_model.embeddings.position_ids\")"),
           "describe", d);

    /* config.json must be JSON, and not absurdly nested */
    g_autofree char *bad = fx_path(dir, "bad-config", NULL);
    g_autofree char *bad_unet = fx_path(bad, "unet", "diffusion_pytorch_model.safetensors", NULL);
    g_autofree char *bad_cfg = fx_path(bad, "unet", "config.json", NULL);
    fx_write(bad_unet, G_N_ELEMENTS(unet), unet);
    fx_text(bad_cfg, "{\"in_channels\": 4,");
    EXPECT_ERROR("config.json not JSON", rg_model_open(bad, &e_), RG_ERROR_FORMAT, bad_cfg, "not valid JSON");
    g_autofree char *deep = g_strnfill(100000, '[');
    fx_text(bad_cfg, deep);
    EXPECT_ERROR("config.json nested 100000 deep", rg_model_open(bad, &e_), RG_ERROR_FORMAT, bad_cfg, "nests deeper");
    fx_text(bad_cfg, "{\"a\": 1, \"a\": 2}");
    EXPECT_ERROR("config.json duplicate key", rg_model_open(bad, &e_), RG_ERROR_FORMAT, bad_cfg, "\"a\" twice");
    fx_text(bad_cfg, "[4]");
    EXPECT_ERROR("config.json not an object", rg_model_open(bad, &e_), RG_ERROR_FORMAT, "not a JSON object");
}

/* unet/ only, fp16 variant only, no model_index.json or config.json */
static void unet_only_fp16(void)
{
    g_autofree char *root = fx_path(dir, "unet-only", NULL);
    g_autofree char *f = fx_path(root, "unet", "diffusion_pytorch_model.fp16.safetensors", NULL);
    const fx_tensor ts[] = { { "conv_in.weight", "F16", 4, { 8, 4, 3, 3 }, NULL }, { "conv_in.bias", "F16", 1, { 8 }, NULL } };
    fx_write(f, 2, ts);
    GError *e = NULL;
    g_autoptr(rg_model) m = rg_model_open(root, &e);
    rg_assert_no_error(e);
    g_autofree char *cfg = rg_model_config_path(m, "unet");
    g_autoptr(rg_weights) w = rg_model_weights(m, "unet", &e);
    rg_assert_no_error(e);
    int64_t s[4] = { 8, 4, 3, 3 };
    g_autoptr(rg_tensor) t = rg_weights_load(w, "conv_in.weight", 4, s, &e);
    report(rg_model_has_component(m, "unet") && !rg_model_has_component(m, "vae") &&
               !rg_model_has_component(m, "tokenizer") && !cfg && fx_check(t, "conv_in.weight", 4, s),
           "a folder with only unet/ (fp16 variant, no configs) serves the UNet", NULL);
    EXPECT_ERROR("its VAE is absent", rg_model_weights(m, "vae", &e_), RG_ERROR_FORMAT, root, "no vae", "no vae/ folder");
}

/* unet/diffusion_pytorch_model.safetensors.index.json with two shards */
static void sharded(void)
{
    g_autofree char *root = fx_path(dir, "sharded", NULL);
    g_autofree char *s1 = fx_path(root, "unet", "diffusion_pytorch_model-00001-of-00002.safetensors", NULL);
    g_autofree char *s2 = fx_path(root, "unet", "diffusion_pytorch_model-00002-of-00002.safetensors", NULL);
    g_autofree char *index = fx_path(root, "unet", "diffusion_pytorch_model.safetensors.index.json", NULL);
    fx_write(s1, 1, (fx_tensor[]){ { "conv_in.weight", "F32", 4, { 8, 4, 3, 3 }, NULL } });
    const fx_tensor t2[] = { { "conv_out.weight", "F32", 4, { 4, 8, 3, 3 }, NULL }, { "conv_out.bias", "F32", 1, { 4 }, NULL } };
    fx_write(s2, 2, t2);
    fx_text(index, "{\"metadata\": {\"total_size\": 1000}, \"weight_map\": {"
                   "\"conv_in.weight\": \"diffusion_pytorch_model-00001-of-00002.safetensors\", "
                   "\"conv_out.weight\": \"diffusion_pytorch_model-00002-of-00002.safetensors\", "
                   "\"conv_out.bias\": \"diffusion_pytorch_model-00002-of-00002.safetensors\"}}");
    GError *e = NULL;
    g_autoptr(rg_model) m = rg_model_open(root, &e);
    rg_assert_no_error(e);
    g_autoptr(rg_weights) w = rg_model_weights(m, "unet", &e);
    rg_assert_no_error(e);
    int64_t so[4] = { 4, 8, 3, 3 };
    g_autoptr(rg_tensor) t = rg_weights_load(w, "conv_out.weight", 4, so, &e);
    g_autofree char *n = names_of(w);
    g_autofree char *d = rg_model_describe(m);
    report(!strcmp(n, "conv_in.weight conv_out.bias conv_out.weight") && fx_check(t, "conv_out.weight", 4, so) &&
               strstr(d, "(2 shards)"),
           "sharded UNet: tensors from both shards", n);

    fx_text(index, "{\"weight_map\": {\"conv_in.weight\": \"../../sd15-tiny.safetensors\"}}");
    EXPECT_ERROR("shard outside the folder", rg_model_open(root, &e_), RG_ERROR_FORMAT, index, "must name a file in");
    fx_text(index, "{\"weight_map\": {\"conv_in.bias\": \"diffusion_pytorch_model-00001-of-00002.safetensors\"}}");
    EXPECT_ERROR("index names a tensor its shard lacks", rg_model_open(root, &e_), RG_ERROR_FORMAT, "\"conv_in.bias\"",
                 "lacks it");
    fx_text(index, "{\"weight_map\": [1]}");
    EXPECT_ERROR("index without weight_map object", rg_model_open(root, &e_), RG_ERROR_FORMAT, "weight_map");
}

static void standalone_vae(void)
{
    g_autofree char *path = fx_path(dir, "vae-ft-mse.safetensors", NULL);
    const fx_tensor ts[] = {
        { "encoder.conv_in.weight", "F32", 4, { 4, 3, 3, 3 }, NULL },
        { "decoder.conv_in.weight", "F32", 4, { 4, 4, 3, 3 }, NULL },
        { "decoder.mid.attn_1.k.weight", "F32", 4, { 4, 4, 1, 1 }, "k" },
        { "model_ema.decay", "F32", 0, { 0 }, NULL },
    };
    fx_write(path, G_N_ELEMENTS(ts), ts);
    GError *e = NULL;
    g_autoptr(rg_model) m = rg_model_open(path, &e);
    rg_assert_no_error(e);
    g_autoptr(rg_weights) w = rg_model_weights(m, "vae", &e);
    rg_assert_no_error(e);
    int64_t s[2] = { 4, 4 };
    g_autoptr(rg_tensor) t = rg_weights_load(w, "decoder.mid_block.attentions.0.to_k.weight", 2, s, &e);
    report(!strcmp(rg_model_type_name(m), "standalone VAE") && rg_model_has_component(m, "vae") &&
               !rg_model_has_component(m, "unet") && fx_check(t, "k", 2, s),
           "a standalone VAE file gives a model with only a VAE", NULL);
    EXPECT_ERROR("it has no UNet", rg_model_weights(m, "unet", &e_), RG_ERROR_FORMAT, "standalone VAE");
    EXPECT_ERROR("missing VAE tensor named as stored",
                 rg_weights_load(w, "decoder.up_blocks.0.resnets.0.norm1.weight", 1, s, &e_), RG_ERROR_FORMAT,
                 "missing tensor \"decoder.up.3.block.0.norm1.weight\"");
}

/* ---- paths that are no usable model --------------------------------------- */

static void not_models(void)
{
    g_autofree char *none = fx_path(dir, "no-such-model", NULL);
    EXPECT_ERROR("no such path", rg_model_open(none, &e_), RG_ERROR_IO, none, "no such file or folder");
    g_autofree char *empty = fx_path(dir, "empty", NULL);
    g_mkdir(empty, 0755);
    EXPECT_ERROR("empty folder", rg_model_open(empty, &e_), RG_ERROR_FORMAT, empty, "not a diffusers model");
    g_autofree char *txt = fx_path(dir, "notes.txt", NULL);
    fx_text(txt, "hello, this is not a model at all");
    EXPECT_ERROR("text file", rg_model_open(txt, &e_), RG_ERROR_FORMAT, txt, "not a safetensors file");
    g_autofree char *ckpt = fx_path(dir, "v1-5.ckpt", NULL);
    fx_text(ckpt, "PK\x03\x04 archive/data.pkl");
    EXPECT_ERROR("zip .ckpt", rg_model_open(ckpt, &e_), RG_ERROR_FORMAT, "PyTorch checkpoint", ".safetensors");
    g_autofree char *pkl = fx_path(dir, "old.ckpt", NULL);
    fx_text(pkl, "\x80\x02}q\x00");
    EXPECT_ERROR("pickle", rg_model_open(pkl, &e_), RG_ERROR_FORMAT, "PyTorch pickle");
    g_autofree char *gguf = fx_path(dir, "sd.gguf", NULL);
    fx_text(gguf, "GGUF\x03");
    EXPECT_ERROR("gguf", rg_model_open(gguf, &e_), RG_ERROR_FORMAT, "GGUF");

    const struct {
        const char *file, *tensor, *expect;
    } kinds[] = {
        { "lora.safetensors", "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", "LoRA" },
        { "ti.safetensors", "emb_params", "textual-inversion" },
        { "random.safetensors", "foo.bar", "none of its tensors" },
        { "unet-file.safetensors", "conv_in.weight", "UNet file of a diffusers folder" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        g_autofree char *p = fx_path(dir, kinds[i].file, NULL);
        const fx_tensor t[] = { { kinds[i].tensor, "F32", 1, { 2 }, NULL },
                                { "time_embedding.linear_1.weight", "F32", 1, { 2 }, NULL } };
        fx_write(p, i == 3 ? 2 : 1, t);
        EXPECT_ERROR(kinds[i].file, rg_model_open(p, &e_), RG_ERROR_FORMAT, p, kinds[i].expect);
    }
    g_autofree char *odd = fx_path(dir, "odd.safetensors", NULL);
    const fx_tensor o[] = { { "model.diffusion_model.foo.weight", "F32", 1, { 2 }, NULL },
                            { "first_stage_model.loss.logvar", "F32", 1, { 1 }, NULL } };
    fx_write(odd, 2, o);
    EXPECT_ERROR("SD prefixes, no SD1.x tensor", rg_model_open(odd, &e_), RG_ERROR_FORMAT,
                 "none of its 2 tensors is a Stable Diffusion 1.x weight");
    EXPECT_ERROR("not a file or folder", rg_model_open("/dev/null", &e_), RG_ERROR_IO, "neither a file nor a folder");
    g_autofree char *unet_dir = fx_path(dir, "sd-tiny", "unet", NULL);
    EXPECT_ERROR("a component folder", rg_model_open(unet_dir, &e_), RG_ERROR_FORMAT, "one component (unet/)",
                 "the folder above it");
    g_autofree char *index = fx_path(dir, "sd-tiny", "model_index.json", NULL);
    EXPECT_ERROR("model_index.json itself", rg_model_open(index, &e_), RG_ERROR_FORMAT, "pass the folder that holds it");
    g_autofree char *bin = fx_path(dir, "bin-only", "unet", "diffusion_pytorch_model.bin", NULL);
    fx_text(bin, "PK\x03\x04");
    g_autofree char *bin_root = fx_path(dir, "bin-only", NULL);
    EXPECT_ERROR("only .bin weights", rg_model_open(bin_root, &e_), RG_ERROR_FORMAT, "holds no usable component",
                 "diffusion_pytorch_model.bin, a PyTorch pickle");
    g_autofree char *trunc = fx_path(dir, "truncated.safetensors", NULL);
    g_autofree char *whole = NULL;
    gsize len;
    g_autofree char *src = fx_path(dir, "sd15-tiny.safetensors", NULL);
    g_assert_true(g_file_get_contents(src, &whole, &len, NULL));
    g_assert_true(g_file_set_contents(trunc, whole, (gssize)(len / 2), NULL));
    EXPECT_ERROR("truncated checkpoint", rg_model_open(trunc, &e_), RG_ERROR_FORMAT, trunc, "truncated file?");
}

/* ---- models Readout does not run ------------------------------------------ */

static void refused(const char *label, const char *path, const char *type)
{
    GError *e = NULL;
    g_autoptr(rg_model) m = rg_model_open(path, &e);
    rg_assert_no_error(e);
    g_autofree char *d = rg_model_describe(m);
    report(!strcmp(rg_model_type_name(m), type) && strstr(d, "supported:    NO: Readout runs Stable Diffusion 1.x"),
           label, rg_model_type_name(m));
    EXPECT_ERROR(label, rg_model_weights(m, "unet", &e_), RG_ERROR_UNSUPPORTED, path, type, "does not support");
    gboolean ok = !rg_model_check(m, &e) && e && e->code == RG_ERROR_UNSUPPORTED;
    g_clear_error(&e);
    report(ok, "rg_model_check refuses it too", NULL);
}

static void other_models(void)
{
    const char *in0 = "model.diffusion_model.input_blocks.0.0.weight";
    const char *k1 = "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight";
    const char *k4 = "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight";
    struct {
        const char *file, *type;
        fx_tensor t[3];
    } cases[] = {
        { "sdxl.safetensors", "Stable Diffusion XL",
          { { in0, "F16", 4, { 8, 4, 3, 3 }, NULL }, { k4, "F16", 2, { 4, 2048 }, NULL },
            { "conditioner.embedders.0.transformer.text_model.final_layer_norm.weight", "F16", 1, { 4 }, NULL } } },
        { "sd2.safetensors", "Stable Diffusion 2.x",
          { { in0, "F32", 4, { 8, 4, 3, 3 }, NULL }, { k1, "F32", 2, { 4, 1024 }, NULL },
            { "cond_stage_model.model.ln_final.weight", "F32", 1, { 4 }, NULL } } },
        { "inpaint.safetensors", "Stable Diffusion 1.x inpainting",
          { { in0, "F32", 4, { 8, 9, 3, 3 }, NULL }, { k1, "F32", 2, { 4, 768 }, NULL },
            { "first_stage_model.quant_conv.bias", "F32", 1, { 8 }, NULL } } },
        { "sd2-inpaint.safetensors", "Stable Diffusion 2.x inpainting",
          { { in0, "F32", 4, { 8, 9, 3, 3 }, NULL }, { k1, "F32", 2, { 4, 1024 }, NULL },
            { "first_stage_model.quant_conv.bias", "F32", 1, { 8 }, NULL } } },
        { "ip2p.safetensors", "Stable Diffusion 1.x-style model with 8 input channels (InstructPix2Pix-style)",
          { { in0, "F32", 4, { 8, 8, 3, 3 }, NULL }, { k1, "F32", 2, { 4, 768 }, NULL },
            { "first_stage_model.quant_conv.bias", "F32", 1, { 8 }, NULL } } },
        { "unclip.safetensors", "Stable Diffusion with class conditioning (unCLIP-style)",
          { { in0, "F32", 4, { 8, 4, 3, 3 }, NULL }, { k1, "F32", 2, { 4, 768 }, NULL },
            { "model.diffusion_model.label_emb.0.0.weight", "F32", 2, { 4, 4 }, NULL } } },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *p = fx_path(dir, cases[i].file, NULL);
        fx_write(p, 3, cases[i].t);
        refused(cases[i].file, p, cases[i].type);
    }
    /* the same in diffusers folders: SDXL's add_embedding, SD 2.x's 1024-wide context */
    const char *to_k = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";
    struct {
        const char *name, *type;
        fx_tensor t[2];
    } folders[] = {
        { "sdxl-folder", "Stable Diffusion XL",
          { { "conv_in.weight", "F16", 4, { 8, 4, 3, 3 }, NULL }, { "add_embedding.linear_1.weight", "F16", 2, { 8, 16 }, NULL } } },
        { "sd2-folder", "Stable Diffusion 2.x",
          { { "conv_in.weight", "F32", 4, { 8, 4, 3, 3 }, NULL }, { to_k, "F32", 2, { 8, 1024 }, NULL } } },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(folders); i++) {
        g_autofree char *root = fx_path(dir, folders[i].name, NULL);
        g_autofree char *f = fx_path(root, "unet", "diffusion_pytorch_model.safetensors", NULL);
        fx_write(f, 2, folders[i].t);
        refused(folders[i].name, root, folders[i].type);
    }
}

/* ---- readout inspect ------------------------------------------------------ */

/* rg_cli_inspect(@args) with stdout and stderr caught into *@out. */
static int run_inspect(int argc, const char **args, char **out)
{
    g_autofree char *log = fx_path(dir, "inspect.log", NULL);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    FILE *f = g_fopen(log, "w");
    dup2(fileno(f), 1);
    dup2(fileno(f), 2);
    char **argv = g_new0(char *, argc + 1);
    for (int i = 0; i < argc; i++)
        argv[i] = g_strdup(args[i]);
    int rc = rg_cli_inspect(argc, argv);
    g_strfreev(argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    fclose(f);
    g_assert_true(g_file_get_contents(log, out, NULL, NULL));
    return rc;
}

static void inspect(void)
{
    g_autofree char *good = fx_path(dir, "sd15-tiny.safetensors", NULL);
    g_autofree char *sdxl = fx_path(dir, "sdxl.safetensors", NULL);
    g_autofree char *none = fx_path(dir, "no-such-model", NULL);
    g_autofree char *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL, *o5 = NULL;
    int r1 = run_inspect(2, (const char *[]){ "inspect", good }, &o1);
    int r2 = run_inspect(2, (const char *[]){ "inspect", sdxl }, &o2);
    int r3 = run_inspect(2, (const char *[]){ "inspect", none }, &o3);
    int r4 = run_inspect(1, (const char *[]){ "inspect" }, &o4);
    int r5 = run_inspect(3, (const char *[]){ "inspect", good, good }, &o5);
    report(r1 == 0 && strstr(o1, "Stable Diffusion 1.x") && strstr(o1, "text_encoder"), "inspect: a model", o1);
    report(r2 == 0 && strstr(o2, "Stable Diffusion XL") && strstr(o2, "NO:"), "inspect: SDXL says it is unsupported", o2);
    report(r3 == 1 && strstr(o3, "readout inspect: ") && strstr(o3, "no such file or folder"), "inspect: error, exit 1",
           o3);
    report(r4 == 0 && strstr(o4, "Readout demo-style model"), "inspect without PATH: the demo model", o4);
    report(r5 == 2 && strstr(o5, "PATH"), "inspect: usage errors exit 2", o5);
}

int main(void)
{
    dir = fx_tmpdir();
    single_file();
    diffusers_folder();
    unet_only_fp16();
    sharded();
    standalone_vae();
    not_models();
    other_models();
    inspect();
    fx_rmtree(dir);
    g_free(dir);
    g_print("%s\n", all_ok ? "PASS" : "FAIL");
    return all_ok ? 0 : 1;
}
