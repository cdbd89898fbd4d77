/* test_image_png.c — PNG files (core/image/png.c), part of test_image:
 * - round trips of 1, 3 and 4 channels, odd sizes;
 * - inputs written here with libpng directly: palette (with and without
 *   tRNS, 4 and 8 bits), 16-bit grey and RGB, grey of 1 bit, grey + alpha,
 *   RGB + tRNS, interlaced, with the values libpng's expansions must give;
 * - the fuzzer's seed PNGs (tests/fuzz/corpus/png, written by an encoder in
 *   tests/reference/image.py) decode to what that script expects;
 * - missing, empty, non-PNG, truncated at every length, corrupted at every
 *   byte, zero-size and oversized files fail with the right code and a
 *   message that names the file;
 * - a failed save leaves neither a half-written file nor a temporary one.
 */
#include <glib/gstdio.h>
#include <png.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "image/image_impl.h"
#include "rg_test.h"
#include "test_image.h"

static char *tmp_dir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmp_dir, name, NULL);
}

/* Writes a PNG with libpng: @rows are packed as libpng expects them
 * (big-endian 16-bit samples, sub-byte samples MSB first). */
static void write_png(const char *path, int w, int h, int depth, int color, gboolean interlace, guint8 **rows,
                      const png_color *palette, int n_palette, const guint8 *trans, int n_trans,
                      const png_color_16 *trans_color)
{
    FILE *fp = fopen(path, "wb");
    g_assert_nonnull(fp);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png)))
        g_error("libpng failed to write %s", path);
    png_init_io(png, fp);
    png_set_IHDR(png, info, w, h, depth, color, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette)
        png_set_PLTE(png, info, palette, n_palette);
    if (trans || trans_color)
        png_set_tRNS(png, info, trans, n_trans, trans_color);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(fp);
}

/* Rows of @h x @stride bytes, filled by the caller. */
static guint8 **new_rows(int h, int stride)
{
    guint8 **rows = g_new(guint8 *, h + 1);
    rows[0] = g_malloc0((size_t)h * stride);
    for (int y = 1; y < h; y++)
        rows[y] = rows[0] + (size_t)y * stride;
    rows[h] = rows[0]; /* for free_rows */
    return rows;
}

static void free_rows(guint8 **rows, int h)
{
    g_free(rows[h]);
    g_free(rows);
}

static rg_image *load_ok(const char *path, int w, int h, int c)
{
    GError *error = NULL;
    rg_image *img = rg_image_load_png(path, &error);
    rg_assert_no_error(error);
    g_assert_cmpint(img->width, ==, w);
    g_assert_cmpint(img->height, ==, h);
    g_assert_cmpint(img->channels, ==, c);
    return img;
}

static void test_round_trip(void)
{
    static const int sizes[][2] = {{1, 1}, {37, 23}, {1, 300}, {300, 1}, {64, 64}};
    for (int c = 1; c <= 4; c++) {
        if (c == 2)
            continue;
        for (guint s = 0; s < G_N_ELEMENTS(sizes); s++) {
            g_autoptr(rg_image) img = test_image_random(100 * c + s, sizes[s][0], sizes[s][1], c);
            g_autofree char *path = tmp_path("round.png");
            GError *error = NULL;
            g_assert_true(rg_image_save_png(img, path, &error));
            rg_assert_no_error(error);
            g_autoptr(rg_image) back = load_ok(path, img->width, img->height, c);
            g_assert_true(test_image_equal(img, back));
        }
    }
}

