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
