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
 * -mavx2 -mfma -mf16c) to get the SIMD paths, and -fopenmp for threads. The
 * implementation keeps IEEE arithmetic under -ffast-math or -Ofast with GCC; other
 * compilers refuse to build it with those flags (LONGCTX_ALLOW_FAST_MATH).
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
 *   LONGCTX_NO_CPUID        never execute CPUID (it faults in some enclaves); on
 *                           x86-64 with AVX-512 an f32 decode over 16 MiB or more of
 *                           K otherwise runs it twice, to tell which processor it is
 *                           (a prefetch hint: results are the same either way)
 *   LONGCTX_TESTING         expose the table of compiled SIMD variants for tests
 *   LONGCTX_ALLOW_FAST_MATH build the implementation under -ffast-math / -Ofast with
 *                           a compiler other than GCC (which needs no macro: it
 *                           compiles the implementation with fast-math off), where
 *                           it otherwise stops with #error: NaN checks and -INFINITY
 *                           markers are then not guaranteed (see IMPLEMENTATION)
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
 * under 8 KiB per call and thread (built with optimization; a -O0 build under 32 KiB,
 * 23-25 KiB measured with gcc 12 and clang 14).
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
   gives Inf, NaN stays NaN (made quiet, sign and top payload bits kept);
   subnormals are exact both ways (nothing is flushed to zero). To float:
   lcx_f16_to_f32 is exact, and a NaN keeps its sign and payload and is made quiet
   (float bit 22 set, as F16C's vcvtph2ps does); lcx_bf16_to_f32 only widens the
   bits (h << 16), scalar and row form alike: no quieting, so a signalling bf16
   NaN gives a signalling float NaN. (Where floats pass through x87 registers, as
   on 32-bit x86 without SSE, merely loading one may quiet it.) */
typedef uint16_t lcx_f16;
typedef uint16_t lcx_bf16;

LCXDEF lcx_f16  lcx_f32_to_f16(float x);
LCXDEF float    lcx_f16_to_f32(lcx_f16 h);
LCXDEF lcx_bf16 lcx_f32_to_bf16(float x);
LCXDEF float    lcx_bf16_to_f32(lcx_bf16 h);

/* Row forms: n values from src to dst. Same bits as the scalar forms, element by
   element, on every SIMD path (NaN payloads included). src and dst must not
   overlap. n <= 0, or a NULL src or dst (whatever n is), does nothing: nothing is
   read or written and there is no error to report. */
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
 *   attention_factor  YARN LONGROPE             derived       finite, 0..FLT_MAX (all
 *                                                             types check it; others
 *                                                             ignore it)
 *   yarn_no_truncate  YARN                      truncate      any (non-zero: no rounding)
 *   low_freq_factor   LLAMA3                    1             finite, > 0
 *   high_freq_factor  LLAMA3                    4             finite, > low_freq_factor
 *   short_factor,     LONGROPE                  (required)    rotary_dim/2 floats each,
 *   long_factor                                               finite, > 0; copied
 *   clex              CLEX                      (required)    see lcx_clex_params; borrowed
 *   n_threads         all (apply/shift/rerotate) OpenMP default >= 0 (1: serial)
 *
 * Fields inside these ranges can still combine into values a rope cannot use (e.g.
 * theta = 1e-320, whose theta^(-2i/d) overflow; YaRN's beta_fast = 1e-310 with
 * L0 = 10^6, whose correction range is NaN; a
 * factor of 1e300 with mscale = mscale_all_dim = 1e308, A = Inf/Inf). So init also
 * requires, for every type, that the derived inverse frequencies f_i are finite and
 * > 0 (LONGROPE: with the short and with the long factors), and that the attention
 * factor A, given or derived, is finite and > 0 both as a double and rounded to
 * float; lcx_rope_set_seq_len checks the frequencies it recomputes the same way.
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
 * sin/cos for |angle| >= 2^31) and only then rounded to float. An output then
 * differs from the exact rotation (p times the exact f_i) by the float rounding
 * (~3e-8 * A) plus the angle's error, which grows with p: the relative errors of
 * f_i and of the double product p * f_i, for DEFAULT at most 3 * 2^-53 * p * f_i
 * rad (f_i within an ulp; measured up to 1.7 * 2^-53 * p * f_i, 1.9e-16 per
 * radian). For f_i <= 1 (all types but CLEX when theta >= 1 and LONGROPE's
 * factors are >= 1) and unit vectors: within ~5e-7 * A for p < 2^32, but ~1e-4 * A
 * at p = 2^40 (measured, DEFAULT with d = 128: 2.2e-7 for p < 2^31, 4.3e-7 for
 * p < 2^32, 6.9e-6 for p < 2^36, 1.1e-4 for p < 2^40). (A float product
 * p * f_i, as HF computes it, is off by up to ~0.06 rad at p = 10^6.) -ffast-math
 * would let the compiler reorder the exact reduction and drop NaN checks: GCC
 * compiles the implementation with it off, other compilers refuse it (see
 * LONGCTX_ALLOW_FAST_MATH).
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
    const float *up_proj;  /* [rotary_dim/2][param_factor*rotary_dim], row-major; required,
                              every value finite (checked by lcx_rope_init) */
    const float *down_proj;/* [param_factor*rotary_dim][rotary_dim/2], row-major; required,
                              every value finite (checked by lcx_rope_init) */
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
   Errors: LCX_ERR_INVALID_ARG for NULL rope or cfg, an unknown type or layout, any
   field outside the range the table above gives for the type, a CLEX weight that is
   not finite, and derived values a rope cannot use: an inverse frequency that is
   not finite and > 0 (LONGROPE: from either factor set), an attention factor that
   is not finite and > 0 as a double and as a float. On error *rope is left exactly
   as it was. cfg's arrays may be the rope's own (re-initialising a LONGROPE rope
   from rope->short_factor and rope->long_factor works). */
LCXDEF lcx_status lcx_rope_init(lcx_rope *rope, const lcx_rope_config *cfg);

/* Set the current sequence length L (the number of tokens the model sees now,
   cached ones included). DEFAULT, LINEAR, NTK, YARN and LLAMA3 only record it.
   DYNAMIC_NTK recomputes its frequencies with L' = max(L, L0); LONGROPE uses the
   long factors when L > L0 and the short ones otherwise; CLEX integrates its ODE
   to t = clamp(ceil(L/L0), 1, max_factor), only when t changes (cost about
   (t-1)/time_dt RK4 steps of O(rotary_dim^2 * param_factor) each).
   Errors (LCX_ERR_INVALID_ARG, rope unchanged, seq_len included): NULL rope,
   seq_len < 0, and recomputed frequencies that are not all finite and > 0 (a
   DYNAMIC_NTK scale s*L/L0 so large that f_i underflow to 0, a CLEX ODE that
   overflows at the new t). */
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
 * ALiBi's bias is large when the keys sit far from the query (a query a million
 * positions past its keys, keys thousands of positions ahead of a non-causal query),
 * and a float logit near 3000 is only good to 2.4e-4. The softmax does not change when
 * a row's logits all move by one amount, so the kernel measures the bias from the
 * visible key nearest the query on the side the slope favours (the largest visible
 * position for slope >= 0, the smallest for slope < 0) and adds the difference back,
 * in double, to the sink and lse: the keys that carry weight keep full float accuracy.
 * Finding that key costs one pass over explicit key positions per call, then a binary
 * search per query when they ascend; for causal ALiBi over positions that do not
 * ascend (a ring-buffer cache), one more pass per query whose position lies inside
 * their range. Positions may be any int64 values: a difference of two positions is
 * the exact integer (as in unbounded arithmetic, never a wrapped int64) rounded once,
 * to float per key and to double for the amount added back, so keys at INT64_MIN and
 * INT64_MAX with a small slope give the small finite logits documented above.
 * A learned sink logit (sinks[h], gpt-oss) is used as given: it joins the softmax
 * denominator and carries no value. lse is the log of the whole denominator, the sink
 * included, so out = sum_j exp(s_j - lse) v_j. A row with no visible key gives out = 0
 * and lse = -INFINITY (lse = the sink logit when there is one).
 *
 * Masks are decided on positions, never on indices, so they stay right after a cache
 * has been pruned or compacted. Key positions come from the view (NULL: 0..n_kv-1);
 * query positions from q_pos, or, when q_pos is NULL, the queries are the last n_q
 * tokens: qp[i] = kp[n_kv - n_q + i] (for n_q > n_kv the missing ones continue the
 * count below kp[0]: kp[0] + (n_kv - n_q + i); when one of those would lie below
 * INT64_MIN the call is LCX_ERR_INVALID_ARG and writes nothing).
 *
 * How it runs. A call's rows per KV head are n_q x n_heads / n_kv_heads. Prefill (n_q > 8
 * and more than 64 rows per KV head, 32 with f32 K or V): work items are (KV head, block
 * of queries); each holds the rows of all the query heads of its group (256 rows: queries
 * x heads; 128 or 64 when that would leave fewer than 4 items per thread) and walks the
 * key tiles (64 keys) that an enumerator yields: tiles wholly above the causal diagonal
 * are never touched, tiles wholly below it are not masked element by element. A tile's K
 * is transposed (and widened) once into the scratch and shared by every row
 * (register-blocked kernels: AVX-512 4 rows x 64 keys, AVX2 4 x 24), V widened into the
 * scratch once per tile, then online softmax, then O += P V.
 * Decode (n_q <= 8, or at most 64 rows per KV head, 32 with f32 K or V: multi-token
 * decode, speculative decoding's checks, small prefill chunks): work items are ranges of
 * keys, each covering every KV head, so the cache is read once per call, in address
 * order, with all the query heads of a KV head served by each K/V row while it is in
 * registers (f16/bf16 widened in registers, never through a buffer). While a tile
 * computes, the rows it will need next are prefetched into L2 a few lines per step
 * (AVX-512, tiles up to 256 KiB: V two heads ahead and K 8 keys ahead, in address order
 * where the rows lie back to back; AVX2 likewise for f16/bf16 K, with V one head ahead;
 * otherwise V one head ahead and the next tile's K), so the cache streams from memory
 * beside the arithmetic. The key ranges (splits: at least 128 keys and enough work to pay
 * for a thread, and 2048 keys while each thread still gets one) run on different threads
 * (flash-decoding) and are merged exactly with their LSEs.
 * A long cache in 2 MiB pages (e.g. madvise(MADV_HUGEPAGE) on Linux, outside this
 * library) decoded about 15% faster at n_kv 32768 on a 2-core Zen 4 (fewer TLB
 * misses), but no faster on a 2-core Zen 5 VM, where most comparisons measured it
 * 5-22% slower: measure on your machine.
 * Accumulation is float. exp() never sees an argument that would make a subnormal
 * (exp(x < -87.3) is 0), so very negative logits (ALiBi over 128K tokens, logits of
 * -1e4) cost nothing extra. The dot products' rounding grows with the logits, and the
 * softmax passes it on to the weights. Every path sums each dot in parts (8 or 16
 * lanes, or blocks of 32 dims): from logits of standard deviation 8 up, one sum in
 * order over head_dim measured 2.5-3.3 times the error. Against a double-precision
 * reference (f32 K and V, scale 1/sqrt(d), 64 queries, 12 cases per point), the largest
 * |out - ref| per max |v| was 1.1e-6, 2.3e-6, 3.5e-6, 7.1e-6 and 1.4e-5 for logits of
 * standard deviation 2, 4, 8, 16 and 32 at head_dim 128 (head_dim 256: 1.6e-5 at 32,
 * 2.4e-5 at 48); one query (decode) about half that at 32.
 *
 * Workspace: lcx_attention_workspace_size() gives the bytes for the plan the kernel
 * wants at the resolved thread count, counting no more threads than the call has jobs
 * to give them (prefill items, decode splits; one thread for a call too small to
 * fork). It is bounded and does not grow with n_kv: per thread, the rows of one
 * item (packed q, unnormalised out, max, sum) and one tile of logits (prefill: plus
 * a transposed K tile and a V tile; decode: the rows of every head) and a tile's row
 * pointers and key positions (4.6 KiB: kept off the stack), with 64 KiB between
 * threads' scratches (cores writing near each other slow each other down), plus at
 * most n_splits x n_q x n_heads x (v_head_dim + 2) floats of decode partials
 * (n_splits <= 64), plus, with key_probs, n_q x n_heads floats for the rows' lse (the
 * caller's lse serves instead when given and there is no ALiBi), plus, for causal
 * ALiBi over explicit key positions, n_q int64 (lcx__attn_kref).
 * It is 0 only when n_q or n_kv is 0 (then work may be NULL). Given less, the kernel
 * uses fewer splits, then fewer threads; LCX_ERR_WORKSPACE only when not even one
 * thread's scratch fits. `deterministic = 1` fixes the split plan as a function of
 * the shapes and work_bytes alone, so results are bit-identical for any thread count
 * (and for any work at least the query's size).
 *
 * A decode step (allocate the workspace once for the longest context and reuse it):
 *
 *     lcx_attn_desc ad = {0};
 *     ad.head_dim = 128; ad.n_heads = 32; ad.n_kv_heads = 8; ad.causal = 1;
 *     lcx_kv_view kv = lcx_kv_view_contiguous(LCX_F16, k_cache, v_cache, n_past + 1,
 *                                             0, 0, NULL);
 *     lcx_attention_workspace_size(&ad, 1, &kv, &bytes);
 *     lcx_attention(&ad, q, 1, 32 * 128, NULL, &kv, out, 32 * 128, NULL, work, bytes);
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
   count desc->n_threads resolves to (see the section comment). Validates desc, n_q
   and view as lcx_attention does (LCX_ERR_INVALID_ARG, LCX_ERR_UNSUPPORTED; also
   LCX_ERR_INVALID_ARG when the byte count overflows); *bytes is written only on
   success. */
LCXDEF lcx_status lcx_attention_workspace_size(const lcx_attn_desc *desc, int64_t n_q,
                                               const lcx_kv_view *kv, size_t *bytes);

/* out (and lse, when not NULL) = attention of the n_q queries over the view's keys.
   q: [n_q][n_heads][head_dim] (token stride q_stride, head stride desc->q_head_stride);
   q_pos: NULL or n_q positions (see the section comment); out: token stride
   out_stride, head stride desc->out_head_stride; lse: NULL or [n_q][n_heads]
   contiguous. Rows of q, out, K and V must not overlap each other's rows: a stride
   shorter than a row is LCX_ERR_INVALID_ARG (the check is: the smaller of the two
   strides >= the row, the larger >= the whole span of the smaller). Elements of out
   between rows are never written. out, lse, desc->key_probs and work must not overlap
   each other, q, q_pos or the view's memory (not checked; queries are read again
   after outputs are written, e.g. by key_probs' pass). NaN or Inf in q, K or V gives
   unspecified values in the rows that see them (the vector paths may drop a NaN key
   the scalar path propagates), never a read or write out of bounds. work: work_bytes
   bytes, any alignment (NULL allowed when work_bytes is 0). Errors (nothing is
   written): LCX_ERR_INVALID_ARG (NULL desc/view/q/out, bad dimensions or strides,
   NaN/Inf scale or softcap, a negative softcap, NaN/Inf slopes or NaN/+INFINITY
   sinks, a NULL page among those needed, page_tokens <= 0, n_q > INT64_MAX/8/n_heads
   or n_kv > INT64_MAX/8/n_kv_heads: rows whose byte counts overflow, q_pos NULL with
   n_q > n_kv and kp[0] - (n_q - n_kv) below INT64_MIN), LCX_ERR_UNSUPPORTED
   (desc->pattern), LCX_ERR_WORKSPACE.
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
   lse/part_lse: [n_q][n_heads]. A side with lse = -INFINITY is not read: its out
   may hold anything (NaN, Inf, uninitialised), so an accumulator can start from
   lse = -INFINITY alone. part may be out itself, but must not partly overlap it.
   LCX_ERR_INVALID_ARG (nothing written) for NULL arrays with
   n_q > 0, n_q < 0, n_heads <= 0, head_dim <= 0 or odd, strides as lcx_attention
   checks its own (with n_q > 0: negative, or with n_q > 1 shorter than
   n_heads*head_dim), NaN or +INFINITY sinks (-INFINITY: that head has no sink). */
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

/* ---- IEEE arithmetic whatever the caller's flags ------------------------------
   The implementation needs IEEE float semantics: validation detects NaN and Inf,
   masked rows and empty partials carry -INFINITY, RoPE reduces angles in exact steps
   that must not be reordered. -ffast-math (also -Ofast, -ffinite-math-only, /fp:fast)
   lets the compiler fold those away. Measured with the implementation built -Ofast
   (tests/check_fast_math.c): gcc 12 accepted NaN or Inf scales and soft-caps, NaN
   ALiBi slopes and sinks, and NaN RoPE parameters; clang 14 most of those, and it
   merged two empty partials into NaN where 0 is due. So under those
   flags GCC compiles these definitions with fast-math off (its optimize pragma, for
   this implementation only: the caller's own code keeps its flags), and any other
   compiler stops here: build the file that defines LONGCTX_IMPLEMENTATION without
   them (the declarations may be included anywhere), or define
   LONGCTX_ALLOW_FAST_MATH to build it anyway, without those guarantees. */
#if defined(__FAST_MATH__) || (defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__) || \
    defined(_M_FP_FAST)
#  if defined(__GNUC__) && !defined(__clang__) && !defined(__INTEL_COMPILER)
#    pragma GCC push_options
#    pragma GCC optimize("no-fast-math")
#    define LCX__GCC_IEEE_PUSHED 1
#  elif !defined(LONGCTX_ALLOW_FAST_MATH)
#    error "longctx.h: build the file that defines LONGCTX_IMPLEMENTATION without -ffast-math, -Ofast, -ffinite-math-only or /fp:fast (or define LONGCTX_ALLOW_FAST_MATH: see longctx.h)"
#  endif
#endif

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
#if defined(LCX__HAVE_AVX512) && defined(__x86_64__) && !defined(LONGCTX_NO_CPUID) && \
    (defined(__GNUC__) || defined(__clang__))
#  include <cpuid.h>
#  define LCX__HAVE_CPUID 1
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
/* Forced inlining only when optimizing: at -O0 GCC gives every inlined body's locals
   their own stack slots, and the decode's one function that expands its step for
   each key type and head dim took 477 KB of stack (measured, gcc 12 -O0), where a
   debug build's threads may have 128-512 KiB (musl, macOS). */
#  if defined(__OPTIMIZE__)
#    define LCX__FORCE_INLINE static inline __attribute__((always_inline, unused))
#  else
#    define LCX__FORCE_INLINE static inline __attribute__((unused))
#  endif
/* a read prefetch of the line at p; locality 3: into L1, 2: into L2 (a hint) */
#  define LCX__PREFETCH(p, locality) __builtin_prefetch((p), 0, locality)
#  define LCX__LIKELY(x) __builtin_expect(!!(x), 1)
#  define LCX__UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define LCX__RESTRICT __restrict__
#  define LCX__ALIGN(n) __attribute__((aligned(n)))
#else
#  define LCX__UNUSED
#  define LCX__INLINE static inline
#  define LCX__FORCE_INLINE static inline
#  define LCX__PREFETCH(p, locality) ((void)(p))
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

/* The x86 processor, from CPUID: returns its family as the vendors document it (leaf 1's
   base family, plus the extended family where the base is 15: 25 for AMD's Zen 3 and 4,
   26 for Zen 5, 6 for Intel's cores), and sets *vendor to LCX__CPU_AMD, LCX__CPU_INTEL
   or 0 (another vendor). Both 0 where unknown: not x86-64 with AVX-512, a compiler
   without <cpuid.h>, or LONGCTX_NO_CPUID. Not cheap in a virtual machine: each CPUID
   exits to the hypervisor (3.7 us in a KVM guest on the 2-core Zen 4), so it is asked
   only ahead of long work. */
#define LCX__CPU_AMD 1
#define LCX__CPU_INTEL 2
LCX__STATIC int lcx__cpu_family(int *vendor) {
    *vendor = 0;
#ifdef LCX__HAVE_CPUID
    unsigned a, b, c, d, fam;
    __cpuid(0, a, b, c, d); /* the vendor string: ebx, edx, ecx */
    if (b == 0x68747541u && d == 0x69746E65u && c == 0x444D4163u) *vendor = LCX__CPU_AMD;
    else if (b == 0x756E6547u && d == 0x49656E69u && c == 0x6C65746Eu) *vendor = LCX__CPU_INTEL;
    if (a < 1) return 0;
    __cpuid(1, a, b, c, d);
    fam = (a >> 8) & 15;
    return (int)(fam == 15 ? fam + ((a >> 20) & 255) : fam);
#else
    return 0;
#endif
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

/* f16 -> f32 is exact; a NaN keeps its sign and payload and is made quiet (float
   bit 22), as F16C's vcvtph2ps does, so the SIMD rows agree bit for bit. */
LCXDEF float lcx_f16_to_f32(lcx_f16 h) {
    uint32_t sign = ((uint32_t)h & 0x8000u) << 16;
    uint32_t e = ((uint32_t)h >> 10) & 0x1Fu;
    uint32_t m = (uint32_t)h & 0x03FFu;
    if (e == 0x1Fu) /* Inf, or NaN made quiet */
        return lcx__bits_f32(sign | 0x7F800000u | (m ? 0x00400000u : 0u) | (m << 13));
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
   subnormals, Inf and NaN as the scalar code does. The vector loops of the rows run to
   nv, n rounded down to whole vectors: with `i + 8 <= n`, gcc 12 inlining a row with a
   constant n into a caller reported the scalar tail as undefined behaviour
   (-Waggressive-loop-optimizations; tests/check_inline.c). */
LCX__STATIC void lcx__f32_to_f16_row_avx2(const float *src, lcx_f16 *dst, int64_t n) {
    int64_t i = 0;
    const int64_t nv = n & ~(int64_t)7;
    for (; i < nv; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(void *)(dst + i), h);
    }
    for (; i < n; i++) dst[i] = lcx_f32_to_f16(src[i]);
}
LCX__STATIC void lcx__f16_to_f32_row_avx2(const lcx_f16 *src, float *dst, int64_t n) {
    int64_t i = 0;
    const int64_t nv = n & ~(int64_t)7;
    for (; i < nv; i += 8)
        _mm256_storeu_ps(dst + i,
                         _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(src + i))));
    for (; i < n; i++) dst[i] = lcx_f16_to_f32(src[i]);
}
LCX__STATIC void lcx__f32_to_bf16_row_avx2(const float *src, lcx_bf16 *dst, int64_t n) {
    int64_t i = 0;
    const int64_t nv = n & ~(int64_t)7;
    const __m256i lsb = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7FFF);
    const __m256i absmask = _mm256_set1_epi32(0x7FFFFFFF), inf = _mm256_set1_epi32(0x7F800000);
    const __m256i quiet = _mm256_set1_epi32(0x00400000);
    for (; i < nv; i += 8) {
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
    const int64_t nv = n & ~(int64_t)7;
    for (; i < nv; i += 8) {
        __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(src + i)));
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), _mm256_slli_epi32(w, 16));
    }
    for (; i < n; i++) dst[i] = lcx_bf16_to_f32(src[i]);
}
#endif

#ifdef LCX__HAVE_AVX512
/* The maskz forms with every lane set: the same instructions as the plain forms, whose
   GCC 12 definitions start from _mm*_undefined_*(), which g++ reports as uninitialized
   once a row is inlined into a caller's function (outside this header's diagnostic
   pragmas; tests/check_inline.c). */
