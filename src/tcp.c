/*
 * tcp.c - the TCP stage: connection table, orientation, sequence tracking,
 * the segment log, the synthetic handshake, closing and lingering.
 *
 * Each decoded segment comes in through tcp_segment().  It is recorded in
 * its session's segment log with its marks, its payload is placed at its
 * 64-bit stream offset and handed to tcp_order.c, which hands libnids
 * (tcp_nids.c) only bytes that come next.  libnids' deliveries come back
 * through tcp_deliver() to the consumer's ops.  A connection's state lives
 * in one struct tcp_conn (src/tcp_int.h); the model (struct session) is
 * made only when the connection carries payload or is reported, so a
 * connection that never carried data costs a few hundred bytes.
 */
#include <string.h>

#include "frameid.h"
#include "tcp_int.h"
#include "util.h"

/* Holes remembered per direction to tell out-of-order from retransmitted segments. */
#define TCP_COPY_LOOKBACK 65536 /* records searched for the first copy of a byte */
#define TCP_MAX_HOLES 32

static const char *const gap_names[] = {
    [TCP_GAP_NOT_CAPTURED] = "never captured",
    [TCP_GAP_SNAPLEN] = "cut by the snapshot length",
    [TCP_GAP_HELD_LIMIT] = "given up: too much waited behind the hole",
    [TCP_GAP_AT_END] = "still missing when the connection ended",
    [TCP_GAP_LOST] = "lost by the reassembler",
};

const char *
tcp_gap_name(enum tcp_gap why)
{
	return (unsigned)why < G_N_ELEMENTS(gap_names) ? gap_names[why] : "?";
}

/* ---- the table ---- */

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
key_make(struct tcp_conn_key *k, const struct endpoint *x, const struct endpoint *y)
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
key_hash(gconstpointer p)
{
	return util_hash_bytes(p, sizeof(struct tcp_conn_key));
}

static gboolean
key_equal(gconstpointer x, gconstpointer y)
{
	return memcmp(x, y, sizeof(struct tcp_conn_key)) == 0;
}

struct tcp *
tcp_new(const struct tcp_ops *ops, void *arg, const struct tcp_limits *lim, char *errbuf)
{
	struct tcp *t = g_new0(struct tcp, 1);

	t->ops = ops;
	t->arg = arg;
	if (lim != NULL)
		t->lim = *lim;
	if (t->lim.nids_streams <= 0)
		t->lim.nids_streams = TCP_DEFAULT_NIDS_STREAMS;
	if (t->lim.max_held == 0)
		t->lim.max_held = TCP_MAX_HELD;
	if (tcp_nids_init(t, t->lim.nids_streams, errbuf) < 0) {
		g_free(t);
		return NULL;
	}
	t->conns = g_hash_table_new(key_hash, key_equal);
	g_queue_init(&t->lingering);
	return t;
}

size_t
tcp_open(const struct tcp *t)
{
	return g_hash_table_size(t->conns);
}

const struct tcp_stats *
tcp_stats(const struct tcp *t)
{
	return &t->st;
}

/* ---- the model ---- */

struct seg_rec *
tcp_rec(struct tcp_conn *c, guint rec)
{
	GArray *log = c->s != NULL ? c->s->segs : c->pre;

	if (log == NULL && c->has_first && rec == 0)
		return &c->first;
	if (rec == TCP_NO_REC || log == NULL || rec >= log->len)
		return NULL;
	return &g_array_index(log, struct seg_rec, rec);
}

static void
sync_counts(struct tcp_conn *c)
{
	struct session *s = c->s;
	int d;

	s->last = c->last;
	s->last_frame = c->last_frame;
	for (d = 0; d < 2; d++) {
		s->packets[d] = c->h[d].packets;
		s->payload[d] = c->h[d].payload;
	}
}

