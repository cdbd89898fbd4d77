/* test_vae.c — the VAE (AutoencoderKL): parity with the float64 PyTorch
 * reference (tests/reference/vae.py) for encode (mean, logvar and the VJP to
 * the image), decode (and the VJP to the latent) and sample, on two small
 * configs read from their diffusers config.json; the tensor names of the
 * reference's state_dict; finite differences; checkpointing; the old
 * attention names and LDM's 1x1-conv attention weights; bad weights, configs
 * and inputs.
 *
 *   test_vae                 everything above
 *   test_vae sd15-tensors    the SD1.5 config asks for exactly the VAE rows of
 *                            ../shared/docs/sd15_tensors.tsv (exit 77 when absent)
 *
 * Tolerances: the reference is float64 rounded to f32. The engine runs about
 * 20 f32 layers (convs of up to 24*9 terms, GroupNorm, attention), whose
 * rounding stays near 1e-6 relative; outputs and gradients are O(1), so
 * 1e-4 absolute + 1e-4 relative leaves a wide margin without hiding a
 * wrong layer (those show as O(1) errors).
 */
#include <glib/gstdio.h>
#include <string.h>

#include "models/vae/vae_impl.h"
#include "rg_test.h"

#define ATOL 1e-4
#define RTOL 1e-4

typedef struct {
    const char *name;
    rg_vae_config expect; /* what the case's config.json must load as */
} vae_case;

static vae_case cases[2] = {
    {"a", {3, 3, 4, 3, {8, 16, 24}, 1, 4, 0.18215f, TRUE, TRUE, TRUE, FALSE}},
    {"b", {3, 2, 3, 2, {8, 16}, 2, 8, 0.5f, FALSE, FALSE, FALSE, FALSE}},
};

static char *tmp_dir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmp_dir, name, NULL);
}

static void write_file(const char *path, const char *text)
{
    GError *error = NULL;
    g_file_set_contents(path, text, -1, &error);
    rg_assert_no_error(error);
}

/* Fails unless @ok is FALSE with @error of @code whose message contains each needle. */
static gboolean expect_error(const char *what, gboolean ok, GError *error, int code, const char *n1, const char *n2,
                             const char *n3)
{
    gboolean good = !ok && error && error->domain == RG_ERROR && error->code == code;
    const char *needles[3] = {n1, n2, n3};
    for (int i = 0; good && i < 3; i++)
        good = !needles[i] || strstr(error->message, needles[i]);
    g_print("%s error %s: %s (code %d, expected %d)\n", good ? "OK" : "NOT OK", what,
            error ? error->message : "no error", error ? error->code : -1, code);
    g_clear_error(&error);
    return good;
}

static rg_vae *case_vae(rg_safetensors *g, const vae_case *c, rg_vae_config *cfg_out)
{
    GError *error = NULL;
    g_autofree char *key = g_strdup_printf("%s.config", c->name);
    g_autofree char *json = tmp_path("config.json");
    write_file(json, rg_safetensors_metadata(g, key));
    rg_vae_config cfg;
    g_assert_true(rg_vae_config_load(&cfg, json, &error));
    rg_assert_no_error(error);
    g_assert_true(memcmp(&cfg, &c->expect, sizeof cfg) == 0);
    g_autofree char *prefix = g_strdup_printf("%s.weights.", c->name);
    g_autoptr(rg_weights) w = rg_weights_open_safetensors(VAE_GOLDEN, prefix, &error);
    rg_assert_no_error(error);
    rg_vae *v = rg_vae_new(&cfg, w, &error);
    rg_assert_no_error(error);
    if (cfg_out)
        *cfg_out = cfg;
    return v;
}

/* ---- parity -------------------------------------------------------------- */

static rg_tensor *f_decode(rg_ctx *ctx, rg_tensor *const *in, gpointer v, GError **error)
{
    return rg_vae_decode(v, ctx, in[0], error);
}

static rg_tensor *f_sample(rg_ctx *ctx, rg_tensor *const *in, gpointer v, GError **error)
{
    (void)v;
    return rg_vae_sample(ctx, in[0], in[1], in[2], error);
}