#define LCX__M16_ALL ((__mmask16)0xFFFF)
LCX__STATIC void lcx__f32_to_f16_row_avx512(const float *src, lcx_f16 *dst, int64_t n) {
    int64_t i = 0;
    const int64_t nv = n & ~(int64_t)15;
    for (; i < nv; i += 16) {
        __m256i h = _mm512_maskz_cvtps_ph(LCX__M16_ALL, _mm512_loadu_ps(src + i),
                                          _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), h);
    }
    lcx__f32_to_f16_row_avx2(src + i, dst + i, n - i);
}
LCX__STATIC void lcx__f16_to_f32_row_avx512(const lcx_f16 *src, float *dst, int64_t n) {
    int64_t i = 0;
    const int64_t nv = n & ~(int64_t)15;
    for (; i < nv; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_maskz_cvtph_ps(LCX__M16_ALL, _mm256_loadu_si256(
                                      (const __m256i *)(const void *)(src + i))));
    lcx__f16_to_f32_row_avx2(src + i, dst + i, n - i);
}
LCX__STATIC void lcx__f32_to_bf16_row_avx512(const float *src, lcx_bf16 *dst, int64_t n) {
    int64_t i = 0;
    const int64_t nv = n & ~(int64_t)15;
    const __m512i lsb = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7FFF);
    const __m512i absmask = _mm512_set1_epi32(0x7FFFFFFF), inf = _mm512_set1_epi32(0x7F800000);
    const __m512i quiet = _mm512_set1_epi32(0x00400000);
    for (; i < nv; i += 16) {
        __m512i u = _mm512_loadu_si512((const void *)(src + i));
        __mmask16 isnan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, absmask), inf);
        __m512i r = _mm512_add_epi32(
            u, _mm512_add_epi32(
                   bias, _mm512_and_si512(_mm512_maskz_srli_epi32(LCX__M16_ALL, u, 16), lsb)));
        r = _mm512_mask_mov_epi32(r, isnan, _mm512_or_si512(u, quiet));
        r = _mm512_maskz_srli_epi32(LCX__M16_ALL, r, 16);
        _mm256_storeu_si256((__m256i *)(void *)(dst + i),
                            _mm512_maskz_cvtepi32_epi16(LCX__M16_ALL, r));
    }
    lcx__f32_to_bf16_row_avx2(src + i, dst + i, n - i);
}
LCX__STATIC void lcx__bf16_to_f32_row_avx512(const lcx_bf16 *src, float *dst, int64_t n) {
    int64_t i = 0;
    const int64_t nv = n & ~(int64_t)15;
    for (; i < nv; i += 16) {
        __m512i w = _mm512_maskz_cvtepu16_epi32(
            LCX__M16_ALL, _mm256_loadu_si256((const __m256i *)(const void *)(src + i)));
        _mm512_storeu_si512((void *)(dst + i), _mm512_maskz_slli_epi32(LCX__M16_ALL, w, 16));
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
   double, then lcx__sincos (double, vectorised per token). Kernels: a per-token table
   of float cos/sin (times A) is built once, then every head of the token is rotated by
   the _ref / _avx2 / _avx512 kernel of the layout (in calls over
   LCX__ROPE_PF_MIN_BYTES, each head while prefetching the same head of the next
   token). */

#define LCX__ROPE_NPAIR_MAX (LCX_ROPE_MAX_HEAD_DIM / 2)
/* below this many rotated elements a call never forks */
#define LCX__ROPE_PAR_MIN_ELEMS 65536
/* above this many rotated bytes a call prefetches each next token (lcx__rope_pf_head):
   only then can the data stream from DRAM rather than sit in a last-level cache (32 MiB
   per core complex on Zen 4/5), and from cache the prefetches only cost (2-core Zen 5,
   [n][32][128] rows: 6-15% slower up to 8 MiB with 1 thread, neutral to 5% slower up to
   32 MiB with 2) */
#define LCX__ROPE_PF_MIN_BYTES ((double)(32u << 20))

/* finite by the exponent bits, so it holds even where the caller's flags let the
   compiler assume finite math */
LCX__INLINE int lcx__rope_finite(double v) {
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return ((u >> 52) & 0x7FFu) != 0x7FFu;
}

/* The constants of lcx__sincos and its vector forms (one definition for every path). */
#define LCX__SC_TWO_OVER_PI 0x1.45f306dc9c883p-1  /* 2/pi */
#define LCX__SC_PIO2_1 0x1.921fbp+0  /* pi/2 = PIO2_1 + PIO2_2 + PIO2_3 + PIO2_4: three 21-bit pieces */
#define LCX__SC_PIO2_2 0x1.5110bp-22
#define LCX__SC_PIO2_3 0x1.18469p-44
#define LCX__SC_PIO2_4 0x1.13198a2e03707p-65  /* and a tail */
#define LCX__SC_S3 (-0x1.5555555555555p-3)  /* sin: -1/3!, 1/5!, ..., 1/13! */
#define LCX__SC_S5 0x1.1111111111111p-7
#define LCX__SC_S7 (-0x1.a01a01a01a01ap-13)
#define LCX__SC_S9 0x1.71de3a556c734p-19
#define LCX__SC_S11 (-0x1.ae64567f544e4p-26)
#define LCX__SC_S13 0x1.6124613a86d09p-33
#define LCX__SC_C4 0x1.5555555555555p-5  /* cos: 1/4!, -1/6!, ..., -1/14! (and 1, -1/2) */
#define LCX__SC_C6 (-0x1.6c16c16c16c17p-10)
#define LCX__SC_C8 0x1.a01a01a01a01ap-16
#define LCX__SC_C10 (-0x1.27e4fb7789f5cp-22)
#define LCX__SC_C12 0x1.1eed8eff8d898p-29
#define LCX__SC_C14 (-0x1.93974a8c07c9dp-37)

/* sin and cos of a double angle a, both accurate to ~1e-15 absolute for
   |a| < 2^31 (and to libm's accuracy beyond, where it falls back to sin/cos):
   k = nearest integer to a*2/pi, r = a - k*pi/2 by Cody-Waite with pi/2 split
   into three 21-bit pieces and a tail, so every k*piece is exact for k < 2^32;
   then Taylor polynomials to r^13 / r^14 on |r| <= pi/4 (truncation < 3e-14)
   and the quadrant k mod 4. Several times faster than libm's sin plus cos. */
LCX__INLINE void lcx__sincos(double a, double *s_out, double *c_out) {
    const double two_over_pi = LCX__SC_TWO_OVER_PI;
    const double p1 = LCX__SC_PIO2_1, p2 = LCX__SC_PIO2_2, p3 = LCX__SC_PIO2_3,
                 p4 = LCX__SC_PIO2_4;
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
    sn = r + r * r2 * (LCX__SC_S3 + r2 * (LCX__SC_S5 + r2 * (LCX__SC_S7 +
             r2 * (LCX__SC_S9 + r2 * (LCX__SC_S11 + r2 * LCX__SC_S13)))));
    cs = 1.0 + r2 * (-0x1.0000000000000p-1 + r2 * (LCX__SC_C4 + r2 * (LCX__SC_C6 +
             r2 * (LCX__SC_C8 + r2 * (LCX__SC_C10 + r2 * (LCX__SC_C12 +
             r2 * LCX__SC_C14))))));
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

/* Not inlined: its arrays then stay off the stack of callers' other paths (clang
   inlined lcx__clex_freq into lcx_rope_set_seq_len, whose DYNAMIC_NTK path then called
   lcx__rope_refreq below 6 KiB of unused CLEX arrays: 8.8 KiB in all). */
#if defined(__GNUC__) || defined(__clang__)
#  define LCX__ROPE_NOINLINE static __attribute__((noinline, unused))
#else
#  define LCX__ROPE_NOINLINE static
#endif

/* Frequencies at the integer scale t: x(1) = ln(DEFAULT f), RK4 (3/8 rule) over
   the grid 1, 1+dt, ..., whose last point is max_factor (torchdiffeq's fixed
   grid), stopping at the step that reaches t and interpolating linearly inside
   it: y(t) = y0 + (t - t0)/(t1 - t0) * (y1 - y0). The state y lives in f; the
   stack holds three arrays of n doubles (6 KiB at rotary_dim 512):
     k1 = F(y), k2 = F(y + h k1/3), k3 = F(y - h k1/3 + h k2),
     then k1 <- k1 + 3k2 + 3k3, k2 <- k1 - k2 + k3, k4 = F(y + h k2) into k3,
     y += h (k1 + k3) / 8. */
LCX__ROPE_NOINLINE void lcx__clex_freq(double *f, int d, double theta,
                                       const lcx_clex_params *cp, int t) {
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

/* The frequencies of config c (resolved and valid) at sequence length seq_len into f,
   for every type but CLEX at t > 1 (lcx__clex_freq; at t = 1 CLEX has the DEFAULT
   frequencies, as here). e: LONGROPE's factors in use (short or long), else unused.
   Reads nothing of an lcx_rope, so init can run it before it writes one. */
LCX__STATIC void lcx__rope_freq(const lcx_rope_config *c, const float *e, int64_t seq_len,
                                double *f) {
    const int d = c->rotary_dim, n = d / 2;
    const double theta = c->theta, s = c->factor, L0 = (double)c->original_max_pos;
    int i;
    switch (c->type) {
    case LCX_ROPE_LINEAR:
        lcx__rope_default_freq(f, d, theta);
        for (i = 0; i < n; i++) f[i] /= s;
        break;
    case LCX_ROPE_NTK: lcx__rope_ntk_freq(f, d, theta, s); break;
    case LCX_ROPE_DYNAMIC_NTK: {
        const double L = seq_len > c->original_max_pos ? (double)seq_len : L0;
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
    case LCX_ROPE_LONGROPE:
        lcx__rope_default_freq(f, d, theta);
        for (i = 0; i < n; i++) f[i] /= (double)e[i];
        break;
    default: lcx__rope_default_freq(f, d, theta); break; /* DEFAULT, CLEX at t = 1 */
    }
}

/* Derived values a rope may hold: frequencies finite and > 0 (by the exponent bits,
   as lcx__rope_finite), and an attention factor finite and > 0 both in double and
   rounded to float (the tables multiply cos and sin by it in float). */
LCX__STATIC int lcx__rope_freqs_ok(const double *f, int n) {
    int i;
    for (i = 0; i < n; i++)
        if (!(lcx__rope_finite(f[i]) && f[i] > 0.0)) return 0;
    return 1;
}
LCX__INLINE int lcx__rope_afactor_ok(double A) {
    return lcx__rope_finite(A) && A > 0.0 && A <= (double)FLT_MAX && (float)A > 0.0f;
}

/* Are the count floats of w all finite? */
LCX__STATIC int lcx__rope_weights_ok(const float *w, int64_t count) {
    int64_t i;
    for (i = 0; i < count; i++)
        if (!lcx__rope_finite((double)w[i])) return 0;
    return 1;
}

LCX__STATIC int lcx__rope_factors_ok(const float *e, int n) {
    int i;
    if (!e) return 0;
    for (i = 0; i < n; i++)
        if (!(lcx__rope_finite((double)e[i]) && e[i] > 0.0f)) return 0;
    return 1;
}

/* DYNAMIC_NTK and LONGROPE at seq_len: the frequencies into rope->inv_freq if they
   are all finite and > 0 (returns 1), else nothing written (returns 0). Not inlined,
   so that its array is not on the stack under lcx__clex_freq's 6 KiB when
   lcx_rope_set_seq_len calls that. */
LCX__ROPE_NOINLINE int lcx__rope_refreq(lcx_rope *rope, int64_t seq_len) {
    const lcx_rope_config *c = &rope->cfg;
    const int n = c->rotary_dim / 2;
    double f[LCX__ROPE_NPAIR_MAX];
    lcx__rope_freq(c, seq_len > c->original_max_pos ? rope->long_factor : rope->short_factor,
                   seq_len, f);
    if (!lcx__rope_freqs_ok(f, n)) return 0;
    memcpy(rope->inv_freq, f, (size_t)n * sizeof(double));
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
    double f[LCX__ROPE_NPAIR_MAX], A;
    float sf[LCX__ROPE_NPAIR_MAX], lf[LCX__ROPE_NPAIR_MAX];
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
    if (!(lcx__rope_finite(c.attention_factor) && c.attention_factor >= 0.0 &&
          c.attention_factor <= (double)FLT_MAX))
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
        { /* the weights are read at every change of t: finite, checked once here */
            const int64_t w = (int64_t)n * ((int64_t)p->param_factor * c.rotary_dim);
            if (!lcx__rope_weights_ok(p->up_proj, w) || !lcx__rope_weights_ok(p->down_proj, w))
                return LCX_ERR_INVALID_ARG;
        }
    }
    /* ---- derived values, computed and checked before anything is written. cfg's
       arrays may lie inside *rope (a re-init from rope->short_factor): they are
       copied out before *rope is cleared. LONGROPE's long factors are checked too,
       though only a later lcx_rope_set_seq_len uses them. ---- */
    if (c.type == LCX_ROPE_LONGROPE) {
        lcx__rope_freq(&c, c.long_factor, 0, f);
        if (!lcx__rope_freqs_ok(f, n)) return LCX_ERR_INVALID_ARG;
    }
    if (c.attention_factor > 0.0 && (c.type == LCX_ROPE_YARN || c.type == LCX_ROPE_LONGROPE)) {
        A = c.attention_factor;
    } else if (c.type == LCX_ROPE_YARN) {
        A = (c.mscale != 0.0 && c.mscale_all_dim != 0.0)
                ? lcx__rope_yarn_mscale(c.factor, c.mscale) /
                      lcx__rope_yarn_mscale(c.factor, c.mscale_all_dim)
                : lcx__rope_yarn_mscale(c.factor, 1.0);
    } else if (c.type == LCX_ROPE_LONGROPE && c.factor > 1.0) {
        A = sqrt(1.0 + log(c.factor) / log((double)c.original_max_pos));
    } else {
        A = 1.0;
    }
    if (!lcx__rope_afactor_ok(A)) return LCX_ERR_INVALID_ARG;
    lcx__rope_freq(&c, c.short_factor, 0, f); /* seq_len 0: short factors, CLEX t = 1 */
    if (!lcx__rope_freqs_ok(f, n)) return LCX_ERR_INVALID_ARG;
    /* ---- valid: build the state ---- */
    if (c.type == LCX_ROPE_LONGROPE) {
        memcpy(sf, c.short_factor, (size_t)n * sizeof(float));
        memcpy(lf, c.long_factor, (size_t)n * sizeof(float));
    }
    memset(rope, 0, sizeof *rope);
    if (c.type == LCX_ROPE_LONGROPE) {
        memcpy(rope->short_factor, sf, (size_t)n * sizeof(float));
        memcpy(rope->long_factor, lf, (size_t)n * sizeof(float));
    }
    c.short_factor = NULL;
    c.long_factor = NULL;
    if (c.type != LCX_ROPE_CLEX) c.clex = NULL;
    rope->cfg = c;
    rope->clex = c.clex;
    rope->seq_len = 0;
    rope->clex_t = c.type == LCX_ROPE_CLEX ? 1 : 0;
    rope->attention_factor = A;
    memcpy(rope->inv_freq, f, (size_t)n * sizeof(double));
    return LCX_OK;
}

LCXDEF lcx_status lcx_rope_set_seq_len(lcx_rope *rope, int64_t seq_len) {
    const lcx_rope_config *c;
    int n;
    if (!rope || seq_len < 0) return LCX_ERR_INVALID_ARG;
    c = &rope->cfg;
    n = c->rotary_dim / 2;
    switch (c->type) {
    case LCX_ROPE_DYNAMIC_NTK:
    case LCX_ROPE_LONGROPE: {
        const int64_t L0 = c->original_max_pos, old = rope->seq_len;
        if (c->type == LCX_ROPE_DYNAMIC_NTK ? (old > L0 || seq_len > L0)
                                            : ((old > L0) != (seq_len > L0))) {
            if (!lcx__rope_refreq(rope, seq_len)) return LCX_ERR_INVALID_ARG;
        }
        break;
    }
    case LCX_ROPE_CLEX: {
        const int t = lcx__clex_scale(rope, seq_len);
        int tt = t;
        if (t == rope->clex_t) break;
        /* Integrated in place: a second array of frequencies on top of the RK4 arrays
           would take the stack past 8 KiB. If the result is not usable, the old t is
           integrated again by this same call, which reproduces the bits it had (t = 1
           is the DEFAULT frequencies, as init computes them). */
        for (;;) {
            lcx__clex_freq(rope->inv_freq, c->rotary_dim, c->theta, rope->clex, tt);
            if (tt != t) return LCX_ERR_INVALID_ARG; /* restored */
            if (lcx__rope_freqs_ok(rope->inv_freq, n)) break;
            tt = rope->clex_t;
        }
        rope->clex_t = t;
        break;
    }
    default: break;
    }
    rope->seq_len = seq_len;
    return LCX_OK;
}

LCXDEF int lcx_rope_inv_freq(const lcx_rope *rope, double *inv_freq) {
    int n;
    if (!rope) return 0;
    n = rope->cfg.rotary_dim / 2;
    if (inv_freq) memmove(inv_freq, rope->inv_freq, (size_t)n * sizeof(double)); /* may be the rope's own */
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
/* Request the lines holding next[0 .. rd) (the next token's part of the head being
   rotated): they then stream in while this token computes. In place from DRAM on a 2-core
   Zen 5 with 2 threads: 101-104 -> 111-131 GB/s (read + write) over 256 MiB, 146-152 ->
   186-189 over 64 MiB; with 1 thread equal over 256 MiB, 16% faster over 64 MiB. One
   head at a time: a burst of the whole next row before each token measured slower.
   (Line addresses as integers: rounding the pointer down could leave the caller's
   array.) */
LCX__INLINE void lcx__rope_pf_head(const float *next, int rd) {
    uintptr_t b = (uintptr_t)next & ~(uintptr_t)63, e = (uintptr_t)(next + rd);
    for (; b < e; b += 64) LCX__PREFETCH((const void *)b, 3);
}

/* Rotate the first rd elements of each of n_heads heads of x by the table (c, s); next:
   the next token's row (NULL: none), prefetched head by head (lcx__rope_pf_head). Each
   level's body is inlined twice, once with next NULL: with the test inside one loop,
   calls that prefetch nothing measured up to 12% slower. */
LCX__FORCE_INLINE void lcx__rope_rot_ref_body(float *x, int n_heads, int head_dim, int rd,
                                              int layout, const float *c, const float *s,
                                              const float *next) {
    int h, i;
    const int n = rd / 2;
    for (h = 0; h < n_heads; h++) {
        float *v = x + (int64_t)h * head_dim;
        if (next) lcx__rope_pf_head(next + (int64_t)h * head_dim, rd);
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
LCX__STATIC void lcx__rope_rotate_ref(float *x, int n_heads, int head_dim, int rd, int layout,
                                      const float *c, const float *s, const float *next) {
    if (next) lcx__rope_rot_ref_body(x, n_heads, head_dim, rd, layout, c, s, next);
    else lcx__rope_rot_ref_body(x, n_heads, head_dim, rd, layout, c, s, NULL);
}

#ifdef LCX__HAVE_AVX2
LCX__FORCE_INLINE void lcx__rope_rot_avx2_body(float *x, int n_heads, int head_dim, int rd,
                                               int layout, const float *c, const float *s,
                                               const float *next) {
    int h, i;
    const int n = rd / 2;
    for (h = 0; h < n_heads; h++) {
        float *v = x + (int64_t)h * head_dim;
        if (next) lcx__rope_pf_head(next + (int64_t)h * head_dim, rd);
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
LCX__STATIC void lcx__rope_rotate_avx2(float *x, int n_heads, int head_dim, int rd, int layout,
                                       const float *c, const float *s, const float *next) {
    if (next) lcx__rope_rot_avx2_body(x, n_heads, head_dim, rd, layout, c, s, next);
    else lcx__rope_rot_avx2_body(x, n_heads, head_dim, rd, layout, c, s, NULL);
}
#endif

#ifdef LCX__HAVE_AVX512
LCX__FORCE_INLINE void lcx__rope_rot_avx512_body(float *x, int n_heads, int head_dim, int rd,
                                                 int layout, const float *c, const float *s,
                                                 const float *next) {
    int h, i;
    const int n = rd / 2;
    for (h = 0; h < n_heads; h++) {
        float *v = x + (int64_t)h * head_dim;
        if (next) lcx__rope_pf_head(next + (int64_t)h * head_dim, rd);
        /* whole vectors unmasked, the tail masked: in place from DRAM, masked loads and
           stores throughout measured 2.4x slower (2-core Zen 5, 1 thread, 256 MiB: 21.9
           vs 52-54 GB/s read + write; 2 threads 40-42 vs 101-106) */
        if (layout == LCX_ROPE_HALF) {
            for (i = 0; i + 16 <= n; i += 16) {
                const __m512 a = _mm512_loadu_ps(v + i), b = _mm512_loadu_ps(v + i + n);
                const __m512 cc = _mm512_loadu_ps(c + i), ss = _mm512_loadu_ps(s + i);
                _mm512_storeu_ps(v + i, _mm512_fmsub_ps(a, cc, _mm512_mul_ps(b, ss)));
                _mm512_storeu_ps(v + i + n, _mm512_fmadd_ps(b, cc, _mm512_mul_ps(a, ss)));
            }
            if (i < n) {
                const __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
                const __m512 a = _mm512_maskz_loadu_ps(m, v + i);
                const __m512 b = _mm512_maskz_loadu_ps(m, v + i + n);
                const __m512 cc = _mm512_maskz_loadu_ps(m, c + i);
                const __m512 ss = _mm512_maskz_loadu_ps(m, s + i);
                _mm512_mask_storeu_ps(v + i, m, _mm512_fmsub_ps(a, cc, _mm512_mul_ps(b, ss)));
                _mm512_mask_storeu_ps(v + i + n, m, _mm512_fmadd_ps(b, cc, _mm512_mul_ps(a, ss)));
            }
        } else {
            for (i = 0; i + 16 <= rd; i += 16) {
                const __m512 a = _mm512_loadu_ps(v + i);
                const __m512 sw = _mm512_permute_ps(a, 0xB1);
                _mm512_storeu_ps(v + i, _mm512_fmaddsub_ps(a, _mm512_loadu_ps(c + i),
                                                           _mm512_mul_ps(sw, _mm512_loadu_ps(s + i))));
            }
            if (i < rd) {
                const __mmask16 m = (__mmask16)((1u << (rd - i)) - 1u);
                const __m512 a = _mm512_maskz_loadu_ps(m, v + i);
                const __m512 sw = _mm512_permute_ps(a, 0xB1);
                const __m512 r = _mm512_fmaddsub_ps(a, _mm512_maskz_loadu_ps(m, c + i),
                                                    _mm512_mul_ps(sw, _mm512_maskz_loadu_ps(m, s + i)));
                _mm512_mask_storeu_ps(v + i, m, r);
            }
        }
    }
}
LCX__STATIC void lcx__rope_rotate_avx512(float *x, int n_heads, int head_dim, int rd, int layout,
                                         const float *c, const float *s, const float *next) {
    if (next) lcx__rope_rot_avx512_body(x, n_heads, head_dim, rd, layout, c, s, next);
    else lcx__rope_rot_avx512_body(x, n_heads, head_dim, rd, layout, c, s, NULL);
}
#endif

LCX__STATIC void lcx__rope_rotate_simd(int simd, float *x, int n_heads, int head_dim, int rd,
                                       int layout, const float *c, const float *s,
                                       const float *next) {
    switch (simd) {
#ifdef LCX__HAVE_AVX512
    case LCX__SIMD_AVX512:
        lcx__rope_rotate_avx512(x, n_heads, head_dim, rd, layout, c, s, next);
        break;
#endif
#ifdef LCX__HAVE_AVX2
    case LCX__SIMD_AVX2: lcx__rope_rotate_avx2(x, n_heads, head_dim, rd, layout, c, s, next); break;
#endif
    default: lcx__rope_rotate_ref(x, n_heads, head_dim, rd, layout, c, s, next); break;
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
    const __m256d two_over_pi = _mm256_set1_pd(LCX__SC_TWO_OVER_PI);
    const __m256d p1 = _mm256_set1_pd(LCX__SC_PIO2_1), p2 = _mm256_set1_pd(LCX__SC_PIO2_2);
    const __m256d p3 = _mm256_set1_pd(LCX__SC_PIO2_3), p4 = _mm256_set1_pd(LCX__SC_PIO2_4);
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
        sn = _mm256_fmadd_pd(r2, _mm256_set1_pd(LCX__SC_S13), _mm256_set1_pd(LCX__SC_S11));
        sn = _mm256_fmadd_pd(r2, sn, _mm256_set1_pd(LCX__SC_S9));
        sn = _mm256_fmadd_pd(r2, sn, _mm256_set1_pd(LCX__SC_S7));
        sn = _mm256_fmadd_pd(r2, sn, _mm256_set1_pd(LCX__SC_S5));
        sn = _mm256_fmadd_pd(r2, sn, _mm256_set1_pd(LCX__SC_S3));
        sn = _mm256_fmadd_pd(_mm256_mul_pd(r, r2), sn, r);
        cs = _mm256_fmadd_pd(r2, _mm256_set1_pd(LCX__SC_C14), _mm256_set1_pd(LCX__SC_C12));
        cs = _mm256_fmadd_pd(r2, cs, _mm256_set1_pd(LCX__SC_C10));
        cs = _mm256_fmadd_pd(r2, cs, _mm256_set1_pd(LCX__SC_C8));
        cs = _mm256_fmadd_pd(r2, cs, _mm256_set1_pd(LCX__SC_C6));
        cs = _mm256_fmadd_pd(r2, cs, _mm256_set1_pd(LCX__SC_C4));
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
    const __m512d two_over_pi = _mm512_set1_pd(LCX__SC_TWO_OVER_PI);
    const __m512d p1 = _mm512_set1_pd(LCX__SC_PIO2_1), p2 = _mm512_set1_pd(LCX__SC_PIO2_2);
    const __m512d p3 = _mm512_set1_pd(LCX__SC_PIO2_3), p4 = _mm512_set1_pd(LCX__SC_PIO2_4);
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
        sn = _mm512_fmadd_pd(r2, _mm512_set1_pd(LCX__SC_S13), _mm512_set1_pd(LCX__SC_S11));
        sn = _mm512_fmadd_pd(r2, sn, _mm512_set1_pd(LCX__SC_S9));
        sn = _mm512_fmadd_pd(r2, sn, _mm512_set1_pd(LCX__SC_S7));
        sn = _mm512_fmadd_pd(r2, sn, _mm512_set1_pd(LCX__SC_S5));
        sn = _mm512_fmadd_pd(r2, sn, _mm512_set1_pd(LCX__SC_S3));
        sn = _mm512_fmadd_pd(_mm512_mul_pd(r, r2), sn, r);
        cs = _mm512_fmadd_pd(r2, _mm512_set1_pd(LCX__SC_C14), _mm512_set1_pd(LCX__SC_C12));
        cs = _mm512_fmadd_pd(r2, cs, _mm512_set1_pd(LCX__SC_C10));
        cs = _mm512_fmadd_pd(r2, cs, _mm512_set1_pd(LCX__SC_C8));
        cs = _mm512_fmadd_pd(r2, cs, _mm512_set1_pd(LCX__SC_C6));
        cs = _mm512_fmadd_pd(r2, cs, _mm512_set1_pd(LCX__SC_C4));
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

/* One token: its table, then every head; next: the next token's row (NULL: none), see
   lcx__rope_pf_head. */
LCX__STATIC void lcx__rope_token(float *x, int n_heads, int head_dim, int rd, int layout,
                                 const double *freq, const double *freq_sub, double p,
                                 double scale, int simd, const float *next) {
    float c[LCX_ROPE_MAX_HEAD_DIM], s[LCX_ROPE_MAX_HEAD_DIM];
    lcx__rope_table_simd(simd, freq, freq_sub, p, scale, rd / 2, layout, c, s);
    lcx__rope_rotate_simd(simd, x, n_heads, head_dim, rd, layout, c, s, next);
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
    const int pf = (double)n_tokens * n_heads * rd * 4.0 > LCX__ROPE_PF_MIN_BYTES;
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
            const float *next = pf && t + 1 < n_tokens ? x + (t + 1) * token_stride : NULL;
            lcx__rope_token(x + t * token_stride, n_heads, hd, rd, layout, rope->inv_freq, fsub,
                            p, scale, simd, next);
        }
        return;
    }
    for (t = 0; t < n_tokens; t++) { /* small calls never enter the OpenMP runtime */
        const double p = pos ? (double)pos[t] : (double)t;
        const float *next = pf && t + 1 < n_tokens ? x + (t + 1) * token_stride : NULL;
        lcx__rope_token(x + t * token_stride, n_heads, hd, rd, layout, rope->inv_freq, fsub, p,
                        scale, simd, next);
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

/* Layout of this section: constants and the resolved call (lcx__attn), validation,
   the per-format tile loader and the tile enumerator, the scalar reference kernels
   (_ref), the AVX2 and AVX-512 kernels, the work-item driver (shared by every level),
   then the public entry points. */

#define LCX__ATTN_TK 64          /* keys per tile */
#define LCX__ATTN_DBLK 32        /* prefill logits: dims per partial sum */
#define LCX__ATTN_KAHEAD 8       /* decode, small tiles: K prefetched this many keys ahead */
#define LCX__ATTN_KAHEAD_ROWS 16 /* ... when the tile's K rows are not one span (small pages) */
/* Decode, small tiles whose K rows form one span (a [token][head][dim] cache): at each
   block of 4 keys of the logits, one line of K prefetched this many bytes on, and one a
   4 KiB page further, within the tile (the "page kick"). The hardware's streaming
   prefetcher does not cross 4 KiB pages, so each new page of the stream would start
   with a demand miss and a slow ramp; touching its first line early starts it before
   the loads arrive. Measured on the 2-core Zen 5 VM (f16, 32/8 heads, d 128, calls
   alternating in one process, bench/ab): 2 threads +7-9% at n_kv 32768 (8-9 of 8-10
   rounds), +16-20% at 131072 (5-6 of 6), +8% at 4096, +11% with 256-token pages; 1
   thread +18% (8 of 8). No better: 8 or 24 KiB on, three lines, K's prefetch with hint
   T0, kicks continued into the next tile (slower with 16-token pages), kicks on V's
   pages (P V reads V head by head, not in address order), kicks alone for f32's larger
   tiles (what helped f32: LCX__ATTN_KAHEAD_F32). A plain read of memory behaves alike:
   one line per page kicked 1-2 pages ahead took a 2-thread stream with the step's FMAs
   per byte from 65 to 73-75 GB/s, beside a read pass of 65 (prefetching every line
   instead: 53-60). */
#define LCX__ATTN_KICK 16384
/* f32 K (a token row of 8 heads x 128 is a whole 4 KiB page): K prefetched as in a small
   tile whatever the tile's size (in address order, a share per step), one block of 4 keys
   ahead, with kicks 32 KiB on that continue into the next tile. On the Zen 5 VM (calls
   alternating, 32/8 heads, 2 threads), with hint T0 (into L1): d 128 n_kv 32768 +9% (8 of
   8), 131072 +9% (6 of 6), 256-token pages +7% (8 of 8), 1 thread +6% (8 of 8), d 64 +4% (6
   of 8), 16-token pages equal. Hint T1 in its place -9%; 8 keys ahead or kicks within the
   tile only, 4-5% less; the logits alone, 8 keys ahead, +12%. P V was not helped the same
   way (bench/NOTES.md).
   T0 is faster only on the Zen 5 (48 KiB of L1 data cache per core). On the Zen 4 (32
   KiB) it made the f32 decode slower than the header before this scheme (n_kv 32768, 2
   threads 0.83, 1 thread 0.69-0.72); T1 in its place, against T0 there: n_kv 1024 +5%,
   4096 +23%, 32768 +27% (1 thread +42%), 131072 +33%, d 64 +32%, 256-token pages +38%; 1
   thread with 4 KV heads (8 KiB blocks) +37%, with 2 (4 KiB) +8%; 1-10% faster than the
   header before this scheme. On a 16-core Intel Xeon of the Emerald Rapids family (48
   KiB, as the Zen 5: so not the L1's size) T1 against T0: n_kv 32768 +14% (16 of 16), 1
   thread +16% (10 of 10), 8 threads +10% (10 of 10), 131072 +13% (10 of 10). So T0 on AMD
   family LCX__ATTN_T0_AMD_FAMILY alone (CPUID, lcx__cpu_family), T1 everywhere else;
   asked only when the call's K holds LCX__ATTN_CPU_ASK_BYTES or more (two CPUIDs cost
   about 7 us in a virtual machine; below that, T1). */
#define LCX__ATTN_KAHEAD_F32 4
#define LCX__ATTN_KICK_F32 32768
#define LCX__ATTN_T0_AMD_FAMILY 26 /* 0x1A: Zen 5 */
#define LCX__ATTN_CPU_ASK_BYTES ((double)(16 << 20))
/* The decode plan for n_q <= LCX__ATTN_DECODE_Q, and for any n_q whose rows per KV head
   (n_q x n_heads / n_kv_heads) are at most LCX__ATTN_DECODE_ROWS (half that with f32 K
   or V), the fewest a prefill item is made of: there the prefill plan fetched each KV
   head's rows on their own, and reading every head's rows in address order while the
   rows of a few queries compute measured faster (lcx__attn_shape). */
#define LCX__ATTN_DECODE_Q 8
#define LCX__ATTN_DECODE_ROWS 64
/* The decode logits hold f32 K's vectors in registers (lcx__attn_dot4x4's keep) for
   tiles of at least this many rows per KV head. f32, 32/8 heads, d 128, calls
   alternating, 2 threads, n_kv 32768, against GCC's loads folded into the FMAs (each K
   vector loaded once per row): 12 rows (3 queries) +12% (8 of 8 rounds), 16 rows
   +1.7% (6 of 6), 32 rows +7% and +10% (6 of 6 each), 1 thread n_kv 8192 32 rows +8%;
   but with fewer rows, from memory: 4 rows -2 to -4% (1 and 3 of 10 rounds, 0 of 8
   with 1 thread), 8 rows -5% (0 of 6; GQA 8's 8 rows -2%), though 4 rows from cache
   +12%. */
#define LCX__ATTN_KEEP_ROWS 12
/* rows (query tokens x group heads) per prefill item, and the fewest when items are
   scarce (lcx__attn_shape) */
#define LCX__ATTN_PREFILL_ROWS 256
#define LCX__ATTN_PREFILL_ROWS_MIN 64
#define LCX__ATTN_SCR_GAP 16384  /* floats (64 KiB) between threads' scratches; holds the
                                    first's lcx__attn_ptrs (LCX__ATTN_PTRS_FLOATS) */
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
    float *kp_lse; /* key_probs: each row's lse relative to its ALiBi origin (workspace) */
    int64_t kmin, kmax; /* ALiBi: smallest and largest key position, ... */
    int ksorted;        /* ... and whether positions ascend (lcx__attn_kref) */
    int64_t *kq;        /* causal ALiBi over positions that do not ascend: per query, the
                           largest visible key position (workspace; else NULL) */
    int pwide;          /* ALiBi: some key or query position lies outside [-2^62, 2^62), so
                           an int64 difference of two may overflow (lcx__attn_pdiff) */
    int kpf_l1;         /* AVX-512 decode, f32 K: prefetch into L1, not L2
                           (LCX__ATTN_KAHEAD_F32) */
    /* plan */
    int decode, nt, splits, rmax;
    int64_t bq, n_qb;
    size_t sec_floats; /* scratch of one KV head's rows */
    size_t scr_floats; /* per thread: decode, one section per KV head; prefill, one
                          (then lcx__attn_ptrs, in the gap) */
    size_t scr_stride; /* floats from one thread's scratch to the next (see lcx__attn_shape) */
} lcx__attn;

LCX__INLINE size_t lcx__attn_r16(size_t x) { return (x + 15) & ~(size_t)15; }

/* A thread's arrays for one tile: row pointers and key positions. In the
   workspace, just past the thread's scratch (in the gap before the next thread's,
   lcx__attn_shape), rather than on the stack: there they took a call past the 8 KiB
   the header promises (gcc 8.6-9.6 KiB, clang 9.8-10.5). Past the scratch, not in it:
   a scratch 4 KiB longer measured 5-8% slower (f16 decode, n_kv 32768, 2 threads). */
typedef struct lcx__attn_ptrs {
    const void *rows[2][2][LCX__ATTN_TK]; /* [buffer][K, V][key]: this tile, the next */
    const void *hk[LCX__ATTN_TK], *hv[LCX__ATTN_TK]; /* one KV head's rows (decode) */
    const void *dense_v[LCX__ATTN_TK]; /* dense V rows (prefill) */
    int64_t kpos[LCX__ATTN_TK];
} lcx__attn_ptrs;
#define LCX__ATTN_PTRS_FLOATS ((sizeof(lcx__attn_ptrs) + 63) / 64 * 16)
typedef char lcx__attn_ptrs_fit_the_gap[LCX__ATTN_PTRS_FLOATS <= LCX__ATTN_SCR_GAP ? 1 : -1];

/* The arrays of the thread whose scratch starts at scr. */
LCX__INLINE lcx__attn_ptrs *lcx__attn_ptrs_at(const lcx__attn *a, float *scr) {
    return (lcx__attn_ptrs *)(void *)(scr + a->scr_floats);
}
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

/* x - y for any two positions, rounded once to the nearest float (double): the
   magnitude is formed in uint64, where it always fits, so there is no overflow, and
   the result equals (float)(x - y) whenever that int64 difference is defined. */
LCX__INLINE float lcx__attn_pdiff(int64_t x, int64_t y) {
    return x >= y ? (float)((uint64_t)x - (uint64_t)y) : -(float)((uint64_t)y - (uint64_t)x);
}
LCX__INLINE double lcx__attn_pdiffd(int64_t x, int64_t y) {
    return x >= y ? (double)((uint64_t)x - (uint64_t)y) : -(double)((uint64_t)y - (uint64_t)x);
}
/* |x - y| < 2^24: x - y is defined and an exact float. */
LCX__INLINE int lcx__attn_pnear(int64_t x, int64_t y) {
    return (x >= y ? (uint64_t)x - (uint64_t)y : (uint64_t)y - (uint64_t)x) < ((uint64_t)1 << 24);
}

/* ALiBi: the position the biases of query tq (position qp) are measured from (see the
   header's logits comment): the visible key nearest the query on the side the slope
   favours, qp when no key is visible. kmin, kmax, ksorted and kq are the call's
   (lcx__attn_kscan). */
LCX__STATIC int64_t lcx__attn_kref(const lcx__attn *a, int64_t tq, int64_t qp, float slope) {
    int64_t lo, hi;
    if (a->n_kv == 0) return qp;
    if (slope < 0) return !a->causal || a->kmin <= qp ? a->kmin : qp;
    if (!a->causal || a->kmax <= qp) return a->kmax;
    /* qp when no key is visible, and when the positions are 0..n_kv-1 (qp is one) */
    if (a->kmin > qp || !a->k_pos) return qp;
    if (!a->ksorted) return a->kq ? a->kq[tq] : qp;
    lo = 0; /* k_pos[lo] <= qp < k_pos[hi]: find the last position <= qp */
    hi = a->n_kv - 1;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (a->k_pos[mid] <= qp) lo = mid;
        else hi = mid;
    }
    return a->k_pos[lo];
}
/* The amount the kernel's logits of (query tq, head h) sit below the documented ones:
   slope_h * (kref - qp), in double; 0 without ALiBi. */
LCX__STATIC double lcx__attn_shift(const lcx__attn *a, int h, int64_t tq) {
    int64_t qp;
    if (!a->alibi) return 0.0;
    qp = lcx__attn_qpos(a, tq);
    return (double)a->alibi[h] * lcx__attn_pdiffd(lcx__attn_kref(a, tq, qp, a->alibi[h]), qp);
}
/* Does key_probs need its own lse rows (kp_lse)? It reads each row's lse in its logits'
   terms: the caller's lse serves when those are the documented ones (no ALiBi). */
LCX__INLINE int lcx__attn_wants_kp_lse(const lcx__attn *a) {
    return a->key_probs && (!a->lse || a->alibi);
}
/* Does the call need kq (causal ALiBi over explicit positions that may not ascend)?
   The workspace holds it whenever they are explicit. */
LCX__INLINE int lcx__attn_wants_kq(const lcx__attn *a) {
    return a->alibi && a->causal && a->k_pos && a->n_q > 0 && a->n_kv > 0;
}
/* kmin, kmax, ksorted and kq (in kq_buf, n_q entries, when lcx__attn_wants_kq) for
   lcx__attn_kref, and pwide: ALiBi only, a pass over explicit positions and one over
   the queries' positions, and for causal ALiBi over positions that do not ascend, one
   per query whose position lies inside their range. */
LCX__STATIC void lcx__attn_kscan(lcx__attn *a, int64_t *kq_buf) {
    const int64_t lim = (int64_t)1 << 62;
    int64_t j, t;
    a->kmin = 0;
    a->kmax = a->n_kv - 1;
    a->ksorted = 1;
    a->kq = NULL;
    a->pwide = 0;
    if (!a->alibi || a->n_kv == 0) return;
    if (a->k_pos) {
        a->kmin = a->kmax = a->k_pos[0];
        for (j = 1; j < a->n_kv; j++) {
            int64_t p = a->k_pos[j];
            if (p < a->k_pos[j - 1]) a->ksorted = 0;
            if (p < a->kmin) a->kmin = p;
            if (p > a->kmax) a->kmax = p;
        }
    }
    a->pwide = a->kmin < -lim || a->kmax >= lim;
    for (t = 0; t < a->n_q && !a->pwide; t++) {
        const int64_t qp = lcx__attn_qpos(a, t);
        a->pwide = qp < -lim || qp >= lim;
    }
    if (!a->k_pos || a->ksorted || !kq_buf || !lcx__attn_wants_kq(a)) return;
    for (t = 0; t < a->n_q; t++) {
        const int64_t qp = lcx__attn_qpos(a, t);
        int64_t best = qp; /* none visible */
        if (a->kmin <= qp && qp < a->kmax) {
            best = a->kmin;
            for (j = 0; j < a->n_kv; j++) {
                const int64_t p = a->k_pos[j];
                if (p <= qp && p > best) best = p;
            }
        }
        kq_buf[t] = best;
    }
    a->kq = kq_buf;
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
    /* n_q rows of lse (and of q and out) and n_kv of key_probs (and of K and V) must
       be addressable, as lcx__attn_rows_ok counts: checked here for the workspace
       query as for the call, so that the two agree */
    if (n_q > INT64_MAX / 8 / a->nh) return LCX_ERR_INVALID_ARG;
    a->n_q = n_q;
    /* the view */
    if (kv->kind != LCX_KV_CONTIGUOUS && kv->kind != LCX_KV_PAGED) return LCX_ERR_INVALID_ARG;
    if (kv->k_type < 0 || kv->k_type > LCX_BF16 || kv->v_type < 0 || kv->v_type > LCX_BF16)
        return LCX_ERR_INVALID_ARG;
    a->kind = kv->kind;
    a->kt = kv->k_type;
    a->vt = kv->v_type;
    a->n_kv = kv->n_kv;
    if (a->n_kv < 0 || a->n_kv > INT64_MAX / 8 / a->nkv || kv->k_stride < 0 ||
        kv->v_stride < 0 || kv->k_head_stride < 0 ||
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
        /* derived query positions below kp[0] (lcx__attn_qpos) must be int64 values */
        if (!q_pos && a->k_pos && a->n_kv > 0 && n_q > a->n_kv &&
            a->k_pos[0] < INT64_MIN + (n_q - a->n_kv))
            return LCX_ERR_INVALID_ARG;
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
    int64_t *kref; /* [rmax] ALiBi: where each row's biases are measured from */
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
    LCX__ATTN_TAKE(vc, float, a->decode ? 0 : LCX__ATTN_TK * dvp);
    LCX__ATTN_TAKE(qpos, int64_t, 2 * R);
    LCX__ATTN_TAKE(kref, int64_t, 2 * R);
#undef LCX__ATTN_TAKE
    return off;
}

/* Rows to prefetch beside a decode step (the memory system then streams the cache
   while the current tile computes): rows k[j] + ko (j < n) and v[j] + vo (j < vn),
   k/v being rows of the item's first KV head and ko/vo byte offsets to a head. */
typedef struct lcx__attn_pf {
    const void *const *k;
    const void *const *v;
    size_t ko, vo;
    int n, vn;
} lcx__attn_pf;

/* The V rows to prefetch beside head h of a decode step over nk heads: ah heads ahead
   (at most nk), head h + ah's rows of this tile (vrow, n of them), past the last head
   the next tile's rows (nvrow, nn) of head h + ah - nk. One head ahead
   measured 6-17% faster from memory than one tile ahead (AVX-512 and AVX2, one and
   two threads); for two, see lcx__attn_heads16_body. */
LCX__INLINE void lcx__attn_pf_vnext(lcx__attn_pf *pf, int h, int nk, int ah,
                                    const void *const *vrow, int n, const void *const *nvrow,
                                    int nn, size_t voff) {
    int last;
    if (ah > nk) ah = nk;
    last = h + ah >= nk;
    pf->v = last ? nvrow : vrow;
    pf->vo = (size_t)(last ? h + ah - nk : h + ah) * voff;
    pf->vn = last ? nn : n;
}


/* ---- scalar reference kernels ------------------------------------------------ */
LCX__INLINE float lcx__attn_ld(const void *row, int type, int i) {
    if (type == LCX_F32) return ((const float *)row)[i];
    if (type == LCX_F16) return lcx_f16_to_f32(((const uint16_t *)row)[i]);
    return lcx_bf16_to_f32(((const uint16_t *)row)[i]);
}

LCX__INLINE float lcx__attn_exp_ref(float x) { return x < LCX__ATTN_EXP_LO ? 0.0f : expf(x); }

/* The end of the block of dims of a prefill dot that starts at i0 (LCX__ATTN_DBLK dims,
   the last one to d) */
LCX__INLINE int lcx__attn_dblk_end(int i0, int d) {
    return d - i0 < LCX__ATTN_DBLK ? d : i0 + LCX__ATTN_DBLK;
}

/* S[r][j] = q_r . k_j */
LCX__STATIC void lcx__attn_scores_ref(const lcx__attn *a, const lcx__attn_scr *sc, int R, int n,
                                      const void *const *krow) {
    int dp = (int)lcx__attn_r16((size_t)a->d), r, j, i, i0;
    for (r = 0; r < R; r++)
        for (j = 0; j < n; j++) {
            const float *qr = sc->qp + (size_t)r * dp;
            float acc = 0;
            for (i0 = 0; i0 < a->d; i0 += LCX__ATTN_DBLK) { /* blocks, as the SIMD prefill */
                const int ie = lcx__attn_dblk_end(i0, a->d);
                float part = 0;
                for (i = i0; i < ie; i++) part += qr[i] * lcx__attn_ld(krow[j], a->kt, i);
                acc += part;
            }
            sc->s[r * LCX__ATTN_TK + j] = acc;
        }
}

/* Logits in the documented order, masks on positions; masked -> -INFINITY. wide (a
   constant): positions so far apart that an int64 kp - kref may overflow (a->pwide). */
LCX__FORCE_INLINE void lcx__attn_logits_body(const lcx__attn *a, const lcx__attn_scr *sc, int R,
                                             int n, const int64_t *kpos, int partial,
                                             const int wide) {
    int r, j;
    for (r = 0; r < R; r++) {
        float *s = sc->s + (size_t)r * LCX__ATTN_TK;
        for (j = 0; j < n; j++) {
            float x = a->scale * s[j];
            if (a->softcap > 0) x = a->softcap * tanhf(x / a->softcap);
            if (a->alibi)
                x += sc->slope[r] * (wide ? lcx__attn_pdiff(kpos[j], sc->kref[r])
                                          : (float)(kpos[j] - sc->kref[r]));
            if (partial && kpos[j] > sc->qpos[r]) x = -INFINITY;
            s[j] = x;
        }
    }
}
LCX__STATIC void lcx__attn_logits_ref(const lcx__attn *a, const lcx__attn_scr *sc, int R, int n,
                                      const int64_t *kpos, int partial) {
    if (a->alibi && a->pwide) lcx__attn_logits_body(a, sc, R, n, kpos, partial, 1);
    else lcx__attn_logits_body(a, sc, R, n, kpos, partial, 0);
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
/* ---- vector kernels ------------------------------------------------------------
   Written with explicit unrolling (the header is built with -O2 by users). The key
   type is a compile-time constant inside each body (forced inlining into one wrapper
   per type), so the inner loops have no per-element type branches. */
#define LCX__ATTN_FI LCX__FORCE_INLINE
#if defined(__GNUC__) || defined(__clang__)
#  define LCX__ATTN_NOINLINE static __attribute__((noinline, unused))
#else
#  define LCX__ATTN_NOINLINE static
#endif
/* Keep loaded vectors in registers. Without it GCC folds a load used by several FMAs
   into each of them (one load per FMA), and a register-blocked loop runs at the load
   ports' speed instead of the FMA units': the q loads of the AVX-512 decode 4 x 4 tile
   (about 1.3x slower), the K^T loads of the AVX-512 prefill logits (13%), the K loads
   of the AVX2 logits (12 loads per 8 FMAs). */
#if defined(__GNUC__)
#  define LCX__ATTN_KEEP4(a, b, c, d) __asm__("" : "+v"(a), "+v"(b), "+v"(c), "+v"(d))
#  define LCX__ATTN_KEEP3(a, b, c) __asm__("" : "+v"(a), "+v"(b), "+v"(c))
#  define LCX__ATTN_KEEP2(a, b) __asm__("" : "+v"(a), "+v"(b))
#else
#  define LCX__ATTN_KEEP4(a, b, c, d) ((void)0)
#  define LCX__ATTN_KEEP3(a, b, c) ((void)0)
#  define LCX__ATTN_KEEP2(a, b) ((void)0)
#endif

/* Prefill: a V tile widened to float into the scratch at SIMD level simd, rows `stride`
   floats apart (zero padded), and the row pointers into out (K tiles are transposed
   instead: lcx__attn_pack_kt_body, lcx__attn_pack_kt8_body). Every row of the item then
   reads the tile from L1 in order: read from the cache, its rows lie 2-4 KiB apart, in a
   few L1 sets, and f16/bf16 would be converted again for every 4 rows (AVX2 with K and V
   both so, one thread, causal prefill n 2048, d 128: f32 62 -> 83 GFLOP/s, f16 76 -> 82,
   of about 114). */
LCX__STATIC void lcx__attn_dense(int simd, const void *const *row, int n, int type, int cols,
                                 size_t stride, float *dst, const void **out) {
    int j;
    for (j = 0; j < n; j++) {
        float *d = dst + (size_t)j * stride;
        if (type == LCX_F16) lcx__f16_to_f32_row_simd(simd, (const lcx_f16 *)row[j], d, cols);
        else if (type == LCX_BF16) lcx__bf16_to_f32_row_simd(simd, (const lcx_bf16 *)row[j], d, cols);
        else memcpy(d, row[j], (size_t)cols * sizeof(float));
        if (stride > (size_t)cols) memset(d + cols, 0, (stride - (size_t)cols) * sizeof(float));
        out[j] = d;
    }
}

#if defined(LCX__HAVE_AVX512) || defined(LCX__HAVE_AVX2)
/* Prefetch n bytes from p into L2, a line at a time (decode: the next tile's rows, a
   few lines beside each step of the current one, so that the requests never queue
   behind each other and the next tile is in cache when it is needed). A row that
   does not start on a line boundary may leave its last line to the demand load. */
LCX__ATTN_FI void lcx__attn_pf_bytes(const void *p, size_t n) {
    size_t off;
    for (off = 0; off < n; off += 64) _mm_prefetch((const char *)p + off, _MM_HINT_T1);
}
/* Prefetch (hint T1) the line at byte off of a tile's span cur (end bytes), or, past its
   end, at off - end in the next tile's span nxt (nend bytes; NULL: none). */
LCX__ATTN_FI void lcx__attn_kick(const char *cur, size_t off, size_t end, const char *nxt,
                                 size_t nend) {
    if (off < end) _mm_prefetch(cur + off, _MM_HINT_T1);
    else if (nxt && off - end < nend) _mm_prefetch(nxt + off - end, _MM_HINT_T1);
}
/* the 4 lines of 256 bytes from p */
#define LCX__ATTN_PF4(p)                                                         \
    do {                                                                         \
        const char *pf4_ = (p);                                                  \
        _mm_prefetch(pf4_, _MM_HINT_T1);                                         \
        _mm_prefetch(pf4_ + 64, _MM_HINT_T1);                                    \
        _mm_prefetch(pf4_ + 128, _MM_HINT_T1);                                   \
        _mm_prefetch(pf4_ + 192, _MM_HINT_T1);                                   \
    } while (0)
/* A small decode tile, whose rows the step prefetches a few keys ahead (in address order
   where they form a span): K and V of a tile (nk heads, koff/voff bytes between heads) in
   at most 256 KiB, and the K bytes of one head that the step prefetches as a unit
   (kunit: one row for the AVX-512 step, the two rows of a block of 2 keys for the AVX2
   step) whole 256-byte steps (rows of d 64, 128, 256 f32 or 128, 256 f16; AVX2 also
   d 64 f16). */
LCX__ATTN_FI int lcx__attn_small_tile(int nk, size_t koff, size_t voff, size_t kunit) {
    return (size_t)LCX__ATTN_TK * (size_t)nk * (koff + voff) <= ((size_t)256 << 10) &&
           kunit % 256 == 0;
}
/* A tile's rows as one span: row[0] when its n rows lie back to back, each holding nk
   packed heads of hbytes (head stride hstride == hbytes: a [token][head][dim] cache, a
   tile within one page), else NULL. */
LCX__ATTN_FI const char *lcx__attn_span(const void *const *row, int n, int nk, size_t hbytes,
                                        size_t hstride) {
    const char *b = n > 0 && hstride == hbytes ? (const char *)row[0] : NULL;
    const size_t stride = (size_t)nk * hstride;
    int j;
    for (j = 1; j < n && b; j++)
        if ((const char *)row[j] != b + (size_t)j * stride) b = NULL;
    return b;
}
#endif

/* ALiBi in the vector kernels: kp - kref as the float nearest to it, for every key kp of
   a tile and the origin kref of each row, as lcx__attn_logits_ref gives it. The fast
   form: kf[j] = kp[j] - kp[0] once per tile, then per row kf[j] + (kp[0] - kref), one
   float add of two exact integers, so rounded once to the same float; it needs both
   below 2^24. lcx__attn_kf fills kf and returns 1 when the tile's positions span less
   than 2^24 (else 0, kf unset); a row whose kp[0] - kref is not exact too (lcx__attn_pnear)
   takes lcx__attn_krel's offsets, each computed exactly (a cache with sink tokens at
   0..3 and a window 10^8 on, in one tile, or positions near the int64 limits). */
LCX__STATIC int lcx__attn_kf(const int64_t *kpos, int n, float *kf) {
    int64_t lo = kpos[0], hi = kpos[0];
    int j;
    for (j = 1; j < n; j++) { /* no early exit: a loop the compiler vectorizes */
        lo = kpos[j] < lo ? kpos[j] : lo;
        hi = kpos[j] > hi ? kpos[j] : hi;
    }
    if ((uint64_t)hi - (uint64_t)lo >= ((uint64_t)1 << 24)) return 0;
    for (j = 0; j < n; j++) kf[j] = (float)(kpos[j] - kpos[0]);
    for (; j < LCX__ATTN_TK; j++) kf[j] = 0.0f;
    return 1;
}
/* kx[j] = kp[j] - kref, the nearest float, for j < n (0 after). */
LCX__STATIC void lcx__attn_krel(const int64_t *kpos, int n, int64_t kref, float *kx) {
    int j;
    for (j = 0; j < n; j++) kx[j] = lcx__attn_pdiff(kpos[j], kref);
    for (; j < LCX__ATTN_TK; j++) kx[j] = 0.0f;
}
/* One row's ALiBi offsets for the vector kernels: kp[j] - kref = result[j] + *k0. The
   tile's kf with k0 = kp[0] - kref when kfast (lcx__attn_kf) and that is exact, else kx
   filled by lcx__attn_krel with k0 = 0. */
LCX__FORCE_INLINE const float *lcx__attn_krow(const int64_t *kpos, int n, int64_t kref,
                                              int kfast, const float *kf, float *kx,
                                              float *k0) {
    if (kfast && lcx__attn_pnear(kpos[0], kref)) {
        *k0 = (float)(kpos[0] - kref);
        return kf;
    }
    lcx__attn_krel(kpos, n, kref, kx);
    *k0 = 0.0f;
    return kx;
}


#ifdef LCX__HAVE_AVX512
/* exp(x), relative error ~1e-7; exactly 0 below LCX__ATTN_EXP_LO (no subnormals). */
LCX__ATTN_FI __m512 lcx__attn_exp16(__m512 x) {
    const __m512 lo = _mm512_set1_ps(LCX__ATTN_EXP_LO);
    __mmask16 ok = _mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ);
    __m512 n, r, p;
    x = _mm512_min_ps(_mm512_max_ps(x, lo), _mm512_set1_ps(88.3f));
    n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_maskz_scalef_ps(ok, p, n);
}

/* cap * tanh(s / cap) */
LCX__ATTN_FI __m512 lcx__attn_softcap16(__m512 s, float cap) {
    __m512 y = _mm512_mul_ps(s, _mm512_set1_ps(1.0f / cap));
    __m512 ay = _mm512_abs_ps(y);
    __m512 t = lcx__attn_exp16(_mm512_mul_ps(ay, _mm512_set1_ps(-2.0f)));
    __m512 th = _mm512_div_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), t),
                              _mm512_add_ps(_mm512_set1_ps(1.0f), t));
    /* small |y|: the odd series, free of the cancellation in 1 - t */
    __m512 y2 = _mm512_mul_ps(y, y);
    __m512 ser = _mm512_fmadd_ps(y2, _mm512_set1_ps(-17.0f / 315.0f), _mm512_set1_ps(2.0f / 15.0f));
    ser = _mm512_fmadd_ps(ser, y2, _mm512_set1_ps(-1.0f / 3.0f));
    ser = _mm512_fmadd_ps(_mm512_mul_ps(ser, y2), ay, ay);
    th = _mm512_mask_mov_ps(th, _mm512_cmp_ps_mask(ay, _mm512_set1_ps(0.0625f), _CMP_LT_OQ), ser);
    /* copy the sign of y */
    th = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_castps_si512(th),
        _mm512_and_si512(_mm512_castps_si512(y), _mm512_set1_epi32((int)0x80000000u))));
    return _mm512_mul_ps(th, _mm512_set1_ps(cap));
}

/* 16 floats of a row of type `type` from element i (mask: which lanes to load) */
LCX__ATTN_FI __m512 lcx__attn_ld16(const void *row, int type, int i) {
    if (type == LCX_F32) return _mm512_loadu_ps((const float *)row + i);
    if (type == LCX_F16)
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)((const uint16_t *)row + i)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(
        _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)((const uint16_t *)row + i))), 16));
}
LCX__ATTN_FI __m512 lcx__attn_ld16m(const void *row, int type, int i, __mmask16 m) {
    if (type == LCX_F32) return _mm512_maskz_loadu_ps(m, (const float *)row + i);
    if (type == LCX_F16)
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)row + i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(
        _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)row + i)), 16));
}

