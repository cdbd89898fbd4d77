/* jobs.c — `readout drag`, `readout identity`, `readout pose` and
 * `readout generate`: one subcommand per Readout Guidance job
 * (readout/pipeline.h), with the common flags for steps, seed, CFG,
 * guidance, readout pictures and JSON progress. */
#include <errno.h>
#include <stddef.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "readout/data.h"
#include "readout/pipeline.h"
#include "base/json.h"

/* Flags every job takes. */
typedef struct {
    char *model, *heads, *head, *prompt, *negative, *output, *readouts, *ratio, *device, *control_type;
    int steps, threads, max_side, recurrent;
    gint64 seed;
    double cfg, cfg_reference, weight, eta;
    gboolean json, fast, corrected;
    // job inputs
    char *image, *reference, *box, *pose, *mask, *control;
    char **points;
} job_flags;

typedef struct {
    const char *command;
    const job_flags *f;
    gint64 start_us;
} run_state;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static gboolean cancelled(gpointer data)
{
    (void)data;
    return interrupted != 0;
}

/* One JSON object per line on stdout: {"event": EVENT, key: value, ...} with
 * string (s), int (i) or double (d) values. */
static void emit_json(const char *event, const char *fmt, ...)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "event");
    json_builder_add_string_value(b, event);
    va_list ap;
    va_start(ap, fmt);
    for (const char *c = fmt; c && *c; c++) {
        json_builder_set_member_name(b, va_arg(ap, const char *));
        if (*c == 's')
            json_builder_add_string_value(b, va_arg(ap, const char *));
        else if (*c == 'i')
            json_builder_add_int_value(b, va_arg(ap, int));
        else
            json_builder_add_double_value(b, va_arg(ap, double));
    }
    va_end(ap);
    json_builder_end_object(b);
    g_autofree char *text = rg_json_builder_text(b, FALSE, NULL);
    printf("%s\n", text);
    fflush(stdout);
}

static void on_progress(const char *phase, int i, int n, gpointer data)
{
    run_state *s = data;
    const double elapsed = (g_get_monotonic_time() - s->start_us) / 1e6;
    if (s->f->json)
        emit_json("progress", "siid", "phase", phase, "step", i, "steps", n, "seconds", elapsed);
    else if (isatty(STDERR_FILENO))
        fprintf(stderr, "\r%-10s %4d / %-4d  %6.1f s%s", phase, i, n, elapsed, i == n ? "\n" : "");
    else if (i == n)
        fprintf(stderr, "%s: %d steps, %.1f s\n", phase, n, elapsed);
}

/* Writes @img as DIR/NAME_STEP.png and reports it. */
static void save_step_picture(run_state *s, const char *name, const rg_image *img, int i)
{
    g_autofree char *file = g_strdup_printf("%s_%03d.png", name, i);
    g_autofree char *path = g_build_filename(s->f->readouts, file, NULL);
    g_autoptr(GError) error = NULL;
    if (!rg_image_save_png(img, path, &error))
        g_printerr("readout %s: %s\n", s->command, error->message);
    else if (s->f->json)
        emit_json("readout", "sis", "name", name, "step", i, "path", path);
}

static void on_preview(const rg_image *rgb, int i, gpointer data)
{
    save_step_picture(data, "predicted", rgb, i);
}

static void on_readout(const char *role, const rg_image *picture, int i, gpointer data)
{
    save_step_picture(data, role, picture, i);
}

static int fail(const run_state *s, const char *message)
{
    if (s->f->json)
        emit_json("error", "s", "message", message);
    g_printerr("readout %s: %s\n", s->command, message);
    return 1;
}

static gboolean parse_floats(const char *text, const char *seps, float *out, int n)
{
    g_auto(GStrv) parts = g_strsplit_set(text, seps, -1);
    if ((int)g_strv_length(parts) != n)
        return FALSE;
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        const double v = g_ascii_strtod(g_strstrip(parts[i]), &end);
        if (errno || end == parts[i] || *end || !isfinite(v))
            return FALSE;
        out[i] = (float)v;
    }
    return TRUE;
}

