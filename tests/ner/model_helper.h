/* model_helper.h - what the ner tests share beyond test.h: a tok2vec's output for a document. */
#ifndef NERD_TESTS_MODEL_HELPER_H
#define NERD_TESTS_MODEL_HELPER_H

#include "pipeline/engine.h"

/* The production tok2vec's output (n x width floats, malloc'd) for n tokens' attribute rows,
 * computed with cache c or none; use (may be NULL) gets the cache's hits and misses. */
float *test_t2v_out(const t2v_net *net, const t2v_packed *pk, kn_precision prec, embed_cache *c, const uint64_t *attrs,
                    size_t n, t2v_cache_use *use);

/* A doc's entities, then each token's head, label and sentence start (when parsed), as one
 * malloc'd string to compare runs by. */
char *test_annotations(const nerd_doc *d);

/* Switches nerd's kernels to instruction-set level isa and returns 1, or, when this CPU cannot
 * run it, prints "  SKIP <level>: <missing feature>" and returns 0 (never a silent pass). */
int test_use_isa(kn_isa isa);

/* In the folder dir's config.cfg, replaces the first `from` after `anchor` by `to` (a test
 * failure when there is none): how the tests make a model folder of another architecture. */
void test_edit_config(const char *dir, const char *anchor, const char *from, const char *to);

/* Runs a shell command, its output (what it sends to stdout; 2>&1 for both) into out; returns its
 * exit status, or -1 when it did not exit. */
int test_run_output(const char *cmd, char *out, size_t outlen);

#endif