/* out lane i = sum of the lanes of v_i (16 vectors); written out by hand, -O2 does
   not unroll loops over vector arrays and would keep them in memory */
#define LCX__ATTN_PAIR(a, b) _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b))
#define LCX__ATTN_QUAD(a, b)                                                     \
    _mm512_add_ps(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)),              \
                  _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)))
#define LCX__ATTN_LANES(a, b)                                                    \
    _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),           \
                  _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)))
LCX__ATTN_FI __m512 lcx__attn_hsum16x16(__m512 v0, __m512 v1, __m512 v2, __m512 v3, __m512 v4,
                                        __m512 v5, __m512 v6, __m512 v7, __m512 v8, __m512 v9,
                                        __m512 v10, __m512 v11, __m512 v12, __m512 v13,
                                        __m512 v14, __m512 v15) {
    __m512 u0 = LCX__ATTN_QUAD(LCX__ATTN_PAIR(v0, v1), LCX__ATTN_PAIR(v2, v3));
    __m512 u1 = LCX__ATTN_QUAD(LCX__ATTN_PAIR(v4, v5), LCX__ATTN_PAIR(v6, v7));
    __m512 u2 = LCX__ATTN_QUAD(LCX__ATTN_PAIR(v8, v9), LCX__ATTN_PAIR(v10, v11));
    __m512 u3 = LCX__ATTN_QUAD(LCX__ATTN_PAIR(v12, v13), LCX__ATTN_PAIR(v14, v15));
    return LCX__ATTN_LANES(LCX__ATTN_LANES(u0, u1), LCX__ATTN_LANES(u2, u3));
}

