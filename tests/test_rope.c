/* tests/test_rope.c - section 2 (>>rope): validation, accuracy against a double
   reference, long-range positions, the rotation properties, SIMD levels, threads,
   dynamic frequencies (set_seq_len, rerotate) and CLEX. */
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"
#include "runner.h"

#define NP (LCX_ROPE_MAX_HEAD_DIM / 2)

static lcx_rope_config cfg_of(lcx_rope_type type, int head_dim, double factor, int64_t L0) {
    lcx_rope_config c;
    memset(&c, 0, sizeof c);
    c.type = type;
    c.head_dim = head_dim;
    c.factor = factor;
    c.original_max_pos = L0;
    return c;
}

static float g_short[NP], g_long[NP];
static float g_up[64 * 128], g_down[128 * 64], g_zero_down[128 * 64];
static lcx_clex_params g_clex;

static void fill_globals(void) {
    lcx_t_rng r = {77};
    for (int i = 0; i < NP; i++) {
        g_short[i] = (float)lcx_t_range(&r, 1.0, 1.5);
        g_long[i] = (float)lcx_t_range(&r, 1.0, 40.0);
    }
    for (int i = 0; i < 64 * 128; i++) g_up[i] = (float)(0.2 * lcx_t_normal(&r));
    for (int i = 0; i < 128 * 64; i++) g_down[i] = (float)(0.05 * lcx_t_normal(&r));
    memset(&g_clex, 0, sizeof g_clex);
    g_clex.param_factor = 1;
    g_clex.act = LCX_CLEX_TANH;
    g_clex.max_factor = 8;
    g_clex.time_dt = 0.05;
    g_clex.up_proj = g_up;
    g_clex.down_proj = g_down;
}

/* A valid config of each type (head_dim 64 unless given; CLEX uses g_clex whose
   arrays fit rotary_dim <= 128 with param_factor 1). */
static lcx_rope_config valid_cfg(lcx_rope_type type, int head_dim) {
    lcx_rope_config c = cfg_of(type, head_dim, 4.0, 2048);
    if (type == LCX_ROPE_DEFAULT || type == LCX_ROPE_CLEX) c.factor = 0;
    if (type == LCX_ROPE_LONGROPE) { c.short_factor = g_short; c.long_factor = g_long; }
    if (type == LCX_ROPE_CLEX) c.clex = &g_clex;
    return c;
}

static void fill_x(float *x, int64_t n, lcx_t_rng *r) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)lcx_t_range(r, -1.0, 1.0);
}

/* The double reference: rotate one head vector v (head_dim floats) at angle
   scale p * f_i (or explicit angles), times A, into out (double). */
static void ref_rotate(double *out, const float *v, int head_dim, int rd, int layout,
                       const double *f, double p, double A) {
    int n = rd / 2;
    for (int i = 0; i < head_dim; i++) out[i] = v[i];
    for (int i = 0; i < n; i++) {
        double a_ = p * f[i], c = A * cos(a_), s = A * sin(a_);
        int ia = layout == LCX_ROPE_HALF ? i : 2 * i, ib = layout == LCX_ROPE_HALF ? i + n : 2 * i + 1;
        double a = v[ia], b = v[ib];
        out[ia] = a * c - b * s;
        out[ib] = b * c + a * s;
    }
}

static double own_default_freq(int i, int d, double theta) { return pow(theta, -2.0 * i / d); }

/* ---------------------------------------------------------------- validation */

/* init with cfg must fail with `want` and leave the (pattern-filled) rope as it was */
static void expect_init_fails(const lcx_rope_config *cfg, lcx_status want, const char *what) {
    static lcx_rope r, copy;
    memset(&r, 0x5A, sizeof r);
    memcpy(&copy, &r, sizeof r);
    lcx_status st = lcx_rope_init(&r, cfg);
    CHECKF(st == want, "%s: got %s", what, lcx_status_string(st));
    CHECKF(memcmp(&r, &copy, sizeof r) == 0, "%s: rope modified", what);
}

static void test_init_rejects_every_bad_config(void) {
    lcx_rope_config c;
    lcx_clex_params p;
    static lcx_rope r;
    const lcx_rope_type all[] = {LCX_ROPE_DEFAULT, LCX_ROPE_LINEAR, LCX_ROPE_NTK, LCX_ROPE_DYNAMIC_NTK,
                                 LCX_ROPE_YARN, LCX_ROPE_LLAMA3, LCX_ROPE_LONGROPE, LCX_ROPE_CLEX};
    const lcx_rope_type need_factor[] = {LCX_ROPE_LINEAR, LCX_ROPE_NTK, LCX_ROPE_DYNAMIC_NTK,
                                         LCX_ROPE_YARN, LCX_ROPE_LONGROPE, LCX_ROPE_LLAMA3};
    const lcx_rope_type need_L0[] = {LCX_ROPE_DYNAMIC_NTK, LCX_ROPE_YARN, LCX_ROPE_LONGROPE, LCX_ROPE_CLEX};
    /* every valid base config really is valid */
    for (int k = 0; k < 8; k++) {
        c = valid_cfg(all[k], 64);
        CHECKF(lcx_rope_init(&r, &c) == LCX_OK, "type %d", (int)all[k]);
    }
    CHECK(lcx_rope_init(NULL, &c) == LCX_ERR_INVALID_ARG);
    CHECK(lcx_rope_init(&r, NULL) == LCX_ERR_INVALID_ARG);
    for (int k = 0; k < 8; k++) {
        char what[64];
        lcx_rope_config b = valid_cfg(all[k], 64);
#define BAD(field_assign, label)                                                  \
        do {                                                                       \
            c = b;                                                                 \
            field_assign;                                                          \
            snprintf(what, sizeof what, "type %d: %s", (int)all[k], label);       \
            expect_init_fails(&c, LCX_ERR_INVALID_ARG, what);                      \
        } while (0)
        BAD(c.head_dim = 63, "odd head_dim");
        BAD(c.head_dim = 0, "zero head_dim");
        BAD(c.head_dim = -4, "negative head_dim");
        BAD(c.head_dim = LCX_ROPE_MAX_HEAD_DIM + 2, "head_dim above max");
        BAD(c.rotary_dim = 33, "odd rotary_dim");
        BAD(c.rotary_dim = 66, "rotary_dim > head_dim");
        BAD(c.rotary_dim = -2, "negative rotary_dim");
        BAD(c.theta = -1.0, "negative theta");
        BAD(c.theta = NAN, "NaN theta");
        BAD(c.theta = INFINITY, "Inf theta");
        BAD(c.theta = -1e-300, "tiny negative theta");
        BAD(c.type = (lcx_rope_type)8, "unknown type");
        BAD(c.type = (lcx_rope_type)-1, "negative type");
        BAD(c.layout = (lcx_rope_layout)2, "unknown layout");
        BAD(c.attention_factor = -1.0, "negative attention factor");
        BAD(c.attention_factor = NAN, "NaN attention factor");
        BAD(c.n_threads = -1, "negative n_threads");
#undef BAD
    }
    for (int k = 0; k < 6; k++) {
        lcx_rope_type t = need_factor[k];
        double bad[] = {0.5, -1.0, NAN, INFINITY, -INFINITY, 0.0};
        for (int j = 0; j < 6; j++) {
            if (t == LCX_ROPE_LLAMA3 && bad[j] == 0.0) continue; /* 0: default 8 */
            c = valid_cfg(t, 64);
            c.factor = bad[j];
            expect_init_fails(&c, LCX_ERR_INVALID_ARG, "factor");
        }
    }
    for (int k = 0; k < 4; k++) {
        c = valid_cfg(need_L0[k], 64);
        c.original_max_pos = 0;
        expect_init_fails(&c, LCX_ERR_INVALID_ARG, "original_max_pos 0");
        c.original_max_pos = -5;
        expect_init_fails(&c, LCX_ERR_INVALID_ARG, "original_max_pos < 0");
    }
    c = valid_cfg(LCX_ROPE_LLAMA3, 64);
    c.original_max_pos = -1;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "llama3 L0 < 0");
    c = valid_cfg(LCX_ROPE_LLAMA3, 64);
    c.low_freq_factor = 4; c.high_freq_factor = 4;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "llama3 high == low");
    c.low_freq_factor = -1; c.high_freq_factor = 4;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "llama3 low < 0");
    c.low_freq_factor = 1; c.high_freq_factor = NAN;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "llama3 high NaN");
    /* YaRN betas */
    c = valid_cfg(LCX_ROPE_YARN, 64);
    c.beta_fast = 1; c.beta_slow = 1;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "beta_fast == beta_slow");
    c.beta_fast = 1; c.beta_slow = 32;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "beta_fast < beta_slow");
    c.beta_fast = 0; c.beta_slow = 40; /* default 32 <= 40 */
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "beta_fast default <= beta_slow");
    c.beta_fast = NAN; c.beta_slow = 0;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "beta_fast NaN");
    c.beta_fast = 32; c.beta_slow = -1;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "beta_slow < 0");
    c = valid_cfg(LCX_ROPE_YARN, 64);
    c.theta = 1.0;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "yarn theta 1 (ln theta = 0)");
    c = valid_cfg(LCX_ROPE_YARN, 64);
    c.mscale = NAN;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "mscale NaN");
    c.mscale = 1; c.mscale_all_dim = -1;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "mscale_all_dim < 0");
    /* LongRoPE factors */
    {
        static float badf[NP];
        c = valid_cfg(LCX_ROPE_LONGROPE, 64);
        c.short_factor = NULL;
        expect_init_fails(&c, LCX_ERR_INVALID_ARG, "short_factor NULL");
        c = valid_cfg(LCX_ROPE_LONGROPE, 64);
        c.long_factor = NULL;
        expect_init_fails(&c, LCX_ERR_INVALID_ARG, "long_factor NULL");
        float vals[] = {0.0f, -1.0f, NAN, INFINITY};
        for (int j = 0; j < 4; j++) {
            memcpy(badf, g_short, sizeof badf);
            badf[31] = vals[j]; /* the last of rotary_dim/2 = 32 */
            c = valid_cfg(LCX_ROPE_LONGROPE, 64);
            c.short_factor = badf;
            expect_init_fails(&c, LCX_ERR_INVALID_ARG, "short_factor value");
            c = valid_cfg(LCX_ROPE_LONGROPE, 64);
            c.long_factor = badf;
            expect_init_fails(&c, LCX_ERR_INVALID_ARG, "long_factor value");
        }
        /* a bad value beyond rotary_dim/2 is not read */
        memcpy(badf, g_short, sizeof badf);
        badf[32] = NAN;
        c = valid_cfg(LCX_ROPE_LONGROPE, 64);
        c.short_factor = badf;
        CHECK(lcx_rope_init(&r, &c) == LCX_OK);
    }
    /* CLEX parameters */
    c = valid_cfg(LCX_ROPE_CLEX, 64);
    c.clex = NULL;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "clex NULL");
    {
        lcx_clex_params bads[9];
        for (int j = 0; j < 9; j++) bads[j] = g_clex;
        bads[0].param_factor = 0;
        bads[1].max_factor = 0;
        bads[2].time_dt = 0;
        bads[3].time_dt = NAN;
        bads[4].time_dt = -0.1;
        bads[5].up_proj = NULL;
        bads[6].down_proj = NULL;
        bads[7].act = (lcx_clex_act)2;
        bads[8].time_dt = 1e-12; /* 7e12 steps */
        for (int j = 0; j < 9; j++) {
            c = valid_cfg(LCX_ROPE_CLEX, 64);
            p = bads[j];
            c.clex = &p;
            expect_init_fails(&c, LCX_ERR_INVALID_ARG, "clex params");
        }
    }
    /* LongRoPE derived attention factor needs ln(L0) > 0 */
    c = valid_cfg(LCX_ROPE_LONGROPE, 64);
    c.original_max_pos = 1;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "longrope L0 1");
    c.attention_factor = 1.2;
    CHECK(lcx_rope_init(&r, &c) == LCX_OK);
}

