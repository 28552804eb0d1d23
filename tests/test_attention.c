/* tests/test_attention.c - section 3 (>>attention): tiled attention against a naive
   double-precision softmax attention, on every compiled SIMD level; split + merge,
   determinism, workspace rules, validation (nothing written), key_probs. */
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"
#include "runner.h"

/* ---- a test case: shapes, layouts, options ------------------------------------ */
typedef struct acase {
    int d, dv, nh, nkv, kt, vt;
    int64_t n_q, n_kv;
    int causal, alibi, sinks, paged, qhm, kvhm, qpos_mode, kpos_mode, det, nt;
    int64_t page, gap;
    int exact; /* q in multiples of 1/4, k of 1/8: dot products exact in float */
    float softcap, scale, qmul;
    uint64_t seed;
} acase;

/* data built from a case */
typedef struct adata {
    acase c;
    float *q, *out;
    int64_t q_stride, q_hs, out_stride, out_hs, out_len;
    void *kbuf, *vbuf;            /* contiguous */
    void **kpages, **vpages;      /* paged */
    int64_t n_pages, ks, vs, khs, vhs;
    double *kd, *vd;              /* exact stored values [t][h][i] */
    int64_t *kpos, *qpos;
    float *slopes, *sinks;
    double vmax;
    lcx_kv_view view;
    lcx_attn_desc desc;
    double *ref, *ref_lse;        /* [n_q][nh][dv], [n_q][nh] */
} adata;

static int esz(int t) { return t == LCX_F32 ? 4 : 2; }

/* store x as type t at p[i]; return the value stored */
static double store(void *p, int64_t i, int t, float x) {
    if (t == LCX_F32) { ((float *)p)[i] = x; return x; }
    if (t == LCX_F16) { ((uint16_t *)p)[i] = lcx_f32_to_f16(x); return lcx_f16_to_f32(((uint16_t *)p)[i]); }
    ((uint16_t *)p)[i] = lcx_f32_to_bf16(x);
    return lcx_bf16_to_f32(((uint16_t *)p)[i]);
}

#define SENTINEL 1234.5f

static int64_t ref_qpos(const adata *D, int64_t i) {
    int64_t j;
    if (D->qpos) return D->qpos[i];
    j = D->c.n_kv - D->c.n_q + i;
    if (!D->kpos) return j;
    if (j >= 0) return D->kpos[j];
    return D->c.n_kv > 0 ? D->kpos[0] + j : j;
}
static int64_t ref_kpos(const adata *D, int64_t j) { return D->kpos ? D->kpos[j] : j; }
/* x - y in double for any int64 x, y (no overflow): the exact difference rounded once */
static double ref_pdiff(int64_t x, int64_t y) {
    return x >= y ? (double)((uint64_t)x - (uint64_t)y) : -(double)((uint64_t)y - (uint64_t)x);
}

/* The logit of query t, head h and key j in double, in the documented order (the
   causal mask is the caller's) */
static double ref_logit(const adata *D, int64_t t, int h, int64_t j) {
    const acase *c = &D->c;
    const int kvh = h / (c->nh / c->nkv);
    const double scale = c->scale != 0 ? (double)c->scale : (double)(float)(1.0 / sqrt((double)c->d));
    const float *qr = D->q + t * D->q_stride + h * D->q_hs;
    const double *kr = D->kd + (j * c->nkv + kvh) * c->d;
    double x = 0;
    for (int i = 0; i < c->d; i++) x += (double)qr[i] * kr[i];
    x *= scale;
    if (c->softcap > 0) x = c->softcap * tanh(x / c->softcap);
    if (D->slopes) x += (double)D->slopes[h] * ref_pdiff(ref_kpos(D, j), ref_qpos(D, t));
    return x;
}

static void reference(adata *D) {
    const acase *c = &D->c;
    int G = c->nh / c->nkv;
    double *s = (double *)malloc(sizeof(double) * (size_t)(c->n_kv + 1));
    D->ref = (double *)calloc((size_t)(c->n_q * c->nh * c->dv + 1), sizeof(double));
    D->ref_lse = (double *)calloc((size_t)(c->n_q * c->nh + 1), sizeof(double));
    for (int64_t t = 0; t < c->n_q; t++)
        for (int h = 0; h < c->nh; h++) {
            int kvh = h / G;
            int64_t qp = ref_qpos(D, t);
            double M = -INFINITY, den = 0;
            double *o = D->ref + (t * c->nh + h) * c->dv;
            for (int64_t j = 0; j < c->n_kv; j++) {
                if (c->causal && ref_kpos(D, j) > qp) { s[j] = -INFINITY; continue; }
                s[j] = ref_logit(D, t, h, j);
                if (s[j] > M) M = s[j];
            }
            if (D->sinks && D->sinks[h] > M) M = D->sinks[h];
            if (M == -INFINITY) { D->ref_lse[t * c->nh + h] = -INFINITY; continue; }
            for (int64_t j = 0; j < c->n_kv; j++) {
                double w;
                if (s[j] == -INFINITY) continue;
                w = exp(s[j] - M);
                den += w;
                for (int i = 0; i < c->dv; i++) o[i] += w * D->vd[(j * c->nkv + kvh) * c->dv + i];
            }
            if (D->sinks && D->sinks[h] != -INFINITY) den += exp(D->sinks[h] - M);
            for (int i = 0; i < c->dv; i++) o[i] /= den;
            D->ref_lse[t * c->nh + h] = M + log(den);
        }
    free(s);
}

static void build(adata *D, const acase *cin) {
    acase *c;
    lcx_t_rng r;
    memset(D, 0, sizeof *D);
    D->c = *cin;
    c = &D->c;
    r.s = c->seed * 7919 + 17;
    /* queries */
    if (c->qhm) { D->q_stride = c->d; D->q_hs = c->n_q * c->d + c->gap; }
    else { D->q_stride = c->nh * c->d + c->gap; D->q_hs = c->d; }
    {
        int64_t len = (c->n_q ? (c->n_q - 1) * D->q_stride : 0) + (c->nh - 1) * D->q_hs + c->d;
        D->q = (float *)malloc(sizeof(float) * (size_t)len);
        for (int64_t i = 0; i < len; i++) {
            D->q[i] = (float)lcx_t_range(&r, -1, 1) * c->qmul;
            if (c->exact) D->q[i] = (float)floor(D->q[i] * 4) / 4;
        }
    }
    if (c->qhm) { D->out_stride = c->dv; D->out_hs = c->n_q * c->dv + c->gap; }
    else { D->out_stride = c->nh * c->dv + c->gap; D->out_hs = c->dv; }
    D->out_len = (c->n_q ? (c->n_q - 1) * D->out_stride : 0) + (c->nh - 1) * D->out_hs + c->dv;
    D->out = (float *)malloc(sizeof(float) * (size_t)D->out_len);
    /* keys and values */
    D->kd = (double *)malloc(sizeof(double) * (size_t)(c->n_kv * c->nkv * c->d + 1));
    D->vd = (double *)malloc(sizeof(double) * (size_t)(c->n_kv * c->nkv * c->dv + 1));
    {
        int64_t rows = c->paged ? c->page : c->n_kv;
        if (c->kvhm) {
            D->ks = c->d; D->khs = rows * c->d + c->gap;
            D->vs = c->dv; D->vhs = rows * c->dv + c->gap;
        } else {
            D->ks = c->nkv * c->d + c->gap; D->khs = c->d;
            D->vs = c->nkv * c->dv + c->gap; D->vhs = c->dv;
        }
        int64_t klen = (rows > 0 ? (rows - 1) * D->ks : 0) + (c->nkv - 1) * D->khs + c->d;
        int64_t vlen = (rows > 0 ? (rows - 1) * D->vs : 0) + (c->nkv - 1) * D->vhs + c->dv;
        if (c->paged) {
            D->n_pages = c->n_kv > 0 ? (c->n_kv - 1) / c->page + 1 : 0;
            D->kpages = (void **)calloc((size_t)D->n_pages + 1, sizeof(void *));
            D->vpages = (void **)calloc((size_t)D->n_pages + 1, sizeof(void *));
            for (int64_t p = 0; p < D->n_pages; p++) {
                D->kpages[p] = calloc((size_t)klen, (size_t)esz(c->kt));
                D->vpages[p] = calloc((size_t)vlen, (size_t)esz(c->vt));
            }
        } else {
            D->kbuf = calloc((size_t)(klen > 0 ? klen : 1), (size_t)esz(c->kt));
            D->vbuf = calloc((size_t)(vlen > 0 ? vlen : 1), (size_t)esz(c->vt));
        }
        D->vmax = 0;
        for (int64_t t = 0; t < c->n_kv; t++) {
            void *kb = c->paged ? D->kpages[t / c->page] : D->kbuf;
            void *vb = c->paged ? D->vpages[t / c->page] : D->vbuf;
            int64_t row = c->paged ? t % c->page : t;
            for (int h = 0; h < c->nkv; h++) {
                for (int i = 0; i < c->d; i++)
                    D->kd[(t * c->nkv + h) * c->d + i] =
                        store(kb, row * D->ks + h * D->khs + i, c->kt,
                              c->exact ? (float)floor(lcx_t_range(&r, -8, 8)) / 8 : (float)lcx_t_range(&r, -1, 1));
                for (int i = 0; i < c->dv; i++) {
                    double v = store(vb, row * D->vs + h * D->vhs + i, c->vt, (float)lcx_t_range(&r, -1, 1));
                    D->vd[(t * c->nkv + h) * c->dv + i] = v;
                    if (fabs(v) > D->vmax) D->vmax = fabs(v);
                }
            }
        }
        if (D->vmax == 0) D->vmax = 1;
    }
    /* positions: kpos_mode 0 none, 1 offset, 2 increasing with random gaps, 3 shuffled */
    if (c->kpos_mode) {
        int64_t p = 1000 + (int64_t)lcx_t_int(&r, 0, 100000);
        D->kpos = (int64_t *)malloc(sizeof(int64_t) * (size_t)(c->n_kv + 1));
        for (int64_t t = 0; t < c->n_kv; t++) {
            D->kpos[t] = p;
            p += c->kpos_mode == 1 ? 1 : lcx_t_int(&r, 1, 3);
        }
        if (c->kpos_mode == 3)
            for (int64_t t = c->n_kv - 1; t > 0; t--) {
                int64_t u = lcx_t_int(&r, 0, t), x = D->kpos[t];
                D->kpos[t] = D->kpos[u];
                D->kpos[u] = x;
            }
    }
    /* qpos_mode 0 NULL, 1 explicit around the key positions */
    if (c->qpos_mode) {
        D->qpos = (int64_t *)malloc(sizeof(int64_t) * (size_t)(c->n_q + 1));
        for (int64_t t = 0; t < c->n_q; t++) {
            int64_t base = c->n_kv > 0 ? ref_kpos(D, lcx_t_int(&r, 0, c->n_kv - 1)) : 0;
            D->qpos[t] = base + lcx_t_int(&r, -3, 3);
        }
    }
    if (c->alibi) {
        D->slopes = (float *)malloc(sizeof(float) * (size_t)c->nh);
        for (int h = 0; h < c->nh; h++) D->slopes[h] = (float)pow(2.0, -8.0 * (h + 1) / c->nh);
    }
    if (c->sinks) {
        D->sinks = (float *)malloc(sizeof(float) * (size_t)c->nh);
        for (int h = 0; h < c->nh; h++) D->sinks[h] = (float)lcx_t_range(&r, -2, 3);
    }
    if (c->paged)
        D->view = lcx_kv_view_paged((lcx_dtype)c->kt, (const void *const *)D->kpages,
                                    (const void *const *)D->vpages, c->page, c->n_kv, D->ks,
                                    D->vs, D->kpos);
    else
        D->view = lcx_kv_view_contiguous((lcx_dtype)c->kt, D->kbuf, D->vbuf, c->n_kv, D->ks, D->vs,
                                         D->kpos);
    lcx_kv_view_set_types(&D->view, (lcx_dtype)c->kt, (lcx_dtype)c->vt);
    if (c->kvhm) lcx_kv_view_set_head_strides(&D->view, D->khs, D->vhs);
    memset(&D->desc, 0, sizeof D->desc);
    D->desc.head_dim = c->d;
    D->desc.n_heads = c->nh;
    D->desc.n_kv_heads = c->nkv;
    D->desc.scale = c->scale;
    D->desc.causal = c->causal;
    D->desc.softcap = c->softcap;
    D->desc.alibi_slopes = D->slopes;
    D->desc.sinks = D->sinks;
    D->desc.n_threads = c->nt;
    D->desc.v_head_dim = c->dv == c->d ? 0 : c->dv;
    D->desc.deterministic = c->det;
    if (c->qhm) { D->desc.q_head_stride = D->q_hs; D->desc.out_head_stride = D->out_hs; }
}

static void destroy(adata *D) {
    free(D->q); free(D->out); free(D->kd); free(D->vd); free(D->kpos); free(D->qpos);
    free(D->slopes); free(D->sinks); free(D->ref); free(D->ref_lse);
    free(D->kbuf); free(D->vbuf);
    for (int64_t p = 0; p < D->n_pages; p++) { free(D->kpages[p]); free(D->vpages[p]); }
    free(D->kpages); free(D->vpages);
}

/* is element e of out inside some (token, head) row? */
static int in_row(const adata *D, int64_t e) {
    for (int64_t t = 0; t < D->c.n_q; t++)
        for (int h = 0; h < D->c.nh; h++) {
            int64_t b = t * D->out_stride + h * D->out_hs;
            if (e >= b && e < b + D->c.dv) return 1;
        }
    return 0;
}

