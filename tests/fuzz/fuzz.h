/* fuzz.h - what the fuzz targets share: the libFuzzer entry points and a byte reader. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The repository, compiled in by the Makefile (templates/ for the diagram formats). */
#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "."
#endif

/* libFuzzer's entry points; replay.c calls the same ones without libFuzzer. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Reads the fuzzer's bytes front to back; past the end every read gives 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t
fuzz_byte(struct fuzz_in *in)
{
	uint8_t b;

	if (in->n == 0)
		return 0;
	b = *in->p++;
	in->n--;
	return b;
}

/* A stream every target writes its output to: /dev/null, opened once. */
static inline FILE *
fuzz_devnull(void)
{
	static FILE *f;

	if (f == NULL)
		f = fopen("/dev/null", "w");
	return f;
}

#endif
