/* test_unet.c — the UNet (core/models/unet/) against the float64 PyTorch
 * reference of tests/reference/unet.py on two small configs:
 *   "small": SD1.5's structure, narrow (attention at level 0 only, a
 *            conv_shortcut resnet, a downsampler and an upsampler, 1x1-conv
 *            projections), 16x16 latent, batch 2;
 *   "lin":   linear projections, per-level heads and resnet counts, two
 *            transformer blocks at level 0, one timestep for the batch.
 * Checks eps, every feature, grad.sample and grad.encoder_hidden_states for
 * cotangents on eps and on features; checkpointed against plain backward;
 * finite differences; the config reader; errors for bad weights and inputs.
 */
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/unet/unet_internal.h"
#include "rg_test.h"

typedef struct {
    const char *name;
    rg_unet_config config;
    rg_unet *u;
    int n_weights; /* tensors stored for this case */
} model;

/* ---- loading ------------------------------------------------------------- */

/* Writes @text to a temporary file and reads it as a unet config. */
static gboolean config_from_string(const char *text, rg_unet_config *c, GError **error)
{
    GError *e = NULL;
    char *path = NULL;
    int fd = g_file_open_tmp("unet-config-XXXXXX.json", &path, &e);
    g_assert_no_error(e);
    close(fd);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    gboolean ok = rg_unet_config_load(c, path, error);
    g_unlink(path);
    g_free(path);
    return ok;
}

static void count_weight(const char *name, int ndim, const int64_t *shape, gpointer user_data)
{
    (void)name;
    (void)ndim;
    (void)shape;
    (*(int *)user_data)++;
}

static gboolean load_model(rg_safetensors *golden, model *m)
{
    GError *error = NULL;
    g_autofree char *key = g_strdup_printf("%s.config", m->name);
    const char *json = rg_safetensors_metadata(golden, key);
    g_assert_nonnull(json);
    g_assert_true(config_from_string(json, &m->config, &error));
    rg_assert_no_error(error);
    g_autofree char *prefix = g_strdup_printf("%s.weights.", m->name);
    g_autoptr(rg_weights) w = rg_weights_open_safetensors(RG_UNET_GOLDEN, prefix, &error);
    rg_assert_no_error(error);
    g_autoptr(GPtrArray) names = rg_weights_names(w);
    m->n_weights = (int)names->len;
    m->u = rg_unet_new(&m->config, w, &error);
    rg_assert_no_error(error);
    /* every tensor of the reference's state_dict is used, and no other */
    int needed = 0;
    g_assert_true(rg_unet_required_tensors(&m->config, count_weight, &needed, &error));
    gboolean ok = needed == m->n_weights;
    g_print("%s %s: %d tensors needed, the reference has %d\n", ok ? "OK" : "NOT OK", m->name, needed,
            m->n_weights);
    g_autofree char *nk = g_strdup_printf("%s.n_features", m->name);
    int nf = atoi(rg_safetensors_metadata(golden, nk));
    ok &= rg_unet_n_features(m->u) == nf;
    return ok;
}

static rg_tensor *load(rg_safetensors *golden, const model *m, const char *what)
{
    return rg_test_load(golden, m->name, what);
}

/* ---- forward parity ------------------------------------------------------ */

/* Compares the features with the reference and checks their advertised
 * channels and size for a sample of height @h. */
static gboolean check_features(const char *label, rg_safetensors *golden, const model *m, rg_tensor **feats,
                               int64_t h, double atol, double rtol)
{
    gboolean ok = TRUE;
    for (int k = 0; k < rg_unet_n_features(m->u); k++) {
        g_autofree char *what = g_strdup_printf("features.%d", k);
        g_autofree char *l = g_strdup_printf("%s %s %s", m->name, label, what);
        g_autoptr(rg_tensor) ref = load(golden, m, what);
        ok &= rg_check_tensor(l, feats[k], ref, atol, rtol);
        const int64_t *s = rg_tensor_shape(feats[k]);
        if (s[1] != rg_unet_feature_channels(m->u, k) || s[2] * rg_unet_feature_factor(m->u, k) != h) {
            g_print("NOT OK %s: channels %d and factor %d do not describe it\n", l,
                    rg_unet_feature_channels(m->u, k), rg_unet_feature_factor(m->u, k));
            ok = FALSE;
        }
    }
    return ok;
}

