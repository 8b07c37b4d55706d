/* Every allocation checked: each allocation of loading the stand-in model, of nerd_ner on a new
 * doc, and of the server's request path (routes.c: the JSON body parsed, the model run, the
 * answer built and written) is made to fail in turn, in a forked child (tests/alloc_fail.c).
 * The operation must then end with its error (NERD_ERR_NOMEM, a 500) or absorb the failure and
 * give the same result; never crash, hang, answer wrongly or leak a byte.
 *
 * Loading the model makes tens of thousands of allocations, most of them the same few lines
 * in a loop: every one up to DENSE_LIMIT is made to fail, then the first SITE_TRIES of each
 * call site (its call stack, KEY_FRAMES deep in alloc_fail.c) and every STRIDE-th one, so that
 * every site fails at least once. Sanitizer builds own malloc: there these tests say SKIP. */
#include "test.h"
#include "alloc_fail.h"
#include "modelfile/vectors_file.h"
#include "ner/model_helper.h"
#include "nerd.h"
#include "components/lemmatizer.h"
#include "components/noun_chunks.h"
#include "lemma/french_tables.h"
#include "server/routes.h"
#include "util/doc_json.h"
#include "server/server.h"

#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
    DENSE_LIMIT = 2000,    /* every allocation up to this one fails in turn */
    SITE_TRIES = 2,        /* past it, the first ones of each call site */
    STRIDE = 97,           /* and every STRIDE-th (a prime: no loop's period) */
    RECORD_CAP = 1 << 22,  /* allocations one operation may make */
    CHILD_TIMEOUT_S = 30,  /* one child (one load with its failure), including a loaded machine */
    DETAILED_REPORTS = 10, /* failures printed with their call stacks (addr2line is slow); then counted */
};

typedef enum { OP_SAME, OP_ERROR, OP_WRONG } op_result;

typedef struct alloc_op alloc_op;
struct alloc_op {
    const char *name;
    /* Runs the operation once, frees all it made, and says how it ended (why: what was wrong). */
    op_result (*run)(alloc_op *op, char *why, size_t whylen);
    void *ctx;
    int http;   /* its status is an HTTP status (0: nothing written), else a nerd_status */
    int status; /* the status the last failing run ended with, for the tally */
    uint64_t only_last; /* when set, only the last this many allocations are made to fail */
};

/* What a child tells the parent: in a MAP_SHARED mapping, followed by the recorded sites. */
typedef struct {
    uint64_t count;
    int64_t leaked;
    int by_status[600];
    int detailed; /* failures printed so far */
} shared_report;

/* A child's exit codes (test_fail exits 1). */
enum { CHILD_ABSORBED = 10, CHILD_ERROR, CHILD_NOT_HIT, CHILD_WRONG, CHILD_LEAK, CHILD_OTHER_SITE };

static alloc_op *crash_op;
static uint64_t crash_n;
static shared_report *crash_rep;

static void on_crash(int sig)
{
    fprintf(stderr, "  %s: allocation %llu failed, then signal %d\n", crash_op->name, (unsigned long long)crash_n, sig);
    if (crash_rep->detailed++ >= DETAILED_REPORTS) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    fprintf(stderr, "    the allocation:\n");
    alloc_site s;
    if (alloc_fail_hit(&s, NULL)) alloc_site_print(&s);
    alloc_site_here(&s, 2); /* without this handler and the signal frame */
    fprintf(stderr, "    where it crashed:\n");
    alloc_site_print(&s);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* One child: the nth allocation fails; it must be the site recorded (want_key) there. n = 0:
 * the counting run, which records every allocation's site into keys and fails none. Both kinds
 * come through here, from one line of inject_all and never inlined or cloned, so that the call
 * stacks match. */
__attribute__((noinline, noclone)) static _Noreturn void child(alloc_op *op, uint64_t n, uint64_t want_key, shared_report *rep, uint64_t *keys)
{
    alarm(CHILD_TIMEOUT_S);
    crash_op = op;
    crash_n = n;
    crash_rep = rep;
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++) signal(fatal[i], on_crash);
    char why[512] = "";
    alloc_fail_arm(n, n ? NULL : keys, n ? 0 : RECORD_CAP);
    int64_t live0 = alloc_live_bytes();
    op_result r = op->run(op, why, sizeof why);
    int64_t leaked = alloc_live_bytes() - live0;
    alloc_fail_disarm();
    /* crash_n, not n: a global is read again after the call, so the compiler cannot copy the call
     * into one path per value of n (two call sites, two stacks) */
    if (!crash_n) {
        rep->leaked = leaked;
        rep->count = alloc_fail_count();
        if (r != OP_SAME) fprintf(stderr, "  %s: %s\n", op->name, why);
        _exit(r == OP_SAME ? 0 : 1);
    }
    alloc_site site;
    uint64_t key;
    if (!alloc_fail_hit(&site, &key)) _exit(CHILD_NOT_HIT);
    int code = r == OP_WRONG ? CHILD_WRONG
               : leaked      ? CHILD_LEAK
               : key != want_key ? CHILD_OTHER_SITE
               : r == OP_ERROR   ? CHILD_ERROR
                                 : CHILD_ABSORBED;
    if (code == CHILD_ERROR && op->status >= 0 && op->status < 600) rep->by_status[op->status]++;
    if (code == CHILD_ABSORBED && getenv("NERD_ALLOC_FAIL_SHOW_ABSORBED")) { /* to check them by hand */
        fprintf(stderr, "  %s: allocation %llu failed and the result is the same:\n", op->name, (unsigned long long)n);
        alloc_site_print(&site);
    }
    if (code >= CHILD_WRONG) {
        fprintf(stderr, "  %s: allocation %llu failed: %s\n", op->name, (unsigned long long)n,
                code == CHILD_WRONG ? why
                : code == CHILD_LEAK ? "memory leaked"
                                     : "another call site than when counted (not deterministic)");
        if (code == CHILD_LEAK) fprintf(stderr, "    %lld bytes\n", (long long)leaked);
        if (rep->detailed++ < DETAILED_REPORTS) alloc_site_print(&site);
    }
    _exit(code);
}

