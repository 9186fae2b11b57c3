/* test_extract.c - bodies to .eml files and mboxrd, byte for byte, and their headers (GMime). */
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <unistd.h>

#include <glib.h>
#include <malloc.h>
#include <glib/gstdio.h>

#include "extract.h"
#include "mime.h"
#include "pop3.h"
#include "session.h"
#include "testlib.h"
#include "util.h"

/* mboxrd of one message, as a string. */
static char *
mboxrd(const char *msg, size_t len, size_t chunk)
{
	char *buf = NULL;
	size_t n = 0, i;
	FILE *f = open_memstream(&buf, &n);
	struct mboxrd w;

	mboxrd_begin(&w, f);
	for (i = 0; i < len; i += chunk)
		mboxrd_write(&w, (const uint8_t *)msg + i, len - i < chunk ? len - i : chunk);
	mboxrd_end(&w);
	fclose(f);
	return buf;
}

static void
check_mboxrd(const char *in, const char *want)
{
	size_t len = strlen(in), chunk;

	/* The same output whatever the pieces the body comes in. */
	for (chunk = 1; chunk <= len + 1; chunk++) {
		char *got = mboxrd(in, len, chunk);
		if (strcmp(got, want) != 0) {
			fprintf(stderr, "mboxrd chunk %zu: got [%s] want [%s]\n", chunk, got, want);
			CHECK(0);
			free(got);
			return;
		}
		free(got);
	}
	CHECK(1);
}

static void
test_mboxrd(void)
{
	check_mboxrd("", "\n"); /* an empty message: only the separating empty line */
	check_mboxrd("a\r\nb\r\n", "a\nb\n\n");
	check_mboxrd("From me\r\n>From you\r\n>>From x\r\nFrom\r\n From y\r\n",
	    ">From me\n>>From you\n>>>From x\nFrom\n From y\n\n");
	check_mboxrd("no end", "no end\n\n");
	check_mboxrd("cr\ralone\r", "cr\ralone\r\n\n");
	check_mboxrd(".\r\n", ".\n\n");
	check_mboxrd(">>>\r\n>Fro\r\n", ">>>\n>Fro\n\n");
}