/* The forward tolerance: f32 against f64 through ~20 layers, values O(1)
 * (seen: up to 1e-5). */
#define FWD_ATOL 5e-5
#define FWD_RTOL 1e-4

static gboolean forward_parity(rg_safetensors *golden, model *m)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tensor) x = load(golden, m, "sample");
    g_autoptr(rg_tensor) t = load(golden, m, "timestep");
    g_autoptr(rg_tensor) c = load(golden, m, "encoder_hidden_states");
    g_autoptr(rg_tensor) eps_ref = load(golden, m, "eps");
    int nf = rg_unet_n_features(m->u);
    g_autofree rg_tensor **feats = g_new0(rg_tensor *, nf);
    g_autofree rg_tensor **only = g_new0(rg_tensor *, nf);
    rg_tensor *eps = NULL;
    g_assert_true(rg_unet_forward(m->u, ctx, x, t, c, &eps, feats, &error));
    rg_assert_no_error(error);
    g_autofree char *l = g_strdup_printf("%s eps", m->name);
    gboolean ok = rg_check_tensor(l, eps, eps_ref, FWD_ATOL, FWD_RTOL);
    ok &= check_features("forward", golden, m, feats, rg_tensor_shape(x)[2], FWD_ATOL, FWD_RTOL);
    /* features alone (the layers after the last decoder resnet skipped): the same bits */
    g_assert_true(rg_unet_forward(m->u, ctx, x, t, c, NULL, only, &error));
    for (int k = 0; k < nf; k++) {
        g_autofree char *lk = g_strdup_printf("%s features-only features.%d", m->name, k);
        ok &= rg_check_tensor(lk, only[k], feats[k], 0, 0);
        rg_tensor_unref(only[k]);
        rg_tensor_unref(feats[k]);
    }
    /* eps alone */
    rg_tensor *eps2 = NULL;
    g_assert_true(rg_unet_forward(m->u, ctx, x, t, c, &eps2, NULL, &error));
    g_autofree char *l2 = g_strdup_printf("%s eps without features", m->name);
    ok &= rg_check_tensor(l2, eps2, eps, 0, 0);
    rg_tensor_unref(eps);
    rg_tensor_unref(eps2);
    return ok;
}

/* ---- gradients ----------------------------------------------------------- */

typedef struct {
    rg_tensor *eps_cot;     /* cotangent of eps, or NULL (then eps is not asked for) */
    int n;                  /* feature cotangents */
    int index[4];
    rg_tensor *feat_cot[4];
} cotangents;

typedef struct {
    rg_tensor *dx, *dc; /* gradients of the sample and the context */
    int tape_size;
    size_t peak;        /* bytes allocated during forward + backward, above what was live before */
} vjp_result;

static void vjp_clear(vjp_result *r)
{
    g_clear_pointer(&r->dx, rg_tensor_unref);
    g_clear_pointer(&r->dc, rg_tensor_unref);
}

