/* readout_gimp3.c — the GIMP 3 plug-in: a GimpPlugIn registering the three
 * Readout procedures as GimpImageProcedures, run with the editor dialog from
 * the menu or straight from the arguments when called from a script.
 *
 * The procedures, their arguments and the script run are plugin/common's,
 * shared with the GIMP 2.10 host; this file is the GIMP 3 glue: registration,
 * arguments out of the GimpProcedureConfig, the remembered settings as aux
 * arguments, translations and the dialog's start. */
#include <locale.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "dialog.h"
#include "host_gimp3.h"
#include "i18n.h"
#include "procedures.h"
#include "settings.h"

#define READOUT_TYPE_PLUG_IN (readout_plug_in_get_type())
G_DECLARE_FINAL_TYPE(ReadoutPlugIn, readout_plug_in, READOUT, PLUG_IN, GimpPlugIn)

struct _ReadoutPlugIn {
    GimpPlugIn parent_instance;
};

G_DEFINE_TYPE(ReadoutPlugIn, readout_plug_in, GIMP_TYPE_PLUG_IN)

/* ---- translations --------------------------------------------------------- */

/* GIMP 3 binds a plug-in's domain only to a folder inside the plug-in's own
 * (set_i18n's catalog_dir must be relative to it), but a system install keeps
 * the catalogues in PREFIX/share/locale. So the "readout" domain is bound here,
 * to the folder ui/i18n.c finds (beside the executable, the prefix's or the
 * build tree's), and set_i18n returns FALSE: "localized another way" in
 * libgimp's terms. Needed before query_procedures too, which libgimp calls
 * before set_i18n, for the menu branch labels. */
static void init_i18n(void)
{
    static gsize done;
    if (g_once_init_enter(&done)) {
        setlocale(LC_ALL, "");
        rg_plugin_find_files_beside_executable();
        rg_i18n_init();
        g_once_init_leave(&done, 1);
    }
}

static gboolean readout_set_i18n(GimpPlugIn *plug_in, const gchar *procedure_name, gchar **gettext_domain,
                                 gchar **catalog_dir)
{
    init_i18n();
    return FALSE;
}

/* ---- the remembered settings as aux arguments ----------------------------- */

/* The settings file (ui/settings.h, shared with readout-studio and the GIMP
 * 2.10 plug-in) is the one source of truth; these aux arguments mirror each of
 * its keys as "settings-KEY" so that GIMP keeps them with the procedure's last
 * values (per image and globally). Direction: after every interactive run the
 * file is copied into them, and GIMP saves them; before one, when the file is
 * missing (a new settings folder, a deleted file), they are copied into it, so
 * what GIMP remembers comes back. Scripts (non-interactive) read the file only,
 * like on 2.10. */
static void add_settings_aux_arguments(GimpProcedure *procedure)
{
    const GParamFlags rw = G_PARAM_READWRITE;
    gimp_procedure_add_string_aux_argument(procedure, "settings-model", "Model",
                                           "Model folder or checkpoint (\"\": the demo model)", "", rw);
    gimp_procedure_add_string_aux_argument(procedure, "settings-heads", "Heads",
                                           "Readout heads folder (\"\": the model's own)", "", rw);
    gimp_procedure_add_string_aux_argument(procedure, "settings-device", "Device", "\"cpu\" or \"cuda\"", "cpu", rw);
    gimp_procedure_add_string_aux_argument(procedure, "settings-prompt", "Prompt", "The dialog's last prompt", "", rw);
    gimp_procedure_add_string_aux_argument(procedure, "settings-negative-prompt", "Negative prompt",
                                           "\"\": the official one", "", rw);
    gimp_procedure_add_choice_aux_argument(procedure, "settings-preset", "Preset", "Settings preset",
                                           gimp_choice_new_with_values("fast", RG_PRESET_FAST, "Fast (25 steps)", NULL,
                                                                       "official", RG_PRESET_OFFICIAL,
                                                                       "Official (100 steps)", NULL, NULL),
                                           "fast", rw);
    gimp_procedure_add_int_aux_argument(procedure, "settings-steps", "Steps", "DDIM steps (0: the preset's)", 0, 999, 0,
                                        rw);
    gimp_procedure_add_double_aux_argument(procedure, "settings-guidance-weight", "Guidance weight",
                                           "Step size of the guidance (0: the preset's)", 0.0, 10.0, 0.0, rw);
    gimp_procedure_add_double_aux_argument(procedure, "settings-guidance-end", "Guidance end",
                                           "Share of the steps that are guided (0: the preset's)", 0.0, 1.0, 0.0, rw);
    gimp_procedure_add_int_aux_argument(procedure, "settings-seed", "Seed", "Fixed seed (-1: a new one each run)", -1,
                                        G_MAXINT32, -1, rw);
    gimp_procedure_add_boolean_aux_argument(procedure, "settings-show-readouts", "Show readouts",
                                            "Show the readouts strip in the dialog", TRUE, rw);
}

