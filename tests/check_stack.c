/* check_stack.c - the header promises "Stack use stays under 8 KiB per call and thread".
   Each case runs one public call (n_threads 1) on a POSIX thread whose stack is ours,
   painted with a byte pattern beforehand; the depth of the overwritten part, less the
   same for a thread that calls nothing, is the call's stack use. Every case runs once on
   the main thread first, so that one-time work outside the library (the OpenMP runtime
   starting, the dynamic linker binding symbols) is not counted. tests/run.sh builds it
   with gcc and clang, OpenMP on and off, and runs it; POSIX threads only, no library
   code depends on them. Before the row pointers moved into the workspace, lcx_attention
   took 8.6-9.6 KiB (gcc) and 9.8-10.5 KiB (clang). Built -O0 (a debug build; LIMIT
   32 KiB) a decode call took 477 KB (gcc 12) and 874 KB (clang 14) while the kernels were
   inlined by force at every level, more than many threads have (LCX__FORCE_INLINE). */
#define _POSIX_C_SOURCE 200112L
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LIMIT
#  define LIMIT 8192 /* built with optimization; tests/run.sh builds -O0 with 32 KiB */
#endif
#define STACK (256 * 1024)
#define D 128
#define H 8
#define KVH 2
#define NKV 300
#define PAGE 16

static float q[64 * H * D], out[64 * H * D], lse[64 * H], kf32[NKV * KVH * D],
    vf32[NKV * KVH * D], slopes[H], sinks[H], key_probs[KVH * NKV], x[64 * H * D];
static lcx_f16 kf16[NKV * KVH * D], vf16[NKV * KVH * D];
static lcx_bf16 kbf16[NKV * KVH * D], vbf16[NKV * KVH * D];
static float up[64 * 2 * 128], down[2 * 128 * 64];
static unsigned char work[1 << 22];

typedef struct {
    const char *name;
    int kind; /* 0 nothing, 1 attention, 2 RoPE, 3 merge */
    int64_t n_q;
    lcx_dtype type;
    int extras, paged;   /* attention: ALiBi, sinks, key_probs, soft-cap; a paged view */
    lcx_rope_type rope;
    int op;              /* RoPE: which call (OP_...) */
    int status;          /* the call's status (must be LCX_OK) */
} job;

static void run_attention(job *j) {
    lcx_attn_desc d;
    const void *k = kf32, *v = vf32, *kp[(NKV + PAGE - 1) / PAGE], *vp[(NKV + PAGE - 1) / PAGE];
    size_t es = j->type == LCX_F32 ? 4 : 2;
    lcx_kv_view view;
    size_t need = 0;
    int i;
    if (j->type == LCX_F16) { k = kf16; v = vf16; }
    if (j->type == LCX_BF16) { k = kbf16; v = vbf16; }
    memset(&d, 0, sizeof d);
    d.head_dim = D;
    d.n_heads = H;
    d.n_kv_heads = KVH;
    d.causal = 1;
    d.n_threads = 1;
    if (j->extras) {
        d.alibi_slopes = slopes;
        d.sinks = sinks;
        d.key_probs = key_probs;
        d.softcap = 30.0f;
    }
    if (j->paged) {
        for (i = 0; i < (NKV + PAGE - 1) / PAGE; i++) {
            kp[i] = (const char *)k + (size_t)i * PAGE * KVH * D * es;
            vp[i] = (const char *)v + (size_t)i * PAGE * KVH * D * es;
        }
        view = lcx_kv_view_paged(j->type, kp, vp, PAGE, NKV, 0, 0, NULL);
    } else {
        view = lcx_kv_view_contiguous(j->type, k, v, NKV, 0, 0, NULL);
    }
    j->status = (int)lcx_attention_workspace_size(&d, j->n_q, &view, &need);
    if (j->status == LCX_OK && need > sizeof work) j->status = LCX_ERR_WORKSPACE;
    if (j->status == LCX_OK)
        j->status = (int)lcx_attention(&d, q, j->n_q, H * D, NULL, &view, out, H * D, lse,
                                       work, sizeof work);
}

static void run_merge(job *j) {
    j->status = (int)lcx_attention_merge(out, lse, H * D, x, lse, H * D, 64, H, D, sinks);
}

static lcx_rope rope, rope2;
static int64_t pos[64];

/* RoPE: the state is made on the main thread (rope_setup); each job measures one call */
static lcx_rope_config rope_cfg;

