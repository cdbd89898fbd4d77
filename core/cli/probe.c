/* probe.c — `readout probe WHAT`: runs one component of a model on tensors
 * read from a safetensors file and writes what it computes to another, so
 * that anyone can check a checkpoint (and this engine) against another
 * implementation such as diffusers.
 *
 *   readout probe unet --model PATH --inputs IN.safetensors --outputs OUT.safetensors
 *       IN:  sample F32 (B,4,H,W), timestep F32 or I64 (B) or (1),
 *            encoder_hidden_states F32 (B,T,768); optionally cotangent.eps
 *            (B,4,H,W) and cotangent.features.K (the shape of features.K)
 *       OUT: eps (B,4,H,W), features.0 ... features.{n-1} (the conv2 outputs
 *            of the decoder ResNets, before the skip addition), and, when IN
 *            holds cotangents, grad.sample: the vector-Jacobian product of
 *            those cotangents with respect to sample, weights frozen.
 *   readout probe vae-encode ...   IN: image F32 (B,3,H,W) in [-1,1]; OUT: mean, logvar
 *   readout probe vae-decode ...   IN: latent F32 (B,4,h,w);           OUT: image
 *   readout probe text --model PATH --prompt TEXT --outputs OUT.safetensors
 *       OUT: input_ids I64 (1,77) from the model's tokenizer and
 *            last_hidden_state F32 (1,77,768)
 *
 * The component's config.json is used when the model has one (diffusers
 * folders), else SD1.5's configuration (single files). Outputs are F32 (ids
 * I64). The CPU runs everything unless --device says otherwise. Exit status:
 * 0 done, 1 failure (the message names the file and tensor), 2 bad usage.
 * OUT is written only when everything succeeded.
 */
#include <stdlib.h>
#include <string.h>

#include "readout/clip.h"
#include "readout/data.h"
#include "readout/model.h"
#include "readout/tokenizer.h"
#include "readout/unet.h"
#include "readout/vae.h"

int rg_cli_probe(int argc, char **argv);
int rg_cli_probe_head(int argc, char **argv); /* core/cli/head.c */

typedef struct {
    const char *what; /* "unet", "vae-encode", "vae-decode", "text" */
    const char *model, *inputs, *outputs, *prompt, *tokenizer;
} probe_args;

/* ---- inputs ---------------------------------------------------------------- */

/* "(B,4,H,W)" style descriptions of what a tensor should look like. */
static char *dims_string(int ndim, const int64_t *shape)
{
    GString *s = g_string_new("(");
    for (int d = 0; d < ndim; d++)
        g_string_append_printf(s, "%s%" G_GINT64_FORMAT, d ? "," : "", (gint64)shape[d]);
    g_string_append_c(s, ')');
    return g_string_free(s, FALSE);
}

/* Tensor @name of @in, which must be F32 (or, with @allow_i64, I64, then
 * converted to F32) with @ndim dimensions; @expected describes the shape for
 * messages. (transfer full) Errors: RG_ERROR_FORMAT (absent), RG_ERROR_DTYPE,
 * RG_ERROR_SHAPE, each naming the file and the tensor. */
static rg_tensor *input_tensor(rg_safetensors *in, const char *path, const char *name, int ndim,
                               const char *expected, gboolean allow_i64, GError **error)
{
    rg_dtype dtype;
    int nd;
    int64_t shape[RG_MAX_DIMS];
    if (!rg_safetensors_info(in, name, &dtype, &nd, shape)) {
        if (rg_safetensors_contains(in, name))
            g_set_error(error, RG_ERROR, RG_ERROR_DTYPE, "%s: tensor \"%s\" has a dtype Readout does not read; "
                        "expected F32%s", path, name, allow_i64 ? " or I64" : "");
        else
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: no tensor named \"%s\" (expected F32 %s)", path,
                        name, expected);
        return NULL;
    }
    if (dtype != RG_DTYPE_F32 && !(allow_i64 && dtype == RG_DTYPE_I64)) {
        g_set_error(error, RG_ERROR, RG_ERROR_DTYPE, "%s: tensor \"%s\" is %s; expected F32%s", path, name,
                    rg_dtype_name(dtype), allow_i64 ? " or I64" : "");
        return NULL;
    }
    if (nd != ndim) {
        g_autofree char *found = dims_string(nd, shape);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: tensor \"%s\" is %s; expected %s", path, name, found,
                    expected);
        return NULL;
    }
    g_autoptr(rg_tensor) t = rg_safetensors_load(in, name, error);
    if (!t || dtype == RG_DTYPE_F32)
        return g_steal_pointer(&t);
    /* I64 timesteps (as diffusers schedulers make them) -> F32 */
    g_autoptr(rg_tensor) f = rg_tensor_new(RG_DTYPE_F32, nd, shape, error);
    if (!f)
        return NULL;
    const int64_t *src = rg_tensor_data_i64(t);
    float *dst = rg_tensor_data_f32(f);
    for (int64_t i = 0; i < rg_tensor_numel(t); i++)
        dst[i] = (float)src[i];
    return g_steal_pointer(&f);
}

