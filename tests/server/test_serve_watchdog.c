/* An inference thread (-k async --threads N) stuck on one request. The loop's heartbeat goes on
 * beating, so the master alone would never notice; the worker's watchdog answers the request
 * 504, retires the worker, and the master replaces it with a full pool. The endless computation
 * is a real one, as in test_hostile_faults.c: a 2 MiB text, which the model needs about 20 s for
 * here (measured at nice 10 on the shared machine), far past --timeout 1 + 1 s grace. */
#include "test.h"
#include "serve_helper.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int status_of(const buf *out) { return out->len > 12 && !strncmp(out->ptr, "HTTP/1.1 ", 9) ? atoi(out->ptr + 9) : 0; }

/* Polls a gauge of /metrics until it equals want; returns the last value read. */
static long wait_metric(int port, const char *name, long want, double seconds)
{
    double end = now_s() + seconds;
    long v = server_metric(port, name);
    while (v != want && now_s() < end) {
        usleep(20000);
        v = server_metric(port, name);
    }
    return v;
}

/* A child sends the 2 MiB text; it exits 0 once the answer was a 504 that came in time. */
static pid_t send_stuck_request(int port)
{
    pid_t pid = fork();
    if (pid) return pid;
    int closed;
    buf req = {0}, out = {0};
    long_text_request(&req, 2u << 20);
    double took = timed_exchange(port, &req, &out, &closed);
    printf("  the stuck request was answered %d after %.1f s\n", status_of(&out), took);
    CHECKF(status_of(&out) == 504, "expected a 504, got: %.200s", out.ptr ? out.ptr : "(nothing)");
    CHECKF(strstr(out.ptr, "longer than --timeout"), "%s", out.ptr);
    CHECKF(closed, "the connection of the stuck request stayed open");
    /* 1 s of --timeout + 1 s of grace, and the 10 ms scan; 10 s leaves room for a loaded machine */
    CHECKF(took < 10, "the 504 came after %.1f s", took);
    _exit(0);
}

static void child_ok(pid_t pid, const char *what)
{
    int st;
    waitpid(pid, &st, 0);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", what);
}

/* Waits up to 10 s for the one worker to be another process than old. */
static void wait_replaced(const test_server *s, pid_t old)
{
    pid_t now[4];
    int n = 0;
    double t0 = now_s();
    for (int i = 0; i < 200 && !(n == 1 && now[0] != old); i++) { usleep(50000); n = server_workers(s, now, 4); }
    CHECKF(n == 1 && now[0] != old, "the worker with the stuck thread was not replaced");
    printf("  the old worker gone %.1f s later\n", now_s() - t0);
}

/* Starts the server with args (one worker); returns that worker's pid. */
static pid_t start_one_worker(test_server *s, const char *const *args)
{
    server_start(s, args);
    pid_t w[4];
    CHECK(server_workers(s, w, 4) == 1);
    return w[0];
}

TEST_T(serve_stuck_inference_thread_gets_504_and_worker_replaced, 90)
{
    test_server s;
    const char *args[] = {"-k", "async", "-w", "1", "--threads", "2", "--timeout", "1", "--max-body-size", "4000000",
                          "--graceful-timeout", "3", NULL};
    pid_t w0 = start_one_worker(&s, args);
    CHECK_EQ_INT(server_metric(s.port, "nerd_inference_threads"), 2);
    /* a request whose body never finishes keeps the old worker draining for --graceful-timeout */
    int slow = tcp_connect(s.port);
    static const char partial[] = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"te";
    CHECK(send_all(slow, partial, sizeof partial - 1) == 0);

    /* while one thread is lost in the stuck request, the other one serves */
    pid_t stuck = send_stuck_request(s.port);
    CHECK_EQ_INT(wait_metric(s.port, "nerd_inference_threads_busy", 1, 10), 1);
    expect_paris(s.port);
    child_ok(stuck, "the stuck request was not answered 504 in time");
    CHECKF(server_wait_log(&s, "inference thread stuck", 1, 5), "the worker did not say why it retires");
    /* the replacement starts while the old worker still drains, and serves at once */
    pid_t both[4];
    int n = 0;
    double t504 = now_s();
    for (int i = 0; i < 60 && n != 2; i++) { usleep(50000); n = server_workers(&s, both, 4); }
    CHECKF(n == 2 && (both[0] == w0 || both[1] == w0), "no replacement beside the draining worker (%d workers)", n);
    expect_paris(s.port);
    printf("  a new worker serving beside the draining one %.2f s after the 504 was read\n", now_s() - t504);
    CHECKF(kill(w0, 0) == 0, "the old worker had already exited: its drain was not waited for");
    close(slow);
    wait_replaced(&s, w0);
    CHECKF(server_wait_log(&s, "exited after retiring: an inference thread was stuck", 1, 5),
           "the master did not log the retirement");
    CHECK_EQ_INT(server_metric(s.port, "nerd_worker_restarts_total"), 1);

    /* the new worker has its whole pool, idle, and both threads take requests at once */
    CHECK_EQ_INT(wait_metric(s.port, "nerd_inference_threads", 2, 5), 2);
    CHECK_EQ_INT(server_metric(s.port, "nerd_inference_threads_busy"), 0);
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            buf o = {0};
            _exit(http_json(s.port, "POST", "/", "{\"text\": \"Angela Merkel visited Paris.\"}", &o) == 200 ? 0 : 1);
        }
    }
    for (int i = 0; i < 2; i++) child_ok(kids[i], "a request to the new worker failed");
    expect_paris(s.port);
    CHECK(WIFEXITED(server_stop(&s, SIGTERM)));
}

