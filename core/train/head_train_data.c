/* head_train_data.c — what readout heads are trained on: the demo world's
 * exact supervision (pose and edge maps from the label map, pairs of a scene
 * and its transformed copy with exact point tracks, appearance triplets) and
 * folders of real images (images/ + targets/, pairs.json, triplets.json)
 * with the official preprocessing (a random square crop, resized).
 */
#include <math.h>
#include <string.h>

#include "io/json_untrusted.h"
#include "train/head_train_internal.h"

/* ---- the demo world's maps -------------------------------------------------------- */

void rg_demo_pose_color(rg_shape shape, guint8 rgb[3])
{
    static const guint8 colors[RG_SHAPE_COUNT][3] = {
        [RG_SHAPE_ELLIPSE] = {255, 0, 0},
        [RG_SHAPE_BOX] = {0, 255, 0},
        [RG_SHAPE_STAR] = {0, 0, 255},
        [RG_SHAPE_CREATURE] = {255, 255, 0},
    };
    const int k = (int)shape >= 0 && shape < RG_SHAPE_COUNT ? (int)shape : 0;
    memcpy(rgb, colors[k], 3);
}

static gboolean check_labels(const rg_image *labels, const char *op, GError **error)
{
    if (!labels || labels->channels != 1 || labels->width < 1 || labels->height < 1) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: the labels must be a 1-channel label map (rg_scene_render)",
                    op);
        return FALSE;
    }
    return TRUE;
}

static int label_at(const rg_image *labels, float x, float y)
{
    if (!(x >= 0 && y >= 0 && x < labels->width && y < labels->height))
        return -1;
    return labels->data[(size_t)y * labels->width + (size_t)x];
}

/* Pixels whose centres lie within @r of (x, y) take @rgb. */
static void dot(rg_image *img, float x, float y, float r, const guint8 rgb[3])
{
    for (int py = (int)floorf(y - r) - 1; py <= (int)ceilf(y + r); py++) {
        for (int px = (int)floorf(x - r) - 1; px <= (int)ceilf(x + r); px++) {
            const float dx = px + 0.5f - x, dy = py + 0.5f - y;
            if (px < 0 || py < 0 || px >= img->width || py >= img->height || dx * dx + dy * dy > r * r)
                continue;
            memcpy(img->data + ((size_t)py * img->width + px) * 3, rgb, 3);
        }
    }
}

rg_image *rg_demo_pose_map(const rg_scene *s, const rg_image *labels, GError **error)
{
    g_return_val_if_fail(s != NULL, NULL);
    if (!check_labels(labels, "demo_pose_map", error))
        return NULL;
    rg_image *img = rg_image_new(labels->width, labels->height, 3, error);
    if (!img)
        return NULL;
    for (int i = 0; i < labels->width * labels->height; i++) {
        const int l = labels->data[i];
        if (l > 0 && l <= s->n_objects)
            rg_demo_pose_color(s->objects[l - 1].shape, img->data + (size_t)i * 3);
    }
    static const guint8 head_rgb[3] = {RG_DEMO_POSE_HEAD_RGB}, eye_rgb[3] = {RG_DEMO_POSE_EYE_RGB};
    for (int k = 0; k < s->n_objects; k++) {
        if (s->objects[k].shape != RG_SHAPE_CREATURE)
            continue;
        const char *names[RG_SCENE_MAX_KEYPOINTS];
        float xy[RG_SCENE_MAX_KEYPOINTS][2];
        const int n = rg_scene_object_keypoints(s, k, names, xy, RG_SCENE_MAX_KEYPOINTS);
        /* the head first, the eyes over it; radii that always cover an even pixel (2i, 2j) */
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < n; i++) {
                const gboolean head = !strcmp(names[i], "head"), eye = g_str_has_prefix(names[i], "eye");
                if ((pass == 0 && head) || (pass == 1 && eye))
                    if (label_at(labels, xy[i][0], xy[i][1]) == k + 1)
                        dot(img, xy[i][0], xy[i][1], head ? 2.5f : 1.5f, head ? head_rgb : eye_rgb);
            }
        }
    }
    return img;
}

