/* test_scene.c — the demo world (core/demo): determinism (hard-coded
 * checksums of a few renders, so that any change of the generator shows),
 * scene statistics, label maps against boxes and key points, the metadata
 * JSON, captions through the project's CLIP tokenizer (one id per word, the
 * committed data/demo/tokenizer up to date), the variants (exact point
 * tracks, recolouring, re-laying out), bad scenes, and `readout demo-scene`. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "readout/scene.h"
#include "readout/tokenizer.h"
#include "rg_test.h"

static char *tmp;

static guint64 fnv1a(const guint8 *data, size_t n, guint64 h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ data[i]) * 0x100000001B3ull;
    return h;
}

static rg_image *render(const rg_scene *s, rg_image **labels)
{
    GError *error = NULL;
    rg_image *img = rg_scene_render(s, labels, &error);
    rg_assert_no_error(error);
    return img;
}

/* The label map alone. */
static rg_image *render_labels(const rg_scene *s)
{
    rg_image *labels = NULL;
    rg_image_free(render(s, &labels));
    return labels;
}

static int label_at(const rg_image *labels, int x, int y)
{
    return labels->data[y * labels->width + x];
}

static void test_determinism(void)
{
    /* FNV-1a of the pixels, then of the labels, of these seeds' renders. */
    static const struct {
        guint64 seed, checksum;
    } expected[] = {
        {0, 0x9780977df530d722ull},  {1, 0x304a654508ffbaafull},           {3, 0x23ea2327c2f101dfull},
        {42, 0xe625e8cfd38ea940ull}, {G_MAXUINT64, 0x81290c650f78638aull},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(expected); i++) {
        rg_scene a, b;
        rg_scene_generate(&a, expected[i].seed);
        rg_scene_generate(&b, expected[i].seed);
        RG_CHECK(!memcmp(&a, &b, sizeof a));
        g_autoptr(rg_image) la = NULL, lb = NULL;
        g_autoptr(rg_image) ia = render(&a, &la), ib = render(&b, &lb);
        RG_CHECK(ia->width == RG_SCENE_SIZE && ia->height == RG_SCENE_SIZE && ia->channels == 3);
        RG_CHECK(la->width == RG_SCENE_SIZE && la->channels == 1);
        const size_t n = (size_t)RG_SCENE_SIZE * RG_SCENE_SIZE;
        RG_CHECK(!memcmp(ia->data, ib->data, n * 3) && !memcmp(la->data, lb->data, n));
        const guint64 h = fnv1a(la->data, n, fnv1a(ia->data, n * 3, 0xCBF29CE484222325ull));
        if (h != expected[i].checksum) {
            g_printerr("NOT OK seed %" G_GUINT64_FORMAT ": render checksum 0x%016" G_GINT64_MODIFIER
                       "xull, expected 0x%016" G_GINT64_MODIFIER "xull\n",
                       expected[i].seed, h, expected[i].checksum);
            rg_test_failures++;
        }
    }
    /* Different seeds, different pictures. */
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    for (guint64 seed = 100; seed < 140; seed++) {
        rg_scene s;
        rg_scene_generate(&s, seed);
        g_autoptr(rg_image) img = render(&s, NULL);
        gint64 *h = g_new(gint64, 1);
        *h = (gint64)fnv1a(img->data, (size_t)img->width * img->height * 3, 0xCBF29CE484222325ull);
        RG_CHECK(!g_hash_table_contains(seen, h));
        g_hash_table_add(seen, h);
    }
}

