/* bench/attention.c - lcx_attention against the machine's own limits.
 *
 *   make build/bench_attention && ./build/bench_attention     (full run, ~1 min)
 *   LCX_BENCH_QUICK=1 ./build/bench_attention                 (smoke test, tiny shapes)
 *   ./build/bench_attention --threads 16                      (N threads in place of 2)
 *
 * Lines (printed together at the end, in this order; progress goes to stderr):
 *   bench: name=limits read_gbps=.. read_gbps_t1=.. fma_gflops=.. fma_gflops_t1=.. ...
 *   bench: name=attn_decode_<type>_n<N>[_t1|_paged] ms=<median> gbps=.. pct_bw=..
 *          bw_gbps=.. pct_bw_run=..
 *   bench: name=attn_decode_f16_n<N>_q16 ms=<median> gflops=.. pct_peak=..
 *   bench: name=attn_decode_f16_cached_t1 ms=.. gbps=.. gflops=.. pct_peak=.. ceil_gbps=..
 *          ceil_pct_bw=..
 *   bench: name=attn_prefill_causal_<type>_n<N> ms=<median> gflops=.. pct_peak=..
 *   bench: name=attn_threads_scaling_prefill ms_t1=.. ms_t2=.. ratio=<t1/t2>
 *   bench: name=attn_merge_q<N> ms=.. gbps=.. pct_bw=..
 *
 * Model shape throughout: 32 query heads, 8 KV heads (GQA 4), head_dim 128, 2 threads.
 * --threads N runs every 2-thread case with N threads instead (the targets are
 *   for 2; N shows how a larger machine scales): the limits line then says threads=N,
 *   the limits "read_gbps" and "fma_gflops" are measured with N threads, and the scaling
 *   line prints ms_tN and ratio=<t1/tN>. The case names do not change.
 * Decode: one query token over n_kv cached tokens; bytes = K and V read once,
 *   n_kv * n_kv_heads * head_dim * 2 * sizeof(type). The case is timed in rounds,
 *   each beside one read pass over a fixed 512 MiB buffer with the same thread count:
 *   bw_gbps is the best of those passes, pct_bw the case against it, pct_bw_run the
 *   case against the highest read bandwidth measured anywhere in the run (start, end
 *   and every round: the most conservative figure). The machine is shared, and what
 *   other tenants take changes within seconds (2-thread read bandwidth has been seen
 *   at 56 and at 33 GB/s on the same buffer a few seconds apart), so a limit measured
 *   a minute before a case says little about the conditions the case ran in.
 * Multi-token decode (attn_decode_f16_n<N>_q16): 16 query tokens at the cache's last
 *   positions (causal) over the same f16 cache, as a check of a speculative draft or a
 *   small prefill chunk runs; bound by arithmetic, so GFLOP/s (4 * head_dim * visible
 *   pairs * n_heads) against the FMA peak, as the prefill.
 * Decode from cache (attn_decode_f16_cached_t1): the f16 decode over n_kv 512 (2 MiB of
 *   K and V, in cache after the first call), one thread: the step's own speed without
 *   memory waits, also as GFLOP/s (4 * head_dim * n_kv * n_heads flops) against the
 *   1-thread FMA peak. No core decodes faster from memory than from cache, so ceil_gbps
 *   = threads x gbps bounds the f16 decode cases of the run (f32 moves twice the bytes
 *   for the same arithmetic), and ceil_pct_bw, ceil_gbps against the limits line's
 *   read_gbps, bounds their pct_bw: where it is below a target, the f16 decode cannot
 *   reach that target on this machine at that moment, whatever its memory access does.
 * Prefill: n_q = n_kv, causal; flops = 4 * head_dim * n(n+1)/2 * n_heads (q.k and p.v,
 *   2 flops per multiply-add, over the causal pairs); pct_peak against the 2-thread
 *   fp32 FMA peak (likewise the larger of the start and end measurements).
 * Merge (attn_merge_q<N>): lcx_attention_merge of two [N][32 heads][128] partials (one
 *   thread); bytes = out and part read, out written; pct_bw against the 1-thread read
 *   bandwidth (the limits line's read_gbps_t1). One core drives three streams here
 *   against the read pass's one, so the figure can pass 100.
 * The limits line also gives the load average at the start and the end: on a 2-core
 * machine another busy process halves what 2 threads get, and the figures mean little.
 * Every figure is computed from a measurement; every case is checked against a double
 * precision reference on a few rows (a wrong kernel stops the bench with exit 1).
 */
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"
#include "common.h"

