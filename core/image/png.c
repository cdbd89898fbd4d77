/* png.c — PNG files through libpng.
 *
 * Loading takes any PNG (palette, grey of 1 to 16 bits, 16-bit colour,
 * transparency, Adam7 interlace) to 8-bit grey, RGB or RGBA. Files are
 * untrusted: libpng reports errors through a longjmp to the setjmp in
 * decode()/encode(), whose callers free whatever was allocated, and the
 * declared size is checked before anything is allocated for it
 * (tests/fuzz/fuzz_png.c fuzzes this).
 *
 * Saving writes 8-bit grey, RGB or RGBA to a temporary file beside the
 * target and renames it over the target only once everything is written and
 * flushed to disk, so that a failed save never leaves a half-written file.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <png.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "image/image_impl.h"

/* Everything a load or a save owns, freed by its caller whichever way
 * decode()/encode() return. */
typedef struct {
    FILE *fp;
    png_structp png;
    png_infop info;
    rg_image *img;
    png_bytep *rows;
    int64_t max_pixels;
    int io_errno;       /* the OS failed a read or write (RG_ERROR_IO) */
    gboolean truncated; /* the file ended early */
    gboolean too_large; /* width * height over the limit (RG_ERROR_ARGUMENT) */
    gboolean oom;
    char message[200];  /* libpng's error, or ours */
} png_state;

static void on_error(png_structp png, png_const_charp msg)
{
    png_state *s = png_get_error_ptr(png);
    g_strlcpy(s->message, msg, sizeof s->message);
    png_longjmp(png, 1);
}

/* Warnings are about damage that libpng recovered from (bad ancillary chunks,
 * unknown sRGB profiles); the image is still good. */
static void on_warning(png_structp png, png_const_charp msg)
{
}

static void read_data(png_structp png, png_bytep out, size_t n)
{
    png_state *s = png_get_io_ptr(png);
    if (fread(out, 1, n, s->fp) != n) {
        if (ferror(s->fp)) {
            s->io_errno = errno ? errno : EIO;
            png_error(png, g_strerror(s->io_errno));
        }
        s->truncated = TRUE;
        png_error(png, "the file is truncated");
    }
}

static void write_data(png_structp png, png_bytep data, size_t n)
{
    png_state *s = png_get_io_ptr(png);
    if (fwrite(data, 1, n, s->fp) != n) {
        s->io_errno = errno ? errno : EIO;
        png_error(png, g_strerror(s->io_errno));
    }
}

static void flush_data(png_structp png)
{
}

/* Decodes s->fp into s->img. FALSE when libpng failed (message in s) or an
 * allocation did (s->oom). No local variable is used after the longjmp. */
