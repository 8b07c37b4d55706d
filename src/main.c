/* main.c - the nerd binary: one program, one subcommand per job. */
#include <stdio.h>
#include <string.h>

#include "nerd.h"
#include "cli/cli.h"
#include "server/server.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"tokenize", cmd_tokenize, "print spaCy's tokens and lexical attributes as JSON lines"},
    {"ner", cmd_ner, "print the entities of a text, or of JSON lines"},
    {"eval", cmd_eval, "compare nerd with spaCy's golden outputs"},
    {"bench", cmd_bench, "the seed's load test: n simultaneous requests, latency percentiles, answers checked"},
    {"serve", cmd_serve, "serve the model over HTTP: a pre-fork master with sync or async workers"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: nerd COMMAND [OPTIONS]   (nerd COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "  %-10s %s\n", "version", "print the version");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("nerd %s\n", NERD_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "nerd: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
