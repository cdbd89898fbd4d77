/* train_diffusion.c — `readout train-diffusion`: trains the demo diffusion
 * model (readout issue 5) on scenes generated on the fly.
 *
 *   readout train-diffusion --out DIR [--steps N] [--batch B] [--lr LR] [--seed S]
 *                           [--threads N] [--resume] [--save-every N] [--init-model DIR] ...
 *
 * DIR/model/                 the model folder (diffusers layout); its UNet is the
 *                            EMA of the weights at the last save
 * DIR/checkpoint.safetensors the training state (weights, EMA, AdamW moments, step;
 *                            the run's settings as JSON in its metadata)
 * DIR/loss.tsv               step, loss and its running average, one line per step
 * DIR/eval.tsv               step and the EMA weights' loss on held-out batches, at each save
 *
 * --steps is the run's total: --resume continues to it from the checkpoint,
 * bit for bit as an unbroken run on the same thread count. A resumed run
 * keeps the settings it was started with. Ctrl-C saves and stops.
 *
 * Exit status: 0 done, 1 failure, 2 bad usage, 130 stopped by Ctrl-C (saved).
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "readout/train.h"
#include "base/json.h"

int rg_cli_train_diffusion(int argc, char **argv);

#define LOSS_AVERAGE 0.98 /* weight of the past in the running average of the loss */

static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C stops at once */
}

/* The settings a resumed run keeps, with whether the command line gave them. */
typedef struct {
    rg_diffusion_train_config c;
    gboolean given_seed, given_batch, given_lr, given_warmup, given_wd, given_clip, given_ema, given_drop, given_snr;
} settings;

static char *run_json(const settings *s, int64_t steps, int save_every, const char *init_model, double loss_ema)
{
    const rg_diffusion_train_config *c = &s->c;
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
#define INT(k, v) (json_builder_set_member_name(b, k), json_builder_add_int_value(b, v))
#define NUM(k, v) (json_builder_set_member_name(b, k), json_builder_add_double_value(b, v))
    INT("seed", (gint64)c->seed);
    INT("batch", c->batch);
    NUM("lr", c->lr);
    INT("warmup", c->warmup_steps);
    NUM("weight_decay", c->weight_decay);
    NUM("max_grad_norm", c->max_grad_norm);
    NUM("ema_max_decay", c->ema_max_decay);
    NUM("caption_dropout", c->caption_dropout);
    NUM("min_snr_gamma", c->min_snr_gamma);
    json_builder_set_member_name(b, "checkpointing");
    json_builder_add_boolean_value(b, c->checkpointing);
    INT("steps", steps);
    INT("save_every", save_every);
    INT("threads", rg_get_num_threads());
    NUM("loss_ema", loss_ema);
    json_builder_set_member_name(b, "init_model");
    if (init_model)
        json_builder_add_string_value(b, init_model);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "readout");
    json_builder_add_string_value(b, rg_version());
#undef INT
#undef NUM
    json_builder_end_object(b);
    return rg_json_builder_text(b, FALSE, NULL);
}

/* Takes the settings of the run saved in @json; a setting given on the
 * command line must agree. */
