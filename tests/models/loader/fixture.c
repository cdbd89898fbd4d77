/* fixture.c — see fixture.h. */
#include "fixture.h"

#include <glib/gstdio.h>
#include <string.h>

float fx_value(const char *key, int64_t i)
{
    guint h = g_str_hash(key);
    return (float)((h + (guint)i * 7u) % 256u) / 8.0f - 16.0f;
}

static void make_parent(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_assert_true(g_mkdir_with_parents(dir, 0755) == 0);
}

void fx_write(const char *path, int n, const fx_tensor *t)
{
    g_autoptr(GString) h = g_string_new("{\"__metadata__\": {\"format\": \"pt\"}");
    g_autoptr(GByteArray) data = g_byte_array_new();
    for (int k = 0; k < n; k++) {
        int64_t numel = 1;
        g_autoptr(GString) shape = g_string_new("[");
        for (int d = 0; d < t[k].ndim; d++) {
            numel *= t[k].shape[d];
            g_string_append_printf(shape, "%s%" G_GINT64_FORMAT, d ? ", " : "", t[k].shape[d]);
        }
        g_string_append_c(shape, ']');
        const char *key = t[k].key ? t[k].key : t[k].name;
        guint64 begin = data->len;
        for (int64_t i = 0; i < numel; i++) {
            float v = fx_value(key, i);
            if (!strcmp(t[k].dtype, "F32")) {
                g_byte_array_append(data, (const guint8 *)&v, 4);
            } else if (!strcmp(t[k].dtype, "F16") || !strcmp(t[k].dtype, "BF16")) {
                guint16 x = !strcmp(t[k].dtype, "F16") ? rg_f32_to_f16(v) : rg_f32_to_bf16(v);
                g_byte_array_append(data, (const guint8 *)&x, 2);
            } else {
                gint64 x = i;
                g_byte_array_append(data, (const guint8 *)&x, 8);
            }
        }
        g_string_append_printf(h, ", \"%s\": {\"dtype\": \"%s\", \"shape\": %s, \"data_offsets\": [%" G_GUINT64_FORMAT
                               ", %u]}", t[k].name, t[k].dtype, shape->str, begin, data->len);
    }
    g_string_append_c(h, '}');
    while (h->len % 8)
        g_string_append_c(h, ' ');
    guint64 hlen = h->len;
    g_autoptr(GByteArray) file = g_byte_array_new();
    g_byte_array_append(file, (const guint8 *)&hlen, 8); /* little-endian hosts only */
    g_byte_array_append(file, (const guint8 *)h->str, (guint)h->len);
    g_byte_array_append(file, data->data, data->len);
    make_parent(path);
    g_assert_true(g_file_set_contents(path, (const char *)file->data, file->len, NULL));
}

void fx_text(const char *path, const char *text)
{
    make_parent(path);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

char *fx_tmpdir(void)
{
    char *d = g_dir_make_tmp("rg-loader-XXXXXX", NULL);
    g_assert_nonnull(d);
    return d;
}

void fx_rmtree(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
        g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
        for (const char *n; d && (n = g_dir_read_name(d));) {
            g_autofree char *p = g_build_filename(path, n, NULL);
            fx_rmtree(p);
        }
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

char *fx_path(const char *dir, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    g_autoptr(GString) s = g_string_new(dir);
    for (const char *p = first; p; p = va_arg(ap, const char *)) {
        g_string_append_c(s, G_DIR_SEPARATOR);
        g_string_append(s, p);
    }
    va_end(ap);
    return g_string_free(g_steal_pointer(&s), FALSE);
}

gboolean fx_check(rg_tensor *t, const char *key, int ndim, const int64_t *shape)
{
    if (!t || rg_tensor_ndim(t) != ndim)
        return FALSE;
    for (int d = 0; d < ndim; d++)
        if (rg_tensor_shape(t)[d] != shape[d])
            return FALSE;
    for (int64_t i = 0; i < rg_tensor_numel(t); i++)
        if (rg_tensor_get_flat(t, i) != fx_value(key, i))
            return FALSE;
    return TRUE;
}

static GString *caught;
static int n_caught;
static guint handler;

static void catch_message(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
    if (caught->len)
        g_string_append_c(caught, '\n');
    g_string_append(caught, message);
    n_caught++;
}

void fx_capture_start(void)
{
    caught = g_string_new(NULL);
    n_caught = 0;
    handler = g_log_set_handler("Readout-core", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_WARNING, catch_message, NULL);
}

char *fx_capture_stop(int *count)
{
    g_log_remove_handler("Readout-core", handler);
    if (count)
        *count = n_caught;
    return g_string_free(g_steal_pointer(&caught), FALSE);
}
