/* studio.c — readout-studio: the editor dialog on a PNG file, without GIMP.
 *
 *   readout-studio [--kind drag|identity|pose] [--layer REF.png ...] [--mask M.png] [--output OUT.png] IMAGE.png
 *
 * Every run writes a new PNG (by default IMAGE-readout.png, then
 * IMAGE-readout-2.png, ...); nothing existing is overwritten.
 */
#include <locale.h>
#include <string.h>

#include "dialog.h"
#include "file_host.h"
#include "i18n.h"

static gboolean parse_kind(const char *text, rg_job_kind *kind)
{
    static const struct {
        const char *name;
        rg_job_kind kind;
    } kinds[] = {{"drag", RG_JOB_DRAG}, {"identity", RG_JOB_IDENTITY}, {"pose", RG_JOB_POSE}};
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
        if (!strcmp(text, kinds[i].name)) {
            *kind = kinds[i].kind;
            return TRUE;
        }
    return FALSE;
}

static char *default_output(const char *image)
{
    return g_strdup_printf("%.*s-readout.png", (int)rg_path_stem_length(image), image);
}

int main(int argc, char **argv)
{
    rg_prefer_passive_waiting(argv);
    setlocale(LC_ALL, "");
    rg_i18n_init();
    textdomain(GETTEXT_PACKAGE);
    g_autofree char *kind_name = NULL, *mask_path = NULL, *output = NULL;
    g_auto(GStrv) layer_paths = NULL;
    GOptionEntry entries[] = {
        {"kind", 'k', 0, G_OPTION_ARG_STRING, &kind_name, N_("drag (default), identity or pose"), N_("KIND")},
        {"layer", 'l', 0, G_OPTION_ARG_FILENAME_ARRAY, &layer_paths,
         N_("A picture to offer as a reference or pose-map layer (repeatable)"), N_("FILE.png")},
        {"mask", 0, 0, G_OPTION_ARG_FILENAME, &mask_path, N_("The region a pose fill may change (white = change)"),
         N_("FILE.png")},
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
         N_("Where results go (default IMAGE-readout.png; taken names get -2, -3, ...)"), N_("OUT.png")},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GError) error = NULL;
    g_autoptr(GOptionContext) oc = g_option_context_new(_("IMAGE.png — edit a picture with Readout Guidance"));
    g_option_context_set_translation_domain(oc, GETTEXT_PACKAGE);
    g_option_context_add_main_entries(oc, entries, GETTEXT_PACKAGE);
    gdk_set_allowed_backends("x11,*");
    g_option_context_add_group(oc, gtk_get_option_group(FALSE));
    if (!g_option_context_parse(oc, &argc, &argv, &error)) {
        g_printerr("readout-studio: %s\n", error->message);
        return 2;
    }
    rg_job_kind kind = RG_JOB_DRAG;
    if (argc != 2 || (kind_name && !parse_kind(kind_name, &kind))) {
        g_printerr("readout-studio: %s\n",
                   argc != 2 ? _("give one picture to edit (IMAGE.png)") : _("--kind takes drag, identity or pose"));
        return 2;
    }
    if (!gtk_init_check(NULL, NULL)) {
        g_printerr("readout-studio: %s\n", _("cannot open the display"));
        return 1;
    }
    rg_image *source = rg_image_load_png(argv[1], &error);
    if (!source) {
        g_printerr("readout-studio: %s\n", error->message);
        return 1;
    }
    if (!output)
        output = default_output(argv[1]);
    g_autoptr(RgFileHost) host = rg_file_host_new(source, output);
    for (int i = 0; layer_paths && layer_paths[i]; i++) {
        rg_image *layer = rg_image_load_png(layer_paths[i], &error);
        if (!layer) {
            g_printerr("readout-studio: %s\n", error->message);
            return 1;
        }
        g_autofree char *name = g_path_get_basename(layer_paths[i]);
        rg_file_host_add_layer(host, name, layer);
    }
    if (mask_path) {
        rg_image *mask = rg_image_load_png(mask_path, &error);
        if (!mask) {
            g_printerr("readout-studio: %s\n", error->message);
            return 1;
        }
        rg_file_host_set_selection(host, mask);
    }
    RgDialog *dialog = rg_dialog_new(rg_file_host_get_host(host), kind);
    rg_dialog_run(dialog);
    GPtrArray *outputs = rg_file_host_get_outputs(host);
    for (guint i = 0; i < outputs->len; i++)
        g_print("%s\n", (const char *)g_ptr_array_index(outputs, i));
    return 0;
}
