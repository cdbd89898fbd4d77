/* head.c — the readout-head commands:
 *
 *   readout convert-head IN OUT.safetensors
 *       Reads a head (an official .pt file, or Readout's safetensors) and
 *       writes Readout's safetensors format; prints one line: role, base
 *       model, layers, parameters. OUT is written only when IN was read
 *       whole (and atomically, so a failed write leaves no partial file).
 *   readout probe head --head PATH --inputs IN.safetensors --outputs OUT.safetensors
 *       IN:  features.0 ... features.{L-1} F32 (B,C_l,h_l,w_l) at their
 *            native sizes, optionally emb F32 (B,E) or (1,E) (the UNet's
 *            time embedding) and cotangent.readout (the shape of readout)
 *       OUT: readout (B,C,H,W) at the size of the largest feature map and,
 *            given cotangent.readout, grad.features.K and grad.emb (its
 *            vector-Jacobian product, weights frozen).
 *
 * Exit status: 0 done, 1 failure (the message names the file and tensor),
 * 2 bad usage.
 */
#include <stdlib.h>
#include <string.h>

#include "readout/head.h"

int rg_cli_convert_head(int argc, char **argv);
int rg_cli_probe_head(int argc, char **argv);

/* "(1280x6, 640x3, 320x3)": runs of equal channel counts */
static char *dims_summary(const rg_head_config *c)
{
    GString *s = g_string_new(NULL);
    for (int l = 0; l < c->n_layers;) {
        int k = l;
        while (k < c->n_layers && c->dims[k] == c->dims[l])
            k++;
        g_string_append_printf(s, "%s%d", l ? ", " : "", c->dims[l]);
        if (k - l > 1)
            g_string_append_printf(s, "x%d", k - l);
        l = k;
    }
    return g_string_free(s, FALSE);
}

static int64_t count_parameters(rg_head *h)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) tensors = g_ptr_array_new();
    rg_head_parameters(h, names, tensors);
    int64_t n = 0;
    for (guint i = 0; i < tensors->len; i++)
        n += rg_tensor_numel(g_ptr_array_index(tensors, i));
    return n;
}

/* ---- convert-head ---------------------------------------------------------- */

int rg_cli_convert_head(int argc, char **argv)
{
    g_autoptr(GOptionContext) oc = g_option_context_new("IN OUT.safetensors - convert a readout head to Readout's "
                                                        "safetensors format");
    g_option_context_set_summary(oc, "IN: an official Readout Guidance head (.pt, e.g. "
                                     "readout_sdv15_spatial_pose.pt) or a Readout .safetensors head.\nThe role "
                                     "(pose, depth, edge, appearance, correspondence, identity) comes from IN's\n"
                                     "file name or metadata and is kept in OUT.");
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(oc, &argc, &argv, &error)) {
        g_printerr("readout convert-head: %s\n", error->message);
        return 2;
    }
    if (argc != 3) {
        g_printerr("readout convert-head: %s\nUsage: readout convert-head IN OUT.safetensors\n",
                   argc < 3 ? "give the head to read and the file to write" : "too many arguments");
        return 2;
    }
    const char *in = argv[1], *out = argv[2];
    g_autoptr(rg_head) h = rg_head_open(in, &error);
    if (!h || !rg_head_save(h, out, &error)) {
        g_printerr("readout convert-head: %s\n", error->message);
        return 1;
    }
    const rg_head_config *c = rg_head_get_config(h);
    g_autofree char *dims = dims_summary(c);
    g_autofree char *kind =
        c->use_output_head ? g_strdup_printf("spatial, %d output channels%s", c->output_channels,
                                             c->output_act ? " + tanh" : "")
                           : g_strdup_printf("relative, %d channels", c->projection_dim);
    g_print("%s -> %s: role %s, base model %s, %d layers (%s), %" G_GINT64_FORMAT " parameters, %s%s\n", in, out,
            c->role[0] ? c->role : "unknown", c->base_model[0] ? c->base_model : "unknown", c->n_layers, dims,
            (gint64)count_parameters(h), kind, c->bottleneck_sequential ? ", DHF-style (no emb)" : "");
    return 0;
}

/* ---- probe head ------------------------------------------------------------ */

/* Tensor @name of @in as F32 with @ndim dimensions. (transfer full) */
static rg_tensor *input(rg_safetensors *in, const char *path, const char *name, int ndim, const char *expected,
                        GError **error)
{
    rg_dtype dtype;
    int nd;
    int64_t shape[RG_MAX_DIMS];
    if (!rg_safetensors_info(in, name, &dtype, &nd, shape)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: no tensor named \"%s\" (expected F32 %s)", path, name,
                    expected);
        return NULL;
    }
    if (dtype != RG_DTYPE_F32 || nd != ndim) {
        g_autoptr(rg_tensor) t = rg_safetensors_load(in, name, NULL);
        g_autofree char *got = t ? rg_tensor_shape_string(t) : g_strdup("?");
        g_set_error(error, RG_ERROR, dtype != RG_DTYPE_F32 ? RG_ERROR_DTYPE : RG_ERROR_SHAPE,
                    "%s: tensor \"%s\" is %s %s; expected F32 %s", path, name, rg_dtype_name(dtype), got, expected);
        return NULL;
    }
    return rg_safetensors_load(in, name, error);
}

