/*
 * tcp_order.c - puts each direction's bytes in order before libnids sees them.
 *
 * libnids drops data silently in many ways (out of its window, behind the
 * receiver's ACK, older than a PAWS timestamp, past its 64 KiB out-of-order
 * queue: see libnids' tcp.c, process_tcp() and tcp_queue()).  So popflow
 * hands it only bytes that come next, once: this file holds what arrives
 * early (a balanced tree, O(log n) per segment), trims what overlaps bytes
 * already delivered (comparing them with the first copy: a different byte
 * is a conflicting retransmission), and gives a hole up (reported as a gap,
 * with its reason) only when its bytes cannot come any more.
 */
#include <string.h>

#include "frameid.h"
#include "tcp_int.h"
#include "util.h"

/* A segment's bytes (or, with data NULL, bytes known missing) waiting behind a hole. */
struct tcp_held {
	uint64_t off;
	uint64_t serial; /* arrival order: the first copy wins among equals */
	uint32_t len;
	struct ts ts;
	uint64_t frame;
	guint rec;
	enum tcp_gap why; /* data == NULL: why the bytes are missing */
	uint8_t *data;
};

static gint
held_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
	const struct tcp_held *x = a, *y = b;

	(void)unused;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	if (x->serial != y->serial)
		return x->serial < y->serial ? -1 : 1;
	return 0;
}

static void
held_free(struct tcp_held *hd)
{
	g_free(hd->data);
	g_free(hd);
}

/* ---- the ring of recently delivered bytes ---- */

/* Writes n bytes of stream offset off into a ring of cap bytes (n <= cap), in at most two copies. */
static void
ring_write(uint8_t *ring, uint32_t cap, uint64_t off, const uint8_t *p, size_t n)
{
	size_t at, k;

	while (n > 0) {
		at = (size_t)(off % cap);
		k = cap - at < n ? cap - at : n;
		memcpy(ring + at, p, k);
		p += k;
		off += k;
		n -= k;
	}
}

static void
recent_put(struct tcp_flow *h, uint64_t off, const uint8_t *p, size_t n)
{
	uint32_t cap = h->recent_cap, ncap;
	uint64_t i, want = off + n - h->recent_from;
	uint8_t *nr;
	size_t at, k;

	if (want > cap && cap < TCP_RECENT_BYTES) {
		/*
		 * Grow as the stream grows: a short command stream keeps a small
		 * ring.  Eightfold, so that a stream reaching the full ring copies
		 * what it holds twice (2 KiB, 16 KiB), not five times.
		 */
		ncap = cap == 0 ? 2048 : cap;
		while (ncap < want && ncap < TCP_RECENT_BYTES)
			ncap = ncap * 8 < TCP_RECENT_BYTES ? ncap * 8 : TCP_RECENT_BYTES;
		nr = g_malloc(ncap);
		/* What the old ring holds, [recent_from, off), moved a contiguous piece at a time. */
		for (i = h->recent_from; cap > 0 && i < off; i += k) {
			at = (size_t)(i % cap);
			k = cap - at < off - i ? cap - at : (size_t)(off - i);
			ring_write(nr, ncap, i, h->recent + at, k);
		}
		g_free(h->recent);
		h->recent = nr;
		h->recent_cap = cap = ncap;
	}
	if (n >= cap) {
		p += n - cap;
		off += n - cap;
		n = cap;
	}
	ring_write(h->recent, cap, off, p, n);
	off += n;
	if (off - h->recent_from > cap)
		h->recent_from = off - cap;
}

/*
 * Compares bytes [off, off + n) that were delivered already with p.  Returns
 * the number of differing bytes among those the ring still holds.
 */
static uint32_t
recent_diff(const struct tcp_flow *h, uint64_t off, const uint8_t *p, size_t n)
{
	uint32_t diff = 0;
	size_t at, k, i;

	if (h->recent == NULL)
		return 0;
	if (off < h->recent_from) {
		if (off + n <= h->recent_from)
			return 0;
		p += h->recent_from - off;
		n -= (size_t)(h->recent_from - off);
		off = h->recent_from;
	}
	if (off + n > h->next)
		n = (size_t)(h->next - off);
	while (n > 0) {
		/* A contiguous piece of the ring: memcmp, and count bytes only when it differs. */
		at = (size_t)(off % h->recent_cap);
		k = h->recent_cap - at < n ? h->recent_cap - at : n;
		if (memcmp(h->recent + at, p, k) != 0)
			for (i = 0; i < k; i++)
				diff += h->recent[at + i] != p[i];
		p += k;
		off += k;
		n -= k;
	}
	return diff;
}

