/* safetensors.c — reading (memory-mapped, every field bounds-checked) and
 * writing the safetensors format: an 8-byte little-endian header length, a
 * JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
 * then the raw little-endian data.
 *
 * The file is untrusted input: nothing in it can make the reader touch memory
 * outside the mapping or allocate more than the file describes. The header
 * must be UTF-8, nest at most RG_JSON_MAX_DEPTH deep, name each tensor once,
 * and give every tensor its own bytes (no two data ranges overlap). Loading
 * a float tensor warns, once per file, when it holds NaN or Inf.
 *
 * Also here: rg_json_parse_untrusted() (io/json_untrusted.h), the JSON
 * checks shared with the model loader.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "io/json_untrusted.h"
#include "tensor/tensor_impl.h"
#include "base/json.h"

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
    gint warned_nonfinite; /* a NaN/Inf warning was given for this file */
};

/* ---- untrusted JSON (io/json_untrusted.h) ---------------------------- */

/* One pass over valid UTF-8 JSON text: the deepest nesting (stopping at the
 * first level past @limit, whose offset goes to *where) and the number of
 * ':' outside strings, which in valid JSON is the number of object members. */
static int scan_json(const char *s, gsize len, int limit, guint64 *colons, gsize *where)
{
    int depth = 0, deepest = 0;
    gboolean in_string = FALSE;
    *colons = 0;
    for (gsize i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = FALSE;
            continue;
        }
        switch (c) {
        case '"':
            in_string = TRUE;
            break;
        case '{':
        case '[':
            if (++depth > deepest)
                deepest = depth;
            if (depth > limit) {
                *where = i;
                return depth;
            }
            break;
        case '}':
        case ']':
            depth--;
            break;
        case ':':
            (*colons)++;
            break;
        default:
            break;
        }
    }
    return deepest;
}

/* Members of every object under @node, as json-glib kept them. */
static guint64 count_members(JsonNode *node)
{
    guint64 n = 0;
    if (JSON_NODE_HOLDS_OBJECT(node)) {
        JsonObject *o = json_node_get_object(node);
        n += json_object_get_size(o);
        g_autoptr(GList) values = json_object_get_values(o);
        for (GList *l = values; l; l = l->next)
            n += count_members(l->data);
    } else if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *a = json_node_get_array(node);
        for (guint i = 0; i < json_array_get_length(a); i++)
            n += count_members(json_array_get_element(a, i));
    }
    return n;
}

/* The first key of the root object that appears twice, as written (escapes
 * not decoded), or NULL. (transfer full) */
static char *root_duplicate(const char *s, gsize len)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int depth = 0;
    gsize start = 0;
    gboolean in_string = FALSE;
    char *last = NULL; /* the last string at depth 1 (owned by seen or freed) */
    for (gsize i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_string = FALSE;
                if (depth == 1) {
                    g_free(last);
                    last = g_strndup(s + start, i - start);
                }
            }
            continue;
        }
        if (c == '"') {
            in_string = TRUE;
            start = i + 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == ':' && depth == 1 && last) {
            if (g_hash_table_contains(seen, last))
                return last;
            g_hash_table_add(seen, last);
            last = NULL;
        }
    }
    g_free(last);
    return NULL;
}

JsonNode *rg_json_parse_untrusted(const char *what, const char *text, gsize len, GError **error)
{
    const char *end = NULL;
    if (!g_utf8_validate(text, (gssize)len, &end)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s is not valid UTF-8 (byte %" G_GSIZE_FORMAT " of %"
                    G_GSIZE_FORMAT "%s)", what, (gsize)(end - text), len, *end ? "" : " is a NUL");
        return NULL;
    }
    guint64 colons;
    gsize where = 0;
    int depth = scan_json(text, len, RG_JSON_MAX_DEPTH, &colons, &where);
    if (depth > RG_JSON_MAX_DEPTH) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s nests deeper than %d levels (at byte %" G_GSIZE_FORMAT ")",
                    what, RG_JSON_MAX_DEPTH, where);
        return NULL;
    }
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) jerr = NULL;
    if (!json_parser_load_from_data(parser, text, (gssize)len, &jerr)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s is not valid JSON (%s)", what, jerr->message);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (!root) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s is empty", what);
        return NULL;
    }
    if (count_members(root) != colons) {
        g_autofree char *dup = root_duplicate(text, len);
        if (dup)
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s holds the name \"%s\" twice", what, dup);
        else
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s has an object with the same key twice", what);
        return NULL;
    }
    return json_node_copy(root);
}

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

