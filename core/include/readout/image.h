/* image.h — RGB(A) images for the pipelines: PNG files, resizing to the
 * model's grid and back, conversion to and from tensors, readout pictures.
 *
 * An rg_image holds 8-bit samples, row-major, interleaved; channels 1 (grey),
 * 3 (RGB) or 4 (RGBA). Coordinates are pixels, x to the right, y down.
 */
#pragma once

#include "readout/readout.h"

G_BEGIN_DECLS

typedef struct {
    int width, height, channels;
    guint8 *data; /* width * height * channels bytes */
} rg_image;

/* A new image of zeros. Errors: RG_ERROR_ARGUMENT (zero or huge size, bad
 * channel count), RG_ERROR_OUT_OF_MEMORY. */
RG_API rg_image *rg_image_new(int width, int height, int channels, GError **error);
RG_API void rg_image_free(rg_image *img);
RG_API rg_image *rg_image_copy(const rg_image *img, GError **error);

/* PNG of any bit depth and colour type (palette, grey, 16-bit reduced to 8,
 * interlaced), as 1, 3 or 4 channels as stored (palette -> RGB(A)).
 * Transparency (tRNS) becomes an alpha channel; grey with alpha becomes RGBA;
 * 16-bit samples keep their high byte; no gamma correction.
 * Errors: RG_ERROR_IO (cannot be opened or read), RG_ERROR_FORMAT ("not a
 * PNG file", also for an empty file; corrupt or truncated data, bad
 * checksums; naming the file), RG_ERROR_ARGUMENT (an image of zero width or
 * height, or larger than RG_IMAGE_MAX_PIXELS, refused before any pixel memory
 * is allocated). Never crashes on bad files (fuzzed: tests/fuzz/fuzz_png.c).
 * Saving writes 8-bit grey, RGB or RGBA to a temporary file in the same
 * folder and renames it over @path, so a failed save leaves any old file
 * whole. Errors: RG_ERROR_IO, RG_ERROR_ARGUMENT (malformed image). */
#define RG_IMAGE_MAX_PIXELS (16384 * 16384)
RG_API rg_image *rg_image_load_png(const char *path, GError **error);
RG_API gboolean rg_image_save_png(const rg_image *img, const char *path, GError **error);
/* The same image with @channels channels (grey <-> RGB, alpha dropped or set opaque). */
RG_API rg_image *rg_image_convert(const rg_image *img, int channels, GError **error);
/* Resampled to @width x @height: bilinear (antialiased when shrinking, like
 * PIL's BILINEAR) or nearest (for masks and maps whose values must not mix).
 * Both give PIL 9's Image.resize values to the bit, except that every
 * channel is filtered on its own (PIL premultiplies RGBA by alpha). */
typedef enum { RG_RESIZE_BILINEAR, RG_RESIZE_NEAREST } rg_resize_filter;
RG_API rg_image *rg_image_resize(const rg_image *img, int width, int height, rg_resize_filter filter,
                                 GError **error);

/* The size the model works at for an image of @width x @height: aspect kept,
 * the longest side @max_side, both sides multiples of @multiple (rounded to
 * nearest, at least @multiple). Small images are scaled up too. The long
 * side is @max_side rounded down to a multiple (so it never exceeds
 * @max_side), the short side the nearest multiple to short * long_out /
 * long_in: 640x480 (512, 8) -> 512x384, 100x1000 -> 48x512. A @multiple
 * below 1 counts as 1; a size or @max_side <= 0 gives 0x0. */
RG_API void rg_image_fit_size(int width, int height, int max_side, int multiple, int *out_width, int *out_height);

/* (1, C, H, W) F32 with values in [-1, 1] (2 * v / 255 - 1). */
RG_API rg_tensor *rg_image_to_tensor(const rg_image *img, GError **error);
/* From (C, H, W) or (1, C, H, W) with values mapped from [@lo, @hi] to
 * 0..255, rounded (halves up), clamped, NaN -> 0 (C = 1, 3 or 4). Any
 * strides. @lo > @hi inverts. Errors: RG_ERROR_DTYPE (not F32),
 * RG_ERROR_SHAPE, RG_ERROR_ARGUMENT (@lo == @hi or not finite). */
RG_API rg_image *rg_image_from_tensor(rg_tensor *t, float lo, float hi, GError **error);
/* A readout as a picture: a 3-channel map is shown mapped from [lo, hi];
 * more channels (relative readouts) are coloured by their first three
 * principal components over all pixels, each scaled to its own range. The
 * result is always RGB: 1 channel is grey from [lo, hi]; 2 or 4 and more use
 * the components (lo and hi unused; a missing or flat component is 0; the
 * sign of each makes its largest loading positive, so the colours are
 * deterministic; non-finite values count as 0). */
RG_API rg_image *rg_image_from_readout(rg_tensor *readout, float lo, float hi, GError **error);

/* Marks drawn in place (clipped to the picture): a line of @width pixels, a
 * dot, an arrow from (x0, y0) to (x1, y1) with its head at the end. */
RG_API void rg_image_draw_line(rg_image *img, float x0, float y0, float x1, float y1, const guint8 rgb[3], int width);
RG_API void rg_image_draw_dot(rg_image *img, float x, float y, const guint8 rgb[3], int radius);
RG_API void rg_image_draw_arrow(rg_image *img, float x0, float y0, float x1, float y1, const guint8 rgb[3],
                                int width);

/* A training curve: @n points (step, value, running average). */
typedef struct {
    const char *title;
    const double *step, *value, *average;
    int n;
} rg_plot_curve;
/* One chart panel per curve, stacked: the values in grey, their running
 * average in blue, a log scale when every value is positive. */
RG_API rg_image *rg_plot_curves(const rg_plot_curve *curves, int n, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_image, rg_image_free)

G_END_DECLS
