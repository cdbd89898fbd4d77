/* test_dialog.c — the editor dialog on the demo model under Xvfb, with the
 * file host: Run stays disabled with a reason until there is a point, a run
 * makes one new layer through the host while the readout strip and the
 * preview follow it, Cancel stops a run within a step, Ctrl+Return runs, and
 * the settings persist. */
#include <glib/gstdio.h>
#include <string.h>

#include "canvas.h"
#include "dialog.h"
#include "file_host.h"
#include "readout/scene.h"
#include "readout_strip.h"
#include "settings.h"
#include "widget_events.h"

static char *work_dir;

static RgFileHost *scene_host(const char *output_name)
{
    rg_scene s;
    rg_scene_generate(&s, 3);
    g_autoptr(rg_image) rgb = rg_scene_render(&s, NULL, NULL);
    g_autofree char *pattern = g_build_filename(work_dir, output_name, NULL);
    return rg_file_host_new(rg_image_convert(rgb, 4, NULL), pattern);
}

static void write_settings_with_heads(int steps, gint64 seed, const char *heads)
{
    RgSettings s;
    rg_settings_load(&s);
    g_free(s.heads);
    s.heads = g_strdup(heads);
    s.steps = steps;
    s.seed = seed;
    g_free(s.prompt);
    s.prompt = g_strdup("");
    g_assert_true(rg_settings_save(&s, NULL));
    rg_settings_clear(&s);
}

static void write_settings(int steps, gint64 seed)
{
    write_settings_with_heads(steps, seed, "");
}

/* The first widget under @root (expander labels included) that @match accepts. */
static GtkWidget *find(GtkWidget *root, gboolean (*match)(GtkWidget *, const char *), const char *text)
{
    if (!root || match(root, text))
        return root;
    GtkWidget *found = NULL;
    if (GTK_IS_CONTAINER(root)) {
        g_autoptr(GList) children = gtk_container_get_children(GTK_CONTAINER(root));
        for (GList *l = children; l && !found; l = l->next)
            found = find(l->data, match, text);
        if (!found && GTK_IS_EXPANDER(root)) // the expander's child is listed; its label widget is not
            found = find(gtk_expander_get_label_widget(GTK_EXPANDER(root)), match, text);
    }
    return found;
}

static gboolean is_label_reading(GtkWidget *w, const char *text)
{
    return GTK_IS_LABEL(w) && !g_strcmp0(gtk_label_get_text(GTK_LABEL(w)), text);
}

static gboolean is_button_labelled(GtkWidget *w, const char *label)
{
    return GTK_IS_BUTTON(w) && !g_strcmp0(gtk_button_get_label(GTK_BUTTON(w)), label);
}

/* The widget the label reading @text is the mnemonic of. */
static GtkWidget *labelled(GtkWidget *root, const char *text)
{
    GtkWidget *label = find(root, is_label_reading, text);
    return label ? gtk_label_get_mnemonic_widget(GTK_LABEL(label)) : NULL;
}

/* The button labelled @label (with its mnemonic underscore). */
static GtkWidget *button(GtkWidget *root, const char *label)
{
    return find(root, is_button_labelled, label);
}

/* Iterates the main loop until @d is idle (or @max_s passes); the seconds taken. */
static double wait_idle(RgDialog *d, double max_s)
{
    const gint64 start = g_get_monotonic_time();
    while (rg_dialog_is_running(d) && (g_get_monotonic_time() - start) < max_s * 1e6)
        g_main_context_iteration(NULL, TRUE);
    rg_wt_flush();
    return (g_get_monotonic_time() - start) / 1e6;
}