/* Labels inside boxes, key points on their objects, sizes and colours in range. */
static void test_scenes(void)
{
    int counts[RG_SCENE_MAX_OBJECTS + 1] = {0}, shapes[RG_SHAPE_COUNT] = {0}, textures[RG_TEXTURE_COUNT] = {0};
    int bad_bbox = 0, bad_keypoint = 0, bad_visible = 0, loose_bbox = 0;
    for (guint64 seed = 0; seed < 300; seed++) {
        rg_scene s;
        rg_scene_generate(&s, seed);
        RG_CHECK(s.seed == seed && s.n_objects >= 1 && s.n_objects <= RG_SCENE_MAX_OBJECTS);
        counts[s.n_objects]++;
        RG_CHECK(s.bg_color[0] != s.bg_color[1]);
        g_autoptr(rg_image) labels = render_labels(&s);
        for (int k = 0; k < s.n_objects; k++) {
            const rg_scene_object *o = &s.objects[k];
            shapes[o->shape]++;
            textures[o->texture]++;
            RG_CHECK(o->rx >= 6 && o->rx <= 16 && o->ry >= 3 && o->ry <= o->rx);
            RG_CHECK(o->color != o->color2 && o->color != s.bg_color[0] && o->color != s.bg_color[1]);
            for (int j = 0; j < k; j++)
                RG_CHECK(s.objects[j].color != o->color);
            float bbox[4];
            rg_scene_object_bbox(&s, k, bbox);
            RG_CHECK(bbox[0] >= 1 && bbox[1] >= 1 && bbox[2] <= RG_SCENE_SIZE - 1 && bbox[3] <= RG_SCENE_SIZE - 1);
            int area = 0, x0 = RG_SCENE_SIZE, y0 = RG_SCENE_SIZE, x1 = 0, y1 = 0;
            for (int y = 0; y < RG_SCENE_SIZE; y++)
                for (int x = 0; x < RG_SCENE_SIZE; x++)
                    if (label_at(labels, x, y) == k + 1) {
                        area++;
                        bad_bbox += x < bbox[0] || x >= bbox[2] || y < bbox[1] || y >= bbox[3];
                        x0 = MIN(x0, x), y0 = MIN(y0, y), x1 = MAX(x1, x + 1), y1 = MAX(y1, y + 1);
                    }
            /* Mostly visible: at least 70% of the pixels it has alone. */
            rg_scene alone = s;
            alone.n_objects = 1;
            alone.objects[0] = *o;
            g_autoptr(rg_image) alone_labels = render_labels(&alone);
            int full = 0;
            for (int i = 0; i < RG_SCENE_SIZE * RG_SCENE_SIZE; i++)
                full += alone_labels->data[i] == 1;
            bad_visible += area < 0.7 * full;
            /* The box is tight: the topmost object's labels reach within a pixel of
             * each side (two for the stars' sharp tips, whose last pixels are mostly background). */
            const float slack = o->shape == RG_SHAPE_STAR ? 2 : 1;
            loose_bbox += k == s.n_objects - 1 && (x0 - bbox[0] > slack || y0 - bbox[1] > slack ||
                                                   bbox[2] - x1 > slack || bbox[3] - y1 > slack);
            const char *names[RG_SCENE_MAX_KEYPOINTS];
            float xy[RG_SCENE_MAX_KEYPOINTS][2];
            const int n = rg_scene_object_keypoints(&s, k, names, xy, RG_SCENE_MAX_KEYPOINTS);
            RG_CHECK(n == (o->shape == RG_SHAPE_CREATURE ? 4 : o->shape == RG_SHAPE_STAR ? 2 : 1));
            RG_CHECK(!strcmp(names[0], "center") && xy[0][0] == o->cx && xy[0][1] == o->cy);
            if (o->shape == RG_SHAPE_CREATURE)
                RG_CHECK(!strcmp(names[1], "head") && !strcmp(names[2], "eye_left") && !strcmp(names[3], "eye_right"));
            if (o->shape == RG_SHAPE_STAR)
                RG_CHECK(!strcmp(names[1], "tip"));
            for (int i = 0; i < n; i++)
                bad_keypoint += label_at(labels, (int)xy[i][0], (int)xy[i][1]) != k + 1;
            RG_CHECK(rg_scene_object_keypoints(&s, k, names, xy, 1) == 1);
        }
        RG_CHECK(rg_scene_object_keypoints(&s, s.n_objects, NULL, NULL, 4) == 0);
    }
    g_print("objects per scene 1/2/3: %d/%d/%d; shapes %d/%d/%d/%d; textures %d/%d/%d/%d; "
            "labels outside boxes %d, key points off their object %d, hidden objects %d, loose boxes %d\n",
            counts[1], counts[2], counts[3], shapes[0], shapes[1], shapes[2], shapes[3], textures[0], textures[1],
            textures[2], textures[3], bad_bbox, bad_keypoint, bad_visible, loose_bbox);
    for (int i = 1; i <= RG_SCENE_MAX_OBJECTS; i++)
        RG_CHECK(counts[i] > 50);
    for (int i = 0; i < RG_SHAPE_COUNT; i++)
        RG_CHECK(shapes[i] > 80);
    for (int i = 0; i < RG_TEXTURE_COUNT; i++)
        RG_CHECK(textures[i] > 60);
    RG_CHECK(bad_bbox == 0 && bad_keypoint == 0 && bad_visible == 0 && loose_bbox == 0);
}

