/* pool.h - the async worker's inference threads (--threads N): model jobs (connections whose
 * request needs the model) are queued to N threads, and each result is handed back to the
 * loop through an eventfd. Every call but the threads' own is made by the loop thread. */
#ifndef NERD_POOL_H
#define NERD_POOL_H

#include <stddef.h>

#include "server/conn.h"

typedef struct pool pool;

/* Starts n threads that compute with s's model. NULL when memory, the eventfd or the first
 * thread fails; when a later thread fails the process exits (the threads started use the pool). */
pool *pool_start(conn_server *s, int n);
int pool_fd(const pool *p);   /* readable when results wait: register it with the loop */

/* Queues c (it is then held: c->held). 0, or -1 out of memory (c is not queued). */
int pool_submit(pool *p, conn *c);
/* Takes c off the queue if no thread took it yet: 1 if it did (c is no longer held). */
int pool_withdraw(pool *p, conn *c);
/* c's client left while c is held: the thread skips its computation if it has not begun, and
 * pool_take_done hands it back with c->zombie set for the loop to free. */
void pool_forget(pool *p, conn *c);
/* The jobs done since the last call (no longer held), in *done; valid until the next call of
 * pool_submit or pool_take_done. Returns their number. */
size_t pool_take_done(pool *p, conn ***done);

/* Threads busy on one job for more than limit seconds. Their jobs (not forgotten, still QUEUED)
 * go to late[] (room for --threads), the longest time to *longest; when every thread is stuck the
 * jobs still queued (up to max_queued) are taken off the queue into queued[] as well. */
int pool_stuck(pool *p, double now, double limit, double *longest, conn **late, int *nlate, conn **queued,
               size_t max_queued, size_t *nqueued);
int pool_threads(const pool *p);

/* Tells the threads to stop. Returns how many are computing still: then the pool is left as it is
 * (they use it; the process must exit without waiting), else the threads are joined and the pool freed. */
int pool_stop(pool *p);

#endif
