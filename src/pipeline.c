/* pipeline.c - wires the stages: decode each frame, track its session, feed libnids, feed the dissector, emit. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <pcap/dlt.h>

#include "decode.h"
#include "defrag.h"
#include "pipeline.h"
#include "reasm.h"
#include "reorder.h"

/* The wiring's per-session data (session->user). */
struct wire {
	struct pop3 *pop3;
	struct reorder *order;
	bool flipped;                  /* libnids' client is our server */
	bool reasm_closing;            /* ended by libnids: it frees the stream itself */
	bool busy;                     /* being fed: libnids' close is deferred */
	bool ending;                   /* being ended: libnids' close only noted */
	bool evicted;                  /* libnids gave it up: follow it again at the next data */
	bool followed;                 /* libnids followed it at some time */
	enum end_reason close_pending; /* END_OPEN: none */
};

struct pipeline {
	struct pipeline_config cfg;
	struct session_table *tab;
	struct run_stats st;
	struct ts now;
	struct ts last_expire;
	int max_streams;
	struct defrag *defrag;
	uint64_t frame; /* the frame being processed */
	uint8_t pkt[REASM_MAX_PACKET];
};

static const struct session_ops pipeline_session_ops;
static const struct reasm_ops pipeline_reasm_ops;

void
pipeline_add_port(struct pipeline_config *cfg, uint16_t port)
{
	cfg->pop3_ports[port / 8] |= (uint8_t)(1u << (port % 8));
}

void
pipeline_add_tls_port(struct pipeline_config *cfg, uint16_t port)
{
	pipeline_add_port(cfg, port);
	cfg->pop3s_ports[port / 8] |= (uint8_t)(1u << (port % 8));
}

bool
pipeline_is_port(const struct pipeline_config *cfg, uint16_t port)
{
	return (cfg->pop3_ports[port / 8] >> (port % 8)) & 1;
}

static bool
is_pop3_port(void *arg, uint16_t port)
{
	struct pipeline *pl = arg;

	return pipeline_is_port(&pl->cfg, port);
}

static void
session_started(void *arg, struct session *s)
{
	struct pipeline *pl = arg;
	struct wire *w = g_new0(struct wire, 1);

	w->order = reorder_new();
	s->user = w;
	if (pipeline_is_port(&pl->cfg, s->server.port) &&
	    (pl->cfg.pop3s_ports[s->server.port / 8] >> (s->server.port % 8)) & 1)
		s->proto = PROTO_POP3S;
	w->pop3 = pop3_new(s, &pl->cfg.pop3);
	s->pop3 = w->pop3;
}

static void
session_closing(void *arg, struct session *s)
{
	struct wire *w = s->user;

	(void)arg;
	if (w == NULL)
		return;
	w->ending = true;
	/* What waited behind a hole is the last data this session will get: parse it. */
	if (s->reassembled && !w->reasm_closing)
		reorder_flush(w->order, s);
	if (s->reassembled && !w->reasm_closing) {
		/* Ended by us (EOF, idle, reused 4-tuple): make libnids forget it. */
		if (w->flipped)
			reasm_forget(&s->server, &s->client);
		else
			reasm_forget(&s->client, &s->server);
	}
	pop3_end(w->pop3);
	if (!w->followed && !s->ignored && (s->payload[0] > 0 || s->payload[1] > 0))
		session_anomaly(s, ANOM_NOT_REASSEMBLED, DIR_TO_SERVER, UINT64_MAX, NULL,
		    "%llu payload bytes to the server and %llu to the client were not analysed",
		    (unsigned long long)s->payload[0], (unsigned long long)s->payload[1]);
}

static void
session_ended(void *arg, struct session *s)
{
	struct pipeline *pl = arg;
	struct wire *w = s->user;

	if (s->candidate && !s->confirmed) {
		/* Another port whose dialogue was not POP3: counted only. */
		pl->st.other_tcp++;
	} else if (s->handshake == HS_SEEN && !s->synack && s->payload[0] == 0 &&
	    s->payload[1] == 0) {
		/* A SYN refused (RST) or never answered: no session was opened (RFC 793). */
		pl->st.attempts++;
	} else {
		pl->st.sessions++;
		pl->st.transactions += s->txns->len;
		pl->st.anomalies += s->anomalies->len + s->anomalies_dropped;
		if (pl->cfg.emit != NULL)
			pl->cfg.emit(pl->cfg.arg, s);
	}
	if (w != NULL) {
		pop3_free(w->pop3);
		reorder_free(w->order);
		g_free(w);
	}
	s->user = NULL;
	s->pop3 = NULL;
}

