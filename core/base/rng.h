/* rng.h — the engine's random numbers: xoshiro256** streams keyed by up to
 * four 64-bit values (a seed, a purpose, a step, an index...) through
 * splitmix64, so that every draw is a function of its keys alone: the same
 * noise for a seed on every machine, thread count and run order. Normals by
 * Box-Muller (cosine branch). Internal to libreadout and its tests. */
#pragma once

#include "readout/readout.h"

typedef struct {
    guint64 s[4];
} rg_rng;

void rg_rng_init(rg_rng *r, guint64 a, guint64 b, guint64 c, guint64 d);
guint64 rg_rng_u64(rg_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rg_rng_uniform(rg_rng *r);
/* Standard normal. */
double rg_rng_normal(rg_rng *r);
/* FNV-1a of @s: a key from a name. */
guint64 rg_hash_string(const char *s);
/* A new F32 tensor of @ndim dims @shape filled with rg_rng_normal() draws in order. */
rg_tensor *rg_rng_normal_tensor(rg_rng *r, int ndim, const int64_t *shape, GError **error);
