/* data.h — where Readout's shipped data is (the demo model, its heads and
 * tokenizer, translations), and what "demo" means for --model and --heads. */
#pragma once

#include "readout/readout.h"

G_BEGIN_DECLS

/* The data folder: $READOUT_DATA_DIR when set, else the installed one
 * (PREFIX/share/readout) when it exists, else the source tree's data/ (runs
 * from the build tree). NULL when none exists. (transfer none) */
RG_API const char *rg_data_dir(void);
/* The model folder for a --model argument: the shipped demo model for NULL,
 * "" or "demo", else @arg itself. Errors: RG_ERROR_IO when the demo model
 * is asked for and not found (naming where it was looked for). (transfer full) */
RG_API char *rg_resolve_model_path(const char *arg, GError **error);
/* The heads folder for a --heads argument: the demo model's heads for "demo",
 * and for NULL when @model_arg also means the demo model; else @arg (NULL
 * stays NULL). Errors as rg_resolve_model_path(). (transfer full) */
RG_API char *rg_resolve_heads_path(const char *arg, const char *model_arg, GError **error);

G_END_DECLS
