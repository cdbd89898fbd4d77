/* scene_render.c — pixels of the demo world: fixed-point object geometry
 * (which object covers a sample, with what colour), extents, the background
 * gradient with value noise, and the anti-aliased render with its label map.
 *
 * Everything that decides a pixel is integer arithmetic (scene_impl.h), so
 * the same description gives the same bytes on every machine. Each pixel
 * averages 4x4 samples; its label is the layer covering most of them.
 */
#include <math.h>
#include <string.h>

#include "demo/scene_impl.h"

#define Q8 256
#define SAMPLES 4 /* per pixel side */

static const guint8 eye_rim_rgb[3] = {250, 250, 250};
static const guint8 eye_pupil_rgb[3] = {20, 20, 20};

static int64_t floor_div(int64_t a, int64_t b) /* b > 0 */
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t round_shift16(int64_t v)
{
    /* Arithmetic right shift, rounding halves up (gcc and clang shift signed values arithmetically). */
    return (v + 32768) >> 16;
}

/* cos and sin of @phase (turns in Q32) in Q16: a fixed-point Taylor series
 * on a quarter turn (error below 1e-7), then the quadrant's symmetry. */
static void sincos_phase(guint32 phase, int64_t *c, int64_t *s)
{
    const int64_t one = (int64_t)1 << 30;
    const int64_t half_pi_q30 = 1686629713; /* pi / 2 in Q30 */
    const int quadrant = (int)(phase >> 30);
    const int64_t x = ((int64_t)(phase & 0x3FFFFFFFu) * half_pi_q30) >> 30; /* [0, pi/2), Q30 */
    const int64_t x2 = (x * x) >> 30;
    int64_t t = one;
    static const int sin_div[] = {110, 72, 42, 20, 6};
    for (int i = 0; i < 5; i++)
        t = one - ((x2 * t) >> 30) / sin_div[i];
    const int64_t sn = (x * t) >> 30;
    t = one;
    static const int cos_div[] = {132, 90, 56, 30, 12, 2};
    for (int i = 0; i < 6; i++)
        t = one - ((x2 * t) >> 30) / cos_div[i];
    const int64_t cs = t;
    int64_t sv, cv;
    switch (quadrant) {
    case 0:
        sv = sn, cv = cs;
        break;
    case 1:
        sv = cs, cv = -sn;
        break;
    case 2:
        sv = -sn, cv = -cs;
        break;
    default:
        sv = -cs, cv = sn;
        break;
    }
    *c = (cv + 8192) >> 14;
    *s = (sv + 8192) >> 14;
}

void rg_scene_sincos(float angle, int64_t *c, int64_t *s)
{
    /* The angle in Q20 radians (exact scaling, then rounded), times
     * 2^44 / (2 pi) gives turns in Q64: the unsigned product wraps modulo
     * one turn, which is the range reduction. */
    double a = isfinite(angle) ? (double)angle * 1048576.0 : 0.0;
    if (fabs(a) > 1e18)
        a = 0.0;
    const guint64 aq = (guint64)(int64_t)llrint(a);
    const guint64 k = 2799883368761ull; /* round(2^44 / (2 pi)) */
    sincos_phase((guint32)((aq * k) >> 32), c, s);
}

static int64_t to_q8(float v, float lo, float hi)
{
    if (!(v >= lo)) /* NaN too */
        v = lo;
    if (v > hi)
        v = hi;
    return (int64_t)llrint((double)v * Q8);
}

/* Local (u, v) -> offset from the centre in image coordinates (all Q8). */
static void rotate(const rg_scene_prep *p, int64_t u, int64_t v, int64_t *x, int64_t *y)
{
    *x = round_shift16(p->c * u - p->s * v);
    *y = round_shift16(p->s * u + p->c * v);
}

