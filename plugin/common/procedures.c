/* procedures.c — the procedures both GIMP hosts register, and the run of one
 * from a script's arguments. */
#include "procedures.h"

#include <gtk/gtk.h>
#include <string.h>

#include "i18n.h"
#include "settings.h"

/* clang-format off */
static const RgPluginArg arg_num_points = {
    RG_PLUGIN_ARG_NUM_POINTS, "num-points", "Number of values",
    "Length of points: 4 per drag (a multiple of 4); on GIMP 3, 0 takes the array's own length", 0, G_MAXINT, 0};
static const RgPluginArg arg_points = {
    RG_PLUGIN_ARG_POINTS, "points", "Points",
    "Drags x0 y0 x1 y1 ...: the content at (x0, y0) moves to (x1, y1), in pixels of the layer", 0, 0, 0};
static const RgPluginArg arg_reference = {
    RG_PLUGIN_ARG_LAYER, "reference", "Reference", "The layer showing the subject to keep", 0, 0, 0};
static const RgPluginArg arg_pose_map = {
    RG_PLUGIN_ARG_LAYER, "pose-map", "Pose map", "An OpenPose rendering of the wanted pose (any size)", 0, 0, 0};
static const RgPluginArg arg_box[4] = {
    {RG_PLUGIN_ARG_BOX_X0, "box-x0", "Box left",
     "Subject box in the reference's pixels: left (all four 0: the whole reference)", 0, G_MAXINT, 0},
    {RG_PLUGIN_ARG_BOX_Y0, "box-y0", "Box top", "Subject box: top", 0, G_MAXINT, 0},
    {RG_PLUGIN_ARG_BOX_X1, "box-x1", "Box right", "Subject box: right", 0, G_MAXINT, 0},
    {RG_PLUGIN_ARG_BOX_Y1, "box-y1", "Box bottom", "Subject box: bottom", 0, G_MAXINT, 0},
};
static const RgPluginArg arg_prompt = {
    RG_PLUGIN_ARG_PROMPT, "prompt", "Prompt", "What the picture shows (required for identity and pose fill)",
    0, 0, 0};
static const RgPluginArg arg_model = {
    RG_PLUGIN_ARG_MODEL, "model", "Model",
    "Model folder or checkpoint; \"\" for the configured default (the demo model until one is set)", 0, 0, 0};
/* 2.10 took any int32 and refused negative steps itself; GIMP 3 checks the
 * range before the plug-in runs. */
static const RgPluginArg arg_steps = {
    RG_PLUGIN_ARG_STEPS, "steps", "Steps", "Diffusion steps; 0 for the configured default (the fast preset: 25)",
    0, G_MAXINT, 0};
static const RgPluginArg arg_seed = {
    RG_PLUGIN_ARG_SEED, "seed", "Seed", "Seed of the noise; negative for a random one", G_MININT, G_MAXINT, -1};
/* clang-format on */

#define COMMON_TAIL &arg_prompt, &arg_model, &arg_steps, &arg_seed, NULL

static const RgPluginArg *const drag_args[] = {&arg_num_points, &arg_points, COMMON_TAIL};
static const RgPluginArg *const identity_args[] = {&arg_reference, &arg_box[0], &arg_box[1],
                                                   &arg_box[2],    &arg_box[3], COMMON_TAIL};
static const RgPluginArg *const pose_args[] = {&arg_pose_map, COMMON_TAIL};

const RgPluginMenuBranch rg_plugin_menu_branches[2] = {
    {"<Image>/Filters", N_("Generative")},
    {"<Image>/Filters/Generative", N_("Readout")},
};

const RgPluginProcedure rg_plugin_procedures[] = {
    {"plug-in-readout-drag", RG_JOB_DRAG, N_("_Drag..."),
     N_("Move parts of a layer by dragging points (Readout Guidance)"),
     "Drag-based editing with Readout Guidance: the content at each handle moves to its target while the rest of "
     "the picture keeps its look. The result is a new layer above the drawable.",
     drag_args},
    {"plug-in-readout-identity", RG_JOB_IDENTITY, N_("_Identity..."),
     N_("Make a new picture of the subject of a reference layer (Readout Guidance)"),
     "Identity-preserving generation with Readout Guidance: a new picture from the prompt whose subject looks like "
     "the one in the reference layer (inside the box when one is given). The result is a new layer of the "
     "drawable's size above it.",
     identity_args},
    {"plug-in-readout-pose-fill", RG_JOB_POSE, N_("_Pose Fill..."),
     N_("Fill the selection with a figure in the pose of a pose map (Readout Guidance)"),
     "Pose-guided fill with Readout Guidance: the selection (the whole layer when there is none) is repainted "
     "from the prompt, guided towards the pose in the pose-map layer; outside it the pixels stay. The result is a "
     "new layer above the drawable.",
     pose_args},
};
const int rg_plugin_n_procedures = G_N_ELEMENTS(rg_plugin_procedures);

