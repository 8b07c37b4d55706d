/* pool.c - the async worker's inference threads (pool.h). Each thread records when its current
 * job started, so that the loop's watchdog can tell a thread lost in one request (worker.c). */
#include "server/pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct pool {
    conn_server *srv;
    int evfd;               /* written by a thread per job done, read by the loop */
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t mu;     /* guards everything below */
    pthread_cond_t cv;
    conn **jobs; size_t njobs, capjobs;
    conn **done; size_t ndone, capdone;
    struct infer_state {    /* per thread: */
        double since;       /* when its current job started, 0 when idle */
        conn *job;          /* that job */
    } *infer;
    int nstarted;           /* threads that took their index */
    int stop;
    /* the loop thread's alone: */
    conn **taken; size_t captaken;
    size_t outstanding;     /* jobs submitted and not yet taken back or withdrawn */
};

static void *infer_thread(void *arg)
{
    pool *p = arg;
    nerd_doc *doc = nerd_doc_new();
    worker_metrics *m = p->srv->m;
    pthread_mutex_lock(&p->mu);
    struct infer_state *me = &p->infer[p->nstarted++];
    pthread_mutex_unlock(&p->mu);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->njobs && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop) { pthread_mutex_unlock(&p->mu); break; }
        conn *c = p->jobs[0];
        memmove(p->jobs, p->jobs + 1, --p->njobs * sizeof *p->jobs);
        me->since = conn_now();
        me->job = c;
        int gone = c->zombie; /* its client left while it was queued */
        pthread_mutex_unlock(&p->mu);
        atomic_fetch_add_explicit(&m->inference_threads_busy, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&m->model_wait_us, (uint64_t)((conn_now() - c->t_queued) * 1e6), memory_order_relaxed);
        /* past its deadline the computation stops by itself, so the thread is free at once */
        if (!gone && doc) conn_compute(p->srv, c, doc);
        else if (!gone) route_error(&c->res, 500, "out of memory"); /* this thread has no document */
        atomic_fetch_sub_explicit(&m->inference_threads_busy, 1, memory_order_relaxed);
        pthread_mutex_lock(&p->mu);
        me->since = 0;
        me->job = NULL;
        p->done[p->ndone++] = c; /* room was made at submit (capdone >= outstanding) */
        pthread_mutex_unlock(&p->mu);
        uint64_t one = 1;
        if (write(p->evfd, &one, 8) < 0) {}
    }
    nerd_doc_free(doc);
    return NULL;
}

static void pool_free(pool *p)
{
    if (p->evfd >= 0) close(p->evfd);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p->infer);
    free(p->jobs);
    free(p->done);
    free(p->taken);
    free(p);
}

pool *pool_start(conn_server *s, int n)
{
    pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->srv = s;
    p->nthreads = n;
    p->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->threads = calloc((size_t)n, sizeof *p->threads);
    p->infer = calloc((size_t)n, sizeof *p->infer);
    if (p->evfd < 0 || !p->threads || !p->infer) {
        log_msg(LOG_CRITICAL, "cannot set up %d inference threads: %s", n, strerror(errno));
        pool_free(p);
        return NULL;
    }
    /* the threads take no signals: the worker's TERM, QUIT and INT wake its loop */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < n; i++) {
        int rc = pthread_create(&p->threads[i], NULL, infer_thread, p);
        if (rc) { /* a pool short of threads would not be what was asked for */
            log_msg(LOG_CRITICAL, "cannot start inference thread %d of %d: %s", i + 1, n, strerror(rc));
            if (i) _exit(WORKER_EXIT_BOOT_ERROR); /* the threads started hold p: no clean return */
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            pool_free(p);
            return NULL;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    atomic_store(&s->m->inference_threads, n);
    return p;
}

int pool_fd(const pool *p) { return p->evfd; }
int pool_threads(const pool *p) { return p->nthreads; }

int pool_submit(pool *p, conn *c)
{
    size_t need = p->outstanding + 1;
    if (grow_array((void **)&p->taken, &p->captaken, need, sizeof *p->taken)) return -1;
    pthread_mutex_lock(&p->mu);
    if (grow_array((void **)&p->jobs, &p->capjobs, need, sizeof *p->jobs) ||
        grow_array((void **)&p->done, &p->capdone, need, sizeof *p->done)) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    p->outstanding++;
    p->jobs[p->njobs++] = c;
    c->held = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int pool_withdraw(pool *p, conn *c)
{
    int withdrawn = 0;
    pthread_mutex_lock(&p->mu);
    for (size_t j = 0; j < p->njobs; j++)
        if (p->jobs[j] == c) {
            memmove(p->jobs + j, p->jobs + j + 1, (p->njobs - j - 1) * sizeof *p->jobs);
            p->njobs--;
            withdrawn = 1;
            break;
        }
    pthread_mutex_unlock(&p->mu);
    if (withdrawn) {
        p->outstanding--;
        c->held = 0;
    }
    return withdrawn;
}

void pool_forget(pool *p, conn *c)
{
    pthread_mutex_lock(&p->mu); /* the thread reads zombie when it takes the job */
    c->zombie = 1;
    pthread_mutex_unlock(&p->mu);
}

size_t pool_take_done(pool *p, conn ***done)
{
    uint64_t v;
    if (read(p->evfd, &v, 8) < 0) {}
    pthread_mutex_lock(&p->mu);
    size_t n = p->ndone;
    if (n) memcpy(p->taken, p->done, n * sizeof *p->taken); /* captaken >= outstanding >= n */
    p->ndone = 0;
    pthread_mutex_unlock(&p->mu);
    p->outstanding -= n;
    for (size_t i = 0; i < n; i++) p->taken[i]->held = 0;
    *done = p->taken;
    return n;
}

int pool_stuck(pool *p, double now, double limit, double *longest, conn **late, int *nlate, conn **queued,
               size_t max_queued, size_t *nqueued)
{
    int stuck = 0;
    *nlate = 0;
    *nqueued = 0;
    *longest = 0;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->nstarted; i++) {
        struct infer_state *t = &p->infer[i];
        if (!t->since || now - t->since <= limit) continue;
        stuck++;
        if (now - t->since > *longest) *longest = now - t->since;
        if (t->job && !t->job->zombie && t->job->state == C_QUEUED) late[(*nlate)++] = t->job;
    }
    /* every thread stuck: jobs still queued would wait for ever; those whose client left go
     * back through the done list, for the loop to free */
    int forgotten = 0;
    if (stuck && stuck == p->nthreads)
        while (p->njobs && *nqueued < max_queued) {
            conn *c = p->jobs[--p->njobs];
            if (c->zombie) {
                p->done[p->ndone++] = c;
                forgotten = 1;
                continue;
            }
            c->held = 0;
            queued[(*nqueued)++] = c;
        }
    pthread_mutex_unlock(&p->mu);
    p->outstanding -= *nqueued;
    uint64_t one = 1;
    if (forgotten && write(p->evfd, &one, 8) < 0) {}
    return stuck;
}

int pool_stop(pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    int computing = 0;
    for (int i = 0; i < p->nstarted; i++) computing += p->infer[i].since != 0;
    pthread_mutex_unlock(&p->mu);
    if (computing) return computing; /* a thread that may never return cannot be joined */
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    pool_free(p);
    return 0;
}
