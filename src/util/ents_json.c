#include "util/ents_json.h"
#include "text/hash.h"
#include "util/u64map.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

int ents_write_dict(const nerd_doc *d, const char *text, buf *out)
{
    size_t n = nerd_doc_nents(d);
    /* unique texts in first-seen order, each with the index of its last entity */
    size_t *first = malloc((n ? n : 1) * sizeof *first), *last = malloc((n ? n : 1) * sizeof *last);
    u64map seen = {0}; /* freed at out: also when first or last could not be allocated */
    int rc = -1;
    if (!first || !last || u64map_init(&seen, n)) goto out;
    size_t nuniq = 0;
    for (size_t i = 0; i < n; i++) {
        nerd_ent e;
        nerd_doc_ent(d, i, &e);
        const char *s = text + e.start_byte;
        size_t len = e.end_byte - e.start_byte;
        uint64_t h = murmur64a(s, len, 7);
        uint32_t k;
        int found = 0;
        /* a hash hit is confirmed by comparing the texts; collisions fall back to a scan */
        if (u64map_get(&seen, h, &k)) {
            nerd_ent f;
            nerd_doc_ent(d, first[k], &f);
            if (f.end_byte - f.start_byte == len && !memcmp(text + f.start_byte, s, len)) {
                last[k] = i;
                found = 1;
            } else {
                for (size_t u = 0; u < nuniq && !found; u++) {
                    nerd_doc_ent(d, first[u], &f);
                    if (f.end_byte - f.start_byte == len && !memcmp(text + f.start_byte, s, len)) {
                        last[u] = i;
                        found = 1;
                    }
                }
            }
        }
        if (!found) {
            if (!u64map_get(&seen, h, &k) && u64map_put(&seen, h, (uint32_t)nuniq)) goto out;
            first[nuniq] = i;
            last[nuniq] = i;
            nuniq++;
        }
    }
    if (buf_putc(out, '{')) goto out;
    for (size_t u = 0; u < nuniq; u++) {
        nerd_ent f, l;
        nerd_doc_ent(d, first[u], &f);
        nerd_doc_ent(d, last[u], &l);
        if ((u && buf_putc(out, ',')) || json_write_string(out, text + f.start_byte, f.end_byte - f.start_byte, 0) ||
            buf_putc(out, ':') || json_write_string(out, l.label, strlen(l.label), 0))
            goto out;
    }
    rc = buf_putc(out, '}');
out:
    u64map_free(&seen);
    free(first);
    free(last);
    return rc;
}

int ents_write_list(const nerd_doc *d, const char *text, buf *out)
{
    if (buf_putc(out, '[')) return -1;
    for (size_t i = 0; i < nerd_doc_nents(d); i++) {
        nerd_ent e;
        nerd_doc_ent(d, i, &e);
        if ((i && buf_putc(out, ',')) || buf_puts(out, "{\"text\":") ||
            json_write_string(out, text + e.start_byte, e.end_byte - e.start_byte, 0) || buf_puts(out, ",\"label\":") ||
            json_write_string(out, e.label, strlen(e.label), 0) ||
            buf_printf(out, ",\"start_char\":%zu,\"end_char\":%zu,\"start\":%zu,\"end\":%zu", e.start_char, e.end_char,
                       e.start, e.end))
            return -1;
        /* an entity_ruler pattern's id, only where one was set (spaCy's ent_id_ is "" otherwise) */
        if (*e.ent_id && (buf_puts(out, ",\"ent_id\":") || json_write_string(out, e.ent_id, strlen(e.ent_id), 0)))
            return -1;
        if (buf_putc(out, '}')) return -1;
    }
    return buf_putc(out, ']');
}
