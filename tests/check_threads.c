/* check_threads.c - distinct objects from several threads at once (the header: "Distinct
   objects may be used from any number of threads at once"): four POSIX threads, each with
   its own cache, queries, workspace and RoPE state, run decode and prefill attention
   (f16, GQA, causal) and a YaRN RoPE three times over; every result must equal, bit for
   bit, the one computed alone beforehand. tests/run.sh builds it with ThreadSanitizer
   (no OpenMP), which reports any data race on shared state. Prints "ok" or "FAILED". */
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
#define NQ 9
typedef struct { int id; float *q, *out, *lse, *x; lcx_f16 *k, *v; unsigned char *work; size_t wb; int bad; } ctx;
static float ref_out[4][NQ * H * D], ref_x[4][16 * H * D];
static void fill(ctx *c) {
    for (int i = 0; i < NQ * H * D; i++) c->q[i] = 0.01f * (float)((i * (c->id + 3)) % 97 - 48);
    for (int i = 0; i < NKV * KVH * D; i++) {
        c->k[i] = lcx_f32_to_f16(0.01f * (float)((i * (c->id + 5)) % 83 - 41));
        c->v[i] = lcx_f32_to_f16(0.01f * (float)((i * (c->id + 7)) % 79 - 39));
    }
    for (int i = 0; i < 16 * H * D; i++) c->x[i] = 0.02f * (float)(i % 89 - 44);
}
static void work(ctx *c, float *out_dst, float *x_dst) {
    lcx_attn_desc d; memset(&d, 0, sizeof d);
    d.head_dim = D; d.n_heads = H; d.n_kv_heads = KVH; d.causal = 1; d.n_threads = 2;
    lcx_kv_view kv = lcx_kv_view_contiguous(LCX_F16, c->k, c->v, NKV, 0, 0, NULL);
    for (int nq = 1; nq <= NQ; nq += 8) {
        lcx_status st = lcx_attention(&d, c->q, nq, H * D, NULL, &kv, c->out, H * D, c->lse, c->work, c->wb);
        if (st != LCX_OK) c->bad++;
    }
    lcx_rope r; lcx_rope_config rc; memset(&rc, 0, sizeof rc);
    rc.head_dim = D; rc.type = LCX_ROPE_YARN; rc.factor = 4; rc.original_max_pos = 512;
    if (lcx_rope_init(&r, &rc) != LCX_OK) c->bad++;
    lcx_rope_set_seq_len(&r, 5000);
    int64_t pos[16]; for (int i = 0; i < 16; i++) pos[i] = 1000 * i + c->id;
    if (lcx_rope_apply(&r, c->x, 16, H, H * D, pos) != LCX_OK) c->bad++;
    if (out_dst) { memcpy(out_dst, c->out, sizeof(float) * NQ * H * D); memcpy(x_dst, c->x, sizeof(float) * 16 * H * D); }
}
static void *run(void *arg) {
    ctx *c = (ctx *)arg;
    for (int it = 0; it < 3; it++) {
        fill(c);
        work(c, NULL, NULL);
        if (memcmp(c->out, ref_out[c->id], sizeof ref_out[0]) || memcmp(c->x, ref_x[c->id], sizeof ref_x[0])) c->bad++;
    }
    return NULL;
}
int main(void) {
    ctx c[4]; pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        c[i].id = i; c[i].bad = 0;
        c[i].q = malloc(sizeof(float) * NQ * H * D); c[i].out = malloc(sizeof(float) * NQ * H * D);
        c[i].lse = malloc(sizeof(float) * NQ * H); c[i].x = malloc(sizeof(float) * 16 * H * D);
        c[i].k = malloc(2 * NKV * KVH * D); c[i].v = malloc(2 * NKV * KVH * D);
        c[i].wb = 1 << 22; c[i].work = malloc(c[i].wb);
        fill(&c[i]); work(&c[i], ref_out[i], ref_x[i]);
    }
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, run, &c[i]);
    int bad = 0;
    for (int i = 0; i < 4; i++) { pthread_join(t[i], NULL); bad += c[i].bad; }
    printf("%s: %d bad\n", bad ? "FAILED" : "ok", bad);
    return bad != 0;
}
