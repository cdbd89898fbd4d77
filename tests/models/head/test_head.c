/* test_head.c — the readout heads (core/models/head/) against the float64
 * PyTorch reference of tests/reference/head.py, which writes the official
 * AggregationNetwork's outputs and gradients (golden/head.safetensors) and
 * .pt fixtures in the official structure (golden/heads/):
 *   - parity of rg_head_forward() and its gradients (features, emb, and the
 *     weights once made trainable) read from the .pt files, with and without
 *     checkpointing, for a spatial head, a relative head (emb broadcast,
 *     truncated, absent) and a DHF-style head (emb not used);
 *   - .pt -> safetensors -> the same config and bit-identical outputs;
 *   - rg_head_check_unet() against the "small" UNet of tests/reference/unet.py;
 *   - finite differences on tiny random heads; thread invariance;
 *   - SD1.5-sized heads: 8,005,260 / 8,484,751 parameters, the initialisation;
 *   - bad inputs to rg_head_forward() and bad configs.
 * Reading files strictly, and roles: test_head_files.c.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "models/head/head_internal.h"
#include "rg_test.h"

static char *tmp;

static char *fixture(const char *name)
{
    return g_build_filename(RG_HEAD_DIR, name, NULL);
}

static rg_head *open_fixture(const char *name)
{
    g_autofree char *path = fixture(name);
    GError *error = NULL;
    rg_head *h = rg_head_open(path, &error);
    rg_assert_no_error(error);
    return h;
}

static gboolean report(gboolean good, const char *what)
{
    g_print("%s %s\n", good ? "OK" : "NOT OK", what);
    return good;
}

/* ---- parity ------------------------------------------------------------------ */

typedef struct {
    rg_tensor *features[RG_HEAD_MAX_LAYERS];
    rg_tensor *emb; /* or NULL */
    int64_t out_h, out_w;
    int n;
} case_inputs;

static void load_inputs(rg_safetensors *g, const char *c, int n, case_inputs *in)
{
    memset(in, 0, sizeof *in);
    in->n = n;
    for (int l = 0; l < n; l++) {
        g_autofree char *k = g_strdup_printf("features.%d", l);
        in->features[l] = rg_test_load(g, c, k);
    }
    g_autofree char *ek = g_strdup_printf("%s.emb", c);
    if (rg_safetensors_contains(g, ek))
        in->emb = rg_test_load(g, c, "emb");
    g_autoptr(rg_tensor) size = rg_test_load(g, c, "size");
    in->out_h = (int64_t)rg_tensor_get_flat(size, 0);
    in->out_w = (int64_t)rg_tensor_get_flat(size, 1);
}

static void clear_inputs(case_inputs *in)
{
    for (int l = 0; l < in->n; l++)
        g_clear_pointer(&in->features[l], rg_tensor_unref);
    g_clear_pointer(&in->emb, rg_tensor_unref);
}

/* Forward (taped when @grads) and backward with the case's dout; checks out,
 * grad.features.*, grad.emb and grad.<name> of the trainable weights. */