rg_image *rg_demo_edge_map(const rg_image *labels, GError **error)
{
    if (!check_labels(labels, "demo_edge_map", error))
        return NULL;
    const int W = labels->width, H = labels->height;
    rg_image *img = rg_image_new(W, H, 3, error);
    if (!img)
        return NULL;
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            const int l = labels->data[y * W + x];
            const int nb[2][2] = {{x + 1, y}, {x, y + 1}};
            for (int k = 0; k < 2; k++) {
                const int nx = nb[k][0], ny = nb[k][1];
                if (nx >= W || ny >= H || labels->data[ny * W + nx] == l)
                    continue;
                memset(img->data + ((size_t)y * W + x) * 3, 255, 3);
                memset(img->data + ((size_t)ny * W + nx) * 3, 255, 3);
            }
        }
    }
    return img;
}

/* ---- the demo world's pairs and triplets ------------------------------------------- */

#define DEMO_MOVE 12.0f    /* pixels, per axis (the drag benchmark moves centres by 6-16 px) */
#define DEMO_TURN 0.35f    /* radians */
#define DEMO_SCALE_LO 0.85f
#define DEMO_SCALE_HI 1.2f
#define DEMO_STILL 0.25    /* share of objects left in place */

/* Keeps a uniform random subset of @max of the @n points (4 floats each) in @p. */
static int subsample(float *p, int n, int max, rg_rng *r)
{
    if (max <= 0 || n <= max)
        return n;
    for (int i = 0; i < max; i++) { /* partial Fisher-Yates */
        const int j = i + (int)(rg_rng_uniform(r) * (n - i));
        float t[4];
        memcpy(t, p + 4 * i, sizeof t);
        memcpy(p + 4 * i, p + 4 * j, sizeof t);
        memcpy(p + 4 * j, t, sizeof t);
    }
    return max;
}

gboolean rg_demo_correspondence_pair(guint64 seed, int max_points, rg_scene *a, rg_scene *b, float **points,
                                     int *n_points, GError **error)
{
    g_return_val_if_fail(a != NULL && b != NULL && points != NULL && n_points != NULL, FALSE);
    *points = NULL;
    *n_points = 0;
    rg_rng r;
    rg_rng_init(&r, seed, HEAD_KEY_ITEM, 0x70616972ULL /* "pair" */, 0);
    rg_scene_generate(a, rg_rng_u64(&r));
    *b = *a;
    for (int k = 0; k < a->n_objects; k++) {
        if (rg_rng_uniform(&r) < DEMO_STILL)
            continue;
        const rg_scene_object *o = &a->objects[k];
        float dx = 0, dy = 0;
        /* a move that keeps the centre well inside the image */
        for (int attempt = 0; attempt < 8; attempt++) {
            dx = (float)((2 * rg_rng_uniform(&r) - 1) * DEMO_MOVE);
            dy = (float)((2 * rg_rng_uniform(&r) - 1) * DEMO_MOVE);
            if (o->cx + dx >= 6 && o->cx + dx <= RG_SCENE_SIZE - 6 && o->cy + dy >= 6 && o->cy + dy <= RG_SCENE_SIZE - 6)
                break;
            dx = dy = 0;
        }
        const float turn = (float)((2 * rg_rng_uniform(&r) - 1) * DEMO_TURN);
        const float scale = (float)(DEMO_SCALE_LO + rg_rng_uniform(&r) * (DEMO_SCALE_HI - DEMO_SCALE_LO));
        rg_scene_transform_object(b, k, dx, dy, turn, scale);
    }
    g_autoptr(rg_image) la = NULL, lb = NULL;
    g_autoptr(rg_image) ia = rg_scene_render(a, &la, error);
    g_autoptr(rg_image) ib = ia ? rg_scene_render(b, &lb, error) : NULL;
    if (!ib)
        return FALSE;
    const int S = RG_SCENE_SIZE;
    GArray *obj = g_array_new(FALSE, FALSE, sizeof(float)), *bg = g_array_new(FALSE, FALSE, sizeof(float));
    for (int y = 0; y < S; y += 2) {
        for (int x = 0; x < S; x += 2) {
            const int l = la->data[y * S + x];
            float bx, by;
            /* scene coordinates put pixel centres at +0.5; the tracks' convention at integers */
            if (l > 0 && rg_scene_track_point(a, la, b, lb, x + 0.5f, y + 0.5f, &bx, &by)) {
                const float p[4] = {(float)x, (float)y, bx - 0.5f, by - 0.5f};
                g_array_append_vals(obj, p, 4);
            } else if (l == 0 && x % 8 == 4 && y % 8 == 4 && lb->data[y * S + x] == 0) {
                /* some background points, fewer than the objects': the background does not move */
                const float p[4] = {(float)x, (float)y, (float)x, (float)y};
                g_array_append_vals(bg, p, 4);
            }
        }
    }
    g_array_append_vals(obj, bg->data, bg->len);
    g_array_free(bg, TRUE);
    const int n = (int)(obj->len / 4);
    *n_points = subsample((float *)obj->data, n, max_points, &r);
    g_array_set_size(obj, (guint)(4 * *n_points));
    *points = (float *)g_array_free(obj, FALSE);
    return TRUE;
}