/* --request-timeout shorter than the computation: the client gets its 504 at the deadline (the
 * loop answers it, whatever the thread does), the thread stops computing by itself
 * (test_serve_deadline.c bounds how soon), and the worker is kept. */
TEST_T(serve_request_timeout_answers_while_the_thread_computes, 60)
{
    test_server s;
    const char *args[] = {"-k", "async", "-w", "1", "--threads", "1", "--request-timeout", "0.3", "--timeout", "30", NULL};
    pid_t w0 = start_one_worker(&s, args);
    buf req = {0}, out = {0};
    /* about 4 s of model here: far past 0.3 s, within --timeout */
    long_text_request(&req, 400000 / TEST_SLOWDOWN);
    double took = timed_exchange(s.port, &req, &out, NULL);
    printf("  answered %d after %.2f s\n", status_of(&out), took);
    CHECKF(status_of(&out) == 504, "expected a 504, got: %.200s", out.ptr ? out.ptr : "(nothing)");
    CHECKF(strstr(out.ptr, "request timeout"), "%s", out.ptr);
    CHECKF(took < 3, "the 504 came after %.2f s, not at the 0.3 s deadline", took);
    /* the thread gives the job up, then serves again; the worker stays */
    CHECK_EQ_INT(wait_metric(s.port, "nerd_inference_threads_busy", 0, 30), 0);
    expect_paris(s.port);
    pid_t now[4];
    CHECK(server_workers(&s, now, 4) == 1 && now[0] == w0);
    CHECK_EQ_INT(server_metric(s.port, "nerd_requests_in_flight"), 0);
    buf_free(&req);
    buf_free(&out);
    CHECK(WIFEXITED(server_stop(&s, SIGTERM)));
}

/* Every thread stuck (--threads 1): a request queued behind the stuck one would wait for ever;
 * it gets a 503 with Retry-After when the worker retires, and the new worker serves. */
TEST_T(serve_request_queued_behind_a_stuck_thread_gets_503, 90)
{
    test_server s;
    const char *args[] = {"-k", "async", "-w", "1", "--threads", "1", "--timeout", "1", "--max-body-size", "4000000", NULL};
    pid_t w0 = start_one_worker(&s, args);
    pid_t stuck = send_stuck_request(s.port);
    CHECK_EQ_INT(wait_metric(s.port, "nerd_inference_threads_busy", 1, 10), 1);
    buf out = {0};
    CHECK_EQ_INT(http_json(s.port, "POST", "/", "{\"text\": \"Angela Merkel visited Paris.\"}", &out), 503);
    CHECKF(strstr(out.ptr, "Retry-After: 1") && strstr(out.ptr, "restarting"), "%s", out.ptr);
    buf_free(&out);
    child_ok(stuck, "the stuck request was not answered 504 in time");
    wait_replaced(&s, w0);
    expect_paris(s.port);
    CHECK(WIFEXITED(server_stop(&s, SIGTERM)));
}
