/* test_head_train.c — the readout-head trainer (core/train/head_train*.c)
 * and `readout train-head`. One executable, three parts (the first argument):
 *   losses  the losses against torch (tests/reference/head_train.py) and
 *           finite differences; the point normalisation; bad inputs; the
 *           demo world's supervision (exact tracks, triplets that differ as
 *           intended, pose and edge map colours); data folders that are
 *           missing or malformed;
 *   train   on a tiny demo-config model: the timestep quirks (UNet at tau + 1,
 *           emb of s; --corrected-timestep), training on one fixed batch
 *           brings each recipe's loss down, N steps straight = N/2 + state +
 *           N/2 bit for bit, the head's config; a folder run on tests/data/tiny-sd;
 *   cli     the command: a run writes the head, state and log, --resume,
 *           and its failures (unknown role, missing data, bad pairs.json, ...).
 */
#include <glib/gstdio.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "readout/diffusion.h"
#include "rg_test.h"
#include "pipeline/pipeline_impl.h"
#include "train/head_train_internal.h"

static char *tmp;

/* ---- helpers -------------------------------------------------------------------------- */

static char *in_tmp(const char *name)
{
    return g_build_filename(tmp, name, NULL);
}

static void write_text(const char *path, const char *text)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0777), ==, 0);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void write_png(const char *path, int w, int h, guint32 seed)
{
    GError *error = NULL;
    g_autofree char *dir = g_path_get_dirname(path);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0777), ==, 0);
    g_autoptr(rg_image) img = rg_image_new(w, h, 3, &error);
    rg_assert_no_error(error);
    GRand *r = g_rand_new_with_seed(seed);
    for (int i = 0; i < w * h * 3; i++)
        img->data[i] = (guint8)(i % 3 == 0 && (i / 3) % w < w / 2 ? 0 : g_rand_int_range(r, 0, 256));
    g_rand_free(r);
    g_assert_true(rg_image_save_png(img, path, &error));
    rg_assert_no_error(error);
}

/* A tiny model of the demo's kind (12 channels, 64x64 scenes) in tmp/@name. */
static char *tiny_demo_model(const char *name)
{
    GError *error = NULL;
    rg_unet_config c;
    rg_demo_unet_config_init(&c);
    const int ch[3] = {8, 16, 16};
    for (int i = 0; i < 3; i++) {
        c.block_out_channels[i] = ch[i];
        c.attention_heads[i] = 2;
    }
    c.norm_num_groups = 4;
    c.time_embedding_dim = 32;
    char *dir = in_tmp(name);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
        g_assert_true(rg_demo_model_create(dir, &c, 3, &error));
    rg_assert_no_error(error);
    return dir;
}

static void small_settings(rg_head_train_config *c, const char *role)
{
    rg_head_train_config_init(c, role);
    c->seed = 7;
    c->projection_dim = 128;
    if (head_recipe_of(role) == RECIPE_SPATIAL)
        c->batch = 2;
    c->max_points = 64;
}

/* ---- losses -------------------------------------------------------------------------------- */

typedef struct {
    int kind; /* 0 spatial sparse, 1 infonce, 2 triplet, 3 cross entropy */
    const int64_t *a, *b;
    int n;
    rg_tensor *target;
} loss_args;

static rg_tensor *loss_fn(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    const loss_args *a = user_data;
    switch (a->kind) {
    case 0: return rg_head_loss_spatial(ctx, in[0], a->target, TRUE, -0.5f, error);
    case 1: return rg_head_loss_infonce(ctx, in[0], in[1], a->a, a->b, a->n, 0.07f, error);
    case 2: return rg_head_loss_triplet(ctx, in[0], in[1], in[2], 0.5f, error);
    default: return rg_head_cross_entropy(ctx, in[0], a->a, error);
    }
}

static int64_t *indices(rg_tensor *t)
{
    int64_t *v = g_new(int64_t, rg_tensor_numel(t));
    for (int64_t i = 0; i < rg_tensor_numel(t); i++)
        v[i] = (int64_t)rg_tensor_get_flat(t, i);
    return v;
}

/* The loss of @kind on @in against the golden loss and gradients @dnames. */
static void check_golden(rg_ctx *ctx, rg_safetensors *g, const char *name, loss_args *a, rg_tensor **in, int n,
                         const char *const *dnames)
{
    GError *error = NULL;
    g_autoptr(rg_tape) tape = rg_tape_new();
    for (int i = 0; i < n; i++) {
        rg_tensor_zero_grad(in[i]);
        rg_tensor_set_requires_grad(in[i], TRUE);
    }
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) loss = loss_fn(ctx, in, a, &error);
    rg_ctx_set_tape(ctx, NULL);
    rg_assert_no_error(error);
    g_autoptr(rg_tensor) ref = rg_test_load(g, name, "loss");
    g_autofree char *label = g_strdup_printf("%s loss", name);
    RG_CHECK(rg_check_tensor(label, loss, ref, 1e-6, 1e-5));
    g_assert_true(rg_tape_backward(ctx, tape, loss, &error));
    for (int i = 0; i < n; i++) {
        g_autoptr(rg_tensor) dref = rg_test_load(g, name, dnames[i]);
        g_autofree char *dl = g_strdup_printf("%s %s", name, dnames[i]);
        RG_CHECK(rg_check_tensor(dl, rg_tensor_get_grad(in[i]), dref, 1e-6, 1e-4));
    }
}

