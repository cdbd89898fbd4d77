/* fuzz_safetensors.c — libFuzzer target for the safetensors reader: any
 * bytes must give either a valid handle or a GError, never a crash, and
 * every tensor the header promises must load within the file. */
#include <glib/gstdio.h>
#include <unistd.h>

#include "readout/readout.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* NaN warnings and ignored-tensor notes are expected here; printing them
 * would only slow the fuzzer down. */
static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
}

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    static char *path;
    if (!path) {
        g_log_set_handler("Readout-core", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_WARNING, drop_log, NULL);
        path = g_strdup_printf("%s/rg-fuzz-%d.safetensors", g_get_tmp_dir(), (int)getpid());
    }
    if (!g_file_set_contents(path, (const char *)data, (gssize)size, NULL))
        return 0;
    GError *error = NULL;
    rg_safetensors *st = rg_safetensors_open(path, &error);
    if (!st) {
        g_assert(error != NULL && error->domain == RG_ERROR);
        g_error_free(error);
        return 0;
    }
    for (int i = 0; i < rg_safetensors_count(st); i++) {
        rg_tensor *t = rg_safetensors_load(st, rg_safetensors_name(st, i), &error);
        if (t)
            rg_tensor_unref(t);
        g_clear_error(&error);
    }
    rg_safetensors_metadata(st, "format");
    rg_safetensors_free(st);
    return 0;
}