static void config_from_settings(GimpProcedureConfig *config, const RgSettings *s)
{
    g_object_set(config, "settings-model", s->model, "settings-heads", s->heads, "settings-device", s->device,
                 "settings-prompt", s->prompt, "settings-negative-prompt", s->negative_prompt, "settings-preset",
                 s->preset == RG_PRESET_OFFICIAL ? "official" : "fast", "settings-steps", s->steps,
                 "settings-guidance-weight", (double)s->guidance_weight, "settings-guidance-end",
                 (double)s->guidance_end, "settings-seed", (int)s->seed, "settings-show-readouts", s->show_readouts,
                 NULL);
}

/* Fills @s (cleared first) from @config. */
static void settings_from_config(GimpProcedureConfig *config, RgSettings *s)
{
    rg_settings_clear(s);
    double weight = 0, end = 0;
    int seed = -1;
    g_object_get(config, "settings-model", &s->model, "settings-heads", &s->heads, "settings-device", &s->device,
                 "settings-prompt", &s->prompt, "settings-negative-prompt", &s->negative_prompt, "settings-steps",
                 &s->steps, "settings-guidance-weight", &weight, "settings-guidance-end", &end, "settings-seed", &seed,
                 "settings-show-readouts", &s->show_readouts, NULL);
    s->preset = gimp_procedure_config_get_choice_id(config, "settings-preset");
    s->guidance_weight = (float)weight;
    s->guidance_end = (float)end;
    s->seed = seed;
}

/* Before an interactive run: a missing settings file is made from what GIMP
 * remembers (its defaults when it remembers nothing). */
static void settings_file_from_config(GimpProcedureConfig *config)
{
    g_autofree char *path = rg_settings_path();
    if (g_file_test(path, G_FILE_TEST_EXISTS))
        return;
    RgSettings s;
    rg_settings_load(&s);
    settings_from_config(config, &s);
    g_autoptr(GError) error = NULL;
    if (!rg_settings_save(&s, &error))
        g_warning("%s", error->message);
    rg_settings_clear(&s);
}

/* After an interactive run: the file, as the dialog left it, into @config,
 * which GIMP then saves. */
static void config_from_settings_file(GimpProcedureConfig *config)
{
    RgSettings s;
    rg_settings_load(&s);
    config_from_settings(config, &s);
    rg_settings_clear(&s);
}

/* ---- running -------------------------------------------------------------- */

/* The arguments of a script's call, out of @config. The strings are copies,
 * kept in @strings; @points in *points (gimp_array_free). */
static void values_from_config(const RgPluginProcedure *p, GimpProcedureConfig *config, RgPluginValues *v,
                               GimpArray **points, char **strings)
{
    *v = (RgPluginValues){.num_points = -1};
    for (const RgPluginArg *const *a = p->args; *a; a++) {
        const char *name = (*a)->name;
        switch ((*a)->id) {
        case RG_PLUGIN_ARG_NUM_POINTS: {
            int value = 0;
            g_object_get(config, name, &value, NULL);
            v->num_points = value > 0 ? value : -1; /* 0: the array's own length */
            break;
        }
        case RG_PLUGIN_ARG_POINTS: {
            gsize n = 0;
            g_object_get(config, name, points, NULL);
            v->points = *points ? gimp_double_array_get_values(*points, &n) : NULL;
            v->n_points = (int)MIN(n, (gsize)G_MAXINT);
            break;
        }
        case RG_PLUGIN_ARG_LAYER: {
            GimpLayer *layer = NULL;
            g_object_get(config, name, &layer, NULL);
            v->layer = layer ? gimp_item_get_id(GIMP_ITEM(layer)) : 0;
            g_clear_object(&layer);
            break;
        }
        case RG_PLUGIN_ARG_PROMPT:
            g_object_get(config, name, &strings[0], NULL);
            v->prompt = strings[0];
            break;
        case RG_PLUGIN_ARG_MODEL:
            g_object_get(config, name, &strings[1], NULL);
            v->model = strings[1];
            break;
        default: {
            int value = 0;
            g_object_get(config, name, &value, NULL);
            rg_plugin_values_set_int(v, (*a)->id, value);
        }
        }
    }
}