static void test_losses(rg_ctx *ctx)
{
    GError *error = NULL;
    g_autoptr(rg_safetensors) g = rg_test_golden("head_train");
    const char *cases[3] = {"spatial_sparse", "spatial_plain", "spatial_allbg"};
    for (int c = 0; c < 3; c++) {
        g_autoptr(rg_tensor) pred = rg_test_load(g, cases[c], "pred");
        g_autoptr(rg_tensor) target = rg_test_load(g, cases[c], "target");
        g_autoptr(rg_tape) tape = rg_tape_new();
        rg_tensor_set_requires_grad(pred, TRUE);
        rg_ctx_set_tape(ctx, tape);
        g_autoptr(rg_tensor) loss = rg_head_loss_spatial(ctx, pred, target, c != 1, -0.5f, &error);
        rg_ctx_set_tape(ctx, NULL);
        rg_assert_no_error(error);
        g_autoptr(rg_tensor) ref = rg_test_load(g, cases[c], "loss");
        g_autoptr(rg_tensor) dref = rg_test_load(g, cases[c], "dpred");
        RG_CHECK(rg_check_tensor(cases[c], loss, ref, 1e-7, 1e-5));
        g_assert_true(rg_tape_backward(ctx, tape, loss, &error));
        RG_CHECK(rg_check_tensor(cases[c], rg_tensor_get_grad(pred), dref, 1e-7, 1e-5));
    }
    /* cross entropy, InfoNCE, triplet against torch */
    g_autoptr(rg_tensor) logits = rg_test_load(g, "ce", "logits");
    g_autoptr(rg_tensor) classes = rg_test_load(g, "ce", "targets");
    g_autofree int64_t *cv = indices(classes);
    loss_args ce = {3, cv, NULL, 5, NULL};
    check_golden(ctx, g, "ce", &ce, (rg_tensor *[]){logits}, 1, (const char *[]){"dlogits"});
    g_autoptr(rg_tensor) src = rg_test_load(g, "infonce", "src");
    g_autoptr(rg_tensor) tgt = rg_test_load(g, "infonce", "tgt");
    g_autoptr(rg_tensor) si = rg_test_load(g, "infonce", "src_idx");
    g_autoptr(rg_tensor) ti = rg_test_load(g, "infonce", "tgt_idx");
    g_autofree int64_t *sv = indices(si), *tv = indices(ti);
    loss_args nce = {1, sv, tv, (int)rg_tensor_numel(si), NULL};
    check_golden(ctx, g, "infonce", &nce, (rg_tensor *[]){src, tgt}, 2, (const char *[]){"dsrc", "dtgt"});
    g_autoptr(rg_tensor) an = rg_test_load(g, "triplet", "anchor");
    g_autoptr(rg_tensor) po = rg_test_load(g, "triplet", "positive");
    g_autoptr(rg_tensor) ne = rg_test_load(g, "triplet", "negative");
    loss_args tri = {2, NULL, NULL, 0, NULL};
    check_golden(ctx, g, "triplet", &tri, (rg_tensor *[]){an, po, ne}, 3,
                 (const char *[]){"danchor", "dpositive", "dnegative"});

    /* finite differences (float32 inputs: loose tolerances) */
    for (int i = 0; i < 3; i++) {
        rg_tensor *x = (rg_tensor *[]){src, tgt, an}[i];
        rg_tensor_set_requires_grad(x, FALSE);
        rg_tensor_zero_grad(x);
    }
    rg_tensor_set_requires_grad(logits, FALSE);
    rg_tensor_zero_grad(logits);
    RG_CHECK(rg_gradcheck("cross entropy", loss_fn, &ce, (rg_tensor *[]){logits}, 1, (gboolean[]){TRUE}, 1e-2, 2e-3,
                          2e-2, 35));
    RG_CHECK(rg_gradcheck("infonce", loss_fn, &nce, (rg_tensor *[]){src, tgt}, 2, (gboolean[]){TRUE, TRUE}, 1e-3,
                          2e-3, 3e-2, 40));
    RG_CHECK(rg_gradcheck("triplet", loss_fn, &tri, (rg_tensor *[]){an, po, ne}, 3, (gboolean[]){TRUE, TRUE, TRUE},
                          1e-3, 1e-3, 3e-2, 40));
    g_autoptr(rg_tensor) sp = rg_test_load(g, "spatial_sparse", "pred");
    g_autoptr(rg_tensor) st = rg_test_load(g, "spatial_sparse", "target");
    loss_args spa = {0, NULL, NULL, 0, st};
    RG_CHECK(rg_gradcheck("spatial sparse", loss_fn, &spa, (rg_tensor *[]){sp}, 1, (gboolean[]){TRUE}, 1e-3, 1e-4,
                          1e-2, 40));

    /* the official point normalisation */
    g_autoptr(rg_tensor) xy = rg_test_load(g, "points", "xy");
    g_autoptr(rg_tensor) idx = rg_test_load(g, "points", "index");
    for (int64_t i = 0; i < rg_tensor_shape(idx)[0]; i++) {
        const int64_t got = rg_head_point_index((float)rg_tensor_get_flat(xy, 5 * i), (float)rg_tensor_get_flat(xy, 5 * i + 1),
                                                (int)rg_tensor_get_flat(xy, 5 * i + 2),
                                                (int)rg_tensor_get_flat(xy, 5 * i + 3),
                                                (int)rg_tensor_get_flat(xy, 5 * i + 4));
        if (got != (int64_t)rg_tensor_get_flat(idx, i)) {
            g_printerr("NOT OK point %" G_GINT64_FORMAT ": index %" G_GINT64_FORMAT ", torch %g\n", (gint64)i,
                       (gint64)got, rg_tensor_get_flat(idx, i));
            rg_test_failures++;
        }
    }
    RG_CHECK(rg_head_point_index(NAN, 3, 64, 32, 32) == -1);

    /* bad inputs */
    gboolean ok = TRUE;
    const int64_t bad_idx[1] = {20}, good_idx[1] = {0}, bad_class[1] = {7};
    g_autoptr(rg_tensor) small = rg_test_random(3, 4, (const int64_t[]){2, 3, 4, 4}, 0, 1);
    RG_EXPECT_ERROR(ok, "spatial shapes", rg_head_loss_spatial(ctx, sp, small, TRUE, -0.5f, &err_), RG_ERROR_SHAPE,
                    "head_loss_spatial");
    RG_EXPECT_ERROR(ok, "infonce off the grid", rg_head_loss_infonce(ctx, src, tgt, bad_idx, good_idx, 1, 0.07f, &err_),
                    RG_ERROR_ARGUMENT, "off the 4x5 grid");
    RG_EXPECT_ERROR(ok, "infonce no matches", rg_head_loss_infonce(ctx, src, tgt, good_idx, good_idx, 0, 0.07f, &err_),
                    RG_ERROR_ARGUMENT, "no matches");
    RG_EXPECT_ERROR(ok, "infonce batch", rg_head_loss_infonce(ctx, an, an, good_idx, good_idx, 1, 0.07f, &err_),
                    RG_ERROR_SHAPE, "one readout");
    RG_EXPECT_ERROR(ok, "triplet shapes", rg_head_loss_triplet(ctx, an, po, small, 0.5f, &err_), RG_ERROR_SHAPE,
                    "negative");
    RG_EXPECT_ERROR(ok, "ce class", rg_head_cross_entropy(ctx, logits, bad_class, &err_), RG_ERROR_ARGUMENT,
                    "not a class in [0, 7)");
    RG_CHECK(ok);
}

