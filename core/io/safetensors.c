/* safetensors.c — reading (memory-mapped, every field bounds-checked) and
 * writing the safetensors format: an 8-byte little-endian header length, a
 * JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
 * then the raw little-endian data.
 *
 * The file is untrusted input: nothing in it can make the reader touch memory
 * outside the mapping or allocate more than the file describes.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "tensor/tensor_impl.h"

/* A header larger than this is not a real checkpoint (SD1.5's is ~100 KB). */
#define MAX_HEADER_BYTES (100u * 1024u * 1024u)

typedef struct {
    char *name;
    char dtype_name[8];
    gboolean supported; /* dtype maps to an rg_dtype */
    rg_dtype dtype;
    int ndim;
    int64_t shape[RG_MAX_DIMS];
    guint64 begin, end; /* into the data section */
} entry;

struct rg_safetensors {
    char *path;
    GMappedFile *map;
    const guint8 *data; /* start of the data section */
    guint64 data_size;
    GArray *entries;      /* entry */
    GHashTable *by_name;  /* name -> index + 1 */
    GHashTable *metadata; /* string -> string */
};

static void entry_clear(entry *e)
{
    g_free(e->name);
}

void rg_safetensors_free(rg_safetensors *st)
{
    if (!st)
        return;
    if (st->entries)
        g_array_unref(st->entries);
    if (st->by_name)
        g_hash_table_unref(st->by_name);
    if (st->metadata)
        g_hash_table_unref(st->metadata);
    if (st->map)
        g_mapped_file_unref(st->map);
    g_free(st->path);
    g_free(st);
}

static gboolean dtype_from_name(const char *s, rg_dtype *dtype, size_t *size)
{
    static const struct { const char *name; rg_dtype dtype; size_t size; } known[] = {
        { "F32", RG_DTYPE_F32, 4 }, { "F16", RG_DTYPE_F16, 2 }, { "BF16", RG_DTYPE_BF16, 2 },
        { "I64", RG_DTYPE_I64, 8 }, { "I32", RG_DTYPE_I32, 4 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(known); i++)
        if (strcmp(s, known[i].name) == 0) {
            *dtype = known[i].dtype;
            *size = known[i].size;
            return TRUE;
        }
    return FALSE;
}

/* Element sizes of dtypes we list but do not load. */
static size_t other_dtype_size(const char *s)
{
    static const struct { const char *name; size_t size; } other[] = {
        { "F64", 8 }, { "I8", 1 }, { "U8", 1 }, { "BOOL", 1 }, { "I16", 2 }, { "U16", 2 },
        { "U32", 4 }, { "U64", 8 }, { "F8_E4M3", 1 }, { "F8_E5M2", 1 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(other); i++)
        if (strcmp(s, other[i].name) == 0)
            return other[i].size;
    return 0;
}

static gboolean fail(GError **error, const rg_safetensors *st, const char *name, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static gboolean fail(GError **error, const rg_safetensors *st, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (name)
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: tensor \"%s\": %s", st->path, name, msg);
    else
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: %s", st->path, msg);
    return FALSE;
}

static gboolean parse_entry(rg_safetensors *st, const char *name, JsonNode *node, entry *e, GError **error)
{
    if (!JSON_NODE_HOLDS_OBJECT(node))
        return fail(error, st, name, "header entry is not an object");
    JsonObject *o = json_node_get_object(node);
    JsonNode *jd = json_object_get_member(o, "dtype");
    JsonNode *js = json_object_get_member(o, "shape");
    JsonNode *jo = json_object_get_member(o, "data_offsets");
    if (!jd || json_node_get_value_type(jd) != G_TYPE_STRING || !js || !JSON_NODE_HOLDS_ARRAY(js) || !jo ||
        !JSON_NODE_HOLDS_ARRAY(jo))
        return fail(error, st, name, "needs \"dtype\" (string), \"shape\" and \"data_offsets\" (arrays)");
    const char *dn = json_node_get_string(jd);
    size_t esize = 0;
    e->supported = dtype_from_name(dn, &e->dtype, &esize);
    if (!e->supported && !(esize = other_dtype_size(dn)))
        return fail(error, st, name, "unknown dtype \"%s\"", dn);
    g_strlcpy(e->dtype_name, dn, sizeof e->dtype_name);

    JsonArray *shape = json_node_get_array(js);
    guint nd = json_array_get_length(shape);
    if (nd > RG_MAX_DIMS)
        return fail(error, st, name, "%u dimensions (at most %d)", nd, RG_MAX_DIMS);
    e->ndim = (int)nd;
    guint64 numel = 1;
    for (guint i = 0; i < nd; i++) {
        JsonNode *d = json_array_get_element(shape, i);
        if (!JSON_NODE_HOLDS_VALUE(d) || json_node_get_value_type(d) != G_TYPE_INT64 || json_node_get_int(d) < 0)
            return fail(error, st, name, "shape entry %u is not a non-negative integer", i);
        e->shape[i] = json_node_get_int(d);
        if (e->shape[i] && numel > st->data_size / (guint64)e->shape[i])
            return fail(error, st, name, "shape is larger than the file");
        numel *= (guint64)e->shape[i];
    }
    JsonArray *offs = json_node_get_array(jo);
    if (json_array_get_length(offs) != 2)
        return fail(error, st, name, "data_offsets must hold two numbers");
    gint64 v[2];
    for (guint i = 0; i < 2; i++) {
        JsonNode *d = json_array_get_element(offs, i);
        if (!JSON_NODE_HOLDS_VALUE(d) || json_node_get_value_type(d) != G_TYPE_INT64 || json_node_get_int(d) < 0)
            return fail(error, st, name, "data_offsets must be non-negative integers");
        v[i] = json_node_get_int(d);
    }
    e->begin = (guint64)v[0];
    e->end = (guint64)v[1];
    if (e->begin > e->end || e->end > st->data_size)
        return fail(error, st, name,
                    "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "] lie outside the %" G_GUINT64_FORMAT
                    " bytes of data (truncated file?)",
                    e->begin, e->end, st->data_size);
    if (e->end - e->begin != numel * esize) {
        g_autofree char *s = rg_shape_string(e->ndim, e->shape);
        return fail(error, st, name, "%s %s needs %" G_GUINT64_FORMAT " bytes, data_offsets give %" G_GUINT64_FORMAT,
                    dn, s, numel * esize, e->end - e->begin);
    }
    return TRUE;
}

static gboolean parse_metadata(rg_safetensors *st, JsonNode *node, GError **error)
{
    if (!JSON_NODE_HOLDS_OBJECT(node))
        return fail(error, st, NULL, "__metadata__ is not an object");
    JsonObject *o = json_node_get_object(node);
    g_autoptr(GList) members = json_object_get_members(o);
    for (GList *l = members; l; l = l->next) {
        JsonNode *v = json_object_get_member(o, l->data);
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING)
            return fail(error, st, NULL, "__metadata__ value \"%s\" is not a string", (const char *)l->data);
        g_hash_table_insert(st->metadata, g_strdup(l->data), g_strdup(json_node_get_string(v)));
    }
    return TRUE;
}