void rg_demo_appearance_triplet(guint64 seed, rg_scene *anchor, rg_scene *positive, rg_scene *negative)
{
    g_return_if_fail(anchor != NULL && positive != NULL && negative != NULL);
    rg_rng r;
    rg_rng_init(&r, seed, HEAD_KEY_ITEM, 0x74726970ULL /* "trip" */, 0);
    rg_scene_generate(anchor, rg_rng_u64(&r));
    *positive = *anchor;
    rg_scene_relayout(positive, rg_rng_u64(&r));
    *negative = *anchor;
    rg_scene_recolor(negative, rg_rng_u64(&r));
}

/* ---- folders -------------------------------------------------------------------------- */

typedef struct {
    char *files[3]; /* paths: image / source, target / anchor, positive, negative */
    char *target;   /* spatial: the target map's path */
    float *points;  /* pairs: x0 y0 x1 y1 per track */
    int n_points;
} folder_item;

static void folder_item_free(gpointer p)
{
    folder_item *it = p;
    for (int i = 0; i < 3; i++)
        g_free(it->files[i]);
    g_free(it->target);
    g_free(it->points);
    g_free(it);
}

struct head_data {
    head_recipe recipe;
    char role[32];
    gboolean demo;
    int max_points;
    char *dir;
    GPtrArray *items; /* folder_item * */
    int64_t perm_epoch; /* the epoch whose order is in perm, or -1 */
    int *perm;
};

void head_data_free(head_data *d)
{
    if (!d)
        return;
    if (d->items)
        g_ptr_array_unref(d->items);
    g_free(d->perm);
    g_free(d->dir);
    g_free(d);
}

int head_data_n_items(const head_data *d)
{
    return d->demo ? 0 : (int)d->items->len;
}

gboolean head_data_is_demo(const head_data *d)
{
    return d->demo;
}

static gboolean list_spatial(head_data *d, GError **error)
{
    g_autofree char *images = g_build_filename(d->dir, "images", NULL);
    g_autofree char *targets = g_build_filename(d->dir, "targets", NULL);
    g_autoptr(GError) e = NULL;
    g_autoptr(GDir) dir = g_dir_open(images, 0, &e);
    if (!dir) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "data folder %s: a spatial head needs images/*.png and targets/*.png "
                    "(%s)", d->dir, e->message);
        return FALSE;
    }
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    for (const char *n; (n = g_dir_read_name(dir));)
        if (g_str_has_suffix(n, ".png") || g_str_has_suffix(n, ".PNG"))
            g_ptr_array_add(names, g_strdup(n));
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    for (guint i = 0; i < names->len; i++) {
        folder_item *it = g_new0(folder_item, 1);
        it->files[0] = g_build_filename(images, names->pdata[i], NULL);
        it->target = g_build_filename(targets, names->pdata[i], NULL);
        g_ptr_array_add(d->items, it);
        if (!g_file_test(it->target, G_FILE_TEST_IS_REGULAR)) {
            g_set_error(error, RG_ERROR, RG_ERROR_IO, "data folder %s: images/%s has no target (targets/%s is "
                        "missing)", d->dir, (char *)names->pdata[i], (char *)names->pdata[i]);
            return FALSE;
        }
    }
    return TRUE;
}