static gboolean adopt_saved(settings *s, const char *json, const char *ckpt, double *loss_ema, int *threads,
                            GError **error)
{
    g_autoptr(JsonParser) p = json_parser_new();
    if (!json || !json_parser_load_from_data(p, json, -1, NULL) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s holds no run settings (readout.run metadata)", ckpt);
        return FALSE;
    }
    JsonObject *o = json_node_get_object(json_parser_get_root(p));
    rg_diffusion_train_config *c = &s->c;
    struct {
        const char *key, *flag;
        gboolean given;
        double *d;
        float *f;
        int *i;
        guint64 *u;
    } keys[] = {
        {"seed", "--seed", s->given_seed, NULL, NULL, NULL, &c->seed},
        {"batch", "--batch", s->given_batch, NULL, NULL, &c->batch, NULL},
        {"lr", "--lr", s->given_lr, NULL, &c->lr, NULL, NULL},
        {"warmup", "--warmup", s->given_warmup, NULL, NULL, &c->warmup_steps, NULL},
        {"weight_decay", "--weight-decay", s->given_wd, NULL, &c->weight_decay, NULL, NULL},
        {"max_grad_norm", "--max-grad-norm", s->given_clip, NULL, &c->max_grad_norm, NULL, NULL},
        {"ema_max_decay", "--ema-decay", s->given_ema, NULL, &c->ema_max_decay, NULL, NULL},
        {"caption_dropout", "--caption-dropout", s->given_drop, NULL, &c->caption_dropout, NULL, NULL},
        {"min_snr_gamma", "--min-snr", s->given_snr, NULL, &c->min_snr_gamma, NULL, NULL},
    };
    for (size_t k = 0; k < G_N_ELEMENTS(keys); k++) {
        JsonNode *n = json_object_get_member(o, keys[k].key);
        if (!n || !JSON_NODE_HOLDS_VALUE(n)) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: the run settings lack \"%s\"", ckpt, keys[k].key);
            return FALSE;
        }
        const double saved = json_node_get_double(n);
        const double mine = keys[k].f ? *keys[k].f : keys[k].i ? *keys[k].i : (double)*keys[k].u;
        const gboolean differs = keys[k].f ? (float)saved != *keys[k].f
                               : keys[k].i ? json_node_get_int(n) != *keys[k].i
                                           : (guint64)json_node_get_int(n) != *keys[k].u;
        if (keys[k].given && differs) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s %g differs from the run's %g in %s; a resumed run "
                        "keeps its settings (leave %s out)", keys[k].flag, mine, saved, ckpt, keys[k].flag);
            return FALSE;
        }
        if (keys[k].f)
            *keys[k].f = (float)saved;
        else if (keys[k].i)
            *keys[k].i = (int)json_node_get_int(n);
        else
            *keys[k].u = (guint64)json_node_get_int(n);
    }
    JsonNode *ck = json_object_get_member(o, "checkpointing");
    if (ck && JSON_NODE_HOLDS_VALUE(ck))
        c->checkpointing = json_node_get_boolean(ck);
    JsonNode *le = json_object_get_member(o, "loss_ema");
    *loss_ema = le && JSON_NODE_HOLDS_VALUE(le) ? json_node_get_double(le) : NAN;
    JsonNode *th = json_object_get_member(o, "threads");
    *threads = th && JSON_NODE_HOLDS_VALUE(th) ? (int)json_node_get_int(th) : 0;
    return TRUE;
}

/* ---- files ------------------------------------------------------------------ */

static gboolean copy_file(const char *from, const char *to, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) e = NULL;
    if (!g_file_get_contents(from, &data, &len, &e) || !g_file_set_contents(to, data, (gssize)len, &e)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s", e->message);
        return FALSE;
    }
    return TRUE;
}

/* Copies the model folder @src (a trained demo model) to @dst. */
static gboolean copy_model(const char *src, const char *dst, GError **error)
{
    const char *files[] = {"model_index.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
                           "text_encoder/config.json", "text_encoder/model.safetensors", "vae/config.json",
                           "unet/config.json", "unet/diffusion_pytorch_model.safetensors"};
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *from = g_build_filename(src, files[i], NULL);
        g_autofree char *to = g_build_filename(dst, files[i], NULL);
        g_autofree char *dir = g_path_get_dirname(to);
        if (!g_file_test(from, G_FILE_TEST_IS_REGULAR)) {
            g_set_error(error, RG_ERROR, RG_ERROR_IO, "--init-model %s: %s is missing (a demo model folder has "
                        "model_index.json, tokenizer/, text_encoder/, vae/ and unet/)", src, files[i]);
            return FALSE;
        }
        if (g_mkdir_with_parents(dir, 0777) != 0) {
            int e = errno;
            g_set_error(error, RG_ERROR, RG_ERROR_IO, "cannot create the folder %s: %s", dir, g_strerror(e));
            return FALSE;
        }
        if (!copy_file(from, to, error))
            return FALSE;
    }
    return TRUE;
}

/* Keeps the header and the lines of steps <= @step of loss.tsv (a run that
 * died after its last save wrote lines it will write again). */
static gboolean trim_loss_log(const char *path, int64_t step, GError **error)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return TRUE;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autoptr(GString) out = g_string_new(NULL);
    for (int i = 0; lines[i]; i++) {
        if (!lines[i][0])
            continue;
        char *end = NULL;
        gint64 s = g_ascii_strtoll(lines[i], &end, 10);
        if (end == lines[i] || s <= step)
            g_string_append_printf(out, "%s\n", lines[i]);
    }
    g_autoptr(GError) e = NULL;
    if (!g_file_set_contents(path, out->str, (gssize)out->len, &e)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s", e->message);
        return FALSE;
    }
    return TRUE;
}

