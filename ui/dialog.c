/* dialog.c — the editor dialog's window: its widgets, what they describe
 * (the request, the settings) and why Run is disabled. Runs are in
 * dialog_run.c. */
#include <gdk/gdkx.h>
#include <string.h>

#include "canvas.h"
#include "dialog_private.h"
#include "i18n.h"
#include "pose_editor.h"
#include "readout/data.h"
#include "readout_strip.h"

#define STRIP_SIZE 96

G_DEFINE_TYPE(RgDialog, rg_dialog, GTK_TYPE_WINDOW)

/* ---- reading the widgets ---------------------------------------------------- */

static const char *entry_text(GtkWidget *entry)
{
    return gtk_entry_get_text(GTK_ENTRY(entry));
}

static void settings_from_widgets(RgDialog *d)
{
    RgSettings *s = &d->settings;
    g_free(s->model);
    s->model = g_strdup(entry_text(d->model));
    g_free(s->heads);
    s->heads = g_strdup(entry_text(d->heads));
    g_free(s->device);
    s->device = g_strdup(gtk_combo_box_get_active_id(GTK_COMBO_BOX(d->device)));
    g_free(s->prompt);
    s->prompt = g_strdup(entry_text(d->prompt));
    g_free(s->negative_prompt);
    s->negative_prompt = g_strdup(entry_text(d->negative));
    s->preset = gtk_combo_box_get_active(GTK_COMBO_BOX(d->preset)) == 1 ? RG_PRESET_OFFICIAL : RG_PRESET_FAST;
    s->steps = gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(d->steps));
    s->guidance_weight = (float)gtk_spin_button_get_value(GTK_SPIN_BUTTON(d->weight));
    s->guidance_end = (float)gtk_spin_button_get_value(GTK_SPIN_BUTTON(d->end));
    s->seed = gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(d->random_seed))
                  ? -1
                  : gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(d->seed));
}

static int picked_layer(RgDialog *d)
{
    const char *id = d->layer_combo ? gtk_combo_box_get_active_id(GTK_COMBO_BOX(d->layer_combo)) : NULL;
    return id && strcmp(id, "drawn") ? atoi(id) : G_MININT;
}

RgRequest *rg_dialog_priv_request(RgDialog *d, gboolean borrow)
{
    settings_from_widgets(d);
    RgRequest *r = rg_request_new(d->kind);
    rg_settings_apply(&d->settings, r);
    r->seed = (guint64)gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(d->seed));
    r->prompt = g_strdup(entry_text(d->prompt));
    r->negative_prompt = g_strdup(entry_text(d->negative));
    r->image = borrow || !d->source ? d->source : rg_image_copy(d->source, NULL);
    switch (d->kind) {
    case RG_JOB_DRAG: {
        g_autoptr(GArray) xy = rg_canvas_get_points(RG_CANVAS(d->canvas));
        g_array_append_vals(r->points, xy->data, xy->len);
        if (!borrow)
            r->mask = rg_canvas_get_mask(RG_CANVAS(d->canvas));
        break;
    }
    case RG_JOB_IDENTITY:
        // the canvas shows the picked reference layer; its box says where to look
        if (d->reference)
            r->reference = borrow ? d->reference : rg_image_copy(d->reference, NULL);
        r->has_box = rg_canvas_get_box(RG_CANVAS(d->canvas), r->box);
        break;
    case RG_JOB_POSE:
        if (d->pose_layer && !d->pose_edited)
            r->control = borrow ? d->pose_layer : rg_image_copy(d->pose_layer, NULL);
        else if (!borrow)
            r->control = rg_pose_editor_render_map(RG_POSE_EDITOR(d->pose_editor), NULL);
        else
            r->control = d->source; // the editor always has a pose: any non-NULL map passes the check
        r->mask = borrow ? d->selection : (d->selection ? rg_image_copy(d->selection, NULL) : NULL);
        break;
    case RG_JOB_GENERATE:
        break;
    }
    return r;
}

void rg_dialog_priv_unborrow(RgRequest *r)
{
    r->image = r->control = r->mask = r->reference = NULL;
}

