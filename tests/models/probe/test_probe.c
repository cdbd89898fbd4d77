/* test_probe.c — `readout probe` end to end: the real `readout` binary (its
 * path is argv[1]) runs on tiny models written here in the diffusers folder
 * layout from the committed goldens of the component tests
 * (tests/reference/golden/unet.safetensors, vae.safetensors,
 * clip.safetensors, made by tests/reference/unet.py, vae.py, clip.py), and
 * its outputs must match those goldens with the component tests'
 * tolerances:
 *   tiny/   model_index.json, unet/ (golden case "small"), vae/ (case "a"),
 *           text_encoder/ (clip), tokenizer/ (a vocabulary written here whose
 *           ids are those of the clip golden's first prompt)
 *   lin/    unet/ only (case "lin": linear projections, one timestep for a batch of 2)
 *   vae_b/  vae/ only (case "b": no quant convs, 3 latent channels, non-square)
 * Then bad inputs and usage: exit status 1 (2 for usage) with a message
 * naming the file and the tensor, and no output file. */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

#include "rg_test.h"

static const char *readout_exe;
static char *tmp;
static gboolean ok = TRUE;

static void report(gboolean good, const char *what)
{
    g_print("%s %s\n", good ? "OK" : "NOT OK", what);
    ok &= good;
}

/* ---- files ------------------------------------------------------------------ */

static char *tpath(const char *first, ...) G_GNUC_NULL_TERMINATED;
static char *tpath(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    g_autoptr(GPtrArray) parts = g_ptr_array_new();
    g_ptr_array_add(parts, tmp);
    for (const char *p = first; p; p = va_arg(ap, const char *))
        g_ptr_array_add(parts, (gpointer)p);
    va_end(ap);
    g_ptr_array_add(parts, NULL);
    return g_build_filenamev((char **)parts->pdata);
}

static void write_text(const char *path, const char *text)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_assert_true(g_mkdir_with_parents(dir, 0755) == 0);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

/* Saves @n tensors to @path (folders are made). */
static void save(const char *path, int n, const char *const *names, rg_tensor *const *tensors)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_assert_true(g_mkdir_with_parents(dir, 0755) == 0);
    GError *error = NULL;
    g_assert_true(rg_safetensors_save(path, n, names, tensors, NULL, &error));
    rg_assert_no_error(error);
}

/* The tensors of @golden named "@prefix<name>" saved to @path as "<name>" (F32 / I64). */
static void save_prefixed(rg_safetensors *golden, const char *prefix, const char *path)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    GError *error = NULL;
    for (int i = 0; i < rg_safetensors_count(golden); i++) {
        const char *name = rg_safetensors_name(golden, i);
        if (!g_str_has_prefix(name, prefix))
            continue;
        g_ptr_array_add(names, (gpointer)(name + strlen(prefix)));
        g_ptr_array_add(tensors, rg_safetensors_load(golden, name, &error));
        rg_assert_no_error(error);
    }
    g_assert_cmpuint(names->len, >, 0);
    save(path, (int)names->len, (const char *const *)names->pdata, (rg_tensor *const *)tensors->pdata);
}

static void rmtree(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
        g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
        for (const char *n; d && (n = g_dir_read_name(d));) {
            g_autofree char *p = g_build_filename(path, n, NULL);
            rmtree(p);
        }
    }
    g_remove(path);
}

static const char *model_index = "{\"_class_name\": \"StableDiffusionPipeline\", \"_diffusers_version\": \"0.21.4\"}\n";

/* The clip golden's first prompt is 98 (BOS), these 11 ids, then 99 (EOS) padding. */
static const char *clip_prompt = "A b  c d e\tf g h XY i j";
static const char *clip_vocab =
    "{\"<|startoftext|>\": 98, \"<|endoftext|>\": 99, \"a</w>\": 61, \"b</w>\": 66, \"c</w>\": 93, \"d</w>\": 47, "
    "\"e</w>\": 29, \"f</w>\": 90, \"g</w>\": 57, \"h</w>\": 87, \"x\": 1, \"y</w>\": 2, \"xy</w>\": 8, "
    "\"i</w>\": 49, \"j</w>\": 17}";
