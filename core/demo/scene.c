/* scene.c — the demo world's descriptions: the palette, the seeded scene
 * generator (background, 1..3 objects placed by rejection sampling so that
 * each stays mostly visible), the training variants (object transforms with
 * exact point tracks, recolouring, re-laying out), bounding boxes and key
 * points, captions and the metadata JSON of issue 5.
 *
 * Every random draw is an integer from splitmix64 and every float stored in
 * a generated scene is a small integer over a power of two (positions and
 * sizes in 1/16 pixel, angles from a table of 32), so a seed gives the same
 * description everywhere; scene_render.c turns it into pixels in integers.
 */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "demo/scene_impl.h"
#include "base/json.h"

#define Q8 256
#define N_ANGLES 32
#define MIN_VISIBLE_PERMILLE 750 /* of each object's area, once later objects are painted */
#define MIN_COLOR_DISTANCE 90    /* RGB distance of an object's colour from the background's gradient */
#define PLACE_ATTEMPTS 200

static const struct {
    const char *name;
    guint8 rgb[3];
} palette[] = {
    {"red", {215, 45, 45}},   {"orange", {245, 140, 30}}, {"yellow", {240, 215, 50}}, {"green", {60, 165, 70}},
    {"cyan", {50, 190, 205}}, {"blue", {45, 85, 215}},    {"purple", {140, 65, 185}}, {"pink", {245, 140, 190}},
    {"brown", {125, 80, 45}}, {"white", {242, 242, 242}}, {"gray", {128, 128, 128}},  {"black", {28, 28, 28}},
};
#define N_COLORS ((int)G_N_ELEMENTS(palette))

static const char *const shape_names[RG_SHAPE_COUNT] = {"ellipse", "box", "star", "creature"};
static const char *const texture_names[RG_TEXTURE_COUNT] = {"plain", "striped", "dotted", "checkered"};

int rg_scene_n_colors(void)
{
    return N_COLORS;
}

const char *rg_scene_color_name(int color)
{
    return color >= 0 && color < N_COLORS ? palette[color].name : "unknown";
}

void rg_scene_color_rgb(int color, guint8 rgb[3])
{
    if (color < 0 || color >= N_COLORS)
        color = 0;
    memcpy(rgb, palette[color].rgb, 3);
}

typedef struct {
    guint64 state;
} rng;

static guint64 next(rng *r)
{
    return rg_scene_mix(&r->state);
}

static int below(rng *r, int n)
{
    return (int)(((next(r) >> 32) * (guint64)n) >> 32);
}

static int between(rng *r, int lo, int hi)
{
    return lo + below(r, hi - lo + 1);
}

static float table_angle(int k)
{
    return (float)(k * (G_PI / 16));
}

/* Squared RGB distance of @color from the segment between the two background colours. */
static int64_t distance2_from_background(const rg_scene *s, int color)
{
    guint8 a[3], b[3], p[3];
    rg_scene_color_rgb(s->bg_color[0], a);
    rg_scene_color_rgb(s->bg_color[1], b);
    rg_scene_color_rgb(color, p);
    int64_t pa2 = 0, pb2 = 0, ba2 = 0, dot = 0;
    for (int c = 0; c < 3; c++) {
        pa2 += (int64_t)(p[c] - a[c]) * (p[c] - a[c]);
        pb2 += (int64_t)(p[c] - b[c]) * (p[c] - b[c]);
        ba2 += (int64_t)(b[c] - a[c]) * (b[c] - a[c]);
        dot += (int64_t)(p[c] - a[c]) * (b[c] - a[c]);
    }
    if (dot <= 0 || ba2 == 0)
        return pa2;
    if (dot >= ba2)
        return pb2;
    return (pa2 * ba2 - dot * dot) / ba2;
}

static int64_t distance2(int c1, int c2)
{
    guint8 a[3], b[3];
    rg_scene_color_rgb(c1, a);
    rg_scene_color_rgb(c2, b);
    int64_t d = 0;
    for (int c = 0; c < 3; c++)
        d += (int64_t)(a[c] - b[c]) * (a[c] - b[c]);
    return d;
}

/* A colour that stands out from the background, unused by objects[0..k-1]
 * and not @avoid; -1 when there is none. */
