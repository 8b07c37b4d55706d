/* french_tables.h - small tables of FrenchLemmatizer's rule mode for the tests (test_lemmatizer.c
 * checks spaCy 3.8.7's answers over them, test_alloc_fail.c fails their loading's allocations). */
#ifndef NERD_TEST_FRENCH_TABLES_H
#define NERD_TEST_FRENCH_TABLES_H

#include <msgpack.h>

/* Packs a lookups.bin of the four tables FrenchLemmatizer's rule mode requires, small: index noun
 * [chat cheval], verb [aimer batre]; exceptions noun {yeux: [œil], vides: []}, aux {est: [être]},
 * verb {fut: [être aller]}; rules noun [aux al] [s ""] [x ""], verb [ait er] [ait re] [é er], adj
 * [e ""] [s -s]; lookup Rome [Roma], zorglub [zorg], aux [à le], 3e [troisième] and !! "exclam" (a
 * string, not a list). without_lookup drops lemma_lookup (the load must refuse that). */
void pack_french_tables(msgpack_packer *pk, int without_lookup);

/* A msgpack string; a table key: the StringStore hash of a POS name or a form (a symbol's ID for
 * spaCy's reserved symbols). */
void lemma_pack_str(msgpack_packer *pk, const char *s);
void lemma_pack_key(msgpack_packer *pk, const char *name);

#endif