/* every bad call of apply / shift / rerotate / cos_sin / set_seq_len writes nothing */
static void test_calls_reject_bad_arguments_and_write_nothing(void) {
    enum { T = 4, H = 2, D = 64, S = H * D + 8 };
    static float x[T * S], copy[T * S];
    static lcx_rope r, r2, rc, other;
    lcx_rope_config c = valid_cfg(LCX_ROPE_YARN, D);
    lcx_t_rng g = {5};
    int64_t pos[T] = {0, 5, -1, 7}, good[T] = {0, 1, 2, 3};
    float co[NP], si[NP], co2[NP], si2[NP];
    CHECK(lcx_rope_init(&r, &c) == LCX_OK);
    r2 = r;
    fill_x(x, T * S, &g);
    memcpy(copy, x, sizeof x);
#define SAME() CHECK(memcmp(x, copy, sizeof x) == 0)
    CHECK(lcx_rope_apply(NULL, x, T, H, S, good) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_apply(&r, NULL, T, H, S, good) == LCX_ERR_INVALID_ARG);
    CHECK(lcx_rope_apply(&r, x, -1, H, S, good) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_apply(&r, x, T, 0, S, good) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_apply(&r, x, T, -1, S, good) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_apply(&r, x, T, H, H * D - 1, good) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_apply(&r, x, T, H, INT64_MAX / 2, good) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_apply(&r, x, T, H, S, pos) == LCX_ERR_INVALID_ARG); SAME(); /* pos[2] < 0 */
    pos[2] = INT64_MIN;
    CHECK(lcx_rope_apply(&r, x, T, H, S, pos) == LCX_ERR_INVALID_ARG); SAME();
    /* shift: deltas may be negative, but NULL delta and the shape errors fail */
    CHECK(lcx_rope_shift(NULL, x, T, H, S, good) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_shift(&r, x, T, H, S, NULL) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_shift(&r, NULL, T, H, S, good) == LCX_ERR_INVALID_ARG);
    CHECK(lcx_rope_shift(&r, x, -3, H, S, good) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_shift(&r, x, T, 0, S, good) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_shift(&r, x, T, H, D, good) == LCX_ERR_INVALID_ARG); SAME();
    /* rerotate: shapes, mismatched ropes, negative positions */
    CHECK(lcx_rope_rerotate(NULL, &r, x, T, H, S, good) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_rerotate(&r, NULL, x, T, H, S, good) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_rerotate(&r, &r2, x, T, H, S, pos) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_rerotate(&r, &r2, x, T, H, H * D - 2, good) == LCX_ERR_INVALID_ARG); SAME();
    CHECK(lcx_rope_rerotate(&r, &r2, NULL, T, H, S, good) == LCX_ERR_INVALID_ARG);
    CHECK(lcx_rope_rerotate(&r, &r2, x, -1, H, S, good) == LCX_ERR_INVALID_ARG); SAME();
    c.rotary_dim = 32;
    CHECK(lcx_rope_init(&other, &c) == LCX_OK);
    CHECK(lcx_rope_rerotate(&r, &other, x, T, H, S, good) == LCX_ERR_INVALID_ARG); SAME();
    c.rotary_dim = 0; c.layout = LCX_ROPE_INTERLEAVED;
    CHECK(lcx_rope_init(&other, &c) == LCX_OK);
    CHECK(lcx_rope_rerotate(&r, &other, x, T, H, S, good) == LCX_ERR_INVALID_ARG); SAME();
    c = valid_cfg(LCX_ROPE_YARN, 48);
    CHECK(lcx_rope_init(&other, &c) == LCX_OK);
    CHECK(lcx_rope_rerotate(&other, &r, x, T, H, S, good) == LCX_ERR_INVALID_ARG); SAME();
    /* zero counts are no-ops, even with NULL buffers */
    CHECK(lcx_rope_apply(&r, NULL, 0, 0, 0, NULL) == LCX_OK);
    CHECK(lcx_rope_shift(&r, NULL, 0, 0, 0, NULL) == LCX_OK);
    CHECK(lcx_rope_rerotate(&r, &r2, NULL, 0, 0, 0, NULL) == LCX_OK);
    CHECK(lcx_rope_apply(&r, x, 0, H, S, good) == LCX_OK); SAME();
    /* cos_sin */
    for (int i = 0; i < NP; i++) co[i] = si[i] = 7.0f;
    memcpy(co2, co, sizeof co); memcpy(si2, si, sizeof si);
    CHECK(lcx_rope_cos_sin(NULL, 3, co, si) == LCX_ERR_INVALID_ARG);
    CHECK(lcx_rope_cos_sin(&r, -1, co, si) == LCX_ERR_INVALID_ARG);
    CHECK(lcx_rope_cos_sin(&r, 3, NULL, si) == LCX_ERR_INVALID_ARG);
    CHECK(lcx_rope_cos_sin(&r, 3, co, NULL) == LCX_ERR_INVALID_ARG);
    CHECK(memcmp(co, co2, sizeof co) == 0 && memcmp(si, si2, sizeof si) == 0);
    /* set_seq_len */
    rc = r;
    CHECK(lcx_rope_set_seq_len(&r, -1) == LCX_ERR_INVALID_ARG);
    CHECK(memcmp(&rc, &r, sizeof r) == 0);
    CHECK(lcx_rope_set_seq_len(NULL, 5) == LCX_ERR_INVALID_ARG);
    CHECK(lcx_rope_inv_freq(NULL, NULL) == 0);
    CHECK(lcx_rope_attention_factor(NULL) == 0.0);
#undef SAME
}

/* ---------------------------------------------------------------- accuracy */

/* Run apply at `simd` and n_threads on x (shape given) and compare every element
   with the double reference; the gap and the tail must be bit-identical. */
static double apply_error(const lcx_rope *r, const float *x0, float *x, int64_t T, int H,
                          int64_t S, const int64_t *pos, const double *f, int simd, int nthr,
                          int *untouched_ok) {
    const int hd = r->cfg.head_dim, rd = r->cfg.rotary_dim, layout = (int)r->cfg.layout;
    double out[LCX_ROPE_MAX_HEAD_DIM], err = 0.0;
    memcpy(x, x0, (size_t)(T * S) * sizeof(float));
    if (lcx__rope_apply_ex(r, x, T, H, S, pos, simd, nthr) != LCX_OK) return 1e30;
    *untouched_ok = 1;
    for (int64_t t = 0; t < T; t++) {
        for (int h = 0; h < H; h++) {
            const float *v0 = x0 + t * S + (int64_t)h * hd, *v = x + t * S + (int64_t)h * hd;
            ref_rotate(out, v0, hd, rd, layout, f, pos ? (double)pos[t] : (double)t,
                       lcx_rope_attention_factor(r));
            for (int i = 0; i < rd; i++) {
                double e = fabs(out[i] - (double)v[i]);
                if (!(e <= err)) err = e; /* NaN propagates */
            }
            if (memcmp(v + rd, v0 + rd, (size_t)(hd - rd) * sizeof(float)) != 0) *untouched_ok = 0;
        }
        if (memcmp(x + t * S + (int64_t)H * hd, x0 + t * S + (int64_t)H * hd,
                   (size_t)(S - (int64_t)H * hd) * sizeof(float)) != 0)
            *untouched_ok = 0;
    }
    return err;
}