/* ---- state shown to the user ------------------------------------------------ */

static void show_reason(RgDialog *d)
{
    const char *text = d->running ? "" : d->last_error ? d->last_error : d->why_invalid ? d->why_invalid : "";
    gtk_label_set_text(GTK_LABEL(d->reason), text);
    GtkStyleContext *sc = gtk_widget_get_style_context(d->reason);
    if (d->last_error && !d->running)
        gtk_style_context_add_class(sc, "error");
    else
        gtk_style_context_remove_class(sc, "error");
}

void rg_dialog_priv_update_buttons(RgDialog *d)
{
    gtk_widget_set_sensitive(d->run, !d->running && !d->why_invalid);
    gtk_widget_set_tooltip_text(d->run, d->why_invalid);
    gtk_widget_set_sensitive(d->cancel, d->running != NULL);
    show_reason(d);
}

static char *why_model_unusable(RgDialog *d)
{
    const char *model = entry_text(d->model);
    g_autoptr(GError) error = NULL;
    g_autofree char *path = rg_resolve_model_path(*model ? model : NULL, &error);
    if (!path)
        return g_strdup(error->message);
    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        return g_strdup_printf(_("The model folder %s does not exist."), path);
    const char *heads = entry_text(d->heads);
    if (*heads && !g_file_test(heads, G_FILE_TEST_IS_DIR))
        return g_strdup_printf(_("The heads folder %s does not exist."), heads);
    return NULL;
}

void rg_dialog_priv_update_validity(RgDialog *d)
{
    if (!d->built || d->closed)
        return;
    g_clear_pointer(&d->why_invalid, g_free);
    g_autoptr(RgRequest) r = rg_dialog_priv_request(d, TRUE);
    d->why_invalid = d->source_error ? g_strdup(d->source_error) : rg_request_why_invalid(r);
    rg_dialog_priv_unborrow(r);
    if (!d->why_invalid)
        d->why_invalid = why_model_unusable(d);
    rg_dialog_priv_update_buttons(d);
}

static void on_changed(RgDialog *d)
{
    g_clear_pointer(&d->last_error, g_free);
    rg_dialog_priv_update_validity(d);
}

void rg_dialog_priv_save_settings(RgDialog *d)
{
    settings_from_widgets(d);
    g_autoptr(GError) error = NULL;
    if (!rg_settings_save(&d->settings, &error))
        g_warning("%s", error->message);
}

const char *rg_dialog_get_why_invalid(RgDialog *d)
{
    return d->why_invalid;
}

const char *rg_dialog_get_last_error(RgDialog *d)
{
    return d->last_error;
}

GtkWidget *rg_dialog_get_canvas(RgDialog *d)
{
    return d->canvas;
}

GtkWidget *rg_dialog_get_pose_editor(RgDialog *d)
{
    return d->pose_editor;
}

gboolean rg_dialog_save_screenshot(RgDialog *d, const char *path, GError **error)
{
    GtkWidget *w = GTK_WIDGET(d);
    gtk_container_check_resize(GTK_CONTAINER(w)); // lay out what the last run changed before drawing
    const int width = gtk_widget_get_allocated_width(w), height = gtk_widget_get_allocated_height(w);
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, MAX(width, 1), MAX(height, 1));
    cairo_t *cr = cairo_create(surface);
    gtk_widget_draw(w, cr);
    cairo_destroy(cr);
    const cairo_status_t status = cairo_surface_write_to_png(surface, path);
    cairo_surface_destroy(surface);
    if (status != CAIRO_STATUS_SUCCESS) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot write the screenshot %s: %s", path,
                    cairo_status_to_string(status));
        return FALSE;
    }
    return TRUE;
}

/* ---- building the window ---------------------------------------------------- */

static GtkWidget *spin(double lo, double hi, double step, int digits, double value, const char *tip)
{
    GtkWidget *w = gtk_spin_button_new_with_range(lo, hi, step);
    gtk_spin_button_set_digits(GTK_SPIN_BUTTON(w), digits);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(w), value);
    gtk_widget_set_tooltip_text(w, tip);
    return w;
}

