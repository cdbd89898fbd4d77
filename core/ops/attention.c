/* attention.c — rg_attention and rg_attention_causal: multi-head
 * scaled-dot-product attention without a mask or with a causal one,
 * memory-efficient on the CPU (FlashAttention-2 style).
 *
 * Forward: one OpenMP task per (batch, head, block of BQ queries) walks the
 * keys in blocks of BK: S = scale * Q K^T (cblas_sgemm), an online softmax
 * (running row max m and row sum l; the output so far is rescaled by
 * exp(m_old - m_new) when the max grows), O += P V. At the end O /= l, and
 * lse = m + log(l) is kept for the backward. Per thread this needs one BQ x BK
 * block, never the Tq x Tk matrix. exp is vm_exp_neg and the row max vm_max
 * (base/vmath.h), in loops that GCC and clang vectorize.
 *
 * Backward: one OpenMP task per (batch, head) recomputes P = exp(S - lse)
 * block by block and writes that head's dQ, dK, dV directly, without
 * synchronization. When the heads do not share out evenly among the threads,
 * each head's query blocks are split further and the splits' dK, dV parts
 * are summed at the end. The GEMMs inside the parallel loops run
 * single-threaded.
 *
 * Causal mask (Tq == Tk, query i sees keys 0..i): a query block stops at
 * the key block holding its last query, so blocks above the diagonal cost
 * nothing; inside a diagonal block the masked scores are left out of the
 * row max and sum and their P is set to 0, in the forward and the backward.
 * The forward hands out its uneven tasks dynamically, the backward splits a
 * head's query blocks by work instead of by count and starts dK, dV at 0.
 *
 * Heads sit side by side in the channels (head h on [h*D, (h+1)*D)), so a
 * head's Q, K, V, O are plain matrices with a row stride of C = H*D and need
 * no transposes.
 */
#include "ops/attention.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "autograd/tape_impl.h"
#include "base/vmath.h"
#include "tensor/backend_impl.h"
#include "tensor/context.h"

#define BQ 128 /* queries per block */
#define BK 128 /* keys per block */

/* Floats rounded up to whole cache lines, so per-thread blocks stay 64-byte aligned. */
static size_t lines(int64_t nfloats)
{
    return (size_t)((nfloats + 15) / 16 * 16);
}

/* s[c] = e^(s[c] - m) for c < n, where m is the row maximum (forward) or
 * the row's log-sum-exp (backward), so s[c] - m is at most a rounding error
 * above 0 (vm_exp_neg holds up to 88.7): exactly 0 below -87.3 and for -inf,
 * NaN where s[c] or m is NaN or s[c] = m = +-inf. Returns their sum. */
static float exp_shift(float *s, int n, float m)
{
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int c = 0; c < n; c++) {
        s[c] = vm_exp_neg(s[c] - m);
        sum += s[c];
    }
    return sum;
}

/* ---- forward kernel ------------------------------------------------------- */

/* The keys query block [i0, i0 + nq) looks at: all of them, or with a causal
 * mask those up to its last query (Tq == Tk). */
static int64_t key_end(int causal, int64_t i0, int nq, int64_t Tk)
{
    return causal ? MIN(Tk, i0 + nq) : Tk;
}

/* How many keys of the block starting at j0 (of nk) query i may see. */
static int visible(int causal, int64_t i, int64_t j0, int nk)
{
    return causal ? (int)CLAMP(i - j0 + 1, 0, nk) : nk;
}

typedef struct {
    int64_t Tq, Tk, C, H, D; /* shapes */
    int64_t bq, bk;          /* block sizes */
    float scale;
    int causal;
} attn_dims;

/* The forward of head h of batch b for the queries [i0, i0 + nq): writes
 * their rows of out and lse. S: (bq, bk), m, l: (bq) scratch of the thread. */
