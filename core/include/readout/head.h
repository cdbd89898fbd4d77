/* head.h — Readout heads (Luo et al., CVPR 2024), exactly the official
 * AggregationNetwork (readout_guidance_spec.md §1).
 *
 * A head reads the decoder features of the UNet (rg_unet_forward()),
 * resizes each to the latent grid (bilinear, align_corners=False), passes
 * feature l through its own bottleneck block
 *   h = ReLU(GN(conv1 1x1 (x)));  h += ReLU(Linear(emb))  (when emb is given)
 *   h = ReLU(GN(conv2 3x3 (h)));  h = GN(conv3 1x1 (h));  out = ReLU(h + GN(shortcut 1x1 (x)))
 * and sums the blocks with softmax(mixing_weights). Spatial heads (pose,
 * depth, edge) then run the output head conv3x3 384->128, SiLU, conv3x3
 * 128->32, SiLU, conv1x1 32->C_out, tanh; relative heads (correspondence,
 * appearance, identity) output the projection_dim-channel map itself.
 *
 * Files: the official PyTorch .pt files ({"config": {...},
 * "aggregation_network": state_dict}), read with the restricted unpickler
 * (readout/torch_pt.h), keys and shapes checked strictly; and Readout's own
 * safetensors format: the tensors under their state_dict names, and the
 * metadata key "readout.head_config" holding JSON with every rg_head_config
 * field plus "format": "readout-head" and "version": 1 (and, for converted
 * .pt files, "readout.official_config": the official config as it was).
 *
 * Only heads that read one timestep (config save_timestep with one entry,
 * as every released head) are supported. A block whose input already has
 * projection_dim channels has no shortcut conv (the official shortcut = x).
 */
#pragma once

#include "readout/unet.h"

G_BEGIN_DECLS

#define RG_HEAD_MAX_LAYERS 32

typedef struct {
    int n_layers;                 /* L: decoder features read (12 for SD1.5) */
    int dims[RG_HEAD_MAX_LAYERS]; /* channels of feature l (config "dims") */
    int projection_dim;           /* P: 384 */
    int emb_dim;                  /* width of the UNet time embedding the emb Linear takes: 1280 */
    int norm_groups;              /* 32 */
    gboolean use_output_head;     /* spatial heads: TRUE */
    int output_channels;          /* C_out of the output head: 3 (18 for pose keypoints) */
    gboolean output_act;          /* tanh after the output head: TRUE */
    float control_range[2];       /* spatial heads' target range: (-0.5, 0.5) pose/edge, (-1, 1) depth */
    gboolean sparse_loss;         /* spatial heads' training loss (informational at guidance) */
    char base_model[128];         /* config "model_id": "runwayml/stable-diffusion-v1-5", ... */
    char role[32];                /* "appearance", "correspondence", "pose", "depth", "edge", "identity", or "" */
    /* DHF style (config aggregation_kwargs.bottleneck_sequential, the
     * official constructor's default): each block wrapped in nn.Sequential,
     * keys bottleneck_layers.{l}.0.*, and the official forward passes the
     * blocks no emb, so rg_head_forward() ignores @emb. FALSE for every
     * released Readout Guidance head. */
    gboolean bottleneck_sequential;
} rg_head_config;

typedef struct rg_head rg_head;

/* Opens an official .pt file or a Readout .safetensors head (told apart by
 * content). The role comes from the file's metadata, else from the file name
 * (readout_sdv15_drag_appearance.pt -> "appearance"; pose.safetensors ->
 * "pose"; the pose-keypoint head has none), else from an official config's
 * dataset_args.control_type (pose, depth, edge). An official config is read
 * as the official loader does: AggregationNetwork's defaults for absent
 * aggregation_kwargs (use_output_head False, output_head_channels 3,
 * output_head_act True, bottleneck_sequential True, num_norm_groups 32),
 * emb_dim from emb_layers.weight, control_range and sparse_loss from
 * dataset_args (absent: ControlDataset's, (-0.5, 0.5) and sparse for pose
 * and edge, else (-1, 1)). Errors: RG_ERROR_IO, RG_ERROR_FORMAT (not a head;
 * a missing, unexpected or mis-shaped key, naming it with both shapes; a
 * config that does not describe a head or contradicts the keys),
 * RG_ERROR_UNSUPPORTED (several save_timesteps; a newer format version). */
RG_API rg_head *rg_head_open(const char *path, GError **error);
/* A head with the official initialisation (c2_msra_fill convs, GN 1/0,
 * default Linear/Conv init, mixing weights 1), from @seed. */
RG_API rg_head *rg_head_new_random(const rg_head_config *c, guint64 seed, GError **error);
RG_API void rg_head_free(rg_head *h);
/* (transfer none) */
RG_API const rg_head_config *rg_head_get_config(const rg_head *h);
/* Writes Readout's safetensors format. */
RG_API gboolean rg_head_save(const rg_head *h, const char *path, GError **error);
/* FALSE with RG_ERROR_UNSUPPORTED when the head was made for another base
 * model than @u: other feature count, channels or time-embedding width; the
 * message names the head's base model and what differs. */
RG_API gboolean rg_head_check_unet(const rg_head *h, const rg_unet *u, GError **error);

/* The readout of @features (rg_head_config.n_layers tensors (B, dims[l], h_l, w_l))
 * at (B, C, @out_h, @out_w): C = output_channels for spatial heads, else
 * projection_dim. @emb: (B, emb_dim) or (1, emb_dim) broadcast, or NULL to
 * skip the emb term (the official use_emb=False); more than B rows: the
 * first B are used, as the official code does; ignored by DHF-style heads
 * (bottleneck_sequential). Differentiable with respect to the features and
 * emb; the head's weights are frozen unless made trainable
 * (rg_head_parameters()). With a tape attached each layer (resize +
 * bottleneck + mixing weight) is a checkpointed segment unless
 * rg_head_set_checkpointing() turned that off. */
RG_API rg_tensor *rg_head_forward(rg_head *h, rg_ctx *ctx, rg_tensor *const *features, rg_tensor *emb,
                                  int64_t out_h, int64_t out_w, GError **error);
/* The head's tensors under their state_dict names, for training: names
 * (new strings: give @names g_free as its free function) and tensors
 * (rg_tensor *, transfer none) in the same order, that of the state_dict. */
RG_API void rg_head_parameters(rg_head *h, GPtrArray *names, GPtrArray *tensors);
/* Checkpointing of the layers while a tape is attached (on by default). Off,
 * a backward pass keeps every activation of every layer at the output
 * resolution: a little faster, much more memory. */
RG_API void rg_head_set_checkpointing(rg_head *h, gboolean checkpointing);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_head, rg_head_free)

G_END_DECLS