static rg_image *load_input(const run_state *s, const char *what, const char *path, GError **error)
{
    rg_image *img = rg_image_load_png(path, error);
    if (!img)
        g_prefix_error(error, "%s: ", what);
    return img;
}

static int run_job(const char *command, rg_job_kind kind, job_flags *f)
{
    run_state s = {command, f, g_get_monotonic_time()};
    g_autoptr(GError) error = NULL;
    // no --model or "demo": the shipped demo model, with its heads unless heads are given
    g_autofree char *model = rg_resolve_model_path(f->model, &error);
    if (!model)
        return fail(&s, error->message);
    g_autofree char *heads_dir = NULL;
    if ((f->heads || !f->head) && !(heads_dir = rg_resolve_heads_path(f->heads, f->model, &error)) && error)
        return fail(&s, error->message);
    if (!f->output)
        return fail(&s, "--output OUT.png is required");
    g_autofree char *out_dir = g_path_get_dirname(f->output);
    if (!g_file_test(out_dir, G_FILE_TEST_IS_DIR)) {
        g_autofree char *m = g_strdup_printf("cannot write %s: there is no folder %s", f->output, out_dir);
        return fail(&s, m);
    }
    if (f->threads < 0 || f->steps < 0 || f->max_side < 0 || f->recurrent < 0)
        return fail(&s, "--threads, --steps, --max-side and --recurrent-steps take positive numbers");
    if (f->threads > 0)
        rg_set_num_threads(f->threads);

    rg_job job;
    rg_job_init(&job, kind);
    if (f->fast)
        rg_job_apply_fast_preset(&job);
    if (f->prompt)
        job.prompt = f->prompt;
    else if (kind == RG_JOB_DRAG)
        job.prompt = "";
    if (f->negative)
        job.negative_prompt = f->negative;
    if (f->steps)
        job.steps = f->steps;
    if (f->seed >= 0)
        job.seed = (guint64)f->seed;
    job.cfg = (float)f->cfg;
    job.cfg_reference = (float)f->cfg_reference;
    if (!isnan(f->weight))
        job.guidance_weight = (float)f->weight;
    if (!isnan(f->eta))
        job.eta = (float)f->eta;
    if (f->recurrent)
        job.recurrent_steps = f->recurrent;
    job.max_side = f->max_side;
    job.corrected_head_timestep = f->corrected;
    if (f->ratio) {
        float r[2];
        if (parse_floats(f->ratio, ",", r, 2)) {
            job.guidance_ratio[0] = r[0];
            job.guidance_ratio[1] = r[1];
        } else if (parse_floats(f->ratio, ",", r, 1)) {
            job.guidance_ratio[0] = 0.0f;
            job.guidance_ratio[1] = r[0];
        } else {
            return fail(&s, "--guidance-ratio takes END or START,END (fractions of the steps)");
        }
    }

    // inputs
    g_autoptr(rg_image) image = NULL, reference = NULL, control = NULL, mask = NULL;
    g_autofree float *points = NULL;
    int box[4];
    if (f->image && !(image = load_input(&s, "--image", f->image, &error)))
        return fail(&s, error->message);
    if (f->reference && !(reference = load_input(&s, "--reference", f->reference, &error)))
        return fail(&s, error->message);
    const char *control_path = kind == RG_JOB_POSE ? f->pose : f->control;
    if (control_path && !(control = load_input(&s, kind == RG_JOB_POSE ? "--pose" : "--control", control_path, &error)))
        return fail(&s, error->message);
    if (f->mask && !(mask = load_input(&s, "--mask", f->mask, &error)))
        return fail(&s, error->message);
    job.image = image;
    job.reference = reference;
    job.control = control;
    job.mask = mask;
    if (f->box) {
        float b[4];
        if (!parse_floats(f->box, ",", b, 4))
            return fail(&s, "--box takes x0,y0,x1,y1 in pixels of the reference");
        for (int i = 0; i < 4; i++)
            box[i] = (int)lrintf(b[i]);
        job.box = box;
    }
    const int n_points = f->points ? (int)g_strv_length(f->points) : 0;
    points = g_new0(float, 4 * MAX(n_points, 1));
    for (int k = 0; k < n_points; k++)
        if (!parse_floats(f->points[k], ",:", points + 4 * k, 4)) {
            g_autofree char *m = g_strdup_printf("--point \"%s\": expected X0,Y0:X1,Y1 (handle, then target, "
                                                 "in pixels)", f->points[k]);
            return fail(&s, m);
        }
    job.points = points;
    job.n_points = n_points;

    // heads
    g_autoptr(rg_head_set) heads = heads_dir ? rg_head_set_open_dir(heads_dir, &error) : rg_head_set_new();
    if (!heads)
        return fail(&s, error->message);
    const char *single_role = NULL;
    if (f->head) { // under --control-type, else the job's role (pose), else its own
        g_autoptr(rg_head) h = rg_head_open(f->head, &error);
        if (!h)
            return fail(&s, error->message);
        single_role = g_intern_string(f->control_type       ? f->control_type
                                      : kind == RG_JOB_POSE ? RG_ROLE_POSE
                                                            : rg_head_get_config(h)->role);
        if (!rg_head_set_add(heads, single_role, g_steal_pointer(&h), &error))
            return fail(&s, error->message);
    }
    job.heads = heads;
    if (kind == RG_JOB_GENERATE && control) {
        job.control_role = f->control_type ? f->control_type : single_role;
        if (!job.control_role || !*job.control_role)
            return fail(&s, "--control needs --control-type pose|depth|edge, or a --head whose file name says it");
    }

    // model and run
    rg_backend *backend = NULL;
    if (f->device && strcmp(f->device, "cpu")) {
        if (strcmp(f->device, "cuda"))
            return fail(&s, "--device takes cpu or cuda");
        if (!(backend = rg_backend_cuda_new(0, &error)))
            return fail(&s, error->message);
    }
    if (f->json)
        emit_json("start", "ss", "job", command, "model", model);
    on_progress("load", 0, 1, &s);
    g_autoptr(rg_pipeline) p = rg_pipeline_new(model, backend, &error);
    if (!p || !rg_pipeline_check(p, &job, &error))
        return fail(&s, error->message);
    on_progress("load", 1, 1, &s);
    if (f->readouts && g_mkdir_with_parents(f->readouts, 0755) != 0) {
        g_autofree char *m = g_strdup_printf("--readouts %s: %s", f->readouts, g_strerror(errno));
        return fail(&s, m);
    }
    job.callbacks = (rg_job_callbacks){.progress = on_progress, .cancelled = cancelled, .user_data = &s};
    if (f->readouts) {
        job.callbacks.preview = on_preview;
        job.callbacks.readout = on_readout;
    }
    struct sigaction sa = {.sa_handler = on_sigint};
    sigaction(SIGINT, &sa, NULL);
    g_autoptr(rg_image) out = rg_pipeline_run(p, &job, &error);
    if (!out) {
        fail(&s, error->message);
        return g_error_matches(error, RG_ERROR, RG_ERROR_CANCELLED) ? 130 : 1;
    }
    if (!rg_image_save_png(out, f->output, &error))
        return fail(&s, error->message);
    const double seconds = (g_get_monotonic_time() - s.start_us) / 1e6;
    if (f->json)
        emit_json("done", "sd", "output", f->output, "seconds", seconds);
    else
        fprintf(stderr, "wrote %s (%dx%d) in %.1f s\n", f->output, out->width, out->height, seconds);
    return 0;
}

