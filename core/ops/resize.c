/* resize.c — nearest 2x upsampling and bilinear resizing of (N, C, H, W):
 * CPU kernels, forward and backward, and the front doors
 * rg_upsample_nearest2x() and rg_resize_bilinear().
 *
 * Bilinear resizing is separable. The forward kernel works one output row at
 * a time. Upscaling, the two input rows it blends are first resampled
 * horizontally (a gather through a per-column table) into a two-row cache,
 * which consecutive output rows share, then blended vertically (an axpy that
 * vectorizes); downscaling, the rows are blended first and the blend
 * resampled, so each output row costs one gather pass. The backward kernel
 * is the transpose written as a gather, so it needs no atomics: the source
 * row never decreases along the output, so the output rows that read input
 * row h form a contiguous range, and each input row sums its own
 * contributions. Both kernels split all rows of all (n, c) planes between
 * the threads.
 */
#include "ops/resize.h"

#include <omp.h>
#include <string.h>

#include "autograd/tape_impl.h"
#include "tensor/context.h"

/* ---- nearest 2x ----------------------------------------------------------- */

rg_status rg_cpu_upsample_nearest2x_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    (void)params;
    rg_tensor *out = t[0], *inp = t[1];
    int64_t W = inp->shape[3];
    int64_t rows = inp->shape[0] * inp->shape[1] * inp->shape[2];
    const float *x = rg_tensor_data_f32(inp); // (N, C, H, W)
    float *y = rg_tensor_data_f32(out);       // (N, C, 2H, 2W)
    /* input row r = (n, c, i) fills output rows 2i and 2i+1 of its plane, which
     * start at (r * 2) * 2W */
#pragma omp parallel for if (rows * W > 32768) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *src = x + r * W;
        float *dst = y + r * 4 * W;
        for (int64_t j = 0; j < W; j++) {
            float v = src[j];
            dst[2 * j] = v;
            dst[2 * j + 1] = v;
        }
        memcpy(dst + 2 * W, dst, (size_t)(2 * W) * sizeof(float));
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_upsample_nearest2x_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)backend;
    (void)params;
    rg_tensor *dinp = t[0], *dout = t[1];
    int64_t W = dinp->shape[3];
    int64_t rows = dinp->shape[0] * dinp->shape[1] * dinp->shape[2];
    float *dx = rg_tensor_data_f32(dinp);      // (N, C, H, W)
    const float *g = rg_tensor_data_f32(dout); // (N, C, 2H, 2W)
    /* out[2i + a, 2j + b] = inp[i, j]  =>  dinp[i, j] = sum over a, b of dout[2i + a, 2j + b] */
#pragma omp parallel for if (rows * W > 32768) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *g0 = g + r * 4 * W, *g1 = g0 + 2 * W;
        float *d = dx + r * W;
        for (int64_t j = 0; j < W; j++)
            d[j] = (g0[2 * j] + g0[2 * j + 1]) + (g1[2 * j] + g1[2 * j + 1]);
    }
    return RG_STATUS_OK;
}

/* ---- bilinear: interpolation tables ---------------------------------------- */

/* For each output position o along one axis: the two input positions read
 * and their weights, out[o] = l0[o] * in[i0[o]] + l1[o] * in[i1[o]]. */
typedef struct {
    int32_t *i0, *i1;
    float *l0, *l1;
} taps;

/* Elements reserved per table array: keeps every array 64-byte aligned. */
static size_t padded(int64_t n)
{
    return (size_t)((n + 15) / 16 * 16);
}

/* Carves the four arrays of @n entries from @mem; returns the end. */
static char *taps_carve(taps *tp, char *mem, int64_t n)
{
    size_t step = padded(n) * 4;
    tp->i0 = (int32_t *)(void *)mem;
    tp->i1 = (int32_t *)(void *)(mem + step);
    tp->l0 = (float *)(void *)(mem + 2 * step);
    tp->l1 = (float *)(void *)(mem + 3 * step);
    return mem + 4 * step;
}

/* PyTorch's upsample_bilinear2d with align_corners=False and no scale given:
 * ratio = in / out, real = max(ratio * (o + 0.5) - 0.5, 0), i0 = floor(real),
 * i1 = i0 + (i0 < in - 1), l1 = real - i0, l0 = 1 - l1; equal sizes copy. */
