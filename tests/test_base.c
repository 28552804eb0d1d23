/* tests/test_base.c - section 1 (>>base): status names, version, fp16/bf16. */
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"
#include "runner.h"

static void test_status_strings_are_distinct_and_total(void) {
    CHECK(strcmp(lcx_status_string(LCX_OK), "ok") == 0);
    for (int a = 0; a < (int)LCX__STATUS_COUNT; a++) {
        CHECK(lcx_status_string((lcx_status)a) != NULL);
        for (int b = a + 1; b < (int)LCX__STATUS_COUNT; b++)
            CHECK(strcmp(lcx_status_string((lcx_status)a), lcx_status_string((lcx_status)b)) != 0);
    }
    CHECK(strcmp(lcx_status_string((lcx_status)-1), "unknown status") == 0);
    CHECK(strcmp(lcx_status_string((lcx_status)999), "unknown status") == 0);
}

static void test_version_string_matches_macros(void) {
    char buf[64];
    snprintf(buf, sizeof buf, "%d.%d.%d", LONGCTX_VERSION_MAJOR, LONGCTX_VERSION_MINOR,
             LONGCTX_VERSION_PATCH);
    CHECK(strcmp(buf, lcx_version_string()) == 0);
    CHECK(strlen(lcx_simd_name()) > 0);
}

/* Independent reference: the nearest binary16 value of x as a double, by scaling
   to the grid of its binade and rounding in double (exact for float inputs). */
static double f16_nearest_ref(float xf) {
    double x = fabs((double)xf), q;
    if (x < ldexp(1.0, -14)) {
        q = nearbyint(x * ldexp(1.0, 24)) * ldexp(1.0, -24);
    } else {
        int e;
        frexp(x, &e); /* x = m * 2^e, m in [0.5, 1) */
        double ulp = ldexp(1.0, e - 11);
        q = nearbyint(x / ulp) * ulp;
        if (q >= 65520.0 || x >= 65520.0) q = INFINITY;
    }
    return signbit(xf) ? -q : q;
}

static void test_f16_every_pattern_round_trips(void) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = lcx_f16_to_f32((lcx_f16)h);
        lcx_f16 back = lcx_f32_to_f16(f);
        if (isnan(f)) {
            CHECKF((back & 0x7C00) == 0x7C00 && (back & 0x03FF) && (back & 0x0200) &&
                       ((back ^ h) & 0x8000) == 0,
                   "nan %04x -> %04x", (unsigned)h, (unsigned)back);
        } else {
            CHECKF(back == h, "%04x -> %g -> %04x", (unsigned)h, (double)f, (unsigned)back);
        }
    }
    /* decoding against the definition */
    for (uint32_t h = 0; h < 0x7C00; h++) {
        int e = (int)(h >> 10), m = (int)(h & 0x3FF);
        double v = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp((double)m, -24);
        CHECKF((double)lcx_f16_to_f32((lcx_f16)h) == v, "%04x", (unsigned)h);
        CHECK((double)lcx_f16_to_f32((lcx_f16)(h | 0x8000)) == -v);
    }
    CHECK(isinf(lcx_f16_to_f32(0x7C00)) && lcx_f16_to_f32(0x7C00) > 0);
    CHECK(isinf(lcx_f16_to_f32(0xFC00)) && lcx_f16_to_f32(0xFC00) < 0);
}

static void test_f16_rounds_to_nearest_even(void) {
    lcx_t_rng r = {1};
    for (int i = 0; i < 2000000; i++) {
        uint32_t u = (uint32_t)lcx_t_next(&r);
        /* bias toward the f16 range so most samples are interesting */
        if (i & 1) u = (u & 0x807FFFFFu) | ((uint32_t)lcx_t_int(&r, 100, 145) << 23);
        float x;
        memcpy(&x, &u, 4);
        if (isnan(x)) continue;
        double want = f16_nearest_ref(x);
        double got = (double)lcx_f16_to_f32(lcx_f32_to_f16(x));
        CHECKF(want == got || (isinf(want) && isinf(got) && (want > 0) == (got > 0)),
               "x=%a want %a got %a", (double)x, want, got);
    }
    /* ties: exactly halfway between two f16 values goes to the even one */
    CHECK(lcx_f32_to_f16(1.0f + 1.0f / 2048) == 0x3C00);          /* tie, down to even */
    CHECK(lcx_f32_to_f16(1.0f + 3.0f / 2048) == 0x3C02);          /* tie, up to even */
    CHECK(lcx_f32_to_f16(65504.0f) == 0x7BFF);
    CHECK(lcx_f32_to_f16(65519.99f) == 0x7BFF);
    CHECK(lcx_f32_to_f16(65520.0f) == 0x7C00);                    /* tie at max rounds to Inf */
    CHECK(lcx_f32_to_f16(-1e30f) == 0xFC00);
    CHECK(lcx_f32_to_f16(ldexpf(1.0f, -24)) == 0x0001);           /* smallest subnormal */
    CHECK(lcx_f32_to_f16(ldexpf(1.0f, -25)) == 0x0000);           /* tie to even: 0 */
    CHECK(lcx_f32_to_f16(ldexpf(1.5f, -25)) == 0x0001);
    CHECK(lcx_f32_to_f16(-0.0f) == 0x8000);
    CHECK(lcx_f32_to_f16(1e-30f) == 0x0000);
    CHECK(lcx_f32_to_f16(INFINITY) == 0x7C00);
    CHECK(lcx_f32_to_f16(NAN) != 0x7C00 && (lcx_f32_to_f16(NAN) & 0x7C00) == 0x7C00);
}

