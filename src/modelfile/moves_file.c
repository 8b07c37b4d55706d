#include "modelfile/moves_file.h"
#include "modelfile/modelfile.h"

#include <stdio.h>
#include <string.h>

nerd_status moves_file_read(const char *path, json_doc *jd, char *err, size_t errlen)
{
    memset(jd, 0, sizeof *jd);
    mf_msgpack mp;
    nerd_status rc = mf_msgpack_read(&mp, path, "a spaCy moves file", MSGPACK_OBJECT_MAP, err, errlen);
    if (rc == NERD_OK) {
        const msgpack_object *moves = mf_map_get(mp.root, "moves");
        const char *text;
        size_t len;
        char jerr[128];
        rc = NERD_ERR_FORMAT;
        if (!moves || mf_str(moves, &text, &len))
            snprintf(err, errlen, "%s: not a spaCy moves file (no moves string)", path);
        else if (json_parse(text, len, 8, jd, jerr, sizeof jerr))
            snprintf(err, errlen, "%s: moves are not JSON: %s", path, jerr);
        else if (jd->root.type != JSON_OBJECT)
            snprintf(err, errlen, "%s: moves are not a JSON object", path);
        else
            rc = NERD_OK;
    }
    mf_msgpack_free(&mp);
    return rc;
}
