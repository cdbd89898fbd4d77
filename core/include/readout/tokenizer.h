/* tokenizer.h — the CLIP byte-level BPE tokenizer of Stable Diffusion 1.x.
 *
 * Reads the vocab.json + merges.txt pair of a diffusers `tokenizer/` folder
 * (Hugging Face format) and produces the ids of openai/CLIP's
 * simple_tokenizer.py / HF CLIPTokenizer:
 *
 * 1. Clean-up. The text must be valid UTF-8 (otherwise RG_ERROR_ARGUMENT).
 *    ftfy.fix_text is not available in C; in its place the tokenizer does
 *    the two deterministic parts of it: removal of the control characters
 *    ftfy's remove_control_chars drops (U+0000-0008, 000B, 000E-001F, 007F,
 *    206A-206F, FEFF, FFF9-FFFC) and NFC. ftfy's heuristic repairs
 *    (mojibake, curly quotes, ligatures, full-width forms, its own
 *    conditional HTML pass) are not done, which is also what HF
 *    CLIPTokenizerFast and HF CLIPTokenizer without ftfy do. Then CLIP's
 *    basic_clean and whitespace_clean: html.unescape applied twice (Python's
 *    html module: all HTML5 named references, numeric ones, its longest-prefix
 *    rule for names without ';'), runs of whitespace (Unicode White_Space)
 *    become one space, both ends stripped, and Python's str.lower()
 *    (locale-independent; U+0130 -> "i\u0307", final sigma in context).
 *    Differences from HF CLIPTokenizer *without* ftfy (its BERT
 *    BasicTokenizer fallback): that fallback does no HTML unescaping, puts
 *    spaces around CJK ideographs ("日本" becomes two words, here one, as in
 *    CLIP) and drops every Cc/Cf character and U+FFFD (here only ftfy's list;
 *    zero-width joiners in emoji sequences stay).
 * 2. Pre-tokenizer: CLIP's pattern, case-insensitive,
 *    <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 *    with \p{L} / \p{N} from GLib's Unicode tables (Unicode 15 in GLib 2.74):
 *    letters in runs, one digit per piece, punctuation in runs, whitespace
 *    dropped. A piece that is exactly "<|startoftext|>" or "<|endoftext|>"
 *    becomes that special token.
 * 3. Each UTF-8 byte of a piece becomes one character of bytes_to_unicode();
 *    "</w>" is appended to the last one; BPE merges the adjacent pair of
 *    lowest rank (every non-overlapping occurrence, left to right) until no
 *    pair is in merges.txt; each symbol becomes its vocab.json id. A symbol
 *    missing from the vocabulary (only possible with a partial vocabulary)
 *    becomes the unknown token, "<|endoftext|>", as in HF.
 * 4. rg_tokenizer_encode() frames the ids as BOS + ids + EOS, truncated to
 *    max_length with EOS kept last, padded with EOS (SD1.5's tokenizer pads
 *    with "<|endoftext|>").
 *
 * Files: vocab.json is a JSON object {token: id} with integer ids in
 * [0, 2^31 - 1), no key twice, at most 32 levels of nesting (read with
 * rg_json_parse_untrusted()); it must hold "<|startoftext|>" and
 * "<|endoftext|>". Both files must be UTF-8. merges.txt
 * has one merge "A B" per line, lowest rank first; a first line starting with
 * "#version" is a header and skipped, blank lines are skipped, and both parts
 * and their concatenation must be in vocab.json. (HF also stops after 48,894
 * merges; the CLIP file has exactly that many.) Errors name the file and line.
 *
 * An rg_tokenizer is read-only after loading: encoding from several threads
 * at once is safe.
 */
#pragma once

#include "readout/readout.h"

G_BEGIN_DECLS

/* SD1.x's text context: 77 ids including BOS and EOS. */
#define RG_TOKENIZER_CONTEXT_LENGTH 77

typedef struct rg_tokenizer rg_tokenizer;

/* Loads @dir/vocab.json and @dir/merges.txt (a diffusers `tokenizer/` folder).
 * Errors: RG_ERROR_IO (a file cannot be read), RG_ERROR_FORMAT (bad contents;
 * the message names the file). */
RG_API rg_tokenizer *rg_tokenizer_new_from_dir(const char *dir, GError **error);
RG_API rg_tokenizer *rg_tokenizer_new_from_files(const char *vocab_path, const char *merges_path, GError **error);
/* The same from the files' contents (@vocab_len / @merges_len bytes, -1 for
 * NUL-terminated); messages call them "vocab.json" and "merges.txt". */
RG_API rg_tokenizer *rg_tokenizer_new_from_data(const char *vocab_json, gssize vocab_len, const char *merges_txt,
                                                gssize merges_len, GError **error);
RG_API void rg_tokenizer_free(rg_tokenizer *t);

/* The ids of "<|startoftext|>" (49406 for CLIP) and "<|endoftext|>" (49407). */
RG_API int64_t rg_tokenizer_bos(const rg_tokenizer *t);
RG_API int64_t rg_tokenizer_eos(const rg_tokenizer *t);
/* Number of entries in vocab.json (49408 for CLIP) and of merges (48894). */
RG_API int rg_tokenizer_vocab_size(const rg_tokenizer *t);
RG_API int rg_tokenizer_n_merges(const rg_tokenizer *t);

/* Encodes @text (NUL-terminated UTF-8) into exactly @max_length ids
 * (RG_TOKENIZER_CONTEXT_LENGTH for SD1.x, >= 2): BOS, the first
 * max_length - 2 content ids, EOS, then EOS padding. @ids: (max_length,)
 * int64, written. @n_tokens (may be NULL) receives the count before padding,
 * BOS and EOS included (at most @max_length).
 * Errors: RG_ERROR_ARGUMENT (invalid UTF-8, max_length < 2). */
RG_API gboolean rg_tokenizer_encode(rg_tokenizer *t, const char *text, int max_length, int64_t *ids, int *n_tokens,
                                    GError **error);
/* All content ids of @text, without BOS, EOS, truncation or padding: a GArray
 * of int64_t. (transfer full) NULL with RG_ERROR_ARGUMENT for invalid UTF-8. */
RG_API GArray *rg_tokenizer_encode_raw(rg_tokenizer *t, const char *text, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_tokenizer, rg_tokenizer_free)

G_END_DECLS
