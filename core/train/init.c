/* init.c — what training starts from and shares: the demo UNet's config
 * and its config.json, PyTorch's default initialisation of a UNet, and
 * space-to-depth.
 *
 * Random numbers (base/rng.h) are keyed by (seed, tensor name), so each
 * tensor's values do not depend on the others or on the order they are made in.
 */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "models/unet/unet_internal.h"
#include "train/train_internal.h"

/* Stream purposes of the initialisation. */
#define KEY_UNET_INIT 0x756e6574ULL /* "unet" */

/* ---- configs -------------------------------------------------------------- */

void rg_demo_unet_config_init(rg_unet_config *c)
{
    memset(c, 0, sizeof *c);
    c->in_channels = 12;
    c->out_channels = 12;
    c->n_levels = 3;
    const int ch[3] = {32, 64, 64};
    for (int i = 0; i < 3; i++) {
        c->block_out_channels[i] = ch[i];
        c->layers_per_block[i] = 1;
        c->attention_heads[i] = 4;
        c->transformer_layers[i] = 1;
        c->down_cross_attention[i] = i > 0; /* DownBlock2D, CrossAttnDownBlock2D x2 */
        c->up_cross_attention[i] = i < 2;   /* CrossAttnUpBlock2D x2, UpBlock2D */
    }
    c->mid_block = TRUE;
    c->cross_attention_dim = 64;
    c->norm_num_groups = 8;
    c->norm_eps = 1e-5f;
    c->flip_sin_to_cos = TRUE;
    c->freq_shift = 0;
    c->use_linear_projection = FALSE;
    c->time_embedding_dim = 4 * ch[0];
    c->sample_size = 32;
}

/* ---- JSON ------------------------------------------------------------------ */

double train_clean_float(float f)
{
    char buf[32];
    for (int digits = 6; digits <= 9; digits++) {
        g_snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        if ((float)g_ascii_strtod(buf, NULL) == f)
            break;
    }
    return g_ascii_strtod(buf, NULL);
}

/* An integer when every level has the same value, else a list. */
static void add_per_level(JsonBuilder *b, const char *key, const int *v, int n)
{
    gboolean same = TRUE;
    for (int i = 1; i < n; i++)
        same &= v[i] == v[0];
    json_builder_set_member_name(b, key);
    if (same) {
        json_builder_add_int_value(b, v[0]);
        return;
    }
    json_builder_begin_array(b);
    for (int i = 0; i < n; i++)
        json_builder_add_int_value(b, v[i]);
    json_builder_end_array(b);
}

void train_json_add_int(JsonBuilder *b, const char *key, gint64 v)
{
    json_builder_set_member_name(b, key);
    json_builder_add_int_value(b, v);
}

void train_json_add_string(JsonBuilder *b, const char *key, const char *v)
{
    json_builder_set_member_name(b, key);
    json_builder_add_string_value(b, v);
}

char *rg_unet_config_to_json(const rg_unet_config *c)
{
    g_return_val_if_fail(c != NULL, NULL);
    const int L = c->n_levels;
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    train_json_add_string(b, "_class_name", "UNet2DConditionModel");
    train_json_add_string(b, "_diffusers_version", "0.21.4");
    train_json_add_string(b, "act_fn", "silu");
    add_per_level(b, "attention_head_dim", c->attention_heads, L);
    json_builder_set_member_name(b, "block_out_channels");
    json_builder_begin_array(b);
    for (int i = 0; i < L; i++)
        json_builder_add_int_value(b, c->block_out_channels[i]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "center_input_sample");
    json_builder_add_boolean_value(b, FALSE);
    train_json_add_int(b, "cross_attention_dim", c->cross_attention_dim);
    json_builder_set_member_name(b, "down_block_types");
    json_builder_begin_array(b);
    for (int i = 0; i < L; i++)
        json_builder_add_string_value(b, c->down_cross_attention[i] ? "CrossAttnDownBlock2D" : "DownBlock2D");
    json_builder_end_array(b);
    train_json_add_int(b, "downsample_padding", 1);
    json_builder_set_member_name(b, "flip_sin_to_cos");
    json_builder_add_boolean_value(b, c->flip_sin_to_cos);
    json_builder_set_member_name(b, "freq_shift");
    json_builder_add_double_value(b, train_clean_float(c->freq_shift));
    train_json_add_int(b, "in_channels", c->in_channels);
    add_per_level(b, "layers_per_block", c->layers_per_block, L);
    train_json_add_int(b, "mid_block_scale_factor", 1);
    json_builder_set_member_name(b, "mid_block_type");
    if (c->mid_block)
        json_builder_add_string_value(b, "UNetMidBlock2DCrossAttn");
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "norm_eps");
    json_builder_add_double_value(b, train_clean_float(c->norm_eps));
    train_json_add_int(b, "norm_num_groups", c->norm_num_groups);
    train_json_add_int(b, "out_channels", c->out_channels);
    train_json_add_int(b, "sample_size", c->sample_size);
    if (c->time_embedding_dim != 4 * c->block_out_channels[0])
        train_json_add_int(b, "time_embedding_dim", c->time_embedding_dim);
    add_per_level(b, "transformer_layers_per_block", c->transformer_layers, L);
    json_builder_set_member_name(b, "up_block_types");
    json_builder_begin_array(b);
    for (int i = 0; i < L; i++)
        json_builder_add_string_value(b, c->up_cross_attention[i] ? "CrossAttnUpBlock2D" : "UpBlock2D");
    json_builder_end_array(b);
    json_builder_set_member_name(b, "use_linear_projection");
    json_builder_add_boolean_value(b, c->use_linear_projection);
    json_builder_end_object(b);
    return rg_json_builder_text(b, TRUE, NULL);
}