/* encode with a tape; backward of <cot_mean, mean> + <cot_logvar, logvar>. */
static gboolean encode_parity(rg_safetensors *g, const char *name, rg_vae *v)
{
    GError *error = NULL;
    g_autoptr(rg_tensor) image = rg_test_load(g, name, "image");
    g_autoptr(rg_tensor) cot_mean = rg_test_load(g, name, "cot_mean");
    g_autoptr(rg_tensor) cot_logvar = rg_test_load(g, name, "cot_logvar");
    rg_tensor *cots[2] = {cot_mean, cot_logvar};
    g_autoptr(rg_tensor) mean_ref = rg_test_load(g, name, "mean");
    g_autoptr(rg_tensor) logvar_ref = rg_test_load(g, name, "logvar");
    g_autoptr(rg_tensor) dimage_ref = rg_test_load(g, name, "dimage");
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_tensor *outs[2] = {NULL, NULL};
    rg_tensor_set_requires_grad(image, TRUE);
    rg_ctx_set_tape(ctx, tape);
    g_assert_true(rg_vae_encode(v, ctx, image, &outs[0], &outs[1], &error));
    rg_ctx_set_tape(ctx, NULL);
    g_assert_true(rg_tape_backward_with(ctx, tape, 2, outs, cots, &error));
    rg_assert_no_error(error);
    g_autofree char *l1 = g_strdup_printf("%s encode mean", name);
    g_autofree char *l2 = g_strdup_printf("%s encode logvar", name);
    g_autofree char *l3 = g_strdup_printf("%s encode d<cot, (mean, logvar)>/dimage", name);
    gboolean ok = rg_check_tensor(l1, outs[0], mean_ref, ATOL, RTOL);
    ok &= rg_check_tensor(l2, outs[1], logvar_ref, ATOL, RTOL);
    ok &= rg_check_tensor(l3, rg_tensor_get_grad(image), dimage_ref, ATOL, RTOL);
    /* the same without a tape (nothing checkpointed), bit for bit */
    g_autoptr(rg_tensor) m2 = NULL, lv2 = NULL;
    g_assert_true(rg_vae_encode(v, ctx, image, &m2, &lv2, &error));
    gboolean same = rg_check_tensor("  encode without a tape = with", m2, outs[0], 0, 0) &&
                    rg_check_tensor("  encode logvar without a tape = with", lv2, outs[1], 0, 0);
    rg_tensor_unref(outs[0]);
    rg_tensor_unref(outs[1]);
    return ok && same;
}

static gboolean parity(rg_safetensors *g, const vae_case *c)
{
    g_autoptr(rg_vae) v = case_vae(g, c, NULL);
    gboolean ok = encode_parity(g, c->name, v);

    g_autoptr(rg_tensor) latent = rg_test_load(g, c->name, "latent");
    g_autoptr(rg_tensor) decoded = rg_test_load(g, c->name, "decoded");
    g_autoptr(rg_tensor) cot = rg_test_load(g, c->name, "cot_decoded");
    g_autoptr(rg_tensor) dlatent = rg_test_load(g, c->name, "dlatent");
    rg_tensor *in[1] = {latent}, *din[1] = {dlatent};
    static const char *const dnames[1] = {"dlatent"};
    static const rg_tol tol[4] = {{ATOL, RTOL}, {ATOL, RTOL}, {ATOL, RTOL}, {ATOL, RTOL}};
    g_autofree char *ld = g_strdup_printf("%s decode", c->name);
    ok &= rg_check_vjp_full(ld, f_decode, v, in, 1, decoded, cot, din, dnames, tol);

    const char *sn[8] = {"s_mean", "s_logvar", "s_noise", "s_out", "s_cot", "s_dmean", "s_dlogvar", "s_dnoise"};
    rg_tensor *st[8];
    for (int i = 0; i < 8; i++)
        st[i] = rg_test_load(g, c->name, sn[i]);
    static const char *const snames[3] = {"dmean", "dlogvar", "dnoise"};
    g_autofree char *ls = g_strdup_printf("%s sample", c->name);
    /* exp(0.5 logvar) is f32 expf, ~1 ulp */
    ok &= rg_check_vjp_full(ls, f_sample, NULL, st, 3, st[3], st[4], st + 5, snames, tol);
    for (int i = 0; i < 8; i++)
        rg_tensor_unref(st[i]);
    return ok;
}

