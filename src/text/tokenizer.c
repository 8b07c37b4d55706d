/* tokenizer.c - spaCy 3.8's Tokenizer on UTF-8. The control flow follows spaCy's
 * _tokenize_affixes / _split_affixes / _attach_tokens / _apply_special_cases step by step,
 * because exactness depends on its quirks: an infix match at position 0 is ignored, affix
 * stripping stops as soon as the rest is a special case, and the final special-case pass
 * keeps the longest matches, checking only each match's first and last token for overlap. */
#include "text/tokenizer.h"
#include "util/deadline.h"
#include "util/buf.h"
#include "text/hash.h"
#include "text/pystr.h"
#include "util/u64map.h"
#include "modelfile/modelfile.h"

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { uint32_t orth, orth_len, norm, norm_len; int has_norm; } special_sub;
typedef struct { uint32_t str, str_len, first, n; } special_case;
typedef struct { uint32_t first, n; } match_pattern; /* token strings in pattern_toks */

struct tokenizer {
    pcre2_code *prefix, *suffix, *infix;
    pyre_any url, token_match;        /* asked only whether they match at the start */
    pyre_tail suffix_tail;            /* where a suffix match can start (find_suffix) */
    int faster_heuristics;
    buf pool;                         /* every string the tables below point into */
    special_sub *subs;
    size_t nsubs;
    special_case *specials;
    size_t nspecials;
    size_t longest_special;           /* bytes: longer strings need no lookup */
    u64map special_by_hash;
    match_pattern *patterns;          /* special cases the final matcher pass looks for */
    size_t npatterns;
    uint32_t (*pattern_toks)[2];      /* (offset, length) in pool */
    size_t npattern_toks;
    uint32_t *pattern_next;           /* chains of patterns sharing a first token */
    u64map pattern_by_first;
    int chars;                        /* one token per non-space character, no rules (tokenizer_new_chars) */
    uint64_t cache_owner;             /* the chunk caches' id of these rules (key_cache_new_owner) */
};

/* ---- regex helpers (all offsets in bytes, relative to s) ---- */

static int re_search(const pcre2_code *re, const char *s, size_t len, size_t from, uint32_t opts,
                     pcre2_match_data *md, size_t *ms, size_t *me)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, from, opts | PCRE2_NO_UTF_CHECK, md, NULL);
    if (rc < 0) return 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    *ms = ov[0];
    *me = ov[1];
    return 1;
}

static size_t char_count(const char *s, size_t len) { return py_utf8_count(s, len); }

/* bytes of the first k characters / the last k characters of s */
static size_t first_chars_bytes(const char *s, size_t len, size_t k)
{
    size_t i = 0;
    while (k && i < len) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
        k--;
    }
    return i;
}

static size_t last_chars_bytes(const char *s, size_t len, size_t k)
{
    size_t i = len;
    while (k && i > 0) {
        i--;
        while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
        k--;
    }
    return len - i;
}

/* Python: len of prefix_search(string) in characters, applied as string[:pre_len] */
static size_t find_prefix(const tokenizer *t, const char *s, size_t len, pcre2_match_data *md)
{
    size_t ms, me;
    if (!t->prefix || !re_search(t->prefix, s, len, 0, 0, md, &ms, &me) || me == ms) return 0;
    if (ms == 0) return me;
    return first_chars_bytes(s, len, char_count(s + ms, me - ms));
}

static size_t find_suffix(const tokenizer *t, const char *s, size_t len, pcre2_match_data *md)
{
    size_t ms, me;
    if (!t->suffix) return 0;
    /* Python searches from 0; starting where a match can first begin finds the same one in time
     * bounded by the suffixes' width, not by the token's length */
    size_t from = pyre_tail_from(&t->suffix_tail, s, len, md);
    if (!re_search(t->suffix, s, len, from, 0, md, &ms, &me) || me == ms) return 0;
    if (me == len) return me - ms;
    return last_chars_bytes(s, len, char_count(s + ms, me - ms));
}

int tokenizer_url_match(const tokenizer *t, const char *s, size_t len, tok_scratch *sc)
{
    return sc->md && pyre_any_match(&t->url, s, len, sc->md);
}

/* ---- token output ---- */

