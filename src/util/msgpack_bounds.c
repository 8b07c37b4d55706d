#include "util/msgpack_bounds.h"

#include <stdint.h>

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* No stack needed: msgpack is a prefix code, so the elements still owed by every open
 * container add up to one count, and each of them needs at least one more byte. */
int mp_plausible(const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t at = 0;
    uint64_t owed = 1;
    while (owed) {
        if (at >= len) return 0;
        uint8_t b = p[at++];
        owed--;
        uint64_t payload = 0, children = 0;
        int lenbytes = 0, extra = 0;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        } else if (b <= 0x8f) children = 2u * (b & 0x0f);
        else if (b <= 0x9f) children = b & 0x0f;
        else if (b <= 0xbf) payload = b & 0x1f;
        else if (b == 0xc1) return 0;
        else if (b >= 0xc4 && b <= 0xc6) lenbytes = 1 << (b - 0xc4);           /* bin 8/16/32 */
        else if (b >= 0xc7 && b <= 0xc9) { lenbytes = 1 << (b - 0xc7); extra = 1; } /* ext */
        else if (b == 0xca) payload = 4;
        else if (b == 0xcb) payload = 8;
        else if (b >= 0xcc && b <= 0xcf) payload = 1u << (b - 0xcc);           /* uint */
        else if (b >= 0xd0 && b <= 0xd3) payload = 1u << (b - 0xd0);           /* int */
        else if (b >= 0xd4 && b <= 0xd8) payload = 1 + (1u << (b - 0xd4));     /* fixext */
        else if (b >= 0xd9 && b <= 0xdb) lenbytes = 1 << (b - 0xd9);           /* str 8/16/32 */
        else if (b == 0xdc || b == 0xdd) {                                     /* array 16/32 */
            int n = b == 0xdc ? 2 : 4;
            if (len - at < (size_t)n) return 0;
            children = be(p + at, n);
            at += (size_t)n;
        } else {                                                               /* map 16/32 */
            int n = b == 0xde ? 2 : 4;
            if (len - at < (size_t)n) return 0;
            children = 2 * be(p + at, n);
            at += (size_t)n;
        }
        if (lenbytes) {
            if (len - at < (size_t)lenbytes) return 0;
            payload = be(p + at, lenbytes) + (uint64_t)extra;
            at += (size_t)lenbytes;
        }
        if (payload > len - at) return 0;
        at += payload;
        owed += children;
        if (owed > len - at) return 0;
    }
    return 1;
}

msgpack_unpack_return mp_unpack_next(msgpack_unpacked *up, const char *data, size_t len, size_t *off)
{
    if (*off > len || !mp_plausible(data + *off, len - *off)) return MSGPACK_UNPACK_PARSE_ERROR;
    return msgpack_unpack_next(up, data, len, off);
}
