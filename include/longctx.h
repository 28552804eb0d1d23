/* longctx.h - v0.1.0 - inference kernels for long-context transformers - MIT license
 *
 * ============================================================================
 *  WHAT IT IS
 * ============================================================================
 * One header, C11 and the C standard library (OpenMP optional), with the kernels a
 * C or C++ model loop needs for long context on a CPU:
 *   - RoPE and its context-extension scalings (PI, NTK, dynamic NTK, YaRN, Llama-3,
 *     LongRoPE, CLEX), both pair layouts, partial rotary, exact at 2^31 positions;
 *   - flash-style tiled attention (prefill and decode, causal, GQA/MQA, ALiBi,
 *     soft-cap, sinks, log-sum-exp output and exact merging of partial results).
 * The caller owns the model, the weights and the memory; longctx owns the kernels.
 *
 * ============================================================================
 *  USING IT
 * ============================================================================
 * In exactly one C or C++ file:
 *
 *     #define LONGCTX_IMPLEMENTATION
 *     #include "longctx.h"
 *
 * Everywhere else just `#include "longctx.h"` for the declarations. Define
 * LONGCTX_STATIC as well to make every function `static` (a private copy per
 * translation unit). Build with -O2 (or -O3) and -march=native (or at least
 * -mavx2 -mfma -mf16c) to get the SIMD paths, and -fopenmp for threads.
 *
 * Quick start (RoPE on q and k, then attention over a cache):
 *
 *     lcx_rope rope;
 *     lcx_rope_config rc = {0};
 *     rc.head_dim = 128; rc.theta = 500000; rc.type = LCX_ROPE_LLAMA3;
 *     if (lcx_rope_init(&rope, &rc) != LCX_OK) ...;
 *     lcx_rope_apply(&rope, q, n_tokens, n_heads,    n_heads * 128, pos);
 *     lcx_rope_apply(&rope, k, n_tokens, n_kv_heads, n_kv_heads * 128, pos);
 *     ... see section 3 (>>attention) for lcx_attention.
 *
 * ============================================================================
 *  CONTENTS (search for the marker to jump to a section)
 * ============================================================================
 *   1. >>base       version, status codes, fp16/bf16 conversion, SIMD and threads
 *   2. >>rope       rotary position embeddings and their long-context scalings
 *   3. >>attention  tiled (flash) attention, decode and prefill, merge of partials
 *   (planned: 4. >>sparse  5. >>kvquant  6. >>kvcache  7. >>prune)
 * The implementation, below `LONGCTX_IMPLEMENTATION`, repeats the same numbering.
 *
 * ============================================================================
 *  CONFIGURATION MACROS (define before including)
 * ============================================================================
 *   LONGCTX_IMPLEMENTATION  compile the definitions in this translation unit
 *   LONGCTX_STATIC          every function static (with LONGCTX_IMPLEMENTATION)
 *   LONGCTX_ASSERT(x)       internal invariants only (default: assert.h's assert);
 *                           never used for user input, which gets a status code
 *   LONGCTX_NO_SIMD         only the scalar reference paths
 *   LONGCTX_NO_OPENMP       no OpenMP even when compiled with -fopenmp
 *   LONGCTX_TESTING         expose the table of compiled SIMD variants for tests
 *
 * ============================================================================
 *  ERRORS, MEMORY, THREADS
 * ============================================================================
 * Every fallible function returns an lcx_status; lcx_status_string() names it. Bad
 * input (NULL where data is required, negative counts, odd or zero dimensions, NaN
 * or Inf parameters, byte sizes that overflow) returns an error and leaves every
 * output exactly as it was. Zero counts are valid and do nothing.
 * Memory belongs to the caller: kernels never allocate; a kernel that needs scratch
 * takes (work, work_bytes) and has a ..._workspace_size() query. Stack use stays
 * under 8 KiB per call and thread.
 * Threads: a kernel with an n_threads setting uses OpenMP when compiled with it
 * (0 = OpenMP's default, 1 = serial) and never forks for work too small to pay
 * for it. It never changes OpenMP's global settings.
 * Distinct objects may be used from any number of threads at once; one object
 * allows many concurrent readers or one writer.
 *
 * longctx does not: allocate, start threads of its own (beyond OpenMP regions),
 * print, read files, abort, or keep any global mutable state.
 *
 * Layouts: activations are float, [token][head][dim], with a token stride in
 * elements wherever a caller's buffer may be wider (a fused QKV output).
 * Positions and counts are int64_t.
 */

/* ============================================================================
 *  DECLARATIONS
 * ============================================================================ */
#ifndef LONGCTX_H
#define LONGCTX_H

#include <stddef.h>
#include <stdint.h>

#define LONGCTX_VERSION_MAJOR 0
#define LONGCTX_VERSION_MINOR 1
#define LONGCTX_VERSION_PATCH 0

#ifdef LONGCTX_STATIC
#  if defined(__GNUC__) || defined(__clang__)
#    define LCXDEF static __attribute__((unused))
#  else
#    define LCXDEF static
#  endif
#else
#  define LCXDEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================
 *  1. >>base  version, status codes, half-precision conversion
 * ============================================================================ */

/* The status list: one X-macro generates the enum and the names, so they cannot
   drift apart. */
#define LCX__STATUS_LIST(X)                                                    \
    X(LCX_OK, "ok")                                                            \
    X(LCX_ERR_INVALID_ARG, "invalid argument")                                 \
    X(LCX_ERR_CAPACITY, "capacity exceeded")                                   \
    X(LCX_ERR_WORKSPACE, "workspace too small")                                \
    X(LCX_ERR_UNSUPPORTED, "unsupported combination")

typedef enum lcx_status {
#define LCX__STATUS_ENUM(name, text) name,
    LCX__STATUS_LIST(LCX__STATUS_ENUM)
#undef LCX__STATUS_ENUM
    LCX__STATUS_COUNT
} lcx_status;

/* A static string naming s ("ok", "invalid argument", ...); "unknown status" for
   values outside the enum. Never NULL. */
LCXDEF const char *lcx_status_string(lcx_status s);

/* "MAJOR.MINOR.PATCH" of the implementation that was compiled. */
LCXDEF const char *lcx_version_string(void);

/* The SIMD path the kernels of this build use: "avx512", "avx2", "neon" or
   "scalar". Chosen at compile time from the compiler's target macros. */
LCXDEF const char *lcx_simd_name(void);

/* Half types are bit patterns. f16 is IEEE binary16, bf16 is the top half of an
   IEEE binary32. Conversions from float round to nearest, ties to even; overflow
   gives Inf, NaN stays NaN (quiet, sign kept), subnormals are exact both ways
   (nothing is flushed to zero). */
typedef uint16_t lcx_f16;
typedef uint16_t lcx_bf16;

LCXDEF lcx_f16  lcx_f32_to_f16(float x);
LCXDEF float    lcx_f16_to_f32(lcx_f16 h);
LCXDEF lcx_bf16 lcx_f32_to_bf16(float x);
LCXDEF float    lcx_bf16_to_f32(lcx_bf16 h);

/* Row forms: n values from src to dst (n <= 0 does nothing). Same results as the
   scalar forms, on every SIMD path. src and dst must not overlap. */
LCXDEF void lcx_f32_to_f16_row(const float *src, lcx_f16 *dst, int64_t n);
LCXDEF void lcx_f16_to_f32_row(const lcx_f16 *src, float *dst, int64_t n);
LCXDEF void lcx_f32_to_bf16_row(const float *src, lcx_bf16 *dst, int64_t n);
LCXDEF void lcx_bf16_to_f32_row(const lcx_bf16 *src, float *dst, int64_t n);

/* >>base end */

/* ============================================================================
 *  2. >>rope  rotary position embeddings
 * ============================================================================ */

/* >>rope declarations go here */

/* >>rope end */

/* ============================================================================
 *  3. >>attention  tiled attention
 * ============================================================================ */

/* >>attention declarations go here */

/* Exact softmax attention over a KV cache, computed tile by tile (FlashAttention-2,
 * arXiv 2307.08691): no n_q x n_kv buffer ever exists, memory does not grow with the
 * context, and the result equals softmax(s) V up to float rounding.
 *
 *   q    [n_q][n_heads][head_dim]      float, token stride q_stride, head stride
 *                                      desc->q_head_stride (0: head_dim)
 *   K    [n_kv][n_kv_heads][head_dim]  f32, f16 or bf16, through an lcx_kv_view
 *   V    [n_kv][n_kv_heads][v_head_dim]
 *   out  [n_q][n_heads][v_head_dim]    float, token stride out_stride, head stride
 *                                      desc->out_head_stride (0: v_head_dim)
 *   lse  [n_q][n_heads]                float, optional (NULL), natural log
 * Query head h reads KV head h / (n_heads / n_kv_heads) (MHA, GQA, MQA).
 *
 * Logits, in exactly this order, for query i (position qp) and key j (position kp):
 *     s = scale * (q . k)                       scale 0 means 1/sqrt(head_dim)
 *     s = softcap * tanh(s / softcap)           when softcap > 0 (Gemma 2)
 *     s = s + slope_h * (kp - qp)               when alibi_slopes (ALiBi)
 *     the pair is dropped when causal and kp > qp
 * A learned sink logit (sinks[h], gpt-oss) is used as given: it joins the softmax
 * denominator and carries no value. lse is the log of the whole denominator, the sink
 * included, so out = sum_j exp(s_j - lse) v_j. A row with no visible key gives out = 0
 * and lse = -INFINITY (lse = the sink logit when there is one).
 *
 * Masks are decided on positions, never on indices, so they stay right after a cache
 * has been pruned or compacted. Key positions come from the view (NULL: 0..n_kv-1);
 * query positions from q_pos, or, when q_pos is NULL, the queries are the last n_q
 * tokens: qp[i] = kp[n_kv - n_q + i] (for n_q > n_kv the missing ones continue the
 * count below kp[0]: kp[0] + (n_kv - n_q + i)).
 *
 * How it runs. Prefill (n_q > 8): work items are (KV head, block of queries); each
 * holds the rows of all the query heads of its group and walks the key tiles (64 keys)
 * that an enumerator yields: tiles wholly above the causal diagonal are never touched,
 * tiles wholly below it are not masked element by element. Decode (n_q <= 8): all the
 * query heads of a KV head go through that head's keys and values in one pass (each
 * K/V byte is read once per call), and the keys are split across threads
 * (flash-decoding); the partial results are merged exactly with their LSEs.
 * f16/bf16 keys and values are widened to float in registers; accumulation is float.
 * exp() never sees an argument that would make a subnormal (exp(x < -87.3) is 0), so
 * very negative logits (ALiBi over 128K tokens, logits of -1e4) cost nothing extra.
 *
 * Workspace: lcx_attention_workspace_size() gives the bytes for the plan the kernel
 * wants at the resolved thread count (bounded: per thread a few tiles and the rows of
 * one work item, independent of n_kv for prefill; plus at most
 * n_splits x n_q x n_heads x (v_head_dim + 2) floats of decode partials). It is 0 only
 * when n_q or n_kv is 0 (then work may be NULL). Given less, the kernel uses fewer
 * splits, then fewer threads; LCX_ERR_WORKSPACE only when not even one thread's scratch
 * fits. `deterministic = 1` fixes the split plan as a function of n_kv and work_bytes
 * alone, so results are bit-identical for any thread count (and for any work larger
 * than the query said).
 *
 * Coming (the view and the desc have room for them, nothing here changes): quantized
 * K/V blocks and a full-precision residual segment (>>kvquant), per-KV-head lengths
 * and positions (>>kvcache, >>prune), pre-RoPE keys with the lcx_rope to apply, and
 * sparse patterns through desc->pattern (>>sparse).
 */