/* Run at level simd; compare with the reference. Returns the max relative error. */
static double run_and_check(adata *D, int simd, const char *what) {
    const acase *c = &D->c;
    size_t wb = 0;
    void *work;
    float *lse = (float *)malloc(sizeof(float) * (size_t)(c->n_q * c->nh + 1));
    double err = 0, lerr = 0;
    lcx_status st = lcx_attention_workspace_size(&D->desc, c->n_q, &D->view, &wb);
    CHECKF(st == LCX_OK, "%s: workspace status %d", what, (int)st);
    work = malloc(wb + 1);
    for (int64_t i = 0; i < D->out_len; i++) D->out[i] = SENTINEL;
    st = lcx__attention_impl(simd, &D->desc, D->q, c->n_q, D->q_stride, D->qpos, &D->view, D->out,
                             D->out_stride, lse, wb ? work : NULL, wb);
    CHECKF(st == LCX_OK, "%s: status %d", what, (int)st);
    for (int64_t t = 0; t < c->n_q; t++)
        for (int h = 0; h < c->nh; h++) {
            const float *o = D->out + t * D->out_stride + h * D->out_hs;
            const double *rf = D->ref + (t * c->nh + h) * c->dv;
            double rl = D->ref_lse[t * c->nh + h], gl = lse[t * c->nh + h];
            for (int i = 0; i < c->dv; i++) {
                double e = fabs((double)o[i] - rf[i]) / D->vmax;
                if (!(e <= err)) err = isnan(e) ? INFINITY : e;
            }
            if (rl == -INFINITY) {
                if (gl != -INFINITY) lerr = INFINITY;
            } else {
                double e = fabs(gl - rl) / (1 + fabs(rl));
                if (!(e <= lerr)) lerr = isnan(e) ? INFINITY : e;
            }
        }
    {
        int64_t bad = 0;
        if (c->gap || c->qhm)
            for (int64_t e = 0; e < D->out_len; e++)
                if (D->out[e] != SENTINEL && !in_row(D, e)) bad++;
        CHECKF(bad == 0, "%s: %lld elements between rows written", what, (long long)bad);
    }
    CHECKF(err <= 2e-5, "%s [%s] max err %.3g (rel max|v|)", what, lcx__simd_level_name(simd), err);
    CHECKF(lerr <= 2e-5, "%s [%s] lse err %.3g", what, lcx__simd_level_name(simd), lerr);
    free(work);
    free(lse);
    return err;
}

static void describe(const acase *c, char *buf, size_t n) {
    snprintf(buf, n,
             "nq=%lld nkv=%lld d=%d dv=%d h=%d/%d t=%d/%d causal=%d cap=%g alibi=%d sinks=%d "
             "paged=%d(%lld) qhm=%d kvhm=%d qpos=%d kpos=%d gap=%lld nt=%d qmul=%g seed=%llu",
             (long long)c->n_q, (long long)c->n_kv, c->d, c->dv, c->nh, c->nkv, c->kt, c->vt,
             c->causal, (double)c->softcap, c->alibi, c->sinks, c->paged, (long long)c->page,
             c->qhm, c->kvhm, c->qpos_mode, c->kpos_mode, (long long)c->gap, c->nt,
             (double)c->qmul, (unsigned long long)c->seed);
}

static void check_case(const acase *c) {
    adata D;
    char what[512];
    describe(c, what, sizeof what);
    build(&D, c);
    reference(&D);
    for (int simd = 0; simd < LCX__SIMD_COUNT; simd++)
        if (lcx__simd_compiled(simd)) run_and_check(&D, simd, what);
    destroy(&D);
}

static acase base_case(void) {
    acase c;
    memset(&c, 0, sizeof c);
    c.d = c.dv = 64; c.nh = 4; c.nkv = 1; c.n_q = 7; c.n_kv = 100; c.nt = 1; c.qmul = 1;
    c.seed = 1;
    return c;
}

/* ---- tests -------------------------------------------------------------------- */
static void test_matches_double_reference_on_random_shapes(void) {
    static const int64_t nqs[] = {1, 2, 7, 64, 257};
    static const int64_t nkvs[] = {1, 63, 64, 65, 1000, 4097};
    static const int ds[] = {64, 80, 96, 128, 256};
    static const int gs[] = {1, 4, 8};
    int n_cases = lcx_test_quick() ? 40 : 260;
    lcx_t_rng r = {12345};
    for (int k = 0; k < n_cases; k++) {
        acase c = base_case();
        double cost;
        c.seed = (uint64_t)k + 1;
        c.n_q = nqs[lcx_t_int(&r, 0, 4)];
        c.n_kv = nkvs[lcx_t_int(&r, 0, 5)];
        c.d = ds[lcx_t_int(&r, 0, 4)];
        c.dv = lcx_t_int(&r, 0, 5) == 0 ? ds[lcx_t_int(&r, 0, 4)] : c.d;
        c.nkv = (int)lcx_t_int(&r, 1, 2);
        c.nh = c.nkv * gs[lcx_t_int(&r, 0, 2)];
        cost = (double)c.n_q * (double)c.n_kv * c.nh * (c.d + c.dv);
        while (cost > 2.5e7 && c.nh > 1) {
            if (c.nkv > 1) c.nkv = 1;
            c.nh = c.nh > 4 ? c.nh / 2 : 1;
            if (c.nh % c.nkv) c.nh = c.nkv;
            cost = (double)c.n_q * (double)c.n_kv * c.nh * (c.d + c.dv);
        }
        if (cost > 2.5e7) c.n_q = c.n_q > 64 ? 64 : c.n_q;
        c.kt = (int)lcx_t_int(&r, 0, 2);
        c.vt = lcx_t_int(&r, 0, 3) == 0 ? (int)lcx_t_int(&r, 0, 2) : c.kt;
        c.causal = lcx_t_int(&r, 0, 2) != 0;
        c.softcap = lcx_t_int(&r, 0, 4) == 0 ? (float)lcx_t_range(&r, 5, 50) : 0.0f;
        c.alibi = lcx_t_int(&r, 0, 4) == 0;
        c.sinks = lcx_t_int(&r, 0, 4) == 0;
        c.paged = lcx_t_int(&r, 0, 3) == 0;
        c.page = c.paged ? (int64_t)(lcx_t_int(&r, 0, 1) ? 16 : lcx_t_int(&r, 1, 100)) : 0;
        c.qhm = lcx_t_int(&r, 0, 5) == 0;
        c.kvhm = lcx_t_int(&r, 0, 5) == 0;
        c.gap = lcx_t_int(&r, 0, 3) == 0 ? lcx_t_int(&r, 1, 9) : 0;
        c.qpos_mode = lcx_t_int(&r, 0, 4) == 0;
        c.kpos_mode = lcx_t_int(&r, 0, 2) == 0 ? (int)lcx_t_int(&r, 1, 3) : 0;
        c.nt = (int)lcx_t_int(&r, 1, 2);
        c.qmul = lcx_t_int(&r, 0, 2) == 0 ? 8.0f : 1.0f;
        c.scale = lcx_t_int(&r, 0, 5) == 0 ? (float)lcx_t_range(&r, 0.05, 0.5) : 0.0f;
        check_case(&c);
    }
}

/* head dims other than the common ones: every tail of the vector paths (d % 16 and
   d % 8 left over, d below one vector), v_head_dim apart from head_dim, decode and
   prefill plans, every type */
static void test_any_even_head_dim(void) {
    static const int ds[] = {2, 6, 8, 14, 34, 66, 112, 130, 200, 254};
    static const int64_t nqs[] = {1, 3, 20};
    static const int64_t nkvs[] = {1, 65, 300};
    int n = lcx_test_quick() ? 10 : 40;
    lcx_t_rng r = {4242};
    for (int k = 0; k < n; k++) {
        acase c = base_case();
        c.seed = 2000 + (uint64_t)k;
        c.d = ds[k % 10];
        c.dv = lcx_t_int(&r, 0, 2) == 0 ? ds[lcx_t_int(&r, 0, 9)] : c.d;
        c.n_q = nqs[lcx_t_int(&r, 0, 2)];
        c.n_kv = nkvs[lcx_t_int(&r, 0, 2)];
        c.nkv = (int)lcx_t_int(&r, 1, 2);
        c.nh = c.nkv * (lcx_t_int(&r, 0, 1) ? 4 : 1);
        c.kt = (int)lcx_t_int(&r, 0, 2);
        c.vt = lcx_t_int(&r, 0, 2) == 0 ? (int)lcx_t_int(&r, 0, 2) : c.kt;
        c.causal = (int)lcx_t_int(&r, 0, 1);
        c.softcap = lcx_t_int(&r, 0, 3) == 0 ? 20.0f : 0.0f;
        c.nt = (int)lcx_t_int(&r, 1, 2);
        check_case(&c);
    }
}

static void test_decode_shapes_all_options(void) {
    /* the decode plan (n_q <= 8, or at most 64 rows per KV head, 32 with f32) with
       splits: long n_kv, MHA and GQA 2, 4 and 8, every type */
    int n = lcx_test_quick() ? 6 : 32;
    lcx_t_rng r = {777};
    for (int k = 0; k < n; k++) {
        acase c = base_case();
        const int group = 1 << lcx_t_int(&r, 0, 3);
        c.seed = 1000 + (uint64_t)k;
        /* half the cases past 8 queries, up to the plan's 64 rows (and one past) */
        c.n_q = lcx_t_int(&r, 0, 1) ? lcx_t_int(&r, 1, 8)
                                    : lcx_t_int(&r, 1, (64 / group > 8 ? 64 / group : 8) + 1);
        c.n_kv = lcx_t_int(&r, 1, 9000);
        c.d = c.dv = lcx_t_int(&r, 0, 1) ? 128 : 64;
        c.nkv = (int)lcx_t_int(&r, 1, 2);
        c.nh = c.nkv * group;
        c.kt = c.vt = (int)lcx_t_int(&r, 0, 2);
        c.causal = (int)lcx_t_int(&r, 0, 1);
        c.sinks = (int)lcx_t_int(&r, 0, 1);
        c.alibi = lcx_t_int(&r, 0, 3) == 0;
        c.nt = 2;
        c.det = (int)lcx_t_int(&r, 0, 1);
        check_case(&c);
    }
}

/* f32 decode over a cache whose K holds LCX__ATTN_CPU_ASK_BYTES or more: the call asks
   which processor it runs on and picks K's prefetch hint by it (LCX__ATTN_KAHEAD_F32);
   contiguous and in 256-token pages, 1 and 2 threads, GQA 4 */
static void test_f32_decode_where_the_prefetch_hint_is_chosen(void) {
    int n = lcx_test_quick() ? 1 : 4;
    for (int k = 0; k < n; k++) {
        acase c = base_case();
        c.seed = 3000 + (uint64_t)k;
        c.n_q = 1 + k / 2;
        c.d = c.dv = 128;
        c.nkv = 8;
        c.nh = 32;
        c.n_kv = 4100 + k;
        c.kt = c.vt = LCX_F32;
        c.causal = k & 1;
        c.paged = k & 1;
        c.page = c.paged ? 256 : 0;
        c.nt = 1 + (k & 1);
        CHECK((double)c.n_kv * c.nkv * c.d * 4.0 >= LCX__ATTN_CPU_ASK_BYTES);
        check_case(&c);
    }
}

static void test_extreme_logits_are_finite_and_correct(void) {
    /* logits near +-1e4: scale 2048 on dots of order +-5, all exact in float, so the
       only rounding is the kernel's own */
    acase c = base_case();
    c.n_q = 9; c.n_kv = 300; c.scale = 2048.0f; c.exact = 1; c.causal = 1; c.nh = 8; c.nkv = 2; c.nt = 2;
    check_case(&c);
    c.n_q = 1; c.sinks = 1;
    check_case(&c);
    /* ALiBi over a 128K-token distance: biases of -65536*slope */
    c = base_case();
    c.n_q = 3; c.n_kv = 200; c.alibi = 1; c.kpos_mode = 1; c.qpos_mode = 1; c.causal = 1;
    check_case(&c);
    {
        /* every logit about -1e30 (finite): a huge ALiBi slope times distances */
        adata D;
        c = base_case();
        c.n_q = 2; c.n_kv = 70; c.alibi = 1; c.causal = 1;
        build(&D, &c);
        for (int h = 0; h < c.nh; h++) D.slopes[h] = 1e28f;
        reference(&D);
        for (int simd = 0; simd < LCX__SIMD_COUNT; simd++)
            if (lcx__simd_compiled(simd)) run_and_check(&D, simd, "logits -1e30");
        destroy(&D);
    }
}

/* ALiBi where every visible key is far from the query: the biases are large (thousands
   to millions), but the keys that matter differ by small amounts, and the result must be
   as accurate as without the bias (the kernel measures bias from the nearest visible key,
   not from the query) */
