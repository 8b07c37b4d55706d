/* master.c - `nerd serve`: the pre-fork master. It loads the models once (forked workers share
 * its pages), binds the listeners, forks the workers and supervises them: a worker that exits
 * or crashes is replaced, one whose heartbeat stops for --timeout seconds is killed and
 * replaced, and an async worker whose inference thread is stuck past --timeout retires itself
 * (worker.c) and is replaced. Crashes in a row are restarted after a growing pause (see
 * restart_backoff); only a worker that cannot boot (WORKER_EXIT_BOOT_ERROR) stops the master.
 * Signals, as Gunicorn's, reach the loop through a self-pipe, never doing work in a handler:
 *   TERM       graceful shutdown (in-flight requests finish within --graceful-timeout)
 *   INT, QUIT  quick shutdown
 *   HUP        reload every model and replace the workers gracefully; a model that fails to
 *              load keeps its old version serving (in the new workers too)
 *   TTIN/TTOU  one worker more / fewer */
#include "server/gate.h"
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int slot;
    uint64_t gen;        /* model generation it serves */
    double born;
    int quitting;        /* told to TERM or QUIT: its exit is expected */
    int retiring;        /* draining to exit on its own: already replaced, its exit still logged */
} worker_rec;

static int sig_pipe[2] = {-1, -1};

static void on_signal(int s)
{
    int saved = errno;
    unsigned char b = (unsigned char)s;
    if (write(sig_pipe[1], &b, 1) < 0) {}
    errno = saved;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ listeners */

static int bind_one(const char *spec, int backlog, char *desc, size_t desclen, char *err, size_t errlen)
{
    if (!strncmp(spec, "unix:", 5)) {
        const char *path = spec + 5;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof sa.sun_path) { snprintf(err, errlen, "unix socket path too long: %s", path); return -1; }
        strcpy(sa.sun_path, path);
        unlink(path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, backlog)) {
            snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
            if (fd >= 0) close(fd);
            return -1;
        }
        snprintf(desc, desclen, "%s", spec);
        return fd;
    }
    char host[256], port[32];
    const char *colon = strrchr(spec, ':');
    if (spec[0] == '[') {
        const char *rb = strchr(spec, ']');
        if (!rb || rb[1] != ':') { snprintf(err, errlen, "bad bind address %s", spec); return -1; }
        snprintf(host, sizeof host, "%.*s", (int)(rb - spec - 1), spec + 1);
        snprintf(port, sizeof port, "%s", rb + 2);
    } else if (colon) {
        snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
        snprintf(port, sizeof port, "%s", colon + 1);
    } else {
        snprintf(host, sizeof host, "%s", spec);
        snprintf(port, sizeof port, "8000");
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
    int rc = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
    if (rc) { snprintf(err, errlen, "cannot resolve %s: %s", spec, gai_strerror(rc)); return -1; }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, backlog)) {
        snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    char h[128], p[16];
    getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, p, sizeof p, NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(desc, desclen, ss.ss_family == AF_INET6 ? "http://[%s]:%s" : "http://%s:%s", h, p);
    return fd;
}

/* ------------------------------------------------------------------ the arbiter */

typedef struct {
    server_config *cfg;
    served_model models[SERVER_MAX_MODELS]; /* cfg->nmodels, in --model order */
    uint64_t gen;
    int listen_fds[SERVER_MAX_BINDS];
    int nlisten;
    server_shared *shared;
    worker_rec workers[SERVER_MAX_WORKERS];
    int nworkers;
    int target;
    int crash_streak;    /* crashes in a row of workers that lived under CRASH_STREAK_RESET_S */
    double respawn_at;   /* no worker is started before this (the restart backoff) */
    enum { RUN, QUICK, GRACEFUL } mode;
    double stop_deadline; /* QUICK or GRACEFUL: when the workers still alive are killed */
    int exit_code;
    int wrote_pidfile;
} arbiter;

/* A worker that crashes once is replaced at once. Each further crash of a worker that lived
 * less than CRASH_STREAK_RESET_S doubles the pause before the next start, from
 * RESTART_BACKOFF_FIRST_S to RESTART_BACKOFF_MAX_S: a crash loop (a poison request, a broken
 * host) costs little CPU and leaves a readable log, while the other workers keep serving. */
