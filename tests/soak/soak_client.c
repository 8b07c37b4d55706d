/* soak_client.c - `make soak`'s load: THREADS blocking clients on keep-alive connections send
 * a weighted mix of valid and invalid requests for SECONDS, check every status against the one
 * that request must get, and print the requests served and the errors by kind.
 *   usage: soak_client PORT SECONDS THREADS */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *name;
    int weight;
    int want;          /* the status it must get; 0 = the client leaves before any answer */
    int closes;        /* the server closes the connection after it */
    const char *path;
    const char *body;  /* NULL = GET; otherwise sent with Content-Length unless raw */
    const char *raw;   /* a whole request as is */
} kind;

static const char paragraph[] =
    "Angela Merkel met Emmanuel Macron in Paris on Tuesday to discuss the European Union budget. "
    "Apple Inc. said it would invest $1 billion in a new campus in Austin, Texas, by 2025. "
    "The Amazon River flows through Brazil, Peru and Colombia before reaching the Atlantic Ocean. ";

static kind kinds[] = {
    {"post_short", 30, 200, 0, "/", "{\"text\": \"Angela Merkel visited Paris on 3 May 2021.\"}", NULL},
    {"post_paragraph", 15, 200, 0, "/", NULL, NULL},            /* body built at start: paragraph x 20 */
    {"post_ents", 10, 200, 0, "/ents", "{\"text\": \"Barack Obama was born in Hawaii.\"}", NULL},
    {"get_healthz", 10, 200, 0, "/healthz", NULL, NULL},
    {"get_metrics", 1, 200, 0, "/metrics", NULL, NULL},
    {"not_found", 3, 404, 0, "/nothing", NULL, NULL},
    {"bad_json", 5, 400, 1, "/", "{\"text\": ", NULL},
    {"missing_text", 3, 400, 1, "/", "{\"txt\": \"Paris\"}", NULL},
    {"bad_utf8", 3, 400, 1, "/", "{\"text\": \"Paris \xc3\x28\"}", NULL},
    {"lone_surrogate", 2, 400, 1, "/", "{\"text\": \"\\ud800\"}", NULL},
    {"smuggle_cl_te", 3, 400, 1, NULL, NULL,
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"},
    {"bad_chunk", 2, 400, 1, NULL, NULL, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nx\r\n0\r\n\r\n"},
    {"chunked_ok", 3, 200, 0, NULL, NULL,
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n9;x=y\r\n{\"text\": \r\n8\r\n\"Paris\"}\r\n0\r\nT: v\r\n\r\n"},
    {"too_large", 2, 413, 1, NULL, NULL, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n"},
    {"bare_lf", 2, 400, 1, NULL, NULL, "GET /healthz HTTP/1.1\nHost: x\n\n"},
    {"http10", 2, 200, 1, NULL, NULL, "GET /healthz HTTP/1.0\r\n\r\n"},
    {"leave_mid_request", 2, 0, 1, NULL, NULL, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"text\": \"Pa"},
};
enum { NKINDS = sizeof kinds / sizeof kinds[0] };

typedef struct {
    _Atomic long sent, ok, wrong_status, no_answer, connect_failed;
} tally;
static tally tallies[NKINDS];
static _Atomic long statuses[600];
static char paragraph_body[sizeof paragraph * 20 + 32];
static int port;
static double end_at;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) { close(fd); return -1; }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads one whole response (head + Content-Length body); returns its status or -1. */
static int read_response(int fd, char *b, size_t cap)
{
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len + 1 >= cap) return -1;
        ssize_t k = recv(fd, b + len, cap - 1 - len, 0);
        if (k <= 0) return -1;
        len += (size_t)k;
        b[len] = 0;
        end = strstr(b, "\r\n\r\n");
    }
    int status = atoi(b + 9);
    const char *cl = strcasestr(b, "\r\nContent-Length: ");
    size_t want = (size_t)(end + 4 - b) + (cl && cl < end ? strtoul(cl + 18, NULL, 10) : 0);
    if (want >= cap) return -1;
    while (len < want) {
        ssize_t k = recv(fd, b + len, want - len, 0);
        if (k <= 0) return -1;
        len += (size_t)k;
    }
    return status;
}

static void *client(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;
    int total = 0;
    for (int i = 0; i < NKINDS; i++) total += kinds[i].weight;
    size_t cap = 1 << 20;
    char *resp = malloc(cap);
    char *req = malloc(sizeof paragraph_body + 512);
    int fd = -1;
    while (now_s() < end_at) {
        int r = rand_r(&seed) % total, k = 0;
        while (r >= kinds[k].weight) r -= kinds[k++].weight;
        const kind *kd = &kinds[k];
        tally *t = &tallies[k];
        if (fd < 0 && (fd = dial()) < 0) { t->connect_failed++; usleep(10000); continue; }
        size_t n;
        if (kd->raw) {
            n = strlen(kd->raw);
            memcpy(req, kd->raw, n);
        } else if (kd->body || !strcmp(kd->name, "post_paragraph")) {
            const char *body = kd->body ? kd->body : paragraph_body;
            n = (size_t)sprintf(req, "POST %s HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                                kd->path, strlen(body), body);
        } else {
            n = (size_t)sprintf(req, "GET %s HTTP/1.1\r\nHost: soak\r\n\r\n", kd->path);
        }
        t->sent++;
        if (send_all(fd, req, n)) { t->no_answer++; close(fd); fd = -1; continue; }
        if (!kd->want) { close(fd); fd = -1; t->ok++; continue; } /* the client walks away */
        int st = read_response(fd, resp, cap);
        if (st < 0) t->no_answer++;
        else {
            statuses[st < 600 ? st : 0]++;
            if (st == kd->want) t->ok++;
            else t->wrong_status++;
        }
        if (st < 0 || kd->closes) { close(fd); fd = -1; }
    }
    if (fd >= 0) close(fd);
    free(resp);
    free(req);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: soak_client PORT SECONDS THREADS\n"); return 2; }
    port = atoi(argv[1]);
    double seconds = atof(argv[2]);
    int nthreads = atoi(argv[3]);
    char *p = paragraph_body + sprintf(paragraph_body, "{\"text\": \"");
    for (int i = 0; i < 20; i++) p += sprintf(p, "%s", paragraph);
    sprintf(p, "\"}");
    end_at = now_s() + seconds;
    pthread_t th[256];
    if (nthreads < 1 || nthreads > 256) nthreads = 16;
    for (int i = 0; i < nthreads; i++) pthread_create(&th[i], NULL, client, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
    long sent = 0, ok = 0, bad = 0;
    printf("%-18s %10s %10s %12s %10s %14s\n", "kind", "sent", "as_expected", "wrong_status", "no_answer", "connect_failed");
    for (int i = 0; i < NKINDS; i++) {
        tally *t = &tallies[i];
        printf("%-18s %10ld %10ld %12ld %10ld %14ld\n", kinds[i].name, (long)t->sent, (long)t->ok, (long)t->wrong_status,
               (long)t->no_answer, (long)t->connect_failed);
        sent += t->sent;
        ok += t->ok;
        bad += t->wrong_status + t->no_answer + t->connect_failed;
    }
    printf("statuses:");
    for (int s = 0; s < 600; s++) if (statuses[s]) printf(" %d=%ld", s, (long)statuses[s]);
    printf("\nrequests sent %ld, answered as expected %ld, unexpected %ld, %.0f requests/s\n", sent, ok, bad, sent / seconds);
    return bad ? 1 : 0;
}
