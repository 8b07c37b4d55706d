/* kernels.c - packed-weight products (see kernels.h). Three code paths per precision: an
 * AVX2/FMA one, an AVX512_BF16 one for bf16, and portable C with fmaf (int8: AVX2 and C, exact
 * integer sums). All compute each element with the same operations in the same order, so they
 * give the same bits (except that AVX512_BF16 flushes denormals), and so does any grouping of
 * rows. AMX tiles (int8: the same exact sums and bits; bf16: TDPBF16PS's own summation order, so
 * close but not the same bits) run at the amx level. The vector paths are compiled with target
 * attributes and picked at run time: the build works on any x86-64. */
#include "nn/kernels.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KN_X86 1
#endif

/* rows per tile: 6 x 16 fp32 accumulators take 12 of the 16 AVX2 registers, the two weight
 * vectors and the broadcast the other 3; the bf16 fallback widens each weight vector to two,
 * so it tiles 4 rows. */
#define MR 6
#define MR_BF16_AVX2 4

/* Under AddressSanitizer the vector tiles are not instrumented (a check per broadcast makes
 * them 10x slower, and the threaded tests time out); instead each product touches the first
 * and last element of its A and C ranges through instrumented reads, and the portable tiles,
 * which index exactly alike, stay fully checked (tests run them with kn_force_generic). */
#if defined(__SANITIZE_ADDRESS__)
#define KN_NO_ASAN __attribute__((no_sanitize_address))
static void check_range(const void *p, size_t bytes)
{
    volatile const unsigned char *c = p;
    (void)c[0];
    (void)c[bytes - 1];
}
#else
#define KN_NO_ASAN
static void check_range(const void *p, size_t bytes) { (void)p; (void)bytes; }
#endif

/* ---- which instruction set: found once, before main ---- */

#ifdef KN_X86
#include <cpuid.h>
#endif

/* CPU features the levels need, as cpuid reports them and the OS has enabled their state */
enum {
    F_AVX2 = 1 << 0,       /* AVX2 + FMA, with the AVX (YMM) state enabled */
    F_AVXVNNI = 1 << 1,    /* AVX-VNNI (256-bit VPDPBUSD) */
    F_AVX512 = 1 << 2,     /* AVX-512 F, BW, DQ, VL, with the opmask and ZMM state enabled */
    F_AVX512VNNI = 1 << 3,
    F_AVX512BF16 = 1 << 4,
    F_OS_AVX512 = 1 << 5,  /* the OS saves the AVX-512 state (XCR0 bits 5-7) */
    F_AMX = 1 << 6,        /* AMX-TILE + AMX-INT8, the tile state enabled (XCR0) and granted (arch_prctl) */
    F_AMXBF16 = 1 << 7,    /* and AMX-BF16 */
};

static unsigned cpu_features;
static kn_isa isa_best, isa_now;
/* why F_AMX is not set, for kn_isa_missing (the kernel's refusal carries its errno) */
static char amx_why[128] = "not an x86-64 CPU";

#ifdef KN_X86
/* cpuid 7 EDX bits, XCR0 bits and the arch_prctl request of the AMX tile state */
enum {
    CPUID7_EDX_AMX_BF16 = 22,
    CPUID7_EDX_AMX_TILE = 24,
    CPUID7_EDX_AMX_INT8 = 25,
    XCR0_XTILECFG = 17,
    XCR0_XTILEDATA = 18,
    ARCH_REQ_XCOMP_PERM = 0x1023,
};

/* 1 when the CPU has AMX-TILE and AMX-INT8, the OS saves the tile state (XCR0) and Linux lets
 * this process use it: the tile data (8 KB) is not in a thread's state until the process asks,
 * once, for all its threads and the children it forks. Else 0, with the reason in amx_why. */
static int amx_granted(unsigned d7, unsigned xcr0)
{
    const unsigned tile_int8 = 1u << CPUID7_EDX_AMX_TILE | 1u << CPUID7_EDX_AMX_INT8;
    const unsigned tile_state = 1u << XCR0_XTILECFG | 1u << XCR0_XTILEDATA;
    if ((d7 & tile_int8) != tile_int8) {
        snprintf(amx_why, sizeof amx_why, "CPU lacks AMX-TILE/AMX-INT8");
        return 0;
    }
    if ((xcr0 & tile_state) != tile_state) {
        snprintf(amx_why, sizeof amx_why, "OS has not enabled the AMX tile state (XCR0 bits 17-18)");
        return 0;
    }
#if defined(__linux__) && defined(__x86_64__)
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XCR0_XTILEDATA) != 0) {
        snprintf(amx_why, sizeof amx_why, "the kernel refused the AMX tile state (arch_prctl ARCH_REQ_XCOMP_PERM: %s)",
                 strerror(errno));
        return 0;
    }
    return 1;
#else
    snprintf(amx_why, sizeof amx_why, "AMX needs Linux on x86-64 (arch_prctl ARCH_REQ_XCOMP_PERM)");
    return 0;
#endif
}
#endif

static unsigned detect_features(void)
{
    unsigned f = 0;
#ifdef KN_X86
    unsigned a, b, c, d, b7, c7, d7, a71 = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1;
    if (!osxsave || !__get_cpuid_count(7, 0, &a, &b7, &c7, &d7)) return 0;
    if (a >= 1) __get_cpuid_count(7, 1, &a71, &b, &c, &d);
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0)); /* XCR0: what the OS saves on switches */
    const int os_avx = (xlo & 0x6) == 0x6, os_avx512 = os_avx && (xlo & 0xe0) == 0xe0;
    if (!os_avx) return 0;
    if (((b7 >> 5) & 1) && fma) f |= F_AVX2;
    if ((f & F_AVX2) && ((a71 >> 4) & 1)) f |= F_AVXVNNI;
    const unsigned avx512_fbwdqvl = 1u << 16 | 1u << 17 | 1u << 30 | 1u << 31;
    if (os_avx512) f |= F_OS_AVX512;
    if (amx_granted(d7, xlo)) f |= F_AMX | ((d7 >> CPUID7_EDX_AMX_BF16) & 1 ? F_AMXBF16 : 0);
    if ((f & F_AVX2) && os_avx512 && (b7 & avx512_fbwdqvl) == avx512_fbwdqvl) {
        f |= F_AVX512;
        if ((c7 >> 11) & 1) f |= F_AVX512VNNI;
        if ((a71 >> 5) & 1) f |= F_AVX512BF16;
    }
#endif
    return f;
}

static const struct {
    const char *name;
    unsigned needs;
} isa_table[KN_ISA_COUNT] = {
    [KN_ISA_PORTABLE] = {"portable", 0},
    [KN_ISA_AVX2] = {"avx2", F_AVX2},
    [KN_ISA_AVXVNNI] = {"avxvnni", F_AVX2 | F_AVXVNNI},
    [KN_ISA_AVX512] = {"avx512", F_AVX2 | F_AVX512},
    [KN_ISA_AMX] = {"amx", F_AVX2 | F_AVX512 | F_AMX},
};

__attribute__((constructor)) static void detect_cpu(void)
{
    cpu_features = detect_features();
    for (int i = 0; i < KN_ISA_COUNT; i++)
        if ((cpu_features & isa_table[i].needs) == isa_table[i].needs) isa_best = (kn_isa)i;
    isa_now = isa_best;
}

kn_isa kn_isa_current(void) { return isa_now; }
kn_isa kn_isa_best(void) { return isa_best; }
const char *kn_isa_name(kn_isa isa) { return isa >= 0 && isa < KN_ISA_COUNT ? isa_table[isa].name : "?"; }

const char *kn_isa_missing(kn_isa isa)
{
    if (isa < 0 || isa >= KN_ISA_COUNT) return "no such level";
    unsigned lacks = isa_table[isa].needs & ~cpu_features;
#ifndef KN_X86
    if (lacks) return "not an x86-64 CPU";
#endif
    if (lacks & F_AVX2) return "CPU lacks AVX2/FMA (or the OS has not enabled the AVX state)";
    if (lacks & F_AVXVNNI) return "CPU lacks AVX-VNNI";
    if ((lacks & F_AVX512) && !(cpu_features & F_OS_AVX512) && (cpu_features & F_AVX2))
        return "CPU lacks AVX-512F/BW/DQ/VL or the OS has not enabled the AVX-512 state";
    if (lacks & F_AVX512) return "CPU lacks AVX-512F/BW/DQ/VL";
    if (lacks & F_AMX) return amx_why;
    return NULL;
}

int kn_set_isa(kn_isa isa)
{
    if (kn_isa_missing(isa)) return -1;
    isa_now = isa;
    return 0;
}

int kn_isa_from_env(char *err, size_t errlen)
{
    const char *want = getenv("NERD_ISA");
    if (!want || !*want) return 0;
    for (int i = 0; i < KN_ISA_COUNT; i++)
        if (!strcmp(want, isa_table[i].name)) {
            const char *why = kn_isa_missing((kn_isa)i);
            if (why) {
                snprintf(err, errlen, "NERD_ISA=%s: %s", want, why);
                return -1;
            }
            isa_now = (kn_isa)i;
            return 0;
        }
    snprintf(err, errlen, "NERD_ISA=%s: not one of portable, avx2, avxvnni, avx512, amx", want);
    return -1;
}

static int use_avx2(void) { return isa_now >= KN_ISA_AVX2; }
static int use_avx512(void) { return isa_now >= KN_ISA_AVX512; }
static int use_avx512bf16(void) { return use_avx512() && (cpu_features & F_AVX512BF16); }
static int use_avx512vnni(void) { return use_avx512() && (cpu_features & F_AVX512VNNI); }
static int use_avxvnni(void) { return isa_now >= KN_ISA_AVXVNNI && (cpu_features & F_AVXVNNI); }
static int use_amx_int8(void) { return isa_now >= KN_ISA_AMX; }
static int use_amx_bf16(void) { return use_amx_int8() && (cpu_features & F_AMXBF16); }

const char *kn_f32_path(void) { return kn_isa_name(isa_now >= KN_ISA_AVX512 ? KN_ISA_AVX512 : use_avx2() ? KN_ISA_AVX2 : KN_ISA_PORTABLE); }
const char *kn_bf16_path(void)
{
    return use_amx_bf16() ? "amxbf16" : use_avx512bf16() ? "avx512bf16" : use_avx2() ? "avx2" : "portable";
}
const char *kn_i8_path(void)
{
    return use_amx_int8()     ? "amxint8"
           : use_avx512vnni() ? "avx512vnni"
           : use_avxvnni()    ? "avxvnni"
           : use_avx2()       ? "avx2"
                              : "portable";
}
int kn_bf16_exact(void) { return !use_amx_bf16(); }

uint16_t kn_to_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

#ifdef KN_X86
/* kn_to_bf16 on 16 floats at a time, in integer arithmetic (VCVTNEPS2BF16 would flush
 * denormals, which kn_to_bf16 and so the other paths keep). */
__attribute__((target("avx2,fma,avx512f,avx512bw,avx512dq,avx512vl"))) KN_NO_ASAN static size_t
to_bf16_512(const float *x, uint16_t *y, size_t n)
{
    const __m512i abs = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
    const __m512i half = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1), quiet = _mm512_set1_epi32(0x40);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i u = _mm512_loadu_si512(x + i);
        __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs), inf);
        __m512i even = _mm512_and_si512(_mm512_srli_epi32(u, 16), one);
        __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(half, even)), 16);
        r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), quiet);
        _mm256_storeu_si256((__m256i *)(y + i), _mm512_cvtepi32_epi16(r));
    }
    return i;
}

/* The same on 8 floats at a time (the avx2 level's bf16 products convert their input with it;
 * it was scalar there) */
__attribute__((target("avx2,fma"))) KN_NO_ASAN static size_t to_bf16_avx2(const float *x, uint16_t *y, size_t n)
{
    const __m256i abs = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i half = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1), quiet = _mm256_set1_epi32(0x40);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i u = _mm256_loadu_si256((const __m256i *)(x + i));
        /* |u| is a non-negative int32, so the signed compare is the unsigned one */
        __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs), inf);
        __m256i even = _mm256_and_si256(_mm256_srli_epi32(u, 16), one);
        __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(half, even)), 16);
        r = _mm256_blendv_epi8(r, _mm256_or_si256(_mm256_srli_epi32(u, 16), quiet), nan);
        /* lanes 0..0xffff, kept by the unsigned saturating pack, which packs each 128-bit half */
        __m256i packed = _mm256_packus_epi32(r, r);
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm_unpacklo_epi64(_mm256_castsi256_si128(packed), _mm256_extracti128_si256(packed, 1)));
    }
    return i;
}
#endif

void kn_to_bf16_n(const float *x, uint16_t *y, size_t n)
{
    size_t i = 0;
#ifdef KN_X86
    if (use_avx512()) i = to_bf16_512(x, y, n);
    else if (use_avx2()) i = to_bf16_avx2(x, y, n);
#endif
    for (; i < n; i++) y[i] = kn_to_bf16(x[i]);
}

