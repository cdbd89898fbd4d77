/* scene_tokenizer.c — the caption vocabulary of the demo world and the small
 * CLIP-layout BPE tokenizer (vocab.json + merges.txt) in which each of its
 * words is one token.
 *
 * Layout as CLIP's (and tests/reference/tiny_model.py): the 256
 * bytes_to_unicode() characters, the same with "</w>", one token per merge,
 * then "<|startoftext|>" and "<|endoftext|>". The merges are found by running
 * BPE itself: while a word still splits into several symbols under the merges
 * so far, the merge of its first two symbols is appended. A merge appended
 * later has a higher rank than all before it, so it never fires inside an
 * earlier word, which is already whole before it could; hence every word ends
 * as one token whatever letters the words share (merging each word naively
 * left to right does not guarantee that: "red" before "green" would split
 * "green" at "re").
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "demo/scene_impl.h"
#include "models/tokenizer/tokenizer_impl.h"
#include "base/json.h"

static const char *const vocabulary[] = {
    "a",    "an",   "and",      "on",      "background", "red",       "orange", "yellow", "green",
    "cyan", "blue", "purple",   "pink",    "brown",      "white",     "gray",   "black",  "ellipse",
    "box",  "star", "creature", "striped", "dotted",     "checkered", NULL,
};

const char *const *rg_scene_vocabulary(void)
{
    return vocabulary;
}

/* The symbols of @word (ASCII letters) after byte-pair merging with @ranks ("A B" -> rank). */
static GPtrArray *bpe(const char *word, GHashTable *ranks)
{
    GPtrArray *sym = g_ptr_array_new_with_free_func(g_free);
    const size_t n = strlen(word);
    for (size_t i = 0; i < n; i++)
        g_ptr_array_add(sym, i + 1 < n ? g_strndup(word + i, 1) : g_strdup_printf("%c</w>", word[i]));
    for (;;) {
        int best = -1;
        guint best_rank = G_MAXUINT;
        for (guint i = 0; i + 1 < sym->len; i++) {
            g_autofree char *pair = g_strdup_printf("%s %s", (char *)sym->pdata[i], (char *)sym->pdata[i + 1]);
            gpointer rank;
            if (g_hash_table_lookup_extended(ranks, pair, NULL, &rank) && GPOINTER_TO_UINT(rank) < best_rank) {
                best_rank = GPOINTER_TO_UINT(rank);
                best = (int)i;
            }
        }
        if (best < 0)
            return sym;
        /* Merge every occurrence of the pair, left to right. */
        const char *a = sym->pdata[best], *b = sym->pdata[best + 1];
        g_autofree char *left = g_strdup(a), *right = g_strdup(b);
        for (guint i = 0; i + 1 < sym->len; i++)
            if (!strcmp(sym->pdata[i], left) && !strcmp(sym->pdata[i + 1], right)) {
                char *merged = g_strconcat(left, right, NULL);
                g_free(sym->pdata[i]);
                sym->pdata[i] = merged;
                g_ptr_array_remove_index(sym, i + 1);
            }
    }
}

/* The merges (lines "A B") and the merged tokens, in rank order. */
static void find_merges(GPtrArray *merges, GPtrArray *tokens)
{
    g_autoptr(GHashTable) ranks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) known = g_hash_table_new(g_str_hash, g_str_equal);
    for (const char *const *w = vocabulary; *w; w++)
        for (;;) {
            g_autoptr(GPtrArray) sym = bpe(*w, ranks);
            if (sym->len == 1)
                break;
            char *line = g_strdup_printf("%s %s", (char *)sym->pdata[0], (char *)sym->pdata[1]);
            g_hash_table_insert(ranks, g_strdup(line), GUINT_TO_POINTER(merges->len));
            g_ptr_array_add(merges, line);
            char *merged = g_strconcat(sym->pdata[0], sym->pdata[1], NULL);
            if (g_hash_table_contains(known, merged)) { /* two merges can make the same string */
                g_free(merged);
            } else {
                g_ptr_array_add(tokens, merged);
                g_hash_table_add(known, merged);
            }
        }
}

static gboolean write_file(const char *dir, const char *name, const char *data, gsize len, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    GError *ferr = NULL;
    if (!g_file_set_contents(path, data, (gssize)len, &ferr)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "rg_scene_write_tokenizer: cannot write %s: %s", path, ferr->message);
        g_error_free(ferr);
        return FALSE;
    }
    return TRUE;
}

gboolean rg_scene_write_tokenizer(const char *dir, GError **error)
{
    if (!dir || !*dir) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "rg_scene_write_tokenizer: no folder given");
        return FALSE;
    }
    if (g_mkdir_with_parents(dir, 0755) != 0) {
        const int e = errno;
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "rg_scene_write_tokenizer: cannot create the folder %s: %s", dir,
                    g_strerror(e));
        return FALSE;
    }
    g_autoptr(GPtrArray) merges = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func(g_free);
    find_merges(merges, tokens);

    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    int id = 0;
    /* bytes_to_unicode() in CLIP's order: the printable bytes (mapped to
     * themselves), then the others (U+0100 on); then all again with "</w>". */
    for (int w = 0; w < 2; w++)
        for (int printable = 1; printable >= 0; printable--)
            for (int byte = 0; byte < 256; byte++) {
                const gunichar c = rg_tokenizer_byte_char((guint8)byte);
                if ((c < 256) != printable)
                    continue;
                char utf8[8] = {0};
                g_unichar_to_utf8(c, utf8);
                g_autofree char *token = g_strconcat(utf8, w ? "</w>" : "", NULL);
                json_builder_set_member_name(b, token);
                json_builder_add_int_value(b, id++);
            }
    for (guint i = 0; i < tokens->len; i++) {
        json_builder_set_member_name(b, tokens->pdata[i]);
        json_builder_add_int_value(b, id++);
    }
    json_builder_set_member_name(b, "<|startoftext|>");
    json_builder_add_int_value(b, id++);
    json_builder_set_member_name(b, "<|endoftext|>");
    json_builder_add_int_value(b, id++);
    json_builder_end_object(b);
    gsize vocab_len = 0;
    g_autofree char *vocab = rg_json_builder_text(b, FALSE, &vocab_len);

    g_autoptr(GString) m = g_string_new("#version: 0.2\n");
    for (guint i = 0; i < merges->len; i++)
        g_string_append_printf(m, "%s\n", (char *)merges->pdata[i]);
    return write_file(dir, "vocab.json", vocab, vocab_len, error) &&
           write_file(dir, "merges.txt", m->str, m->len, error);
}
