/* tokenizer.c — the CLIP BPE tokenizer: loading vocab.json + merges.txt,
 * byte-level BPE over the pre-tokenizer's pieces, and the 77-id framing.
 * The text clean-up and the pre-tokenizer are in text_clean.c; the
 * algorithm is described in readout/tokenizer.h. */
#include "readout/tokenizer.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "io/json_untrusted.h"
#include "models/tokenizer/tokenizer_impl.h"

#define BOS_TEXT "<|startoftext|>"
#define EOS_TEXT "<|endoftext|>"
#define EMPTY_KEY G_MAXUINT64

/* One merge "A B": the pair of vocab ids (A << 32 | B), its rank (line
 * order) and the id of "AB". Open addressing, linear probing. */
typedef struct {
    guint64 key;
    gint32 rank;
    gint32 merged;
} merge_slot;

struct rg_tokenizer {
    GHashTable *vocab; /* token (owned) -> GINT_TO_POINTER(id + 1) */
    int vocab_size;
    merge_slot *merges;
    guint64 merges_mask; /* capacity - 1, capacity a power of two */
    int n_merges;
    gint32 byte_id[256];   /* id of bytes_to_unicode(b), -1 if absent */
    gint32 byte_id_w[256]; /* id of bytes_to_unicode(b) + "</w>", -1 if absent */
    gint32 bos, eos;
};

static guint64 mix64(guint64 x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static merge_slot *merge_find(const rg_tokenizer *t, gint32 a, gint32 b)
{
    guint64 key = (guint64)a << 32 | (guint32)b;
    for (guint64 i = mix64(key) & t->merges_mask;; i = (i + 1) & t->merges_mask) {
        merge_slot *s = &t->merges[i];
        if (s->key == key || s->key == EMPTY_KEY)
            return s;
    }
}

static gint32 vocab_id(const rg_tokenizer *t, const char *token)
{
    gpointer v = g_hash_table_lookup(t->vocab, token);
    return v ? GPOINTER_TO_INT(v) - 1 : -1;
}

void rg_tokenizer_free(rg_tokenizer *t)
{
    if (!t)
        return;
    if (t->vocab)
        g_hash_table_unref(t->vocab);
    g_free(t->merges);
    g_free(t);
}

int64_t rg_tokenizer_bos(const rg_tokenizer *t)
{
    return t->bos;
}

int64_t rg_tokenizer_eos(const rg_tokenizer *t)
{
    return t->eos;
}

int rg_tokenizer_vocab_size(const rg_tokenizer *t)
{
    return t->vocab_size;
}

int rg_tokenizer_n_merges(const rg_tokenizer *t)
{
    return t->n_merges;
}

/* ---- loading ---------------------------------------------------------------- */

static gboolean check_utf8(const char *data, gsize len, const char *name, GError **error)
{
    const char *end = NULL;
    if (g_utf8_validate_len(data, len, &end))
        return TRUE;
    g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "tokenizer: %s is not valid UTF-8 (byte %zu)", name,
                (size_t)(end - data));
    return FALSE;
}

static gboolean load_vocab(rg_tokenizer *t, const char *data, gsize len, const char *name, GError **error)
{
    /* UTF-8, nesting depth and duplicate keys are checked before and after json-glib runs. */
    g_autofree char *what = g_strdup_printf("tokenizer: %s", name);
    g_autoptr(JsonNode) root = rg_json_parse_untrusted(what, data, len, error);
    if (!root)
        return FALSE;
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "tokenizer: %s must be a JSON object mapping tokens to ids",
                    name);
        return FALSE;
    }
    JsonObject *o = json_node_get_object(root);
    g_autoptr(GList) members = json_object_get_members(o);
    for (GList *l = members; l; l = l->next) {
        const char *token = l->data;
        JsonNode *v = json_object_get_member(o, token);
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_INT64 || json_node_get_int(v) < 0 ||
            json_node_get_int(v) > G_MAXINT32 - 1) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT,
                        "tokenizer: %s: the id of \"%s\" is not an integer in [0, 2^31 - 1)", name, token);
            return FALSE;
        }
        g_hash_table_insert(t->vocab, g_strdup(token), GINT_TO_POINTER((gint32)json_node_get_int(v) + 1));
    }
    t->vocab_size = (int)g_hash_table_size(t->vocab);
    if (t->vocab_size == 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "tokenizer: %s holds an empty vocabulary", name);
        return FALSE;
    }
    t->bos = vocab_id(t, BOS_TEXT);
    t->eos = vocab_id(t, EOS_TEXT);
    if (t->bos < 0 || t->eos < 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "tokenizer: %s has no \"%s\" token (not a CLIP vocabulary)", name,
                    t->bos < 0 ? BOS_TEXT : EOS_TEXT);
        return FALSE;
    }
    for (int b = 0; b < 256; b++) {
        char ch[8] = {0};
        g_unichar_to_utf8(rg_tokenizer_byte_char((guint8)b), ch);
        t->byte_id[b] = vocab_id(t, ch);
        g_autofree char *with_w = g_strconcat(ch, "</w>", NULL);
        t->byte_id_w[b] = vocab_id(t, with_w);
    }
    return TRUE;
}