static inline void forward_block(const attn_dims *z, int64_t b, int64_t h, int64_t i0, int nq, const float *q,
                                 const float *k, const float *v, float *out, float *lse, float *S, float *m, float *l)
{
    int64_t Tq = z->Tq, Tk = z->Tk, C = z->C, D = z->D, bk = z->bk;
    const float *Qi = q + (b * Tq + i0) * C + h * D; // (nq, D), rows C apart
    float *Oi = out + (b * Tq + i0) * C + h * D;     // (nq, D), rows C apart
    int64_t jend = key_end(z->causal, i0, nq, Tk);
    for (int64_t j0 = 0; j0 < jend; j0 += bk) {
        int nk = (int)MIN(bk, jend - j0);
        const float *Kj = k + (b * Tk + j0) * C + h * D; // (nk, D)
        const float *Vj = v + (b * Tk + j0) * C + h * D; // (nk, D)
        // S = scale * Qi Kj^T
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, (int)D, z->scale, Qi, (int)C, Kj, (int)C, 0.0f, S,
                    (int)bk);
        for (int r = 0; r < nq; r++) {
            float *s = S + r * bk;
            int nv = visible(z->causal, i0 + r, j0, nk); /* masked keys get P = 0 */
            if (nv < nk)
                memset(s + MAX(nv, 0), 0, sizeof(float) * (size_t)(nk - MAX(nv, 0)));
            if (nv <= 0) /* j0 > 0 here: key 0 is in every row's first block */
                continue;
            float mx = vm_max(s, nv); // NaN entries skipped; exp_shift brings them back
            float m_new = j0 == 0 || mx > m[r] ? mx : m[r];
            float sum = exp_shift(s, nv, m_new);
            if (j0 == 0) {
                l[r] = sum;
            } else {
                // earlier blocks were weighted by exp(S - m_old)
                float alpha = vm_exp_neg(m[r] - m_new);
                l[r] = l[r] * alpha + sum;
                if (alpha != 1.0f) {
                    float *o = Oi + r * C;
#pragma omp simd
                    for (int64_t d = 0; d < D; d++)
                        o[d] *= alpha;
                }
            }
            m[r] = m_new;
        }
        // Oi (+)= P Vj
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, (int)D, nk, 1.0f, S, (int)bk, Vj, (int)C,
                    j0 == 0 ? 0.0f : 1.0f, Oi, (int)C);
    }
    float *lse_i = lse + (b * z->H + h) * Tq + i0; // (nq)
    for (int r = 0; r < nq; r++) {
        float inv = 1.0f / l[r], *o = Oi + r * C;
#pragma omp simd
        for (int64_t d = 0; d < D; d++)
            o[d] *= inv;
        lse_i[r] = m[r] + logf(l[r]);
    }
}

/* Task (batch, head, query block) of the forward, on the calling thread's
 * part of the workspace @ws. */
static inline void forward_task(const attn_dims *z, int64_t task, int64_t nqb, float *ws, size_t per_thread,
                                const float *q, const float *k, const float *v, float *out, float *lse)
{
    int64_t b = task / (z->H * nqb), h = task / nqb % z->H, i0 = task % nqb * z->bq;
    float *S = ws + (size_t)omp_get_thread_num() * per_thread; // (bq, bk)
    float *m = S + lines(z->bq * z->bk);                       // (bq) running row max
    float *l = m + lines(z->bq);                               // (bq) running row sum
    forward_block(z, b, h, i0, (int)MIN(z->bq, z->Tq - i0), q, k, v, out, lse, S, m, l);
}

rg_status rg_cpu_attention_forward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    const rg_attention_params *p = params;
    float *out = rg_tensor_data_f32(t[0]);     // (B, Tq, C)
    float *lse = rg_tensor_data_f32(t[1]);     // (B, H, Tq)
    const float *q = rg_tensor_data_f32(t[2]); // (B, Tq, C)
    const float *k = rg_tensor_data_f32(t[3]); // (B, Tk, C)
    const float *v = rg_tensor_data_f32(t[4]); // (B, Tk, C)
    int64_t B = t[2]->shape[0], Tq = t[2]->shape[1], C = t[2]->shape[2], Tk = t[3]->shape[1];
    int64_t H = p->heads, D = C / H;
    if (Tk == 0 && B * Tq * C > 0) /* a softmax over nothing; the front door refuses it */
        return RG_STATUS_BAD_SHAPE;
    if (p->causal && Tq != Tk)
        return RG_STATUS_BAD_SHAPE;
    if (B * Tq * C == 0)
        return RG_STATUS_OK;

    attn_dims z = {.Tq = Tq, .Tk = Tk, .C = C, .H = H, .D = D, .bq = BQ, .bk = MIN(BK, Tk), .scale = p->scale,
                   .causal = p->causal};
    int64_t nqb = (Tq + z.bq - 1) / z.bq;
    size_t per_thread = lines(z.bq * z.bk) + 2 * lines(z.bq); /* S, m, l */
    float *ws = rg_cpu_workspace(backend, 0, (size_t)omp_get_max_threads() * per_thread * sizeof(float));
    if (!ws)
        return RG_STATUS_OUT_OF_MEMORY;

    if (!z.causal) {
#pragma omp parallel for schedule(static)
        for (int64_t task = 0; task < B * H * nqb; task++)
            forward_task(&z, task, nqb, ws, per_thread, q, k, v, out, lse);
    } else {
        /* query block i costs i + 1 key blocks: hand them out as threads free up */
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t task = 0; task < B * H * nqb; task++)
            forward_task(&z, task, nqb, ws, per_thread, q, k, v, out, lse);
    }
    return RG_STATUS_OK;
}

