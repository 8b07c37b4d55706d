/* Several models in one instance (--model NAME=DIR, repeatable): the real en_core_web_sm and
 * the stand-in loaded together, each request answered by the model it names, the same answer
 * as that model served alone; the default without a name, 404 naming the known ones for an
 * unknown name; /models, /model?name=, the model label of /metrics; HUP with one folder broken. */
#include "test.h"
#include "serve_helper.h"
#include "server/server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Texts the two models answer differently (checked below), and one they agree on. */
static const char *const texts[] = {
    "Angela Merkel visited Paris.",
    "Apple is looking at buying U.K. startup for $1 billion",
    "San Francisco considers banning sidewalk delivery robots",
};
#define NTEXTS (sizeof texts / sizeof *texts)

/* POST /ents {"text": t[, "model": m]}: the body of its 200 answer, in out (owned by the caller). */
static char *ents(int port, const char *text, const char *model)
{
    char body[512];
    if (model) snprintf(body, sizeof body, "{\"text\": \"%s\", \"model\": \"%s\"}", text, model);
    else snprintf(body, sizeof body, "{\"text\": \"%s\"}", text);
    buf out = {0};
    int status = http_json(port, "POST", "/ents", body, &out);
    CHECKF(status == 200, "%s -> %d %s", body, status, out.ptr ? out.ptr : "");
    char *answer = strdup(http_body(&out));
    buf_free(&out);
    return answer;
}

/* The weights' sha256 in a /model or /models answer body, after `from` (64 hex digits). */
static void sha_after(const char *body, const char *from, char sha[65])
{
    const char *at = strstr(body, from);
    CHECKF(at, "no %s in %s", from, body);
    at = strstr(at, "\"sha256\":\"");
    CHECKF(at, "no sha256 in %s", body);
    snprintf(sha, 65, "%.64s", at + strlen("\"sha256\":\""));
}

/* Whether n bytes at s are well-formed UTF-8 (no cut or stray continuation bytes). */
static int utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!k || i + k > n) return 0;
        for (size_t j = 1; j < k; j++)
            if (((unsigned char)s[i + j] & 0xC0) != 0x80) return 0;
        i += k;
    }
    return 1;
}

/* Each model's answers served alone, and its weights' sha256. */
static void served_alone(const char *dir, char *answers[NTEXTS], char sha[65])
{
    const char *args[] = {"--model", dir, NULL};
    test_server s;
    server_start(&s, args);
    for (size_t i = 0; i < NTEXTS; i++) answers[i] = ents(s.port, texts[i], NULL);
    buf out = {0};
    CHECK(http_json(s.port, "GET", "/model", NULL, &out) == 200);
    sha_after(http_body(&out), "\"weights\"", sha);
    buf_free(&out);
    server_stop(&s, SIGTERM);
}

