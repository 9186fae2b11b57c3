/* progress.h - a progress line on standard error for long offline runs (a terminal only). */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdint.h>
#include <stdio.h>

struct progress;

/*
 * A progress line for reading a capture of total bytes on f.  NULL (no
 * progress shown, every call below a no-op) unless f is a terminal and the
 * size is known (total > 0).
 */
struct progress *progress_new(FILE *f, uint64_t total);
/*
 * Cheap enough for every frame: looks at the clock every few hundred calls
 * and redraws at most PROGRESS_REDRAW_MS apart, the first time only after
 * PROGRESS_FIRST_MS (short runs show nothing).  done: bytes read so far.
 */
void progress_update(struct progress *p, uint64_t done, uint64_t sessions);
/* Erases the line if it is shown (before other output goes to the terminal). */
void progress_clear(struct progress *p);
/* Erases the line and frees. */
void progress_free(struct progress *p);

#define PROGRESS_FIRST_MS 300
#define PROGRESS_REDRAW_MS 250

#endif
