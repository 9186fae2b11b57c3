/* cursor.h - the one bounded reader for untrusted packet bytes. */
#ifndef CURSOR_H
#define CURSOR_H

#include <stddef.h>
#include <stdint.h>

/*
 * A cursor never reads past len.  Any short read sets the sticky flag
 * bad and returns 0, so a header can be read field by field and checked
 * once at the end (tcpdump's checked fetches, without longjmp).
 */
struct cursor {
	const uint8_t *buf;
	size_t len;
	size_t off;
	int bad;
};

void cur_init(struct cursor *c, const uint8_t *buf, size_t len);
uint8_t cur_u8(struct cursor *c);
uint16_t cur_be16(struct cursor *c);
uint32_t cur_be32(struct cursor *c);
uint32_t cur_le32(struct cursor *c);
/* Copies n bytes into out (zero-filled and bad set if short). */
void cur_bytes(struct cursor *c, uint8_t *out, size_t n);
void cur_skip(struct cursor *c, size_t n);
size_t cur_left(const struct cursor *c);
/* Pointer to the unread bytes; valid for cur_left() bytes. */
const uint8_t *cur_ptr(const struct cursor *c);
/* Shrinks the readable length to at most n bytes past the current offset. */
void cur_limit(struct cursor *c, size_t n);

#endif
