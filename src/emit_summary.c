/*
 * emit_summary.c - -T summary: one line per session for the triage of large
 * captures (who, which user, did the login work, how much mail, how it
 * ended), under a header line.  Columns are aligned and never hold a
 * space, so `awk`, `sort -k` and `column -t` read them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "creds.h"
#include "emit.h"
#include "pop3.h"
#include "util.h"

/* The columns: name, width (a longer value pushes the rest right), numbers right-aligned. */
static const struct summary_col {
	const char *name;
	int width;
	bool right;
} summary_cols[] = {
    {"SESSION", 7, true},
    {"START", 27, false},
    {"CLIENT", 21, false},
    {"SERVER", 21, false},
    {"PROTO", 8, false},
    {"USER", 24, false},
    {"LOGIN", 10, false},
    {"LISTED", 6, true},
    {"RETR", 5, true},
    {"TO_SERVER", 10, true},
    {"TO_CLIENT", 10, true},
    {"SECONDS", 12, true},
    {"END", 11, false},
    {"ANOMALIES", 9, true},
};
#define SUMMARY_NCOLS (sizeof(summary_cols) / sizeof(summary_cols[0]))

/* A user name as one field: bytes outside printable ASCII, space and '%' as %XX; "-" none. */
static void
put_user(GString *out, const char *u, size_t n)
{
	size_t i;

	if (u == NULL || n == 0) {
		g_string_append_c(out, '-');
		return;
	}
	if (n == 1 && u[0] == '-') {
		g_string_append(out, "%2D"); /* a user named "-" is not "no user" */
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u[i];
		if (c > ' ' && c < 0x7f && c != '%')
			g_string_append_c(out, (char)c);
		else
			g_string_append_printf(out, "%%%02X", c);
	}
}

/*
 * The login: "ok" when an attempt was accepted, else the last attempt's
 * outcome ("failed", "cancelled", "incomplete", "no-reply"); "-" without
 * one.  The user is the accepted attempt's, else the last one naming a user.
 */
static const char *
login_of(const struct session *s, const struct cred **who)
{
	const struct cred *c, *last = NULL;
	guint i;

	*who = NULL;
	if (s->creds == NULL || s->creds->len == 0)
		return "-";
	for (i = 0; i < s->creds->len; i++) {
		c = g_ptr_array_index(s->creds, i);
		if (c->user != NULL)
			*who = c;
		if (c->outcome == CRED_OUTCOME_OK) {
			if (c->user != NULL)
				*who = c;
			return "ok";
		}
		last = c;
	}
	switch (last->outcome) {
	case CRED_OUTCOME_ERR:
		return "failed";
	case CRED_OUTCOME_CANCELLED:
		return "cancelled";
	case CRED_OUTCOME_INCOMPLETE:
		return "incomplete";
	default:
		return "no-reply";
	}
}

/*
 * Messages the server listed: the most entries of one LIST or UIDL
 * listing, else the count of STAT's last +OK; -1 when neither was seen.
 * Messages retrieved: RETR commands answered +OK.
 */
static void
mail_counts(const struct session *s, int64_t *listed, uint64_t *retr)
{
	int64_t stat = -1;
	guint i;

	*listed = -1;
	*retr = 0;
	for (i = 0; i < s->txns->len; i++) {
		const struct txn *t = g_ptr_array_index(s->txns, i);
		unsigned long long n;

		if (t->status != POP3_STATUS_OK)
			continue;
		if (t->cmd == POP3_CMD_RETR)
			(*retr)++;
		else if ((t->cmd == POP3_CMD_LIST || t->cmd == POP3_CMD_UIDL) && t->multiline &&
		    (int64_t)t->body_lines > *listed)
			*listed = (int64_t)t->body_lines;
		else if (t->cmd == POP3_CMD_STAT && t->text != NULL &&
		    sscanf(t->text, "%llu", &n) == 1)
			stat = (int64_t)n;
	}
	if (*listed < 0)
		*listed = stat;
}

