/* test_image.c — core/image (readout/image.h); PNG files are in
 * test_image_png.c, registered from here:
 * - new/copy/convert, with PIL's convert("L") for RGB(A) -> grey;
 * - rg_image_fit_size cases;
 * - resizing: PIL 9's Image.resize bit for bit (golden/image.safetensors
 *   from tests/reference/image.py), values known by hand (2x2 -> 4x4),
 *   constants stay constant, nearest keeps label values, up-down round trip;
 * - tensors: to (1, C, H, W) in [-1, 1] and back, clamping, NaN, strided
 *   views, bad shapes and dtypes;
 * - readout pictures: direct 3-channel and grey mapping, and the principal
 *   components of a 384-channel readout built from three known maps.
 */
#include <math.h>
#include <string.h>

#include "image/image_impl.h"
#include "rg_test.h"
#include "test_image.h"

rg_image *test_image_random(guint32 seed, int width, int height, int channels)
{
    GRand *rand = g_rand_new_with_seed(seed);
    rg_image *img = rg_image_new(width, height, channels, NULL);
    g_assert_nonnull(img);
    for (size_t i = 0; i < (size_t)width * height * channels; i++)
        img->data[i] = (guint8)g_rand_int_range(rand, 0, 256);
    g_rand_free(rand);
    return img;
}

gboolean test_image_equal(const rg_image *a, const rg_image *b)
{
    if (a->width != b->width || a->height != b->height || a->channels != b->channels) {
        g_printerr("NOT OK: %dx%dx%d vs %dx%dx%d\n", a->width, a->height, a->channels, b->width, b->height,
                   b->channels);
        return FALSE;
    }
    size_t n = (size_t)a->width * a->height * a->channels;
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (a->data[i] != b->data[i] && bad++ < 5)
            g_printerr("NOT OK: byte %zu (x %zu, y %zu, channel %zu): %d vs %d\n", i,
                       i / a->channels % a->width, i / a->channels / a->width, i % a->channels, a->data[i],
                       b->data[i]);
    if (bad)
        g_printerr("NOT OK: %d of %zu bytes differ\n", bad, n);
    return bad == 0;
}

rg_image *test_image_from_hwc(rg_tensor *t)
{
    g_assert_cmpint(rg_tensor_ndim(t), ==, 3);
    const int64_t *s = rg_tensor_shape(t);
    rg_image *img = rg_image_new((int)s[1], (int)s[0], (int)s[2], NULL);
    g_assert_nonnull(img);
    for (int64_t i = 0; i < rg_tensor_numel(t); i++)
        img->data[i] = (guint8)rg_tensor_get_flat(t, i);
    return img;
}

/* Expects a NULL image and an error with @code whose message contains @needle. */
static gboolean expect_error(const char *what, rg_image *img, GError *error, int code, const char *needle)
{
    gboolean ok = !img && error && error->domain == RG_ERROR && error->code == code && strstr(error->message, needle);
    g_print("%s error %s: %s\n", ok ? "OK" : "NOT OK", what, error ? error->message : "no error");
    rg_image_free(img);
    g_clear_error(&error);
    return ok;
}
#define EXPECT_ERROR(ok, what, call, code, needle)                  \
    do {                                                            \
        GError *err_ = NULL;                                        \
        rg_image *img_ = (call);                                    \
        (ok) &= expect_error((what), img_, err_, (code), (needle)); \
    } while (0)

