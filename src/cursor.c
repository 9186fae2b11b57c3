/* cursor.c - the only place that does offset arithmetic on packet bytes. */
#include <string.h>

#include "cursor.h"

void
cur_init(struct cursor *c, const uint8_t *buf, size_t len)
{
	c->buf = buf;
	c->len = buf == NULL ? 0 : len;
	c->off = 0;
	c->bad = 0;
}

size_t
cur_left(const struct cursor *c)
{
	/* off never exceeds len: every advance below is checked first. */
	return c->len - c->off;
}

/* Compare lengths, never pointers: pointer overflow checks can be optimised away. */
static int
cur_have(struct cursor *c, size_t n)
{
	if (c->bad || n > cur_left(c)) {
		c->bad = 1;
		return 0;
	}
	return 1;
}

uint8_t
cur_u8(struct cursor *c)
{
	if (!cur_have(c, 1))
		return 0;
	return c->buf[c->off++];
}

uint16_t
cur_be16(struct cursor *c)
{
	const uint8_t *p;

	if (!cur_have(c, 2))
		return 0;
	p = c->buf + c->off;
	c->off += 2;
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t
cur_be32(struct cursor *c)
{
	const uint8_t *p;

	if (!cur_have(c, 4))
		return 0;
	p = c->buf + c->off;
	c->off += 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint32_t
cur_le32(struct cursor *c)
{
	const uint8_t *p;

	if (!cur_have(c, 4))
		return 0;
	p = c->buf + c->off;
	c->off += 4;
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

void
cur_bytes(struct cursor *c, uint8_t *out, size_t n)
{
	if (!cur_have(c, n)) {
		memset(out, 0, n);
		return;
	}
	memcpy(out, c->buf + c->off, n);
	c->off += n;
}

void
cur_skip(struct cursor *c, size_t n)
{
	if (cur_have(c, n))
		c->off += n;
}

const uint8_t *
cur_ptr(const struct cursor *c)
{
	/* No bytes (NULL, 0): NULL + 0 is undefined behaviour in C, so no arithmetic. */
	return c->buf != NULL ? c->buf + c->off : NULL;
}

void
cur_limit(struct cursor *c, size_t n)
{
	if (n < cur_left(c))
		c->len = c->off + n;
}
