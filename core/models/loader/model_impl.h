/* model_impl.h — the inside of rg_model, shared by model.c (opening, weights)
 * and describe.c (model type, report). */
#pragma once

#include "models/loader/name_map.h"
#include "readout/model.h"

typedef enum {
    LAYOUT_DIFFUSERS,
    LAYOUT_SINGLE,
} model_layout;

/* One tensor of a component, as the component sees it. */
typedef struct {
    char *name;       /* diffusers name */
    char *stored;     /* name in its file */
    const char *path; /* its file (owned by the part's files) */
    gboolean known;   /* a dtype Readout loads (else dtype and shape are unset) */
    rg_dtype dtype;
    int ndim; /* shape as seen: (C,C) for a reshaped (C,C,1,1) */
    int64_t shape[RG_MAX_DIMS];
    gboolean reshaped;
} model_tensor;

typedef struct {
    gboolean present;
    char *dir;          /* diffusers: the component's folder */
    char *config;       /* its config.json, or NULL */
    char *why_absent;   /* when !present: why, for messages */
    char *origin;       /* where the tensors are, for messages */
    GPtrArray *files;   /* weight file paths */
    GArray *tensors;    /* model_tensor, in file order */
    GHashTable *by_name; /* diffusers name -> index + 1 */
} model_part;

struct rg_model {
    char *path;
    model_layout layout;
    gboolean vae_file; /* a standalone VAE single file */
    int space_to_depth_channels; /* latent channels of a ReadoutSpaceToDepth vae/, else 0 */
    model_part parts[RG_N_PARTS];
    char *tokenizer_dir; /* or NULL */
    char *tokenizer_why_absent;
    char *class_name; /* model_index.json's _class_name, or NULL */

    /* tensors that are no SD1.x weight */
    int n_ema, n_ignored;
    char *ignored_example;
    gboolean noted; /* the g_message about them was given */

    /* markers of other model families, from names no map knows */
    gboolean has_conditioner; /* SDXL single file: conditioner.embedders.* */
    gboolean has_openclip;    /* SD 2.x single file: cond_stage_model.model.* */
    gboolean has_label_emb;   /* class / added conditioning in an LDM UNet */

    /* set by rg_loader_detect_type() */
    char *type_name;
    char *type_details;
    char *unsupported; /* why Readout cannot run it, or NULL */
};

/* The tensor called @name (diffusers) in @part, or NULL. */
const model_tensor *rg_loader_find(const rg_model *m, rg_part part, const char *name);
/* Fills type_name, type_details and unsupported from key tensor shapes. */
void rg_loader_detect_type(rg_model *m);
/* "3 EMA copies (model_ema.*) and 2 other tensors Readout does not use
 * (such as \"betas\")", or NULL when nothing was ignored. (transfer full) */
char *rg_loader_ignored_summary(const rg_model *m);
