/* fuzz_model_load.c - libFuzzer target for the model loader on mutated model files. The
 * first byte picks the file, the rest is its content, written to a scratch model folder:
 *   0 config.cfg          through nerd_model_load (its tokenizer is empty, so the load
 *                         stops right after the config checks and must fail cleanly)
 *   1 tokenizer           tokenizer_load, then tokenizing a few texts with what it loaded
 *   2 vocab/lookups.bin   lex_norms_load, then lookups
 *   3 ner/model           tw_load, then binding the tok2vec and parser layers
 *   4 ner/moves           biluo_load, then naming every class
 * Every failure must come back as an error message; nothing may crash or leak.
 * NERD_FUZZ_WRITE_SEEDS=DIR writes seeds made from the real model (with ner/model's arrays
 * shrunk to a few floats) into DIR and exits: model files never go into the repository. */
#include "nerd.h"
#include "transition/biluo.h"
#include "text/lexeme.h"
#include "nn/parser_net.h"
#include "modelfile/thinc_weights.h"
#include "nn/tok2vec_net.h"
#include "text/tokenizer.h"

#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ASSERT(c) do { if (!(c)) { fprintf(stderr, "ASSERT(%s) at line %d\n", #c, __LINE__); __builtin_trap(); } } while (0)

static const char *model_dir;
static char scratch[256];

static const char *const kinds[] = {"config.cfg", "tokenizer", "vocab/lookups.bin", "ner/model", "ner/moves"};
enum { NKINDS = 5 };

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc(n > 0 ? (size_t)n : 1);
    *len = b && n > 0 ? fread(b, 1, (size_t)n, f) : 0;
    fclose(f);
    return b;
}

static void write_file(const char *path, const void *a, size_t alen, const void *b, size_t blen)
{
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); exit(1); }
    if ((alen && fwrite(a, 1, alen, f) != alen) || (blen && fwrite(b, 1, blen, f) != blen)) { perror(path); exit(1); }
    fclose(f);
}

static int key_is(const msgpack_object *k, const char *s)
{
    size_t n = strlen(s);
    return (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && !memcmp(k->via.str.ptr, s, n)) ||
           (k->type == MSGPACK_OBJECT_BIN && k->via.bin.size == n && !memcmp(k->via.bin.ptr, s, n));
}

/* Re-packs o with every numpy array {type, shape, data} cut to at most 2 per dimension. */
static void pack_shrunk(msgpack_packer *pk, const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        msgpack_pack_array(pk, o->via.array.size);
        for (uint32_t i = 0; i < o->via.array.size; i++) pack_shrunk(pk, &o->via.array.ptr[i]);
        return;
    }
    if (o->type != MSGPACK_OBJECT_MAP) { msgpack_pack_object(pk, *o); return; }
    const msgpack_object *shape = NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++)
        if (key_is(&o->via.map.ptr[i].key, "shape") && o->via.map.ptr[i].val.type == MSGPACK_OBJECT_ARRAY)
            shape = &o->via.map.ptr[i].val;
    size_t floats = 1;
    if (shape)
        for (uint32_t d = 0; d < shape->via.array.size; d++)
            floats *= shape->via.array.ptr[d].via.u64 < 2 ? shape->via.array.ptr[d].via.u64 : 2;
    msgpack_pack_map(pk, o->via.map.size);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        msgpack_pack_object(pk, *k);
        if (shape && v == shape) {
            msgpack_pack_array(pk, shape->via.array.size);
            for (uint32_t d = 0; d < shape->via.array.size; d++)
                msgpack_pack_uint64(pk, shape->via.array.ptr[d].via.u64 < 2 ? shape->via.array.ptr[d].via.u64 : 2);
        } else if (shape && key_is(k, "data")) {
            float zero[64] = {0};
            msgpack_pack_bin(pk, floats * 4);
            msgpack_pack_bin_body(pk, zero, floats * 4);
        } else {
            pack_shrunk(pk, v);
        }
    }
}

