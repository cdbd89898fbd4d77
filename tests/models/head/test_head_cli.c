/* test_head_cli.c — `readout convert-head` and `readout probe head` end to
 * end: the real `readout` binary (argv[1]) on the .pt fixtures of
 * tests/reference/head.py (golden/heads/) and inputs made from its goldens
 * (golden/head.safetensors), outputs compared with those goldens; then bad
 * heads, bad inputs and usage errors: exit status 1 (2 for usage), a message
 * naming the file and the tensor, and no output file. */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

#include "readout/head.h"
#include "rg_test.h"

static const char *readout_exe;
static char *tmp;
static gboolean ok = TRUE;

static void report(gboolean good, const char *what)
{
    g_print("%s %s\n", good ? "OK" : "NOT OK", what);
    ok &= good;
}

typedef struct {
    int status; /* exit status, -1 when it did not exit normally */
    char *out, *err;
} run_result;

static void run_clear(run_result *r)
{
    g_clear_pointer(&r->out, g_free);
    g_clear_pointer(&r->err, g_free);
}

/* Runs `readout ARGS...` (NULL-terminated). */
static run_result run(const char *first, ...) G_GNUC_NULL_TERMINATED;
static run_result run(const char *first, ...)
{
    run_result r = {-1, NULL, NULL};
    va_list ap;
    va_start(ap, first);
    r.status = rg_test_spawnv(readout_exe, &r.out, &r.err, first, ap);
    va_end(ap);
    return r;
}

static gboolean succeeded(const char *what, run_result *r)
{
    gboolean good = r->status == 0;
    if (!good)
        g_print("  %s: exit status %d, stderr:\n%s\n", what, r->status, r->err);
    return good;
}

/* The run failed with @status, a message containing each NULL-terminated
 * string, and no file at @out (when not NULL). */
static void expect_failure(const char *what, run_result r, int status, const char *out, ...) G_GNUC_NULL_TERMINATED;
static void expect_failure(const char *what, run_result r, int status, const char *out, ...)
{
    gboolean good = r.status == status && r.err && *r.err;
    va_list ap;
    va_start(ap, out);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        if (!r.err || !strstr(r.err, s)) {
            g_print("  %s: the message lacks \"%s\"\n", what, s);
            good = FALSE;
        }
    va_end(ap);
    if (out && g_file_test(out, G_FILE_TEST_EXISTS)) {
        g_print("  %s: %s was written\n", what, out);
        good = FALSE;
    }
    g_print("%s %s (exit %d): %s", good ? "OK" : "NOT OK", what, r.status, r.err ? r.err : "\n");
    ok &= good;
    run_clear(&r);
}

static char *fixture(const char *name)
{
    return g_build_filename(RG_HEAD_DIR, name, NULL);
}

static char *tpath(const char *name)
{
    return g_build_filename(tmp, name, NULL);
}

/* ---- inputs from the goldens --------------------------------------------------- */

/* Saves the case's features.K (and emb, and dout as cotangent.readout, when
 * asked) under their plain names; @replace / @with swap one tensor in,
 * @drop leaves one out. */
static void write_inputs(rg_safetensors *g, const char *c, const char *path, gboolean emb, gboolean cot,
                         const char *replace, rg_tensor *with, const char *drop)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    g_autofree char *prefix = g_strdup_printf("%s.", c);
    gboolean replaced = FALSE;
    for (int i = 0; i < rg_safetensors_count(g); i++) {
        const char *full = rg_safetensors_name(g, i);
        if (!g_str_has_prefix(full, prefix))
            continue;
        const char *name = full + strlen(prefix);
        const char *as = NULL;
        if (g_str_has_prefix(name, "features.") || (emb && !strcmp(name, "emb")))
            as = name;
        else if (cot && !strcmp(name, "dout"))
            as = "cotangent.readout";
        if (!as || (drop && !strcmp(as, drop)))
            continue;
        const gboolean swap = replace && !strcmp(as, replace);
        replaced |= swap;
        g_ptr_array_add(names, g_strdup(as));
        g_ptr_array_add(tensors, swap ? rg_tensor_ref(with) : rg_safetensors_load(g, full, NULL));
    }
    if (replace && !replaced) {
        g_ptr_array_add(names, g_strdup(replace));
        g_ptr_array_add(tensors, rg_tensor_ref(with));
    }
    GError *error = NULL;
    g_assert_true(rg_safetensors_save(path, (int)names->len, (const char *const *)names->pdata,
                                      (rg_tensor *const *)tensors->pdata, NULL, &error));
    rg_assert_no_error(error);
}

/* OUT's tensor @name against the golden's "@c.@what". */
static void check_out(rg_safetensors *out, rg_safetensors *g, const char *c, const char *name, const char *what)
{
    g_autoptr(rg_tensor) got = rg_safetensors_load(out, name, NULL);
    g_autoptr(rg_tensor) ref = rg_test_load(g, c, what);
    g_autofree char *label = g_strdup_printf("probe head %s: %s", c, name);
    ok &= rg_check_tensor(label, got, ref, 2e-5, 2e-4);
}

