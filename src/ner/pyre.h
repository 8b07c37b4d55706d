/* pyre.h - spaCy's tokenizer patterns are Python `re` syntax; this translates them to PCRE2
 * at load time (\uXXXX and \UXXXXXXXX escapes, \Z, the (?u) flag, '[' inside classes) and
 * compiles them with Unicode semantics, so Python's matching is reproduced on UTF-8. */
#ifndef NERD_PYRE_H
#define NERD_PYRE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>

#include "util/buf.h"

/* Appends the PCRE2 form of the Python pattern py[0..len) to out. -1 on a construct that
 * cannot be translated (message in err). */
int pyre_translate(const char *py, size_t len, buf *out, char *err, size_t errlen);

/* Translates and compiles (UTF, UCP, JIT when available). NULL with a message in err. */
pcre2_code *pyre_compile(const char *py, size_t len, char *err, size_t errlen);

#endif
