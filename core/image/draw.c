/* draw.c — marks on pictures: lines, arrows and dots (the demo's drag
 * arrows, the quality benchmark's figures). */
#include <math.h>

#include "readout/image.h"

static void plot(rg_image *img, int x, int y, const guint8 *rgb, int radius)
{
    for (int dy = -radius; dy <= radius; dy++)
        for (int dx = -radius; dx <= radius; dx++) {
            const int px = x + dx, py = y + dy;
            if (px < 0 || py < 0 || px >= img->width || py >= img->height || dx * dx + dy * dy > radius * radius + 1)
                continue;
            guint8 *p = img->data + ((size_t)py * img->width + px) * img->channels;
            for (int c = 0; c < MIN(img->channels, 3); c++)
                p[c] = img->channels >= 3 ? rgb[c] : rgb[1];
        }
}

void rg_image_draw_line(rg_image *img, float x0, float y0, float x1, float y1, const guint8 rgb[3], int width)
{
    const float len = hypotf(x1 - x0, y1 - y0);
    const int n = MAX(1, (int)ceilf(len * 2));
    for (int i = 0; i <= n; i++) {
        const float t = (float)i / (float)n;
        plot(img, (int)lrintf(x0 + t * (x1 - x0)), (int)lrintf(y0 + t * (y1 - y0)), rgb, width / 2);
    }
}

void rg_image_draw_dot(rg_image *img, float x, float y, const guint8 rgb[3], int radius)
{
    plot(img, (int)lrintf(x), (int)lrintf(y), rgb, radius);
}

void rg_image_draw_arrow(rg_image *img, float x0, float y0, float x1, float y1, const guint8 rgb[3], int width)
{
    rg_image_draw_line(img, x0, y0, x1, y1, rgb, width);
    const float len = hypotf(x1 - x0, y1 - y0);
    if (len < 1e-3f)
        return;
    const float ux = (x1 - x0) / len, uy = (y1 - y0) / len, head = fminf(len * 0.4f, 4.0f + 2.0f * width);
    // two barbs at +-30 degrees from the shaft, pointing back
    const float c = 0.866f, s = 0.5f;
    rg_image_draw_line(img, x1, y1, x1 - head * (c * ux - s * uy), y1 - head * (s * ux + c * uy), rgb, width);
    rg_image_draw_line(img, x1, y1, x1 - head * (c * ux + s * uy), y1 - head * (-s * ux + c * uy), rgb, width);
}
