/* tests/test_rope_golden.c - section 2 (>>rope) against the golden values computed
 * outside this project by the reference implementations (tests/data/README.md):
 *   rope_hf.json     inverse frequencies (2e-6 relative) and attention factors (1e-6)
 *                    of HF transformers' modeling_rope_utils.py, every case;
 *   rope_clex.json   CLEX frequencies of the CLEX authors' code (5e-5 relative) and the
 *                    integer scale t the module chose, every case;
 *   rope_apply.json  vectors rotated in float64 at positions up to 10^6 (2e-6 absolute),
 *                    every case, in both layouts.
 * The files are read from tests/data (the tests run from the repository root) or from
 * $LCX_TEST_DATA. A missing or malformed file is a failure, not a skip.
 */
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"
#include "runner.h"
#include "json.h"

#define NPAIR_MAX (LCX_ROPE_MAX_HEAD_DIM / 2)

static const double TOL_INV_FREQ = 2e-6;  /* relative; HF rounds to float32 */
static const double TOL_ATTN = 1e-6;      /* absolute, on factors of about 1 */
static const double TOL_CLEX = 5e-5;      /* relative; the reference integrates in float32 */
static const double TOL_APPLY = 2e-6;     /* absolute, |x| <= 1 */

static double rel_err(double got, double want) {
    double d = fabs(got - want) / fabs(want);
    return d == d ? d : INFINITY; /* NaN counts as the worst error */
}

static int parse_type(const char *s, lcx_rope_type *t) {
    static const struct { const char *name; lcx_rope_type type; } types[] = {
        {"default", LCX_ROPE_DEFAULT}, {"linear", LCX_ROPE_LINEAR},
        {"ntk", LCX_ROPE_NTK},         {"dynamic_ntk", LCX_ROPE_DYNAMIC_NTK},
        {"yarn", LCX_ROPE_YARN},       {"llama3", LCX_ROPE_LLAMA3},
        {"longrope", LCX_ROPE_LONGROPE}, {"clex", LCX_ROPE_CLEX}};
    for (size_t i = 0; s && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(s, types[i].name) == 0) { *t = types[i].type; return 1; }
    return 0;
}

/* The lcx_rope_config of a rope_hf.json case: fields under their lcx_rope_config names,
   a missing field is 0 (the default). short/long factors go to sf/lf (copied by init).
   `attention_factor` is an output, and an input only in the cases named "attn_given"
   (golden README). Returns 0 (and reports) when the case itself is malformed. */
static int hf_config(const jval *c, lcx_rope_layout layout, lcx_rope_config *cfg, float *sf,
                     float *lf) {
    const char *name = jstr(jget(c, "name"));
    memset(cfg, 0, sizeof *cfg);
    CHECKF(name && parse_type(jstr(jget(c, "type")), &cfg->type), "case %s: bad name or type",
           name ? name : "?");
    if (!name || !parse_type(jstr(jget(c, "type")), &cfg->type)) return 0;
    cfg->layout = layout;
    cfg->head_dim = (int)jnum(jget(c, "head_dim"), 0);
    cfg->rotary_dim = (int)jnum(jget(c, "rotary_dim"), 0);
    cfg->theta = jnum(jget(c, "theta"), 0);
    cfg->factor = jnum(jget(c, "factor"), 0);
    cfg->original_max_pos = (int64_t)jnum(jget(c, "original_max_pos"), 0);
    cfg->beta_fast = jnum(jget(c, "beta_fast"), 0);
    cfg->beta_slow = jnum(jget(c, "beta_slow"), 0);
    cfg->mscale = jnum(jget(c, "mscale"), 0);
    cfg->mscale_all_dim = jnum(jget(c, "mscale_all_dim"), 0);
    cfg->yarn_no_truncate = (int)jnum(jget(c, "yarn_no_truncate"), 0);
    cfg->low_freq_factor = jnum(jget(c, "low_freq_factor"), 0);
    cfg->high_freq_factor = jnum(jget(c, "high_freq_factor"), 0);
    if (strstr(name, "attn_given")) cfg->attention_factor = jnum(jget(c, "attention_factor"), 0);
    if (jget(c, "short_factor") || jget(c, "long_factor")) {
        int ns = jfloats(jget(c, "short_factor"), sf, NPAIR_MAX);
        int nl = jfloats(jget(c, "long_factor"), lf, NPAIR_MAX);
        CHECKF(ns > 0 && nl == ns, "case %s: bad short/long factors", name);
        if (ns <= 0 || nl != ns) return 0;
        cfg->short_factor = sf;
        cfg->long_factor = lf;
    }
    return 1;
}