static const struct session_ops pipeline_session_ops = {
    .is_pop3_port = is_pop3_port,
    .started = session_started,
    .closing = session_closing,
    .ended = session_ended,
};

static void *
reasm_established(void *arg, const struct endpoint *client, const struct endpoint *server)
{
	struct pipeline *pl = arg;
	struct session *s = session_table_lookup(pl->tab, client, server);
	struct wire *w;

	if (s == NULL || s->ignored)
		return NULL;
	w = s->user;
	w->flipped = !endpoint_equal(client, &s->client);
	s->reassembled = true;
	w->followed = true;
	return s;
}

static void
deliver(void *arg, enum dir d, const uint8_t *buf, size_t len, uint64_t off)
{
	struct session *s = arg;
	struct wire *w = s->user;

	pop3_feed(w->pop3, d, buf, len, off, s->last);
}

static void
deliver_gap(void *arg, enum dir d, uint64_t off, uint64_t len)
{
	struct session *s = arg;
	struct wire *w = s->user;

	pop3_gap(w->pop3, d, off, len);
}

/* Feeds the dissector, leaving out bytes the capture never held (it then sees a gap). */
static void
reasm_data(void *arg, void *user, enum dir d, const uint8_t *buf, size_t len, uint64_t off)
{
	struct session *s = user;
	struct wire *w = s->user;

	(void)arg;
	if (w->flipped)
		d = d == DIR_TO_SERVER ? DIR_TO_CLIENT : DIR_TO_SERVER;
	reorder_deliver(w->order, d, buf, len, off, deliver, deliver_gap, s);
}

static void
reasm_closed(void *arg, void *user, enum reasm_end how)
{
	struct pipeline *pl = arg;
	struct session *s = user;
	struct wire *w = s->user;
	enum end_reason why;

	switch (how) {
	case REASM_CLOSE:
		why = END_FIN;
		break;
	case REASM_RESET:
		why = END_RST;
		break;
	case REASM_TIMEOUT:
		/*
		 * libnids' table was full and it gave this connection up.  The
		 * session stays; its next data segment makes libnids follow it again.
		 */
		session_anomaly_at(s, ANOM_EVICTED, DIR_TO_SERVER, pl->frame, NULL,
		    "the reassembler's table was full (%d connections at once): a new connection "
		    "in this frame made it let this one go",
		    pl->max_streams * 3 / 4 + 1);
		if (!w->ending) {
			s->reassembled = false;
			w->evicted = true;
			return;
		}
		why = END_TIMEOUT;
		break;
	default:
		why = s->rst ? END_RST : (s->fin[0] && s->fin[1]) ? END_FIN : END_EOF;
		break;
	}
	w->reasm_closing = true;
	if (w->ending)
		return; /* we are ending it already */
	if (w->busy) {
		/* Called back from inside a feed of ours: end it once the feed returns. */
		w->close_pending = why;
		return;
	}
	session_table_end(pl->tab, s, why);
}

static const struct reasm_ops pipeline_reasm_ops = {
    .established = reasm_established,
    .data = reasm_data,
    .closed = reasm_closed,
};

struct pipeline *
pipeline_new(const struct pipeline_config *cfg, char *errbuf)
{
	struct pipeline *pl = g_new0(struct pipeline, 1);

	pl->cfg = *cfg;
	if (!decode_link_supported(cfg->dlt)) {
		g_snprintf(errbuf, ERRBUF_SIZE,
		    "link type %d (%s) is not supported (Ethernet, Linux cooked v1/v2, "
		    "BSD loopback and raw IP are)",
		    cfg->dlt,
		    pcap_datalink_val_to_name(cfg->dlt) != NULL
		        ? pcap_datalink_val_to_name(cfg->dlt)
		        : "unknown");
		g_free(pl);
		return NULL;
	}
	pl->max_streams = cfg->max_streams > 0 ? cfg->max_streams : PIPELINE_DEFAULT_STREAMS;
	if (reasm_init(&pipeline_reasm_ops, pl, pl->max_streams, errbuf) < 0) {
		g_free(pl);
		return NULL;
	}
	pl->tab = session_table_new(&pipeline_session_ops, pl);
	pl->defrag = defrag_new();
	return pl;
}