/* ---- the demo world's supervision ------------------------------------------------------------- */

static int lab(const rg_image *l, float x, float y)
{
    return l->data[(int)y * l->width + (int)x];
}

static void test_demo_data(void)
{
    GError *error = NULL;
    int tracked = 0, close_colour = 0, object_points = 0, bg_points = 0;
    for (guint64 seed = 1; seed <= 12; seed++) {
        rg_scene a, b, a2, b2;
        g_autofree float *p = NULL, *p2 = NULL;
        int n = 0, n2 = 0;
        g_assert_true(rg_demo_correspondence_pair(seed, 0, &a, &b, &p, &n, &error));
        g_assert_true(rg_demo_correspondence_pair(seed, 0, &a2, &b2, &p2, &n2, &error));
        RG_CHECK(n == n2 && n > 0 && !memcmp(p, p2, sizeof(float) * 4 * (size_t)n)); /* deterministic */
        g_autoptr(rg_image) la = NULL, lb = NULL;
        g_autoptr(rg_image) ia = rg_scene_render(&a, &la, &error);
        g_autoptr(rg_image) ib = rg_scene_render(&b, &lb, &error);
        rg_assert_no_error(error);
        for (int i = 0; i < n; i++) {
            const float *q = p + 4 * i; /* pixel centres at integers */
            const int l0 = lab(la, q[0], q[1]), l1 = lab(lb, q[2] + 0.5f, q[3] + 0.5f);
            RG_CHECK((int)q[0] % 2 == 0 && (int)q[1] % 2 == 0 && q[0] == floorf(q[0]));
            if (l0 == 0) { /* background: it stays, in both */
                bg_points++;
                RG_CHECK(q[2] == q[0] && q[3] == q[1] && l1 == 0);
                continue;
            }
            object_points++;
            float bx, by;
            RG_CHECK(l1 == l0); /* the tracked point lies on the same object in b */
            RG_CHECK(rg_scene_track_point(&a, la, &b, lb, q[0] + 0.5f, q[1] + 0.5f, &bx, &by) &&
                     bx - 0.5f == q[2] && by - 0.5f == q[3]);
            /* at interior pixels the colours agree (textures move with the object) */
            const int x1 = (int)(q[2] + 0.5f), y1 = (int)(q[3] + 0.5f), x0 = (int)q[0], y0 = (int)q[1];
            gboolean interior = TRUE;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    interior &= x1 + dx >= 0 && x1 + dx < 64 && y1 + dy >= 0 && y1 + dy < 64 && x0 + dx >= 0 &&
                                x0 + dx < 64 && y0 + dy >= 0 && y0 + dy < 64 &&
                                lab(lb, x1 + dx, y1 + dy) == l0 && lab(la, x0 + dx, y0 + dy) == l0;
            if (!interior)
                continue;
            tracked++;
            int diff = 0;
            for (int c = 0; c < 3; c++)
                diff = MAX(diff, abs(ia->data[(y0 * 64 + x0) * 3 + c] - ib->data[(y1 * 64 + x1) * 3 + c]));
            close_colour += diff <= 60;
        }
        /* max_points keeps a subset */
        g_autofree float *p3 = NULL;
        int n3 = 0;
        g_assert_true(rg_demo_correspondence_pair(seed, 10, &a2, &b2, &p3, &n3, &error));
        RG_CHECK(n3 == MIN(10, n));
    }
    g_print("demo pairs: %d object and %d background tracks; %d of %d interior tracks keep their colour\n",
            object_points, bg_points, close_colour, tracked);
    RG_CHECK(object_points > 200 && bg_points > 100 && close_colour >= 0.8 * tracked);

    /* triplets: the positive moves the same objects, the negative recolours the same layout */
    for (guint64 seed = 1; seed <= 20; seed++) {
        rg_scene an, po, ne;
        rg_demo_appearance_triplet(seed, &an, &po, &ne);
        RG_CHECK(po.n_objects == an.n_objects && ne.n_objects == an.n_objects);
        gboolean moved = FALSE, bg_new = ne.bg_color[0] != an.bg_color[0] || ne.bg_color[1] != an.bg_color[1];
        for (int k = 0; k < an.n_objects; k++) {
            const rg_scene_object *o = &an.objects[k], *p = &po.objects[k], *q = &ne.objects[k];
            RG_CHECK(p->shape == o->shape && p->color == o->color && p->texture == o->texture && p->rx == o->rx);
            moved |= p->cx != o->cx || p->cy != o->cy;
            RG_CHECK(q->cx == o->cx && q->cy == o->cy && q->angle == o->angle && q->shape == o->shape);
            RG_CHECK(q->color != o->color);
        }
        RG_CHECK(moved && bg_new && !memcmp(po.bg_color, an.bg_color, sizeof an.bg_color));
    }

    /* pose and edge maps */
    int creatures = 0;
    for (guint64 seed = 1; seed <= 40; seed++) {
        rg_scene s;
        rg_scene_generate(&s, seed);
        g_autoptr(rg_image) labels = NULL;
        g_autoptr(rg_image) img = rg_scene_render(&s, &labels, &error);
        g_assert_nonnull(img);
        g_autoptr(rg_image) pose = rg_demo_pose_map(&s, labels, &error);
        g_autoptr(rg_image) edge = rg_demo_edge_map(labels, &error);
        rg_assert_no_error(error);
        float kp[RG_SCENE_MAX_OBJECTS][RG_SCENE_MAX_KEYPOINTS][2];
        const char *names[RG_SCENE_MAX_OBJECTS][RG_SCENE_MAX_KEYPOINTS];
        int nk[RG_SCENE_MAX_OBJECTS] = {0};
        for (int k = 0; k < s.n_objects; k++)
            if (s.objects[k].shape == RG_SHAPE_CREATURE)
                nk[k] = rg_scene_object_keypoints(&s, k, names[k], kp[k], RG_SCENE_MAX_KEYPOINTS);
        int wrong = 0;
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                const guint8 *px = pose->data + (y * 64 + x) * 3;
                const int l = labels->data[y * 64 + x];
                gboolean near_dot = FALSE;
                for (int k = 0; k < s.n_objects; k++)
                    for (int i = 0; i < nk[k]; i++)
                        near_dot |= strcmp(names[k][i], "center") && fabsf(x + 0.5f - kp[k][i][0]) < 3.5f &&
                                    fabsf(y + 0.5f - kp[k][i][1]) < 3.5f;
                if (near_dot)
                    continue;
                guint8 want[3] = {0, 0, 0};
                if (l > 0)
                    rg_demo_pose_color(s.objects[l - 1].shape, want);
                wrong += memcmp(px, want, 3) != 0;
                /* an edge wherever a neighbour's label differs */
                const gboolean boundary = (x < 63 && labels->data[y * 64 + x + 1] != l) ||
                                          (y < 63 && labels->data[(y + 1) * 64 + x] != l);
                if (boundary)
                    wrong += edge->data[(y * 64 + x) * 3] != 255;
            }
        }
        for (int k = 0; k < s.n_objects; k++) {
            for (int i = 0; i < nk[k]; i++) {
                const guint8 *px = pose->data + ((int)kp[k][i][1] * 64 + (int)kp[k][i][0]) * 3;
                const guint8 head[3] = {RG_DEMO_POSE_HEAD_RGB}, eye[3] = {RG_DEMO_POSE_EYE_RGB};
                if (!strcmp(names[k][i], "head"))
                    wrong += memcmp(px, head, 3) != 0;
                else if (g_str_has_prefix(names[k][i], "eye"))
                    wrong += memcmp(px, eye, 3) != 0;
                /* every dot reaches an even pixel, which the latent grid samples */
                gboolean even = FALSE;
                for (int dy = -2; dy <= 2; dy++)
                    for (int dx = -2; dx <= 2; dx++) {
                        const int xx = (int)kp[k][i][0] + dx, yy = (int)kp[k][i][1] + dy;
                        if (xx >= 0 && yy >= 0 && xx < 64 && yy < 64 && xx % 2 == 0 && yy % 2 == 0)
                            even |= !memcmp(pose->data + (yy * 64 + xx) * 3, px, 3);
                    }
                wrong += strcmp(names[k][i], "center") && !even;
            }
            creatures += nk[k] > 0;
        }
        if (wrong)
            g_printerr("NOT OK pose/edge map of scene %" G_GUINT64_FORMAT ": %d wrong pixels\n", seed, wrong);
        rg_test_failures += wrong > 0;
    }
    RG_CHECK(creatures >= 5);
    gboolean ok = TRUE;
    g_autoptr(rg_image) rgb = rg_image_new(4, 4, 3, &error);
    rg_scene s0;
    rg_scene_generate(&s0, 1);
    RG_EXPECT_ERROR(ok, "pose map of RGB labels", rg_demo_pose_map(&s0, rgb, &err_), RG_ERROR_ARGUMENT, "label map");
    RG_CHECK(ok);
}