struct session *
tcp_session(struct tcp_conn *c)
{
	struct session *s;

	if (c->s != NULL)
		return c->s;
	/* Numbered when reported (pipeline.c): refused attempts and non-POP3 probes get none. */
	s = session_new(0, &c->client, &c->server);
	c->s = s;
	s->start = c->start;
	s->first_frame = c->first_frame;
	s->handshake = c->handshake;
	s->candidate = c->candidate;
	if (c->pre != NULL) {
		g_array_append_vals(s->segs, c->pre->data, c->pre->len);
		g_array_free(c->pre, TRUE);
		c->pre = NULL;
	} else if (c->has_first) {
		g_array_append_vals(s->segs, &c->first, 1);
	}
	c->has_first = false;
	sync_counts(c);
	if (c->handshake == HS_MISSING) {
		char fid[FRAMEID_PHRASE_LEN]; /* "12", or "ring2.pcap:12" with several files */
		frameid_format(c->first_frame, fid, sizeof(fid));
		session_anomaly_at(s, ANOM_HANDSHAKE_MISSING, DIR_TO_SERVER, c->first_frame, NULL,
		    "first frame %s has no SYN: the connection opened before the capture began "
		    "(or its earlier part was reported as another session)",
		    fid);
	}
	if (c->t->ops->opened != NULL)
		c->t->ops->opened(c->t->arg, s);
	return s;
}

uint64_t
tcp_first_copy(struct tcp_conn *c, enum dir d, uint64_t off, guint exclude)
{
	GArray *log = c->s != NULL ? c->s->segs : c->pre;
	const struct seg_rec *r;
	uint64_t frame = 0;
	guint i, stop;

	if (log == NULL)
		return 0;
	stop = log->len > TCP_COPY_LOOKBACK ? log->len - TCP_COPY_LOOKBACK : 0;
	for (i = log->len; i > stop; i--) {
		r = &g_array_index(log, struct seg_rec, i - 1);
		if (i - 1 == exclude || r->dir != d || r->len == 0 || (r->marks & SEG_SYNTHETIC) ||
		    off < r->off || off - r->off >= r->caplen)
			continue;
		frame = r->frame; /* the earliest copy in the log wins */
	}
	return frame;
}

/* Appends a record to the log; returns its index or TCP_NO_REC. */
static guint
log_rec(struct tcp_conn *c, const struct seg_rec *r)
{
	GArray *log;

	if (c->ignored)
		return TCP_NO_REC; /* not POP3: counted, not listed */
	if (c->s == NULL && c->pre == NULL) {
		if (!c->has_first) {
			c->first = *r;
			c->has_first = true;
			return 0;
		}
		c->pre = g_array_sized_new(FALSE, FALSE, sizeof(struct seg_rec), 4);
		g_array_append_vals(c->pre, &c->first, 1);
		c->has_first = false;
	}
	log = c->s != NULL ? c->s->segs : c->pre;
	if (log->len >= SESSION_MAX_SEGMENTS) {
		if (c->segs_dropped++ == 0)
			session_anomaly_at(tcp_session(c), ANOM_SEGMENT_LOG_FULL, (enum dir)r->dir,
			    r->frame, NULL,
			    "more than %u segments: later ones are counted, not listed",
			    SESSION_MAX_SEGMENTS);
		if (c->s != NULL)
			c->s->segs_dropped = c->segs_dropped;
		return TCP_NO_REC;
	}
	g_array_append_vals(log, r, 1);
	return log->len - 1;
}

void
tcp_deliver(struct tcp_conn *c, enum dir d, const uint8_t *buf, size_t len, uint64_t off)
{
	struct tcp *t = c->t;

	struct session *s;

	c->f[d].delivered += len;
	if (c->ignored || c->ignore_pending)
		return;
	s = tcp_session(c);
	t->ops->data(t->arg, s, d, buf, len, off, t->now);
}

void
tcp_report_gap(struct tcp_conn *c, enum dir d, uint64_t off, uint64_t len, enum tcp_gap why)
{
	struct tcp *t = c->t;

	if (len == 0)
		return;
	c->f[d].gapped += len;
	if (c->ignored || c->ignore_pending)
		return;
	t->ops->gap(t->arg, tcp_session(c), d, off, len, why);
}

/* ---- sequence tracking ---- */

/*
 * A 32-bit sequence number as a 64-bit stream offset, near the highest one
 * seen: behind it by at most TCP_MAX_BEHIND (a retransmission), otherwise
 * ahead (a jump over bytes never captured).  Bytes from before the stream's
 * first byte give *before > 0.
 */
static uint64_t
unwrap(const struct tcp_half *h, uint32_t seq, uint64_t *before)
{
	uint32_t rel = seq - (h->isn + 1);
	uint32_t ahead = rel - (uint32_t)h->seen_end;
	uint64_t back;

	*before = 0;
	if (ahead <= UINT32_MAX - TCP_MAX_BEHIND)
		return h->seen_end + ahead;
	back = (uint64_t)UINT32_MAX - ahead + 1;
	if (back > h->seen_end) {
		*before = back - h->seen_end;
		return 0;
	}
	return h->seen_end - back;
}