/* <cot, outputs> back-propagated to the sample and the context (weights frozen). */
static vjp_result vjp(model *m, gboolean checkpointing, rg_tensor *x, rg_tensor *t, rg_tensor *c,
                      const cotangents *cot)
{
    GError *error = NULL;
    vjp_result r = {0};
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    int nf = rg_unet_n_features(m->u);
    g_autofree rg_tensor **feats = g_new0(rg_tensor *, nf);
    rg_tensor *eps = NULL;
    rg_tensor_set_requires_grad(x, TRUE);
    rg_tensor_set_requires_grad(c, TRUE);
    rg_unet_set_checkpointing(m->u, checkpointing);
    size_t live0, peak;
    rg_memory_stats(&live0, NULL);
    rg_memory_reset_peak();
    rg_ctx_set_tape(ctx, tape);
    g_assert_true(rg_unet_forward(m->u, ctx, x, t, c, cot->eps_cot ? &eps : NULL, cot->n ? feats : NULL, &error));
    rg_assert_no_error(error);
    rg_ctx_set_tape(ctx, NULL);
    r.tape_size = rg_tape_size(tape);
    rg_tensor *outs[5], *cots[5];
    int n = 0;
    if (cot->eps_cot) {
        outs[n] = eps;
        cots[n++] = cot->eps_cot;
    }
    for (int i = 0; i < cot->n; i++) {
        outs[n] = feats[cot->index[i]];
        cots[n++] = cot->feat_cot[i];
    }
    g_assert_true(rg_tape_backward_with(ctx, tape, n, outs, cots, &error));
    rg_assert_no_error(error);
    rg_memory_stats(NULL, &peak);
    r.peak = peak - live0;
    g_assert_nonnull(rg_tensor_get_grad(x));
    g_assert_nonnull(rg_tensor_get_grad(c));
    r.dx = rg_tensor_ref(rg_tensor_get_grad(x));
    r.dc = rg_tensor_ref(rg_tensor_get_grad(c));
    rg_tensor_zero_grad(x);
    rg_tensor_zero_grad(c);
    rg_tensor_set_requires_grad(x, FALSE);
    rg_tensor_set_requires_grad(c, FALSE);
    rg_unet_set_checkpointing(m->u, TRUE);
    if (eps)
        rg_tensor_unref(eps);
    for (int k = 0; cot->n && k < nf; k++)
        rg_tensor_unref(feats[k]);
    return r;
}

/* Gradients: f32 forward and backward through the whole net against f64,
 * values up to ~3 (seen: up to 3.4e-5). */
#define GRAD_ATOL 1e-4
#define GRAD_RTOL 1e-4

static gboolean gradient_parity(rg_safetensors *golden, model *m, const int *feature_index)
{
    g_autoptr(rg_tensor) x = load(golden, m, "sample");
    g_autoptr(rg_tensor) t = load(golden, m, "timestep");
    g_autoptr(rg_tensor) c = load(golden, m, "encoder_hidden_states");
    gboolean ok = TRUE;

    /* <cot, eps> */
    cotangents ce = {.eps_cot = load(golden, m, "cotangent.eps")};
    vjp_result r = vjp(m, TRUE, x, t, c, &ce);
    const char *names[2][2] = {{"grad_eps.sample", "grad_eps.encoder_hidden_states"},
                               {"grad_features.sample", "grad_features.encoder_hidden_states"}};
    for (int i = 0; i < 2; i++) {
        g_autoptr(rg_tensor) ref = load(golden, m, names[0][i]);
        g_autofree char *l = g_strdup_printf("%s %s", m->name, names[0][i]);
        ok &= rg_check_tensor(l, i ? r.dc : r.dx, ref, GRAD_ATOL, GRAD_RTOL);
    }
    vjp_clear(&r);

    /* sum_K <cot_K, features.K>, eps not asked for */
    cotangents cf = {.n = 2, .index = {feature_index[0], feature_index[1]}};
    for (int i = 0; i < 2; i++) {
        g_autofree char *what = g_strdup_printf("cotangent.features.%d", feature_index[i]);
        cf.feat_cot[i] = load(golden, m, what);
    }
    r = vjp(m, TRUE, x, t, c, &cf);
    for (int i = 0; i < 2; i++) {
        g_autoptr(rg_tensor) ref = load(golden, m, names[1][i]);
        g_autofree char *l = g_strdup_printf("%s %s", m->name, names[1][i]);
        ok &= rg_check_tensor(l, i ? r.dc : r.dx, ref, GRAD_ATOL, GRAD_RTOL);
    }
    vjp_clear(&r);
    int features_only = r.tape_size;

    /* checkpointed and plain backward agree, eps and features together; the
     * checkpointed tape is a few nodes per block and needs less memory */
    cotangents both = cf;
    both.eps_cot = ce.eps_cot;
    vjp_result rc = vjp(m, TRUE, x, t, c, &both);
    vjp_result rp = vjp(m, FALSE, x, t, c, &both);
    g_autofree char *l1 = g_strdup_printf("%s checkpointed vs plain grad.sample", m->name);
    g_autofree char *l2 = g_strdup_printf("%s checkpointed vs plain grad.encoder_hidden_states", m->name);
    /* the same kernels on the same data, but a tensor with several consumers
     * (a skip, the context) sums its gradient contributions in another order:
     * a checkpointed block hands over its inputs' gradients already summed.
     * That reassociation is f32 rounding, amplified as much as f32-vs-f64 is
     * (a few 1e-5 here) */
    ok &= rg_check_tensor(l1, rc.dx, rp.dx, 1e-4, 1e-4);
    ok &= rg_check_tensor(l2, rc.dc, rp.dc, 1e-4, 1e-4);
    gboolean smaller = rc.peak < rp.peak && rc.tape_size < rp.tape_size;
    g_print("%s %s backward: tape %d nodes and peak %.2f MiB checkpointed, %d nodes and %.2f MiB plain\n",
            smaller ? "OK" : "NOT OK", m->name, rc.tape_size, rc.peak / 1048576.0, rp.tape_size,
            rp.peak / 1048576.0);
    ok &= smaller;
    /* without eps, the last transformer, conv_norm_out and conv_out are not recorded */
    gboolean shorter = features_only < rc.tape_size;
    g_print("%s %s features-only tape: %d nodes, with eps %d\n", shorter ? "OK" : "NOT OK", m->name, features_only,
            rc.tape_size);
    ok &= shorter;
    vjp_clear(&rc);
    vjp_clear(&rp);
    rg_tensor_unref(ce.eps_cot);
    for (int i = 0; i < 2; i++)
        rg_tensor_unref(cf.feat_cot[i]);
    return ok;
}

