/* registry.c - the factories nerd knows and the plan of a folder's pipeline (registry.h). */
#include "pipeline/engine.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* What a factory can do to the entities, from spaCy's code (docs/design.md gives the reasoning
 * per factory): computed, inert for the entities, or allowed under a condition checked below. */
typedef enum {
    ROLE_COMPUTED,  /* nerd computes it: load is its load function */
    ROLE_TOK2VEC,   /* its output reaches only its listeners, loaded with them */
    ROLE_INERT,     /* sets only what neither the ner nor the parser reads */
    ROLE_ATTRIBUTE_RULER,
    ROLE_SENTER,
    ROLE_ENTITY_RULER, /* computed, any number of them, before or after the ner */
    ROLE_SPAN_RULER,   /* computed as an entity_ruler: doc.spans[spans_key], doc.ents with annotate_ents */
} factory_role;

/* in_doc: the doc pipeline (NERD_PIPELINE_DOC) computes what the factory sets; a folder with an
 * enabled component whose factory has 0 here cannot run it (nerd_model_pipeline_error names it). */
static const struct {
    const char *factory;
    factory_role role;
    component_load_fn load;
    int in_doc;
} factories[] = {
    {"ner", ROLE_COMPUTED, ner_component_load, 1},
    {"parser", ROLE_COMPUTED, parser_component_load, 1},
    {"tok2vec", ROLE_TOK2VEC, NULL, 1},
    {"tagger", ROLE_INERT, tagger_component_load, 1},  /* Token.tag */
    {"morphologizer", ROLE_INERT, morphologizer_component_load, 1},  /* Token.morph, Token.pos */
    {"lemmatizer", ROLE_INERT, NULL, 1},     /* Token.lemma (loaded by engine.c, doc_stage.c runs it) */
    {"trainable_lemmatizer", ROLE_INERT, trainable_lemmatizer_component_load, 1},
    {"attribute_ruler", ROLE_ATTRIBUTE_RULER, NULL, 1},
    {"senter", ROLE_SENTER, senter_component_load, 1},
    {"entity_ruler", ROLE_ENTITY_RULER, entity_ruler_component_load, 1},
    {"span_ruler", ROLE_SPAN_RULER, entity_ruler_component_load, 1},
};
#define NFACTORIES (sizeof factories / sizeof *factories)

/* attributes an attribute_ruler may set before the ner without changing the entities: none of
 * them is read by a tok2vec's embeddings or the transition systems */
static const char *const ruler_inert_attrs[] = {"TAG", "POS", "MORPH", "LEMMA", "DEP", NULL};

/* The doc attributes a factory sets, as spaCy's Matcher asks for them (its E155 names the same
 * components): an entity_ruler after it sees them; and those it can change (the attribute_ruler's
 * rules may set any): an entity_ruler before it that reads one would see other values. */
#define DOC_ATTRS (1u << MATCHER_TAG | 1u << MATCHER_POS | 1u << MATCHER_MORPH | 1u << MATCHER_LEMMA | 1u << MATCHER_DEP)
static const struct {
    const char *factory;
    unsigned sets, may_set;
} doc_attr_setters[] = {
    {"tagger", 1u << MATCHER_TAG, 1u << MATCHER_TAG},
    {"attribute_ruler", 1u << MATCHER_POS | 1u << MATCHER_MORPH, DOC_ATTRS},
    {"morphologizer", 1u << MATCHER_POS | 1u << MATCHER_MORPH, 1u << MATCHER_POS | 1u << MATCHER_MORPH},
    {"lemmatizer", 1u << MATCHER_LEMMA, 1u << MATCHER_LEMMA},
    {"trainable_lemmatizer", 1u << MATCHER_LEMMA, 1u << MATCHER_LEMMA},
    {"parser", 1u << MATCHER_DEP, 1u << MATCHER_DEP},
};

_Static_assert(MATCHER_NSTR <= PIPE_ATTRS, "registry.h's PIPE_ATTRS holds every matcher_str_attr");

static int doc_attr_setter(const char *factory)
{
    for (size_t i = 0; i < sizeof doc_attr_setters / sizeof *doc_attr_setters; i++)
        if (!strcmp(doc_attr_setters[i].factory, factory)) return (int)i;
    return -1;
}

static int find_factory(const char *f)
{
    for (size_t i = 0; i < NFACTORIES; i++)
        if (!strcmp(factories[i].factory, f)) return (int)i;
    return -1;
}

