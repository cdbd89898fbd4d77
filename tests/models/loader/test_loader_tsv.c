/* test_loader_tsv.c — every SD1.5 tensor of ../shared/docs/sd15_tensors.tsv
 * through rg_model in both layouts: a single LDM file (with EMA copies and
 * schedule buffers) and a diffusers folder holding the same values under the
 * diffusers names, with tiny shapes ((1), or (2,2,1,1) LDM / (2,2) diffusers
 * for the VAE attention weights; real shapes for the tensors the model type
 * is read from). Both must give the same names, shapes and values for each
 * component. Exits 77 when the TSV is absent. */
#include <string.h>

#include "fixture.h"
#include "readout/model.h"

typedef struct {
    char *part, *ldm, *diff;
    gboolean conv1x1;
} row;

static gboolean ok = TRUE;

static void report(gboolean good, const char *what, const char *detail)
{
    g_print("%s %s%s%s\n", good ? "OK" : "NOT OK", what, detail ? ": " : "", detail ? detail : "");
    ok &= good;
}

/* The tiny shape of a row in one layout. */
static fx_tensor tensor_of(const row *r, gboolean ldm)
{
    fx_tensor t = { ldm ? r->ldm : r->diff, "F32", 1, { 1 }, r->diff };
    if (r->conv1x1) {
        t.ndim = ldm ? 4 : 2;
        t.shape[0] = t.shape[1] = 2;
        t.shape[2] = t.shape[3] = 1;
    } else if (!strcmp(r->diff, "conv_in.weight")) {
        t.ndim = 4;
        t.shape[0] = 320, t.shape[1] = 4, t.shape[2] = t.shape[3] = 3;
    } else if (g_str_has_suffix(r->diff, "attn2.to_k.weight")) {
        t.ndim = 2;
        t.shape[0] = 1, t.shape[1] = 768;
    } else if (!strcmp(r->diff, "text_model.final_layer_norm.weight")) {
        t.shape[0] = 768;
    }
    if (!strcmp(r->part, "text_encoder"))
        t.dtype = "F16"; /* one component in half precision, as fp16 checkpoints have */
    return t;
}

static void compare(rg_model *single, rg_model *folder, const char *part, GArray *rows)
{
    GError *e = NULL;
    g_autoptr(rg_weights) a = rg_model_weights(single, part, &e);
    g_autoptr(rg_weights) b = rg_model_weights(folder, part, &e);
    rg_assert_no_error(e);
    g_autoptr(GPtrArray) na = rg_weights_names(a);
    g_autoptr(GPtrArray) nb = rg_weights_names(b);
    int expected = 0, same = 0;
    for (guint i = 0; i < rows->len; i++) {
        const row *r = &g_array_index(rows, row, i);
        if (strcmp(r->part, part))
            continue;
        expected++;
        fx_tensor t = tensor_of(r, FALSE);
        int nd1, nd2;
        int64_t s1[RG_MAX_DIMS], s2[RG_MAX_DIMS];
        if (!rg_weights_info(a, r->diff, NULL, &nd1, s1) || !rg_weights_info(b, r->diff, NULL, &nd2, s2)) {
            report(FALSE, "tensor in both layouts", r->diff);
            continue;
        }
        g_autoptr(rg_tensor) ta = rg_weights_load(a, r->diff, t.ndim, t.shape, &e);
        g_autoptr(rg_tensor) tb = rg_weights_load(b, r->diff, t.ndim, t.shape, &e);
        rg_assert_no_error(e);
        if (fx_check(ta, r->diff, t.ndim, t.shape) && fx_check(tb, r->diff, t.ndim, t.shape))
            same++;
        else
            report(FALSE, "same values", r->diff);
    }
    g_autofree char *detail = g_strdup_printf("%d expected, single file %u, folder %u, %d identical", expected, na->len,
                                              nb->len, same);
    report(na->len == (guint)expected && nb->len == (guint)expected && same == expected,
           part, detail);
}

