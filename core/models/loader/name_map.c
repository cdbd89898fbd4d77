/* name_map.c — SD1.x tensor names, LDM single file <-> diffusers: the rules
 * of stable_diffusion_spec.md §2.2 (UNet), §2.4 (VAE), §2.5 (CLIP), after
 * diffusers' scripts/convert_diffusers_to_original_stable_diffusion.py.
 *
 * Each direction parses the name piece by piece (prefix tables, then block
 * indices) and rebuilds it; anything that does not parse is not an SD1.x
 * weight and maps to NULL.
 */
#include "models/loader/name_map.h"

#include <string.h>

static const char *const part_names[RG_N_PARTS] = { "unet", "vae", "text_encoder" };
static const char *const ldm_prefixes[RG_N_PARTS] = {
    "model.diffusion_model.",
    "first_stage_model.",
    "cond_stage_model.transformer.",
};

const char *rg_part_name(rg_part part)
{
    g_return_val_if_fail(part >= 0 && part < RG_N_PARTS, NULL);
    return part_names[part];
}

gboolean rg_part_from_name(const char *name, rg_part *part)
{
    for (int i = 0; name && i < RG_N_PARTS; i++)
        if (!strcmp(name, part_names[i])) {
            *part = (rg_part)i;
            return TRUE;
        }
    return FALSE;
}

const char *rg_part_ldm_prefix(rg_part part)
{
    g_return_val_if_fail(part >= 0 && part < RG_N_PARTS, NULL);
    return ldm_prefixes[part];
}

/* ---- parsing helpers ---------------------------------------------------- */

/* If *s starts with @lit, steps past it. */
static gboolean eat(const char **s, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*s, lit, n) != 0)
        return FALSE;
    *s += n;
    return TRUE;
}

/* Reads "<index>." (decimal, no leading zero, below 100) and steps past it. */
static gboolean eat_index(const char **s, int *v)
{
    const char *p = *s;
    if (p[0] < '0' || p[0] > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
        return FALSE;
    int x = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 3) {
        x = 10 * x + (*p++ - '0');
        digits++;
    }
    if (*p != '.' || x >= 100)
        return FALSE;
    *v = x;
    *s = p + 1;
    return TRUE;
}

typedef struct {
    const char *ldm, *diffusers;
} pair;

/* @s with the prefix of one pair (side @to_ldm ? diffusers : ldm) replaced by
 * the other side; NULL when none matches or nothing follows the prefix. */
static char *rename_prefix(const char *s, const pair *pairs, size_t n, gboolean to_ldm, const char *before)
{
    for (size_t i = 0; i < n; i++) {
        const char *from = to_ldm ? pairs[i].diffusers : pairs[i].ldm;
        const char *to = to_ldm ? pairs[i].ldm : pairs[i].diffusers;
        const char *rest = s;
        if (eat(&rest, from) && *rest)
            return g_strconcat(before, to, rest, NULL);
    }
    return NULL;
}

/* ---- UNet (§2.2) -------------------------------------------------------- */

static const pair unet_top[] = {
    { "time_embed.0.", "time_embedding.linear_1." },
    { "time_embed.2.", "time_embedding.linear_2." },
    { "input_blocks.0.0.", "conv_in." },
    { "out.0.", "conv_norm_out." },
    { "out.2.", "conv_out." },
};

static const pair unet_resnet[] = {
    { "in_layers.0.", "norm1." },       { "in_layers.2.", "conv1." },  { "emb_layers.1.", "time_emb_proj." },
    { "out_layers.0.", "norm2." },      { "out_layers.3.", "conv2." }, { "skip_connection.", "conv_shortcut." },
};

#define N_LEVELS 4    /* UNet and VAE levels */
#define DOWN_RESNETS 2
#define UP_RESNETS 3

/* The ResNet-internal part @rest after the block prefix @before. */
static char *unet_resnet_name(const char *before, const char *rest, gboolean to_ldm)
{
    return rename_prefix(rest, unet_resnet, G_N_ELEMENTS(unet_resnet), to_ldm, before);
}

