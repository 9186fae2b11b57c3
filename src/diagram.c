/* diagram.c - session -> diagram model (rows, phases, remarks), and the driver shared by the diagram emitters. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "describe.h"
#include "diagram.h"
#include "frameid.h"
#include "pop3.h"
#include "tls.h"
#include "util.h"

/* ---- small text helpers ---- */

void
dg_fmt_time(int64_t us, bool delta, char *buf, size_t len)
{
	const char *sign = delta ? "+" : "";
	int64_t ms;

	if (us < 0) {
		sign = "-";
		us = -us;
	}
	ms = (us + 500) / 1000;
	snprintf(buf, len, "%s%lld.%03lld", sign, (long long)(ms / 1000), (long long)(ms % 1000));
}

size_t
dg_strwidth(const char *s)
{
	return (size_t)g_utf8_strlen(s, -1);
}

char *
dg_clean(const char *s)
{
	GString *out;
	char *p;

	if (s == NULL)
		return g_strdup("");
	out = g_string_new(NULL);
	util_append_printable(out, s, strlen(s));
	for (p = out->str; *p != '\0'; p++)
		if (*p == '\t')
			*p = ' ';
	return g_string_free(out, FALSE);
}

static double
measure_chars(void *arg, const char *s, size_t n)
{
	(void)arg;
	return (double)g_utf8_strlen(s, (gssize)n);
}

GPtrArray *
dg_wrap_measured(
    const char *text, double width, double (*measure)(void *, const char *, size_t), void *arg)
{
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	const char *p = text, *line, *brk, *q;

	while (*p == ' ')
		p++;
	while (*p != '\0') {
		line = p;
		brk = NULL;
		for (q = p; *q != '\0'; q = g_utf8_next_char(q)) {
			if (*q == ' ')
				brk = q;
			if (measure(arg, line, (size_t)(g_utf8_next_char(q) - line)) > width &&
			    q > line)
				break;
		}
		if (*q == '\0') {
			g_ptr_array_add(lines, g_strdup(line));
			break;
		}
		if (brk == NULL || brk == line) {
			/* One word longer than the line: cut it. */
			g_ptr_array_add(lines, g_strndup(line, (gsize)(q - line)));
			p = q;
		} else {
			g_ptr_array_add(lines, g_strndup(line, (gsize)(brk - line)));
			p = brk;
		}
		while (*p == ' ')
			p++;
	}
	return lines;
}

GPtrArray *
dg_wrap(const char *text, size_t width)
{
	return dg_wrap_measured(text, (double)(width > 0 ? width : 1), measure_chars, NULL);
}

/* ---- building the model ---- */

struct builder {
	const struct session *s;
	const struct emit_opts *o;
	const struct remarks *rm;
	struct diagram *d;
	GHashTable *txn_phase; /* struct txn * -> enum dg_phase + 1 */
	GPtrArray **seg_msgs;  /* per segment: messages whose remark goes there (or NULL) */
	int *seg_row;          /* per segment: row drawn for it (-1 none) */
	char *user;
	enum dg_phase phase; /* of the last row */
	bool fin_seen[2];
	bool fin_acked[2];
	bool synthetic_noted;
	uint16_t last_win[2]; /* window of the last segment per direction */
	bool win_known[2];
	bool tls_dec;   /* the session's TLS was decrypted: POP3 inside, a handshake phase */
	bool tls_noted; /* the "encrypted on the wire" remark was made */
};

static const char *
phase_key(enum dg_phase p)
{
	static const char *const keys[DG_PHASE__COUNT] = {
	    "phase.setup",
	    "phase.authorization",
	    "phase.tls",
	    "phase.transaction",
	    "phase.update",
	    "phase.data",
	    "phase.release",
	};
	return keys[p];
}

static void
phases_of_txns(struct builder *b)
{
	const struct session *s = b->s;
	enum dg_phase cur = DG_PHASE_AUTH, ph;
	guint i;

	b->txn_phase = g_hash_table_new(g_direct_hash, g_direct_equal);
	if (s->greeting != NULL)
		g_hash_table_insert(b->txn_phase, s->greeting, GINT_TO_POINTER(DG_PHASE_AUTH + 1));
	for (i = 0; i < s->txns->len; i++) {
		struct txn *t = g_ptr_array_index(s->txns, i);
		bool ok = t->status == POP3_STATUS_OK;

		/* A capture that starts mid-session: a TRANSACTION-only command shows where we are. */
		if (cur == DG_PHASE_AUTH && t->cmd > POP3_CMD_UNKNOWN &&
		    pop3_cmd_states(t->cmd) == POP3_IN_T)
			cur = DG_PHASE_TRANSACTION;
		ph = cur;
		if (t->cmd == POP3_CMD_QUIT && cur == DG_PHASE_TRANSACTION)
			ph = DG_PHASE_UPDATE; /* RFC 1939 section 6 */
		g_hash_table_insert(b->txn_phase, t, GINT_TO_POINTER(ph + 1));
		if (ok &&
		    (t->cmd == POP3_CMD_PASS || t->cmd == POP3_CMD_APOP ||
		        (t->cmd == POP3_CMD_AUTH && t->arg != NULL && t->arg[0] != '\0')))
			cur = DG_PHASE_TRANSACTION;
		else if (ok && t->cmd == POP3_CMD_STLS && !b->tls_dec)
			cur = DG_PHASE_TLS; /* not decrypted: the rest is TLS */
		if (b->user == NULL && t->arg != NULL &&
		    (t->cmd == POP3_CMD_USER || t->cmd == POP3_CMD_APOP)) {
			char *sp = strchr(t->arg, ' ');
			char *u =
			    g_strndup(t->arg, sp != NULL ? (gsize)(sp - t->arg) : strlen(t->arg));
			b->user = dg_clean(u);
			g_free(u);
		}
	}
}