static void
test_names(void)
{
	struct endpoint c = {{4, {10, 0, 0, 1}}, 40000}, v = {{4, {10, 0, 0, 2}}, 110};
	struct session *s = session_new(7, &c, &v);
	struct txn t;
	char *n;

	memset(&t, 0, sizeof(t));
	t.cmd = POP3_CMD_RETR;
	t.arg = "3";
	t.arg_len = 1;
	t.msgno = 3;
	n = extract_name(s, &t, true);
	CHECK_STR(n, "session7-msg3.eml");
	g_free(n);
	t.uidl = "a/b c%";
	n = extract_name(s, &t, false);
	CHECK_STR(n, "session7-msg3-uid-a%2Fb%20c%25-partial.eml");
	g_free(n);
	t.cmd = POP3_CMD_TOP;
	t.arg = "3 10";
	t.arg_len = 4;
	t.uidl = NULL;
	n = extract_name(s, &t, true);
	CHECK_STR(n, "session7-msg3-top10.eml");
	g_free(n);
	/* Regression (issue 12, defect 5): no saturated number, no name beyond NAME_MAX. */
	t.arg = "3 99999999999999999999999";
	t.arg_len = strlen(t.arg);
	n = extract_name(s, &t, true);
	CHECK_STR(n, "session7-msg3-top99999999999999999999999.eml");
	g_free(n);
	t.arg = "3 x10";
	t.arg_len = strlen(t.arg);
	n = extract_name(s, &t, true);
	CHECK_STR(n, "session7-msg3-top.eml"); /* not a number: none written */
	g_free(n);
	{
		char uid[71], uid2[71], *n2;
		GString *digits = g_string_new("3 ");
		memset(uid, '/', 70);
		uid[70] = '\0';
		memcpy(uid2, uid, sizeof(uid));
		uid2[69] = '+';
		for (int i = 0; i < 4000; i++)
			g_string_append_c(digits, (char)('0' + i % 10));
		t.arg = digits->str;
		t.arg_len = digits->len;
		t.uidl = uid;
		s->id = G_MAXUINT64;
		t.msgno = G_MAXUINT32;
		n = extract_name(s, &t, false);
		t.uidl = uid2;
		n2 = extract_name(s, &t, false);
		CHECK(strlen(n) + 5 <= NAME_MAX); /* room for place()'s "-9999" */
		CHECK(strlen(n2) + 5 <= NAME_MAX);
		CHECK(strcmp(n, n2) != 0); /* the hash tells the cut UIDs apart */
		CHECK(g_str_has_prefix(n, "session18446744073709551615-msg4294967295-uid-%2F%2F"));
		CHECK(strstr(n, "-top0123456789") != NULL);
		CHECK(g_str_has_suffix(n, "-partial.eml"));
		g_free(n);
		g_free(n2);
		g_string_free(digits, TRUE);
		t.uidl = NULL;
	}
	session_free(s);

	/* An error about a long path keeps its reason whole (util_path_error()). */
	{
		char buf[ERRBUF_SIZE];
		GString *path = g_string_new("/dir");
		while (path->len < 600)
			g_string_append(path, "/sub");
		g_string_append(path, "/name.eml");
		util_path_error(buf, sizeof(buf), "--extract", path->str, "File name too long");
		CHECK(strlen(buf) == sizeof(buf) - 1);
		CHECK(g_str_has_prefix(buf, "--extract: /dir/sub"));
		CHECK(g_str_has_suffix(buf, "/name.eml: File name too long"));
		CHECK(strstr(buf, "...") != NULL);
		util_path_error(buf, sizeof(buf), "--mbox", "/short", "Permission denied");
		CHECK_STR(buf, "--mbox: /short: Permission denied");
		g_string_free(path, TRUE);
	}

	n = extract_from_line(NULL, (struct ts){1700000000, 5});
	CHECK_STR(n, "From MAILER-DAEMON Tue Nov 14 22:13:20 2023\n");
	g_free(n);
	n = extract_from_line("a b@c", (struct ts){0, 0});
	CHECK_STR(n, "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n");
	g_free(n);
	n = extract_from_line("alice@example.org", (struct ts){1700000000, 0});
	CHECK_STR(n, "From alice@example.org Tue Nov 14 22:13:20 2023\n");
	g_free(n);
}

static void
test_mime(void)
{
	const char *m1 = "From: =?UTF-8?Q?Erwin_M=C3=BCller?= <erwin@example.org>\r\n"
	                 "To: Alice <alice@example.org>, bob@example.org\r\n"
	                 "Subject: =?UTF-8?B?R3LDvMOfZQ==?= und mehr\r\n"
	                 "Date: Mon, 03 Mar 2025 10:45:00 +0100\r\n"
	                 "Message-ID: <x1@example.org>\r\n"
	                 "Return-Path: <bounce@example.org>\r\n"
	                 "\r\n"
	                 "body\r\n";
	const char *m2 = "From: J\xc3\xbcrgen <j@example.org>\r\n" /* raw 8-bit UTF-8 */
	                 "Subject: caf\xc3\xa9\r\n"
	                 "MIME-Version: 1.0\r\n"
	                 "Content-Type: multipart/mixed; boundary=\"b\"\r\n"
	                 "\r\n"
	                 "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
	                 "--b\r\nContent-Type: application/pdf\r\n"
	                 "Content-Disposition: attachment; filename=\"a.pdf\"\r\n\r\nJVBERi0=\r\n"
	                 "--b\r\nContent-Type: image/png; name=\"x.png\"\r\n\r\niVBO\r\n"
	                 "--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nx\r\n"
	                 "--b--\r\n";
	struct mail_info *mi = mime_parse_mem((const uint8_t *)m1, strlen(m1));

	CHECK_STR(mi->from, "Erwin Müller <erwin@example.org>");
	CHECK_STR(mi->to, "Alice <alice@example.org>, bob@example.org");
	CHECK_STR(mi->subject, "Grüße und mehr");
	CHECK_STR(mi->date, "Mon, 03 Mar 2025 10:45:00 +0100");
	CHECK_STR(mi->message_id, "<x1@example.org>");
	CHECK_STR(mi->return_path, "bounce@example.org");
	CHECK_EQ_U(mi->attachments, 0);
	CHECK_EQ_U(mi->parts, 1);
	mail_info_free(mi);
	mi = mime_parse_mem((const uint8_t *)m2, strlen(m2));
	CHECK_STR(mi->from, "Jürgen <j@example.org>");
	CHECK_STR(mi->subject, "café");
	CHECK_STR(mi->content_type, "multipart/mixed");
	CHECK_EQ_U(mi->parts, 4);
	CHECK_EQ_U(mi->attachments, 3); /* the PDF, the named PNG, the attached message */
	CHECK(mi->to == NULL && mi->message_id == NULL);
	mail_info_free(mi);
	mi = mime_parse_mem((const uint8_t *)"", 0);
	CHECK(mi->from == NULL && mi->subject == NULL && mi->attachments == 0);
	mail_info_free(mi);
}