/* ---- convert-head ----------------------------------------------------------------- */

static void convert(void)
{
    g_autofree char *pt = fixture("readout_tiny_spatial_pose.pt");
    g_autofree char *out = tpath("pose.safetensors");
    run_result r = run("convert-head", pt, out, NULL);
    gboolean good = succeeded("convert-head", &r) && strstr(r.out, "role pose") &&
                    strstr(r.out, "base model tests/reference/unet.py:small") && strstr(r.out, "4 layers (32x2, 16x2)") &&
                    strstr(r.out, "59095 parameters") && strchr(r.out, '\n') == r.out + strlen(r.out) - 1;
    g_print("  %s", r.out ? r.out : "");
    report(good, "convert-head readout_tiny_spatial_pose.pt: one summary line");
    run_clear(&r);
    GError *error = NULL;
    g_autoptr(rg_head) h = rg_head_open(out, &error);
    rg_assert_no_error(error);
    report(!strcmp(rg_head_get_config(h)->role, "pose") && rg_head_get_config(h)->control_range[0] == -0.5f,
           "converted head opens with its role and control range");
    /* a safetensors head converts too (to itself) */
    g_autofree char *again = tpath("again.safetensors");
    r = run("convert-head", out, again, NULL);
    report(succeeded("convert-head of a safetensors head", &r) && strstr(r.out, "role pose"),
           "convert-head of a Readout safetensors head");
    run_clear(&r);
    g_autofree char *dhf = fixture("dhf_correspondence.pt");
    g_autofree char *dout = tpath("dhf.safetensors");
    r = run("convert-head", dhf, dout, NULL);
    report(succeeded("convert-head dhf", &r) && strstr(r.out, "DHF-style") && strstr(r.out, "role correspondence"),
           "convert-head of a DHF-style head says so");
    run_clear(&r);

    g_autofree char *bad = fixture("bad_shape.pt");
    g_autofree char *never = tpath("never.safetensors");
    expect_failure("convert-head of a mis-shaped head", run("convert-head", bad, never, NULL), 1, never,
                   "bad_shape.pt", "aggregation_network.bottleneck_layers.0.conv1.weight", "(4,7,1,1)", "(4,8,1,1)",
                   NULL);
    g_autofree char *missing = fixture("bad_missing.pt");
    expect_failure("convert-head of a head with a missing key", run("convert-head", missing, never, NULL), 1, never,
                   "conv2.norm.bias", NULL);
    expect_failure("convert-head of no file", run("convert-head", "/no/such/head.pt", never, NULL), 1, never,
                   "/no/such/head.pt", NULL);
    /* an existing OUT stays as it was when IN fails */
    g_assert_true(g_file_set_contents(never, "keep me", -1, NULL));
    run_result f = run("convert-head", bad, never, NULL);
    g_autofree char *kept = NULL;
    g_file_get_contents(never, &kept, NULL, NULL);
    report(f.status == 1 && kept && !strcmp(kept, "keep me"), "a failed conversion leaves OUT alone");
    run_clear(&f);
    g_unlink(never);
    expect_failure("convert-head with one argument", run("convert-head", pt, NULL), 2, NULL, "Usage", NULL);
    expect_failure("convert-head with three arguments", run("convert-head", pt, out, out, NULL), 2, NULL,
                   "too many", NULL);
    g_unlink(again);
    g_unlink(dout);
}

/* ---- probe head -------------------------------------------------------------------- */

