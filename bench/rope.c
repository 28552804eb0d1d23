/* bench/rope.c - lcx_rope_apply in place on [4096 tokens][32 heads][128] floats.
 *
 *   make build/bench_rope && ./build/bench_rope        (LCX_BENCH_QUICK=1 or --quick: smoke test)
 *
 * Prints first the machine's copy and read bandwidth measured in this run with 2 threads,
 * and the in-place bandwidth (negating the same buffer the cases use, 2 threads),
 *     bench: name=limits copy_gbps=... read_gbps=... inplace_gbps=...
 * then one line per case,
 *     bench: name=rope_<default|yarn>_<half|interleaved> ms=<median> gbps=<GB/s> pct_bw=<%>
 * where gbps counts every byte read and written once (2 * tokens*heads*128*4 per call) and
 * pct_bw = 100 * gbps / copy_gbps: RoPE streams its data. A copy also reads the lines it
 * writes (unless its stores bypass the cache) and an in-place pass does not, so on machines
 * whose bandwidth per core is bounded by outstanding misses pct_bw can exceed 100;
 * inplace_gbps is the tighter bound for an in-place kernel, and pct_inplace = 100 * gbps /
 * inplace_gbps is printed beside pct_bw.
 * Positions are 0..4095; cases run with cfg.n_threads = 2, plus rope_default_half_t1 with 1
 * thread, rope_default_half_x4tokens (16384 tokens, 256 MiB: beyond any cache, where the
 * 64 MiB cases may partly sit in a large L3) and rope_default_half_decode (one token of 32
 * heads, ns per call). Median of 21 timed calls after one warm-up. Every call rotates the
 * data again, which is fine: rotations keep norms (YaRN's attention factor, 1.14 at s = 4,
 * grows them by 1.14^22 ~ 17 at most).
 */
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"
#include "common.h"

#include <math.h>

typedef struct {
    lcx_rope rope;
    float *x;
    int64_t n_tokens;
    int n_heads, head_dim;
    const int64_t *pos;
    int calls; /* lcx_rope_apply calls per timed run (decode: many) */
} bench_ctx;

static void run_apply(void *p) {
    bench_ctx *b = (bench_ctx *)p;
    for (int c = 0; c < b->calls; c++) {
        lcx_status st = lcx_rope_apply(&b->rope, b->x, b->n_tokens, b->n_heads,
                                       (int64_t)b->n_heads * b->head_dim, b->pos);
        if (st != LCX_OK) {
            fprintf(stderr, "bench: lcx_rope_apply: %s\n", lcx_status_string(st));
            exit(1);
        }
    }
}

/* The in-place streaming limit: negate the same buffer with 2 threads (read + write of
   every element once, like RoPE in place, and without the destination reads of a copy). */
typedef struct { float *x; size_t n; } negate_ctx;
static void run_negate(void *p) {
    negate_ctx *c = (negate_ctx *)p;
    float *x = c->x;
    const size_t n = c->n;
    LCXB_OMP(parallel for num_threads(2) schedule(static))
    for (size_t i = 0; i < n; i++) x[i] = -x[i];
}

static void init_rope(lcx_rope *rope, lcx_rope_type type, lcx_rope_layout layout, int head_dim,
                      int n_threads) {
    lcx_rope_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.head_dim = head_dim;
    cfg.theta = 10000;
    cfg.type = type;
    cfg.layout = layout;
    cfg.n_threads = n_threads;
    if (type == LCX_ROPE_YARN) {
        cfg.factor = 4;
        cfg.original_max_pos = 4096;
    }
    lcx_status st = lcx_rope_init(rope, &cfg);
    if (st != LCX_OK) {
        fprintf(stderr, "bench: lcx_rope_init: %s\n", lcx_status_string(st));
        exit(1);
    }
}

/* fresh data in [-1, 1] for each case */
static void fill(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (float)sin(0.37 * (double)(i % 100003) + 0.1);
}