static void test_bf16_rounds_to_nearest_even(void) {
    lcx_t_rng r = {2};
    for (int i = 0; i < 2000000; i++) {
        uint32_t u = (uint32_t)lcx_t_next(&r);
        float x;
        memcpy(&x, &u, 4);
        lcx_bf16 b = lcx_f32_to_bf16(x);
        float back = lcx_bf16_to_f32(b);
        if (isnan(x)) {
            CHECK(isnan(back) && (b & 0x0040) && ((b >> 15) == (u >> 31)));
            continue;
        }
        /* reference: the two bf16 neighbours of x, the truncation lo and the next one
           away from zero hi (as the value 2^128 when that is Inf, which is where IEEE
           rounding puts the overflow threshold); pick the nearer, ties to even */
        uint32_t lo = u & 0xFFFF0000u, hi = lo + 0x10000u;
        float flo;
        memcpy(&flo, &lo, 4);
        double vlo = fabs((double)flo), vhi;
        if ((hi & 0x7FFFFFFFu) == 0x7F800000u) {
            vhi = ldexp(1.0, 128);
        } else {
            float fhi;
            memcpy(&fhi, &hi, 4);
            vhi = fabs((double)fhi);
        }
        double ax = fabs((double)x), dlo = ax - vlo, dhi = vhi - ax;
        uint32_t want = (dlo < dhi || (dlo == dhi && !((lo >> 16) & 1))) ? lo : hi;
        if (isinf(x)) want = u;
        CHECKF((uint32_t)b << 16 == want, "x=%a b=%04x want %08x", (double)x, (unsigned)b,
               (unsigned)want);
    }
    CHECK(lcx_f32_to_bf16(1.0f) == 0x3F80);
    CHECK(lcx_bf16_to_f32(0x3F80) == 1.0f);
    CHECK(lcx_f32_to_bf16(INFINITY) == 0x7F80);
    CHECK(lcx_f32_to_bf16(-INFINITY) == 0xFF80);
    CHECK(lcx_f32_to_bf16(FLT_MAX) == 0x7F80); /* max float rounds up to Inf in bf16 */
    CHECK(lcx_f32_to_bf16(ldexpf(1.0f, -140)) == (lcx_bf16)(lcx__f32_bits(ldexpf(1.0f, -140)) >> 16));
}

