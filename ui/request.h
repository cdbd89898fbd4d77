/* request.h — one edit as the plug-in and the dialog describe it, turned
 * into a core job and run. No GTK here: the GIMP hosts call it directly in
 * non-interactive mode, the dialog calls it from its worker thread.
 *
 *   RgRequest *r = rg_request_new (RG_JOB_DRAG);
 *   r->image = source;  rg_request_add_point (r, 10, 20, 30, 20);
 *   rg_image *out = rg_request_run (r, NULL, &callbacks, &error);
 */
#pragma once

#include <glib.h>

#include "readout/pipeline.h"

G_BEGIN_DECLS

/* What the user picks; the same fields are the remembered settings. */
typedef enum {
    RG_PRESET_FAST,     /* rg_job_apply_fast_preset(): 25 steps, cached reference readouts */
    RG_PRESET_OFFICIAL, /* rg_job_init(): the official settings, 100 steps */
} RgPreset;

typedef struct {
    rg_job_kind kind;          /* RG_JOB_DRAG, RG_JOB_IDENTITY or RG_JOB_POSE */
    char *prompt;              /* NULL or "": empty for a drag, refused for identity and pose */
    char *negative_prompt;     /* NULL or "": the official one */
    char *model;               /* NULL, "" or "demo": the shipped demo model */
    char *heads;               /* NULL or "": the model's own (the demo heads for the demo model) */
    char *device;              /* NULL, "" or "cpu"; "cuda" */
    RgPreset preset;
    int steps;                 /* 0: the preset's */
    guint64 seed;
    float guidance_weight;     /* <= 0: the preset's (0.02) */
    float guidance_end;        /* guided share of the steps, (0, 1]; <= 0: the preset's (0.5) */

    /* inputs (transfer full, freed with the request) */
    rg_image *image;           /* DRAG: the source; POSE: the layer to fill; IDENTITY: gives only the result's size */
    GArray *points;            /* DRAG: floats x0 y0 x1 y1 per arrow, in pixels of @image */
    rg_image *reference;       /* IDENTITY */
    gboolean has_box;
    int box[4];                /* IDENTITY: x0 y0 x1 y1 in pixels of @reference */
    rg_image *control;         /* POSE: the pose map (any size; resized to @image's) */
    rg_image *mask;            /* DRAG, POSE: where the edit may act, the image's size (NULL: everywhere) */
} RgRequest;

RgRequest *rg_request_new(rg_job_kind kind);
void rg_request_free(RgRequest *r);
void rg_request_add_point(RgRequest *r, float x0, float y0, float x1, float y1);
int rg_request_n_points(const RgRequest *r);

/* Why @r cannot run yet, in words for the user (no points, a handle outside
 * the image, no reference, no prompt, ...), or NULL when it can. Checks only
 * what needs no model. (transfer full) */
char *rg_request_why_invalid(const RgRequest *r);

/* "Readout drag (seed 42)": the name of the result layer. (transfer full) */
char *rg_request_result_name(const RgRequest *r);

/* A loaded model and heads, kept between runs of the dialog. */
typedef struct RgEngine RgEngine;
RgEngine *rg_engine_new(void);
void rg_engine_free(RgEngine *e);

/* Runs @r on @engine (NULL: a throw-away one): resolves and loads the model
 * and heads (reusing those already loaded for the same paths), checks the job
 * and runs it. The result has @r->image's size (the model's working size
 * when there is none). (transfer full) Errors: RG_ERROR_ARGUMENT naming the bad input
 * (rg_request_why_invalid() and rg_pipeline_check()), RG_ERROR_IO (model or
 * heads folder missing), RG_ERROR_CANCELLED, RG_ERROR_OUT_OF_MEMORY, and
 * those of the models. */
rg_image *rg_request_run(RgRequest *r, RgEngine *engine, const rg_job_callbacks *callbacks, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RgRequest, rg_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RgEngine, rg_engine_free)

G_END_DECLS