static void
hole_add(struct tcp_half *h, uint64_t from, uint64_t to)
{
	struct tcp_range r = {from, to};

	if (h->holes == NULL)
		h->holes = g_array_new(FALSE, FALSE, sizeof(struct tcp_range));
	if (h->holes->len >= TCP_MAX_HOLES)
		g_array_remove_index(h->holes, 0); /* forget the oldest: bounded */
	g_array_append_val(h->holes, r);
}

/* Removes [from, to) from the holes; true if any part of it was a hole. */
static bool
hole_fill(struct tcp_half *h, uint64_t from, uint64_t to)
{
	bool filled = false;
	struct tcp_range *r, rest;
	guint i;

	if (h->holes == NULL)
		return false;
	for (i = 0; i < h->holes->len; i++) {
		r = &g_array_index(h->holes, struct tcp_range, i);
		if (to <= r->from || from >= r->to)
			continue;
		filled = true;
		if (from <= r->from && to >= r->to) {
			g_array_remove_index(h->holes, i);
			i--;
		} else if (from <= r->from) {
			r->from = to;
		} else if (to >= r->to) {
			r->to = from;
		} else {
			rest.from = to;
			rest.to = r->to;
			r->to = from;
			g_array_insert_val(h->holes, i + 1, rest);
			i++;
		}
	}
	return filled;
}

/* The three records of a handshake the capture does not hold (the log shows how it was followed). */
static void
synthesize_handshake(struct tcp_conn *c, const struct segment *seg)
{
	struct seg_rec syn[3];
	char fid[FRAMEID_PHRASE_LEN]; /* "12", or "ring2.pcap:12" with several files */
	int i;

	memset(syn, 0, sizeof(syn));
	for (i = 0; i < 3; i++) {
		syn[i].ts = seg->ts;
		syn[i].marks = SEG_SYNTHETIC;
		syn[i].dir = i == 1 ? DIR_TO_CLIENT : DIR_TO_SERVER;
		syn[i].win = 65535;
	}
	syn[0].flags = TH_SYN;
	syn[0].seq = c->h[DIR_TO_SERVER].isn;
	syn[1].flags = TH_SYN | TH_ACK;
	syn[1].seq = c->h[DIR_TO_CLIENT].isn;
	syn[1].ack = c->h[DIR_TO_SERVER].isn + 1;
	syn[1].rel_ack = 1;
	syn[2].flags = TH_ACK;
	syn[2].seq = c->h[DIR_TO_SERVER].isn + 1;
	syn[2].ack = c->h[DIR_TO_CLIENT].isn + 1;
	syn[2].rel_seq = syn[2].rel_ack = 1;
	for (i = 0; i < 3; i++)
		log_rec(c, &syn[i]);
	c->handshake = HS_SYNTHETIC;
	c->s->handshake = HS_SYNTHETIC;
	frameid_format(seg->frame, fid, sizeof(fid));
	session_anomaly_at(c->s, ANOM_SYNTHETIC_HANDSHAKE, DIR_TO_SERVER, seg->frame, NULL,
	    "handshake synthesised at frame %s from its sequence numbers", fid);
}

/*
 * Records one segment of c in direction d: sequence numbers, marks, the
 * log.  Returns the record's index and sets *off to the payload's stream offset.
 */