void rg_scene_prepare(const rg_scene_object *o, rg_scene_prep *p)
{
    memset(p, 0, sizeof *p);
    p->shape = (unsigned)o->shape < RG_SHAPE_COUNT ? o->shape : RG_SHAPE_ELLIPSE;
    p->texture = (unsigned)o->texture < RG_TEXTURE_COUNT ? o->texture : RG_TEXTURE_PLAIN;
    p->cx = to_q8(o->cx, -256.0f, 320.0f);
    p->cy = to_q8(o->cy, -256.0f, 320.0f);
    p->rx = to_q8(o->rx, 0.25f, 128.0f);
    p->ry = to_q8(o->ry, 0.25f, 128.0f);
    rg_scene_sincos(o->angle, &p->c, &p->s);
    p->period = MAX((p->rx + p->ry) / 4, 64);
    rg_scene_color_rgb(o->color, p->rgb);
    rg_scene_color_rgb(o->color2, p->rgb2);
    for (int k = 0; k < 10; k++) {
        int64_t ck, sk;
        sincos_phase((guint32)(((guint64)k << 32) / 10), &ck, &sk);
        const int64_t r = (k % 2) ? RG_SCENE_STAR_INNER : 1000;
        p->star[k][0] = round_shift16(p->rx * r / 1000 * ck);
        p->star[k][1] = round_shift16(p->ry * r / 1000 * sk);
    }
}

static void to_local(const rg_scene_prep *p, int64_t x, int64_t y, int64_t *u, int64_t *v)
{
    const int64_t dx = x - p->cx, dy = y - p->cy;
    *u = round_shift16(p->c * dx + p->s * dy);
    *v = round_shift16(p->c * dy - p->s * dx);
}

/* Inside the ellipse of radii (a, b) centred at the origin (all Q8, a, b <= 2^15)? */
static gboolean in_ellipse(int64_t du, int64_t dv, int64_t a, int64_t b)
{
    if (du > a || du < -a || dv > b || dv < -b)
        return FALSE;
    return du * du * b * b + dv * dv * a * a <= a * a * b * b;
}

/* Even-odd rule over the star's ten edges, in integers. */
static gboolean in_star(const rg_scene_prep *p, int64_t u, int64_t v)
{
    if (u > p->rx || u < -p->rx || v > p->ry || v < -p->ry)
        return FALSE;
    gboolean inside = FALSE;
    for (int i = 0, j = 9; i < 10; j = i++) {
        const int64_t x1 = p->star[j][0], y1 = p->star[j][1], x2 = p->star[i][0], y2 = p->star[i][1];
        if ((y1 > v) == (y2 > v))
            continue;
        /* Crossing right of the point: u < x1 + (v - y1) (x2 - x1) / (y2 - y1). */
        const int64_t lhs = (u - x1) * (y2 - y1), rhs = (v - y1) * (x2 - x1);
        if (y2 > y1 ? lhs < rhs : lhs > rhs)
            inside = !inside;
    }
    return inside;
}

static const guint8 *texture_rgb(const rg_scene_prep *p, int64_t u, int64_t v)
{
    const int64_t period = p->period, half = period / 2;
    switch (p->texture) {
    case RG_TEXTURE_STRIPED:
        return (floor_div(u, half) & 1) ? p->rgb2 : p->rgb;
    case RG_TEXTURE_CHECKERED:
        return ((floor_div(u, half) + floor_div(v, half)) & 1) ? p->rgb2 : p->rgb;
    case RG_TEXTURE_DOTTED: {
        const int64_t du = u - floor_div(u, period) * period - half, dv = v - floor_div(v, period) * period - half;
        const int64_t r = period * 3 / 10;
        return du * du + dv * dv <= r * r ? p->rgb2 : p->rgb;
    }
    default:
        return p->rgb;
    }
}

static int64_t pm(int64_t len, int permille)
{
    return len * permille / 1000;
}