static void test_libpng_inputs(void)
{
    g_autofree char *path = tmp_path("made.png");
    int ok = 0;

    /* palette, 8 bits, 2 tRNS entries: RGBA, entries past tRNS opaque */
    png_color pal[4] = {{10, 20, 30}, {200, 100, 0}, {1, 2, 3}, {255, 255, 255}};
    guint8 trans[2] = {0, 128};
    guint8 **rows = new_rows(3, 5);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 5; x++)
            rows[y][x] = (x + y) % 4;
    write_png(path, 5, 3, 8, PNG_COLOR_TYPE_PALETTE, FALSE, rows, pal, 4, trans, 2, NULL);
    {
        g_autoptr(rg_image) img = load_ok(path, 5, 3, 4);
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 5; x++) {
                const guint8 *p = img->data + (y * 5 + x) * 4;
                int i = (x + y) % 4;
                RG_CHECK(p[0] == pal[i].red && p[1] == pal[i].green && p[2] == pal[i].blue);
                RG_CHECK(p[3] == (i < 2 ? trans[i] : 255));
            }
    }
    free_rows(rows, 3);

    /* palette, 4 bits, odd width, interlaced: RGB */
    rows = new_rows(7, 3);
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 5; x++)
            rows[y][x / 2] |= ((x * 3 + y) % 4) << (x % 2 ? 0 : 4);
    write_png(path, 5, 7, 4, PNG_COLOR_TYPE_PALETTE, TRUE, rows, pal, 4, NULL, 0, NULL);
    {
        g_autoptr(rg_image) img = load_ok(path, 5, 7, 3);
        for (int y = 0; y < 7; y++)
            for (int x = 0; x < 5; x++) {
                const guint8 *p = img->data + (y * 5 + x) * 3;
                int i = (x * 3 + y) % 4;
                RG_CHECK(p[0] == pal[i].red && p[1] == pal[i].green && p[2] == pal[i].blue);
            }
    }
    free_rows(rows, 7);

    /* 16-bit RGB: the high byte */
    rows = new_rows(4, 6 * 6);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 6; x++)
            for (int ch = 0; ch < 3; ch++) {
                int v = (x * 4099 + y * 7777 + ch * 1000 + 255) % 65536;
                rows[y][(x * 3 + ch) * 2] = v >> 8;
                rows[y][(x * 3 + ch) * 2 + 1] = v & 255;
            }
    write_png(path, 6, 4, 16, PNG_COLOR_TYPE_RGB, FALSE, rows, NULL, 0, NULL, 0, NULL);
    {
        g_autoptr(rg_image) img = load_ok(path, 6, 4, 3);
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 6; x++)
                for (int ch = 0; ch < 3; ch++)
                    RG_CHECK(img->data[(y * 6 + x) * 3 + ch] == ((x * 4099 + y * 7777 + ch * 1000 + 255) % 65536) >> 8);
    }
    free_rows(rows, 4);

    /* 16-bit grey, interlaced */
    rows = new_rows(11, 13 * 2);
    for (int y = 0; y < 11; y++)
        for (int x = 0; x < 13; x++) {
            int v = (x * 5003 + y * 911) % 65536;
            rows[y][x * 2] = v >> 8;
            rows[y][x * 2 + 1] = v & 255;
        }
    write_png(path, 13, 11, 16, PNG_COLOR_TYPE_GRAY, TRUE, rows, NULL, 0, NULL, 0, NULL);
    {
        g_autoptr(rg_image) img = load_ok(path, 13, 11, 1);
        for (int y = 0; y < 11; y++)
            for (int x = 0; x < 13; x++)
                RG_CHECK(img->data[y * 13 + x] == ((x * 5003 + y * 911) % 65536) >> 8);
    }
    free_rows(rows, 11);

    /* grey of 1 bit, interlaced: 0 and 255 */
    rows = new_rows(7, 2);
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 9; x++)
            if ((x * x + y) % 3 == 0)
                rows[y][x / 8] |= 0x80 >> (x % 8);
    write_png(path, 9, 7, 1, PNG_COLOR_TYPE_GRAY, TRUE, rows, NULL, 0, NULL, 0, NULL);
    {
        g_autoptr(rg_image) img = load_ok(path, 9, 7, 1);
        for (int y = 0; y < 7; y++)
            for (int x = 0; x < 9; x++)
                RG_CHECK(img->data[y * 9 + x] == ((x * x + y) % 3 == 0 ? 255 : 0));
    }
    free_rows(rows, 7);

    /* grey + alpha, 16 bits: RGBA */
    rows = new_rows(2, 3 * 4);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++) {
            rows[y][x * 4] = 40 * x + y;   /* grey, high byte */
            rows[y][x * 4 + 2] = 250 - x;  /* alpha, high byte */
            rows[y][x * 4 + 3] = 0xff;
        }
    write_png(path, 3, 2, 16, PNG_COLOR_TYPE_GRAY_ALPHA, FALSE, rows, NULL, 0, NULL, 0, NULL);
    {
        g_autoptr(rg_image) img = load_ok(path, 3, 2, 4);
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++) {
                const guint8 *p = img->data + (y * 3 + x) * 4;
                RG_CHECK(p[0] == 40 * x + y && p[1] == p[0] && p[2] == p[0] && p[3] == 250 - x);
            }
    }
    free_rows(rows, 2);

    /* RGB with a transparent colour: RGBA */
    rows = new_rows(2, 2 * 3);
    guint8 rgb[12] = {1, 2, 3, 4, 5, 6, 1, 2, 3, 9, 9, 9};
    memcpy(rows[0], rgb, 12);
    png_color_16 tc = {.red = 1, .green = 2, .blue = 3};
    write_png(path, 2, 2, 8, PNG_COLOR_TYPE_RGB, FALSE, rows, NULL, 0, NULL, 0, &tc);
    {
        g_autoptr(rg_image) img = load_ok(path, 2, 2, 4);
        static const guint8 want[16] = {1, 2, 3, 0, 4, 5, 6, 255, 1, 2, 3, 0, 9, 9, 9, 255};
        RG_CHECK(memcmp(img->data, want, 16) == 0);
    }
    free_rows(rows, 2);
    ok = rg_test_failures == 0;
    g_assert_true(ok);
}

