/* demo.c — `readout demo`: the main job of the README. Makes a scene of the
 * demo world, drags one object's key point with the shipped demo model and
 * heads (the fast preset unless --official), and writes before.png,
 * after.png, the readouts of every step, and side_by_side.png with the drag
 * arrow drawn. */
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "readout/data.h"
#include "readout/pipeline.h"
#include "readout/scene.h"

typedef struct {
    const char *readouts;
    gint64 start_us;
    int last_percent;
} demo_state;

static void on_progress(const char *phase, int i, int n, gpointer data)
{
    demo_state *s = data;
    if (n > 0 && (i == n || i * 10 / n != s->last_percent)) {
        s->last_percent = i * 10 / n;
        fprintf(stderr, "  %-9s %3d/%-3d  %5.1f s\n", phase, i, n, (g_get_monotonic_time() - s->start_us) / 1e6);
    }
}

static void save_quietly(const rg_image *img, const char *dir, const char *name, int i)
{
    g_autofree char *file = g_strdup_printf("%s_%03d.png", name, i);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autoptr(GError) error = NULL;
    if (!rg_image_save_png(img, path, &error))
        g_printerr("readout demo: %s\n", error->message);
}

static void on_preview(const rg_image *rgb, int i, gpointer data)
{
    save_quietly(rgb, ((demo_state *)data)->readouts, "predicted", i);
}

static void on_readout(const char *role, const rg_image *picture, int i, gpointer data)
{
    save_quietly(picture, ((demo_state *)data)->readouts, role, i);
}

/* The point to drag: the top object's head (creatures) or centre, and a
 * target 12 px away toward the middle of the picture. */
static void pick_drag(const rg_scene *scene, float pts[4])
{
    const int k = scene->n_objects - 1;
    const char *names[8];
    float xy[8][2];
    const int n = rg_scene_object_keypoints(scene, k, names, xy, 8);
    int pick = 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], "head"))
            pick = i;
    const float x = xy[pick][0], y = xy[pick][1], mid = RG_SCENE_SIZE / 2.0f;
    pts[0] = x;
    pts[1] = y;
    pts[2] = fminf(fmaxf(x + (x < mid ? 12.0f : -12.0f), 2.0f), RG_SCENE_SIZE - 3.0f);
    pts[3] = fminf(fmaxf(y + (y < mid ? 5.0f : -5.0f), 2.0f), RG_SCENE_SIZE - 3.0f);
}

/* before | after, each magnified @zoom times, with the arrow on both. */
static rg_image *side_by_side(const rg_image *before, const rg_image *after, const float pts[4], GError **error)
{
    const int zoom = 4, gap = 8, w = before->width * zoom, h = before->height * zoom;
    g_autoptr(rg_image) a = rg_image_resize(before, w, h, RG_RESIZE_NEAREST, error);
    g_autoptr(rg_image) b = a ? rg_image_resize(after, w, h, RG_RESIZE_NEAREST, error) : NULL;
    g_autoptr(rg_image) out = b ? rg_image_new(2 * w + gap, h, 3, error) : NULL;
    if (!out)
        return NULL;
    memset(out->data, 255, (size_t)out->width * out->height * 3);
    for (int y = 0; y < h; y++) {
        memcpy(out->data + (size_t)y * out->width * 3, a->data + (size_t)y * w * 3, (size_t)w * 3);
        memcpy(out->data + ((size_t)y * out->width + w + gap) * 3, b->data + (size_t)y * w * 3, (size_t)w * 3);
    }
    const guint8 red[3] = {230, 30, 30}, white[3] = {255, 255, 255};
    for (int panel = 0; panel < 2; panel++) {
        const float ox = (float)(panel * (w + gap)) + zoom / 2.0f, oy = zoom / 2.0f;
        const float x0 = ox + pts[0] * zoom, y0 = oy + pts[1] * zoom, x1 = ox + pts[2] * zoom, y1 = oy + pts[3] * zoom;
        rg_image_draw_arrow(out, x0, y0, x1, y1, white, 4);
        rg_image_draw_arrow(out, x0, y0, x1, y1, red, 2);
        rg_image_draw_dot(out, x0, y0, red, 4);
    }
    return g_steal_pointer(&out);
}

static int failed(const char *message)
{
    g_printerr("readout demo: %s\n", message);
    return 1;
}

