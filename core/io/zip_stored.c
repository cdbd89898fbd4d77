/* zip_stored.c — reading STORED entries of an in-memory zip archive (see
 * zip_stored.h). Layout (APPNOTE 6.3): local headers and data, then the
 * central directory, then the end-of-central-directory record (EOCD), with a
 * zip64 EOCD record and locator before it when counts or offsets overflow
 * 16/32 bits. torch.save writes zip64 fields only for archives over 4 GiB
 * and pads local headers with an extra field so that data is 64-byte aligned.
 */
#include <string.h>

#include "io/zip_stored.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define CENTRAL_SIZE 46u
#define LOCAL_SIZE 30u
#define EOCD_SIZE 22u

struct rg_zip {
    GArray *entries;     /* rg_zip_entry */
    GHashTable *by_name; /* name -> index + 1 */
};

static guint32 rd16(const guint8 *p) { return (guint32)p[0] | (guint32)p[1] << 8; }
static guint32 rd32(const guint8 *p) { return rd16(p) | rd16(p + 2) << 16; }
static guint64 rd64(const guint8 *p) { return (guint64)rd32(p) | (guint64)rd32(p + 4) << 32; }

static gboolean fail(GError **error, const char *what, const char *fmt, const char *detail)
{
    g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: not a valid zip archive: %s%s", what, fmt, detail ? detail : "");
    return FALSE;
}

/* Sizes and offset of a central entry, with the zip64 extra field (id 1)
 * supplying those that are 0xFFFFFFFF, in the order usize, csize, offset. */
static gboolean zip64_fields(const guint8 *extra, guint32 xlen, guint64 *usize, guint64 *csize, guint64 *offset)
{
    guint64 *want[3] = {usize, csize, offset};
    gboolean need = FALSE;
    for (int k = 0; k < 3; k++)
        need |= *want[k] == 0xFFFFFFFFu;
    if (!need)
        return TRUE;
    for (guint32 p = 0; p + 4 <= xlen;) {
        guint32 id = rd16(extra + p), n = rd16(extra + p + 2);
        if (p + 4 + n > xlen)
            return FALSE;
        if (id == 1) {
            guint32 q = p + 4;
            for (int k = 0; k < 3; k++) {
                if (*want[k] != 0xFFFFFFFFu)
                    continue;
                if (q + 8 > p + 4 + n)
                    return FALSE;
                *want[k] = rd64(extra + q);
                q += 8;
            }
            return TRUE;
        }
        p += 4 + n;
    }
    return FALSE;
}

static void entry_clear(gpointer p)
{
    g_free(((rg_zip_entry *)p)->name);
}

