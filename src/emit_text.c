/* emit_text.c - the human transcript: "Server: +OK ..." per line as in the seed, and with -v the segment timeline. */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "creds.h"
#include "describe.h"
#include "emit.h"
#include "frameid.h"
#include "mime.h"
#include "pop3.h"
#include "tls.h"
#include "util.h"

/* Colours (ECMA-48 SGR) with --color: -ERR replies, anomalies, login attempts. */
#define COLOR_ERR "\033[31m"
#define COLOR_ANOMALY "\033[33m"
#define COLOR_CRED "\033[35m"
#define COLOR_OFF "\033[0m"

/* Login attempts of the whole run, for the summary at the end (lines, capped). */
#define TEXT_MAX_CRED_LINES 10000
struct text_run {
	GPtrArray *creds; /* lines, at most TEXT_MAX_CRED_LINES */
	uint64_t creds_total, creds_clear, creds_ok;
};

/* One session's text as it is written: the lines, and what --time and --line-times need. */
struct text_out {
	GString *out;
	const struct emit_opts *o;
	const struct session *s;
	struct ts prev; /* --time delta: the time of the line before */
	int stamp_w;    /* --line-times: lines without a time of their own get as many spaces */
};

/* A time as --time writes it on a line or in the -v timeline; prev: the line before's (delta). */
static void
fmt_time(const struct emit_opts *o, const struct session *s, struct ts t, struct ts prev, char *buf,
    size_t len)
{
	switch (o->time) {
	case EMIT_TIME_UTC:
		util_ts_date(t, false, buf, len);
		break;
	case EMIT_TIME_LOCAL:
		util_ts_date(t, true, buf, len);
		break;
	case EMIT_TIME_EPOCH:
		util_ts_epoch(t, buf, len);
		break;
	case EMIT_TIME_DELTA:
		util_us_secs(ts_diff_us(prev, t), buf, len);
		break;
	case EMIT_TIME_SESSION:
		util_us_secs(ts_diff_us(s->start, t), buf, len);
		break;
	case EMIT_TIME_CAPTURE:
		util_us_secs(ts_diff_us(o->capture_start != NULL ? *o->capture_start : s->start, t),
		    buf, len);
		break;
	}
}

/* The columns fmt_time() fills, so that stamps line up ("2026-11-27 10:00:00.123456", "   12.000300"). */
static int
stamp_width(enum emit_time t)
{
	switch (t) {
	case EMIT_TIME_UTC:
	case EMIT_TIME_LOCAL:
		return 26;
	case EMIT_TIME_EPOCH:
		return 17;
	default:
		return 11;
	}
}

/* The session header's start: "2026-11-27 10:00:00.123456 UTC", "... +0100", "epoch ...", "... s into the capture". */
static void
header_time(const struct emit_opts *o, const struct session *s, char *buf, size_t len)
{
	char t[UTIL_TS_LEN];

	switch (o->time) {
	case EMIT_TIME_LOCAL:
		util_ts_local(s->start, buf, len);
		break;
	case EMIT_TIME_EPOCH:
		util_ts_epoch(s->start, t, sizeof(t));
		g_snprintf(buf, len, "epoch %s", t);
		break;
	case EMIT_TIME_CAPTURE:
		fmt_time(o, s, s->start, s->start, t, sizeof(t));
		g_snprintf(buf, len, "%s s into the capture", t);
		break;
	default: /* utc; delta and session: the lines are relative, the header says when */
		util_ts_human(s->start, buf, len);
		break;
	}
}

/*
 * Starts a line of the transcript: with --line-times its time (ts NULL:
 * spaces as wide), then with --color its colour (color NULL: none).
 */
static void
line_start(struct text_out *t, const struct ts *ts, const char *color)
{
	char buf[UTIL_TS_LEN];

	if (t->o->line_times) {
		if (ts != NULL) {
			fmt_time(t->o, t->s, *ts, t->prev, buf, sizeof(buf));
			t->prev = *ts;
		} else {
			buf[0] = '\0';
		}
		g_string_append_printf(t->out, "%*s ", t->stamp_w, buf);
	}
	if (color != NULL && t->o->color)
		g_string_append(t->out, color);
}

/* Ends a line line_start() began. */
static void
line_end(struct text_out *t, const char *color)
{
	if (color != NULL && t->o->color)
		g_string_append(t->out, COLOR_OFF);
	g_string_append_c(t->out, '\n');
}

