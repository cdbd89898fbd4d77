/* dialog_private.h — the editor dialog's state, shared by dialog.c (the
 * window and its widgets) and dialog_run.c (the worker thread and runs). */
#pragma once

#include "dialog.h"
#include "settings.h"

typedef struct {
    RgDialog *dialog; /* a reference, dropped on the main thread */
    RgRequest *request;
    RgEngine *engine;
    gint cancelled; /* atomic */
    gint64 start_us;
    rg_image *result;
    GError *error;
    guint finished_source; /* the idle that reports the end, set by the worker */
} RunState;

struct _RgDialog {
    GtkWindow parent;
    RgHost *host;
    rg_job_kind kind;
    RgSettings settings;
    RgEngine *engine;     /* kept between runs; the worker borrows it */
    rg_image *source;     /* the layer being edited; NULL when it cannot be read */
    char *source_error;   /* why it cannot */
    rg_image *selection;  /* POSE: the host's selection, or NULL */
    rg_image *reference;  /* IDENTITY: the picked reference layer */
    rg_image *pose_layer; /* POSE: the picked pose-map layer, used as is until the joints are edited */
    gboolean pose_edited;
    GArray *layers; /* RgHostLayer */

    GtkWidget *canvas, *pose_editor, *layer_combo;
    GtkWidget *prompt, *negative, *preset, *steps, *weight, *end, *seed, *random_seed, *model, *heads, *device;
    GtkWidget *strip, *progress, *reason, *run, *cancel, *close;
    char *why_invalid;
    char *last_error;

    gboolean built;  /* every widget exists */
    gboolean closed; /* the window is gone: a run that ends reports nothing */
    GThread *worker;
    RunState *running;
    int last_layer;
    GMainLoop *loop;
};

/* dialog.c */
/* The request the widgets describe. With @borrow the images are the
 * dialog's own (for checks; call rg_dialog_priv_unborrow() before freeing),
 * else copies the worker may keep. */
RgRequest *rg_dialog_priv_request(RgDialog *d, gboolean borrow);
void rg_dialog_priv_unborrow(RgRequest *r);
void rg_dialog_priv_update_validity(RgDialog *d);
void rg_dialog_priv_update_buttons(RgDialog *d);
void rg_dialog_priv_save_settings(RgDialog *d);

/* dialog_run.c */
/* Ends the run @st on the main thread: joins the worker, adds the result
 * layer (unless the window is gone) and frees @st. */
void rg_dialog_priv_finish_run(RunState *st);