static enum dg_phase
msg_phase(struct builder *b, const struct msg *m)
{
	gpointer v;

	if (m->kind == MSG_OPAQUE) {
		char label[400];
		bool hs = false;
		/* Decrypted: the TLS handshake is its own phase; other TLS records go with the POP3. */
		if (b->tls_dec)
			return tls_info_label(
			           b->s->tls, m->dir, m->off, m->end, &hs, label, sizeof(label)) &&
			        hs
			    ? DG_PHASE_TLS
			    : b->phase;
		/* Encrypted after STLS or from the start; not POP3 at all; or skipped lines. */
		if (b->s->proto == PROTO_TLS || b->s->proto == PROTO_POP3S)
			return DG_PHASE_TLS;
		return b->s->proto == PROTO_NOT_POP3 ? DG_PHASE_DATA : b->phase;
	}
	if (m->txn != NULL && (v = g_hash_table_lookup(b->txn_phase, m->txn)) != NULL)
		return (enum dg_phase)(GPOINTER_TO_INT(v) - 1);
	return b->phase;
}

/* First and second numbers of a status text: "1 1317", "2 messages (320 octets)". */
static int
status_numbers(const char *text, unsigned long long *n1, unsigned long long *n2)
{
	const char *p = text;
	int got = 0;
	char *end;

	while (p != NULL && *p != '\0' && got < 2) {
		if (g_ascii_isdigit(*p) && (p == text || !g_ascii_isalnum(p[-1]))) {
			unsigned long long v = strtoull(p, &end, 10);
			if (got == 0)
				*n1 = v;
			else
				*n2 = v;
			got++;
			p = end;
		} else {
			p++;
		}
	}
	return got;
}

static void
vars_common(struct builder *b, struct remark_vars *v, enum dir dir)
{
	struct diagram *d = b->d;
	int from = dir == DIR_TO_SERVER ? DG_CLIENT : DG_SERVER;

	rvars_set(v, "client", d->lifeline[DG_CLIENT]);
	rvars_set(v, "server", d->lifeline[DG_SERVER]);
	rvars_set(v, "client_addr", d->addr[DG_CLIENT]);
	rvars_set(v, "server_addr", d->addr[DG_SERVER]);
	rvars_setu(v, "session", (unsigned long long)b->s->id);
	rvars_set(v, "sender", from == DG_CLIENT ? "client" : "server");
	rvars_set(v, "receiver", from == DG_CLIENT ? "server" : "client");
	rvars_set(v, "sender_name", d->lifeline[from]);
	rvars_set(v, "receiver_name", d->lifeline[1 - from]);
	if (b->user != NULL)
		rvars_set(v, "user", b->user);
}

static void
vars_txn(struct builder *b, struct remark_vars *v, const struct txn *t, bool body)
{
	unsigned long long n1 = 0, n2 = 0;
	char *s, *sp;
	int got;

	(void)b;
	if (t == NULL)
		return;
	s = dg_clean(t->verb != NULL && t->verb[0] != '\0' ? t->verb : pop3_cmd_name(t->cmd));
	rvars_set(v, "cmd", s);
	g_free(s);
	s = dg_clean(t->arg != NULL ? t->arg : "");
	rvars_set(v, "arg", s);
	sp = strchr(s, ' ');
	if (sp != NULL)
		*sp = '\0';
	rvars_set(v, "msg", s);
	rvars_set(v, "mechanism", s);
	g_free(s);
	if (t->status != POP3_STATUS_NONE) {
		rvars_set(v, "status", pop3_status_name(t->status));
		s = dg_clean(t->text);
		rvars_set(v, "text", s[0] != '\0' ? s : "no reason given");
		g_free(s);
		got = status_numbers(t->text, &n1, &n2);
		if (got >= 1) {
			rvars_setu(v, "count", n1);
			rvars_setu(v, "octets", n1);
		}
		if (got >= 2) {
			rvars_setu(v, "size", n2);
			if (t->cmd == POP3_CMD_LIST || t->cmd == POP3_CMD_UIDL)
				rvars_setu(v, "octets", n2);
		}
	}
	if (t->body_msg != NULL) {
		const struct msg *m = t->body_msg;
		guint i, n = 0;

		rvars_setu(v, "lines", (unsigned long long)m->lines);
		/* A body's remark counts what came; the +OK's remark what it announced. */
		if (body || rvars_get(v, "octets") == NULL)
			rvars_setu(v, "octets", (unsigned long long)m->octets);
		if (m->segs != NULL)
			for (i = 0; i < m->segs->len; i++) {
				const struct seg_rec *r = &g_array_index(
				    b->s->segs, struct seg_rec, g_array_index(m->segs, guint, i));
				if (!(r->marks & SEG_RETRANS))
					n++;
			}
		rvars_setu(v, "segments", n);
		rvars_setu(v, "wire", (unsigned long long)(m->end - m->off));
	}
}

/* The remark key of a message; *fallback gets an optional key's fallback. */
static const char *
msg_key(const struct msg *m, char *buf, size_t len, const char **fallback)
{
	const struct txn *t = m->txn;
	const char *name;
	bool has_arg;

	*fallback = NULL;
	switch (m->kind) {
	case MSG_GREETING:
		return t != NULL && t->status == POP3_STATUS_ERR ? "greeting.err" : "greeting";
	case MSG_CHALLENGE:
		return "challenge";
	case MSG_SASL:
		return "sasl";
	case MSG_OPAQUE:
		return NULL;
	default:
		break;
	}
	if (t == NULL)
		return NULL;
	if (t->cmd == POP3_CMD_GREETING)
		return m->kind == MSG_STATUS
		    ? (t->status == POP3_STATUS_ERR ? "greeting.err" : "greeting")
		    : NULL;
	name = pop3_cmd_name(t->cmd);
	has_arg = t->arg != NULL && t->arg[0] != '\0';
	switch (m->kind) {
	case MSG_COMMAND:
		if (t->cmd <= POP3_CMD_UNKNOWN)
			return "cmd.unknown";
		snprintf(buf, len, "cmd.%s%s", name,
		    has_arg && pop3_cmd_multi(t->cmd) == ML_NO_ARG ? ".arg" : "");
		return buf;
	case MSG_STATUS:
		if (t->cmd == POP3_CMD_NONE)
			return "reply.unsolicited";
		if (t->reply_not_pop3)
			return "reply.not_pop3";
		if (t->cmd == POP3_CMD_UNKNOWN)
			return "reply.unknown";
		if (t->status == POP3_STATUS_ERR) {
			snprintf(buf, len, "err.%s", name);
			*fallback = "err";
			return buf;
		}
		snprintf(buf, len, "ok.%s%s", name,
		    has_arg && pop3_cmd_multi(t->cmd) == ML_NO_ARG ? ".arg" : "");
		return buf;
	case MSG_BODY:
		if (t->cmd <= POP3_CMD_UNKNOWN || pop3_cmd_multi(t->cmd) == ML_NEVER)
			return NULL;
		snprintf(buf, len, "body.%s", name);
		return buf;
	default:
		return NULL;
	}
}