gboolean rg_scene_prep_sample(const rg_scene_prep *p, int64_t x, int64_t y, guint8 rgb[3])
{
    int64_t u, v;
    to_local(p, x, y, &u, &v);
    const guint8 *col = NULL;
    switch (p->shape) {
    case RG_SHAPE_BOX:
        if (u <= p->rx && u >= -p->rx && v <= p->ry && v >= -p->ry)
            col = texture_rgb(p, u, v);
        break;
    case RG_SHAPE_STAR:
        if (in_star(p, u, v))
            col = texture_rgb(p, u, v);
        break;
    case RG_SHAPE_CREATURE: {
        /* Eyes first (on top of the head), then the head, then the body. */
        const int64_t rim = pm(p->ry, RG_SCENE_EYE_RIM), pupil = pm(p->ry, RG_SCENE_EYE_PUPIL);
        const int64_t eu = pm(p->rx, RG_SCENE_EYE_U), ev = pm(p->ry, RG_SCENE_EYE_V);
        for (int side = -1; side <= 1 && !col; side += 2) {
            const int64_t du = u - eu, dv = v - side * ev;
            const int64_t pu = du - (rim - pupil) / 2; /* the pupil looks forward */
            if (pu * pu + dv * dv <= pupil * pupil)
                col = eye_pupil_rgb;
            else if (du * du + dv * dv <= rim * rim)
                col = eye_rim_rgb;
        }
        if (!col &&
            (in_ellipse(u - pm(p->rx, RG_SCENE_HEAD_U), v, pm(p->rx, RG_SCENE_HEAD_A), pm(p->ry, RG_SCENE_HEAD_B)) ||
             in_ellipse(u - pm(p->rx, RG_SCENE_BODY_U), v, pm(p->rx, RG_SCENE_BODY_A), pm(p->ry, RG_SCENE_BODY_B))))
            col = texture_rgb(p, u, v);
        break;
    }
    default:
        if (in_ellipse(u, v, p->rx, p->ry))
            col = texture_rgb(p, u, v);
        break;
    }
    if (col && rgb)
        memcpy(rgb, col, 3);
    return col != NULL;
}

static int64_t isqrt_ceil(guint64 n)
{
    guint64 r = (guint64)sqrt((double)n);
    while (r > 0 && r * r > n)
        r--;
    while ((r + 1) * (r + 1) <= n)
        r++;
    return (int64_t)(r * r < n ? r + 1 : r);
}

static void extend(int64_t ext[4], int64_t x0, int64_t y0, int64_t x1, int64_t y1)
{
    ext[0] = MIN(ext[0], x0);
    ext[1] = MIN(ext[1], y0);
    ext[2] = MAX(ext[2], x1);
    ext[3] = MAX(ext[3], y1);
}

static void extend_point(const rg_scene_prep *p, int64_t ext[4], int64_t u, int64_t v)
{
    int64_t x, y;
    rotate(p, u, v, &x, &y);
    extend(ext, x, y, x, y);
}

/* The rotated ellipse of radii (a, b) at local (eu, 0): half widths sqrt((c a)^2 + (s b)^2), ... */
static void extend_ellipse(const rg_scene_prep *p, int64_t ext[4], int64_t eu, int64_t a, int64_t b)
{
    int64_t ox, oy;
    rotate(p, eu, 0, &ox, &oy);
    const int64_t ca = p->c * a >> 4, sb = p->s * b >> 4, sa = p->s * a >> 4, cb = p->c * b >> 4; /* Q20 */
    const int64_t hw = (isqrt_ceil((guint64)(ca * ca + sb * sb)) + 4095) >> 12;
    const int64_t hh = (isqrt_ceil((guint64)(sa * sa + cb * cb)) + 4095) >> 12;
    extend(ext, ox - hw, oy - hh, ox + hw, oy + hh);
}

void rg_scene_prep_extents(const rg_scene_prep *p, int64_t ext[4])
{
    ext[0] = ext[1] = INT64_MAX;
    ext[2] = ext[3] = INT64_MIN;
    switch (p->shape) {
    case RG_SHAPE_BOX:
        for (int i = 0; i < 4; i++)
            extend_point(p, ext, (i & 1) ? p->rx : -p->rx, (i & 2) ? p->ry : -p->ry);
        break;
    case RG_SHAPE_STAR:
        for (int k = 0; k < 10; k++)
            extend_point(p, ext, p->star[k][0], p->star[k][1]);
        break;
    case RG_SHAPE_CREATURE: /* the eyes lie inside the head */
        extend_ellipse(p, ext, pm(p->rx, RG_SCENE_HEAD_U), pm(p->rx, RG_SCENE_HEAD_A), pm(p->ry, RG_SCENE_HEAD_B));
        extend_ellipse(p, ext, pm(p->rx, RG_SCENE_BODY_U), pm(p->rx, RG_SCENE_BODY_A), pm(p->ry, RG_SCENE_BODY_B));
        break;
    default:
        extend_ellipse(p, ext, 0, p->rx, p->ry);
        break;
    }
    /* A margin for the rounding of local coordinates (below one Q8 unit). */
    ext[0] -= 2, ext[1] -= 2, ext[2] += 2, ext[3] += 2;
}