/* Which allocations to fail: all up to DENSE_LIMIT, then the first SITE_TRIES of each site and
 * every STRIDE-th. Returns how many (in plan), and the number of distinct sites. */
static size_t plan_failures(const uint64_t *keys, uint64_t count, uint64_t only_last, uint64_t *plan, size_t *nsites)
{
    size_t cap = 1;
    while (cap < 2 * count) cap *= 2;
    uint64_t *seen = calloc(cap, sizeof *seen);
    uint32_t *times = calloc(cap, sizeof *times);
    CHECK(seen && times);
    size_t n = 0;
    *nsites = 0;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t k = keys[i] ? keys[i] : 1; /* 0 marks an empty slot */
        size_t h = (size_t)(k * 0x9E3779B97F4A7C15ull) & (cap - 1);
        while (seen[h] && seen[h] != k) h = (h + 1) & (cap - 1);
        if (!seen[h]) { seen[h] = k; (*nsites)++; }
        times[h]++;
        if (only_last ? i + only_last >= count : i < DENSE_LIMIT || times[h] <= SITE_TRIES || (i + 1) % STRIDE == 0)
            plan[n++] = i + 1;
    }
    free(seen);
    free(times);
    return n;
}

/* 1 if this build can inject failures, else says SKIP. */
static int hooks_present(void)
{
    if (!alloc_fail_available()) printf("  SKIP: this build's sanitizer owns malloc\n");
    return alloc_fail_available();
}

