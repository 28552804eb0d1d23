/* examples/attention_decode.c - the attention step of a decode loop, with longctx.
 *
 *   make build/attention_decode && ./build/attention_decode [--ctx N] [--steps N]
 *
 * A model with 32 query heads, 8 KV heads (GQA) and head_dim 128 keeps an f16 KV cache
 * for max_ctx tokens. A prompt fills most of it (here: random rows standing in for what a
 * prefill pass writes), then each decode step
 *   1. makes q, k, v for the new token (random here: stand-ins for the projections, and
 *      for RoPE, which a real model applies to q and k before this point),
 *   2. converts k and v to f16 and appends them to the cache,
 *   3. runs lcx_attention with n_q = 1 over the whole cache.
 * The workspace is sized once for max_ctx; nothing is allocated inside the loop, and the
 * memory never grows with the square of the context.
 * At the end it computes one step's attention as two halves of the cache merged with
 * lcx_attention_merge (what chunked prefill, cascade or sequence-parallel attention
 * do) and checks it against the single call.
 * LCX_EXAMPLE_QUICK=1: a tiny cache, for the test suite.
 */
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N_HEADS = 32, N_KV_HEADS = 8, HEAD_DIM = 128 };
#define Q_ROW (N_HEADS * HEAD_DIM)     /* floats per token of q and of the output */
#define KV_ROW (N_KV_HEADS * HEAD_DIM) /* elements per token of k and of v */

/* Stop on any error, naming the call and the status. */
#define CHECK(call)                                                                  \
    do {                                                                             \
        lcx_status st_ = (call);                                                     \
        if (st_ != LCX_OK) {                                                         \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,            \
                    lcx_status_string(st_));                                         \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "out of memory (%zu bytes)\n", n); exit(1); }
    return p;
}

/* Random stand-ins for the projections: roughly unit-variance values. */
static unsigned long long rng = 88172645463325252ull;
static float randn(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 3.4641 - 1.7320); /* var 1 */
}
static void random_row(float *x, int n) { for (int i = 0; i < n; i++) x[i] = randn(); }

/* "12.3 MiB" and the like, in a static buffer per slot (slot < 4). */
static const char *human(double bytes, int slot) {
    static char buf[4][32];
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) { bytes /= 1024.0; u++; }
    snprintf(buf[slot], sizeof buf[slot], "%.1f %s", bytes, unit[u]);
    return buf[slot];
}

