/* file_host.c — the dialog's host over PNG files. */
#include <string.h>

#include "file_host.h"

typedef struct {
    char *name;
    rg_image *pixels;
} FileLayer;

struct RgFileHost {
    RgHost host; /* first: RgHost * and RgFileHost * are the same pointer */
    rg_image *source;
    rg_image *selection;
    GArray *layers; /* FileLayer, id = index */
    char *output_pattern;
    GPtrArray *outputs;
    int preview_count;
    gboolean has_preview;
    char *last_message;
};

static RgFileHost *self(RgHost *host)
{
    return (RgFileHost *)host;
}

static void source_size(RgHost *host, int *width, int *height)
{
    *width = self(host)->source->width;
    *height = self(host)->source->height;
}

static rg_image *read_layer(RgHost *host, int id, GError **error)
{
    RgFileHost *h = self(host);
    if (id == RG_HOST_SOURCE)
        return rg_image_convert(h->source, 4, error);
    if (id < 0 || (guint)id >= h->layers->len) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "there is no layer %d", id);
        return NULL;
    }
    return rg_image_convert(g_array_index(h->layers, FileLayer, id).pixels, 4, error);
}

static GArray *list_layers(RgHost *host)
{
    RgFileHost *h = self(host);
    GArray *out = g_array_new(FALSE, TRUE, sizeof(RgHostLayer));
    for (guint i = 0; i < h->layers->len; i++) {
        const FileLayer *l = &g_array_index(h->layers, FileLayer, i);
        RgHostLayer e = {(int)i, g_strdup(l->name), l->pixels->width, l->pixels->height};
        g_array_append_val(out, e);
    }
    return out;
}

static rg_image *read_selection(RgHost *host, GError **error)
{
    RgFileHost *h = self(host);
    return h->selection ? rg_image_convert(h->selection, 1, error) : NULL;
}

static void undo_group(RgHost *host, gboolean begin)
{
    (void)host;
    (void)begin;
}

gsize rg_path_stem_length(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, G_DIR_SEPARATOR);
    return dot && (!slash || dot > slash) ? (gsize)(dot - path) : strlen(path);
}

/* The pattern with "%d" replaced by the run number; "-2", "-3", ... go
 * before the extension until the name is free. */
static char *free_name(RgFileHost *h)
{
    g_autofree char *run = g_strdup_printf("%u", h->outputs->len + 1);
    g_autoptr(GString) base = g_string_new(h->output_pattern);
    g_string_replace(base, "%d", run, 0);
    const gsize stem = rg_path_stem_length(base->str);
    char *path = g_strdup(base->str);
    for (int k = 2; g_file_test(path, G_FILE_TEST_EXISTS); k++) {
        g_free(path);
        path = g_strdup_printf("%.*s-%d%s", (int)stem, base->str, k, base->str + stem);
    }
    return path;
}

static int new_layer(RgHost *host, const char *name, const rg_image *pixels, GError **error)
{
    RgFileHost *h = self(host);
    g_autofree char *path = free_name(h);
    FileLayer l = {NULL, rg_image_copy(pixels, error)};
    if (!l.pixels || !rg_image_save_png(pixels, path, error)) {
        rg_image_free(l.pixels);
        return -1;
    }
    g_message("%s: wrote %s", name, path);
    g_ptr_array_add(h->outputs, g_steal_pointer(&path));
    l.name = g_strdup(name);
    g_array_append_val(h->layers, l);
    return (int)h->layers->len - 1;
}

static void show_preview(RgHost *host, const rg_image *pixels)
{
    RgFileHost *h = self(host);
    h->has_preview = pixels != NULL;
    if (pixels)
        h->preview_count++;
}

static void message(RgHost *host, const char *text)
{
    RgFileHost *h = self(host);
    g_free(h->last_message);
    h->last_message = g_strdup(text);
    g_printerr("%s\n", text);
}

static const RgHostOps file_host_ops = {
    .source_size = source_size,
    .read_layer = read_layer,
    .list_layers = list_layers,
    .read_selection = read_selection,
    .undo_group = undo_group,
    .new_layer = new_layer,
    .show_preview = show_preview,
    .message = message,
};

RgFileHost *rg_file_host_new(rg_image *source, const char *output_pattern)
{
    RgFileHost *h = g_new0(RgFileHost, 1);
    h->host.ops = &file_host_ops;
    h->source = source;
    h->layers = g_array_new(FALSE, TRUE, sizeof(FileLayer));
    h->output_pattern = g_strdup(output_pattern);
    h->outputs = g_ptr_array_new_with_free_func(g_free);
    return h;
}

void rg_file_host_free(RgFileHost *h)
{
    if (!h)
        return;
    for (guint i = 0; i < h->layers->len; i++) {
        FileLayer *l = &g_array_index(h->layers, FileLayer, i);
        g_free(l->name);
        rg_image_free(l->pixels);
    }
    g_array_unref(h->layers);
    rg_image_free(h->source);
    rg_image_free(h->selection);
    g_free(h->output_pattern);
    g_ptr_array_unref(h->outputs);
    g_free(h->last_message);
    g_free(h);
}

RgHost *rg_file_host_get_host(RgFileHost *h)
{
    return &h->host;
}

int rg_file_host_add_layer(RgFileHost *h, const char *name, rg_image *pixels)
{
    FileLayer l = {g_strdup(name), pixels};
    g_array_append_val(h->layers, l);
    return (int)h->layers->len - 1;
}

void rg_file_host_set_selection(RgFileHost *h, rg_image *mask)
{
    rg_image_free(h->selection);
    h->selection = mask;
}

GPtrArray *rg_file_host_get_outputs(RgFileHost *h)
{
    return h->outputs;
}

int rg_file_host_get_preview_count(RgFileHost *h)
{
    return h->preview_count;
}

gboolean rg_file_host_has_preview(RgFileHost *h)
{
    return h->has_preview;
}

const char *rg_file_host_get_last_message(RgFileHost *h)
{
    return h->last_message;
}