static int push(tok_scratch *sc, uint32_t start, uint32_t len, int32_t norm_sub)
{
    if (sc->ntoks == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 256;
        tok_span *nt = realloc(sc->toks, cap * sizeof *nt);
        if (!nt) return -1;
        sc->toks = nt;
        sc->cap = cap;
    }
    sc->toks[sc->ntoks++] = (tok_span){start, len, 0, norm_sub};
    return 0;
}

/* Keys of the tokenizer's own tables: plain murmur64a, skipping nerd_string_hash's reserved-symbol
 * lookup, which these tables do not need (they are built and probed with the same function). */
static uint64_t tok_hash(const char *s, size_t len) { return murmur64a(s, len, 1); }

static const special_case *special_of(const tokenizer *t, const char *s, size_t len)
{
    uint32_t i;
    if (!t->nspecials || len > t->longest_special || !u64map_get(&t->special_by_hash, tok_hash(s, len), &i)) return NULL;
    const special_case *sp = &t->specials[i];
    /* guard against a 64-bit hash collision */
    return sp->str_len == len && !memcmp(t->pool.ptr + sp->str, s, len) ? sp : NULL;
}

static int push_special(const tokenizer *t, tok_scratch *sc, const special_case *sp, uint32_t at)
{
    for (uint32_t k = 0; k < sp->n; k++) {
        const special_sub *sub = &t->subs[sp->first + k];
        if (push(sc, at, sub->orth_len, sub->has_norm ? (int32_t)(sp->first + k) : -1)) return -1;
        at += sub->orth_len;
    }
    return 0;
}

/* ---- one whitespace-delimited span ---- */

static int aff_push(tok_scratch *sc, size_t *n, uint32_t start, uint32_t len)
{
    if (*n + 2 > sc->affcap) {
        size_t cap = sc->affcap ? sc->affcap * 2 : 64;
        uint32_t *na = realloc(sc->aff, cap * sizeof *na);
        if (!na) return -1;
        sc->aff = na;
        sc->affcap = cap;
    }
    sc->aff[(*n)++] = start;
    sc->aff[(*n)++] = len;
    return 0;
}

static int tokenize_span(const tokenizer *t, const char *text, uint32_t a, uint32_t b, int specials, tok_scratch *sc)
{
    /* prefixes and suffixes share sc->aff: prefixes grow from the front, suffixes are kept
     * in a second list after them (collected in order, emitted reversed) */
    size_t npre = 0, nsuf = 0;
    uint32_t sufbuf_local[64];
    uint32_t *suf = sufbuf_local;
    size_t sufcap = 64;
    int rc = -1;

    size_t last_size = 0;
    while (b > a && (size_t)(b - a) != last_size) {
        if (nsuf + 2 > sufcap) { /* room for this round's suffix, before anything is pushed */
            size_t cap = sufcap * 2;
            uint32_t *ns = malloc(cap * sizeof *ns);
            if (!ns) goto out;
            memcpy(ns, suf, nsuf * sizeof *ns);
            if (suf != sufbuf_local) free(suf);
            suf = ns;
            sufcap = cap;
        }
        const char *s = text + a;
        size_t len = b - a;
        if (pyre_any_match(&t->token_match, s, len, sc->md)) break;
        if (specials && special_of(t, s, len)) break;
        last_size = len;
        size_t pre = find_prefix(t, s, len, sc->md);
        if (pre && pre < len && specials && special_of(t, s + pre, len - pre)) {
            if (aff_push(sc, &npre, a, (uint32_t)pre)) goto out;
            a += (uint32_t)pre;
            break;
        }
        size_t suf_len = find_suffix(t, s + pre, len - pre, sc->md);
        if (suf_len && suf_len < len && specials && special_of(t, s, len - suf_len)) {
            suf[nsuf++] = b - (uint32_t)suf_len;
            suf[nsuf++] = (uint32_t)suf_len;
            b -= (uint32_t)suf_len;
            break;
        }
        if (pre && suf_len && pre + suf_len <= len) {
            if (aff_push(sc, &npre, a, (uint32_t)pre)) goto out;
            suf[nsuf++] = b - (uint32_t)suf_len;
            suf[nsuf++] = (uint32_t)suf_len;
            a += (uint32_t)pre;
            b -= (uint32_t)suf_len;
        } else if (pre) {
            if (aff_push(sc, &npre, a, (uint32_t)pre)) goto out;
            a += (uint32_t)pre;
        } else if (suf_len) {
            suf[nsuf++] = b - (uint32_t)suf_len;
            suf[nsuf++] = (uint32_t)suf_len;
            b -= (uint32_t)suf_len;
        }
    }

    /* attach: prefixes, the rest (special, URL, or split on infixes), suffixes reversed */
    for (size_t k = 0; k < npre; k += 2)
        if (push(sc, sc->aff[k], sc->aff[k + 1], -1)) goto out;
    if (b > a) {
        const char *s = text + a;
        size_t len = b - a;
        const special_case *sp = specials ? special_of(t, s, len) : NULL;
        if (sp) {
            if (push_special(t, sc, sp, a)) goto out;
        } else if (pyre_any_match(&t->token_match, s, len, sc->md) || pyre_any_match(&t->url, s, len, sc->md)) {
            if (push(sc, a, (uint32_t)len, -1)) goto out;
        } else {
            size_t start = 0, pos = 0, ms, me;
            uint32_t opts = 0;
            int any = 0;
            while (t->infix && pos <= len && re_search(t->infix, s, len, pos, opts, sc->md, &ms, &me)) {
                any = 1;
                /* Python's finditer: after an empty match, the next may not be empty at the same place */
                opts = me == ms ? PCRE2_NOTEMPTY_ATSTART : 0;
                pos = me;
                if (ms == 0) continue; /* spaCy ignores an infix at the very start */
                if (ms != start && push(sc, a + (uint32_t)start, (uint32_t)(ms - start), -1)) goto out;
                if (ms != me && push(sc, a + (uint32_t)ms, (uint32_t)(me - ms), -1)) goto out;
                start = me;
            }
            if (!any) {
                if (push(sc, a, (uint32_t)len, -1)) goto out;
            } else if (start < len && push(sc, a + (uint32_t)start, (uint32_t)(len - start), -1)) {
                goto out;
            }
        }
    }
    for (size_t k = nsuf; k >= 2; k -= 2)
        if (push(sc, suf[k - 2], suf[k - 1], -1)) goto out;
    rc = 0;
out:
    if (suf != sufbuf_local) free(suf);
    return rc;
}

