/* cli_common.h - what the subcommands share: loading the model the way every command
 * resolves it, reading whole inputs, resident memory for --verbose. */
#ifndef NERD_CLI_COMMON_H
#define NERD_CLI_COMMON_H

#include <stddef.h>

#include "nerd.h"
#include "util/buf.h"

/* Resolves --model / $NERD_MODEL / the default and loads it; prints the error and returns
 * NULL on failure. With verbose, prints the load time and resident memory to stderr. */
nerd_model *cli_load_model(const char *flag, int verbose);

/* Reads a whole file ("-" or NULL = stdin) into b. 0, or -1 with a message on stderr. */
int cli_read_input(const char *path, buf *b);

/* Resident set size of this process in KiB (from /proc/self/status), or -1. */
long cli_rss_kib(void);

/* Parses "fp32" / "bf16" / "int8". 0, or -1 with a message on stderr. */
int cli_precision(const char *s, nerd_precision *p);
/* Sets a loaded model's precision; with verbose, says which code path runs it. 0, or -1 with
 * a message on stderr. */
int cli_apply_precision(nerd_model *m, nerd_precision p, int verbose);

/* Parses "ner" / "full" / "doc". 0, or -1 with a message on stderr. */
int cli_pipeline(const char *s, nerd_pipeline *p);

/* The value of option `name` at argv[*i], given as "name value" (then *i moves to the value)
 * or "name=value"; NULL when argv[*i] is another argument. */
const char *cli_opt_value(int argc, char **argv, int *i, const char *name);

/* The options of every command that runs the model, with spacy.load's defaults. */
typedef struct {
    const char *model;
    nerd_pipeline pipeline;
    int pipeline_given; /* else the model's default: nerd_model_default_pipeline */
    nerd_precision precision;
} cli_model_opts;
#define CLI_MODEL_OPTS_DEFAULT {NULL, NERD_PIPELINE_FULL, 0, NERD_PRECISION_FP32}
/* Takes argv[*i] when it is --model, --pipeline or --precision: 1 taken, 0 another argument,
 * -1 a bad value (message on stderr). */
int cli_model_opt(int argc, char **argv, int *i, cli_model_opts *o);

#endif