/* A whole line without a time of its own (notes in brackets, Mail:, Saved as). */
static void G_GNUC_PRINTF(2, 3) line_printf(struct text_out *t, const char *fmt, ...)
{
	va_list ap;

	line_start(t, NULL, NULL);
	va_start(ap, fmt);
	g_string_append_vprintf(t->out, fmt, ap);
	va_end(ap);
	line_end(t, NULL);
}

static void
put_msg(struct text_out *t, const char *who, const struct msg *m)
{
	GString *out = t->out;
	bool err = (m->kind == MSG_STATUS || m->kind == MSG_GREETING) && m->text_len >= 4 &&
	    g_ascii_strncasecmp(m->text, "-ERR", 4) == 0;
	const char *color = err ? COLOR_ERR : NULL;

	line_start(t, &m->ts, color);
	g_string_append(out, who);
	g_string_append(out, ": ");
	util_append_printable(out, m->text, m->text_len);
	if (m->text_len < m->wire_len)
		g_string_append_printf(
		    out, " [... %zu octet%s in all]", m->wire_len, util_plural(m->wire_len));
	if (m->cut)
		g_string_append(out, " [cut: the rest of the line was not captured]");
	line_end(t, color);
}

/* Lines of kept body data, re-stuffed so they read as on the wire. */
static void
put_body_lines(struct text_out *t, const struct msg *m)
{
	const char *line;
	size_t pos = 0, n;
	bool first = true;

	while (util_next_line(m->data, &pos, &line, &n)) {
		line_start(t, first ? &m->ts : NULL, NULL); /* the body's time on its first line */
		first = false;
		g_string_append(t->out, "Server: ");
		if (n > 0 && line[0] == '.')
			g_string_append_c(t->out, '.');
		util_append_printable(t->out, line, n);
		line_end(t, NULL);
	}
}

/* When a message's last byte arrived: its last segment's time (the first byte's if none). */
static struct ts
msg_end_ts(const struct session *s, const struct msg *m)
{
	if (m->segs != NULL && m->segs->len > 0)
		return g_array_index(
		    s->segs, struct seg_rec, g_array_index(m->segs, guint, m->segs->len - 1))
		    .ts;
	return m->ts;
}

static void
put_quoted(GString *out, const char *s, size_t n)
{
	g_string_append_c(out, '"');
	util_append_printable(out, s, n);
	g_string_append_c(out, '"');
}

/*
 * A header value as an RFC 5322 quoted-string ('"' and '\\' as quoted-pairs),
 * other bytes as util_append_printable() writes them (as every line of the
 * report): the quotes around it cannot be mistaken.
 */
static void
put_qstring(GString *out, const char *v)
{
	GString *q = g_string_sized_new(strlen(v) + 2);

	g_string_append_c(q, '"');
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			g_string_append_c(q, '\\');
		g_string_append_c(q, *v);
	}
	g_string_append_c(q, '"');
	util_append_printable(out, q->str, q->len);
	g_string_free(q, TRUE);
}

/* name "value"; for an address list (quoted, mime.h), name "Name" <addr>, ... */
static void
put_field(GString *out, bool *first, const char *name, const char *v, const char *list)
{
	if (v == NULL)
		return;
	g_string_append(out, *first ? " " : ", ");
	*first = false;
	g_string_append(out, name);
	g_string_append_c(out, ' ');
	if (list != NULL)
		util_append_printable(out, list, strlen(list));
	else
		put_qstring(out, v);
}

/* The headers GMime read from a retrieved message (encoded words decoded). */
static void
put_mail(struct text_out *t, const struct mail_info *mi, bool partial)
{
	GString *out = t->out;
	bool first = true;

	line_start(t, NULL, NULL);
	g_string_append(out, "  Mail:");
	put_field(out, &first, "From", mi->from, mi->from_q);
	put_field(out, &first, "To", mi->to, mi->to_q);
	put_field(out, &first, "Cc", mi->cc, mi->cc_q);
	put_field(out, &first, "Subject", mi->subject, NULL);
	put_field(out, &first, "Date", mi->date, NULL);
	put_field(out, &first, "Message-ID", mi->message_id, NULL);
	g_string_append_printf(out, "%s%u attachment%s%s", first ? " " : ", ", mi->attachments,
	    util_plural(mi->attachments),
	    partial ? " (the message is cut short in the capture: values may be incomplete)" : "");
	line_end(t, NULL);
}

