/* conv2d.c — rg_conv2d: 2-D convolution of NCHW images (1x1 and 3x3
 * kernels, any stride, zero padding), its CPU kernels and its backward.
 *
 * Forward and input gradient, the hot paths of guidance through a frozen
 * UNet, use Winograd F(4x4,3x3) for 3x3 stride 1 and im2col + GEMM
 * otherwise; the weight gradient is always im2col + GEMM. Tensor order and
 * params are in conv2d.h.
 */
#include "ops/conv2d.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "autograd/tape_impl.h"
#include "tensor/context.h"

#define WG_BUDGET (6 << 20)  /* floats in V + M for one chunk of Winograd tiles */
#define WG_MIN_TILES 32      /* fewer 4x4 output tiles: the weight transform does not pay */
#define COL_BUDGET (2 << 20) /* floats in one im2col chunk */

/* workspace slots */
enum { WS_U = 0, WS_V = 1, WS_M = 2, WS_COL = 3 };

/* One convolution: input (n, ci, h, w) -> output (n, co, oh, ow), k x k kernel. */
typedef struct {
    int n, ci, h, w;
    int co, oh, ow;
    int k, stride, pad;
} geom;

/* ---- im2col + GEMM -------------------------------------------------------- */

/* Output columns [lo, hi) of kernel column b read input columns inside [0, w). */
static void valid_columns(const geom *g, int b, int *lo, int *hi)
{
    int first = g->pad - b, last = g->w - 1 + g->pad - b; /* ox * stride must lie in [first, last] */
    *lo = first <= 0 ? 0 : (first + g->stride - 1) / g->stride;
    *hi = last < 0 ? 0 : MIN(g->ow, last / g->stride + 1);
    *lo = MIN(*lo, *hi);
}

/* col (ci*k*k, rows*ow) <- the k*k shifted copies of inp feeding output rows [oy0, oy0+rows). */
static void im2col(const float *inp /* (ci, h, w) */, const geom *g, int oy0, int rows,
                   float *col /* (ci*k*k, rows*ow) */)
{
    int kk = g->k * g->k;
    int64_t L = (int64_t)rows * g->ow;
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < g->ci; c++)
        for (int ab = 0; ab < kk; ab++) {
            int a = ab / g->k, b = ab % g->k, lo, hi;
            valid_columns(g, b, &lo, &hi);
            const float *src = inp + (int64_t)c * g->h * g->w;
            float *dst = col + ((int64_t)c * kk + ab) * L;
            for (int r = 0; r < rows; r++, dst += g->ow) {
                int iy = (oy0 + r) * g->stride + a - g->pad;
                if (iy < 0 || iy >= g->h) {
                    memset(dst, 0, sizeof(float) * (size_t)g->ow);
                    continue;
                }
                const float *s = src + (int64_t)iy * g->w + b - g->pad;
                memset(dst, 0, sizeof(float) * (size_t)lo);
                if (g->stride == 1)
                    memcpy(dst + lo, s + lo, sizeof(float) * (size_t)(hi - lo));
                else
                    for (int ox = lo; ox < hi; ox++)
                        dst[ox] = s[ox * g->stride];
                memset(dst + hi, 0, sizeof(float) * (size_t)(g->ow - hi));
            }
        }
}

/* dinp (ci, h, w) += the k*k shifted copies in col (ci*k*k, rows*ow); backward of im2col. */
static void col2im(const float *col /* (ci*k*k, rows*ow) */, const geom *g, int oy0, int rows,
                   float *dinp /* (ci, h, w) */)
{
    int kk = g->k * g->k;
    int64_t L = (int64_t)rows * g->ow;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < g->ci; c++)
        for (int ab = 0; ab < kk; ab++) {
            int a = ab / g->k, b = ab % g->k, lo, hi;
            valid_columns(g, b, &lo, &hi);
            const float *src = col + ((int64_t)c * kk + ab) * L;
            float *plane = dinp + (int64_t)c * g->h * g->w;
            for (int r = 0; r < rows; r++, src += g->ow) {
                int iy = (oy0 + r) * g->stride + a - g->pad;
                if (iy < 0 || iy >= g->h)
                    continue;
                float *d = plane + (int64_t)iy * g->w + b - g->pad;
                for (int ox = lo; ox < hi; ox++)
                    d[ox * g->stride] += src[ox];
            }
        }
}

