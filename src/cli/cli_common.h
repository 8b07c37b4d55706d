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

/* Parses "ner" / "full". 0, or -1 with a message on stderr. */
int cli_pipeline(const char *s, nerd_pipeline *p);

#endif
