/* french_tables.c - small tables of FrenchLemmatizer's rule mode for the tests (french_tables.h). */
#include "lemma/french_tables.h"

#include <string.h>

#include "text/hash.h"

void lemma_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

void lemma_pack_key(msgpack_packer *pk, const char *name) { msgpack_pack_uint64(pk, nerd_string_hash(name, strlen(name))); }

/* Packs a map of string -> [strings] entries, each row {key, value..., NULL}. */
static void pack_str_lists(msgpack_packer *pk, const char *const (*rows)[4], size_t n)
{
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < n; i++) {
        size_t len = 1;
        while (len < 4 && rows[i][len]) len++;
        lemma_pack_str(pk, rows[i][0]);
        msgpack_pack_array(pk, len - 1);
        for (size_t j = 1; j < len; j++) lemma_pack_str(pk, rows[i][j]);
    }
}

void pack_french_tables(msgpack_packer *pk, int without_lookup)
{
    msgpack_pack_map(pk, without_lookup ? 3 : 4);
    lemma_pack_str(pk, "lemma_index");
    msgpack_pack_map(pk, 2);
    lemma_pack_key(pk, "noun");
    msgpack_pack_array(pk, 2);
    lemma_pack_str(pk, "chat");
    lemma_pack_str(pk, "cheval");
    lemma_pack_key(pk, "verb");
    msgpack_pack_array(pk, 2);
    lemma_pack_str(pk, "aimer");
    lemma_pack_str(pk, "batre");

    lemma_pack_str(pk, "lemma_exc");
    msgpack_pack_map(pk, 3);
    static const char *const noun_exc[][4] = {{"yeux", "œil"}, {"vides"}};
    static const char *const aux_exc[][4] = {{"est", "être"}};
    static const char *const verb_exc[][4] = {{"fut", "être", "aller"}};
    lemma_pack_key(pk, "noun");
    pack_str_lists(pk, noun_exc, 2);
    msgpack_pack_uint64(pk, 405); /* "aux" is one of spaCy's symbols: its key is the symbol's ID */
    pack_str_lists(pk, aux_exc, 1);
    lemma_pack_key(pk, "verb");
    pack_str_lists(pk, verb_exc, 1);

    lemma_pack_str(pk, "lemma_rules");
    msgpack_pack_map(pk, 3);
    static const char *const noun_rules[][2] = {{"aux", "al"}, {"s", ""}, {"x", ""}};
    static const char *const verb_rules[][2] = {{"ait", "er"}, {"ait", "re"}, {"é", "er"}};
    static const char *const adj_rules[][2] = {{"e", ""}, {"s", "-s"}};
    static const struct {
        const char *pos;
        const char *const (*rules)[2];
    } rule_sets[] = {{"noun", noun_rules}, {"verb", verb_rules}, {"adj", adj_rules}};
    for (size_t k = 0; k < 3; k++) {
        size_t n = k == 2 ? 2 : 3;
        lemma_pack_key(pk, rule_sets[k].pos);
        msgpack_pack_array(pk, n);
        for (size_t i = 0; i < n; i++) {
            msgpack_pack_array(pk, 2);
            lemma_pack_str(pk, rule_sets[k].rules[i][0]);
            lemma_pack_str(pk, rule_sets[k].rules[i][1]);
        }
    }
    if (without_lookup) return;
    lemma_pack_str(pk, "lemma_lookup");
    msgpack_pack_map(pk, 5);
    static const char *const lookup[][2] = {{"Rome", "Roma"}, {"zorglub", "zorg"}, {"3e", "troisième"}};
    for (size_t i = 0; i < 3; i++) {
        lemma_pack_key(pk, lookup[i][0]); /* a form's key: its StringStore hash, as a POS name's */
        msgpack_pack_array(pk, 1);
        lemma_pack_str(pk, lookup[i][1]);
    }
    msgpack_pack_uint64(pk, 405); /* the form "aux": the symbol's ID again */
    msgpack_pack_array(pk, 1);
    lemma_pack_str(pk, "à le");
    lemma_pack_key(pk, "!!");
    lemma_pack_str(pk, "exclam");
}