static float bf16_lo(uint32_t pair) { uint32_t u = pair << 16; float f; memcpy(&f, &u, 4); return f; }
static float bf16_hi(uint32_t pair) { uint32_t u = pair & 0xffff0000u; float f; memcpy(&f, &u, 4); return f; }

/* Each int8 column's clip is the one of maxabs x (1 - KN_I8_CLIP_STEP x s), s = 0 ..
 * KN_I8_CLIP_STEPS, whose rounding leaves the least squared error: clipping a column's few
 * largest weights buys a finer step for all the others (with the clip at maxabs the golden
 * agreement was 2-4 documents lower with the full pipeline). */
#define KN_I8_CLIP_STEPS 30
#define KN_I8_CLIP_STEP 0.01f

static int quantize_weight(float w, float inv)
{
    return (int)lrintf(fminf(fmaxf(w * inv, -KN_I8_WMAX), KN_I8_WMAX));
}

static float weight_clip(const float *w, int K)
{
    float maxabs = 0, best_clip = 0;
    for (int k = 0; k < K; k++) maxabs = fmaxf(maxabs, fabsf(w[k]));
    double best = INFINITY;
    for (int s = 0; maxabs > 0 && s <= KN_I8_CLIP_STEPS; s++) {
        const float clip = maxabs * (1.0f - KN_I8_CLIP_STEP * (float)s), step = clip / KN_I8_WMAX;
        const float inv = KN_I8_WMAX / clip;
        double err = 0;
        for (int k = 0; k < K; k++) {
            double d = (double)quantize_weight(w[k], inv) * step - w[k];
            err += d * d;
        }
        if (err < best) best = err, best_clip = clip;
    }
    return best_clip;
}

/* The int8 copy (see kn_weights): per column, scale = weight_clip / KN_I8_WMAX. */
static int pack_i8(kn_weights *p, const float *W)
{
    const int N = p->N, K = p->K, kq = (K + 3) / 4;
    const size_t cols = (size_t)p->npanels * KN_NR, qpanel = (size_t)kq * KN_NR;
    p->K4 = 4 * kq;
    p->i8 = aligned_alloc(64, (qpanel * p->npanels * sizeof(uint32_t) + 63) / 64 * 64);
    p->i8_scale = aligned_alloc(64, (cols * sizeof(float) + 63) / 64 * 64);
    p->i8_wsum = aligned_alloc(64, (cols * sizeof(int32_t) + 63) / 64 * 64);
    if (!p->i8 || !p->i8_scale || !p->i8_wsum) return -1;
    memset(p->i8, 0, qpanel * p->npanels * sizeof(uint32_t));
    for (size_t col = 0; col < cols; col++) {
        float clip = col < (size_t)N ? weight_clip(W + col * K, K) : 0;
        float inv = clip > 0 ? KN_I8_WMAX / clip : 0;
        p->i8_scale[col] = clip / KN_I8_WMAX;
        int32_t sum = 0;
        for (int k = 0; col < (size_t)N && k < K; k++) {
            int q = quantize_weight(W[col * K + k], inv);
            sum += q;
            uint32_t *word = p->i8 + col / KN_NR * qpanel + (size_t)(k / 4) * KN_NR + col % KN_NR;
            *word |= (uint32_t)(uint8_t)(int8_t)q << (8 * (k % 4));
        }
        p->i8_wsum[col] = sum;
    }
    return 0;
}

int kn_pack(kn_weights *p, const float *W, int N, int K, int flags)
{
    memset(p, 0, sizeof *p);
    if ((flags & KN_PACK_INT8) && K > 65536) return -1;
    p->N = N;
    p->K = K;
    p->npanels = (N + KN_NR - 1) / KN_NR;
    size_t panel = (size_t)K * KN_NR;
    p->f32 = aligned_alloc(64, ((panel * p->npanels * sizeof(float)) + 63) / 64 * 64);
    if (!p->f32) return -1;
    for (int j = 0; j < p->npanels; j++)
        for (int k = 0; k < K; k++)
            for (int c = 0; c < KN_NR; c++) {
                int col = j * KN_NR + c;
                p->f32[j * panel + (size_t)k * KN_NR + c] = col < N ? W[(size_t)col * K + k] : 0.0f;
            }
    if (flags & KN_PACK_BF16) {
        if (K % 2) { kn_free(p); return -1; } /* pairs of k: every K in these models is even */
        int kp = K / 2;
        size_t bpanel = (size_t)kp * KN_NR;
        p->bf16 = aligned_alloc(64, ((bpanel * p->npanels * sizeof(uint32_t)) + 63) / 64 * 64);
        if (!p->bf16) { kn_free(p); return -1; }
        for (int j = 0; j < p->npanels; j++)
            for (int k = 0; k < kp; k++)
                for (int c = 0; c < KN_NR; c++) {
                    int col = j * KN_NR + c;
                    float lo = col < N ? W[(size_t)col * K + 2 * k] : 0.0f;
                    float hi = col < N ? W[(size_t)col * K + 2 * k + 1] : 0.0f;
                    p->bf16[j * bpanel + (size_t)k * KN_NR + c] = kn_to_bf16(lo) | (uint32_t)kn_to_bf16(hi) << 16;
                }
    }
    if ((flags & KN_PACK_INT8) && pack_i8(p, W)) {
        kn_free(p);
        return -1;
    }
    return 0;
}

void kn_free(kn_weights *p)
{
    free(p->f32);
    free(p->bf16);
    free(p->i8);
    free(p->i8_scale);
    free(p->i8_wsum);
    memset(p, 0, sizeof *p);
}

/* Copies a tile's valid columns out (the last panel may be narrower than KN_NR). */
static void store_tile(const float *tile, int mr, int ncols, float *C, size_t ldc)
{
    if (ncols == KN_NR) /* a constant size: two vector moves inline, not a libc call per row */
        for (int r = 0; r < mr; r++) memcpy(C + r * ldc, tile + r * KN_NR, KN_NR * sizeof(float));
    else
        for (int r = 0; r < mr; r++) memcpy(C + r * ldc, tile + r * KN_NR, (size_t)ncols * sizeof(float));
}

/* ---- portable C: the reference order, one fmaf chain per element ---- */

static void tile_f32_generic(int mr, const float *A, size_t lda, const float *B, int K, float *tile, size_t ldt)
{
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < KN_NR; c++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++) acc = fmaf(A[r * lda + k], B[(size_t)k * KN_NR + c], acc);
            tile[r * ldt + c] = acc;
        }
}

static void tile_bf16_generic(int mr, const uint16_t *A, size_t lda, const uint32_t *B, int KP, float *tile,
                              size_t ldt)
{
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < KN_NR; c++) {
            float acc = 0.0f;
            for (int k = 0; k < KP; k++) {
                uint32_t a = A[r * lda + 2 * k] | (uint32_t)A[r * lda + 2 * k + 1] << 16, w = B[(size_t)k * KN_NR + c];
                acc = fmaf(bf16_hi(a), bf16_hi(w), acc);
                acc = fmaf(bf16_lo(a), bf16_lo(w), acc);
            }
            tile[r * ldt + c] = acc;
        }
}

#ifdef KN_X86
/* ---- AVX2 + FMA ---- */

#define KN_AVX2 __attribute__((target("avx2,fma"), always_inline)) KN_NO_ASAN static inline

/* One specialised body per row count (accumulators in registers): calls fn(k, args...) for
 * the tile's mr. */
#define BY_ROWS(fn, top, ...)                                                                       \
    switch (mr) {                                                                                   \
    case 6: if (top >= 6) { fn(6, __VA_ARGS__); break; } /* fall through */                         \
    case 5: if (top >= 5) { fn(5, __VA_ARGS__); break; } /* fall through */                         \
    case 4: fn(4, __VA_ARGS__); break;                                                              \
    case 3: fn(3, __VA_ARGS__); break;                                                              \
    case 2: fn(2, __VA_ARGS__); break;                                                              \
    default: fn(1, __VA_ARGS__); break;                                                             \
    }

/* Stores a tile's mr rows of 16 columns (row r at tile + r * ldt). */
#define STORE_ROWS(n)                                                                               \
    _Pragma("GCC unroll 6") for (int r = 0; r < (n); r++) {                                         \
        if (r >= mr) break;                                                                         \
        _mm256_storeu_ps(tile + r * ldt, acc[r][0]);                                                \
        _mm256_storeu_ps(tile + r * ldt + 8, acc[r][1]);                                            \
    }

KN_AVX2 void tile_f32_avx2_mr(const int mr, const float *A, size_t lda, const float *B, int K, float *tile,
                              size_t ldt)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        const float *b = B + (size_t)k * KN_NR;
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            if (r >= mr) break;
            __m256 a = _mm256_broadcast_ss(A + r * lda + k);
            acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
        }
    }
    STORE_ROWS(MR)
}

__attribute__((target("avx2,fma"))) KN_NO_ASAN static void tile_f32_avx2(int mr, const float *A, size_t lda, const float *B,
                                                              int K, float *tile, size_t ldt)
{
    BY_ROWS(tile_f32_avx2_mr, 6, A, lda, B, K, tile, ldt)
}

/* One row against up to 6 panels at once (the transition loop's output layer, M = 1): 12
 * independent chains instead of 2, so the FMA latency is hidden. The same chain per element. */
__attribute__((target("avx2,fma"))) KN_NO_ASAN static void row_f32_avx2(const float *a, const float *B, size_t panel,
                                                                        int npan, int K, float *out)
{
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int j = 0; j < 6; j++) acc[j][0] = acc[j][1] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m256 x = _mm256_broadcast_ss(a + k);
#pragma GCC unroll 6
        for (int j = 0; j < 6; j++) {
            if (j >= npan) break;
            const float *b = B + j * panel + (size_t)k * KN_NR;
            acc[j][0] = _mm256_fmadd_ps(x, _mm256_load_ps(b), acc[j][0]);
            acc[j][1] = _mm256_fmadd_ps(x, _mm256_load_ps(b + 8), acc[j][1]);
        }
    }
#pragma GCC unroll 6
    for (int j = 0; j < 6; j++) {
        if (j >= npan) break;
        _mm256_storeu_ps(out + j * KN_NR, acc[j][0]);
        _mm256_storeu_ps(out + j * KN_NR + 8, acc[j][1]);
    }
}

KN_AVX2 __m256 hi_half(__m256i v) { return _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int)0xffff0000u))); }
KN_AVX2 __m256 lo_half(__m256i v) { return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)); }

KN_AVX2 void tile_bf16_avx2_mr(const int mr, const uint16_t *A, size_t lda, const uint32_t *B, int KP, float *tile,
                               size_t ldt)
{
    __m256 acc[MR_BF16_AVX2][2];
#pragma GCC unroll 4
    for (int r = 0; r < MR_BF16_AVX2; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < KP; k++) {
        const uint32_t *b = B + (size_t)k * KN_NR;
        __m256i w0 = _mm256_load_si256((const __m256i *)b), w1 = _mm256_load_si256((const __m256i *)(b + 8));
        __m256 h0 = hi_half(w0), h1 = hi_half(w1), l0 = lo_half(w0), l1 = lo_half(w1);
#pragma GCC unroll 4
        for (int r = 0; r < MR_BF16_AVX2; r++) {
            if (r >= mr) break;
            uint32_t pair;
            memcpy(&pair, A + r * lda + 2 * k, 4);
            __m256i a = _mm256_set1_epi32((int)pair);
            __m256 ah = hi_half(a), al = lo_half(a);
            acc[r][0] = _mm256_fmadd_ps(al, l0, _mm256_fmadd_ps(ah, h0, acc[r][0]));
            acc[r][1] = _mm256_fmadd_ps(al, l1, _mm256_fmadd_ps(ah, h1, acc[r][1]));
        }
    }
    STORE_ROWS(MR_BF16_AVX2)
}

__attribute__((target("avx2,fma"))) KN_NO_ASAN static void tile_bf16_avx2(int mr, const uint16_t *A, size_t lda,
                                                               const uint32_t *B, int KP, float *tile, size_t ldt)
{
    BY_ROWS(tile_bf16_avx2_mr, 4, A, lda, B, KP, tile, ldt)
}

/* ---- AVX-512: one 16-float panel row is one ZMM register ---- */

/* A tile is up to MR512 rows x 2 panels (32 columns): 24 accumulators, 2 weight vectors, and
 * each row's A element broadcast from memory into the FMA itself. The tiles store their valid
 * columns into C directly, with masks. */
#ifndef MR512
#define MR512 12
#endif
#define KN_512_TARGET "avx2,fma,avx512f,avx512bw,avx512dq,avx512vl"
#define KN_512 __attribute__((target(KN_512_TARGET), always_inline)) KN_NO_ASAN static inline
#define KN_512_FN __attribute__((target(KN_512_TARGET))) KN_NO_ASAN static

/* The lanes of 16 columns starting at column c0 of a tile with ncols valid ones. */
static inline unsigned short cols_mask(int ncols, int c0)
{
    int n = ncols - c0;
    return n >= 16 ? 0xffff : n <= 0 ? 0 : (unsigned short)((1u << n) - 1);
}