static GimpPDBStatusType run_from_config(const RgPluginProcedure *p, RgHost *host, GimpProcedureConfig *config,
                                         int *layer, GError **error)
{
    RgPluginValues v;
    GimpArray *points = NULL;
    char *strings[2] = {NULL, NULL};
    values_from_config(p, config, &v, &points, strings);
    /* On the main thread: there is no dialog to keep alive, and libgimp may
     * only be called from this thread. */
    *layer = rg_plugin_run(p, &v, host, error);
    g_clear_pointer(&points, gimp_array_free);
    g_free(strings[0]);
    g_free(strings[1]);
    if (*layer > 0)
        return GIMP_PDB_SUCCESS;
    return rg_plugin_is_calling_error(*error) ? GIMP_PDB_CALLING_ERROR : GIMP_PDB_EXECUTION_ERROR;
}

static GimpPDBStatusType run_dialog(const RgPluginProcedure *p, RgHost *host, GimpProcedureConfig *config, int *layer,
                                    GError **error)
{
    /* gimp_ui_init() ends the process through gtk_init() when there is no
     * display; opening it first with the same name turns that into an error
     * message. */
    const char *name = gimp_display_name();
    if (name && *name)
        g_setenv("DISPLAY", name, TRUE);
    if (!rg_plugin_open_display(error))
        return GIMP_PDB_EXECUTION_ERROR;
    gimp_ui_init("readout");

    settings_file_from_config(config);
    RgDialog *dialog = rg_dialog_new(host, p->kind);
    /* Above the image window the plug-in was started from (X11 or Wayland).
     * A batch call has none: its handle is empty, which libgimpui would
     * complain about, and the dialog stands alone. */
    GBytes *parent = gimp_progress_get_window_handle();
    if (parent && g_bytes_get_size(parent) > 0)
        gimp_window_set_transient_for(GTK_WINDOW(dialog), parent);
    g_clear_pointer(&parent, g_bytes_unref);
    *layer = rg_dialog_run(dialog);
    config_from_settings_file(config);
    return *layer > 0 ? GIMP_PDB_SUCCESS : GIMP_PDB_CANCEL;
}

static GimpValueArray *run(GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image, GimpDrawable **drawables,
                           GimpProcedureConfig *config, gpointer run_data)
{
    const RgPluginProcedure *p = run_data;
    init_i18n();
    gegl_init(NULL, NULL);

    GError *error = NULL;
    GimpPDBStatusType status = GIMP_PDB_CALLING_ERROR;
    int layer = -1;
    if (gimp_core_object_array_get_length((GObject **)drawables) != 1) {
        g_set_error(&error, RG_ERROR, RG_ERROR_ARGUMENT,
                    _("Readout edits one layer at a time; select a single layer."));
    } else if (gimp_image_get_base_type(image) == GIMP_INDEXED) {
        g_set_error(&error, RG_ERROR, RG_ERROR_ARGUMENT,
                    _("Readout works on RGB and grayscale images; convert this indexed image first "
                      "(Image → Mode → RGB)."));
    } else {
        RgHost *host = rg_gimp3_host_new(image, drawables[0], run_mode != GIMP_RUN_NONINTERACTIVE);
        /* Repeat (RUN-WITH-LAST-VALS) opens the dialog too, as on 2.10: the
         * handles, reference and pose belong to one image and are not
         * remembered; the dialog starts from the remembered settings. */
        status = run_mode == GIMP_RUN_NONINTERACTIVE ? run_from_config(p, host, config, &layer, &error)
                                                     : run_dialog(p, host, config, &layer, &error);
        rg_gimp3_host_free(host);
    }

    if (status != GIMP_PDB_SUCCESS)
        return gimp_procedure_new_return_values(procedure, status, error); /* takes @error */
    GimpValueArray *values = gimp_procedure_new_return_values(procedure, GIMP_PDB_SUCCESS, NULL);
    GIMP_VALUES_SET_LAYER(values, 1, gimp_layer_get_by_id(layer));
    return values;
}

