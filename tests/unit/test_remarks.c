/* test_remarks.c - remark templates: the shipped set loads, placeholders fill, bad templates are named by file and line. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "popflow.h"
#include "remarks.h"
#include "testlib.h"

/* The shipped templates, relative to the repository root (where make runs the tests). */
#define TMPL_DIR "templates"

static const char *const files[] = {"diagram.tmpl", "tcp.tmpl", "pop3.tmpl"};

/* A copy of the shipped directory in which file `which` gets `edit` applied. */
static char *
copy_dir(const char *which, const char *from, const char *to, bool drop_file)
{
	char *dir = g_dir_make_tmp("popflow-tmpl-XXXXXX", NULL);
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(files); i++) {
		char *src = g_build_filename(TMPL_DIR, files[i], NULL);
		char *dst = g_build_filename(dir, files[i], NULL);
		char *data = NULL;
		gsize len;

		if (g_file_get_contents(src, &data, &len, NULL)) {
			if (which != NULL && strcmp(which, files[i]) == 0) {
				if (drop_file) {
					g_free(data);
					g_free(src);
					g_free(dst);
					continue;
				}
				if (from != NULL) {
					char *at = strstr(data, from);
					if (at != NULL) {
						GString *s = g_string_new_len(data, at - data);
						g_string_append(s, to);
						g_string_append(s, at + strlen(from));
						g_free(data);
						data = g_string_free(s, FALSE);
					}
				} else {
					char *s = g_strconcat(data, to, NULL);
					g_free(data);
					data = s;
				}
			}
			g_file_set_contents(dst, data, -1, NULL);
		}
		g_free(data);
		g_free(src);
		g_free(dst);
	}
	return dir;
}

static void
remove_dir(char *dir)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(files); i++) {
		char *p = g_build_filename(dir, files[i], NULL);
		g_unlink(p);
		g_free(p);
	}
	g_rmdir(dir);
	g_free(dir);
}

/* Loads a modified copy; returns the error text ("" if it loaded). */
static char *
load_error(const char *which, const char *from, const char *to, bool drop_file)
{
	char errbuf[ERRBUF_SIZE] = "";
	char *dir = copy_dir(which, from, to, drop_file);
	struct remarks *r = remarks_load(dir, errbuf);
	char *e;

	if (r != NULL)
		errbuf[0] = '\0';
	remarks_free(r);
	/* Drop the temporary directory name so the checks compare stable text. */
	e = g_strdup(strstr(errbuf, "/") != NULL ? strrchr(errbuf, '/') + 1 : errbuf);
	remove_dir(dir);
	return e;
}

static void
test_shipped(void)
{
	char errbuf[ERRBUF_SIZE] = "";
	struct remarks *r = remarks_load(TMPL_DIR, errbuf);

	CHECK(r != NULL);
	if (r == NULL) {
		fprintf(stderr, "shipped templates: %s\n", errbuf);
		return;
	}
	CHECK(remarks_get(r, "cmd.STAT") != NULL);
	CHECK(remarks_get(r, "body.RETR") != NULL);
	CHECK(remarks_get(r, "cmd.LIST.arg") != NULL);
	CHECK(remarks_get(r, "err.PASS") != NULL);
	CHECK(remarks_get(r, "err.STAT") == NULL); /* optional, not shipped: "err" is used */
	CHECK_STR(remarks_get(r, "tcp.ack"), "");
	CHECK_STR(remarks_get(r, "lifeline.client"), "POP3 Client");
	/* The seed's wording for STAT (pop3-eventstudio-tutorial.txt). */
	CHECK_STR(remarks_get(r, "cmd.STAT"),
	    "The client issues the STAT command to enquire about the pending e-mails in the "
	    "mailbox.");
	remarks_free(r);
}

static void
test_expand(void)
{
	struct remark_vars v = {0};
	char *s;

	rvars_set(&v, "count", "1");
	rvars_set(&v, "size", "1317");
	rvars_setu(&v, "lines", 0);
	s = remarks_expand(
	    "The mailbox holds {count|message|messages} of {size|octet|octets}.", &v);
	CHECK_STR(s, "The mailbox holds one message of 1317 octets.");
	g_free(s);
	s = remarks_expand("{lines|line|lines} and {{braces}}.", &v);
	CHECK_STR(s, "no lines and {braces}.");
	g_free(s);
	/* A sentence with a value the session lacks is left out, the others stay. */
	s = remarks_expand(
	    "The server accepts. The user is {user}. It holds {count|message|messages}.", &v);
	CHECK_STR(s, "The server accepts. It holds one message.");
	g_free(s);
	s = remarks_expand("Only {user}.", &v);
	CHECK_STR(s, "");
	g_free(s);
	rvars_set(&v, "count", "3");
	s = remarks_expand("{count|message|messages}", &v);
	CHECK_STR(s, "3 messages");
	g_free(s);
	rvars_clear(&v);
	CHECK_EQ_U(v.n, 0);
}

