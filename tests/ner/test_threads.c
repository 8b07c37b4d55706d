/* One model, many threads: each thread with its own doc gets exactly the entities (and with
 * the full pipeline the parse) a single thread gets, for every golden document, both pipelines
 * interleaved in one doc (the model is read-only after load). */
#include "test.h"
#include "nerd.h"
#include "modelfile/modelfile.h"
#include "model_helper.h"
#include "util/json.h"

#include <pthread.h>

typedef struct { char **text; size_t *len; size_t n; char **answer[2]; const nerd_model *m; int id, bad; } job;

static char *entities(const nerd_model *m, nerd_doc *d, const char *t, size_t len, nerd_pipeline p)
{
    if (nerd_ner(m, d, t, len, p) != NERD_OK) return strdup("error");
    return test_annotations(d);
}

static void *worker(void *arg)
{
    job *j = arg;
    nerd_doc *d = nerd_doc_new();
    for (int round = 0; round < 2; round++)
        for (size_t k = 0; k < j->n; k++) {
            size_t i = (k * 7 + (size_t)j->id * 131) % j->n; /* each thread its own order */
            int p = (int)((k + (size_t)j->id) % 2);
            char *got = entities(j->m, d, j->text[i], j->len[i], p ? NERD_PIPELINE_FULL : NERD_PIPELINE_NER);
            if (strcmp(got, j->answer[p][i])) j->bad++;
            free(got);
        }
    nerd_doc_free(d);
    return NULL;
}

TEST_T(one_model_many_threads_same_entities, 120)
{
    nerd_model *m = test_model();
    size_t len;
    char *data = test_read_file(test_path("golden/ewt_train_sample.jsonl"), &len);
    CHECK(data);
    job base = {.m = m};
    nerd_doc *d = nerd_doc_new();
    jsonl_iter it;
    jsonl_init(&it, data, len, JSONL_MAX_LINE);
    size_t lines = 0; /* every line under TSan is too slow: every TEST_SLOWDOWN-th one there */
    for (int got; (got = jsonl_next(&it)) != 0;) {
        CHECKF(got > 0, "%s", it.err);
        if (lines++ % TEST_SLOWDOWN) continue;
        const json_value *t = json_get(&it.doc.root, "text");
        base.text = realloc(base.text, (base.n + 1) * sizeof *base.text);
        base.len = realloc(base.len, (base.n + 1) * sizeof *base.len);
        for (int p = 0; p < 2; p++) base.answer[p] = realloc(base.answer[p], (base.n + 1) * sizeof *base.answer[p]);
        base.text[base.n] = strndup(t->u.str.ptr, t->u.str.len);
        base.len[base.n] = t->u.str.len;
        base.answer[0][base.n] = entities(m, d, t->u.str.ptr, t->u.str.len, NERD_PIPELINE_NER);
        base.answer[1][base.n] = entities(m, d, t->u.str.ptr, t->u.str.len, NERD_PIPELINE_FULL);
        base.n++;
    }
    jsonl_free(&it);
    CHECK(lines == 400 && base.n == (400 + TEST_SLOWDOWN - 1) / TEST_SLOWDOWN);
    pthread_t th[4];
    job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = base;
        jobs[i].id = i;
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECKF(jobs[i].bad == 0, "thread %d: %d documents differ", i, jobs[i].bad);
    }
    for (size_t i = 0; i < base.n; i++) { free(base.text[i]); free(base.answer[0][i]); free(base.answer[1][i]); }
    free(base.text); free(base.len); free(base.answer[0]); free(base.answer[1]); free(data);
    nerd_doc_free(d);
    nerd_model_free(m);
}
