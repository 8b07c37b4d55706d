/* The library's surface: libnerd.so exports exactly the functions include/nerd.h marks NERD_API,
 * every function nerd.h declares is so marked, and the header's version macros agree with the
 * library (linked and loaded at run time), the binary and the soname. */
#include "test.h"
#include "nerd.h"
#include "util/buf.h"

#include <ctype.h>
#include <dlfcn.h>

int test_run_capture(const char *cmd, buf *out);

#define PUBLIC_HEADER "include/nerd.h"
#define MAX_NAMES 512

typedef struct {
    char *name[MAX_NAMES];
    size_t n;
} name_set;

static void name_add(name_set *s, const char *name, size_t len)
{
    CHECKF(s->n < MAX_NAMES, "more than %d names", MAX_NAMES);
    s->name[s->n++] = strndup(name, len);
}

static void name_set_free(name_set *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->name[i]);
    s->n = 0;
}

static int name_has(const name_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->name[i], name)) return 1;
    return 0;
}

/* The library under test: $NERD_LIBDIR/libnerd.so, else build/libnerd.so (what `make test`
 * and `make test-asan` build first), as the Python binding's test. */
static const char *libnerd_path(void)
{
    static char path[1024];
    const char *dir = getenv("NERD_LIBDIR");
    snprintf(path, sizeof path, "%s/libnerd.so", dir && *dir ? dir : "build");
    return path;
}

/* Blanks comments and preprocessor lines (with their continuations), so that what is left of
 * the header is declarations. */
static void strip_comments_and_directives(char *s)
{
    int line_start = 1;
    for (char *p = s; *p;) {
        if (p[0] == '/' && p[1] == '*') {
            char *end = strstr(p + 2, "*/");
            CHECKF(end, "unterminated comment in " PUBLIC_HEADER);
            for (; p < end + 2; p++) if (*p != '\n') *p = ' ';
            continue;
        }
        if (p[0] == '/' && p[1] == '/') {
            for (; *p && *p != '\n'; p++) *p = ' ';
            continue;
        }
        if (line_start && *p == '#') {
            /* look at the character before a newline before blanking it: a backslash continues */
            for (char prev = 0; *p && !(*p == '\n' && prev != '\\'); p++) {
                prev = *p;
                *p = ' ';
            }
            continue;
        }
        if (*p == '\n') line_start = 1;
        else if (!isspace((unsigned char)*p)) line_start = 0;
        p++;
    }
}

/* Every function nerd.h declares: a top-level statement with a parameter list that is not a
 * typedef; its name is the identifier before the '('. Those marked NERD_API go to api, the
 * others to unmarked. */
static void header_functions(name_set *api, name_set *unmarked)
{
    size_t len;
    char *text = test_read_file(PUBLIC_HEADER, &len);
    CHECKF(text, "cannot read " PUBLIC_HEADER " (the tests run from the clone's root)");
    strip_comments_and_directives(text);
    for (char *stmt = text, *semi; (semi = strchr(stmt, ';')); stmt = semi + 1) {
        *semi = 0;
        char *paren = strchr(stmt, '(');
        if (!paren) continue;
        char *first = stmt;
        while (isspace((unsigned char)*first) || *first == '{' || *first == '}') first++;
        if (!strncmp(first, "typedef", 7)) continue;
        char *end = paren;
        while (end > stmt && isspace((unsigned char)end[-1])) end--;
        char *begin = end;
        while (begin > stmt && (isalnum((unsigned char)begin[-1]) || begin[-1] == '_')) begin--;
        CHECKF(begin < end, "a declaration without a name in " PUBLIC_HEADER ": %s", first);
        *paren = 0;
        name_add(strstr(first, "NERD_API") ? api : unmarked, begin, (size_t)(end - begin));
    }
    free(text);
}

/* The names in the dynamic symbol table of the library that it defines (nm -D --defined-only). */
static void exported_symbols(name_set *exported)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "nm -D --defined-only %s", libnerd_path());
    buf out = {0};
    CHECKF(test_run_capture(cmd, &out) == 0 && out.ptr, "%s failed", cmd);
    for (char *line = out.ptr, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char *name = strrchr(line, ' '); /* "<address> <type> <name>" */
        CHECKF(name && name[1], "unexpected nm line: %s", line);
        name++;
        size_t n = strcspn(name, "@"); /* a versioned name, name@VERSION */
        name_add(exported, name, n);
    }
    buf_free(&out);
}

