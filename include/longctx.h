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

/* Rotary position embeddings (RoPE, RoFormer arXiv 2104.09864) rotate each pair of
 * dimensions of a query or key vector by an angle proportional to the token's
 * position: pair i of a vector at position p turns by p * f_i, with the inverse
 * frequencies f_i = theta^(-2i/d) for d = rotary_dim and i = 0 .. d/2-1. The dot
 * product of a rotated query and key then depends only on their position
 * difference. Long-context methods change the frequencies (and sometimes scale the
 * vectors by an "attention factor" A):
 *
 *   type         what it does                                   paper / source
 *   DEFAULT      f_i = theta^(-2i/d)                            RoFormer, 2104.09864
 *   LINEAR       f_i / s (position interpolation, PI)           2306.15595
 *   NTK          base theta * s^(d/(d-2)) ("NTK-aware")         bloc97's NTK-aware
 *                                                               scaled RoPE post, 2023
 *   DYNAMIC_NTK  NTK with s' = s*max(L,L0)/L0 - (s-1), so the   HF "dynamic"
 *                frequencies follow the sequence length L
 *   YARN         per pair a ramp between f_i (short            YaRN, 2309.00071
 *                wavelengths) and f_i/s (long ones), A > 1
 *   LLAMA3       wavelength bands: short kept, long / s,        Llama 3.1 (Meta, 2024)
 *                smooth blend between
 *   LONGROPE     f_i / e_i, e = short or long per-pair factors  LongRoPE, 2402.13753
 *                chosen by L, A > 1                             (Phi-3)
 *   CLEX         per-pair scaling from a learned ODE in the     CLEX, 2310.16450
 *                integer scale t = ceil(L/L0)
 * A (the attention factor, multiplying cos and sin) is 1 except for YARN and
 * LONGROPE (below).
 *
 * Exact formulas: HF transformers' modeling_rope_utils.py (all but CLEX) and the
 * CLEX authors' clex_layer.py; the header follows their semantics and is checked
 * against values they compute.
 *
 * Pair layouts (which dimensions rotate together), for d = rotary_dim = 8:
 *
 *   LCX_ROPE_HALF         (NeoX, HF rotate_half)    x0 x1 x2 x3 | x4 x5 x6 x7
 *                                                   pairs (0,4) (1,5) (2,6) (3,7)
 *   LCX_ROPE_INTERLEAVED  (GPT-J, Meta original)    (x0 x1) (x2 x3) (x4 x5) (x6 x7)
 *
 * A pair (a, b) becomes (a*c - b*s, b*c + a*s), c = A*cos(p*f_i), s = A*sin(p*f_i).
 * Dimensions rotary_dim .. head_dim-1 (partial rotary) pass through bit-identical.
 *
 * Configuration: which lcx_rope_config fields each type reads (anything else is
 * ignored and not validated), the default a zero field takes, and the valid range.
 *
 *   field             types                     0 means       valid
 *   head_dim          all                       (required)    even, 2..LCX_ROPE_MAX_HEAD_DIM
 *   rotary_dim        all                       head_dim      even, 2..head_dim (0: head_dim)
 *   theta             all                       10000         finite, > 0 (YARN: != 1)
 *   layout            all                       LCX_ROPE_HALF HALF or INTERLEAVED
 *   factor s          LINEAR NTK DYNAMIC_NTK    (required)    finite, >= 1
 *                     YARN LONGROPE
 *                     LLAMA3                    8             finite, >= 1
 *   original_max_pos  DYNAMIC_NTK YARN          (required)    > 0 (LONGROPE with
 *   L0                LONGROPE CLEX                            derived A and s > 1: >= 2)
 *                     LLAMA3                    8192          > 0
 *   beta_fast         YARN                      32            finite, > 0, > beta_slow
 *   beta_slow         YARN                      1             finite, > 0
 *   mscale,           YARN                      unused        finite, >= 0; used as
 *   mscale_all_dim                                            A = m(mscale)/m(all_dim)
 *                                                             when both are non-zero
 *   attention_factor  YARN LONGROPE             derived       finite, >= 0 (all types
 *                                                             check it; others ignore it)
 *   yarn_no_truncate  YARN                      truncate      any (non-zero: no rounding)
 *   low_freq_factor   LLAMA3                    1             finite, > 0
 *   high_freq_factor  LLAMA3                    4             finite, > low_freq_factor
 *   short_factor,     LONGROPE                  (required)    rotary_dim/2 floats each,
 *   long_factor                                               finite, > 0; copied
 *   clex              CLEX                      (required)    see lcx_clex_params; borrowed
 *   n_threads         all (apply/shift/rerotate) OpenMP default >= 0 (1: serial)
 *
 * YARN's attention factor: the given one; else m(s,mscale)/m(s,mscale_all_dim) when
 * both are non-zero (DeepSeek form); else m(s,1), with m(s,k) = 1 for s <= 1 and
 * 0.1*k*ln(s) + 1 otherwise. LONGROPE's: the given one; else 1 for s <= 1 and
 * sqrt(1 + ln(s)/ln(L0)) otherwise (HF's s is max_position_embeddings / L0).
 *
 * Frequencies that change with the sequence length: DYNAMIC_NTK (recomputed for
 * L > L0), LONGROPE (long factors once L > L0) and CLEX (integer scale
 * t = ceil(L/L0)) depend on the length set by lcx_rope_set_seq_len. Keys that
 * already sit rotated in a cache were rotated with the frequencies of their time.
 * HF transformers recomputes the frequencies on every forward pass, so its cached
 * keys carry a mixture of frequencies; llama.cpp never changes them after load.
 * longctx lets the caller choose: keep the cached keys as they are (HF's
 * behaviour), or move them exactly to the new frequencies with lcx_rope_rerotate
 * (keep a copy of the old lcx_rope; rotations are invertible, so nothing is lost
 * beyond float rounding):
 *
 *     lcx_rope old = rope;                         // plain data: a copy is a state
 *     lcx_rope_set_seq_len(&rope, n_cached + n_new);
 *     lcx_rope_rerotate(&old, &rope, k_cache, n_cached, n_kv_heads, kv_stride, k_pos);
 *
 * The non-dynamic types (DEFAULT, LINEAR, NTK, YARN, LLAMA3) never change, so
 * they need none of this.
 *
 * Precision: frequencies are computed in double, and every angle p * f_i is
 * formed in double; its cos and sin are evaluated in double (an exact Cody-Waite
 * reduction by pi/2 and polynomials, within 1e-13 of libm, vectorised; libm's
 * sin/cos for |angle| >= 2^31) and only then rounded to float. Positions up to
 * 2^31 and beyond stay within ~1e-6 of an exact rotation. (A float product
 * p * f_i, as HF computes it, is off by up to ~0.06 rad at p = 10^6.) Build the
 * implementation without -ffast-math: it lets the compiler reorder the exact
 * reduction and drop NaN checks.
 *
 * Speed and threads: per token the rotary_dim/2 cos/sin values are computed once
 * (4 or 8 at a time) and shared by all heads, which rotate with AVX2/AVX-512
 * where compiled, so the work streams at memory speed. Calls
 * with enough work (about 64K rotated elements) split tokens across cfg.n_threads
 * OpenMP threads; results are bit-identical for any thread count.
 *
 * Example (Llama 3.1 8B: head_dim 128, theta 500000, llama3 scaling):
 *
 *     lcx_rope_config rc = {0};
 *     rc.head_dim = 128; rc.theta = 500000; rc.type = LCX_ROPE_LLAMA3;
 *     lcx_rope rope;
 *     if (lcx_rope_init(&rope, &rc) != LCX_OK) ...;
 *     lcx_rope_apply(&rope, q, n_tokens, 32, 32 * 128, pos);   // q [n][32][128]
 *     lcx_rope_apply(&rope, k, n_tokens, 8, 8 * 128, pos);     // k [n][8][128]
 */

/* The largest head_dim (and so rotary_dim) lcx_rope accepts. */
#define LCX_ROPE_MAX_HEAD_DIM 512