/* The reference's state_dict names and shapes are exactly what the VAE asks for. */
static gboolean names_match_reference(rg_safetensors *g, const vae_case *c)
{
    GError *error = NULL;
    g_autoptr(GPtrArray) req = rg_vae_required_tensors(&c->expect, &error);
    rg_assert_no_error(error);
    g_autofree char *prefix = g_strdup_printf("%s.weights.", c->name);
    int in_file = 0, bad = 0;
    for (int i = 0; i < rg_safetensors_count(g); i++)
        in_file += g_str_has_prefix(rg_safetensors_name(g, i), prefix);
    for (guint i = 0; i < req->len; i++) {
        rg_vae_tensor_spec *s = g_ptr_array_index(req, i);
        g_autofree char *full = g_strconcat(prefix, s->name, NULL);
        rg_dtype dt;
        int nd;
        int64_t shape[RG_MAX_DIMS];
        gboolean found = rg_safetensors_info(g, full, &dt, &nd, shape) && nd == s->ndim;
        for (int d = 0; found && d < nd; d++)
            found = shape[d] == s->shape[d];
        if (!found && bad++ < 5)
            g_print("  %s: not in the reference with this shape\n", s->name);
    }
    gboolean ok = bad == 0 && (int)req->len == in_file;
    g_print("%s case %s: %u tensors requested, %d in the reference's state_dict, %d mismatched\n",
            ok ? "OK" : "NOT OK", c->name, req->len, in_file, bad);
    return ok;
}

/* ---- finite differences, checkpointing, threads ---------------------------- */

static rg_tensor *f_encode(rg_ctx *ctx, rg_tensor *const *in, gpointer v, GError **error)
{
    rg_tensor *mean = NULL, *logvar = NULL;
    if (!rg_vae_encode(v, ctx, in[0], &mean, &logvar, error))
        return NULL;
    /* both outputs in one: (B, 2L, h, w) */
    rg_tensor *both[2] = {mean, logvar};
    rg_tensor *out = rg_concat(ctx, both, 2, 1, error);
    rg_tensor_unref(mean);
    rg_tensor_unref(logvar);
    return out;
}

static gboolean finite_differences(rg_safetensors *g)
{
    gboolean ok = TRUE, check[3] = {TRUE, TRUE, TRUE};
    for (int k = 0; k < 2; k++) {
        g_autoptr(rg_vae) v = case_vae(g, &cases[k], NULL);
        int f = 1 << (cases[k].expect.n_levels - 1);
        int64_t ishape[4] = {1, 3, 2 * f, 3 * f}, lshape[4] = {1, cases[k].expect.latent_channels, 2, 3};
        g_autoptr(rg_tensor) image = rg_test_random(11 + k, 4, ishape, -1, 1);
        g_autoptr(rg_tensor) latent = rg_test_random(21 + k, 4, lshape, -1, 1);
        g_autofree char *le = g_strdup_printf("%s encode (mean, logvar) wrt image", cases[k].name);
        g_autofree char *ld = g_strdup_printf("%s decode wrt latent", cases[k].name);
        /* f32 forward of ~20 layers: central differences with eps 1e-2 carry
         * ~1e-4 rounding and O(eps^2) truncation */
        ok &= rg_gradcheck(le, f_encode, v, &image, 1, check, 1e-2, 2e-3, 2e-2, 24);
        ok &= rg_gradcheck(ld, f_decode, v, &latent, 1, check, 1e-2, 2e-3, 2e-2, 24);
    }
    g_autoptr(rg_tensor) m = rg_test_random(31, 4, (int64_t[]){1, 2, 3, 3}, -1, 1);
    g_autoptr(rg_tensor) lv = rg_test_random(32, 4, (int64_t[]){1, 2, 3, 3}, -3, 3);
    g_autoptr(rg_tensor) nz = rg_test_random(33, 4, (int64_t[]){1, 2, 3, 3}, -2, 2);
    rg_tensor *in[3] = {m, lv, nz};
    ok &= rg_gradcheck("sample wrt mean, logvar, noise", f_sample, NULL, in, 3, check, 1e-3, 1e-3, 1e-2, 18);
    return ok;
}

/* With a tape, a ResNet records a checkpoint (up to conv2), conv2, the sum and
 * the shortcut conv when it has one; attention and head are one checkpoint
 * each. Case a's decoder: post_quant_conv and conv_in (2), mid (3 + 1 + 3),
 * up_blocks.0 (3 + 3), up_blocks.1 and .2 (4 + 3 each), 2 x (upsample, conv),
 * the head (1): 34 nodes, against about 80 recorded ops without checkpoints. */
