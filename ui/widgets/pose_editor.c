/* pose_editor.c — RgPoseEditor: the skeleton over a dimmed picture, fitted
 * to the widget; joints are dragged with the left button and hidden or shown
 * with the right one. "changed" is emitted when a drag ends or a joint is
 * toggled, and when a pose is loaded from a map. */
#include "pose_editor.h"

#include <math.h>

#include "image_surface.h"

/* The frame used until a background is set. */
#define DEFAULT_SIZE 512
/* How far from a joint, in widget pixels, a press still takes it. */
#define HIT_RADIUS 10.0
#define JOINT_RADIUS 5.0

struct _RgPoseEditor {
    GtkDrawingArea parent;
    cairo_surface_t *background; /* or NULL */
    int width, height;           /* the pose's frame: the background's size */
    RgPose pose;
    gboolean pose_set;       /* else the default pose follows the frame's size */
    int drag;                /* the joint being dragged, or -1 */
    double grab_dx, grab_dy; /* image offset from the pointer to the dragged joint */
    int hover;               /* the joint under the pointer, or -1 */
};

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE(RgPoseEditor, rg_pose_editor, GTK_TYPE_DRAWING_AREA)

/* Widget = offset + image * scale, the frame fitted and centred. */
static void view(RgPoseEditor *e, double *scale, double *ox, double *oy)
{
    double aw = gtk_widget_get_allocated_width(GTK_WIDGET(e));
    double ah = gtk_widget_get_allocated_height(GTK_WIDGET(e));
    double s = MIN(aw / e->width, ah / e->height);
    if (!(s > 0.0))
        s = 1.0;
    *scale = s;
    *ox = 0.5 * (aw - s * e->width);
    *oy = 0.5 * (ah - s * e->height);
}

void rg_pose_editor_image_to_widget(RgPoseEditor *e, double ix, double iy, double *wx, double *wy)
{
    g_return_if_fail(RG_IS_POSE_EDITOR(e));
    double s, ox, oy;
    view(e, &s, &ox, &oy);
    if (wx)
        *wx = ox + ix * s;
    if (wy)
        *wy = oy + iy * s;
}

static void widget_to_image(RgPoseEditor *e, double wx, double wy, double *ix, double *iy)
{
    double s, ox, oy;
    view(e, &s, &ox, &oy);
    *ix = (wx - ox) / s;
    *iy = (wy - oy) / s;
}

/* The joint drawn nearest (wx, wy) within HIT_RADIUS, or -1. */
static int hit_joint(RgPoseEditor *e, double wx, double wy)
{
    int best = -1;
    double best_d2 = HIT_RADIUS * HIT_RADIUS;
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        double jx, jy;
        rg_pose_editor_image_to_widget(e, e->pose.x[j], e->pose.y[j], &jx, &jy);
        double d2 = (jx - wx) * (jx - wx) + (jy - wy) * (jy - wy);
        if (d2 <= best_d2) {
            best_d2 = d2;
            best = j;
        }
    }
    return best;
}

static void set_rgb(cairo_t *cr, const guint8 rgb[3], double alpha)
{
    cairo_set_source_rgba(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0, alpha);
}

static void draw_skeleton(RgPoseEditor *e, cairo_t *cr)
{
    const RgPose *p = &e->pose;
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_width(cr, 4.0);
    for (int l = 0; l < RG_POSE_N_LIMBS; l++) {
        int a, b;
        guint8 rgb[3];
        rg_pose_limb(l, &a, &b, rgb);
        if (!p->visible[a] || !p->visible[b])
            continue;
        double ax, ay, bx, by;
        rg_pose_editor_image_to_widget(e, p->x[a], p->y[a], &ax, &ay);
        rg_pose_editor_image_to_widget(e, p->x[b], p->y[b], &bx, &by);
        set_rgb(cr, rgb, 0.6);
        cairo_move_to(cr, ax, ay);
        cairo_line_to(cr, bx, by);
        cairo_stroke(cr);
    }
    cairo_set_line_width(cr, 1.5);
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        double x, y;
        guint8 rgb[3];
        rg_pose_editor_image_to_widget(e, p->x[j], p->y[j], &x, &y);
        rg_pose_joint_color(j, rgb);
        double r = j == e->hover || j == e->drag ? JOINT_RADIUS + 2.0 : JOINT_RADIUS;
        cairo_arc(cr, x, y, r, 0.0, 2.0 * G_PI);
        // A hidden joint stays visible as a ring, so that it can be shown again.
        if (p->visible[j]) {
            set_rgb(cr, rgb, 1.0);
            cairo_fill_preserve(cr);
            cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
        } else {
            set_rgb(cr, rgb, 0.7);
        }
        cairo_stroke(cr);
    }
}