static void test_alibi_far_from_the_query_keeps_accuracy(void) {
    static const int64_t nkvs[] = {4097, 300};
    static const int64_t nqs[] = {1, 5, 70};
    for (int k = 0; k < 14; k++) {
        acase c = base_case();
        adata D;
        int mode = k % 4;
        int64_t lo, hi;
        c.seed = 300 + (uint64_t)k;
        c.n_kv = nkvs[k % 2];
        c.n_q = nqs[k % 3];
        c.nh = 16; c.nkv = 2; c.nt = 1 + k % 2; c.d = c.dv = k % 3 ? 128 : 64;
        c.kt = c.vt = k % 3;
        c.alibi = 1; c.qpos_mode = 1;
        c.causal = mode == 1 || k == 12;
        c.kpos_mode = k >= 4 && !c.causal ? 3 : 1; /* shuffled positions, not causal */
        c.sinks = k >= 8 && k < 12;
        build(&D, &c);
        lo = hi = D.kpos[0];
        for (int64_t j = 1; j < c.n_kv; j++) {
            lo = D.kpos[j] < lo ? D.kpos[j] : lo;
            hi = D.kpos[j] > hi ? D.kpos[j] : hi;
        }
        for (int64_t t = 0; t < c.n_q; t++) {
            if (mode == 0) D.qpos[t] = lo - t;                      /* keys ahead */
            else if (mode == 1) D.qpos[t] = hi + 1000000 + t;       /* causal, far behind */
            else if (mode == 2) D.qpos[t] = lo - 3000000 - t;       /* far ahead */
            else D.qpos[t] = hi + 2000 + t;                         /* all behind */
        }
        if (mode == 2)
            for (int h = 0; h < c.nh; h++) D.slopes[h] = -D.slopes[h]; /* the lowest position leads */
        if (k >= 12) {
            /* causal with a gap below the queries: the second half of the keys (12,
               ascending positions) or every other key (13, positions that do not
               ascend) moved 10^6 on, the queries half way, so each sees only the rest,
               whose nearest key is 5 * 10^5 behind it */
            for (int64_t j = 0; j < c.n_kv; j++)
                if (k == 12 ? j >= c.n_kv / 2 : j % 2 == 0) D.kpos[j] = hi + 1000000 + j;
            for (int64_t t = 0; t < c.n_q; t++) D.qpos[t] = hi + 500000 + t;
        }
        if (c.sinks)
            for (int h = 0; h < c.nh; h++) D.sinks[h] = (float)(h % 3) - 1.0f;
        reference(&D);
        for (int simd = 0; simd < LCX__SIMD_COUNT; simd++)
            if (lcx__simd_compiled(simd)) run_and_check(&D, simd, "alibi far from the query");
        destroy(&D);
    }
}

static void test_empty_and_fully_masked_rows(void) {
    for (int sinks = 0; sinks < 2; sinks++) {
        acase c = base_case();
        c.n_kv = 0; c.sinks = sinks;
        check_case(&c);
        /* queries before every key: causal masks all of them */
        c = base_case();
        c.sinks = sinks; c.causal = 1; c.kpos_mode = 1; c.qpos_mode = 1;
        {
            adata D;
            build(&D, &c);
            for (int64_t t = 0; t < c.n_q; t++) D.qpos[t] = D.kpos[0] - 1 - t;
            D.qpos[1] = D.kpos[5]; /* one row sees 6 keys */
            reference(&D);
            for (int simd = 0; simd < LCX__SIMD_COUNT; simd++)
                if (lcx__simd_compiled(simd)) run_and_check(&D, simd, "fully masked");
            /* fully masked rows are exactly 0 with lse -inf or the sink */
            for (int h = 0; h < c.nh; h++) {
                float *o = D.out + 0 * D.out_stride + h * D.out_hs;
                CHECK(o[0] == 0.0f && o[c.dv - 1] == 0.0f);
            }
            destroy(&D);
        }
    }
    {
        /* n_q == 0: nothing written, OK */
        float out = SENTINEL;
        acase c = base_case();
        adata D;
        build(&D, &c);
        CHECK(lcx_attention(&D.desc, D.q, 0, D.q_stride, NULL, &D.view, &out, 0, NULL, NULL, 0) ==
              LCX_OK);
        CHECK(out == SENTINEL);
        destroy(&D);
    }
}

/* split the keys in two disjoint views, merge with the sinks, compare to one pass */
static void test_split_then_merge_equals_single_pass(void) {
    int n = lcx_test_quick() ? 3 : 12;
    lcx_t_rng r = {4242};
    for (int k = 0; k < n; k++) {
        acase c = base_case();
        adata D;
        int64_t n1;
        c.seed = 50 + (uint64_t)k;
        c.n_q = lcx_t_int(&r, 0, 1) ? lcx_t_int(&r, 1, 8) : 70;
        c.n_kv = lcx_t_int(&r, 2, 1500);
        c.nh = 8; c.nkv = 2; c.causal = (int)lcx_t_int(&r, 0, 1); c.sinks = 1;
        c.kpos_mode = 1; c.qpos_mode = 1; c.kt = c.vt = (int)lcx_t_int(&r, 0, 2);
        c.alibi = (int)lcx_t_int(&r, 0, 1); c.nt = 2;
        build(&D, &c);
        n1 = lcx_t_int(&r, 1, c.n_kv - 1);
        {
            int64_t nrow = c.n_q * c.nh;
            float *o1 = (float *)malloc(sizeof(float) * (size_t)(D.out_len));
            float *o2 = (float *)malloc(sizeof(float) * (size_t)(D.out_len));
            float *l1 = (float *)malloc(sizeof(float) * (size_t)nrow);
            float *l2 = (float *)malloc(sizeof(float) * (size_t)nrow);
            float *lf = (float *)malloc(sizeof(float) * (size_t)nrow);
            size_t wb = 0;
            void *work;
            lcx_attn_desc dd = D.desc;
            lcx_kv_view v1 = lcx_kv_view_contiguous((lcx_dtype)c.kt, D.kbuf, D.vbuf, n1, D.ks, D.vs, D.kpos);
            lcx_kv_view v2 = lcx_kv_view_contiguous(
                (lcx_dtype)c.kt, (const char *)D.kbuf + (size_t)(n1 * D.ks * esz(c.kt)),
                (const char *)D.vbuf + (size_t)(n1 * D.vs * esz(c.vt)), c.n_kv - n1, D.ks, D.vs,
                D.kpos + n1);
            lcx_attention_workspace_size(&D.desc, c.n_q, &D.view, &wb);
            work = malloc(wb);
            CHECK(lcx_attention(&D.desc, D.q, c.n_q, D.q_stride, D.qpos, &D.view, D.out, D.out_stride, lf, work, wb) == LCX_OK);
            dd.sinks = NULL;
            CHECK(lcx_attention(&dd, D.q, c.n_q, D.q_stride, D.qpos, &v1, o1, D.out_stride, l1, work, wb) == LCX_OK);
            CHECK(lcx_attention(&dd, D.q, c.n_q, D.q_stride, D.qpos, &v2, o2, D.out_stride, l2, work, wb) == LCX_OK);
            CHECK(lcx_attention_merge(o1, l1, D.out_stride, o2, l2, D.out_stride, c.n_q, c.nh, c.dv, D.sinks) == LCX_OK);
            {
                double err = 0, lerr = 0;
                for (int64_t t = 0; t < c.n_q; t++)
                    for (int h = 0; h < c.nh; h++) {
                        for (int i = 0; i < c.dv; i++) {
                            int64_t e = t * D.out_stride + h * c.dv + i;
                            double x = fabs((double)o1[e] - D.out[e]) / D.vmax;
                            if (!(x <= err)) err = isnan(x) ? INFINITY : x;
                        }
                        if (lf[t * c.nh + h] != l1[t * c.nh + h]) {
                            double x = fabs((double)lf[t * c.nh + h] - l1[t * c.nh + h]) /
                                       (1.0 + fabs((double)lf[t * c.nh + h]));
                            if (!(x <= lerr)) lerr = isnan(x) ? INFINITY : x;
                        }
                    }
                CHECKF(err <= 1e-6, "split at %lld of %lld: err %.3g", (long long)n1, (long long)c.n_kv, err);
                CHECKF(lerr <= 1e-6, "lse rel err %.3g", lerr);
            }
            free(o1); free(o2); free(l1); free(l2); free(lf); free(work);
        }
        destroy(&D);
    }
}

static void test_merge_rules(void) {
    /* -inf partials; both -inf; sinks folded once */
    float out[4] = {1, 2, 3, 4}, part[4] = {5, 6, 7, 8}, lse[2], plse[2], sinks[2] = {0.5f, -INFINITY};
    lse[0] = -INFINITY; plse[0] = 1.0f;       /* head 0: only part */
    lse[1] = -INFINITY; plse[1] = -INFINITY;  /* head 1: nothing */
    CHECK(lcx_attention_merge(out, lse, 4, part, plse, 4, 1, 2, 2, NULL) == LCX_OK);
    CHECK(out[0] == 5 && out[1] == 6 && lse[0] == 1.0f);
    CHECK(out[2] == 0 && out[3] == 0 && lse[1] == -INFINITY);
    /* equal lse: the average; lse + log 2 */
    out[0] = 1; out[1] = 3; lse[0] = 0.25f; part[0] = 3; part[1] = 5; plse[0] = 0.25f;
    CHECK(lcx_attention_merge(out, lse, 4, part, plse, 4, 1, 1, 2, NULL) == LCX_OK);
    CHECK_NEAR(out[0], 2.0, 1e-6);
    CHECK_NEAR(out[1], 4.0, 1e-6);
    CHECK_NEAR(lse[0], 0.25 + log(2.0), 1e-6);
    /* sinks: out *= l/(l + e^sink), lse = log(e^lse + e^sink); -inf partial with a sink */
    out[0] = 2; out[1] = 4; lse[0] = 0.0f; plse[0] = -INFINITY;
    out[2] = 9; out[3] = 9; lse[1] = -INFINITY; plse[1] = -INFINITY;
    {
        float sk2[2] = {0.5f, 0.75f};
        CHECK(lcx_attention_merge(out, lse, 4, part, plse, 4, 1, 2, 2, sk2) == LCX_OK);
        CHECK_NEAR(out[0], 2.0 / (1.0 + exp(0.5)), 1e-6);
        CHECK_NEAR(lse[0], log(1.0 + exp(0.5)), 1e-6);
        CHECK(out[2] == 0 && out[3] == 0);
        CHECK_NEAR(lse[1], 0.75, 1e-7);
    }
    (void)sinks;
}

/* lcx_attention_merge at every SIMD level against a double-precision merge: random
   head_dims (tails of every vector width), strides with gaps, lse pairs from equal to
   far apart, one side or both -INFINITY, sinks or none, part the same array as out */
static void test_merge_every_level_matches_double_reference(void) {
    lcx_t_rng r = {8086};
    const int reps = lcx_test_quick() ? 40 : 200;
    for (int k = 0; k < reps; k++) {
        const int64_t n_q = lcx_t_int(&r, 1, 5);
        const int nh = (int)lcx_t_int(&r, 1, 6);
        const int hd = lcx_t_int(&r, 0, 2) == 0 ? 2 * (int)lcx_t_int(&r, 1, 128)
                                                : 16 * (int)lcx_t_int(&r, 1, 16);
        const int64_t os = (int64_t)nh * hd + lcx_t_int(&r, 0, 9);
        const int64_t ps = (int64_t)nh * hd + lcx_t_int(&r, 0, 9);
        const int self = lcx_t_int(&r, 0, 5) == 0, with_sinks = lcx_t_int(&r, 0, 2) == 0;
        const size_t nrow = (size_t)(n_q * nh);
        float *o0 = (float *)malloc(sizeof(float) * (size_t)(n_q * os));
        float *p0 = (float *)malloc(sizeof(float) * (size_t)(n_q * ps));
        float *l0 = (float *)malloc(sizeof(float) * nrow), *pl = (float *)malloc(sizeof(float) * nrow);
        float *o = (float *)malloc(sizeof(float) * (size_t)(n_q * os));
        float *l = (float *)malloc(sizeof(float) * nrow);
        float sk[6];
        for (int64_t i = 0; i < n_q * os; i++) o0[i] = (float)lcx_t_range(&r, -3, 3);
        for (int64_t i = 0; i < n_q * ps; i++) p0[i] = (float)lcx_t_range(&r, -3, 3);
        for (size_t i = 0; i < nrow; i++) {
            const int kind = (int)lcx_t_int(&r, 0, 7);
            l0[i] = (float)lcx_t_range(&r, -40, 40);
            pl[i] = kind == 0 ? l0[i] : kind == 1 ? l0[i] + (float)lcx_t_range(&r, -0.01, 0.01)
                                                  : (float)lcx_t_range(&r, -40, 40);
            if (kind == 2) l0[i] = -INFINITY;
            if (kind == 3) pl[i] = -INFINITY;
            if (kind == 4) l0[i] = pl[i] = -INFINITY;
            if (self) pl[i] = l0[i];
        }
        for (int h = 0; h < nh; h++)
            sk[h] = lcx_t_int(&r, 0, 3) == 0 ? -INFINITY : (float)lcx_t_range(&r, -40, 40);
        for (int simd = 0; simd < LCX__SIMD_COUNT; simd++) {
            double err = 0.0, lerr = 0.0;
            if (!lcx__simd_compiled(simd)) continue;
            memcpy(o, o0, sizeof(float) * (size_t)(n_q * os));
            memcpy(l, l0, sizeof(float) * nrow);
            CHECK(lcx__attention_merge_impl(simd, o, l, os, self ? o : p0, self ? l : pl,
                                            self ? os : ps, n_q, nh, hd,
                                            with_sinks ? sk : NULL) == LCX_OK);
            for (int64_t t = 0; t < n_q; t++)
                for (int h = 0; h < nh; h++) {
                    const size_t row = (size_t)(t * nh + h);
                    const float *a = o0 + t * os + (int64_t)h * hd;
                    const float *b = (self ? o0 + t * os : p0 + t * ps) + (int64_t)h * hd;
                    const double la = l0[row], lb = self ? l0[row] : pl[row];
                    const double m = la > lb ? la : lb;
                    const double wa = la == -INFINITY ? 0.0 : exp(la - m);
                    const double wb = lb == -INFINITY ? 0.0 : exp(lb - m);
                    double ls = m == -INFINITY ? -INFINITY : m + log(wa + wb), f = 1.0;
                    if (with_sinks && sk[h] != -INFINITY) {
                        const double M = ls > sk[h] ? ls : sk[h];
                        const double nl = M + log((ls == -INFINITY ? 0.0 : exp(ls - M)) + exp(sk[h] - M));
                        f = ls == -INFINITY ? 0.0 : exp(ls - nl);
                        ls = nl;
                    }
                    for (int i = 0; i < hd; i++) {
                        const double want = m == -INFINITY ? 0.0
                                            : (wa * (wa > 0 ? a[i] : 0.0) + wb * (wb > 0 ? b[i] : 0.0)) /
                                                  (wa + wb) * f;
                        const double x = fabs(o[t * os + (int64_t)h * hd + i] - want) / 3.0;
                        if (!(x <= err)) err = isnan(x) ? INFINITY : x;
                    }
                    if (ls == -INFINITY) {
                        if (l[row] != -INFINITY) lerr = INFINITY;
                    } else {
                        const double x = fabs(l[row] - ls) / (1.0 + fabs(ls));
                        if (!(x <= lerr)) lerr = isnan(x) ? INFINITY : x;
                    }
                }
            CHECKF(err <= 1e-6 && lerr <= 1e-6,
                   "simd %d n_q %lld heads %d head_dim %d self %d sinks %d: out err %.3g, lse err %.3g",
                   simd, (long long)n_q, nh, hd, self, with_sinks, err, lerr);
        }
        free(o0); free(p0); free(l0); free(pl); free(o); free(l);
    }
}