static void
append_sentence(GString *out, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return;
	if (out->len > 0)
		g_string_append_c(out, ' ');
	g_string_append(out, s);
}

static char *
fill(struct builder *b, const char *key, const char *fallback, const struct remark_vars *v)
{
	return remarks_fill(b->rm, key, fallback, v);
}

/* {frame}: "12", or "ring2.pcap:12" when several capture files are read (frameid.h). */
static void
vars_frame(struct remark_vars *v, uint64_t frame)
{
	char f[FRAMEID_PHRASE_LEN];

	frameid_format(frame, f, sizeof(f));
	rvars_set(v, "frame", f);
}

static void
msg_remark(struct builder *b, const struct msg *m, const struct seg_rec *r, GString *out)
{
	struct remark_vars v = {0};
	char buf[64], *s;
	const char *key, *fb;

	vars_common(b, &v, m->dir);
	vars_txn(b, &v, m->txn, m->kind == MSG_BODY);
	if (r != NULL) {
		rvars_setu(&v, "len", r->len);
		vars_frame(&v, r->frame);
	}
	if (m->kind == MSG_OPAQUE && b->tls_dec) {
		char label[400];
		bool hs;
		uint64_t from = r != NULL && r->off > m->off ? r->off : m->off;
		uint64_t to = r != NULL && r->off + r->len < m->end ? r->off + r->len : m->end;
		rvars_setu(&v, "len", (unsigned long long)(to - from));
		if (!tls_info_label(b->s->tls, m->dir, from, to, &hs, label, sizeof(label)))
			snprintf(label, sizeof(label), "records");
		rvars_set(&v, "records", label);
		key = "tls.record";
		fb = NULL;
	} else if (m->kind == MSG_OPAQUE) {
		rvars_setu(&v, "len", (unsigned long long)(m->end - m->off));
		key = msg_phase(b, m) == DG_PHASE_TLS ? "tls.data" : "tcp.data";
		fb = NULL;
	} else {
		key = msg_key(m, buf, sizeof(buf), &fb);
	}
	/* A body cut short gets body.cut alone: body.X describes a complete reply. */
	if (key != NULL && !(m->kind == MSG_BODY && !m->complete)) {
		s = fill(b, key, fb, &v);
		append_sentence(out, s);
		g_free(s);
	}
	if (m->kind == MSG_BODY && !m->complete) {
		s = fill(b, "body.cut", NULL, &v);
		append_sentence(out, s);
		g_free(s);
	}
	if (b->tls_dec && !b->tls_noted && m->kind != MSG_OPAQUE &&
	    (b->s->proto == PROTO_POP3S || m->off >= b->s->tls_start[m->dir])) {
		/* The first POP3 message inside TLS: say once that it was encrypted on the wire. */
		b->tls_noted = true;
		s = fill(b, "tls.decrypted", NULL, &v);
		append_sentence(out, s);
		g_free(s);
	}
	if (m->kind == MSG_COMMAND && m->txn != NULL && m->txn->status == POP3_STATUS_NONE &&
	    m->txn->partial) {
		s = fill(b, "reply.missing", NULL, &v);
		append_sentence(out, s);
		g_free(s);
	}
	rvars_clear(&v);
}

static char *
tcp_remark(struct builder *b, const char *key, const struct seg_rec *r, const char *carries)
{
	struct remark_vars v = {0};
	char flags[64], *s;

	vars_common(b, &v, (enum dir)r->dir);
	util_flags(r->flags, flags, sizeof(flags));
	rvars_set(&v, "flags", flags);
	rvars_setu(&v, "len", r->len);
	vars_frame(&v, r->frame);
	if (carries != NULL)
		rvars_set(&v, "carries", carries);
	s = fill(b, key, NULL, &v);
	rvars_clear(&v);
	return s;
}

static enum dg_kind
msg_kind(const struct msg *m)
{
	switch (m->kind) {
	case MSG_COMMAND:
	case MSG_SASL:
		return DG_KIND_COMMAND;
	case MSG_BODY:
		return DG_KIND_BODY;
	case MSG_OPAQUE:
		return DG_KIND_DATA;
	default:
		return DG_KIND_REPLY;
	}
}

static bool
msg_is_err(const struct msg *m)
{
	return (m->kind == MSG_STATUS || m->kind == MSG_GREETING) && m->txn != NULL &&
	    m->txn->status == POP3_STATUS_ERR && m->txn->status_msg == m;
}

static bool
is_pure_ack(const struct seg_rec *r)
{
	return r->len == 0 && !(r->flags & (TH_SYN | TH_FIN | TH_RST));
}

static struct dg_row *
add_row(struct builder *b, const struct seg_rec *r, struct ts ts)
{
	struct dg_row row;
	struct diagram *d = b->d;

	memset(&row, 0, sizeof(row));
	row.frame = r != NULL && !(r->marks & SEG_SYNTHETIC) ? r->frame : 0;
	row.t_us = ts_diff_us(b->s->start, ts);
	row.dir = r != NULL ? (enum dir)r->dir : DIR_TO_SERVER;
	row.count = 1;
	row.style = DG_STYLE_NORMAL;
	row.phase = b->phase;
	g_array_append_val(d->rows, row);
	return &g_array_index(d->rows, struct dg_row, d->rows->len - 1);
}

static void
set_phase(struct builder *b, struct dg_row *row, enum dg_phase own)
{
	/* After a decrypted TLS handshake, POP3 goes on in its own phase (RFC 2595: AUTHORIZATION). */
	if (own > b->phase || (b->tls_dec && b->phase == DG_PHASE_TLS && own != DG_PHASE_SETUP))
		b->phase = own;
	row->phase = b->phase;
}

static char *
with_prefix(const char *prefix, char *s)
{
	char *r = g_strconcat(prefix, s, NULL);

	g_free(s);
	return r;
}

/* "TCP FIN+ACK" from the flags alone (a control segment that also carries data). */
static char *
tcp_name(uint8_t f)
{
	const char *n;

	if (f & TH_SYN)
		n = (f & TH_ACK) ? "SYN+ACK" : "SYN";
	else if (f & TH_RST)
		n = (f & TH_ACK) ? "RST+ACK" : "RST";
	else if (f & TH_FIN)
		n = (f & TH_ACK) ? "FIN+ACK" : "FIN";
	else
		n = "ACK";
	return g_strconcat("TCP ", n, NULL);
}

