/* The trainable_lemmatizer's edit trees (src/components/edit_tree.c) against spaCy's EditTrees:
 * the trees spaCy 3.8.7 builds for six form/lemma pairs (gegooid/gooien, über/ueber,
 * Straße/Strasse, X/x, was/be, ab/ab), written as the folder stores them, applied to forms with
 * the lemmas (or the refusals) EditTrees.apply gives. */
#include "test.h"
#include "components/edit_tree.h"
#include "text/hash.h"

#include <msgpack.h>
#include <unistd.h>

#define NT ET_NO_TREE
typedef struct { int match; uint32_t prefix_len, suffix_len, prefix_tree, suffix_tree; const char *orig, *subst; } tree_spec;
/* EditTrees' ids and nodes for the six pairs, in the order spaCy adds them */
static const tree_spec spacy_trees[] = {
    {0, 0, 0, 0, 0, "ge", ""},        {0, 0, 0, 0, 0, "d", "en"},  {1, 2, 1, 0, 1, NULL, NULL},
    {0, 0, 0, 0, 0, "\xc3\xbc", "ue"}, {1, 1, 0, 3, NT, NULL, NULL}, {0, 0, 0, 0, 0, "\xc3\x9f", "ss"},
    {1, 1, 0, 5, NT, NULL, NULL},      {1, 0, 2, NT, 6, NULL, NULL}, {0, 0, 0, 0, 0, "X", "x"},
    {0, 0, 0, 0, 0, "was", "be"},      {1, 0, 0, NT, NT, NULL, NULL},
};
#define NTREES (sizeof spacy_trees / sizeof *spacy_trees)

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, len, f) == len && fclose(f) == 0);
}

/* A trainable_lemmatizer folder in a temporary dir: trees (n of spacy_trees, the last one's
 * subtree replaced by bad_subtree when not NT), cfg with labels, vocab strings. */
static char *make_folder(size_t n, uint32_t bad_subtree, const char *labels_json, int with_strings)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/nerd-edit-tree-XXXXXX");
    CHECK(mkdtemp(dir));
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "trees");
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++) {
        const tree_spec *t = &spacy_trees[i];
        msgpack_pack_map(&pk, t->match ? 4 : 2);
        if (t->match) {
            pack_str(&pk, "prefix_len"), msgpack_pack_uint32(&pk, t->prefix_len);
            pack_str(&pk, "suffix_len"), msgpack_pack_uint32(&pk, t->suffix_len);
            pack_str(&pk, "prefix_tree"), msgpack_pack_uint32(&pk, i == n - 1 && bad_subtree != NT ? bad_subtree : t->prefix_tree);
            pack_str(&pk, "suffix_tree"), msgpack_pack_uint32(&pk, t->suffix_tree);
        } else {
            pack_str(&pk, "orig"), msgpack_pack_uint64(&pk, nerd_string_hash(t->orig, strlen(t->orig)));
            pack_str(&pk, "subst"), msgpack_pack_uint64(&pk, nerd_string_hash(t->subst, strlen(t->subst)));
        }
    }
    char path[128];
    snprintf(path, sizeof path, "%s/trees", dir);
    write_file(path, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    snprintf(path, sizeof path, "%s/cfg", dir);
    write_file(path, labels_json, strlen(labels_json));
    /* as spaCy writes it: without "X", a symbol (keyed by its ID 101, not a hash); "ss" is left out when !with_strings */
    const char *strings = with_strings ? "[\"ge\",\"d\",\"en\",\"\\u00fc\",\"ue\",\"\\u00df\",\"ss\",\"x\",\"was\",\"be\",\"other\"]"
                                       : "[\"ge\",\"d\",\"en\",\"\\u00fc\",\"ue\",\"\\u00df\",\"x\",\"was\",\"be\"]";
    snprintf(path, sizeof path, "%s/strings.json", dir);
    write_file(path, strings, strlen(strings));
    return dir;
}