static void inject_all(alloc_op *op)
{
    char why[512] = "";
    alloc_fail_arm(0, NULL, 0); /* loads what backtrace needs, once */
    alloc_fail_disarm();
    /* once here, so that whatever an operation sets up once for good is there before counting */
    CHECKF(op->run(op, why, sizeof why) == OP_SAME, "%s without failures: %s", op->name, why);

    size_t map_bytes = sizeof(shared_report) + (size_t)RECORD_CAP * sizeof(uint64_t);
    shared_report *rep = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(rep != MAP_FAILED);
    uint64_t *keys = (uint64_t *)(rep + 1), *plan = NULL;
    size_t nsites = 0, nplan = 0;
    int outcome[CHILD_OTHER_SITE + 1] = {0}, crashed = 0, hung = 0, bad = 0;
    /* i = 0: the count, and the call site of each allocation; then one child per planned failure */
    for (size_t i = 0; i <= nplan; i++) {
        uint64_t n = i ? plan[i - 1] : 0;
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) child(op, n, n ? keys[n - 1] : 0, rep, keys);
        int st;
        CHECK(waitpid(pid, &st, 0) == pid);
        if (!i) {
            CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: the counting run failed", op->name);
            CHECKF(rep->leaked == 0, "%s leaks %lld bytes without any failure", op->name, (long long)rep->leaked);
            CHECKF(rep->count > 0 && rep->count <= RECORD_CAP, "%s: %llu allocations", op->name,
                   (unsigned long long)rep->count);
            plan = malloc(rep->count * sizeof *plan);
            CHECK(plan);
            nplan = plan_failures(keys, rep->count, op->only_last, plan, &nsites);
            continue;
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) >= CHILD_ABSORBED && WEXITSTATUS(st) <= CHILD_OTHER_SITE) {
            int code = WEXITSTATUS(st);
            outcome[code]++;
            bad += code >= CHILD_NOT_HIT;
        } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {
            fprintf(stderr, "  %s: allocation %llu failed, then no end in %d s\n", op->name,
                    (unsigned long long)n, CHILD_TIMEOUT_S);
            hung++;
        } else {
            crashed++;
        }
    }
    char which[128];
    if (op->only_last) snprintf(which, sizeof which, "the last %llu", (unsigned long long)op->only_last);
    else snprintf(which, sizeof which, "each up to %d, the first %d of each site, every %dth", DENSE_LIMIT, SITE_TRIES, STRIDE);
    printf("  %s: %llu allocations from %zu call sites; %zu made to fail (%s): %d ended with an error, %d gave the"
           " same result; %d crashed, %d hung, %d wrong or leaking\n",
           op->name, (unsigned long long)rep->count, nsites, nplan, which, outcome[CHILD_ERROR], outcome[CHILD_ABSORBED],
           crashed, hung, bad);
    for (int s = 0; s < 600; s++)
        if (rep->by_status[s])
            printf("    ended with %d (%s): %d\n", s,
                   op->http ? (s ? "HTTP status" : "nothing written") : nerd_strerror((nerd_status)s), rep->by_status[s]);
    CHECKF(!crashed && !hung && !bad, "%s: %d crashed, %d hung, %d wrong, leaking or not deterministic", op->name,
           crashed, hung, bad);
    free(plan);
    munmap(rep, map_bytes);
}

/* ---- the operations ---- */

#define DOTS_10 ".........."
#define DOTS_80 DOTS_10 DOTS_10 DOTS_10 DOTS_10 DOTS_10 DOTS_10 DOTS_10 DOTS_10
static const char *const texts[] = {
    /* first, so that its suffix (the dots, by the suffix pattern's branch of unbounded width) is
     * the first regex match of a new doc, the one PCRE2 allocates its backtracking frames for */
    "Wait" DOTS_80 " Angela Merkel visited Paris on 3 May 2021 and met Emmanuel Macron at the Élysée.",
    "Apple hired Tim Cook in Cupertino, California for $3.5 billion. See https://example.com/a?b=1 :-)",
};
enum { NTEXTS = sizeof texts / sizeof *texts };

/* The pipelines every text runs through (ner, full, doc) and what a run leaves on the doc: the
 * entities and the parse, then the whole Doc as doc.to_json() with its noun chunks. */
enum { NPIPELINES = 3 };
static char *answer(const nerd_doc *d, const char *text)
{
    char *a = test_annotations(d);
    buf b = {0};
    if (buf_puts(&b, a) || doc_write_json(d, text, strlen(text), DOC_JSON_NOUN_CHUNKS, &b)) {
        buf_free(&b);
        return a;
    }
    free(a);
    return b.ptr;
}

typedef struct {
    nerd_model *m;
    char *want[NPIPELINES][NTEXTS]; /* answer() per pipeline and text */
    /* what a model loaded without failures says of itself */
    char name[128], version[64], sha256[65];
    size_t nlabels;
    int has_full;
} ner_ctx;

static void ner_ctx_init(ner_ctx *c, nerd_model *m)
{
    c->m = m;
    snprintf(c->name, sizeof c->name, "%s", nerd_model_name(m));
    snprintf(c->version, sizeof c->version, "%s", nerd_model_version(m));
    snprintf(c->sha256, sizeof c->sha256, "%s", nerd_model_weights_sha256(m));
    c->nlabels = nerd_model_nlabels(m);
    c->has_full = nerd_model_has_pipeline(m, NERD_PIPELINE_FULL);
    nerd_doc *d = nerd_doc_new();
    for (int p = 0; p < NPIPELINES; p++)
        for (int t = 0; t < NTEXTS; t++) {
            CHECK(nerd_ner(m, d, texts[t], strlen(texts[t]), (nerd_pipeline)p) == NERD_OK);
            c->want[p][t] = answer(d, texts[t]);
        }
    nerd_doc_free(d);
}

static void ner_ctx_free(ner_ctx *c)
{
    for (int p = 0; p < NPIPELINES; p++)
        for (int t = 0; t < NTEXTS; t++) free(c->want[p][t]);
    nerd_model_free(c->m);
}

