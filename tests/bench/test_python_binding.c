/* The Python binding from the clone (python/nerd over build/libnerd.so, as bench-seed runs it)
 * answers the seed's Paris text with spaCy's golden ents and dict, key order included, and reports
 * errors as exceptions. tests/python (make test-python) tests the pip-installed package. */
#include "test.h"

#include <sys/wait.h>

TEST_T(python_binding_gives_the_golden_paris_dict, 60)
{
    const char *script =
        "import json, nerd\n"
        "golden = json.loads(open('%s/golden/edge.jsonl', encoding='utf-8').readline())\n"
        "ner = nerd.load('%s/models/en_core_web_sm')\n"
        "text = open('%s/corpus/paris.txt', encoding='utf-8').read()\n"
        "ents = ner(text).ents\n"
        "got = {e.text: e.label_ for e in ents}\n"
        "assert got == golden['dict'] and list(got) == list(golden['dict']), got\n"
        "assert [(e.start_char, e.end_char, e.label_) for e in ents] == [(e['start_char'], e['end_char'], e['label']) for e in golden['ents']]\n"
        "try:\n    nerd.load('/nonexistent/model'); raise SystemExit('no error')\nexcept nerd.NerdError as e:\n    assert 'nonexistent' in str(e)\n"
        "print('python binding ok')\n";
    char cmd[4096];
    char body[3000];
    snprintf(body, sizeof body, script, test_shared(), test_shared(), test_shared());
    FILE *f = fopen("/tmp/nerd-binding-test.py", "w");
    CHECK(f);
    fputs(body, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "NERD_LIB=%s/libnerd.so PYTHONPATH=python /usr/bin/python3 /tmp/nerd-binding-test.py",
             getenv("NERD_LIBDIR") ? getenv("NERD_LIBDIR") : "build");
    int st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
