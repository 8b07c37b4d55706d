/* fuzz_ner.c - libFuzzer target for the tokenizer + ner on arbitrary bytes, with the real
 * model (loaded once): invalid UTF-8 is refused with NERD_ERR_UTF8, anything else is
 * tokenized and tagged, and the answer's invariants hold: tokens and their spaces tile the text,
 * entities are ordered non-overlapping token spans, and both JSON answers can be written. */
#include "nerd.h"
#include "util/ents_json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSERT(c) do { if (!(c)) { fprintf(stderr, "ASSERT(%s) at line %d\n", #c, __LINE__); __builtin_trap(); } } while (0)

static nerd_model *model;
static nerd_doc *doc;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    const char *dir = getenv("NERD_MODEL");
    if (!dir || !*dir) dir = "../shared/models/en_core_web_sm";
    char err[512];
    model = nerd_model_load(dir, NULL, err, sizeof err);
    if (!model) { fprintf(stderr, "fuzz_ner: %s\n", err); exit(1); }
    doc = nerd_doc_new();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    nerd_status st = nerd_ner(model, doc, text, size, NERD_PIPELINE_NER);
    if (st == NERD_ERR_UTF8) return 0;
    ASSERT(st == NERD_OK);
    size_t nt = nerd_doc_ntokens(doc), at = 0;
    for (size_t i = 0; i < nt; i++) {
        nerd_token t;
        ASSERT(nerd_doc_token(doc, i, &t) == 0);
        /* the tokens and their trailing spaces tile the text exactly, as spaCy's doc.text */
        ASSERT(t.byte_start == at && t.byte_start + t.text.len <= size && t.text.len > 0);
        ASSERT(!memcmp(t.text.ptr, text + t.byte_start, t.text.len));
        at = t.byte_start + t.text.len + (t.ws ? 1 : 0);
        ASSERT(at <= size);
    }
    ASSERT(at == size);
    nerd_token past;
    ASSERT(nerd_doc_token(doc, nt, &past) == -1);
    size_t ne = nerd_doc_nents(doc), end = 0;
    for (size_t i = 0; i < ne; i++) {
        nerd_ent e;
        ASSERT(nerd_doc_ent(doc, i, &e) == 0);
        ASSERT(e.start >= end && e.start < e.end && e.end <= nt && e.start_byte < e.end_byte && e.end_byte <= size);
        ASSERT(e.label && *e.label);
        end = e.end;
    }
    buf b = {0};
    ASSERT(ents_write_dict(doc, text, &b) == 0);
    buf_clear(&b);
    ASSERT(ents_write_list(doc, text, &b) == 0);
    buf_free(&b);
    return 0;
}
