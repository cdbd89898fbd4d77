/* fuzz_tokenizer.c — libFuzzer target for the CLIP tokenizer. The first
 * byte picks what the rest is:
 *   even: a prompt, encoded with a small CLIP-layout vocabulary (the 256 byte
 *         characters, the same with </w>, a few merges, the specials). Valid
 *         UTF-8 must encode, invalid UTF-8 must give a GError; the 77 ids must
 *         be framed (BOS first, EOS after the content, EOS padding) and agree
 *         with encode_raw's ids.
 *   odd:  vocab.json and merges.txt contents, split at the first NUL byte.
 *         Loading gives a tokenizer or a GError; a tokenizer must encode a
 *         few prompts with ids from its vocabulary.
 * Never a crash, a leak or an abort. */
#include <string.h>

#include "models/tokenizer/tokenizer_impl.h"
#include "readout/tokenizer.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static const char *const merges[][2] = {
    {"h", "e"},        {"l", "l"}, {"he", "ll"},
    {"hell", "o</w>"}, {"a", "a"}, {"aa", "a</w>"},
    {"'", "s</w>"},    {"!", "!"}, {"\xc3\x83", "\xc2\xa9</w>"},
};

static rg_tokenizer *small_tokenizer(void)
{
    GString *v = g_string_new("{");
    for (int k = 0; k < 512; k++) {
        char ch[8] = {0};
        g_unichar_to_utf8(rg_tokenizer_byte_char((guint8)(k % 256)), ch);
        g_string_append_printf(v, "\"%s%s%s\": %d, ", ch[0] == '"' || ch[0] == '\\' ? "\\" : "", ch,
                               k >= 256 ? "</w>" : "", k);
    }
    GString *m = g_string_new("#version: 0.2\n");
    for (size_t i = 0; i < G_N_ELEMENTS(merges); i++) {
        g_string_append_printf(v, "\"%s%s\": %d, ", merges[i][0], merges[i][1], 512 + (int)i);
        g_string_append_printf(m, "%s %s\n", merges[i][0], merges[i][1]);
    }
    g_string_append_printf(v, "\"<|startoftext|>\": %d, \"<|endoftext|>\": %d}", 600, 601);
    GError *error = NULL;
    rg_tokenizer *t = rg_tokenizer_new_from_data(v->str, (gssize)v->len, m->str, (gssize)m->len, &error);
    if (!t)
        g_error("fuzz_tokenizer: the built-in vocabulary does not load: %s", error->message);
    g_string_free(v, TRUE);
    g_string_free(m, TRUE);
    return t;
}

static void check_encode(rg_tokenizer *t, const char *text, int64_t max_id)
{
    int64_t ids[RG_TOKENIZER_CONTEXT_LENGTH];
    int n = -1;
    GError *error = NULL;
    gboolean valid = g_utf8_validate(text, -1, NULL);
    gboolean ok = rg_tokenizer_encode(t, text, RG_TOKENIZER_CONTEXT_LENGTH, ids, &n, &error);
    g_assert(ok == valid);
    if (!ok) {
        g_assert(error && error->domain == RG_ERROR && error->code == RG_ERROR_ARGUMENT);
        g_error_free(error);
        return;
    }
    int64_t bos = rg_tokenizer_bos(t), eos = rg_tokenizer_eos(t);
    g_assert(n >= 2 && n <= RG_TOKENIZER_CONTEXT_LENGTH);
    g_assert(ids[0] == bos && ids[n - 1] == eos);
    for (int i = 0; i < RG_TOKENIZER_CONTEXT_LENGTH; i++)
        g_assert(ids[i] >= 0 && ids[i] <= max_id && (i < n || ids[i] == eos));
    GArray *raw = rg_tokenizer_encode_raw(t, text, &error);
    g_assert(raw && !error);
    g_assert((int)MIN(raw->len, RG_TOKENIZER_CONTEXT_LENGTH - 2) == n - 2);
    for (int i = 0; i < n - 2; i++)
        g_assert(g_array_index(raw, int64_t, i) == ids[i + 1]);
    g_array_unref(raw);
}

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    static rg_tokenizer *small;
    if (!small)
        small = small_tokenizer();
    if (size == 0)
        return 0;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] % 2 == 0) {
        char *text = g_strndup(rest, n); /* stops at a NUL byte */
        check_encode(small, text, 601);
        g_free(text);
        return 0;
    }
    const char *nul = memchr(rest, '\0', n);
    size_t vlen = nul ? (size_t)(nul - rest) : n;
    const char *m = nul ? nul + 1 : "";
    size_t mlen = nul ? n - vlen - 1 : 0;
    GError *error = NULL;
    rg_tokenizer *t = rg_tokenizer_new_from_data(rest, (gssize)vlen, m, (gssize)mlen, &error);
    if (!t) {
        g_assert(error && error->domain == RG_ERROR);
        g_error_free(error);
        return 0;
    }
    check_encode(t, "a photo of an astronaut, it's 2024!! caf\xc3\xa9 \xf0\x9f\x90\xb1", G_MAXINT32);
    char *vocab_text = g_strndup(rest, vlen);
    check_encode(t, vocab_text, G_MAXINT32);
    g_free(vocab_text);
    rg_tokenizer_free(t);
    return 0;
}
