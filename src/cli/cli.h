/* cli.h - the subcommands of the nerd binary; each lives in its own file and is listed in
 * the table in src/main.c. Each returns the process exit code. */
#ifndef NERD_CLI_H
#define NERD_CLI_H

#endif
