/* train_head.c — `readout train-head`: trains a readout head with the
 * official recipe of its role (readout/head_train.h) for a model's frozen
 * UNet, on the demo world or on a folder of images.
 *
 *   readout train-head --role pose|edge|depth|correspondence|appearance|identity
 *                      --data demo|DIR --out HEAD.safetensors [--model M|demo]
 *                      [--steps N] [--batch B] [--lr LR] [--seed S] [--projection-dim P]
 *                      [--threads N] [--save-every N] [--corrected-timestep] [--resume] ...
 *
 * HEAD.safetensors       the head (Readout's format, role and base model in its
 *                        config), written at every save and at the end
 * HEAD.train-state       the training state (weights, AdamW moments, step; the
 *                        run's settings as JSON in its metadata), a safetensors file
 * HEAD.loss.tsv          step, loss and its running average, one line per step
 * (HEAD = the --out path without .safetensors)
 *
 * --steps is the run's total: --resume continues to it from the state, as an
 * unbroken run would (bit for bit on the same thread count); a resumed run
 * keeps its settings. Ctrl-C saves and stops.
 *
 * Exit status: 0 done, 1 failure, 2 bad usage, 130 stopped by Ctrl-C (saved).
 */
#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "readout/data.h"
#include "readout/head_train.h"
#include "base/json.h"

int rg_cli_train_head(int argc, char **argv);

#define LOSS_AVERAGE 0.98 /* weight of the past in the running average of the loss */

static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C stops at once */
}

/* The run's settings; the flags given on the command line are marked. */
typedef struct {
    char *model, *data;
    rg_head_train_config c;
    gboolean given_model, given_data, given_seed, given_batch, given_lr, given_proj, given_points, given_base;
    gboolean corrected;
} settings;

static char *run_json(const settings *s, gint64 steps, double loss_ema)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
#define STR(k, v) (json_builder_set_member_name(b, k), json_builder_add_string_value(b, v))
#define INT(k, v) (json_builder_set_member_name(b, k), json_builder_add_int_value(b, v))
#define NUM(k, v) (json_builder_set_member_name(b, k), json_builder_add_double_value(b, v))
    STR("role", s->c.role);
    STR("model", s->model ? s->model : "demo");
    STR("data", s->data);
    INT("seed", (gint64)s->c.seed);
    INT("batch", s->c.batch);
    NUM("lr", s->c.lr);
    INT("projection_dim", s->c.projection_dim);
    INT("max_points", s->c.max_points);
    STR("base_model", s->c.base_model);
    json_builder_set_member_name(b, "corrected_timestep");
    json_builder_add_boolean_value(b, s->c.corrected_timestep);
    INT("steps", steps);
    INT("threads", rg_get_num_threads());
    NUM("loss_ema", loss_ema);
    STR("readout", rg_version());
#undef STR
#undef INT
#undef NUM
    json_builder_end_object(b);
    return rg_json_builder_text(b, FALSE, NULL);
}

/* Takes the settings saved in @json; a setting given on the command line must agree. */
static gboolean adopt_saved(settings *s, const char *json, const char *path, double *loss_ema, gint64 *steps,
                            GError **error)
{
    g_autoptr(JsonParser) p = json_parser_new();
    if (!json || !json_parser_load_from_data(p, json, -1, NULL) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s holds no run settings (readout.run metadata)", path);
        return FALSE;
    }
    JsonObject *o = json_node_get_object(json_parser_get_root(p));
    const struct {
        const char *key;
        GType type; /* G_TYPE_DOUBLE: any number */
    } keys[] = {{"role", G_TYPE_STRING}, {"model", G_TYPE_STRING}, {"data", G_TYPE_STRING}, {"seed", G_TYPE_INT64},
                {"batch", G_TYPE_INT64}, {"lr", G_TYPE_DOUBLE}, {"projection_dim", G_TYPE_INT64},
                {"max_points", G_TYPE_INT64}, {"base_model", G_TYPE_STRING}, {"corrected_timestep", G_TYPE_BOOLEAN}};
    for (size_t k = 0; k < G_N_ELEMENTS(keys); k++) {
        JsonNode *n = json_object_get_member(o, keys[k].key);
        const GType t = n && JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
        if (t != keys[k].type && !(keys[k].type == G_TYPE_DOUBLE && t == G_TYPE_INT64)) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: the run settings lack \"%s\" (or it is not a %s)", path,
                        keys[k].key, g_type_name(keys[k].type));
            return FALSE;
        }
    }
