/* The shared en_core_web_sm, loaded for a test (or the test fails with the loader's message). */
#include "test.h"
#include "nerd.h"

nerd_model *test_model(void)
{
    char err[512];
    nerd_model *m = nerd_model_load(test_path("models/en_core_web_sm"), NULL, err, sizeof err);
    CHECKF(m, "model: %s", err);
    return m;
}