#define RESTART_BACKOFF_FIRST_S 0.1
#define RESTART_BACKOFF_MAX_S 2.0
#define CRASH_STREAK_RESET_S 10.0

/* glibc's initial threshold; fixed, it no longer moves (see cmd_serve) */
#define MASTER_MMAP_THRESHOLD_BYTES (128 * 1024)

static double restart_backoff(int crash_streak)
{
    if (crash_streak <= 1) return 0;
    double pause = RESTART_BACKOFF_FIRST_S;
    for (int i = 2; i < crash_streak && pause < RESTART_BACKOFF_MAX_S; i++) pause *= 2;
    return pause < RESTART_BACKOFF_MAX_S ? pause : RESTART_BACKOFF_MAX_S;
}

static int free_slot(arbiter *A)
{
    for (int s = 0; s < SERVER_MAX_WORKERS; s++) {
        int used = 0;
        for (int i = 0; i < A->nworkers; i++) used |= A->workers[i].slot == s;
        if (!used) return s;
    }
    return -1;
}

static void spawn(arbiter *A)
{
    int slot = free_slot(A);
    if (slot < 0 || A->nworkers == SERVER_MAX_WORKERS) return;
    worker_slot *ws = &A->shared->slots[slot];
    atomic_store(&ws->state, SLOT_BOOTING);
    atomic_store(&ws->heartbeat_ms, (int64_t)(now_s() * 1000));
    atomic_store(&ws->retiring, 0);
    atomic_store(&ws->handling_since_ms, 0);
    atomic_fetch_add(&ws->generation, 1);
    long maxreq = A->cfg->max_requests;
    if (maxreq && A->cfg->max_requests_jitter) maxreq += random() % (A->cfg->max_requests_jitter + 1);
    pid_t pid = fork();
    if (pid < 0) {
        log_msg(LOG_ERROR, "fork: %s", strerror(errno));
        atomic_store(&ws->state, SLOT_FREE);
        return;
    }
    if (pid == 0) {
        close(sig_pipe[0]);
        close(sig_pipe[1]);
        srandom((unsigned)getpid());
        worker_ctx w = {A->cfg, A->models, A->cfg->nmodels, A->listen_fds, A->nlisten, A->shared, slot, maxreq};
        atomic_store(&ws->pid, getpid());
        _exit(worker_main(&w));
    }
    atomic_store(&ws->pid, pid);
    A->workers[A->nworkers++] = (worker_rec){pid, slot, A->gen, now_s(), 0, 0};
    log_msg(LOG_INFO, "Booting worker with pid: %d", (int)pid);
}

static void signal_workers(arbiter *A, int sig, int only_old)
{
    for (int i = 0; i < A->nworkers; i++) {
        if (only_old && A->workers[i].gen == A->gen) continue;
        A->workers[i].quitting = 1;
        kill(A->workers[i].pid, sig);
    }
}

/* Reaps exited workers; returns 1 if one could not boot (the master must stop). */
static int reap(arbiter *A, int shutting_down)
{
    int boot_error = 0;
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < A->nworkers; i++) {
            worker_rec *w = &A->workers[i];
            if (w->pid != pid) continue;
            worker_slot *ws = &A->shared->slots[w->slot];
            atomic_store(&ws->state, SLOT_FREE);
            atomic_store(&ws->pid, 0);
            atomic_store(&ws->m.in_flight, 0);
            atomic_store(&ws->m.connections_open, 0);
            atomic_store(&ws->m.inference_threads, 0);
            atomic_store(&ws->m.inference_threads_busy, 0);
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            if (code == WORKER_EXIT_BOOT_ERROR) {
                log_msg(LOG_CRITICAL, "Worker (pid:%d) failed to boot (exit code %d, its error is above); shutting down",
                        (int)pid, code);
                boot_error = 1;
            } else if (!w->quitting && !shutting_down) {
                double lived = now_s() - w->born;
                if (code == WORKER_EXIT_STUCK_THREAD) {
                    log_msg(LOG_ERROR, "Worker (pid:%d) exited after retiring: an inference thread was stuck past --timeout",
                            (int)pid);
                } else if (code == 0) {
                    log_msg(LOG_INFO, "Worker (pid:%d) exited (recycled after its requests)", (int)pid);
                } else {
                    A->crash_streak = lived < CRASH_STREAK_RESET_S ? A->crash_streak + 1 : 1;
                    double pause = restart_backoff(A->crash_streak);
                    if (pause > 0 && now_s() + pause > A->respawn_at) A->respawn_at = now_s() + pause;
                    char how[64];
                    if (WIFSIGNALED(status)) snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
                    else snprintf(how, sizeof how, "exited with code %d", code);
                    log_msg(LOG_ERROR, "Worker (pid:%d) %s after %.1f s; restarting it in %.1f s (%d crash%s in a row)",
                            (int)pid, how, lived, pause, A->crash_streak, A->crash_streak == 1 ? "" : "es");
                }
                atomic_fetch_add(&A->shared->worker_restarts, 1);
            }
            A->workers[i] = A->workers[--A->nworkers];
            break;
        }
    }
    return boot_error;
}

