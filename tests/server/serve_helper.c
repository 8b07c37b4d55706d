#include "serve_helper.h"
#include "test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
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

void server_start(test_server *s, const char *const *args)
{
    /* pids come round again and random() is never seeded: a failed test's log (kept to read)
     * must not be appended to, or its old "Listening at" line names a dead port */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(s->log, sizeof s->log, "/tmp/nerd-test-%d-%lld%09ld.log", (int)getpid(), (long long)ts.tv_sec, ts.tv_nsec);
    unlink(s->log);
    const char *argv[64];
    int n = 0;
    argv[n++] = test_nerd_bin();
    argv[n++] = "serve";
    argv[n++] = "-b";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--error-logfile";
    argv[n++] = s->log;
    int names_a_model = 0; /* --model is repeatable (several models): the stand-in only when args name none */
    for (int i = 0; args && args[i]; i++) names_a_model |= !strcmp(args[i], "--model") || !strncmp(args[i], "--model=", 8);
    if (!names_a_model) {
        argv[n++] = "--model";
        argv[n++] = test_standin();
    }
    for (int i = 0; args && args[i] && n < 62; i++) argv[n++] = args[i];
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid == 0) {
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    s->port = 0;
    double end = now_s() + 20;
    while (now_s() < end && !s->port) {
        size_t len;
        char *log = test_read_file(s->log, &len);
        const char *at = log ? strstr(log, "Listening at: http://127.0.0.1:") : NULL;
        if (at) s->port = atoi(at + strlen("Listening at: http://127.0.0.1:"));
        free(log);
        if (!s->port) usleep(20000);
    }
    CHECKF(s->port > 0, "nerd serve did not start (log %s)", s->log);
    while (now_s() < end) {
        buf out = {0};
        int st = http_json(s->port, "GET", "/readyz", NULL, &out);
        buf_free(&out);
        if (st == 200) return;
        usleep(20000);
    }
    test_fail(__FILE__, __LINE__, "nerd serve never became ready (log %s)", s->log);
}

int server_stop(test_server *s, int sig)
{
    int status = 0;
    kill(s->pid, sig);
    double end = now_s() + 40;
    while (now_s() < end) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid) { unlink(s->log); return status; }
        usleep(20000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    test_fail(__FILE__, __LINE__, "nerd serve did not stop on signal %d", sig);
}

int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa)) { close(fd); return -1; }
    return fd;
}

int send_all(int fd, const void *p, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, (const char *)p + off, len - off, MSG_NOSIGNAL);
        if (n <= 0) return -1;
        off += (size_t)n;
    }
    return 0;
}

int read_answers(int fd, buf *out, double seconds)
{
    double end = now_s() + seconds;
    while (now_s() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        char chunk[65536];
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return n == 0 ? 1 : 0;
        buf_append(out, chunk, (size_t)n);
    }
    return 0;
}

static int raw_request(int port, const char *raw, size_t len, buf *out, int until_close)
{
    int fd = tcp_connect(port);
    if (fd < 0) return 0;
    send_all(fd, raw, len);
    double end = now_s() + 10;
    while (now_s() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        char chunk[65536];
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        buf_append(out, chunk, (size_t)n);
        /* a whole response: the head and Content-Length bytes of body */
        const char *hend = out->ptr ? strstr(out->ptr, "\r\n\r\n") : NULL;
        const char *cl = out->ptr ? strcasestr(out->ptr, "Content-Length: ") : NULL;
        if (!until_close && hend && cl && cl < hend && (size_t)(out->ptr + out->len - (hend + 4)) >= strtoul(cl + 16, NULL, 10) &&
            strncmp(out->ptr + 9, "100", 3))
            break;
    }
    close(fd);
    return out->len > 12 && !strncmp(out->ptr, "HTTP/1.", 7) ? atoi(out->ptr + 9) : 0;
}

int http_raw(int port, const char *raw, size_t len, buf *out) { return raw_request(port, raw, len, out, 0); }
int http_raw_all(int port, const char *raw, size_t len, buf *out) { return raw_request(port, raw, len, out, 1); }

int http_json(int port, const char *method, const char *path, const char *body, buf *out)
{
    buf req = {0};
    buf_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, path);
    if (body) buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    else buf_puts(&req, "\r\n");
    int st = http_raw(port, req.ptr, req.len, out);
    buf_free(&req);
    return st;
}

const char *http_body(const buf *out)
{
    const char *h = out->ptr ? strstr(out->ptr, "\r\n\r\n") : NULL;
    return h ? h + 4 : NULL;
}

