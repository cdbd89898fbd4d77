/* test_train_unet.c — making the UNet trainable (core/train/init.c and
 * rg_unet_parameters()) on a tiny config with every block kind (DownBlock2D,
 * cross-attention blocks, the mid block, samplers, shortcut convs):
 *   - rg_unet_parameters() lists every tensor once, in
 *     rg_unet_required_tensors() order;
 *   - with the weights marked, a backward pass through the checkpointed
 *     blocks gives every weight a gradient, equal to the one without
 *     checkpointing, and matching finite differences on several weights;
 *   - the default initialisation's ranges, determinism and keyed streams;
 *   - rg_unet_config_to_json() reads back to the same config;
 *   - rg_space_to_depth() is pixel_unshuffle, with its gradient.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "readout/train.h"
#include "rg_test.h"

static void tiny_config(rg_unet_config *c)
{
    rg_demo_unet_config_init(c);
    c->in_channels = 4;
    c->out_channels = 4;
    const int ch[3] = {8, 16, 16};
    for (int i = 0; i < 3; i++) {
        c->block_out_channels[i] = ch[i];
        c->attention_heads[i] = 2;
    }
    c->norm_num_groups = 4;
    c->cross_attention_dim = 8;
    c->time_embedding_dim = 32;
    c->sample_size = 8;
}

typedef struct {
    rg_unet *u;
    rg_tensor *x, *t, *text;
} run;

static rg_tensor *unet_eps(rg_ctx *ctx, rg_tensor *const *inputs, gpointer user_data, GError **error)
{
    (void)inputs; /* the weights being checked are the UNet's own tensors */
    run *r = user_data;
    rg_tensor *eps = NULL;
    return rg_unet_forward(r->u, ctx, r->x, r->t, r->text, &eps, NULL, error) ? eps : NULL;
}

static void collect_name(const char *name, int ndim, const int64_t *shape, gpointer user_data)
{
    (void)ndim;
    (void)shape;
    g_ptr_array_add(user_data, g_strdup(name));
}

/* Gradients of <eps, c> for every weight, with checkpointing on or off. */
static GPtrArray *all_grads(run *r, GPtrArray *params, rg_tensor *cot, gboolean checkpointing)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    g_autoptr(rg_tape) tape = rg_tape_new();
    rg_unet_set_checkpointing(r->u, checkpointing);
    for (guint i = 0; i < params->len; i++) {
        rg_tensor_zero_grad(g_ptr_array_index(params, i));
        rg_tensor_set_requires_grad(g_ptr_array_index(params, i), TRUE);
    }
    rg_ctx_set_tape(ctx, tape);
    g_autoptr(rg_tensor) eps = unet_eps(ctx, NULL, r, &error);
    rg_ctx_set_tape(ctx, NULL);
    rg_assert_no_error(error);
    g_assert_true(rg_tape_backward_with(ctx, tape, 1, &eps, &cot, &error));
    GPtrArray *grads = g_ptr_array_new_with_free_func((GDestroyNotify)rg_tensor_unref);
    for (guint i = 0; i < params->len; i++) {
        rg_tensor *p = g_ptr_array_index(params, i);
        rg_tensor *g = rg_tensor_get_grad(p);
        g_ptr_array_add(grads, g ? rg_tensor_ref(g) : NULL);
        rg_tensor_zero_grad(p);
        rg_tensor_set_requires_grad(p, FALSE);
    }
    rg_unet_set_checkpointing(r->u, TRUE);
    return grads;
}

