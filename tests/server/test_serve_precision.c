/* nerd serve --precision and the word cache's counters in /metrics. */
#include "test.h"
#include "serve_helper.h"
#include "nn/kernels.h"

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

/* NERD_ISA=avx2 serves on the AVX2 paths, and /model, /metrics say so (int8: "avx2", not the
 * VNNI paths this CPU may have). */
TEST_T(serve_names_its_instruction_set, 60)
{
    if (kn_isa_missing(KN_ISA_AVX2)) {
        printf("  SKIP avx2: %s\n", kn_isa_missing(KN_ISA_AVX2));
        return;
    }
    setenv("NERD_ISA", "avx2", 1);
    test_server s;
    const char *args[] = {"-k", "sync", "-w", "1", "--precision", "int8", NULL};
    server_start(&s, args);
    buf out = {0};
    CHECK(http_json(s.port, "GET", "/model", NULL, &out) == 200);
    CHECKF(strstr(out.ptr, "\"isa\":\"avx2\",\"kernel\":\"avx2\""), "%s", out.ptr);
    CHECKF(strstr(out.ptr, "\"name\":") && strstr(out.ptr, "\"weights\":") && strstr(out.ptr, "\"labels\":"), "%s", out.ptr);
    buf_clear(&out);
    CHECK(http_json(s.port, "GET", "/metrics", NULL, &out) == 200);
    CHECKF(strstr(out.ptr, "precision=\"int8\",isa=\"avx2\",kernel=\"avx2\"}"), "%s", out.ptr);
    buf_free(&out);
    CHECK(server_stop(&s, SIGTERM) == 0);
}