/* 1x1, stride 1, no padding: the image itself is the column matrix. */
static gboolean is_pointwise(const geom *g)
{
    return g->k == 1 && g->stride == 1 && g->pad == 0;
}

/* Output rows per im2col chunk. */
static int chunk_rows(const geom *g)
{
    if (is_pointwise(g))
        return g->oh;
    int64_t per_row = (int64_t)g->ci * g->k * g->k * g->ow;
    return (int)CLAMP(COL_BUDGET / per_row, 1, g->oh);
}

/* out[n] (co, oh*ow) = weight (co, ci*k*k) . col (ci*k*k, oh*ow) + bias */
static rg_status gemm_forward(rg_backend *backend, const geom *g, const float *inp /* (n, ci, h, w) */,
                              const float *w /* (co, ci, k, k) */, const float *bias /* (co) or NULL */,
                              float *out /* (n, co, oh, ow) */)
{
    int ck = g->ci * g->k * g->k, rows = chunk_rows(g);
    int64_t hw = (int64_t)g->h * g->w, ohw = (int64_t)g->oh * g->ow;
    float *col = NULL;
    if (!is_pointwise(g) && !(col = rg_cpu_workspace(backend, WS_COL, sizeof(float) * (size_t)ck * rows * g->ow)))
        return RG_STATUS_OUT_OF_MEMORY;
    for (int n = 0; n < g->n; n++) {
        const float *x = inp + (int64_t)n * g->ci * hw;
        float *y = out + (int64_t)n * g->co * ohw;
        if (bias) {
#pragma omp parallel for schedule(static)
            for (int o = 0; o < g->co; o++)
                for (int64_t i = 0; i < ohw; i++)
                    y[o * ohw + i] = bias[o];
        }
        for (int oy0 = 0; oy0 < g->oh; oy0 += rows) {
            int nr = MIN(rows, g->oh - oy0), L = nr * g->ow;
            if (col)
                im2col(x, g, oy0, nr, col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->co, L, ck, 1.0f, w, ck, col ? col : x,
                        col ? L : (int)hw, bias ? 1.0f : 0.0f, y + (int64_t)oy0 * g->ow, (int)ohw);
        }
    }
    return RG_STATUS_OK;
}

/* dinp[n] = col2im(weight^T (ci*k*k, co) . dout[n] (co, oh*ow)) */
static rg_status gemm_dinp(rg_backend *backend, const geom *g, const float *dout /* (n, co, oh, ow) */,
                           const float *w /* (co, ci, k, k) */, float *dinp /* (n, ci, h, w) */)
{
    int ck = g->ci * g->k * g->k, rows = chunk_rows(g);
    int64_t hw = (int64_t)g->h * g->w, ohw = (int64_t)g->oh * g->ow;
    if (is_pointwise(g)) {
        for (int n = 0; n < g->n; n++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->ci, (int)hw, g->co, 1.0f, w, g->ci,
                        dout + (int64_t)n * g->co * ohw, (int)hw, 0.0f, dinp + (int64_t)n * g->ci * hw, (int)hw);
        return RG_STATUS_OK;
    }
    float *col = rg_cpu_workspace(backend, WS_COL, sizeof(float) * (size_t)ck * rows * g->ow);
    if (!col)
        return RG_STATUS_OUT_OF_MEMORY;
    memset(dinp, 0, sizeof(float) * (size_t)g->n * g->ci * hw);
    for (int n = 0; n < g->n; n++)
        for (int oy0 = 0; oy0 < g->oh; oy0 += rows) {
            int nr = MIN(rows, g->oh - oy0), L = nr * g->ow;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ck, L, g->co, 1.0f, w, ck,
                        dout + (int64_t)n * g->co * ohw + (int64_t)oy0 * g->ow, (int)ohw, 0.0f, col, L);
            col2im(col, g, oy0, nr, dinp + (int64_t)n * g->ci * hw);
        }
    return RG_STATUS_OK;
}