/* ---- data folders and trainer errors ------------------------------------------------------------ */

/* rg_head_trainer_new() must fail with @code and a message holding @needle. */
static gboolean expect_new_fails(const char *label, const char *model, const char *data, const rg_head_train_config *c,
                                 int code, const char *needle)
{
    GError *error = NULL;
    rg_head_trainer *t = rg_head_trainer_new(model, data, c, &error);
    const gboolean ok = !t && error && error->code == code && strstr(error->message, needle);
    g_print("%s error %s: %s\n", ok ? "OK" : "NOT OK", label, error ? error->message : "no error");
    rg_head_trainer_free(t);
    g_clear_error(&error);
    return ok;
}

static void test_trainer_errors(void)
{
    g_autofree char *demo = tiny_demo_model("demo-model");
    g_autofree char *tiny_sd = g_strdup(RG_TINY_MODEL);
    rg_head_train_config c;
    gboolean ok = TRUE;
    small_settings(&c, "pose");
    g_strlcpy(c.role, "posture", sizeof c.role);
    ok &= expect_new_fails("unknown role", demo, "demo", &c, RG_ERROR_ARGUMENT, "posture");
    small_settings(&c, "depth");
    ok &= expect_new_fails("demo depth", demo, "demo", &c, RG_ERROR_ARGUMENT, "no depth maps");
    small_settings(&c, "pose");
    ok &= expect_new_fails("demo data on tiny-sd", tiny_sd, "demo", &c, RG_ERROR_ARGUMENT, "64x64 scenes");
    g_autofree char *missing = in_tmp("no-such-data");
    ok &= expect_new_fails("missing folder", tiny_sd, missing, &c, RG_ERROR_IO, "does not exist");
    c.projection_dim = 200;
    ok &= expect_new_fails("projection dim", tiny_sd, "demo", &c, RG_ERROR_ARGUMENT, "projection_dim");
    /* spatial: an image without a target */
    g_autofree char *sp = in_tmp("spatial-bad");
    g_autofree char *im = g_build_filename(sp, "images", "a.png", NULL);
    write_png(im, 8, 8, 1);
    g_autofree char *tdir = g_build_filename(sp, "targets", NULL);
    g_mkdir_with_parents(tdir, 0777);
    small_settings(&c, "pose");
    ok &= expect_new_fails("no target", tiny_sd, sp, &c, RG_ERROR_IO, "targets/a.png");
    /* correspondence: pairs.json missing, not JSON, a bad point, a path outside, a missing image */
    g_autofree char *cd = in_tmp("pairs-bad");
    g_mkdir_with_parents(cd, 0777);
    small_settings(&c, "correspondence");
    ok &= expect_new_fails("no pairs.json", tiny_sd, cd, &c, RG_ERROR_IO, "pairs.json");
    g_autofree char *pj = g_build_filename(cd, "pairs.json", NULL);
    g_autofree char *a_png = g_build_filename(cd, "a.png", NULL);
    write_png(a_png, 40, 30, 2);
    const struct {
        const char *json, *needle;
        int code;
    } bad[] = {
        {"[{\"source\": \"a.png\", ", "pairs.json", RG_ERROR_FORMAT},
        {"[]", "non-empty list", RG_ERROR_FORMAT},
        {"[{\"source\": \"a.png\", \"target\": \"a.png\", \"points\": [[1, 2, 3]]}]", "pair 0, point 0",
         RG_ERROR_FORMAT},
        {"[{\"source\": \"a.png\", \"target\": \"a.png\", \"points\": []}]", "at least one track", RG_ERROR_FORMAT},
        {"[{\"source\": \"../a.png\", \"target\": \"a.png\", \"points\": [[1, 2, 3, 4]]}]", "inside the data folder",
         RG_ERROR_FORMAT},
        {"{\"pairs\": [{\"source\": \"a.png\", \"target\": \"b.png\", \"points\": [[1, 2, 3, 4]]}]}",
         "\"b.png\" does not exist", RG_ERROR_IO},
        {"[{\"source\": \"a.png\", \"points\": [[1, 2, 3, 4]]}]", "no \"target\"", RG_ERROR_FORMAT},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        write_text(pj, bad[i].json);
        ok &= expect_new_fails(bad[i].needle, tiny_sd, cd, &c, bad[i].code, bad[i].needle);
    }
    small_settings(&c, "appearance");
    g_autofree char *tj = g_build_filename(cd, "triplets.json", NULL);
    write_text(tj, "[{\"anchor\": \"a.png\", \"positive\": \"a.png\"}]");
    ok &= expect_new_fails("triplet without negative", tiny_sd, cd, &c, RG_ERROR_FORMAT, "no \"negative\"");
    RG_CHECK(ok);
}