/* Every text through both pipelines in one new doc. A call that fails must say NERD_ERR_NOMEM
 * and leave the doc ready: the same call right after (no failure then) gives the same answer. */
static op_result run_ner(alloc_op *op, char *why, size_t whylen)
{
    ner_ctx *c = op->ctx;
    nerd_doc *d = nerd_doc_new();
    if (!d) { op->status = NERD_ERR_NOMEM; return OP_ERROR; }
    op_result res = OP_SAME;
    for (int p = 0; p < NPIPELINES && res != OP_WRONG; p++)
        for (int t = 0; t < NTEXTS && res != OP_WRONG; t++) {
            nerd_status st = nerd_ner(c->m, d, texts[t], strlen(texts[t]), (nerd_pipeline)p);
            if (st != NERD_OK) {
                op->status = (int)st;
                res = OP_ERROR;
                if (st != NERD_ERR_NOMEM) { snprintf(why, whylen, "nerd_ner: %s", nerd_strerror(st)); res = OP_WRONG; break; }
                st = nerd_ner(c->m, d, texts[t], strlen(texts[t]), (nerd_pipeline)p);
                if (st != NERD_OK) { snprintf(why, whylen, "nerd_ner again: %s", nerd_strerror(st)); res = OP_WRONG; break; }
            }
            alloc_fail_pause(1);
            char *got = answer(d, texts[t]);
            if (strcmp(got, c->want[p][t])) {
                snprintf(why, whylen, "pipeline %d, text %d: %.150s instead of %.150s", p, t, got, c->want[p][t]);
                res = OP_WRONG;
            }
            free(got);
            alloc_fail_pause(0);
        }
    nerd_doc_free(d);
    return res;
}

/* A token of 2,048 `€` (prefixes): 5 ms of CPU with the suffix search bounded (pyre_tail.c),
 * about 0.9 s without the bound (quadratic: 8,192 took 14 s, tests/ner/test_tokenizer_linear.c). */
enum { EURO_TOKEN_CHARS = 2048 };
static const double EURO_TOKEN_MAX_CPU_S = 0.25;

/* Loading the stand-in: NULL with a status and a message, or a model that works as one loaded
 * without failures (same name, weights, labels, entities and parse, and a tokenizer in linear
 * time: its suffix bound is an optimisation that a failure must not drop silently). */
static op_result run_load(alloc_op *op, char *why, size_t whylen)
{
    ner_ctx *want = op->ctx;
    char err[512] = "";
    nerd_status st = NERD_OK;
    nerd_model *m = nerd_model_load(test_standin(), &st, err, sizeof err);
    if (!m) {
        op->status = (int)st;
        if (st == NERD_OK || !err[0]) { snprintf(why, whylen, "NULL with status %d, message \"%s\"", st, err); return OP_WRONG; }
        return OP_ERROR;
    }
    alloc_fail_pause(1);
    op_result res = OP_SAME;
    if (strcmp(nerd_model_name(m), want->name) || strcmp(nerd_model_version(m), want->version) ||
        strcmp(nerd_model_weights_sha256(m), want->sha256) || nerd_model_nlabels(m) != want->nlabels ||
        nerd_model_has_pipeline(m, NERD_PIPELINE_FULL) != want->has_full) {
        snprintf(why, whylen, "loaded as %s %s with %zu labels", nerd_model_name(m), nerd_model_version(m),
                 nerd_model_nlabels(m));
        res = OP_WRONG;
    }
    nerd_doc *d = nerd_doc_new();
    for (int p = 0; p < NPIPELINES && res == OP_SAME; p++)
        for (int t = 0; t < NTEXTS && res == OP_SAME; t++) {
            nerd_status s = nerd_ner(m, d, texts[t], strlen(texts[t]), (nerd_pipeline)p);
            char *got = s == NERD_OK ? answer(d, texts[t]) : strdup(nerd_strerror(s));
            if (strcmp(got, want->want[p][t])) {
                snprintf(why, whylen, "the model loaded gives, pipeline %d, text %d: %.150s instead of %.150s", p, t,
                         got, want->want[p][t]);
                res = OP_WRONG;
            }
            free(got);
        }
    if (res == OP_SAME) {
        buf euro = {0};
        for (int i = 0; i < EURO_TOKEN_CHARS; i++) CHECK(buf_puts(&euro, "\xe2\x82\xac") == 0);
        double c0 = test_clock_s(CLOCK_PROCESS_CPUTIME_ID);
        nerd_status s = nerd_tokenize(m, d, euro.ptr, euro.len);
        double cpu = test_clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (s != NERD_OK || cpu > EURO_TOKEN_MAX_CPU_S) {
            snprintf(why, whylen, "the model loaded tokenizes %d euro signs in %.2f s of CPU (%s)", EURO_TOKEN_CHARS, cpu,
                     nerd_strerror(s));
            res = OP_WRONG;
        }
        buf_free(&euro);
    }
    nerd_doc_free(d);
    nerd_model_free(m);
    alloc_fail_pause(0);
    return res;
}