static gboolean checkpointed(rg_safetensors *g)
{
    GError *error = NULL;
    g_autoptr(rg_vae) v = case_vae(g, &cases[0], NULL);
    g_autoptr(rg_tensor) latent = rg_test_load(g, "a", "latent");
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_tensor_set_requires_grad(latent, TRUE);
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) out = rg_vae_decode(v, ctx, latent, &error);
    rg_ctx_set_tape(ctx, NULL);
    rg_assert_no_error(error);
    gboolean ok = rg_tape_size(tape) == 34;
    g_print("%s decode tape: %d nodes (34 expected with checkpointed blocks)\n", ok ? "OK" : "NOT OK",
            rg_tape_size(tape));
    /* a frozen input with a tape attached records nothing */
    g_autoptr(rg_tape) tape2 = rg_tape_new();
    rg_tensor_set_requires_grad(latent, FALSE);
    rg_ctx_set_tape(ctx, tape2);
    g_autoptr(rg_tensor) out2 = rg_vae_decode(v, ctx, latent, &error);
    rg_ctx_set_tape(ctx, NULL);
    gboolean none = rg_tape_size(tape2) == 0;
    g_print("%s decode of a frozen latent with a tape: %d nodes\n", none ? "OK" : "NOT OK", rg_tape_size(tape2));
    ok &= none && rg_check_tensor("decode frozen = recorded", out2, out, 0, 0);

    gboolean grad[1] = {TRUE};
    ok &= rg_check_thread_invariance("a decode", f_decode, v, &latent, 1, grad);
    g_autoptr(rg_tensor) image = rg_test_load(g, "a", "image");
    ok &= rg_check_thread_invariance("a encode", f_encode, v, &image, 1, grad);
    return ok;
}

/* ---- old attention names, LDM attention shapes --------------------------- */

static char *old_name(const char *name)
{
    static const char *const map[4][2] = {
        {".to_q.", ".query."}, {".to_k.", ".key."}, {".to_v.", ".value."}, {".to_out.0.", ".proj_attn."}};
    for (int i = 0; i < 4; i++) {
        const char *p = strstr(name, map[i][0]);
        if (p)
            return g_strdup_printf("%.*s%s%s", (int)(p - name), name, map[i][1], p + strlen(map[i][0]));
    }
    return g_strdup(name);
}

static gboolean same_results(const char *label, rg_vae *v, rg_vae *ref, rg_safetensors *g)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tensor) latent = rg_test_load(g, "a", "latent");
    g_autoptr(rg_tensor) image = rg_test_load(g, "a", "image");
    g_autoptr(rg_tensor) d1 = rg_vae_decode(v, ctx, latent, &error);
    g_autoptr(rg_tensor) d2 = rg_vae_decode(ref, ctx, latent, &error);
    g_autoptr(rg_tensor) e1 = f_encode(ctx, &image, v, &error);
    g_autoptr(rg_tensor) e2 = f_encode(ctx, &image, ref, &error);
    rg_assert_no_error(error);
    g_autofree char *l1 = g_strdup_printf("%s: decode as with the current names", label);
    g_autofree char *l2 = g_strdup_printf("%s: encode as with the current names", label);
    return rg_check_tensor(l1, d1, d2, 0, 0) & rg_check_tensor(l2, e1, e2, 0, 0);
}

static gboolean old_attention_names(rg_safetensors *g)
{
    GError *error = NULL;
    rg_vae_config cfg;
    g_autoptr(rg_vae) ref = case_vae(g, &cases[0], &cfg);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);

    /* query/key/value/proj_attn, Linear (C, C): a name map onto the golden file */
    g_autoptr(rg_weights) w = rg_weights_new();
    /* the same as 1x1 convs (C, C, 1, 1) in a file of their own */
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) tensors = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    int renamed = 0;
    for (int i = 0; i < rg_safetensors_count(g); i++) {
        const char *stored = rg_safetensors_name(g, i);
        if (!g_str_has_prefix(stored, "a.weights."))
            continue;
        g_autofree char *name = old_name(stored + strlen("a.weights."));
        renamed += strcmp(name, stored + strlen("a.weights.")) != 0;
        g_assert_true(rg_weights_add(w, name, VAE_GOLDEN, stored, &error));
        rg_tensor *t = rg_safetensors_load(g, stored, &error);
        rg_assert_no_error(error);
        if (rg_tensor_ndim(t) == 2 && strstr(name, ".attentions.0.")) {
            const int64_t *s = rg_tensor_shape(t);
            rg_tensor *t4 = rg_reshape(ctx, t, 4, (int64_t[]){s[0], s[1], 1, 1}, &error);
            rg_tensor_unref(t);
            t = t4;
        }
        g_ptr_array_add(names, g_steal_pointer(&name));
        g_ptr_array_add(tensors, t);
    }
    g_autoptr(rg_vae) v_old = rg_vae_new(&cfg, w, &error);
    rg_assert_no_error(error);
    g_autofree char *ldm = tmp_path("ldm_attention.safetensors");
    g_assert_true(rg_safetensors_save(ldm, (int)names->len, (const char *const *)names->pdata,
                                      (rg_tensor *const *)tensors->pdata, NULL, &error));
    g_autoptr(rg_weights) w4 = rg_weights_open_safetensors(ldm, "", &error);
    g_autoptr(rg_vae) v_conv = rg_vae_new(&cfg, w4, &error);
    rg_assert_no_error(error);
    gboolean ok = renamed == 16;
    g_print("%s %d attention tensors renamed to the old names\n", ok ? "OK" : "NOT OK", renamed);
    ok &= same_results("old names", v_old, ref, g);
    ok &= same_results("old names, (C,C,1,1) weights", v_conv, ref, g);
    g_unlink(ldm);
    return ok;
}