#include <math.h>

#define N_HEADS 32
#define N_KV_HEADS 8
#define HEAD_DIM 128
/* threads of every case not named _t1; 2 unless --threads says otherwise (main) */
static int bench_threads = 2;
#define ROW_Q ((int64_t)N_HEADS * HEAD_DIM)     /* floats per query / output token */
#define ROW_KV ((int64_t)N_KV_HEADS * HEAD_DIM) /* elements per cached token (K or V) */

/* ---- random data ------------------------------------------------------------ */
static uint64_t rng_state = 0x243F6A8885A308D3ull;
static inline uint64_t rng_next(void) { return lcxb_rng_next(&rng_state); }
/* normal-ish: the sum of two uniforms (triangular on [-1, 1)) scaled to variance 1 */
static inline float rng_normalish(void) {
    uint64_t r = rng_next();
    double a = (double)(r >> 40) * (1.0 / 16777216.0), b = (double)(r & 0xFFFFFF) * (1.0 / 16777216.0);
    return (float)((a + b - 1.0) * 2.449489742783178); /* sqrt(6): var of a+b-1 is 1/6 */
}
static void fill_f32(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = rng_normalish();
}
static void fill_f16(lcx_f16 *x, int64_t n) {
    float buf[4096];
    for (int64_t i = 0; i < n; i += 4096) {
        int64_t m = n - i < 4096 ? n - i : 4096;
        fill_f32(buf, m);
        lcx_f32_to_f16_row(buf, x + i, m);
    }
}
/* element i of a K or V array of the given type, as double */
static double elem(lcx_dtype type, const void *base, int64_t i) {
    if (type == LCX_F16) return (double)lcx_f16_to_f32(((const lcx_f16 *)base)[i]);
    return (double)((const float *)base)[i];
}
static size_t type_size(lcx_dtype type) { return type == LCX_F32 ? sizeof(float) : sizeof(lcx_f16); }
static const char *type_name(lcx_dtype type) { return type == LCX_F32 ? "f32" : "f16"; }

/* ---- one lcx_attention call, as the timer's callback -------------------------- */
typedef struct {
    lcx_attn_desc desc;
    const float *q;
    int64_t n_q;
    lcx_kv_view kv;
    float *out;
    void *work;
    size_t work_bytes;
    lcx_status status;
} attn_run;

static void attn_call(void *p) {
    attn_run *r = (attn_run *)p;
    lcx_status s = lcx_attention(&r->desc, r->q, r->n_q, ROW_Q, NULL, &r->kv, r->out, ROW_Q,
                                 NULL, r->work, r->work_bytes);
    if (s != LCX_OK) r->status = s;
}

static void die_status(const char *what, lcx_status s) {
    fprintf(stderr, "bench: %s: %s\n", what, lcx_status_string(s));
    exit(1);
}

static lcx_attn_desc make_desc(int causal, int n_threads) {
    lcx_attn_desc d;
    memset(&d, 0, sizeof d);
    d.head_dim = HEAD_DIM;
    d.n_heads = N_HEADS;
    d.n_kv_heads = N_KV_HEADS;
    d.causal = causal;
    d.n_threads = n_threads;
    return d;
}

/* Set up r: workspace from the library's own query, allocated here (outside any
   timing). */
static void attn_prepare(attn_run *r, lcx_attn_desc desc, const float *q, int64_t n_q,
                         lcx_kv_view kv, float *out) {
    r->desc = desc;
    r->q = q;
    r->n_q = n_q;
    r->kv = kv;
    r->out = out;
    r->status = LCX_OK;
    size_t bytes = 0;
    lcx_status s = lcx_attention_workspace_size(&r->desc, n_q, &r->kv, &bytes);
    if (s != LCX_OK) die_status("lcx_attention_workspace_size", s);
    r->work_bytes = bytes;
    r->work = bytes ? lcxb_alloc(bytes) : NULL;
}
static void attn_release(attn_run *r) { free(r->work); r->work = NULL; }

/* Double-precision attention of query row t of the last call, head h, over K/V of
   `type` with token stride ROW_KV. The query's position is n_kv - n_q + t (q_pos NULL);
   causal: it sees keys 0..that position. Returns max |out - ref| over the row, relative
   to max |v|. */
