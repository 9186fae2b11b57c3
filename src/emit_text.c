/* emit_text.c - the human transcript: "Server: +OK ..." per line as in the seed, and with -v the segment timeline. */
#include <inttypes.h>
#include <string.h>

#include "creds.h"
#include "describe.h"
#include "emit.h"
#include "mime.h"
#include "pop3.h"
#include "tls.h"
#include "util.h"

/* Login attempts of the whole run, for the summary at the end (lines, capped). */
#define TEXT_MAX_CRED_LINES 10000
struct text_run {
	GPtrArray *creds; /* lines, at most TEXT_MAX_CRED_LINES */
	uint64_t creds_total, creds_clear, creds_ok;
};

static void
put_msg(GString *out, const char *who, const struct msg *m)
{
	g_string_append(out, who);
	g_string_append(out, ": ");
	util_append_printable(out, m->text, m->text_len);
	if (m->text_len < m->wire_len)
		g_string_append_printf(out, " [... %zu octets in all]", m->wire_len);
	if (m->cut)
		g_string_append(out, " [cut: the rest of the line was not captured]");
	g_string_append_c(out, '\n');
}

/* Lines of kept body data, re-stuffed so they read as on the wire. */
static void
put_body_lines(GString *out, const struct msg *m)
{
	const char *line;
	size_t pos = 0, n;

	while (util_next_line(m->data, &pos, &line, &n)) {
		g_string_append(out, "Server: ");
		if (n > 0 && line[0] == '.')
			g_string_append_c(out, '.');
		util_append_printable(out, line, n);
		g_string_append_c(out, '\n');
	}
}

static void
put_quoted(GString *out, const char *s, size_t n)
{
	g_string_append_c(out, '"');
	util_append_printable(out, s, n);
	g_string_append_c(out, '"');
}

static void
put_field(GString *out, bool *first, const char *name, const char *v)
{
	if (v == NULL)
		return;
	g_string_append(out, *first ? " " : ", ");
	*first = false;
	g_string_append(out, name);
	g_string_append_c(out, ' ');
	put_quoted(out, v, strlen(v));
}

/* The headers GMime read from a retrieved message (encoded words decoded). */
static void
put_mail(GString *out, const struct mail_info *mi, bool partial)
{
	bool first = true;

	g_string_append(out, "  Mail:");
	put_field(out, &first, "From", mi->from);
	put_field(out, &first, "To", mi->to);
	put_field(out, &first, "Cc", mi->cc);
	put_field(out, &first, "Subject", mi->subject);
	put_field(out, &first, "Date", mi->date);
	put_field(out, &first, "Message-ID", mi->message_id);
	g_string_append_printf(out, "%s%u attachment%s%s\n", first ? " " : ", ", mi->attachments,
	    mi->attachments == 1 ? "" : "s",
	    partial ? " (the message is cut short in the capture: values may be incomplete)" : "");
}