static void
conflict(struct tcp_conn *c, enum dir d, uint64_t off, uint32_t len, uint32_t ndiff, uint64_t frame,
    guint rec)
{
	struct seg_rec *r = tcp_rec(c, rec);
	struct session *s = tcp_session(c);
	char fid[FRAMEID_PHRASE_LEN]; /* "12", or "ring2.pcap:12" with several files */

	if (r != NULL) {
		if (r->marks & SEG_CONFLICT)
			return; /* once per segment */
		r->marks |= SEG_CONFLICT;
	}
	frameid_format(tcp_first_copy(c, d, off, rec), fid, sizeof(fid));
	session_anomaly_at(s, ANOM_CONFLICTING_RETRANSMISSION, d, frame, NULL,
	    "%u of %u octet%s at stream offset %llu differ%s from the copy in frame %s; the "
	    "first copy is kept",
	    ndiff, len, util_plural(len), (unsigned long long)off, ndiff == 1 ? "s" : "", fid);
}

/* Bytes [off, off + len) were delivered already: compare what the capture holds of them. */
static void
compare_old(struct tcp_conn *c, enum dir d, uint64_t off, const uint8_t *p, uint32_t len,
    uint64_t frame, guint rec)
{
	uint32_t n;

	if (p == NULL || len == 0)
		return;
	n = recent_diff(&c->f[d], off, p, len);
	if (n > 0)
		conflict(c, d, off, len, n, frame, rec);
}

/* The next bytes of direction d: to libnids (data) or reported missing. */
static void
take(struct tcp_conn *c, enum dir d, uint64_t off, const uint8_t *p, uint32_t len, struct ts ts,
    enum tcp_gap why)
{
	struct tcp_flow *h = &c->f[d];

	if (len == 0)
		return;
	if (p == NULL) {
		h->next = off + len;
		h->recent_from = h->next; /* nothing to compare with across a gap */
		tcp_report_gap(c, d, off, len, why);
		return;
	}
	h->next = off + len;
	recent_put(h, off, p, len);
	tcp_nids_feed(c, d, p, len, off, ts);
}

/* Takes one piece at or behind next: the part already delivered is compared, the rest taken. */
static void
take_piece(struct tcp_conn *c, enum dir d, uint64_t off, const uint8_t *p, uint32_t len,
    struct ts ts, uint64_t frame, guint rec, enum tcp_gap why)
{
	struct tcp_flow *h = &c->f[d];
	uint32_t old;

	if (off < h->next) {
		old = off + len <= h->next ? len : (uint32_t)(h->next - off);
		compare_old(c, d, off, p, old, frame, rec);
		off += old;
		len -= old;
		if (p != NULL)
			p += old;
	}
	take(c, d, off, p, len, ts, why);
}

static struct tcp_held *
first_held(struct tcp_flow *h)
{
	GTreeNode *n;

	if (h->held == NULL)
		return NULL;
	n = g_tree_node_first(h->held);
	return n != NULL ? g_tree_node_key(n) : NULL;
}

static void
unhold(struct tcp_flow *h, struct tcp_held *hd)
{
	g_tree_remove(h->held, hd);
	h->held_bytes -= hd->len + TCP_HELD_OVERHEAD;
}

/* Takes every held piece that now follows on. */
static void
release(struct tcp_conn *c, enum dir d)
{
	struct tcp_flow *h = &c->f[d];
	struct tcp_held *hd;

	while ((hd = first_held(h)) != NULL && hd->off <= h->next) {
		unhold(h, hd);
		take_piece(c, d, hd->off, hd->data, hd->len, hd->ts, hd->frame, hd->rec, hd->why);
		held_free(hd);
	}
	if (first_held(h) == NULL)
		h->acked_past = false;
}

/* The bytes before the first held piece will not come: report them missing, go on. */
static void
give_up_first(struct tcp_conn *c, enum dir d, enum tcp_gap why)
{
	struct tcp_flow *h = &c->f[d];
	struct tcp_held *hd = first_held(h);

	if (hd == NULL)
		return;
	if (hd->off > h->next) {
		tcp_report_gap(c, d, h->next, hd->off - h->next, why);
		h->next = hd->off;
		h->recent_from = h->next; /* nothing to compare with across a gap */
	}
	h->acked_past = false;
	release(c, d);
}