/*
 * Reads back one display name of a Mail: line (emit_text.c): an RFC 5322
 * quoted-string at *at, as util_append_printable() printed it (\X is X; <0xNN>,
 * <cr>, <nl>, <U+XXXX> are escapes of bytes).  NULL if it does not parse.
 */
static char *
read_back_name(const char **at)
{
	GString *o = g_string_new(NULL);
	const char *s = *at;
	unsigned v;

	if (*s++ != '"')
		goto fail;
	while (*s != '"') {
		if (*s == '\0')
			goto fail;
		if (*s == '\\' && s[1] != '\0') {
			g_string_append_c(o, s[1]);
			s += 2;
		} else if (strncmp(s, "<cr>", 4) == 0) {
			g_string_append_c(o, '\r');
			s += 4;
		} else if (strncmp(s, "<nl>", 4) == 0) {
			g_string_append_c(o, '\n');
			s += 4;
		} else if (sscanf(s, "<0x%2x>", &v) == 1 && s[5] == '>') {
			g_string_append_c(o, (char)v);
			s += 6;
		} else if (sscanf(s, "<U+%4X>", &v) == 1 && s[7] == '>') {
			g_string_append_unichar(o, v);
			s += 8;
		} else if (*s == '<') {
			goto fail; /* a '<' in a name is always escaped */
		} else {
			g_string_append_c(o, *s++);
		}
	}
	*at = s + 1;
	return g_string_free(o, FALSE);
fail:
	g_string_free(o, TRUE);
	return NULL;
}

/*
 * Issue 12, defect 7: display names with quotes, backslashes, control
 * characters and escape-like text are quoted so that the Mail: line reads
 * back to the names the message holds.
 */
static void
test_mime_hostile_names(void)
{
	const char *m =
	    "From: \"Bob \\\"the\\\" \\\\ Boss\" <bob@example.org>,\r\n"
	    " =?UTF-8?Q?Eve=01=0D=0A=22x=22_=3C0x01=3E_=E2=80=A8?= <eve@example.org>\r\n"
	    "To: \"Doe, John\" <jd@example.org>, plain@example.org\r\n"
	    "Cc: Friends: \"C <c>\" <c@example.org>, d@example.org;\r\n"
	    "Subject: say \"hi\" \\o/\r\n"
	    "\r\n"
	    "x\r\n";
	const char *names[] = {"Bob \"the\" \\ Boss", "Eve\x01\r\n\"x\" <0x01> \xe2\x80\xa8"};
	struct mail_info *mi = mime_parse_mem((const uint8_t *)m, strlen(m));
	GString *line = g_string_new(NULL);
	const char *at;
	char *got;
	size_t i;

	CHECK_STR(mi->from_q,
	    "\"Bob \\\"the\\\" \\\\ Boss\" <bob@example.org>, "
	    "\"Eve\x01\r\n\\\"x\\\" \\<0x01> \xe2\x80\xa8\" <eve@example.org>");
	CHECK_STR(mi->to_q, "\"Doe, John\" <jd@example.org>, <plain@example.org>");
	CHECK_STR(mi->cc_q, "\"Friends\": \"C \\<c>\" <c@example.org>, <d@example.org>;");
	/* As the text report prints it: no control byte, and each name reads back. */
	util_append_printable(line, mi->from_q, strlen(mi->from_q));
	CHECK_STR(line->str,
	    "\"Bob \\\"the\\\" \\\\ Boss\" <bob@example.org>, "
	    "\"Eve<0x01><cr><nl>\\\"x\\\" \\<0x01> <U+2028>\" <eve@example.org>");
	at = line->str;
	for (i = 0; i < G_N_ELEMENTS(names); i++) {
		got = read_back_name(&at);
		CHECK(got != NULL);
		if (got != NULL)
			CHECK_STR(got, names[i]);
		g_free(got);
		at = strchr(at, '>'); /* past " <addr>" */
		if (at == NULL)
			break;
		at += strlen(i == 0 ? ">, " : ">");
	}
	mail_info_free(mi);
	g_string_free(line, TRUE);
}

