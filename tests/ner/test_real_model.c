/* The default model: the real en_core_web_sm 3.8.0 that `make deps` fetches. It must be the
 * release the stand-in was cut from (every file STANDIN.md calls real, byte for byte), it must
 * be what nerd finds first when no folder is named, and the weights a model was loaded with
 * must be named by a SHA-256 anyone can recompute. */
#include "model_helper.h"
#include "test.h"
#include "util/buf.h"
#include "util/sha256.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int test_run_capture(const char *cmd, buf *out);

/* What ../shared/models/en_core_web_sm/STANDIN.md lists as the real 3.8.0 release's files
 * (config.cfg, tokenizer, vocab/..., ner/moves, ner/cfg, senter/..., attribute_ruler/patterns,
 * lemmatizer/..., tok2vec/cfg, LICENSE...). Its README.md is listed there too, but the PyPI upload
 * rewrote that file's header ("Spacy model uploaded to PyPi..."), so it is not compared. */
static const char *const release_files[] = {
    "config.cfg",         "tokenizer",        "vocab/key2row", "vocab/lookups.bin", "vocab/strings.json",
    "vocab/vectors",      "vocab/vectors.cfg", "ner/moves",    "ner/cfg",           "senter/cfg",
    "senter/model",       "attribute_ruler/patterns",          "lemmatizer/lookups/lookups.bin",
    "tok2vec/cfg",        "LICENSE",          "LICENSES_SOURCES",
};
#define NRELEASE_FILES (sizeof release_files / sizeof *release_files)

/* Compares release_files in folders a and b; appends one line per file that differs (or is
 * missing) to report. Returns how many differ. */
static size_t release_files_differ(const char *a, const char *b, buf *report)
{
    size_t ndiff = 0;
    for (size_t i = 0; i < NRELEASE_FILES; i++) {
        char pa[4096], pb[4096];
        snprintf(pa, sizeof pa, "%s/%s", a, release_files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, release_files[i]);
        size_t la = 0, lb = 0;
        char *da = test_read_file(pa, &la), *db = test_read_file(pb, &lb);
        if (!da || !db) {
            buf_printf(report, "%s: missing in %s\n", release_files[i], !da ? a : b);
            ndiff++;
        } else if (la != lb || memcmp(da, db, la)) {
            size_t at = 0;
            while (at < la && at < lb && da[at] == db[at]) at++;
            buf_printf(report, "%s: differs (%zu vs %zu bytes, first at byte %zu)\n", release_files[i], la, lb, at);
            ndiff++;
        }
        free(da);
        free(db);
    }
    return ndiff;
}

TEST(real_model_release_files_match_the_standin)
{
    buf report = {0};
    size_t ndiff = release_files_differ(test_real_model(), test_standin(), &report);
    CHECKF(ndiff == 0, "%zu of %zu files the stand-in calls real differ from the fetched model:\n%s", ndiff,
           NRELEASE_FILES, report.ptr);
    /* and the weights are not the stand-in's retrained ones */
    char err[512];
    nerd_model *real = nerd_model_load(test_real_model(), NULL, err, sizeof err);
    CHECKF(real, "%s", err);
    nerd_model *standin = test_model();
    CHECK(strcmp(nerd_model_weights_sha256(real), nerd_model_weights_sha256(standin)));
    nerd_model_free(real);
    nerd_model_free(standin);
    buf_free(&report);
}

/* The comparison can fail: a copy with one byte changed and one file gone is reported by name.
 * cp -L: with a symlinked model folder, cp -r would copy the link and the test would damage the
 * real files behind it. */
TEST(real_model_comparison_names_the_files_that_differ)
{
    char copy[64], cmd[512];
    snprintf(copy, sizeof copy, "/tmp/nerd-real-copy-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -rL %s %s && chmod -R u+w %s && rm %s/vocab/vectors.cfg", copy,
             test_real_model(), copy, copy, copy);
    CHECK(system(cmd) == 0);
    char path[128];
    snprintf(path, sizeof path, "%s/tokenizer", copy);
    FILE *f = fopen(path, "r+b");
    CHECK(f && fseek(f, 1000, SEEK_SET) == 0);
    int c = fgetc(f);
    CHECK(c != EOF && fseek(f, 1000, SEEK_SET) == 0 && fputc(c ^ 1, f) != EOF && fclose(f) == 0);
    buf report = {0};
    size_t ndiff = release_files_differ(copy, test_standin(), &report);
    snprintf(cmd, sizeof cmd, "rm -rf %s", copy);
    CHECK(system(cmd) == 0);
    CHECKF(ndiff == 2, "%s", report.ptr ? report.ptr : "");
    CHECKF(strstr(report.ptr, "tokenizer: differs (77066 vs 77066 bytes, first at byte 1000)") &&
               strstr(report.ptr, "vocab/vectors.cfg: missing in /tmp/nerd-real-copy-"),
           "%s", report.ptr);
    buf_free(&report);
}

/* --model, then $NERD_MODEL, then the fetched models/en_core_web_sm-3.8.0, then the stand-in
 * ../shared/models/en_core_web_sm, relative to the working directory; a folder named by
 * --model or $NERD_MODEL that is not there is an error, not a reason to fall back. */
