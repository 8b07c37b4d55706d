/* Broken model folders and hostile texts: a clear error naming the file, a non-zero exit
 * from the CLI, never a crash. */
#include "test.h"
#include "model_helper.h"
#include "nerd.h"
#include "pipeline/engine.h"
#include "util/buf.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <msgpack.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A copy of the model folder made of symlinks, whose files a test can then replace. */
static void link_tree(const char *src, const char *dst)
{
    CHECK(mkdir(dst, 0755) == 0);
    DIR *d = opendir(src);
    CHECK(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char s[1024], t[1024];
        snprintf(s, sizeof s, "%s/%s", src, e->d_name);
        snprintf(t, sizeof t, "%s/%s", dst, e->d_name);
        struct stat st;
        CHECK(stat(s, &st) == 0);
        if (S_ISDIR(st.st_mode)) link_tree(s, t);
        else CHECK(symlink(s, t) == 0);
    }
    closedir(d);
}

static char model_copy[256];

static const char *fresh_copy(void)
{
    char real[1024];
    CHECK(realpath(test_path("models/en_core_web_sm"), real));
    snprintf(model_copy, sizeof model_copy, "/tmp/nerd-model-%d", (int)getpid());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", model_copy);
    CHECK(system(cmd) == 0);
    link_tree(real, model_copy);
    return model_copy;
}

static void replace(const char *rel, const void *data, size_t len)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", model_copy, rel);
    unlink(p);
    FILE *f = fopen(p, "wb");
    CHECK(f);
    CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
}

static void truncate_copy(const char *rel, size_t keep)
{
    char src[1024];
    snprintf(src, sizeof src, "%s/%s", test_path("models/en_core_web_sm"), rel);
    size_t len;
    char *data = test_read_file(src, &len);
    CHECK(data && len > keep);
    replace(rel, data, keep);
    free(data);
}

static void expect_failure(const char *what, const char *needle, nerd_status want)
{
    char err[1024] = "";
    nerd_status st = NERD_OK;
    nerd_model *m = nerd_model_load(model_copy, &st, err, sizeof err);
    CHECKF(!m, "%s: loaded a broken model", what);
    CHECKF(st == want, "%s: status %d, expected %d (%s)", what, st, want, err);
    CHECKF(strstr(err, needle), "%s: error \"%s\" does not name %s", what, err, needle);
    printf("  %s -> %s\n", what, err);
}

static void cleanup(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", model_copy);
    if (system(cmd)) {}
}

TEST(model_load_missing_files)
{
    static const char *files[] = {"tokenizer", "config.cfg", "ner/model", "ner/moves",
                                  "tok2vec/model", "parser/model", "parser/moves", "attribute_ruler/patterns"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        fresh_copy();
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", model_copy, files[i]);
        CHECK(unlink(p) == 0);
        expect_failure(files[i], files[i], NERD_ERR_NOT_FOUND);
    }
    cleanup();
}

TEST(model_load_truncated_and_garbage)
{
    static const char *files[] = {"tokenizer", "ner/model", "ner/moves", "vocab/lookups.bin",
                                  "tok2vec/model", "parser/model", "parser/moves", "attribute_ruler/patterns"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        fresh_copy();
        truncate_copy(files[i], 100);
        expect_failure(files[i], files[i], NERD_ERR_FORMAT);
        fresh_copy();
        unsigned char junk[4096];
        for (size_t k = 0; k < sizeof junk; k++) junk[k] = (unsigned char)(k * 2654435761u >> 13);
        replace(files[i], junk, sizeof junk);
        expect_failure(files[i], files[i], NERD_ERR_FORMAT);
        replace(files[i], "", 0);
        expect_failure(files[i], files[i], NERD_ERR_FORMAT);
    }
    cleanup();
}