/* One specialised body per (rows, panels) so that the accumulators stay in registers. */
#define ROWS_CASE(r, body, np, ...) case r: body(r, np, __VA_ARGS__); break;
#define BY_ROWS_512(body, np, ...)                                                                  \
    switch (mr) {                                                                                   \
        ROWS_CASE(12, body, np, __VA_ARGS__) ROWS_CASE(11, body, np, __VA_ARGS__)                   \
        ROWS_CASE(10, body, np, __VA_ARGS__) ROWS_CASE(9, body, np, __VA_ARGS__)                    \
        ROWS_CASE(8, body, np, __VA_ARGS__) ROWS_CASE(7, body, np, __VA_ARGS__)                     \
        ROWS_CASE(6, body, np, __VA_ARGS__) ROWS_CASE(5, body, np, __VA_ARGS__)                     \
        ROWS_CASE(4, body, np, __VA_ARGS__) ROWS_CASE(3, body, np, __VA_ARGS__)                     \
        ROWS_CASE(2, body, np, __VA_ARGS__) default: body(1, np, __VA_ARGS__); break;               \
    }
#define BY_TILE_512(body, ...)                                                                      \
    do {                                                                                            \
        if (ncols > KN_NR) BY_ROWS_512(body, 2, __VA_ARGS__) else BY_ROWS_512(body, 1, __VA_ARGS__) \
    } while (0)
_Static_assert(MR512 <= 12, "BY_ROWS_512 specialises up to 12 rows");

/* The k loop of a tile: for each step, load the panels' vectors w0 (and w1), then for each row
 * r < mr, with its A element's address at a_elem, STEP(acc, a_elem, w). */
#define TILE_512_LOOP(ACC_T, ZERO, LOADW, STEP, steps, wstride)                                     \
    ACC_T acc[MR512][2];                                                                            \
    _Pragma("GCC unroll 12") for (int r = 0; r < MR512; r++) acc[r][0] = acc[r][1] = ZERO;          \
    for (int k = 0; k < (steps); k++) {                                                             \
        ACC_T w0 = LOADW(B + (size_t)k * (wstride)), w1 = np > 1 ? LOADW(B + panel + (size_t)k * (wstride)) : ZERO; \
        _Pragma("GCC unroll 12") for (int r = 0; r < MR512; r++) {                                  \
            if (r >= mr) break;                                                                     \
            acc[r][0] = STEP(acc[r][0], r, k, w0);                                                  \
            if (np > 1) acc[r][1] = STEP(acc[r][1], r, k, w1);                                      \
        }                                                                                           \
    }

/* fp32: acc = fma(A[r][k], W[c][k], acc), the same chain per element as every other path */
#define F32_STEP(acc, r, k, w) _mm512_fmadd_ps(_mm512_set1_ps(A[(r) * lda + (k)]), w, acc)
#define STORE_512(ST)                                                                               \
    const unsigned short m0 = cols_mask(ncols, 0), m1 = cols_mask(ncols, KN_NR);                   \
    _Pragma("GCC unroll 12") for (int r = 0; r < MR512; r++) {                                      \
        if (r >= mr) break;                                                                         \
        ST(C + r * ldc, m0, acc[r][0]);                                                             \
        if (np > 1) ST(C + r * ldc + KN_NR, m1, acc[r][1]);                                         \
    }

KN_512 void tile_f32_512_body(const int mr, const int np, const float *A, size_t lda, const float *B, size_t panel,
                              int K, int ncols, float *C, size_t ldc)
{
    TILE_512_LOOP(__m512, _mm512_setzero_ps(), _mm512_load_ps, F32_STEP, K, KN_NR)
    STORE_512(_mm512_mask_storeu_ps)
}

KN_512_FN void tile_f32_512(int mr, const float *A, size_t lda, const float *B, size_t panel, int K, int ncols,
                            float *C, size_t ldc)
{
    BY_TILE_512(tile_f32_512_body, A, lda, B, panel, K, ncols, C, ldc);
}

/* One row against up to 12 panels at once (M = 1: the parser's feature slots and output
 * layer): 12 independent chains hide the FMA latency. The same chain per element. */
KN_512_FN void row_f32_512(const float *a, const float *B, size_t panel, int npan, int K, int ncols, float *C)
{
    __m512 acc[12];
#pragma GCC unroll 12
    for (int j = 0; j < 12; j++) acc[j] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512 x = _mm512_set1_ps(a[k]);
#pragma GCC unroll 12
        for (int j = 0; j < 12; j++) {
            if (j >= npan) break;
            acc[j] = _mm512_fmadd_ps(x, _mm512_load_ps(B + j * panel + (size_t)k * KN_NR), acc[j]);
        }
    }
#pragma GCC unroll 12
    for (int j = 0; j < 12; j++) {
        if (j >= npan) break;
        _mm512_mask_storeu_ps(C + j * KN_NR, cols_mask(ncols, j * KN_NR), acc[j]);
    }
}

/* bf16: VDPBF16PS, per element and pair acc += a_hi*w_hi, then += a_lo*w_lo */
#define KN_512BF16 __attribute__((target(KN_512_TARGET ",avx512bf16"), always_inline)) KN_NO_ASAN static inline
#define BF16_LOADW(p) ((__m512)_mm512_load_si512((const void *)(p)))
#define BF16_STEP(acc, r, k, w) _mm512_dpbf16_ps(acc, (__m512bh)_mm512_set1_epi32((int)pair_at(A + (r) * lda + 2 * (k))), (__m512bh)(w))

static inline uint32_t pair_at(const uint16_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

KN_512BF16 void tile_bf16_512_body(const int mr, const int np, const uint16_t *A, size_t lda, const uint32_t *B,
                                   size_t panel, int KP, int ncols, float *C, size_t ldc)
{
    TILE_512_LOOP(__m512, _mm512_setzero_ps(), BF16_LOADW, BF16_STEP, KP, KN_NR)
    STORE_512(_mm512_mask_storeu_ps)
}

__attribute__((target(KN_512_TARGET ",avx512bf16"))) KN_NO_ASAN static void
tile_bf16_512(int mr, const uint16_t *A, size_t lda, const uint32_t *B, size_t panel, int KP, int ncols, float *C,
              size_t ldc)
{
    BY_TILE_512(tile_bf16_512_body, A, lda, B, panel, KP, ncols, C, ldc);
}
#endif

/* Tile by tile: fn computes mr rows x KN_NR columns of a panel straight into C (row stride
 * ldt = ldc), or, for a last panel narrower than KN_NR, into a local tile whose valid columns
 * are then stored. Within a block of rows, panels outer and row tiles inner: a panel
 * (K x 16 floats, 18 KB for K = 288) stays in L1 while the block's rows (108 KB for 96 rows of
 * 288) stream past it from L2. Blocking rows leaves each element's k order alone. */
#ifndef ROW_BLOCK
#define ROW_BLOCK 96
#endif
/* Row blocks of ROW_BLOCK rows (i0 .. i1-1), in each steps of `step` panels (j: the first, ncols:
 * the valid columns of those panels), in each tiles of at most `rows` rows (i .. i+mr-1): the
 * statements given. */
#define FOR_TILES(rows, step, ...) FOR_TILES_OF(rows, step, mr = i1 - i < (size_t)(rows) ? (int)(i1 - i) : (rows), __VA_ARGS__)
/* The same, with the last two tiles of a block evened out when the last would have under 4
 * rows: its 2 x mr accumulator chains could not keep two FMAs a cycle going through the FMA
 * latency (a 1-row tile runs at a quarter of the full tile's rate per row; 7 + 6 rows run at
 * full rate). For the tiles that index rows freely (not int8's 512-bit tiles, whose rows the
 * quantized layout fixes in groups of MR512). */
#define FOR_TILES_EVEN(rows, step, ...) FOR_TILES_OF(rows, step, mr = tile_rows(i1 - i, (rows)), __VA_ARGS__)
#define FOR_TILES_OF(rows, step, SET_MR, ...)                                                       \
    for (size_t i0 = 0; i0 < M; i0 += ROW_BLOCK) {                                                  \
        size_t i1 = i0 + ROW_BLOCK < M ? i0 + ROW_BLOCK : M;                                        \
        for (int j = 0; j < p->npanels; j += (step)) {                                              \
            int ncols = p->N - j * KN_NR < (step) * KN_NR ? p->N - j * KN_NR : (step) * KN_NR;       \
            int mr = 0;                                                                             \
            for (size_t i = i0; i < i1; i += (size_t)mr) {                                          \
                SET_MR;                                                                             \
                __VA_ARGS__;                                                                        \
            }                                                                                       \
        }                                                                                           \
    }
enum { TILE_MIN_ROWS = 4 };
static inline int tile_rows(size_t left, int rows)
{
    if (left <= (size_t)rows) return (int)left;
    if (rows >= 2 * TILE_MIN_ROWS && left < (size_t)(rows + TILE_MIN_ROWS)) return (int)((left + 1) / 2);
    return rows;
}

#define GEMM_PANELS(fn, rows, kdim, packed)                                                         \
    do {                                                                                            \
        float tile[MR * KN_NR];                                                                     \
        if (!M) break;                                                                              \
        check_range(A, ((M - 1) * lda + (size_t)p->K) * sizeof *A);                                 \
        check_range(C, ((M - 1) * ldc + (size_t)p->N) * sizeof *C);                                 \
        const size_t panel = (size_t)(kdim) * KN_NR;                                                \
        FOR_TILES_EVEN(rows, 1, float *c = C + i * ldc + (size_t)j * KN_NR;                         \
                       if (ncols == KN_NR) fn(mr, A + i * lda, lda, (packed) + j * panel, (kdim), c, ldc); \
                       else { /* a narrower last panel: through the local tile */                 \
                           fn(mr, A + i * lda, lda, (packed) + j * panel, (kdim), tile, KN_NR);    \
                           store_tile(tile, mr, ncols, c, ldc);                                    \
                       })                                                                          \
    } while (0)

int kn_cols(const kn_weights *p, int c0, int n, kn_weights *view)
{
    if (c0 < 0 || n <= 0 || c0 % KN_NR || c0 + n > p->N || (n % KN_NR && c0 + n != p->N)) return -1;
    *view = (kn_weights){.N = n, .K = p->K, .npanels = (n + KN_NR - 1) / KN_NR};
    view->f32 = p->f32 + (size_t)(c0 / KN_NR) * p->K * KN_NR;
    if (p->bf16) view->bf16 = p->bf16 + (size_t)(c0 / KN_NR) * (p->K / 2) * KN_NR;
    if (p->i8) {
        view->K4 = p->K4;
        view->i8 = p->i8 + (size_t)(c0 / KN_NR) * (p->K4 / 4) * KN_NR;
        view->i8_scale = p->i8_scale + c0;
        view->i8_wsum = p->i8_wsum + c0;
    }
    return 0;
}

#ifdef KN_X86
/* Row blocks as GEMM_PANELS, then pairs of panels: the 512-bit tiles store into C themselves. */
#define GEMM_PAIRS_512(fn, kdim, packed)                                                            \
    do {                                                                                            \
        if (!M) break;                                                                              \
        check_range(A, ((M - 1) * lda + (size_t)p->K) * sizeof *A);                                 \
        check_range(C, ((M - 1) * ldc + (size_t)p->N) * sizeof *C);                                 \
        const size_t panel = (size_t)(kdim) * KN_NR;                                                \
        FOR_TILES_EVEN(MR512, 2, fn(mr, A + i * lda, lda, (packed) + j * panel, panel, (kdim), ncols, \
                               C + i * ldc + (size_t)j * KN_NR, ldc))                               \
    } while (0)
#endif

void kn_gemm_f32(const kn_weights *p, const float *A, size_t lda, size_t M, float *C, size_t ldc)
{
    void (*tile_fn)(int, const float *, size_t, const float *, int, float *, size_t) = tile_f32_generic;
#ifdef KN_X86
    const size_t panel = (size_t)p->K * KN_NR;
    if (M == 1 && use_avx512()) {
        check_range(A, (size_t)p->K * sizeof *A);
        check_range(C, (size_t)p->N * sizeof *C);
        for (int j = 0; j < p->npanels; j += 12) {
            int npan = p->npanels - j < 12 ? p->npanels - j : 12;
            row_f32_512(A, p->f32 + j * panel, panel, npan, p->K, p->N - j * KN_NR, C + (size_t)j * KN_NR);
        }
        return;
    }
    if (use_avx512()) {
        GEMM_PAIRS_512(tile_f32_512, p->K, p->f32);
        return;
    }
    if (use_avx2()) tile_fn = tile_f32_avx2;
    if (M == 1 && use_avx2()) {
        float out[6 * KN_NR];
        check_range(A, (size_t)p->K * sizeof *A);
        for (int j = 0; j < p->npanels; j += 6) {
            int npan = p->npanels - j < 6 ? p->npanels - j : 6;
            row_f32_avx2(A, p->f32 + j * panel, panel, npan, p->K, out);
            int ncols = p->N - j * KN_NR < npan * KN_NR ? p->N - j * KN_NR : npan * KN_NR;
            memcpy(C + (size_t)j * KN_NR, out, (size_t)ncols * sizeof(float));
        }
        return;
    }
#endif
    GEMM_PANELS(tile_fn, MR, p->K, p->f32);
}

#ifdef KN_X86
KN_512_FN void add_bias_512(float *C, size_t ldc, size_t M, const float *b, int N)
{
    for (size_t i = 0; i < M; i++)
        for (int c = 0; c < N; c += KN_NR) {
            const __mmask16 m = cols_mask(N, c);
            _mm512_mask_storeu_ps(C + i * ldc + c, m,
                                  _mm512_add_ps(_mm512_maskz_loadu_ps(m, C + i * ldc + c), _mm512_maskz_loadu_ps(m, b + c)));
        }
}
#endif

void kn_add_bias(float *C, size_t ldc, size_t M, const float *b, int N)
{
    if (!M || N <= 0) return;
#ifdef KN_X86
    if (use_avx512()) {
        check_range(C, ((M - 1) * ldc + (size_t)N) * sizeof *C);
        check_range(b, (size_t)N * sizeof *b);
        add_bias_512(C, ldc, M, b, N);
        return;
    }
#endif
    for (size_t i = 0; i < M; i++)
        for (int c = 0; c < N; c++) C[i * ldc + c] += b[c];
}

/* ---- the fast modes' one-row product with its bias: KN_ROW_CHAINS chains per element ----
 * A lone row's fp32 product is latency-bound when each element is one chain of K dependent
 * fused multiply-adds (the exact path's order, which its parity with spaCy rests on). The fast
 * modes are free in the order: chain m takes the k with k % KN_ROW_CHAINS == m, ascending, and
 * element c is ((s0 + s1) + (s2 + s3)) + b[c], on every path, so they give the same bits. */
#define KN_ROW_CHAINS 4

/* Whether panel j has a column in need (NULL: all): its 16 bits of the bitset. */
static int panel_needed(const uint64_t *need, int j)
{
    return !need || (need[j * KN_NR / 64] >> (j * KN_NR % 64) & 0xffffu);
}
_Static_assert(64 % KN_NR == 0, "a panel's columns lie in one word of the bitset");

static void row_chains_generic(const kn_weights *p, const float *a, const float *b, const uint64_t *need, float *C)
{
    const size_t panel = (size_t)p->K * KN_NR;
    for (int c = 0; c < p->npanels * KN_NR; c++) {
        if (c >= p->N || !panel_needed(need, c / KN_NR)) { C[c] = 0.0f; continue; }
        const float *w = p->f32 + (size_t)(c / KN_NR) * panel + c % KN_NR;
        float s[KN_ROW_CHAINS] = {0};
        for (int k = 0; k < p->K; k++) s[k % KN_ROW_CHAINS] = fmaf(a[k], w[(size_t)k * KN_NR], s[k % KN_ROW_CHAINS]);
        C[c] = ((s[0] + s[1]) + (s[2] + s[3])) + b[c];
    }
}
_Static_assert(KN_ROW_CHAINS == 4, "row_chains_generic combines four chains");

#ifdef KN_X86
/* AVX2: one panel at a time, its two halves' four chains (8 accumulators, 4 broadcasts). pairs:
 * a and the panels in bf16 pairs (kn_row_bf16_chains: each pair widened to fp32, the odd
 * element's product fused first, as VDPBF16PS adds them), else fp32. */
KN_AVX2 __m256 unit_madd_avx2(const int pairs, __m256 acc, __m256 x, const uint32_t *w)
{
    if (!pairs) return _mm256_fmadd_ps(x, _mm256_load_ps((const float *)(const void *)w), acc);
    const __m256i wv = _mm256_load_si256((const __m256i *)(const void *)w), xv = _mm256_castps_si256(x);
    return _mm256_fmadd_ps(lo_half(xv), lo_half(wv), _mm256_fmadd_ps(hi_half(xv), hi_half(wv), acc));
}

KN_AVX2 __m256 unit_broadcast_avx2(const void *a, int u) /* memcpy: a may hold bf16 pairs */
{
    float x;
    memcpy(&x, (const char *)a + 4 * (size_t)u, 4);
    return _mm256_set1_ps(x);
}

KN_AVX2 void row_chains_avx2(const int pairs, const kn_weights *p, const void *a, const float *b,
                             const uint64_t *need, float *C)
{
    const int K = pairs ? p->K / 2 : p->K;
    const size_t panel = (size_t)K * KN_NR;
    const uint32_t *const W = pairs ? p->bf16 : (const uint32_t *)(const void *)p->f32;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int j = 0; j < p->npanels; j++) {
        if (!panel_needed(need, j)) {
            _mm256_storeu_ps(C + j * KN_NR, _mm256_setzero_ps());
            _mm256_storeu_ps(C + j * KN_NR + 8, _mm256_setzero_ps());
            continue;
        }
        const uint32_t *B = W + j * panel;
        __m256 acc[KN_ROW_CHAINS][2];
#pragma GCC unroll 4
        for (int m = 0; m < KN_ROW_CHAINS; m++) acc[m][0] = acc[m][1] = _mm256_setzero_ps();
        int k = 0;
        for (; k + KN_ROW_CHAINS <= K; k += KN_ROW_CHAINS)
#pragma GCC unroll 4
            for (int m = 0; m < KN_ROW_CHAINS; m++) {
                const __m256 x = unit_broadcast_avx2(a, k + m);
                const uint32_t *w = B + (size_t)(k + m) * KN_NR;
                acc[m][0] = unit_madd_avx2(pairs, acc[m][0], x, w);
                acc[m][1] = unit_madd_avx2(pairs, acc[m][1], x, w + 8);
            }
#pragma GCC unroll 4
        for (int m = 0; m < KN_ROW_CHAINS - 1; m++) { /* K's last K % 4 (m a constant: registers) */
            if (k + m >= K) break;
            const __m256 x = unit_broadcast_avx2(a, k + m);
            const uint32_t *w = B + (size_t)(k + m) * KN_NR;
            acc[m][0] = unit_madd_avx2(pairs, acc[m][0], x, w);
            acc[m][1] = unit_madd_avx2(pairs, acc[m][1], x, w + 8);
        }
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            const int c0 = j * KN_NR + 8 * h;
            const __m256i in = _mm256_cmpgt_epi32(_mm256_set1_epi32(p->N - c0), lane); /* columns < N */
            const __m256 sum = _mm256_add_ps(_mm256_add_ps(acc[0][h], acc[1][h]), _mm256_add_ps(acc[2][h], acc[3][h]));
            const __m256 out = _mm256_add_ps(sum, _mm256_maskload_ps(b + c0, in));
            _mm256_storeu_ps(C + c0, _mm256_and_ps(out, _mm256_castsi256_ps(in)));
        }
    }
}

