/* spacy_config.h - just enough of spaCy's config.cfg (Thinc's INI dialect) to read the
 * pipeline's architectures and dimensions: [dotted.sections], key = value lines, values as
 * JSON-like literals, ${section:key} references. */
#ifndef NERD_SPACY_CONFIG_H
#define NERD_SPACY_CONFIG_H

#include <stddef.h>

#include "nerd.h"

typedef struct spacy_config spacy_config;

/* Reads config.cfg into *out. NERD_OK, or the cause (modelfile/modelfile.h) with a message
 * naming the file (and the line of a malformed one); *out is then NULL. */
nerd_status cfg_load(const char *path, spacy_config **out, char *err, size_t errlen);
void cfg_free(spacy_config *c);

/* The raw value text of key in section (references resolved), or NULL. */
const char *cfg_raw(const spacy_config *c, const char *section, const char *key);
/* Typed reads: return 0, or -1 if absent or of another type. */
int cfg_int(const spacy_config *c, const char *section, const char *key, long *out);
int cfg_bool(const spacy_config *c, const char *section, const char *key, int *out);
/* A quoted string, unquoted into out. */
int cfg_str(const spacy_config *c, const char *section, const char *key, char *out, size_t outlen);
/* A list of quoted strings (["A","B"]) or of integers: up to max items into out (strings
 * are copied into fixed 32-byte slots). Returns the count or -1. */
int cfg_str_list(const spacy_config *c, const char *section, const char *key, char out[][32], int max);
int cfg_int_list(const spacy_config *c, const char *section, const char *key, long *out, int max);

#endif
