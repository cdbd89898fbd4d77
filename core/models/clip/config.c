/* config.c — rg_clip_text_config: Stable Diffusion 1.5's text encoder, a
 * transformers text_encoder/config.json read with json-glib, and the checks
 * that a configuration makes a model.
 *
 * Keys absent from config.json take transformers' CLIPTextConfig defaults
 * (which are CLIP ViT-B/32's widths, 512/2048/8 heads; SD's files state all
 * of them).
 */
#include "models/clip/clip_internal.h"

#include <json-glib/json-glib.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#define MAX_DIM (1 << 20)   /* widths, layers, heads, positions */
#define MAX_VOCAB (1 << 24) /* rows of the token table */

void rg_clip_text_config_init_sd15(rg_clip_text_config *c)
{
    g_return_if_fail(c);
    *c = (rg_clip_text_config){
        .vocab_size = 49408,
        .hidden_size = 768,
        .num_layers = 12,
        .num_heads = 12,
        .intermediate_size = 3072,
        .max_positions = 77,
        .activation = RG_CLIP_ACT_QUICK_GELU,
        .layer_norm_eps = 1e-5f,
    };
}

gboolean rg_clip_text_config_validate(const rg_clip_text_config *c, GError **error)
{
    g_return_val_if_fail(c, FALSE);
    const struct {
        const char *name;
        int value, max;
    } ints[] = {
        {"vocab_size", c->vocab_size, MAX_VOCAB},
        {"hidden_size", c->hidden_size, MAX_DIM},
        {"num_layers", c->num_layers, MAX_DIM},
        {"num_heads", c->num_heads, MAX_DIM},
        {"intermediate_size", c->intermediate_size, MAX_DIM},
        {"max_positions", c->max_positions, MAX_DIM},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ints); i++) {
        if (ints[i].value < 1 || ints[i].value > ints[i].max) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "clip text config: %s is %d, expected 1 to %d",
                        ints[i].name, ints[i].value, ints[i].max);
            return FALSE;
        }
    }
    if (c->hidden_size % c->num_heads != 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "clip text config: hidden_size %d is not a multiple of num_heads %d", c->hidden_size,
                    c->num_heads);
        return FALSE;
    }
    if (c->activation != RG_CLIP_ACT_QUICK_GELU && c->activation != RG_CLIP_ACT_GELU) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "clip text config: unknown activation %d",
                    (int)c->activation);
        return FALSE;
    }
    if (!(c->layer_norm_eps > 0.0f) || !isfinite(c->layer_norm_eps)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "clip text config: layer_norm_eps %g is not a positive number",
                    (double)c->layer_norm_eps);
        return FALSE;
    }
    return TRUE;
}

/* ---- config.json -------------------------------------------------------------- */

/* The integer @key of @o into *@out when present; FALSE (RG_ERROR_FORMAT) when
 * it is not an integer within int range. */
static gboolean read_int(JsonObject *o, const char *key, int *out, const char *path, GError **error)
{
    JsonNode *n = json_object_get_member(o, key);
    if (!n)
        return TRUE;
    GType t = JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
    double v = t == G_TYPE_INT64 ? (double)json_node_get_int(n) : t == G_TYPE_DOUBLE ? json_node_get_double(n) : NAN;
    if (!(v == floor(v)) || v < INT_MIN || v > INT_MAX) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: \"%s\" is not an integer", path, key);
        return FALSE;
    }
    *out = (int)v;
    return TRUE;
}

/* The configuration object: the root of a CLIPTextConfig, or the
 * "text_config" of a CLIPConfig. NULL with RG_ERROR_FORMAT for anything else. */