/* ---- the subcommands --------------------------------------------------------- */

static int parse_and_run(const char *command, rg_job_kind kind, const char *summary, GOptionEntry *own,
                         int argc, char **argv)
{
    job_flags f = {.seed = -1, .weight = NAN, .eta = NAN};
    GOptionEntry common[] = {
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &f.model,
         "Diffusers folder or single-file checkpoint (default: demo, the shipped demo model)", "PATH"},
        {"heads", 0, 0, G_OPTION_ARG_FILENAME, &f.heads,
         "Folder of head files named by role (appearance, correspondence, pose, depth, edge, identity; .pt or "
         ".safetensors; official names such as readout_sdv15_drag_appearance.pt too; default with the demo model: "
         "its heads)", "DIR"},
        {"head", 0, 0, G_OPTION_ARG_FILENAME, &f.head, "One head file (pose: the pose head; generate: the control's)",
         "FILE"},
        {"prompt", 'p', 0, G_OPTION_ARG_STRING, &f.prompt, "The prompt", "TEXT"},
        {"negative-prompt", 0, 0, G_OPTION_ARG_STRING, &f.negative, "Negative prompt (default: the official one)",
         "TEXT"},
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &f.output, "Where to write the result (PNG)", "OUT.png"},
        {"steps", 0, 0, G_OPTION_ARG_INT, &f.steps, "DDIM steps (default 100; 25 with --fast)", "N"},
        {"seed", 0, 0, G_OPTION_ARG_INT64, &f.seed, "Seed of the noise (default 100)", "S"},
        {"cfg", 0, 0, G_OPTION_ARG_DOUBLE, &f.cfg,
         "CFG scale of the edited image (default 7.5; 3.5 for a drag of a real image)", "W"},
        {"cfg-reference", 0, 0, G_OPTION_ARG_DOUBLE, &f.cfg_reference,
         "CFG scale of the reference sample (default 1 for real images, else --cfg)", "W"},
        {"guidance-weight", 0, 0, G_OPTION_ARG_DOUBLE, &f.weight,
         "Step size of the guidance on the latent (rg_weight, default 0.02; 0 turns guidance off)", "W"},
        {"guidance-ratio", 0, 0, G_OPTION_ARG_STRING, &f.ratio,
         "Guided share of the steps: END or START,END (default 0,0.5)", "R"},
        {"recurrent-steps", 0, 0, G_OPTION_ARG_INT, &f.recurrent, "Guidance updates per guided step (default 1)", "N"},
        {"eta", 0, 0, G_OPTION_ARG_DOUBLE, &f.eta, "DDIM eta (default 0 for drag/identity, 1 for pose/generate)",
         "E"},
        {"max-side", 0, 0, G_OPTION_ARG_INT, &f.max_side,
         "Longest side of the working size (default: the model's native size)", "PX"},
        {"fast", 0, 0, G_OPTION_ARG_NONE, &f.fast,
         "Fast preset: 25 steps, reference readouts cached from its own run", NULL},
        {"corrected-timestep", 0, 0, G_OPTION_ARG_NONE, &f.corrected,
         "Give the heads the embedding of 999-t they were trained with (the official code gives t)", NULL},
        {"readouts", 0, 0, G_OPTION_ARG_FILENAME, &f.readouts,
         "Write the predicted image and each head's readout at every step into DIR", "DIR"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &f.json, "Progress as JSON lines on stdout", NULL},
        {"device", 'd', 0, G_OPTION_ARG_STRING, &f.device, "cpu (default) or cuda", "DEVICE"},
        {"threads", 't', 0, G_OPTION_ARG_INT, &f.threads, "Worker threads (default: one per core)", "N"},
        G_OPTION_ENTRY_NULL,
    };
    // own entries point at fields of f through their arg_data offsets
    for (GOptionEntry *e = own; e->long_name; e++)
        e->arg_data = (char *)&f + (size_t)e->arg_data;
    g_autofree char *parameter = g_strdup_printf("- %s", summary);
    g_autoptr(GOptionContext) oc = g_option_context_new(parameter);
    g_option_context_add_main_entries(oc, own, NULL);
    GOptionGroup *group = g_option_group_new("common", "Options of every job:", "Show the options every job takes",
                                             NULL, NULL);
    g_option_group_add_entries(group, common);
    g_option_context_add_group(oc, group);
    g_autoptr(GError) error = NULL;
    int rc;
    if (!g_option_context_parse(oc, &argc, &argv, &error)) {
        g_printerr("readout %s: %s\n", command, error->message);
        rc = 2;
    } else if (argc > 1) {
        g_printerr("readout %s: unexpected argument \"%s\"\n", command, argv[1]);
        rc = 2;
    } else {
        rc = run_job(command, kind, &f);
    }
    char **strings[] = {&f.model, &f.heads, &f.head, &f.prompt, &f.negative, &f.output, &f.readouts, &f.ratio,
                        &f.device, &f.control_type, &f.image, &f.reference, &f.box, &f.pose, &f.mask, &f.control};
    for (size_t i = 0; i < G_N_ELEMENTS(strings); i++)
        g_clear_pointer(strings[i], g_free);
    g_strfreev(f.points);
    return rc;
}