/* One login attempt on one line: mechanism, user, secret, outcome. */
static void
put_cred(GString *out, const struct cred *c)
{
	const char *oc = cred_outcome_name(c->outcome);

	g_string_append_printf(out, "txn %u", c->txn);
	if (c->frame > 0)
		g_string_append_printf(out, ", frame %" PRIu64, c->frame);
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
put_creds(
    struct text_run *run, GString *out, const struct session *s, const char *cli, const char *srv)
{
	guint i;

	if (s->creds == NULL || s->creds->len == 0)
		return;
	g_string_append(out, "  Credentials:\n");
	for (i = 0; i < s->creds->len; i++) {
		const struct cred *c = g_ptr_array_index(s->creds, i);
		GString *line = g_string_new(NULL);

		put_cred(line, c);
		g_string_append_printf(out, "    %s\n", line->str);
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

static void
put_body(GString *out, const struct txn *t, const struct emit_opts *o)
{
	const struct msg *m = t->body_msg;
	bool mail = t->cmd == POP3_CMD_RETR || t->cmd == POP3_CMD_TOP;

	if (m != NULL && m->data != NULL && (!mail || o->bodies)) {
		put_body_lines(out, m);
		if (m->data_truncated)
			g_string_append_printf(out,
			    "Server: [... %" PRIu64 " octets in %" PRIu64 " lines in all]\n",
			    t->body_octets, t->body_lines);
	} else if (mail) {
		g_string_append_printf(out,
		    "Server: [%s: %" PRIu64 " octets, %" PRIu64 " lines%s]\n",
		    t->cmd == POP3_CMD_TOP ? "message top" : "message body", t->body_octets,
		    t->body_lines, t->partial ? " seen, cut short" : "");
	}
	if (m != NULL && m->complete)
		g_string_append(out, "Server: .\n");
	else
		g_string_append(out, "Server: [no terminating '.': the reply was cut short]\n");
	if (t->mail != NULL &&
	    (t->mail->from != NULL || t->mail->to != NULL || t->mail->subject != NULL ||
	        t->mail->date != NULL || t->mail->message_id != NULL || t->mail->attachments > 0))
		put_mail(out, t->mail, t->partial);
	if (t->extracted != NULL) {
		g_string_append(out, "  Saved as ");
		util_append_printable(out, t->extracted, strlen(t->extracted));
		g_string_append_c(out, '\n');
	}
}

static void
put_txn(GString *out, const struct txn *t, const struct emit_opts *o)
{
	guint i;
	const struct msg *m;

	for (i = 0; i < t->msgs->len; i++) {
		m = g_ptr_array_index(t->msgs, i);
		switch (m->kind) {
		case MSG_COMMAND:
		case MSG_SASL:
			put_msg(out, "Client", m);
			break;
		case MSG_GREETING:
		case MSG_STATUS:
		case MSG_CHALLENGE:
			put_msg(out, "Server", m);
			break;
		case MSG_BODY:
			put_body(out, t, o);
			break;
		case MSG_OPAQUE:
			break;
		}
	}
	if (t->reply_not_pop3)
		g_string_append(out, "Server: [neither +OK nor -ERR: the outcome is unknown]\n");
	else if (t->cmd != POP3_CMD_GREETING && t->status == POP3_STATUS_NONE)
		g_string_append(out, "Server: [no reply captured]\n");
	else if (t->multiline && t->body_msg == NULL)
		put_body(out, t, o);
}

static void
put_timeline(GString *out, const struct session *s)
{
	guint i;
	const struct seg_rec *r;
	char *label, *params, marks[128];
	int64_t us;

	g_string_append(out, "  Segments:\n");
	for (i = 0; i < s->segs->len; i++) {
		r = &g_array_index(s->segs, struct seg_rec, i);
		label = describe_segment(s, r);
		params = describe_params(r, false);
		us = ts_diff_us(s->start, r->ts);
		if (r->marks & SEG_SYNTHETIC)
			g_string_append(out, "  (synth)");
		else
			g_string_append_printf(out, "  %7" PRIu64, r->frame);
		g_string_append_printf(out,
		    "  %4" PRId64 ".%06" PRId64 "  %s  %s %s  seq=%u ack=%u win=%u", us / 1000000,
		    (us < 0 ? -us : us) % 1000000, r->dir == DIR_TO_SERVER ? "C->S" : "S->C", label,
		    params, r->rel_seq, r->rel_ack, r->win);
		describe_marks(r->marks, marks, sizeof(marks));
		if (marks[0] != '\0')
			g_string_append_printf(out, "  [%s]", marks);
		g_string_append_c(out, '\n');
		g_free(label);
		g_free(params);
	}
	if (s->segs_dropped > 0)
		g_string_append_printf(
		    out, "  [%" PRIu64 " more segments not listed]\n", s->segs_dropped);
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
		    t->failed[0] + t->failed[1], t->failed[0] + t->failed[1] == 1 ? "" : "s");
	g_string_append_c(out, '\n');
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
	char cli[UTIL_ADDR_LEN + 8], srv[UTIL_ADDR_LEN + 8], when[UTIL_TS_LEN];
	int64_t us = ts_diff_us(s->start, s->last);
	guint i;
	const struct anomaly *a;
	int rc = 0;

	util_endpoint(&s->client, cli, sizeof(cli));
	util_endpoint(&s->server, srv, sizeof(srv));
	util_ts_human(s->start, when, sizeof(when));
	g_string_append_printf(out,
	    "Session %" PRIu64 ": %s -> %s, %s, %" PRId64 ".%06" PRId64 " s, ended by %s", s->id,
	    cli, srv, when, us / 1000000, us % 1000000, end_reason_name(s->end_reason));
	if (s->handshake != HS_SEEN)
		g_string_append_printf(out, ", handshake %s", handshake_name(s->handshake));
	if (s->proto != PROTO_POP3)
		g_string_append_printf(out, ", %s", proto_name(s->proto));
	g_string_append_c(out, '\n');
	if (s->tls != NULL && s->tls->version != 0)
		text_tls(out, s->tls);
	if (s->greeting != NULL)
		put_txn(out, s->greeting, o);
	for (i = 0; i < s->txns->len; i++)
		put_txn(out, g_ptr_array_index(s->txns, i), o);
	if ((s->proto == PROTO_TLS || s->proto == PROTO_POP3S) && s->tls != NULL &&
	    s->tls->decrypted)
		g_string_append_printf(out,
		    "[TLS %s: decrypted %" PRIu64 " bytes in %" PRIu64
		    " record%s to the server, %" PRIu64 " bytes in %" PRIu64
		    " record%s to the client]\n",
		    s->proto == PROTO_TLS ? "after STLS" : "from the first byte (POP3S)",
		    s->tls->bytes[DIR_TO_SERVER], s->tls->app_records[DIR_TO_SERVER],
		    s->tls->app_records[DIR_TO_SERVER] == 1 ? "" : "s",
		    s->tls->bytes[DIR_TO_CLIENT], s->tls->app_records[DIR_TO_CLIENT],
		    s->tls->app_records[DIR_TO_CLIENT] == 1 ? "" : "s");
	else if (s->proto == PROTO_TLS || s->proto == PROTO_POP3S)
		g_string_append_printf(out,
		    "[TLS %s: %" PRIu64 " bytes in %" PRIu64 " segment%s to the server, %" PRIu64
		    " bytes in %" PRIu64 " segment%s to the client, not decrypted]\n",
		    s->proto == PROTO_TLS ? "from here on" : "from the first byte (POP3S)",
		    s->unparsed[DIR_TO_SERVER], s->tls_segments[DIR_TO_SERVER],
		    s->tls_segments[DIR_TO_SERVER] == 1 ? "" : "s", s->unparsed[DIR_TO_CLIENT],
		    s->tls_segments[DIR_TO_CLIENT], s->tls_segments[DIR_TO_CLIENT] == 1 ? "" : "s");
	else if (s->proto == PROTO_NOT_POP3)
		g_string_append_printf(out,
		    "[not POP3: %" PRIu64 " bytes to the server, %" PRIu64
		    " bytes to the client, not parsed]\n",
		    s->unparsed[DIR_TO_SERVER], s->unparsed[DIR_TO_CLIENT]);
	put_creds(ctx, out, s, cli, srv);
	if (s->anomalies->len > 0) {
		g_string_append(out, "  Anomalies:\n");
		for (i = 0; i < s->anomalies->len; i++) {
			a = &g_array_index(s->anomalies, struct anomaly, i);
			g_string_append(out, "    ");
			if (a->frame > 0)
				g_string_append_printf(out, "frame %" PRIu64 ": ", a->frame);
			g_string_append_printf(out, "%s: %s\n", anom_name(a->kind), a->detail);
		}
	}
	if (o->verbose)
		put_timeline(out, s);
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
		    run->creds_total, run->creds_total == 1 ? "" : "s", run->creds_clear,
		    run->creds_ok);
		for (i = 0; i < run->creds->len; i++)
			fprintf(f, "%s\n", (const char *)g_ptr_array_index(run->creds, i));
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
	    "popflow: %" PRIu64 " packets, %" PRIu64 " POP3 segments, %" PRIu64
	    " sessions, %" PRIu64 " transactions, %" PRIu64 " anomalies",
	    st->packets, st->pop3_segments, st->sessions, st->transactions, st->anomalies);
	if (st->attempts > 0)
		fprintf(f, ", %" PRIu64 " connection attempts refused or unanswered", st->attempts);
	if (st->fragments > 0)
		fprintf(f,
		    ", %" PRIu64 " IP fragments (%" PRIu64 " datagrams put together, %" PRIu64
		    " fragments unused)",
		    st->fragments, st->reassembled_datagrams, st->defrag_problems);
	if (st->truncated + st->malformed > 0)
		fprintf(f, ", %" PRIu64 " undecodable frames", st->truncated + st->malformed);
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