/* Every compiled SIMD path gives the scalar bits, on special values and tails. */
static void test_rows_match_scalar_on_every_simd_path(void) {
    enum { N = 4099 };
    static float src[N], got32[N];
    static lcx_f16 h[N], href[N];
    lcx_t_rng r = {3};
    for (int i = 0; i < N; i++) {
        uint32_t u = (uint32_t)lcx_t_next(&r);
        if (i % 3 == 0) u = (u & 0x807FFFFFu) | ((uint32_t)lcx_t_int(&r, 95, 145) << 23);
        memcpy(&src[i], &u, 4);
    }
    src[0] = NAN; src[1] = -NAN; src[2] = INFINITY; src[3] = -INFINITY; src[4] = 0.0f;
    src[5] = -0.0f; src[6] = 65520.0f; src[7] = ldexpf(1.0f, -25); src[8] = ldexpf(3.0f, -26);
    for (int simd = 0; simd < LCX__SIMD_COUNT; simd++) {
        if (!lcx__simd_compiled(simd)) continue;
        for (int n = 0; n <= 40; n++) { /* every tail length, then a long row */
            int len = n == 40 ? N : n;
            lcx__f32_to_f16_row_ref(src, href, len);
            memset(h, 0xAB, sizeof h);
            lcx__f32_to_f16_row_simd(simd, src, h, len);
            CHECKF(memcmp(h, href, (size_t)len * 2) == 0, "f32->f16 %s len %d",
                   lcx__simd_level_name(simd), len);
            CHECK(len == N || h[len] == 0xABAB); /* writes nothing past n */
            lcx__f16_to_f32_row_simd(simd, href, got32, len);
            for (int i = 0; i < len; i++) {
                float w = lcx_f16_to_f32(href[i]);
                CHECKF(memcmp(&w, &got32[i], 4) == 0, "f16->f32 %s i %d", lcx__simd_level_name(simd), i);
            }
            lcx__f32_to_bf16_row_ref(src, href, len);
            lcx__f32_to_bf16_row_simd(simd, src, h, len);
            CHECKF(memcmp(h, href, (size_t)len * 2) == 0, "f32->bf16 %s len %d",
                   lcx__simd_level_name(simd), len);
            lcx__bf16_to_f32_row_simd(simd, href, got32, len);
            for (int i = 0; i < len; i++) {
                float w = lcx_bf16_to_f32(href[i]);
                CHECK(memcmp(&w, &got32[i], 4) == 0);
            }
        }
    }
    /* the public rows use the best path and ignore NULL / n <= 0 */
    lcx_f32_to_f16_row(src, h, N);
    lcx__f32_to_f16_row_ref(src, href, N);
    CHECK(memcmp(h, href, sizeof h) == 0);
    lcx_f32_to_f16_row(NULL, h, 5);
    lcx_f16_to_f32_row(h, got32, -1);
}

/* Every f16 and bf16 bit pattern through the rows, cut into pieces of many lengths
   and started at several offsets, so each pattern goes through every SIMD body
   (16-wide, 8-wide) and through the scalar tail: the float bits must be the scalar
   form's. (The test above feeds the f16 -> f32 rows only what f32 -> f16 produced,
   which never includes a signalling NaN; this one found the scalar form leaving an
   f16 signalling NaN signalling while vcvtph2ps quiets it.) */
static void test_half_rows_every_pattern_match_scalar(void) {
    enum { NP = 65536, PAD = 16 };
    static lcx_f16 src[NP + PAD];
    static float want_h[NP + PAD], want_b[NP + PAD], got[NP + PAD];
    static const int pieces[] = {1, 3, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 100, NP};
    static const int offs[] = {0, 1, 5, 8, 13};
    for (int i = 0; i < NP + PAD; i++) {
        src[i] = (lcx_f16)(i & 0xFFFF);
        want_h[i] = lcx_f16_to_f32(src[i]);
        want_b[i] = lcx_bf16_to_f32(src[i]);
    }
    /* the scalar forms themselves: f16 NaN quiet with sign and payload, bf16 bit for bit */
    {
        int bad_nan = 0, bad_wide = 0;
        for (uint32_t h = 0; h < NP; h++) {
            uint32_t uh = lcx__f32_bits(want_h[h]), ub = lcx__f32_bits(want_b[h]);
            if (ub != h << 16) bad_wide++;
            if ((h & 0x7C00) == 0x7C00 && (h & 0x03FF) &&
                uh != (((h & 0x8000u) << 16) | 0x7FC00000u | ((h & 0x03FFu) << 13)))
                bad_nan++;
        }
        CHECKF(bad_nan == 0, "%d f16 NaNs not quiet with sign and payload kept, e.g. "
               "7c01 -> %08x", bad_nan, (unsigned)lcx__f32_bits(want_h[0x7C01]));
        CHECKF(bad_wide == 0, "%d bf16 patterns not widened bit for bit", bad_wide);
    }
    for (int simd = 0; simd < LCX__SIMD_COUNT; simd++) {
        if (!lcx__simd_compiled(simd)) continue;
        for (int oi = 0; oi < (int)(sizeof offs / sizeof offs[0]); oi++) {
            for (int pi = 0; pi < (int)(sizeof pieces / sizeof pieces[0]); pi++) {
                const int o = offs[oi], len = pieces[pi];
                int bad_h = 0, bad_b = 0, first_h = -1, first_b = -1;
                for (int i = o; i < NP + o; i += len) {
                    const int m = i + len <= NP + o ? len : NP + o - i;
                    lcx__f16_to_f32_row_simd(simd, src + i, got + i, m);
                }
                for (int i = o; i < NP + o; i++)
                    if (memcmp(&got[i], &want_h[i], 4) != 0 && !bad_h++) first_h = i;
                CHECKF(bad_h == 0, "f16 %s offset %d pieces %d: %d differ, first %04x -> %08x, "
                       "scalar %08x", lcx__simd_level_name(simd), o, len, bad_h,
                       first_h < 0 ? 0u : (unsigned)src[first_h],
                       first_h < 0 ? 0u : (unsigned)lcx__f32_bits(got[first_h]),
                       first_h < 0 ? 0u : (unsigned)lcx__f32_bits(want_h[first_h]));
                for (int i = o; i < NP + o; i += len) {
                    const int m = i + len <= NP + o ? len : NP + o - i;
                    lcx__bf16_to_f32_row_simd(simd, src + i, got + i, m);
                }
                for (int i = o; i < NP + o; i++)
                    if (memcmp(&got[i], &want_b[i], 4) != 0 && !bad_b++) first_b = i;
                CHECKF(bad_b == 0, "bf16 %s offset %d pieces %d: %d differ, first %04x",
                       lcx__simd_level_name(simd), o, len, bad_b,
                       first_b < 0 ? 0u : (unsigned)src[first_b]);
            }
        }
    }
    /* the public rows (best path), and NULL src or dst with n > 0: nothing written */
    memset(got, 0xAB, sizeof got);
    lcx_f16_to_f32_row(src, got, NP);
    CHECK(memcmp(got, want_h, (size_t)NP * 4) == 0);
    lcx_bf16_to_f32_row(src, got, NP);
    CHECK(memcmp(got, want_b, (size_t)NP * 4) == 0);
    memset(got, 0xAB, sizeof got);
    lcx_f16_to_f32_row(NULL, got, 5);
    lcx_bf16_to_f32_row(NULL, got, 5);
    lcx_f16_to_f32_row(src, NULL, 5);
    lcx_bf16_to_f32_row(src, NULL, 5);
    CHECK(lcx__f32_bits(got[0]) == 0xABABABABu && lcx__f32_bits(got[4]) == 0xABABABABu);
}