static gboolean decode(png_state *s, gboolean check_crc)
{
    if (setjmp(png_jmpbuf(s->png)))
        return FALSE;
    png_set_read_fn(s->png, s, read_data);
    /* The pixel limit is ours (below); libpng's default of 10^6 per side would
     * refuse long strips that fit in it. */
    png_set_user_limits(s->png, 0x7fffffff, 0x7fffffff);
    if (!check_crc)
        png_set_crc_action(s->png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
    /* Metadata chunks change nothing here (no colour management, no text):
     * skipped unread, they cannot cost memory or time. */
    static const png_byte ignored[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0sBIT\0"
                                      "sCAL\0sPLT\0sRGB\0tEXt\0tIME\0zTXt";
    png_set_keep_unknown_chunks(s->png, PNG_HANDLE_CHUNK_NEVER, ignored, (int)(sizeof ignored / 5));
    png_set_chunk_malloc_max(s->png, 8 << 20);
    png_read_info(s->png, s->info);

    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(s->png, s->info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if ((uint64_t)w * h > (uint64_t)s->max_pixels) {
        s->too_large = TRUE;
        return FALSE;
    }
    png_set_expand(s->png); /* palette -> RGB, grey of 1, 2, 4 bits -> 8, tRNS -> alpha */
    png_set_strip_16(s->png);
    gboolean alpha = (color & PNG_COLOR_MASK_ALPHA) || png_get_valid(s->png, s->info, PNG_INFO_tRNS);
    if (!(color & PNG_COLOR_MASK_COLOR) && alpha)
        png_set_gray_to_rgb(s->png); /* grey + alpha has no rg_image layout: RGBA */
    png_set_interlace_handling(s->png);
    png_read_update_info(s->png, s->info);

    int channels = png_get_channels(s->png, s->info);
    if (png_get_bit_depth(s->png, s->info) != 8 || (channels != 1 && channels != 3 && channels != 4) ||
        png_get_rowbytes(s->png, s->info) != (size_t)w * channels) {
        g_snprintf(s->message, sizeof s->message, "unexpected layout after conversion (%d channels of %d bits)",
                   channels, png_get_bit_depth(s->png, s->info));
        return FALSE;
    }
    GError *error = NULL;
    s->img = rg_image_new((int)w, (int)h, channels, &error);
    s->rows = g_try_new(png_bytep, h);
    if (!s->img || !s->rows) {
        g_clear_error(&error);
        s->oom = TRUE;
        return FALSE;
    }
    for (png_uint_32 y = 0; y < h; y++)
        s->rows[y] = s->img->data + (size_t)y * w * channels;
    png_read_image(s->png, s->rows);
    /* Up to IEND, so that a file cut after its pixel data is still refused. */
    png_read_end(s->png, NULL);
    return TRUE;
}

static guint32 be32(const guint8 *p)
{
    return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

rg_image *rg_image_load_png_limited(const char *path, int64_t max_pixels, gboolean check_crc, GError **error)
{
    if (!path) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "image_load_png: the path is missing");
        return NULL;
    }
    g_autofree char *name = g_filename_display_name(path);
    max_pixels = CLAMP(max_pixels, 1, RG_IMAGE_MAX_PIXELS); /* rg_image_new() allows no more */
    png_state s = {.max_pixels = max_pixels};
    s.fp = g_fopen(path, "rb");
    if (!s.fp) {
        int e = errno;
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s: cannot open: %s", name, g_strerror(e));
        return NULL;
    }
    /* The signature and the size in IHDR, checked before libpng allocates
     * anything, so that the size errors say what they are. */
    guint8 head[24];
    size_t n = fread(head, 1, sizeof head, s.fp);
    if (ferror(s.fp)) {
        int e = errno ? errno : EIO;
        fclose(s.fp);
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s: cannot read: %s", name, g_strerror(e));
        return NULL;
    }
    if (n < 8 || png_sig_cmp(head, 0, 8) != 0) {
        fclose(s.fp);
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: not a PNG file%s", name, n == 0 ? " (empty)" : "");
        return NULL;
    }
    if (n == sizeof head && memcmp(head + 12, "IHDR", 4) == 0) {
        guint32 w = be32(head + 16), h = be32(head + 20);
        if (w == 0 || h == 0 || (uint64_t)w * h > (uint64_t)max_pixels) {
            fclose(s.fp);
            if (w == 0 || h == 0)
                g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: zero-size image (%ux%u)", name, w, h);
            else
                g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                            "%s: %ux%u image is larger than the limit of %" G_GINT64_FORMAT " pixels", name, w, h,
                            max_pixels);
            return NULL;
        }
    }
    rewind(s.fp);

    s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
    s.info = s.png ? png_create_info_struct(s.png) : NULL;
    if (!s.info)
        s.oom = TRUE; /* the structs themselves could not be made */
    gboolean ok = s.info && decode(&s, check_crc);
    png_destroy_read_struct(s.png ? &s.png : NULL, s.info ? &s.info : NULL, NULL);
    fclose(s.fp);
    g_free(s.rows);
    if (ok)
        return s.img;
    rg_image_free(s.img);
    if (s.io_errno)
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s: cannot read: %s", name, g_strerror(s.io_errno));
    else if (s.too_large)
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: image is larger than the limit of %" G_GINT64_FORMAT
                    " pixels", name, max_pixels);
    else if (s.oom)
        g_set_error(error, RG_ERROR, RG_ERROR_OUT_OF_MEMORY, "%s: out of memory while decoding", name);
    else if (s.truncated)
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: corrupt PNG: the file is truncated", name);
    else
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: corrupt PNG: %s", name, s.message);
    return NULL;
}

