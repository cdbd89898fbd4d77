/* dialog.h — the editor dialog: the layer on a canvas with drag arrows (or
 * a pose editor, or a reference picker), prompt and settings, Run / Cancel,
 * a progress bar with the time left, and the readout strip updated at every
 * step. The job runs in a worker thread; its callbacks reach the widgets on
 * the main thread. Each finished run becomes a new layer through the host
 * (one undo group); the dialog stays open for another run until Close.
 *
 * Keyboard: Ctrl+Return runs, Escape cancels a running job (else closes).
 *
 * Test hooks (environment): READOUT_DIALOG_SCREENSHOT=FILE.png draws the
 * dialog into FILE.png after each run; READOUT_DIALOG_CLOSE_AFTER_RUN=1
 * closes it after the first run ends.
 */
#pragma once

#include <gtk/gtk.h>

#include "host.h"
#include "request.h"

G_BEGIN_DECLS

#define RG_TYPE_DIALOG (rg_dialog_get_type())
G_DECLARE_FINAL_TYPE(RgDialog, rg_dialog, RG, DIALOG, GtkWindow)

/* A dialog for a @kind job (RG_JOB_DRAG, RG_JOB_IDENTITY or RG_JOB_POSE) on
 * @host (not owned; must outlive the dialog). Settings are loaded from and
 * saved to rg_settings_path(). */
RgDialog *rg_dialog_new(RgHost *host, rg_job_kind kind);
/* Shows the dialog and runs a main loop until it closes. Returns the id of
 * the last layer it made, or -1 when none was made. */
int rg_dialog_run(RgDialog *d);

/* For tests and hosts. */
GtkWidget *rg_dialog_get_canvas(RgDialog *d);      /* RgCanvas */
GtkWidget *rg_dialog_get_pose_editor(RgDialog *d); /* RgPoseEditor, NULL unless POSE */
/* Why Run is disabled, or NULL when it is enabled. (transfer none) */
const char *rg_dialog_get_why_invalid(RgDialog *d);
/* Starts a run as the Run button does; FALSE when invalid or already running. */
gboolean rg_dialog_start(RgDialog *d);
void rg_dialog_cancel(RgDialog *d);
gboolean rg_dialog_is_running(RgDialog *d);
/* The message of the last run's error, or NULL. (transfer none) */
const char *rg_dialog_get_last_error(RgDialog *d);
/* Draws the dialog into a PNG file. */
gboolean rg_dialog_save_screenshot(RgDialog *d, const char *path, GError **error);

G_END_DECLS