/* ---- training ----------------------------------------------------------------------------------- */

/* The batch's UNet timestep and emb follow the official quirks, or the corrected forms. */
static void test_timesteps(const char *model)
{
    GError *error = NULL;
    for (int corrected = 0; corrected < 2; corrected++) {
        rg_head_train_config c;
        small_settings(&c, "pose");
        c.batch = 2;
        c.corrected_timestep = corrected;
        g_autoptr(rg_head_trainer) t = rg_head_trainer_new(model, "demo", &c, &error);
        rg_assert_no_error(error);
        head_batch b;
        g_assert_true(head_train_make_batch(t, 5, &b, &error));
        rg_assert_no_error(error);
        const int tau = 999 - b.s;
        rg_ctx *ctx = t->p->ctx;
        /* emb: the UNet's time embedding of s (official) or tau (corrected) */
        const float et = (float)(corrected ? tau : b.s), ut = (float)(corrected ? tau : tau + 1);
        g_autoptr(rg_tensor) tt = rg_tensor_new_from_data(RG_DTYPE_F32, 1, (const int64_t[]){1}, &et, &error);
        g_autoptr(rg_tensor) emb = rg_unet_time_embedding(t->p->unet, ctx, tt, &error);
        RG_CHECK(rg_check_tensor(corrected ? "emb of tau" : "emb of s", b.emb, emb, 0, 0));
        /* the latents: sqrt(a_tau) space_to_depth(image) + sqrt(1 - a_tau) eps, eps from the keyed stream */
        head_item it;
        g_assert_true(head_data_item(t->data, c.seed, 5, 2, 1, 64, &it, &error));
        g_autoptr(rg_tensor) x = rg_image_to_tensor(it.images[0], &error);
        g_autoptr(rg_tensor) z = NULL, logvar = NULL; /* the demo's VAE: the exact space-to-depth */
        g_assert_true(rg_vae_encode(t->p->vae, ctx, x, &z, &logvar, &error));
        /* cell (0, 1) of channel 0 holds pixel (0, 2); channel 1 pixel (0, 1) */
        RG_CHECK(rg_tensor_shape(z)[1] == 12 && rg_tensor_get_flat(z, 1) == rg_tensor_get_flat(x, 2) &&
                 rg_tensor_get_flat(z, 32 * 32) == rg_tensor_get_flat(x, 1));
        head_item_clear(&it);
        const double a = rg_ddim_alpha(&t->sched, tau);
        rg_rng r;
        rg_rng_init(&r, c.seed, HEAD_KEY_NOISE, 5, 1);
        g_autoptr(rg_tensor) want = rg_tensor_new(RG_DTYPE_F32, 4, rg_tensor_shape(z), &error);
        for (int64_t k = 0; k < rg_tensor_numel(z); k++)
            rg_tensor_data_f32(want)[k] = (float)(sqrt(a) * rg_tensor_get_flat(z, k) + sqrt(1 - a) * rg_rng_normal(&r));
        g_autoptr(rg_tensor) got = rg_slice(ctx, b.latents, 0, 1, 1, &error);
        RG_CHECK(rg_check_tensor("latent of image 1", got, want, 1e-5, 1e-5));
        /* the features: the UNet at tau + 1 (official) or tau (corrected) on those latents */
        g_autoptr(rg_tensor) ut_t = rg_tensor_new_from_data(RG_DTYPE_F32, 1, (const int64_t[]){1}, &ut, &error);
        g_autoptr(rg_tensor) ehs = rg_concat(ctx, (rg_tensor *[]){t->text, t->text}, 2, 0, &error);
        rg_tensor *f[RG_HEAD_MAX_LAYERS] = {NULL};
        g_assert_true(rg_unet_forward(t->p->unet, ctx, b.latents, ut_t, ehs, NULL, f, &error));
        for (int l = 0; l < b.n_features; l++) {
            g_autofree char *label = g_strdup_printf("%s feature %d", corrected ? "corrected" : "official", l);
            RG_CHECK(rg_check_tensor(label, b.features[l], f[l], 0, 0));
            rg_tensor_unref(f[l]);
        }
        head_batch_clear(&b);
    }
}

