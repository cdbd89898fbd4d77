/* readout_picture.c — a readout tensor as an RGB picture.
 *
 * 3 channels (pose, edges, normals shown as colour) map directly from
 * [lo, hi]; 1 channel (depth) becomes grey. Any other count (the
 * 384-dimensional appearance/correspondence readouts) is shown by its first
 * three principal components over all pixels: centre, covariance C x C
 * (cblas_dsyrk over blocks of pixels), top three eigenvectors by subspace
 * iteration with a Rayleigh-Ritz step (Jacobi on the small matrix), each
 * component's sign fixed so that its largest loading is positive, and each
 * projection stretched from its own min..max to 0..255. Deterministic: fixed
 * start vectors, no randomness. Non-finite readout values count as 0.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "image/image_impl.h"

#define PCA_COMPONENTS 3
#define PCA_BLOCK 8       /* subspace size: a few more than 3 speeds convergence */
#define PCA_MAX_ITERS 200
#define PCA_CHUNK 1024    /* pixels per dsyrk call */

/* Eigen-decomposition of the symmetric n x n @a (destroyed) by cyclic Jacobi:
 * eigenvalues in @val, eigenvectors in the columns of @vec. */
static void jacobi_eigen(double *a, int n, double *val, double *vec)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            vec[i * n + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0, diag = 0.0;
        for (int i = 0; i < n; i++) {
            diag += a[i * n + i] * a[i * n + i];
            for (int j = i + 1; j < n; j++)
                off += a[i * n + j] * a[i * n + j];
        }
        if (off <= 1e-30 * diag || off == 0.0)
            break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (apq == 0.0)
                    continue;
                double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int k = 0; k < n; k++) { /* columns p, q */
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) { /* rows p, q */
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < n; k++) {
                    double vkp = vec[k * n + p], vkq = vec[k * n + q];
                    vec[k * n + p] = c * vkp - s * vkq;
                    vec[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < n; i++)
        val[i] = a[i * n + i];
}

/* Orthonormalises the k vectors (rows of length c) of @q by modified
 * Gram-Schmidt; a vector that vanishes (A of rank < k) becomes zero. */
static void orthonormalise(double *q, int c, int k)
{
    for (int j = 0; j < k; j++) {
        double *qj = q + (size_t)j * c;
        for (int i = 0; i < j; i++) {
            const double *qi = q + (size_t)i * c;
            double d = 0.0;
            for (int r = 0; r < c; r++)
                d += qi[r] * qj[r];
            for (int r = 0; r < c; r++)
                qj[r] -= d * qi[r];
        }
        double norm = 0.0;
        for (int r = 0; r < c; r++)
            norm += qj[r] * qj[r];
        norm = sqrt(norm);
        double inv = norm > 1e-150 ? 1.0 / norm : 0.0;
        for (int r = 0; r < c; r++)
            qj[r] *= inv;
    }
}

/* z = A q for the k vectors (rows of length c) of @q, A symmetric c x c
 * (full): row by row of A, each row of z an axpy that vectorises. Plain
 * loops: BLAS threads cost more than this small product when the machine
 * is busy, and a loop gives the same bits on any number of threads. */
static void sym_times(const double *a, int c, int k, const double *q, double *z)
{
    memset(z, 0, sizeof(double) * c * k);
    for (int i = 0; i < c; i++) {
        const double *ai = a + (size_t)i * c; /* row i = column i */
        for (int j = 0; j < k; j++) {
            double s = q[(size_t)j * c + i];
            double *zj = z + (size_t)j * c;
            for (int r = 0; r < c; r++)
                zj[r] += s * ai[r];
        }
    }
}

/* @x (k vectors of length c) <- the combinations x' j = sum_i x i vec[i][order[j]]; @tmp is scratch. */
static void rotate(double *x, int c, int k, const double *vec, const int *order, double *tmp)
{
    memcpy(tmp, x, sizeof(double) * c * k);
    memset(x, 0, sizeof(double) * c * k);
    for (int j = 0; j < k; j++)
        for (int i = 0; i < k; i++) {
            double s = vec[i * k + order[j]];
            for (int r = 0; r < c; r++)
                x[(size_t)j * c + r] += s * tmp[(size_t)i * c + r];
        }
}

/* Given orthonormal @q and @z = A q (k vectors of length c each), rotates
 * both onto the Ritz vectors of A in span(q), by decreasing Ritz value (into
 * @val), so that z stays A q. @tmp (k x c) is scratch. */