/* ---- backward kernel ------------------------------------------------------ */

/* dst[d] = sum of parts[i * stride + d] over i < n, for d < D. */
static void sum_parts(float *dst, const float *parts, int64_t n, size_t stride, int64_t D)
{
    memcpy(dst, parts, sizeof(float) * (size_t)D);
    for (int64_t i = 1; i < n; i++) {
        const float *src = parts + i * stride;
#pragma omp simd
        for (int64_t d = 0; d < D; d++)
            dst[d] += src[d];
    }
}

static int64_t gcd(int64_t a, int64_t b)
{
    while (b) {
        int64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* The backward of head h of batch b over its query blocks [ib0, ib1):
 * writes the rows of dQ of those blocks (when dq), and overwrites dK, dV
 * (Tk, D) with row stride ldkv with the sum over those blocks (when given).
 * P, dS: (bq, bk) and Dr: (bq) scratch of the calling thread. With a causal
 * mask the blocks do not all reach every key block, so dK, dV start zeroed. */
static void backward_blocks(const attn_dims *z, int64_t b, int64_t h, int64_t ib0, int64_t ib1, const float *q,
                            const float *k, const float *v, const float *out, const float *lse, const float *dout,
                            float *dq, float *dK, float *dV, int64_t ldkv, float *P, float *dS, float *Dr)
{
    int64_t Tq = z->Tq, Tk = z->Tk, C = z->C, D = z->D, bq = z->bq, bk = z->bk;
    float scale = z->scale;
    gboolean need_ds = dq || dK; /* dV needs P only */
    if (z->causal)
        for (int64_t j = 0; j < Tk; j++) {
            if (dK)
                memset(dK + j * ldkv, 0, sizeof(float) * (size_t)D);
            if (dV)
                memset(dV + j * ldkv, 0, sizeof(float) * (size_t)D);
        }
    for (int64_t ib = ib0; ib < ib1; ib++) {
        int64_t i0 = ib * bq;
        int nq = (int)MIN(bq, Tq - i0);
        const float *Qi = q + (b * Tq + i0) * C + h * D;     // (nq, D), rows C apart
        const float *dOi = dout + (b * Tq + i0) * C + h * D; // (nq, D)
        const float *Oi = out + (b * Tq + i0) * C + h * D;   // (nq, D)
        const float *lse_i = lse + (b * z->H + h) * Tq + i0; // (nq)
        float *dQi = dq ? dq + (b * Tq + i0) * C + h * D : NULL;
        float beta_kv = ib == ib0 && !z->causal ? 0.0f : 1.0f; /* the first block overwrites dK, dV */
        if (need_ds)
            for (int r = 0; r < nq; r++) {
                float s = 0.0f;
#pragma omp simd reduction(+ : s)
                for (int64_t d = 0; d < D; d++)
                    s += dOi[r * C + d] * Oi[r * C + d];
                Dr[r] = s;
            }
        int64_t jend = key_end(z->causal, i0, nq, Tk);
        for (int64_t j0 = 0; j0 < jend; j0 += bk) {
            int nk = (int)MIN(bk, jend - j0);
            const float *Kj = k + (b * Tk + j0) * C + h * D; // (nk, D)
            const float *Vj = v + (b * Tk + j0) * C + h * D; // (nk, D)
            // forward: P = exp(scale * Qi Kj^T - lse), 0 where masked
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, (int)D, scale, Qi, (int)C, Kj, (int)C, 0.0f, P,
                        (int)bk);
            for (int r = 0; r < nq; r++) {
                int nv = MAX(visible(z->causal, i0 + r, j0, nk), 0);
                exp_shift(P + r * bk, nv, lse_i[r]);
                if (nv < nk)
                    memset(P + r * bk + nv, 0, sizeof(float) * (size_t)(nk - nv));
            }
            // forward: O = P V  =>  dV += P^T dO
            if (dV)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, (int)D, nq, 1.0f, P, (int)bk, dOi, (int)C,
                            beta_kv, dV + j0 * ldkv, (int)ldkv);
            if (!need_ds)
                continue;
            // dP = dO V^T; softmax: dS = P * (dP - rowsum(dO * O))
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, (int)D, 1.0f, dOi, (int)C, Vj, (int)C, 0.0f,
                        dS, (int)bk);
            for (int r = 0; r < nq; r++) {
                float *ds = dS + r * bk, dr = Dr[r];
                const float *pr = P + r * bk;
#pragma omp simd
                for (int c = 0; c < nk; c++)
                    ds[c] = pr[c] * (ds[c] - dr);
            }
            // forward: S = scale * Q K^T  =>  dK += scale * dS^T Q, dQ += scale * dS K
            if (dK)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, (int)D, nq, scale, dS, (int)bk, Qi, (int)C,
                            beta_kv, dK + j0 * ldkv, (int)ldkv);
            if (dQi)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, (int)D, nk, scale, dS, (int)bk, Kj, (int)C,
                            j0 == 0 ? 0.0f : 1.0f, dQi, (int)C);
        }
    }
}

