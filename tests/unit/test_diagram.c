/* test_diagram.c - the diagram model from a hand-built session, and every diagram emitter on it. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagram.h"
#include "pop3.h"
#include "remarks.h"
#include "session.h"
#include "testlib.h"

#define TMPL_DIR "templates"

static struct session *S;

static struct ts
at(int ms)
{
	struct ts t = {1000000000 + ms / 1000, (ms % 1000) * 1000};
	return t;
}

static void
seg(enum dir d, uint8_t flags, uint64_t off, uint32_t len, int ms, uint8_t marks)
{
	struct seg_rec r;

	memset(&r, 0, sizeof(r));
	r.frame = S->segs->len + 1;
	r.ts = at(ms);
	r.off = off;
	r.len = r.caplen = len;
	r.flags = flags;
	r.dir = (uint8_t)d;
	r.marks = marks;
	r.win = 512;
	g_array_append_val(S->segs, r);
	if (S->segs->len == 1)
		S->start = r.ts;
	S->last = r.ts;
}

/* A line message of text (CRLF on the wire) at stream offset off. */
static struct msg *
line(struct txn *t, enum msg_kind k, enum dir d, uint64_t off, const char *text, int ms)
{
	struct msg *m = session_msg_new(S, t, k, d, off, at(ms));
	size_t n = strlen(text);

	m->text = g_strdup(text);
	m->text_len = m->wire_len = n;
	m->end = off + n + 2;
	return m;
}

static struct txn *
command(int cmd, const char *verb, const char *arg, uint64_t off, int ms)
{
	struct txn *t = session_txn_new(S, cmd, false);
	char *text = arg[0] != '\0' ? g_strdup_printf("%s %s", verb, arg) : g_strdup(verb);

	g_free(t->verb);
	g_free(t->arg);
	t->verb = g_strdup(verb);
	t->arg = g_strdup(arg);
	t->arg_len = strlen(arg);
	t->cmd_msg = line(t, MSG_COMMAND, DIR_TO_SERVER, off, text, ms);
	g_free(text);
	return t;
}

static void
reply(struct txn *t, enum pop3_status st, const char *text, uint64_t off, int ms)
{
	char *l = g_strdup_printf(
	    "%s%s%s", st == POP3_STATUS_OK ? "+OK" : "-ERR", text[0] != '\0' ? " " : "", text);

	t->status = st;
	g_free(t->text);
	t->text = g_strdup(text);
	t->text_len = strlen(text);
	t->status_msg = line(
	    t, t->cmd == POP3_CMD_GREETING ? MSG_GREETING : MSG_STATUS, DIR_TO_CLIENT, off, l, ms);
	g_free(l);
}

/*
 * The session (client 192.168.1.10:40000, server 10.0.0.25:110):
 *  1 C SYN            2 S SYN+ACK        3 C ACK
 *  4 S +OK ready      5 C USER alice     6 S ACK
 *  7 S +OK            8 C PASS secret    9 S -ERR bad<0x01>pass<0xff>
 * 10 C PASS secret (retransmission)     11 C ACK    12 C ACK (duplicate)
 * 13 C QUIT          14 S +OK bye
 * 15 C FIN+ACK       16 S FIN+ACK       17 C ACK
 */