typedef enum lcx_rope_type {
    LCX_ROPE_DEFAULT = 0, /* theta^(-2i/d) */
    LCX_ROPE_LINEAR,      /* position interpolation (PI): f / s */
    LCX_ROPE_NTK,         /* NTK-aware: theta * s^(d/(d-2)) */
    LCX_ROPE_DYNAMIC_NTK, /* NTK whose scale grows with the sequence length */
    LCX_ROPE_YARN,        /* YaRN ramp between f and f/s, attention factor */
    LCX_ROPE_LLAMA3,      /* Llama 3.1 wavelength bands */
    LCX_ROPE_LONGROPE,    /* LongRoPE / Phi-3: per-pair short and long factors */
    LCX_ROPE_CLEX         /* CLEX: per-pair scaling from a learned ODE */
} lcx_rope_type;

typedef enum lcx_rope_layout {
    LCX_ROPE_HALF = 0,   /* NeoX / HF rotate_half: pairs (i, i + r/2) */
    LCX_ROPE_INTERLEAVED /* GPT-J / Meta original: pairs (2i, 2i + 1) */
} lcx_rope_layout;

typedef enum lcx_clex_act { LCX_CLEX_TANH = 0, LCX_CLEX_SILU } lcx_clex_act;

/* The learned part of a CLEX model, as its checkpoint holds it. With d = rotary_dim
   and H = param_factor * d, the log-frequencies x(t) obey
       dx/dt = act((x + ln g(t)) @ up_proj) @ down_proj + g'(t)/g(t),
   g_i(t) = (10000 * (2t-1)^(d/(d-2)))^(-2i/d), from x(1) = ln(DEFAULT frequencies),
   integrated with the 3/8-rule RK4 on the grid 1, 1+dt, ..., max_factor (see
   REFERENCES: the CLEX authors' clex_layer.py with torchdiffeq's rk4).
   Borrowed: must outlive every lcx_rope made from it (the weights are read again
   whenever lcx_rope_set_seq_len changes the integer scale t). */
typedef struct lcx_clex_params {
    int param_factor;      /* hidden width = param_factor * rotary_dim; required, >= 1 */
    lcx_clex_act act;      /* TANH (0) or SILU */
    int max_factor;        /* largest integer scale t; required, >= 1 */
    double time_dt;        /* RK4 step; required, finite, > 0,
                              (max_factor - 1) / time_dt <= 1e8 */
    const float *up_proj;  /* [rotary_dim/2][param_factor*rotary_dim], row-major; required */
    const float *down_proj;/* [param_factor*rotary_dim][rotary_dim/2], row-major; required */
} lcx_clex_params;

/* How to build an lcx_rope. Zero-initialise, then set what you need; the table in
   the comment above lists per type which fields are read, their defaults and
   ranges. */
typedef struct lcx_rope_config {
    int head_dim;                 /* required, even, <= LCX_ROPE_MAX_HEAD_DIM */
    int rotary_dim;               /* 0: head_dim; even, <= head_dim (partial rotary) */
    double theta;                 /* 0: 10000 */
    lcx_rope_layout layout;       /* 0: LCX_ROPE_HALF */
    lcx_rope_type type;           /* 0: LCX_ROPE_DEFAULT */
    double factor;                /* s >= 1; required for LINEAR, NTK, DYNAMIC_NTK, YARN,
                                     LONGROPE; LLAMA3 0: 8; unused by DEFAULT and CLEX */
    int64_t original_max_pos;     /* pre-training length L0; required for DYNAMIC_NTK,
                                     YARN, LONGROPE, CLEX; LLAMA3 0: 8192 */
    double beta_fast, beta_slow;  /* YaRN; 0: 32 and 1 */
    double mscale, mscale_all_dim;/* YaRN (DeepSeek form); 0: unused */
    double attention_factor;      /* 0: derived as the type defines (YARN, LONGROPE) */
    int yarn_no_truncate;         /* 1: YaRN correction range not rounded */
    double low_freq_factor, high_freq_factor; /* LLAMA3; 0: 1 and 4 */
    const float *short_factor, *long_factor;  /* LONGROPE: rotary_dim/2 each, copied */
    const struct lcx_clex_params *clex;       /* CLEX: required; borrowed */
    int n_threads;                /* apply/shift/rerotate; 0: OpenMP default, 1: serial */
} lcx_rope_config;

/* A RoPE state: plain data (about 4.2 KiB), copyable with memcpy or `=`; only
   `clex` points outside it. Fill it with lcx_rope_init; read it through the
   functions below (the fields are visible so a copy can be inspected). */
typedef struct lcx_rope {
    lcx_rope_config cfg;          /* resolved: every default filled in; short_factor,
                                     long_factor are NULL here (copied below) */
    double inv_freq[LCX_ROPE_MAX_HEAD_DIM / 2]; /* f_i for the current seq_len */
    double attention_factor;      /* A, multiplies cos and sin */
    float short_factor[LCX_ROPE_MAX_HEAD_DIM / 2]; /* LONGROPE copies, else 0 */
    float long_factor[LCX_ROPE_MAX_HEAD_DIM / 2];
    const lcx_clex_params *clex;  /* borrowed (CLEX), else NULL */
    int64_t seq_len;              /* the current sequence length (0 after init) */
    int clex_t;                   /* CLEX: the integer scale t of inv_freq, else 0 */
} lcx_rope;

/* Validate cfg, resolve its defaults and compute the frequencies for seq_len 0
   (DEFAULT-like for DYNAMIC_NTK, the short factors for LONGROPE, t = 1 for CLEX).
   Errors: LCX_ERR_INVALID_ARG for NULL rope or cfg, an unknown type or layout, and
   any field outside the range the table above gives for the type. On error
   *rope is left exactly as it was. */
LCXDEF lcx_status lcx_rope_init(lcx_rope *rope, const lcx_rope_config *cfg);

/* Set the current sequence length L (the number of tokens the model sees now,
   cached ones included). DEFAULT, LINEAR, NTK, YARN and LLAMA3 only record it.
   DYNAMIC_NTK recomputes its frequencies with L' = max(L, L0); LONGROPE uses the
   long factors when L > L0 and the short ones otherwise; CLEX integrates its ODE
   to t = clamp(ceil(L/L0), 1, max_factor), only when t changes (cost about
   (t-1)/time_dt RK4 steps of O(rotary_dim^2 * param_factor) each).
   Errors: LCX_ERR_INVALID_ARG for NULL rope or seq_len < 0 (rope unchanged). */
LCXDEF lcx_status lcx_rope_set_seq_len(lcx_rope *rope, int64_t seq_len);

/* The current inverse frequencies f_i in double: returns n = rotary_dim/2 and, if
   inv_freq is not NULL, writes n values to it. Returns 0 for a NULL rope. */
LCXDEF int lcx_rope_inv_freq(const lcx_rope *rope, double *inv_freq /* n or NULL */);

/* The attention factor A that multiplies cos and sin (1 for most types); 0 for a
   NULL rope. */
LCXDEF double lcx_rope_attention_factor(const lcx_rope *rope);

/* The rotation table of one position: cos_out[i] = A*cos(pos*f_i) and
   sin_out[i] = A*sin(pos*f_i) for i < n = rotary_dim/2, the angle formed in
   double. Errors: LCX_ERR_INVALID_ARG for NULL rope, cos_out or sin_out, or
   pos < 0 (nothing written). */
LCXDEF lcx_status lcx_rope_cos_sin(const lcx_rope *rope, int64_t pos, float *cos_out,
                                   float *sin_out);

/* Rotate x in place: the vector x[t*token_stride + h*head_dim + 0 .. head_dim-1]
   for t < n_tokens, h < n_heads, at position pos[t] (pos == NULL: position t),
   cos and sin multiplied by the attention factor as HF does. Dimensions >=
   rotary_dim and the gap between n_heads*head_dim and token_stride are not
   touched. Threads: cfg.n_threads when the call is large enough.
   Errors (LCX_ERR_INVALID_ARG, x untouched): NULL rope; with n_tokens > 0: NULL
   x, n_heads <= 0, token_stride < n_heads*head_dim, an element offset that
   overflows int64, a negative position; n_tokens < 0. n_tokens == 0 does
   nothing. */