/* dweight (co, ci*k*k) = sum over n of dout[n] (co, oh*ow) . col[n]^T (oh*ow, ci*k*k) */
static rg_status gemm_dweight(rg_backend *backend, const geom *g, const float *dout /* (n, co, oh, ow) */,
                              const float *inp /* (n, ci, h, w) */, float *dw /* (co, ci, k, k) */)
{
    int ck = g->ci * g->k * g->k, rows = chunk_rows(g);
    int64_t hw = (int64_t)g->h * g->w, ohw = (int64_t)g->oh * g->ow;
    float *col = NULL;
    if (!is_pointwise(g) && !(col = rg_cpu_workspace(backend, WS_COL, sizeof(float) * (size_t)ck * rows * g->ow)))
        return RG_STATUS_OUT_OF_MEMORY;
    float beta = 0.0f;
    for (int n = 0; n < g->n; n++)
        for (int oy0 = 0; oy0 < g->oh; oy0 += rows, beta = 1.0f) {
            int nr = MIN(rows, g->oh - oy0), L = nr * g->ow;
            const float *x = inp + (int64_t)n * g->ci * hw;
            if (col)
                im2col(x, g, oy0, nr, col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->co, ck, L, 1.0f,
                        dout + (int64_t)n * g->co * ohw + (int64_t)oy0 * g->ow, (int)ohw, col ? col : x,
                        col ? L : (int)hw, beta, dw, ck);
        }
    return RG_STATUS_OK;
}

/* ---- Winograd F(4x4, 3x3) ---------------------------------------------------
 * Y = A^T [(G g G^T) .* (B^T d B)] A maps a 6x6 input tile d and a 3x3 kernel
 * g to a 4x4 output tile (Lavin & Gray 2016). Summed over input channels, the
 * 36 element-wise products become 36 GEMMs over all tiles at once:
 * M[xi] (tiles, co) = V[xi] (tiles, ci) . U[xi] (ci, co), where U is stored
 * transposed (co, ci) for forward convs. The transforms work on 8 channels at
 * a time (one v8, an AVX2 register), the innermost index of U, V and M, whose
 * rows are padded to a multiple of 8.
 */

typedef float v8 __attribute__((vector_size(32)));

