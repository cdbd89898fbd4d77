/* test_torch_pt.c — the restricted .pt reader (core/io/torch_pt.c):
 * - golden/pt/head.pt (torch.save of a fake readout head, written by
 *   tests/reference/torch_pt.py) loads with every tensor bit-exact against
 *   golden/pt/head.safetensors (same script), including f16/bf16, offset,
 *   strided, transposed, 0-dim and empty tensors, and its config as JSON;
 * - the malicious fixtures are refused with messages naming the global or
 *   the opcode and the file;
 * - every truncation of head.pt, corrupted bytes, compressed entries and
 *   hand-made archives with huge declared sizes, cycles, deep nesting and
 *   other forbidden opcodes are refused with RG_ERROR_FORMAT.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "readout/readout.h"
#include "readout/torch_pt.h"
#include "rg_test.h"

static char *fixture(const char *name)
{
    return g_build_filename(RG_PT_DIR, name, NULL);
}

/* Asserts that @pt is NULL and @error is RG_ERROR_FORMAT containing @a (and @b). */
static void expect_refused(rg_torch_pt *pt, GError **perror, const char *a, const char *b)
{
    GError *error = *perror; /* read after the call that set it (argument order is unspecified) */
    *perror = NULL;
    if (pt || !error || error->domain != RG_ERROR || error->code != RG_ERROR_FORMAT ||
        (a && !strstr(error->message, a)) || (b && !strstr(error->message, b)))
        g_error("expected a format error with \"%s\" and \"%s\", got %s", a ? a : "", b ? b : "",
                error ? error->message : "success");
    if (g_test_verbose())
        g_print("  refused: %s\n", error->message);
    g_error_free(error);
}