__attribute__((target("avx2,fma"))) KN_NO_ASAN static void row_chains_avx2_f32(const kn_weights *p, const float *a,
                                                                               const float *b, const uint64_t *need,
                                                                               float *C)
{
    row_chains_avx2(0, p, a, b, need, C);
}

__attribute__((target("avx2,fma"))) KN_NO_ASAN static void row_chains_avx2_bf16(const kn_weights *p, const float *a,
                                                                                const float *b, const uint64_t *need,
                                                                                float *C)
{
    uint16_t a_bf16[KN_ROW_BF16_MAX_K] __attribute__((aligned(32)));
    size_t k = to_bf16_avx2(a, a_bf16, (size_t)p->K);
    for (; k < (size_t)p->K; k++) a_bf16[k] = kn_to_bf16(a[k]);
    row_chains_avx2(1, p, a_bf16, b, need, C);
}

/* AVX-512: up to ROW_CHAINS_PANELS panels at once (24 accumulators and 4 broadcasts of the 32
 * registers), the panels js[0 .. npan-1], a body per panel count so that they stay in registers;
 * 7 or 8 panels in row_chains_512_halves. */
#define ROW_CHAINS_PANELS 6
#define ROW_CHAINS_MAX_GROUP 8 /* ROW_CHAINS_HALVES_PANELS, below */
/* choose.h's choice over one group's scores still in registers: out[j] the scores of panel js[j]
 * (ascending), valid[j] its columns in need. The first valid column if its score is NaN, else
 * the first valid column whose score equals the highest ordered valid one (choose.c's best_512,
 * the same comparisons); -1 if no column is valid. */
KN_512 int choose_in_registers(const int npan, const int *js, const __m512 *out, const __mmask16 *valid)
{
    int j0 = 0;
    while (j0 < npan && !valid[j0]) j0++;
    if (j0 == npan) return -1;
    const int first = __builtin_ctz(valid[j0]);
    if (_mm512_mask_cmp_ps_mask(valid[j0], out[j0], out[j0], _CMP_UNORD_Q) >> first & 1) return js[j0] * KN_NR + first;
    __m512 top = _mm512_set1_ps(-INFINITY);
#pragma GCC unroll 8
    for (int j = 0; j < ROW_CHAINS_MAX_GROUP; j++) {
        if (j >= npan) break;
        top = _mm512_mask_max_ps(top, _mm512_mask_cmp_ps_mask(valid[j], out[j], out[j], _CMP_ORD_Q), top, out[j]);
    }
    const __m512 best = _mm512_set1_ps(_mm512_reduce_max_ps(top));
#pragma GCC unroll 8
    for (int j = 0; j < ROW_CHAINS_MAX_GROUP; j++) {
        if (j >= npan) break;
        const unsigned eq = _mm512_mask_cmp_ps_mask(valid[j], out[j], best, _CMP_EQ_OQ);
        if (eq) return js[j] * KN_NR + __builtin_ctz(eq);
    }
    return -1; /* not reached: the first valid score is ordered, so some valid score is the highest */
}

/* Panel js's columns in need (NULL: those below N). */
static inline __mmask16 panel_need_bits(const uint64_t *need, int js, int N)
{
    const __mmask16 in = cols_mask(N, js * KN_NR);
    return need ? (__mmask16)(need[js * KN_NR / 64] >> (js * KN_NR % 64)) & in : in;
}

/* The chains' unit of k: one float (fp32: a's floats, the panels of p->f32) or one pair of bf16
 * (pairs: a's bf16 two at a time, the panels of p->bf16), 4 bytes either way, so the bodies below
 * serve both: unit_madd adds one unit's products to a chain, an fp32 fused multiply-add or
 * VDPBF16PS's two (the odd element's, then the even one's, each rounded once: the products of
 * two bf16 are exact in fp32). */
