/* weights.c — rg_weights: component-relative names -> tensors in
 * safetensors files, with strict shape checks at load time. */
#include "readout/weights.h"

#include <string.h>

#include "tensor/tensor_impl.h"

typedef struct {
    rg_safetensors *file; /* shared, owned by the files table */
    char *path;           /* for messages (owned by the files table key) */
    char *stored_name;
} entry;

struct rg_weights {
    GHashTable *files;   /* path -> rg_safetensors */
    GHashTable *entries; /* name -> entry */
};

static void entry_free(entry *e)
{
    g_free(e->stored_name);
    g_free(e);
}

rg_weights *rg_weights_new(void)
{
    rg_weights *w = g_new0(rg_weights, 1);
    w->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)rg_safetensors_free);
    w->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)entry_free);
    return w;
}

void rg_weights_free(rg_weights *w)
{
    if (!w)
        return;
    g_hash_table_unref(w->entries);
    g_hash_table_unref(w->files);
    g_free(w);
}

static rg_safetensors *file_for(rg_weights *w, const char *path, char **key, GError **error)
{
    gpointer k = NULL, v = NULL;
    if (g_hash_table_lookup_extended(w->files, path, &k, &v)) {
        *key = k;
        return v;
    }
    rg_safetensors *st = rg_safetensors_open(path, error);
    if (!st)
        return NULL;
    *key = g_strdup(path);
    g_hash_table_insert(w->files, *key, st);
    return st;
}

gboolean rg_weights_add(rg_weights *w, const char *name, const char *path, const char *stored_name, GError **error)
{
    char *key;
    rg_safetensors *st = file_for(w, path, &key, error);
    if (!st)
        return FALSE;
    if (!rg_safetensors_contains(st, stored_name)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: no tensor named \"%s\"", path, stored_name);
        return FALSE;
    }
    entry *e = g_new0(entry, 1);
    e->file = st;
    e->path = key;
    e->stored_name = g_strdup(stored_name);
    g_hash_table_replace(w->entries, g_strdup(name), e);
    return TRUE;
}

rg_weights *rg_weights_open_safetensors(const char *path, const char *prefix, GError **error)
{
    g_autoptr(rg_weights) w = rg_weights_new();
    char *key;
    rg_safetensors *st = file_for(w, path, &key, error);
    if (!st)
        return NULL;
    size_t plen = prefix ? strlen(prefix) : 0;
    for (int i = 0; i < rg_safetensors_count(st); i++) {
        const char *stored = rg_safetensors_name(st, i);
        if (plen && strncmp(stored, prefix, plen) != 0)
            continue;
        if (!rg_weights_add(w, stored + plen, path, stored, error))
            return NULL;
    }
    return g_steal_pointer(&w);
}

gboolean rg_weights_contains(const rg_weights *w, const char *name)
{
    return g_hash_table_contains(w->entries, name);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *rg_weights_names(const rg_weights *w)
{
    GPtrArray *names = g_ptr_array_new();
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, w->entries);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(names, k);
    g_ptr_array_sort(names, compare_names);
    return names;
}

rg_tensor *rg_weights_load(rg_weights *w, const char *name, int ndim, const int64_t *shape, GError **error)
{
    entry *e = g_hash_table_lookup(w->entries, name);
    if (!e) {
        g_autofree char *want = rg_shape_string(ndim, shape);
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "missing tensor \"%s\" (expected shape %s)", name, want);
        return NULL;
    }
    rg_dtype dtype;
    int nd;
    int64_t found[RG_MAX_DIMS];
    gboolean same = rg_safetensors_info(e->file, e->stored_name, &dtype, &nd, found) && nd == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = found[i] == shape[i];
    if (!same) {
        g_autofree char *want = rg_shape_string(ndim, shape);
        g_autofree char *got = rg_shape_string(nd, found);
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: tensor \"%s\" has shape %s, expected %s", e->path,
                    e->stored_name, got, want);
        return NULL;
    }
    return rg_safetensors_load(e->file, e->stored_name, error);
}