/* ---- bad weights, configs and inputs -------------------------------------- */

/* Case a's weights with @drop left out and @name mapped to @stored instead. */
static rg_weights *weights_edit(rg_safetensors *g, const char *drop, const char *name, const char *stored)
{
    GError *error = NULL;
    rg_weights *w = rg_weights_new();
    for (int i = 0; i < rg_safetensors_count(g); i++) {
        const char *s = rg_safetensors_name(g, i);
        if (g_str_has_prefix(s, "a.weights.") && g_strcmp0(s + strlen("a.weights."), drop) != 0)
            g_assert_true(rg_weights_add(w, s + strlen("a.weights."), VAE_GOLDEN, s, &error));
    }
    if (name)
        g_assert_true(rg_weights_add(w, name, VAE_GOLDEN, stored, &error));
    return w;
}

static gboolean bad_weights(rg_safetensors *g)
{
    GError *error = NULL;
    rg_vae_config cfg = cases[0].expect;
    gboolean ok = TRUE;
    rg_vae *v;

    g_autoptr(rg_weights) w1 = weights_edit(g, "decoder.up_blocks.1.resnets.0.conv_shortcut.weight", NULL, NULL);
    v = rg_vae_new(&cfg, w1, &error);
    ok &= expect_error("missing tensor", v != NULL, error, RG_ERROR_FORMAT,
                       "\"decoder.up_blocks.1.resnets.0.conv_shortcut.weight\"", "(16,24,1,1)", NULL);
    error = NULL;
    g_autoptr(rg_weights) w2 = weights_edit(g, NULL, "encoder.conv_in.weight", "a.weights.decoder.conv_out.weight");
    v = rg_vae_new(&cfg, w2, &error);
    ok &= expect_error("wrong shape", v != NULL, error, RG_ERROR_FORMAT, "a.weights.decoder.conv_out.weight",
                       "(3,8,3,3)", "expected (8,3,3,3)");
    error = NULL;
    g_autoptr(rg_weights) w3 = weights_edit(g, "decoder.mid_block.attentions.0.to_k.bias", NULL, NULL);
    v = rg_vae_new(&cfg, w3, &error);
    ok &= expect_error("missing attention bias", v != NULL, error, RG_ERROR_FORMAT,
                       "decoder.mid_block.attentions.0.to_k.bias", "(24)", NULL);
    error = NULL;
    g_autoptr(rg_weights) w4 = weights_edit(g, NULL, "encoder.mid_block.attentions.0.to_q.weight",
                                            "a.weights.encoder.conv_in.weight");
    v = rg_vae_new(&cfg, w4, &error);
    ok &= expect_error("attention weight neither (C,C) nor (C,C,1,1)", v != NULL, error, RG_ERROR_FORMAT,
                       "(8,3,3,3)", "expected (24,24)", NULL);
    error = NULL;
    g_autoptr(rg_weights) w5 = weights_edit(g, NULL, NULL, NULL);
    rg_vae_config wider = cfg;
    wider.block_out_channels[2] = 32;
    v = rg_vae_new(&wider, w5, &error);
    ok &= expect_error("config wider than the weights", v != NULL, error, RG_ERROR_FORMAT, "encoder.down_blocks.2",
                       "expected (32,", NULL);
    error = NULL;
    rg_vae_config odd = cfg;
    odd.norm_num_groups = 3;
    v = rg_vae_new(&odd, w5, &error);
    ok &= expect_error("groups do not divide the channels", v != NULL, error, RG_ERROR_ARGUMENT, "norm_num_groups",
                       NULL, NULL);
    return ok;
}