/* Initialise *rope from a rope_hf.json case (and set its sequence length when the case
   has one); 0 on failure, reported. */
static int hf_rope(const jval *c, lcx_rope_layout layout, lcx_rope *rope) {
    lcx_rope_config cfg;
    float sf[NPAIR_MAX], lf[NPAIR_MAX];
    const char *name = jstr(jget(c, "name"));
    if (!hf_config(c, layout, &cfg, sf, lf)) return 0;
    lcx_status st = lcx_rope_init(rope, &cfg);
    CHECKF(st == LCX_OK, "case %s: lcx_rope_init: %s", name, lcx_status_string(st));
    if (st != LCX_OK) return 0;
    if (jget(c, "seq_len")) {
        st = lcx_rope_set_seq_len(rope, (int64_t)jnum(jget(c, "seq_len"), 0));
        CHECKF(st == LCX_OK, "case %s: lcx_rope_set_seq_len: %s", name, lcx_status_string(st));
        if (st != LCX_OK) return 0;
    }
    return 1;
}

static jval *load_cases(const char *file, jval **doc) {
    *doc = jload(file);
    jval *cases = jget(*doc, "cases");
    CHECKF(jlen(cases) > 0, "%s/%s: missing, malformed or without cases", jdata_dir(), file);
    return jlen(cases) > 0 ? cases : NULL;
}

/* ---- rope_hf.json ------------------------------------------------------------ */
static void test_golden_hf_inv_freq_and_attention_factor(void) {
    jval *doc, *cases = load_cases("rope_hf.json", &doc);
    int n_cases = 0, n_freq = 0, types_seen = 0;
    double max_f = 0, max_a = 0;
    for (int k = 0; k < jlen(cases); k++) {
        const jval *c = jat(cases, k);
        const char *name = jstr(jget(c, "name"));
        double want[NPAIR_MAX], got[NPAIR_MAX];
        lcx_rope_type type;
        if (parse_type(jstr(jget(c, "type")), &type)) types_seen |= 1 << (int)type;
        int n = jdoubles(jget(c, "inv_freq"), want, NPAIR_MAX);
        lcx_rope rope;
        CHECKF(n > 0, "case %s: no inv_freq", name ? name : "?");
        if (n <= 0 || !hf_rope(c, LCX_ROPE_HALF, &rope)) continue;
        int rd = (int)jnum(jget(c, "rotary_dim"), jnum(jget(c, "head_dim"), 0));
        CHECKF(n == rd / 2, "case %s: %d frequencies in the file for rotary_dim %d", name, n, rd);
        int got_n = lcx_rope_inv_freq(&rope, got);
        CHECKF(got_n == n, "case %s: lcx_rope_inv_freq gave %d values, want %d", name, got_n, n);
        if (got_n != n) continue;
        for (int i = 0; i < n; i++) {
            double e = rel_err(got[i], want[i]);
            CHECKF(e <= TOL_INV_FREQ, "case %s: inv_freq[%d] expected %.9g got %.9g (rel %.3g)",
                   name, i, want[i], got[i], e);
            if (e > max_f) max_f = e;
        }
        double wa = jnum(jget(c, "attention_factor"), NAN), ga = lcx_rope_attention_factor(&rope);
        double ea = fabs(ga - wa);
        ea = ea == ea ? ea : INFINITY;
        CHECKF(ea <= TOL_ATTN, "case %s: attention_factor expected %.9g got %.9g", name, wa, ga);
        if (ea > max_a) max_a = ea;
        n_cases++;
        n_freq += n;
    }
    /* the file covers every type HF has (all but CLEX), so none goes unchecked */
    CHECKF(types_seen == (1 << (int)LCX_ROPE_CLEX) - 1, "rope_hf.json covers types 0x%x only",
           (unsigned)types_seen);
    printf("golden rope_hf.json: %d cases, %d frequencies, max rel err inv_freq %.3g (tol %.0e), "
           "max err attention_factor %.3g (tol %.0e)\n",
           n_cases, n_freq, max_f, TOL_INV_FREQ, max_a, TOL_ATTN);
    jfree(doc);
}