rg_zip *rg_zip_open(const guint8 *buf, gsize len, const char *what, GError **error)
{
    if (len < EOCD_SIZE) {
        fail(error, what, "too short", NULL);
        return NULL;
    }
    /* The EOCD is the last 22 bytes plus a comment of at most 65535. */
    gsize eocd = 0;
    gboolean found = FALSE;
    for (gsize p = len - EOCD_SIZE + 1; p-- > 0 && len - p <= EOCD_SIZE + 0xFFFFu;) {
        if (rd32(buf + p) == SIG_EOCD && p + EOCD_SIZE + rd16(buf + p + 20) == len) {
            eocd = p;
            found = TRUE;
            break;
        }
    }
    if (!found) {
        fail(error, what, "no end-of-central-directory record (truncated?)", NULL);
        return NULL;
    }
    guint64 count = rd16(buf + eocd + 10), cd_size = rd32(buf + eocd + 12), cd_off = rd32(buf + eocd + 16);
    gsize cd_end_limit = eocd;
    if (count == 0xFFFFu || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
        if (eocd < 20 || rd32(buf + eocd - 20) != SIG_LOCATOR64) {
            fail(error, what, "zip64 locator missing", NULL);
            return NULL;
        }
        guint64 rec = rd64(buf + eocd - 20 + 8);
        if (rec > eocd - 20 || eocd - 20 - rec < 56 || rd32(buf + rec) != SIG_EOCD64) {
            fail(error, what, "zip64 end-of-central-directory record out of place", NULL);
            return NULL;
        }
        count = rd64(buf + rec + 32);
        cd_size = rd64(buf + rec + 40);
        cd_off = rd64(buf + rec + 48);
        cd_end_limit = rec;
    }
    if (cd_off > cd_end_limit || cd_size > cd_end_limit - cd_off) {
        fail(error, what, "central directory outside the file (truncated?)", NULL);
        return NULL;
    }
    if (count > cd_size / CENTRAL_SIZE) {
        fail(error, what, "more entries declared than the central directory holds", NULL);
        return NULL;
    }
    rg_zip *zip = g_new0(rg_zip, 1);
    zip->entries = g_array_new(FALSE, TRUE, sizeof(rg_zip_entry));
    g_array_set_clear_func(zip->entries, entry_clear);
    zip->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    guint64 p = cd_off, cd_end = cd_off + cd_size;
    for (guint64 i = 0; i < count; i++) {
        if (cd_end - p < CENTRAL_SIZE || rd32(buf + p) != SIG_CENTRAL) {
            fail(error, what, "bad central directory entry", NULL);
            goto bad;
        }
        const guint8 *c = buf + p;
        guint32 flags = rd16(c + 8), method = rd16(c + 10);
        guint32 nlen = rd16(c + 28), xlen = rd16(c + 30), clen = rd16(c + 32);
        guint64 csize = rd32(c + 20), usize = rd32(c + 24), lho = rd32(c + 42);
        if (cd_end - p - CENTRAL_SIZE < (guint64)nlen + xlen + clen) {
            fail(error, what, "central directory entry runs past the directory", NULL);
            goto bad;
        }
        char *name = g_strndup((const char *)c + CENTRAL_SIZE, nlen);
        rg_zip_entry e = {.name = name, .crc32 = rd32(c + 16)};
        g_array_append_val(zip->entries, e);
        if (strlen(name) != nlen || !g_utf8_validate(name, -1, NULL)) {
            fail(error, what, "an entry name is not UTF-8 text", NULL);
            goto bad;
        }
        if (flags & 1u) {
            fail(error, what, "encrypted entry ", name);
            goto bad;
        }
        if (method != 0) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT,
                        "%s: zip entry %s is compressed (method %u); only stored entries are read, as "
                        "torch.save writes them",
                        what, name, method);
            goto bad;
        }
        if (!zip64_fields(c + CENTRAL_SIZE + nlen, xlen, &usize, &csize, &lho)) {
            fail(error, what, "bad zip64 extra field in entry ", name);
            goto bad;
        }
        if (csize != usize) {
            fail(error, what, "stored entry with different sizes: ", name);
            goto bad;
        }
        if (lho > cd_off || cd_off - lho < LOCAL_SIZE || rd32(buf + lho) != SIG_LOCAL) {
            fail(error, what, "bad local header for entry ", name);
            goto bad;
        }
        guint64 start = lho + LOCAL_SIZE + rd16(buf + lho + 26) + rd16(buf + lho + 28);
        if (start > cd_off || usize > cd_off - start) {
            fail(error, what, "data outside the archive (truncated?) for entry ", name);
            goto bad;
        }
        if (g_hash_table_contains(zip->by_name, name)) {
            fail(error, what, "duplicate entry ", name);
            goto bad;
        }
        rg_zip_entry *stored = &g_array_index(zip->entries, rg_zip_entry, zip->entries->len - 1);
        stored->data = buf + start;
        stored->size = usize;
        g_hash_table_insert(zip->by_name, name, GUINT_TO_POINTER(zip->entries->len));
        p += CENTRAL_SIZE + nlen + xlen + clen;
    }
    return zip;
bad:
    rg_zip_free(zip);
    return NULL;
}

void rg_zip_free(rg_zip *zip)
{
    if (!zip)
        return;
    g_hash_table_destroy(zip->by_name);
    g_array_free(zip->entries, TRUE);
    g_free(zip);
}

int rg_zip_count(const rg_zip *zip) { return (int)zip->entries->len; }

const rg_zip_entry *rg_zip_entry_at(const rg_zip *zip, int i)
{
    return &g_array_index(zip->entries, rg_zip_entry, i);
}

const rg_zip_entry *rg_zip_find(const rg_zip *zip, const char *name)
{
    guint i = GPOINTER_TO_UINT(g_hash_table_lookup(zip->by_name, name));
    return i ? &g_array_index(zip->entries, rg_zip_entry, i - 1) : NULL;
}

gboolean rg_zip_check_crc(const rg_zip_entry *e, const char *what, GError **error)
{
    static guint32 table[256];
    static gsize init;
    if (g_once_init_enter(&init)) {
        for (guint32 n = 0; n < 256; n++) {
            guint32 c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        g_once_init_leave(&init, 1);
    }
    guint32 crc = 0xFFFFFFFFu;
    for (guint64 i = 0; i < e->size; i++)
        crc = table[(crc ^ e->data[i]) & 0xFF] ^ (crc >> 8);
    crc ^= 0xFFFFFFFFu;
    if (crc != e->crc32) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: zip entry %s is corrupt (CRC-32 %08x, expected %08x)", what,
                    e->name, crc, e->crc32);
        return FALSE;
    }
    return TRUE;
}
