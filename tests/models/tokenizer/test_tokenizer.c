/* test_tokenizer.c — the CLIP BPE tokenizer.
 *
 * `test_tokenizer small`: a vocabulary built here in CLIP's layout (256 byte
 * characters, the same with </w>, a few merges, the two special tokens),
 * written to a temporary folder: the clean-up (HTML entities, whitespace,
 * controls, NFC, lower-case), the pre-tokenizer (contractions, one digit per
 * piece, punctuation runs, letters across scripts), byte fallback for
 * non-ASCII text and emoji, merge ranks, </w>, unknown symbols, padding and
 * truncation, invalid UTF-8; and bad files (missing, corrupt JSON, bad
 * merges lines) giving errors that name the file.
 *
 * `test_tokenizer clip`: the real CLIP vocabulary in
 * ../shared/data/clip-tokenizer (exit 77 = skipped when absent), against ids
 * derived by tests/reference/tokenizer.py, a Python re-implementation of
 * openai/CLIP's simple_tokenizer.py.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "models/tokenizer/tokenizer_impl.h"
#include "readout/tokenizer.h"
#include "rg_test.h"

static char *tmp_dir;

/* Removes the files this test wrote: @dir and the folders and files in it. */
static void remove_tree(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (d) {
        const char *name;
        while ((name = g_dir_read_name(d))) {
            g_autofree char *path = g_build_filename(dir, name, NULL);
            if (g_file_test(path, G_FILE_TEST_IS_DIR))
                remove_tree(path);
            else
                g_unlink(path);
        }
        g_dir_close(d);
    }
    g_rmdir(dir);
}

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *path = g_build_filename(dir, name, NULL);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static gboolean ids_equal(const char *label, const int64_t *got, int n_got, const int64_t *want, int n_want)
{
    gboolean ok = n_got == n_want;
    for (int i = 0; ok && i < n_want; i++)
        ok = got[i] == want[i];
    if (!ok) {
        g_print("  %s:\n    got ", label);
        for (int i = 0; i < n_got; i++)
            g_print(" %" G_GINT64_FORMAT, (gint64)got[i]);
        g_print("\n    want");
        for (int i = 0; i < n_want; i++)
            g_print(" %" G_GINT64_FORMAT, (gint64)want[i]);
        g_print("\n");
    }
    return ok;
}

static gboolean raw_equal(rg_tokenizer *t, const char *text, const int64_t *want, int n_want)
{
    GError *error = NULL;
    g_autoptr(GArray) got = rg_tokenizer_encode_raw(t, text, &error);
    rg_assert_no_error(error);
    g_autofree char *label = g_strdup_printf("encode_raw(\"%s\")", text);
    return ids_equal(label, (const int64_t *)(void *)got->data, (int)got->len, want, n_want);
}

/* ---- the small vocabulary --------------------------------------------------- */

/* CLIP's bytes_to_unicode(), written independently of the library's: the
 * printable bytes in order, then the others; byte_order[k] is the byte of
 * vocabulary id k and byte_cp[b] its character. */
static int byte_order[256];
static gunichar byte_cp[256];

static void build_byte_table(void)
{
    int k = 0, n = 0;
    for (int b = 0; b < 256; b++)
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
            byte_order[k++] = b;
            byte_cp[b] = (gunichar)b;
        }
    for (int b = 0; b < 256; b++)
        if (!((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))) {
            byte_order[k++] = b;
            byte_cp[b] = 256 + (gunichar)n++;
        }
    g_assert_cmpint(k, ==, 256);
    g_assert_cmpint(n, ==, 68);
}

/* Vocabulary id of byte @b alone (0-255) or with </w> (256-511). */
static int64_t byte_id(guint8 b, gboolean end)
{
    for (int k = 0; k < 256; k++)
        if (byte_order[k] == b)
            return k + (end ? 256 : 0);
    g_assert_not_reached();
}

/* The merges of the small vocabulary, lowest rank first; merge k gets id 512 + k. */
static const char *const small_merges[][2] = {
    {"h", "e"},     {"l", "l"},     {"l", "o</w>"}, {"he", "ll"},          {"hell", "o</w>"}, /* 512-516 */
    {"w", "o"},     {"r", "l"},     {"wo", "rl"},   {"worl", "d</w>"},                        /* 517-520 */
    {"'", "s</w>"}, {"i", "t</w>"}, {"a", "a"},     {"aa", "a</w>"},       {"!", "!"},        /* 521-525 */
    {"c", "a"},     {"ca", "f"},    {"caf", "Ã"},   {"\xc3\x83", "©</w>"},                    /* 526-529 */
};
enum {
    HE = 512,
    LL,
    LO_W,
    HELL,
    HELLO_W,
    WO,
    RL,
    WORL,
    WORLD_W,
    APOS_S_W,
    IT_W,
    AA,
    AAA_W,
    BANG2,
    CA,
    CAF,
    CAFA,
    E_ACUTE_W,
    BOS = 530,
    EOS = 531,
};

