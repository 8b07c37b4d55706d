/* The model-file layer (src/modelfile/modelfile.h): each cause of a failed read gives its own
 * status and a message naming the file; one key rule; JSON lines. Also the status table behind
 * nerd_strerror, and engine.h's map of the library's folders. */
#include "test.h"
#include "nerd.h"
#include "modelfile/modelfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char scratch[128];

static const char *scratch_dir(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/nerd-modelfile-%d", (int)getpid());
    mkdir(scratch, 0755);
    return scratch;
}

static const char *scratch_file(const char *name, const void *data, size_t len)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", scratch_dir(), name);
    unlink(p);
    if (data) {
        FILE *f = fopen(p, "wb");
        CHECK(f && fwrite(data, 1, len, f) == len);
        fclose(f);
    }
    return p;
}

static void scratch_free(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", scratch);
    if (system(cmd)) {}
}

/* mf_read's status and message for path, with max_bytes */
static nerd_status read_status(const char *path, size_t max_bytes, const char *needle)
{
    buf b = {0};
    char err[512] = "";
    nerd_status st = mf_read(path, max_bytes, &b, err, sizeof err);
    if (st != NERD_OK) {
        CHECKF(strstr(err, path), "\"%s\" does not name %s", err, path);
        CHECKF(!needle || strstr(err, needle), "\"%s\" does not say %s", err, needle);
        printf("  %s\n", err);
    }
    buf_free(&b);
    return st;
}

TEST(modelfile_read_gives_the_real_cause)
{
    const char *p = scratch_file("data", "0123456789", 10);
    buf b = {0};
    char err[256];
    CHECK(mf_read(p, 10, &b, err, sizeof err) == NERD_OK && b.len == 10 && !memcmp(b.ptr, "0123456789", 11));
    buf_free(&b);
    CHECK_EQ_INT(read_status(p, 9, "more than the 9"), NERD_ERR_FORMAT);
    char under_a_file[300];
    snprintf(under_a_file, sizeof under_a_file, "%s/x", p);
    CHECK_EQ_INT(read_status(scratch_file("missing", NULL, 0), 100, "no such file"), NERD_ERR_NOT_FOUND);
    CHECK_EQ_INT(read_status(under_a_file, 100, "no such file"), NERD_ERR_NOT_FOUND); /* ENOTDIR */
    CHECK_EQ_INT(read_status(scratch_dir(), 100, "is a folder"), NERD_ERR_IO);
    const char *fifo = scratch_file("fifo", NULL, 0);
    CHECK(mkfifo(fifo, 0644) == 0);
    CHECK_EQ_INT(read_status(fifo, 100, "not a regular file"), NERD_ERR_IO); /* and does not block */
    CHECK_EQ_INT(read_status("/dev/zero", 100, "not a regular file"), NERD_ERR_IO);
    const char *empty = scratch_file("empty", "", 0);
    CHECK(mf_read(empty, 0, &b, err, sizeof err) == NERD_OK && b.len == 0);
    buf_free(&b);
    scratch_free();
}

/* Root reads any file: the check runs in a child that is nobody. */
TEST(modelfile_read_permission_denied_is_an_io_error)
{
    const char *p = scratch_file("secret", "{}", 2);
    CHECK(chmod(p, 0) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgroups(0, NULL) || setgid(65534) || setuid(65534))) _exit(100);
        buf b = {0};
        char err[256];
        nerd_status st = mf_read(p, 100, &b, err, sizeof err);
        _exit(st == NERD_ERR_IO && strstr(err, p) && strstr(err, strerror(EACCES)) ? 0 : 1);
    }
    int ws;
    CHECK(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws));
    CHECK_EQ_INT(WEXITSTATUS(ws), 0);
    scratch_free();
}

/* A sparse file too large for memory: out of memory, not "corrupt". AddressSanitizer aborts on
 * an allocation this size instead of returning NULL, so the check is for the plain build. */