static inline int chain_units(const int pairs, const kn_weights *p) { return pairs ? p->K / 2 : p->K; }
static inline const uint32_t *chain_panels(const int pairs, const kn_weights *p)
{
    return pairs ? p->bf16 : (const uint32_t *)(const void *)p->f32;
}
KN_512 __m512 unit_broadcast(const void *a, int u)
{
    float x;
    memcpy(&x, (const char *)a + 4 * (size_t)u, 4);
    return _mm512_set1_ps(x);
}
KN_512 __m512 unit_madd(const int pairs, __m512 acc, __m512 x, const uint32_t *w)
{
    if (!pairs) return _mm512_fmadd_ps(x, _mm512_load_ps((const float *)(const void *)w), acc);
    /* asm: the intrinsic would need the avx512bf16 target in every body that shares this */
    __asm__("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(x), "m"(*(const __m512 *)(const void *)w));
    return acc;
}

KN_512 void row_chains_512_body(const int npan, const int pairs, const kn_weights *p, const int *js, const void *a,
                                const float *b, const uint64_t *need, float *C, int *chosen)
{
    const int K = chain_units(pairs, p);
    const size_t panel = (size_t)K * KN_NR;
    const uint32_t *B[ROW_CHAINS_PANELS];
    __m512 acc[ROW_CHAINS_PANELS][KN_ROW_CHAINS];
#pragma GCC unroll 6
    for (int j = 0; j < ROW_CHAINS_PANELS; j++) {
        if (j >= npan) break;
        B[j] = chain_panels(pairs, p) + js[j] * panel;
#pragma GCC unroll 4
        for (int m = 0; m < KN_ROW_CHAINS; m++) acc[j][m] = _mm512_setzero_ps();
    }
    int k = 0;
    for (; k + KN_ROW_CHAINS <= K; k += KN_ROW_CHAINS) {
        __m512 x[KN_ROW_CHAINS];
#pragma GCC unroll 4
        for (int m = 0; m < KN_ROW_CHAINS; m++) x[m] = unit_broadcast(a, k + m);
#pragma GCC unroll 6
        for (int j = 0; j < ROW_CHAINS_PANELS; j++) {
            if (j >= npan) break;
#pragma GCC unroll 4
            for (int m = 0; m < KN_ROW_CHAINS; m++)
                acc[j][m] = unit_madd(pairs, acc[j][m], x[m], B[j] + (size_t)(k + m) * KN_NR);
        }
    }
#pragma GCC unroll 4
    for (int m = 0; m < KN_ROW_CHAINS - 1; m++) { /* K's last K % 4 (m a constant: registers) */
        if (k + m >= K) break;
        const __m512 x = unit_broadcast(a, k + m);
#pragma GCC unroll 6
        for (int j = 0; j < ROW_CHAINS_PANELS; j++) {
            if (j >= npan) break;
            acc[j][m] = unit_madd(pairs, acc[j][m], x, B[j] + (size_t)(k + m) * KN_NR);
        }
    }
    __m512 out[ROW_CHAINS_PANELS];
    __mmask16 valid[ROW_CHAINS_PANELS];
#pragma GCC unroll 6
    for (int j = 0; j < ROW_CHAINS_PANELS; j++) {
        if (j >= npan) break;
        const int c0 = js[j] * KN_NR;
        const __mmask16 in = cols_mask(p->N, c0);
        const __m512 sum = _mm512_add_ps(_mm512_add_ps(acc[j][0], acc[j][1]), _mm512_add_ps(acc[j][2], acc[j][3]));
        out[j] = _mm512_maskz_add_ps(in, sum, _mm512_maskz_loadu_ps(in, b + c0));
        /* whole vectors stored: the scores' next reads take them from the store queue */
        _mm512_storeu_ps(C + c0, out[j]);
        valid[j] = panel_need_bits(need, js[j], p->N);
    }
    if (chosen) *chosen = choose_in_registers(npan, js, out, valid);
}

/* 7 or 8 panels (the dependency parser's classes) would need 28-32 accumulators: their chains
 * in two halves instead, chains 0 and 1 of every panel first (s0 + s1 kept), then chains 2 and
 * 3, each chain still its k in ascending order and each score ((s0 + s1) + (s2 + s3)) + b: the
 * same bits, with no panel left to a latency-bound group of its own (6 + 1 before). The
 * broadcasts of a come from one vector load per 16 k and two shuffles each, off the load ports
 * that the weights' 7-8 loads per k keep busy (in the ner's groups of 1-5 panels the shuffles'
 * latency cost more than they saved: measured in place, below). */
#define ROW_CHAINS_HALVES_PANELS 8
#define ROW_CHAINS_HALF_QUAD(q, lane_imm, imm0, imm1)                                                       \
    do {                                                                                                    \
        const __m512 quad = _mm512_shuffle_f32x4(av, av, lane_imm);                                       \
        const __m512 x0 = _mm512_shuffle_ps(quad, quad, imm0), x1 = _mm512_shuffle_ps(quad, quad, imm1);    \
        _Pragma("GCC unroll 8") for (int j = 0; j < ROW_CHAINS_HALVES_PANELS; j++) {                         \
            if (j >= npan) break;                                                                           \
            acc[j][0] = unit_madd(pairs, acc[j][0], x0, B[j] + (size_t)(k + 4 * (q) + m0) * KN_NR);    \
            acc[j][1] = unit_madd(pairs, acc[j][1], x1, B[j] + (size_t)(k + 4 * (q) + m0 + 1) * KN_NR); \
        }                                                                                                   \
    } while (0)
/* chains m0 and m0 + 1 (imm0, imm1: their element of a 4-float lane) of every panel into acc */
#define ROW_CHAINS_HALF(m0, imm0, imm1)                                                                     \
    do {                                                                                                    \
        _Pragma("GCC unroll 8") for (int j = 0; j < ROW_CHAINS_HALVES_PANELS; j++) {                         \
            if (j >= npan) break;                                                                           \
            acc[j][0] = acc[j][1] = _mm512_setzero_ps();                                                    \
        }                                                                                                   \
        int k = 0;                                                                                          \
        for (; k + 16 <= K; k += 16) {                                                                      \
            const __m512 av = _mm512_loadu_ps((const uint32_t *)a + k);                                    \
            ROW_CHAINS_HALF_QUAD(0, 0x00, imm0, imm1);                                                      \
            ROW_CHAINS_HALF_QUAD(1, 0x55, imm0, imm1);                                                      \
            ROW_CHAINS_HALF_QUAD(2, 0xaa, imm0, imm1);                                                      \
            ROW_CHAINS_HALF_QUAD(3, 0xff, imm0, imm1);                                                      \
        }                                                                                                   \
        for (; k + (m0) < K; k += KN_ROW_CHAINS) { /* the rest, K % 4 included */                           \
            const __m512 x0 = unit_broadcast(a, k + (m0));                                                  \
            const __m512 x1 = k + (m0) + 1 < K ? unit_broadcast(a, k + (m0) + 1) : _mm512_setzero_ps();      \
            _Pragma("GCC unroll 8") for (int j = 0; j < ROW_CHAINS_HALVES_PANELS; j++) {                     \
                if (j >= npan) break;                                                                       \
                acc[j][0] = unit_madd(pairs, acc[j][0], x0, B[j] + (size_t)(k + (m0)) * KN_NR);          \
                if (k + (m0) + 1 < K)                                                                       \
                    acc[j][1] = unit_madd(pairs, acc[j][1], x1, B[j] + (size_t)(k + (m0) + 1) * KN_NR);  \
            }                                                                                               \
        }                                                                                                   \
    } while (0)
KN_512 void row_chains_512_halves(const int npan, const int pairs, const kn_weights *p, const int *js, const void *a,
                                  const float *b, const uint64_t *need, float *C, int *chosen)
{
    const int K = chain_units(pairs, p);
    const size_t panel = (size_t)K * KN_NR;
    const uint32_t *B[ROW_CHAINS_HALVES_PANELS];
    __m512 acc[ROW_CHAINS_HALVES_PANELS][2], s01[ROW_CHAINS_HALVES_PANELS];
#pragma GCC unroll 8
    for (int j = 0; j < ROW_CHAINS_HALVES_PANELS; j++) {
        if (j >= npan) break;
        B[j] = chain_panels(pairs, p) + js[j] * panel;
    }
    {
        enum { m0 = 0 };
        ROW_CHAINS_HALF(m0, 0x00, 0x55);
    }
#pragma GCC unroll 8
    for (int j = 0; j < ROW_CHAINS_HALVES_PANELS; j++) {
        if (j >= npan) break;
        s01[j] = _mm512_add_ps(acc[j][0], acc[j][1]);
    }
    {
        enum { m0 = 2 };
        ROW_CHAINS_HALF(m0, 0xaa, 0xff);
    }
    __m512 out[ROW_CHAINS_HALVES_PANELS];
    __mmask16 valid[ROW_CHAINS_HALVES_PANELS];
#pragma GCC unroll 8
    for (int j = 0; j < ROW_CHAINS_HALVES_PANELS; j++) {
        if (j >= npan) break;
        const int c0 = js[j] * KN_NR;
        const __mmask16 in = cols_mask(p->N, c0);
        const __m512 sum = _mm512_add_ps(s01[j], _mm512_add_ps(acc[j][0], acc[j][1]));
        out[j] = _mm512_maskz_add_ps(in, sum, _mm512_maskz_loadu_ps(in, b + c0));
        _mm512_storeu_ps(C + c0, out[j]);
        valid[j] = panel_need_bits(need, js[j], p->N);
    }
    if (chosen) *chosen = choose_in_registers(npan, js, out, valid);
}
_Static_assert(KN_ROW_CHAINS == 4, "row_chains_512_halves runs chains 0-1, then 2-3");
_Static_assert(ROW_CHAINS_MAX_GROUP == ROW_CHAINS_HALVES_PANELS, "the largest group");

/* chosen: NULL, or where the choice goes when every wanted panel fits one group (the shipped
 * pipelines' 5 and 7 panels), else KN_NOT_CHOSEN */
KN_512 void row_chains_512(const int pairs, const kn_weights *p, const void *a, const float *b, const uint64_t *need,
                           float *C, int *chosen)
{
    int groups = 0, group_choice = -1;
    int *const choice = chosen ? &group_choice : NULL;
    for (int j = 0; j < p->npanels; groups++) {
        int js[ROW_CHAINS_HALVES_PANELS], npan = 0;
        for (; j < p->npanels && npan < ROW_CHAINS_HALVES_PANELS; j++)
            if (panel_needed(need, j)) js[npan++] = j;
            else _mm512_storeu_ps(C + j * KN_NR, _mm512_setzero_ps());
        switch (npan) {
        case 8: row_chains_512_halves(8, pairs, p, js, a, b, need, C, choice); break;
        case 7: row_chains_512_halves(7, pairs, p, js, a, b, need, C, choice); break;
        case 6: row_chains_512_body(6, pairs, p, js, a, b, need, C, choice); break;
        case 5: row_chains_512_body(5, pairs, p, js, a, b, need, C, choice); break;
        case 4: row_chains_512_body(4, pairs, p, js, a, b, need, C, choice); break;
        case 3: row_chains_512_body(3, pairs, p, js, a, b, need, C, choice); break;
        case 2: row_chains_512_body(2, pairs, p, js, a, b, need, C, choice); break;
        case 1: row_chains_512_body(1, pairs, p, js, a, b, need, C, choice); break;
        default: groups--; break; /* no panel wanted from j on */
        }
    }
    if (chosen) *chosen = groups <= 1 ? group_choice : KN_NOT_CHOSEN;
}
_Static_assert(ROW_CHAINS_PANELS == 6, "row_chains_512 specialises up to 6 panels");

KN_512_FN void row_chains_512_f32(const kn_weights *p, const float *a, const float *b, const uint64_t *need, float *C,
                                  int *chosen)
{
    row_chains_512(0, p, a, b, need, C, chosen);
}

/* The bf16 pairs' VDPBF16PS comes from unit_madd's asm, so this needs no target of its own; it
 * runs only where the CPU has AVX512_BF16. */
KN_512_FN void row_chains_512_bf16(const kn_weights *p, const float *a, const float *b, const uint64_t *need,
                                   float *C, int *chosen)
{
    uint16_t a_bf16[KN_ROW_BF16_MAX_K] __attribute__((aligned(64)));
    size_t k = to_bf16_512(a, a_bf16, (size_t)p->K);
    for (; k < (size_t)p->K; k++) a_bf16[k] = kn_to_bf16(a[k]);
    row_chains_512(1, p, a_bf16, b, need, C, chosen);
}
#endif

/* The same chains over bf16 pairs: chain m takes the pairs q with q % 4 == m, ascending, each
 * pair's two products added as VDPBF16PS adds them (odd element, then even). */
static void row_bf16_chains_generic(const kn_weights *p, const float *a_f32, const float *b, const uint64_t *need,
                                    float *C)
{
    uint16_t a[KN_ROW_BF16_MAX_K];
    for (int k = 0; k < p->K; k++) a[k] = kn_to_bf16(a_f32[k]);
    const int KP = p->K / 2;
    const size_t panel = (size_t)KP * KN_NR;
    for (int c = 0; c < p->npanels * KN_NR; c++) {
        if (c >= p->N || !panel_needed(need, c / KN_NR)) { C[c] = 0.0f; continue; }
        const uint32_t *w = p->bf16 + (size_t)(c / KN_NR) * panel + c % KN_NR;
        float s[KN_ROW_CHAINS] = {0};
        for (int q = 0; q < KP; q++) {
            const uint32_t aq = a[2 * q] | (uint32_t)a[2 * q + 1] << 16, wq = w[(size_t)q * KN_NR];
            float *const chain = &s[q % KN_ROW_CHAINS];
            *chain = fmaf(bf16_hi(aq), bf16_hi(wq), *chain);
            *chain = fmaf(bf16_lo(aq), bf16_lo(wq), *chain);
        }
        C[c] = ((s[0] + s[1]) + (s[2] + s[3])) + b[c];
    }
}

/* pairs: a rounded to bf16 pairs times p's bf16 copy (kn_row_bf16_chains), else fp32 */
static int row_chains(const int pairs, const kn_weights *p, const float *a, const float *b, const uint64_t *need,
                      float *C, int choose)
{
    int chosen = KN_NOT_CHOSEN;
    int *const choice = choose ? &chosen : NULL;
#ifdef KN_X86
    if (use_avx512() || use_avx2()) {
        check_range(a, (size_t)p->K * sizeof *a);
        check_range(b, (size_t)p->N * sizeof *b);
        check_range(C, (size_t)p->npanels * KN_NR * sizeof *C);
        /* AVX-512 without AVX512_BF16 widens the pairs as AVX2 does */
        if (pairs && use_avx512bf16()) row_chains_512_bf16(p, a, b, need, C, choice);
        else if (pairs) row_chains_avx2_bf16(p, a, b, need, C);
        else if (use_avx512()) row_chains_512_f32(p, a, b, need, C, choice);
        else row_chains_avx2_f32(p, a, b, need, C);
        return chosen;
    }
#endif
    (pairs ? row_bf16_chains_generic : row_chains_generic)(p, a, b, need, C);
    return chosen;
}

void kn_row_f32_chains(const kn_weights *p, const float *a, const float *b, const uint64_t *need, float *C)
{
    row_chains(0, p, a, b, need, C, 0);
}

int kn_row_f32_chains_choose(const kn_weights *p, const float *a, const float *b, const uint64_t *need, float *C)
{
    return row_chains(0, p, a, b, need, C, 1);
}

void kn_row_bf16_chains(const kn_weights *p, const float *a, const float *b, const uint64_t *need, float *C)
{
    row_chains(1, p, a, b, need, C, 0);
}

int kn_row_bf16_chains_choose(const kn_weights *p, const float *a, const float *b, const uint64_t *need, float *C)
{
    return row_chains(1, p, a, b, need, C, 1);
}

/* ---- AMX tiles: TDPBUSD (int8) and TDPBF16PS (bf16) ---- */
#ifdef KN_X86
/* One int8 output vector: dequantize's arithmetic on 16 columns (the exact sums acc, the row's
 * zero point z and scale row, the columns' weight sums ws and scales s), in its order. */
__attribute__((target(KN_512_TARGET), always_inline)) static inline __m512 dequant_512(__m512i acc, __m512i z,
                                                                                     __m512i ws, __m512 s, __m512 row)
{
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc, _mm512_mullo_epi32(z, ws))), s), row);
}
#endif