static void grid_row(GtkWidget *grid, int row, const char *label, GtkWidget *w)
{
    GtkWidget *l = gtk_label_new_with_mnemonic(label);
    gtk_label_set_xalign(GTK_LABEL(l), 0.0f);
    gtk_label_set_mnemonic_widget(GTK_LABEL(l), w);
    gtk_grid_attach(GTK_GRID(grid), l, 0, row, 1, 1);
    gtk_widget_set_hexpand(w, TRUE);
    gtk_grid_attach(GTK_GRID(grid), w, 1, row, 1, 1);
}

static void on_pick_folder(GtkEntry *entry, GtkEntryIconPosition pos, GdkEvent *event, gpointer data)
{
    (void)event;
    (void)data;
    if (pos != GTK_ENTRY_ICON_SECONDARY)
        return;
    GtkWidget *chooser =
        gtk_file_chooser_dialog_new(_("Pick a folder"), GTK_WINDOW(gtk_widget_get_toplevel(GTK_WIDGET(entry))),
                                    GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Cancel"), GTK_RESPONSE_CANCEL,
                                    _("_Select"), GTK_RESPONSE_ACCEPT, NULL);
    if (gtk_dialog_run(GTK_DIALOG(chooser)) == GTK_RESPONSE_ACCEPT) {
        g_autofree char *path = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(chooser));
        gtk_entry_set_text(entry, path ? path : "");
    }
    gtk_widget_destroy(chooser);
}

static GtkWidget *folder_entry(const char *value, const char *placeholder, const char *tip)
{
    GtkWidget *w = gtk_entry_new();
    gtk_entry_set_text(GTK_ENTRY(w), value ? value : "");
    gtk_entry_set_placeholder_text(GTK_ENTRY(w), placeholder);
    gtk_entry_set_icon_from_icon_name(GTK_ENTRY(w), GTK_ENTRY_ICON_SECONDARY, "folder-open");
    gtk_entry_set_icon_tooltip_text(GTK_ENTRY(w), GTK_ENTRY_ICON_SECONDARY, _("Pick a folder"));
    gtk_widget_set_tooltip_text(w, tip);
    g_signal_connect(w, "icon-press", G_CALLBACK(on_pick_folder), NULL);
    return w;
}

