/* The two models tests use (the stand-in the shared golden files were made with, and the real
 * en_core_web_sm `make deps` fetches), the stand-in loaded for a test (or the test fails with the
 * loader's message), a tok2vec's output for a document, and a doc's annotations as a string. */
#include "model_helper.h"
#include "test.h"

#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *test_standin(void) { return test_path("models/en_core_web_sm"); }

const char *test_real_model(void)
{
    struct stat st;
    CHECKF(stat(NERD_FETCHED_MODEL "/config.cfg", &st) == 0,
           "%s/config.cfg is missing: `make model` (part of `make deps`) fetches the real en_core_web_sm",
           NERD_FETCHED_MODEL);
    return NERD_FETCHED_MODEL;
}

nerd_model *test_model(void)
{
    char err[512];
    nerd_model *m = nerd_model_load(test_standin(), NULL, err, sizeof err);
    CHECKF(m, "model: %s", err);
    return m;
}

float *test_t2v_out(const t2v_net *net, const t2v_packed *pk, kn_precision prec, embed_cache *c, const uint64_t *attrs,
                    size_t n, t2v_cache_use *use)
{
    float *scratch = malloc(t2v_fast_scratch_floats(net, n) * sizeof(float));
    float *out = malloc((n + 1) * net->width * sizeof(float));
    CHECK(scratch && out);
    t2v_fast_forward(net, pk, prec, c, attrs, n, out, scratch, use, NULL, NULL);
    free(scratch);
    return out;
}

char *test_annotations(const nerd_doc *d)
{
    buf b = {0};
    buf_puts(&b, "");
    for (size_t i = 0; i < nerd_doc_nents(d); i++) {
        nerd_ent e;
        nerd_doc_ent(d, i, &e);
        buf_printf(&b, "%zu-%zu:%s;", e.start_char, e.end_char, e.label);
    }
    size_t h;
    const char *dep;
    for (size_t i = 0; nerd_doc_head(d, i, &h, &dep) == 0; i++)
        buf_printf(&b, "%zu>%zu:%s%s;", i, h, dep, nerd_doc_sent_start(d, i) == 1 ? "^" : "");
    return b.ptr;
}

int test_use_isa(kn_isa isa)
{
    const char *why = kn_isa_missing(isa);
    if (why) {
        printf("  SKIP %s: %s\n", kn_isa_name(isa), why);
        return 0;
    }
    CHECK(kn_set_isa(isa) == 0);
    return 1;
}

void test_edit_config(const char *dir, const char *anchor, const char *from, const char *to)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/config.cfg", dir);
    size_t len;
    char *cfg = test_read_file(p, &len);
    CHECK(cfg);
    char *a = strstr(cfg, anchor), *at = a ? strstr(a, from) : NULL;
    CHECKF(at, "config.cfg has no %s after %s", from, anchor);
    buf b = {0};
    buf_append(&b, cfg, (size_t)(at - cfg));
    buf_puts(&b, to);
    buf_puts(&b, at + strlen(from));
    /* a new file: the folder may be a tree of links to a shared model, which must stay as it is */
    unlink(p);
    FILE *f = fopen(p, "wb");
    CHECK(f && fwrite(b.ptr, 1, b.len, f) == b.len);
    fclose(f);
    buf_free(&b);
    free(cfg);
}

int test_run_output(const char *cmd, char *out, size_t outlen)
{
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
