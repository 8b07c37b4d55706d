/* server.h opens with a map of src/server: one line per file. It must name exactly the .c
 * files there (it once named an ae.c that did not exist). */
#include "test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILES 64

/* The .c names of the map: the lines " *   NAME.c ..." of the header's first comment. */
static int map_names(const char *header, char names[][64])
{
    size_t len;
    char *text = test_read_file(header, &len);
    CHECKF(text, "cannot read %s", header);
    char *end = strstr(text, "*/");
    CHECK(end);
    *end = 0;
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[64];
        if (sscanf(line, " * %63s", name) == 1 && strlen(name) > 2 && !strcmp(name + strlen(name) - 2, ".c")) {
            CHECK(n < MAX_FILES);
            strcpy(names[n++], name);
        }
    }
    free(text);
    return n;
}

static int dir_names(const char *dir, char names[][64])
{
    DIR *d = opendir(dir);
    CHECKF(d, "cannot list %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l > 2 && l < 64 && !strcmp(e->d_name + l - 2, ".c")) {
            CHECK(n < MAX_FILES);
            strcpy(names[n++], e->d_name);
        }
    }
    closedir(d);
    return n;
}

static int has(char names[][64], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return 1;
    return 0;
}

TEST(server_h_map_names_exactly_the_files_of_src_server)
{
    static char mapped[MAX_FILES][64], present[MAX_FILES][64];
    int nm = map_names("src/server/server.h", mapped), np = dir_names("src/server", present);
    CHECK(np > 0);
    for (int i = 0; i < nm; i++) CHECKF(has(present, np, mapped[i]), "server.h maps %s, which is not in src/server", mapped[i]);
    for (int i = 0; i < np; i++) CHECKF(has(mapped, nm, present[i]), "src/server/%s is missing from server.h's map", present[i]);
    for (int i = 0; i < nm; i++)
        for (int k = 0; k < i; k++) CHECKF(strcmp(mapped[i], mapped[k]), "server.h maps %s twice", mapped[i]);
}
