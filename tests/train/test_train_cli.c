/* test_train_cli.c — `readout train-diffusion` on a tiny UNet config
 * (--unet-config): a run writes the model folder, loss.tsv, eval.tsv and
 * the checkpoint; N steps straight and N/2 + --resume to N give the same
 * checkpoint bits; a resumed run keeps its settings; Ctrl-C saves and exits
 * 130; bad flags, an unusable --out, a missing checkpoint, a run already
 * there, a checkpoint of another config and a bad --init-model fail with
 * messages that say so.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "readout/train.h"
#include "rg_test.h"

static char *tmp;

static char *in_tmp(const char *name)
{
    return g_build_filename(tmp, name, NULL);
}

/* Runs readout with the NULL-terminated arguments; the exit status, stdout and stderr. */
static int run_v(char **out, char **err, const char *first, va_list ap)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)RG_READOUT_EXE);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        g_ptr_array_add(argv, (gpointer)a);
    g_ptr_array_add(argv, NULL);
    int status = -1;
    GError *error = NULL;
    RG_CHECK(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &error));
    rg_assert_no_error(error);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run(char **out, char **err, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = run_v(out, err, first, ap);
    va_end(ap);
    return rc;
}

/* The command must exit with @code and say @needle on stderr. */
static void expect(const char *label, int code, const char *needle, const char *first, ...)
{
    g_autofree char *out = NULL, *err = NULL;
    va_list ap;
    va_start(ap, first);
    int rc = run_v(&out, &err, first, ap);
    va_end(ap);
    if (rc != code || !strstr(err, needle)) {
        g_printerr("NOT OK %s: expected exit %d saying \"%s\"; got %d, stderr: %s\n", label, code, needle, rc, err);
        rg_test_failures++;
    } else {
        g_print("OK %s: %s", label, err);
    }
}

static int count_lines(const char *path)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    int n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* The tensors of two checkpoints, bit for bit. */
static gboolean same_checkpoints(const char *pa, const char *pb, const char *label)
{
    GError *error = NULL;
    g_autoptr(rg_safetensors) a = rg_safetensors_open(pa, &error);
    g_autoptr(rg_safetensors) b = a ? rg_safetensors_open(pb, &error) : NULL;
    if (!b) {
        g_printerr("NOT OK %s: %s\n", label, error->message);
        g_error_free(error);
        return FALSE;
    }
    int differ = 0, n = rg_safetensors_count(a);
    for (int i = 0; i < n; i++) {
        const char *name = rg_safetensors_name(a, i);
        g_autoptr(rg_tensor) x = rg_safetensors_load(a, name, &error);
        g_autoptr(rg_tensor) y = rg_safetensors_load(b, name, &error);
        rg_assert_no_error(error);
        for (int64_t k = 0; k < rg_tensor_numel(x); k++)
            if (rg_tensor_get_flat(x, k) != rg_tensor_get_flat(y, k)) {
                differ++;
                break;
            }
    }
    gboolean ok = differ == 0 && n == rg_safetensors_count(b) && n > 0;
    g_print("%s %s: %d tensors, %d differ\n", ok ? "OK" : "NOT OK", label, n, differ);
    return ok;
}

/* Runs a long training in the background, sends SIGINT once it has taken a
 * step, and expects a save and exit status 130. */
static gboolean test_sigint(const char *config)
{
    g_autofree char *dir = in_tmp("interrupted");
    g_autofree char *log = g_build_filename(dir, "loss.tsv", NULL);
    g_autofree char *ckpt = g_build_filename(dir, "checkpoint.safetensors", NULL);
    const char *argv[] = {RG_READOUT_EXE, "train-diffusion", "--out", dir, "--unet-config", config, "--steps", "100000",
                          "--batch", "1", "--save-every", "100000", NULL};
    GPid pid;
    GError *error = NULL;
    RG_CHECK(g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                           NULL, &pid, &error));
    rg_assert_no_error(error);
    for (int i = 0; i < 600 && count_lines(log) < 3; i++)
        g_usleep(100000);
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    g_spawn_close_pid(pid);
    const int steps = count_lines(log) - 1;
    g_autoptr(rg_safetensors) st = rg_safetensors_open(ckpt, NULL);
    g_autoptr(rg_tensor) step = st ? rg_safetensors_load(st, "step", NULL) : NULL;
    const gboolean ok = WIFEXITED(status) && WEXITSTATUS(status) == 130 && step &&
                        rg_tensor_get_flat(step, 0) == steps && steps >= 2;
    g_print("%s Ctrl-C: exit %d, checkpoint at step %g, loss.tsv has %d steps\n", ok ? "OK" : "NOT OK",
            WIFEXITED(status) ? WEXITSTATUS(status) : -1, step ? rg_tensor_get_flat(step, 0) : -1.0, steps);
    return ok;
}

