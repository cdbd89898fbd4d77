/* tokenizer_impl.h — internals of the CLIP tokenizer shared by its sources
 * and reachable from the tests: the text clean-up (text_clean.c), the
 * pre-tokenizer and the HTML tables (html_entities.c, generated). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* CLIP's text clean-up: drop ftfy's control characters, NFC, html.unescape
 * twice, whitespace collapse + strip, lower-case (details in tokenizer.h).
 * @text must be NUL-terminated. Returns a new string, or NULL with
 * RG_ERROR_ARGUMENT when @text is not valid UTF-8. */
char *rg_tokenizer_clean(const char *text, GError **error);

/* One html.unescape() pass (Python's html module) over valid UTF-8. (transfer full) */
char *rg_tokenizer_html_unescape(const char *text);

/* The pre-tokenizer: finds the next match of CLIP's pattern
 *   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 * (case-insensitive) in the valid UTF-8 @text at or after byte *@pos.
 * Returns FALSE at the end; otherwise sets *@start and *@len (bytes) and
 * moves *@pos past the match. Whitespace between matches is skipped. */
gboolean rg_tokenizer_next_piece(const char *text, gsize *pos, gsize *start, gsize *len);

/* Unicode classes of the pattern: \p{L}, \p{N}, and \s (the White_Space property). */
gboolean rg_tokenizer_is_letter(gunichar c);
gboolean rg_tokenizer_is_number(gunichar c);
gboolean rg_tokenizer_is_space(gunichar c);

/* The code point CLIP's bytes_to_unicode() gives byte @b. */
gunichar rg_tokenizer_byte_char(guint8 b);

typedef struct {
    const char *name;  /* without '&', with ';' where the name has one */
    const char *value; /* UTF-8 */
} rg_html_entity;

typedef struct {
    guint32 code;
    const char *value; /* UTF-8 */
} rg_html_charref;

extern const rg_html_entity rg_html_entities[]; /* sorted by strcmp() of name */
extern const int rg_html_entity_count;
extern const rg_html_charref rg_html_invalid_charrefs[]; /* sorted by code */
extern const int rg_html_invalid_charref_count;
extern const guint32 rg_html_invalid_codepoints[][2]; /* inclusive ranges */
extern const int rg_html_invalid_codepoint_count;

G_END_DECLS
