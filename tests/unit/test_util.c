/* test_util.c - util.c: the FNV-1a hash against published test vectors, and safe text. */
#include <glib.h>

#include "testlib.h"
#include "util.h"

static void
test_fnv1a(void)
{
	/* FNV-1a 32-bit test vectors (draft-eastlake-fnv, section 6.1 and the reference code). */
	CHECK_EQ_U(util_fnv1a("", 0), 0x811c9dc5u);
	CHECK_EQ_U(util_fnv1a("a", 1), 0xe40c292cu);
	CHECK_EQ_U(util_fnv1a("foobar", 6), 0xbf9cf968u);
	/* Every byte counts, NUL included. */
	CHECK(util_fnv1a("ab\0", 3) != util_fnv1a("ab", 2));
}

static void
test_printable(void)
{
	GString *s = g_string_new(NULL);

	util_append_printable(s, "+OK\r\n\x01\xff", 7);
	CHECK_STR(s->str, "+OK<cr><nl><0x01><0xff>");
	g_string_free(s, TRUE);
}

int
main(void)
{
	test_fnv1a();
	test_printable();
	return tl_done();
}
