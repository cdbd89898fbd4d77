/* fixture.h — tiny model files for the loader tests: safetensors files with
 * chosen names, dtypes and shapes whose values are a function of a key (the
 * diffusers name, so that both layouts hold the same numbers), text files,
 * and a temporary folder removed at the end. */
#pragma once

#include "rg_test.h"

typedef struct {
    const char *name;  /* as stored */
    const char *dtype; /* "F32", "F16", "BF16", "I64" */
    int ndim;
    int64_t shape[RG_MAX_DIMS];
    const char *key; /* values come from this key; NULL: from name */
} fx_tensor;

/* Value @i of the tensor with key @key: k/8 - 16 for k < 256, exact in F16 and BF16. */
float fx_value(const char *key, int64_t i);
/* Writes @n tensors to @path (folders are made). Aborts the test on failure. */
void fx_write(const char *path, int n, const fx_tensor *t);
/* Writes @text to @path (folders are made). */
void fx_text(const char *path, const char *text);
/* A new temporary folder, and its removal with everything in it. */
char *fx_tmpdir(void);
void fx_rmtree(const char *path);
/* g_build_filename(dir, ..., NULL) */
char *fx_path(const char *dir, const char *first, ...) G_GNUC_NULL_TERMINATED;
/* Whether loaded @t has the shape and the values of key @key. */
gboolean fx_check(rg_tensor *t, const char *key, int ndim, const int64_t *shape);

/* Log messages of the "Readout-core" domain, caught while capturing. */
void fx_capture_start(void);
/* The messages caught since fx_capture_start(), joined by '\n'. (transfer full) */
char *fx_capture_stop(int *count);
