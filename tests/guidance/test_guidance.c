/* test_guidance.c — core/guidance: the spatial, correspondence and appearance
 * losses and their gradients with respect to obs, against PyTorch versions
 * of the official rg_operators.py code (tests/reference/guidance.py): points
 * truncated, out-of-grid pairs dropped, non-square maps, boxes; that gt and
 * the control receive no gradient even when they are on the tape; finite
 * differences; bad inputs. Exits non-zero on any failure.
 *
 * Tolerances: losses are means of f32 products (sums in double inside the
 * cosine), so a few 1e-7 relative; gradients are O(1/HW) values made by a
 * handful of f32 operations. 1e-6 absolute + 1e-5 relative on the loss and
 * 1e-7 + 1e-4 on the gradient catch a wrong pixel, scale or sign (all O(1)
 * relative) with a wide margin.
 */
#include <math.h>
#include <string.h>

#include "readout/guidance.h"
#include "rg_test.h"

static gboolean ok = TRUE;

static void check(gboolean cond, const char *what)
{
    g_print("%s %s\n", cond ? "OK" : "NOT OK", what);
    ok &= cond;
}

/* What a loss needs besides its two maps (in[0] = obs, in[1] = gt or control). */
typedef struct {
    int kind; /* 0 spatial, 1 correspondence, 2 appearance */
    float r[4];
    const rg_point_pair *pairs;
    int n_pairs;
    const int *gt_box, *obs_box;
} loss_args;

static rg_tensor *f_loss(rg_ctx *ctx, rg_tensor *const *in, gpointer user_data, GError **error)
{
    const loss_args *a = user_data;
    switch (a->kind) {
    case 0:
        return rg_loss_spatial(ctx, in[0], in[1], a->r[0], a->r[1], a->r[2], a->r[3], error);
    case 1:
        return rg_loss_correspondence(ctx, in[1], in[0], a->pairs, a->n_pairs, error);
    default:
        return rg_loss_appearance(ctx, in[1], in[0], a->gt_box, a->obs_box, a->r[0], a->r[1], error);
    }
}

/* The loss and its gradient w.r.t. obs (gt frozen) against the golden. */
static void parity(rg_safetensors *golden, const char *name, const char *other, loss_args *a)
{
    g_autoptr(rg_tensor) obs = rg_test_load(golden, name, "obs");
    g_autoptr(rg_tensor) gt = rg_test_load(golden, name, other);
    g_autoptr(rg_tensor) loss = rg_test_load(golden, name, "loss");
    g_autoptr(rg_tensor) dobs = rg_test_load(golden, name, "dobs");
    int64_t one = 1;
    g_autoptr(rg_tensor) dout = rg_tensor_new_full(1, &one, 1.0f, NULL);
    rg_tensor *in[2] = {obs, gt}, *din[2] = {dobs, NULL};
    static const char *const names[2] = {"dobs", "dgt"};
    const rg_tol tol[3] = {{1e-6, 1e-5}, {1e-7, 1e-4}, {0, 0}};
    ok &= rg_check_vjp_full(name, f_loss, a, in, 2, loss, dout, din, names, tol);
}

static void spatial(rg_safetensors *golden)
{
    const char *names[2] = {"spatial", "spatial01"};
    for (int c = 0; c < 2; c++) {
        g_autoptr(rg_tensor) r = rg_test_load(golden, names[c], "ranges");
        loss_args a = {.kind = 0};
        for (int i = 0; i < 4; i++)
            a.r[i] = (float)rg_tensor_get_flat(r, i);
        parity(golden, names[c], "control", &a);
    }
}

static void correspondence(rg_safetensors *golden)
{
    const char *names[4] = {"corr", "corr97", "corr1", "corr_n2"};
    for (int c = 0; c < 4; c++) {
        g_autoptr(rg_tensor) p = rg_test_load(golden, names[c], "pairs"); // (K, 4): src y, x, dst y, x
        int K = (int)rg_tensor_shape(p)[0];
        g_autofree rg_point_pair *pairs = g_new(rg_point_pair, K);
        for (int k = 0; k < K; k++)
            pairs[k] =
                (rg_point_pair){(float)rg_tensor_get_flat(p, 4 * k), (float)rg_tensor_get_flat(p, 4 * k + 1),
                                (float)rg_tensor_get_flat(p, 4 * k + 2), (float)rg_tensor_get_flat(p, 4 * k + 3)};
        loss_args a = {.kind = 1, .pairs = pairs, .n_pairs = K};
        parity(golden, names[c], "gt", &a);
    }
}