static inline v8 ld8(const float *p)
{
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void st8(float *p, v8 v)
{
    memcpy(p, &v, sizeof v);
}

/* The 1-D transforms: r = B^T d (6 -> 6), r = G g (3 -> 6), r = A^T m (6 -> 4). */
static inline void bt6(v8 *r, v8 d0, v8 d1, v8 d2, v8 d3, v8 d4, v8 d5)
{
    r[0] = 4 * d0 - 5 * d2 + d4;
    r[1] = -4 * (d1 + d2) + d3 + d4;
    r[2] = 4 * (d1 - d2) - d3 + d4;
    r[3] = 2 * (d3 - d1) - d2 + d4;
    r[4] = 2 * (d1 - d3) - d2 + d4;
    r[5] = 4 * d1 - 5 * d3 + d5;
}

static inline void g3(v8 *r, v8 g0, v8 g1, v8 g2)
{
    r[0] = g0 * (1.0f / 4);
    r[1] = -(g0 + g1 + g2) * (1.0f / 6);
    r[2] = -(g0 - g1 + g2) * (1.0f / 6);
    r[3] = g0 * (1.0f / 24) + g1 * (1.0f / 12) + g2 * (1.0f / 6);
    r[4] = g0 * (1.0f / 24) - g1 * (1.0f / 12) + g2 * (1.0f / 6);
    r[5] = g2;
}

static inline void at4(v8 *r, v8 m0, v8 m1, v8 m2, v8 m3, v8 m4, v8 m5)
{
    r[0] = m0 + (m1 + m2) + (m3 + m4);
    r[1] = (m1 - m2) + 2 * (m3 - m4);
    r[2] = (m1 + m2) + 4 * (m3 + m4);
    r[3] = (m1 - m2) + 8 * (m3 - m4) + m5;
}

/* Sizes of one Winograd conv. */
typedef struct {
    int tiles_x, tiles_y; /* 4x4 output tiles per image */
    int64_t tiles;        /* over all images */
    int cb, ob;           /* blocks of 8 input / output channels */
    int ph, pw;           /* padded input plane: tiles * 4 + 2 */
} wgeom;

static wgeom winograd_geom(const geom *g)
{
    wgeom w = {(g->ow + 3) / 4, (g->oh + 3) / 4, 0, (g->ci + 7) / 8, (g->co + 7) / 8, 0, 0};
    w.tiles = (int64_t)g->n * w.tiles_x * w.tiles_y;
    w.ph = w.tiles_y * 4 + 2;
    w.pw = w.tiles_x * 4 + 2;
    return w;
}

/* U[xi][r][c] = G g G^T for the kernels g = w[r][c] (3, 3), turned by 180
 * degrees when @flip; c padded to a multiple of 8. A forward conv passes its
 * weight (co, ci, 3, 3) and gets U (36, co, ci); the input-gradient conv of a
 * forward conv passes that weight flipped, which is (ci', co', 3, 3) for its
 * own channels ci' = co, co' = ci, and gets U (36, ci', co'). */
static void winograd_weights(const float *w /* (R, C, 3, 3) */, int R, int C, gboolean flip,
                             float *U /* (36, R, ceil(C/8)*8) */)
{
    int cbs = (C + 7) / 8, ldu = cbs * 8;
#pragma omp parallel for collapse(2) schedule(static)
    for (int r = 0; r < R; r++)
        for (int cb = 0; cb < cbs; cb++) {
            v8 k3[3][3], t[6][3], u[6];
            const float *src = w + ((int64_t)r * C + cb * 8) * 9;
            int nc = MIN(8, C - cb * 8);
            for (int l = 0; l < 8; l++) /* padding lanes repeat the last kernel */
                for (int ab = 0; ab < 9; ab++)
                    k3[ab / 3][ab % 3][l] = src[MIN(l, nc - 1) * 9 + (flip ? 8 - ab : ab)];
            for (int b = 0; b < 3; b++) { /* t = G g */
                v8 q[6];
                g3(q, k3[0][b], k3[1][b], k3[2][b]);
                for (int a = 0; a < 6; a++)
                    t[a][b] = q[a];
            }
            for (int a = 0; a < 6; a++) { /* u = t G^T */
                g3(u, t[a][0], t[a][1], t[a][2]);
                for (int b = 0; b < 6; b++)
                    st8(U + ((int64_t)(a * 6 + b) * R + r) * ldu + cb * 8, u[b]);
            }
        }
}

/* P (n, cb, ph, pw, 8) <- the input shifted by the padding, zero outside and
 * in the padding channels. */
static void winograd_pack(const float *inp /* (n, ci, h, w) */, const geom *g, const wgeom *wg, float *P)
{
    int64_t hw = (int64_t)g->h * g->w;
#pragma omp parallel for collapse(3) schedule(static)
    for (int n = 0; n < g->n; n++)
        for (int cb = 0; cb < wg->cb; cb++)
            for (int py = 0; py < wg->ph; py++) {
                float *dst = P + (((int64_t)n * wg->cb + cb) * wg->ph + py) * wg->pw * 8;
                int y = py - g->pad, nc = MIN(8, g->ci - cb * 8);
                int lo = MAX(0, g->pad), hi = MIN(wg->pw, g->w + g->pad); /* columns inside the image */
                if (y < 0 || y >= g->h || lo >= hi) {
                    memset(dst, 0, sizeof(float) * 8 * (size_t)wg->pw);
                    continue;
                }
                memset(dst, 0, sizeof(float) * 8 * (size_t)lo);
                memset(dst + hi * 8, 0, sizeof(float) * 8 * (size_t)(wg->pw - hi));
                const float *src = inp + ((int64_t)n * g->ci + cb * 8) * hw + (int64_t)y * g->w - g->pad;
                if (nc == 8) {
                    for (int px = lo; px < hi; px++)
                        for (int l = 0; l < 8; l++)
                            dst[px * 8 + l] = src[l * hw + px];
                } else {
                    for (int px = lo; px < hi; px++)
                        for (int l = 0; l < 8; l++)
                            dst[px * 8 + l] = l < nc ? src[l * hw + px] : 0.0f;
                }
            }
}

/* Where tile @tile (numbered over all images) lies: image, output row, output column. */
static void tile_origin(const wgeom *wg, int64_t tile, int *n, int *y, int *x)
{
    int per_image = wg->tiles_x * wg->tiles_y;
    *n = (int)(tile / per_image);
    int r = (int)(tile % per_image);
    *y = r / wg->tiles_x * 4;
    *x = r % wg->tiles_x * 4;
}

/* V[xi][t] = (B^T d B)[xi] for the 6x6 tile d of tile t0 + t in P, t < nt. */
static void winograd_input(const float *P, const wgeom *wg, int64_t t0, int nt, float *V /* (36, nt, cb*8) */)
{
    int ldv = wg->cb * 8;
    int64_t plane = (int64_t)nt * ldv, row = (int64_t)wg->pw * 8;
#pragma omp parallel for collapse(2) schedule(static)
    for (int t = 0; t < nt; t++)
        for (int cb = 0; cb < wg->cb; cb++) {
            int n, y0, x0;
            tile_origin(wg, t0 + t, &n, &y0, &x0);
            const float *src = P + (((int64_t)n * wg->cb + cb) * wg->ph + y0) * row + x0 * 8;
            v8 s[6][6], r[6];
            for (int b = 0; b < 6; b++) { /* s = B^T d */
                const float *c = src + b * 8;
                bt6(r, ld8(c), ld8(c + row), ld8(c + 2 * row), ld8(c + 3 * row), ld8(c + 4 * row), ld8(c + 5 * row));
                for (int a = 0; a < 6; a++)
                    s[a][b] = r[a];
            }
            float *dst = V + (int64_t)t * ldv + cb * 8;
            for (int a = 0; a < 6; a++) { /* v = s B */
                bt6(r, s[a][0], s[a][1], s[a][2], s[a][3], s[a][4], s[a][5]);
                for (int b = 0; b < 6; b++)
                    st8(dst + (a * 6 + b) * plane, r[b]);
            }
        }
}

/* dst[l * stride + b] = c[b][l] for 8 channels l and 4 columns b: a 4x8
 * transpose in registers, then one 16-byte store per channel. */
static inline void store_rows(const v8 *c, float *dst, int64_t stride)
{
    v8 t0 = __builtin_shufflevector(c[0], c[1], 0, 8, 1, 9, 4, 12, 5, 13);   // a0 b0 a1 b1 | a4 b4 a5 b5
    v8 t1 = __builtin_shufflevector(c[0], c[1], 2, 10, 3, 11, 6, 14, 7, 15); // a2 b2 a3 b3 | a6 b6 a7 b7
    v8 t2 = __builtin_shufflevector(c[2], c[3], 0, 8, 1, 9, 4, 12, 5, 13);
    v8 t3 = __builtin_shufflevector(c[2], c[3], 2, 10, 3, 11, 6, 14, 7, 15);
    v8 u[4] = {
        __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13),   // channels 0 | 4
        __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15), // channels 1 | 5
        __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13),   // channels 2 | 6
        __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15), // channels 3 | 7
    };
    for (int l = 0; l < 4; l++) {
        memcpy(dst + l * stride, &u[l], 4 * sizeof(float));
        memcpy(dst + (l + 4) * stride, (const float *)&u[l] + 4, 4 * sizeof(float));
    }
}

