/* losses.c — the three Readout Guidance losses of the official code
 * (readout_guidance/rg_operators.py; readout_guidance_spec.md §4.3): spatial
 * (MSE to a control image after remapping both to the latent range),
 * correspondence (cosine similarity at dragged points, with the anti-ghosting
 * term) and appearance (per-pixel cosine distance, optionally in boxes).
 *
 * Each loss is made of engine operations, so with a tape attached the
 * gradient reaches @obs. The reference readout @gt and the control image are
 * constants, as the official code detaches them: the operations on them run
 * off the tape, so no gradient flows into them even when they were computed
 * on it (e.g. by the same head on the reference half of the batch).
 */
#include "readout/guidance.h"

#include <math.h>

#include "tensor/tensor_impl.h"

/* torch.linalg.norm without eps in the official code; the clamp only keeps a
 * zero vector from making NaN */
#define CORR_COS_EPS 1e-12f
/* F.cosine_similarity's default */
#define APP_COS_EPS 1e-8f

/* ---- checks ------------------------------------------------------------- */

/* @x is a (N, C, H, W) F32 map; with @like, of the same shape. */
static gboolean check_map(const char *op, const char *what, rg_tensor *x, const char *like_name, rg_tensor *like,
                          GError **error)
{
    if (!x) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: %s is missing", op, what);
        return FALSE;
    }
    g_autofree char *sx = rg_tensor_shape_string(x);
    if (rg_tensor_dtype(x) != RG_DTYPE_F32) {
        g_set_error(error, RG_ERROR, RG_ERROR_DTYPE, "%s: %s %s is %s, expected F32", op, what, sx,
                    rg_dtype_name(rg_tensor_dtype(x)));
        return FALSE;
    }
    if (rg_tensor_ndim(x) != 4 || rg_tensor_numel(x) == 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: %s %s must be a non-empty (N, C, H, W) map", op, what, sx);
        return FALSE;
    }
    if (like && !rg_tensor_same_shape(x, like)) {
        g_autofree char *sl = rg_tensor_shape_string(like);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "%s: %s %s does not match %s %s", op, what, sx, like_name, sl);
        return FALSE;
    }
    return TRUE;
}

static gboolean check_finite(const char *op, int n, const char *const *names, const float *values, GError **error)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(values[i])) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: %s is %g", op, names[i], values[i]);
            return FALSE;
        }
    return TRUE;
}

/* A copy of @x that no gradient flows into (made off the tape). */
static rg_tensor *constant(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    rg_tape *tape = rg_ctx_get_tape(ctx);
    rg_ctx_set_tape(ctx, NULL);
    rg_tensor *c = rg_scale(ctx, x, 1.0f, 0.0f, error);
    rg_ctx_set_tape(ctx, tape);
    return c;
}

/* ---- spatial ------------------------------------------------------------ */

rg_tensor *rg_loss_spatial(rg_ctx *ctx, rg_tensor *obs, rg_tensor *control, float cmin, float cmax, float lmin,
                           float lmax, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    const char *op = "loss_spatial";
    static const char *const names[4] = {"control range min", "control range max", "latent min", "latent max"};
    const float values[4] = {cmin, cmax, lmin, lmax};
    if (!check_map(op, "obs", obs, NULL, NULL, error) || !check_map(op, "control", control, "obs", obs, error) ||
        !check_finite(op, 4, names, values, error))
        return NULL;
    if (cmax == cmin) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: the control range [%g, %g] is empty", op, cmin, cmax);
        return NULL;
    }
    /* renormalize() maps both linearly with the same slope s, so the shift
     * cancels: (obs' - control')^2 = (s (obs - control))^2 */
    double s = ((double)lmax - lmin) / ((double)cmax - cmin);
    g_autoptr(rg_tensor) target = constant(ctx, control, error);
    g_autoptr(rg_tensor) d = target ? rg_sub(ctx, obs, target, error) : NULL; // (N, C, H, W)
    g_autoptr(rg_tensor) ds = d ? rg_scale(ctx, d, (float)s, 0.0f, error) : NULL;
    g_autoptr(rg_tensor) sq = ds ? rg_mul(ctx, ds, ds, error) : NULL;
    return sq ? rg_mean(ctx, sq, error) : NULL;
}