/* DIR/@name of a JSON entry: relative, inside DIR, an existing file. */
static char *entry_file(head_data *d, const char *json, int k, JsonObject *o, const char *key, GError **error)
{
    JsonNode *n = json_object_get_member(o, key);
    const char *name = n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
                       ? json_node_get_string(n) : NULL;
    if (!name || !*name) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: entry %d has no \"%s\" file name", json, k, key);
        return NULL;
    }
    g_auto(GStrv) parts = g_strsplit_set(name, "/\\", -1);
    gboolean escapes = g_path_is_absolute(name);
    for (int i = 0; parts[i]; i++)
        escapes |= !strcmp(parts[i], "..");
    if (escapes) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: entry %d: \"%s\" = \"%s\" must be a path inside the data "
                    "folder", json, k, key, name);
        return NULL;
    }
    char *path = g_build_filename(d->dir, name, NULL);
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s: entry %d: %s \"%s\" does not exist", json, k, key, name);
        g_free(path);
        return NULL;
    }
    return path;
}

static gboolean read_points(const char *json, int k, JsonObject *o, folder_item *it, GError **error)
{
    JsonNode *n = json_object_get_member(o, "points");
    JsonArray *a = n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
    if (!a || json_array_get_length(a) == 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: pair %d needs \"points\": [[x0, y0, x1, y1], ...] with at "
                    "least one track", json, k);
        return FALSE;
    }
    const guint np = json_array_get_length(a);
    it->points = g_new(float, 4 * (gsize)np);
    it->n_points = (int)np;
    for (guint i = 0; i < np; i++) {
        JsonNode *pn = json_array_get_element(a, i);
        JsonArray *p = JSON_NODE_HOLDS_ARRAY(pn) ? json_node_get_array(pn) : NULL;
        gboolean ok = p && json_array_get_length(p) == 4;
        for (guint c = 0; ok && c < 4; c++) {
            JsonNode *v = json_array_get_element(p, c);
            const GType t = JSON_NODE_HOLDS_VALUE(v) ? json_node_get_value_type(v) : G_TYPE_INVALID;
            ok = t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
            if (ok) {
                it->points[4 * i + c] = (float)json_node_get_double(v);
                ok = isfinite(it->points[4 * i + c]);
            }
        }
        if (!ok) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: pair %d, point %u is not [x0, y0, x1, y1] (four finite "
                        "numbers, pixels)", json, k, i);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean list_json(head_data *d, GError **error)
{
    const gboolean pairs = d->recipe == RECIPE_CORRESPONDENCE;
    const char *file = pairs ? "pairs.json" : "triplets.json";
    const char *const keys[2][3] = {{"source", "target", NULL}, {"anchor", "positive", "negative"}};
    g_autofree char *path = g_build_filename(d->dir, file, NULL);
    g_autofree char *text = NULL;
    gsize len = 0;
    g_autoptr(GError) e = NULL;
    if (!g_file_get_contents(path, &text, &len, &e)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "data folder %s: a %s head needs %s (%s)", d->dir, d->role, file,
                    e->message);
        return FALSE;
    }
    g_autoptr(JsonNode) root = rg_json_parse_untrusted(path, text, len, error);
    if (!root)
        return FALSE;
    JsonArray *list = NULL;
    if (JSON_NODE_HOLDS_ARRAY(root)) {
        list = json_node_get_array(root);
    } else if (JSON_NODE_HOLDS_OBJECT(root)) {
        JsonNode *m = json_object_get_member(json_node_get_object(root), pairs ? "pairs" : "triplets");
        list = m && JSON_NODE_HOLDS_ARRAY(m) ? json_node_get_array(m) : NULL;
    }
    if (!list || json_array_get_length(list) == 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: expected a non-empty list of %s (or {\"%s\": [...]})", path,
                    pairs ? "{\"source\", \"target\", \"points\"}" : "{\"anchor\", \"positive\", \"negative\"}",
                    pairs ? "pairs" : "triplets");
        return FALSE;
    }
    for (guint k = 0; k < json_array_get_length(list); k++) {
        JsonNode *n = json_array_get_element(list, k);
        if (!JSON_NODE_HOLDS_OBJECT(n)) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: entry %u is not an object", path, k);
            return FALSE;
        }
        JsonObject *o = json_node_get_object(n);
        folder_item *it = g_new0(folder_item, 1);
        g_ptr_array_add(d->items, it);
        for (int f = 0; f < 3 && keys[!pairs][f]; f++)
            if (!(it->files[f] = entry_file(d, path, (int)k, o, keys[!pairs][f], error)))
                return FALSE;
        if (pairs && !read_points(path, (int)k, o, it, error))
            return FALSE;
    }
    return TRUE;
}