static void test_new_copy_convert(void)
{
    gboolean ok = TRUE;
    EXPECT_ERROR(ok, "zero width", rg_image_new(0, 5, 3, &err_), RG_ERROR_ARGUMENT, "zero-size image 0x5");
    EXPECT_ERROR(ok, "two channels", rg_image_new(5, 5, 2, &err_), RG_ERROR_ARGUMENT, "2 channels");
    EXPECT_ERROR(ok, "huge", rg_image_new(20000, 20000, 1, &err_), RG_ERROR_ARGUMENT, "RG_IMAGE_MAX_PIXELS");
    EXPECT_ERROR(ok, "copy NULL", rg_image_copy(NULL, &err_), RG_ERROR_ARGUMENT, "missing");
    g_autoptr(rg_image) rgba = test_image_random(1, 9, 4, 4);
    EXPECT_ERROR(ok, "convert to 2", rg_image_convert(rgba, 2, &err_), RG_ERROR_ARGUMENT, "2 channels");

    g_autoptr(rg_image) zeros = rg_image_new(3, 2, 1, NULL);
    for (int i = 0; i < 6; i++)
        RG_CHECK(zeros->data[i] == 0);
    g_autoptr(rg_image) copy = rg_image_copy(rgba, NULL);
    ok &= test_image_equal(rgba, copy);
    RG_CHECK(copy->data != rgba->data);

    g_autoptr(rg_image) rgb = rg_image_convert(rgba, 3, NULL);   /* alpha dropped */
    g_autoptr(rg_image) rgba2 = rg_image_convert(rgb, 4, NULL);  /* opaque */
    g_autoptr(rg_image) grey = rg_image_convert(rgb, 1, NULL);
    g_autoptr(rg_image) grey3 = rg_image_convert(grey, 3, NULL); /* replicated */
    g_autoptr(rg_image) grey4 = rg_image_convert(grey, 4, NULL);
    for (int i = 0; i < 36; i++) {
        RG_CHECK(memcmp(rgb->data + i * 3, rgba->data + i * 4, 3) == 0);
        RG_CHECK(memcmp(rgba2->data + i * 4, rgb->data + i * 3, 3) == 0 && rgba2->data[i * 4 + 3] == 255);
        for (int c = 0; c < 3; c++)
            RG_CHECK(grey3->data[i * 3 + c] == grey->data[i] && grey4->data[i * 4 + c] == grey->data[i]);
        RG_CHECK(grey4->data[i * 4 + 3] == 255);
    }
    /* RGB(A) -> grey as PIL's convert("L") */
    rg_safetensors *golden = rg_test_golden("image");
    for (int k = 0; k < 2; k++) {
        const char *name = k ? "grey_rgba" : "grey_rgb";
        g_autoptr(rg_tensor) inp = rg_test_load(golden, name, "inp");
        g_autoptr(rg_tensor) out = rg_test_load(golden, name, "out");
        g_autoptr(rg_image) src = test_image_from_hwc(inp);
        g_autoptr(rg_image) want = test_image_from_hwc(out);
        g_autoptr(rg_image) got = rg_image_convert(src, 1, NULL);
        ok &= test_image_equal(got, want);
    }
    rg_safetensors_free(golden);
    g_assert_true(ok && rg_test_failures == 0);
}

static void test_fit_size(void)
{
    static const int cases[][6] = {
        /* w, h, max_side, multiple -> w, h */
        {640, 480, 512, 8, 512, 384},   {480, 640, 512, 8, 384, 512},   {100, 1000, 512, 8, 48, 512},
        {1000, 100, 512, 8, 512, 48},   {512, 512, 512, 8, 512, 512},   {64, 48, 512, 8, 512, 384},
        {1000, 10, 512, 64, 512, 64},   {1000, 999, 500, 8, 496, 496},  {1920, 1080, 768, 64, 768, 448},
        {333, 333, 500, 8, 496, 496},   {3, 1, 4, 8, 8, 8},             {1, 1, 512, 1, 512, 512},
        {5000, 3, 512, 8, 512, 8},      {0, 10, 512, 8, 0, 0},          {10, 10, 0, 8, 0, 0},
        {100, 50, 64, 0, 64, 32},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        const int *c = cases[i];
        int w = -1, h = -1;
        rg_image_fit_size(c[0], c[1], c[2], c[3], &w, &h);
        if (w != c[4] || h != c[5])
            g_printerr("NOT OK fit %dx%d max %d multiple %d: %dx%d, expected %dx%d\n", c[0], c[1], c[2], c[3], w, h,
                       c[4], c[5]);
        RG_CHECK(w == c[4] && h == c[5]);
    }
    g_assert_cmpint(rg_test_failures, ==, 0);
}