#define FIELD(name) ((gpointer)offsetof(job_flags, name))

int rg_cli_drag(int argc, char **argv)
{
    GOptionEntry own[] = {
        {"image", 'i', 0, G_OPTION_ARG_FILENAME, FIELD(image), "The picture to edit (PNG); without it --seed makes one",
         "IN.png"},
        {"point", 0, 0, G_OPTION_ARG_STRING_ARRAY, FIELD(points),
         "Handle and target in pixels, x right, y down (repeat for more points)", "X0,Y0:X1,Y1"},
        G_OPTION_ENTRY_NULL,
    };
    return parse_and_run("drag", RG_JOB_DRAG, "move content from each handle to its target", own, argc, argv);
}

int rg_cli_identity(int argc, char **argv)
{
    GOptionEntry own[] = {
        {"reference", 'r', 0, G_OPTION_ARG_FILENAME, FIELD(reference), "The picture whose look (or person) to keep",
         "REF.png"},
        {"box", 0, 0, G_OPTION_ARG_STRING, FIELD(box), "Compare only this box of the reference (pixels)",
         "x0,y0,x1,y1"},
        G_OPTION_ENTRY_NULL,
    };
    return parse_and_run("identity", RG_JOB_IDENTITY, "a new picture that keeps the reference's appearance", own, argc,
                         argv);
}

