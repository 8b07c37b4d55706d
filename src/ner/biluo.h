/* biluo.h - spaCy's BILUO transition system for the `ner` component: the classes in the
 * model's order (read from ner/moves), their validity in a state, and greedy decoding. */
#ifndef NERD_BILUO_H
#define NERD_BILUO_H

#include <stddef.h>
#include <stdint.h>

#include "ner/parser_net.h"

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
} biluo_moves;

/* Reads ner/moves (msgpack {"moves": JSON {action id: {label: freq}}}). -1 with a message. */
int biluo_load(biluo_moves *mv, const char *path, char *err, size_t errlen);
void biluo_free(biluo_moves *mv);
/* "B-ORG", "U-", "O" ... into buf. */
const char *biluo_class_name(const biluo_moves *mv, int c, char *buf, size_t len);

typedef struct { uint32_t start, end; int label; } biluo_ent;   /* token span [start, end) */

/* Observer of each step (layer tests): features, hidden, scores, validity, chosen class. */
typedef void (*biluo_trace_fn)(void *ctx, size_t step, const int *feats, const float *hidden, const float *scores,
                               const uint8_t *valid, int chosen);

/* Greedy decoding over n tokens with the precomputed table. is_space[i] marks whitespace
 * tokens (no entity starts there); sent_start may be NULL (ner alone: no sentence starts) or
 * mark tokens that start a sentence (no entity crosses into one). hidden, scores, valid are
 * scratch (nO, nclasses, nclasses). Returns the number of entities written to ents (at most
 * n). */
size_t biluo_decode(const biluo_moves *mv, const parser_net *net, const float *table, size_t n,
                    const uint8_t *is_space, const uint8_t *sent_start, float *hidden, float *scores, uint8_t *valid,
                    biluo_ent *ents, biluo_trace_fn trace, void *trace_ctx);

#endif