static double check_row(const attn_run *r, lcx_dtype type, const void *k, const void *v,
                        int64_t n_kv, int64_t t, int h) {
    int kh = h / (N_HEADS / N_KV_HEADS);
    int64_t last = r->desc.causal ? n_kv - r->n_q + t : n_kv - 1;
    const float *q = r->q + t * ROW_Q + (int64_t)h * HEAD_DIM;
    const double scale = 1.0 / sqrt((double)HEAD_DIM);
    double mx = -INFINITY, den = 0, acc[HEAD_DIM] = {0}, vmax = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t j = 0; j <= last; j++) {
            int64_t base = j * ROW_KV + (int64_t)kh * HEAD_DIM;
            double s = 0;
            for (int i = 0; i < HEAD_DIM; i++) s += (double)q[i] * elem(type, k, base + i);
            s *= scale;
            if (pass == 0) {
                if (s > mx) mx = s;
                continue;
            }
            double p = exp(s - mx);
            den += p;
            for (int i = 0; i < HEAD_DIM; i++) {
                double vi = elem(type, v, base + i);
                acc[i] += p * vi;
                if (fabs(vi) > vmax) vmax = fabs(vi);
            }
        }
    }
    const float *o = r->out + t * ROW_Q + (int64_t)h * HEAD_DIM;
    double err = 0;
    for (int i = 0; i < HEAD_DIM; i++) {
        double e = fabs((double)o[i] - acc[i] / den);
        if (!(e <= err)) err = e; /* NaN propagates */
    }
    return err / (vmax > 0 ? vmax : 1);
}

/* Check a few (row, head) pairs of the last call; exit 1 when far off. The tolerance is
   loose: a sanity check that the timed kernel computes attention (the tests own
   accuracy). Decode: the one query sits at the last position. */
static void check_result(const char *name, attn_run *r, lcx_dtype type, const void *k,
                         const void *v, int64_t n_kv) {
    if (r->status != LCX_OK) die_status(name, r->status);
    int64_t rows[3] = {0, r->n_q / 2, r->n_q - 1};
    int heads[2] = {0, N_HEADS - 1};
    double worst = 0;
    for (int a = 0; a < (r->n_q == 1 ? 1 : 3); a++)
        for (int b = 0; b < 2; b++) {
            double e = check_row(r, type, k, v, n_kv, rows[a], heads[b]);
            if (!(e <= worst)) worst = e;
        }
    if (!(worst <= 1e-3)) {
        fprintf(stderr, "bench: %s: output differs from the reference by %.3g\n", name, worst);
        exit(1);
    }
}

/* ---- results, printed at the end ---------------------------------------------- */
enum { R_DECODE, R_CACHED, R_PREFILL, R_SCALING, R_MERGE };
typedef struct {
    char name[64];
    int kind, one_thread;
    double ms, ms2, amount; /* amount: bytes (decode, merge) or flops (prefill); ms2:
                               the N-thread time (scaling) */
    double flops;           /* cached decode: the flops of one call (amount: its bytes) */
    double bw;              /* decode: read GB/s measured beside the case */
} result;
static result results[32];
static int n_results;