#ifdef __x86_64__
/* A tile register holds up to 16 rows of 64 bytes. Both products are, per output, sums over
 * groups of 4 bytes: 4 k of int8, or 2 k of bf16 (a pair). An A tile row is 16 groups of one
 * row of A, a B tile row 16 columns' word for one group: a packed panel row (KN_NR words), so a
 * B tile is 16 consecutive rows of a panel, loaded straight from it. */
enum { AMX_ROWS = 16, AMX_ROW_BYTES = 64, AMX_GROUPS = AMX_ROW_BYTES / 4 };
_Static_assert(KN_NR * 4 == AMX_ROW_BYTES, "a packed panel row is one B tile row");

/* The tiles: accumulators for two panels, the A and two B tiles of a full 16-group chunk, and
 * the same three for K's last chunk when it is shorter (its own shapes: LDTILECFG clears every
 * tile, so one configuration holds both). Numbers, not names, in the instructions. */
#define T_C0 0
#define T_C1 1
#define T_A 2
#define T_B0 3
#define T_B1 4
#define T_A_TAIL 5
#define T_B0_TAIL 6
#define T_B1_TAIL 7

/* Inline asm rather than gcc 12's _tile_* macros: those declare no memory read for TILELOADD
 * and only 8 bytes of the 64-byte operand for LDTILECFG, so gcc could reorder or drop the
 * stores the tiles read. */
#define AMX_LOAD_(t, base, stride) __asm__ volatile("tileloadd (%0,%1,1), %%tmm" #t ::"r"(base), "r"((long)(stride)) : "memory")
#define AMX_STORE_(t, base, stride) __asm__ volatile("tilestored %%tmm" #t ", (%0,%1,1)" ::"r"(base), "r"((long)(stride)) : "memory")
#define AMX_ZERO_(t) __asm__ volatile("tilezero %%tmm" #t ::)
#define AMX_DOT_(op, c, a, b) __asm__ volatile(op " %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::)
#define AMX_LOAD(t, base, stride) AMX_LOAD_(t, base, stride)
#define AMX_STORE(t, base, stride) AMX_STORE_(t, base, stride)
#define AMX_ZERO(t) AMX_ZERO_(t)
#define AMX_DOT(op, c, a, b) AMX_DOT_(op, c, a, b)

/* LDTILECFG's operand (palette 1): bytes per row and rows of each tile; unused tiles 0 x 0. */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((aligned(64))) amx_config;
_Static_assert(sizeof(amx_config) == 64, "LDTILECFG reads 64 bytes");

__attribute__((target("amx-tile"))) static void amx_configure(amx_config *cfg, int mr, int tail)
{
    *cfg = (amx_config){.palette = 1};
    const struct { int tile, rows, colsb; } shapes[] = {
        {T_C0, mr, AMX_ROW_BYTES}, {T_C1, mr, AMX_ROW_BYTES}, {T_A, mr, AMX_ROW_BYTES},
        {T_B0, AMX_GROUPS, AMX_ROW_BYTES}, {T_B1, AMX_GROUPS, AMX_ROW_BYTES},
        {T_A_TAIL, mr, 4 * tail}, {T_B0_TAIL, tail, AMX_ROW_BYTES}, {T_B1_TAIL, tail, AMX_ROW_BYTES},
    };
    for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++)
        if (shapes[t].rows && shapes[t].colsb) {
            cfg->rows[shapes[t].tile] = (uint8_t)shapes[t].rows;
            cfg->colsb[shapes[t].tile] = (uint16_t)shapes[t].colsb;
        }
    __asm__ volatile("ldtilecfg %0" ::"m"(*cfg) : "memory");
}

#define KN_AMX_TARGET KN_512_TARGET ",amx-tile,amx-int8,amx-bf16"

/* The accumulators (C1 only with a second panel) += chunk g of the tile's rows of A (in tile
 * TA) times the panels' chunk g (in TB0, TB1), for amx_gemm. */
#define AMX_CHUNK(g, TA, TB0, TB1)                                                                  \
    do {                                                                                            \
        AMX_LOAD(TA, a + (size_t)(g) * AMX_ROW_BYTES, lda);                                         \
        AMX_LOAD(TB0, b0 + (size_t)(g) * chunk, AMX_ROW_BYTES);                                     \
        if (two) AMX_LOAD(TB1, b1 + (size_t)(g) * chunk, AMX_ROW_BYTES);                            \
        if (int8) {                                                                                 \
            AMX_DOT("tdpbusd", T_C0, TA, TB0);                                                      \
            if (two) AMX_DOT("tdpbusd", T_C1, TA, TB1);                                             \
        } else {                                                                                    \
            AMX_DOT("tdpbf16ps", T_C0, TA, TB0);                                                    \
            if (two) AMX_DOT("tdpbf16ps", T_C1, TA, TB1);                                           \
        }                                                                                           \
    } while (0)

/* C = A . W^T on the tiles: A is M rows of G groups (row i at A + i * lda bytes), B npanels
 * panels of G rows of KN_NR words (packed weights), C M x N floats. Row blocks of ROW_BLOCK,
 * in each pairs of panels, in each tiles of 16 rows: the accumulators start at zero and add
 * K's chunks in order. int8 then dequantizes (sa, za per row, sw, wsum per column); bf16
 * stores the sums. The tile configuration is loaded per call (and again when a block's last
 * tile has fewer rows) and released at the end: tile state is per thread, so nothing is kept
 * between calls and any thread may call. */
__attribute__((target(KN_AMX_TARGET), always_inline)) KN_NO_ASAN static inline void
amx_gemm(const int int8, const uint8_t *A, size_t lda, size_t M, const uint32_t *B, int npanels, int G, int N,
         float *C, size_t ldc, const float *sa, const int32_t *za, const float *sw, const int32_t *wsum)
{
    const int full = G / AMX_GROUPS, tail = G % AMX_GROUPS;
    const size_t panel = (size_t)G * KN_NR, chunk = (size_t)AMX_GROUPS * KN_NR;
    int32_t out[2][AMX_ROWS * KN_NR] __attribute__((aligned(64))); /* the accumulators, stored */
    amx_config cfg;
    int config_rows = 0;
    for (size_t i0 = 0; i0 < M; i0 += ROW_BLOCK) {
        const size_t i1 = i0 + ROW_BLOCK < M ? i0 + ROW_BLOCK : M;
        for (int j = 0; j < npanels; j += 2) {
            const int two = npanels - j > 1, ncols = N - j * KN_NR < 2 * KN_NR ? N - j * KN_NR : 2 * KN_NR;
            const uint32_t *b0 = B + (size_t)j * panel, *b1 = two ? b0 + panel : b0;
            for (size_t i = i0; i < i1; i += AMX_ROWS) {
                const int mr = i1 - i < AMX_ROWS ? (int)(i1 - i) : AMX_ROWS;
                if (mr != config_rows) amx_configure(&cfg, mr, tail), config_rows = mr;
                const uint8_t *a = A + i * lda;
                AMX_ZERO(T_C0);
                AMX_ZERO(T_C1);
                for (int g = 0; g < full; g++) AMX_CHUNK(g, T_A, T_B0, T_B1);
                if (tail) AMX_CHUNK(full, T_A_TAIL, T_B0_TAIL, T_B1_TAIL);
                AMX_STORE(T_C0, out[0], AMX_ROW_BYTES);
                if (two) AMX_STORE(T_C1, out[1], AMX_ROW_BYTES);
                const unsigned short m0 = cols_mask(ncols, 0), m1 = cols_mask(ncols, KN_NR);
                float *c = C + i * ldc + (size_t)j * KN_NR;
                for (int r = 0; r < mr; r++) {
                    const __m512i acc0 = _mm512_load_si512(out[0] + r * KN_NR);
                    const __m512i acc1 = two ? _mm512_load_si512(out[1] + r * KN_NR) : acc0;
                    if (int8) {
                        const __m512 row = _mm512_set1_ps(sa[i + r]);
                        const __m512i z = _mm512_set1_epi32(za[i + r]);
                        const float *s = sw + j * KN_NR;
                        const int32_t *ws = wsum + j * KN_NR;
                        _mm512_mask_storeu_ps(c + r * ldc, m0,
                                              dequant_512(acc0, z, _mm512_loadu_si512(ws), _mm512_loadu_ps(s), row));
                        if (two)
                            _mm512_mask_storeu_ps(c + r * ldc + KN_NR, m1,
                                                  dequant_512(acc1, z, _mm512_loadu_si512(ws + KN_NR),
                                                              _mm512_loadu_ps(s + KN_NR), row));
                    } else {
                        _mm512_mask_storeu_ps(c + r * ldc, m0, _mm512_castsi512_ps(acc0));
                        if (two) _mm512_mask_storeu_ps(c + r * ldc + KN_NR, m1, _mm512_castsi512_ps(acc1));
                    }
                }
            }
        }
    }
    __asm__ volatile("tilerelease" ::: "memory");
}

/* int8: Q from kn_quantize_rows (rows of KQ groups), the int8 panels. */
__attribute__((target(KN_AMX_TARGET))) KN_NO_ASAN static void
amx_gemm_i8(const uint8_t *Q, size_t M, const uint32_t *B, int npanels, int KQ, int N, float *C, size_t ldc,
            const float *sa, const int32_t *za, const float *sw, const int32_t *wsum)
{
    amx_gemm(1, Q, 4 * (size_t)KQ, M, B, npanels, KQ, N, C, ldc, sa, za, sw, wsum);
}

/* bf16: A rows of KP pairs, lda in bf16 elements; the bf16 panels. */
__attribute__((target(KN_AMX_TARGET))) KN_NO_ASAN static void
amx_gemm_bf16(const uint16_t *A, size_t lda, size_t M, const uint32_t *B, int npanels, int KP, int N, float *C,
              size_t ldc)
{
    amx_gemm(0, (const uint8_t *)A, 2 * lda, M, B, npanels, KP, N, C, ldc, NULL, NULL, NULL, NULL);
}
#endif
/* ---- end of the AMX tiles ---- */

static void gemm_bf16(const kn_weights *p, const uint16_t *A, size_t lda, size_t M, float *C, size_t ldc, int amx_ok)
{
    void (*tile_fn)(int, const uint16_t *, size_t, const uint32_t *, int, float *, size_t) = tile_bf16_generic;
    int rows = MR;
#ifdef __x86_64__
    if (amx_ok && use_amx_bf16()) {
        if (!M) return;
        check_range(A, ((M - 1) * lda + (size_t)p->K) * sizeof *A);
        check_range(C, ((M - 1) * ldc + (size_t)p->N) * sizeof *C);
        amx_gemm_bf16(A, lda, M, p->bf16, p->npanels, p->K / 2, p->N, C, ldc);
        return;
    }
#endif
#ifdef KN_X86
    if (use_avx512bf16()) {
        GEMM_PAIRS_512(tile_bf16_512, p->K / 2, p->bf16);
        return;
    }
    if (use_avx2()) tile_fn = tile_bf16_avx2, rows = MR_BF16_AVX2;
#endif
    GEMM_PANELS(tile_fn, rows, p->K / 2, p->bf16);
}

void kn_gemm_bf16(const kn_weights *p, const uint16_t *A, size_t lda, size_t M, float *C, size_t ldc)
{
    gemm_bf16(p, A, lda, M, C, ldc, 1);
}

void kn_gemm_bf16_in_order(const kn_weights *p, const uint16_t *A, size_t lda, size_t M, float *C, size_t ldc)
{
    gemm_bf16(p, A, lda, M, C, ldc, 0);
}

/* ---- int8: u8 activations (q + zero point) x s8 weights, exact int32 sums ---- */

/* The row's lo = min(0, min a) and hi = max(0, max a), from k0 on (NaNs skipped: x < lo and
 * x > hi are false for them, as min_ps(x, lo) and max_ps(x, hi) keep lo and hi). */
static void range_c(const float *a, int k0, int K, float *lo, float *hi)
{
    for (int k = k0; k < K; k++) {
        *lo = a[k] < *lo ? a[k] : *lo;
        *hi = a[k] > *hi ? a[k] : *hi;
    }
}

/* A row's scale and zero point from its range (see kn_quantize_rows); returns inv. */
static float row_params(float lo, float hi, float *scale, int32_t *zero)
{
    const float range = hi - lo;
    if (!(range > 0 && range <= FLT_MAX)) { /* a zero row (or an infinite one) */
        *scale = 0, *zero = 0;
        return 0;
    }
    const float inv = KN_I8_ALEVELS / range;
    *scale = range / KN_I8_ALEVELS;
    *zero = (int32_t)lrintf(-lo * inv);
    return inv;
}