/* Segment-level row for seg i (also used for TCP control rows in messages mode). */
static void
segment_row(struct builder *b, guint i, bool messages)
{
	const struct session *s = b->s;
	const struct seg_rec *r = &g_array_index(s->segs, struct seg_rec, i);
	/* Messages mode draws only the TCP side of a control segment here. */
	GPtrArray *mine = messages ? NULL : b->seg_msgs[i];
	bool data = r->len > 0 && !messages;
	struct dg_row *row;
	GString *remark = g_string_new(NULL);
	char *label, *t;
	enum dir od = dir_opposite(r->dir);
	guint k;

	if (data || r->len == 0) {
		label = dg_clean(t = describe_segment(s, r));
		g_free(t);
	} else {
		label = tcp_name(r->flags);
	}
	row = add_row(b, r, r->ts);
	b->seg_row[i] = (int)b->d->rows->len - 1;
	if (data || r->len == 0) {
		row->params = describe_params(r, false);
	} else {
		char flags[64];
		util_flags(r->flags, flags, sizeof(flags));
		row->params = g_strdup_printf("(%s)", flags);
	}
	row->kind = DG_KIND_TCP;
	row->style = DG_STYLE_BACKGROUND;
	if (r->marks & SEG_SYNTHETIC) {
		row->flags |= DG_F_SYNTHETIC;
		t = row->params;
		row->params = g_strconcat(t, ", not captured", NULL);
		g_free(t);
		if (!b->synthetic_noted) {
			append_sentence(remark, t = tcp_remark(b, "tcp.synthetic", r, NULL));
			g_free(t);
			b->synthetic_noted = true;
		}
	}
	if (r->flags & TH_SYN) {
		set_phase(b, row, DG_PHASE_SETUP);
		if (!(r->marks & SEG_RETRANS)) {
			append_sentence(remark,
			    t = tcp_remark(
			        b, (r->flags & TH_ACK) ? "tcp.synack" : "tcp.syn", r, NULL));
			g_free(t);
		}
	} else if ((r->flags & (TH_FIN | TH_RST)) && !data) {
		set_phase(b, row, DG_PHASE_RELEASE);
	} else if (!data) {
		row->phase = b->phase;
	}
	if (data && mine == NULL && r->msg_count > 0) {
		/* Continuation of a message started in an earlier segment. */
		const struct msg *m = g_ptr_array_index(s->msgs[r->dir], r->msg_first);
		row->kind = msg_kind(m);
		row->style = DG_STYLE_NORMAL;
		set_phase(b, row, msg_phase(b, m));
	}
	if (mine != NULL) {
		for (k = 0; k < mine->len; k++) {
			const struct msg *m = g_ptr_array_index(mine, k);
			if (k == 0) {
				row->kind = msg_kind(m);
				row->style = DG_STYLE_NORMAL;
				set_phase(b, row, msg_phase(b, m));
			}
			if (msg_is_err(m))
				row->style = DG_STYLE_ERROR;
			if (!messages)
				msg_remark(b, m, r, remark);
		}
	}
	if (data && r->msg_count == 0) {
		row->kind = DG_KIND_DATA;
		row->style = DG_STYLE_NORMAL;
		append_sentence(remark, t = tcp_remark(b, "tcp.data", r, NULL));
		g_free(t);
	}
	if (r->flags & TH_FIN) {
		if (!(r->marks & SEG_RETRANS)) {
			append_sentence(remark,
			    t = tcp_remark(b,
			        r->dir == DIR_TO_SERVER ? "tcp.fin.client" : "tcp.fin.server", r,
			        NULL));
			g_free(t);
		}
		b->fin_seen[r->dir] = true;
	} else if (r->flags & TH_RST) {
		row->style = DG_STYLE_ERROR;
		append_sentence(remark, t = tcp_remark(b, "tcp.rst", r, NULL));
		g_free(t);
	} else if (is_pure_ack(r)) {
		const char *key = "tcp.ack";
		if (b->fin_seen[od] && !b->fin_acked[od]) {
			key = "tcp.fin_ack";
			b->fin_acked[od] = true;
		} else if (r->marks & SEG_DUP_ACK) {
			key = "tcp.dup_ack";
		} else if (b->phase == DG_PHASE_SETUP && r->dir == DIR_TO_SERVER) {
			key = "tcp.handshake_ack";
		}
		if ((r->marks & SEG_DUP_ACK) && b->win_known[r->dir] &&
		    r->win != b->last_win[r->dir]) {
			/* Same ACK, new window: Wireshark's "TCP Window Update", not a duplicate. */
			g_free(label);
			label = g_strdup("TCP Window Update");
			if (strcmp(key, "tcp.dup_ack") == 0)
				key = "tcp.ack";
		} else if (r->marks & SEG_DUP_ACK) {
			t = row->params;
			row->params = g_strconcat(t, ", duplicate ACK", NULL);
			g_free(t);
		}
		append_sentence(remark, t = tcp_remark(b, key, r, NULL));
		g_free(t);
		row->flags |= DG_F_PURE_ACK;
	}
	if (data && mine == NULL && r->msg_count > 0 && !(r->marks & (SEG_RETRANS | SEG_OOO))) {
		append_sentence(remark, t = tcp_remark(b, "tcp.continued", r, NULL));
		g_free(t);
	}
	if (r->marks & (SEG_RETRANS | SEG_OOO)) {
		bool re = (r->marks & SEG_RETRANS) != 0;
		row->flags |= DG_F_RETRANS;
		row->style = DG_STYLE_RETRANS;
		row->flags &= ~(unsigned)DG_F_PURE_ACK;
		append_sentence(remark,
		    t = tcp_remark(b, re ? "tcp.retransmission" : "tcp.out_of_order", r, label));
		g_free(t);
		label = with_prefix(re ? "[Retransmission] " : "[Out of order] ", label);
	}
	b->last_win[r->dir] = r->win;
	b->win_known[r->dir] = true;
	row->name = label;
	row->remark = g_string_free(remark, FALSE);
}

