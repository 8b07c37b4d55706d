/* metrics.c - request counters and histograms live in the shared slots (one per worker), so
 * whichever worker answers /metrics reports the whole server. */
#include "server/server.h"

#include <string.h>
#include <unistd.h>

static const char *const route_names[METRIC_ROUTES] = {
#define ROUTE_NAME(name, label) label,
    METRIC_ROUTE_MAP(ROUTE_NAME)
#undef ROUTE_NAME
};
static const int statuses[METRIC_STATUSES] = {
#define STATUS_CODE(code) code,
    METRIC_STATUS_MAP(STATUS_CODE)
#undef STATUS_CODE
};
static const double buckets[METRIC_BUCKETS] = {.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 1e300};

int metrics_route_id(const char *path, size_t len)
{
    for (int i = 0; i < ROUTE_OTHER; i++)
        if (strlen(route_names[i]) == len && !memcmp(route_names[i], path, len)) return i;
    return ROUTE_OTHER;
}

int metrics_status_id(int status)
{
    for (int i = 0; i < METRIC_STATUSES; i++)
        if (statuses[i] == status) return i;
    return STATUS_500;
}

void metrics_observe(worker_metrics *m, int route_id, int status_id, int model_slot, double seconds)
{
    atomic_fetch_add_explicit(&m->requests[model_slot][route_id][status_id], 1, memory_order_relaxed);
    for (int b = 0; b < METRIC_BUCKETS; b++)
        if (seconds <= buckets[b]) {
            atomic_fetch_add_explicit(&m->duration_bucket[b], 1, memory_order_relaxed);
            break;
        }
    atomic_fetch_add_explicit(&m->duration_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->duration_sum_us, (uint64_t)(seconds * 1e6), memory_order_relaxed);
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

int metrics_render(const server_shared *sh, const server_config *cfg, const served_model *models, int nmodels, buf *out)
{
    int rc = 0;
    rc |= buf_puts(out, "# HELP nerd_requests_total HTTP requests answered, by route and status, and by model for\n"
                        "# the requests a model answered.\n"
                        "# TYPE nerd_requests_total counter\n");
    for (int k = 0; k <= nmodels; k++)
        for (int r = 0; r < METRIC_ROUTES; r++)
            for (int s = 0; s < METRIC_STATUSES; s++) {
                uint64_t v = 0;
                for (int w = 0; w < SERVER_MAX_WORKERS; w++) v += LOAD(((server_shared *)sh)->slots[w].m.requests[k][r][s]);
                if (!v) continue;
                rc |= buf_printf(out, "nerd_requests_total{route=\"%s\",status=\"%d\"", route_names[r], statuses[s]);
                if (k) rc |= buf_printf(out, ",model=\"%s\"", models[k - 1].name);
                rc |= buf_printf(out, "} %llu\n", (unsigned long long)v);
            }
    rc |= buf_puts(out, "# HELP nerd_request_duration_seconds Time from a request's head to its answer.\n"
                        "# TYPE nerd_request_duration_seconds histogram\n");
    uint64_t cum = 0, count = 0, sum_us = 0;
    for (int b = 0; b < METRIC_BUCKETS; b++) {
        for (int w = 0; w < SERVER_MAX_WORKERS; w++) cum += LOAD(((server_shared *)sh)->slots[w].m.duration_bucket[b]);
        if (b < METRIC_BUCKETS - 1)
            rc |= buf_printf(out, "nerd_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[b], (unsigned long long)cum);
        else
            rc |= buf_printf(out, "nerd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    int64_t inflight = 0, open = 0, threads = 0, threads_busy = 0;
    uint64_t compute[SERVER_MAX_MODELS] = {0}, wait = 0, conns = 0;
    int live = 0;
    for (int w = 0; w < SERVER_MAX_WORKERS; w++) {
        server_shared *s = (server_shared *)sh;
        count += LOAD(s->slots[w].m.duration_count);
        sum_us += LOAD(s->slots[w].m.duration_sum_us);
        inflight += LOAD(s->slots[w].m.in_flight);
        open += LOAD(s->slots[w].m.connections_open);
        threads += LOAD(s->slots[w].m.inference_threads);
        threads_busy += LOAD(s->slots[w].m.inference_threads_busy);
        for (int k = 0; k < nmodels; k++) compute[k] += LOAD(s->slots[w].m.model_compute_us[k]);
        wait += LOAD(s->slots[w].m.model_wait_us);
        conns += LOAD(s->slots[w].m.connections_total);
        live += LOAD(s->slots[w].state) == SLOT_READY;
    }
    rc |= buf_printf(out, "nerd_request_duration_seconds_sum %.6f\nnerd_request_duration_seconds_count %llu\n",
                     sum_us / 1e6, (unsigned long long)count);
    rc |= buf_printf(out,
                     "# HELP nerd_requests_in_flight Requests received and not yet answered.\n"
                     "# TYPE nerd_requests_in_flight gauge\nnerd_requests_in_flight %lld\n"
                     "# HELP nerd_model_wait_seconds_total Time requests waited for a free model thread.\n"
                     "# TYPE nerd_model_wait_seconds_total counter\nnerd_model_wait_seconds_total %.6f\n"
                     "# HELP nerd_connections_total Connections accepted.\n"
                     "# TYPE nerd_connections_total counter\nnerd_connections_total %llu\n"
                     "# HELP nerd_connections_open Connections open now.\n"
                     "# TYPE nerd_connections_open gauge\nnerd_connections_open %lld\n"
                     "# HELP nerd_worker_restarts_total Workers replaced after an exit, a crash or a timeout.\n"
                     "# TYPE nerd_worker_restarts_total counter\nnerd_worker_restarts_total %llu\n"
                     "# HELP nerd_workers Workers serving now.\n# TYPE nerd_workers gauge\nnerd_workers %d\n"
                     "# HELP nerd_inference_threads Inference threads of the live workers (--threads each).\n"
                     "# TYPE nerd_inference_threads gauge\nnerd_inference_threads %lld\n"
                     "# HELP nerd_inference_threads_busy Inference threads computing a request now.\n"
                     "# TYPE nerd_inference_threads_busy gauge\nnerd_inference_threads_busy %lld\n",
                     (long long)inflight, wait / 1e6, (unsigned long long)conns, (long long)open,
                     (unsigned long long)LOAD(((server_shared *)sh)->worker_restarts), live, (long long)threads,
                     (long long)threads_busy);
    rc |= buf_puts(out, "# HELP nerd_model_compute_seconds_total Time spent inside each model.\n"
                        "# TYPE nerd_model_compute_seconds_total counter\n");
    for (int k = 0; k < nmodels; k++)
        rc |= buf_printf(out, "nerd_model_compute_seconds_total{model=\"%s\"} %.6f\n", models[k].name, compute[k] / 1e6);
    rc |= buf_puts(out, "# HELP nerd_model_info The models being served, by the name requests choose them by.\n"
                        "# TYPE nerd_model_info gauge\n");
    for (int k = 0; k < nmodels; k++) {
        const nerd_model *m = models[k].model;
        rc |= buf_printf(out,
                         "nerd_model_info{model=\"%s\",default=\"%s\",name=\"%s\",version=\"%s\",pipeline=\"%s\",worker_class=\"%s\","
                         "precision=\"%s\",isa=\"%s\",kernel=\"%s\"} 1\n",
                         models[k].name, k ? "false" : "true", nerd_model_name(m), nerd_model_version(m),
                         nerd_pipeline_name(models[k].pipeline), cfg->wclass == WORKER_ASYNC ? "async" : "sync",
                         nerd_precision_name(cfg->precision), nerd_isa(), nerd_precision_kernel(cfg->precision));
    }
    /* each worker has its own word caches: these are the answering worker's */
    if (nmodels)
        rc |= buf_puts(out, "# HELP nerd_word_cache_lookups_total Word cache lookups of the worker that answered (by pid).\n"
                            "# TYPE nerd_word_cache_lookups_total counter\n");
    for (int k = 0; k < nmodels; k++) {
        nerd_cache_stats cs;
        nerd_model_cache_stats(models[k].model, &cs);
        int pid = (int)getpid();
        rc |= buf_printf(out,
                         "nerd_word_cache_lookups_total{pid=\"%d\",model=\"%s\",result=\"hit\"} %llu\n"
                         "nerd_word_cache_lookups_total{pid=\"%d\",model=\"%s\",result=\"miss\"} %llu\n",
                         pid, models[k].name, (unsigned long long)cs.hits, pid, models[k].name, (unsigned long long)cs.misses);
    }
    return rc ? -1 : 0;
}