static gboolean test_parameters_and_gradients(void)
{
    GError *error = NULL;
    gboolean ok = TRUE;
    rg_unet_config c;
    tiny_config(&c);
    g_autoptr(rg_unet) u = rg_unet_new_random(&c, 11, &error);
    rg_assert_no_error(error);

    /* every tensor once, in rg_unet_required_tensors() order */
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) params = g_ptr_array_new();
    g_autoptr(GPtrArray) required = g_ptr_array_new_with_free_func(g_free);
    rg_unet_parameters(u, names, params);
    g_assert_true(rg_unet_required_tensors(&c, collect_name, required, &error));
    gboolean same = names->len == required->len && names->len == params->len;
    for (guint i = 0; same && i < names->len; i++)
        same &= strcmp(g_ptr_array_index(names, i), g_ptr_array_index(required, i)) == 0;
    g_autoptr(GHashTable) distinct = g_hash_table_new(NULL, NULL);
    for (guint i = 0; i < params->len; i++)
        g_hash_table_add(distinct, g_ptr_array_index(params, i));
    same &= g_hash_table_size(distinct) == params->len;
    g_print("%s rg_unet_parameters: %u tensors, distinct, in rg_unet_required_tensors order\n", same ? "OK" : "NOT OK",
            names->len);
    ok &= same;

    const int64_t s_x[4] = {2, 4, 8, 8}, s_t[1] = {2}, s_e[3] = {2, 5, 8};
    g_autoptr(rg_tensor) x = rg_test_random(21, 4, s_x, -1, 1);
    g_autoptr(rg_tensor) text = rg_test_random(22, 3, s_e, -1, 1);
    const float tv[2] = {17, 640};
    g_autoptr(rg_tensor) t = rg_tensor_new_from_data(RG_DTYPE_F32, 1, s_t, tv, &error);
    run r = {u, x, t, text};
    g_autoptr(rg_tensor) cot = rg_test_random(23, 4, s_x, -1, 1);

    /* every weight gets a gradient through the checkpointed blocks, the same as without checkpointing */
    g_autoptr(GPtrArray) gck = all_grads(&r, params, cot, TRUE);
    g_autoptr(GPtrArray) gplain = all_grads(&r, params, cot, FALSE);
    int missing = 0, zero = 0, differ = 0;
    for (guint i = 0; i < params->len; i++) {
        rg_tensor *a = g_ptr_array_index(gck, i), *b = g_ptr_array_index(gplain, i);
        const char *name = g_ptr_array_index(names, i);
        if (!a || !b) {
            g_printerr("  %s: no gradient (checkpointed %p, plain %p)\n", name, (void *)a, (void *)b);
            missing++;
            continue;
        }
        double n2 = 0, d2 = 0;
        for (int64_t k = 0; k < rg_tensor_numel(a); k++) {
            const double va = rg_tensor_get_flat(a, k), vb = rg_tensor_get_flat(b, k);
            n2 += vb * vb;
            d2 += (va - vb) * (va - vb);
        }
        if (n2 == 0) {
            g_printerr("  %s: zero gradient\n", name);
            zero++;
        } else if (sqrt(d2) > 1e-5 * sqrt(n2)) {
            g_printerr("  %s: checkpointed and plain gradients differ by %.3g of %.3g\n", name, sqrt(d2), sqrt(n2));
            differ++;
        }
    }
    g_print("%s gradients of %u weights: %d missing, %d zero, %d differ from the plain backward\n",
            missing + zero + differ ? "NOT OK" : "OK", params->len, missing, zero, differ);
    ok &= missing + zero + differ == 0;

    /* finite differences on weights of each block kind */
    const char *probe[] = {
        "conv_in.weight",
        "time_embedding.linear_1.weight",
        "down_blocks.0.resnets.0.conv1.weight",
        "down_blocks.1.resnets.0.conv_shortcut.weight",
        "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight",
        "down_blocks.2.attentions.0.proj_in.weight",
        "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight",
        "mid_block.resnets.1.time_emb_proj.bias",
        "up_blocks.0.resnets.1.norm1.weight",
        "up_blocks.1.upsamplers.0.conv.weight",
        "up_blocks.2.resnets.1.conv2.bias",
        "conv_norm_out.bias",
        "conv_out.weight",
    };
    rg_tensor *inputs[G_N_ELEMENTS(probe)];
    gboolean check[G_N_ELEMENTS(probe)];
    for (size_t k = 0; k < G_N_ELEMENTS(probe); k++) {
        inputs[k] = NULL;
        for (guint i = 0; i < names->len; i++)
            if (!strcmp(g_ptr_array_index(names, i), probe[k]))
                inputs[k] = g_ptr_array_index(params, i);
        check[k] = TRUE;
        if (!inputs[k]) {
            g_printerr("NOT OK no tensor %s in the tiny config\n", probe[k]);
            ok = FALSE;
        }
    }
    if (ok)
        ok &= rg_gradcheck("unet weights", unet_eps, &r, inputs, G_N_ELEMENTS(probe), check, 1e-2, 2e-3, 2e-2, 5);
    return ok;
}