int main(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(RG_SD15_TENSORS_TSV, &text, NULL, NULL)) {
        g_print("SKIP %s is absent\n", RG_SD15_TENSORS_TSV);
        return 77;
    }
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autoptr(GArray) rows = g_array_new(FALSE, TRUE, sizeof(row));
    for (int l = 1; lines[l]; l++) {
        g_auto(GStrv) f = g_strsplit(lines[l], "\t", -1);
        if (g_strv_length(f) != 5)
            continue;
        char *slash = strchr(f[3], '/');
        g_assert_nonnull(slash);
        row r = { g_strndup(f[3], (gsize)(slash - f[3])), g_strdup(f[1]), g_strdup(slash + 1), strcmp(f[2], f[4]) != 0 };
        g_array_append_val(rows, r);
    }
    g_autofree char *dir = fx_tmpdir();

    /* the single file: every LDM name, plus what real files carry besides */
    g_autoptr(GArray) all = g_array_new(FALSE, TRUE, sizeof(fx_tensor));
    for (guint i = 0; i < rows->len; i++) {
        fx_tensor t = tensor_of(&g_array_index(rows, row, i), TRUE);
        g_array_append_val(all, t);
    }
    const char *extra[] = { "betas", "alphas_cumprod", "cond_stage_model.transformer.text_model.embeddings.position_ids",
                            "model_ema.decay", "model_ema.diffusion_modeltime_embed0weight" };
    for (size_t i = 0; i < G_N_ELEMENTS(extra); i++) {
        fx_tensor t = { extra[i], "F32", 1, { 3 }, NULL };
        g_array_append_val(all, t);
    }
    g_autofree char *single = fx_path(dir, "v1-5-tiny.safetensors", NULL);
    fx_write(single, (int)all->len, (fx_tensor *)all->data);

    /* the folder: one file per component */
    const char *parts[3] = { "unet", "vae", "text_encoder" };
    for (int p = 0; p < 3; p++) {
        g_autoptr(GArray) ts = g_array_new(FALSE, TRUE, sizeof(fx_tensor));
        for (guint i = 0; i < rows->len; i++) {
            const row *r = &g_array_index(rows, row, i);
            if (!strcmp(r->part, parts[p])) {
                fx_tensor t = tensor_of(r, FALSE);
                g_array_append_val(ts, t);
            }
        }
        g_autofree char *f = fx_path(dir, "folder", parts[p], p == 2 ? "model.safetensors"
                                                                     : "diffusion_pytorch_model.safetensors", NULL);
        fx_write(f, (int)ts->len, (fx_tensor *)ts->data);
    }
    g_autofree char *folder = fx_path(dir, "folder", NULL);

    GError *e = NULL;
    g_autoptr(rg_model) a = rg_model_open(single, &e);
    g_autoptr(rg_model) b = rg_model_open(folder, &e);
    rg_assert_no_error(e);
    report(!strcmp(rg_model_type_name(a), "Stable Diffusion 1.x") && !strcmp(rg_model_type_name(b), "Stable Diffusion 1.x"),
           "both layouts read as Stable Diffusion 1.x", rg_model_type_name(a));
    fx_capture_start();
    for (int p = 0; p < 3; p++)
        compare(a, b, parts[p], rows);
    int notes;
    g_autofree char *caught = fx_capture_stop(&notes);
    report(notes == 1 && strstr(caught, "2 EMA copies (model_ema.*) and 3 other tensors"), "one note on what was ignored",
           caught);
    g_autofree char *d = rg_model_describe(a);
    report(strstr(d, "unet          686 tensors") && strstr(d, "vae           248 tensors") &&
               strstr(d, "text_encoder  196 tensors") && strstr(d, "8 weights stored as 1x1 convolutions"),
           "describe counts", NULL);

    for (guint i = 0; i < rows->len; i++) {
        row *r = &g_array_index(rows, row, i);
        g_free(r->part);
        g_free(r->ldm);
        g_free(r->diff);
    }
    fx_rmtree(dir);
    g_print("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
