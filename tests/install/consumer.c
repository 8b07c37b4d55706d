/* A program as a user of an installed libnerd writes it, built by tests/install/test_install.sh
 * with `pkg-config --cflags --libs nerd` only: loads the model folder argv[1], runs the full
 * pipeline over the file argv[2] and prints one line per entity, "start_char end_char label".
 * Exits 1 if the library's version is not the header's, 2 on a nerd error. */
#include <nerd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(NERD_VERSION_NUMBER) || NERD_VERSION_NUMBER < 100
#error "nerd.h has no usable NERD_VERSION_NUMBER"
#endif

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL_DIR TEXT_FILE\n", argv[0]);
        return 2;
    }
    if (strcmp(nerd_version(), NERD_VERSION) || nerd_version_number() != NERD_VERSION_NUMBER) {
        fprintf(stderr, "libnerd %s (%d), header %s (%d)\n", nerd_version(), nerd_version_number(), NERD_VERSION,
                NERD_VERSION_NUMBER);
        return 1;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 2;
    }
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);

    char err[1024];
    nerd_status st;
    nerd_model *m = nerd_model_load(argv[1], &st, err, sizeof err);
    if (!m) {
        fprintf(stderr, "%s: %s\n", nerd_strerror(st), err);
        return 2;
    }
    nerd_doc *d = nerd_doc_new();
    st = d ? nerd_ner(m, d, text, len, NERD_PIPELINE_FULL) : NERD_ERR_NOMEM;
    if (st != NERD_OK) {
        fprintf(stderr, "nerd_ner: %s\n", nerd_strerror(st));
        return 2;
    }
    nerd_ent e;
    for (size_t i = 0; i < nerd_doc_nents(d); i++)
        if (nerd_doc_ent(d, i, &e) == 0) printf("%zu %zu %s\n", e.start_char, e.end_char, e.label);
    nerd_doc_free(d);
    nerd_model_free(m);
    return 0;
}
