/* Faults and floods against the real server: 10,000 slowloris connections, a worker killed
 * by SIGSEGV under load, a worker out of file descriptors, and HUP with a broken model.
 * The tests named hostile_* take tens of seconds: `make test-hostile` runs them, `make test`
 * leaves them out (tests/runner.c). */
#include "test.h"
#include "serve_helper.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sockets a process holds (its listening socket included). */
static int count_sockets(pid_t pid)
{
    char dir[64], target[128];
    int n = 0;
    for (int fd = 0; fd < 4096; fd++) {
        snprintf(dir, sizeof dir, "/proc/%d/fd/%d", (int)pid, fd);
        ssize_t k = readlink(dir, target, sizeof target - 1);
        if (k <= 0) continue;
        target[k] = 0;
        n += !strncmp(target, "socket:", 7);
    }
    return n;
}

/* ---------------------------------------------------------------- slowloris */

#define SLOW_CONNS 10000

TEST_T(hostile_slowloris_10000_connections, 180)
{
    struct rlimit rl = open_files_limit_at_least(SLOW_CONNS + 500);
    /* the server starts with a soft limit of 1024 and must raise its own */
    struct rlimit low = {1024, rl.rlim_max}, high = {rl.rlim_max, rl.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    test_server s;
    const char *args[] = {"-k", "async", "-w", "1", "--worker-connections", "12000", "--header-timeout", "6",
                          "--keep-alive", "10", NULL};
    server_start(&s, args);
    CHECK(setrlimit(RLIMIT_NOFILE, &high) == 0);
    pid_t w[4];
    CHECK(server_workers(&s, w, 4) == 1);
    expect_paris(s.port);
    long rss0 = process_status_kib(w[0], "VmRSS:");

    /* half idle, half trickling a header that never ends */
    static int fds[SLOW_CONNS];
    static const char start[] = "POST / HTTP/1.1\r\nHost: x\r\n";
    double t0 = now_s();
    long open = 0;
    for (int i = 0; i < SLOW_CONNS; i++) {
        fds[i] = tcp_connect(s.port);
        CHECKF(fds[i] >= 0, "connect %d: %s", i, strerror(errno));
        /* in batches the backlog can hold: past it the kernel drops handshakes, and they come
         * back only after SYN-ACK retransmits (seconds) */
        if (i % 1000 == 999)
            for (int k = 0; k < 200 && (open = server_metric(s.port, "nerd_connections_open")) < i - 100; k++) usleep(20000);
    }
    double t_open = now_s() - t0;
    for (int i = 0; i < 400 && open < SLOW_CONNS; i++) { usleep(50000); open = server_metric(s.port, "nerd_connections_open"); }
    CHECKF(open >= SLOW_CONNS, "the worker holds %ld of %d connections", open, SLOW_CONNS);
    long rss1 = process_status_kib(w[0], "VmRSS:");
    for (int i = 1; i < SLOW_CONNS; i += 2) CHECK(send_all(fds[i], start, sizeof start - 1) == 0);
    usleep(500000);
    long rss2 = process_status_kib(w[0], "VmRSS:"); /* well before --header-timeout ends them */

    /* while they trickle, another client is answered at once */
    double worst = 0;
    for (int round = 0; round < 10; round++) {
        for (int i = 1; i < SLOW_CONNS; i += 2) send_all(fds[i], "X", 1);
        double q = now_s();
        expect_paris(s.port);
        if (now_s() - q > worst) worst = now_s() - q;
        usleep(150000);
    }
    printf("  %d connections opened in %.1f s; worker RSS %ld KiB before, %ld with them idle (%.2f KiB each), %ld with "
           "half of them trickling a header (%.2f KiB more each): %.2f KiB per connection\n", SLOW_CONNS, t_open, rss0, rss1,
           (double)(rss1 - rss0) / SLOW_CONNS, rss2, (double)(rss2 - rss1) / (SLOW_CONNS / 2), (double)(rss2 - rss0) / SLOW_CONNS);
    printf("  worst answer time beside them: %.1f ms\n", worst * 1e3);
    CHECKF(worst < 2.0, "an answer took %.0f ms beside the slow connections", worst * 1e3);
#ifdef __SANITIZE_ADDRESS__
    const long per_conn_kib = 64; /* ASan's redzones and quarantine */
#else
    const long per_conn_kib = 16;
#endif
    CHECKF(rss2 - rss0 < SLOW_CONNS * per_conn_kib, "%.1f KiB per slow connection", (double)(rss2 - rss0) / SLOW_CONNS);

    /* past --header-timeout the tricklers get 408; past --keep-alive the idle ones are closed */
    int got408 = 0, closed_idle = 0;
    double deadline = now_s() + 20;
    for (int i = 0; i < 200; i++) {
        int fd = fds[i * (SLOW_CONNS / 200) + (i & 1)]; /* odd indices trickle */
        buf out = {0};
        int eof = read_answers(fd, &out, deadline - now_s() > 0 ? deadline - now_s() : 0.1);
        if (i & 1) got408 += out.ptr && !strncmp(out.ptr, "HTTP/1.1 408 ", 13);
        else closed_idle += eof && !out.len;
        buf_free(&out);
    }
    printf("  of 100 sampled trickling connections %d got 408; of 100 idle ones %d were closed\n", got408, closed_idle);
    CHECK_EQ_INT(got408, 100);
    CHECK_EQ_INT(closed_idle, 100);
    for (int i = 0; i < SLOW_CONNS; i++) close(fds[i]);
    expect_paris(s.port);
    pid_t w2[4];
    CHECK(server_workers(&s, w2, 4) == 1 && w2[0] == w[0]);
    server_stop(&s, SIGTERM);
}

/* ---------------------------------------------------------------- SIGSEGV under load */

#define LOAD_THREADS 16

typedef struct {
    int port;
    atomic_int *stop;
    atomic_long answered, failed; /* read by the test while the thread counts (ThreadSanitizer) */
} load_client;

static int read_one(int fd, char *b, size_t cap)
{
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0) return -1;
        ssize_t k = recv(fd, b + len, cap - 1 - len, 0);
        if (k <= 0) return -1;
        len += (size_t)k;
        b[len] = 0;
        end = strstr(b, "\r\n\r\n");
    }
    const char *cl = strstr(b, "Content-Length: ");
    size_t want = (size_t)(end + 4 - b) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
    while (len < want && len < cap - 1) {
        ssize_t k = recv(fd, b + len, cap - 1 - len, 0);
        if (k <= 0) return -1;
        len += (size_t)k;
    }
    b[len] = 0;
    return atoi(b + 9);
}