static struct session *
build(void)
{
	struct endpoint c, s;
	struct txn *t;

	memset(&c, 0, sizeof(c));
	memset(&s, 0, sizeof(s));
	c.ip.family = s.ip.family = 4;
	inet_pton(AF_INET, "192.168.1.10", c.ip.bytes);
	inet_pton(AF_INET, "10.0.0.25", s.ip.bytes);
	c.port = 40000;
	s.port = 110;
	S = session_new(1, &c, &s);
	S->end_reason = END_FIN;

	seg(DIR_TO_SERVER, TH_SYN, 0, 0, 0, 0);
	seg(DIR_TO_CLIENT, TH_SYN | TH_ACK, 0, 0, 10, 0);
	seg(DIR_TO_SERVER, TH_ACK, 0, 0, 20, 0);
	seg(DIR_TO_CLIENT, TH_PSH | TH_ACK, 0, 11, 30, 0);
	seg(DIR_TO_SERVER, TH_PSH | TH_ACK, 0, 12, 40, 0);
	seg(DIR_TO_CLIENT, TH_ACK, 11, 0, 50, 0);
	seg(DIR_TO_CLIENT, TH_PSH | TH_ACK, 11, 5, 60, 0);
	seg(DIR_TO_SERVER, TH_PSH | TH_ACK, 12, 13, 70, 0);
	seg(DIR_TO_CLIENT, TH_PSH | TH_ACK, 16, 20, 80, 0);
	seg(DIR_TO_SERVER, TH_PSH | TH_ACK, 12, 13, 90, SEG_RETRANS);
	seg(DIR_TO_SERVER, TH_ACK, 25, 0, 100, 0);
	seg(DIR_TO_SERVER, TH_ACK, 25, 0, 110, SEG_DUP_ACK);
	seg(DIR_TO_SERVER, TH_PSH | TH_ACK, 25, 6, 120, 0);
	seg(DIR_TO_CLIENT, TH_PSH | TH_ACK, 36, 9, 130, 0);
	seg(DIR_TO_SERVER, TH_FIN | TH_ACK, 31, 0, 140, 0);
	seg(DIR_TO_CLIENT, TH_FIN | TH_ACK, 45, 0, 150, 0);
	seg(DIR_TO_SERVER, TH_ACK, 32, 0, 160, 0);

	t = session_txn_new(S, POP3_CMD_GREETING, true);
	reply(t, POP3_STATUS_OK, "ready", 0, 30);
	t = command(POP3_CMD_USER, "USER", "alice", 0, 40);
	reply(t, POP3_STATUS_OK, "", 11, 60);
	t = command(POP3_CMD_PASS, "PASS", "secret", 12, 70);
	reply(t, POP3_STATUS_ERR, "bad\x01pass\xff", 16, 80);
	t = command(POP3_CMD_QUIT, "QUIT", "", 25, 120);
	reply(t, POP3_STATUS_OK, "bye", 36, 130);
	session_finalize(S);
	return S;
}

static const struct dg_row *
row(const struct diagram *d, guint i)
{
	return &g_array_index(d->rows, struct dg_row, i);
}

static struct remarks *
templates(void)
{
	char errbuf[ERRBUF_SIZE];
	struct remarks *r = remarks_load(TMPL_DIR, errbuf);

	if (r == NULL)
		fprintf(stderr, "templates: %s\n", errbuf);
	return r;
}