static void check_heartbeats(arbiter *A)
{
    int64_t now_ms = (int64_t)(now_s() * 1000);
    for (int i = 0; i < A->nworkers; i++) {
        worker_rec *w = &A->workers[i];
        int64_t hb = atomic_load(&A->shared->slots[w->slot].heartbeat_ms);
        if (now_ms - hb > (int64_t)(A->cfg->timeout * 1000)) {
            log_msg(LOG_CRITICAL, "WORKER TIMEOUT (pid:%d): no heartbeat for %.1f s, killing it", (int)w->pid,
                    (now_ms - hb) / 1000.0);
            kill(w->pid, SIGKILL);
            atomic_store(&A->shared->slots[w->slot].heartbeat_ms, now_ms); /* one kill per timeout */
        }
    }
}

/* A worker that retires itself (worker.c: a stuck inference thread) no longer counts, so its
 * replacement starts while it drains rather than after it exits. */
static void note_retiring(arbiter *A)
{
    for (int i = 0; i < A->nworkers; i++) {
        worker_rec *w = &A->workers[i];
        if (w->quitting || w->retiring || !atomic_load(&A->shared->slots[w->slot].retiring)) continue;
        w->retiring = 1;
        log_msg(LOG_WARNING, "Worker (pid:%d) is retiring (an inference thread is stuck); starting its replacement",
                (int)w->pid);
    }
}

static int count_current(const arbiter *A, int ready_only)
{
    int n = 0;
    for (int i = 0; i < A->nworkers; i++) {
        const worker_rec *w = &A->workers[i];
        if (w->quitting || w->retiring || w->gen != A->gen) continue;
        if (ready_only && atomic_load(&A->shared->slots[w->slot].state) != SLOT_READY) continue;
        n++;
    }
    return n;
}

/* Loads one model of the set from its --model folder, at --precision, checked for its pipeline
 * (--pipeline, else what spacy.load runs for that folder, into *pipeline): the model, or NULL with
 * the cause in err. path receives the folder it resolved to. */
static nerd_model *load_served(const server_config *cfg, const model_spec *spec, char *path, size_t pathlen,
                               nerd_pipeline *pipeline, char *err, size_t errlen)
{
    if (nerd_model_path(spec->dir, path, pathlen, err, errlen)) return NULL;
    nerd_status st;
    nerd_model *m = nerd_model_load(path, &st, err, errlen);
    if (!m) return NULL;
    if (nerd_model_set_precision(m, cfg->precision) != NERD_OK) {
        snprintf(err, errlen, "cannot switch the model to %s: out of memory", nerd_precision_name(cfg->precision));
        nerd_model_free(m);
        return NULL;
    }
    *pipeline = cfg->pipeline_given ? cfg->pipeline : nerd_model_default_pipeline(m);
    if (!nerd_model_has_pipeline(m, *pipeline)) {
        snprintf(err, errlen, "cannot serve the %s pipeline: %s%s", nerd_pipeline_name(*pipeline),
                 nerd_model_pipeline_error(m, *pipeline),
                 *pipeline != NERD_PIPELINE_NER ? " (--pipeline ner serves the ner alone)" : "");
        nerd_model_free(m);
        return NULL;
    }
    return m;
}

/* HUP: load every model again. Each one that loads replaces its old version; one that fails
 * keeps its old version (the new workers serve it too). If any was reloaded, new workers start,
 * and the old ones are told to TERM (drain) once all new ones are ready (see the main loop). */
