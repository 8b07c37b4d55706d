/* doc_json.h - a doc as spaCy's doc.to_json() writes it (CLI and HTTP alike). */
#ifndef NERD_DOC_JSON_H
#define NERD_DOC_JSON_H

#include "nerd.h"
#include "util/buf.h"

/* {"text", "ents", "sents", "tokens": [{"id","start","end", "tag","pos","morph","lemma","dep","head"}]}
 * with the fields doc.to_json() writes for what the doc holds (nerd_doc_annotations), in its
 * order, character offsets in code points; with noun_chunks also what to_json() adds after
 * `doc.spans["noun_chunks"] = list(doc.noun_chunks)`: "spans": {"noun_chunks": [{"start","end",
 * "label": "NP","kb_id": ""}]}. text is the doc's input, len its bytes. 0, or -1 when memory ran out. */
/* The pipeline that computes what doc_json_write writes: the whole Doc. */
#define DOC_JSON_PIPELINE NERD_PIPELINE_FULL

int doc_json_write(const nerd_doc *d, const char *text, size_t len, int noun_chunks, buf *out);

#endif