static GtkWidget *build_settings(RgDialog *d)
{
    const RgSettings *s = &d->settings;
    GtkWidget *grid = gtk_grid_new();
    gtk_grid_set_row_spacing(GTK_GRID(grid), 4);
    gtk_grid_set_column_spacing(GTK_GRID(grid), 8);
    d->preset = gtk_combo_box_text_new();
    gtk_combo_box_text_append_text(GTK_COMBO_BOX_TEXT(d->preset), _("Fast (25 steps)"));
    gtk_combo_box_text_append_text(GTK_COMBO_BOX_TEXT(d->preset), _("Official (100 steps)"));
    gtk_combo_box_set_active(GTK_COMBO_BOX(d->preset), s->preset == RG_PRESET_OFFICIAL ? 1 : 0);
    d->steps = spin(0, 999, 1, 0, s->steps, _("DDIM steps; 0 takes the preset's"));
    d->weight = spin(0, 1, 0.005, 3, s->guidance_weight,
                     _("Step size of the guidance on the latent; 0 takes the preset's (0.02)"));
    d->end = spin(0, 1, 0.05, 2, s->guidance_end, _("Share of the steps that are guided; 0 takes the preset's (0.5)"));
    GtkWidget *seed_box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 4);
    d->seed = spin(0, G_MAXINT32, 1, 0, s->seed >= 0 ? (double)s->seed : 100, _("Seed of the noise"));
    d->random_seed = gtk_check_button_new_with_mnemonic(_("_Random"));
    gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(d->random_seed), s->seed < 0);
    gtk_widget_set_tooltip_text(d->random_seed, _("A new seed for every run"));
    gtk_box_pack_start(GTK_BOX(seed_box), d->seed, TRUE, TRUE, 0);
    gtk_box_pack_start(GTK_BOX(seed_box), d->random_seed, FALSE, FALSE, 0);
    d->model = folder_entry(s->model, _("the demo model"),
                            _("A diffusers folder or single-file checkpoint; empty for the shipped demo model"));
    d->heads = folder_entry(s->heads, _("the model's own heads"), _("A folder of readout head files named by role"));
    d->device = gtk_combo_box_text_new();
    gtk_combo_box_text_append(GTK_COMBO_BOX_TEXT(d->device), "cpu", _("CPU"));
    gtk_combo_box_text_append(GTK_COMBO_BOX_TEXT(d->device), "cuda", _("CUDA GPU"));
    if (!gtk_combo_box_set_active_id(GTK_COMBO_BOX(d->device), s->device))
        gtk_combo_box_set_active_id(GTK_COMBO_BOX(d->device), "cpu");
    int row = 0;
    grid_row(grid, row++, _("_Preset"), d->preset);
    grid_row(grid, row++, _("S_teps"), d->steps);
    grid_row(grid, row++, _("Guidance _weight"), d->weight);
    grid_row(grid, row++, _("Guided _share"), d->end);
    grid_row(grid, row++, _("S_eed"), seed_box);
    grid_row(grid, row++, _("_Model folder"), d->model);
    grid_row(grid, row++, _("_Heads folder"), d->heads);
    grid_row(grid, row++, _("_Device"), d->device);
    GtkWidget *expander = gtk_expander_new_with_mnemonic(_("_Settings"));
    gtk_container_add(GTK_CONTAINER(expander), grid);
    GObject *watched[] = {G_OBJECT(d->model), G_OBJECT(d->heads)};
    for (size_t i = 0; i < G_N_ELEMENTS(watched); i++)
        g_signal_connect_swapped(watched[i], "changed", G_CALLBACK(on_changed), d);
    return expander;
}

static void on_mode_toggled(GtkToggleButton *button, RgDialog *d)
{
    if (gtk_toggle_button_get_active(button))
        rg_canvas_set_mode(RG_CANVAS(d->canvas),
                           (RgCanvasMode)GPOINTER_TO_INT(g_object_get_data(G_OBJECT(button), "rg-mode")));
}

static GtkWidget *canvas_tools(RgDialog *d)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 4);
    struct {
        const char *label, *tip;
        RgCanvasMode mode;
    } modes[] = {
        {N_("_Points"), N_("Drag from what should move to where it should go"), RG_CANVAS_MODE_ARROWS},
        {N_("_Mask"), N_("Paint where the edit may act (right button erases); nothing painted: everywhere"),
         RG_CANVAS_MODE_MASK},
        {N_("_Box"), N_("Drag the part of the reference whose look to keep"), RG_CANVAS_MODE_BOX},
        {N_("_View"), N_("Zoom with the wheel, pan with the middle button"), RG_CANVAS_MODE_VIEW},
    };
    GSList *group = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        const gboolean wanted = d->kind == RG_JOB_DRAG
                                    ? modes[i].mode != RG_CANVAS_MODE_BOX
                                    : modes[i].mode == RG_CANVAS_MODE_BOX || modes[i].mode == RG_CANVAS_MODE_VIEW;
        if (!wanted)
            continue;
        GtkWidget *b = gtk_radio_button_new_with_mnemonic(group, _(modes[i].label));
        group = gtk_radio_button_get_group(GTK_RADIO_BUTTON(b));
        gtk_toggle_button_set_mode(GTK_TOGGLE_BUTTON(b), FALSE);
        gtk_widget_set_tooltip_text(b, _(modes[i].tip));
        g_object_set_data(G_OBJECT(b), "rg-mode", GINT_TO_POINTER(modes[i].mode));
        g_signal_connect(b, "toggled", G_CALLBACK(on_mode_toggled), d);
        gtk_box_pack_start(GTK_BOX(box), b, FALSE, FALSE, 0);
    }
    return box;
}

