/* weights.c — rg_weights: component-relative names -> tensors in
 * safetensors files, with strict shape checks at load time. An entry may see
 * its tensor with another shape of the same size (LDM 1x1 conv <-> diffusers
 * linear), and the set may say where it comes from for messages about
 * tensors it lacks. */
#include "readout/weights.h"

#include <string.h>

#include "tensor/tensor_impl.h"

typedef struct {
    rg_safetensors *file; /* shared, owned by the files table */
    char *path;           /* for messages (owned by the files table key) */
    char *stored_name;
    int ndim; /* -1: seen as stored; else the shape it is seen with */
    int64_t shape[RG_MAX_DIMS];
} entry;

struct rg_weights {
    GHashTable *files;   /* path -> rg_safetensors */
    GHashTable *entries; /* name -> entry */
    char *origin;        /* for messages, or NULL */
    rg_weights_stored_name_fn stored_name;
    gpointer stored_name_data;
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
    g_free(w->origin);
    g_free(w);
}

void rg_weights_set_origin(rg_weights *w, const char *origin, rg_weights_stored_name_fn stored_name,
                           gpointer user_data)
{
    g_free(w->origin);
    w->origin = g_strdup(origin);
    w->stored_name = stored_name;
    w->stored_name_data = user_data;
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

static int64_t numel_of(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

gboolean rg_weights_add_reshaped(rg_weights *w, const char *name, const char *path, const char *stored_name,
                                 int ndim, const int64_t *shape, GError **error)
{
    g_return_val_if_fail(ndim <= RG_MAX_DIMS, FALSE);
    char *key;
    rg_safetensors *st = file_for(w, path, &key, error);
    if (!st)
        return FALSE;
    if (!rg_safetensors_contains(st, stored_name)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: no tensor named \"%s\"", path, stored_name);
        return FALSE;
    }
    if (ndim >= 0) {
        int nd = 0;
        int64_t found[RG_MAX_DIMS];
        if (rg_safetensors_info(st, stored_name, NULL, &nd, found) && numel_of(nd, found) != numel_of(ndim, shape)) {
            g_autofree char *want = rg_shape_string(ndim, shape);
            g_autofree char *got = rg_shape_string(nd, found);
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: tensor \"%s\" of shape %s cannot be seen as %s", path,
                        stored_name, got, want);
            return FALSE;
        }
    }
    entry *e = g_new0(entry, 1);
    e->file = st;
    e->path = key;
    e->stored_name = g_strdup(stored_name);
    e->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        e->shape[i] = shape[i];
    g_hash_table_replace(w->entries, g_strdup(name), e);
    return TRUE;
}

gboolean rg_weights_add(rg_weights *w, const char *name, const char *path, const char *stored_name, GError **error)
{
    return rg_weights_add_reshaped(w, name, path, stored_name, -1, NULL, error);
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

gboolean rg_weights_info(const rg_weights *w, const char *name, rg_dtype *dtype, int *ndim, int64_t *shape)
{
    const entry *e = g_hash_table_lookup(w->entries, name);
    int nd;
    int64_t found[RG_MAX_DIMS];
    if (!e || !rg_safetensors_info(e->file, e->stored_name, dtype, &nd, found))
        return FALSE;
    if (e->ndim >= 0) {
        nd = e->ndim;
        memcpy(found, e->shape, sizeof(int64_t) * (size_t)nd);
    }
    if (ndim)
        *ndim = nd;
    if (shape)
        memcpy(shape, found, sizeof(int64_t) * (size_t)nd);
    return TRUE;
}

/* "a.safetensors" or "a.safetensors, b.safetensors": where @w's tensors are. (transfer full) */
static char *origin_of(const rg_weights *w)
{
    if (w->origin)
        return g_strdup(w->origin);
    g_autoptr(GPtrArray) paths = g_ptr_array_new();
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, w->files);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(paths, k);
    if (paths->len == 0)
        return g_strdup("(no weight files)");
    g_ptr_array_sort(paths, compare_names);
    g_ptr_array_add(paths, NULL);
    return g_strjoinv(", ", (char **)paths->pdata);
}

rg_tensor *rg_weights_load(rg_weights *w, const char *name, int ndim, const int64_t *shape, GError **error)
{
    entry *e = g_hash_table_lookup(w->entries, name);
    if (!e) {
        g_autofree char *want = rg_shape_string(ndim, shape);
        g_autofree char *where = origin_of(w);
        g_autofree char *stored = w->stored_name ? w->stored_name(name, w->stored_name_data) : NULL;
        if (stored && strcmp(stored, name) != 0)
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT,
                        "%s: missing tensor \"%s\" (for \"%s\", expected shape %s)", where, stored, name, want);
        else
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: missing tensor \"%s\" (expected shape %s)", where,
                        name, want);
        return NULL;
    }
    rg_dtype dtype;
    int nd = 0, stored_nd = 0;
    int64_t found[RG_MAX_DIMS], stored_shape[RG_MAX_DIMS];
    gboolean known = rg_safetensors_info(e->file, e->stored_name, &dtype, &stored_nd, stored_shape);
    if (known) {
        nd = e->ndim >= 0 ? e->ndim : stored_nd;
        memcpy(found, e->ndim >= 0 ? e->shape : stored_shape, sizeof(int64_t) * (size_t)nd);
    }
    gboolean same = known && nd == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = found[i] == shape[i];
    if (known && !same) {
        g_autofree char *want = rg_shape_string(ndim, shape);
        g_autofree char *got = rg_shape_string(nd, found);
        g_autofree char *as_stored = rg_shape_string(stored_nd, stored_shape);
        g_autofree char *also = strcmp(name, e->stored_name) ? g_strdup_printf(" (for \"%s\")", name) : g_strdup("");
        g_autofree char *seen = e->ndim >= 0 ? g_strdup_printf(" (stored as %s)", as_stored) : g_strdup("");
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: tensor \"%s\"%s has shape %s%s, expected %s", e->path,
                    e->stored_name, also, got, seen, want);
        return NULL;
    }
    /* unknown: a dtype Readout does not load; the loader's error says which */
    rg_tensor *t = rg_safetensors_load(e->file, e->stored_name, error);
    if (t && e->ndim >= 0) { /* a fresh contiguous tensor of the same size: only its geometry changes */
        t->ndim = e->ndim;
        memcpy(t->shape, e->shape, sizeof(int64_t) * (size_t)e->ndim);
        rg_contiguous_strides(t->ndim, t->shape, t->strides);
    }
    return t;
}
