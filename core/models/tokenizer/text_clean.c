/* text_clean.c — the text side of the CLIP tokenizer: clean-up (control
 * characters, NFC, html.unescape, whitespace, lower-case) and the
 * pre-tokenizer regex, written out by hand over GLib's Unicode tables.
 * References: openai/CLIP clip/simple_tokenizer.py (basic_clean,
 * whitespace_clean, the pattern), Python's html.unescape and str.lower. */
#include <stdlib.h>
#include <string.h>

#include "models/tokenizer/tokenizer_impl.h"
#include "readout/readout.h"

/* ---- character classes --------------------------------------------------- */

gboolean rg_tokenizer_is_letter(gunichar c)
{
    return g_unichar_isalpha(c); /* Lu, Ll, Lt, Lm, Lo = \p{L} */
}

gboolean rg_tokenizer_is_number(gunichar c)
{
    GUnicodeType t = g_unichar_type(c);
    return t == G_UNICODE_DECIMAL_NUMBER || t == G_UNICODE_LETTER_NUMBER || t == G_UNICODE_OTHER_NUMBER;
}

gboolean rg_tokenizer_is_space(gunichar c)
{
    /* The White_Space property (what `regex`'s \s matches in str patterns). */
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

gunichar rg_tokenizer_byte_char(guint8 b)
{
    /* bytes_to_unicode(): the 188 printable bytes map to themselves, the other
     * 68 to U+0100 + n in increasing byte order. */
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)
        return b;
    int n = 0;
    for (int x = 0; x < b; x++)
        if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174))
            n++;
    return 256 + (gunichar)n;
}

/* ftfy.fixes.remove_control_chars: C0 controls but \t \n \f \r, DEL, the
 * deprecated Arabic format controls, BOM, the interlinear annotation
 * characters and U+FFFC. */
static gboolean is_ftfy_control(gunichar c)
{
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
           c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

/* ---- html.unescape -------------------------------------------------------- */

static int entity_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const rg_html_entity *)elem)->name);
}

static const char *lookup_entity(const char *name)
{
    const rg_html_entity *e =
        bsearch(name, rg_html_entities, (size_t)rg_html_entity_count, sizeof(rg_html_entity), entity_cmp);
    return e ? e->value : NULL;
}

/* _replace_charref() for a numeric reference with value @num (saturated
 * above 0x10FFFF). */
static void append_numeric(GString *out, guint32 num)
{
    for (int i = 0; i < rg_html_invalid_charref_count; i++)
        if (rg_html_invalid_charrefs[i].code == num) {
            g_string_append(out, rg_html_invalid_charrefs[i].value);
            return;
        }
    if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
        g_string_append_unichar(out, 0xFFFD);
        return;
    }
    for (int i = 0; i < rg_html_invalid_codepoint_count; i++)
        if (num >= rg_html_invalid_codepoints[i][0] && num <= rg_html_invalid_codepoints[i][1])
            return;
    g_string_append_unichar(out, num);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Tries the charref pattern &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
 * at @s (which points at '&'). On a match appends the replacement and
 * returns the length of the match in bytes; returns 0 when nothing matches. */
static gsize unescape_at(const char *s, GString *out)
{
    const char *p = s + 1;
    if (*p == '#') {
        int base = 10;
        p++;
        if ((*p == 'x' || *p == 'X') && hex_value(p[1]) >= 0) {
            base = 16;
            p++;
        } else if (!(*p >= '0' && *p <= '9')) {
            return 0;
        }
        guint32 num = 0;
        for (; base == 16 ? hex_value(*p) >= 0 : (*p >= '0' && *p <= '9'); p++) {
            num = num * (guint32)base + (guint32)hex_value(*p);
            if (num > 0x10FFFF)
                num = 0x110000; /* Python's int is unbounded; all such values are out of range */
        }
        if (*p == ';')
            p++;
        append_numeric(out, num);
        return (gsize)(p - s);
    }
    /* Named: up to 32 code points, then an optional ';'. offs[k] = byte
     * length of the first k code points. */
    gsize offs[34];
    int n = 0;
    offs[0] = 0;
    while (n < 32 && *p && !strchr("\t\n\f <&#;", *p)) {
        p = g_utf8_next_char(p);
        offs[++n] = (gsize)(p - (s + 1));
    }
    if (n == 0)
        return 0;
    if (*p == ';') {
        p++;
        offs[++n] = (gsize)(p - (s + 1));
    }
    const char *name = s + 1;
    gsize name_len = offs[n];
    char buf[33 * 4 + 2]; /* 32 code points and ';' */
    memcpy(buf, name, name_len);
    buf[name_len] = '\0';
    const char *v = lookup_entity(buf);
    if (v) {
        g_string_append(out, v);
        return (gsize)(p - s);
    }
    /* The longest prefix of 2 or more code points (not the whole name) that is an entity. */
    for (int x = n - 1; x >= 2; x--) {
        buf[offs[x]] = '\0';
        v = lookup_entity(buf);
        if (v) {
            g_string_append(out, v);
            g_string_append_len(out, name + offs[x], (gssize)(name_len - offs[x]));
            return (gsize)(p - s);
        }
    }
    g_string_append_len(out, s, (gssize)(p - s));
    return (gsize)(p - s);
}

