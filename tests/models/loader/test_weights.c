/* test_weights.c — rg_weights (core/models/weights.c): prefixes, sorted
 * names, strict shape checks whose messages name file, tensor and both
 * shapes, reshaped entries (LDM 1x1 conv seen as linear), origins and stored
 * names in messages about missing tensors, files shared between entries. */
#include <string.h>

#include "fixture.h"
#include "readout/weights.h"

static char *dir;

/* A message check: the call failed with @code and the message holds every needle. */
static gboolean expect_msg_(const char *what, gpointer result, GError *error, int code, const char *const *needles)
{
    gboolean ok = result == NULL && error && error->domain == RG_ERROR && error->code == code;
    for (int i = 0; ok && needles[i]; i++)
        ok = strstr(error->message, needles[i]) != NULL;
    g_print("%s %s: %s\n", ok ? "OK" : "NOT OK", what, error ? error->message : "(no error)");
    if (result)
        rg_tensor_unref(result);
    g_clear_error(&error);
    return ok;
}
/* Runs @call (which sets the GError e) before looking at e. */
#define expect_msg(what, call, e, code, needles)                           \
    ({                                                                     \
        gpointer r_ = (gpointer)(call);                                    \
        gboolean ok_ = expect_msg_((what), r_, (e), (code), (needles));    \
        (e) = NULL;                                                        \
        ok_;                                                               \
    })

static gboolean prefix_and_names(const char *path)
{
    GError *e = NULL;
    g_autoptr(rg_weights) w = rg_weights_open_safetensors(path, "enc.", &e);
    rg_assert_no_error(e);
    g_autoptr(GPtrArray) names = rg_weights_names(w);
    gboolean ok = names->len == 2 && !strcmp(names->pdata[0], "b") && !strcmp(names->pdata[1], "w") &&
                  rg_weights_contains(w, "w") && !rg_weights_contains(w, "enc.w") && !rg_weights_contains(w, "q");
    int64_t ws[2] = { 2, 3 };
    g_autoptr(rg_tensor) t = rg_weights_load(w, "w", 2, ws, &e);
    rg_assert_no_error(e);
    ok &= fx_check(t, "enc.w", 2, ws);
    g_print("%s prefix \"enc.\": names sorted without the prefix, values as stored\n", ok ? "OK" : "NOT OK");

    int64_t wrong[2] = { 3, 2 };
    const char *shape_needles[] = { path, "\"enc.w\"", "(2,3)", "expected (3,2)", NULL };
    ok &= expect_msg("wrong shape", rg_weights_load(w, "w", 2, wrong, &e), e, RG_ERROR_FORMAT, shape_needles);
    e = NULL;
    int64_t three = 3;
    const char *nd_needles[] = { "\"enc.w\"", "(2,3)", "expected (3)", NULL };
    ok &= expect_msg("wrong rank", rg_weights_load(w, "w", 1, &three, &e), e, RG_ERROR_FORMAT, nd_needles);
    e = NULL;
    const char *miss_needles[] = { path, "missing tensor \"nope\"", "expected shape (3)", NULL };
    ok &= expect_msg("missing (origin: the file)", rg_weights_load(w, "nope", 1, &three, &e), e, RG_ERROR_FORMAT,
                     miss_needles);
    g_autoptr(rg_weights) all = rg_weights_open_safetensors(path, "", &e);
    rg_assert_no_error(e);
    g_autoptr(GPtrArray) every = rg_weights_names(all);
    ok &= every->len == 4;
    return ok;
}

/* LDM (C,C,1,1) seen as (C,C); a set built entry by entry from two files. */
static char *stored_name_of(const char *name, gpointer data)
{
    return g_strconcat((const char *)data, name, NULL);
}

