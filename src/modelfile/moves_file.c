#include "modelfile/moves_file.h"
#include "modelfile/modelfile.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

int moves_label(char ***names, int *n, const char *s, size_t len)
{
    for (int i = 0; i < *n; i++)
        if (strlen((*names)[i]) == len && !memcmp((*names)[i], s, len)) return i;
    if (*n >= INT16_MAX) return -2;
    char **grown = realloc(*names, (size_t)(*n + 1) * sizeof *grown);
    if (!grown) return -2;
    *names = grown;
    if (!((*names)[*n] = strndup(s, len))) return -2;
    return (*n)++;
}

void moves_labels_free(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}