static char *duration(double s)
{
    if (!isfinite(s) || s < 0)
        return g_strdup("?");
    gint64 t = (gint64)(s + 0.5);
    if (t >= 3600)
        return g_strdup_printf("%" G_GINT64_FORMAT "h%02dm", t / 3600, (int)(t / 60 % 60));
    return g_strdup_printf("%dm%02ds", (int)(t / 60), (int)(t % 60));
}

/* ---- the command --------------------------------------------------------------- */

typedef struct {
    const char *out;
    const char *model_dir, *ckpt, *unet_path;
    settings s;
    int64_t steps;
    int save_every, log_every, eval_batches;
    const char *init_model;
    const char *eval_path;
} run;

/* The EMA weights' plain MSE on the held-out batches, printed and appended to eval.tsv. */
static gboolean evaluate(rg_diffusion_trainer *t, const run *r, GError **error)
{
    if (r->eval_batches < 1)
        return TRUE;
    double sum = 0;
    for (int k = 0; k < r->eval_batches; k++) {
        double l = 0;
        if (!rg_diffusion_trainer_eval(t, RG_DIFFUSION_EVAL_STEP + k, TRUE, &l, error))
            return FALSE;
        sum += l;
    }
    const int64_t step = rg_diffusion_trainer_get_step(t);
    g_print("eval at step %" G_GINT64_FORMAT ": EMA weights' loss %.4f on %d held-out batches\n", step,
            sum / r->eval_batches, r->eval_batches);
    FILE *f = fopen(r->eval_path, "a");
    if (!f) {
        int e = errno;
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "cannot write %s: %s", r->eval_path, g_strerror(e));
        return FALSE;
    }
    fprintf(f, "%" G_GINT64_FORMAT "\t%.6f\n", step, sum / r->eval_batches);
    fclose(f);
    return TRUE;
}

static gboolean save(rg_diffusion_trainer *t, const run *r, double loss_ema, GError **error)
{
    g_autofree char *json = run_json(&r->s, r->steps, r->save_every, r->init_model, loss_ema);
    return rg_diffusion_trainer_save(t, r->ckpt, json, error) &&
           rg_diffusion_trainer_export(t, r->unet_path, TRUE, error) && evaluate(t, r, error);
}

/* Checks that @dir exists or can be made, and can be written. */
static gboolean writable_dir(const char *dir, GError **error)
{
    if (g_mkdir_with_parents(dir, 0777) != 0) {
        int e = errno;
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "cannot create the output folder %s: %s", dir, g_strerror(e));
        return FALSE;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        int e = errno;
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "cannot write to the output folder %s: %s", dir, g_strerror(e));
        return FALSE;
    }
    return TRUE;
}

static int fail(const GError *error)
{
    g_printerr("readout train-diffusion: %s\n", error->message);
    return 1;
}

