/* status.h — status codes inside hot paths, and the one place that turns
 * them into a GError (STYLE_ANCHORS §9).
 */
#pragma once

#include "readout/readout.h"

typedef enum {
    RG_STATUS_OK = 0,
    RG_STATUS_BAD_SHAPE = 1,
    RG_STATUS_OUT_OF_MEMORY = 2,
    RG_STATUS_DEVICE = 3,
    RG_STATUS_UNSUPPORTED = 4,
    RG_STATUS_CANCELLED = 5,
} rg_status;

/* Sets @error from a non-OK @status, naming @op; returns FALSE for non-OK. */
gboolean rg_status_to_error(rg_status status, const char *op, const char *detail, GError **error);

/* 64-byte aligned allocation that reports failure instead of aborting. */
void *rg_aligned_alloc(size_t nbytes);
void rg_aligned_free(void *p);