/* ---- correspondence ----------------------------------------------------- */

/* The cell of coordinate @v as the official .long() makes it (truncation
 * toward zero, so -0.5 is cell 0), or -1 outside [0, @limit) or not finite. */
static int64_t cell(float v, int64_t limit)
{
    double c = trunc((double)v);
    return c >= 0 && c < (double)limit ? (int64_t)c : -1;
}

/* mean over the pairs of S = (cos(a, b) + 1) / 2, a and b (N, C, K). */
static rg_tensor *mean_similarity(rg_ctx *ctx, rg_tensor *a, rg_tensor *b, GError **error)
{
    g_autoptr(rg_tensor) cos = rg_cosine_similarity(ctx, a, b, CORR_COS_EPS, error); // (N, K)
    g_autoptr(rg_tensor) sim = cos ? rg_scale(ctx, cos, 0.5f, 0.5f, error) : NULL;
    return sim ? rg_mean(ctx, sim, error) : NULL;
}

/* (N, K) I64 index of the cells @idx, the same for every sample. */
static rg_tensor *index_tensor(int64_t N, int64_t K, const int64_t *idx, GError **error)
{
    int64_t shape[2] = {N, K};
    g_autofree int64_t *data = g_new(int64_t, N * K);
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++)
            data[n * K + k] = idx[k];
    return rg_tensor_new_from_data(RG_DTYPE_I64, 2, shape, data, error);
}

rg_tensor *rg_loss_correspondence(rg_ctx *ctx, rg_tensor *gt, rg_tensor *obs, const rg_point_pair *pairs, int n_pairs,
                                  GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    const char *op = "loss_correspondence";
    if (!check_map(op, "obs", obs, NULL, NULL, error) || !check_map(op, "gt", gt, "obs", obs, error))
        return NULL;
    if (n_pairs < 1 || !pairs) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: no point pairs (%d given)", op, pairs ? n_pairs : 0);
        return NULL;
    }
    const int64_t *shape = rg_tensor_shape(obs);
    int64_t N = shape[0], C = shape[1], H = shape[2], W = shape[3];
    /* flat cells y * W + x of the pairs whose both cells lie in the grid */
    g_autofree int64_t *src = g_new(int64_t, n_pairs);
    g_autofree int64_t *dst = g_new(int64_t, n_pairs);
    int64_t K = 0;
    for (int k = 0; k < n_pairs; k++) {
        int64_t sy = cell(pairs[k].src_y, H), sx = cell(pairs[k].src_x, W);
        int64_t dy = cell(pairs[k].dst_y, H), dx = cell(pairs[k].dst_x, W);
        if (sy < 0 || sx < 0 || dy < 0 || dx < 0)
            continue;
        src[K] = sy * W + sx;
        dst[K] = dy * W + dx;
        K++;
    }
    if (K == 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "%s: none of the %d point pairs has both cells in the %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                    " grid (coordinates (y, x), truncated)",
                    op, n_pairs, H, W);
        return NULL;
    }
    g_autoptr(rg_tensor) isrc = index_tensor(N, K, src, error); // (N, K)
    g_autoptr(rg_tensor) idst = isrc ? index_tensor(N, K, dst, error) : NULL;
    if (!idst)
        return NULL;
    int64_t flat[3] = {N, C, H * W};

    /* gt at the sources, off the tape: a constant */
    rg_tape *tape = rg_ctx_get_tape(ctx);
    rg_ctx_set_tape(ctx, NULL);
    g_autoptr(rg_tensor) gt3 = rg_reshape(ctx, gt, 3, flat, error);            // (N, C, HW)
    g_autoptr(rg_tensor) gsrc = gt3 ? rg_gather(ctx, gt3, isrc, error) : NULL; // (N, C, K)
    rg_ctx_set_tape(ctx, tape);
    if (!gsrc)
        return NULL;

    g_autoptr(rg_tensor) obs3 = rg_reshape(ctx, obs, 3, flat, error);            // (N, C, HW)
    g_autoptr(rg_tensor) odst = obs3 ? rg_gather(ctx, obs3, idst, error) : NULL; // (N, C, K)
    g_autoptr(rg_tensor) osrc = odst ? rg_gather(ctx, obs3, isrc, error) : NULL;
    /* pull obs at the target toward gt at the source; push obs at the source
     * away from it (anti-ghosting) */
    g_autoptr(rg_tensor) pull = osrc ? mean_similarity(ctx, gsrc, odst, error) : NULL; // (1)
    g_autoptr(rg_tensor) push = pull ? mean_similarity(ctx, gsrc, osrc, error) : NULL;
    g_autoptr(rg_tensor) a = push ? rg_scale(ctx, pull, -0.5f, 0.0f, error) : NULL;
    g_autoptr(rg_tensor) b = a ? rg_scale(ctx, push, 0.5f, 0.0f, error) : NULL;
    return b ? rg_add(ctx, a, b, error) : NULL;
}