static void
hold(struct tcp_conn *c, enum dir d, uint64_t off, const uint8_t *p, uint32_t len, struct ts ts,
    uint64_t frame, guint rec, enum tcp_gap why)
{
	struct tcp_flow *h = &c->f[d];
	struct tcp_held *hd = g_new0(struct tcp_held, 1);
	uint64_t limit = c->t->lim.max_held;

	hd->off = off;
	hd->serial = h->serial++;
	hd->len = len;
	hd->ts = ts;
	hd->frame = frame;
	hd->rec = rec;
	hd->why = why;
	hd->data = p != NULL ? g_memdup2(p, len) : NULL;
	if (h->held == NULL)
		h->held = g_tree_new_full(held_cmp, NULL, NULL, NULL);
	g_tree_insert(h->held, hd, hd);
	h->held_bytes += len + TCP_HELD_OVERHEAD;
	if (h->held_bytes > c->t->st.held_peak)
		c->t->st.held_peak = h->held_bytes;
	while (h->held_bytes > limit && first_held(h) != NULL) {
		session_anomaly_at(tcp_session(c), ANOM_GAP, d, frame, NULL,
		    "more than %llu bytes wait behind a hole at stream offset %llu: the hole is "
		    "given up",
		    (unsigned long long)limit, (unsigned long long)h->next);
		give_up_first(c, d, TCP_GAP_HELD_LIMIT);
	}
}

/* One piece of a segment: the captured bytes (p), or the bytes the snapshot length cut (p NULL). */
static void
piece(struct tcp_conn *c, enum dir d, uint64_t off, const uint8_t *p, uint32_t len, struct ts ts,
    uint64_t frame, guint rec, enum tcp_gap why)
{
	struct tcp_flow *h = &c->f[d];

	if (len == 0)
		return;
	if (off > h->next) {
		hold(c, d, off, p, len, ts, frame, rec, why);
		return;
	}
	take_piece(c, d, off, p, len, ts, frame, rec, why);
	release(c, d);
}

void
tcp_order_data(struct tcp_conn *c, enum dir d, uint64_t off, const uint8_t *p, uint32_t caplen,
    uint32_t len, struct ts ts, uint64_t frame, guint rec)
{
	if (caplen > len)
		caplen = len;
	c->f[d].acked_segs++;
	piece(c, d, off, p, caplen, ts, frame, rec, TCP_GAP_NOT_CAPTURED);
	piece(c, d, off + caplen, NULL, len - caplen, ts, frame, rec, TCP_GAP_SNAPLEN);
}

void
tcp_order_ack(struct tcp_conn *c, enum dir o, uint64_t ack_off, struct ts ts)
{
	struct tcp_flow *h = &c->f[o];

	if (first_held(h) == NULL || ack_off <= h->next)
		return;
	if (!h->acked_past) {
		h->acked_past = true;
		h->acked_segs = 0;
		h->acked_ts = ts;
		return;
	}
	h->acked_segs++;
	if (h->acked_segs >= TCP_ACKED_PATIENCE_SEGS &&
	    ts_diff_us(h->acked_ts, ts) >= TCP_ACKED_PATIENCE_US)
		give_up_first(c, o, TCP_GAP_NOT_CAPTURED);
}

void
tcp_order_flush(struct tcp_conn *c, enum dir d, enum tcp_gap why)
{
	/* A hole the receiver acknowledged past was never captured; otherwise it is still open. */
	while (first_held(&c->f[d]) != NULL)
		give_up_first(c, d, c->f[d].acked_past ? TCP_GAP_NOT_CAPTURED : why);
}

/* Joined mid-stream: bytes before `to` were sent before the capture began. */
void
tcp_order_skip_start(struct tcp_conn *c, enum dir d, uint64_t to)
{
	struct tcp_flow *h = &c->f[d];

	if (to > h->next) {
		tcp_report_gap(c, d, h->next, to - h->next, TCP_GAP_NOT_CAPTURED);
		h->next = to;
		h->recent_from = to;
	}
	release(c, d);
}

static gboolean
free_one(gpointer key, gpointer value, gpointer data)
{
	(void)value;
	(void)data;
	held_free(key);
	return FALSE;
}

void
tcp_order_free(struct tcp_flow *h)
{
	if (h->held != NULL) {
		g_tree_foreach(h->held, free_one, NULL);
		g_tree_destroy(h->held);
		h->held = NULL;
	}
	h->held_bytes = 0;
	g_free(h->recent);
	h->recent = NULL;
	h->recent_cap = 0;
}