const RgPluginProcedure *rg_plugin_find_procedure(const char *name)
{
    for (int i = 0; name && i < rg_plugin_n_procedures; i++)
        if (!strcmp(name, rg_plugin_procedures[i].name))
            return &rg_plugin_procedures[i];
    return NULL;
}

RgPluginArgType rg_plugin_arg_type(RgPluginArgId id)
{
    switch (id) {
    case RG_PLUGIN_ARG_POINTS:
        return RG_PLUGIN_TYPE_DOUBLES;
    case RG_PLUGIN_ARG_LAYER:
        return RG_PLUGIN_TYPE_LAYER;
    case RG_PLUGIN_ARG_PROMPT:
    case RG_PLUGIN_ARG_MODEL:
        return RG_PLUGIN_TYPE_STRING;
    default:
        return RG_PLUGIN_TYPE_INT;
    }
}

int rg_plugin_n_args(const RgPluginProcedure *p)
{
    int n = 0;
    for (const RgPluginArg *const *a = p->args; *a; a++)
        n++;
    return n;
}

void rg_plugin_values_set_int(RgPluginValues *v, RgPluginArgId id, int value)
{
    switch (id) {
    case RG_PLUGIN_ARG_NUM_POINTS:
        v->num_points = value;
        break;
    case RG_PLUGIN_ARG_BOX_X0:
    case RG_PLUGIN_ARG_BOX_Y0:
    case RG_PLUGIN_ARG_BOX_X1:
    case RG_PLUGIN_ARG_BOX_Y1:
        v->box[id - RG_PLUGIN_ARG_BOX_X0] = value;
        break;
    case RG_PLUGIN_ARG_STEPS:
        v->steps = value;
        break;
    case RG_PLUGIN_ARG_SEED:
        v->seed = value;
        break;
    default:
        g_return_if_reached();
    }
}

gboolean rg_plugin_is_calling_error(const GError *error)
{
    return error && error->domain == RG_ERROR && error->code == RG_ERROR_ARGUMENT;
}

rg_image *rg_plugin_fit_to_source(RgHost *host, const rg_image *pixels, GError **error)
{
    int w = 0, h = 0;
    host->ops->source_size(host, &w, &h);
    if (pixels->width == w && pixels->height == h)
        return rg_image_copy(pixels, error);
    return rg_image_resize(pixels, w, h, RG_RESIZE_BILINEAR, error);
}

void rg_plugin_find_files_beside_executable(void)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    if (!exe)
        return;
    g_autofree char *dir = g_path_get_dirname(exe);
    g_autofree char *data = g_build_filename(dir, "data", NULL);
    g_autofree char *demo = g_build_filename(data, "demo", NULL);
    g_autofree char *locale = g_build_filename(dir, "locale", NULL);
    const char *env = g_getenv("READOUT_DATA_DIR");
    if ((!env || !*env) && g_file_test(demo, G_FILE_TEST_IS_DIR))
        g_setenv("READOUT_DATA_DIR", data, TRUE);
    env = g_getenv("READOUT_LOCALE_DIR");
    if ((!env || !*env) && g_file_test(locale, G_FILE_TEST_IS_DIR))
        g_setenv("READOUT_LOCALE_DIR", locale, TRUE);
}

/* ---- running from a script ------------------------------------------------ */

typedef struct {
    RgHost *host;
    const char *phase; /* interned; the status text changes only with it */
} ScriptProgress;

static void on_progress(const char *phase, int i, int n, gpointer user_data)
{
    ScriptProgress *sp = user_data;
    const char *text = NULL;
    if (!sp->phase || strcmp(sp->phase, phase)) {
        sp->phase = g_intern_string(phase);
        text = !strcmp(phase, "encode")      ? _("Readout: encoding the picture")
               : !strcmp(phase, "invert")    ? _("Readout: inverting the picture")
               : !strcmp(phase, "reference") ? _("Readout: reading the reference")
               : !strcmp(phase, "decode")    ? _("Readout: decoding the result")
                                             : _("Readout: guided denoising");
    }
    if (sp->host->ops->progress)
        sp->host->ops->progress(sp->host, n > 0 ? CLAMP((double)i / n, 0.0, 1.0) : 0.0, text);
}

