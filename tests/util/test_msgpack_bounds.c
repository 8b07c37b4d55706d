/* mp_plausible: whole objects with counts that fit pass; truncated ones, impossible counts
 * and the never-used byte 0xc1 do not. */
#include "test.h"
#include "util/msgpack_bounds.h"

#define OK(...) do { static const unsigned char b_[] = {__VA_ARGS__}; CHECKF(mp_plausible(b_, sizeof b_), "refused: %s", #__VA_ARGS__); } while (0)
#define BAD(...) do { static const unsigned char b_[] = {__VA_ARGS__}; CHECKF(!mp_plausible(b_, sizeof b_), "accepted: %s", #__VA_ARGS__); } while (0)

TEST(msgpack_bounds_accepts_whole_objects_and_refuses_impossible_counts)
{
    OK(0x00); OK(0xff); OK(0xc0); OK(0xc3); OK(0x90); OK(0x80);
    OK(0x92, 0x01, 0xa1, 'x');                                 /* [1, "x"] */
    OK(0x81, 0xa1, 'k', 0x91, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0);   /* {"k": [1.0]} */
    OK(0xdc, 0x00, 0x02, 0xc2, 0xc3);                          /* array16 of two */
    OK(0xc4, 0x03, 1, 2, 3);                                   /* bin8 */
    OK(0xc7, 0x02, 0x05, 1, 2);                                /* ext8: type byte, then 2 bytes */
    OK(0xd5, 0x01, 1, 2);                                      /* fixext2 */
    OK(0x91, 0x01, 0xff, 0xff);                                /* trailing bytes after one object are fine */
    BAD(0xc1);
    BAD(0x92, 0x01);                                           /* one element short */
    BAD(0x81, 0xa1, 'k');                                      /* a key without its value */
    BAD(0xdd, 0xff, 0xff, 0xff, 0xff, 0x00);                   /* array32 of 4 billion */
    BAD(0xdf, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01, 0x01);       /* map32 of 2: 4 elements, 3 bytes */
    BAD(0xdb, 0x7f, 0xff, 0xff, 0xff, 'a');                    /* str32 longer than the data */
    BAD(0xcf, 0x01);                                           /* truncated uint64 */
    BAD(0xdc, 0x00);                                           /* truncated count */
    CHECK(!mp_plausible("", 0));
}