/* Field by field: per-level entries past n_levels are not part of a config. */
static gboolean same_config(const rg_unet_config *a, const rg_unet_config *b)
{
    gboolean eq = a->in_channels == b->in_channels && a->out_channels == b->out_channels &&
                  a->n_levels == b->n_levels && a->mid_block == b->mid_block &&
                  a->cross_attention_dim == b->cross_attention_dim && a->norm_num_groups == b->norm_num_groups &&
                  a->norm_eps == b->norm_eps && a->flip_sin_to_cos == b->flip_sin_to_cos &&
                  a->freq_shift == b->freq_shift && a->use_linear_projection == b->use_linear_projection &&
                  a->time_embedding_dim == b->time_embedding_dim && a->sample_size == b->sample_size;
    for (int i = 0; eq && i < a->n_levels; i++)
        eq = a->block_out_channels[i] == b->block_out_channels[i] && a->layers_per_block[i] == b->layers_per_block[i] &&
             a->down_cross_attention[i] == b->down_cross_attention[i] &&
             a->up_cross_attention[i] == b->up_cross_attention[i] && a->attention_heads[i] == b->attention_heads[i] &&
             a->transformer_layers[i] == b->transformer_layers[i];
    return eq;
}

static gboolean test_init(void)
{
    GError *error = NULL;
    gboolean ok = TRUE;
    rg_unet_config c;
    tiny_config(&c);
    g_autoptr(rg_unet) a = rg_unet_new_random(&c, 3, &error);
    g_autoptr(rg_unet) b = rg_unet_new_random(&c, 3, &error);
    g_autoptr(rg_unet) d = rg_unet_new_random(&c, 4, &error);
    rg_assert_no_error(error);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) pa = g_ptr_array_new();
    g_autoptr(GPtrArray) pb = g_ptr_array_new();
    g_autoptr(GPtrArray) pd = g_ptr_array_new();
    g_autoptr(GPtrArray) scratch = g_ptr_array_new_with_free_func(g_free);
    rg_unet_parameters(a, names, pa);
    rg_unet_parameters(b, scratch, pb);
    rg_unet_parameters(d, scratch, pd);
    int bad = 0;
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        rg_tensor *ta = g_ptr_array_index(pa, i), *tb = g_ptr_array_index(pb, i), *td = g_ptr_array_index(pd, i);
        const int64_t n = rg_tensor_numel(ta);
        const gboolean norm = strstr(name, "norm") != NULL;
        const gboolean weight = g_str_has_suffix(name, ".weight");
        /* fan_in of this layer: the weight's (ndim >= 2), or the preceding weight's for a bias */
        int64_t fan_in = 1;
        rg_tensor *w = weight ? ta : g_ptr_array_index(pa, i - 1);
        for (int k = 1; k < rg_tensor_ndim(w); k++)
            fan_in *= rg_tensor_shape(w)[k];
        const double bound = 1.0 / sqrt((double)fan_in);
        double maxabs = 0, s2 = 0;
        gboolean same = TRUE, other = FALSE;
        for (int64_t k = 0; k < n; k++) {
            const double v = rg_tensor_get_flat(ta, k);
            maxabs = MAX(maxabs, fabs(v));
            s2 += v * v;
            same &= v == rg_tensor_get_flat(tb, k);
            other |= v != rg_tensor_get_flat(td, k);
        }
        gboolean good;
        if (norm)
            good = maxabs == (weight ? 1.0 : 0.0) && (!weight || s2 == (double)n);
        else /* uniform in +-bound: inside it, and a std near bound / sqrt(3) for the larger tensors */
            good = maxabs <= bound && same && other &&
                   (n < 256 || fabs(sqrt(s2 / (double)n) - bound / sqrt(3.0)) < 0.1 * bound);
        if (!good) {
            g_printerr("  %s: max |v| %.4g, rms %.4g, bound %.4g, same seed same %d, other seed differs %d\n", name,
                       maxabs, sqrt(s2 / (double)n), bound, same, other);
            bad++;
        }
    }
    g_print("%s default init of %u tensors: U(+-1/sqrt(fan_in)), norms 1/0, keyed by seed\n", bad ? "NOT OK" : "OK",
            names->len);
    ok &= bad == 0;

    /* config.json round trip, for the demo config and the tiny one */
    for (int k = 0; k < 2; k++) {
        rg_unet_config want, got;
        if (k == 0)
            rg_demo_unet_config_init(&want);
        else
            tiny_config(&want);
        want.layers_per_block[1] = 1 + k; /* a per-level list */
        g_autofree char *json = rg_unet_config_to_json(&want);
        g_autofree char *path = NULL;
        int fd = g_file_open_tmp("unet-config-XXXXXX.json", &path, &error);
        rg_assert_no_error(error);
        close(fd);
        g_assert_true(g_file_set_contents(path, json, -1, NULL));
        gboolean read = rg_unet_config_load(&got, path, &error);
        rg_assert_no_error(error);
        remove(path);
        gboolean eq = read && same_config(&want, &got);
        g_print("%s unet config.json round trip (%s)\n", eq ? "OK" : "NOT OK", k ? "tiny" : "demo");
        if (!eq)
            g_printerr("%s\n", json);
        ok &= eq;
    }
    return ok;
}