/* a side with lse = -INFINITY is not read (NaN or Inf in its out change nothing); sinks
   follow lcx_attention's rule (NaN, +INFINITY: errors, nothing written; -INFINITY: no
   sink); strides as lcx_attention's: negative is an error for any n_q > 0, a short one
   only when n_q > 1 */
static void test_merge_minus_inf_side_and_sink_and_stride_rules(void) {
    const float nan = NAN;
    float out[4], lse[1], part[4], plse[1];
    /* an accumulator that holds nothing yet: lse = -INFINITY, out NaN */
    for (int i = 0; i < 4; i++) { out[i] = nan; part[i] = 1.0f + (float)i; }
    lse[0] = -INFINITY; plse[0] = 0.5f;
    CHECK(lcx_attention_merge(out, lse, 4, part, plse, 4, 1, 1, 4, NULL) == LCX_OK);
    CHECK(memcmp(out, part, sizeof out) == 0 && lse[0] == 0.5f);
    /* a partial that saw nothing, with Inf and NaN in its out */
    for (int i = 0; i < 4; i++) out[i] = 5.0f + (float)i;
    part[0] = INFINITY; part[1] = -INFINITY; part[2] = nan; part[3] = 1.0f;
    lse[0] = 0.0f; plse[0] = -INFINITY;
    CHECK(lcx_attention_merge(out, lse, 4, part, plse, 4, 1, 1, 4, NULL) == LCX_OK);
    CHECK(out[0] == 5 && out[1] == 6 && out[2] == 7 && out[3] == 8 && lse[0] == 0.0f);
    /* the same with a sink folded in: finite, out scaled by 1 / (1 + e^sink) */
    {
        float sk[1] = {0.0f};
        CHECK(lcx_attention_merge(out, lse, 4, part, plse, 4, 1, 1, 4, sk) == LCX_OK);
        for (int i = 0; i < 4; i++) CHECK_NEAR(out[i], (5.0 + i) / 2.0, 1e-6);
        CHECK_NEAR(lse[0], log(2.0), 1e-6);
    }
    /* both -INFINITY: out = 0 whatever either held */
    for (int i = 0; i < 4; i++) { out[i] = nan; part[i] = INFINITY; }
    lse[0] = -INFINITY; plse[0] = -INFINITY;
    CHECK(lcx_attention_merge(out, lse, 4, part, plse, 4, 1, 1, 4, NULL) == LCX_OK);
    CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == 0 && lse[0] == -INFINITY);
    /* sinks: +INFINITY (in any head) and NaN are errors, nothing written */
    {
        float o2[4] = {1, 2, 3, 4}, l2[2] = {0.25f, 0.5f}, p2[4] = {5, 6, 7, 8}, pl2[2] = {0, 0};
        float keep_o[4], keep_l[2];
        float bad[3][2] = {{INFINITY, 0.0f}, {0.0f, INFINITY}, {0.0f, NAN}};
        memcpy(keep_o, o2, sizeof o2);
        memcpy(keep_l, l2, sizeof l2);
        for (int b = 0; b < 3; b++) {
            CHECKF(lcx_attention_merge(o2, l2, 4, p2, pl2, 4, 1, 2, 2, bad[b]) == LCX_ERR_INVALID_ARG,
                   "sinks %d", b);
            CHECK(memcmp(o2, keep_o, sizeof o2) == 0 && memcmp(l2, keep_l, sizeof l2) == 0);
        }
        /* lcx_attention has the same rule */
        {
            acase c = base_case();
            adata D;
            size_t wb = 1;
            c.n_q = 1; c.n_kv = 10; c.nh = 2; c.sinks = 1;
            build(&D, &c);
            D.sinks[1] = INFINITY;
            CHECK(lcx_attention_workspace_size(&D.desc, 1, &D.view, &wb) == LCX_ERR_INVALID_ARG);
            D.sinks[1] = -INFINITY;
            CHECK(lcx_attention_workspace_size(&D.desc, 1, &D.view, &wb) == LCX_OK);
            destroy(&D);
        }
        /* strides: n_q = 1, negative: an error; shorter than a row: fine (one row) */
        CHECK(lcx_attention_merge(o2, l2, -4, p2, pl2, 4, 1, 2, 2, NULL) == LCX_ERR_INVALID_ARG);
        CHECK(lcx_attention_merge(o2, l2, 4, p2, pl2, -1, 1, 2, 2, NULL) == LCX_ERR_INVALID_ARG);
        CHECK(memcmp(o2, keep_o, sizeof o2) == 0 && memcmp(l2, keep_l, sizeof l2) == 0);
        CHECK(lcx_attention_merge(o2, l2, 0, p2, pl2, 1, 1, 2, 2, NULL) == LCX_OK);
        /* n_q = 2: a stride shorter than a row is an error; n_q = 0: nothing checked */
        CHECK(lcx_attention_merge(o2, l2, 1, p2, pl2, 2, 2, 1, 2, NULL) == LCX_ERR_INVALID_ARG);
        CHECK(lcx_attention_merge(o2, l2, 2, p2, pl2, 2, 2, 1, 2, NULL) == LCX_OK);
        CHECK(lcx_attention_merge(o2, l2, -4, p2, pl2, -4, 0, 2, 2, NULL) == LCX_OK);
    }
    /* lcx_attention's own strides, the same rule */
    {
        acase c = base_case();
        adata D;
        size_t wb = 0;
        void *work;
        c.n_q = 1; c.n_kv = 10;
        build(&D, &c);
        lcx_attention_workspace_size(&D.desc, 1, &D.view, &wb);
        work = malloc(wb + 1);
        CHECK(lcx_attention(&D.desc, D.q, 1, -1, NULL, &D.view, D.out, D.out_stride, NULL, work, wb) == LCX_ERR_INVALID_ARG);
        CHECK(lcx_attention(&D.desc, D.q, 1, D.q_stride, NULL, &D.view, D.out, -1, NULL, work, wb) == LCX_ERR_INVALID_ARG);
        CHECK(lcx_attention(&D.desc, D.q, 1, 0, NULL, &D.view, D.out, 0, NULL, work, wb) == LCX_OK);
        CHECK(lcx_attention(&D.desc, D.q, 0, -1, NULL, &D.view, D.out, -1, NULL, work, wb) == LCX_OK);
        free(work);
        destroy(&D);
    }
}

static void test_deterministic_is_bit_identical_across_threads_and_work(void) {
    int n = lcx_test_quick() ? 2 : 6;
    for (int k = 0; k < n; k++) {
        acase c = base_case();
        adata D;
        c.seed = 900 + (uint64_t)k;
        c.n_q = k % 3 == 2 ? 100 : 1 + k % 4;
        c.n_kv = 3000 + 1234 * k;
        c.nh = 8; c.nkv = k % 2 ? 1 : 2; c.det = 1; c.kt = c.vt = k % 3; c.causal = k & 1;
        build(&D, &c);
        {
            size_t w1 = 0, w2 = 0;
            int64_t nrow = c.n_q * c.nh;
            float *o1 = (float *)malloc(sizeof(float) * (size_t)D.out_len);
            float *o2 = (float *)malloc(sizeof(float) * (size_t)D.out_len);
            float *o3 = (float *)malloc(sizeof(float) * (size_t)D.out_len);
            float *l1 = (float *)malloc(sizeof(float) * (size_t)nrow);
            float *l2 = (float *)malloc(sizeof(float) * (size_t)nrow);
            float *l3 = (float *)malloc(sizeof(float) * (size_t)nrow);
            lcx_attn_desc d1 = D.desc, d2 = D.desc;
            void *wk1, *wk2;
            d1.n_threads = 1; d2.n_threads = 2;
            lcx_attention_workspace_size(&d1, c.n_q, &D.view, &w1);
            lcx_attention_workspace_size(&d2, c.n_q, &D.view, &w2);
            wk1 = malloc(w1); wk2 = malloc(w2 * 2 + 1000);
            CHECK(lcx_attention(&d1, D.q, c.n_q, D.q_stride, NULL, &D.view, o1, D.out_stride, l1, wk1, w1) == LCX_OK);
            CHECK(lcx_attention(&d2, D.q, c.n_q, D.q_stride, NULL, &D.view, o2, D.out_stride, l2, wk2, w2) == LCX_OK);
            CHECK(lcx_attention(&d2, D.q, c.n_q, D.q_stride, NULL, &D.view, o3, D.out_stride, l3, (char *)wk2 + 3, w2 * 2 + 900) == LCX_OK);
            CHECKF(memcmp(o1, o2, sizeof(float) * (size_t)D.out_len) == 0, "case %d: 1 vs 2 threads", k);
            CHECKF(memcmp(l1, l2, sizeof(float) * (size_t)nrow) == 0, "case %d: lse", k);
            CHECKF(memcmp(o1, o3, sizeof(float) * (size_t)D.out_len) == 0, "case %d: larger work", k);
            CHECKF(memcmp(l1, l3, sizeof(float) * (size_t)nrow) == 0, "case %d: lse larger work", k);
            free(o1); free(o2); free(o3); free(l1); free(l2); free(l3); free(wk1); free(wk2);
        }
        destroy(&D);
    }
}

static void test_workspace_sizes(void) {
    acase c = base_case();
    adata D;
    size_t wb = 0, wmin = 0;
    c.n_q = 1; c.n_kv = 6000; c.nh = 4; c.nkv = 1; c.nt = 2; c.sinks = 1;
    build(&D, &c);
    reference(&D);
    CHECK(lcx_attention_workspace_size(&D.desc, c.n_q, &D.view, &wb) == LCX_OK);
    CHECK(wb > 0);
    {
        char *work = (char *)malloc(wb + 64);
        float *lse = (float *)malloc(sizeof(float) * 4);
        /* exact size at any alignment works; each smaller size either works (fewer
           splits or threads, same answer to rounding) or says LCX_ERR_WORKSPACE */
        for (int off = 0; off < 3; off++) {
            CHECK(lcx_attention(&D.desc, D.q, 1, D.q_stride, NULL, &D.view, D.out, D.out_stride, lse, work + off, wb) == LCX_OK);
            for (int i = 0; i < c.dv; i++) CHECK(fabs(D.out[i] - D.ref[i]) <= 2e-5 * D.vmax);
        }
        {
            size_t lo = 0, hi = wb; /* find the smallest size that works */
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                lcx_status st = lcx_attention(&D.desc, D.q, 1, D.q_stride, NULL, &D.view, D.out, D.out_stride, lse, work, mid);
                CHECK(st == LCX_OK || st == LCX_ERR_WORKSPACE);
                if (st == LCX_OK) hi = mid; else lo = mid + 1;
            }
            wmin = lo;
            CHECK(wmin > 0 && wmin < wb); /* splits can shrink */
            for (int i = 0; i < 4; i++) D.out[i] = SENTINEL;
            CHECK(lcx_attention(&D.desc, D.q, 1, D.q_stride, NULL, &D.view, D.out, D.out_stride, lse, work, wmin - 1) == LCX_ERR_WORKSPACE);
            CHECK(D.out[0] == SENTINEL);
            CHECK(lcx_attention(&D.desc, D.q, 1, D.q_stride, NULL, &D.view, D.out, D.out_stride, lse, NULL, 0) == LCX_ERR_WORKSPACE);
            CHECK(lcx_attention(&D.desc, D.q, 1, D.q_stride, NULL, &D.view, D.out, D.out_stride, lse, work, wmin) == LCX_OK);
            for (int i = 0; i < c.dv; i++) CHECK(fabs(D.out[i] - D.ref[i]) <= 2e-5 * D.vmax);
        }
        free(work);
        free(lse);
    }
    /* n_kv == 0: size 0 and NULL work allowed */
    {
        lcx_kv_view e = lcx_kv_view_contiguous(LCX_F32, NULL, NULL, 0, 0, 0, NULL);
        CHECK(lcx_attention_workspace_size(&D.desc, 1, &e, &wb) == LCX_OK && wb == 0);
    }
    destroy(&D);
}