LCXDEF lcx_status lcx_rope_apply(const lcx_rope *rope, float *x, int64_t n_tokens, int n_heads,
                                 int64_t token_stride, const int64_t *pos);

/* Rotate by a position delta, without the attention factor: moves keys that were
   rotated (by lcx_rope_apply with this rope) at position p to p + delta[t], e.g.
   after evicting part of a cache (context shift). Rotations compose exactly, so
   shift(d) after apply(p) equals apply(p + d) up to float rounding. delta may be
   negative (any int64; p + delta is the caller's business). The rotation uses
   this rope's current frequencies: for DYNAMIC_NTK, LONGROPE and CLEX shift with
   the state the keys were rotated with (then lcx_rope_rerotate if it changed).
   Shapes and errors as lcx_rope_apply; delta is required when n_tokens > 0. */
LCXDEF lcx_status lcx_rope_shift(const lcx_rope *rope, float *x, int64_t n_tokens, int n_heads,
                                 int64_t token_stride, const int64_t *delta);

/* Move vectors rotated by `from` at positions pos[t] (NULL: t) to what
   lcx_rope_apply(to, ...) gives for the unrotated vectors: one rotation by
   pos*(f_to - f_from) (formed in double) scaled by A_to/A_from. Use it to keep
   cached keys exact when DYNAMIC_NTK, LONGROPE or CLEX frequencies change with
   the sequence length: copy the rope, call lcx_rope_set_seq_len on the copy, then
   rerotate the cache from the old state to the new one. Threads: to->cfg.n_threads.
   Errors (LCX_ERR_INVALID_ARG, x untouched): NULL from or to; from and to with
   different head_dim, rotary_dim or layout; a zero attention factor in from; and
   the shape errors of lcx_rope_apply. */
LCXDEF lcx_status lcx_rope_rerotate(const lcx_rope *from, const lcx_rope *to, float *x,
                                    int64_t n_tokens, int n_heads, int64_t token_stride,
                                    const int64_t *pos);

/* >>rope end */

/* ============================================================================
 *  3. >>attention  tiled attention
 * ============================================================================ */

/* >>attention declarations go here */

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

/* Private helpers of this section. Frequencies: double throughout; angles p*f in
   double, then lcx__sincos (double, vectorised per token). Kernels: a per-token table of float cos/sin (times A)
   is built once, then every head of the token is rotated by the _ref / _avx2 /
   _avx512 kernel of the layout. */

#define LCX__ROPE_NPAIR_MAX (LCX_ROPE_MAX_HEAD_DIM / 2)
/* below this many rotated elements a call never forks */
#define LCX__ROPE_PAR_MIN_ELEMS 65536

/* finite by the exponent bits, so it holds even where the caller's flags let the
   compiler assume finite math */
LCX__INLINE int lcx__rope_finite(double v) {
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return ((u >> 52) & 0x7FFu) != 0x7FFu;
}

/* sin and cos of a double angle a, both accurate to ~1e-15 absolute for
   |a| < 2^31 (and to libm's accuracy beyond, where it falls back to sin/cos):
   k = nearest integer to a*2/pi, r = a - k*pi/2 by Cody-Waite with pi/2 split
   into three 21-bit pieces and a tail, so every k*piece is exact for k < 2^32;
   then Taylor polynomials to r^13 / r^14 on |r| <= pi/4 (truncation < 3e-14)
   and the quadrant k mod 4. Several times faster than libm's sin plus cos. */
LCX__INLINE void lcx__sincos(double a, double *s_out, double *c_out) {
    const double two_over_pi = 0x1.45f306dc9c883p-1;
    const double p1 = 0x1.921fbp+0, p2 = 0x1.5110bp-22, p3 = 0x1.18469p-44,
                 p4 = 0x1.13198a2e03707p-65;
    double k, r, r2, sn, cs;
    int64_t q;
    if (!(a > -2147483648.0 && a < 2147483648.0)) {
        *s_out = sin(a);
        *c_out = cos(a);
        return;
    }
    k = nearbyint(a * two_over_pi);
    r = a - k * p1;
    r -= k * p2;
    r -= k * p3;
    r -= k * p4;
    r2 = r * r;
    /* Horner in r^2 with the Taylor coefficients (-1)^k/(2k+1)! and (-1)^k/(2k)! */
    sn = r + r * r2 * (-0x1.5555555555555p-3 + r2 * (0x1.1111111111111p-7 + r2 * (-0x1.a01a01a01a01ap-13 +
             r2 * (0x1.71de3a556c734p-19 + r2 * (-0x1.ae64567f544e4p-26 + r2 * 0x1.6124613a86d09p-33)))));
    cs = 1.0 + r2 * (-0x1.0000000000000p-1 + r2 * (0x1.5555555555555p-5 + r2 * (-0x1.6c16c16c16c17p-10 +
             r2 * (0x1.a01a01a01a01ap-16 + r2 * (-0x1.27e4fb7789f5cp-22 + r2 * (0x1.1eed8eff8d898p-29 +
             r2 * -0x1.93974a8c07c9dp-37))))));
    q = (int64_t)k;
    { /* quadrant without branches: odd q swaps, then signs */
        const double s0 = (q & 1) ? cs : sn, c0 = (q & 1) ? sn : cs;
        *s_out = (q & 2) ? -s0 : s0;
        *c_out = ((q + 1) & 2) ? -c0 : c0;
    }
}

/* DEFAULT frequencies theta^(-2i/d), i < n = d/2. */
LCX__STATIC void lcx__rope_default_freq(double *f, int d, double theta) {
    int i;
    for (i = 0; i < d / 2; i++) f[i] = pow(theta, -(double)(2 * i) / (double)d);
}

/* NTK-aware frequencies with base theta * alpha^(d/(d-2)): theta^(-2i/d) *
   alpha^(-2i/(d-2)); for d = 2 the only pair has exponent 0 (f = 1). */
LCX__STATIC void lcx__rope_ntk_freq(double *f, int d, double theta, double alpha) {
    int i;
    f[0] = 1.0;
    for (i = 1; i < d / 2; i++)
        f[i] = pow(theta, -(double)(2 * i) / (double)d) *
               pow(alpha, -(double)(2 * i) / (double)(d - 2));
}

LCX__STATIC double lcx__rope_yarn_mscale(double s, double k) {
    return s <= 1.0 ? 1.0 : 0.1 * k * log(s) + 1.0;
}

/* ---- CLEX: the learned ODE of the log-frequencies ---------------------------
   x' = act((x + ln g(t)) @ up) @ down + g'(t)/g(t), with (b = 10000, alpha = 2t-1)
   ln g_i(t) = i * c1(t), c1 = -(2/d) ln b - (2/(d-2)) ln alpha, and
   g_i'/g_i = i * c2(t), c2 = -4/((d-2) alpha), so neither needs an array.
   The argument is x = y + w1*a1 + w2*a2 (formed on the fly, so RK4 needs no array
   for it); out must not alias y, a1 or a2. The hidden layer (width H = p*d) is
   computed a block of units at a time: h_j = act(sum_i z_i up[i][j]), then
   out += h_j down[j]. */
