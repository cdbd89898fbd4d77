/* readout_gimp2.c — the GIMP 2.10 plug-in: registers the three Readout
 * procedures and runs them, with the editor dialog from the menu or straight
 * from the arguments when called from a script.
 *
 * Links libgimp-2.0 but never libgimpui-2.0: that one pulls in GTK 2, and GTK
 * 2 and GTK 3 (the dialog) abort when loaded into one process. */
#include <locale.h>
#include <string.h>

#include <gtk/gtk.h>
#include <libgimp/gimp.h>

#include "dialog.h"
#include "host_gimp2.h"
#include "i18n.h"
#include "request.h"
#include "settings.h"

#define MENU_PATH "<Image>/Filters/Generative/Readout"

/* clang-format off */
/* The arguments every procedure ends with, after its own. */
#define COMMON_TAIL_PARAMS                                                                                          \
    {GIMP_PDB_STRING, "prompt", "What the picture shows (required for identity and pose fill)"},                  \
    {GIMP_PDB_STRING, "model", "Model folder or checkpoint; \"\" for the configured default (the demo model "     \
                               "until one is set)"},                                                              \
    {GIMP_PDB_INT32, "steps", "Diffusion steps; 0 for the configured default (the fast preset: 25)"},             \
    {GIMP_PDB_INT32, "seed", "Seed of the noise; negative for a random one"}

#define COMMON_HEAD_PARAMS                                                                                          \
    {GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1), "                   \
                                 "RUN-WITH-LAST-VALS (2) }"},                                                     \
    {GIMP_PDB_IMAGE, "image", "Input image"},                                                                     \
    {GIMP_PDB_DRAWABLE, "drawable", "The layer to edit (never modified; the result is a new layer above it)"}
/* clang-format on */

static const GimpParamDef drag_params[] = {
    COMMON_HEAD_PARAMS,
    {GIMP_PDB_INT32, "num-points", "Length of points: 4 per drag (a multiple of 4)"},
    {GIMP_PDB_FLOATARRAY, "points",
     "Drags x0 y0 x1 y1 ...: the content at (x0, y0) moves to (x1, y1), in pixels "
     "of the layer"},
    COMMON_TAIL_PARAMS,
};

static const GimpParamDef identity_params[] = {
    COMMON_HEAD_PARAMS,
    {GIMP_PDB_LAYER, "reference", "The layer showing the subject to keep"},
    {GIMP_PDB_INT32, "box-x0", "Subject box in the reference's pixels: left (all four 0: the whole reference)"},
    {GIMP_PDB_INT32, "box-y0", "Subject box: top"},
    {GIMP_PDB_INT32, "box-x1", "Subject box: right"},
    {GIMP_PDB_INT32, "box-y1", "Subject box: bottom"},
    COMMON_TAIL_PARAMS,
};

static const GimpParamDef pose_params[] = {
    COMMON_HEAD_PARAMS,
    {GIMP_PDB_LAYER, "pose-map", "An OpenPose rendering of the wanted pose (any size)"},
    COMMON_TAIL_PARAMS,
};

static const GimpParamDef return_params[] = {
    {GIMP_PDB_LAYER, "new-layer", "The result, a new layer above the drawable"},
};

typedef struct {
    const char *name;
    rg_job_kind kind;
    const char *menu_label;
    const char *blurb;
    const char *help;
    const GimpParamDef *params;
    int n_params;
} Procedure;

