#include "modelfile/moves_file.h"
#include "util/buf.h"
#include "util/msgpack_bounds.h"

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int moves_file_read(const char *path, json_doc *jd, char *err, size_t errlen)
{
    memset(jd, 0, sizeof *jd);
    buf raw = {0};
    if (buf_read_file(&raw, path)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        buf_free(&raw);
        return -1;
    }
    int rc = -1;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    const msgpack_object *moves = NULL;
    if (raw.ptr && mp_unpack_next(&up, raw.ptr, raw.len, &off) == MSGPACK_UNPACK_SUCCESS && up.data.type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < up.data.via.map.size; i++) {
            const msgpack_object *k = &up.data.via.map.ptr[i].key;
            if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 5 && !memcmp(k->via.str.ptr, "moves", 5))
                moves = &up.data.via.map.ptr[i].val;
        }
    char jerr[128];
    if (!moves || moves->type != MSGPACK_OBJECT_STR)
        snprintf(err, errlen, "%s: not a spaCy moves file (truncated or corrupt msgpack)", path);
    else if (json_parse(moves->via.str.ptr, moves->via.str.size, 8, jd, jerr, sizeof jerr) ||
             jd->root.type != JSON_OBJECT)
        snprintf(err, errlen, "%s: moves are not JSON: %s", path, jerr);
    else
        rc = 0;
    msgpack_unpacked_destroy(&up);
    buf_free(&raw);
    return rc;
}