/* One login attempt on one line: mechanism, user, secret, outcome. */
static void
put_cred(GString *out, const struct cred *c)
{
	const char *oc = cred_outcome_name(c->outcome);

	g_string_append_printf(out, "txn %u", c->txn);
	if (c->frame > 0) {
		char f[FRAMEID_PHRASE_LEN];
		frameid_phrase(c->frame, f, sizeof(f));
		g_string_append(out, ", ");
		util_append_printable(out, f, strlen(f));
	}
	g_string_append(out, ": ");
	if (strcmp(c->mechanism, "USER") == 0)
		g_string_append(out, "USER/PASS");
	else if (strcmp(c->mechanism, "APOP") == 0)
		g_string_append(out, "APOP");
	else
		g_string_append_printf(out, "AUTH %s", c->mechanism);
	if (c->user != NULL) {
		g_string_append(out, " user ");
		put_quoted(out, c->user, c->user_len);
	}
	if (c->authzid != NULL) {
		g_string_append(out, " authzid ");
		put_quoted(out, c->authzid, c->authzid_len);
	}
	if (c->secret != NULL) {
		g_string_append_printf(out, ", %s ", cred_secret_name(c->secret_kind));
		put_quoted(out, c->secret, c->secret_len);
		if (c->cleartext)
			g_string_append(out, " in cleartext");
	}
	if (c->salt != NULL) {
		g_string_append(
		    out, strcmp(c->mechanism, "APOP") == 0 ? ", timestamp " : ", challenge ");
		put_quoted(out, c->salt, c->salt_len);
	}
	g_string_append(out, ": ");
	if (oc == NULL) {
		g_string_append(out, "no reply captured");
	} else {
		g_string_append(out, oc);
		if (c->reply != NULL &&
		    (c->outcome == CRED_OUTCOME_OK || c->outcome == CRED_OUTCOME_ERR)) {
			g_string_append_c(out, ' ');
			util_append_printable(out, c->reply, strlen(c->reply));
		}
	}
	if (c->note != NULL) {
		g_string_append(out, " (");
		util_append_printable(out, c->note, strlen(c->note));
		g_string_append_c(out, ')');
	}
}

static void
put_creds(struct text_run *run, GString *out, const struct session *s, const char *cli,
    const char *srv, const struct emit_opts *o)
{
	guint i;

	if (s->creds == NULL || s->creds->len == 0)
		return;
	g_string_append(out, "  Credentials:\n");
	for (i = 0; i < s->creds->len; i++) {
		const struct cred *c = g_ptr_array_index(s->creds, i);
		GString *line = g_string_new(NULL);

		put_cred(line, c);
		g_string_append_printf(out, "    %s%s%s\n", o->color ? COLOR_CRED : "", line->str,
		    o->color ? COLOR_OFF : "");
		run->creds_total++;
		if (c->cleartext && c->secret != NULL)
			run->creds_clear++;
		if (c->outcome == CRED_OUTCOME_OK)
			run->creds_ok++;
		if (run->creds->len < TEXT_MAX_CRED_LINES)
			g_ptr_array_add(run->creds,
			    g_strdup_printf("  session %" PRIu64 " (%s -> %s), %s", s->id, cli, srv,
			        line->str));
		g_string_free(line, TRUE);
	}
}

/*
 * --listings summary: a LIST or UIDL listing as one line, how many
 * messages and (LIST) the total of their sizes, from the lines kept.
 */
