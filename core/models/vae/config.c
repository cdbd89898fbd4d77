/* config.c — rg_vae_config: the SD1.5 defaults, validation, and reading a
 * diffusers vae/config.json (AutoencoderKL) with json-glib. */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "models/vae/vae_impl.h"

/* diffusers' AutoencoderKL.__init__ defaults (autoencoders/autoencoder_kl.py) */
static void config_init_diffusers_defaults(rg_vae_config *c)
{
    memset(c, 0, sizeof *c);
    c->in_channels = 3;
    c->out_channels = 3;
    c->latent_channels = 4;
    c->n_levels = 1;
    c->block_out_channels[0] = 64;
    c->layers_per_block = 1;
    c->norm_num_groups = 32;
    c->scaling_factor = 0.18215f;
    c->use_quant_conv = TRUE;
    c->use_post_quant_conv = TRUE;
    c->mid_block_add_attention = TRUE;
}

void rg_vae_config_init_sd15(rg_vae_config *config)
{
    g_return_if_fail(config != NULL);
    config_init_diffusers_defaults(config);
    static const int boc[4] = {128, 256, 512, 512};
    config->n_levels = 4;
    memcpy(config->block_out_channels, boc, sizeof boc);
    config->layers_per_block = 2;
}

void rg_vae_config_init_space_to_depth(rg_vae_config *config, int in_channels, int factor)
{
    g_return_if_fail(config != NULL);
    config_init_diffusers_defaults(config);
    config->space_to_depth = TRUE;
    config->in_channels = config->out_channels = in_channels;
    config->n_levels = 1;
    while ((1 << (config->n_levels - 1)) < factor && config->n_levels < RG_VAE_MAX_LEVELS)
        config->n_levels++;
    const int f = 1 << (config->n_levels - 1);
    config->latent_channels = in_channels * f * f;
    config->scaling_factor = 1.0f;
    config->use_quant_conv = config->use_post_quant_conv = config->mid_block_add_attention = FALSE;
}

gboolean rg_vae_config_check(const rg_vae_config *c, const char *op, GError **error)
{
    const char *bad = NULL;
    if (c->in_channels < 1 || c->out_channels < 1 || c->latent_channels < 1)
        bad = "in_channels, out_channels and latent_channels must be positive";
    else if (c->n_levels < 1 || c->n_levels > RG_VAE_MAX_LEVELS)
        bad = "block_out_channels must have 1 to " G_STRINGIFY(RG_VAE_MAX_LEVELS) " entries";
    else if (c->layers_per_block < 1)
        bad = "layers_per_block must be at least 1";
    else if (c->norm_num_groups < 1)
        bad = "norm_num_groups must be positive";
    else if (!isfinite(c->scaling_factor) || c->scaling_factor == 0.0f)
        bad = "scaling_factor must be finite and non-zero";
    else if (c->space_to_depth && (c->out_channels != c->in_channels ||
                                   c->latent_channels != c->in_channels << (2 * (c->n_levels - 1))))
        bad = "a space-to-depth autoencoder has latent_channels = in_channels * factor^2 and out_channels = "
              "in_channels";
    if (bad) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: bad VAE config: %s", op, bad);
        return FALSE;
    }
    for (int i = 0; !c->space_to_depth && i < c->n_levels; i++) {
        int ch = c->block_out_channels[i];
        if (ch < 1 || ch % c->norm_num_groups != 0) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                        "%s: bad VAE config: block_out_channels[%d] = %d is not a positive multiple of "
                        "norm_num_groups = %d",
                        op, i, ch, c->norm_num_groups);
            return FALSE;
        }
    }
    return TRUE;
}

/* ---- config.json ----------------------------------------------------------- */

typedef struct {
    const char *path;
    GError **error;
} json_ctx;

static gboolean fail(json_ctx *j, int code, const char *key, const char *what)
{
    g_set_error(j->error, RG_ERROR, code, "%s: key \"%s\": %s", j->path, key, what);
    return FALSE;
}

static gboolean get_int(json_ctx *j, const char *key, JsonNode *node, int lo, int hi, int *out)
{
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
        return fail(j, RG_ERROR_FORMAT, key, "expected an integer");
    gint64 v = json_node_get_int(node);
    if (v < lo || v > hi) {
        g_autofree char *what = g_strdup_printf("%" G_GINT64_FORMAT " is out of range [%d, %d]", v, lo, hi);
        return fail(j, RG_ERROR_ARGUMENT, key, what);
    }
    *out = (int)v;
    return TRUE;
}

