/* resize.c — image resampling as PIL 9's Image.resize does it, to the bit
 * (tests/reference/image.py checks against PIL):
 *
 * - BILINEAR: a triangle filter whose support grows with the shrink factor
 *   (antialiasing), applied separably, horizontal pass first into an 8-bit
 *   intermediate, with coefficients in 22-bit fixed point and rounding to
 *   nearest (PIL's Resample.c). Every channel on its own, alpha included:
 *   PIL premultiplies RGBA by alpha first, we do not (readouts and masks in
 *   the alpha channel must not bleed into colour).
 * - NEAREST: source pixel floor((x + 0.5) * in / out), with PIL's running
 *   sum of the step (Geometry.c's ImagingScaleAffine), so that masks and
 *   label maps come out as PIL makes them.
 */
#include <math.h>
#include <string.h>

#include "image/image_impl.h"

#define PRECISION_BITS (32 - 8 - 2)

/* Filter taps of one axis: output i reads input [start[i], start[i] + count[i])
 * with weights k[i * ksize ...] in fixed point. */
typedef struct {
    int ksize;
    int *start, *count;
    int32_t *k;
} taps;

static void taps_free(taps *t)
{
    g_free(t->start);
    g_free(t->count);
    g_free(t->k);
}

static double triangle(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* PIL's precompute_coeffs() + normalize_coeffs_8bpc() for the bilinear filter. */
static gboolean taps_init(taps *t, int in_size, int out_size)
{
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    t->ksize = (int)ceil(support) * 2 + 1;
    t->start = g_try_new(int, out_size);
    t->count = g_try_new(int, out_size);
    t->k = g_try_new0(int32_t, (size_t)out_size * t->ksize);
    double *w = g_try_new(double, t->ksize);
    if (!t->start || !t->count || !t->k || !w) {
        g_free(w);
        return FALSE;
    }
    for (int i = 0; i < out_size; i++) {
        double center = (i + 0.5) * scale;
        double ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
            w[x] = triangle((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        int32_t *k = t->k + (size_t)i * t->ksize;
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            k[x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
        }
        t->start[i] = xmin;
        t->count[i] = xmax;
    }
    g_free(w);
    return TRUE;
}

static inline guint8 clip8(int64_t v)
{
    if (v >= ((int64_t)1 << PRECISION_BITS << 8))
        return 255;
    if (v <= 0)
        return 0;
    return (guint8)(v >> PRECISION_BITS);
}

/* Rows [y0, y0 + rows) of @src (width src_w) resampled horizontally into @dst
 * (width dst_w, @rows rows). */
static void pass_horizontal(guint8 *dst, int dst_w, const guint8 *src, int src_w, int y0, int rows, int c,
                            const taps *t)
{
#pragma omp parallel for schedule(static) if ((int64_t)rows * dst_w > 65536)
    for (int y = 0; y < rows; y++) {
        const guint8 *in = src + (size_t)(y0 + y) * src_w * c;
        guint8 *out = dst + (size_t)y * dst_w * c;
        for (int x = 0; x < dst_w; x++) {
            const int32_t *k = t->k + (size_t)x * t->ksize;
            const guint8 *p = in + (size_t)t->start[x] * c;
            for (int ch = 0; ch < c; ch++) {
                int64_t ss = 1 << (PRECISION_BITS - 1);
                for (int i = 0; i < t->count[x]; i++)
                    ss += (int64_t)p[i * c + ch] * k[i];
                out[x * c + ch] = clip8(ss);
            }
        }
    }
}

/* @src rows resampled vertically into @dst (both of width @w); the taps'
 * starts are offset by -@y0 (the first source row kept). */
static void pass_vertical(guint8 *dst, int dst_h, const guint8 *src, int w, int y0, int c, const taps *t)
{
    size_t row = (size_t)w * c;
#pragma omp parallel for schedule(static) if ((int64_t)dst_h * w > 65536)
    for (int y = 0; y < dst_h; y++) {
        const int32_t *k = t->k + (size_t)y * t->ksize;
        const guint8 *in = src + (size_t)(t->start[y] - y0) * row;
        guint8 *out = dst + (size_t)y * row;
        for (size_t x = 0; x < row; x++) {
            int64_t ss = 1 << (PRECISION_BITS - 1);
            for (int i = 0; i < t->count[y]; i++)
                ss += (int64_t)in[i * row + x] * k[i];
            out[x] = clip8(ss);
        }
    }
}

static gboolean resize_bilinear(const rg_image *img, rg_image *out)
{
    int c = img->channels;
    taps th = {0}, tv = {0};
    gboolean ok = taps_init(&th, img->width, out->width) && taps_init(&tv, img->height, out->height);
    guint8 *tmp = NULL;
    if (ok) {
        gboolean need_h = out->width != img->width, need_v = out->height != img->height;
        /* Only the source rows that the vertical pass reads go through the
         * horizontal one. */
        int y_first = tv.start[0];
        int y_last = tv.start[out->height - 1] + tv.count[out->height - 1];
        const guint8 *src = img->data;
        int src_y0 = 0;
        if (need_h && need_v) {
            tmp = g_try_malloc((size_t)out->width * (y_last - y_first) * c);
            ok = tmp != NULL;
            if (ok) {
                pass_horizontal(tmp, out->width, img->data, img->width, y_first, y_last - y_first, c, &th);
                src = tmp;
                src_y0 = y_first;
            }
        } else if (need_h) {
            pass_horizontal(out->data, out->width, img->data, img->width, 0, img->height, c, &th);
        }
        if (ok && need_v)
            pass_vertical(out->data, out->height, src, out->width, src_y0, c, &tv);
        if (!need_h && !need_v)
            memcpy(out->data, img->data, (size_t)img->width * img->height * c);
    }
    g_free(tmp);
    taps_free(&th);
    taps_free(&tv);
    return ok;
}

/* Source index of each output index along one axis, with PIL's running sum. */
static void nearest_index(int *idx, int in_size, int out_size)
{
    double step = (double)in_size / out_size;
    double pos = step * 0.5;
    for (int i = 0; i < out_size; i++) {
        int v = (int)pos;
        idx[i] = v < 0 ? 0 : v >= in_size ? in_size - 1 : v;
        pos += step;
    }
}

static gboolean resize_nearest(const rg_image *img, rg_image *out)
{
    int *xs = g_try_new(int, out->width), *ys = g_try_new(int, out->height);
    if (!xs || !ys) {
        g_free(xs);
        g_free(ys);
        return FALSE;
    }
    nearest_index(xs, img->width, out->width);
    nearest_index(ys, img->height, out->height);
    int c = img->channels;
#pragma omp parallel for schedule(static) if ((int64_t)out->height * out->width > 65536)
    for (int y = 0; y < out->height; y++) {
        const guint8 *in = img->data + (size_t)ys[y] * img->width * c;
        guint8 *o = out->data + (size_t)y * out->width * c;
        for (int x = 0; x < out->width; x++)
            memcpy(o + (size_t)x * c, in + (size_t)xs[x] * c, c);
    }
    g_free(xs);
    g_free(ys);
    return TRUE;
}

rg_image *rg_image_resize(const rg_image *img, int width, int height, rg_resize_filter filter, GError **error)
{
    if (!img || !img->data || img->width <= 0 || img->height <= 0 ||
        (int64_t)img->width * img->height > RG_IMAGE_MAX_PIXELS) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "image_resize: the image is missing or malformed");
        return NULL;
    }
    if (filter != RG_RESIZE_BILINEAR && filter != RG_RESIZE_NEAREST) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "image_resize: unknown filter %d", (int)filter);
        return NULL;
    }
    /* rg_image_new checks the channels and the new size. */
    GError *local = NULL;
    rg_image *out = rg_image_new(width, height, img->channels, &local);
    if (!out) {
        g_set_error(error, RG_ERROR, local->code, "image_resize: %dx%d -> %dx%d: %s", img->width, img->height, width,
                    height, local->message);
        g_error_free(local);
        return NULL;
    }
    gboolean ok = filter == RG_RESIZE_NEAREST ? resize_nearest(img, out) : resize_bilinear(img, out);
    if (!ok) {
        g_set_error(error, RG_ERROR, RG_ERROR_OUT_OF_MEMORY, "image_resize: out of memory (%dx%d -> %dx%d)",
                    img->width, img->height, width, height);
        rg_image_free(out);
        return NULL;
    }
    return out;
}
