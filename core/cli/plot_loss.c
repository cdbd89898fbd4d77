/* plot_loss.c — `readout plot-loss`: the training curves of loss.tsv files
 * (train-diffusion's RUN/loss.tsv, train-head's HEAD.loss.tsv: step, loss,
 * running average per line) as one picture, a panel per file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "readout/image.h"

typedef struct {
    char *title;
    GArray *step, *value, *average; /* double */
} curve_data;

static void curve_data_clear(curve_data *c)
{
    g_free(c->title);
    if (c->step) {
        g_array_unref(c->step);
        g_array_unref(c->value);
        g_array_unref(c->average);
    }
}

/* TITLE=PATH or PATH (the title is the file name without .loss.tsv / .tsv). */
static gboolean read_curve(const char *arg, curve_data *c, GError **error)
{
    const char *eq = strchr(arg, '=');
    const char *path = eq ? eq + 1 : arg;
    if (eq) {
        c->title = g_strndup(arg, (gsize)(eq - arg));
    } else {
        g_autofree char *base = g_path_get_basename(path);
        char *dot = strstr(base, ".loss.tsv");
        if (!dot)
            dot = strstr(base, ".tsv");
        if (dot)
            *dot = '\0';
        c->title = g_strdup(base);
    }
    g_autofree char *text = NULL;
    GError *local = NULL;
    if (!g_file_get_contents(path, &text, NULL, &local)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s", local->message);
        g_error_free(local);
        return FALSE;
    }
    c->step = g_array_new(FALSE, FALSE, sizeof(double));
    c->value = g_array_new(FALSE, FALSE, sizeof(double));
    c->average = g_array_new(FALSE, FALSE, sizeof(double));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        if (!*lines[i] || g_ascii_isalpha(lines[i][0]))
            continue; // blank lines and the header
        double v[3];
        char *p = lines[i], *end;
        for (int k = 0; k < 3; k++, p = end) {
            v[k] = g_ascii_strtod(p, &end);
            if (end == p) {
                g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s:%d: expected step, loss and average", path, i + 1);
                return FALSE;
            }
        }
        g_array_append_val(c->step, v[0]);
        g_array_append_val(c->value, v[1]);
        g_array_append_val(c->average, v[2]);
    }
    if (c->step->len == 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: no values", path);
        return FALSE;
    }
    return TRUE;
}

int rg_cli_plot_loss(int argc, char **argv)
{
    g_autofree char *out = NULL;
    GOptionEntry entries[] = {
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The picture to write (PNG)", "OUT.png"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("[TITLE=]LOSS.tsv... - draw training curves");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(oc, &argc, &argv, &error) || !out || argc < 2) {
        g_printerr("readout plot-loss: %s\n", error ? error->message : !out ? "--out is required" : "no loss files");
        return 2;
    }
    const int n = argc - 1;
    curve_data *data = g_new0(curve_data, n);
    rg_plot_curve *curves = g_new0(rg_plot_curve, n);
    gboolean ok = TRUE;
    for (int k = 0; ok && k < n; k++) {
        ok = read_curve(argv[k + 1], &data[k], &error);
        if (ok)
            curves[k] = (rg_plot_curve){data[k].title, (double *)data[k].step->data, (double *)data[k].value->data,
                                        (double *)data[k].average->data, (int)data[k].step->len};
    }
    g_autoptr(rg_image) img = ok ? rg_plot_curves(curves, n, &error) : NULL;
    ok = img && rg_image_save_png(img, out, &error);
    for (int k = 0; k < n; k++)
        curve_data_clear(&data[k]);
    g_free(data);
    g_free(curves);
    if (!ok) {
        g_printerr("readout plot-loss: %s\n", error->message);
        return 1;
    }
    return 0;
}
