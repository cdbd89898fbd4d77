/* image.c — rg_image basics: allocation, copies, channel conversion, the
 * model's working size, and conversion to and from tensors.
 *
 * Resizing is in resize.c, PNG files in png.c, readout pictures in
 * readout_picture.c.
 */
#include <math.h>
#include <string.h>

#include "image/image_impl.h"

static gboolean check_channels(const char *op, int channels, GError **error)
{
    if (channels != 1 && channels != 3 && channels != 4) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: %d channels, expected 1, 3 or 4", op, channels);
        return FALSE;
    }
    return TRUE;
}

/* Fails unless @img is a well-formed image. */
static gboolean check_image(const char *op, const rg_image *img, GError **error)
{
    if (!img || !img->data) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: the image is missing", op);
        return FALSE;
    }
    if (img->width <= 0 || img->height <= 0 || (int64_t)img->width * img->height > RG_IMAGE_MAX_PIXELS) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: bad image size %dx%d", op, img->width, img->height);
        return FALSE;
    }
    return check_channels(op, img->channels, error);
}

static rg_image *image_new(const char *op, int width, int height, int channels, gboolean clear, GError **error)
{
    if (!check_channels(op, channels, error))
        return NULL;
    if (width <= 0 || height <= 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: zero-size image %dx%d", op, width, height);
        return NULL;
    }
    if ((int64_t)width * height > RG_IMAGE_MAX_PIXELS) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "%s: %dx%d image is larger than the limit of %d pixels (RG_IMAGE_MAX_PIXELS)", op, width,
                    height, RG_IMAGE_MAX_PIXELS);
        return NULL;
    }
    /* At most 16384^2 * 4 = 1 GiB: size_t holds it on every target we build for. */
    size_t nbytes = (size_t)width * (size_t)height * (size_t)channels;
    guint8 *data = clear ? g_try_malloc0(nbytes) : g_try_malloc(nbytes);
    if (!data) {
        g_set_error(error, RG_ERROR, RG_ERROR_OUT_OF_MEMORY, "%s: out of memory for a %dx%dx%d image", op, width,
                    height, channels);
        return NULL;
    }
    rg_image *img = g_new(rg_image, 1);
    img->width = width;
    img->height = height;
    img->channels = channels;
    img->data = data;
    return img;
}

rg_image *rg_image_new(int width, int height, int channels, GError **error)
{
    return image_new("image_new", width, height, channels, TRUE, error);
}

void rg_image_free(rg_image *img)
{
    if (!img)
        return;
    g_free(img->data);
    g_free(img);
}

rg_image *rg_image_copy(const rg_image *img, GError **error)
{
    if (!check_image("image_copy", img, error))
        return NULL;
    rg_image *out = image_new("image_copy", img->width, img->height, img->channels, FALSE, error);
    if (out)
        memcpy(out->data, img->data, (size_t)img->width * img->height * img->channels);
    return out;
}

