/* bench/common.h - timing and the machine's own limits, measured in the same run.
 *
 * Every benchmark prints one line per case:
 *     bench: name=<case> ms=<median> <figures...>
 * and reports its speed as a share of a limit measured here, in the same process
 * and with the same thread count, because absolute times on a shared machine are
 * noise and ratios are what carry over:
 *   - lcxb_read_bw():  memory read bandwidth, GB/s (streaming reads of a buffer far
 *                      larger than the last-level cache, each 4 KiB page "kicked"
 *                      ahead: see lcxb_read_pass);
 *   - lcxb_copy_bw():  copy bandwidth, GB/s counted as bytes read + bytes written;
 *   - lcxb_fma_peak(): fp32 FMA peak, GFLOP/s (2 flops per FMA lane), from enough
 *                      independent accumulators, each with its own multiplier and
 *                      addend, that the compiler can neither merge nor shorten them.
 * Each limit is the best of several runs (interference only lowers it); kernel
 * times are medians.
 * LCX_BENCH_QUICK=1 (or --quick) shrinks every case so the suite can smoke-test
 * the benchmarks; its figures mean nothing.
 */
#ifndef LCX_BENCH_COMMON_H
#define LCX_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#define LCXB_PRAGMA(x) _Pragma(#x)
#define LCXB_OMP(...) LCXB_PRAGMA(omp __VA_ARGS__)
#else
#define LCXB_OMP(...)
#endif
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

static int lcxb_quick_flag;

static inline void lcxb_init(int argc, char **argv) {
    const char *q = getenv("LCX_BENCH_QUICK");
    lcxb_quick_flag = q && q[0] && q[0] != '0';
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quick") == 0) lcxb_quick_flag = 1;
}
static inline int lcxb_quick(void) { return lcxb_quick_flag; }