static JsonNode *member(JsonObject *o, const char *name, JsonNodeType type)
{
    JsonNode *n = json_object_get_member(o, name);
    if (!n || JSON_NODE_TYPE(n) != type) {
        g_printerr("NOT OK metadata: member \"%s\" missing or of the wrong type\n", name);
        rg_test_failures++;
        return NULL;
    }
    return n;
}

/* @n numbers (integers when @integers) in [lo, hi]. */
static gboolean numbers(JsonObject *o, const char *name, int n, gboolean integers, double lo, double hi, double *v)
{
    JsonNode *node = member(o, name, JSON_NODE_ARRAY);
    if (!node)
        return FALSE;
    JsonArray *a = json_node_get_array(node);
    gboolean ok = (int)json_array_get_length(a) == n;
    for (int i = 0; ok && i < n; i++) {
        JsonNode *e = json_array_get_element(a, i);
        ok = JSON_NODE_HOLDS_VALUE(e) && (json_node_get_value_type(e) == G_TYPE_INT64 ||
                                          (!integers && json_node_get_value_type(e) == G_TYPE_DOUBLE));
        if (ok) {
            v[i] = json_node_get_double(e);
            ok = v[i] >= lo && v[i] <= hi;
        }
    }
    if (!ok) {
        g_printerr("NOT OK metadata: \"%s\" is not %d %s in [%g, %g]\n", name, n, integers ? "integers" : "numbers", lo,
                   hi);
        rg_test_failures++;
    }
    return ok;
}

