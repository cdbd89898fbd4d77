/* sd15_fixture.h — Stable Diffusion 1.5 with generated weights, for tests and
 * benchmarks that need the real architecture but not the real weights.
 *
 * The tensor list is ../shared/docs/sd15_tensors.tsv (a header line, then per
 * tensor: index, LDM name, LDM shape, "part/diffusers name", diffusers shape;
 * shapes as 320x4x3x3). Every tensor gets small pseudo-random values that
 * depend only on its "part/diffusers name": uniform in +-0.02, and 1 +- 0.02
 * for the weights of norm layers, so the models run stably and both layouts
 * (LDM single file, diffusers folder) hold the same numbers. Files are F16
 * safetensors, written one chunk at a time (~1.7 GB for the whole model).
 *
 *   g_autoptr(GArray) rows = sd15_rows_read(RG_SD15_TENSORS_TSV, &error);   // sd15_rows_free
 *   sd15_write_folder("/tmp/sd15", rows, &error);   // unet/ vae/ text_encoder/ + configs
 *
 * The folder has no tokenizer/: copy a CLIP vocab.json and merges.txt there
 * (or set READOUT_TOKENIZER_DIR) when the text encoder must run on prompts.
 */
#pragma once

#include "readout/readout.h"

G_BEGIN_DECLS

/* One tensor of the list. */
typedef struct {
    char *part;          /* "unet", "vae", "text_encoder" */
    char *ldm, *diff;    /* names in the single file and in the part's file */
    char *key;           /* "part/diff": what the values are generated from */
    int ldm_ndim, diff_ndim;
    int64_t ldm_shape[4], diff_shape[4];
    int64_t numel;
} sd15_row;

/* The rows (sd15_row) of the TSV text / file. Lines without 5 fields are
 * skipped. Errors: RG_ERROR_FORMAT (a bad name or shape, naming the line),
 * G_FILE_ERROR (the file cannot be read). Free with sd15_rows_free(). */
GArray *sd15_rows_parse(const char *tsv_text, GError **error);
GArray *sd15_rows_read(const char *tsv_path, GError **error);
void sd15_rows_free(GArray *rows);
/* Bytes the rows of @part (all when NULL) take as F16. */
guint64 sd15_rows_bytes(GArray *rows, const char *part);

/* Writes the rows of @part (all when NULL) to the safetensors file @path as
 * F16, named by their LDM (@ldm TRUE: model.diffusion_model.*, ...) or
 * diffusers names; creates the folder. Errors: RG_ERROR_IO. */
gboolean sd15_write_checkpoint(const char *path, GArray *rows, const char *part, gboolean ldm,
                               GError **error);
/* A diffusers folder at @dir: model_index.json, and unet/, vae/,
 * text_encoder/ each with SD1.5's config.json as published and its weights.
 * Errors: RG_ERROR_IO, G_FILE_ERROR. */
gboolean sd15_write_folder(const char *dir, GArray *rows, GError **error);

G_END_DECLS
