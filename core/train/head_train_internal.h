/* head_train_internal.h — shared by the head trainer's files and reachable
 * from the tests:
 *
 * head_train_loss.c   the losses (balanced MSE, cross entropy, InfoNCE, hinge),
 *                     the official point normalisation
 * head_train_data.c   the data: the demo world's pairs, triplets and maps;
 *                     folders of images, pairs.json, triplets.json; crops
 * head_train.c        the trainer: batches (features from the frozen UNet),
 *                     steps
 * head_train_state.c  state files (weights, AdamW moments, step)
 */
#pragma once

#include "readout/head_train.h"
#include "readout/image.h"
#include "readout/diffusion.h"
#include "readout/pipeline.h"
#include "train/train_internal.h"

/* The three official recipes. */
typedef enum {
    RECIPE_SPATIAL,
    RECIPE_CORRESPONDENCE,
    RECIPE_APPEARANCE,
} head_recipe;

head_recipe head_recipe_of(const char *role);

/* Stream purposes of the keyed random numbers (rg_rng_init(seed, KEY, step, index)). */
#define HEAD_KEY_INIT 0x68656164ULL      /* "head": the head's initialisation (its own seed) */
#define HEAD_KEY_TIMESTEP 0x74696d65ULL  /* "time" */
#define HEAD_KEY_NOISE 0x6e6f6973ULL     /* "nois": the diffusion noise of image i */
#define HEAD_KEY_POSTERIOR 0x706f7374ULL /* "post": the VAE posterior sample of image i */
#define HEAD_KEY_ITEM 0x6974656dULL      /* "item": demo scene seeds, crops of item i */
#define HEAD_KEY_EPOCH 0x65706f63ULL     /* "epoc": the order of the items of an epoch */

/* ---- data (head_train_data.c) --------------------------------------------------- */

typedef struct head_data head_data;

/* One training item as images at the working size @res x @res (RGB). */
typedef struct {
    int n_images;           /* 1 (spatial), 2 (pair), 3 (triplet) */
    rg_image *images[3];    /* spatial: image; pair: source, target; triplet: anchor, positive, negative */
    rg_image *target;       /* spatial: the target map (RGB, res x res) */
    float *points;          /* pair: x0 y0 x1 y1 per track, pixels of the working size */
    int n_points;
} head_item;

void head_item_clear(head_item *it);

/* "demo" or a folder for @recipe (@role chooses the demo's spatial map).
 * Folders are listed and their JSON checked here. */
head_data *head_data_open(const char *data, head_recipe recipe, const char *role, int max_points, GError **error);
void head_data_free(head_data *d);
/* Items of a folder; 0 for the demo (endless). */
int head_data_n_items(const head_data *d);
gboolean head_data_is_demo(const head_data *d);
/* Item @index of the step's @step batch (global sample number step * B +
 * index), drawn with the run's @seed and made at @res x @res. */
gboolean head_data_item(head_data *d, guint64 seed, int64_t step, int batch, int index, int res, head_item *it,
                        GError **error);

/* The square crop of side min(w, h) at a random offset (u in [0, 1) of the
 * slack) of @img, resized to @res. (transfer full) */
rg_image *head_crop_resize(const rg_image *img, double u, int res, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(head_data, head_data_free)

/* ---- the trainer (head_train.c, state files in head_train_state.c) ---------------- */

struct rg_head_trainer {
    rg_head_train_config c;
    head_recipe recipe;
    rg_pipeline *p;     /* the frozen model; p->ctx runs everything */
    rg_head *head;
    int n;              /* parameters */
    GPtrArray *names;   /* char *, state_dict names */
    GPtrArray *params;  /* rg_tensor *, borrowed from the head */
    rg_adamw *opt;
    rg_ddim sched;
    rg_tensor *text;    /* (1, 77, D) the "" prompt */
    head_data *data;
    int res, grid;      /* image side, latent side */
    int64_t step;
    char *head_config_json;
};

/* ---- batches (head_train.c) ------------------------------------------------------ */

/* What one step trains on: the frozen UNet's features of the batch's images
 * and what the loss compares them with. */
typedef struct {
    int batch;             /* items: images (spatial), pairs or triplets */
    int n_images;          /* images in the UNet batch: B, 2B ([sources; targets]) or 3B ([anchors; positives; negatives]) */
    int s;                 /* the save timestep, 1..999 (tau = 999 - s) */
    rg_tensor *latents;    /* (n_images, C, grid, grid) the noised latents the UNet read */
    int n_features;
    rg_tensor **features;  /* n_features tensors (n_images, C_l, h_l, w_l) */
    rg_tensor *emb;        /* (1, E) the time embedding the head gets */
    rg_tensor *target;     /* spatial: (B, 3, grid, grid) in control_range */
    int64_t *src_idx, *tgt_idx; /* correspondence: the matches of every pair, concatenated */
    int *n_matches;        /* correspondence: matches per pair (B) */
} head_batch;

void head_batch_clear(head_batch *b);
/* The batch of step @step (deterministic in the run's seed and @step). */
gboolean head_train_make_batch(rg_head_trainer *t, int64_t step, head_batch *b, GError **error);
/* The loss of @b with the head's current weights; with @backward the
 * gradients accumulate in the head's parameters. */
gboolean head_train_batch_loss(rg_head_trainer *t, head_batch *b, gboolean backward, double *loss, GError **error);
/* One optimizer step on @b (any batch: the tests train on a fixed one). */
gboolean head_train_step_on(rg_head_trainer *t, head_batch *b, double *loss, GError **error);