/* FALSE with RG_ERROR_SHAPE naming @path and @name unless @t (of the ndim
 * @expected has) has size @want at every dimension where @want >= 0. */
static gboolean check_dims(rg_tensor *t, const char *path, const char *name, const int64_t *want,
                           const char *expected, GError **error)
{
    const int64_t *s = rg_tensor_shape(t);
    for (int d = 0; d < rg_tensor_ndim(t); d++) {
        if (want[d] >= 0 && s[d] != want[d]) {
            g_autofree char *found = rg_tensor_shape_string(t);
            g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: tensor \"%s\" is %s; expected %s", path, name, found,
                        expected);
            return FALSE;
        }
    }
    return TRUE;
}

/* H and W of image-like @t must be positive multiples of @multiple. */
static gboolean check_multiple(rg_tensor *t, const char *path, const char *name, int multiple, const char *why,
                               GError **error)
{
    const int64_t *s = rg_tensor_shape(t);
    if (s[0] > 0 && s[2] > 0 && s[3] > 0 && s[2] % multiple == 0 && s[3] % multiple == 0)
        return TRUE;
    g_autofree char *found = rg_tensor_shape_string(t);
    g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: tensor \"%s\" is %s; its batch must be positive and its height "
                "and width positive multiples of %d (%s)", path, name, found, multiple, why);
    return FALSE;
}

/* Says on stderr which tensors of @in are not used (those not in @used). */
static void note_unused(const char *what, rg_safetensors *in, const char *path, const char *const *used)
{
    for (int i = 0; i < rg_safetensors_count(in); i++) {
        const char *name = rg_safetensors_name(in, i);
        if (!g_strv_contains(used, name) && !g_str_has_prefix(name, "cotangent."))
            g_printerr("readout probe %s: note: %s: ignoring tensor \"%s\"\n", what, path, name);
    }
}

/* ---- outputs --------------------------------------------------------------- */

typedef struct {
    GPtrArray *names;   /* char * */
    GPtrArray *tensors; /* rg_tensor * */
} outputs;

static void outputs_init(outputs *o)
{
    o->names = g_ptr_array_new_with_free_func(g_free);
    o->tensors = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
}

static void outputs_clear(outputs *o)
{
    g_clear_pointer(&o->names, g_ptr_array_unref);
    g_clear_pointer(&o->tensors, g_ptr_array_unref);
}

/* Takes @t (transfer full). */
static void outputs_add(outputs *o, char *name, rg_tensor *t)
{
    g_ptr_array_add(o->names, name);
    g_ptr_array_add(o->tensors, t);
}

static gboolean outputs_save(outputs *o, const probe_args *a, GError **error)
{
    g_autofree char *generator = g_strdup_printf("readout probe %s", a->what);
    const char *metadata[] = {"generator", generator, "readout_version", rg_version(), "model", a->model, NULL};
    return rg_safetensors_save(a->outputs, (int)o->names->len, (const char *const *)o->names->pdata,
                               (rg_tensor *const *)o->tensors->pdata, metadata, error);
}

/* ---- unet ------------------------------------------------------------------ */

/* A cotangent of IN: "cotangent.eps" (index -1) or "cotangent.features.K". */
typedef struct {
    const char *name;
    int index;
} cot_name;

/* The cotangent names of @in, in file order; FALSE for a "cotangent.*" name
 * that is neither (a typo would otherwise be ignored silently). */
