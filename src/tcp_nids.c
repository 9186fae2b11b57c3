/*
 * tcp_nids.c - libnids, behind the TCP stage: its globals, callbacks and
 * client/server halves stay in this file.
 *
 * libnids is given only packets this file builds, so that none of its
 * silent drop paths can be taken (libnids 1.26, tcp.c):
 * - process_tcp() creates a stream only from a SYN and follows it only
 *   after the third handshake packet: every stream starts with a handshake
 *   built here, at the offsets popflow has reached (a capture without the
 *   handshake, a stream followed again after a gap or an eviction);
 * - its window check (data at or beyond the receiver's ACK plus its window
 *   is dropped): both SYNs carry window scale 14 and every packet a window
 *   of 65535, a window of 2^30 bytes, and the receiver's ACK is kept within
 *   2^29 bytes of the data by ACKs built here;
 * - data ending before the receiver's ACK is dropped: every ACK acknowledges
 *   exactly the bytes given so far in the other direction;
 * - PAWS: no packet carries a timestamp option;
 * - the out-of-order queue (and its 64 KiB limit, prune_queue()): bytes
 *   come strictly in order, each once (tcp_order.c);
 * - urgent data (the urgent byte cut from the stream): no URG flag;
 * - RST and FIN: never given; the stage decides when a connection ends
 *   and frees the stream with nids_free_tcp_stream();
 * - checksums (offload): exempted with nids_register_chksum_ctl();
 * - IPv6 and 4-tuple reuse: every stream gets an IPv4 4-tuple of its own
 *   from 240.0.0.0/4 (reserved, never routed), unrelated to the real one.
 * What libnids delivers is still checked against what it was given: a
 * byte it does not hand back becomes a reassembly_lost anomaly.
 */
#include <string.h>

#include <nids.h>
#include <pcap/pcap.h>

#include "tcp_int.h"
#include "util.h"

#define NIDS_FAKE_NET 0xf0000000u
#define NIDS_FAKE_MASK 0x0fffffffu
/* Largest payload of one packet built here (an IPv4 packet is at most 65535 bytes). */
#define NIDS_MAX_PAYLOAD (65535u - 20u - 24u)
/* The receiver's ACK is renewed before the sender is this far ahead of it (window 2^30). */
#define NIDS_ACK_STRIDE (1u << 29)
#define NIDS_WSCALE 14

static struct {
	struct tcp *t;
	pcap_t *dead;
	struct tcp_conn *establishing; /* the connection whose handshake is being given */
	uint64_t next_tuple;
	uint64_t warnings;
	bool ready;
	uint8_t pkt[65535];
} N;

/* Exempts every packet from libnids' checksum checks (offload makes them wrong). */
static struct nids_chksum_ctl no_checksums = {0, 0, NIDS_DONT_CHKSUM, 0};

/* The one place where libnids' halves become directions: its "server" half holds the bytes the server receives. */
static void
deliver(struct tcp_conn *c, struct half_stream *h, enum dir d)
{
	int start;
	uint64_t off;

	if (h->count_new <= 0)
		return;
	/* The new bytes are the last count_new of the buffer. */
	start = h->count - h->offset - h->count_new;
	if (start < 0)
		start = 0;
	off = c->f[d].nbase + (uint64_t)(h->count - h->count_new);
	c->f[d].got = off + (uint64_t)h->count_new;
	tcp_deliver(c, d, (const uint8_t *)h->data + start, (size_t)h->count_new, off);
}

static void
nids_tcp_callback(struct tcp_stream *a, void **param)
{
	struct tcp_conn *c = a->user;

	(void)param;
	switch (a->nids_state) {
	case NIDS_JUST_EST:
		c = N.establishing;
		if (c == NULL)
			return; /* not ours: nothing else feeds libnids */
		a->user = c;
		c->stream = a;
		a->server.collect++;
		a->client.collect++;
		return;
	case NIDS_DATA:
		if (c == NULL)
			return;
		deliver(c, &a->server, DIR_TO_SERVER);
		deliver(c, &a->client, DIR_TO_CLIENT);
		return;
	case NIDS_TIMED_OUT:
		/*
		 * libnids' table was full (tcp.c, add_new_tcp(): it lets the
		 * oldest stream go).  Every byte given was delivered already: the
		 * connection is followed again through a new stream at its next bytes.
		 */
		if (c == NULL)
			return;
		a->user = NULL;
		c->stream = NULL;
		c->evicted = true;
		N.t->st.evictions++;
		session_anomaly_at(tcp_session(c), ANOM_EVICTED, DIR_TO_SERVER, N.t->frame, NULL,
		    "the reassembler's table was full (%d connections at once): a new connection "
		    "in this frame made it let this one go",
		    N.t->lim.nids_streams * 3 / 4 + 1);
		return;
	default:
		/* NIDS_CLOSE and NIDS_RESET cannot come (no FIN or RST is given); NIDS_EXITING: done. */
		if (c != NULL) {
			a->user = NULL;
			c->stream = NULL;
		}
		return;
	}
}