/* A quantized row's byte k: its quad k / 4 (quads group_stride bytes apart), byte k % 4. */
static inline size_t quad_byte(int k, size_t group_stride) { return (size_t)(k / 4) * group_stride + (size_t)(k % 4); }

/* clamp(round(clamp(a[k] * inv)) + zero, 0, KN_I8_ALEVELS) (a NaN clamps to -KN_I8_ALEVELS
 * first, as max_ps does, so its byte is 0), for k0 <= k < K; then the padding up to K4, the
 * zero point. */
static void quantize_c(const float *a, int k0, int K, float inv, int32_t zero, uint8_t *q, size_t group_stride)
{
    for (int k = k0; k < K; k++) {
        long v = lrintf(fminf(fmaxf(a[k] * inv, -KN_I8_ALEVELS), KN_I8_ALEVELS)) + zero;
        q[quad_byte(k, group_stride)] = (uint8_t)(v < 0 ? 0 : v > KN_I8_ALEVELS ? KN_I8_ALEVELS : v);
    }
    for (int k = K; k % 4; k++) q[quad_byte(k, group_stride)] = (uint8_t)zero;
}

/* The layout of kn_quantize_rows' bytes: rows in tiles of i8_tile_rows() rows (the last tile
 * of M holds what is left), in a tile the quads of one k group side by side, row after row.
 * One row to a tile is plain rows of K4 bytes. Row i's first byte, and how far apart its
 * quads are. */
static size_t i8_row_offset(size_t M, size_t K4, size_t tile_rows, size_t i, size_t *group_stride)
{
    const size_t t0 = i / tile_rows * tile_rows, rows = M - t0 < tile_rows ? M - t0 : tile_rows;
    *group_stride = 4 * rows;
    return t0 * K4 + 4 * (i - t0);
}

/* The rows per tile kn_gemm_i8 reads at the current level: the 512-bit VNNI tile's (one
 * pointer and constant offsets address all of a tile's rows in a k group; with a register per
 * row gcc ran out of registers and spilled the accumulators: half the speed); plain rows
 * elsewhere (AMX's tiles load 16 groups of a row at once). */
static size_t i8_tile_rows(void);

size_t kn_i8_offset(size_t M, int K, size_t i, int k)
{
    size_t group_stride;
    const size_t row = i8_row_offset(M, (size_t)(K + 3) / 4 * 4, i8_tile_rows(), i, &group_stride);
    return row + quad_byte(k, group_stride);
}

/* Per level: lo[s], hi[s] = the range (range_c's, from 0) of the n floats at a + s * lda, for
 * s < spans; and the rows of one tile of the layout (row r at a + r * lda, with inv[r] and
 * zero[r]) quantized as quantize_c into q, the tile's first byte (its quads 4 * rows bytes
 * apart). */
typedef void i8_range_fn(const float *a, size_t lda, size_t spans, int n, float *lo, float *hi);
typedef void i8_quantize_fn(const float *a, size_t lda, int rows, int K, const float *inv, const int32_t *zero,
                            uint8_t *q);

static void range_portable(const float *a, size_t lda, size_t spans, int n, float *lo, float *hi)
{
    for (size_t s = 0; s < spans; s++) {
        lo[s] = hi[s] = 0;
        range_c(a + s * lda, 0, n, lo + s, hi + s);
    }
}

static void quantize_portable(const float *a, size_t lda, int rows, int K, const float *inv, const int32_t *zero,
                              uint8_t *q)
{
    for (int r = 0; r < rows; r++) quantize_c(a + (size_t)r * lda, 0, K, inv[r], zero[r], q + 4 * r, 4 * (size_t)rows);
}

/* One output: the exact integer sum less the row's zero point times the column's weight sum,
 * then scaled (the same two multiplications, in that order, on every path). */
static float dequantize(int32_t acc, int32_t zero, int32_t wsum, float sw, float sa)
{
    return (float)(acc - zero * wsum) * sw * sa;
}

static void tile_i8_generic(int mr, const uint8_t *Q, size_t ldq, const uint32_t *B, int KQ, const float *sa,
                            const int32_t *za, const float *sw, const int32_t *wsum, float *tile)
{
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < KN_NR; c++) {
            int32_t acc = 0;
            for (int g = 0; g < KQ; g++)
                for (int b = 0; b < 4; b++)
                    acc += Q[r * ldq + 4 * g + b] * (int8_t)(uint8_t)(B[(size_t)g * KN_NR + c] >> (8 * b));
            tile[r * KN_NR + c] = dequantize(acc, za[r], wsum[c], sw[c], sa[r]);
        }
}

#ifdef KN_X86
/* lo[s], hi[s] = the range of row a (range_c's), W lanes at a time, then the tail; k ends at K.
 * The lanes hold no NaN and no -0.0 (they start at 0.0, which -0.0 does not replace), so
 * reducing them in any order gives range_c's values. */
#define ROW_RANGE(VEC, P, W, REDUCE_MIN, REDUCE_MAX)                                                \
    do {                                                                                            \
        VEC vlo = P##_setzero_ps(), vhi = P##_setzero_ps();                                         \
        for (; k + (W) <= K; k += (W)) {                                                            \
            VEC x = P##_loadu_ps(a + k);                                                            \
            vlo = P##_min_ps(x, vlo);                                                               \
            vhi = P##_max_ps(x, vhi);                                                               \
        }                                                                                           \
        lo[s] = REDUCE_MIN, hi[s] = REDUCE_MAX;                                                     \
        range_c(a, k, K, lo + s, hi + s);                                                           \
    } while (0)

/* The smallest (max = 0) or largest (max = 1) of 8 lanes, by halving. */
__attribute__((target("avx2,fma"))) static float reduce8(__m256 v, int max)
{
    __m128 h = _mm256_extractf128_ps(v, 1), l = _mm256_castps256_ps128(v);
    h = max ? _mm_max_ps(l, h) : _mm_min_ps(l, h);
    l = _mm_movehl_ps(h, h);
    h = max ? _mm_max_ps(l, h) : _mm_min_ps(l, h);
    l = _mm_shuffle_ps(h, h, 1);
    h = max ? _mm_max_ss(l, h) : _mm_min_ss(l, h);
    return _mm_cvtss_f32(h);
}

__attribute__((target("avx2,fma"))) KN_NO_ASAN static void range_avx2(const float *A, size_t lda, size_t spans,
                                                                     int K, float *lo, float *hi)
{
    for (size_t s = 0; s < spans; s++) {
        const float *a = A + s * lda;
        int k = 0;
        ROW_RANGE(__m256, _mm256, 8, reduce8(vlo, 0), reduce8(vhi, 1));
    }
}

/* 32 bytes a store: a row's quads are contiguous in plain rows, this level's layout (one row to
 * a tile; more rows go one by one through quantize_c) */
__attribute__((target("avx2,fma"))) KN_NO_ASAN static void quantize_avx2(const float *a, size_t lda, int rows, int K,
                                                                        const float *inv, const int32_t *zero,
                                                                        uint8_t *q)
{
    if (rows != 1) {
        quantize_portable(a, lda, rows, K, inv, zero, q);
        return;
    }
    const __m256 lo = _mm256_set1_ps(-KN_I8_ALEVELS), hi = _mm256_set1_ps(KN_I8_ALEVELS);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256 vinv = _mm256_set1_ps(*inv);
    const __m256i vzero = _mm256_set1_epi32(*zero);
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        __m256i x[4];
        for (int v = 0; v < 4; v++)
            x[v] = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_min_ps(
                                        _mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(a + k + 8 * v), vinv), lo), hi)),
                                    vzero);
        /* the packs saturate to 0..255 (the clamp) and interleave 128-bit lanes: dwords
         * (x0 lo, x1 lo, x2 lo, x3 lo | x0 hi, ...) */
        __m256i b = _mm256_packus_epi16(_mm256_packs_epi32(x[0], x[1]), _mm256_packs_epi32(x[2], x[3]));
        _mm256_storeu_si256((__m256i *)(q + k), _mm256_permutevar8x32_epi32(b, order));
    }
    quantize_c(a, k, K, *inv, *zero, q, 4);
}

__attribute__((target(KN_512_TARGET))) KN_NO_ASAN static void range_512(const float *A, size_t lda, size_t spans,
                                                                        int K, float *lo, float *hi)
{
    for (size_t s = 0; s < spans; s++) {
        const float *a = A + s * lda;
        int k = 0;
        ROW_RANGE(__m512, _mm512, 16, _mm512_reduce_min_ps(vlo), _mm512_reduce_max_ps(vhi));
    }
}

/* 16 floats quantized up to the last clamp (quantize_c's arithmetic): int32 lanes of -255..510 */
#define QUANT16_512(p, vinv, vzero)                                                                 \
    _mm512_add_epi32(                                                                               \
        _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_loadu_ps(p), vinv), lo), hi)), vzero)

/* The same bytes 16 lanes at a time: a third of an int8 document's quantizing time on AVX-512.
 * Rows in fours: a 128-bit lane of 16 floats' int32s is one quad, so the saturating packs
 * (clamping to 0..255) of four rows' vectors put in each lane one k group's quads of the four
 * rows side by side, as the layout has them: one store each. Rows left over: VPMOVUSDB, a quad
 * at a time. */
__attribute__((target(KN_512_TARGET))) KN_NO_ASAN static void quantize_512(const float *a, size_t lda, int rows, int K,
                                                                          const float *inv, const int32_t *zero,
                                                                          uint8_t *q)
{
    const __m512 lo = _mm512_set1_ps(-KN_I8_ALEVELS), hi = _mm512_set1_ps(KN_I8_ALEVELS);
    const size_t group_stride = 4 * (size_t)rows;
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float *a0 = a + (size_t)r * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        const __m512 i0 = _mm512_set1_ps(inv[r]), i1 = _mm512_set1_ps(inv[r + 1]), i2 = _mm512_set1_ps(inv[r + 2]),
                     i3 = _mm512_set1_ps(inv[r + 3]);
        const __m512i z0 = _mm512_set1_epi32(zero[r]), z1 = _mm512_set1_epi32(zero[r + 1]),
                      z2 = _mm512_set1_epi32(zero[r + 2]), z3 = _mm512_set1_epi32(zero[r + 3]);
        int k = 0;
        for (; k + 16 <= K; k += 16) {
            const __m512i x01 = _mm512_packs_epi32(QUANT16_512(a0 + k, i0, z0), QUANT16_512(a1 + k, i1, z1));
            const __m512i x23 = _mm512_packs_epi32(QUANT16_512(a2 + k, i2, z2), QUANT16_512(a3 + k, i3, z3));
            const __m512i b = _mm512_packus_epi16(x01, x23);
            uint8_t *d = q + quad_byte(k, group_stride) + 4 * (size_t)r;
            _mm_storeu_si128((__m128i *)d, _mm512_castsi512_si128(b));
            _mm_storeu_si128((__m128i *)(d + group_stride), _mm512_extracti32x4_epi32(b, 1));
            _mm_storeu_si128((__m128i *)(d + 2 * group_stride), _mm512_extracti32x4_epi32(b, 2));
            _mm_storeu_si128((__m128i *)(d + 3 * group_stride), _mm512_extracti32x4_epi32(b, 3));
        }
        for (int j = 0; j < 4 && (k < K || K % 4); j++) /* a tail or padding (the encoder's K has neither) */
            quantize_c(a + (size_t)(r + j) * lda, k, K, inv[r + j], zero[r + j], q + 4 * (size_t)(r + j), group_stride);
    }
    for (; r < rows; r++) {
        const float *ar = a + (size_t)r * lda;
        const __m512 vinv = _mm512_set1_ps(inv[r]);
        const __m512i vzero = _mm512_set1_epi32(zero[r]);
        int k = 0;
        for (; k + 16 <= K; k += 16) {
            /* below 0 to 0, then VPMOVUSDB saturates above 255 */
            const __m512i x = QUANT16_512(ar + k, vinv, vzero);
            const __m128i b = _mm512_cvtusepi32_epi8(_mm512_max_epi32(x, _mm512_setzero_si512()));
            uint8_t *d = q + quad_byte(k, group_stride) + 4 * (size_t)r;
            if (group_stride == 4) {
                _mm_storeu_si128((__m128i *)d, b);
            } else {
                const uint32_t quads[4] = {(uint32_t)_mm_cvtsi128_si32(b), (uint32_t)_mm_extract_epi32(b, 1),
                                           (uint32_t)_mm_extract_epi32(b, 2), (uint32_t)_mm_extract_epi32(b, 3)};
                for (int g = 0; g < 4; g++) memcpy(d + (size_t)g * group_stride, quads + g, 4);
            }
        }
        quantize_c(ar, k, K, inv[r], zero[r], q + 4 * (size_t)r, group_stride);
    }
}

