/* modelfile.h - the one way nerd reads files: a whole file with the real cause of a failure, a
 * msgpack file parsed with bounded counts, a map key looked up by one rule, and JSON lines.
 *
 * Every function that fails returns the nerd_status of the cause and writes a message naming
 * the file into err: NERD_ERR_NOT_FOUND (no such file), NERD_ERR_IO (it exists but cannot be
 * read: permission, a folder or a FIFO where a file should be, a read error; strerror's text),
 * NERD_ERR_NOMEM, NERD_ERR_FORMAT (larger than any such file, truncated, corrupt). */
#ifndef NERD_MODELFILE_H
#define NERD_MODELFILE_H

#include <msgpack.h>
#include <stddef.h>

#include "nerd.h"
#include "util/buf.h"
#include "util/json.h"

/* Size limits: weights and vocabularies (en_core_web_sm's largest file is 6 MB; a _lg model's
 * are hundreds of MB), and small JSON or config files (meta.json, config.cfg, cfg). */
#define MF_MAX_MODEL_FILE ((size_t)1 << 31)
#define MF_MAX_TEXT_FILE ((size_t)16 << 20)

/* Appends the whole regular file at path to out (NUL-terminated), refusing one of more than
 * max_bytes. Never blocks on a FIFO or device: anything but a regular file is NERD_ERR_IO. */
nerd_status mf_read(const char *path, size_t max_bytes, buf *out, char *err, size_t errlen);

/* Reads and parses a JSON file (meta.json, a component's cfg) into *jd: NERD_ERR_FORMAT when it
 * is not JSON. Always call json_doc_free(jd). */
nerd_status mf_read_json(const char *path, json_doc *jd, char *err, size_t errlen);

/* A msgpack file read whole: root points into raw and up, which stay alive until
 * mf_msgpack_free. */
typedef struct {
    buf raw;
    msgpack_unpacked up;
    const msgpack_object *root;
} mf_msgpack;

/* Reads and parses path; a root that is not of type want is NERD_ERR_FORMAT, as is a file that
 * is empty, truncated or claims more elements than it has bytes (util/msgpack_bounds.h). `what`
 * names the file's kind in messages ("a spaCy tokenizer file"). Always call mf_msgpack_free. */
nerd_status mf_msgpack_read(mf_msgpack *mp, const char *path, const char *what, msgpack_object_type want,
                            char *err, size_t errlen);
void mf_msgpack_free(mf_msgpack *mp);

/* Strings: srsly writes Python str as msgpack STR and bytes as BIN (use_bin_type=True); older
 * msgpack writers used one raw type that reads as STR. nerd's one rule: a string, a key included,
 * is STR or BIN, compared by its bytes. */
int mf_str(const msgpack_object *o, const char **p, size_t *n); /* 0, or -1 if neither */
int mf_key_is(const msgpack_object *k, const char *key);
/* The value of key in map (the first match), or NULL (also when map is not a map). */
const msgpack_object *mf_map_get(const msgpack_object *map, const char *key);

/* Appends o as JSON text (maps with string keys, arrays, strings, numbers, booleans, nil), so that
 * what spaCy stored as msgpack (the attribute_ruler's patterns) can go where JSON is read. 0, -1
 * for what JSON cannot hold (a non-string key, invalid UTF-8, a non-finite number), -2 when
 * memory runs out. */
int mf_to_json(const msgpack_object *o, buf *out, int depth);

/* JSON lines over data[0..len): one JSON value per line, "\n" or "\r\n" ended (the last line may
 * lack it); lines of only whitespace are skipped. */
typedef struct {
    const char *at, *end;
    size_t max_line;   /* bytes a line may have, its end excluded */
    size_t lineno;     /* of the line just returned, from 1 */
    json_doc doc;      /* its value, valid until the next call */
    char err[192];     /* why the line just returned is bad: "line N: ..." */
} jsonl_iter;

#define JSONL_MAX_LINE ((size_t)1 << 30)

void jsonl_init(jsonl_iter *it, const char *data, size_t len, size_t max_line);
/* 1: the next line's value is it->doc.root; 0: no more lines; -1: the next line is too long or
 * not JSON (it->err says which line and why). After -1 the caller may go on to the next line. */
int jsonl_next(jsonl_iter *it);
void jsonl_free(jsonl_iter *it);

#endif
