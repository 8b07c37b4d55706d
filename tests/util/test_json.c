#include "test.h"
#include "util/json.h"

static int parses(const char *s)
{
    json_doc d;
    char err[256];
    int rc = json_parse(s, strlen(s), 8, &d, err, sizeof err);
    json_doc_free(&d);
    return rc == 0;
}

TEST(json_parses_request_shapes)
{
    json_doc d;
    char err[256];
    const char *s = "{\"i_request\": 3, \"text\": \"Paris \\u00cele\\ud835\\udd18 \\\"q\\\"\\n\", \"text\": \"last\"}";
    CHECKF(json_parse(s, strlen(s), 0, &d, err, sizeof err) == 0, "%s", err);
    const json_value *t = json_get(&d.root, "text");
    CHECK(t && t->type == JSON_STRING);
    CHECK_EQ_STR(t->u.str.ptr, "last"); /* Python dict: the last duplicate wins */
    CHECK(d.root.u.obj.items[1].val.type == JSON_STRING);
    CHECK_EQ_STR(d.root.u.obj.items[1].val.u.str.ptr, "Paris \xc3\x8e" "le\xf0\x9d\x94\x98 \"q\"\n");
    const json_value *i = json_get(&d.root, "i_request");
    CHECK(i && i->type == JSON_NUMBER && i->u.num == 3);
    json_doc_free(&d);
}

TEST(json_rejects_malformed)
{
    const char *bad[] = {"", " ", "{", "{\"a\"}", "{\"a\":}", "[1,]", "[1 2]", "\"abc", "\"\\x\"",
                         "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\x01\"", "\"\xc3\"",
                         "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "01", "1.", "-", "1e", "tru", "nul",
                         "{} x", "[[[[[[[[[[1]]]]]]]]]]", "NaN", "{\"a\":1,}", "'a'"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) CHECKF(!parses(bad[k]), "accepted: %s", bad[k]);
    const char *good[] = {"0", "-0.5e+3", "true", "null", "\"\"", "[]", "{}", "[[[1]]]", " {\"a\" : [1, {}]} ",
                          "\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\""};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) CHECKF(parses(good[k]), "refused: %s", good[k]);
}

TEST(json_error_names_offset)
{
    json_doc d;
    char err[256];
    CHECK(json_parse("{\"text\": 1,}", 12, 0, &d, err, sizeof err) < 0);
    json_doc_free(&d);
    CHECKF(strstr(err, "at byte 11") != NULL, "%s", err);
}

TEST(json_writes_python_escaping)
{
    buf b = {0};
    const char *s = "\xc3\x8e\"\\\n\x01/\xf0\x9d\x94\x98";
    CHECK(json_write_string(&b, s, strlen(s), 0) == 0);
    CHECK_EQ_STR(b.ptr, "\"\xc3\x8e\\\"\\\\\\n\\u0001/\xf0\x9d\x94\x98\"");
    buf_clear(&b);
    CHECK(json_write_string(&b, s, strlen(s), 1) == 0);
    CHECK_EQ_STR(b.ptr, "\"\\u00ce\\\"\\\\\\n\\u0001/\\ud835\\udd18\"");
    buf_free(&b);
}
