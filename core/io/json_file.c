/* json_file.c — rg_json_read_object_file() (io/json_untrusted.h). */
#include <glib/gstdio.h>

#include "io/json_untrusted.h"
#include "readout/readout.h"

/* config.json and index files are a few KiB; sharded indexes of big models some 100 KiB. */
#define MAX_JSON_BYTES (16u * 1024u * 1024u)

JsonNode *rg_json_read_object_file(const char *path, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    g_autoptr(GError) ferr = NULL;
    GStatBuf sb;
    if (g_stat(path, &sb) == 0 && (guint64)sb.st_size > MAX_JSON_BYTES) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: %" G_GUINT64_FORMAT " bytes is too large for a JSON "
                    "configuration file", path, (guint64)sb.st_size);
        return NULL;
    }
    if (!g_file_get_contents(path, &text, &len, &ferr)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s", ferr->message);
        return NULL;
    }
    JsonNode *root = rg_json_parse_untrusted(path, text, len, error);
    if (root && !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s is not a JSON object", path);
        json_node_unref(root);
        return NULL;
    }
    return root;
}
