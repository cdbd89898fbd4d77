/* zip_stored.h — a bounds-checked reader of zip archives held in memory
 * whose entries are STORED (not compressed), as torch.save writes them.
 * Internal to libreadout; implemented in core/io/zip_stored.c.
 *
 * Every offset and size in the archive is checked against the buffer before
 * it is used; compressed or encrypted entries, duplicate names and entries
 * whose bytes fall outside the buffer are errors (RG_ERROR_FORMAT) that name
 * @what (the file) and the entry.
 */
#pragma once

#include "readout/readout.h"

typedef struct {
    char *name;
    const guint8 *data; /* inside the caller's buffer */
    guint64 size;
    guint32 crc32;      /* as the central directory declares it */
} rg_zip_entry;

typedef struct rg_zip rg_zip;

/* Reads the central directory of @len bytes at @buf (which must outlive the
 * rg_zip). Errors: RG_ERROR_FORMAT. */
rg_zip *rg_zip_open(const guint8 *buf, gsize len, const char *what, GError **error);
void rg_zip_free(rg_zip *zip);
int rg_zip_count(const rg_zip *zip);
const rg_zip_entry *rg_zip_entry_at(const rg_zip *zip, int i);
/* NULL when there is no entry called @name. */
const rg_zip_entry *rg_zip_find(const rg_zip *zip, const char *name);
/* Checks the CRC-32 of @e. Errors: RG_ERROR_FORMAT. */
gboolean rg_zip_check_crc(const rg_zip_entry *e, const char *what, GError **error);
