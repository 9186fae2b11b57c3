/* pipeline.c - wires the stages: frame -> decode (defrag) -> TCP stage -> POP3 dissector -> emit. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <pcap/dlt.h>

#include "decode.h"
#include "defrag.h"
#include "pipeline.h"
#include "tcp.h"

struct pipeline {
	struct pipeline_config cfg;
	struct tcp *tcp;
	struct run_stats st;
	struct ts now;
	struct ts last_expire;
	struct defrag *defrag;
};

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

/* The TCP stage's callbacks: a session's bytes go to its POP3 dissector. */
static void
opened(void *arg, struct session *s)
{
	struct pipeline *pl = arg;

	if ((pl->cfg.pop3s_ports[s->server.port / 8] >> (s->server.port % 8)) & 1)
		s->proto = PROTO_POP3S;
	s->pop3 = pop3_new(s, &pl->cfg.pop3);
}

static void
data(void *arg, struct session *s, enum dir d, const uint8_t *buf, size_t len, uint64_t off,
    struct ts ts)
{
	struct pipeline *pl = arg;

	pop3_feed(s->pop3, d, buf, len, off, ts);
	/*
	 * A connection on another port is probed from its SYN: once its
	 * dialogue is not POP3, the TCP stage stops following it and only
	 * counts its packets.
	 */
	if (s->candidate && !s->confirmed && s->proto == PROTO_NOT_POP3)
		tcp_ignore(pl->tcp, s);
}

static void
gap(void *arg, struct session *s, enum dir d, uint64_t off, uint64_t len, enum tcp_gap why)
{
	(void)arg;
	pop3_gap(s->pop3, d, off, len, tcp_gap_name(why));
}

static void
closing(void *arg, struct session *s)
{
	(void)arg;
	pop3_end(s->pop3);
}

static void
discard(void *arg, struct session *s)
{
	(void)arg;
	pop3_free(s->pop3);
	s->pop3 = NULL;
}

static void
ended(void *arg, struct session *s)
{
	struct pipeline *pl = arg;

	/*
	 * Numbered here, in the order sessions are reported: refused attempts
	 * and connections that were not POP3 take no number, so the first
	 * session written is session 1.
	 */
	s->id = ++pl->st.sessions;
	pop3_reported(s->pop3);
	/* Those let go past SESSION_MAX_TXNS count too. */
	pl->st.transactions += s->txns->len + s->txns_dropped;
	pl->st.anomalies += s->anomalies->len + s->anomalies_dropped;
	session_sort_anomalies(s); /* listed in frame order, in every format */
	if (pl->cfg.emit != NULL)
		pl->cfg.emit(pl->cfg.arg, s);
	discard(arg, s);
}

static const struct tcp_ops pipeline_tcp_ops = {
    .is_pop3_port = is_pop3_port,
    .opened = opened,
    .data = data,
    .gap = gap,
    .closing = closing,
    .ended = ended,
    .discard = discard,
};

struct pipeline *
pipeline_new(const struct pipeline_config *cfg, char *errbuf)
{
	struct pipeline *pl = g_new0(struct pipeline, 1);
	struct tcp_limits lim;

	pl->cfg = *cfg;
	if (cfg->dlt >= 0 && !decode_link_supported(cfg->dlt)) {
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
	memset(&lim, 0, sizeof(lim));
	lim.nids_streams = cfg->max_streams; /* 0: the stage's default */
	pl->tcp = tcp_new(&pipeline_tcp_ops, pl, &lim, errbuf);
	if (pl->tcp == NULL) {
		g_free(pl);
		return NULL;
	}
	pl->defrag = defrag_new();
	return pl;
}

static void expire_idle(struct pipeline *pl, struct ts now);

/* Decodes one link-layer frame (or, with dlt DLT_RAW, a reassembled IP datagram) and follows it. */
static void
handle(struct pipeline *pl, int dlt, uint64_t frame_no, const uint8_t *frame, size_t caplen,
    size_t wirelen)
{
	struct segment seg;
	enum decode_rc rc;
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
	tcp_segment(pl->tcp, &seg);
}

void
pipeline_frame(
    void *arg, int dlt, uint64_t frame_no, const struct pcap_pkthdr *h, const uint8_t *frame)
{
	struct pipeline *pl = arg;

	pl->now.sec = h->ts.tv_sec;
	pl->now.usec = (int32_t)h->ts.tv_usec;
	if (pl->st.packets == 0)
		pl->st.first = pl->now;
	pl->st.last = pl->now;
	pl->st.packets++;
	pl->st.bytes += h->caplen;
	handle(pl, dlt, frame_no, frame, h->caplen, h->len);
	if (pl->cfg.idle_timeout > 0 && pl->now.sec - pl->last_expire.sec >= 1)
		expire_idle(pl, pl->now);
}

/* Ends sessions idle for longer than the timeout at time now. */
static void
expire_idle(struct pipeline *pl, struct ts now)
{
	pl->last_expire = now;
	tcp_expire(pl->tcp, now, pl->cfg.idle_timeout);
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
	const struct tcp_stats *ts;

	tcp_finish(pl->tcp, why);
	ts = tcp_stats(pl->tcp);
	pl->st.pop3_segments = ts->pop3_segments;
	pl->st.stray = ts->stray;
	pl->st.attempts = ts->attempts;
	pl->st.other_tcp = ts->other_tcp;
	pl->st.reasm_warnings = ts->nids_warnings;
	pl->st.late_segments = ts->late;
	pl->st.reassembly_lost = ts->lost_bytes;
	/* Fragments whose datagram never completed. */
	pl->st.defrag_problems += defrag_pending(pl->defrag);
}

const struct run_stats *
pipeline_stats(const struct pipeline *pl)
{
	return &pl->st;
}

void
pipeline_free(struct pipeline *pl)
{
	if (pl == NULL)
		return;
	tcp_free(pl->tcp);
	defrag_free(pl->defrag);
	g_free(pl);
}