int rg_cli_pose(int argc, char **argv)
{
    GOptionEntry own[] = {
        {"pose", 0, 0, G_OPTION_ARG_FILENAME, FIELD(pose), "OpenPose map to follow (PNG)", "POSE.png"},
        {"image", 'i', 0, G_OPTION_ARG_FILENAME, FIELD(image), "Picture to fill (with --mask)", "IN.png"},
        {"mask", 0, 0, G_OPTION_ARG_FILENAME, FIELD(mask), "Where the fill may change pixels (non-zero)", "MASK.png"},
        G_OPTION_ENTRY_NULL,
    };
    return parse_and_run("pose", RG_JOB_POSE, "generate or fill following a pose map", own, argc, argv);
}

int rg_cli_generate(int argc, char **argv)
{
    GOptionEntry own[] = {
        {"control", 0, 0, G_OPTION_ARG_FILENAME, FIELD(control), "Control map for a spatial head (PNG)", "MAP.png"},
        {"control-type", 0, 0, G_OPTION_ARG_STRING, FIELD(control_type),
         "pose, depth or edge (default: the --head's role)", "ROLE"},
        G_OPTION_ENTRY_NULL,
    };
    return parse_and_run("generate", RG_JOB_GENERATE, "text to image, optionally guided by a spatial head", own, argc,
                         argv);
}