static void reload(arbiter *A)
{
    int reloaded = 0;
    for (int i = 0; i < A->cfg->nmodels; i++) {
        served_model *sm = &A->models[i];
        char path[sizeof sm->path], err[1024];
        nerd_pipeline pipeline;
        nerd_model *m = load_served(A->cfg, &A->cfg->models[i], path, sizeof path, &pipeline, err, sizeof err);
        if (!m) {
            log_msg(LOG_ERROR, "Model %s not reloaded, its old version keeps serving: %s", sm->name, err);
            continue;
        }
        log_msg(LOG_INFO, "Model %s reloaded: %s %s from %s (weights: sha256 %s of %s)", sm->name, nerd_model_name(m),
                nerd_model_version(m), path, nerd_model_weights_sha256(m), nerd_model_weights_files(m));
        /* the old workers have their own copy-on-write image of the old model: the master's can go */
        nerd_model_free(sm->model);
        sm->model = m;
        sm->pipeline = pipeline;
        snprintf(sm->path, sizeof sm->path, "%s", path);
        reloaded++;
    }
    if (!reloaded) {
        log_msg(LOG_ERROR, "Reload refused, the old workers keep serving: no model could be loaded");
        return;
    }
    /* the keys are read again with the models: the new workers get them (a file that fails keeps the old keys) */
    if (A->cfg->api_key_file) {
        char err[1024];
        if (api_keys_load(A->cfg, err, sizeof err)) log_msg(LOG_ERROR, "API keys not reloaded, the old ones stay: %s", err);
        else log_msg(LOG_INFO, "API keys: %zu reloaded from %s", api_keys_count(), A->cfg->api_key_file);
    }
    malloc_trim(0); /* the old models' small allocations leave free pages inside the heap: give them back */
    log_msg(LOG_INFO, "Reloaded %d of %d models; replacing the workers", reloaded, A->cfg->nmodels);
    A->gen++;
    atomic_fetch_add(&A->shared->model_generation, 1);
}

/* Each async worker may hold --worker-connections sockets: raise the soft open-files limit
 * towards that (within the hard limit), as nginx's worker_rlimit_nofile does. When it cannot,
 * accepts pause at the limit (the backlog holds the rest), and the log says why. */
static void raise_fd_limit(const server_config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl)) return;
    rlim_t want = (rlim_t)(cfg->wclass == WORKER_ASYNC ? cfg->worker_connections : 1) + 64;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < want)
        log_msg(LOG_WARNING, "open files limit is %llu, below --worker-connections %d: accepts pause when it is reached",
                (unsigned long long)rl.rlim_cur, cfg->worker_connections);
}

/* Everything before the arbiter's loop: the model, the listeners, the pid file, the shared
 * memory and the signals. 0, or the exit code of a master that cannot start. */