/* All features, flattened per batch item and concatenated: (B, sum). */
static rg_tensor *f_features(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    model *m = user_data;
    int nf = rg_unet_n_features(m->u);
    g_autofree rg_tensor **feats = g_new0(rg_tensor *, nf);
    g_autofree rg_tensor **flat = g_new0(rg_tensor *, nf);
    if (!rg_unet_forward(m->u, ctx, in[0], in[1], in[2], NULL, feats, error))
        return NULL;
    for (int k = 0; k < nf; k++) {
        int64_t b = rg_tensor_shape(feats[k])[0], s[2] = {b, rg_tensor_numel(feats[k]) / b};
        flat[k] = rg_reshape(ctx, feats[k], 2, s, error);
        g_assert_nonnull(flat[k]);
    }
    rg_tensor *out = rg_concat(ctx, flat, nf, 1, error);
    for (int k = 0; k < nf; k++) {
        rg_tensor_unref(flat[k]);
        rg_tensor_unref(feats[k]);
    }
    return out;
}

/* d<cot, features>/d(sample, context) against central differences. */
static gboolean finite_differences(rg_safetensors *golden, model *m)
{
    g_autoptr(rg_tensor) x = load(golden, m, "sample");
    g_autoptr(rg_tensor) t = load(golden, m, "timestep");
    g_autoptr(rg_tensor) c = load(golden, m, "encoder_hidden_states");
    rg_tensor *in[3] = {x, t, c};
    gboolean check[3] = {TRUE, FALSE, TRUE};
    /* f32 forward through the whole net: the difference quotient with step
     * 1e-2 is good to a few 1e-4 of the objective's scale */
    g_autofree char *l = g_strdup_printf("%s features", m->name);
    return rg_gradcheck(l, f_features, m, in, 3, check, 1e-2, 2e-3, 2e-2, 24);
}

/* ---- configs ------------------------------------------------------------- */

