/* frameid.c - the names of the input files, so a frame identifier can be shown as file and number. */
#include <glib.h>

#include "frameid.h"

/* Process-wide, set once by main before the first frame (like libnids' state). */
static char **frameid_names;
static size_t frameid_nnames;

void
frameid_set_files(const char *const *names, size_t n)
{
	size_t i;

	frameid_reset();
	frameid_names = g_new0(char *, n + 1);
	for (i = 0; i < n; i++)
		frameid_names[i] = g_strdup(names[i]);
	frameid_nnames = n;
}

bool
frameid_several_files(void)
{
	return frameid_nnames > 1;
}

const char *
frameid_file_name(uint64_t id)
{
	size_t f = frameid_file(id);

	if (frameid_nnames < 2 || id == 0 || f >= frameid_nnames)
		return NULL;
	return frameid_names[f];
}

const char *
frameid_capture_name(uint64_t id)
{
	size_t f = frameid_file(id);

	if (id == 0 || f >= frameid_nnames)
		return NULL;
	return frameid_names[f];
}

void
frameid_format(uint64_t id, char *buf, size_t len)
{
	const char *name = frameid_file_name(id);

	if (name != NULL)
		g_snprintf(buf, len, "%s:%" G_GUINT64_FORMAT, name, frameid_number(id));
	else
		g_snprintf(buf, len, "%" G_GUINT64_FORMAT, frameid_number(id));
}

void
frameid_phrase(uint64_t id, char *buf, size_t len)
{
	char f[FRAMEID_PHRASE_LEN];

	frameid_format(id, f, sizeof(f));
	g_snprintf(buf, len, "frame %s", f);
}

void
frameid_reset(void)
{
	g_strfreev(frameid_names);
	frameid_names = NULL;
	frameid_nnames = 0;
}
