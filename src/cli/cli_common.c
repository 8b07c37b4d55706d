#include "cli/cli_common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

long cli_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) sscanf(line + 6, "%ld", &kib);
    if (f) fclose(f);
    return kib;
}

nerd_model *cli_load_model(const char *flag, int verbose)
{
    char path[4096], err[1024];
    if (nerd_model_path(flag, path, sizeof path, err, sizeof err)) {
        fprintf(stderr, "nerd: %s\n", err);
        return NULL;
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    nerd_status st;
    nerd_model *m = nerd_model_load(path, &st, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (!m) {
        fprintf(stderr, "nerd: cannot load model: %s\n", err);
        return NULL;
    }
    if (verbose)
        fprintf(stderr, "nerd: loaded %s %s from %s in %.1f ms, resident memory %ld KiB; weights: sha256 %s of %s\n",
                nerd_model_name(m), nerd_model_version(m), path,
                (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6, cli_rss_kib(),
                nerd_model_weights_sha256(m), nerd_model_weights_files(m));
    return m;
}

int cli_read_input(const char *path, buf *b)
{
    FILE *f = !path || !strcmp(path, "-") ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "nerd: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char chunk[65536];
    size_t r;
    int rc = 0;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(b, chunk, r)) { fprintf(stderr, "nerd: out of memory\n"); rc = -1; break; }
    if (ferror(f)) { fprintf(stderr, "nerd: cannot read %s\n", path ? path : "stdin"); rc = -1; }
    if (f != stdin) fclose(f);
    if (!b->ptr) buf_append(b, "", 0);
    return rc;
}

int cli_pipeline(const char *s, nerd_pipeline *p)
{
    if (!nerd_pipeline_parse(s, p)) return 0;
    fprintf(stderr, "nerd: --pipeline must be ner, full or doc, not %s\n", s);
    return -1;
}

int cli_precision(const char *s, nerd_precision *p)
{
    if (!nerd_precision_parse(s, p)) return 0;
    fprintf(stderr, "nerd: --precision must be fp32, bf16 or int8, not '%s'\n", s ? s : "");
    return -1;
}

int cli_apply_precision(nerd_model *m, nerd_precision p, int verbose)
{
    if (nerd_model_set_precision(m, p) != NERD_OK) {
        fprintf(stderr, "nerd: cannot switch the model to %s: out of memory\n", nerd_precision_name(p));
        return -1;
    }
    if (verbose)
        fprintf(stderr, "nerd: precision %s, products on the %s code path (instruction set %s)\n",
                nerd_precision_name(p), nerd_precision_kernel(p), nerd_isa());
    return 0;
}

const char *cli_opt_value(int argc, char **argv, int *i, const char *name)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n)) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] || *i + 1 >= argc) return NULL;
    return argv[++*i];
}

int cli_model_opt(int argc, char **argv, int *i, cli_model_opts *o)
{
    const char *v;
    if ((v = cli_opt_value(argc, argv, i, "--model"))) o->model = v;
    else if ((v = cli_opt_value(argc, argv, i, "--pipeline"))) return (o->pipeline_given = 1, cli_pipeline(v, &o->pipeline)) ? -1 : 1;
    else if ((v = cli_opt_value(argc, argv, i, "--precision"))) return cli_precision(v, &o->precision) ? -1 : 1;
    else return 0;
    return 1;
}