static void write_seeds(const char *out)
{
    char path[4096], dst[4096];
    for (int k = 0; k < NKINDS; k++) {
        snprintf(path, sizeof path, "%s/%s", model_dir, kinds[k]);
        size_t len;
        char *data = slurp(path, &len);
        if (!data) { fprintf(stderr, "cannot read %s\n", path); exit(1); }
        uint8_t sel = (uint8_t)k;
        snprintf(dst, sizeof dst, "%s/seed_%d", out, k);
        if (k == 3) { /* 6 MB of weights: keep the structure, shrink the arrays */
            msgpack_unpacked up;
            msgpack_unpacked_init(&up);
            size_t off = 0;
            if (msgpack_unpack_next(&up, data, len, &off) != MSGPACK_UNPACK_SUCCESS) { fprintf(stderr, "%s\n", path); exit(1); }
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            msgpack_packer pk;
            msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
            pack_shrunk(&pk, &up.data);
            write_file(dst, &sel, 1, sb.data, sb.size);
            msgpack_sbuffer_destroy(&sb);
            msgpack_unpacked_destroy(&up);
        } else {
            write_file(dst, &sel, 1, data, len);
        }
        free(data);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    model_dir = getenv("NERD_MODEL");
    if (!model_dir || !*model_dir) model_dir = "../shared/models/en_core_web_sm";
    const char *seeds = getenv("NERD_FUZZ_WRITE_SEEDS");
    if (seeds && *seeds) { write_seeds(seeds); exit(0); }
    /* the scratch folder for kind 0: the real meta.json, an empty tokenizer */
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/nerd-fuzz-model-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    mkdir(scratch, 0700);
    char p[4096], real[4096];
    snprintf(p, sizeof p, "%s/meta.json", scratch);
    snprintf(real, sizeof real, "%s/meta.json", model_dir);
    unlink(p);
    if (symlink(real, p)) { perror(p); exit(1); }
    snprintf(p, sizeof p, "%s/tokenizer", scratch);
    write_file(p, "", 0, "", 0);
    return 0;
}

static const char *const texts[] = {"Angela Merkel visited Paris on 3 May 2021.", "can't U.K. e-mail :-) 10km",
                                    "  \n\t Zürich (東京) 😀 naïve", ""};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int kind = data[0] % NKINDS;
    char path[512], err[512] = "";
    snprintf(path, sizeof path, "%s/fuzz-input", scratch);
    if (kind == 0) snprintf(path, sizeof path, "%s/config.cfg", scratch);
    write_file(path, data + 1, size - 1, "", 0);
    switch (kind) {
    case 0: {
        nerd_status st;
        nerd_model *m = nerd_model_load(scratch, &st, err, sizeof err);
        ASSERT(!m && st != NERD_OK && err[0]);
        break;
    }
    case 1: {
        tokenizer *t;
        nerd_status st = tokenizer_load(path, &t, err, sizeof err);
        ASSERT((st == NERD_OK) == (t != NULL) && (t || err[0]));
        if (!t) break;
        tok_scratch ts = {0};
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) ASSERT(tokenizer_run(t, texts[i], strlen(texts[i]), &ts) == 0);
        tok_scratch_free(&ts);
        tokenizer_free(t);
        break;
    }
    case 2: {
        lex_norms n = {0};
        if (lex_norms_load(&n, path, err, sizeof err)) { ASSERT(err[0]); lex_norms_free(&n); break; }
        size_t nl;
        lex_norms_get(&n, "gonna", 5, &nl);
        lex_norms_get(&n, "", 0, &nl);
        lex_norms_free(&n);
        break;
    }
    case 3: {
        thinc_model tm;
        if (tw_load(path, &tm, err, sizeof err)) { ASSERT(err[0]); break; }
        t2v_net t2v;
        parser_net pn;
        if (!t2v_bind(&t2v, &tm, 4, 96, 4, 1, 3, err, sizeof err)) parser_net_bind(&pn, &tm, 96, err, sizeof err);
        for (int i = 0; i < tm.nnodes; i++) {
            int64_t v;
            tw_attr_int(&tm, i, "seed", &v);
            tw_param_of(&tm, i, "W");
        }
        tw_free(&tm);
        break;
    }
    case 4: {
        biluo_moves mv = {0};
        if (biluo_load(&mv, path, err, sizeof err)) { ASSERT(err[0]); break; }
        char name[64];
        for (int c = 0; c < mv.nclasses; c++) ASSERT(biluo_class_name(&mv, c, name, sizeof name));
        biluo_free(&mv);
        break;
    }
    }
    return 0;
}