/* IDENTITY: the canvas shows the picked reference; POSE: the editor loads the picked map. */
static void on_layer_picked(RgDialog *d)
{
    const int id = picked_layer(d);
    g_autoptr(GError) error = NULL;
    g_autoptr(rg_image) pixels = id != G_MININT ? d->host->ops->read_layer(d->host, id, &error) : NULL;
    if (error) {
        g_free(d->last_error);
        d->last_error = g_strdup(error->message);
    }
    if (d->kind == RG_JOB_IDENTITY) {
        g_clear_pointer(&d->reference, rg_image_free);
        if (pixels) {
            d->reference = g_steal_pointer(&pixels);
            rg_canvas_set_image(RG_CANVAS(d->canvas), d->reference);
        }
    } else if (d->kind == RG_JOB_POSE) {
        g_clear_pointer(&d->pose_layer, rg_image_free);
        if (pixels) {
            // joints found: the user edits them; else the map is used as it is
            g_autoptr(GError) ignored = NULL;
            d->pose_layer = g_steal_pointer(&pixels);
            rg_pose_editor_load_map(RG_POSE_EDITOR(d->pose_editor), d->pose_layer, &ignored);
        }
        d->pose_edited = FALSE;
    }
    rg_dialog_priv_update_validity(d);
}

static void on_pose_edited(RgDialog *d)
{
    d->pose_edited = TRUE;
    on_changed(d);
}

static void on_export_pose(RgDialog *d)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(rg_image) map = rg_pose_editor_render_map(RG_POSE_EDITOR(d->pose_editor), &error);
    if (map) {
        d->host->ops->undo_group(d->host, TRUE);
        d->host->ops->new_layer(d->host, _("Readout pose map"), map, &error);
        d->host->ops->undo_group(d->host, FALSE);
    }
    if (error) {
        g_free(d->last_error);
        d->last_error = g_strdup(error->message);
        show_reason(d);
    }
}

static GtkWidget *layer_picker(RgDialog *d)
{
    d->layer_combo = gtk_combo_box_text_new();
    if (d->kind == RG_JOB_POSE)
        gtk_combo_box_text_append(GTK_COMBO_BOX_TEXT(d->layer_combo), "drawn", _("The pose drawn here"));
    for (guint i = 0; i < d->layers->len; i++) {
        const RgHostLayer *l = &g_array_index(d->layers, RgHostLayer, i);
        g_autofree char *id = g_strdup_printf("%d", l->id);
        g_autofree char *text = g_strdup_printf("%s (%d×%d)", l->name, l->width, l->height);
        gtk_combo_box_text_append(GTK_COMBO_BOX_TEXT(d->layer_combo), id, text);
    }
    gtk_combo_box_set_active(GTK_COMBO_BOX(d->layer_combo), 0);
    g_signal_connect_swapped(d->layer_combo, "changed", G_CALLBACK(on_layer_picked), d);
    return d->layer_combo;
}

static gboolean on_key(GtkWidget *w, GdkEventKey *ev, RgDialog *d)
{
    (void)w;
    if ((ev->keyval == GDK_KEY_Return || ev->keyval == GDK_KEY_KP_Enter) && (ev->state & GDK_CONTROL_MASK)) {
        rg_dialog_start(d);
        return TRUE;
    }
    if (ev->keyval == GDK_KEY_Escape) {
        if (d->running)
            rg_dialog_cancel(d);
        else
            gtk_window_close(GTK_WINDOW(d));
        return TRUE;
    }
    return FALSE;
}

static gboolean on_delete(GtkWidget *w, GdkEvent *ev, RgDialog *d)
{
    (void)w;
    (void)ev;
    rg_dialog_priv_save_settings(d);
    return FALSE;
}

/* Closing while a job runs cancels it; the window goes once the worker has
 * stopped, which is within one step. */
static void on_destroy(RgDialog *d)
{
    d->closed = TRUE;
    if (d->running) {
        RunState *st = d->running;
        rg_dialog_cancel(d);
        g_thread_join(d->worker);
        d->worker = NULL;
        g_source_remove(st->finished_source);
        rg_dialog_priv_finish_run(st);
    }
    if (d->host->ops->show_preview)
        d->host->ops->show_preview(d->host, NULL);
    if (d->loop && g_main_loop_is_running(d->loop))
        g_main_loop_quit(d->loop);
}