/* Element types of keys and values (quantized formats follow). */
typedef enum lcx_dtype { LCX_F32 = 0, LCX_F16, LCX_BF16 } lcx_dtype;

/* Largest head_dim / v_head_dim the attention kernels take. */
#define LCX_ATTN_MAX_HEAD_DIM 256

struct lcx_sparse_pattern; /* defined by the planned >>sparse section; must be NULL */
struct lcx_rope;           /* defined by >>rope; only a pointer is kept in a view */

/* What to compute; zero-initialise, then set the required fields. */
typedef struct lcx_attn_desc {
    int head_dim;       /* required: even, <= LCX_ATTN_MAX_HEAD_DIM (keys and queries) */
    int n_heads;        /* required: query heads, a multiple of n_kv_heads */
    int n_kv_heads;     /* required: key/value heads */
    float scale;        /* 0: 1/sqrt(head_dim); else finite */
    int causal;         /* nonzero: query at position p sees keys at positions <= p */
    float softcap;      /* 0: none; else finite and > 0 */
    const float *alibi_slopes; /* NULL or n_heads finite slopes (borrowed) */
    const float *sinks;        /* NULL or n_heads sink logits (borrowed; not NaN) */
    const struct lcx_sparse_pattern *pattern; /* NULL (dense); else LCX_ERR_UNSUPPORTED */
    int n_threads;      /* 0: OpenMP default; 1: serial; negative is an error */
    /* appended */
    int64_t q_head_stride;   /* elements between the heads of one query; 0: head_dim */
    int64_t out_head_stride; /* likewise for out; 0: v_head_dim */
    int v_head_dim;          /* 0: head_dim; even, <= LCX_ATTN_MAX_HEAD_DIM (MLA) */
    int deterministic;       /* 1: fixed split plan, bit-identical for any n_threads */
    float *key_probs;        /* NULL, or [n_kv_heads][n_kv] floats to which the kernel ADDS
                                each key's softmax probability exp(s - lse), summed over
                                the queries and the query heads of that KV head (H2O,
                                SnapKV, TOVA scores). Costs a second pass over K. */
} lcx_attn_desc;

typedef enum lcx_kv_kind { LCX_KV_CONTIGUOUS = 0, LCX_KV_PAGED } lcx_kv_kind;

/* A read-only description of keys and values. Fill it only with the constructors
   below (and adjust it with the modifiers); the fields are plain data, listed so the
   struct has a fixed size, but are not an API. A zeroed struct is not a valid view.
   Strides are in elements of the view's type; rows of K:
     contiguous: k + t*k_stride + h*k_head_stride
     paged:      k_pages[t / page_tokens] + (t % page_tokens)*k_stride + h*k_head_stride
   and V likewise. The view borrows every array (data, page tables, positions): they
   must outlive its use. Changing the cache it views invalidates it. */
typedef struct lcx_kv_view {
    uint32_t magic;          /* set by the constructors */
    int32_t kind;            /* lcx_kv_kind */
    int32_t k_type, v_type;  /* lcx_dtype */
    int64_t n_kv;
    int64_t k_stride, v_stride;           /* 0: n_kv_heads*head_dim, n_kv_heads*v_head_dim */
    int64_t k_head_stride, v_head_stride; /* 0: head_dim, v_head_dim */
    int64_t page_tokens;
    const void *k, *v;                    /* contiguous */
    const void *const *k_pages;           /* paged */
    const void *const *v_pages;
    const int64_t *k_pos;                 /* NULL: 0..n_kv-1 */
    /* reserved for the roadmap (zero today): per-KV-head lengths and positions,
       quantized blocks and their scales, a full-precision residual segment, a
       Hadamard-rotation flag, pre-RoPE keys and the rope to apply to them */
    const int64_t *head_len;
    const int64_t *const *head_pos;
    const struct lcx_rope *rope;
    const void *reserved_ptr[5];
    int64_t reserved_i64[6];
    int32_t flags;
    int32_t reserved_i32[5];
} lcx_kv_view;

/* K and V as arrays: k[t*k_stride + h*k_head_stride + i] for t < n_kv,
   h < n_kv_heads, i < head_dim; v likewise with v_head_dim. Both of `type`.
   k_stride/v_stride 0: n_kv_heads*head_dim / n_kv_heads*v_head_dim, resolved at call
   time from the desc. k_pos: NULL (positions 0..n_kv-1) or n_kv positions (any int64
   values; they need not be sorted). Nothing is checked here: lcx_attention validates
   the view against the desc (negative counts or strides, NULL data) and returns
   LCX_ERR_INVALID_ARG. */
LCXDEF lcx_kv_view lcx_kv_view_contiguous(lcx_dtype type, const void *k, const void *v,
                                          int64_t n_kv, int64_t k_stride, int64_t v_stride,
                                          const int64_t *k_pos);

/* Pages of page_tokens rows each (vLLM / FlashInfer page tables): token t lives in page
   t / page_tokens at row t % page_tokens, i.e. k_pages[t / page_tokens] +
   (t % page_tokens)*k_stride + h*k_head_stride elements. The tables need
   ceil(n_kv / page_tokens) non-NULL entries each; page_tokens must be > 0 (checked by
   lcx_attention). Tables borrowed. */
LCXDEF lcx_kv_view lcx_kv_view_paged(lcx_dtype type, const void *const *k_pages,
                                     const void *const *v_pages, int64_t page_tokens,
                                     int64_t n_kv, int64_t k_stride, int64_t v_stride,
                                     const int64_t *k_pos);

/* Head strides for [head][token][dim] caches (0: head_dim / v_head_dim). With them a
   [head][token][dim] cache is k_stride = head_dim, k_head_stride = n_kv*head_dim.
   LCX_ERR_INVALID_ARG for a NULL view or a negative stride (view unchanged). */
LCXDEF lcx_status lcx_kv_view_set_head_strides(lcx_kv_view *v, int64_t k_head_stride,
                                               int64_t v_head_stride);

/* Separate element types for K and V. LCX_ERR_INVALID_ARG for a NULL view or an
   unknown type (view unchanged). */
LCXDEF lcx_status lcx_kv_view_set_types(lcx_kv_view *v, lcx_dtype k_type, lcx_dtype v_type);

/* Bytes of workspace lcx_attention wants for this desc, n_q and view, at the thread
   count desc->n_threads resolves to (see the section comment). Validates desc and
   view as lcx_attention does (LCX_ERR_INVALID_ARG, LCX_ERR_UNSUPPORTED); *bytes is
   written only on success. */
LCXDEF lcx_status lcx_attention_workspace_size(const lcx_attn_desc *desc, int64_t n_q,
                                               const lcx_kv_view *kv, size_t *bytes);

/* out (and lse, when not NULL) = attention of the n_q queries over the view's keys.
   q: [n_q][n_heads][head_dim] (token stride q_stride, head stride desc->q_head_stride);
   q_pos: NULL or n_q positions (see the section comment); out: token stride
   out_stride, head stride desc->out_head_stride; lse: NULL or [n_q][n_heads]
   contiguous. Rows of q, out, K and V must not overlap each other's rows: a stride
   shorter than a row is LCX_ERR_INVALID_ARG (the check is: the smaller of the two
   strides >= the row, the larger >= the whole span of the smaller). Elements of out
   between rows are never written. work: work_bytes bytes, any alignment (NULL
   allowed when work_bytes is 0). Errors (nothing is written): LCX_ERR_INVALID_ARG
   (NULL desc/view/q/out, bad dimensions or strides, NaN/Inf scale or softcap, a
   negative softcap, NaN/Inf slopes or NaN sinks, a NULL page among those needed,
   page_tokens <= 0), LCX_ERR_UNSUPPORTED (desc->pattern), LCX_ERR_WORKSPACE.
   n_q == 0 does nothing; n_kv == 0 gives out = 0 and lse = -INFINITY (or the sinks). */
LCXDEF lcx_status lcx_attention(const lcx_attn_desc *desc, const float *q, int64_t n_q,
                                int64_t q_stride, const int64_t *q_pos,
                                const lcx_kv_view *kv, float *out, int64_t out_stride,
                                float *lse, void *work, size_t work_bytes);

/* Combine two partial results over disjoint key sets into the exact result, in place:
     m = max(lse, part_lse), w = exp(lse - m), w' = exp(part_lse - m),
     out = (w out + w' part) / (w + w'),  lse = m + log(w + w')
   per (query, head); a side with lse = -INFINITY contributes nothing (both: out = 0,
   lse = -INFINITY). Then, when sinks is not NULL, the sink logit of each head is
   folded in once: lse' = log(exp(lse) + exp(sinks[h])), out *= exp(lse - lse').
   Partials are computed with desc.sinks = NULL; pass the sinks to the last merge.
   out/part: [n_q][n_heads][head_dim], token strides out_stride/part_stride, head
   stride head_dim (head_dim is the value width, v_head_dim of the attention call);
   lse/part_lse: [n_q][n_heads]. LCX_ERR_INVALID_ARG (nothing written) for NULL
   arrays with n_q > 0, n_q < 0, n_heads <= 0, head_dim <= 0 or odd, strides shorter
   than n_heads*head_dim (n_q > 1), NaN sinks. */
LCXDEF lcx_status lcx_attention_merge(float *out, float *lse, int64_t out_stride,
                                      const float *part, const float *part_lse,
                                      int64_t part_stride, int64_t n_q, int n_heads,
                                      int head_dim, const float *sinks);

/* >>attention end */

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_H */