/* ITU-R 601-2 luma in 16-bit fixed point, as PIL's convert("L"). */
static inline guint8 luma(const guint8 *rgb)
{
    return (guint8)((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16);
}

rg_image *rg_image_convert(const rg_image *img, int channels, GError **error)
{
    if (!check_image("image_convert", img, error) || !check_channels("image_convert", channels, error))
        return NULL;
    rg_image *out = image_new("image_convert", img->width, img->height, channels, FALSE, error);
    if (!out)
        return NULL;
    size_t n = (size_t)img->width * img->height;
    int ci = img->channels;
    const guint8 *s = img->data;
    guint8 *d = out->data;
    for (size_t i = 0; i < n; i++, s += ci, d += channels) {
        if (channels == 1) {
            d[0] = ci == 1 ? s[0] : luma(s);
        } else {
            d[0] = s[0];
            d[1] = ci == 1 ? s[0] : s[1];
            d[2] = ci == 1 ? s[0] : s[2];
            if (channels == 4)
                d[3] = ci == 4 ? s[3] : 255;
        }
    }
    return out;
}

/* @v rounded to the nearest multiple of @m (halves up), at least @m. */
static int round_multiple(double v, int m)
{
    double k = floor(v / m + 0.5);
    return k < 1.0 ? m : (int)k * m;
}

void rg_image_fit_size(int width, int height, int max_side, int multiple, int *out_width, int *out_height)
{
    int ow = 0, oh = 0;
    if (multiple < 1)
        multiple = 1;
    if (width > 0 && height > 0 && max_side > 0) {
        /* The long side never exceeds max_side (rounded down to the multiple);
         * the short side keeps the aspect of the long side actually used. */
        int long_out = max_side / multiple * multiple;
        if (long_out < multiple)
            long_out = multiple;
        int long_in = MAX(width, height), short_in = MIN(width, height);
        int short_out = round_multiple((double)short_in * long_out / long_in, multiple);
        if (short_out > long_out)
            short_out = long_out;
        ow = width >= height ? long_out : short_out;
        oh = width >= height ? short_out : long_out;
    }
    if (out_width)
        *out_width = ow;
    if (out_height)
        *out_height = oh;
}

rg_tensor *rg_image_to_tensor(const rg_image *img, GError **error)
{
    if (!check_image("image_to_tensor", img, error))
        return NULL;
    int c = img->channels, h = img->height, w = img->width;
    rg_tensor *t = rg_tensor_new(RG_DTYPE_F32, 4, (int64_t[]){1, c, h, w}, error);
    if (!t)
        return NULL;
    float *d = rg_tensor_data_f32(t); // (1, C, H, W)
    size_t plane = (size_t)h * w;
    for (size_t i = 0; i < plane; i++)
        for (int ch = 0; ch < c; ch++)
            d[ch * plane + i] = (float)(2 * img->data[i * c + ch] - 255) / 255.0f; /* one rounding */
    return t;
}

gboolean rg_image_planes_from_tensor(const char *op, rg_tensor *t, rg_image_planes *p, GError **error)
{
    if (!t) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: the tensor is missing", op);
        return FALSE;
    }
    g_autofree char *shape = rg_tensor_shape_string(t);
    if (rg_tensor_dtype(t) != RG_DTYPE_F32) {
        g_set_error(error, RG_ERROR, RG_ERROR_DTYPE, "%s: tensor %s is %s, expected F32", op, shape,
                    rg_dtype_name(rg_tensor_dtype(t)));
        return FALSE;
    }
    int nd = rg_tensor_ndim(t);
    const int64_t *s = rg_tensor_shape(t), *st = rg_tensor_strides(t);
    if ((nd != 3 && nd != 4) || (nd == 4 && s[0] != 1)) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: tensor %s, expected (C, H, W) or (1, C, H, W)", op,
                    shape);
        return FALSE;
    }
    int o = nd - 3;
    if (s[o] < 1 || s[o + 1] < 1 || s[o + 2] < 1 || s[o] > G_MAXINT) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: tensor %s is empty", op, shape);
        return FALSE;
    }
    if (s[o + 1] * s[o + 2] > RG_IMAGE_MAX_PIXELS) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: tensor %s has more than %d pixels", op, shape,
                    RG_IMAGE_MAX_PIXELS);
        return FALSE;
    }
    p->c = (int)s[o];
    p->h = (int)s[o + 1];
    p->w = (int)s[o + 2];
    p->sc = st[o];
    p->sh = st[o + 1];
    p->sw = st[o + 2];
    p->data = rg_tensor_data_f32(t);
    return TRUE;
}

rg_image *rg_image_from_tensor(rg_tensor *t, float lo, float hi, GError **error)
{
    rg_image_planes p;
    if (!rg_image_planes_from_tensor("image_from_tensor", t, &p, error))
        return NULL;
    if (p.c != 1 && p.c != 3 && p.c != 4) {
        g_autofree char *shape = rg_tensor_shape_string(t);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "image_from_tensor: tensor %s has %d channels, expected 1, 3 or 4",
                    shape, p.c);
        return NULL;
    }
    if (!isfinite(lo) || !isfinite(hi) || lo == hi) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "image_from_tensor: bad value range [%g, %g]", lo, hi);
        return NULL;
    }
    rg_image *img = image_new("image_from_tensor", p.w, p.h, p.c, FALSE, error);
    if (!img)
        return NULL;
    /* In double so that lo + k (hi - lo) / 255 lands back on k exactly. */
    double scale = 255.0 / ((double)hi - (double)lo);
    for (int y = 0; y < p.h; y++)
        for (int x = 0; x < p.w; x++)
            for (int ch = 0; ch < p.c; ch++) {
                double v = ((double)rg_image_planes_at(&p, ch, y, x) - lo) * scale;
                /* NaN fails both comparisons and lands on 0. */
                guint8 b = v >= 254.5 ? 255 : v > 0.0 ? (guint8)(v + 0.5) : 0;
                img->data[((size_t)y * p.w + x) * p.c + ch] = b;
            }
    return img;
}
