/* error.c — the RG_ERROR domain, status translation, checked allocation. */
#include "base/status.h"

#include <stdlib.h>

G_DEFINE_QUARK(rg-error-quark, rg_error)

gboolean rg_status_to_error(rg_status status, const char *op, const char *detail, GError **error)
{
    if (status == RG_STATUS_OK)
        return TRUE;
    const char *sep = detail && *detail ? ": " : "";
    detail = detail ? detail : "";
    switch (status) {
    case RG_STATUS_BAD_SHAPE:
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: bad shape%s%s", op, sep, detail);
        break;
    case RG_STATUS_OUT_OF_MEMORY:
        g_set_error(error, RG_ERROR, RG_ERROR_OUT_OF_MEMORY, "%s: out of memory%s%s", op, sep, detail);
        break;
    case RG_STATUS_DEVICE:
        g_set_error(error, RG_ERROR, RG_ERROR_DEVICE, "%s: device failure%s%s", op, sep, detail);
        break;
    case RG_STATUS_UNSUPPORTED:
        g_set_error(error, RG_ERROR, RG_ERROR_UNSUPPORTED, "%s: not supported by this backend%s%s", op, sep,
                    detail);
        break;
    case RG_STATUS_CANCELLED:
        g_set_error(error, RG_ERROR, RG_ERROR_CANCELLED, "%s: cancelled%s%s", op, sep, detail);
        break;
    default:
        g_set_error(error, RG_ERROR, RG_ERROR_FAILED, "%s: failed (status %d)%s%s", op, (int)status, sep, detail);
        break;
    }
    return FALSE;
}

void *rg_aligned_alloc(size_t nbytes)
{
    void *p = NULL;
    if (nbytes == 0)
        nbytes = 64;
    if (posix_memalign(&p, 64, nbytes) != 0)
        return NULL;
    return p;
}

void rg_aligned_free(void *p)
{
    free(p);
}