static void
put_listing_summary(struct text_out *tx, const struct txn *t, const struct msg *m)
{
	GString *out = tx->out;
	uint64_t total = 0, bad = 0;
	unsigned long long n, size;
	size_t pos = 0, len;
	const char *line;
	char buf[64];

	line_start(tx, m != NULL ? &m->ts : NULL, NULL);
	g_string_append_printf(out, "Server: [listing: %" PRIu64 " %s", t->body_lines,
	    t->cmd == POP3_CMD_UIDL ? (t->body_lines == 1 ? "unique id" : "unique ids")
	                            : (t->body_lines == 1 ? "message" : "messages"));
	if (t->cmd == POP3_CMD_LIST && m != NULL && m->data != NULL && !m->data_truncated) {
		while (util_next_line(m->data, &pos, &line, &len)) {
			/* "msg SP size" (RFC 1939 section 5); a longer line is not one. */
			g_strlcpy(buf, line, MIN(len + 1, sizeof(buf)));
			if (len < sizeof(buf) && sscanf(buf, "%llu %llu", &n, &size) == 2)
				total += size;
			else
				bad++;
		}
		g_string_append_printf(out, ", %" PRIu64 " octets", total);
		if (bad > 0)
			g_string_append_printf(out, " (%" PRIu64 " line%s not \"msg size\")", bad,
			    bad == 1 ? "" : "s");
	}
	if (t->partial)
		g_string_append(out, ", cut short");
	g_string_append_c(out, ']');
	line_end(tx, NULL);
}

static void
put_body(struct text_out *tx, const struct txn *t)
{
	const struct emit_opts *o = tx->o;
	const struct msg *m = t->body_msg;
	bool mail = t->cmd == POP3_CMD_RETR || t->cmd == POP3_CMD_TOP;
	struct ts end;

	if (o->listings == EMIT_LISTINGS_SUMMARY &&
	    (t->cmd == POP3_CMD_LIST || t->cmd == POP3_CMD_UIDL)) {
		put_listing_summary(tx, t, m);
	} else if (m != NULL && m->data != NULL && (!mail || o->bodies)) {
		put_body_lines(tx, m);
		if (m->data_truncated)
			line_printf(tx,
			    "Server: [... %" PRIu64 " octet%s in %" PRIu64 " line%s in all]",
			    t->body_octets, util_plural(t->body_octets), t->body_lines,
			    util_plural(t->body_lines));
	} else if (mail) {
		line_start(tx, m != NULL ? &m->ts : NULL, NULL);
		g_string_append_printf(tx->out,
		    "Server: [%s: %" PRIu64 " octet%s, %" PRIu64 " line%s%s]",
		    t->cmd == POP3_CMD_TOP ? "message top" : "message body", t->body_octets,
		    util_plural(t->body_octets), t->body_lines, util_plural(t->body_lines),
		    t->partial ? " seen, cut short" : "");
		line_end(tx, NULL);
	}
	if (m != NULL && m->complete) {
		end = msg_end_ts(tx->s, m); /* when the final "." arrived */
		line_start(tx, &end, NULL);
		g_string_append(tx->out, "Server: .");
		line_end(tx, NULL);
	} else {
		line_printf(tx, "Server: [no terminating '.': the reply was cut short]");
	}
	if (t->mail != NULL &&
	    (t->mail->from != NULL || t->mail->to != NULL || t->mail->subject != NULL ||
	        t->mail->date != NULL || t->mail->message_id != NULL || t->mail->attachments > 0))
		put_mail(tx, t->mail, t->partial);
	if (t->extracted != NULL) {
		line_start(tx, NULL, NULL);
		g_string_append(tx->out, "  Saved as ");
		util_append_printable(tx->out, t->extracted, strlen(t->extracted));
		line_end(tx, NULL);
	}
}

static void
put_txn(struct text_out *tx, const struct txn *t)
{
	guint i;
	const struct msg *m;

	for (i = 0; i < t->msgs->len; i++) {
		m = g_ptr_array_index(t->msgs, i);
		switch (m->kind) {
		case MSG_COMMAND:
		case MSG_SASL:
			put_msg(tx, "Client", m);
			break;
		case MSG_GREETING:
		case MSG_STATUS:
		case MSG_CHALLENGE:
			put_msg(tx, "Server", m);
			break;
		case MSG_BODY:
			put_body(tx, t);
			break;
		case MSG_OPAQUE:
			break;
		}
	}
	if (t->reply_not_pop3)
		line_printf(tx, "Server: [neither +OK nor -ERR: the outcome is unknown]");
	else if (t->cmd != POP3_CMD_GREETING && t->status == POP3_STATUS_NONE)
		line_printf(tx, "Server: [no reply captured]");
	else if (t->multiline && t->body_msg == NULL)
		put_body(tx, t);
}