component_load_fn registry_load_fn(const char *factory)
{
    int k = find_factory(factory);
    return k < 0 ? NULL : factories[k].load;
}

/* The enabled components of [nlp] pipeline, in order. */
static int enabled_pipes(const spacy_config *c, char pipe[][32], int max)
{
    char off[32][32];
    int np = cfg_str_list(c, "nlp", "pipeline", pipe, max), noff = cfg_str_list(c, "nlp", "disabled", off, 32), n = 0;
    for (int i = 0; i < np; i++) {
        int disabled = 0;
        for (int k = 0; k < noff; k++) disabled |= !strcmp(pipe[i], off[k]);
        if (!disabled) memmove(pipe[n++], pipe[i], 32);
    }
    return n;
}

int registry_listened(const spacy_config *c, const char *upstream, const char *before, char *out, size_t outlen)
{
    char pipe[32][32], sec[64], f[64];
    int np = enabled_pipes(c, pipe, 32);
    for (int i = 0; i < np && strcmp(pipe[i], before); i++) {
        snprintf(sec, sizeof sec, "components.%.31s", pipe[i]);
        if (!cfg_str(c, sec, "factory", f, sizeof f) && !strcmp(f, "tok2vec") &&
            (!strcmp(upstream, "*") || !strcmp(upstream, pipe[i]))) {
            snprintf(out, outlen, "%s", pipe[i]);
            return 0;
        }
    }
    return -1;
}