head_data *head_data_open(const char *data, head_recipe recipe, const char *role, int max_points, GError **error)
{
    g_return_val_if_fail(data != NULL && role != NULL, NULL);
    g_autoptr(head_data) d = g_new0(head_data, 1);
    d->recipe = recipe;
    g_strlcpy(d->role, role, sizeof d->role);
    d->max_points = max_points;
    d->perm_epoch = -1;
    d->items = g_ptr_array_new_with_free_func(folder_item_free);
    if (!strcmp(data, "demo")) {
        d->demo = TRUE;
        if (recipe == RECIPE_SPATIAL && strcmp(role, "pose") && strcmp(role, "edge")) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "the demo world has no %s maps: its spatial heads are pose "
                        "and edge", role);
            return NULL;
        }
        return g_steal_pointer(&d);
    }
    d->dir = g_strdup(data);
    if (!g_file_test(data, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "data folder %s does not exist (give a folder, or \"demo\")", data);
        return NULL;
    }
    if (!(recipe == RECIPE_SPATIAL ? list_spatial(d, error) : list_json(d, error)))
        return NULL;
    if (d->items->len == 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "data folder %s holds no images (images/*.png)", data);
        return NULL;
    }
    return g_steal_pointer(&d);
}

/* ---- items --------------------------------------------------------------------------------- */

void head_item_clear(head_item *it)
{
    for (int i = 0; i < 3; i++)
        g_clear_pointer(&it->images[i], rg_image_free);
    g_clear_pointer(&it->target, rg_image_free);
    g_clear_pointer(&it->points, g_free);
    memset(it, 0, sizeof *it);
}

/* Offset of the crop of side @side in a length @len at u in [0, 1). */
static int crop_offset(int len, int side, double u)
{
    return MIN(len - side, (int)(u * (len - side + 1)));
}

rg_image *head_crop_resize(const rg_image *img, double u, int res, GError **error)
{
    const int side = MIN(img->width, img->height);
    const int ox = crop_offset(img->width, side, u), oy = crop_offset(img->height, side, u);
    g_autoptr(rg_image) c = rg_image_new(side, side, img->channels, error);
    if (!c)
        return NULL;
    const size_t row = (size_t)side * img->channels;
    for (int y = 0; y < side; y++)
        memcpy(c->data + y * row, img->data + ((size_t)(oy + y) * img->width + ox) * img->channels, row);
    if (side == res)
        return g_steal_pointer(&c);
    return rg_image_resize(c, res, res, RG_RESIZE_BILINEAR, error);
}

static rg_image *load_rgb(const char *path, GError **error)
{
    g_autoptr(rg_image) img = rg_image_load_png(path, error);
    if (!img)
        return NULL;
    return img->channels == 3 ? g_steal_pointer(&img) : rg_image_convert(img, 3, error);
}

/* The tracks of @f that lie in both crops (at u), in pixels of the @res working size. */
static int crop_points(const folder_item *f, const rg_image *a, const rg_image *b, double u, int res, float *out)
{
    const int sa = MIN(a->width, a->height), sb = MIN(b->width, b->height);
    const float oa[2] = {(float)crop_offset(a->width, sa, u), (float)crop_offset(a->height, sa, u)};
    const float ob[2] = {(float)crop_offset(b->width, sb, u), (float)crop_offset(b->height, sb, u)};
    const float ka = (float)res / (float)sa, kb = (float)res / (float)sb;
    int n = 0;
    for (int i = 0; i < f->n_points; i++) {
        const float *p = f->points + 4 * i;
        const float c[4] = {p[0] - oa[0], p[1] - oa[1], p[2] - ob[0], p[3] - ob[1]}; /* in the crops */
        gboolean inside = TRUE;
        for (int k = 0; k < 4; k++)
            inside &= c[k] >= 0 && c[k] <= (float)((k < 2 ? sa : sb) - 1);
        const float q[4] = {c[0] * ka, c[1] * ka, c[2] * kb, c[3] * kb};
        if (inside)
            memcpy(out + 4 * n++, q, sizeof q);
    }
    return n;
}

