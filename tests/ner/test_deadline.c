/* nerd_ner_until: a deadline that stops the computation. A deadline already past stops the
 * call at once and leaves the doc clean and reusable; one never reached changes nothing; one
 * reached in the middle stops the call within one block of work wherever it falls (tokenizer,
 * tok2vec chunks, parser transitions, ner chunks). How soon is measured in CPU time of the
 * computing thread after the deadline, read by a second thread at the deadline, so that a
 * loaded machine cannot make the bound fail. */
#include "test.h"
#include "pipeline/engine.h"
#include "model_helper.h"

#include <pthread.h>
#include <time.h>

/* A long text of real sentences: the seed article repeated to at least `bytes`. */
static char *long_text(size_t bytes, size_t *len)
{
    size_t alen;
    char *article = test_read_file(test_path("seed/flask-gunicorn-vs-fastapi-uvicorn.txt"), &alen);
    CHECK(article && alen > 0);
    buf b = {0};
    while (b.len < bytes) buf_append(&b, article, alen);
    free(article);
    *len = b.len;
    return b.ptr;
}

TEST(ner_until_a_past_deadline_stops_at_once_and_leaves_the_doc_reusable)
{
    nerd_model *m = test_model();
    nerd_doc *d = nerd_doc_new();
    static const char paris[] = "Angela Merkel visited Paris.";
    CHECK(nerd_ner(m, d, paris, sizeof paris - 1, NERD_PIPELINE_FULL) == NERD_OK);
    char *before = test_annotations(d);
    CHECK(nerd_doc_nents(d) > 0);
    CHECK_EQ_STR(nerd_strerror(NERD_ERR_DEADLINE), "deadline exceeded");

    /* a megabyte of text with a deadline a second ago: no time spent on it, nothing left */
    size_t len;
    char *text = long_text(1u << 20, &len);
    for (int p = NERD_PIPELINE_NER; p <= NERD_PIPELINE_FULL; p++) {
        double cpu0 = test_clock_s(CLOCK_THREAD_CPUTIME_ID);
        CHECK(nerd_ner_until(m, d, text, len, (nerd_pipeline)p, test_clock_s(CLOCK_MONOTONIC) - 1) == NERD_ERR_DEADLINE);
        double spent = test_clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        CHECKF(spent < 0.05, "a past deadline still cost %.3f s of CPU", spent);
        CHECK(nerd_doc_nents(d) == 0 && nerd_doc_ntokens(d) == 0 && nerd_doc_sent_start(d, 0) == -1);
    }
    /* the doc serves the next call as before */
    CHECK(nerd_ner_until(m, d, paris, sizeof paris - 1, NERD_PIPELINE_FULL, 0) == NERD_OK);
    char *after = test_annotations(d);
    CHECK_EQ_STR(after, before);
    free(before);
    free(after);
    free(text);
    nerd_doc_free(d);
    nerd_model_free(m);
}

/* A deadline the call never reaches changes nothing: same entities and parse, over many chunks. */
TEST(ner_until_a_far_deadline_gives_what_ner_gives)
{
    nerd_model *m = test_model();
    nerd_doc *d = nerd_doc_new();
    size_t len;
    char *text = long_text(120000, &len); /* over 20,000 tokens: several chunks of each network */
    for (int p = NERD_PIPELINE_NER; p <= NERD_PIPELINE_FULL; p++) {
        CHECK(nerd_ner(m, d, text, len, (nerd_pipeline)p) == NERD_OK);
        CHECK(nerd_doc_ntokens(d) > 20000);
        char *plain = test_annotations(d);
        CHECK(nerd_ner_until(m, d, text, len, (nerd_pipeline)p, test_clock_s(CLOCK_MONOTONIC) + 3600) == NERD_OK);
        char *until = test_annotations(d);
        CHECK(strlen(plain) > 1000);
        CHECK_EQ_STR(until, plain);
        free(plain);
        free(until);
    }
    free(text);
    nerd_doc_free(d);
    nerd_model_free(m);
}

/* The tokenizer's own check, in its loop over whitespace-separated substrings. */
TEST(tokenizer_stops_at_a_past_deadline)
{
    nerd_model *m = test_model();
    size_t len;
    char *text = long_text(20000, &len); /* thousands of substrings */
    tok_scratch sc = {0};
    CHECK(tokenizer_run_until(m->tok, text, len, test_clock_s(CLOCK_MONOTONIC) - 1, &sc) == TOK_DEADLINE);
    CHECK(tokenizer_run_until(m->tok, text, len, 0, &sc) == 0 && sc.ntoks > 3000);
    size_t n = sc.ntoks;
    CHECK(tokenizer_run_until(m->tok, text, len, test_clock_s(CLOCK_MONOTONIC) + 3600, &sc) == 0 && sc.ntoks == n);
    tok_scratch_free(&sc);
    free(text);
    nerd_model_free(m);
}

/* Reads the computing thread's CPU clock at the deadline. */
typedef struct { clockid_t cpu; double deadline, cpu_at_deadline; } watch;

static void *watch_deadline(void *arg)
{
    watch *w = arg;
    struct timespec at = {(time_t)w->deadline, (long)((w->deadline - (time_t)w->deadline) * 1e9)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL)) {}
    w->cpu_at_deadline = test_clock_s(w->cpu);
    return NULL;
}

/* Deadlines spread over the whole computation (as long as the full pipeline takes here): each
 * stops it with little CPU spent after the deadline, whichever stage it falls in. */
TEST_T(ner_until_stops_within_a_block_of_work_wherever_the_deadline_falls, 120)
{
    nerd_model *m = test_model();
    nerd_doc *d = nerd_doc_new();
    size_t len;
    char *text = long_text(300000, &len);
    double w0 = test_clock_s(CLOCK_MONOTONIC), c0 = test_clock_s(CLOCK_THREAD_CPUTIME_ID);
    CHECK(nerd_ner(m, d, text, len, NERD_PIPELINE_FULL) == NERD_OK);
    double full_wall = test_clock_s(CLOCK_MONOTONIC) - w0, full_cpu = test_clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    printf("  the full computation: %.2f s, %.2f s of CPU, %zu tokens\n", full_wall, full_cpu, nerd_doc_ntokens(d));
    watch w;
    CHECK(pthread_getcpuclockid(pthread_self(), &w.cpu) == 0);
    int stopped = 0;
    for (int k = 1; k <= 8; k++) {
        double start = test_clock_s(CLOCK_MONOTONIC);
        w.deadline = start + full_wall * k / 10;
        pthread_t t;
        CHECK(pthread_create(&t, NULL, watch_deadline, &w) == 0);
        nerd_status st = nerd_ner_until(m, d, text, len, NERD_PIPELINE_FULL, w.deadline);
        double cpu_end = test_clock_s(w.cpu);
        pthread_join(t, NULL);
        if (st == NERD_OK) continue; /* it ran faster than the first time: nothing to stop */
        CHECK(st == NERD_ERR_DEADLINE && nerd_doc_nents(d) == 0);
        double after = cpu_end - w.cpu_at_deadline;
        printf("  deadline at %d/10: stopped %.1f ms of CPU after it\n", k, after * 1e3);
        /* a block is about 1% of the whole: a stage without its check runs on for much more */
        CHECKF(after < full_cpu / 40, "%.3f s of CPU after the deadline (the whole takes %.2f s)", after, full_cpu);
        stopped++;
    }
    CHECKF(stopped >= 4, "only %d of 8 deadlines fell inside the computation", stopped);
    free(text);
    nerd_doc_free(d);
    nerd_model_free(m);
}
