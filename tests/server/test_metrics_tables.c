/* The route and status tables of /metrics: the last route id is "other", named once; every
 * status of the table is counted under its own code (501 and 505 were counted as 500). */
#include "test.h"
#include "server/server.h"

#include <stdlib.h>
#include <string.h>

static char *render_one(int route, int status)
{
    server_shared *sh = calloc(1, sizeof *sh);
    server_config cfg;
    char *argv[] = {"serve", NULL}, err[128];
    CHECK(server_config_parse(&cfg, 1, argv, err, sizeof err) == 0);
    metrics_observe(&sh->slots[0].m, route, metrics_status_id(status), 0, 0.001);
    buf out = {0};
    CHECK(metrics_render(sh, &cfg, NULL, 0, &out) == 0);
    free(sh);
    return out.ptr;
}

TEST(metrics_other_route_is_the_last_id_and_named_once)
{
    CHECK_EQ_INT(metrics_route_id("/nothing", 8), METRIC_ROUTES - 1);
    CHECK_EQ_INT(metrics_route_id("/ents", 5), ROUTE_ENTS);
    CHECK_EQ_INT(metrics_route_id("/", 1), ROUTE_ROOT);
    char *text = render_one(metrics_route_id("/nothing", 8), 404);
    CHECKF(strstr(text, "nerd_requests_total{route=\"other\",status=\"404\"} 1\n"), "%s", text);
    free(text);
    /* each route id renders its own label: no label twice */
    const char *seen[METRIC_ROUTES];
    for (int r = 0; r < METRIC_ROUTES; r++) {
        text = render_one(r, 200);
        const char *at = strstr(text, "nerd_requests_total{route=\"");
        CHECK(at);
        at += strlen("nerd_requests_total{route=\"");
        seen[r] = strndup(at, (size_t)(strchr(at, '"') - at));
        for (int k = 0; k < r; k++) CHECKF(strcmp(seen[k], seen[r]), "route %d and %d both render \"%s\"", k, r, seen[r]);
        free(text);
    }
    for (int r = 0; r < METRIC_ROUTES; r++) free((void *)seen[r]);
}

TEST(metrics_count_each_status_under_its_own_code)
{
    static const int codes[] = {200, 400, 401, 404, 405, 408, 411, 413, 414, 431, 500, 501, 503, 504, 505};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        char *text = render_one(ROUTE_ROOT, codes[i]);
        char want[96];
        snprintf(want, sizeof want, "nerd_requests_total{route=\"/\",status=\"%d\"} 1\n", codes[i]);
        CHECKF(strstr(text, want), "status %d: %s", codes[i], text);
        free(text);
    }
    char *text = render_one(ROUTE_ROOT, 418); /* not in the table: counted as 500 */
    CHECKF(strstr(text, "nerd_requests_total{route=\"/\",status=\"500\"} 1\n"), "%s", text);
    free(text);
}