/* A mid-session connection: libnids needs a handshake to follow it (libnids-notes L10). */
static void
maybe_synthesize(struct session *s, const struct segment *seg)
{
	struct wire *w = s->user;
	struct seg_rec syn[3];
	uint64_t coff = 0, soff = 0;
	int i;

	if ((s->handshake != HS_MISSING && !w->evicted) || s->reassembled ||
	    seg->payload_len == 0 || !(seg->flags & TH_ACK) || (seg->flags & (TH_SYN | TH_RST)) ||
	    !s->isn_known[0] || !s->isn_known[1] || reasm_follows(&s->client, &s->server))
		return;
	if (w->evicted) {
		/* Followed again from where libnids let it go (libnids-notes L16). */
		coff = reorder_contig(w->order, DIR_TO_SERVER);
		soff = reorder_contig(w->order, DIR_TO_CLIENT);
		w->evicted = false;
		reasm_synth_handshake(&s->client, &s->server,
		    s->isn[DIR_TO_SERVER] + 1 + (uint32_t)coff,
		    s->isn[DIR_TO_CLIENT] + 1 + (uint32_t)soff, coff, soff, seg->ts);
		session_anomaly_at(s, ANOM_SYNTHETIC_HANDSHAKE, DIR_TO_SERVER, seg->frame, NULL,
		    "followed again after the eviction, through a synthetic handshake");
		return;
	}
	reasm_synth_handshake(&s->client, &s->server, s->isn[DIR_TO_SERVER] + 1,
	    s->isn[DIR_TO_CLIENT] + 1, 0, 0, seg->ts);
	s->handshake = HS_SYNTHETIC;
	memset(syn, 0, sizeof(syn));
	for (i = 0; i < 3; i++) {
		syn[i].ts = seg->ts;
		syn[i].marks = SEG_SYNTHETIC;
		syn[i].dir = i == 1 ? DIR_TO_CLIENT : DIR_TO_SERVER;
		syn[i].win = 65535;
	}
	syn[0].flags = TH_SYN;
	syn[0].seq = s->isn[DIR_TO_SERVER];
	syn[1].flags = TH_SYN | TH_ACK;
	syn[1].seq = s->isn[DIR_TO_CLIENT];
	syn[1].ack = s->isn[DIR_TO_SERVER] + 1;
	syn[1].rel_ack = 1;
	syn[2].flags = TH_ACK;
	syn[2].seq = s->isn[DIR_TO_SERVER] + 1;
	syn[2].ack = s->isn[DIR_TO_CLIENT] + 1;
	syn[2].rel_seq = syn[2].rel_ack = 1;
	/* Before the segment that prompted them, which session_table_segment() appended. */
	if (s->segs->len > 0)
		g_array_insert_vals(s->segs, s->segs->len - 1, syn, 3);
	session_anomaly(s, ANOM_SYNTHETIC_HANDSHAKE, DIR_TO_SERVER, UINT64_MAX, NULL,
	    "handshake synthesised at frame %llu from its sequence numbers",
	    (unsigned long long)seg->frame);
}

static void expire_idle(struct pipeline *pl, struct ts now);

/*
 * A connection on another port is probed from its SYN: once its dialogue
 * is POP3 it is a session like any other; once it is not, libnids lets it
 * go and only a small record stays, so its packets are recognised and skipped.
 */
static void
settle_candidate(struct pipeline *pl, struct session *s)
{
	struct wire *w = s->user;

	if (s->confirmed) {
		session_table_number(pl->tab, s);
		return;
	}
	if (s->proto != PROTO_NOT_POP3 || s->ignored)
		return;
	s->ignored = true;
	if (s->reassembled && !w->reasm_closing) {
		if (w->flipped)
			reasm_forget(&s->server, &s->client);
		else
			reasm_forget(&s->client, &s->server);
	}
	s->reassembled = false;
	g_array_set_size(s->segs, 0);
	session_clear_txns(s);
	session_clear_anomalies(s);
}

