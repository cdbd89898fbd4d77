/* unet.h — the Stable Diffusion UNet (diffusers' UNet2DConditionModel) with
 * decoder feature capture, for Readout Guidance.
 *
 * The model is built from a configuration (rg_unet_config): SD1.5 when given
 * the SD1.5 config, and the same code for smaller test configs. Weights are
 * named as in a diffusers unet/ folder ("down_blocks.0.resnets.0.conv1.weight")
 * and come from an rg_weights set; every tensor is loaded with the shape the
 * config implies.
 *
 *   rg_unet_config c;
 *   rg_unet_config_init_sd15 (&c);          // or rg_unet_config_load (&c, "unet/config.json", &error)
 *   g_autoptr(rg_unet) u = rg_unet_new (&c, weights, &error);
 *   rg_tensor *features[12];
 *   rg_unet_forward (u, ctx, sample, t, text, &eps, features, &error);
 *
 * Features: the output of conv2 of every decoder (up-block) ResNet, before
 * the residual (shortcut) addition, in up-block then ResNet order — 12 in
 * SD1.5, from 1280 channels at 1/8 of the latent size to 320 channels at full
 * latent size. With a tape attached, gradients flow from eps and the features
 * back to the sample (and to encoder_hidden_states or the timesteps if they
 * require grad); the weights are frozen. Every ResNet and every transformer
 * block is a checkpointed segment (rg_checkpoint), so a backward pass keeps
 * only block inputs and recomputes the rest.
 *
 * Supported: DownBlock2D / CrossAttnDownBlock2D, UpBlock2D /
 * CrossAttnUpBlock2D, UNetMidBlock2DCrossAttn (or none), a head count and a
 * transformer depth per level, 1x1-conv or linear proj_in/proj_out
 * (use_linear_projection, SD2.x/SDXL). SDXL's added conditioning
 * (addition_embed_type "text_time") is not implemented yet: it would add a
 * second embedding to the time embedding before the blocks run.
 */
#pragma once

#include "readout/weights.h"

G_BEGIN_DECLS

#define RG_UNET_MAX_LEVELS 6

/* A diffusers UNet2DConditionModel configuration. Per-level arrays are in
 * down-block order (level 0 = full resolution); up block i works at level
 * n_levels - 1 - i. */
typedef struct {
    int in_channels;  /* 4 */
    int out_channels; /* 4 */
    int n_levels;     /* len(block_out_channels): 4 */
    int block_out_channels[RG_UNET_MAX_LEVELS]; /* 320, 640, 1280, 1280 */
    /* ResNets per down block at each level; the up block at that level has one more. 2 */
    int layers_per_block[RG_UNET_MAX_LEVELS];
    /* down_blocks.i is a CrossAttnDownBlock2D (TRUE) or a DownBlock2D. */
    gboolean down_cross_attention[RG_UNET_MAX_LEVELS];
    /* up_blocks.i (i = 0 is the deepest) is a CrossAttnUpBlock2D (TRUE) or an UpBlock2D. */
    gboolean up_cross_attention[RG_UNET_MAX_LEVELS];
    /* Attention head COUNT per level (diffusers' attention_head_dim, a head
     * count in SD1.x/2.x/XL configs): 8; head size = channels / heads. The
     * mid block uses the last level's. */
    int attention_heads[RG_UNET_MAX_LEVELS];
    /* BasicTransformerBlocks per Transformer2DModel at each level
     * (transformer_layers_per_block): 1; SDXL 1, 2, 10. The mid block uses the last level's. */
    int transformer_layers[RG_UNET_MAX_LEVELS];
    gboolean mid_block;          /* a UNetMidBlock2DCrossAttn: TRUE */
    int cross_attention_dim;     /* channels of encoder_hidden_states: 768 */
    int norm_num_groups;         /* GroupNorm groups everywhere: 32 */
    float norm_eps;              /* ResNet and output GroupNorm eps: 1e-5 (transformer GN: 1e-6, LN: 1e-5) */
    gboolean flip_sin_to_cos;    /* timestep embedding [cos, sin]: TRUE */
    float freq_shift;            /* timestep embedding downscale_freq_shift: 0 */
    gboolean use_linear_projection; /* proj_in/proj_out are Linear (C,C), not 1x1 convs: FALSE */
    int time_embedding_dim;      /* width of the time embedding: 4 * block_out_channels[0] = 1280 */
    int sample_size;             /* the latent size it was trained at (informational): 64 */
} rg_unet_config;

typedef struct rg_unet rg_unet;

