/* test_safetensors.c — the safetensors reader and writer: round trip,
 * metadata, every kind of corrupt file giving an error that names the file
 * and the problem (overlapping ranges, duplicate names, bad UTF-8, deep
 * nesting included), F16/BF16 loading across the block-parallel path, and the
 * once-per-file NaN/Inf warning (tests/fuzz/ fuzzes the same parser). */
#include "rg_test.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *tmp_dir;

static char *write_file(const char *name, const void *bytes, gsize len)
{
    char *path = g_build_filename(tmp_dir, name, NULL);
    g_assert_true(g_file_set_contents(path, bytes, (gssize)len, NULL));
    return path;
}

/* A file from a header text and @data_len zero bytes of data. */
static char *file_with_header(const char *name, const char *header, gsize data_len)
{
    gsize hlen = strlen(header);
    g_autofree guint8 *buf = g_malloc0(8 + hlen + data_len);
    for (int i = 0; i < 8; i++)
        buf[i] = (guint8)((hlen >> (8 * i)) & 0xff);
    memcpy(buf + 8, header, hlen);
    return write_file(name, buf, 8 + hlen + data_len);
}

static gboolean round_trip(void)
{
    GError *error = NULL;
    int64_t s[3] = { 2, 3, 5 }, ls = 4;
    g_autoptr(rg_tensor) a = rg_test_random(1, 3, s, -3, 3);
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, NULL);
    g_autoptr(rg_tensor) view = rg_slice(ctx, a, 2, 1, 3, &error); /* non-contiguous */
    int64_t idx[4] = { 0, -1, INT64_MAX, 42 };
    g_autoptr(rg_tensor) ids = rg_tensor_new_from_data(RG_DTYPE_I64, 1, &ls, idx, &error);
    rg_assert_no_error(error);
    const char *names[3] = { "a", "view", "ids" };
    rg_tensor *ts[3] = { a, view, ids };
    const char *meta[] = { "format", "pt", "note", "ünïcode", NULL };
    g_autofree char *path = g_build_filename(tmp_dir, "rt.safetensors", NULL);
    g_assert_true(rg_safetensors_save(path, 3, names, ts, meta, &error));
    rg_assert_no_error(error);

    g_autoptr(rg_safetensors) st = rg_safetensors_open(path, &error);
    rg_assert_no_error(error);
    g_autoptr(rg_tensor) a2 = rg_safetensors_load(st, "a", &error);
    g_autoptr(rg_tensor) v2 = rg_safetensors_load(st, "view", &error);
    g_autoptr(rg_tensor) i2 = rg_safetensors_load(st, "ids", &error);
    rg_assert_no_error(error);
    gboolean ok = rg_check_tensor("round trip a", a2, a, 0, 0) && rg_check_tensor("round trip view", v2, view, 0, 0) &&
                  rg_check_tensor("round trip ids", i2, ids, 0, 0);
    ok &= rg_safetensors_count(st) == 3 && !strcmp(rg_safetensors_name(st, 1), "view") &&
          !strcmp(rg_safetensors_metadata(st, "note"), "ünïcode") && rg_safetensors_contains(st, "ids") &&
          !rg_safetensors_contains(st, "nope");
    rg_dtype dt;
    int nd;
    int64_t shape[RG_MAX_DIMS];
    ok &= rg_safetensors_info(st, "view", &dt, &nd, shape) && dt == RG_DTYPE_F32 && nd == 3 && shape[2] == 3;
    g_print("%s names, metadata and info\n", ok ? "OK" : "NOT OK");
    RG_EXPECT_ERROR(ok, "missing tensor", rg_safetensors_load(st, "nope", &err_), RG_ERROR_FORMAT, "nope");
    return ok;
}

