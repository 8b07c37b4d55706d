/* The HTTP error table (http_parser.h: HTTP_ERROR_MAP) end to end: a request provoking each
 * error, sent to both worker classes (and the async one with an inference thread), is answered
 * with the table's status and exactly its message by all three. The sync worker once answered
 * 501 and 505 "malformed request" (its own copy of the answer path had drifted). */
#include "test.h"
#include "serve_helper.h"
#include "server/http_parser.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static const struct {
    const char *name;
    int status;
    const char *message;
} table[HTTP_NERRORS] = {
#define TABLE_ROW(name, status, msg) {#name, status, msg},
    HTTP_ERROR_MAP(TABLE_ROW)
#undef TABLE_ROW
};

/* The request that provokes each error under the limits below; NULL for the one no request can
 * provoke (running out of memory). */
static const char *provoker(int index, char *space, size_t len)
{
    switch (index) {
    case HTTP_EI_BAD_REQUEST: return "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
    case HTTP_EI_URI_TOO_LONG: snprintf(space, len, "GET /%0400d HTTP/1.1\r\nHost: x\r\n\r\n", 0); return space;
    case HTTP_EI_HEADER_TOO_LARGE: snprintf(space, len, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %0400d\r\n\r\n", 0); return space;
    case HTTP_EI_NOT_IMPLEMENTED: return "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    case HTTP_EI_VERSION: return "GET / HTTP/2.0\r\n\r\n";
    case HTTP_EI_LENGTH_REQUIRED: return "POST / HTTP/1.1\r\nHost: x\r\n\r\n";
    case HTTP_EI_BODY_TOO_LARGE: return "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
    case HTTP_EI_REQUEST_TIMEOUT: return "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"te"; /* then silence */
    case HTTP_EI_INTERNAL: return NULL;
    }
    return NULL;
}

TEST_T(serve_every_http_error_is_answered_alike_by_both_worker_classes, 120)
{
    static const char *const modes[][5] = {{"-k", "sync", NULL}, {"-k", "async", NULL}, {"-k", "async", "--threads", "1", NULL}};
    enum { NMODES = sizeof modes / sizeof *modes };
    test_server servers[NMODES];
    for (int m = 0; m < NMODES; m++) {
        const char *args[16] = {"--max-body-size", "1000", "--limit-request-line", "200", "--limit-request-field_size",
                                "300", "--header-timeout", "0.3"};
        int n = 8;
        for (int k = 0; modes[m][k]; k++) args[n++] = modes[m][k];
        args[n] = NULL;
        server_start(&servers[m], args);
    }
    int provoked = 0;
    for (int e = 0; e < HTTP_NERRORS; e++) {
        char space[600];
        const char *raw = provoker(e, space, sizeof space);
        if (!raw) {
            CHECKF(e == HTTP_EI_INTERNAL, "no request provokes %s", table[e].name);
            continue;
        }
        provoked++;
        char want[160];
        snprintf(want, sizeof want, "{\"error\":\"%s\"}", table[e].message);
        for (int m = 0; m < NMODES; m++) {
            buf out = {0};
            int st = http_raw(servers[m].port, raw, strlen(raw), &out);
            const char *body = http_body(&out);
            CHECKF(st == table[e].status && body && !strcmp(body, want), "%s %s%s: expected %d %s, got %d %s", modes[m][1],
                   table[e].name, modes[m][2] ? " --threads 1" : "", table[e].status, want, st, body ? body : "(none)");
            buf_free(&out);
        }
    }
    CHECK_EQ_INT(provoked, HTTP_NERRORS - 1);
    for (int m = 0; m < NMODES; m++) CHECK(WIFEXITED(server_stop(&servers[m], SIGTERM)));
}
