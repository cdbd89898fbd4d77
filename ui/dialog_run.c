/* dialog_run.c — the editor dialog's runs: the worker thread, its reports
 * to the window, cancelling, and the result layer.
 *
 * Threads: everything here runs on the main thread except worker_main(),
 * which owns a RunState's request and engine while it runs. The job's
 * callbacks copy what they report into idle callbacks; the main thread joins
 * the worker in rg_dialog_priv_finish_run() before it touches the host.
 */
#include <string.h>

#include "dialog_private.h"
#include "i18n.h"
#include "readout_strip.h"

/* ---- the worker ------------------------------------------------------------- */

typedef struct {
    RgDialog *dialog;
    char *name; /* NULL: progress */
    rg_image *image;
    char *phase;
    int i, n;
} Report;

static void report_free(Report *rep)
{
    g_object_unref(rep->dialog);
    g_free(rep->name);
    g_free(rep->phase);
    rg_image_free(rep->image);
    g_free(rep);
}

/* The share of the whole job done, from the phases the pipeline goes through. */
static double overall_fraction(const char *phase, int i, int n)
{
    static const char *const phases[] = {"encode", "invert", "reference", "denoise", "decode"};
    static const double weight[] = {0.02, 0.3, 0.2, 0.46, 0.02};
    double done = 0.0;
    for (size_t k = 0; k < G_N_ELEMENTS(phases); k++) {
        if (!strcmp(phase, phases[k]))
            return done + weight[k] * (n > 0 ? (double)i / n : 1.0);
        done += weight[k];
    }
    return 0.0;
}

static gboolean show_report(gpointer data)
{
    Report *rep = data;
    RgDialog *d = rep->dialog;
    if (!d->running) // a late report of a finished run
        return G_SOURCE_REMOVE;
    if (rep->name) {
        rg_readout_strip_set(RG_READOUT_STRIP(d->strip), rep->name, rep->image);
        if (!strcmp(rep->name, "predicted") && d->host->ops->show_preview)
            d->host->ops->show_preview(d->host, rep->image);
        return G_SOURCE_REMOVE;
    }
    const double seconds = (g_get_monotonic_time() - d->running->start_us) / 1e6;
    const double f = CLAMP(overall_fraction(rep->phase, rep->i, rep->n), 0.0, 1.0);
    g_autofree char *text = f > 0.05 ? g_strdup_printf(_("%s %d / %d · about %.0f s left"), rep->phase, rep->i, rep->n,
                                                       seconds * (1.0 - f) / f)
                                     : g_strdup_printf(_("%s %d / %d"), rep->phase, rep->i, rep->n);
    gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(d->progress), f);
    gtk_progress_bar_set_text(GTK_PROGRESS_BAR(d->progress), text);
    if (d->host->ops->progress)
        d->host->ops->progress(d->host, f, text);
    return G_SOURCE_REMOVE;
}

static void post_report(RunState *st, const char *name, const rg_image *img, const char *phase, int i, int n)
{
    Report *rep = g_new0(Report, 1);
    rep->dialog = g_object_ref(st->dialog);
    rep->name = g_strdup(name);
    rep->image = img ? rg_image_copy(img, NULL) : NULL;
    rep->phase = g_strdup(phase);
    rep->i = i;
    rep->n = n;
    if (name && !rep->image) { // out of memory for a picture: skip it
        report_free(rep);
        return;
    }
    g_idle_add_full(G_PRIORITY_DEFAULT_IDLE, show_report, rep, (GDestroyNotify)report_free);
}

static void on_job_progress(const char *phase, int i, int n, gpointer data)
{
    post_report(data, NULL, NULL, phase, i, n);
}

static void on_job_preview(const rg_image *rgb, int i, gpointer data)
{
    post_report(data, "predicted", rgb, NULL, i, 0);
}

static void on_job_readout(const char *role, const rg_image *picture, int i, gpointer data)
{
    post_report(data, role, picture, NULL, i, 0);
}

static gboolean on_job_cancelled(gpointer data)
{
    RunState *st = data;
    return g_atomic_int_get(&st->cancelled) != 0;
}

static gboolean run_finished(gpointer data);

static gpointer worker_main(gpointer data)
{
    RunState *st = data;
    rg_job_callbacks cb = {
        .progress = on_job_progress, .preview = on_job_preview, .cancelled = on_job_cancelled, .user_data = st};
    if (st->dialog->settings.show_readouts)
        cb.readout = on_job_readout;
    st->result = rg_request_run(st->request, st->engine, &cb, &st->error);
    st->finished_source = g_idle_add(run_finished, st);
    return NULL;
}

/* ---- starting and ending runs ----------------------------------------------- */

