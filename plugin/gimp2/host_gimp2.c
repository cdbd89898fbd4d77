/* host_gimp2.c — RgHostOps on libgimp-2.0: layers in and out through GEGL,
 * the selection as a mask, the locked preview layer, undo and progress. */
#include "host_gimp2.h"

#include "i18n.h"
#include "procedures.h"
#include "readout/image.h"

typedef struct {
    RgHost parent;
    gint32 image, drawable;
    gboolean interactive;
    gint32 preview; /* the "[Preview]" layer, -1 when there is none */
    int undo_depth; /* undo groups opened and not yet closed */
} Gimp2Host;

static Gimp2Host *gimp2(RgHost *host)
{
    return (Gimp2Host *)host;
}

static void flush(Gimp2Host *h)
{
    if (h->interactive)
        gimp_displays_flush();
}

static void source_size(RgHost *host, int *width, int *height)
{
    Gimp2Host *h = gimp2(host);
    *width = gimp_drawable_width(h->drawable);
    *height = gimp_drawable_height(h->drawable);
}

/* GEGL converts from and to the drawable's own format (any precision, grey or
 * RGB, with or without alpha) when it is handed one of these. */
static const Babl *format_for(int channels)
{
    switch (channels) {
    case 1:
        return babl_format("Y' u8");
    case 3:
        return babl_format("R'G'B' u8");
    default:
        return babl_format("R'G'B'A u8");
    }
}

static rg_image *read_layer(RgHost *host, int id, GError **error)
{
    Gimp2Host *h = gimp2(host);
    gint32 drawable = id == RG_HOST_SOURCE ? h->drawable : id;
    if (!gimp_item_is_valid(drawable) || !gimp_item_is_drawable(drawable)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, _("Layer %d does not exist or holds no pixels."), id);
        return NULL;
    }
    int w = gimp_drawable_width(drawable), hgt = gimp_drawable_height(drawable);
    rg_image *img = rg_image_new(w, hgt, 4, error);
    if (!img)
        return NULL;
    GeglBuffer *buffer = gimp_drawable_get_buffer(drawable);
    /* The buffer is in the drawable's own coordinates: (0, 0) is its top-left
     * corner whatever its offsets in the image. */
    gegl_buffer_get(buffer, GEGL_RECTANGLE(0, 0, w, hgt), 1.0, format_for(4), img->data, GEGL_AUTO_ROWSTRIDE,
                    GEGL_ABYSS_NONE);
    g_object_unref(buffer);
    return img;
}

static void add_layers(Gimp2Host *h, GArray *out, const gint *ids, int n)
{
    for (int i = 0; i < n; i++) {
        if (ids[i] == h->drawable || ids[i] == h->preview)
            continue;
        if (gimp_item_is_group(ids[i])) {
            /* A group's pixels are only its children's mix; offer the children. */
            int n_children = 0;
            g_autofree gint *children = gimp_item_get_children(ids[i], &n_children);
            add_layers(h, out, children, n_children);
            continue;
        }
        RgHostLayer layer = {
            .id = ids[i],
            .name = gimp_item_get_name(ids[i]),
            .width = gimp_drawable_width(ids[i]),
            .height = gimp_drawable_height(ids[i]),
        };
        g_array_append_val(out, layer);
    }
}

static GArray *list_layers(RgHost *host)
{
    Gimp2Host *h = gimp2(host);
    GArray *out = g_array_new(FALSE, TRUE, sizeof(RgHostLayer));
    int n = 0;
    g_autofree gint *ids = gimp_image_get_layers(h->image, &n);
    add_layers(h, out, ids, n);
    return out;
}

static rg_image *read_selection(RgHost *host, GError **error)
{
    Gimp2Host *h = gimp2(host);
    if (gimp_selection_is_empty(h->image))
        return NULL;
    int ox = 0, oy = 0, w = gimp_drawable_width(h->drawable), hgt = gimp_drawable_height(h->drawable);
    gimp_drawable_offsets(h->drawable, &ox, &oy);
    rg_image *mask = rg_image_new(w, hgt, 1, error);
    if (!mask)
        return NULL;
    /* The selection channel covers the image; the source layer may stick out
     * of it (offsets, a larger layer): outside the image is unselected, which
     * GEGL_ABYSS_NONE gives as zeros. */
    GeglBuffer *buffer = gimp_drawable_get_buffer(gimp_image_get_selection(h->image));
    gegl_buffer_get(buffer, GEGL_RECTANGLE(ox, oy, w, hgt), 1.0, babl_format("Y u8"), mask->data, GEGL_AUTO_ROWSTRIDE,
                    GEGL_ABYSS_NONE);
    g_object_unref(buffer);
    return mask;
}

static void undo_group(RgHost *host, gboolean begin)
{
    Gimp2Host *h = gimp2(host);
    if (begin) {
        gimp_image_undo_group_start(h->image);
        h->undo_depth++;
    } else if (h->undo_depth > 0) {
        gimp_image_undo_group_end(h->image);
        h->undo_depth--;
    }
}

/* Where a new layer goes so that it sits right above the source: the
 * source's parent and position. A layer mask counts as its layer; a channel
 * as the top of the image. */
static void above_source(Gimp2Host *h, gint32 *parent, int *position)
{
    gint32 anchor = h->drawable;
    if (gimp_item_is_layer_mask(anchor))
        anchor = gimp_layer_from_mask(anchor);
    *parent = -1;
    *position = 0;
    if (gimp_item_is_layer(anchor)) {
        gint32 p = gimp_item_get_parent(anchor);
        *parent = p > 0 ? p : -1;
        *position = gimp_image_get_item_position(h->image, anchor);
    }
}