static int process_span(const tokenizer *t, const char *text, uint32_t a, uint32_t b, int specials, tok_scratch *sc)
{
    const special_case *sp = specials ? special_of(t, text + a, b - a) : NULL;
    if (sp) return push_special(t, sc, sp, a);
    return tokenize_span(t, text, a, b, specials, sc);
}

/* ---- the chunk cache: a chunk's tokens as offsets into the chunk ---- */

typedef struct { uint16_t off, len; int32_t norm_sub; } chunk_tok;

enum {
    CHUNK_KEY_MAX = 40,      /* bytes: longer chunks (URLs, long numbers) are rare and tokenized each time */
    CHUNK_TOKS_MAX = 10,     /* tokens: "(U.S.)." is 4 */
};
static const uint64_t CHUNK_HASH_SEED = 0x6368756e6b; /* any seed: the keys are compared in full */

void tok_scratch_cache(tok_scratch *s, size_t entries)
{
    key_cache_setup(&s->chunks, entries, CHUNK_KEY_MAX, CHUNK_TOKS_MAX * sizeof(chunk_tok));
}

/* process_span through sc's chunk cache. Only the main pass (specials on) uses it: what a chunk's
 * tokens depend on is its bytes and the tokenizer's rules, both in the key. */
static int process_chunk(const tokenizer *t, const char *text, uint32_t a, uint32_t b, int specials, tok_scratch *sc)
{
    const size_t len = b - a;
    if (!specials || !sc->chunks.nslots || len > CHUNK_KEY_MAX) return process_span(t, text, a, b, specials, sc);
    const uint64_t h = murmur64a(text + a, len, CHUNK_HASH_SEED);
    size_t vlen;
    const chunk_tok *hit = key_cache_get(&sc->chunks, t->cache_owner, text + a, len, h, &vlen);
    if (hit) {
        for (size_t k = 0; k < vlen / sizeof *hit; k++) {
            chunk_tok ct;
            memcpy(&ct, hit + k, sizeof ct); /* the slot's value need not be aligned for the struct */
            if (push(sc, a + ct.off, ct.len, ct.norm_sub)) return -1;
        }
        return 0;
    }
    const size_t first = sc->ntoks;
    if (process_span(t, text, a, b, specials, sc)) return -1;
    const size_t n = sc->ntoks - first;
    unsigned char *slot = n <= CHUNK_TOKS_MAX ? key_cache_put(&sc->chunks, t->cache_owner, text + a, len, h, n * sizeof(chunk_tok)) : NULL;
    for (size_t k = 0; slot && k < n; k++) {
        const tok_span *ts = &sc->toks[first + k];
        const chunk_tok ct = {(uint16_t)(ts->start - a), (uint16_t)ts->len, ts->norm_sub};
        memcpy(slot + k * sizeof ct, &ct, sizeof ct);
    }
    return 0;
}