TEST(modelfile_read_out_of_memory_is_nomem)
{
#if defined(__SANITIZE_ADDRESS__)
    printf("  skipped under AddressSanitizer\n");
#else
    const char *p = scratch_file("huge", "", 0);
    int fd = open(p, O_WRONLY);
    CHECK(fd >= 0 && ftruncate(fd, (off_t)1 << 43) == 0); /* 8 TiB, no blocks */
    close(fd);
    CHECK_EQ_INT(read_status(p, (size_t)-1, "out of memory"), NERD_ERR_NOMEM);
    scratch_free();
#endif
}

TEST(modelfile_msgpack_causes_and_the_key_rule)
{
    /* {"str": 1, bin "bin": 2, 3: 4} */
    static const unsigned char map[] = {0x83, 0xa3, 's', 't', 'r', 0x01, 0xc4, 0x03, 'b', 'i', 'n', 0x02, 0x03, 0x04};
    mf_msgpack mp;
    char err[256];
    CHECK(mf_msgpack_read(&mp, scratch_file("map", map, sizeof map), "a test file", MSGPACK_OBJECT_MAP, err,
                          sizeof err) == NERD_OK);
    const msgpack_object *s = mf_map_get(mp.root, "str"), *b = mf_map_get(mp.root, "bin");
    CHECK(s && s->type == MSGPACK_OBJECT_POSITIVE_INTEGER && s->via.u64 == 1);
    CHECK(b && b->type == MSGPACK_OBJECT_POSITIVE_INTEGER && b->via.u64 == 2);
    CHECK(!mf_map_get(mp.root, "st") && !mf_map_get(mp.root, "strx") && !mf_map_get(mp.root, "3"));
    CHECK(!mf_map_get(&mp.root->via.map.ptr[0].val, "str")); /* not a map */
    const char *p;
    size_t n;
    CHECK(!mf_str(&mp.root->via.map.ptr[0].key, &p, &n) && n == 3 && !memcmp(p, "str", 3));
    CHECK(!mf_str(&mp.root->via.map.ptr[1].key, &p, &n) && n == 3 && !memcmp(p, "bin", 3));
    CHECK(mf_str(&mp.root->via.map.ptr[2].key, &p, &n) == -1);
    mf_msgpack_free(&mp);

    static const struct { const char *name; const void *data; size_t len; msgpack_object_type want; const char *says; } bad[] = {
        {"truncated", map, sizeof map - 1, MSGPACK_OBJECT_MAP, "truncated or corrupt msgpack"},
        {"corrupt", "\xc1\x00", 2, MSGPACK_OBJECT_MAP, "truncated or corrupt msgpack"},
        {"empty", "", 0, MSGPACK_OBJECT_MAP, "empty"},
        {"array", "\x90", 1, MSGPACK_OBJECT_MAP, "msgpack an array, expected a map"},
        {"map", map, sizeof map, MSGPACK_OBJECT_ARRAY, "msgpack a map, expected an array"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *path = scratch_file(bad[i].name, bad[i].data, bad[i].len);
        CHECK_EQ_INT(mf_msgpack_read(&mp, path, "a test file", bad[i].want, err, sizeof err), NERD_ERR_FORMAT);
        CHECKF(strstr(err, path) && strstr(err, bad[i].says) && strstr(err, "a test file"), "%s: %s", bad[i].name, err);
        mf_msgpack_free(&mp);
    }
    CHECK_EQ_INT(mf_msgpack_read(&mp, scratch_file("none", NULL, 0), "a test file", MSGPACK_OBJECT_MAP, err, sizeof err),
                 NERD_ERR_NOT_FOUND);
    mf_msgpack_free(&mp);
    scratch_free();
}

/* Each line's "n", or -1 for a bad line (its error kept in errs). */
static size_t numbers(const char *data, size_t max_line, long *out, size_t cap, char errs[][192])
{
    jsonl_iter it;
    jsonl_init(&it, data, strlen(data), max_line);
    size_t n = 0;
    for (int got; (got = jsonl_next(&it)) != 0 && n < cap; n++) {
        if (got < 0) {
            out[n] = -1;
            snprintf(errs[n], 192, "%s", it.err);
            continue;
        }
        const json_value *v = json_get(&it.doc.root, "n");
        CHECK(v && v->type == JSON_NUMBER);
        out[n] = (long)v->u.num;
        errs[n][0] = 0;
    }
    jsonl_free(&it);
    return n;
}

TEST(jsonl_lines_blank_crlf_last_long_and_invalid)
{
    long n[8];
    char errs[8][192];
    CHECK_EQ_INT(numbers("", 100, n, 8, errs), 0);
    CHECK_EQ_INT(numbers("\n\r\n  \t\n", 100, n, 8, errs), 0);
    /* blank lines, CRLF, a last line without newline */
    CHECK_EQ_INT(numbers("{\"n\": 1}\n\n{\"n\": 2}\r\n \r\n{\"n\": 3}", 100, n, 8, errs), 3);
    CHECK(n[0] == 1 && n[1] == 2 && n[2] == 3);
    /* an invalid line and an over-long one are errors with their line numbers; the rest is read */
    CHECK_EQ_INT(numbers("{\"n\": 1}\n{\"n\": \n\n{\"n\": 4, \"pad\": \"xxxxxxxxxxxxxxxxxxxxxxxxx\"}\n{\"n\": 5}\n", 30, n,
                         8, errs), 4);
    CHECK(n[0] == 1 && n[1] == -1 && n[2] == -1 && n[3] == 5);
    CHECKF(!strncmp(errs[1], "line 2: ", 8), "%s", errs[1]);
    CHECKF(!strncmp(errs[2], "line 4: ", 8) && strstr(errs[2], "longer than 30"), "%s", errs[2]);
    /* the line limit excludes the line's end: exactly max_line bytes is fine, CRLF or not */
    CHECK_EQ_INT(numbers("{\"n\": 7}\r\n{\"n\":8}", 8, n, 8, errs), 2);
    CHECK(n[0] == 7 && n[1] == 8);
    /* trailing data after a value on one line */
    CHECK_EQ_INT(numbers("{\"n\": 1} {\"n\": 2}\n", 100, n, 8, errs), 1);
    CHECKF(n[0] == -1 && !strncmp(errs[0], "line 1: ", 8), "%s", errs[0]);
}

/* NERD_STATUS_MAP is the one table: nerd_strerror agrees with it for every code, the codes are
 * 0..N-1 without a gap, and the values programs were built against have not moved. */
TEST(status_table_and_strerror_agree)
{
    static const struct { nerd_status code; int value; const char *name, *message; } table[] = {
#define ROW(name, value, message) {NERD_##name, value, #name, message},
        NERD_STATUS_MAP(ROW)
#undef ROW
    };
    size_t n = sizeof table / sizeof table[0];
    for (size_t i = 0; i < n; i++) {
        CHECKF((int)table[i].code == table[i].value && table[i].value == (int)i, "%s = %d at row %zu", table[i].name,
               table[i].value, i);
        CHECK_EQ_STR(nerd_strerror(table[i].code), table[i].message);
        char name[64];
        snprintf(name, sizeof name, "NERD_%s", table[i].name);
        CHECK_EQ_STR(nerd_status_name(table[i].code), name);
        for (size_t k = 0; k < i; k++) CHECKF(strcmp(table[k].message, table[i].message), "%s", table[i].message);
    }
    CHECK_EQ_STR(nerd_strerror((nerd_status)n), "unknown error");
    CHECK_EQ_STR(nerd_strerror((nerd_status)-1), "unknown error");
    CHECK(nerd_status_name((nerd_status)n) == NULL && nerd_status_name((nerd_status)-1) == NULL);
    /* the ABI of nerd 0.1.0 */
    CHECK(NERD_OK == 0 && NERD_ERR_IO == 1 && NERD_ERR_FORMAT == 2 && NERD_ERR_UNSUPPORTED == 3 &&
          NERD_ERR_NOMEM == 4 && NERD_ERR_UTF8 == 5 && NERD_ERR_TOO_LONG == 6 && NERD_ERR_ARG == 7 &&
          NERD_ERR_DEADLINE == 8);
}

/* The Makefile's LIB_DIRS, the library's folders, as "a b c" in dirs. */
static void library_folders(char *dirs, size_t n)
{
    size_t len;
    char *mk = test_read_file("Makefile", &len);
    CHECKF(mk, "cannot read the Makefile (the tests run from the clone's root)");
    char *at = strstr(mk, "\nLIB_DIRS");
    CHECKF(at, "the Makefile sets no LIB_DIRS");
    at = strchr(at, '=') + 1;
    snprintf(dirs, n, "%.*s", (int)strcspn(at, "\n"), at);
    free(mk);
}

/* engine.h's map names exactly the .c files of each library folder (the Makefile's LIB_DIRS):
 * lines "FOLDER/" open a folder, indented "FILE.c" lines name its files. */
TEST(engine_map_names_exactly_the_library_files)
{
    char dirs[512];
    library_folders(dirs, sizeof dirs);
    size_t len;
    char *h = test_read_file("src/pipeline/engine.h", &len);
    CHECK(h);
    char *end = strstr(h, "*/");
    CHECK(end);
    *end = 0;
    char listed[4096] = "", found[4096] = "";
    char folder[64] = "";
    for (char *line = strtok(h, "\n"); line; line = strtok(NULL, "\n")) {
        char word[64];
        if (sscanf(line, " *   %63[a-z_]/", word) == 1 && strncmp(line, " *     ", 7)) {
            snprintf(folder, sizeof folder, "%s", word);
        } else if (*folder && sscanf(line, " *     %63[a-z0-9_].c", word) == 1 && strstr(line, ".c")) {
            size_t at = strlen(listed);
            snprintf(listed + at, sizeof listed - at, "%s/%s.c\n", folder, word);
        }
    }
    free(h);
    size_t nfolders = 0;
    for (char *f = strtok(dirs, " \t"); f; f = strtok(NULL, " \t"), nfolders++) {
        char dir[128];
        snprintf(dir, sizeof dir, "src/%s", f);
        DIR *d = opendir(dir);
        CHECKF(d, "%s", dir);
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n < 3 || strcmp(e->d_name + n - 2, ".c")) continue;
            char entry[192];
            snprintf(entry, sizeof entry, "%s/%s\n", f, e->d_name);
            CHECKF(strstr(listed, entry), "engine.h's map does not name src/%.*s", (int)strlen(entry) - 1, entry);
            size_t at = strlen(found);
            snprintf(found + at, sizeof found - at, "%s", entry);
        }
        closedir(d);
    }
    CHECKF(nfolders >= 7, "LIB_DIRS names %zu folders", nfolders);
    for (char *l = listed, *nl; *l; l = nl + 1) {
        nl = strchr(l, '\n');
        *nl = 0;
        char entry[128];
        snprintf(entry, sizeof entry, "%s\n", l);
        CHECKF(strstr(found, entry), "engine.h's map names src/%s, which is not in a LIB_DIRS folder", l);
    }
}

