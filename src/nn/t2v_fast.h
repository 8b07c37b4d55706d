/* t2v_fast.h - the production path of the ner network: the same functions as tok2vec_net.c
 * and parser_net.c (which stay the plain reference the layer tests trace), computed with
 * nerd's packed kernels (kernels.h), fused passes and the per-word cache (embed_cache.h).
 *
 * Exact mode (KN_FP32) computes every product as one fma chain per element, so its results do
 * not depend on which rows are computed together: a cached row equals a fresh one bit for bit.
 * Fast modes round the tok2vec's weights and activations for its products: KN_BF16 to bf16
 * (fp32 accumulation), KN_INT8 to int8 (weights per output column, activations per row with a
 * zero point, int32 accumulation; the mixing layer stays fp32 in int8). The parsers'
 * precomputed tables: the ner's bf16 in both fast modes (parser_table_precision), the full
 * pipeline's bf16 in bf16 and int8 in int8 (dep_table_precision); the per-step products stay
 * fp32, but for int8's output layer, in bf16 pairs (parser_fast_step_rows). */
#ifndef NERD_T2V_FAST_H
#define NERD_T2V_FAST_H

#include "nn/embed_cache.h"
#include "nn/kernels.h"
#include "nn/parser_net.h"
#include "nn/tok2vec_net.h"

typedef struct {
    /* maxout weights with their columns reordered piece-major (column p*nO + o), so that the
     * maxout is an elementwise max of nP contiguous vectors */
    kn_weights mix, block[T2V_MAX_DEPTH];
    float *mix_b, *block_b[T2V_MAX_DEPTH];
    float *zero_b;  /* width zeros: the bias of the layernorm pass after a Mish activation */
    kn_weights sv;  /* the static vectors' projection W (width x nM), when the net has them */
    int lowp;   /* which low-precision copies are packed: KN_PACK_BF16 | KN_PACK_INT8 */
    /* per precision (kn_precision; NULL where not packed), the first encoder block's output row
     * for a pad row whose whole window is zero rows: the same for every document */
    float *pad_row[3];
    /* The fast modes' first block, split by window position: row g*encN + o (encN = width x
     * pieces, piece-major) is block 0's row o, columns g*width .. g*width+width-1, so that a
     * window's pre-activation is the sum over g of one word's product with group g. Those
     * products (the word's partials) depend on the word alone: computed once per word and kept
     * in the cache's attached table. Products in bf16 in both fast modes (packed when lowp is
     * not 0 and the width even). */
    kn_weights part;
    float *part_zero;  /* encN zeros: a pad or guard row's partials */
    /* set by the loader when a dependency parser reads this tok2vec's rows: bf16 mode then
     * computes its partials in fp32 (partials_precision); kept when the copies are packed again */
    int feeds_dep_parser;
} t2v_packed;

typedef struct {
    kn_weights proj, lower, upper;
    float *lower_b, *lower_pad;   /* piece-major, like the lower weights */
} parser_packed;

/* Packs the weights, and the low-precision copies lowp asks for (KN_PACK_* flags). 0, or -1
 * when out of memory. */
int t2v_pack(t2v_packed *pk, const t2v_net *net, int lowp);
void t2v_packed_free(t2v_packed *pk);
int parser_pack(parser_packed *pk, const parser_net *p);
void parser_packed_free(parser_packed *pk);

size_t t2v_fast_scratch_floats(const t2v_net *net, size_t n);

/* The floats of a word's row in the fast modes' attached table (embed_cache_attach): its
 * embedding row, then its (2 window + 1) partials of width x pieces floats each. */
size_t t2v_partial_row_floats(const t2v_net *net);

/* Cache use of one call: rows found in the word cache or the attached table (hits), rows the
 * mixing layer computed (misses); in the fast modes, words whose partials came from the
 * attached table (part_hits) and words whose partials were computed (part_misses). With a
 * cache, a word repeated in the call's tokens is looked up or computed once and its repeats
 * take its row: they count as their first occurrence did; looked_up: the distinct words (every
 * token without a cache). */
