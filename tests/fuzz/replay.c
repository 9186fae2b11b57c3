/*
 * replay.c - runs files through a fuzz target without libFuzzer: every file
 * named, and every file in a directory named, once, in name order.  make
 * test builds each target with it so corpora and past crashes stay replayed.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "fuzz.h"

/* Targets that need no set-up leave it out. */
__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int
replay_file(const char *path, unsigned long *count)
{
	gchar *data = NULL;
	gsize len = 0;
	GError *err = NULL;

	if (!g_file_get_contents(path, &data, &len, &err)) {
		fprintf(stderr, "replay: %s: %s\n", path, err->message);
		g_error_free(err);
		return -1;
	}
	if (getenv("FUZZ_REPLAY_VERBOSE") != NULL)
		fprintf(stderr, "replay: %s\n", path);
	/* A copy of exactly len bytes, so reading past the input is caught under ASan. */
	uint8_t *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data, len);
	g_free(data);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	(*count)++;
	return 0;
}

static int
cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
replay_path(const char *path, unsigned long *count)
{
	struct stat st;
	GDir *dir;
	const char *name;
	GPtrArray *names;
	guint i;
	int rc = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: not found\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path, count);
	dir = g_dir_open(path, 0, NULL);
	if (dir == NULL)
		return -1;
	names = g_ptr_array_new_with_free_func(g_free);
	while ((name = g_dir_read_name(dir)) != NULL)
		if (name[0] != '.' && strcmp(name, "README.md") != 0)
			g_ptr_array_add(names, g_build_filename(path, name, NULL));
	g_dir_close(dir);
	g_ptr_array_sort(names, cmp_str);
	for (i = 0; i < names->len; i++) {
		const char *p = g_ptr_array_index(names, i);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && replay_file(p, count) < 0)
			rc = -1;
	}
	g_ptr_array_free(names, TRUE);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned long count = 0;
	int i, rc = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) < 0)
			rc = 1;
	printf("%lu inputs replayed\n", count);
	return rc;
}
