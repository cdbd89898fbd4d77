/* rng.c — keyed xoshiro256** streams (see rng.h). */
#include <math.h>

#include "base/rng.h"

static guint64 splitmix64(guint64 *x)
{
    guint64 z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static guint64 rotl(guint64 x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void rg_rng_init(rg_rng *r, guint64 a, guint64 b, guint64 c, guint64 d)
{
    guint64 x = a;
    x = splitmix64(&x) ^ b;
    x = splitmix64(&x) ^ c;
    x = splitmix64(&x) ^ d;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

guint64 rg_rng_u64(rg_rng *r)
{
    guint64 *s = r->s;
    const guint64 result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rg_rng_uniform(rg_rng *r)
{
    return (double)(rg_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

double rg_rng_normal(rg_rng *r)
{
    const double u = 1.0 - rg_rng_uniform(r), v = rg_rng_uniform(r); /* u in (0, 1]: log is finite */
    return sqrt(-2.0 * log(u)) * cos(2.0 * G_PI * v);
}

guint64 rg_hash_string(const char *s)
{
    guint64 h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (guint8)*s) * 0x100000001b3ULL;
    return h;
}

rg_tensor *rg_rng_normal_tensor(rg_rng *r, int ndim, const int64_t *shape, GError **error)
{
    rg_tensor *t = rg_tensor_new(RG_DTYPE_F32, ndim, shape, error);
    if (!t)
        return NULL;
    float *d = rg_tensor_data_f32(t);
    const int64_t n = rg_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        d[i] = (float)rg_rng_normal(r);
    return t;
}