static gboolean rg_pose_editor_draw(GtkWidget *widget, cairo_t *cr)
{
    RgPoseEditor *e = RG_POSE_EDITOR(widget);
    double s, ox, oy;
    view(e, &s, &ox, &oy);
    cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
    cairo_paint(cr);
    cairo_rectangle(cr, ox, oy, s * e->width, s * e->height);
    cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
    cairo_fill(cr);
    if (e->background) {
        cairo_save(cr);
        cairo_translate(cr, ox, oy);
        cairo_scale(cr, s, s);
        cairo_set_source_surface(cr, e->background, 0.0, 0.0);
        // Dimmed, so that the skeleton's colours stand out on any picture.
        cairo_paint_with_alpha(cr, 0.45);
        cairo_restore(cr);
    }
    draw_skeleton(e, cr);
    return FALSE;
}

static gboolean rg_pose_editor_button_press(GtkWidget *widget, GdkEventButton *ev)
{
    RgPoseEditor *e = RG_POSE_EDITOR(widget);
    if (ev->type != GDK_BUTTON_PRESS)
        return FALSE;
    int j = hit_joint(e, ev->x, ev->y);
    if (j < 0)
        return FALSE;
    if (ev->button == GDK_BUTTON_PRIMARY) {
        // The joint keeps its offset from the pointer instead of jumping to it.
        double ix, iy;
        widget_to_image(e, ev->x, ev->y, &ix, &iy);
        e->grab_dx = e->pose.x[j] - ix;
        e->grab_dy = e->pose.y[j] - iy;
        e->drag = j;
        e->pose_set = TRUE;
    } else if (ev->button == GDK_BUTTON_SECONDARY) {
        e->pose.visible[j] = !e->pose.visible[j];
        e->pose_set = TRUE;
        g_signal_emit(e, signals[SIGNAL_CHANGED], 0);
    }
    gtk_widget_queue_draw(widget);
    return TRUE;
}

static gboolean rg_pose_editor_motion(GtkWidget *widget, GdkEventMotion *ev)
{
    RgPoseEditor *e = RG_POSE_EDITOR(widget);
    if (e->drag >= 0) {
        double ix, iy;
        widget_to_image(e, ev->x, ev->y, &ix, &iy);
        e->pose.x[e->drag] = (float)CLAMP(ix + e->grab_dx, 0.0, (double)e->width);
        e->pose.y[e->drag] = (float)CLAMP(iy + e->grab_dy, 0.0, (double)e->height);
        gtk_widget_queue_draw(widget);
        return TRUE;
    }
    int hover = hit_joint(e, ev->x, ev->y);
    if (hover != e->hover) {
        e->hover = hover;
        gtk_widget_trigger_tooltip_query(widget);
        gtk_widget_queue_draw(widget);
    }
    return FALSE;
}

static gboolean rg_pose_editor_button_release(GtkWidget *widget, GdkEventButton *ev)
{
    RgPoseEditor *e = RG_POSE_EDITOR(widget);
    if (ev->button != GDK_BUTTON_PRIMARY || e->drag < 0)
        return FALSE;
    e->drag = -1;
    gtk_widget_queue_draw(widget);
    g_signal_emit(e, signals[SIGNAL_CHANGED], 0);
    return TRUE;
}

static gboolean rg_pose_editor_query_tooltip(GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tip)
{
    int j = keyboard ? -1 : hit_joint(RG_POSE_EDITOR(widget), x, y);
    if (j < 0)
        return FALSE;
    gtk_tooltip_set_text(tip, rg_pose_joint_name(j));
    return TRUE;
}

static void rg_pose_editor_get_preferred_width(GtkWidget *widget, int *minimum, int *natural)
{
    *minimum = 64;
    *natural = 384;
}

static void rg_pose_editor_get_preferred_height(GtkWidget *widget, int *minimum, int *natural)
{
    *minimum = 64;
    *natural = 384;
}