/* ---- appearance --------------------------------------------------------- */

static gboolean check_box(const char *op, const char *what, const int *box, int64_t H, int64_t W, GError **error)
{
    if (box[0] < 0 || box[0] >= box[2] || box[2] > W || box[1] < 0 || box[1] >= box[3] || box[3] > H) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "%s: %s [x0 %d, y0 %d, x1 %d, y1 %d] is not a non-empty box in the %" G_GINT64_FORMAT
                    "x%" G_GINT64_FORMAT " map (0 <= x0 < x1 <= W, 0 <= y0 < y1 <= H)",
                    op, what, box[0], box[1], box[2], box[3], H, W);
        return FALSE;
    }
    return TRUE;
}

/* @x cropped to @box and resized back to its H x W (bilinear). */
static rg_tensor *crop_resize(rg_ctx *ctx, rg_tensor *x, const int *box, GError **error)
{
    const int64_t *shape = rg_tensor_shape(x);
    g_autoptr(rg_tensor) rows = rg_slice(ctx, x, 2, box[1], box[3] - box[1], error);
    g_autoptr(rg_tensor) crop = rows ? rg_slice(ctx, rows, 3, box[0], box[2] - box[0], error) : NULL;
    return crop ? rg_resize_bilinear(ctx, crop, shape[2], shape[3], error) : NULL;
}

rg_tensor *rg_loss_appearance(rg_ctx *ctx, rg_tensor *gt, rg_tensor *obs, const int *gt_box, const int *obs_box,
                              float lmin, float lmax, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    const char *op = "loss_appearance";
    static const char *const names[2] = {"latent min", "latent max"};
    const float values[2] = {lmin, lmax};
    if (!check_map(op, "obs", obs, NULL, NULL, error) || !check_map(op, "gt", gt, "obs", obs, error) ||
        !check_finite(op, 2, names, values, error))
        return NULL;
    if (!gt_box != !obs_box) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "%s: %s is given without %s", op, gt_box ? "gt_box" : "obs_box",
                    gt_box ? "obs_box" : "gt_box");
        return NULL;
    }
    const int64_t *shape = rg_tensor_shape(obs);
    if (gt_box && (!check_box(op, "gt_box", gt_box, shape[2], shape[3], error) ||
                   !check_box(op, "obs_box", obs_box, shape[2], shape[3], error)))
        return NULL;

    g_autoptr(rg_tensor) o = obs_box ? crop_resize(ctx, obs, obs_box, error) : rg_tensor_ref(obs);
    if (!o)
        return NULL;
    /* gt off the tape: a constant */
    rg_tape *tape = rg_ctx_get_tape(ctx);
    rg_ctx_set_tape(ctx, NULL);
    g_autoptr(rg_tensor) g = gt_box ? crop_resize(ctx, gt, gt_box, error) : rg_scale(ctx, gt, 1.0f, 0.0f, error);
    rg_ctx_set_tape(ctx, tape);
    if (!g)
        return NULL;

    double range = (double)lmax - lmin;
    g_autoptr(rg_tensor) cos = rg_cosine_similarity(ctx, o, g, APP_COS_EPS, error); // (N, H, W)
    g_autoptr(rg_tensor) dist = cos ? rg_scale(ctx, cos, -1.0f, 1.0f, error) : NULL;
    g_autoptr(rg_tensor) mean = dist ? rg_mean(ctx, dist, error) : NULL;
    return mean ? rg_scale(ctx, mean, (float)(range * range), 0.0f, error) : NULL;
}