/* Returns 0, -1 when memory runs out, or TOK_DEADLINE once the clock passes deadline (0: none). */
static int tokenize_affixes(const tokenizer *t, const char *text, size_t len, int specials, double deadline,
                           tok_scratch *sc)
{
    sc->ntoks = 0;
    if (!len) return 0;
    uint32_t cp;
    py_utf8_next(text, len, &cp);
    int in_ws = py_isspace(cp);
    size_t start = 0, pos = 0, spans = 0;
    while (pos < len) {
        /* ASCII inline: with the chunks cached, this scan is most of what a known text costs */
        const unsigned char c = (unsigned char)text[pos];
        size_t n = 1;
        cp = c;
        if (c >= 0x80 && !(n = py_utf8_next(text + pos, len - pos, &cp))) return -1; /* callers validate UTF-8 first */
        const int space = c < 0x80 ? py_isspace_ascii(c) : py_isspace(cp);
        if (space != in_ws) {
            if (start < pos) {
                if (deadline > 0 && ++spans % DEADLINE_EVERY_SPANS == 0 && deadline_passed(deadline)) return TOK_DEADLINE;
                if (process_chunk(t, text, (uint32_t)start, (uint32_t)pos, specials, sc)) return -1;
            }
            if (cp == ' ') {
                sc->toks[sc->ntoks - 1].ws = 1;
                start = pos + 1;
            } else {
                start = pos;
            }
            in_ws = !in_ws;
        }
        pos += n;
    }
    if (start < pos) {
        if (process_chunk(t, text, (uint32_t)start, (uint32_t)pos, specials, sc)) return -1;
        sc->toks[sc->ntoks - 1].ws = text[len - 1] == ' ' && !in_ws;
    }
    return 0;
}

/* ---- the special-case matcher pass ---- */

static int span_cmp(const void *x, const void *y)
{
    const uint32_t *a = x, *b = y; /* (start, end): ascending length, equal lengths by descending start */
    uint32_t la = a[1] - a[0], lb = b[1] - b[0];
    if (la != lb) return la < lb ? -1 : 1;
    return a[0] > b[0] ? -1 : a[0] < b[0];
}

static int start_cmp(const void *x, const void *y)
{
    const uint32_t *a = x, *b = y;
    return a[0] < b[0] ? -1 : a[0] > b[0];
}