TEST(model_load_unsupported_architecture_is_named)
{
    fresh_copy();
    char src[1024];
    snprintf(src, sizeof src, "%s/config.cfg", test_path("models/en_core_web_sm"));
    size_t len;
    char *cfg = test_read_file(src, &len);
    CHECK(cfg);
    char *at = strstr(cfg, "spacy.MaxoutWindowEncoder.v2");
    CHECK(at);
    buf b = {0};
    buf_append(&b, cfg, (size_t)(at - cfg));
    buf_puts(&b, "spacy.TorchBiLSTMEncoder.v1");
    buf_puts(&b, at + strlen("spacy.MaxoutWindowEncoder.v2"));
    replace("config.cfg", b.ptr, b.len);
    buf_free(&b);
    expect_failure("config.cfg", "spacy.TorchBiLSTMEncoder.v1", NERD_ERR_UNSUPPORTED);
    free(cfg);
    cleanup();
}

static void edit_config(const char *anchor, const char *from, const char *to)
{
    test_edit_config(model_copy, anchor, from, to);
}

TEST(model_load_unsupported_parser_is_named)
{
    static const struct { const char *anchor, *from, *to, *needle; } cases[] = {
        {"[components.parser.model.tok2vec]", "spacy.Tok2VecListener.v1", "spacy.Tok2VecListener.v9", "Tok2VecListener.v9"},
        {"[components.parser.model]", "spacy.TransitionBasedParser.v2", "spacy.TransitionBasedParser.v3", "TransitionBasedParser.v3"},
        {"[components.tok2vec.model.embed]", "\"IS_SPACE\"]", "\"LENGTH\"]", "LENGTH"},
        {"[components.parser]", "learn_tokens = false", "learn_tokens = true", "learn_tokens"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fresh_copy();
        edit_config(cases[i].anchor, cases[i].from, cases[i].to);
        expect_failure("config.cfg", cases[i].needle, NERD_ERR_UNSUPPORTED);
    }
    cleanup();
}

/* A folder without a parser still runs the ner alone; the full pipeline is refused with the
 * reason, by the library and by the CLI. */
TEST(model_without_parser_runs_ner_only)
{
    static const struct { const char *from, *to; } cases[] = {
        {"\"tagger\",\"parser\",", "\"tagger\","},          /* not in the pipeline */
        {"disabled = [\"senter\"]", "disabled = [\"senter\",\"parser\"]"}, /* disabled */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fresh_copy();
        edit_config("[nlp]", cases[i].from, cases[i].to);
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "rm -rf %s/parser", model_copy);
        CHECK(system(cmd) == 0);
        char err[1024];
        nerd_model *m = nerd_model_load(model_copy, NULL, err, sizeof err);
        CHECKF(m, "%s", err);
        CHECK(nerd_model_has_pipeline(m, NERD_PIPELINE_NER) && !nerd_model_has_pipeline(m, NERD_PIPELINE_FULL));
        CHECK(nerd_model_pipeline_error(m, NERD_PIPELINE_NER) == NULL);
        const char *why = nerd_model_pipeline_error(m, NERD_PIPELINE_FULL);
        CHECKF(why && strstr(why, "no (enabled) parser"), "%s", why ? why : "(null)");
        nerd_doc *d = nerd_doc_new();
        CHECK(nerd_ner(m, d, "Paris is in France.", 19, NERD_PIPELINE_NER) == NERD_OK && nerd_doc_nents(d) > 0);
        CHECK(nerd_doc_sent_start(d, 0) == -1 && nerd_doc_head(d, 0, NULL, NULL) == -1);
        CHECK(nerd_ner(m, d, "Paris is in France.", 19, NERD_PIPELINE_FULL) == NERD_ERR_UNSUPPORTED);
        nerd_doc_free(d);
        snprintf(cmd, sizeof cmd, "echo 'Paris' | %s ner --pipeline full --model %s 2>&1", test_nerd_bin(), model_copy);
        char out[2048];
        CHECK(test_run_output(cmd, out, sizeof out) > 0);
        CHECKF(strstr(out, "cannot run the full pipeline") && strstr(out, "parser"), "%s", out);
        /* without --pipeline, what spacy.load(folder) runs: here the ner alone */
        CHECK(nerd_model_default_pipeline(m) == NERD_PIPELINE_NER);
        snprintf(cmd, sizeof cmd, "echo 'Paris is in France.' | %s ner --model %s 2>&1", test_nerd_bin(), model_copy);
        CHECK(test_run_output(cmd, out, sizeof out) == 0);
        CHECKF(strstr(out, "\"Paris\"") && strstr(out, "GPE") && !strstr(out, "cannot"), "%s", out);
        nerd_model_free(m);
    }
    cleanup();
}