static gboolean find_cotangents(rg_safetensors *in, const char *path, int n_features, GArray *cots, GError **error)
{
    for (int i = 0; i < rg_safetensors_count(in); i++) {
        const char *name = rg_safetensors_name(in, i);
        if (!g_str_has_prefix(name, "cotangent."))
            continue;
        cot_name c = {name, -1};
        if (!strcmp(name, "cotangent.eps")) {
            g_array_append_val(cots, c);
            continue;
        }
        const char *k = g_str_has_prefix(name, "cotangent.features.") ? name + strlen("cotangent.features.") : "";
        if (g_ascii_isdigit(k[0]) && strlen(k) <= 3 && (k[0] != '0' || !k[1])) {
            char *end;
            c.index = (int)strtol(k, &end, 10);
            if (!*end && c.index < n_features) {
                g_array_append_val(cots, c);
                continue;
            }
        }
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: tensor \"%s\" is no cotangent of this UNet: expected "
                    "\"cotangent.eps\" or \"cotangent.features.K\" with K from 0 to %d", path, name, n_features - 1);
        return FALSE;
    }
    return TRUE;
}

static gboolean unet_config(rg_model *m, rg_unet_config *c, GError **error)
{
    g_autofree char *config = rg_model_config_path(m, "unet");
    if (!config) {
        rg_unet_config_init_sd15(c);
        return TRUE;
    }
    return rg_unet_config_load(c, config, error);
}

static gboolean probe_unet(const probe_args *a, rg_ctx *ctx, rg_model *m, outputs *out, GError **error)
{
    /* the weights (only headers are read here), so that a model without a UNet says so first */
    g_autoptr(rg_weights) w = rg_model_weights(m, "unet", error);
    rg_unet_config c;
    if (!w || !unet_config(m, &c, error))
        return FALSE;
    const char *path = a->inputs;
    g_autoptr(rg_safetensors) in = rg_safetensors_open(path, error);
    if (!in)
        return FALSE;

    /* sample (B, in_channels, H, W), timestep (B) or (1), encoder_hidden_states (B, T, cross_attention_dim) */
    g_autofree char *x_expected = g_strdup_printf("(B,%d,H,W)", c.in_channels);
    g_autoptr(rg_tensor) sample = input_tensor(in, path, "sample", 4, x_expected, FALSE, error);
    if (!sample)
        return FALSE;
    const int64_t *xs = rg_tensor_shape(sample);
    const int64_t batch = xs[0];
    if (!check_dims(sample, path, "sample", (int64_t[]){-1, c.in_channels, -1, -1}, x_expected, error))
        return FALSE;
    g_autofree char *t_expected = g_strdup_printf("(%" G_GINT64_FORMAT ") or (1)", (gint64)batch);
    g_autoptr(rg_tensor) timestep = input_tensor(in, path, "timestep", 1, t_expected, TRUE, error);
    if (!timestep)
        return FALSE;
    if (rg_tensor_shape(timestep)[0] != 1 &&
        !check_dims(timestep, path, "timestep", (int64_t[]){batch}, t_expected, error))
        return FALSE;
    g_autofree char *e_expected = g_strdup_printf("(%" G_GINT64_FORMAT ",T,%d)", (gint64)batch, c.cross_attention_dim);
    g_autoptr(rg_tensor) ehs = input_tensor(in, path, "encoder_hidden_states", 3, e_expected, FALSE, error);
    if (!ehs || !check_dims(ehs, path, "encoder_hidden_states", (int64_t[]){batch, -1, c.cross_attention_dim},
                            e_expected, error))
        return FALSE;
    if (rg_tensor_shape(ehs)[1] < 1) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: tensor \"encoder_hidden_states\" has no tokens", path);
        return FALSE;
    }

    /* the model */
    g_autoptr(rg_unet) u = rg_unet_new(&c, w, error);
    g_clear_pointer(&w, rg_weights_free); /* the model holds its own copies */
    if (!u)
        return FALSE;
    const int nf = rg_unet_n_features(u);
    g_autofree char *why = g_strdup_printf("the UNet halves them %d times", c.n_levels - 1);
    if (!check_multiple(sample, path, "sample", rg_unet_size_multiple(u), why, error))
        return FALSE;

    /* cotangents, each shaped like its output */
    g_autoptr(GArray) names = g_array_new(FALSE, FALSE, sizeof(cot_name));
    if (!find_cotangents(in, path, nf, names, error))
        return FALSE;
    const int n_cot = (int)names->len;
    g_autoptr(GPtrArray) cots = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    for (int i = 0; i < n_cot; i++) {
        const cot_name *cn = &g_array_index(names, cot_name, i);
        int64_t want[4] = {batch, c.out_channels, xs[2], xs[3]};
        if (cn->index >= 0) {
            const int f = rg_unet_feature_factor(u, cn->index);
            want[1] = rg_unet_feature_channels(u, cn->index);
            want[2] = xs[2] / f;
            want[3] = xs[3] / f;
        }
        g_autofree char *expected = dims_string(4, want);
        rg_tensor *t = input_tensor(in, path, cn->name, 4, expected, FALSE, error);
        if (!t)
            return FALSE;
        g_ptr_array_add(cots, t);
        if (!check_dims(t, path, cn->name, want, expected, error))
            return FALSE;
    }
    note_unused(a->what, in, path, (const char *const[]){"sample", "timestep", "encoder_hidden_states", NULL});

    /* forward, recorded when there is something to back-propagate */
    g_autoptr(rg_tape) tape = n_cot ? rg_tape_new() : NULL;
    if (tape) {
        rg_tensor_set_requires_grad(sample, TRUE);
        rg_ctx_set_tape(ctx, tape);
    }
    rg_tensor *eps = NULL;
    g_autofree rg_tensor **features = g_new0(rg_tensor *, nf);
    gboolean ok = rg_unet_forward(u, ctx, sample, timestep, ehs, &eps, features, error);
    rg_ctx_set_tape(ctx, NULL);
    if (!ok)
        return FALSE;
    outputs_add(out, g_strdup("eps"), eps);
    for (int k = 0; k < nf; k++)
        outputs_add(out, g_strdup_printf("features.%d", k), features[k]);
    if (!tape)
        return TRUE;

    /* grad.sample = sum of the VJPs of the given cotangents */
    g_autofree rg_tensor **outs = g_new0(rg_tensor *, n_cot);
    for (int i = 0; i < n_cot; i++) {
        const int k = g_array_index(names, cot_name, i).index;
        outs[i] = k < 0 ? eps : features[k];
    }
    if (!rg_tape_backward_with(ctx, tape, n_cot, outs, (rg_tensor *const *)cots->pdata, error))
        return FALSE;
    rg_tensor *grad = rg_tensor_get_grad(sample);
    if (grad) {
        outputs_add(out, g_strdup("grad.sample"), rg_tensor_ref(grad));
        return TRUE;
    }
    rg_tensor *zero = rg_tensor_new(RG_DTYPE_F32, 4, xs, error);
    if (!zero)
        return FALSE;
    outputs_add(out, g_strdup("grad.sample"), zero);
    return TRUE;
}