static void test_apply_matches_double_reference_on_random_shapes(void) {
    const int dims[] = {64, 80, 96, 128, 256, 2, 6};
    const lcx_rope_type types[] = {LCX_ROPE_DEFAULT, LCX_ROPE_YARN, LCX_ROPE_LLAMA3,
                                   LCX_ROPE_LONGROPE, LCX_ROPE_CLEX, LCX_ROPE_DYNAMIC_NTK};
    static float x0[40000], x[40000], xs[40000];
    lcx_t_rng g = {11};
    int quick = lcx_test_quick();
    for (int di = 0; di < 7; di++) {
        for (int trial = 0; trial < (quick ? 2 : 6); trial++) {
            const int hd = dims[di];
            lcx_rope_type ty = types[(di + trial) % 6];
            lcx_rope_config c = valid_cfg(ty, hd);
            lcx_rope r;
            double f[NP];
            int rd = (trial % 3 == 1 && hd >= 4) ? 2 * (int)lcx_t_int(&g, 1, hd / 2 - 1) : hd;
            if (ty == LCX_ROPE_CLEX && (rd > 128)) rd = 128;
            c.rotary_dim = rd;
            c.layout = (trial & 1) ? LCX_ROPE_INTERLEAVED : LCX_ROPE_HALF;
            c.theta = trial % 2 ? 500000.0 : 10000.0;
            if (lcx_rope_init(&r, &c) != LCX_OK) { CHECKF(0, "init hd %d rd %d", hd, rd); continue; }
            lcx_rope_set_seq_len(&r, (int64_t)lcx_t_int(&g, 0, 5 * c.original_max_pos));
            if (ty == LCX_ROPE_DEFAULT) {
                for (int i = 0; i < rd / 2; i++) f[i] = own_default_freq(i, rd, c.theta);
            } else {
                lcx_rope_inv_freq(&r, f);
            }
            const int H = (int)lcx_t_int(&g, 1, 5);
            const int64_t T = trial == 0 ? 1 : lcx_t_int(&g, 2, 13);
            const int64_t S = (int64_t)H * hd + (trial % 2 ? lcx_t_int(&g, 1, 17) : 0);
            int64_t pos[16];
            for (int t = 0; t < T; t++) pos[t] = lcx_t_int(&g, 0, trial == 5 ? 3000000000LL : 70000);
            fill_x(x0, T * S, &g);
            for (int simd = 0; simd < LCX__SIMD_COUNT; simd++) {
                if (!lcx__simd_compiled(simd)) continue;
                for (int nthr = 1; nthr <= 2; nthr++) {
                    int ok = 0;
                    double e = apply_error(&r, x0, x, T, H, S, trial == 2 ? NULL : pos, f, simd, nthr, &ok);
                    CHECKF(e <= 2e-6, "type %d hd %d rd %d layout %d simd %s thr %d: err %.3g", (int)ty,
                           hd, rd, (int)c.layout, lcx__simd_level_name(simd), nthr, e);
                    CHECKF(ok, "tail or gap touched: hd %d rd %d simd %d", hd, rd, simd);
                    if (nthr == 1) memcpy(xs, x, (size_t)(T * S) * sizeof(float));
                    else CHECKF(memcmp(xs, x, (size_t)(T * S) * sizeof(float)) == 0, "threads differ");
                }
            }
        }
    }
}

/* Positions 1e6, 1e8, 2^31-1 and neighbours: 2e-6 absolute against the double
   rotation, for several frequency sets; a float-angle rotation fails at 1e6. */
static void test_long_range_positions_stay_accurate(void) {
    const int64_t P[] = {1000000, 1000001, 999999, 100000000, 100000007, 2147483647LL,
                         2147483646LL, 2147483600LL, 3000000000LL};
    const int NPOS = (int)(sizeof P / sizeof P[0]);
    static float x0[9 * 4 * 128], x[9 * 4 * 128];
    lcx_t_rng g = {13};
    for (int set = 0; set < 4; set++) {
        lcx_rope_config c = valid_cfg(LCX_ROPE_DEFAULT, 128);
        double f[NP];
        lcx_rope r;
        if (set == 1) c.theta = 500000.0;
        if (set == 2) { c = valid_cfg(LCX_ROPE_YARN, 128); c.original_max_pos = 4096; }
        if (set == 3) { c = valid_cfg(LCX_ROPE_LLAMA3, 128); c.theta = 500000.0; c.factor = 8; c.original_max_pos = 8192; }
        for (int layout = 0; layout < 2; layout++) {
            c.layout = (lcx_rope_layout)layout;
            CHECK(lcx_rope_init(&r, &c) == LCX_OK);
            if (set < 2) for (int i = 0; i < 64; i++) f[i] = own_default_freq(i, 128, r.cfg.theta);
            else lcx_rope_inv_freq(&r, f);
            fill_x(x0, NPOS * 4 * 128, &g);
            for (int simd = 0; simd < LCX__SIMD_COUNT; simd++) {
                if (!lcx__simd_compiled(simd)) continue;
                int ok;
                double e = apply_error(&r, x0, x, NPOS, 4, 4 * 128, P, f, simd, 1, &ok);
                CHECKF(e <= 2e-6, "set %d layout %d simd %d: err %.3g", set, layout, simd, e);
            }
        }
    }
    /* negative control: the same check on a float-angle rotation must fail at 1e6 */
    {
        double worst = 0.0;
        for (int i = 0; i < 64; i++) {
            double fd = own_default_freq(i, 128, 10000.0);
            float af = (float)1000000 * (float)fd;
            double ad = 1000000.0 * fd;
            double a = 0.7, b = -0.6;
            double e1 = fabs((a * cosf(af) - b * sinf(af)) - (a * cos(ad) - b * sin(ad)));
            if (e1 > worst) worst = e1;
        }
        CHECKF(worst > 2e-6, "float angle error only %.3g", worst);
    }
}

/* The precision the header states for long positions, against an exact rotation by
   the exact frequency (long double, where it has more bits than double): within
   ~5e-7 for p < 2^32; in general float rounding plus at most 3 * 2^-53 * p * f_i
   rad, e.g. ~1e-4 at p = 2^40 (f_i <= 1 here). */
static void test_long_position_error_matches_the_documented_bound(void) {
#if LDBL_MANT_DIG >= 64
    const double thetas[] = {10000.0, 500000.0};
    const int N = lcx_test_quick() ? 200 : 2000;
    lcx_t_rng g = {57};
    float cs[NP], sn[NP];
    for (int k = 0; k < 2; k++) {
        lcx_rope_config c = valid_cfg(LCX_ROPE_DEFAULT, 128);
        lcx_rope r;
        double worst32 = 0.0, worst40 = 0.0, worst40_rel = 0.0;
        c.theta = thetas[k];
        CHECK(lcx_rope_init(&r, &c) == LCX_OK);
        for (int it = 0; it < 2 * N; it++) {
            const int big = it >= N;
            int64_t p = big ? (int64_t)lcx_t_int(&g, 1LL << 39, (1LL << 40) - 1)
                            : (int64_t)lcx_t_int(&g, 0, (1LL << 32) - 1);
            if (it == 0) p = (1LL << 32) - 1;
            CHECK(lcx_rope_cos_sin(&r, p, cs, sn) == LCX_OK);
            for (int i = 0; i < 64; i++) {
                const long double f = powl((long double)thetas[k], -(long double)(2 * i) / 128.0L);
                const long double a = (long double)p * f;
                const double e = fmax(fabs((double)(cosl(a) - (long double)cs[i])),
                                      fabs((double)(sinl(a) - (long double)sn[i])));
                const double bound = 6e-8 + 3.0 * ldexp((double)p * (double)f, -53);
                if (!big && e > worst32) worst32 = e;
                if (big && e > worst40) worst40 = e;
                if (big && e / bound > worst40_rel) worst40_rel = e / bound;
            }
        }
        if (getenv("LCX_TEST_VERBOSE"))
            printf("  theta %g: max err p < 2^32 %.3g, p < 2^40 %.3g (%.2f of 6e-8 + 3*2^-53*p*f)\n",
                   thetas[k], worst32, worst40, worst40_rel);
        CHECKF(worst32 <= 6e-7, "theta %g: %.3g for p < 2^32", thetas[k], worst32);
        CHECKF(worst40_rel <= 1.0, "theta %g: %.3g of the bound at p < 2^40", thetas[k], worst40_rel);
    }
#endif
}

/* The internal sin/cos used for every angle agrees with libm to 1e-13 absolute
   over the whole fast range (|a| < 2^31), near multiples of pi/2, and beyond it
   (where it falls back to libm). */
static void test_internal_sincos_matches_libm(void) {
    lcx_t_rng g = {43};
    double worst = 0.0;
    const int N = lcx_test_quick() ? 200000 : 2000000;
    for (int i = 0; i < N; i++) {
        double a;
        switch (i % 5) {
        case 0: a = lcx_t_range(&g, -2147483648.0, 2147483648.0); break;
        case 1: a = lcx_t_range(&g, -10.0, 10.0); break;
        case 2: a = (double)lcx_t_int(&g, -1367130551, 1367130551) * 1.5707963267948966 +
                    lcx_t_range(&g, -1e-6, 1e-6); break;
        case 3: a = ldexp(lcx_t_range(&g, -1.0, 1.0), (int)lcx_t_int(&g, -40, 31)); break;
        default: a = lcx_t_range(&g, -1e18, 1e18); break;
        }
        double s, c;
        lcx__sincos(a, &s, &c);
        double e = fmax(fabs(s - sin(a)), fabs(c - cos(a)));
        if (!(e <= worst)) worst = e;
    }
    const double special[] = {0.0, -0.0, 2147483647.0, -2147483647.0, 2147483647.5, 2147483648.0,
                              0.78539816339744828, 0.78539816339744839, 1e-300, 3.0e9};
    for (int i = 0; i < (int)(sizeof special / sizeof special[0]); i++) {
        double s, c;
        lcx__sincos(special[i], &s, &c);
        double e = fmax(fabs(s - sin(special[i])), fabs(c - cos(special[i])));
        if (!(e <= worst)) worst = e;
    }
    CHECKF(worst <= 1e-13, "worst %.3g", worst);
}

/* The per-token cos/sin table of every SIMD level equals the scalar one (1 float
   ulp), for every length (vector tails), both layouts, rerotate's difference
   form, and groups where only some angles exceed 2^31 (scalar fallback); nothing
   is written past the table. */