/* ============================================================================
 *  IMPLEMENTATION
 * ============================================================================ */
#ifdef LONGCTX_IMPLEMENTATION
#ifndef LONGCTX_IMPLEMENTATION_DONE
#define LONGCTX_IMPLEMENTATION_DONE

#include <float.h>
#include <math.h>
#include <string.h>

#ifndef LONGCTX_ASSERT
#  include <assert.h>
#  define LONGCTX_ASSERT(x) assert(x)
#endif

/* ---- compile-time SIMD selection ------------------------------------------
   Every kernel has a scalar reference (..._ref) that is always compiled. The
   vector variants are compiled when the compiler targets them; the public entry
   points use the best one (LCX__SIMD_BEST). Tests run every compiled variant
   against the reference (see lcx__simd_compiled). */
#define LCX__SIMD_SCALAR 0
#define LCX__SIMD_AVX2   1
#define LCX__SIMD_AVX512 2
#define LCX__SIMD_NEON   3
#define LCX__SIMD_COUNT  4

#if !defined(LONGCTX_NO_SIMD)
#  if (defined(__x86_64__) || defined(_M_X64) || defined(__i386__)) && defined(__AVX2__) && \
      defined(__FMA__) && defined(__F16C__)
#    define LCX__HAVE_AVX2 1
#  endif
#  if defined(LCX__HAVE_AVX2) && defined(__AVX512F__) && defined(__AVX512BW__) && \
      defined(__AVX512DQ__) && defined(__AVX512VL__)
#    define LCX__HAVE_AVX512 1
#  endif
#  if (defined(__ARM_NEON) || defined(__ARM_NEON__)) && defined(__aarch64__)
#    define LCX__HAVE_NEON 1
#  endif
#endif
#if defined(LCX__HAVE_AVX2) || defined(LCX__HAVE_AVX512)
#  include <immintrin.h>
#endif
#if defined(LCX__HAVE_NEON)
#  include <arm_neon.h>
#endif

#if defined(LCX__HAVE_AVX512)
#  define LCX__SIMD_BEST LCX__SIMD_AVX512
#elif defined(LCX__HAVE_AVX2)
#  define LCX__SIMD_BEST LCX__SIMD_AVX2
#elif defined(LCX__HAVE_NEON)
#  define LCX__SIMD_BEST LCX__SIMD_NEON
#else
#  define LCX__SIMD_BEST LCX__SIMD_SCALAR
#endif

/* ---- OpenMP: only through _Pragma, so a build without it stays warning-free */
#if defined(_OPENMP) && !defined(LONGCTX_NO_OPENMP)
#  include <omp.h>
#  define LCX__OPENMP 1
#  define LCX__PRAGMA(x) _Pragma(#x)
#  define LCX__OMP(...) LCX__PRAGMA(omp __VA_ARGS__)
#else
#  define LCX__OMP(...)
#endif

/* ---- small internal helpers ----------------------------------------------- */
#if defined(__GNUC__) || defined(__clang__)
#  define LCX__UNUSED __attribute__((unused))
#  define LCX__INLINE static inline __attribute__((unused))
#  define LCX__LIKELY(x) __builtin_expect(!!(x), 1)
#  define LCX__UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define LCX__RESTRICT __restrict__
#  define LCX__ALIGN(n) __attribute__((aligned(n)))
#else
#  define LCX__UNUSED
#  define LCX__INLINE static inline
#  define LCX__LIKELY(x) (x)
#  define LCX__UNLIKELY(x) (x)
#  define LCX__RESTRICT
#  define LCX__ALIGN(n)
#endif
#define LCX__STATIC static LCX__UNUSED

/* GCC 12's own AVX-512 headers initialise `_mm512_undefined_*()` from themselves,
   which g++ -O1 and up reports as -Wmaybe-uninitialized at every inlined use (GCC
   bug 105593). Silence exactly that, only for g++, only in the implementation. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__cplusplus)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#  define LCX__GCC_DIAG_PUSHED 1
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================
 *  1. >>base implementation
 * ============================================================================ */

/* Is SIMD level `simd` compiled into this build? The scalar level always is. */
LCX__INLINE int lcx__simd_compiled(int simd) {
    switch (simd) {
    case LCX__SIMD_SCALAR: return 1;
#ifdef LCX__HAVE_AVX2
    case LCX__SIMD_AVX2: return 1;
#endif
#ifdef LCX__HAVE_AVX512
    case LCX__SIMD_AVX512: return 1;
#endif
#ifdef LCX__HAVE_NEON
    case LCX__SIMD_NEON: return 1;
#endif
    default: return 0;
    }
}

LCX__INLINE const char *lcx__simd_level_name(int simd) {
    static const char *const names[LCX__SIMD_COUNT] = {"scalar", "avx2", "avx512", "neon"};
    return (simd >= 0 && simd < LCX__SIMD_COUNT) ? names[simd] : "unknown";
}

/* Resolve a caller's n_threads (0 = OpenMP default) to a count >= 1. */
LCX__INLINE int lcx__resolve_threads(int n_threads) {
#ifdef LCX__OPENMP
    if (n_threads <= 0) n_threads = omp_get_max_threads();
#endif
    if (n_threads < 1) n_threads = 1;
#ifndef LCX__OPENMP
    n_threads = 1;
#endif
    return n_threads;
}

/* a*b into *out, 0 on overflow (size_t). */
LCX__INLINE int lcx__mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}
LCX__INLINE int lcx__add_size(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}

LCX__INLINE uint32_t lcx__f32_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
LCX__INLINE float lcx__bits_f32(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

LCXDEF const char *lcx_status_string(lcx_status s) {
    static const char *const names[] = {
#define LCX__STATUS_NAME(name, text) text,
        LCX__STATUS_LIST(LCX__STATUS_NAME)
#undef LCX__STATUS_NAME
    };
    if ((int)s < 0 || (int)s >= (int)LCX__STATUS_COUNT) return "unknown status";
    return names[(int)s];
}

#define LCX__STR2(x) #x
#define LCX__STR(x) LCX__STR2(x)
LCXDEF const char *lcx_version_string(void) {
    return LCX__STR(LONGCTX_VERSION_MAJOR) "." LCX__STR(LONGCTX_VERSION_MINOR) "." LCX__STR(
        LONGCTX_VERSION_PATCH);
}

LCXDEF const char *lcx_simd_name(void) { return lcx__simd_level_name(LCX__SIMD_BEST); }

/* ---- f16 / bf16 scalar reference --------------------------------------------
   f32 -> f16 by integer arithmetic, so it is exact and independent of the FPU's
   rounding mode. NaN keeps the sign and the top mantissa bits and is made quiet,
   which is what F16C's vcvtps2ph does, so the SIMD rows agree bit for bit. */
LCXDEF lcx_f16 lcx_f32_to_f16(float x) {
    uint32_t u = lcx__f32_bits(x);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7FFFFFFFu;
    if (a >= 0x7F800000u) { /* Inf or NaN */
        if (a == 0x7F800000u) return (lcx_f16)(sign | 0x7C00u);
        return (lcx_f16)(sign | 0x7E00u | ((a >> 13) & 0x03FFu));
    }
    if (a >= 0x477FF000u) return (lcx_f16)(sign | 0x7C00u); /* rounds to >= 65520: Inf */
    if (a >= 0x38800000u) {                                  /* normal f16 */
        uint32_t r = a - 0x38000000u;                        /* rebias exponent 127 -> 15 */
        r += 0x0FFFu + ((r >> 13) & 1u);                     /* round to nearest even */
        return (lcx_f16)(sign | (r >> 13));
    }
    if (a < 0x33000000u) return (lcx_f16)sign; /* below half the smallest subnormal */
    {                                          /* subnormal f16 */
        uint32_t e = a >> 23;
        uint32_t m = (a & 0x007FFFFFu) | 0x00800000u;
        uint32_t shift = 126u - e; /* 14..24: value = m * 2^(e-150), unit 2^-24 */
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return (lcx_f16)(sign | q);
    }
}

LCXDEF float lcx_f16_to_f32(lcx_f16 h) {
    uint32_t sign = ((uint32_t)h & 0x8000u) << 16;
    uint32_t e = ((uint32_t)h >> 10) & 0x1Fu;
    uint32_t m = (uint32_t)h & 0x03FFu;
    if (e == 0x1Fu) return lcx__bits_f32(sign | 0x7F800000u | (m << 13));
    if (e != 0) return lcx__bits_f32(sign | ((e + 112u) << 23) | (m << 13));
    if (m == 0) return lcx__bits_f32(sign);
    { /* subnormal: m * 2^-24, exact in float */
        float v = (float)m * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
}

/* bf16: round to nearest even on the top 16 bits; NaN made quiet (bit 6). */
LCXDEF lcx_bf16 lcx_f32_to_bf16(float x) {
    uint32_t u = lcx__f32_bits(x);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (lcx_bf16)((u >> 16) | 0x0040u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (lcx_bf16)(u >> 16);
}

LCXDEF float lcx_bf16_to_f32(lcx_bf16 h) { return lcx__bits_f32((uint32_t)h << 16); }

/* ---- row conversions ---------------------------------------------------------- */
LCX__STATIC void lcx__f32_to_f16_row_ref(const float *src, lcx_f16 *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = lcx_f32_to_f16(src[i]);
}
LCX__STATIC void lcx__f16_to_f32_row_ref(const lcx_f16 *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = lcx_f16_to_f32(src[i]);
}
LCX__STATIC void lcx__f32_to_bf16_row_ref(const float *src, lcx_bf16 *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = lcx_f32_to_bf16(src[i]);
}
LCX__STATIC void lcx__bf16_to_f32_row_ref(const lcx_bf16 *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = lcx_bf16_to_f32(src[i]);
}

#ifdef LCX__HAVE_AVX2
/* F16C rounds to nearest even with _MM_FROUND_TO_NEAREST_INT and handles
   subnormals, Inf and NaN as the scalar code does. */
LCX__STATIC void lcx__f32_to_f16_row_avx2(const float *src, lcx_f16 *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(void *)(dst + i), h);
    }
    for (; i < n; i++) dst[i] = lcx_f32_to_f16(src[i]);
}
LCX__STATIC void lcx__f16_to_f32_row_avx2(const lcx_f16 *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i,
                         _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(src + i))));
    for (; i < n; i++) dst[i] = lcx_f16_to_f32(src[i]);
}
LCX__STATIC void lcx__f32_to_bf16_row_avx2(const float *src, lcx_bf16 *dst, int64_t n) {
    int64_t i = 0;
    const __m256i lsb = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7FFF);
    const __m256i absmask = _mm256_set1_epi32(0x7FFFFFFF), inf = _mm256_set1_epi32(0x7F800000);
    const __m256i quiet = _mm256_set1_epi32(0x00400000);
    for (; i + 8 <= n; i += 8) {
        __m256i u = _mm256_loadu_si256((const __m256i *)(const void *)(src + i));
        __m256i isnan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absmask), inf);
        __m256i r = _mm256_add_epi32(
            u, _mm256_add_epi32(bias, _mm256_and_si256(_mm256_srli_epi32(u, 16), lsb)));
        r = _mm256_blendv_epi8(r, _mm256_or_si256(u, quiet), isnan);
        r = _mm256_srli_epi32(r, 16);
        /* pack 8 x u32 (values < 65536) into 8 x u16 */
        __m128i lo = _mm256_castsi256_si128(r), hi = _mm256_extracti128_si256(r, 1);
        _mm_storeu_si128((__m128i *)(void *)(dst + i), _mm_packus_epi32(lo, hi));
    }
    for (; i < n; i++) dst[i] = lcx_f32_to_bf16(src[i]);
}
LCX__STATIC void lcx__bf16_to_f32_row_avx2(const lcx_bf16 *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(src + i)));
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), _mm256_slli_epi32(w, 16));
    }
    for (; i < n; i++) dst[i] = lcx_bf16_to_f32(src[i]);
}
#endif

