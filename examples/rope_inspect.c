/* examples/rope_inspect.c - check a model's RoPE settings against HF's behaviour.
 *
 *   rope_inspect --type yarn --head-dim 128 --theta 10000 --factor 4 --original-max-pos 4096
 *
 * Give the settings from the model's config.json (rope_theta, rope_scaling, head_dim) and it
 * prints, per frequency pair, the inverse frequency longctx computes, its wavelength in tokens,
 * the scale applied relative to plain RoPE and what that scale is:
 *   extrapolated  unchanged (scale 1): high frequencies, seen rotating in pre-training
 *   interpolated  scale == factor: positions squeezed into the pre-trained range
 *   blended       in between (YaRN's ramp, Llama 3's smooth band)
 *   scaled        NTK-style: each pair scaled by its own amount (ntk, dynamic_ntk, longrope, clex)
 * plus the attention factor that multiplies cos and sin. `--golden` prints the same values as
 * one JSON object shaped like a case of tests/data/rope_hf.json, to diff against HF's output.
 *
 * CLEX needs the model's learned ODE weights, which no command line holds: `--clex-random SEED`
 * demonstrates it with small random weights (uniform in +-0.01; param_factor 1, tanh,
 * max_factor = --factor or 8, time_dt 0.01). Without it, --type clex is refused with that explanation.
 *
 * Exit status: 0 ok, 1 longctx rejected the configuration (its status is printed), 2 usage.
 * LCX_EXAMPLE_QUICK=1 and no arguments: runs the YaRN example above (the test suite does).
 */
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAIRS (LCX_ROPE_MAX_HEAD_DIM / 2)
static const double PI = 3.14159265358979323846;

static const char *const type_names[] = {"default", "linear", "ntk", "dynamic_ntk", "yarn",
                                         "llama3", "longrope", "clex"}; /* lcx_rope_type order */

static void usage(FILE *f) {
    fprintf(f,
            "usage: rope_inspect --type T --head-dim N [options]\n"
            "  --type T                default linear ntk dynamic_ntk yarn llama3 longrope clex\n"
            "  --head-dim N            (required) --rotary-dim N (partial rotary; default head-dim)\n"
            "  --theta X               rope_theta (default 10000)\n"
            "  --factor S              rope_scaling.factor\n"
            "  --original-max-pos N    original_max_position_embeddings\n"
            "  --beta-fast X --beta-slow X --mscale X --mscale-all-dim X --no-truncate   (yarn)\n"
            "  --attention-factor X    (yarn, longrope; default: derived)\n"
            "  --low-freq-factor X --high-freq-factor X                              (llama3)\n"
            "  --short-factor a,b,...  --long-factor a,b,...   rotary-dim/2 values each (longrope)\n"
            "  --clex-random SEED      clex with small random weights (a demo)\n"
            "  --seq-len L             current length (dynamic_ntk, longrope, clex)\n"
            "  --layout half|interleaved   which dimensions form pair i (default half)\n"
            "  --golden [--name NAME]  print one JSON object shaped like a rope_hf.json case\n"
            "                          (clex: like a rope_clex.json case, weights included)\n");
}

static int bad(const char *opt, const char *val) {
    fprintf(stderr, "rope_inspect: bad value for %s: '%s'\n", opt, val ? val : "(missing)");
    usage(stderr);
    return 2;
}

/* a whole-string finite number */
static int parse_num(const char *s, double *out) {
    char *end = NULL;
    if (!s || !*s) return 0;
    *out = strtod(s, &end);
    return *end == 0 && isfinite(*out);
}

/* comma-separated numbers into out[max]; the count, or -1 */
static int parse_list(const char *s, float *out, int max) {
    int n = 0;
    while (s && *s) {
        char *end = NULL;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v) || n >= max || (*end != ',' && *end != 0) ||
            (*end == ',' && end[1] == 0))
            return -1;
        out[n++] = (float)v;
        s = *end ? end + 1 : end;
    }
    return n > 0 ? n : -1;
}

/* the shortest decimal that reads back as the same float (1.0897, not 1.08969998) */
static void print_float(const char *sep, float v) {
    char buf[32];
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)v);
        if ((float)strtod(buf, NULL) == v) break;
    }
    printf("%s%s", sep, buf);
}