static void
test_segments(struct remarks *rm)
{
	struct emit_opts o;
	char errbuf[ERRBUF_SIZE];
	struct diagram *d;
	static const char *const names[] = {
	    "TCP SYN",
	    "TCP SYN+ACK",
	    "TCP ACK",
	    "+OK ready",
	    "USER alice",
	    "TCP ACK",
	    "+OK",
	    "PASS secret",
	    "-ERR bad<0x01>pass<0xff>",
	    "[Retransmission] PASS secret",
	    "TCP ACK",
	    "TCP ACK",
	    "QUIT",
	    "+OK bye",
	    "TCP FIN+ACK",
	    "TCP FIN+ACK",
	    "TCP ACK",
	};
	guint i;

	memset(&o, 0, sizeof(o));
	d = diagram_build(S, &o, rm, errbuf);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	CHECK_EQ_U(d->rows->len, G_N_ELEMENTS(names));
	for (i = 0; i < d->rows->len && i < G_N_ELEMENTS(names); i++) {
		CHECK_STR(row(d, i)->name, names[i]);
		CHECK_EQ_U(row(d, i)->step, i + 1);
		CHECK(g_utf8_validate(row(d, i)->name, -1, NULL));
	}
	CHECK_STR(d->lifeline[DG_CLIENT], "POP3 Client");
	CHECK_STR(d->addr[DG_CLIENT], "192.168.1.10:40000");
	CHECK_STR(d->addr[DG_SERVER], "10.0.0.25:110");
	CHECK_STR(row(d, 0)->params, "(SYN)");
	CHECK_STR(row(d, 1)->params, "(SYN, ACK)");
	CHECK_STR(row(d, 4)->params, "(PSH, ACK), TCP Segment Length = 12");
	CHECK_STR(row(d, 11)->params, "(ACK), duplicate ACK");
	CHECK_STR(row(d, 14)->params, "(FIN, ACK)");
	/* Styles: TCP grey, POP3 normal, -ERR red, the retransmission flagged. */
	CHECK_EQ_U(row(d, 0)->style, DG_STYLE_BACKGROUND);
	CHECK_EQ_U(row(d, 4)->style, DG_STYLE_NORMAL);
	CHECK_EQ_U(row(d, 8)->style, DG_STYLE_ERROR);
	CHECK_EQ_U(row(d, 9)->style, DG_STYLE_RETRANS);
	CHECK(row(d, 9)->flags & DG_F_RETRANS);
	CHECK_EQ_U(row(d, 4)->kind, DG_KIND_COMMAND);
	CHECK_EQ_U(row(d, 3)->kind, DG_KIND_REPLY);
	/* Phases: setup, authorization (PASS failed: no transaction), release. */
	CHECK_EQ_U(row(d, 2)->phase, DG_PHASE_SETUP);
	CHECK_EQ_U(row(d, 3)->phase, DG_PHASE_AUTH);
	CHECK_EQ_U(row(d, 12)->phase, DG_PHASE_AUTH); /* QUIT in AUTHORIZATION: no UPDATE */
	CHECK_EQ_U(row(d, 14)->phase, DG_PHASE_RELEASE);
	CHECK_EQ_U(row(d, 16)->phase, DG_PHASE_RELEASE);
	/* Times relative to the first packet, deltas to the row before. */
	CHECK_EQ_U(row(d, 3)->t_us, 30000);
	CHECK_EQ_U(row(d, 3)->delta_us, 10000);
	/* Remarks from the templates, with the session's values. */
	CHECK(strstr(row(d, 0)->remark, "three way handshake") != NULL);
	CHECK_STR(row(d, 2)->remark, "");
	CHECK(strstr(row(d, 4)->remark, "(alice)") != NULL);
	CHECK(strstr(row(d, 7)->remark, "in the clear!") != NULL);
	CHECK(strstr(row(d, 8)->remark, "rejects the password") != NULL);
	CHECK(strstr(row(d, 9)->remark, "(PASS secret)") != NULL);
	CHECK(strstr(row(d, 14)->remark, "client side") != NULL);
	CHECK(strstr(row(d, 15)->remark, "server side") != NULL);
	CHECK(strstr(row(d, 16)->remark, "client acknowledges the FIN") != NULL);
	CHECK(strstr(d->title, "192.168.1.10:40000") != NULL);
	diagram_free(d);

	/* --fold-acks: rows 11 and 12 (two client ACKs) become one (a duplicate ACK stays alone). */
	o.fold_acks = true;
	d = diagram_build(S, &o, rm, errbuf);
	CHECK(d != NULL && d->rows->len == G_N_ELEMENTS(names));
	diagram_free(d);
	g_array_index(S->segs, struct seg_rec, 11).marks = 0;
	d = diagram_build(S, &o, rm, errbuf);
	g_array_index(S->segs, struct seg_rec, 11).marks = SEG_DUP_ACK;
	CHECK(d != NULL);
	if (d != NULL) {
		CHECK_EQ_U(d->rows->len, G_N_ELEMENTS(names) - 1);
		CHECK_STR(row(d, 10)->name, "2 x TCP ACK");
		CHECK_EQ_U(row(d, 10)->count, 2);
		CHECK(row(d, 10)->flags & DG_F_FOLDED);
		CHECK_STR(row(d, 11)->name, "QUIT");
		CHECK_EQ_U(row(d, 11)->step, 12);
		diagram_free(d);
	}
}

