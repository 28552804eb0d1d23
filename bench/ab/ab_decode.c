/* bench/ab/ab_decode.c - two builds of the library in one process, decode (or prefill)
 * calls alternating.
 *
 * Whole benchmark runs on a shared machine move by 20% with the other tenants' load, so a
 * change to the decode step worth 2-5% is lost between two runs. This tool loads two
 * builds of the library (shared objects made from two versions of include/longctx.h; see
 * ab.sh, which builds them and runs this) and times them on the same KV cache, round by
 * round: in each round each build makes one warm-up call and `reps` timed calls (the
 * median counts), and the order of the two builds swaps every round. It prints one line
 *     ab: n_kv=.. threads=.. type=.. paged=.. rounds=.. a_gbps=.. b_gbps=.. ratio=..
 *         b_faster=k/N max_diff=.. read_gbps_start=.. read_gbps_end=..
 * ratio = b_gbps / a_gbps (means over the rounds); b_faster: rounds where B beat A;
 * max_diff: the largest difference between the two builds' outputs (a check that both
 * compute the same attention); read_gbps: the machine's read bandwidth before and after.
 * GB/s counts K and V read once per call, as bench/attention.c does.
 *
 * The instrument's own spread: the same header as A and B (`ab.sh HEAD HEAD`) on the
 * 2-core Zen 5 VM, 2026-12-04, gave ratio 0.98-1.03 with B faster in 3 to 7 of 8-10
 * rounds (f16 n_kv 32768 and 131072, f32 32768). Take smaller differences as none.
 *
 * Usage: ab_decode LIB_A LIB_B [--n-kv N] [--threads T] [--rounds R] [--reps P]
 *                  [--type f16|bf16|f32] [--paged PAGE_TOKENS] [--kv-heads H] [--dim D]
 *                  [--n-q Q] [--prefill] [--causal 0|1]
 *                  [--quick]   (or LCX_BENCH_QUICK=1: read passes over 4 MiB, for tests)
 * Defaults: n_kv 32768, 2 threads, 16 rounds, 5 reps, f16, contiguous, 32 query heads
 * over 8 KV heads, head_dim 128 (the bench's decode shape).
 * --n-q Q: a decode of Q query tokens at the cache's last positions (causal unless
 * --causal 0), as a check of a speculative draft runs; the line then starts "ab: n_q=Q"
 * and gives a_gflops and b_gflops (4 x head_dim x visible pairs x n_heads per call).
 * --prefill: a prefill instead, n_q = n_kv queries (one per token; default n_kv 2048),
 * causal unless --causal 0; the line then starts "ab: prefill=causal" (or "=full") and
 * gives a_gflops and b_gflops, counted as bench/attention.c counts them (4 x head_dim x
 * visible pairs x n_heads per call). The two builds must share the public structs of
 * this checkout's header (lcx_attn_desc, lcx_kv_view): the tool is for changes inside the
 * kernels. POSIX (dlopen); not part of `make bench`.
 */
#define _POSIX_C_SOURCE 200809L
#include "longctx.h"
#include "common.h"
#include <dlfcn.h>
#include <math.h>

typedef lcx_status (*ab_attention_fn)(const lcx_attn_desc *, const float *, int64_t, int64_t,
                                      const int64_t *, const lcx_kv_view *, float *, int64_t,
                                      float *, void *, size_t);
typedef lcx_status (*ab_workspace_fn)(const lcx_attn_desc *, int64_t, const lcx_kv_view *,
                                      size_t *);
typedef lcx_kv_view (*ab_contiguous_fn)(lcx_dtype, const void *, const void *, int64_t, int64_t,
                                        int64_t, const int64_t *);
typedef lcx_kv_view (*ab_paged_fn)(lcx_dtype, const void *const *, const void *const *, int64_t,
                                   int64_t, int64_t, int64_t, const int64_t *);

typedef struct ab_build {
    ab_attention_fn attention;
    ab_workspace_fn workspace;
    const lcx_attn_desc *desc;
    const float *q; /* one token; q and out rows are n_heads * head_dim floats */
    lcx_kv_view kv;
    void *work;
    size_t work_bytes;
    float *out;
    int64_t n_q;
    lcx_status status; /* of the last call */
} ab_build;

/* A symbol as a function pointer (ISO C has no cast from void * to one; POSIX
   guarantees the representation). */
static void ab_sym(void *lib, const char *name, void *fn_ptr, size_t size) {
    void *p = dlsym(lib, name);
    if (!p) {
        fprintf(stderr, "ab_decode: %s: %s\n", name, dlerror());
        exit(1);
    }
    memcpy(fn_ptr, &p, size);
}

static void ab_usage(void) {
    fprintf(stderr, "usage: ab_decode LIB_A LIB_B [--n-kv N] [--threads T] [--rounds R] [--reps P]\n"
                    "                 [--type f16|bf16|f32] [--paged PAGE_TOKENS] [--kv-heads H] [--dim D]\n"
                    "                 [--n-q Q] [--prefill] [--causal 0|1] [--quick]\n");
    exit(2);
}