static void test_cos_sin_tables_of_every_level_match_scalar(void) {
    lcx_t_rng g = {47};
    static double f[NP], fs[NP];
    static float c[LCX_ROPE_MAX_HEAD_DIM + 8], s[LCX_ROPE_MAX_HEAD_DIM + 8];
    static float cr[LCX_ROPE_MAX_HEAD_DIM + 8], sr[LCX_ROPE_MAX_HEAD_DIM + 8];
    for (int n = 1; n <= 70; n += (n < 40 ? 1 : 29)) {
        for (int rep = 0; rep < 6; rep++) {
            const int layout = rep & 1, diff = rep >= 4;
            const double p = rep < 2 ? (double)lcx_t_int(&g, 0, 100000)
                           : (rep == 3 ? (double)lcx_t_int(&g, 10000000000000000LL, 100000000000000000LL)
                                        : (double)lcx_t_int(&g, 1000000000, 4000000000LL));
            const int len = layout ? 2 * n : n;
            for (int i = 0; i < n; i++) {
                f[i] = exp(lcx_t_range(&g, log(1e-6), log(1.5)));
                fs[i] = f[i] * lcx_t_range(&g, 0.5, 1.0);
            }
            for (int i = 0; i < LCX_ROPE_MAX_HEAD_DIM + 8; i++) cr[i] = sr[i] = -7.0f;
            lcx__rope_table_simd(LCX__SIMD_SCALAR, f, diff ? fs : NULL, p, 1.25, n, layout, cr, sr);
            for (int simd = 1; simd < LCX__SIMD_COUNT; simd++) {
                if (!lcx__simd_compiled(simd)) continue;
                for (int i = 0; i < LCX_ROPE_MAX_HEAD_DIM + 8; i++) c[i] = s[i] = -7.0f;
                lcx__rope_table_simd(simd, f, diff ? fs : NULL, p, 1.25, n, layout, c, s);
                double worst = 0;
                for (int i = 0; i < len; i++) worst = fmax(worst, fmax(fabs(c[i] - cr[i]), fabs(s[i] - sr[i])));
                CHECKF(worst <= 1.5e-7, "n %d layout %d p %.0f simd %s: %.3g", n, layout, p,
                       lcx__simd_level_name(simd), worst);
                CHECKF(c[len] == -7.0f && s[len] == -7.0f, "wrote past the table: n %d", n);
            }
            /* and the scalar table is the double formula */
            double worst = 0;
            for (int i = 0; i < n; i++) {
                double a = diff ? p * (f[i] - fs[i]) : p * f[i];
                int j = layout ? 2 * i : i;
                worst = fmax(worst, fmax(fabs(cr[j] - 1.25 * cos(a)), fabs(sr[j] - 1.25 * sin(a))));
                if (layout) CHECK(cr[j + 1] == cr[j] && sr[j + 1] == sr[j]);
            }
            CHECKF(worst <= 1.5e-7, "scalar table n %d: %.3g", n, worst);
        }
    }
}

/* ---------------------------------------------------------------- properties */

static void test_norm_is_preserved_up_to_attention_factor(void) {
    enum { T = 7, H = 3, D = 96 };
    static float x0[T * H * D], x[T * H * D];
    lcx_t_rng g = {17};
    const lcx_rope_type types[] = {LCX_ROPE_DEFAULT, LCX_ROPE_YARN, LCX_ROPE_LONGROPE};
    for (int k = 0; k < 3; k++)
        for (int layout = 0; layout < 2; layout++) {
            lcx_rope_config c = valid_cfg(types[k], D);
            lcx_rope r;
            int64_t pos[T];
            c.layout = (lcx_rope_layout)layout;
            CHECK(lcx_rope_init(&r, &c) == LCX_OK);
            double A = lcx_rope_attention_factor(&r), worst = 0;
            if (types[k] != LCX_ROPE_DEFAULT) CHECK(A > 1.01);
            for (int t = 0; t < T; t++) pos[t] = lcx_t_int(&g, 0, 1 << 30);
            fill_x(x0, T * H * D, &g);
            memcpy(x, x0, sizeof x);
            CHECK(lcx_rope_apply(&r, x, T, H, H * D, pos) == LCX_OK);
            for (int t = 0; t < T * H; t++)
                for (int i = 0; i < D / 2; i++) {
                    int ia = layout ? 2 * i : i, ib = layout ? 2 * i + 1 : i + D / 2;
                    const float *a = x0 + t * D, *b = x + t * D;
                    double n0 = hypot(a[ia], a[ib]), n1 = hypot(b[ia], b[ib]);
                    double e = fabs(n1 - A * n0);
                    if (e > worst) worst = e;
                }
            CHECKF(worst <= 1e-6, "type %d layout %d: %.3g", (int)types[k], layout, worst);
        }
}

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (!(e <= m)) m = e;
    }
    return m;
}

static void test_shift_round_trip_and_composition(void) {
    enum { T = 9, H = 4, D = 128 };
    static float x0[T * H * D], x[T * H * D], y[T * H * D];
    lcx_t_rng g = {19};
    for (int k = 0; k < 2; k++)
        for (int layout = 0; layout < 2; layout++) {
            lcx_rope_config c = valid_cfg(k ? LCX_ROPE_YARN : LCX_ROPE_DEFAULT, D);
            lcx_rope r;
            int64_t p[T], d[T], nd[T], pd[T];
            c.layout = (lcx_rope_layout)layout;
            CHECK(lcx_rope_init(&r, &c) == LCX_OK);
            for (int t = 0; t < T; t++) {
                p[t] = lcx_t_int(&g, 0, 100000);
                d[t] = lcx_t_int(&g, -p[t], 100000);
                nd[t] = -d[t];
                pd[t] = p[t] + d[t];
            }
            fill_x(x0, T * H * D, &g);
            /* shift(+d) then shift(-d) = identity */
            memcpy(x, x0, sizeof x);
            CHECK(lcx_rope_shift(&r, x, T, H, H * D, d) == LCX_OK);
            CHECK(max_abs_diff(x, x0, T * H * D) > 1e-3); /* it did move */
            CHECK(lcx_rope_shift(&r, x, T, H, H * D, nd) == LCX_OK);
            CHECKF(max_abs_diff(x, x0, T * H * D) <= 1e-6, "round trip %.3g", max_abs_diff(x, x0, T * H * D));
            /* shift(d) after apply(p) = apply(p + d), with no second attention factor */
            memcpy(x, x0, sizeof x);
            memcpy(y, x0, sizeof y);
            CHECK(lcx_rope_apply(&r, x, T, H, H * D, p) == LCX_OK);
            CHECK(lcx_rope_shift(&r, x, T, H, H * D, d) == LCX_OK);
            CHECK(lcx_rope_apply(&r, y, T, H, H * D, pd) == LCX_OK);
            CHECKF(max_abs_diff(x, y, T * H * D) <= 1e-6, "type %d layout %d: %.3g", k, layout,
                   max_abs_diff(x, y, T * H * D));
        }
}

static void test_linear_at_scaled_position_equals_default(void) {
    enum { T = 6, H = 2, D = 64 };
    static float x0[T * H * D], x[T * H * D], y[T * H * D];
    lcx_t_rng g = {23};
    lcx_rope_config c = valid_cfg(LCX_ROPE_DEFAULT, D), cl = valid_cfg(LCX_ROPE_LINEAR, D);
    lcx_rope rd, rl;
    int64_t p[T], sp[T];
    cl.factor = 4.0;
    CHECK(lcx_rope_init(&rd, &c) == LCX_OK && lcx_rope_init(&rl, &cl) == LCX_OK);
    for (int t = 0; t < T; t++) { p[t] = lcx_t_int(&g, 0, 200000); sp[t] = 4 * p[t]; }
    fill_x(x0, T * H * D, &g);
    memcpy(x, x0, sizeof x);
    memcpy(y, x0, sizeof y);
    CHECK(lcx_rope_apply(&rd, x, T, H, H * D, p) == LCX_OK);
    CHECK(lcx_rope_apply(&rl, y, T, H, H * D, sp) == LCX_OK);
    CHECKF(max_abs_diff(x, y, T * H * D) <= 1e-6, "%.3g", max_abs_diff(x, y, T * H * D));
}

static void test_factor_one_equals_default(void) {
    const lcx_rope_type types[] = {LCX_ROPE_LINEAR, LCX_ROPE_NTK, LCX_ROPE_YARN, LCX_ROPE_LLAMA3};
    for (int k = 0; k < 4; k++) {
        lcx_rope_config c = valid_cfg(types[k], 128), c0 = valid_cfg(LCX_ROPE_DEFAULT, 128);
        lcx_rope r, r0;
        double f[NP], f0[NP];
        c.factor = 1.0;
        c.theta = c0.theta = 500000.0;
        CHECK(lcx_rope_init(&r, &c) == LCX_OK && lcx_rope_init(&r0, &c0) == LCX_OK);
        lcx_rope_set_seq_len(&r, 100000);
        CHECK(lcx_rope_inv_freq(&r, f) == 64 && lcx_rope_inv_freq(&r0, f0) == 64);
        double worst = 0;
        for (int i = 0; i < 64; i++) {
            double e = fabs(f[i] - f0[i]) / f0[i];
            if (e > worst) worst = e;
        }
        CHECKF(worst <= 1e-12, "type %d: %.3g", (int)types[k], worst);
        CHECK(lcx_rope_attention_factor(&r) == 1.0);
        /* and the DEFAULT frequencies are the formula */
        for (int i = 0; i < 64; i++) CHECK_NEAR(f0[i] / own_default_freq(i, 128, 500000.0), 1.0, 1e-14);
    }
}