static void check_metadata(const rg_scene *s, const char *json)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    GError *error = NULL;
    RG_CHECK(json_parser_load_from_data(parser, json, -1, &error));
    rg_assert_no_error(error);
    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    RG_CHECK(json_object_get_int_member(root, "seed") == (gint64)s->seed);
    RG_CHECK(json_object_get_int_member(root, "width") == 64 && json_object_get_int_member(root, "height") == 64);
    g_autofree char *caption = rg_scene_caption(s);
    RG_CHECK(member(root, "caption", JSON_NODE_VALUE) &&
             !strcmp(json_object_get_string_member(root, "caption"), caption));
    JsonNode *objects = member(root, "objects", JSON_NODE_ARRAY);
    if (!objects)
        return;
    JsonArray *arr = json_node_get_array(objects);
    RG_CHECK((int)json_array_get_length(arr) == s->n_objects);
    static const char *const types[] = {"ellipse", "box", "star", "creature"};
    for (int k = 0; k < s->n_objects && k < (int)json_array_get_length(arr); k++) {
        JsonObject *o = json_array_get_object_element(arr, k);
        RG_CHECK(member(o, "type", JSON_NODE_VALUE) &&
                 !strcmp(json_object_get_string_member(o, "type"), types[s->objects[k].shape]));
        double rgb[3], center[2], bbox[4];
        guint8 want[3];
        rg_scene_color_rgb(s->objects[k].color, want);
        RG_CHECK(numbers(o, "color", 3, TRUE, 0, 255, rgb) && rgb[0] == want[0] && rgb[1] == want[1] &&
                 rgb[2] == want[2]);
        RG_CHECK(numbers(o, "center", 2, FALSE, 0, 64, center) && center[0] == s->objects[k].cx &&
                 center[1] == s->objects[k].cy);
        float fb[4];
        rg_scene_object_bbox(s, k, fb);
        RG_CHECK(numbers(o, "bbox", 4, TRUE, 0, 64, bbox) && bbox[0] == fb[0] && bbox[1] == fb[1] && bbox[2] == fb[2] &&
                 bbox[3] == fb[3] && bbox[0] < bbox[2] && bbox[1] < bbox[3]);
        JsonNode *kp = member(o, "keypoints", JSON_NODE_OBJECT);
        if (!kp)
            continue;
        const char *names[RG_SCENE_MAX_KEYPOINTS];
        float xy[RG_SCENE_MAX_KEYPOINTS][2];
        const int n = rg_scene_object_keypoints(s, k, names, xy, RG_SCENE_MAX_KEYPOINTS);
        RG_CHECK((int)json_object_get_size(json_node_get_object(kp)) == n);
        for (int i = 0; i < n; i++) {
            double p[2] = {-1, -1};
            RG_CHECK(numbers(json_node_get_object(kp), names[i], 2, FALSE, 0, 64, p) && p[0] == xy[i][0] &&
                     p[1] == xy[i][1] && p[0] >= bbox[0] && p[0] <= bbox[2] && p[1] >= bbox[1] && p[1] <= bbox[3]);
        }
    }
}

static void test_metadata(void)
{
    for (guint64 seed = 0; seed < 40; seed++) {
        rg_scene s;
        rg_scene_generate(&s, seed);
        g_autofree char *json = rg_scene_metadata_json(&s);
        check_metadata(&s, json);
        if (seed == 3)
            g_print("metadata of seed 3: %s\n", json);
    }
}

static gboolean files_equal(const char *a, const char *b)
{
    g_autofree char *da = NULL, *db = NULL;
    gsize la = 0, lb = 0;
    return g_file_get_contents(a, &da, &la, NULL) && g_file_get_contents(b, &db, &lb, NULL) && la == lb &&
           !memcmp(da, db, la);
}