TEST(model_load_empty_and_missing_folder)
{
    snprintf(model_copy, sizeof model_copy, "/tmp/nerd-empty-%d", (int)getpid());
    CHECK(mkdir(model_copy, 0755) == 0);
    expect_failure("empty folder", "config.cfg", NERD_ERR_NOT_FOUND);
    rmdir(model_copy);
    expect_failure("missing folder", model_copy, NERD_ERR_NOT_FOUND);
    char out[256], err[512];
    setenv("NERD_MODEL", "/nonexistent/model", 1);
    CHECK(nerd_model_path(NULL, out, sizeof out, err, sizeof err) == -1);
    CHECKF(strstr(err, "$NERD_MODEL=/nonexistent/model"), "%s", err);
    unsetenv("NERD_MODEL");
    CHECK(nerd_model_path("/nonexistent/flag", out, sizeof out, err, sizeof err) == -1);
    CHECKF(strstr(err, "--model /nonexistent/flag"), "%s", err);
}

TEST(cli_exits_nonzero_with_the_error_on_a_broken_model)
{
    fresh_copy();
    truncate_copy("ner/model", 64);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "echo 'Paris' | %s ner --model %s 2>&1", test_nerd_bin(), model_copy);
    char out[2048];
    CHECK(test_run_output(cmd, out, sizeof out) > 0);
    CHECKF(strstr(out, "ner/model"), "%s", out);
    cleanup();
}