static void json_string(GString *s, const char *text)
{
    g_string_append_c(s, '"');
    for (const char *p = text; *p; p++) {
        if (*p == '"' || *p == '\\')
            g_string_append_c(s, '\\');
        g_string_append_c(s, *p);
    }
    g_string_append_c(s, '"');
}

/* Writes vocab.json and merges.txt of the small vocabulary into @dir. */
static void write_small_vocab(const char *dir)
{
    GString *v = g_string_new("{");
    for (int k = 0; k < 512; k++) {
        char ch[16] = {0};
        g_unichar_to_utf8(byte_cp[byte_order[k % 256]], ch);
        if (k >= 256)
            strcat(ch, "</w>");
        json_string(v, ch);
        g_string_append_printf(v, ": %d, ", k);
    }
    GString *m = g_string_new("#version: 0.2\n");
    for (size_t i = 0; i < G_N_ELEMENTS(small_merges); i++) {
        g_autofree char *joined = g_strconcat(small_merges[i][0], small_merges[i][1], NULL);
        json_string(v, joined);
        g_string_append_printf(v, ": %d, ", 512 + (int)i);
        g_string_append_printf(m, "%s %s\n", small_merges[i][0], small_merges[i][1]);
    }
    g_string_append_printf(v, "\"<|startoftext|>\": %d, \"<|endoftext|>\": %d}", BOS, EOS);
    g_free(write_file(dir, "vocab.json", v->str));
    g_free(write_file(dir, "merges.txt", m->str));
    g_string_free(v, TRUE);
    g_string_free(m, TRUE);
}

static gboolean check_clean(void)
{
    static const char *const cases[][2] = {
        {"  A\tPhoto\n\n of   A CAT  ", "a photo of a cat"},
        {"&amp;lt;b&amp;gt;", "<b>"}, /* unescaped twice */
        {"&amp;amp;lt;", "&lt;"},     /* ... and only twice */
        {"&quot;x&quot; &#39;y&#x27; &#X41;", "\"x\" 'y' a"},
        {"&notit; &copy2024 &amp", "\xc2\xacit; \xc2\xa9"
                                   "2024 &"}, /* longest prefix; legacy names */
        {"&unknown; & &; &#; &#x; &#xZ", "&unknown; & &; &#; &#x; &#xz"},
        {"&#0;&#128;&#1;&#xD800;&#x110000;&#99999999999999999999;",
         "\xef\xbf\xbd\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"&#x1F600;&nbsp;x", "\xf0\x9f\x98\x80 x"}, /* &nbsp; is whitespace after unescaping */
        {"a\x01"
         "b\x7f"
         "c\xef\xbb\xbf"
         "d\xe2\x80\x8b"
         "e",
         "abcd\xe2\x80\x8b"
         "e"},                     /* ftfy's controls; ZWSP stays */
        {"e\xcc\x81", "\xc3\xa9"}, /* NFC */
        {"\xc4\xb0"
         "I",
         "i\xcc\x87"
         "i"}, /* str.lower(): U+0130 -> i + U+0307 */
        {"\xce\x9f\xce\x94\xce\xa5\xce\xa3\xce\xa3\xce\x95\xce\xa5\xce\xa3 \xce\xa3", /* OΔΥΣΣΕΥΣ Σ */
         "\xce\xbf\xce\xb4\xcf\x85\xcf\x83\xcf\x83\xce\xb5\xcf\x85\xcf\x82 \xcf\x83"},
        {"\xe3\x80\x80 x \xc2\xa0", "x"}, /* Unicode whitespace is stripped */
        {"", ""},
    };
    gboolean ok = TRUE;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GError *error = NULL;
        g_autofree char *got = rg_tokenizer_clean(cases[i][0], &error);
        rg_assert_no_error(error);
        if (strcmp(got, cases[i][1])) {
            g_print("  clean(\"%s\") = \"%s\", want \"%s\"\n", cases[i][0], got, cases[i][1]);
            ok = FALSE;
        }
    }
    g_print("%s clean-up: controls, NFC, html.unescape twice, whitespace, lower-case (%zu cases)\n",
            ok ? "OK" : "NOT OK", G_N_ELEMENTS(cases));
    return ok;
}

