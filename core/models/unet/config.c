/* config.c — rg_unet_config: Stable Diffusion 1.5's values, a diffusers
 * unet/config.json reader (json-glib) that refuses what is not implemented,
 * and validation. Defaults for absent keys are those of diffusers'
 * UNet2DConditionModel.__init__ (models/unets/unet_2d_condition.py). */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "models/unet/unet_internal.h"

void rg_unet_config_init_sd15(rg_unet_config *c)
{
    memset(c, 0, sizeof *c);
    c->in_channels = 4;
    c->out_channels = 4;
    c->n_levels = 4;
    const int widths[4] = {320, 640, 1280, 1280};
    for (int i = 0; i < 4; i++) {
        c->block_out_channels[i] = widths[i];
        c->layers_per_block[i] = 2;
        c->down_cross_attention[i] = i < 3;  /* CrossAttnDownBlock2D x3, DownBlock2D */
        c->up_cross_attention[i] = i > 0;    /* UpBlock2D, CrossAttnUpBlock2D x3 */
        c->attention_heads[i] = 8;
        c->transformer_layers[i] = 1;
    }
    c->mid_block = TRUE;
    c->cross_attention_dim = 768;
    c->norm_num_groups = 32;
    c->norm_eps = 1e-5f;
    c->flip_sin_to_cos = TRUE;
    c->freq_shift = 0;
    c->use_linear_projection = FALSE;
    c->time_embedding_dim = 4 * 320;
    c->sample_size = 64;
}

#define BAD(...) (g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, __VA_ARGS__), FALSE)

gboolean rg_unet_config_validate(const rg_unet_config *c, GError **error)
{
    int g = c->norm_num_groups;
    if (c->n_levels < 1 || c->n_levels > RG_UNET_MAX_LEVELS)
        return BAD("unet config: %d levels (block_out_channels), expected 1 to %d", c->n_levels, RG_UNET_MAX_LEVELS);
    if (c->in_channels < 1 || c->out_channels < 1)
        return BAD("unet config: in_channels %d and out_channels %d must be positive", c->in_channels,
                   c->out_channels);
    if (g < 1)
        return BAD("unet config: norm_num_groups %d must be positive", g);
    if (!(c->norm_eps > 0) || !isfinite(c->norm_eps))
        return BAD("unet config: norm_eps %g must be positive", (double)c->norm_eps);
    if (!isfinite(c->freq_shift))
        return BAD("unet config: freq_shift is not finite");
    if (c->cross_attention_dim < 1)
        return BAD("unet config: cross_attention_dim %d must be positive", c->cross_attention_dim);
    if (c->time_embedding_dim < 1)
        return BAD("unet config: time_embedding_dim %d must be positive", c->time_embedding_dim);
    if (c->block_out_channels[0] < 2 || (double)(c->block_out_channels[0] / 2) == (double)c->freq_shift)
        return BAD("unet config: block_out_channels[0] %d does not make a timestep embedding with freq_shift %g",
                   c->block_out_channels[0], (double)c->freq_shift);
    for (int i = 0; i < c->n_levels; i++) {
        int ch = c->block_out_channels[i];
        gboolean attn = c->down_cross_attention[i] || c->up_cross_attention[c->n_levels - 1 - i] ||
                        (c->mid_block && i == c->n_levels - 1);
        if (ch < 1 || ch % g != 0)
            return BAD("unet config: block_out_channels[%d] = %d is not a positive multiple of norm_num_groups %d", i,
                       ch, g);
        if (c->layers_per_block[i] < 1 || c->layers_per_block[i] > RG_UNET_MAX_LAYERS)
            return BAD("unet config: layers_per_block[%d] = %d must be 1 to %d", i, c->layers_per_block[i],
                       RG_UNET_MAX_LAYERS);
        if (attn && (c->attention_heads[i] < 1 || ch % c->attention_heads[i] != 0))
            return BAD("unet config: level %d has %d channels, not a multiple of its %d attention heads", i, ch,
                       c->attention_heads[i]);
        if (attn && (c->transformer_layers[i] < 1 || c->transformer_layers[i] > RG_UNET_MAX_LAYERS))
            return BAD("unet config: transformer_layers_per_block[%d] = %d must be 1 to %d", i,
                       c->transformer_layers[i], RG_UNET_MAX_LAYERS);
    }
    return TRUE;
}

/* ---- config.json --------------------------------------------------------- */

typedef struct {
    const char *path;
    JsonObject *o;
} reader;

static gboolean fmt_error(const reader *r, const char *key, const char *want, GError **error)
{
    g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "unet config %s: \"%s\" must be %s", r->path, key, want);
    return FALSE;
}

