/* i18n.h — gettext for the dialog and the plug-ins (domain "readout", po/). */
#pragma once

#include "rg_config.h"
#include <glib/gi18n-lib.h>

G_BEGIN_DECLS

/* The folder holding LANG/LC_MESSAGES/readout.mo: $READOUT_LOCALE_DIR, else
 * the build tree's po/locale when running from it, else the installed one. */
const char *rg_locale_dir(void);
/* Binds the "readout" domain to rg_locale_dir() in UTF-8; call once. */
void rg_i18n_init(void);

G_END_DECLS