TEST(texts_that_are_odd_or_hostile)
{
    nerd_model *m = test_model();
    nerd_doc *d = nerd_doc_new();
    CHECK(nerd_ner(m, d, "", 0, NERD_PIPELINE_NER) == NERD_OK && nerd_doc_ntokens(d) == 0 && nerd_doc_nents(d) == 0);
    CHECK(nerd_ner(m, d, NULL, 0, NERD_PIPELINE_NER) == NERD_OK);
    CHECK(nerd_ner(m, d, NULL, 5, NERD_PIPELINE_NER) == NERD_ERR_ARG);
    CHECK(nerd_ner(m, d, "\xff\xfe", 2, NERD_PIPELINE_NER) == NERD_ERR_UTF8);
    CHECK(nerd_ner(m, d, "Paris \xed\xa0\x80", 9, NERD_PIPELINE_NER) == NERD_ERR_UTF8); /* a UTF-8 surrogate */
    CHECK(nerd_ner(m, d, "Paris \xc3", 7, NERD_PIPELINE_NER) == NERD_ERR_UTF8);         /* truncated */
    /* embedded NUL bytes are ordinary characters */
    CHECK(nerd_ner(m, d, "Paris\0France and Berlin", 23, NERD_PIPELINE_NER) == NERD_OK);
    CHECK(nerd_doc_ntokens(d) >= 3);
    /* a 1 MiB text of repeated sentences (230,000 tokens), and one enormous token */
    size_t big = 1u << 20;
    char *t = malloc(big);
    const char *s = "Angela Merkel visited Paris on 3 May 2021. ";
    for (size_t i = 0; i < big; i++) t[i] = s[i % strlen(s)];
    CHECK(nerd_ner(m, d, t, big, NERD_PIPELINE_NER) == NERD_OK);
    CHECK(nerd_doc_nents(d) > 40000);
    memset(t, 'a', 1u << 20);
    CHECK(nerd_ner(m, d, t, 1u << 20, NERD_PIPELINE_NER) == NERD_OK && nerd_doc_ntokens(d) == 1);
    nerd_token tok;
    CHECK(nerd_doc_token(d, 0, &tok) == 0 && tok.shape.len == 4 && !memcmp(tok.shape.ptr, "LONG", 4));
    CHECK(nerd_doc_token(d, 1, &tok) == -1);
    free(t);
    CHECK(nerd_ner(m, NULL, "x", 1, NERD_PIPELINE_NER) == NERD_ERR_ARG);
    CHECK(nerd_ner(m, d, "x", 1, (nerd_pipeline)7) == NERD_ERR_ARG);
    /* the full pipeline over the same kinds of text (100 KB: the parser's table window moves) */
    CHECK(nerd_ner(m, d, "", 0, NERD_PIPELINE_FULL) == NERD_OK && nerd_doc_ntokens(d) == 0);
    CHECK(nerd_doc_sent_start(d, 0) == -1);
    CHECK(nerd_ner(m, d, "\xff\xfe", 2, NERD_PIPELINE_FULL) == NERD_ERR_UTF8);
    CHECK(nerd_ner(m, d, "Paris\0France and Berlin", 23, NERD_PIPELINE_FULL) == NERD_OK);
    CHECK(nerd_ner(m, d, " ", 1, NERD_PIPELINE_FULL) == NERD_OK && nerd_doc_sent_start(d, 0) == 1);
    size_t mid = 100000;
    t = malloc(mid);
    for (size_t i = 0; i < mid; i++) t[i] = s[i % strlen(s)];
    CHECK(nerd_ner(m, d, t, mid, NERD_PIPELINE_FULL) == NERD_OK && nerd_doc_ntokens(d) > 20000);
    size_t starts = 0;
    for (size_t i = 0; i < nerd_doc_ntokens(d); i++) {
        size_t h;
        CHECK(nerd_doc_head(d, i, &h, NULL) == 0 && h < nerd_doc_ntokens(d));
        starts += nerd_doc_sent_start(d, i) == 1;
    }
    CHECKF(starts > 1000, "%zu sentence starts in 2,300 sentences", starts);
    memset(t, 'a', mid);
    CHECK(nerd_ner(m, d, t, mid, NERD_PIPELINE_FULL) == NERD_OK && nerd_doc_ntokens(d) == 1);
    size_t h;
    const char *dep;
    CHECK(nerd_doc_head(d, 0, &h, &dep) == 0 && h == 0 && !strcmp(dep, "ROOT") && nerd_doc_head(d, 1, &h, &dep) == -1);
    free(t);
    nerd_doc_free(d);
    nerd_model_free(m);
}

/* Found by fuzz_model_load: a container header claiming billions of elements made msgpack-c
 * allocate tens of GB before reading one (ASan: out of memory). Now refused up front. */
TEST(model_load_msgpack_with_impossible_counts)
{
    static const unsigned char map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'x', 0xc0};
    static const unsigned char nested[] = {0x81, 0xa5, 'n', 'o', 'd', 'e', 's', 0xdd, 0x10, 0x00, 0x00, 0x00, 0x90};
    static const unsigned char str32[] = {0x81, 0xa1, 'x', 0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'};
    static const struct { const void *p; size_t n; } bad[] = {{map32, sizeof map32}, {nested, sizeof nested}, {str32, sizeof str32}};
    static const char *files[] = {"tokenizer", "ner/model", "ner/moves", "vocab/lookups.bin"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            fresh_copy();
            replace(files[i], bad[k].p, bad[k].n);
            expect_failure(files[i], files[i], NERD_ERR_FORMAT);
        }
    cleanup();
}

/* Every file nerd reads from a pipeline folder. meta.json, vocab/lookups.bin and parser/cfg may
 * be absent; present, they must be readable like the others. */