static gboolean bad_inputs(rg_safetensors *g)
{
    GError *error = NULL;
    g_autoptr(rg_vae) v = case_vae(g, &cases[0], NULL);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    rg_tensor *m = NULL, *lv = NULL;
    gboolean ok = TRUE;
    static const struct {
        const char *what;
        int ndim;
        int64_t shape[4];
        int code;
        const char *needle;
    } images[] = {
        {"H not a multiple of 4", 4, {1, 3, 14, 16}, RG_ERROR_SHAPE, "multiples of 4"},
        {"W not a multiple of 4", 4, {1, 3, 16, 6}, RG_ERROR_SHAPE, "(1,3,16,6)"},
        {"4 channels", 4, {1, 4, 16, 16}, RG_ERROR_SHAPE, "(B, 3, H, W)"},
        {"3-D image", 3, {3, 16, 16}, RG_ERROR_SHAPE, "vae_encode"},
        {"empty image", 4, {1, 3, 0, 16}, RG_ERROR_SHAPE, "vae_encode"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(images); i++) {
        g_autoptr(rg_tensor) x = rg_tensor_new(RG_DTYPE_F32, images[i].ndim, images[i].shape, &error);
        gboolean r = rg_vae_encode(v, ctx, x, &m, &lv, &error);
        ok &= expect_error(images[i].what, r, error, images[i].code, "vae_encode", images[i].needle, NULL) &&
              !m && !lv;
        error = NULL;
    }
    g_autoptr(rg_tensor) ix = rg_tensor_new(RG_DTYPE_I64, 4, (int64_t[]){1, 3, 16, 16}, &error);
    gboolean r = rg_vae_encode(v, ctx, ix, &m, &lv, &error);
    ok &= expect_error("I64 image", r, error, RG_ERROR_DTYPE, "vae_encode", NULL, NULL);
    error = NULL;
    g_autoptr(rg_tensor) lat = rg_tensor_new(RG_DTYPE_F32, 4, (int64_t[]){1, 3, 4, 4}, &error);
    rg_tensor *d = rg_vae_decode(v, ctx, lat, &error);
    ok &= expect_error("latent with 3 channels", d != NULL, error, RG_ERROR_SHAPE, "vae_decode", "(1,3,4,4)", NULL);
    error = NULL;
    g_autoptr(rg_tensor) a = rg_tensor_new(RG_DTYPE_F32, 4, (int64_t[]){1, 4, 4, 4}, &error);
    g_autoptr(rg_tensor) b = rg_tensor_new(RG_DTYPE_F32, 4, (int64_t[]){1, 4, 4, 5}, &error);
    rg_tensor *s = rg_vae_sample(ctx, a, a, b, &error);
    ok &= expect_error("noise of another shape", s != NULL, error, RG_ERROR_SHAPE, "vae_sample", "(1,4,4,5)", NULL);
    error = NULL;
    s = rg_vae_sample(ctx, a, NULL, a, &error);
    ok &= expect_error("no logvar", s != NULL, error, RG_ERROR_ARGUMENT, "vae_sample", "logvar", NULL);
    return ok;
}

/* ---- config.json ------------------------------------------------------------ */

/* runwayml/stable-diffusion-v1-5 vae/config.json */
static const char sd15_json[] =
    "{\"_class_name\": \"AutoencoderKL\", \"_diffusers_version\": \"0.6.0\", \"act_fn\": \"silu\","
    " \"block_out_channels\": [128, 256, 512, 512], \"down_block_types\": [\"DownEncoderBlock2D\","
    " \"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\"], \"in_channels\": 3,"
    " \"latent_channels\": 4, \"layers_per_block\": 2, \"norm_num_groups\": 32, \"out_channels\": 3,"
    " \"sample_size\": 512, \"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\","
    " \"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}";

static gboolean config_json(void)
{
    GError *error = NULL;
    g_autofree char *path = tmp_path("vae_config.json");
    rg_vae_config got, want;
    rg_vae_config_init_sd15(&want);
    write_file(path, sd15_json);
    gboolean ok = rg_vae_config_load(&got, path, &error) && memcmp(&got, &want, sizeof got) == 0;
    g_print("%s SD1.5 vae/config.json loads as rg_vae_config_init_sd15()\n", ok ? "OK" : "NOT OK");
    rg_assert_no_error(error);

    static const struct {
        const char *what, *from, *to;
        int code;
        const char *needle;
    } edits[] = {
        {"act_fn relu", "\"silu\"", "\"relu\"", RG_ERROR_UNSUPPORTED, "\"act_fn\""},
        {"another class", "\"AutoencoderKL\"", "\"AutoencoderTiny\"", RG_ERROR_UNSUPPORTED, "_class_name"},
        {"unknown key", "\"in_channels\"", "\"norm_type\": \"spatial\", \"in_channels\"", RG_ERROR_UNSUPPORTED,
         "\"norm_type\""},
        {"a string for an integer", "\"layers_per_block\": 2", "\"layers_per_block\": \"2\"", RG_ERROR_FORMAT,
         "layers_per_block"},
        {"a fraction for an integer", "\"in_channels\": 3", "\"in_channels\": 3.5", RG_ERROR_FORMAT, "in_channels"},
        {"another block type", "\"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\"]",
         "\"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"AttnDownEncoderBlock2D\"]", RG_ERROR_UNSUPPORTED,
         "AttnDownEncoderBlock2D"},
        {"3 block types for 4 levels", "\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}", "\"UpDecoderBlock2D\"]}",
         RG_ERROR_ARGUMENT, "block types"},
        {"latents_mean", "\"in_channels\"", "\"latents_mean\": [0.1, 0.2, 0.3, 0.4], \"in_channels\"",
         RG_ERROR_UNSUPPORTED, "latents_mean"},
        {"groups that do not divide", "\"norm_num_groups\": 32", "\"norm_num_groups\": 48", RG_ERROR_ARGUMENT,
         "norm_num_groups"},
        {"not JSON", "\"in_channels\": 3,", "\"in_channels\": 3,,", RG_ERROR_FORMAT, "not valid JSON"},
        {"no levels", "[128, 256, 512, 512]", "[]", RG_ERROR_UNSUPPORTED, "block_out_channels"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(edits); i++) {
        g_autofree char **parts = g_strsplit(sd15_json, edits[i].from, 2);
        g_assert_true(parts[1] != NULL);
        g_autofree char *text = g_strconcat(parts[0], edits[i].to, parts[1], NULL);
        g_free(parts[0]);
        g_free(parts[1]);
        write_file(path, text);
        gboolean r = rg_vae_config_load(&got, path, &error);
        ok &= expect_error(edits[i].what, r, error, edits[i].code, path, edits[i].needle, NULL);
        error = NULL;
    }
    /* a later diffusers' keys, with SD1.5 values, are fine */
    write_file(path, "{\"block_out_channels\": [128, 256, 512, 512], \"layers_per_block\": 2, \"scaling_factor\": "
                     "0.18215, \"force_upcast\": true, \"shift_factor\": null, \"latents_mean\": null, "
                     "\"latents_std\": null, \"use_quant_conv\": true, \"use_post_quant_conv\": true, "
                     "\"mid_block_add_attention\": true, \"_name_or_path\": \"x\"}");
    gboolean later = rg_vae_config_load(&got, path, &error) && memcmp(&got, &want, sizeof got) == 0;
    g_print("%s newer config keys\n", later ? "OK" : "NOT OK");
    g_clear_error(&error);
    g_autofree char *none = tmp_path("no_such_config.json");
    gboolean r = rg_vae_config_load(&got, none, &error);
    ok &= later & expect_error("missing file", r, error, RG_ERROR_IO, "no_such_config.json", NULL, NULL);
    g_unlink(path);
    return ok;
}

/* ---- SD1.5 against sd15_tensors.tsv ------------------------------------------ */

static int sd15_tensors(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(VAE_SD15_TSV, &text, NULL, NULL)) {
        g_print("SKIP %s is absent\n", VAE_SD15_TSV);
        return 77;
    }
    GError *error = NULL;
    rg_vae_config cfg;
    rg_vae_config_init_sd15(&cfg);
    g_autoptr(GPtrArray) req = rg_vae_required_tensors(&cfg, &error);
    rg_assert_no_error(error);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint k = 0, bad = 0;
    int64_t params = 0;
    for (int i = 1; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], "\t", -1);
        if (g_strv_length(f) < 5 || !g_str_has_prefix(f[0], "vae"))
            continue;
        g_assert_true(g_str_has_prefix(f[3], "vae/"));
        g_autofree char *shape = NULL;
        if (k < req->len) {
            rg_vae_tensor_spec *s = g_ptr_array_index(req, k);
            GString *sh = g_string_new(NULL);
            int64_t n = 1;
            for (int d = 0; d < s->ndim; d++) {
                g_string_append_printf(sh, d ? "x%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, s->shape[d]);
                n *= s->shape[d];
            }
            params += n;
            shape = g_string_free(sh, FALSE);
            if (strcmp(s->name, f[3] + 4) != 0 || strcmp(shape, f[4]) != 0) {
                if (bad++ < 5)
                    g_print("  row %d: TSV %s %s, requested %s %s\n", i + 1, f[3] + 4, f[4], s->name, shape);
            }
        }
        k++;
    }
    gboolean ok = bad == 0 && k == req->len && k == 248 && params == 83653863;
    g_print("%s SD1.5: %u tensors requested in the TSV's order, %u VAE rows in the TSV, %d differ, "
            "%" G_GINT64_FORMAT " parameters\n",
            ok ? "OK" : "NOT OK", req->len, k, bad, params);
    return ok ? 0 : 1;
}