/* Looks a merge part up, or says which line names a token the vocabulary lacks. */
static gint32 merge_part(const rg_tokenizer *t, const char *token, const char *name, const char *vocab_name, int line,
                         GError **error)
{
    gint32 id = vocab_id(t, token);
    if (id < 0)
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "tokenizer: %s line %d: token \"%s\" is not in %s", name, line,
                    token, vocab_name);
    return id;
}

static gboolean load_merges(rg_tokenizer *t, const char *data, gsize len, const char *name, const char *vocab_name,
                            GError **error)
{
    if (!check_utf8(data, len, name, error))
        return FALSE;
    g_autofree char *text = g_strndup(data, len);
    if (strlen(text) != len) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "tokenizer: %s contains a NUL byte (byte %zu)", name,
                    strlen(text));
        return FALSE;
    }
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint n_lines = g_strv_length(lines);
    guint64 cap = 16;
    while (cap < 2 * (guint64)n_lines)
        cap *= 2;
    t->merges = g_new(merge_slot, cap);
    for (guint64 i = 0; i < cap; i++)
        t->merges[i].key = EMPTY_KEY;
    t->merges_mask = cap - 1;
    for (guint i = 0; i < n_lines; i++) {
        char *line = lines[i];
        gsize n = strlen(line);
        if (n > 0 && line[n - 1] == '\r')
            line[--n] = '\0';
        if (i == 0 && g_str_has_prefix(line, "#version"))
            continue;
        g_auto(GStrv) parts = g_strsplit_set(g_strstrip(line), " \t", -1);
        /* Drop empty fields left by runs of separators. */
        int k = 0;
        for (int j = 0; parts[j]; j++) {
            if (parts[j][0])
                parts[k++] = parts[j];
            else
                g_free(parts[j]);
        }
        parts[k] = NULL;
        if (k == 0)
            continue; /* blank line */
        if (k != 2) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT,
                        "tokenizer: %s line %u: expected two tokens separated by a space, found %d", name, i + 1, k);
            return FALSE;
        }
        gint32 a = merge_part(t, parts[0], name, vocab_name, (int)i + 1, error);
        gint32 b = a < 0 ? -1 : merge_part(t, parts[1], name, vocab_name, (int)i + 1, error);
        if (b < 0)
            return FALSE;
        g_autofree char *joined = g_strconcat(parts[0], parts[1], NULL);
        gint32 ab = vocab_id(t, joined);
        if (ab < 0) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "tokenizer: %s line %u: the merged token \"%s\" is not in %s",
                        name, i + 1, joined, vocab_name);
            return FALSE;
        }
        /* Ranks follow line order; a repeated pair takes its later rank, as
         * Python's dict(zip(merges, range(...))) does. */
        merge_slot *s = merge_find(t, a, b);
        s->key = (guint64)a << 32 | (guint32)b;
        s->rank = t->n_merges++;
        s->merged = ab;
    }
    return TRUE;
}

static rg_tokenizer *load(const char *vocab, gsize vocab_len, const char *vocab_name, const char *merges,
                          gsize merges_len, const char *merges_name, GError **error)
{
    rg_tokenizer *t = g_new0(rg_tokenizer, 1);
    t->vocab = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (!load_vocab(t, vocab, vocab_len, vocab_name, error) ||
        !load_merges(t, merges, merges_len, merges_name, vocab_name, error)) {
        rg_tokenizer_free(t);
        return NULL;
    }
    return t;
}