static void
test_messages(struct remarks *rm)
{
	struct emit_opts o;
	char errbuf[ERRBUF_SIZE];
	struct diagram *d;
	static const char *const names[] = {
	    "TCP SYN",
	    "TCP SYN+ACK",
	    "+OK ready",
	    "USER alice",
	    "+OK",
	    "PASS secret",
	    "-ERR bad<0x01>pass<0xff>",
	    "QUIT",
	    "+OK bye",
	    "TCP FIN+ACK",
	    "TCP FIN+ACK",
	};
	guint i;

	memset(&o, 0, sizeof(o));
	o.detail = "messages";
	d = diagram_build(S, &o, rm, errbuf);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	CHECK_EQ_U(d->rows->len, G_N_ELEMENTS(names));
	for (i = 0; i < d->rows->len && i < G_N_ELEMENTS(names); i++)
		CHECK_STR(row(d, i)->name, names[i]);
	CHECK_STR(row(d, 3)->params, "(12 octets, 1 segment)");
	/* The PASS went twice: one row, the retransmission noted. */
	CHECK_STR(row(d, 5)->params, "(13 octets, 1 segment, 1 retransmission)");
	CHECK(row(d, 5)->flags & DG_F_RETRANS);
	CHECK_EQ_U(row(d, 6)->style, DG_STYLE_ERROR);
	diagram_free(d);
}

static void
test_options(struct remarks *rm)
{
	struct emit_opts o;
	char errbuf[ERRBUF_SIZE];
	struct diagram *d;
	static const char *aliases[] = {"10.0.0.25=mail.example.com", "192.168.1.10:40000=laptop"};
	static const char *bad[] = {"10.0.0.25"};

	memset(&o, 0, sizeof(o));
	o.aliases = aliases;
	o.naliases = 2;
	d = diagram_build(S, &o, rm, errbuf);
	CHECK(d != NULL);
	if (d != NULL) {
		CHECK_STR(d->lifeline[DG_SERVER], "mail.example.com");
		CHECK_STR(d->lifeline[DG_CLIENT], "laptop");
		CHECK_STR(d->addr[DG_SERVER], "10.0.0.25:110");
		diagram_free(d);
	}
	o.aliases = bad;
	o.naliases = 1;
	CHECK(diagram_build(S, &o, rm, errbuf) == NULL);
	CHECK(strstr(errbuf, "ADDR=NAME") != NULL);
	memset(&o, 0, sizeof(o));
	o.detail = "bytes";
	CHECK(diagram_build(S, &o, rm, errbuf) == NULL);
	CHECK(strstr(errbuf, "--detail bytes") != NULL);
}

static void
test_helpers(void)
{
	char buf[32];
	GPtrArray *l;
	char *c;

	dg_fmt_time(0, false, buf, sizeof(buf));
	CHECK_STR(buf, "0.000");
	dg_fmt_time(1234567, false, buf, sizeof(buf));
	CHECK_STR(buf, "1.235");
	dg_fmt_time(10000, true, buf, sizeof(buf));
	CHECK_STR(buf, "+0.010");
	l = dg_wrap("The client issues the STAT command to enquire", 20);
	CHECK_EQ_U(l->len, 3);
	CHECK_STR(g_ptr_array_index(l, 0), "The client issues");
	CHECK_STR(g_ptr_array_index(l, 1), "the STAT command to");
	g_ptr_array_free(l, TRUE);
	l = dg_wrap("averyveryverylongword", 8);
	CHECK_EQ_U(l->len, 3);
	g_ptr_array_free(l, TRUE);
	l = dg_wrap("", 8);
	CHECK_EQ_U(l->len, 0);
	g_ptr_array_free(l, TRUE);
	c = dg_clean("a\r\nb\tc\x1b\xc3\xa9\xff");
	CHECK_STR(c, "a<cr><nl>b c<0x1b>\xc3\xa9<0xff>");
	g_free(c);
	CHECK_EQ_U(dg_strwidth("\xc3\xa9t\xc3\xa9"), 3);
}

/* Runs an emitter over S into memory; returns what it wrote (g_free). */
static char *
run(const struct emitter *em, struct emit_opts *o, size_t *len, int *rc)
{
	char errbuf[ERRBUF_SIZE] = "", *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct run_stats st;
	void *ctx;

	memset(&st, 0, sizeof(st));
	ctx = em->begin(f, o, errbuf);
	*rc = ctx != NULL ? em->session(ctx, f, S, o, errbuf) : -1;
	if (ctx != NULL && *rc == 0)
		*rc = em->end(ctx, f, &st, o, errbuf);
	else if (ctx != NULL)
		em->end(ctx, f, NULL, o, errbuf); /* frees the context only */
	if (*rc != 0)
		fprintf(stderr, "%s: %s\n", em->name, errbuf);
	fclose(f);
	if (len != NULL)
		*len = n;
	return buf;
}

