/* noise.c — reproducible Gaussian noise for the jobs: one rg_rng stream
 * per (seed, purpose). The same seed gives the same pictures on every
 * machine and thread count. */
#include "pipeline/pipeline_impl.h"

void noise_rng_init(rg_rng *r, guint64 seed, noise_stream stream)
{
    rg_rng_init(r, seed, (guint64)stream, 0, 0);
}

rg_tensor *noise_tensor(rg_rng *r, int64_t n, int64_t c, int64_t h, int64_t w, GError **error)
{
    const int64_t shape[4] = {n, c, h, w};
    return rg_rng_normal_tensor(r, 4, shape, error);
}