typedef struct {
    const char *head, *inputs, *outputs;
} probe_head_args;

static gboolean probe_head(const probe_head_args *a, rg_ctx *ctx, GPtrArray *out_names, GPtrArray *out_tensors,
                           GError **error)
{
    g_autoptr(rg_head) h = rg_head_open(a->head, error);
    if (!h)
        return FALSE;
    const rg_head_config *c = rg_head_get_config(h);
    const int L = c->n_layers;
    const char *path = a->inputs;
    g_autoptr(rg_safetensors) in = rg_safetensors_open(path, error);
    if (!in)
        return FALSE;

    /* features.0 ... features.{L-1}, same batch, the head's channels */
    g_autoptr(GPtrArray) feats = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    int64_t batch = -1, best_h = 0, best_w = 0;
    for (int l = 0; l < L; l++) {
        g_autofree char *name = g_strdup_printf("features.%d", l);
        g_autofree char *expected = g_strdup_printf("(B,%d,h,w); head %s reads features.0 ... features.%d",
                                                    c->dims[l], a->head, L - 1);
        rg_tensor *f = input(in, path, name, 4, expected, error);
        if (!f)
            return FALSE;
        g_ptr_array_add(feats, f);
        const int64_t *s = rg_tensor_shape(f);
        if (s[1] != c->dims[l] || s[0] < 1 || s[2] < 1 || s[3] < 1) {
            g_autofree char *got = rg_tensor_shape_string(f);
            g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: tensor \"%s\" is %s; head %s expects %d channels: "
                        "(B,%d,h,w)", path, name, got, a->head, c->dims[l], c->dims[l]);
            return FALSE;
        }
        if (batch >= 0 && s[0] != batch) {
            g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: tensor \"%s\" has batch %" G_GINT64_FORMAT
                        ", features.0 has %" G_GINT64_FORMAT, path, name, (gint64)s[0], (gint64)batch);
            return FALSE;
        }
        batch = s[0];
        if (s[2] * s[3] > best_h * best_w) {
            best_h = s[2];
            best_w = s[3];
        }
    }
    /* anything else must be emb or the cotangent: features.L would mean another head */
    for (int i = 0; i < rg_safetensors_count(in); i++) {
        const char *name = rg_safetensors_name(in, i);
        if (g_str_has_prefix(name, "features.")) {
            char *end;
            long k = strtol(name + strlen("features."), &end, 10);
            if (*end || k < 0 || k >= L) {
                g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: tensor \"%s\": head %s reads %d features "
                            "(features.0 ... features.%d)", path, name, a->head, L, L - 1);
                return FALSE;
            }
        } else if (strcmp(name, "emb") && strcmp(name, "cotangent.readout")) {
            g_printerr("readout probe head: note: %s: ignoring tensor \"%s\"\n", path, name);
        }
    }
    g_autoptr(rg_tensor) emb = NULL;
    if (rg_safetensors_contains(in, "emb")) {
        g_autofree char *expected = g_strdup_printf("(%" G_GINT64_FORMAT ",%d) or (1,%d)", (gint64)batch,
                                                    c->emb_dim, c->emb_dim);
        if (!(emb = input(in, path, "emb", 2, expected, error)))
            return FALSE;
        const int64_t *s = rg_tensor_shape(emb);
        if (s[1] != c->emb_dim || (s[0] != 1 && s[0] != batch)) {
            g_autofree char *got = rg_tensor_shape_string(emb);
            g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: tensor \"emb\" is %s; expected %s", path, got,
                        expected);
            return FALSE;
        }
        if (c->bottleneck_sequential)
            g_printerr("readout probe head: note: %s is DHF-style: its blocks take no emb (as in the official "
                       "code); ignoring \"emb\"\n", a->head);
    }
    const int C = c->use_output_head ? c->output_channels : c->projection_dim;
    const int64_t out_shape[4] = {batch, C, best_h, best_w};
    g_autoptr(rg_tensor) cot = NULL;
    if (rg_safetensors_contains(in, "cotangent.readout")) {
        g_autofree char *expected = g_strdup_printf("(%" G_GINT64_FORMAT ",%d,%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                                                    "), the shape of readout", (gint64)batch, C, (gint64)best_h,
                                                    (gint64)best_w);
        if (!(cot = input(in, path, "cotangent.readout", 4, expected, error)))
            return FALSE;
        if (memcmp(rg_tensor_shape(cot), out_shape, sizeof out_shape) != 0) {
            g_autofree char *got = rg_tensor_shape_string(cot);
            g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: tensor \"cotangent.readout\" is %s; expected %s", path,
                        got, expected);
            return FALSE;
        }
    }

    g_autoptr(rg_tape) tape = cot ? rg_tape_new() : NULL;
    if (tape) {
        for (int l = 0; l < L; l++)
            rg_tensor_set_requires_grad(g_ptr_array_index(feats, l), TRUE);
        if (emb)
            rg_tensor_set_requires_grad(emb, TRUE);
        rg_ctx_set_tape(ctx, tape);
    }
    rg_tensor *readout = rg_head_forward(h, ctx, (rg_tensor *const *)feats->pdata, emb, best_h, best_w, error);
    rg_ctx_set_tape(ctx, NULL);
    if (!readout)
        return FALSE;
    g_ptr_array_add(out_names, g_strdup("readout"));
    g_ptr_array_add(out_tensors, readout);
    if (!tape)
        return TRUE;
    if (!rg_tape_backward_with(ctx, tape, 1, &readout, &cot, error))
        return FALSE;
    for (int l = 0; l <= L; l++) {
        rg_tensor *x = l < L ? g_ptr_array_index(feats, l) : emb;
        if (!x)
            continue;
        rg_tensor *g = rg_tensor_get_grad(x);
        g = g ? rg_tensor_ref(g) : rg_tensor_new(RG_DTYPE_F32, rg_tensor_ndim(x), rg_tensor_shape(x), error);
        if (!g)
            return FALSE;
        g_ptr_array_add(out_names, l < L ? g_strdup_printf("grad.features.%d", l) : g_strdup("grad.emb"));
        g_ptr_array_add(out_tensors, g);
    }
    return TRUE;
}

