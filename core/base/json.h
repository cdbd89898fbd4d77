/* json.h — the text of a finished JsonBuilder, the one tail that every JSON
 * writer of libreadout (file headers, metadata, run settings, CLI reports)
 * shares. Internal to libreadout. */
#pragma once

#include <json-glib/json-glib.h>

/* The JSON text of @b's root (the caller has closed every object and array);
 * @pretty indents by 2 and ends with a newline, for files people read.
 * @length (may be NULL) receives the text's length. Free with g_free(). */
char *rg_json_builder_text(JsonBuilder *b, gboolean pretty, gsize *length);