static void test_simd_levels_equal_scalar(void) {
    enum { T = 5, H = 3 };
    static float x0[T * H * 256], x[T * H * 256], xr[T * H * 256];
    lcx_t_rng g = {29};
    for (int rd = 2; rd <= 256; rd += (rd < 40 ? 2 : 22))
        for (int layout = 0; layout < 2; layout++) {
            lcx_rope_config c = valid_cfg(LCX_ROPE_YARN, 256);
            lcx_rope r;
            int64_t p[T];
            c.rotary_dim = rd;
            c.layout = (lcx_rope_layout)layout;
            CHECK(lcx_rope_init(&r, &c) == LCX_OK);
            for (int t = 0; t < T; t++) p[t] = lcx_t_int(&g, 0, 1 << 20);
            fill_x(x0, T * H * 256, &g);
            memcpy(xr, x0, sizeof xr);
            lcx__rope_apply_ex(&r, xr, T, H, H * 256, p, LCX__SIMD_SCALAR, 1);
            for (int simd = 1; simd < LCX__SIMD_COUNT; simd++) {
                if (!lcx__simd_compiled(simd)) continue;
                memcpy(x, x0, sizeof x);
                lcx__rope_apply_ex(&r, x, T, H, H * 256, p, simd, 1);
                CHECKF(max_abs_diff(x, xr, T * H * 256) <= 1e-6, "rd %d layout %d simd %s", rd, layout,
                       lcx__simd_level_name(simd));
                memcpy(x, x0, sizeof x);
                memcpy(xr, x0, sizeof xr);
                lcx__rope_shift_ex(&r, xr, T, H, H * 256, p, LCX__SIMD_SCALAR, 1);
                lcx__rope_shift_ex(&r, x, T, H, H * 256, p, simd, 1);
                CHECKF(max_abs_diff(x, xr, T * H * 256) <= 1e-6, "shift rd %d simd %d", rd, simd);
                memcpy(xr, x0, sizeof xr);
                lcx__rope_apply_ex(&r, xr, T, H, H * 256, p, LCX__SIMD_SCALAR, 1);
            }
        }
}

/* Large enough to fork: 1 and 2 threads give the same bits, for apply, shift and
   rerotate, both layouts, partial rotary with a strided (fused QKV) buffer. */
static void test_threads_give_identical_bits(void) {
    enum { T = 600, H = 8, D = 128, S = H * D + 64 };
    static float x0[T * S], a[T * S], b[T * S];
    static int64_t p[T];
    lcx_t_rng g = {31};
    for (int t = 0; t < T; t++) p[t] = lcx_t_int(&g, 0, 1 << 24);
    fill_x(x0, T * S, &g);
    for (int layout = 0; layout < 2; layout++) {
        lcx_rope_config c = valid_cfg(LCX_ROPE_DYNAMIC_NTK, D);
        lcx_rope r, r2;
        c.layout = (lcx_rope_layout)layout;
        c.rotary_dim = layout ? 96 : 128;
        CHECK(lcx_rope_init(&r, &c) == LCX_OK);
        r2 = r;
        CHECK(lcx_rope_set_seq_len(&r2, 50000) == LCX_OK);
        for (int simd = 0; simd < LCX__SIMD_COUNT; simd++) {
            if (!lcx__simd_compiled(simd)) continue;
            for (int op = 0; op < 3; op++) {
                memcpy(a, x0, sizeof a);
                memcpy(b, x0, sizeof b);
                for (int k = 0; k < 2; k++) {
                    float *x = k ? b : a;
                    int nthr = k ? 2 : 1;
                    if (op == 0) CHECK(lcx__rope_apply_ex(&r, x, T, H, S, layout ? NULL : p, simd, nthr) == LCX_OK);
                    if (op == 1) CHECK(lcx__rope_shift_ex(&r, x, T, H, S, p, simd, nthr) == LCX_OK);
                    if (op == 2) CHECK(lcx__rope_rerotate_ex(&r, &r2, x, T, H, S, p, simd, nthr) == LCX_OK);
                }
                CHECKF(memcmp(a, b, sizeof a) == 0, "layout %d simd %d op %d", layout, simd, op);
                CHECK(memcmp(a, x0, sizeof a) != 0);
            }
        }
    }
}

/* Calls over more than LCX__ROPE_PF_MIN_BYTES prefetch each next token while rotating
   this one. The prefetch must change nothing: the rotation kernels give the same bits
   with and without a next row (which they must not write), at every level, layout and
   rotary width (tails included), with next at any alignment; and one large call gives
   the bits of the same tokens rotated in calls too small to prefetch, with 1 and 2
   threads and a strided (fused QKV) buffer. */
static void test_prefetching_calls_give_the_same_bits(void) {
    enum { H = 3, D = 256 };
    static float x0[H * D], a[H * D], b[H * D], nx[H * D + 16], nx0[H * D + 16];
    static float c[LCX_ROPE_MAX_HEAD_DIM], s[LCX_ROPE_MAX_HEAD_DIM];
    static double f[LCX_ROPE_MAX_HEAD_DIM / 2];
    lcx_t_rng g = {37};
    fill_x(nx0, H * D + 16, &g);
    for (int rd = 2; rd <= D; rd += (rd < 40 ? 2 : 34))
        for (int layout = 0; layout < 2; layout++)
            for (int simd = 0; simd < LCX__SIMD_COUNT; simd++) {
                const int off = rd % 16; /* next from 0 to 15 floats past a line start */
                if (!lcx__simd_compiled(simd)) continue;
                for (int i = 0; i < rd / 2; i++) f[i] = own_default_freq(i, rd, 10000.0);
                lcx__rope_table_simd(simd, f, NULL, (double)lcx_t_int(&g, 0, 1 << 20), 1.0, rd / 2,
                                     layout, c, s);
                fill_x(x0, H * D, &g);
                memcpy(a, x0, sizeof a);
                memcpy(b, x0, sizeof b);
                memcpy(nx, nx0, sizeof nx);
                lcx__rope_rotate_simd(simd, a, H, D, rd, layout, c, s, NULL);
                lcx__rope_rotate_simd(simd, b, H, D, rd, layout, c, s, nx + off);
                CHECKF(memcmp(a, b, sizeof a) == 0, "rd %d layout %d simd %s", rd, layout,
                       lcx__simd_level_name(simd));
                CHECK(memcmp(a, x0, sizeof a) != 0);
                CHECKF(memcmp(nx, nx0, sizeof nx) == 0, "next written: rd %d simd %d", rd, simd);
            }
    if (lcx_test_quick()) return; /* the sanitizer build: ~100 MiB below is slow there */
    {
        /* H2 heads x rd2 rotated floats per token; enough tokens to pass the threshold */
        enum { H2 = 32, D2 = 128, S2 = H2 * D2 + 64 };
        const int rd2 = 96;
        const int64_t T = (int64_t)(LCX__ROPE_PF_MIN_BYTES / ((double)H2 * rd2 * 4)) + 3;
        const int64_t chunk = T / 3 + 1; /* each chunk well below the threshold */
        float *y0 = (float *)malloc((size_t)(T * S2) * sizeof(float));
        float *y1 = (float *)malloc((size_t)(T * S2) * sizeof(float));
        float *y2 = (float *)malloc((size_t)(T * S2) * sizeof(float));
        int64_t *p = (int64_t *)malloc((size_t)T * sizeof(int64_t));
        lcx_rope_config cc = valid_cfg(LCX_ROPE_YARN, D2);
        lcx_rope r;
        CHECK(y0 && y1 && y2 && p);
        if (!y0 || !y1 || !y2 || !p) goto done;
        cc.rotary_dim = rd2;
        CHECK(lcx_rope_init(&r, &cc) == LCX_OK);
        CHECK((double)T * H2 * rd2 * 4 > LCX__ROPE_PF_MIN_BYTES);
        CHECK((double)chunk * H2 * rd2 * 4 <= LCX__ROPE_PF_MIN_BYTES);
        fill_x(y0, T * S2, &g);
        for (int64_t t = 0; t < T; t++) p[t] = lcx_t_int(&g, 0, 1 << 24);
        for (int simd = 0; simd < LCX__SIMD_COUNT; simd++) {
            if (!lcx__simd_compiled(simd)) continue;
            memcpy(y2, y0, (size_t)(T * S2) * sizeof(float));
            for (int64_t t0 = 0; t0 < T; t0 += chunk) {
                const int64_t n = T - t0 < chunk ? T - t0 : chunk;
                CHECK(lcx__rope_apply_ex(&r, y2 + t0 * S2, n, H2, S2, p + t0, simd, 1) == LCX_OK);
            }
            CHECK(memcmp(y2, y0, (size_t)(T * S2) * sizeof(float)) != 0);
            for (int nthr = 1; nthr <= 2; nthr++) {
                memcpy(y1, y0, (size_t)(T * S2) * sizeof(float));
                CHECK(lcx__rope_apply_ex(&r, y1, T, H2, S2, p, simd, nthr) == LCX_OK);
                CHECKF(memcmp(y1, y2, (size_t)(T * S2) * sizeof(float)) == 0, "simd %s threads %d",
                       lcx__simd_level_name(simd), nthr);
            }
        }
    done:
        free(y0);
        free(y1);
        free(y2);
        free(p);
    }
}

static void test_cos_sin_matches_apply_on_unit_vectors(void) {
    for (int layout = 0; layout < 2; layout++) {
        lcx_rope_config c = valid_cfg(LCX_ROPE_YARN, 64);
        lcx_rope r;
        float co[32], si[32], x[64];
        int64_t p = 123457;
        c.layout = (lcx_rope_layout)layout;
        c.rotary_dim = 48;
        CHECK(lcx_rope_init(&r, &c) == LCX_OK);
        CHECK(lcx_rope_cos_sin(&r, p, co, si) == LCX_OK);
        for (int i = 0; i < 24; i++) {
            int ia = layout ? 2 * i : i, ib = layout ? 2 * i + 1 : i + 24;
            memset(x, 0, sizeof x);
            x[ia] = 1.0f; /* (1, 0) -> (c, s) */
            CHECK(lcx_rope_apply(&r, x, 1, 1, 64, &p) == LCX_OK);
            CHECK_NEAR(x[ia], co[i], 1e-7);
            CHECK_NEAR(x[ib], si[i], 1e-7);
            double f[32];
            lcx_rope_inv_freq(&r, f);
            CHECK_NEAR(co[i], r.attention_factor * cos((double)p * f[i]), 2e-7);
            CHECK_NEAR(si[i], r.attention_factor * sin((double)p * f[i]), 2e-7);
        }
    }
}

/* ---------------------------------------------------------------- dynamic frequencies */

