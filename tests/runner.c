/* runner.c - runs the registered tests, each in a forked process with its own timeout,
 * up to -j N at once, and ends with the line "N passed, N failed". */
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static test_case *tests;
static size_t ntests;

void test_register(test_case *t) { t->next = tests; tests = t; ntests++; }

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    exit(1);
}

const char *test_shared(void)
{
    const char *s = getenv("NERD_SHARED");
    return s && *s ? s : "../shared";
}

const char *test_path(const char *rel)
{
    static char ring[8][4096];
    static int k;
    char *b = ring[k++ & 7];
    snprintf(b, sizeof ring[0], "%s/%s", test_shared(), rel);
    return b;
}

const char *test_nerd_bin(void)
{
    const char *s = getenv("NERD_BIN");
    return s && *s ? s : "build/nerd";
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0) break;
        n += r;
    }
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(test_case *const *)a)->name, (*(test_case *const *)b)->name);
}

double test_clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_s(void) { return test_clock_s(CLOCK_MONOTONIC); }

typedef struct { pid_t pid; test_case *t; double start; } running;

/* file scope, so that a forked test's exit does not report them as leaks */
static test_case **v;
static running *run;

int main(int argc, char **argv)
{
    int jobs = 1, list = 0;
    const char *filters[64];
    int nfilters = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-j") && i + 1 < argc) jobs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--list")) list = 1;
        else if (nfilters < 64) filters[nfilters++] = argv[i];
    }
    const char *j = getenv("NERD_TEST_JOBS");
    if (j && atoi(j) > 0) jobs = atoi(j);
    if (jobs < 1) jobs = 1;

    v = calloc(ntests ? ntests : 1, sizeof *v);
    size_t n = 0;
    for (test_case *t = tests; t; t = t->next) {
        /* hostile_* tests take tens of seconds each: only `make test-hostile` (a filter) runs them */
        int keep = nfilters == 0 && strncmp(t->name, "hostile_", 8);
        for (int f = 0; f < nfilters && !keep; f++) keep = strstr(t->name, filters[f]) != NULL;
        if (keep) v[n++] = t;
    }
    qsort(v, n, sizeof *v, by_name);
    if (list) {
        for (size_t i = 0; i < n; i++) printf("%s\n", v[i]->name);
        return 0;
    }

    setvbuf(stdout, NULL, _IOLBF, 0);
    run = calloc(jobs, sizeof *run);
    size_t next = 0, passed = 0, failed = 0;
    int active = 0;
    while (next < n || active > 0) {
        while (active < jobs && next < n) {
            test_case *t = v[next++];
            fflush(stdout);
            fflush(stderr);
            pid_t pid = fork();
            if (pid == 0) {
                setpgid(0, 0); /* so a timeout kills the test's own children too */
                alarm(t->timeout_s * TEST_TIME_FACTOR);
                t->fn();
                exit(0);
            }
            for (int s = 0; s < jobs; s++)
                if (!run[s].pid) { run[s] = (running){pid, t, now_s()}; break; }
            active++;
        }
        int status;
        pid_t pid = wait(&status);
        if (pid < 0) { if (errno == EINTR) continue; break; }
        for (int s = 0; s < jobs; s++) {
            if (run[s].pid != pid) continue;
            double ms = (now_s() - run[s].start) * 1000;
            kill(-pid, SIGKILL); /* reap strays left by the test (servers it started) */
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                passed++;
                printf("ok   %-48s %8.0f ms\n", run[s].t->name, ms);
            } else {
                failed++;
                if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
                    printf("FAIL %-48s timeout after %d s\n", run[s].t->name, run[s].t->timeout_s * TEST_TIME_FACTOR);
                else if (WIFSIGNALED(status))
                    printf("FAIL %-48s killed by signal %d\n", run[s].t->name, WTERMSIG(status));
                else
                    printf("FAIL %-48s exit %d\n", run[s].t->name, WEXITSTATUS(status));
            }
            run[s].pid = 0;
            active--;
        }
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}