/* out tile t0 + t = A^T M[.][t] A + bias, cropped at the image edge. */
static void winograd_output(const float *M /* (36, nt, ob*8) */, const float *bias, const geom *g, const wgeom *wg,
                            int64_t t0, int nt, float *out /* (n, co, oh, ow) */)
{
    int CO = g->co, OW = g->ow, ldm = wg->ob * 8;
    int64_t ohw = (int64_t)g->oh * OW, plane = (int64_t)nt * ldm;
#pragma omp parallel for collapse(2) schedule(static)
    for (int t = 0; t < nt; t++)
        for (int ob = 0; ob < wg->ob; ob++) {
            int n, y0, x0, no = MIN(8, CO - ob * 8);
            tile_origin(wg, t0 + t, &n, &y0, &x0);
            const float *src = M + (int64_t)t * ldm + ob * 8;
            v8 s[4][6], y[4][4], bv = {0};
            for (int l = 0; bias && l < 8; l++)
                bv[l] = bias[ob * 8 + MIN(l, no - 1)];
            for (int b = 0; b < 6; b++) { /* s = A^T m */
                const float *c = src + b * plane;
                v8 r[4];
                at4(r, ld8(c), ld8(c + 6 * plane), ld8(c + 12 * plane), ld8(c + 18 * plane), ld8(c + 24 * plane),
                    ld8(c + 30 * plane));
                for (int a = 0; a < 4; a++)
                    s[a][b] = r[a];
            }
            for (int a = 0; a < 4; a++) { /* y = s A + bias */
                at4(y[a], s[a][0], s[a][1], s[a][2], s[a][3], s[a][4], s[a][5]);
                for (int b = 0; b < 4; b++)
                    y[a][b] += bv;
            }
            int ny = MIN(4, g->oh - y0), nx = MIN(4, OW - x0);
            float *dst = out + ((int64_t)n * CO + ob * 8) * ohw + (int64_t)y0 * OW + x0;
            if (no == 8 && nx == 4) {
                for (int a = 0; a < ny; a++)
                    store_rows(y[a], dst + a * OW, ohw);
            } else {
                for (int l = 0; l < no; l++)
                    for (int a = 0; a < ny; a++)
                        for (int b = 0; b < nx; b++)
                            dst[l * ohw + a * OW + b] = y[a][b][l];
            }
        }
}