int test_run_capture(const char *cmd, buf *out); /* tests/ner/test_eval.c */

/* nerd ner --jsonl on a CRLF file: a blank "\r\n" line was parsed as JSON and answered with an
 * error (exit 1); a bad line's error now says which line. */
TEST(cli_jsonl_skips_blank_crlf_lines_and_numbers_bad_ones)
{
    char cmd[1024];
    buf out = {0};
    snprintf(cmd, sizeof cmd, "printf '{\"text\": \"Paris\"}\\r\\n\\r\\n{\"text\": \"Berlin\"}' | %s ner --jsonl --model %s",
             test_nerd_bin(), test_standin());
    CHECKF(test_run_capture(cmd, &out) == 0, "%s", out.ptr ? out.ptr : "");
    CHECKF(out.ptr && strstr(out.ptr, "Paris") && strstr(out.ptr, "Berlin") && !strstr(out.ptr, "error"), "%s", out.ptr);
    size_t lines = 0;
    for (const char *p = out.ptr; (p = strchr(p, '\n')); p++) lines++;
    CHECK_EQ_INT(lines, 2);
    buf_clear(&out);
    snprintf(cmd, sizeof cmd, "printf '{\"text\": \"Paris\"}\\n{\"text\": \\n' | %s ner --jsonl --model %s",
             test_nerd_bin(), test_standin());
    CHECK(test_run_capture(cmd, &out) == 1);
    CHECKF(out.ptr && strstr(out.ptr, "{\"error\":\"line 2: "), "%s", out.ptr ? out.ptr : "");
    buf_free(&out);
}