/* Decodes one link-layer frame (or, with dlt DLT_RAW, a reassembled IP datagram) and follows it. */
static void
handle(struct pipeline *pl, int dlt, uint64_t frame_no, const uint8_t *frame, size_t caplen,
    size_t wirelen)
{
	struct segment seg;
	struct session *s;
	enum decode_rc rc;
	enum dir d;
	char why[128];
	const uint8_t *whole;
	size_t wlen;

	rc = decode_frame(dlt, frame, caplen, wirelen, &seg, why, sizeof(why));
	seg.frame = frame_no;
	seg.ts = pl->now;
	switch (rc) {
	case DECODE_OK:
		break;
	case DECODE_NOT_IP:
		pl->st.not_ip++;
		return;
	case DECODE_NOT_TCP:
		pl->st.not_tcp++;
		return;
	case DECODE_FRAGMENT:
		pl->st.fragments++;
		if (seg.uncaptured > 0) {
			pl->st.defrag_problems++; /* a fragment cut by snaplen cannot complete */
			return;
		}
		whole = defrag_add(pl->defrag, &seg, pl->now, &wlen, &pl->st.defrag_problems);
		if (whole != NULL) {
			/* A datagram is whole: follow it as if it had come in one frame. */
			pl->st.reassembled_datagrams++;
			handle(pl, DLT_RAW, frame_no, whole, wlen, wlen);
		}
		return;
	case DECODE_TRUNCATED:
	case DECODE_MALFORMED:
	case DECODE_UNSUPPORTED_LINK:
		if (rc == DECODE_MALFORMED)
			pl->st.malformed++;
		else
			pl->st.truncated++;
		if (pl->cfg.warn != NULL)
			pl->cfg.warn(pl->cfg.arg, frame_no, why);
		return;
	}
	pl->st.tcp++;
	s = session_table_segment(pl->tab, &seg, &d);
	if (s == NULL) {
		size_t n;
		if (!pipeline_is_port(&pl->cfg, seg.src.port) &&
		    !pipeline_is_port(&pl->cfg, seg.dst.port))
			return; /* other TCP, not from its start: not probed */
		pl->st.pop3_segments++;
		pl->st.stray++;
		n = reasm_build(&seg, seg.ack, pl->pkt);
		reasm_feed_packet(pl->pkt, n, seg.ts);
	} else if (s->ignored) {
		return; /* probed, not POP3 */
	} else {
		struct wire *w = s->user;
		if (!s->candidate || s->confirmed)
			pl->st.pop3_segments++;
		maybe_synthesize(s, &seg);
		w->busy = true;
		reorder_segment(w->order, s, d, &seg);
		w->busy = false;
		if (s->candidate)
			settle_candidate(pl, s);
		if (w->close_pending != END_OPEN)
			session_table_end(pl->tab, s, w->close_pending);
	}
}

void
pipeline_frame(void *arg, uint64_t frame_no, const struct pcap_pkthdr *h, const uint8_t *frame)
{
	struct pipeline *pl = arg;

	pl->frame = frame_no;
	pl->now.sec = h->ts.tv_sec;
	pl->now.usec = (int32_t)h->ts.tv_usec;
	if (pl->st.packets == 0)
		pl->st.first = pl->now;
	pl->st.last = pl->now;
	pl->st.packets++;
	pl->st.bytes += h->caplen;
	handle(pl, pl->cfg.dlt, frame_no, frame, h->caplen, h->len);
	if (pl->cfg.idle_timeout > 0 && pl->now.sec - pl->last_expire.sec >= 1)
		expire_idle(pl, pl->now);
}

/* Ends sessions idle for longer than the timeout at time now. */
static void
expire_idle(struct pipeline *pl, struct ts now)
{
	pl->last_expire = now;
	session_table_expire(pl->tab, now, pl->cfg.idle_timeout);
}

/*
 * The idle callback of a live capture's read loop (only live captures call
 * it): the wall clock, since on a quiet interface no packet brings time
 * forward.  Never earlier than the last packet.
 */
void
pipeline_idle(void *arg)
{
	struct pipeline *pl = arg;
	struct timespec t;
	struct ts now;

	if (pl->cfg.idle_timeout == 0)
		return;
	clock_gettime(CLOCK_REALTIME, &t);
	now.sec = t.tv_sec;
	now.usec = (int32_t)(t.tv_nsec / 1000);
	if (ts_cmp(now, pl->now) < 0)
		now = pl->now;
	expire_idle(pl, now);
}

void
pipeline_finish(struct pipeline *pl, enum end_reason why)
{
	session_table_end_all(pl->tab, why);
	reasm_finish();
	/* libnids may have called back for streams we did not know; end those too. */
	session_table_end_all(pl->tab, why);
	pl->st.reasm_warnings = reasm_warnings();
	/* Fragments whose datagram never completed. */
	pl->st.defrag_problems += defrag_pending(pl->defrag);
}

const struct run_stats *
pipeline_stats(const struct pipeline *pl)
{
	return &pl->st;
}

size_t
pipeline_open_sessions(const struct pipeline *pl)
{
	return session_table_open(pl->tab);
}

void
pipeline_free(struct pipeline *pl)
{
	if (pl == NULL)
		return;
	session_table_free(pl->tab);
	defrag_free(pl->defrag);
	g_free(pl);
}