rg_image *rg_image_load_png(const char *path, GError **error)
{
    return rg_image_load_png_limited(path, RG_IMAGE_MAX_PIXELS, TRUE, error);
}

/* Encodes @img into s->fp. FALSE when libpng failed (message in s). */
static gboolean encode(png_state *s, const rg_image *img)
{
    if (setjmp(png_jmpbuf(s->png)))
        return FALSE;
    png_set_write_fn(s->png, s, write_data, flush_data);
    int type = img->channels == 1 ? PNG_COLOR_TYPE_GRAY
               : img->channels == 3 ? PNG_COLOR_TYPE_RGB
                                    : PNG_COLOR_TYPE_RGB_ALPHA;
    png_set_IHDR(s->png, s->info, (png_uint_32)img->width, (png_uint_32)img->height, 8, type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(s->png, s->info);
    for (int y = 0; y < img->height; y++)
        png_write_row(s->png, img->data + (size_t)y * img->width * img->channels);
    png_write_end(s->png, s->info);
    return TRUE;
}

gboolean rg_image_save_png(const rg_image *img, const char *path, GError **error)
{
    if (!path) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "image_save_png: the path is missing");
        return FALSE;
    }
    g_autofree char *name = g_filename_display_name(path);
    if (!img || !img->data || img->width <= 0 || img->height <= 0 ||
        (int64_t)img->width * img->height > RG_IMAGE_MAX_PIXELS ||
        (img->channels != 1 && img->channels != 3 && img->channels != 4)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: cannot save a malformed image", name);
        return FALSE;
    }
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmp_base = g_strdup_printf(".%s.XXXXXX", base);
    g_autofree char *tmp = g_build_filename(dir, tmp_base, NULL);
    /* 0666 less the umask, as a file made by fopen() would have. */
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s: cannot write: %s", name, g_strerror(e));
        return FALSE;
    }
    png_state s = {0};
    s.fp = fdopen(fd, "wb");
    if (!s.fp) {
        s.io_errno = errno;
        close(fd);
    } else {
        s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
        s.info = s.png ? png_create_info_struct(s.png) : NULL;
        if (!s.info)
            s.oom = TRUE;
        gboolean ok = s.info && encode(&s, img);
        png_destroy_write_struct(s.png ? &s.png : NULL, s.info ? &s.info : NULL);
        if (ok && (fflush(s.fp) != 0 || fsync(fileno(s.fp)) != 0))
            s.io_errno = errno ? errno : EIO;
        else if (!ok && !s.io_errno && !s.oom && !s.message[0])
            g_strlcpy(s.message, "libpng failed", sizeof s.message);
        if (fclose(s.fp) != 0 && !s.io_errno && ok)
            s.io_errno = errno ? errno : EIO;
    }
    if (!s.io_errno && !s.oom && !s.message[0] && g_rename(tmp, path) != 0)
        s.io_errno = errno ? errno : EIO;
    if (!s.io_errno && !s.oom && !s.message[0])
        return TRUE;
    g_unlink(tmp);
    if (s.io_errno)
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s: cannot write: %s", name, g_strerror(s.io_errno));
    else if (s.oom)
        g_set_error(error, RG_ERROR, RG_ERROR_OUT_OF_MEMORY, "%s: out of memory while encoding", name);
    else
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s: cannot write: %s", name, s.message);
    return FALSE;
}
