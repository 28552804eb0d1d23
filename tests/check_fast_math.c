/* tests/check_fast_math.c - the implementation built with -Ofast (tests/run.sh compiles
   a file that defines LONGCTX_IMPLEMENTATION with -Ofast and links it to this one, built
   with plain -O2): the answers must be those of an IEEE build. Before the header kept its
   implementation out of fast-math (gcc) or refused it (other compilers), this failed 8
   checks with gcc 12 (NaN and Inf parameters of the attention, the merge and RoPE
   accepted) and 7 with clang 14 (also two empty partials merged into NaN). Reports as
   the test programs do (tests/runner.h); exits non-zero on any failure. */
#include "longctx.h"
#include "runner.h"

static int is_minus_inf(float x) { return isinf(x) && x < 0; }

static void merge_cases(void) {
    float out[4] = {NAN, NAN, 1, 2}, lse[2] = {-INFINITY, 0.5f};
    float part[4] = {3, 4, NAN, NAN}, pl[2] = {1.0f, -INFINITY};
    float o2[2] = {NAN, NAN}, l2[1] = {-INFINITY}, p2[2] = {NAN, NAN}, pl2[1] = {-INFINITY};
    float o3[2] = {1, 2}, l3[1] = {0.0f}, p3[2] = {0, 0}, pl3[1] = {-INFINITY};
    const float sink[1] = {0.0f}, nan_sink[1] = {NAN}, inf_sink[1] = {INFINITY};
    lcx_status st;
    /* one side empty (-INFINITY, its out not read): the other side whole */
    st = lcx_attention_merge(out, lse, 2, part, pl, 2, 2, 1, 2, NULL);
    CHECKF(st == LCX_OK && out[0] == 3 && out[1] == 4 && lse[0] == 1.0f && out[2] == 1 &&
               out[3] == 2 && lse[1] == 0.5f,
           "merge, one side empty: %g %g %g | %g %g %g", (double)out[0], (double)out[1],
           (double)lse[0], (double)out[2], (double)out[3], (double)lse[1]);
    /* both empty: out 0, lse -INFINITY */
    st = lcx_attention_merge(o2, l2, 2, p2, pl2, 2, 1, 1, 2, NULL);
    CHECKF(st == LCX_OK && o2[0] == 0 && o2[1] == 0 && is_minus_inf(l2[0]),
           "merge, both empty: %g %g %g", (double)o2[0], (double)o2[1], (double)l2[0]);
    /* a sink of logit 0 beside lse 0 halves the output */
    st = lcx_attention_merge(o3, l3, 2, p3, pl3, 2, 1, 1, 2, sink);
    CHECKF(st == LCX_OK && fabsf(o3[0] - 0.5f) < 1e-6f && fabsf(o3[1] - 1.0f) < 1e-6f &&
               fabsf(l3[0] - logf(2.0f)) < 1e-6f,
           "merge with a sink: %g %g %g", (double)o3[0], (double)o3[1], (double)l3[0]);
    CHECKF(lcx_attention_merge(o3, l3, 2, p3, pl3, 2, 1, 1, 2, nan_sink) == LCX_ERR_INVALID_ARG,
           "merge: NaN sink accepted");
    CHECKF(lcx_attention_merge(o3, l3, 2, p3, pl3, 2, 1, 1, 2, inf_sink) == LCX_ERR_INVALID_ARG,
           "merge: +INFINITY sink accepted");
}

/* softmax attention in double over n keys of one head (d = 2) for one query */
static void ref_row(const float *q, const float *k, const float *v, int n, double scale,
                    double cap, double slope, const int64_t *kp, int64_t qp, double sink,
                    double *o) {
    double m = sink, s[8], l = 0;
    int j;
    for (j = 0; j < n; j++) {
        double x = scale * ((double)q[0] * k[2 * j] + (double)q[1] * k[2 * j + 1]);
        if (cap > 0) x = cap * tanh(x / cap);
        x -= slope * (double)(qp - kp[j]);
        s[j] = x;
        if (x > m) m = x;
    }
    l = exp(sink - m);
    o[0] = o[1] = 0;
    for (j = 0; j < n; j++) {
        const double w = exp(s[j] - m);
        l += w;
        o[0] += w * v[2 * j];
        o[1] += w * v[2 * j + 1];
    }
    o[0] /= l;
    o[1] /= l;
}