static int arbiter_setup(arbiter *A, server_config *cfg)
{
    char err[1024];
    *A = (arbiter){.cfg = cfg, .target = cfg->workers, .gen = 1, .mode = RUN};
    raise_fd_limit(cfg);
    /* glibc raises its mmap threshold to the size of each large block freed, so after the first
     * HUP the next model's arrays came from the brk heap, where the two models of a reload left
     * tens of MB of free but resident pages behind them (measured: 36 MB before the first HUP,
     * 120 MB after 12, none of it in use). A fixed threshold keeps large arrays in their own
     * mappings, returned whole when the old model is freed. */
    mallopt(M_MMAP_THRESHOLD, MASTER_MMAP_THRESHOLD_BYTES);
    for (int i = 0; i < cfg->nmodels; i++) {
        served_model *sm = &A->models[i];
        double t0 = now_s();
        sm->model = load_served(cfg, &cfg->models[i], sm->path, sizeof sm->path, &sm->pipeline, err, sizeof err);
        if (!sm->model) { log_msg(LOG_CRITICAL, "cannot load the model %s: %s", cfg->models[i].dir ? cfg->models[i].dir : sm->path, err); return 1; }
        snprintf(sm->name, sizeof sm->name, "%s", cfg->models[i].name ? cfg->models[i].name : nerd_model_name(sm->model));
        for (int k = 0; k < i; k++)
            if (!strcmp(A->models[k].name, sm->name)) {
                log_msg(LOG_CRITICAL, "two models are named %s: give them names (--model NAME=DIR)", sm->name);
                return 1;
            }
        log_msg(LOG_INFO, "%s nerd %s: model %s%s: %s %s from %s in %.0f ms, %s pipeline, precision %s (%s kernels, instruction set %s)",
                i ? "Also serving with" : "Starting", NERD_VERSION, sm->name, i ? "" : " (the default)",
                nerd_model_name(sm->model), nerd_model_version(sm->model), sm->path, (now_s() - t0) * 1e3,
                nerd_pipeline_name(sm->pipeline),
                nerd_precision_name(cfg->precision), nerd_precision_kernel(cfg->precision), nerd_isa());
        log_msg(LOG_INFO, "Weights: sha256 %s of %s", nerd_model_weights_sha256(sm->model),
                nerd_model_weights_files(sm->model));
    }
    FILE *sc = fopen("/proc/sys/net/core/somaxconn", "r");
    int somax = 0;
    if (sc) { if (fscanf(sc, "%d", &somax) != 1) somax = 0; fclose(sc); }
    if (somax && somax < cfg->backlog)
        log_msg(LOG_WARNING, "net.core.somaxconn is %d, below --backlog %d: the kernel caps the backlog", somax, cfg->backlog);
    for (int i = 0; i < cfg->nbinds; i++) {
        char desc[256];
        int fd = bind_one(cfg->binds[i], cfg->backlog, desc, sizeof desc, err, sizeof err);
        if (fd < 0) { log_msg(LOG_CRITICAL, "%s", err); return 1; }
        A->listen_fds[A->nlisten++] = fd;
        log_msg(LOG_INFO, "Listening at: %s (%d)", desc, (int)getpid());
    }
    log_msg(LOG_INFO, "Using worker: %s%s", cfg->wclass == WORKER_ASYNC ? "async" : "sync",
            cfg->wclass == WORKER_ASYNC && cfg->threads ? " with inference threads" : "");
    if (cfg->pidfile) {
        FILE *pf = fopen(cfg->pidfile, "w");
        if (!pf) { log_msg(LOG_CRITICAL, "cannot write pid file %s: %s", cfg->pidfile, strerror(errno)); return 1; }
        fprintf(pf, "%d\n", (int)getpid());
        fclose(pf);
        A->wrote_pidfile = 1;
    }
    A->shared = mmap(NULL, sizeof(server_shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (A->shared == MAP_FAILED) {
        A->shared = NULL;
        log_msg(LOG_CRITICAL, "mmap: %s", strerror(errno));
        return 1;
    }
    if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC)) { log_msg(LOG_CRITICAL, "pipe: %s", strerror(errno)); return 1; }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    int sigs[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU, SIGCHLD};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned)time(NULL));
    return 0;
}

/* Stops serving: the workers are told (sig), and those left at the deadline are killed. */
static void arbiter_stop(arbiter *A, int mode, int sig, double within)
{
    A->mode = mode;
    atomic_store(&A->shared->draining, 1);
    signal_workers(A, sig, 0);
    A->stop_deadline = now_s() + within;
}

/* Gunicorn's manage_workers: as many current workers as the target (after the restart backoff),
 * the newest retired after a TTOU, the old generation gone once the new one is ready, and the
 * heartbeats watched. */
static void manage_workers(arbiter *A)
{
    note_retiring(A);
    while (now_s() >= A->respawn_at && count_current(A, 0) < A->target && A->nworkers < SERVER_MAX_WORKERS)
        spawn(A);
    int extra = count_current(A, 0) - A->target; /* TTOU: retire the newest */
    for (int i = A->nworkers - 1; i >= 0 && extra > 0; i--) {
        if (A->workers[i].quitting || A->workers[i].retiring || A->workers[i].gen != A->gen) continue;
        A->workers[i].quitting = 1;
        kill(A->workers[i].pid, SIGTERM);
        extra--;
    }
    /* after a reload: old workers go once every new one is ready */
    int old = 0;
    for (int i = 0; i < A->nworkers; i++) old += A->workers[i].gen != A->gen && !A->workers[i].quitting;
    if (old && count_current(A, 1) >= A->target) signal_workers(A, SIGTERM, 1);
    check_heartbeats(A);
}

