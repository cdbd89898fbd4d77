/* settings.h — the dialog's remembered settings, one key file shared by the
 * GIMP plug-ins and readout-studio: $XDG_CONFIG_HOME/readout/settings.ini
 * ($READOUT_CONFIG_DIR overrides the folder, for tests). */
#pragma once

#include <glib.h>

#include "request.h"

G_BEGIN_DECLS

typedef struct {
    char *model;        /* "" = the demo model */
    char *heads;        /* "" = the model's own */
    char *device;       /* "cpu" or "cuda" */
    char *prompt, *negative_prompt;
    RgPreset preset;
    int steps;          /* 0 = the preset's */
    float guidance_weight;
    float guidance_end;
    gint64 seed;        /* -1: a new random seed each run */
    gboolean show_readouts;
} RgSettings;

/* The defaults, then what the settings file holds; a missing or unreadable
 * file leaves the defaults (a broken one is reported with g_warning). */
void rg_settings_load(RgSettings *s);
gboolean rg_settings_save(const RgSettings *s, GError **error);
void rg_settings_clear(RgSettings *s);
char *rg_settings_path(void);
/* Copies the settings into @r: model, heads, device, preset, steps, guidance,
 * and the seed when it is fixed. Prompts are the caller's. */
void rg_settings_apply(const RgSettings *s, RgRequest *r);

G_END_DECLS