char *rg_tokenizer_html_unescape(const char *text)
{
    GString *out = g_string_sized_new(strlen(text));
    const char *s = text;
    while (*s) {
        const char *amp = strchr(s, '&');
        if (!amp) {
            g_string_append(out, s);
            break;
        }
        g_string_append_len(out, s, amp - s);
        gsize n = unescape_at(amp, out);
        if (n == 0) {
            g_string_append_c(out, '&');
            n = 1;
        }
        s = amp + n;
    }
    return g_string_free(out, FALSE);
}

/* ---- lower-casing (Python's str.lower) ------------------------------------ */

/* The Cased property: Lu, Ll, Lt plus Other_Lowercase / Other_Uppercase
 * (Unicode 14 ranges, which GLib does not expose). */
static gboolean is_cased(gunichar c)
{
    static const guint32 other[][2] = {
        {0xaa, 0xaa},       {0xba, 0xba},       {0x2b0, 0x2b8},     {0x2c0, 0x2c1},     {0x2e0, 0x2e4},
        {0x345, 0x345},     {0x37a, 0x37a},     {0x1d2c, 0x1d6a},   {0x1d78, 0x1d78},   {0x1d9b, 0x1dbf},
        {0x2071, 0x2071},   {0x207f, 0x207f},   {0x2090, 0x209c},   {0x2160, 0x217f},   {0x24b6, 0x24e9},
        {0x2c7c, 0x2c7d},   {0xa69c, 0xa69d},   {0xa770, 0xa770},   {0xa7f8, 0xa7f9},   {0xab5c, 0xab5f},
        {0x10780, 0x10780}, {0x10783, 0x10785}, {0x10787, 0x107b0}, {0x107b2, 0x107ba}, {0x1f130, 0x1f149},
        {0x1f150, 0x1f169}, {0x1f170, 0x1f189},
    };
    GUnicodeType t = g_unichar_type(c);
    if (t == G_UNICODE_UPPERCASE_LETTER || t == G_UNICODE_LOWERCASE_LETTER || t == G_UNICODE_TITLECASE_LETTER)
        return TRUE;
    for (size_t i = 0; i < G_N_ELEMENTS(other); i++)
        if (c >= other[i][0] && c <= other[i][1])
            return TRUE;
    return FALSE;
}

/* The Case_Ignorable property: Mn, Me, Cf, Lm, Sk and the word-break
 * MidLetter / MidNumLet / Single_Quote characters. */
static gboolean is_case_ignorable(gunichar c)
{
    static const gunichar mid[] = {0x27,   0x2e,   0x3a,   0xb7,   0x387,  0x55f,  0x5f4,  0x2018, 0x2019,
                                   0x2024, 0x2027, 0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a};
    GUnicodeType t = g_unichar_type(c);
    if (t == G_UNICODE_NON_SPACING_MARK || t == G_UNICODE_ENCLOSING_MARK || t == G_UNICODE_FORMAT ||
        t == G_UNICODE_MODIFIER_LETTER || t == G_UNICODE_MODIFIER_SYMBOL)
        return TRUE;
    for (size_t i = 0; i < G_N_ELEMENTS(mid); i++)
        if (c == mid[i])
            return TRUE;
    return FALSE;
}

/* Python's str.lower(): the full lower-case mapping with no locale, so
 * U+0130 becomes "i\u0307" and capital sigma is final (U+03C2) when it
 * follows a cased letter and no cased letter follows (case-ignorable
 * characters skipped both ways). g_utf8_strdown() would depend on the
 * locale (Turkish, Lithuanian) and uses a simpler sigma rule;
 * g_unichar_tolower() maps only Lu and Lt, so the Roman numerals (Nl) and
 * circled letters (So), which have lower-case forms, are added here. */
