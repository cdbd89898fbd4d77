/* clip_internal.h — the inside of the CLIP text encoder, shared by the files
 * of core/models/clip/ (and reachable from tests).
 *
 * config.c  rg_clip_text_config: SD1.5, transformers config.json, validation
 * clip.c    construction (every tensor by name and shape), the token
 *           embedding lookup, the encoder layers and the forward
 */
#pragma once

#include "readout/clip.h"

/* One encoder layer (CLIPEncoderLayer), C = hidden_size, I = intermediate_size. */
typedef struct {
    rg_tensor *ln1_w, *ln1_b; // layer_norm1 (C), (C)
    rg_tensor *q_w, *q_b;     // self_attn.q_proj (C, C), (C)
    rg_tensor *k_w, *k_b;     // self_attn.k_proj (C, C), (C)
    rg_tensor *v_w, *v_b;     // self_attn.v_proj (C, C), (C)
    rg_tensor *o_w, *o_b;     // self_attn.out_proj (C, C), (C)
    rg_tensor *ln2_w, *ln2_b; // layer_norm2 (C), (C)
    rg_tensor *fc1_w, *fc1_b; // mlp.fc1 (I, C), (I)
    rg_tensor *fc2_w, *fc2_b; // mlp.fc2 (C, I), (C)
} clip_layer;

struct rg_clip_text {
    rg_clip_text_config config;
    rg_tensor *token_embedding;      // (V, C) text_model.embeddings.token_embedding.weight
    rg_tensor *position_embedding;   // (P, C) text_model.embeddings.position_embedding.weight
    clip_layer *layers;              // num_layers, text_model.encoder.layers.N
    rg_tensor *final_w, *final_b;    // (C), (C) text_model.final_layer_norm
};

/* Called for every tensor a config needs, in construction order (the order
 * of sd15_tensors.tsv), with its name in a diffusers text_encoder/ folder and
 * its shape. */
typedef void (*rg_clip_tensor_fn)(const char *name, int ndim, const int64_t *shape, gpointer user_data);
/* Lists the tensors (name, shape) that rg_clip_text_new() loads for @c.
 * RG_ERROR_ARGUMENT for a bad config. */
gboolean rg_clip_text_required_tensors(const rg_clip_text_config *c, rg_clip_tensor_fn fn, gpointer user_data,
                                       GError **error);

/* x (B, T, C) = token_embedding[ids[b, t]] + position_embedding[t]: a new
 * tensor, outside autograd (the tables get no gradient). @ids: (B, T) I64
 * with T <= P; RG_ERROR_ARGUMENT naming the first id out of [0, V) and its
 * position. */
rg_tensor *clip_embed(const rg_clip_text *m, rg_tensor *ids, GError **error);
