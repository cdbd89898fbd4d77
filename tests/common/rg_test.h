/* rg_test.h — helpers shared by the engine's tests.
 *
 * - rg_test_golden(): tensors written by PyTorch (tests/reference/FAMILY.py) into
 *   tests/reference/golden/<family>.safetensors.
 * - rg_check_tensor(): |got - ref| <= atol + rtol*|ref| everywhere; prints the
 *   first pairs, the max differences and the worst index.
 * - rg_gradcheck(): central finite differences of <f(inputs), c> for a random
 *   cotangent c, against the tape's gradient, for every input marked.
 */
#pragma once

#include <stdarg.h>

#include "autograd/tape_impl.h"
#include "readout/readout.h"
#include "tensor/context.h"

/* Opens tests/reference/golden/@family.safetensors (aborts the test if absent). */
rg_safetensors *rg_test_golden(const char *family);
/* Loads "@case_name.@what" from @golden (aborts if absent). (transfer full) */
rg_tensor *rg_test_load(rg_safetensors *golden, const char *case_name, const char *what);

gboolean rg_check_tensor(const char *label, rg_tensor *got, rg_tensor *ref, double atol, double rtol);

/* A deterministic tensor with values uniform in [lo, hi). */
rg_tensor *rg_test_random(guint32 seed, int ndim, const int64_t *shape, float lo, float hi);

/* A non-contiguous view holding the values of @x (its last dimension sits in
 * rows padded by 3 elements). */
rg_tensor *rg_test_strided(rg_tensor *x);

/* f: builds one output from @inputs on @ctx (recorded when a tape is attached). */
typedef rg_tensor *(*rg_test_fn)(rg_ctx *ctx, rg_tensor *const *inputs, gpointer user_data, GError **error);

/* Compares the tape's gradients of <f(inputs), c> with central differences
 * (step @eps) for each input i with check[i]. Up to @max_points elements per
 * input are probed (spread over the tensor). */
gboolean rg_gradcheck(const char *label, rg_test_fn f, gpointer user_data, rg_tensor *const *inputs, int n,
                      const gboolean *check, double eps, double atol, double rtol, int max_points);

/* Fails the test with the error's message when @error is set. */
#define rg_assert_no_error(error)                                                         \
    do {                                                                                  \
        if (error)                                                                        \
            g_error("%s:%d: unexpected error: %s", __FILE__, __LINE__, (error)->message); \
    } while (0)

/* A tolerance for rg_check_tensor(). */
typedef struct {
    double atol, rtol;
} rg_tol;

/* Runs @f on @inputs with a tape, checks the output against @out_ref
 * (tolerance tol[0]), runs backward with @dout and checks the gradient of each
 * input i whose din_refs[i] is not NULL (tolerance tol[1 + i]; labelled
 * "@label names[i]", or "@label grad i" when @names is NULL). The other inputs
 * are frozen and must receive no gradient. */
gboolean rg_check_vjp_full(const char *label, rg_test_fn f, gpointer user_data, rg_tensor *const *inputs, int n,
                           rg_tensor *out_ref, rg_tensor *dout, rg_tensor *const *din_refs, const char *const *names,
                           const rg_tol *tol);
/* rg_check_vjp_full() with one tolerance for the output and every gradient. */
gboolean rg_check_vjp(const char *label, rg_test_fn f, gpointer user_data, rg_tensor *const *inputs, int n,
                      rg_tensor *out_ref, rg_tensor *dout, rg_tensor *const *din_refs, double atol, double rtol);

/* Runs @f on @inputs with a tape and backward with a random cotangent, on 1
 * and then on 2 threads, and checks that the output and the gradient of each
 * input i with grad[i] are the same bits: the OpenMP paths must not depend on
 * how the work is split. Restores the thread count. */
gboolean rg_check_thread_invariance(const char *label, rg_test_fn f, gpointer user_data, rg_tensor *const *inputs,
                                    int n, const gboolean *grad);

/* Checks that a call failed with @code, with a message that begins "@op:"
 * (as the ops' messages do) unless @op is NULL, and that contains @needle
 * unless @needle is NULL; frees whatever the call returned. Returns whether it
 * did. */
gboolean rg_expect_error_full(const char *what, gpointer result, GError *error, int code, const char *op,
                              const char *needle);
/* Checks that a call failed with @code and a message containing @op anywhere
 * (also for messages that begin with a file name); frees whatever it returned. */
gboolean rg_expect_error(const char *what, gpointer result, GError *error, int code, const char *op);
/* RG_EXPECT_ERROR(ok, "label", rg_conv2d(ctx, x, w, NULL, 1, 1, &err_), RG_ERROR_SHAPE, "conv2d"):
 * the call must use the GError named err_. */
#define RG_EXPECT_ERROR(ok, what, call, code, op)                     \
    do {                                                              \
        GError *err_ = NULL;                                          \
        gpointer result_ = (gpointer)(call);                          \
        (ok) &= rg_expect_error((what), result_, err_, (code), (op)); \
    } while (0)
/* RG_EXPECT_ERROR_FULL(ok, "label", rg_gather(ctx, x, i, &err_), RG_ERROR_SHAPE, "gather", "(2,3)"):
 * as RG_EXPECT_ERROR, through rg_expect_error_full(). */
#define RG_EXPECT_ERROR_FULL(ok, what, call, code, op, needle)                       \
    do {                                                                             \
        GError *err_ = NULL;                                                         \
        gpointer result_ = (gpointer)(call);                                         \
        (ok) &= rg_expect_error_full((what), result_, err_, (code), (op), (needle)); \
    } while (0)

/* Failed RG_CHECKs so far, for tests that count instead of stopping. */
extern int rg_test_failures;
/* Counts and reports (file, line, expression) a condition that does not hold. */
#define RG_CHECK(cond)                                                            \
    do {                                                                          \
        if (!(cond)) {                                                            \
            g_printerr("NOT OK %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
            rg_test_failures++;                                                   \
        }                                                                         \
    } while (0)

/* Runs @exe with the arguments @first, ... (NULL-terminated), waiting for it;
 * its stdout and stderr go to *@out and *@err (new strings; either pointer may
 * be NULL to discard). Returns the exit status, -1 when it did not exit
 * normally; a failure to start it fails the test. */
int rg_test_spawn(const char *exe, char **out, char **err, const char *first, ...) G_GNUC_NULL_TERMINATED;
int rg_test_spawnv(const char *exe, char **out, char **err, const char *first, va_list ap);