static int apply_special_cases(const tokenizer *t, const char *text, tok_scratch *sc)
{
    if (!t->npatterns || !sc->ntoks) return 0;
    size_t nspans = 0;
    for (size_t i = 0; i < sc->ntoks; i++) {
        const tok_span *tk = &sc->toks[i];
        uint32_t p;
        if (!u64map_get(&t->pattern_by_first, tok_hash(text + tk->start, tk->len), &p)) continue;
        for (; p != UINT32_MAX; p = t->pattern_next[p]) {
            const match_pattern *mp = &t->patterns[p];
            if (i + mp->n > sc->ntoks) continue;
            size_t k = 0;
            for (; k < mp->n; k++) {
                const tok_span *tj = &sc->toks[i + k];
                const uint32_t *pt = t->pattern_toks[mp->first + k];
                if (tj->len != pt[1] || memcmp(text + tj->start, t->pool.ptr + pt[0], pt[1])) break;
            }
            if (k < mp->n) continue;
            if (2 * (nspans + 1) > sc->spancap) {
                size_t cap = sc->spancap ? sc->spancap * 2 : 64;
                uint32_t *ns = realloc(sc->spans, cap * sizeof *ns);
                if (!ns) return -1;
                sc->spans = ns;
                sc->spancap = cap;
            }
            sc->spans[2 * nspans] = (uint32_t)i;
            sc->spans[2 * nspans + 1] = (uint32_t)(i + mp->n);
            nspans++;
        }
    }
    if (!nspans) return 0;
    qsort(sc->spans, nspans, 2 * sizeof(uint32_t), span_cmp);
    /* scratch kept in sc: no allocation once it has grown */
    if (grow_array((void **)&sc->seen, &sc->seencap, sc->ntoks, 1) ||
        grow_array((void **)&sc->keep, &sc->keepcap, nspans * 2, sizeof *sc->keep) ||
        grow_array((void **)&sc->old, &sc->oldcap, sc->ntoks, sizeof *sc->old))
        return -1;
    uint8_t *seen = sc->seen;
    uint32_t *keep = sc->keep;
    memset(seen, 0, sc->ntoks);
    size_t nkeep = 0;
    for (size_t k = nspans; k-- > 0;) {
        uint32_t s = sc->spans[2 * k], e = sc->spans[2 * k + 1];
        if (!seen[s] && !seen[e - 1]) { keep[2 * nkeep] = s; keep[2 * nkeep + 1] = e; nkeep++; }
        memset(seen + s, 1, e - s);
    }
    qsort(keep, nkeep, 2 * sizeof(uint32_t), start_cmp);

    /* rebuild the token list with each kept span whose text is a special case replaced */
    size_t oldn = sc->ntoks;
    tok_span *old = sc->old;
    memcpy(old, sc->toks, oldn * sizeof *old);
    sc->ntoks = 0;
    size_t i = 0, k = 0;
    int rc = 0;
    while (i < oldn && !rc) {
        if (k < nkeep && keep[2 * k] == i) {
            uint32_t e = keep[2 * k + 1];
            uint32_t a = old[i].start, z = old[e - 1].start + old[e - 1].len;
            const special_case *sp = special_of(t, text + a, z - a);
            if (sp) {
                rc = push_special(t, sc, sp, a);
                if (!rc) sc->toks[sc->ntoks - 1].ws = old[e - 1].ws;
            } else {
                for (uint32_t j = (uint32_t)i; j < e && !rc; j++) {
                    rc = push(sc, old[j].start, old[j].len, old[j].norm_sub);
                    if (!rc) sc->toks[sc->ntoks - 1].ws = old[j].ws;
                }
            }
            i = e;
            k++;
        } else {
            rc = push(sc, old[i].start, old[i].len, old[i].norm_sub);
            if (!rc) sc->toks[sc->ntoks - 1].ws = old[i].ws;
            i++;
        }
    }
    return rc;
}

/* spacy.zh.ChineseTokenizer's "char" segmenter: list(text) aligned back on the text by
 * spacy.util.get_words_and_spaces. Each non-space character is a token; one space right after a
 * token is its trailing space; any other run of whitespace is one token of its own. */
static int chars_run(const char *text, size_t len, double deadline, tok_scratch *sc)
{
    size_t pos = 0, seen = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = py_utf8_next(text + i, len - i, &cp);
        if (!n) n = 1; /* the caller passes valid UTF-8 */
        if (deadline > 0 && ++seen % DEADLINE_EVERY_CHARS == 0 && deadline_passed(deadline)) return TOK_DEADLINE;
        if (py_isspace(cp)) {
            i += n;
            continue;
        }
        if (i > pos && push(sc, (uint32_t)pos, (uint32_t)(i - pos), -1)) return -1;
        if (push(sc, (uint32_t)i, (uint32_t)n, -1)) return -1;
        i += n;
        pos = i;
        if (pos < len && text[pos] == ' ') {
            sc->toks[sc->ntoks - 1].ws = 1;
            pos++;
            i = pos;
        }
    }
    if (pos < len && push(sc, (uint32_t)pos, (uint32_t)(len - pos), -1)) return -1;
    return 0;
}

tokenizer *tokenizer_new_chars(void)
{
    tokenizer *t = calloc(1, sizeof *t);
    if (t) {
        t->chars = 1;
        t->cache_owner = key_cache_new_owner();
    }
    return t;
}