TEST_T(alloc_fail_model_load, 1800)
{
    if (!hooks_present()) return;
    ner_ctx want;
    ner_ctx_init(&want, test_model());
    nerd_model_free(want.m); /* each child loads its own; forking a process without one is cheaper */
    want.m = NULL;
    alloc_op op = {.name = "nerd_model_load", .run = run_load, .ctx = &want};
    inject_all(&op);
    ner_ctx_free(&want);
}

/* The English md's vectors table (make models-extra; skipped without it): out of memory while
 * reading key2row or vectors.cfg is NERD_ERR_NOMEM with a message, or the table loads whole. */
static op_result run_vec_load(alloc_op *op, char *why, size_t whylen)
{
    vec_table vt;
    char err[512] = "";
    nerd_status st = vec_load(op->ctx, &vt, err, sizeof err);
    if (st != NERD_OK) {
        op->status = (int)st;
        if (st != NERD_ERR_NOMEM || !err[0]) {
            snprintf(why, whylen, "status %d, message \"%s\"", st, err);
            return OP_WRONG;
        }
        return OP_ERROR;
    }
    op_result res = vt.rows == 20000 && vt.dims == 300 && vt.nkeys == 684830 && vec_row(&vt, vt.keys[0]) >= 0
                        ? OP_SAME
                        : OP_WRONG;
    if (res == OP_WRONG) snprintf(why, whylen, "loaded %zu x %d with %zu keys", vt.rows, vt.dims, vt.nkeys);
    vec_free(&vt);
    return res;
}

TEST_T(alloc_fail_vectors_load, 300)
{
    if (!hooks_present()) return;
    static char vocab[] = "models/en_core_web_md-3.8.0/vocab";
    if (access(vocab, F_OK)) {
        printf("  skipped: no %s (make models-extra)\n", vocab);
        return;
    }
    alloc_op op = {.name = "vec_load (en_core_web_md)", .run = run_vec_load, .ctx = vocab};
    inject_all(&op);
}

/* A model whose parser decodes with a beam (parser/cfg beam_width 2), which nerd refuses
 * (NERD_ERR_UNSUPPORTED): out of memory while reading that file must not let it load. */
static op_result run_load_beam(alloc_op *op, char *why, size_t whylen)
{
    char err[512] = "";
    nerd_status st = NERD_OK;
    nerd_model *m = nerd_model_load(op->ctx, &st, err, sizeof err);
    if (m) {
        nerd_model_free(m);
        snprintf(why, whylen, "a model whose parser decodes with a beam was loaded");
        return OP_WRONG;
    }
    op->status = (int)st;
    return st == NERD_ERR_UNSUPPORTED ? OP_SAME : OP_ERROR;
}

TEST_T(alloc_fail_model_load_refuses_beam_search, 120)
{
    if (!hooks_present()) return;
    char real[1024], dir[256], cmd[2400];
    CHECK(realpath(test_standin(), real));
    snprintf(dir, sizeof dir, "/tmp/nerd-beam-model-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -rs %s %s && chmod -R u+w %s && rm %s/parser/cfg", dir, real, dir, dir, dir);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "%s/parser/cfg", dir);
    FILE *f = fopen(cmd, "w");
    CHECK(f && fputs("{\"beam_width\": 2, \"beam_density\": 0.01}\n", f) >= 0 && fclose(f) == 0);
    /* the parser's cfg is read last: the load's last allocations cover it and the way out */
    alloc_op op = {.name = "nerd_model_load (beam search)", .run = run_load_beam, .ctx = dir, .only_last = 40};
    inject_all(&op);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

TEST_T(alloc_fail_ner, 600)
{
    if (!hooks_present()) return;
    ner_ctx c;
    ner_ctx_init(&c, test_model());
    alloc_op op = {.name = "nerd_ner", .run = run_ner, .ctx = &c};
    inject_all(&op);
    ner_ctx_free(&c);
}

/* ---- the request path ---- */

typedef struct {
    const char *method, *path, *body;
    int want_status; /* without failures */
    buf want_body;
} request_case;

