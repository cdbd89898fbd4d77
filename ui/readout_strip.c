/* readout_strip.c — the live readouts under the canvas. */
#include "readout_strip.h"

struct _RgReadoutStrip {
    GtkBox parent;
    int size;
    GHashTable *slots; /* name -> GtkImage */
    GList *names;      /* in the order they came */
};

G_DEFINE_TYPE(RgReadoutStrip, rg_readout_strip, GTK_TYPE_BOX)

static void rg_readout_strip_finalize(GObject *object)
{
    RgReadoutStrip *s = RG_READOUT_STRIP(object);
    g_hash_table_unref(s->slots);
    g_list_free_full(s->names, g_free);
    G_OBJECT_CLASS(rg_readout_strip_parent_class)->finalize(object);
}

static void rg_readout_strip_class_init(RgReadoutStripClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = rg_readout_strip_finalize;
}

static void rg_readout_strip_init(RgReadoutStrip *s)
{
    s->slots = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

GtkWidget *rg_readout_strip_new(int size)
{
    RgReadoutStrip *s =
        g_object_new(RG_TYPE_READOUT_STRIP, "orientation", GTK_ORIENTATION_HORIZONTAL, "spacing", 6, NULL);
    s->size = MAX(size, 16);
    return GTK_WIDGET(s);
}

/* An RGB(A) or grey image as a pixbuf (copied). */
static GdkPixbuf *image_to_pixbuf(const rg_image *img)
{
    const gboolean alpha = img->channels == 4;
    GdkPixbuf *pb = gdk_pixbuf_new(GDK_COLORSPACE_RGB, alpha, 8, img->width, img->height);
    if (!pb)
        return NULL;
    const int stride = gdk_pixbuf_get_rowstride(pb), out_ch = alpha ? 4 : 3;
    guint8 *dst = gdk_pixbuf_get_pixels(pb);
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            const guint8 *p = img->data + ((size_t)y * img->width + x) * img->channels;
            guint8 *q = dst + (size_t)y * stride + (size_t)x * out_ch;
            for (int c = 0; c < out_ch; c++)
                q[c] = img->channels < 3 ? p[0] : p[c];
        }
    return pb;
}

void rg_readout_strip_set(RgReadoutStrip *s, const char *name, const rg_image *img)
{
    g_return_if_fail(RG_IS_READOUT_STRIP(s) && name && img);
    GtkWidget *picture = g_hash_table_lookup(s->slots, name);
    if (!picture) {
        GtkWidget *slot = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
        picture = gtk_image_new();
        gtk_widget_set_size_request(picture, s->size, s->size);
        gtk_box_pack_start(GTK_BOX(slot), picture, FALSE, FALSE, 0);
        GtkWidget *label = gtk_label_new(name);
        gtk_style_context_add_class(gtk_widget_get_style_context(label), "dim-label");
        gtk_box_pack_start(GTK_BOX(slot), label, FALSE, FALSE, 0);
        gtk_box_pack_start(GTK_BOX(s), slot, FALSE, FALSE, 0);
        gtk_widget_show_all(slot);
        g_hash_table_insert(s->slots, g_strdup(name), picture);
        s->names = g_list_append(s->names, g_strdup(name));
    }
    g_autoptr(GdkPixbuf) pb = image_to_pixbuf(img);
    if (!pb)
        return;
    const double scale = (double)s->size / MAX(img->width, img->height);
    const int w = MAX(1, (int)(img->width * scale + 0.5)), h = MAX(1, (int)(img->height * scale + 0.5));
    g_autoptr(GdkPixbuf) scaled =
        gdk_pixbuf_scale_simple(pb, w, h, scale > 1.0 ? GDK_INTERP_NEAREST : GDK_INTERP_BILINEAR);
    gtk_image_set_from_pixbuf(GTK_IMAGE(picture), scaled);
}

GList *rg_readout_strip_get_names(RgReadoutStrip *s)
{
    return g_list_copy(s->names);
}

void rg_readout_strip_clear(RgReadoutStrip *s)
{
    g_autoptr(GList) children = gtk_container_get_children(GTK_CONTAINER(s));
    for (GList *l = children; l; l = l->next)
        gtk_widget_destroy(l->data);
    g_hash_table_remove_all(s->slots);
    g_list_free_full(s->names, g_free);
    s->names = NULL;
}
