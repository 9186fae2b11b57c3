/* reorder.c - hands libnids each connection's segments in an order it can follow, and fills what the capture lost. */
#include <string.h>

#include <glib.h>

#include "reasm.h"
#include "reorder.h"

struct held {
	uint64_t off; /* stream offset of the first payload byte */
	uint32_t len;
	bool fin;
	uint8_t *pkt; /* the stand-in packet, built when it arrived */
	size_t pktlen;
	struct ts ts;
};

struct range {
	uint64_t from, to;
};

struct reorder {
	uint64_t contig[2]; /* bytes handed to libnids in order, per direction */
	bool fin_fed[2];
	GArray *held[2]; /* struct held, sorted by off */
	uint64_t held_bytes;
	unsigned acked_hole[2]; /* segments since the peer acknowledged bytes of a hole */
	bool syn, synack, est;  /* handshake steps libnids was given */
	bool fed_data[2];       /* libnids has had payload of this direction */
	GArray *missing[2];     /* struct range: bytes libnids got as zeros */
	uint8_t pkt[REASM_MAX_PACKET];
};

struct reorder *
reorder_new(void)
{
	struct reorder *r = g_new0(struct reorder, 1);
	int d;

	for (d = 0; d < 2; d++) {
		r->held[d] = g_array_new(FALSE, FALSE, sizeof(struct held));
		r->missing[d] = g_array_new(FALSE, FALSE, sizeof(struct range));
	}
	return r;
}

void
reorder_free(struct reorder *r)
{
	guint i;
	int d;

	if (r == NULL)
		return;
	for (d = 0; d < 2; d++) {
		for (i = 0; i < r->held[d]->len; i++)
			g_free(g_array_index(r->held[d], struct held, i).pkt);
		g_array_free(r->held[d], TRUE);
		g_array_free(r->missing[d], TRUE);
	}
	g_free(r);
}

uint64_t
reorder_contig(const struct reorder *r, enum dir d)
{
	return r->contig[d];
}

uint64_t
reorder_held_bytes(const struct reorder *r)
{
	return r->held_bytes;
}

static void
add_missing(struct reorder *r, enum dir d, uint64_t from, uint64_t to)
{
	struct range m = {from, to};
	guint i;

	if (to <= from || r->missing[d]->len >= REORDER_MAX_MISSING)
		return;
	for (i = r->missing[d]->len; i > 0; i--)
		if (g_array_index(r->missing[d], struct range, i - 1).from <= from)
			break;
	g_array_insert_val(r->missing[d], i, m);
}

/* The acknowledgment number that claims no more than libnids was given. */
static uint32_t
ack_limit(const struct reorder *r, const struct session *s, enum dir o)
{
	return s->isn[o] + 1 + (uint32_t)r->contig[o] + (r->fin_fed[o] ? 1 : 0);
}

static void
advance(struct reorder *r, enum dir d, uint64_t off, uint32_t len, bool fin)
{
	if (len > 0)
		r->fed_data[d] = true;
	if (off + len > r->contig[d])
		r->contig[d] = off + len;
	if (fin && off + len >= r->contig[d])
		r->fin_fed[d] = true;
}

/* Feeds every held segment that now follows on. */
static void
release(struct reorder *r, enum dir d)
{
	struct held h;

	while (r->held[d]->len > 0) {
		h = g_array_index(r->held[d], struct held, 0);
		if (h.off > r->contig[d])
			break;
		g_array_remove_index(r->held[d], 0);
		r->held_bytes -= h.pktlen;
		reasm_feed_packet(h.pkt, h.pktlen, h.ts);
		advance(r, d, h.off, h.len, h.fin);
		g_free(h.pkt);
	}
	if (r->held[d]->len == 0)
		r->acked_hole[d] = 0;
}

/* The bytes before the first held segment will not come: fill them with zeros, go on. */
static void
give_up(struct reorder *r, struct session *s, enum dir d)
{
	const struct held *h;
	enum dir o = d == DIR_TO_SERVER ? DIR_TO_CLIENT : DIR_TO_SERVER;
	const struct endpoint *src = d == DIR_TO_SERVER ? &s->client : &s->server;
	const struct endpoint *dst = d == DIR_TO_SERVER ? &s->server : &s->client;
	uint64_t from, to;
	uint32_t n;

	while (r->held[d]->len > 0) {
		h = &g_array_index(r->held[d], struct held, 0);
		from = r->contig[d];
		to = h->off;
		if (to > from)
			add_missing(r, d, from, to);
		while (from < to) {
			n = to - from > 32768 ? 32768 : (uint32_t)(to - from);
			reasm_feed_filler(
			    src, dst, s->isn[d] + 1 + (uint32_t)from, ack_limit(r, s, o), n, h->ts);
			from += n;
		}
		if (to > r->contig[d])
			r->contig[d] = to;
		release(r, d);
	}
}