static const char sd15_json[] =
    "{\"_class_name\": \"UNet2DConditionModel\", \"_diffusers_version\": \"0.6.0\", \"act_fn\": \"silu\","
    " \"attention_head_dim\": 8, \"block_out_channels\": [320, 640, 1280, 1280], \"center_input_sample\": false,"
    " \"cross_attention_dim\": 768, \"down_block_types\": [\"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\","
    " \"CrossAttnDownBlock2D\", \"DownBlock2D\"], \"downsample_padding\": 1, \"flip_sin_to_cos\": true,"
    " \"freq_shift\": 0, \"in_channels\": 4, \"layers_per_block\": 2, \"mid_block_scale_factor\": 1,"
    " \"norm_eps\": 1e-05, \"norm_num_groups\": 32, \"out_channels\": 4, \"sample_size\": 64,"
    " \"up_block_types\": [\"UpBlock2D\", \"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\"]}";

/* stabilityai/stable-diffusion-2-1's unet/config.json */
static const char sd21_json[] =
    "{\"_class_name\": \"UNet2DConditionModel\", \"_diffusers_version\": \"0.10.0.dev0\", \"act_fn\": \"silu\","
    " \"attention_head_dim\": [5, 10, 20, 20], \"block_out_channels\": [320, 640, 1280, 1280],"
    " \"center_input_sample\": false, \"cross_attention_dim\": 1024, \"down_block_types\": [\"CrossAttnDownBlock2D\","
    " \"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\", \"DownBlock2D\"], \"downsample_padding\": 1,"
    " \"dual_cross_attention\": false, \"flip_sin_to_cos\": true, \"freq_shift\": 0, \"in_channels\": 4,"
    " \"layers_per_block\": 2, \"mid_block_scale_factor\": 1, \"norm_eps\": 1e-05, \"norm_num_groups\": 32,"
    " \"num_class_embeds\": null, \"only_cross_attention\": false, \"out_channels\": 4, \"sample_size\": 96,"
    " \"up_block_types\": [\"UpBlock2D\", \"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\"],"
    " \"upcast_attention\": true, \"use_linear_projection\": true}";

/* Fails when the call succeeded or the error lacks @code or a needle. */
static gboolean expect(const char *what, gboolean ok, GError *error, int code, const char *needle1,
                       const char *needle2)
{
    gboolean good = !ok && error && error->domain == RG_ERROR && error->code == code &&
                    (!needle1 || strstr(error->message, needle1)) && (!needle2 || strstr(error->message, needle2));
    g_print("%s error %s: %s (code %d, expected %d)\n", good ? "OK" : "NOT OK", what,
            error ? error->message : "no error", error ? error->code : -1, code);
    g_clear_error(&error);
    return good;
}