static gboolean check_pieces(void)
{
    /* Input is already cleaned text; the expected pieces are separated by spaces (no piece holds one). */
    static const char *const cases[][2] = {
        {"it's we're they've i'm you'll he'd don't", "it 's we 're they 've i 'm you 'll he 'd don 't"},
        {"'sup ''s x'sy 'x !'s", "'s up '' s x 's y ' x !' s"},
        {"2024 3.14 x2y", "2 0 2 4 3 . 1 4 x 2 y"},
        {"hello!!! ... (a:1.2), [b]--c", "hello !!! ... ( a : 1 . 2 ), [ b ]-- c"},
        {"<|startoftext|>hi<|endoftext|> <<|endoftext|>", "<|startoftext|> hi <|endoftext|> <<| endoftext |>"},
        {"<|ENDOFTEXT|> 'S 'LL", "<|ENDOFTEXT|> 'S 'LL"},
        {"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xd9\xa1\xd9\xa2 \xc2\xbd\xe2\x85\xa7", /* café 日本 ١٢ ½Ⅷ */
         "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xd9\xa1 \xd9\xa2 \xc2\xbd \xe2\x85\xa7"},
        {"a \xf0\x9f\x90\xb1\xe2\x9c\xa8"
         "b",
         "a \xf0\x9f\x90\xb1\xe2\x9c\xa8 b"},               /* emoji run */
        {"x\xcc\x81y '\xc5\xbf", "x \xcc\x81 y '\xc5\xbf"}, /* a combining mark is no letter; 'ſ folds to 's */
        {"   ", ""},
    };
    gboolean ok = TRUE;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GString *got = g_string_new(NULL);
        gsize pos = 0, start = 0, len = 0;
        while (rg_tokenizer_next_piece(cases[i][0], &pos, &start, &len)) {
            if (got->len)
                g_string_append_c(got, ' ');
            g_string_append_len(got, cases[i][0] + start, (gssize)len);
        }
        if (strcmp(got->str, cases[i][1])) {
            g_print("  pieces(\"%s\") = \"%s\", want \"%s\"\n", cases[i][0], got->str, cases[i][1]);
            ok = FALSE;
        }
        g_string_free(got, TRUE);
    }
    g_print("%s pre-tokenizer: contractions, single digits, punctuation runs, specials, scripts (%zu cases)\n",
            ok ? "OK" : "NOT OK", G_N_ELEMENTS(cases));
    return ok;
}

static gboolean check_small_encode(rg_tokenizer *t)
{
    gboolean ok = TRUE;
    ok &= rg_tokenizer_bos(t) == BOS && rg_tokenizer_eos(t) == EOS;
    ok &= rg_tokenizer_vocab_size(t) == 532 && rg_tokenizer_n_merges(t) == (int)G_N_ELEMENTS(small_merges);
    {
        int64_t w[] = {HELLO_W, WORLD_W};
        ok &= raw_equal(t, "  Hello \t WORLD\n", w, 2); /* merges chained by rank, </w> on the last */
    }
    {
        /* l l o</w>: (l,l) ranks before (l,o</w>) */
        int64_t w[] = {LL, byte_id('o', TRUE)};
        ok &= raw_equal(t, "llo", w, 2);
    }
    {
        /* h e l l o (no </w> on 'o' inside the word): he ll then nothing */
        int64_t w[] = {HELL, byte_id('o', FALSE), byte_id('x', TRUE)};
        ok &= raw_equal(t, "hellox", w, 3);
    }
    {
        /* every non-overlapping occurrence left to right: a a a a a</w> -> aa aa a</w> -> aa aaa</w> */
        int64_t w[] = {AA, AAA_W, AA, byte_id('a', FALSE), byte_id('a', TRUE), byte_id('a', TRUE)};
        ok &= raw_equal(t, "aaaaa aaaa a", w, 6);
    }
    {
        int64_t w[] = {
            IT_W,  APOS_S_W,          byte_id('2', TRUE), byte_id('0', TRUE), byte_id('2', TRUE), byte_id('4', TRUE),
            BANG2, byte_id('!', TRUE)};
        ok &= raw_equal(t, "It's 2024!!!", w, 8);
    }
    {
        /* café: c a f + bytes C3 A9 of é -> caf Ã ©</w> -> cafÃ ©</w>; the merge table holds "Ã ©</w>" too
         * but it ranks after "caf Ã". */
        int64_t w[] = {CAFA, byte_id(0xA9, TRUE)};
        ok &= raw_equal(t, "CAF\xc3\x89", w, 2); /* upper-case É lower-cased first */
        int64_t e[] = {E_ACUTE_W};
        ok &= raw_equal(t, "\xc3\xa9", e, 1);
    }
    {
        /* Byte fallback: 🐱 = F0 9F 90 B1 (0x9F and 0x90 are remapped bytes), U+0085 (a C1 control that
         * ftfy keeps) is whitespace, 日本 = E6 97 A5 E6 9C AC is one word. */
        int64_t w[] = {byte_id(0xF0, FALSE), byte_id(0x9F, FALSE), byte_id(0x90, FALSE), byte_id(0xB1, TRUE),
                       byte_id(0xE6, FALSE), byte_id(0x97, FALSE), byte_id(0xA5, FALSE), byte_id(0xE6, FALSE),
                       byte_id(0x9C, FALSE), byte_id(0xAC, TRUE)};
        ok &= raw_equal(t, "\xf0\x9f\x90\xb1\xc2\x85\xe6\x97\xa5\xe6\x9c\xac", w, 10);
    }
    {
        int64_t w[] = {BOS, byte_id('h', FALSE), byte_id('i', TRUE), EOS, EOS};
        ok &= raw_equal(t, "<|startoftext|>hi<|endoftext|> <|ENDOFTEXT|>", w, 5);
    }
    {
        /* &amp;lt; -> "<": one punctuation piece; &nbsp; separates words */
        int64_t w[] = {byte_id('<', TRUE), HELLO_W, WORLD_W};
        ok &= raw_equal(t, "&amp;lt; hello&nbsp;world", w, 3);
    }
    ok &= raw_equal(t, "", NULL, 0);
    ok &= raw_equal(t, " \t\n ", NULL, 0);
    g_print("%s small vocabulary: ranks, </w>, left-to-right merges, digits, contractions, byte fallback, "
            "specials\n",
            ok ? "OK" : "NOT OK");
    return ok;
}