#define GET_S(k) json_object_get_string_member(o, k)
#define GET_I(k) json_object_get_int_member(o, k)
    struct {
        const char *flag;
        gboolean given, differs;
    } checks[] = {
        {"--role", TRUE, strcmp(s->c.role, GET_S("role")) != 0},
        {"--model", s->given_model, g_strcmp0(s->model, GET_S("model")) != 0},
        {"--data", s->given_data, g_strcmp0(s->data, GET_S("data")) != 0},
        {"--seed", s->given_seed, s->c.seed != (guint64)GET_I("seed")},
        {"--batch", s->given_batch, s->c.batch != GET_I("batch")},
        {"--lr", s->given_lr, s->c.lr != (float)json_object_get_double_member(o, "lr")},
        {"--projection-dim", s->given_proj, s->c.projection_dim != GET_I("projection_dim")},
        {"--max-points", s->given_points, s->c.max_points != GET_I("max_points")},
        {"--base-model", s->given_base, strcmp(s->c.base_model, GET_S("base_model")) != 0},
        {"--corrected-timestep", s->corrected,
         s->c.corrected_timestep != json_object_get_boolean_member(o, "corrected_timestep")},
    };
    for (size_t k = 0; k < G_N_ELEMENTS(checks); k++) {
        if (checks[k].given && checks[k].differs) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s differs from the run in %s; a resumed run keeps its "
                        "settings (leave %s out)", checks[k].flag, path, checks[k].flag);
            return FALSE;
        }
    }
    g_free(s->model);
    s->model = g_strdup(GET_S("model"));
    g_free(s->data);
    s->data = g_strdup(GET_S("data"));
    s->c.seed = (guint64)GET_I("seed");
    s->c.batch = (int)GET_I("batch");
    s->c.lr = (float)json_object_get_double_member(o, "lr");
    s->c.projection_dim = (int)GET_I("projection_dim");
    s->c.max_points = (int)GET_I("max_points");
    g_strlcpy(s->c.base_model, GET_S("base_model"), sizeof s->c.base_model);
    s->c.corrected_timestep = json_object_get_boolean_member(o, "corrected_timestep");
    JsonNode *le = json_object_get_member(o, "loss_ema");
    *loss_ema = le && JSON_NODE_HOLDS_VALUE(le) ? json_node_get_double(le) : NAN;
    JsonNode *sn = json_object_get_member(o, "steps");
    if (*steps == 0 && sn && JSON_NODE_HOLDS_VALUE(sn))
        *steps = json_node_get_int(sn); /* the run's total unless --steps gives another */
#undef GET_S
#undef GET_I
    return TRUE;
}

/* Keeps the header and the lines of steps <= @step of the loss log. */
static void trim_loss_log(const char *path, gint64 step)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autoptr(GString) out = g_string_new(NULL);
    for (int i = 0; lines[i]; i++) {
        char *end = NULL;
        const gint64 s = g_ascii_strtoll(lines[i], &end, 10);
        if (lines[i][0] && (end == lines[i] || s <= step))
            g_string_append_printf(out, "%s\n", lines[i]);
    }
    g_file_set_contents(path, out->str, (gssize)out->len, NULL);
}

typedef struct {
    const char *out, *state, *log;
    gint64 steps;
    int save_every, log_every;
} run;

static int fail(const GError *error)
{
    g_printerr("readout train-head: %s\n", error->message);
    return 1;
}

static gboolean save(rg_head_trainer *t, const settings *s, const run *r, double loss_ema, GError **error)
{
    g_autofree char *json = run_json(s, r->steps, loss_ema);
    return rg_head_trainer_save_state(t, r->state, json, error) &&
           rg_head_save(rg_head_trainer_get_head(t), r->out, error);
}