static gboolean parity(rg_safetensors *g, const char *c, rg_head *h, gboolean checkpointing, gboolean grads,
                       const char *const *trainable)
{
    GError *error = NULL;
    const rg_head_config *cfg = rg_head_get_config(h);
    case_inputs in;
    load_inputs(g, c, cfg->n_layers, &in);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = grads ? rg_tape_new() : NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) params = g_ptr_array_new();
    rg_head_parameters(h, names, params);
    rg_head_set_checkpointing(h, checkpointing);
    if (grads) {
        for (int l = 0; l < in.n; l++)
            rg_tensor_set_requires_grad(in.features[l], TRUE);
        if (in.emb)
            rg_tensor_set_requires_grad(in.emb, TRUE);
        for (guint i = 0; trainable && i < names->len; i++)
            if (g_strv_contains(trainable, g_ptr_array_index(names, i)))
                rg_tensor_set_requires_grad(g_ptr_array_index(params, i), TRUE);
        rg_ctx_set_tape(ctx, tape);
    }
    g_autoptr(rg_tensor) out = rg_head_forward(h, ctx, in.features, in.emb, in.out_h, in.out_w, &error);
    rg_ctx_set_tape(ctx, NULL);
    rg_assert_no_error(error);
    const char *mode = !grads ? "no tape" : checkpointing ? "checkpointed" : "plain";
    g_autofree char *label = g_strdup_printf("%s (%s) out", c, mode);
    g_autoptr(rg_tensor) ref = rg_test_load(g, c, "out");
    /* float32 against float64: convs over up to ~1k inputs, GroupNorm, softmax */
    gboolean ok = rg_check_tensor(label, out, ref, 2e-5, 1e-4);
    if (grads) {
        g_autoptr(rg_tensor) dout = rg_test_load(g, c, "dout");
        ok &= rg_tape_backward_with(ctx, tape, 1, &out, &dout, &error);
        rg_assert_no_error(error);
        for (int l = 0; l <= in.n; l++) {
            rg_tensor *x = l < in.n ? in.features[l] : in.emb;
            if (!x)
                continue;
            g_autofree char *what = l < in.n ? g_strdup_printf("grad.features.%d", l) : g_strdup("grad.emb");
            g_autofree char *gl = g_strdup_printf("%s (%s) %s", c, mode, what);
            g_autoptr(rg_tensor) gref = rg_test_load(g, c, what);
            rg_tensor *got = rg_tensor_get_grad(x);
            if (!got && cfg->bottleneck_sequential && l == in.n) {
                /* no gradient at all for an emb the blocks do not take: the reference's is zero */
                double m = 0;
                for (int64_t k = 0; k < rg_tensor_numel(gref); k++)
                    m = MAX(m, fabs(rg_tensor_get_flat(gref, k)));
                ok &= report(m == 0, gl);
                continue;
            }
            ok &= rg_check_tensor(gl, got, gref, 2e-5, 2e-4);
        }
        for (guint i = 0; trainable && i < names->len; i++) {
            const char *name = g_ptr_array_index(names, i);
            rg_tensor *p = g_ptr_array_index(params, i);
            if (!g_strv_contains(trainable, name))
                continue;
            g_autofree char *what = g_strdup_printf("grad.%s", name);
            g_autofree char *gl = g_strdup_printf("%s (%s) %s", c, mode, what);
            g_autoptr(rg_tensor) gref = rg_test_load(g, c, what);
            ok &= rg_check_tensor(gl, rg_tensor_get_grad(p), gref, 2e-5, 2e-4);
            rg_tensor_zero_grad(p);
            rg_tensor_set_requires_grad(p, FALSE);
        }
        /* the other weights stay frozen */
        gboolean frozen = TRUE;
        for (guint i = 0; i < params->len; i++)
            frozen &= rg_tensor_get_grad(g_ptr_array_index(params, i)) == NULL;
        g_autofree char *fl = g_strdup_printf("%s (%s): no gradient left on the weights", c, mode);
        ok &= report(frozen, fl);
    }
    clear_inputs(&in);
    rg_head_set_checkpointing(h, TRUE);
    return ok;
}

static const char *const spatial_trainable[] = {"mixing_weights", "bottleneck_layers.0.conv1.weight",
                                                "bottleneck_layers.3.emb_layers.weight", "output_head.0.weight",
                                                NULL};

static gboolean parity_all(rg_safetensors *g)
{
    const char *cases[] = {"spatial_emb", "spatial_noemb", "relative_emb1", "relative_trunc", "relative_noemb",
                           "dhf_emb"};
    gboolean ok = TRUE;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *key = g_strdup_printf("%s.head", cases[i]);
        g_autoptr(rg_head) h = open_fixture(rg_safetensors_metadata(g, key));
        const char *const *trainable = i == 0 ? spatial_trainable : NULL;
        ok &= parity(g, cases[i], h, FALSE, FALSE, NULL);
        ok &= parity(g, cases[i], h, TRUE, TRUE, trainable);
        ok &= parity(g, cases[i], h, FALSE, TRUE, trainable);
    }
    return ok;
}

/* ---- round trip ------------------------------------------------------------ */

static gboolean same_config(const rg_head_config *a, const rg_head_config *b)
{
    gboolean same = a->n_layers == b->n_layers && a->projection_dim == b->projection_dim &&
                    a->emb_dim == b->emb_dim && a->norm_groups == b->norm_groups &&
                    a->use_output_head == b->use_output_head && a->output_channels == b->output_channels &&
                    a->output_act == b->output_act && a->control_range[0] == b->control_range[0] &&
                    a->control_range[1] == b->control_range[1] && a->sparse_loss == b->sparse_loss &&
                    !strcmp(a->base_model, b->base_model) && !strcmp(a->role, b->role) &&
                    a->bottleneck_sequential == b->bottleneck_sequential;
    for (int l = 0; same && l < a->n_layers; l++)
        same = a->dims[l] == b->dims[l];
    return same;
}