typedef struct { uint64_t hits, misses, part_hits, part_misses, looked_up; } t2v_cache_use;

/* As t2v_forward (texts as there); cache may be NULL. trace (may be NULL) sees "embed_out"
 * (only without a cache), "encoder_blockD_padded" and "tok2vec_out". The static vectors'
 * projection is fp32 in every precision. In bf16 and int8 the first block sums each window's
 * partials (pk->part), from the attached table when the cache has one of
 * t2v_partial_row_floats: the same bits whether they were cached or computed, so with or
 * without a cache. */
void t2v_fast_forward(const t2v_net *net, const t2v_packed *pk, kn_precision prec, embed_cache *cache,
                      const uint64_t *attrs, const t2v_text *texts, size_t n, float *out, float *scratch,
                      t2v_cache_use *use, t2v_trace_fn trace, void *trace_ctx);

/* Block 0's output rows in the fast modes, from partials: row i's pre-activation is the sum of
 * its ng >= 2 partial rows src[i * ng + g] (nO x nP floats each, piece-major), added left to
 * right, and y_i = res_i + LayerNorm(maxout(that + b)) (res may be y or NULL; strides ldy). The
 * same bits as writing each sum into pre and running the maxout pass over it, which the
 * portable path does; the vector paths add the partials in the pass and write only each row's
 * maxima (nO floats) to pre + i * ldp (scratch). */
void t2v_maxout_ln_sums(const float *const *src, int ng, size_t nrows, const float *b, int nO, int nP, const float *G,
                        const float *Gb, float *y, const float *res, size_t ldy, float *pre, size_t ldp);
/* The later blocks' pass (and the mixing layer's): y_i = res_i + LayerNorm(maxout(pre_i + b))
 * over nrows rows of pre (stride ldp, piece-major; scratch: overwritten), res may be y or NULL
 * (strides ldy). Every level gives the portable loop's bits. */
void t2v_maxout_ln_rows(float *pre, size_t ldp, const float *b, int nO, int nP, const float *G, const float *Gb,
                        float *y, const float *res, size_t ldy, size_t nrows);

/* As parser_net_precompute (= project, then table) and parser_net_feature_slot, over the
 * packed weights, each product in precision prec (fp32, or the fast modes' bf16 or int8: each
 * product's input rounded to bf16, or quantized per row, in lowp, lowp_cap floats; a row's
 * results never depend on the other rows). A product runs in fp32 when lowp has not
 * parser_fast_lowp_floats(p, rows) floats or the weights lack that copy (bf16 needs an even K).
 * The table's rows are piece-major within each feature slot (only these functions read them). */
size_t parser_fast_lowp_floats(const parser_net *p, size_t n);

/* The bf16 products a fast mode takes (its first block's partials, its tables): in int8 the
 * documented order (KN_BF16_IN_ORDER, never AMX's tiles), so that int8's answers are the same on
 * every CPU. */
static inline kn_precision fast_bf16_precision(kn_precision mode)
{
    return mode == KN_INT8 ? KN_BF16_IN_ORDER : KN_BF16;
}

/* The precision of the parsers' tables (and of the ner's projection) in a mode: bf16 in both
 * fast modes. An int8 table agreed less with spaCy (measured over the 2,672 golden documents on
 * the stand-in: the ner's int8 table 2664 documents with --pipeline ner instead of 2667, the
 * full parser's 2658 instead of 2659, whatever was kept fp32 around it), a bf16 one as well or
 * better (the real model, int8: 2667 and 2663 instead of 2664 and 2660), and bf16's bits are the
 * same on every path too. The full parser's projection stays fp32: in bf16 it cost 2 documents
 * more on the stand-in for 1/11 of the table's multiply-adds. */