/* Shapes whose byte counts overflow: the workspace query and the call both say
   LCX_ERR_INVALID_ARG and write nothing (the query used to wrap or overflow int64 and
   return LCX_OK with a tiny size); shapes at the limits are sized without UB (the
   asan build runs UBSan, no recovery). */
static void test_huge_shapes_rejected_by_query_and_call(void) {
    static float kb[64], vb[64], q[8], out[8];
    static const void *pages[1100];
    float kp[4], sl[4] = {0.1f, 0.1f, 0.1f, 0.1f};
    int64_t kpos[16], qpos[1] = {0};
    lcx_attn_desc d;
    lcx_kv_view v, v2, pv;
    size_t b;
    static char work[1 << 16];
    const int64_t lim = INT64_MAX / 8 / 4; /* n_q limit for 4 heads */
    memset(&d, 0, sizeof d);
    d.head_dim = 2; d.n_heads = 4; d.n_kv_heads = 1; d.n_threads = 1;
    for (int i = 0; i < 16; i++) kpos[i] = i;
    for (int i = 0; i < 1100; i++) pages[i] = kb;
    v = lcx_kv_view_contiguous(LCX_F32, kb, vb, 16, 0, 0, NULL);
    v2 = lcx_kv_view_contiguous(LCX_F32, kb, vb, 16, 0, 0, kpos);
    /* pages of 2^57 rows (f16, 4 bytes a row), 65 entries: n_kv = INT64_MAX */
    pv = lcx_kv_view_paged(LCX_F16, pages, pages, (int64_t)1 << 57, INT64_MAX, 0, 0, NULL);
    for (int k = 0; k < 8; k++) {
        const lcx_kv_view *vw = k == 3 ? &v2 : k >= 5 ? &pv : &v;
        int64_t nq = k == 0 ? INT64_MAX : k == 1 ? lim + 1 : k == 2 ? ((int64_t)1 << 60) - 1
                   : k == 3 ? ((int64_t)1 << 61) - 1 : k == 4 ? ((int64_t)1 << 62) : 1;
        lcx_status st;
        memset(&d, 0, sizeof d);
        d.head_dim = 2; d.n_heads = 4; d.n_kv_heads = 1; d.n_threads = k == 7 ? 2 : 1;
        if (k == 2 || k == 5) d.key_probs = kp;                    /* kp lse rows; [1][n_kv] */
        if (k == 3) { d.causal = 1; d.alibi_slopes = sl; }         /* kq */
        if (k == 6) d.deterministic = 1;
        b = 777;
        st = lcx_attention_workspace_size(&d, nq, vw, &b);
        CHECKF(st == LCX_ERR_INVALID_ARG && b == 777, "case %d: query status %d, bytes %zu",
               k, (int)st, b);
        for (int i = 0; i < 8; i++) out[i] = SENTINEL;
        st = lcx_attention(&d, q, nq, 8, k >= 5 ? qpos : NULL, vw, out, 8, NULL, work, sizeof work);
        CHECKF(st == LCX_ERR_INVALID_ARG && out[0] == SENTINEL, "case %d: call status %d", k, (int)st);
    }
    /* at the limits: sized, and the sizes add up */
    memset(&d, 0, sizeof d);
    d.head_dim = 2; d.n_heads = 4; d.n_kv_heads = 1; d.n_threads = 3;
    CHECK(lcx_attention_workspace_size(&d, lim, &v, &b) == LCX_OK && b > 0);
    /* key_probs adds lim x 4 floats of row lse, causal ALiBi over key positions lim
       int64: more than a 32-bit size_t holds, where the query must say so instead */
    d.key_probs = kp;
    {
        size_t b0 = 777;
        if ((double)lim * 16 < (double)SIZE_MAX) {
            CHECK(lcx_attention_workspace_size(&d, lim, &v, &b0) == LCX_OK);
            CHECK(b0 > b && b0 - b >= (size_t)lim * 16);
        } else {
            CHECK(lcx_attention_workspace_size(&d, lim, &v, &b0) == LCX_ERR_INVALID_ARG && b0 == 777);
        }
    }
    d.key_probs = NULL; d.causal = 1; d.alibi_slopes = sl;
    for (int k = 0; k < 2; k++) {
        d.n_threads = k == 0 ? 3 : INT32_MAX;
        b = 777;
        if ((double)lim * 8 < (double)SIZE_MAX)
            CHECK(lcx_attention_workspace_size(&d, lim, &v2, &b) == LCX_OK && b >= (size_t)lim * 8);
        else
            CHECK(lcx_attention_workspace_size(&d, lim, &v2, &b) == LCX_ERR_INVALID_ARG && b == 777);
    }
}

/* A paged cache at the largest n_kv (INT64_MAX / 8 for one KV head: 1024 pages of 2^50
   rows, all the same page), decoded at position 3 (causal): split plans of 8 and 64
   key ranges, whose bounds n_kv * job / splits used to overflow int64. Only the first
   tile is read; the result is the softmax over keys 0..3. */
static void test_decode_split_bounds_at_the_largest_cache(void) {
    static float kb[64 * 2], vb[64 * 2];
    static const void *pages[1024], *vpages[1024];
    static char work[1 << 20];
    float q[2] = {0.5f, -0.25f}, out[2], lse[1];
    int64_t qpos[1] = {3};
    const int64_t n_kv = INT64_MAX / 8;
    lcx_attn_desc d;
    lcx_kv_view pv;
    for (int i = 0; i < 128; i++) {
        kb[i] = (float)((i * 37) % 17) / 8.0f - 1.0f;
        vb[i] = (float)((i * 11) % 13) / 6.0f - 1.0f;
    }
    for (int i = 0; i < 1024; i++) { pages[i] = kb; vpages[i] = vb; }
    memset(&d, 0, sizeof d);
    d.head_dim = 2; d.n_heads = 1; d.n_kv_heads = 1; d.causal = 1;
    for (int k = 0; k < 3; k++) {
        size_t b = 0;
        double M = -INFINITY, den = 0, o[2] = {0, 0};
        d.deterministic = k == 0;  /* 64 splits */
        d.n_threads = k == 0 ? 1 : k == 1 ? 2 : INT32_MAX; /* 8 splits with 2 threads */
        pv = lcx_kv_view_paged(LCX_F32, pages, vpages, (int64_t)1 << 50, n_kv, 0, 0, NULL);
        CHECK(lcx_attention_workspace_size(&d, 1, &pv, &b) == LCX_OK);
        CHECKF(k == 2 || b <= sizeof work, "case %d: %zu bytes", k, b);
        if (b > sizeof work) b = sizeof work; /* INT_MAX threads: fewer fit */
        out[0] = out[1] = SENTINEL;
        CHECKF(lcx_attention(&d, q, 1, 2, qpos, &pv, out, 2, lse, work, b) == LCX_OK, "case %d", k);
        for (int j = 0; j < 4; j++) {
            double s = ((double)q[0] * kb[2 * j] + (double)q[1] * kb[2 * j + 1]) / sqrt(2.0);
            M = s > M ? s : M;
        }
        for (int j = 0; j < 4; j++) {
            double s = ((double)q[0] * kb[2 * j] + (double)q[1] * kb[2 * j + 1]) / sqrt(2.0);
            double w = exp(s - M);
            den += w;
            o[0] += w * vb[2 * j];
            o[1] += w * vb[2 * j + 1];
        }
        CHECK_NEAR(out[0], o[0] / den, 2e-6);
        CHECK_NEAR(out[1], o[1] / den, 2e-6);
        CHECK_NEAR(lse[0], M + log(den), 2e-6);
    }
}

/* The largest |out - ref| of D's last call over every row, relative to max |v| (NaN
   counts as infinite). */
static double out_err(const adata *D) {
    double err = 0;
    for (int64_t t = 0; t < D->c.n_q; t++)
        for (int h = 0; h < D->c.nh; h++)
            for (int i = 0; i < D->c.dv; i++) {
                double e = fabs(D->out[t * D->out_stride + h * D->out_hs + i] -
                                D->ref[(t * D->c.nh + h) * D->c.dv + i]) / D->vmax;
                if (!(e <= err)) err = isnan(e) ? INFINITY : e;
            }
    return err;
}

/* n_threads = INT_MAX given the workspace of one thread (or three): the call fits its
   plan at once (it used to step the thread count down one at a time, seconds of work)
   and gives the right answer; with deterministic = 1 the same bits as n_threads = 1. */
static void test_huge_n_threads_with_a_small_workspace(void) {
    for (int k = 0; k < 4; k++) {
        acase c = base_case();
        adata D;
        c.seed = 6100 + (uint64_t)k;
        c.n_q = k & 1 ? 64 : 1;
        c.n_kv = 2048 + 777 * k;
        c.nh = 8; c.nkv = 2; c.causal = 1; c.det = k >= 2; c.kt = c.vt = k % 3;
        build(&D, &c);
        reference(&D);
        {
            lcx_attn_desc d1 = D.desc, dh = D.desc;
            size_t w1 = 0;
            int64_t nrow = c.n_q * c.nh;
            float *o1 = (float *)malloc(sizeof(float) * (size_t)D.out_len);
            float *l1 = (float *)malloc(sizeof(float) * (size_t)nrow);
            float *lh = (float *)malloc(sizeof(float) * (size_t)nrow);
            char *work;
            d1.n_threads = 1;
            dh.n_threads = INT32_MAX;
            CHECK(lcx_attention_workspace_size(&d1, c.n_q, &D.view, &w1) == LCX_OK);
            work = (char *)malloc(3 * w1 + 64);
            CHECK(lcx_attention(&d1, D.q, c.n_q, D.q_stride, NULL, &D.view, o1, D.out_stride, l1, work, w1) == LCX_OK);
            for (int m = 1; m <= 3; m += 2) {
                double err;
                for (int64_t i = 0; i < D.out_len; i++) D.out[i] = SENTINEL;
                CHECKF(lcx_attention(&dh, D.q, c.n_q, D.q_stride, NULL, &D.view, D.out, D.out_stride, lh, work, m * w1) == LCX_OK,
                       "case %d, work x%d", k, m);
                err = out_err(&D);
                CHECKF(err <= 2e-5, "case %d, work x%d: err %.3g", k, m, err);
                if (c.det)
                    CHECKF(memcmp(o1, D.out, sizeof(float) * (size_t)D.out_len) == 0 &&
                           memcmp(l1, lh, sizeof(float) * (size_t)nrow) == 0,
                           "case %d, work x%d: not the bits of n_threads 1", k, m);
            }
            free(o1); free(l1); free(lh); free(work);
        }
        destroy(&D);
    }
}

/* The workspace counts no more threads than the call has jobs: prefill items (at most
   one per query token and KV head), decode splits (at most 64) or, with key_probs, the
   chunks of its pass (LCX__ATTN_KP_CHUNK keys per KV head). n_threads INT32_MAX then
   asks for what the job count asks for (it used to ask for one scratch per thread: 461
   TB for 64 queries), and the call given that much is right. */
static void test_workspace_counts_threads_with_jobs_only(void) {
    for (int k = 0; k < 3; k++) {
        acase c = base_case();
        adata D;
        size_t wmax = 0, wjobs = 0, w1 = 0;
        int64_t jobs;
        float *kp = NULL;
        c.seed = 6200 + (uint64_t)k;
        c.n_q = k == 0 ? 64 : 1;
        c.n_kv = k == 0 ? 1000 : 40000;
        c.nh = 8; c.nkv = 2; c.causal = 1; c.kt = c.vt = LCX_F16;
        build(&D, &c);
        reference(&D);
        if (k == 2) {
            kp = (float *)calloc((size_t)(c.nkv * c.n_kv), sizeof(float));
            D.desc.key_probs = kp;
        }
        jobs = k == 0 ? c.n_q * c.nkv : k == 1 ? 64
             : c.nkv * ((c.n_kv + LCX__ATTN_KP_CHUNK - 1) / LCX__ATTN_KP_CHUNK);
        D.desc.n_threads = 1;
        CHECK(lcx_attention_workspace_size(&D.desc, c.n_q, &D.view, &w1) == LCX_OK);
        D.desc.n_threads = (int)jobs;
        CHECK(lcx_attention_workspace_size(&D.desc, c.n_q, &D.view, &wjobs) == LCX_OK);
        D.desc.n_threads = INT32_MAX;
        CHECK(lcx_attention_workspace_size(&D.desc, c.n_q, &D.view, &wmax) == LCX_OK);
#ifdef LCX__OPENMP
        CHECKF(wmax == wjobs && wmax > w1, "case %d: %zu bytes at INT32_MAX threads, %zu at %lld, %zu at 1",
               k, wmax, wjobs, (long long)jobs, w1);
#else /* every thread count is one */
        CHECKF(wmax == w1 && wjobs == w1, "case %d: %zu bytes at INT32_MAX threads, %zu at 1", k, wmax, w1);
#endif
        {
            char *work = (char *)malloc(wmax);
            double err;
            for (int64_t i = 0; i < D.out_len; i++) D.out[i] = SENTINEL;
            CHECKF(work && lcx_attention(&D.desc, D.q, c.n_q, D.q_stride, NULL, &D.view, D.out, D.out_stride,
                                         NULL, work, wmax) == LCX_OK, "case %d", k);
            err = out_err(&D);
            CHECKF(err <= 2e-5, "case %d: err %.3g", k, err);
            free(work);
        }
        if (kp) { /* each query row's probabilities add up to 1 */
            double sum = 0;
            for (int64_t i = 0; i < c.nkv * c.n_kv; i++) sum += kp[i];
            CHECKF(fabs(sum - (double)(c.n_q * c.nh)) <= 1e-3, "key_probs sum %.6f", sum);
            D.desc.key_probs = NULL;
            free(kp);
        }
        destroy(&D);
    }
}

