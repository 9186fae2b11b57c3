/* test_options.c - the command line into struct options: values, defaults, errors and hints. */
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "options.h"
#include "testlib.h"

/* Parses a NULL-terminated argument list (argv[0] included); returns options_parse()'s result. */
static int
parse(struct options *o, char *errbuf, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	while (args[argc] != NULL && argc < 31) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	return options_parse(o, argc, argv, errbuf);
}

static void
test_defaults(void)
{
	const char *a[] = {"popflow", "-r", "x.pcap", NULL};
	struct options o;
	char err[ERRBUF_SIZE];

	CHECK(parse(&o, err, a) == 0);
	CHECK(o.action == OPTIONS_RUN);
	CHECK_EQ_U(o.nfiles, 1);
	CHECK_STR(o.files[0], "x.pcap");
	CHECK(o.files[1] == NULL);
	CHECK(o.iface == NULL);
	CHECK_STR(o.format, "text");
	CHECK(o.em == &emit_text);
	CHECK(o.filter == NULL);
	CHECK(pipeline_is_port(&o.pc, 110));
	CHECK(!pipeline_is_port(&o.pc, 1110));
	CHECK_EQ_U(o.pc.idle_timeout, 0); /* files: never */
	CHECK(o.lo.promisc);
	CHECK(o.xc.headers);
	options_free(&o);
}

static void
test_values(void)
{
	const char *a[] = {"popflow", "-i", "lo", "-T", "json", "-v", "-v", "--port", "1110",
	    "--max-connections", "4", "-c", "3", "-s", "100", "-p", "-B", "2", "--alias",
	    "10.0.0.1=mx", "--session", "7", "--redact", "tcp", "port", "110", NULL};
	struct options o;
	char err[ERRBUF_SIZE];

	CHECK(parse(&o, err, a) == 0);
	CHECK_STR(o.iface, "lo");
	CHECK(o.em == &emit_json);
	CHECK_EQ_U(o.eo.verbose, 2);
	CHECK(pipeline_is_port(&o.pc, 1110));
	CHECK_EQ_U(o.pc.max_streams, 4); /* libnids follows 3 * 4 / 4 + 1 = 4 */
	CHECK_EQ_U(o.max_sessions, 3);
	CHECK_EQ_U(o.lo.snaplen, 100);
	CHECK(!o.lo.promisc);
	CHECK_EQ_U(o.lo.buffer_size, 2048);
	CHECK_EQ_U(o.eo.naliases, 1);
	CHECK(o.eo.aliases == o.aliases);
	CHECK_STR(o.eo.aliases[0], "10.0.0.1=mx");
	CHECK_EQ_U(o.eo.only_session, 7);
	CHECK(o.pc.pop3.redact);
	CHECK_STR(o.filter, "tcp port 110");
	CHECK_EQ_U(o.pc.idle_timeout, OPTIONS_LIVE_IDLE_TIMEOUT); /* live default */
	options_free(&o);

	const char *b[] = {"popflow", "-i", "lo", "--idle-timeout", "0", NULL};
	CHECK(parse(&o, err, b) == 0);
	CHECK_EQ_U(o.pc.idle_timeout, 0); /* given: kept, even 0 */
	options_free(&o);
}

static void
test_actions(void)
{
	const char *h[] = {"popflow", "-D", "-h", "--bogus", NULL};
	const char *v[] = {"popflow", "--version", NULL};
	const char *d[] = {"popflow", "-D", NULL};
	struct options o;
	char err[ERRBUF_SIZE];

	CHECK(parse(&o, err, h) == 0 && o.action == OPTIONS_HELP); /* -h acts at once */
	options_free(&o);
	CHECK(parse(&o, err, v) == 0 && o.action == OPTIONS_VERSION);
	options_free(&o);
	CHECK(parse(&o, err, d) == 0 && o.action == OPTIONS_LIST); /* needs no -r or -i */
	options_free(&o);
}

static void
test_errors(void)
{
	const char *none[] = {"popflow", NULL};
	const char *both[] = {"popflow", "-r", "x", "-i", "lo", NULL};
	const char *fmt[] = {"popflow", "-r", "x", "-T", "nosuch", NULL};
	const char *port[] = {"popflow", "-r", "x", "--port", "0", NULL};
	const char *width[] = {"popflow", "-r", "x", "--width", "39", NULL};
	struct options o;
	char err[ERRBUF_SIZE];

	CHECK(parse(&o, err, none) == -1);
	CHECK_STR(err, "give exactly one of -r FILE or -i IFACE");
	CHECK(o.hint == OPTIONS_HINT_USAGE);
	options_free(&o);
	CHECK(parse(&o, err, both) == -1 && o.hint == OPTIONS_HINT_USAGE);
	options_free(&o);
	CHECK(parse(&o, err, fmt) == -1);
	CHECK_STR(err, "-T nosuch: unknown format; formats:");
	CHECK(o.hint == OPTIONS_HINT_FORMATS);
	options_free(&o);
	CHECK(parse(&o, err, port) == -1);
	CHECK_STR(err, "--port: '0' is not a port number");
	CHECK(o.hint == OPTIONS_HINT_NONE);
	options_free(&o);
	CHECK(parse(&o, err, width) == -1);
	CHECK_STR(err, "--width: a number of columns from 40 up");
	options_free(&o);
}