static int draw_color(rng *r, const rg_scene *s, int k, int avoid)
{
    int cand[N_COLORS], n = 0;
    for (int c = 0; c < N_COLORS; c++) {
        gboolean used = c == avoid || distance2_from_background(s, c) < MIN_COLOR_DISTANCE * MIN_COLOR_DISTANCE;
        for (int j = 0; j < k; j++)
            used |= s->objects[j].color == c;
        if (!used)
            cand[n++] = c;
    }
    return n ? cand[below(r, n)] : -1;
}

/* The texture's second colour: one that differs clearly from @color. */
static int draw_color2(rng *r, int color)
{
    int cand[N_COLORS], n = 0;
    for (int c = 0; c < N_COLORS; c++)
        if (distance2(c, color) >= 100 * 100)
            cand[n++] = c;
    return cand[below(r, n)];
}

static rg_texture draw_texture(rng *r)
{
    const int t = below(r, 10); /* plain 40%, the others 20% each */
    return t < 4 ? RG_TEXTURE_PLAIN : (rg_texture)(1 + (t - 4) / 2);
}

static int count_object_colors(const rg_scene *s)
{
    int n = 0;
    for (int c = 0; c < N_COLORS; c++)
        n += distance2_from_background(s, c) >= MIN_COLOR_DISTANCE * MIN_COLOR_DISTANCE;
    return n;
}

/* Two different background colours that leave at least four object colours. */
static void draw_background(rg_scene *s, rng *r)
{
    do {
        s->bg_color[0] = below(r, N_COLORS);
        s->bg_color[1] = below(r, N_COLORS - 1);
        s->bg_color[1] += s->bg_color[1] >= s->bg_color[0];
    } while (count_object_colors(s) < 4);
    s->bg_angle = table_angle(below(r, N_ANGLES));
    s->bg_texture_seed = next(r);
}

/* Half extents in 1/16 pixel: each shape's range, so that all look about as big. */
static void draw_size(rg_scene_object *o, rng *r)
{
    static const int range[RG_SHAPE_COUNT][4] = {
        /* rx from, to (pixels); ry / rx from, to (permille) */
        [RG_SHAPE_ELLIPSE] = {7, 15, 550, 1000},
        [RG_SHAPE_BOX] = {6, 13, 600, 1000},
        [RG_SHAPE_STAR] = {9, 15, 1000, 1000},
        [RG_SHAPE_CREATURE] = {10, 16, 600, 800},
    };
    const int *q = range[o->shape];
    const int rx16 = between(r, q[0] * 16, q[1] * 16);
    const int ry16 = rx16 * between(r, q[2], q[3]) / 1000;
    o->rx = rx16 / 16.0f;
    o->ry = ry16 / 16.0f;
}

int rg_scene_keypoints_local(rg_shape shape, const char **names, int (*uv)[2], int max)
{
    static const struct {
        const char *name;
        int u, v;
    } creature[] = {{"center", 0, 0},
                    {"head", RG_SCENE_HEAD_U, 0},
                    {"eye_left", RG_SCENE_EYE_U, -RG_SCENE_EYE_V},
                    {"eye_right", RG_SCENE_EYE_U, RG_SCENE_EYE_V}},
      star[] = {{"center", 0, 0}, {"tip", RG_SCENE_STAR_TIP, 0}};
    const int n = shape == RG_SHAPE_CREATURE ? 4 : shape == RG_SHAPE_STAR ? 2 : 1;
    int i = 0;
    for (; i < n && i < max; i++) {
        const int u = shape == RG_SHAPE_CREATURE ? creature[i].u : star[i].u;
        const int v = shape == RG_SHAPE_CREATURE ? creature[i].v : star[i].v;
        if (names)
            names[i] = shape == RG_SHAPE_CREATURE ? creature[i].name : star[i].name;
        if (uv)
            uv[i][0] = u, uv[i][1] = v;
    }
    return i;
}

/* Whether s->objects[0..n-1] with @o painted on top keep at least 75% of
 * their areas (pixel centres) visible, and each key point's pixel shows its
 * object (by the label map's rule). */