static int train(settings *s, run *r, gboolean resume)
{
    g_autoptr(GError) error = NULL;
    double loss_ema = NAN;
    const gboolean have_state = g_file_test(r->state, G_FILE_TEST_EXISTS);
    if (resume && !have_state) {
        g_printerr("readout train-head: --resume: there is no %s to continue from\n", r->state);
        return 1;
    }
    if (!resume && have_state) {
        g_printerr("readout train-head: %s holds a run already; continue it with --resume, or give another --out\n",
                   r->state);
        return 1;
    }
    if (resume) {
        g_autoptr(rg_safetensors) st = rg_safetensors_open(r->state, &error);
        if (!st || !adopt_saved(s, rg_safetensors_metadata(st, "readout.head_train_state") ?
                                   rg_safetensors_metadata(st, "readout.run") : NULL, r->state, &loss_ema, &r->steps,
                                &error))
            return fail(error);
    }
    if (r->steps < 1)
        r->steps = rg_head_train_default_steps(s->c.role);
    if (!s->data) {
        g_printerr("readout train-head: give the training data with --data demo|DIR\n");
        return 2;
    }
    g_autofree char *dir = g_path_get_dirname(r->out);
    if (g_mkdir_with_parents(dir, 0777) != 0) {
        int e = errno;
        g_printerr("readout train-head: cannot create the folder %s: %s\n", dir, g_strerror(e));
        return 1;
    }
    g_autofree char *model = rg_resolve_model_path(s->model, &error);
    if (!model)
        return fail(error);
    g_autoptr(rg_head_trainer) t = rg_head_trainer_new(model, s->data, &s->c, &error);
    if (!t || (resume && !rg_head_trainer_load_state(t, r->state, NULL, &error)))
        return fail(error);
    gint64 step = rg_head_trainer_get_step(t);
    if (resume)
        trim_loss_log(r->log, step);
    FILE *log = fopen(r->log, resume ? "a" : "w");
    if (!log) {
        int e = errno;
        g_printerr("readout train-head: cannot write %s: %s\n", r->log, g_strerror(e));
        return 1;
    }
    if (!resume)
        fprintf(log, "step\tloss\tema_loss\n");
    const rg_head_config *hc = rg_head_get_config(rg_head_trainer_get_head(t));
    const int items = rg_head_trainer_n_items(t);
    g_autofree char *data_desc = items ? g_strdup_printf("%s (%d items)", s->data, items) : g_strdup(s->data);
    g_print("train-head: %s head for %s (%d features, P %d) on %s; steps %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
            ", batch %d, lr %g, seed %" G_GUINT64_FORMAT ", %s timestep, %d threads\n", hc->role, hc->base_model,
            hc->n_layers, hc->projection_dim, data_desc, step, r->steps, s->c.batch, s->c.lr, s->c.seed,
            s->c.corrected_timestep ? "corrected" : "official", rg_get_num_threads());
    interrupted = 0;
    signal(SIGINT, on_sigint);
    const gint64 t0 = g_get_monotonic_time(), start = step;
    gint64 saved_at = step;
    gboolean ok = TRUE;
    while (step < r->steps && !interrupted) {
        double loss = 0;
        if (!(ok = rg_head_trainer_step(t, &loss, &error)))
            break;
        step = rg_head_trainer_get_step(t);
        loss_ema = isnan(loss_ema) ? loss : LOSS_AVERAGE * loss_ema + (1 - LOSS_AVERAGE) * loss;
        fprintf(log, "%" G_GINT64_FORMAT "\t%.6f\t%.6f\n", step, loss, loss_ema);
        fflush(log);
        if (step % r->log_every == 0 || step == r->steps || step == start + 1) {
            const double per = (g_get_monotonic_time() - t0) / 1e6 / (double)(step - start);
            g_print("step %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "  loss %.4f  ema %.4f  %.2f s/step  ETA %.0f s\n",
                    step, r->steps, loss, loss_ema, per, per * (double)(r->steps - step));
        }
        if (step % r->save_every == 0 && step < r->steps) {
            if (!(ok = save(t, s, r, loss_ema, &error)))
                break;
            saved_at = step;
        }
    }
    fclose(log);
    signal(SIGINT, SIG_DFL);
    if (!ok)
        return fail(error);
    if ((step != saved_at || step == r->steps) && !save(t, s, r, loss_ema, &error))
        return fail(error);
    const double took = (g_get_monotonic_time() - t0) / 1e6;
    if (interrupted) {
        g_print("interrupted: saved at step %" G_GINT64_FORMAT " in %s; continue with --resume\n", step, r->state);
        return 130;
    }
    g_print("done: step %" G_GINT64_FORMAT ", loss ema %.4f, %.1f s (%.3f s/step); head in %s\n", step, loss_ema, took,
            step > start ? took / (double)(step - start) : 0.0, r->out);
    return 0;
}