static const char *title_of(rg_job_kind kind)
{
    switch (kind) {
    case RG_JOB_DRAG:
        return _("Readout — Drag");
    case RG_JOB_IDENTITY:
        return _("Readout — Identity");
    case RG_JOB_POSE:
        return _("Readout — Pose Fill");
    case RG_JOB_GENERATE:
        break;
    }
    return "Readout";
}

static GtkWidget *build_left(RgDialog *d)
{
    GtkWidget *left = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
    if (d->kind == RG_JOB_POSE) {
        d->pose_editor = rg_pose_editor_new();
        rg_pose_editor_set_background(RG_POSE_EDITOR(d->pose_editor), d->source);
        gtk_widget_set_size_request(d->pose_editor, 384, 384);
        g_signal_connect_swapped(d->pose_editor, "changed", G_CALLBACK(on_pose_edited), d);
        GtkWidget *tools = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
        GtkWidget *label = gtk_label_new_with_mnemonic(_("Pose _map:"));
        GtkWidget *picker = layer_picker(d);
        gtk_label_set_mnemonic_widget(GTK_LABEL(label), picker);
        GtkWidget *export = gtk_button_new_with_mnemonic(_("_Add as layer"));
        gtk_widget_set_tooltip_text(export, _("Add the pose drawn here to the image as a pose-map layer"));
        g_signal_connect_swapped(export, "clicked", G_CALLBACK(on_export_pose), d);
        gtk_box_pack_start(GTK_BOX(tools), label, FALSE, FALSE, 0);
        gtk_box_pack_start(GTK_BOX(tools), picker, TRUE, TRUE, 0);
        gtk_box_pack_start(GTK_BOX(tools), export, FALSE, FALSE, 0);
        gtk_box_pack_start(GTK_BOX(left), tools, FALSE, FALSE, 0);
        gtk_box_pack_start(GTK_BOX(left), d->pose_editor, TRUE, TRUE, 0);
        d->canvas = NULL;
        return left;
    }
    d->canvas = rg_canvas_new();
    gtk_widget_set_size_request(d->canvas, 384, 384);
    gtk_widget_set_can_focus(d->canvas, TRUE);
    g_signal_connect_swapped(d->canvas, "changed", G_CALLBACK(on_changed), d);
    GtkWidget *tools = canvas_tools(d);
    if (d->kind == RG_JOB_IDENTITY) {
        GtkWidget *label = gtk_label_new_with_mnemonic(_("_Reference:"));
        GtkWidget *picker = layer_picker(d);
        gtk_label_set_mnemonic_widget(GTK_LABEL(label), picker);
        gtk_box_pack_start(GTK_BOX(tools), label, FALSE, FALSE, 6);
        gtk_box_pack_start(GTK_BOX(tools), picker, TRUE, TRUE, 0);
        rg_canvas_set_mode(RG_CANVAS(d->canvas), RG_CANVAS_MODE_BOX);
    } else {
        rg_canvas_set_image(RG_CANVAS(d->canvas), d->source);
        GtkWidget *undo = gtk_button_new_from_icon_name("edit-undo", GTK_ICON_SIZE_BUTTON);
        GtkWidget *redo = gtk_button_new_from_icon_name("edit-redo", GTK_ICON_SIZE_BUTTON);
        gtk_widget_set_tooltip_text(undo, _("Undo the last point edit (Ctrl+Z)"));
        gtk_widget_set_tooltip_text(redo, _("Redo (Ctrl+Shift+Z)"));
        g_signal_connect_swapped(undo, "clicked", G_CALLBACK(rg_canvas_undo), d->canvas);
        g_signal_connect_swapped(redo, "clicked", G_CALLBACK(rg_canvas_redo), d->canvas);
        gtk_box_pack_end(GTK_BOX(tools), redo, FALSE, FALSE, 0);
        gtk_box_pack_end(GTK_BOX(tools), undo, FALSE, FALSE, 0);
    }
    gtk_box_pack_start(GTK_BOX(left), tools, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(left), d->canvas, TRUE, TRUE, 0);
    return left;
}