static const char *clip_config =
    "{\"architectures\": [\"CLIPTextModel\"], \"model_type\": \"clip_text_model\", \"vocab_size\": 100, "
    "\"hidden_size\": 32, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"intermediate_size\": 64, "
    "\"max_position_embeddings\": 77, \"hidden_act\": \"quick_gelu\", \"layer_norm_eps\": 1e-05, "
    "\"bos_token_id\": 98, \"eos_token_id\": 99, \"torch_dtype\": \"float32\"}\n";

static void write_unet(rg_safetensors *golden, const char *model, const char *c)
{
    g_autofree char *prefix = g_strdup_printf("%s.weights.", c);
    g_autofree char *key = g_strdup_printf("%s.config", c);
    g_autofree char *weights = tpath(model, "unet", "diffusion_pytorch_model.safetensors", NULL);
    g_autofree char *config = tpath(model, "unet", "config.json", NULL);
    save_prefixed(golden, prefix, weights);
    g_assert_nonnull(rg_safetensors_metadata(golden, key));
    write_text(config, rg_safetensors_metadata(golden, key));
}

static void write_vae(rg_safetensors *golden, const char *model, const char *c)
{
    g_autofree char *prefix = g_strdup_printf("%s.weights.", c);
    g_autofree char *key = g_strdup_printf("%s.config", c);
    g_autofree char *weights = tpath(model, "vae", "diffusion_pytorch_model.safetensors", NULL);
    g_autofree char *config = tpath(model, "vae", "config.json", NULL);
    save_prefixed(golden, prefix, weights);
    g_assert_nonnull(rg_safetensors_metadata(golden, key));
    write_text(config, rg_safetensors_metadata(golden, key));
}

static void write_models(rg_safetensors *unet, rg_safetensors *vae, rg_safetensors *clip)
{
    const char *models[] = {"tiny", "lin", "vae_b"};
    for (int i = 0; i < 3; i++) {
        g_autofree char *p = tpath(models[i], "model_index.json", NULL);
        write_text(p, model_index);
    }
    write_unet(unet, "tiny", "small");
    write_vae(vae, "tiny", "a");
    g_autofree char *te = tpath("tiny", "text_encoder", "model.safetensors", NULL);
    save_prefixed(clip, "weights.", te);
    g_autofree char *te_config = tpath("tiny", "text_encoder", "config.json", NULL);
    write_text(te_config, clip_config);
    g_autofree char *vocab = tpath("tiny", "tokenizer", "vocab.json", NULL);
    g_autofree char *merges = tpath("tiny", "tokenizer", "merges.txt", NULL);
    write_text(vocab, clip_vocab);
    write_text(merges, "#version: 0.2\nx y</w>\n");
    write_unet(unet, "lin", "lin");
    write_vae(vae, "vae_b", "b");
}

/* ---- running readout ------------------------------------------------------------ */

typedef struct {
    int status; /* exit status, -1 when it did not exit normally */
    char *err;  /* stderr */
} run_result;

/* Runs `readout probe ARGS...` (NULL-terminated). */
static run_result probe(const char *first, ...) G_GNUC_NULL_TERMINATED;
static run_result probe(const char *first, ...)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)readout_exe);
    g_ptr_array_add(argv, "probe");
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        g_ptr_array_add(argv, (gpointer)a);
    va_end(ap);
    g_ptr_array_add(argv, NULL);
    run_result r = {-1, NULL};
    int wait_status;
    g_autofree char *out = NULL;
    GError *error = NULL;
    g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &r.err,
                               &wait_status, &error));
    rg_assert_no_error(error);
    if (WIFEXITED(wait_status))
        r.status = WEXITSTATUS(wait_status);
    return r;
}

/* The run must have succeeded. */
static gboolean succeeded(const char *what, run_result *r)
{
    gboolean good = r->status == 0;
    if (!good)
        g_print("  %s: exit status %d, stderr:\n%s\n", what, r->status, r->err);
    g_clear_pointer(&r->err, g_free);
    return good;
}

