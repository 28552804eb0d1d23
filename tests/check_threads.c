/* check_threads.c - distinct objects from several threads at once (the header: "Distinct
   objects may be used from any number of threads at once"): four POSIX threads, each with
   its own cache, queries, workspace and RoPE state, run a decode and a prefill (f16, GQA,
   causal; the prefill's out is compared) and a YaRN RoPE three times over; every result
   must equal, bit for bit, the one computed alone beforehand. tests/run.sh builds it with
   ThreadSanitizer (no OpenMP), which reports any data race on shared state. Prints "ok"
   or "FAILED". */
#define _POSIX_C_SOURCE 200112L
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define D 64
#define H 8
#define KVH 2
#define NKV 700
#define NQ 20 /* 20 x 4 rows per KV head: over the decode plan's 64, so a prefill */
#define NX 16 /* RoPE tokens */
#define NT 4  /* threads */

typedef struct {
    int id, bad;
    float *q, *out, *lse, *x;
    lcx_f16 *k, *v;
    unsigned char *work;
    size_t wb;
} ctx;

static float ref_out[NT][NQ * H * D], ref_x[NT][NX * H * D];

static void fill(ctx *c) {
    for (int i = 0; i < NQ * H * D; i++) c->q[i] = 0.01f * (float)((i * (c->id + 3)) % 97 - 48);
    for (int i = 0; i < NKV * KVH * D; i++) {
        c->k[i] = lcx_f32_to_f16(0.01f * (float)((i * (c->id + 5)) % 83 - 41));
        c->v[i] = lcx_f32_to_f16(0.01f * (float)((i * (c->id + 7)) % 79 - 39));
    }
    for (int i = 0; i < NX * H * D; i++) c->x[i] = 0.02f * (float)(i % 89 - 44);
}

/* a decode (1 query), then a prefill (NQ queries) into out; RoPE on x */
static void work(ctx *c) {
    lcx_attn_desc d;
    lcx_rope r;
    lcx_rope_config rc;
    lcx_kv_view kv = lcx_kv_view_contiguous(LCX_F16, c->k, c->v, NKV, 0, 0, NULL);
    int64_t pos[NX];
    memset(&d, 0, sizeof d);
    d.head_dim = D; d.n_heads = H; d.n_kv_heads = KVH; d.causal = 1; d.n_threads = 2;
    for (int nq = 1; nq <= NQ; nq += NQ - 1)
        if (lcx_attention(&d, c->q, nq, H * D, NULL, &kv, c->out, H * D, c->lse, c->work,
                          c->wb) != LCX_OK)
            c->bad++;
    memset(&rc, 0, sizeof rc);
    rc.head_dim = D; rc.type = LCX_ROPE_YARN; rc.factor = 4; rc.original_max_pos = 512;
    for (int i = 0; i < NX; i++) pos[i] = 1000 * i + c->id;
    if (lcx_rope_init(&r, &rc) != LCX_OK || lcx_rope_set_seq_len(&r, 5000) != LCX_OK ||
        lcx_rope_apply(&r, c->x, NX, H, H * D, pos) != LCX_OK)
        c->bad++;
}

static void *run(void *arg) {
    ctx *c = (ctx *)arg;
    for (int it = 0; it < 3; it++) {
        fill(c);
        work(c);
        if (memcmp(c->out, ref_out[c->id], sizeof ref_out[0]) ||
            memcmp(c->x, ref_x[c->id], sizeof ref_x[0]))
            c->bad++;
    }
    return NULL;
}

int main(void) {
    ctx c[NT];
    pthread_t t[NT];
    int bad = 0;
    for (int i = 0; i < NT; i++) {
        c[i].id = i; c[i].bad = 0; c[i].wb = 1 << 22;
        c[i].q = (float *)malloc(sizeof(float) * NQ * H * D);
        c[i].out = (float *)malloc(sizeof(float) * NQ * H * D);
        c[i].lse = (float *)malloc(sizeof(float) * NQ * H);
        c[i].x = (float *)malloc(sizeof(float) * NX * H * D);
        c[i].k = (lcx_f16 *)malloc(sizeof(lcx_f16) * NKV * KVH * D);
        c[i].v = (lcx_f16 *)malloc(sizeof(lcx_f16) * NKV * KVH * D);
        c[i].work = (unsigned char *)malloc(c[i].wb);
        if (!c[i].q || !c[i].out || !c[i].lse || !c[i].x || !c[i].k || !c[i].v || !c[i].work) {
            printf("FAILED: out of memory\n");
            return 1;
        }
        fill(&c[i]); /* each result alone first */
        work(&c[i]);
        memcpy(ref_out[i], c[i].out, sizeof ref_out[i]);
        memcpy(ref_x[i], c[i].x, sizeof ref_x[i]);
    }
    for (int i = 0; i < NT; i++)
        if (pthread_create(&t[i], NULL, run, &c[i]) != 0) {
            printf("FAILED: no thread\n");
            return 1;
        }
    for (int i = 0; i < NT; i++) {
        pthread_join(t[i], NULL);
        bad += c[i].bad;
        free(c[i].q); free(c[i].out); free(c[i].lse); free(c[i].x);
        free(c[i].k); free(c[i].v); free(c[i].work);
    }
    printf("%s: %d bad\n", bad ? "FAILED" : "ok", bad);
    return bad != 0;
}
