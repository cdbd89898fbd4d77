/* i18n.c — where the translations are. */
#include <locale.h>

#include "i18n.h"

/* Whether @dir holds LANG/LC_MESSAGES/readout.mo for some language: the
 * installed locale folder (/usr/local/share/locale, say) exists on most
 * systems whether or not our catalogues were installed into it. */
static gboolean has_catalogue(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    if (!d)
        return FALSE;
    const char *lang;
    while ((lang = g_dir_read_name(d))) {
        g_autofree char *mo = g_build_filename(dir, lang, "LC_MESSAGES", GETTEXT_PACKAGE ".mo", NULL);
        if (g_file_test(mo, G_FILE_TEST_IS_REGULAR))
            return TRUE;
    }
    return FALSE;
}

const char *rg_locale_dir(void)
{
    const char *env = g_getenv("READOUT_LOCALE_DIR");
    if (env && *env)
        return env;
    static gsize dir;
    if (g_once_init_enter(&dir)) {
        /* Installed catalogues first, like rg_data_dir(); the build tree's
         * (po/locale, made by every build) serve runs before an install. */
        const char *found = has_catalogue(RG_INSTALLED_LOCALE_DIR) || !has_catalogue(RG_BUILD_LOCALE_DIR)
                                ? RG_INSTALLED_LOCALE_DIR
                                : RG_BUILD_LOCALE_DIR;
        g_once_init_leave(&dir, (gsize)found);
    }
    return (const char *)dir;
}

void rg_i18n_init(void)
{
    bindtextdomain(GETTEXT_PACKAGE, rg_locale_dir());
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
}