static gboolean reshaped_entries(const char *path, const char *path2)
{
    gboolean ok = TRUE;
    GError *e = NULL;
    g_autoptr(rg_weights) w = rg_weights_new();
    int64_t lin[2] = { 4, 4 }, conv[4] = { 4, 4, 1, 1 };
    ok &= rg_weights_add_reshaped(w, "attn.to_q.weight", path, "q", 2, lin, &e);
    ok &= rg_weights_add(w, "attn.to_q.conv", path, "q", &e);
    ok &= rg_weights_add(w, "other", path2, "x", &e);
    rg_assert_no_error(e);
    rg_dtype dt;
    int nd;
    int64_t shape[RG_MAX_DIMS];
    ok &= rg_weights_info(w, "attn.to_q.weight", &dt, &nd, shape) && dt == RG_DTYPE_F16 && nd == 2 && shape[1] == 4;
    ok &= rg_weights_info(w, "attn.to_q.conv", NULL, &nd, shape) && nd == 4 && !rg_weights_info(w, "nope", NULL, NULL, NULL);
    g_autoptr(rg_tensor) a = rg_weights_load(w, "attn.to_q.weight", 2, lin, &e);
    g_autoptr(rg_tensor) b = rg_weights_load(w, "attn.to_q.conv", 4, conv, &e);
    g_autoptr(rg_tensor) x = rg_weights_load(w, "other", 1, (int64_t[]){ 5 }, &e);
    rg_assert_no_error(e);
    ok &= fx_check(a, "q", 2, lin) && fx_check(b, "q", 4, conv) && fx_check(x, "x", 1, (int64_t[]){ 5 }) &&
          rg_tensor_is_contiguous(a);
    g_print("%s (4,4,1,1) F16 tensor seen as (4,4) and as stored; entries from two files\n", ok ? "OK" : "NOT OK");

    const char *seen_needles[] = { path, "\"q\" (for \"attn.to_q.weight\")", "has shape (4,4) (stored as (4,4,1,1))",
                                   "expected (4,4,1,1)", NULL };
    ok &= expect_msg("reshaped, asked with the stored shape", rg_weights_load(w, "attn.to_q.weight", 4, conv, &e), e,
                     RG_ERROR_FORMAT, seen_needles);
    e = NULL;
    int64_t bad[2] = { 2, 4 };
    ok &= !rg_weights_add_reshaped(w, "bad", path, "q", 2, bad, &e) && e && strstr(e->message, "cannot be seen as (2,4)");
    g_print("%s reshape to another element count refused: %s\n", e ? "OK" : "NOT OK", e ? e->message : "");
    g_clear_error(&e);
    ok &= !rg_weights_add(w, "y", path, "no-such", &e) && e && e->code == RG_ERROR_FORMAT &&
          strstr(e->message, "no tensor named \"no-such\"");
    g_clear_error(&e);
    g_autofree char *absent = fx_path(dir, "absent.safetensors", NULL);
    ok &= !rg_weights_add(w, "y", absent, "x", &e) && e && e->code == RG_ERROR_IO;
    g_clear_error(&e);

    /* without an origin, a missing tensor names the files; with one, the origin and the stored name */
    const char *files_needles[] = { path, path2, "missing tensor \"down.0\"", NULL };
    ok &= expect_msg("missing (origin: all files)", rg_weights_load(w, "down.0", 1, (int64_t[]){ 1 }, &e), e,
                     RG_ERROR_FORMAT, files_needles);
    e = NULL;
    rg_weights_set_origin(w, "model.safetensors", stored_name_of, "model.diffusion_model.");
    const char *origin_needles[] = { "model.safetensors: missing tensor \"model.diffusion_model.down.0\" (for "
                                     "\"down.0\", expected shape (1))", NULL };
    ok &= expect_msg("missing (origin and stored name)", rg_weights_load(w, "down.0", 1, (int64_t[]){ 1 }, &e), e,
                     RG_ERROR_FORMAT, origin_needles);
    g_autoptr(rg_weights) empty = rg_weights_new();
    e = NULL;
    const char *empty_needles[] = { "(no weight files): missing tensor", NULL };
    ok &= expect_msg("missing from an empty set", rg_weights_load(empty, "a", 1, (int64_t[]){ 1 }, &e), e,
                     RG_ERROR_FORMAT, empty_needles);
    return ok;
}

int main(void)
{
    dir = fx_tmpdir();
    g_autofree char *path = fx_path(dir, "w.safetensors", NULL);
    g_autofree char *path2 = fx_path(dir, "x.safetensors", NULL);
    const fx_tensor ts[] = {
        { "enc.w", "F32", 2, { 2, 3 }, NULL },
        { "enc.b", "BF16", 1, { 3 }, NULL },
        { "q", "F16", 4, { 4, 4, 1, 1 }, NULL },
        { "ids", "I64", 1, { 3 }, NULL },
    };
    fx_write(path, G_N_ELEMENTS(ts), ts);
    fx_write(path2, 1, (fx_tensor[]){ { "x", "F32", 1, { 5 }, NULL } });
    gboolean ok = prefix_and_names(path);
    ok &= reshaped_entries(path, path2);
    fx_rmtree(dir);
    g_free(dir);
    g_print("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