static inline double lcxb_now(void) {
    struct timespec ts; /* C11's timespec_get: wall clock, ns resolution on Linux */
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int lcxb_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
/* median of n samples (sorts them) */
/* The smallest of n times: for the machine's limits, where interference from other
   work only ever makes a run slower, the best run is the closest to the limit (and
   a higher limit makes every kernel's percentage of it more conservative). */
static inline double lcxb_best(const double *v, int n) {
    double b = v[0];
    for (int i = 1; i < n; i++) b = v[i] < b ? v[i] : b;
    return b;
}

static inline double lcxb_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, lcxb_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Run fn(ctx) once to warm up, then `reps` times; the median in milliseconds. */
static inline double lcxb_time_ms(void (*fn)(void *), void *ctx, int reps) {
    double t[64];
    if (reps > 64) reps = 64;
    if (reps < 1) reps = 1;
    fn(ctx);
    for (int i = 0; i < reps; i++) {
        double t0 = lcxb_now();
        fn(ctx);
        t[i] = (lcxb_now() - t0) * 1e3;
    }
    return lcxb_median(t, reps);
}

static inline void *lcxb_alloc(size_t bytes) {
    void *p = NULL;
    size_t rounded = (bytes + 63) / 64 * 64;
    p = aligned_alloc(64, rounded ? rounded : 64); /* C11: size a multiple of 64 */
    if (!p) {
        fprintf(stderr, "bench: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

/* Query-key pairs of an attention call: n_q queries at the last n_q of n_kv positions,
   each seeing the keys up to its own (causal; n_kv (n_kv + 1) / 2 for a prefill), or
   every key. The benchmarks count 4 * head_dim * pairs * n_heads flops (q.k and p.v). */
static inline double lcxb_pairs(int64_t n_kv, int64_t n_q, int causal) {
    if (!causal) return (double)n_q * (double)n_kv;
    return (double)n_q * (double)(n_kv - n_q) + (double)n_q * (double)(n_q + 1) / 2.0;
}

/* ---- random numbers ----------------------------------------------------------- */
/* xorshift64*: the next value of the generator whose state is *state (nonzero) */
static inline uint64_t lcxb_rng_next(uint64_t *state) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1Dull;
}

/* 0..n-1 in shuffled order (Fisher-Yates), allocated: e.g. where each page of a paged
   cache lives, as when pages are allocated as the sequence grows among other
   sequences'. The caller frees it. */
static inline int64_t *lcxb_shuffled_perm(int64_t n, uint64_t *state) {
    int64_t *perm = (int64_t *)lcxb_alloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    for (int64_t p = 0; p < n; p++) perm[p] = p;
    for (int64_t p = n - 1; p > 0; p--) {
        int64_t j = (int64_t)(lcxb_rng_next(state) % (uint64_t)(p + 1)), t = perm[p];
        perm[p] = perm[j];
        perm[j] = t;
    }
    return perm;
}

/* ---- memory bandwidth ------------------------------------------------------- */
static volatile float lcxb_sink;

#define LCXB_BW_BYTES ((size_t)1 << 29) /* 512 MiB: far beyond any LLC here */

/* One pass summing a[0..n) with n_threads threads, each its own contiguous part;
   returns the seconds it took. Every 4 KiB of its part, each thread prefetches one
   line LCXB_KICK bytes on (the "page kick", as the decode kernels do): hardware stream
   prefetchers stop at 4 KiB pages, and on the 2-core Zen 5 VM (2026-12-04) a plain
   loop read 41.5 GB/s with 1 thread against 45-46 with kicks, and with 2 threads 71
   against 89-93 in one window (equal, 92, in another). Without the kick the pass
   under-stated the machine's limit: the decode, which kicks its pages, measured up to
   118% of it. */
#define LCXB_KICK 16384
#if defined(__AVX512F__) || defined(__AVX2__)
/* The kick of lcxb_read_pass for element i of a thread's part [lo, hi) of a. */
static inline void lcxb_read_kick(const float *a, size_t i, size_t lo, size_t hi) {
    if (((i - lo) & 1023) == 0 && i + LCXB_KICK / sizeof(float) < hi)
        _mm_prefetch((const char *)(a + i + LCXB_KICK / sizeof(float)), _MM_HINT_T1);
}
#endif
static inline double lcxb_read_pass(const float *a, size_t n, int n_threads) {
    (void)n_threads; /* unused without OpenMP */
    double t0 = lcxb_now();
    float total = 0;
LCXB_OMP(parallel num_threads(n_threads) reduction(+ : total))
    {
        int nt = 1, id = 0;
#ifdef _OPENMP
        nt = omp_get_num_threads();
        id = omp_get_thread_num();
#endif
        size_t lo = n * (size_t)id / (size_t)nt, hi = n * (size_t)(id + 1) / (size_t)nt;
#if defined(__AVX512F__)
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        size_t i = lo;
        for (; i + 64 <= hi; i += 64) {
            lcxb_read_kick(a, i, lo, hi);
            s0 = _mm512_add_ps(s0, _mm512_loadu_ps(a + i));
            s1 = _mm512_add_ps(s1, _mm512_loadu_ps(a + i + 16));
            s2 = _mm512_add_ps(s2, _mm512_loadu_ps(a + i + 32));
            s3 = _mm512_add_ps(s3, _mm512_loadu_ps(a + i + 48));
        }
        float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
        for (; i < hi; i++) s += a[i];
#elif defined(__AVX2__)
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        size_t i = lo;
        for (; i + 32 <= hi; i += 32) {
            lcxb_read_kick(a, i, lo, hi);
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + i));
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(a + i + 8));
            s2 = _mm256_add_ps(s2, _mm256_loadu_ps(a + i + 16));
            s3 = _mm256_add_ps(s3, _mm256_loadu_ps(a + i + 24));
        }
        __m256 v = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
        float buf[8], s = 0;
        _mm256_storeu_ps(buf, v);
        for (int k = 0; k < 8; k++) s += buf[k];
        for (; i < hi; i++) s += a[i];
#else
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        size_t i = lo;
        for (; i + 4 <= hi; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
        float s = s0 + s1 + s2 + s3;
        for (; i < hi; i++) s += a[i];
#endif
        total += s;
    }
    lcxb_sink = total;
    return lcxb_now() - t0;
}

/* A buffer for read passes: bytes (rounded down to whole floats), filled. */
static inline float *lcxb_read_buffer(size_t bytes, int n_threads) {
    size_t n = bytes / sizeof(float);
    float *a = (float *)lcxb_alloc(n * sizeof(float));
    (void)n_threads;
LCXB_OMP(parallel for num_threads(n_threads) schedule(static))
    for (size_t i = 0; i < n; i++) a[i] = (float)(i & 7) * 0.25f;
    return a;
}

/* Read bandwidth in GB/s: the best of 7 passes over a buffer far beyond any LLC. */
static inline double lcxb_read_bw(int n_threads) {
    size_t bytes = lcxb_quick() ? ((size_t)1 << 22) : LCXB_BW_BYTES;
    float *a = lcxb_read_buffer(bytes, n_threads);
    double t[7];
    for (int r = 0; r < 7; r++) t[r] = lcxb_read_pass(a, bytes / sizeof(float), n_threads);
    free(a);
    return (double)bytes / lcxb_best(t, 7) * 1e-9;
}

/* Copy a large buffer to another: GB/s counted as bytes read + bytes written. */
static inline double lcxb_copy_bw(int n_threads) {
    (void)n_threads; /* unused without OpenMP */
    size_t bytes = lcxb_quick() ? ((size_t)1 << 22) : (LCXB_BW_BYTES / 2);
    size_t n = bytes / sizeof(float);
    float *a = (float *)lcxb_alloc(bytes), *b = (float *)lcxb_alloc(bytes);
LCXB_OMP(parallel for num_threads(n_threads) schedule(static))
    for (size_t i = 0; i < n; i++) { a[i] = (float)(i & 7); b[i] = 0; }
    double t[7];
    for (int r = 0; r < 7; r++) {
        a[(size_t)r * 4099 % n] += 1.0f; /* new source each time: no copy can be elided */
        double t0 = lcxb_now();
LCXB_OMP(parallel num_threads(n_threads))
        {
            int nt = 1, id = 0;
#ifdef _OPENMP
            nt = omp_get_num_threads();
            id = omp_get_thread_num();
#endif
            size_t lo = n * (size_t)id / (size_t)nt, hi = n * (size_t)(id + 1) / (size_t)nt;
            memcpy(b + lo, a + lo, (hi - lo) * sizeof(float));
        }
        t[r] = lcxb_now() - t0;
        lcxb_sink = b[(size_t)r * 977 % n];
    }
    free(a);
    free(b);
    return 2.0 * (double)bytes / lcxb_best(t, 7) * 1e-9;
}

/* ---- fp32 FMA peak -----------------------------------------------------------
   10 accumulators, each acc_k = acc_k * m_k + c_k: a chain the compiler cannot merge
   (each starts from its own value and, with AVX-512, has its own constants) or shorten
   (each step depends on the last). 10 chains cover latency x pipes of current x86 cores
   (4 x 2). With AVX-512 the 10 accumulators and 20 constants fit the 32 vector registers;
   with AVX2 there are 16, so the chains share one m and one c (20 constants there made
   GCC reload them from memory in the loop, 15 loads per 10 FMAs, and the peak read about
   2/3 of the true one). The loop body is 10 vfmadd instructions on registers (checked
   with objdump for both). */
#if defined(__AVX512F__)
#define LCXB_VEC __m512
#define LCXB_W 16
#define LCXB_SET1 _mm512_set1_ps
#define LCXB_FMA _mm512_fmadd_ps
#define LCXB_ADD _mm512_add_ps
static inline float lcxb_hsum(__m512 v) { return _mm512_reduce_add_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
#define LCXB_VEC __m256
#define LCXB_W 8
#define LCXB_SET1 _mm256_set1_ps
#define LCXB_FMA _mm256_fmadd_ps
#define LCXB_ADD _mm256_add_ps
static inline float lcxb_hsum(__m256 v) {
    float b[8], s = 0;
    _mm256_storeu_ps(b, v);
    for (int i = 0; i < 8; i++) s += b[i];
    return s;
}
#endif

static inline double lcxb_fma_kernel(long iters) {
#ifdef LCXB_VEC
#if LCXB_W == 16
#define LCXB_DECL(k) LCXB_VEC a##k = LCXB_SET1(1.0f + (k) * 1e-3f), \
                     m##k = LCXB_SET1(0.9999f - (k) * 1e-6f), c##k = LCXB_SET1(1e-4f * (k + 1));
#else
    const LCXB_VEC m_all = LCXB_SET1(0.9999f), c_all = LCXB_SET1(1e-4f);
#define LCXB_DECL(k) LCXB_VEC a##k = LCXB_SET1(1.0f + (k) * 1e-3f), m##k = m_all, c##k = c_all;
#endif
    LCXB_DECL(0) LCXB_DECL(1) LCXB_DECL(2) LCXB_DECL(3) LCXB_DECL(4)
    LCXB_DECL(5) LCXB_DECL(6) LCXB_DECL(7) LCXB_DECL(8) LCXB_DECL(9)
    for (long i = 0; i < iters; i++) {
#define LCXB_STEP(k) a##k = LCXB_FMA(a##k, m##k, c##k);
        LCXB_STEP(0) LCXB_STEP(1) LCXB_STEP(2) LCXB_STEP(3) LCXB_STEP(4)
        LCXB_STEP(5) LCXB_STEP(6) LCXB_STEP(7) LCXB_STEP(8) LCXB_STEP(9)
        __asm__ volatile("" ::: "memory"); /* keep the loop a loop */
    }
    LCXB_VEC s = LCXB_ADD(LCXB_ADD(LCXB_ADD(a0, a1), LCXB_ADD(a2, a3)),
                          LCXB_ADD(LCXB_ADD(a4, a5), LCXB_ADD(a6, a7)));
    s = LCXB_ADD(s, LCXB_ADD(a8, a9));
    lcxb_sink = lcxb_hsum(s);
    return 2.0 * LCXB_W * 10.0 * (double)iters;
#else
    float a[12], m[12], c[12];
    for (int k = 0; k < 12; k++) { a[k] = 1.0f + k * 1e-3f; m[k] = 0.9999f - k * 1e-6f; c[k] = 1e-4f * (k + 1); }
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < 12; k++) a[k] = a[k] * m[k] + c[k];
    float s = 0;
    for (int k = 0; k < 12; k++) s += a[k];
    lcxb_sink = s;
    return 2.0 * 12.0 * (double)iters;
#endif
}

/* GFLOP/s with n_threads threads, each running the kernel; best of 5. Each thread times
   its own run and the rates add up: timing the parallel region as a whole would count
   the slowest thread's start and finish for all of them (on a 16-core KVM guest the
   region's time put the peak at 1356-1922 GFLOP/s between runs, and a causal prefill
   then measured 110% of it). */
static inline double lcxb_fma_peak(int n_threads) {
    (void)n_threads; /* unused without OpenMP */
    long iters = lcxb_quick() ? 100000L : 20000000L;
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double rate = 0; /* flops per second, all threads */
LCXB_OMP(parallel num_threads(n_threads) reduction(+ : rate))
        {
            double t0 = lcxb_now(), flops = lcxb_fma_kernel(iters);
            rate += flops / (lcxb_now() - t0);
        }
        if (rate > best) best = rate;
    }
    return best * 1e-9;
}

static inline int lcxb_threads_default(void) {
#ifdef _OPENMP
    return 2;
#else
    return 1;
#endif
}

#endif
