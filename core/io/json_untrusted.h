/* json_untrusted.h — json-glib behind the checks it does not make, for JSON
 * that comes from files (safetensors headers, diffusers config.json and
 * model_index.json, sharded-weights index files).
 *
 * json-glib keeps one of two equal keys without a word, and deep nesting
 * overflows its recursive parser's stack (100,000 '[' crash it). This parser
 * rejects both before or after json-glib runs, with messages that say where.
 * Implemented in core/io/safetensors.c; the file reader in core/io/json_file.c.
 */
#pragma once

#include <json-glib/json-glib.h>

/* Real headers and configs nest 3 or 4 levels deep. */
#define RG_JSON_MAX_DEPTH 32

/* Parses @len bytes of @text after checking that they are UTF-8 without NUL
 * bytes and nest at most RG_JSON_MAX_DEPTH objects/arrays deep, then that no
 * object holds a key twice. @what names the text in messages ("x.safetensors:
 * the header", "unet/config.json"). Errors: RG_ERROR_FORMAT. (transfer full) */
JsonNode *rg_json_parse_untrusted(const char *what, const char *text, gsize len, GError **error);

/* The JSON object in file @path (at most 16 MiB), through
 * rg_json_parse_untrusted(). Errors: RG_ERROR_IO, RG_ERROR_FORMAT (naming
 * @path). (transfer full) */
JsonNode *rg_json_read_object_file(const char *path, GError **error);
