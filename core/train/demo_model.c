/* demo_model.c — the demo model of issue 5 before training: the frozen text
 * encoder with transformers' CLIP initialisation from a fixed seed, the
 * space-to-depth autoencoder's config, and the diffusers folder that holds
 * them with the scene world's tokenizer and a freshly initialised UNet.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "models/clip/clip_internal.h"
#include "readout/scene.h"
#include "readout/tokenizer.h"
#include "train/train_internal.h"

#define KEY_CLIP_INIT 0x636c6970ULL /* "clip" */

void rg_demo_text_config_init(rg_clip_text_config *c, int vocab_size)
{
    memset(c, 0, sizeof *c);
    c->vocab_size = vocab_size;
    c->hidden_size = 64;
    c->num_layers = 2;
    c->num_heads = 4;
    c->intermediate_size = 128;
    c->max_positions = 77;
    c->activation = RG_CLIP_ACT_QUICK_GELU;
    c->layer_norm_eps = 1e-5f;
}

static char *text_config_json(const rg_clip_text_config *c, int64_t bos, int64_t eos)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "architectures");
    json_builder_begin_array(b);
    json_builder_add_string_value(b, "CLIPTextModel");
    json_builder_end_array(b);
    train_json_add_int(b, "bos_token_id", bos);
    train_json_add_int(b, "eos_token_id", eos);
    train_json_add_string(b, "hidden_act", c->activation == RG_CLIP_ACT_GELU ? "gelu" : "quick_gelu");
    train_json_add_int(b, "hidden_size", c->hidden_size);
    train_json_add_int(b, "intermediate_size", c->intermediate_size);
    json_builder_set_member_name(b, "layer_norm_eps");
    json_builder_add_double_value(b, train_clean_float(c->layer_norm_eps));
    train_json_add_int(b, "max_position_embeddings", c->max_positions);
    train_json_add_string(b, "model_type", "clip_text_model");
    train_json_add_int(b, "num_attention_heads", c->num_heads);
    train_json_add_int(b, "num_hidden_layers", c->num_layers);
    train_json_add_int(b, "vocab_size", c->vocab_size);
    json_builder_end_object(b);
    return rg_json_builder_text(b, TRUE, NULL);
}

static const char model_index_json[] =
    "{\n"
    "  \"_class_name\": \"StableDiffusionPipeline\",\n"
    "  \"_diffusers_version\": \"0.21.4\",\n"
    "  \"scheduler\": [\"diffusers\", \"DDIMScheduler\"],\n"
    "  \"text_encoder\": [\"transformers\", \"CLIPTextModel\"],\n"
    "  \"tokenizer\": [\"transformers\", \"CLIPTokenizer\"],\n"
    "  \"unet\": [\"diffusers\", \"UNet2DConditionModel\"],\n"
    "  \"vae\": [\"readout\", \"ReadoutSpaceToDepth\"]\n"
    "}\n";

static const char vae_config_json[] =
    "{\n"
    "  \"_class_name\": \"ReadoutSpaceToDepth\",\n"
    "  \"factor\": 2,\n"
    "  \"in_channels\": 3\n"
    "}\n";

/* ---- the text encoder's initialisation --------------------------------------- */

typedef struct {
    const rg_clip_text_config *c;
    GPtrArray *names;   /* char * */
    GPtrArray *tensors; /* rg_tensor * */
    GError *error;
} clip_init;

/* transformers' CLIPPreTrainedModel._init_weights with initializer_factor 1:
 * embeddings N(0, 0.02); q/k/v N(0, C^-0.5 (2 L)^-0.5), out_proj N(0, C^-0.5);
 * fc1 N(0, (2 C)^-0.5), fc2 N(0, C^-0.5 (2 L)^-0.5); biases 0; LayerNorms 1, 0. */
static double clip_std(const rg_clip_text_config *c, const char *name)
{
    const double C = c->hidden_size, in_proj = pow(C, -0.5) * pow(2.0 * c->num_layers, -0.5);
    if (!g_str_has_suffix(name, ".weight") || strstr(name, "layer_norm"))
        return 0;
    if (strstr(name, "embedding"))
        return 0.02;
    if (strstr(name, "q_proj") || strstr(name, "k_proj") || strstr(name, "v_proj") || strstr(name, "fc2"))
        return in_proj;
    if (strstr(name, "out_proj"))
        return pow(C, -0.5);
    if (strstr(name, "fc1"))
        return pow(2.0 * C, -0.5);
    return 0;
}

