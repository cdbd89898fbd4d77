/* config.c — rg_head_config: validation, the role a file name implies, the
 * official .pt "config" dict (readout_guidance_spec.md §7) and Readout's own
 * "readout.head_config" JSON. */
#include <math.h>
#include <string.h>

#include "models/head/head_internal.h"
#include "base/json.h"

static const char *const roles[] = {"appearance", "correspondence", "pose", "depth", "edge", "identity"};

gboolean head_role_known(const char *role)
{
    if (!*role)
        return TRUE;
    for (size_t i = 0; i < G_N_ELEMENTS(roles); i++)
        if (!strcmp(role, roles[i]))
            return TRUE;
    return FALSE;
}

gboolean head_config_check(const rg_head_config *c, const char *what, int code, GError **error)
{
    const int b = c->projection_dim / 4;
    g_autofree char *bad = NULL;
    if (c->n_layers < 1 || c->n_layers > RG_HEAD_MAX_LAYERS)
        bad = g_strdup_printf("%d layers (dims); 1 to %d are supported", c->n_layers, RG_HEAD_MAX_LAYERS);
    else if (c->projection_dim < 4 || c->projection_dim > 65536)
        bad = g_strdup_printf("projection_dim %d is not in [4, 65536]", c->projection_dim);
    else if (c->norm_groups < 1 || b % c->norm_groups || c->projection_dim % c->norm_groups)
        bad = g_strdup_printf("num_norm_groups %d does not divide projection_dim %d and its quarter %d",
                              c->norm_groups, c->projection_dim, b);
    else if (c->emb_dim < 1 || c->emb_dim > 65536)
        bad = g_strdup_printf("emb_dim %d is not in [1, 65536]", c->emb_dim);
    else if (c->use_output_head && (c->output_channels < 1 || c->output_channels > 65536))
        bad = g_strdup_printf("output_head_channels %d is not in [1, 65536]", c->output_channels);
    else if (!isfinite(c->control_range[0]) || !isfinite(c->control_range[1]))
        bad = g_strdup("control_range is not finite");
    else if (!memchr(c->base_model, 0, sizeof c->base_model) || !memchr(c->role, 0, sizeof c->role))
        bad = g_strdup("base_model or role is not a terminated string");
    else if (!head_role_known(c->role))
        bad = g_strdup_printf("unknown role \"%s\" (appearance, correspondence, pose, depth, edge, identity or "
                              "none)", c->role);
    for (int l = 0; !bad && l < c->n_layers; l++)
        if (c->dims[l] < 1 || c->dims[l] > 65536)
            bad = g_strdup_printf("dims[%d] = %d is not in [1, 65536]", l, c->dims[l]);
    if (bad) {
        g_set_error(error, RG_ERROR, code, "%s: not a usable readout head config: %s", what, bad);
        return FALSE;
    }
    return TRUE;
}

const char *head_role_from_name(const char *path)
{
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *lower = g_ascii_strdown(base, -1);
    char *dot = strrchr(lower, '.');
    if (dot && dot != lower)
        *dot = 0; /* the extension: .pt, .pth, .safetensors, ... */
    /* words split at anything but letters and digits; the last that names a
     * role wins ("readout_sdv15_drag_appearance"); the pose-keypoint head
     * (heatmaps, not for guidance) has none */
    g_auto(GStrv) words = g_regex_split_simple("[^a-z0-9]+", lower, 0, 0);
    const char *found = "";
    for (int i = 0; words[i]; i++) {
        if (!strcmp(words[i], "keypoint") || !strcmp(words[i], "keypoints"))
            return "";
        for (size_t r = 0; r < G_N_ELEMENTS(roles); r++)
            if (!strcmp(words[i], roles[r]))
                found = roles[r];
    }
    return found;
}

/* ---- typed JSON members ---------------------------------------------------- */

typedef struct {
    const char *path, *where; /* file, and "config" / "config.aggregation_kwargs" ... */
    GError **error;
} jctx;

static gboolean jfail(jctx *j, const char *key, const char *what)
{
    g_set_error(j->error, RG_ERROR, RG_ERROR_FORMAT, "%s: %s.%s: %s", j->path, j->where, key, what);
    return FALSE;
}

