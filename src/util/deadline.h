/* deadline.h - the point in time (CLOCK_MONOTONIC seconds, 0 for none) after which a call of
 * nerd_ner_until stops. The long loops (the tokenizer's over whitespace-separated substrings,
 * the networks' over chunks of tokens, the transition loops) look at the clock once per block
 * of work, so the check costs nothing measurable and a stopped call frees its thread within
 * one block. */
#ifndef NERD_DEADLINE_H
#define NERD_DEADLINE_H

#include <time.h>

/* Work between two looks at the clock: a clock_gettime is about 20 ns, a block is hundreds of
 * microseconds at most. */
enum {
    DEADLINE_EVERY_SPANS = 256,       /* tokenizer: whitespace-separated substrings */
    DEADLINE_EVERY_CHARS = 65536,     /* Chinese's per-character tokenizer: characters */
    DEADLINE_EVERY_TRANSITIONS = 1024 /* the parser's transitions (a power of two: a mask) */
};

static inline double deadline_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline int deadline_passed(double deadline) { return deadline > 0 && deadline_clock() >= deadline; }

#endif
