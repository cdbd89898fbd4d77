/* torch_pt.c — reading PyTorch .pt files (see readout/torch_pt.h): the zip
 * archive checks, then the restricted unpickler (io/pickle_restricted.c),
 * then a walk that names the tensors state_dict-style and writes everything
 * else as JSON, with nesting capped at MAX_DEPTH.
 */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "io/pickle_restricted.h"
#include "readout/torch_pt.h"

#define MAX_DEPTH 32

struct rg_torch_pt {
    GHashTable *tensors; /* name -> rg_tensor */
    GPtrArray *names;    /* sorted */
    char *json;
};

static gboolean walk(rg_torch_pt *pt, const char *what, const char *name, rg_pv *v, JsonBuilder *jb, int depth,
                     GError **error)
{
    if (depth > MAX_DEPTH) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: %s nests more than %d levels deep", what, name, MAX_DEPTH);
        return FALSE;
    }
    switch (v->kind) {
    case RG_PV_NONE: json_builder_add_null_value(jb); return TRUE;
    case RG_PV_BOOL: json_builder_add_boolean_value(jb, v->i != 0); return TRUE;
    case RG_PV_INT: json_builder_add_int_value(jb, v->i); return TRUE;
    case RG_PV_FLOAT:
        if (isfinite(v->f))
            json_builder_add_double_value(jb, v->f);
        else
            json_builder_add_null_value(jb);
        return TRUE;
    case RG_PV_STR: json_builder_add_string_value(jb, v->s); return TRUE;
    case RG_PV_TENSOR:
        if (g_hash_table_contains(pt->tensors, name)) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: two tensors are called %s", what, name);
            return FALSE;
        }
        g_hash_table_insert(pt->tensors, g_strdup(name), rg_tensor_ref(v->tensor));
        return TRUE;
    case RG_PV_DICT:
        json_builder_begin_object(jb);
        for (guint i = 0; i < v->items->len; i++) {
            rg_pv *item = v->items->pdata[i];
            char *sub = *name ? g_strconcat(name, ".", v->keys->pdata[i], NULL) : g_strdup(v->keys->pdata[i]);
            if (item->kind != RG_PV_TENSOR)
                json_builder_set_member_name(jb, v->keys->pdata[i]);
            gboolean ok = walk(pt, what, sub, item, jb, depth + 1, error);
            g_free(sub);
            if (!ok)
                return FALSE;
        }
        json_builder_end_object(jb);
        return TRUE;
    case RG_PV_LIST:
    case RG_PV_TUPLE:
        json_builder_begin_array(jb);
        for (guint i = 0; i < v->items->len; i++) {
            rg_pv *item = v->items->pdata[i];
            char *sub = g_strdup_printf("%s%s%u", name, *name ? "." : "", i);
            if (item->kind == RG_PV_TENSOR)
                json_builder_add_null_value(jb);
            gboolean ok = walk(pt, what, sub, item, jb, depth + 1, error);
            g_free(sub);
            if (!ok)
                return FALSE;
        }
        json_builder_end_array(jb);
        return TRUE;
    default:
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: %s is a bare %s, not a value", what,
                    *name ? name : "the root", rg_pv_kind_names[v->kind]);
        return FALSE;
    }
}

static int compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static gboolean small_text(const rg_zip_entry *e, const char *what, const char *const *allowed, GError **error)
{
    for (int i = 0; allowed[i]; i++)
        if (e->size == strlen(allowed[i]) && !memcmp(e->data, allowed[i], e->size))
            return TRUE;
    g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: %s holds an unsupported value (%s expected)", what, e->name,
                allowed[0]);
    return FALSE;
}