static gboolean get_bool(json_ctx *j, const char *key, JsonNode *node, gboolean *out)
{
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
        return fail(j, RG_ERROR_FORMAT, key, "expected true or false");
    *out = json_node_get_boolean(node);
    return TRUE;
}

static gboolean get_number(json_ctx *j, const char *key, JsonNode *node, double *out)
{
    GType t = JSON_NODE_HOLDS_VALUE(node) ? json_node_get_value_type(node) : G_TYPE_INVALID;
    if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
        return fail(j, RG_ERROR_FORMAT, key, "expected a number");
    *out = t == G_TYPE_INT64 ? (double)json_node_get_int(node) : json_node_get_double(node);
    return TRUE;
}

/* A string that must equal @want (UNSUPPORTED otherwise). */
static gboolean expect_string(json_ctx *j, const char *key, JsonNode *node, const char *want)
{
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return fail(j, RG_ERROR_FORMAT, key, "expected a string");
    const char *s = json_node_get_string(node);
    if (strcmp(s, want) != 0) {
        g_autofree char *what = g_strdup_printf("\"%s\" is not supported (only \"%s\")", s, want);
        return fail(j, RG_ERROR_UNSUPPORTED, key, what);
    }
    return TRUE;
}

/* An array of strings, each @want; its length in *@n. */
static gboolean block_types(json_ctx *j, const char *key, JsonNode *node, const char *want, int *n)
{
    if (!JSON_NODE_HOLDS_ARRAY(node))
        return fail(j, RG_ERROR_FORMAT, key, "expected an array of strings");
    JsonArray *a = json_node_get_array(node);
    *n = (int)json_array_get_length(a);
    for (int i = 0; i < *n; i++)
        if (!expect_string(j, key, json_array_get_element(a, i), want))
            return FALSE;
    return TRUE;
}

/* A ReadoutSpaceToDepth config: in_channels, factor (a power of 2), scaling_factor. */
static gboolean parse_space_to_depth(json_ctx *j, rg_vae_config *c, JsonObject *o)
{
    int in = 3, factor = 2;
    double scale = 1.0;
    JsonObjectIter it;
    const char *key;
    JsonNode *node;
    json_object_iter_init(&it, o);
    while (json_object_iter_next(&it, &key, &node)) {
        if (key[0] == '_')
            continue;
        if (strcmp(key, "in_channels") == 0) {
            if (!get_int(j, key, node, 1, 64, &in))
                return FALSE;
        } else if (strcmp(key, "factor") == 0) {
            if (!get_int(j, key, node, 1, 1 << (RG_VAE_MAX_LEVELS - 1), &factor))
                return FALSE;
            if (factor & (factor - 1))
                return fail(j, RG_ERROR_UNSUPPORTED, key, "the factor must be a power of 2");
        } else if (strcmp(key, "scaling_factor") == 0) {
            if (!get_number(j, key, node, &scale))
                return FALSE;
        } else {
            return fail(j, RG_ERROR_UNSUPPORTED, key, "unknown option of ReadoutSpaceToDepth");
        }
    }
    rg_vae_config_init_space_to_depth(c, in, factor);
    c->scaling_factor = (float)scale;
    return TRUE;
}