static void test_resize_golden(void)
{
    static const char *names[] = {"down_rgb",   "mild_rgb",  "up_grey",   "mixed_rgba", "only_v",    "only_h",
                                  "shrink_one", "near_down", "near_up",   "near_odd",   "near_tenth"};
    rg_safetensors *golden = rg_test_golden("image");
    gboolean ok = TRUE;
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autoptr(rg_tensor) inp = rg_test_load(golden, names[i], "inp");
        g_autoptr(rg_tensor) out = rg_test_load(golden, names[i], "out");
        g_autoptr(rg_tensor) filter = rg_test_load(golden, names[i], "filter");
        g_autoptr(rg_image) src = test_image_from_hwc(inp);
        g_autoptr(rg_image) want = test_image_from_hwc(out);
        GError *error = NULL;
        g_autoptr(rg_image) got = rg_image_resize(src, want->width, want->height,
                                                  rg_tensor_get_flat(filter, 0) ? RG_RESIZE_NEAREST : RG_RESIZE_BILINEAR,
                                                  &error);
        rg_assert_no_error(error);
        gboolean same = test_image_equal(got, want);
        g_print("%s %s: %dx%d -> %dx%d as PIL\n", same ? "OK" : "NOT OK", names[i], src->width, src->height,
                want->width, want->height);
        ok &= same;
    }
    rg_safetensors_free(golden);
    g_assert_true(ok);
}