static void appearance(rg_safetensors *golden)
{
    const char *names[4] = {"app", "app_box", "app_full_box", "app_n2"};
    for (int c = 0; c < 4; c++) {
        g_autoptr(rg_tensor) r = rg_test_load(golden, names[c], "lrange");
        int boxes[8];
        loss_args a = {.kind = 2, .r = {(float)rg_tensor_get_flat(r, 0), (float)rg_tensor_get_flat(r, 1)}};
        if (c > 0) {
            g_autoptr(rg_tensor) b = rg_test_load(golden, names[c], "boxes"); // (2, 4): gt box, obs box
            for (int i = 0; i < 8; i++)
                boxes[i] = (int)rg_tensor_get_flat(b, i);
            a.gt_box = boxes;
            a.obs_box = boxes + 4;
        }
        parity(golden, names[c], "gt", &a);
    }
}

/* Finite differences on tiny maps. Smooth losses; f32 losses over 2 eps. */
static void gradchecks(void)
{
    int64_t shape[4] = {1, 6, 4, 5};
    const gboolean check_obs[2] = {TRUE, FALSE};
    rg_tensor *in[2] = {rg_test_random(11, 4, shape, -1, 1), rg_test_random(12, 4, shape, -1, 1)};
    loss_args sp = {.kind = 0, .r = {-1, 1, -2.5f, 3}};
    ok &= rg_gradcheck("spatial", f_loss, &sp, in, 2, check_obs, 1e-3, 1e-4, 1e-2, 120);
    const rg_point_pair pairs[3] = {{0, 0, 3, 4}, {2.5f, 1, 1, 3}, {3, 4, 0.2f, 0.9f}};
    loss_args co = {.kind = 1, .pairs = pairs, .n_pairs = 3};
    ok &= rg_gradcheck("correspondence", f_loss, &co, in, 2, check_obs, 1e-3, 1e-4, 1e-2, 120);
    loss_args ap = {.kind = 2, .r = {-1.5f, 2}};
    ok &= rg_gradcheck("appearance", f_loss, &ap, in, 2, check_obs, 1e-3, 1e-4, 1e-2, 120);
    const int gb[4] = {1, 0, 4, 3}, ob[4] = {0, 1, 5, 4};
    loss_args ab = {.kind = 2, .r = {-1.5f, 2}, .gt_box = gb, .obs_box = ob};
    ok &= rg_gradcheck("appearance boxes", f_loss, &ab, in, 2, check_obs, 1e-3, 1e-4, 1e-2, 120);
    for (int i = 0; i < 2; i++)
        rg_tensor_unref(in[i]);
}

/* gt and the control are constants: computed on the tape from a leaf that
 * needs a gradient, they still pass none back to it. */
static void constants(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int64_t shape[4] = {1, 6, 4, 5};
    g_autoptr(rg_tensor) obs = rg_test_random(21, 4, shape, -1, 1);
    g_autoptr(rg_tensor) src = rg_test_random(22, 4, shape, -1, 1);
    const rg_point_pair pairs[2] = {{0, 0, 3, 4}, {1, 1, 2, 2}};
    const int box[4] = {0, 0, 3, 3};
    for (int kind = 0; kind < 3; kind++) {
        g_autoptr(rg_tape) tape = rg_tape_new();
        rg_tensor_set_requires_grad(obs, TRUE);
        rg_tensor_set_requires_grad(src, TRUE);
        rg_ctx_set_tape(ctx, tape);
        g_autoptr(rg_tensor) other = rg_scale(ctx, src, 2.0f, 0.1f, &error); /* on the tape */
        loss_args a = {.kind = kind, .r = {-1, 1, -2, 2}, .pairs = pairs, .n_pairs = 2};
        if (kind == 2)
            a.gt_box = a.obs_box = box;
        rg_tensor *in[2] = {obs, other};
        g_autoptr(rg_tensor) loss = f_loss(ctx, in, &a, &error);
        rg_assert_no_error(error);
        rg_ctx_set_tape(ctx, NULL);
        g_assert_true(rg_tape_backward(ctx, tape, loss, &error));
        rg_tensor *go = rg_tensor_get_grad(obs), *gs = rg_tensor_get_grad(src);
        double sum_obs = 0, sum_src = 0;
        for (int64_t i = 0; go && i < rg_tensor_numel(go); i++)
            sum_obs += fabs(rg_tensor_get_flat(go, i));
        for (int64_t i = 0; gs && i < rg_tensor_numel(gs); i++)
            sum_src += fabs(rg_tensor_get_flat(gs, i));
        g_autofree char *what =
            g_strdup_printf("loss %d: obs gets a gradient (|g| %.3g), gt/control none (%.3g)", kind, sum_obs, sum_src);
        check(sum_obs > 0 && sum_src == 0, what);
        rg_tensor_set_requires_grad(obs, FALSE);
        rg_tensor_set_requires_grad(src, FALSE);
        rg_tensor_zero_grad(obs);
        rg_tensor_zero_grad(src);
    }
}

