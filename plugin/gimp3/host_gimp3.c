/* host_gimp3.c — RgHostOps on libgimp-3.0: layers in and out through GEGL in
 * the drawables' own colour space, the selection as a mask, the locked
 * preview layer, undo and progress. */
#include "host_gimp3.h"

#include "i18n.h"
#include "procedures.h"
#include "readout/image.h"

typedef struct {
    RgHost parent;
    GimpImage *image;
    GimpDrawable *drawable;
    gboolean interactive;
    GimpLayer *preview; /* the "[Preview]" layer, NULL when there is none */
    int undo_depth;     /* undo groups opened and not yet closed */
} Gimp3Host;

static Gimp3Host *gimp3(RgHost *host)
{
    return (Gimp3Host *)host;
}

static void flush(Gimp3Host *h)
{
    if (h->interactive)
        gimp_displays_flush();
}

static void source_size(RgHost *host, int *width, int *height)
{
    Gimp3Host *h = gimp3(host);
    *width = gimp_drawable_get_width(h->drawable);
    *height = gimp_drawable_get_height(h->drawable);
}

/* 8-bit samples in @drawable's own colour space: GEGL converts from and to
 * the drawable's precision, grey or RGB, with or without alpha, but the
 * values stay those of its space (an Adobe RGB or linear image is neither
 * clipped to sRGB nor shifted on the way through the engine). */
static const Babl *format_for(GimpDrawable *drawable, int channels)
{
    const char *name = channels == 1 ? "Y' u8" : channels == 3 ? "R'G'B' u8" : "R'G'B'A u8";
    return babl_format_with_space(name, gimp_drawable_get_format(drawable));
}

static GimpDrawable *drawable_by_id(Gimp3Host *h, int id)
{
    if (id == RG_HOST_SOURCE)
        return h->drawable;
    GimpItem *item = gimp_item_get_by_id(id);
    return item && gimp_item_is_drawable(item) ? GIMP_DRAWABLE(item) : NULL;
}

static rg_image *read_layer(RgHost *host, int id, GError **error)
{
    Gimp3Host *h = gimp3(host);
    GimpDrawable *drawable = drawable_by_id(h, id);
    if (!drawable) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, _("Layer %d does not exist or holds no pixels."), id);
        return NULL;
    }
    int w = gimp_drawable_get_width(drawable), hgt = gimp_drawable_get_height(drawable);
    rg_image *img = rg_image_new(w, hgt, 4, error);
    if (!img)
        return NULL;
    GeglBuffer *buffer = gimp_drawable_get_buffer(drawable);
    /* The buffer is in the drawable's own coordinates: (0, 0) is its top-left
     * corner whatever its offsets in the image. */
    gegl_buffer_get(buffer, GEGL_RECTANGLE(0, 0, w, hgt), 1.0, format_for(drawable, 4), img->data, GEGL_AUTO_ROWSTRIDE,
                    GEGL_ABYSS_NONE);
    g_object_unref(buffer);
    return img;
}

static void add_layers(Gimp3Host *h, GArray *out, GimpItem **items)
{
    for (int i = 0; items && items[i]; i++) {
        GimpItem *item = items[i];
        if (item == GIMP_ITEM(h->drawable) || item == GIMP_ITEM(h->preview))
            continue;
        if (gimp_item_is_group(item)) {
            /* A group's pixels are only its children's mix; offer the children. */
            g_autofree GimpItem **children = gimp_item_get_children(item);
            add_layers(h, out, children);
            continue;
        }
        RgHostLayer layer = {
            .id = gimp_item_get_id(item),
            .name = gimp_item_get_name(item),
            .width = gimp_drawable_get_width(GIMP_DRAWABLE(item)),
            .height = gimp_drawable_get_height(GIMP_DRAWABLE(item)),
        };
        g_array_append_val(out, layer);
    }
}

static GArray *list_layers(RgHost *host)
{
    Gimp3Host *h = gimp3(host);
    GArray *out = g_array_new(FALSE, TRUE, sizeof(RgHostLayer));
    /* The arrays are ours, the layers in them GIMP's. */
    g_autofree GimpLayer **layers = gimp_image_get_layers(h->image);
    add_layers(h, out, (GimpItem **)layers);
    return out;
}

static rg_image *read_selection(RgHost *host, GError **error)
{
    Gimp3Host *h = gimp3(host);
    if (gimp_selection_is_empty(h->image))
        return NULL;
    int ox = 0, oy = 0, w = gimp_drawable_get_width(h->drawable), hgt = gimp_drawable_get_height(h->drawable);
    gimp_drawable_get_offsets(h->drawable, &ox, &oy);
    rg_image *mask = rg_image_new(w, hgt, 1, error);
    if (!mask)
        return NULL;
    /* The selection channel covers the image; the source layer may stick out
     * of it (offsets, a larger layer): outside the image is unselected, which
     * GEGL_ABYSS_NONE gives as zeros. */
    GeglBuffer *buffer = gimp_drawable_get_buffer(GIMP_DRAWABLE(gimp_image_get_selection(h->image)));
    gegl_buffer_get(buffer, GEGL_RECTANGLE(ox, oy, w, hgt), 1.0, babl_format("Y u8"), mask->data, GEGL_AUTO_ROWSTRIDE,
                    GEGL_ABYSS_NONE);
    g_object_unref(buffer);
    return mask;
}