int tokenizer_run_until(const tokenizer *t, const char *text, size_t len, double deadline, tok_scratch *sc)
{
    if (t->chars) {
        sc->ntoks = 0;
        return chars_run(text, len, deadline, sc);
    }
    if (!sc->md && !(sc->md = pcre2_match_data_create(4, NULL))) return -1;
    int rc = tokenize_affixes(t, text, len, 1, deadline, sc);
    return rc ? rc : apply_special_cases(t, text, sc);
}

int tokenizer_run(const tokenizer *t, const char *text, size_t len, tok_scratch *sc)
{
    return tokenizer_run_until(t, text, len, 0, sc);
}

void tok_scratch_free(tok_scratch *s)
{
    if (s->md) pcre2_match_data_free(s->md);
    free(s->toks);
    free(s->aff);
    free(s->spans);
    free(s->keep);
    free(s->seen);
    free(s->old);
    key_cache_free(&s->chunks);
    memset(s, 0, sizeof *s);
}

void tokenizer_sub_norm(const tokenizer *t, int32_t sub, const char **p, size_t *len)
{
    *p = t->pool.ptr + t->subs[sub].norm;
    *len = t->subs[sub].norm_len;
}

/* ---- loading ---- */

static int load_pattern(const msgpack_object *root, const char *key, pcre2_code **out, const char *path, char *err,
                        size_t errlen)
{
    const msgpack_object *v = mf_map_get(root, key);
    *out = NULL;
    const char *pattern;
    size_t len;
    if (!v || v->type == MSGPACK_OBJECT_NIL) return 0;
    if (mf_str(v, &pattern, &len)) {
        snprintf(err, errlen, "%s: %s is not a pattern string", path, key);
        return -1;
    }
    char perr[256];
    *out = pyre_compile(pattern, len, perr, sizeof perr);
    if (!*out) {
        snprintf(err, errlen, "%s: %s: %s", path, key, perr);
        return -1;
    }
    return 0;
}

static int load_any(const msgpack_object *root, const char *key, pyre_any *out, const char *path, char *err,
                    size_t errlen)
{
    const msgpack_object *v = mf_map_get(root, key);
    const char *pattern;
    size_t len;
    memset(out, 0, sizeof *out);
    if (!v || v->type == MSGPACK_OBJECT_NIL) return 0;
    if (mf_str(v, &pattern, &len)) {
        snprintf(err, errlen, "%s: %s is not a pattern string", path, key);
        return -1;
    }
    char perr[256];
    if (pyre_any_compile(pattern, len, out, perr, sizeof perr)) {
        snprintf(err, errlen, "%s: %s: %s", path, key, perr);
        return -1;
    }
    return 0;
}

typedef struct { const char *s; size_t n; const msgpack_object *subs; } raw_special;

