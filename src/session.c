/* session.c - the session model and the table of open sessions; TCP sequence tracking per segment. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "session.h"

/* Holes we remember per direction to tell out-of-order from retransmitted segments. */
#define SESSION_MAX_HOLES 32
/* How far back a retransmission is compared with the segment it repeats. */
#define SESSION_RETRANS_LOOKBACK 1024
/* How far back session_frame_at() looks, so anomalies stay cheap. */
#define SESSION_FRAME_LOOKBACK 65536

struct hole {
	uint64_t from, to; /* [from, to) */
};

struct conn_key {
	struct endpoint a, b; /* a is the smaller endpoint */
};

struct session_table {
	const struct session_ops *ops;
	void *arg;
	GHashTable *open; /* struct conn_key * -> struct session * */
	uint64_t next_id;
};

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

static int
endpoint_cmp(const struct endpoint *a, const struct endpoint *b)
{
	int r;

	if (a->ip.family != b->ip.family)
		return a->ip.family < b->ip.family ? -1 : 1;
	r = memcmp(a->ip.bytes, b->ip.bytes, sizeof(a->ip.bytes));
	if (r != 0)
		return r;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

static void
conn_key_make(struct conn_key *k, const struct endpoint *x, const struct endpoint *y)
{
	memset(k, 0, sizeof(*k));
	if (endpoint_cmp(x, y) <= 0) {
		k->a = *x;
		k->b = *y;
	} else {
		k->a = *y;
		k->b = *x;
	}
}

static guint
conn_key_hash(gconstpointer p)
{
	const struct conn_key *k = p;
	const uint8_t *b = (const uint8_t *)k;
	guint h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static gboolean
conn_key_equal(gconstpointer x, gconstpointer y)
{
	return memcmp(x, y, sizeof(struct conn_key)) == 0;
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

uint64_t
session_frame_at(const struct session *s, enum dir d, uint64_t off)
{
	guint i, n = s->segs->len, stop;
	const struct seg_rec *r, *after = NULL;

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
	return after != NULL ? after->frame : 0;
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

	if (s->anomalies->len >= SESSION_MAX_ANOMALIES) {
		s->anomalies_dropped++;
		return;
	}
	memset(&a, 0, sizeof(a));
	if (s->anomalies->len == SESSION_MAX_ANOMALIES - 1) {
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
	for (d = 0; d < 2; d++) {
		s->msgs[d] = g_ptr_array_new();
		s->holes[d] = g_array_new(FALSE, FALSE, sizeof(struct hole));
	}
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
	g_ptr_array_free(s->opaque, TRUE);
	for (d = 0; d < 2; d++) {
		g_ptr_array_free(s->msgs[d], TRUE);
		g_array_free(s->holes[d], TRUE);
	}
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
	guint i, j;
	struct seg_rec *r;
	struct msg *m;
	uint64_t end;
	int d;

	for (d = 0; d < 2; d++)
		for (j = 0; j < s->msgs[d]->len; j++) {
			m = g_ptr_array_index(s->msgs[d], j);
			if (m->segs != NULL)
				return; /* already done */
			m->segs = g_array_new(FALSE, FALSE, sizeof(guint));
		}
	note_tcp_events(s);
	if (s->txns_dropped > 0)
		session_anomaly_at(s, ANOM_TRANSACTION_LIMIT, DIR_TO_SERVER, 0, NULL,
		    "%llu settled transactions after the first %d were parsed but not kept "
		    "(more than %d in one session)",
		    (unsigned long long)s->txns_dropped, SESSION_KEEP_FIRST_TXNS, SESSION_MAX_TXNS);
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
			g_array_append_val(m->segs, i);
			if (m->segs->len == 1)
				m->ts = r->ts; /* the wire time, not the delivery time */
			r->msg_count++;
		}
	}
}

/* ---- TCP sequence tracking ---- */

static uint32_t
payload_hash(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/*
 * A retransmission of exactly the bytes range of an earlier segment is
 * compared with it: different bytes are a conflict (libnids, like
 * popflow's transcript, keeps the first copy).  Other overlaps are not
 * compared.
 */
static void
check_conflict(struct session *s, struct seg_rec *r)
{
	guint i, n = s->segs->len, stop;
	const struct seg_rec *o;

	stop = n > SESSION_RETRANS_LOOKBACK ? n - SESSION_RETRANS_LOOKBACK : 0;
	for (i = n; i > stop; i--) {
		o = &g_array_index(s->segs, struct seg_rec, i - 1);
		if (o->dir != r->dir || o->off != r->off || o->len != r->len ||
		    o->caplen != o->len || (o->marks & (SEG_RETRANS | SEG_SYNTHETIC)))
			continue;
		if (o->hash != r->hash) {
			r->marks |= SEG_CONFLICT;
			session_anomaly_at(s, ANOM_CONFLICTING_RETRANSMISSION, (enum dir)r->dir,
			    r->frame, NULL,
			    "other bytes than frame %llu for the same %u octets; the first copy is "
			    "kept",
			    (unsigned long long)o->frame, r->len);
		}
		return;
	}
}

/* 32-bit relative sequence -> 64-bit stream offset near the last one. */
static uint64_t
unwrap(uint64_t last, uint32_t rel)
{
	int64_t diff = (int32_t)(rel - (uint32_t)last);
	int64_t v = (int64_t)last + diff;

	return v < 0 ? 0 : (uint64_t)v;
}

static void
hole_add(GArray *holes, uint64_t from, uint64_t to)
{
	struct hole h = {from, to};

	if (holes->len >= SESSION_MAX_HOLES)
		g_array_remove_index(holes, 0); /* forget the oldest: bounded */
	g_array_append_val(holes, h);
}

/* Removes [from, to) from the holes; true if any part of it was a hole. */
static bool
hole_fill(GArray *holes, uint64_t from, uint64_t to)
{
	bool filled = false;
	guint i;
	struct hole *h, rest;

	for (i = 0; i < holes->len; i++) {
		h = &g_array_index(holes, struct hole, i);
		if (to <= h->from || from >= h->to)
			continue;
		filled = true;
		if (from <= h->from && to >= h->to) {
			g_array_remove_index(holes, i);
			i--;
		} else if (from <= h->from) {
			h->from = to;
		} else if (to >= h->to) {
			h->to = from;
		} else {
			rest.from = to;
			rest.to = h->to;
			h->to = from;
			g_array_insert_val(holes, i + 1, rest);
			i++;
		}
	}
	return filled;
}

static void
track_segment(struct session *s, const struct segment *seg, enum dir d)
{
	struct seg_rec r;
	enum dir o = d == DIR_TO_SERVER ? DIR_TO_CLIENT : DIR_TO_SERVER;
	uint64_t end;

	memset(&r, 0, sizeof(r));
	r.frame = seg->frame;
	r.ts = seg->ts;
	r.seq = seg->seq;
	r.ack = seg->ack;
	r.win = seg->win;
	r.flags = seg->flags;
	r.dir = (uint8_t)d;
	r.len = seg->payload_len;
	r.caplen = seg->payload_caplen;
	if (r.caplen > 0)
		r.hash = payload_hash(seg->payload, r.caplen);
	s->last = seg->ts;
	s->last_frame = seg->frame;

	if (seg->flags & TH_SYN) {
		if (!s->isn_known[d] || s->seen_end[d] == 0) {
			s->isn[d] = seg->seq;
			s->isn_known[d] = true;
		}
	} else if (!s->isn_known[d]) {
		/* No SYN from this side: count from the first byte we see. */
		s->isn[d] = seg->seq - 1;
		s->isn_known[d] = true;
	}
	if ((seg->flags & TH_ACK) && !s->isn_known[o]) {
		s->isn[o] = seg->ack - 1;
		s->isn_known[o] = true;
	}
	r.rel_seq = seg->seq - s->isn[d];
	r.rel_ack = (seg->flags & TH_ACK) ? seg->ack - s->isn[o] : 0;
	if (seg->flags & TH_SYN)
		r.off = 0;
	else
		r.off = unwrap(s->last_off[d], seg->seq - (s->isn[d] + 1));

	if (r.len > 0 && !(seg->flags & TH_SYN)) {
		end = r.off + r.len;
		s->last_off[d] = r.off;
		if (r.off >= s->seen_end[d]) {
			if (r.off > s->seen_end[d]) {
				r.marks |= SEG_GAP_BEFORE;
				hole_add(s->holes[d], s->seen_end[d], r.off);
			}
			s->seen_end[d] = end;
		} else {
			if (hole_fill(s->holes[d], r.off, end)) {
				r.marks |= SEG_OOO;
			} else {
				r.marks |= SEG_RETRANS;
				if (r.caplen == r.len && !s->ignored)
					check_conflict(s, &r);
			}
			if (end > s->seen_end[d])
				s->seen_end[d] = end;
		}
		if (r.caplen < r.len) {
			r.marks |= SEG_TRUNCATED;
			if (s->truncated_segs++ == 0)
				session_anomaly(s, ANOM_SEGMENT_TRUNCATED, d, UINT64_MAX, NULL,
				    "%u of %u payload bytes captured (snapshot length); later cut "
				    "segments are marked in the segment list",
				    r.caplen, r.len);
		}
		if (s->fin[d] && !(r.marks & (SEG_RETRANS | SEG_OOO)))
			session_anomaly(s, ANOM_DATA_AFTER_CLOSE, d, UINT64_MAX, NULL,
			    "%u bytes after FIN", r.len);
	} else if (seg->flags == TH_ACK && s->packets[d] > 0 && seg->ack == s->last_ack[d] &&
	    seg->payload_len == 0) {
		r.marks |= SEG_DUP_ACK;
	}
	if (seg->flags & TH_ACK)
		s->last_ack[d] = seg->ack;
	if (seg->flags & TH_FIN) {
		if (s->fin[d] && r.len == 0)
			r.marks |= SEG_RETRANS;
		s->fin[d] = true;
	}
	if (seg->flags & TH_RST)
		s->rst = true;
	if ((seg->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) && d == DIR_TO_CLIENT)
		s->synack = true;
	if ((seg->flags & TH_SYN) && s->packets[d] > 0)
		r.marks |= SEG_RETRANS;

	s->packets[d]++;
	s->payload[d] += seg->payload_caplen;
	if (s->ignored)
		return; /* not POP3: state kept, segments not listed */
	if (s->segs->len >= SESSION_MAX_SEGMENTS) {
		if (s->segs_dropped++ == 0)
			session_anomaly(s, ANOM_SEGMENT_LOG_FULL, d, UINT64_MAX, NULL,
			    "more than %u segments: later ones are counted, not listed",
			    SESSION_MAX_SEGMENTS);
		return;
	}
	g_array_append_val(s->segs, r);
}

/* ---- the table ---- */

struct session_table *
session_table_new(const struct session_ops *ops, void *arg)
{
	struct session_table *t = g_new0(struct session_table, 1);

	t->ops = ops;
	t->arg = arg;
	t->open = g_hash_table_new_full(conn_key_hash, conn_key_equal, g_free, NULL);
	t->next_id = 1;
	return t;
}

static struct session *
table_create(struct session_table *t, const struct segment *seg, const struct endpoint *client,
    const struct endpoint *server, bool candidate)
{
	struct conn_key *k = g_new(struct conn_key, 1);
	struct session *s = session_new(candidate ? 0 : t->next_id++, client, server);

	conn_key_make(k, client, server);
	s->start = s->last = seg->ts;
	s->first_frame = s->last_frame = seg->frame;
	s->handshake = (seg->flags & (TH_SYN | TH_ACK)) == TH_SYN ? HS_SEEN : HS_MISSING;
	s->candidate = candidate;
	g_hash_table_replace(t->open, k, s);
	if (t->ops->started != NULL)
		t->ops->started(t->arg, s);
	if (s->handshake == HS_MISSING)
		session_anomaly(s, ANOM_HANDSHAKE_MISSING, DIR_TO_SERVER, UINT64_MAX, NULL,
		    "first frame %llu has no SYN: the connection opened before the capture began "
		    "(or its earlier part was reported as another session)",
		    (unsigned long long)seg->frame);
	return s;
}

static enum end_reason
reason_from_flags(const struct session *s, enum end_reason otherwise)
{
	if (s->rst)
		return END_RST;
	if (s->fin[0] && s->fin[1])
		return END_FIN;
	return otherwise;
}

struct session *
session_table_segment(struct session_table *t, const struct segment *seg, enum dir *dir)
{
	struct conn_key k;
	struct session *s;
	const struct endpoint *client, *server;

	conn_key_make(&k, &seg->src, &seg->dst);
	s = g_hash_table_lookup(t->open, &k);
	if (s != NULL && (seg->flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN &&
	    endpoint_equal(&seg->src, &s->client) &&
	    (!s->isn_known[DIR_TO_SERVER] || s->isn[DIR_TO_SERVER] != seg->seq) &&
	    (s->seen_end[0] > 0 || s->seen_end[1] > 0 || s->fin[0] || s->fin[1] || s->rst)) {
		/* A new connection on the same 4-tuple: the old one is over. */
		session_table_end(t, s, reason_from_flags(s, END_REUSED));
		s = NULL;
	}
	if (s == NULL && !t->ops->is_pop3_port(t->arg, seg->src.port) &&
	    !t->ops->is_pop3_port(t->arg, seg->dst.port)) {
		/* Other ports: only a connection seen from its SYN is probed for POP3. */
		if ((seg->flags & (TH_SYN | TH_ACK | TH_RST)) != TH_SYN)
			return NULL;
		s = table_create(t, seg, &seg->src, &seg->dst, true);
	}
	if (s == NULL) {
		if ((seg->flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN) {
			client = &seg->src;
			server = &seg->dst;
		} else if ((seg->flags & (TH_SYN | TH_ACK | TH_RST)) == (TH_SYN | TH_ACK)) {
			client = &seg->dst; /* the SYN was not captured */
			server = &seg->src;
		} else if (seg->payload_len > 0 && !(seg->flags & TH_RST)) {
			/* Mid-session: the POP3 port tells who serves. */
			if (t->ops->is_pop3_port(t->arg, seg->dst.port) &&
			    !t->ops->is_pop3_port(t->arg, seg->src.port)) {
				client = &seg->src;
				server = &seg->dst;
			} else if (t->ops->is_pop3_port(t->arg, seg->src.port)) {
				client = &seg->dst;
				server = &seg->src;
			} else if (seg->dst.port < seg->src.port) {
				client = &seg->src;
				server = &seg->dst;
			} else {
				client = &seg->dst;
				server = &seg->src;
			}
		} else {
			return NULL;
		}
		s = table_create(t, seg, client, server, false);
	}
	*dir = endpoint_equal(&seg->src, &s->client) ? DIR_TO_SERVER : DIR_TO_CLIENT;
	track_segment(s, seg, *dir);
	return s;
}

struct session *
session_table_lookup(
    struct session_table *t, const struct endpoint *client, const struct endpoint *server)
{
	struct conn_key k;

	conn_key_make(&k, client, server);
	return g_hash_table_lookup(t->open, &k);
}

void
session_table_end(struct session_table *t, struct session *s, enum end_reason why)
{
	struct conn_key k;

	conn_key_make(&k, &s->client, &s->server);
	/* Steal first: callbacks must not find a session being ended. */
	g_hash_table_remove(t->open, &k);
	s->end_reason = why;
	if (t->ops->closing != NULL)
		t->ops->closing(t->arg, s);
	session_finalize(s);
	if (t->ops->ended != NULL)
		t->ops->ended(t->arg, s);
	session_free(s);
}

static gint
session_order(gconstpointer a, gconstpointer b)
{
	const struct session *x = *(struct session *const *)a;
	const struct session *y = *(struct session *const *)b;

	if (x->first_frame != y->first_frame)
		return x->first_frame < y->first_frame ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void
end_list(struct session_table *t, GPtrArray *list, enum end_reason why)
{
	guint i;
	struct session *s;

	g_ptr_array_sort(list, session_order);
	for (i = 0; i < list->len; i++) {
		s = g_ptr_array_index(list, i);
		session_table_end(t, s, reason_from_flags(s, why));
	}
}

void
session_table_end_all(struct session_table *t, enum end_reason why)
{
	GPtrArray *list = g_ptr_array_new();
	GList *values = g_hash_table_get_values(t->open), *l;

	for (l = values; l != NULL; l = l->next)
		g_ptr_array_add(list, l->data);
	g_list_free(values);
	end_list(t, list, why);
	g_ptr_array_free(list, TRUE);
}

void
session_table_expire(struct session_table *t, struct ts now, uint32_t idle_sec)
{
	GPtrArray *list = g_ptr_array_new();
	GHashTableIter it;
	gpointer k, v;
	struct session *s;

	g_hash_table_iter_init(&it, t->open);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		s = v;
		if (ts_diff_us(s->last, now) > (int64_t)idle_sec * 1000000)
			g_ptr_array_add(list, s);
	}
	end_list(t, list, END_TIMEOUT);
	g_ptr_array_free(list, TRUE);
}

void
session_table_number(struct session_table *t, struct session *s)
{
	if (s->id == 0)
		s->id = t->next_id++;
}

size_t
session_table_open(const struct session_table *t)
{
	return g_hash_table_size(t->open);
}

uint64_t
session_table_created(const struct session_table *t)
{
	return t->next_id - 1;
}

void
session_table_free(struct session_table *t)
{
	GHashTableIter it;
	gpointer k, v;

	if (t == NULL)
		return;
	g_hash_table_iter_init(&it, t->open);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (t->ops->closing != NULL)
			t->ops->closing(t->arg, v);
		session_free(v);
	}
	g_hash_table_destroy(t->open);
	g_free(t);
}