int main(int argc, char **argv) {
    lcxb_init(argc, argv);
    const int quick = lcxb_quick(), head_dim = 128, n_heads = 32;
    const int64_t n_tokens = quick ? 64 : 4096;
    const int reps = quick ? 3 : 21;
    const size_t n = (size_t)n_tokens * (size_t)n_heads * (size_t)head_dim;
    const double bytes = 2.0 * (double)n * sizeof(float); /* read + write, in place */

    double copy_gbps = lcxb_copy_bw(2), read_gbps = lcxb_read_bw(2);
    float *x = (float *)lcxb_alloc(n * sizeof(float));
    fill(x, n);
    negate_ctx neg = {x, n};
    double inplace_gbps = bytes / (lcxb_time_ms(run_negate, &neg, reps) * 1e-3) * 1e-9;
    printf("bench: name=limits copy_gbps=%.2f read_gbps=%.2f inplace_gbps=%.2f simd=%s\n",
           copy_gbps, read_gbps, inplace_gbps, lcx_simd_name());

    int64_t *pos = (int64_t *)lcxb_alloc((size_t)n_tokens * sizeof *pos);
    for (int64_t t = 0; t < n_tokens; t++) pos[t] = t;
    bench_ctx b;
    memset(&b, 0, sizeof b);
    b.x = x;
    b.n_tokens = n_tokens;
    b.n_heads = n_heads;
    b.head_dim = head_dim;
    b.pos = pos;
    b.calls = 1;

    static const struct { const char *name; lcx_rope_type type; lcx_rope_layout layout; int threads; } cases[] = {
        {"rope_default_half", LCX_ROPE_DEFAULT, LCX_ROPE_HALF, 2},
        {"rope_default_interleaved", LCX_ROPE_DEFAULT, LCX_ROPE_INTERLEAVED, 2},
        {"rope_yarn_half", LCX_ROPE_YARN, LCX_ROPE_HALF, 2},
        {"rope_yarn_interleaved", LCX_ROPE_YARN, LCX_ROPE_INTERLEAVED, 2},
        {"rope_default_half_t1", LCX_ROPE_DEFAULT, LCX_ROPE_HALF, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        init_rope(&b.rope, cases[c].type, cases[c].layout, head_dim, cases[c].threads);
        fill(b.x, n);
        double ms = lcxb_time_ms(run_apply, &b, reps);
        double gbps = bytes / (ms * 1e-3) * 1e-9;
        printf("bench: name=%s ms=%.3f gbps=%.2f pct_bw=%.1f pct_inplace=%.1f\n", cases[c].name,
               ms, gbps, 100.0 * gbps / copy_gbps, 100.0 * gbps / inplace_gbps);
        fflush(stdout);
    }

    /* The same at 4x the tokens (256 MiB): [4096][32][128] is 64 MiB, which part of a large
       last-level cache can still hold (its pct_bw can pass 100); this one streams from DRAM. */
    {
        const int64_t big_tokens = 4 * n_tokens;
        const size_t big_n = 4 * n;
        int64_t *big_pos = (int64_t *)lcxb_alloc((size_t)big_tokens * sizeof *big_pos);
        for (int64_t t = 0; t < big_tokens; t++) big_pos[t] = t;
        bench_ctx big = b;
        big.x = (float *)lcxb_alloc(big_n * sizeof(float));
        big.n_tokens = big_tokens;
        big.pos = big_pos;
        init_rope(&big.rope, LCX_ROPE_DEFAULT, LCX_ROPE_HALF, head_dim, 2);
        fill(big.x, big_n);
        double ms = lcxb_time_ms(run_apply, &big, reps);
        double gbps = 4 * bytes / (ms * 1e-3) * 1e-9;
        printf("bench: name=rope_default_half_x4tokens ms=%.3f gbps=%.2f pct_bw=%.1f pct_inplace=%.1f\n",
               ms, gbps, 100.0 * gbps / copy_gbps, 100.0 * gbps / inplace_gbps);
        free(big.x);
        free(big_pos);
    }

    /* decode: one token of 32 heads at a late position, many calls per timed run so the
       clock's resolution does not matter; the data stays in L1 */
    int64_t decode_pos = 100000;
    init_rope(&b.rope, LCX_ROPE_DEFAULT, LCX_ROPE_HALF, head_dim, 2);
    fill(b.x, (size_t)n_heads * head_dim);
    b.n_tokens = 1;
    b.pos = &decode_pos;
    b.calls = quick ? 100 : 20000;
    double ms = lcxb_time_ms(run_apply, &b, reps) / b.calls;
    printf("bench: name=rope_default_half_decode ms=%.6f ns=%.0f\n", ms, ms * 1e6);

    free(b.x);
    free(pos);
    return 0;
}