#define LCX__CLEX_HBLOCK 32
LCX__STATIC void lcx__clex_deriv(const lcx_clex_params *cp, int d, double t, const double *y,
                                 const double *a1, double w1, const double *a2, double w2,
                                 double *out) {
    const int n = d / 2;
    const int64_t H = (int64_t)cp->param_factor * d;
    const double alpha = t < 1.0 ? 1.0 : 2.0 * t - 1.0;
    double c1 = 0.0, c2 = 0.0;
    double h[LCX__CLEX_HBLOCK];
    int64_t j0;
    int i, k;
    if (d > 2) {
        c1 = -(2.0 / d) * log(10000.0) - (2.0 / (d - 2)) * log(alpha);
        c2 = -4.0 / ((double)(d - 2) * alpha);
    }
    for (k = 0; k < n; k++) out[k] = (double)k * c2;
    for (j0 = 0; j0 < H; j0 += LCX__CLEX_HBLOCK) {
        int jb = (int)(H - j0 < LCX__CLEX_HBLOCK ? H - j0 : LCX__CLEX_HBLOCK), jj;
        for (jj = 0; jj < jb; jj++) h[jj] = 0.0;
        for (i = 0; i < n; i++) {
            const double z = y[i] + w1 * a1[i] + w2 * a2[i] + (double)i * c1;
            const float *up = cp->up_proj + (int64_t)i * H + j0;
            for (jj = 0; jj < jb; jj++) h[jj] += z * (double)up[jj];
        }
        for (jj = 0; jj < jb; jj++) {
            const double v = h[jj];
            const double act = cp->act == LCX_CLEX_SILU ? v / (1.0 + exp(-v)) : tanh(v);
            const float *down = cp->down_proj + (j0 + jj) * (int64_t)n;
            if (act == 0.0) continue;
            for (k = 0; k < n; k++) out[k] += act * (double)down[k];
        }
    }
}

/* Frequencies at the integer scale t: x(1) = ln(DEFAULT f), RK4 (3/8 rule) over
   the grid 1, 1+dt, ..., whose last point is max_factor (torchdiffeq's fixed
   grid), stopping at the step that reaches t and interpolating linearly inside
   it: y(t) = y0 + (t - t0)/(t1 - t0) * (y1 - y0). The state y lives in f; the
   stack holds three arrays of n doubles (6 KiB at rotary_dim 512):
     k1 = F(y), k2 = F(y + h k1/3), k3 = F(y - h k1/3 + h k2),
     then k1 <- k1 + 3k2 + 3k3, k2 <- k1 - k2 + k3, k4 = F(y + h k2) into k3,
     y += h (k1 + k3) / 8. */
LCX__STATIC void lcx__clex_freq(double *f, int d, double theta, const lcx_clex_params *cp,
                                int t) {
    const int n = d / 2;
    const double T = (double)cp->max_factor, dt = cp->time_dt, tt = (double)t;
    double k1[LCX__ROPE_NPAIR_MAX], k2[LCX__ROPE_NPAIR_MAX], k3[LCX__ROPE_NPAIR_MAX];
    double *y = f;
    int64_t k, niters;
    int i;
    lcx__rope_default_freq(f, d, theta);
    if (t <= 1) return;
    for (i = 0; i < n; i++) y[i] = log(y[i]);
    niters = (int64_t)ceil((T - 1.0) / dt + 1.0); /* grid points, the last set to T */
    for (k = 0; k + 1 < niters; k++) {
        const double t0 = 1.0 + (double)k * dt;
        double t1 = (k + 2 == niters) ? T : 1.0 + (double)(k + 1) * dt, h, w;
        if (t1 > T) t1 = T;
        h = t1 - t0;
        if (h <= 0.0) break;
        lcx__clex_deriv(cp, d, t0, y, y, 0.0, y, 0.0, k1);
        lcx__clex_deriv(cp, d, t0 + h / 3.0, y, k1, h / 3.0, y, 0.0, k2);
        lcx__clex_deriv(cp, d, t0 + 2.0 * h / 3.0, y, k1, -h / 3.0, k2, h, k3);
        for (i = 0; i < n; i++) {
            const double a = k1[i], b = k2[i], c = k3[i];
            k1[i] = a + 3.0 * (b + c);
            k2[i] = a - b + c;
        }
        lcx__clex_deriv(cp, d, t1, y, k2, h, y, 0.0, k3); /* k4 */
        w = t1 >= tt ? (tt - t0) / h : 1.0;
        for (i = 0; i < n; i++) y[i] += w * h * (k1[i] + k3[i]) / 8.0;
        if (t1 >= tt) break;
    }
    for (i = 0; i < n; i++) f[i] = exp(y[i]);
}

/* The frequencies of rope for its type and rope->seq_len (config already valid). */
LCX__STATIC void lcx__rope_compute(lcx_rope *rope) {
    const lcx_rope_config *c = &rope->cfg;
    const int d = c->rotary_dim, n = d / 2;
    const double theta = c->theta, s = c->factor, L0 = (double)c->original_max_pos;
    double *f = rope->inv_freq;
    int i;
    switch (c->type) {
    case LCX_ROPE_LINEAR:
        lcx__rope_default_freq(f, d, theta);
        for (i = 0; i < n; i++) f[i] /= s;
        break;
    case LCX_ROPE_NTK: lcx__rope_ntk_freq(f, d, theta, s); break;
    case LCX_ROPE_DYNAMIC_NTK: {
        const double L = rope->seq_len > c->original_max_pos ? (double)rope->seq_len : L0;
        lcx__rope_ntk_freq(f, d, theta, s * L / L0 - (s - 1.0));
        break;
    }
    case LCX_ROPE_YARN: {
        const double lt = log(theta), twopi = 6.283185307179586476925;
        double low = (double)d * log(L0 / (c->beta_fast * twopi)) / (2.0 * lt);
        double high = (double)d * log(L0 / (c->beta_slow * twopi)) / (2.0 * lt);
        if (!c->yarn_no_truncate) { low = floor(low); high = ceil(high); }
        if (low < 0.0) low = 0.0;
        if (high > (double)(d - 1)) high = (double)(d - 1);
        if (low == high) high += 0.001;
        lcx__rope_default_freq(f, d, theta);
        for (i = 0; i < n; i++) {
            double r = ((double)i - low) / (high - low);
            r = r < 0.0 ? 0.0 : (r > 1.0 ? 1.0 : r);
            f[i] = r * f[i] / s + (1.0 - r) * f[i];
        }
        break;
    }
    case LCX_ROPE_LLAMA3: {
        const double lo = c->low_freq_factor, hi = c->high_freq_factor;
        const double wl_lo = L0 / lo, wl_hi = L0 / hi;
        lcx__rope_default_freq(f, d, theta);
        for (i = 0; i < n; i++) {
            const double wl = 6.283185307179586476925 / f[i];
            if (wl < wl_hi) continue;
            if (wl > wl_lo) {
                f[i] /= s;
            } else {
                const double sg = (L0 / wl - lo) / (hi - lo);
                f[i] = (1.0 - sg) * f[i] / s + sg * f[i];
            }
        }
        break;
    }
    case LCX_ROPE_LONGROPE: {
        const float *e = rope->seq_len > c->original_max_pos ? rope->long_factor
                                                             : rope->short_factor;
        lcx__rope_default_freq(f, d, theta);
        for (i = 0; i < n; i++) f[i] /= (double)e[i];
        break;
    }
    case LCX_ROPE_CLEX: lcx__clex_freq(f, d, theta, rope->clex, rope->clex_t); break;
    default: lcx__rope_default_freq(f, d, theta); break;
    }
}

LCX__STATIC int lcx__rope_factors_ok(const float *e, int n) {
    int i;
    if (!e) return 0;
    for (i = 0; i < n; i++)
        if (!(lcx__rope_finite((double)e[i]) && e[i] > 0.0f)) return 0;
    return 1;
}

/* CLEX integer scale for a sequence length. */
LCX__STATIC int lcx__clex_scale(const lcx_rope *rope, int64_t L) {
    const int64_t L0 = rope->cfg.original_max_pos;
    int64_t t = L <= L0 ? 1 : (L / L0 + (L % L0 != 0));
    if (t > rope->clex->max_factor) t = rope->clex->max_factor;
    return t < 1 ? 1 : (int)t;
}