static GtkWidget *build_right(RgDialog *d)
{
    GtkWidget *right = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
    gtk_widget_set_size_request(right, 340, -1);
    GtkWidget *grid = gtk_grid_new();
    gtk_grid_set_row_spacing(GTK_GRID(grid), 4);
    gtk_grid_set_column_spacing(GTK_GRID(grid), 8);
    d->prompt = gtk_entry_new();
    gtk_entry_set_text(GTK_ENTRY(d->prompt), d->settings.prompt);
    gtk_entry_set_placeholder_text(GTK_ENTRY(d->prompt), d->kind == RG_JOB_DRAG ? _("optional: what the picture shows")
                                                                                : _("the picture to make"));
    d->negative = gtk_entry_new();
    gtk_entry_set_text(GTK_ENTRY(d->negative), d->settings.negative_prompt);
    gtk_entry_set_placeholder_text(GTK_ENTRY(d->negative), _("the official one"));
    grid_row(grid, 0, _("Pro_mpt"), d->prompt);
    grid_row(grid, 1, _("_Negative"), d->negative);
    g_signal_connect_swapped(d->prompt, "changed", G_CALLBACK(on_changed), d);
    gtk_box_pack_start(GTK_BOX(right), grid, FALSE, FALSE, 0);
    gtk_box_pack_start(GTK_BOX(right), build_settings(d), FALSE, FALSE, 0);

    GtkWidget *frame = gtk_frame_new(_("Readouts"));
    GtkWidget *scroller = gtk_scrolled_window_new(NULL, NULL);
    gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroller), GTK_POLICY_AUTOMATIC, GTK_POLICY_NEVER);
    gtk_widget_set_size_request(scroller, -1, STRIP_SIZE + 40);
    d->strip = rg_readout_strip_new(STRIP_SIZE);
    gtk_container_add(GTK_CONTAINER(scroller), d->strip);
    gtk_container_add(GTK_CONTAINER(frame), scroller);
    gtk_box_pack_start(GTK_BOX(right), frame, FALSE, FALSE, 0);

    d->progress = gtk_progress_bar_new();
    gtk_progress_bar_set_show_text(GTK_PROGRESS_BAR(d->progress), TRUE);
    gtk_progress_bar_set_text(GTK_PROGRESS_BAR(d->progress), "");
    gtk_box_pack_start(GTK_BOX(right), d->progress, FALSE, FALSE, 0);
    d->reason = gtk_label_new("");
    gtk_label_set_line_wrap(GTK_LABEL(d->reason), TRUE);
    gtk_label_set_xalign(GTK_LABEL(d->reason), 0.0f);
    gtk_label_set_max_width_chars(GTK_LABEL(d->reason), 40);
    gtk_box_pack_start(GTK_BOX(right), d->reason, FALSE, FALSE, 0);

    GtkWidget *buttons = gtk_button_box_new(GTK_ORIENTATION_HORIZONTAL);
    gtk_button_box_set_layout(GTK_BUTTON_BOX(buttons), GTK_BUTTONBOX_END);
    gtk_box_set_spacing(GTK_BOX(buttons), 6);
    d->close = gtk_button_new_with_mnemonic(_("_Close"));
    d->cancel = gtk_button_new_with_mnemonic(_("C_ancel"));
    d->run = gtk_button_new_with_mnemonic(_("_Run"));
    gtk_style_context_add_class(gtk_widget_get_style_context(d->run), "suggested-action");
    gtk_widget_set_tooltip_text(d->cancel, _("Stop the running job (Escape)"));
    g_signal_connect_swapped(d->close, "clicked", G_CALLBACK(gtk_window_close), d);
    g_signal_connect_swapped(d->cancel, "clicked", G_CALLBACK(rg_dialog_cancel), d);
    g_signal_connect_swapped(d->run, "clicked", G_CALLBACK(rg_dialog_start), d);
    gtk_container_add(GTK_CONTAINER(buttons), d->close);
    gtk_container_add(GTK_CONTAINER(buttons), d->cancel);
    gtk_container_add(GTK_CONTAINER(buttons), d->run);
    gtk_box_pack_end(GTK_BOX(right), buttons, FALSE, FALSE, 0);
    return right;
}