/* ---- vae ------------------------------------------------------------------- */

static rg_vae *load_vae(rg_model *m, rg_weights *w, GError **error)
{
    rg_vae_config c;
    g_autofree char *config = rg_model_config_path(m, "vae");
    if (config) {
        if (!rg_vae_config_load(&c, config, error))
            return NULL;
    } else {
        rg_vae_config_init_sd15(&c);
    }
    return rg_vae_new(&c, w, error);
}

static gboolean probe_vae(const probe_args *a, rg_ctx *ctx, rg_model *m, gboolean encode, outputs *out,
                          GError **error)
{
    const char *path = a->inputs;
    /* the weights (only headers are read here), so that a model without a VAE says so first */
    g_autoptr(rg_weights) w = rg_model_weights(m, "vae", error);
    if (!w)
        return FALSE;
    g_autoptr(rg_safetensors) in = rg_safetensors_open(path, error);
    if (!in)
        return FALSE;
    const char *name = encode ? "image" : "latent";
    /* the dimensions are checked against the config once the model is loaded */
    g_autoptr(rg_tensor) x = input_tensor(in, path, name, 4, encode ? "(B,3,H,W)" : "(B,4,h,w)", FALSE, error);
    if (!x)
        return FALSE;
    g_autoptr(rg_vae) v = load_vae(m, w, error);
    g_clear_pointer(&w, rg_weights_free); /* the model holds its own copies */
    if (!v)
        return FALSE;
    const rg_vae_config *c = rg_vae_get_config(v);
    const int channels = encode ? c->in_channels : c->latent_channels;
    g_autofree char *expected = g_strdup_printf(encode ? "(B,%d,H,W)" : "(B,%d,h,w)", channels);
    if (!check_dims(x, path, name, (int64_t[]){-1, channels, -1, -1}, expected, error))
        return FALSE;
    const int factor = 1 << (c->n_levels - 1);
    g_autofree char *why = g_strdup_printf("the VAE halves them %d times", c->n_levels - 1);
    if (!check_multiple(x, path, name, encode ? factor : 1, encode ? why : "a latent", error))
        return FALSE;
    note_unused(a->what, in, path, (const char *const[]){name, NULL});
    if (!encode) {
        rg_tensor *image = rg_vae_decode(v, ctx, x, error);
        if (!image)
            return FALSE;
        outputs_add(out, g_strdup("image"), image);
        return TRUE;
    }
    rg_tensor *mean = NULL, *logvar = NULL;
    if (!rg_vae_encode(v, ctx, x, &mean, &logvar, error))
        return FALSE;
    outputs_add(out, g_strdup("mean"), mean);
    outputs_add(out, g_strdup("logvar"), logvar);
    return TRUE;
}