/* A 256-bit tile's rows out: dequantize's arithmetic, 8 columns at a time. */
#define STORE_I8_256(acc, mr, sa, za, sw, wsum, tile)                                               \
    do {                                                                                            \
        const __m256i ws0 = _mm256_loadu_si256((const __m256i *)(wsum)),                            \
                      ws1 = _mm256_loadu_si256((const __m256i *)((wsum) + 8));                      \
        const __m256 s0 = _mm256_loadu_ps(sw), s1 = _mm256_loadu_ps((sw) + 8);                      \
        _Pragma("GCC unroll 6") for (int r = 0; r < MR; r++) {                                      \
            if (r >= (mr)) break;                                                                   \
            const __m256 row = _mm256_set1_ps((sa)[r]);                                             \
            const __m256i z = _mm256_set1_epi32((za)[r]);                                           \
            __m256i d0 = _mm256_sub_epi32(acc[r][0], _mm256_mullo_epi32(z, ws0));                   \
            __m256i d1 = _mm256_sub_epi32(acc[r][1], _mm256_mullo_epi32(z, ws1));                   \
            _mm256_storeu_ps((tile) + r * KN_NR, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(d0), s0), row)); \
            _mm256_storeu_ps((tile) + r * KN_NR + 8, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(d1), s1), row)); \
        }                                                                                           \
    } while (0)

/* AVX2 without VNNI: VPMADDUBSW's int16 pair sums would saturate (2 x 255 x 127), so the bytes
 * are widened to int16 in place: the low byte of each 16-bit lane (k 4g and 4g+2 of a word)
 * sign- or zero-extended, and the high byte (4g+1, 4g+3) shifted down; two VPMADDWD (int32
 * sums of int16 pairs, exact) then give the four products of each word. One body for every
 * row count: gcc spills the accumulators of tiles specialised per row count (BY_ROWS). */
__attribute__((target("avx2,fma"))) KN_NO_ASAN static void tile_i8_avx2(int mr, const uint8_t *Q, size_t ldq,
                                                                       const uint32_t *B, int KQ, const float *sa,
                                                                       const int32_t *za, const float *sw,
                                                                       const int32_t *wsum, float *tile)
{
    __m256i acc[MR][2];
    const __m256i low_bytes = _mm256_set1_epi16(0x00ff);
    _Pragma("GCC unroll 6") for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int g = 0; g < KQ; g++) {
        const uint32_t *b = B + (size_t)g * KN_NR;
        const __m256i w0 = _mm256_load_si256((const __m256i *)b), w1 = _mm256_load_si256((const __m256i *)(b + 8));
        const __m256i w0e = _mm256_srai_epi16(_mm256_slli_epi16(w0, 8), 8), w0o = _mm256_srai_epi16(w0, 8);
        const __m256i w1e = _mm256_srai_epi16(_mm256_slli_epi16(w1, 8), 8), w1o = _mm256_srai_epi16(w1, 8);
        _Pragma("GCC unroll 6") for (int r = 0; r < MR; r++) {
            if (r >= mr) break;
            uint32_t quad;
            memcpy(&quad, Q + r * ldq + 4 * g, 4);
            const __m256i a = _mm256_set1_epi32((int)quad);
            const __m256i ae = _mm256_and_si256(a, low_bytes), ao = _mm256_srli_epi16(a, 8);
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_add_epi32(_mm256_madd_epi16(ae, w0e), _mm256_madd_epi16(ao, w0o)));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_add_epi32(_mm256_madd_epi16(ae, w1e), _mm256_madd_epi16(ao, w1o)));
        }
    }
    STORE_I8_256(acc, mr, sa, za, sw, wsum, tile);
}

/* AVX-VNNI: one VPDPBUSD per 4 k and 8 columns (u8 x s8, int32 sums without saturation). */
__attribute__((target("avx2,fma,avxvnni"))) KN_NO_ASAN static void tile_i8_avxvnni(int mr, const uint8_t *Q,
                                                                                   size_t ldq, const uint32_t *B,
                                                                                   int KQ, const float *sa,
                                                                                   const int32_t *za, const float *sw,
                                                                                   const int32_t *wsum, float *tile)
{
    __m256i acc[MR][2];
    _Pragma("GCC unroll 6") for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int g = 0; g < KQ; g++) {
        const uint32_t *b = B + (size_t)g * KN_NR;
        const __m256i w0 = _mm256_load_si256((const __m256i *)b), w1 = _mm256_load_si256((const __m256i *)(b + 8));
        _Pragma("GCC unroll 6") for (int r = 0; r < MR; r++) {
            if (r >= mr) break;
            uint32_t quad;
            memcpy(&quad, Q + r * ldq + 4 * g, 4);
            const __m256i a = _mm256_set1_epi32((int)quad);
            acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], a, w0);
            acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], a, w1);
        }
    }
    STORE_I8_256(acc, mr, sa, za, sw, wsum, tile);
}

/* AVX512-VNNI: one VPDPBUSD per 4 k and 16 columns, rows and panels as the fp32 512-bit tile;
 * then dequantize's arithmetic, as the other paths. A is one tile of kn_quantize_rows' layout
 * at this level (i8_tile_rows): its mr rows' quads of k group g side by side at g * mr quads. */
#define KN_512VNNI_TARGET KN_512_TARGET ",avx512vnni"
#define I8_LOADW(p) _mm512_load_si512((const void *)(p))
#define I8_STEP(acc, r, g, w) dpbusd_512(acc, _mm512_set1_epi32((int)quad_at(A + ((size_t)(g) * mr + (r)) * 4)), w)

/* acc += the four byte products of u8 a and s8 w per int32 lane. In asm: with the intrinsic,
 * gcc 12 copied the 24 accumulators through the stack on every k group (half the speed). */
__attribute__((target(KN_512VNNI_TARGET), always_inline)) static inline __m512i dpbusd_512(__m512i acc, __m512i a,
                                                                                          __m512i w)
{
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(w));
    return acc;
}
static inline uint32_t quad_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

__attribute__((target(KN_512VNNI_TARGET), always_inline)) KN_NO_ASAN static inline void
tile_i8_512_body(const int mr, const int np, const uint8_t *A, const uint32_t *B, size_t panel, int KQ, int ncols,
                 float *C, size_t ldc, const float *sa, const int32_t *za, const float *sw, const int32_t *wsum)
{
    TILE_512_LOOP(__m512i, _mm512_setzero_si512(), I8_LOADW, I8_STEP, KQ, KN_NR)
    const __m512i ws0 = _mm512_loadu_si512(wsum), ws1 = np > 1 ? _mm512_loadu_si512(wsum + KN_NR) : ws0;
    const __m512 s0 = _mm512_loadu_ps(sw), s1 = np > 1 ? _mm512_loadu_ps(sw + KN_NR) : s0;
    const unsigned short m0 = cols_mask(ncols, 0), m1 = cols_mask(ncols, KN_NR);
#pragma GCC unroll 12
    for (int r = 0; r < MR512; r++) {
        if (r >= mr) break;
        const __m512 row = _mm512_set1_ps(sa[r]);
        const __m512i z = _mm512_set1_epi32(za[r]);
        _mm512_mask_storeu_ps(C + r * ldc, m0, dequant_512(acc[r][0], z, ws0, s0, row));
        if (np > 1) _mm512_mask_storeu_ps(C + r * ldc + KN_NR, m1, dequant_512(acc[r][1], z, ws1, s1, row));
    }
}

__attribute__((target(KN_512VNNI_TARGET))) KN_NO_ASAN static void
tile_i8_512(int mr, const uint8_t *A, const uint32_t *B, size_t panel, int KQ, int ncols, float *C, size_t ldc,
            const float *sa, const int32_t *za, const float *sw, const int32_t *wsum)
{
    BY_TILE_512(tile_i8_512_body, A, B, panel, KQ, ncols, C, ldc, sa, za, sw, wsum);
}

#endif

static size_t i8_tile_rows(void)
{
#ifdef KN_X86
    if (use_avx512vnni() && !use_amx_int8()) return MR512;
#endif
    return 1;
}

/* Rows that are windows over a sequence (row i = sequence rows i .. i + spans - 1 of lda floats,
 * the encoder's) take each sequence row's range once: a window's range is the min and max of
 * its rows' ranges, the same values (range_c's comparisons keep no NaN and no -0.0). Rows go in
 * chunks of whole tiles: their sequence rows' ranges, then their scales, then their bytes. */
enum { I8_MAX_SPANS = 16, I8_CHUNK_ROWS = 96 };
#ifdef KN_X86
_Static_assert(I8_CHUNK_ROWS % MR512 == 0, "a chunk is whole tiles of the quantized layout");
#endif

void kn_quantize_rows(const float *A, size_t lda, size_t M, int K, uint8_t *Q, float *scale, int32_t *zero)
{
    const size_t K4 = (size_t)(K + 3) / 4 * 4;
    if (!M) return;
    check_range(A, ((M - 1) * lda + (size_t)K) * sizeof *A);
    check_range(Q, M * K4);
    i8_range_fn *range = range_portable;
    i8_quantize_fn *quantize = quantize_portable;
#ifdef KN_X86
    if (use_avx512()) range = range_512, quantize = quantize_512;
    else if (use_avx2()) range = range_avx2, quantize = quantize_avx2;
#endif
    const int spans =
        lda > 0 && lda < (size_t)K && K % (int)lda == 0 && K / (int)lda <= I8_MAX_SPANS ? K / (int)lda : 1;
    const int span_floats = spans > 1 ? (int)lda : K;
    const size_t tile_rows = i8_tile_rows();
    float span_lo[I8_CHUNK_ROWS + I8_MAX_SPANS - 1], span_hi[I8_CHUNK_ROWS + I8_MAX_SPANS - 1], inv[I8_CHUNK_ROWS];
    for (size_t c0 = 0; c0 < M; c0 += I8_CHUNK_ROWS) {
        const size_t rows = M - c0 < I8_CHUNK_ROWS ? M - c0 : I8_CHUNK_ROWS;
        range(A + c0 * lda, lda, rows + (size_t)spans - 1, span_floats, span_lo, span_hi);
        for (size_t r = 0; r < rows; r++) {
            float lo = 0, hi = 0;
            for (int s = 0; s < spans; s++) {
                lo = span_lo[r + (size_t)s] < lo ? span_lo[r + (size_t)s] : lo;
                hi = span_hi[r + (size_t)s] > hi ? span_hi[r + (size_t)s] : hi;
            }
            inv[r] = row_params(lo, hi, scale + c0 + r, zero + c0 + r);
        }
        for (size_t t = 0; t < rows; t += tile_rows) { /* i8_row_offset's tiles */
            const size_t i = c0 + t;
            const int tile = M - i < tile_rows ? (int)(M - i) : (int)tile_rows; /* the last tile: the rows left */
            quantize(A + i * lda, lda, tile, K, inv + t, zero + i, Q + i * K4);
        }
    }
}

/* Row blocks and panels as GEMM_PANELS; the tiles dequantize their own outputs. */
void kn_gemm_i8(const kn_weights *p, const uint8_t *Q, const float *scale, const int32_t *zero, size_t M, float *C,
                size_t ldc)
{
    void (*tile_fn)(int, const uint8_t *, size_t, const uint32_t *, int, const float *, const int32_t *,
                    const float *, const int32_t *, float *) = tile_i8_generic;
    float tile[MR * KN_NR];
    if (!M) return;
    check_range(Q, M * (size_t)p->K4);
    check_range(scale, M * sizeof *scale);
    check_range(zero, M * sizeof *zero);
    check_range(C, ((M - 1) * ldc + (size_t)p->N) * sizeof *C);
    const size_t ldq = (size_t)p->K4, panel = ldq / 4 * KN_NR;
#ifdef __x86_64__
    if (use_amx_int8()) {
        amx_gemm_i8(Q, M, p->i8, p->npanels, p->K4 / 4, p->N, C, ldc, scale, zero, p->i8_scale, p->i8_wsum);
        return;
    }
#endif
#ifdef KN_X86
    if (i8_tile_rows() == MR512) { /* the tiles of the row blocks' rows, straight from Q */
        _Static_assert(ROW_BLOCK % MR512 == 0, "a row block is whole tiles of the quantized layout");
        const int KQ = p->K4 / 4;
        /* FOR_TILES, never FOR_TILES_EVEN: a tile must start where the layout's tiles start */
        FOR_TILES(MR512, 2, tile_i8_512(mr, Q + i * ldq, p->i8 + j * panel, panel, KQ, ncols,
                                        C + i * ldc + (size_t)j * KN_NR, ldc, scale + i, zero + i,
                                        p->i8_scale + j * KN_NR, p->i8_wsum + j * KN_NR))
        return;
    }
    if (use_avxvnni()) tile_fn = tile_i8_avxvnni;
    else if (use_avx2()) tile_fn = tile_i8_avx2;
#endif
    FOR_TILES(MR, 1, tile_fn(mr, Q + i * ldq, ldq, p->i8 + j * panel, p->K4 / 4, scale + i, zero + i,
                             p->i8_scale + j * KN_NR, p->i8_wsum + j * KN_NR, tile);
              store_tile(tile, mr, ncols, C + i * ldc + (size_t)j * KN_NR, ldc))
}