static gboolean round_trip(rg_safetensors *g, const char *pt, const char *c)
{
    GError *error = NULL;
    g_autoptr(rg_head) a = open_fixture(pt);
    g_autofree char *path = g_build_filename(tmp, "converted.safetensors", NULL);
    gboolean ok = rg_head_save(a, path, &error);
    rg_assert_no_error(error);
    g_autoptr(rg_head) b = rg_head_open(path, &error);
    rg_assert_no_error(error);
    g_autofree char *what = g_strdup_printf("%s -> safetensors: the same config", pt);
    ok &= report(same_config(rg_head_get_config(a), rg_head_get_config(b)), what);
    /* the official config travels along */
    g_autoptr(rg_safetensors) st = rg_safetensors_open(path, &error);
    const char *official = rg_safetensors_metadata(st, "readout.official_config");
    g_autofree char *ow = g_strdup_printf("%s -> safetensors: readout.official_config kept", pt);
    ok &= report(official && strstr(official, "\"dims\"") && strstr(official, "\"aggregation_kwargs\""), ow);

    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    case_inputs in;
    load_inputs(g, c, rg_head_get_config(a)->n_layers, &in);
    g_autoptr(rg_tensor) ya = rg_head_forward(a, ctx, in.features, in.emb, in.out_h, in.out_w, &error);
    g_autoptr(rg_tensor) yb = rg_head_forward(b, ctx, in.features, in.emb, in.out_h, in.out_w, &error);
    rg_assert_no_error(error);
    g_autofree char *label = g_strdup_printf("%s -> safetensors: identical output", pt);
    ok &= rg_check_tensor(label, yb, ya, 0, 0);
    clear_inputs(&in);
    /* and again: safetensors -> safetensors keeps everything */
    g_autofree char *path2 = g_build_filename(tmp, "again.safetensors", NULL);
    ok &= rg_head_save(b, path2, &error);
    g_autoptr(rg_head) c2 = rg_head_open(path2, &error);
    rg_assert_no_error(error);
    g_autofree char *w2 = g_strdup_printf("%s -> safetensors -> safetensors: the same config", pt);
    ok &= report(same_config(rg_head_get_config(a), rg_head_get_config(c2)), w2);
    g_unlink(path);
    g_unlink(path2);
    return ok;
}

/* ---- the UNet a head reads ----------------------------------------------------- */

static gboolean expect_error(const char *what, gboolean result, GError *error, int code, const char *needle)
{
    gboolean ok = !result && error && error->code == code && (!needle || strstr(error->message, needle));
    g_print("%s %s: %s\n", ok ? "OK" : "NOT OK", what, error ? error->message : "(no error)");
    if (error)
        g_error_free(error);
    return ok;
}

static gboolean check_unet(void)
{
    GError *error = NULL;
    g_autoptr(rg_safetensors) golden = rg_safetensors_open(RG_UNET_GOLDEN, &error);
    rg_assert_no_error(error);
    g_autofree char *cfg_path = g_build_filename(tmp, "unet_config.json", NULL);
    g_file_set_contents(cfg_path, rg_safetensors_metadata(golden, "small.config"), -1, NULL);
    rg_unet_config uc;
    g_assert_true(rg_unet_config_load(&uc, cfg_path, &error));
    g_autoptr(rg_weights) w = rg_weights_open_safetensors(RG_UNET_GOLDEN, "small.weights.", &error);
    rg_assert_no_error(error);
    g_autoptr(rg_unet) u = rg_unet_new(&uc, w, &error);
    rg_assert_no_error(error);
    g_unlink(cfg_path);

    g_autoptr(rg_head) sp = open_fixture("readout_tiny_spatial_pose.pt");
    gboolean ok = report(rg_head_check_unet(sp, u, &error), "the spatial fixture fits the small UNet");
    rg_assert_no_error(error);
    g_autoptr(rg_head) rel = open_fixture("readout_tiny_drag_appearance.pt");
    gboolean r = rg_head_check_unet(rel, u, &error);
    ok &= expect_error("a 3-layer head on a 4-feature UNet", r, error,
                       RG_ERROR_UNSUPPORTED,
                       "head readout_tiny_drag_appearance.pt was made for tests/tiny-appearance-base (3 features), "
                       "the model has 4 decoder features");
    error = NULL;
    rg_head_config c = *rg_head_get_config(sp);
    c.dims[3] = 8;
    g_autoptr(rg_head) ch = rg_head_new_random(&c, 1, &error);
    rg_assert_no_error(error);
    r = rg_head_check_unet(ch, u, &error);
    ok &= expect_error("channels differ", r, error, RG_ERROR_UNSUPPORTED,
                       "feature 3 has 8 channels, the model's has 16");
    error = NULL;
    c = *rg_head_get_config(sp);
    c.emb_dim = 1280;
    g_autoptr(rg_head) em = rg_head_new_random(&c, 1, &error);
    r = rg_head_check_unet(em, u, &error);
    ok &= expect_error("time embedding differs", r, error, RG_ERROR_UNSUPPORTED,
                       "time embedding of width 1280, the model's is 64");
    error = NULL;
    c.bottleneck_sequential = TRUE; /* takes no emb: its width does not matter */
    g_autoptr(rg_head) seq = rg_head_new_random(&c, 1, &error);
    ok &= report(rg_head_check_unet(seq, u, &error), "a DHF-style head ignores the embedding width");
    rg_assert_no_error(error);
    return ok;
}