static void test_run_makes_a_layer(void)
{
    write_settings(4, 777);
    g_autoptr(RgFileHost) host = scene_host("run-%d.png");
    RgDialog *d = rg_dialog_new(rg_file_host_get_host(host), RG_JOB_DRAG);
    gtk_widget_show_all(GTK_WIDGET(d));
    g_assert_nonnull(rg_dialog_get_why_invalid(d));
    g_assert_nonnull(strstr(rg_dialog_get_why_invalid(d), "Drag on the picture"));
    g_assert_false(rg_dialog_start(d));

    RgCanvas *canvas = RG_CANVAS(rg_dialog_get_canvas(d));
    rg_canvas_set_points(canvas, (const float[]){30, 30, 36, 30}, 1);
    g_assert_null(rg_dialog_get_why_invalid(d));
    g_assert_true(rg_dialog_start(d));
    g_assert_true(rg_dialog_is_running(d));
    g_assert_false(rg_dialog_start(d)); // one run at a time
    wait_idle(d, 120);
    g_assert_false(rg_dialog_is_running(d));
    g_assert_null(rg_dialog_get_last_error(d));

    GPtrArray *outputs = rg_file_host_get_outputs(host);
    g_assert_cmpuint(outputs->len, ==, 1);
    g_assert_null(rg_dialog_get_why_invalid(d)); // ready for another run
    g_assert_true(gtk_widget_is_sensitive(button(GTK_WIDGET(d), "_Run")));
    g_autoptr(rg_image) result = rg_image_load_png(g_ptr_array_index(outputs, 0), NULL);
    g_assert_nonnull(result);
    g_assert_cmpint(result->width, ==, 64);
    g_assert_cmpint(result->height, ==, 64);
    // the preview followed every step and is gone now
    g_assert_cmpint(rg_file_host_get_preview_count(host), >=, 4);
    g_assert_false(rg_file_host_has_preview(host));

    g_autofree char *shot = g_build_filename(work_dir, "dialog.png", NULL);
    g_assert_true(rg_dialog_save_screenshot(d, shot, NULL));
    g_autoptr(rg_image) picture = rg_image_load_png(shot, NULL);
    g_assert_nonnull(picture);
    g_assert_cmpint(picture->width, >, 300);
    gtk_widget_destroy(GTK_WIDGET(d));
}

static void test_strip_shows_readouts(void)
{
    write_settings(4, 5);
    g_autoptr(RgFileHost) host = scene_host("strip-%d.png");
    RgDialog *d = rg_dialog_new(rg_file_host_get_host(host), RG_JOB_DRAG);
    gtk_widget_show_all(GTK_WIDGET(d));
    rg_canvas_set_points(RG_CANVAS(rg_dialog_get_canvas(d)), (const float[]){20, 20, 24, 26}, 1);
    g_assert_true(rg_dialog_start(d));
    wait_idle(d, 120);
    GtkWidget *strip = gtk_test_find_widget(GTK_WIDGET(d), "Readouts", RG_TYPE_READOUT_STRIP);
    g_assert_nonnull(strip);
    g_autoptr(GList) names = rg_readout_strip_get_names(RG_READOUT_STRIP(strip));
    gboolean predicted = FALSE, correspondence = FALSE;
    for (GList *l = names; l; l = l->next) {
        predicted |= !strcmp(l->data, "predicted");
        correspondence |= !strcmp(l->data, "correspondence");
    }
    g_assert_true(predicted);
    g_assert_true(correspondence);
    gtk_widget_destroy(GTK_WIDGET(d));
}

static void test_cancel_stops_within_a_step(void)
{
    write_settings(400, 1); // minutes of work if nothing stops it
    g_autoptr(RgFileHost) host = scene_host("cancel-%d.png");
    RgDialog *d = rg_dialog_new(rg_file_host_get_host(host), RG_JOB_DRAG);
    gtk_widget_show_all(GTK_WIDGET(d));
    rg_canvas_set_points(RG_CANVAS(rg_dialog_get_canvas(d)), (const float[]){30, 30, 36, 30}, 1);
    g_assert_true(rg_dialog_start(d));
    // let it load the model and take a few steps
    const gint64 start = g_get_monotonic_time();
    while (g_get_monotonic_time() - start < 2 * G_USEC_PER_SEC)
        g_main_context_iteration(NULL, FALSE);
    g_assert_true(rg_dialog_is_running(d));
    g_assert_false(gtk_widget_is_sensitive(button(GTK_WIDGET(d), "_Run")));
    gtk_button_clicked(GTK_BUTTON(button(GTK_WIDGET(d), "C_ancel")));
    const double seconds = wait_idle(d, 60);
    g_assert_false(rg_dialog_is_running(d));
    g_assert_cmpfloat(seconds, <, 10.0);
    g_assert_cmpuint(rg_file_host_get_outputs(host)->len, ==, 0);
    g_assert_null(rg_dialog_get_last_error(d)); // cancelling is no error
    g_assert_false(rg_file_host_has_preview(host));
    gtk_widget_destroy(GTK_WIDGET(d));
}

