/* runtime.c — version, threads, and what this machine offers. */
#include <cblas.h>
#include <omp.h>
#include <unistd.h>

#include "readout/readout.h"

/* OpenBLAS extensions (declared in its cblas.h, repeated for other BLASes). */
extern char *openblas_get_config(void);
extern int openblas_get_parallel(void);
extern void openblas_set_num_threads(int n);

const char *rg_version(void)
{
    return RG_VERSION_STRING;
}

int rg_get_num_threads(void)
{
    return omp_get_max_threads();
}

void rg_prefer_passive_waiting(char **argv)
{
    if (g_getenv("OMP_WAIT_POLICY"))
        return;
    g_setenv("OMP_WAIT_POLICY", "passive", TRUE);
    /* libgomp's sleeping threads spin this long first: it catches most of
     * the back-to-back parallel regions of small ops (a demo-model training
     * step 0.47 -> 0.36 s alone) and costs nothing beside another job
     * (0.56 -> 0.57 s with two at once; spinning ones took 4.5 s). */
    g_setenv("GOMP_SPINCOUNT", "300", FALSE);
    execv("/proc/self/exe", argv); // returns only on failure: then run as we are
}

void rg_set_num_threads(int n)
{
    if (n <= 0)
        n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

const char *rg_blas_description(void)
{
    static char buf[256];
    static const char *const models[] = { "sequential", "pthreads", "openmp" };
    int p = openblas_get_parallel();
    g_snprintf(buf, sizeof buf, "%s (%s)", openblas_get_config(),
               (p >= 0 && p <= 2) ? models[p] : "unknown threading");
    return buf;
}

const char *rg_cpu_features(void)
{
    static char buf[256];
    static const char *const names[] = { "sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                                         "avx512bf16" };
    buf[0] = 0;
    __builtin_cpu_init();
#define RG_FEATURE(i, s)                                                                                        \
    if (__builtin_cpu_supports(s)) {                                                                            \
        g_strlcat(buf, *buf ? " " : "", sizeof buf);                                                            \
        g_strlcat(buf, names[i], sizeof buf);                                                                   \
    }
    RG_FEATURE(0, "sse4.2")
    RG_FEATURE(1, "avx")
    RG_FEATURE(2, "avx2")
    RG_FEATURE(3, "fma")
    RG_FEATURE(4, "avx512f")
    RG_FEATURE(5, "avx512bw")
    RG_FEATURE(6, "avx512vl")
    RG_FEATURE(7, "avx512bf16")
#undef RG_FEATURE
    return buf;
}