static void test_resize_properties(void)
{
    gboolean ok = TRUE;
    /* 2x2 -> 4x4: per axis the weights are (1, 0), (3/4, 1/4), (1/4, 3/4), (0, 1) */
    g_autoptr(rg_image) ramp = rg_image_new(2, 2, 1, NULL);
    ramp->data[1] = ramp->data[3] = 255;
    g_autoptr(rg_image) up = rg_image_resize(ramp, 4, 4, RG_RESIZE_BILINEAR, NULL);
    static const guint8 row[4] = {0, 64, 191, 255}; /* 63.75 and 191.25 rounded */
    for (int y = 0; y < 4; y++)
        RG_CHECK(memcmp(up->data + y * 4, row, 4) == 0);
    g_autoptr(rg_image) checker = rg_image_new(2, 2, 1, NULL);
    checker->data[1] = checker->data[2] = 200;
    g_autoptr(rg_image) up2 = rg_image_resize(checker, 4, 4, RG_RESIZE_BILINEAR, NULL);
    /* inner pixel (1, 1): rows first: 0.75*0 + 0.25*200 = 50 and 150; then 0.75*50 + 0.25*150 = 75 */
    RG_CHECK(up2->data[1 * 4 + 1] == 75 && up2->data[0] == 0 && up2->data[3] == 200 && up2->data[15] == 0);

    /* a constant stays constant, whatever the factors */
    static const int sizes[][2] = {{13, 7}, {1, 1}, {97, 61}, {200, 3}, {40, 130}};
    for (int v = 0; v < 3; v++) {
        int value = v == 0 ? 0 : v == 1 ? 137 : 255;
        g_autoptr(rg_image) flat = rg_image_new(97, 61, 3, NULL);
        memset(flat->data, value, 97 * 61 * 3);
        for (guint s = 0; s < G_N_ELEMENTS(sizes); s++) {
            g_autoptr(rg_image) r = rg_image_resize(flat, sizes[s][0], sizes[s][1], RG_RESIZE_BILINEAR, NULL);
            for (int i = 0; i < sizes[s][0] * sizes[s][1] * 3; i++)
                RG_CHECK(r->data[i] == value);
        }
    }

    /* nearest keeps label values and picks pixel 2i + 1 when halving */
    static const guint8 labels[4] = {0, 7, 42, 200};
    g_autoptr(rg_image) mask = rg_image_new(64, 48, 1, NULL);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++)
            mask->data[y * 64 + x] = labels[(x / 5 + y / 3) % 4];
    for (guint s = 0; s < G_N_ELEMENTS(sizes); s++) {
        g_autoptr(rg_image) r = rg_image_resize(mask, sizes[s][0], sizes[s][1], RG_RESIZE_NEAREST, NULL);
        for (int i = 0; i < sizes[s][0] * sizes[s][1]; i++)
            RG_CHECK(memchr(labels, r->data[i], 4) != NULL);
    }
    g_autoptr(rg_image) half = rg_image_resize(mask, 32, 24, RG_RESIZE_NEAREST, NULL);
    for (int y = 0; y < 24; y++)
        for (int x = 0; x < 32; x++)
            RG_CHECK(half->data[y * 32 + x] == mask->data[(2 * y + 1) * 64 + 2 * x + 1]);
    g_autoptr(rg_image) same = rg_image_resize(mask, 64, 48, RG_RESIZE_BILINEAR, NULL);
    ok &= test_image_equal(same, mask);

    /* a smooth image survives x2 up and down within a few levels */
    g_autoptr(rg_image) smooth = rg_image_new(40, 30, 3, NULL);
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++)
            for (int c = 0; c < 3; c++)
                smooth->data[(y * 40 + x) * 3 + c] = (guint8)(128 + 100 * sin(0.15 * x + c) * cos(0.12 * y));
    g_autoptr(rg_image) big = rg_image_resize(smooth, 80, 60, RG_RESIZE_BILINEAR, NULL);
    g_autoptr(rg_image) back = rg_image_resize(big, 40, 30, RG_RESIZE_BILINEAR, NULL);
    int worst = 0;
    for (int y = 1; y < 29; y++) /* inside: the borders see only one side */
        for (int x = 1; x < 39; x++)
            for (int c = 0; c < 3; c++) {
                int i = (y * 40 + x) * 3 + c;
                worst = MAX(worst, abs(back->data[i] - smooth->data[i]));
            }
    g_print("up-down round trip: worst difference %d levels\n", worst);
    RG_CHECK(worst <= 4);

    EXPECT_ERROR(ok, "resize to 0", rg_image_resize(mask, 0, 10, RG_RESIZE_BILINEAR, &err_), RG_ERROR_ARGUMENT,
                 "image_resize: 64x48 -> 0x10");
    EXPECT_ERROR(ok, "resize filter", rg_image_resize(mask, 5, 10, (rg_resize_filter)7, &err_), RG_ERROR_ARGUMENT,
                 "unknown filter 7");
    EXPECT_ERROR(ok, "resize NULL", rg_image_resize(NULL, 5, 10, RG_RESIZE_NEAREST, &err_), RG_ERROR_ARGUMENT,
                 "image_resize");
    g_assert_true(ok && rg_test_failures == 0);
}