/* The dissector and the sink together: bodies on disk exactly as unstuffed. */
struct conv {
	struct session *s;
	struct pop3 *p;
	struct pop3_config cfg;
	uint64_t off[2];
	struct ts now;
};

static void
say(struct conv *c, enum dir d, const char *b, size_t n, size_t chunk)
{
	size_t i, k;

	for (i = 0; i < n; i += k) {
		k = n - i < chunk ? n - i : chunk;
		pop3_feed(c->p, d, (const uint8_t *)b + i, k, c->off[d], c->now);
		c->off[d] += k;
	}
	c->now.sec++;
}

static char *
slurp(const char *dir, const char *name, size_t *len)
{
	char *path = g_build_filename(dir, name, NULL), *data = NULL;
	gsize n = 0;

	if (!g_file_get_contents(path, &data, &n, NULL))
		data = NULL;
	*len = n;
	g_free(path);
	return data;
}

static void
rmtree(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *n;

	while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
		char *p = g_build_filename(dir, n, NULL);
		g_unlink(p);
		g_free(p);
	}
	if (d != NULL)
		g_dir_close(d);
	g_rmdir(dir);
}

static void
run_extract(size_t chunk)
{
	char *dir = g_dir_make_tmp("popflow-test-XXXXXX", NULL), *mbox, *data;
	struct extract_config xc = {dir, NULL, true};
	struct extract *x;
	char err[ERRBUF_SIZE];
	struct conv c;
	struct endpoint cl = {{4, {10, 0, 0, 1}}, 40000}, sv = {{4, {10, 0, 0, 2}}, 110};
	GString *big = g_string_new("Subject: big\r\n\r\n");
	GString *wire = g_string_new(NULL);
	size_t n, i;
	const struct txn *t;
	const char *server;

	mbox = g_build_filename(dir, "all.mbox", NULL);
	xc.mbox = mbox;
	x = extract_new(&xc, err);
	CHECK(x != NULL);
	memset(&c, 0, sizeof(c));
	c.cfg.max_body_keep = 1 << 20;
	c.cfg.sink = &extract_sink;
	c.cfg.sink_arg = x;
	c.now.sec = 1700000000;
	c.s = session_new(0, &cl, &sv);
	c.s->handshake = HS_SEEN;
	c.p = pop3_new(c.s, &c.cfg);
	/* A 1.5 MB message: spooled from memory to a file on the way. */
	for (i = 0; big->len < 1500000; i++)
		g_string_append_printf(
		    big, "%s%06zu abcdefghijklmnopqrstuvwxyz\r\n", i % 1000 == 0 ? "." : "", i);
	for (i = 0; i < big->len; i = n + 1) {
		n = (size_t)(strchr(big->str + i, '\n') - big->str);
		if (big->str[i] == '.')
			g_string_append_c(wire, '.');
		g_string_append_len(wire, big->str + i, (gssize)(n + 1 - i));
	}
	server = "+OK ready\r\n";
	say(&c, DIR_TO_CLIENT, server, strlen(server), chunk);
	say(&c, DIR_TO_SERVER, "CAPA\r\n", 6, chunk);
	server = "+OK\r\nPIPELINING\r\nUIDL\r\n.\r\n";
	say(&c, DIR_TO_CLIENT, server, strlen(server), chunk);
	server = "USER a\r\nPASS b\r\nUIDL\r\nLIST\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\nTOP 3 "
	         "0\r\nRETR 4\r\n";
	say(&c, DIR_TO_SERVER, server, strlen(server), chunk);
	server = "+OK\r\n+OK\r\n"
	         "+OK\r\n1 u-1\r\n2 u/2\r\n3 u3\r\n4 u4\r\n.\r\n"
	         "+OK\r\n1 0\r\n2 3\r\n3 99\r\n4 1\r\n.\r\n"
	         "+OK 0 octets\r\n.\r\n"                            /* an empty message */
	         "+OK\r\n..\r\n.\r\n"                               /* a message of one "." line */
	         "+OK\r\nFrom: x@y\r\n\r\n..a\r\n...\r\nb\r\n.\r\n" /* dot-stuffed */
	         "+OK\r\nFrom: x@y\r\n\r\n.\r\n";                   /* TOP 3 0 */
	say(&c, DIR_TO_CLIENT, server, strlen(server), chunk);
	server = "+OK\r\n";
	say(&c, DIR_TO_CLIENT, server, strlen(server), chunk);
	say(&c, DIR_TO_CLIENT, wire->str, wire->len, chunk > 1 ? chunk * 977 : 65536);
	say(&c, DIR_TO_CLIENT, ".\r\n", 3, chunk);
	say(&c, DIR_TO_SERVER, "RETR 2\r\n", 8, chunk);
	server = "+OK\r\ncut sh"; /* the connection ends inside it */
	say(&c, DIR_TO_CLIENT, server, strlen(server), chunk);
	pop3_end(c.p);
	/* Sessions are numbered when reported: until then no body has its name. */
	CHECK_EQ_U(extract_files(x), 0);
	data = slurp(dir, "session1-msg1-uid-u-1.eml", &n);
	CHECK(data == NULL);
	g_free(data);
	CHECK(((const struct txn *)g_ptr_array_index(c.s->txns, 7))->extracted == NULL);
	c.s->id = 1;
	pop3_reported(c.p);
	CHECK(extract_finish(x, err) == 0);
	CHECK_EQ_U(extract_files(x), 6);
	CHECK_EQ_U(extract_mbox_count(x), 5);

	data = slurp(dir, "session1-msg1-uid-u-1.eml", &n);
	CHECK(data != NULL && n == 0);
	g_free(data);
	data = slurp(dir, "session1-msg2-uid-u%2F2.eml", &n);
	CHECK(data != NULL && n == 3 && memcmp(data, ".\r\n", 3) == 0);
	g_free(data);
	data = slurp(dir, "session1-msg3-uid-u3.eml", &n);
	CHECK(
	    data != NULL && n == 24 && memcmp(data, "From: x@y\r\n\r\n.a\r\n..\r\nb\r\n", 24) == 0);
	g_free(data);
	data = slurp(dir, "session1-msg3-uid-u3-top0.eml", &n);
	CHECK(data != NULL && n == 13);
	g_free(data);
	data = slurp(dir, "session1-msg4-uid-u4.eml", &n);
	CHECK(data != NULL && n == big->len && memcmp(data, big->str, n) == 0);
	g_free(data);
	data = slurp(dir, "session1-msg2-uid-u%2F2-partial.eml", &n);
	CHECK(data != NULL && n == 6 && memcmp(data, "cut sh", 6) == 0);
	g_free(data);
	data = slurp(dir, "all.mbox", &n);
	CHECK(data != NULL && g_str_has_prefix(data, "From MAILER-DAEMON Tue Nov 14 22:13:2"));
	CHECK(data != NULL && strstr(data, "\n\nFrom x@y ") != NULL); /* the sender from From: */
	g_free(data);
	/* Headers, the sizes announced, the UID, the file. */
	t = g_ptr_array_index(c.s->txns, 7); /* RETR 3 */
	CHECK_STR(t->uidl, "u3");
	CHECK(t->mail != NULL && t->mail->from != NULL);
	CHECK(t->extracted != NULL && g_str_has_suffix(t->extracted, "session1-msg3-uid-u3.eml"));
	CHECK_STR(t->announced_by, "LIST");
	CHECK_EQ_U(t->announced_octets, 99);
	CHECK(session_anomaly_count(c.s, ANOM_SIZE_MISMATCH) == 2); /* msgs 3 and 4 */
	t = g_ptr_array_index(c.s->txns, 5);                        /* RETR 1 */
	CHECK_EQ_U(t->body_octets, 0);
	CHECK(t->mail != NULL && t->mail->subject == NULL);

	pop3_free(c.p);
	session_free(c.s);
	extract_free(x);
	rmtree(dir);
	g_free(dir);
	g_free(mbox);
	g_string_free(big, TRUE);
	g_string_free(wire, TRUE);
}