/* libnids' warning hook: count, never print (only main prints). */
static void
nids_warning(int type, int err, struct ip *iph, void *data)
{
	(void)type;
	(void)err;
	(void)iph;
	(void)data;
	N.warnings++;
}

int
tcp_nids_init(struct tcp *t, int n_streams, char *errbuf)
{
	N.t = t;
	N.warnings = 0; /* per pipeline: the fuzz targets make several in one process */
	N.establishing = NULL;
	N.dead = pcap_open_dead(DLT_RAW, 65535);
	if (N.dead == NULL) {
		g_strlcpy(errbuf, "pcap_open_dead failed", ERRBUF_SIZE);
		return -1;
	}
	nids_params.pcap_desc = N.dead;
	nids_params.filename = NULL;
	nids_params.device = NULL;
	nids_params.pcap_filter = NULL;
	nids_params.scan_num_hosts = 0; /* no port-scan detector */
	nids_params.n_tcp_streams = n_streams;
	nids_params.syslog = nids_warning;
	nids_params.promisc = 0;
	if (!nids_init()) {
		g_snprintf(errbuf, ERRBUF_SIZE, "libnids: %s", nids_errbuf);
		pcap_close(N.dead);
		return -1;
	}
	/* Callbacks must be registered after nids_init(), which resets the lists. */
	nids_register_chksum_ctl(&no_checksums, 1);
	nids_register_tcp(nids_tcp_callback);
	N.ready = true;
	return 0;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The stream's own 4-tuple: addresses from 240.0.0.0/4 and ports from a counter. */
struct tuple {
	uint32_t caddr, saddr;
	uint16_t cport, sport;
};

/* Builds and hands libnids one packet of direction d. */
static void
feed(const struct tuple *tu, enum dir d, uint32_t seq, uint32_t ack, uint8_t flags,
    const uint8_t *payload, size_t len, struct ts ts)
{
	uint8_t *ip = N.pkt, *tcp = N.pkt + 20;
	size_t hdr = (flags & TH_SYN) ? 24 : 20;
	struct pcap_pkthdr h;

	memset(ip, 0, 20 + hdr);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + hdr + len));
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, d == DIR_TO_SERVER ? tu->caddr : tu->saddr);
	put32(ip + 16, d == DIR_TO_SERVER ? tu->saddr : tu->caddr);
	put16(tcp, d == DIR_TO_SERVER ? tu->cport : tu->sport);
	put16(tcp + 2, d == DIR_TO_SERVER ? tu->sport : tu->cport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (uint8_t)((hdr / 4) << 4);
	tcp[13] = flags;
	put16(tcp + 14, 65535);
	if (flags & TH_SYN) {
		tcp[20] = 1; /* NOP */
		tcp[21] = 3; /* window scale (RFC 7323) */
		tcp[22] = 3;
		tcp[23] = NIDS_WSCALE;
	}
	if (len > 0)
		memcpy(tcp + hdr, payload, len);
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = (time_t)ts.sec;
	h.ts.tv_usec = ts.usec;
	h.caplen = h.len = (bpf_u_int32)(20 + hdr + len);
	nids_pcap_handler(NULL, &h, N.pkt);
}

/* Sequence number of stream offset off of direction d in libnids' stream. */
static uint32_t
seq_of(const struct tcp_conn *c, enum dir d, uint64_t off)
{
	return c->f[d].nisn + 1 + (uint32_t)(off - c->f[d].nbase);
}

static void
tuple_get(const struct tcp_conn *c, struct tuple *tu)
{
	const struct tcp_stream *a = c->stream;

	/* libnids keeps the tuple in host order for ports, network order for addresses. */
	tu->caddr = ntohl(a->addr.saddr);
	tu->saddr = ntohl(a->addr.daddr);
	tu->cport = a->addr.source;
	tu->sport = a->addr.dest;
}

/*
 * A new libnids stream for c, starting at the offsets the stage has reached
 * in both directions: a SYN, SYN-ACK and ACK of a 4-tuple of its own.
 */
