/* session.c - the session model: sessions, transactions, messages, anomalies; segments mapped to messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "session.h"

/* How far back session_frame_at() looks, so anomalies stay cheap. */
#define SESSION_FRAME_LOOKBACK 65536

static const char *const anom_names[] = {
#define ANOM(e, name, desc) name,
#include "anomalies.def"
#undef ANOM
};
static const char *const anom_descs[] = {
#define ANOM(e, name, desc) desc,
#include "anomalies.def"
#undef ANOM
};

const char *
anom_name(enum anom a)
{
	return (unsigned)a < ANOM__COUNT ? anom_names[a] : "?";
}

const char *
anom_desc(enum anom a)
{
	return (unsigned)a < ANOM__COUNT ? anom_descs[a] : "?";
}

const char *
end_reason_name(enum end_reason r)
{
	switch (r) {
	case END_OPEN:
		return "open";
	case END_FIN:
		return "fin";
	case END_RST:
		return "rst";
	case END_TIMEOUT:
		return "timeout";
	case END_EOF:
		return "eof";
	case END_INTERRUPTED:
		return "interrupted";
	case END_REUSED:
		return "reused";
	}
	return "?";
}

const char *
handshake_name(enum handshake h)
{
	switch (h) {
	case HS_SEEN:
		return "seen";
	case HS_SYNTHETIC:
		return "synthetic";
	case HS_MISSING:
		return "missing";
	}
	return "?";
}

const char *
proto_name(enum proto p)
{
	switch (p) {
	case PROTO_POP3:
		return "pop3";
	case PROTO_TLS:
		return "tls";
	case PROTO_POP3S:
		return "pop3s";
	case PROTO_NOT_POP3:
		return "not-pop3";
	}
	return "?";
}

/* ---- model building ---- */

static void
msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	g_free(m->text);
	if (m->data != NULL)
		g_byte_array_free(m->data, TRUE);
	if (m->segs != NULL)
		g_array_free(m->segs, TRUE);
	g_free(m);
}

static void
txn_free(struct txn *t)
{
	guint i;

	if (t == NULL)
		return;
	for (i = 0; i < t->msgs->len; i++)
		msg_free(g_ptr_array_index(t->msgs, i));
	g_ptr_array_free(t->msgs, TRUE);
	g_free(t->verb);
	g_free(t->arg);
	g_free(t->text);
	g_free(t->resp_code);
	g_free(t->uidl);
	g_free(t);
}

static void
txn_free_cb(gpointer p)
{
	txn_free(p);
}

static void
msg_free_cb(gpointer p)
{
	msg_free(p);
}

/*
 * Settled: the dissector holds no pointer to it (txn.held), so nothing will
 * read or write it again and it may be let go.  A reply still being read is
 * held (also a RETR already marked partial by a gap: its body goes on), a
 * command still awaiting its reply is held; a command pushed out of the
 * pending queue (POP3_MAX_PENDING) is not, and settles.
 */
static bool
txn_settled(const struct txn *t)
{
	return t->held == 0;
}

/*
 * Lets go of settled transactions after the first SESSION_KEEP_FIRST_TXNS
 * (logins come first and stay), and of their messages, in one pass.
 */
static void
shed_txns(struct session *s)
{
	guint i, j, k, want = SESSION_MAX_TXNS / 10, gone = 0;
	struct txn *t;
	struct msg *m;
	int d;

	for (i = SESSION_KEEP_FIRST_TXNS; i < s->txns->len && gone < want; i++) {
		t = g_ptr_array_index(s->txns, i);
		if (!txn_settled(t))
			continue;
		for (j = 0; j < t->msgs->len; j++)
			((struct msg *)g_ptr_array_index(t->msgs, j))->shed = true;
		gone++;
	}
	for (d = 0; d < 2; d++) {
		for (i = 0, k = 0; i < s->msgs[d]->len; i++) {
			m = g_ptr_array_index(s->msgs[d], i);
			if (!m->shed)
				g_ptr_array_index(s->msgs[d], k++) = m;
		}
		g_ptr_array_set_size(s->msgs[d], k);
	}
	for (i = 0, k = 0; i < s->txns->len; i++) {
		t = g_ptr_array_index(s->txns, i);
		if (t->msgs->len > 0 && ((struct msg *)g_ptr_array_index(t->msgs, 0))->shed) {
			txn_free(t);
			s->txns_dropped++;
		} else {
			g_ptr_array_index(s->txns, k++) = t;
		}
	}
	/* The tail holds stale copies of moved pointers: drop them without freeing. */
	g_ptr_array_set_free_func(s->txns, NULL);
	g_ptr_array_set_size(s->txns, k);
	g_ptr_array_set_free_func(s->txns, txn_free_cb);
}