/* the configuration of each type (rope_cfg), then the state at seq_len in *r */
static int rope_setup(lcx_rope_type type, lcx_rope *r, int64_t seq_len) {
    static lcx_clex_params cp;
    static float sf[D / 2], lf[D / 2];
    int i;
    memset(&rope_cfg, 0, sizeof rope_cfg);
    rope_cfg.head_dim = D;
    rope_cfg.type = type;
    rope_cfg.n_threads = 1;
    rope_cfg.original_max_pos = 4096;
    rope_cfg.factor = 4;
    for (i = 0; i < D / 2; i++) {
        sf[i] = 1.0f + 0.01f * (float)i;
        lf[i] = 2.0f + 0.05f * (float)i;
    }
    if (type == LCX_ROPE_LONGROPE) {
        rope_cfg.short_factor = sf;
        rope_cfg.long_factor = lf;
    }
    if (type == LCX_ROPE_CLEX) {
        cp.param_factor = 2;
        cp.max_factor = 16;
        cp.time_dt = 0.01;
        cp.up_proj = up;
        cp.down_proj = down;
        rope_cfg.clex = &cp;
    }
    for (i = 0; i < 64; i++) pos[i] = 1000 + 3 * i;
    if (lcx_rope_init(r, &rope_cfg) != LCX_OK) return (int)LCX_ERR_INVALID_ARG;
    return (int)lcx_rope_set_seq_len(r, seq_len);
}

/* RoPE calls, one function each (the state is made on the main thread) */
static void op_init(job *j) { j->status = (int)lcx_rope_init(&rope2, &rope_cfg); }
static void op_seq_len(job *j) { /* up and down again: the frequencies change both ways */
    j->status = (int)lcx_rope_set_seq_len(&rope, 60000);
    if (j->status == LCX_OK) j->status = (int)lcx_rope_set_seq_len(&rope, 20000);
}
static void op_apply(job *j) { j->status = (int)lcx_rope_apply(&rope, x, 64, H, H * D, pos); }
static void op_shift(job *j) { j->status = (int)lcx_rope_shift(&rope, x, 64, H, H * D, pos); }
static void op_rerotate(job *j) {
    j->status = (int)lcx_rope_rerotate(&rope2, &rope, x, 64, H, H * D, pos);
}
static void op_cos_sin(job *j) { j->status = (int)lcx_rope_cos_sin(&rope, 123456, out, out + D); }
enum { OP_INIT, OP_SEQ_LEN, OP_APPLY, OP_SHIFT, OP_REROTATE, OP_COS_SIN };

/* called through these pointers, so that no call's code is inlined into another's frame */
static void (*volatile run_job[4])(job *) = {NULL, run_attention, NULL, run_merge};
static void (*volatile run_op[6])(job *) = {op_init, op_seq_len, op_apply, op_shift, op_rerotate,
                                            op_cos_sin};

static void *body(void *arg) {
    job *j = (job *)arg;
    if (j->kind == 2) run_op[j->op](j);
    else if (j->kind) run_job[j->kind](j);
    return NULL;
}

static unsigned char *stack_mem;

/* bytes of the thread's stack the call wrote; 0 with *err set when the thread failed */
static size_t depth(job *j, int *err) {
    pthread_attr_t at;
    pthread_t t;
    size_t i = 0;
    memset(stack_mem, 0xA5, STACK);
    if (pthread_attr_init(&at) != 0 || pthread_attr_setstack(&at, stack_mem, STACK) != 0 ||
        pthread_create(&t, &at, body, j) != 0 || pthread_join(t, NULL) != 0) {
        *err = 1;
        return 0;
    }
    pthread_attr_destroy(&at);
    while (i < STACK && stack_mem[i] == 0xA5) i++;
    return STACK - i;
}

/* runs job j on a fresh thread; 1 if it passed */
static int measure(job *j, size_t base) {
    static const char *ops[] = {"init", "set_seq_len", "apply", "shift", "rerotate", "cos_sin"};
    int err = 0, ok;
    size_t used = depth(j, &err);
    used = used > base ? used - base : 0;
    ok = !err && j->status == LCX_OK && used < LIMIT;
    if (j->kind == 2)
        printf("%s rope %s %s: %zu bytes of stack (status %d)\n", ok ? "ok  " : "FAIL",
               j->name, ops[j->op], used, j->status);
    else
        printf("%s %s: %zu bytes of stack (status %d)\n", ok ? "ok  " : "FAIL", j->name, used,
               j->status);
    return ok;
}