static void test_captions(void)
{
    g_autofree char *dir = g_build_filename(tmp, "tokenizer", NULL);
    GError *error = NULL;
    RG_CHECK(rg_scene_write_tokenizer(dir, &error));
    rg_assert_no_error(error);
    /* The committed copy is what the code writes now. */
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "merges.txt" : "vocab.json";
        g_autofree char *fresh = g_build_filename(dir, name, NULL),
                        *committed = g_build_filename(RG_DEMO_TOKENIZER, name, NULL);
        if (!files_equal(fresh, committed)) {
            g_printerr("NOT OK %s differs from the output of rg_scene_write_tokenizer; regenerate it with\n"
                       "  readout demo-scene --write-tokenizer data/demo/tokenizer\n",
                       committed);
            rg_test_failures++;
        }
    }
    g_autoptr(rg_tokenizer) tok = rg_tokenizer_new_from_dir(dir, &error);
    rg_assert_no_error(error);
    g_autoptr(GHashTable) word_id = g_hash_table_new(g_str_hash, g_str_equal);
    int n_words = 0;
    for (const char *const *w = rg_scene_vocabulary(); *w; w++, n_words++) {
        g_autoptr(GArray) ids = rg_tokenizer_encode_raw(tok, *w, &error);
        rg_assert_no_error(error);
        RG_CHECK(ids->len == 1);
        g_hash_table_insert(word_id, (gpointer)*w, GINT_TO_POINTER((int)g_array_index(ids, int64_t, 0)));
    }
    RG_CHECK(n_words >= 20 && (int)g_hash_table_size(word_id) == n_words);
    g_print("tokenizer: %d words, vocabulary %d, %d merges\n", n_words, rg_tokenizer_vocab_size(tok),
            rg_tokenizer_n_merges(tok));
    int longest = 0;
    for (guint64 seed = 0; seed < 1000; seed++) {
        rg_scene s;
        rg_scene_generate(&s, seed);
        g_autofree char *caption = rg_scene_caption(&s);
        if (seed < 6)
            g_print("caption %" G_GUINT64_FORMAT ": %s\n", seed, caption);
        g_auto(GStrv) words = g_strsplit(caption, " ", -1);
        g_autoptr(GArray) ids = rg_tokenizer_encode_raw(tok, caption, &error);
        rg_assert_no_error(error);
        gboolean ok = ids->len == g_strv_length(words);
        for (guint i = 0; ok && words[i]; i++)
            ok = g_hash_table_contains(word_id, words[i]) &&
                 GPOINTER_TO_INT(g_hash_table_lookup(word_id, words[i])) == (int)g_array_index(ids, int64_t, i);
        if (!ok) {
            g_printerr("NOT OK caption \"%s\": %u ids for %u words\n", caption, ids->len, g_strv_length(words));
            rg_test_failures++;
        }
        int64_t framed[RG_TOKENIZER_CONTEXT_LENGTH];
        int n_tokens = 0;
        RG_CHECK(rg_tokenizer_encode(tok, caption, RG_TOKENIZER_CONTEXT_LENGTH, framed, &n_tokens, &error));
        RG_CHECK(n_tokens == (int)ids->len + 2 && n_tokens <= RG_TOKENIZER_CONTEXT_LENGTH);
        longest = MAX(longest, n_tokens);
    }
    g_print("longest caption: %d tokens with BOS and EOS\n", longest);
}

/* Object k of @a moved, turned and scaled in @b: tracked points land on k in
 * b, plain objects keep their colour, the inverse track comes back. */