/* One 4 x 4 tile of decode logits: rows q0..q3 (padded to 16) times keys k0..k3 (type
   kt, widened in registers), d = 16*nf + popcount(tm); the 16 dots are reduced by one
   transpose-add and stored as 4 quads, row r at s + r*LCX__ATTN_TK. keep: hold f32 K's
   vectors in registers (LCX__ATTN_KEEP4; f16/bf16 K is widened into registers anyway).
   Without it GCC loads each f32 K vector once per row of the quad, inside the FMAs. */
LCX__ATTN_FI void lcx__attn_dot4x4(const float *q0, const float *q1, const float *q2,
                                   const float *q3, const void *k0, const void *k1,
                                   const void *k2, const void *k3, const int kt, int nf,
                                   __mmask16 tm, float *s, const int keep) {
    int c;
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    __m512 c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0;
    __m512 c13 = c0, c14 = c0, c15 = c0;
#define LCX__ATTN_SD_STEP(X0, X1, X2, X3, i)                                     \
    do {                                                                         \
        __m512 qa_ = _mm512_loadu_ps(q0 + (i)), qb_ = _mm512_loadu_ps(q1 + (i)); \
        __m512 qc_ = _mm512_loadu_ps(q2 + (i)), qd_ = _mm512_loadu_ps(q3 + (i)); \
        LCX__ATTN_KEEP4(qa_, qb_, qc_, qd_);                                     \
        c0 = _mm512_fmadd_ps(qa_, X0, c0);                                       \
        c1 = _mm512_fmadd_ps(qa_, X1, c1);                                       \
        c2 = _mm512_fmadd_ps(qa_, X2, c2);                                       \
        c3 = _mm512_fmadd_ps(qa_, X3, c3);                                       \
        c4 = _mm512_fmadd_ps(qb_, X0, c4);                                       \
        c5 = _mm512_fmadd_ps(qb_, X1, c5);                                       \
        c6 = _mm512_fmadd_ps(qb_, X2, c6);                                       \
        c7 = _mm512_fmadd_ps(qb_, X3, c7);                                       \
        c8 = _mm512_fmadd_ps(qc_, X0, c8);                                       \
        c9 = _mm512_fmadd_ps(qc_, X1, c9);                                       \
        c10 = _mm512_fmadd_ps(qc_, X2, c10);                                     \
        c11 = _mm512_fmadd_ps(qc_, X3, c11);                                     \
        c12 = _mm512_fmadd_ps(qd_, X0, c12);                                     \
        c13 = _mm512_fmadd_ps(qd_, X1, c13);                                     \
        c14 = _mm512_fmadd_ps(qd_, X2, c14);                                     \
        c15 = _mm512_fmadd_ps(qd_, X3, c15);                                     \
        } while (0)
    for (c = 0; c < nf; c++) {
        __m512 x0 = lcx__attn_ld16(k0, kt, 16 * c), x1 = lcx__attn_ld16(k1, kt, 16 * c);
        __m512 x2 = lcx__attn_ld16(k2, kt, 16 * c), x3 = lcx__attn_ld16(k3, kt, 16 * c);
        if (keep) LCX__ATTN_KEEP4(x0, x1, x2, x3);
        LCX__ATTN_SD_STEP(x0, x1, x2, x3, 16 * c);
    }
    if (tm) {
        __m512 x0 = lcx__attn_ld16m(k0, kt, 16 * nf, tm), x1 = lcx__attn_ld16m(k1, kt, 16 * nf, tm);
        __m512 x2 = lcx__attn_ld16m(k2, kt, 16 * nf, tm), x3 = lcx__attn_ld16m(k3, kt, 16 * nf, tm);
        LCX__ATTN_SD_STEP(x0, x1, x2, x3, 16 * nf);
    }
#undef LCX__ATTN_SD_STEP
    __m512 h = lcx__attn_hsum16x16(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13,
                                   c14, c15);
    /* lanes 4r..4r+3 are row r's 4 keys; S rows are padded to TK, and the
       scratch has rows up to a multiple of 16, so whole quads are stored */
    _mm_storeu_ps(s, _mm512_castps512_ps128(h));
    _mm_storeu_ps(s + LCX__ATTN_TK, _mm512_extractf32x4_ps(h, 1));
    _mm_storeu_ps(s + 2 * LCX__ATTN_TK, _mm512_extractf32x4_ps(h, 2));
    _mm_storeu_ps(s + 3 * LCX__ATTN_TK, _mm512_extractf32x4_ps(h, 3));
}

/* Every quad of R rows (q: R rows dp floats apart) times keys k0..k3: the logits of a
   4-key block, row r at s + r*LCX__ATTN_TK (lcx__attn_dot4x4; keep as there). */
LCX__ATTN_FI void lcx__attn_dot_rows(const float *q, int dp, int R, const void *k0,
                                     const void *k1, const void *k2, const void *k3,
                                     const int kt, int nf, __mmask16 tm, float *s,
                                     const int keep) {
    int r0;
    for (r0 = 0; r0 < R; r0 += 4) {
        const float *q0 = q + (size_t)r0 * dp;
        const float *q1 = r0 + 1 < R ? q0 + dp : q0;
        const float *q2 = r0 + 2 < R ? q0 + 2 * dp : q0;
        const float *q3 = r0 + 3 < R ? q0 + 3 * dp : q0;
        lcx__attn_dot4x4(q0, q1, q2, q3, k0, k1, k2, k3, kt, nf, tm,
                         s + (size_t)r0 * LCX__ATTN_TK, keep);
    }
}

/* Logits of one head's rows (the key_probs pass): K rows used straight from the cache
   (widened in registers), 4 query rows x 4 keys per step, so each K element is loaded
   and converted once per 4 rows; partial sums reduced by one transpose-add per 16
   dots. */
LCX__ATTN_FI void lcx__attn_sd16_body(const lcx__attn *a, const lcx__attn_scr *sc, int R, int n,
                                      const void *const *krow, const int kt) {
    const int d = a->d, dp = (int)lcx__attn_r16((size_t)a->d), nf = d / 16;
    const __mmask16 tm = (__mmask16)((1u << (d % 16)) - 1u);
    int r0, j0;
    for (r0 = 0; r0 < R; r0 += 4) {
        const float *q0 = sc->qp + (size_t)r0 * dp;
        const float *q1 = r0 + 1 < R ? q0 + dp : q0;
        const float *q2 = r0 + 2 < R ? q0 + 2 * dp : q0;
        const float *q3 = r0 + 3 < R ? q0 + 3 * dp : q0;
        float *s = sc->s + (size_t)r0 * LCX__ATTN_TK;
        for (j0 = 0; j0 < n; j0 += 4) {
            const void *k0 = krow[j0];
            const void *k1 = j0 + 1 < n ? krow[j0 + 1] : k0;
            const void *k2 = j0 + 2 < n ? krow[j0 + 2] : k0;
            const void *k3 = j0 + 3 < n ? krow[j0 + 3] : k0;
            lcx__attn_dot4x4(q0, q1, q2, q3, k0, k1, k2, k3, kt, nf, tm, s + j0, 0);
        }
    }
}
LCX__STATIC void lcx__attn_scores_direct_avx512(const lcx__attn *a, const lcx__attn_scr *sc,
                                                int R, int n, const void *const *krow) {
    if (a->kt == LCX_F32) lcx__attn_sd16_body(a, sc, R, n, krow, LCX_F32);
    else if (a->kt == LCX_F16) lcx__attn_sd16_body(a, sc, R, n, krow, LCX_F16);
    else lcx__attn_sd16_body(a, sc, R, n, krow, LCX_BF16);
}

/* Decode logits of every KV head of the item for one tile: for each block of 4 keys,
   each head in turn, one 4 rows x 4 keys tile of dots per quad of rows (a
   [token][head][dim] cache is read a block of token rows at a time, in address
   order). Rows past R repeat the quad's first row; their logits land in the padding
   rows of the scratch. Beside each block, a block further on is prefetched (see
   the loop): kcur/kspan are this tile's and the next tile's rows as spans (NULL if
   not one), ahead as in lcx__attn_heads16_body. Sections of the scratch: one per
   head, sec_floats apart. */
LCX__ATTN_FI void lcx__attn_sdh16_body(const lcx__attn *a, float *scr, int nk, int R, int n,
                                       const void *const *krow, const void *const *nkrow,
                                       int nn, const char *kcur, const char *kspan,
                                       const int ahead, const int kt, const int dc) {
    const int d = dc ? dc : a->d, dp = (int)lcx__attn_r16((size_t)d), nf = d / 16;
    const __mmask16 tm = (__mmask16)((1u << (d % 16)) - 1u);
    const size_t es = (size_t)(kt == LCX_F32 ? 4 : 2), koff = (size_t)a->khs * es;
    const size_t kbytes = (size_t)d * es, sec = a->sec_floats;
    /* f32 K: its own distance, hint and kick (LCX__ATTN_KAHEAD_F32) */
    const int kah = kt == LCX_F32 ? LCX__ATTN_KAHEAD_F32
                    : kcur            ? LCX__ATTN_KAHEAD
                                      : LCX__ATTN_KAHEAD_ROWS;
    const size_t kick = kt == LCX_F32 ? LCX__ATTN_KICK_F32 : LCX__ATTN_KICK;
    const char *kick_next = kt == LCX_F32 ? kspan : NULL;
    const int kl1 = kt == LCX_F32 && a->kpf_l1; /* K into L1 (LCX__ATTN_KAHEAD_F32) */
    lcx__attn_scr s0;
    size_t qoff, soff;
    int j0, jj, h;
    lcx__attn_scr_layout(a, scr, &s0);
    qoff = (size_t)(s0.qp - scr);
    soff = (size_t)(s0.s - scr);
    for (j0 = 0; j0 < n; j0 += 4) {
        const char *b0 = (const char *)krow[j0];
        const char *b1 = (const char *)(j0 + 1 < n ? krow[j0 + 1] : krow[j0]);
        const char *b2 = (const char *)(j0 + 2 < n ? krow[j0 + 2] : krow[j0]);
        const char *b3 = (const char *)(j0 + 3 < n ? krow[j0 + 3] : krow[j0]);
        if (kcur) {
            /* the page kick: see LCX__ATTN_KICK and LCX__ATTN_KICK_F32 */
            const size_t rowb = (size_t)nk * koff, end = (size_t)n * rowb;
            const size_t off = (size_t)j0 * rowb + kick;
            lcx__attn_kick(kcur, off, end, kick_next, (size_t)nn * rowb);
            lcx__attn_kick(kcur, off + 4096, end, kick_next, (size_t)nn * rowb);
        }
        for (h = 0; h < nk; h++) {
            const float *qsec = scr + (size_t)h * sec + qoff;
            float *ssec = scr + (size_t)h * sec + soff + j0;
            const void *k0 = b0 + (size_t)h * koff, *k1 = b1 + (size_t)h * koff;
            const void *k2 = b2 + (size_t)h * koff, *k3 = b3 + (size_t)h * koff;
            /* Prefetch the block of 4 keys at ja, counting this tile's keys then the
               next tile's: kah keys on (ahead), else one tile on. This step's share of
               it: in address order when those rows form a span, else this head's part
               of each row. */
            const int ja = ahead ? j0 + kah : j0 + n;
            const int in_next = ja >= n, jb = in_next ? ja - n : ja, nb = in_next ? nn : n;
            const void *const *pr = in_next ? nkrow : krow;
            const char *ps = in_next ? kspan : kcur;
            if (jb + 4 <= nb && ps) {
                const char *p0 = ps + ((size_t)jb * (size_t)nk + 4 * (size_t)h) * koff;
                size_t off;
                if (kl1)
                    for (off = 0; off < 4 * koff; off += 64) _mm_prefetch(p0 + off, _MM_HINT_T0);
                else
                    for (off = 0; off < 4 * koff; off += 256) LCX__ATTN_PF4(p0 + off);
            } else if (jb + 4 <= nb && kbytes % 256 == 0) {
                /* straight-line, 4 lines of each of the 4 rows per step (nested
                   loops here cost more than the prefetches) */
                const char *p0 = (const char *)pr[jb] + (size_t)h * koff;
                const char *p1 = (const char *)pr[jb + 1] + (size_t)h * koff;
                const char *p2 = (const char *)pr[jb + 2] + (size_t)h * koff;
                const char *p3 = (const char *)pr[jb + 3] + (size_t)h * koff;
                size_t off;
                for (off = 0; off < kbytes; off += 256) {
                    LCX__ATTN_PF4(p0 + off);
                    LCX__ATTN_PF4(p1 + off);
                    LCX__ATTN_PF4(p2 + off);
                    LCX__ATTN_PF4(p3 + off);
                }
            } else { /* rows of other lengths, or the rows there are (nb % 4) */
                for (jj = jb; jj < jb + 4 && jj < nb; jj++)
                    lcx__attn_pf_bytes((const char *)pr[jj] + (size_t)h * koff, kbytes);
            }
            /* f32 K held in registers from 12 rows up (LCX__ATTN_KEEP_ROWS) */
            if (kt == LCX_F32 && R >= LCX__ATTN_KEEP_ROWS)
                lcx__attn_dot_rows(qsec, dp, R, k0, k1, k2, k3, kt, nf, tm, ssec, 1);
            else lcx__attn_dot_rows(qsec, dp, R, k0, k1, k2, k3, kt, nf, tm, ssec, 0);
        }
    }
}

LCX__STATIC void lcx__attn_scores_multi_avx512(const lcx__attn *a, float *scr, int nk, int R,
                                               int n, const void *const *krow,
                                               const void *const *nkrow, int nn,
                                               const char *kcur, const char *kspan,
                                               int ahead) {
    if (a->kt == LCX_F32) lcx__attn_sdh16_body(a, scr, nk, R, n, krow, nkrow, nn, kcur, kspan, ahead, LCX_F32, 0);
    else if (a->kt == LCX_F16) lcx__attn_sdh16_body(a, scr, nk, R, n, krow, nkrow, nn, kcur, kspan, ahead, LCX_F16, 0);
    else lcx__attn_sdh16_body(a, scr, nk, R, n, krow, nkrow, nn, kcur, kspan, ahead, LCX_BF16, 0);
}

/* One rank-1 step of a 4 x 64 block of 16-lane accumulators acc00..acc33 (row r, column
   vector c: acc##rc): acc[r][c] += s_r * x_c. Shared by the prefill logits (s: q
   elements, x: K^T) and P V (s: probabilities, x: V); the AVX2 kernels' 4 x 24 and 4 x 16
   steps are LCX__ATTN_RANK1_4X3/_4X2. */
#define LCX__ATTN_RANK1_4X4(acc, s0, s1, s2, s3, x0, x1, x2, x3)                            \
    do {                                                                                    \
        __m512 b_ = _mm512_set1_ps(s0);                                                     \
        acc##00 = _mm512_fmadd_ps(b_, x0, acc##00); acc##01 = _mm512_fmadd_ps(b_, x1, acc##01); \
        acc##02 = _mm512_fmadd_ps(b_, x2, acc##02); acc##03 = _mm512_fmadd_ps(b_, x3, acc##03); \
        b_ = _mm512_set1_ps(s1);                                                            \
        acc##10 = _mm512_fmadd_ps(b_, x0, acc##10); acc##11 = _mm512_fmadd_ps(b_, x1, acc##11); \
        acc##12 = _mm512_fmadd_ps(b_, x2, acc##12); acc##13 = _mm512_fmadd_ps(b_, x3, acc##13); \
        b_ = _mm512_set1_ps(s2);                                                            \
        acc##20 = _mm512_fmadd_ps(b_, x0, acc##20); acc##21 = _mm512_fmadd_ps(b_, x1, acc##21); \
        acc##22 = _mm512_fmadd_ps(b_, x2, acc##22); acc##23 = _mm512_fmadd_ps(b_, x3, acc##23); \
        b_ = _mm512_set1_ps(s3);                                                            \
        acc##30 = _mm512_fmadd_ps(b_, x0, acc##30); acc##31 = _mm512_fmadd_ps(b_, x1, acc##31); \
        acc##32 = _mm512_fmadd_ps(b_, x2, acc##32); acc##33 = _mm512_fmadd_ps(b_, x3, acc##33); \
    } while (0)

/* 16x16 transpose in registers: r[k][c] -> r[c][k] (straight-line code) */
LCX__ATTN_FI void lcx__attn_tr16(__m512 *r) {
    __m512 t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15;
    __m512 u0, u1, u2, u3, u4, u5, u6, u7, u8, u9, u10, u11, u12, u13, u14, u15;
    t0 = _mm512_unpacklo_ps(r[0], r[1]); t1 = _mm512_unpackhi_ps(r[0], r[1]);
    t2 = _mm512_unpacklo_ps(r[2], r[3]); t3 = _mm512_unpackhi_ps(r[2], r[3]);
    t4 = _mm512_unpacklo_ps(r[4], r[5]); t5 = _mm512_unpackhi_ps(r[4], r[5]);
    t6 = _mm512_unpacklo_ps(r[6], r[7]); t7 = _mm512_unpackhi_ps(r[6], r[7]);
    t8 = _mm512_unpacklo_ps(r[8], r[9]); t9 = _mm512_unpackhi_ps(r[8], r[9]);
    t10 = _mm512_unpacklo_ps(r[10], r[11]); t11 = _mm512_unpackhi_ps(r[10], r[11]);
    t12 = _mm512_unpacklo_ps(r[12], r[13]); t13 = _mm512_unpackhi_ps(r[12], r[13]);
    t14 = _mm512_unpacklo_ps(r[14], r[15]); t15 = _mm512_unpackhi_ps(r[14], r[15]);
    u0 = _mm512_shuffle_ps(t0, t2, 0x44); u1 = _mm512_shuffle_ps(t0, t2, 0xEE);
    u2 = _mm512_shuffle_ps(t1, t3, 0x44); u3 = _mm512_shuffle_ps(t1, t3, 0xEE);
    u4 = _mm512_shuffle_ps(t4, t6, 0x44); u5 = _mm512_shuffle_ps(t4, t6, 0xEE);
    u6 = _mm512_shuffle_ps(t5, t7, 0x44); u7 = _mm512_shuffle_ps(t5, t7, 0xEE);
    u8 = _mm512_shuffle_ps(t8, t10, 0x44); u9 = _mm512_shuffle_ps(t8, t10, 0xEE);
    u10 = _mm512_shuffle_ps(t9, t11, 0x44); u11 = _mm512_shuffle_ps(t9, t11, 0xEE);
    u12 = _mm512_shuffle_ps(t12, t14, 0x44); u13 = _mm512_shuffle_ps(t12, t14, 0xEE);
    u14 = _mm512_shuffle_ps(t13, t15, 0x44); u15 = _mm512_shuffle_ps(t13, t15, 0xEE);
#define LCX__ATTN_T3(m, um, u4m, u8m, u12m)                                      \
    do {                                                                         \
        __m512 va = _mm512_shuffle_f32x4(um, u4m, _MM_SHUFFLE(2, 0, 2, 0));      \
        __m512 vb = _mm512_shuffle_f32x4(um, u4m, _MM_SHUFFLE(3, 1, 3, 1));      \
        __m512 wa = _mm512_shuffle_f32x4(u8m, u12m, _MM_SHUFFLE(2, 0, 2, 0));    \
        __m512 wb = _mm512_shuffle_f32x4(u8m, u12m, _MM_SHUFFLE(3, 1, 3, 1));    \
        r[m] = _mm512_shuffle_f32x4(va, wa, _MM_SHUFFLE(2, 0, 2, 0));            \
        r[8 + m] = _mm512_shuffle_f32x4(va, wa, _MM_SHUFFLE(3, 1, 3, 1));        \
        r[4 + m] = _mm512_shuffle_f32x4(vb, wb, _MM_SHUFFLE(2, 0, 2, 0));        \
        r[12 + m] = _mm512_shuffle_f32x4(vb, wb, _MM_SHUFFLE(3, 1, 3, 1));       \
    } while (0)
    LCX__ATTN_T3(0, u0, u4, u8, u12);
    LCX__ATTN_T3(1, u1, u5, u9, u13);
    LCX__ATTN_T3(2, u2, u6, u10, u14);
    LCX__ATTN_T3(3, u3, u7, u11, u15);
#undef LCX__ATTN_T3
}

