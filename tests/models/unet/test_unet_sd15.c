/* test_unet_sd15.c — the tensors rg_unet_config_init_sd15() asks for are
 * exactly SD1.5's: every unet row of ../shared/docs/sd15_tensors.tsv
 * (diffusers name and shape), the published counts (686 tensors,
 * 859,520,964 parameters), and the 12 decoder features. Skips (exit 77) when
 * the TSV is absent; the counts are checked first either way. */
#include <stdio.h>
#include <string.h>

#include "models/unet/unet_internal.h"
#include "rg_test.h"

typedef struct {
    GHashTable *shapes; /* name -> "1280x320" */
    int64_t params;
} listing;

static void record(const char *name, int ndim, const int64_t *shape, gpointer user_data)
{
    listing *l = user_data;
    GString *s = g_string_new(NULL);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        g_string_append_printf(s, i ? "x%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, shape[i]);
        n *= shape[i];
    }
    l->params += n;
    if (g_hash_table_contains(l->shapes, name))
        g_print("NOT OK %s asked for twice\n", name);
    g_hash_table_insert(l->shapes, g_strdup(name), g_string_free(s, FALSE));
}

static rg_tensor *dummy_source(const char *name, int ndim, const int64_t *shape, gpointer data, GError **error)
{
    (void)name;
    (void)ndim;
    (void)shape;
    (void)error;
    return rg_tensor_ref(data);
}

static gboolean features(const rg_unet_config *c)
{
    GError *error = NULL;
    const int64_t one[1] = {1};
    g_autoptr(rg_tensor) dummy = rg_tensor_new(RG_DTYPE_F32, 1, one, &error);
    g_autoptr(rg_unet) u = rg_unet_new_from_source(c, dummy_source, dummy, &error);
    rg_assert_no_error(error);
    static const int channels[12] = {1280, 1280, 1280, 1280, 1280, 1280, 640, 640, 640, 320, 320, 320};
    static const int factors[12] = {8, 8, 8, 4, 4, 4, 2, 2, 2, 1, 1, 1};
    gboolean ok = rg_unet_n_features(u) == 12 && rg_unet_size_multiple(u) == 8;
    for (int k = 0; ok && k < 12; k++)
        ok = rg_unet_feature_channels(u, k) == channels[k] && rg_unet_feature_factor(u, k) == factors[k];
    g_print("%s SD1.5: 12 features of 1280 (1/8), 1280 (1/4), 640 (1/2), 320 (1/1) channels\n", ok ? "OK" : "NOT OK");
    return ok;
}

int main(void)
{
    GError *error = NULL;
    rg_unet_config c;
    rg_unet_config_init_sd15(&c);
    listing l = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free), 0};
    g_assert_true(rg_unet_required_tensors(&c, record, &l, &error));
    rg_assert_no_error(error);
    gboolean ok = g_hash_table_size(l.shapes) == 686 && l.params == 859520964;
    g_print("%s SD1.5 UNet: %u tensors, %" G_GINT64_FORMAT " parameters (expected 686, 859520964)\n",
            ok ? "OK" : "NOT OK", g_hash_table_size(l.shapes), l.params);
    ok &= features(&c);

    g_autofree char *text = NULL;
    if (!g_file_get_contents(RG_SD15_TENSORS_TSV, &text, NULL, NULL)) {
        g_print("SKIP %s is absent\n", RG_SD15_TENSORS_TSV);
        g_hash_table_unref(l.shapes);
        return ok ? 77 : 1;
    }
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    int rows = 0, bad = 0;
    for (int i = 1; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], "\t", -1);
        if (g_strv_length(f) < 5 || strcmp(f[0], "unet") != 0)
            continue;
        rows++;
        const char *name = g_str_has_prefix(f[3], "unet/") ? f[3] + 5 : f[3];
        const char *want = g_strstrip(f[4]);
        const char *got = g_hash_table_lookup(l.shapes, name);
        if (!got || strcmp(got, want) != 0) {
            if (bad++ < 10)
                g_print("NOT OK %s: TSV %s, the SD1.5 config asks for %s\n", name, want, got ? got : "nothing");
        } else {
            g_hash_table_remove(l.shapes, name);
        }
    }
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, l.shapes);
    while (g_hash_table_iter_next(&it, &k, NULL))
        if (bad++ < 20)
            g_print("NOT OK %s asked for, not in the TSV\n", (const char *)k);
    gboolean tsv = bad == 0 && rows == 686;
    g_print("%s every unet row of %s (%d) matches name and shape\n", tsv ? "OK" : "NOT OK", RG_SD15_TENSORS_TSV, rows);
    g_hash_table_unref(l.shapes);
    ok &= tsv;
    g_print("%s\n", ok ? "ALL OK" : "FAILED");
    return ok ? 0 : 1;
}