static const char *const every_model_file[] = {
    "meta.json", "config.cfg", "tokenizer", "vocab/lookups.bin", "ner/model", "ner/moves",
    "tok2vec/model", "parser/model", "parser/cfg", "parser/moves", "attribute_ruler/patterns",
};
#define N_MODEL_FILES (sizeof every_model_file / sizeof every_model_file[0])

static void model_file_path(const char *rel, char *p, size_t n)
{
    snprintf(p, n, "%s/%s", model_copy, rel);
    CHECKF(unlink(p) == 0, "%s: %s", p, strerror(errno));
}

/* A folder where a file should be was "truncated or corrupt" (NERD_ERR_FORMAT): fopen opens a
 * folder, fread then fails with EISDIR, and stat() found something there. */
TEST(model_load_folder_where_a_file_should_be_is_an_io_error)
{
    for (size_t i = 0; i < N_MODEL_FILES; i++) {
        fresh_copy();
        char p[1024];
        model_file_path(every_model_file[i], p, sizeof p);
        CHECK(mkdir(p, 0755) == 0);
        expect_failure(every_model_file[i], every_model_file[i], NERD_ERR_IO);
        char err[1024];
        nerd_model *m = nerd_model_load(model_copy, NULL, err, sizeof err);
        CHECKF(!m && strstr(err, "is a folder"), "%s: %s", every_model_file[i], err);
    }
    cleanup();
}

/* A FIFO where a file should be made the load wait for a writer forever (fopen blocks). */
TEST_T(model_load_fifo_where_a_file_should_be_is_an_io_error, 30)
{
    for (size_t i = 0; i < N_MODEL_FILES; i++) {
        fresh_copy();
        char p[1024];
        model_file_path(every_model_file[i], p, sizeof p);
        CHECK(mkfifo(p, 0644) == 0);
        expect_failure(every_model_file[i], "not a regular file", NERD_ERR_IO);
    }
    cleanup();
}

/* An unreadable file was NERD_ERR_FORMAT (stat() succeeds where open() does not). Root reads
 * any file, so the load runs in a child that has given up root for nobody's uid and gid. */
TEST(model_load_permission_denied_is_an_io_error)
{
    for (size_t i = 0; i < N_MODEL_FILES; i++) {
        fresh_copy();
        char p[1024], src[1024];
        snprintf(src, sizeof src, "%s/%s", test_path("models/en_core_web_sm"), every_model_file[i]);
        size_t len;
        char *data = test_read_file(src, &len);
        CHECKF(data, "%s", src);
        replace(every_model_file[i], data, len);
        free(data);
        snprintf(p, sizeof p, "%s/%s", model_copy, every_model_file[i]);
        CHECK(chmod(p, 0) == 0);
        int fds[2];
        CHECK(pipe(fds) == 0);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            if (geteuid() == 0 && (setgroups(0, NULL) || setgid(65534) || setuid(65534))) _exit(100);
            char err[1024] = "";
            nerd_status st = NERD_OK;
            nerd_model *m = nerd_model_load(model_copy, &st, err, sizeof err);
            if (write(fds[1], err, strlen(err)) < 0) _exit(101);
            _exit(m ? 102 : (int)st);
        }
        close(fds[1]);
        char err[1024];
        ssize_t n = read(fds[0], err, sizeof err - 1);
        err[n > 0 ? n : 0] = 0;
        close(fds[0]);
        int ws;
        CHECK(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws));
        CHECKF(WEXITSTATUS(ws) == NERD_ERR_IO, "%s: status %d, expected %d (%s)", every_model_file[i],
               WEXITSTATUS(ws), NERD_ERR_IO, err);
        CHECKF(strstr(err, every_model_file[i]) && strstr(err, strerror(EACCES)), "%s: %s", every_model_file[i], err);
        printf("  %s -> %s\n", every_model_file[i], err);
    }
    cleanup();
}