/* A workspace sized for a long cache serves any shorter one with the same desc and n_q
   (a caller allocates once for the longest context), prefill and decode, whatever thread
   count the call asks for and whatever the call's size makes of it. */
static void test_workspace_for_long_cache_serves_shorter(void) {
    static const int64_t nqs[] = {1, 8, 9, 16, 64, 70, 130, 257, 1000};
    static const int64_t shorts[] = {1, 63, 64, 65, 1000, 4097};
    static const int groups[][2] = {{8, 8}, {32, 8}, {8, 2}, {12, 3}, {8, 1}, {32, 1}};
    static const int nts[] = {0, 1, 2, 3, 16};
    float dummy[16] = {0};
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (size_t t = 0; t < sizeof nts / sizeof nts[0]; t++)
            for (size_t i = 0; i < sizeof nqs / sizeof nqs[0]; i++) {
                lcx_attn_desc d;
                lcx_kv_view lv = lcx_kv_view_contiguous(LCX_F16, dummy, dummy, 16384, 0, 0, NULL);
                size_t wl = 0;
                memset(&d, 0, sizeof d);
                d.head_dim = 128; d.n_heads = groups[g][0]; d.n_kv_heads = groups[g][1];
                d.n_threads = nts[t];
                CHECK(lcx_attention_workspace_size(&d, nqs[i], &lv, &wl) == LCX_OK && wl > 0);
                for (size_t k = 0; k < sizeof shorts / sizeof shorts[0]; k++) {
                    lcx_kv_view sv = lcx_kv_view_contiguous(LCX_F16, dummy, dummy, shorts[k], 0, 0, NULL);
                    size_t ws = 0;
                    CHECK(lcx_attention_workspace_size(&d, nqs[i], &sv, &ws) == LCX_OK);
                    CHECKF(ws <= wl, "heads %d/%d, n_threads %d, n_q %lld: n_kv %lld wants %zu > %zu",
                           groups[g][0], groups[g][1], nts[t], (long long)nqs[i],
                           (long long)shorts[k], ws, wl);
                }
            }
}

/* key_probs of a built case (reference() run) on every level against probabilities
   recomputed from the reference lse; with_lse: the caller passes lse too */
static void check_key_probs(adata *D, const char *what, int with_lse) {
    const acase *c = &D->c;
    float *kp = (float *)malloc(sizeof(float) * (size_t)(c->nkv * c->n_kv + 1));
    float *lse = (float *)malloc(sizeof(float) * (size_t)(c->n_q * c->nh + 1));
    for (int simd = 0; simd < LCX__SIMD_COUNT; simd++) {
        size_t wb = 0;
        void *work;
        double err = 0;
        if (!lcx__simd_compiled(simd)) continue;
        for (int64_t i = 0; i < c->nkv * c->n_kv; i++) kp[i] = 0.5f; /* it adds */
        D->desc.key_probs = kp;
        lcx_attention_workspace_size(&D->desc, c->n_q, &D->view, &wb);
        work = malloc(wb + 1);
        CHECK(lcx__attention_impl(simd, &D->desc, D->q, c->n_q, D->q_stride, D->qpos, &D->view,
                                  D->out, D->out_stride, with_lse ? lse : NULL, work, wb) == LCX_OK);
        D->desc.key_probs = NULL;
        {
            int G = c->nh / c->nkv;
            for (int kvh = 0; kvh < c->nkv; kvh++)
                for (int64_t j = 0; j < c->n_kv; j++) {
                    double sum = 0.5;
                    for (int64_t t = 0; t < c->n_q; t++)
                        for (int g = 0; g < G; g++) {
                            int h = kvh * G + g;
                            if (c->causal && ref_kpos(D, j) > ref_qpos(D, t)) continue;
                            sum += exp(ref_logit(D, t, h, j) - D->ref_lse[t * c->nh + h]);
                        }
                    double e = fabs(sum - kp[kvh * c->n_kv + j]) / (1.0 + sum);
                    if (!(e <= err)) err = isnan(e) ? INFINITY : e;
                }
        }
        CHECKF(err <= 2e-5, "key_probs %s [%s]: err %.3g", what, lcx__simd_level_name(simd), err);
        free(work);
    }
    free(lse);
    free(kp);
}

static void test_key_probs_match_reference(void) {
    /* cases 6 and 7: ALiBi with the query far from its keys (causal, a million positions
       on; non-causal, keys ahead, with the caller's lse), so that the lse the pass
       divides by must be the row's own, not the documented one rounded to float */
    for (int k = 0; k < 8; k++) {
        acase c = base_case();
        adata D;
        char what[32];
        if (lcx_test_quick() && k >= 2 && k < 6) continue;
        c.seed = 300 + (uint64_t)k;
        c.n_q = k % 2 ? 3 : 40; c.n_kv = 700 + 100 * k; c.nh = 8; c.nkv = 2; c.causal = k != 7;
        c.sinks = k & 1; c.alibi = k == 2 || k >= 6; c.kt = c.vt = k % 3; c.nt = 2; c.qmul = 4;
        c.kpos_mode = c.qpos_mode = k >= 6;
        build(&D, &c);
        for (int64_t t = 0; k >= 6 && t < c.n_q; t++)
            D.qpos[t] = k == 6 ? D.kpos[c.n_kv - 1] + 1000000 + t : D.kpos[0] - 5 - t;
        reference(&D);
        snprintf(what, sizeof what, "case %d", k);
        check_key_probs(&D, what, k == 7);
        destroy(&D);
    }
}

/* random shapes: ALiBi, sinks, key positions (offset, gaps, shuffled), query positions
   near the keys or up to 2 * 10^6 from them, causal or not, the caller's lse or not */
static void test_key_probs_random_shapes(void) {
    int n = lcx_test_quick() ? 6 : 30;
    lcx_t_rng r = {99991};
    for (int k = 0; k < n; k++) {
        acase c = base_case();
        adata D;
        char what[512];
        c.seed = 80000 + (uint64_t)k;
        c.n_q = lcx_t_int(&r, 1, 40);
        c.n_kv = lcx_t_int(&r, 1, 3000);
        c.nkv = (int)lcx_t_int(&r, 1, 2);
        c.nh = c.nkv * (lcx_t_int(&r, 0, 1) ? 4 : 1);
        c.d = c.dv = lcx_t_int(&r, 0, 1) ? 64 : 128;
        c.causal = (int)lcx_t_int(&r, 0, 1);
        c.sinks = (int)lcx_t_int(&r, 0, 1);
        c.alibi = (int)lcx_t_int(&r, 0, 1);
        c.kt = c.vt = (int)lcx_t_int(&r, 0, 2);
        c.nt = (int)lcx_t_int(&r, 1, 3);
        c.qmul = 4;
        c.kpos_mode = lcx_t_int(&r, 0, 1) ? (int)lcx_t_int(&r, 1, 3) : 0;
        c.qpos_mode = (int)lcx_t_int(&r, 0, 1);
        build(&D, &c);
        if (c.qpos_mode && lcx_t_int(&r, 0, 2) == 0)
            for (int64_t t = 0; t < c.n_q; t++)
                D.qpos[t] += (lcx_t_int(&r, 0, 1) ? 1 : -1) * lcx_t_int(&r, 0, 2000000);
        reference(&D);
        describe(&c, what, sizeof what);
        check_key_probs(&D, what, k & 1);
        destroy(&D);
    }
}

/* deterministic = 1: key_probs bit-identical for n_threads 1, 2, 3 and 4, prefill (the
   query blocks change with the thread count: groups of 2, 3 and 4 heads, 100 and 300
   queries) and decode, causal with queries near the keys or not, ALiBi, the caller's
   lse or not; key_probs starting at -0.0 (a zero sum keeps one sign at any count).
   With OpenMP the thread counts are real; without, every call is serial. */
static void test_key_probs_bit_identical_across_threads(void) {
    int n = lcx_test_quick() ? 4 : 10;
    for (int k = 0; k < n; k++) {
        acase c = base_case();
        adata D;
        size_t kn;
        float *kp[4], *lse;
        c.seed = 7100 + (uint64_t)k;
        c.n_q = k % 5 == 4 ? 1 + k % 8 : (k & 1 ? 300 : 100);
        c.n_kv = 900 + 250 * k;
        c.nkv = 2; c.nh = 2 * (2 + k % 3); c.d = c.dv = 64;
        c.kt = c.vt = k % 3; c.det = 1; c.qmul = 4;
        c.causal = k % 4 != 3;
        c.alibi = k % 3 == 1;
        c.qpos_mode = k % 2 == 0; /* queries among the keys: some keys no query sees */
        c.kpos_mode = k % 5 == 2 ? 3 : 0;
        build(&D, &c);
        kn = (size_t)(c.nkv * c.n_kv);
        lse = (float *)malloc(sizeof(float) * (size_t)(c.n_q * c.nh));
        for (int t = 0; t < 4; t++) {
            lcx_attn_desc d = D.desc;
            size_t wb = 0;
            void *work;
            kp[t] = (float *)malloc(sizeof(float) * kn);
            for (size_t i = 0; i < kn; i++) kp[t][i] = -0.0f;
            d.n_threads = t + 1;
            d.key_probs = kp[t];
            CHECK(lcx_attention_workspace_size(&d, c.n_q, &D.view, &wb) == LCX_OK);
            work = malloc(wb + 1);
            CHECK(lcx_attention(&d, D.q, c.n_q, D.q_stride, D.qpos, &D.view, D.out, D.out_stride,
                                k % 3 == 2 ? lse : NULL, work, wb) == LCX_OK);
            free(work);
            if (t > 0) {
                size_t diff = 0;
                for (size_t i = 0; i < kn; i++) diff += memcmp(&kp[0][i], &kp[t][i], 4) != 0;
                CHECKF(diff == 0, "case %d (n_q %lld, %d heads / %d): n_threads %d: %zu of %zu "
                       "key_probs differ from n_threads 1", k, (long long)c.n_q, c.nh, c.nkv,
                       t + 1, diff, kn);
            }
        }
        for (int t = 0; t < 4; t++) free(kp[t]);
        free(lse);
        destroy(&D);
    }
}

/* The call given less workspace than lcx_attention_workspace_size asks for (a random
   share, at least an eighth): either LCX_ERR_WORKSPACE with nothing written, or fewer
   splits or threads and the right answer. */
static void check_with_less_work(adata *D, int simd, const char *what, lcx_t_rng *r) {
    const acase *c = &D->c;
    size_t wb = 0, w;
    void *work;
    lcx_status st;
    CHECK(lcx_attention_workspace_size(&D->desc, c->n_q, &D->view, &wb) == LCX_OK);
    if (wb < 8) return;
    w = (size_t)lcx_t_int(r, (int64_t)(wb / 8), (int64_t)wb - 1);
    work = malloc(w);
    for (int64_t i = 0; i < D->out_len; i++) D->out[i] = SENTINEL;
    st = lcx__attention_impl(simd, &D->desc, D->q, c->n_q, D->q_stride, D->qpos, &D->view,
                             D->out, D->out_stride, NULL, work, w);
    if (st == LCX_ERR_WORKSPACE) {
        int64_t written = 0;
        for (int64_t i = 0; i < D->out_len; i++) written += D->out[i] != SENTINEL;
        CHECKF(written == 0, "%s [%s]: %zu of %zu bytes: error, yet %lld written", what,
               lcx__simd_level_name(simd), w, wb, (long long)written);
    } else {
        double err = out_err(D);
        CHECKF(st == LCX_OK && err <= 2e-5, "%s [%s]: %zu of %zu bytes: status %d, err %.3g",
               what, lcx__simd_level_name(simd), w, wb, (int)st, err);
    }
    free(work);
}

/* Wider than the shapes the issue lists: any even head_dim and v_head_dim up to 256,
   GQA ratios 1 to 9 over 1 to 4 KV heads, pages of 1 to 512 tokens, gaps between rows,
   a random mix of every option, 1 to 3 threads, a smaller workspace, key_probs. The
   logits' spread is kept to a standard deviation of 8 at most (queries scaled down where
   the draw makes it larger): beyond that a float dot product summed in order misses 2e-5
   (a logit of 100 carries an absolute error near 1e-5 from its 192 float products); the
   kernels' partial sums are checked at larger spreads by
   test_spread_logits_keep_accuracy. A scratch fuzzer with this generator passed 21936 cases (10 minutes) and 5306
   under ASan and UBSan on 2026-12-04. */