static void
test_extract(void)
{
	run_extract(1 << 20);
	run_extract(7);
}

static void
test_errors(void)
{
	struct extract_config xc = {"/nonexistent/popflow", NULL, true};
	char err[ERRBUF_SIZE];

	CHECK(extract_new(&xc, err) == NULL);
	CHECK(strstr(err, "--extract: /nonexistent/popflow") != NULL);
	xc.dir = NULL;
	xc.mbox = "/nonexistent/popflow/x.mbox";
	CHECK(extract_new(&xc, err) == NULL);
	CHECK(strstr(err, "--mbox") != NULL);
}

/* Does mime_parse_mem() give what GMime's message parser gives for m? */
static bool
mime_same(const char *m, size_t n)
{
	struct mail_info *a = mime_parse_mem((const uint8_t *)m, n);
	struct mail_info *b = mime_parse_mem_gmime((const uint8_t *)m, n);
	const char *sa[] = {a->from, a->to, a->cc, a->from_q, a->to_q, a->cc_q, a->subject, a->date,
	    a->message_id, a->return_path, a->from_addr, a->content_type};
	const char *sb[] = {b->from, b->to, b->cc, b->from_q, b->to_q, b->cc_q, b->subject, b->date,
	    b->message_id, b->return_path, b->from_addr, b->content_type};
	bool same = a->parts == b->parts && a->attachments == b->attachments;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(sa); i++)
		if ((sa[i] == NULL) != (sb[i] == NULL) ||
		    (sa[i] != NULL && strcmp(sa[i], sb[i]) != 0)) {
			fprintf(stderr, "field %zu: [%s] vs GMime's [%s]\n", i, sa[i], sb[i]);
			same = false;
		}
	mail_info_free(a);
	mail_info_free(b);
	return same;
}

