/* pipeline.c — loading a model for the jobs (UNet, VAE, text encoder,
 * tokenizer), prompts, and the heads by role. */
#include <math.h>
#include <string.h>

#include "io/json_untrusted.h"
#include "pipeline/pipeline_impl.h"
#include "readout/model.h"

/* The model's tokenizer/ folder, else $READOUT_TOKENIZER_DIR (single-file
 * checkpoints carry no vocabulary). */
static rg_tokenizer *load_tokenizer(rg_model *m, const char *path, GError **error)
{
    g_autofree char *dir = rg_model_tokenizer_dir(m);
    if (!dir && g_getenv("READOUT_TOKENIZER_DIR"))
        dir = g_strdup(g_getenv("READOUT_TOKENIZER_DIR"));
    if (!dir) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT,
                    "%s has no tokenizer (vocab.json, merges.txt): single-file checkpoints carry none; "
                    "set READOUT_TOKENIZER_DIR to a CLIP tokenizer folder", path);
        return NULL;
    }
    return rg_tokenizer_new_from_dir(dir, error);
}

/* A model folder's readout.json: settings its maker found right for it, in
 * place of the official ones tuned for SD1.5. Only "real_drag_cfg" (the
 * demo model reconstructs an inverted image at CFG 1 and not at 3.5). */
static gboolean load_model_settings(rg_pipeline *p, const char *path, GError **error)
{
    p->real_drag_cfg = 3.5f;
    g_autofree char *file = g_build_filename(path, "readout.json", NULL);
    if (!g_file_test(file, G_FILE_TEST_IS_REGULAR))
        return TRUE;
    g_autoptr(JsonNode) root = rg_json_read_object_file(file, error);
    if (!root)
        return FALSE;
    JsonNode *v = json_object_get_member(json_node_get_object(root), "real_drag_cfg");
    if (!v)
        return TRUE;
    const GType t = JSON_NODE_HOLDS_VALUE(v) ? json_node_get_value_type(v) : G_TYPE_INVALID;
    const double cfg = t == G_TYPE_DOUBLE || t == G_TYPE_INT64 ? json_node_get_double(v) : NAN;
    if (!(cfg >= 1.0 && cfg <= 30.0)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: \"real_drag_cfg\" must be a number from 1 to 30", file);
        return FALSE;
    }
    p->real_drag_cfg = (float)cfg;
    return TRUE;
}

rg_pipeline *rg_pipeline_new(const char *path, rg_backend *backend, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_autoptr(rg_pipeline) p = g_new0(rg_pipeline, 1);
    g_autoptr(rg_model) m = rg_model_open(path, error);
    if (!m || !rg_model_check(m, error) || !load_model_settings(p, path, error) ||
        !(p->ctx = rg_ctx_new(backend, error)))
        return NULL;
    if (!(p->unet = rg_model_load_unet(m, error)) || !(p->vae = rg_model_load_vae(m, error)) ||
        !(p->text = rg_model_load_text_encoder(m, error)) ||
        !(p->tokenizer = load_tokenizer(m, path, error)))
        return NULL;
    const rg_unet_config *uc = rg_unet_get_config(p->unet);
    const rg_vae_config *vc = rg_vae_get_config(p->vae);
    if (uc->in_channels != vc->latent_channels || uc->out_channels != vc->latent_channels) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT,
                    "%s: the UNet takes %d channels and predicts %d, the VAE's latent has %d", path,
                    uc->in_channels, uc->out_channels, vc->latent_channels);
        return NULL;
    }
    if (uc->cross_attention_dim != rg_clip_text_get_config(p->text)->hidden_size) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: the UNet attends to width %d, the text encoder gives %d",
                    path, uc->cross_attention_dim, rg_clip_text_get_config(p->text)->hidden_size);
        return NULL;
    }
    p->vae_factor = 1 << (vc->n_levels - 1);
    p->native_size = (uc->sample_size > 0 ? uc->sample_size : 64) * p->vae_factor;
    // SD1.x's VAE (4 latent channels, 128..512 wide, factor 0.18215) has a known linear preview.
    p->sd_latent_rgb = vc->latent_channels == 4 && vc->out_channels == 3 && vc->n_levels == 4 &&
                       vc->block_out_channels[0] == 128 && vc->scaling_factor > 0.18f && vc->scaling_factor < 0.19f;
    return g_steal_pointer(&p);
}