static void test_tensor(void)
{
    gboolean ok = TRUE;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, NULL);
    g_autoptr(rg_image) img = test_image_random(5, 3, 2, 3);
    img->data[0] = 0;
    img->data[1] = 255;
    img->data[2] = 128;
    GError *error = NULL;
    g_autoptr(rg_tensor) t = rg_image_to_tensor(img, &error);
    rg_assert_no_error(error);
    const int64_t *s = rg_tensor_shape(t);
    g_assert_true(rg_tensor_ndim(t) == 4 && s[0] == 1 && s[1] == 3 && s[2] == 2 && s[3] == 3);
    RG_CHECK(rg_tensor_get_flat(t, 0) == -1.0 && rg_tensor_get_flat(t, 6) == 1.0);
    RG_CHECK(fabs(rg_tensor_get_flat(t, 12) - (2.0 * 128 / 255 - 1)) < 3e-8);
    for (int c = 0; c < 3; c++) /* planar: (c, y, x) <- byte ((y * 3 + x) * 3 + c) */
        for (int i = 0; i < 6; i++)
            RG_CHECK(fabs(rg_tensor_get_flat(t, c * 6 + i) - (2.0 * img->data[i * 3 + c] / 255 - 1)) < 3e-8);
    g_autoptr(rg_image) back = rg_image_from_tensor(t, -1.0f, 1.0f, &error);
    ok &= test_image_equal(img, back);

    /* every level survives the round trip; (C, H, W) and strided views too */
    g_autoptr(rg_image) levels = rg_image_new(256, 1, 1, NULL);
    for (int i = 0; i < 256; i++)
        levels->data[i] = (guint8)i;
    g_autoptr(rg_tensor) lt = rg_image_to_tensor(levels, NULL);
    g_autoptr(rg_tensor) chw = rg_reshape(ctx, lt, 3, (int64_t[]){1, 1, 256}, &error);
    rg_assert_no_error(error);
    g_autoptr(rg_image) lb = rg_image_from_tensor(chw, -1.0f, 1.0f, NULL);
    ok &= test_image_equal(levels, lb);
    g_autoptr(rg_tensor) strided = rg_test_strided(t);
    g_assert_false(rg_tensor_is_contiguous(strided));
    g_autoptr(rg_image) sb = rg_image_from_tensor(strided, -1.0f, 1.0f, NULL);
    ok &= test_image_equal(img, sb);

    /* mapping, rounding, clamping, NaN */
    float v[8] = {0.0f, 10.0f, 5.0f, -3.0f, 99.0f, NAN, INFINITY, 2.2f};
    g_autoptr(rg_tensor) vt = rg_tensor_new_from_data(RG_DTYPE_F32, 3, (int64_t[]){1, 2, 4}, v, NULL);
    g_autoptr(rg_image) vi = rg_image_from_tensor(vt, 0.0f, 10.0f, NULL);
    static const guint8 want[8] = {0, 255, 128, 0, 255, 0, 255, 56}; /* 5 -> 127.5 rounds up */
    RG_CHECK(memcmp(vi->data, want, 8) == 0);
    g_autoptr(rg_image) inv = rg_image_from_tensor(vt, 10.0f, 0.0f, NULL); /* reversed range */
    RG_CHECK(inv->data[0] == 255 && inv->data[1] == 0);

    g_autoptr(rg_tensor) two = rg_tensor_new(RG_DTYPE_F32, 3, (int64_t[]){2, 4, 4}, NULL);
    g_autoptr(rg_tensor) batch = rg_tensor_new(RG_DTYPE_F32, 4, (int64_t[]){2, 3, 4, 4}, NULL);
    g_autoptr(rg_tensor) flat = rg_tensor_new(RG_DTYPE_F32, 2, (int64_t[]){4, 4}, NULL);
    g_autoptr(rg_tensor) ints = rg_tensor_new(RG_DTYPE_I64, 3, (int64_t[]){3, 4, 4}, NULL);
    EXPECT_ERROR(ok, "2 channels", rg_image_from_tensor(two, 0, 1, &err_), RG_ERROR_SHAPE, "(2,4,4) has 2 channels");
    EXPECT_ERROR(ok, "batch 2", rg_image_from_tensor(batch, 0, 1, &err_), RG_ERROR_SHAPE, "(2,3,4,4), expected");
    EXPECT_ERROR(ok, "2-d", rg_image_from_tensor(flat, 0, 1, &err_), RG_ERROR_SHAPE, "(4,4), expected");
    EXPECT_ERROR(ok, "I64", rg_image_from_tensor(ints, 0, 1, &err_), RG_ERROR_DTYPE, "I64, expected F32");
    EXPECT_ERROR(ok, "empty range", rg_image_from_tensor(t, 1, 1, &err_), RG_ERROR_ARGUMENT, "range [1, 1]");
    EXPECT_ERROR(ok, "NULL tensor", rg_image_from_tensor(NULL, 0, 1, &err_), RG_ERROR_ARGUMENT, "missing");
    EXPECT_ERROR(ok, "readout I64", rg_image_from_readout(ints, 0, 1, &err_), RG_ERROR_DTYPE, "image_from_readout");
    GError *err = NULL;
    ok &= rg_image_to_tensor(NULL, &err) == NULL && err && err->code == RG_ERROR_ARGUMENT;
    g_clear_error(&err);
    g_assert_true(ok && rg_test_failures == 0);
}

