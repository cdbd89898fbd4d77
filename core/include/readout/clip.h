/* clip.h — the CLIP text encoder (transformers' CLIPTextModel), which turns
 * Stable Diffusion prompts into the UNet's encoder_hidden_states.
 *
 * SD1.5 uses OpenAI's CLIP ViT-L/14 text tower: token and learned position
 * embeddings (added), 12 pre-LayerNorm transformer layers with causal
 * self-attention (12 heads, q/k/v/out projections with bias) and a QuickGELU
 * MLP (768 -> 3072 -> 768), then final_layer_norm. The output is the last
 * hidden state, (B, 77, 768) for SD1.5; the pooled output and the projection
 * are not part of it.
 *
 *   rg_clip_text_config c;
 *   rg_clip_text_config_init_sd15 (&c);  // or rg_clip_text_config_load (&c, "text_encoder/config.json", &error)
 *   g_autoptr(rg_weights) w = rg_weights_open_safetensors ("text_encoder/model.safetensors", "", &error);
 *   g_autoptr(rg_clip_text) m = rg_clip_text_new (&c, w, &error);
 *   g_autoptr(rg_tensor) hidden = rg_clip_text_forward (m, ctx, input_ids, &error);  // (B, 77, 768)
 *
 * Weights are named as in a diffusers text_encoder/ folder
 * ("text_model.encoder.layers.0.self_attn.q_proj.weight"); the LDM
 * single-file names are the same under "cond_stage_model.transformer.".
 * "text_model.embeddings.position_ids", which some files hold, is not used.
 *
 * The encoder is frozen: its weights are private and the ids are integers,
 * so nothing in it can want a gradient. Its forward records nothing on the
 * context's tape, and its output is a constant there (a leaf the caller may
 * mark with rg_tensor_set_requires_grad() to optimise the embedding itself).
 */
#pragma once

#include "readout/weights.h"

G_BEGIN_DECLS

/* The MLP's activation (transformers' hidden_act). */
typedef enum {
    RG_CLIP_ACT_QUICK_GELU = 0, /* x * sigmoid(1.702 x): "quick_gelu", OpenAI CLIP (SD1.x) */
    RG_CLIP_ACT_GELU = 1,       /* exact erf GELU: "gelu", OpenCLIP (SD2.x, SDXL's second encoder) */
} rg_clip_activation;

/* A transformers CLIPTextConfig, the fields the text encoder uses. */
typedef struct {
    int vocab_size;        /* rows of token_embedding: 49408 */
    int hidden_size;       /* width C: 768 */
    int num_layers;        /* num_hidden_layers: 12 */
    int num_heads;         /* num_attention_heads: 12 (head size C / heads = 64) */
    int intermediate_size; /* MLP width: 3072 */
    int max_positions;     /* max_position_embeddings, the longest input: 77 */
    rg_clip_activation activation; /* quick_gelu */
    float layer_norm_eps;  /* 1e-5 */
} rg_clip_text_config;

typedef struct rg_clip_text rg_clip_text;

/* Fills @c with Stable Diffusion 1.5's text encoder (CLIP ViT-L/14). */
RG_API void rg_clip_text_config_init_sd15(rg_clip_text_config *c);
/* Reads a transformers text_encoder/config.json (a CLIPTextConfig, or a
 * CLIPConfig's "text_config"): hidden_size, num_hidden_layers,
 * num_attention_heads, intermediate_size, max_position_embeddings,
 * vocab_size, hidden_act, layer_norm_eps. Keys that are absent take
 * CLIPTextConfig's defaults, as transformers does. Errors: RG_ERROR_IO,
 * RG_ERROR_FORMAT (not JSON, a value of the wrong type, another kind of
 * model), RG_ERROR_UNSUPPORTED (a hidden_act other than quick_gelu and
 * gelu), RG_ERROR_ARGUMENT (values that do not make a model), each naming
 * the file and the key. */
RG_API gboolean rg_clip_text_config_load(rg_clip_text_config *c, const char *config_json_path, GError **error);
/* Checks that @c describes a buildable model (RG_ERROR_ARGUMENT naming the
 * offending field otherwise). */
RG_API gboolean rg_clip_text_config_validate(const rg_clip_text_config *c, GError **error);

/* Builds the encoder, loading every tensor from @w (borrowed; the tensors are
 * copied as F32) with the shape @c implies. Errors: RG_ERROR_FORMAT naming the
 * first missing or mismatched tensor with the expected and found shapes;
 * RG_ERROR_ARGUMENT for a bad config. */
RG_API rg_clip_text *rg_clip_text_new(const rg_clip_text_config *c, rg_weights *w, GError **error);
RG_API void rg_clip_text_free(rg_clip_text *m);
/* (transfer none) */
RG_API const rg_clip_text_config *rg_clip_text_get_config(const rg_clip_text *m);

/* The last hidden state for token ids @input_ids: (B, T) I64 (any strides),
 * 1 <= T <= max_positions, every id in [0, vocab_size). Returns (B, T,
 * hidden_size) F32 (transfer full). Errors: RG_ERROR_DTYPE / RG_ERROR_SHAPE
 * for ids that are not (B, T) I64 or too long, RG_ERROR_ARGUMENT for an id
 * out of range (naming the id and its position), those of the operations. */
RG_API rg_tensor *rg_clip_text_forward(rg_clip_text *m, rg_ctx *ctx, rg_tensor *input_ids, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_clip_text, rg_clip_text_free)

G_END_DECLS