/* The member @key unless absent or null. */
static JsonNode *member(const reader *r, const char *key)
{
    JsonNode *n = json_object_get_member(r->o, key);
    return n && !JSON_NODE_HOLDS_NULL(n) ? n : NULL;
}

static gboolean node_int(JsonNode *n, int *out)
{
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
        return FALSE;
    gint64 v = json_node_get_int(n);
    if (v < 0 || v > (1 << 24))
        return FALSE;
    *out = (int)v;
    return TRUE;
}

static gboolean get_int(const reader *r, const char *key, int *out, GError **error)
{
    JsonNode *n = member(r, key);
    return !n || node_int(n, out) || fmt_error(r, key, "a non-negative integer", error);
}

static gboolean get_number(const reader *r, const char *key, float *out, GError **error)
{
    JsonNode *n = member(r, key);
    if (!n)
        return TRUE;
    GType t = JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
    if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
        return fmt_error(r, key, "a number", error);
    *out = (float)json_node_get_double(n);
    return TRUE;
}

static gboolean get_bool(const reader *r, const char *key, gboolean *out, GError **error)
{
    JsonNode *n = member(r, key);
    if (!n)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
        return fmt_error(r, key, "true or false", error);
    *out = json_node_get_boolean(n);
    return TRUE;
}

/* An integer for every level, or one integer for all of them. */
static gboolean get_per_level(const reader *r, const char *key, int n_levels, int *out, GError **error)
{
    JsonNode *n = member(r, key);
    if (!n)
        return TRUE;
    int v;
    if (node_int(n, &v)) {
        for (int i = 0; i < n_levels; i++)
            out[i] = v;
        return TRUE;
    }
    g_autofree char *want = g_strdup_printf("an integer or a list of %d integers", n_levels);
    if (!JSON_NODE_HOLDS_ARRAY(n) || (int)json_array_get_length(json_node_get_array(n)) != n_levels)
        return fmt_error(r, key, want, error);
    for (int i = 0; i < n_levels; i++)
        if (!node_int(json_array_get_element(json_node_get_array(n), (guint)i), &out[i]))
            return fmt_error(r, key, want, error);
    return TRUE;
}

static gboolean unsupported(const reader *r, const char *key, const char *why, GError **error)
{
    g_autofree char *v = json_to_string(json_object_get_member(r->o, key), FALSE);
    g_set_error(error, RG_ERROR, RG_ERROR_UNSUPPORTED, "unet config %s: %s %s is not supported%s%s", r->path, key, v,
                why ? ": " : "", why ? why : "");
    return FALSE;
}

/* Options that must be absent, null or one given value. */
typedef enum { NULL_ONLY, FALSE_ONLY, STRING_IS, INT_IS, NUMBER_IS } must_kind;

typedef struct {
    const char *key;
    must_kind kind;
    const char *string;
    double number;
    const char *why;
} must;

static const must musts[] = {
    {"addition_embed_type", NULL_ONLY, NULL, 0, "SDXL's added conditioning is not implemented yet"},
    {"class_embed_type", NULL_ONLY, NULL, 0, "class embeddings are not implemented"},
    {"num_class_embeds", NULL_ONLY, NULL, 0, "class embeddings are not implemented"},
    {"encoder_hid_dim", NULL_ONLY, NULL, 0, "an encoder_hid_proj is not implemented"},
    {"encoder_hid_dim_type", NULL_ONLY, NULL, 0, "an encoder_hid_proj is not implemented"},
    {"time_cond_proj_dim", NULL_ONLY, NULL, 0, "timestep conditioning (LCM) is not implemented"},
    {"timestep_post_act", NULL_ONLY, NULL, 0, NULL},
    {"time_embedding_act_fn", NULL_ONLY, NULL, 0, NULL},
    {"cross_attention_norm", NULL_ONLY, NULL, 0, NULL},
    {"reverse_transformer_layers_per_block", NULL_ONLY, NULL, 0, "up blocks take the reversed per-level depths"},
    {"dual_cross_attention", FALSE_ONLY, NULL, 0, NULL},
    {"center_input_sample", FALSE_ONLY, NULL, 0, NULL},
    {"resnet_skip_time_act", FALSE_ONLY, NULL, 0, NULL},
    {"class_embeddings_concat", FALSE_ONLY, NULL, 0, NULL},
    {"mid_block_only_cross_attention", FALSE_ONLY, NULL, 0, NULL},
    {"act_fn", STRING_IS, "silu", 0, NULL},
    {"resnet_time_scale_shift", STRING_IS, "default", 0, NULL},
    {"time_embedding_type", STRING_IS, "positional", 0, NULL},
    {"attention_type", STRING_IS, "default", 0, NULL},
    {"downsample_padding", INT_IS, NULL, 1, NULL},
    {"conv_in_kernel", INT_IS, NULL, 3, NULL},
    {"conv_out_kernel", INT_IS, NULL, 3, NULL},
    {"mid_block_scale_factor", NUMBER_IS, NULL, 1, NULL},
    {"resnet_out_scale_factor", NUMBER_IS, NULL, 1, NULL},
};