/* ---- finite differences, threads ----------------------------------------------- */

typedef struct {
    rg_head *h;
    int n;
    gboolean emb;
    int64_t out_h, out_w;
} fd_case;

static rg_tensor *f_head(rg_ctx *ctx, rg_tensor *const *inputs, gpointer user_data, GError **error)
{
    const fd_case *f = user_data;
    return rg_head_forward(f->h, ctx, inputs, f->emb ? inputs[f->n] : NULL, f->out_h, f->out_w, error);
}

static gboolean gradcheck(void)
{
    GError *error = NULL;
    gboolean ok = TRUE;
    for (int spatial = 0; spatial < 2; spatial++) {
        rg_head_config c = {.n_layers = 3, .dims = {8, 16, 6}, .projection_dim = 16, .emb_dim = 5,
                            .norm_groups = 4, .use_output_head = spatial, .output_channels = 2, .output_act = TRUE};
        g_autoptr(rg_head) h = rg_head_new_random(&c, 7 + spatial, &error);
        rg_assert_no_error(error);
        g_autoptr(rg_tensor) f0 = rg_test_random(1, 4, (int64_t[]){2, 8, 2, 3}, -1, 1);
        g_autoptr(rg_tensor) f1 = rg_test_random(2, 4, (int64_t[]){2, 16, 4, 5}, -1, 1);
        g_autoptr(rg_tensor) f2 = rg_test_random(3, 4, (int64_t[]){2, 6, 5, 4}, -1, 1);
        g_autoptr(rg_tensor) e = rg_test_random(4, 2, (int64_t[]){1, 5}, -1, 1);
        rg_tensor *in[4] = {f0, f1, f2, e};
        const gboolean check[4] = {TRUE, TRUE, TRUE, TRUE};
        fd_case f = {h, 3, TRUE, 4, 4};
        /* f32 through ~8 layers with GroupNorm and many ReLUs: central
         * differences small enough to cross few kinks */
        ok &= rg_gradcheck(spatial ? "spatial head wrt features, emb" : "relative head wrt features, emb", f_head, &f,
                           in, 4, check, 3e-4, 3e-3, 3e-2, 16);
        ok &= rg_check_thread_invariance(spatial ? "spatial head" : "relative head", f_head, &f, in, 4, check);
    }
    return ok;
}

/* ---- SD1.5 sizes, initialisation ------------------------------------------------ */

static void sd15_config(rg_head_config *c, gboolean spatial)
{
    static const int dims[12] = {1280, 1280, 1280, 1280, 1280, 1280, 640, 640, 640, 320, 320, 320};
    memset(c, 0, sizeof *c);
    c->n_layers = 12;
    memcpy(c->dims, dims, sizeof dims);
    c->projection_dim = 384;
    c->emb_dim = 1280;
    c->norm_groups = 32;
    c->use_output_head = spatial;
    c->output_channels = 3;
    c->output_act = TRUE;
}

/* mean and standard deviation of @t's elements */
static void stats(rg_tensor *t, double *mean, double *std)
{
    double s = 0, s2 = 0;
    const int64_t n = rg_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double v = rg_tensor_get_flat(t, i);
        s += v;
        s2 += v * v;
    }
    *mean = s / (double)n;
    *std = sqrt(MAX(s2 / (double)n - *mean * *mean, 0));
}

