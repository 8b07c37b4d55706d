/* --request-timeout stops the computation (nerd_ner_until), not only the wait for it: a request
 * past it gets its 504 and the worker (sync), the loop (async) or the inference threads (async
 * --threads 2) serve the next request at once, instead of computing the abandoned text until
 * it ends or --timeout kills the worker.
 *
 * The slow request is a real one: a text of 1,000,000 bytes (a fifth of it under TSan),
 * under the default --max-body-size, which the full pipeline needs about 3 s of CPU for here. How long exactly is measured first in
 * this process on the same text, so that the bounds hold on a loaded machine: the next request
 * must be answered in a quarter of that wall time, and the worker must have spent less than half
 * that CPU time on everything (before the fix, the next request waited for at least one whole
 * computation). */
#include "test.h"
#include "serve_helper.h"
#include "nerd.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* under TSan: TEST_TIME_FACTOR times the 3 s of here, as the request timeout is there */
#define SLOW_TEXT_BYTES (1000000 / TEST_SLOWDOWN * TEST_TIME_FACTOR)

static void slow_text(buf *text)
{
    while (text->len < SLOW_TEXT_BYTES) buf_puts(text, "Angela Merkel visited Paris on 3 May 2021. ");
}

/* The full pipeline's wall and CPU seconds for the slow text, here and now. */
static void measure_full_computation(const buf *text, double *wall, double *cpu)
{
    nerd_model *m = test_model();
    nerd_doc *d = nerd_doc_new();
    double w0 = test_clock_s(CLOCK_MONOTONIC), c0 = test_clock_s(CLOCK_PROCESS_CPUTIME_ID);
    CHECK(nerd_ner(m, d, text->ptr, text->len, NERD_PIPELINE_FULL) == NERD_OK);
    *wall = test_clock_s(CLOCK_MONOTONIC) - w0;
    *cpu = test_clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    nerd_doc_free(d);
    nerd_model_free(m);
}

/* A child that sends the slow text and exits 0 when the answer is the 504 of --request-timeout. */
static pid_t send_slow_request(int port, const buf *text)
{
    pid_t pid = fork();
    if (pid) return pid;
    buf req = {0}, out = {0};
    buf_printf(&req, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n{\"text\": \"%s\"}", text->len + 12, text->ptr);
    double t0 = test_clock_s(CLOCK_MONOTONIC);
    int status = http_raw(port, req.ptr, req.len, &out);
    printf("  the slow request was answered %d after %.2f s\n", status, test_clock_s(CLOCK_MONOTONIC) - t0);
    CHECKF(status == 504 && strstr(out.ptr, "request timeout"), "expected a 504, got: %.200s",
           out.ptr ? out.ptr : "(nothing)");
    _exit(0);
}

/* One worker (mode: its -k and --threads) with --request-timeout 0.3 gets `slow` slow requests
 * at once (one per computing thread), answers each 504, then answers the next one at once. */
static void next_request_served_at_once(const char *const *mode, int slow)
{
    buf text = {0};
    slow_text(&text);
    double full_wall, full_cpu;
    measure_full_computation(&text, &full_wall, &full_cpu);
    printf("  the full computation: %.2f s, %.2f s of CPU\n", full_wall, full_cpu);

    /* under TSan a thread's block of work after the deadline is ~20x longer: the next request,
     * queued behind it, must not reach its own deadline meanwhile */
    char request_timeout[16];
    snprintf(request_timeout, sizeof request_timeout, "%g", 0.3 * TEST_TIME_FACTOR);
    const char *args[16] = {"-w", "1", "--request-timeout", request_timeout, "--timeout", "120"};
    int n = 6;
    for (int i = 0; mode[i]; i++) args[n++] = mode[i];
    args[n] = NULL;
    test_server s;
    server_start(&s, args);
    pid_t w[4];
    CHECK(server_workers(&s, w, 4) == 1);
    double cpu0 = process_cpu_seconds(w[0]);

    pid_t kids[2];
    for (int i = 0; i < slow; i++) kids[i] = send_slow_request(s.port, &text);
    for (int i = 0; i < slow; i++) {
        int st;
        waitpid(kids[i], &st, 0);
        CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "slow request %d was not answered 504", i);
    }
    double t0 = test_clock_s(CLOCK_MONOTONIC);
    expect_paris(s.port);
    double next = test_clock_s(CLOCK_MONOTONIC) - t0, spent = process_cpu_seconds(w[0]) - cpu0;
    printf("  the next request answered after %.3f s; the worker spent %.2f s of CPU in all\n", next, spent);
    CHECKF(next < full_wall / 4, "the next request waited %.2f s (the full computation takes %.2f s)", next, full_wall);
    CHECKF(spent < full_cpu / 2, "the worker spent %.2f s of CPU: the abandoned computation went on (it takes %.2f s)",
           spent, full_cpu);
    CHECKF(server_wait_log(&s, "its computation stopped", 1, 5), "the worker did not log the stop");
    pid_t after[4];
    CHECK(server_workers(&s, after, 4) == 1 && after[0] == w[0]);
    CHECK_EQ_INT(server_metric(s.port, "nerd_requests_in_flight"), 0);
    CHECK(WIFEXITED(server_stop(&s, SIGTERM)));
    buf_free(&text);
}

TEST_T(serve_request_timeout_frees_the_sync_worker, 90)
{
    const char *mode[] = {"-k", "sync", NULL};
    next_request_served_at_once(mode, 1);
}

TEST_T(serve_request_timeout_frees_the_async_loop, 90)
{
    const char *mode[] = {"-k", "async", NULL};
    next_request_served_at_once(mode, 1);
}

TEST_T(serve_request_timeout_frees_the_inference_threads, 90)
{
    const char *mode[] = {"-k", "async", "--threads", "2", NULL};
    next_request_served_at_once(mode, 2);
}