int main(void)
{
    GError *error = NULL;
    tmp = g_dir_make_tmp("rg_train_cli_XXXXXX", &error);
    rg_assert_no_error(error);
    gboolean ok = TRUE;

    /* tiny UNet configs (12 channels, the demo text encoder's context) */
    g_autofree char *config = in_tmp("tiny.json");
    g_autofree char *config2 = in_tmp("tiny2.json");
    for (int k = 0; k < 2; k++) {
        rg_unet_config c;
        rg_demo_unet_config_init(&c);
        const int ch[3] = {8, 16, k ? 24 : 16};
        for (int i = 0; i < 3; i++) {
            c.block_out_channels[i] = ch[i];
            c.attention_heads[i] = 2;
        }
        c.norm_num_groups = 4;
        c.time_embedding_dim = 32;
        g_autofree char *json = rg_unet_config_to_json(&c);
        g_assert_true(g_file_set_contents(k ? config2 : config, json, -1, NULL));
    }

    /* a run of 4 steps straight */
    g_autofree char *a = in_tmp("a");
    g_autofree char *out = NULL, *err = NULL;
    int rc = run(&out, &err, "train-diffusion", "--out", a, "--unet-config", config, "--steps", "4", "--batch", "2",
                 "--seed", "7", "--save-every", "3", "--log-every", "2", "--threads", "2", "--eval-batches", "1", NULL);
    g_print("%s", out);
    g_autofree char *a_log = g_build_filename(a, "loss.tsv", NULL);
    g_autofree char *a_ckpt = g_build_filename(a, "checkpoint.safetensors", NULL);
    g_autofree char *a_unet = g_build_filename(a, "model", "unet", "diffusion_pytorch_model.safetensors", NULL);
    g_autofree char *a_index = g_build_filename(a, "model", "model_index.json", NULL);
    g_autofree char *a_eval = g_build_filename(a, "eval.tsv", NULL);
    gboolean run_ok = rc == 0 && count_lines(a_log) == 5 && count_lines(a_eval) == 3 && strstr(out, "held-out") && g_file_test(a_ckpt, G_FILE_TEST_IS_REGULAR) &&
                      g_file_test(a_index, G_FILE_TEST_IS_REGULAR) && strstr(out, "step 4/4") && strstr(out, "s/step  ETA");
    /* the model's UNet is the EMA of the weights */
    g_autoptr(rg_safetensors) ck = rg_safetensors_open(a_ckpt, NULL);
    g_autoptr(rg_safetensors) un = rg_safetensors_open(a_unet, NULL);
    g_autoptr(rg_tensor) e1 = ck ? rg_safetensors_load(ck, "ema.conv_out.weight", NULL) : NULL;
    g_autoptr(rg_tensor) e2 = un ? rg_safetensors_load(un, "conv_out.weight", NULL) : NULL;
    run_ok &= e1 && e2 && rg_check_tensor("exported UNet = EMA", e2, e1, 0, 0);
    run_ok &= ck && rg_safetensors_metadata(ck, "readout.run") && strstr(rg_safetensors_metadata(ck, "readout.run"),
                                                                         "\"batch\":2");
    g_print("%s a run: exit %d, loss.tsv %d lines, checkpoint, model folder\n", run_ok ? "OK" : "NOT OK", rc,
            count_lines(a_log));
    ok &= run_ok;

    /* 2 steps, then --resume to 4: the same checkpoint bits */
    g_autofree char *b = in_tmp("b");
    g_autofree char *b_ckpt = g_build_filename(b, "checkpoint.safetensors", NULL);
    g_autofree char *b_log = g_build_filename(b, "loss.tsv", NULL);
    g_autofree char *o2 = NULL, *e2s = NULL, *o3 = NULL, *e3 = NULL;
    rc = run(&o2, &e2s, "train-diffusion", "--out", b, "--unet-config", config, "--steps", "2", "--batch", "2",
             "--seed", "7", "--save-every", "3", "--threads", "2", "--eval-batches", "1", NULL);
    ok &= rc == 0;
    rc = run(&o3, &e3, "train-diffusion", "--out", b, "--resume", "--steps", "4", "--threads", "2", NULL);
    g_print("%s", o3);
    ok &= rc == 0 && count_lines(b_log) == 5;
    ok &= same_checkpoints(a_ckpt, b_ckpt, "4 steps vs 2 + --resume to 4");
    g_autofree char *a_text = NULL, *b_text = NULL;
    g_file_get_contents(a_log, &a_text, NULL, NULL);
    g_file_get_contents(b_log, &b_text, NULL, NULL);
    const gboolean logs_same = a_text && b_text && !strcmp(a_text, b_text);
    g_print("%s loss.tsv of both runs the same\n", logs_same ? "OK" : "NOT OK");
    ok &= logs_same;

    /* failures */
    expect("no --out", 2, "--out", "train-diffusion", "--steps", "3", NULL);
    expect("--steps 0", 2, "--steps 0", "train-diffusion", "--out", a, "--steps", "0", NULL);
    expect("--batch 0", 2, "--batch 0", "train-diffusion", "--out", a, "--batch", "0", NULL);
    expect("--lr -1", 2, "--lr -1", "train-diffusion", "--out", a, "--lr", "-1", NULL);
    expect("--save-every 0", 2, "--save-every 0", "train-diffusion", "--out", a, "--save-every", "0", NULL);
    expect("--ema-decay 2", 2, "--ema-decay 2", "train-diffusion", "--out", a, "--ema-decay", "2", NULL);
    expect("--steps x", 2, "--steps", "train-diffusion", "--out", a, "--steps", "x", NULL);
    expect("extra argument", 2, "unexpected argument", "train-diffusion", "--out", a, "extra", NULL);
    expect("unknown option", 2, "--frobnicate", "train-diffusion", "--out", a, "--frobnicate", NULL);
    g_autofree char *file = in_tmp("a-file");
    g_assert_true(g_file_set_contents(file, "x", -1, NULL));
    g_autofree char *under_file = g_build_filename(file, "run", NULL);
    expect("--out under a file", 1, "cannot create the output folder", "train-diffusion", "--out", under_file, NULL);
    expect("a run already there", 1, "already holds a run", "train-diffusion", "--out", a, "--unet-config", config,
           "--steps", "1", NULL);
    g_autofree char *empty = in_tmp("empty");
    expect("--resume without a checkpoint", 1, "there is no", "train-diffusion", "--out", empty, "--resume", NULL);
    ok &= !g_file_test(empty, G_FILE_TEST_EXISTS);
    expect("--resume with another batch", 1, "--batch 3 differs from the run's 2", "train-diffusion", "--out", a,
           "--resume", "--steps", "5", "--batch", "3", NULL);
    expect("--resume with --unet-config", 2, "only apply to a new run", "train-diffusion", "--out", a, "--resume",
           "--unet-config", config, NULL);
    g_autofree char *c = in_tmp("c");
    expect("--init-model missing", 1, "is missing", "train-diffusion", "--out", c, "--init-model", "/no/such/model",
           "--steps", "1", NULL);
    expect("--unet-config missing", 1, "/no/such/config.json", "train-diffusion", "--out", c, "--unet-config",
           "/no/such/config.json", "--steps", "1", NULL);
    /* a checkpoint of another config: a run of tiny2 given a's checkpoint */
    g_autofree char *d = in_tmp("d");
    g_autofree char *d_ckpt = g_build_filename(d, "checkpoint.safetensors", NULL);
    g_autofree char *o4 = NULL, *e4 = NULL;
    rc = run(&o4, &e4, "train-diffusion", "--out", d, "--unet-config", config2, "--steps", "1", "--batch", "2",
             "--seed", "7", NULL);
    ok &= rc == 0;
    g_autofree char *ck_data = NULL;
    gsize ck_len = 0;
    g_assert_true(g_file_get_contents(a_ckpt, &ck_data, &ck_len, NULL));
    g_assert_true(g_file_set_contents(d_ckpt, ck_data, (gssize)ck_len, NULL));
    expect("checkpoint of another config", 1, "another UNet config", "train-diffusion", "--out", d, "--resume",
           "--steps", "5", NULL);
    /* --init-model: a new run from a's model */
    g_autofree char *a_model = g_build_filename(a, "model", NULL);
    g_autofree char *o5 = NULL, *e5 = NULL;
    rc = run(&o5, &e5, "train-diffusion", "--out", c, "--init-model", a_model, "--steps", "1", "--batch", "2", NULL);
    g_print("%s --init-model: exit %d %s\n", rc == 0 ? "OK" : "NOT OK", rc, e5);
    ok &= rc == 0;

    ok &= test_sigint(config);

    ok &= rg_test_failures == 0;
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp);
    if (ok && system(cmd) != 0)
        g_printerr("could not remove %s\n", tmp);
    g_print("%s\n", ok ? "ALL OK" : "FAILURES");
    return ok ? 0 : 1;
}