rg_tokenizer *rg_tokenizer_new_from_data(const char *vocab_json, gssize vocab_len, const char *merges_txt,
                                         gssize merges_len, GError **error)
{
    g_return_val_if_fail(vocab_json && merges_txt, NULL);
    return load(vocab_json, vocab_len < 0 ? strlen(vocab_json) : (gsize)vocab_len, "vocab.json", merges_txt,
                merges_len < 0 ? strlen(merges_txt) : (gsize)merges_len, "merges.txt", error);
}

static char *read_file(const char *path, gsize *len, GError **error)
{
    char *data = NULL;
    g_autoptr(GError) ferr = NULL;
    if (!g_file_get_contents(path, &data, len, &ferr)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "tokenizer: cannot read %s: %s", path, ferr->message);
        return NULL;
    }
    return data;
}

rg_tokenizer *rg_tokenizer_new_from_files(const char *vocab_path, const char *merges_path, GError **error)
{
    g_return_val_if_fail(vocab_path && merges_path, NULL);
    gsize vlen = 0, mlen = 0;
    g_autofree char *vocab = read_file(vocab_path, &vlen, error);
    if (!vocab)
        return NULL;
    g_autofree char *merges = read_file(merges_path, &mlen, error);
    if (!merges)
        return NULL;
    return load(vocab, vlen, vocab_path, merges, mlen, merges_path, error);
}

rg_tokenizer *rg_tokenizer_new_from_dir(const char *dir, GError **error)
{
    g_return_val_if_fail(dir, NULL);
    g_autofree char *vocab = g_build_filename(dir, "vocab.json", NULL);
    g_autofree char *merges = g_build_filename(dir, "merges.txt", NULL);
    const char *missing = !g_file_test(vocab, G_FILE_TEST_IS_REGULAR)    ? vocab
                          : !g_file_test(merges, G_FILE_TEST_IS_REGULAR) ? merges
                                                                         : NULL;
    if (missing) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO,
                    "tokenizer: %s does not exist (a tokenizer folder holds vocab.json and merges.txt)", missing);
        return NULL;
    }
    return rg_tokenizer_new_from_files(vocab, merges, error);
}

/* ---- BPE -------------------------------------------------------------------- */

/* A candidate merge of the symbol at pos with the one after it. */
typedef struct {
    gint32 rank;
    gint32 left, right, merged; /* vocab ids */
    gssize pos;
} heap_entry;