static char *unet_to_diffusers(const char *s)
{
    char *top = rename_prefix(s, unet_top, G_N_ELEMENTS(unet_top), FALSE, "");
    if (top)
        return top;
    int n, m;
    if (eat(&s, "input_blocks.")) {
        if (!eat_index(&s, &n) || !eat_index(&s, &m) || n < 1 || !*s)
            return NULL;
        int i = (n - 1) / 3, j = (n - 1) % 3;
        if (i >= N_LEVELS)
            return NULL;
        g_autofree char *before = NULL;
        if (j < DOWN_RESNETS && m == 0) {
            before = g_strdup_printf("down_blocks.%d.resnets.%d.", i, j);
            return unet_resnet_name(before, s, FALSE);
        }
        if (j < DOWN_RESNETS && m == 1)
            return g_strdup_printf("down_blocks.%d.attentions.%d.%s", i, j, s);
        if (j == DOWN_RESNETS && m == 0 && i < N_LEVELS - 1 && eat(&s, "op.") && *s)
            return g_strdup_printf("down_blocks.%d.downsamplers.0.conv.%s", i, s);
        return NULL;
    }
    if (eat(&s, "middle_block.")) {
        if (!eat_index(&s, &m) || !*s)
            return NULL;
        if (m == 0 || m == 2)
            return unet_resnet_name(m == 0 ? "mid_block.resnets.0." : "mid_block.resnets.1.", s, FALSE);
        if (m == 1)
            return g_strconcat("mid_block.attentions.0.", s, NULL);
        return NULL;
    }
    if (eat(&s, "output_blocks.")) {
        if (!eat_index(&s, &n) || !eat_index(&s, &m) || !*s)
            return NULL;
        int i = n / 3, j = n % 3;
        if (i >= N_LEVELS)
            return NULL;
        if (m == 0) {
            g_autofree char *before = g_strdup_printf("up_blocks.%d.resnets.%d.", i, j);
            return unet_resnet_name(before, s, FALSE);
        }
        /* the upsampler follows the ResNet (level 0: no attention) or the attention */
        const char *rest = s;
        if (eat(&rest, "conv.")) {
            if (j == UP_RESNETS - 1 && i < N_LEVELS - 1 && m == (i == 0 ? 1 : 2) && *rest)
                return g_strdup_printf("up_blocks.%d.upsamplers.0.conv.%s", i, rest);
            return NULL;
        }
        if (m == 1)
            return g_strdup_printf("up_blocks.%d.attentions.%d.%s", i, j, s);
        return NULL;
    }
    return NULL;
}

static char *unet_to_ldm(const char *s)
{
    char *top = rename_prefix(s, unet_top, G_N_ELEMENTS(unet_top), TRUE, "");
    if (top)
        return top;
    int i, j;
    if (eat(&s, "down_blocks.")) {
        if (!eat_index(&s, &i) || i >= N_LEVELS)
            return NULL;
        if (eat(&s, "resnets.") && eat_index(&s, &j) && j < DOWN_RESNETS) {
            g_autofree char *before = g_strdup_printf("input_blocks.%d.0.", 3 * i + j + 1);
            return unet_resnet_name(before, s, TRUE);
        }
        if (eat(&s, "attentions.") && eat_index(&s, &j) && j < DOWN_RESNETS && *s)
            return g_strdup_printf("input_blocks.%d.1.%s", 3 * i + j + 1, s);
        if (eat(&s, "downsamplers.0.conv.") && i < N_LEVELS - 1 && *s)
            return g_strdup_printf("input_blocks.%d.0.op.%s", 3 * (i + 1), s);
        return NULL;
    }
    if (eat(&s, "mid_block.")) {
        if (eat(&s, "resnets.") && eat_index(&s, &j) && j < 2)
            return unet_resnet_name(j == 0 ? "middle_block.0." : "middle_block.2.", s, TRUE);
        if (eat(&s, "attentions.0.") && *s)
            return g_strconcat("middle_block.1.", s, NULL);
        return NULL;
    }
    if (eat(&s, "up_blocks.")) {
        if (!eat_index(&s, &i) || i >= N_LEVELS)
            return NULL;
        if (eat(&s, "resnets.") && eat_index(&s, &j) && j < UP_RESNETS) {
            g_autofree char *before = g_strdup_printf("output_blocks.%d.0.", 3 * i + j);
            return unet_resnet_name(before, s, TRUE);
        }
        if (eat(&s, "attentions.") && eat_index(&s, &j) && j < UP_RESNETS && *s) {
            const char *rest = s;
            if (eat(&rest, "conv.")) /* would read back as an upsampler */
                return NULL;
            return g_strdup_printf("output_blocks.%d.1.%s", 3 * i + j, s);
        }
        if (eat(&s, "upsamplers.0.conv.") && i < N_LEVELS - 1 && *s)
            return g_strdup_printf("output_blocks.%d.%d.conv.%s", 3 * i + 2, i == 0 ? 1 : 2, s);
        return NULL;
    }
    return NULL;
}