static void test_close_while_running(void)
{
    write_settings(400, 1);
    g_autoptr(RgFileHost) host = scene_host("close-%d.png");
    RgDialog *d = rg_dialog_new(rg_file_host_get_host(host), RG_JOB_DRAG);
    gtk_widget_show_all(GTK_WIDGET(d));
    rg_canvas_set_points(RG_CANVAS(rg_dialog_get_canvas(d)), (const float[]){30, 30, 36, 30}, 1);
    g_assert_true(rg_dialog_start(d));
    const gint64 start = g_get_monotonic_time();
    while (g_get_monotonic_time() - start < G_USEC_PER_SEC)
        g_main_context_iteration(NULL, FALSE);
    gtk_widget_destroy(GTK_WIDGET(d)); // cancels and waits for the worker
    g_assert_cmpfloat((g_get_monotonic_time() - start) / 1e6, <, 10.0);
    rg_wt_flush(); // late reports find the dialog gone
    g_assert_cmpuint(rg_file_host_get_outputs(host)->len, ==, 0);
    g_assert_false(rg_file_host_has_preview(host));
}

/* A run that fails (heads without the drag's) says why in the dialog and
 * in the host's message area, and makes nothing. */
static void test_failed_run_tells_the_user(void)
{
    g_autofree char *heads = g_build_filename(work_dir, "no-heads", NULL);
    g_mkdir(heads, 0700);
    write_settings_with_heads(4, 1, heads);
    g_autoptr(RgFileHost) host = scene_host("failed-%d.png");
    RgDialog *d = rg_dialog_new(rg_file_host_get_host(host), RG_JOB_DRAG);
    gtk_widget_show_all(GTK_WIDGET(d));
    rg_canvas_set_points(RG_CANVAS(rg_dialog_get_canvas(d)), (const float[]){30, 30, 36, 30}, 1);
    g_assert_true(rg_dialog_start(d));
    wait_idle(d, 60);
    g_assert_nonnull(rg_dialog_get_last_error(d));
    g_assert_nonnull(strstr(rg_dialog_get_last_error(d), "appearance"));
    g_assert_cmpstr(rg_file_host_get_last_message(host), ==, rg_dialog_get_last_error(d));
    g_assert_cmpuint(rg_file_host_get_outputs(host)->len, ==, 0);
    gtk_widget_destroy(GTK_WIDGET(d));
    g_rmdir(heads);
    write_settings(4, 1);
}

static rg_image *refuse_source(RgHost *host, int id, GError **error)
{
    (void)host;
    (void)id;
    g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "the layer is too large to read");
    return NULL;
}

/* A layer the host cannot read leaves the dialog open with the reason and Run disabled. */
static void test_unreadable_layer(void)
{
    g_autoptr(RgFileHost) host = scene_host("unreadable-%d.png");
    RgHost *h = rg_file_host_get_host(host);
    RgHostOps ops = *h->ops;
    ops.read_layer = refuse_source;
    h->ops = &ops;
    const rg_job_kind kinds[] = {RG_JOB_DRAG, RG_JOB_IDENTITY, RG_JOB_POSE};
    for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
        RgDialog *d = rg_dialog_new(h, kinds[k]);
        gtk_widget_show_all(GTK_WIDGET(d));
        g_assert_cmpstr(rg_dialog_get_why_invalid(d), ==, "the layer is too large to read");
        g_assert_false(rg_dialog_start(d));
        gtk_widget_destroy(GTK_WIDGET(d));
    }
}

static void test_keys_and_settings_persist(void)
{
    write_settings(4, 31);
    g_autoptr(RgFileHost) host = scene_host("keys-%d.png");
    RgDialog *d = rg_dialog_new(rg_file_host_get_host(host), RG_JOB_DRAG);
    gtk_widget_show_all(GTK_WIDGET(d));
    rg_wt_flush();
    rg_canvas_set_points(RG_CANVAS(rg_dialog_get_canvas(d)), (const float[]){30, 30, 36, 30}, 1);
    rg_wt_key_press(GTK_WIDGET(d), GDK_KEY_Return, GDK_CONTROL_MASK);
    g_assert_true(rg_dialog_is_running(d));
    wait_idle(d, 120);
    g_assert_cmpuint(rg_file_host_get_outputs(host)->len, ==, 1);
    g_autofree char *name = g_path_get_basename(g_ptr_array_index(rg_file_host_get_outputs(host), 0));
    g_assert_cmpstr(name, ==, "keys-1.png");

    GtkWidget *steps = labelled(GTK_WIDGET(d), "Steps");
    g_assert_true(GTK_IS_SPIN_BUTTON(steps));
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(steps), 9);
    GtkWidget *prompt = labelled(GTK_WIDGET(d), "Prompt");
    g_assert_true(GTK_IS_ENTRY(prompt));
    gtk_entry_set_text(GTK_ENTRY(prompt), "a red ball");
    rg_wt_key_press(GTK_WIDGET(d), GDK_KEY_Escape, 0); // closes an idle dialog, saving the settings
    rg_wt_flush();
    RgSettings s;
    rg_settings_load(&s);
    g_assert_cmpint(s.steps, ==, 9);
    g_assert_cmpstr(s.prompt, ==, "a red ball");
    g_assert_cmpint(s.seed, ==, 31);
    rg_settings_clear(&s);
}

