/* state.c — what the trainers' state files share: refusing a state saved
 * for another configuration (naming the first key that differs), and
 * loading an entry with the shape the run expects. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "train/train_internal.h"

gboolean train_same_config(const char *path, const char *what, const char *saved, const char *ours, GError **error)
{
    g_autoptr(JsonParser) ps = json_parser_new();
    g_autoptr(JsonParser) po = json_parser_new();
    if (!saved || !json_parser_load_from_data(ps, saved, -1, NULL) ||
        !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(ps)) || !json_parser_load_from_data(po, ours, -1, NULL) ||
        !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(po))) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: the training state has no readable config", path);
        return FALSE;
    }
    JsonObject *os = json_node_get_object(json_parser_get_root(ps));
    JsonObject *oo = json_node_get_object(json_parser_get_root(po));
    g_autoptr(GList) keys = json_object_get_members(oo);
    g_autoptr(GList) skeys = json_object_get_members(os);
    keys = g_list_concat(keys, g_steal_pointer(&skeys));
    for (GList *k = keys; k; k = k->next) {
        JsonNode *a = json_object_get_member(os, k->data), *b = json_object_get_member(oo, k->data);
        if (a && b && json_node_equal(a, b))
            continue;
        g_autofree char *sa = a ? json_to_string(a, FALSE) : g_strdup("absent");
        g_autofree char *sb = b ? json_to_string(b, FALSE) : g_strdup("absent");
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s is %s: %s is %s there and %s in this run", path, what,
                    (char *)k->data, sa, sb);
        return FALSE;
    }
    return TRUE;
}

rg_tensor *train_load_like(rg_safetensors *st, const char *path, const char *name, rg_tensor *like, int64_t n,
                           GError **error)
{
    g_autoptr(rg_tensor) x = rg_safetensors_load(st, name, error);
    if (!x)
        return NULL;
    const gboolean fits = like ? rg_tensor_dtype(x) == RG_DTYPE_F32 && rg_tensor_ndim(x) == rg_tensor_ndim(like) &&
                                     !memcmp(rg_tensor_shape(x), rg_tensor_shape(like),
                                             sizeof(int64_t) * (size_t)rg_tensor_ndim(like))
                               : rg_tensor_dtype(x) == RG_DTYPE_I64 && rg_tensor_ndim(x) == 1 &&
                                     rg_tensor_shape(x)[0] == n;
    if (fits)
        return g_steal_pointer(&x);
    g_autofree char *sx = rg_tensor_shape_string(x);
    g_autofree char *sl = like ? rg_tensor_shape_string(like) : g_strdup_printf("(%" G_GINT64_FORMAT ")", (gint64)n);
    g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: tensor %s is %s %s, expected %s %s", path, name,
                rg_dtype_name(rg_tensor_dtype(x)), sx, like ? "F32" : "I64", sl);
    return NULL;
}

gboolean train_state_save(const char *path, const train_state_layout *l, const train_counter *counters,
                          int n_counters, const char *const *metadata, GError **error)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    for (int k = 0; k < l->n_kinds; k++)
        for (guint i = 0; i < l->param_names->len; i++) {
            g_ptr_array_add(names, g_strconcat(l->kinds[k], (char *)g_ptr_array_index(l->param_names, i), NULL));
            g_ptr_array_add(tensors, rg_tensor_ref(l->get(l->owner, k, (int)i)));
        }
    for (int c = 0; c < n_counters; c++) {
        rg_tensor *x = rg_tensor_new_from_data(RG_DTYPE_I64, 1, &counters[c].n, counters[c].values, error);
        if (!x)
            return FALSE;
        g_ptr_array_add(names, g_strdup(counters[c].name));
        g_ptr_array_add(tensors, x);
    }
    /* g_file_set_contents() inside writes a temporary file and renames it */
    return rg_safetensors_save(path, (int)names->len, (const char *const *)names->pdata,
                               (rg_tensor *const *)tensors->pdata, metadata, error);
}

gboolean train_state_load(rg_safetensors *st, const char *path, const train_state_layout *l, train_counter *counters,
                          int n_counters, GError **error)
{
    const int n = (int)l->param_names->len;
    /* everything is read and checked before anything changes */
    g_autoptr(GPtrArray) staged = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    for (int k = 0; k < l->n_kinds; k++)
        for (int i = 0; i < n; i++) {
            g_autofree char *name = g_strconcat(l->kinds[k], (char *)g_ptr_array_index(l->param_names, i), NULL);
            rg_tensor *x = train_load_like(st, path, name, l->get(l->owner, k, i), 0, error);
            if (!x)
                return FALSE;
            g_ptr_array_add(staged, x);
        }
    g_autoptr(GPtrArray) loaded = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    for (int c = 0; c < n_counters; c++) {
        rg_tensor *x = train_load_like(st, path, counters[c].name, NULL, counters[c].n, error);
        if (!x)
            return FALSE;
        g_ptr_array_add(loaded, x);
        for (int64_t j = 0; j < counters[c].n; j++)
            if (rg_tensor_data_i64(x)[j] < 0) {
                g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: negative step count", path);
                return FALSE;
            }
    }
    for (int k = 0; k < l->n_kinds; k++)
        for (int i = 0; i < n; i++) {
            rg_tensor *dst = l->get(l->owner, k, i), *src = g_ptr_array_index(staged, k * n + i);
            memcpy(rg_tensor_data_f32(dst), rg_tensor_data_f32(src), sizeof(float) * (size_t)rg_tensor_numel(dst));
        }
    for (int c = 0; c < n_counters; c++)
        memcpy(counters[c].values, rg_tensor_data_i64(g_ptr_array_index(loaded, c)),
               sizeof(int64_t) * (size_t)counters[c].n);
    return TRUE;
}