static gboolean parse_header(rg_safetensors *st, const char *json, gsize len, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) jerr = NULL;
    if (!json_parser_load_from_data(parser, json, (gssize)len, &jerr))
        return fail(error, st, NULL, "the header is not valid JSON (%s)", jerr->message);
    JsonNode *root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return fail(error, st, NULL, "the header is not a JSON object");
    JsonObject *o = json_node_get_object(root);
    g_autoptr(GList) members = json_object_get_members(o);
    for (GList *l = members; l; l = l->next) {
        const char *name = l->data;
        JsonNode *node = json_object_get_member(o, name);
        if (strcmp(name, "__metadata__") == 0) {
            if (!parse_metadata(st, node, error))
                return FALSE;
            continue;
        }
        entry e = { 0 };
        if (!parse_entry(st, name, node, &e, error))
            return FALSE;
        e.name = g_strdup(name);
        g_array_append_val(st->entries, e);
        g_hash_table_insert(st->by_name, e.name, GINT_TO_POINTER(st->entries->len));
    }
    return TRUE;
}

rg_safetensors *rg_safetensors_open(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_autoptr(rg_safetensors) st = g_new0(rg_safetensors, 1);
    st->path = g_strdup(path);
    st->entries = g_array_new(FALSE, TRUE, sizeof(entry));
    g_array_set_clear_func(st->entries, (GDestroyNotify)entry_clear);
    st->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    st->metadata = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

    g_autoptr(GError) ferr = NULL;
    st->map = g_mapped_file_new(path, FALSE, &ferr);
    if (!st->map) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s", ferr->message);
        return NULL;
    }
    const guint8 *bytes = (const guint8 *)g_mapped_file_get_contents(st->map);
    gsize size = g_mapped_file_get_length(st->map);
    if (size < 8) {
        fail(error, st, NULL, "too short for a safetensors file (%" G_GSIZE_FORMAT " bytes)", size);
        return NULL;
    }
    guint64 hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | bytes[i];
    if (hlen > MAX_HEADER_BYTES || hlen > size - 8) {
        fail(error, st, NULL, "header length %" G_GUINT64_FORMAT " does not fit the %" G_GSIZE_FORMAT
             "-byte file (not a safetensors file?)", hlen, size);
        return NULL;
    }
    st->data = bytes + 8 + hlen;
    st->data_size = size - 8 - hlen;
    if (!parse_header(st, (const char *)bytes + 8, (gsize)hlen, error))
        return NULL;
    return g_steal_pointer(&st);
}

int rg_safetensors_count(const rg_safetensors *st)
{
    return (int)st->entries->len;
}

const char *rg_safetensors_name(const rg_safetensors *st, int i)
{
    g_return_val_if_fail(i >= 0 && i < (int)st->entries->len, NULL);
    return g_array_index(st->entries, entry, i).name;
}