/*
 * mime_parse_mem() reads plain header sections itself, GMime decoding each
 * shown field, and leaves the rest to GMime's parser: either way the values
 * are GMime's.  Header sections of both kinds, hostile ones among them.
 */
static void
test_mime_fast_same(void)
{
	static const char *const cases[] = {
	    /* plain: read by popflow */
	    "From: Sender 0 <sender0@example.org>\r\nTo: bench0@example.net\r\n"
	    "Subject: benchmark message 0\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	    "Message-ID: <bench-0@example.org>\r\n\r\n",
	    "\r\n",
	    "\n\nbody",
	    "from:a@b\nTO:  \"Doe, John\" <jd@x>,\n\t c@d\nSUBJECT:\n\r\n",
	    "From: =?UTF-8?Q?Erwin_M=C3=BCller?= <erwin@b\xc3\xbc"
	    "cher.example>\r\n\r\n",
	    "From: a@xn--bcher-kva.example, b@EXAMPLE.ORG, \"x\" <c@[1.2.3.4]>\r\n\r\n",
	    "Cc: Friends: \"C <c>\" <c@example.org>, d@example.org;, Undisclosed "
	    "recipients:;\r\n\r\n",
	    "From: a@b (unterminated\r\nTo: <a@b\r\nCc: ,,,\r\n\r\n",
	    "Subject: =?bogus?q?x?= caf\xe9 =?utf-8?b?R3LDvMOfZQ==?=\r\n\r\n",
	    "Message-ID: id-without-brackets@host\r\nReturn-Path: <>\r\n\r\n",
	    "Message-ID: <<a>>\r\nReturn-Path: bounce@x (c)\r\n\r\n",
	    "Content-Type: application/pdf; name=\"a.pdf\"\r\n\r\n",
	    "Content-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\n",
	    "Content-Type: text/plain\r\nContent-Disposition: inline; filename=x\r\n\r\n",
	    "Content-Disposition: ; filename=x\r\n\r\n",
	    "Content-Type: (c) text (d) / (e) plain; charset=utf-8\r\n\r\n",
	    "Content-Type: junk\r\n\r\n",
	    "Content-Type: =?utf-8?q?multipart?=/mixed; name=x\r\n\r\n",
	    "Content-Type: application/pkcs7-mime; name=smime.p7m\r\n\r\n",
	    "Subject: one\r\n \r\n\tfolded\r\n\r\nbody\r\n",
	    /* left to GMime's parser */
	    "From: a@b\r\nFrom: c@d\r\n\r\n",
	    "Subject: one\r\nSubject: two\r\n\r\n",
	    "Content-Type: message /rfc822\r\n\r\nSubject: inner\r\n\r\n",
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
	    "From a@b Tue Nov 14 22:13:20 2023\r\nFrom: a@b\r\n\r\n",
	    " folded first\r\nFrom: a@b\r\n\r\n",
	    "From : a@b\r\n\r\n",
	    "no colon\r\nFrom: a@b\r\n\r\n",
	    "From: a@b\r\nno colon\r\nSubject: x\r\n\r\n",
	    "From: a@b\rSubject: x\r\n\r\n",
	    "Subject: a\x01z\r\n\r\n",
	    "Subject: a\x7fz\r\n\r\n",
	    "Fr\xc3\xb6m: a@b\r\n\r\n",
	    "From: a@b\r\nSubject: cut short",
	    "From: a@b\r\n",
	    "",
	};
	/* NUL bytes: lengths given. */
	static const char nul1[] = "From: a@b\r\nSubject: x\0y\r\n\r\n";
	static const char nul2[] = "Fr\0m: a@b\r\n\r\n";
	GString *big = g_string_new(NULL);
	size_t i;
	unsigned k;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		bool same = mime_same(cases[i], strlen(cases[i]));
		if (!same)
			fprintf(stderr, "case %zu differs\n", i);
		CHECK(same);
	}
	CHECK(mime_same(nul1, sizeof(nul1) - 1));
	CHECK(mime_same(nul2, sizeof(nul2) - 1));
	/* 20,000 fields, the shown ones last. */
	for (k = 0; k < 20000; k++)
		g_string_append_printf(big, "X-Field-%u: value %u\r\n", k, k);
	g_string_append(big, "From: last <a@b>\r\nSubject: =?utf-8?q?x?=\r\n\r\n");
	CHECK(mime_same(big->str, big->len));
	g_string_free(big, TRUE);
}