static gboolean check_framing(rg_tokenizer *t)
{
    GError *error = NULL;
    gboolean ok = TRUE;
    int64_t ids[8];
    int n = -1;
    ok &= rg_tokenizer_encode(t, "hello", 8, ids, &n, &error);
    rg_assert_no_error(error);
    int64_t pad[] = {BOS, HELLO_W, EOS, EOS, EOS, EOS, EOS, EOS};
    ok &= ids_equal("encode(hello, 8)", ids, 8, pad, 8) && n == 3;

    ok &= rg_tokenizer_encode(t, "hello world hello world hello world", 6, ids, &n, &error);
    rg_assert_no_error(error);
    int64_t trunc[] = {BOS, HELLO_W, WORLD_W, HELLO_W, WORLD_W, EOS};
    ok &= ids_equal("encode(..., 6) truncated", ids, 6, trunc, 6) && n == 6;

    /* Exactly max_length - 2 content ids: no truncation, EOS last. */
    ok &= rg_tokenizer_encode(t, "hello world hello world", 6, ids, &n, &error);
    ok &= ids_equal("encode(4 ids, 6)", ids, 6, trunc, 6) && n == 6;

    /* A word whose ids straddle the limit is cut inside. */
    ok &= rg_tokenizer_encode(t, "hello llo", 3, ids, &n, &error);
    int64_t cut[] = {BOS, HELLO_W, EOS};
    ok &= ids_equal("encode(.., 3)", ids, 3, cut, 3) && n == 3;
    ok &= rg_tokenizer_encode(t, "llo", 3, ids, &n, &error);
    int64_t cut2[] = {BOS, LL, EOS};
    ok &= ids_equal("encode(llo, 3)", ids, 3, cut2, 3) && n == 3;

    ok &= rg_tokenizer_encode(t, "", 2, ids, NULL, &error);
    int64_t empty[] = {BOS, EOS};
    ok &= ids_equal("encode('', 2)", ids, 2, empty, 2);
    ok &= rg_tokenizer_encode(t, "hello", 2, ids, &n, &error) && n == 2;
    ok &= ids_equal("encode(hello, 2)", ids, 2, empty, 2);
    rg_assert_no_error(error);

    int64_t sd[RG_TOKENIZER_CONTEXT_LENGTH];
    ok &= rg_tokenizer_encode(t, "", RG_TOKENIZER_CONTEXT_LENGTH, sd, &n, &error) && n == 2;
    ok &= sd[0] == BOS;
    for (int i = 1; i < RG_TOKENIZER_CONTEXT_LENGTH; i++)
        ok &= sd[i] == EOS;

    /* Bad arguments. */
    ok &= !rg_tokenizer_encode(t, "x", 1, ids, &n, &error);
    ok &= g_error_matches(error, RG_ERROR, RG_ERROR_ARGUMENT) && strstr(error->message, "max_length");
    g_clear_error(&error);
    ok &= !rg_tokenizer_encode(t, "caf\xc3 ok", 8, ids, &n, &error);
    ok &= g_error_matches(error, RG_ERROR, RG_ERROR_ARGUMENT) && strstr(error->message, "UTF-8") &&
          strstr(error->message, "byte 3");
    g_clear_error(&error);
    g_autoptr(GArray) none = rg_tokenizer_encode_raw(t, "\xed\xa0\x80", &error); /* a surrogate */
    ok &= !none && g_error_matches(error, RG_ERROR, RG_ERROR_ARGUMENT);
    g_clear_error(&error);
    g_print("%s framing: BOS + ids + EOS, EOS padding, truncation keeps EOS last; invalid UTF-8 and "
            "max_length < 2 are errors\n",
            ok ? "OK" : "NOT OK");
    return ok;
}