/* The run must have failed with @status, a message naming each of the
 * NULL-terminated strings, and no file at @out (when not NULL). */
static void expect_failure(const char *what, run_result r, int status, const char *out, ...) G_GNUC_NULL_TERMINATED;
static void expect_failure(const char *what, run_result r, int status, const char *out, ...)
{
    gboolean good = r.status == status && r.err && *r.err;
    va_list ap;
    va_start(ap, out);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        if (!r.err || !strstr(r.err, s)) {
            g_print("  %s: the message does not name \"%s\"\n", what, s);
            good = FALSE;
        }
    va_end(ap);
    if (out && g_file_test(out, G_FILE_TEST_EXISTS)) {
        g_print("  %s: %s was written\n", what, out);
        g_remove(out);
        good = FALSE;
    }
    if (!good)
        g_print("  %s: exit status %d (expected %d), stderr: %s\n", what, r.status, status, r.err);
    g_free(r.err);
    g_autofree char *label = g_strdup_printf("%s -> exit %d", what, status);
    report(good, label);
}

/* ---- checking outputs ------------------------------------------------------------- */

/* @out must hold exactly @n tensors. */
static gboolean has_count(rg_safetensors *out, int n, const char *what)
{
    if (rg_safetensors_count(out) == n)
        return TRUE;
    g_print("  %s: %d tensors, expected %d\n", what, rg_safetensors_count(out), n);
    return FALSE;
}

/* Output @name, F32, against @ref. */
static gboolean check_out(rg_safetensors *out, const char *name, rg_tensor *ref, double atol, double rtol)
{
    rg_dtype dtype;
    if (!rg_safetensors_info(out, name, &dtype, NULL, NULL) || dtype != RG_DTYPE_F32) {
        g_print("  output \"%s\" is missing or not F32\n", name);
        return FALSE;
    }
    GError *error = NULL;
    g_autoptr(rg_tensor) t = rg_safetensors_load(out, name, &error);
    rg_assert_no_error(error);
    return rg_check_tensor(name, t, ref, atol, rtol);
}

/* Tolerances of the component tests (tests/models/unet, vae, clip): f32
 * against the f64 references through a dozen or more layers. */
#define UNET_FWD_ATOL 5e-5
#define UNET_FWD_RTOL 1e-4
#define UNET_GRAD_ATOL 1e-4
#define UNET_GRAD_RTOL 1e-4
#define VAE_ATOL 1e-4
#define VAE_RTOL 1e-4
#define CLIP_ATOL 2e-5
#define CLIP_RTOL 1e-4

typedef enum { COT_NONE, COT_EPS, COT_FEATURES, COT_BOTH } cot_kind;