static request_case requests[] = {
    {"POST", "/", "{\"text\": \"Angela Merkel visited Paris on 3 May 2021.\"}", 200, {0}},
    {"POST", "/ents", "{\"texts\": [\"Apple hired Tim Cook in Cupertino.\", \"caf\\u00e9 in Z\\u00fcrich\"]}", 200, {0}},
    {"POST", "/ents", "{\"text\": \"Tim Cook\"}", 200, {0}},
    {"POST", "/doc", "{\"texts\": [\"Apple hired Tim Cook.\", \"caf\\u00e9\"], \"noun_chunks\": true}", 200, {0}},
    {"POST", "/displacy", "{\"text\": \"Hello, world!! Tim Cook's.\", \"options\": {\"add_lemma\": true}}", 200, {0}},
    {"POST", "/displacy", "{\"text\": \"Tim Cook in Paris\", \"style\": \"ent\"}", 200, {0}},
    {"GET", "/model", NULL, 200, {0}},
    {"GET", "/metrics", NULL, 200, {0}},
    {"GET", "/models", NULL, 200, {0}},
    {"GET", "/model?name=default", NULL, 200, {0}},
    {"POST", "/ents", "{\"text\": \"Paris\", \"model\": \"nope\"}", 404, {0}},
    {"POST", "/", "{\"text\": [1, 2", 400, {0}},
    {"POST", "/", "{\"txt\": \"x\"}", 400, {0}},
};
enum { NREQUESTS = sizeof requests / sizeof *requests };

typedef struct {
    worker_ctx w;
    server_config cfg;
    served_model model; /* the one model served, named "default" */
} request_ctx;

/* One request through routes.c as a worker runs it: prepared, computed, written. */
static int serve_one(const request_ctx *c, nerd_doc *doc, const request_case *q, route_result *r, buf *out)
{
    http_request req = {.method = q->method, .method_len = strlen(q->method), .target = q->path,
                        .target_len = strlen(q->path), .path = q->path, .path_len = strcspn(q->path, "?"),
                        .minor_version = 1, .keep_alive = 1};
    size_t body_len = q->body ? strlen(q->body) : 0;
    route_prepare(&c->w, &req, q->body, body_len, r);
    if (r->needs_model) route_compute(c->w.models[r->model_slot - 1].model, doc, 0, r);
    return http_write_response(out, r->status, 1, r->ctype, r->headers, r->body.ptr ? r->body.ptr : "", r->body.len, 0);
}

/* The answer without failures, or, when one failed, a 500 with {"error": ...}, an error status
 * as without failures but an empty body (no memory for the message), or nothing written at all
 * (never a head without its body). */
static op_result run_requests(alloc_op *op, char *why, size_t whylen)
{
    const request_ctx *c = op->ctx;
    nerd_doc *doc = nerd_doc_new();
    if (!doc) { op->status = 0; return OP_ERROR; } /* the worker cannot start */
    op_result res = OP_SAME;
    for (int i = 0; i < NREQUESTS && res != OP_WRONG; i++) {
        const request_case *q = &requests[i];
        route_result r;
        buf out = {0};
        int wrc = serve_one(c, doc, q, &r, &out);
        alloc_fail_pause(1);
        buf want = {0};
        if (!strcmp(q->path, "/metrics")) /* counters, pid and cache: as they are now */
            CHECK(metrics_render(c->w.shared, &c->cfg, c->w.models, c->w.nmodels, &want) == 0);
        else
            CHECK(buf_append(&want, q->want_body.ptr, q->want_body.len) == 0);
        const char *body = out.ptr ? strstr(out.ptr, "\r\n\r\n") : NULL;
        int complete = body && strlen(body + 4) == r.body.len && !memcmp(body + 4, r.body.ptr, r.body.len);
        if (wrc) {
            op->status = 0;
            res = OP_ERROR;
            if (out.len) { snprintf(why, whylen, "%s %s: a failed write left %zu bytes", q->method, q->path, out.len); res = OP_WRONG; }
        } else if (!complete) {
            snprintf(why, whylen, "%s %s: the response written is not the answer: %.200s", q->method, q->path,
                     out.ptr ? out.ptr : "");
            res = OP_WRONG;
        } else if (r.status == q->want_status && r.body.len == want.len && !memcmp(r.body.ptr, want.ptr, want.len)) {
        } else if ((r.status == 500 && (!r.body.len || (!strncmp(r.body.ptr, "{\"error\":\"", 10) &&
                                                        r.body.ptr[r.body.len - 1] == '}'))) ||
                   (r.status == q->want_status && r.status >= 400 && !r.body.len)) {
            op->status = r.status;
            res = OP_ERROR;
        } else {
            snprintf(why, whylen, "%s %s: %d %.200s instead of %d %.200s", q->method, q->path, r.status,
                     r.body.ptr ? r.body.ptr : "", q->want_status, want.ptr ? want.ptr : "");
            res = OP_WRONG;
        }
        buf_free(&want);
        alloc_fail_pause(0);
        buf_free(&out);
        route_result_free(&r);
    }
    nerd_doc_free(doc);
    return res;
}

