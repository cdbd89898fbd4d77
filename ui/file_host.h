/* file_host.h — an RgHost over picture files, for readout-studio and the
 * dialog tests: the source is a PNG, other PNGs are the layers to pick from,
 * an optional mask PNG is the selection, and each result is written as a
 * new PNG file (never over an existing file). */
#pragma once

#include "host.h"

G_BEGIN_DECLS

typedef struct RgFileHost RgFileHost;

/* Length of @path without its extension (a dot in a folder name is not one). */
gsize rg_path_stem_length(const char *path);

/* @source (transfer full) is the picture being edited; results go to
 * @output_pattern, a path in which "%d" (optional) numbers the runs. */
RgFileHost *rg_file_host_new(rg_image *source, const char *output_pattern);
void rg_file_host_free(RgFileHost *h);
RgHost *rg_file_host_get_host(RgFileHost *h);
/* Adds a layer to pick (transfer full); returns its id. */
int rg_file_host_add_layer(RgFileHost *h, const char *name, rg_image *pixels);
/* The selection (transfer full; NULL: none). */
void rg_file_host_set_selection(RgFileHost *h, rg_image *mask);
/* The files written so far, in order. (transfer none) */
GPtrArray *rg_file_host_get_outputs(RgFileHost *h);
/* How often the preview was shown, and whether one is shown now. */
int rg_file_host_get_preview_count(RgFileHost *h);
gboolean rg_file_host_has_preview(RgFileHost *h);
/* The last message for the user (also printed on stderr), or NULL. (transfer none) */
const char *rg_file_host_get_last_message(RgFileHost *h);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RgFileHost, rg_file_host_free)

G_END_DECLS