LCXDEF lcx_status lcx_rope_init(lcx_rope *rope, const lcx_rope_config *cfg) {
    lcx_rope_config c;
    int n;
    if (!rope || !cfg) return LCX_ERR_INVALID_ARG;
    c = *cfg;
    /* ---- resolve defaults, then validate everything before writing ---- */
    if ((int)c.type < (int)LCX_ROPE_DEFAULT || (int)c.type > (int)LCX_ROPE_CLEX)
        return LCX_ERR_INVALID_ARG;
    if ((int)c.layout != (int)LCX_ROPE_HALF && (int)c.layout != (int)LCX_ROPE_INTERLEAVED)
        return LCX_ERR_INVALID_ARG;
    if (c.head_dim <= 0 || (c.head_dim & 1) || c.head_dim > LCX_ROPE_MAX_HEAD_DIM)
        return LCX_ERR_INVALID_ARG;
    if (c.rotary_dim == 0) c.rotary_dim = c.head_dim;
    if (c.rotary_dim < 0 || (c.rotary_dim & 1) || c.rotary_dim > c.head_dim)
        return LCX_ERR_INVALID_ARG;
    n = c.rotary_dim / 2;
    if (c.theta == 0.0) c.theta = 10000.0;
    if (!(lcx__rope_finite(c.theta) && c.theta > 0.0)) return LCX_ERR_INVALID_ARG;
    if (!(lcx__rope_finite(c.attention_factor) && c.attention_factor >= 0.0))
        return LCX_ERR_INVALID_ARG;
    if (c.n_threads < 0) return LCX_ERR_INVALID_ARG;
    if (c.type == LCX_ROPE_LLAMA3) {
        if (c.factor == 0.0) c.factor = 8.0;
        if (c.original_max_pos == 0) c.original_max_pos = 8192;
        if (c.low_freq_factor == 0.0) c.low_freq_factor = 1.0;
        if (c.high_freq_factor == 0.0) c.high_freq_factor = 4.0;
        if (!(lcx__rope_finite(c.low_freq_factor) && c.low_freq_factor > 0.0 &&
              lcx__rope_finite(c.high_freq_factor) && c.high_freq_factor > c.low_freq_factor))
            return LCX_ERR_INVALID_ARG;
    }
    if (c.type == LCX_ROPE_YARN) {
        if (c.beta_fast == 0.0) c.beta_fast = 32.0;
        if (c.beta_slow == 0.0) c.beta_slow = 1.0;
        if (!(lcx__rope_finite(c.beta_fast) && lcx__rope_finite(c.beta_slow) &&
              c.beta_slow > 0.0 && c.beta_fast > c.beta_slow))
            return LCX_ERR_INVALID_ARG;
        if (c.theta == 1.0) return LCX_ERR_INVALID_ARG; /* r(n) divides by ln(theta) */
        if (!(lcx__rope_finite(c.mscale) && c.mscale >= 0.0 &&
              lcx__rope_finite(c.mscale_all_dim) && c.mscale_all_dim >= 0.0))
            return LCX_ERR_INVALID_ARG;
    }
    if (c.type != LCX_ROPE_DEFAULT && c.type != LCX_ROPE_CLEX) { /* reads factor */
        if (!(lcx__rope_finite(c.factor) && c.factor >= 1.0)) return LCX_ERR_INVALID_ARG;
    }
    if (c.type == LCX_ROPE_DYNAMIC_NTK || c.type == LCX_ROPE_YARN ||
        c.type == LCX_ROPE_LONGROPE || c.type == LCX_ROPE_CLEX || c.type == LCX_ROPE_LLAMA3) {
        if (c.original_max_pos <= 0) return LCX_ERR_INVALID_ARG;
    }
    if (c.type == LCX_ROPE_LONGROPE) {
        if (!lcx__rope_factors_ok(c.short_factor, n) || !lcx__rope_factors_ok(c.long_factor, n))
            return LCX_ERR_INVALID_ARG;
        if (c.attention_factor == 0.0 && c.factor > 1.0 && c.original_max_pos < 2)
            return LCX_ERR_INVALID_ARG; /* ln(L0) = 0 */
    }
    if (c.type == LCX_ROPE_CLEX) {
        const lcx_clex_params *p = c.clex;
        if (!p || p->param_factor < 1 || p->max_factor < 1 || !p->up_proj || !p->down_proj ||
            ((int)p->act != (int)LCX_CLEX_TANH && (int)p->act != (int)LCX_CLEX_SILU) ||
            !(lcx__rope_finite(p->time_dt) && p->time_dt > 0.0) ||
            !((double)(p->max_factor - 1) / p->time_dt <= 1e8))
            return LCX_ERR_INVALID_ARG;
    }
    /* ---- valid: build the state ---- */
    memset(rope, 0, sizeof *rope);
    if (c.type == LCX_ROPE_LONGROPE) {
        memcpy(rope->short_factor, c.short_factor, (size_t)n * sizeof(float));
        memcpy(rope->long_factor, c.long_factor, (size_t)n * sizeof(float));
    }
    c.short_factor = NULL;
    c.long_factor = NULL;
    if (c.type != LCX_ROPE_CLEX) c.clex = NULL;
    rope->cfg = c;
    rope->clex = c.clex;
    rope->seq_len = 0;
    rope->clex_t = c.type == LCX_ROPE_CLEX ? 1 : 0;
    if (c.attention_factor > 0.0 && (c.type == LCX_ROPE_YARN || c.type == LCX_ROPE_LONGROPE)) {
        rope->attention_factor = c.attention_factor;
    } else if (c.type == LCX_ROPE_YARN) {
        rope->attention_factor =
            (c.mscale != 0.0 && c.mscale_all_dim != 0.0)
                ? lcx__rope_yarn_mscale(c.factor, c.mscale) /
                      lcx__rope_yarn_mscale(c.factor, c.mscale_all_dim)
                : lcx__rope_yarn_mscale(c.factor, 1.0);
    } else if (c.type == LCX_ROPE_LONGROPE && c.factor > 1.0) {
        rope->attention_factor = sqrt(1.0 + log(c.factor) / log((double)c.original_max_pos));
    } else {
        rope->attention_factor = 1.0;
    }
    lcx__rope_compute(rope);
    return LCX_OK;
}

LCXDEF lcx_status lcx_rope_set_seq_len(lcx_rope *rope, int64_t seq_len) {
    int64_t old;
    if (!rope || seq_len < 0) return LCX_ERR_INVALID_ARG;
    old = rope->seq_len;
    rope->seq_len = seq_len;
    switch (rope->cfg.type) {
    case LCX_ROPE_DYNAMIC_NTK:
        if (old > rope->cfg.original_max_pos || seq_len > rope->cfg.original_max_pos)
            lcx__rope_compute(rope);
        break;
    case LCX_ROPE_LONGROPE:
        if ((old > rope->cfg.original_max_pos) != (seq_len > rope->cfg.original_max_pos))
            lcx__rope_compute(rope);
        break;
    case LCX_ROPE_CLEX: {
        const int t = lcx__clex_scale(rope, seq_len);
        if (t != rope->clex_t) {
            rope->clex_t = t;
            lcx__rope_compute(rope);
        }
        break;
    }
    default: break;
    }
    return LCX_OK;
}

LCXDEF int lcx_rope_inv_freq(const lcx_rope *rope, double *inv_freq) {
    int n;
    if (!rope) return 0;
    n = rope->cfg.rotary_dim / 2;
    if (inv_freq) memcpy(inv_freq, rope->inv_freq, (size_t)n * sizeof(double));
    return n;
}

LCXDEF double lcx_rope_attention_factor(const lcx_rope *rope) {
    return rope ? rope->attention_factor : 0.0;
}

LCXDEF lcx_status lcx_rope_cos_sin(const lcx_rope *rope, int64_t pos, float *cos_out,
                                   float *sin_out) {
    int i, n;
    if (!rope || !cos_out || !sin_out || pos < 0) return LCX_ERR_INVALID_ARG;
    n = rope->cfg.rotary_dim / 2;
    for (i = 0; i < n; i++) {
        double sd, cd;
        lcx__sincos((double)pos * rope->inv_freq[i], &sd, &cd);
        cos_out[i] = (float)(rope->attention_factor * cd);
        sin_out[i] = (float)(rope->attention_factor * sd);
    }
    return LCX_OK;
}

/* ---- rotation kernels ------------------------------------------------------
   x: n_heads vectors of head_dim floats, contiguous. Tables: HALF reads c[i], s[i]
   for i < rd/2; INTERLEAVED reads c[j], s[j] for j < rd, with c[2i] = c[2i+1]. */