static rg_status winograd(rg_backend *backend, const geom *g, const float *inp, const float *w, gboolean flip,
                          const float *bias, float *out)
{
    wgeom wg = winograd_geom(g);
    int ldv = wg.cb * 8, ldu = wg.ob * 8;
    int64_t Tc = MIN(MAX(WG_BUDGET / (36 * (int64_t)(ldv + ldu)), 16), wg.tiles);
    /* forward: U (36, co, ci) from weight (co, ci); input gradient: U (36, ci, co) from weight (ci, co) */
    int ldk = flip ? ldu : ldv;
    float *U = rg_cpu_workspace(backend, WS_U, sizeof(float) * 36 * (size_t)(flip ? g->ci : g->co) * ldk);
    float *V = rg_cpu_workspace(backend, WS_V, sizeof(float) * 36 * (size_t)(Tc * ldv));
    float *M = rg_cpu_workspace(backend, WS_M, sizeof(float) * 36 * (size_t)(Tc * ldu));
    float *P = rg_cpu_workspace(backend, WS_COL, sizeof(float) * (size_t)g->n * ldv * wg.ph * wg.pw);
    if (!U || !V || !M || !P)
        return RG_STATUS_OUT_OF_MEMORY;
    if (flip)
        winograd_weights(w, g->ci, g->co, TRUE, U);
    else
        winograd_weights(w, g->co, g->ci, FALSE, U);
    winograd_pack(inp, g, &wg, P);
    for (int64_t t0 = 0; t0 < wg.tiles; t0 += Tc) {
        int nt = (int)MIN(Tc, wg.tiles - t0);
        winograd_input(P, &wg, t0, nt, V);
        /* 36 independent GEMMs: one per thread at a time, each on a single-threaded BLAS */
#pragma omp parallel for schedule(dynamic)
        for (int xi = 0; xi < 36; xi++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, flip ? CblasNoTrans : CblasTrans, nt, g->co, g->ci, 1.0f,
                        V + (int64_t)xi * nt * ldv, ldv, U + (int64_t)xi * (flip ? g->ci : g->co) * ldk, ldk, 0.0f,
                        M + (int64_t)xi * nt * ldu, ldu);
        winograd_output(M, bias, g, &wg, t0, nt, out);
    }
    return RG_STATUS_OK;
}

static gboolean use_winograd(const geom *g, rg_conv2d_algo algo)
{
    if (g->k != 3 || g->stride != 1 || algo == RG_CONV2D_GEMM)
        return FALSE;
    int64_t tiles = (int64_t)g->n * ((g->oh + 3) / 4) * ((g->ow + 3) / 4);
    return algo == RG_CONV2D_WINOGRAD || tiles >= WG_MIN_TILES;
}