void rg_scene_prep_point(const rg_scene_prep *p, int u_pm, int v_pm, int64_t *x, int64_t *y)
{
    rotate(p, pm(p->rx, u_pm), pm(p->ry, v_pm), x, y);
    *x += p->cx;
    *y += p->cy;
}

/* Layer at one sample: k + 1 for the topmost object covering it, else 0. */
static int sample_layer(const rg_scene_prep *p, int n, int64_t x, int64_t y, guint8 rgb[3])
{
    for (int k = n - 1; k >= 0; k--)
        if (rg_scene_prep_sample(&p[k], x, y, rgb))
            return k + 1;
    return 0;
}

/* Samples of pixel (x, y): the layer counts, and the colour sums of the
 * objects' samples (the background's samples are left to the caller). */
static int pixel_samples(const rg_scene_prep *p, int n, int x, int y, int counts[RG_SCENE_MAX_OBJECTS + 1], int sum[3])
{
    memset(counts, 0, sizeof(int) * (RG_SCENE_MAX_OBJECTS + 1));
    for (int sy = 0; sy < SAMPLES; sy++)
        for (int sx = 0; sx < SAMPLES; sx++) {
            guint8 rgb[3];
            const int64_t X = (int64_t)x * Q8 + (2 * sx + 1) * Q8 / (2 * SAMPLES);
            const int64_t Y = (int64_t)y * Q8 + (2 * sy + 1) * Q8 / (2 * SAMPLES);
            const int layer = sample_layer(p, n, X, Y, sum ? rgb : NULL);
            counts[layer]++;
            if (layer && sum)
                for (int c = 0; c < 3; c++)
                    sum[c] += rgb[c];
        }
    int best = 0;
    for (int l = 1; l <= n; l++)
        if (counts[l] >= counts[best])
            best = l;
    return best;
}

int rg_scene_pixel_label(const rg_scene_prep *p, int n, int x, int y)
{
    int counts[RG_SCENE_MAX_OBJECTS + 1];
    return pixel_samples(p, n, x, y, counts, NULL);
}

/* Smooth value noise of one octave at Q8 position (X, Y): random values on a
 * grid of @cell pixels in [-amp, amp] levels (Q8), smoothstep-interpolated. */
static int64_t value_noise(guint64 seed, int octave, int cell, int amp, int64_t X, int64_t Y)
{
    const int64_t size = (int64_t)cell * Q8;
    const int64_t i = X / size, j = Y / size;
    int64_t f[2] = {(X % size) * 65536 / size, (Y % size) * 65536 / size}; /* Q16 */
    for (int d = 0; d < 2; d++)
        f[d] = ((f[d] * f[d] >> 16) * (3 * 65536 - 2 * f[d])) >> 16; /* smoothstep, Q16 */
    int64_t val[2][2];
    for (int dj = 0; dj < 2; dj++)
        for (int di = 0; di < 2; di++) {
            guint64 st = seed ^ ((guint64)octave << 48) ^ ((guint64)(j + dj) << 24) ^ (guint64)(i + di);
            const int64_t r = (int64_t)(rg_scene_mix(&st) >> 40); /* 24 bits */
            val[dj][di] = (r * (2 * amp * Q8 + 1) >> 24) - amp * Q8;
        }
    const int64_t top = val[0][0] + (((val[0][1] - val[0][0]) * f[0]) >> 16);
    const int64_t bottom = val[1][0] + (((val[1][1] - val[1][0]) * f[0]) >> 16);
    return top + (((bottom - top) * f[1]) >> 16);
}

/* The background at the centre of pixel (x, y): the gradient between the two
 * colours along bg_angle across the whole image, plus three octaves of value
 * noise (at most 15 levels, the same on every channel). */