/* Several capture files (issue 10 item 7): -r repeated, a quoted glob, the shell's expansion. */
static void
test_files(void)
{
	char *dir = g_dir_make_tmp("popflow-opt-XXXXXX", NULL);
	char *r1 = g_build_filename(dir, "r1.pcap", NULL),
	     *r2 = g_build_filename(dir, "r2.pcap", NULL);
	char *r10 = g_build_filename(dir, "r10.pcap", NULL),
	     *pat = g_build_filename(dir, "r*.pcap", NULL);
	char *none = g_build_filename(dir, "zz*.pcap", NULL),
	     *hard = g_build_filename(dir, "l.pcap", NULL);
	struct options o;
	char err[ERRBUF_SIZE];

	CHECK(dir != NULL);
	g_file_set_contents(r1, "", 0, NULL);
	g_file_set_contents(r2, "", 0, NULL);
	g_file_set_contents(r10, "", 0, NULL);
	CHECK(link(r2, hard) == 0);

	const char *rep[] = {"popflow", "-r", r2, "-T", "json", "-r", r1, NULL};
	CHECK(parse(&o, err, rep) == 0);
	CHECK_EQ_U(o.nfiles, 2); /* in the order given: capture.c merges by time */
	CHECK_STR(o.files[0], r2);
	CHECK_STR(o.files[1], r1);
	CHECK(o.filter == NULL);
	options_free(&o);

	const char *glob[] = {"popflow", "-r", pat, "port", "110", NULL};
	CHECK(parse(&o, err, glob) == 0);
	CHECK_EQ_U(o.nfiles, 3); /* glob(3)'s order */
	CHECK_STR(o.files[0], r1);
	CHECK_STR(o.files[1], r10);
	CHECK_STR(o.files[2], r2);
	CHECK_STR(o.filter, "port 110");
	options_free(&o);

	/* -r r1 r10 r2 port 110, as the shell expands -r r*.pcap: existing files, then the filter. */
	const char *shell[] = {"popflow", "-r", r1, r10, r2, "port", "110", "-T", "json", NULL};
	CHECK(parse(&o, err, shell) == 0);
	CHECK_EQ_U(o.nfiles, 3);
	CHECK_STR(o.files[2], r2);
	CHECK_STR(o.filter, "port 110");
	CHECK(o.em == &emit_json);
	options_free(&o);

	/* Only right after -r's files: after another option, or after "--", a word is the filter. */
	const char *after[] = {"popflow", "-r", r1, "-v", r2, NULL};
	CHECK(parse(&o, err, after) == 0);
	CHECK_EQ_U(o.nfiles, 1);
	CHECK_STR(o.filter, r2);
	options_free(&o);
	const char *dashes[] = {"popflow", "-r", r1, "--", r2, NULL};
	CHECK(parse(&o, err, dashes) == 0);
	CHECK_EQ_U(o.nfiles, 1);
	CHECK_STR(o.filter, r2);
	options_free(&o);
	/* A word that names no file starts the filter, and everything after it is the filter. */
	const char *nofile[] = {"popflow", "-r", r1, "tcp", r2, NULL};
	CHECK(parse(&o, err, nofile) == 0);
	CHECK_EQ_U(o.nfiles, 1);
	CHECK(g_str_has_prefix(o.filter, "tcp "));
	options_free(&o);

	const char *stdin_too[] = {"popflow", "-r", "-", "-r", r1, NULL};
	CHECK(parse(&o, err, stdin_too) == -1);
	CHECK(g_str_has_prefix(err, "-r -: standard input cannot be read together with other"));
	CHECK(o.hint == OPTIONS_HINT_NONE); /* exit status 1 */
	options_free(&o);
	const char *twice[] = {"popflow", "-r", r1, "-r", r1, NULL};
	CHECK(parse(&o, err, twice) == -1);
	CHECK(strstr(err, "given twice") != NULL);
	options_free(&o);
	const char *linked[] = {"popflow", "-r", r2, hard, NULL};
	CHECK(parse(&o, err, linked) == -1);
	CHECK(strstr(err, "the same file as") != NULL);
	options_free(&o);
	const char *nomatch[] = {"popflow", "-r", none, NULL};
	CHECK(parse(&o, err, nomatch) == -1);
	CHECK(strstr(err, "no file matches the pattern") != NULL);
	CHECK(o.hint == OPTIONS_HINT_INPUT); /* exit status 2, as a missing file */
	options_free(&o);

	g_remove(r1);
	g_remove(r2);
	g_remove(r10);
	g_remove(hard);
	g_rmdir(dir);
	g_free(r1);
	g_free(r2);
	g_free(r10);
	g_free(pat);
	g_free(none);
	g_free(hard);
	g_free(dir);
}

int
main(void)
{
	test_defaults();
	test_values();
	test_actions();
	test_errors();
	test_files();
	return tl_done();
}