static void two_models_case(const char *wclass)
{
    char real_arg[1200], standin_arg[1200];
    snprintf(real_arg, sizeof real_arg, "real=%s", test_real_model());
    snprintf(standin_arg, sizeof standin_arg, "standin=%s", test_standin());
    char *alone_real[NTEXTS], *alone_standin[NTEXTS], sha_real[65], sha_standin[65];
    served_alone(test_real_model(), alone_real, sha_real);
    served_alone(test_standin(), alone_standin, sha_standin);
    CHECKF(strcmp(alone_real[0], alone_standin[0]) && strcmp(alone_real[1], alone_standin[1]),
           "the two models must differ on these texts to show the routing: %s / %s", alone_real[0], alone_standin[0]);

    const char *args[] = {"-k", wclass, "-w", "2", "--model", real_arg, "--model", standin_arg, NULL};
    test_server s;
    server_start(&s, args);
    for (size_t i = 0; i < NTEXTS; i++) {
        char *a = ents(s.port, texts[i], "real"), *b = ents(s.port, texts[i], "standin"), *d = ents(s.port, texts[i], NULL);
        CHECK_EQ_STR(a, alone_real[i]);
        CHECK_EQ_STR(b, alone_standin[i]);
        CHECK_EQ_STR(d, alone_real[i]); /* the first --model is the default */
        free(a), free(b), free(d);
    }
    buf out = {0};
    /* the seed's API (GET / with a JSON body) chooses the same way */
    CHECK(http_json(s.port, "GET", "/", "{\"text\": \"Angela Merkel visited Paris.\", \"model\": \"standin\"}", &out) == 200);
    CHECKF(!strstr(http_body(&out), "Angela Merkel") == !strstr(alone_standin[0], "Angela Merkel"), "%s", http_body(&out));
    buf_clear(&out);
    CHECK(http_json(s.port, "GET", "/", "{\"text\": \"Angela Merkel visited Paris.\", \"model\": \"real\"}", &out) == 200);
    CHECKF(!strstr(http_body(&out), "Angela Merkel") == !strstr(alone_real[0], "Angela Merkel"), "%s", http_body(&out));
    /* refusals: an unknown name (both routes), a name that is not a string */
    buf_clear(&out);
    CHECK_EQ_INT(http_json(s.port, "POST", "/ents", "{\"text\": \"Paris\", \"model\": \"nope\"}", &out), 404);
    CHECK_EQ_STR(http_body(&out), "{\"error\":\"unknown model \\\"nope\\\"; known: real, standin\"}");
    buf_clear(&out);
    CHECK_EQ_INT(http_json(s.port, "GET", "/", "{\"text\": \"Paris\", \"model\": \"en_core_web_sm\"}", &out), 404);
    CHECK_EQ_STR(http_body(&out), "{\"error\":\"unknown model \\\"en_core_web_sm\\\"; known: real, standin\"}");
    /* a long name of 4-byte characters is echoed cut between characters: the answer stays UTF-8
     * (schemathesis found a cut inside one) */
    {
        buf body = {0};
        buf_puts(&body, "{\"text\": \"Paris\", \"model\": \"x");
        for (int i = 0; i < 40; i++) buf_puts(&body, "\xf0\x9d\x95\xbf"); /* U+1D57F */
        buf_puts(&body, "\"}");
        CHECK_EQ_INT(http_json(s.port, "POST", "/ents", body.ptr, &out), 404);
        const char *e = http_body(&out);
        CHECKF(utf8_valid(e, strlen(e)), "%s", e);
        CHECKF(strstr(e, "x\xf0\x9d\x95\xbf") && strstr(e, "\\\"; known: real, standin"), "%s", e);
        buf_free(&body);
    }
    buf_clear(&out);
    CHECK_EQ_INT(http_json(s.port, "POST", "/ents", "{\"text\": \"Paris\", \"model\": 1}", &out), 400);
    /* /models: both, the default first, each with its folder and weights */
    buf_clear(&out);
    CHECK(http_json(s.port, "GET", "/models", NULL, &out) == 200);
    const char *list = http_body(&out);
    char sha[65], want[1400];
    snprintf(want, sizeof want, "{\"models\":[{\"model\":\"real\",\"path\":\"%s\",\"default\":true,", test_real_model());
    CHECKF(!strncmp(list, want, strlen(want)), "%s", list);
    snprintf(want, sizeof want, "{\"model\":\"standin\",\"path\":\"%s\",\"default\":false,", test_standin());
    CHECKF(strstr(list, want), "%s", list);
    CHECKF(strstr(list, "\"pipeline\":\"full\""), "%s", list);
    sha_after(list, "\"model\":\"real\"", sha);
    CHECK_EQ_STR(sha, sha_real);
    sha_after(list, "\"model\":\"standin\"", sha);
    CHECK_EQ_STR(sha, sha_standin);
    /* /model?name=: that model's /model; none: the default; unknown: 404 */
    buf_clear(&out);
    CHECK(http_json(s.port, "GET", "/model?name=standin", NULL, &out) == 200);
    sha_after(http_body(&out), "\"weights\"", sha);
    CHECK_EQ_STR(sha, sha_standin);
    CHECKF(strstr(http_body(&out), "\"model\":\"standin\",\"default\":false"), "%s", http_body(&out));
    buf_clear(&out);
    CHECK(http_json(s.port, "GET", "/model", NULL, &out) == 200);
    sha_after(http_body(&out), "\"weights\"", sha);
    CHECK_EQ_STR(sha, sha_real);
    buf_clear(&out);
    CHECK_EQ_INT(http_json(s.port, "GET", "/model?name=x", NULL, &out), 404);
    CHECK_EQ_STR(http_body(&out), "{\"error\":\"unknown model \\\"x\\\"; known: real, standin\"}");
    /* /metrics: requests by model (3 texts named each, 3 defaulted to real, plus one GET / each) */
    buf_clear(&out);
    CHECK(http_json(s.port, "GET", "/metrics", NULL, &out) == 200);
    const char *m = http_body(&out);
    CHECKF(strstr(m, "nerd_requests_total{route=\"/ents\",status=\"200\",model=\"real\"} 6\n"), "%s", m);
    CHECKF(strstr(m, "nerd_requests_total{route=\"/ents\",status=\"200\",model=\"standin\"} 3\n"), "%s", m);
    CHECKF(strstr(m, "nerd_requests_total{route=\"/\",status=\"200\",model=\"standin\"} 1\n"), "%s", m);
    CHECKF(strstr(m, "nerd_requests_total{route=\"/ents\",status=\"404\"} 2\n"), "%s", m); /* nope, the long name */
    CHECKF(strstr(m, "nerd_model_compute_seconds_total{model=\"standin\"} "), "%s", m);
    CHECKF(strstr(m, "nerd_model_info{model=\"real\",default=\"true\","), "%s", m);
    CHECKF(strstr(m, "nerd_model_info{model=\"standin\",default=\"false\","), "%s", m);
    buf_free(&out);
    server_stop(&s, SIGTERM);
    for (size_t i = 0; i < NTEXTS; i++) free(alone_real[i]), free(alone_standin[i]);
}