#ifdef LCX__HAVE_AVX512
LCX__STATIC void lcx__f32_to_f16_row_avx512(const float *src, lcx_f16 *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), h);
    }
    lcx__f32_to_f16_row_avx2(src + i, dst + i, n - i);
}
LCX__STATIC void lcx__f16_to_f32_row_avx512(const lcx_f16 *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(
                                      _mm256_loadu_si256((const __m256i *)(const void *)(src + i))));
    lcx__f16_to_f32_row_avx2(src + i, dst + i, n - i);
}
LCX__STATIC void lcx__f32_to_bf16_row_avx512(const float *src, lcx_bf16 *dst, int64_t n) {
    int64_t i = 0;
    const __m512i lsb = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7FFF);
    const __m512i absmask = _mm512_set1_epi32(0x7FFFFFFF), inf = _mm512_set1_epi32(0x7F800000);
    const __m512i quiet = _mm512_set1_epi32(0x00400000);
    for (; i + 16 <= n; i += 16) {
        __m512i u = _mm512_loadu_si512((const void *)(src + i));
        __mmask16 isnan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, absmask), inf);
        __m512i r = _mm512_add_epi32(
            u, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(u, 16), lsb)));
        r = _mm512_mask_mov_epi32(r, isnan, _mm512_or_si512(u, quiet));
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16)));
    }
    lcx__f32_to_bf16_row_avx2(src + i, dst + i, n - i);
}
LCX__STATIC void lcx__bf16_to_f32_row_avx512(const lcx_bf16 *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(src + i)));
        _mm512_storeu_si512((void *)(dst + i), _mm512_slli_epi32(w, 16));
    }
    lcx__bf16_to_f32_row_avx2(src + i, dst + i, n - i);
}
#endif

/* Dispatch by level, for tests and for the public row functions. A level that is
   not compiled falls back to the scalar reference. */
#define LCX__ROW_DISPATCH(fn, simd, src, dst, n)                              \
    do {                                                                       \
        switch (simd) {                                                        \
        LCX__ROW_CASE_AVX512(fn, src, dst, n)                                  \
        LCX__ROW_CASE_AVX2(fn, src, dst, n)                                    \
        default: fn##_ref(src, dst, n); break;                                 \
        }                                                                      \
    } while (0)
#ifdef LCX__HAVE_AVX512
#  define LCX__ROW_CASE_AVX512(fn, src, dst, n) \
    case LCX__SIMD_AVX512: fn##_avx512(src, dst, n); break;
#else
#  define LCX__ROW_CASE_AVX512(fn, src, dst, n)
#endif
#ifdef LCX__HAVE_AVX2
#  define LCX__ROW_CASE_AVX2(fn, src, dst, n) \
    case LCX__SIMD_AVX2: fn##_avx2(src, dst, n); break;
#else
#  define LCX__ROW_CASE_AVX2(fn, src, dst, n)
#endif

LCX__STATIC void lcx__f32_to_f16_row_simd(int simd, const float *src, lcx_f16 *dst, int64_t n) {
    LCX__ROW_DISPATCH(lcx__f32_to_f16_row, simd, src, dst, n);
}
LCX__STATIC void lcx__f16_to_f32_row_simd(int simd, const lcx_f16 *src, float *dst, int64_t n) {
    LCX__ROW_DISPATCH(lcx__f16_to_f32_row, simd, src, dst, n);
}
LCX__STATIC void lcx__f32_to_bf16_row_simd(int simd, const float *src, lcx_bf16 *dst, int64_t n) {
    LCX__ROW_DISPATCH(lcx__f32_to_bf16_row, simd, src, dst, n);
}
LCX__STATIC void lcx__bf16_to_f32_row_simd(int simd, const lcx_bf16 *src, float *dst, int64_t n) {
    LCX__ROW_DISPATCH(lcx__bf16_to_f32_row, simd, src, dst, n);
}

LCXDEF void lcx_f32_to_f16_row(const float *src, lcx_f16 *dst, int64_t n) {
    if (src && dst && n > 0) lcx__f32_to_f16_row_simd(LCX__SIMD_BEST, src, dst, n);
}
LCXDEF void lcx_f16_to_f32_row(const lcx_f16 *src, float *dst, int64_t n) {
    if (src && dst && n > 0) lcx__f16_to_f32_row_simd(LCX__SIMD_BEST, src, dst, n);
}
LCXDEF void lcx_f32_to_bf16_row(const float *src, lcx_bf16 *dst, int64_t n) {
    if (src && dst && n > 0) lcx__f32_to_bf16_row_simd(LCX__SIMD_BEST, src, dst, n);
}
LCXDEF void lcx_bf16_to_f32_row(const lcx_bf16 *src, float *dst, int64_t n) {
    if (src && dst && n > 0) lcx__bf16_to_f32_row_simd(LCX__SIMD_BEST, src, dst, n);
}

/* >>base implementation end */

/* ============================================================================
 *  2. >>rope implementation
 * ============================================================================ */

/* >>rope implementation goes here */

/* >>rope implementation end */

/* ============================================================================
 *  3. >>attention implementation
 * ============================================================================ */

/* >>attention implementation goes here */

/* Layout of this section: constants and the resolved call (lcx__attn), validation,
   the per-format tile loader and the tile enumerator, the scalar reference kernels
   (_ref), the AVX2 and AVX-512 kernels, the work-item driver (shared by every level),
   then the public entry points. */

#define LCX__ATTN_TK 64          /* keys per tile */
#define LCX__ATTN_DECODE_Q 8     /* n_q at or below this: decode plan */
#define LCX__ATTN_PREFILL_ROWS 64 /* rows (query tokens x group heads) per prefill item */
#define LCX__ATTN_MAGIC 0x4C435856u
#define LCX__ATTN_EXP_LO (-87.3f) /* exp below this is 0: no subnormals, no slow paths */

/* Everything a call needs, validated and with the defaults resolved. */
typedef struct lcx__attn {
    int d, dv, nh, nkv, group, causal, det;
    float scale, softcap;
    const float *alibi, *sinks;
    float *key_probs;
    const float *q;
    int64_t n_q, q_stride, q_hs;
    const int64_t *q_pos;
    int kind, kt, vt;
    int64_t n_kv, ks, vs, khs, vhs, pt;
    const char *k, *v;
    const void *const *kp;
    const void *const *vp;
    const int64_t *k_pos;
    float *out;
    int64_t out_stride, out_hs;
    float *lse;
    /* plan */
    int decode, nt, splits, rmax;
    int64_t bq, n_qb;
    size_t scr_floats; /* per thread */
} lcx__attn;

LCX__INLINE size_t lcx__attn_r16(size_t x) { return (x + 15) & ~(size_t)15; }
LCX__INLINE int lcx__attn_esize(int type) { return type == LCX_F32 ? 4 : 2; }

/* Position of query i. */
LCX__INLINE int64_t lcx__attn_qpos(const lcx__attn *a, int64_t i) {
    int64_t j;
    if (a->q_pos) return a->q_pos[i];
    j = a->n_kv - a->n_q + i;
    if (!a->k_pos) return j;
    if (j >= 0) return a->k_pos[j];
    return a->n_kv > 0 ? a->k_pos[0] + j : j;
}
LCX__INLINE int64_t lcx__attn_kpos(const lcx__attn *a, int64_t j) {
    return a->k_pos ? a->k_pos[j] : j;
}

/* Rows at i*s1 + j*s2 (i < n1, j < n2), each len elements: disjoint, and the whole
   span addressable in bytes of esize? Strides must be >= 0. */
LCX__STATIC int lcx__attn_rows_ok(int64_t n1, int64_t s1, int64_t n2, int64_t s2, int64_t len,
                                  int esize) {
    int64_t lim = INT64_MAX / 8 / esize, span;
    if (s1 < 0 || s2 < 0) return 0;
    if (n1 <= 1) { n1 = 1; s1 = 0; }
    if (n2 <= 1) { n2 = 1; s2 = 0; }
    if (n1 > 1 && n2 > 1 && s1 > s2) {
        int64_t t = n1; n1 = n2; n2 = t;
        t = s1; s1 = s2; s2 = t;
    }
    if (n1 > 1 && s1 < len) return 0;
    if (s1 > 0 && n1 - 1 > (lim - len) / s1) return 0;
    span = (n1 - 1) * s1 + len; /* inner span */
    if (n2 > 1) {
        if (n1 > 1 ? s2 < span : s2 < len) return 0;
        if (n2 - 1 > (lim - span) / s2) return 0;
    }
    return 1;
}

LCX__STATIC int lcx__attn_finite(float x) { return x == x && x - x == 0.0f; }