static gboolean layout_ok(const rg_scene *s, const rg_scene_object *o)
{
    rg_scene_prep p[RG_SCENE_MAX_OBJECTS];
    const int m = s->n_objects + 1;
    for (int k = 0; k < s->n_objects; k++)
        rg_scene_prepare(&s->objects[k], &p[k]);
    rg_scene_prepare(o, &p[m - 1]);
    int full[RG_SCENE_MAX_OBJECTS] = {0}, visible[RG_SCENE_MAX_OBJECTS] = {0};
    for (int y = 0; y < RG_SCENE_SIZE; y++)
        for (int x = 0; x < RG_SCENE_SIZE; x++) {
            int top = -1;
            for (int k = 0; k < m; k++)
                if (rg_scene_prep_sample(&p[k], (int64_t)x * Q8 + Q8 / 2, (int64_t)y * Q8 + Q8 / 2, NULL)) {
                    full[k]++;
                    top = k;
                }
            if (top >= 0)
                visible[top]++;
        }
    for (int k = 0; k < m; k++)
        if (!full[k] || visible[k] * 1000 < full[k] * MIN_VISIBLE_PERMILLE)
            return FALSE;
    for (int k = 0; k < m; k++) {
        int uv[RG_SCENE_MAX_KEYPOINTS][2];
        const int n = rg_scene_keypoints_local(p[k].shape, NULL, uv, RG_SCENE_MAX_KEYPOINTS);
        for (int i = 0; i < n; i++) {
            int64_t x, y;
            rg_scene_prep_point(&p[k], uv[i][0], uv[i][1], &x, &y);
            if (x < 0 || y < 0 || x >= RG_SCENE_SIZE * Q8 || y >= RG_SCENE_SIZE * Q8 ||
                rg_scene_pixel_label(p, m, (int)(x / Q8), (int)(y / Q8)) != k + 1)
                return FALSE;
        }
    }
    return TRUE;
}

/* Puts @o (shape, colours and size set) on top of s->objects at a random
 * angle and position inside the image (a pixel from the border) where
 * layout_ok() holds. */
static gboolean place(const rg_scene *s, rg_scene_object *o, rng *r)
{
    for (int attempt = 0; attempt < PLACE_ATTEMPTS; attempt++) {
        o->angle = table_angle(below(r, N_ANGLES));
        o->cx = o->cy = 0.0f;
        rg_scene_prep p;
        rg_scene_prepare(o, &p);
        int64_t ext[4];
        rg_scene_prep_extents(&p, ext);
        /* Centres in 1/16 pixel (16 Q8 units) with extents inside [1, 63]. */
        const int64_t x_lo = (Q8 - ext[0] + 15) / 16, x_hi = ((RG_SCENE_SIZE - 1) * Q8 - ext[2]) / 16;
        const int64_t y_lo = (Q8 - ext[1] + 15) / 16, y_hi = ((RG_SCENE_SIZE - 1) * Q8 - ext[3]) / 16;
        if (x_lo > x_hi || y_lo > y_hi)
            continue;
        o->cx = (float)(x_lo + below(r, (int)(x_hi - x_lo + 1))) / 16.0f;
        o->cy = (float)(y_lo + below(r, (int)(y_hi - y_lo + 1))) / 16.0f;
        if (layout_ok(s, o))
            return TRUE;
    }
    return FALSE;
}

void rg_scene_generate(rg_scene *s, guint64 seed)
{
    memset(s, 0, sizeof *s);
    s->seed = seed;
    rng r = {seed ^ 0x243F6A8885A308D3ull};
    draw_background(s, &r);
    const int n = between(&r, 1, RG_SCENE_MAX_OBJECTS);
    for (int i = 0; i < n; i++) {
        rg_scene_object o = {0};
        o.shape = (rg_shape)below(&r, RG_SHAPE_COUNT);
        o.color = draw_color(&r, s, s->n_objects, -1);
        if (o.color < 0)
            break;
        o.color2 = draw_color2(&r, o.color);
        o.texture = draw_texture(&r);
        draw_size(&o, &r);
        if (place(s, &o, &r)) {
            s->objects[s->n_objects++] = o;
        } else if (s->n_objects == 0) { /* never seen; keeps the promise of at least one object */
            o.angle = 0.0f;
            o.cx = o.cy = RG_SCENE_SIZE / 2;
            s->objects[s->n_objects++] = o;
        }
    }
}