/* ---- text ------------------------------------------------------------------ */

static gboolean probe_text(const probe_args *a, rg_ctx *ctx, rg_model *m, outputs *out, GError **error)
{
    g_autofree char *dir = a->tokenizer ? g_strdup(a->tokenizer) : rg_model_tokenizer_dir(m);
    if (!dir) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s has no tokenizer (no tokenizer/ folder with vocab.json and "
                    "merges.txt); give one with --tokenizer DIR", a->model);
        return FALSE;
    }
    g_autoptr(rg_tokenizer) tok = rg_tokenizer_new_from_dir(dir, error);
    if (!tok)
        return FALSE;
    const int64_t ids_shape[2] = {1, RG_TOKENIZER_CONTEXT_LENGTH};
    g_autoptr(rg_tensor) ids = rg_tensor_new(RG_DTYPE_I64, 2, ids_shape, error);
    if (!ids || !rg_tokenizer_encode(tok, a->prompt, RG_TOKENIZER_CONTEXT_LENGTH, rg_tensor_data_i64(ids), NULL,
                                     error))
        return FALSE;

    g_autoptr(rg_clip_text) enc = rg_model_load_text_encoder(m, error);
    if (!enc)
        return FALSE;
    rg_tensor *hidden = rg_clip_text_forward(enc, ctx, ids, error);
    if (!hidden) {
        g_prefix_error(error, "tokenizer %s and text encoder of %s do not fit: ", dir, a->model);
        return FALSE;
    }
    outputs_add(out, g_strdup("input_ids"), g_steal_pointer(&ids));
    outputs_add(out, g_strdup("last_hidden_state"), hidden);
    return TRUE;
}

/* ---- command line ---------------------------------------------------------- */

static int usage_error(const char *what, const char *message)
{
    g_printerr("readout probe%s%s: %s\nUsage: readout probe unet|vae-encode|vae-decode --model PATH --inputs "
               "IN.safetensors --outputs OUT.safetensors\n       readout probe text --model PATH --prompt TEXT "
               "--outputs OUT.safetensors\n",
               what ? " " : "", what ? what : "", message);
    return 2;
}