/* Messages mode: one row per POP3 message, at its first (non-retransmitted) segment. */
static void
message_row(struct builder *b, const struct msg *m, guint segidx)
{
	const struct session *s = b->s;
	const struct seg_rec *r = &g_array_index(s->segs, struct seg_rec, segidx);
	struct dg_row *row;
	GString *remark = g_string_new(NULL);
	char *t;
	guint i, nseg = 0, nre = 0;
	uint64_t octets = m->end - m->off;

	row = add_row(b, r, r->ts);
	row->dir = m->dir;
	row->kind = msg_kind(m);
	set_phase(b, row, msg_phase(b, m));
	row->name = dg_clean(t = describe_msg(s, m));
	g_free(t);
	if (msg_is_err(m))
		row->style = DG_STYLE_ERROR;
	if (m->segs != NULL)
		for (i = 0; i < m->segs->len; i++) {
			guint si = g_array_index(m->segs, guint, i);
			const struct seg_rec *x = &g_array_index(s->segs, struct seg_rec, si);
			if (x->marks & SEG_RETRANS)
				nre++;
			else
				nseg++;
			if (b->seg_row[si] < 0)
				b->seg_row[si] = (int)b->d->rows->len - 1;
		}
	row->count = nseg > 0 ? nseg : 1;
	if (m->kind == MSG_BODY && !m->complete) {
		row->params = g_strdup("(cut short: no final dot line)");
	} else if (nre > 0) {
		row->flags |= DG_F_RETRANS;
		row->params =
		    g_strdup_printf("(%llu octet%s, %u %s, %u %s)", (unsigned long long)octets,
		        util_plural(octets), nseg, nseg == 1 ? "segment" : "segments", nre,
		        nre == 1 ? "retransmission" : "retransmissions");
	} else {
		row->params = g_strdup_printf("(%llu octet%s, %u %s)", (unsigned long long)octets,
		    util_plural(octets), nseg, nseg == 1 ? "segment" : "segments");
	}
	msg_remark(b, m, r, remark);
	row->remark = g_string_free(remark, FALSE);
}

/* Which segment each message's remark (and messages-mode row) belongs to. */
static void
assign_messages(struct builder *b)
{
	const struct session *s = b->s;
	guint i, j, k;
	int d;

	for (d = 0; d < 2; d++)
		for (j = 0; j < s->msgs[d]->len; j++) {
			const struct msg *m = g_ptr_array_index(s->msgs[d], j);
			guint pick = G_MAXUINT;

			if (m->segs == NULL || m->segs->len == 0) {
				/* Not mapped (a body cut short can keep end == off): the segment holding its first byte. */
				for (i = 0; i < s->segs->len && pick == G_MAXUINT; i++) {
					const struct seg_rec *r =
					    &g_array_index(s->segs, struct seg_rec, i);
					if (r->dir == m->dir && r->len > 0 &&
					    !(r->marks & (SEG_RETRANS | SEG_SYNTHETIC)) &&
					    m->off >= r->off && m->off - r->off < r->len)
						pick = i;
				}
				if (pick == G_MAXUINT)
					continue;
			}
			/* The segment carrying its first byte; else its first new segment. */
			for (k = 0; m->segs != NULL && k < m->segs->len && pick == G_MAXUINT; k++) {
				const struct seg_rec *r;
				i = g_array_index(m->segs, guint, k);
				r = &g_array_index(s->segs, struct seg_rec, i);
				if (!(r->marks & SEG_RETRANS) && m->off >= r->off &&
				    m->off - r->off < r->len)
					pick = i;
			}
			for (k = 0; m->segs != NULL && k < m->segs->len && pick == G_MAXUINT; k++) {
				i = g_array_index(m->segs, guint, k);
				if (!(g_array_index(s->segs, struct seg_rec, i).marks &
				        SEG_RETRANS))
					pick = i;
			}
			if (pick == G_MAXUINT)
				pick = g_array_index(m->segs, guint, 0);
			if (b->seg_msgs[pick] == NULL)
				b->seg_msgs[pick] = g_ptr_array_new();
			g_ptr_array_add(b->seg_msgs[pick], (gpointer)m);
		}
}

/* Anomalies that the row's own style already shows. */
static bool
anomaly_shown(enum anom a)
{
	return a == ANOM_RETRANSMISSION || a == ANOM_OUT_OF_ORDER || a == ANOM_SYNTHETIC_HANDSHAKE;
}

static void
attach_anomalies(struct builder *b)
{
	const struct session *s = b->s;
	struct diagram *d = b->d;
	GHashTable *frame_row = g_hash_table_new(g_int64_hash, g_int64_equal);
	GHashTable *txn_row = g_hash_table_new(g_direct_hash, g_direct_equal);
	guint i;

	if (d->rows->len == 0 || s->anomalies == NULL)
		goto out;
	for (i = 0; i < s->segs->len; i++) {
		const struct seg_rec *r = &g_array_index(s->segs, struct seg_rec, i);
		if (b->seg_row[i] >= 0 && r->frame != 0 && !(r->marks & SEG_SYNTHETIC))
			g_hash_table_insert(
			    frame_row, (gpointer)&r->frame, GINT_TO_POINTER(b->seg_row[i] + 1));
	}
	for (i = 0; i < s->txns->len; i++) {
		const struct txn *t = g_ptr_array_index(s->txns, i);
		const struct msg *m = t->msgs->len > 0 ? g_ptr_array_index(t->msgs, 0) : NULL;
		if (m != NULL && m->segs != NULL && m->segs->len > 0) {
			int row = b->seg_row[g_array_index(m->segs, guint, 0)];
			if (row >= 0)
				g_hash_table_insert(
				    txn_row, GUINT_TO_POINTER(t->id), GINT_TO_POINTER(row + 1));
		}
	}
	for (i = 0; i < s->anomalies->len; i++) {
		const struct anomaly *a = &g_array_index(s->anomalies, struct anomaly, i);
		struct remark_vars v = {0};
		struct dg_row *row;
		gpointer hit = NULL;
		int ri;
		char *text, *nr;

		if (anomaly_shown(a->kind))
			continue;
		if (a->frame != 0)
			hit = g_hash_table_lookup(frame_row, &a->frame);
		if (hit == NULL && a->txn != 0)
			hit = g_hash_table_lookup(txn_row, GUINT_TO_POINTER(a->txn));
		if (hit != NULL)
			ri = GPOINTER_TO_INT(hit) - 1;
		else if (a->kind == ANOM_HANDSHAKE_MISSING || a->kind == ANOM_NOT_REASSEMBLED ||
		    a->kind == ANOM_DATA_BEFORE_GREETING)
			ri = 0;
		else
			ri = (int)d->rows->len - 1;
		row = &g_array_index(d->rows, struct dg_row, ri);
		vars_common(b, &v, row->dir);
		text = a->detail != NULL && a->detail[0] != '\0'
		    ? g_strdup_printf("%s (%s)", anom_desc(a->kind), a->detail)
		    : g_strdup(anom_desc(a->kind));
		nr = dg_clean(text);
		rvars_set(&v, "anomaly", nr);
		g_free(nr);
		g_free(text);
		text = fill(b, "anomaly", NULL, &v);
		rvars_clear(&v);
		nr = row->remark[0] != '\0' ? g_strconcat(row->remark, " ", text, NULL)
		                            : g_strdup(text);
		g_free(text);
		g_free(row->remark);
		row->remark = nr;
		row->flags |= DG_F_ANOMALY;
		if (a->kind != ANOM_HANDSHAKE_MISSING)
			row->style = DG_STYLE_ERROR;
	}
out:
	g_hash_table_destroy(frame_row);
	g_hash_table_destroy(txn_row);
}