static void clip_init_one(const char *name, int ndim, const int64_t *shape, gpointer user_data)
{
    clip_init *ci = user_data;
    if (ci->error)
        return;
    rg_tensor *t = rg_tensor_new(RG_DTYPE_F32, ndim, shape, &ci->error);
    if (!t)
        return;
    float *d = rg_tensor_data_f32(t);
    const int64_t count = rg_tensor_numel(t);
    const double std = clip_std(ci->c, name);
    const gboolean norm_weight = strstr(name, "layer_norm") && g_str_has_suffix(name, ".weight");
    rg_rng r;
    rg_rng_init(&r, RG_DEMO_TEXT_ENCODER_SEED, KEY_CLIP_INIT, rg_hash_string(name), 0);
    for (int64_t k = 0; k < count; k++)
        d[k] = std > 0 ? (float)(std * rg_rng_normal(&r)) : norm_weight ? 1.0f : 0.0f;
    g_ptr_array_add(ci->names, g_strdup(name));
    g_ptr_array_add(ci->tensors, t);
}

static gboolean write_text_encoder(const char *dir, const rg_clip_text_config *c, GError **error)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    clip_init ci = {c, names, tensors, NULL};
    if (!rg_clip_text_required_tensors(c, clip_init_one, &ci, error))
        return FALSE;
    if (ci.error) {
        g_propagate_error(error, ci.error);
        return FALSE;
    }
    g_autofree char *path = g_build_filename(dir, "model.safetensors", NULL);
    g_autofree char *seed = g_strdup_printf("%d", RG_DEMO_TEXT_ENCODER_SEED);
    const char *meta[] = {"format", "pt", "readout.init", "transformers CLIP init, keyed by tensor name",
                          "readout.seed", seed, NULL};
    return rg_safetensors_save(path, (int)names->len, (const char *const *)names->pdata,
                               (rg_tensor *const *)tensors->pdata, meta, error);
}

/* ---- the folder ------------------------------------------------------------------ */

static gboolean write_file(const char *dir, const char *name, const char *text, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) e = NULL;
    if (!g_file_set_contents(path, text, -1, &e)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s", e->message);
        return FALSE;
    }
    return TRUE;
}

static gboolean make_dir(const char *path, GError **error)
{
    if (g_mkdir_with_parents(path, 0777) == 0)
        return TRUE;
    int e = errno;
    g_set_error(error, RG_ERROR, RG_ERROR_IO, "cannot create the folder %s: %s", path, g_strerror(e));
    return FALSE;
}

/* The UNet's weights under their diffusers names, written atomically. */
static gboolean write_unet_weights(rg_unet *u, const char *path, GError **error)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) tensors = g_ptr_array_new();
    rg_unet_parameters(u, names, tensors);
    const char *meta[] = {"format", "pt", NULL};
    return rg_safetensors_save(path, (int)names->len, (const char *const *)names->pdata,
                               (rg_tensor *const *)tensors->pdata, meta, error);
}

gboolean rg_demo_model_create(const char *dir, const rg_unet_config *unet_config, guint64 unet_seed, GError **error)
{
    g_return_val_if_fail(dir != NULL, FALSE);
    rg_unet_config uc;
    if (unet_config)
        uc = *unet_config;
    else
        rg_demo_unet_config_init(&uc);
    if (!rg_unet_config_validate(&uc, error))
        return FALSE;
    g_autofree char *tok_dir = g_build_filename(dir, "tokenizer", NULL);
    g_autofree char *text_dir = g_build_filename(dir, "text_encoder", NULL);
    g_autofree char *vae_dir = g_build_filename(dir, "vae", NULL);
    g_autofree char *unet_dir = g_build_filename(dir, "unet", NULL);
    if (!make_dir(tok_dir, error) || !make_dir(text_dir, error) || !make_dir(vae_dir, error) ||
        !make_dir(unet_dir, error) || !rg_scene_write_tokenizer(tok_dir, error))
        return FALSE;
    g_autoptr(rg_tokenizer) tok = rg_tokenizer_new_from_dir(tok_dir, error);
    if (!tok)
        return FALSE;
    rg_clip_text_config tc;
    rg_demo_text_config_init(&tc, rg_tokenizer_vocab_size(tok));
    if (uc.cross_attention_dim != tc.hidden_size) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "demo model: the UNet's cross_attention_dim %d is not the "
                    "demo text encoder's width %d", uc.cross_attention_dim, tc.hidden_size);
        return FALSE;
    }
    g_autofree char *text_json = text_config_json(&tc, rg_tokenizer_bos(tok), rg_tokenizer_eos(tok));
    g_autofree char *unet_json = rg_unet_config_to_json(&uc);
    g_autoptr(rg_unet) u = rg_unet_new_random(&uc, unet_seed, error);
    g_autofree char *unet_weights = g_build_filename(unet_dir, "diffusion_pytorch_model.safetensors", NULL);
    return u && write_file(text_dir, "config.json", text_json, error) && write_text_encoder(text_dir, &tc, error) &&
           write_file(vae_dir, "config.json", vae_config_json, error) &&
           write_file(unet_dir, "config.json", unet_json, error) && write_unet_weights(u, unet_weights, error) &&
           write_file(dir, "model_index.json", model_index_json, error);
}