int rg_cli_train_head(int argc, char **argv)
{
    char *model = NULL, *data = NULL; /* owned by the settings below */
    g_autofree char *out = NULL, *role = NULL, *base = NULL;
    gint64 steps = G_MININT64, seed = G_MININT64;
    int batch = G_MININT, threads = 0, save_every = 500, log_every = 10, proj = G_MININT, points = G_MININT;
    double lr = NAN;
    gboolean resume = FALSE, corrected = FALSE;
    GOptionEntry entries[] = {
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "The diffusion model (folder or file; default: the demo "
         "model, also \"demo\")", "M"},
        {"role", 'r', 0, G_OPTION_ARG_STRING, &role, "appearance, correspondence, pose, depth, edge or identity", "R"},
        {"data", 'd', 0, G_OPTION_ARG_FILENAME, &data, "\"demo\" (the demo world) or a folder: images/ + targets/ "
         "(spatial), pairs.json (correspondence), triplets.json (appearance, identity)", "D"},
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The head to write (.safetensors)", "HEAD"},
        {"steps", 'n', 0, G_OPTION_ARG_INT64, &steps, "Total optimizer steps (default: the recipe's, 5000 spatial, "
         "10000 correspondence, 1000 appearance)", "N"},
        {"batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Images (spatial) or pairs / triplets per step (default 8 / 1)",
         "B"},
        {"lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "AdamW learning rate (default 1e-3; appearance, identity 1e-4)", "LR"},
        {"seed", 's', 0, G_OPTION_ARG_INT64, &seed, "The run's seed: head init, data, timesteps, noise (default 0)",
         "S"},
        {"projection-dim", 0, 0, G_OPTION_ARG_INT, &proj, "Channels of the head's features, a multiple of 128 "
         "(default 384)", "P"},
        {"max-points", 0, 0, G_OPTION_ARG_INT, &points, "Correspondence: tracks used per pair, 0 = all (default 256)",
         "N"},
        {"corrected-timestep", 0, 0, G_OPTION_ARG_NONE, &corrected, "Run the UNet at the noise level and give the head "
         "its embedding (the official code: one step later, and the generation index s)", NULL},
        {"base-model", 0, 0, G_OPTION_ARG_STRING, &base, "The head config's base_model (default: readout-demo for the "
         "demo model, else the model's name)", "NAME"},
        {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (default: one per core)", "N"},
        {"save-every", 0, 0, G_OPTION_ARG_INT, &save_every, "Save the head and the state every N steps (default 500)",
         "N"},
        {"log-every", 0, 0, G_OPTION_ARG_INT, &log_every, "Print progress every N steps (default 10)", "N"},
        {"resume", 0, 0, G_OPTION_ARG_NONE, &resume, "Continue the run of --out from its state", NULL},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("- train a readout head with the official recipe of its role");
    g_option_context_set_summary(oc, "Trains a readout head on the frozen UNet's features of images noised to a "
                                     "random timestep (readout_guidance_spec.md §3):\nbalanced MSE (pose, edge) or MSE "
                                     "(depth), symmetric InfoNCE (correspondence), a triplet hinge (appearance,\n"
                                     "identity). Writes HEAD.safetensors, HEAD.train-state and HEAD.loss.tsv.");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_autoptr(GError) error = NULL;
    const gboolean parsed = g_option_context_parse(oc, &argc, &argv, &error);
    settings s = {0};
    s.model = model, s.data = data;
    if (!parsed) {
        g_printerr("readout train-head: %s\n", error->message);
        g_free(s.model), g_free(s.data);
        return 2;
    }
    rg_head_train_config_init(&s.c, role);
    s.given_model = model != NULL, s.given_data = data != NULL, s.given_seed = seed != G_MININT64;
    s.given_batch = batch != G_MININT, s.given_lr = !isnan(lr), s.given_proj = proj != G_MININT;
    s.given_points = points != G_MININT, s.given_base = base != NULL, s.corrected = corrected;
    if (s.given_seed)
        s.c.seed = (guint64)seed;
    if (s.given_batch)
        s.c.batch = batch;
    if (s.given_lr)
        s.c.lr = (float)lr;
    if (s.given_proj)
        s.c.projection_dim = proj;
    if (s.given_points)
        s.c.max_points = points;
    if (base)
        g_strlcpy(s.c.base_model, base, sizeof s.c.base_model);
    s.c.corrected_timestep = corrected;
    g_autofree char *why = NULL;
    if (argc > 1)
        why = g_strdup_printf("unexpected argument \"%s\"", argv[1]);
    else if (!role)
        why = g_strdup("give the head's role with --role (appearance, correspondence, pose, depth, edge, identity)");
    else if (!rg_head_train_role_known(role))
        why = g_strdup_printf("unknown role \"%s\" (appearance, correspondence, pose, depth, edge or identity)", role);
    else if (!out)
        why = g_strdup("give the head file to write with --out HEAD.safetensors");
    else if (!g_str_has_suffix(out, ".safetensors") || strlen(out) == strlen(".safetensors"))
        why = g_strdup_printf("--out %s: the head is a .safetensors file", out);
    else if (!resume && !data)
        why = g_strdup("give the training data with --data demo|DIR");
    else if (steps != G_MININT64 && steps < 1)
        why = g_strdup_printf("--steps %" G_GINT64_FORMAT " must be at least 1", steps);
    else if (s.given_seed && seed < 0)
        why = g_strdup_printf("--seed %" G_GINT64_FORMAT " must not be negative", seed);
    else if (s.c.batch < 1 || s.c.batch > 1024)
        why = g_strdup_printf("--batch %d must be in 1..1024", s.c.batch);
    else if (!(s.c.lr > 0) || !isfinite(s.c.lr))
        why = g_strdup_printf("--lr %g must be a positive number", s.c.lr);
    else if (s.c.projection_dim < 128 || s.c.projection_dim % 128)
        why = g_strdup_printf("--projection-dim %d must be a positive multiple of 128", s.c.projection_dim);
    else if (s.c.max_points < 0)
        why = g_strdup_printf("--max-points %d must not be negative", s.c.max_points);
    else if (save_every < 1 || log_every < 1)
        why = g_strdup_printf("--save-every %d and --log-every %d must be at least 1", save_every, log_every);
    else if (threads < 0)
        why = g_strdup_printf("--threads %d must not be negative", threads);
    if (why) {
        g_printerr("readout train-head: %s\nUsage: readout train-head --role R --data demo|DIR --out HEAD.safetensors "
                   "[--model M] [--steps N] ... (--help for all)\n", why);
        g_free(s.model), g_free(s.data);
        return 2;
    }
    if (threads > 0)
        rg_set_num_threads(threads);
    const size_t stem_len = strlen(out) - strlen(".safetensors");
    g_autofree char *stem = g_strndup(out, stem_len);
    g_autofree char *state = g_strconcat(stem, ".train-state", NULL);
    g_autofree char *log = g_strconcat(stem, ".loss.tsv", NULL);
    run r = {out, state, log, steps != G_MININT64 ? steps : 0, save_every, log_every};
    const int rc = train(&s, &r, resume);
    g_free(s.model);
    g_free(s.data);
    return rc;
}
