/* biluo.h - spaCy's BILUO transition system for the `ner` component: the classes in the
 * model's order (read from ner/moves), their validity in a state, and greedy decoding. */
#ifndef NERD_BILUO_H
#define NERD_BILUO_H

#include <stddef.h>
#include <stdint.h>

#include "nerd.h"

#include "nn/parser_net.h"

typedef enum { BILUO_B = 1, BILUO_I = 2, BILUO_L = 3, BILUO_U = 4, BILUO_O = 5 } biluo_kind; /* spaCy's ids */

typedef struct {
    uint8_t kind;     /* biluo_kind */
    int16_t label;    /* index into labels, -1 for the empty label (the hidden "U-" class, and O) */
} biluo_class;

typedef struct {
    int nlabels;
    char **labels;        /* entity labels in the order of their B- classes */
    int nclasses;
    biluo_class *classes; /* in the output layer's order */
    /* the classes as bitsets (choose.h), built once by biluo_moves_index: per kind its classes
     * ((BILUO_O + 1) x CHOOSE_WORDS(nclasses) words; of B and U only those with a label), and
     * per label l the I and L classes of that label, il_class[il_start[l - label_lo] ..
     * il_start[l - label_lo + 1]) for label_lo <= l <= label_hi */
    uint64_t *kind_mask;
    int label_lo, label_hi, *il_start, *il_class;
} biluo_moves;

/* Reads ner/moves (msgpack {"moves": JSON {action id: {label: freq}}}). NERD_OK, or the cause
 * (modelfile/modelfile.h) with a message naming the file. */
nerd_status biluo_load(biluo_moves *mv, const char *path, char *err, size_t errlen);
void biluo_free(biluo_moves *mv);
/* Builds the bitsets from classes and nclasses (biluo_load calls it; a caller that fills the
 * table itself calls it after). NERD_OK, NERD_ERR_NOMEM, or NERD_ERR_FORMAT for more than
 * CHOOSE_MAX_CLASSES classes. */
nerd_status biluo_moves_index(biluo_moves *mv);
/* "B-ORG", "U-", "O" ... into buf. */
const char *biluo_class_name(const biluo_moves *mv, int c, char *buf, size_t len);

typedef struct { uint32_t start, end; int label; } biluo_ent;   /* token span [start, end) */

/* Observer of each step (layer tests): features, hidden, scores, validity, chosen class. */
typedef void (*biluo_trace_fn)(void *ctx, size_t step, const int *feats, const float *hidden, const float *scores,
                               const uint8_t *valid, int chosen);

/* The decoder's state, for callers that stream steps (engine.c decodes in chunks). */
typedef struct {
    size_t i;          /* B(0): the token being labelled */
    long open_start;   /* first token of the open entity, or -1 */
    int open_label;
    size_t nents;
} biluo_state;

/* The state's features for the ner's 3 slots (token indices or -1). */
void biluo_features(const biluo_state *st, int feats[3]);
/* The 6 slots of extra_state_tokens: B(0), then the open entity's tokens before B(0), at most
 * 5 (spaCy's set_context_tokens for 6 features). */
#define BILUO_EXTRA_FEATS 6
void biluo_features_extra(const biluo_state *st, int feats[BILUO_EXTRA_FEATS]);
/* Entities set before the ner (an entity_ruler's), per token as spaCy's TokenC holds them: the
 * ner keeps them (ner.pyx's is_valid checks ent_iob and ent_type of B(0) and B(1)). */
enum { BILUO_PRESET_NONE = -1, BILUO_PRESET_UNKNOWN = -2 };
typedef struct {
    uint8_t iob;      /* 0 missing, 1 I, 2 O, 3 B */
    int16_t label;    /* index into labels; NONE without a type, UNKNOWN for a label the ner lacks */
} biluo_preset;

/* A preset label the ner lacks: spaCy adds its B/I/L/U classes to the ner before it runs
 * (_ensure_labels_are_added: zero weights, and as unseen classes they score the lowest score of
 * the batch), so they are chosen exactly where a preset forces them. biluo_choose answers
 * BILUO_PRESET_MOVE(kind) for such a move; its entities have the label BILUO_PRESET_UNKNOWN. */
#define BILUO_PRESET_MOVE(kind) (-16 - (int)(kind))

/* The first highest-scoring valid class (choose.h says exactly which, NaN included), a
 * BILUO_PRESET_MOVE, or -1 when no move is valid (spaCy then forces the state to its end).
 * preset: n entries, or NULL. valid (nclasses bytes, or NULL when not wanted) gets 1 for each
 * valid class of the table, 0 for the rest. */
int biluo_choose(const biluo_moves *mv, const biluo_state *st, size_t n, const uint8_t *is_space,
                 const uint8_t *sent_start, const biluo_preset *preset, const float *scores, uint8_t *valid);
/* biluo_choose's two halves, for a caller that scores only the valid classes: the bitset of the
 * classes valid in the state (choose.h's, CHOOSE_WORDS(nclasses) words), then the choice from it
 * (the scores of the other classes are not read; padded: scores as choose_best_padded takes them). */
void biluo_valid_mask(const biluo_moves *mv, const biluo_state *st, size_t n, const uint8_t *is_space,
                      const uint8_t *sent_start, const biluo_preset *preset, uint64_t *mask);
int biluo_choose_valid(const biluo_moves *mv, const biluo_state *st, size_t n, const uint8_t *is_space,
                       const uint8_t *sent_start, const biluo_preset *preset, const float *scores, const uint64_t *mask,
                       int padded);
/* Applies class c, appending a finished entity to ents; advances st->i. c = -1 ends the
 * decoding as spaCy's force_final does (st->i = SIZE_MAX; an open entity is dropped). */
void biluo_apply(const biluo_moves *mv, biluo_state *st, int c, biluo_ent *ents);

/* Greedy decoding over n tokens with the precomputed table. is_space[i] marks whitespace
 * tokens (no entity starts there); sent_start may be NULL (ner alone: no sentence starts) or
 * mark tokens that start a sentence (no entity crosses into one). hidden, scores, valid are
 * scratch (nO, nclasses, nclasses). Returns the number of entities written to ents (at most
 * n). */
size_t biluo_decode(const biluo_moves *mv, const parser_net *net, const float *table, size_t n,
                    const uint8_t *is_space, const uint8_t *sent_start, float *hidden, float *scores, uint8_t *valid,
                    biluo_ent *ents, biluo_trace_fn trace, void *trace_ctx);

#endif
