/* The shared en_core_web_sm, loaded for a test (or the test fails with the loader's message),
 * and a tok2vec's output for a document. */
#include "model_helper.h"
#include "test.h"

#include <stdlib.h>

nerd_model *test_model(void)
{
    char err[512];
    nerd_model *m = nerd_model_load(test_path("models/en_core_web_sm"), NULL, err, sizeof err);
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
