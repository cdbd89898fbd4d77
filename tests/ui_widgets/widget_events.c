/* widget_events.c — see widget_events.h. */
#include "widget_events.h"

void rg_wt_flush(void)
{
    while (gtk_events_pending())
        gtk_main_iteration();
}

GtkWidget *rg_wt_window_new(GtkWidget *child, int width, int height)
{
    GtkWidget *window = gtk_window_new(GTK_WINDOW_TOPLEVEL);
    // The minimum and the window's size both, as the widget's natural size may differ.
    gtk_widget_set_size_request(child, width, height);
    gtk_window_set_default_size(GTK_WINDOW(window), width, height);
    gtk_container_add(GTK_CONTAINER(window), child);
    gtk_widget_show_all(window);
    // Mapping and the first allocation arrive as events; wait for both.
    for (int i = 0; i < 1000 && (gtk_widget_get_allocated_width(child) != width || !gtk_widget_get_mapped(child));
         i++) {
        rg_wt_flush();
        g_usleep(1000);
    }
    g_assert_cmpint(gtk_widget_get_allocated_width(child), ==, width);
    g_assert_cmpint(gtk_widget_get_allocated_height(child), ==, height);
    return window;
}

static GdkDevice *pointer(void)
{
    return gdk_seat_get_pointer(gdk_display_get_default_seat(gdk_display_get_default()));
}

static void send(GdkEvent *e)
{
    gtk_main_do_event(e);
    gdk_event_free(e);
}

static GdkModifierType button_mask(guint button)
{
    return button == 1 ? GDK_BUTTON1_MASK : button == 2 ? GDK_BUTTON2_MASK : GDK_BUTTON3_MASK;
}

static void button(GtkWidget *w, GdkEventType type, guint b, double x, double y, GdkModifierType state)
{
    GdkEvent *e = gdk_event_new(type);
    e->button.window = g_object_ref(gtk_widget_get_window(w));
    e->button.time = GDK_CURRENT_TIME;
    e->button.x = x;
    e->button.y = y;
    e->button.button = b;
    e->button.state = state;
    gdk_event_set_device(e, pointer());
    send(e);
}

void rg_wt_press(GtkWidget *w, guint b, double x, double y, GdkModifierType state)
{
    button(w, GDK_BUTTON_PRESS, b, x, y, state);
}

void rg_wt_release(GtkWidget *w, guint b, double x, double y, GdkModifierType state)
{
    button(w, GDK_BUTTON_RELEASE, b, x, y, state | button_mask(b));
}

void rg_wt_motion(GtkWidget *w, double x, double y, GdkModifierType state)
{
    GdkEvent *e = gdk_event_new(GDK_MOTION_NOTIFY);
    e->motion.window = g_object_ref(gtk_widget_get_window(w));
    e->motion.time = GDK_CURRENT_TIME;
    e->motion.x = x;
    e->motion.y = y;
    e->motion.state = state;
    gdk_event_set_device(e, pointer());
    send(e);
}

void rg_wt_drag(GtkWidget *w, guint b, double x0, double y0, double x1, double y1, int steps)
{
    rg_wt_press(w, b, x0, y0, 0);
    for (int i = 1; i <= steps; i++)
        rg_wt_motion(w, x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps, button_mask(b));
    rg_wt_release(w, b, x1, y1, 0);
}

void rg_wt_click(GtkWidget *w, guint b, double x, double y)
{
    rg_wt_press(w, b, x, y, 0);
    rg_wt_release(w, b, x, y, 0);
}

void rg_wt_scroll(GtkWidget *w, GdkScrollDirection direction, double x, double y)
{
    GdkEvent *e = gdk_event_new(GDK_SCROLL);
    e->scroll.window = g_object_ref(gtk_widget_get_window(w));
    e->scroll.time = GDK_CURRENT_TIME;
    e->scroll.x = x;
    e->scroll.y = y;
    e->scroll.direction = direction;
    gdk_event_set_device(e, pointer());
    send(e);
}

static void key(GtkWidget *w, GdkEventType type, guint keyval, GdkModifierType state)
{
    GdkEvent *e = gdk_event_new(type);
    e->key.window = g_object_ref(gtk_widget_get_window(gtk_widget_get_toplevel(w)));
    e->key.time = GDK_CURRENT_TIME;
    e->key.keyval = keyval;
    e->key.state = state;
    GdkKeymapKey *keys = NULL;
    int n = 0;
    if (gdk_keymap_get_entries_for_keyval(gdk_keymap_get_for_display(gdk_display_get_default()), keyval, &keys, &n) &&
        n > 0)
        e->key.hardware_keycode = (guint16)keys[0].keycode;
    g_free(keys);
    gdk_event_set_device(e, gdk_seat_get_keyboard(gdk_display_get_default_seat(gdk_display_get_default())));
    send(e);
}

void rg_wt_key_press(GtkWidget *w, guint keyval, GdkModifierType state)
{
    key(w, GDK_KEY_PRESS, keyval, state);
}

void rg_wt_key_release(GtkWidget *w, guint keyval, GdkModifierType state)
{
    key(w, GDK_KEY_RELEASE, keyval, state);
}

void rg_wt_key(GtkWidget *w, guint keyval, GdkModifierType state)
{
    rg_wt_key_press(w, keyval, state);
    rg_wt_key_release(w, keyval, state);
}