void rg_scene_transform_object(rg_scene *s, int k, float dx, float dy, float dangle, float scale)
{
    if (!s || k < 0 || k >= s->n_objects)
        return;
    rg_scene_object *o = &s->objects[k];
    o->cx += dx;
    o->cy += dy;
    o->angle += dangle;
    o->rx *= scale;
    o->ry *= scale;
}

/* The variants' random numbers depend on the scene's seed too, so that one
 * variant seed used on many scenes does not give them all the same colours. */
static guint64 variant_state(const rg_scene *s, guint64 seed, guint64 salt)
{
    guint64 st = s->seed ^ salt;
    return rg_scene_mix(&st) ^ seed;
}

void rg_scene_recolor(rg_scene *s, guint64 seed)
{
    if (!s)
        return;
    rng r = {variant_state(s, seed, 0x13198A2E03707344ull)};
    const rg_scene old = *s;
    for (int attempt = 0; attempt < 100; attempt++) {
        draw_background(s, &r);
        const gboolean same_bg = (s->bg_color[0] == old.bg_color[0] && s->bg_color[1] == old.bg_color[1]) ||
                                 (s->bg_color[0] == old.bg_color[1] && s->bg_color[1] == old.bg_color[0]);
        gboolean ok = !same_bg;
        for (int k = 0; k < s->n_objects && ok; k++) {
            rg_scene_object *o = &s->objects[k];
            o->color = draw_color(&r, s, k, old.objects[k].color);
            ok = o->color >= 0;
            if (ok) {
                o->color2 = draw_color2(&r, o->color);
                o->texture = draw_texture(&r);
            }
        }
        if (ok)
            return;
        *s = old;
    }
}

void rg_scene_relayout(rg_scene *s, guint64 seed)
{
    if (!s)
        return;
    rng r = {variant_state(s, seed, 0xA4093822299F31D0ull)};
    const rg_scene old = *s;
    for (int attempt = 0; attempt < 20; attempt++) {
        s->n_objects = 0;
        gboolean ok = TRUE;
        for (int k = 0; k < old.n_objects && ok; k++) {
            rg_scene_object o = old.objects[k];
            ok = place(s, &o, &r);
            if (ok)
                s->objects[s->n_objects++] = o;
        }
        if (ok)
            return;
    }
    *s = old; /* no layout found (never seen): the scene stays as it was */
}

void rg_scene_object_bbox(const rg_scene *s, int k, float bbox[4])
{
    memset(bbox, 0, 4 * sizeof(float));
    if (!s || k < 0 || k >= s->n_objects || k >= RG_SCENE_MAX_OBJECTS)
        return;
    rg_scene_prep p;
    rg_scene_prepare(&s->objects[k], &p);
    int64_t ext[4];
    rg_scene_prep_extents(&p, ext);
    /* Pixel x holds samples in (x, x + 1): floor of the least, ceiling of the largest. */
    const int64_t lo[2] = {p.cx + ext[0], p.cy + ext[1]}, hi[2] = {p.cx + ext[2], p.cy + ext[3]};
    for (int d = 0; d < 2; d++) {
        const int64_t a = lo[d] >= 0 ? lo[d] / Q8 : -((-lo[d] + Q8 - 1) / Q8);
        const int64_t b = hi[d] >= 0 ? (hi[d] + Q8 - 1) / Q8 : -(-hi[d] / Q8);
        bbox[d] = (float)CLAMP(a, 0, RG_SCENE_SIZE);
        bbox[2 + d] = (float)CLAMP(b, 0, RG_SCENE_SIZE);
    }
}

int rg_scene_object_keypoints(const rg_scene *s, int k, const char **names, float (*xy)[2], int max)
{
    if (!s || k < 0 || k >= s->n_objects || k >= RG_SCENE_MAX_OBJECTS || max <= 0)
        return 0;
    rg_scene_prep p;
    rg_scene_prepare(&s->objects[k], &p);
    int uv[RG_SCENE_MAX_KEYPOINTS][2];
    const int n = rg_scene_keypoints_local(p.shape, names, uv, MIN(max, RG_SCENE_MAX_KEYPOINTS));
    for (int i = 0; i < n; i++) {
        int64_t x, y;
        rg_scene_prep_point(&p, uv[i][0], uv[i][1], &x, &y);
        if (xy)
            xy[i][0] = (float)x / Q8, xy[i][1] = (float)y / Q8;
    }
    return n;
}