static const entry *find(const rg_safetensors *st, const char *name)
{
    int idx = GPOINTER_TO_INT(g_hash_table_lookup(st->by_name, name));
    return idx ? &g_array_index(st->entries, entry, idx - 1) : NULL;
}

gboolean rg_safetensors_contains(const rg_safetensors *st, const char *name)
{
    return find(st, name) != NULL;
}

const char *rg_safetensors_metadata(const rg_safetensors *st, const char *key)
{
    return g_hash_table_lookup(st->metadata, key);
}

gboolean rg_safetensors_info(const rg_safetensors *st, const char *name, rg_dtype *dtype, int *ndim,
                             int64_t *shape)
{
    const entry *e = find(st, name);
    if (!e || !e->supported)
        return FALSE;
    if (dtype)
        *dtype = e->dtype;
    if (ndim)
        *ndim = e->ndim;
    if (shape)
        memcpy(shape, e->shape, sizeof(int64_t) * (size_t)e->ndim);
    return TRUE;
}

rg_tensor *rg_safetensors_load(const rg_safetensors *st, const char *name, GError **error)
{
    const entry *e = find(st, name);
    if (!e) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: no tensor named \"%s\"", st->path, name);
        return NULL;
    }
    if (!e->supported) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: tensor \"%s\" has dtype %s, which Readout does not load",
                    st->path, name, e->dtype_name);
        return NULL;
    }
    const guint8 *src = st->data + e->begin;
    if (e->dtype != RG_DTYPE_I32)
        return rg_tensor_new_from_data(e->dtype, e->ndim, e->shape, src, error);
    /* integers load as I64 */
    rg_tensor *t = rg_tensor_new_uninit(RG_DTYPE_I64, e->ndim, e->shape, error);
    if (!t)
        return NULL;
    int64_t *dst = rg_tensor_data_i64(t);
    for (int64_t i = 0; i < rg_tensor_numel(t); i++) {
        int32_t v;
        memcpy(&v, src + 4 * i, 4);
        dst[i] = v;
    }
    return t;
}

gboolean rg_safetensors_save(const char *path, int n, const char *const *names, rg_tensor *const *tensors,
                             const char *const *metadata, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    if (metadata && metadata[0]) {
        json_builder_set_member_name(b, "__metadata__");
        json_builder_begin_object(b);
        for (int i = 0; metadata[i] && metadata[i + 1]; i += 2) {
            json_builder_set_member_name(b, metadata[i]);
            json_builder_add_string_value(b, metadata[i + 1]);
        }
        json_builder_end_object(b);
    }
    guint64 offset = 0;
    for (int i = 0; i < n; i++) {
        rg_tensor *t = tensors[i];
        if (t->dtype != RG_DTYPE_F32 && t->dtype != RG_DTYPE_I64) {
            g_set_error(error, RG_ERROR, RG_ERROR_DTYPE, "%s: tensor \"%s\" is %s; only F32 and I64 are written",
                        path, names[i], rg_dtype_name(t->dtype));
            return FALSE;
        }
        guint64 bytes = (guint64)rg_tensor_numel(t) * rg_dtype_size(t->dtype);
        json_builder_set_member_name(b, names[i]);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "dtype");
        json_builder_add_string_value(b, rg_dtype_name(t->dtype));
        json_builder_set_member_name(b, "shape");
        json_builder_begin_array(b);
        for (int d = 0; d < t->ndim; d++)
            json_builder_add_int_value(b, t->shape[d]);
        json_builder_end_array(b);
        json_builder_set_member_name(b, "data_offsets");
        json_builder_begin_array(b);
        json_builder_add_int_value(b, (gint64)offset);
        json_builder_add_int_value(b, (gint64)(offset + bytes));
        json_builder_end_array(b);
        json_builder_end_object(b);
        offset += bytes;
    }
    json_builder_end_object(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    gsize hlen;
    g_autofree char *header = json_generator_to_data(gen, &hlen);

    g_autoptr(GString) out = g_string_sized_new(8 + hlen + 8 + offset);
    gsize padded = (hlen + 7) / 8 * 8;
    for (int i = 0; i < 8; i++)
        g_string_append_c(out, (char)((padded >> (8 * i)) & 0xff));
    g_string_append_len(out, header, (gssize)hlen);
    for (gsize i = hlen; i < padded; i++)
        g_string_append_c(out, ' ');
    for (int i = 0; i < n; i++) {
        g_autoptr(rg_tensor) c = rg_tensor_contiguous_copy(tensors[i], error);
        if (!c)
            return FALSE;
        const char *p = (const char *)c->storage->data + c->offset * (int64_t)rg_dtype_size(c->dtype);
        g_string_append_len(out, p, (gssize)((size_t)rg_tensor_numel(c) * rg_dtype_size(c->dtype)));
    }
    g_autoptr(GError) ferr = NULL;
    if (!g_file_set_contents(path, out->str, (gssize)out->len, &ferr)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s", ferr->message);
        return FALSE;
    }
    return TRUE;
}