static int raw_cmp(const void *x, const void *y)
{
    const raw_special *a = x, *b = y; /* Python sorts str by code point = UTF-8 byte order */
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->s, b->s, n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

static int pool_add(tokenizer *t, const char *s, size_t n, uint32_t *off)
{
    *off = (uint32_t)t->pool.len;
    return buf_append(&t->pool, s, n) || buf_putc(&t->pool, 0);
}

static nerd_status load_specials(tokenizer *t, const msgpack_object *exc, const char *path, char *err, size_t errlen)
{
    if (!exc || exc->type == MSGPACK_OBJECT_NIL) return NERD_OK;
    if (exc->type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "%s: exceptions is not a map", path);
        return NERD_ERR_FORMAT;
    }
    size_t n = exc->via.map.size;
    raw_special *raw = calloc(n ? n : 1, sizeof *raw);
    if (!raw) goto oom;
    size_t nsubs = 0;
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *v = &exc->via.map.ptr[i].val;
        const char *ks;
        size_t kn;
        if (mf_str(&exc->via.map.ptr[i].key, &ks, &kn) || v->type != MSGPACK_OBJECT_ARRAY || !v->via.array.size) {
            snprintf(err, errlen, "%s: exception %zu is not a string with a list of tokens", path, i);
            free(raw);
            return NERD_ERR_FORMAT;
        }
        raw[i] = (raw_special){ks, kn, v};
        nsubs += v->via.array.size;
    }
    qsort(raw, n, sizeof *raw, raw_cmp);
    t->specials = calloc(n ? n : 1, sizeof *t->specials);
    t->subs = calloc(nsubs ? nsubs : 1, sizeof *t->subs);
    if (!t->specials || !t->subs || u64map_init(&t->special_by_hash, n)) goto oom;
    for (size_t i = 0; i < n; i++) {
        special_case *sp = &t->specials[t->nspecials];
        sp->first = (uint32_t)t->nsubs;
        sp->n = raw[i].subs->via.array.size;
        if (pool_add(t, raw[i].s, raw[i].n, &sp->str)) goto oom;
        sp->str_len = (uint32_t)raw[i].n;
        if (raw[i].n > t->longest_special) t->longest_special = raw[i].n;
        size_t total = 0;
        for (uint32_t j = 0; j < sp->n; j++) {
            const msgpack_object *attrs = &raw[i].subs->via.array.ptr[j];
            special_sub *sub = &t->subs[t->nsubs++];
            memset(sub, 0, sizeof *sub);
            int have_orth = 0;
            for (uint32_t a = 0; attrs->type == MSGPACK_OBJECT_MAP && a < attrs->via.map.size; a++) {
                const msgpack_object *ak = &attrs->via.map.ptr[a].key, *av = &attrs->via.map.ptr[a].val;
                if (ak->type != MSGPACK_OBJECT_POSITIVE_INTEGER || av->type != MSGPACK_OBJECT_STR) continue;
                if (ak->via.u64 == 65) { /* ORTH */
                    if (pool_add(t, av->via.str.ptr, av->via.str.size, &sub->orth)) goto oom;
                    sub->orth_len = av->via.str.size;
                    have_orth = 1;
                } else if (ak->via.u64 == 67) { /* NORM */
                    if (pool_add(t, av->via.str.ptr, av->via.str.size, &sub->norm)) goto oom;
                    sub->norm_len = av->via.str.size;
                    sub->has_norm = 1;
                }
            }
            if (!have_orth) {
                snprintf(err, errlen, "%s: exception \"%.*s\": a token without ORTH", path, (int)raw[i].n, raw[i].s);
                free(raw);
                return NERD_ERR_FORMAT;
            }
            total += sub->orth_len;
        }
        if (total != raw[i].n) { /* spaCy's E997: the ORTHs must spell the string */
            snprintf(err, errlen, "%s: exception \"%.*s\": its tokens do not spell it", path, (int)raw[i].n, raw[i].s);
            free(raw);
            return NERD_ERR_FORMAT;
        }
        if (u64map_put(&t->special_by_hash, tok_hash(raw[i].s, raw[i].n), (uint32_t)t->nspecials)) goto oom;
        t->nspecials++;
    }
    free(raw);
    /* ORTH offsets are relative to the pool, which may have moved while growing: fine, they
     * are offsets. Subtokens of one special case are consecutive in the text. */
    return NERD_OK;
oom:
    free(raw);
    snprintf(err, errlen, "%s: out of memory", path);
    return NERD_ERR_NOMEM;
}

/* The matcher's patterns: each special case that the heuristics select (spaCy's
 * faster_heuristics: it has a prefix, suffix or infix match, or a space), tokenized without
 * special cases. */
