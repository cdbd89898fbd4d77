/* procedures.h — what the GIMP 2.10 and GIMP 3 hosts share: the three
 * procedures (names, menu labels, documentation, arguments), the run of one
 * from its arguments, and where a relocated install keeps its files.
 *
 * No libgimp here: each host registers the table below with its own API
 * (gimp_install_procedure and GimpParamDef on 2.10, GimpImageProcedure and
 * gimp_procedure_add_*_argument on 3.0), turns the arguments it receives into
 * RgPluginValues and maps the errors onto its PDB status. Everything runs on
 * the plug-in's main thread, through the host's RgHostOps. */
#pragma once

#include "host.h"
#include "request.h"

G_BEGIN_DECLS

#define RG_PLUGIN_MENU_PATH "<Image>/Filters/Generative/Readout"
#define RG_PLUGIN_IMAGE_TYPES "RGB*, GRAY*"
#define RG_PLUGIN_AUTHORS "Readout contributors"
#define RG_PLUGIN_COPYRIGHT "GPL-3.0-or-later"
#define RG_PLUGIN_DATE "2026"

/* The arguments a procedure takes after the image and the drawable. */
typedef enum {
    /* INT: the length of points. GIMP 2.10's PDB passes an array's length as
     * an argument of its own; GIMP 3 arrays carry it, so there 0 (the
     * default) means "the array's length" and other values must match it. */
    RG_PLUGIN_ARG_NUM_POINTS,
    RG_PLUGIN_ARG_POINTS, /* doubles x0 y0 x1 y1 ... */
    RG_PLUGIN_ARG_LAYER,  /* the reference (identity) or the pose map (pose fill) */
    RG_PLUGIN_ARG_BOX_X0, /* INT, and the three after it */
    RG_PLUGIN_ARG_BOX_Y0,
    RG_PLUGIN_ARG_BOX_X1,
    RG_PLUGIN_ARG_BOX_Y1,
    RG_PLUGIN_ARG_PROMPT, /* STRING */
    RG_PLUGIN_ARG_MODEL,  /* STRING */
    RG_PLUGIN_ARG_STEPS,  /* INT */
    RG_PLUGIN_ARG_SEED,   /* INT */
} RgPluginArgId;

typedef enum {
    RG_PLUGIN_TYPE_INT,
    RG_PLUGIN_TYPE_DOUBLES,
    RG_PLUGIN_TYPE_LAYER,
    RG_PLUGIN_TYPE_STRING,
} RgPluginArgType;

typedef struct {
    RgPluginArgId id;
    const char *name;  /* "num-points", ... */
    const char *label; /* GIMP 3's nick */
    const char *blurb; /* English, like GIMP's own PDB documentation */
    int min, max, def; /* INT: GIMP 3 refuses values out of range before the plug-in runs */
} RgPluginArg;

typedef struct {
    const char *name; /* "plug-in-readout-drag" */
    rg_job_kind kind;
    const char *menu_label; /* N_(): translate with _() */
    const char *blurb;      /* N_() */
    const char *help;
    const RgPluginArg *const *args; /* NULL-terminated, the procedure's own then the common ones */
} RgPluginProcedure;

/* The submenus of RG_PLUGIN_MENU_PATH that GIMP lacks, with their labels (N_()). */
typedef struct {
    const char *path, *label;
} RgPluginMenuBranch;
extern const RgPluginMenuBranch rg_plugin_menu_branches[2];

extern const RgPluginProcedure rg_plugin_procedures[];
extern const int rg_plugin_n_procedures;

const RgPluginProcedure *rg_plugin_find_procedure(const char *name);
RgPluginArgType rg_plugin_arg_type(RgPluginArgId id);
/* The number of arguments after the image and the drawable. */
int rg_plugin_n_args(const RgPluginProcedure *p);

/* The arguments of one call, as the host received them. */
typedef struct {
    int num_points;       /* the num-points argument; -1 when not given (GIMP 3's 0) */
    const double *points; /* DRAG */
    int n_points;         /* the number of doubles in @points */
    int layer;            /* IDENTITY: the reference; POSE: the pose map (host layer ids) */
    int box[4];           /* IDENTITY */
    const char *prompt;   /* NULL: "" */
    const char *model;    /* NULL or "": the configured default */
    int steps;            /* 0: the configured default */
    int seed;             /* < 0: a random one */
} RgPluginValues;

/* Sets the INT argument @id of @v. */
void rg_plugin_values_set_int(RgPluginValues *v, RgPluginArgId id, int value);

/* Runs @p on @host as a script asks for it, on the calling (main) thread:
 * the model, heads, device, preset and guidance come from the settings file
 * (ui/settings.h), then the arguments of @v override it; the result becomes a
 * new layer above the source, one undo step, with progress in the host's
 * status area. Returns the new layer's id, or -1 with @error set. */
int rg_plugin_run(const RgPluginProcedure *p, const RgPluginValues *v, RgHost *host, GError **error);

/* Whether @error is the caller's fault (bad arguments: GIMP's CALLING_ERROR)
 * rather than a failure to run (EXECUTION_ERROR). */
gboolean rg_plugin_is_calling_error(const GError *error);

/* @pixels scaled to the size of @host's source when they are not already,
 * for the new and the preview layers. (transfer full) */
rg_image *rg_plugin_fit_to_source(RgHost *host, const rg_image *pixels, GError **error);

/* Opens the dialog's display (program name "readout"), or says which display
 * could not be opened. */
gboolean rg_plugin_open_display(GError **error);

/* Where a relocated install keeps its data: "data" and "locale" folders beside
 * the executable (what -Dgimp_user_install=true installs) become
 * READOUT_DATA_DIR and READOUT_LOCALE_DIR unless the environment already
 * names them. Call before anything reads them. */
void rg_plugin_find_files_beside_executable(void);

G_END_DECLS
