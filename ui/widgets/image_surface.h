/* image_surface.h — an rg_image as a cairo surface, for the widgets' draw
 * handlers. */
#pragma once

#include <cairo.h>

#include "readout/image.h"

G_BEGIN_DECLS

/* ARGB32 (premultiplied) for RGBA, RGB24 for grey and RGB; NULL for NULL.
 * (transfer full: cairo_surface_destroy) */
cairo_surface_t *rg_image_surface_new(const rg_image *img);

G_END_DECLS