static bool
start_stream(struct tcp_conn *c, enum dir d, uint64_t off, struct ts ts)
{
	struct tuple tu;
	uint64_t k = N.next_tuple++;
	uint64_t base[2];
	int i;

	base[d] = off;
	base[dir_opposite(d)] = c->f[dir_opposite(d)].next;
	tu.caddr = NIDS_FAKE_NET | (uint32_t)(k & NIDS_FAKE_MASK);
	tu.saddr = NIDS_FAKE_NET | NIDS_FAKE_MASK;
	tu.cport = (uint16_t)(1024 + (k >> 28) % 60000);
	tu.sport = 110;
	for (i = 0; i < 2; i++) {
		c->f[i].nisn = c->h[i].isn + (uint32_t)base[i];
		c->f[i].nbase = base[i];
		c->f[i].fed = c->f[i].got = c->f[i].nacked = base[i];
	}
	N.establishing = c;
	feed(&tu, DIR_TO_SERVER, c->f[0].nisn, 0, TH_SYN, NULL, 0, ts);
	feed(&tu, DIR_TO_CLIENT, c->f[1].nisn, c->f[0].nisn + 1, TH_SYN | TH_ACK, NULL, 0, ts);
	feed(&tu, DIR_TO_SERVER, c->f[0].nisn + 1, c->f[1].nisn + 1, TH_ACK, NULL, 0, ts);
	N.establishing = NULL;
	return c->stream != NULL;
}

void
tcp_nids_feed(
    struct tcp_conn *c, enum dir d, const uint8_t *buf, size_t len, uint64_t off, struct ts ts)
{
	enum dir o = dir_opposite(d);
	struct tuple tu;
	size_t n;
	uint64_t want;

	if (!N.ready || len == 0)
		return;
	if (c->stream != NULL && c->f[d].fed != off) {
		/* A gap was reported: libnids follows on from the new offsets in a new stream. */
		tcp_nids_forget(c);
	}
	if (c->stream == NULL) {
		bool again = c->evicted;

		if (!start_stream(c, d, off, ts)) {
			/* Cannot happen with the packets built here; never silent if it does. */
			tcp_report_gap(c, d, off, len, TCP_GAP_LOST);
			session_anomaly_at(tcp_session(c), ANOM_REASSEMBLY_LOST, d, N.t->frame,
			    NULL,
			    "libnids did not take the connection: %zu byte%s at stream offset %llu "
			    "not delivered",
			    len, util_plural(len), (unsigned long long)off);
			N.t->st.lost_bytes += len;
			return;
		}
		if (again) {
			c->evicted = false;
			session_anomaly_at(tcp_session(c), ANOM_SYNTHETIC_HANDSHAKE, DIR_TO_SERVER,
			    N.t->frame, NULL,
			    "followed again after the eviction, through a synthetic handshake");
		}
	}
	tuple_get(c, &tu);
	while (len > 0) {
		n = len > NIDS_MAX_PAYLOAD ? NIDS_MAX_PAYLOAD : len;
		want = off + n;
		if (want - c->f[o].nacked > NIDS_ACK_STRIDE) {
			/* The receiver acknowledges what it has, so the window moves on. */
			feed(&tu, o, seq_of(c, o, c->f[o].fed), seq_of(c, d, c->f[d].fed), TH_ACK,
			    NULL, 0, ts);
			c->f[o].nacked = c->f[d].fed;
		}
		c->busy++;
		feed(&tu, d, seq_of(c, d, off), seq_of(c, o, c->f[o].fed), TH_ACK | TH_PSH, buf, n,
		    ts);
		c->busy--;
		c->f[d].nacked = c->f[o].fed;
		c->f[d].fed = want;
		if (c->f[d].got != want) {
			/* libnids kept bytes it was given in order: never silent. */
			uint64_t from = c->f[d].got > off && c->f[d].got < want ? c->f[d].got : off;

			session_anomaly_at(tcp_session(c), ANOM_REASSEMBLY_LOST, d, N.t->frame,
			    NULL,
			    "libnids did not deliver stream bytes %llu to %llu of this direction",
			    (unsigned long long)from, (unsigned long long)want);
			N.t->st.lost_bytes += want - from;
			c->f[d].got = want;
			tcp_report_gap(c, d, from, want - from, TCP_GAP_LOST);
		}
		buf += n;
		off += n;
		len -= n;
	}
}

void
tcp_nids_forget(struct tcp_conn *c)
{
	struct tcp_stream *a = c->stream;

	if (a == NULL)
		return;
	a->user = NULL;
	c->stream = NULL;
	nids_free_tcp_stream(a);
}

void
tcp_nids_finish(void)
{
	if (!N.ready)
		return;
	/* nids_init() drops its callback list without freeing it: give the node back first. */
	nids_unregister_tcp(nids_tcp_callback);
	nids_exit();
	N.ready = false;
	pcap_close(N.dead);
}

uint64_t
tcp_nids_warnings(void)
{
	return N.warnings;
}
