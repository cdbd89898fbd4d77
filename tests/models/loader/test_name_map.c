/* test_name_map.c — the LDM <-> diffusers name map against every row of
 * ../shared/docs/sd15_tensors.tsv (component, LDM name, LDM shape, diffusers
 * folder/name, diffusers shape), in both directions and with the shape rule
 * (1x1 conv <-> linear); then names that must not map. Exits 77 (skipped)
 * when the TSV is absent. */
#include <string.h>

#include "models/loader/name_map.h"
#include "rg_test.h"

static int failures;

static void expect(gboolean ok, const char *what, const char *detail)
{
    if (!ok) {
        if (failures < 20)
            g_print("NOT OK %s: %s\n", what, detail);
        failures++;
    }
}

/* Every row, both ways: the part, the name, and the shape rule. */
static void check_rows(const char *text)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    int rows = 0, per_part[RG_N_PARTS] = { 0 }, reshaped = 0;
    for (int l = 1; lines[l]; l++) { /* line 0 is the header */
        if (!*lines[l])
            continue;
        g_auto(GStrv) f = g_strsplit(lines[l], "\t", -1);
        if (g_strv_length(f) != 5) {
            expect(FALSE, "tsv row", lines[l]);
            continue;
        }
        const char *ldm = f[1], *ldm_shape = f[2], *diff_shape = f[4];
        const char *slash = strchr(f[3], '/');
        g_autofree char *folder = slash ? g_strndup(f[3], (gsize)(slash - f[3])) : g_strdup("");
        const char *diff = slash ? slash + 1 : f[3];
        rg_part want;
        if (!rg_part_from_name(folder, &want)) {
            expect(FALSE, "tsv folder", f[3]);
            continue;
        }
        rows++;
        per_part[want]++;

        rg_part part = RG_N_PARTS;
        gboolean conv1x1 = FALSE, back_conv1x1 = TRUE;
        g_autofree char *got = rg_name_ldm_to_diffusers(ldm, &part, &conv1x1);
        g_autofree char *fwd = g_strdup_printf("%s -> %s/%s (want %s)", ldm, got ? rg_part_name(part) : "-",
                                               got ? got : "NULL", f[3]);
        expect(got && part == want && !strcmp(got, diff), "LDM -> diffusers", fwd);

        g_autofree char *back = rg_name_diffusers_to_ldm(want, diff, &back_conv1x1);
        g_autofree char *rev = g_strdup_printf("%s -> %s (want %s)", f[3], back ? back : "NULL", ldm);
        expect(back && !strcmp(back, ldm), "diffusers -> LDM", rev);

        /* shapes: equal, or LDM = diffusers + "x1x1" exactly where the map says so */
        g_autofree char *with_1x1 = g_strconcat(diff_shape, "x1x1", NULL);
        gboolean shapes = conv1x1 ? !strcmp(ldm_shape, with_1x1) : !strcmp(ldm_shape, diff_shape);
        g_autofree char *sh = g_strdup_printf("%s: LDM %s, diffusers %s, conv1x1 %d/%d", ldm, ldm_shape, diff_shape,
                                              conv1x1, back_conv1x1);
        expect(shapes && conv1x1 == back_conv1x1, "shape rule", sh);
        reshaped += conv1x1;

        /* the VAE maps without the prefix serve standalone VAE files */
        if (want == RG_PART_VAE) {
            gboolean c2;
            g_autofree char *rel = rg_name_vae_ldm_to_diffusers(ldm + strlen("first_stage_model."), &c2);
            expect(rel && !strcmp(rel, diff) && c2 == conv1x1, "VAE map without prefix", ldm);
        }
    }
    g_autofree char *counts = g_strdup_printf("%d rows: unet %d, vae %d, text_encoder %d, %d reshaped", rows,
                                              per_part[0], per_part[1], per_part[2], reshaped);
    /* spec summary: 686 UNet, 108 + 140 VAE, 196 CLIP tensors; 4 attention weights in each VAE half */
    expect(rows == 1130 && per_part[0] == 686 && per_part[1] == 248 && per_part[2] == 196 && reshaped == 8,
           "row counts", counts);
    g_print("%s every row of sd15_tensors.tsv maps both ways with its shapes (%s)\n", failures ? "NOT OK" : "OK",
            counts);
}