/* The first query block of split s of nqb blocks in @splits parts: equal
 * counts, or with a causal mask (block i costs i + 1 key blocks) about equal
 * work, the smallest i with i (i + 1) >= s nqb (nqb + 1) / splits. */
static int64_t split_start(int64_t s, int64_t splits, int64_t nqb, int causal)
{
    if (!causal)
        return s * nqb / splits;
    int64_t i = 0;
    while (i < nqb && i * (i + 1) * splits < s * nqb * (nqb + 1))
        i++;
    return i;
}

rg_status rg_cpu_attention_backward(rg_backend *backend, const void *params, rg_tensor *const *t)
{
    const rg_attention_params *p = params;
    float *dq = t[0] ? rg_tensor_data_f32(t[0]) : NULL; // (B, Tq, C) or NULL
    float *dk = t[1] ? rg_tensor_data_f32(t[1]) : NULL; // (B, Tk, C) or NULL
    float *dv = t[2] ? rg_tensor_data_f32(t[2]) : NULL; // (B, Tk, C) or NULL
    const float *dout = rg_tensor_data_f32(t[3]);       // (B, Tq, C)
    const float *q = rg_tensor_data_f32(t[4]);          // (B, Tq, C)
    const float *k = rg_tensor_data_f32(t[5]);          // (B, Tk, C)
    const float *v = rg_tensor_data_f32(t[6]);          // (B, Tk, C)
    const float *out = rg_tensor_data_f32(t[7]);        // (B, Tq, C)
    const float *lse = rg_tensor_data_f32(t[8]);        // (B, H, Tq)
    int64_t B = t[4]->shape[0], Tq = t[4]->shape[1], C = t[4]->shape[2], Tk = t[5]->shape[1];
    int64_t H = p->heads, D = C / H;
    if (Tq == 0 || Tk == 0) { /* nothing flows back */
        if (dq)
            memset(dq, 0, sizeof(float) * (size_t)(B * Tq * C));
        if (dk)
            memset(dk, 0, sizeof(float) * (size_t)(B * Tk * C));
        if (dv)
            memset(dv, 0, sizeof(float) * (size_t)(B * Tk * C));
        return RG_STATUS_OK;
    }
    if (B * C == 0)
        return RG_STATUS_OK;

    if (p->causal && Tq != Tk)
        return RG_STATUS_BAD_SHAPE;
    attn_dims z = {.Tq = Tq, .Tk = Tk, .C = C, .H = H, .D = D, .bq = MIN(BQ, Tq), .bk = MIN(BK, Tk), .scale = p->scale,
                   .causal = p->causal};
    int threads = omp_get_max_threads();
    int64_t nqb = (Tq + z.bq - 1) / z.bq;
    int64_t splits = MIN(nqb, threads / gcd(B * H, threads)); /* B*H*splits tasks, a multiple of threads */
    size_t per_thread = 2 * lines(z.bq * z.bk) + lines(z.bq); /* P, dS, Dr */
    float *ws = rg_cpu_workspace(backend, 0, (size_t)threads * per_thread * sizeof(float));
    /* with splits > 1: dK, dV of every (batch, head, split), (B, H, splits, Tk, D) each */
    size_t part = (size_t)(Tk * D), parts_len = (size_t)(B * H * splits) * part;
    float *parts = NULL;
    if (splits > 1 && (dk || dv))
        parts = rg_cpu_workspace(backend, 1, ((dk ? parts_len : 0) + (dv ? parts_len : 0)) * sizeof(float));
    if (!ws || (splits > 1 && (dk || dv) && !parts))
        return RG_STATUS_OUT_OF_MEMORY;
    float *dK_parts = dk ? parts : NULL;
    float *dV_parts = dv ? (dk ? parts + parts_len : parts) : NULL;

#pragma omp parallel
    {
        float *P = ws + (size_t)omp_get_thread_num() * per_thread; // (bq, bk)
        float *dS = P + lines(z.bq * z.bk);                        // (bq, bk)
        float *Dr = dS + lines(z.bq * z.bk);                       // (bq) rowsum(dO * O)
#pragma omp for schedule(static)
        for (int64_t task = 0; task < B * H * splits; task++) {
            int64_t b = task / (H * splits), h = task / splits % H, s = task % splits;
            float *dK = NULL, *dV = NULL; // (Tk, D), rows ldkv apart
            int64_t ldkv = splits == 1 ? C : D;
            if (dk)
                dK = splits == 1 ? dk + b * Tk * C + h * D : dK_parts + task * part;
            if (dv)
                dV = splits == 1 ? dv + b * Tk * C + h * D : dV_parts + task * part;
            backward_blocks(&z, b, h, split_start(s, splits, nqb, z.causal),
                            split_start(s + 1, splits, nqb, z.causal), q, k, v, out, lse, dout, dq, dK, dV, ldkv, P,
                            dS, Dr);
        }
        if (splits > 1 && (dk || dv)) {
            // (implicit barrier) dK, dV rows = the sums of the splits' parts
#pragma omp for schedule(static)
            for (int64_t row = 0; row < B * H * Tk; row++) {
                int64_t b = row / (H * Tk), h = row / Tk % H, j = row % Tk;
                size_t first = (size_t)((b * H + h) * splits) * part + (size_t)(j * D);
                if (dk)
                    sum_parts(dk + (b * Tk + j) * C + h * D, dK_parts + first, splits, part, D);
                if (dv)
                    sum_parts(dv + (b * Tk + j) * C + h * D, dV_parts + first, splits, part, D);
            }
        }
    }
    return RG_STATUS_OK;
}