TEST_T(serve_two_models_route_by_name_sync, 120) { two_models_case("sync"); }
TEST_T(serve_two_models_route_by_name_async, 120) { two_models_case("async"); }

/* Two folders that name the same model in their meta.json cannot both be served unnamed. */
TEST_T(serve_two_unnamed_models_of_one_name_refused, 60)
{
    buf out = {0};
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "timeout 20 %s serve -b 127.0.0.1:0 --model %s --model %s 2>&1", getenv("NERD_BIN") ? getenv("NERD_BIN") : "build/nerd",
             test_standin(), test_standin());
    int test_run_capture(const char *cmd, buf *out);
    CHECK(test_run_capture(cmd, &out) != 0);
    CHECKF(out.ptr && strstr(out.ptr, "two models are named en_core_web_sm"), "%s", out.ptr ? out.ptr : "");
    buf_free(&out);
}

/* --model NAME=DIR and --model DIR side by side; a '=' in a path whose head is no name stays in
 * the path; a name given twice, an empty folder, a ninth model are refused. */
TEST(serve_model_flags_parse_names_and_folders)
{
    server_config c;
    char err[160], a1[] = "real=models/x", a2[] = "../shared/models/en_core_web_sm", a3[] = "--model=/tmp/a=b";
    char *argv[] = {"serve", "--model", a1, "--model", a2, a3, NULL};
    CHECK(server_config_parse(&c, 6, argv, err, sizeof err) == 0);
    CHECK_EQ_INT(c.nmodels, 3);
    CHECK_EQ_STR(c.models[0].name, "real");
    CHECK_EQ_STR(c.models[0].dir, "models/x");
    CHECK(c.models[1].name == NULL);
    CHECK_EQ_STR(c.models[1].dir, "../shared/models/en_core_web_sm");
    CHECK(c.models[2].name == NULL);
    CHECK_EQ_STR(c.models[2].dir, "/tmp/a=b");
    char *none[] = {"serve", NULL};
    CHECK(server_config_parse(&c, 1, none, err, sizeof err) == 0);
    CHECK(c.nmodels == 1 && !c.models[0].name && !c.models[0].dir);
    char t1[] = "a=x", t2[] = "a=y";
    char *twice[] = {"serve", "--model", t1, "--model", t2, NULL};
    CHECK(server_config_parse(&c, 5, twice, err, sizeof err) == -1);
    CHECKF(strstr(err, "'a' is given twice"), "%s", err);
    char e1[] = "a=";
    char *empty[] = {"serve", "--model", e1, NULL};
    CHECK(server_config_parse(&c, 3, empty, err, sizeof err) == -1);
    char *many[2 + 2 * (SERVER_MAX_MODELS + 1)];
    char names[SERVER_MAX_MODELS + 1][16];
    int n = 0;
    many[n++] = "serve";
    for (int i = 0; i <= SERVER_MAX_MODELS; i++) {
        snprintf(names[i], sizeof names[i], "m%d=d", i);
        many[n++] = "--model";
        many[n++] = names[i];
    }
    many[n] = NULL;
    CHECK(server_config_parse(&c, n, many, err, sizeof err) == -1);
    CHECKF(strstr(err, "at most"), "%s", err);
}

/* Without --pipeline each model runs what spacy.load runs for its folder: a folder without a
 * parser served beside one with it runs the ner alone, the other the full pipeline (one
 * server-wide pipeline would refuse one of them or run the wrong one). */
TEST_T(serve_two_models_each_with_its_own_default_pipeline, 90)
{
    char copy[256], arg_full[1100], arg_ner[300];
    model_copy("noparser", MODEL_EDIT_NO_PARSER, copy, sizeof copy);
    snprintf(arg_full, sizeof arg_full, "full=%s", test_standin());
    snprintf(arg_ner, sizeof arg_ner, "nerless=%s", copy);
    const char *args[] = {"-k", "async", "--model", arg_full, "--model", arg_ner, NULL};
    test_server s;
    server_start(&s, args);
    buf out = {0};
    CHECK(http_json(s.port, "GET", "/models", NULL, &out) == 200);
    const char *list = http_body(&out), *ner_at = strstr(list, "\"model\":\"nerless\"");
    CHECKF(ner_at, "%s", list);
    const char *full_pipeline = strstr(list, "\"pipeline\":\"full\""), *ner_pipeline = strstr(ner_at, "\"pipeline\":\"ner\"");
    CHECKF(full_pipeline && full_pipeline < ner_at && ner_pipeline, "%s", list);
    for (int i = 0; i < 2; i++) {
        buf_clear(&out);
        CHECK_EQ_INT(http_json(s.port, "POST", "/ents",
                               i ? "{\"text\": \"Paris is in France.\", \"model\": \"nerless\"}"
                                 : "{\"text\": \"Paris is in France.\", \"model\": \"full\"}", &out), 200);
        CHECKF(strstr(http_body(&out), "\"Paris\""), "%s", http_body(&out));
    }
    buf_free(&out);
    server_stop(&s, SIGTERM);
    model_copy_remove(copy);
}