LCX__STATIC void lcx__rope_rotate_ref(float *x, int n_heads, int head_dim, int rd, int layout,
                                      const float *c, const float *s) {
    int h, i;
    const int n = rd / 2;
    for (h = 0; h < n_heads; h++) {
        float *v = x + (int64_t)h * head_dim;
        if (layout == LCX_ROPE_HALF) {
            for (i = 0; i < n; i++) {
                const float a = v[i], b = v[i + n];
                v[i] = a * c[i] - b * s[i];
                v[i + n] = b * c[i] + a * s[i];
            }
        } else {
            for (i = 0; i < rd; i += 2) {
                const float a = v[i], b = v[i + 1];
                v[i] = a * c[i] - b * s[i];
                v[i + 1] = b * c[i] + a * s[i];
            }
        }
    }
}

#ifdef LCX__HAVE_AVX2
LCX__STATIC void lcx__rope_rotate_avx2(float *x, int n_heads, int head_dim, int rd, int layout,
                                       const float *c, const float *s) {
    int h, i;
    const int n = rd / 2;
    for (h = 0; h < n_heads; h++) {
        float *v = x + (int64_t)h * head_dim;
        if (layout == LCX_ROPE_HALF) {
            for (i = 0; i + 8 <= n; i += 8) {
                const __m256 a = _mm256_loadu_ps(v + i), b = _mm256_loadu_ps(v + i + n);
                const __m256 cc = _mm256_loadu_ps(c + i), ss = _mm256_loadu_ps(s + i);
                _mm256_storeu_ps(v + i, _mm256_fmsub_ps(a, cc, _mm256_mul_ps(b, ss)));
                _mm256_storeu_ps(v + i + n, _mm256_fmadd_ps(b, cc, _mm256_mul_ps(a, ss)));
            }
            for (; i < n; i++) {
                const float a = v[i], b = v[i + n];
                v[i] = a * c[i] - b * s[i];
                v[i + n] = b * c[i] + a * s[i];
            }
        } else {
            /* even lanes a*c - b*s, odd lanes b*c + a*s: fmaddsub(v, c, swap(v)*s) */
            for (i = 0; i + 8 <= rd; i += 8) {
                const __m256 a = _mm256_loadu_ps(v + i);
                const __m256 sw = _mm256_permute_ps(a, 0xB1);
                _mm256_storeu_ps(v + i, _mm256_fmaddsub_ps(a, _mm256_loadu_ps(c + i),
                                                           _mm256_mul_ps(sw, _mm256_loadu_ps(s + i))));
            }
            for (; i < rd; i += 2) {
                const float a = v[i], b = v[i + 1];
                v[i] = a * c[i] - b * s[i];
                v[i + 1] = b * c[i] + a * s[i];
            }
        }
    }
}
#endif

#ifdef LCX__HAVE_AVX512
LCX__STATIC void lcx__rope_rotate_avx512(float *x, int n_heads, int head_dim, int rd, int layout,
                                         const float *c, const float *s) {
    int h, i;
    const int n = rd / 2;
    for (h = 0; h < n_heads; h++) {
        float *v = x + (int64_t)h * head_dim;
        if (layout == LCX_ROPE_HALF) {
            for (i = 0; i < n; i += 16) {
                const __mmask16 m = (__mmask16)(n - i >= 16 ? 0xFFFFu : ((1u << (n - i)) - 1u));
                const __m512 a = _mm512_maskz_loadu_ps(m, v + i);
                const __m512 b = _mm512_maskz_loadu_ps(m, v + i + n);
                const __m512 cc = _mm512_maskz_loadu_ps(m, c + i);
                const __m512 ss = _mm512_maskz_loadu_ps(m, s + i);
                _mm512_mask_storeu_ps(v + i, m, _mm512_fmsub_ps(a, cc, _mm512_mul_ps(b, ss)));
                _mm512_mask_storeu_ps(v + i + n, m, _mm512_fmadd_ps(b, cc, _mm512_mul_ps(a, ss)));
            }
        } else {
            for (i = 0; i < rd; i += 16) {
                const __mmask16 m = (__mmask16)(rd - i >= 16 ? 0xFFFFu : ((1u << (rd - i)) - 1u));
                const __m512 a = _mm512_maskz_loadu_ps(m, v + i);
                const __m512 sw = _mm512_permute_ps(a, 0xB1);
                const __m512 r = _mm512_fmaddsub_ps(a, _mm512_maskz_loadu_ps(m, c + i),
                                                    _mm512_mul_ps(sw, _mm512_maskz_loadu_ps(m, s + i)));
                _mm512_mask_storeu_ps(v + i, m, r);
            }
        }
    }
}
#endif

LCX__STATIC void lcx__rope_rotate_simd(int simd, float *x, int n_heads, int head_dim, int rd,
                                       int layout, const float *c, const float *s) {
    switch (simd) {
#ifdef LCX__HAVE_AVX512
    case LCX__SIMD_AVX512: lcx__rope_rotate_avx512(x, n_heads, head_dim, rd, layout, c, s); break;
#endif
#ifdef LCX__HAVE_AVX2
    case LCX__SIMD_AVX2: lcx__rope_rotate_avx2(x, n_heads, head_dim, rd, layout, c, s); break;
#endif
    default: lcx__rope_rotate_ref(x, n_heads, head_dim, rd, layout, c, s); break;
    }
}

/* ---- cos/sin tables -----------------------------------------------------------
   For one token: angle a_i = p * f_i (or p * (f_i - fsub_i) for rerotate) in
   double, cos/sin by lcx__sincos's method, times `scale`, rounded to float. HALF
   writes c[i], s[i] for i < n; INTERLEAVED writes c[2i] = c[2i+1], s likewise.
   The vector versions use the same reduction and polynomials, 4 or 8 angles at a
   time; a group with an angle outside +-2^31 goes through the scalar code. */
LCX__STATIC void lcx__rope_table_ref(const double *f, const double *fsub, double p, double scale,
                                     int n, int layout, float *c, float *s, int i0) {
    int i;
    for (i = i0; i < n; i++) {
        const double a = fsub ? p * (f[i] - fsub[i]) : p * f[i];
        double sd, cd;
        float cv, sv;
        lcx__sincos(a, &sd, &cd);
        cv = (float)(scale * cd);
        sv = (float)(scale * sd);
        if (layout == LCX_ROPE_HALF) {
            c[i] = cv;
            s[i] = sv;
        } else {
            c[2 * i] = c[2 * i + 1] = cv;
            s[2 * i] = s[2 * i + 1] = sv;
        }
    }
}