/* Fills @c with Stable Diffusion 1.5's configuration. */
RG_API void rg_unet_config_init_sd15(rg_unet_config *c);
/* Reads a diffusers unet/config.json. Keys that are absent take diffusers'
 * defaults; options this implementation does not have are refused.
 * Errors: RG_ERROR_IO, RG_ERROR_FORMAT (not JSON, wrong types, not a
 * UNet2DConditionModel), RG_ERROR_UNSUPPORTED (an option or block type that
 * is not implemented), RG_ERROR_ARGUMENT (inconsistent values). */
RG_API gboolean rg_unet_config_load(rg_unet_config *c, const char *config_json_path, GError **error);
/* Checks that @c describes a model this implementation can build
 * (RG_ERROR_ARGUMENT naming the offending field otherwise). */
RG_API gboolean rg_unet_config_validate(const rg_unet_config *c, GError **error);

/* Called for every tensor a config needs, in construction order, with its
 * diffusers name and shape. */
typedef void (*rg_unet_tensor_fn)(const char *name, int ndim, const int64_t *shape, gpointer user_data);
/* Lists the tensors (name, shape) that rg_unet_new() loads for @c. */
RG_API gboolean rg_unet_required_tensors(const rg_unet_config *c, rg_unet_tensor_fn fn, gpointer user_data,
                                         GError **error);

/* Builds the model, loading every tensor from @w (borrowed; the tensors are
 * copied) with the shape @c implies. Errors: those of rg_weights_load()
 * (RG_ERROR_FORMAT naming the tensor, the expected and the found shape),
 * RG_ERROR_ARGUMENT for a bad config. */
RG_API rg_unet *rg_unet_new(const rg_unet_config *c, rg_weights *w, GError **error);
RG_API void rg_unet_free(rg_unet *u);
/* (transfer none) */
RG_API const rg_unet_config *rg_unet_get_config(const rg_unet *u);

/* Number of decoder features (12 for SD1.5), the channels of feature @k and
 * its downsampling factor: feature k is (B, channels, H / factor, W / factor)
 * for a (B, 4, H, W) sample. */
RG_API int rg_unet_n_features(const rg_unet *u);
RG_API int rg_unet_feature_channels(const rg_unet *u, int k);
RG_API int rg_unet_feature_factor(const rg_unet *u, int k);
/* The factor H and W of a sample must be multiples of: 2^(n_levels - 1). */
RG_API int rg_unet_size_multiple(const rg_unet *u);

/* The model's tensors under their diffusers names, for training: names (new
 * strings: give @names g_free as its free function) and tensors (rg_tensor *,
 * transfer none) in the same order, that of rg_unet_required_tensors(). A
 * trainer marks them with rg_tensor_set_requires_grad(); gradients then reach
 * every one of them through the checkpointed blocks. */
RG_API void rg_unet_parameters(rg_unet *u, GPtrArray *names, GPtrArray *tensors);

/* Checkpointing of ResNet and transformer blocks while a tape is attached (on
 * by default). Off, a backward pass keeps every activation: faster, much more
 * memory. */
RG_API void rg_unet_set_checkpointing(rg_unet *u, gboolean checkpointing);

/* One evaluation of the UNet.
 * @sample: (B, in_channels, H, W), H and W multiples of rg_unet_size_multiple().
 * @timestep: (B) or (1) F32, raw timesteps (0..999 for SD).
 * @encoder_hidden_states: (B, T, cross_attention_dim), the text encoder's last hidden state.
 * @eps: (out) (B, out_channels, H, W) the prediction, or NULL when not wanted.
 * @features: (out) an array of rg_unet_n_features() tensors, or NULL.
 * At least one of @eps and @features must be given. Outputs are new
 * references. When only features are wanted, the layers after the last
 * decoder ResNet (the last attention block, conv_norm_out, conv_out) do not
 * run. Errors: RG_ERROR_SHAPE / RG_ERROR_DTYPE for inputs that do not fit,
 * naming them and their shapes; RG_ERROR_ARGUMENT; those of the operations. */
RG_API gboolean rg_unet_forward(rg_unet *u, rg_ctx *ctx, rg_tensor *sample, rg_tensor *timestep,
                                rg_tensor *encoder_hidden_states, rg_tensor **eps, rg_tensor **features,
                                GError **error);

/* The UNet's time embedding of @timestep (B) or (1) F32:
 * time_embedding(time_proj(t)) = linear_2(silu(linear_1(sinusoidal(t)))),
 * (B, time_embedding_dim), before the SiLU the ResNets apply. Readout heads
 * take it as their emb input (the official embed_timestep). */
RG_API rg_tensor *rg_unet_time_embedding(rg_unet *u, rg_ctx *ctx, rg_tensor *timestep, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_unet, rg_unet_free)

G_END_DECLS