static const Procedure procedures[] = {
    {"plug-in-readout-drag", RG_JOB_DRAG, N_("_Drag..."),
     N_("Move parts of a layer by dragging points (Readout Guidance)"),
     "Drag-based editing with Readout Guidance: the content at each handle moves to its target while the rest of "
     "the picture keeps its look. The result is a new layer above the drawable.",
     drag_params, G_N_ELEMENTS(drag_params)},
    {"plug-in-readout-identity", RG_JOB_IDENTITY, N_("_Identity..."),
     N_("Make a new picture of the subject of a reference layer (Readout Guidance)"),
     "Identity-preserving generation with Readout Guidance: a new picture from the prompt whose subject looks like "
     "the one in the reference layer (inside the box when one is given). The result is a new layer of the "
     "drawable's size above it.",
     identity_params, G_N_ELEMENTS(identity_params)},
    {"plug-in-readout-pose-fill", RG_JOB_POSE, N_("_Pose Fill..."),
     N_("Fill the selection with a figure in the pose of a pose map (Readout Guidance)"),
     "Pose-guided fill with Readout Guidance: the selection (the whole layer when there is none) is repainted "
     "from the prompt, guided towards the pose in the pose-map layer; outside it the pixels stay. The result is a "
     "new layer above the drawable.",
     pose_params, G_N_ELEMENTS(pose_params)},
};

/* Where a relocated install keeps its data: a "data" and a "locale" folder
 * beside the executable (what -Dgimp_user_install=true installs) win over the
 * paths compiled in, unless the environment already names them. */
static void find_files_beside_executable(void)
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

static void query(void)
{
    find_files_beside_executable();
    /* GIMP translates the menu labels and blurbs itself, in our domain. */
    gimp_plugin_domain_register(GETTEXT_PACKAGE, rg_locale_dir());
    for (size_t i = 0; i < G_N_ELEMENTS(procedures); i++) {
        const Procedure *p = &procedures[i];
        gimp_install_procedure(p->name, p->blurb, p->help, "Readout contributors", "GPL-3.0-or-later", "2026",
                               p->menu_label, "RGB*, GRAY*", GIMP_PLUGIN, p->n_params, G_N_ELEMENTS(return_params),
                               p->params, return_params);
        gimp_plugin_menu_register(p->name, MENU_PATH);
    }
    gimp_plugin_menu_branch_register("<Image>/Filters", N_("Generative"));
    gimp_plugin_menu_branch_register("<Image>/Filters/Generative", N_("Readout"));
}

/* ---- running from a script ------------------------------------------------ */

static void on_progress(const char *phase, int i, int n, gpointer user_data)
{
    const char **last_phase = user_data;
    if (!*last_phase || strcmp(*last_phase, phase)) {
        *last_phase = g_intern_string(phase);
        const char *text = !strcmp(phase, "encode")      ? _("Readout: encoding the picture")
                           : !strcmp(phase, "invert")    ? _("Readout: inverting the picture")
                           : !strcmp(phase, "reference") ? _("Readout: reading the reference")
                           : !strcmp(phase, "decode")    ? _("Readout: decoding the result")
                                                         : _("Readout: guided denoising");
        gimp_progress_set_text(text);
    }
    gimp_progress_update(n > 0 ? CLAMP((double)i / n, 0.0, 1.0) : 0.0);
}

/* The status for an error of the engine: the caller's fault or not. */
static GimpPDBStatusType status_for(const GError *error)
{
    return error->domain == RG_ERROR && error->code == RG_ERROR_ARGUMENT ? GIMP_PDB_CALLING_ERROR
                                                                         : GIMP_PDB_EXECUTION_ERROR;
}

