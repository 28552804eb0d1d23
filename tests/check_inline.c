/* check_inline.c - a user's translation unit with the implementation that calls every
   public entry point with constant sizes, so that the compiler may inline the header's
   code (SIMD rows and kernels included) into these functions, outside the header's own
   diagnostic pragmas. tests/run.sh only compiles it (-c, with optimisation and -Werror,
   gcc and g++ with and without LONGCTX_STATIC, -march=native and AVX2 only; clang and
   clang++): it must build warning-free. Before the fix, gcc 12 reported the AVX2
   f32->f16 row's scalar tail as undefined behaviour (-Waggressive-loop-optimizations)
   and g++ 12 the AVX-512 rows' _mm512_undefined_* operands as uninitialized. */
#define LONGCTX_IMPLEMENTATION
#include "longctx.h"
#include <string.h>

#define HD 128
#define NH 4
#define NKV 64

static float q[2 * NH * HD], o[2 * NH * HD], part[2 * NH * HD], lse[2 * NH], plse[2 * NH];
static float x[2 * NH * HD], y[256], cs[HD], sn[HD];
static lcx_f16 k16[NKV * HD], v16[NKV * HD], h[256];
static lcx_bf16 vb[NKV * HD], b[256];
static unsigned char work[1 << 20];
static double inv_freq[HD / 2];

/* Each entry point is called once: a static function called once is inlined whatever
   its size (LONGCTX_STATIC), and the rows are small enough to be inlined anyway. */
static int rows(void) {
    lcx_f32_to_f16_row(y, h, 32);
    lcx_f16_to_f32_row(h, y, 32);
    lcx_f32_to_bf16_row(y, b, 17);
    lcx_bf16_to_f32_row(b, y, 17);
    return lcx_f32_to_f16(1.5f) == 0x3E00 && lcx_f16_to_f32(0x3E00) == 1.5f &&
                   lcx_f32_to_bf16(1.0f) == 0x3F80 && lcx_bf16_to_f32(0x3F80) == 1.0f
               ? 0
               : 1;
}

static int rope(void) {
    lcx_rope r, r2;
    lcx_rope_config rc;
    int64_t pos[2] = {5, 6}, delta[2] = {-3, -3};
    int bad = 0;
    memset(&rc, 0, sizeof rc);
    rc.head_dim = HD;
    rc.rotary_dim = HD / 2;
    rc.type = LCX_ROPE_DYNAMIC_NTK;
    rc.factor = 4.0;
    rc.original_max_pos = 4096;
    rc.n_threads = 1;
    bad |= lcx_rope_init(&r, &rc) != LCX_OK;
    bad |= lcx_rope_apply(&r, x, 1, NH, NH * HD, pos) != LCX_OK;
    bad |= lcx_rope_shift(&r, x, 2, NH, NH * HD, delta) != LCX_OK;
    bad |= lcx_rope_cos_sin(&r, 9, cs, sn) != LCX_OK;
    r2 = r;
    bad |= lcx_rope_set_seq_len(&r2, 16384) != LCX_OK;
    bad |= lcx_rope_rerotate(&r, &r2, x, 2, NH, NH * HD, pos) != LCX_OK;
    bad |= lcx_rope_inv_freq(&r2, inv_freq) != HD / 4;
    bad |= !(lcx_rope_attention_factor(&r2) > 0.0);
    return bad;
}

static int attend(void) {
    static const void *kp[2], *vp[2];
    lcx_attn_desc ad;
    lcx_kv_view kv, kvc;
    int64_t qpos[1] = {40};
    size_t bytes = 0;
    int bad = 0;
    memset(&ad, 0, sizeof ad);
    ad.head_dim = HD;
    ad.n_heads = NH;
    ad.n_kv_heads = 1;
    ad.causal = 1;
    ad.n_threads = 1;
    kvc = lcx_kv_view_contiguous(LCX_F16, k16, v16, NKV, HD, HD, NULL);
    bad |= lcx_attention_workspace_size(&ad, 1, &kvc, &bytes) != LCX_OK || bytes > sizeof work;
    kp[0] = k16;
    kp[1] = k16 + 32 * HD;
    vp[0] = vb;
    vp[1] = vb + 32 * HD;
    kv = lcx_kv_view_paged(LCX_F16, kp, vp, 32, NKV, HD, HD, NULL);
    bad |= lcx_kv_view_set_types(&kv, LCX_F16, LCX_BF16) != LCX_OK;
    bad |= lcx_kv_view_set_head_strides(&kv, 0, 0) != LCX_OK;
    bad |= lcx_attention(&ad, q, 1, NH * HD, qpos, &kv, o, NH * HD, lse, work, sizeof work) !=
           LCX_OK;
    return bad;
}

int main(void) {
    int bad = 0;
    y[0] = 1.0f;
    bad |= rows();
    bad |= rope();
    bad |= attend();
    bad |= lcx_attention_merge(o, lse, NH * HD, part, plse, NH * HD, 1, NH, HD, NULL) != LCX_OK;
    return bad || !lcx_status_string(LCX_OK) || !lcx_version_string() || !lcx_simd_name();
}