/* One `readout probe unet` on golden case @c with the UNet of @model. */
static void unet_case(rg_safetensors *golden, const char *model, const char *c, int n_features,
                      const int *feature_cots, cot_kind cots, gboolean i64_timestep)
{
    g_autofree char *label =
        g_strdup_printf("probe unet %s (%s timestep, cotangents: %s)", c, i64_timestep ? "I64" : "F32",
                        (const char *[]){"none", "eps", "features", "eps and features"}[cots]);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) ins = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    const char *plain[] = {"sample", "timestep", "encoder_hidden_states"};
    for (int i = 0; i < 3; i++) {
        g_ptr_array_add(names, g_strdup(plain[i]));
        g_ptr_array_add(ins, rg_test_load(golden, c, plain[i]));
    }
    if (i64_timestep) {
        rg_tensor *t = ins->pdata[1];
        GError *error = NULL;
        rg_tensor *ti = rg_tensor_new(RG_DTYPE_I64, 1, rg_tensor_shape(t), &error);
        rg_assert_no_error(error);
        for (int64_t i = 0; i < rg_tensor_numel(t); i++)
            rg_tensor_data_i64(ti)[i] = (int64_t)rg_tensor_get_flat(t, i);
        rg_tensor_unref(g_ptr_array_steal_index(ins, 1));
        g_ptr_array_insert(ins, 1, ti);
    }
    if (cots == COT_EPS || cots == COT_BOTH) {
        g_ptr_array_add(names, g_strdup("cotangent.eps"));
        g_ptr_array_add(ins, rg_test_load(golden, c, "cotangent.eps"));
    }
    for (int i = 0; i < 2 && (cots == COT_FEATURES || cots == COT_BOTH); i++) {
        char *n = g_strdup_printf("cotangent.features.%d", feature_cots[i]);
        g_ptr_array_add(names, n);
        g_ptr_array_add(ins, rg_test_load(golden, c, n));
    }
    g_autofree char *in = tpath("unet_in.safetensors", NULL);
    g_autofree char *out = tpath("unet_out.safetensors", NULL);
    g_remove(out);
    save(in, (int)names->len, (const char *const *)names->pdata, (rg_tensor *const *)ins->pdata);
    g_autofree char *m = tpath(model, NULL);
    run_result r = probe("unet", "--model", m, "--inputs", in, "--outputs", out, "--threads", "2", NULL);
    gboolean good = succeeded(label, &r);
    GError *error = NULL;
    g_autoptr(rg_safetensors) o = good ? rg_safetensors_open(out, &error) : NULL;
    rg_assert_no_error(error);
    if (o) {
        good &= has_count(o, 1 + n_features + (cots != COT_NONE), label);
        g_autoptr(rg_tensor) eps = rg_test_load(golden, c, "eps");
        good &= check_out(o, "eps", eps, UNET_FWD_ATOL, UNET_FWD_RTOL);
        for (int k = 0; k < n_features; k++) {
            g_autofree char *f = g_strdup_printf("features.%d", k);
            g_autoptr(rg_tensor) ref = rg_test_load(golden, c, f);
            good &= check_out(o, f, ref, UNET_FWD_ATOL, UNET_FWD_RTOL);
        }
        if (cots != COT_NONE) {
            g_autoptr(rg_tensor) ge = rg_test_load(golden, c, "grad_eps.sample");
            g_autoptr(rg_tensor) gf = rg_test_load(golden, c, "grad_features.sample");
            g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
            g_autoptr(rg_tensor) both = rg_add(ctx, ge, gf, &error);
            rg_assert_no_error(error);
            rg_tensor *ref = cots == COT_EPS ? ge : cots == COT_FEATURES ? gf : both;
            /* the sum of two gradients carries both their errors */
            const double k = cots == COT_BOTH ? 2 : 1;
            good &= check_out(o, "grad.sample", ref, k * UNET_GRAD_ATOL, k * UNET_GRAD_RTOL);
        }
    }
    report(good, label);
}

static void vae_case(rg_safetensors *golden, const char *model, const char *c)
{
    g_autofree char *m = tpath(model, NULL);
    g_autofree char *in = tpath("vae_in.safetensors", NULL);
    g_autofree char *out = tpath("vae_out.safetensors", NULL);
    GError *error = NULL;
    for (int encode = 1; encode >= 0; encode--) {
        g_autofree char *label = g_strdup_printf("probe %s, vae case %s", encode ? "vae-encode" : "vae-decode", c);
        g_autoptr(rg_tensor) x = rg_test_load(golden, c, encode ? "image" : "latent");
        const char *name = encode ? "image" : "latent";
        save(in, 1, &name, &x);
        g_remove(out);
        run_result r = probe(encode ? "vae-encode" : "vae-decode", "--model", m, "--inputs", in, "--outputs", out,
                             NULL);
        gboolean good = succeeded(label, &r);
        g_autoptr(rg_safetensors) o = good ? rg_safetensors_open(out, &error) : NULL;
        rg_assert_no_error(error);
        if (o && encode) {
            g_autoptr(rg_tensor) mean = rg_test_load(golden, c, "mean");
            g_autoptr(rg_tensor) logvar = rg_test_load(golden, c, "logvar");
            good &= has_count(o, 2, label) && check_out(o, "mean", mean, VAE_ATOL, VAE_RTOL) &&
                    check_out(o, "logvar", logvar, VAE_ATOL, VAE_RTOL);
        } else if (o) {
            g_autoptr(rg_tensor) decoded = rg_test_load(golden, c, "decoded");
            good &= has_count(o, 1, label) && check_out(o, "image", decoded, VAE_ATOL, VAE_RTOL);
        }
        report(good, label);
    }
}