static gboolean add_points(const RgPluginValues *v, RgRequest *r, GError **error)
{
    if (v->num_points >= 0 && (v->num_points <= 0 || v->num_points % 4)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    _("num-points is %d: give 4 numbers (x0 y0 x1 y1) for each drag."), v->num_points);
        return FALSE;
    }
    if (v->n_points <= 0 || v->n_points % 4 || !v->points) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    _("points holds %d numbers: give 4 (x0 y0 x1 y1) for each drag."), v->n_points);
        return FALSE;
    }
    if (v->num_points >= 0 && v->num_points != v->n_points) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, _("num-points is %d but points holds %d numbers."),
                    v->num_points, v->n_points);
        return FALSE;
    }
    const double *xy = v->points;
    for (int i = 0; i < v->n_points; i += 4)
        rg_request_add_point(r, (float)xy[i], (float)xy[i + 1], (float)xy[i + 2], (float)xy[i + 3]);
    return TRUE;
}

/* Fills @r from @v on top of the settings already in it. */
static gboolean request_from_values(const RgPluginProcedure *p, const RgPluginValues *v, RgHost *host, RgRequest *r,
                                    GError **error)
{
    switch (p->kind) {
    case RG_JOB_DRAG:
        if (!add_points(v, r, error))
            return FALSE;
        break;
    /* No layer (GIMP item ids count from 1) leaves the request without one,
     * which rg_request_why_invalid() explains below. */
    case RG_JOB_IDENTITY:
        if (v->layer > 0 && !(r->reference = host->ops->read_layer(host, v->layer, error)))
            return FALSE;
        r->has_box = v->box[0] || v->box[1] || v->box[2] || v->box[3];
        memcpy(r->box, v->box, sizeof r->box);
        break;
    case RG_JOB_POSE:
        if (v->layer > 0 && !(r->control = host->ops->read_layer(host, v->layer, error)))
            return FALSE;
        r->mask = host->ops->read_selection(host, error);
        if (!r->mask && error && *error)
            return FALSE;
        break;
    default:
        g_return_val_if_reached(FALSE);
    }

    g_free(r->prompt);
    r->prompt = g_strdup(v->prompt ? v->prompt : "");
    if (v->model && *v->model) {
        g_free(r->model);
        r->model = g_strdup(v->model);
    }
    if (v->steps < 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, _("steps is %d: give a positive number, or 0 for the default."),
                    v->steps);
        return FALSE;
    }
    if (v->steps > 0)
        r->steps = v->steps;
    r->seed = v->seed >= 0 ? (guint64)v->seed : g_random_int();

    if (!(r->image = host->ops->read_layer(host, RG_HOST_SOURCE, error)))
        return FALSE;
    g_autofree char *why = rg_request_why_invalid(r);
    if (why) {
        g_set_error_literal(error, RG_ERROR, RG_ERROR_ARGUMENT, why);
        return FALSE;
    }
    return TRUE;
}

int rg_plugin_run(const RgPluginProcedure *p, const RgPluginValues *v, RgHost *host, GError **error)
{
    g_autoptr(RgRequest) r = rg_request_new(p->kind);
    RgSettings settings;
    rg_settings_load(&settings);
    rg_settings_apply(&settings, r);
    rg_settings_clear(&settings);
    if (!request_from_values(p, v, host, r, error))
        return -1;

    ScriptProgress sp = {.host = host};
    if (host->ops->progress)
        host->ops->progress(host, 0.0, _("Readout: loading the model"));
    rg_job_callbacks callbacks = {.progress = on_progress, .user_data = &sp};
    g_autoptr(rg_image) out = rg_request_run(r, NULL, &callbacks, error);
    if (!out)
        return -1;

    g_autofree char *name = rg_request_result_name(r);
    host->ops->undo_group(host, TRUE);
    const int layer = host->ops->new_layer(host, name, out, error);
    host->ops->undo_group(host, FALSE);
    if (host->ops->progress)
        host->ops->progress(host, 1.0, NULL);
    return layer;
}

gboolean rg_plugin_open_display(GError **error)
{
    g_set_prgname("readout");
    if (gtk_init_check(NULL, NULL))
        return TRUE;
    const char *display = g_getenv("DISPLAY");
    g_set_error(error, RG_ERROR, RG_ERROR_FAILED, _("Readout cannot open its window: cannot open display '%s'."),
                display && *display ? display : "(unset)");
    return FALSE;
}