static gboolean configs(const model *small, const model *lin)
{
    GError *error = NULL;
    gboolean ok = TRUE;
    rg_unet_config sd, js;
    rg_unet_config_init_sd15(&sd);
    g_assert_true(config_from_string(sd15_json, &js, &error));
    rg_assert_no_error(error);
    gboolean same = memcmp(&sd, &js, sizeof sd) == 0;
    g_print("%s SD1.5 config.json reads as rg_unet_config_init_sd15()\n", same ? "OK" : "NOT OK");
    ok &= same;

    g_assert_true(config_from_string(sd21_json, &js, &error));
    rg_assert_no_error(error);
    gboolean sd21 = js.attention_heads[0] == 5 && js.attention_heads[1] == 10 && js.attention_heads[3] == 20 &&
                    js.use_linear_projection && js.cross_attention_dim == 1024 && js.sample_size == 96;
    g_print("%s SD2.1 config.json: heads 5/10/20/20, linear projections, context 1024\n", sd21 ? "OK" : "NOT OK");
    ok &= sd21;

    /* what the reference's config.json files say */
    const rg_unet_config *s = &small->config, *l = &lin->config;
    gboolean fields = s->n_levels == 2 && s->block_out_channels[1] == 32 && s->down_cross_attention[0] &&
                      !s->down_cross_attention[1] && !s->up_cross_attention[0] && s->up_cross_attention[1] &&
                      s->attention_heads[0] == 2 && s->attention_heads[1] == 2 && s->layers_per_block[1] == 1 &&
                      s->norm_num_groups == 8 && s->cross_attention_dim == 24 && s->time_embedding_dim == 64 &&
                      s->mid_block && !s->use_linear_projection && s->flip_sin_to_cos;
    fields &= l->attention_heads[0] == 2 && l->attention_heads[1] == 4 && l->layers_per_block[0] == 1 &&
              l->layers_per_block[1] == 2 && l->transformer_layers[0] == 2 && l->transformer_layers[1] == 1 &&
              l->use_linear_projection && !l->flip_sin_to_cos && l->freq_shift == 1 && l->out_channels == 3 &&
              l->up_cross_attention[0] && l->up_cross_attention[1];
    g_print("%s config fields of the reference configs\n", fields ? "OK" : "NOT OK");
    ok &= fields;
    gboolean counts = rg_unet_n_features(small->u) == 4 && rg_unet_n_features(lin->u) == 5 &&
                      rg_unet_size_multiple(small->u) == 2;
    g_print("%s feature counts\n", counts ? "OK" : "NOT OK");
    ok &= counts;

    /* refusals */
    static const struct {
        const char *what, *json;
        int code;
        const char *needle;
    } bad[] = {
        {"SDXL added conditioning", "{\"addition_embed_type\": \"text_time\"}", RG_ERROR_UNSUPPORTED,
         "addition_embed_type"},
        {"unknown down block", "{\"block_out_channels\": [32, 64], \"down_block_types\": [\"AttnDownBlock2D\", "
                               "\"DownBlock2D\"], \"up_block_types\": [\"UpBlock2D\", \"UpBlock2D\"]}",
         RG_ERROR_UNSUPPORTED, "AttnDownBlock2D"},
        {"block types count", "{\"block_out_channels\": [32, 64]}", RG_ERROR_FORMAT, NULL},
        {"scale-shift time embedding", "{\"resnet_time_scale_shift\": \"scale_shift\"}", RG_ERROR_UNSUPPORTED,
         "scale_shift"},
        {"simple mid block", "{\"mid_block_type\": \"UNetMidBlock2DSimpleCrossAttn\"}", RG_ERROR_UNSUPPORTED,
         "mid_block_type"},
        {"class name", "{\"_class_name\": \"AutoencoderKL\"}", RG_ERROR_FORMAT, "AutoencoderKL"},
        {"wrong type", "{\"block_out_channels\": \"wide\"}", RG_ERROR_FORMAT, "block_out_channels"},
        {"heads do not divide", "{\"attention_head_dim\": 7}", RG_ERROR_ARGUMENT, "7 attention heads"},
        {"groups do not divide", "{\"norm_num_groups\": 48}", RG_ERROR_ARGUMENT, "norm_num_groups"},
        {"not JSON", "{\"in_channels\": 4,", RG_ERROR_FORMAT, NULL},
        {"not an object", "[1, 2]", RG_ERROR_FORMAT, "object"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        rg_unet_config c;
        gboolean r = config_from_string(bad[i].json, &c, &error);
        ok &= expect(bad[i].what, r, error, bad[i].code, bad[i].needle, NULL);
        error = NULL;
    }
    rg_unet_config c;
    gboolean r = rg_unet_config_load(&c, "/nonexistent/unet/config.json", &error);
    ok &= expect("missing config file", r, error, RG_ERROR_IO, "/nonexistent/unet/config.json", NULL);
    return ok;
}

/* ---- errors -------------------------------------------------------------- */

/* The small case's weights, with @rename (diffusers name) resolving to the
 * stored tensor @to, and @drop left out. */
static rg_weights *altered_weights(const char *rename, const char *to, const char *drop)
{
    GError *error = NULL;
    g_autoptr(rg_weights) all = rg_weights_open_safetensors(RG_UNET_GOLDEN, "small.weights.", &error);
    rg_assert_no_error(error);
    g_autoptr(GPtrArray) names = rg_weights_names(all);
    rg_weights *w = rg_weights_new();
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        if (drop && strcmp(name, drop) == 0)
            continue;
        g_autofree char *stored = g_strdup_printf("small.weights.%s", rename && strcmp(name, rename) == 0 ? to : name);
        g_assert_true(rg_weights_add(w, name, RG_UNET_GOLDEN, stored, &error));
    }
    return w;
}