/* One call of a build (lcxb_time_ms's callback): n_q queries. */
static void ab_call(void *ctx) {
    ab_build *b = (ab_build *)ctx;
    const int64_t row = (int64_t)b->desc->n_heads * b->desc->head_dim;
    b->status = b->attention(b->desc, b->q, b->n_q, row, NULL, &b->kv, b->out, row, NULL,
                             b->work, b->work_bytes);
}

/* Units per microsecond of a build's median call (after a warm-up call), units per call
   given: bytes give GB/s, flops GFLOP/s. */
static double ab_call_rate(ab_build *b, double units, int reps) {
    double ms = lcxb_time_ms(ab_call, b, reps);
    if (b->status != LCX_OK) {
        fprintf(stderr, "ab_decode: lcx_attention failed\n");
        exit(1);
    }
    return units / ms * 1e-6;
}

int main(int argc, char **argv) {
    int64_t n_kv = -1, page_tokens = 0, n_q, n_q_opt = 1;
    int threads = 2, rounds = 16, reps = 5, nh = 32, nkv = 8, d = 128, i, r;
    int prefill = 0, causal = 1;
    lcx_dtype type = LCX_F16;
    const char *type_name = "f16";
    ab_build b[2];
    void *lib[2];
    lcx_f16 (*to_f16)(float);
    lcx_bf16 (*to_bf16)(float);
    lcx_attn_desc desc;
    if (argc < 3) ab_usage();
    lcxb_init(argc, argv);
    for (i = 3; i < argc; i += 2) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--quick")) { /* read passes over 4 MiB (lcxb_init) */
            i--;
            continue;
        }
        if (!strcmp(o, "--prefill")) {
            prefill = 1;
            i--;
            continue;
        }
        if (!v) ab_usage();
        if (!strcmp(o, "--n-kv")) n_kv = atoll(v);
        else if (!strcmp(o, "--threads")) threads = atoi(v);
        else if (!strcmp(o, "--rounds")) rounds = atoi(v);
        else if (!strcmp(o, "--reps")) reps = atoi(v);
        else if (!strcmp(o, "--paged")) page_tokens = atoll(v);
        else if (!strcmp(o, "--kv-heads")) nkv = atoi(v);
        else if (!strcmp(o, "--dim")) d = atoi(v);
        else if (!strcmp(o, "--causal")) causal = atoi(v);
        else if (!strcmp(o, "--n-q")) n_q_opt = atoll(v);
        else if (!strcmp(o, "--type")) {
            type_name = v;
            if (!strcmp(v, "f16")) type = LCX_F16;
            else if (!strcmp(v, "bf16")) type = LCX_BF16;
            else if (!strcmp(v, "f32")) type = LCX_F32;
            else ab_usage();
        } else ab_usage();
    }
    if (n_kv < 0) n_kv = prefill ? 2048 : 32768;
    n_q = prefill ? n_kv : n_q_opt;
    if (n_q < 1 || (!prefill && n_q > n_kv) || n_kv < 1 || threads < 1 || rounds < 1 || reps < 1 || reps > 64 || nkv < 1 || nkv > nh ||
        nh % nkv || d < 2 || d > LCX_ATTN_MAX_HEAD_DIM || (d & 1) || page_tokens < 0 ||
        (page_tokens && n_kv % page_tokens))
        ab_usage();

    memset(&desc, 0, sizeof desc);
    desc.head_dim = d;
    desc.n_heads = nh;
    desc.n_kv_heads = nkv;
    desc.n_threads = threads;
    desc.causal = (prefill || n_q > 1) && causal;
    for (i = 0; i < 2; i++) {
        lib[i] = dlopen(argv[1 + i], RTLD_NOW | RTLD_LOCAL);
        if (!lib[i]) {
            fprintf(stderr, "ab_decode: %s\n", dlerror());
            return 1;
        }
        ab_sym(lib[i], "lcx_attention", &b[i].attention, sizeof b[i].attention);
        ab_sym(lib[i], "lcx_attention_workspace_size", &b[i].workspace, sizeof b[i].workspace);
    }
    ab_sym(lib[0], "lcx_f32_to_f16", &to_f16, sizeof to_f16); /* the cache is filled by A's */
    ab_sym(lib[0], "lcx_f32_to_bf16", &to_bf16, sizeof to_bf16);

    const size_t es = type == LCX_F32 ? 4 : 2, row = (size_t)nkv * (size_t)d * es;
    const size_t kv_bytes = (size_t)n_kv * row;
    char *k = (char *)lcxb_alloc(kv_bytes), *v = (char *)lcxb_alloc(kv_bytes);
    float *q = (float *)lcxb_alloc((size_t)n_q * (size_t)nh * (size_t)d * sizeof(float));
    const void **kp = NULL, **vp = NULL;
    uint64_t x, rng = 0x243F6A8885A308D3ull;
    for (size_t e = 0; e < kv_bytes / es; e++) {
        float a, c;
        x = lcxb_rng_next(&rng);
        a = (float)(x & 0xFFFF) / 65536.0f - 0.5f;
        c = (float)((x >> 16) & 0xFFFF) / 65536.0f - 0.5f;
        if (type == LCX_F32) { ((float *)(void *)k)[e] = a; ((float *)(void *)v)[e] = c; }
        else if (type == LCX_F16) { ((lcx_f16 *)(void *)k)[e] = to_f16(a); ((lcx_f16 *)(void *)v)[e] = to_f16(c); }
        else { ((lcx_bf16 *)(void *)k)[e] = to_bf16(a); ((lcx_bf16 *)(void *)v)[e] = to_bf16(c); }
    }
    for (size_t e = 0; e < (size_t)n_q * (size_t)nh * (size_t)d; e++)
        q[e] = (float)((e * 37) % 101) / 101.0f - 0.5f;
    if (page_tokens) { /* pages of the same memory, in shuffled order */
        int64_t np = n_kv / page_tokens, p;
        int64_t *perm = lcxb_shuffled_perm(np, &rng);
        kp = (const void **)lcxb_alloc((size_t)np * sizeof(void *));
        vp = (const void **)lcxb_alloc((size_t)np * sizeof(void *));
        for (p = 0; p < np; p++) {
            kp[p] = k + (size_t)perm[p] * (size_t)page_tokens * row;
            vp[p] = v + (size_t)perm[p] * (size_t)page_tokens * row;
        }
        free(perm);
    }

    for (i = 0; i < 2; i++) {
        ab_contiguous_fn contiguous;
        ab_paged_fn paged;
        ab_sym(lib[i], "lcx_kv_view_contiguous", &contiguous, sizeof contiguous);
        ab_sym(lib[i], "lcx_kv_view_paged", &paged, sizeof paged);
        b[i].kv = page_tokens ? paged(type, kp, vp, page_tokens, n_kv, 0, 0, NULL)
                              : contiguous(type, k, v, n_kv, 0, 0, NULL);
        if (b[i].workspace(&desc, n_q, &b[i].kv, &b[i].work_bytes) != LCX_OK) {
            fprintf(stderr, "ab_decode: lcx_attention_workspace_size failed (%s)\n", argv[1 + i]);
            return 1;
        }
        b[i].desc = &desc;
        b[i].q = q;
        b[i].n_q = n_q;
        b[i].work = lcxb_alloc(b[i].work_bytes);
        b[i].out = (float *)lcxb_alloc((size_t)n_q * (size_t)nh * (size_t)d * sizeof(float));
    }