int main(void) {
    static job jobs[] = {
        {"attention prefill f32", 1, 40, LCX_F32, 0, 0, LCX_ROPE_DEFAULT, 0, 0},
        {"attention prefill f16 alibi sinks key_probs softcap", 1, 40, LCX_F16, 1, 0, LCX_ROPE_DEFAULT, 0, 0},
        {"attention prefill bf16 paged", 1, 40, LCX_BF16, 0, 1, LCX_ROPE_DEFAULT, 0, 0},
        {"attention decode f32", 1, 1, LCX_F32, 0, 0, LCX_ROPE_DEFAULT, 0, 0},
        {"attention decode f16 alibi sinks key_probs softcap", 1, 4, LCX_F16, 1, 0, LCX_ROPE_DEFAULT, 0, 0},
        {"attention decode bf16 paged alibi", 1, 1, LCX_BF16, 1, 1, LCX_ROPE_DEFAULT, 0, 0},
        {"attention merge", 3, 0, LCX_F32, 0, 0, LCX_ROPE_DEFAULT, 0, 0},
    };
    static const struct { const char *name; lcx_rope_type type; } ropes[] = {
        {"default", LCX_ROPE_DEFAULT}, {"linear", LCX_ROPE_LINEAR}, {"ntk", LCX_ROPE_NTK},
        {"dynamic_ntk", LCX_ROPE_DYNAMIC_NTK}, {"yarn", LCX_ROPE_YARN},
        {"llama3", LCX_ROPE_LLAMA3}, {"longrope", LCX_ROPE_LONGROPE}, {"clex", LCX_ROPE_CLEX},
    };
    job none = {"nothing", 0, 0, LCX_F32, 0, 0, LCX_ROPE_DEFAULT, 0, 0};
    int n = (int)(sizeof jobs / sizeof jobs[0]), i, r, op, passed = 0, failed = 0, err = 0;
    size_t base;
    for (i = 0; i < 64 * H * D; i++) {
        q[i] = 0.01f * (float)(i % 97 - 48);
        x[i] = 0.02f * (float)(i % 89 - 44);
    }
    for (i = 0; i < NKV * KVH * D; i++) {
        kf32[i] = 0.01f * (float)(i % 83 - 41);
        vf32[i] = 0.01f * (float)(i % 79 - 39);
        kf16[i] = lcx_f32_to_f16(kf32[i]);
        vf16[i] = lcx_f32_to_f16(vf32[i]);
        kbf16[i] = lcx_f32_to_bf16(kf32[i]);
        vbf16[i] = lcx_f32_to_bf16(vf32[i]);
    }
    for (i = 0; i < H; i++) {
        slopes[i] = 0.05f * (float)(i + 1);
        sinks[i] = 0.3f;
    }
    for (i = 0; i < 64 * 2 * 128; i++) {
        up[i] = 0.01f * (float)((i * 7) % 13 - 6);
        down[i] = 0.01f * (float)((i * 5) % 11 - 5);
    }
    stack_mem = (unsigned char *)malloc(STACK);
    if (!stack_mem) return 1;
    for (i = 0; i < n; i++) body(&jobs[i]); /* warm-up, on the main thread */
    base = depth(&none, &err);
    if (err) {
        printf("FAIL: no thread with a stack of our own\n0 passed, 1 failed\n");
        return 1;
    }
    for (i = 0; i < n; i++) {
        if (measure(&jobs[i], base)) passed++;
        else failed++;
    }
    for (r = 0; r < (int)(sizeof ropes / sizeof ropes[0]); r++)
        for (op = OP_INIT; op <= OP_COS_SIN; op++) {
            job j = {ropes[r].name, 2, 0, LCX_F32, 0, 0, ropes[r].type, op, 0};
            int st = rope_setup(ropes[r].type, &rope2, 0);
            if (st == LCX_OK) st = rope_setup(ropes[r].type, &rope, 20000);
            if (st != LCX_OK) {
                printf("FAIL rope %s: setup status %d\n", ropes[r].name, st);
                failed++;
                continue;
            }
            body(&j); /* warm-up */
            if (measure(&j, base)) passed++;
            else failed++;
        }
    printf("%d passed, %d failed\n", passed, failed);
    free(stack_mem);
    return failed != 0;
}
