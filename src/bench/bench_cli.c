/* nerd bench: the seed's client (n simultaneous requests, several trials, "Avg Time"), with
 * latency percentiles, errors by kind, answer checking against golden files, and JSON output. */
#include "bench/client.h"
#include "cli/cli.h"
#include "cli/cli_common.h"
#include "modelfile/modelfile.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *golden_dict_json(const json_value *dict)
{
    buf b = {0};
    buf_putc(&b, '{');
    for (size_t i = 0; dict && i < dict->u.obj.n; i++) {
        if (i) buf_putc(&b, ',');
        json_write_string(&b, dict->u.obj.items[i].key, dict->u.obj.items[i].keylen, 0);
        buf_putc(&b, ':');
        json_write_string(&b, dict->u.obj.items[i].val.u.str.ptr, dict->u.obj.items[i].val.u.str.len, 0);
    }
    buf_putc(&b, '}');
    return b.ptr;
}

typedef struct { char **text; size_t *len; char **dict; size_t n; } textset;

static void add(textset *t, const char *s, size_t len, char *dict)
{
    t->text = realloc(t->text, (t->n + 1) * sizeof *t->text);
    t->len = realloc(t->len, (t->n + 1) * sizeof *t->len);
    t->dict = realloc(t->dict, (t->n + 1) * sizeof *t->dict);
    t->text[t->n] = malloc(len + 1);
    memcpy(t->text[t->n], s, len);
    t->text[t->n][len] = 0;
    t->len[t->n] = len;
    t->dict[t->n] = dict;
    t->n++;
}

/* dicts_owned: the golden set owns its dicts; the sent set only borrows them */
static void textset_free(textset *t, int dicts_owned)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->text[i]);
        if (dicts_owned) free(t->dict[i]);
    }
    free(t->text);
    free(t->len);
    free(t->dict);
    *t = (textset){0};
}

/* JSON lines with "text" (and "dict", the golden answer). */
static int load_jsonl(const char *path, textset *t, int with_dict)
{
    buf in = {0};
    if (cli_read_input(path, &in)) return -1;
    jsonl_iter it;
    jsonl_init(&it, in.ptr, in.len, JSONL_MAX_LINE);
    for (int got; (got = jsonl_next(&it)) != 0;) {
        if (got < 0) continue;
        const json_value *tx = json_get(&it.doc.root, "text"), *dict = json_get(&it.doc.root, "dict");
        if (tx && tx->type == JSON_STRING)
            add(t, tx->u.str.ptr, tx->u.str.len, with_dict && dict && dict->type == JSON_OBJECT ? golden_dict_json(dict) : NULL);
    }
    jsonl_free(&it);
    buf_free(&in);
    return 0;
}

static int parse_url(const char *url, char *host, size_t hl, int *port, char *path, size_t pl)
{
    if (strncmp(url, "http://", 7)) return -1;
    const char *h = url + 7, *slash = strchr(h, '/'), *end = slash ? slash : h + strlen(h);
    const char *colon = memchr(h, ':', (size_t)(end - h));
    snprintf(host, hl, "%.*s", (int)((colon ? colon : end) - h), h);
    *port = colon ? atoi(colon + 1) : 80;
    snprintf(path, pl, "%s", slash ? slash : "/");
    return *host && *port > 0 ? 0 : -1;
}

int cmd_bench(int argc, char **argv)
{
    const char *url = "http://127.0.0.1:8000/", *text_file = NULL, *corpus = NULL, *check = NULL, *path_opt = NULL;
    const char *method = "GET";
    size_t n = 1000, c = 1000;
    int trials = 5, keepalive = 1, as_json = 0;
    double timeout = 60;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (!strcmp(a, name) && v && (i++, 1))
        if (OPT("-n")) n = strtoul(v, NULL, 10);
        else if (OPT("-c")) c = strtoul(v, NULL, 10);
        else if (OPT("--trials")) trials = atoi(v);
        else if (OPT("--text-file")) text_file = v;
        else if (OPT("--corpus")) corpus = v;
        else if (OPT("--method")) method = v;
        else if (OPT("--path")) path_opt = v;
        else if (OPT("--check")) check = v;
        else if (OPT("--timeout")) timeout = atof(v);
        else if (!strcmp(a, "--no-keepalive")) keepalive = 0;
        else if (!strcmp(a, "--json")) as_json = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: nerd bench [URL] [-n 1000] [-c 1000] [--trials 5] [--text-file F | --corpus F.jsonl]\n"
                   "                  [--method GET|POST] [--path /] [--no-keepalive] [--check GOLDEN.jsonl] [--json]\n"
                   "                  [--timeout S]\n"
                   "Sends n requests {\"i_request\": i, \"text\": ...} over up to c connections, as the seed's client,\n"
                   "and prints each trial and \"Avg Time: X.XX\"; exits non-zero on any error.\n");
            return 0;
        } else if (a[0] != '-') url = a;
        else {
            fprintf(stderr, "nerd bench: unknown option %s\n", a);
            return 2;
        }