static void test_set_seq_len_behaviour(void) {
    lcx_rope_config c = valid_cfg(LCX_ROPE_DYNAMIC_NTK, 64), c0 = valid_cfg(LCX_ROPE_DEFAULT, 64);
    lcx_rope r, r0;
    double f[NP], f0[NP], fprev[NP];
    CHECK(lcx_rope_init(&r, &c) == LCX_OK && lcx_rope_init(&r0, &c0) == LCX_OK);
    lcx_rope_inv_freq(&r0, f0);
    const int64_t Ls[] = {0, 1, 2047, 2048, 2049, 5000, 100000, 2048, 1000};
    for (int k = 0; k < 9; k++) {
        CHECK(lcx_rope_set_seq_len(&r, Ls[k]) == LCX_OK);
        lcx_rope_inv_freq(&r, f);
        if (Ls[k] <= 2048) {
            CHECKF(memcmp(f, f0, 32 * sizeof(double)) == 0, "L %lld", (long long)Ls[k]);
        } else {
            /* NTK with alpha = s*L/L0 - (s-1) */
            double alpha = 4.0 * (double)Ls[k] / 2048.0 - 3.0;
            if (Ls[k] >= 5000) CHECK(f[31] < f0[31] * 0.5);
            for (int i = 0; i < 32; i++)
                CHECK_NEAR(f[i] / (pow(10000.0 * pow(alpha, 64.0 / 62.0), -2.0 * i / 64)), 1.0, 1e-12);
        }
    }
    /* LONGROPE switches at L > L0 */
    c = valid_cfg(LCX_ROPE_LONGROPE, 64);
    CHECK(lcx_rope_init(&r, &c) == LCX_OK);
    for (int k = 0; k < 9; k++) {
        const float *e = Ls[k] > 2048 ? g_long : g_short;
        CHECK(lcx_rope_set_seq_len(&r, Ls[k]) == LCX_OK);
        lcx_rope_inv_freq(&r, f);
        for (int i = 0; i < 32; i++) CHECK_NEAR(f[i] * (double)e[i] / f0[i], 1.0, 1e-12);
    }
    /* CLEX: t = ceil(L/L0) clamped to [1, max_factor]; frequencies change only when t does */
    c = valid_cfg(LCX_ROPE_CLEX, 64);
    CHECK(lcx_rope_init(&r, &c) == LCX_OK);
    CHECK(r.clex_t == 1);
    lcx_rope_inv_freq(&r, f);
    CHECK(memcmp(f, f0, 32 * sizeof(double)) == 0);
    memcpy(fprev, f, sizeof f);
    {
        const int64_t L[] = {2048, 2049, 4096, 4097, 6144, 16384, 16385, 1 << 30, 1, 0};
        const int want[] = {1, 2, 2, 3, 3, 8, 8, 8, 1, 1};
        int prev_t = 1;
        for (int k = 0; k < 10; k++) {
            CHECK(lcx_rope_set_seq_len(&r, L[k]) == LCX_OK);
            CHECKF(r.clex_t == want[k], "L %lld t %d", (long long)L[k], r.clex_t);
            lcx_rope_inv_freq(&r, f);
            if (want[k] == prev_t) CHECK(memcmp(f, fprev, sizeof f) == 0);
            else CHECK(memcmp(f, fprev, 32 * sizeof(double)) != 0);
            memcpy(fprev, f, sizeof f);
            prev_t = want[k];
        }
    }
    /* the state-free types only record L */
    c = valid_cfg(LCX_ROPE_YARN, 64);
    CHECK(lcx_rope_init(&r, &c) == LCX_OK);
    lcx_rope_inv_freq(&r, f0);
    CHECK(lcx_rope_set_seq_len(&r, 1 << 20) == LCX_OK);
    lcx_rope_inv_freq(&r, f);
    CHECK(memcmp(f, f0, 32 * sizeof(double)) == 0 && r.seq_len == (1 << 20));
}

/* With down_proj = 0 the ODE is solved by NTK with alpha = 2t - 1 (theta 10000):
   the integration must reproduce it nearly exactly, up to the largest rotary_dim
   (which also exercises the CLEX stack arrays at their full size). */
static void test_clex_with_zero_down_is_ntk(void) {
    static float zero_up[256 * 512], zero_down[512 * 256];
    const int dims[] = {128, 512, 4};
    for (int k = 0; k < 3; k++) {
        const int d = dims[k];
        lcx_clex_params p = g_clex;
        lcx_rope_config c = valid_cfg(LCX_ROPE_CLEX, d);
        lcx_rope r;
        double f[NP];
        p.up_proj = d == 128 ? g_up : zero_up;
        p.down_proj = d == 128 ? g_zero_down : zero_down;
        p.act = LCX_CLEX_SILU;
        p.time_dt = 0.01;
        p.max_factor = d == 512 ? 3 : 8;
        c.clex = &p;
        CHECK(lcx_rope_init(&r, &c) == LCX_OK);
        for (int t = 1; t <= p.max_factor; t++) {
            CHECK(lcx_rope_set_seq_len(&r, (int64_t)t * 2048) == LCX_OK);
            CHECK(r.clex_t == t);
            CHECK(lcx_rope_inv_freq(&r, f) == d / 2);
            double worst = 0, alpha = 2.0 * t - 1.0, base = 10000.0 * pow(alpha, (double)d / (d - 2));
            for (int i = 0; i < d / 2; i++) {
                double e = fabs(f[i] / pow(base, -2.0 * i / d) - 1.0);
                if (e > worst) worst = e;
            }
            CHECKF(worst <= 1e-9, "d %d t %d: %.3g", d, t, worst);
        }
    }
}

/* rerotate(from -> to) of keys applied with `from` equals applying `to` directly */
static void test_rerotate_equals_applying_the_new_state(void) {
    enum { T = 11, H = 3, D = 128, S = H * D + 5 };
    static float x0[T * S], a[T * S], b[T * S];
    lcx_t_rng g = {37};
    for (int k = 0; k < 3; k++)
        for (int layout = 0; layout < 2; layout++) {
            lcx_rope_type ty = k == 0 ? LCX_ROPE_DYNAMIC_NTK : (k == 1 ? LCX_ROPE_LONGROPE : LCX_ROPE_CLEX);
            lcx_rope_config c = valid_cfg(ty, D);
            lcx_rope from, to;
            int64_t p[T];
            c.layout = (lcx_rope_layout)layout;
            CHECK(lcx_rope_init(&from, &c) == LCX_OK);
            CHECK(lcx_rope_set_seq_len(&from, k == 2 ? 2048 : 1000) == LCX_OK);
            to = from;
            CHECK(lcx_rope_set_seq_len(&to, k == 2 ? 3 * 2048 : 20000) == LCX_OK);
            if (k == 2) CHECK(to.clex_t == 3 && from.clex_t == 1);
            CHECK(memcmp(from.inv_freq, to.inv_freq, sizeof to.inv_freq) != 0);
            for (int t = 0; t < T; t++) p[t] = lcx_t_int(&g, 0, 20000);
            fill_x(x0, T * S, &g);
            memcpy(a, x0, sizeof a);
            memcpy(b, x0, sizeof b);
            CHECK(lcx_rope_apply(&from, a, T, H, S, p) == LCX_OK);
            CHECK(lcx_rope_rerotate(&from, &to, a, T, H, S, p) == LCX_OK);
            CHECK(lcx_rope_apply(&to, b, T, H, S, p) == LCX_OK);
            CHECKF(max_abs_diff(a, b, T * S) <= 1e-5, "type %d layout %d: %.3g", (int)ty, layout,
                   max_abs_diff(a, b, T * S));
            /* without pos: positions are the indices */
            memcpy(a, x0, sizeof a);
            memcpy(b, x0, sizeof b);
            CHECK(lcx_rope_apply(&from, a, T, H, S, NULL) == LCX_OK);
            CHECK(lcx_rope_rerotate(&from, &to, a, T, H, S, NULL) == LCX_OK);
            CHECK(lcx_rope_apply(&to, b, T, H, S, NULL) == LCX_OK);
            CHECK(max_abs_diff(a, b, T * S) <= 1e-5);
        }
    /* the attention factor ratio: LONGROPE A_from = 1 (factor 1, given) -> YaRN-like A */
    {
        lcx_rope_config c = valid_cfg(LCX_ROPE_LONGROPE, D);
        lcx_rope from, to;
        c.attention_factor = 1.0;
        CHECK(lcx_rope_init(&from, &c) == LCX_OK);
        c.attention_factor = 1.3;
        CHECK(lcx_rope_init(&to, &c) == LCX_OK);
        CHECK(lcx_rope_set_seq_len(&to, 100000) == LCX_OK);
        fill_x(x0, T * S, &g);
        memcpy(a, x0, sizeof a);
        memcpy(b, x0, sizeof b);
        CHECK(lcx_rope_apply(&from, a, T, H, S, NULL) == LCX_OK);
        CHECK(lcx_rope_rerotate(&from, &to, a, T, H, S, NULL) == LCX_OK);
        CHECK(lcx_rope_apply(&to, b, T, H, S, NULL) == LCX_OK);
        CHECKF(max_abs_diff(a, b, T * S) <= 1e-5, "%.3g", max_abs_diff(a, b, T * S));
    }
}

/* Random valid configurations of every type: init succeeds, frequencies and the
   attention factor are finite and positive at any sequence length, and apply
   matches the double reference (head_dim up to the maximum). */