/* A vocabulary without the byte characters: symbols it lacks become the
 * unknown token <|endoftext|>, as in HF CLIPTokenizer. */
static gboolean check_unknown(void)
{
    GError *error = NULL;
    const char *vocab = "{\"<|startoftext|>\": 7, \"<|endoftext|>\": 8, \"a</w>\": 3, \"b\": 4, \"c</w>\": 5, "
                        "\"bc</w>\": 6}";
    g_autoptr(rg_tokenizer) t = rg_tokenizer_new_from_data(vocab, -1, "b c</w>\r\n\n", -1, &error);
    rg_assert_no_error(error);
    gboolean ok = rg_tokenizer_n_merges(t) == 1; /* no header line: the first line is a merge */
    int64_t w[] = {3, 6, 8, 4, 8};
    ok &= raw_equal(t, "a bc x bd", w, 5);
    g_print("%s symbols missing from the vocabulary become <|endoftext|>; headerless merges.txt\n",
            ok ? "OK" : "NOT OK");
    return ok;
}

/* Writes @vocab / @merges into a fresh folder and expects loading it to
 * fail with @code and a message naming @file and containing @what. */
static gboolean expect_bad(const char *label, const char *vocab, const char *merges, int code, const char *file,
                           const char *what)
{
    static int counter;
    g_autofree char *dir = g_strdup_printf("%s/bad%d", tmp_dir, counter++);
    g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
    if (vocab)
        g_free(write_file(dir, "vocab.json", vocab));
    if (merges)
        g_free(write_file(dir, "merges.txt", merges));
    GError *error = NULL;
    rg_tokenizer *t = rg_tokenizer_new_from_dir(dir, &error);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    gboolean ok =
        !t && g_error_matches(error, RG_ERROR, code) && strstr(error->message, path) && strstr(error->message, what);
    g_print("  %s %s: %s\n", ok ? "ok" : "WRONG", label, error ? error->message : "(no error)");
    rg_tokenizer_free(t);
    g_clear_error(&error);
    return ok;
}