/* msgpack with every STR map key written as BIN (a writer packing Python bytes keys). */
static void pack_bin_keys(msgpack_packer *pk, const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        msgpack_pack_array(pk, o->via.array.size);
        for (uint32_t i = 0; i < o->via.array.size; i++) pack_bin_keys(pk, &o->via.array.ptr[i]);
    } else if (o->type == MSGPACK_OBJECT_MAP) {
        msgpack_pack_map(pk, o->via.map.size);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type == MSGPACK_OBJECT_STR) {
                msgpack_pack_bin(pk, k->via.str.size);
                msgpack_pack_bin_body(pk, k->via.str.ptr, k->via.str.size);
            } else {
                msgpack_pack_object(pk, *k);
            }
            pack_bin_keys(pk, &o->via.map.ptr[i].val);
        }
    } else {
        msgpack_pack_object(pk, *o);
    }
}

static void entities_and_heads(nerd_model *m, buf *out)
{
    static const char text[] = "Apple is looking at buying U.K. startup for $1 billion. Angela Merkel visited Paris.";
    nerd_doc *d = nerd_doc_new();
    CHECK(nerd_ner(m, d, text, sizeof text - 1, NERD_PIPELINE_FULL) == NERD_OK);
    for (size_t i = 0; i < nerd_doc_nents(d); i++) {
        nerd_ent e;
        CHECK(nerd_doc_ent(d, i, &e) == 0);
        buf_printf(out, "%zu-%zu %s;", e.start, e.end, e.label);
    }
    for (size_t i = 0; i < nerd_doc_ntokens(d); i++) {
        size_t h;
        const char *dep;
        CHECK(nerd_doc_head(d, i, &h, &dep) == 0);
        buf_printf(out, "%zu %s;", h, dep);
    }
    nerd_doc_free(d);
}

/* srsly writes keys as STR; nerd's one rule takes STR or BIN keys in every file. The moves
 * files, the tokenizer's exceptions and the attribute_ruler took STR only. */
TEST(model_load_takes_bin_keys_as_str_keys_in_every_msgpack_file)
{
    static const char *const files[] = {"tokenizer", "vocab/lookups.bin", "ner/model", "ner/moves",
                                        "tok2vec/model", "parser/model", "parser/moves", "attribute_ruler/patterns"};
    fresh_copy();
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char src[1024];
        snprintf(src, sizeof src, "%s/%s", test_path("models/en_core_web_sm"), files[i]);
        size_t len, off = 0;
        char *data = test_read_file(src, &len);
        CHECK(data);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        CHECK(msgpack_unpack_next(&up, data, len, &off) == MSGPACK_UNPACK_SUCCESS);
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        pack_bin_keys(&pk, &up.data);
        /* a BIN header is longer than a short STR's: the file grows by one byte or more per key */
        CHECKF(sb.size > len, "%s: no STR key to turn into BIN", files[i]);
        replace(files[i], sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
        msgpack_unpacked_destroy(&up);
        free(data);
    }
    char err[1024];
    nerd_model *bin = nerd_model_load(model_copy, NULL, err, sizeof err);
    CHECKF(bin, "%s", err);
    nerd_model *str = test_model();
    buf want = {0}, got = {0};
    entities_and_heads(str, &want);
    entities_and_heads(bin, &got);
    CHECKF(!strcmp(want.ptr, got.ptr), "STR keys: %s\nBIN keys: %s", want.ptr, got.ptr);
    CHECK(bin->dep_rules.nrules == str->dep_rules.nrules && bin->dep_rules.nrules > 0);
    buf_free(&want);
    buf_free(&got);
    nerd_model_free(bin);
    nerd_model_free(str);
    cleanup();
}

/* meta.json and parser/cfg were read into a fixed buffer (4 KB for cfg) and a parse failure
 * ignored: a corrupt one loaded as if absent. */
TEST(model_load_corrupt_json_files_are_format_errors)
{
    static const char *const files[] = {"meta.json", "parser/cfg", "config.cfg"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        fresh_copy();
        replace(files[i], "{\"lang\": \"en\", [", 16);
        expect_failure(files[i], files[i], NERD_ERR_FORMAT);
    }
    cleanup();
}