static gboolean sd15(void)
{
    GError *error = NULL;
    gboolean ok = TRUE;
    const int64_t want[2] = {8005260, 8484751};
    for (int spatial = 0; spatial < 2; spatial++) {
        rg_head_config c;
        sd15_config(&c, spatial);
        g_autoptr(rg_head) h = rg_head_new_random(&c, 42, &error);
        rg_assert_no_error(error);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) tensors = g_ptr_array_new();
        rg_head_parameters(h, names, tensors);
        int64_t n = 0;
        for (guint i = 0; i < tensors->len; i++)
            n += rg_tensor_numel(g_ptr_array_index(tensors, i));
        g_autofree char *what = g_strdup_printf("SD1.5 %s head: %" G_GINT64_FORMAT " parameters (want %" G_GINT64_FORMAT
                                                "), %u tensors", spatial ? "spatial" : "relative", (gint64)n,
                                                (gint64)want[spatial], names->len);
        ok &= report(n == want[spatial] && n == head_n_parameters(h) &&
                         names->len == 1 + 12 * 14 + (spatial ? 6u : 0u), what);
        if (spatial)
            continue;
        /* the official initialisation */
        for (guint i = 0; i < names->len; i++) {
            const char *name = g_ptr_array_index(names, i);
            rg_tensor *t = g_ptr_array_index(tensors, i);
            double mean, std, want_std = -1, want_mean = 0;
            stats(t, &mean, &std);
            if (!strcmp(name, "mixing_weights") || g_str_has_suffix(name, "norm.weight"))
                want_std = 0, want_mean = 1;
            else if (g_str_has_suffix(name, "norm.bias"))
                want_std = 0;
            else if (!strcmp(name, "bottleneck_layers.0.conv2.weight"))
                want_std = sqrt(2.0 / (96 * 9)); /* msra, fan_out */
            else if (!strcmp(name, "bottleneck_layers.0.shortcut.weight"))
                want_std = sqrt(2.0 / 384);
            else if (!strcmp(name, "bottleneck_layers.0.emb_layers.weight"))
                want_std = 1.0 / sqrt(1280) / sqrt(3.0); /* U(+-1/sqrt(fan_in)) */
            if (want_std < 0)
                continue;
            gboolean good = fabs(mean - want_mean) < 0.01 * MAX(want_std, 0.1) + 1e-3 &&
                            fabs(std - want_std) <= 0.03 * want_std + 1e-7;
            if (!good)
                g_print("NOT OK init of %s: mean %g std %g, want %g %g\n", name, mean, std, want_mean, want_std);
            ok &= good;
        }
        report(ok, "SD1.5 relative head: official initialisation statistics");
        g_autofree char *path = g_build_filename(tmp, "sd15.safetensors", NULL);
        g_assert_true(rg_head_save(h, path, &error));
        g_autoptr(rg_head) back = rg_head_open(path, &error);
        rg_assert_no_error(error);
        ok &= report(same_config(rg_head_get_config(h), rg_head_get_config(back)), "SD1.5 head: save and open");
        g_unlink(path);
    }
    /* the same seed, the same weights */
    rg_head_config c;
    sd15_config(&c, FALSE);
    c.n_layers = 2;
    g_autoptr(rg_head) a = rg_head_new_random(&c, 5, &error);
    g_autoptr(rg_head) b = rg_head_new_random(&c, 5, &error);
    g_autoptr(GPtrArray) na = g_ptr_array_new_with_free_func(g_free), ta = g_ptr_array_new();
    g_autoptr(GPtrArray) nb = g_ptr_array_new_with_free_func(g_free), tb = g_ptr_array_new();
    rg_head_parameters(a, na, ta);
    rg_head_parameters(b, nb, tb);
    ok &= rg_check_tensor("seeded init is deterministic", g_ptr_array_index(tb, 3), g_ptr_array_index(ta, 3), 0, 0);
    return ok;
}

/* ---- bad inputs ------------------------------------------------------------------ */

