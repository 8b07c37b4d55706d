/* arc_eager.h - spaCy's arc-eager transition system for the `parser` component (state_type
 * "parser"): the classes in the model's order (read from parser/moves), the 8 state features,
 * validity, the transitions, and what the parser leaves on a doc: heads and labels, sentence
 * starts from the heads (Doc's set_children_from_heads), and the pseudo-projective labels
 * ("obj||xcomp") undone (nonproj.deprojectivize). Everything runs on caller-owned arrays, so
 * a doc's workspace holds it and decoding allocates nothing. */
#ifndef NERD_ARC_EAGER_H
#define NERD_ARC_EAGER_H

#include <stddef.h>
#include <stdint.h>

#include "nerd.h"

enum { AE_SHIFT = 0, AE_REDUCE, AE_LEFT, AE_RIGHT, AE_BREAK, AE_NMOVES }; /* spaCy's move ids */

typedef struct {
    uint8_t move;
    int16_t label; /* index into labels; -1 for the empty label */
} ae_class;

typedef struct {
    int nlabels;
    char **labels;        /* every label string: as in the moves file, plus the parts of "a||b" */
    int16_t *base, *head; /* per label: "a" and "b" of a decorated "a||b", -1 when not decorated */
    int nclasses;
    ae_class *classes;    /* in the output layer's order */
    int root_label;       /* "ROOT", given to every token the parser leaves without a head */
    int subtok_label;     /* "subtok" (own validity), or -1 */
    /* the classes as bitsets (choose.h), built once by ae_moves_index: per move its classes
     * (AE_NMOVES x CHOOSE_WORDS(nclasses) words), and the subtok arcs (Left and Right) */
    uint64_t *move_mask, *subtok_mask;
} ae_moves;

/* Reads parser/moves. NERD_OK, or the cause (modelfile/modelfile.h) with a message naming the file. */
nerd_status ae_load(ae_moves *mv, const char *path, char *err, size_t errlen);
void ae_free(ae_moves *mv);
/* Builds the bitsets from classes, nclasses and subtok_label (ae_load calls it; a caller that
 * fills the table itself calls it after). NERD_OK, NERD_ERR_NOMEM, or NERD_ERR_FORMAT for more
 * than CHOOSE_MAX_CLASSES classes. */
nerd_status ae_moves_index(ae_moves *mv);
/* The index of a label, added to the table when new; -2 out of memory. */
int ae_label(ae_moves *mv, const char *s, size_t n);
/* "S", "L-nsubj", "B-ROOT" ... into buf. */
const char *ae_class_name(const ae_moves *mv, int c, char *buf, size_t len);

/* The parser's state features: 8, or 13 with extra_state_tokens (StateC.set_context_tokens). */
#define AE_NFEATS 8
#define AE_NFEATS_EXTRA 13

/* The parser's state (StateC) over n tokens. Arrays are the caller's: ae_state_ints(n) ints
 * and ae_state_bytes(n) bytes. A head's children are a stack threaded through `prev_sib`
 * (newest first), which is all the features and arc deletion need. */
typedef struct {
    int n;
    int *stack, depth;
    int *rebuf, nrebuf;   /* tokens put back on the buffer by Reduce (unshift), last = B(0) */
    int b_i;              /* next token of the buffer proper */
    int *heads;           /* -1: no head yet */
    int16_t *labels;      /* the label of the arc to each token */
    int *ltop, *rtop;     /* per head: newest left / right child, -1 */
    int *prev_sib;        /* per child: the child added to the same head's list before it */
    uint8_t *unshiftable;
    uint8_t *sent_start;  /* the doc's sentence starts (token 0) and those Break set */
    size_t steps;
} ae_state;

size_t ae_state_ints(size_t n);   /* int slots (labels are stored in int slots too) */
size_t ae_state_bytes(size_t n);
void ae_state_init(ae_state *st, size_t n, int *ints, uint8_t *bytes);
int ae_is_final(const ae_state *st);
int ae_B(const ae_state *st, int i);
int ae_S(const ae_state *st, int i);
/* nfeats = AE_NFEATS: B0, B1, S0, S1, S2, L(B0,1), L(S0,1), R(S0,1); nfeats = AE_NFEATS_EXTRA:
 * B0, B1, S0, S1, S2, L(S0,1), R(S0,1), L(B0,1), R(S0,2), L(S1,1), L(S1,2), R(S1,1), R(S1,2).
 * L(h,k)/R(h,k) is h's k-th newest left/right child. -1 selects the pad row. */
void ae_features(const ae_state *st, int nfeats, int *feats);
/* The first highest-scoring valid class, or -1 (choose.h says exactly which, NaN included).
 * valid (nclasses bytes, or NULL when not wanted) gets 1 for each valid class, 0 for the rest. */
int ae_choose(const ae_moves *mv, const ae_state *st, const float *scores, uint8_t *valid);
/* Applies class c; c < 0 ends the parse (spaCy's force_final). */
void ae_apply(const ae_moves *mv, ae_state *st, int c);

/* What the parser writes on the doc: head (a root points to itself) and dep label of every
 * token, deprojectivized, and the sentence starts that follow from the heads. is_space marks
 * whitespace tokens (never chosen as a new head). scratch: ae_annotate_ints(n) ints. */
size_t ae_annotate_ints(size_t n);
void ae_annotate(const ae_moves *mv, const ae_state *st, const uint8_t *is_space, int32_t *head, int16_t *dep,
                 uint8_t *sent_start, int *scratch);

#endif
