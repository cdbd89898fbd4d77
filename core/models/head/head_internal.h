/* head_internal.h — what the readout-head files (head.c, head_io.c,
 * config.c) share: the rg_head struct, its tensor list in state_dict order,
 * and the config helpers. Tests include it for the role and config helpers.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "readout/head.h"

/* How rg_head_new_random() fills a tensor (the official initialisation). */
typedef enum {
    HEAD_INIT_MSRA,      /* c2_msra_fill: Kaiming normal, fan_out, ReLU gain */
    HEAD_INIT_ONES,      /* GroupNorm weight, mixing weights */
    HEAD_INIT_ZEROS,     /* GroupNorm bias */
    HEAD_INIT_UNIFORM,   /* PyTorch's default Linear / Conv2d init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
} head_init;

/* One tensor of the state_dict. */
typedef struct {
    char *name; /* "bottleneck_layers.0.conv1.weight" */
    int ndim;
    int64_t shape[4];
    rg_tensor **slot; /* where the head keeps it */
    head_init init;
    int64_t fan; /* fan_out for MSRA, fan_in for UNIFORM */
} head_entry;

/* A conv without bias followed by its GroupNorm (the official Conv2d wrapper). */
typedef struct {
    rg_tensor *w, *gn_w, *gn_b;
} head_convgn;

typedef struct {
    gboolean has_shortcut; /* FALSE when dims[l] == projection_dim (shortcut = x) */
    head_convgn shortcut, conv1, conv2, conv3;
    rg_tensor *emb_w, *emb_b; /* (b, emb_dim), (b) */
} head_block;

struct rg_head {
    rg_head_config config;
    char *name; /* the file's base name, or "(random)", for messages */
    head_block blocks[RG_HEAD_MAX_LAYERS];
    rg_tensor *mixing;                 /* (L) */
    rg_tensor *out_w[3], *out_b[3];    /* output_head.{0,2,4} */
    GArray *entries;                   /* head_entry, in state_dict order */
    GPtrArray *segments;               /* head_segment *, user data of checkpointed layers */
    char *official_config;             /* the .pt's config as JSON, or NULL */
    gboolean checkpointing;
};

/* ---- config.c ---- */

/* FALSE with @code (RG_ERROR_ARGUMENT for callers' configs, RG_ERROR_FORMAT
 * for files) naming @what and the field when @c cannot be built. */
gboolean head_config_check(const rg_head_config *c, const char *what, int code, GError **error);
/* The role a file name implies ("readout_sdv15_drag_appearance.pt" ->
 * "appearance"), or "" (transfer none). */
const char *head_role_from_name(const char *path);
/* Whether @role is one of the known roles or "". */
gboolean head_role_known(const char *role);
/* Fills @c from the official "config" dict (as JSON) of @path, except
 * emb_dim and role. @sequential_explicit: whether the config says
 * bottleneck_sequential (else the constructor's default, TRUE, is in @c). */
gboolean head_config_from_official(JsonObject *config, const char *path, rg_head_config *c,
                                   gboolean *sequential_explicit, GError **error);
/* Readout's "readout.head_config" JSON <-> config. */
char *head_config_to_json(const rg_head_config *c);
gboolean head_config_from_json(const char *json, const char *path, rg_head_config *c, GError **error);

/* ---- head.c ---- */

/* An empty head for @c (tensors unset), its entries listed. Checks @c with @code. */
rg_head *head_new_empty(const rg_head_config *c, const char *name, int code, GError **error);
/* Parameters in total. */
int64_t head_n_parameters(const rg_head *h);
/* "(96,64,1,1)" (transfer full) */
char *head_shape_string(int ndim, const int64_t *shape);
