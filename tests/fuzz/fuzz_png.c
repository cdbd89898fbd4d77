/* fuzz_png.c — libFuzzer target for the PNG loader (core/image/png.c): any
 * bytes must give either an image of the size and layout promised or a
 * GError, never a crash or a leak. Checksums are ignored (mutations rarely
 * keep a valid CRC, and the decoder behind them is what needs exploring) and
 * the pixel limit is 2^20 to keep memory small. Decoded images also go
 * through a resize and a channel conversion. */
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>

#include "image/image_impl.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    static char *path;
    if (!path)
        path = g_strdup_printf("%s/rg-fuzz-%d.png", g_get_tmp_dir(), (int)getpid());
    /* Plain stdio: g_file_set_contents() syncs an existing file to disk on
     * every call, which would cost most of the fuzzer's time. */
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return 0;
    gboolean written = fwrite(data, 1, size, fp) == size;
    if (fclose(fp) != 0 || !written)
        return 0;
    GError *error = NULL;
    /* Alternate checksums on and off by the first byte after the signature. */
    gboolean check_crc = size > 8 && (data[8] & 1);
    rg_image *img = rg_image_load_png_limited(path, 1 << 20, check_crc, &error);
    if (!img) {
        g_assert(error != NULL && error->domain == RG_ERROR);
        g_error_free(error);
        return 0;
    }
    g_assert(img->width > 0 && img->height > 0 && (int64_t)img->width * img->height <= 1 << 20);
    g_assert(img->channels == 1 || img->channels == 3 || img->channels == 4);
    rg_image *small = rg_image_resize(img, 1 + img->width % 7, 1 + img->height % 5, RG_RESIZE_BILINEAR, NULL);
    rg_image *grey = rg_image_convert(small, 1, NULL);
    g_assert(small && grey);
    rg_image_free(grey);
    rg_image_free(small);
    rg_image_free(img);
    return 0;
}