static void test_random_valid_configs_give_finite_results(void) {
    static float up[256 * 512], down[512 * 256];
    static float x0[2 * LCX_ROPE_MAX_HEAD_DIM], x[2 * LCX_ROPE_MAX_HEAD_DIM];
    lcx_t_rng g = {41};
    lcx_clex_params p = g_clex;
    for (int i = 0; i < 256 * 512; i++) { up[i] = (float)(0.1 * lcx_t_normal(&g)); down[i] = (float)(0.02 * lcx_t_normal(&g)); }
    p.up_proj = up;
    p.down_proj = down;
    p.max_factor = 4;
    p.time_dt = 0.1;
    const int N = lcx_test_quick() ? 60 : 400;
    for (int it = 0; it < N; it++) {
        lcx_rope_type ty = (lcx_rope_type)(it % 8);
        int hd = 2 * (int)lcx_t_int(&g, 1, LCX_ROPE_MAX_HEAD_DIM / 2);
        lcx_rope_config c = valid_cfg(ty, hd);
        lcx_rope r;
        double f[NP];
        c.rotary_dim = lcx_t_int(&g, 0, 1) ? 0 : 2 * (int)lcx_t_int(&g, 1, hd / 2);
        c.theta = exp(lcx_t_range(&g, log(0.5), log(1e7)));
        if (ty == LCX_ROPE_YARN && fabs(c.theta - 1.0) < 1e-3) c.theta = 2.0;
        c.layout = (lcx_rope_layout)lcx_t_int(&g, 0, 1);
        if (ty != LCX_ROPE_DEFAULT && ty != LCX_ROPE_CLEX) c.factor = exp(lcx_t_range(&g, 0.0, log(200.0)));
        c.original_max_pos = lcx_t_int(&g, 2, 1000000);
        c.beta_slow = lcx_t_range(&g, 0.01, 8.0);
        c.beta_fast = c.beta_slow + lcx_t_range(&g, 0.01, 64.0);
        c.yarn_no_truncate = (int)lcx_t_int(&g, 0, 1);
        if (lcx_t_int(&g, 0, 3) == 0) { c.mscale = lcx_t_range(&g, 0.0, 2.0); c.mscale_all_dim = lcx_t_range(&g, 0.0, 2.0); }
        if (lcx_t_int(&g, 0, 3) == 0) c.attention_factor = lcx_t_range(&g, 0.5, 2.0);
        c.low_freq_factor = lcx_t_range(&g, 0.1, 4.0);
        c.high_freq_factor = c.low_freq_factor + lcx_t_range(&g, 0.01, 8.0);
        if (ty == LCX_ROPE_CLEX) c.clex = &p;
        if (lcx_rope_init(&r, &c) != LCX_OK) { CHECKF(0, "it %d type %d: init failed", it, (int)ty); continue; }
        for (int k = 0; k < 3; k++) {
            int64_t L = k == 0 ? 0 : lcx_t_int(&g, 0, 10000000);
            CHECK(lcx_rope_set_seq_len(&r, L) == LCX_OK);
            int n = lcx_rope_inv_freq(&r, f), bad = 0;
            CHECK(n == r.cfg.rotary_dim / 2);
            for (int i = 0; i < n; i++) bad += !(isfinite(f[i]) && f[i] > 0.0);
            double A = lcx_rope_attention_factor(&r);
            CHECKF(!bad && isfinite(A) && A > 0.0, "it %d type %d hd %d theta %g: %d bad, A %g", it,
                   (int)ty, hd, r.cfg.theta, bad, A);
        }
        {
            int64_t pos = lcx_t_int(&g, 0, 1LL << 31);
            int ok = 0;
            fill_x(x0, 2 * hd, &g);
            double e = apply_error(&r, x0, x, 1, 2, 2 * hd, &pos, f, LCX__SIMD_BEST, 1, &ok);
            CHECKF(e <= 2e-6 * (lcx_rope_attention_factor(&r) > 1.0 ? lcx_rope_attention_factor(&r) : 1.0) && ok, "it %d type %d hd %d: %.3g", it, (int)ty, hd, e);
        }
    }
}

/* Re-initialising a rope in place from its own resolved config (and, for LONGROPE,
   from its own factor copies, also swapped) gives the bits a fresh init from
   outside arrays gives; the old header zeroed the copies before reading them. */
static void test_reinit_in_place_from_own_arrays(void) {
    const lcx_rope_type all[] = {LCX_ROPE_DEFAULT, LCX_ROPE_LINEAR, LCX_ROPE_NTK, LCX_ROPE_DYNAMIC_NTK,
                                 LCX_ROPE_YARN, LCX_ROPE_LLAMA3, LCX_ROPE_LONGROPE, LCX_ROPE_CLEX};
    static float sf[NP], lf[NP];
    for (int k = 0; k < 8; k++) {
        lcx_rope_config c = valid_cfg(all[k], 64), c2, c3;
        lcx_rope r, fresh;
        memset(&r, 0, sizeof r);
        memset(&fresh, 0, sizeof fresh);
        CHECK(lcx_rope_init(&r, &c) == LCX_OK);
        CHECK(lcx_rope_set_seq_len(&r, 5000) == LCX_OK); /* dynamic types away from seq_len 0 */
        c2 = r.cfg;
        c2.theta = 20000.0; /* change something */
        if (all[k] == LCX_ROPE_LONGROPE) {
            c2.short_factor = r.short_factor;
            c2.long_factor = r.long_factor;
        }
        c3 = c2;
        if (all[k] == LCX_ROPE_LONGROPE) {
            memcpy(sf, r.short_factor, sizeof sf);
            memcpy(lf, r.long_factor, sizeof lf);
            c3.short_factor = sf;
            c3.long_factor = lf;
        }
        CHECK(lcx_rope_init(&fresh, &c3) == LCX_OK);
        CHECKF(lcx_rope_init(&r, &c2) == LCX_OK, "type %d", (int)all[k]);
        CHECKF(memcmp(&r, &fresh, sizeof r) == 0, "type %d: in-place re-init differs", (int)all[k]);
        if (all[k] == LCX_ROPE_LONGROPE) {
            CHECK(r.short_factor[1] == g_short[1] && r.long_factor[31] == g_long[31]);
            CHECK_NEAR(r.inv_freq[1] * (double)g_short[1], pow(20000.0, -2.0 / 64), 1e-15);
            /* swapped: the short factors from the rope's long copy and vice versa */
            c2 = r.cfg;
            c2.short_factor = r.long_factor;
            c2.long_factor = r.short_factor;
            c3 = c2;
            c3.short_factor = g_long;
            c3.long_factor = g_short;
            CHECK(lcx_rope_init(&fresh, &c3) == LCX_OK);
            CHECK(lcx_rope_init(&r, &c2) == LCX_OK);
            CHECK(memcmp(&r, &fresh, sizeof r) == 0);
            CHECK(r.short_factor[5] == g_long[5] && r.long_factor[5] == g_short[5]);
            /* the rope's own cfg has no factor arrays: an error, rope unchanged */
            memcpy(&fresh, &r, sizeof r);
            CHECK(lcx_rope_init(&r, &r.cfg) == LCX_ERR_INVALID_ARG);
            CHECK(memcmp(&r, &fresh, sizeof r) == 0);
        } else {
            /* cfg itself inside the rope */
            CHECK(lcx_rope_init(&fresh, &fresh.cfg) == LCX_OK);
            CHECK(lcx_rope_init(&r, &r.cfg) == LCX_OK);
            CHECK(memcmp(&r, &fresh, sizeof r) == 0);
        }
        /* inv_freq into the rope's own array */
        memcpy(&fresh, &r, sizeof r);
        CHECK(lcx_rope_inv_freq(&r, r.inv_freq) == 32 && memcmp(&r, &fresh, sizeof r) == 0);
    }
}

/* Fields inside their documented ranges whose derived frequencies or attention
   factor are not finite and positive (or whose A is not a positive finite float):
   init returns LCX_ERR_INVALID_ARG and writes nothing. The old header accepted all
   of these and held NaN, Inf or 0. */
