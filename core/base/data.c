/* data.c — finding the shipped data folder and the demo model in it. */
#include <string.h>

#include "readout/data.h"
#include "rg_config.h"

const char *rg_data_dir(void)
{
    const char *env = g_getenv("READOUT_DATA_DIR");
    if (env && *env)
        return env;
    if (g_file_test(RG_INSTALLED_DATA_DIR, G_FILE_TEST_IS_DIR))
        return RG_INSTALLED_DATA_DIR;
    if (g_file_test(RG_SOURCE_DATA_DIR, G_FILE_TEST_IS_DIR))
        return RG_SOURCE_DATA_DIR;
    return NULL;
}

static gboolean means_demo(const char *arg)
{
    return !arg || !*arg || !strcmp(arg, "demo");
}

/* DATA/demo/@what, which must exist. */
static char *demo_path(const char *what, GError **error)
{
    const char *dir = rg_data_dir();
    g_autofree char *path = dir ? g_build_filename(dir, "demo", what, NULL) : NULL;
    if (!path || !g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO,
                    "the demo %s is not installed (looked in %s; set READOUT_DATA_DIR to the folder holding "
                    "demo/%s, or give a path)", what, path ? path : "$READOUT_DATA_DIR, " RG_INSTALLED_DATA_DIR
                    " and " RG_SOURCE_DATA_DIR, what);
        return NULL;
    }
    return g_steal_pointer(&path);
}

char *rg_resolve_model_path(const char *arg, GError **error)
{
    return means_demo(arg) ? demo_path("model", error) : g_strdup(arg);
}

char *rg_resolve_heads_path(const char *arg, const char *model_arg, GError **error)
{
    if ((arg && !strcmp(arg, "demo")) || (!arg && means_demo(model_arg)))
        return demo_path("heads", error);
    return g_strdup(arg);
}