static void
put_timeline(GString *out, const struct session *s, const struct emit_opts *o)
{
	guint i;
	const struct seg_rec *r;
	char *label, *params, marks[128], when[UTIL_TS_LEN], fid[FRAMEID_PHRASE_LEN];
	int64_t us;
	struct ts prev = s->start;
	int shift[2] = {session_win_shift(s, DIR_TO_SERVER), session_win_shift(s, DIR_TO_CLIENT)};

	g_string_append(out, "  Segments:\n");
	for (i = 0; i < s->segs->len; i++) {
		r = &g_array_index(s->segs, struct seg_rec, i);
		label = describe_segment(s, r);
		params = describe_params(r, false);
		us = ts_diff_us(s->start, r->ts);
		if (r->marks & SEG_SYNTHETIC)
			g_string_append(out, "  (synth)");
		else {
			frameid_format(r->frame, fid, sizeof(fid));
			g_string_append(out, "  ");
			g_string_append_printf(out, "%*s", (int)(7 - MIN(strlen(fid), 7)), "");
			util_append_printable(out, fid, strlen(fid));
		}
		if (o->time_given) { /* --time: in its form; else seconds since the first packet */
			fmt_time(o, s, r->ts, prev, when, sizeof(when));
			g_string_append_printf(out, "  %*s", stamp_width(o->time), when);
		} else {
			g_string_append_printf(out, "  %4" PRId64 ".%06" PRId64, us / 1000000,
			    (us < 0 ? -us : us) % 1000000);
		}
		prev = r->ts;
		g_string_append_printf(out, "  %s  %s %s  seq=%u ack=%u",
		    r->dir == DIR_TO_SERVER ? "C->S" : "S->C", label, params, r->rel_seq,
		    r->rel_ack);
		/* The window as the receiver reads it (RFC 7323), and as sent; a SYN's is never scaled. */
		if ((r->flags & TH_SYN) || (r->marks & SEG_SYNTHETIC) || shift[r->dir] == 0)
			g_string_append_printf(out, " win=%u", r->win);
		else if (shift[r->dir] < 0)
			g_string_append_printf(out, " win=%u (raw, scale unknown)", r->win);
		else
			g_string_append_printf(out, " win=%" PRIu64 " (raw %u, scale %u)",
			    (uint64_t)r->win << shift[r->dir], r->win, 1u << shift[r->dir]);
		describe_marks(r->marks, marks, sizeof(marks));
		if (marks[0] != '\0')
			g_string_append_printf(out, "  [%s]", marks);
		g_string_append_c(out, '\n');
		g_free(label);
		g_free(params);
	}
	if (s->segs_dropped > 0)
		g_string_append_printf(out, "  [%" PRIu64 " more segment%s not listed]\n",
		    s->segs_dropped, util_plural(s->segs_dropped));
}

/* "TLS: TLS 1.3, TLS_AES_128_GCM_SHA256, SNI x, ALPN pop3, decrypted" (no key material, ever). */
static void
text_tls(GString *out, const struct tls_info *t)
{
	char b[16], c[16];

	g_string_append_printf(out, "TLS: %s, %s", tls_version_name(t->version, b, sizeof(b)),
	    tls_cipher_name(t->cipher, c, sizeof(c)));
	if (t->sni != NULL)
		g_string_append_printf(out, ", SNI %s", t->sni);
	if (t->alpn != NULL)
		g_string_append_printf(out, ", ALPN %s", t->alpn);
	if (t->decrypted)
		g_string_append(out, ", decrypted");
	else if (t->keys)
		g_string_append(out, ", keys found, not decrypted");
	else
		g_string_append(out, ", not decrypted (no key)");
	if (t->failed[0] + t->failed[1] > 0)
		g_string_append_printf(out, ", %" PRIu64 " record%s did not verify",
		    t->failed[0] + t->failed[1], util_plural(t->failed[0] + t->failed[1]));
}

static void *
text_begin(FILE *f, const struct emit_opts *o, char *errbuf)
{
	struct text_run *run = g_new0(struct text_run, 1);

	(void)f;
	(void)o;
	(void)errbuf;
	run->creds = g_ptr_array_new_with_free_func(g_free);
	return run;
}

