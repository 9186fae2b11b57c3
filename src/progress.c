/* progress.c - "popflow: 412 of 1000 MB (41%), 180 MB/s, 5809 sessions, 0:03 left" on a terminal. */
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "progress.h"

/* Calls between looks at the clock. */
#define PROGRESS_EVERY 256

struct progress {
	FILE *f;
	uint64_t total;
	int64_t start_ms, last_ms;
	unsigned calls;
	size_t shown; /* characters on the line now (0: nothing shown) */
};

static int64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

struct progress *
progress_new(FILE *f, uint64_t total)
{
	struct progress *p;

	if (total == 0 || !isatty(fileno(f)))
		return NULL;
	p = g_new0(struct progress, 1);
	p->f = f;
	p->total = total;
	p->start_ms = now_ms();
	return p;
}

void
progress_update(struct progress *p, uint64_t done, uint64_t sessions)
{
	int64_t t, el;
	double mb, rate;
	uint64_t left;
	char line[160];
	int n;

	if (p == NULL || ++p->calls % PROGRESS_EVERY != 0)
		return;
	t = now_ms();
	el = t - p->start_ms;
	if (el < PROGRESS_FIRST_MS || (p->shown > 0 && t - p->last_ms < PROGRESS_REDRAW_MS))
		return;
	p->last_ms = t;
	if (done > p->total)
		done = p->total;
	mb = (double)done / 1e6;
	rate = mb / ((double)el / 1000.0);
	left = rate > 0 ? (uint64_t)((double)(p->total - done) / 1e6 / rate + 0.5) : 0;
	n = snprintf(line, sizeof(line),
	    "popflow: %.0f of %.0f MB (%u%%), %.0f MB/s, %llu session%s, %llu:%02llu left", mb,
	    (double)p->total / 1e6, (unsigned)(done * 100 / p->total), rate,
	    (unsigned long long)sessions, sessions == 1 ? "" : "s", (unsigned long long)(left / 60),
	    (unsigned long long)(left % 60));
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	/* Carriage return, the line, and erase to its end (ECMA-48 EL). */
	fprintf(p->f, "\r%s\033[K", line);
	fflush(p->f);
	p->shown = (size_t)n;
}

void
progress_clear(struct progress *p)
{
	if (p == NULL || p->shown == 0)
		return;
	fputs("\r\033[K", p->f);
	fflush(p->f);
	p->shown = 0;
}

void
progress_free(struct progress *p)
{
	progress_clear(p);
	g_free(p);
}