/* ---- kernels ---------------------------------------------------------------- */

static geom make_geom(const rg_tensor *x /* (n, ci, h, w) */, const rg_tensor *y /* (n, co, oh, ow) */,
                      const rg_tensor *w /* (co, ci, k, k) */, const rg_conv2d_params *p)
{
    return (geom){(int)x->shape[0], (int)x->shape[1], (int)x->shape[2], (int)x->shape[3], (int)y->shape[1],
                  (int)y->shape[2], (int)y->shape[3], (int)w->shape[2], p->stride,        p->padding};
}

rg_status rg_cpu_conv2d_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    const rg_conv2d_params *p = params;
    rg_tensor *out = t[0], *inp = t[1], *weight = t[2], *bias = t[3];
    geom g = make_geom(inp, out, weight, p);
    const float *b = bias ? rg_tensor_data_f32(bias) : NULL;
    if (use_winograd(&g, p->algo))
        return winograd(backend, &g, rg_tensor_data_f32(inp), rg_tensor_data_f32(weight), FALSE, b,
                        rg_tensor_data_f32(out));
    return gemm_forward(backend, &g, rg_tensor_data_f32(inp), rg_tensor_data_f32(weight), b, rg_tensor_data_f32(out));
}

rg_status rg_cpu_conv2d_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    const rg_conv2d_params *p = params;
    rg_tensor *dinp = t[0], *dweight = t[1], *dbias = t[2], *dout = t[3], *inp = t[4], *weight = t[5];
    const float *dy = rg_tensor_data_f32(dout);
    int N = (int)dout->shape[0], CO = (int)dout->shape[1];
    int64_t ohw = dout->shape[2] * dout->shape[3];
    rg_status st = RG_STATUS_OK;

    if (dbias) { /* out = ... + bias[o] */
        float *db = rg_tensor_data_f32(dbias);
#pragma omp parallel for schedule(static)
        for (int o = 0; o < CO; o++) {
            double s = 0;
            for (int n = 0; n < N; n++) {
                const float *row = dy + ((int64_t)n * CO + o) * ohw;
                float part = 0;
                for (int64_t i = 0; i < ohw; i++)
                    part += row[i];
                s += part;
            }
            db[o] = (float)s;
        }
    }
    if (!dinp && !dweight)
        return RG_STATUS_OK;
    rg_tensor *x = dinp ? dinp : inp, *w = dweight ? dweight : weight;
    geom g = make_geom(x, dout, w, p);
    if (dinp) { /* out[o][y][x] = sum_i,a,b w[o][i][a][b] inp[i][y*s+a-p][x*s+b-p] */
        /* stride 1: a 3x3 conv of dout padded by 2-p with the kernel turned 180° and transposed */
        geom gt = {N, CO, g.oh, g.ow, g.ci, g.h, g.w, 3, 1, 2 - g.pad};
        if (g.k == 3 && use_winograd(&gt, p->algo) && g.stride == 1)
            st = winograd(backend, &gt, dy, rg_tensor_data_f32(weight), TRUE, NULL, rg_tensor_data_f32(dinp));
        else
            st = gemm_dinp(backend, &g, dy, rg_tensor_data_f32(weight), rg_tensor_data_f32(dinp));
    }
    if (st == RG_STATUS_OK && dweight)
        st = gemm_dweight(backend, &g, dy, rg_tensor_data_f32(inp), rg_tensor_data_f32(dweight));
    return st;
}

/* ---- front door and backward ------------------------------------------------ */

static gboolean conv2d_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din, GError **error)
{
    rg_conv2d_params p = *rg_node_params(node, rg_conv2d_params);
    g_autoptr(rg_tensor) dy = rg_tensor_contiguous_copy(dout[0], error);
    if (!dy)
        return FALSE;
    for (int i = 0; i < 3; i++)
        if (node->in[i].needs_grad &&
            !(din[i] = rg_tensor_new_uninit(RG_DTYPE_F32, node->in[i].ndim, node->in[i].shape, error)))
            return FALSE;
    rg_tensor *t[6] = {din[0], din[1], din[2], dy, node->saved[0], node->saved[1]};
    return rg_ctx_compute(ctx, RG_OP_CONV2D_BACK, &p, t, error);
}

