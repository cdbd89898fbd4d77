/* host.h — what the editor dialog needs from the program it runs in.
 *
 * The dialog (ui/dialog.h) never talks to GIMP directly: a host fills an
 * RgHostOps table. plugin/gimp2/ implements it on libgimp-2.0, plugin/gimp3/
 * on libgimp-3.0 and ui/file_host.c on a PNG file (readout-studio). Every
 * call is made on the main thread.
 *
 * Pixels cross the interface as rg_image RGBA, 8 bits per sample, sRGB, at
 * the layer's own size; hosts convert from and to their own formats.
 */
#pragma once

#include <glib.h>

#include "readout/image.h"

G_BEGIN_DECLS

/* A layer the user can pick as a reference or pose map. */
typedef struct {
    int id;
    char *name;
    int width, height;
} RgHostLayer;

typedef struct RgHost RgHost;

typedef struct {
    /* The size of the layer being edited (the source). */
    void (*source_size)(RgHost *host, int *width, int *height);
    /* Pixels of layer @id, or of the source when @id is RG_HOST_SOURCE. (transfer full) */
    rg_image *(*read_layer)(RgHost *host, int id, GError **error);
    /* The layers other than the source, top to bottom (element type
     * RgHostLayer, freed with the array). (transfer full) */
    GArray *(*list_layers)(RgHost *host);
    /* The selection as a 1-channel mask over the source layer (non-zero =
     * selected), or NULL with no error when nothing is selected. */
    rg_image *(*read_selection)(RgHost *host, GError **error);
    /* Opens / closes one undo group around everything the dialog adds. */
    void (*undo_group)(RgHost *host, gboolean begin);
    /* A new layer @name holding @pixels (the source's size), placed above the
     * source with its offsets; the source is never modified. Returns the
     * new layer's id, or -1 with @error set. */
    int (*new_layer)(RgHost *host, const char *name, const rg_image *pixels, GError **error);
    /* The on-canvas preview: shows @pixels (any size; scaled to the source)
     * in a locked "[Preview]" layer; NULL removes it. May be NULL. */
    void (*show_preview)(RgHost *host, const rg_image *pixels);
    /* Progress in the host's own status area; @text may be NULL. May be NULL. */
    void (*progress)(RgHost *host, double fraction, const char *text);
    /* The X11 window the dialog should stay above (0: none). May be NULL. */
    guint64 (*transient_window)(RgHost *host);
    /* Tells the user about a failed run in the host's own message area (the
     * dialog shows it too). May be NULL. */
    void (*message)(RgHost *host, const char *text);
} RgHostOps;

/* Hosts embed this as their first member. */
struct RgHost {
    const RgHostOps *ops;
};

#define RG_HOST_SOURCE (-1)

void rg_host_layers_free(GArray *layers);

G_END_DECLS