/* A pair with a zero feature vector (or a zero map) gives a finite loss. */
static void zero_vectors(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int64_t shape[4] = {1, 6, 4, 5};
    g_autoptr(rg_tensor) zero = rg_tensor_new(RG_DTYPE_F32, 4, shape, &error);
    g_autoptr(rg_tensor) x = rg_test_random(31, 4, shape, -1, 1);
    const rg_point_pair pairs[1] = {{0, 0, 3, 4}};
    g_autoptr(rg_tensor) l1 = rg_loss_correspondence(ctx, zero, x, pairs, 1, &error);
    g_autoptr(rg_tensor) l2 = rg_loss_appearance(ctx, zero, x, NULL, NULL, -1, 1, &error);
    rg_assert_no_error(error);
    check(isfinite(rg_tensor_get_flat(l1, 0)) && isfinite(rg_tensor_get_flat(l2, 0)),
          "zero feature vectors give finite losses");
    /* with gt = 0, S = 1/2 everywhere: the two terms cancel */
    check(fabs(rg_tensor_get_flat(l1, 0)) < 1e-7, "correspondence with gt = 0 is 0");
}

static void bad_inputs(void)
{
    GError *error = NULL;
    g_autoptr(rg_ctx) ctx = rg_ctx_new(NULL, &error);
    int64_t shape[4] = {1, 6, 4, 5}, other[4] = {1, 6, 5, 4}, flat[3] = {1, 6, 20};
    g_autoptr(rg_tensor) x = rg_test_random(41, 4, shape, -1, 1);
    g_autoptr(rg_tensor) y = rg_test_random(42, 4, other, -1, 1);
    g_autoptr(rg_tensor) v = rg_test_random(43, 3, flat, -1, 1);
    g_autoptr(rg_tensor) xi = rg_tensor_new(RG_DTYPE_I64, 4, shape, &error);
    const rg_point_pair good[1] = {{0, 0, 3, 4}};
    /* y = H, x = W, x = -1.0 (truncates to -1), NaN, infinity */
    const rg_point_pair outside[5] = {
        {4, 0, 0, 0}, {0, 0, 0, 5}, {0, -1.0f, 0, 0}, {NAN, 0, 0, 0}, {0, 0, INFINITY, 0}};
    const char *sp = "loss_spatial", *co = "loss_correspondence", *ap = "loss_appearance";
    RG_EXPECT_ERROR_FULL(ok, "spatial shapes", rg_loss_spatial(ctx, x, y, -1, 1, 0, 1, &err_), RG_ERROR_SHAPE, sp,
                         "(1,6,5,4)");
    RG_EXPECT_ERROR_FULL(ok, "spatial 3-D", rg_loss_spatial(ctx, v, v, -1, 1, 0, 1, &err_), RG_ERROR_SHAPE, sp,
                         "(1,6,20)");
    RG_EXPECT_ERROR_FULL(ok, "spatial I64", rg_loss_spatial(ctx, x, xi, -1, 1, 0, 1, &err_), RG_ERROR_DTYPE, sp,
                         "control");
    RG_EXPECT_ERROR_FULL(ok, "spatial empty range", rg_loss_spatial(ctx, x, x, 1, 1, 0, 1, &err_), RG_ERROR_ARGUMENT,
                         sp, "control range");
    RG_EXPECT_ERROR_FULL(ok, "spatial NaN", rg_loss_spatial(ctx, x, x, -1, 1, NAN, 1, &err_), RG_ERROR_ARGUMENT, sp,
                         "latent min");
    RG_EXPECT_ERROR_FULL(ok, "spatial no control", rg_loss_spatial(ctx, x, NULL, -1, 1, 0, 1, &err_), RG_ERROR_ARGUMENT,
                         sp, "control");
    RG_EXPECT_ERROR_FULL(ok, "corr shapes", rg_loss_correspondence(ctx, y, x, good, 1, &err_), RG_ERROR_SHAPE, co,
                         "gt (1,6,5,4)");
    RG_EXPECT_ERROR_FULL(ok, "corr no pairs", rg_loss_correspondence(ctx, x, x, good, 0, &err_), RG_ERROR_ARGUMENT, co,
                         "no point pairs");
    RG_EXPECT_ERROR_FULL(ok, "corr NULL pairs", rg_loss_correspondence(ctx, x, x, NULL, 3, &err_), RG_ERROR_ARGUMENT,
                         co, "no point pairs");
    RG_EXPECT_ERROR_FULL(ok, "corr no valid pair", rg_loss_correspondence(ctx, x, x, outside, 5, &err_),
                         RG_ERROR_ARGUMENT, co, "none of the 5 point pairs");
    RG_EXPECT_ERROR_FULL(ok, "corr I64", rg_loss_correspondence(ctx, x, xi, good, 1, &err_), RG_ERROR_DTYPE, co, "obs");
    RG_EXPECT_ERROR_FULL(ok, "app shapes", rg_loss_appearance(ctx, x, y, NULL, NULL, 0, 1, &err_), RG_ERROR_SHAPE, ap,
                         "(1,6,4,5)");
    const int inside[4] = {0, 0, 5, 4}, empty[4] = {2, 1, 2, 3}, beyond[4] = {0, 0, 6, 4}, negative[4] = {-1, 0, 3, 3};
    const int flipped[4] = {3, 0, 1, 2}, tall[4] = {0, 0, 5, 5};
    RG_EXPECT_ERROR_FULL(ok, "app one box", rg_loss_appearance(ctx, x, x, inside, NULL, 0, 1, &err_), RG_ERROR_ARGUMENT,
                         ap, "gt_box is given without obs_box");
    RG_EXPECT_ERROR_FULL(ok, "app empty box", rg_loss_appearance(ctx, x, x, inside, empty, 0, 1, &err_),
                         RG_ERROR_ARGUMENT, ap, "obs_box [x0 2, y0 1, x1 2, y1 3]");
    RG_EXPECT_ERROR_FULL(ok, "app box past W", rg_loss_appearance(ctx, x, x, beyond, inside, 0, 1, &err_),
                         RG_ERROR_ARGUMENT, ap, "gt_box [x0 0, y0 0, x1 6");
    RG_EXPECT_ERROR_FULL(ok, "app box past H", rg_loss_appearance(ctx, x, x, inside, tall, 0, 1, &err_),
                         RG_ERROR_ARGUMENT, ap, "4x5 map");
    RG_EXPECT_ERROR_FULL(ok, "app negative box", rg_loss_appearance(ctx, x, x, negative, inside, 0, 1, &err_),
                         RG_ERROR_ARGUMENT, ap, "x0 -1");
    RG_EXPECT_ERROR_FULL(ok, "app flipped box", rg_loss_appearance(ctx, x, x, inside, flipped, 0, 1, &err_),
                         RG_ERROR_ARGUMENT, ap, "obs_box");
    RG_EXPECT_ERROR_FULL(ok, "app infinite range", rg_loss_appearance(ctx, x, x, NULL, NULL, 0, INFINITY, &err_),
                         RG_ERROR_ARGUMENT, ap, "latent max");
    /* the whole map as both boxes is the plain loss */
    g_autoptr(rg_tensor) z = rg_test_random(44, 4, shape, -1, 1);
    g_autoptr(rg_tensor) plain = rg_loss_appearance(ctx, x, z, NULL, NULL, -1, 2, &error);
    g_autoptr(rg_tensor) boxed = rg_loss_appearance(ctx, x, z, inside, inside, -1, 2, &error);
    rg_assert_no_error(error);
    ok &= rg_check_tensor("appearance with whole-map boxes", boxed, plain, 0, 1e-6);
}

int main(void)
{
    g_autoptr(rg_safetensors) golden = rg_test_golden("guidance");
    spatial(golden);
    correspondence(golden);
    appearance(golden);
    gradchecks();
    constants();
    zero_vectors();
    bad_inputs();
    g_print("%s\n", ok && rg_test_failures == 0 ? "ALL OK" : "FAILURES");
    return ok && rg_test_failures == 0 ? 0 : 1;
}