static gboolean bad_inputs(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_head) h = open_fixture("readout_tiny_spatial_pose.pt"); /* dims 32, 32, 16, 16; emb 64 */
    g_autoptr(rg_tensor) a = rg_test_random(1, 4, (int64_t[]){2, 32, 4, 4}, -1, 1);
    g_autoptr(rg_tensor) b = rg_test_random(2, 4, (int64_t[]){2, 16, 8, 8}, -1, 1);
    g_autoptr(rg_tensor) b1 = rg_test_random(3, 4, (int64_t[]){1, 16, 8, 8}, -1, 1);
    g_autoptr(rg_tensor) wrong = rg_test_random(4, 4, (int64_t[]){2, 15, 8, 8}, -1, 1);
    g_autoptr(rg_tensor) flat = rg_test_random(5, 3, (int64_t[]){2, 16, 8}, -1, 1);
    g_autoptr(rg_tensor) emb = rg_test_random(6, 2, (int64_t[]){2, 63}, -1, 1);
    gboolean ok = TRUE;
    RG_EXPECT_ERROR_FULL(ok, "wrong channels", rg_head_forward(h, ctx, (rg_tensor *[]){a, a, wrong, b}, NULL, 8, 8,
                                                              &err_), RG_ERROR_SHAPE, "head", "features[2]");
    RG_EXPECT_ERROR_FULL(ok, "batch mismatch", rg_head_forward(h, ctx, (rg_tensor *[]){a, a, b, b1}, NULL, 8, 8,
                                                              &err_), RG_ERROR_SHAPE, "head", "(2,16,h,w)");
    RG_EXPECT_ERROR_FULL(ok, "3-D feature", rg_head_forward(h, ctx, (rg_tensor *[]){a, a, flat, b}, NULL, 8, 8,
                                                           &err_), RG_ERROR_SHAPE, "head", "features[2]");
    RG_EXPECT_ERROR_FULL(ok, "missing feature", rg_head_forward(h, ctx, (rg_tensor *[]){a, a, b, NULL}, NULL, 8, 8,
                                                               &err_), RG_ERROR_ARGUMENT, "head", "features[3]");
    RG_EXPECT_ERROR_FULL(ok, "emb width", rg_head_forward(h, ctx, (rg_tensor *[]){a, a, b, b}, emb, 8, 8, &err_),
                         RG_ERROR_SHAPE, "head", "(2,64) or (1,64)");
    RG_EXPECT_ERROR_FULL(ok, "output size", rg_head_forward(h, ctx, (rg_tensor *[]){a, a, b, b}, NULL, 0, 8, &err_),
                         RG_ERROR_ARGUMENT, "head", "0x8");
    rg_head_config c = *rg_head_get_config(h);
    c.norm_groups = 3;
    RG_EXPECT_ERROR_FULL(ok, "groups", rg_head_new_random(&c, 1, &err_), RG_ERROR_ARGUMENT, NULL, "num_norm_groups 3");
    c = *rg_head_get_config(h);
    c.n_layers = 0;
    RG_EXPECT_ERROR_FULL(ok, "no layers", rg_head_new_random(&c, 1, &err_), RG_ERROR_ARGUMENT, NULL, "0 layers");
    c = *rg_head_get_config(h);
    g_strlcpy(c.role, "segmentation", sizeof c.role);
    RG_EXPECT_ERROR_FULL(ok, "role", rg_head_new_random(&c, 1, &err_), RG_ERROR_ARGUMENT, NULL, "segmentation");
    /* and one that works: a spatial readout at 8x8 */
    g_autoptr(rg_tensor) y = rg_head_forward(h, ctx, (rg_tensor *[]){a, a, b, b}, NULL, 8, 8, &error);
    rg_assert_no_error(error);
    const int64_t *s = rg_tensor_shape(y);
    ok &= report(s[0] == 2 && s[1] == 3 && s[2] == 8 && s[3] == 8, "spatial readout is (2,3,8,8)");
    return ok;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    GError *error = NULL;
    tmp = g_dir_make_tmp("test-head-XXXXXX", &error);
    rg_assert_no_error(error);
    g_autoptr(rg_safetensors) g = rg_test_golden("head");
    gboolean ok = parity_all(g);
    ok &= round_trip(g, "readout_tiny_spatial_pose.pt", "spatial_emb");
    ok &= round_trip(g, "readout_tiny_drag_appearance.pt", "relative_emb1");
    ok &= round_trip(g, "dhf_correspondence.pt", "dhf_emb");
    ok &= check_unet();
    ok &= gradcheck();
    ok &= sd15();
    ok &= bad_inputs();
    g_rmdir(tmp);
    g_free(tmp);
    ok &= rg_test_failures == 0;
    g_print("%s\n", ok ? "ALL OK" : "FAILED");
    return ok ? 0 : 1;
}