static int probe_usage(const char *message)
{
    g_printerr("readout probe head: %s\nUsage: readout probe head --head PATH --inputs IN.safetensors --outputs "
               "OUT.safetensors\n", message);
    return 2;
}

int rg_cli_probe_head(int argc, char **argv)
{
    g_autofree char *head = NULL, *inputs = NULL, *outputs_path = NULL, *device = NULL;
    int threads = 0;
    GOptionEntry entries[] = {
        {"head", 'H', 0, G_OPTION_ARG_FILENAME, &head, "The head: an official .pt or a Readout .safetensors",
         "PATH"},
        {"inputs", 'i', 0, G_OPTION_ARG_FILENAME, &inputs, "Input tensors", "IN.safetensors"},
        {"outputs", 'o', 0, G_OPTION_ARG_FILENAME, &outputs_path, "Where the outputs go", "OUT.safetensors"},
        {"device", 'd', 0, G_OPTION_ARG_STRING, &device, "cpu (default) or cuda", "DEVICE"},
        {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (default: one per core)", "N"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("- run a readout head on given UNet features");
    g_option_context_set_summary(
        oc, "IN: features.0 ... features.{L-1} F32 (B,C_l,h_l,w_l) at their native sizes; optionally emb F32\n"
            "(B,E) or (1,E), the UNet time embedding, and cotangent.readout.\n"
            "OUT: readout (B,C,H,W) at the size of the largest feature map and, given cotangent.readout,\n"
            "grad.features.K and grad.emb (the vector-Jacobian product, weights frozen).");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_autoptr(GError) error = NULL;
    char name[] = "probe head"; /* "Usage: probe head [OPTION...]" */
    argv[0] = name;
    if (!g_option_context_parse(oc, &argc, &argv, &error))
        return probe_usage(error->message);
    if (argc != 1)
        return probe_usage("too many arguments");
    if (!head || !inputs || !outputs_path)
        return probe_usage(!head ? "--head PATH is required" : !inputs ? "--inputs IN.safetensors is required"
                                                                        : "--outputs OUT.safetensors is required");
    if (threads < 0)
        return probe_usage("--threads must be positive");
    const gboolean cuda = device && !strcmp(device, "cuda");
    if (device && !cuda && strcmp(device, "cpu")) {
        g_autofree char *m = g_strdup_printf("unknown device \"%s\" (cpu or cuda)", device);
        return probe_usage(m);
    }
    g_autofree char *out_dir = g_path_get_dirname(outputs_path);
    if (!g_file_test(out_dir, G_FILE_TEST_IS_DIR)) {
        g_printerr("readout probe head: cannot write %s: there is no folder %s\n", outputs_path, out_dir);
        return 1;
    }
    if (threads > 0)
        rg_set_num_threads(threads);
    rg_backend *backend = NULL;
    if (cuda && !(backend = rg_backend_cuda_new(0, &error))) {
        g_printerr("readout probe head: --device cuda: %s\n", error->message);
        return 1;
    }
    g_autoptr(rg_ctx) ctx = rg_ctx_new(backend, &error);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    probe_head_args a = {head, inputs, outputs_path};
    gboolean ok = ctx && probe_head(&a, ctx, names, tensors, &error);
    if (ok) {
        g_autofree char *generator = g_strdup_printf("readout probe head (Readout %s)", rg_version());
        const char *metadata[] = {"generator", generator, "head", head, NULL};
        ok = rg_safetensors_save(outputs_path, (int)names->len, (const char *const *)names->pdata,
                                 (rg_tensor *const *)tensors->pdata, metadata, &error);
    }
    if (!ok) {
        g_printerr("readout probe head: %s\n", error->message);
        return 1;
    }
    return 0;
}