static void text_case(rg_safetensors *golden)
{
    g_autofree char *m = tpath("tiny", NULL);
    g_autofree char *out = tpath("text_out.safetensors", NULL);
    run_result r = probe("text", "--model", m, "--prompt", clip_prompt, "--outputs", out, NULL);
    gboolean good = succeeded("probe text", &r);
    GError *error = NULL;
    g_autoptr(rg_safetensors) o = good ? rg_safetensors_open(out, &error) : NULL;
    rg_assert_no_error(error);
    if (o) {
        g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
        g_autoptr(rg_tensor) ids_all = rg_test_load(golden, "main", "input_ids");
        g_autoptr(rg_tensor) ref_all = rg_test_load(golden, "main", "last_hidden_state");
        g_autoptr(rg_tensor) ids_ref = rg_slice(ctx, ids_all, 0, 0, 1, &error);
        g_autoptr(rg_tensor) ref = rg_slice(ctx, ref_all, 0, 0, 1, &error);
        rg_assert_no_error(error);
        good &= has_count(o, 2, "probe text");
        rg_dtype dtype;
        int nd;
        int64_t shape[RG_MAX_DIMS];
        g_autoptr(rg_tensor) ids = rg_safetensors_load(o, "input_ids", NULL);
        if (!ids || !rg_safetensors_info(o, "input_ids", &dtype, &nd, shape) || dtype != RG_DTYPE_I64 || nd != 2 ||
            shape[0] != 1 || shape[1] != 77) {
            g_print("  input_ids is missing or not I64 (1,77)\n");
            good = FALSE;
        } else {
            for (int i = 0; i < 77; i++)
                if (rg_tensor_get_flat(ids, i) != rg_tensor_get_flat(ids_ref, i)) {
                    g_print("  input_ids[%d] = %g, expected %g\n", i, rg_tensor_get_flat(ids, i),
                            rg_tensor_get_flat(ids_ref, i));
                    good = FALSE;
                    break;
                }
        }
        good &= check_out(o, "last_hidden_state", ref, CLIP_ATOL, CLIP_RTOL);
    }
    report(good, "probe text (tokenizer ids and last_hidden_state)");
}

/* ---- bad input --------------------------------------------------------------------- */

/* IN for the "small" UNet with tensor @replace (if not NULL) swapped for
 * @with (or left out when @with is NULL), plus @extra named @extra_name. */
static char *unet_input(rg_safetensors *golden, const char *replace, rg_tensor *with, const char *extra_name,
                        rg_tensor *extra)
{
    const char *plain[] = {"sample", "timestep", "encoder_hidden_states"};
    const char *names[4];
    rg_tensor *ts[4];
    int n = 0;
    for (int i = 0; i < 3; i++) {
        if (replace && !strcmp(plain[i], replace) && !with)
            continue;
        names[n] = plain[i];
        ts[n++] = replace && !strcmp(plain[i], replace) ? rg_tensor_ref(with) : rg_test_load(golden, "small", plain[i]);
    }
    if (extra_name) {
        names[n] = extra_name;
        ts[n++] = rg_tensor_ref(extra);
    }
    char *path = tpath("bad_in.safetensors", NULL);
    save(path, n, names, ts);
    for (int i = 0; i < n; i++)
        rg_tensor_unref(ts[i]);
    return path;
}