static rg_tensor *forward_eps(model *m, rg_tensor *x, rg_tensor *t, rg_tensor *c, gboolean want_eps,
                              gboolean want_features, GError **error)
{
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, NULL);
    rg_tensor *eps = NULL, *feats[8] = {NULL};
    if (!rg_unet_forward(m->u, ctx, x, t, c, want_eps ? &eps : NULL, want_features ? feats : NULL, error))
        return NULL;
    for (int k = 0; k < 8; k++)
        if (feats[k])
            rg_tensor_unref(feats[k]);
    return eps ? eps : rg_tensor_ref(x);
}

static gboolean errors(rg_safetensors *golden, model *m)
{
    gboolean ok = TRUE;
    GError *error = NULL;
    /* a weight of the wrong shape: the message names the tensor and both shapes */
    {
        g_autoptr(rg_weights) w =
            altered_weights("down_blocks.1.resnets.0.conv_shortcut.weight", "conv_in.weight", NULL);
        rg_unet *u = rg_unet_new(&m->config, w, &error);
        ok &= expect("weight of the wrong shape", u != NULL, error, RG_ERROR_FORMAT,
                     "down_blocks.1.resnets.0.conv_shortcut.weight", "(32,16,1,1)") &&
              u == NULL;
        error = NULL;
        u = rg_unet_new(&m->config, w, &error);
        ok &= expect("weight of the wrong shape (found shape)", u != NULL, error, RG_ERROR_FORMAT, "(16,4,3,3)",
                     NULL);
        error = NULL;
    }
    {
        const char *gone = "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight";
        g_autoptr(rg_weights) w = altered_weights(NULL, NULL, gone);
        rg_unet *u = rg_unet_new(&m->config, w, &error);
        ok &= expect("missing tensor", u != NULL, error, RG_ERROR_FORMAT, gone, "(32,24)") && u == NULL;
        error = NULL;
    }
    /* linear projections asked for, 1x1 convs stored: the same matrices, the same model */
    {
        g_autoptr(rg_weights) w = altered_weights(NULL, NULL, NULL);
        rg_unet_config c = m->config;
        c.use_linear_projection = TRUE;
        g_autoptr(rg_unet) u = rg_unet_new(&c, w, &error);
        rg_assert_no_error(error);
        g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, NULL);
        g_autoptr(rg_tensor) x = load(golden, m, "sample");
        g_autoptr(rg_tensor) t = load(golden, m, "timestep");
        g_autoptr(rg_tensor) c2 = load(golden, m, "encoder_hidden_states");
        g_autoptr(rg_tensor) ref = load(golden, m, "eps");
        rg_tensor *eps = NULL;
        g_assert_true(rg_unet_forward(u, ctx, x, t, c2, &eps, NULL, &error));
        ok &= rg_check_tensor("small eps, linear projections over 1x1-conv weights", eps, ref, FWD_ATOL, FWD_RTOL);
        rg_tensor_unref(eps);
    }
    /* a projection that is neither: the error names both shapes */
    {
        g_autoptr(rg_weights) w =
            altered_weights("down_blocks.0.attentions.0.proj_out.weight", "down_blocks.0.resnets.0.conv1.weight", NULL);
        rg_unet *u = rg_unet_new(&m->config, w, &error);
        ok &= expect("projection of the wrong shape", u != NULL, error, RG_ERROR_FORMAT,
                     "down_blocks.0.attentions.0.proj_out.weight", "(16,16,3,3)") &&
              u == NULL;
        error = NULL;
    }
    /* bad inputs */
    g_autoptr(rg_tensor) x = load(golden, m, "sample");
    g_autoptr(rg_tensor) t = load(golden, m, "timestep");
    g_autoptr(rg_tensor) c = load(golden, m, "encoder_hidden_states");
    const int64_t s_x3[4] = {2, 3, 16, 16}, s_odd[4] = {2, 4, 15, 16}, s_x3d[3] = {2, 4, 16};
    const int64_t s_c20[3] = {2, 5, 20}, s_c1[3] = {1, 5, 24}, s_t3[1] = {3};
    g_autoptr(rg_tensor) x3 = rg_tensor_new(RG_DTYPE_F32, 4, s_x3, NULL);
    g_autoptr(rg_tensor) xodd = rg_tensor_new(RG_DTYPE_F32, 4, s_odd, NULL);
    g_autoptr(rg_tensor) x3d = rg_tensor_new(RG_DTYPE_F32, 3, s_x3d, NULL);
    g_autoptr(rg_tensor) c20 = rg_tensor_new(RG_DTYPE_F32, 3, s_c20, NULL);
    g_autoptr(rg_tensor) c1 = rg_tensor_new(RG_DTYPE_F32, 3, s_c1, NULL);
    g_autoptr(rg_tensor) t3 = rg_tensor_new(RG_DTYPE_F32, 1, s_t3, NULL);
    g_autoptr(rg_tensor) ti = rg_tensor_new(RG_DTYPE_I64, 1, s_t3 /* any */, NULL);
    RG_EXPECT_ERROR_FULL(ok, "sample with 3 channels", forward_eps(m, x3, t, c, TRUE, TRUE, &err_), RG_ERROR_SHAPE,
                         "unet", "(2,3,16,16)");
    RG_EXPECT_ERROR_FULL(ok, "sample of odd height", forward_eps(m, xodd, t, c, TRUE, FALSE, &err_),
                         RG_ERROR_SHAPE, "unet", "(2,4,15,16)");
    RG_EXPECT_ERROR_FULL(ok, "sample of 3 dimensions", forward_eps(m, x3d, t, c, TRUE, FALSE, &err_),
                         RG_ERROR_SHAPE, "unet", "(2,4,16)");
    RG_EXPECT_ERROR_FULL(ok, "context of the wrong width", forward_eps(m, x, t, c20, FALSE, TRUE, &err_),
                         RG_ERROR_SHAPE, "unet", "(2,5,20)");
    RG_EXPECT_ERROR_FULL(ok, "context of another batch", forward_eps(m, x, t, c1, TRUE, FALSE, &err_),
                         RG_ERROR_SHAPE, "unet", "(1,5,24)");
    RG_EXPECT_ERROR_FULL(ok, "three timesteps for two samples", forward_eps(m, x, t3, c, TRUE, FALSE, &err_),
                         RG_ERROR_SHAPE, "unet", "(3)");
    RG_EXPECT_ERROR_FULL(ok, "integer timesteps", forward_eps(m, x, ti, c, TRUE, FALSE, &err_), RG_ERROR_DTYPE,
                         "unet", "timestep");
    RG_EXPECT_ERROR_FULL(ok, "nothing asked for", forward_eps(m, x, t, c, FALSE, FALSE, &err_), RG_ERROR_ARGUMENT,
                         "unet", NULL);
    RG_EXPECT_ERROR_FULL(ok, "no context", forward_eps(m, x, t, NULL, TRUE, FALSE, &err_), RG_ERROR_ARGUMENT,
                         "unet", NULL);
    return ok;
}

int main(void)
{
    g_autoptr(rg_safetensors) golden = rg_test_golden("unet");
    model small = {.name = "small"}, lin = {.name = "lin"};
    gboolean ok = load_model(golden, &small);
    ok &= load_model(golden, &lin);
    ok &= configs(&small, &lin);
    ok &= forward_parity(golden, &small);
    ok &= forward_parity(golden, &lin);
    const int small_cots[2] = {0, 3}, lin_cots[2] = {1, 4};
    ok &= gradient_parity(golden, &small, small_cots);
    ok &= gradient_parity(golden, &lin, lin_cots);
    ok &= finite_differences(golden, &lin);
    ok &= errors(golden, &small);
    rg_unet_free(small.u);
    rg_unet_free(lin.u);
    g_print("%s\n", ok ? "ALL OK" : "FAILED");
    return ok ? 0 : 1;
}