/* Fills @r from the arguments of @p. */
static GimpPDBStatusType request_from_params(const Procedure *p, RgHost *host, const GimpParam *param, RgRequest *r,
                                             GError **error)
{
    int tail = 3;
    switch (p->kind) {
    case RG_JOB_DRAG: {
        int n = param[3].data.d_int32;
        const gdouble *xy = param[4].data.d_floatarray;
        if (n <= 0 || n % 4 || !xy) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                        _("num-points is %d: give 4 numbers (x0 y0 x1 y1) for each drag."), n);
            return GIMP_PDB_CALLING_ERROR;
        }
        for (int i = 0; i < n; i += 4)
            rg_request_add_point(r, (float)xy[i], (float)xy[i + 1], (float)xy[i + 2], (float)xy[i + 3]);
        tail = 5;
        break;
    }
    case RG_JOB_IDENTITY: {
        if (!(r->reference = host->ops->read_layer(host, param[3].data.d_layer, error)))
            return GIMP_PDB_CALLING_ERROR;
        int box[4];
        for (int i = 0; i < 4; i++)
            box[i] = param[4 + i].data.d_int32;
        r->has_box = box[0] || box[1] || box[2] || box[3];
        memcpy(r->box, box, sizeof box);
        tail = 8;
        break;
    }
    case RG_JOB_POSE:
        if (!(r->control = host->ops->read_layer(host, param[3].data.d_layer, error)))
            return GIMP_PDB_CALLING_ERROR;
        r->mask = host->ops->read_selection(host, error);
        if (!r->mask && error && *error)
            return GIMP_PDB_EXECUTION_ERROR;
        tail = 4;
        break;
    default:
        g_assert_not_reached();
    }

    const char *prompt = param[tail].data.d_string, *model = param[tail + 1].data.d_string;
    int steps = param[tail + 2].data.d_int32, seed = param[tail + 3].data.d_int32;
    g_free(r->prompt);
    r->prompt = g_strdup(prompt ? prompt : "");
    if (model && *model) {
        g_free(r->model);
        r->model = g_strdup(model);
    }
    if (steps < 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, _("steps is %d: give a positive number, or 0 for the default."),
                    steps);
        return GIMP_PDB_CALLING_ERROR;
    }
    if (steps > 0)
        r->steps = steps;
    r->seed = seed >= 0 ? (guint64)seed : g_random_int();

    if (!(r->image = host->ops->read_layer(host, RG_HOST_SOURCE, error)))
        return GIMP_PDB_EXECUTION_ERROR;
    g_autofree char *why = rg_request_why_invalid(r);
    if (why) {
        g_set_error_literal(error, RG_ERROR, RG_ERROR_ARGUMENT, why);
        return GIMP_PDB_CALLING_ERROR;
    }
    return GIMP_PDB_SUCCESS;
}

/* Runs @p from its arguments on the main thread: there is no dialog to keep
 * alive, and libgimp may only be called from this thread. */
static GimpPDBStatusType run_from_params(const Procedure *p, RgHost *host, const GimpParam *param, int nparams,
                                         gint32 *layer, GError **error)
{
    if (nparams != p->n_params) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, _("%s takes %d arguments, not %d."), p->name, p->n_params,
                    nparams);
        return GIMP_PDB_CALLING_ERROR;
    }
    g_autoptr(RgRequest) r = rg_request_new(p->kind);
    RgSettings settings;
    rg_settings_load(&settings);
    rg_settings_apply(&settings, r);
    rg_settings_clear(&settings);

    GimpPDBStatusType status = request_from_params(p, host, param, r, error);
    if (status != GIMP_PDB_SUCCESS)
        return status;

    rg_gimp2_host_progress_init(host, _("Readout: loading the model"));
    const char *last_phase = NULL;
    rg_job_callbacks callbacks = {.progress = on_progress, .user_data = &last_phase};
    g_autoptr(rg_image) out = rg_request_run(r, NULL, &callbacks, error);
    if (!out)
        return status_for(*error);

    g_autofree char *name = rg_request_result_name(r);
    host->ops->undo_group(host, TRUE);
    *layer = host->ops->new_layer(host, name, out, error);
    host->ops->undo_group(host, FALSE);
    gimp_progress_update(1.0);
    return *layer > 0 ? GIMP_PDB_SUCCESS : GIMP_PDB_EXECUTION_ERROR;
}

/* ---- running from the menu ------------------------------------------------ */