static void remove_folder(const char *dir)
{
    const char *files[] = {"trees", "cfg", "strings.json"};
    char path[128];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static nerd_status load(edit_trees *t, const char *dir, int top_k, char *err, size_t errlen)
{
    char strings[128];
    snprintf(strings, sizeof strings, "%s/strings.json", dir);
    return et_load(t, dir, strings, top_k, ET_BACKOFF_ORTH, 0, err, errlen);
}

TEST(edit_tree_apply_as_spacy)
{
    const char *dir = make_folder(NTREES, NT, "{\"labels\":[2,4,7,8,9,10]}", 1);
    edit_trees t;
    char err[256];
    nerd_status rc = load(&t, dir, 1, err, sizeof err);
    CHECKF(rc == NERD_OK, "%s", err);
    CHECK_EQ_INT(t.nnodes, NTREES);
    CHECK_EQ_INT(t.nlabels, 6);
    /* EditTrees.apply's answers (NULL: None, the tree does not apply) */
    static const struct { uint32_t tree; const char *form, *lemma; } cases[] = {
        {2, "gegooid", "gooien"}, {2, "gezaaid", "zaaien"}, {2, "gaaid", NULL}, {2, "ged", "en"},
        {2, "ge", NULL}, {2, "ge\xc3\xa4\xc3\x9f" "d", "\xc3\xa4\xc3\x9f" "en"}, {5, "Fu\xc3\x9f", NULL},
        {6, "X", NULL}, {7, "was", NULL}, {7, "Fu\xc3\x9f" "e", "Fusse"}, {7, "\xc3\x9f" "e", "sse"}, {7, "e", NULL},
        {8, "X", "x"}, {8, "xyz", NULL}, {9, "was", "be"}, {10, "xyz", "xyz"}, {4, "\xc3\xbc" "b", "ueb"},
        {4, "ab", NULL}, {1, "d", "en"}, {0, "ge", ""},
    };
    buf out = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        buf_clear(&out);
        CHECK(buf_puts(&out, "<") == 0);
        int got = et_apply(&t, cases[i].tree, cases[i].form, strlen(cases[i].form), &out);
        CHECKF(got == (cases[i].lemma ? 0 : 1), "tree %u on %s: %d", cases[i].tree, cases[i].form, got);
        /* a tree that does not apply leaves out as it was, even after a subtree appended */
        CHECK_EQ_INT(out.len, 1 + (cases[i].lemma ? strlen(cases[i].lemma) : 0));
        if (cases[i].lemma) CHECKF(!memcmp(out.ptr + 1, cases[i].lemma, out.len - 1), "tree %u on %s", cases[i].tree, cases[i].form);
    }
    buf_free(&out);
    et_free(&t);
    remove_folder(dir);
}

TEST(edit_tree_choose_top_k)
{
    const char *dir = make_folder(NTREES, NT, "{\"labels\":[2,4,7,8,9,10]}", 1);
    /* columns: 2 gegooid, 4 über, 7 Straße, 8 X, 9 was, 10 identity */
    static const float scores[6] = {0.5f, 0.9f, 0.1f, 0.7f, 0.3f, 0.2f};
    static const struct { int top_k; const char *form; uint32_t tree; const char *lemma; } cases[] = {
        {1, "\xc3\xbc" "ber", 4, "ueber"}, /* the argmax applies */
        {1, "gegooid", NT, NULL},          /* the argmax (über) does not: no tree */
        {3, "gegooid", 2, "gooien"},       /* über, X, then gegooid */
        {3, "was", NT, NULL},              /* the third likeliest is gegooid's: was's is fourth */
        {4, "was", 9, "be"},
        {6, "abc", 10, "abc"},
        /* top_k beyond spaCy's guardrail: all in descending order, the identity (0.2) before Straße's (0.1) */
        {25, "Stra\xc3\x9f" "e", 10, "Stra\xc3\x9f" "e"},
        {25, "X", 8, "x"},
    };
    float scratch[6];
    buf lemma = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        edit_trees t;
        char err[256];
        CHECKF(load(&t, dir, cases[i].top_k, err, sizeof err) == NERD_OK, "%s", err);
        uint32_t tree;
        buf_clear(&lemma);
        CHECK(et_choose(&t, scores, scratch, cases[i].form, strlen(cases[i].form), &lemma, &tree) == 0);
        CHECKF(tree == cases[i].tree, "top_k %d on %s: tree %u", cases[i].top_k, cases[i].form, tree);
        CHECK_EQ_INT(lemma.len, cases[i].lemma ? strlen(cases[i].lemma) : 0);
        if (cases[i].lemma) CHECK(!memcmp(lemma.ptr, cases[i].lemma, lemma.len));
        et_free(&t);
    }
    buf_free(&lemma);
    remove_folder(dir);
}

TEST(edit_tree_refuses_corrupt_folders)
{
    edit_trees t;
    char err[256];
    /* a subtree that is not older than its node (here: itself) would recurse without end */
    const char *dir = make_folder(NTREES, NTREES - 1, "{\"labels\":[2]}", 1);
    CHECK_EQ_INT(load(&t, dir, 1, err, sizeof err), NERD_ERR_FORMAT);
    CHECKF(strstr(err, "/trees") && strstr(err, "edit trees"), "%s", err);
    remove_folder(dir);
    dir = make_folder(NTREES, NT, "{\"labels\":[2,11]}", 1); /* label 11: no such tree */
    CHECK_EQ_INT(load(&t, dir, 1, err, sizeof err), NERD_ERR_FORMAT);
    CHECKF(strstr(err, "/cfg") && strstr(err, "label 1 "), "%s", err);
    remove_folder(dir);
    dir = make_folder(NTREES, NT, "{\"labels\":[2]}", 0); /* "ss" missing from the strings */
    CHECK_EQ_INT(load(&t, dir, 1, err, sizeof err), NERD_ERR_FORMAT);
    CHECKF(strstr(err, "strings.json") && strstr(err, "missing"), "%s", err);
    remove_folder(dir);
}