static void test_tracks(void)
{
    long tried = 0, tracked = 0, compared = 0, same_color = 0, back = 0;
    for (guint64 seed = 0; seed < 60; seed++) {
        rg_scene a, b;
        rg_scene_generate(&a, seed);
        const int k = (int)(seed % a.n_objects);
        b = a;
        const float dx = (float)((int)(seed % 7) - 3), dy = (float)((int)(seed % 5) - 2);
        const float dangle = 0.1f * (float)((int)(seed % 9) - 4), scale = 0.85f + 0.05f * (float)(seed % 7);
        rg_scene_transform_object(&b, k, dx, dy, dangle, scale);
        RG_CHECK(b.objects[k].cx == a.objects[k].cx + dx && b.objects[k].rx == a.objects[k].rx * scale);
        g_autoptr(rg_image) la = NULL, lb = NULL;
        g_autoptr(rg_image) ia = render(&a, &la), ib = render(&b, &lb);
        const gboolean plain = a.objects[k].texture == RG_TEXTURE_PLAIN && a.objects[k].shape != RG_SHAPE_CREATURE;
        for (int y = 1; y < RG_SCENE_SIZE - 1; y++)
            for (int x = 1; x < RG_SCENE_SIZE - 1; x++) {
                float bx, by;
                const gboolean ok = rg_scene_track_point(&a, la, &b, lb, x + 0.5f, y + 0.5f, &bx, &by);
                if (label_at(la, x, y) != k + 1) {
                    if (label_at(la, x, y) == 0)
                        RG_CHECK(!ok); /* the background does not move */
                    continue;
                }
                tried++;
                if (!ok)
                    continue;
                tracked++;
                const int tx = (int)bx, ty = (int)by;
                RG_CHECK(label_at(lb, tx, ty) == k + 1);
                float ax, ay;
                if (rg_scene_track_point(&b, lb, &a, la, bx, by, &ax, &ay))
                    back += fabsf(ax - (x + 0.5f)) < 1e-3f && fabsf(ay - (y + 0.5f)) < 1e-3f;
                /* Inner pixels of plain objects on both sides have the object's colour exactly. */
                gboolean inner = plain && tx > 0 && ty > 0 && tx < RG_SCENE_SIZE - 1 && ty < RG_SCENE_SIZE - 1;
                for (int j = -1; inner && j <= 1; j++)
                    for (int i = -1; inner && i <= 1; i++)
                        inner = label_at(la, x + i, y + j) == k + 1 && label_at(lb, tx + i, ty + j) == k + 1;
                if (inner) {
                    compared++;
                    const guint8 *pa = ia->data + (y * RG_SCENE_SIZE + x) * 3;
                    const guint8 *pb = ib->data + (ty * RG_SCENE_SIZE + tx) * 3;
                    same_color += abs(pa[0] - pb[0]) <= 2 && abs(pa[1] - pb[1]) <= 2 && abs(pa[2] - pb[2]) <= 2;
                }
            }
        /* A point of k whose place in b is under the object painted above it is hidden. */
        if (k + 1 < a.n_objects) {
            rg_scene c = a;
            const rg_scene_object *top = &a.objects[a.n_objects - 1];
            rg_scene_transform_object(&c, k, top->cx - a.objects[k].cx, top->cy - a.objects[k].cy, 0, 1);
            g_autoptr(rg_image) lc = render_labels(&c);
            float bx, by;
            RG_CHECK(!rg_scene_track_point(&a, la, &c, lc, a.objects[k].cx, a.objects[k].cy, &bx, &by));
        }
    }
    g_print("tracks: %ld of %ld object pixels tracked, %ld back exactly; plain inner pixels with the same colour "
            "%ld of %ld\n",
            tracked, tried, back, same_color, compared);
    RG_CHECK(tracked > 0.8 * tried && back > 0.99 * tracked && compared > 1000 && same_color == compared);
    /* Outside the image, NULL labels. */
    rg_scene a;
    rg_scene_generate(&a, 5);
    g_autoptr(rg_image) la = render_labels(&a);
    float bx, by;
    RG_CHECK(!rg_scene_track_point(&a, la, &a, la, -1, 3, &bx, &by));
    RG_CHECK(!rg_scene_track_point(&a, la, &a, la, 64, 3, &bx, &by));
    RG_CHECK(!rg_scene_track_point(&a, NULL, &a, la, a.objects[0].cx, a.objects[0].cy, &bx, &by));
    RG_CHECK(rg_scene_track_point(&a, la, &a, la, a.objects[0].cx, a.objects[0].cy, &bx, &by) &&
             bx == a.objects[0].cx && by == a.objects[0].cy);
}

