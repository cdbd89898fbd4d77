/* head_train_state.c — the head trainer's state files: the head's weights,
 * the AdamW moments and step counts, the trainer's step, and the head
 * config, in one safetensors file written atomically; loading checks
 * everything before it changes anything.
 */
#include <string.h>

#include "train/head_train_internal.h"

#define STATE_FORMAT "readout-head-train"
#define STATE_VERSION 1

static const char *const state_kinds[3] = {"head.", "adam_m.", "adam_v."};

/* The weights and the AdamW moments of parameter @i. */
static rg_tensor *state_tensor(gpointer owner, int k, int i)
{
    rg_head_trainer *t = owner;
    return k == 0 ? g_ptr_array_index(t->params, i) : rg_adamw_moment(t->opt, i, k - 1);
}

static train_state_layout state_layout(rg_head_trainer *t)
{
    return (train_state_layout){state_kinds, 3, t->names, state_tensor, t};
}

gboolean rg_head_trainer_save_state(rg_head_trainer *t, const char *path, const char *run_json, GError **error)
{
    g_return_val_if_fail(t != NULL && path != NULL, FALSE);
    g_autofree int64_t *adam_steps = g_new0(int64_t, t->n);
    for (int i = 0; i < t->n; i++)
        adam_steps[i] = rg_adamw_get_step(t->opt, i);
    int64_t step = t->step;
    const train_counter counters[2] = {{"step", 1, &step}, {"adam_step", t->n, adam_steps}};
    g_autofree char *state = g_strdup_printf("{\"format\": \"%s\", \"version\": %d, \"step\": %" G_GINT64_FORMAT "}",
                                             STATE_FORMAT, STATE_VERSION, t->step);
    const char *meta[] = {"readout.head_train_state", state, "readout.head_config", t->head_config_json,
                          run_json ? "readout.run" : NULL, run_json, NULL};
    const train_state_layout l = state_layout(t);
    return train_state_save(path, &l, counters, 2, meta, error);
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
    g_autofree int64_t *adam_steps = g_new0(int64_t, t->n);
    int64_t step = 0;
    train_counter counters[2] = {{"step", 1, &step}, {"adam_step", t->n, adam_steps}};
    const train_state_layout l = state_layout(t);
    if (!train_state_load(st, path, &l, counters, 2, error))
        return FALSE;
    for (int i = 0; i < t->n; i++)
        rg_adamw_set_step(t->opt, i, adam_steps[i]);
    t->step = step;
    const char *run = rg_safetensors_metadata(st, "readout.run");
    if (run_json && run)
        *run_json = g_strdup(run);
    return TRUE;
}
