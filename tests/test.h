/* test.h - nerd's test harness: tests register themselves, each runs in its own process
 * with a timeout (tests/runner.c), so a crash or a hang fails one test, not the run. */
#ifndef NERD_TEST_H
#define NERD_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct test_case {
    const char *name;
    void (*fn)(void);
    int timeout_s;
    struct test_case *next;
} test_case;

void test_register(test_case *t);
_Noreturn void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Paths to the shared data: $NERD_SHARED, else ../shared (the layout of a clone). */
const char *test_shared(void);
/* test_path("golden/edge.jsonl") -> "<shared>/golden/edge.jsonl" in a static buffer ring. */
const char *test_path(const char *rel);
/* The nerd binary under test ($NERD_BIN, else build/nerd). */
const char *test_nerd_bin(void);
/* Reads a whole file; NULL if it cannot. *len gets its size. Caller frees. */
char *test_read_file(const char *path, size_t *len);
/* clock_gettime(id) in seconds: CLOCK_MONOTONIC for wall time, CLOCK_PROCESS_CPUTIME_ID or
 * CLOCK_THREAD_CPUTIME_ID for CPU time. */
double test_clock_s(clockid_t id);
/* The stand-in ../shared/models/en_core_web_sm (tests/ner/model_helper.c): ../shared/golden holds
 * spaCy's answers for it, so every test that compares with those files names it, never the
 * default model. */
const char *test_standin(void);
/* The real en_core_web_sm that `make deps` fetches (models/en_core_web_sm-3.8.0 of the clone the
 * tests run in); fails the test, saying how to fetch it, when it is not there. */
const char *test_real_model(void);
/* The stand-in loaded; fails the test if it cannot be. */
struct nerd_model *test_model(void);

/* ThreadSanitizer builds (make test-tsan) run the model about 20x slower than the normal build
 * (measured on the threaded tests: 17x to 25x). A test whose work is sized to take seconds here
 * divides it by TEST_SLOWDOWN, so that it takes about as long under TSan and its bounds, measured
 * or stated, stay what they are. What cannot shrink with the work (loading the model, starting
 * servers, the server's own latency) gets TEST_TIME_FACTOR times its time there: each test's
 * timeout in the runner, a latency bound. Both are 1 in every other build, where nothing changes. */
#ifdef __SANITIZE_THREAD__
#define TEST_SLOWDOWN 20
#define TEST_TIME_FACTOR 4
#else
#define TEST_SLOWDOWN 1
#define TEST_TIME_FACTOR 1
#endif

#define TEST_T(name, timeout)                                                   \
    static void name(void);                                                     \
    static test_case name##_case_ = {#name, name, timeout, NULL};               \
    __attribute__((constructor)) static void name##_reg_(void) { test_register(&name##_case_); } \
    static void name(void)
#define TEST(name) TEST_T(name, 60)

#define CHECK(c) do { if (!(c)) test_fail(__FILE__, __LINE__, "CHECK(%s)", #c); } while (0)
#define CHECKF(c, ...) do { if (!(c)) test_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define CHECK_EQ_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b);          \
    if (a_ != b_) test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); } while (0)
#define CHECK_EQ_STR(a, b) do { const char *a_ = (a), *b_ = (b);                              \
    if (!a_ || !b_ || strcmp(a_, b_)) test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
        #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)

#endif