static void background_rgb(const rg_scene *s, int64_t c, int64_t sn, int x, int y, guint8 rgb[3])
{
    const int64_t X = (int64_t)x * Q8 + Q8 / 2, Y = (int64_t)y * Q8 + Q8 / 2;
    const int64_t half = 11585; /* 32 sqrt(2) pixels, Q8: the image's half diagonal */
    const int64_t proj = round_shift16((X - 32 * Q8) * c + (Y - 32 * Q8) * sn);
    const int64_t t = CLAMP((proj + half) * 65536 / (2 * half), 0, 65536);
    const int64_t noise = value_noise(s->bg_texture_seed, 0, 32, 6, X, Y) +
                          value_noise(s->bg_texture_seed, 1, 16, 6, X, Y) +
                          value_noise(s->bg_texture_seed, 2, 8, 3, X, Y);
    guint8 a[3], b[3];
    rg_scene_color_rgb(s->bg_color[0], a);
    rg_scene_color_rgb(s->bg_color[1], b);
    for (int ch = 0; ch < 3; ch++) {
        const int64_t v = a[ch] * Q8 + (((int64_t)(b[ch] - a[ch]) * Q8 * t) >> 16) + noise;
        rgb[ch] = (guint8)CLAMP((v + Q8 / 2) >> 8, 0, 255);
    }
}

static gboolean check_scene(const rg_scene *s, GError **error)
{
    if (!s) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "rg_scene_render: no scene");
        return FALSE;
    }
    if (s->n_objects < 0 || s->n_objects > RG_SCENE_MAX_OBJECTS) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "rg_scene_render: n_objects %d is not in 0..%d", s->n_objects,
                    RG_SCENE_MAX_OBJECTS);
        return FALSE;
    }
    const int nc = rg_scene_n_colors();
    for (int i = 0; i < 2; i++)
        if (s->bg_color[i] < 0 || s->bg_color[i] >= nc) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                        "rg_scene_render: background colour %d is %d, not a palette index in 0..%d", i, s->bg_color[i],
                        nc - 1);
            return FALSE;
        }
    for (int k = 0; k < s->n_objects; k++) {
        const rg_scene_object *o = &s->objects[k];
        if ((unsigned)o->shape >= RG_SHAPE_COUNT || (unsigned)o->texture >= RG_TEXTURE_COUNT || o->color < 0 ||
            o->color >= nc || o->color2 < 0 || o->color2 >= nc) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                        "rg_scene_render: object %d has shape %d, texture %d, colours %d and %d (shapes 0..%d, "
                        "textures 0..%d, colours 0..%d)",
                        k, (int)o->shape, (int)o->texture, o->color, o->color2, RG_SHAPE_COUNT - 1,
                        RG_TEXTURE_COUNT - 1, nc - 1);
            return FALSE;
        }
    }
    return TRUE;
}

rg_image *rg_scene_render(const rg_scene *s, rg_image **labels, GError **error)
{
    if (labels)
        *labels = NULL;
    if (!check_scene(s, error))
        return NULL;
    g_autoptr(rg_image) img = rg_image_new(RG_SCENE_SIZE, RG_SCENE_SIZE, 3, error);
    if (!img)
        return NULL;
    g_autoptr(rg_image) lab = labels ? rg_image_new(RG_SCENE_SIZE, RG_SCENE_SIZE, 1, error) : NULL;
    if (labels && !lab)
        return NULL;
    rg_scene_prep p[RG_SCENE_MAX_OBJECTS];
    for (int k = 0; k < s->n_objects; k++)
        rg_scene_prepare(&s->objects[k], &p[k]);
    int64_t c, sn;
    rg_scene_sincos(s->bg_angle, &c, &sn);
    for (int y = 0; y < RG_SCENE_SIZE; y++)
        for (int x = 0; x < RG_SCENE_SIZE; x++) {
            int counts[RG_SCENE_MAX_OBJECTS + 1], sum[3] = {0, 0, 0};
            const int label = pixel_samples(p, s->n_objects, x, y, counts, sum);
            guint8 bg[3];
            background_rgb(s, c, sn, x, y, bg);
            guint8 *out = img->data + ((size_t)y * RG_SCENE_SIZE + x) * 3;
            for (int ch = 0; ch < 3; ch++)
                out[ch] = (guint8)((sum[ch] + counts[0] * bg[ch] + SAMPLES * SAMPLES / 2) / (SAMPLES * SAMPLES));
            if (lab)
                lab->data[y * RG_SCENE_SIZE + x] = (guint8)label;
        }
    if (labels)
        *labels = g_steal_pointer(&lab);
    return g_steal_pointer(&img);
}