static void probe(rg_safetensors *g)
{
    g_autofree char *pt = fixture("readout_tiny_spatial_pose.pt");
    g_autofree char *in = tpath("in.safetensors");
    g_autofree char *out = tpath("out.safetensors");
    GError *error = NULL;

    /* spatial with emb and a cotangent: readout and the VJP */
    write_inputs(g, "spatial_emb", in, TRUE, TRUE, NULL, NULL, NULL);
    run_result r = run("probe", "head", "--head", pt, "--inputs", in, "--outputs", out, NULL);
    if (succeeded("probe head spatial_emb", &r)) {
        g_autoptr(rg_safetensors) o = rg_safetensors_open(out, &error);
        rg_assert_no_error(error);
        check_out(o, g, "spatial_emb", "readout", "out");
        for (int l = 0; l < 4; l++) {
            g_autofree char *n = g_strdup_printf("grad.features.%d", l);
            check_out(o, g, "spatial_emb", n, n);
        }
        check_out(o, g, "spatial_emb", "grad.emb", "grad.emb");
        report(rg_safetensors_count(o) == 6, "probe head: readout, 4 feature gradients, grad.emb");
    } else {
        report(FALSE, "probe head spatial_emb");
    }
    run_clear(&r);
    g_unlink(out);

    /* a converted relative head, no emb, no cotangent; the largest map (6x8) sets the size */
    g_autofree char *rel = fixture("readout_tiny_drag_appearance.pt");
    g_autofree char *relst = tpath("appearance.safetensors");
    r = run("convert-head", rel, relst, NULL);
    report(succeeded("convert-head appearance", &r), "convert-head readout_tiny_drag_appearance.pt");
    run_clear(&r);
    write_inputs(g, "relative_noemb", in, FALSE, FALSE, NULL, NULL, NULL);
    r = run("probe", "head", "-H", relst, "-i", in, "-o", out, "--threads", "1", NULL);
    if (succeeded("probe head relative_noemb", &r)) {
        g_autoptr(rg_safetensors) o = rg_safetensors_open(out, &error);
        rg_assert_no_error(error);
        check_out(o, g, "relative_noemb", "readout", "out");
        report(rg_safetensors_count(o) == 1, "probe head without cotangent: readout only");
    } else {
        report(FALSE, "probe head relative_noemb");
    }
    run_clear(&r);
    g_unlink(out);

    /* bad inputs: exit 1, nothing written */
    write_inputs(g, "spatial_emb", in, TRUE, FALSE, NULL, NULL, "features.3");
    expect_failure("missing features.3", run("probe", "head", "--head", pt, "-i", in, "-o", out, NULL), 1, out,
                   "in.safetensors", "\"features.3\"", "features.0 ... features.3", NULL);
    g_autoptr(rg_tensor) narrow = rg_test_random(1, 4, (int64_t[]){2, 31, 8, 8}, -1, 1);
    write_inputs(g, "spatial_emb", in, TRUE, FALSE, "features.1", narrow, NULL);
    expect_failure("wrong channels", run("probe", "head", "--head", pt, "-i", in, "-o", out, NULL), 1, out,
                   "\"features.1\" is (2,31,8,8)", "32 channels", NULL);
    g_autoptr(rg_tensor) one = rg_test_random(2, 4, (int64_t[]){1, 16, 16, 16}, -1, 1);
    write_inputs(g, "spatial_emb", in, TRUE, FALSE, "features.2", one, NULL);
    expect_failure("batch mismatch", run("probe", "head", "--head", pt, "-i", in, "-o", out, NULL), 1, out,
                   "\"features.2\" has batch 1, features.0 has 2", NULL);
    g_autoptr(rg_tensor) extra = rg_test_random(3, 4, (int64_t[]){2, 8, 16, 16}, -1, 1);
    write_inputs(g, "spatial_emb", in, TRUE, FALSE, "features.4", extra, NULL);
    expect_failure("a fifth feature", run("probe", "head", "--head", pt, "-i", in, "-o", out, NULL), 1, out,
                   "\"features.4\"", "reads 4 features", NULL);
    g_autoptr(rg_tensor) emb = rg_test_random(4, 2, (int64_t[]){2, 1280}, -1, 1);
    write_inputs(g, "spatial_emb", in, TRUE, FALSE, "emb", emb, NULL);
    expect_failure("emb width", run("probe", "head", "--head", pt, "-i", in, "-o", out, NULL), 1, out,
                   "\"emb\" is (2,1280)", "(2,64) or (1,64)", NULL);
    g_autoptr(rg_tensor) cot = rg_test_random(5, 4, (int64_t[]){2, 3, 8, 8}, -1, 1);
    write_inputs(g, "spatial_emb", in, TRUE, FALSE, "cotangent.readout", cot, NULL);
    expect_failure("cotangent shape", run("probe", "head", "--head", pt, "-i", in, "-o", out, NULL), 1, out,
                   "\"cotangent.readout\" is (2,3,8,8)", "(2,3,16,16)", NULL);
    write_inputs(g, "spatial_emb", in, TRUE, FALSE, NULL, NULL, NULL);
    g_autofree char *badhead = fixture("bad_extra.pt");
    expect_failure("a bad head", run("probe", "head", "--head", badhead, "-i", in, "-o", out, NULL), 1, out,
                   "bad_extra.pt", "conv4.weight", NULL);
    expect_failure("no --head", run("probe", "head", "-i", in, "-o", out, NULL), 2, out, "--head", NULL);
    expect_failure("no --inputs", run("probe", "head", "--head", pt, "-o", out, NULL), 2, out, "--inputs", NULL);
    expect_failure("no folder for OUT", run("probe", "head", "--head", pt, "-i", in, "-o", "/no/such/dir/o.st", NULL),
                   1, NULL, "/no/such/dir", NULL);
    expect_failure("no inputs file", run("probe", "head", "--head", pt, "-i", "/no/in.safetensors", "-o", out, NULL),
                   1, out, "/no/in.safetensors", NULL);
    g_unlink(in);
    g_unlink(relst);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        g_printerr("usage: %s PATH-TO-readout\n", argv[0]);
        return 2;
    }
    readout_exe = argv[1];
    GError *error = NULL;
    tmp = g_dir_make_tmp("test-head-cli-XXXXXX", &error);
    rg_assert_no_error(error);
    g_autoptr(rg_safetensors) g = rg_test_golden("head");
    convert();
    probe(g);
    g_autofree char *pose = tpath("pose.safetensors");
    g_unlink(pose);
    if (g_rmdir(tmp) != 0)
        report(FALSE, "every file written was expected (the temporary folder is empty)");
    g_free(tmp);
    g_print("%s\n", ok ? "ALL OK" : "FAILED");
    return ok ? 0 : 1;
}