static gboolean check_must(const reader *r, const must *m, GError **error)
{
    JsonNode *n = member(r, m->key);
    if (!n)
        return TRUE;
    GType t = JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
    gboolean ok = FALSE;
    switch (m->kind) {
    case NULL_ONLY:
        break;
    case FALSE_ONLY:
        ok = t == G_TYPE_BOOLEAN && !json_node_get_boolean(n);
        break;
    case STRING_IS:
        ok = t == G_TYPE_STRING && strcmp(json_node_get_string(n), m->string) == 0;
        break;
    case INT_IS:
    case NUMBER_IS:
        ok = (t == G_TYPE_INT64 || (t == G_TYPE_DOUBLE && m->kind == NUMBER_IS)) &&
             json_node_get_double(n) == m->number;
        break;
    }
    return ok || unsupported(r, m->key, m->why, error);
}

/* only_cross_attention: false, or a list of falses. */
static gboolean check_only_cross(const reader *r, GError **error)
{
    JsonNode *n = member(r, "only_cross_attention");
    if (!n)
        return TRUE;
    if (JSON_NODE_HOLDS_ARRAY(n)) {
        JsonArray *a = json_node_get_array(n);
        for (guint i = 0; i < json_array_get_length(a); i++) {
            JsonNode *e = json_array_get_element(a, i);
            if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_BOOLEAN ||
                json_node_get_boolean(e))
                return unsupported(r, "only_cross_attention", NULL, error);
        }
        return TRUE;
    }
    gboolean v = FALSE;
    if (!get_bool(r, "only_cross_attention", &v, error))
        return FALSE;
    return !v || unsupported(r, "only_cross_attention", NULL, error);
}