int rg_cli_demo(int argc, char **argv)
{
    g_autofree char *out_dir = NULL, *model_arg = NULL, *heads_arg = NULL;
    gint64 seed = 1;
    int steps = 0, threads = 0;
    gboolean official = FALSE;
    GOptionEntry entries[] = {
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir, "Where to write the pictures (default: readout-demo)", "DIR"},
        {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Which scene (default 1)", "S"},
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model_arg, "Model folder (default: the shipped demo model)", "PATH"},
        {"heads", 0, 0, G_OPTION_ARG_FILENAME, &heads_arg, "Heads folder (default: the demo model's)", "DIR"},
        {"steps", 0, 0, G_OPTION_ARG_INT, &steps, "DDIM steps (default 25; 100 with --official)", "N"},
        {"official", 0, 0, G_OPTION_ARG_NONE, &official,
         "The official settings (100 steps, reference denoised in parallel) instead of the fast preset", NULL},
        {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (default: one per core)", "N"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("- drag an object of a demo scene and show the result");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(oc, &argc, &argv, &error))
        return failed(error->message), 2;
    if (argc > 1 || seed < 0 || steps < 0 || threads < 0)
        return failed(argc > 1 ? "unexpected argument" : "--seed, --steps and --threads take positive numbers"), 2;
    if (threads > 0)
        rg_set_num_threads(threads);
    if (!out_dir)
        out_dir = g_strdup("readout-demo");
    g_autofree char *readouts = g_build_filename(out_dir, "readouts", NULL);
    if (g_mkdir_with_parents(readouts, 0755) != 0) {
        g_autofree char *m = g_strdup_printf("cannot make %s: %s", readouts, g_strerror(errno));
        return failed(m);
    }
    g_autofree char *model = rg_resolve_model_path(model_arg, &error);
    g_autofree char *heads_dir = model ? rg_resolve_heads_path(heads_arg, model_arg, &error) : NULL;
    if (!heads_dir)
        return failed(error ? error->message : "--heads is required with --model");

    rg_scene scene;
    rg_scene_generate(&scene, (guint64)seed);
    g_autofree char *caption = rg_scene_caption(&scene);
    g_autoptr(rg_image) before = rg_scene_render(&scene, NULL, &error);
    g_autoptr(rg_pipeline) p = before ? rg_pipeline_new(model, NULL, &error) : NULL;
    g_autoptr(rg_head_set) heads = p ? rg_head_set_open_dir(heads_dir, &error) : NULL;
    if (!heads)
        return failed(error->message);
    float pts[4];
    pick_drag(&scene, pts);
    fprintf(stderr, "scene %" G_GINT64_FORMAT ": %s\ndragging (%.0f, %.0f) -> (%.0f, %.0f)\n", seed, caption, pts[0],
            pts[1], pts[2], pts[3]);

    demo_state st = {readouts, g_get_monotonic_time(), -1};
    rg_job job;
    rg_job_init(&job, RG_JOB_DRAG);
    if (!official) // the demo should take seconds: the fast preset unless asked
        rg_job_apply_fast_preset(&job);
    if (steps)
        job.steps = steps;
    job.prompt = caption;
    job.image = before;
    job.points = pts;
    job.n_points = 1;
    job.heads = heads;
    job.callbacks = (rg_job_callbacks){on_progress, on_preview, on_readout, NULL, &st};
    g_autoptr(rg_image) after = rg_pipeline_run(p, &job, &error);
    if (!after)
        return failed(error->message);
    g_autoptr(rg_image) both = side_by_side(before, after, pts, &error);
    g_autofree char *b_path = g_build_filename(out_dir, "before.png", NULL);
    g_autofree char *a_path = g_build_filename(out_dir, "after.png", NULL);
    g_autofree char *s_path = g_build_filename(out_dir, "side_by_side.png", NULL);
    if (!both || !rg_image_save_png(before, b_path, &error) || !rg_image_save_png(after, a_path, &error) ||
        !rg_image_save_png(both, s_path, &error))
        return failed(error->message);
    printf("wrote %s, %s, %s and the readouts in %s (%.1f s)\n", b_path, a_path, s_path, readouts,
           (g_get_monotonic_time() - st.start_us) / 1e6);
    return 0;
}
