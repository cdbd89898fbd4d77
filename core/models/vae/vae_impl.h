/* vae_impl.h — the inside of rg_vae, shared by the files of core/models/vae/ and the
 * VAE's tests.
 *
 * blocks.c: the building blocks (ResNet, mid attention, down/up samplers,
 *           output head) — their weights and forward functions.
 * config.c: rg_vae_config defaults, validation and config.json loading.
 * vae.c:    construction from rg_weights, encode, sample, decode.
 *
 * Weights are requested through a vae_loader, which either loads them from an
 * rg_weights or, for rg_vae_required_tensors(), only writes down each name
 * and shape: the list of required tensors is by construction what the
 * constructor asks for.
 */
#pragma once

#include "readout/vae.h"
#include "tensor/tensor_impl.h"

#define VAE_NORM_EPS 1e-6f

/* ---- loading ------------------------------------------------------------- */

/* One tensor the VAE needs: its diffusers name (relative to the VAE) and shape. */
typedef struct {
    char *name;
    int ndim;
    int64_t shape[4];
} rg_vae_tensor_spec;

typedef struct {
    rg_weights *w;      /* NULL: only record */
    GPtrArray *record;  /* of rg_vae_tensor_spec *, when recording */
    GError *error;      /* the first failure; later requests return NULL */
} vae_loader;

/* The tensor @name of shape (d0, ..., d{ndim-1}); NULL when recording or
 * after a failure (then l->error is set). */
rg_tensor *vae_load(vae_loader *l, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3);

/* ---- blocks -------------------------------------------------------------- */

typedef struct {
    rg_tensor *weight, *bias;
} vae_conv;

typedef struct {
    rg_tensor *weight, *bias;
} vae_norm;

/* ResnetBlock2D without time embedding: x + conv2(silu(norm2(conv1(silu(norm1(x)))))),
 * the skip through a 1x1 conv_shortcut when the channels change. */
typedef struct {
    int groups;
    vae_norm norm1, norm2;
    vae_conv conv1, conv2;
    vae_conv shortcut; /* NULL weight: identity */
} vae_resnet;

/* The mid block's single-head self-attention: x + to_out(attn(to_q(t), to_k(t), to_v(t)))
 * with t = group_norm(x) as (B, H*W, C) tokens. Linear weights (C, C). */
typedef struct {
    int groups;
    vae_norm norm;
    vae_conv q, k, v, out;
} vae_attention;

/* conv_norm_out, SiLU, conv_out. */
typedef struct {
    int groups;
    vae_norm norm;
    vae_conv conv;
} vae_head;

typedef struct {
    int n_resnets;
    vae_resnet *resnets;
    vae_conv sampler; /* down: pad (0,1,0,1) + conv 3x3 stride 2; up: nearest 2x + conv 3x3; NULL weight: none */
} vae_level;

typedef struct {
    vae_resnet resnet0, resnet1;
    gboolean has_attention;
    vae_attention attention;
} vae_mid;

/* Loaders: @prefix ends with '.', e.g. "encoder.down_blocks.0.resnets.0.". */
void vae_resnet_load(vae_loader *l, vae_resnet *r, const char *prefix, int cin, int cout, int groups);
void vae_attention_load(vae_loader *l, vae_attention *a, const char *prefix, int c, int groups);
void vae_head_load(vae_loader *l, vae_head *h, const char *norm_prefix, const char *conv_prefix, int cin, int cout,
                   int groups);
void vae_conv_load(vae_loader *l, vae_conv *c, const char *prefix, int cin, int cout, int k);
void vae_resnet_clear(vae_resnet *r);
void vae_attention_clear(vae_attention *a);
void vae_head_clear(vae_head *h);
void vae_conv_clear(vae_conv *c);

/* Forward passes (new reference, NULL on error). Each ResNet, attention and
 * head is a checkpointed segment when @x needs a gradient. */
rg_tensor *vae_resnet_forward(rg_ctx *ctx, vae_resnet *r, rg_tensor *x, GError **error);  // (B, Cin, H, W) -> (B, Cout, H, W)
rg_tensor *vae_attention_forward(rg_ctx *ctx, vae_attention *a, rg_tensor *x, GError **error); // (B, C, H, W) -> same
rg_tensor *vae_head_forward(rg_ctx *ctx, vae_head *h, rg_tensor *x, GError **error);      // (B, Cin, H, W) -> (B, Cout, H, W)
rg_tensor *vae_downsample_forward(rg_ctx *ctx, vae_conv *c, rg_tensor *x, GError **error); // (B, C, H, W) -> (B, C, H/2, W/2)
rg_tensor *vae_upsample_forward(rg_ctx *ctx, vae_conv *c, rg_tensor *x, GError **error);   // (B, C, H, W) -> (B, C, 2H, 2W)

/* ---- the model ----------------------------------------------------------- */

struct rg_vae {
    rg_vae_config config;
    /* encoder */
    vae_conv enc_conv_in;
    vae_level enc_levels[RG_VAE_MAX_LEVELS];
    vae_mid enc_mid;
    vae_head enc_head;
    vae_conv quant_conv; /* NULL weight when !use_quant_conv */
    /* decoder */
    vae_conv post_quant_conv; /* NULL weight when !use_post_quant_conv */
    vae_conv dec_conv_in;
    vae_mid dec_mid;
    vae_level dec_levels[RG_VAE_MAX_LEVELS]; /* dec_levels[i] is diffusers' up_blocks.i (deepest first) */
    vae_head dec_head;
};

/* RG_ERROR_ARGUMENT naming @op when @config is not a valid VAE configuration. */
gboolean rg_vae_config_check(const rg_vae_config *config, const char *op, GError **error);

/* Every tensor that rg_vae_new() asks for with @config, in the order it asks
 * (the forward order of sd15_tensors.tsv). (transfer full; free with
 * g_ptr_array_unref) NULL and RG_ERROR_ARGUMENT for a bad config. */
GPtrArray *rg_vae_required_tensors(const rg_vae_config *config, GError **error);