static int label_at(const rg_image *labels, double x, double y)
{
    if (!labels || labels->channels != 1 || !(x >= 0 && y >= 0 && x < labels->width && y < labels->height))
        return -1;
    return labels->data[(size_t)y * labels->width + (size_t)x];
}

gboolean rg_scene_track_point(const rg_scene *a, const rg_image *a_labels, const rg_scene *b, const rg_image *b_labels,
                              float x, float y, float *bx, float *by)
{
    if (!a || !b)
        return FALSE;
    const int k = label_at(a_labels, x, y) - 1;
    if (k < 0 || k >= a->n_objects || k >= b->n_objects || k >= RG_SCENE_MAX_OBJECTS ||
        a->objects[k].shape != b->objects[k].shape)
        return FALSE;
    /* The rendered geometry (fixed point) of both: a's local coordinates in
     * units of its half extents, then b's pose. */
    rg_scene_prep pa, pb;
    rg_scene_prepare(&a->objects[k], &pa);
    rg_scene_prepare(&b->objects[k], &pb);
    const double dx = x - (double)pa.cx / Q8, dy = y - (double)pa.cy / Q8;
    const double ca = (double)pa.c / 65536, sa = (double)pa.s / 65536;
    const double cb = (double)pb.c / 65536, sb = (double)pb.s / 65536;
    const double un = (ca * dx + sa * dy) / ((double)pa.rx / Q8), vn = (ca * dy - sa * dx) / ((double)pa.ry / Q8);
    const double u = un * ((double)pb.rx / Q8), v = vn * ((double)pb.ry / Q8);
    const double tx = (double)pb.cx / Q8 + cb * u - sb * v, ty = (double)pb.cy / Q8 + sb * u + cb * v;
    if (label_at(b_labels, tx, ty) != k + 1)
        return FALSE; /* outside the image, hidden, or at an edge that b's labels give to another layer */
    if (bx)
        *bx = (float)tx;
    if (by)
        *by = (float)ty;
    return TRUE;
}

/* "a " or "an " for the word that follows. */
static void append_article(GString *c, const char *word)
{
    g_string_append(c, word[0] && strchr("aeiou", word[0]) ? "an " : "a ");
}

static void append_background(GString *c, const rg_scene *s)
{
    append_article(c, rg_scene_color_name(s->bg_color[0]));
    g_string_append(c, rg_scene_color_name(s->bg_color[0]));
    if (s->bg_color[1] != s->bg_color[0])
        g_string_append_printf(c, " and %s", rg_scene_color_name(s->bg_color[1]));
    g_string_append(c, " background");
}

char *rg_scene_caption(const rg_scene *s)
{
    if (!s)
        return g_strdup("");
    GString *c = g_string_new(NULL);
    for (int k = 0; k < s->n_objects && k < RG_SCENE_MAX_OBJECTS; k++) {
        const rg_scene_object *o = &s->objects[k];
        const char *color = rg_scene_color_name(o->color);
        const gboolean textured = o->texture != RG_TEXTURE_PLAIN && (unsigned)o->texture < RG_TEXTURE_COUNT;
        g_string_append(c, k ? " and " : "");
        append_article(c, textured ? texture_names[o->texture] : color);
        if (textured)
            g_string_append_printf(c, "%s ", texture_names[o->texture]);
        g_string_append_printf(c, "%s %s", color,
                               (unsigned)o->shape < RG_SHAPE_COUNT ? shape_names[o->shape] : "ellipse");
    }
    if (c->len)
        g_string_append(c, " on ");
    append_background(c, s);
    return g_string_free(c, FALSE);
}

static void add_numbers(JsonBuilder *b, const char *name, const double *v, int n, gboolean integers)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (int i = 0; i < n; i++) {
        if (integers)
            json_builder_add_int_value(b, (gint64)v[i]);
        else
            json_builder_add_double_value(b, v[i]);
    }
    json_builder_end_array(b);
}