/* Training on one fixed batch brings the recipe's loss down. */
static void test_fixed_batch(const char *model, const char *data, const char *role, float lr, int steps, double ratio)
{
    GError *error = NULL;
    rg_head_train_config c;
    small_settings(&c, role);
    c.lr = lr;
    g_autoptr(rg_head_trainer) t = rg_head_trainer_new(model, data, &c, &error);
    rg_assert_no_error(error);
    head_batch b;
    g_assert_true(head_train_make_batch(t, 0, &b, &error));
    double first = 0, last = 0, l = 0;
    const gint64 t0 = g_get_monotonic_time();
    for (int i = 0; i < steps; i++) {
        g_assert_true(head_train_step_on(t, &b, &l, &error));
        rg_assert_no_error(error);
        if (i == 0)
            first = l;
    }
    g_assert_true(head_train_batch_loss(t, &b, FALSE, &last, &error));
    const double per = (g_get_monotonic_time() - t0) / 1e6 / steps;
    const gboolean ok = isfinite(last) && last < ratio * first;
    g_print("%s %s on %s: loss %.4f -> %.4f after %d steps on one batch (%.3f s/step)\n", ok ? "OK" : "NOT OK", role,
            data, first, last, steps, per);
    rg_test_failures += !ok;
    head_batch_clear(&b);
}

static gboolean same_weights(rg_head_trainer *a, rg_head_trainer *b)
{
    int differ = 0;
    for (int i = 0; i < a->n; i++) {
        rg_tensor *x = g_ptr_array_index(a->params, i), *y = g_ptr_array_index(b->params, i);
        differ += memcmp(rg_tensor_data_f32(x), rg_tensor_data_f32(y), sizeof(float) * (size_t)rg_tensor_numel(x)) != 0;
    }
    return differ == 0 && a->step == b->step;
}

static void test_resume(const char *model)
{
    GError *error = NULL;
    rg_head_train_config c;
    small_settings(&c, "correspondence");
    g_autoptr(rg_head_trainer) a = rg_head_trainer_new(model, "demo", &c, &error);
    g_autoptr(rg_head_trainer) b = rg_head_trainer_new(model, "demo", &c, &error);
    rg_assert_no_error(error);
    g_autofree char *state = in_tmp("resume.train-state");
    for (int i = 0; i < 4; i++)
        g_assert_true(rg_head_trainer_step(a, NULL, &error));
    for (int i = 0; i < 2; i++)
        g_assert_true(rg_head_trainer_step(b, NULL, &error));
    g_assert_true(rg_head_trainer_save_state(b, state, "{\"x\": 1}", &error));
    g_autoptr(rg_head_trainer) r = rg_head_trainer_new(model, "demo", &c, &error);
    g_autofree char *run = NULL;
    g_assert_true(rg_head_trainer_load_state(r, state, &run, &error));
    rg_assert_no_error(error);
    RG_CHECK(r->step == 2 && !g_strcmp0(run, "{\"x\": 1}"));
    for (int i = 0; i < 2; i++)
        g_assert_true(rg_head_trainer_step(r, NULL, &error));
    const gboolean same = same_weights(a, r);
    g_print("%s 4 steps straight = 2 + state + 2: the same bits\n", same ? "OK" : "NOT OK");
    rg_test_failures += !same;
    /* the state of another head config is refused, and nothing changes */
    small_settings(&c, "correspondence");
    c.projection_dim = 256;
    g_autoptr(rg_head_trainer) other = rg_head_trainer_new(model, "demo", &c, &error);
    rg_assert_no_error(error);
    const gboolean loaded = rg_head_trainer_load_state(other, state, NULL, &error);
    g_print("error other config: %s\n", error ? error->message : "none");
    RG_CHECK(!loaded && error && error->code == RG_ERROR_ARGUMENT && strstr(error->message, "projection_dim") &&
             other->step == 0);
    g_clear_error(&error);
    /* the head's config: role, base model, the model's features */
    const rg_head_config *hc = rg_head_get_config(rg_head_trainer_get_head(a));
    RG_CHECK(!strcmp(hc->role, "correspondence") && !strcmp(hc->base_model, "readout-demo") && !hc->use_output_head &&
             hc->n_layers == rg_unet_n_features(a->p->unet) && hc->emb_dim == 32);
}