static void test_init_rejects_unusable_derived_values(void) {
    const lcx_rope_type all[] = {LCX_ROPE_DEFAULT, LCX_ROPE_LINEAR, LCX_ROPE_NTK, LCX_ROPE_DYNAMIC_NTK,
                                 LCX_ROPE_YARN, LCX_ROPE_LLAMA3, LCX_ROPE_LONGROPE, LCX_ROPE_CLEX};
    static lcx_rope r;
    lcx_rope_config c;
    char what[96];
    for (int k = 0; k < 8; k++) {
        /* theta^(-2i/d) overflows: i = 31 of d = 64 gives 1e-320^(-0.97) = Inf */
        c = valid_cfg(all[k], 64);
        c.theta = 1e-320;
        snprintf(what, sizeof what, "type %d: theta 1e-320", (int)all[k]);
        expect_init_fails(&c, LCX_ERR_INVALID_ARG, what);
        c.theta = 1e-300; /* 1e290: large, finite */
        if (all[k] != LCX_ROPE_YARN) CHECKF(lcx_rope_init(&r, &c) == LCX_OK, "type %d", (int)all[k]);
        /* an attention factor beyond float range: rejected by every type */
        c = valid_cfg(all[k], 64);
        c.attention_factor = 1e300;
        snprintf(what, sizeof what, "type %d: attention_factor 1e300", (int)all[k]);
        expect_init_fails(&c, LCX_ERR_INVALID_ARG, what);
        c.attention_factor = FLT_MAX;
        CHECKF(lcx_rope_init(&r, &c) == LCX_OK, "type %d: attention_factor FLT_MAX", (int)all[k]);
    }
    /* frequencies that underflow to 0 */
    {
        const lcx_rope_type t[] = {LCX_ROPE_LINEAR, LCX_ROPE_NTK, LCX_ROPE_LLAMA3};
        for (int k = 0; k < 3; k++) {
            c = valid_cfg(t[k], 64);
            c.theta = 1e300;
            c.factor = 1e308;
            snprintf(what, sizeof what, "type %d: theta 1e300, factor 1e308", (int)t[k]);
            expect_init_fails(&c, LCX_ERR_INVALID_ARG, what);
        }
    }
    /* DYNAMIC_NTK at seq_len 0: s*L0/L0 - (s-1) is 0 once s - 1 rounds to s */
    c = valid_cfg(LCX_ROPE_DYNAMIC_NTK, 64);
    c.factor = 1e17;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "dynamic factor 1e17");
    /* YaRN: the correction range or A not finite */
    c = valid_cfg(LCX_ROPE_YARN, 64);
    c.original_max_pos = 1000000; c.beta_fast = 1e-310; c.beta_slow = 5e-311;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "yarn beta_fast 1e-310");
    c = valid_cfg(LCX_ROPE_YARN, 64);
    c.original_max_pos = 4096; c.theta = 0.5; c.beta_fast = 1e308;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "yarn theta 0.5, beta_fast 1e308");
    c = valid_cfg(LCX_ROPE_YARN, 64);
    c.factor = 1e300; c.mscale = 1e308; c.mscale_all_dim = 1e308;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "yarn mscale Inf/Inf");
    c = valid_cfg(LCX_ROPE_YARN, 64);
    c.factor = 1e300; c.mscale = 1e308; c.mscale_all_dim = 1;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "yarn derived A Inf");
    c = valid_cfg(LCX_ROPE_YARN, 64);
    c.factor = 1e300; c.mscale = 1e300; c.mscale_all_dim = 1;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "yarn derived A 7e300");
    c = valid_cfg(LCX_ROPE_YARN, 64);
    c.attention_factor = 1e-50; /* 0 as a float */
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "yarn attention_factor 1e-50");
    c = valid_cfg(LCX_ROPE_LONGROPE, 64);
    c.attention_factor = 1e-50;
    expect_init_fails(&c, LCX_ERR_INVALID_ARG, "longrope attention_factor 1e-50");
    c.attention_factor = 1e-30;
    CHECK(lcx_rope_init(&r, &c) == LCX_OK && (float)r.attention_factor > 0.0f);
    /* LONGROPE: the long factors underflow (not used before seq_len > L0) */
    {
        static float big[NP];
        for (int i = 0; i < NP; i++) big[i] = 3e38f;
        c = valid_cfg(LCX_ROPE_LONGROPE, 64);
        c.theta = 1e300;
        c.long_factor = big;
        expect_init_fails(&c, LCX_ERR_INVALID_ARG, "longrope long factors underflow");
        c.long_factor = g_long;
        c.short_factor = big;
        expect_init_fails(&c, LCX_ERR_INVALID_ARG, "longrope short factors underflow");
        c.short_factor = g_short;
        CHECK(lcx_rope_init(&r, &c) == LCX_OK);
    }
    /* CLEX weights: every one of the n*H values is read (d = 64, p = 1: 2048) */
    {
        static float w[NP * 128];
        const float vals[] = {NAN, INFINITY, -INFINITY};
        lcx_clex_params p = g_clex;
        for (int j = 0; j < 3; j++) {
            for (int which = 0; which < 2; which++) {
                memcpy(w, which ? g_down : g_up, 2048 * sizeof(float));
                w[j == 0 ? 2047 : j * 700] = vals[j];
                p = g_clex;
                if (which) p.down_proj = w;
                else p.up_proj = w;
                c = valid_cfg(LCX_ROPE_CLEX, 64);
                c.clex = &p;
                snprintf(what, sizeof what, "clex %s[%d] = %g", which ? "down" : "up",
                         j == 0 ? 2047 : j * 700, (double)vals[j]);
                expect_init_fails(&c, LCX_ERR_INVALID_ARG, what);
            }
        }
        memcpy(w, g_up, 2048 * sizeof(float));
        w[2048] = NAN; /* beyond n*H: not read */
        p = g_clex;
        p.up_proj = w;
        c = valid_cfg(LCX_ROPE_CLEX, 64);
        c.clex = &p;
        CHECK(lcx_rope_init(&r, &c) == LCX_OK);
    }
}

/* lcx_rope_set_seq_len: recomputed frequencies that are not finite and positive give
   LCX_ERR_INVALID_ARG and leave the rope exactly as it was (seq_len included). */
static void test_set_seq_len_rejects_unusable_frequencies(void) {
    lcx_rope r, copy;
    double f[NP];
    /* DYNAMIC_NTK: alpha = s*L/L0 - (s-1) ~ 9e33 at L = 2^63-1 takes f_31 below 5e-324 */
    lcx_rope_config c = valid_cfg(LCX_ROPE_DYNAMIC_NTK, 64);
    c.theta = 1e308; c.factor = 1e15; c.original_max_pos = 1;
    CHECK(lcx_rope_init(&r, &c) == LCX_OK);
    CHECK(lcx_rope_set_seq_len(&r, 1000) == LCX_OK);
    lcx_rope_inv_freq(&r, f);
    CHECK(f[31] > 0.0);
    memcpy(&copy, &r, sizeof r);
    CHECK(lcx_rope_set_seq_len(&r, INT64_MAX) == LCX_ERR_INVALID_ARG);
    CHECK(memcmp(&r, &copy, sizeof r) == 0);
    CHECK(lcx_rope_set_seq_len(&r, 0) == LCX_OK && r.seq_len == 0);
    /* CLEX: an ODE (finite weights) whose log-frequencies fall by ~240 per unit of t:
       fine up to t = 4 (f ~ 1e-313), 0 from t = 5 on */
    {
        static float up[4 * 8], down[8 * 4];
        lcx_clex_params p;
        memset(&p, 0, sizeof p);
        for (int i = 0; i < 32; i++) { up[i] = 1.0f; down[i] = 30.0f; }
        p.param_factor = 1; p.max_factor = 8; p.time_dt = 0.1; p.up_proj = up; p.down_proj = down;
        c = cfg_of(LCX_ROPE_CLEX, 8, 0, 100);
        c.clex = &p;
        CHECK(lcx_rope_init(&r, &c) == LCX_OK);
        CHECK(lcx_rope_set_seq_len(&r, 300) == LCX_OK && r.clex_t == 3);
        memcpy(&copy, &r, sizeof r);
        CHECK(lcx_rope_set_seq_len(&r, 500) == LCX_ERR_INVALID_ARG);
        CHECK(memcmp(&r, &copy, sizeof r) == 0); /* t = 3 integrated again: same bits */
        CHECK(lcx_rope_set_seq_len(&r, 400) == LCX_OK && r.clex_t == 4);
        lcx_rope_inv_freq(&r, f);
        CHECK(f[3] > 0.0 && f[3] < 1e-300);
        memcpy(&copy, &r, sizeof r);
        CHECK(lcx_rope_set_seq_len(&r, 800) == LCX_ERR_INVALID_ARG);
        CHECK(memcmp(&r, &copy, sizeof r) == 0);
        CHECK(lcx_rope_set_seq_len(&r, 301) == LCX_OK && r.clex_t == 4 && r.seq_len == 301);
        CHECK(lcx_rope_set_seq_len(&r, 1) == LCX_OK && r.clex_t == 1);
        lcx_rope_inv_freq(&r, f);
        CHECK(f[0] == 1.0 && f[1] == pow(10000.0, -0.25));
    }
}

/* the struct is plain data: a copy works without the config's arrays */
static void test_rope_is_copyable_and_keeps_its_factors(void) {
    static float sf[NP], lf[NP];
    lcx_rope_config c = valid_cfg(LCX_ROPE_LONGROPE, 64);
    lcx_rope r, r2;
    double f[NP], f2[NP];
    memcpy(sf, g_short, sizeof sf);
    memcpy(lf, g_long, sizeof lf);
    c.short_factor = sf;
    c.long_factor = lf;
    CHECK(lcx_rope_init(&r, &c) == LCX_OK);
    CHECK(r.cfg.short_factor == NULL && r.cfg.long_factor == NULL);
    CHECK(r.cfg.rotary_dim == 64 && r.cfg.theta == 10000.0);
    memset(sf, 0, sizeof sf);
    memset(lf, 0, sizeof lf);
    memcpy(&r2, &r, sizeof r);
    CHECK(lcx_rope_set_seq_len(&r2, 5000) == LCX_OK);
    lcx_rope_inv_freq(&r2, f);
    for (int i = 0; i < 32; i++) f2[i] = own_default_freq(i, 64, 10000.0) / (double)g_long[i];
    for (int i = 0; i < 32; i++) CHECK_NEAR(f[i] / f2[i], 1.0, 1e-12);
    /* resolved defaults are visible */
    c = valid_cfg(LCX_ROPE_LLAMA3, 128);
    c.factor = 0; c.original_max_pos = 0;
    CHECK(lcx_rope_init(&r, &c) == LCX_OK);
    CHECK(r.cfg.factor == 8.0 && r.cfg.original_max_pos == 8192 && r.cfg.low_freq_factor == 1.0 &&
          r.cfg.high_freq_factor == 4.0);
    c = valid_cfg(LCX_ROPE_YARN, 128);
    CHECK(lcx_rope_init(&r, &c) == LCX_OK);
    CHECK(r.cfg.beta_fast == 32.0 && r.cfg.beta_slow == 1.0);
    CHECK_NEAR(r.attention_factor, 0.1 * log(4.0) + 1.0, 1e-15);
    CHECK(sizeof(lcx_rope) < 6000);
}

int main(void) {
    printf("test_rope: simd %s\n", lcx_simd_name());
    fill_globals();
    RUN(test_init_rejects_every_bad_config);
    RUN(test_calls_reject_bad_arguments_and_write_nothing);
    RUN(test_apply_matches_double_reference_on_random_shapes);
    RUN(test_long_range_positions_stay_accurate);
    RUN(test_long_position_error_matches_the_documented_bound);
    RUN(test_internal_sincos_matches_libm);
    RUN(test_cos_sin_tables_of_every_level_match_scalar);
    RUN(test_norm_is_preserved_up_to_attention_factor);
    RUN(test_shift_round_trip_and_composition);
    RUN(test_linear_at_scaled_position_equals_default);
    RUN(test_factor_one_equals_default);
    RUN(test_simd_levels_equal_scalar);
    RUN(test_threads_give_identical_bits);
    RUN(test_prefetching_calls_give_the_same_bits);
    RUN(test_cos_sin_matches_apply_on_unit_vectors);
    RUN(test_set_seq_len_behaviour);
    RUN(test_clex_with_zero_down_is_ntk);
    RUN(test_rerotate_equals_applying_the_new_state);
    RUN(test_random_valid_configs_give_finite_results);
    RUN(test_rope_is_copyable_and_keeps_its_factors);
    RUN(test_reinit_in_place_from_own_arrays);
    RUN(test_init_rejects_unusable_derived_values);
    RUN(test_set_seq_len_rejects_unusable_frequencies);
    return lcx_test_summary();
}