static gboolean parse_member(json_ctx *j, rg_vae_config *c, const char *key, JsonNode *node, int *n_down, int *n_up)
{
    if (strcmp(key, "_class_name") == 0)
        return expect_string(j, key, node, "AutoencoderKL");
    if (key[0] == '_' || strcmp(key, "sample_size") == 0 || strcmp(key, "force_upcast") == 0)
        return TRUE; /* metadata; the tile size; f16 advice (everything runs in f32 here) */
    if (strcmp(key, "in_channels") == 0)
        return get_int(j, key, node, 1, 1 << 16, &c->in_channels);
    if (strcmp(key, "out_channels") == 0)
        return get_int(j, key, node, 1, 1 << 16, &c->out_channels);
    if (strcmp(key, "latent_channels") == 0)
        return get_int(j, key, node, 1, 1 << 16, &c->latent_channels);
    if (strcmp(key, "layers_per_block") == 0)
        return get_int(j, key, node, 1, 64, &c->layers_per_block);
    if (strcmp(key, "norm_num_groups") == 0)
        return get_int(j, key, node, 1, 1 << 16, &c->norm_num_groups);
    if (strcmp(key, "use_quant_conv") == 0)
        return get_bool(j, key, node, &c->use_quant_conv);
    if (strcmp(key, "use_post_quant_conv") == 0)
        return get_bool(j, key, node, &c->use_post_quant_conv);
    if (strcmp(key, "mid_block_add_attention") == 0)
        return get_bool(j, key, node, &c->mid_block_add_attention);
    if (strcmp(key, "act_fn") == 0)
        return expect_string(j, key, node, "silu");
    if (strcmp(key, "down_block_types") == 0)
        return block_types(j, key, node, "DownEncoderBlock2D", n_down);
    if (strcmp(key, "up_block_types") == 0)
        return block_types(j, key, node, "UpDecoderBlock2D", n_up);
    if (strcmp(key, "scaling_factor") == 0) {
        double v;
        if (!get_number(j, key, node, &v))
            return FALSE;
        c->scaling_factor = (float)v;
        return TRUE;
    }
    if (strcmp(key, "shift_factor") == 0) {
        double v;
        if (JSON_NODE_HOLDS_NULL(node))
            return TRUE;
        if (!get_number(j, key, node, &v))
            return FALSE;
        return v == 0 ? TRUE : fail(j, RG_ERROR_UNSUPPORTED, key, "a latent shift is not supported");
    }
    if (strcmp(key, "latents_mean") == 0 || strcmp(key, "latents_std") == 0) {
        if (!JSON_NODE_HOLDS_NULL(node))
            return fail(j, RG_ERROR_UNSUPPORTED, key, "per-channel latent statistics are not supported");
        return TRUE;
    }
    if (strcmp(key, "block_out_channels") == 0) {
        if (!JSON_NODE_HOLDS_ARRAY(node))
            return fail(j, RG_ERROR_FORMAT, key, "expected an array of integers");
        JsonArray *a = json_node_get_array(node);
        guint n = json_array_get_length(a);
        if (n < 1 || n > RG_VAE_MAX_LEVELS)
            return fail(j, RG_ERROR_UNSUPPORTED, key, "1 to " G_STRINGIFY(RG_VAE_MAX_LEVELS) " levels are supported");
        c->n_levels = (int)n;
        for (guint i = 0; i < n; i++)
            if (!get_int(j, key, json_array_get_element(a, i), 1, 1 << 16, &c->block_out_channels[i]))
                return FALSE;
        return TRUE;
    }
    return fail(j, RG_ERROR_UNSUPPORTED, key, "unknown option");
}

gboolean rg_vae_config_load(rg_vae_config *config, const char *config_json_path, GError **error)
{
    g_return_val_if_fail(config != NULL && config_json_path != NULL, FALSE);
    g_autofree char *text = NULL;
    gsize len = 0;
    GError *local = NULL;
    if (!g_file_get_contents(config_json_path, &text, &len, &local)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s", local->message);
        g_error_free(local);
        return FALSE;
    }
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json_parser_load_from_data(parser, text, (gssize)len, &local)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: not valid JSON: %s", config_json_path, local->message);
        g_error_free(local);
        return FALSE;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: a VAE config.json holds one JSON object", config_json_path);
        return FALSE;
    }
    rg_vae_config c;
    config_init_diffusers_defaults(&c);
    json_ctx j = {config_json_path, error};
    JsonObject *o = json_node_get_object(root);
    const char *cls = json_object_get_string_member_with_default(o, "_class_name", "");
    if (strcmp(cls, "ReadoutSpaceToDepth") == 0) {
        if (!parse_space_to_depth(&j, &c, o) || !rg_vae_config_check(&c, config_json_path, error))
            return FALSE;
        *config = c;
        return TRUE;
    }
    int n_down = -1, n_up = -1;
    JsonObjectIter it;
    const char *key;
    JsonNode *node;
    json_object_iter_init(&it, json_node_get_object(root));
    while (json_object_iter_next(&it, &key, &node))
        if (!parse_member(&j, &c, key, node, &n_down, &n_up))
            return FALSE;
    /* diffusers builds one block per entry of block_out_channels */
    if ((n_down >= 0 && n_down != c.n_levels) || (n_up >= 0 && n_up != c.n_levels)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "%s: %d down and %d up block types for %d entries of block_out_channels", config_json_path,
                    n_down, n_up, c.n_levels);
        return FALSE;
    }
    if (!rg_vae_config_check(&c, config_json_path, error))
        return FALSE;
    *config = c;
    return TRUE;
}