static void test_folder(void)
{
    GError *error = NULL;
    /* tiny-sd works at 32x32: images of other sizes and aspects are cropped and resized */
    g_autofree char *sp = in_tmp("spatial");
    for (int i = 0; i < 3; i++) {
        g_autofree char *name = g_strdup_printf("%c.png", 'a' + i);
        g_autofree char *im = g_build_filename(sp, "images", name, NULL);
        g_autofree char *tg = g_build_filename(sp, "targets", name, NULL);
        write_png(im, 48 + 8 * i, 40, 10 + i);
        write_png(tg, 48 + 8 * i, 40, 20 + i);
    }
    test_fixed_batch(RG_TINY_MODEL, sp, "edge", 1e-3f, 20, 0.5);
    rg_head_train_config c;
    small_settings(&c, "edge");
    g_autoptr(rg_head_trainer) t = rg_head_trainer_new(RG_TINY_MODEL, sp, &c, &error);
    rg_assert_no_error(error);
    RG_CHECK(rg_head_trainer_n_items(t) == 3 && !strcmp(rg_head_get_config(t->head)->base_model, "tiny-sd"));
    /* pairs: tracks follow the crop and resize; a batch of 2 pairs trains */
    g_autofree char *cd = in_tmp("pairs");
    for (int i = 0; i < 2; i++) {
        g_autofree char *name = g_strdup_printf("f%d.png", i);
        g_autofree char *p = g_build_filename(cd, name, NULL);
        write_png(p, 40, 40, 30 + i);
    }
    g_autofree char *pj = g_build_filename(cd, "pairs.json", NULL);
    write_text(pj, "[{\"source\": \"f0.png\", \"target\": \"f1.png\", \"points\": [[0, 0, 39, 39], [20, 10, 21, 11], "
                   "[5, 30, 6, 30]]}, {\"source\": \"f1.png\", \"target\": \"f0.png\", \"points\": [[3, 4, 5, 6]]}]");
    small_settings(&c, "correspondence");
    c.batch = 2;
    g_autoptr(rg_head_trainer) ct = rg_head_trainer_new(RG_TINY_MODEL, cd, &c, &error);
    rg_assert_no_error(error);
    head_batch b;
    g_assert_true(head_train_make_batch(ct, 0, &b, &error));
    RG_CHECK(b.n_images == 4 && b.n_matches[0] + b.n_matches[1] == 4);
    /* 40 px -> 32 px, grid 16: (39, 39) -> pixel 31.2 -> cell 15 (the last) */
    for (int k = 0; k < b.n_matches[0] + b.n_matches[1]; k++)
        RG_CHECK(b.src_idx[k] >= 0 && b.src_idx[k] < 256 && b.tgt_idx[k] >= 0 && b.tgt_idx[k] < 256);
    double l0 = 0, l1 = 0;
    for (int i = 0; i < 20; i++)
        g_assert_true(head_train_step_on(ct, &b, i ? &l1 : &l0, &error));
    g_print("%s pairs folder: loss %.3f -> %.3f\n", l1 < l0 ? "OK" : "NOT OK", l0, l1);
    rg_test_failures += !(l1 < l0);
    head_batch_clear(&b);
}

static void test_train(void)
{
    g_autofree char *model = tiny_demo_model("demo-model");
    test_timesteps(model);
    test_fixed_batch(model, "demo", "pose", 1e-3f, 20, 0.5);
    test_fixed_batch(model, "demo", "correspondence", 1e-3f, 20, 0.7);
    test_fixed_batch(model, "demo", "appearance", 1e-3f, 20, 0.6);
    test_resume(model);
    test_folder();
}

/* ---- the command ----------------------------------------------------------------------------------- */

/* `readout train-head ARGS... NULL`: the exit status; stderr to *err. */
#define run_cli(err, ...) rg_test_spawn(RG_READOUT_EXE, NULL, (err), "train-head", __VA_ARGS__)

#define EXPECT_CLI(label, code, needle, ...)                                                                     \
    do {                                                                                                         \
        g_autofree char *err_ = NULL;                                                                            \
        const int rc_ = run_cli(&err_, __VA_ARGS__, NULL);                                                       \
        if (rc_ != (code) || !strstr(err_, (needle))) {                                                          \
            g_printerr("NOT OK %s: expected exit %d saying \"%s\"; got %d: %s\n", label, code, needle, rc_, err_); \
            rg_test_failures++;                                                                                  \
        } else {                                                                                                 \
            g_print("OK %s: %s", label, err_);                                                                   \
        }                                                                                                        \
    } while (0)

