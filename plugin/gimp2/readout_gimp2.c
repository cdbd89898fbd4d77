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
#include "procedures.h"

/* The arguments every procedure starts with. */
static const GimpParamDef head_params[] = {
    {GIMP_PDB_INT32, "run-mode",
     "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1), RUN-WITH-LAST-VALS (2) }"},
    {GIMP_PDB_IMAGE, "image", "Input image"},
    {GIMP_PDB_DRAWABLE, "drawable", "The layer to edit (never modified; the result is a new layer above it)"},
};
#define N_HEAD_PARAMS ((int)G_N_ELEMENTS(head_params))

static const GimpParamDef return_params[] = {
    {GIMP_PDB_LAYER, "new-layer", "The result, a new layer above the drawable"},
};

static GimpPDBArgType pdb_type(RgPluginArgType type)
{
    switch (type) {
    case RG_PLUGIN_TYPE_DOUBLES:
        return GIMP_PDB_FLOATARRAY;
    case RG_PLUGIN_TYPE_LAYER:
        return GIMP_PDB_LAYER;
    case RG_PLUGIN_TYPE_STRING:
        return GIMP_PDB_STRING;
    default:
        return GIMP_PDB_INT32;
    }
}

static void query(void)
{
    rg_plugin_find_files_beside_executable();
    /* GIMP translates the menu labels and blurbs itself, in our domain. */
    gimp_plugin_domain_register(GETTEXT_PACKAGE, rg_locale_dir());
    for (int i = 0; i < rg_plugin_n_procedures; i++) {
        const RgPluginProcedure *p = &rg_plugin_procedures[i];
        const int n_params = N_HEAD_PARAMS + rg_plugin_n_args(p);
        g_autofree GimpParamDef *params = g_new(GimpParamDef, n_params);
        memcpy(params, head_params, sizeof head_params);
        int k = N_HEAD_PARAMS;
        for (const RgPluginArg *const *a = p->args; *a; a++)
            params[k++] =
                (GimpParamDef){pdb_type(rg_plugin_arg_type((*a)->id)), (char *)(*a)->name, (char *)(*a)->blurb};
        gimp_install_procedure(p->name, p->blurb, p->help, RG_PLUGIN_AUTHORS, RG_PLUGIN_COPYRIGHT, RG_PLUGIN_DATE,
                               p->menu_label, RG_PLUGIN_IMAGE_TYPES, GIMP_PLUGIN, n_params, G_N_ELEMENTS(return_params),
                               params, return_params);
        gimp_plugin_menu_register(p->name, RG_PLUGIN_MENU_PATH);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(rg_plugin_menu_branches); i++)
        gimp_plugin_menu_branch_register(rg_plugin_menu_branches[i].path, rg_plugin_menu_branches[i].label);
}

/* ---- running from a script ------------------------------------------------ */

/* Runs @p from its arguments on the main thread: there is no dialog to keep
 * alive, and libgimp may only be called from this thread. */
static GimpPDBStatusType run_from_params(const RgPluginProcedure *p, RgHost *host, const GimpParam *param, int nparams,
                                         gint32 *layer, GError **error)
{
    const int n_params = N_HEAD_PARAMS + rg_plugin_n_args(p);
    if (nparams != n_params) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, _("%s takes %d arguments, not %d."), p->name, n_params,
                    nparams);
        return GIMP_PDB_CALLING_ERROR;
    }
    RgPluginValues v = {.num_points = -1};
    const GimpParam *arg = param + N_HEAD_PARAMS;
    for (const RgPluginArg *const *a = p->args; *a; a++, arg++) {
        switch ((*a)->id) {
        case RG_PLUGIN_ARG_POINTS:
            v.points = arg->data.d_floatarray;
            v.n_points = v.num_points; /* the array's length is the argument before it */
            break;
        case RG_PLUGIN_ARG_LAYER:
            v.layer = arg->data.d_layer;
            break;
        case RG_PLUGIN_ARG_PROMPT:
            v.prompt = arg->data.d_string;
            break;
        case RG_PLUGIN_ARG_MODEL:
            v.model = arg->data.d_string;
            break;
        default:
            rg_plugin_values_set_int(&v, (*a)->id, arg->data.d_int32);
        }
    }
    *layer = rg_plugin_run(p, &v, host, error);
    if (*layer > 0)
        return GIMP_PDB_SUCCESS;
    return rg_plugin_is_calling_error(*error) ? GIMP_PDB_CALLING_ERROR : GIMP_PDB_EXECUTION_ERROR;
}

/* ---- running from the menu ------------------------------------------------ */

static GimpPDBStatusType run_dialog(const RgPluginProcedure *p, RgHost *host, gint32 *layer, GError **error)
{
    /* GIMP 2.10 hands out X11 window ids for the transient parent. */
    gdk_set_allowed_backends("x11");
    if (!rg_plugin_open_display(error))
        return GIMP_PDB_EXECUTION_ERROR;
    RgDialog *dialog = rg_dialog_new(host, p->kind);
    *layer = rg_dialog_run(dialog);
    return *layer > 0 ? GIMP_PDB_SUCCESS : GIMP_PDB_CANCEL;
}

static void run(const gchar *name, gint nparams, const GimpParam *param, gint *nreturn_vals, GimpParam **return_vals)
{
    static GimpParam values[2];
    static char *message;
    g_clear_pointer(&message, g_free);

    rg_plugin_find_files_beside_executable();
    setlocale(LC_ALL, "");
    rg_i18n_init();
    gegl_init(NULL, NULL);
    /* Buffers in the image's own precision: GEGL converts to 8 bits for the
     * engine, and back into a high-depth result layer, without a detour. */
    gimp_plugin_enable_precision();

    const RgPluginProcedure *p = rg_plugin_find_procedure(name);

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

/* MAIN() of libgimp, after the restart that makes the engine's threads sleep
 * while they wait (GIMP itself wants the cores too). */
int main(int argc, char *argv[])
{
    rg_prefer_passive_waiting(argv);
    return gimp_main(&PLUG_IN_INFO, argc, argv);
}