static void test_seeds(void)
{
    static const char *names[] = {"grey1", "grey2_adam7", "grey4", "grey16", "grey4_trns", "rgb8_adam7",
                                  "rgb16", "rgb8_trns", "ga8", "rgba16_adam7", "palette2", "palette8_trns_adam7"};
    rg_safetensors *golden = rg_test_golden("image");
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *file = g_strdup_printf("%s.png", names[i]);
        g_autofree char *path = g_build_filename(RG_PNG_CORPUS, file, NULL);
        g_autofree char *case_name = g_strdup_printf("seed_%s", names[i]);
        g_autoptr(rg_tensor) want = rg_test_load(golden, case_name, "out");
        g_autoptr(rg_image) expected = test_image_from_hwc(want);
        g_autoptr(rg_image) got = load_ok(path, expected->width, expected->height, expected->channels);
        if (!test_image_equal(got, expected))
            g_error("seed %s decodes differently from tests/reference/image.py", names[i]);
    }
    rg_safetensors_free(golden);
}

/* Expects @img == NULL and an RG_ERROR @code (or @code2) whose message
 * contains @a and @b. */
static gboolean expect_load_error(rg_image *img, GError *error, int code, int code2, const char *a, const char *b)
{
    gboolean ok = !img && error && error->domain == RG_ERROR && (error->code == code || error->code == code2) &&
                  (!a || strstr(error->message, a)) && (!b || strstr(error->message, b));
    if (!ok)
        g_printerr("NOT OK: expected error %d with \"%s\" \"%s\", got %s\n", code, a ? a : "", b ? b : "",
                   error ? error->message : "success");
    else if (g_test_verbose())
        g_print("  refused: %s\n", error->message);
    rg_image_free(img);
    g_clear_error(&error);
    return ok;
}

/* Plain write: g_file_set_contents() syncs to disk, far too slow for
 * thousands of files. */
static void write_bytes(const char *path, const char *bytes, size_t n)
{
    FILE *fp = fopen(path, "wb");
    g_assert_nonnull(fp);
    g_assert_cmpuint(fwrite(bytes, 1, n, fp), ==, n);
    g_assert_cmpint(fclose(fp), ==, 0);
}

static guint32 crc32_bytes(const guint8 *p, size_t n)
{
    guint32 crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
    }
    return crc ^ 0xffffffffu;
}