/* Absent (TRUE, *out unchanged), or an integer in [lo, hi]. */
static gboolean jint(jctx *j, JsonObject *o, const char *key, int lo, int hi, int *out)
{
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;
    if (!n)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
        return jfail(j, key, "expected an integer");
    gint64 v = json_node_get_int(n);
    if (v < lo || v > hi) {
        g_autofree char *m = g_strdup_printf("%" G_GINT64_FORMAT " is not in [%d, %d]", v, lo, hi);
        return jfail(j, key, m);
    }
    *out = (int)v;
    return TRUE;
}

/* Absent, or true / false (also 1 / 0, as YAML configs may hold). */
static gboolean jbool(jctx *j, JsonObject *o, const char *key, gboolean *out)
{
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;
    if (!n)
        return TRUE;
    GType t = JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
    if (t == G_TYPE_BOOLEAN) {
        *out = json_node_get_boolean(n);
        return TRUE;
    }
    if (t == G_TYPE_INT64 && (json_node_get_int(n) == 0 || json_node_get_int(n) == 1)) {
        *out = json_node_get_int(n) == 1;
        return TRUE;
    }
    return jfail(j, key, "expected true or false");
}

/* Absent or null, or a string that fits @size bytes. */
static gboolean jstr(jctx *j, JsonObject *o, const char *key, char *out, size_t size)
{
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;
    if (!n || JSON_NODE_HOLDS_NULL(n))
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return jfail(j, key, "expected a string");
    const char *s = json_node_get_string(n);
    if (strlen(s) >= size) {
        g_autofree char *m = g_strdup_printf("\"%s\" is longer than %zu bytes", s, size - 1);
        return jfail(j, key, m);
    }
    g_strlcpy(out, s, size);
    return TRUE;
}

/* Absent, or an object. */
static gboolean jobj(jctx *j, JsonObject *o, const char *key, JsonObject **out)
{
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;
    *out = NULL;
    if (!n || JSON_NODE_HOLDS_NULL(n))
        return TRUE;
    if (!JSON_NODE_HOLDS_OBJECT(n))
        return jfail(j, key, "expected a dict");
    *out = json_node_get_object(n);
    return TRUE;
}

/* Absent, or a list of two numbers. */
static gboolean jrange(jctx *j, JsonObject *o, const char *key, float *out, gboolean *found)
{
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;
    if (!n)
        return TRUE;
    JsonArray *a = JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
    if (!a || json_array_get_length(a) != 2)
        return jfail(j, key, "expected two numbers (min, max)");
    for (guint i = 0; i < 2; i++) {
        JsonNode *e = json_array_get_element(a, i);
        GType t = JSON_NODE_HOLDS_VALUE(e) ? json_node_get_value_type(e) : G_TYPE_INVALID;
        if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
            return jfail(j, key, "expected two numbers (min, max)");
        out[i] = (float)(t == G_TYPE_INT64 ? (double)json_node_get_int(e) : json_node_get_double(e));
    }
    *found = TRUE;
    return TRUE;
}

/* A required list of 1..RG_HEAD_MAX_LAYERS channel counts. */
static gboolean jdims(jctx *j, JsonObject *o, const char *key, rg_head_config *c)
{
    JsonNode *n = json_object_get_member(o, key);
    if (!n) {
        g_set_error(j->error, RG_ERROR, RG_ERROR_FORMAT, "%s: %s has no \"%s\" (the channels of the UNet features "
                    "the head reads): not a readout head", j->path, j->where, key);
        return FALSE;
    }
    JsonArray *a = JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
    if (!a || json_array_get_length(a) < 1)
        return jfail(j, key, "expected a list of channel counts");
    if (json_array_get_length(a) > RG_HEAD_MAX_LAYERS) {
        g_set_error(j->error, RG_ERROR, RG_ERROR_UNSUPPORTED, "%s: %s.%s: %u layers; Readout reads at most %d",
                    j->path, j->where, key, json_array_get_length(a), RG_HEAD_MAX_LAYERS);
        return FALSE;
    }
    c->n_layers = (int)json_array_get_length(a);
    for (int l = 0; l < c->n_layers; l++) {
        JsonNode *e = json_array_get_element(a, (guint)l);
        if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_INT64 ||
            json_node_get_int(e) < 1 || json_node_get_int(e) > 65536)
            return jfail(j, key, "expected a list of channel counts in [1, 65536]");
        c->dims[l] = (int)json_node_get_int(e);
    }
    return TRUE;
}