static int train(run *r, gboolean resume, const char *unet_config_path)
{
    g_autoptr(GError) error = NULL;
    double loss_ema = NAN;
    const gboolean have_ckpt = g_file_test(r->ckpt, G_FILE_TEST_EXISTS);
    if (resume && !have_ckpt) {
        g_printerr("readout train-diffusion: --resume: there is no %s to continue from\n", r->ckpt);
        return 1;
    }
    if (!writable_dir(r->out, &error))
        return fail(error);
    if (!resume && have_ckpt) {
        g_printerr("readout train-diffusion: %s already holds a run (%s); continue it with --resume, or give "
                   "another --out\n", r->out, r->ckpt);
        return 1;
    }
    if (resume) {
        if (r->init_model || unet_config_path) {
            g_printerr("readout train-diffusion: --resume continues the model in %s; --init-model and --unet-config "
                       "only apply to a new run\n", r->model_dir);
            return 2;
        }
        /* the settings come from the checkpoint (read again by the trainer below) */
        g_autoptr(rg_safetensors) st = rg_safetensors_open(r->ckpt, &error);
        int threads = 0;
        if (!st || !adopt_saved(&r->s, rg_safetensors_metadata(st, "readout.run"), r->ckpt, &loss_ema, &threads,
                                &error))
            return fail(error);
        if (threads && threads != rg_get_num_threads())
            g_print("note: the run was trained on %d threads, this is %d: it continues, but not bit for bit as an "
                    "unbroken run\n", threads, rg_get_num_threads());
    } else if (r->init_model) {
        if (!copy_model(r->init_model, r->model_dir, &error))
            return fail(error);
    } else {
        rg_unet_config uc;
        if (unet_config_path ? !rg_unet_config_load(&uc, unet_config_path, &error) : (rg_demo_unet_config_init(&uc), 0))
            return fail(error);
        if (!rg_demo_model_create(r->model_dir, &uc, r->s.c.seed, &error))
            return fail(error);
    }
    g_autoptr(rg_diffusion_trainer) t = rg_diffusion_trainer_new(r->model_dir, &r->s.c, &error);
    if (!t || (resume && !rg_diffusion_trainer_load(t, r->ckpt, NULL, &error)))
        return fail(error);
    int64_t step = rg_diffusion_trainer_get_step(t);
    g_autofree char *log_path = g_build_filename(r->out, "loss.tsv", NULL);
    if (resume && (!trim_loss_log(log_path, step, &error) || !trim_loss_log(r->eval_path, step, &error)))
        return fail(error);
    if (!resume && !g_file_set_contents(r->eval_path, "step\tema_eval_loss\n", -1, &error))
        return fail(error);
    FILE *log = fopen(log_path, resume ? "a" : "w");
    if (!log) {
        int e = errno;
        g_printerr("readout train-diffusion: cannot write %s: %s\n", log_path, g_strerror(e));
        return 1;
    }
    if (!resume)
        fprintf(log, "step\tloss\tema_loss\n");
    const rg_diffusion_train_config *c = &r->s.c;
    g_print("train-diffusion: %s, steps %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT ", batch %d, lr %g (warm-up %d), "
            "seed %" G_GUINT64_FORMAT ", %d threads\n", r->out, step, r->steps, c->batch, c->lr, c->warmup_steps,
            c->seed, rg_get_num_threads());
    interrupted = 0;
    signal(SIGINT, on_sigint);
    gint64 t0 = g_get_monotonic_time(), t_window = t0;
    const int64_t first_step = step;
    int64_t window_start = step, saved_at = step;
    gboolean ok = TRUE;
    while (step < r->steps && !interrupted) {
        double loss = 0;
        if (!(ok = rg_diffusion_trainer_step(t, &loss, &error)))
            break;
        step = rg_diffusion_trainer_get_step(t);
        loss_ema = isnan(loss_ema) ? loss : LOSS_AVERAGE * loss_ema + (1 - LOSS_AVERAGE) * loss;
        fprintf(log, "%" G_GINT64_FORMAT "\t%.6f\t%.6f\n", step, loss, loss_ema);
        fflush(log);
        const gint64 now = g_get_monotonic_time();
        if (step % r->log_every == 0 || step == r->steps || step == first_step + 1) {
            /* the rate over the steps since the last line */
            const double rate = (double)(step - window_start) / MAX(1e-9, (now - t_window) / 1e6);
            g_autofree char *eta = duration((double)(r->steps - step) / rate);
            g_print("step %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "  loss %.4f  ema %.4f  lr %.2e  %.2f s/step  "
                    "ETA %s\n", step, r->steps, loss, loss_ema, rg_lr_warmup(c->lr, step - 1, c->warmup_steps),
                    1.0 / rate, eta);
            t_window = now;
            window_start = step;
        }
        if (step % r->save_every == 0 && step < r->steps) {
            if (!(ok = save(t, r, loss_ema, &error)))
                break;
            saved_at = step;
        }
    }
    fclose(log);
    signal(SIGINT, SIG_DFL);
    if (!ok)
        return fail(error);
    if (step != saved_at || step == r->steps) {
        if (!save(t, r, loss_ema, &error))
            return fail(error);
    }
    const double took = (g_get_monotonic_time() - t0) / 1e6;
    g_autofree char *took_s = duration(took);
    if (interrupted) {
        g_print("interrupted: saved at step %" G_GINT64_FORMAT " in %s; continue with --resume\n", step, r->ckpt);
        return 130;
    }
    g_print("done: step %" G_GINT64_FORMAT ", loss ema %.4f, %s; model (EMA weights) in %s\n", step, loss_ema, took_s,
            r->model_dir);
    return 0;
}