static void
test_emitters(void)
{
	struct emit_opts o;
	char *out;
	size_t len;
	int rc;

	memset(&o, 0, sizeof(o));
	o.templates = TMPL_DIR;
	o.ascii = true;
	o.width = 120;
	out = run(&emit_flow, &o, NULL, &rc);
	CHECK(rc == 0);
	CHECK(strstr(out, "USER alice") != NULL);
	CHECK(strstr(out, "|------") != NULL);      /* ASCII arrows */
	CHECK(strstr(out, "\xe2\x94\x82") == NULL); /* no box drawing with --ascii */
	CHECK(strstr(out, "-ERR bad<0x01>pass<0xff>") != NULL);
	CHECK(strstr(out, "   9!") != NULL); /* the -ERR row is marked */
	free(out);

	out = run(&emit_mermaid, &o, NULL, &rc);
	CHECK(rc == 0);
	CHECK(g_str_has_prefix(out, "sequenceDiagram\n"));
	CHECK(strstr(out, "S-xC: 9. -ERR bad#lt;0x01#gt;pass#lt;0xff#gt;") != NULL);
	CHECK(strstr(out, "C-->>S: 1. TCP SYN<br/>(SYN)") != NULL);
	CHECK(strstr(out, "Note over C,S: TCP connection setup") != NULL);
	free(out);

	out = run(&emit_plantuml, &o, NULL, &rc);
	CHECK(rc == 0);
	CHECK(g_str_has_prefix(out, "@startuml\n"));
	CHECK(strstr(out, "@enduml\n") != NULL);
	CHECK(strstr(out, "== POP3 authorization ==") != NULL);
	CHECK(strstr(out, "<U+003C>0x01<U+003E>") != NULL);
	free(out);

	out = run(&emit_fdl, &o, NULL, &rc);
	CHECK(rc == 0);
	CHECK(strstr(out, "feature \"") != NULL);
	CHECK(strstr(out, "endfeature") != NULL);
	CHECK(strstr(out,
	          "USER(\"alice\", \"(PSH, ACK), TCP Segment Length = 12\") : pop3_client -> "
	          "pop3_server") != NULL);
	CHECK(strstr(out, "TCP_SYN_ACK(\"(SYN, ACK)\") : pop3_server -> pop3_client") != NULL);
	free(out);

	out = run(&emit_dot, &o, NULL, &rc);
	CHECK(rc == 0);
	CHECK(strstr(out, "digraph popflow") != NULL);
	CHECK(strstr(out, "layout=nop2") != NULL);
	CHECK(strstr(out, "\"USER alice\"") != NULL);
	free(out);

	out = run(&emit_svg, &o, &len, &rc);
	CHECK(rc == 0);
	CHECK(len > 0 && strstr(out, "<svg") != NULL && strstr(out, "</svg>") != NULL);
	CHECK(strstr(out, "&#45;ERR bad&lt;0x01&gt;pass&lt;0xff&gt;") != NULL ||
	    strstr(out, "-ERR bad&lt;0x01&gt;pass&lt;0xff&gt;") != NULL);
	free(out);

	/* --session selects; a missing one draws nothing (main reports it: exit status 6). */
	o.only_session = 7;
	out = run(&emit_mermaid, &o, &len, &rc);
	CHECK(rc == 0);
	CHECK_EQ_U(len, 0);
	free(out);
	o.only_session = 0;

	/* Missing templates: an error before any session. */
	o.templates = "/nonexistent";
	out = run(&emit_flow, &o, &len, &rc);
	CHECK(rc != 0);
	free(out);
}

int
main(void)
{
	struct remarks *rm;

	build();
	rm = templates();
	CHECK(rm != NULL);
	if (rm != NULL) {
		test_segments(rm);
		test_messages(rm);
		test_options(rm);
	}
	test_helpers();
	test_emitters();
	remarks_free(rm);
	session_free(S);
	return tl_done();
}