static void add_color(JsonBuilder *b, const char *name, int color)
{
    guint8 rgb[3];
    rg_scene_color_rgb(color, rgb);
    const double v[3] = {rgb[0], rgb[1], rgb[2]};
    add_numbers(b, name, v, 3, TRUE);
}

static void add_string(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, value);
}

char *rg_scene_metadata_json(const rg_scene *s)
{
    if (!s)
        return g_strdup("{}");
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "seed");
    if (s->seed <= G_MAXINT64)
        json_builder_add_int_value(b, (gint64)s->seed);
    else { /* beyond JSON integers that json-glib writes: the decimal digits as a string */
        g_autofree char *digits = g_strdup_printf("%" G_GUINT64_FORMAT, s->seed);
        json_builder_add_string_value(b, digits);
    }
    json_builder_set_member_name(b, "width");
    json_builder_add_int_value(b, RG_SCENE_SIZE);
    json_builder_set_member_name(b, "height");
    json_builder_add_int_value(b, RG_SCENE_SIZE);
    g_autofree char *caption = rg_scene_caption(s);
    add_string(b, "caption", caption);

    json_builder_set_member_name(b, "background");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "colors");
    json_builder_begin_array(b);
    for (int i = 0; i < 2; i++) {
        guint8 rgb[3];
        rg_scene_color_rgb(s->bg_color[i], rgb);
        json_builder_begin_array(b);
        for (int c = 0; c < 3; c++)
            json_builder_add_int_value(b, rgb[c]);
        json_builder_end_array(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "color_names");
    json_builder_begin_array(b);
    for (int i = 0; i < 2; i++)
        json_builder_add_string_value(b, rg_scene_color_name(s->bg_color[i]));
    json_builder_end_array(b);
    json_builder_set_member_name(b, "angle");
    json_builder_add_double_value(b, isfinite(s->bg_angle) ? s->bg_angle : 0.0);
    json_builder_end_object(b);

    json_builder_set_member_name(b, "objects");
    json_builder_begin_array(b);
    for (int k = 0; k < s->n_objects && k < RG_SCENE_MAX_OBJECTS; k++) {
        const rg_scene_object *o = &s->objects[k];
        rg_scene_prep p;
        rg_scene_prepare(o, &p);
        json_builder_begin_object(b);
        add_string(b, "type", (unsigned)o->shape < RG_SHAPE_COUNT ? shape_names[o->shape] : "ellipse");
        add_color(b, "color", o->color);
        add_string(b, "color_name", rg_scene_color_name(o->color));
        add_string(b, "texture", (unsigned)o->texture < RG_TEXTURE_COUNT ? texture_names[o->texture] : "plain");
        add_color(b, "color2", o->color2);
        json_builder_set_member_name(b, "label");
        json_builder_add_int_value(b, k + 1);
        const double center[2] = {(double)p.cx / Q8, (double)p.cy / Q8};
        add_numbers(b, "center", center, 2, FALSE);
        float bbox[4];
        rg_scene_object_bbox(s, k, bbox);
        const double bb[4] = {bbox[0], bbox[1], bbox[2], bbox[3]};
        add_numbers(b, "bbox", bb, 4, TRUE);
        const double size[2] = {(double)p.rx / Q8, (double)p.ry / Q8};
        add_numbers(b, "size", size, 2, FALSE);
        json_builder_set_member_name(b, "angle");
        json_builder_add_double_value(b, isfinite(o->angle) ? o->angle : 0.0); /* as rendered */
        const char *names[RG_SCENE_MAX_KEYPOINTS];
        float xy[RG_SCENE_MAX_KEYPOINTS][2];
        const int n = rg_scene_object_keypoints(s, k, names, xy, RG_SCENE_MAX_KEYPOINTS);
        json_builder_set_member_name(b, "keypoints");
        json_builder_begin_object(b);
        for (int i = 0; i < n; i++) {
            const double v[2] = {xy[i][0], xy[i][1]};
            add_numbers(b, names[i], v, 2, FALSE);
        }
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);

    return rg_json_builder_text(b, FALSE, NULL);
}
