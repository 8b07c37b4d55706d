#include "modelfile/spacy_config.h"
#include "modelfile/modelfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *section, *key, *value; } cfg_entry;

struct spacy_config {
    cfg_entry *e;
    size_t n;
};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

nerd_status cfg_load(const char *path, spacy_config **out, char *err, size_t errlen)
{
    *out = NULL;
    buf text = {0};
    nerd_status rc = mf_read(path, MF_MAX_TEXT_FILE, &text, err, errlen);
    spacy_config *c = rc == NERD_OK ? calloc(1, sizeof *c) : NULL;
    if (rc != NERD_OK) goto out;
    char section[512] = "";
    size_t cap = 0;
    int lineno = 0;
    rc = NERD_ERR_NOMEM;
    if (!c) goto oom;
    for (char *line = text.ptr, *next; line < text.ptr + text.len; line = next) {
        char *nl = memchr(line, '\n', (size_t)(text.ptr + text.len - line));
        next = nl ? nl + 1 : text.ptr + text.len;
        if (nl) *nl = 0;
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (!e) goto bad;
            *e = 0;
            snprintf(section, sizeof section, "%s", s + 1);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq || !*section) goto bad;
        *eq = 0;
        if (grow_array((void **)&c->e, &cap, c->n + 1, sizeof *c->e)) goto oom;
        cfg_entry *e = &c->e[c->n];
        *e = (cfg_entry){strdup(section), strdup(trim(s)), strdup(trim(eq + 1))};
        c->n++;
        if (!e->section || !e->key || !e->value) goto oom;
    }
    rc = NERD_OK;
    goto out;
bad:
    snprintf(err, errlen, "%s:%d: not a spaCy config line", path, lineno);
    rc = NERD_ERR_FORMAT;
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
out:
    buf_free(&text);
    if (rc != NERD_OK) cfg_free(c);
    else *out = c;
    return rc;
}

void cfg_free(spacy_config *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].section);
        free(c->e[i].key);
        free(c->e[i].value);
    }
    free(c->e);
    free(c);
}

static const char *lookup(const spacy_config *c, const char *section, const char *key, int depth)
{
    for (size_t i = c->n; i-- > 0;) {
        if (strcmp(c->e[i].section, section) || strcmp(c->e[i].key, key)) continue;
        const char *v = c->e[i].value;
        /* a whole-value reference ${section:key}, or confection's ${section.key} */
        size_t n = strlen(v);
        if (depth < 8 && n > 3 && v[0] == '$' && v[1] == '{' && v[n - 1] == '}') {
            char ref[512];
            snprintf(ref, sizeof ref, "%.*s", (int)(n - 3), v + 2);
            char *colon = strchr(ref, ':');
            if (!colon) colon = strrchr(ref, '.');
            if (!colon) return NULL;
            *colon = 0;
            return lookup(c, ref, colon + 1, depth + 1);
        }
        return v;
    }
    return NULL;
}

const char *cfg_raw(const spacy_config *c, const char *section, const char *key)
{
    return lookup(c, section, key, 0);
}

int cfg_int(const spacy_config *c, const char *section, const char *key, long *out)
{
    const char *v = cfg_raw(c, section, key);
    char *end;
    if (!v) return -1;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end) return -1;
    *out = x;
    return 0;
}

int cfg_bool(const spacy_config *c, const char *section, const char *key, int *out)
{
    const char *v = cfg_raw(c, section, key);
    if (!v) return -1;
    if (!strcmp(v, "true")) *out = 1;
    else if (!strcmp(v, "false")) *out = 0;
    else return -1;
    return 0;
}

int cfg_str(const spacy_config *c, const char *section, const char *key, char *out, size_t outlen)
{
    const char *v = cfg_raw(c, section, key);
    size_t n = v ? strlen(v) : 0;
    if (n < 2 || v[0] != '"' || v[n - 1] != '"' || n - 2 >= outlen) return -1;
    memcpy(out, v + 1, n - 2);
    out[n - 2] = 0;
    return 0;
}

/* A config list "[item, item, ...]": each item read by `item` into out[i] (it returns where the
 * item ends, or NULL when it is not one); the count, or -1. */
typedef const char *(*list_item_fn)(const char *p, int i, void *out);

static int cfg_list(const spacy_config *c, const char *section, const char *key, list_item_fn item, void *out,
                    int max)
{
    const char *v = cfg_raw(c, section, key);
    if (!v || *v != '[') return -1;
    int n = 0;
    for (const char *p = v + 1;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ']') return n;
        if (n == max || !(p = item(p, n, out))) return -1;
        n++;
    }
}

/* a double-quoted string of fewer than 32 bytes */
static const char *str_item(const char *p, int i, void *out)
{
    char(*names)[32] = out;
    const char *e = *p == '"' ? strchr(p + 1, '"') : NULL;
    if (!e || e - p - 1 >= 32) return NULL;
    memcpy(names[i], p + 1, (size_t)(e - p - 1));
    names[i][e - p - 1] = 0;
    return e + 1;
}

static const char *int_item(const char *p, int i, void *out)
{
    char *end;
    long x = strtol(p, &end, 10);
    if (end == p) return NULL;
    ((long *)out)[i] = x;
    return end;
}

int cfg_str_list(const spacy_config *c, const char *section, const char *key, char out[][32], int max)
{
    return cfg_list(c, section, key, str_item, out, max);
}

int cfg_int_list(const spacy_config *c, const char *section, const char *key, long *out, int max)
{
    return cfg_list(c, section, key, int_item, out, max);
}