/* K tile -> kt[i][j] (float, i < d, j < TK; columns j >= n are 0) */
LCX__ATTN_FI void lcx__attn_pack_kt_body(const lcx__attn *a, const lcx__attn_scr *sc, int n,
                                         const void *const *krow, const int kt) {
    const int d = a->d;
    int j0, i0, k;
    for (j0 = 0; j0 < LCX__ATTN_TK; j0 += 16) {
        for (i0 = 0; i0 < d; i0 += 16) {
            __m512 r[16];
            int w = d - i0 < 16 ? d - i0 : 16;
            __mmask16 m = (__mmask16)(w == 16 ? 0xFFFFu : (1u << w) - 1u);
            for (k = 0; k < 16; k++)
                r[k] = j0 + k < n ? (w == 16 ? lcx__attn_ld16(krow[j0 + k], kt, i0)
                                             : lcx__attn_ld16m(krow[j0 + k], kt, i0, m))
                                  : _mm512_setzero_ps();
            lcx__attn_tr16(r);
            for (k = 0; k < w; k++) _mm512_storeu_ps(sc->kt + (size_t)(i0 + k) * LCX__ATTN_TK + j0, r[k]);
        }
        if (j0 + 16 >= n) { /* the rest of the columns are zero */
            for (j0 += 16; j0 < LCX__ATTN_TK; j0 += 16)
                for (i0 = 0; i0 < d; i0++)
                    _mm512_storeu_ps(sc->kt + (size_t)i0 * LCX__ATTN_TK + j0, _mm512_setzero_ps());
            break;
        }
    }
}

/* s = x, or s += x where add (a block of a prefill dot after the first) */
LCX__ATTN_FI void lcx__attn_sum_st16(float *s, __m512 x, int add) {
    if (add) x = _mm512_add_ps(x, _mm512_loadu_ps(s));
    _mm512_storeu_ps(s, x);
}

/* Prefill logits: the K tile is transposed once into the scratch and then used by
   every row of the item (all queries x all heads of the group): 4 rows x 64 keys of
   accumulators, one broadcast q element and 4 K^T loads per 16 FMAs. Each dot is summed
   in blocks of LCX__ATTN_DBLK dims, the blocks' sums added in the logits' scratch: one
   sum in order over all d had 2.5-2.8x the error from logits of standard deviation 8 up
   (3.8e-5 of max |v| at 32, above the tests' 2e-5; blocked 1.4e-5: bench/NOTES.md), for
   0.4-2% of speed (Zen 4, causal prefill, calls alternating: f32 n 2048 0.989 and 0.983
   on one thread, 0.993 on two; n 4096 0.996 and 0.981; f16 n 2048 0.988). */
LCX__STATIC void lcx__attn_scores_packed_avx512(const lcx__attn *a, const lcx__attn_scr *sc,
                                                int R, int n, const void *const *krow) {
    const int d = a->d, dp = (int)lcx__attn_r16((size_t)a->d);
    const int nv = (n + 15) / 16;
    int r0, i, i0;
    if (a->kt == LCX_F32) lcx__attn_pack_kt_body(a, sc, n, krow, LCX_F32);
    else if (a->kt == LCX_F16) lcx__attn_pack_kt_body(a, sc, n, krow, LCX_F16);
    else lcx__attn_pack_kt_body(a, sc, n, krow, LCX_BF16);
    for (r0 = 0; r0 < R; r0 += 4) {
        const float *q0 = sc->qp + (size_t)r0 * dp;
        const float *q1 = r0 + 1 < R ? q0 + dp : q0;
        const float *q2 = r0 + 2 < R ? q0 + 2 * dp : q0;
        const float *q3 = r0 + 3 < R ? q0 + 3 * dp : q0;
        const float *kt = sc->kt;
        for (i0 = 0; i0 < d; i0 += LCX__ATTN_DBLK) {
            const int ie = lcx__attn_dblk_end(i0, d);
            float *s = sc->s + (size_t)r0 * LCX__ATTN_TK;
            __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;
            __m512 c10 = c00, c11 = c00, c12 = c00, c13 = c00;
            __m512 c20 = c00, c21 = c00, c22 = c00, c23 = c00;
            __m512 c30 = c00, c31 = c00, c32 = c00, c33 = c00;
            if (nv > 2) {
                for (i = i0; i < ie; i++, kt += LCX__ATTN_TK) {
                    __m512 k0 = _mm512_loadu_ps(kt), k1 = _mm512_loadu_ps(kt + 16);
                    __m512 k2 = _mm512_loadu_ps(kt + 32), k3 = _mm512_loadu_ps(kt + 48);
                    LCX__ATTN_KEEP4(k0, k1, k2, k3);
                    LCX__ATTN_RANK1_4X4(c, q0[i], q1[i], q2[i], q3[i], k0, k1, k2, k3);
                }
            } else {
                for (i = i0; i < ie; i++, kt += LCX__ATTN_TK) {
                    __m512 k0 = _mm512_loadu_ps(kt), k1 = _mm512_loadu_ps(kt + 16);
                    __m512 b = _mm512_set1_ps(q0[i]);
                    c00 = _mm512_fmadd_ps(b, k0, c00); c01 = _mm512_fmadd_ps(b, k1, c01);
                    b = _mm512_set1_ps(q1[i]);
                    c10 = _mm512_fmadd_ps(b, k0, c10); c11 = _mm512_fmadd_ps(b, k1, c11);
                    b = _mm512_set1_ps(q2[i]);
                    c20 = _mm512_fmadd_ps(b, k0, c20); c21 = _mm512_fmadd_ps(b, k1, c21);
                    b = _mm512_set1_ps(q3[i]);
                    c30 = _mm512_fmadd_ps(b, k0, c30); c31 = _mm512_fmadd_ps(b, k1, c31);
                }
            }
            /* the block's sums added to the earlier blocks' (stored), then stored; the
               online step reads nv vectors of each row */
#define LCX__ATTN_ST16(x0, x1, x2, x3)                                                    \
    do {                                                                                  \
        lcx__attn_sum_st16(s, x0, i0);                                                    \
        lcx__attn_sum_st16(s + 16, x1, i0);                                               \
        if (nv > 2) {                                                                     \
            lcx__attn_sum_st16(s + 32, x2, i0);                                           \
            lcx__attn_sum_st16(s + 48, x3, i0);                                           \
        }                                                                                 \
    } while (0)
            LCX__ATTN_ST16(c00, c01, c02, c03);
            s += LCX__ATTN_TK;
            LCX__ATTN_ST16(c10, c11, c12, c13);
            s += LCX__ATTN_TK;
            LCX__ATTN_ST16(c20, c21, c22, c23);
            s += LCX__ATTN_TK;
            LCX__ATTN_ST16(c30, c31, c32, c33);
#undef LCX__ATTN_ST16
        }
    }
}

/* Online softmax over one tile, 16 keys per vector, a quad of rows at a time: the
   quad's logits (scaled, capped, masked, written back) and maxima, then its exps and
   sums. Row after row, each row's chain (maximum, reduction, exps, sum) ran alone; side
   by side, four are in flight together: the decode step from cache (Zen 4, one thread,
   f16, n_kv 1024, calls alternating) 0.4% and 1.8% faster, 10 of 10 rounds each; a
   causal prefill (f32, n 1024, one thread) unchanged; on the 16-core Xeon no change
   beyond its noise (f16 n_kv 131072, both orders: new against old 0.97-1.05). */
LCX__STATIC void lcx__attn_online_avx512(const lcx__attn *a, const lcx__attn_scr *sc, int R,
                                         int n, const int64_t *kpos, int partial) {
    float kf[LCX__ATTN_TK], kx[LCX__ATTN_TK], mq[4];
    const int nv = (n + 15) / 16;
    const __m512 ninf = _mm512_set1_ps(-INFINITY), vscale = _mm512_set1_ps(a->scale);
    __mmask16 valid[4];
    int r, r0, v, kfast = 0;
    if (a->alibi) kfast = lcx__attn_kf(kpos, n, kf);
    for (v = 0; v < 4; v++) {
        int w = n - 16 * v;
        valid[v] = (__mmask16)(w >= 16 ? 0xFFFFu : w <= 0 ? 0u : (1u << w) - 1u);
    }
    for (r0 = 0; r0 < R; r0 += 4) {
        const int re = R - r0 < 4 ? R : r0 + 4;
        /* the quad's logits and their maxima first, then its exps: four independent
           chains next to each other, not one row's whole chain after another's */
        for (r = r0; r < re; r++) {
            float *s = sc->s + (size_t)r * LCX__ATTN_TK;
            __m512 mx = ninf;
            float k0 = 0.0f, m_new;
            const float *kr = kf; /* ALiBi: kp - kref = kr[j] + k0 */
            if (a->alibi) kr = lcx__attn_krow(kpos, n, sc->kref[r], kfast, kf, kx, &k0);
            for (v = 0; v < nv; v++) {
                __mmask16 vis = valid[v];
                __m512 x = _mm512_mul_ps(_mm512_loadu_ps(s + 16 * v), vscale);
                if (a->softcap > 0) x = lcx__attn_softcap16(x, a->softcap);
                if (a->alibi) {
                    __m512 rel = _mm512_add_ps(_mm512_loadu_ps(kr + 16 * v), _mm512_set1_ps(k0));
                    x = _mm512_fmadd_ps(_mm512_set1_ps(sc->slope[r]), rel, x);
                }
                if (partial) {
                    __m512i qp = _mm512_set1_epi64(sc->qpos[r]);
                    __mmask8 lo = _mm512_cmple_epi64_mask(_mm512_loadu_si512((const void *)(kpos + 16 * v)), qp);
                    __mmask8 hi = _mm512_cmple_epi64_mask(_mm512_loadu_si512((const void *)(kpos + 16 * v + 8)), qp);
                    vis = (__mmask16)(vis & ((unsigned)lo | ((unsigned)hi << 8)));
                }
                x = _mm512_mask_mov_ps(ninf, vis, x);
                _mm512_storeu_ps(s + 16 * v, x);
                mx = _mm512_max_ps(mx, x);
            }
            m_new = _mm512_reduce_max_ps(mx);
            mq[r - r0] = sc->m[r] > m_new ? sc->m[r] : m_new;
        }
        for (r = r0; r < re; r++) {
            float *s = sc->s + (size_t)r * LCX__ATTN_TK;
            const float m_old = sc->m[r], m_new = mq[r - r0];
            __m512 sum = _mm512_setzero_ps();
            float al;
            if (m_new == -INFINITY) {
                for (v = 0; v < nv; v++) _mm512_storeu_ps(s + 16 * v, _mm512_setzero_ps());
                sc->alpha[r] = 1.0f;
                continue;
            }
            {
                const __m512 vm = _mm512_set1_ps(m_new);
                for (v = 0; v < nv; v++) {
                    __m512 p = lcx__attn_exp16(_mm512_sub_ps(_mm512_loadu_ps(s + 16 * v), vm));
                    sum = _mm512_add_ps(sum, p);
                    _mm512_storeu_ps(s + 16 * v, p);
                }
            }
            al = m_old == m_new ? 1.0f : lcx__attn_exp_ref(m_old - m_new); /* no call when the max holds */
            sc->alpha[r] = al;
            sc->l[r] = sc->l[r] * al + _mm512_reduce_add_ps(sum);
            sc->m[r] = m_new;
        }
    }
    /* the padding rows of the last quad: probabilities 0, so that P V can run whole
       quads (their outputs land in the scratch's padding rows, never read) */
    for (r = R; r & 3; r++)
        for (v = 0; v < nv; v++) _mm512_storeu_ps(sc->s + (size_t)r * LCX__ATTN_TK + 16 * v, _mm512_setzero_ps());
}

/* O = alpha O + P V: 4 rows x 64 columns of accumulators across the tile's keys,
   each V element loaded and widened once per 4 rows. Whole quads of rows: the padding
   rows of the last quad have probabilities 0 (the online step sets them) and outputs
   in the scratch's padding rows, so the four rows sit at fixed offsets (one base
   register: the loop keeps its pointers in registers). Decode: beside key j, the same
   columns of row nvrow[j] + pf_off (j < nn) are prefetched (the caller says which). */
LCX__ATTN_FI void lcx__attn_pv16_body(const lcx__attn *a, const lcx__attn_scr *sc, int R, int n,
                                      const void *const *vrow, const void *const *nvrow,
                                      size_t pf_off, int nn, const int vt, const int dvc) {
    const int dv = dvc ? dvc : a->dv, dvp = (int)lcx__attn_r16((size_t)dv);
    const size_t es = (size_t)(vt == LCX_F32 ? 4 : 2);
    int r0, c0, j, rr, cc;
    for (r0 = 0; r0 < R; r0 += 4) {
        const int nr = R - r0 < 4 ? R - r0 : 4;
        const int npf = r0 == 0 ? (nn < n ? nn : n) : 0; /* keys with a prefetch */
        const float *p = sc->s + (size_t)r0 * LCX__ATTN_TK; /* row k at p + k * TK */
        float *o0 = sc->o + (size_t)r0 * dvp, *o1 = o0 + dvp, *o2 = o1 + dvp, *o3 = o2 + dvp;
        /* rescale the rows first (keeps the alphas out of the registers below) */
        for (rr = 0; rr < nr; rr++) {
            const __m512 al = _mm512_set1_ps(sc->alpha[r0 + rr]);
            float *orow = o0 + (size_t)rr * dvp;
            if (sc->alpha[r0 + rr] != 1.0f)
                for (cc = 0; cc < dvp; cc += 16)
                    _mm512_storeu_ps(orow + cc, _mm512_mul_ps(al, _mm512_loadu_ps(orow + cc)));
        }
        for (c0 = 0; c0 + 64 <= dv; c0 += 64) {
            const size_t pfo = pf_off + (size_t)c0 * es;
            __m512 x00 = _mm512_loadu_ps(o0 + c0), x01 = _mm512_loadu_ps(o0 + c0 + 16);
            __m512 x02 = _mm512_loadu_ps(o0 + c0 + 32), x03 = _mm512_loadu_ps(o0 + c0 + 48);
            __m512 x10 = _mm512_loadu_ps(o1 + c0), x11 = _mm512_loadu_ps(o1 + c0 + 16);
            __m512 x12 = _mm512_loadu_ps(o1 + c0 + 32), x13 = _mm512_loadu_ps(o1 + c0 + 48);
            __m512 x20 = _mm512_loadu_ps(o2 + c0), x21 = _mm512_loadu_ps(o2 + c0 + 16);
            __m512 x22 = _mm512_loadu_ps(o2 + c0 + 32), x23 = _mm512_loadu_ps(o2 + c0 + 48);
            __m512 x30 = _mm512_loadu_ps(o3 + c0), x31 = _mm512_loadu_ps(o3 + c0 + 16);
            __m512 x32 = _mm512_loadu_ps(o3 + c0 + 32), x33 = _mm512_loadu_ps(o3 + c0 + 48);
#define LCX__ATTN_PV_KEY(j)                                                                 \
    do {                                                                                    \
        const void *vr = vrow[j];                                                           \
        __m512 v0 = lcx__attn_ld16(vr, vt, c0), v1 = lcx__attn_ld16(vr, vt, c0 + 16);     \
        __m512 v2 = lcx__attn_ld16(vr, vt, c0 + 32), v3 = lcx__attn_ld16(vr, vt, c0 + 48); \
        LCX__ATTN_RANK1_4X4(x, p[j], p[(j) + LCX__ATTN_TK], p[(j) + 2 * LCX__ATTN_TK],       \
                            p[(j) + 3 * LCX__ATTN_TK], v0, v1, v2, v3);                     \
    } while (0)
            for (j = 0; j < npf; j++) {
                /* straight-line: a loop here costs more than the prefetches */
                const char *pf = (const char *)nvrow[j] + pfo;
                if (es == 4) {
                    LCX__ATTN_PF4(pf);
                } else {
                    _mm_prefetch(pf, _MM_HINT_T1);
                    _mm_prefetch(pf + 64, _MM_HINT_T1);
                }
                LCX__ATTN_PV_KEY(j);
            }
            for (; j < n; j++) LCX__ATTN_PV_KEY(j);
#undef LCX__ATTN_PV_KEY
            _mm512_storeu_ps(o0 + c0, x00); _mm512_storeu_ps(o0 + c0 + 16, x01);
            _mm512_storeu_ps(o0 + c0 + 32, x02); _mm512_storeu_ps(o0 + c0 + 48, x03);
            _mm512_storeu_ps(o1 + c0, x10); _mm512_storeu_ps(o1 + c0 + 16, x11);
            _mm512_storeu_ps(o1 + c0 + 32, x12); _mm512_storeu_ps(o1 + c0 + 48, x13);
            _mm512_storeu_ps(o2 + c0, x20); _mm512_storeu_ps(o2 + c0 + 16, x21);
            _mm512_storeu_ps(o2 + c0 + 32, x22); _mm512_storeu_ps(o2 + c0 + 48, x23);
            _mm512_storeu_ps(o3 + c0, x30); _mm512_storeu_ps(o3 + c0 + 16, x31);
            _mm512_storeu_ps(o3 + c0 + 32, x32); _mm512_storeu_ps(o3 + c0 + 48, x33);
        }
        for (; c0 < dv; c0 += 16) {
            int w = dv - c0 < 16 ? dv - c0 : 16;
            __mmask16 m = (__mmask16)(w == 16 ? 0xFFFFu : (1u << w) - 1u);
            __m512 x0 = _mm512_loadu_ps(o0 + c0);
            __m512 x1 = _mm512_loadu_ps(o1 + c0);
            __m512 x2 = _mm512_loadu_ps(o2 + c0);
            __m512 x3 = _mm512_loadu_ps(o3 + c0);
            for (j = 0; j < n; j++) {
                __m512 v0 = lcx__attn_ld16m(vrow[j], vt, c0, m);
                if (j < npf) lcx__attn_pf_bytes((const char *)nvrow[j] + pf_off + (size_t)c0 * es, (size_t)w * es);
                x0 = _mm512_fmadd_ps(_mm512_set1_ps(p[j]), v0, x0);
                x1 = _mm512_fmadd_ps(_mm512_set1_ps(p[j + LCX__ATTN_TK]), v0, x1);
                x2 = _mm512_fmadd_ps(_mm512_set1_ps(p[j + 2 * LCX__ATTN_TK]), v0, x2);
                x3 = _mm512_fmadd_ps(_mm512_set1_ps(p[j + 3 * LCX__ATTN_TK]), v0, x3);
            }
            _mm512_storeu_ps(o0 + c0, x0);
            _mm512_storeu_ps(o1 + c0, x1);
            _mm512_storeu_ps(o2 + c0, x2);
            _mm512_storeu_ps(o3 + c0, x3);
        }
    }
}
/* always inlined: as a call, the decode loop measured 7-9% slower at DRAM speed (its
   arguments reloaded from the stack in the loop) */
LCX__ATTN_FI void lcx__attn_pv_avx512(const lcx__attn *a, const lcx__attn_scr *sc, int R, int n,
                                     const void *const *vrow, int vt, const void *const *nvrow,
                                     size_t pf_off, int nn) {
    if (vt == LCX_F32) lcx__attn_pv16_body(a, sc, R, n, vrow, nvrow, pf_off, nn, LCX_F32, 0);
    else if (vt == LCX_F16) lcx__attn_pv16_body(a, sc, R, n, vrow, nvrow, pf_off, nn, LCX_F16, 0);
    else lcx__attn_pv16_body(a, sc, R, n, vrow, nvrow, pf_off, nn, LCX_BF16, 0);
}

/* Decode step over the nk KV heads of an item for one tile (krow/vrow: the rows of
   the first): the logits of every head, then per head the online softmax and P V.
   Rows are prefetched into L2 a few lines per step, shortly before their use:
   - K of a small tile (K and V of 64 keys in at most 256 KiB, K rows of whole 256-byte
     steps), in this tile then the next: when the tile's rows form one span
     (lcx__attn_span), LCX__ATTN_KAHEAD keys ahead in address order, a share per step
     (f16, 8 KV heads, d 128: 4-12% faster than row by row, one thread); else (pages of
     fewer than 64 tokens) LCX__ATTN_KAHEAD_ROWS keys ahead, row by row. f32 K with rows of
     whole 256-byte steps likewise in any tile, one block ahead, into L1 on the Zen 5,
     else L2 (LCX__ATTN_KAHEAD_F32). Other K: one tile ahead, row
     by row (for larger tiles both measured slower: f16 with 16 KV heads or f32 with 8
     by 10-18%, as lines wait longer in L2 and two tiles no longer fit; f32 before its
     own distance and hint).
   - V (lcx__attn_pf_vnext) two heads ahead with a small tile, else one. Against one
     head and K 16 keys ahead, on the 2-core Zen 5, calls alternating in one process
     (n_kv 32768-131072 from memory): f16, 8 KV heads, d 128: 2-12% faster with 2
     threads (9 to 16 of 16 rounds in four comparisons at n_kv 32768, 8 of 8 at
     131072), 8-10% with 1; f32 d 64: 3-7%. With larger tiles two heads ahead was
     slower: f16 d 64 by 10%, f32 d 128 by 2%. Tiles whose K rows are not one span
     (16- and 32-token pages) keep one head and K 16 keys ahead, as before those
     measurements: on the 2-core Zen 4 (calls alternating, f16, n_kv 32768, 2 threads)
     16-token pages +9% (11 of 12 rounds; V alone +7%, K alone +6%, 10 of 10 each), 1
     thread +10% (8 of 8), n_kv 131072 +11%, 32-token pages +10% (8 of 8), d 64 +5%,
     bf16 equal; not measured on the Zen 5.
   - When K's rows form one span and are prefetched as above, each block of 4 keys also
     kicks the K page 16 KiB on (LCX__ATTN_KICK; f32: LCX__ATTN_KICK_F32).
   kt/vt < 0: the view's types, found per call; dc/dvc: head dims known at compile
   time (0: the view's). */
LCX__ATTN_FI void lcx__attn_heads16_body(const lcx__attn *a, float *scr, int nk, int R,
                                         const lcx__attn_tile *t, const void *const *krow,
                                         const void *const *vrow, const int64_t *kpos,
                                         const void *const *nkrow,
                                         const void *const *nvrow, int nn, const int kt,
                                         const int vt, const int dc, const int dvc) {
    const void *vh[LCX__ATTN_TK];
    const size_t kes = (size_t)lcx__attn_esize(a->kt), ves = (size_t)lcx__attn_esize(a->vt);
    const size_t koff = (size_t)a->khs * kes, voff = (size_t)a->vhs * ves;
    const size_t kbytes = (size_t)(dc ? dc : a->d) * kes;
    /* K ahead (and in address order where the rows allow) in a small tile */
    const int ahead = lcx__attn_small_tile(nk, koff, voff, kbytes);
    /* K prefetched as in a small tile: small tiles, and f32 K (LCX__ATTN_KAHEAD_F32) */
    const int kahead = ahead || (kt == LCX_F32 && kbytes % 256 == 0); /* ahead, or f32 K */
    const char *kspan = kahead ? lcx__attn_span(nkrow, nn, nk, kbytes, koff) : NULL;
    const char *kcur = kahead ? lcx__attn_span(krow, t->n, nk, kbytes, koff) : NULL;
    lcx__attn_scr sc;
    int h, j;
    if (kt < 0)
        lcx__attn_scores_multi_avx512(a, scr, nk, R, t->n, krow, nkrow, nn, kcur, kspan, kahead);
    else lcx__attn_sdh16_body(a, scr, nk, R, t->n, krow, nkrow, nn, kcur, kspan, kahead, kt, dc);
    for (h = 0; h < nk; h++) {
        lcx__attn_pf pf;
        lcx__attn_pf_vnext(&pf, h, nk, ahead && kcur ? 2 : 1, vrow, t->n, nvrow, nn, voff);
        lcx__attn_scr_layout(a, scr + (size_t)h * a->sec_floats, &sc);
        lcx__attn_online_avx512(a, &sc, R, t->n, kpos, t->partial);
        for (j = 0; j < t->n; j++) vh[j] = (const char *)vrow[j] + (size_t)h * voff;
        if (vt < 0) lcx__attn_pv_avx512(a, &sc, R, t->n, vh, a->vt, pf.v, pf.vo, pf.vn);
        else lcx__attn_pv16_body(a, &sc, R, t->n, vh, pf.v, pf.vo, pf.vn, vt, dvc);
    }
}

/* The decode step, compiled apart for the common head dims (64, 128; K and V of one
   type): with the dims known the loops unroll whole (the logits loop measured 7%
   faster from cache, the whole step 1.5-3%). A function of its own: the code around
   it (the other levels' paths) then cannot change how these loops are compiled,
   which measured up to 12% at DRAM speed. */
LCX__ATTN_NOINLINE void lcx__attn_heads_avx512(const lcx__attn *a, float *scr, int nk, int R,
                                               const lcx__attn_tile *t,
                                               const void *const *krow,
                                               const void *const *vrow, const int64_t *kpos,
                                               const void *const *nkrow,
                                               const void *const *nvrow, int nn) {
#define LCX__ATTN_HEADS(kt, vt, dc)                                                          \
    lcx__attn_heads16_body(a, scr, nk, R, t, krow, vrow, kpos, nkrow, nvrow, nn, kt, vt, dc, dc)
#define LCX__ATTN_HEADS_DIM(dc)                                                              \
    do {                                                                                     \
        if (a->kt == LCX_F16) LCX__ATTN_HEADS(LCX_F16, LCX_F16, dc);                         \
        else if (a->kt == LCX_BF16) LCX__ATTN_HEADS(LCX_BF16, LCX_BF16, dc);                 \
        else LCX__ATTN_HEADS(LCX_F32, LCX_F32, dc);                                          \
    } while (0)
    if (a->kt == a->vt && a->d == a->dv && a->d == 128) LCX__ATTN_HEADS_DIM(128);
    else if (a->kt == a->vt && a->d == a->dv && a->d == 64) LCX__ATTN_HEADS_DIM(64);
    else LCX__ATTN_HEADS(-1, -1, 0);
#undef LCX__ATTN_HEADS_DIM
#undef LCX__ATTN_HEADS
}
#endif /* LCX__HAVE_AVX512 */

#ifdef LCX__HAVE_AVX2
LCX__ATTN_FI __m256 lcx__attn_exp8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(LCX__ATTN_EXP_LO);
    __m256 ok = _mm256_cmp_ps(x, lo, _CMP_GE_OQ), n, r, p;
    __m256i e;
    x = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(88.3f));
    n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), ok);
}

LCX__ATTN_FI __m256 lcx__attn_ld8(const void *row, int type, int i) {
    if (type == LCX_F32) return _mm256_loadu_ps((const float *)row + i);
    if (type == LCX_F16)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)((const uint16_t *)row + i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(
        _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)((const uint16_t *)row + i))), 16));
}