static int
text_session(void *ctx, FILE *f, const struct session *s, const struct emit_opts *o, char *errbuf)
{
	GString *out = g_string_new(NULL);
	char cli[UTIL_ADDR_LEN + 8], srv[UTIL_ADDR_LEN + 8], when[UTIL_TS_LEN + 24];
	char cid[UTIL_COMMUNITY_ID_LEN];
	int64_t us = ts_diff_us(s->start, s->last);
	guint i;
	const struct anomaly *a;
	struct text_out tx = {out, o, s, s->start, stamp_width(o->time)};
	int rc = 0;

	util_endpoint(&s->client, cli, sizeof(cli));
	util_endpoint(&s->server, srv, sizeof(srv));
	header_time(o, s, when, sizeof(when));
	g_string_append_printf(out,
	    "Session %" PRIu64 ": %s -> %s, %s, %" PRId64 ".%06" PRId64 " s, ended by %s", s->id,
	    cli, srv, when, us / 1000000, us % 1000000, end_reason_name(s->end_reason));
	if (s->handshake != HS_SEEN)
		g_string_append_printf(out, ", handshake %s", handshake_name(s->handshake));
	if (s->proto != PROTO_POP3)
		g_string_append_printf(out, ", %s", proto_name(s->proto));
	g_string_append_c(out, '\n');
	/* What identifies the session whatever the filter (README, "Output"). */
	util_community_id(&s->client, &s->server, 0, cid, sizeof(cid));
	g_string_append_printf(
	    out, "Community ID %s, first frame %" PRIu64, cid, frameid_number(s->first_frame));
	if (frameid_capture_name(s->first_frame) != NULL) {
		g_string_append(out, " in ");
		util_append_printable(out, frameid_capture_name(s->first_frame),
		    strlen(frameid_capture_name(s->first_frame)));
	}
	g_string_append_c(out, '\n'); /* part of the header: no --line-times stamp */
	if (s->tls != NULL && s->tls->version != 0) {
		line_start(&tx, NULL, NULL);
		text_tls(out, s->tls);
		line_end(&tx, NULL);
	}
	if (s->greeting != NULL)
		put_txn(&tx, s->greeting);
	for (i = 0; i < s->txns->len; i++)
		put_txn(&tx, g_ptr_array_index(s->txns, i));
	if ((s->proto == PROTO_TLS || s->proto == PROTO_POP3S) && s->tls != NULL &&
	    s->tls->decrypted)
		line_printf(&tx,
		    "[TLS %s: decrypted %" PRIu64 " byte%s in %" PRIu64
		    " record%s to the server, %" PRIu64 " byte%s in %" PRIu64
		    " record%s to the client]",
		    s->proto == PROTO_TLS ? "after STLS" : "from the first byte (POP3S)",
		    s->tls->bytes[DIR_TO_SERVER], util_plural(s->tls->bytes[DIR_TO_SERVER]),
		    s->tls->app_records[DIR_TO_SERVER],
		    util_plural(s->tls->app_records[DIR_TO_SERVER]), s->tls->bytes[DIR_TO_CLIENT],
		    util_plural(s->tls->bytes[DIR_TO_CLIENT]), s->tls->app_records[DIR_TO_CLIENT],
		    util_plural(s->tls->app_records[DIR_TO_CLIENT]));
	else if (s->proto == PROTO_TLS || s->proto == PROTO_POP3S)
		line_printf(&tx,
		    "[TLS %s: %" PRIu64 " byte%s in %" PRIu64 " segment%s to the server, %" PRIu64
		    " byte%s in %" PRIu64 " segment%s to the client, not decrypted]",
		    s->proto == PROTO_TLS ? "from here on" : "from the first byte (POP3S)",
		    s->unparsed[DIR_TO_SERVER], util_plural(s->unparsed[DIR_TO_SERVER]),
		    s->tls_segments[DIR_TO_SERVER], util_plural(s->tls_segments[DIR_TO_SERVER]),
		    s->unparsed[DIR_TO_CLIENT], util_plural(s->unparsed[DIR_TO_CLIENT]),
		    s->tls_segments[DIR_TO_CLIENT], util_plural(s->tls_segments[DIR_TO_CLIENT]));
	else if (s->proto == PROTO_NOT_POP3)
		line_printf(&tx,
		    "[not POP3: %" PRIu64 " byte%s to the server, %" PRIu64
		    " byte%s to the client, not parsed]",
		    s->unparsed[DIR_TO_SERVER], util_plural(s->unparsed[DIR_TO_SERVER]),
		    s->unparsed[DIR_TO_CLIENT], util_plural(s->unparsed[DIR_TO_CLIENT]));
	put_creds(ctx, out, s, cli, srv, o);
	if (s->anomalies->len > 0) {
		g_string_append(out, "  Anomalies:\n");
		for (i = 0; i < s->anomalies->len; i++) {
			a = &g_array_index(s->anomalies, struct anomaly, i);
			g_string_append(out, o->color ? "    " COLOR_ANOMALY : "    ");
			if (a->frame > 0) {
				char fp[FRAMEID_PHRASE_LEN];
				frameid_phrase(a->frame, fp, sizeof(fp));
				util_append_printable(out, fp, strlen(fp));
				g_string_append(out, ": ");
			}
			g_string_append_printf(out, "%s: %s%s\n", anom_name(a->kind), a->detail,
			    o->color ? COLOR_OFF : "");
		}
	}
	if (o->verbose)
		put_timeline(out, s, o);
	g_string_append_c(out, '\n');
	if (fwrite(out->str, 1, out->len, f) != out->len || fflush(f) != 0) {
		util_write_error(errbuf);
		rc = -1;
	}
	g_string_free(out, TRUE);
	return rc;
}

