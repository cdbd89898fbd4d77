/* widget_events.h — input for widget tests: GdkEvents synthesized and sent
 * through gtk_main_do_event, GTK's own dispatch path, so that drags work
 * (gdk_test_simulate_button cannot drag: docs/gimp_plugin_notes.md 4.3). */
#pragma once

#include <gtk/gtk.h>

/* A toplevel holding @child at exactly @width x @height, shown, with every
 * pending event handled. (transfer full: gtk_widget_destroy) */
GtkWidget *rg_wt_window_new(GtkWidget *child, int width, int height);
void rg_wt_flush(void);

void rg_wt_press(GtkWidget *w, guint button, double x, double y, GdkModifierType state);
void rg_wt_release(GtkWidget *w, guint button, double x, double y, GdkModifierType state);
void rg_wt_motion(GtkWidget *w, double x, double y, GdkModifierType state);
/* Press at (x0, y0), @steps motions to (x1, y1), release there. */
void rg_wt_drag(GtkWidget *w, guint button, double x0, double y0, double x1, double y1, int steps);
void rg_wt_click(GtkWidget *w, guint button, double x, double y);
void rg_wt_scroll(GtkWidget *w, GdkScrollDirection direction, double x, double y);
/* Press and release of @keyval with @state, sent to @w's toplevel as a real key would be. */
void rg_wt_key_press(GtkWidget *w, guint keyval, GdkModifierType state);
void rg_wt_key_release(GtkWidget *w, guint keyval, GdkModifierType state);
void rg_wt_key(GtkWidget *w, guint keyval, GdkModifierType state);