static gboolean check_bad_files(void)
{
    const char *good_vocab = "{\"<|startoftext|>\": 0, \"<|endoftext|>\": 1, \"a\": 2, \"b\": 3, \"ab\": 4}";
    const char *good_merges = "#version: 0.2\na b\n";
    gboolean ok = TRUE;
    ok &= expect_bad("no vocab.json", NULL, good_merges, RG_ERROR_IO, "vocab.json", "does not exist");
    ok &= expect_bad("no merges.txt", good_vocab, NULL, RG_ERROR_IO, "merges.txt", "does not exist");
    ok &= expect_bad("truncated JSON", "{\"a\": 1,", good_merges, RG_ERROR_FORMAT, "vocab.json", "not valid JSON");
    ok &= expect_bad("JSON array", "[1, 2]", good_merges, RG_ERROR_FORMAT, "vocab.json", "JSON object");
    ok &= expect_bad("string id", "{\"a\": \"1\"}", good_merges, RG_ERROR_FORMAT, "vocab.json", "\"a\"");
    ok &= expect_bad("negative id", "{\"a\": -1}", good_merges, RG_ERROR_FORMAT, "vocab.json", "integer");
    ok &= expect_bad("float id", "{\"a\": 1.5}", good_merges, RG_ERROR_FORMAT, "vocab.json", "integer");
    ok &= expect_bad("huge id", "{\"a\": 99999999999}", good_merges, RG_ERROR_FORMAT, "vocab.json", "integer");
    ok &= expect_bad("empty vocabulary", "{}", good_merges, RG_ERROR_FORMAT, "vocab.json", "empty");
    ok &= expect_bad("no specials", "{\"a\": 0}", good_merges, RG_ERROR_FORMAT, "vocab.json", "<|startoftext|>");
    ok &=
        expect_bad("deep nesting",
                   "{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
                   good_merges, RG_ERROR_FORMAT, "vocab.json", "nests deeper");
    ok &= expect_bad("duplicate key", "{\"<|startoftext|>\": 0, \"<|endoftext|>\": 1, \"a\": 2, \"a\": 3}", good_merges,
                     RG_ERROR_FORMAT, "vocab.json", "\"a\" twice");
    ok &= expect_bad("vocab not UTF-8", "{\"a\xff\": 0}", good_merges, RG_ERROR_FORMAT, "vocab.json", "UTF-8");
    ok &= expect_bad("merges: three tokens", good_vocab, "#version: 0.2\na b\na b c\n", RG_ERROR_FORMAT, "merges.txt",
                     "line 3");
    ok &= expect_bad("merges: one token", good_vocab, "#version: 0.2\nab\n", RG_ERROR_FORMAT, "merges.txt",
                     "line 2: expected two tokens");
    ok &= expect_bad("merges: unknown token", good_vocab, "#version: 0.2\na b\na zz\n", RG_ERROR_FORMAT, "merges.txt",
                     "line 3: token \"zz\" is not in");
    ok &= expect_bad("merges: unknown result", good_vocab, "#version: 0.2\nb a\n", RG_ERROR_FORMAT, "merges.txt",
                     "merged token \"ba\"");
    ok &=
        expect_bad("merges not UTF-8", good_vocab, "#version: 0.2\na\xc3 b\n", RG_ERROR_FORMAT, "merges.txt", "UTF-8");
    /* The same through new_from_files with a missing file, and new_from_data naming the files. */
    GError *error = NULL;
    g_autofree char *nowhere = g_build_filename(tmp_dir, "nowhere", "vocab.json", NULL);
    rg_tokenizer *t = rg_tokenizer_new_from_files(nowhere, nowhere, &error);
    ok &= !t && g_error_matches(error, RG_ERROR, RG_ERROR_IO) && strstr(error->message, nowhere);
    g_clear_error(&error);
    t = rg_tokenizer_new_from_data(good_vocab, -1, "x y\n", -1, &error);
    ok &= !t && g_error_matches(error, RG_ERROR, RG_ERROR_FORMAT) && strstr(error->message, "merges.txt line 1");
    g_clear_error(&error);
    g_print("%s bad files give errors naming the file (and line)\n", ok ? "OK" : "NOT OK");
    return ok;
}

static int run_small(void)
{
    build_byte_table();
    gboolean ok = TRUE;
    for (int b = 0; b < 256; b++)
        ok &= rg_tokenizer_byte_char((guint8)b) == byte_cp[b];
    g_print("%s bytes_to_unicode\n", ok ? "OK" : "NOT OK");
    ok &= check_clean();
    ok &= check_pieces();
    g_autofree char *dir = g_build_filename(tmp_dir, "small", NULL);
    g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
    write_small_vocab(dir);
    GError *error = NULL;
    g_autoptr(rg_tokenizer) t = rg_tokenizer_new_from_dir(dir, &error);
    rg_assert_no_error(error);
    ok &= check_small_encode(t);
    ok &= check_framing(t);
    ok &= check_unknown();
    ok &= check_bad_files();
    return ok ? 0 : 1;
}

/* ---- the real CLIP vocabulary ------------------------------------------------ */

/* Derived with `/usr/bin/python3 tests/reference/tokenizer.py` (ids without BOS/EOS/padding). */
/* 'a photo of an astronaut riding a horse on mars' */
static const int64_t expect_astronaut[] = {320, 1125, 539, 550, 18376, 6765, 320, 4558, 525, 7496};
/* "It's 2024!!" */
static const int64_t expect_its_2024[] = {585, 568, 273, 271, 273, 275, 748};
/* '&amp;lt; &amp;amp; &quot;x&quot; &#39;y&#x27; &eacute;t&eacute; &notit; &copy2024' */
static const int64_t expect_entities[] = {283, 261, 257, 343, 257,  262, 344, 262, 3459, 39694,
                                          126, 361, 585, 282, 5811, 273, 271, 273, 275};
/* '  hello \t\n  world\xa0\u3000again  ' */
static const int64_t expect_whitespace[] = {3306, 1002, 1495};
/* 'A PHOTO OF A CAT, HDR, 8K' */
static const int64_t expect_upper[] = {320, 1125, 539, 320, 2368, 267, 28065, 267, 279, 330};
/* 'caf\xe9 na\xefve \u65e5\u672c' */
static const int64_t expect_non_ascii[] = {15304, 1097, 35689, 563, 39121, 19277, 361};
/* 'cafe\u0301 \u0130stanbul \u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 \u03a3' */
static const int64_t expect_decomposed[] = {15304, 328, 16384, 11231, 138, 123, 138, 112, 139, 227, 139,
                                            225,   139, 225,   138,   113, 139, 227, 139, 480, 139, 481};