static int
text_end(void *ctx, FILE *f, const struct run_stats *st, const struct emit_opts *o, char *errbuf)
{
	struct text_run *run = ctx;
	guint i;

	if (st != NULL && run->creds_total > 0 && !o->quiet) {
		/* The auditor's question last: which credentials crossed the wire, and did they work. */
		fprintf(f,
		    "Credentials: %" PRIu64 " login attempt%s, %" PRIu64
		    " with the password or token in cleartext, %" PRIu64 " accepted\n",
		    run->creds_total, util_plural(run->creds_total), run->creds_clear,
		    run->creds_ok);
		for (i = 0; i < run->creds->len; i++)
			fprintf(f, "%s%s%s\n", o->color ? COLOR_CRED : "",
			    (const char *)g_ptr_array_index(run->creds, i),
			    o->color ? COLOR_OFF : "");
		if (run->creds_total > TEXT_MAX_CRED_LINES)
			fprintf(f, "  [%" PRIu64 " more not listed]\n",
			    run->creds_total - TEXT_MAX_CRED_LINES);
		fputc('\n', f);
	}
	g_ptr_array_free(run->creds, TRUE);
	g_free(run);
	if (st == NULL)
		return 0; /* the output failed already */
	if (o->quiet)
		return fflush(f) == 0 ? 0 : (g_strlcpy(errbuf, "write error", ERRBUF_SIZE), -1);
	fprintf(f,
	    "popflow: %" PRIu64 " packet%s, %" PRIu64 " POP3 segment%s, %" PRIu64
	    " session%s, %" PRIu64 " transaction%s, %" PRIu64 " anomal%s",
	    st->packets, util_plural(st->packets), st->pop3_segments,
	    util_plural(st->pop3_segments), st->sessions, util_plural(st->sessions),
	    st->transactions, util_plural(st->transactions), st->anomalies,
	    st->anomalies == 1 ? "y" : "ies");
	if (st->attempts > 0)
		fprintf(f, ", %" PRIu64 " connection attempt%s refused or unanswered", st->attempts,
		    util_plural(st->attempts));
	if (st->fragments > 0)
		fprintf(f,
		    ", %" PRIu64 " IP fragment%s (%" PRIu64 " datagram%s put together, %" PRIu64
		    " fragment%s unused)",
		    st->fragments, util_plural(st->fragments), st->reassembled_datagrams,
		    util_plural(st->reassembled_datagrams), st->defrag_problems,
		    util_plural(st->defrag_problems));
	if (st->truncated + st->malformed > 0)
		fprintf(f, ", %" PRIu64 " undecodable frame%s", st->truncated + st->malformed,
		    util_plural(st->truncated + st->malformed));
	if (st->damaged)
		fprintf(f, ", capture file damaged");
	if (st->interrupted)
		fprintf(f, ", interrupted before the end of the file");
	fputc('\n', f);
	if (fflush(f) != 0) {
		util_write_error(errbuf);
		return -1;
	}
	return 0;
}

const struct emitter emit_text = {
    .name = "text",
    .help = "the message flow per session (-v adds the segment timeline)",
    .begin = text_begin,
    .session = text_session,
    .end = text_end,
};