/* the 4 horizontal sums of a, b, c, d */
LCX__ATTN_FI __m128 lcx__attn_hsum4x8(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* One block of decode logits: rows q0..q3 times keys k0, k1 (type kt), d = head_dim;
   8-wide accumulators, the d % 8 tail in scalar; stored as row r at s + r*TK. */
LCX__ATTN_FI void lcx__attn_dot4x2(const float *q0, const float *q1, const float *q2,
                                   const float *q3, const void *k0, const void *k1,
                                   const int kt, const int d, float *s) {
    const int d8 = d & ~7;
    int i;
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00;
    __m256 a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    __m128 h0, h1;
    float t0[4], t1[4];
    for (i = 0; i < d8; i += 8) {
        __m256 x0 = lcx__attn_ld8(k0, kt, i), x1 = lcx__attn_ld8(k1, kt, i);
        __m256 b0 = _mm256_loadu_ps(q0 + i), b1 = _mm256_loadu_ps(q1 + i);
        __m256 b2 = _mm256_loadu_ps(q2 + i), b3 = _mm256_loadu_ps(q3 + i);
        LCX__ATTN_KEEP2(x0, x1);
        LCX__ATTN_KEEP4(b0, b1, b2, b3);
        a00 = _mm256_fmadd_ps(b0, x0, a00); a01 = _mm256_fmadd_ps(b0, x1, a01);
        a10 = _mm256_fmadd_ps(b1, x0, a10); a11 = _mm256_fmadd_ps(b1, x1, a11);
        a20 = _mm256_fmadd_ps(b2, x0, a20); a21 = _mm256_fmadd_ps(b2, x1, a21);
        a30 = _mm256_fmadd_ps(b3, x0, a30); a31 = _mm256_fmadd_ps(b3, x1, a31);
    }
    h0 = lcx__attn_hsum4x8(a00, a10, a20, a30); /* key 0, rows 0..3 */
    h1 = lcx__attn_hsum4x8(a01, a11, a21, a31); /* key 1 */
    _mm_storeu_ps(t0, h0);
    _mm_storeu_ps(t1, h1);
    for (i = d8; i < d; i++) {
        float e0 = lcx__attn_ld(k0, kt, i), e1 = lcx__attn_ld(k1, kt, i);
        t0[0] += q0[i] * e0; t1[0] += q0[i] * e1;
        t0[1] += q1[i] * e0; t1[1] += q1[i] * e1;
        t0[2] += q2[i] * e0; t1[2] += q2[i] * e1;
        t0[3] += q3[i] * e0; t1[3] += q3[i] * e1;
    }
    s[0] = t0[0]; s[1] = t1[0];
    s[LCX__ATTN_TK] = t0[1]; s[LCX__ATTN_TK + 1] = t1[1];
    s[2 * LCX__ATTN_TK] = t0[2]; s[2 * LCX__ATTN_TK + 1] = t1[2];
    s[3 * LCX__ATTN_TK] = t0[3]; s[3 * LCX__ATTN_TK + 1] = t1[3];
}

/* logits: 4 rows x 2 keys of 8-wide accumulators, d tail (d % 8) in scalar */
LCX__ATTN_FI void lcx__attn_sd8_body(const lcx__attn *a, const lcx__attn_scr *sc, int R, int n,
                                     const void *const *krow, const lcx__attn_pf *pf,
                                     const int kt) {
    const int d = a->d, dp = (int)lcx__attn_r16((size_t)a->d);
    const size_t kbytes = (size_t)d * (size_t)(kt == LCX_F32 ? 4 : 2);
    int r0, j0, i;
    for (r0 = 0; r0 < R; r0 += 4) {
        const float *q0 = sc->qp + (size_t)r0 * dp;
        const float *q1 = r0 + 1 < R ? q0 + dp : q0;
        const float *q2 = r0 + 2 < R ? q0 + 2 * dp : q0;
        const float *q3 = r0 + 3 < R ? q0 + 3 * dp : q0;
        float *s = sc->s + (size_t)r0 * LCX__ATTN_TK;
        for (j0 = 0; j0 < n; j0 += 2) {
            const void *k0 = krow[j0], *k1 = j0 + 1 < n ? krow[j0 + 1] : k0;
            if (pf && r0 == 0) /* the same keys of the next tile */
                for (i = j0; i < j0 + 2 && i < pf->n; i++)
                    lcx__attn_pf_bytes((const char *)pf->k[i] + pf->ko, kbytes);
            lcx__attn_dot4x2(q0, q1, q2, q3, k0, k1, kt, d, s + j0);
        }
    }
}
LCX__STATIC void lcx__attn_scores_direct_avx2(const lcx__attn *a, const lcx__attn_scr *sc,
                                              int R, int n, const void *const *krow,
                                              const lcx__attn_pf *pf) {
    if (a->kt == LCX_F32) lcx__attn_sd8_body(a, sc, R, n, krow, pf, LCX_F32);
    else if (a->kt == LCX_F16) lcx__attn_sd8_body(a, sc, R, n, krow, pf, LCX_F16);
    else lcx__attn_sd8_body(a, sc, R, n, krow, pf, LCX_BF16);
}

/* One rank-1 step of a 4 x 24 (X3) or 4 x 16 (X2) block of 8-lane accumulators
   acc00..acc32 (row r, column vector c: acc##rc): acc[r][c] += s_r * x_c. Shared by the
   prefill logits (s: q elements, x: K^T) and P V (s: probabilities, x: V). */
#define LCX__ATTN_RANK1_4X3(acc, s0, s1, s2, s3, x0, x1, x2)                                \
    do {                                                                                    \
        __m256 b_ = _mm256_set1_ps(s0);                                                     \
        acc##00 = _mm256_fmadd_ps(b_, x0, acc##00); acc##01 = _mm256_fmadd_ps(b_, x1, acc##01); \
        acc##02 = _mm256_fmadd_ps(b_, x2, acc##02);                                         \
        b_ = _mm256_set1_ps(s1);                                                            \
        acc##10 = _mm256_fmadd_ps(b_, x0, acc##10); acc##11 = _mm256_fmadd_ps(b_, x1, acc##11); \
        acc##12 = _mm256_fmadd_ps(b_, x2, acc##12);                                         \
        b_ = _mm256_set1_ps(s2);                                                            \
        acc##20 = _mm256_fmadd_ps(b_, x0, acc##20); acc##21 = _mm256_fmadd_ps(b_, x1, acc##21); \
        acc##22 = _mm256_fmadd_ps(b_, x2, acc##22);                                         \
        b_ = _mm256_set1_ps(s3);                                                            \
        acc##30 = _mm256_fmadd_ps(b_, x0, acc##30); acc##31 = _mm256_fmadd_ps(b_, x1, acc##31); \
        acc##32 = _mm256_fmadd_ps(b_, x2, acc##32);                                         \
    } while (0)
#define LCX__ATTN_RANK1_4X2(acc, s0, s1, s2, s3, x0, x1)                                    \
    do {                                                                                    \
        __m256 b_ = _mm256_set1_ps(s0);                                                     \
        acc##00 = _mm256_fmadd_ps(b_, x0, acc##00); acc##01 = _mm256_fmadd_ps(b_, x1, acc##01); \
        b_ = _mm256_set1_ps(s1);                                                            \
        acc##10 = _mm256_fmadd_ps(b_, x0, acc##10); acc##11 = _mm256_fmadd_ps(b_, x1, acc##11); \
        b_ = _mm256_set1_ps(s2);                                                            \
        acc##20 = _mm256_fmadd_ps(b_, x0, acc##20); acc##21 = _mm256_fmadd_ps(b_, x1, acc##21); \
        b_ = _mm256_set1_ps(s3);                                                            \
        acc##30 = _mm256_fmadd_ps(b_, x0, acc##30); acc##31 = _mm256_fmadd_ps(b_, x1, acc##31); \
    } while (0)

/* 8 x 8 transpose in registers: r[k][c] -> r[c][k] */
LCX__ATTN_FI void lcx__attn_tr8(__m256 *r) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20); r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20); r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20); r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20); r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* K tile -> kt[i][j] (float, i < d, j < n rounded up to 8; columns j >= n repeat key
   n - 1, whose logits the online step masks) */
LCX__ATTN_FI void lcx__attn_pack_kt8_body(const lcx__attn *a, const lcx__attn_scr *sc, int n,
                                          const void *const *krow, const int kt) {
    const int d = a->d, d8 = d & ~7;
    int j0, i0, k;
    for (j0 = 0; j0 < n; j0 += 8) {
        const void *rw[8];
        for (k = 0; k < 8; k++) rw[k] = krow[j0 + k < n ? j0 + k : n - 1];
        for (i0 = 0; i0 < d8; i0 += 8) {
            __m256 r[8];
            for (k = 0; k < 8; k++) r[k] = lcx__attn_ld8(rw[k], kt, i0);
            lcx__attn_tr8(r);
            for (k = 0; k < 8; k++) _mm256_storeu_ps(sc->kt + (size_t)(i0 + k) * LCX__ATTN_TK + j0, r[k]);
        }
        for (i0 = d8; i0 < d; i0++)
            for (k = 0; k < 8; k++) sc->kt[(size_t)i0 * LCX__ATTN_TK + j0 + k] = lcx__attn_ld(rw[k], kt, i0);
    }
}

/* s = x, or s += x where add (as lcx__attn_sum_st16) */
LCX__ATTN_FI void lcx__attn_sum_st8(float *s, __m256 x, int add) {
    if (add) x = _mm256_add_ps(x, _mm256_loadu_ps(s));
    _mm256_storeu_ps(s, x);
}

/* Prefill logits, AVX2 (as lcx__attn_scores_packed_avx512): the K tile transposed once
   into the scratch, then for each block of 24 keys (then 16, then 8) every quad of rows:
   4 rows x 24 keys of accumulators (12, each taking one FMA per dimension, as in
   lcx__attn_pv8_body), one broadcast q element and 3 K^T loads per 12 FMAs. Each dot is
   summed in blocks of LCX__ATTN_DBLK dims, the blocks' sums added in the logits'
   scratch: one sum in order over all d had 2.5-2.8x the error at logits of standard
   deviation 8-32 (the documentation of lcx_attention gives the figures); the
   blocks cost nothing measurable here (Zen 4, -mno-avx512f, causal f32 n 2048: 1.012
   and 0.999 against one sum), blocks of 16 no better. Against the kernel it replaced
   (4 rows x 2 keys of 8-lane dots with horizontal sums, K widened into rows): 8% faster
   on one thread, 13% on two. Rows past R repeat the quad's first row; their logits land in
   the scratch's padding rows. */
LCX__STATIC void lcx__attn_scores_packed_avx2(const lcx__attn *a, const lcx__attn_scr *sc,
                                              int R, int n, const void *const *krow) {
    const int d = a->d, dp = (int)lcx__attn_r16((size_t)a->d), n8 = (n + 7) & ~7;
    int r0, j0, i, i0;
    if (a->kt == LCX_F32) lcx__attn_pack_kt8_body(a, sc, n, krow, LCX_F32);
    else if (a->kt == LCX_F16) lcx__attn_pack_kt8_body(a, sc, n, krow, LCX_F16);
    else lcx__attn_pack_kt8_body(a, sc, n, krow, LCX_BF16);
    for (j0 = 0; j0 < n8;) {
        const int w = n8 - j0 >= 24 ? 24 : n8 - j0;
        for (r0 = 0; r0 < R; r0 += 4) {
            const float *q0 = sc->qp + (size_t)r0 * dp;
            const float *q1 = r0 + 1 < R ? q0 + dp : q0;
            const float *q2 = r0 + 2 < R ? q0 + 2 * dp : q0;
            const float *q3 = r0 + 3 < R ? q0 + 3 * dp : q0;
            const float *kt = sc->kt + j0;
            float *s = sc->s + (size_t)r0 * LCX__ATTN_TK + j0;
            for (i0 = 0; i0 < d; i0 += LCX__ATTN_DBLK) {
                const int ie = lcx__attn_dblk_end(i0, d);
                __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00;
                __m256 c12 = c00, c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
                if (w == 24) {
                    for (i = i0; i < ie; i++, kt += LCX__ATTN_TK) {
                        __m256 k0 = _mm256_loadu_ps(kt), k1 = _mm256_loadu_ps(kt + 8);
                        __m256 k2 = _mm256_loadu_ps(kt + 16);
                        LCX__ATTN_KEEP3(k0, k1, k2);
                        LCX__ATTN_RANK1_4X3(c, q0[i], q1[i], q2[i], q3[i], k0, k1, k2);
                    }
                } else if (w == 16) {
                    for (i = i0; i < ie; i++, kt += LCX__ATTN_TK) {
                        __m256 k0 = _mm256_loadu_ps(kt), k1 = _mm256_loadu_ps(kt + 8);
                        LCX__ATTN_KEEP2(k0, k1);
                        LCX__ATTN_RANK1_4X2(c, q0[i], q1[i], q2[i], q3[i], k0, k1);
                    }
                } else { /* 8 keys: even and odd dimensions apart, two chains per row */
                    for (i = i0; i < ie; i += 2, kt += 2 * LCX__ATTN_TK) {
                        __m256 k0 = _mm256_loadu_ps(kt), k1 = _mm256_loadu_ps(kt + LCX__ATTN_TK);
                        LCX__ATTN_KEEP2(k0, k1);
                        c00 = _mm256_fmadd_ps(_mm256_set1_ps(q0[i]), k0, c00);
                        c01 = _mm256_fmadd_ps(_mm256_set1_ps(q0[i + 1]), k1, c01);
                        c10 = _mm256_fmadd_ps(_mm256_set1_ps(q1[i]), k0, c10);
                        c11 = _mm256_fmadd_ps(_mm256_set1_ps(q1[i + 1]), k1, c11);
                        c20 = _mm256_fmadd_ps(_mm256_set1_ps(q2[i]), k0, c20);
                        c21 = _mm256_fmadd_ps(_mm256_set1_ps(q2[i + 1]), k1, c21);
                        c30 = _mm256_fmadd_ps(_mm256_set1_ps(q3[i]), k0, c30);
                        c31 = _mm256_fmadd_ps(_mm256_set1_ps(q3[i + 1]), k1, c31);
                    }
                    c00 = _mm256_add_ps(c00, c01); c10 = _mm256_add_ps(c10, c11);
                    c20 = _mm256_add_ps(c20, c21); c30 = _mm256_add_ps(c30, c31);
                }
                /* the block's sums added to the earlier blocks' (stored), then stored */
#define LCX__ATTN_ST8(row, x0, x1, x2)                                                \
    do {                                                                              \
        lcx__attn_sum_st8(s + (row) * LCX__ATTN_TK, x0, i0);                          \
        if (w > 8) lcx__attn_sum_st8(s + (row) * LCX__ATTN_TK + 8, x1, i0);           \
        if (w > 16) lcx__attn_sum_st8(s + (row) * LCX__ATTN_TK + 16, x2, i0);         \
    } while (0)
                LCX__ATTN_ST8(0, c00, c01, c02);
                LCX__ATTN_ST8(1, c10, c11, c12);
                LCX__ATTN_ST8(2, c20, c21, c22);
                LCX__ATTN_ST8(3, c30, c31, c32);
#undef LCX__ATTN_ST8
            }
        }
        j0 += w;
    }
}

/* cap * tanh(s / cap), as lcx__attn_softcap16 */
LCX__ATTN_FI __m256 lcx__attn_softcap8(__m256 s, float cap) {
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 y = _mm256_mul_ps(s, _mm256_set1_ps(1.0f / cap));
    __m256 ay = _mm256_andnot_ps(sign, y);
    __m256 t = lcx__attn_exp8(_mm256_mul_ps(ay, _mm256_set1_ps(-2.0f)));
    __m256 th = _mm256_div_ps(_mm256_sub_ps(one, t), _mm256_add_ps(one, t));
    /* small |y|: the odd series, free of the cancellation in 1 - t */
    __m256 y2 = _mm256_mul_ps(y, y);
    __m256 ser = _mm256_fmadd_ps(y2, _mm256_set1_ps(-17.0f / 315.0f), _mm256_set1_ps(2.0f / 15.0f));
    ser = _mm256_fmadd_ps(ser, y2, _mm256_set1_ps(-1.0f / 3.0f));
    ser = _mm256_fmadd_ps(_mm256_mul_ps(ser, y2), ay, ay);
    th = _mm256_blendv_ps(th, ser, _mm256_cmp_ps(ay, _mm256_set1_ps(0.0625f), _CMP_LT_OQ));
    th = _mm256_or_ps(th, _mm256_and_ps(y, sign)); /* the sign of y */
    return _mm256_mul_ps(th, _mm256_set1_ps(cap));
}

/* Lanes of keys kp[0..7] visible from query position qp (kp <= qp), as a float mask. */
LCX__ATTN_FI __m256 lcx__attn_kvis8(const int64_t *kp, int64_t qp) {
    const __m256i q = _mm256_set1_epi64x((long long)qp);
    __m256i lo = _mm256_cmpgt_epi64(_mm256_loadu_si256((const __m256i *)(const void *)kp), q);
    __m256i hi = _mm256_cmpgt_epi64(_mm256_loadu_si256((const __m256i *)(const void *)(kp + 4)), q);
    /* 32-bit halves of the 64-bit results: [lo0 lo1 hi0 hi1 | lo2 lo3 hi2 hi3], then in order */
    __m256 m = _mm256_shuffle_ps(_mm256_castsi256_ps(lo), _mm256_castsi256_ps(hi), _MM_SHUFFLE(2, 0, 2, 0));
    m = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(m), _MM_SHUFFLE(3, 1, 2, 0)));
    return _mm256_xor_ps(m, _mm256_castsi256_ps(_mm256_set1_epi32(-1))); /* kp > qp: hidden */
}

/* Online softmax over one tile, 8 keys per vector, the row's logits in registers (one
   pass over them, as lcx__attn_online_avx512). */
LCX__STATIC void lcx__attn_online_avx2(const lcx__attn *a, const lcx__attn_scr *sc, int R,
                                       int n, const int64_t *kpos, int partial) {
    float kf[LCX__ATTN_TK], kx[LCX__ATTN_TK];
    const int nv = (n + 7) / 8;
    const __m256 ninf = _mm256_set1_ps(-INFINITY), vscale = _mm256_set1_ps(a->scale);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256 valid[LCX__ATTN_TK / 8];
    int r, v, kfast = 0;
    if (a->alibi) kfast = lcx__attn_kf(kpos, n, kf);
    for (v = 0; v < nv; v++)
        valid[v] = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n - 8 * v), lane));
    for (r = 0; r < R; r++) {
        float *s = sc->s + (size_t)r * LCX__ATTN_TK, m_old = sc->m[r], m_new, al, mbuf[8];
        float k0 = 0.0f;
        const float *kr = kf; /* ALiBi: kp - kref = kr[j] + k0 */
        __m256 x[LCX__ATTN_TK / 8], mx = ninf, sum = _mm256_setzero_ps();
        if (a->alibi) kr = lcx__attn_krow(kpos, n, sc->kref[r], kfast, kf, kx, &k0);
        for (v = 0; v < nv; v++) {
            __m256 ok = valid[v];
            x[v] = _mm256_mul_ps(_mm256_loadu_ps(s + 8 * v), vscale);
            if (a->softcap > 0) x[v] = lcx__attn_softcap8(x[v], a->softcap);
            if (a->alibi) {
                __m256 rel = _mm256_add_ps(_mm256_loadu_ps(kr + 8 * v), _mm256_set1_ps(k0));
                x[v] = _mm256_fmadd_ps(_mm256_set1_ps(sc->slope[r]), rel, x[v]);
            }
            if (partial) ok = _mm256_and_ps(ok, lcx__attn_kvis8(kpos + 8 * v, sc->qpos[r]));
            x[v] = _mm256_blendv_ps(ninf, x[v], ok);
            mx = _mm256_max_ps(mx, x[v]);
        }
        mx = _mm256_max_ps(mx, _mm256_permute2f128_ps(mx, mx, 1));
        mx = _mm256_max_ps(mx, _mm256_shuffle_ps(mx, mx, _MM_SHUFFLE(1, 0, 3, 2)));
        mx = _mm256_max_ps(mx, _mm256_shuffle_ps(mx, mx, _MM_SHUFFLE(2, 3, 0, 1)));
        m_new = _mm256_cvtss_f32(mx);
        if (m_old > m_new) m_new = m_old;
        if (m_new == -INFINITY) {
            for (v = 0; v < nv; v++) _mm256_storeu_ps(s + 8 * v, _mm256_setzero_ps());
            sc->alpha[r] = 1.0f;
            continue;
        }
        {
            const __m256 vm = _mm256_set1_ps(m_new);
            for (v = 0; v < nv; v++) {
                __m256 p = lcx__attn_exp8(_mm256_sub_ps(x[v], vm));
                sum = _mm256_add_ps(sum, p);
                _mm256_storeu_ps(s + 8 * v, p);
            }
        }
        _mm256_storeu_ps(mbuf, sum);
        al = m_old == m_new ? 1.0f : lcx__attn_exp_ref(m_old - m_new); /* no call when the max holds */
        sc->alpha[r] = al;
        sc->l[r] = sc->l[r] * al +
                   (((mbuf[0] + mbuf[1]) + (mbuf[2] + mbuf[3])) + ((mbuf[4] + mbuf[5]) + (mbuf[6] + mbuf[7])));
        sc->m[r] = m_new;
    }
}

/* The lines of a V row to prefetch beside the block of bytes [b0, b1): those that start
   in it (at most 2 for blocks of up to 128 bytes), as offsets; -1: none. */
LCX__INLINE void lcx__attn_pf_lines(size_t b0, size_t b1, long *l0, long *l1) {
    size_t lo = (b0 + 63) & ~(size_t)63;
    *l0 = lo < b1 ? (long)lo : -1;
    *l1 = lo + 64 < b1 ? (long)(lo + 64) : -1;
}

/* O = alpha O + P V, 4 rows at a time. The rows are rescaled first; then blocks of 24
   columns (12 accumulators, each taking one FMA per key, so that the FMA latency is
   covered; from L1, 4 rows x 64 keys, f16 11-13% and f32 5% faster than blocks of 16),
   then of 16 and 8, then scalar. Rows past R repeat row r0 (the same values, stored
   again). pf: beside key j of a block, the lines of row pf->v[j] + pf->vo that start
   in the block's columns. */