static gboolean entry_less(const heap_entry *a, const heap_entry *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(heap_entry *h, gsize *n, heap_entry e)
{
    gsize i = (*n)++;
    while (i > 0 && entry_less(&e, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = e;
}

static heap_entry heap_pop(heap_entry *h, gsize *n)
{
    heap_entry top = h[0], last = h[--(*n)];
    gsize i = 0;
    for (;;) {
        gsize c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && entry_less(&h[c + 1], &h[c]))
            c++;
        if (!entry_less(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0)
        h[i] = last;
    return top;
}

typedef struct {
    gint32 *id;               /* (n,) vocab id of each symbol, -1 unknown */
    gssize *prev, *next;      /* (n,) linked list of live symbols, -1 at the ends */
    heap_entry *heap, *batch; /* (3n,) each */
    gsize n_heap;
} bpe_word;

static void push_pair(const rg_tokenizer *t, bpe_word *w, gssize p)
{
    gssize q = w->next[p];
    if (q < 0 || w->id[p] < 0 || w->id[q] < 0)
        return;
    merge_slot *s = merge_find(t, w->id[p], w->id[q]);
    if (s->key == EMPTY_KEY)
        return;
    heap_entry e = {s->rank, w->id[p], w->id[q], s->merged, p};
    heap_push(w->heap, &w->n_heap, e);
}

/* bpe() of simple_tokenizer.py over the @n bytes of one piece, appending the
 * ids to @out. Each round takes the lowest rank among the word's pairs and
 * merges all its occurrences left to right (a heap keyed on (rank, position)
 * gives them in that order); pairs a round creates wait for later rounds. */
static void bpe(const rg_tokenizer *t, const guint8 *bytes, gsize n, GArray *out)
{
    bpe_word w;
    w.id = g_new(gint32, n);
    w.prev = g_new(gssize, 2 * n);
    w.next = w.prev + n;
    w.heap = g_new(heap_entry, 6 * n);
    w.batch = w.heap + 3 * n;
    w.n_heap = 0;
    for (gsize i = 0; i < n; i++) {
        w.id[i] = i + 1 == n ? t->byte_id_w[bytes[i]] : t->byte_id[bytes[i]];
        w.prev[i] = (gssize)i - 1;
        w.next[i] = i + 1 < n ? (gssize)i + 1 : -1;
    }
    for (gsize i = 0; i + 1 < n; i++)
        push_pair(t, &w, (gssize)i);
    while (w.n_heap > 0) {
        gint32 rank = w.heap[0].rank;
        gsize nb = 0;
        while (w.n_heap > 0 && w.heap[0].rank == rank)
            w.batch[nb++] = heap_pop(w.heap, &w.n_heap);
        for (gsize k = 0; k < nb; k++) {
            const heap_entry *e = &w.batch[k];
            gssize p = e->pos, q = w.next[p];
            /* Stale when either side changed or was merged away (dead symbols have id -1). */
            if (w.id[p] != e->left || q < 0 || w.id[q] != e->right)
                continue;
            w.id[p] = e->merged;
            w.next[p] = w.next[q];
            if (w.next[q] >= 0)
                w.prev[w.next[q]] = p;
            w.id[q] = -1; /* dead */
            if (w.prev[p] >= 0)
                push_pair(t, &w, w.prev[p]);
            push_pair(t, &w, p);
        }
    }
    for (gssize i = 0; i >= 0; i = w.next[i]) {
        int64_t id = w.id[i] >= 0 ? w.id[i] : t->eos; /* unknown symbol: HF's unk_token */
        g_array_append_val(out, id);
    }
    g_free(w.id);
    g_free(w.prev);
    g_free(w.heap);
}

/* Appends the ids of @text's pieces to @out, stopping after the piece that
 * brings it to @limit ids or more. */
static gboolean encode_into(const rg_tokenizer *t, const char *text, guint limit, GArray *out, GError **error)
{
    g_autofree char *clean = rg_tokenizer_clean(text, error);
    if (!clean)
        return FALSE;
    gsize pos = 0, start = 0, len = 0;
    while (out->len < limit && rg_tokenizer_next_piece(clean, &pos, &start, &len)) {
        const char *piece = clean + start;
        int64_t special = -1;
        if (len == strlen(BOS_TEXT) && !memcmp(piece, BOS_TEXT, len))
            special = t->bos;
        else if (len == strlen(EOS_TEXT) && !memcmp(piece, EOS_TEXT, len))
            special = t->eos;
        if (special >= 0)
            g_array_append_val(out, special);
        else
            bpe(t, (const guint8 *)piece, len, out);
    }
    return TRUE;
}

GArray *rg_tokenizer_encode_raw(rg_tokenizer *t, const char *text, GError **error)
{
    g_return_val_if_fail(t && text, NULL);
    GArray *out = g_array_new(FALSE, FALSE, sizeof(int64_t));
    if (!encode_into(t, text, G_MAXUINT, out, error)) {
        g_array_unref(out);
        return NULL;
    }
    return out;
}

gboolean rg_tokenizer_encode(rg_tokenizer *t, const char *text, int max_length, int64_t *ids, int *n_tokens,
                             GError **error)
{
    g_return_val_if_fail(t && text && ids, FALSE);
    if (max_length < 2) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "tokenizer: max_length %d leaves no room for the start and end tokens (need >= 2)", max_length);
        return FALSE;
    }
    g_autoptr(GArray) raw = g_array_new(FALSE, FALSE, sizeof(int64_t));
    if (!encode_into(t, text, (guint)max_length - 2, raw, error))
        return FALSE;
    int n = MIN((int)raw->len, max_length - 2);
    ids[0] = t->bos;
    if (n > 0)
        memcpy(ids + 1, raw->data, (size_t)n * sizeof(int64_t));
    for (int i = n + 1; i < max_length; i++)
        ids[i] = t->eos;
    if (n_tokens)
        *n_tokens = n + 2;
    return TRUE;
}