/* ---- the official config --------------------------------------------------- */

static void config_defaults(rg_head_config *c)
{
    memset(c, 0, sizeof *c);
    c->projection_dim = 384;
    c->norm_groups = 32;
    c->output_channels = 3;
    c->output_act = TRUE;
    c->control_range[0] = -1.0f; /* ControlDataset's default */
    c->control_range[1] = 1.0f;
}

gboolean head_config_from_official(JsonObject *config, const char *path, rg_head_config *c,
                                   gboolean *sequential_explicit, GError **error)
{
    config_defaults(c);
    /* AggregationNetwork's constructor defaults */
    c->use_output_head = FALSE;
    c->bottleneck_sequential = TRUE;
    *sequential_explicit = FALSE;
    jctx j = {path, "config", error};
    if (!jdims(&j, config, "dims", c))
        return FALSE;
    if (!json_object_has_member(config, "projection_dim")) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: config has no \"projection_dim\": not a readout head",
                    path);
        return FALSE;
    }
    if (!jint(&j, config, "projection_dim", 4, 65536, &c->projection_dim) ||
        !jstr(&j, config, "model_id", c->base_model, sizeof c->base_model))
        return FALSE;
    /* save_timestep: one entry per saved timestep, each with its own mixing weights */
    JsonNode *st = json_object_get_member(config, "save_timestep");
    if (st) {
        if (!JSON_NODE_HOLDS_ARRAY(st))
            return jfail(&j, "save_timestep", "expected a list");
        guint s = json_array_get_length(json_node_get_array(st));
        if (s != 1) {
            g_set_error(error, RG_ERROR, RG_ERROR_UNSUPPORTED, "%s: config.save_timestep has %u entries: the head "
                        "aggregates features of %u timesteps, and Readout supports heads that read one (as every "
                        "released head does)", path, s, s);
            return FALSE;
        }
    }
    JsonObject *kw, *data;
    if (!jobj(&j, config, "aggregation_kwargs", &kw) || !jobj(&j, config, "dataset_args", &data))
        return FALSE;
    jctx jk = {path, "config.aggregation_kwargs", error};
    if (kw && json_object_has_member(kw, "bottleneck_sequential"))
        *sequential_explicit = TRUE;
    if (!jbool(&jk, kw, "use_output_head", &c->use_output_head) ||
        !jint(&jk, kw, "output_head_channels", 1, 65536, &c->output_channels) ||
        !jbool(&jk, kw, "output_head_act", &c->output_act) ||
        !jbool(&jk, kw, "bottleneck_sequential", &c->bottleneck_sequential) ||
        !jint(&jk, kw, "num_norm_groups", 1, 65536, &c->norm_groups))
        return FALSE;
    /* control_range and sparse_loss as guidance reads them (dataset_args);
     * absent, as ControlDataset sets them: pose and edge (-0.5, 0.5) with the
     * sparse loss, else (-1, 1) */
    jctx jd = {path, "config.dataset_args", error};
    char control_type[32] = "";
    gboolean has_range = FALSE, sparse = FALSE;
    if (!jstr(&jd, data, "control_type", control_type, sizeof control_type))
        return FALSE;
    if (!strcmp(control_type, "pose") || !strcmp(control_type, "edge")) {
        c->control_range[0] = -0.5f;
        c->control_range[1] = 0.5f;
        sparse = TRUE;
    }
    if (!jrange(&jd, data, "control_range", c->control_range, &has_range) ||
        !jbool(&jd, data, "sparse_loss", &sparse))
        return FALSE;
    c->sparse_loss = sparse;
    /* the spatial heads' task, a last resort for the role (the file name comes first) */
    if (!strcmp(control_type, "pose") || !strcmp(control_type, "depth") || !strcmp(control_type, "edge"))
        g_strlcpy(c->role, control_type, sizeof c->role);
    c->emb_dim = 1; /* from the tensors */
    return TRUE;
}

/* ---- Readout's JSON -------------------------------------------------------- */