static void test_head(void)
{
    g_autofree char *path = fixture("head.pt");
    GError *error = NULL;
    g_autoptr(rg_torch_pt) pt = rg_torch_pt_open(path, &error);
    g_assert_no_error(error);
    rg_safetensors *golden = rg_test_golden("pt/head");
    g_assert_cmpint(rg_torch_pt_count(pt), ==, rg_safetensors_count(golden));
    gboolean ok = TRUE;
    for (int i = 0; i < rg_torch_pt_count(pt); i++) {
        const char *name = rg_torch_pt_name(pt, i);
        rg_tensor *got = rg_torch_pt_get(pt, name);
        rg_tensor *ref = rg_safetensors_load(golden, name, &error);
        g_assert_no_error(error);
        g_assert_cmpint(rg_tensor_ndim(got), ==, rg_tensor_ndim(ref));
        g_assert_true(rg_tensor_is_contiguous(got));
        for (int d = 0; d < rg_tensor_ndim(got); d++)
            g_assert_cmpint(rg_tensor_shape(got)[d], ==, rg_tensor_shape(ref)[d]);
        /* rg_check_tensor() cannot take empty tensors (rg_tensor_get_flat divides by a 0 size) */
        if (rg_tensor_numel(ref) > 0)
            ok &= rg_check_tensor(name, got, ref, 0.0, 0.0); /* exact: same bits, f16/bf16 widen exactly */
        rg_tensor_unref(ref);
    }
    g_assert_true(ok);
    g_assert_cmpint(rg_tensor_ndim(rg_torch_pt_get(pt, "aggregation_network.output_head.0.bias")), ==, 0);
    rg_tensor *empty = rg_torch_pt_get(pt, "aggregation_network.empty");
    g_assert_nonnull(empty);
    g_assert_cmpint(rg_tensor_shape(empty)[0], ==, 0);
    g_assert_cmpint(rg_tensor_shape(empty)[1], ==, 5);
    g_assert_nonnull(rg_torch_pt_get(pt, "extra.nested.w"));
    g_assert_null(rg_torch_pt_get(pt, "config"));
    rg_safetensors_free(golden);

    /* The non-tensor values, as JSON. */
    g_autoptr(JsonParser) parser = json_parser_new();
    g_assert_true(json_parser_load_from_data(parser, rg_torch_pt_values_json(pt), -1, &error));
    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    g_assert_cmpint(json_object_get_int_member(root, "step"), ==, 5000);
    g_assert_cmpint(json_object_get_size(json_object_get_object_member(root, "aggregation_network")), ==, 0);
    JsonObject *config = json_object_get_object_member(root, "config");
    JsonArray *dims = json_object_get_array_member(config, "dims");
    g_assert_cmpint(json_array_get_length(dims), ==, 3);
    g_assert_cmpint(json_array_get_int_element(dims, 1), ==, 640);
    g_assert_cmpfloat(json_object_get_double_member(config, "lr"), ==, 1e-3);
    g_assert_cmpstr(json_object_get_string_member(config, "negative_prompt"), ==, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    g_assert_cmpint(json_object_get_int_member(config, "big_int"), ==, G_GINT64_CONSTANT(1) << 40);
    g_assert_cmpint(json_object_get_int_member(config, "neg"), ==, -7);
    g_assert_true(json_object_get_null_member(config, "none"));
    g_assert_false(json_object_get_boolean_member(json_object_get_object_member(config, "aggregation_kwargs"),
                                                  "bottleneck_sequential"));
    JsonArray *range = json_object_get_array_member(json_object_get_object_member(config, "dataset_args"),
                                                    "control_range");
    g_assert_cmpint(json_array_get_int_element(range, 0), ==, -1);
}

static void test_malicious(void)
{
    static const char *const cases[][3] = {
        {"evil_reduce.pt", "global posix.system is not allowed", "evil_reduce.pt"},
        {"evil_global.pt", "global __main__.Thing is not allowed", "evil_global.pt"},
        {"evil_reconstruct.pt", "global __main__.Thing", "evil_reconstruct.pt"},
        {"evil_build.pt", "BUILD", "evil_build.pt"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = fixture(cases[i][0]);
        GError *error = NULL;
        expect_refused(rg_torch_pt_open(path, &error), &error, cases[i][1], cases[i][2]);
    }
    GError *error = NULL;
    g_assert_null(rg_torch_pt_open("/no/such/file.pt", &error));
    g_assert_error(error, RG_ERROR, RG_ERROR_IO);
    g_error_free(error);
}

static void test_truncated_and_corrupt(void)
{
    g_autofree char *path = fixture("head.pt");
    char *buf = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(path, &buf, &len, NULL));
    if (len < 1000)
        g_error("%s is too short", path);
    GError *error = NULL;
    for (gsize n = 0; n < len; n++)
        expect_refused(rg_torch_pt_open_bytes(buf, n, "cut.pt", &error), &error, "cut.pt", NULL);
    /* A flipped byte in the pickle, in a storage, in the local header of data.pkl. */
    char *copy = g_malloc(len);
    memcpy(copy, buf, len);
    const char *pkl = memmem(copy, len, "model_id", 8);
    g_assert_nonnull(pkl);
    copy[pkl - copy] ^= 1;
    expect_refused(rg_torch_pt_open_bytes(copy, len, "flip.pt", &error), &error, "CRC-32", "head/data.pkl");
    memcpy(copy, buf, len);
    copy[len - 200] ^= 0x55; /* inside the central directory */
    rg_torch_pt *pt = rg_torch_pt_open_bytes(copy, len, "cd.pt", &error);
    if (pt) /* a flip in a file name or time stamp may still read */
        rg_torch_pt_free(pt);
    g_clear_error(&error);
    memcpy(copy, buf, len);
    copy[0] = 'X';
    expect_refused(rg_torch_pt_open_bytes(copy, len, "local.pt", &error), &error, "local header", NULL);
    /* Method 8 (deflate) in the first central directory entry. */
    memcpy(copy, buf, len);
    char *cd = memmem(copy, len, "PK\x01\x02", 4);
    g_assert_nonnull(cd);
    cd[10] = 8;
    expect_refused(rg_torch_pt_open_bytes(copy, len, "deflate.pt", &error), &error, "compressed", "stored");
    g_free(copy);
    g_free(buf);
}

/* ---- hand-made archives ------------------------------------------------ */

static guint32 crc32(const guint8 *p, gsize n)
{
    guint32 c = 0xFFFFFFFFu;
    for (gsize i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

static void put16(GByteArray *a, guint32 v) { guint8 b[2] = {v & 0xFF, v >> 8 & 0xFF}; g_byte_array_append(a, b, 2); }
static void put32(GByteArray *a, guint32 v) { put16(a, v & 0xFFFF); put16(a, v >> 16); }

/* A stored zip of a/data.pkl = @pkl, a/data/0 = @n_storage bytes, a/version. */
static GByteArray *make_pt(const GByteArray *pkl, gsize n_storage)
{
    const char *names[3] = {"a/data.pkl", "a/data/0", "a/version"};
    g_autofree guint8 *storage = g_malloc0(n_storage + 1);
    for (gsize i = 0; i < n_storage; i++)
        storage[i] = (guint8)(i * 7);
    const guint8 *data[3] = {pkl->data, storage, (const guint8 *)"3\n"};
    gsize sizes[3] = {pkl->len, n_storage, 2};
    guint32 offsets[3];
    GByteArray *z = g_byte_array_new();
    for (int i = 0; i < 3; i++) {
        offsets[i] = z->len;
        put32(z, 0x04034b50u); put16(z, 20); put16(z, 0); put16(z, 0); put32(z, 0);
        put32(z, crc32(data[i], sizes[i])); put32(z, (guint32)sizes[i]); put32(z, (guint32)sizes[i]);
        put16(z, (guint32)strlen(names[i])); put16(z, 0);
        g_byte_array_append(z, (const guint8 *)names[i], (guint)strlen(names[i]));
        g_byte_array_append(z, data[i], (guint)sizes[i]);
    }
    guint32 cd = z->len;
    for (int i = 0; i < 3; i++) {
        put32(z, 0x02014b50u); put16(z, 20); put16(z, 20); put16(z, 0); put16(z, 0); put32(z, 0);
        put32(z, crc32(data[i], sizes[i])); put32(z, (guint32)sizes[i]); put32(z, (guint32)sizes[i]);
        put16(z, (guint32)strlen(names[i])); put16(z, 0); put16(z, 0); put16(z, 0); put16(z, 0); put32(z, 0);
        put32(z, offsets[i]);
        g_byte_array_append(z, (const guint8 *)names[i], (guint)strlen(names[i]));
    }
    guint32 cd_size = z->len - cd;
    put32(z, 0x06054b50u); put16(z, 0); put16(z, 0); put16(z, 3); put16(z, 3); put32(z, cd_size); put32(z, cd);
    put16(z, 0);
    return z;
}

static void p_raw(GByteArray *p, const char *s) { g_byte_array_append(p, (const guint8 *)s, (guint)strlen(s)); }
static void p_str(GByteArray *p, const char *s) { p_raw(p, "X"); put32(p, (guint32)strlen(s)); p_raw(p, s); }
static void p_long(GByteArray *p, gint64 v)
{
    guint8 b[10] = {0x8a, 8};
    for (int i = 0; i < 8; i++)
        b[2 + i] = (guint8)((guint64)v >> (8 * i));
    g_byte_array_append(p, b, 10);
}

/* {"w": _rebuild_tensor_v2(storage(numel), offset, size, stride, False, OrderedDict())} */
static GByteArray *tensor_pickle(const char *storage_type, gint64 numel, gint64 offset, int ndim, const gint64 *size,
                                 const gint64 *stride)
{
    GByteArray *p = g_byte_array_new();
    p_raw(p, "\x80\x02}(");
    p_str(p, "w");
    p_raw(p, "ctorch._utils\n_rebuild_tensor_v2\n((");
    p_str(p, "storage");
    p_raw(p, "ctorch\n"); p_raw(p, storage_type); p_raw(p, "\n");
    p_str(p, "0"); p_str(p, "cpu"); p_long(p, numel);
    p_raw(p, "tQ");
    p_long(p, offset);
    p_raw(p, "(");
    for (int d = 0; d < ndim; d++)
        p_long(p, size[d]);
    p_raw(p, "t(");
    for (int d = 0; d < ndim; d++)
        p_long(p, stride[d]);
    p_raw(p, "t\x89" "ccollections\nOrderedDict\n)RtRu.");
    return p;
}

static rg_torch_pt *open_made(GByteArray *pkl, gsize n_storage, GError **error)
{
    GByteArray *z = make_pt(pkl, n_storage);
    rg_torch_pt *pt = rg_torch_pt_open_bytes(z->data, z->len, "made.pt", error);
    g_byte_array_unref(z);
    g_byte_array_unref(pkl);
    return pt;
}

static void test_made(void)
{
    GError *error = NULL;
    /* A valid one first: (2,2) with strides (1,2) over 4 floats = a transpose. */
    gint64 s22[2] = {2, 2}, t22[2] = {1, 2};
    rg_torch_pt *pt = open_made(tensor_pickle("FloatStorage", 4, 0, 2, s22, t22), 16, &error);
    g_assert_no_error(error);
    rg_tensor *w = rg_torch_pt_get(pt, "w");
    guint8 raw2[4] = {2 * 4 * 7, (2 * 4 + 1) * 7, (2 * 4 + 2) * 7, (2 * 4 + 3) * 7}; /* storage element 2 */
    g_assert_cmpmem(&rg_tensor_data_f32(w)[1], 4, raw2, 4); /* w[0,1] = storage[0*1 + 1*2] */
    rg_torch_pt_free(pt);

    /* Huge declared sizes: refused before any allocation. */
    gint64 huge[2] = {G_GINT64_CONSTANT(1) << 30, G_GINT64_CONSTANT(1) << 30}, hs[2] = {G_GINT64_CONSTANT(1) << 30, 1};
    expect_refused(open_made(tensor_pickle("FloatStorage", G_GINT64_CONSTANT(1) << 40, 0, 2, s22, t22), 16, &error),
                   &error, "declares", "made.pt");
    expect_refused(open_made(tensor_pickle("FloatStorage", 4, 0, 2, huge, hs), 16, &error), &error, "range", NULL);
    gint64 one[1] = {G_GINT64_CONSTANT(1) << 62}, zero[1] = {0};
    expect_refused(open_made(tensor_pickle("FloatStorage", 4, 0, 1, one, zero), 16, &error), &error, "range", NULL);
    gint64 four[1] = {4}, unit[1] = {1};
    expect_refused(open_made(tensor_pickle("FloatStorage", 4, 1, 1, four, unit), 16, &error), &error, "past the end",
                   NULL);
    gint64 big_stride[2] = {2, G_GINT64_CONSTANT(1) << 61};
    expect_refused(open_made(tensor_pickle("FloatStorage", 4, 0, 2, s22, big_stride), 16, &error), &error, "range",
                   NULL);
    expect_refused(open_made(tensor_pickle("FloatStorage", 4, -1, 1, four, unit), 16, &error), &error, "past the end",
                   NULL);
    expect_refused(open_made(tensor_pickle("DoubleStorage", 2, 0, 1, unit, unit), 16, &error), &error,
                   "torch.DoubleStorage", NULL);
    expect_refused(open_made(tensor_pickle("FloatStorage", 4, 0, 2, s22, t22), 12, &error), &error, "declares", NULL);

    /* One storage of 16 floats behind 1000 tensors (each REDUCE re-using the memoized
     * function and arguments, 14 bytes a tensor): refused once the tensors together
     * would hold more elements than the file has bytes. */
    GByteArray *shared = g_byte_array_new();
    p_raw(shared, "\x80\x02}(");
    p_str(shared, "k0");
    p_raw(shared, "ctorch._utils\n_rebuild_tensor_v2\nq\x01((");
    p_str(shared, "storage");
    p_raw(shared, "ctorch\nFloatStorage\n");
    p_str(shared, "0");
    p_str(shared, "cpu");
    p_raw(shared, "K\x10tQ");
    p_long(shared, 0); /* p_raw stops at NUL bytes */
    p_raw(shared, "K\x10\x85K\x01\x85\x89" "ccollections\nOrderedDict\n)Rtq\x02R");
    for (int i = 1; i < 1000; i++) {
        char key[8];
        g_snprintf(key, sizeof(key), "k%d", i);
        p_str(shared, key);
        p_raw(shared, "h\x01h\x02R");
    }
    p_raw(shared, "u.");
    expect_refused(open_made(shared, 64, &error), &error, "more elements in total", NULL);

    /* Forbidden opcodes and shapes of data (literals split where a hex escape would run on). */
#define P(s, msg) {s, sizeof(s) - 1, msg}
    static const struct { const char *pickle; gsize len; const char *message; } bad[] = {
        P("\x80\x02}(X\x01\x00\x00\x00xi__main__\nThing\nu.", "INST"),
        P("\x80\x02}X\x01\x00\x00\x00x\x82\x01s.", "EXT1"),
        P("\x80\x02}X\x01\x00\x00\x00x(os.", "OBJ"),
        P("\x80\x02}X\x01\x00\x00\x00xccollections\nOrderedDict\n)\x81s.", "NEWOBJ"),
        P("\x80\x02}X\x01\x00\x00\x00xcbuiltins\neval\ns.", "global builtins.eval"),
        P("\x80\x02}X\x01\x00\x00\x00xX\x08\x00\x00\x00" "builtinsX\x04\x00\x00\x00" "eval\x93s.",
          "global builtins.eval"),
        P("\x80\x02}X\x01\x00\x00\x00xctorch\nFloatStorage\n)Rs.", "REDUCE"),
        P("\x80\x02}X\x01\x00\x00\x00xccollections\nOrderedDict\n)R}X\x03\x00\x00\x00__aK\x01sbs.",
          "_metadata"),
        P("\x80\x02}X\x01\x00\x00\x00x]q\x00h\x00" "as.", "levels deep"),
        P("\x80\x02}K\x01K\x02s.", "not a str"),
        P("\x80\x02]K\x01" "a.", "not a dict"),
        P("\x80\x02}X\x01\x00\x00\x00xK\x01", "without STOP"),
        P("\x80\x02}X\xff\xff\xff\x7fx", "runs past"),
        P("\x80\x02}X\x01\x00\x00\x00xh\x05s.", "never stored"),
        P("\x80\x02}X\x01\x00\x00\x00xX\x01\x00\x00\x00yX\x01\x00\x00\x00xK\x02u.", "no MARK"),
        P("\x80\x02s.", "underflow"),
        P("\x80\x02}(X\x01\x00\x00\x00xK\x01X\x01\x00\x00\x00xK\x02u.", "twice"),
        P("\x80\x02}X\x01\x00\x00\x00x\x8a\x09\x01\x01\x01\x01\x01\x01\x01\x01\x01s.", "at most 8"),
        P("\x80\x02}X\x01\x00\x00\x00x(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"
          "9X\x03\x00\x00\x00" "cpuK\x01tQs.", "no entry"),
        P("\x80\x02}X\x02\x00\x00\x00x\x00K\x01s.", "NUL"),
        P("\x80\x07}.", "protocol 7"),
        P("\x80\x02}X\x01\x00\x00\x00xK\x01\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85"
          "\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85\x85s.", "levels deep"),
    };
#undef P
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        GByteArray *p = g_byte_array_new();
        g_byte_array_append(p, (const guint8 *)bad[i].pickle, (guint)bad[i].len);
        expect_refused(open_made(p, 16, &error), &error, bad[i].message, "made.pt");
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/torch_pt/head", test_head);
    g_test_add_func("/torch_pt/malicious", test_malicious);
    g_test_add_func("/torch_pt/truncated_and_corrupt", test_truncated_and_corrupt);
    g_test_add_func("/torch_pt/made", test_made);
    return g_test_run();
}