int server_workers(const test_server *s, pid_t *pids, int max)
{
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) && n < max) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char p[300]; /* "/proc/" + a d_name of up to 255 bytes + "/stat" */
        snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
        size_t len;
        char *st = test_read_file(p, &len);
        if (!st) continue;
        char *rp = strrchr(st, ')');
        int ppid = 0;
        if (rp) sscanf(rp + 2, "%*c %d", &ppid);
        if (ppid == s->pid) pids[n++] = atoi(e->d_name);
        free(st);
    }
    if (d) closedir(d);
    return n;
}

int server_wait_workers(const test_server *s, pid_t *pids, int max, int want, double seconds)
{
    int n = server_workers(s, pids, max);
    for (double end = now_s() + seconds; n != want && now_s() < end;) {
        usleep(50000);
        n = server_workers(s, pids, max);
    }
    return n;
}

long server_metric(int port, const char *name)
{
    buf out = {0};
    long v = -1;
    if (http_json(port, "GET", "/metrics", NULL, &out) == 200) {
        char key[128];
        snprintf(key, sizeof key, "\n%s ", name);
        const char *at = strstr(out.ptr, key);
        if (at) v = atol(at + strlen(key));
    }
    buf_free(&out);
    return v;
}

void long_text_request(buf *req, size_t bytes)
{
    buf body = {0};
    buf_puts(&body, "{\"text\": \"");
    while (body.len < bytes) buf_puts(&body, "Angela Merkel visited Paris on 3 May 2021. ");
    buf_puts(&body, "\"}");
    buf_printf(req, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", body.len);
    buf_append(req, body.ptr, body.len);
    buf_free(&body);
}

double timed_exchange(int port, const buf *req, buf *out, int *closed)
{
    int fd = tcp_connect(port);
    double t0 = now_s();
    CHECK(fd >= 0 && send_all(fd, req->ptr, req->len) == 0);
    int c = read_answers(fd, out, 30);
    double took = now_s() - t0;
    close(fd);
    if (closed) *closed = c;
    return took;
}

void model_copy(const char *tag, const char *edit, char *dir, size_t size)
{
    char cmd[1400];
    snprintf(dir, size, "/tmp/nerd-model-%s-%d", tag, (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -rL %s %s && chmod -R u+w %s && cd %s && %s", dir, test_standin(), dir, dir,
             dir, edit);
    CHECK(system(cmd) == 0);
}

void model_copy_remove(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

void expect_paris(int port)
{
    buf out = {0};
    CHECK(http_json(port, "POST", "/", "{\"text\": \"Angela Merkel visited Paris.\"}", &out) == 200);
    CHECKF(strstr(out.ptr, "\"Paris\":\"GPE\""), "%s", out.ptr);
    buf_free(&out);
}

int server_wait_log(const test_server *s, const char *needle, int count, double seconds)
{
    double end = now_s() + seconds;
    while (now_s() < end) {
        size_t len;
        char *log = test_read_file(s->log, &len);
        int n = 0;
        for (const char *p = log; p && (p = strstr(p, needle)); p++) n++;
        free(log);
        if (n >= count) return 1;
        usleep(50000);
    }
    return 0;
}

/* utime (+ stime if with_system) of a /proc stat file (a process's or one thread's), in
 * seconds, or -1 */
static double stat_cpu_seconds(const char *p, int with_system)
{
    size_t len;
    char *t = test_read_file(p, &len);
    const char *rp = t ? strrchr(t, ')') : NULL; /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    int ok = rp && sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2;
    free(t);
    return ok ? (double)(ut + (with_system ? st : 0)) / (double)sysconf(_SC_CLK_TCK) : -1;
}

double process_cpu_seconds(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    return stat_cpu_seconds(p, 1);
}

double process_user_cpu_seconds(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    return stat_cpu_seconds(p, 0);
}

double main_thread_cpu_seconds(pid_t pid)
{
    char p[96];
    snprintf(p, sizeof p, "/proc/%d/task/%d/stat", (int)pid, (int)pid);
    return stat_cpu_seconds(p, 1);
}

long process_status_kib(pid_t pid, const char *field)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
    size_t len;
    char *t = test_read_file(p, &len);
    const char *at = t ? strstr(t, field) : NULL;
    long v = at ? atol(at + strlen(field)) : -1;
    free(t);
    return v;
}

int server_wait_exit(test_server *s, double seconds)
{
    int status = 0;
    for (double end = now_s() + seconds; now_s() < end; usleep(20000))
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) return status;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    test_fail(__FILE__, __LINE__, "nerd serve did not exit within %.0f s (log %s)", seconds, s->log);
}

struct rlimit open_files_limit_at_least(long need)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    CHECKF(rl.rlim_max >= (rlim_t)need, "the hard open-files limit %llu is below %ld: raise it (ulimit -Hn)",
           (unsigned long long)rl.rlim_max, need);
    return rl;
}