/* ---- front door ----------------------------------------------------------- */

static gboolean attention_backward(rg_ctx *ctx, rg_node *node, rg_tensor *const *dout, rg_tensor **din, GError **error)
{
    const rg_attention_params *p = rg_node_params(node, rg_attention_params);
    rg_tensor *q = node->saved[0], *k = node->saved[1], *v = node->saved[2];
    rg_tensor *out = node->saved[3], *lse = node->saved[4];
    rg_tensor *inputs[3] = {q, k, v};
    rg_tensor *grads[3] = {NULL, NULL, NULL};
    g_autoptr(rg_tensor) g = rg_tensor_contiguous_copy(dout[0], error); // (B, Tq, C)
    if (!g)
        return FALSE;
    for (int i = 0; i < 3; i++)
        if (node->in[i].needs_grad && !(grads[i] = rg_tensor_new_uninit(RG_DTYPE_F32, 3, inputs[i]->shape, error)))
            goto fail;
    rg_tensor *args[9] = {grads[0], grads[1], grads[2], g, q, k, v, out, lse};
    if ((grads[0] || grads[1] || grads[2]) && !rg_ctx_compute(ctx, RG_OP_ATTENTION_BACK, p, args, error))
        goto fail;
    for (int i = 0; i < 3; i++)
        din[i] = grads[i];
    return TRUE;
fail:
    for (int i = 0; i < 3; i++)
        g_clear_pointer(&grads[i], rg_tensor_unref);
    return FALSE;
}

