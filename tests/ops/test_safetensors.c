/* test_safetensors.c — the safetensors reader and writer: round trip,
 * metadata, and every kind of corrupt file giving an error that names the
 * file and the problem (tests/fuzz/ fuzzes the same parser). */
#include "rg_test.h"

#include <glib/gstdio.h>
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

int main(void)
{
    tmp_dir = g_dir_make_tmp("rg-safetensors-XXXXXX", NULL);
    gboolean ok = round_trip();
    ok &= corrupt_files();
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