/* Validate desc + view (+ the call's arrays when `call`), resolve defaults. */
LCX__STATIC lcx_status lcx__attn_resolve(lcx__attn *a, const lcx_attn_desc *desc, int64_t n_q,
                                         const lcx_kv_view *kv, int call, const float *q,
                                         int64_t q_stride, const int64_t *q_pos, float *out,
                                         int64_t out_stride, float *lse) {
    int64_t need_pages = 0, rows_kv;
    int i;
    memset(a, 0, sizeof *a);
    if (!desc || !kv || kv->magic != LCX__ATTN_MAGIC) return LCX_ERR_INVALID_ARG;
    if (desc->pattern) return LCX_ERR_UNSUPPORTED;
    a->d = desc->head_dim;
    a->dv = desc->v_head_dim ? desc->v_head_dim : desc->head_dim;
    a->nh = desc->n_heads;
    a->nkv = desc->n_kv_heads;
    if (a->d <= 0 || (a->d & 1) || a->d > LCX_ATTN_MAX_HEAD_DIM) return LCX_ERR_INVALID_ARG;
    if (a->dv <= 0 || (a->dv & 1) || a->dv > LCX_ATTN_MAX_HEAD_DIM) return LCX_ERR_INVALID_ARG;
    if (a->nh <= 0 || a->nkv <= 0 || a->nh % a->nkv != 0) return LCX_ERR_INVALID_ARG;
    a->group = a->nh / a->nkv;
    if (!lcx__attn_finite(desc->scale) || !lcx__attn_finite(desc->softcap) || desc->softcap < 0)
        return LCX_ERR_INVALID_ARG;
    a->scale = desc->scale != 0.0f ? desc->scale : (float)(1.0 / sqrt((double)a->d));
    a->softcap = desc->softcap;
    a->causal = desc->causal != 0;
    a->det = desc->deterministic != 0;
    if (desc->n_threads < 0) return LCX_ERR_INVALID_ARG;
    if (desc->alibi_slopes)
        for (i = 0; i < a->nh; i++)
            if (!lcx__attn_finite(desc->alibi_slopes[i])) return LCX_ERR_INVALID_ARG;
    if (desc->sinks)
        for (i = 0; i < a->nh; i++)
            if (desc->sinks[i] != desc->sinks[i] || desc->sinks[i] == INFINITY)
                return LCX_ERR_INVALID_ARG;
    a->alibi = desc->alibi_slopes;
    a->sinks = desc->sinks;
    a->key_probs = desc->key_probs;
    if (desc->q_head_stride < 0 || desc->out_head_stride < 0) return LCX_ERR_INVALID_ARG;
    a->q_hs = desc->q_head_stride ? desc->q_head_stride : a->d;
    a->out_hs = desc->out_head_stride ? desc->out_head_stride : a->dv;
    if (n_q < 0) return LCX_ERR_INVALID_ARG;
    a->n_q = n_q;
    /* the view */
    if (kv->kind != LCX_KV_CONTIGUOUS && kv->kind != LCX_KV_PAGED) return LCX_ERR_INVALID_ARG;
    if (kv->k_type < 0 || kv->k_type > LCX_BF16 || kv->v_type < 0 || kv->v_type > LCX_BF16)
        return LCX_ERR_INVALID_ARG;
    a->kind = kv->kind;
    a->kt = kv->k_type;
    a->vt = kv->v_type;
    a->n_kv = kv->n_kv;
    if (a->n_kv < 0 || kv->k_stride < 0 || kv->v_stride < 0 || kv->k_head_stride < 0 ||
        kv->v_head_stride < 0)
        return LCX_ERR_INVALID_ARG;
    a->ks = kv->k_stride ? kv->k_stride : (int64_t)a->nkv * a->d;
    a->vs = kv->v_stride ? kv->v_stride : (int64_t)a->nkv * a->dv;
    a->khs = kv->k_head_stride ? kv->k_head_stride : a->d;
    a->vhs = kv->v_head_stride ? kv->v_head_stride : a->dv;
    a->k_pos = kv->k_pos;
    rows_kv = a->n_kv;
    if (a->kind == LCX_KV_PAGED) {
        if (kv->page_tokens <= 0) return LCX_ERR_INVALID_ARG;
        a->pt = kv->page_tokens;
        if (a->n_kv > 0) {
            int64_t p;
            if (!kv->k_pages || !kv->v_pages) return LCX_ERR_INVALID_ARG;
            need_pages = (a->n_kv - 1) / a->pt + 1;
            for (p = 0; p < need_pages; p++)
                if (!kv->k_pages[p] || !kv->v_pages[p]) return LCX_ERR_INVALID_ARG;
            rows_kv = a->pt < a->n_kv ? a->pt : a->n_kv;
        }
        a->kp = kv->k_pages;
        a->vp = kv->v_pages;
    } else {
        if (a->n_kv > 0 && (!kv->k || !kv->v)) return LCX_ERR_INVALID_ARG;
        a->k = (const char *)kv->k;
        a->v = (const char *)kv->v;
    }
    if (a->n_kv > 0) {
        if (!lcx__attn_rows_ok(rows_kv, a->ks, a->nkv, a->khs, a->d, lcx__attn_esize(a->kt)))
            return LCX_ERR_INVALID_ARG;
        if (!lcx__attn_rows_ok(rows_kv, a->vs, a->nkv, a->vhs, a->dv, lcx__attn_esize(a->vt)))
            return LCX_ERR_INVALID_ARG;
    }
    if (call && n_q > 0) {
        if (!q || !out) return LCX_ERR_INVALID_ARG;
        if (!lcx__attn_rows_ok(n_q, q_stride, a->nh, a->q_hs, a->d, 4)) return LCX_ERR_INVALID_ARG;
        if (!lcx__attn_rows_ok(n_q, out_stride, a->nh, a->out_hs, a->dv, 4))
            return LCX_ERR_INVALID_ARG;
        if (n_q > INT64_MAX / 8 / a->nh) return LCX_ERR_INVALID_ARG;
    }
    a->q = q;
    a->q_stride = q_stride;
    a->q_pos = q_pos;
    a->out = out;
    a->out_stride = out_stride;
    a->lse = lse;
    return LCX_OK;
}

/* ---- the tile loader --------------------------------------------------------
   The one place that knows how keys and values are stored: for KV head kvh and keys
   k0 .. k0+n-1 it yields a pointer to each key's and value's row (of the view's
   types). Contiguous and paged views differ only here; quantized blocks, residual
   segments and per-head layouts plug in here too. */
LCX__STATIC void lcx__attn_tile_src(const lcx__attn *a, int kvh, int64_t k0, int n,
                                    const void **krow, const void **vrow) {
    size_t ke = (size_t)lcx__attn_esize(a->kt), ve = (size_t)lcx__attn_esize(a->vt);
    int j;
    if (a->kind == LCX_KV_CONTIGUOUS) {
        const char *kb = a->k + ((size_t)k0 * (size_t)a->ks + (size_t)kvh * (size_t)a->khs) * ke;
        const char *vb = a->v + ((size_t)k0 * (size_t)a->vs + (size_t)kvh * (size_t)a->vhs) * ve;
        for (j = 0; j < n; j++) {
            krow[j] = kb + (size_t)j * (size_t)a->ks * ke;
            vrow[j] = vb + (size_t)j * (size_t)a->vs * ve;
        }
    } else {
        int64_t t = k0, page = k0 / a->pt, r = k0 % a->pt;
        for (j = 0; j < n; j++, t++) {
            krow[j] = (const char *)a->kp[page] +
                      ((size_t)r * (size_t)a->ks + (size_t)kvh * (size_t)a->khs) * ke;
            vrow[j] = (const char *)a->vp[page] +
                      ((size_t)r * (size_t)a->vs + (size_t)kvh * (size_t)a->vhs) * ve;
            if (++r == a->pt) { r = 0; page++; }
        }
    }
}

/* ---- the tile enumerator ----------------------------------------------------
   Yields the key tiles [k0, k0+n) of [*cursor, kb) that a block of queries with
   positions in [qmin, qmax] has to visit, and whether a tile needs element masks
   (partial) or is wholly visible. Causal: a tile whose smallest key position is
   above qmax is skipped; with index positions (no k_pos) the walk stops there. Sparse
   patterns will decide here too. Returns 0 when done. */
typedef struct lcx__attn_tile {
    int64_t k0;
    int n, partial;
} lcx__attn_tile;

LCX__STATIC int lcx__attn_next_tile(const lcx__attn *a, int64_t *cursor, int64_t kb,
                                    int64_t qmin, int64_t qmax, lcx__attn_tile *t) {
    while (*cursor < kb) {
        int64_t k0 = *cursor, kmin, kmax;
        int n = (int)((kb - k0) < LCX__ATTN_TK ? (kb - k0) : LCX__ATTN_TK), j;
        *cursor = k0 + n;
        if (!a->causal) {
            t->k0 = k0; t->n = n; t->partial = 0;
            return 1;
        }
        if (a->k_pos) {
            kmin = kmax = a->k_pos[k0];
            for (j = 1; j < n; j++) {
                int64_t p = a->k_pos[k0 + j];
                kmin = p < kmin ? p : kmin;
                kmax = p > kmax ? p : kmax;
            }
        } else {
            kmin = k0;
            kmax = k0 + n - 1;
        }
        if (kmin > qmax) {
            if (!a->k_pos) { *cursor = kb; return 0; }
            continue;
        }
        t->k0 = k0; t->n = n; t->partial = kmax > qmin;
        return 1;
    }
    return 0;
}

/* ---- scratch of one work item (floats, every part 64-byte aligned) ---------- */
typedef struct lcx__attn_scr {
    float *qp;     /* [rmax][dp] packed query rows */
    float *o;      /* [rmax][dvp] unnormalised outputs */
    float *m, *l, *alpha, *slope; /* [rmax] */
    float *s;      /* [rmax][TK] logits, then probabilities */
    float *kt;     /* [dp][TK] transposed key tile (prefill, AVX-512) */
    float *vc;     /* [TK][dvp] value tile widened to float (prefill, f16/bf16 V) */
    int64_t *qpos; /* [rmax] */
} lcx__attn_scr;

LCX__STATIC size_t lcx__attn_scr_layout(const lcx__attn *a, float *base, lcx__attn_scr *s) {
    size_t R = lcx__attn_r16((size_t)a->rmax), dp = lcx__attn_r16((size_t)a->d),
           dvp = lcx__attn_r16((size_t)a->dv), off = 0;
#define LCX__ATTN_TAKE(field, type, count)                                     \
    do {                                                                       \
        if (s) s->field = (type *)(void *)(base + off);                        \
        off += lcx__attn_r16(count);                                           \
    } while (0)
    LCX__ATTN_TAKE(qp, float, R * dp);
    LCX__ATTN_TAKE(o, float, R * dvp);
    LCX__ATTN_TAKE(m, float, R);
    LCX__ATTN_TAKE(l, float, R);
    LCX__ATTN_TAKE(alpha, float, R);
    LCX__ATTN_TAKE(slope, float, R);
    LCX__ATTN_TAKE(s, float, R * LCX__ATTN_TK);
    LCX__ATTN_TAKE(kt, float, a->decode ? 0 : dp * LCX__ATTN_TK);
    LCX__ATTN_TAKE(vc, float, (a->decode || a->vt == LCX_F32) ? 0 : LCX__ATTN_TK * dvp);
    LCX__ATTN_TAKE(qpos, int64_t, 2 * R);
#undef LCX__ATTN_TAKE
    return off;
}