/* ---- registration --------------------------------------------------------- */

static GList *readout_query_procedures(GimpPlugIn *plug_in)
{
    init_i18n();
    for (size_t i = 0; i < G_N_ELEMENTS(rg_plugin_menu_branches); i++)
        gimp_plug_in_add_menu_branch(plug_in, rg_plugin_menu_branches[i].path, _(rg_plugin_menu_branches[i].label));
    GList *names = NULL;
    for (int i = 0; i < rg_plugin_n_procedures; i++)
        names = g_list_append(names, g_strdup(rg_plugin_procedures[i].name));
    return names;
}

static void add_argument(GimpProcedure *procedure, const RgPluginArg *a)
{
    const GParamFlags rw = G_PARAM_READWRITE;
    switch (rg_plugin_arg_type(a->id)) {
    case RG_PLUGIN_TYPE_INT:
        gimp_procedure_add_int_argument(procedure, a->name, a->label, a->blurb, a->min, a->max, a->def, rw);
        break;
    case RG_PLUGIN_TYPE_DOUBLES:
        gimp_procedure_add_double_array_argument(procedure, a->name, a->label, a->blurb, rw);
        break;
    case RG_PLUGIN_TYPE_LAYER:
        /* none_ok: a menu run starts without one (the dialog picks it); a
         * script that passes none is told what is missing. */
        gimp_procedure_add_layer_argument(procedure, a->name, a->label, a->blurb, TRUE, rw);
        break;
    case RG_PLUGIN_TYPE_STRING:
        gimp_procedure_add_string_argument(procedure, a->name, a->label, a->blurb, "", rw);
        break;
    }
}

static GimpProcedure *readout_create_procedure(GimpPlugIn *plug_in, const gchar *name)
{
    const RgPluginProcedure *p = rg_plugin_find_procedure(name);
    if (!p)
        return NULL;
    GimpProcedure *procedure =
        gimp_image_procedure_new(plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN, run, (gpointer)p, NULL);
    gimp_procedure_set_image_types(procedure, RG_PLUGIN_IMAGE_TYPES);
    gimp_procedure_set_sensitivity_mask(procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
    gimp_procedure_set_menu_label(procedure, _(p->menu_label));
    gimp_procedure_add_menu_path(procedure, RG_PLUGIN_MENU_PATH);
    gimp_procedure_set_documentation(procedure, _(p->blurb), p->help, name);
    gimp_procedure_set_attribution(procedure, RG_PLUGIN_AUTHORS, RG_PLUGIN_COPYRIGHT, RG_PLUGIN_DATE);

    /* num-points too, as on 2.10, although GIMP 3 arrays carry their length:
     * the same calls work on both; 0 (its default) takes the array's length. */
    for (const RgPluginArg *const *a = p->args; *a; a++)
        add_argument(procedure, *a);
    gimp_procedure_add_layer_return_value(procedure, "new-layer", "New layer",
                                          "The result, a new layer above the drawable", FALSE, G_PARAM_READWRITE);
    add_settings_aux_arguments(procedure);
    return procedure;
}

static void readout_plug_in_class_init(ReadoutPlugInClass *klass)
{
    GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS(klass);
    plug_in_class->query_procedures = readout_query_procedures;
    plug_in_class->create_procedure = readout_create_procedure;
    plug_in_class->set_i18n = readout_set_i18n;
}

static void readout_plug_in_init(ReadoutPlugIn *self)
{
    (void)self;
}

/* GIMP_MAIN() of libgimp, after the restart that makes the engine's threads
 * sleep while they wait (GIMP itself wants the cores too). */
int main(int argc, char *argv[])
{
    rg_prefer_passive_waiting(argv);
    return gimp_main(READOUT_TYPE_PLUG_IN, argc, argv);
}
