/* noise.c — reproducible Gaussian noise for the jobs: xoshiro256** seeded
 * through splitmix64 from (seed, stream), Box-Muller pairs. The same seed
 * gives the same pictures on every machine and thread count. */
#include <math.h>

#include "pipeline/pipeline_impl.h"

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

static guint64 next_u64(noise_rng *r)
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

void noise_rng_init(noise_rng *r, guint64 seed, noise_stream stream)
{
    guint64 x = seed ^ ((guint64)stream * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

/* Uniform in (0, 1]: never 0, so that log() is finite. */
static double uniform(noise_rng *r)
{
    return ((next_u64(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

rg_tensor *noise_tensor(noise_rng *r, int64_t n, int64_t c, int64_t h, int64_t w, GError **error)
{
    const int64_t shape[4] = {n, c, h, w};
    rg_tensor *t = rg_tensor_new(RG_DTYPE_F32, 4, shape, error);
    if (!t)
        return NULL;
    float *d = rg_tensor_data_f32(t);
    const int64_t count = n * c * h * w;
    for (int64_t i = 0; i < count; i += 2) {
        const double radius = sqrt(-2.0 * log(uniform(r))), angle = 2.0 * G_PI * uniform(r);
        d[i] = (float)(radius * cos(angle));
        if (i + 1 < count)
            d[i + 1] = (float)(radius * sin(angle));
    }
    return t;
}