static void
row_clear(struct dg_row *r)
{
	g_free(r->name);
	g_free(r->params);
	g_free(r->remark);
}

/*
 * --fold-acks: a run of pure ACKs from one side becomes one row "N x TCP
 * ACK" at the first one's place.  The run goes on across rows of the
 * other side that have no remark (the data segments those ACKs answer).
 */
static void
fold_acks(struct diagram *d)
{
	GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(struct dg_row), d->rows->len);
	int open[2] = {-1, -1};
	guint i;

	for (i = 0; i < d->rows->len; i++) {
		struct dg_row *r = &g_array_index(d->rows, struct dg_row, i);
		int side = dg_from(r);
		bool foldable = (r->flags & DG_F_PURE_ACK) && r->remark[0] == '\0' &&
		    !(r->flags & (DG_F_ANOMALY | DG_F_SYNTHETIC));

		if (foldable && open[side] >= 0 &&
		    g_array_index(out, struct dg_row, open[side]).phase == r->phase) {
			struct dg_row *run = &g_array_index(out, struct dg_row, open[side]);
			run->count++;
			run->flags |= DG_F_FOLDED;
			row_clear(r);
			continue;
		}
		/* Anything else from this side, or a remark from the other, ends a run. */
		open[side] = -1;
		if (r->remark[0] != '\0' || r->kind == DG_KIND_TCP)
			open[1 - side] = -1;
		g_array_append_val(out, *r);
		if (foldable)
			open[side] = (int)out->len - 1;
	}
	for (i = 0; i < out->len; i++) {
		struct dg_row *r = &g_array_index(out, struct dg_row, i);
		/* Only runs of pure ACKs fold: a message row's count is its segments. */
		if (r->flags & DG_F_FOLDED) {
			g_free(r->name);
			r->name = g_strdup_printf("%u x TCP ACK", r->count);
		}
	}
	g_array_free(d->rows, TRUE);
	d->rows = out;
}

static int
parse_detail(const struct emit_opts *o, enum dg_detail *det, char *errbuf)
{
	*det = DG_DETAIL_SEGMENTS;
	if (o->detail == NULL || strcmp(o->detail, "segments") == 0)
		return 0;
	if (strcmp(o->detail, "messages") == 0) {
		*det = DG_DETAIL_MESSAGES;
		return 0;
	}
	snprintf(errbuf, ERRBUF_SIZE, "--detail %s: expected 'segments' or 'messages'", o->detail);
	return -1;
}

/* --alias ADDR=NAME: ADDR is an address ("192.0.2.1", "2001:db8::1") or an endpoint ("192.0.2.1:110", "[2001:db8::1]:110"). */
static int
apply_aliases(struct diagram *d, const struct session *s, const struct emit_opts *o, char *errbuf)
{
	char ip[UTIL_ADDR_LEN];
	size_t i;
	int side;

	for (i = 0; i < o->naliases; i++) {
		const char *a = o->aliases[i], *eq = strchr(a, '=');
		char *addr;

		if (eq == NULL || eq == a || eq[1] == '\0') {
			snprintf(errbuf, ERRBUF_SIZE, "--alias %s: expected ADDR=NAME", a);
			return -1;
		}
		addr = g_strndup(a, (gsize)(eq - a));
		for (side = 0; side < 2; side++) {
			const struct endpoint *e = side == DG_CLIENT ? &s->client : &s->server;
			util_addr(&e->ip, ip, sizeof(ip));
			if (strcmp(addr, ip) == 0 || strcmp(addr, d->addr[side]) == 0) {
				g_free(d->lifeline[side]);
				d->lifeline[side] = dg_clean(eq + 1);
			}
		}
		g_free(addr);
	}
	return 0;
}