static void taps_fill(taps *tp, int64_t in, int64_t out)
{
    double ratio = (double)in / (double)out;
    for (int64_t o = 0; o < out; o++) {
        if (in == out) {
            tp->i0[o] = tp->i1[o] = (int32_t)o;
            tp->l0[o] = 1.0f;
            tp->l1[o] = 0.0f;
            continue;
        }
        double real = ratio * ((double)o + 0.5) - 0.5;
        if (real < 0)
            real = 0;
        int64_t i = MIN((int64_t)real, in - 1);
        double lambda = MIN(MAX(real - (double)i, 0.0), 1.0);
        tp->i0[o] = (int32_t)i;
        tp->i1[o] = (int32_t)(i + (i < in - 1 ? 1 : 0));
        tp->l0[o] = (float)(1.0 - lambda);
        tp->l1[o] = (float)lambda;
    }
}

/* dst[o] = l0[o] * src[i0[o]] + l1[o] * src[i1[o]] */
static void resample_row(float *dst, const float *src, const taps *tw, int64_t OW) // dst (OW), src (W)
{
    const int32_t *i0 = tw->i0, *i1 = tw->i1;
    const float *l0 = tw->l0, *l1 = tw->l1;
    for (int64_t o = 0; o < OW; o++)
        dst[o] = l0[o] * src[i0[o]] + l1[o] * src[i1[o]];
}

/* ---- bilinear: kernels ---------------------------------------------------- */

rg_status rg_cpu_resize_bilinear_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)params;
    rg_tensor *out = t[0], *inp = t[1];
    int64_t planes = inp->shape[0] * inp->shape[1];
    int64_t H = inp->shape[2], W = inp->shape[3], OH = out->shape[2], OW = out->shape[3];
    const float *x = rg_tensor_data_f32(inp); // (N, C, H, W)
    float *y = rg_tensor_data_f32(out);       // (N, C, OH, OW)

    char *tables = rg_cpu_workspace(backend, 0, 16 * (padded(OH) + padded(OW)));
    int max_threads = omp_get_max_threads();
    size_t per_thread = MAX(2 * padded(OW), padded(W)); /* floats of scratch per thread */
    float *scratch = rg_cpu_workspace(backend, 1, (size_t)max_threads * per_thread * sizeof(float));
    if (!tables || !scratch)
        return RG_STATUS_OUT_OF_MEMORY;
    taps th, tw;
    taps_carve(&tw, taps_carve(&th, tables, OH), OW);
    taps_fill(&th, H, OH);
    taps_fill(&tw, W, OW);
    /* Upscaling vertically, consecutive output rows read the same input rows:
     * resample those along W once (two-row cache), then blend. Downscaling,
     * no row is read twice: blend the two input rows first (vectorized over
     * W), then resample the blend along W once. */
    gboolean blend_first = OH < H;

    int64_t rows = planes * OH;
#pragma omp parallel if (planes * (H * W + OH * OW) > 32768) num_threads(max_threads)
    {
        int nt = omp_get_num_threads(), tid = omp_get_thread_num();
        int64_t begin = rows * tid / nt, end = rows * (tid + 1) / nt;
        float *mine = scratch + (size_t)tid * per_thread;
        /* two horizontally resampled input rows, tagged with their global row
         * number plane * H + h */
        float *buf[2] = {mine, mine + padded(OW)};
        int64_t tag[2] = {-1, -1};
        for (int64_t r = begin; r < end; r++) {
            int64_t plane = r / OH, oh = r % OH;
            int64_t id0 = plane * H + th.i0[oh], id1 = plane * H + th.i1[oh];
            float l0 = th.l0[oh], l1 = th.l1[oh];
            float *dst = y + r * OW;
            const float *r0 = x + id0 * W, *r1 = x + id1 * W; /* as they are when W == OW */
            if (W != OW && blend_first) {
                for (int64_t w = 0; w < W; w++)
                    mine[w] = l0 * r0[w] + l1 * r1[w];
                resample_row(dst, mine, &tw, OW);
                continue;
            }
            if (W != OW) {
                int s0 = tag[0] == id0 ? 0 : tag[1] == id0 ? 1 : -1;
                if (s0 < 0) { /* evict the slot that does not hold row id1 */
                    s0 = tag[0] == id1 ? 1 : 0;
                    resample_row(buf[s0], r0, &tw, OW);
                    tag[s0] = id0;
                }
                int s1 = tag[0] == id1 ? 0 : tag[1] == id1 ? 1 : -1;
                if (s1 < 0) {
                    s1 = 1 - s0;
                    resample_row(buf[s1], r1, &tw, OW);
                    tag[s1] = id1;
                }
                r0 = buf[s0];
                r1 = buf[s1];
            }
            for (int64_t o = 0; o < OW; o++)
                dst[o] = l0 * r0[o] + l1 * r1[o];
        }
    }
    return RG_STATUS_OK;
}