struct txn *
session_txn_new(struct session *s, int cmd, bool greeting)
{
	struct txn *t = g_new0(struct txn, 1);

	t->cmd = cmd;
	t->verb = g_strdup("");
	t->arg = g_strdup("");
	t->text = g_strdup("");
	t->msgs = g_ptr_array_new();
	if (greeting) {
		t->id = 0;
		txn_free(s->greeting);
		s->greeting = t;
	} else {
		if (s->txns->len >= SESSION_MAX_TXNS)
			shed_txns(s);
		g_ptr_array_add(s->txns, t);
		t->id = ++s->txn_next_id;
	}
	return t;
}

void
session_clear_txns(struct session *s)
{
	int d;

	for (d = 0; d < 2; d++)
		g_ptr_array_set_size(s->msgs[d], 0);
	g_ptr_array_set_size(s->txns, 0);
	txn_free(s->greeting);
	s->greeting = NULL;
	g_ptr_array_set_size(s->opaque, 0);
}

void
session_clear_anomalies(struct session *s)
{
	guint i;

	for (i = 0; i < s->anomalies->len; i++)
		g_free(g_array_index(s->anomalies, struct anomaly, i).detail);
	g_array_set_size(s->anomalies, 0);
	s->anomalies_dropped = 0;
}

struct msg *
session_msg_new(
    struct session *s, struct txn *t, enum msg_kind kind, enum dir d, uint64_t off, struct ts ts)
{
	struct msg *m = g_new0(struct msg, 1);

	m->kind = kind;
	m->dir = d;
	m->txn = t;
	m->off = m->end = off;
	m->ts = ts;
	if (t != NULL)
		g_ptr_array_add(t->msgs, m);
	else
		g_ptr_array_add(s->opaque, m);
	g_ptr_array_add(s->msgs[d], m);
	return m;
}

/*
 * The frame of the newest segment of the index (segments that carried bytes
 * beyond all before them) holding byte off of direction d; 0 if none does.
 * O(log n): the index's ends increase.  Built as far as the log goes.
 */
static uint64_t
frame_from_index(struct session *s, enum dir d, uint64_t off)
{
	guint lo, hi, n = s->segs->len, i;
	const struct seg_rec *r;

	for (i = s->frame_indexed; i < n; i++) {
		r = &g_array_index(s->segs, struct seg_rec, i);
		if (r->len == 0 || (r->marks & SEG_SYNTHETIC) ||
		    r->off + r->len <= s->frame_index_end[r->dir])
			continue;
		if (s->frame_index[r->dir] == NULL)
			s->frame_index[r->dir] = g_array_new(FALSE, FALSE, sizeof(guint));
		g_array_append_val(s->frame_index[r->dir], i);
		s->frame_index_end[r->dir] = r->off + r->len;
	}
	s->frame_indexed = n;
	if (s->frame_index[d] == NULL)
		return 0;
	/* the first entry whose end is past off */
	lo = 0;
	hi = s->frame_index[d]->len;
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		r = &g_array_index(
		    s->segs, struct seg_rec, g_array_index(s->frame_index[d], guint, mid));
		if (r->off + r->len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->frame_index[d]->len)
		return 0;
	r = &g_array_index(s->segs, struct seg_rec, g_array_index(s->frame_index[d], guint, lo));
	return off >= r->off ? r->frame : 0;
}

uint64_t
session_frame_at(struct session *s, enum dir d, uint64_t off)
{
	guint i, n = s->segs->len, stop;
	const struct seg_rec *r, *after = NULL;
	uint64_t f;

	if (off >= SESSION_PLAIN_BASE && s->plain_map != NULL)
		off = s->plain_map(s->plain_arg, d, off); /* decrypted TLS bytes (tls.h) */
	stop = n > SESSION_FRAME_LOOKBACK ? n - SESSION_FRAME_LOOKBACK : 0;
	for (i = n; i > stop; i--) {
		r = &g_array_index(s->segs, struct seg_rec, i - 1);
		if (r->dir != d || r->len == 0 || (r->marks & SEG_SYNTHETIC))
			continue;
		if (off >= r->off && off - r->off < r->len)
			return r->frame;
		/* For bytes never captured: the segment that came right after them. */
		if (r->off > off && (after == NULL || r->off <= after->off))
			after = r;
	}
	/* Older than the look-back (a line of more than 65536 segments, say): the index. */
	if (stop > 0 && (f = frame_from_index(s, d, off)) != 0)
		return f;
	return after != NULL ? after->frame : 0;
}

/* Empties the segment log (a connection found not to be POP3), and the index over it. */
void
session_clear_segs(struct session *s)
{
	int d;

	g_array_set_size(s->segs, 0);
	for (d = 0; d < 2; d++) {
		if (s->frame_index[d] != NULL)
			g_array_set_size(s->frame_index[d], 0);
		s->frame_index_end[d] = 0;
	}
	s->frame_indexed = 0;
}

