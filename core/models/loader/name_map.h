/* name_map.h — SD1.x tensor names: LDM single-file <-> diffusers
 * (../shared/docs/stable_diffusion_spec.md §2.2-2.5).
 *
 * A single file holds one flat state dict with the prefixes
 * "model.diffusion_model." (UNet), "first_stage_model." (VAE) and
 * "cond_stage_model.transformer." (CLIP text encoder); a diffusers folder
 * holds each component under its own names. The maps here are exact
 * inverses on every SD1.x tensor (tests/models/loader/test_name_map.c checks
 * all 1130 rows of sd15_tensors.tsv both ways). Layout facts they assume, true
 * for every SD1.x and SD2.x model: 4 UNet levels with 2 ResNets down and 3
 * up, 4 VAE levels.
 */
#pragma once

#include <glib.h>

typedef enum {
    RG_PART_UNET = 0,
    RG_PART_VAE = 1,
    RG_PART_TEXT_ENCODER = 2,
    RG_N_PARTS = 3,
} rg_part;

/* "unet", "vae", "text_encoder": the diffusers folder names. */
const char *rg_part_name(rg_part part);
/* FALSE when @name is none of the three. */
gboolean rg_part_from_name(const char *name, rg_part *part);
/* The prefix of @part's names in a single file ("model.diffusion_model."). */
const char *rg_part_ldm_prefix(rg_part part);

/* The part and diffusers name (without the folder) of the full single-file
 * name @ldm, or NULL when @ldm is no SD1.x weight: EMA copies
 * (model_ema.*), schedule buffers (betas, alphas_cumprod, ...), CLIP's
 * position_ids buffer, other models' tensors. *@conv1x1 is TRUE for the
 * weights that LDM stores as 1x1 convolutions (C,C,1,1) and diffusers as
 * linear layers (C,C): the VAE mid-block attention q, k, v and proj_out.
 * CLIP names are accepted with and without "text_model." after the prefix
 * (older LDM files lack it). (transfer full) */
char *rg_name_ldm_to_diffusers(const char *ldm, rg_part *part, gboolean *conv1x1);

/* The single-file name of diffusers name @name of @part, or NULL when it has
 * none; *@conv1x1 as above. (transfer full) */
char *rg_name_diffusers_to_ldm(rg_part part, const char *name, gboolean *conv1x1);

/* The VAE maps without the "first_stage_model." prefix, for standalone VAE
 * files ("encoder.down.0.block.0.conv1.weight"). (transfer full) */
char *rg_name_vae_ldm_to_diffusers(const char *name, gboolean *conv1x1);
char *rg_name_vae_diffusers_to_ldm(const char *name, gboolean *conv1x1);

/* The current diffusers name of a VAE attention tensor written by older
 * diffusers versions (mid_block.attentions.0.{query,key,value,proj_attn}.*
 * -> {to_q,to_k,to_v,to_out.0}.*), or NULL when @name is not one. */
char *rg_name_vae_legacy(const char *name);