static guint
track(struct tcp_conn *c, const struct segment *seg, enum dir d, uint64_t *off, uint64_t *before)
{
	struct tcp_half *h = &c->h[d], *oh = &c->h[dir_opposite(d)];
	struct seg_rec r;
	uint64_t end;

	memset(&r, 0, sizeof(r));
	r.frame = seg->frame;
	r.ts = seg->ts;
	r.seq = seg->seq;
	r.ack = seg->ack;
	r.win = seg->win;
	r.wscale = seg->wscale;
	r.flags = seg->flags;
	r.dir = (uint8_t)d;
	r.len = seg->payload_len;
	r.caplen = seg->payload_caplen;
	c->last = seg->ts;
	c->last_frame = seg->frame;
	*before = 0;

	if (seg->flags & TH_SYN) {
		if (!h->isn_known || h->seen_end == 0) {
			h->isn = seg->seq;
			h->isn_known = true;
		}
	} else if (!h->isn_known) {
		/* No SYN from this side: count from the first byte seen. */
		h->isn = seg->seq - 1;
		h->isn_known = true;
	}
	if ((seg->flags & TH_ACK) && !oh->isn_known) {
		oh->isn = seg->ack - 1;
		oh->isn_known = true;
	}
	r.rel_seq = seg->seq - h->isn;
	r.rel_ack = (seg->flags & TH_ACK) ? seg->ack - oh->isn : 0;
	r.off = (seg->flags & TH_SYN) ? 0 : unwrap(h, seg->seq, before);
	*off = r.off;

	if (r.len > 0 && *before > 0) {
		r.marks |= SEG_RETRANS; /* bytes from before the first one followed */
	} else if (r.len > 0) {
		end = r.off + r.len;
		if (r.off >= h->seen_end) {
			if (r.off > h->seen_end) {
				r.marks |= SEG_GAP_BEFORE;
				hole_add(h, h->seen_end, r.off);
			}
			h->seen_end = end;
		} else {
			r.marks |= hole_fill(h, r.off, end) ? SEG_OOO : SEG_RETRANS;
			if (end > h->seen_end)
				h->seen_end = end;
		}
		if (r.caplen < r.len) {
			r.marks |= SEG_TRUNCATED;
			if (c->truncated_segs++ == 0)
				session_anomaly_at(tcp_session(c), ANOM_SEGMENT_TRUNCATED, d,
				    seg->frame, NULL,
				    "%u of %u payload bytes captured (snapshot length); later cut "
				    "segments are marked in the segment list",
				    r.caplen, r.len);
		}
		if (h->fin && !(r.marks & (SEG_RETRANS | SEG_OOO)))
			session_anomaly_at(tcp_session(c), ANOM_DATA_AFTER_CLOSE, d, seg->frame,
			    NULL, "%u byte%s after FIN", r.len, util_plural(r.len));
	} else if (seg->flags == TH_ACK && h->packets > 0 && seg->ack == h->last_ack) {
		r.marks |= SEG_DUP_ACK;
	}
	if (seg->flags & TH_ACK)
		h->last_ack = seg->ack;
	if (seg->flags & TH_FIN) {
		if (h->fin && r.len == 0)
			r.marks |= SEG_RETRANS;
		h->fin = true;
	}
	if (seg->flags & TH_RST)
		c->rst = true;
	if ((seg->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) && d == DIR_TO_CLIENT)
		c->synack = true;
	if ((seg->flags & TH_SYN) && h->packets > 0)
		r.marks |= SEG_RETRANS;
	if (c->closed)
		r.marks |= SEG_LATE;
	h->packets++;
	h->payload += seg->payload_caplen;
	if (c->s != NULL)
		sync_counts(c);
	if (!c->ignored && c->handshake == HS_MISSING && r.len > 0 && (seg->flags & TH_ACK) &&
	    !(seg->flags & (TH_SYN | TH_RST)) && c->h[0].isn_known && c->h[1].isn_known) {
		/* The records come before the segment that prompted them. */
		tcp_session(c);
		synthesize_handshake(c, seg);
	}
	return log_rec(c, &r);
}

/* ---- ending ---- */

static enum end_reason
reason_from_flags(const struct tcp_conn *c, enum end_reason otherwise)
{
	if (c->rst)
		return END_RST;
	if (c->h[0].fin && c->h[1].fin)
		return END_FIN;
	return otherwise;
}

/* The promise of tcp.h, checked: every byte before next was delivered or reported missing. */
static void
check_accounting(struct tcp_conn *c, enum dir d)
{
	struct tcp_flow *h = &c->f[d];
	uint64_t accounted = h->delivered + h->gapped;

	if (c->s != NULL && h->before_start > 0)
		/* Counted, never silent: a mid-stream follower starts at its first byte seen. */
		session_anomaly_at(c->s, ANOM_RETRANSMISSION, d, c->last_frame, NULL,
		    "%llu payload bytes from before the first byte followed (the capture began "
		    "mid-session) were retransmitted: not analysed",
		    (unsigned long long)h->before_start);
	if (c->s == NULL || accounted == h->next)
		return;
	session_anomaly_at(c->s, ANOM_REASSEMBLY_LOST, d, c->last_frame, NULL,
	    "%llu of the first %llu stream bytes were neither delivered nor reported missing",
	    (unsigned long long)(accounted < h->next ? h->next - accounted : accounted - h->next),
	    (unsigned long long)h->next);
	if (accounted < h->next)
		c->t->st.lost_bytes += h->next - accounted;
}