static void *load_loop(void *arg)
{
    load_client *lc = arg;
    static const char req[] = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{\"text\": \"Angela Merkel visited Paris.\"}";
    char resp[4096];
    int fd = -1;
    while (!atomic_load(lc->stop)) {
        if (fd < 0 && (fd = tcp_connect(lc->port)) < 0) { usleep(10000); continue; }
        int st = send_all(fd, req, sizeof req - 1) ? -1 : read_one(fd, resp, sizeof resp);
        if (st == 200 && strstr(resp, "\"Paris\":\"GPE\"")) lc->answered++;
        else {
            lc->failed++;
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0) close(fd);
    return NULL;
}

TEST_T(hostile_worker_sigsegv_under_load_loses_only_its_own, 120)
{
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore); /* the crashed worker leaves no core file behind */
    test_server s;
    const char *args[] = {"-k", "async", "-w", "2", NULL};
    server_start(&s, args);
    pid_t w[4];
    for (int i = 0; i < 100 && server_workers(&s, w, 4) != 2; i++) usleep(50000);
    CHECK(server_workers(&s, w, 4) == 2);
    atomic_int stop = 0;
    load_client lc[LOAD_THREADS];
    pthread_t th[LOAD_THREADS];
    for (int i = 0; i < LOAD_THREADS; i++) {
        lc[i] = (load_client){s.port, &stop, 0, 0};
        pthread_create(&th[i], NULL, load_loop, &lc[i]);
    }
    usleep(1500000);
    int held = count_sockets(w[0]) - 1; /* its connections: every socket but the listening one */
    long before = 0;
    for (int i = 0; i < LOAD_THREADS; i++) before += lc[i].answered;
    kill(w[0], SIGSEGV);
    usleep(3000000);
    atomic_store(&stop, 1);
    long answered = 0, failed = 0;
    int threads_failed = 0;
    for (int i = 0; i < LOAD_THREADS; i++) {
        pthread_join(th[i], NULL);
        answered += lc[i].answered;
        failed += lc[i].failed;
        threads_failed += lc[i].failed > 0;
        CHECKF(lc[i].failed <= 1, "client %d failed %ld times", i, lc[i].failed);
    }
    printf("  SIGSEGV: the worker held %d of %d client connections; %ld requests failed, %ld answered (%ld after the kill)\n",
           held, LOAD_THREADS, failed, answered, answered - before);
    CHECKF(failed <= held, "%ld requests failed, but the worker held only %d connections", failed, held);
    CHECK(answered - before > 100);
    pid_t after[4];
    int n = 0;
    for (int i = 0; i < 100 && n != 2; i++) { n = server_workers(&s, after, 4); if (n != 2) usleep(50000); }
    CHECK_EQ_INT(n, 2);
    CHECK(after[0] != w[0] && after[1] != w[0]);
    CHECK(after[0] == w[1] || after[1] == w[1]); /* the other worker was not touched */
    char gone[64]; /* "was killed by signal 11"; under ASan its own handler exits with code 1 */
    snprintf(gone, sizeof gone, "Worker (pid:%d) ", (int)w[0]);
    CHECK(server_wait_log(&s, gone, 1, 5));
    CHECK_EQ_INT(server_metric(s.port, "nerd_worker_restarts_total"), 1);
    expect_paris(s.port);
    server_stop(&s, SIGTERM);
}

/* ---------------------------------------------------------------- out of descriptors */

TEST_T(hostile_out_of_file_descriptors_delays_accepts, 120)
{
    test_server s;
    const char *args[] = {"-k", "async", "-w", "1", NULL};
    server_start(&s, args);
    pid_t w[4];
    CHECK(server_workers(&s, w, 4) == 1);
    struct rlimit tiny = {64, 64};
    CHECK(prlimit(w[0], RLIMIT_NOFILE, &tiny, NULL) == 0);
    enum { N = 200 };
    int fds[N];
    for (int i = 0; i < N; i++) CHECK((fds[i] = tcp_connect(s.port)) >= 0); /* the backlog takes what the worker cannot */
    CHECK(server_wait_log(&s, "pausing accepts", 1, 5));
    /* blocked on descriptors, the worker waits rather than spins */
    usleep(300000);
    double c0 = process_cpu_seconds(w[0]), t0 = now_s();
    usleep(2000000);
    double cpu = process_cpu_seconds(w[0]) - c0, wall = now_s() - t0;
    printf("  worker at its 64-descriptor limit with %d clients: %.2f s CPU in %.1f s\n", N, cpu, wall);
    CHECKF(cpu < 0.2 * wall, "the worker used %.2f s of CPU in %.1f s while out of descriptors", cpu, wall);
    /* then every client is answered, as descriptors free up */
    static const char req[] = "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 17\r\n\r\n{\"text\": \"Paris\"}";
    for (int i = 0; i < N; i++) CHECK(send_all(fds[i], req, sizeof req - 1) == 0);
    int ok = 0, other = 0;
    for (int i = 0; i < N; i++) {
        buf out = {0};
        read_answers(fds[i], &out, 30);
        if (out.ptr && !strncmp(out.ptr, "HTTP/1.1 200 ", 13)) ok++;
        else if (out.ptr && !strncmp(out.ptr, "HTTP/1.1 503 ", 13)) other++;
        buf_free(&out);
        close(fds[i]);
    }
    printf("  %d of %d answered 200, %d shed with 503\n", ok, N, other);
    CHECK_EQ_INT(ok + other, N);
    pid_t w2[4];
    CHECK(server_workers(&s, w2, 4) == 1 && w2[0] == w[0]);
    expect_paris(s.port);
    server_stop(&s, SIGTERM);
}

/* ---------------------------------------------------------------- HUP with a broken model */

/* A model folder's ner weights replaced by a msgpack map whose array claims 4 G items. */
static void break_weights(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/ner/model", dir);
    CHECK(unlink(p) == 0);
    FILE *f = fopen(p, "wb");
    CHECK(f && fwrite("\x84\xa5nodes\xdd\xff\xff\xff\xff", 1, 11, f) == 11);
    fclose(f);
}

/* Waits up to 10 s until neither of the two old workers is among the server's two. */
static void expect_both_workers_replaced(const test_server *s, const pid_t old[2])
{
    pid_t now[4];
    int fresh = 0;
    for (int i = 0; i < 200 && fresh != 2; i++) {
        usleep(50000);
        fresh = 0;
        if (server_workers(s, now, 4) == 2)
            for (int k = 0; k < 2; k++) fresh += now[k] != old[0] && now[k] != old[1];
    }
    CHECK_EQ_INT(fresh, 2);
}

TEST_T(serve_hup_reload_refused_with_broken_or_missing_model, 90)
{
    char real[1024], copy[256], cmd[2048];
    CHECK(realpath(test_path("models/en_core_web_sm"), real));
    snprintf(copy, sizeof copy, "/tmp/nerd-hup-model-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -rs %s %s", copy, real, copy);
    CHECK(system(cmd) == 0);
    test_server s;
    const char *args[] = {"-k", "async", "-w", "2", "--model", copy, NULL};
    server_start(&s, args);
    pid_t w[4], now[4];
    for (int i = 0; i < 100 && server_workers(&s, w, 4) != 2; i++) usleep(50000);
    CHECK(server_workers(&s, w, 4) == 2);
    /* corrupted weights */
    break_weights(copy);
    kill(s.pid, SIGHUP);
    CHECKF(server_wait_log(&s, "Reload refused", 1, 20), "no refusal in the log");
    CHECK(server_workers(&s, now, 4) == 2 && ((now[0] == w[0] && now[1] == w[1]) || (now[0] == w[1] && now[1] == w[0])));
    expect_paris(s.port);
    /* the folder gone */
    snprintf(cmd, sizeof cmd, "rm -rf %s", copy);
    CHECK(system(cmd) == 0);
    kill(s.pid, SIGHUP);
    CHECKF(server_wait_log(&s, "Reload refused", 2, 20), "no second refusal in the log");
    CHECK(server_workers(&s, now, 4) == 2 && ((now[0] == w[0] && now[1] == w[1]) || (now[0] == w[1] && now[1] == w[0])));
    expect_paris(s.port);
    /* restored: the reload goes through and the workers are replaced */
    snprintf(cmd, sizeof cmd, "cp -rs %s %s", real, copy);
    CHECK(system(cmd) == 0);
    kill(s.pid, SIGHUP);
    CHECKF(server_wait_log(&s, "Reloaded", 1, 20), "the good model was not reloaded");
    expect_both_workers_replaced(&s, w);
    expect_paris(s.port);
    server_stop(&s, SIGTERM);
    snprintf(cmd, sizeof cmd, "rm -rf %s", copy);
    CHECK(system(cmd) == 0);
}

/* ---------------------------------------------------------------- a worker busy past --timeout */

/* A real endless-looking computation: a 2 MiB text takes seconds in the model on the loop
 * thread, where the heartbeat cannot beat; with --timeout 1 the master kills the worker
 * (Gunicorn's rule: no request may run past the timeout) and starts another. */
TEST_T(hostile_worker_busy_past_timeout_is_killed_and_replaced, 90)
{
    test_server s;
    const char *args[] = {"-k", "async", "-w", "1", "--timeout", "1", "--max-body-size", "4000000", NULL};
    server_start(&s, args);
    pid_t w[4];
    CHECK(server_workers(&s, w, 4) == 1);
    buf req = {0}, out = {0};
    long_text_request(&req, 2u << 20);
    double took = timed_exchange(s.port, &req, &out, NULL);
    printf("  the request's connection ended after %.1f s with %zu bytes of answer\n", took, out.len);
    CHECKF(out.len == 0, "the busy worker answered: %.200s", out.ptr);
    CHECKF(server_wait_log(&s, "WORKER TIMEOUT", 1, 5), "no WORKER TIMEOUT in the log");
    pid_t now[4];
    int n = 0;
    for (int i = 0; i < 100 && !(n == 1 && now[0] != w[0]); i++) { usleep(50000); n = server_workers(&s, now, 4); }
    CHECKF(n == 1 && now[0] != w[0], "the busy worker was not replaced");
    expect_paris(s.port);
    buf_free(&req);
    buf_free(&out);
    server_stop(&s, SIGTERM);
}

/* ---------------------------------------------------------------- crash loops and boot errors */

/* A pid in now[0..n) that is neither keep nor one already killed, or 0. */
static pid_t new_worker(const pid_t *now, int n, pid_t keep, const pid_t *killed, int nkilled)
{
    for (int i = 0; i < n; i++) {
        int seen = now[i] == keep;
        for (int k = 0; k < nkilled; k++) seen |= now[i] == killed[k];
        if (!seen) return now[i];
    }
    return 0;
}

/* The newest worker killed 0.5 s after it boots, again and again: each is a crash to restart,
 * never a boot failure. The master used to count five such deaths as "Workers fail to boot" and
 * exit, taking the healthy worker with it. Now the other worker serves throughout, and each
 * crash in a row waits longer before its restart, up to 2 s. */
#define CRASH_KILLS 12

TEST_T(hostile_workers_killed_again_and_again_are_restarted_with_a_backoff, 150)
{
    test_server s;
    const char *args[] = {"-k", "async", "-w", "2", NULL};
    server_start(&s, args);
    pid_t w[8], killed[CRASH_KILLS];
    CHECK_EQ_INT(server_wait_workers(&s, w, 8, 2, 10), 2);
    pid_t keep = w[0], victim = w[1];
    double restart_s[CRASH_KILLS];
    for (int k = 0; k < CRASH_KILLS; k++) {
        usleep(500000);
        CHECK(kill(victim, SIGKILL) == 0);
        killed[k] = victim;
        double t0 = now_s();
        victim = 0;
        while (!victim && now_s() - t0 < 15) {
            usleep(10000);
            int n = server_workers(&s, w, 8);
            victim = new_worker(w, n, keep, killed, k + 1);
        }
        restart_s[k] = now_s() - t0;
        CHECKF(victim, "kill %d: no new worker within 15 s (log %s)", k + 1, s.log);
        CHECKF(kill(s.pid, 0) == 0, "the master is gone after %d kills", k + 1);
        expect_paris(s.port);
    }
    printf("  a new worker after each of %d kills (s):", CRASH_KILLS);
    for (int k = 0; k < CRASH_KILLS; k++) printf(" %.2f", restart_s[k]);
    printf("\n");
    CHECK_EQ_INT(server_wait_workers(&s, w, 8, 2, 10), 2);
    CHECK(w[0] == keep || w[1] == keep); /* the healthy worker served throughout */
    CHECK_EQ_INT(server_metric(s.port, "nerd_worker_restarts_total"), CRASH_KILLS);
    /* the first crash is replaced at once; the pause grows to 2 s, and a loaded machine only
     * adds to it */
    CHECKF(restart_s[CRASH_KILLS - 1] >= 1.8, "the last restart came %.2f s after its kill", restart_s[CRASH_KILLS - 1]);
    CHECK(server_wait_log(&s, "restarting it in 2.0 s", 1, 1));
    size_t len;
    char *log = test_read_file(s.log, &len);
    CHECKF(log && !strstr(log, "fail"), "the log speaks of a failure:\n%s", log);
    free(log);
    int st = server_stop(&s, SIGTERM);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A worker that truly cannot boot still stops the master, with its error in the log and
 * Gunicorn's exit code 3: here its 32 inference threads find no address space for their stacks
 * (the master's RLIMIT_AS is lowered under it, and TTIN starts one more worker). */
TEST_T(serve_worker_that_cannot_boot_stops_the_master, 60)
{
    test_server s;
    const char *args[] = {"-k", "async", "-w", "2", "--threads", "32", NULL};
    server_start(&s, args);
    pid_t w[8];
    CHECK_EQ_INT(server_wait_workers(&s, w, 8, 2, 10), 2);
    long vm_kib = process_status_kib(s.pid, "VmSize:");
    CHECK(vm_kib > 0);
    /* room for the master's own small allocations, far from 32 stacks of 8 MiB */
    struct rlimit as;
    CHECK(prlimit(s.pid, RLIMIT_AS, NULL, &as) == 0);
    as.rlim_cur = (rlim_t)(vm_kib + 64 * 1024) * 1024;
    CHECK(prlimit(s.pid, RLIMIT_AS, &as, NULL) == 0);
    kill(s.pid, SIGTTIN);
    int st = server_wait_exit(&s, 20);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 3, "the master's exit status: %d", st);
    CHECKF(server_wait_log(&s, "cannot start inference thread", 1, 1), "no worker error in %s", s.log);
    CHECKF(server_wait_log(&s, "failed to boot", 1, 1), "no boot failure in %s", s.log);
    unlink(s.log);
}

/* Two models, and HUP with one folder broken: the other is reloaded and the workers replaced,
 * the broken one keeps its old version serving in the new workers. */
static void hup_two_models_one_broken(const char *wclass)
{
    char real[1024], copy[256], cmd[2048], real_arg[1100], copy_arg[300];
    CHECK(realpath(test_path("models/en_core_web_sm"), real));
    snprintf(copy, sizeof copy, "/tmp/nerd-hup-models-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -rs %s %s", copy, real, copy);
    CHECK(system(cmd) == 0);
    snprintf(real_arg, sizeof real_arg, "real=%s", test_real_model());
    snprintf(copy_arg, sizeof copy_arg, "standin=%s", copy);
    test_server s;
    const char *args[] = {"-k", wclass, "-w", "2", "--model", real_arg, "--model", copy_arg, NULL};
    server_start(&s, args);
    pid_t w[4];
    CHECK(server_wait_workers(&s, w, 4, 2, 5) == 2);
    static const char *const bodies[] = {"{\"text\": \"Angela Merkel visited Paris.\", \"model\": \"real\"}",
                                         "{\"text\": \"Angela Merkel visited Paris.\", \"model\": \"standin\"}"};
    buf before[2] = {{0}}, after = {0}, models_before = {0};
    for (int i = 0; i < 2; i++) CHECK(http_json(s.port, "POST", "/ents", bodies[i], &before[i]) == 200);
    CHECKF(strcmp(http_body(&before[0]), http_body(&before[1])), "the models must differ here: %s", http_body(&before[0]));
    CHECK(http_json(s.port, "GET", "/models", NULL, &models_before) == 200);
    break_weights(copy);
    kill(s.pid, SIGHUP);
    CHECKF(server_wait_log(&s, "Model standin not reloaded, its old version keeps serving", 1, 20), "no refusal in %s", s.log);
    CHECKF(server_wait_log(&s, "Model real reloaded", 1, 20), "real was not reloaded: %s", s.log);
    CHECKF(server_wait_log(&s, "Reloaded 1 of 2 models", 1, 20), "%s", s.log);
    expect_both_workers_replaced(&s, w);
    /* the new workers answer as the old ones did, each model by its name, and list the same weights */
    for (int i = 0; i < 2; i++) {
        buf_clear(&after);
        CHECK(http_json(s.port, "POST", "/ents", bodies[i], &after) == 200);
        CHECK_EQ_STR(http_body(&after), http_body(&before[i]));
    }
    buf_clear(&after);
    CHECK(http_json(s.port, "GET", "/models", NULL, &after) == 200);
    CHECK_EQ_STR(http_body(&after), http_body(&models_before));
    for (int i = 0; i < 2; i++) buf_free(&before[i]);
    buf_free(&after);
    buf_free(&models_before);
    server_stop(&s, SIGTERM);
    snprintf(cmd, sizeof cmd, "rm -rf %s", copy);
    CHECK(system(cmd) == 0);
}

TEST_T(serve_hup_two_models_one_broken_keeps_its_old_version_async, 90) { hup_two_models_one_broken("async"); }
TEST_T(serve_hup_two_models_one_broken_keeps_its_old_version_sync, 90) { hup_two_models_one_broken("sync"); }