static void handle_signal(arbiter *A, int s)
{
    if ((s == SIGQUIT || s == SIGINT) && A->mode != QUICK) {
        log_msg(LOG_INFO, "Handling signal: %s; quick shutdown", s == SIGQUIT ? "quit" : "int");
        arbiter_stop(A, QUICK, SIGQUIT, 2);
    } else if (s == SIGTERM && A->mode == RUN) {
        log_msg(LOG_INFO, "Handling signal: term; graceful shutdown");
        arbiter_stop(A, GRACEFUL, SIGTERM, A->cfg->graceful_timeout);
    } else if (s == SIGHUP && A->mode == RUN) {
        log_msg(LOG_INFO, "Handling signal: hup");
        reload(A);
    } else if (s == SIGTTIN && A->mode == RUN) {
        if (A->target < SERVER_MAX_WORKERS / 2) A->target++;
        log_msg(LOG_INFO, "Handling signal: ttin; %d workers", A->target);
    } else if (s == SIGTTOU && A->mode == RUN) {
        if (A->target > 1) A->target--;
        log_msg(LOG_INFO, "Handling signal: ttou; %d workers", A->target);
    }
}

/* Waits for a signal (through the self-pipe), at most 250 ms or until the restart backoff ends,
 * then handles the signals that came. */
static void arbiter_sleep(arbiter *A)
{
    struct pollfd p = {.fd = sig_pipe[0], .events = POLLIN};
    int wait_ms = 250;
    if (A->mode == RUN && A->respawn_at > now_s() && (A->respawn_at - now_s()) * 1000 < wait_ms)
        wait_ms = (int)((A->respawn_at - now_s()) * 1000) + 1;
    poll(&p, 1, wait_ms);
    unsigned char sb[64];
    ssize_t n;
    while ((n = read(sig_pipe[0], sb, sizeof sb)) > 0)
        for (ssize_t k = 0; k < n; k++) handle_signal(A, sb[k]);
}

/* The arbiter's loop (Gunicorn's Arbiter.run): reap, manage, sleep, until every worker is gone
 * after a shutdown. Returns the exit code. */
static int arbiter_run(arbiter *A)
{
    for (;;) {
        if (reap(A, A->mode != RUN) && A->exit_code != WORKER_EXIT_BOOT_ERROR) {
            /* Gunicorn halts the same way: the other workers finish what they hold */
            A->exit_code = WORKER_EXIT_BOOT_ERROR;
            if (A->mode == RUN) arbiter_stop(A, GRACEFUL, SIGTERM, A->cfg->graceful_timeout);
        }
        if (A->mode == RUN) manage_workers(A);
        if (A->mode != RUN) {
            if (!A->nworkers) break;
            if (now_s() >= A->stop_deadline) {
                signal_workers(A, SIGKILL, 0);
                A->stop_deadline = now_s() + 5;
            }
        }
        arbiter_sleep(A);
    }
    log_msg(LOG_INFO, "Shutting down: master");
    return A->exit_code;
}

/* What setup made: the socket files, the pid file, the model, the shared memory. */
static void arbiter_halt(arbiter *A)
{
    const server_config *cfg = A->cfg;
    for (int i = 0; i < A->nlisten; i++)
        if (!strncmp(cfg->binds[i], "unix:", 5)) unlink(cfg->binds[i] + 5);
    if (A->wrote_pidfile) unlink(cfg->pidfile);
    for (int i = 0; i < A->cfg->nmodels; i++) nerd_model_free(A->models[i].model);
    if (A->shared) munmap(A->shared, sizeof(server_shared));
}

int cmd_serve(int argc, char **argv)
{
    server_config cfg;
    char err[1024];
    int rc = server_config_parse(&cfg, argc, argv, err, sizeof err);
    if (rc) {
        if (rc < 0) fprintf(stderr, "nerd serve: %s\n", err);
        return rc < 0 ? 2 : 0;
    }
    if (log_open(&cfg, err, sizeof err)) { fprintf(stderr, "nerd serve: %s\n", err); return 1; }
    if (api_keys_load(&cfg, err, sizeof err)) {
        fprintf(stderr, "nerd serve: %s\n", err);
        log_msg(LOG_CRITICAL, "%s", err);
        return 1;
    }
    if (cfg.api_key_file) log_msg(LOG_INFO, "API keys: %zu from %s", api_keys_count(), cfg.api_key_file);
    arbiter A;
    rc = arbiter_setup(&A, &cfg);
    if (!rc) rc = arbiter_run(&A);
    arbiter_halt(&A);
    api_keys_free();
    return rc;
}
