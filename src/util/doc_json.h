/* doc_json.h - a doc as spaCy's doc.to_json() gives it, the one writer the CLI (nerd ner
 * --format doc) and the server (POST /doc) share, over include/nerd.h's accessors only. */
#ifndef NERD_DOC_JSON_H
#define NERD_DOC_JSON_H

#include "nerd.h"
#include "util/buf.h"

/* Options: DOC_JSON_NOUN_CHUNKS adds "noun_chunks" (not part of to_json()): [{"start","end"}]
 * in characters, as "sents", in doc.noun_chunks' order, when the doc has a parse. */
enum { DOC_JSON_NOUN_CHUNKS = 1u << 0 };

/* {"text", "ents" [{"start","end","label"}], "sents" [{"start","end"}], "tokens" [{"id","start",
 * "end","tag","pos","morph","lemma","dep","head"}]}: each of ents, sents and the tokens' fields
 * exactly when spaCy's has_annotation says (nerd_doc_annotations), in to_json()'s key order,
 * offsets in characters, compact separators, non-ASCII as is (FastAPI's rendering). text is the
 * doc's input (len bytes). 0, or -1 when memory runs out. */
int doc_write_json(const nerd_doc *d, const char *text, size_t len, unsigned opts, buf *out);

#endif
