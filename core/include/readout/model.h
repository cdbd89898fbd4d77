/* model.h — Stable Diffusion 1.x model files as users have them.
 *
 * Two layouts are read (stable_diffusion_spec.md §2.1):
 *  - a diffusers folder: model_index.json and the folders unet/, vae/,
 *    text_encoder/ (each with config.json and diffusion_pytorch_model /
 *    model .safetensors, or the .fp16.safetensors variant, or shards listed in
 *    a *.safetensors.index.json) and tokenizer/ (vocab.json, merges.txt). Any
 *    subset is fine: a folder holding only unet/ serves UNet work.
 *  - a single .safetensors file with the original LDM names
 *    (model.diffusion_model.*, first_stage_model.*,
 *    cond_stage_model.transformer.*), mapped to diffusers names. Tensors that
 *    are no SD1.x weight (EMA copies model_ema.*, schedule buffers) are
 *    ignored with a note. A standalone VAE file (encoder.*, decoder.*) gives
 *    a model with only a VAE.
 *
 * Components load when asked for; opening reads only the headers. Models of
 * kinds Readout does not run (SD 2.x, SDXL, inpainting, other input channel
 * counts) open, so that rg_model_describe() can say what they are, but
 * rg_model_weights() and rg_model_check() refuse them.
 *
 *   g_autoptr(rg_model) m = rg_model_open ("v1-5-pruned-emaonly.safetensors", &error);
 *   g_autoptr(rg_weights) w = rg_model_weights (m, "unet", &error);
 *   // w names: "down_blocks.0.resnets.0.conv1.weight", ...
 */
#pragma once

#include "readout/weights.h"

G_BEGIN_DECLS

typedef struct rg_model rg_model;

/* Opens the diffusers folder or single file at @path and finds its layout,
 * components and model type. Errors: RG_ERROR_IO (cannot be read),
 * RG_ERROR_FORMAT with a message that says why @path is not a usable model
 * (a .ckpt pickle, a LoRA, one component's folder or file instead of the
 * model, a config.json that is not JSON, ...). */
RG_API rg_model *rg_model_open(const char *path, GError **error);
RG_API void rg_model_free(rg_model *m);

/* "diffusers folder" or "single file". (transfer none) */
RG_API const char *rg_model_layout_name(const rg_model *m);
/* The model type found from key tensor shapes: "Stable Diffusion 1.x",
 * "Stable Diffusion 2.x", "Stable Diffusion XL", "Stable Diffusion 1.x
 * inpainting", ... (transfer none) */
RG_API const char *rg_model_type_name(const rg_model *m);
/* FALSE, with RG_ERROR_UNSUPPORTED saying what the model is and why Readout
 * cannot run it, for models other than SD1.x text-to-image (SD1.x-shaped
 * models with smaller custom configs pass). */
RG_API gboolean rg_model_check(const rg_model *m, GError **error);

/* @component is "unet", "vae", "text_encoder" or "tokenizer". */
RG_API gboolean rg_model_has_component(const rg_model *m, const char *component);
/* The weights of "unet", "vae" or "text_encoder" under their diffusers
 * names, each seen with its diffusers shape (LDM 1x1 convolutions that are
 * linear layers in diffusers come as (C,C)). Errors: RG_ERROR_ARGUMENT (an
 * unknown component), RG_ERROR_FORMAT (the model lacks it; the message says
 * why), RG_ERROR_UNSUPPORTED (see rg_model_check()), RG_ERROR_IO.
 * (transfer full) */
RG_API rg_weights *rg_model_weights(rg_model *m, const char *component, GError **error);
/* The component's config.json, or NULL when there is none (single files:
 * callers use the SD1.5 defaults). For "tokenizer", tokenizer_config.json.
 * (transfer full) */
RG_API char *rg_model_config_path(const rg_model *m, const char *component);
/* The folder holding vocab.json and merges.txt, or NULL. (transfer full) */
RG_API char *rg_model_tokenizer_dir(const rg_model *m);
/* A report for people: path, layout, model type (and whether Readout runs
 * it), each component with its tensor count, parameter count, dtypes and
 * files, and what was ignored. Lines end in '\n'. (transfer full) */
RG_API char *rg_model_describe(const rg_model *m);

/* The components, built from their weights and config.json (SD1.5's
 * configuration where the model has none, as single files). Errors: those
 * of rg_model_weights(), of the config.json readers and of the constructors.
 * (transfer full) */
typedef struct rg_unet rg_unet;
typedef struct rg_vae rg_vae;
typedef struct rg_clip_text rg_clip_text;
RG_API rg_unet *rg_model_load_unet(rg_model *m, GError **error);
RG_API rg_vae *rg_model_load_vae(rg_model *m, GError **error);
RG_API rg_clip_text *rg_model_load_text_encoder(rg_model *m, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_model, rg_model_free)

G_END_DECLS