int rg_cli_train_diffusion(int argc, char **argv)
{
    g_autofree char *out = NULL, *init_model = NULL, *unet_config = NULL;
    gint64 steps = 3000, seed = 0;
    int batch = 16, threads = 0, save_every = 250, log_every = 10, warmup = 100, eval_batches = 4;
    double lr = 1e-3, wd = 0.01, clip = 1.0, ema = 0.9999, drop = 0.1, snr = 0;
    gboolean resume = FALSE, checkpointing = FALSE;
    /* sentinels tell which settings were given (a resumed run must not change them) */
    const gint64 no_seed = G_MININT64;
    const int no_int = G_MININT;
    seed = no_seed, batch = no_int, warmup = no_int;
    lr = wd = clip = ema = drop = snr = NAN;
    GOptionEntry entries[] = {
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The run's folder (created): model/, checkpoint, loss.tsv", "DIR"},
        {"steps", 'n', 0, G_OPTION_ARG_INT64, &steps, "Total optimizer steps of the run (default 3000)", "N"},
        {"batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Scenes per step (default 16)", "B"},
        {"lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Peak learning rate of AdamW (default 1e-3)", "LR"},
        {"seed", 's', 0, G_OPTION_ARG_INT64, &seed, "The run's seed: scenes, noise, UNet init (default 0)", "S"},
        {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (default: one per core)", "N"},
        {"resume", 0, 0, G_OPTION_ARG_NONE, &resume, "Continue the run in --out from its checkpoint", NULL},
        {"save-every", 0, 0, G_OPTION_ARG_INT, &save_every, "Save the checkpoint and the model every N steps "
         "(default 250)", "N"},
        {"init-model", 0, 0, G_OPTION_ARG_FILENAME, &init_model, "Start from this demo model folder instead of a "
         "fresh one", "DIR"},
        {"warmup", 0, 0, G_OPTION_ARG_INT, &warmup, "Linear learning-rate warm-up steps (default 100)", "N"},
        {"weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &wd, "AdamW's decoupled weight decay (default 0.01)", "W"},
        {"max-grad-norm", 0, 0, G_OPTION_ARG_DOUBLE, &clip, "Clip the gradient's total norm (default 1; 0: off)", "X"},
        {"ema-decay", 0, 0, G_OPTION_ARG_DOUBLE, &ema, "Largest decay of the weights' EMA (default 0.9999)", "D"},
        {"caption-dropout", 0, 0, G_OPTION_ARG_DOUBLE, &drop, "Share of empty captions, for CFG (default 0.1)", "P"},
        {"min-snr", 0, 0, G_OPTION_ARG_DOUBLE, &snr, "Min-SNR loss weighting with this gamma (default 5; 0: plain MSE)", "G"},
        {"checkpointing", 0, 0, G_OPTION_ARG_NONE, &checkpointing, "Recompute the UNet's blocks in backward (less "
         "memory, slower)", NULL},
        {"unet-config", 0, 0, G_OPTION_ARG_FILENAME, &unet_config, "A UNet config.json other than the demo's (new "
         "runs)", "FILE"},
        {"log-every", 0, 0, G_OPTION_ARG_INT, &log_every, "Print progress every N steps (default 10)", "N"},
        {"eval-batches", 0, 0, G_OPTION_ARG_INT, &eval_batches, "At each save, the EMA weights' loss on N held-out "
         "batches, to DIR/eval.tsv (default 4; 0: none)", "N"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("- train the demo diffusion model on generated scenes");
    g_option_context_set_summary(oc, "Trains the UNet of the demo model (issue 5) with eps-prediction on 64x64 scenes "
                                     "generated from the seed,\nwith AdamW, warm-up, gradient clipping and an EMA of "
                                     "the weights. Writes DIR/model/ (a diffusers folder\nwhose UNet holds the EMA "
                                     "weights), DIR/checkpoint.safetensors and DIR/loss.tsv. --resume continues a "
                                     "run\nbit for bit; Ctrl-C saves and stops.");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_autoptr(GError) error = NULL;
    gboolean parsed = g_option_context_parse(oc, &argc, &argv, &error);
    if (!parsed) {
        g_printerr("readout train-diffusion: %s\n", error->message);
        return 2;
    }
    const char *bad = NULL;
    g_autofree char *why = NULL;
    settings s = {0};
    rg_diffusion_train_config_init(&s.c);
    s.given_seed = seed != no_seed, s.given_batch = batch != no_int, s.given_warmup = warmup != no_int;
    s.given_lr = !isnan(lr), s.given_wd = !isnan(wd), s.given_clip = !isnan(clip), s.given_ema = !isnan(ema);
    s.given_drop = !isnan(drop), s.given_snr = !isnan(snr);
    if (s.given_seed)
        s.c.seed = (guint64)seed;
    if (s.given_batch)
        s.c.batch = batch;
    if (s.given_warmup)
        s.c.warmup_steps = warmup;
    if (s.given_lr)
        s.c.lr = (float)lr;
    if (s.given_wd)
        s.c.weight_decay = (float)wd;
    if (s.given_clip)
        s.c.max_grad_norm = (float)clip;
    if (s.given_ema)
        s.c.ema_max_decay = (float)ema;
    if (s.given_drop)
        s.c.caption_dropout = (float)drop;
    if (s.given_snr)
        s.c.min_snr_gamma = (float)snr;
    s.c.checkpointing = checkpointing;
    if (argc > 1)
        bad = "arguments", why = g_strdup_printf("unexpected argument \"%s\"", argv[1]);
    else if (!out)
        bad = "--out", why = g_strdup("give the run's folder with --out DIR");
    else if (steps < 1)
        bad = "--steps", why = g_strdup_printf("--steps %" G_GINT64_FORMAT " must be at least 1", steps);
    else if (s.given_seed && seed < 0)
        bad = "--seed", why = g_strdup_printf("--seed %" G_GINT64_FORMAT " must not be negative", seed);
    else if (s.c.batch < 1 || s.c.batch > 4096)
        bad = "--batch", why = g_strdup_printf("--batch %d must be in 1..4096", s.c.batch);
    else if (!(s.c.lr > 0) || !isfinite(s.c.lr))
        bad = "--lr", why = g_strdup_printf("--lr %g must be a positive number", s.c.lr);
    else if (save_every < 1)
        bad = "--save-every", why = g_strdup_printf("--save-every %d must be at least 1", save_every);
    else if (log_every < 1)
        bad = "--log-every", why = g_strdup_printf("--log-every %d must be at least 1", log_every);
    else if (eval_batches < 0)
        bad = "--eval-batches", why = g_strdup_printf("--eval-batches %d must not be negative", eval_batches);
    else if (threads < 0)
        bad = "--threads", why = g_strdup_printf("--threads %d must not be negative", threads);
    else if (s.c.warmup_steps < 0)
        bad = "--warmup", why = g_strdup_printf("--warmup %d must not be negative", s.c.warmup_steps);
    else if (!(s.c.weight_decay >= 0) || !isfinite(s.c.weight_decay))
        bad = "--weight-decay", why = g_strdup_printf("--weight-decay %g must be >= 0", s.c.weight_decay);
    else if (!(s.c.max_grad_norm >= 0) || !isfinite(s.c.max_grad_norm))
        bad = "--max-grad-norm", why = g_strdup_printf("--max-grad-norm %g must be >= 0", s.c.max_grad_norm);
    else if (!(s.c.ema_max_decay >= 0 && s.c.ema_max_decay <= 1))
        bad = "--ema-decay", why = g_strdup_printf("--ema-decay %g must be in [0, 1]", s.c.ema_max_decay);
    else if (!(s.c.caption_dropout >= 0 && s.c.caption_dropout <= 1))
        bad = "--caption-dropout", why = g_strdup_printf("--caption-dropout %g must be in [0, 1]", s.c.caption_dropout);
    else if (!(s.c.min_snr_gamma >= 0) || !isfinite(s.c.min_snr_gamma))
        bad = "--min-snr", why = g_strdup_printf("--min-snr %g must be >= 0", s.c.min_snr_gamma);
    if (bad) {
        g_printerr("readout train-diffusion: %s\nUsage: readout train-diffusion --out DIR [--steps N] [--batch B] "
                   "[--lr LR] [--seed S] [--resume] ... (--help for all)\n", why);
        return 2;
    }
    if (threads > 0)
        rg_set_num_threads(threads);
    g_autofree char *model_dir = g_build_filename(out, "model", NULL);
    g_autofree char *ckpt = g_build_filename(out, "checkpoint.safetensors", NULL);
    g_autofree char *unet_path = g_build_filename(model_dir, "unet", "diffusion_pytorch_model.safetensors", NULL);
    g_autofree char *eval_path = g_build_filename(out, "eval.tsv", NULL);
    run r = {out, model_dir, ckpt, unet_path, s, steps, save_every, log_every, eval_batches, init_model, eval_path};
    return train(&r, resume, unet_config);
}
