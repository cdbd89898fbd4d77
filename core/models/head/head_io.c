/* head_io.c — opening heads (official .pt files through the restricted
 * unpickler, and Readout's safetensors format), told apart by their first
 * bytes, with every key and shape checked; and saving the safetensors
 * format. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "models/head/head_internal.h"
#include "readout/torch_pt.h"

#define PT_PREFIX "aggregation_network."
#define CONFIG_KEY "readout.head_config"
#define OFFICIAL_KEY "readout.official_config"

/* Looks a stored tensor up: its shape (FALSE if absent), and the tensor
 * (transfer full) on request. */
typedef gboolean (*lookup_fn)(gpointer src, const char *name, int *ndim, int64_t *shape, rg_tensor **t,
                              GError **error);

/* Fills every entry of @h from @src under "@prefix<name>", strictly: a
 * missing or mis-shaped tensor is an error naming it (and both shapes). */
static gboolean fill_entries(rg_head *h, const char *path, const char *prefix, lookup_fn lookup, gpointer src,
                             GError **error)
{
    for (guint i = 0; i < h->entries->len; i++) {
        head_entry *e = &g_array_index(h->entries, head_entry, i);
        g_autofree char *key = g_strconcat(prefix, e->name, NULL);
        g_autofree char *want = head_shape_string(e->ndim, e->shape);
        int nd;
        int64_t shape[RG_MAX_DIMS];
        if (!lookup(src, key, &nd, shape, NULL, error)) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: missing tensor \"%s\" %s of a head with this config",
                        path, key, want);
            return FALSE;
        }
        if (nd != e->ndim || memcmp(shape, e->shape, (size_t)nd * sizeof *shape) != 0) {
            g_autofree char *got = head_shape_string(nd, shape);
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: tensor \"%s\" is %s; expected %s", path, key, got,
                        want);
            return FALSE;
        }
        if (!lookup(src, key, &nd, shape, e->slot, error))
            return FALSE;
    }
    return TRUE;
}

/* The set of names the head expects, with @prefix. */
static GHashTable *expected_names(const rg_head *h, const char *prefix)
{
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < h->entries->len; i++)
        g_hash_table_add(set, g_strconcat(prefix, g_array_index(h->entries, head_entry, i).name, NULL));
    return set;
}

/* ---- official .pt ---------------------------------------------------------- */

static gboolean pt_lookup(gpointer src, const char *name, int *ndim, int64_t *shape, rg_tensor **t, GError **error)
{
    (void)error;
    rg_tensor *x = rg_torch_pt_get(src, name);
    if (!x)
        return FALSE;
    *ndim = rg_tensor_ndim(x);
    memcpy(shape, rg_tensor_shape(x), (size_t)*ndim * sizeof *shape);
    if (t)
        *t = rg_tensor_ref(x); /* contiguous F32 of its own (torch_pt.h) */
    return TRUE;
}