static gboolean corrupt_files(void)
{
    gboolean ok = TRUE;
    static const struct {
        const char *name, *header;
        gsize data;
        const char *expect; /* a piece of the message */
    } cases[] = {
        { "not_json", "{\"a\": {\"dtype\": ", 0, "not valid JSON" },
        { "not_object", "[1, 2]", 0, "not a JSON object" },
        { "entry_not_object", "{\"a\": 3}", 0, "\"a\"" },
        { "no_dtype", "{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "dtype" },
        { "unknown_dtype", "{\"a\": {\"dtype\": \"Q7\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "Q7" },
        { "negative_shape", "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4,
          "non-negative" },
        { "float_shape", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4,
          "non-negative" },
        { "six_dims", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1], \"data_offsets\": [0, 4]}}", 4,
          "dimensions" },
        { "past_end", "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8, "truncated" },
        { "size_mismatch", "{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8,
          "needs 12 bytes" },
        { "reversed", "{\"a\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [8, 0]}}", 8, "outside" },
        { "huge_shape",
          "{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 4294967296], \"data_offsets\": [0, 4]}}",
          4, "larger than the file" },
        { "bad_metadata", "{\"__metadata__\": {\"k\": 3}}", 0, "__metadata__" },
        { "one_offset", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4, "two numbers" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = file_with_header(cases[i].name, cases[i].header, cases[i].data);
        RG_EXPECT_ERROR(ok, cases[i].name, rg_safetensors_open(path, &err_), RG_ERROR_FORMAT, cases[i].expect);
        /* the file name is in every message */
        GError *e = NULL;
        rg_safetensors *st = rg_safetensors_open(path, &e);
        ok &= st == NULL && e && strstr(e->message, path);
        g_clear_error(&e);
    }
    /* header length larger than the file, and a file too short for one */
    guint8 lies[12] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, '{', '}', ' ', ' ' };
    g_autofree char *p1 = write_file("length_lies", lies, sizeof lies);
    RG_EXPECT_ERROR(ok, "length lies", rg_safetensors_open(p1, &err_), RG_ERROR_FORMAT, "header length");
    g_autofree char *p2 = write_file("short", lies, 5);
    RG_EXPECT_ERROR(ok, "too short", rg_safetensors_open(p2, &err_), RG_ERROR_FORMAT, "too short");
    g_autofree char *p3 = g_build_filename(tmp_dir, "does-not-exist.safetensors", NULL);
    RG_EXPECT_ERROR(ok, "missing file", rg_safetensors_open(p3, &err_), RG_ERROR_IO, "does-not-exist");

    /* an unsupported but valid dtype lists fine and refuses to load */
    g_autofree char *p4 =
        file_with_header("f64", "{\"d\": {\"dtype\": \"F64\", \"shape\": [2], \"data_offsets\": [0, 16]}}", 16);
    GError *e = NULL;
    g_autoptr(rg_safetensors) st = rg_safetensors_open(p4, &e);
    rg_assert_no_error(e);
    RG_EXPECT_ERROR(ok, "f64 load", rg_safetensors_load(st, "d", &err_), RG_ERROR_FORMAT, "F64");
    return ok;
}

/* A file holding @n raw tensors: names[i] of dtypes[i], 1-D with lens[i]
 * elements, data[i] laid out one after the other; the header is padded to an
 * @odd or even length, so 16-bit data lands on odd or even addresses. */
static char *file_with_tensors(const char *file, int n, const char *const *names, const char *const *dtypes,
                               const int64_t *lens, const void *const *data, gboolean odd)
{
    g_autoptr(GString) h = g_string_new("{");
    g_autoptr(GByteArray) bytes = g_byte_array_new();
    for (int i = 0; i < n; i++) {
        size_t es = !strcmp(dtypes[i], "F32") ? 4 : 2;
        guint64 begin = bytes->len;
        g_byte_array_append(bytes, data[i], (guint)(lens[i] * (int64_t)es));
        g_string_append_printf(h, "%s\"%s\": {\"dtype\": \"%s\", \"shape\": [%" G_GINT64_FORMAT "], "
                               "\"data_offsets\": [%" G_GUINT64_FORMAT ", %u]}", i ? ", " : "", names[i], dtypes[i],
                               lens[i], begin, bytes->len);
    }
    g_string_append(h, "}");
    if ((h->len % 2 == 1) != odd)
        g_string_append_c(h, ' ');
    gsize hlen = h->len;
    g_autofree guint8 *buf = g_malloc0(8 + hlen + bytes->len);
    for (int i = 0; i < 8; i++)
        buf[i] = (guint8)((hlen >> (8 * i)) & 0xff);
    memcpy(buf + 8, h->str, hlen);
    memcpy(buf + 8 + hlen, bytes->data, bytes->len);
    return write_file(file, buf, 8 + hlen + bytes->len);
}

/* Overlapping ranges, duplicate names, bad UTF-8, NUL bytes and deep nesting
 * are refused with a message saying so. */
static gboolean hostile_headers(void)
{
    gboolean ok = TRUE;
    static const struct {
        const char *name, *header;
        gsize data;
        const char *expect;
    } cases[] = {
        { "overlap",
          "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}, "
          "\"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}",
          24, "overlap" },
        { "same_range",
          "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
          "\"b\": {\"dtype\": \"I32\", \"shape\": [2], \"data_offsets\": [0, 8]}}",
          8, "\"b\" [0, 8)" },
        { "duplicate",
          "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, "
          "\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
          8, "\"w\" twice" },
        { "duplicate_escaped",
          "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, "
          "\"\\u0077\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
          8, "same key twice" },
        { "duplicate_field",
          "{\"w\": {\"dtype\": \"F32\", \"dtype\": \"F16\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
          "same key twice" },
        { "duplicate_metadata", "{\"__metadata__\": {\"k\": \"1\", \"k\": \"2\"}}", 0, "same key twice" },
        { "bad_utf8", "{\"w\xff\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
          "not valid UTF-8 (byte 3" },
        { "overlong_utf8", "{\"\xc0\xaf\": 1}", 0, "UTF-8" },
        { "nested", "{\"__metadata__\": {\"k\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}", 0,
          "deeper than 32 levels (at byte 53)" },
        { "brackets_in_strings", "{\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\": 3}", 0, "\"[[[" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = file_with_header(cases[i].name, cases[i].header, cases[i].data);
        RG_EXPECT_ERROR(ok, cases[i].name, rg_safetensors_open(path, &err_), RG_ERROR_FORMAT, cases[i].expect);
    }
    /* a NUL inside the header (written by length, so strlen cannot stop it) */
    const char nul[] = "{\"a\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [0, 0]}}\0 ";
    guint8 buf[8 + sizeof nul] = { (guint8)(sizeof nul) };
    memcpy(buf + 8, nul, sizeof nul);
    g_autofree char *pn = write_file("nul_byte", buf, sizeof buf);
    RG_EXPECT_ERROR(ok, "nul byte", rg_safetensors_open(pn, &err_), RG_ERROR_FORMAT, "is a NUL");

    /* 200,000 levels crash json-glib's parser; here they are an error */
    const gsize deep = 200000;
    g_autofree char *brackets = g_malloc(deep + 1);
    memset(brackets, '[', deep);
    brackets[deep] = 0;
    g_autofree char *pd = file_with_header("very_deep", brackets, 0);
    RG_EXPECT_ERROR(ok, "200000 levels", rg_safetensors_open(pd, &err_), RG_ERROR_FORMAT, "deeper than");

    /* touching ranges, an empty tensor inside another's range and a gap are fine */
    g_autofree char *pt = file_with_header(
        "touching",
        "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
        "\"e\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 4]}, "
        "\"b\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [8, 12]}, "
        "\"c\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [16, 20]}}",
        20);
    GError *e = NULL;
    g_autoptr(rg_safetensors) st = rg_safetensors_open(pt, &e);
    gboolean fine = st && !e && rg_safetensors_count(st) == 4;
    g_clear_error(&e);
    g_print("%s touching ranges, empty tensors and gaps are accepted\n", fine ? "OK" : "NOT OK");
    return ok && fine;
}

static int n_warnings;
static char *last_warning;

static void count_warning(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
    n_warnings++;
    g_free(last_warning);
    last_warning = g_strdup(message);
}

/* F16/BF16 convert exactly over many parallel blocks; NaN and Inf warn once
 * per file, naming the first tensor; clean files do not warn. */
static gboolean float_loading(void)
{
    gboolean ok = TRUE;
    const int64_t n = 300001; /* past the parallel threshold, not a multiple of the block */
    g_autofree guint16 *h = g_new(guint16, n);
    g_autofree guint16 *b = g_new(guint16, n);
    g_autofree float *f = g_new(float, n);
    for (int64_t i = 0; i < n; i++) {
        f[i] = (float)((i % 2001) - 1000) * 0.37f + (float)i * 1e-3f;
        h[i] = (guint16)((i * 2654435761u) >> 7) & 0x7bff; /* every finite pattern, subnormals too */
        b[i] = (guint16)((i * 40503u) & 0x7f7f);
    }
    const char *names[3] = { "f32", "f16", "bf16" }, *dtypes[3] = { "F32", "F16", "BF16" };
    int64_t lens[3] = { n, n, n };
    const void *data[3] = { f, h, b };
    guint handler = g_log_set_handler("Readout-core", G_LOG_LEVEL_WARNING, count_warning, NULL);
    GError *e = NULL;
    for (int odd = 0; odd < 2; odd++) {
        g_autofree char *p = file_with_tensors(odd ? "floats_odd" : "floats", 3, names, dtypes, lens, data, odd);
        g_autoptr(rg_safetensors) st = rg_safetensors_open(p, &e);
        rg_assert_no_error(e);
        for (int k = 0; k < 3; k++) {
            g_autoptr(rg_tensor) t = rg_safetensors_load(st, names[k], &e);
            rg_assert_no_error(e);
            const float *v = rg_tensor_data_f32(t);
            int64_t wrong = -1;
            for (int64_t i = 0; i < n && wrong < 0; i++) {
                float want = k == 0 ? f[i] : k == 1 ? rg_f16_to_f32(h[i]) : rg_bf16_to_f32(b[i]);
                if (memcmp(&want, &v[i], 4))
                    wrong = i;
            }
            g_print("%s %s loads bit-exact (%" G_GINT64_FORMAT " elements, %s addresses)\n", wrong < 0 ? "OK" : "NOT OK",
                    names[k], n, odd ? "odd" : "even");
            ok &= wrong < 0;
        }
    }
    ok &= n_warnings == 0;

    /* NaN in the last element of one F16 tensor, Inf in a BF16 one, NaN in F32 */
    h[n - 1] = 0x7e00;
    b[17] = 0xff80;
    f[123456] = NAN;
    g_autofree char *pb = file_with_tensors("nonfinite", 3, names, dtypes, lens, data, TRUE);
    g_autoptr(rg_safetensors) bad = rg_safetensors_open(pb, &e);
    rg_assert_no_error(e);
    for (int k = 2; k >= 0; k--) {
        g_autoptr(rg_tensor) t = rg_safetensors_load(bad, names[k], &e);
        rg_assert_no_error(e);
        ok &= t != NULL;
    }
    gboolean once = n_warnings == 1 && last_warning && strstr(last_warning, "\"bf16\"") &&
                    strstr(last_warning, "NaN or infinite") && strstr(last_warning, pb);
    g_print("%s non-finite values warn once per file: %d warning(s): %s\n", once ? "OK" : "NOT OK", n_warnings,
            last_warning ? last_warning : "");
    /* a second file warns again */
    const char *one[1] = { "f16" }, *one_dt[1] = { "F16" };
    const void *one_data[1] = { h };
    g_autofree char *pc = file_with_tensors("nonfinite2", 1, one, one_dt, lens, one_data, FALSE);
    g_autoptr(rg_safetensors) bad2 = rg_safetensors_open(pc, &e);
    rg_assert_no_error(e);
    g_autoptr(rg_tensor) t2 = rg_safetensors_load(bad2, "f16", &e);
    rg_assert_no_error(e);
    gboolean again = t2 && n_warnings == 2 && strstr(last_warning, "\"f16\"");
    g_print("%s another file warns again: %s\n", again ? "OK" : "NOT OK", last_warning);
    g_log_remove_handler("Readout-core", handler);
    g_clear_pointer(&last_warning, g_free);
    return ok && once && again;
}

int main(void)
{
    tmp_dir = g_dir_make_tmp("rg-safetensors-XXXXXX", NULL);
    gboolean ok = round_trip();
    ok &= corrupt_files();
    ok &= hostile_headers();
    ok &= float_loading();
    g_autoptr(GDir) d = g_dir_open(tmp_dir, 0, NULL);
    for (const char *n; (n = g_dir_read_name(d));) {
        g_autofree char *p = g_build_filename(tmp_dir, n, NULL);
        g_unlink(p);
    }
    g_rmdir(tmp_dir);
    g_free(tmp_dir);
    g_print("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