/*
 * GMime's address parser calls itself for each group, and each ':' of an
 * address field can open one: 120,000 of them overflowed the stack.  Past
 * 1000 in a field the ':' are read as spaces (mime.c), in the header read
 * by popflow, in the whole message read by GMime, from memory or a file,
 * and in Return-Path's decoded value.
 */
/*
 * GMime 3.2.13 loses about 128 bytes on an address that ends inside a
 * comment after a domain literal: popflow closes such comments first
 * (mime.c, comments_close()), on both of its paths.
 */
static void
test_mime_open_comment(void)
{
	static const char *const msgs[] = {
	    "From: x@[192.0.2.1] (no end\r\nTo: y@[192.0.2.2] ((a) (b\r\nSubject: "
	    "c\r\n\r\nbody\r\n",
	    "From: x@[192.0.2.1] (no end\r\nSubject: c\r\nContent-Type: multipart/mixed; "
	    "boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
	    /* closed, quoted or escaped: nothing to close */
	    "From: \"(a\" <x@[192.0.2.1]> (c) \\(\r\nSubject: c\r\n\r\n",
	};
	struct mail_info *a;
	struct mallinfo2 m0, m1;
	size_t k;
	int i;

	for (k = 0; k < G_N_ELEMENTS(msgs); k++) {
		a = mime_parse_mem((const uint8_t *)msgs[k], strlen(msgs[k]));
		CHECK(a->from_addr != NULL && strstr(a->from_addr, "x@[192.0.2.1]") != NULL);
		CHECK_STR(a->subject, "c");
		mail_info_free(a);
		CHECK(mime_same(msgs[k], strlen(msgs[k])));
		/* Memory stays where it was over many such messages (not 128 bytes more each). */
		m0 = mallinfo2();
		for (i = 0; i < 2000; i++)
			mail_info_free(mime_parse_mem((const uint8_t *)msgs[k], strlen(msgs[k])));
		m1 = mallinfo2();
		CHECK(m1.uordblks <= m0.uordblks + 64 * 1024);
	}
}