char *head_config_to_json(const rg_head_config *c)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, "readout-head");
    json_builder_set_member_name(b, "version");
    json_builder_add_int_value(b, 1);
    json_builder_set_member_name(b, "n_layers");
    json_builder_add_int_value(b, c->n_layers);
    json_builder_set_member_name(b, "dims");
    json_builder_begin_array(b);
    for (int l = 0; l < c->n_layers; l++)
        json_builder_add_int_value(b, c->dims[l]);
    json_builder_end_array(b);
    const struct {
        const char *key;
        int value;
    } ints[] = {{"projection_dim", c->projection_dim}, {"emb_dim", c->emb_dim}, {"norm_groups", c->norm_groups},
                {"output_channels", c->output_channels}};
    for (size_t i = 0; i < G_N_ELEMENTS(ints); i++) {
        json_builder_set_member_name(b, ints[i].key);
        json_builder_add_int_value(b, ints[i].value);
    }
    const struct {
        const char *key;
        gboolean value;
    } bools[] = {{"use_output_head", c->use_output_head}, {"output_act", c->output_act},
                 {"sparse_loss", c->sparse_loss}, {"bottleneck_sequential", c->bottleneck_sequential}};
    for (size_t i = 0; i < G_N_ELEMENTS(bools); i++) {
        json_builder_set_member_name(b, bools[i].key);
        json_builder_add_boolean_value(b, bools[i].value);
    }
    json_builder_set_member_name(b, "control_range");
    json_builder_begin_array(b);
    json_builder_add_double_value(b, c->control_range[0]);
    json_builder_add_double_value(b, c->control_range[1]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "base_model");
    json_builder_add_string_value(b, c->base_model);
    json_builder_set_member_name(b, "role");
    json_builder_add_string_value(b, c->role);
    json_builder_end_object(b);
    return rg_json_builder_text(b, FALSE, NULL);
}

gboolean head_config_from_json(const char *json, const char *path, rg_head_config *c, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) e = NULL;
    if (!json_parser_load_from_data(parser, json, -1, &e) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: metadata \"readout.head_config\" is not a JSON object%s%s",
                    path, e ? ": " : "", e ? e->message : "");
        return FALSE;
    }
    JsonObject *o = json_node_get_object(json_parser_get_root(parser));
    jctx j = {path, "readout.head_config", error};
    char format[32] = "";
    int version = 0;
    if (!jstr(&j, o, "format", format, sizeof format) || !jint(&j, o, "version", 0, G_MAXINT, &version))
        return FALSE;
    if (strcmp(format, "readout-head") != 0)
        return jfail(&j, "format", "expected \"readout-head\"");
    if (version != 1) {
        g_set_error(error, RG_ERROR, version > 1 ? RG_ERROR_UNSUPPORTED : RG_ERROR_FORMAT,
                    "%s: readout.head_config.version is %d; this Readout reads version 1", path, version);
        return FALSE;
    }
    config_defaults(c);
    int n_layers = -1;
    gboolean has_range = FALSE;
    for (const char *const *k = (const char *const[]){"projection_dim", "emb_dim", "use_output_head", NULL}; *k; k++)
        if (!json_object_has_member(o, *k))
            return jfail(&j, *k, "missing");
    if (!jdims(&j, o, "dims", c) || !jint(&j, o, "n_layers", 1, RG_HEAD_MAX_LAYERS, &n_layers) ||
        !jint(&j, o, "projection_dim", 4, 65536, &c->projection_dim) ||
        !jint(&j, o, "emb_dim", 1, 65536, &c->emb_dim) || !jint(&j, o, "norm_groups", 1, 65536, &c->norm_groups) ||
        !jint(&j, o, "output_channels", 1, 65536, &c->output_channels) ||
        !jbool(&j, o, "use_output_head", &c->use_output_head) || !jbool(&j, o, "output_act", &c->output_act) ||
        !jbool(&j, o, "sparse_loss", &c->sparse_loss) ||
        !jbool(&j, o, "bottleneck_sequential", &c->bottleneck_sequential) ||
        !jrange(&j, o, "control_range", c->control_range, &has_range) ||
        !jstr(&j, o, "base_model", c->base_model, sizeof c->base_model) ||
        !jstr(&j, o, "role", c->role, sizeof c->role))
        return FALSE;
    if (n_layers != -1 && n_layers != c->n_layers) {
        g_autofree char *m = g_strdup_printf("%d, but dims has %d entries", n_layers, c->n_layers);
        return jfail(&j, "n_layers", m);
    }
    return head_config_check(c, path, RG_ERROR_FORMAT, error);
}