static void test_identity_and_pose_dialogs(void)
{
    write_settings(4, 2);
    g_autoptr(RgFileHost) host = scene_host("other-%d.png");
    RgDialog *id = rg_dialog_new(rg_file_host_get_host(host), RG_JOB_IDENTITY);
    g_assert_nonnull(strstr(rg_dialog_get_why_invalid(id), "reference"));
    gtk_widget_destroy(GTK_WIDGET(id));

    rg_scene s;
    rg_scene_generate(&s, 11);
    rg_file_host_add_layer(host, "reference", rg_scene_render(&s, NULL, NULL));
    id = rg_dialog_new(rg_file_host_get_host(host), RG_JOB_IDENTITY);
    g_assert_nonnull(strstr(rg_dialog_get_why_invalid(id), "prompt"));
    gtk_widget_destroy(GTK_WIDGET(id));

    RgDialog *pose = rg_dialog_new(rg_file_host_get_host(host), RG_JOB_POSE);
    g_assert_nonnull(rg_dialog_get_pose_editor(pose));
    g_assert_nonnull(strstr(rg_dialog_get_why_invalid(pose), "prompt"));
    gtk_widget_destroy(GTK_WIDGET(pose));

    // with a prompt both run to a new layer of the source's size: identity
    // from the picked reference, pose fill from the skeleton drawn in the editor
    RgDialog *dialogs[] = {rg_dialog_new(rg_file_host_get_host(host), RG_JOB_IDENTITY),
                           rg_dialog_new(rg_file_host_get_host(host), RG_JOB_POSE)};
    for (size_t k = 0; k < G_N_ELEMENTS(dialogs); k++) {
        gtk_widget_show_all(GTK_WIDGET(dialogs[k]));
        gtk_entry_set_text(GTK_ENTRY(labelled(GTK_WIDGET(dialogs[k]), "Prompt")), "a red star");
        g_assert_null(rg_dialog_get_why_invalid(dialogs[k]));
        g_assert_true(rg_dialog_start(dialogs[k]));
        wait_idle(dialogs[k], 120);
        g_assert_null(rg_dialog_get_last_error(dialogs[k]));
        g_assert_cmpuint(rg_file_host_get_outputs(host)->len, ==, k + 1);
        g_autoptr(rg_image) out = rg_image_load_png(g_ptr_array_index(rg_file_host_get_outputs(host), k), NULL);
        g_assert_cmpint(out->width, ==, 64);
        g_assert_cmpint(out->height, ==, 64);
        gtk_widget_destroy(GTK_WIDGET(dialogs[k]));
    }
}

int main(int argc, char **argv)
{
    gtk_test_init(&argc, &argv, NULL);
    work_dir = g_dir_make_tmp("readout-dialog-XXXXXX", NULL);
    g_setenv("READOUT_CONFIG_DIR", work_dir, TRUE);
    g_test_add_func("/dialog/run-makes-a-layer", test_run_makes_a_layer);
    g_test_add_func("/dialog/strip-shows-readouts", test_strip_shows_readouts);
    g_test_add_func("/dialog/cancel-stops-within-a-step", test_cancel_stops_within_a_step);
    g_test_add_func("/dialog/close-while-running", test_close_while_running);
    g_test_add_func("/dialog/failed-run-tells-the-user", test_failed_run_tells_the_user);
    g_test_add_func("/dialog/unreadable-layer", test_unreadable_layer);
    g_test_add_func("/dialog/keys-and-settings-persist", test_keys_and_settings_persist);
    g_test_add_func("/dialog/identity-and-pose-dialogs", test_identity_and_pose_dialogs);
    const int rc = g_test_run();
    g_autoptr(GDir) dir = g_dir_open(work_dir, 0, NULL);
    for (const char *f; dir && (f = g_dir_read_name(dir));) {
        g_autofree char *path = g_build_filename(work_dir, f, NULL);
        g_unlink(path);
    }
    g_rmdir(work_dir);
    g_free(work_dir);
    return rc;
}