static result *add_result(int kind, const char *name, double ms, double amount, int one_thread) {
    result *r = &results[n_results++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->kind = kind;
    r->ms = ms;
    r->amount = amount;
    r->one_thread = one_thread;
    fprintf(stderr, "# %s: %.3f ms\n", name, ms);
    return r;
}

/* ---- decode ------------------------------------------------------------------- */
static int decode_reps(void) { return lcxb_quick() ? 3 : 25; }

/* the read-pass buffer (main allocates it) and the highest read bandwidth seen, per
   thread count (index 1: one thread, 2: bench_threads threads) */
static float *bw_buf;
static size_t bw_floats;
static double bw_seen[3];
static void saw_bw(int n_threads, double gbps) {
    int i = n_threads == 1 ? 1 : 2;
    if (gbps > bw_seen[i]) bw_seen[i] = gbps;
}

/* Median time of the run's calls, in 5 rounds of 5 calls, each round after one read
   pass over bw_buf with n_threads threads; *bw: the best pass, GB/s. */
static double time_beside_read(attn_run *r, int n_threads, double *bw) {
    enum { ROUNDS = 5, PER = 5 };
    double t[ROUNDS * PER], tb[ROUNDS];
    int rounds = lcxb_quick() ? 1 : ROUNDS, per = lcxb_quick() ? 3 : PER, k = 0, i, j;
    attn_call(r); /* warm-up */
    for (i = 0; i < rounds; i++) {
        tb[i] = lcxb_read_pass(bw_buf, bw_floats, n_threads);
        for (j = 0; j < per; j++) {
            double t0 = lcxb_now();
            attn_call(r);
            t[k++] = (lcxb_now() - t0) * 1e3;
        }
    }
    *bw = (double)bw_floats * sizeof(float) / lcxb_best(tb, rounds) * 1e-9;
    saw_bw(n_threads, *bw);
    return lcxb_median(t, k);
}

static void bench_decode(const char *name, lcx_dtype type, const void *k, const void *v,
                         int64_t n_kv, int n_threads, const float *q, float *out) {
    attn_run r;
    lcx_kv_view kv = lcx_kv_view_contiguous(type, k, v, n_kv, 0, 0, NULL);
    double bw;
    attn_prepare(&r, make_desc(1, n_threads), q, 1, kv, out);
    double ms = time_beside_read(&r, n_threads, &bw);
    check_result(name, &r, type, k, v, n_kv);
    attn_release(&r);
    add_result(R_DECODE, name, ms, (double)n_kv * (double)ROW_KV * 2.0 * (double)type_size(type),
               n_threads == 1)->bw = bw;
}

/* The same cache through a page table of page_tokens-row pages, in shuffled order (a
   cache whose pages were allocated as the sequence grew, among other sequences'). */
static void bench_decode_paged(const char *name, const lcx_f16 *k, const lcx_f16 *v,
                               int64_t n_kv, int64_t page_tokens, const float *q, float *out) {
    int64_t n_pages = n_kv / page_tokens;
    const void **kp = (const void **)lcxb_alloc((size_t)n_pages * sizeof(void *));
    const void **vp = (const void **)lcxb_alloc((size_t)n_pages * sizeof(void *));
    lcx_f16 *kc = (lcx_f16 *)lcxb_alloc((size_t)(n_kv * ROW_KV) * sizeof(lcx_f16));
    lcx_f16 *vc = (lcx_f16 *)lcxb_alloc((size_t)(n_kv * ROW_KV) * sizeof(lcx_f16));
    int64_t *perm = lcxb_shuffled_perm(n_pages, &rng_state);
    /* logical page p lives in physical slot perm[p]; copy the contiguous cache there */
    size_t page_elems = (size_t)(page_tokens * ROW_KV);
    for (int64_t p = 0; p < n_pages; p++) {
        lcx_f16 *kd = kc + (size_t)perm[p] * page_elems, *vd = vc + (size_t)perm[p] * page_elems;
        memcpy(kd, k + (size_t)p * page_elems, page_elems * sizeof(lcx_f16));
        memcpy(vd, v + (size_t)p * page_elems, page_elems * sizeof(lcx_f16));
        kp[p] = kd;
        vp[p] = vd;
    }
    attn_run r;
    lcx_kv_view kv = lcx_kv_view_paged(LCX_F16, (const void *const *)kp, (const void *const *)vp,
                                       page_tokens, n_pages * page_tokens, 0, 0, NULL);
    double bw;
    attn_prepare(&r, make_desc(1, bench_threads), q, 1, kv, out);
    double ms = time_beside_read(&r, bench_threads, &bw);
    /* the reference reads the contiguous copy: same values, same token order */
    check_result(name, &r, LCX_F16, k, v, n_pages * page_tokens);
    attn_release(&r);
    add_result(R_DECODE, name, ms, (double)(n_pages * page_tokens) * (double)ROW_KV * 2.0 * 2.0,
               0)->bw = bw;
    free(perm);
    free(kc);
    free(vc);
    free((void *)kp);
    free((void *)vp);
}

/* The decode step's own speed, with its memory waits taken away: one thread, n_kv
   small enough (n_kv 512: 2 MiB of f16 K and V) that the cache holds it after the
   first call. Timed in batches of calls (one call takes tens of microseconds). Its
   rate is what one core can decode at most; bench_threads cores at most that many
   times it, which main prints beside the read bandwidth (ceil_gbps, ceil_pct_bw). */
#define CACHED_BATCH 64
static void attn_call_batch(void *p) {
    for (int i = 0; i < CACHED_BATCH; i++) attn_call(p);
}
static void bench_decode_cached(const char *name, const lcx_f16 *k, const lcx_f16 *v,
                                int64_t n_kv, const float *q, float *out) {
    attn_run r;
    lcx_kv_view kv = lcx_kv_view_contiguous(LCX_F16, k, v, n_kv, 0, 0, NULL);
    attn_prepare(&r, make_desc(1, 1), q, 1, kv, out);
    attn_call_batch(&r); /* warm-up: K and V into the cache */
    double ms = lcxb_time_ms(attn_call_batch, &r, decode_reps()) / CACHED_BATCH;
    check_result(name, &r, LCX_F16, k, v, n_kv);
    attn_release(&r);
    result *res = add_result(R_CACHED, name, ms, (double)n_kv * (double)ROW_KV * 2.0 * 2.0, 1);
    res->flops = 4.0 * HEAD_DIM * (double)n_kv * N_HEADS; /* q.k and p.v */
}

/* ---- prefill, and decode of several queries ---------------------------------- */
/* A causal call of n_q queries over n_kv keys, timed over reps calls, in GFLOP/s against
   the FMA peak: the prefill (n_q = n_kv), and the decode of several query tokens at
   once (a check of a speculative draft, a small prefill chunk), whose n_q x 4 query
   heads per KV head keep the FMA units busier than memory. */
static void bench_causal(const char *name, lcx_dtype type, const void *k, const void *v,
                         int64_t n_kv, int64_t n_q, int reps, const float *q, float *out) {
    attn_run r;
    lcx_kv_view kv = lcx_kv_view_contiguous(type, k, v, n_kv, 0, 0, NULL);
    attn_prepare(&r, make_desc(1, bench_threads), q, n_q, kv, out);
    double ms = lcxb_time_ms(attn_call, &r, reps);
    check_result(name, &r, type, k, v, n_kv);
    attn_release(&r);
    add_result(R_PREFILL, name, ms, 4.0 * HEAD_DIM * lcxb_pairs(n_kv, n_q, 1) * N_HEADS, 0);
}

/* 1 vs bench_threads threads, alternating so that drift in the machine's load hits both alike. */
static void bench_scaling(const float *k, const float *v, int64_t n, const float *q, float *out) {
    attn_run r1, r2;
    lcx_kv_view kv = lcx_kv_view_contiguous(LCX_F32, k, v, n, 0, 0, NULL);
    attn_prepare(&r1, make_desc(1, 1), q, n, kv, out);
    attn_prepare(&r2, make_desc(1, bench_threads), q, n, kv, out);
    enum { REPS = 5 };
    double t1[REPS], t2[REPS];
    attn_call(&r1); /* warm-up */
    attn_call(&r2);
    for (int i = 0; i < REPS; i++) {
        double t0 = lcxb_now();
        attn_call(&r1);
        t1[i] = (lcxb_now() - t0) * 1e3;
        t0 = lcxb_now();
        attn_call(&r2);
        t2[i] = (lcxb_now() - t0) * 1e3;
    }
    check_result("attn_threads_scaling_prefill (N threads)", &r2, LCX_F32, k, v, n);
    attn_call(&r1);
    check_result("attn_threads_scaling_prefill (1 thread)", &r1, LCX_F32, k, v, n);
    attn_release(&r1);
    attn_release(&r2);
    result *res = add_result(R_SCALING, "attn_threads_scaling_prefill", lcxb_median(t1, REPS), 0, 0);
    res->ms2 = lcxb_median(t2, REPS);
}

/* ---- merge -------------------------------------------------------------------- */
typedef struct {
    float *out, *lse;
    const float *part, *part_lse;
    int64_t n_q;
    lcx_status status;
} merge_run;
static void merge_call(void *p) {
    merge_run *m = (merge_run *)p;
    lcx_status s = lcx_attention_merge(m->out, m->lse, ROW_Q, m->part, m->part_lse, ROW_Q,
                                       m->n_q, N_HEADS, HEAD_DIM, NULL);
    if (s != LCX_OK) m->status = s;
}

/* Merge one partial result of n_q queries into another: reads out, part (and their
   lse), writes out; bytes counted as those three passes. */
static void bench_merge(int64_t n_q) {
    size_t nf = (size_t)(n_q * ROW_Q), nl = (size_t)n_q * N_HEADS;
    merge_run m;
    m.out = (float *)lcxb_alloc(nf * sizeof(float));
    m.lse = (float *)lcxb_alloc(nl * sizeof(float));
    float *part = (float *)lcxb_alloc(nf * sizeof(float));
    float *part_lse = (float *)lcxb_alloc(nl * sizeof(float));
    fill_f32(m.out, (int64_t)nf);
    fill_f32(part, (int64_t)nf);
    fill_f32(m.lse, (int64_t)nl);
    fill_f32(part_lse, (int64_t)nl);
    /* check once: out' = (e^a out + e^b part) / (e^a + e^b), lse' = log(e^a + e^b) */
    double a = m.lse[nl - 1], b = part_lse[nl - 1], o = m.out[nf - 1], pv = part[nf - 1];
    double mx = a > b ? a : b, want = (exp(a - mx) * o + exp(b - mx) * pv) / (exp(a - mx) + exp(b - mx));
    double want_lse = mx + log(exp(a - mx) + exp(b - mx));
    m.part = part;
    m.part_lse = part_lse;
    m.n_q = n_q;
    m.status = LCX_OK;
    merge_call(&m);
    if (m.status != LCX_OK) die_status("lcx_attention_merge", m.status);
    if (!(fabs(m.out[nf - 1] - want) <= 1e-5 * (1 + fabs(want)) && fabs(m.lse[nl - 1] - want_lse) <= 1e-5 * (1 + fabs(want_lse)))) {
        fprintf(stderr, "bench: lcx_attention_merge: wrong result (%g vs %g)\n", m.out[nf - 1], want);
        exit(1);
    }
    /* repeated merges keep values bounded: out stays a weighted mean, lse grows by at
       most log 2 + |part_lse| per merge */
    double ms = lcxb_time_ms(merge_call, &m, decode_reps());
    if (m.status != LCX_OK) die_status("lcx_attention_merge", m.status);
    char name[64];
    snprintf(name, sizeof name, "attn_merge_q%lld", (long long)n_q);
    add_result(R_MERGE, name, ms, 3.0 * (double)(nf + nl) * sizeof(float), 0);
    free(m.out);
    free(m.lse);
    free(part);
    free(part_lse);
}

/* The 1-minute load average (Linux; -1 elsewhere). Two threads on a 2-core machine
   that something else keeps busy measure the neighbour, not the kernel: the figure is
   printed so a reader can tell, and a warning goes to stderr. */
static double load_average(void) {
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

/* ---- main --------------------------------------------------------------------- */
int main(int argc, char **argv) {
    lcxb_init(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) continue; /* lcxb_init's */
        char *end = NULL;
        long t = i + 1 < argc && strcmp(argv[i], "--threads") == 0 ? strtol(argv[i + 1], &end, 10) : 0;
        if (t < 1 || t > 1024 || *end) {
            fprintf(stderr, "usage: %s [--quick] [--threads N (1..1024; default 2)]\n", argv[0]);
            return 2;
        }
        bench_threads = (int)t;
        i++;
    }
    const int quick = lcxb_quick();
    char name[64];

    double load_start = load_average();
    if (load_start > 0.5)
        fprintf(stderr, "# warning: load average %.2f before the start: other processes share "
                        "the cores, figures will be low\n", load_start);
    fprintf(stderr, "# limits (read bandwidth, FMA peak)...\n");
    double bw2_start = lcxb_read_bw(bench_threads), bw1_start = lcxb_read_bw(1);
    double fma2_start = lcxb_fma_peak(bench_threads), fma1_start = lcxb_fma_peak(1);

    /* decode: one f16 cache of the largest size; smaller cases use its first rows.
       n 4096 is 16 MB of K+V, half the 32 MB L3: it may partly sit in cache, so its
       pct_bw can exceed what DRAM allows. n 32768 (134 MB) and 131072 (537 MB) cannot. */
    const int64_t dec_n[3] = {quick ? 128 : 4096, quick ? 512 : 32768, quick ? 1024 : 131072};
    const int64_t n_mid = dec_n[1];
    float *q = (float *)lcxb_alloc((size_t)ROW_Q * sizeof(float));
    float *out = (float *)lcxb_alloc((size_t)ROW_Q * sizeof(float));
    fill_f32(q, ROW_Q);
    bw_floats = (quick ? ((size_t)1 << 22) : LCXB_BW_BYTES) / sizeof(float);
    bw_buf = lcxb_read_buffer(bw_floats * sizeof(float), bench_threads);
    {
        fprintf(stderr, "# filling the decode caches...\n");
        size_t elems = (size_t)(dec_n[2] * ROW_KV), elems32 = (size_t)(n_mid * ROW_KV);
        lcx_f16 *k = (lcx_f16 *)lcxb_alloc(elems * sizeof(lcx_f16));
        lcx_f16 *v = (lcx_f16 *)lcxb_alloc(elems * sizeof(lcx_f16));
        float *k32 = (float *)lcxb_alloc(elems32 * sizeof(float));
        float *v32 = (float *)lcxb_alloc(elems32 * sizeof(float));
        fill_f16(k, (int64_t)elems);
        fill_f16(v, (int64_t)elems);
        fill_f32(k32, (int64_t)elems32);
        fill_f32(v32, (int64_t)elems32);
        for (int i = 0; i < 3; i++) {
            snprintf(name, sizeof name, "attn_decode_f16_n%lld", (long long)dec_n[i]);
            bench_decode(name, LCX_F16, k, v, dec_n[i], bench_threads, q, out);
        }
        snprintf(name, sizeof name, "attn_decode_f32_n%lld", (long long)n_mid);
        bench_decode(name, LCX_F32, k32, v32, n_mid, bench_threads, q, out);
        snprintf(name, sizeof name, "attn_decode_f16_n%lld_t1", (long long)n_mid);
        bench_decode(name, LCX_F16, k, v, n_mid, 1, q, out);
        snprintf(name, sizeof name, "attn_decode_f16_n%lld_paged", (long long)n_mid);
        bench_decode_paged(name, k, v, n_mid, quick ? 64 : 256, q, out);
        {
            float *q16 = (float *)lcxb_alloc((size_t)(16 * ROW_Q) * sizeof(float));
            float *out16 = (float *)lcxb_alloc((size_t)(16 * ROW_Q) * sizeof(float));
            fill_f32(q16, 16 * ROW_Q);
            snprintf(name, sizeof name, "attn_decode_f16_n%lld_q16", (long long)n_mid);
            bench_causal(name, LCX_F16, k, v, n_mid, 16, decode_reps(), q16, out16);
            free(q16);
            free(out16);
        }
        bench_decode_cached("attn_decode_f16_cached_t1", k, v, 512, q, out);
        free(k);
        free(v);
        free(k32);
        free(v32);
    }
    free(q);
    free(out);
    free(bw_buf);

    /* prefill, causal, n_q = n_kv */
    const int64_t pre_n[2] = {quick ? 32 : 2048, quick ? 64 : 4096};
    {
        int64_t nmax = pre_n[1];
        float *pq = (float *)lcxb_alloc((size_t)(nmax * ROW_Q) * sizeof(float));
        float *pout = (float *)lcxb_alloc((size_t)(nmax * ROW_Q) * sizeof(float));
        float *k32 = (float *)lcxb_alloc((size_t)(nmax * ROW_KV) * sizeof(float));
        float *v32 = (float *)lcxb_alloc((size_t)(nmax * ROW_KV) * sizeof(float));
        lcx_f16 *k16 = (lcx_f16 *)lcxb_alloc((size_t)(nmax * ROW_KV) * sizeof(lcx_f16));
        lcx_f16 *v16 = (lcx_f16 *)lcxb_alloc((size_t)(nmax * ROW_KV) * sizeof(lcx_f16));
        fill_f32(pq, nmax * ROW_Q);
        fill_f32(k32, nmax * ROW_KV);
        fill_f32(v32, nmax * ROW_KV);
        fill_f16(k16, nmax * ROW_KV);
        fill_f16(v16, nmax * ROW_KV);
        for (int t = 0; t < 2; t++)
            for (int i = 0; i < 2; i++) {
                lcx_dtype type = t == 0 ? LCX_F32 : LCX_F16;
                snprintf(name, sizeof name, "attn_prefill_causal_%s_n%lld", type_name(type),
                         (long long)pre_n[i]);
                /* smaller n: the first rows of the same arrays (row strides unchanged) */
                bench_causal(name, type, t == 0 ? (const void *)k32 : (const void *)k16,
                             t == 0 ? (const void *)v32 : (const void *)v16, pre_n[i], pre_n[i],
                             lcxb_quick() ? 3 : 5, pq, pout);
            }
        bench_scaling(k32, v32, nmax, pq, pout);
        free(pq);
        free(pout);
        free(k32);
        free(v32);
        free(k16);
        free(v16);
    }
    bench_merge(quick ? 64 : 4096);

    fprintf(stderr, "# limits again...\n");
    double bw2_end = lcxb_read_bw(bench_threads), bw1_end = lcxb_read_bw(1);
    double fma2_end = lcxb_fma_peak(bench_threads), fma1_end = lcxb_fma_peak(1);
    double fma2 = fma2_start > fma2_end ? fma2_start : fma2_end;
    double fma1 = fma1_start > fma1_end ? fma1_start : fma1_end;
    double load_end = load_average();
    double bw2 = bw2_start > bw2_end ? bw2_start : bw2_end;
    double bw1 = bw1_start > bw1_end ? bw1_start : bw1_end;

#ifdef _OPENMP
    const int openmp = 1;
#else
    const int openmp = 0; /* n_threads 2 runs serially: the "2-thread" figures are 1-thread */
#endif
    char threads_field[32] = "";
    if (bench_threads != 2) snprintf(threads_field, sizeof threads_field, " threads=%d", bench_threads);
    printf("bench: name=limits read_gbps=%.2f read_gbps_t1=%.2f fma_gflops=%.1f fma_gflops_t1=%.1f "
           "read_gbps_start=%.2f read_gbps_end=%.2f read_gbps_t1_start=%.2f read_gbps_t1_end=%.2f "
           "fma_gflops_start=%.1f fma_gflops_end=%.1f openmp=%d simd=%s load_start=%.2f "
           "load_end=%.2f%s\n",
           bw2, bw1, fma2, fma1, bw2_start, bw2_end, bw1_start, bw1_end, fma2_start, fma2_end,
           openmp, lcx_simd_name(), load_start, load_end, threads_field);
    for (int i = 0; i < n_results; i++) {
        const result *r = &results[i];
        switch (r->kind) {
        case R_DECODE: {
            double gbps = r->amount / (r->ms * 1e-3) * 1e-9;
            double run = r->one_thread ? bw1 : bw2;
            if (bw_seen[r->one_thread ? 1 : 2] > run) run = bw_seen[r->one_thread ? 1 : 2];
            printf("bench: name=%s ms=%.3f gbps=%.2f pct_bw=%.1f bw_gbps=%.2f pct_bw_run=%.1f\n",
                   r->name, r->ms, gbps, 100.0 * gbps / r->bw, r->bw, 100.0 * gbps / run);
            break;
        }
        case R_CACHED: {
            double gbps = r->amount / (r->ms * 1e-3) * 1e-9, gflops = r->flops / (r->ms * 1e-3) * 1e-9;
            printf("bench: name=%s ms=%.4f gbps=%.2f gflops=%.1f pct_peak=%.1f ceil_gbps=%.2f "
                   "ceil_pct_bw=%.1f\n",
                   r->name, r->ms, gbps, gflops, 100.0 * gflops / fma1, bench_threads * gbps,
                   100.0 * bench_threads * gbps / bw2);
            break;
        }
        case R_PREFILL: {
            double gflops = r->amount / (r->ms * 1e-3) * 1e-9;
            printf("bench: name=%s ms=%.2f gflops=%.1f pct_peak=%.1f\n", r->name, r->ms, gflops,
                   100.0 * gflops / fma2);
            break;
        }
        case R_SCALING:
            printf("bench: name=%s ms_t1=%.2f ms_t%d=%.2f ratio=%.3f\n", r->name, r->ms, bench_threads,
                   r->ms2, r->ms / r->ms2);
            break;
        case R_MERGE: {
            double gbps = r->amount / (r->ms * 1e-3) * 1e-9;
            printf("bench: name=%s ms=%.3f gbps=%.2f pct_bw=%.1f\n", r->name, r->ms, gbps,
                   100.0 * gbps / bw1);
            break;
        }
        }
    }
    return 0;
}
