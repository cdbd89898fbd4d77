/* head_train_state.c — the head trainer's state files: the head's weights,
 * the AdamW moments and step counts, the trainer's step, and the head
 * config, in one safetensors file written atomically; loading checks
 * everything before it changes anything.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "train/head_train_internal.h"

#define STATE_FORMAT "readout-head-train"
#define STATE_VERSION 1

static const char *const kinds[3] = {"head.", "adam_m.", "adam_v."};

static rg_tensor *kind_tensor(rg_head_trainer *t, int k, int i)
{
    return k == 0 ? g_ptr_array_index(t->params, i) : rg_adamw_moment(t->opt, i, k - 1);
}

gboolean rg_head_trainer_save_state(rg_head_trainer *t, const char *path, const char *run_json, GError **error)
{
    g_return_val_if_fail(t != NULL && path != NULL, FALSE);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < t->n; i++) {
            g_ptr_array_add(names, g_strconcat(kinds[k], (char *)g_ptr_array_index(t->names, i), NULL));
            g_ptr_array_add(tensors, rg_tensor_ref(kind_tensor(t, k, i)));
        }
    }
    g_autofree int64_t *adam_steps = g_new0(int64_t, t->n);
    for (int i = 0; i < t->n; i++)
        adam_steps[i] = rg_adamw_get_step(t->opt, i);
    const int64_t one = 1, n = t->n;
    rg_tensor *step = rg_tensor_new_from_data(RG_DTYPE_I64, 1, &one, &t->step, error);
    if (!step)
        return FALSE;
    g_ptr_array_add(names, g_strdup("step"));
    g_ptr_array_add(tensors, step);
    rg_tensor *as = rg_tensor_new_from_data(RG_DTYPE_I64, 1, &n, adam_steps, error);
    if (!as)
        return FALSE;
    g_ptr_array_add(names, g_strdup("adam_step"));
    g_ptr_array_add(tensors, as);
    g_autofree char *state = g_strdup_printf("{\"format\": \"%s\", \"version\": %d, \"step\": %" G_GINT64_FORMAT "}",
                                             STATE_FORMAT, STATE_VERSION, t->step);
    const char *meta[] = {"readout.head_train_state", state, "readout.head_config", t->head_config_json,
                          run_json ? "readout.run" : NULL, run_json, NULL};
    return rg_safetensors_save(path, (int)names->len, (const char *const *)names->pdata,
                               (rg_tensor *const *)tensors->pdata, meta, error);
}



gboolean rg_head_trainer_load_state(rg_head_trainer *t, const char *path, char **run_json, GError **error)
{
    g_return_val_if_fail(t != NULL && path != NULL, FALSE);
    if (run_json)
        *run_json = NULL;
    g_autoptr(rg_safetensors) st = rg_safetensors_open(path, error);
    if (!st)
        return FALSE;
    const char *state = rg_safetensors_metadata(st, "readout.head_train_state");
    if (!state || !strstr(state, "\"" STATE_FORMAT "\"")) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s is not a train-head state (no readout.head_train_state "
                    "metadata of format " STATE_FORMAT ")", path);
        return FALSE;
    }
    if (!train_same_config(path, "the state of another head", rg_safetensors_metadata(st, "readout.head_config"),
                           t->head_config_json, error))
        return FALSE;
    g_autoptr(GPtrArray) staged = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < t->n; i++) {
            g_autofree char *name = g_strconcat(kinds[k], (char *)g_ptr_array_index(t->names, i), NULL);
            rg_tensor *x = train_load_like(st, path, name, g_ptr_array_index(t->params, i), 0, error);
            if (!x)
                return FALSE;
            g_ptr_array_add(staged, x);
        }
    }
    g_autoptr(rg_tensor) step = train_load_like(st, path, "step", NULL, 1, error);
    g_autoptr(rg_tensor) adam_steps = step ? train_load_like(st, path, "adam_step", NULL, t->n, error) : NULL;
    if (!adam_steps)
        return FALSE;
    const int64_t *as = rg_tensor_data_i64(adam_steps);
    gboolean negative = rg_tensor_data_i64(step)[0] < 0;
    for (int i = 0; i < t->n; i++)
        negative |= as[i] < 0;
    if (negative) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: negative step count", path);
        return FALSE;
    }
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < t->n; i++) {
            rg_tensor *dst = kind_tensor(t, k, i), *src = g_ptr_array_index(staged, k * t->n + i);
            memcpy(rg_tensor_data_f32(dst), rg_tensor_data_f32(src), sizeof(float) * (size_t)rg_tensor_numel(dst));
        }
    }
    for (int i = 0; i < t->n; i++)
        rg_adamw_set_step(t->opt, i, as[i]);
    t->step = rg_tensor_data_i64(step)[0];
    const char *run = rg_safetensors_metadata(st, "readout.run");
    if (run_json && run)
        *run_json = g_strdup(run);
    return TRUE;
}
