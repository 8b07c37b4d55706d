/* nerd serve --precision and the word cache's counters in /metrics. */
#include "test.h"
#include "serve_helper.h"

#include <signal.h>

static void serve_in(const char *precision)
{
    test_server s;
    const char *args[] = {"-k", "sync", "-w", "1", "--precision", precision, NULL};
    server_start(&s, args);
    buf out = {0};
    for (int i = 0; i < 2; i++) { /* the second request finds its words in the cache */
        buf_clear(&out);
        CHECK(http_json(s.port, "POST", "/", "{\"text\": \"Paris is the capital of France.\"}", &out) == 200);
        CHECKF(!strcmp(http_body(&out), "{\"Paris\":\"GPE\",\"France\":\"GPE\"}"), "%s", out.ptr);
    }
    buf_clear(&out);
    CHECK(http_json(s.port, "GET", "/metrics", NULL, &out) == 200);
    char label[64];
    snprintf(label, sizeof label, "precision=\"%s\"", precision);
    CHECKF(strstr(out.ptr, label), "%s", out.ptr);
    const char *hit = strstr(out.ptr, "result=\"hit\"} "), *miss = strstr(out.ptr, "result=\"miss\"} ");
    CHECKF(hit && miss, "%s", out.ptr);
    /* 7 distinct tokens a request: the first request misses them, the second hits all 7 */
    CHECKF(atol(hit + 14) >= 7 && atol(miss + 15) >= 1, "%s", out.ptr);
    buf_free(&out);
    CHECK(server_stop(&s, SIGTERM) == 0);
}

TEST_T(serve_bf16_answers_and_metrics_show_the_word_cache, 60) { serve_in("bf16"); }
TEST_T(serve_int8_answers_and_metrics_show_the_word_cache, 60) { serve_in("int8"); }
