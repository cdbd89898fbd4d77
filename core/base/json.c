/* json.c — see json.h. */
#include "base/json.h"

char *rg_json_builder_text(JsonBuilder *b, gboolean pretty, gsize *length)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, pretty);
    json_generator_set_indent(gen, 2);
    gsize n = 0;
    char *text = json_generator_to_data(gen, &n);
    if (pretty) {
        char *with_newline = g_strconcat(text, "\n", NULL);
        g_free(text);
        text = with_newline;
        n++;
    }
    if (length)
        *length = n;
    return text;
}