static rg_torch_pt *parse(const guint8 *buf, gsize len, const char *what, GError **error)
{
    rg_zip *zip = rg_zip_open(buf, len, what, error);
    if (!zip)
        return NULL;
    rg_torch_pt *pt = NULL;
    char *prefix = NULL;
    rg_pickle *pk = NULL;
    const rg_zip_entry *pkl = NULL;
    for (int i = 0; i < rg_zip_count(zip); i++) {
        const rg_zip_entry *e = rg_zip_entry_at(zip, i);
        const char *slash = strchr(e->name, '/');
        if (slash && slash != e->name && !strcmp(slash, "/data.pkl")) {
            if (pkl) {
                g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: two pickles (%s, %s) in one archive", what,
                            pkl->name, e->name);
                goto out;
            }
            pkl = e;
        }
    }
    if (!pkl) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: no <name>/data.pkl entry; not a torch.save file", what);
        goto out;
    }
    prefix = g_strndup(pkl->name, strlen(pkl->name) - strlen("data.pkl"));
    char *vname = g_strconcat(prefix, "version", NULL), *bname = g_strconcat(prefix, "byteorder", NULL);
    const rg_zip_entry *ver = rg_zip_find(zip, vname), *order = rg_zip_find(zip, bname);
    g_free(vname);
    g_free(bname);
    static const char *const versions[] = {"3\n", "3", "2\n", "2", "1\n", "1", NULL};
    static const char *const orders[] = {"little", "little\n", NULL};
    if (!ver) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: no %sversion entry; not a torch.save file", what, prefix);
        goto out;
    }
    if (!small_text(ver, what, versions, error) || (order && !small_text(order, what, orders, error)) ||
        !rg_zip_check_crc(pkl, what, error))
        goto out;
    /* All tensors together may hold at most as many elements as the file has bytes. */
    pk = rg_pickle_run(zip, prefix, pkl, (int64_t)len, what, error);
    if (!pk)
        goto out;
    rg_pv *root = rg_pickle_root(pk);
    if (root->kind != RG_PV_DICT) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: the pickled object is a %s, not a dict", what,
                    rg_pv_kind_names[root->kind]);
        goto out;
    }
    pt = g_new0(rg_torch_pt, 1);
    pt->tensors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)rg_tensor_unref);
    JsonBuilder *jb = json_builder_new();
    gboolean ok = walk(pt, what, "", root, jb, 0, error);
    if (ok) {
        JsonNode *node = json_builder_get_root(jb);
        JsonGenerator *gen = json_generator_new();
        json_generator_set_root(gen, node);
        pt->json = json_generator_to_data(gen, NULL);
        g_object_unref(gen);
        json_node_unref(node);
        pt->names = g_ptr_array_new();
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, pt->tensors);
        while (g_hash_table_iter_next(&it, &key, NULL))
            g_ptr_array_add(pt->names, key);
        g_ptr_array_sort(pt->names, compare_names);
    }
    g_object_unref(jb);
    if (!ok) {
        rg_torch_pt_free(pt);
        pt = NULL;
    }
out:
    rg_pickle_free(pk);
    g_free(prefix);
    rg_zip_free(zip);
    return pt;
}

rg_torch_pt *rg_torch_pt_open_bytes(const void *data, size_t size, const char *what, GError **error)
{
    g_return_val_if_fail(data || !size, NULL);
    return parse(data, size, what ? what : "(memory)", error);
}

rg_torch_pt *rg_torch_pt_open(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    GError *e = NULL;
    GMappedFile *map = g_mapped_file_new(path, FALSE, &e);
    if (!map) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s: %s", path, e->message);
        g_error_free(e);
        return NULL;
    }
    rg_torch_pt *pt = parse((const guint8 *)g_mapped_file_get_contents(map), g_mapped_file_get_length(map), path,
                            error);
    g_mapped_file_unref(map);
    return pt;
}

void rg_torch_pt_free(rg_torch_pt *pt)
{
    if (!pt)
        return;
    g_hash_table_destroy(pt->tensors);
    if (pt->names)
        g_ptr_array_free(pt->names, TRUE);
    g_free(pt->json);
    g_free(pt);
}

int rg_torch_pt_count(const rg_torch_pt *pt) { return (int)pt->names->len; }

const char *rg_torch_pt_name(const rg_torch_pt *pt, int i)
{
    g_return_val_if_fail(i >= 0 && (guint)i < pt->names->len, NULL);
    return pt->names->pdata[i];
}

rg_tensor *rg_torch_pt_get(const rg_torch_pt *pt, const char *name)
{
    return g_hash_table_lookup(pt->tensors, name);
}

const char *rg_torch_pt_values_json(const rg_torch_pt *pt) { return pt->json; }