static void attention_cases(void) {
    static char work[1 << 20];
    static const float q[4] = {0.7f, -1.3f, 2.1f, 0.4f};
    static const float k[10] = {1, 0, 0, 1, -0.5f, 2, 1.5f, -1, 0.25f, 0.75f};
    static const float v[10] = {1, 2, 3, 4, -1, 0.5f, 2, -2, 0.1f, 7};
    const int64_t kp[5] = {5, 6, 7, 8, 9}, qp[2] = {0, 8};
    const float slope[1] = {0.3f}, sink[1] = {-0.5f};
    float out[4], lse[2];
    lcx_attn_desc d;
    lcx_kv_view kv = lcx_kv_view_contiguous(LCX_F32, k, v, 5, 0, 0, kp);
    lcx_status st;
    double ref[2], err = 0;
    memset(&d, 0, sizeof d);
    d.head_dim = 2; d.n_heads = 1; d.n_kv_heads = 1; d.causal = 1; d.n_threads = 1;
    d.softcap = 3.0f; d.alibi_slopes = slope; d.sinks = sink;
    /* query 0 sees no key (positions 5..9 lie after it): out 0, lse the sink;
       query 1 (position 8) sees keys 5..8 */
    st = lcx_attention(&d, q, 2, 2, qp, &kv, out, 2, lse, work, sizeof work);
    ref_row(q + 2, k, v, 4, 1 / sqrt(2.0), 3.0, 0.3, kp, 8, -0.5, ref);
    err = fmax(fabs(out[2] - ref[0]), fabs(out[3] - ref[1]));
    CHECKF(st == LCX_OK && out[0] == 0 && out[1] == 0 && lse[0] == -0.5f && err < 1e-6,
           "attention: status %d, masked row %g %g lse %g, row 1 error %g", (int)st,
           (double)out[0], (double)out[1], (double)lse[0], err);
    d.sinks = NULL; d.alibi_slopes = NULL; d.softcap = 0;
    st = lcx_attention(&d, q, 2, 2, qp, &kv, out, 2, lse, work, sizeof work);
    CHECKF(st == LCX_OK && out[0] == 0 && out[1] == 0 && is_minus_inf(lse[0]),
           "attention, a row with no key: %g %g lse %g", (double)out[0], (double)out[1],
           (double)lse[0]);
    /* bad parameters: an error, nothing written */
    {
        const float nan_slope[1] = {NAN}, nan_sink[1] = {NAN};
        for (int c = 0; c < 5; c++) {
            lcx_attn_desc b = d;
            if (c == 0) b.scale = NAN;
            if (c == 1) b.scale = INFINITY;
            if (c == 2) b.softcap = INFINITY;
            if (c == 3) b.alibi_slopes = nan_slope;
            if (c == 4) b.sinks = nan_sink;
            out[0] = 123.0f;
            st = lcx_attention(&b, q, 2, 2, qp, &kv, out, 2, lse, work, sizeof work);
            CHECKF(st == LCX_ERR_INVALID_ARG && out[0] == 123.0f,
                   "attention, bad parameter %d: status %d", c, (int)st);
        }
    }
}

static void rope_cases(void) {
    lcx_rope r;
    lcx_rope_config c;
    const double bad[3] = {NAN, INFINITY, -1.0};
    double f[64], worst = 0;
    float cs[64], sn[64];
    const int64_t p = 2147483647;
    memset(&c, 0, sizeof c);
    c.head_dim = 128;
    for (int i = 0; i < 3; i++) {
        c.theta = bad[i];
        CHECKF(lcx_rope_init(&r, &c) == LCX_ERR_INVALID_ARG, "rope: theta %g accepted", bad[i]);
    }
    c.theta = 10000;
    c.type = LCX_ROPE_YARN; c.factor = 4; c.original_max_pos = 4096; c.beta_fast = NAN;
    CHECKF(lcx_rope_init(&r, &c) == LCX_ERR_INVALID_ARG, "rope: YaRN beta_fast NaN accepted");
    memset(&c, 0, sizeof c);
    c.head_dim = 128; c.theta = 10000;
    CHECKF(lcx_rope_init(&r, &c) == LCX_OK, "rope: init");
    /* cos and sin at the largest int32 position against long double */
    lcx_rope_inv_freq(&r, f);
    CHECKF(lcx_rope_cos_sin(&r, p, cs, sn) == LCX_OK, "rope: cos_sin");
    for (int i = 0; i < 64; i++) {
        const long double a = (long double)p * f[i];
        worst = fmax(worst, fabs(cs[i] - (double)cosl(a)));
        worst = fmax(worst, fabs(sn[i] - (double)sinl(a)));
    }
    CHECKF(worst < 1e-6, "rope: cos/sin at position 2^31-1, error %g", worst);
}

static void convert_cases(void) {
    const lcx_f16 h = lcx_f32_to_f16(NAN);
    CHECKF((h & 0x7C00) == 0x7C00 && (h & 0x03FF), "f16 of NaN: %04x", (unsigned)h);
    CHECKF(lcx_f32_to_f16(INFINITY) == 0x7C00, "f16 of +Inf");
    CHECKF(isnan(lcx_f16_to_f32(0x7E00)), "f32 of an f16 NaN");
    CHECKF(lcx_f32_to_bf16(-INFINITY) == 0xFF80, "bf16 of -Inf");
}

int main(void) {
    RUN(merge_cases);
    RUN(attention_cases);
    RUN(rope_cases);
    RUN(convert_cases);
    return lcx_test_summary();
}
