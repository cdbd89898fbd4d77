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