static rg_tensor *attention(rg_ctx *ctx, rg_tensor *q, rg_tensor *k, rg_tensor *v, int heads, float scale,
                            gboolean causal, GError **error)
{
    g_return_val_if_fail(ctx, NULL);
    if (!rg_check_ndim("attention", "q", q, 3, error) || !rg_check_ndim("attention", "k", k, 3, error) ||
        !rg_check_ndim("attention", "v", v, 3, error))
        return NULL;
    g_autofree char *sq = rg_tensor_shape_string(q);
    g_autofree char *sk = rg_tensor_shape_string(k);
    g_autofree char *sv = rg_tensor_shape_string(v);
    int64_t C = q->shape[2];
    if (heads < 1) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "attention: %d heads, need at least 1 (q %s)", heads, sq);
        return NULL;
    }
    if (C == 0 || C % heads != 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "attention: q %s has %" G_GINT64_FORMAT " channels, not a positive multiple of %d heads", sq, C,
                    heads);
        return NULL;
    }
    if (!rg_tensor_same_shape(k, v)) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "attention: k %s and v %s must have the same shape", sk, sv);
        return NULL;
    }
    if (k->shape[0] != q->shape[0] || k->shape[2] != C) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "attention: k and v %s do not fit q %s (same batch and channels expected)", sk, sq);
        return NULL;
    }
    if (k->shape[1] == 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE, "attention: k %s has no tokens to attend to", sk);
        return NULL;
    }
    if (causal && k->shape[1] != q->shape[1]) {
        g_set_error(error, RG_ERROR, RG_ERROR_SHAPE,
                    "attention: a causal mask needs as many queries as keys, q is %s and k %s", sq, sk);
        return NULL;
    }
    if (!isfinite(scale)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "attention: scale %g is not finite (q %s)", scale, sq);
        return NULL;
    }
    rg_attention_params p = {
        .heads = heads, .scale = scale > 0 ? scale : 1.0f / sqrtf((float)(C / heads)), .causal = causal ? 1 : 0};

    g_autoptr(rg_tensor) qc = rg_tensor_contiguous_copy(q, error);
    g_autoptr(rg_tensor) kc = qc ? rg_tensor_contiguous_copy(k, error) : NULL;
    g_autoptr(rg_tensor) vc = kc ? rg_tensor_contiguous_copy(v, error) : NULL;
    if (!vc)
        return NULL;
    int64_t lse_shape[3] = {q->shape[0], heads, q->shape[1]};
    g_autoptr(rg_tensor) lse = rg_tensor_new_uninit(RG_DTYPE_F32, 3, lse_shape, error);   // (B, H, Tq)
    rg_tensor *out = lse ? rg_tensor_new_uninit(RG_DTYPE_F32, 3, q->shape, error) : NULL; // (B, Tq, C)
    if (!out)
        return NULL;
    rg_tensor *args[5] = {out, lse, qc, kc, vc};
    if (!rg_ctx_compute(ctx, RG_OP_ATTENTION, &p, args, error)) {
        rg_tensor_unref(out);
        return NULL;
    }
    rg_tensor *inputs[3] = {q, k, v};
    if (rg_autograd_wants(ctx, inputs, 3)) {
        rg_node *node = rg_autograd_record(ctx, "attention", attention_backward, inputs, 3, &out, 1);
        *rg_node_params(node, rg_attention_params) = p;
        rg_node_save(node, 0, qc);
        rg_node_save(node, 1, kc);
        rg_node_save(node, 2, vc);
        rg_node_save(node, 3, out);
        rg_node_save(node, 4, lse);
    }
    return out;
}

rg_tensor *rg_attention(rg_ctx *ctx, rg_tensor *q, rg_tensor *k, rg_tensor *v, int heads, float scale, GError **error)
{
    return attention(ctx, q, k, v, heads, scale, FALSE, error);
}

rg_tensor *rg_attention_causal(rg_ctx *ctx, rg_tensor *q, rg_tensor *k, rg_tensor *v, int heads, float scale,
                               GError **error)
{
    return attention(ctx, q, k, v, heads, scale, TRUE, error);
}