static gint compare_begin(gconstpointer a, gconstpointer b)
{
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* No two tensors share a byte (empty tensors own none). */
static gboolean check_overlaps(rg_safetensors *st, GError **error)
{
    g_autoptr(GPtrArray) sorted = g_ptr_array_sized_new(st->entries->len);
    for (guint i = 0; i < st->entries->len; i++) {
        entry *e = &g_array_index(st->entries, entry, i);
        if (e->end > e->begin)
            g_ptr_array_add(sorted, e);
    }
    g_ptr_array_sort(sorted, compare_begin);
    for (guint i = 1; i < sorted->len; i++) {
        const entry *a = sorted->pdata[i - 1], *b = sorted->pdata[i];
        if (a->end > b->begin)
            return fail(error, st, NULL,
                        "tensors \"%s\" [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") and \"%s\" [%" G_GUINT64_FORMAT
                        ", %" G_GUINT64_FORMAT ") overlap in the data section",
                        a->name, a->begin, a->end, b->name, b->begin, b->end);
    }
    return TRUE;
}

static gboolean parse_header(rg_safetensors *st, const char *json, gsize len, GError **error)
{
    g_autofree char *what = g_strdup_printf("%s: the header", st->path);
    g_autoptr(JsonNode) root = rg_json_parse_untrusted(what, json, len, error);
    if (!root)
        return FALSE;
    if (!JSON_NODE_HOLDS_OBJECT(root))
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
    return check_overlaps(st, error);
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

/* Whether any of @n floats is NaN or +-Inf (exponent bits all ones). */
static gboolean any_nonfinite(const float *x, int64_t n)
{
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    return bad != 0;
}

#define LOAD_BLOCK 16384 /* elements: 64 KiB of f32 stay in L2 between convert and check */

/* Converts @n elements of @src (F32, F16 or BF16, little-endian, at any
 * alignment: safetensors promises none) to @dst, checking each block for
 * NaN/Inf while it is in cache; returns whether any was found. */
static gboolean load_floats(float *dst, const guint8 *src, rg_dtype dtype, int64_t n)
{
    const int64_t nblocks = (n + LOAD_BLOCK - 1) / LOAD_BLOCK;
    const size_t esize = rg_dtype_size(dtype);
    const gboolean aligned = ((guintptr)src % esize) == 0;
    int bad = 0;
#pragma omp parallel for if (n > 262144) schedule(static) reduction(| : bad)
    for (int64_t b = 0; b < nblocks; b++) {
        int64_t i0 = b * LOAD_BLOCK, m = MIN(LOAD_BLOCK, n - i0);
        const guint8 *from = src + (size_t)i0 * esize;
        if (dtype == RG_DTYPE_F32) {
            memcpy(dst + i0, from, (size_t)m * 4);
        } else if (aligned) {
            rg_convert_to_f32(dst + i0, from, dtype, m);
        } else { /* 16-bit loads need 2-byte alignment */
            guint16 tmp[LOAD_BLOCK];
            memcpy(tmp, from, (size_t)m * 2);
            rg_convert_to_f32(dst + i0, tmp, dtype, m);
        }
        bad |= any_nonfinite(dst + i0, m);
    }
    return bad != 0;
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
    if (e->dtype == RG_DTYPE_F32 || e->dtype == RG_DTYPE_F16 || e->dtype == RG_DTYPE_BF16) {
        rg_tensor *t = rg_tensor_new_uninit(RG_DTYPE_F32, e->ndim, e->shape, error);
        if (!t)
            return NULL;
        if (load_floats(rg_tensor_data_f32(t), src, e->dtype, rg_tensor_numel(t)) &&
            g_atomic_int_compare_and_exchange((gint *)&st->warned_nonfinite, 0, 1))
            g_warning("%s: tensor \"%s\" holds NaN or infinite values (only the first such tensor of a file "
                      "is reported)", st->path, name);
        return t;
    }
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
    gsize hlen;
    g_autofree char *header = rg_json_builder_text(b, FALSE, &hlen);

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
