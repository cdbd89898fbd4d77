/* i18n.c — where the translations are. */
#include <locale.h>

#include "i18n.h"

const char *rg_locale_dir(void)
{
    const char *env = g_getenv("READOUT_LOCALE_DIR");
    if (env && *env)
        return env;
    if (g_file_test(RG_INSTALLED_LOCALE_DIR, G_FILE_TEST_IS_DIR) || !g_file_test(RG_BUILD_LOCALE_DIR, G_FILE_TEST_IS_DIR))
        return RG_INSTALLED_LOCALE_DIR;
    return RG_BUILD_LOCALE_DIR;
}

void rg_i18n_init(void)
{
    bindtextdomain(GETTEXT_PACKAGE, rg_locale_dir());
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
}