/* down_block_types / up_block_types: one name per level, @cross or @plain. */
static gboolean get_block_types(const reader *r, const char *key, const char *cross, const char *plain,
                                int n_levels, gboolean *out, GError **error)
{
    JsonNode *n = member(r, key);
    g_autofree char *want = g_strdup_printf("a list of %d block type names (as block_out_channels)", n_levels);
    if (!n) /* diffusers' defaults are SD's four (set by the caller) */
        return n_levels == 4 || fmt_error(r, key, want, error);
    if (!JSON_NODE_HOLDS_ARRAY(n) || (int)json_array_get_length(json_node_get_array(n)) != n_levels)
        return fmt_error(r, key, want, error);
    for (int i = 0; i < n_levels; i++) {
        JsonNode *e = json_array_get_element(json_node_get_array(n), (guint)i);
        if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_STRING)
            return fmt_error(r, key, want, error);
        const char *s = json_node_get_string(e);
        if (strcmp(s, cross) == 0 || strcmp(s, plain) == 0) {
            out[i] = strcmp(s, cross) == 0;
        } else {
            g_set_error(error, RG_ERROR, RG_ERROR_UNSUPPORTED,
                        "unet config %s: %s[%d] is \"%s\"; supported are %s and %s", r->path, key, i, s, cross,
                        plain);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean read_config(rg_unet_config *c, const reader *r, GError **error)
{
    JsonNode *n;
    /* the class, when named */
    if ((n = member(r, "_class_name")) &&
        (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING ||
         strcmp(json_node_get_string(n), "UNet2DConditionModel") != 0)) {
        g_autofree char *v = json_to_string(n, FALSE);
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "unet config %s: _class_name is %s, not \"UNet2DConditionModel\"",
                    r->path, v);
        return FALSE;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(musts); i++)
        if (!check_must(r, &musts[i], error))
            return FALSE;
    if (!check_only_cross(r, error))
        return FALSE;

    /* levels: block_out_channels fixes their number */
    if ((n = member(r, "block_out_channels"))) {
        JsonArray *a = JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
        int len = a ? (int)json_array_get_length(a) : 0;
        g_autofree char *want = g_strdup_printf("a list of 1 to %d integers", RG_UNET_MAX_LEVELS);
        if (len < 1 || len > RG_UNET_MAX_LEVELS)
            return fmt_error(r, "block_out_channels", want, error);
        for (int i = 0; i < len; i++)
            if (!node_int(json_array_get_element(a, (guint)i), &c->block_out_channels[i]))
                return fmt_error(r, "block_out_channels", want, error);
        c->n_levels = len;
        c->time_embedding_dim = 4 * c->block_out_channels[0];
    }
    int L = c->n_levels;
    /* diffusers' default block types are SD's: attention everywhere but at the deepest level */
    for (int i = 0; i < L; i++) {
        c->down_cross_attention[i] = i < L - 1;
        c->up_cross_attention[i] = i > 0;
    }
    if (!get_block_types(r, "down_block_types", "CrossAttnDownBlock2D", "DownBlock2D", L, c->down_cross_attention,
                         error) ||
        !get_block_types(r, "up_block_types", "CrossAttnUpBlock2D", "UpBlock2D", L, c->up_cross_attention, error))
        return FALSE;
    if (json_object_has_member(r->o, "mid_block_type")) {
        n = member(r, "mid_block_type");
        if (!n)
            c->mid_block = FALSE; /* null: no mid block */
        else if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING &&
                 strcmp(json_node_get_string(n), "UNetMidBlock2DCrossAttn") == 0)
            c->mid_block = TRUE;
        else
            return unsupported(r, "mid_block_type", "only UNetMidBlock2DCrossAttn (or null) is", error);
    }

    /* heads: num_attention_heads when given, else attention_head_dim (a head count, see the header) */
    const char *heads_key = member(r, "num_attention_heads") ? "num_attention_heads" : "attention_head_dim";
    if (!get_per_level(r, "layers_per_block", L, c->layers_per_block, error) ||
        !get_per_level(r, heads_key, L, c->attention_heads, error) ||
        !get_per_level(r, "transformer_layers_per_block", L, c->transformer_layers, error))
        return FALSE;

    /* cross_attention_dim: one integer (a list must repeat one value) */
    if ((n = member(r, "cross_attention_dim")) && JSON_NODE_HOLDS_ARRAY(n)) {
        int dims[RG_UNET_MAX_LEVELS];
        if (!get_per_level(r, "cross_attention_dim", L, dims, error))
            return FALSE;
        for (int i = 1; i < L; i++)
            if (dims[i] != dims[0])
                return unsupported(r, "cross_attention_dim", "one context width for all levels is", error);
        c->cross_attention_dim = dims[0];
    } else if (!get_int(r, "cross_attention_dim", &c->cross_attention_dim, error)) {
        return FALSE;
    }
    if (json_object_has_member(r->o, "norm_num_groups") && !member(r, "norm_num_groups"))
        return unsupported(r, "norm_num_groups", "the UNet needs its GroupNorms", error);
    if (!get_int(r, "in_channels", &c->in_channels, error) || !get_int(r, "out_channels", &c->out_channels, error) ||
        !get_int(r, "norm_num_groups", &c->norm_num_groups, error) ||
        !get_number(r, "norm_eps", &c->norm_eps, error) ||
        !get_bool(r, "flip_sin_to_cos", &c->flip_sin_to_cos, error) ||
        !get_number(r, "freq_shift", &c->freq_shift, error) ||
        !get_bool(r, "use_linear_projection", &c->use_linear_projection, error) ||
        !get_int(r, "time_embedding_dim", &c->time_embedding_dim, error))
        return FALSE;
    if ((n = member(r, "sample_size")) && !node_int(n, &c->sample_size))
        c->sample_size = 0; /* a list [H, W] in some configs; informational only */
    return TRUE;
}

gboolean rg_unet_config_load(rg_unet_config *c, const char *config_json_path, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    GError *local = NULL;
    if (!json_parser_load_from_mapped_file(parser, config_json_path, &local)) {
        int code = local->domain == G_FILE_ERROR ? RG_ERROR_IO : RG_ERROR_FORMAT;
        g_set_error(error, RG_ERROR, code, "unet config %s: %s", config_json_path, local->message);
        g_error_free(local);
        return FALSE;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "unet config %s: not a JSON object", config_json_path);
        return FALSE;
    }
    /* diffusers' class defaults, which are SD1.5's except for the context width */
    rg_unet_config tmp;
    rg_unet_config_init_sd15(&tmp);
    tmp.cross_attention_dim = 1280;
    tmp.sample_size = 0;
    reader r = {config_json_path, json_node_get_object(root)};
    if (!read_config(&tmp, &r, error))
        return FALSE;
    if (!rg_unet_config_validate(&tmp, error)) {
        g_prefix_error(error, "%s: ", config_json_path);
        return FALSE;
    }
    *c = tmp;
    return TRUE;
}