static void
conn_free(struct tcp_conn *c)
{
	int d;

	for (d = 0; d < 2; d++) {
		if (c->f != NULL)
			tcp_order_free(&c->f[d]);
		if (c->h[d].holes != NULL)
			g_array_free(c->h[d].holes, TRUE);
	}
	g_free(c->f);
	if (c->pre != NULL)
		g_array_free(c->pre, TRUE);
	g_free(c);
}

static void
end_conn(struct tcp *t, struct tcp_conn *c, enum end_reason why)
{
	struct session *s;
	bool report;
	int d;

	if (c->busy > 0) {
		/* Called back from inside a feed of ours: end it once the feed returns. */
		c->end_pending = true;
		c->end_why = why;
		return;
	}
	g_hash_table_remove(t->conns, &c->key);
	if (c->linger != NULL) {
		g_queue_delete_link(&t->lingering, c->linger);
		c->linger = NULL;
	}
	if (!c->ignored && c->f != NULL) {
		/* What waited behind a hole is the last data this connection will get. */
		for (d = 0; d < 2; d++)
			tcp_order_flush(c, (enum dir)d, TCP_GAP_AT_END);
		for (d = 0; d < 2; d++)
			check_accounting(c, (enum dir)d);
	}
	tcp_nids_forget(c);
	if (c->candidate && (c->s == NULL || !c->s->confirmed)) {
		t->st.other_tcp++; /* another port whose dialogue was not POP3 */
		report = false;
	} else if (c->handshake == HS_SEEN && !c->synack && c->h[0].payload == 0 &&
	    c->h[1].payload == 0) {
		t->st.attempts++; /* a SYN refused (RST) or never answered: no session (RFC 793) */
		report = false;
	} else {
		report = true;
	}
	if (report || c->s != NULL) {
		s = tcp_session(c);
		sync_counts(c);
		s->end_reason = why;
		if (t->ops->closing != NULL)
			t->ops->closing(t->arg, s);
		session_finalize(s);
		if (report && t->ops->ended != NULL)
			t->ops->ended(t->arg, s);
		else if (t->ops->discard != NULL)
			t->ops->discard(t->arg, s);
		session_free(s);
		c->s = NULL;
	}
	conn_free(c);
}

/* Runs what a callback asked for while the connection was being fed. */
static void
settle(struct tcp *t, struct tcp_conn *c)
{
	if (c->ignore_pending) {
		c->ignore_pending = false;
		tcp_ignore(t, c->s);
	}
	if (c->end_pending) {
		c->end_pending = false;
		end_conn(t, c, c->end_why);
	}
}

static void
linger_expire(struct tcp *t, struct ts now)
{
	struct tcp_conn *c;

	while ((c = g_queue_peek_head(&t->lingering)) != NULL &&
	    ts_diff_us(c->closed_at, now) >= TCP_CLOSE_LINGER_US)
		end_conn(t, c, reason_from_flags(c, END_EOF));
}

static struct tcp_conn *
lookup(struct tcp *t, const struct endpoint *x, const struct endpoint *y)
{
	struct tcp_conn_key k;

	key_make(&k, x, y);
	return g_hash_table_lookup(t->conns, &k);
}

static struct tcp_conn *
conn_new(struct tcp *t, const struct segment *seg, const struct endpoint *client,
    const struct endpoint *server, bool candidate)
{
	struct tcp_conn *c = g_new0(struct tcp_conn, 1);

	c->t = t;
	c->client = *client;
	c->server = *server;
	key_make(&c->key, client, server);
	c->serial = ++t->next_serial;
	c->start = c->last = seg->ts;
	c->first_frame = c->last_frame = seg->frame;
	c->handshake = (seg->flags & (TH_SYN | TH_ACK)) == TH_SYN ? HS_SEEN : HS_MISSING;
	c->candidate = candidate;
	g_hash_table_insert(t->conns, &c->key, c);
	return c;
}

static bool
is_port(const struct tcp *t, uint16_t port)
{
	return t->ops->is_pop3_port(t->arg, port);
}

