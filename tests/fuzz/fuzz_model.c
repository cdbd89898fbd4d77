/* fuzz_model.c — libFuzzer target for model detection (core/models/loader):
 * layout, name maps, config and index JSON, model type. Any input must give
 * an rg_model or a GError, never a crash, and every tensor a model lists must
 * load (or fail cleanly) with the shape the model reports.
 *
 * Input: one mode byte, then parts separated by "\n--\n".
 *  mode even: part 0 is a single .safetensors checkpoint.
 *  mode odd:  a diffusers folder: model_index.json, unet/config.json,
 *             unet/diffusion_pytorch_model.safetensors,
 *             unet/diffusion_pytorch_model.safetensors.index.json,
 *             vae/diffusion_pytorch_model.safetensors (empty parts: absent).
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "readout/model.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* NaN warnings and ignored-tensor notes are expected here; printing them
 * would only slow the fuzzer down. */
static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
}

static const char *const folder_files[] = {
    "model_index.json",
    "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors",
    "unet/diffusion_pytorch_model.safetensors.index.json",
    "vae/diffusion_pytorch_model.safetensors",
};

static void exercise(rg_model *m)
{
    g_free(rg_model_describe(m));
    rg_model_check(m, NULL);
    g_free(rg_model_tokenizer_dir(m));
    const char *parts[] = { "unet", "vae", "text_encoder", "tokenizer" };
    for (size_t p = 0; p < G_N_ELEMENTS(parts); p++) {
        g_free(rg_model_config_path(m, parts[p]));
        rg_model_has_component(m, parts[p]);
        GError *error = NULL;
        rg_weights *w = rg_model_weights(m, parts[p], &error);
        if (!w) {
            g_assert(error != NULL && error->domain == RG_ERROR);
            g_error_free(error);
            continue;
        }
        GPtrArray *names = rg_weights_names(w);
        for (guint i = 0; i < names->len; i++) {
            int ndim;
            int64_t shape[RG_MAX_DIMS];
            if (!rg_weights_info(w, names->pdata[i], NULL, &ndim, shape))
                continue;
            rg_tensor *t = rg_weights_load(w, names->pdata[i], ndim, shape, &error);
            if (t)
                rg_tensor_unref(t);
            g_clear_error(&error);
        }
        g_ptr_array_unref(names);
        rg_weights_free(w);
    }
}

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    static char *root;
    if (!root) {
        g_log_set_handler("Readout-core", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_WARNING, drop_log, NULL);
        root = g_strdup_printf("%s/rg-fuzz-model-%d", g_get_tmp_dir(), (int)getpid());
        g_autofree char *unet = g_build_filename(root, "folder", "unet", NULL);
        g_autofree char *vae = g_build_filename(root, "folder", "vae", NULL);
        g_mkdir_with_parents(unet, 0700);
        g_mkdir_with_parents(vae, 0700);
    }
    if (size < 1)
        return 0;
    gboolean folder = data[0] & 1;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    g_autofree char *single = g_build_filename(root, "model.safetensors", NULL);
    g_autofree char *dir = g_build_filename(root, "folder", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(folder_files); i++) {
        g_autofree char *f = g_build_filename(dir, folder_files[i], NULL);
        g_unlink(f);
    }
    for (size_t i = 0; i < (folder ? G_N_ELEMENTS(folder_files) : 1); i++) {
        const char *sep = p < end ? g_strstr_len(p, end - p, "\n--\n") : NULL;
        const char *stop = sep ? sep : end;
        g_autofree char *f = folder ? g_build_filename(dir, folder_files[i], NULL) : g_strdup(single);
        if (stop > p && !g_file_set_contents(f, p, stop - p, NULL))
            return 0;
        p = sep ? sep + 4 : end;
    }
    GError *error = NULL;
    rg_model *m = rg_model_open(folder ? dir : single, &error);
    if (!m) {
        g_assert(error != NULL && error->domain == RG_ERROR);
        g_error_free(error);
        return 0;
    }
    exercise(m);
    rg_model_free(m);
    return 0;
}