void rg_pipeline_free(rg_pipeline *p)
{
    if (!p)
        return;
    rg_unet_free(p->unet);
    rg_vae_free(p->vae);
    rg_clip_text_free(p->text);
    rg_tokenizer_free(p->tokenizer);
    rg_ctx_free(p->ctx);
    g_free(p);
}

int rg_pipeline_native_size(const rg_pipeline *p)
{
    return p->native_size;
}

int rg_pipeline_size_multiple(const rg_pipeline *p)
{
    return p->vae_factor * rg_unet_size_multiple(p->unet);
}

rg_unet *rg_pipeline_get_unet(rg_pipeline *p)
{
    return p->unet;
}

rg_tensor *encode_prompt(rg_pipeline *p, const char *prompt, GError **error)
{
    int64_t ids[RG_TOKENIZER_CONTEXT_LENGTH];
    const int64_t shape[2] = {1, RG_TOKENIZER_CONTEXT_LENGTH};
    if (!rg_tokenizer_encode(p->tokenizer, prompt ? prompt : "", RG_TOKENIZER_CONTEXT_LENGTH, ids, NULL, error))
        return NULL;
    g_autoptr(rg_tensor) t = rg_tensor_new_from_data(RG_DTYPE_I64, 2, shape, ids, error);
    return t ? rg_clip_text_forward(p->text, p->ctx, t, error) : NULL;
}

/* ---- heads by role ---------------------------------------------------------- */

struct rg_head_set {
    GHashTable *heads; /* role -> rg_head */
};

rg_head_set *rg_head_set_new(void)
{
    rg_head_set *set = g_new0(rg_head_set, 1);
    set->heads = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)rg_head_free);
    return set;
}

void rg_head_set_free(rg_head_set *set)
{
    if (!set)
        return;
    g_hash_table_unref(set->heads);
    g_free(set);
}

gboolean rg_head_set_add(rg_head_set *set, const char *role, rg_head *head, GError **error)
{
    g_return_val_if_fail(set != NULL && head != NULL, FALSE);
    if (!role || !*role)
        role = rg_head_get_config(head)->role;
    if (!*role) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "head set: the head has no role (name the file after it, "
                    "e.g. appearance.safetensors)");
        rg_head_free(head);
        return FALSE;
    }
    if (g_hash_table_contains(set->heads, role)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "head set: two heads for the role \"%s\"", role);
        rg_head_free(head);
        return FALSE;
    }
    g_hash_table_insert(set->heads, g_strdup(role), head);
    return TRUE;
}

rg_head *rg_head_set_get(const rg_head_set *set, const char *role)
{
    return set && role ? g_hash_table_lookup(set->heads, role) : NULL;
}

rg_head_set *rg_head_set_open_dir(const char *dir, GError **error)
{
    g_autoptr(GError) dir_error = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &dir_error);
    if (!d) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "heads folder: %s", dir_error->message);
        return NULL;
    }
    g_autoptr(rg_head_set) set = rg_head_set_new();
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    for (const char *n; (n = g_dir_read_name(d));)
        if (g_str_has_suffix(n, ".pt") || g_str_has_suffix(n, ".safetensors"))
            g_ptr_array_add(names, g_strdup(n));
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0); // stable messages whatever the folder order
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(dir, names->pdata[i], NULL);
        g_autoptr(rg_head) h = rg_head_open(path, error);
        if (!h)
            return NULL;
        if (!*rg_head_get_config(h)->role)
            continue; // not a head of a known role: leave it be
        if (!rg_head_set_add(set, NULL, g_steal_pointer(&h), error)) {
            g_prefix_error(error, "%s: ", path);
            return NULL;
        }
    }
    return g_steal_pointer(&set);
}