static void test_variants(void)
{
    int moved = 0;
    for (guint64 seed = 0; seed < 100; seed++) {
        rg_scene a, r, l;
        rg_scene_generate(&a, seed);
        g_autoptr(rg_image) la = NULL, lr = NULL, ll = NULL;
        g_autoptr(rg_image) ia = render(&a, &la);
        /* Recoloured: the same label map, other colours everywhere. */
        r = a;
        rg_scene_recolor(&r, seed + 1000);
        g_autoptr(rg_image) ir = render(&r, &lr);
        RG_CHECK(!memcmp(la->data, lr->data, (size_t)RG_SCENE_SIZE * RG_SCENE_SIZE));
        RG_CHECK(memcmp(ia->data, ir->data, (size_t)RG_SCENE_SIZE * RG_SCENE_SIZE * 3) != 0);
        RG_CHECK(r.n_objects == a.n_objects && r.seed == a.seed);
        RG_CHECK(!(r.bg_color[0] == a.bg_color[0] && r.bg_color[1] == a.bg_color[1]));
        for (int k = 0; k < a.n_objects; k++) {
            const rg_scene_object *o = &a.objects[k], *p = &r.objects[k];
            RG_CHECK(p->color != o->color && p->shape == o->shape && p->cx == o->cx && p->cy == o->cy &&
                     p->rx == o->rx && p->ry == o->ry && p->angle == o->angle);
            RG_CHECK(p->color != r.bg_color[0] && p->color != r.bg_color[1] && p->color != p->color2);
        }
        /* Re-laid out: the same objects and background elsewhere. */
        l = a;
        rg_scene_relayout(&l, seed + 2000);
        ll = render_labels(&l);
        RG_CHECK(l.n_objects == a.n_objects && l.bg_color[0] == a.bg_color[0] && l.bg_color[1] == a.bg_color[1] &&
                 l.bg_angle == a.bg_angle && l.bg_texture_seed == a.bg_texture_seed);
        gboolean any_moved = FALSE;
        for (int k = 0; k < a.n_objects; k++) {
            const rg_scene_object *o = &a.objects[k], *p = &l.objects[k];
            RG_CHECK(p->shape == o->shape && p->color == o->color && p->color2 == o->color2 &&
                     p->texture == o->texture && p->rx == o->rx && p->ry == o->ry);
            any_moved |= p->cx != o->cx || p->cy != o->cy;
            /* Still a valid layout: the key points show their object. */
            float xy[RG_SCENE_MAX_KEYPOINTS][2];
            const int n = rg_scene_object_keypoints(&l, k, NULL, xy, RG_SCENE_MAX_KEYPOINTS);
            for (int i = 0; i < n; i++)
                RG_CHECK(label_at(ll, (int)xy[i][0], (int)xy[i][1]) == k + 1);
        }
        moved += any_moved;
    }
    RG_CHECK(moved == 100);
}

static void test_bad_scenes(void)
{
    gboolean ok = TRUE;
    rg_scene s;
    rg_scene_generate(&s, 7);
    rg_scene bad = s;
    bad.n_objects = 5;
    RG_EXPECT_ERROR_FULL(ok, "five objects", rg_scene_render(&bad, NULL, &err_), RG_ERROR_ARGUMENT, "rg_scene_render",
                         "n_objects 5");
    bad = s;
    bad.objects[0].color = 99;
    RG_EXPECT_ERROR_FULL(ok, "colour 99", rg_scene_render(&bad, NULL, &err_), RG_ERROR_ARGUMENT, "rg_scene_render",
                         "colours 99");
    bad = s;
    bad.bg_color[1] = -1;
    rg_image *labels = (rg_image *)&bad; /* must be reset to NULL */
    RG_EXPECT_ERROR_FULL(ok, "background colour -1", rg_scene_render(&bad, &labels, &err_), RG_ERROR_ARGUMENT,
                         "rg_scene_render", "background colour 1 is -1");
    RG_CHECK(labels == NULL);
    RG_EXPECT_ERROR(ok, "no folder", GINT_TO_POINTER(rg_scene_write_tokenizer("", &err_)), RG_ERROR_ARGUMENT, "folder");
    RG_CHECK(ok);
    /* Odd but valid descriptions render: no objects, huge or NaN parameters. */
    bad = s;
    bad.n_objects = 0;
    g_autoptr(rg_image) empty = render(&bad, NULL);
    RG_CHECK(empty->width == RG_SCENE_SIZE);
    bad = s;
    bad.objects[0].rx = 1e30f;
    bad.objects[0].cx = NAN;
    bad.objects[0].angle = INFINITY;
    g_autoptr(rg_image) odd = render(&bad, NULL);
    RG_CHECK(odd->width == RG_SCENE_SIZE);
    bad.bg_angle = NAN;
    g_autofree char *json = rg_scene_metadata_json(&bad);
    g_autoptr(JsonParser) parser = json_parser_new();
    RG_CHECK(json_parser_load_from_data(parser, json, -1, NULL)); /* no inf or nan in it */
}


