/* ents_json.h - a doc's entities as the JSON answers nerd gives (CLI and HTTP alike). */
#ifndef NERD_ENTS_JSON_H
#define NERD_ENTS_JSON_H

#include "nerd.h"
#include "util/buf.h"

/* The seed server's answer {ent.text: ent.label_ for ent in doc.ents}: Python dict semantics
 * (a text keeps the position of its first entity and the label of its last), compact
 * separators and non-ASCII as is, byte for byte what FastAPI sends. text is the doc's input. */
int ents_write_dict(const nerd_doc *d, const char *text, buf *out);

/* [{"text","label","start_char","end_char","start","end"[,"ent_id"]}, ...], every entity in
 * order; "ent_id" only for an entity whose entity_ruler pattern had a non-empty "id". */
int ents_write_list(const nerd_doc *d, const char *text, buf *out);

#endif