static void rayleigh_ritz(int c, int k, double *q, double *z, double *val, double *tmp)
{
    double b[PCA_BLOCK * PCA_BLOCK], vec[PCA_BLOCK * PCA_BLOCK], ritz[PCA_BLOCK];
    for (int i = 0; i < k; i++) // b = q^T A q (k, k)
        for (int j = 0; j < k; j++) {
            double s = 0.0;
            for (int r = 0; r < c; r++)
                s += q[(size_t)i * c + r] * z[(size_t)j * c + r];
            b[i * k + j] = s;
        }
    for (int i = 0; i < k; i++) /* symmetric up to rounding: make it exactly so */
        for (int j = 0; j < i; j++)
            b[i * k + j] = b[j * k + i] = 0.5 * (b[i * k + j] + b[j * k + i]);
    jacobi_eigen(b, k, ritz, vec);
    int order[PCA_BLOCK] = {0};
    for (int j = 0; j < k; j++)
        order[j] = j;
    for (int i = 1; i < k; i++)
        for (int j = i; j > 0 && ritz[order[j]] > ritz[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    rotate(q, c, k, vec, order, tmp);
    rotate(z, c, k, vec, order, tmp);
    for (int j = 0; j < k; j++)
        val[j] = ritz[order[j]];
}

/* The top @k eigenvectors of the symmetric PSD c x c @a (row-major, full),
 * as the rows of the k x c @q, by decreasing eigenvalue: subspace iteration
 * q <- orth(A q), with a Rayleigh-Ritz step each time to watch the top Ritz
 * values. Stops when they move by less than 1e-8 of the largest, or after
 * PCA_MAX_ITERS (a flat spectrum, where the components are not defined
 * anyway; the result is still deterministic). Returns FALSE when out of
 * memory. */
static gboolean top_eigenvectors(const double *a, int c, int k, double *q)
{
    double *z = g_try_new(double, (size_t)c * k), *tmp = g_try_new(double, (size_t)c * k);
    double val[PCA_BLOCK], prev[PCA_BLOCK] = {0};
    if (!z || !tmp) {
        g_free(z);
        g_free(tmp);
        return FALSE;
    }
    /* Fixed, dense start vectors (a quasi-random sequence) so that no
     * eigenvector is orthogonal to the start by accident of structure. */
    for (int j = 0; j < k; j++)
        for (int r = 0; r < c; r++)
            q[(size_t)j * c + r] = sin(1.0 + 12.9898 * (r + 1) + 78.233 * (j + 1) * (r % 7 + 1));
    orthonormalise(q, c, k);
    sym_times(a, c, k, q, z);
    for (int it = 0; it < PCA_MAX_ITERS; it++) {
        rayleigh_ritz(c, k, q, z, val, tmp);
        double change = 0.0;
        for (int j = 0; j < MIN(k, PCA_COMPONENTS); j++) {
            change = MAX(change, fabs(val[j] - prev[j]));
            prev[j] = val[j];
        }
        if (it > 0 && change <= 1e-8 * fabs(val[0]))
            break;
        memcpy(q, z, sizeof(double) * c * k); /* q <- orth(A q) */
        orthonormalise(q, c, k);
        sym_times(a, c, k, q, z);
    }
    g_free(z);
    g_free(tmp);
    return TRUE;
}

static inline double finite_or_zero(float v)
{
    return isfinite(v) ? v : 0.0;
}

/* Pixels [i0, i0 + rows) centred, channel by channel into the c x rows @a
 * (row-major): reads each channel's run of pixels in order. @off (rows)
 * is scratch for the pixels' offsets within a plane. */
static void fill_chunk(const rg_image_planes *p, const double *mean, int64_t i0, int rows, double *a, int64_t *off)
{
    for (int r = 0; r < rows; r++)
        off[r] = (i0 + r) / p->w * p->sh + (i0 + r) % p->w * p->sw;
#pragma omp parallel for schedule(static) if ((int64_t)p->c * rows > 65536)
    for (int ch = 0; ch < p->c; ch++) {
        const float *plane = p->data + ch * p->sc;
        double *out = a + (size_t)ch * rows;
        for (int r = 0; r < rows; r++)
            out[r] = finite_or_zero(plane[off[r]]) - mean[ch];
    }
}

static rg_image *principal_components(const rg_image_planes *p, GError **error)
{
    int c = p->c, h = p->h, w = p->w;
    int64_t n = (int64_t)h * w;
    int k = MIN(c, PCA_BLOCK), m = MIN(k, PCA_COMPONENTS);
    double *mean = g_try_new0(double, c);
    double *cov = g_try_new0(double, (size_t)c * c);
    double *chunk = g_try_new(double, (size_t)PCA_CHUNK * c);
    double *q = g_try_new(double, (size_t)c * k);
    double *pk = g_try_new(double, (size_t)PCA_CHUNK * k);
    int64_t *off = g_try_new(int64_t, PCA_CHUNK);
    float *proj = g_try_new0(float, (size_t)n * PCA_COMPONENTS);
    rg_image *img = NULL;
    gboolean ok = mean && cov && chunk && q && pk && off && proj;
    if (ok) {
#pragma omp parallel for schedule(static) if ((int64_t)c * n > 65536)
        for (int ch = 0; ch < c; ch++) {
            double s = 0.0;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    s += finite_or_zero(rg_image_planes_at(p, ch, y, x));
            mean[ch] = s / (double)n;
        }
        // covariance (c, c), upper triangle, over blocks of centred pixels (c, rows)
        for (int64_t i0 = 0; i0 < n; i0 += PCA_CHUNK) {
            int rows = (int)MIN((int64_t)PCA_CHUNK, n - i0);
            fill_chunk(p, mean, i0, rows, chunk, off);
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, c, rows, 1.0 / (double)n, chunk, rows, 1.0, cov, c);
        }
        for (int i = 0; i < c; i++) /* dsyrk filled the upper triangle */
            for (int j = 0; j < i; j++)
                cov[(size_t)i * c + j] = cov[(size_t)j * c + i];
        ok = top_eigenvectors(cov, c, k, q);
    }
    if (ok) {
        /* The sign of an eigenvector is arbitrary: make its largest loading
         * positive so that the same readout always gives the same colours. */
        for (int j = 0; j < m; j++) {
            double *qj = q + (size_t)j * c;
            int best = 0;
            for (int r = 1; r < c; r++)
                if (fabs(qj[r]) > fabs(qj[best]))
                    best = r;
            if (qj[best] < 0)
                for (int r = 0; r < c; r++)
                    qj[r] = -qj[r];
        }
        double lo[PCA_COMPONENTS], hi[PCA_COMPONENTS];
        for (int j = 0; j < PCA_COMPONENTS; j++) {
            lo[j] = G_MAXDOUBLE;
            hi[j] = -G_MAXDOUBLE;
        }
        // projections (rows, k) = chunk^T (rows, c) x q^T (c, k), block by block
        for (int64_t i0 = 0; i0 < n; i0 += PCA_CHUNK) {
            int rows = (int)MIN((int64_t)PCA_CHUNK, n - i0);
            fill_chunk(p, mean, i0, rows, chunk, off);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, rows, k, c, 1.0, chunk, rows, q, c, 0.0, pk, k);
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < m; j++) {
                    double v = pk[(size_t)r * k + j];
                    proj[(i0 + r) * PCA_COMPONENTS + j] = (float)v;
                    lo[j] = MIN(lo[j], v);
                    hi[j] = MAX(hi[j], v);
                }
        }
        img = rg_image_new(w, h, 3, error);
        if (img) {
            double range0 = m > 0 ? hi[0] - lo[0] : 0.0;
            for (int j = 0; j < PCA_COMPONENTS; j++) {
                /* A component without variance (fewer than 3 channels, or
                 * rank-deficient readouts) stays black instead of showing
                 * rounding noise stretched to full range. */
                double range = j < m ? hi[j] - lo[j] : 0.0;
                double scale = range > 1e-6 * range0 && range > 0.0 ? 255.0 / range : 0.0;
                for (int64_t i = 0; i < n; i++) {
                    double v = scale > 0.0 ? (proj[i * PCA_COMPONENTS + j] - lo[j]) * scale : 0.0;
                    img->data[i * 3 + j] = v >= 254.5 ? 255 : v > 0.0 ? (guint8)(v + 0.5) : 0;
                }
            }
        }
    } else {
        g_set_error(error, RG_ERROR, RG_ERROR_OUT_OF_MEMORY,
                    "image_from_readout: out of memory for the principal components of %d channels", c);
    }
    g_free(mean);
    g_free(cov);
    g_free(chunk);
    g_free(q);
    g_free(pk);
    g_free(off);
    g_free(proj);
    return img;
}

rg_image *rg_image_from_readout(rg_tensor *readout, float lo, float hi, GError **error)
{
    rg_image_planes p;
    if (!rg_image_planes_from_tensor("image_from_readout", readout, &p, error))
        return NULL;
    if (p.c != 1 && p.c != 3)
        return principal_components(&p, error);
    GError *local = NULL;
    g_autoptr(rg_image) direct = rg_image_from_tensor(readout, lo, hi, &local);
    if (!direct) {
        g_set_error(error, RG_ERROR, local->code, "image_from_readout: %s", local->message);
        g_error_free(local);
        return NULL;
    }
    return p.c == 3 ? g_steal_pointer(&direct) : rg_image_convert(direct, 3, error);
}