int rg_cli_probe(int argc, char **argv)
{
    g_autofree char *model = NULL, *inputs = NULL, *outputs_path = NULL, *prompt = NULL, *device = NULL;
    g_autofree char *tokenizer = NULL;
    int threads = 0;
    if (argc >= 2 && !strcmp(argv[1], "head")) /* its own options: core/cli/head.c */
        return rg_cli_probe_head(argc - 1, argv + 1);
    GOptionEntry entries[] = {
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
         "Diffusers model folder or single .safetensors checkpoint (default: the shipped demo model)", "PATH"},
        {"inputs", 'i', 0, G_OPTION_ARG_FILENAME, &inputs, "Input tensors (unet, vae-encode, vae-decode)",
         "IN.safetensors"},
        {"outputs", 'o', 0, G_OPTION_ARG_FILENAME, &outputs_path, "Where the outputs go", "OUT.safetensors"},
        {"prompt", 'p', 0, G_OPTION_ARG_STRING, &prompt, "The prompt (text)", "TEXT"},
        {"tokenizer", 0, 0, G_OPTION_ARG_FILENAME, &tokenizer,
         "Folder with vocab.json and merges.txt (text; default: the model's tokenizer/)", "DIR"},
        {"device", 'd', 0, G_OPTION_ARG_STRING, &device, "cpu (default) or cuda", "DEVICE"},
        {"threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (default: one per core)", "N"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) oc =
        g_option_context_new("WHAT - run one model component on given tensors and save what it computes");
    g_option_context_set_summary(
        oc, "WHAT is one of:\n"
            "  unet        IN: sample F32 (B,4,H,W), timestep F32 or I64 (B), encoder_hidden_states F32 (B,77,768),\n"
            "              optionally cotangent.eps and cotangent.features.K.\n"
            "              OUT: eps, features.0 ... features.11 and, given cotangents, grad.sample\n"
            "              (their vector-Jacobian product with respect to sample, weights frozen).\n"
            "  vae-encode  IN: image F32 (B,3,H,W) in [-1,1]; OUT: mean, logvar (B,4,H/8,W/8)\n"
            "  vae-decode  IN: latent F32 (B,4,h,w), unscaled; OUT: image (B,3,8h,8w)\n"
            "  text        --prompt TEXT; OUT: input_ids I64 (1,77), last_hidden_state F32 (1,77,768)\n"
            "  head        readout head: `readout probe head --head PATH --inputs IN --outputs OUT`\n"
            "              (IN: features.0 ... features.{L-1}, optionally emb; OUT: readout)\n"
            "Shapes are SD1.5's; a model folder's config.json sets its own.");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(oc, &argc, &argv, &error))
        return usage_error(NULL, error->message);
    if (argc != 2)
        return usage_error(NULL, argc < 2 ? "say what to probe: unet, vae-encode, vae-decode or text"
                                          : "too many arguments");
    probe_args a = {argv[1], model, inputs, outputs_path, prompt, tokenizer};
    const gboolean text = !strcmp(a.what, "text");
    if (!text && strcmp(a.what, "unet") && strcmp(a.what, "vae-encode") && strcmp(a.what, "vae-decode")) {
        g_autofree char *m = g_strdup_printf("unknown component \"%s\" (unet, vae-encode, vae-decode, text, head)", a.what);
        return usage_error(NULL, m);
    }
    if (!outputs_path)
        return usage_error(a.what, "--outputs OUT.safetensors is required");
    if (text && (!prompt || inputs))
        return usage_error(a.what, !prompt ? "--prompt TEXT is required" : "takes --prompt, not --inputs");
    if (!text && (!inputs || prompt || tokenizer))
        return usage_error(a.what, !inputs ? "--inputs IN.safetensors is required"
                                           : "--prompt and --tokenizer are for `readout probe text`");
    if (threads < 0)
        return usage_error(a.what, "--threads must be positive");
    gboolean cuda = device && !strcmp(device, "cuda");
    if (device && !cuda && strcmp(device, "cpu")) {
        g_autofree char *m = g_strdup_printf("unknown device \"%s\" (cpu or cuda)", device);
        return usage_error(a.what, m);
    }
    g_autofree char *out_dir = g_path_get_dirname(outputs_path);
    if (!g_file_test(out_dir, G_FILE_TEST_IS_DIR)) {
        /* found out now, not after minutes of work */
        g_printerr("readout probe %s: cannot write %s: there is no folder %s\n", a.what, outputs_path, out_dir);
        return 1;
    }
    if (threads > 0)
        rg_set_num_threads(threads);

    rg_backend *backend = NULL;
    if (cuda && !(backend = rg_backend_cuda_new(0, &error))) {
        g_printerr("readout probe %s: --device cuda: %s\n", a.what, error->message);
        return 1;
    }
    g_autofree char *model_path = rg_resolve_model_path(model, &error);
    a.model = model_path;
    g_autoptr(rg_ctx) ctx = model_path ? rg_ctx_new(backend, &error) : NULL;
    g_autoptr(rg_model) m = ctx ? rg_model_open(model_path, &error) : NULL;
    if (!m) {
        g_printerr("readout probe %s: %s\n", a.what, error->message);
        return 1;
    }
    outputs out;
    outputs_init(&out);
    gboolean ok;
    if (text)
        ok = probe_text(&a, ctx, m, &out, &error);
    else if (!strcmp(a.what, "unet"))
        ok = probe_unet(&a, ctx, m, &out, &error);
    else
        ok = probe_vae(&a, ctx, m, !strcmp(a.what, "vae-encode"), &out, &error);
    ok = ok && outputs_save(&out, &a, &error);
    outputs_clear(&out);
    if (!ok) {
        g_printerr("readout probe %s: %s\n", a.what, error->message);
        return 1;
    }
    return 0;
}