/* The space-to-depth autoencoder: config.json, pixel_unshuffle's channel
 * order, exact round trip, gradients through it, bad configs. */
static gboolean space_to_depth(void)
{
    gboolean ok = TRUE;
    g_autofree char *cfg = tmp_path("config.json");
    g_file_set_contents(cfg, "{\"_class_name\": \"ReadoutSpaceToDepth\", \"factor\": 2, \"in_channels\": 3}", -1, NULL);
    rg_vae_config c;
    GError *error = NULL;
    ok &= rg_vae_config_load(&c, cfg, &error);
    rg_assert_no_error(error);
    ok &= c.space_to_depth && c.latent_channels == 12 && c.n_levels == 2 && c.scaling_factor == 1.0f;
    g_autoptr(rg_vae) v = rg_vae_new(&c, NULL, &error);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    rg_assert_no_error(error);
    const int64_t shape[4] = {2, 3, 6, 4};
    g_autoptr(rg_tensor) img = rg_test_random(5, 4, shape, -1.0f, 1.0f);
    g_autoptr(rg_tensor) mean = NULL, logvar = NULL;
    ok &= rg_vae_encode(v, ctx, img, &mean, &logvar, &error);
    rg_assert_no_error(error);
    const int64_t *m = rg_tensor_shape(mean);
    ok &= m[0] == 2 && m[1] == 12 && m[2] == 3 && m[3] == 2 && rg_tensor_get_flat(logvar, 0) == -30.0;
    // channel c*4 + i*2 + j at (y, x) is pixel (2y+i, 2x+j) of colour c (sample 1, c 2, i 1, j 0, y 2, x 1)
    ok &= rg_tensor_get_flat(mean, ((1 * 12 + 2 * 4 + 1 * 2 + 0) * 3 + 2) * 2 + 1) ==
          rg_tensor_get_flat(img, ((1 * 3 + 2) * 6 + 5) * 4 + 2);
    g_autoptr(rg_tensor) back = rg_vae_decode(v, ctx, mean, &error);
    rg_assert_no_error(error);
    for (int64_t i = 0; i < rg_tensor_numel(img); i++)
        ok &= rg_tensor_get_flat(back, i) == rg_tensor_get_flat(img, i);
    g_file_set_contents(cfg, "{\"_class_name\": \"ReadoutSpaceToDepth\", \"factor\": 3}", -1, NULL);
    ok &= !rg_vae_config_load(&c, cfg, &error) && g_error_matches(error, RG_ERROR, RG_ERROR_UNSUPPORTED);
    g_clear_error(&error);
    g_print("%s space-to-depth autoencoder\n", ok ? "OK" : "NOT OK");
    return ok;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "sd15-tensors") == 0)
        return sd15_tensors();
    tmp_dir = g_dir_make_tmp("rg-vae-XXXXXX", NULL);
    g_assert_nonnull(tmp_dir);
    g_autoptr(rg_safetensors) g = rg_test_golden("vae");
    gboolean ok = TRUE;
    for (int k = 0; k < 2; k++) {
        ok &= parity(g, &cases[k]);
        ok &= names_match_reference(g, &cases[k]);
    }
    ok &= finite_differences(g);
    ok &= checkpointed(g);
    ok &= old_attention_names(g);
    ok &= bad_weights(g);
    ok &= bad_inputs(g);
    ok &= config_json();
    ok &= space_to_depth();
    g_autofree char *cfg = tmp_path("config.json");
    g_unlink(cfg);
    g_rmdir(tmp_dir);
    g_free(tmp_dir);
    g_print(ok ? "ALL OK\n" : "SOME CHECKS FAILED\n");
    return ok ? 0 : 1;
}