/* ---- VAE (§2.4) --------------------------------------------------------- */

static const pair vae_resnet[] = {
    { "norm1.", "norm1." }, { "conv1.", "conv1." },
    { "norm2.", "norm2." }, { "conv2.", "conv2." },
    { "nin_shortcut.", "conv_shortcut." },
};

static const pair vae_side[] = {
    { "conv_in.", "conv_in." },
    { "conv_out.", "conv_out." },
    { "norm_out.", "conv_norm_out." },
    { "mid.attn_1.norm.", "mid_block.attentions.0.group_norm." },
};

/* LDM stores these as 1x1 convolutions, diffusers as linear layers. */
static const pair vae_attention[] = {
    { "mid.attn_1.q.", "mid_block.attentions.0.to_q." },
    { "mid.attn_1.k.", "mid_block.attentions.0.to_k." },
    { "mid.attn_1.v.", "mid_block.attentions.0.to_v." },
    { "mid.attn_1.proj_out.", "mid_block.attentions.0.to_out.0." },
};

static const pair vae_top[] = { { "quant_conv.", "quant_conv." }, { "post_quant_conv.", "post_quant_conv." } };

static char *vae_resnet_name(const char *before, const char *rest, gboolean to_ldm)
{
    return rename_prefix(rest, vae_resnet, G_N_ELEMENTS(vae_resnet), to_ldm, before);
}

char *rg_name_vae_ldm_to_diffusers(const char *s, gboolean *conv1x1)
{
    *conv1x1 = FALSE;
    char *top = rename_prefix(s, vae_top, G_N_ELEMENTS(vae_top), FALSE, "");
    if (top)
        return top;
    gboolean encoder = eat(&s, "encoder.");
    if (!encoder && !eat(&s, "decoder."))
        return NULL;
    const char *side = encoder ? "encoder." : "decoder.";
    char *r = rename_prefix(s, vae_side, G_N_ELEMENTS(vae_side), FALSE, side);
    if (r)
        return r;
    if ((r = rename_prefix(s, vae_attention, G_N_ELEMENTS(vae_attention), FALSE, side))) {
        *conv1x1 = g_str_has_suffix(r, ".weight");
        return r;
    }
    if (eat(&s, "mid.block_1."))
        return vae_resnet_name(encoder ? "encoder.mid_block.resnets.0." : "decoder.mid_block.resnets.0.", s, FALSE);
    if (eat(&s, "mid.block_2."))
        return vae_resnet_name(encoder ? "encoder.mid_block.resnets.1." : "decoder.mid_block.resnets.1.", s, FALSE);
    int k, j;
    if (encoder && eat(&s, "down.") && eat_index(&s, &k) && k < N_LEVELS) {
        if (eat(&s, "block.") && eat_index(&s, &j) && j < DOWN_RESNETS) {
            g_autofree char *before = g_strdup_printf("encoder.down_blocks.%d.resnets.%d.", k, j);
            return vae_resnet_name(before, s, FALSE);
        }
        if (eat(&s, "downsample.conv.") && k < N_LEVELS - 1 && *s)
            return g_strdup_printf("encoder.down_blocks.%d.downsamplers.0.conv.%s", k, s);
        return NULL;
    }
    if (!encoder && eat(&s, "up.") && eat_index(&s, &k) && k < N_LEVELS) {
        int i = N_LEVELS - 1 - k; /* diffusers counts from the deepest level */
        if (eat(&s, "block.") && eat_index(&s, &j) && j < UP_RESNETS) {
            g_autofree char *before = g_strdup_printf("decoder.up_blocks.%d.resnets.%d.", i, j);
            return vae_resnet_name(before, s, FALSE);
        }
        if (eat(&s, "upsample.conv.") && i < N_LEVELS - 1 && *s)
            return g_strdup_printf("decoder.up_blocks.%d.upsamplers.0.conv.%s", i, s);
    }
    return NULL;
}