rg_tensor *rg_conv2d(rg_ctx *ctx, rg_tensor *x, rg_tensor *weight, rg_tensor *bias, int stride, int padding,
                     GError **error)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    if (!rg_check_ndim("conv2d", "input", x, 4, error) || !rg_check_ndim("conv2d", "weight", weight, 4, error) ||
        (bias && !rg_check_ndim("conv2d", "bias", bias, 1, error)))
        return NULL;
    g_autofree char *sx = rg_tensor_shape_string(x);
    g_autofree char *sw = rg_tensor_shape_string(weight);
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t CO = weight->shape[0], K = weight->shape[2];
    if (weight->shape[2] != weight->shape[3] || (K != 1 && K != 3)) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "conv2d: weight %s is a %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                    " kernel; only 1x1 and 3x3 kernels are supported",
                    sw, weight->shape[2], weight->shape[3]);
        return NULL;
    }
    if (rg_tensor_numel(x) == 0 || rg_tensor_numel(weight) == 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "conv2d: input %s or weight %s is empty", sx, sw);
        return NULL;
    }
    if (weight->shape[1] != C) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "conv2d: weight %s expects %" G_GINT64_FORMAT " input channels, input is %s", sw, weight->shape[1],
                    sx);
        return NULL;
    }
    if (bias && bias->shape[0] != CO) {
        g_autofree char *sb = rg_tensor_shape_string(bias);
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "conv2d: bias %s does not match the %" G_GINT64_FORMAT " output channels of weight %s", sb, CO, sw);
        return NULL;
    }
    if (stride < 1 || padding < 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT,
                    "conv2d: stride %d, padding %d for input %s (stride must be >= 1, padding >= 0)", stride, padding,
                    sx);
        return NULL;
    }
    if (H + 2 * padding < K || W + 2 * padding < K) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "conv2d: input %s with padding %d is smaller than the %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                    " kernel of weight %s",
                    sx, padding, K, K, sw);
        return NULL;
    }
    int64_t OH = (H + 2 * padding - K) / stride + 1, OW = (W + 2 * padding - K) / stride + 1;
    if (N > INT_MAX || C * H * W > INT_MAX || CO * OH * OW > INT_MAX || C * K * K * OW > INT_MAX) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "conv2d: input %s with weight %s is too large", sx, sw);
        return NULL;
    }
    g_autoptr(rg_tensor) xc = rg_tensor_contiguous_copy(x, error);
    g_autoptr(rg_tensor) wc = xc ? rg_tensor_contiguous_copy(weight, error) : NULL;
    g_autoptr(rg_tensor) bc = wc && bias ? rg_tensor_contiguous_copy(bias, error) : NULL;
    if (!wc || (bias && !bc))
        return NULL;
    int64_t shape[4] = {N, CO, OH, OW};
    rg_tensor *out = rg_tensor_new_uninit(RG_DTYPE_F32, 4, shape, error);
    rg_conv2d_params p = {.stride = stride, .padding = padding, .algo = RG_CONV2D_AUTO};
    rg_tensor *t[4] = {out, xc, wc, bc};
    if (!out || !rg_ctx_compute(ctx, RG_OP_CONV2D, &p, t, error)) {
        g_clear_pointer(&out, rg_tensor_unref);
        return NULL;
    }
    rg_tensor *inputs[3] = {x, weight, bias};
    if (rg_autograd_wants(ctx, inputs, 3)) {
        rg_node *node = rg_autograd_record(ctx, "conv2d", conv2d_backward, inputs, 3, &out, 1);
        /* frozen weights (guidance): keep only the weight, not the activation */
        if (node->in[1].needs_grad)
            rg_node_save(node, 0, xc);
        if (node->in[0].needs_grad)
            rg_node_save(node, 1, wc);
        *rg_node_params(node, rg_conv2d_params) = p;
    }
    return out;
}