TEST(api_exports_exactly_the_nerd_api_functions)
{
    name_set api = {0}, unmarked = {0}, exported = {0};
    header_functions(&api, &unmarked);
    for (size_t i = 0; i < unmarked.n; i++)
        fprintf(stderr, "  %s is declared in " PUBLIC_HEADER " without NERD_API\n", unmarked.name[i]);
    CHECK_EQ_INT(unmarked.n, 0);
    /* the parse found the API: the calls every user makes are in it */
    CHECK(name_has(&api, "nerd_model_load") && name_has(&api, "nerd_ner") && name_has(&api, "nerd_doc_head"));

    exported_symbols(&exported);
    size_t missing = 0, extra = 0;
    for (size_t i = 0; i < api.n; i++)
        if (!name_has(&exported, api.name[i])) {
            fprintf(stderr, "  %s is NERD_API but %s does not export it\n", api.name[i], libnerd_path());
            missing++;
        }
    for (size_t i = 0; i < exported.n; i++)
        if (!name_has(&api, exported.name[i])) {
            if (extra < 20) fprintf(stderr, "  %s exports %s, which is not NERD_API\n", libnerd_path(), exported.name[i]);
            extra++;
        }
    printf("  %zu NERD_API functions in " PUBLIC_HEADER "; %s exports %zu symbols, %zu missing, %zu extra\n", api.n,
           libnerd_path(), exported.n, missing, extra);
    CHECK_EQ_INT(missing, 0);
    CHECK_EQ_INT(extra, 0);
    name_set_free(&api);
    name_set_free(&unmarked);
    name_set_free(&exported);
}

TEST(api_version_macros_agree_with_the_library_and_the_binary)
{
    char parts[64];
    snprintf(parts, sizeof parts, "%d.%d.%d", NERD_VERSION_MAJOR, NERD_VERSION_MINOR, NERD_VERSION_PATCH);
    CHECK_EQ_STR(NERD_VERSION, parts);
    CHECK_EQ_INT(NERD_VERSION_NUMBER, NERD_VERSION_MAJOR * 10000 + NERD_VERSION_MINOR * 100 + NERD_VERSION_PATCH);
#if NERD_VERSION_NUMBER < 100 /* usable in #if: 0.1.0 is the first version with the macros */
    CHECK(!"NERD_VERSION_NUMBER is not a preprocessor number");
#endif

    /* the library linked into this binary */
    CHECK_EQ_STR(nerd_version(), NERD_VERSION);
    CHECK_EQ_INT(nerd_version_number(), NERD_VERSION_NUMBER);

    /* the shared library, loaded as a program built against another header would load it */
    void *lib = dlopen(libnerd_path(), RTLD_NOW | RTLD_LOCAL);
    CHECKF(lib, "dlopen %s: %s", libnerd_path(), dlerror());
    const char *(*so_version)(void) = (const char *(*)(void))dlsym(lib, "nerd_version");
    int (*so_version_number)(void) = (int (*)(void))dlsym(lib, "nerd_version_number");
    CHECKF(so_version && so_version_number, "%s lacks nerd_version or nerd_version_number", libnerd_path());
    CHECK_EQ_STR(so_version(), NERD_VERSION);
    CHECK_EQ_INT(so_version_number(), NERD_VERSION_NUMBER);
    dlclose(lib);

    /* its soname carries the major version (the Makefile reads it from the header) */
    char cmd[1200], soname[64];
    snprintf(cmd, sizeof cmd, "readelf -d %s", libnerd_path());
    snprintf(soname, sizeof soname, "[libnerd.so.%d]", NERD_VERSION_MAJOR);
    buf out = {0};
    CHECK(test_run_capture(cmd, &out) == 0 && out.ptr);
    CHECKF(strstr(out.ptr, "(SONAME)") && strstr(out.ptr, soname), "no soname %s in:\n%s", soname, out.ptr);

    /* and `nerd --version` prints the same */
    buf_clear(&out);
    snprintf(cmd, sizeof cmd, "%s --version", test_nerd_bin());
    CHECK(test_run_capture(cmd, &out) == 0 && out.ptr);
    CHECK_EQ_STR(out.ptr, "nerd " NERD_VERSION "\n");
    buf_free(&out);
}