static rg_tensor *s2d_fn(rg_ctx *ctx, rg_tensor *const *inputs, gpointer user_data, GError **error)
{
    (void)user_data;
    return rg_space_to_depth(ctx, inputs[0], 2, error);
}

static gboolean test_space_to_depth(void)
{
    GError *error = NULL;
    gboolean ok = TRUE;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    const int64_t shape[4] = {2, 3, 6, 4};
    g_autoptr(rg_tensor) x = rg_test_random(31, 4, shape, -1, 1);
    g_autoptr(rg_tensor) y = rg_space_to_depth(ctx, x, 2, &error);
    rg_assert_no_error(error);
    const int64_t *s = rg_tensor_shape(y);
    ok &= rg_tensor_ndim(y) == 4 && s[0] == 2 && s[1] == 12 && s[2] == 3 && s[3] == 2;
    int bad = 0;
    /* pixel_unshuffle: channel c*4 + i*2 + j holds pixel (2y+i, 2x+j) of channel c */
    for (int b = 0; b < 2; b++)
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    for (int yy = 0; yy < 3; yy++)
                        for (int xx = 0; xx < 2; xx++) {
                            double got = rg_tensor_get_flat(y, ((b * 12 + c * 4 + i * 2 + j) * 3 + yy) * 2 + xx);
                            double want = rg_tensor_get_flat(x, ((b * 3 + c) * 6 + 2 * yy + i) * 4 + 2 * xx + j);
                            bad += got != want;
                        }
    g_print("%s space_to_depth is pixel_unshuffle (%d wrong)\n", bad ? "NOT OK" : "OK", bad);
    ok &= bad == 0;
    rg_tensor *in[1] = {x};
    const gboolean check[1] = {TRUE};
    ok &= rg_gradcheck("space_to_depth", s2d_fn, NULL, in, 1, check, 1e-2, 1e-4, 1e-3, 20);
    const int64_t odd[4] = {1, 3, 5, 4};
    g_autoptr(rg_tensor) xo = rg_tensor_new(RG_DTYPE_F32, 4, odd, &error);
    RG_EXPECT_ERROR_FULL(ok, "odd height", rg_space_to_depth(ctx, xo, 2, &err_), RG_ERROR_SHAPE, "space_to_depth",
                         "(1,3,5,4)");
    return ok;
}

int main(void)
{
    gboolean ok = TRUE;
    ok &= test_parameters_and_gradients();
    ok &= test_init();
    ok &= test_space_to_depth();
    ok &= rg_test_failures == 0;
    g_print("%s\n", ok ? "ALL OK" : "FAILURES");
    return ok ? 0 : 1;
}