static void rg_pose_editor_finalize(GObject *object)
{
    RgPoseEditor *e = RG_POSE_EDITOR(object);
    g_clear_pointer(&e->background, cairo_surface_destroy);
    G_OBJECT_CLASS(rg_pose_editor_parent_class)->finalize(object);
}

static void rg_pose_editor_class_init(RgPoseEditorClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    object_class->finalize = rg_pose_editor_finalize;
    widget_class->draw = rg_pose_editor_draw;
    widget_class->button_press_event = rg_pose_editor_button_press;
    widget_class->button_release_event = rg_pose_editor_button_release;
    widget_class->motion_notify_event = rg_pose_editor_motion;
    widget_class->query_tooltip = rg_pose_editor_query_tooltip;
    widget_class->get_preferred_width = rg_pose_editor_get_preferred_width;
    widget_class->get_preferred_height = rg_pose_editor_get_preferred_height;
    signals[SIGNAL_CHANGED] =
        g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void rg_pose_editor_init(RgPoseEditor *e)
{
    e->width = e->height = DEFAULT_SIZE;
    e->drag = e->hover = -1;
    rg_pose_init_default(&e->pose, e->width, e->height);
    gtk_widget_add_events(GTK_WIDGET(e), GDK_BUTTON_PRESS_MASK | GDK_BUTTON_RELEASE_MASK | GDK_POINTER_MOTION_MASK);
    gtk_widget_set_has_tooltip(GTK_WIDGET(e), TRUE);
}

GtkWidget *rg_pose_editor_new(void)
{
    return g_object_new(RG_TYPE_POSE_EDITOR, NULL);
}

void rg_pose_editor_set_background(RgPoseEditor *e, const rg_image *img)
{
    g_return_if_fail(RG_IS_POSE_EDITOR(e));
    g_clear_pointer(&e->background, cairo_surface_destroy);
    int w = img ? img->width : DEFAULT_SIZE, h = img ? img->height : DEFAULT_SIZE;
    e->background = rg_image_surface_new(img);
    if (w != e->width || h != e->height) {
        // A pose the user made follows the picture; the default one is remade for it.
        if (e->pose_set) {
            for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
                e->pose.x[j] *= (float)w / (float)e->width;
                e->pose.y[j] *= (float)h / (float)e->height;
            }
        } else {
            rg_pose_init_default(&e->pose, w, h);
        }
        e->width = w;
        e->height = h;
    }
    gtk_widget_queue_draw(GTK_WIDGET(e));
}

void rg_pose_editor_set_pose(RgPoseEditor *e, const RgPose *pose)
{
    g_return_if_fail(RG_IS_POSE_EDITOR(e) && pose != NULL);
    e->pose = *pose;
    e->pose_set = TRUE;
    e->drag = -1;
    gtk_widget_queue_draw(GTK_WIDGET(e));
}

void rg_pose_editor_get_pose(RgPoseEditor *e, RgPose *pose)
{
    g_return_if_fail(RG_IS_POSE_EDITOR(e) && pose != NULL);
    *pose = e->pose;
}

gboolean rg_pose_editor_load_map(RgPoseEditor *e, const rg_image *map, GError **error)
{
    g_return_val_if_fail(RG_IS_POSE_EDITOR(e) && map != NULL, FALSE);
    RgPose found;
    if (!rg_pose_from_map(&found, map, error))
        return FALSE;
    // Joints missing from the map stay where they were, hidden.
    double sx = (double)e->width / map->width, sy = (double)e->height / map->height;
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        e->pose.visible[j] = found.visible[j];
        if (found.visible[j]) {
            e->pose.x[j] = (float)(found.x[j] * sx);
            e->pose.y[j] = (float)(found.y[j] * sy);
        }
    }
    e->pose_set = TRUE;
    e->drag = -1;
    gtk_widget_queue_draw(GTK_WIDGET(e));
    g_signal_emit(e, signals[SIGNAL_CHANGED], 0);
    return TRUE;
}

rg_image *rg_pose_editor_render_map(RgPoseEditor *e, GError **error)
{
    g_return_val_if_fail(RG_IS_POSE_EDITOR(e), NULL);
    return rg_pose_render(&e->pose, e->width, e->height, error);
}