/* The item at global position @g: epochs visit every item once, in an order drawn per epoch. */
static folder_item *item_at(head_data *d, guint64 seed, int64_t g)
{
    const int n = (int)d->items->len;
    const int64_t epoch = g / n;
    if (epoch != d->perm_epoch) {
        if (!d->perm)
            d->perm = g_new(int, n);
        for (int i = 0; i < n; i++)
            d->perm[i] = i;
        rg_rng r;
        rg_rng_init(&r, seed, HEAD_KEY_EPOCH, (guint64)epoch, 0);
        for (int i = n - 1; i > 0; i--) {
            const int j = (int)(rg_rng_uniform(&r) * (i + 1));
            const int t = d->perm[i];
            d->perm[i] = d->perm[j];
            d->perm[j] = t;
        }
        d->perm_epoch = epoch;
    }
    return g_ptr_array_index(d->items, d->perm[g % n]);
}

static gboolean demo_item(head_data *d, guint64 item_seed, head_item *it, GError **error)
{
    if (d->recipe == RECIPE_SPATIAL) {
        rg_scene s;
        rg_scene_generate(&s, item_seed);
        g_autoptr(rg_image) labels = NULL;
        it->n_images = 1;
        if (!(it->images[0] = rg_scene_render(&s, &labels, error)))
            return FALSE;
        it->target = !strcmp(d->role, "edge") ? rg_demo_edge_map(labels, error) : rg_demo_pose_map(&s, labels, error);
        return it->target != NULL;
    }
    if (d->recipe == RECIPE_CORRESPONDENCE) {
        rg_scene a, b;
        it->n_images = 2;
        return rg_demo_correspondence_pair(item_seed, d->max_points, &a, &b, &it->points, &it->n_points, error) &&
               (it->images[0] = rg_scene_render(&a, NULL, error)) && (it->images[1] = rg_scene_render(&b, NULL, error));
    }
    rg_scene s[3];
    rg_demo_appearance_triplet(item_seed, &s[0], &s[1], &s[2]);
    it->n_images = 3;
    for (int i = 0; i < 3; i++)
        if (!(it->images[i] = rg_scene_render(&s[i], NULL, error)))
            return FALSE;
    return TRUE;
}

gboolean head_data_item(head_data *d, guint64 seed, int64_t step, int batch, int index, int res, head_item *it,
                        GError **error)
{
    memset(it, 0, sizeof *it);
    rg_rng r;
    rg_rng_init(&r, seed, HEAD_KEY_ITEM, (guint64)step, (guint64)index);
    if (d->demo) {
        if (!demo_item(d, rg_rng_u64(&r), it, error)) {
            head_item_clear(it);
            return FALSE;
        }
        return TRUE;
    }
    folder_item *f = item_at(d, seed, step * batch + index);
    double u = rg_rng_uniform(&r);
    rg_image *raw[3] = {NULL, NULL, NULL}, *raw_target = NULL;
    gboolean ok = TRUE;
    it->n_images = d->recipe == RECIPE_SPATIAL ? 1 : d->recipe == RECIPE_CORRESPONDENCE ? 2 : 3;
    for (int i = 0; ok && i < it->n_images; i++)
        ok = (raw[i] = load_rgb(f->files[i], error)) != NULL;
    if (ok && f->target) {
        ok = (raw_target = load_rgb(f->target, error)) != NULL;
        if (ok && (raw_target->width != raw[0]->width || raw_target->height != raw[0]->height)) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s is %dx%d, its image %s is %dx%d: a target must have its "
                        "image's size", f->target, raw_target->width, raw_target->height, f->files[0], raw[0]->width,
                        raw[0]->height);
            ok = FALSE;
        }
    }
    if (ok && f->points) {
        /* the random crop, else the centre crop; a pair with no track in either has no matches (skipped) */
        it->points = g_new(float, 4 * (gsize)f->n_points);
        it->n_points = crop_points(f, raw[0], raw[1], u, res, it->points);
        if (it->n_points == 0) {
            u = 0.5;
            it->n_points = crop_points(f, raw[0], raw[1], u, res, it->points);
        }
        it->n_points = subsample(it->points, it->n_points, d->max_points, &r);
    }
    if (ok && raw_target)
        ok = (it->target = head_crop_resize(raw_target, u, res, error)) != NULL;
    for (int i = 0; ok && i < it->n_images; i++)
        ok = (it->images[i] = head_crop_resize(raw[i], u, res, error)) != NULL;
    for (int i = 0; i < 3; i++)
        rg_image_free(raw[i]);
    rg_image_free(raw_target);
    if (ok)
        return TRUE;
    head_item_clear(it);
    return FALSE;
}