#ifdef LCX__HAVE_AVX2
LCX__STATIC void lcx__rope_table_avx2(const double *f, const double *fsub, double p, double scale,
                                      int n, int layout, float *c, float *s) {
    const __m256d vp = _mm256_set1_pd(p), vscale = _mm256_set1_pd(scale);
    const __m256d two_over_pi = _mm256_set1_pd(0x1.45f306dc9c883p-1);
    const __m256d p1 = _mm256_set1_pd(0x1.921fbp+0), p2 = _mm256_set1_pd(0x1.5110bp-22);
    const __m256d p3 = _mm256_set1_pd(0x1.18469p-44), p4 = _mm256_set1_pd(0x1.13198a2e03707p-65);
    const __m256d lim = _mm256_set1_pd(2147483648.0), absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7FFFFFFFFFFFFFFFLL));
    const __m256i one = _mm256_set1_epi64x(1), two = _mm256_set1_epi64x(2);
    int i;
    for (i = 0; i + 4 <= n; i += 4) {
        __m256d a = _mm256_loadu_pd(f + i), k, r, r2, sn, cs, s0, c0;
        __m256i bits, odd;
        if (fsub) a = _mm256_sub_pd(a, _mm256_loadu_pd(fsub + i));
        a = _mm256_mul_pd(vp, a);
        if (_mm256_movemask_pd(_mm256_cmp_pd(_mm256_and_pd(a, absmask), lim, _CMP_LT_OQ)) != 0xF) {
            lcx__rope_table_ref(f, fsub, p, scale, i + 4, layout, c, s, i);
            continue;
        }
        k = _mm256_round_pd(_mm256_mul_pd(a, two_over_pi), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        bits = _mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(k)); /* q = k, |k| < 2^31 */
        r = _mm256_fnmadd_pd(k, p1, a);
        r = _mm256_fnmadd_pd(k, p2, r);
        r = _mm256_fnmadd_pd(k, p3, r);
        r = _mm256_fnmadd_pd(k, p4, r);
        r2 = _mm256_mul_pd(r, r);
        sn = _mm256_fmadd_pd(r2, _mm256_set1_pd(0x1.6124613a86d09p-33), _mm256_set1_pd(-0x1.ae64567f544e4p-26));
        sn = _mm256_fmadd_pd(r2, sn, _mm256_set1_pd(0x1.71de3a556c734p-19));
        sn = _mm256_fmadd_pd(r2, sn, _mm256_set1_pd(-0x1.a01a01a01a01ap-13));
        sn = _mm256_fmadd_pd(r2, sn, _mm256_set1_pd(0x1.1111111111111p-7));
        sn = _mm256_fmadd_pd(r2, sn, _mm256_set1_pd(-0x1.5555555555555p-3));
        sn = _mm256_fmadd_pd(_mm256_mul_pd(r, r2), sn, r);
        cs = _mm256_fmadd_pd(r2, _mm256_set1_pd(-0x1.93974a8c07c9dp-37), _mm256_set1_pd(0x1.1eed8eff8d898p-29));
        cs = _mm256_fmadd_pd(r2, cs, _mm256_set1_pd(-0x1.27e4fb7789f5cp-22));
        cs = _mm256_fmadd_pd(r2, cs, _mm256_set1_pd(0x1.a01a01a01a01ap-16));
        cs = _mm256_fmadd_pd(r2, cs, _mm256_set1_pd(-0x1.6c16c16c16c17p-10));
        cs = _mm256_fmadd_pd(r2, cs, _mm256_set1_pd(0x1.5555555555555p-5));
        cs = _mm256_fmadd_pd(r2, cs, _mm256_set1_pd(-0.5));
        cs = _mm256_fmadd_pd(r2, cs, _mm256_set1_pd(1.0));
        odd = _mm256_cmpeq_epi64(_mm256_and_si256(bits, one), one);
        s0 = _mm256_blendv_pd(sn, cs, _mm256_castsi256_pd(odd));
        c0 = _mm256_blendv_pd(cs, sn, _mm256_castsi256_pd(odd));
        /* sign of sin: q & 2; of cos: (q + 1) & 2; moved to bit 63 */
        s0 = _mm256_xor_pd(s0, _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_and_si256(bits, two), 62)));
        c0 = _mm256_xor_pd(c0, _mm256_castsi256_pd(_mm256_slli_epi64(
                                   _mm256_and_si256(_mm256_add_epi64(bits, one), two), 62)));
        {
            const __m128 cf = _mm256_cvtpd_ps(_mm256_mul_pd(vscale, c0));
            const __m128 sf = _mm256_cvtpd_ps(_mm256_mul_pd(vscale, s0));
            if (layout == LCX_ROPE_HALF) {
                _mm_storeu_ps(c + i, cf);
                _mm_storeu_ps(s + i, sf);
            } else {
                _mm_storeu_ps(c + 2 * i, _mm_unpacklo_ps(cf, cf));
                _mm_storeu_ps(c + 2 * i + 4, _mm_unpackhi_ps(cf, cf));
                _mm_storeu_ps(s + 2 * i, _mm_unpacklo_ps(sf, sf));
                _mm_storeu_ps(s + 2 * i + 4, _mm_unpackhi_ps(sf, sf));
            }
        }
    }
    lcx__rope_table_ref(f, fsub, p, scale, n, layout, c, s, i);
}
#endif

#ifdef LCX__HAVE_AVX512
LCX__STATIC void lcx__rope_table_avx512(const double *f, const double *fsub, double p,
                                        double scale, int n, int layout, float *c, float *s) {
    const __m512d vp = _mm512_set1_pd(p), vscale = _mm512_set1_pd(scale);
    const __m512d two_over_pi = _mm512_set1_pd(0x1.45f306dc9c883p-1);
    const __m512d p1 = _mm512_set1_pd(0x1.921fbp+0), p2 = _mm512_set1_pd(0x1.5110bp-22);
    const __m512d p3 = _mm512_set1_pd(0x1.18469p-44), p4 = _mm512_set1_pd(0x1.13198a2e03707p-65);
    const __m512d lim = _mm512_set1_pd(2147483648.0);
    const __m512i one = _mm512_set1_epi64(1), two = _mm512_set1_epi64(2);
    int i;
    for (i = 0; i + 8 <= n; i += 8) {
        __m512d a = _mm512_loadu_pd(f + i), k, r, r2, sn, cs, s0, c0;
        __m512i bits;
        __mmask8 odd;
        if (fsub) a = _mm512_sub_pd(a, _mm512_loadu_pd(fsub + i));
        a = _mm512_mul_pd(vp, a);
        if (_mm512_cmp_pd_mask(_mm512_abs_pd(a), lim, _CMP_LT_OQ) != 0xFF) {
            lcx__rope_table_ref(f, fsub, p, scale, i + 8, layout, c, s, i);
            continue;
        }
        k = _mm512_roundscale_pd(_mm512_mul_pd(a, two_over_pi), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        bits = _mm512_cvtpd_epi64(k);
        r = _mm512_fnmadd_pd(k, p1, a);
        r = _mm512_fnmadd_pd(k, p2, r);
        r = _mm512_fnmadd_pd(k, p3, r);
        r = _mm512_fnmadd_pd(k, p4, r);
        r2 = _mm512_mul_pd(r, r);
        sn = _mm512_fmadd_pd(r2, _mm512_set1_pd(0x1.6124613a86d09p-33), _mm512_set1_pd(-0x1.ae64567f544e4p-26));
        sn = _mm512_fmadd_pd(r2, sn, _mm512_set1_pd(0x1.71de3a556c734p-19));
        sn = _mm512_fmadd_pd(r2, sn, _mm512_set1_pd(-0x1.a01a01a01a01ap-13));
        sn = _mm512_fmadd_pd(r2, sn, _mm512_set1_pd(0x1.1111111111111p-7));
        sn = _mm512_fmadd_pd(r2, sn, _mm512_set1_pd(-0x1.5555555555555p-3));
        sn = _mm512_fmadd_pd(_mm512_mul_pd(r, r2), sn, r);
        cs = _mm512_fmadd_pd(r2, _mm512_set1_pd(-0x1.93974a8c07c9dp-37), _mm512_set1_pd(0x1.1eed8eff8d898p-29));
        cs = _mm512_fmadd_pd(r2, cs, _mm512_set1_pd(-0x1.27e4fb7789f5cp-22));
        cs = _mm512_fmadd_pd(r2, cs, _mm512_set1_pd(0x1.a01a01a01a01ap-16));
        cs = _mm512_fmadd_pd(r2, cs, _mm512_set1_pd(-0x1.6c16c16c16c17p-10));
        cs = _mm512_fmadd_pd(r2, cs, _mm512_set1_pd(0x1.5555555555555p-5));
        cs = _mm512_fmadd_pd(r2, cs, _mm512_set1_pd(-0.5));
        cs = _mm512_fmadd_pd(r2, cs, _mm512_set1_pd(1.0));
        odd = _mm512_test_epi64_mask(bits, one);
        s0 = _mm512_mask_blend_pd(odd, sn, cs);
        c0 = _mm512_mask_blend_pd(odd, cs, sn);
        s0 = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(s0),
                                                  _mm512_slli_epi64(_mm512_and_si512(bits, two), 62)));
        c0 = _mm512_castsi512_pd(_mm512_xor_si512(
            _mm512_castpd_si512(c0),
            _mm512_slli_epi64(_mm512_and_si512(_mm512_add_epi64(bits, one), two), 62)));
        {
            const __m256 cf = _mm512_cvtpd_ps(_mm512_mul_pd(vscale, c0));
            const __m256 sf = _mm512_cvtpd_ps(_mm512_mul_pd(vscale, s0));
            if (layout == LCX_ROPE_HALF) {
                _mm256_storeu_ps(c + i, cf);
                _mm256_storeu_ps(s + i, sf);
            } else {
                const __m512i dup = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
                _mm512_storeu_ps(c + 2 * i, _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(cf)));
                _mm512_storeu_ps(s + 2 * i, _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(sf)));
            }
        }
    }
    lcx__rope_table_ref(f, fsub, p, scale, n, layout, c, s, i);
}
#endif