/* The value of the first "<key>\t: value" line of /proc/cpuinfo into buf ("" when
   absent). */
static void cpuinfo_field(const char *key, char *buf, int n) {
    char line[256];
    size_t k = strlen(key);
    FILE *f = fopen("/proc/cpuinfo", "r");
    buf[0] = 0;
    if (!f) return;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, k) && (line[k] == '\t' || line[k] == ' ' || line[k] == ':')) {
            const char *v = strchr(line, ':');
            if (v) {
                v += strspn(v + 1, " \t") + 1;
                snprintf(buf, (size_t)n, "%.*s", (int)strcspn(v, "\r\n"), v);
            }
            break;
        }
    fclose(f);
}
/* The processor's vendor and family from CPUID (they pick a prefetch hint in the f32
   decode) against what Linux reports in /proc/cpuinfo, where both are there; 0 and 0
   with LONGCTX_NO_CPUID. */
static void test_cpu_family(void) {
    int vendor = -1, family = lcx__cpu_family(&vendor);
    char sys_vendor[64], sys_family[32];
    cpuinfo_field("vendor_id", sys_vendor, sizeof sys_vendor);
    cpuinfo_field("cpu family", sys_family, sizeof sys_family);
    CHECKF(family >= 0 && family < 512, "family %d", family);
    CHECK(vendor == 0 || vendor == LCX__CPU_AMD || vendor == LCX__CPU_INTEL);
#if defined(LONGCTX_NO_CPUID) /* tests/run.sh builds this file once with it */
    CHECKF(family == 0 && vendor == 0, "CPUID ran with LONGCTX_NO_CPUID (family %d)", family);
#elif defined(LCX__HAVE_CPUID)
    CHECKF(family > 0, "CPUID gave no family");
    if (sys_family[0]) CHECKF(family == atoi(sys_family), "CPUID family %d, /proc/cpuinfo %s", family, sys_family);
    if (sys_vendor[0])
        CHECKF(vendor == (!strcmp(sys_vendor, "AuthenticAMD") ? LCX__CPU_AMD
                          : !strcmp(sys_vendor, "GenuineIntel") ? LCX__CPU_INTEL : 0),
               "CPUID vendor %d, /proc/cpuinfo %s", vendor, sys_vendor);
#else
    CHECK(family == 0 && vendor == 0);
#endif
}

int main(void) {
    printf("test_base: simd %s\n", lcx_simd_name());
    RUN(test_status_strings_are_distinct_and_total);
    RUN(test_version_string_matches_macros);
    RUN(test_f16_every_pattern_round_trips);
    RUN(test_f16_rounds_to_nearest_even);
    RUN(test_bf16_rounds_to_nearest_even);
    RUN(test_rows_match_scalar_on_every_simd_path);
    RUN(test_half_rows_every_pattern_match_scalar);
    RUN(test_cpu_family);
    return lcx_test_summary();
}
