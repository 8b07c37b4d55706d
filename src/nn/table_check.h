/* table_check.h - a parser step scored from a bf16 table, and whether the fp32 table would
 * have chosen the same class (bf16 mode's dependency parser; docs/design.md, "The parsers'
 * tables in the fast modes").
 *
 * A table element is T = sum_k x_k W_k over a token's projected row x (fp32) and a column W of
 * the lower layer. In bf16 both are rounded (x^, W^: round to nearest even; the products of two
 * bf16 are exact in fp32) and summed in fp32 in some order, so with d = x^ - x (known per token),
 * D = W^ - W (known at load), u = 2^-24 and gamma_K = K u / (1 - K u), by Cauchy-Schwarz:
 *     |T^ - T| <= ||d||_2 ||W^||_2 + ||x||_2 ||D||_2 + gamma_K (sum |x^ W^| + sum |x W|)
 *              <= e(t) A[col] + n(t) C[col]
 * with e = ||d||_2 and n = ||x||_2 per token and A, C per column (the rounding terms folded in;
 * bf16's flushed subnormal products into an absolute slack). The step sums the nF rows and the
 * bias in fp32 (the same order both ways, each sum within gamma_{nF+1} of its exact value, also
 * folded into A and C), takes the maxout (1-Lipschitz in the max norm) and the upper layer (each
 * score within sum_o |U_co| times its units' bounds, plus its own rounding), so each class's
 * score is within D_c of the one the fp32 table gives. When the best valid class beats every
 * other valid class c by more than (D_best + D_c), the fp32 table chooses it too (ties
 * included: their margin is 0); otherwise the caller recomputes rows in fp32 and rescores.
 *
 * That bound holds for every input, but it is loose: over the 2,672 golden documents the
 * largest change of a margin was 1/22 of it, and the rigorous check recomputed a tenth of the
 * rows, which cost more than the bf16 table saves. bf16 mode divides the bound by
 * TABLE_CHECK_TRUST (measured, not proven: docs/design.md); trust 1 is the rigorous check.
 *
 * The check runs in two levels: a coarse one (per feature the largest column bound, one bound
 * for every other class: O(nF) and a masked maximum over the scores) and, when that fails, one
 * per hidden unit and class. */
#ifndef NERD_TABLE_CHECK_H
#define NERD_TABLE_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "nn/parser_net.h"

/* The factor bf16 mode divides the rigorous bound by: the largest change of a margin measured
 * over the golden documents' 153,140 parser steps was 1/22 of the bound (the stand-in model). */
#define TABLE_CHECK_TRUST 8.0f

typedef struct {
    int nF, nO, nP, nclasses;
    float trust;             /* the bound is divided by it (1: the rigorous check) */
    float *col_a, *col_c;    /* nF x nO*nP, piece-major per slot as the table: A and C above */
    float *max_a, *max_c;    /* nF: the largest A and C of each feature slot */
    float *fixed;            /* nO*nP: the sums' rounding of the bias and pad terms, and the slack */
    float max_fixed;
    float *upper_abs;        /* nclasses x nO: |U| (NULL when the net has no upper layer) */
    float *upper_l1;         /* nclasses: ||U_c||_1 */
    float *upper_b_abs;      /* nclasses: |b_c| */
    float max_upper_l1, max_upper_b_abs;
    float upper_gamma;       /* gamma_{nO+1} */
} table_check;

/* What a token contributes to the bound: e = ||x^ - x||_2, n = ||x||_2. */
typedef struct { float e, n; } table_check_token;

/* Counters of the checks that ran (for the tests and the measurements). */
typedef struct { uint64_t steps, coarse_settled, unit_settled, unsettled; } table_check_stats;

/* 0, or -1 when out of memory or the net's nI is odd (no bf16 table then). trust: as above. */
int table_check_init(table_check *tc, const parser_net *p, float trust);
void table_check_free(table_check *tc);

/* The e and n of n projected rows (nI floats each), the same bits on every level. */
void table_check_tokens(const parser_net *p, const float *proj, size_t n, table_check_token *out);

/* How surely the step's best valid class is the fp32 table's: at most the smallest ratio of its
 * margin over another valid class to the two scores' bounds (INFINITY when no other class is
 * valid; 0 on a NaN or an infinity). Above 1 the fp32 table's decision is best (the first
 * highest-scoring valid class); otherwise the step must be rescored with fewer bf16 rows.
 * toks[f] is feature f's token (NULL for a row that is exact: the pad row, or a slot recomputed
 * in fp32); hidden and scores the step's; valid choose.h's bitset. stats may be NULL. */
double table_check_ratio(const table_check *tc, const table_check_token *const *toks, const float *hidden,
                         const float *scores, const uint64_t *valid, int best, table_check_stats *stats);

/* Feature f's share of the coarse bound for token tok: the rows to recompute first. */
float table_check_weight(const table_check *tc, int f, const table_check_token *tok);

#endif