/* Names that are no SD1.x weight, or would not map back, give NULL. */
static void check_rejects(void)
{
    static const char *const none[] = {
        "model_ema.diffusion_modelinput_blocks00weight",
        "model_ema.decay",
        "betas",
        "alphas_cumprod",
        "logvar",
        "cond_stage_model.transformer.text_model.embeddings.position_ids",
        "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", /* SD 2.x OpenCLIP */
        "conditioner.embedders.0.transformer.text_model.final_layer_norm.weight", /* SDXL */
        "model.diffusion_model.label_emb.0.0.weight",
        "model.diffusion_model.input_blocks.12.0.op.weight", /* level 3 has no downsampler */
        "model.diffusion_model.input_blocks.13.0.in_layers.0.weight",
        "model.diffusion_model.input_blocks.3.1.norm.weight", /* a downsampler slot */
        "model.diffusion_model.input_blocks.01.0.in_layers.0.weight",
        "model.diffusion_model.input_blocks.1.0.in_layers.1.weight",
        "model.diffusion_model.input_blocks.1.0.",
        "model.diffusion_model.output_blocks.5.1.conv.weight", /* upsampler in the attention slot */
        "model.diffusion_model.output_blocks.2.2.conv.weight",
        "model.diffusion_model.output_blocks.11.2.conv.weight", /* level 0 has no upsampler */
        "model.diffusion_model.output_blocks.12.0.in_layers.0.weight",
        "model.diffusion_model.middle_block.3.in_layers.0.weight",
        "model.diffusion_model.time_embed.1.weight",
        "first_stage_model.encoder.down.3.downsample.conv.weight",
        "first_stage_model.decoder.up.0.upsample.conv.weight",
        "first_stage_model.decoder.up.4.block.0.norm1.weight",
        "first_stage_model.encoder.mid.block_3.conv1.weight",
        "first_stage_model.encoder.down.0.block.2.conv1.weight",
        "first_stage_model.loss.logvar",
        "cond_stage_model.transformer.",
        "model.diffusion_model.input_blocks.99999999999.0.in_layers.0.weight",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(none); i++) {
        rg_part part;
        gboolean conv1x1;
        g_autofree char *got = rg_name_ldm_to_diffusers(none[i], &part, &conv1x1);
        expect(got == NULL, "maps to nothing", none[i]);
    }
    static const struct {
        rg_part part;
        const char *name;
    } no_ldm[] = {
        { RG_PART_UNET, "down_blocks.3.downsamplers.0.conv.weight" },
        { RG_PART_UNET, "down_blocks.0.resnets.2.norm1.weight" },
        { RG_PART_UNET, "up_blocks.3.upsamplers.0.conv.weight" },
        { RG_PART_UNET, "up_blocks.1.attentions.1.conv.weight" },
        { RG_PART_UNET, "add_embedding.linear_1.weight" },
        { RG_PART_UNET, "mid_block.resnets.2.norm1.weight" },
        { RG_PART_VAE, "decoder.up_blocks.3.upsamplers.0.conv.weight" },
        { RG_PART_VAE, "encoder.mid_block.attentions.0.query.weight" },
        { RG_PART_TEXT_ENCODER, "text_model.embeddings.position_ids" },
        { RG_PART_TEXT_ENCODER, "logit_scale" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(no_ldm); i++) {
        gboolean conv1x1;
        g_autofree char *got = rg_name_diffusers_to_ldm(no_ldm[i].part, no_ldm[i].name, &conv1x1);
        expect(got == NULL, "has no LDM name", no_ldm[i].name);
    }
    /* older LDM files lack "text_model." after the CLIP prefix */
    rg_part part;
    gboolean conv1x1;
    g_autofree char *clip = rg_name_ldm_to_diffusers("cond_stage_model.transformer.encoder.layers.3.mlp.fc1.weight",
                                                     &part, &conv1x1);
    expect(clip && part == RG_PART_TEXT_ENCODER && !strcmp(clip, "text_model.encoder.layers.3.mlp.fc1.weight"),
           "CLIP without text_model.", clip ? clip : "NULL");
    /* older diffusers VAE attention names */
    static const char *const legacy[][2] = {
        { "decoder.mid_block.attentions.0.query.weight", "decoder.mid_block.attentions.0.to_q.weight" },
        { "encoder.mid_block.attentions.0.key.bias", "encoder.mid_block.attentions.0.to_k.bias" },
        { "encoder.mid_block.attentions.0.value.weight", "encoder.mid_block.attentions.0.to_v.weight" },
        { "decoder.mid_block.attentions.0.proj_attn.weight", "decoder.mid_block.attentions.0.to_out.0.weight" },
        { "decoder.mid_block.attentions.0.group_norm.weight", NULL },
        { "decoder.mid_block.attentions.0.to_q.weight", NULL },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(legacy); i++) {
        g_autofree char *got = rg_name_vae_legacy(legacy[i][0]);
        expect(legacy[i][1] ? got && !strcmp(got, legacy[i][1]) : got == NULL, "legacy VAE name", legacy[i][0]);
    }
    expect(!strcmp(rg_part_ldm_prefix(RG_PART_VAE), "first_stage_model.") && !rg_part_from_name("tokenizer", &part),
           "part names", "");
    g_print("%s names outside SD1.x map to nothing; CLIP and legacy VAE spellings map\n", failures ? "NOT OK" : "OK");
}

int main(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(RG_SD15_TENSORS_TSV, &text, NULL, NULL)) {
        g_print("SKIP %s is absent\n", RG_SD15_TENSORS_TSV);
        return 77;
    }
    check_rows(text);
    check_rejects();
    g_print("%s\n", failures ? "FAIL" : "PASS");
    return failures ? 1 : 0;
}
