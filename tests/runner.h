/* tests/runner.h - the tiny test runner shared by every test program.
 *
 * A test program is one .c file per header section (test_base.c, test_rope.c,
 * ...). Each defines `static void test_xxx(void)` functions, runs them from main()
 * with RUN(test_xxx), and returns lcx_test_summary(). CHECK(...) records a failed
 * assertion with its file and line and keeps going, so one run shows every failure.
 * A test passes when none of its CHECKs failed. The last line a program prints is
 * "N passed, N failed"; tests/run.sh adds the programs' lines up.
 *
 * LCX_TEST_QUICK=1 in the environment (set by run.sh for the sanitizer build)
 * asks long sweeps to run a deterministic subset; lcx_test_quick() reads it.
 */
#ifndef LCX_TEST_RUNNER_H
#define LCX_TEST_RUNNER_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int lcx_t_passed, lcx_t_failed, lcx_t_cur_failed;
static const char *lcx_t_cur_name;

/* Record a failure: prints the test, file, line and a printf-style message. */
#define CHECKF(cond, ...)                                                              \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            if (lcx_t_cur_failed < 20) {                                               \
                printf("FAIL %s (%s:%d): %s: ", lcx_t_cur_name, __FILE__, __LINE__, #cond); \
                printf(__VA_ARGS__);                                                   \
                printf("\n");                                                          \
            }                                                                          \
            lcx_t_cur_failed++;                                                        \
        }                                                                              \
    } while (0)
#define CHECK(cond) CHECKF(cond, "%s", "")

/* |a - b| <= tol, printing both values when not (NaN fails). */
#define CHECK_NEAR(a, b, tol)                                                          \
    do {                                                                               \
        double lcx_t_a = (double)(a), lcx_t_b = (double)(b), lcx_t_tol = (double)(tol); \
        CHECKF(fabs(lcx_t_a - lcx_t_b) <= lcx_t_tol, "%s = %.9g, %s = %.9g, |diff| %.3g > %.3g", \
               #a, lcx_t_a, #b, lcx_t_b, fabs(lcx_t_a - lcx_t_b), lcx_t_tol);           \
    } while (0)

#define RUN(fn)                                                                        \
    do {                                                                               \
        lcx_t_cur_name = #fn;                                                          \
        lcx_t_cur_failed = 0;                                                          \
        fn();                                                                          \
        if (lcx_t_cur_failed) {                                                        \
            lcx_t_failed++;                                                            \
            printf("not ok %s (%d failed checks)\n", #fn, lcx_t_cur_failed);          \
        } else {                                                                       \
            lcx_t_passed++;                                                            \
            if (getenv("LCX_TEST_VERBOSE")) printf("ok %s\n", #fn);                   \
        }                                                                              \
        fflush(stdout);                                                                \
    } while (0)

static inline int lcx_test_summary(void) {
    printf("%d passed, %d failed\n", lcx_t_passed, lcx_t_failed);
    return lcx_t_failed ? 1 : 0;
}

static inline int lcx_test_quick(void) {
    const char *q = getenv("LCX_TEST_QUICK");
    return q && q[0] && q[0] != '0';
}

/* Deterministic random numbers for tests (splitmix64), never the library's. */
typedef struct { uint64_t s; } lcx_t_rng;
static inline uint64_t lcx_t_next(lcx_t_rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* uniform in [0, 1) */
static inline double lcx_t_uniform(lcx_t_rng *r) { return (double)(lcx_t_next(r) >> 11) * (1.0 / 9007199254740992.0); }
/* uniform in [lo, hi) */
static inline double lcx_t_range(lcx_t_rng *r, double lo, double hi) { return lo + (hi - lo) * lcx_t_uniform(r); }
/* integer in [lo, hi] */
static inline int64_t lcx_t_int(lcx_t_rng *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)(lcx_t_next(r) % (uint64_t)(hi - lo + 1));
}
/* standard normal (Box-Muller) */
static inline double lcx_t_normal(lcx_t_rng *r) {
    double u1 = lcx_t_uniform(r), u2 = lcx_t_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
