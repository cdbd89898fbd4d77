/* image_surface.c — rg_image to cairo image surface (see image_surface.h). */
#include "image_surface.h"

cairo_surface_t *rg_image_surface_new(const rg_image *img)
{
    if (!img)
        return NULL;
    gboolean alpha = img->channels == 4;
    cairo_surface_t *s =
        cairo_image_surface_create(alpha ? CAIRO_FORMAT_ARGB32 : CAIRO_FORMAT_RGB24, img->width, img->height);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return s; // an error surface draws nothing, which is all a widget can do here
    cairo_surface_flush(s);
    guint8 *dst = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s), c = img->channels;
    for (int y = 0; y < img->height; y++) {
        const guint8 *in = img->data + (size_t)y * (size_t)img->width * (size_t)c;
        guint32 *out = (guint32 *)(void *)(dst + (size_t)y * (size_t)stride);
        for (int x = 0; x < img->width; x++, in += c) {
            guint32 r = in[0], g = c >= 3 ? in[1] : in[0], b = c >= 3 ? in[2] : in[0], a = alpha ? in[3] : 255;
            if (alpha) { // cairo wants premultiplied samples
                r = (r * a + 127) / 255;
                g = (g * a + 127) / 255;
                b = (b * a + 127) / 255;
            }
            out[x] = (a << 24) | (r << 16) | (g << 8) | b;
        }
    }
    cairo_surface_mark_dirty(s);
    return s;
}