TEST_T(alloc_fail_request_path, 600)
{
    if (!hooks_present()) return;
    static server_shared shared;
    request_ctx c = {0};
    char err[256];
    char *argv[] = {"serve", NULL};
    CHECK(server_config_parse(&c.cfg, 1, argv, err, sizeof err) == 0);
    c.cfg.pipeline = NERD_PIPELINE_FULL;
    c.model = (served_model){.name = "default", .path = "stand-in", .model = test_model(), .pipeline = c.cfg.pipeline};
    c.w = (worker_ctx){.cfg = &c.cfg, .models = &c.model, .nmodels = 1, .shared = &shared};
    nerd_doc *doc = nerd_doc_new();
    for (int i = 0; i < NREQUESTS; i++) { /* the answers without failures */
        route_result r;
        buf out = {0};
        CHECK(serve_one(&c, doc, &requests[i], &r, &out) == 0);
        CHECKF(r.status == requests[i].want_status, "%s %s: %d", requests[i].method, requests[i].path, r.status);
        CHECK(buf_append(&requests[i].want_body, r.body.ptr, r.body.len) == 0);
        route_result_free(&r);
        buf_free(&out);
    }
    nerd_doc_free(doc);
    alloc_op op = {.name = "request path", .run = run_requests, .ctx = &c, .http = 1};
    inject_all(&op);
    for (int i = 0; i < NREQUESTS; i++) buf_free(&requests[i].want_body);
    nerd_model_free(c.model.model);
}

/* ---- the rule lemmatizer and the noun chunks (src/components/lemmatizer.c, noun_chunks.c) ---- */

/* A rule lemmatizer's load, some tokens' lemmas and one parse's noun chunks, in one language. */
typedef struct {
    buf want;        /* the answer of the run without failures */
    char dir[1024];  /* the lemmatizer folder */
    lemmatizer_class cls;
    const char *const (*tokens)[3]; /* text, pos, morph */
    size_t ntokens;
    noun_chunks_fn chunks;
    const int32_t *heads;
    const char *const *deps, *const *pos;
    size_t nparsed;
} lemma_case;

static const char *const lemma_tokens[][3] = {
    {"leaves", "NOUN", "Number=Plur"}, {"better", "ADJ", "Degree=Cmp"}, {"\xc4\xb0STANBULS", "NOUN", "Number=Plur"},
    {"Paris", "PROPN", "Number=Sing"}, {"blorped", "VERB", "Tense=Past|VerbForm=Fin"}, {"Running", "", ""},
};
/* "The big dog chased a cat and a mouse ." as en_core_web_sm parses it */
static const int32_t chunk_heads[] = {2, 2, 3, 3, 5, 3, 5, 8, 5, 3};
static const char *const chunk_deps[] = {"det", "amod", "nsubj", "ROOT", "det", "dobj", "cc", "det", "conj", "punct"};
static const char *const chunk_pos[] = {"DET", "ADJ", "NOUN", "VERB", "DET", "NOUN", "CCONJ", "DET", "NOUN", "PUNCT"};

/* tests/lemma/french_tables.h's tables reach each step of the French rules */
static const char *const french_tokens[][3] = {
    {"Chats", "NOUN", ""}, {"Yeux", "NOUN", ""}, {"buvait", "VERB", ""}, {"Zorglub", "NOUN", ""},
    {"AUX", "ADP", ""},    {"!!", "PUNCT", ""},  {"Rome", "PROPN", ""},  {"\xc4\xb0STANBULS", "NOUN", ""},
};
/* "Il voit Jean Dupont , Paul et Marie", French labels: right edges, a flat:name, conjuncts */
static const int32_t french_heads[] = {1, 1, 1, 2, 5, 2, 7, 5};
static const char *const french_deps[] = {"nsubj", "ROOT", "obj", "flat:name", "punct", "conj", "cc", "conj"};
static const char *const french_pos[] = {"PRON", "VERB", "PROPN", "PROPN", "PUNCT", "PROPN", "CCONJ", "PROPN"};

