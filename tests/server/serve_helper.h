/* serve_helper.h - start `nerd serve` for a test on a port the kernel picks, and talk to it. */
#ifndef NERD_SERVE_HELPER_H
#define NERD_SERVE_HELPER_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "util/buf.h"

typedef struct {
    pid_t pid;
    int port;
    char log[256];
} test_server;

/* Starts build/nerd serve -b 127.0.0.1:0 ARGS... (NULL-terminated), with --model the stand-in
 * unless ARGS name a --model, and waits until it listens and /readyz answers 200. Fails the test
 * on a timeout. */
void server_start(test_server *s, const char *const *args);
/* TERM (graceful), QUIT or INT (quick), then waits for the master to exit; returns its exit status. */
int server_stop(test_server *s, int sig);

/* One request on a new connection: sends raw, reads until the server closes or a whole
 * response has arrived. Returns the status code (0 if none) and the whole response in out. */
int http_raw(int port, const char *raw, size_t len, buf *out);
/* The same, reading until the server closes (pipelined answers). */
int http_raw_all(int port, const char *raw, size_t len, buf *out);
/* A JSON request: method, path, body. */
int http_json(int port, const char *method, const char *path, const char *body, buf *out);
/* The body of a response in out (after the blank line), or NULL. */
const char *http_body(const buf *out);
/* A blocking TCP connection to 127.0.0.1:port, or -1. */
int tcp_connect(int port);
/* Sends all of p; 0, or -1 if the connection broke. */
int send_all(int fd, const void *p, size_t len);
/* Appends what fd receives to out for up to seconds; returns 1 if the server closed the
 * connection (EOF) within that time, 0 otherwise (still open, or reset). */
int read_answers(int fd, buf *out, double seconds);
/* The value of an unlabelled metric in /metrics (e.g. nerd_connections_open), or -1. */
long server_metric(int port, const char *name);
/* The pids of the master's children (its workers). */
int server_workers(const test_server *s, pid_t *pids, int max);
/* server_workers, polled every 50 ms for up to `seconds` until it gives `want`: the count seen last. */
int server_wait_workers(const test_server *s, pid_t *pids, int max, int want, double seconds);
/* A POST / whose text is about `bytes` long (whole sentences), head and body, into req. */
void long_text_request(buf *req, size_t bytes);
/* Sends req on a new connection and collects what comes back for up to 30 s (read_answers);
 * returns the seconds until the server closed or the wait ended, *closed = 1 if it closed. */
double timed_exchange(int port, const buf *req, buf *out, int *closed);
/* A copy of the stand-in in /tmp/nerd-model-<tag>-<pid> (its path in dir) changed by the shell
 * command edit run inside it; remove it with model_copy_remove. */
void model_copy(const char *tag, const char *edit, char *dir, size_t size);
/* model_copy's edit that removes the parser (spacy.load then runs the ner alone) */
#define MODEL_EDIT_NO_PARSER "rm -rf parser && sed -i 's/\"tagger\",\"parser\",/\"tagger\",/' config.cfg"
void model_copy_remove(const char *dir);
/* Checks that "Angela Merkel visited Paris." is answered 200 with Paris as a GPE. */
void expect_paris(int port);
/* Waits up to seconds until the server's error log holds needle count times; 1 if it did. */
int server_wait_log(const test_server *s, const char *needle, int count, double seconds);
/* CPU seconds a process has used (utime + stime of /proc/PID/stat), or -1 if it is gone. */
double process_cpu_seconds(pid_t pid);
/* Its utime alone: the CPU its own code used, without the kernel's work for its system calls. */
double process_user_cpu_seconds(pid_t pid);
/* The same for a process's main thread only (an async worker's loop, without its inference threads). */
double main_thread_cpu_seconds(pid_t pid);
/* A field of /proc/PID/status in KiB (e.g. "VmRSS:"), or -1. */
long process_status_kib(pid_t pid, const char *field);
/* Waits up to seconds for the master to exit on its own; returns its exit status (fails the
 * test, after a SIGKILL, if it did not exit). The log is kept. */
int server_wait_exit(test_server *s, double seconds);
/* RLIMIT_NOFILE; fails the test if its hard limit is below need. */
struct rlimit open_files_limit_at_least(long need);

#endif