/* ---- scalar reference kernels ------------------------------------------------ */
LCX__INLINE float lcx__attn_ld(const void *row, int type, int i) {
    if (type == LCX_F32) return ((const float *)row)[i];
    if (type == LCX_F16) return lcx_f16_to_f32(((const uint16_t *)row)[i]);
    return lcx_bf16_to_f32(((const uint16_t *)row)[i]);
}

LCX__INLINE float lcx__attn_exp_ref(float x) { return x < LCX__ATTN_EXP_LO ? 0.0f : expf(x); }

/* S[r][j] = q_r . k_j */
LCX__STATIC void lcx__attn_scores_ref(const lcx__attn *a, const lcx__attn_scr *sc, int R, int n,
                                      const void *const *krow) {
    int dp = (int)lcx__attn_r16((size_t)a->d), r, j, i;
    for (r = 0; r < R; r++)
        for (j = 0; j < n; j++) {
            const float *qr = sc->qp + (size_t)r * dp;
            float acc = 0;
            for (i = 0; i < a->d; i++) acc += qr[i] * lcx__attn_ld(krow[j], a->kt, i);
            sc->s[r * LCX__ATTN_TK + j] = acc;
        }
}

/* Logits in the documented order, masks on positions; masked -> -INFINITY. */
LCX__STATIC void lcx__attn_logits_ref(const lcx__attn *a, const lcx__attn_scr *sc, int R, int n,
                                      const int64_t *kpos, int partial) {
    int r, j;
    for (r = 0; r < R; r++) {
        float *s = sc->s + (size_t)r * LCX__ATTN_TK;
        for (j = 0; j < n; j++) {
            float x = a->scale * s[j];
            if (a->softcap > 0) x = a->softcap * tanhf(x / a->softcap);
            if (a->alibi) x += sc->slope[r] * (float)(kpos[j] - sc->qpos[r]);
            if (partial && kpos[j] > sc->qpos[r]) x = -INFINITY;
            s[j] = x;
        }
    }
}

/* Online softmax step: m, l updated, alpha = exp(m_old - m_new), S -> P. */
LCX__STATIC void lcx__attn_online_ref(const lcx__attn *a, const lcx__attn_scr *sc, int R, int n,
                                      const int64_t *kpos, int partial) {
    int r, j;
    lcx__attn_logits_ref(a, sc, R, n, kpos, partial);
    for (r = 0; r < R; r++) {
        float *s = sc->s + (size_t)r * LCX__ATTN_TK, mx = sc->m[r], sum = 0;
        for (j = 0; j < n; j++) mx = s[j] > mx ? s[j] : mx;
        if (mx == -INFINITY) {
            for (j = 0; j < n; j++) s[j] = 0;
            sc->alpha[r] = 1.0f;
            continue;
        }
        for (j = 0; j < n; j++) {
            s[j] = lcx__attn_exp_ref(s[j] - mx);
            sum += s[j];
        }
        sc->alpha[r] = lcx__attn_exp_ref(sc->m[r] - mx);
        sc->l[r] = sc->l[r] * sc->alpha[r] + sum;
        sc->m[r] = mx;
    }
}

/* O[r] = alpha[r] O[r] + sum_j P[r][j] v_j */
LCX__STATIC void lcx__attn_pv_ref(const lcx__attn *a, const lcx__attn_scr *sc, int R, int n,
                                  const void *const *vrow, int vt) {
    int dvp = (int)lcx__attn_r16((size_t)a->dv), r, j, i;
    for (r = 0; r < R; r++) {
        float *o = sc->o + (size_t)r * dvp, al = sc->alpha[r];
        const float *p = sc->s + (size_t)r * LCX__ATTN_TK;
        for (i = 0; i < a->dv; i++) o[i] *= al;
        for (j = 0; j < n; j++)
            for (i = 0; i < a->dv; i++) o[i] += p[j] * lcx__attn_ld(vrow[j], vt, i);
    }
}

/* ---- level dispatch of the per-tile work -------------------------------------
   One tile step: logits S = Q K^T for the item's rows, the online softmax update,
   then O = alpha O + P V. */
LCX__STATIC void lcx__attn_step(const lcx__attn *a, int simd, const lcx__attn_scr *sc, int R,
                                const lcx__attn_tile *t, const void *const *krow,
                                const void *const *vrow, const int64_t *kpos) {
    switch (simd) {
#if defined(LCX__HAVE_AVX512) && defined(LCX__ATTN_SIMD_KERNELS)
    case LCX__SIMD_AVX512:
        if (a->decode) lcx__attn_scores_direct_avx512(a, sc, R, t->n, krow);
        else lcx__attn_scores_packed_avx512(a, sc, R, t->n, krow);
        lcx__attn_online_avx512(a, sc, R, t->n, kpos, t->partial);
        if (!a->decode && a->vt != LCX_F32) {
            const void *vb[LCX__ATTN_TK];
            lcx__attn_widen_avx512(a, sc, t->n, vrow, vb);
            lcx__attn_pv_avx512(a, sc, R, t->n, vb, LCX_F32);
        } else {
            lcx__attn_pv_avx512(a, sc, R, t->n, vrow, a->vt);
        }
        return;
#endif
#if defined(LCX__HAVE_AVX2) && defined(LCX__ATTN_SIMD_KERNELS)
    case LCX__SIMD_AVX2:
        lcx__attn_scores_direct_avx2(a, sc, R, t->n, krow);
        lcx__attn_online_avx2(a, sc, R, t->n, kpos, t->partial);
        lcx__attn_pv_avx2(a, sc, R, t->n, vrow, a->vt);
        return;
#endif
    default:
        lcx__attn_scores_ref(a, sc, R, t->n, krow);
        lcx__attn_online_ref(a, sc, R, t->n, kpos, t->partial);
        lcx__attn_pv_ref(a, sc, R, t->n, vrow, a->vt);
        return;
    }
}

/* The exp of level simd on one value (tests). */
LCX__STATIC float lcx__attn_exp_level(int simd, float x) {
    switch (simd) {
#if defined(LCX__HAVE_AVX512) && defined(LCX__ATTN_SIMD_KERNELS)
    case LCX__SIMD_AVX512: return _mm512_cvtss_f32(lcx__attn_exp16(_mm512_set1_ps(x)));
#endif
#if defined(LCX__HAVE_AVX2) && defined(LCX__ATTN_SIMD_KERNELS)
    case LCX__SIMD_AVX2: return _mm256_cvtss_f32(lcx__attn_exp8(_mm256_set1_ps(x)));
#endif
    default: return lcx__attn_exp_ref(x);
    }
}

/* Logits only (the key_probs pass). */
LCX__STATIC void lcx__attn_logits_step(const lcx__attn *a, int simd, const lcx__attn_scr *sc,
                                       int R, const lcx__attn_tile *t, const void *const *krow,
                                       const int64_t *kpos) {
    switch (simd) {
#if defined(LCX__HAVE_AVX512) && defined(LCX__ATTN_SIMD_KERNELS)
    case LCX__SIMD_AVX512:
        lcx__attn_scores_direct_avx512(a, sc, R, t->n, krow);
        break;
#endif
#if defined(LCX__HAVE_AVX2) && defined(LCX__ATTN_SIMD_KERNELS)
    case LCX__SIMD_AVX2:
        lcx__attn_scores_direct_avx2(a, sc, R, t->n, krow);
        break;
#endif
    default:
        lcx__attn_scores_ref(a, sc, R, t->n, krow);
        break;
    }
    lcx__attn_logits_ref(a, sc, R, t->n, kpos, t->partial);
}

/* Rows of an item: queries qa..qb-1 x the group heads of kvh, row r = (t-qa)*G + g.
   Packs q, sets positions, slopes and the softmax state. Returns R. */
LCX__STATIC int lcx__attn_rows_init(const lcx__attn *a, const lcx__attn_scr *sc, int kvh,
                                    int64_t qa, int64_t qb, int64_t *qmin, int64_t *qmax) {
    int G = a->group, g, r = 0;
    size_t dp = lcx__attn_r16((size_t)a->d), dvp = lcx__attn_r16((size_t)a->dv);
    int64_t tq;
    *qmin = INT64_MAX;
    *qmax = INT64_MIN;
    for (tq = qa; tq < qb; tq++) {
        int64_t p = lcx__attn_qpos(a, tq);
        *qmin = p < *qmin ? p : *qmin;
        *qmax = p > *qmax ? p : *qmax;
        for (g = 0; g < G; g++, r++) {
            int h = kvh * G + g;
            const float *src = a->q + tq * a->q_stride + (int64_t)h * a->q_hs;
            float *dst = sc->qp + (size_t)r * dp;
            memcpy(dst, src, (size_t)a->d * sizeof(float));
            if (dp > (size_t)a->d) memset(dst + a->d, 0, (dp - (size_t)a->d) * sizeof(float));
            memset(sc->o + (size_t)r * dvp, 0, dvp * sizeof(float));
            sc->qpos[r] = p;
            sc->slope[r] = a->alibi ? a->alibi[h] : 0.0f;
            sc->m[r] = -INFINITY;
            sc->l[r] = 0.0f;
            sc->alpha[r] = 1.0f;
        }
    }
    return r;
}

/* Final row: fold the sink in, normalise, write out and lse. */
LCX__STATIC void lcx__attn_finish_row(const lcx__attn *a, int h, int64_t tq, const float *o,
                                      float m, float l) {
    float *dst = a->out + tq * a->out_stride + (int64_t)h * a->out_hs, f = 0.0f, ls;
    float M = m, tot = 0.0f;
    int i;
    if (a->sinks && a->sinks[h] > M) M = a->sinks[h];
    if (M == -INFINITY) {
        ls = -INFINITY;
    } else {
        if (m != -INFINITY) tot = l * expf(m - M);
        if (a->sinks && a->sinks[h] != -INFINITY) tot += expf(a->sinks[h] - M);
        if (m != -INFINITY && tot > 0) f = expf(m - M) / tot;
        ls = M + logf(tot);
    }
    for (i = 0; i < a->dv; i++) dst[i] = o ? o[i] * f : 0.0f;
    if (a->lse) a->lse[tq * a->nh + h] = ls;
}

