/* cursor.h - the one bounded reader for untrusted packet bytes. */
#ifndef CURSOR_H
#define CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * A cursor never reads past len.  Any short read sets the sticky flag
 * bad and returns 0, so a header can be read field by field and checked
 * once at the end (tcpdump's checked fetches, without longjmp).
 *
 * The functions are inline definitions (C11 6.7.4): every header field
 * read is a few instructions where it is used, not a call.  src/cursor.c
 * holds the external definitions, used wherever the compiler calls them.
 * This is the only place that does offset arithmetic on packet bytes.
 */
struct cursor {
	const uint8_t *buf;
	size_t len;
	size_t off;
	int bad;
};

inline void
cur_init(struct cursor *c, const uint8_t *buf, size_t len)
{
	c->buf = buf;
	c->len = buf == NULL ? 0 : len;
	c->off = 0;
	c->bad = 0;
}

inline size_t
cur_left(const struct cursor *c)
{
	/* off never exceeds len: every advance below is checked first. */
	return c->len - c->off;
}

/* Compare lengths, never pointers: pointer overflow checks can be optimised away. */
inline int
cur_have(struct cursor *c, size_t n)
{
	if (c->bad || n > cur_left(c)) {
		c->bad = 1;
		return 0;
	}
	return 1;
}

inline uint8_t
cur_u8(struct cursor *c)
{
	if (!cur_have(c, 1))
		return 0;
	return c->buf[c->off++];
}

inline uint16_t
cur_be16(struct cursor *c)
{
	const uint8_t *p;

	if (!cur_have(c, 2))
		return 0;
	p = c->buf + c->off;
	c->off += 2;
	return (uint16_t)(p[0] << 8 | p[1]);
}

inline uint32_t
cur_be32(struct cursor *c)
{
	const uint8_t *p;

	if (!cur_have(c, 4))
		return 0;
	p = c->buf + c->off;
	c->off += 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

inline uint32_t
cur_le32(struct cursor *c)
{
	const uint8_t *p;

	if (!cur_have(c, 4))
		return 0;
	p = c->buf + c->off;
	c->off += 4;
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Copies n bytes into out (zero-filled and bad set if short). */
inline void
cur_bytes(struct cursor *c, uint8_t *out, size_t n)
{
	if (!cur_have(c, n)) {
		memset(out, 0, n);
		return;
	}
	memcpy(out, c->buf + c->off, n);
	c->off += n;
}

inline void
cur_skip(struct cursor *c, size_t n)
{
	if (cur_have(c, n))
		c->off += n;
}

/*
 * The next n bytes, checked once: a pointer valid for exactly n bytes,
 * read at constant offsets below n with cur_at_be16()/cur_at_be32(), or
 * NULL (bad set) when fewer are left.  For fixed-size headers: one length
 * check for the header rather than one per field.
 */
inline const uint8_t *
cur_take(struct cursor *c, size_t n)
{
	const uint8_t *p;

	if (!cur_have(c, n))
		return NULL;
	p = c->buf + c->off;
	c->off += n;
	return p;
}

/* Big-endian fields of bytes cur_take() returned. */
inline uint16_t
cur_at_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

inline uint32_t
cur_at_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Pointer to the unread bytes; valid for cur_left() bytes. */
inline const uint8_t *
cur_ptr(const struct cursor *c)
{
	/* No bytes (NULL, 0): NULL + 0 is undefined behaviour in C, so no arithmetic. */
	return c->buf != NULL ? c->buf + c->off : NULL;
}

/* Shrinks the readable length to at most n bytes past the current offset. */
inline void
cur_limit(struct cursor *c, size_t n)
{
	if (n < cur_left(c))
		c->len = c->off + n;
}

#endif