nerd_status registry_plan(const spacy_config *c, const char *dir, pipeline_plan *plan, const char *path, char *err,
                          size_t errlen)
{
    char pipe[32][32], sec[64], f[64];
    memset(plan, 0, sizeof *plan);
    int np = enabled_pipes(c, pipe, 32), has_parser = 0;
    unsigned sees = 0; /* what the components so far set of the doc attributes */
    for (int i = 0; i < np; i++) {
        snprintf(sec, sizeof sec, "components.%.31s", pipe[i]);
        has_parser |= !cfg_str(c, sec, "factory", f, sizeof f) && !strcmp(f, "parser");
    }
    for (int i = 0; i < np; i++) {
        snprintf(sec, sizeof sec, "components.%.31s", pipe[i]);
        if (cfg_str(c, sec, "factory", f, sizeof f)) {
            snprintf(err, errlen, "%s [%s]: component %s has no factory (a sourced component nerd cannot read)", path,
                     sec, pipe[i]);
            return NERD_ERR_UNSUPPORTED;
        }
        int k = find_factory(f);
        if (k < 0) {
            snprintf(err, errlen, "%s [%s]: factory \"%s\" is not supported", path, sec, f);
            return NERD_ERR_UNSUPPORTED;
        }
        char *slot = !strcmp(f, "ner")                    ? plan->ner
                     : !strcmp(f, "parser")               ? plan->parser
                     : !strcmp(f, "morphologizer")        ? plan->morphologizer
                     : !strcmp(f, "trainable_lemmatizer") ? plan->trainable_lemmatizer
                     : NULL;
        if (slot && *slot) {
            snprintf(err, errlen, "%s [%s]: a second %s component is not supported", path, sec, f);
            return NERD_ERR_UNSUPPORTED;
        }
        if (slot) snprintf(slot, PIPE_NAME, "%.31s", pipe[i]);
        if (!factories[k].in_doc && !*plan->doc_error)
            snprintf(plan->doc_error, sizeof plan->doc_error,
                     "%.160s [%s]: the doc pipeline does not compute component %.31s (factory %.31s) yet", path, sec,
                     pipe[i], f);
        /* the doc pipeline's components, each once, the ruler after what its patterns read and the
         * lemmatizer after the ruler (the order spaCy's pipelines have) */
        char *doc_slot = !strcmp(f, "tagger")            ? plan->tagger
                         : !strcmp(f, "attribute_ruler") ? plan->doc_ruler
                         : !strcmp(f, "lemmatizer")      ? plan->lemmatizer
                                                         : NULL;
        const char *doc_order = doc_slot && *doc_slot ? "a second one"
                                : doc_slot == plan->tagger && (*plan->doc_ruler || *plan->lemmatizer)
                                    ? "a tagger after the attribute_ruler or the lemmatizer"
                                : doc_slot == plan->doc_ruler && *plan->lemmatizer ? "an attribute_ruler after the lemmatizer"
                                : !strcmp(f, "parser") && *plan->doc_ruler ? "a parser after the attribute_ruler"
                                                                           : NULL;
        if (doc_order && !*plan->doc_error)
            snprintf(plan->doc_error, sizeof plan->doc_error, "%.160s [%s]: the doc pipeline does not compute %s", path,
                     sec, doc_order);
        if (doc_slot && !*doc_slot) snprintf(doc_slot, PIPE_NAME, "%.31s", pipe[i]);
        if (!strcmp(f, "parser") && !*plan->ner) plan->parser_before_ner = 1;
        int setter = doc_attr_setter(f);
        if (setter >= 0) { /* what the rulers after it see; what the rulers before it miss */
            sees |= doc_attr_setters[setter].sets;
            for (int r = 0; r < plan->n_entity_rulers; r++)
                for (int a = 0; a < PIPE_ATTRS; a++)
                    if ((doc_attr_setters[setter].may_set >> a & 1) && !*plan->entity_ruler_then[r][a])
                        snprintf(plan->entity_ruler_then[r][a], PIPE_NAME, "%.31s", pipe[i]);
        }
        /* a span_ruler writes doc.spans[spans_key] (which doc.to_json() shows), with annotate_ents
         * (false by default) doc.ents too: computed among the entity rulers, where it runs */
        if (factories[k].role == ROLE_ENTITY_RULER || factories[k].role == ROLE_SPAN_RULER) {
            if (plan->n_entity_rulers == MAX_ENTITY_RULERS) {
                snprintf(err, errlen, "%s [%s]: more than %d entity_ruler components", path, sec, MAX_ENTITY_RULERS);
                return NERD_ERR_UNSUPPORTED;
            }
            int r = plan->n_entity_rulers++;
            snprintf(plan->entity_rulers[r], PIPE_NAME, "%.31s", pipe[i]);
            plan->entity_ruler_before_ner[r] = !*plan->ner;
            plan->entity_ruler_after_parser[r] = *plan->parser != 0;
            plan->entity_ruler_sees[r] = sees;
        }
        if (factories[k].role == ROLE_SENTER && !has_parser) {
            /* without a parser, the senter's sentence starts are the doc's (and the ner's after it) */
            if (*plan->senter) {
                snprintf(err, errlen, "%s [%s]: a second senter is not supported", path, sec);
                return NERD_ERR_UNSUPPORTED;
            }
            snprintf(plan->senter, PIPE_NAME, "%.31s", pipe[i]);
            plan->senter_before_ner = !*plan->ner;
        } else if (factories[k].role == ROLE_SENTER) {
            /* senter sets sentence starts the parser and the ner respect; after the parser (which
             * sets every token's) and without overwrite it changes nothing */
            int overwrite = 1;
            if (!*plan->parser || cfg_bool(c, sec, "overwrite", &overwrite) || overwrite) {
                snprintf(err, errlen,
                         "%s [%s]: an enabled senter %s sets sentence starts the ner respects; nerd computes it only "
                         "after a parser with overwrite = false",
                         path, sec, *plan->parser ? "with overwrite" : "before the parser");
                return NERD_ERR_UNSUPPORTED;
            }
        }
        if (factories[k].role == ROLE_ATTRIBUTE_RULER) {
            if (!*plan->ner) { /* before the ner: it must set nothing the ner reads */
                char p[4096], bad[64];
                snprintf(p, sizeof p, "%s/%s/patterns", dir, pipe[i]);
                int sets_other;
                nerd_status rs = ar_sets_only(p, ruler_inert_attrs, &sets_other, bad, sizeof bad, err, errlen);
                if (rs != NERD_OK) return rs;
                if (sets_other) {
                    snprintf(err, errlen,
                             "%s [%s]: the attribute_ruler before the ner sets %s, which can change the entities "
                             "(nerd skips it only when it sets TAG, POS, MORPH, LEMMA or DEP)",
                             path, sec, bad);
                    return NERD_ERR_UNSUPPORTED;
                }
            }
            if (*plan->parser) snprintf(plan->ruler, PIPE_NAME, "%.31s", pipe[i]);
        }
    }
    if (!*plan->ner) {
        snprintf(err, errlen, "%s: the pipeline has no ner component", path);
        return NERD_ERR_UNSUPPORTED;
    }
    if (!*plan->parser && !*plan->senter)
        snprintf(plan->full_error, sizeof plan->full_error, "%.200s: the pipeline has no (enabled) parser or senter component",
                 path);
    return NERD_OK;
}