#undef OPT
    }
    char host[256], path[1024];
    int port;
    if (parse_url(url, host, sizeof host, &port, path, sizeof path)) {
        fprintf(stderr, "nerd bench: URL must be http://HOST[:PORT][/PATH], not %s\n", url);
        return 2;
    }
    if (path_opt) snprintf(path, sizeof path, "%s", path_opt);
    if (strcmp(method, "GET") && strcmp(method, "POST")) {
        fprintf(stderr, "nerd bench: --method must be GET or POST\n");
        return 2;
    }
    if (!n || !c || trials < 1) {
        fprintf(stderr, "nerd bench: -n, -c and --trials must be positive\n");
        return 2;
    }
    textset texts = {0}, gold = {0};
    int rc = 1;
    buf js = {0};
    if (corpus) {
        if (load_jsonl(corpus, &texts, 0)) goto done;
    } else {
        buf t = {0};
        const char *f = text_file ? text_file : "../shared/corpus/paris.txt";
        if (cli_read_input(f, &t)) {
            fprintf(stderr, "nerd bench: give --text-file or --corpus\n");
            goto done;
        }
        add(&texts, t.ptr, t.len, NULL);
        buf_free(&t);
    }
    if (!texts.n) {
        fprintf(stderr, "nerd bench: no texts\n");
        goto done;
    }
    if (check) { /* the golden answer of every text sent */
        if (load_jsonl(check, &gold, 1)) goto done;
        for (size_t i = 0; i < texts.n; i++) {
            for (size_t k = 0; k < gold.n && !texts.dict[i]; k++)
                if (gold.len[k] == texts.len[i] && !memcmp(gold.text[k], texts.text[i], texts.len[i])) texts.dict[i] = gold.dict[k];
            if (!texts.dict[i]) {
                fprintf(stderr, "nerd bench: %s has no golden answer for text %zu\n", check, i);
                goto done;
            }
        }
    }
    bench_opts o = {host, port, path, method, n, c, keepalive, timeout, (const char *const *)texts.text, texts.len,
                    check ? (const char *const *)texts.dict : NULL, texts.n, 0, !as_json && isatty(2)};
    double total = 0;
    size_t errors = 0;
    if (as_json)
        buf_printf(&js, "{\"url\":\"%s\",\"n\":%zu,\"c\":%zu,\"method\":\"%s\",\"keepalive\":%s,\"trials\":[", url, n, c,
                   method, keepalive ? "true" : "false");
    for (int t = 0; t < trials; t++) {
        bench_result r;
        o.first_id = (uint64_t)t * n;
        if (bench_run(&o, &r)) {
            fprintf(stderr, "nerd bench: cannot resolve %s\n", host);
            goto done;
        }
        size_t err = r.err_connect + r.err_timeout + r.err_status + r.err_body + r.err_order;
        errors += err;
        total += r.seconds;
        double p50 = bench_percentile(&r, 50), p90 = bench_percentile(&r, 90), p99 = bench_percentile(&r, 99),
               mx = bench_percentile(&r, 100);
        if (as_json) {
            buf_printf(&js,
                       "%s{\"seconds\":%.6f,\"requests_per_s\":%.1f,\"ok\":%zu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
                       "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"errors\":{\"connect\":%zu,\"timeout\":%zu,\"status\":%zu,"
                       "\"bad_body\":%zu,\"key_order\":%zu},\"status_classes\":{\"2xx\":%zu,\"4xx\":%zu,\"5xx\":%zu}}",
                       t ? "," : "", r.seconds, n / r.seconds, r.ok, p50, p90, p99, mx, r.err_connect, r.err_timeout,
                       r.err_status, r.err_body, r.err_order, r.status_counts[2], r.status_counts[4], r.status_counts[5]);
        } else {
            printf("Trial %d: %.2f s, %.0f req/s, latency ms p50 %.1f p90 %.1f p99 %.1f max %.1f, ok %zu", t + 1, r.seconds,
                   n / r.seconds, p50, p90, p99, mx, r.ok);
            if (err)
                printf(", errors: connect %zu timeout %zu status %zu (4xx %zu, 5xx %zu) bad body %zu key order %zu",
                       r.err_connect, r.err_timeout, r.err_status, r.status_counts[4], r.status_counts[5], r.err_body,
                       r.err_order);
            printf("\n");
            fflush(stdout);
        }
        bench_result_free(&r);
    }
    if (as_json) {
        buf_printf(&js, "],\"avg_seconds\":%.6f,\"errors\":%zu}\n", total / trials, errors);
        fwrite(js.ptr, 1, js.len, stdout);
    } else {
        printf("Avg Time: %.2f\n", total / trials);
    }
    rc = errors ? 1 : 0;
done:
    buf_free(&js);
    textset_free(&texts, 0);
    textset_free(&gold, 1);
    return rc;
}