/* ---- the UNet's default initialisation -------------------------------------- */

typedef struct {
    guint64 seed;
    GHashTable *fan_in; /* layer prefix -> fan_in of its weight (0: a norm) */
} unet_init;

/* "down_blocks.0.resnets.0.conv1.weight" -> "down_blocks.0.resnets.0.conv1" */
static char *layer_prefix(const char *name)
{
    const char *dot = strrchr(name, '.');
    return g_strndup(name, dot ? (gsize)(dot - name) : strlen(name));
}

static rg_tensor *unet_init_source(const char *name, int ndim, const int64_t *shape, gpointer data, GError **error)
{
    unet_init *init = data;
    rg_tensor *t = rg_tensor_new(RG_DTYPE_F32, ndim, shape, error);
    if (!t)
        return NULL;
    float *d = rg_tensor_data_f32(t);
    const int64_t count = rg_tensor_numel(t);
    g_autofree char *prefix = layer_prefix(name);
    const gboolean is_weight = g_str_has_suffix(name, ".weight");
    int64_t fan_in = 1;
    if (is_weight) {
        for (int i = 1; i < ndim; i++)
            fan_in *= shape[i];
        if (ndim == 1)
            fan_in = 0; /* GroupNorm / LayerNorm */
        g_hash_table_insert(init->fan_in, g_strdup(prefix), GINT_TO_POINTER((int)fan_in));
    } else {
        /* a bias follows its weight in construction order */
        fan_in = GPOINTER_TO_INT(g_hash_table_lookup(init->fan_in, prefix));
    }
    if (fan_in == 0) {
        for (int64_t k = 0; k < count; k++)
            d[k] = is_weight ? 1.0f : 0.0f;
        return t;
    }
    /* kaiming_uniform_(a=sqrt(5)) on weights and the default bias init both
     * give U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
    const double bound = 1.0 / sqrt((double)fan_in);
    rg_rng r;
    rg_rng_init(&r, init->seed, KEY_UNET_INIT, rg_hash_string(name), 0);
    for (int64_t k = 0; k < count; k++)
        d[k] = (float)((2.0 * rg_rng_uniform(&r) - 1.0) * bound);
    return t;
}

rg_unet *rg_unet_new_random(const rg_unet_config *c, guint64 seed, GError **error)
{
    g_return_val_if_fail(c != NULL, NULL);
    unet_init init = {seed, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    rg_unet *u = rg_unet_new_from_source(c, unet_init_source, &init, error);
    g_hash_table_unref(init.fan_in);
    return u;
}

/* ---- space-to-depth ------------------------------------------------------------- */

rg_tensor *rg_space_to_depth(rg_ctx *ctx, rg_tensor *x, int factor, GError **error)
{
    g_return_val_if_fail(ctx != NULL && x != NULL, NULL);
    const int64_t *s = rg_tensor_shape(x);
    if (rg_tensor_ndim(x) != 4 || factor < 1 || s[2] % factor != 0 || s[3] % factor != 0) {
        g_autofree char *sx = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "space_to_depth: input %s is not (B, C, H, W) with H and W "
                    "multiples of %d", sx, factor);
        return NULL;
    }
    const int64_t f = factor, h = s[2] / f, w = s[3] / f;
    // (B, C, H, W) -> (B C, h, f, w, f) -> (B C, f_i, f_j, h, w) -> (B, C f f, h, w)
    const int64_t s5[5] = {s[0] * s[1], h, f, w, f}, s4[4] = {s[0], s[1] * f * f, h, w};
    const int perm[5] = {0, 2, 4, 1, 3};
    g_autoptr(rg_tensor) a = rg_reshape(ctx, x, 5, s5, error);
    g_autoptr(rg_tensor) b = a ? rg_permute(ctx, a, perm, error) : NULL;
    return b ? rg_reshape(ctx, b, 4, s4, error) : NULL;
}