/* 'a cat \U0001f431 with a hat \U0001f3a9\u2728 \U0001f468\u200d\U0001f469\u200d\U0001f467' */
static const int64_t expect_emoji[] = {320, 2368, 22979, 593, 320, 3801, 1165, 102, 3531, 25023, 26304, 964, 356};
/* "we're they've I'm you'll he'd don't 'sup ''s" */
static const int64_t expect_contractions[] = {649, 982,  889, 1200, 328, 880, 592,  1342,
                                              797, 1896, 847, 713,  568, 705, 8445, 338};
/* 'hello!!! ... (best quality:1.2), [masterpiece] {x}--y' */
static const int64_t expect_punct[] = {3306, 995, 678,   263, 949, 3027, 281, 272,  269, 273,
                                       2361, 314, 12066, 316, 346, 343,  92,  2432, 344};
/* '1234567890 3.14 \u0661\u0662 \xbd \u2167' */
static const int64_t expect_digits[] = {272, 273, 274, 275, 276, 277, 278, 279,   280, 271, 274,
                                        269, 272, 275, 149, 350, 149, 351, 33613, 158, 227, 371};
/* '<|startoftext|>hi<|endoftext|> <|ENDOFTEXT|>' */
static const int64_t expect_special[] = {49406, 1883, 49407, 49407};
/* 'a\x01b\x07c\ufeffd \u200bx\xady' */
static const int64_t expect_controls[] = {596, 4480, 9844, 343, 22618, 344};
/* long prompt: 87 tokens before truncation */
static const int64_t expect_long[] = {
    49406, 320,   5302, 12609, 5352, 539,  550,  896,  2102,  4621, 593,   320,  1579, 9052,  267,  3309,
    320,   5598,  7356, 267,   2862, 525,  518,  6943, 539,   320,  9057,  1158, 1590, 320,   2819, 536,
    930,   267,   7756, 530,   518,  2390, 267,  7882, 24991, 267,  11240, 5799, 267,  2870,  3086, 638,
    320,   14727, 2456, 267,   6087, 525,  1486, 2631, 267,   279,  330,   267,  8118, 16157, 267,  25602,
    17510, 267,   3563, 19950, 9417, 267,  8157, 4353, 267,   5302, 29616, 2353, 49407};

static const char long_prompt[] =
    "a highly detailed portrait of an old sea captain with a white beard, wearing a navy coat, "
    "standing on the deck of a wooden ship during a storm at night, lightning in the sky, "
    "waves crashing, dramatic lighting, oil painting by a renowned artist, trending on "
    "artstation, 8k, ultra realistic, cinematic composition, volumetric fog, sharp focus, "
    "highly intricate details, golden hour, masterpiece, best quality, award winning photograph";

#define PROMPT(name, text)                                                                                             \
    {                                                                                                                  \
#name, text, expect_##name, G_N_ELEMENTS(expect_##name)                                                        \
    }