/* A layer of the source's size, type and offsets, not yet in the image. */
static gint32 new_source_sized_layer(Gimp2Host *h, const char *name)
{
    int ox = 0, oy = 0, w = gimp_drawable_width(h->drawable), hgt = gimp_drawable_height(h->drawable);
    gimp_drawable_offsets(h->drawable, &ox, &oy);
    /* From the image's base type rather than the drawable's: a channel or a
     * mask is grey even in an RGB image, and the new layer must fit the image. */
    GimpImageType type = gimp_image_base_type(h->image) == GIMP_GRAY ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE;
    gint32 layer = gimp_layer_new(h->image, name, w, hgt, type, 100.0, GIMP_LAYER_MODE_NORMAL);
    if (layer > 0)
        gimp_layer_set_offsets(layer, ox, oy);
    return layer;
}

static void write_pixels(gint32 drawable, const rg_image *pixels)
{
    GeglBuffer *buffer = gimp_drawable_get_buffer(drawable);
    gegl_buffer_set(buffer, GEGL_RECTANGLE(0, 0, pixels->width, pixels->height), 0, format_for(pixels->channels),
                    pixels->data, GEGL_AUTO_ROWSTRIDE);
    /* The last reference flushes the tiles to the core. */
    g_object_unref(buffer);
    gimp_drawable_update(drawable, 0, 0, pixels->width, pixels->height);
}

static int new_layer(RgHost *host, const char *name, const rg_image *pixels, GError **error)
{
    Gimp2Host *h = gimp2(host);
    g_autoptr(rg_image) fitted = rg_plugin_fit_to_source(host, pixels, error);
    if (!fitted)
        return -1;
    gint32 layer = new_source_sized_layer(h, name);
    gint32 parent;
    int position;
    above_source(h, &parent, &position);
    if (layer <= 0 || !gimp_image_insert_layer(h->image, layer, parent, position)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FAILED, _("GIMP could not add the layer \"%s\"."), name);
        return -1;
    }
    write_pixels(layer, fitted);
    flush(h);
    return layer;
}

static void remove_preview(Gimp2Host *h)
{
    if (h->preview > 0 && gimp_item_is_valid(h->preview)) {
        gimp_image_undo_freeze(h->image);
        gimp_image_remove_layer(h->image, h->preview);
        gimp_image_undo_thaw(h->image);
        flush(h);
    }
    h->preview = -1;
}

static void show_preview(RgHost *host, const rg_image *pixels)
{
    Gimp2Host *h = gimp2(host);
    if (!pixels) {
        remove_preview(h);
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(rg_image) fitted = rg_plugin_fit_to_source(host, pixels, &error);
    if (!fitted) {
        g_warning("preview: %s", error->message);
        return;
    }
    /* The preview comes and goes many times while the dialog is open; none of
     * it belongs in the image's undo history. */
    gimp_image_undo_freeze(h->image);
    if (h->preview <= 0 || !gimp_item_is_valid(h->preview)) {
        /* On top of the whole image, so nothing hides it. */
        h->preview = new_source_sized_layer(h, _("[Preview]"));
        if (h->preview <= 0 || !gimp_image_insert_layer(h->image, h->preview, -1, 0))
            h->preview = -1;
        else
            gimp_item_set_lock_position(h->preview, TRUE);
    }
    if (h->preview > 0) {
        /* GIMP refuses pixels written to a content-locked drawable, so the
         * lock (which keeps the user's brushes off it) is lifted meanwhile. */
        gimp_item_set_lock_content(h->preview, FALSE);
        write_pixels(h->preview, fitted);
        gimp_item_set_lock_content(h->preview, TRUE);
    }
    gimp_image_undo_thaw(h->image);
    flush(h);
}

static void progress(RgHost *host, double fraction, const char *text)
{
    (void)host;
    /* An update first: it starts the status-bar progress when none is
     * running, and GIMP drops a text set before that. */
    gimp_progress_update(CLAMP(fraction, 0.0, 1.0));
    if (text)
        gimp_progress_set_text(text);
}

static guint64 transient_window(RgHost *host)
{
    (void)host;
    /* From a menu this is the invoking image window; from a batch script
     * there is no display and the dialog stands alone. */
    gint32 display = gimp_default_display();
    if (display <= 0 || !gimp_display_is_valid(display))
        return 0;
    int handle = gimp_display_get_window_handle(display);
    return handle > 0 ? (guint64)handle : 0;
}

/* A failed run from the dialog also goes to GIMP's message area (the error
 * console or a message box, as the user set it up). */
static void message(RgHost *host, const char *text)
{
    (void)host;
    gimp_message(text);
}

static const RgHostOps gimp2_ops = {
    .source_size = source_size,
    .read_layer = read_layer,
    .list_layers = list_layers,
    .read_selection = read_selection,
    .undo_group = undo_group,
    .new_layer = new_layer,
    .show_preview = show_preview,
    .progress = progress,
    .message = message,
    .transient_window = transient_window,
};

RgHost *rg_gimp2_host_new(gint32 image, gint32 drawable, gboolean interactive)
{
    Gimp2Host *h = g_new0(Gimp2Host, 1);
    h->parent.ops = &gimp2_ops;
    h->image = image;
    h->drawable = drawable;
    h->interactive = interactive;
    h->preview = -1;
    return &h->parent;
}

void rg_gimp2_host_free(RgHost *host)
{
    if (!host)
        return;
    Gimp2Host *h = gimp2(host);
    remove_preview(h);
    while (h->undo_depth > 0)
        undo_group(host, FALSE);
    g_free(h);
}