static inline kn_precision parser_table_precision(kn_precision mode)
{
    return mode == KN_FP32 ? KN_FP32 : fast_bf16_precision(mode);
}
/* The dependency parser's table: int8 in int8 (each row quantized alone, so a row computed
 * alone keeps its bits): 2659 and 2661 documents identical with --pipeline full (stand-in, real)
 * against 2660 and 2665 with a bf16 table (the floor is 2659; --pipeline ner does not
 * run it), for 0.975 of an int8 full Paris document's time on AVX-512 (its product needs the
 * table on cache lines: grow_array_aligned) and 0.84 on AVX-VNNI, where bf16 is emulated
 * (docs/design.md, "int8 tables"). bf16 in bf16, as the ner's: there it takes
 * the tok2vec's partials in fp32 (partials_precision): with bf16 partials a bf16 table moved
 * sentence starts in 2 documents more on the stand-in (2664 instead of the fp32 table's 2666;
 * the real model 2668 either way). */
static inline kn_precision dep_table_precision(kn_precision mode)
{
    return mode == KN_INT8 ? KN_INT8 : parser_table_precision(mode);
}

/* The precision of a fast mode's first-block partials (computed once per word and cached in
 * the attached table): bf16 products, except in bf16 mode for a tok2vec a dependency parser
 * reads, whose partials are fp32 so that the parser's table can be bf16. Measured over the
 * 2,672 golden documents with --pipeline full (stand-in / real): bf16 partials and the fp32
 * table 2666 / 2668, with the bf16 table 2664 / 2668; fp32 partials and the bf16 table 2666 /
 * 2668 (with the fp32 table 2667 / 2668). A cached word costs the same; a word the attached
 * table lacks costs fp32's product instead of bf16's (docs/design.md, "The parsers' tables in
 * the fast modes"). int8 keeps bf16 partials: fp32 ones gave it nothing on the stand-in. */
static inline kn_precision partials_precision(const t2v_packed *pk, kn_precision mode)
{
    return mode == KN_BF16 && pk->feeds_dep_parser ? KN_FP32 : fast_bf16_precision(mode);
}
void parser_fast_precompute(const parser_net *p, const parser_packed *pk, kn_precision prec, const float *tokvecs,
                            size_t n, float *proj, float *table, float *lowp, size_t lowp_cap);
void parser_fast_project(const parser_net *p, const parser_packed *pk, kn_precision prec, const float *tokvecs,
                         size_t n, float *proj, float *lowp, size_t lowp_cap);
void parser_fast_table(const parser_net *p, const parser_packed *pk, kn_precision prec, const float *proj, size_t n,
                       float *table, float *lowp, size_t lowp_cap);
void parser_fast_feature_slot(const parser_net *p, const parser_packed *pk, kn_precision prec, const float *proj_row,
                              int f, float *row, float *lowp, size_t lowp_cap);
/* As parser_net_step_rows, in precision prec's order: fp32 (exact) scores each class with
 * kn_gemm_f32's one chain; bf16 with kn_row_f32_chains and int8 with kn_row_bf16_chains (its
 * bf16 pairs, where the upper weights have their bf16 copy), the same bits on every level but
 * not the exact path's, and when valid is not NULL (choose.h's bitset of the
 * classes the choice reads) only the 16-class panels holding a valid class (the others' scores
 * 0). scores has room for parser_fast_scores_floats(p) (nclasses rounded up to whole vectors;
 * the fast modes write them whole). Returns the choice over valid (choose_best_padded's, valid
 * NULL: every class) where the fast modes' product makes it in registers
 * (kn_row_f32_chains_choose, kn_row_bf16_chains_choose), else KN_NOT_CHOSEN: the caller chooses
 * from scores. */
size_t parser_fast_scores_floats(const parser_net *p);
/* Whether mode's step writes its scores whole (the fast modes): the choice then reads them with
 * choose_best_padded. */
static inline int parser_fast_scores_padded(kn_precision mode) { return mode != KN_FP32; }
int parser_fast_step_rows(const parser_net *p, const parser_packed *pk, kn_precision prec, const float *const *rows,
                          const uint64_t *valid, float *hidden, float *scores);


#endif