static JsonObject *text_config_object(JsonNode *root, const char *path, GError **error)
{
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: not a JSON object", path);
        return NULL;
    }
    JsonObject *o = json_node_get_object(root);
    JsonNode *cn = json_object_get_member(o, "_class_name");
    if (cn) {
        const char *class_name =
            JSON_NODE_HOLDS_VALUE(cn) && json_node_get_value_type(cn) == G_TYPE_STRING ? json_node_get_string(cn) : NULL;
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT,
                    "%s: a diffusers %s config, not a CLIP text encoder (transformers CLIPTextConfig)", path,
                    class_name ? class_name : "component");
        return NULL;
    }
    JsonNode *mt = json_object_get_member(o, "model_type");
    const char *model_type = mt && JSON_NODE_HOLDS_VALUE(mt) && json_node_get_value_type(mt) == G_TYPE_STRING
                                 ? json_node_get_string(mt)
                                 : NULL;
    if (mt && !model_type) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: \"model_type\" is not a string", path);
        return NULL;
    }
    JsonNode *tc = json_object_get_member(o, "text_config");
    if (model_type && strcmp(model_type, "clip") == 0 && tc) {
        if (!JSON_NODE_HOLDS_OBJECT(tc)) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: \"text_config\" is not an object", path);
            return NULL;
        }
        return json_node_get_object(tc);
    }
    if (model_type && strcmp(model_type, "clip_text_model") != 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT,
                    "%s: model_type \"%s\" is not a CLIP text encoder (expected \"clip_text_model\")", path,
                    model_type);
        return NULL;
    }
    return o;
}

gboolean rg_clip_text_config_load(rg_clip_text_config *c, const char *config_json_path, GError **error)
{
    g_return_val_if_fail(c && config_json_path, FALSE);
    const char *path = config_json_path;
    g_autoptr(JsonParser) parser = json_parser_new();
    GError *local = NULL;
    if (!json_parser_load_from_file(parser, path, &local)) {
        int code = local->domain == G_FILE_ERROR ? RG_ERROR_IO : RG_ERROR_FORMAT;
        g_set_error(error, RG_ERROR, code, "%s: %s", path, local->message);
        g_error_free(local);
        return FALSE;
    }
    JsonObject *o = text_config_object(json_parser_get_root(parser), path, error);
    if (!o)
        return FALSE;

    /* transformers' CLIPTextConfig defaults */
    rg_clip_text_config r = {
        .vocab_size = 49408,
        .hidden_size = 512,
        .num_layers = 12,
        .num_heads = 8,
        .intermediate_size = 2048,
        .max_positions = 77,
        .activation = RG_CLIP_ACT_QUICK_GELU,
        .layer_norm_eps = 1e-5f,
    };
    if (!read_int(o, "vocab_size", &r.vocab_size, path, error) ||
        !read_int(o, "hidden_size", &r.hidden_size, path, error) ||
        !read_int(o, "num_hidden_layers", &r.num_layers, path, error) ||
        !read_int(o, "num_attention_heads", &r.num_heads, path, error) ||
        !read_int(o, "intermediate_size", &r.intermediate_size, path, error) ||
        !read_int(o, "max_position_embeddings", &r.max_positions, path, error))
        return FALSE;

    JsonNode *act = json_object_get_member(o, "hidden_act");
    if (act) {
        const char *a = JSON_NODE_HOLDS_VALUE(act) && json_node_get_value_type(act) == G_TYPE_STRING
                            ? json_node_get_string(act)
                            : NULL;
        if (!a) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: \"hidden_act\" is not a string", path);
            return FALSE;
        }
        if (strcmp(a, "quick_gelu") == 0) {
            r.activation = RG_CLIP_ACT_QUICK_GELU;
        } else if (strcmp(a, "gelu") == 0) {
            r.activation = RG_CLIP_ACT_GELU;
        } else {
            g_set_error(error, RG_ERROR, RG_ERROR_UNSUPPORTED,
                        "%s: hidden_act \"%s\" is not supported (quick_gelu or gelu)", path, a);
            return FALSE;
        }
    }
    JsonNode *eps = json_object_get_member(o, "layer_norm_eps");
    if (eps) {
        GType t = JSON_NODE_HOLDS_VALUE(eps) ? json_node_get_value_type(eps) : G_TYPE_INVALID;
        if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: \"layer_norm_eps\" is not a number", path);
            return FALSE;
        }
        r.layer_norm_eps = (float)json_node_get_double(eps);
    }
    if (!rg_clip_text_config_validate(&r, error)) {
        g_prefix_error(error, "%s: ", path);
        return FALSE;
    }
    *c = r;
    return TRUE;
}