static void test_cli(void)
{
    GError *error = NULL;
    g_autofree char *model = tiny_demo_model("cli-model");
    g_autofree char *head = in_tmp("cli/pose.safetensors");
    g_autofree char *state = in_tmp("cli/pose.train-state");
    g_autofree char *log = in_tmp("cli/pose.loss.tsv");
    g_autofree char *cli_dir = in_tmp("cli");
    g_mkdir_with_parents(cli_dir, 0777);
    g_autofree char *err = NULL;
    const char *common[] = {"--model", model, "--role", "pose", "--data", "demo", "--out", head, "--batch", "2",
                            "--projection-dim", "128", "--threads", "2"};
    int rc = run_cli(&err, common[0], common[1], common[2], common[3], common[4], common[5], common[6], common[7],
                     common[8], common[9], common[10], common[11], common[12], common[13], "--steps", "2", NULL);
    RG_CHECK(rc == 0);
    if (rc != 0)
        g_printerr("%s", err);
    g_autoptr(rg_head) h = rg_head_open(head, &error);
    rg_assert_no_error(error);
    const rg_head_config *hc = rg_head_get_config(h);
    RG_CHECK(!strcmp(hc->role, "pose") && !strcmp(hc->base_model, "readout-demo") && hc->use_output_head &&
             hc->sparse_loss && hc->control_range[0] == -0.5f && hc->projection_dim == 128);
    RG_CHECK(g_file_test(state, G_FILE_TEST_EXISTS) && g_file_test(log, G_FILE_TEST_EXISTS));
    /* the folder serves as a heads folder (the state and log are no heads), for this model */
    g_autoptr(rg_head_set) set = rg_head_set_open_dir(cli_dir, &error);
    rg_assert_no_error(error);
    g_autoptr(rg_pipeline) p = rg_pipeline_new(model, NULL, &error);
    rg_assert_no_error(error);
    RG_CHECK(rg_head_set_get(set, "pose") && rg_head_check_unet(rg_head_set_get(set, "pose"), p->unet, &error));
    rg_assert_no_error(error);
    EXPECT_CLI("a run already there", 1, "--resume", common[0], common[1], common[2], common[3], common[4], common[5],
               common[6], common[7], "--steps", "3");
    EXPECT_CLI("resume with another seed", 1, "--seed differs", "--role", "pose", "--out", head, "--resume", "--seed",
               "9", "--steps", "3");
    g_autofree char *err2 = NULL;
    rc = run_cli(&err2, "--role", "pose", "--out", head, "--resume", "--steps", "3", "--threads", "2", NULL);
    RG_CHECK(rc == 0);
    g_autoptr(rg_safetensors) st = rg_safetensors_open(state, &error);
    rg_assert_no_error(error);
    g_autoptr(rg_tensor) step = rg_safetensors_load(st, "step", &error);
    RG_CHECK(step && rg_tensor_get_flat(step, 0) == 3);
    g_autofree char *text = NULL;
    g_file_get_contents(log, &text, NULL, NULL);
    RG_CHECK(text && g_strstr_len(text, -1, "\n3\t") != NULL);

    /* failures */
    g_autofree char *out2 = in_tmp("cli/x.safetensors");
    g_autofree char *missing = in_tmp("no-such-folder");
    g_autofree char *bad = in_tmp("cli-bad-pairs");
    g_autofree char *pj = g_build_filename(bad, "pairs.json", NULL);
    write_text(pj, "{\"pairs\": 3}");
    EXPECT_CLI("unknown role", 2, "unknown role \"posture\"", "--model", model, "--role", "posture", "--data", "demo",
               "--out", out2);
    EXPECT_CLI("no role", 2, "--role", "--model", model, "--data", "demo", "--out", out2);
    EXPECT_CLI("not safetensors", 2, "is a .safetensors file", "--model", model, "--role", "pose", "--data", "demo",
               "--out", "x.pt");
    EXPECT_CLI("no data", 2, "--data", "--model", model, "--role", "pose", "--out", out2);
    EXPECT_CLI("bad steps", 2, "--steps 0", "--model", model, "--role", "pose", "--data", "demo", "--out", out2,
               "--steps", "0");
    EXPECT_CLI("bad projection", 2, "multiple of 128", "--model", model, "--role", "pose", "--data", "demo", "--out",
               out2, "--projection-dim", "100");
    EXPECT_CLI("missing data folder", 1, "does not exist", "--model", model, "--role", "pose", "--data", missing,
               "--out", out2);
    EXPECT_CLI("bad pairs.json", 1, "non-empty list", "--model", model, "--role", "correspondence", "--data", bad,
               "--out", out2);
    EXPECT_CLI("missing model", 1, "no-such-folder", "--model", missing, "--role", "pose", "--data", "demo", "--out",
               out2);
    EXPECT_CLI("resume without state", 1, "no ", "--role", "pose", "--out", out2, "--resume");
    RG_CHECK(!g_file_test(out2, G_FILE_TEST_EXISTS));
}

int main(int argc, char **argv)
{
    const char *part = argc > 1 ? argv[1] : "all";
    tmp = g_dir_make_tmp("rg-head-train-XXXXXX", NULL);
    g_assert_nonnull(tmp);
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    rg_assert_no_error(error);
    const gboolean all = !strcmp(part, "all");
    if (all || !strcmp(part, "losses")) {
        test_losses(ctx);
        test_demo_data();
        test_trainer_errors();
    }
    if (all || !strcmp(part, "train"))
        test_train();
    if (all || !strcmp(part, "cli"))
        test_cli();
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", tmp);
    if (system(rm) != 0)
        g_printerr("could not remove %s\n", tmp);
    g_free(tmp);
    if (rg_test_failures)
        g_printerr("%d checks failed\n", rg_test_failures);
    return rg_test_failures ? 1 : 0;
}