uint64_t
msg_first_frame(const struct session *s, const struct msg *m)
{
	if (m->segs == NULL || m->segs->len == 0)
		return 0;
	return g_array_index(s->segs, struct seg_rec, g_array_index(m->segs, guint, 0)).frame;
}

static void
anomaly_add(struct session *s, enum anom kind, enum dir d, uint64_t frame, const struct txn *t,
    const char *fmt, va_list ap)
{
	struct anomaly a;
	char buf[512];
	size_t i;
	/* That transactions were let go is said even past the cap: one line, once, at the end. */
	bool always = kind == ANOM_TRANSACTION_LIMIT;

	if (s->anomalies->len >= SESSION_MAX_ANOMALIES && !always) {
		s->anomalies_dropped++;
		return;
	}
	memset(&a, 0, sizeof(a));
	if (s->anomalies->len == SESSION_MAX_ANOMALIES - 1 && !always) {
		a.kind = ANOM_ANOMALY_LIMIT;
		a.detail = g_strdup_printf(
		    "more than %d anomalies; the rest are counted only", SESSION_MAX_ANOMALIES - 1);
		g_array_append_val(s->anomalies, a);
		s->anomalies_dropped++;
		return;
	}
	a.kind = kind;
	a.dir = d;
	a.frame = frame;
	a.txn = t != NULL ? t->id : 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* Details may quote packet bytes: keep them printable ASCII. */
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
			buf[i] = '?';
	a.detail = g_strdup(buf);
	g_array_append_val(s->anomalies, a);
}

void
session_anomaly(struct session *s, enum anom kind, enum dir d, uint64_t off, const struct txn *t,
    const char *fmt, ...)
{
	va_list ap;

	if (s->anomalies->len >= SESSION_MAX_ANOMALIES) {
		s->anomalies_dropped++; /* counted only: no frame lookup (a flood stays cheap) */
		return;
	}
	va_start(ap, fmt);
	anomaly_add(s, kind, d, off == UINT64_MAX ? s->last_frame : session_frame_at(s, d, off), t,
	    fmt, ap);
	va_end(ap);
}

void
session_anomaly_at(struct session *s, enum anom kind, enum dir d, uint64_t frame,
    const struct txn *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	anomaly_add(s, kind, d, frame, t, fmt, ap);
	va_end(ap);
}

int
session_win_shift(const struct session *s, enum dir d)
{
	const struct seg_rec *r, *syn[2] = {NULL, NULL};
	guint i;

	for (i = 0; i < s->segs->len && (syn[0] == NULL || syn[1] == NULL); i++) {
		r = &g_array_index(s->segs, struct seg_rec, i);
		if ((r->flags & TH_SYN) && !(r->marks & SEG_SYNTHETIC) && syn[r->dir] == NULL)
			syn[r->dir] = r;
	}
	if (syn[0] == NULL || syn[1] == NULL)
		return -1;
	if (syn[0]->wscale == 0 || syn[1]->wscale == 0)
		return 0;
	return syn[d]->wscale - 1;
}

static gint
anomaly_frame_cmp(gconstpointer a, gconstpointer b)
{
	const struct anomaly *x = a, *y = b;
	uint64_t fx = x->frame == 0 ? UINT64_MAX : x->frame;
	uint64_t fy = y->frame == 0 ? UINT64_MAX : y->frame;

	return fx < fy ? -1 : fx > fy;
}

void
session_sort_anomalies(struct session *s)
{
	/* g_array_sort() is a stable sort (GLib 2.32 and later). */
	g_array_sort(s->anomalies, anomaly_frame_cmp);
}

int
session_anomaly_count(const struct session *s, enum anom kind)
{
	guint i;
	int n = 0;

	for (i = 0; i < s->anomalies->len; i++)
		if (g_array_index(s->anomalies, struct anomaly, i).kind == kind)
			n++;
	return n;
}

struct session *
session_new(uint64_t id, const struct endpoint *client, const struct endpoint *server)
{
	struct session *s = g_new0(struct session, 1);
	int d;

	s->id = id;
	s->client = *client;
	s->server = *server;
	s->txns = g_ptr_array_new_with_free_func(txn_free_cb);
	s->anomalies = g_array_new(FALSE, TRUE, sizeof(struct anomaly));
	s->segs = g_array_new(FALSE, TRUE, sizeof(struct seg_rec));
	s->opaque = g_ptr_array_new_with_free_func(msg_free_cb);
	for (d = 0; d < 2; d++)
		s->msgs[d] = g_ptr_array_new();
	return s;
}