static rg_head *open_pt(const char *path, const char *base, GError **error)
{
    g_autoptr(rg_torch_pt) pt = rg_torch_pt_open(path, error);
    if (!pt)
        return NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json_parser_load_from_data(parser, rg_torch_pt_values_json(pt), -1, NULL) ||
        !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: not a readout head: the file holds no dict", path);
        return NULL;
    }
    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    JsonNode *cn = json_object_get_member(root, "config");
    JsonNode *an = json_object_get_member(root, "aggregation_network");
    if (!cn || !JSON_NODE_HOLDS_OBJECT(cn) || !an || !JSON_NODE_HOLDS_OBJECT(an)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: not a readout head: expected a dict with \"config\" and "
                    "\"aggregation_network\" (the official heads' layout), found no %s", path,
                    !cn || !JSON_NODE_HOLDS_OBJECT(cn) ? "\"config\" dict" : "\"aggregation_network\" state dict");
        return NULL;
    }
    /* state_dict values that are not tensors (tensors are left out of the JSON) */
    JsonObject *sd = json_node_get_object(an);
    if (json_object_get_size(sd) > 0) {
        g_autoptr(GList) members = json_object_get_members(sd);
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: unexpected entry \"" PT_PREFIX "%s\" that is not a "
                    "tensor", path, (const char *)members->data);
        return NULL;
    }

    rg_head_config c;
    gboolean seq_explicit;
    JsonObject *config = json_node_get_object(cn);
    g_autofree char *official = json_to_string(cn, FALSE);
    if (!head_config_from_official(config, path, &c, &seq_explicit, error))
        return NULL;
    /* the layout the keys have (DHF's nn.Sequential adds ".0.") against the config's */
    const gboolean keys_seq = rg_torch_pt_get(pt, PT_PREFIX "bottleneck_layers.0.0.conv1.weight") != NULL;
    const gboolean keys_plain = rg_torch_pt_get(pt, PT_PREFIX "bottleneck_layers.0.conv1.weight") != NULL;
    if ((keys_seq && !c.bottleneck_sequential) || (keys_plain && c.bottleneck_sequential)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: the state dict has %s keys (" PT_PREFIX "%s), but "
                    "config.aggregation_kwargs.bottleneck_sequential is %s%s, which means %s keys", path,
                    keys_seq ? "DHF-style" : "plain", keys_seq ? "bottleneck_layers.0.0.conv1.weight" :
                    "bottleneck_layers.0.conv1.weight", c.bottleneck_sequential ? "True" : "False",
                    seq_explicit ? "" : " (absent: the official default)",
                    c.bottleneck_sequential ? "DHF-style bottleneck_layers.{l}.0.*" : "bottleneck_layers.{l}.*");
        return NULL;
    }
    /* emb_dim: the width of the emb Linear (the official code fixes 1280) */
    g_autofree char *emb_key = g_strdup_printf(PT_PREFIX "bottleneck_layers.0.%semb_layers.weight",
                                               c.bottleneck_sequential ? "0." : "");
    rg_tensor *ew = rg_torch_pt_get(pt, emb_key);
    if (!ew) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: missing tensor \"%s\" (%d,emb_dim)", path, emb_key,
                    c.projection_dim / 4);
        return NULL;
    }
    if (rg_tensor_ndim(ew) != 2) {
        g_autofree char *got = rg_tensor_shape_string(ew);
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: tensor \"%s\" is %s; expected (%d,emb_dim)", path,
                    emb_key, got, c.projection_dim / 4);
        return NULL;
    }
    c.emb_dim = (int)MIN(rg_tensor_shape(ew)[1], G_MAXINT);
    /* the role: the file name, else the config's control_type */
    const char *role = head_role_from_name(path);
    if (*role)
        g_strlcpy(c.role, role, sizeof c.role);

    g_autoptr(rg_head) h = head_new_empty(&c, base, RG_ERROR_FORMAT, error);
    if (!h || !fill_entries(h, path, PT_PREFIX, pt_lookup, pt, error))
        return NULL;
    g_autoptr(GHashTable) want = expected_names(h, PT_PREFIX);
    for (int i = 0; i < rg_torch_pt_count(pt); i++) {
        const char *name = rg_torch_pt_name(pt, i);
        if (g_str_has_prefix(name, PT_PREFIX) && !g_hash_table_contains(want, name)) {
            g_autofree char *got = rg_tensor_shape_string(rg_torch_pt_get(pt, name));
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: unexpected tensor \"%s\" %s: not part of a head "
                        "with this config", path, name, got);
            return NULL;
        }
    }
    h->official_config = g_steal_pointer(&official);
    return g_steal_pointer(&h);
}

/* ---- Readout's safetensors --------------------------------------------------- */

