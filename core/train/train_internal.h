/* train_internal.h — shared by the files of core/train/ and reachable from
 * the tests: the keyed random numbers of training, and the diffusion
 * trainer's batches.
 *
 * adamw.c        AdamW, clip_grad_norm, warm-up, EMA
 * init.c         keyed random numbers, the demo UNet config and its JSON,
 *                the UNet's default initialisation
 * demo_model.c   the demo text encoder, the model folder
 * diffusion.c    the diffusion trainer: batches, steps, checkpoints
 */
#pragma once

#include <json-glib/json-glib.h>

#include "readout/train.h"

/* Keyed random numbers (rg_rng): each (run seed, step, index, purpose) has a
 * stream of its own, so a resumed run draws what an unbroken one does. */
#include "base/json.h"
#include "base/rng.h"

/* ---- state files (state.c) --------------------------------------------------- */

/* FALSE, with "PATH is @what: KEY is A there and B in this run" for the first
 * key of the two JSON objects whose values differ. */
gboolean train_same_config(const char *path, const char *what, const char *saved, const char *ours, GError **error);
/* Entry @name of @st: F32 shaped like @like, or I64 of @n entries when @like
 * is NULL; else RG_ERROR_FORMAT naming both. */
rg_tensor *train_load_like(rg_safetensors *st, const char *path, const char *name, rg_tensor *like, int64_t n,
                           GError **error);

/* A trainer's tensors in a state file: tensor get(owner, k, i) is stored as
 * kinds[k] + param_names[i] ("ema.conv_in.weight"), F32 shaped like it. */
typedef struct {
    const char *const *kinds;
    int n_kinds;
    GPtrArray *param_names;
    rg_tensor *(*get)(gpointer owner, int k, int i);
    gpointer owner;
} train_state_layout;
/* A run of @n non-negative I64 counts stored under @name ("step", "adam_step"). */
typedef struct {
    const char *name;
    int64_t n;
    int64_t *values;
} train_counter;
/* Writes the layout's tensors, the counters and @metadata (key, value, ..., NULL) to @path atomically. */
gboolean train_state_save(const char *path, const train_state_layout *l, const train_counter *counters,
                          int n_counters, const char *const *metadata, GError **error);
/* Reads them back from @st into the layout's tensors and the counters' values;
 * everything is checked (shapes, dtypes, counts >= 0) before anything changes. */
gboolean train_state_load(rg_safetensors *st, const char *path, const train_state_layout *l, train_counter *counters,
                          int n_counters, GError **error);

/* ---- JSON writing ---------------------------------------------------------- */

/* A float as the shortest decimal that reads back as it (1e-05, not 9.99999974737875e-06). */
double train_clean_float(float f);
void train_json_add_int(JsonBuilder *b, const char *key, gint64 v);
void train_json_add_string(JsonBuilder *b, const char *key, const char *v);

/* ---- the diffusion trainer's batches -------------------------------------- */

/* What the batch of one step is made of. */
typedef struct {
    int batch;
    rg_tensor *x0;      // (B, 12, 32, 32) latents of the scenes: their space-to-depth in [-1, 1]
    rg_tensor *noise;   // (B, 12, 32, 32) N(0, 1)
    rg_tensor *xt;      // (B, 12, 32, 32) sqrt(a_t) x0 + sqrt(1 - a_t) noise
    rg_tensor *t;       // (B) F32 timesteps in 0..999
    rg_tensor *text;    // (B, 77, D) the text encoder's last hidden state
    rg_tensor *weight;  // (B, 1, 1, 1) per-sample loss weight (min-SNR), or NULL for plain MSE
    char **captions;    // B captions as used ("" where dropped), NULL-terminated
} train_batch;

void train_batch_clear(train_batch *b);

/* The batch of step @step (deterministic in the run seed and @step). */
gboolean train_make_batch(rg_diffusion_trainer *t, int64_t step, train_batch *b, GError **error);
/* The loss of @b with the current weights; with @backward, a tape records
 * it and the gradients accumulate in the parameters. */
gboolean train_batch_loss(rg_diffusion_trainer *t, train_batch *b, gboolean backward, double *loss,
                          GError **error);
/* One optimizer step on @b (any batch: the tests train on a fixed one). */
gboolean train_step_on(rg_diffusion_trainer *t, train_batch *b, double *loss, GError **error);
