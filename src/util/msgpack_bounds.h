/* msgpack_bounds.h - msgpack-c's unpacker allocates an array's or map's objects from the count
 * in its header, before it has seen a single element: a 20-byte corrupt model file that claims
 * four billion elements asks for 64 GB. mp_unpack_next first walks the bytes and refuses any
 * container whose count exceeds the bytes left (every element takes at least one). */
#ifndef NERD_MSGPACK_BOUNDS_H
#define NERD_MSGPACK_BOUNDS_H

#include <msgpack.h>
#include <stddef.h>

/* 1 if data[0..len) starts with one whole msgpack object whose counts fit in the bytes. */
int mp_plausible(const void *data, size_t len);
/* msgpack_unpack_next from *off, after mp_plausible; MSGPACK_UNPACK_PARSE_ERROR if implausible. */
msgpack_unpack_return mp_unpack_next(msgpack_unpacked *up, const char *data, size_t len, size_t *off);

#endif