/* ---- rope_clex.json ---------------------------------------------------------- */

/* A [rows][cols] nested array flattened row-major into a new float array; NULL when the
   shape differs. */
static float *flatten(const jval *m, int rows, int cols) {
    if (jlen(m) != rows) return NULL;
    float *out = (float *)malloc((size_t)rows * (size_t)cols * sizeof *out);
    for (int r = 0; out && r < rows; r++)
        if (jfloats(jat(m, r), out + (size_t)r * (size_t)cols, cols) != cols) { free(out); return NULL; }
    return out;
}

/* Frequencies of `rope` at sequence length L; 0 when set_seq_len fails. */
static int freqs_at(lcx_rope *rope, int64_t L, double *f) {
    return lcx_rope_set_seq_len(rope, L) == LCX_OK ? lcx_rope_inv_freq(rope, f) : 0;
}
static int same_freqs(const double *a, const double *b, int n) {
    return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

static void test_golden_clex_inv_freq_and_scale(void) {
    jval *doc, *cases = load_cases("rope_clex.json", &doc);
    int n_cases = 0, n_freq = 0, n_t = 0, acts_seen = 0;
    double max_f = 0;
    for (int k = 0; k < jlen(cases); k++) {
        const jval *c = jat(cases, k);
        const char *name = jstr(jget(c, "name")), *act = jstr(jget(c, "act"));
        int d = (int)jnum(jget(c, "rotary_dim"), 0), p = (int)jnum(jget(c, "param_factor"), 0);
        int64_t L0 = (int64_t)jnum(jget(c, "original_max_pos"), 0);
        int64_t L = (int64_t)jnum(jget(c, "seq_len"), 0);
        int max_t = (int)jnum(jget(c, "max_factor"), 0), t = (int)jnum(jget(c, "t"), 0);
        double want[NPAIR_MAX], got[NPAIR_MAX], probe[NPAIR_MAX];
        int n = jdoubles(jget(c, "inv_freq"), want, NPAIR_MAX);
        float *up = flatten(jget(c, "up_proj"), d / 2, p * d);
        float *down = flatten(jget(c, "down_proj"), p * d, d / 2);
        CHECKF(name && act && n == d / 2 && n > 0 && L0 > 0 && L > 0 && max_t > 0 && up && down,
               "case %s: malformed", name ? name : "?");
        if (!(name && act && n == d / 2 && n > 0 && L0 > 0 && L > 0 && max_t > 0 && up && down)) {
            free(up);
            free(down);
            continue;
        }
        lcx_clex_params cp;
        memset(&cp, 0, sizeof cp);
        cp.param_factor = p;
        cp.act = strcmp(act, "silu") == 0 ? LCX_CLEX_SILU : LCX_CLEX_TANH;
        acts_seen |= 1 << (int)cp.act;
        CHECKF(strcmp(act, "silu") == 0 || strcmp(act, "tanh") == 0, "case %s: act %s", name, act);
        cp.max_factor = max_t;
        cp.time_dt = jnum(jget(c, "time_dt"), 0);
        cp.up_proj = up;
        cp.down_proj = down;
        lcx_rope_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.type = LCX_ROPE_CLEX;
        cfg.head_dim = cfg.rotary_dim = d;
        cfg.theta = jnum(jget(c, "theta"), 0);
        cfg.original_max_pos = L0;
        cfg.clex = &cp;
        lcx_rope rope;
        lcx_status st = lcx_rope_init(&rope, &cfg);
        CHECKF(st == LCX_OK, "case %s: lcx_rope_init: %s", name, lcx_status_string(st));
        int got_n = st == LCX_OK ? freqs_at(&rope, L, got) : 0;
        CHECKF(got_n == n, "case %s: %d frequencies, want %d", name, got_n, n);
        if (got_n == n) {
            for (int i = 0; i < n; i++) {
                double e = rel_err(got[i], want[i]);
                CHECKF(e <= TOL_CLEX, "case %s: inv_freq[%d] expected %.9g got %.9g (rel %.3g)",
                       name, i, want[i], got[i], e);
                if (e > max_f) max_f = e;
            }
            CHECK_NEAR(lcx_rope_attention_factor(&rope), jnum(jget(c, "attention_factor"), 1.0),
                       TOL_ATTN);
            /* t = ceil(L / L0) clamped to [1, max_factor] (REFERENCES.md) is the scale the
               reference chose ... */
            int64_t tf = (L + L0 - 1) / L0;
            tf = tf < 1 ? 1 : tf > max_t ? max_t : tf;
            CHECKF(tf == t, "case %s: file says t = %d, the formula gives %lld", name, t, (long long)tf);
            /* ... and the one the library chose: it says so (lcx_rope.clex_t), every length
               with the same t gives the same frequencies, the neighbouring t's give others. */
            CHECKF(rope.clex_t == t, "case %s: lcx_rope.clex_t = %d, want %d", name, rope.clex_t, t);
            CHECKF(freqs_at(&rope, t * L0, probe) == n && same_freqs(probe, got, n),
                   "case %s: frequencies at L=%lld differ from L=%lld (same t=%d)", name,
                   (long long)(t * L0), (long long)L, t);
            if (t > 1)
                CHECKF(freqs_at(&rope, (t - 1) * L0, probe) == n && !same_freqs(probe, got, n),
                       "case %s: t=%d and t=%d give the same frequencies", name, t - 1, t);
            if (t < max_t)
                CHECKF(freqs_at(&rope, t * L0 + 1, probe) == n && !same_freqs(probe, got, n),
                       "case %s: t=%d and t=%d give the same frequencies", name, t + 1, t);
            else
                CHECKF(freqs_at(&rope, 4 * max_t * L0, probe) == n && same_freqs(probe, got, n),
                       "case %s: t is not clamped to max_factor %d", name, max_t);
            /* back to L: the state follows the latest length, not the first */
            CHECKF(freqs_at(&rope, L, probe) == n && same_freqs(probe, got, n),
                   "case %s: frequencies at L=%lld changed after other lengths", name, (long long)L);
            n_t++;
        }
        n_cases++;
        n_freq += n;
        free(up);
        free(down);
    }
    CHECKF(acts_seen == 3, "rope_clex.json: not both activations (0x%x)", (unsigned)acts_seen);
    printf("golden rope_clex.json: %d cases, %d frequencies, max rel err inv_freq %.3g (tol %.0e), "
           "t checked in %d cases\n",
           n_cases, n_freq, max_f, TOL_CLEX, n_t);
    jfree(doc);
}

/* ---- rope_apply.json --------------------------------------------------------- */
#define MAX_POS 64
typedef struct {
    const char *name, *layout; /* the rope_hf case and "half" / "interleaved" */
    lcx_rope rope;             /* built from that case, in that layout */
    int hd, np;                /* vector length, number of positions */
    float x[LCX_ROPE_MAX_HEAD_DIM];
    int64_t pos[MAX_POS];
    const jval *out;           /* [np][hd] expected */
} apply_case;

/* Case k of rope_apply.json with its rope_hf.json config; 0 (reported) when malformed. */
static int load_apply_case(const jval *hf, const jval *c, int k, apply_case *a) {
    const jval *ref = NULL, *pj = jget(c, "positions");
    a->name = jstr(jget(c, "case"));
    a->layout = jstr(jget(c, "layout"));
    for (int j = 0; a->name && j < jlen(hf); j++)
        if (jstr(jget(jat(hf, j), "name")) && strcmp(jstr(jget(jat(hf, j), "name")), a->name) == 0)
            ref = jat(hf, j);
    a->out = jget(c, "out");
    a->np = jlen(pj);
    a->hd = jlen(jget(c, "x"));
    int ok = ref && a->layout && (strcmp(a->layout, "half") == 0 || strcmp(a->layout, "interleaved") == 0) &&
             a->np > 0 && a->np <= MAX_POS && jlen(a->out) == a->np && a->hd > 0 &&
             a->hd <= LCX_ROPE_MAX_HEAD_DIM && (int)jnum(jget(ref, "head_dim"), 0) == a->hd &&
             jfloats(jget(c, "x"), a->x, a->hd) == a->hd;
    CHECKF(ok, "apply case %d (%s, %s): malformed or no such rope_hf case", k,
           a->name ? a->name : "?", a->layout ? a->layout : "?");
    if (!ok) return 0;
    for (int t = 0; t < a->np; t++) a->pos[t] = (int64_t)jnum(jat(pj, t), -1);
    if (!hf_rope(ref, strcmp(a->layout, "half") == 0 ? LCX_ROPE_HALF : LCX_ROPE_INTERLEAVED, &a->rope))
        return 0;
    CHECK_NEAR(lcx_rope_attention_factor(&a->rope), jnum(jget(c, "attention_factor"), NAN), TOL_ATTN);
    return 1;
}

/* Compare v[0..hd) with the expected vector t of a; returns the largest error. */
static double compare_out(const apply_case *a, int t, const float *v, const char *how) {
    double want[LCX_ROPE_MAX_HEAD_DIM], max_e = 0;
    CHECKF(jdoubles(jat(a->out, t), want, a->hd) == a->hd, "apply %s: out[%d] malformed", a->name, t);
    if (jdoubles(jat(a->out, t), want, a->hd) != a->hd) return INFINITY;
    for (int i = 0; i < a->hd; i++) {
        double e = fabs((double)v[i] - want[i]);
        e = e == e ? e : INFINITY;
        CHECKF(e <= TOL_APPLY, "%s %s %s pos %lld: out[%d] expected %.9g got %.9g", how, a->name,
               a->layout, (long long)a->pos[t], i, want[i], (double)v[i]);
        if (e > max_e) max_e = e;
    }
    return max_e;
}

static void test_golden_apply_both_layouts_to_1e6(void) {
    jval *hf_doc, *hf = load_cases("rope_hf.json", &hf_doc);
    jval *doc, *cases = load_cases("rope_apply.json", &doc);
    int n_cases = 0, n_vec = 0;
    double max_e = 0;
    static apply_case a;
    for (int k = 0; hf && k < jlen(cases); k++) {
        if (!load_apply_case(hf, jat(cases, k), k, &a)) continue;
        /* Two shapes: np tokens of one head, contiguous; and np tokens of 3 heads in rows
           padded to a wider stride (a fused buffer): the padding must stay untouched. */
        const int heads[2] = {1, 3}, pad[2] = {0, 5};
        for (int s = 0; s < 2; s++) {
            int64_t stride = (int64_t)heads[s] * a.hd + pad[s];
            float *buf = (float *)malloc((size_t)(a.np * stride) * sizeof *buf);
            if (!buf) continue;
            for (int64_t i = 0; i < a.np * stride; i++) buf[i] = -7.0f; /* padding sentinel */
            for (int t = 0; t < a.np; t++)
                for (int h = 0; h < heads[s]; h++)
                    memcpy(buf + t * stride + h * a.hd, a.x, (size_t)a.hd * sizeof(float));
            lcx_status st = lcx_rope_apply(&a.rope, buf, a.np, heads[s], stride, a.pos);
            CHECKF(st == LCX_OK, "apply %s %s: %s", a.name, a.layout, lcx_status_string(st));
            for (int t = 0; st == LCX_OK && t < a.np; t++) {
                for (int h = 0; h < heads[s]; h++, n_vec++) {
                    double e = compare_out(&a, t, buf + t * stride + h * a.hd,
                                           heads[s] == 1 ? "apply" : "apply (3 heads, strided)");
                    if (e > max_e) max_e = e;
                }
                for (int i = heads[s] * a.hd; i < stride; i++)
                    CHECKF(buf[t * stride + i] == -7.0f, "apply %s: padding written at token %d", a.name, t);
            }
            free(buf);
        }
        n_cases++;
    }
    printf("golden rope_apply.json: %d cases, %d vectors, max abs err %.3g (tol %.0e)\n", n_cases,
           n_vec, max_e, TOL_APPLY);
    jfree(doc);
    jfree(hf_doc);
}

/* The same expected vectors reached three other ways: rotating x in the test with the
   table of lcx_rope_cos_sin; lcx_rope_apply at position 0 then lcx_rope_shift by p; and
   lcx_rope_apply with plain RoPE at p then lcx_rope_rerotate to the case's rope. */
static void test_golden_apply_via_cos_sin_shift_rerotate(void) {
    jval *hf_doc, *hf = load_cases("rope_hf.json", &hf_doc);
    jval *doc, *cases = load_cases("rope_apply.json", &doc);
    int n_cases = 0;
    double max_e[3] = {0, 0, 0};
    static apply_case a;
    for (int k = 0; hf && k < jlen(cases); k++) {
        if (!load_apply_case(hf, jat(cases, k), k, &a)) continue;
        lcx_rope plain;
        lcx_rope_config pc;
        memset(&pc, 0, sizeof pc);
        pc.head_dim = a.rope.cfg.head_dim;
        pc.rotary_dim = a.rope.cfg.rotary_dim;
        pc.theta = a.rope.cfg.theta;
        pc.layout = a.rope.cfg.layout;
        CHECK(lcx_rope_init(&plain, &pc) == LCX_OK);
        int n = lcx_rope_inv_freq(&a.rope, NULL), half = a.rope.cfg.layout == LCX_ROPE_HALF;
        for (int t = 0; t < a.np; t++) {
            float v[LCX_ROPE_MAX_HEAD_DIM], cs[LCX_ROPE_MAX_HEAD_DIM / 2], sn[LCX_ROPE_MAX_HEAD_DIM / 2];
            double e;
            /* cos_sin: pairs (i, i + n) or (2i, 2i + 1) rotated here, in double */
            memcpy(v, a.x, (size_t)a.hd * sizeof *v);
            CHECK(lcx_rope_cos_sin(&a.rope, a.pos[t], cs, sn) == LCX_OK);
            for (int i = 0; i < n; i++) {
                int p = half ? i : 2 * i, q = half ? i + n : 2 * i + 1;
                double xa = a.x[p], xb = a.x[q];
                v[p] = (float)(xa * cs[i] - xb * sn[i]);
                v[q] = (float)(xb * cs[i] + xa * sn[i]);
            }
            if ((e = compare_out(&a, t, v, "cos_sin")) > max_e[0]) max_e[0] = e;
            /* apply at 0 (the attention factor only), then shift by the position */
            int64_t zero = 0;
            memcpy(v, a.x, (size_t)a.hd * sizeof *v);
            CHECK(lcx_rope_apply(&a.rope, v, 1, 1, a.hd, &zero) == LCX_OK);
            CHECK(lcx_rope_shift(&a.rope, v, 1, 1, a.hd, &a.pos[t]) == LCX_OK);
            if ((e = compare_out(&a, t, v, "apply(0)+shift")) > max_e[1]) max_e[1] = e;
            /* plain RoPE at the position, then moved to this rope's frequencies */
            memcpy(v, a.x, (size_t)a.hd * sizeof *v);
            CHECK(lcx_rope_apply(&plain, v, 1, 1, a.hd, &a.pos[t]) == LCX_OK);
            CHECK(lcx_rope_rerotate(&plain, &a.rope, v, 1, 1, a.hd, &a.pos[t]) == LCX_OK);
            if ((e = compare_out(&a, t, v, "rerotate")) > max_e[2]) max_e[2] = e;
        }
        n_cases++;
    }
    printf("golden rope_apply.json via other entry points: %d cases, max abs err cos_sin %.3g, "
           "apply(0)+shift %.3g, rerotate %.3g (tol %.0e)\n",
           n_cases, max_e[0], max_e[1], max_e[2], TOL_APPLY);
    jfree(doc);
    jfree(hf_doc);
}

int main(void) {
    RUN(test_golden_hf_inv_freq_and_attention_factor);
    RUN(test_golden_clex_inv_freq_and_scale);
    RUN(test_golden_apply_both_layouts_to_1e6);
    RUN(test_golden_apply_via_cos_sin_shift_rerotate);
    return lcx_test_summary();
}