#ifdef _OPENMP
    const int read_threads = threads;
#else
    const int read_threads = 1; /* the library runs one thread without OpenMP */
#endif
    /* per call: decode of one query, K and V read once; more queries (the last n_q
       positions) and prefill, the flops bench/attention.c counts */
    const int flops = prefill || n_q > 1;
    const double units = flops ? 4.0 * d * lcxb_pairs(n_kv, n_q, desc.causal) * nh
                               : 2.0 * (double)kv_bytes;
    double read_start = lcxb_read_bw(read_threads), sum[2] = {0, 0}, max_diff = 0;
    int b_faster = 0;
    for (r = 0; r < rounds; r++) {
        double g[2];
        for (i = 0; i < 2; i++) {
            int which = r & 1 ? 1 - i : i;
            g[which] = ab_call_rate(&b[which], units, reps);
        }
        sum[0] += g[0];
        sum[1] += g[1];
        b_faster += g[1] > g[0];
    }
    for (size_t e = 0; e < (size_t)n_q * (size_t)nh * (size_t)d; e++) {
        double diff = fabs((double)b[0].out[e] - (double)b[1].out[e]);
        if (!(diff <= max_diff)) max_diff = diff; /* NaN propagates */
    }
    double read_end = lcxb_read_bw(read_threads);
    char what[48] = "";
    if (prefill) snprintf(what, sizeof what, "prefill=%s ", desc.causal ? "causal" : "full");
    else if (n_q > 1) snprintf(what, sizeof what, "n_q=%lld causal=%d ", (long long)n_q, desc.causal);
    printf("ab: %sn_kv=%lld threads=%d type=%s paged=%lld rounds=%d a_%s=%.2f b_%s=%.2f "
           "ratio=%.4f b_faster=%d/%d max_diff=%.3g read_gbps_start=%.1f read_gbps_end=%.1f\n",
           what, (long long)n_kv, threads, type_name, (long long)page_tokens, rounds,
           flops ? "gflops" : "gbps", sum[0] / rounds, flops ? "gflops" : "gbps", sum[1] / rounds,
           sum[1] / sum[0], b_faster, rounds, max_diff, read_start, read_end);
    return 0;
}