static void test_wide_random_shapes(void) {
    int n_cases = lcx_test_quick() ? 16 : 240;
    lcx_t_rng r = {97531};
    for (int k = 0; k < n_cases; k++) {
        acase c = base_case();
        adata D;
        char what[512];
        const int mode = (int)lcx_t_int(&r, 0, 3); /* decode, prefill, tiny, any */
        double cost, sc, sd;
        c.seed = 9000 + (uint64_t)k;
        c.n_q = mode == 0 ? lcx_t_int(&r, 1, 9) : mode == 1 ? lcx_t_int(&r, 10, 300)
              : mode == 2 ? lcx_t_int(&r, 0, 3) : lcx_t_int(&r, 1, 80);
        c.n_kv = mode == 2 ? lcx_t_int(&r, 0, 70)
               : lcx_t_int(&r, 0, 3) == 0 ? lcx_t_int(&r, 1, 12000) : lcx_t_int(&r, 1, 700);
        c.d = lcx_t_int(&r, 0, 1) ? 2 * (int)lcx_t_int(&r, 1, 128) : lcx_t_int(&r, 0, 1) ? 128 : 64;
        c.dv = lcx_t_int(&r, 0, 3) == 0 ? 2 * (int)lcx_t_int(&r, 1, 128) : c.d;
        c.nkv = (int)lcx_t_int(&r, 1, 4);
        c.nh = c.nkv * (int)lcx_t_int(&r, 1, 9);
        cost = (double)(c.n_q + 1) * (double)(c.n_kv + 1) * c.nh * (c.d + c.dv);
        while (cost > 1e7 && c.nh > c.nkv) {
            c.nh -= c.nkv;
            cost = (double)(c.n_q + 1) * (double)(c.n_kv + 1) * c.nh * (c.d + c.dv);
        }
        while (cost > 1e7 && c.n_kv > 64) {
            c.n_kv /= 2;
            cost = (double)(c.n_q + 1) * (double)(c.n_kv + 1) * c.nh * (c.d + c.dv);
        }
        c.kt = (int)lcx_t_int(&r, 0, 2);
        c.vt = lcx_t_int(&r, 0, 2) == 0 ? (int)lcx_t_int(&r, 0, 2) : c.kt;
        c.causal = lcx_t_int(&r, 0, 2) != 0;
        c.softcap = lcx_t_int(&r, 0, 4) == 0 ? (float)lcx_t_range(&r, 1, 50) : 0.0f;
        c.alibi = lcx_t_int(&r, 0, 3) == 0;
        c.sinks = lcx_t_int(&r, 0, 3) == 0;
        c.paged = lcx_t_int(&r, 0, 2) == 0;
        c.page = !c.paged ? 0
               : lcx_t_int(&r, 0, 2) == 0 ? (int64_t)1 << lcx_t_int(&r, 0, 9) : lcx_t_int(&r, 1, 300);
        c.qhm = lcx_t_int(&r, 0, 4) == 0;
        c.kvhm = lcx_t_int(&r, 0, 4) == 0;
        c.gap = lcx_t_int(&r, 0, 3) == 0 ? lcx_t_int(&r, 1, 40) : 0;
        c.qpos_mode = lcx_t_int(&r, 0, 3) == 0;
        c.kpos_mode = lcx_t_int(&r, 0, 2) == 0 ? (int)lcx_t_int(&r, 1, 3) : 0;
        c.nt = (int)lcx_t_int(&r, 1, 3);
        c.det = lcx_t_int(&r, 0, 3) == 0;
        c.qmul = lcx_t_int(&r, 0, 3) == 0 ? (float)lcx_t_range(&r, 2, 30) : 1.0f;
        c.scale = lcx_t_int(&r, 0, 5) == 0 ? (float)lcx_t_range(&r, 0.01, 1) : 0.0f;
        sc = c.scale > 0 ? c.scale : 1 / sqrt((double)c.d);
        sd = c.qmul * sc * sqrt((double)c.d) / 3; /* q in +-qmul, k in +-1: uniform */
        if (sd > 8) c.qmul = (float)(c.qmul * 8 / sd);
        describe(&c, what, sizeof what);
        build(&D, &c);
        reference(&D);
        for (int simd = 0; simd < LCX__SIMD_COUNT; simd++)
            if (lcx__simd_compiled(simd)) {
                run_and_check(&D, simd, what);
                if (lcx_t_int(&r, 0, 2) == 0) check_with_less_work(&D, simd, what, &r);
            }
        if (lcx_t_int(&r, 0, 4) == 0) check_key_probs(&D, what, (int)lcx_t_int(&r, 0, 1));
        destroy(&D);
    }
}

/* ALiBi over keys whose positions lie far apart inside one tile of 64: a StreamingLLM
   cache, sink tokens at positions 0..3 and a window P + j beside them (a ring buffer in
   the last cases: the window's positions rotate, so they do not ascend). The vector
   kernels once formed kp - kref as float(kp - kp[0]) + float(kp[0] - kref), rounded
   from P >= 2^24 on (errors 0.09 at 2 * 10^7, 0.26 at 10^9); every level must match
   the double reference, decode (q_pos NULL and explicit) and prefill, key_probs too. */
/* Logits of standard deviation 16 and 24 (f32 K and V, head_dim 128 to 256): a dot summed
   in order over all of head_dim carries 2.2e-5 to 3.6e-5 of max |v| there (bench/NOTES.md,
   "Accuracy at large logits"), above the bound; every path keeps partial sums (lanes, or
   blocks of LCX__ATTN_DBLK dims) and stays within it. Prefill and decode, 1 and 2
   threads, every SIMD level. */
static void test_spread_logits_keep_accuracy(void) {
    static const int ds[] = {128, 192, 256};
    static const double sds[] = {16, 24};
    int k = 0;
    for (int di = 0; di < 3; di++)
        for (int si = 0; si < 2; si++)
            for (int mode = 0; mode < 2; mode++) {
                acase c = base_case();
                c.d = c.dv = ds[di];
                c.nh = 8; c.nkv = 2;
                c.n_q = mode ? 1 : 64;
                c.n_kv = lcx_test_quick() ? 300 : 1000;
                c.causal = 1;
                c.nt = 1 + (k & 1);
                /* q uniform in +-qmul, k in +-1, scale 1/sqrt(d): std = qmul / 3 */
                c.qmul = (float)(3 * sds[si]);
                c.seed = 7100 + (uint64_t)k++;
                check_case(&c);
            }
}

static void test_alibi_sinks_and_a_far_window_in_one_tile(void) {
    static const int64_t Ps[] = {((int64_t)1 << 24) + 5, 100000000, 1000000000, (int64_t)1 << 40};
    static const int64_t nqs[] = {1, 3, 70};
    for (int k = 0; k < 16; k++) {
        acase c = base_case();
        adata D;
        char what[96];
        const int64_t P = Ps[k % 4];
        const int ring = k >= 12;
        c.seed = 500 + (uint64_t)k;
        c.n_q = nqs[k % 3];
        c.n_kv = 4 + 200;
        c.nh = 8; c.nkv = 2; c.d = c.dv = k % 2 ? 128 : 64;
        c.kt = c.vt = k % 3; c.nt = 1 + k % 2;
        c.alibi = 1; c.causal = 1; c.kpos_mode = 1;
        c.qpos_mode = c.n_q > 1 || k % 2; /* decode with q_pos NULL: the cache's last token */
        c.sinks = k % 5 == 0;
        build(&D, &c);
        for (int64_t j = 0; j < c.n_kv; j++)
            D.kpos[j] = j < 4 ? j : P + (ring ? (j - 4 + 150) % 200 : j - 4);
        if (c.qpos_mode)
            for (int64_t t = 0; t < c.n_q; t++)
                D.qpos[t] = P + 200 - c.n_q + t; /* the window's last positions */
        reference(&D);
        snprintf(what, sizeof what, "sinks + window at %lld, n_q %lld%s", (long long)P,
                 (long long)c.n_q, ring ? ", ring" : "");
        for (int simd = 0; simd < LCX__SIMD_COUNT; simd++)
            if (lcx__simd_compiled(simd)) run_and_check(&D, simd, what);
        if (k % 4 == 3) check_key_probs(&D, what, k & 1);
        destroy(&D);
    }
}

/* Positions are any int64: ALiBi with keys and queries at or near INT64_MIN and
   INT64_MAX, where kp - qp does not fit an int64 (once: signed overflow, caught by the
   UBSan build, and wrong results); with a small slope the documented logits are small
   finite reals. Also the derived query positions (q_pos NULL, n_q > n_kv): one below
   INT64_MIN is LCX_ERR_INVALID_ARG, nothing written; INT64_MIN itself is fine. */
static void test_alibi_positions_near_the_int64_limits(void) {
    const int64_t MN = INT64_MIN, MX = INT64_MAX;
    for (int k = 0; k < 12; k++) {
        acase c = base_case();
        adata D;
        char what[64];
        float slope = 0;
        c.seed = 700 + (uint64_t)k;
        c.nh = 2; c.nkv = 1; c.alibi = 1; c.kpos_mode = 1; c.qpos_mode = 1;
        c.kt = c.vt = k % 3; c.nt = 1 + k % 2;
        c.n_kv = k < 6 ? 3 : 150; /* 150: three tiles, several rows per tile in prefill */
        c.n_q = k % 3 == 2 ? 20 : 2;
        c.sinks = k % 4 == 1;
        build(&D, &c);
        for (int64_t j = 0; j < c.n_kv; j++) {
            switch (k % 6) {
            case 0: /* {MIN, 0, MAX}, queries at 0 and MAX, not causal */
                D.kpos[j] = j % 3 == 0 ? MN + j : j % 3 == 1 ? j : MX - j;
                slope = 1e-20f;
                break;
            case 1: /* the same, the slope favouring the lowest position */
                D.kpos[j] = j % 3 == 0 ? MN + j : j % 3 == 1 ? j : MX - j;
                slope = -1e-20f;
                break;
            case 2: /* keys near MAX, causal queries among them and near MIN */
                D.kpos[j] = MX - (c.n_kv - 1 - j);
                slope = 0.5f;
                break;
            case 3: /* keys near MIN, queries near MAX, causal, slope < 0 */
                D.kpos[j] = MN + j;
                slope = -1e-20f;
                break;
            case 4: /* not ascending {5, MIN, MAX, 7, ...}, causal */
                D.kpos[j] = j % 4 == 1 ? MN + j : j % 4 == 2 ? MX - j : 5 + j;
                slope = 1e-19f;
                break;
            default: /* keys near MIN, causal queries among them */
                D.kpos[j] = MN + j;
                slope = 0.5f;
                break;
            }
        }
        D.c.causal = D.desc.causal = k % 6 >= 2;
        for (int64_t t = 0; t < c.n_q; t++) {
            int m = k % 6;
            D.qpos[t] = m <= 1 ? (t % 2 ? MX : 0)
                      : m == 2 ? (t % 2 ? MN : MX - t)
                      : m == 3 ? MX - t
                      : m == 4 ? (t % 2 ? MX : 6 + t)
                      : MN + t;
        }
        for (int h = 0; h < c.nh; h++) D.slopes[h] = slope * (float)(h + 1);
        reference(&D);
        snprintf(what, sizeof what, "int64 limits, case %d", k);
        for (int simd = 0; simd < LCX__SIMD_COUNT; simd++)
            if (lcx__simd_compiled(simd)) run_and_check(&D, simd, what);
        check_key_probs(&D, what, k & 1);
        destroy(&D);
    }
    /* derived query positions: kp[0] + (n_kv - n_q + i) for the first n_q - n_kv */
    for (int k = 0; k < 2; k++) {
        acase c = base_case();
        adata D;
        c.nh = 2; c.nkv = 1; c.alibi = k; c.causal = 1; c.kpos_mode = 1;
        c.n_q = 5; c.n_kv = 3;
        build(&D, &c);
        for (int64_t j = 0; j < c.n_kv; j++) D.kpos[j] = MN + 2 + j; /* first query at MIN */
        reference(&D);
        for (int simd = 0; simd < LCX__SIMD_COUNT; simd++)
            if (lcx__simd_compiled(simd)) run_and_check(&D, simd, "derived positions down to INT64_MIN");
        for (int64_t j = 0; j < c.n_kv; j++) D.kpos[j] = MN + 1 + j; /* one below */
        {
            size_t wb = 0;
            float lse[16];
            char *work;
            int64_t bad = 0;
            lcx_status st;
            CHECK(lcx_attention_workspace_size(&D.desc, c.n_q, &D.view, &wb) == LCX_OK);
            work = (char *)malloc(wb + 1);
            for (int64_t i = 0; i < D.out_len; i++) D.out[i] = SENTINEL;
            for (int i = 0; i < 16; i++) lse[i] = -7.0f;
            st = lcx_attention(&D.desc, D.q, c.n_q, D.q_stride, NULL, &D.view, D.out,
                               D.out_stride, lse, work, wb);
            CHECKF(st == LCX_ERR_INVALID_ARG, "derived position below INT64_MIN: status %d", (int)st);
            for (int64_t i = 0; i < D.out_len; i++) bad += D.out[i] != SENTINEL;
            for (int i = 0; i < 16; i++) bad += lse[i] != -7.0f;
            CHECKF(bad == 0, "derived position below INT64_MIN: %lld elements written", (long long)bad);
            free(work);
        }
        destroy(&D);
    }
}

