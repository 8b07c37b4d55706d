/* choose.h - the last part of a transition step, shared by the arc-eager and BILUO systems:
 * from a bitset of the classes valid in the state and the scores, the class to apply.
 *
 * The decision is the one of the plain loop spaCy's greedy decoding amounts to:
 *     best = -1; for c valid, in order: if (best < 0 || scores[c] > scores[best]) best = c;
 * that is: -1 when no class is valid; the first valid class when its score is NaN (nothing
 * compares greater than a NaN); else the first valid class whose score equals the largest score
 * of the valid classes that are not NaN (a later NaN is never greater; ties, -0.0 against 0.0
 * and a valid -inf against -inf included, go to the first). choose_best computes it as: the
 * first valid class, then the maximum over the valid non-NaN scores, then the first valid class
 * equal to it; with AVX-512 or AVX2 16 or 8 classes at a time, on the instruction-set level in
 * use (nn/kernels.h), every level giving the same answer. */
#ifndef NERD_CHOOSE_H
#define NERD_CHOOSE_H

#include <stddef.h>
#include <stdint.h>

/* The bitsets of a step live on the stack: the moves loaders refuse more classes than this. */
#define CHOOSE_MAX_CLASSES 16384
#define CHOOSE_WORDS(nclasses) (((size_t)(nclasses) + 63) / 64)
#define CHOOSE_MAX_WORDS CHOOSE_WORDS(CHOOSE_MAX_CLASSES)

static inline void choose_mask_set(uint64_t *mask, int c) { mask[c >> 6] |= (uint64_t)1 << (c & 63); }
static inline int choose_mask_has(const uint64_t *mask, int c) { return (int)(mask[c >> 6] >> (c & 63) & 1); }

/* valid_mask: CHOOSE_WORDS(nclasses) words, bit c for class c, no bit set at or beyond nclasses. */
int choose_best(const float *scores, const uint64_t *valid_mask, int nclasses);
/* The same answer for scores readable up to nclasses rounded up to 16 floats and written by
 * whole-vector stores (the fast modes' kn_row_f32_chains): the last block is read whole, not
 * class by class (whatever the padding holds: its classes are never valid). */
int choose_best_padded(const float *scores, const uint64_t *valid_mask, int nclasses);
/* The bitset as one byte (0 or 1) per class, for callers that look at validity class by class. */
void choose_mask_bytes(const uint64_t *mask, int nclasses, uint8_t *valid);

#endif