static void
test_check_text(void)
{
	char why[128];

	CHECK(remarks_check_text("plain {user} and {count|a|b} {{x}}", why, sizeof(why)) == 0);
	CHECK(remarks_check_text("{nosuch}", why, sizeof(why)) < 0);
	CHECK(strstr(why, "{nosuch}") != NULL);
	CHECK(remarks_check_text("{user", why, sizeof(why)) < 0);
	CHECK(remarks_check_text("user}", why, sizeof(why)) < 0);
	CHECK(remarks_check_text("{count|one}", why, sizeof(why)) < 0);
	CHECK(remarks_check_text("{count|a|b|c}", why, sizeof(why)) < 0);
}

static void
test_errors(void)
{
	char *e;

	/* A missing entry names the file it belongs in and the key. */
	e = load_error("pop3.tmpl", "cmd.STAT:", "err.STAT:", false);
	CHECK(strstr(e, "pop3.tmpl") != NULL && strstr(e, "cmd.STAT") != NULL);
	g_free(e);
	/* A missing file is named. */
	e = load_error("tcp.tmpl", NULL, NULL, true);
	CHECK(strstr(e, "tcp.tmpl") != NULL);
	g_free(e);
	/* A continuation with no entry above it. */
	e = load_error("pop3.tmpl", "cmd.STAT:", "#cmd.STAT:", false);
	CHECK(g_str_has_prefix(e, "pop3.tmpl:") && strstr(e, "continuation line") != NULL);
	g_free(e);
	/* A malformed line: file and line number. */
	e = load_error("diagram.tmpl", NULL, "\nthis line has no key\n", false);
	CHECK(g_str_has_prefix(e, "diagram.tmpl:") && strstr(e, "expected 'key: text'") != NULL);
	g_free(e);
	/* An unknown placeholder. */
	e = load_error("pop3.tmpl", "retrieve message {msg}", "retrieve message {mesage}", false);
	CHECK(g_str_has_prefix(e, "pop3.tmpl:") && strstr(e, "{mesage}") != NULL);
	g_free(e);
	/* A typo in a key. */
	e = load_error("pop3.tmpl", NULL, "\ncmd.STATT: typo\n", false);
	CHECK(strstr(e, "unknown entry 'cmd.STATT'") != NULL);
	g_free(e);
	/* An entry defined twice. */
	e = load_error("tcp.tmpl", NULL, "\ntcp.ack: again\n", false);
	CHECK(strstr(e, "already defined") != NULL);
	g_free(e);
	/* An entry in the wrong file. */
	e = load_error("tcp.tmpl", NULL, "\nerr.STAT: wrong file\n", false);
	CHECK(strstr(e, "belongs in pop3.tmpl") != NULL);
	g_free(e);
	/* An unbalanced brace on a continuation line: its own line number. */
	e = load_error("tcp.tmpl", "    TCP connection.", "    TCP connection {.", false);
	CHECK(g_str_has_prefix(e, "tcp.tmpl:") && strstr(e, "'{' without '}'") != NULL);
	g_free(e);
	/* A directory that does not exist. */
	{
		char errbuf[ERRBUF_SIZE] = "";
		CHECK(remarks_load("/nonexistent/popflow", errbuf) == NULL);
		CHECK(strstr(errbuf, "/nonexistent/popflow/diagram.tmpl") != NULL);
	}
}

/* remarks_load_texts(): the same entries as from the directory; errors name file and line; a NUL is refused. */
static void
test_load_texts(void)
{
	char errbuf[ERRBUF_SIZE], *text[3];
	const char *t[3];
	size_t len[3], i;
	struct remarks *dir, *mem;
	static const char *const keys[] = {"title", "cmd.RETR", "ok.RETR", "body.RETR", "cmd.AUTH"};

	dir = remarks_load(TMPL_DIR, errbuf);
	CHECK(dir != NULL);
	for (i = 0; i < 3; i++) {
		char *path = g_build_filename(TMPL_DIR, files[i], NULL);
		gsize n = 0;
		CHECK(g_file_get_contents(path, &text[i], &n, NULL));
		len[i] = n;
		t[i] = text[i];
		g_free(path);
	}
	mem = remarks_load_texts("mem", t, len, errbuf);
	CHECK(mem != NULL);
	for (i = 0; dir != NULL && mem != NULL && i < G_N_ELEMENTS(keys); i++)
		CHECK_STR(remarks_get(mem, keys[i]), remarks_get(dir, keys[i]));
	remarks_free(mem);
	/* A broken line in the middle of pop3.tmpl: "mem/pop3.tmpl:LINE: ...". */
	t[2] = "cmd.USER: {nosuch}\n";
	len[2] = strlen(t[2]);
	CHECK(remarks_load_texts("mem", t, len, errbuf) == NULL);
	CHECK(strstr(errbuf, "pop3.tmpl:1: unknown placeholder {nosuch}") != NULL);
	/* A NUL inside the given length is not text, even where a C string would end. */
	t[2] = text[2];
	len[2] = strlen(text[2]) + 1;
	CHECK(remarks_load_texts("mem", t, len, errbuf) == NULL);
	CHECK(strstr(errbuf, "not UTF-8 text") != NULL);
	for (i = 0; i < 3; i++)
		g_free(text[i]);
	remarks_free(dir);
}

int
main(void)
{
	test_shipped();
	test_expand();
	test_check_text();
	test_errors();
	test_load_texts();
	return tl_done();
}