struct diagram *
diagram_build(
    const struct session *s, const struct emit_opts *o, const struct remarks *rm, char *errbuf)
{
	struct builder b;
	struct diagram *d;
	struct remark_vars v = {0};
	char buf[UTIL_ADDR_LEN + 8];
	guint i, k;
	bool ctl;
	int p;

	memset(&b, 0, sizeof(b));
	d = g_new0(struct diagram, 1);
	d->rows = g_array_new(FALSE, FALSE, sizeof(struct dg_row));
	d->session_id = s->id;
	if (parse_detail(o, &d->detail, errbuf) < 0)
		goto fail;
	b.s = s;
	b.o = o;
	b.rm = rm;
	b.d = d;
	b.tls_dec = s->tls != NULL && s->tls->decrypted;
	util_endpoint(&s->client, buf, sizeof(buf));
	d->addr[DG_CLIENT] = g_strdup(buf);
	util_endpoint(&s->server, buf, sizeof(buf));
	d->addr[DG_SERVER] = g_strdup(buf);
	d->lifeline[DG_CLIENT] = g_strdup(remarks_get(rm, "lifeline.client"));
	d->lifeline[DG_SERVER] = g_strdup(remarks_get(rm, "lifeline.server"));
	if (apply_aliases(d, s, o, errbuf) < 0)
		goto fail;
	d->system[DG_CLIENT] = g_strdup(remarks_get(rm, "system.client"));
	d->system[DG_SERVER] = g_strdup(remarks_get(rm, "system.server"));
	d->col_step = g_strdup(remarks_get(rm, "column.step"));
	d->col_time = g_strdup(remarks_get(rm, "column.time"));
	d->col_remarks = g_strdup(remarks_get(rm, "column.remarks"));
	for (p = 0; p < DG_PHASE__COUNT; p++)
		d->phase_title[p] = g_strdup(remarks_get(rm,
		    p == DG_PHASE_TLS && b.tls_dec ? "phase.tls_handshake"
		                                   : phase_key((enum dg_phase)p)));
	d->continued = g_strdup(remarks_get(rm, "phase.continued"));
	vars_common(&b, &v, DIR_TO_SERVER);
	d->title = remarks_fill(rm, "title", NULL, &v);
	rvars_clear(&v);

	phases_of_txns(&b);
	b.phase = DG_PHASE_SETUP;
	if (s->segs->len > 0 && !(g_array_index(s->segs, struct seg_rec, 0).flags & TH_SYN))
		b.phase = DG_PHASE_AUTH; /* no handshake: the capture starts mid-session */
	b.seg_msgs = g_new0(GPtrArray *, s->segs->len + 1);
	b.seg_row = g_new(int, s->segs->len + 1);
	for (i = 0; i < s->segs->len; i++)
		b.seg_row[i] = -1;
	assign_messages(&b);

	for (i = 0; i < s->segs->len; i++) {
		const struct seg_rec *r = &g_array_index(s->segs, struct seg_rec, i);

		if (d->detail == DG_DETAIL_SEGMENTS) {
			segment_row(&b, i, false);
			continue;
		}
		/* Messages: TCP control segments, and each message once (data before a FIN). */
		ctl = (r->flags & (TH_SYN | TH_FIN | TH_RST)) && !(r->marks & SEG_RETRANS);
		if (ctl && (r->flags & TH_SYN))
			segment_row(&b, i, true);
		if (b.seg_msgs[i] != NULL)
			for (k = 0; k < b.seg_msgs[i]->len; k++)
				message_row(&b, g_ptr_array_index(b.seg_msgs[i], k), i);
		else if (r->len > 0 && r->msg_count == 0 && !(r->marks & SEG_RETRANS) && !ctl)
			segment_row(&b, i, false);
		if (ctl && !(r->flags & TH_SYN))
			segment_row(&b, i, true);
	}
	/* Rows that draw no segment (pure ACKs in messages mode) point at the row before. */
	for (i = 0; i < s->segs->len; i++)
		if (b.seg_row[i] < 0 && i > 0)
			b.seg_row[i] = b.seg_row[i - 1];
	attach_anomalies(&b);
	if (o->fold_acks)
		fold_acks(d);
	for (i = 0; i < d->rows->len; i++) {
		struct dg_row *r = &g_array_index(d->rows, struct dg_row, i);
		r->step = i + 1;
		r->delta_us =
		    i == 0 ? 0 : r->t_us - g_array_index(d->rows, struct dg_row, i - 1).t_us;
	}

	for (i = 0; i < s->segs->len; i++)
		if (b.seg_msgs[i] != NULL)
			g_ptr_array_free(b.seg_msgs[i], TRUE);
	g_free(b.seg_msgs);
	g_free(b.seg_row);
	g_hash_table_destroy(b.txn_phase);
	g_free(b.user);
	return d;
fail:
	diagram_free(d);
	return NULL;
}

void
diagram_free(struct diagram *d)
{
	guint i;
	int p;

	if (d == NULL)
		return;
	if (d->rows != NULL) {
		for (i = 0; i < d->rows->len; i++)
			row_clear(&g_array_index(d->rows, struct dg_row, i));
		g_array_free(d->rows, TRUE);
	}
	for (p = 0; p < 2; p++) {
		g_free(d->system[p]);
		g_free(d->lifeline[p]);
		g_free(d->addr[p]);
	}
	for (p = 0; p < DG_PHASE__COUNT; p++)
		g_free(d->phase_title[p]);
	g_free(d->continued);
	g_free(d->title);
	g_free(d->col_step);
	g_free(d->col_time);
	g_free(d->col_remarks);
	g_free(d);
}

/* ---- the driver: sessions, pages, files ---- */

const char *
dg_output_path(const struct emit_opts *o)
{
	return o->output != NULL && strcmp(o->output, "-") != 0 ? o->output : NULL;
}

/* One run of a diagram format: what diagram_begin() returns. */
struct dg_run {
	const struct dg_renderer *rd;
	struct remarks *rm;
	unsigned drawn;  /* sessions drawn */
	GPtrArray *held; /* -o: the first session's pages, until we know if more follow */
	uint64_t held_id;
};

static void
pages_free(GPtrArray *pages)
{
	guint i;

	if (pages == NULL)
		return;
	for (i = 0; i < pages->len; i++)
		g_byte_array_free(g_ptr_array_index(pages, i), TRUE);
	g_ptr_array_free(pages, TRUE);
}

