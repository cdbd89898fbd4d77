/* vae.h — the Stable Diffusion VAE (diffusers' AutoencoderKL, "kl-f8").
 *
 * Encoder: conv_in, one down level per entry of block_out_channels
 * (layers_per_block ResNets each; every level but the last ends in a
 * downsampler that pads right and bottom by one and runs a stride-2 3x3
 * conv), a mid block (ResNet, single-head self-attention over the H*W
 * tokens, ResNet), GroupNorm, SiLU and conv_out to 2*latent channels, then
 * quant_conv (1x1). The result splits into mean and logvar; logvar is
 * clamped to [-30, 20] as diffusers' DiagonalGaussianDistribution does.
 * Decoder: post_quant_conv (1x1), conv_in, the mid block, one up level per
 * entry of block_out_channels in reverse order (layers_per_block + 1
 * ResNets; every level but the last ends in nearest 2x + 3x3 conv),
 * GroupNorm, SiLU, conv_out. Every GroupNorm uses norm_num_groups groups
 * and eps 1e-6.
 *
 * Weights are looked up in an rg_weights by diffusers name, relative to the
 * VAE ("encoder.conv_in.weight", "decoder.up_blocks.0.resnets.0.conv1.weight",
 * "quant_conv.weight", ...). The mid attentions take the current names
 * (mid_block.attentions.0.to_q / to_k / to_v / to_out.0) or the older ones
 * (query / key / value / proj_attn), as Linear (C, C) or as 1x1 conv
 * (C, C, 1, 1) weights.
 *
 * Latent scaling: rg_vae_encode() and rg_vae_decode() work on the VAE's own
 * latent z. The diffusion model sees scaling_factor * z (0.18215 for SD1.5);
 * the caller multiplies before the UNet and divides before decoding
 * (rg_scale()). The factor is only stored in the config.
 *
 * Everything is differentiable through the engine's operations: with a tape
 * attached to the context and an input that requires a gradient (the image,
 * the latent, mean/logvar/noise), the call is recorded. Each ResNet, each
 * attention block and the output head is a checkpointed segment
 * (rg_checkpoint()), so the tape keeps one activation per block and
 * recomputes the inside during backward. The VAE's own weights are frozen:
 * they never receive gradients and cost nothing in backward. A tape that
 * recorded a VAE call re-runs its blocks during backward: keep the rg_vae
 * alive until that tape has run backward or is freed.
 */
#pragma once

#include "readout/weights.h"

G_BEGIN_DECLS

#define RG_VAE_MAX_LEVELS 8

typedef struct {
    int in_channels;     /* image channels in (3) */
    int out_channels;    /* image channels out (3) */
    int latent_channels; /* 4 */
    int n_levels;        /* entries of block_out_channels (4) */
    int block_out_channels[RG_VAE_MAX_LEVELS]; /* (128, 256, 512, 512) */
    int layers_per_block;                      /* encoder ResNets per level; the decoder has one more (2) */
    int norm_num_groups;                       /* divides every block_out_channels entry (32) */
    float scaling_factor;                      /* stored, not applied (0.18215) */
    gboolean use_quant_conv;                   /* TRUE */
    gboolean use_post_quant_conv;              /* TRUE */
    gboolean mid_block_add_attention;          /* TRUE */
    /* Readout's exact space-to-depth autoencoder ("ReadoutSpaceToDepth", the
     * demo model's): no weights; the latent of an image is its pixel
     * unshuffle by f = 2^(n_levels - 1), latent channel c*f*f + i*f + j holding
     * pixel (f*y + i, f*x + j) of colour c (torch's pixel_unshuffle); decode is
     * the inverse; logvar is the clamp's floor -30, so sampling returns the
     * mean. latent_channels = in_channels * f * f, out_channels = in_channels. */
    gboolean space_to_depth;
} rg_vae_config;

typedef struct rg_vae rg_vae;

/* The SD1.5 VAE: 3 -> 4 latent channels, (128, 256, 512, 512), 2 layers per
 * block, 32 groups, scaling factor 0.18215, quant convs and mid attention. */
RG_API void rg_vae_config_init_sd15(rg_vae_config *config);

/* Reads a diffusers vae/config.json. Keys left out take diffusers' defaults
 * for AutoencoderKL; "_"-prefixed keys, "sample_size" and "force_upcast"
 * are ignored. Errors: RG_ERROR_IO (unreadable), RG_ERROR_FORMAT (not JSON,
 * a value of the wrong type), RG_ERROR_UNSUPPORTED (an unknown key; another
 * model class, block type or activation than AutoencoderKL, DownEncoderBlock2D,
 * UpDecoderBlock2D and silu; latents_mean/latents_std or a non-zero
 * shift_factor),
 * RG_ERROR_ARGUMENT (inconsistent sizes). The message names the file and key. */
RG_API gboolean rg_vae_config_load(rg_vae_config *config, const char *config_json_path, GError **error);

/* Builds the VAE of @config from @w (borrowed; the tensors are copied in as
 * F32). Every tensor the config needs must be present with its exact shape.
 * Errors: RG_ERROR_ARGUMENT (bad config), RG_ERROR_FORMAT (a tensor missing
 * or of the wrong shape, naming it and both shapes), RG_ERROR_IO. */
RG_API rg_vae *rg_vae_new(const rg_vae_config *config, rg_weights *w, GError **error);
/* A space-to-depth autoencoder (see rg_vae_config.space_to_depth) of @in_channels and @factor (a power of 2). */
RG_API void rg_vae_config_init_space_to_depth(rg_vae_config *config, int in_channels, int factor);
RG_API void rg_vae_free(rg_vae *v);
/* (transfer none) The configuration the VAE was built with. */
RG_API const rg_vae_config *rg_vae_get_config(const rg_vae *v);

/* Encodes @image (B, in_channels, H, W), values in [-1, 1]; H and W must be
 * positive multiples of 2^(n_levels - 1) (8 for SD1.5). Sets *@mean and
 * *@logvar (new references) to the posterior's parameters, each
 * (B, latent_channels, H / 2^(n_levels-1), W / 2^(n_levels-1)); logvar is
 * clamped to [-30, 20] (no gradient beyond the clamp). Errors:
 * RG_ERROR_SHAPE / RG_ERROR_DTYPE naming "vae_encode" and the shapes. */
RG_API gboolean rg_vae_encode(rg_vae *v, rg_ctx *ctx, rg_tensor *image, rg_tensor **mean, rg_tensor **logvar,
                              GError **error);

/* A sample of the posterior: mean + exp(0.5 logvar) * noise, with @noise
 * drawn from N(0, 1) by the caller (the RNG stays outside). All three have
 * the same shape. Differentiable in each. (transfer full) Errors:
 * RG_ERROR_SHAPE / RG_ERROR_DTYPE naming "vae_sample". */
RG_API rg_tensor *rg_vae_sample(rg_ctx *ctx, rg_tensor *mean, rg_tensor *logvar, rg_tensor *noise, GError **error);

/* Decodes @latent (B, latent_channels, h, w) — the VAE's own z, not
 * multiplied by the scaling factor — to an image (B, out_channels,
 * h * 2^(n_levels-1), w * 2^(n_levels-1)), values about [-1, 1].
 * (transfer full) Errors: RG_ERROR_SHAPE / RG_ERROR_DTYPE naming "vae_decode". */
RG_API rg_tensor *rg_vae_decode(rg_vae *v, rg_ctx *ctx, rg_tensor *latent, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_vae, rg_vae_free)

G_END_DECLS