rg_status rg_cpu_resize_bilinear_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    (void)params;
    rg_tensor *dinp = t[0], *dout = t[1];
    int64_t planes = dinp->shape[0] * dinp->shape[1];
    int64_t H = dinp->shape[2], W = dinp->shape[3], OH = dout->shape[2], OW = dout->shape[3];
    float *dx = rg_tensor_data_f32(dinp);      // (N, C, H, W)
    const float *g = rg_tensor_data_f32(dout); // (N, C, OH, OW)

    /* tables: taps along H and W, then for each input row h the ranges of
     * output rows [beg0, end0) with i0 == h and [beg1, end1) with i1 == h */
    size_t range_bytes = 4 * padded(H) * sizeof(int32_t);
    char *tables = rg_cpu_workspace(backend, 0, 16 * (padded(OH) + padded(OW)) + range_bytes);
    int max_threads = omp_get_max_threads();
    float *scratch = rg_cpu_workspace(backend, 1, (size_t)max_threads * padded(OW) * sizeof(float));
    if (!tables || !scratch)
        return RG_STATUS_OUT_OF_MEMORY;
    taps th, tw;
    int32_t *beg0 = (int32_t *)(void *)taps_carve(&tw, taps_carve(&th, tables, OH), OW);
    int32_t *end0 = beg0 + padded(H), *beg1 = end0 + padded(H), *end1 = beg1 + padded(H);
    taps_fill(&th, H, OH);
    taps_fill(&tw, W, OW);
    for (int64_t h = 0; h < H; h++) {
        beg0[h] = beg1[h] = (int32_t)OH;
        end0[h] = end1[h] = 0;
    }
    for (int64_t oh = 0; oh < OH; oh++) {
        int32_t a = th.i0[oh], b = th.i1[oh];
        beg0[a] = MIN(beg0[a], (int32_t)oh);
        end0[a] = (int32_t)oh + 1;
        beg1[b] = MIN(beg1[b], (int32_t)oh);
        end1[b] = (int32_t)oh + 1;
    }

    int64_t rows = planes * H;
#pragma omp parallel if (planes * (H * W + OH * OW) > 32768) num_threads(max_threads)
    {
        int nt = omp_get_num_threads(), tid = omp_get_thread_num();
        int64_t begin = rows * tid / nt, end = rows * (tid + 1) / nt;
        float *buf = scratch + (size_t)tid * padded(OW);
        for (int64_t r = begin; r < end; r++) {
            int64_t plane = r / H, h = r % H;
            float *drow = dx + r * W;
            if (beg0[h] >= end0[h] && beg1[h] >= end1[h]) {
                memset(drow, 0, (size_t)W * sizeof(float));
                continue;
            }
            /* out[oh] = l0[oh] * rowW[i0[oh]] + l1[oh] * rowW[i1[oh]] (rowW: input rows
             * resampled along W)  =>  drowW[h] = sum over those oh of l * dout[oh] */
            float *acc = W == OW ? drow : buf;
            memset(acc, 0, (size_t)OW * sizeof(float));
            const float *gp = g + plane * OH * OW;
            for (int k = 0; k < 2; k++) {
                int32_t b = k ? beg1[h] : beg0[h], e = k ? end1[h] : end0[h];
                const float *lam = k ? th.l1 : th.l0;
                for (int32_t oh = b; oh < e; oh++) {
                    float l = lam[oh];
                    if (l == 0.0f)
                        continue;
                    const float *grow = gp + (int64_t)oh * OW;
                    for (int64_t o = 0; o < OW; o++)
                        acc[o] += l * grow[o];
                }
            }
            if (W == OW)
                continue;
            /* rowW[o] = l0[o] * row[i0[o]] + l1[o] * row[i1[o]]  =>  scatter along the row */
            memset(drow, 0, (size_t)W * sizeof(float));
            for (int64_t o = 0; o < OW; o++) {
                drow[tw.i0[o]] += tw.l0[o] * acc[o];
                drow[tw.i1[o]] += tw.l1[o] * acc[o];
            }
        }
    }
    return RG_STATUS_OK;
}