/* every bad input: the status, and nothing written anywhere */
static void test_validation_writes_nothing(void) {
    acase c = base_case();
    adata D;
    size_t wb = 0;
    char *work;
    float lse[64];
    float kp[4 * 200];
    c.n_q = 3; c.n_kv = 100; c.nh = 4; c.nkv = 2;
    build(&D, &c);
    lcx_attention_workspace_size(&D.desc, c.n_q, &D.view, &wb);
    work = (char *)malloc(wb + 64);
#define EXPECT_ERR(status, desc_, q_, nq_, qs_, view_, out_, os_, work_, wb_)                   \
    do {                                                                                     \
        float *ob_ = (float *)malloc(sizeof(float) * (size_t)D.out_len);                     \
        float lb_[64], kb_[4 * 200];                                                         \
        char *wcopy_ = (char *)malloc(wb + 64);                                              \
        lcx_status st_;                                                                      \
        for (int64_t i_ = 0; i_ < D.out_len; i_++) D.out[i_] = SENTINEL;                    \
        for (int i_ = 0; i_ < 64; i_++) lse[i_] = -7.0f;                                     \
        for (int i_ = 0; i_ < 800; i_++) kp[i_] = 3.0f;                                      \
        memset(work, 0x5A, wb + 64);                                                         \
        memcpy(ob_, D.out, sizeof(float) * (size_t)D.out_len);                               \
        memcpy(lb_, lse, sizeof lse);                                                        \
        memcpy(kb_, kp, sizeof kp);                                                          \
        memcpy(wcopy_, work, wb + 64);                                                       \
        st_ = lcx_attention(desc_, q_, nq_, qs_, NULL, view_, out_, os_, lse, work_, wb_);   \
        CHECKF(st_ == (status), "line %d: status %d, want %d", __LINE__, (int)st_, (int)(status)); \
        CHECKF(memcmp(ob_, D.out, sizeof(float) * (size_t)D.out_len) == 0, "line %d: out written", __LINE__); \
        CHECKF(memcmp(lb_, lse, sizeof lse) == 0, "line %d: lse written", __LINE__);       \
        CHECKF(memcmp(kb_, kp, sizeof kp) == 0, "line %d: key_probs written", __LINE__);   \
        CHECKF(memcmp(wcopy_, work, wb + 64) == 0, "line %d: work written", __LINE__);     \
        free(ob_); free(wcopy_);                                                             \
    } while (0)
    {
        lcx_attn_desc d = D.desc;
        lcx_kv_view v = D.view, v2;
        const float *q = D.q;
        float *o = D.out;
        int64_t qs = D.q_stride, os = D.out_stride, nq = c.n_q;
        d.key_probs = kp;
        /* sanity: valid call passes (and does write) */
        {
            lcx_status st = lcx_attention(&d, q, nq, qs, NULL, &v, o, os, lse, work, wb);
            CHECK(st == LCX_OK);
        }
#define BAD_DESC(field, value, status)                                                       \
    do {                                                                                     \
        lcx_attn_desc bd_ = d;                                                               \
        bd_.field = value;                                                                   \
        EXPECT_ERR(status, &bd_, q, nq, qs, &v, o, os, work, wb);                            \
    } while (0)
        BAD_DESC(head_dim, 63, LCX_ERR_INVALID_ARG);
        BAD_DESC(head_dim, 0, LCX_ERR_INVALID_ARG);
        BAD_DESC(head_dim, 258, LCX_ERR_INVALID_ARG);
        BAD_DESC(head_dim, -64, LCX_ERR_INVALID_ARG);
        BAD_DESC(v_head_dim, 33, LCX_ERR_INVALID_ARG);
        BAD_DESC(v_head_dim, 260, LCX_ERR_INVALID_ARG);
        BAD_DESC(v_head_dim, -2, LCX_ERR_INVALID_ARG);
        BAD_DESC(n_heads, 3, LCX_ERR_INVALID_ARG);
        BAD_DESC(n_heads, 0, LCX_ERR_INVALID_ARG);
        BAD_DESC(n_kv_heads, 0, LCX_ERR_INVALID_ARG);
        BAD_DESC(n_kv_heads, 3, LCX_ERR_INVALID_ARG);
        BAD_DESC(scale, NAN, LCX_ERR_INVALID_ARG);
        BAD_DESC(scale, INFINITY, LCX_ERR_INVALID_ARG);
        BAD_DESC(softcap, NAN, LCX_ERR_INVALID_ARG);
        BAD_DESC(softcap, -1.0f, LCX_ERR_INVALID_ARG);
        BAD_DESC(softcap, INFINITY, LCX_ERR_INVALID_ARG);
        BAD_DESC(n_threads, -1, LCX_ERR_INVALID_ARG);
        BAD_DESC(q_head_stride, -1, LCX_ERR_INVALID_ARG);
        BAD_DESC(q_head_stride, 10, LCX_ERR_INVALID_ARG);   /* < head_dim */
        BAD_DESC(out_head_stride, 63, LCX_ERR_INVALID_ARG);
        BAD_DESC(out_head_stride, -64, LCX_ERR_INVALID_ARG);
        BAD_DESC(pattern, (const struct lcx_sparse_pattern *)(const void *)kp, LCX_ERR_UNSUPPORTED);
        {
            float bad_slopes[4] = {0.5f, NAN, 0.1f, 0.1f}, bad_sinks[4] = {0, 0, NAN, 0};
            float inf_slopes[4] = {0.5f, INFINITY, 0.1f, 0.1f};
            BAD_DESC(alibi_slopes, bad_slopes, LCX_ERR_INVALID_ARG);
            BAD_DESC(alibi_slopes, inf_slopes, LCX_ERR_INVALID_ARG);
            BAD_DESC(sinks, bad_sinks, LCX_ERR_INVALID_ARG);
        }
        EXPECT_ERR(LCX_ERR_INVALID_ARG, NULL, q, nq, qs, &v, o, os, work, wb);
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, NULL, nq, qs, &v, o, os, work, wb);
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, NULL, o, os, work, wb);
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v, NULL, os, work, wb);
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, -1, qs, &v, o, os, work, wb);
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, 64, &v, o, os, work, wb);      /* < row */
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, -256, &v, o, os, work, wb);
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v, o, 100, work, wb);
        EXPECT_ERR(LCX_ERR_WORKSPACE, &d, q, nq, qs, &v, o, os, work, 100);
        EXPECT_ERR(LCX_ERR_WORKSPACE, &d, q, nq, qs, &v, o, os, NULL, 0);
        /* views */
        v2 = v; v2.n_kv = -1;
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
        v2 = v; v2.k = NULL;
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
        v2 = v; v2.v = NULL;
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
        v2 = v; v2.k_stride = 100; /* < 2 heads * 64 */
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
        v2 = v; v2.v_stride = 127;
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
        v2 = v; v2.k_stride = -128;
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
        v2 = v; v2.k_head_stride = 32;
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
        v2 = v; v2.k_type = 7;
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
        memset(&v2, 0, sizeof v2); /* not made by a constructor */
        EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
        {
            const void *kpg[4], *vpg[4];
            int64_t pt = 30; /* 4 pages for 100 keys */
            for (int p = 0; p < 4; p++) {
                kpg[p] = (const char *)D.kbuf + (size_t)(p * pt * D.ks * 4);
                vpg[p] = (const char *)D.vbuf + (size_t)(p * pt * D.vs * 4);
            }
            v2 = lcx_kv_view_paged(LCX_F32, kpg, vpg, pt, c.n_kv, D.ks, D.vs, NULL);
            {
                lcx_status st = lcx_attention(&d, q, nq, qs, NULL, &v2, o, os, lse, work, wb);
                CHECK(st == LCX_OK);
            }
            kpg[3] = NULL;
            EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
            kpg[3] = kpg[2];
            vpg[2] = NULL;
            EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
            vpg[2] = vpg[1];
            v2 = lcx_kv_view_paged(LCX_F32, kpg, vpg, 0, c.n_kv, D.ks, D.vs, NULL);
            EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
            v2 = lcx_kv_view_paged(LCX_F32, kpg, vpg, -5, c.n_kv, D.ks, D.vs, NULL);
            EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
            v2 = lcx_kv_view_paged(LCX_F32, NULL, vpg, pt, c.n_kv, D.ks, D.vs, NULL);
            EXPECT_ERR(LCX_ERR_INVALID_ARG, &d, q, nq, qs, &v2, o, os, work, wb);
        }
        /* modifiers */
        v2 = v;
        CHECK(lcx_kv_view_set_head_strides(&v2, -1, 0) == LCX_ERR_INVALID_ARG);
        CHECK(lcx_kv_view_set_head_strides(NULL, 0, 0) == LCX_ERR_INVALID_ARG);
        CHECK(lcx_kv_view_set_types(&v2, (lcx_dtype)9, LCX_F32) == LCX_ERR_INVALID_ARG);
        CHECK(lcx_kv_view_set_types(NULL, LCX_F32, LCX_F32) == LCX_ERR_INVALID_ARG);
        CHECK(memcmp(&v2, &v, sizeof v) == 0);
        /* workspace query validates too and leaves *bytes alone */
        {
            size_t b = 777;
            lcx_attn_desc bd = d;
            bd.head_dim = 7;
            CHECK(lcx_attention_workspace_size(&bd, 3, &v, &b) == LCX_ERR_INVALID_ARG && b == 777);
            CHECK(lcx_attention_workspace_size(&d, -3, &v, &b) == LCX_ERR_INVALID_ARG && b == 777);
            CHECK(lcx_attention_workspace_size(&d, 3, &v, NULL) == LCX_ERR_INVALID_ARG);
        }
        /* merge validation */
        {
            float mo[8] = {1, 2, 3, 4, 5, 6, 7, 8}, ml[2] = {0, 0}, mo0[8], ml0[2];
            float nan_sink[2] = {NAN, 0};
            memcpy(mo0, mo, sizeof mo); memcpy(ml0, ml, sizeof ml);
            CHECK(lcx_attention_merge(mo, ml, 4, mo, ml, 4, 2, 1, 3, NULL) == LCX_ERR_INVALID_ARG);
            CHECK(lcx_attention_merge(mo, ml, 4, mo, ml, 4, 2, 2, 4, NULL) == LCX_ERR_INVALID_ARG);
            CHECK(lcx_attention_merge(mo, ml, 4, mo, ml, 4, 2, 0, 4, NULL) == LCX_ERR_INVALID_ARG);
            CHECK(lcx_attention_merge(mo, ml, 4, mo, ml, 4, -1, 1, 4, NULL) == LCX_ERR_INVALID_ARG);
            CHECK(lcx_attention_merge(mo, NULL, 4, mo, ml, 4, 2, 1, 4, NULL) == LCX_ERR_INVALID_ARG);
            CHECK(lcx_attention_merge(mo, ml, 4, mo, ml, 4, 2, 2, 2, nan_sink) == LCX_ERR_INVALID_ARG);
            CHECK(memcmp(mo, mo0, sizeof mo) == 0 && memcmp(ml, ml0, sizeof ml) == 0);
            CHECK(lcx_attention_merge(NULL, NULL, 0, NULL, NULL, 0, 0, 1, 2, NULL) == LCX_OK);
        }
    }
#undef BAD_DESC
#undef EXPECT_ERR
    free(work);
    destroy(&D);
}

/* the exp used by the vector kernels: relative error against exp() */
static void test_vector_exp_accuracy(void) {
    double worst = 0;
    for (int simd = 0; simd < LCX__SIMD_COUNT; simd++) {
        if (!lcx__simd_compiled(simd)) continue;
        worst = 0;
        for (int i = 0; i <= 200000; i++) {
            float x = -87.0f + 88.0f * (float)i / 200000.0f, y = lcx__attn_exp_level(simd, x);
            double e = fabs((double)y - exp((double)x)) / exp((double)x);
            if (e > worst) worst = e;
        }
        CHECKF(worst <= 2.5e-7, "[%s] exp rel err %.3g", lcx__simd_level_name(simd), worst);
        CHECK(lcx__attn_exp_level(simd, -INFINITY) == 0.0f);
        CHECK(lcx__attn_exp_level(simd, -1e30f) == 0.0f);
        CHECK(lcx__attn_exp_level(simd, -100.0f) == 0.0f);
        CHECK(lcx__attn_exp_level(simd, 0.0f) == 1.0f);
    }
}

int main(void) {
    RUN(test_vector_exp_accuracy);
    RUN(test_validation_writes_nothing);
    RUN(test_merge_rules);
    RUN(test_merge_minus_inf_side_and_sink_and_stride_rules);
    RUN(test_merge_every_level_matches_double_reference);
    RUN(test_alibi_far_from_the_query_keeps_accuracy);
    RUN(test_alibi_sinks_and_a_far_window_in_one_tile);
    RUN(test_alibi_positions_near_the_int64_limits);
    RUN(test_empty_and_fully_masked_rows);
    RUN(test_extreme_logits_are_finite_and_correct);
    RUN(test_workspace_sizes);
    RUN(test_workspace_for_long_cache_serves_shorter);
    RUN(test_huge_shapes_rejected_by_query_and_call);
    RUN(test_decode_split_bounds_at_the_largest_cache);
    RUN(test_huge_n_threads_with_a_small_workspace);
    RUN(test_workspace_counts_threads_with_jobs_only);
    RUN(test_split_then_merge_equals_single_pass);
    RUN(test_deterministic_is_bit_identical_across_threads_and_work);
    RUN(test_key_probs_match_reference);
    RUN(test_key_probs_random_shapes);
    RUN(test_key_probs_bit_identical_across_threads);
    RUN(test_any_even_head_dim);
    RUN(test_decode_shapes_all_options);
    RUN(test_f32_decode_where_the_prefetch_hint_is_chosen);
    RUN(test_matches_double_reference_on_random_shapes);
    RUN(test_wide_random_shapes);
    RUN(test_spread_logits_keep_accuracy);
    return lcx_test_summary();
}