static double correlation(const guint8 *a, int stride, const double *b, int n)
{
    double ma = 0, mb = 0;
    for (int i = 0; i < n; i++) {
        ma += a[i * stride];
        mb += b[i];
    }
    ma /= n;
    mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        double da = a[i * stride] - ma, db = b[i] - mb;
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    return sab / sqrt(saa * sbb);
}

static void test_readout(void)
{
    gboolean ok = TRUE;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, NULL);
    /* 3 channels: direct; 1 channel: grey */
    float v3[6] = {-1.0f, 1.0f, 0.0f, 0.5f, -0.5f, 2.0f};
    g_autoptr(rg_tensor) t3 = rg_tensor_new_from_data(RG_DTYPE_F32, 4, (int64_t[]){1, 3, 1, 2}, v3, NULL);
    g_autoptr(rg_image) i3 = rg_image_from_readout(t3, -1.0f, 1.0f, NULL);
    static const guint8 want3[6] = {0, 128, 64, 255, 191, 255};
    RG_CHECK(i3->channels == 3 && memcmp(i3->data, want3, 6) == 0);
    g_autoptr(rg_tensor) t1 = rg_tensor_new_from_data(RG_DTYPE_F32, 3, (int64_t[]){1, 1, 2}, v3, NULL);
    g_autoptr(rg_image) i1 = rg_image_from_readout(t1, -1.0f, 1.0f, NULL);
    static const guint8 want1[6] = {0, 0, 0, 255, 255, 255};
    RG_CHECK(i1->channels == 3 && memcmp(i1->data, want1, 6) == 0);

    /* 384 channels made of three known maps along orthonormal directions
     * (largest loading made positive), variances 18 > 4.5 > 0.56, plus offsets
     * and noise: the picture's channels are those maps, in order. */
    enum { C = 384, H = 40, W = 48, N = H * W };
    double *maps = g_new(double, 3 * N), *u = g_new0(double, 3 * C);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            maps[0 * N + y * W + x] = 6.0 * cos(2 * G_PI * x / W);
            maps[1 * N + y * W + x] = 3.0 * cos(2 * G_PI * y / H);
            maps[2 * N + y * W + x] = 3.0 * sin(2 * G_PI * x / W) * sin(2 * G_PI * y / H);
        }
    GRand *rand = g_rand_new_with_seed(42);
    for (int k = 0; k < 3; k++) {
        double *uk = u + k * C;
        for (int c = 0; c < C; c++)
            uk[c] = g_rand_double_range(rand, -1, 1);
        uk[10 + 100 * k] = k == 1 ? -4.0 : 4.0; /* one clearly largest loading, so that the sign is defined */
        for (int j = 0; j < k; j++) {
            double d = 0;
            for (int c = 0; c < C; c++)
                d += uk[c] * u[j * C + c];
            for (int c = 0; c < C; c++)
                uk[c] -= d * u[j * C + c];
        }
        double norm = 0, big = 0;
        for (int c = 0; c < C; c++) {
            norm += uk[c] * uk[c];
            big = fabs(uk[c]) > fabs(big) ? uk[c] : big;
        }
        for (int c = 0; c < C; c++)
            uk[c] /= sqrt(norm) * (big < 0 ? -1 : 1);
    }
    g_autoptr(rg_tensor) r = rg_tensor_new(RG_DTYPE_F32, 4, (int64_t[]){1, C, H, W}, NULL);
    float *rd = rg_tensor_data_f32(r);
    for (int c = 0; c < C; c++) {
        double offset = g_rand_double_range(rand, -2, 2);
        for (int i = 0; i < N; i++)
            rd[c * N + i] = (float)(offset + maps[i] * u[c] + maps[N + i] * u[C + c] + maps[2 * N + i] * u[2 * C + c] +
                                    g_rand_double_range(rand, -0.05, 0.05));
    }
    g_rand_free(rand);
    gint64 t0 = g_get_monotonic_time();
    GError *error = NULL;
    g_autoptr(rg_image) pic = rg_image_from_readout(r, 0.0f, 1.0f, &error);
    rg_assert_no_error(error);
    g_print("PCA of (1,%d,%d,%d): %.1f ms\n", C, H, W, (g_get_monotonic_time() - t0) / 1000.0);
    g_assert_true(pic->width == W && pic->height == H && pic->channels == 3);
    for (int k = 0; k < 3; k++) {
        double corr = correlation(pic->data + k, 3, maps + k * N, N);
        int lo = 255, hi = 0;
        for (int i = 0; i < N; i++) {
            lo = MIN(lo, pic->data[i * 3 + k]);
            hi = MAX(hi, pic->data[i * 3 + k]);
        }
        g_print("component %d: correlation %.5f with its map, range %d..%d\n", k, corr, lo, hi);
        RG_CHECK(corr > 0.99 && lo == 0 && hi == 255);
    }
    /* deterministic, and the sign convention holds: -r gives the negative picture */
    g_autoptr(rg_image) again = rg_image_from_readout(r, 0.0f, 1.0f, NULL);
    ok &= test_image_equal(pic, again);
    g_autoptr(rg_tensor) strided = rg_test_strided(r);
    g_autoptr(rg_image) spic = rg_image_from_readout(strided, 0.0f, 1.0f, NULL);
    ok &= test_image_equal(pic, spic);
    g_autoptr(rg_tensor) neg = rg_scale(ctx, r, -1.0f, 0.0f, &error);
    rg_assert_no_error(error);
    g_autoptr(rg_image) npic = rg_image_from_readout(neg, 0.0f, 1.0f, NULL);
    for (int i = 0; i < N * 3; i++)
        RG_CHECK(abs(npic->data[i] + pic->data[i] - 255) <= 1);
    g_free(maps);
    g_free(u);

    /* 2, 4 and 5 channels, constant and non-finite readouts: pictures, no failures */
    for (int c = 2; c <= 5; c++) {
        if (c == 3)
            continue;
        g_autoptr(rg_tensor) small = rg_test_random(c, 3, (int64_t[]){c, 6, 7}, -1.0f, 1.0f);
        rg_tensor_data_f32(small)[3] = NAN;
        rg_tensor_data_f32(small)[5] = -INFINITY;
        g_autoptr(rg_image) sp = rg_image_from_readout(small, 0.0f, 1.0f, &error);
        rg_assert_no_error(error);
        int lo = 255, hi = 0;
        for (int i = 0; i < 42 * 3; i += 3) {
            lo = MIN(lo, sp->data[i]);
            hi = MAX(hi, sp->data[i]);
        }
        RG_CHECK(lo == 0 && hi == 255);
        if (c == 2)
            for (int i = 0; i < 42; i++)
                RG_CHECK(sp->data[i * 3 + 2] == 0); /* no third component */
    }
    g_autoptr(rg_tensor) constant = rg_tensor_new_full(3, (int64_t[]){16, 5, 5}, 0.25f, NULL);
    g_autoptr(rg_image) cp = rg_image_from_readout(constant, 0.0f, 1.0f, &error);
    rg_assert_no_error(error);
    for (int i = 0; i < 75; i++)
        RG_CHECK(cp->data[i] == 0);
    g_assert_true(ok && rg_test_failures == 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/image/new_copy_convert", test_new_copy_convert);
    g_test_add_func("/image/fit_size", test_fit_size);
    g_test_add_func("/image/resize_golden", test_resize_golden);
    g_test_add_func("/image/resize_properties", test_resize_properties);
    g_test_add_func("/image/tensor", test_tensor);
    g_test_add_func("/image/readout", test_readout);
    test_image_png_register();
    int rc = g_test_run();
    test_image_png_cleanup();
    return rc;
}