/* ---- front doors -------------------------------------------------------------- */

/* Runs @op (forward) on a contiguous copy of @x into a new (N, C, OH, OW) tensor. */
static rg_tensor *run_forward(rg_ctx *ctx, rg_op op, rg_tensor *x, int64_t OH, int64_t OW, GError **error)
{
    g_autoptr(rg_tensor) xc = rg_tensor_contiguous_copy(x, error);
    if (!xc)
        return NULL;
    int64_t shape[4] = {x->shape[0], x->shape[1], OH, OW};
    rg_tensor *out = rg_tensor_new_uninit(RG_DTYPE_F32, 4, shape, error);
    if (!out)
        return NULL;
    rg_tensor *args[2] = {out, xc};
    if (!rg_ctx_compute(ctx, op, NULL, args, error)) {
        rg_tensor_unref(out);
        return NULL;
    }
    return out;
}

typedef struct {
    rg_op back; /* the backward kernel */
} resample_params;

static gboolean resample_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din, GError **error)
{
    const resample_params *p = rg_node_params(node, resample_params);
    g_autoptr(rg_tensor) g = rg_tensor_contiguous_copy(dout[0], error); // (N, C, OH, OW)
    if (!g)
        return FALSE;
    rg_tensor *dx = rg_tensor_new_uninit(RG_DTYPE_F32, 4, node->in[0].shape, error); // (N, C, H, W)
    if (!dx)
        return FALSE;
    rg_tensor *args[2] = {dx, g};
    if (!rg_ctx_compute(ctx, p->back, NULL, args, error)) {
        rg_tensor_unref(dx);
        return FALSE;
    }
    din[0] = dx;
    return TRUE;
}

static void record(rg_ctx *ctx, const char *name, rg_op back, rg_tensor *x, rg_tensor *out)
{
    if (rg_autograd_wants(ctx, &x, 1)) {
        rg_node *node = rg_autograd_record(ctx, name, resample_backward, &x, 1, &out, 1);
        rg_node_params(node, resample_params)->back = back;
    }
}

rg_tensor *rg_upsample_nearest2x(rg_ctx *ctx, rg_tensor *x, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    if (!rg_check_ndim("upsample_nearest2x", "input", x, 4, error))
        return NULL;
    rg_tensor *out = run_forward(ctx, RG_OP_UPSAMPLE_NEAREST2X, x, 2 * x->shape[2], 2 * x->shape[3], error);
    if (out)
        record(ctx, "upsample_nearest2x", RG_OP_UPSAMPLE_NEAREST2X_BACK, x, out);
    return out;
}

rg_tensor *rg_resize_bilinear(rg_ctx *ctx, rg_tensor *x, int64_t out_h, int64_t out_w, GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    if (!rg_check_ndim("resize_bilinear", "input", x, 4, error))
        return NULL;
    if (x->shape[2] < 1 || x->shape[3] < 1 || x->shape[2] > G_MAXINT32 || x->shape[3] > G_MAXINT32) {
        g_autofree char *s = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "resize_bilinear: input %s must have a height and width in [1, 2^31)", s);
        return NULL;
    }
    if (out_h < 1 || out_w < 1 || out_h > G_MAXINT32 || out_w > G_MAXINT32) {
        g_autofree char *s = rg_tensor_shape_string(x);
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "resize_bilinear: output size %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                    " for input %s must be in [1, 2^31)",
                    out_h, out_w, s);
        return NULL;
    }
    rg_tensor *out = run_forward(ctx, RG_OP_RESIZE_BILINEAR, x, out_h, out_w, error);
    if (out)
        record(ctx, "resize_bilinear", RG_OP_RESIZE_BILINEAR_BACK, x, out);
    return out;
}