RgDialog *rg_dialog_new(RgHost *host, rg_job_kind kind)
{
    g_return_val_if_fail(host && host->ops, NULL);
    RgDialog *d = g_object_new(RG_TYPE_DIALOG, "title", title_of(kind), NULL);
    d->host = host;
    d->kind = kind;
    rg_settings_load(&d->settings);
    d->engine = rg_engine_new();
    g_autoptr(GError) error = NULL;
    // a layer that cannot be read (too large, no memory) leaves the dialog
    // open with the reason, and Run disabled
    if (!(d->source = host->ops->read_layer(host, RG_HOST_SOURCE, &error)))
        d->source_error = g_strdup(error->message);
    if (kind == RG_JOB_POSE && host->ops->read_selection) {
        g_clear_error(&error);
        d->selection = host->ops->read_selection(host, &error);
        if (error)
            g_warning("%s", error->message);
    }
    d->layers = host->ops->list_layers(host);

    gtk_window_set_default_size(GTK_WINDOW(d), 960, 640);
    GtkWidget *paned = gtk_paned_new(GTK_ORIENTATION_HORIZONTAL);
    gtk_container_set_border_width(GTK_CONTAINER(paned), 8);
    gtk_paned_pack1(GTK_PANED(paned), build_left(d), TRUE, FALSE);
    gtk_paned_pack2(GTK_PANED(paned), build_right(d), FALSE, FALSE);
    gtk_container_add(GTK_CONTAINER(d), paned);
    g_signal_connect(d, "key-press-event", G_CALLBACK(on_key), d);
    g_signal_connect(d, "delete-event", G_CALLBACK(on_delete), d);
    g_signal_connect(d, "destroy", G_CALLBACK(on_destroy), NULL);
    d->built = TRUE;
    if (d->layer_combo)
        on_layer_picked(d);
    rg_dialog_priv_update_validity(d);
    return d;
}

static void set_transient(RgDialog *d)
{
    const guint64 xid = d->host->ops->transient_window ? d->host->ops->transient_window(d->host) : 0;
    GdkDisplay *display = gtk_widget_get_display(GTK_WIDGET(d));
    if (!xid || !GDK_IS_X11_DISPLAY(display))
        return;
    GdkWindow *parent = gdk_x11_window_foreign_new_for_display(display, (Window)xid);
    if (parent) {
        gdk_window_set_transient_for(gtk_widget_get_window(GTK_WIDGET(d)), parent);
        g_object_unref(parent);
    }
}

int rg_dialog_run(RgDialog *d)
{
    g_return_val_if_fail(RG_IS_DIALOG(d), -1);
    g_object_ref(d);
    gtk_widget_show_all(GTK_WIDGET(d));
    set_transient(d);
    d->loop = g_main_loop_new(NULL, FALSE);
    g_main_loop_run(d->loop);
    g_clear_pointer(&d->loop, g_main_loop_unref);
    const int layer = d->last_layer;
    g_object_unref(d);
    return layer;
}

static void rg_dialog_finalize(GObject *object)
{
    RgDialog *d = RG_DIALOG(object);
    g_assert(!d->worker);
    rg_settings_clear(&d->settings);
    rg_engine_free(d->engine);
    rg_image_free(d->source);
    rg_image_free(d->selection);
    rg_image_free(d->reference);
    rg_image_free(d->pose_layer);
    rg_host_layers_free(d->layers);
    g_free(d->why_invalid);
    g_free(d->last_error);
    g_free(d->source_error);
    G_OBJECT_CLASS(rg_dialog_parent_class)->finalize(object);
}

static void rg_dialog_class_init(RgDialogClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = rg_dialog_finalize;
}

static void rg_dialog_init(RgDialog *d)
{
    d->last_layer = -1;
}
