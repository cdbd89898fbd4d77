/* unet_internal.h — the UNet's building blocks, shared by the files of
 * core/models/unet/ (and reachable from tests).
 *
 * resnet.c       ResnetBlock2D, Downsample2D, Upsample2D
 * transformer.c  Transformer2DModel with its BasicTransformerBlocks
 * config.c       rg_unet_config: SD1.5, diffusers config.json, validation
 * unet.c         construction from a tensor source, forward, feature capture
 *
 * Blocks get their tensors from a unet_source: rg_weights for rg_unet_new(),
 * a recorder for rg_unet_required_tensors(), or anything else (random
 * weights for benchmarks) through rg_unet_new_from_source().
 */
#pragma once

#include "readout/unet.h"

/* Most ResNets per block and transformer blocks per transformer accepted. */
#define RG_UNET_MAX_LAYERS 64

/* Returns the tensor @name of @ndim dimensions @shape (a new reference) or
 * NULL with @error set. */
typedef rg_tensor *(*rg_unet_source_fn)(const char *name, int ndim, const int64_t *shape, gpointer data,
                                        GError **error);

/* Builds the model with tensors from @fn. */
rg_unet *rg_unet_new_from_source(const rg_unet_config *c, rg_unet_source_fn fn, gpointer data, GError **error);

typedef struct {
    rg_unet_source_fn fn;
    gpointer data;
} unet_source;

/* "@prefix.@suffix" with @ndim dimensions d0.. from @src. */
rg_tensor *unet_param(unet_source *src, const char *prefix, const char *suffix, int ndim, const int64_t *shape,
                      GError **error);

/* ---- ResnetBlock2D ------------------------------------------------------- */

typedef struct {
    int in_channels, out_channels, groups;
    float eps;
    rg_tensor *norm1_w, *norm1_b;   // (Cin)
    rg_tensor *conv1_w, *conv1_b;   // (Cout, Cin, 3, 3), (Cout)
    rg_tensor *temb_w, *temb_b;     // time_emb_proj (Cout, Temb), (Cout)
    rg_tensor *norm2_w, *norm2_b;   // (Cout)
    rg_tensor *conv2_w, *conv2_b;   // (Cout, Cout, 3, 3), (Cout)
    rg_tensor *short_w, *short_b;   // conv_shortcut (Cout, Cin, 1, 1), (Cout); NULL when Cin == Cout
} unet_resnet;

gboolean unet_resnet_init(unet_resnet *r, unet_source *src, const char *prefix, int in_channels, int out_channels,
                          int temb_channels, int groups, float eps, GError **error);
void unet_resnet_clear(unet_resnet *r);
/* out = shortcut(x') + f with f = conv2(silu(gn2(conv1(silu(gn1(x'))) + proj(temb_act)))),
 * x' = cat([x, skip], channels) when @skip is given. @feature (may be NULL)
 * receives f, the decoder feature. A checkpointed segment when @checkpoint.
 * x (B, Cx, H, W), skip (B, Cs, H, W) or NULL, temb_act (B or 1, Temb) = silu(temb). */
gboolean unet_resnet_forward(rg_ctx *ctx, unet_resnet *r, gboolean checkpoint, rg_tensor *x, rg_tensor *skip,
                             rg_tensor *temb_act, rg_tensor **out, rg_tensor **feature, GError **error);

/* Downsample2D: conv3x3 stride 2 padding 1; Upsample2D: nearest 2x then conv3x3. */
typedef struct {
    rg_tensor *conv_w, *conv_b; // (C, C, 3, 3), (C)
} unet_sampler;

gboolean unet_sampler_init(unet_sampler *s, unet_source *src, const char *prefix, int channels, GError **error);
void unet_sampler_clear(unet_sampler *s);
rg_tensor *unet_downsample(rg_ctx *ctx, unet_sampler *s, rg_tensor *x, GError **error);
rg_tensor *unet_upsample(rg_ctx *ctx, unet_sampler *s, gboolean checkpoint, rg_tensor *x, GError **error);

/* ---- Transformer2DModel -------------------------------------------------- */

typedef struct unet_transformer unet_transformer;

typedef struct {
    unet_transformer *parent;
    int index;
    rg_tensor *norm1_w, *norm1_b;                                      // (C)
    rg_tensor *attn1_q, *attn1_k, *attn1_v, *attn1_out_w, *attn1_out_b; // (C, C) x4, (C)
    rg_tensor *norm2_w, *norm2_b;                                      // (C)
    rg_tensor *attn2_q, *attn2_k, *attn2_v, *attn2_out_w, *attn2_out_b; // (C, C), (C, Dc) x2, (C, C), (C)
    rg_tensor *norm3_w, *norm3_b;                                      // (C)
    rg_tensor *ff1_w, *ff1_b; // GEGLU proj (8C, C), (8C)
    rg_tensor *ff2_w, *ff2_b; // (C, 4C), (C)
} unet_tblock;

struct unet_transformer {
    int channels, heads, depth, groups;
    gboolean linear;                    /* use_linear_projection: (C, C) linears asked for, else (C, C, 1, 1) convs */
    rg_tensor *norm_w, *norm_b;         // (C)
    rg_tensor *proj_in_w, *proj_in_b;   // (C, C) or (C, C, 1, 1) as stored, (C)
    rg_tensor *proj_out_w, *proj_out_b; // (C, C) or (C, C, 1, 1) as stored, (C)
    unet_tblock *blocks;                /* depth of them */
};

gboolean unet_transformer_init(unet_transformer *t, unet_source *src, const char *prefix, int channels, int heads,
                               int depth, int cross_dim, int groups, gboolean linear, GError **error);
void unet_transformer_clear(unet_transformer *t);
/* x (B, C, H, W), context (B, T, Dc) -> (B, C, H, W); one checkpointed
 * segment per BasicTransformerBlock when @checkpoint (the first also does
 * norm and proj_in, the last proj_out and the residual). */
rg_tensor *unet_transformer_forward(rg_ctx *ctx, unet_transformer *t, gboolean checkpoint, rg_tensor *x,
                                    rg_tensor *context, GError **error);

/* Runs @fn as a checkpointed segment when @checkpoint and a tape is
 * attached, else directly. */
gboolean unet_segment(rg_ctx *ctx, gboolean checkpoint, rg_segment_fn fn, gpointer user_data,
                      rg_tensor *const *inputs, int n_inputs, rg_tensor **outputs, int n_outputs, GError **error);
