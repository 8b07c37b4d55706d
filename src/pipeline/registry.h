/* registry.h - spaCy's factories as nerd knows them: one row per factory, what it can change
 * and, for those nerd computes, the component's load function (src/components/FACTORY.c).
 * A pipeline is planned from config.cfg's [nlp] pipeline (less its disabled components): every
 * enabled component must have a row, and one that could change the entities (their inputs,
 * sentence starts or the parse) must be computed, else the folder is refused naming the
 * component, its factory and config.cfg's section. */
#ifndef NERD_REGISTRY_H
#define NERD_REGISTRY_H

#include <stddef.h>

#include "nerd.h"
#include "modelfile/spacy_config.h"

#define PIPE_NAME 32
#define MAX_ENTITY_RULERS 8
#define PIPE_ATTRS 16   /* room for every matcher_str_attr */

typedef struct {
    char ner[PIPE_NAME], parser[PIPE_NAME], ruler[PIPE_NAME]; /* "" when absent */
    /* the doc pipeline's: the tagger, the attribute_ruler wherever it is, the lemmatizer */
    char tagger[PIPE_NAME], doc_ruler[PIPE_NAME], lemmatizer[PIPE_NAME];
    int parser_before_ner;
    /* the entity_rulers, in pipeline order, and where each runs */
    char entity_rulers[MAX_ENTITY_RULERS][PIPE_NAME];
    int entity_ruler_before_ner[MAX_ENTITY_RULERS], entity_ruler_after_parser[MAX_ENTITY_RULERS];
    int n_entity_rulers;
    /* what the components before each entity_ruler set of TAG, POS, MORPH, LEMMA, DEP (bits
     * 1u << matcher_str_attr), and per attribute the first component after it that can set it
     * ("" none) */
    unsigned entity_ruler_sees[MAX_ENTITY_RULERS];
    char entity_ruler_then[MAX_ENTITY_RULERS][PIPE_ATTRS][PIPE_NAME];
    /* the softmax heads nerd computes: an enabled senter in a pipeline without a parser, the
     * morphologizer, the trainable_lemmatizer ("" when absent) */
    char senter[PIPE_NAME], morphologizer[PIPE_NAME], trainable_lemmatizer[PIPE_NAME];
    int senter_before_ner;
    char full_error[400];  /* why the full pipeline cannot run ("" when it can) */
    char doc_error[400];   /* why the doc pipeline cannot: a component it does not compute */
} pipeline_plan;

struct nerd_model;
typedef nerd_status (*component_load_fn)(struct nerd_model *m, const spacy_config *c, const char *dir,
                                         const char *name, const pipeline_plan *plan, char *err, size_t errlen);

/* Plans the pipeline of config.cfg (path names it in messages). NERD_OK, or the status with err. */
nerd_status registry_plan(const spacy_config *c, const char *dir, pipeline_plan *plan, const char *path, char *err,
                          size_t errlen);
/* The load function of a factory nerd computes, or NULL. */
component_load_fn registry_load_fn(const char *factory);

/* The enabled tok2vec component a Tok2VecListener with this upstream ("*" or a name) listens
 * to, among the components before `before`: its name into out. 0, or -1. */
int registry_listened(const spacy_config *c, const char *upstream, const char *before, char *out, size_t outlen);

#endif