LCX__STATIC void lcx__rope_table_simd(int simd, const double *f, const double *fsub, double p,
                                      double scale, int n, int layout, float *c, float *s) {
    switch (simd) {
#ifdef LCX__HAVE_AVX512
    case LCX__SIMD_AVX512: lcx__rope_table_avx512(f, fsub, p, scale, n, layout, c, s); break;
#endif
#ifdef LCX__HAVE_AVX2
    case LCX__SIMD_AVX2: lcx__rope_table_avx2(f, fsub, p, scale, n, layout, c, s); break;
#endif
    default: lcx__rope_table_ref(f, fsub, p, scale, n, layout, c, s, 0); break;
    }
}

/* One token: its table, then every head. */
LCX__STATIC void lcx__rope_token(float *x, int n_heads, int head_dim, int rd, int layout,
                                 const double *freq, const double *freq_sub, double p,
                                 double scale, int simd) {
    float c[LCX_ROPE_MAX_HEAD_DIM], s[LCX_ROPE_MAX_HEAD_DIM];
    lcx__rope_table_simd(simd, freq, freq_sub, p, scale, rd / 2, layout, c, s);
    lcx__rope_rotate_simd(simd, x, n_heads, head_dim, rd, layout, c, s);
}

/* The checks every apply-like call shares (x untouched on failure). */
LCX__STATIC lcx_status lcx__rope_check_shape(const lcx_rope *rope, const float *x,
                                             int64_t n_tokens, int n_heads,
                                             int64_t token_stride) {
    int64_t row;
    if (!rope || n_tokens < 0) return LCX_ERR_INVALID_ARG;
    if (n_tokens == 0) return LCX_OK;
    if (!x || n_heads <= 0) return LCX_ERR_INVALID_ARG;
    row = (int64_t)n_heads * rope->cfg.head_dim;
    if (token_stride < row) return LCX_ERR_INVALID_ARG;
    /* the last element's offset (n_tokens-1)*token_stride + row - 1 must fit */
    if (n_tokens - 1 > (INT64_MAX - row) / token_stride) return LCX_ERR_INVALID_ARG;
    return LCX_OK;
}

/* mode 0: apply at pos (NULL: t), A; 1: shift by pos[] as deltas, no A;
   2: rerotate from `from` to `rope` at pos (NULL: t). */
LCX__STATIC void lcx__rope_run(const lcx_rope *rope, const lcx_rope *from, int mode, float *x,
                               int64_t n_tokens, int n_heads, int64_t token_stride,
                               const int64_t *pos, int simd, int n_threads) {
    const int hd = rope->cfg.head_dim, rd = rope->cfg.rotary_dim, layout = (int)rope->cfg.layout;
    const double *fsub = mode == 2 ? from->inv_freq : NULL;
    const double scale = mode == 0 ? rope->attention_factor
                                   : (mode == 1 ? 1.0 : rope->attention_factor / from->attention_factor);
    int64_t t;
    int nt = 1;
    if ((double)n_tokens * n_heads * rd >= (double)LCX__ROPE_PAR_MIN_ELEMS)
        nt = lcx__resolve_threads(n_threads);
    if (nt > n_tokens) nt = (int)n_tokens;
    if (nt > 1) {
        /* tokens are independent: any split gives the same bits */
        LCX__OMP(parallel for num_threads(nt) schedule(static))
        for (t = 0; t < n_tokens; t++) {
            const double p = pos ? (double)pos[t] : (double)t;
            lcx__rope_token(x + t * token_stride, n_heads, hd, rd, layout, rope->inv_freq, fsub,
                            p, scale, simd);
        }
        return;
    }
    for (t = 0; t < n_tokens; t++) { /* small calls never enter the OpenMP runtime */
        const double p = pos ? (double)pos[t] : (double)t;
        lcx__rope_token(x + t * token_stride, n_heads, hd, rd, layout, rope->inv_freq, fsub, p,
                        scale, simd);
    }
}

/* apply with a chosen SIMD level and thread count (tests run every level) */
LCX__STATIC lcx_status lcx__rope_apply_ex(const lcx_rope *rope, float *x, int64_t n_tokens,
                                          int n_heads, int64_t token_stride, const int64_t *pos,
                                          int simd, int n_threads) {
    int64_t t;
    lcx_status st = lcx__rope_check_shape(rope, x, n_tokens, n_heads, token_stride);
    if (st != LCX_OK || n_tokens == 0) return st;
    if (pos)
        for (t = 0; t < n_tokens; t++)
            if (pos[t] < 0) return LCX_ERR_INVALID_ARG;
    lcx__rope_run(rope, NULL, 0, x, n_tokens, n_heads, token_stride, pos, simd, n_threads);
    return LCX_OK;
}

LCX__STATIC lcx_status lcx__rope_shift_ex(const lcx_rope *rope, float *x, int64_t n_tokens,
                                          int n_heads, int64_t token_stride, const int64_t *delta,
                                          int simd, int n_threads) {
    lcx_status st = lcx__rope_check_shape(rope, x, n_tokens, n_heads, token_stride);
    if (st != LCX_OK || n_tokens == 0) return st;
    if (!delta) return LCX_ERR_INVALID_ARG;
    lcx__rope_run(rope, NULL, 1, x, n_tokens, n_heads, token_stride, delta, simd, n_threads);
    return LCX_OK;
}

LCX__STATIC lcx_status lcx__rope_rerotate_ex(const lcx_rope *from, const lcx_rope *to, float *x,
                                             int64_t n_tokens, int n_heads, int64_t token_stride,
                                             const int64_t *pos, int simd, int n_threads) {
    int64_t t;
    lcx_status st;
    if (!from || !to) return LCX_ERR_INVALID_ARG;
    if (from->cfg.head_dim != to->cfg.head_dim || from->cfg.rotary_dim != to->cfg.rotary_dim ||
        from->cfg.layout != to->cfg.layout || !(from->attention_factor > 0.0))
        return LCX_ERR_INVALID_ARG;
    st = lcx__rope_check_shape(to, x, n_tokens, n_heads, token_stride);
    if (st != LCX_OK || n_tokens == 0) return st;
    if (pos)
        for (t = 0; t < n_tokens; t++)
            if (pos[t] < 0) return LCX_ERR_INVALID_ARG;
    lcx__rope_run(to, from, 2, x, n_tokens, n_heads, token_stride, pos, simd, n_threads);
    return LCX_OK;
}

LCXDEF lcx_status lcx_rope_apply(const lcx_rope *rope, float *x, int64_t n_tokens, int n_heads,
                                 int64_t token_stride, const int64_t *pos) {
    return lcx__rope_apply_ex(rope, x, n_tokens, n_heads, token_stride, pos, LCX__SIMD_BEST,
                              rope ? rope->cfg.n_threads : 1);
}

LCXDEF lcx_status lcx_rope_shift(const lcx_rope *rope, float *x, int64_t n_tokens, int n_heads,
                                 int64_t token_stride, const int64_t *delta) {
    return lcx__rope_shift_ex(rope, x, n_tokens, n_heads, token_stride, delta, LCX__SIMD_BEST,
                              rope ? rope->cfg.n_threads : 1);
}

LCXDEF lcx_status lcx_rope_rerotate(const lcx_rope *from, const lcx_rope *to, float *x,
                                    int64_t n_tokens, int n_heads, int64_t token_stride,
                                    const int64_t *pos) {
    return lcx__rope_rerotate_ex(from, to, x, n_tokens, n_heads, token_stride, pos,
                                 LCX__SIMD_BEST, to ? to->cfg.n_threads : 1);
}

/* >>rope implementation end */

/* ============================================================================
 *  3. >>attention implementation
 * ============================================================================ */

/* >>attention implementation goes here */

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