static void expect_cli_failure(const char *label, int status, const char *err, const char *needle, const char *file)
{
    if (status == 0 || !strstr(err, needle) || (file && g_file_test(file, G_FILE_TEST_EXISTS))) {
        g_printerr("NOT OK %s: status %d, expected a failure saying \"%s\"%s; stderr: %s\n", label, status, needle,
                   file ? " that writes nothing" : "", err);
        rg_test_failures++;
    } else {
        g_print("%s: %s", label, err);
    }
}

static void test_cli(void)
{
    g_autofree char *png = g_build_filename(tmp, "scene.png", NULL), *meta = g_build_filename(tmp, "scene.json", NULL);
    g_autofree char *labels = g_build_filename(tmp, "labels.png", NULL);
    g_autofree char *out = NULL, *err = NULL;
    RG_CHECK(rg_test_spawn(RG_READOUT_EXE, &out, &err, "demo-scene", "--seed", "3", "--out", png, "--meta", meta, "--labels", labels, NULL) == 0);
    rg_scene s;
    rg_scene_generate(&s, 3);
    g_autofree char *caption = rg_scene_caption(&s);
    g_autofree char *line = g_strdup_printf("%s\n", caption);
    RG_CHECK(out && !strcmp(out, line));
    GError *error = NULL;
    g_autoptr(rg_image) got = rg_image_load_png(png, &error), got_labels = rg_image_load_png(labels, &error);
    rg_assert_no_error(error);
    g_autoptr(rg_image) want_labels = NULL;
    g_autoptr(rg_image) want = render(&s, &want_labels);
    RG_CHECK(got->channels == 3 && !memcmp(got->data, want->data, (size_t)64 * 64 * 3));
    RG_CHECK(got_labels->channels == 1 && !memcmp(got_labels->data, want_labels->data, (size_t)64 * 64));
    g_autofree char *json = NULL;
    RG_CHECK(g_file_get_contents(meta, &json, NULL, NULL));
    check_metadata(&s, json);

    g_autofree char *missing = g_build_filename(tmp, "no-such-folder", "scene.png", NULL);
    g_autofree char *png2 = g_build_filename(tmp, "scene2.png", NULL);
    g_autofree char *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;
    int status = rg_test_spawn(RG_READOUT_EXE, NULL, &e1, "demo-scene", "--seed", "3", NULL);
    expect_cli_failure("no --out", status, e1, "--out FILE is required", NULL);
    status = rg_test_spawn(RG_READOUT_EXE, NULL, &e2, "demo-scene", "--out", missing, NULL);
    expect_cli_failure("missing folder", status, e2, "does not exist", missing);
    status = rg_test_spawn(RG_READOUT_EXE, NULL, &e3, "demo-scene", "--out", png2, "--meta", missing, NULL);
    expect_cli_failure("missing meta folder", status, e3, "does not exist", png2);
    status = rg_test_spawn(RG_READOUT_EXE, NULL, &e4, "demo-scene", "--seed", "-4", "--out", png2, NULL);
    expect_cli_failure("bad seed", status, e4, "--seed -4 is not", png2);
}

static void rm_rf(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    if (d) {
        for (const char *n; (n = g_dir_read_name(d));) {
            g_autofree char *p = g_build_filename(path, n, NULL);
            rm_rf(p);
        }
        g_dir_close(d);
    }
    g_remove(path);
}

int main(void)
{
    tmp = g_dir_make_tmp("readout-demo-XXXXXX", NULL);
    g_assert(tmp);
    gint64 t0 = g_get_monotonic_time();
    test_determinism();
    test_scenes();
    test_metadata();
    test_captions();
    test_tracks();
    test_variants();
    test_bad_scenes();
    test_cli();
    rm_rf(tmp);
    g_free(tmp);
    g_print("%.1f s\n", (g_get_monotonic_time() - t0) / 1e6);
    if (rg_test_failures)
        g_printerr("%d failures\n", rg_test_failures);
    return rg_test_failures ? 1 : 0;
}
