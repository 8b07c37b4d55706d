/* moves_file.h - a transition system's moves file (ner/moves, parser/moves): msgpack
 * {"moves": JSON text {action id: {label: frequency}}, ...} read into a JSON tree. */
#ifndef NERD_MOVES_FILE_H
#define NERD_MOVES_FILE_H

#include <stddef.h>

#include "nerd.h"
#include "util/json.h"

/* Reads path into *jd (root: a JSON object). NERD_OK, or the cause (modelfile.h) with a message
 * naming the file; always call json_doc_free(jd). */
nerd_status moves_file_read(const char *path, json_doc *jd, char *err, size_t errlen);

/* A transition system's label strings (*names, *n of them), each once, in the order first seen
 * (classes refer to them by index, an int16_t): the index of label s[0..len), added when new;
 * -2 when memory runs out or the table is full (INT16_MAX labels). */
int moves_label(char ***names, int *n, const char *s, size_t len);
void moves_labels_free(char **names, int n);

#endif
