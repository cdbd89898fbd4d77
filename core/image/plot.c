/* plot.c — line charts of training curves as pictures (the shipped demo
 * model's training_curves.png): one panel per curve set, the raw values in
 * grey and their running average in colour, a log scale when all values are
 * positive, and labels in a built-in 3x5 pixel font. */
#include <math.h>
#include <string.h>

#include "readout/image.h"

/* 3x5 glyphs, five rows of three bits (MSB left), for what labels use. */
static const struct {
    char c;
    unsigned short rows[5];
} glyphs[] = {
    {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}}, {'3', {7, 1, 7, 1, 7}},
    {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}}, {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 1, 1}},
    {'8', {7, 5, 7, 5, 7}}, {'9', {7, 5, 7, 1, 7}}, {'A', {2, 5, 7, 5, 5}}, {'B', {6, 5, 6, 5, 6}},
    {'C', {3, 4, 4, 4, 3}}, {'D', {6, 5, 5, 5, 6}}, {'E', {7, 4, 6, 4, 7}}, {'F', {7, 4, 6, 4, 4}},
    {'G', {3, 4, 5, 5, 3}}, {'H', {5, 5, 7, 5, 5}}, {'I', {7, 2, 2, 2, 7}}, {'J', {1, 1, 1, 5, 2}},
    {'K', {5, 5, 6, 5, 5}}, {'L', {4, 4, 4, 4, 7}}, {'M', {5, 7, 7, 5, 5}}, {'N', {6, 5, 5, 5, 5}},
    {'O', {2, 5, 5, 5, 2}}, {'P', {6, 5, 6, 4, 4}}, {'Q', {2, 5, 5, 6, 3}}, {'R', {6, 5, 6, 5, 5}},
    {'S', {3, 4, 2, 1, 6}}, {'T', {7, 2, 2, 2, 2}}, {'U', {5, 5, 5, 5, 7}}, {'V', {5, 5, 5, 5, 2}},
    {'W', {5, 5, 7, 7, 5}}, {'X', {5, 5, 2, 5, 5}}, {'Y', {5, 5, 2, 2, 2}}, {'Z', {7, 1, 2, 4, 7}},
    {'.', {0, 0, 0, 0, 2}}, {'-', {0, 0, 7, 0, 0}}, {'+', {0, 2, 7, 2, 0}}, {':', {0, 2, 0, 2, 0}},
    {'_', {0, 0, 0, 0, 7}}, {'/', {1, 1, 2, 4, 4}},
};

/* Draws @text (upper-cased) at (x, y), each font pixel @scale x @scale. */
static void draw_text(rg_image *img, int x, int y, const char *text, int scale, const guint8 rgb[3])
{
    for (; *text; text++, x += 4 * scale) {
        const char c = g_ascii_toupper(*text);
        for (size_t g = 0; g < G_N_ELEMENTS(glyphs); g++) {
            if (glyphs[g].c != c)
                continue;
            for (int r = 0; r < 5; r++)
                for (int b = 0; b < 3; b++)
                    if (glyphs[g].rows[r] & (4 >> b))
                        for (int dy = 0; dy < scale; dy++)
                            for (int dx = 0; dx < scale; dx++)
                                rg_image_draw_dot(img, (float)(x + b * scale + dx), (float)(y + r * scale + dy), rgb,
                                                  0);
        }
    }
}

enum { PANEL_W = 480, PANEL_H = 220, LEFT = 56, RIGHT = 12, TOP = 22, BOTTOM = 22 };

static void draw_panel(rg_image *img, int oy, const rg_plot_curve *c)
{
    const guint8 black[3] = {0, 0, 0}, grey[3] = {190, 190, 190}, blue[3] = {30, 90, 200}, axis[3] = {90, 90, 90};
    double lo = INFINITY, hi = -INFINITY, xmax = 1;
    gboolean positive = TRUE;
    for (int i = 0; i < c->n; i++) {
        for (int k = 0; k < 2; k++) {
            const double v = k ? c->average[i] : c->value[i];
            if (!isfinite(v))
                continue;
            lo = MIN(lo, v), hi = MAX(hi, v), positive &= v > 0;
        }
        xmax = MAX(xmax, c->step[i]);
    }
    if (!(lo < hi))
        lo -= 0.5, hi += 0.5;
    const double flo = positive ? log10(lo) : lo, fhi = positive ? log10(hi) : hi;
    const int x0 = LEFT, x1 = PANEL_W - RIGHT, y0 = oy + TOP, y1 = oy + PANEL_H - BOTTOM;
    draw_text(img, LEFT, oy + 6, c->title, 2, black);
    rg_image_draw_line(img, x0, y0, x0, y1, axis, 1);
    rg_image_draw_line(img, x0, y1, x1, y1, axis, 1);
    char label[32];
    g_snprintf(label, sizeof label, "%.3g", hi);
    draw_text(img, 4, y0, label, 2, black);
    g_snprintf(label, sizeof label, "%.3g", lo);
    draw_text(img, 4, y1 - 10, label, 2, black);
    g_snprintf(label, sizeof label, "%.0f", xmax);
    draw_text(img, x1 - 4 * 2 * (int)strlen(label), y1 + 6, label, 2, black);
    draw_text(img, x0, y1 + 6, positive ? "0   LOG SCALE" : "0", 2, black);
    for (int k = 0; k < 2; k++) {
        float px = NAN, py = NAN;
        for (int i = 0; i < c->n; i++) {
            const double v = k ? c->average[i] : c->value[i];
            if (!isfinite(v) || (positive && v <= 0))
                continue;
            const double f = ((positive ? log10(v) : v) - flo) / (fhi - flo);
            const float x = (float)(x0 + (x1 - x0) * c->step[i] / xmax), y = (float)(y1 - (y1 - y0) * f);
            if (!isnan(px))
                rg_image_draw_line(img, px, py, x, y, k ? blue : grey, k ? 2 : 1);
            px = x, py = y;
        }
    }
}

rg_image *rg_plot_curves(const rg_plot_curve *curves, int n, GError **error)
{
    if (n < 1) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "plot: no curves");
        return NULL;
    }
    rg_image *img = rg_image_new(PANEL_W, PANEL_H * n, 3, error);
    if (!img)
        return NULL;
    memset(img->data, 255, (size_t)PANEL_W * PANEL_H * n * 3);
    for (int k = 0; k < n; k++)
        draw_panel(img, k * PANEL_H, &curves[k]);
    return img;
}