TEST(model_search_order)
{
    char root[64], cmd[512], out[256], err[1024];
    snprintf(root, sizeof root, "/tmp/nerd-order-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s/clone/%s %s/shared/models/en_core_web_sm %s/env %s/flag", root,
             root, NERD_FETCHED_MODEL, root, root, root);
    CHECK(system(cmd) == 0);
    char clone[128], env[128], flag[128];
    snprintf(clone, sizeof clone, "%s/clone", root);
    snprintf(env, sizeof env, "%s/env", root);
    snprintf(flag, sizeof flag, "%s/flag", root);
    CHECK(chdir(clone) == 0);
    unsetenv("NERD_MODEL");

    CHECK(nerd_model_path(flag, out, sizeof out, err, sizeof err) == 0);
    CHECK_EQ_STR(out, flag);
    setenv("NERD_MODEL", env, 1);
    CHECK(nerd_model_path(flag, out, sizeof out, err, sizeof err) == 0);
    CHECK_EQ_STR(out, flag);
    CHECK(nerd_model_path(NULL, out, sizeof out, err, sizeof err) == 0);
    CHECK_EQ_STR(out, env);
    setenv("NERD_MODEL", "", 1); /* empty is unset */
    CHECK(nerd_model_path(NULL, out, sizeof out, err, sizeof err) == 0);
    CHECK_EQ_STR(out, NERD_FETCHED_MODEL);
    unsetenv("NERD_MODEL");
    CHECK(nerd_model_path(NULL, out, sizeof out, err, sizeof err) == 0);
    CHECK_EQ_STR(out, NERD_FETCHED_MODEL);

    CHECK(rmdir(NERD_FETCHED_MODEL) == 0);
    CHECK(nerd_model_path(NULL, out, sizeof out, err, sizeof err) == 0);
    CHECK_EQ_STR(out, "../shared/models/en_core_web_sm");
    /* a named folder that is missing is never replaced by a default one */
    setenv("NERD_MODEL", "/nonexistent/env", 1);
    CHECK(nerd_model_path(NULL, out, sizeof out, err, sizeof err) == -1);
    CHECKF(strstr(err, "$NERD_MODEL=/nonexistent/env"), "%s", err);
    unsetenv("NERD_MODEL");

    snprintf(cmd, sizeof cmd, "rm -rf %s/shared", root);
    CHECK(system(cmd) == 0);
    CHECK(nerd_model_path(NULL, out, sizeof out, err, sizeof err) == -1);
    CHECKF(strstr(err, "--model (not given), $NERD_MODEL (not set), " NERD_FETCHED_MODEL
                       " (no such folder), ../shared/models/en_core_web_sm (no such folder)") &&
               strstr(err, "make deps"),
           "%s", err);
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK(system(cmd) == 0);
}

/* From a clone's root (where `make test` runs), with nothing named, the CLI loads the fetched
 * real model and says which weights: the same SHA-256 as `cat` of the files into sha256sum. */
TEST(default_model_is_the_fetched_real_one)
{
    const char *real = test_real_model();
    char cmd[1024];
    buf out = {0}, sum = {0};
    snprintf(cmd, sizeof cmd, "echo 'Paris is the capital of France.' | env -u NERD_MODEL %s ner --verbose - 2>&1",
             test_nerd_bin());
    CHECK(test_run_capture(cmd, &out) == 0 && out.ptr);
    snprintf(cmd, sizeof cmd, "cd %s && cat ner/model tok2vec/model parser/model tagger/model | sha256sum", real);
    CHECK(test_run_capture(cmd, &sum) == 0 && sum.len > 64);
    char want[256];
    snprintf(want, sizeof want, "from %s in ", real);
    CHECKF(strstr(out.ptr, want), "%s", out.ptr);
    snprintf(want, sizeof want, "weights: sha256 %.64s of ner/model tok2vec/model parser/model tagger/model", sum.ptr);
    CHECKF(strstr(out.ptr, want), "%s\nwanted: %s", out.ptr, want);
    CHECKF(strstr(out.ptr, "{\"Paris\":\"GPE\",\"France\":\"GPE\"}"), "%s", out.ptr);
    buf_free(&out);
    buf_free(&sum);
}

/* FIPS 180-4's examples (and the million 'a's of its test vectors), fed in uneven pieces so
 * that every path through the partial-block buffer runs. */
TEST(sha256_matches_the_standard_vectors)
{
    static const struct { const char *text; size_t repeat; const char *digest; } vectors[] = {
        {"", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    };
    for (size_t v = 0; v < sizeof vectors / sizeof *vectors; v++) {
        size_t len = strlen(vectors[v].text), total = len * vectors[v].repeat;
        char *msg = malloc(total + 1);
        CHECK(msg);
        for (size_t r = 0; r < vectors[v].repeat; r++) memcpy(msg + r * len, vectors[v].text, len);
        static const size_t pieces[] = {1, 63, 64, 65, 7, 1000};
        for (size_t p = 0; p < sizeof pieces / sizeof *pieces; p++) {
            sha256_ctx c;
            sha256_init(&c);
            for (size_t at = 0; at < total; at += pieces[p])
                sha256_update(&c, msg + at, total - at < pieces[p] ? total - at : pieces[p]);
            char hex[65];
            sha256_hex(&c, hex);
            CHECKF(!strcmp(hex, vectors[v].digest), "vector %zu in pieces of %zu: %s", v, pieces[p], hex);
        }
        free(msg);
    }
}