void
session_free(struct session *s)
{
	guint i;
	int d;

	if (s == NULL)
		return;
	txn_free(s->greeting);
	g_ptr_array_free(s->txns, TRUE);
	for (i = 0; i < s->anomalies->len; i++)
		g_free(g_array_index(s->anomalies, struct anomaly, i).detail);
	g_array_free(s->anomalies, TRUE);
	g_array_free(s->segs, TRUE);
	for (d = 0; d < 2; d++)
		if (s->frame_index[d] != NULL)
			g_array_free(s->frame_index[d], TRUE);
	g_ptr_array_free(s->opaque, TRUE);
	for (d = 0; d < 2; d++)
		g_ptr_array_free(s->msgs[d], TRUE);
	g_free(s);
}

/* ---- segments <-> messages ---- */

/* First message of direction d whose range ends after off (binary search). */
static guint
msg_search(GPtrArray *msgs, uint64_t off)
{
	guint lo = 0, hi = msgs->len, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (((struct msg *)g_ptr_array_index(msgs, mid))->end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Retransmitted and out-of-order data, once per session (each segment is marked too). */
static void
note_tcp_events(struct session *s)
{
	guint i, nre = 0, nooo = 0;
	uint64_t fre = 0, fooo = 0;
	enum dir dre = DIR_TO_SERVER, dooo = DIR_TO_SERVER;
	const struct seg_rec *r;

	for (i = 0; i < s->segs->len; i++) {
		r = &g_array_index(s->segs, struct seg_rec, i);
		if (r->len == 0)
			continue;
		if ((r->marks & SEG_RETRANS) && nre++ == 0) {
			fre = r->frame;
			dre = (enum dir)r->dir;
		}
		if ((r->marks & SEG_OOO) && nooo++ == 0) {
			fooo = r->frame;
			dooo = (enum dir)r->dir;
		}
	}
	if (nre > 0)
		session_anomaly_at(s, ANOM_RETRANSMISSION, dre, fre, NULL,
		    "%u data segment(s) retransmitted, from this frame on (each is marked in the "
		    "segment list)",
		    nre);
	if (nooo > 0)
		session_anomaly_at(s, ANOM_OUT_OF_ORDER, dooo, fooo, NULL,
		    "%u data segment(s) out of order, from this frame on (each is marked in the "
		    "segment list)",
		    nooo);
}

void
session_finalize(struct session *s)
{
	guint i, j, k, *fill[2];
	struct seg_rec *r;
	struct msg *m;
	uint64_t end;
	int d;

	for (d = 0; d < 2; d++)
		for (j = 0; j < s->msgs[d]->len; j++)
			if (((struct msg *)g_ptr_array_index(s->msgs[d], j))->segs != NULL)
				return; /* already done */
	note_tcp_events(s);
	if (s->txns_dropped > 0)
		session_anomaly_at(s, ANOM_TRANSACTION_LIMIT, DIR_TO_SERVER, 0, NULL,
		    "%llu settled transactions after the first %d were parsed but not kept "
		    "(more than %d in one session)",
		    (unsigned long long)s->txns_dropped, SESSION_KEEP_FIRST_TXNS, SESSION_MAX_TXNS);
	/* Which messages each segment carries, counted per message... */
	for (d = 0; d < 2; d++)
		fill[d] = g_new0(guint, s->msgs[d]->len + 1);
	for (i = 0; i < s->segs->len; i++) {
		r = &g_array_index(s->segs, struct seg_rec, i);
		r->msg_first = r->msg_count = 0;
		if (r->len == 0 || (r->marks & SEG_SYNTHETIC))
			continue;
		end = r->off + r->len;
		j = msg_search(s->msgs[r->dir], r->off);
		r->msg_first = j;
		for (; j < s->msgs[r->dir]->len; j++) {
			m = g_ptr_array_index(s->msgs[r->dir], j);
			if (m->off >= end)
				break;
			fill[r->dir][j]++;
			r->msg_count++;
		}
	}
	/* ...so that each message's list is allocated once, at its size... */
	for (d = 0; d < 2; d++)
		for (j = 0; j < s->msgs[d]->len; j++) {
			m = g_ptr_array_index(s->msgs[d], j);
			m->segs = g_array_sized_new(FALSE, FALSE, sizeof(guint), fill[d][j]);
			g_array_set_size(m->segs, fill[d][j]);
			fill[d][j] = 0;
		}
	/* ...then filled in segment order. */
	for (i = 0; i < s->segs->len; i++) {
		r = &g_array_index(s->segs, struct seg_rec, i);
		for (k = 0; k < r->msg_count; k++) {
			j = r->msg_first + k;
			m = g_ptr_array_index(s->msgs[r->dir], j);
			if (fill[r->dir][j] == 0)
				m->ts = r->ts; /* the wire time, not the delivery time */
			g_array_index(m->segs, guint, fill[r->dir][j]++) = i;
		}
	}
	for (d = 0; d < 2; d++)
		g_free(fill[d]);
}