char *rg_name_vae_diffusers_to_ldm(const char *s, gboolean *conv1x1)
{
    *conv1x1 = FALSE;
    char *top = rename_prefix(s, vae_top, G_N_ELEMENTS(vae_top), TRUE, "");
    if (top)
        return top;
    gboolean encoder = eat(&s, "encoder.");
    if (!encoder && !eat(&s, "decoder."))
        return NULL;
    const char *side = encoder ? "encoder." : "decoder.";
    char *r = rename_prefix(s, vae_side, G_N_ELEMENTS(vae_side), TRUE, side);
    if (r)
        return r;
    if ((r = rename_prefix(s, vae_attention, G_N_ELEMENTS(vae_attention), TRUE, side))) {
        *conv1x1 = g_str_has_suffix(r, ".weight");
        return r;
    }
    int i, j;
    if (eat(&s, "mid_block.resnets.") && eat_index(&s, &j) && j < 2) {
        g_autofree char *before = g_strdup_printf("%smid.block_%d.", side, j + 1);
        return vae_resnet_name(before, s, TRUE);
    }
    if (encoder && eat(&s, "down_blocks.") && eat_index(&s, &i) && i < N_LEVELS) {
        if (eat(&s, "resnets.") && eat_index(&s, &j) && j < DOWN_RESNETS) {
            g_autofree char *before = g_strdup_printf("encoder.down.%d.block.%d.", i, j);
            return vae_resnet_name(before, s, TRUE);
        }
        if (eat(&s, "downsamplers.0.conv.") && i < N_LEVELS - 1 && *s)
            return g_strdup_printf("encoder.down.%d.downsample.conv.%s", i, s);
        return NULL;
    }
    if (!encoder && eat(&s, "up_blocks.") && eat_index(&s, &i) && i < N_LEVELS) {
        int k = N_LEVELS - 1 - i;
        if (eat(&s, "resnets.") && eat_index(&s, &j) && j < UP_RESNETS) {
            g_autofree char *before = g_strdup_printf("decoder.up.%d.block.%d.", k, j);
            return vae_resnet_name(before, s, TRUE);
        }
        if (eat(&s, "upsamplers.0.conv.") && i < N_LEVELS - 1 && *s)
            return g_strdup_printf("decoder.up.%d.upsample.conv.%s", k, s);
    }
    return NULL;
}

char *rg_name_vae_legacy(const char *name)
{
    static const pair legacy[] = {
        { "query.", "to_q." }, { "key.", "to_k." }, { "value.", "to_v." }, { "proj_attn.", "to_out.0." },
    };
    const char *at = strstr(name, "mid_block.attentions.0.");
    if (!at)
        return NULL;
    at += strlen("mid_block.attentions.0.");
    g_autofree char *before = g_strndup(name, (gsize)(at - name));
    return rename_prefix(at, legacy, G_N_ELEMENTS(legacy), FALSE, before);
}

/* ---- CLIP (§2.5) and the whole-name front doors ------------------------- */

#define CLIP_POSITION_IDS "text_model.embeddings.position_ids"

char *rg_name_ldm_to_diffusers(const char *ldm, rg_part *part, gboolean *conv1x1)
{
    *conv1x1 = FALSE;
    const char *s = ldm;
    if (eat(&s, ldm_prefixes[RG_PART_UNET])) {
        *part = RG_PART_UNET;
        return unet_to_diffusers(s);
    }
    if (eat(&s, ldm_prefixes[RG_PART_VAE])) {
        *part = RG_PART_VAE;
        return rg_name_vae_ldm_to_diffusers(s, conv1x1);
    }
    if (eat(&s, ldm_prefixes[RG_PART_TEXT_ENCODER]) && *s) {
        *part = RG_PART_TEXT_ENCODER;
        char *name = g_str_has_prefix(s, "text_model.") ? g_strdup(s) : g_strconcat("text_model.", s, NULL);
        if (!strcmp(name, CLIP_POSITION_IDS) || !strcmp(name, "text_model.")) /* a buffer, not a weight */
            g_clear_pointer(&name, g_free);
        return name;
    }
    return NULL;
}

char *rg_name_diffusers_to_ldm(rg_part part, const char *name, gboolean *conv1x1)
{
    *conv1x1 = FALSE;
    char *r = NULL;
    switch (part) {
    case RG_PART_UNET:
        r = unet_to_ldm(name);
        break;
    case RG_PART_VAE:
        r = rg_name_vae_diffusers_to_ldm(name, conv1x1);
        break;
    case RG_PART_TEXT_ENCODER:
        if (g_str_has_prefix(name, "text_model.") && name[strlen("text_model.")] && strcmp(name, CLIP_POSITION_IDS))
            return g_strconcat(ldm_prefixes[part], name, NULL);
        return NULL;
    default:
        return NULL;
    }
    if (!r)
        return NULL;
    char *full = g_strconcat(ldm_prefixes[part], r, NULL);
    g_free(r);
    return full;
}