static gboolean st_lookup(gpointer src, const char *name, int *ndim, int64_t *shape, rg_tensor **t, GError **error)
{
    rg_dtype dtype;
    if (!rg_safetensors_info(src, name, &dtype, ndim, shape))
        return FALSE;
    if (!t)
        return TRUE;
    if (dtype != RG_DTYPE_F32 && dtype != RG_DTYPE_F16 && dtype != RG_DTYPE_BF16) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "tensor \"%s\" is %s; a head holds floats", name,
                    rg_dtype_name(dtype));
        return FALSE;
    }
    return (*t = rg_safetensors_load(src, name, error)) != NULL;
}

static rg_head *open_safetensors(const char *path, const char *base, GError **error)
{
    g_autoptr(rg_safetensors) st = rg_safetensors_open(path, error);
    if (!st)
        return NULL;
    const char *json = rg_safetensors_metadata(st, CONFIG_KEY);
    if (!json) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: a safetensors file without \"" CONFIG_KEY "\" metadata "
                    "is not a Readout head (official .pt heads convert with `readout convert-head`)", path);
        return NULL;
    }
    rg_head_config c;
    if (!head_config_from_json(json, path, &c, error))
        return NULL;
    if (!c.role[0])
        g_strlcpy(c.role, head_role_from_name(path), sizeof c.role);
    g_autoptr(rg_head) h = head_new_empty(&c, base, RG_ERROR_FORMAT, error);
    if (!h || !fill_entries(h, path, "", st_lookup, st, error)) {
        if (error && *error && !g_str_has_prefix((*error)->message, path))
            g_prefix_error(error, "%s: ", path);
        return NULL;
    }
    g_autoptr(GHashTable) want = expected_names(h, "");
    for (int i = 0; i < rg_safetensors_count(st); i++) {
        const char *name = rg_safetensors_name(st, i);
        if (!g_hash_table_contains(want, name)) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: unexpected tensor \"%s\": not part of a head with "
                        "this config", path, name);
            return NULL;
        }
    }
    const char *official = rg_safetensors_metadata(st, OFFICIAL_KEY);
    h->official_config = g_strdup(official);
    return g_steal_pointer(&h);
}

/* ---- open and save ----------------------------------------------------------- */

rg_head *rg_head_open(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    guint8 magic[9] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s: %s", path, g_strerror(e));
        return NULL;
    }
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    g_autofree char *base = g_path_get_basename(path);
    if (got >= 4 && !memcmp(magic, "PK\x03\x04", 4))
        return open_pt(path, base, error); /* torch.save's zip format */
    if (got == sizeof magic && magic[8] == '{')
        return open_safetensors(path, base, error); /* u64 header length, then JSON */
    if (got >= 2 && magic[0] == 0x80 && magic[1] <= 5)
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: a bare pickle (torch.save before PyTorch 1.6, or "
                    "_use_new_zipfile_serialization=False); Readout reads the zip format: load and save it again "
                    "with a recent torch.save", path);
    else
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: not a readout head: neither a PyTorch .pt (zip) file nor "
                    "a safetensors file", path);
    return NULL;
}

gboolean rg_head_save(const rg_head *h, const char *path, GError **error)
{
    g_return_val_if_fail(h != NULL && path != NULL, FALSE);
    const guint n = h->entries->len;
    g_autofree const char **names = g_new(const char *, n);
    g_autofree rg_tensor **tensors = g_new(rg_tensor *, n);
    for (guint i = 0; i < n; i++) {
        const head_entry *e = &g_array_index(h->entries, head_entry, i);
        names[i] = e->name;
        tensors[i] = *e->slot;
    }
    g_autofree char *config = head_config_to_json(&h->config);
    g_autofree char *generator = g_strdup_printf("Readout %s", rg_version());
    const char *metadata[] = {CONFIG_KEY, config, "generator", generator,
                              h->official_config ? OFFICIAL_KEY : NULL, h->official_config, NULL};
    return rg_safetensors_save(path, (int)n, names, tensors, metadata, error);
}