static void
test_mime_deep_groups(void)
{
	GString *deep = g_string_new("From: "), *msg = g_string_new(NULL);
	GString *rp = g_string_new("Return-Path: ");
	char *b64, path[] = "/tmp/popflow-test-mime-XXXXXX";
	struct mail_info *a, *b;
	unsigned k;
	int fd;

	for (k = 0; k < 120000; k++)
		g_string_append(deep, "a:");
	g_string_append(deep, "\r\n");
	/* The header section alone: read by popflow, each field by GMime. */
	g_string_append(msg, deep->str);
	g_string_append(msg, "Subject: deep\r\n\r\n");
	a = mime_parse_mem((const uint8_t *)msg->str, msg->len);
	CHECK(a->from != NULL && strncmp(a->from, "a: a: a: ", 9) == 0);
	CHECK(a->from != NULL && strlen(a->from) <= 998);
	CHECK_STR(a->subject, "deep");
	CHECK_EQ_U(a->parts, 1);
	mail_info_free(a);
	CHECK(mime_same(msg->str, msg->len));
	/* The same From in a message inside a multipart one: GMime's parser reads it all. */
	g_string_assign(msg,
	    "From: outer@example.org\r\nSubject: outer\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: message/rfc822\r\n\r\n");
	g_string_append(msg, deep->str);
	g_string_append(msg, "Subject: inner\r\n\r\nx\r\n--b--\r\n");
	a = mime_parse_mem((const uint8_t *)msg->str, msg->len);
	CHECK_STR(a->from, "outer@example.org");
	CHECK_EQ_U(a->parts, 1);
	CHECK_EQ_U(a->attachments, 1);
	fd = g_mkstemp(path);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd, msg->str, msg->len) == (ssize_t)msg->len);
		b = mime_parse_fd(fd);
		CHECK_STR(b->from, "outer@example.org");
		CHECK_EQ_U(b->parts, a->parts);
		CHECK_EQ_U(b->attachments, a->attachments);
		mail_info_free(b);
		close(fd);
		unlink(path);
	}
	mail_info_free(a);
	/* Return-Path's ':' from an encoded word. */
	g_string_truncate(deep, 0);
	for (k = 0; k < 60000; k++)
		g_string_append(deep, "a:");
	b64 = g_base64_encode((const guchar *)deep->str, deep->len);
	g_string_append_printf(rp, "=?utf-8?b?%s?=\r\n\r\n", b64);
	a = mime_parse_mem((const uint8_t *)rp->str, rp->len);
	CHECK(a->return_path == NULL);
	mail_info_free(a);
	CHECK(mime_same(rp->str, rp->len));
	g_free(b64);
	g_string_free(deep, TRUE);
	g_string_free(msg, TRUE);
	g_string_free(rp, TRUE);
}

int
main(void)
{
	test_mboxrd();
	test_names();
	test_mime();
	test_mime_hostile_names();
	test_mime_fast_same();
	test_mime_deep_groups();
	test_mime_open_comment();
	test_extract();
	test_errors();
	return tl_done();
}