static void error_cases(rg_safetensors *golden, rg_safetensors *vae)
{
    g_autofree char *tiny = tpath("tiny", NULL);
    g_autofree char *lin = tpath("lin", NULL);
    g_autofree char *vae_b = tpath("vae_b", NULL);
    g_autofree char *out = tpath("bad_out.safetensors", NULL);
    g_autofree char *tokenizer = tpath("tiny", "tokenizer", NULL);
    GError *error = NULL;
    g_remove(out);

    g_autofree char *no_ehs = unet_input(golden, "encoder_hidden_states", NULL, NULL, NULL);
    expect_failure("unet without encoder_hidden_states",
                   probe("unet", "-m", tiny, "-i", no_ehs, "-o", out, NULL), 1, out, no_ehs,
                   "\"encoder_hidden_states\"", NULL);
    g_autoptr(rg_tensor) x3 = rg_test_random(1, 4, (int64_t[]){2, 3, 16, 16}, -1, 1);
    g_autofree char *bad_shape = unet_input(golden, "sample", x3, NULL, NULL);
    expect_failure("unet sample with 3 channels", probe("unet", "-m", tiny, "-i", bad_shape, "-o", out, NULL), 1, out,
                   bad_shape, "\"sample\"", "(2,3,16,16)", "(B,4,H,W)", NULL);
    g_autoptr(rg_tensor) x15 = rg_test_random(2, 4, (int64_t[]){2, 4, 15, 15}, -1, 1);
    g_autofree char *odd = unet_input(golden, "sample", x15, NULL, NULL);
    expect_failure("unet sample of odd size", probe("unet", "-m", tiny, "-i", odd, "-o", out, NULL), 1, out,
                   "\"sample\"", "(2,4,15,15)", "multiples of 2", NULL);
    g_autoptr(rg_tensor) xi = rg_tensor_new(RG_DTYPE_I64, 4, (int64_t[]){2, 4, 16, 16}, &error);
    g_autofree char *bad_dtype = unet_input(golden, "sample", xi, NULL, NULL);
    expect_failure("unet sample of I64", probe("unet", "-m", tiny, "-i", bad_dtype, "-o", out, NULL), 1, out,
                   "\"sample\"", "I64", "F32", NULL);
    /* F64, which Readout does not read: a file written by hand */
    g_autofree char *f64 = tpath("f64_in.safetensors", NULL);
    {
        const char header[] = "{\"sample\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}";
        const guint64 hlen = sizeof header - 1;
        g_autoptr(GByteArray) b = g_byte_array_new();
        const guint8 zeros[8] = {0};
        g_byte_array_append(b, (const guint8 *)&hlen, 8); /* little-endian hosts */
        g_byte_array_append(b, (const guint8 *)header, (guint)hlen);
        g_byte_array_append(b, zeros, 8);
        g_assert_true(g_file_set_contents(f64, (const char *)b->data, b->len, NULL));
    }
    expect_failure("unet sample of F64", probe("unet", "-m", tiny, "-i", f64, "-o", out, NULL), 1, out,
                   "\"sample\"", "dtype", "F32", NULL);
    g_autoptr(rg_tensor) ti = rg_test_random(3, 1, (int64_t[]){3}, 0, 999);
    g_autofree char *bad_t = unet_input(golden, "timestep", ti, NULL, NULL);
    expect_failure("unet with 3 timesteps for 2 samples", probe("unet", "-m", tiny, "-i", bad_t, "-o", out, NULL), 1,
                   out, "\"timestep\"", "(3)", NULL);
    g_autoptr(rg_tensor) e12 = rg_test_random(4, 3, (int64_t[]){2, 5, 12}, -1, 1);
    g_autofree char *bad_e = unet_input(golden, "encoder_hidden_states", e12, NULL, NULL);
    expect_failure("unet context of the wrong width", probe("unet", "-m", tiny, "-i", bad_e, "-o", out, NULL), 1, out,
                   "\"encoder_hidden_states\"", "(2,5,12)", "(2,T,24)", NULL);
    g_autoptr(rg_tensor) c8 = rg_test_random(5, 4, (int64_t[]){2, 32, 16, 16}, -1, 1);
    g_autofree char *bad_c = unet_input(golden, NULL, NULL, "cotangent.features.1", c8);
    expect_failure("unet cotangent of the wrong shape", probe("unet", "-m", tiny, "-i", bad_c, "-o", out, NULL), 1,
                   out, "\"cotangent.features.1\"", "(2,32,16,16)", "(2,32,8,8)", NULL);
    g_autofree char *bad_k = unet_input(golden, NULL, NULL, "cotangent.features.4", c8);
    expect_failure("unet cotangent of feature 4 of 4", probe("unet", "-m", tiny, "-i", bad_k, "-o", out, NULL), 1,
                   out, "\"cotangent.features.4\"", "0 to 3", NULL);
    g_autofree char *typo = unet_input(golden, NULL, NULL, "cotangent.feature.1", c8);
    expect_failure("unet cotangent name with a typo", probe("unet", "-m", tiny, "-i", typo, "-o", out, NULL), 1, out,
                   "\"cotangent.feature.1\"", NULL);
    g_autofree char *none = tpath("no_such_input.safetensors", NULL);
    expect_failure("unet inputs that do not exist", probe("unet", "-m", tiny, "-i", none, "-o", out, NULL), 1, out,
                   "no_such_input.safetensors", NULL);
    g_autofree char *good_in = unet_input(golden, NULL, NULL, NULL, NULL);
    g_autofree char *no_model = tpath("no_such_model", NULL);
    expect_failure("unet of a model that does not exist",
                   probe("unet", "-m", no_model, "-i", good_in, "-o", out, NULL), 1, out, "no_such_model", NULL);
    expect_failure("unet of a model without unet/", probe("unet", "-m", vae_b, "-i", good_in, "-o", out, NULL), 1,
                   out, "has no unet", NULL);
    g_autofree char *nowhere = tpath("no_such_folder", "out.safetensors", NULL);
    expect_failure("unet into a folder that does not exist",
                   probe("unet", "-m", tiny, "-i", good_in, "-o", nowhere, NULL), 1, nowhere, "no_such_folder", NULL);


    /* the VAE: a model without vae/, an image of the wrong shape, a latent of the wrong width */
    g_autoptr(rg_tensor) image = rg_test_load(vae, "a", "image");
    g_autofree char *image_in = tpath("image_in.safetensors", NULL);
    save(image_in, 1, (const char *[]){"image"}, &image);
    expect_failure("vae-encode of a model without vae/", probe("vae-encode", "-m", lin, "-i", image_in, "-o", out,
                   NULL), 1, out, "has no vae", NULL);
    expect_failure("vae-decode with an image for a latent", probe("vae-decode", "-m", tiny, "-i", image_in, "-o", out,
                   NULL), 1, out, image_in, "\"latent\"", NULL);
    g_autoptr(rg_tensor) image10 = rg_test_random(6, 4, (int64_t[]){1, 3, 10, 10}, -1, 1);
    g_autofree char *image10_in = tpath("image10_in.safetensors", NULL);
    save(image10_in, 1, (const char *[]){"image"}, &image10);
    expect_failure("vae-encode of 10x10 (3 levels: multiples of 4)",
                   probe("vae-encode", "-m", tiny, "-i", image10_in, "-o", out, NULL), 1, out, "\"image\"",
                   "(1,3,10,10)", "multiples of 4", NULL);
    g_autoptr(rg_tensor) latent4 = rg_test_load(vae, "a", "latent");
    g_autofree char *latent4_in = tpath("latent4_in.safetensors", NULL);
    save(latent4_in, 1, (const char *[]){"latent"}, &latent4);
    expect_failure("vae-decode of 4 channels for 3", probe("vae-decode", "-m", vae_b, "-i", latent4_in, "-o", out,
                   NULL), 1, out, "\"latent\"", "(2,4,4,4)", "(B,3,h,w)", NULL);

    /* text: no tokenizer, no text encoder, ids beyond the vocabulary */
    expect_failure("text of a model without tokenizer/", probe("text", "-m", lin, "-p", "a", "-o", out, NULL), 1, out,
                   "tokenizer", NULL);
    expect_failure("text of a model without text_encoder/",
                   probe("text", "-m", lin, "--tokenizer", tokenizer, "-p", "a", "-o", out, NULL), 1, out,
                   "has no text_encoder", NULL);

    /* usage */
    expect_failure("no component", probe("-m", tiny, "-o", out, NULL), 2, out, "unet, vae-encode", NULL);
    expect_failure("unknown component", probe("vae", "-m", tiny, "-i", image_in, "-o", out, NULL), 2, out,
                   "\"vae\"", NULL);
    expect_failure("no --model: the demo model, whose UNet takes 12 channels",
                   probe("unet", "-i", good_in, "-o", out, NULL), 1, out, "\"sample\"", NULL);
    expect_failure("no --inputs", probe("unet", "-m", tiny, "-o", out, NULL), 2, out, "--inputs", NULL);
    expect_failure("no --outputs", probe("unet", "-m", tiny, "-i", good_in, NULL), 2, NULL, "--outputs", NULL);
    expect_failure("text without --prompt", probe("text", "-m", tiny, "-o", out, NULL), 2, out, "--prompt", NULL);
    expect_failure("text with --inputs", probe("text", "-m", tiny, "-p", "a", "-i", good_in, "-o", out, NULL), 2, out,
                   "--inputs", NULL);
    expect_failure("unknown device", probe("unet", "-m", tiny, "-i", good_in, "-o", out, "--device", "tpu", NULL), 2,
                   out, "\"tpu\"", NULL);
    expect_failure("unknown option", probe("unet", "-m", tiny, "-i", good_in, "-o", out, "--frobnicate", NULL), 2,
                   out, "--frobnicate", NULL);

    /* --device cuda: exactly what this build's CUDA backend says */
    g_autoptr(GError) cuda_error = NULL;
    g_autoptr(rg_backend) cuda = rg_backend_cuda_new(0, &cuda_error);
    run_result r = probe("unet", "-m", tiny, "-i", good_in, "-o", out, "--device", "cuda", NULL);
    if (cuda) {
        report(succeeded("unet --device cuda", &r), "unet --device cuda runs where CUDA is usable");
        g_remove(out);
    } else {
        expect_failure("unet --device cuda without CUDA", r, 1, out, "--device cuda", cuda_error->message, NULL);
    }
    /* and the same input on the CPU succeeds, so the failures above are the inputs' */
    r = probe("unet", "-m", tiny, "-i", good_in, "-o", out, "--device", "cpu", NULL);
    report(succeeded("unet --device cpu", &r) && g_file_test(out, G_FILE_TEST_IS_REGULAR),
           "the unchanged input runs with --device cpu");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        g_printerr("usage: %s PATH-TO-READOUT\n", argv[0]);
        return 2;
    }
    readout_exe = argv[1];
    tmp = g_dir_make_tmp("rg-probe-XXXXXX", NULL);
    g_assert_nonnull(tmp);
    g_autoptr(rg_safetensors) unet = rg_test_golden("unet");
    g_autoptr(rg_safetensors) vae = rg_test_golden("vae");
    g_autoptr(rg_safetensors) clip = rg_test_golden("clip");
    write_models(unet, vae, clip);

    const int small_cots[2] = {0, 3}, lin_cots[2] = {1, 4};
    unet_case(unet, "tiny", "small", 4, small_cots, COT_NONE, FALSE);
    unet_case(unet, "tiny", "small", 4, small_cots, COT_EPS, FALSE);
    unet_case(unet, "tiny", "small", 4, small_cots, COT_FEATURES, TRUE);
    unet_case(unet, "tiny", "small", 4, small_cots, COT_BOTH, TRUE);
    unet_case(unet, "lin", "lin", 5, lin_cots, COT_FEATURES, FALSE);
    unet_case(unet, "lin", "lin", 5, lin_cots, COT_EPS, TRUE);
    vae_case(vae, "tiny", "a");
    vae_case(vae, "vae_b", "b");
    text_case(clip);
    error_cases(unet, vae);

    rmtree(tmp);
    g_free(tmp);
    g_print("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