static GimpPDBStatusType run_dialog(const Procedure *p, RgHost *host, gint32 *layer, GError **error)
{
    /* GIMP 2.10 hands out X11 window ids for the transient parent. */
    gdk_set_allowed_backends("x11");
    g_set_prgname("readout");
    if (!gtk_init_check(NULL, NULL)) {
        const char *display = g_getenv("DISPLAY");
        g_set_error(error, RG_ERROR, RG_ERROR_FAILED, _("Readout cannot open its window: cannot open display '%s'."),
                    display && *display ? display : "(unset)");
        return GIMP_PDB_EXECUTION_ERROR;
    }
    RgDialog *dialog = rg_dialog_new(host, p->kind);
    *layer = rg_dialog_run(dialog);
    return *layer > 0 ? GIMP_PDB_SUCCESS : GIMP_PDB_CANCEL;
}

static void run(const gchar *name, gint nparams, const GimpParam *param, gint *nreturn_vals, GimpParam **return_vals)
{
    static GimpParam values[2];
    static char *message;
    g_clear_pointer(&message, g_free);

    find_files_beside_executable();
    setlocale(LC_ALL, "");
    rg_i18n_init();
    gegl_init(NULL, NULL);
    /* Buffers in the image's own precision: GEGL converts to 8 bits for the
     * engine, and back into a high-depth result layer, without a detour. */
    gimp_plugin_enable_precision();

    const Procedure *p = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(procedures); i++)
        if (!strcmp(name, procedures[i].name))
            p = &procedures[i];

    g_autoptr(GError) error = NULL;
    GimpPDBStatusType status = GIMP_PDB_CALLING_ERROR;
    gint32 layer = -1;
    if (!p || nparams < 3) {
        g_set_error(&error, RG_ERROR, RG_ERROR_ARGUMENT, _("Unknown procedure %s or too few arguments."), name);
    } else {
        GimpRunMode mode = param[0].data.d_int32;
        gint32 image = param[1].data.d_image, drawable = param[2].data.d_drawable;
        if (!gimp_image_is_valid(image) || !gimp_item_is_valid(drawable) || !gimp_item_is_drawable(drawable) ||
            gimp_item_get_image(drawable) != image) {
            g_set_error(&error, RG_ERROR, RG_ERROR_ARGUMENT, _("The drawable is not a layer of the image."));
        } else if (gimp_image_base_type(image) == GIMP_INDEXED) {
            g_set_error(&error, RG_ERROR, RG_ERROR_ARGUMENT,
                        _("Readout works on RGB and grayscale images; convert this indexed image first "
                          "(Image → Mode → RGB)."));
        } else {
            RgHost *host = rg_gimp2_host_new(image, drawable, mode != GIMP_RUN_NONINTERACTIVE);
            /* Repeat (RUN-WITH-LAST-VALS) opens the dialog too: the handles,
             * reference and pose belong to one image and are not remembered;
             * the dialog starts from the remembered settings. */
            status = mode == GIMP_RUN_NONINTERACTIVE ? run_from_params(p, host, param, nparams, &layer, &error)
                                                     : run_dialog(p, host, &layer, &error);
            rg_gimp2_host_free(host);
            if (mode != GIMP_RUN_NONINTERACTIVE)
                gimp_displays_flush();
        }
    }

    values[0].type = GIMP_PDB_STATUS;
    values[0].data.d_status = status;
    *nreturn_vals = 1;
    if (status == GIMP_PDB_SUCCESS) {
        values[1].type = GIMP_PDB_LAYER;
        values[1].data.d_layer = layer;
        *nreturn_vals = 2;
    } else if (error) {
        /* GIMP shows a string second return value as the error message. */
        message = g_strdup(error->message);
        values[1].type = GIMP_PDB_STRING;
        values[1].data.d_string = message;
        *nreturn_vals = 2;
    }
    *return_vals = values;
}

const GimpPlugInInfo PLUG_IN_INFO = {
    NULL, /* init */
    NULL, /* quit */
    query,
    run,
};

MAIN()