/* One work item: KV head kvh, queries [qa, qb), keys [ka, kb). part == NULL: final
   rows to out/lse; else unnormalised (o, m, l) rows of this split. */
LCX__STATIC void lcx__attn_item(const lcx__attn *a, int simd, float *scr, int kvh, int64_t qa,
                                int64_t qb, int64_t ka, int64_t kb, float *part) {
    lcx__attn_scr sc;
    const void *krow[LCX__ATTN_TK], *vrow[LCX__ATTN_TK];
    int64_t kpos[LCX__ATTN_TK], qmin, qmax, cursor = ka;
    lcx__attn_tile t;
    size_t dvp = lcx__attn_r16((size_t)a->dv);
    int R, r, j;
    lcx__attn_scr_layout(a, scr, &sc);
    R = lcx__attn_rows_init(a, &sc, kvh, qa, qb, &qmin, &qmax);
    while (lcx__attn_next_tile(a, &cursor, kb, qmin, qmax, &t)) {
        lcx__attn_tile_src(a, kvh, t.k0, t.n, krow, vrow);
        for (j = 0; j < t.n; j++) kpos[j] = lcx__attn_kpos(a, t.k0 + j);
        lcx__attn_step(a, simd, &sc, R, &t, krow, vrow, kpos);
    }
    for (r = 0; r < R; r++) {
        int64_t tq = qa + r / a->group;
        int h = kvh * a->group + r % a->group;
        const float *o = sc.o + (size_t)r * dvp;
        if (part) {
            float *dst = part + (size_t)(tq * a->nh + h) * (size_t)(a->dv + 2);
            memcpy(dst, o, (size_t)a->dv * sizeof(float));
            dst[a->dv] = sc.m[r];
            dst[a->dv + 1] = sc.l[r];
        } else {
            lcx__attn_finish_row(a, h, tq, o, sc.m[r], sc.l[r]);
        }
    }
}

/* Merge the decode splits (fixed order: bit-identical for a fixed split count). */
LCX__STATIC void lcx__attn_merge_splits(const lcx__attn *a, const float *part) {
    float o[LCX_ATTN_MAX_HEAD_DIM];
    size_t rowf = (size_t)(a->dv + 2), splitf = (size_t)a->n_q * (size_t)a->nh * rowf;
    int64_t tq;
    int h, s, i;
    for (tq = 0; tq < a->n_q; tq++)
        for (h = 0; h < a->nh; h++) {
            const float *p0 = part + (size_t)(tq * a->nh + h) * rowf;
            float M = -INFINITY, L = 0.0f;
            for (s = 0; s < a->splits; s++) {
                float ms = p0[s * splitf + (size_t)a->dv];
                M = ms > M ? ms : M;
            }
            for (i = 0; i < a->dv; i++) o[i] = 0.0f;
            if (M != -INFINITY)
                for (s = 0; s < a->splits; s++) {
                    const float *p = p0 + s * splitf;
                    float w;
                    if (p[a->dv] == -INFINITY) continue;
                    w = expf(p[a->dv] - M);
                    L += w * p[a->dv + 1];
                    for (i = 0; i < a->dv; i++) o[i] += w * p[i];
                }
            lcx__attn_finish_row(a, h, tq, o, M, L);
        }
}

/* key_probs: key j of KV head kvh gets sum over rows of exp(s - lse). Items are
   (kvh, chunk of keys), so no two threads add to the same element. */
#define LCX__ATTN_KP_CHUNK 512
LCX__STATIC void lcx__attn_kp_item(const lcx__attn *a, int simd, float *scr, int kvh,
                                   int64_t ka, int64_t kb) {
    lcx__attn_scr sc;
    const void *krow[LCX__ATTN_TK], *vrow[LCX__ATTN_TK];
    int64_t kpos[LCX__ATTN_TK], qmin, qmax, cursor, qa;
    float col[LCX__ATTN_TK];
    lcx__attn_tile t;
    int R, r, j;
    lcx__attn_scr_layout(a, scr, &sc);
    for (qa = 0; qa < a->n_q; qa += a->bq) {
        int64_t qb = qa + a->bq < a->n_q ? qa + a->bq : a->n_q;
        R = lcx__attn_rows_init(a, &sc, kvh, qa, qb, &qmin, &qmax);
        cursor = ka;
        while (lcx__attn_next_tile(a, &cursor, kb, qmin, qmax, &t)) {
            lcx__attn_tile_src(a, kvh, t.k0, t.n, krow, vrow);
            for (j = 0; j < t.n; j++) kpos[j] = lcx__attn_kpos(a, t.k0 + j);
            lcx__attn_logits_step(a, simd, &sc, R, &t, krow, kpos);
            for (j = 0; j < t.n; j++) col[j] = 0.0f;
            for (r = 0; r < R; r++) {
                int64_t tq = qa + r / a->group;
                int h = kvh * a->group + r % a->group;
                float ls = a->lse[tq * a->nh + h];
                const float *s = sc.s + (size_t)r * LCX__ATTN_TK;
                if (ls == -INFINITY) continue;
                for (j = 0; j < t.n; j++)
                    if (s[j] != -INFINITY) col[j] += lcx__attn_exp_ref(s[j] - ls);
            }
            for (j = 0; j < t.n; j++) a->key_probs[(int64_t)kvh * a->n_kv + t.k0 + j] += col[j];
        }
    }
}

/* ---- plan ------------------------------------------------------------------- */
LCX__STATIC void lcx__attn_shape(lcx__attn *a) {
    a->decode = a->n_q <= LCX__ATTN_DECODE_Q;
    if (a->decode) {
        a->bq = a->n_q > 0 ? a->n_q : 1;
    } else {
        a->bq = LCX__ATTN_PREFILL_ROWS / a->group;
        if (a->bq < 1) a->bq = 1;
    }
    a->rmax = (int)a->bq * a->group;
    a->n_qb = a->n_q > 0 ? (a->n_q + a->bq - 1) / a->bq : 0;
    a->scr_floats = lcx__attn_scr_layout(a, NULL, NULL);
}

LCX__STATIC int lcx__attn_want_threads(const lcx__attn *a, int n_threads) {
    int nt = lcx__resolve_threads(n_threads);
    double work = (double)a->n_q * (double)a->n_kv * (double)a->nh * (double)(a->d + a->dv);
    if (work < 4.0e6) nt = 1;
    return nt;
}

LCX__STATIC int lcx__attn_want_splits(const lcx__attn *a, int nt) {
    int64_t s, maxs;
    if (!a->decode) return 1;
    maxs = (a->n_kv + 255) / 256;
    if (a->det) s = (a->n_kv + 2047) / 2048;
    else s = (4 * (int64_t)nt + a->nkv - 1) / a->nkv;
    if (nt == 1 && !a->det) s = 1;
    if (s > maxs) s = maxs;
    if (s > 64) s = 64;
    return s < 1 ? 1 : (int)s;
}

/* Bytes: lse temp, partials, nt scratches (plus 64 for alignment). 0 on overflow. */
LCX__STATIC int lcx__attn_bytes(const lcx__attn *a, int nt, int splits, size_t *total) {
    size_t scr, part = 0, fixed = 0, t;
    if (!lcx__mul_size(a->scr_floats, 4, &scr) || !lcx__mul_size(scr, (size_t)nt, &scr))
        return 0;
    if (splits > 1) {
        if (!lcx__mul_size((size_t)a->n_q, (size_t)a->nh * (size_t)(a->dv + 2), &part) ||
            !lcx__mul_size(part, (size_t)splits * 4, &part))
            return 0;
        part = lcx__attn_r16(part);
    }
    if (a->key_probs && !a->lse) {
        if (!lcx__mul_size((size_t)a->n_q, (size_t)a->nh * 4, &fixed)) return 0;
        fixed = lcx__attn_r16(fixed) + 64;
    }
    if (!lcx__add_size(scr, part, &t) || !lcx__add_size(t, fixed, &t) ||
        !lcx__add_size(t, 64, &t))
        return 0;
    *total = t;
    return 1;
}

/* ---- public -------------------------------------------------------------------- */
LCXDEF lcx_kv_view lcx_kv_view_contiguous(lcx_dtype type, const void *k, const void *v,
                                          int64_t n_kv, int64_t k_stride, int64_t v_stride,
                                          const int64_t *k_pos) {
    lcx_kv_view w;
    memset(&w, 0, sizeof w);
    w.magic = LCX__ATTN_MAGIC;
    w.kind = LCX_KV_CONTIGUOUS;
    w.k_type = w.v_type = (int32_t)type;
    w.k = k;
    w.v = v;
    w.n_kv = n_kv;
    w.k_stride = k_stride;
    w.v_stride = v_stride;
    w.k_pos = k_pos;
    return w;
}

LCXDEF lcx_kv_view lcx_kv_view_paged(lcx_dtype type, const void *const *k_pages,
                                     const void *const *v_pages, int64_t page_tokens,
                                     int64_t n_kv, int64_t k_stride, int64_t v_stride,
                                     const int64_t *k_pos) {
    lcx_kv_view w;
    memset(&w, 0, sizeof w);
    w.magic = LCX__ATTN_MAGIC;
    w.kind = LCX_KV_PAGED;
    w.k_type = w.v_type = (int32_t)type;
    w.k_pages = k_pages;
    w.v_pages = v_pages;
    w.page_tokens = page_tokens;
    w.n_kv = n_kv;
    w.k_stride = k_stride;
    w.v_stride = v_stride;
    w.k_pos = k_pos;
    return w;
}

LCXDEF lcx_status lcx_kv_view_set_head_strides(lcx_kv_view *v, int64_t k_head_stride,
                                               int64_t v_head_stride) {
    if (!v || k_head_stride < 0 || v_head_stride < 0) return LCX_ERR_INVALID_ARG;
    v->k_head_stride = k_head_stride;
    v->v_head_stride = v_head_stride;
    return LCX_OK;
}

LCXDEF lcx_status lcx_kv_view_set_types(lcx_kv_view *v, lcx_dtype k_type, lcx_dtype v_type) {
    if (!v || (int)k_type < 0 || (int)k_type > LCX_BF16 || (int)v_type < 0 ||
        (int)v_type > LCX_BF16)
        return LCX_ERR_INVALID_ARG;
    v->k_type = (int32_t)k_type;
    v->v_type = (int32_t)v_type;
    return LCX_OK;
}