static int
write_all(FILE *out, const GByteArray *b, const char *what, char *errbuf)
{
	if (b->len > 0 && fwrite(b->data, 1, b->len, out) != b->len) {
		snprintf(errbuf, ERRBUF_SIZE, "%s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

/* FILE.ext -> FILE<suffix>.ext (ext of the -o name, else the format's). */
static char *
file_name(const struct dg_renderer *rd, const char *output, const char *suffix)
{
	const char *slash = strrchr(output, '/'), *dot = strrchr(output, '.');

	if (dot == NULL || (slash != NULL && dot < slash) || dot == output ||
	    (slash != NULL && dot == slash + 1))
		return g_strdup_printf("%s%s.%s", output, suffix, rd->ext);
	return g_strdup_printf("%.*s%s%s", (int)(dot - output), output, suffix, dot);
}

static int
write_file(struct dg_run *run, const struct emit_opts *o, const char *path, const GByteArray *b,
    char *errbuf)
{
	struct util_outfile f;
	char ignored[ERRBUF_SIZE];

	(void)run;
	/* Written whole or not at all (a temporary file renamed): never a partial drawing. */
	if (util_outfile_open(&f, path, errbuf) < 0)
		return -1;
	if (write_all(f.f, b, path, errbuf) < 0) {
		util_outfile_close(&f, false, ignored); /* the write error is the one to tell */
		return -1;
	}
	if (util_outfile_close(&f, true, errbuf) < 0)
		return -1;
	if (o->wrote != NULL)
		o->wrote(o->wrote_arg, path);
	return 0;
}

/* Writes a session's pages as files; sid 0 means "the only session". */
static int
write_pages(
    struct dg_run *run, const struct emit_opts *o, uint64_t sid, GPtrArray *pages, char *errbuf)
{
	const struct dg_renderer *rd = run->rd;
	char suffix[64], *path;
	guint i;
	int rc = 0;

	for (i = 0; i < pages->len && rc == 0; i++) {
		if (sid != 0 && pages->len > 1)
			snprintf(
			    suffix, sizeof(suffix), "-%llu-p%u", (unsigned long long)sid, i + 1);
		else if (sid != 0)
			snprintf(suffix, sizeof(suffix), "-%llu", (unsigned long long)sid);
		else
			snprintf(suffix, sizeof(suffix), "-p%u", i + 1);
		path = file_name(rd, dg_output_path(o), suffix);
		rc = write_file(run, o, path, g_ptr_array_index(pages, i), errbuf);
		g_free(path);
	}
	return rc;
}

void *
diagram_begin(const struct dg_renderer *rd, FILE *out, const struct emit_opts *o, char *errbuf)
{
	struct dg_run *run;
	enum dg_detail det;
	char why[ERRBUF_SIZE];

	(void)out;
	if (parse_detail(o, &det, errbuf) < 0) {
		emit_set_fail(o, EMIT_FAIL_USAGE);
		return NULL;
	}
	run = g_new0(struct dg_run, 1);
	run->rd = rd;
	run->rm = remarks_load(o->templates, why);
	if (run->rm == NULL) {
		/* Not an output error: the remark texts (templates/) cannot be read. */
		if (o->templates != NULL)
			g_snprintf(errbuf, ERRBUF_SIZE, "--templates %s: %s", o->templates, why);
		else
			g_snprintf(errbuf, ERRBUF_SIZE, "diagram templates: %s", why);
		emit_set_fail(o, EMIT_FAIL_INPUT);
		g_free(run);
		return NULL;
	}
	return run;
}

int
diagram_session(
    void *ctx, FILE *out, const struct session *s, const struct emit_opts *o, char *errbuf)
{
	struct dg_run *run = ctx;
	const struct dg_renderer *rd = run->rd;
	struct diagram *d;
	GPtrArray *pages;
	guint i;
	int rc = 0;

	if (o->only_session != 0 && s->id != o->only_session)
		return 0;
	d = diagram_build(s, o, run->rm, errbuf);
	if (d == NULL)
		return -1;
	pages = g_ptr_array_new();
	rc = rd->render(d, out, o, pages, errbuf);
	diagram_free(d);
	if (rc < 0)
		goto out;
	if (dg_output_path(o) == NULL) {
		/*
		 * A format whose stream holds one document only: the first
		 * session is held back until the end, so a second one is refused
		 * before anything is written.
		 */
		if (!rd->several && run->drawn > 0) {
			snprintf(errbuf, ERRBUF_SIZE,
			    "-T %s: the capture holds several sessions, and only one %s document "
			    "fits on standard output: use -o FILE (FILE-1.%s, FILE-2.%s, ...) or "
			    "--session N",
			    rd->format, rd->format, rd->ext, rd->ext);
			emit_set_fail(o, EMIT_FAIL_USAGE);
			rc = -1;
			goto out;
		}
		if (!rd->text && pages->len > 1) {
			snprintf(errbuf, ERRBUF_SIZE,
			    "-T %s: session %llu needs %u pages: use -o FILE (FILE-p1.%s, ...)",
			    rd->format, (unsigned long long)s->id, pages->len, rd->ext);
			emit_set_fail(o, EMIT_FAIL_USAGE);
			rc = -1;
			goto out;
		}
		if (!rd->several) {
			run->held = pages;
			run->held_id = s->id;
			pages = NULL;
		} else {
			for (i = 0; i < pages->len && rc == 0; i++)
				rc = write_all(
				    out, g_ptr_array_index(pages, i), "standard output", errbuf);
		}
		run->drawn++;
		goto out;
	}
	if (run->drawn == 0) {
		run->held = pages;
		run->held_id = s->id;
		pages = NULL;
	} else {
		if (run->held != NULL) {
			rc = write_pages(run, o, run->held_id, run->held, errbuf);
			pages_free(run->held);
			run->held = NULL;
		}
		if (rc == 0)
			rc = write_pages(run, o, s->id, pages, errbuf);
	}
	run->drawn++;
out:
	pages_free(pages);
	return rc;
}

int
diagram_end(
    void *ctx, FILE *out, const struct run_stats *st, const struct emit_opts *o, char *errbuf)
{
	struct dg_run *run = ctx;
	const struct dg_renderer *rd = run->rd;
	int rc = 0;

	if (st == NULL) { /* the output failed already: write nothing, only let go */
		pages_free(run->held);
		if (rd->cleanup != NULL)
			rd->cleanup();
		remarks_free(run->rm);
		g_free(run);
		return 0;
	}
	if (run->held != NULL) {
		guint i;
		if (dg_output_path(o) == NULL)
			for (i = 0; i < run->held->len && rc == 0; i++)
				rc = write_all(out, g_ptr_array_index(run->held, i),
				    "standard output", errbuf);
		else if (run->held->len == 1)
			rc = write_all(
			    out, g_ptr_array_index(run->held, 0), dg_output_path(o), errbuf);
		else
			rc = write_pages(run, o, 0, run->held, errbuf);
		pages_free(run->held);
		run->held = NULL;
	}
	/*
	 * Nothing drawn: main creates no -o file (it wrote to a temporary one).
	 * --session N naming no session is main's to say, for every format.
	 */
	if (rc == 0 && run->drawn == 0 && o->only_session == 0) {
		snprintf(errbuf, ERRBUF_SIZE, "-T %s: no POP3 session to draw", rd->format);
		emit_set_fail(o, EMIT_FAIL_NOTHING);
		rc = -1;
	}
	if (rd->cleanup != NULL)
		rd->cleanup();
	remarks_free(run->rm);
	g_free(run);
	return rc;
}
