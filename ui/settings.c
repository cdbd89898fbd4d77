/* settings.c — the remembered settings, in a GKeyFile. */
#include <errno.h>
#include <glib/gstdio.h>

#include "settings.h"

#define GROUP "dialog"

char *rg_settings_path(void)
{
    const char *dir = g_getenv("READOUT_CONFIG_DIR");
    if (dir && *dir)
        return g_build_filename(dir, "settings.ini", NULL);
    return g_build_filename(g_get_user_config_dir(), "readout", "settings.ini", NULL);
}

static char *get_string(GKeyFile *kf, const char *key, const char *fallback)
{
    char *v = g_key_file_get_string(kf, GROUP, key, NULL);
    return v ? v : g_strdup(fallback);
}

static double get_double(GKeyFile *kf, const char *key, double lo, double hi, double fallback)
{
    g_autoptr(GError) error = NULL;
    const double v = g_key_file_get_double(kf, GROUP, key, &error);
    return !error && v >= lo && v <= hi ? v : fallback;
}

void rg_settings_load(RgSettings *s)
{
    *s = (RgSettings){.preset = RG_PRESET_FAST, .seed = -1, .show_readouts = TRUE};
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree char *path = rg_settings_path();
    g_autoptr(GError) error = NULL;
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error) &&
        !g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning("the settings file %s is unreadable (%s); using the defaults", path, error->message);
    s->model = get_string(kf, "model", "");
    s->heads = get_string(kf, "heads", "");
    s->device = get_string(kf, "device", "cpu");
    s->prompt = get_string(kf, "prompt", "");
    s->negative_prompt = get_string(kf, "negative-prompt", "");
    g_autofree char *preset = get_string(kf, "preset", "fast");
    s->preset = g_str_equal(preset, "official") ? RG_PRESET_OFFICIAL : RG_PRESET_FAST;
    s->steps = (int)get_double(kf, "steps", 0, 999, 0);
    s->guidance_weight = (float)get_double(kf, "guidance-weight", 0, 10, 0);
    s->guidance_end = (float)get_double(kf, "guidance-end", 0, 1, 0);
    s->seed = (gint64)get_double(kf, "seed", -1, G_MAXINT32, -1);
    s->show_readouts = get_double(kf, "show-readouts", 0, 1, 1) != 0;
}

gboolean rg_settings_save(const RgSettings *s, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_key_file_set_string(kf, GROUP, "model", s->model ? s->model : "");
    g_key_file_set_string(kf, GROUP, "heads", s->heads ? s->heads : "");
    g_key_file_set_string(kf, GROUP, "device", s->device ? s->device : "cpu");
    g_key_file_set_string(kf, GROUP, "prompt", s->prompt ? s->prompt : "");
    g_key_file_set_string(kf, GROUP, "negative-prompt", s->negative_prompt ? s->negative_prompt : "");
    g_key_file_set_string(kf, GROUP, "preset", s->preset == RG_PRESET_OFFICIAL ? "official" : "fast");
    g_key_file_set_integer(kf, GROUP, "steps", s->steps);
    g_key_file_set_double(kf, GROUP, "guidance-weight", s->guidance_weight);
    g_key_file_set_double(kf, GROUP, "guidance-end", s->guidance_end);
    g_key_file_set_int64(kf, GROUP, "seed", s->seed);
    g_key_file_set_integer(kf, GROUP, "show-readouts", s->show_readouts ? 1 : 0);
    g_autofree char *path = rg_settings_path();
    g_autofree char *dir = g_path_get_dirname(path);
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        int err = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "cannot make the settings folder %s: %s", dir,
                    g_strerror(err));
        return FALSE;
    }
    return g_key_file_save_to_file(kf, path, error);
}

void rg_settings_clear(RgSettings *s)
{
    g_free(s->model);
    g_free(s->heads);
    g_free(s->device);
    g_free(s->prompt);
    g_free(s->negative_prompt);
    *s = (RgSettings){0};
}

void rg_settings_apply(const RgSettings *s, RgRequest *r)
{
    g_free(r->model);
    r->model = g_strdup(s->model);
    g_free(r->heads);
    r->heads = g_strdup(s->heads);
    g_free(r->device);
    r->device = g_strdup(s->device);
    r->preset = s->preset;
    r->steps = s->steps;
    r->guidance_weight = s->guidance_weight;
    r->guidance_end = s->guidance_end;
    if (s->seed >= 0)
        r->seed = (guint64)s->seed;
}