static void undo_group(RgHost *host, gboolean begin)
{
    Gimp3Host *h = gimp3(host);
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
static void above_source(Gimp3Host *h, GimpLayer **parent, int *position)
{
    GimpItem *anchor = GIMP_ITEM(h->drawable);
    if (gimp_item_is_layer_mask(anchor))
        anchor = GIMP_ITEM(gimp_layer_from_mask(GIMP_LAYER_MASK(anchor)));
    *parent = NULL;
    *position = 0;
    if (anchor && gimp_item_is_layer(anchor)) {
        GimpItem *p = gimp_item_get_parent(anchor);
        *parent = p && gimp_item_is_group_layer(p) ? GIMP_LAYER(p) : NULL;
        *position = gimp_image_get_item_position(h->image, anchor);
    }
}

/* A layer of the source's size, type and offsets, not yet in the image. */
static GimpLayer *new_source_sized_layer(Gimp3Host *h, const char *name)
{
    int ox = 0, oy = 0, w = gimp_drawable_get_width(h->drawable), hgt = gimp_drawable_get_height(h->drawable);
    gimp_drawable_get_offsets(h->drawable, &ox, &oy);
    /* From the image's base type rather than the drawable's: a channel or a
     * mask is grey even in an RGB image, and the new layer must fit the image.
     * It gets the image's precision and colour space. */
    GimpImageType type = gimp_image_get_base_type(h->image) == GIMP_GRAY ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE;
    GimpLayer *layer = gimp_layer_new(h->image, name, w, hgt, type, 100.0, GIMP_LAYER_MODE_NORMAL);
    if (layer)
        gimp_layer_set_offsets(layer, ox, oy);
    return layer;
}

static void write_pixels(GimpDrawable *drawable, const rg_image *pixels)
{
    GeglBuffer *buffer = gimp_drawable_get_buffer(drawable);
    gegl_buffer_set(buffer, GEGL_RECTANGLE(0, 0, pixels->width, pixels->height), 0,
                    format_for(drawable, pixels->channels), pixels->data, GEGL_AUTO_ROWSTRIDE);
    /* The last reference flushes the tiles to the core. */
    g_object_unref(buffer);
    gimp_drawable_update(drawable, 0, 0, pixels->width, pixels->height);
}

static int new_layer(RgHost *host, const char *name, const rg_image *pixels, GError **error)
{
    Gimp3Host *h = gimp3(host);
    g_autoptr(rg_image) fitted = rg_plugin_fit_to_source(host, pixels, error);
    if (!fitted)
        return -1;
    GimpLayer *layer = new_source_sized_layer(h, name);
    GimpLayer *parent;
    int position;
    above_source(h, &parent, &position);
    if (!layer || !gimp_image_insert_layer(h->image, layer, parent, position)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FAILED, _("GIMP could not add the layer \"%s\"."), name);
        return -1;
    }
    write_pixels(GIMP_DRAWABLE(layer), fitted);
    flush(h);
    return gimp_item_get_id(GIMP_ITEM(layer));
}

static void remove_preview(Gimp3Host *h)
{
    if (h->preview && gimp_item_is_valid(GIMP_ITEM(h->preview))) {
        gimp_image_undo_freeze(h->image);
        gimp_image_remove_layer(h->image, h->preview);
        gimp_image_undo_thaw(h->image);
        flush(h);
    }
    h->preview = NULL;
}

static void show_preview(RgHost *host, const rg_image *pixels)
{
    Gimp3Host *h = gimp3(host);
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
    if (!h->preview || !gimp_item_is_valid(GIMP_ITEM(h->preview))) {
        /* On top of the whole image, so nothing hides it. */
        h->preview = new_source_sized_layer(h, _("[Preview]"));
        if (!h->preview || !gimp_image_insert_layer(h->image, h->preview, NULL, 0))
            h->preview = NULL;
        else
            gimp_item_set_lock_position(GIMP_ITEM(h->preview), TRUE);
    }
    if (h->preview) {
        /* GIMP refuses pixels written to a content-locked drawable, so the
         * lock (which keeps the user's brushes off it) is lifted meanwhile. */
        gimp_item_set_lock_content(GIMP_ITEM(h->preview), FALSE);
        write_pixels(GIMP_DRAWABLE(h->preview), fitted);
        gimp_item_set_lock_content(GIMP_ITEM(h->preview), TRUE);
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

/* A failed run from the dialog also goes to GIMP's message area (the error
 * console or a message box, as the user set it up). */
static void message(RgHost *host, const char *text)
{
    (void)host;
    gimp_message(text);
}

/* No transient_window: GIMP 3 hands out window handles that are X11 ids or
 * Wayland handles, and readout_gimp3.c gives the dialog its parent through
 * libgimpui (gimp_window_set_transient), which knows both. */
static const RgHostOps gimp3_ops = {
    .source_size = source_size,
    .read_layer = read_layer,
    .list_layers = list_layers,
    .read_selection = read_selection,
    .undo_group = undo_group,
    .new_layer = new_layer,
    .show_preview = show_preview,
    .progress = progress,
    .message = message,
};

RgHost *rg_gimp3_host_new(GimpImage *image, GimpDrawable *drawable, gboolean interactive)
{
    Gimp3Host *h = g_new0(Gimp3Host, 1);
    h->parent.ops = &gimp3_ops;
    h->image = image;
    h->drawable = drawable;
    h->interactive = interactive;
    return &h->parent;
}

void rg_gimp3_host_free(RgHost *host)
{
    if (!host)
        return;
    Gimp3Host *h = gimp3(host);
    remove_preview(h);
    while (h->undo_depth > 0)
        undo_group(host, FALSE);
    g_free(h);
}