static double splitmix(uint64_t *s) { /* uniform in [-1, 1) */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

int main(int argc, char **argv) {
    static char *quick_argv[] = {"rope_inspect", "--type", "yarn", "--head-dim", "128", "--theta",
                                 "10000", "--factor", "4", "--original-max-pos", "4096", NULL};
    const char *q = getenv("LCX_EXAMPLE_QUICK");
    if (argc == 1 && q && q[0] && q[0] != '0') {
        argc = (int)(sizeof quick_argv / sizeof quick_argv[0]) - 1;
        argv = quick_argv;
    }

    lcx_rope_config cfg;
    memset(&cfg, 0, sizeof cfg);
    static float short_f[MAX_PAIRS], long_f[MAX_PAIRS];
    int n_short = 0, n_long = 0, golden = 0, have_type = 0, clex_random = 0;
    double head_dim = 0, rotary_dim = 0, original_max_pos = 0, seq_len = 0, seed = 0;
    const char *name = NULL;
    /* options with a number, straight into their lcx_rope_config field or a local */
    const struct { const char *opt; double *dst; int integer; } num_opts[] = {
        {"--head-dim", &head_dim, 1}, {"--rotary-dim", &rotary_dim, 1},
        {"--theta", &cfg.theta, 0}, {"--factor", &cfg.factor, 0},
        {"--original-max-pos", &original_max_pos, 1}, {"--beta-fast", &cfg.beta_fast, 0},
        {"--beta-slow", &cfg.beta_slow, 0}, {"--mscale", &cfg.mscale, 0},
        {"--mscale-all-dim", &cfg.mscale_all_dim, 0}, {"--attention-factor", &cfg.attention_factor, 0},
        {"--low-freq-factor", &cfg.low_freq_factor, 0}, {"--high-freq-factor", &cfg.high_freq_factor, 0},
        {"--seq-len", &seq_len, 1}, {"--clex-random", &seed, 1}};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) { usage(stdout); return 0; }
        if (strcmp(o, "--golden") == 0) { golden = 1; continue; }
        if (strcmp(o, "--no-truncate") == 0) { cfg.yarn_no_truncate = 1; continue; }
        i++; /* every other option takes a value */
        int known = 0;
        for (size_t k = 0; k < sizeof num_opts / sizeof num_opts[0]; k++) {
            if (strcmp(o, num_opts[k].opt) != 0) continue;
            double x;
            if (!parse_num(v, &x) || (num_opts[k].integer && (x != floor(x) || x < 0 || x > 9e15)))
                return bad(o, v);
            *num_opts[k].dst = x;
            known = 1;
        }
        if (known) {
            if (strcmp(o, "--clex-random") == 0) clex_random = 1;
        } else if (strcmp(o, "--type") == 0) {
            int t = -1;
            for (int k = 0; v && k < 8; k++) if (strcmp(v, type_names[k]) == 0) t = k;
            if (t < 0) return bad(o, v);
            cfg.type = (lcx_rope_type)t;
            have_type = 1;
        } else if (strcmp(o, "--layout") == 0) {
            if (v && strcmp(v, "half") == 0) cfg.layout = LCX_ROPE_HALF;
            else if (v && strcmp(v, "interleaved") == 0) cfg.layout = LCX_ROPE_INTERLEAVED;
            else return bad(o, v);
        } else if (strcmp(o, "--name") == 0) {
            if (!(name = v)) return bad(o, v);
        } else if (strcmp(o, "--short-factor") == 0) {
            if ((n_short = parse_list(v, short_f, MAX_PAIRS)) < 0) return bad(o, v);
        } else if (strcmp(o, "--long-factor") == 0) {
            if ((n_long = parse_list(v, long_f, MAX_PAIRS)) < 0) return bad(o, v);
        } else {
            fprintf(stderr, "rope_inspect: unknown option %s\n", o);
            usage(stderr);
            return 2;
        }
    }
    /* out-of-range dimensions become values longctx rejects (exit 1 with its status) */
    cfg.head_dim = head_dim <= LCX_ROPE_MAX_HEAD_DIM ? (int)head_dim : -1;
    cfg.rotary_dim = rotary_dim <= LCX_ROPE_MAX_HEAD_DIM ? (int)rotary_dim : -1;
    cfg.original_max_pos = (int64_t)original_max_pos;
    if (!have_type || cfg.head_dim == 0) {
        fprintf(stderr, "rope_inspect: --type and --head-dim are required\n");
        usage(stderr);
        return 2;
    }
    int rd = cfg.rotary_dim ? cfg.rotary_dim : cfg.head_dim, n = rd / 2;
    if (cfg.type == LCX_ROPE_LONGROPE) {
        if (n_short != n || n_long != n) {
            fprintf(stderr, "rope_inspect: longrope needs --short-factor and --long-factor with "
                            "rotary-dim/2 = %d values each (got %d and %d)\n", n, n_short, n_long);
            return 2;
        }
        cfg.short_factor = short_f;
        cfg.long_factor = long_f;
    }

    /* CLEX: the learned ODE (up_proj [n][p*rd], down_proj [p*rd][n]) comes from the model's
       checkpoint; here, small random weights of that shape with p = 1. */
    lcx_clex_params clex;
    float *w = NULL;
    if (cfg.type == LCX_ROPE_CLEX) {
        if (!clex_random) {
            fprintf(stderr, "rope_inspect: CLEX frequencies come from the model's learned ODE "
                            "weights (up_proj/down_proj), which no command line holds; use "
                            "--clex-random SEED to see it with small random weights\n");
            return 2;
        }
        size_t nw = rd > 0 && rd <= LCX_ROPE_MAX_HEAD_DIM ? (size_t)n * (size_t)rd : 0;
        w = (float *)malloc((2 * nw + 1) * sizeof *w);
        if (!w) return 1;
        uint64_t s = (uint64_t)seed;
        for (size_t k = 0; k < 2 * nw; k++) w[k] = (float)(0.01 * splitmix(&s));
        memset(&clex, 0, sizeof clex);
        clex.param_factor = 1;
        clex.act = LCX_CLEX_TANH;
        clex.max_factor = cfg.factor >= 1 ? (int)cfg.factor : 8;
        clex.time_dt = 0.01;
        clex.up_proj = w;
        clex.down_proj = w + nw;
        cfg.clex = &clex;
    }

    /* The model's rope, and plain RoPE with the same theta to compare against. */
    lcx_rope rope, plain;
    lcx_rope_config pc;
    memset(&pc, 0, sizeof pc);
    pc.head_dim = cfg.head_dim;
    pc.rotary_dim = cfg.rotary_dim;
    pc.theta = cfg.theta;
    lcx_status st = lcx_rope_init(&rope, &cfg);
    if (st == LCX_OK && seq_len > 0) st = lcx_rope_set_seq_len(&rope, (int64_t)seq_len);
    if (st == LCX_OK) st = lcx_rope_init(&plain, &pc);
    if (st != LCX_OK) {
        fprintf(stderr, "rope_inspect: longctx rejected this configuration: %s\n",
                lcx_status_string(st));
        free(w);
        return 1;
    }
    double f[MAX_PAIRS], f0[MAX_PAIRS];
    n = lcx_rope_inv_freq(&rope, f);
    lcx_rope_inv_freq(&plain, f0);
    double attn = lcx_rope_attention_factor(&rope);
    const char *tname = type_names[cfg.type];

    if (golden && cfg.type == LCX_ROPE_CLEX) { /* the shape of a rope_clex.json case */
        int H = clex.param_factor * rd;
        printf("{\"name\": \"%s\", \"rotary_dim\": %d, \"theta\": %.17g, \"original_max_pos\": %lld, "
               "\"max_factor\": %d, \"param_factor\": %d, \"act\": \"tanh\", \"time_dt\": %.17g, "
               "\"seq_len\": %.0f, \"t\": %d",
               name ? name : "rope_inspect", rd, rope.cfg.theta, (long long)rope.cfg.original_max_pos,
               clex.max_factor, clex.param_factor, clex.time_dt, seq_len, rope.clex_t);
        for (int m = 0; m < 2; m++) { /* up_proj [n][H], down_proj [H][n] */
            int rows = m ? H : n, cols = m ? n : H;
            const float *src = m ? clex.down_proj : clex.up_proj;
            printf(", \"%s\": [", m ? "down_proj" : "up_proj");
            for (int i = 0; i < rows; i++) {
                printf("%s[", i ? ", " : "");
                for (int j = 0; j < cols; j++) print_float(j ? ", " : "", src[(size_t)i * (size_t)cols + (size_t)j]);
                printf("]");
            }
            printf("]");
        }
    } else if (golden) { /* the inputs that were given, under their lcx_rope_config names */
        printf("{\"name\": \"%s\", \"type\": \"%s\", \"head_dim\": %d, \"rotary_dim\": %d, "
               "\"theta\": %.17g", name ? name : "rope_inspect", tname, cfg.head_dim, rd,
               cfg.theta ? cfg.theta : 10000.0);
#define FIELD(key, v) if (v) printf(", \"" key "\": %.17g", (double)(v))
        FIELD("factor", cfg.factor);
        FIELD("original_max_pos", cfg.original_max_pos);
        FIELD("beta_fast", cfg.beta_fast);
        FIELD("beta_slow", cfg.beta_slow);
        FIELD("mscale", cfg.mscale);
        FIELD("mscale_all_dim", cfg.mscale_all_dim);
        FIELD("yarn_no_truncate", cfg.yarn_no_truncate);
        FIELD("low_freq_factor", cfg.low_freq_factor);
        FIELD("high_freq_factor", cfg.high_freq_factor);
        FIELD("seq_len", seq_len);
#undef FIELD
        for (int l = 0; cfg.type == LCX_ROPE_LONGROPE && l < 2; l++) {
            printf(", \"%s\": [", l ? "long_factor" : "short_factor");
            for (int i = 0; i < n; i++) print_float(i ? ", " : "", (l ? long_f : short_f)[i]);
            printf("]");
        }
    }
    if (golden) { /* both shapes end with the frequencies and the attention factor */
        printf(", \"inv_freq\": [");
        for (int i = 0; i < n; i++) printf("%s%.17g", i ? ", " : "", f[i]);
        printf("], \"attention_factor\": %.17g}\n", attn);
        free(w);
        return 0;
    }

    /* rope.cfg holds the configuration as longctx resolved it: every zero replaced by
       its default */
    const lcx_rope_config *r = &rope.cfg;
    printf("RoPE %s: head_dim %d, rotary_dim %d%s, theta %g, layout %s\n", tname, r->head_dim,
           r->rotary_dim, r->rotary_dim < r->head_dim ? " (partial: the rest passes through)" : "",
           r->theta, r->layout == LCX_ROPE_HALF ? "half (NeoX/HF)" : "interleaved (GPT-J)");
    if (r->type == LCX_ROPE_LLAMA3)
        printf("  factor %g, original_max_pos %lld, low_freq_factor %g, high_freq_factor %g\n",
               r->factor, (long long)r->original_max_pos, r->low_freq_factor, r->high_freq_factor);
    else if (r->type == LCX_ROPE_CLEX)
        printf("  original_max_pos %lld, random ODE weights (seed %.0f): param_factor 1, tanh, "
               "max_factor %d, time_dt 0.01\n", (long long)r->original_max_pos, seed, clex.max_factor);
    else if (r->type != LCX_ROPE_DEFAULT)
        printf("  factor %g, original_max_pos %lld\n", r->factor, (long long)r->original_max_pos);
    if (r->type == LCX_ROPE_YARN)
        printf("  beta_fast %g, beta_slow %g, correction range %s, mscale %g, mscale_all_dim %g%s\n",
               r->beta_fast, r->beta_slow, r->yarn_no_truncate ? "not rounded" : "rounded (truncate)",
               r->mscale, r->mscale_all_dim, r->mscale && r->mscale_all_dim ? "" : " (unused)");
    if (r->type == LCX_ROPE_DYNAMIC_NTK || r->type == LCX_ROPE_LONGROPE || r->type == LCX_ROPE_CLEX) {
        if (seq_len > 0) printf("  seq_len %.0f\n", seq_len);
        else printf("  seq_len not given (--seq-len): the frequencies of a fresh lcx_rope\n");
        if (r->type == LCX_ROPE_CLEX) printf("  CLEX scale t = %d\n", rope.clex_t);
    }
    printf("  attention factor %.9g (multiplies cos and sin, so q.k by %.6g)\n", attn, attn * attn);
    printf("\n pair  dims        inv_freq      wavelength     scale  class\n");
    double s = r->type == LCX_ROPE_DEFAULT || r->type == LCX_ROPE_CLEX ? 1.0 : r->factor;
    int ntk_like = r->type == LCX_ROPE_NTK || r->type == LCX_ROPE_DYNAMIC_NTK ||
                   r->type == LCX_ROPE_LONGROPE || r->type == LCX_ROPE_CLEX;
    int count[4] = {0, 0, 0, 0};
    static const char *const classes[4] = {"extrapolated", "interpolated", "blended", "scaled"};
    for (int i = 0; i < n; i++) {
        double scale = f0[i] / f[i];
        int c = fabs(scale - 1) <= 1e-6 ? 0 : ntk_like ? 3 : fabs(scale - s) <= 1e-6 * s ? 1 : 2;
        count[c]++;
        int a = r->layout == LCX_ROPE_HALF ? i : 2 * i, b = r->layout == LCX_ROPE_HALF ? i + n : 2 * i + 1;
        printf(" %4d  (%3d,%3d)  %.6e  %12.1f  %8.4f  %s\n", i, a, b, f[i], 2 * PI / f[i], scale,
               classes[c]);
    }
    printf("\n%d pairs:", n);
    for (int c = 0; c < 4; c++)
        if (count[c]) printf(" %d %s", count[c], classes[c]);
    printf("\n");
    free(w);
    return 0;
}