static int build_patterns(tokenizer *t, char *err, size_t errlen)
{
    tok_scratch sc = {0};
    int rc = -1;
    if (!(sc.md = pcre2_match_data_create(4, NULL)) || u64map_init(&t->pattern_by_first, 64)) goto out;
    t->patterns = calloc(t->nspecials ? t->nspecials : 1, sizeof *t->patterns);
    t->pattern_next = calloc(t->nspecials ? t->nspecials : 1, sizeof *t->pattern_next);
    if (!t->patterns || !t->pattern_next) goto out;
    size_t captoks = 0;
    for (size_t i = 0; i < t->nspecials; i++) {
        const special_case *sp = &t->specials[i];
        const char *s = t->pool.ptr + sp->str;
        size_t len = sp->str_len, ms, me;
        int selected = !t->faster_heuristics || find_prefix(t, s, len, sc.md) || find_suffix(t, s, len, sc.md) ||
                       memchr(s, ' ', len) || (t->infix && re_search(t->infix, s, len, 0, 0, sc.md, &ms, &me));
        if (!selected) continue;
        /* tokenize a copy: the pool may grow below */
        char *copy = strndup(s, len);
        if (!copy || tokenize_affixes(t, copy, len, 0, 0, &sc)) { free(copy); goto out; }
        match_pattern *mp = &t->patterns[t->npatterns];
        mp->first = (uint32_t)t->npattern_toks;
        mp->n = (uint32_t)sc.ntoks;
        for (size_t k = 0; k < sc.ntoks; k++) {
            if (t->npattern_toks == captoks) {
                captoks = captoks ? captoks * 2 : 256;
                void *np = realloc(t->pattern_toks, captoks * sizeof *t->pattern_toks);
                if (!np) { free(copy); goto out; }
                t->pattern_toks = np;
            }
            uint32_t off;
            if (pool_add(t, copy + sc.toks[k].start, sc.toks[k].len, &off)) { free(copy); goto out; }
            t->pattern_toks[t->npattern_toks][0] = off;
            t->pattern_toks[t->npattern_toks][1] = sc.toks[k].len;
            t->npattern_toks++;
        }
        uint32_t head = UINT32_MAX;
        uint64_t h = sc.ntoks ? tok_hash(copy + sc.toks[0].start, sc.toks[0].len) : 0;
        free(copy);
        if (!sc.ntoks) continue;
        u64map_get(&t->pattern_by_first, h, &head);
        t->pattern_next[t->npatterns] = head;
        if (u64map_put(&t->pattern_by_first, h, (uint32_t)t->npatterns)) goto out;
        t->npatterns++;
    }
    rc = 0;
out:
    if (rc) snprintf(err, errlen, "out of memory");
    tok_scratch_free(&sc);
    return rc;
}

nerd_status tokenizer_load(const char *path, tokenizer **out, char *err, size_t errlen)
{
    *out = NULL;
    tokenizer *t = calloc(1, sizeof *t);
    mf_msgpack mp;
    nerd_status rc = mf_msgpack_read(&mp, path, "a spaCy tokenizer file", MSGPACK_OBJECT_MAP, err, errlen);
    if (rc != NERD_OK) goto out;
    rc = NERD_ERR_NOMEM;
    if (!t) goto oom;
    t->cache_owner = key_cache_new_owner();
    const msgpack_object *root = mp.root;
    rc = NERD_ERR_FORMAT;
    if (!mf_map_get(root, "prefix_search") && !mf_map_get(root, "exceptions")) {
        snprintf(err, errlen, "%s: not a spaCy tokenizer file (no prefix_search, no exceptions)", path);
        goto out;
    }
    if (load_pattern(root, "prefix_search", &t->prefix, path, err, errlen) ||
        load_pattern(root, "suffix_search", &t->suffix, path, err, errlen) ||
        load_pattern(root, "infix_finditer", &t->infix, path, err, errlen) ||
        load_any(root, "token_match", &t->token_match, path, err, errlen) ||
        load_any(root, "url_match", &t->url, path, err, errlen))
        goto out;
    const char *suffix_src;
    size_t suffix_len;
    rc = NERD_ERR_NOMEM;
    if (t->suffix && !mf_str(mf_map_get(root, "suffix_search"), &suffix_src, &suffix_len) &&
        pyre_tail_init(suffix_src, suffix_len, &t->suffix_tail))
        goto oom;
    const msgpack_object *fh = mf_map_get(root, "faster_heuristics");
    t->faster_heuristics = !fh || fh->type != MSGPACK_OBJECT_BOOLEAN || fh->via.boolean;
    rc = load_specials(t, mf_map_get(root, "exceptions"), path, err, errlen);
    if (rc != NERD_OK) goto out;
    if (build_patterns(t, err, errlen)) {
        rc = NERD_ERR_NOMEM;
        goto out;
    }
    rc = NERD_OK;
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
out:
    mf_msgpack_free(&mp);
    if (rc != NERD_OK) tokenizer_free(t);
    else *out = t;
    return rc;
}

void tokenizer_free(tokenizer *t)
{
    if (!t) return;
    pcre2_code_free(t->prefix);
    pcre2_code_free(t->suffix);
    pyre_tail_free(&t->suffix_tail);
    pcre2_code_free(t->infix);
    pyre_any_free(&t->url);
    pyre_any_free(&t->token_match);
    buf_free(&t->pool);
    free(t->subs);
    free(t->specials);
    u64map_free(&t->special_by_hash);
    free(t->patterns);
    free(t->pattern_toks);
    free(t->pattern_next);
    u64map_free(&t->pattern_by_first);
    free(t);
}
