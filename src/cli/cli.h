/* cli.h - the subcommands of the nerd binary; each lives in its own file and is listed in
 * the table in src/main.c. Each returns the process exit code. */
#ifndef NERD_CLI_H
#define NERD_CLI_H

int cmd_tokenize(int argc, char **argv); /* src/cli/cmd_tokenize.c */
int cmd_ner(int argc, char **argv);      /* src/cli/cmd_ner.c */
int cmd_eval(int argc, char **argv);     /* src/cli/cmd_eval.c */
int cmd_bench(int argc, char **argv);    /* src/bench/bench_cli.c */

#endif