LCXDEF lcx_status lcx_attention_workspace_size(const lcx_attn_desc *desc, int64_t n_q,
                                               const lcx_kv_view *kv, size_t *bytes) {
    lcx__attn a;
    lcx_status st;
    size_t total;
    int nt;
    if (!bytes) return LCX_ERR_INVALID_ARG;
    st = lcx__attn_resolve(&a, desc, n_q, kv, 0, NULL, 0, NULL, NULL, 0, NULL);
    if (st != LCX_OK) return st;
    if (n_q == 0 || a.n_kv == 0) {
        *bytes = 0;
        return LCX_OK;
    }
    lcx__attn_shape(&a);
    nt = lcx__attn_want_threads(&a, desc->n_threads);
    if (!lcx__attn_bytes(&a, nt, lcx__attn_want_splits(&a, nt), &total))
        return LCX_ERR_INVALID_ARG;
    *bytes = total;
    return LCX_OK;
}

/* The whole call at SIMD level `simd` (tests run every compiled level). */
LCX__STATIC lcx_status lcx__attention_impl(int simd, const lcx_attn_desc *desc, const float *q,
                                           int64_t n_q, int64_t q_stride, const int64_t *q_pos,
                                           const lcx_kv_view *kv, float *out,
                                           int64_t out_stride, float *lse, void *work,
                                           size_t work_bytes) {
    lcx__attn a;
    lcx_status st;
    size_t avail = 0, pad, need;
    char *base;
    float *part = NULL, *scr;
    int nt, nt_want, s;
    int64_t n_jobs, job;
    st = lcx__attn_resolve(&a, desc, n_q, kv, 1, q, q_stride, q_pos, out, out_stride, lse);
    if (st != LCX_OK) return st;
    if (!lcx__simd_compiled(simd)) simd = LCX__SIMD_SCALAR;
    if (n_q == 0) return LCX_OK;
    if (a.n_kv == 0) {
        int64_t tq;
        int h;
        for (tq = 0; tq < n_q; tq++)
            for (h = 0; h < a.nh; h++) lcx__attn_finish_row(&a, h, tq, NULL, -INFINITY, 0.0f);
        return LCX_OK;
    }
    lcx__attn_shape(&a);
    pad = work ? (size_t)((64 - (uintptr_t)work % 64) % 64) : 0;
    if (work && work_bytes > pad) avail = work_bytes - pad;
    base = work ? (char *)work + pad : NULL;
    /* fit the plan into the workspace: fewer splits first, then fewer threads */
    nt_want = lcx__attn_want_threads(&a, desc->n_threads);
    if (a.det) { /* the split count depends on n_kv and work_bytes only */
        for (s = lcx__attn_want_splits(&a, 1); s >= 1; s--)
            if (lcx__attn_bytes(&a, 1, s, &need) && need - 64 <= avail) break;
        if (s < 1) return LCX_ERR_WORKSPACE;
        for (nt = nt_want; nt > 1; nt--)
            if (lcx__attn_bytes(&a, nt, s, &need) && need - 64 <= avail) break;
    } else { /* fewer splits first, then fewer threads */
        for (nt = nt_want; nt >= 1; nt--) {
            for (s = lcx__attn_want_splits(&a, nt); s >= 1; s--)
                if (lcx__attn_bytes(&a, nt, s, &need) && need - 64 <= avail) break;
            if (s >= 1) break;
        }
        if (nt < 1) return LCX_ERR_WORKSPACE;
    }
    a.splits = s;
    a.nt = nt;
    if (a.key_probs && !a.lse) {
        a.lse = (float *)(void *)base;
        base += lcx__attn_r16((size_t)n_q * (size_t)a.nh * 4) + 64;
    }
    if (s > 1) {
        part = (float *)(void *)base;
        base += lcx__attn_r16((size_t)n_q * (size_t)a.nh * (size_t)(a.dv + 2) * (size_t)s * 4);
    }
    scr = (float *)(void *)base;
    n_jobs = (int64_t)a.nkv * a.n_qb * s;
    if (nt > n_jobs) nt = (int)n_jobs;
    {
        /* prefill: item = (kvh, query block), the costliest (last) blocks first;
           decode: item = (kvh, split) */
#define LCX__ATTN_RUN_JOB(tid)                                                              \
    do {                                                                                    \
        float *scr_ = scr + (size_t)(tid) * a.scr_floats;                                   \
        int kvh_ = (int)(job % a.nkv);                                                      \
        int64_t rest_ = job / a.nkv;                                                        \
        if (a.decode) {                                                                     \
            int64_t ka_ = a.n_kv * rest_ / s, kb_ = a.n_kv * (rest_ + 1) / s;               \
            lcx__attn_item(&a, simd, scr_, kvh_, 0, a.n_q, ka_, kb_,                        \
                           s > 1 ? part + (size_t)rest_ * (size_t)a.n_q * (size_t)a.nh *    \
                                              (size_t)(a.dv + 2)                            \
                                 : NULL);                                                   \
        } else {                                                                            \
            int64_t qb_ = a.n_qb - 1 - rest_, qa_ = qb_ * a.bq;                             \
            int64_t qe_ = qa_ + a.bq < a.n_q ? qa_ + a.bq : a.n_q;                          \
            lcx__attn_item(&a, simd, scr_, kvh_, qa_, qe_, 0, a.n_kv, NULL);                \
        }                                                                                   \
    } while (0)
#ifdef LCX__OPENMP
        if (nt > 1) {
            LCX__OMP(parallel for schedule(dynamic, 1) num_threads(nt))
            for (job = 0; job < n_jobs; job++) LCX__ATTN_RUN_JOB(omp_get_thread_num());
        } else
#endif
        {
            for (job = 0; job < n_jobs; job++) LCX__ATTN_RUN_JOB(0);
        }
#undef LCX__ATTN_RUN_JOB
    }
    if (s > 1) lcx__attn_merge_splits(&a, part);
    if (a.key_probs) {
        int64_t n_chunks = (a.n_kv + LCX__ATTN_KP_CHUNK - 1) / LCX__ATTN_KP_CHUNK;
        n_jobs = (int64_t)a.nkv * n_chunks;
        nt = a.nt < n_jobs ? a.nt : (int)n_jobs;
#define LCX__ATTN_KP_JOB(tid)                                                               \
    lcx__attn_kp_item(&a, simd, scr + (size_t)(tid) * a.scr_floats, (int)(job % a.nkv),     \
                      (job / a.nkv) * LCX__ATTN_KP_CHUNK,                                   \
                      ((job / a.nkv) + 1) * LCX__ATTN_KP_CHUNK < a.n_kv                     \
                          ? ((job / a.nkv) + 1) * LCX__ATTN_KP_CHUNK                        \
                          : a.n_kv)
#ifdef LCX__OPENMP
        if (nt > 1) {
            LCX__OMP(parallel for schedule(dynamic, 1) num_threads(nt))
            for (job = 0; job < n_jobs; job++) LCX__ATTN_KP_JOB(omp_get_thread_num());
        } else
#endif
        {
            for (job = 0; job < n_jobs; job++) LCX__ATTN_KP_JOB(0);
        }
#undef LCX__ATTN_KP_JOB
    }
    return LCX_OK;
}

LCXDEF lcx_status lcx_attention(const lcx_attn_desc *desc, const float *q, int64_t n_q,
                                int64_t q_stride, const int64_t *q_pos,
                                const lcx_kv_view *kv, float *out, int64_t out_stride,
                                float *lse, void *work, size_t work_bytes) {
    return lcx__attention_impl(LCX__SIMD_BEST, desc, q, n_q, q_stride, q_pos, kv, out,
                               out_stride, lse, work, work_bytes);
}

LCXDEF lcx_status lcx_attention_merge(float *out, float *lse, int64_t out_stride,
                                      const float *part, const float *part_lse,
                                      int64_t part_stride, int64_t n_q, int n_heads,
                                      int head_dim, const float *sinks) {
    int64_t tq;
    int h, i;
    if (n_q < 0 || n_heads <= 0 || head_dim <= 0 || (head_dim & 1)) return LCX_ERR_INVALID_ARG;
    if (sinks)
        for (h = 0; h < n_heads; h++)
            if (sinks[h] != sinks[h]) return LCX_ERR_INVALID_ARG;
    if (n_q == 0) return LCX_OK;
    if (!out || !lse || !part || !part_lse) return LCX_ERR_INVALID_ARG;
    if (!lcx__attn_rows_ok(n_q, out_stride, n_heads, head_dim, head_dim, 4) ||
        !lcx__attn_rows_ok(n_q, part_stride, n_heads, head_dim, head_dim, 4))
        return LCX_ERR_INVALID_ARG;
    for (tq = 0; tq < n_q; tq++)
        for (h = 0; h < n_heads; h++) {
            float *o = out + tq * out_stride + (int64_t)h * head_dim;
            const float *p = part + tq * part_stride + (int64_t)h * head_dim;
            float la = lse[tq * n_heads + h], lb = part_lse[tq * n_heads + h];
            float m = la > lb ? la : lb, wa, wb, ls;
            if (m == -INFINITY) {
                for (i = 0; i < head_dim; i++) o[i] = 0.0f;
                ls = -INFINITY;
            } else {
                wa = la == -INFINITY ? 0.0f : expf(la - m);
                wb = lb == -INFINITY ? 0.0f : expf(lb - m);
                for (i = 0; i < head_dim; i++) o[i] = (wa * o[i] + wb * p[i]) / (wa + wb);
                ls = m + logf(wa + wb);
            }
            if (sinks && sinks[h] != -INFINITY) {
                float sk = sinks[h], M = ls > sk ? ls : sk, f;
                float tot = (ls == -INFINITY ? 0.0f : expf(ls - M)) + expf(sk - M);
                float nl = M + logf(tot);
                f = ls == -INFINITY ? 0.0f : expf(ls - nl);
                for (i = 0; i < head_dim; i++) o[i] *= f;
                ls = nl;
            }
            lse[tq * n_heads + h] = ls;
        }
    return LCX_OK;
}

/* >>attention implementation end */

#ifdef __cplusplus
}
#endif
#ifdef LCX__GCC_DIAG_PUSHED
#  pragma GCC diagnostic pop
#endif
#endif /* LONGCTX_IMPLEMENTATION_DONE */
#endif /* LONGCTX_IMPLEMENTATION */

/*
 * ============================================================================
 *  HISTORY
 * ============================================================================
 *   0.1.0  first release: base, RoPE family, tiled attention.
 *
 * ============================================================================
 *  LICENSE (MIT)
 * ============================================================================
 * Copyright (c) 2026 the longctx authors
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy of
 * this software and associated documentation files (the "Software"), to deal in
 * the Software without restriction, including without limitation the rights to
 * use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
 * the Software, and to permit persons to whom the Software is furnished to do so,
 * subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in all
 * copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 * IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
 * FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
 * COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
 * IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
 * CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
 */