/* The case's lemmatizer loaded, then its tokens lemmatized and its chunks found: into one string
 * (the lemmas, then the chunks), or an error. */
static op_result run_lemmatizer(alloc_op *op, char *why, size_t whylen)
{
    lemma_case *c = op->ctx;
    char err[512] = "";
    lemmatizer *lz = NULL;
    nerd_status st = lemmatizer_load(&lz, c->dir, c->cls, 0, err, sizeof err);
    if (st != NERD_OK) {
        op->status = (int)st;
        if (lz || !err[0]) { snprintf(why, whylen, "status %d with a lemmatizer or no message", st); return OP_WRONG; }
        return st == NERD_ERR_NOMEM ? OP_ERROR : OP_WRONG;
    }
    buf got = {0};
    op_result res = OP_SAME;
    for (size_t i = 0; i < c->ntokens && res == OP_SAME; i++) {
        const char *const *t = c->tokens[i];
        lemmatizer_token tok = {{t[0], strlen(t[0])}, {t[1], strlen(t[1])}, {t[2], strlen(t[2])}, {"", 0}};
        if (lemmatizer_lemma(lz, &tok, &got) || buf_putc(&got, '|')) res = OP_ERROR;
    }
    size_t start[16], end[16];
    long n = res == OP_SAME && c->nparsed <= 16 ? c->chunks(c->nparsed, c->heads, c->deps, c->pos, start, end) : -1;
    if (n < 0) res = OP_ERROR;
    for (long k = 0; k < n && res == OP_SAME; k++)
        if (buf_printf(&got, "[%zu,%zu)", start[k], end[k])) res = OP_ERROR;
    if (res == OP_ERROR) op->status = NERD_ERR_NOMEM;
    alloc_fail_pause(1);
    buf *want = &c->want;
    if (res == OP_SAME && !want->len) buf_append(want, got.ptr, got.len); /* the run without failures */
    else if (res == OP_SAME && (got.len != want->len || memcmp(got.ptr, want->ptr, got.len))) {
        snprintf(why, whylen, "%.200s instead of %.200s", got.ptr, want->ptr);
        res = OP_WRONG;
    }
    alloc_fail_pause(0);
    buf_free(&got);
    lemmatizer_free(lz);
    return res;
}

TEST_T(alloc_fail_lemmatizer, 600)
{
    if (!hooks_present()) return;
    lemma_case c = {.cls = LEMMATIZER_BASE_EN, .tokens = lemma_tokens, .ntokens = sizeof lemma_tokens / sizeof *lemma_tokens,
                    .chunks = en_noun_chunks, .heads = chunk_heads, .deps = chunk_deps, .pos = chunk_pos,
                    .nparsed = sizeof chunk_heads / sizeof *chunk_heads};
    snprintf(c.dir, sizeof c.dir, "%s/lemmatizer", test_standin());
    alloc_op op = {.name = "lemmatizer load, lemmas and noun chunks", .run = run_lemmatizer, .ctx = &c};
    inject_all(&op);
    buf_free(&c.want);
}

/* The French class over small tables (its lemma_lookup map included) and the French chunks. */
TEST_T(alloc_fail_french_lemmatizer, 600)
{
    if (!hooks_present()) return;
    lemma_case c = {.cls = LEMMATIZER_FR, .tokens = french_tokens, .ntokens = sizeof french_tokens / sizeof *french_tokens,
                    .chunks = fr_noun_chunks, .heads = french_heads, .deps = french_deps, .pos = french_pos,
                    .nparsed = sizeof french_heads / sizeof *french_heads};
    snprintf(c.dir, sizeof c.dir, "/tmp/nerd-alloc-french-%d", (int)getpid());
    char lookups[1100], file[1200];
    snprintf(lookups, sizeof lookups, "%s/lookups", c.dir);
    snprintf(file, sizeof file, "%s/lookups.bin", lookups);
    CHECK(mkdir(c.dir, 0700) == 0 && mkdir(lookups, 0700) == 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_french_tables(&pk, 0);
    FILE *f = fopen(file, "wb");
    CHECK(f && fwrite(sb.data, 1, sb.size, f) == sb.size && fclose(f) == 0);
    msgpack_sbuffer_destroy(&sb);
    alloc_op op = {.name = "French lemmatizer load, lemmas and noun chunks", .run = run_lemmatizer, .ctx = &c};
    inject_all(&op);
    CHECK(unlink(file) == 0 && rmdir(lookups) == 0 && rmdir(c.dir) == 0);
    buf_free(&c.want);
}