static double now_ms(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

int main(int argc, char **argv) {
    const char *qenv = getenv("LCX_EXAMPLE_QUICK");
    int quick = qenv && qenv[0] && qenv[0] != '0';
    int64_t max_ctx = quick ? 512 : 32768, steps = quick ? 16 : 256;
    int bad_arg = 0;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 < argc && strcmp(argv[i], "--ctx") == 0) max_ctx = atoll(argv[i + 1]);
        else if (i + 1 < argc && strcmp(argv[i], "--steps") == 0) steps = atoll(argv[i + 1]);
        else bad_arg = 1;
    }
    if (bad_arg || max_ctx < 2 || steps < 1 || steps >= max_ctx) {
        fprintf(stderr, "usage: %s [--ctx N >= 2] [--steps 1..N-1]\n", argv[0]);
        return 2;
    }
    const int64_t prompt = max_ctx - steps; /* tokens already in the cache */

    /* The attention shape of the model. Zero fields are the defaults: scale
       1/sqrt(head_dim), no soft-cap, no ALiBi, no sinks, dense. */
    lcx_attn_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.head_dim = HEAD_DIM;
    desc.n_heads = N_HEADS;
    desc.n_kv_heads = N_KV_HEADS;
    desc.causal = 1;    /* a query sees keys at positions <= its own */
    desc.n_threads = 0; /* OpenMP's default (all cores); 1 = serial */

    /* The KV cache: [token][kv_head][dim] f16, for max_ctx tokens. */
    size_t cache_elems = (size_t)max_ctx * KV_ROW;
    lcx_f16 *k_cache = (lcx_f16 *)xmalloc(cache_elems * sizeof(lcx_f16));
    lcx_f16 *v_cache = (lcx_f16 *)xmalloc(cache_elems * sizeof(lcx_f16));

    /* Workspace: asked for once, for the longest cache this loop will see. */
    size_t work_bytes = 0;
    lcx_kv_view full = lcx_kv_view_contiguous(LCX_F16, k_cache, v_cache, max_ctx, 0, 0, NULL);
    CHECK(lcx_attention_workspace_size(&desc, 1, &full, &work_bytes));
    void *work = xmalloc(work_bytes);

    printf("longctx %s (%s): %d query heads, %d KV heads, head_dim %d, max_ctx %lld\n",
           lcx_version_string(), lcx_simd_name(), N_HEADS, N_KV_HEADS, HEAD_DIM, (long long)max_ctx);
    double naive = (double)max_ctx * (double)max_ctx * sizeof(float);
    printf("memory: KV cache %s (f16, K and V), workspace %s\n",
           human(2.0 * (double)cache_elems * sizeof(lcx_f16), 0), human((double)work_bytes, 1));
    printf("        a naive prefill of %lld tokens would need an n x n float score matrix: "
           "%s per head, %s for all %d heads\n",
           (long long)max_ctx, human(naive, 2), human(naive * N_HEADS, 3), N_HEADS);

    /* The prompt: rows a prefill pass would have written (here random, converted to f16
       exactly as the decode steps below append theirs). */
    float k_new[KV_ROW], v_new[KV_ROW];
    for (int64_t t = 0; t < prompt; t++) {
        random_row(k_new, KV_ROW);
        random_row(v_new, KV_ROW);
        lcx_f32_to_f16_row(k_new, k_cache + t * KV_ROW, KV_ROW);
        lcx_f32_to_f16_row(v_new, v_cache + t * KV_ROW, KV_ROW);
    }

    float *q = (float *)xmalloc(Q_ROW * sizeof(float));
    float *out = (float *)xmalloc(Q_ROW * sizeof(float));
    int64_t n_cached = prompt;
    double total_ms = 0;
    int64_t every = steps >= 8 ? steps / 8 : 1;

    /* ---- the decode loop ---- */
    for (int64_t step = 0; step < steps; step++) {
        /* 1. the new token's q, k, v (a real model: projections of the hidden state, RoPE) */
        random_row(q, Q_ROW);
        random_row(k_new, KV_ROW);
        random_row(v_new, KV_ROW);

        double t0 = now_ms();
        /* 2. append k and v to the cache as f16 */
        lcx_f32_to_f16_row(k_new, k_cache + n_cached * KV_ROW, KV_ROW);
        lcx_f32_to_f16_row(v_new, v_cache + n_cached * KV_ROW, KV_ROW);
        n_cached++;

        /* 3. attention of the one new query over every cached token. The view is cheap
           plain data: make it again whenever the cache changes. q_pos NULL: the query is
           the last token (position n_cached - 1), so it sees the whole cache. */
        lcx_kv_view kv = lcx_kv_view_contiguous(LCX_F16, k_cache, v_cache, n_cached, 0, 0, NULL);
        CHECK(lcx_attention(&desc, q, 1, Q_ROW, NULL, &kv, out, Q_ROW, NULL, work, work_bytes));
        double ms = now_ms() - t0;
        total_ms += ms;
        /* ... out ([n_heads][head_dim]) goes to the output projection ... */

        if ((step + 1) % every == 0 || step + 1 == steps) {
            double kv_bytes = 2.0 * (double)n_cached * KV_ROW * sizeof(lcx_f16);
            printf("step %5lld: cache %6lld tokens (%s), append + attention %.3f ms (%.1f GB/s of K+V)\n",
                   (long long)(step + 1), (long long)n_cached, human(kv_bytes, 0), ms,
                   ms > 0 ? kv_bytes / (ms * 1e6) : 0.0);
        }
    }
    printf("%lld steps, %.3f ms per step on average\n", (long long)steps, total_ms / (double)steps);

    /* ---- the last step again, as two halves of the cache merged ----
       Each half returns its own (out, lse); lcx_attention_merge folds the second into the
       first exactly. Positions make the causal mask right for any slice: the query sits
       at position n_cached - 1, and the second half's keys start at position `half`. */
    int64_t half = n_cached / 2, q_pos = n_cached - 1;
    int64_t *pos = (int64_t *)xmalloc((size_t)n_cached * sizeof(int64_t));
    for (int64_t t = 0; t < n_cached; t++) pos[t] = t;
    float *out_a = (float *)xmalloc(Q_ROW * sizeof(float)), *out_b = (float *)xmalloc(Q_ROW * sizeof(float));
    float lse_a[N_HEADS], lse_b[N_HEADS];
    lcx_kv_view first = lcx_kv_view_contiguous(LCX_F16, k_cache, v_cache, half, 0, 0, pos);
    lcx_kv_view second = lcx_kv_view_contiguous(LCX_F16, k_cache + half * KV_ROW,
                                                 v_cache + half * KV_ROW, n_cached - half, 0, 0,
                                                 pos + half);
    CHECK(lcx_attention(&desc, q, 1, Q_ROW, &q_pos, &first, out_a, Q_ROW, lse_a, work, work_bytes));
    CHECK(lcx_attention(&desc, q, 1, Q_ROW, &q_pos, &second, out_b, Q_ROW, lse_b, work, work_bytes));
    CHECK(lcx_attention_merge(out_a, lse_a, Q_ROW, out_b, lse_b, Q_ROW, 1, N_HEADS, HEAD_DIM, NULL));
    double max_diff = 0;
    for (int i = 0; i < Q_ROW; i++) {
        double d = fabs((double)out_a[i] - (double)out[i]);
        if (!(d <= max_diff)) max_diff = d; /* NaN shows up */
    }
    printf("two halves (%lld + %lld tokens) merged vs one call: max |difference| %.3g\n",
           (long long)half, (long long)(n_cached - half), max_diff);

    free(pos); free(out_a); free(out_b); free(q); free(out); free(work);
    free(k_cache); free(v_cache);
    if (!(max_diff <= 1e-5)) {
        fprintf(stderr, "merge differs from the single call\n");
        return 1;
    }
    return 0;
}