LCX__ATTN_FI void lcx__attn_pv8_body(const lcx__attn *a, const lcx__attn_scr *sc, int R, int n,
                                     const void *const *vrow, const lcx__attn_pf *pf,
                                     const int vt, const int dvc) {
    const int dv = dvc ? dvc : a->dv, dvp = (int)lcx__attn_r16((size_t)dv);
    const size_t es = (size_t)(vt == LCX_F32 ? 4 : 2);
    int r0, c0, j, k;
    for (r0 = 0; r0 < R; r0 += 4) {
        const int nr = R - r0 < 4 ? R - r0 : 4;
        const int npf = pf && r0 == 0 ? (pf->vn < n ? pf->vn : n) : 0; /* keys with a prefetch */
        const float *p0, *p1, *p2, *p3;
        float *o0, *o1, *o2, *o3;
        long l0, l1;
        for (k = 0; k < nr; k++) {
            const float al = sc->alpha[r0 + k];
            float *orow = sc->o + (size_t)(r0 + k) * dvp;
            if (al != 1.0f)
                for (c0 = 0; c0 < dvp; c0 += 8)
                    _mm256_storeu_ps(orow + c0, _mm256_mul_ps(_mm256_set1_ps(al), _mm256_loadu_ps(orow + c0)));
        }
        p0 = sc->s + (size_t)r0 * LCX__ATTN_TK;
        p1 = nr > 1 ? p0 + LCX__ATTN_TK : p0;
        p2 = nr > 2 ? p0 + 2 * LCX__ATTN_TK : p0;
        p3 = nr > 3 ? p0 + 3 * LCX__ATTN_TK : p0;
        o0 = sc->o + (size_t)r0 * dvp;
        o1 = nr > 1 ? o0 + dvp : o0;
        o2 = nr > 2 ? o0 + 2 * dvp : o0;
        o3 = nr > 3 ? o0 + 3 * dvp : o0;
#define LCX__ATTN_PV8_PF(j)                                                                 \
    do {                                                                                    \
        if ((j) < npf) {                                                                    \
            const char *pr_ = (const char *)pf->v[j] + pf->vo;                              \
            if (l0 >= 0) _mm_prefetch(pr_ + l0, _MM_HINT_T1);                               \
            if (l1 >= 0) _mm_prefetch(pr_ + l1, _MM_HINT_T1);                               \
        }                                                                                   \
    } while (0)
        for (c0 = 0; c0 + 24 <= dv; c0 += 24) {
            __m256 x00 = _mm256_loadu_ps(o0 + c0), x01 = _mm256_loadu_ps(o0 + c0 + 8), x02 = _mm256_loadu_ps(o0 + c0 + 16);
            __m256 x10 = _mm256_loadu_ps(o1 + c0), x11 = _mm256_loadu_ps(o1 + c0 + 8), x12 = _mm256_loadu_ps(o1 + c0 + 16);
            __m256 x20 = _mm256_loadu_ps(o2 + c0), x21 = _mm256_loadu_ps(o2 + c0 + 8), x22 = _mm256_loadu_ps(o2 + c0 + 16);
            __m256 x30 = _mm256_loadu_ps(o3 + c0), x31 = _mm256_loadu_ps(o3 + c0 + 8), x32 = _mm256_loadu_ps(o3 + c0 + 16);
            lcx__attn_pf_lines((size_t)c0 * es, (size_t)(c0 + 24) * es, &l0, &l1);
            for (j = 0; j < n; j++) {
                __m256 v0 = lcx__attn_ld8(vrow[j], vt, c0), v1 = lcx__attn_ld8(vrow[j], vt, c0 + 8);
                __m256 v2 = lcx__attn_ld8(vrow[j], vt, c0 + 16);
                LCX__ATTN_PV8_PF(j);
                LCX__ATTN_RANK1_4X3(x, p0[j], p1[j], p2[j], p3[j], v0, v1, v2);
            }
            _mm256_storeu_ps(o3 + c0, x30); _mm256_storeu_ps(o3 + c0 + 8, x31); _mm256_storeu_ps(o3 + c0 + 16, x32);
            _mm256_storeu_ps(o2 + c0, x20); _mm256_storeu_ps(o2 + c0 + 8, x21); _mm256_storeu_ps(o2 + c0 + 16, x22);
            _mm256_storeu_ps(o1 + c0, x10); _mm256_storeu_ps(o1 + c0 + 8, x11); _mm256_storeu_ps(o1 + c0 + 16, x12);
            _mm256_storeu_ps(o0 + c0, x00); _mm256_storeu_ps(o0 + c0 + 8, x01); _mm256_storeu_ps(o0 + c0 + 16, x02);
        }
        for (; c0 + 16 <= dv; c0 += 16) {
            __m256 x00 = _mm256_loadu_ps(o0 + c0), x01 = _mm256_loadu_ps(o0 + c0 + 8);
            __m256 x10 = _mm256_loadu_ps(o1 + c0), x11 = _mm256_loadu_ps(o1 + c0 + 8);
            __m256 x20 = _mm256_loadu_ps(o2 + c0), x21 = _mm256_loadu_ps(o2 + c0 + 8);
            __m256 x30 = _mm256_loadu_ps(o3 + c0), x31 = _mm256_loadu_ps(o3 + c0 + 8);
            lcx__attn_pf_lines((size_t)c0 * es, (size_t)(c0 + 16) * es, &l0, &l1);
            for (j = 0; j < n; j++) {
                __m256 v0 = lcx__attn_ld8(vrow[j], vt, c0), v1 = lcx__attn_ld8(vrow[j], vt, c0 + 8);
                LCX__ATTN_KEEP2(v0, v1);
                LCX__ATTN_PV8_PF(j);
                LCX__ATTN_RANK1_4X2(x, p0[j], p1[j], p2[j], p3[j], v0, v1);
            }
            _mm256_storeu_ps(o3 + c0, x30); _mm256_storeu_ps(o3 + c0 + 8, x31);
            _mm256_storeu_ps(o2 + c0, x20); _mm256_storeu_ps(o2 + c0 + 8, x21);
            _mm256_storeu_ps(o1 + c0, x10); _mm256_storeu_ps(o1 + c0 + 8, x11);
            _mm256_storeu_ps(o0 + c0, x00); _mm256_storeu_ps(o0 + c0 + 8, x01);
        }
        for (; c0 + 8 <= dv; c0 += 8) { /* even and odd keys apart: two chains per row */
            __m256 x0 = _mm256_loadu_ps(o0 + c0), x1 = _mm256_loadu_ps(o1 + c0);
            __m256 x2 = _mm256_loadu_ps(o2 + c0), x3 = _mm256_loadu_ps(o3 + c0);
            __m256 y0 = _mm256_setzero_ps(), y1 = y0, y2 = y0, y3 = y0;
            lcx__attn_pf_lines((size_t)c0 * es, (size_t)(c0 + 8) * es, &l0, &l1);
            for (j = 0; j < n; j++) {
                __m256 v0 = lcx__attn_ld8(vrow[j], vt, c0);
                LCX__ATTN_PV8_PF(j);
                if (j & 1) {
                    y0 = _mm256_fmadd_ps(_mm256_set1_ps(p0[j]), v0, y0);
                    y1 = _mm256_fmadd_ps(_mm256_set1_ps(p1[j]), v0, y1);
                    y2 = _mm256_fmadd_ps(_mm256_set1_ps(p2[j]), v0, y2);
                    y3 = _mm256_fmadd_ps(_mm256_set1_ps(p3[j]), v0, y3);
                } else {
                    x0 = _mm256_fmadd_ps(_mm256_set1_ps(p0[j]), v0, x0);
                    x1 = _mm256_fmadd_ps(_mm256_set1_ps(p1[j]), v0, x1);
                    x2 = _mm256_fmadd_ps(_mm256_set1_ps(p2[j]), v0, x2);
                    x3 = _mm256_fmadd_ps(_mm256_set1_ps(p3[j]), v0, x3);
                }
            }
            _mm256_storeu_ps(o3 + c0, _mm256_add_ps(x3, y3));
            _mm256_storeu_ps(o2 + c0, _mm256_add_ps(x2, y2));
            _mm256_storeu_ps(o1 + c0, _mm256_add_ps(x1, y1));
            _mm256_storeu_ps(o0 + c0, _mm256_add_ps(x0, y0));
        }
#undef LCX__ATTN_PV8_PF
        if (c0 < dv)
            for (k = 0; k < nr; k++) {
                float *oo = sc->o + (size_t)(r0 + k) * dvp;
                const float *pk = p0 + (size_t)k * LCX__ATTN_TK;
                int i;
                for (j = 0; j < n; j++)
                    for (i = c0; i < dv; i++) oo[i] += pk[j] * lcx__attn_ld(vrow[j], vt, i);
            }
    }
}
LCX__STATIC void lcx__attn_pv_avx2(const lcx__attn *a, const lcx__attn_scr *sc, int R, int n,
                                   const void *const *vrow, int vt, const lcx__attn_pf *pf) {
    if (vt == LCX_F32) lcx__attn_pv8_body(a, sc, R, n, vrow, pf, LCX_F32, 0);
    else if (vt == LCX_F16) lcx__attn_pv8_body(a, sc, R, n, vrow, pf, LCX_F16, 0);
    else lcx__attn_pv8_body(a, sc, R, n, vrow, pf, LCX_BF16, 0);
}
#endif /* LCX__HAVE_AVX2 */
/* Prefill: each item walks its head's keys once per query block; the next tile's
   rows are requested while the current one computes (its loads would otherwise wait
   on L3/DRAM one tile at a time). */
LCX__STATIC void lcx__attn_prefetch_rows(const lcx__attn *a, const void *const *krow,
                                         const void *const *vrow, int n) {
    int kb = a->d * lcx__attn_esize(a->kt), vb = a->dv * lcx__attn_esize(a->vt), j, c;
    for (j = 0; j < n; j++) {
        for (c = 0; c < kb; c += 64) LCX__PREFETCH((const char *)krow[j] + c, 2);
        for (c = 0; c < vb; c += 64) LCX__PREFETCH((const char *)vrow[j] + c, 2);
    }
}

/* ---- level dispatch of the per-tile work -------------------------------------
   One tile step: logits S = Q K^T for the item's rows, the online softmax update,
   then O = alpha O + P V. pf: the next tile's rows to prefetch beside it (decode,
   AVX2; NULL: none). The AVX-512 decode runs every head of a tile at once
   (lcx__attn_step_heads); here AVX-512 is the prefill kernel. pa: the thread's arrays
   (dense rows). Not inlined, so that its frame and the AVX-512 decode's are never on
   the stack together (clang inlined it into lcx__attn_item: 8.3 KiB in all). */
LCX__ATTN_NOINLINE void lcx__attn_step(const lcx__attn *a, int simd, const lcx__attn_scr *sc,
                                       int R, const lcx__attn_tile *t,
                                       const void *const *krow, const void *const *vrow,
                                       const int64_t *kpos, const lcx__attn_pf *pf,
                                       lcx__attn_ptrs *pa) {
    switch (simd) {
#if defined(LCX__HAVE_AVX512)
    case LCX__SIMD_AVX512: { /* the tile is reused by every row: K transposed, V dense */
        lcx__attn_scores_packed_avx512(a, sc, R, t->n, krow);
        lcx__attn_online_avx512(a, sc, R, t->n, kpos, t->partial);
        lcx__attn_dense(simd, vrow, t->n, a->vt, a->dv, lcx__attn_r16((size_t)a->dv), sc->vc,
                        pa->dense_v);
        lcx__attn_pv_avx512(a, sc, R, t->n, pa->dense_v, LCX_F32, NULL, 0, 0);
        return;
    }
#endif
#if defined(LCX__HAVE_AVX2)
    case LCX__SIMD_AVX2:
        if (!pf) { /* prefill: the tile is reused by every row: K transposed, V dense */
            lcx__attn_scores_packed_avx2(a, sc, R, t->n, krow);
            lcx__attn_dense(simd, vrow, t->n, a->vt, a->dv, lcx__attn_r16((size_t)a->dv), sc->vc,
                            pa->dense_v);
            lcx__attn_online_avx2(a, sc, R, t->n, kpos, t->partial);
            lcx__attn_pv_avx2(a, sc, R, t->n, pa->dense_v, LCX_F32, NULL);
            return;
        }
        lcx__attn_scores_direct_avx2(a, sc, R, t->n, krow, pf);
        lcx__attn_online_avx2(a, sc, R, t->n, kpos, t->partial);
        lcx__attn_pv_avx2(a, sc, R, t->n, vrow, a->vt, pf);
        return;
#endif
    default:
        (void)pf;
        (void)pa;
        lcx__attn_scores_ref(a, sc, R, t->n, krow);
        lcx__attn_online_ref(a, sc, R, t->n, kpos, t->partial);
        lcx__attn_pv_ref(a, sc, R, t->n, vrow, a->vt);
        return;
    }
}

#ifdef LCX__HAVE_AVX2
/* Decode logits of every KV head of the item for one tile, AVX2 (as lcx__attn_sdh16_body):
   for each block of 2 keys, each head in turn, a 4 rows x 2 keys block per quad of
   rows; beside it the block LCX__ATTN_KAHEAD keys on is prefetched in address order
   (kcur/kspan: this and the next tile's rows as spans), and each block kicks the K
   page LCX__ATTN_KICK on. */
LCX__ATTN_FI void lcx__attn_sdh8_body(const lcx__attn *a, float *scr, int nk, int R, int n,
                                      const void *const *krow, int nn, const char *kcur,
                                      const char *kspan, const int kt, const int dc) {
    const int d = dc ? dc : a->d, dp = (int)lcx__attn_r16((size_t)d);
    const size_t koff = (size_t)a->khs * (size_t)lcx__attn_esize(kt);
    const size_t sec = a->sec_floats, rowb = (size_t)nk * koff;
    lcx__attn_scr s0;
    size_t qoff, soff;
    int j0, h, r0;
    lcx__attn_scr_layout(a, scr, &s0);
    qoff = (size_t)(s0.qp - scr);
    soff = (size_t)(s0.s - scr);
    for (j0 = 0; j0 < n; j0 += 2) {
        const char *b0 = (const char *)krow[j0];
        const char *b1 = (const char *)(j0 + 1 < n ? krow[j0 + 1] : krow[j0]);
        const int ja = j0 + LCX__ATTN_KAHEAD, in_next = ja >= n, jb = in_next ? ja - n : ja;
        const int nb = in_next ? nn : n;
        const char *ps = in_next ? kspan : kcur;
        lcx__attn_kick(kcur, (size_t)j0 * rowb + LCX__ATTN_KICK, (size_t)n * rowb, NULL, 0);
        for (h = 0; h < nk; h++) {
            const float *qsec = scr + (size_t)h * sec + qoff;
            float *ssec = scr + (size_t)h * sec + soff + j0;
            const void *k0 = b0 + (size_t)h * koff, *k1 = b1 + (size_t)h * koff;
            if (jb + 2 <= nb && ps) {
                const char *p0 = ps + ((size_t)jb * (size_t)nk + 2 * (size_t)h) * koff;
                size_t off;
                for (off = 0; off < 2 * koff; off += 256) LCX__ATTN_PF4(p0 + off);
            }
            for (r0 = 0; r0 < R; r0 += 4) {
                const float *q0 = qsec + (size_t)r0 * dp;
                const float *q1 = r0 + 1 < R ? q0 + dp : q0;
                const float *q2 = r0 + 2 < R ? q0 + 2 * dp : q0;
                const float *q3 = r0 + 3 < R ? q0 + 3 * dp : q0;
                lcx__attn_dot4x2(q0, q1, q2, q3, k0, k1, kt, d, ssec + (size_t)r0 * LCX__ATTN_TK);
            }
        }
    }
}

/* The AVX2 decode step over the nk KV heads of an item for one tile, for f16/bf16 K whose
   rows in the tile form one span, two rows of a head whole 256-byte steps (a small
   tile: K and V of 64 keys in at most 256 KiB): the logits of every head (above), then
   per head the online softmax and P V, V prefetched one head ahead. Against the
   head-by-head step (each head's logits, softmax and P V in turn, K prefetched a tile
   ahead), on the 2-core Zen 4 built with -mno-avx512f, calls alternating (bench/ab, f16
   32/8 heads, d 128): n_kv 32768 2 threads +9%, 1 thread +5%, 131072 +4%, 256-token
   pages +5%, bf16 +7% (every round but one); from cache 5-10% faster. V two heads
   ahead measured 1-4% slower than one here; f32 K gained nothing (0.99) and keeps the
   head-by-head step.
   kt, vt: the key and value types (vt < 0: the view's, found per call); dc, dvc: head
   dims known at compile time (0: the view's). */
LCX__ATTN_FI void lcx__attn_heads8_body(const lcx__attn *a, float *scr, int nk, int R,
                                        const lcx__attn_tile *t, const void *const *krow,
                                        const void *const *vrow, const int64_t *kpos,
                                        const void *const *nvrow, int nn, const char *kcur,
                                        const char *kspan, const int kt, const int vt,
                                        const int dc, const int dvc) {
    const void *vh[LCX__ATTN_TK];
    const size_t voff = (size_t)a->vhs * (size_t)lcx__attn_esize(a->vt);
    lcx__attn_scr sc;
    int h, j;
    lcx__attn_sdh8_body(a, scr, nk, R, t->n, krow, nn, kcur, kspan, kt, dc);
    for (h = 0; h < nk; h++) {
        lcx__attn_pf pf;
        pf.k = NULL; pf.ko = 0; pf.n = 0;
        lcx__attn_pf_vnext(&pf, h, nk, 1, vrow, t->n, nvrow, nn, voff);
        lcx__attn_scr_layout(a, scr + (size_t)h * a->sec_floats, &sc);
        lcx__attn_online_avx2(a, &sc, R, t->n, kpos, t->partial);
        for (j = 0; j < t->n; j++) vh[j] = (const char *)vrow[j] + (size_t)h * voff;
        if (vt < 0) lcx__attn_pv_avx2(a, &sc, R, t->n, vh, a->vt, &pf);
        else lcx__attn_pv8_body(a, &sc, R, t->n, vh, &pf, vt, dvc);
    }
}

/* Compiled apart for head dims 128 and 64 (K and V of one type), as the AVX-512 step
   (lcx__attn_heads_avx512): with the dim known the loops unroll whole. On the 2-core
   Zen 4 built with -mno-avx512f, calls alternating (bench/ab, 32/8 heads, f16 unless
   said) against the dim read from the view, d 128: from cache (n_kv 512, 1 thread) +5%
   (10 of 10 rounds, twice; +4.6% against the old header with 200 bytes of code inserted
   before this step, which alone moved it -3% to +1%), bf16 +1.5%; n_kv 32768 2 threads
   +5% (8 of 8), 1 thread +4%, 131072 +4%, 256-token pages +6%, bf16 +7% (6 of 6 each).
   Head dim 64 (128-byte f16/bf16 rows: this step once took only rows of whole 256-byte
   steps, and d 64 ran head by head) against the head-by-head step: from cache +7% (10
   of 10), n_kv 32768 2 threads +11% (8 of 8), 1 thread +7%, 131072 +10%, 256-token pages
   +12%, bf16 +11%, 4 KV heads +5% (6 of 6 each). The f32 head-by-head step compiled so
   (d 128): +3% from cache, equal from DRAM, and the AVX2 prefill that shares its P V
   0.97: not taken. */
LCX__ATTN_NOINLINE void lcx__attn_heads_avx2(const lcx__attn *a, float *scr, int nk, int R,
                                             const lcx__attn_tile *t, const void *const *krow,
                                             const void *const *vrow, const int64_t *kpos,
                                             const void *const *nvrow, int nn,
                                             const char *kcur, const char *kspan) {
#define LCX__ATTN_HEADS8(kt, vt, dc)                                                         \
    lcx__attn_heads8_body(a, scr, nk, R, t, krow, vrow, kpos, nvrow, nn, kcur, kspan, kt, vt, \
                          dc, dc)
#define LCX__ATTN_HEADS8_DIM(dc)                                                             \
    do {                                                                                     \
        if (a->kt == LCX_F16) LCX__ATTN_HEADS8(LCX_F16, LCX_F16, dc);                        \
        else LCX__ATTN_HEADS8(LCX_BF16, LCX_BF16, dc);                                       \
    } while (0)
    if (a->kt == a->vt && a->d == a->dv && a->d == 128) LCX__ATTN_HEADS8_DIM(128);
    else if (a->kt == a->vt && a->d == a->dv && a->d == 64) LCX__ATTN_HEADS8_DIM(64);
    else if (a->kt == LCX_F16) LCX__ATTN_HEADS8(LCX_F16, -1, 0);
    else LCX__ATTN_HEADS8(LCX_BF16, -1, 0);
#undef LCX__ATTN_HEADS8_DIM
#undef LCX__ATTN_HEADS8
}

#endif /* LCX__HAVE_AVX2 */

/* Decode step over every KV head [kvh0, kvh1) of an item for one tile; krow/vrow are
   the rows of head kvh0 (head h is h - kvh0 head strides further). */
LCX__STATIC void lcx__attn_step_heads(const lcx__attn *a, int simd, float *scr, int kvh0,
                                      int kvh1, int R, const lcx__attn_tile *t,
                                      const void *const *krow, const void *const *vrow,
                                      const int64_t *kpos, const void *const *nkrow,
                                      const void *const *nvrow, int nn, lcx__attn_ptrs *pa) {
    const void **kh = pa->hk, **vh = pa->hv;
    size_t koff = (size_t)a->khs * (size_t)lcx__attn_esize(a->kt);
    size_t voff = (size_t)a->vhs * (size_t)lcx__attn_esize(a->vt);
    lcx__attn_scr sc;
    int h, j;
#ifdef LCX__HAVE_AVX512
    if (simd == LCX__SIMD_AVX512) {
        lcx__attn_heads_avx512(a, scr, kvh1 - kvh0, R, t, krow, vrow, kpos, nkrow, nvrow, nn);
        return;
    }
#endif
#ifdef LCX__HAVE_AVX2
    if (simd == LCX__SIMD_AVX2 && a->kt != LCX_F32) { /* see lcx__attn_heads_avx2 */
        const int nk = kvh1 - kvh0;
        const size_t kbytes = (size_t)a->d * (size_t)lcx__attn_esize(a->kt);
        if (lcx__attn_small_tile(nk, koff, voff, 2 * kbytes)) { /* blocks of 2 keys */
            const char *kcur = lcx__attn_span(krow, t->n, nk, kbytes, koff);
            if (kcur) {
                lcx__attn_heads_avx2(a, scr, nk, R, t, krow, vrow, kpos, nvrow, nn, kcur,
                                     lcx__attn_span(nkrow, nn, nk, kbytes, koff));
                return;
            }
        }
    }
#endif
    for (h = 0; h < kvh1 - kvh0; h++) {
        lcx__attn_pf pf; /* K: this head's rows of the next tile; V: one head ahead */
        pf.k = nkrow;
        pf.ko = (size_t)h * koff;
        pf.n = nn;
        lcx__attn_pf_vnext(&pf, h, kvh1 - kvh0, 1, vrow, t->n, nvrow, nn, voff);
        lcx__attn_scr_layout(a, scr + (size_t)h * a->sec_floats, &sc);
        for (j = 0; j < t->n; j++) {
            kh[j] = (const char *)krow[j] + (size_t)h * koff;
            vh[j] = (const char *)vrow[j] + (size_t)h * voff;
        }
        lcx__attn_step(a, simd, &sc, R, t, kh, vh, kpos, &pf, pa);
    }
}

/* The exp of level simd on one value (tests). */
LCX__STATIC float lcx__attn_exp_level(int simd, float x) {
    switch (simd) {
#if defined(LCX__HAVE_AVX512)
    case LCX__SIMD_AVX512: return _mm512_cvtss_f32(lcx__attn_exp16(_mm512_set1_ps(x)));
#endif
#if defined(LCX__HAVE_AVX2)
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
#if defined(LCX__HAVE_AVX512)
    case LCX__SIMD_AVX512:
        lcx__attn_scores_direct_avx512(a, sc, R, t->n, krow);
        break;
#endif
#if defined(LCX__HAVE_AVX2)
    case LCX__SIMD_AVX2:
        lcx__attn_scores_direct_avx2(a, sc, R, t->n, krow, NULL);
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
            sc->kref[r] = a->alibi ? lcx__attn_kref(a, tq, p, a->alibi[h]) : p;
            sc->m[r] = -INFINITY;
            sc->l[r] = 0.0f;
            sc->alpha[r] = 1.0f;
        }
    }
    /* padding rows of the last quad: P V accumulates zeros into them */
    if (r & 3) memset(sc->o + (size_t)r * dvp, 0, (size_t)(4 - (r & 3)) * dvp * sizeof(float));
    return r;
}

/* dst[i] = f * src[i] for i < n (dst == src allowed; src NULL: zeros), at SIMD level
   simd. Written out rather than left to the compiler: -O2 (GCC 12) keeps such a loop
   scalar when the two arrays might overlap. */
LCX__STATIC void lcx__attn_scale(int simd, float *dst, const float *src, float f, int n) {
    int i = 0;
    if (!src) {
        memset(dst, 0, (size_t)n * sizeof(float));
        return;
    }
    switch (simd) {
#if defined(LCX__HAVE_AVX512)
    case LCX__SIMD_AVX512:
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(dst + i, _mm512_mul_ps(_mm512_set1_ps(f), _mm512_loadu_ps(src + i)));
        break;
#endif
#if defined(LCX__HAVE_AVX2)
    case LCX__SIMD_AVX2:
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(dst + i, _mm256_mul_ps(_mm256_set1_ps(f), _mm256_loadu_ps(src + i)));
        break;
#endif
    default:
        break;
    }
    for (; i < n; i++) dst[i] = f * src[i];
}

/* o[i] = (wa o[i] + wb p[i]) / (wa + wb) * f for i < n (lcx_attention_merge's rows;
   p == o allowed), at SIMD level simd, the same operations in the same order on every
   level (as a plain loop -O2 kept it scalar: 2.8x slower). */
LCX__STATIC void lcx__attn_blend(int simd, float *o, const float *p, float wa, float wb,
                                 float f, int n) {
    const float ws = wa + wb;
    int i = 0;
    switch (simd) {
#if defined(LCX__HAVE_AVX512)
    case LCX__SIMD_AVX512: {
        const __m512 a = _mm512_set1_ps(wa), b = _mm512_set1_ps(wb), w = _mm512_set1_ps(ws);
        const __m512 g = _mm512_set1_ps(f);
        for (; i + 16 <= n; i += 16) {
            __m512 x = _mm512_mul_ps(a, _mm512_loadu_ps(o + i));
            __m512 y = _mm512_mul_ps(b, _mm512_loadu_ps(p + i));
            _mm512_storeu_ps(o + i, _mm512_mul_ps(_mm512_div_ps(_mm512_add_ps(x, y), w), g));
        }
        break;
    }
#endif
#if defined(LCX__HAVE_AVX2)
    case LCX__SIMD_AVX2: {
        const __m256 a = _mm256_set1_ps(wa), b = _mm256_set1_ps(wb), w = _mm256_set1_ps(ws);
        const __m256 g = _mm256_set1_ps(f);
        for (; i + 8 <= n; i += 8) {
            __m256 x = _mm256_mul_ps(a, _mm256_loadu_ps(o + i));
            __m256 y = _mm256_mul_ps(b, _mm256_loadu_ps(p + i));
            _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_div_ps(_mm256_add_ps(x, y), w), g));
        }
        break;
    }
#endif
    default:
        break;
    }
    for (; i < n; i++) o[i] = (wa * o[i] + wb * p[i]) / ws * f;
}

/* Final row: fold the sink in, normalise, write out and lse. m and l are relative to
   the row's ALiBi origin: the logits sit c = lcx__attn_shift below the documented ones
   (0 without ALiBi), so with c != 0 the sink and the row meet in double. kp_lse gets
   the row's lse relative to that origin, lse the documented one. */
LCX__STATIC void lcx__attn_finish_row(const lcx__attn *a, int simd, int h, int64_t tq,
                                      const float *o, float m, float l) {
    float *dst = a->out + tq * a->out_stride + (int64_t)h * a->out_hs, f = 0.0f, ls;
    const double c = lcx__attn_shift(a, h, tq);
    if (c == 0.0) {
        float M = m, tot = 0.0f;
        if (a->sinks && a->sinks[h] > M) M = a->sinks[h];
        if (M == -INFINITY) {
            ls = -INFINITY;
        } else {
            if (m != -INFINITY) tot = l * expf(m - M);
            if (a->sinks && a->sinks[h] != -INFINITY) tot += expf(a->sinks[h] - M);
            if (m != -INFINITY && tot > 0) f = expf(m - M) / tot;
            ls = M + logf(tot);
        }
        if (a->kp_lse) a->kp_lse[tq * a->nh + h] = ls;
    } else {
        const double mr = m == -INFINITY ? -INFINITY : (double)m + c;
        const double sk = a->sinks ? (double)a->sinks[h] : -INFINITY;
        const double M = mr > sk ? mr : sk;
        double tot = 0.0;
        if (M == -INFINITY) {
            ls = -INFINITY;
        } else {
            if (mr != -INFINITY) tot = (double)l * exp(mr - M);
            if (sk != -INFINITY) tot += exp(sk - M);
            if (mr != -INFINITY && tot > 0) f = (float)(exp(mr - M) / tot);
            ls = (float)(M + log(tot));
        }
        if (a->kp_lse)
            a->kp_lse[tq * a->nh + h] = M == -INFINITY ? -INFINITY : (float)(M + log(tot) - c);
    }
    lcx__attn_scale(simd, dst, o, f, a->dv);
    if (a->lse) a->lse[tq * a->nh + h] = ls;
}

/* One work item: KV head kvh, queries [qa, qb), keys [ka, kb). part == NULL: final
   rows to out/lse; else unnormalised (o, m, l) rows of this split. */
