/* client.h - the engine of `nerd bench`: one epoll loop driving up to c connections that
 * send n HTTP/1.1 requests, timing each and checking each answer. */
#ifndef NERD_BENCH_CLIENT_H
#define NERD_BENCH_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *host;          /* numeric IPv4 or a name */
    int port;
    const char *path;
    const char *method;        /* GET (the seed's) or POST */
    size_t n, c;
    int keepalive;
    double timeout;            /* seconds per request */
    /* request i's text is texts[i % ntexts]; expected[i % ntexts] (may be NULL) is the JSON
     * object its answer must equal, key order included */
    const char *const *texts;
    const size_t *text_lens;
    const char *const *expected;
    size_t ntexts;
    uint64_t first_id;         /* i_request of the first request */
    int progress;              /* a live line on stderr */
} bench_opts;

typedef struct {
    double seconds;
    size_t ok, err_connect, err_timeout, err_status, err_body, err_order;
    size_t status_counts[6];   /* by class: 1xx..5xx at [1..5], other at [0] */
    double *lat_ms;            /* latency of each answered request */
    size_t nlat;
} bench_result;

int bench_run(const bench_opts *o, bench_result *r);
void bench_result_free(bench_result *r);
double bench_percentile(const bench_result *r, double p); /* sorts lat_ms on first use */

#endif
