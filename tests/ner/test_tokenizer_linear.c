/* The tokenizer in linear time on hostile texts (issue 20, item 3): a long token of a
 * repeated prefix, suffix or infix character, emoji, combining marks, scripts without
 * spaces (bench/adversarial.h). spaCy strips affixes one at a time and searches the suffix
 * pattern over the whole rest of the token each time: quadratic (8,192 `€` took nerd 14 s).
 * Bounds are CPU seconds of this forked test process, so the machine's load does not count. */
#include "test.h"
#include "nerd.h"
#include "../../bench/adversarial.h"

#include <time.h>

/* CPU seconds a MiB of any kind may take: far under `nerd serve`'s default --timeout of 30 s
 * (the worst kind, `€`, takes about 0.8 s a MiB, and ASan + UBSan's worst, `:`, 2.1 s: the same
 * bounds hold for both builds); a quadratic tokenizer takes hours. */
static const double CPU_S_PER_MIB = 8.0;

/* Tokenizes `bytes` of each kind; fails on the first over its share of CPU_S_PER_MIB. */
static void check_kinds(size_t bytes)
{
    nerd_model *m = test_model();
    nerd_doc *d = nerd_doc_new();
    double bound = CPU_S_PER_MIB * bytes / (1 << 20);
    for (size_t k = 0; k < ADVERSARIAL_NKINDS; k++) {
        size_t len;
        char *text = adversarial_text(&ADVERSARIAL_KINDS[k], bytes, &len);
        CHECK(text);
        double c0 = test_clock_s(CLOCK_PROCESS_CPUTIME_ID);
        CHECK_EQ_INT(nerd_tokenize(m, d, text, len), NERD_OK);
        double cpu = test_clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        printf("  %-28s %8zu bytes, %7zu tokens: %.3f s CPU\n", ADVERSARIAL_KINDS[k].kind, len, nerd_doc_ntokens(d), cpu);
        CHECKF(cpu < bound, "%s: %zu bytes took %.2f s of CPU (bound %.2f s)", ADVERSARIAL_KINDS[k].kind, len, cpu, bound);
        free(text);
    }
    nerd_doc_free(d);
    nerd_model_free(m);
}

TEST(tokenizer_linear_euro_24k)
{
    /* the figure: 8,192 `€` (24 KiB, one token of prefixes) took 14 s a request */
    nerd_model *m = test_model();
    nerd_doc *d = nerd_doc_new();
    size_t len;
    char *text = adversarial_text(&ADVERSARIAL_KINDS[0], 8192 * 3, &len);
    CHECK(text && len == 8192 * 3);
    double c0 = test_clock_s(CLOCK_PROCESS_CPUTIME_ID);
    CHECK_EQ_INT(nerd_tokenize(m, d, text, len), NERD_OK);
    double cpu = test_clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("  8,192 x U+20AC: %zu tokens in %.3f s CPU\n", nerd_doc_ntokens(d), cpu);
    CHECK_EQ_INT(nerd_doc_ntokens(d), 8192);
    CHECKF(cpu < 0.2, "8,192 euro signs took %.2f s of CPU", cpu); /* 0.02 s, 0.03 s under ASan */
    free(text);
    nerd_doc_free(d);
    nerd_model_free(m);
}

/* every kind at 128 KiB in `make test` (a quadratic tokenizer takes minutes on `€` here) */
TEST(tokenizer_linear_kinds)
{
    check_kinds(128 << 10);
}

/* and at 1 MiB, the largest request body, in `make test-hostile` */
TEST_T(hostile_tokenizer_linear_mib, 300)
{
    check_kinds(1 << 20);
}