LCX__STATIC void lcx__attn_item(const lcx__attn *a, int simd, float *scr, int kvh0, int kvh1,
                                int64_t qa, int64_t qb, int64_t ka, int64_t kb, float *part) {
    lcx__attn_scr sc;
    lcx__attn_ptrs *pa = lcx__attn_ptrs_at(a, scr);
    /* [buffer][K, V][key]: rows of head kvh0 of this tile and of the next one (for the
       prefetch); each tile's rows are found once, as the next tile, then swapped in */
    const void *(*rows)[2][LCX__ATTN_TK] = pa->rows;
    int64_t *kpos = pa->kpos, qmin = 0, qmax = 0, cursor = ka;
    lcx__attn_tile t, tn;
    size_t dvp = lcx__attn_r16((size_t)a->dv);
    int R = 0, r, j, have, have_next, kvh, cb = 0;
    for (kvh = kvh0; kvh < kvh1; kvh++) {
        lcx__attn_scr_layout(a, scr + (size_t)(kvh - kvh0) * a->sec_floats, &sc);
        R = lcx__attn_rows_init(a, &sc, kvh, qa, qb, &qmin, &qmax);
    }
    have = lcx__attn_next_tile(a, &cursor, kb, qmin, qmax, &t);
    if (have) lcx__attn_tile_src(a, kvh0, t.k0, t.n, rows[0][0], rows[0][1]);
    while (have) {
        const void **kx = rows[cb][0], **vx = rows[cb][1];
        const void **nkx = rows[cb ^ 1][0], **nvx = rows[cb ^ 1][1];
        have_next = lcx__attn_next_tile(a, &cursor, kb, qmin, qmax, &tn);
        for (j = 0; j < t.n; j++) kpos[j] = lcx__attn_kpos(a, t.k0 + j);
        if (have_next) lcx__attn_tile_src(a, kvh0, tn.k0, tn.n, nkx, nvx);
        if (a->decode) {
            /* every KV head of this tile before the next tile: a [token][head][dim]
               cache is then read whole, in address order */
            lcx__attn_step_heads(a, simd, scr, kvh0, kvh1, R, &t, kx, vx, kpos, nkx, nvx,
                                 have_next ? tn.n : 0, pa);
        } else {
            lcx__attn_scr_layout(a, scr, &sc);
            /* fetch the next tile into L2 while this one computes */
            if (have_next) lcx__attn_prefetch_rows(a, nkx, nvx, tn.n);
            lcx__attn_step(a, simd, &sc, R, &t, kx, vx, kpos, NULL, pa);
        }
        t = tn;
        have = have_next;
        cb ^= 1;
    }
    for (kvh = kvh0; kvh < kvh1; kvh++) {
        lcx__attn_scr_layout(a, scr + (size_t)(kvh - kvh0) * a->sec_floats, &sc);
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
                lcx__attn_finish_row(a, simd, h, tq, o, sc.m[r], sc.l[r]);
            }
        }
    }
}

/* o[i] += w * p[i] for i < n, at SIMD level simd (the merge of decode splits; as a plain
   loop, which -O2 does not vectorize, 4 splits in place of 1 cost 86-133 us more for 8
   query tokens x 32 heads, d 128, on the 2-core Zen 5; with this 21-49 us). */
LCX__STATIC void lcx__attn_axpy(int simd, float *o, float w, const float *p, int n) {
    int i = 0;
    switch (simd) {
#if defined(LCX__HAVE_AVX512)
    case LCX__SIMD_AVX512:
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(o + i, _mm512_fmadd_ps(_mm512_set1_ps(w), _mm512_loadu_ps(p + i),
                                                    _mm512_loadu_ps(o + i)));
        break;
#endif
#if defined(LCX__HAVE_AVX2)
    case LCX__SIMD_AVX2:
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(o + i, _mm256_fmadd_ps(_mm256_set1_ps(w), _mm256_loadu_ps(p + i),
                                                    _mm256_loadu_ps(o + i)));
        break;
#endif
    default:
        break;
    }
    for (; i < n; i++) o[i] += w * p[i];
}

/* Merge the decode splits (fixed order: bit-identical for a fixed split count). */
LCX__STATIC void lcx__attn_merge_splits(const lcx__attn *a, int simd, const float *part) {
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
                    lcx__attn_axpy(simd, o, w, p, a->dv);
                }
            lcx__attn_finish_row(a, simd, h, tq, o, M, L);
        }
}

/* col[j] += exp(s[j] - ls) for j < n (ls finite; masked logits are -INFINITY and add
   nothing), at the level's exp. */
LCX__STATIC void lcx__attn_kp_row(int simd, const float *s, float ls, int n, float *col) {
    int j = 0;
    switch (simd) {
#if defined(LCX__HAVE_AVX512)
    case LCX__SIMD_AVX512:
        for (; j < n; j += 16) {
            __mmask16 m = (__mmask16)(n - j >= 16 ? 0xFFFFu : (1u << (n - j)) - 1u);
            __m512 x = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + j), _mm512_set1_ps(ls));
            __m512 p = _mm512_maskz_mov_ps(m, lcx__attn_exp16(x));
            _mm512_mask_storeu_ps(col + j, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, col + j), p));
        }
        return;
#endif
#if defined(LCX__HAVE_AVX2)
    case LCX__SIMD_AVX2:
        for (; j + 8 <= n; j += 8) {
            __m256 p = lcx__attn_exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), _mm256_set1_ps(ls)));
            _mm256_storeu_ps(col + j, _mm256_add_ps(_mm256_loadu_ps(col + j), p));
        }
        break;
#endif
    default:
        break;
    }
    for (; j < n; j++)
        if (s[j] != -INFINITY) col[j] += lcx__attn_exp_ref(s[j] - ls);
}

/* key_probs: key j of KV head kvh gets sum over rows of exp(s - lse). Items are
   (kvh, chunk of keys), so no two threads add to the same element. Each row adds
   straight into key_probs, rows in order (query, then head): the order of the sum
   does not depend on how the rows are blocked (a->bq, which follows the thread
   count), so key_probs is bit-identical for any thread count. (A row of a block
   that sees none of a tile adds zeros, which change nothing: the row that sees the
   tile's smallest key position visits it in any blocking and adds to all its keys.) */
#define LCX__ATTN_KP_CHUNK 512
/* key_probs' items: KV heads x chunks of LCX__ATTN_KP_CHUNK keys */
LCX__INLINE int64_t lcx__attn_kp_jobs(const lcx__attn *a) {
    return (int64_t)a->nkv * ((a->n_kv + LCX__ATTN_KP_CHUNK - 1) / LCX__ATTN_KP_CHUNK);
}
LCX__STATIC void lcx__attn_kp_item(const lcx__attn *a, int simd, float *scr, int kvh,
                                   int64_t ka, int64_t kb) {
    lcx__attn_scr sc;
    lcx__attn_ptrs *pa = lcx__attn_ptrs_at(a, scr);
    const void **krow = pa->rows[0][0], **vrow = pa->rows[0][1];
    int64_t *kpos = pa->kpos, qmin, qmax, cursor, qa;
    float *col;
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
            col = a->key_probs + (int64_t)kvh * a->n_kv + t.k0;
            for (r = 0; r < R; r++) {
                int64_t tq = qa + r / a->group;
                int h = kvh * a->group + r % a->group;
                float ls = a->kp_lse[tq * a->nh + h]; /* in the rows' logits' terms */
                if (ls == -INFINITY) continue;
                lcx__attn_kp_row(simd, sc.s + (size_t)r * LCX__ATTN_TK, ls, t.n, col);
            }
        }
    }
}

/* ---- plan ------------------------------------------------------------------- */
/* The plan for nt threads. Prefill items of 256 rows: each K and V tile is then fetched,
   transposed and widened once per 256 rows, not per 64 (f32 causal prefill, n 4096, d 128,
   2 threads: 56-59% -> 71% of the FMA peak; 128 rows 65-69%, 512 no better than 256).
   Smaller items, down to 64 rows, while there would be fewer than 4 per thread. nt is
   the thread count the call asks for, not the one its size gets, so that a workspace
   sized for a long cache also serves a short one. */
LCX__STATIC void lcx__attn_shape(lcx__attn *a, int nt) {
    /* Up to 64 rows per KV head as well (32 with f32 K or V). 2 threads, d 128, calls
       of a few queries (multi-token decode, small prefill chunks) on the 2-core Zen 4,
       GFLOP/s of the decode plan against the prefill plan, AVX-512 (AVX2):
       - f16, 32/8 heads, n_kv 32768: 12 queries 173 / 128 (154 / 122), 16 queries
         174 / 139 (153 / 132); n_kv 4096, 16 queries 166-173 / 144-152 (152-154 /
         138); 1 thread, n_kv 32768, 16 queries 89 / 75.
       - f16, 32/32 heads (MHA), n_kv 16384: 16 queries 166 / 82 (115 / 73), 32
         queries 166 / 114 (127 / 104), 64 queries 149 / 141 (134 / 131).
       - f32, MHA, n_kv 8192: 12 queries 106 / 53 (88 / 52), 32 queries 121 / 97 (98
         / 92); but 32/8 heads (48-64 rows) 130-133 / 125-131 (108 / 118-130), hence
         32 rows for f32.
       Against it: a cache in L2 (n_kv 512-1024), 12-16 queries of 32/8 heads f16:
       3-5% slower (AVX2 12-15%); from n_kv 2048 on, faster. */
    {
        const int64_t rows = a->kt == LCX_F32 || a->vt == LCX_F32 ? LCX__ATTN_DECODE_ROWS / 2
                                                                  : LCX__ATTN_DECODE_ROWS;
        a->decode = a->n_q <= LCX__ATTN_DECODE_Q || (a->n_q <= rows && a->n_q * a->group <= rows);
    }
    if (a->decode) {
        a->bq = a->n_q > 0 ? a->n_q : 1;
    } else {
        int rows = LCX__ATTN_PREFILL_ROWS;
        for (;;) {
            a->bq = rows / a->group;
            if (a->bq < 1) a->bq = 1;
            /* items (n_qb * nkv) >= 4 per thread, in terms that cannot overflow */
            if (rows <= LCX__ATTN_PREFILL_ROWS_MIN ||
                a->n_q / a->bq + (a->n_q % a->bq != 0) >=
                    (4 * (int64_t)nt + a->nkv - 1) / a->nkv)
                break;
            rows /= 2;
        }
    }
    a->rmax = (int)a->bq * a->group;
    a->n_qb = a->n_q / a->bq + (a->n_q % a->bq != 0);
    a->sec_floats = lcx__attn_scr_layout(a, NULL, NULL);
    /* decode items hold every KV head (one pass over the cache's memory) */
    a->scr_floats = a->sec_floats * (size_t)(a->decode ? a->nkv : 1);
    /* 64 KiB between threads' scratches. Each thread writes its rows all the time,
       and two cores writing near each other slow each other down:
       - 2-core Zen 4, f16, n_kv 131072: scratches back to back, 2-thread decode at
         28 GB/s where 37-38 was possible; 4 KiB and 64 KiB apart measured the same.
       - 2-core Zen 5: the slowdown reaches further. Two 1-thread decodes side by side
         from L2, workspaces G apart: 20-22 GB/s per thread at G = 0, 25-27 at 4 KiB,
         28-31 from 64 KiB on (128 KiB and 1 MiB the same). In one process, calls
         alternating with a 4 KiB gap (2 threads): f16 n_kv 4096 (from L3) 8-10%
         faster (15 of 16 and 19 of 20 rounds), n_kv 32768 and 131072 0-2%, f32
         n_kv 32768 1-3%.
       The cost: 60 KiB more workspace per extra thread. The start of each gap holds
       the thread's lcx__attn_ptrs (4.6 KiB; the last thread's follow its scratch). */
    a->scr_stride = a->scr_floats + LCX__ATTN_SCR_GAP;
}

/* The work of n_kv keys of a call, in units that follow its time on one core: per KV
   head and key, (d + dv) times the query rows that share the KV head, rounded up to the
   4 rows of a tile (a row alone costs what 4 do). On the 2-core Zen 5 one core did 45-70
   units per ns for f16 and 30-35 for f32 (decode, n_kv 64-2048, d 64 and 128, GQA
   ratios 1-4). A second thread costs about 4 us to start, join and merge, so a call
   forks from LCX__ATTN_FORK_WORK units on and gives each split at least half that. */
#define LCX__ATTN_FORK_WORK 1.5e6
LCX__INLINE double lcx__attn_work(const lcx__attn *a, int64_t n_kv) {
    double rows = 4.0 * ceil((double)a->n_q * (double)(a->nh / a->nkv) / 4.0);
    return rows * (double)a->nkv * (double)n_kv * (double)(a->d + a->dv);
}

LCX__STATIC int lcx__attn_want_splits(const lcx__attn *a, int nt) {
    int64_t s, maxs;
    double w;
    if (!a->decode) return 1;
    /* splits of at least half the work that pays for a fork (LCX__ATTN_FORK_WORK) and
       of at least 128 keys: each split also copies its queries in and its partial rows
       out (2 threads, 4 or 8 query tokens x 32 heads, d 128: two splits of 32 keys
       measured 0.68-0.80 of one thread's speed, of 64 keys 0.96-1.11) */
    w = lcx__attn_work(a, a->n_kv) / (0.5 * LCX__ATTN_FORK_WORK);
    maxs = w < 64.0 ? (int64_t)w : 64;
    if (maxs > a->n_kv / 128) maxs = a->n_kv / 128;
    if (a->det) s = (a->n_kv + 2047) / 2048;
    else {
        /* 4 per thread (balance when a thread is held up), but no shorter than 2048
           keys while each thread still gets one: a split starts with nothing
           prefetched (n_kv 4096, 2 threads: 2 splits in place of 8 measured 10%
           faster, calls alternating in one process on the 2-core Zen 5) */
        int64_t n2k = (a->n_kv + 2047) / 2048;
        s = 4 * (int64_t)nt;
        if (s > n2k) s = n2k > nt ? n2k : nt;
    }
    if (nt == 1 && !a->det) s = 1;
    if (s > maxs) s = maxs;
    if (s > 64) s = 64;
    return s < 1 ? 1 : (int)s;
}

/* Shapes the call (lcx__attn_shape, for the thread count n_threads resolves to) and
   returns the threads it wants: 1 below LCX__ATTN_FORK_WORK, else that count but no
   more than the call has jobs (prefill items, decode splits, or key_probs' chunks where
   more), since the rest would only idle and each takes a scratch of workspace (a
   64-token prefill with n_threads 1024 asked for 220 MB). The one plan for both
   lcx_attention_workspace_size and lcx_attention, so that they agree. */
LCX__STATIC int lcx__attn_plan(lcx__attn *a, int n_threads) {
    int nt = lcx__resolve_threads(n_threads);
    int64_t jobs;
    lcx__attn_shape(a, nt);
    if (lcx__attn_work(a, a->n_kv) < LCX__ATTN_FORK_WORK) return 1;
    jobs = a->decode ? lcx__attn_want_splits(a, nt) : a->n_qb * (int64_t)a->nkv;
    if (a->key_probs && lcx__attn_kp_jobs(a) > jobs) jobs = lcx__attn_kp_jobs(a);
    return jobs < nt ? (int)jobs : nt;
}

/* *x = lcx__attn_r16(*x) + extra; 0 on overflow. */
LCX__INLINE int lcx__attn_r16_add(size_t *x, size_t extra) {
    if (!lcx__add_size(*x, 15, x)) return 0;
    *x &= ~(size_t)15;
    return lcx__add_size(*x, extra, x);
}

/* Bytes, and the layout the call uses, from the 64-byte aligned start: key_probs' lse
   rows, kq (lcx__attn_kscan), the decode partials, then nt scratches scr_stride
   floats apart, each followed by its lcx__attn_ptrs; plus 64 for alignment. off:
   NULL, or where kq, the partials and the scratches start. 0 on overflow (every sum
   and product checked). */
LCX__STATIC int lcx__attn_bytes(const lcx__attn *a, int nt, int splits, size_t *total,
                                size_t off[3]) {
    size_t scr, part = 0, kp = 0, kq = 0, t;
    if (!lcx__mul_size(a->scr_stride, (size_t)(nt - 1), &scr) ||
        !lcx__add_size(scr, a->scr_floats + LCX__ATTN_PTRS_FLOATS, &scr) ||
        !lcx__mul_size(scr, 4, &scr))
        return 0;
    if (splits > 1 &&
        (!lcx__mul_size((size_t)a->n_q, (size_t)a->nh, &part) ||
         !lcx__mul_size(part, (size_t)(a->dv + 2), &part) ||
         !lcx__mul_size(part, (size_t)splits, &part) || !lcx__mul_size(part, 4, &part) ||
         !lcx__attn_r16_add(&part, 0)))
        return 0;
    if (lcx__attn_wants_kp_lse(a) &&
        (!lcx__mul_size((size_t)a->n_q, (size_t)a->nh, &kp) || !lcx__mul_size(kp, 4, &kp) ||
         !lcx__attn_r16_add(&kp, 64)))
        return 0;
    if (lcx__attn_wants_kq(a) &&
        (!lcx__mul_size((size_t)a->n_q, 8, &kq) || !lcx__attn_r16_add(&kq, 64)))
        return 0;
    t = kp;
    if (off) off[0] = t;
    if (!lcx__add_size(t, kq, &t)) return 0;
    if (off) off[1] = t;
    if (!lcx__add_size(t, part, &t)) return 0;
    if (off) off[2] = t;
    if (!lcx__add_size(t, scr, &t) || !lcx__add_size(t, 64, &t)) return 0;
    *total = t;
    return 1;
}

/* Does the plan (nt threads, splits) fit in avail bytes from the aligned start? */
LCX__STATIC int lcx__attn_fits(const lcx__attn *a, int nt, int splits, size_t avail) {
    size_t need;
    return lcx__attn_bytes(a, nt, splits, &need, NULL) && need - 64 <= avail;
}

/* The most threads, at most nt_max, whose plan with `splits` fits; 0 when not even
   one thread's does. The bytes grow with the thread count, so a binary search: a
   huge n_threads given a small workspace costs 31 steps, not one per thread. */
LCX__STATIC int lcx__attn_fit_threads(const lcx__attn *a, int nt_max, int splits,
                                      size_t avail) {
    int lo = 1, hi = nt_max;
    if (!lcx__attn_fits(a, 1, splits, avail)) return 0;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (lcx__attn_fits(a, mid, splits, avail)) lo = mid;
        else hi = mid - 1;
    }
    return lo;
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
    nt = lcx__attn_plan(&a, desc->n_threads);
    if (!lcx__attn_bytes(&a, nt, lcx__attn_want_splits(&a, nt), &total, NULL))
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
    size_t avail = 0, pad, need, off[3];
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
            for (h = 0; h < a.nh; h++) lcx__attn_finish_row(&a, simd, h, tq, NULL, -INFINITY, 0.0f);
        return LCX_OK;
    }
    nt_want = lcx__attn_plan(&a, desc->n_threads);
    pad = work ? (size_t)((64 - (uintptr_t)work % 64) % 64) : 0;
    if (work && work_bytes > pad) avail = work_bytes - pad;
    base = work ? (char *)work + pad : NULL;
    /* fit the plan into the workspace: fewer splits first, then fewer threads (the
       most that fit: the bytes grow with both) */
    if (a.det) { /* the split count depends on n_kv and work_bytes only */
        for (s = lcx__attn_want_splits(&a, 1); s >= 1; s--)
            if (lcx__attn_fits(&a, 1, s, avail)) break;
        if (s < 1) return LCX_ERR_WORKSPACE;
        nt = lcx__attn_fit_threads(&a, nt_want, s, avail);
    } else { /* the most threads that fit one split, then the most splits */
        nt = lcx__attn_fit_threads(&a, nt_want, 1, avail);
        if (nt < 1) return LCX_ERR_WORKSPACE;
        for (s = lcx__attn_want_splits(&a, nt); s > 1; s--)
            if (lcx__attn_fits(&a, nt, s, avail)) break;
    }
    a.splits = s;
    a.nt = nt;
    if (simd == LCX__SIMD_AVX512 && a.decode && a.kt == LCX_F32 &&
        (double)a.n_kv * a.nkv * a.d * 4.0 >= LCX__ATTN_CPU_ASK_BYTES) { /* LCX__ATTN_KAHEAD_F32 */
        int vendor, family = lcx__cpu_family(&vendor);
        a.kpf_l1 = vendor == LCX__CPU_AMD && family == LCX__ATTN_T0_AMD_FAMILY;
    }
    if (!lcx__attn_bytes(&a, nt, s, &need, off)) return LCX_ERR_WORKSPACE; /* it fits */
    if (lcx__attn_wants_kp_lse(&a)) a.kp_lse = (float *)(void *)base;
    else if (a.key_probs) a.kp_lse = a.lse;
    /* ALiBi origins: see lcx__attn_kref */
    lcx__attn_kscan(&a, lcx__attn_wants_kq(&a) ? (int64_t *)(void *)(base + off[0]) : NULL);
    if (s > 1) part = (float *)(void *)(base + off[1]);
    scr = (float *)(void *)(base + off[2]);
    n_jobs = a.decode ? s : (int64_t)a.nkv * a.n_qb;
    if (nt > n_jobs) nt = (int)n_jobs;
    {
        /* prefill: item = (kvh, query block), the costliest (last) blocks first;
           decode: item = (kvh, split) */
#define LCX__ATTN_RUN_JOB(tid)                                                              \
    do {                                                                                    \
        float *scr_ = scr + (size_t)(tid) * a.scr_stride;                                   \
        if (a.decode) { /* keys n_kv*job/s .., without the product (it may overflow) */     \
            int64_t kq_ = a.n_kv / s, kr_ = a.n_kv % s;                                     \
            int64_t ka_ = kq_ * job + kr_ * job / s;                                        \
            int64_t kb_ = kq_ * (job + 1) + kr_ * (job + 1) / s;                            \
            lcx__attn_item(&a, simd, scr_, 0, a.nkv, 0, a.n_q, ka_, kb_,                    \
                           s > 1 ? part + (size_t)job * (size_t)a.n_q * (size_t)a.nh *      \
                                              (size_t)(a.dv + 2)                            \
                                 : NULL);                                                   \
        } else {                                                                            \
            int kvh_ = (int)(job % a.nkv);                                                  \
            int64_t qb_ = a.n_qb - 1 - job / a.nkv, qa_ = qb_ * a.bq;                       \
            int64_t qe_ = qa_ + a.bq < a.n_q ? qa_ + a.bq : a.n_q;                          \
            lcx__attn_item(&a, simd, scr_, kvh_, kvh_ + 1, qa_, qe_, 0, a.n_kv, NULL);      \
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
    if (s > 1) lcx__attn_merge_splits(&a, simd, part);
    if (a.key_probs) {
        n_jobs = lcx__attn_kp_jobs(&a);
        nt = a.nt < n_jobs ? a.nt : (int)n_jobs;
#define LCX__ATTN_KP_JOB(tid)                                                               \
    lcx__attn_kp_item(&a, simd, scr + (size_t)(tid) * a.scr_stride, (int)(job % a.nkv),     \
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

/* lcx_attention_merge at SIMD level simd (the tests run every level) */
LCX__STATIC lcx_status lcx__attention_merge_impl(int simd, float *out, float *lse,
                                                 int64_t out_stride, const float *part,
                                                 const float *part_lse, int64_t part_stride,
                                                 int64_t n_q, int n_heads, int head_dim,
                                                 const float *sinks) {
    int64_t tq;
    int h;
    if (n_q < 0 || n_heads <= 0 || head_dim <= 0 || (head_dim & 1)) return LCX_ERR_INVALID_ARG;
    if (sinks) /* as lcx_attention: -INFINITY is no sink, NaN and +INFINITY errors */
        for (h = 0; h < n_heads; h++)
            if (sinks[h] != sinks[h] || sinks[h] == INFINITY) return LCX_ERR_INVALID_ARG;
    if (n_q == 0) return LCX_OK;
    if (!out || !lse || !part || !part_lse) return LCX_ERR_INVALID_ARG;
    if (!lcx__attn_rows_ok(n_q, out_stride, n_heads, head_dim, head_dim, 4) ||
        !lcx__attn_rows_ok(n_q, part_stride, n_heads, head_dim, head_dim, 4))
        return LCX_ERR_INVALID_ARG;
    for (tq = 0; tq < n_q; tq++)
        for (h = 0; h < n_heads; h++) {
            float *o = out + tq * out_stride + (int64_t)h * head_dim;
            const float *p = part + tq * part_stride + (int64_t)h * head_dim;
            const float la = lse[tq * n_heads + h], lb = part_lse[tq * n_heads + h];
            const float m = la > lb ? la : lb;
            /* a side with lse -INFINITY has weight 0 and is not read (a zero weight
               times NaN or Inf in its out would not be nothing) */
            const float wa = la == -INFINITY ? 0.0f : la == m ? 1.0f : expf(la - m);
            const float wb = lb == -INFINITY ? 0.0f : lb == m ? 1.0f : expf(lb - m);
            const float lw = m == -INFINITY ? 0.0f : logf(wa + wb);
            float L = m + lw, f = 1.0f;
            if (sinks && sinks[h] != -INFINITY) {
                /* the sink's share: out is scaled by f = e^L / (e^L + e^sk), found from
                   the gap L - sk = (m - sk) + lw (as exp(L - lse') of the rounded lse'
                   it lost 1e-6 of out with |lse| near 40) */
                const float sk = sinks[h], dd = (m - sk) + lw; /* -INFINITY when m is */
                if (dd == -INFINITY) {
                    f = 0.0f;
                    L = sk;
                } else if (dd >= 0.0f) {
                    const float e = expf(-dd);
                    f = 1.0f / (1.0f + e);
                    L += log1pf(e);
                } else {
                    const float e = expf(dd);
                    f = e / (1.0f + e);
                    L = sk + log1pf(e);
                }
            }
            if (m == -INFINITY) memset(o, 0, (size_t)head_dim * sizeof(float));
            else if (wa == 0.0f) lcx__attn_scale(simd, o, p, f, head_dim);
            else if (wb == 0.0f) {
                if (f != 1.0f) lcx__attn_scale(simd, o, o, f, head_dim);
            } else lcx__attn_blend(simd, o, p, wa, wb, f, head_dim);
            lse[tq * n_heads + h] = L;
        }
    return LCX_OK;
}

LCXDEF lcx_status lcx_attention_merge(float *out, float *lse, int64_t out_stride,
                                      const float *part, const float *part_lse,
                                      int64_t part_stride, int64_t n_q, int n_heads,
                                      int head_dim, const float *sinks) {
    return lcx__attention_merge_impl(LCX__SIMD_BEST, out, lse, out_stride, part, part_lse,
                                     part_stride, n_q, n_heads, head_dim, sinks);
}

/* >>attention implementation end */

#ifdef __cplusplus
}
#endif
#ifdef LCX__GCC_DIAG_PUSHED
#  pragma GCC diagnostic pop
#endif
#ifdef LCX__GCC_IEEE_PUSHED
#  pragma GCC pop_options
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