static void put32(guint8 *p, guint32 v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

/* The signature and a valid IHDR claiming @w x @h RGB, then IEND. */
static void write_header_only(const char *path, guint32 w, guint32 h)
{
    guint8 f[8 + 25 + 12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    guint8 *c = f + 8;
    put32(c, 13);
    memcpy(c + 4, "IHDR", 4);
    put32(c + 8, w);
    put32(c + 12, h);
    c[16] = 8; /* depth */
    c[17] = 2; /* RGB */
    put32(c + 21, crc32_bytes(c + 4, 17));
    c += 25;
    memcpy(c + 4, "IEND", 4);
    put32(c + 8, crc32_bytes(c + 4, 4));
    g_assert_true(g_file_set_contents(path, (const char *)f, sizeof f, NULL));
}

static void test_load_errors(void)
{
    gboolean ok = TRUE;
    GError *error = NULL;
    g_autofree char *missing = tmp_path("missing.png");
    rg_image *img = rg_image_load_png(missing, &error);
    ok &= expect_load_error(img, error, RG_ERROR_IO, -1, "missing.png: cannot open", NULL);
    error = NULL;
    img = rg_image_load_png(tmp_dir, &error);
    ok &= expect_load_error(img, error, RG_ERROR_IO, -1, tmp_dir, "cannot read");

    g_autofree char *empty = tmp_path("empty.png");
    g_assert_true(g_file_set_contents(empty, "", 0, NULL));
    error = NULL;
    img = rg_image_load_png(empty, &error);
    ok &= expect_load_error(img, error, RG_ERROR_FORMAT, -1, "empty.png: not a PNG file (empty)", NULL);

    g_autofree char *jpeg = tmp_path("scene.jpg");
    g_assert_true(g_file_set_contents(jpeg, "\xff\xd8\xff\xe0\0\x10JFIF\0\1\1\0\0\1\0\1\0\0", 20, NULL));
    error = NULL;
    img = rg_image_load_png(jpeg, &error);
    ok &= expect_load_error(img, error, RG_ERROR_FORMAT, -1, "scene.jpg: not a PNG file", NULL);

    g_autofree char *zero = tmp_path("zero.png");
    write_header_only(zero, 0, 5);
    error = NULL;
    img = rg_image_load_png(zero, &error);
    ok &= expect_load_error(img, error, RG_ERROR_ARGUMENT, -1, "zero.png: zero-size image (0x5)", NULL);

    g_autofree char *huge = tmp_path("huge.png");
    write_header_only(huge, 20000, 20000);
    error = NULL;
    img = rg_image_load_png(huge, &error);
    ok &= expect_load_error(img, error, RG_ERROR_ARGUMENT, -1, "huge.png: 20000x20000 image is larger than the limit",
                            "268435456 pixels");
    /* exactly at the limit passes the size check (then ends early) */
    write_header_only(huge, 16384, 16384);
    error = NULL;
    img = rg_image_load_png(huge, &error);
    ok &= expect_load_error(img, error, RG_ERROR_FORMAT, -1, "huge.png: corrupt PNG", NULL);
    error = NULL;
    img = rg_image_load_png_limited(huge, 1000, TRUE, &error);
    ok &= expect_load_error(img, error, RG_ERROR_ARGUMENT, -1, "larger than the limit of 1000 pixels", NULL);
    g_assert_true(ok);
}

static void test_truncated_and_corrupt(void)
{
    g_autoptr(rg_image) src = test_image_random(7, 37, 23, 3);
    g_autofree char *good = tmp_path("good.png");
    g_autofree char *cut = tmp_path("cut.png");
    GError *error = NULL;
    g_assert_true(rg_image_save_png(src, good, &error));
    g_autofree char *bytes = NULL;
    gsize size = 0;
    g_assert_true(g_file_get_contents(good, &bytes, &size, NULL));

    /* Every truncation fails as a format error naming the file. */
    int failures = 0;
    for (gsize n = 0; n < size; n++) {
        write_bytes(cut, bytes, n);
        error = NULL;
        rg_image *img = rg_image_load_png(cut, &error);
        const char *what = n < 8 ? "cut.png: not a PNG file" : "cut.png: corrupt PNG: the file is truncated";
        failures += !expect_load_error(img, error, RG_ERROR_FORMAT, -1, what, NULL);
    }
    /* Every corrupted byte fails (checksums, or the size check when the size
     * bytes are hit); without checksums, nothing crashes or leaks. */
    int loaded_without_crc = 0;
    for (gsize i = 0; i < size; i++) {
        bytes[i] ^= 0x5a;
        write_bytes(cut, bytes, size);
        error = NULL;
        rg_image *img = rg_image_load_png(cut, &error);
        failures += !expect_load_error(img, error, RG_ERROR_FORMAT, RG_ERROR_ARGUMENT, "cut.png: ", NULL);
        error = NULL; /* freed by expect_load_error() */
        img = rg_image_load_png_limited(cut, 1 << 20, FALSE, &error);
        if (img) {
            loaded_without_crc++;
            g_assert_true(img->width > 0 && img->height > 0 && (int64_t)img->width * img->height <= 1 << 20);
            rg_image_free(img);
        } else {
            g_assert_true(error && error->domain == RG_ERROR && strstr(error->message, "cut.png: "));
            g_clear_error(&error);
        }
        bytes[i] ^= 0x5a;
    }
    g_print("%" G_GSIZE_FORMAT " truncations and %" G_GSIZE_FORMAT " corrupted bytes refused; "
            "without checksums %d of the corrupted files still decode\n", size, size, loaded_without_crc);
    g_assert_cmpint(failures, ==, 0);
}

static int count_files(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    int n = 0;
    while (g_dir_read_name(d))
        n++;
    return n;
}

static void test_save_errors(void)
{
    gboolean ok = TRUE;
    GError *error = NULL;
    g_autoptr(rg_image) img = test_image_random(3, 8, 8, 3);
    g_autofree char *nodir = tmp_path("no-such-folder/out.png");
    ok &= !rg_image_save_png(img, nodir, &error);
    ok &= error && error->code == RG_ERROR_IO && strstr(error->message, "out.png: cannot write");
    g_print("  %s\n", error ? error->message : "no error");
    g_clear_error(&error);

    rg_image bad = {.width = 2, .height = 2, .channels = 2, .data = img->data};
    g_autofree char *badpath = tmp_path("bad.png");
    ok &= !rg_image_save_png(&bad, badpath, &error);
    ok &= error && error->code == RG_ERROR_ARGUMENT && strstr(error->message, "bad.png: cannot save");
    g_clear_error(&error);
    ok &= !rg_image_save_png(NULL, badpath, &error) && error && error->code == RG_ERROR_ARGUMENT;
    g_clear_error(&error);
    g_assert_false(g_file_test(badpath, G_FILE_TEST_EXISTS));

    /* A save that fails half-way (file size limit) keeps the old file whole
     * and leaves no temporary file behind. */
    g_autofree char *sub = tmp_path("atomic");
    g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
    g_autofree char *path = g_build_filename(sub, "out.png", NULL);
    g_assert_true(rg_image_save_png(img, path, &error));
    g_autofree char *before = NULL;
    gsize before_size = 0;
    g_assert_true(g_file_get_contents(path, &before, &before_size, NULL));
    g_assert_cmpuint(before_size, <, 2048);
    g_autoptr(rg_image) big = test_image_random(4, 300, 300, 3); /* noise: ~270 kB */
    struct rlimit old, lim;
    g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
    lim = old;
    lim.rlim_cur = 4096;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
    gboolean saved = rg_image_save_png(big, path, &error);
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
    signal(SIGXFSZ, old_handler);
    ok &= !saved && error && error->code == RG_ERROR_IO && strstr(error->message, "out.png: cannot write");
    g_print("  %s\n", error ? error->message : "no error");
    g_clear_error(&error);
    g_autofree char *after = NULL;
    gsize after_size = 0;
    g_assert_true(g_file_get_contents(path, &after, &after_size, NULL));
    ok &= after_size == before_size && memcmp(before, after, before_size) == 0;
    ok &= count_files(sub) == 1;

    /* A good save replaces the file. */
    g_assert_true(rg_image_save_png(big, path, &error));
    g_autoptr(rg_image) back = load_ok(path, 300, 300, 3);
    ok &= test_image_equal(big, back) && count_files(sub) == 1;
    g_assert_true(ok);
}

void test_image_png_register(void)
{
    tmp_dir = g_dir_make_tmp("rg-image-XXXXXX", NULL);
    g_assert_nonnull(tmp_dir);
    g_test_add_func("/image/png/round_trip", test_round_trip);
    g_test_add_func("/image/png/libpng_inputs", test_libpng_inputs);
    g_test_add_func("/image/png/seeds", test_seeds);
    g_test_add_func("/image/png/load_errors", test_load_errors);
    g_test_add_func("/image/png/truncated_and_corrupt", test_truncated_and_corrupt);
    g_test_add_func("/image/png/save_errors", test_save_errors);
}

void test_image_png_cleanup(void)
{
    /* Everything made under tmp_dir, one level of folders deep. */
    g_autoptr(GDir) d = g_dir_open(tmp_dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(tmp_dir, name, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR)) {
            g_autoptr(GDir) s = g_dir_open(p, 0, NULL);
            const char *n2;
            while (s && (n2 = g_dir_read_name(s))) {
                g_autofree char *p2 = g_build_filename(p, n2, NULL);
                g_unlink(p2);
            }
            g_rmdir(p);
        } else {
            g_unlink(p);
        }
    }
    g_rmdir(tmp_dir);
    g_free(tmp_dir);
}