static void append_lower(GString *out, const gunichar *u, glong n)
{
    for (glong i = 0; i < n; i++) {
        gunichar c = u[i];
        if (c == 0x130) {
            g_string_append_unichar(out, 'i');
            g_string_append_unichar(out, 0x307);
        } else if (c == 0x3A3) {
            glong j = i - 1;
            while (j >= 0 && is_case_ignorable(u[j]))
                j--;
            gboolean final = j >= 0 && is_cased(u[j]);
            if (final) {
                j = i + 1;
                while (j < n && is_case_ignorable(u[j]))
                    j++;
                final = j == n || !is_cased(u[j]);
            }
            g_string_append_unichar(out, final ? 0x3C2 : 0x3C3);
        } else if (c >= 0x2160 && c <= 0x216F) { /* Ⅰ..Ⅿ -> ⅰ..ⅿ */
            g_string_append_unichar(out, c + 0x10);
        } else if (c >= 0x24B6 && c <= 0x24CF) { /* Ⓐ..Ⓩ -> ⓐ..ⓩ */
            g_string_append_unichar(out, c + 0x1A);
        } else {
            g_string_append_unichar(out, g_unichar_tolower(c));
        }
    }
}

/* ---- the whole clean-up --------------------------------------------------- */

char *rg_tokenizer_clean(const char *text, GError **error)
{
    const char *end = NULL;
    if (!g_utf8_validate(text, -1, &end)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "tokenizer: the text is not valid UTF-8 (byte %zu, 0x%02x)",
                    (size_t)(end - text), (guchar)*end);
        return NULL;
    }
    /* 1. In place of ftfy.fix_text: its control-character removal, then NFC. */
    GString *s = g_string_sized_new(strlen(text));
    for (const char *p = text; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (!is_ftfy_control(c))
            g_string_append_unichar(s, c);
    }
    char *nfc = g_utf8_normalize(s->str, (gssize)s->len, G_NORMALIZE_NFC);
    g_string_free(s, TRUE);
    if (!nfc) { /* cannot happen on valid UTF-8 */
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "tokenizer: the text could not be normalized");
        return NULL;
    }
    /* 2. basic_clean: html.unescape(html.unescape(text)). */
    char *u1 = rg_tokenizer_html_unescape(nfc);
    g_free(nfc);
    char *u2 = rg_tokenizer_html_unescape(u1);
    g_free(u1);
    /* 3. strip + whitespace_clean: runs of \s become one space, ends stripped. */
    glong n = 0;
    gunichar *u = g_utf8_to_ucs4_fast(u2, -1, &n);
    g_free(u2);
    glong m = 0;
    for (glong i = 0; i < n; i++) {
        if (rg_tokenizer_is_space(u[i])) {
            if (m > 0 && u[m - 1] != ' ')
                u[m++] = ' ';
        } else {
            u[m++] = u[i];
        }
    }
    if (m > 0 && u[m - 1] == ' ')
        m--;
    /* 4. .lower() */
    GString *out = g_string_sized_new((gsize)m + 16);
    append_lower(out, u, m);
    g_free(u);
    return g_string_free(out, FALSE);
}

/* ---- the pre-tokenizer ---------------------------------------------------- */

/* Case-insensitive match of the ASCII lower-case @lit at @s: simple case
 * folding also maps U+017F (long s) to 's', as `regex` does. Returns the
 * byte length matched, 0 if none. */
static gsize match_literal(const char *s, const char *lit)
{
    const char *p = s;
    for (; *lit; lit++) {
        gunichar c = g_utf8_get_char(p);
        if (c == 0x17F)
            c = 's';
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if (c != (gunichar)(guchar)*lit)
            return 0;
        p = g_utf8_next_char(p);
    }
    return (gsize)(p - s);
}

gboolean rg_tokenizer_next_piece(const char *text, gsize *pos, gsize *start, gsize *len)
{
    static const char *const literals[] = {
        "<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    const char *p = text + *pos;
    while (*p) {
        gunichar c = g_utf8_get_char(p);
        gsize n = 0;
        if (c == '<' || c == '\'')
            for (size_t i = 0; i < G_N_ELEMENTS(literals) && n == 0; i++)
                n = match_literal(p, literals[i]);
        if (n == 0) {
            if (rg_tokenizer_is_letter(c)) {
                const char *q = p;
                while (*q && rg_tokenizer_is_letter(g_utf8_get_char(q)))
                    q = g_utf8_next_char(q);
                n = (gsize)(q - p);
            } else if (rg_tokenizer_is_number(c)) {
                n = (gsize)(g_utf8_next_char(p) - p);
            } else if (!rg_tokenizer_is_space(c)) {
                const char *q = p;
                while (*q) {
                    gunichar d = g_utf8_get_char(q);
                    if (rg_tokenizer_is_space(d) || rg_tokenizer_is_letter(d) || rg_tokenizer_is_number(d))
                        break;
                    q = g_utf8_next_char(q);
                }
                n = (gsize)(q - p);
            }
        }
        if (n > 0) {
            *start = (gsize)(p - text);
            *len = n;
            *pos = *start + n;
            return TRUE;
        }
        p = g_utf8_next_char(p); /* whitespace */
    }
    *pos = (gsize)(p - text);
    return FALSE;
}