static int run_clip(void)
{
    if (!g_file_test(RG_CLIP_TOKENIZER_DIR, G_FILE_TEST_IS_DIR)) {
        g_print("SKIP %s is absent\n", RG_CLIP_TOKENIZER_DIR);
        return 77;
    }
    GError *error = NULL;
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(rg_tokenizer) t = rg_tokenizer_new_from_dir(RG_CLIP_TOKENIZER_DIR, &error);
    rg_assert_no_error(error);
    gint64 t1 = g_get_monotonic_time();
    gboolean ok = rg_tokenizer_bos(t) == 49406 && rg_tokenizer_eos(t) == 49407 && rg_tokenizer_vocab_size(t) == 49408 &&
                  rg_tokenizer_n_merges(t) == 48894;
    g_print("%s CLIP vocabulary: 49408 tokens, 48894 merges, BOS 49406, EOS 49407 (loaded in %.0f ms)\n",
            ok ? "OK" : "NOT OK", (t1 - t0) / 1e3);

    static const struct {
        const char *name, *text;
        const int64_t *ids;
        size_t n;
    } prompts[] = {
        PROMPT(astronaut, "a photo of an astronaut riding a horse on mars"),
        PROMPT(its_2024, "It's 2024!!"),
        PROMPT(entities, "&amp;lt; &amp;amp; &quot;x&quot; &#39;y&#x27; &eacute;t&eacute; &notit; &copy2024"),
        PROMPT(whitespace, "  hello \t\n  world\xc2\xa0\xe3\x80\x80"
                           "again  "),
        PROMPT(upper, "A PHOTO OF A CAT, HDR, 8K"),
        PROMPT(non_ascii, "caf\xc3\xa9 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac"),
        PROMPT(decomposed,
               "cafe\xcc\x81 \xc4\xb0stanbul \xce\x9f\xce\x94\xce\xa5\xce\xa3\xce\xa3\xce\x95\xce\xa5\xce\xa3 "
               "\xce\xa3"),
        PROMPT(emoji, "a cat \xf0\x9f\x90\xb1 with a hat \xf0\x9f\x8e\xa9\xe2\x9c\xa8 "
                      "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7"),
        PROMPT(contractions, "we're they've I'm you'll he'd don't 'sup ''s"),
        PROMPT(punct, "hello!!! ... (best quality:1.2), [masterpiece] {x}--y"),
        PROMPT(digits, "1234567890 3.14 \xd9\xa1\xd9\xa2 \xc2\xbd \xe2\x85\xa7"),
        PROMPT(special, "<|startoftext|>hi<|endoftext|> <|ENDOFTEXT|>"),
        PROMPT(controls, "a\x01"
                         "b\x07"
                         "c\xef\xbb\xbf"
                         "d \xe2\x80\x8bx\xc2\xady"),
    };
    for (size_t i = 0; i < G_N_ELEMENTS(prompts); i++) {
        int64_t ids[RG_TOKENIZER_CONTEXT_LENGTH];
        int n = 0;
        gboolean good = rg_tokenizer_encode(t, prompts[i].text, RG_TOKENIZER_CONTEXT_LENGTH, ids, &n, &error);
        rg_assert_no_error(error);
        int64_t want[RG_TOKENIZER_CONTEXT_LENGTH];
        want[0] = 49406;
        memcpy(want + 1, prompts[i].ids, prompts[i].n * sizeof(int64_t));
        for (size_t k = prompts[i].n + 1; k < RG_TOKENIZER_CONTEXT_LENGTH; k++)
            want[k] = 49407;
        good &= ids_equal(prompts[i].name, ids, RG_TOKENIZER_CONTEXT_LENGTH, want, RG_TOKENIZER_CONTEXT_LENGTH);
        good &= n == (int)prompts[i].n + 2;
        g_print("%s %-12s %zu tokens\n", good ? "OK" : "NOT OK", prompts[i].name, prompts[i].n);
        ok &= good;
    }
    {
        int64_t ids[RG_TOKENIZER_CONTEXT_LENGTH];
        int n = 0;
        gboolean good =
            rg_tokenizer_encode(t, "", RG_TOKENIZER_CONTEXT_LENGTH, ids, &n, &error) && n == 2 && ids[0] == 49406;
        for (int k = 1; k < RG_TOKENIZER_CONTEXT_LENGTH; k++)
            good &= ids[k] == 49407;
        g_print("%s empty prompt = [49406, 49407 x76]\n", good ? "OK" : "NOT OK");
        ok &= good;

        good = rg_tokenizer_encode(t, long_prompt, RG_TOKENIZER_CONTEXT_LENGTH, ids, &n, &error) &&
               n == RG_TOKENIZER_CONTEXT_LENGTH;
        good &= ids_equal("long", ids, RG_TOKENIZER_CONTEXT_LENGTH, expect_long, RG_TOKENIZER_CONTEXT_LENGTH);
        g_autoptr(GArray) raw = rg_tokenizer_encode_raw(t, long_prompt, &error);
        good &= raw && raw->len == 87;
        g_print("%s long prompt (87 tokens) truncated to 75 + BOS/EOS, EOS at position 76\n", good ? "OK" : "NOT OK");
        ok &= good;
    }
    {
        /* Speed: a 75-token prompt, many times. */
        int64_t ids[RG_TOKENIZER_CONTEXT_LENGTH];
        const int reps = 2000;
        gint64 s0 = g_get_monotonic_time();
        for (int r = 0; r < reps; r++)
            rg_tokenizer_encode(t, long_prompt, RG_TOKENIZER_CONTEXT_LENGTH, ids, NULL, NULL);
        double us = (double)(g_get_monotonic_time() - s0) / reps;
        g_print("OK encoding the long prompt takes %.1f us\n", us);
    }
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "small";
    tmp_dir = g_dir_make_tmp("rg-tokenizer-XXXXXX", NULL);
    g_assert_nonnull(tmp_dir);
    int rc;
    if (!strcmp(what, "small"))
        rc = run_small();
    else if (!strcmp(what, "clip"))
        rc = run_clip();
    else
        g_error("usage: test_tokenizer small|clip");
    remove_tree(tmp_dir);
    g_free(tmp_dir);
    return rc;
}
