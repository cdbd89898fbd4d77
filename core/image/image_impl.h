/* image_impl.h — the inside of core/image, shared by its files, its tests and
 * its fuzz target (not part of the public API). */
#pragma once

#include "readout/image.h"

/* rg_image_load_png() with a pixel limit of @max_pixels instead of
 * RG_IMAGE_MAX_PIXELS and, when @check_crc is FALSE, chunk checksums ignored
 * (the fuzzer uses both: mutated bytes rarely keep a valid CRC, and a small
 * limit keeps its memory small). */
rg_image *rg_image_load_png_limited(const char *path, int64_t max_pixels, gboolean check_crc, GError **error);

/* A (C, H, W) or (1, C, H, W) F32 tensor on the host, seen as C planes. */
typedef struct {
    int c, h, w;
    int64_t sc, sh, sw; /* strides in elements */
    const float *data;  /* element (0, 0, 0) */
} rg_image_planes;

/* Fills @p from @t, or fails naming @op: RG_ERROR_DTYPE (not F32),
 * RG_ERROR_SHAPE (other ranks, batch > 1, empty), RG_ERROR_ARGUMENT (more
 * than RG_IMAGE_MAX_PIXELS pixels). */
gboolean rg_image_planes_from_tensor(const char *op, rg_tensor *t, rg_image_planes *p, GError **error);
/* Element (ch, y, x) of @p. */
static inline float rg_image_planes_at(const rg_image_planes *p, int ch, int y, int x)
{
    return p->data[ch * p->sc + y * p->sh + x * p->sw];
}