/* Appends field i of a line, padded to its column (the last one is not). */
static void
put_col(GString *line, size_t i, const char *v)
{
	const struct summary_col *c = &summary_cols[i];
	int pad = c->width - (int)g_utf8_strlen(v, -1);

	if (i > 0)
		g_string_append_c(line, ' ');
	if (c->right)
		for (; pad > 0; pad--)
			g_string_append_c(line, ' ');
	g_string_append(line, v);
	if (!c->right && i + 1 < SUMMARY_NCOLS)
		for (; pad > 0; pad--)
			g_string_append_c(line, ' ');
}

static int
write_line(FILE *f, GString *line, char *errbuf)
{
	g_string_append_c(line, '\n');
	if (fwrite(line->str, 1, line->len, f) != line->len || fflush(f) != 0) {
		util_write_error(errbuf);
		return -1;
	}
	return 0;
}

static void *
summary_begin(FILE *f, const struct emit_opts *o, char *errbuf)
{
	GString *line = g_string_new(NULL);
	size_t i;
	int rc;

	(void)o;
	for (i = 0; i < SUMMARY_NCOLS; i++)
		put_col(line, i, summary_cols[i].name);
	rc = write_line(f, line, errbuf);
	g_string_free(line, TRUE);
	/* Nothing is kept across sessions; any pointer but NULL says "begun". */
	return rc == 0 ? (void *)summary_cols : NULL;
}

static int
summary_session(
    void *ctx, FILE *f, const struct session *s, const struct emit_opts *o, char *errbuf)
{
	char v[UTIL_ADDR_LEN + 32];
	GString *line = g_string_new(NULL), *user = g_string_new(NULL);
	const struct cred *who;
	const char *login = login_of(s, &who);
	int64_t listed, us = ts_diff_us(s->start, s->last);
	uint64_t retr;
	size_t col = 0;
	int rc;

	(void)ctx;
	(void)o;
	mail_counts(s, &listed, &retr);
	snprintf(v, sizeof(v), "%" PRIu64, s->id);
	put_col(line, col++, v);
	util_ts_iso(s->start, v, sizeof(v));
	put_col(line, col++, v);
	util_endpoint(&s->client, v, sizeof(v));
	put_col(line, col++, v);
	util_endpoint(&s->server, v, sizeof(v));
	put_col(line, col++, v);
	put_col(line, col++, proto_name(s->proto));
	put_user(user, who != NULL ? who->user : NULL, who != NULL ? who->user_len : 0);
	put_col(line, col++, user->str);
	put_col(line, col++, login);
	if (listed >= 0)
		snprintf(v, sizeof(v), "%" PRId64, listed);
	else
		g_strlcpy(v, "-", sizeof(v));
	put_col(line, col++, v);
	snprintf(v, sizeof(v), "%" PRIu64, retr);
	put_col(line, col++, v);
	snprintf(v, sizeof(v), "%" PRIu64, s->payload[DIR_TO_SERVER]);
	put_col(line, col++, v);
	snprintf(v, sizeof(v), "%" PRIu64, s->payload[DIR_TO_CLIENT]);
	put_col(line, col++, v);
	snprintf(v, sizeof(v), "%s%" PRId64 ".%06" PRId64, us < 0 ? "-" : "",
	    (us < 0 ? -us : us) / 1000000, (us < 0 ? -us : us) % 1000000);
	put_col(line, col++, v);
	put_col(line, col++, end_reason_name(s->end_reason));
	snprintf(v, sizeof(v), "%" PRIu64, (uint64_t)s->anomalies->len + s->anomalies_dropped);
	put_col(line, col++, v);
	rc = write_line(f, line, errbuf);
	g_string_free(user, TRUE);
	g_string_free(line, TRUE);
	return rc;
}

static int
summary_end(void *ctx, FILE *f, const struct run_stats *st, const struct emit_opts *o, char *errbuf)
{
	(void)ctx;
	(void)o;
	if (st != NULL && fflush(f) != 0) {
		util_write_error(errbuf);
		return -1;
	}
	return 0;
}

const struct emitter emit_summary = {
    .name = "summary",
    .help = "one line per session: who, user, login, messages, bytes, end (triage)",
    .begin = summary_begin,
    .session = summary_session,
    .end = summary_end,
};