gboolean rg_dialog_start(RgDialog *d)
{
    g_return_val_if_fail(RG_IS_DIALOG(d), FALSE);
    rg_dialog_priv_update_validity(d);
    if (d->running || d->why_invalid)
        return FALSE;
    if (gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(d->random_seed)))
        gtk_spin_button_set_value(GTK_SPIN_BUTTON(d->seed), g_random_int_range(0, G_MAXINT32));
    rg_dialog_priv_save_settings(d);
    RunState *st = g_new0(RunState, 1);
    st->dialog = g_object_ref(d);
    st->request = rg_dialog_priv_request(d, FALSE);
    st->engine = d->engine;
    st->start_us = g_get_monotonic_time();
    d->running = st;
    g_clear_pointer(&d->last_error, g_free);
    rg_readout_strip_clear(RG_READOUT_STRIP(d->strip));
    gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(d->progress), 0.0);
    gtk_progress_bar_set_text(GTK_PROGRESS_BAR(d->progress), _("loading the model"));
    rg_dialog_priv_update_buttons(d);
    d->worker = g_thread_new("readout-job", worker_main, st);
    return TRUE;
}

static gboolean after_run_hooks(gpointer data)
{
    RgDialog *d = data;
    if (d->closed)
        return G_SOURCE_REMOVE;
    const char *path = g_getenv("READOUT_DIALOG_SCREENSHOT");
    g_autoptr(GError) error = NULL;
    if (path && *path && !rg_dialog_save_screenshot(d, path, &error))
        g_warning("%s", error->message);
    if (!g_strcmp0(g_getenv("READOUT_DIALOG_CLOSE_AFTER_RUN"), "1"))
        gtk_window_close(GTK_WINDOW(d));
    return G_SOURCE_REMOVE;
}

void rg_dialog_priv_finish_run(RunState *st)
{
    RgDialog *d = st->dialog;
    if (d->worker)
        g_thread_join(d->worker);
    d->worker = NULL;
    d->running = NULL;
    if (d->closed) {
        rg_request_free(st->request);
        rg_image_free(st->result);
        g_clear_error(&st->error);
        g_free(st);
        g_object_unref(d);
        return;
    }
    if (d->host->ops->show_preview)
        d->host->ops->show_preview(d->host, NULL);
    const double seconds = (g_get_monotonic_time() - st->start_us) / 1e6;
    g_autofree char *status = NULL;
    if (st->result) {
        g_autofree char *name = rg_request_result_name(st->request);
        g_autoptr(GError) error = NULL;
        d->host->ops->undo_group(d->host, TRUE);
        const int id = d->host->ops->new_layer(d->host, name, st->result, &error);
        d->host->ops->undo_group(d->host, FALSE);
        if (id >= 0) {
            d->last_layer = id;
            status = g_strdup_printf(_("Made the layer “%s” in %.1f s."), name, seconds);
        } else {
            d->last_error = g_strdup(error->message);
        }
    } else if (g_error_matches(st->error, RG_ERROR, RG_ERROR_CANCELLED)) {
        status = g_strdup(_("Cancelled."));
    } else {
        d->last_error = g_strdup(st->error->message);
    }
    if (d->last_error && d->host->ops->message)
        d->host->ops->message(d->host, d->last_error);
    gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(d->progress), st->result ? 1.0 : 0.0);
    gtk_progress_bar_set_text(GTK_PROGRESS_BAR(d->progress), status ? status : _("Failed."));
    if (d->host->ops->progress)
        d->host->ops->progress(d->host, 1.0, NULL);
    rg_request_free(st->request);
    rg_image_free(st->result);
    g_clear_error(&st->error);
    rg_dialog_priv_update_validity(d);
    g_free(st);
    // the test hooks wait for a frame, so that the picture shows the buttons' new states
    if (g_getenv("READOUT_DIALOG_SCREENSHOT") || g_getenv("READOUT_DIALOG_CLOSE_AFTER_RUN"))
        g_timeout_add_full(G_PRIORITY_DEFAULT, 300, after_run_hooks, g_object_ref(d), g_object_unref);
    g_object_unref(d);
}

static gboolean run_finished(gpointer data)
{
    rg_dialog_priv_finish_run(data);
    return G_SOURCE_REMOVE;
}

void rg_dialog_cancel(RgDialog *d)
{
    g_return_if_fail(RG_IS_DIALOG(d));
    if (d->running) {
        g_atomic_int_set(&d->running->cancelled, 1);
        if (!d->closed)
            gtk_progress_bar_set_text(GTK_PROGRESS_BAR(d->progress), _("cancelling…"));
    }
}

gboolean rg_dialog_is_running(RgDialog *d)
{
    return d->running != NULL;
}