static void
hold(struct reorder *r, struct session *s, enum dir d, const struct segment *seg, uint64_t off,
    uint32_t ack)
{
	struct held h;
	guint i;

	memset(&h, 0, sizeof(h));
	h.pktlen = reasm_build(seg, ack, r->pkt);
	if (h.pktlen == 0)
		return;
	h.off = off;
	h.len = seg->payload_len;
	h.fin = (seg->flags & TH_FIN) != 0;
	h.ts = seg->ts;
	h.pkt = g_memdup2(r->pkt, h.pktlen);
	for (i = 0; i < r->held[d]->len; i++)
		if (g_array_index(r->held[d], struct held, i).off > off)
			break;
	g_array_insert_val(r->held[d], i, h);
	r->held_bytes += h.pktlen;
	if (r->held_bytes > REORDER_MAX_HELD) {
		session_anomaly(s, ANOM_GAP, d, UINT64_MAX, NULL,
		    "more than %u bytes wait behind a hole: the hole is given up",
		    REORDER_MAX_HELD);
		give_up(r, s, d);
	}
}

void
reorder_segment(struct reorder *r, struct session *s, enum dir d, const struct segment *seg)
{
	enum dir o = d == DIR_TO_SERVER ? DIR_TO_CLIENT : DIR_TO_SERVER;
	const struct seg_rec *rec;
	uint32_t ack = seg->ack, limit;
	size_t n;

	if (s->segs->len == 0 || (seg->flags & TH_SYN) || !s->isn_known[o] || !s->isn_known[d]) {
		if ((seg->flags & (TH_SYN | TH_ACK)) == TH_SYN)
			r->syn = true;
		else if ((seg->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK))
			r->synack = true;
		n = reasm_build(seg, ack, r->pkt);
		reasm_feed_packet(r->pkt, n, seg->ts);
		return;
	}
	if (d == DIR_TO_SERVER && (seg->flags & TH_ACK))
		r->est = true;
	if (d == DIR_TO_CLIENT && r->syn && r->synack && !r->est && seg->payload_len > 0) {
		/*
		 * The server's data was captured before the client's handshake
		 * ACK: libnids would drop the connection (libnids-notes L11).
		 * Give it that ACK first.
		 */
		reasm_feed_ack(&s->client, &s->server, s->isn[DIR_TO_SERVER] + 1,
		    s->isn[DIR_TO_CLIENT] + 1, seg->ts);
		r->est = true;
		session_anomaly(s, ANOM_SYNTHETIC_HANDSHAKE, d, UINT64_MAX, NULL,
		    "frame %llu: server data before the client's handshake ACK; the ACK was "
		    "supplied",
		    (unsigned long long)seg->frame);
	}
	rec = &g_array_index(s->segs, struct seg_rec, s->segs->len - 1);
	if (rec->marks & SEG_TRUNCATED)
		add_missing(r, d, rec->off + rec->caplen, rec->off + rec->len);
	if (seg->flags & TH_ACK) {
		limit = ack_limit(r, s, o);
		if ((int32_t)(ack - limit) > 0) {
			/* The peer has bytes libnids was not given (yet): keep libnids from dropping them. */
			ack = limit;
			if (r->held[o]->len > 0)
				r->acked_hole[o]++;
		}
	}
	if ((seg->payload_len > 0 || (seg->flags & TH_FIN)) && !(seg->flags & TH_RST) &&
	    rec->off > r->contig[d]) {
		hold(r, s, d, seg, rec->off, ack);
		/*
		 * Joined mid-session, the first bytes of a direction may follow
		 * data sent before the capture began: nothing will fill that hole.
		 */
		if (s->handshake == HS_SYNTHETIC && r->contig[d] == 0 && !r->fed_data[d])
			give_up(r, s, d);
	} else {
		n = reasm_build(seg, ack, r->pkt);
		reasm_feed_packet(r->pkt, n, seg->ts);
		if (seg->payload_len > 0 || (seg->flags & TH_FIN))
			advance(r, d, rec->off, seg->payload_len, (seg->flags & TH_FIN) != 0);
		release(r, d);
	}
	/* The receiver has the bytes of the hole: the capture lost them, they will not come. */
	if (r->acked_hole[o] > REORDER_ACKED_PATIENCE)
		give_up(r, s, o);
}

void
reorder_flush(struct reorder *r, struct session *s)
{
	give_up(r, s, DIR_TO_SERVER);
	give_up(r, s, DIR_TO_CLIENT);
}

void
reorder_deliver(struct reorder *r, enum dir d, const uint8_t *buf, size_t len, uint64_t off,
    reorder_deliver_fn fn, reorder_gap_fn gap, void *arg)
{
	GArray *miss = r->missing[d];
	const struct range *m;
	uint64_t end = off + len, cut;
	guint i;

	/* Bytes arrive in stream order: ranges behind them are done with. */
	while (miss->len > 0 && g_array_index(miss, struct range, 0).to <= off)
		g_array_remove_index(miss, 0);
	for (i = 0; i < miss->len && off < end; i++) {
		m = &g_array_index(miss, struct range, i);
		if (m->to <= off || m->from >= end)
			continue;
		if (m->from > off) {
			cut = m->from - off;
			fn(arg, d, buf, (size_t)cut, off);
			buf += cut;
			off += cut;
		}
		cut = (m->to < end ? m->to : end) - off;
		gap(arg, d, off, cut);
		buf += cut;
		off += cut;
	}
	if (off < end)
		fn(arg, d, buf, (size_t)(end - off), off);
}
