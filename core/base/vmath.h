/* vmath.h — float exp and tanh as branch-free inline code, so that loops
 * under `#pragma omp simd` that use them vectorize (libm's expf and tanhf
 * are scalar calls, which stop GCC's vectorizer).
 *
 * vm_max, a row maximum, is here because softmax-style callers need it next
 * to vm_exp_neg and its plain reduction form does not vectorize under clang.
 *
 * Accuracy against float64, measured on every third float: exp 1.05 ulp,
 * vm_tanh 1.53 ulp. vm_exp_neg flushes results below FLT_MIN to 0 (so no
 * slow subnormal arithmetic follows); NaN propagates.
 *
 * Special cases are selects on masks (vm_select), never branches; a select
 * against 0 costs one AND. Out-of-range lanes compute garbage that a select
 * then replaces, which is cheaper than clamping the input. Polynomials use
 * fmaf, which -march=x86-64-v3 turns into vfmadd (the C11 mode of the build
 * does not contract a * b + c by itself).
 */
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#define VM_EXP_LO -87.336f         /* just above ln(FLT_MIN) = -87.3365 */
#define VM_EXP_HI 88.7228317f      /* the float below 128 ln 2 = ln(2^128) */
#define VM_ROUND_MAGIC 12582912.0f /* 1.5 * 2^23: adding it rounds |v| < 2^22 to an integer */

static inline uint32_t vm_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline float vm_float(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* c ? a : b on bit masks. GCC turns a plain ?: whose operands are computed
 * only for it into a branch, and under -ftrapping-math (the default) it then
 * gives up vectorizing the loop; it vectorizes masks. */
static inline float vm_select(int c, float a, float b)
{
    uint32_t m = c ? ~0u : 0u;
    return vm_float((vm_bits(a) & m) | (vm_bits(b) & ~m));
}

/* exp(r) 2^n for r in [-0.35, 0.35], with n in the low bits of k = n + 1.5 *
 * 2^23 (the shift below pushes the rest out). exp(r) is a degree 6
 * polynomial fitted for minimax relative error (2e-9), in [0.7, 1.42];
 * 2^n goes into its exponent bits. The result is a normal float when
 * n >= -125, or n = -126 and exp(r) >= 1, or n = 128 and exp(r) < 1. */
static inline float vm_exp_scale(float r, float k)
{
    float p = fmaf(0.00138436537f, r, 0.0083741555f);
    p = fmaf(p, r, 0.0416680016f);
    p = fmaf(p, r, 0.166664317f);
    p = fmaf(p, r, 0.49999994f);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    return vm_float(vm_bits(p) + (vm_bits(k) << 23));
}

/* exp(x) for VM_EXP_LO <= x <= VM_EXP_HI, within 1.05 ulp; outside that range
 * the result is garbage (no trap), which callers select over.
 * exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2, with ln 2 in two
 * parts (Cody-Waite) so that x - n * 0.693145752 is exact. */
static inline float vm_exp_core(float x)
{
    float k = fmaf(x, (float)M_LOG2E, VM_ROUND_MAGIC);
    float n = k - VM_ROUND_MAGIC;
    float r = fmaf(n, -0.693145752f, x);
    return vm_exp_scale(fmaf(n, -1.42860677e-6f, r), k);
}

/* exp(a b) for VM_EXP_LO <= a * b <= VM_EXP_HI, as vm_exp_core, from the
 * exact product a b rather than the rounded a * b, which exp would turn into
 * a relative error of |a b| ulp. */
static inline float vm_exp_mul(float a, float b)
{
    float k = fmaf(a * b, (float)M_LOG2E, VM_ROUND_MAGIC);
    float n = k - VM_ROUND_MAGIC;
    float r = fmaf(a, b, n * -0.693145752f); // a b - n ln2_hi, rounded once
    return vm_exp_scale(fmaf(n, -1.42860677e-6f, r), k);
}

/* exp(x) for x <= VM_EXP_HI, -inf and NaN (as softmax needs after subtracting
 * the row maximum): 0 below VM_EXP_LO. */
static inline float vm_exp_neg(float x)
{
    float y = vm_exp_core(x) + (x - x); // x - x: 0, or NaN that outlives the garbage
    return vm_select(x < VM_EXP_LO, 0.0f, y);
}

/* exp(x) over the whole float range: +inf above VM_EXP_HI, 0 below VM_EXP_LO,
 * NaN for NaN. */
static inline float vm_exp(float x)
{
    return vm_select(x > VM_EXP_HI, INFINITY, vm_exp_neg(x));
}

/* The largest of x[0..n), -inf when n = 0; NaN entries are skipped (x > m is
 * false for them), so the result is the same in every lane order. Sixteen
 * running maxima in a fixed-length inner loop, which GCC (with the pragma)
 * and clang both turn into vmaxps; the reduction form, m = x > m ? x : m
 * under `#pragma omp simd reduction(max : m)`, clang 14 does not vectorize
 * without -ffast-math and warns that it could not (-Wpass-failed). */
static inline float vm_max(const float *x, int64_t n)
{
    float m16[16];
    for (int i = 0; i < 16; i++)
        m16[i] = -INFINITY;
    int64_t n16 = n / 16 * 16;
    for (int64_t c = 0; c < n16; c += 16)
#pragma omp simd
        for (int i = 0; i < 16; i++)
            m16[i] = x[c + i] > m16[i] ? x[c + i] : m16[i];
#pragma omp simd
    for (int i = 0; i < 8; i++) // halve twice in vectors, not 16 scalar steps
        m16[i] = m16[i + 8] > m16[i] ? m16[i + 8] : m16[i];
#pragma omp simd
    for (int i = 0; i < 4; i++)
        m16[i] = m16[i + 4] > m16[i] ? m16[i + 4] : m16[i];
    float m = -INFINITY;
    for (int i = 0; i < 4; i++)
        m = m16[i] > m ? m16[i] : m;
    for (int64_t c = n16; c < n; c++)
        m = x[c] > m ? x[c] : m;
    return m;
}

/* tanh(x): the Cephes tanhf odd polynomial x + x^3 P(x^2) for |x| < 0.625,
 * else sign(x) (1 - e) / (1 + e) with e = exp(-2|x|) <= 0.29, which does not
 * cancel. NaN takes the polynomial, which propagates it. */
static inline float vm_tanh(float x)
{
    float z = x * x;
    float p = fmaf(-5.70498872745e-3f, z, 2.06390887954e-2f);
    p = fmaf(p, z, -5.37397155531e-2f);
    p = fmaf(p, z, 1.33314422036e-1f);
    p = fmaf(p, z, -3.33332819422e-1f);
    float small = fmaf(p * z, x, x);

    float m2ax = -2.0f * fabsf(x);
    float e = vm_select(m2ax < VM_EXP_LO, 0.0f, vm_exp_core(m2ax));
    float big = (1.0f - e) / (1.0f + e);
    big = vm_float(vm_bits(big) | (vm_bits(x) & 0x80000000u)); // the sign of x
    return vm_select(fabsf(x) >= 0.625f, big, small);
}
