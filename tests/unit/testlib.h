/* testlib.h - a small unit-test harness: CHECK macros that report file:line, and the closing "N passed, N failed". */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <stdio.h>
#include <string.h>

static int tl_pass, tl_fail;

#define CHECK(expr)                                                                                \
	do {                                                                                       \
		if (expr) {                                                                        \
			tl_pass++;                                                                 \
		} else {                                                                           \
			tl_fail++;                                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);   \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_U(a, b)                                                                           \
	do {                                                                                       \
		unsigned long long tl_a = (unsigned long long)(a), tl_b = (unsigned long long)(b); \
		if (tl_a == tl_b) {                                                                \
			tl_pass++;                                                                 \
		} else {                                                                           \
			tl_fail++;                                                                 \
			fprintf(stderr, "%s:%d: %s == %llu, expected %s == %llu\n", __FILE__,      \
			    __LINE__, #a, tl_a, #b, tl_b);                                         \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *tl_a = (a), *tl_b = (b);                                               \
		if (tl_a != NULL && tl_b != NULL && strcmp(tl_a, tl_b) == 0) {                     \
			tl_pass++;                                                                 \
		} else {                                                                           \
			tl_fail++;                                                                 \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,        \
			    __LINE__, #a, tl_a ? tl_a : "(null)", tl_b ? tl_b : "(null)");         \
		}                                                                                  \
	} while (0)

static inline int
tl_done(void)
{
	printf("%d passed, %d failed\n", tl_pass, tl_fail);
	return tl_fail == 0 ? 0 : 1;
}

#endif