/* Finds or makes the connection of seg; NULL for a stray segment. */
static struct tcp_conn *
conn_of(struct tcp *t, const struct segment *seg)
{
	struct tcp_conn *c = lookup(t, &seg->src, &seg->dst);
	const struct endpoint *client, *server;
	uint8_t hs = seg->flags & (TH_SYN | TH_ACK | TH_RST);

	if (c != NULL && hs == TH_SYN && endpoint_equal(&seg->src, &c->client) &&
	    (!c->h[DIR_TO_SERVER].isn_known || c->h[DIR_TO_SERVER].isn != seg->seq) &&
	    (c->closed || c->h[0].seen_end > 0 || c->h[1].seen_end > 0 || c->h[0].fin ||
	        c->h[1].fin || c->rst)) {
		/* A new connection on the same 4-tuple: the old one is over. */
		end_conn(t, c, reason_from_flags(c, END_REUSED));
		c = NULL;
	}
	if (c != NULL)
		return c;
	if (!is_port(t, seg->src.port) && !is_port(t, seg->dst.port)) {
		/* Other ports: only a connection seen from its SYN is probed for POP3. */
		if (hs != TH_SYN)
			return NULL;
		return conn_new(t, seg, &seg->src, &seg->dst, true);
	}
	if (hs == TH_SYN) {
		client = &seg->src;
		server = &seg->dst;
	} else if (hs == (TH_SYN | TH_ACK)) {
		client = &seg->dst; /* the SYN was not captured */
		server = &seg->src;
	} else if (seg->payload_len > 0 && !(seg->flags & TH_RST)) {
		/* Mid-session: the POP3 port tells who serves. */
		if (is_port(t, seg->dst.port) && !is_port(t, seg->src.port)) {
			client = &seg->src;
			server = &seg->dst;
		} else if (is_port(t, seg->src.port)) {
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
	return conn_new(t, seg, client, server, false);
}

void
tcp_segment(struct tcp *t, const struct segment *seg)
{
	struct tcp_conn *c;
	enum dir d, o;
	uint64_t off, before, ack_off;
	guint rec;

	t->st.segments++;
	t->frame = seg->frame;
	t->now = seg->ts;
	linger_expire(t, seg->ts);
	c = conn_of(t, seg);
	if (c == NULL) {
		if (is_port(t, seg->src.port) || is_port(t, seg->dst.port)) {
			t->st.pop3_segments++;
			t->st.stray++;
		}
		return;
	}
	if (!c->ignored && (!c->candidate || (c->s != NULL && c->s->confirmed)))
		t->st.pop3_segments++;
	if (c->closed)
		t->st.late++;
	d = endpoint_equal(&seg->src, &c->client) ? DIR_TO_SERVER : DIR_TO_CLIENT;
	o = dir_opposite(d);
	rec = track(c, seg, d, &off, &before);
	if (c->ignored)
		return;
	if (seg->payload_len > 0 && c->f == NULL)
		c->f = g_new0(struct tcp_flow, 2);
	if (seg->payload_len > 0 && before > 0) {
		/* Sent before the first byte followed (joined mid-stream): not analysed. */
		c->f[d].before_start += seg->payload_len;
	} else if (seg->payload_len > 0) {
		if (c->handshake == HS_SEEN && d == DIR_TO_CLIENT && c->synack && !c->est) {
			/* libnids would have dropped the connection; popflow's own handshake does not. */
			char fid[FRAMEID_PHRASE_LEN];
			c->est = true;
			frameid_format(seg->frame, fid, sizeof(fid));
			session_anomaly_at(tcp_session(c), ANOM_SYNTHETIC_HANDSHAKE, d, seg->frame,
			    NULL,
			    "frame %s: server data before the client's handshake ACK; the ACK "
			    "was "
			    "supplied",
			    fid);
		}
		tcp_session(c);
		if (c->handshake != HS_SEEN && c->f[d].next == 0 && c->f[d].delivered == 0 &&
		    c->f[d].gapped == 0 && off > 0)
			/* Joined mid-stream: nothing will fill what was sent before the capture. */
			tcp_order_skip_start(c, d, off);
		c->busy++;
		tcp_order_data(c, d, off, seg->payload, seg->payload_caplen, seg->payload_len,
		    seg->ts, seg->frame, rec);
		c->busy--;
	}
	if (d == DIR_TO_SERVER && (seg->flags & TH_ACK) && !(seg->flags & TH_SYN))
		c->est = true;
	if ((seg->flags & TH_ACK) && c->h[o].isn_known && c->f != NULL && c->f[o].held != NULL) {
		ack_off = unwrap(&c->h[o], seg->ack, &before);
		c->busy++;
		tcp_order_ack(c, o, ack_off, seg->ts);
		c->busy--;
	}
	if (!c->closed && !c->rst && c->h[0].fin && c->h[1].fin && !c->fin_wait) {
		/* The second FIN: the connection ends with the peer's ACK of it. */
		c->fin_wait = true;
		c->fin_from = d;
	} else if (c->fin_wait && !c->rst && d != c->fin_from && (seg->flags & TH_ACK) &&
	    !c->end_pending && !c->ignore_pending) {
		/* Both FINs, the last one acknowledged: over (libnids' NIDS_CLOSE moment). */
		end_conn(t, c, END_FIN);
		return;
	}
	if (!c->closed && c->rst) {
		c->closed = true;
		c->closed_at = seg->ts;
		g_queue_push_tail(&t->lingering, c);
		c->linger = g_queue_peek_tail_link(&t->lingering);
	}
	settle(t, c);
}

void
tcp_ignore(struct tcp *t, struct session *s)
{
	struct tcp_conn *c = lookup(t, &s->client, &s->server);
	int d;

	if (c == NULL || c->s != s || c->ignored)
		return;
	if (c->busy > 0) {
		c->ignore_pending = true;
		return;
	}
	c->ignored = true;
	tcp_nids_forget(c);
	if (c->f != NULL)
		for (d = 0; d < 2; d++)
			tcp_order_free(&c->f[d]);
	session_clear_segs(s);
	session_clear_txns(s);
	session_clear_anomalies(s);
}

static gint
conn_order(gconstpointer a, gconstpointer b)
{
	const struct tcp_conn *x = *(struct tcp_conn *const *)a;
	const struct tcp_conn *y = *(struct tcp_conn *const *)b;

	/* Order of first frame (serial follows it; frame ids of several files do not: frameid.h). */
	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

static void
end_list(struct tcp *t, GPtrArray *list, enum end_reason why)
{
	guint i;
	struct tcp_conn *c;

	g_ptr_array_sort(list, conn_order);
	for (i = 0; i < list->len; i++) {
		c = g_ptr_array_index(list, i);
		end_conn(t, c, reason_from_flags(c, why));
	}
}

void
tcp_expire(struct tcp *t, struct ts now, uint32_t idle_sec)
{
	GPtrArray *list;
	GHashTableIter it;
	gpointer k, v;
	struct tcp_conn *c;

	linger_expire(t, now);
	if (idle_sec == 0)
		return;
	list = g_ptr_array_new();
	g_hash_table_iter_init(&it, t->conns);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		c = v;
		if (ts_diff_us(c->last, now) > (int64_t)idle_sec * 1000000)
			g_ptr_array_add(list, c);
	}
	end_list(t, list, END_TIMEOUT);
	g_ptr_array_free(list, TRUE);
}

void
tcp_finish(struct tcp *t, enum end_reason why)
{
	GPtrArray *list = g_ptr_array_new();
	GHashTableIter it;
	gpointer k, v;
	struct tcp_conn *c;

	/* Closed ones first, in the order they closed, as if their linger had run out. */
	while ((c = g_queue_peek_head(&t->lingering)) != NULL)
		end_conn(t, c, reason_from_flags(c, why));
	g_hash_table_iter_init(&it, t->conns);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_ptr_array_add(list, v);
	end_list(t, list, why);
	g_ptr_array_free(list, TRUE);
	t->st.nids_warnings = tcp_nids_warnings();
}

void
tcp_free(struct tcp *t)
{
	GHashTableIter it;
	gpointer k, v;
	struct tcp_conn *c;

	if (t == NULL)
		return;
	g_hash_table_iter_init(&it, t->conns);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		c = v;
		tcp_nids_forget(c);
		if (c->s != NULL) {
			if (t->ops->discard != NULL)
				t->ops->discard(t->arg, c->s);
			session_free(c->s);
		}
		conn_free(c);
	}
	g_hash_table_destroy(t->conns);
	g_queue_clear(&t->lingering);
	tcp_nids_finish();
	g_free(t);
}
