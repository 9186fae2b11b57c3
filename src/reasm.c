/* reasm.c - libnids glue: its globals, callbacks and client/server halves stay in this file. */
#include <string.h>

#include <glib.h>
#include <nids.h>
#include <pcap/pcap.h>

#include "reasm.h"

/* IPv6 addresses are given to libnids as addresses from 240.0.0.0/4 (reserved, never routed). */
#define REASM_FAKE_NET 0xf0000000u
#define REASM_FAKE_MASK 0x0fffffffu
/* Purge unused IPv6 mappings when the table grows past this. */
#define REASM_MAP_PURGE 65536

struct v6map {
	struct addr real;
	uint32_t fake; /* network byte order */
	unsigned refs; /* established streams using it */
};

/* Per-stream data hung on tcp_stream->user. */
struct rstream {
	void *user;
	uint64_t delivered[2];
	struct addr *mapped[2]; /* IPv6 addresses whose mapping this stream holds */
};

static struct {
	const struct reasm_ops *ops;
	void *arg;
	pcap_t *dead;
	GHashTable *by_real; /* struct addr * -> struct v6map * */
	GHashTable *by_fake; /* GUINT_TO_POINTER(fake) -> struct v6map * */
	uint32_t next_fake;
	uint64_t warnings;
	bool have_base; /* the next stream established starts at these offsets */
	uint64_t base[2];
	uint8_t pkt[REASM_MAX_PACKET];
	bool ready;
} R;

/* Exempts every packet from libnids' checksum checks (offload makes them wrong). */
static struct nids_chksum_ctl no_checksums = {0, 0, NIDS_DONT_CHKSUM, 0};

static guint
addr_hash(gconstpointer p)
{
	const struct addr *a = p;
	guint h = 2166136261u;
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ a->bytes[i]) * 16777619u;
	return h ^ a->family;
}

static gboolean
addr_equal(gconstpointer x, gconstpointer y)
{
	const struct addr *a = x, *b = y;

	return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

static void
map_purge(void)
{
	GHashTableIter it;
	gpointer k, v;
	struct v6map *m;

	g_hash_table_iter_init(&it, R.by_real);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		m = v;
		if (m->refs == 0) {
			g_hash_table_remove(R.by_fake, GUINT_TO_POINTER(m->fake));
			g_hash_table_iter_remove(&it);
		}
	}
}

/* The IPv4 address libnids sees for a (possibly IPv6) address, network order. */
static uint32_t
v4_of(const struct addr *a)
{
	struct v6map *m;
	uint32_t v;

	if (a->family == 4) {
		memcpy(&v, a->bytes, 4);
		return v;
	}
	m = g_hash_table_lookup(R.by_real, a);
	if (m != NULL)
		return m->fake;
	if (g_hash_table_size(R.by_real) >= REASM_MAP_PURGE)
		map_purge();
	m = g_new0(struct v6map, 1);
	m->real = *a;
	do {
		R.next_fake = (R.next_fake + 1) & REASM_FAKE_MASK;
		m->fake = htonl(REASM_FAKE_NET | R.next_fake);
	} while (R.next_fake == 0 || g_hash_table_contains(R.by_fake, GUINT_TO_POINTER(m->fake)));
	g_hash_table_insert(R.by_real, &m->real, m);
	g_hash_table_insert(R.by_fake, GUINT_TO_POINTER(m->fake), m);
	return m->fake;
}

static void
real_of(uint32_t v4, uint16_t port, struct endpoint *e, struct v6map **mapped)
{
	struct v6map *m = g_hash_table_lookup(R.by_fake, GUINT_TO_POINTER(v4));

	memset(e, 0, sizeof(*e));
	e->port = port;
	*mapped = m;
	if (m != NULL) {
		e->ip = m->real;
	} else {
		e->ip.family = 4;
		memcpy(e->ip.bytes, &v4, 4);
	}
}

static void
deliver(struct rstream *rs, struct half_stream *h, enum dir d)
{
	int start;

	if (h->count_new > 0) {
		/* The new bytes are the last count_new of the buffer. */
		start = h->count - h->offset - h->count_new;
		if (start < 0)
			start = 0;
		R.ops->data(R.arg, rs->user, d, (const uint8_t *)h->data + start,
		    (size_t)h->count_new, rs->delivered[d]);
		rs->delivered[d] += (uint64_t)h->count_new;
	}
	if (h->count_new_urg > 0) {
		/* The urgent byte is cut out of the stream; put it back where it was. */
		R.ops->data(R.arg, rs->user, d, &h->urgdata, 1, rs->delivered[d]);
		rs->delivered[d]++;
	}
}

static void
rstream_release(struct rstream *rs)
{
	int i;
	struct v6map *m;

	for (i = 0; i < 2; i++) {
		if (rs->mapped[i] == NULL)
			continue;
		m = g_hash_table_lookup(R.by_real, rs->mapped[i]);
		if (m != NULL && m->refs > 0)
			m->refs--;
		g_free(rs->mapped[i]);
	}
	g_free(rs);
}

static void
tcp_callback(struct tcp_stream *a, void **param)
{
	struct rstream *rs = a->user;
	struct endpoint client, server;
	struct v6map *mc, *ms;
	void *user;
	enum reasm_end how;

	(void)param;
	switch (a->nids_state) {
	case NIDS_JUST_EST:
		/* libnids' addr.saddr is the SYN sender: the client. */
		real_of(a->addr.saddr, a->addr.source, &client, &mc);
		real_of(a->addr.daddr, a->addr.dest, &server, &ms);
		user = R.ops->established(R.arg, &client, &server);
		if (user == NULL)
			return;
		rs = g_new0(struct rstream, 1);
		rs->user = user;
		if (R.have_base) {
			/* A connection followed again: its bytes go on from where they were. */
			rs->delivered[0] = R.base[0];
			rs->delivered[1] = R.base[1];
			R.have_base = false;
		}
		if (mc != NULL) {
			mc->refs++;
			rs->mapped[0] = g_memdup2(&mc->real, sizeof(mc->real));
		}
		if (ms != NULL) {
			ms->refs++;
			rs->mapped[1] = g_memdup2(&ms->real, sizeof(ms->real));
		}
		a->user = rs;
		/* libnids' "server" half holds the bytes the server receives. */
		a->server.collect++;
		a->client.collect++;
		a->server.collect_urg++;
		a->client.collect_urg++;
		return;
	case NIDS_DATA:
		if (rs == NULL)
			return;
		deliver(rs, &a->server, DIR_TO_SERVER);
		deliver(rs, &a->client, DIR_TO_CLIENT);
		return;
	case NIDS_CLOSE:
		how = REASM_CLOSE;
		break;
	case NIDS_RESET:
		how = REASM_RESET;
		break;
	case NIDS_TIMED_OUT:
		how = REASM_TIMEOUT;
		break;
	default:
		how = REASM_EXIT;
		break;
	}
	if (rs == NULL)
		return;
	/* libnids frees the stream after this callback; never free it here. */
	a->user = NULL;
	R.ops->closed(R.arg, rs->user, how);
	rstream_release(rs);
}

/* libnids' warning hook: count, never print (only main prints). */
static void
nids_warning(int type, int err, struct ip *iph, void *data)
{
	(void)type;
	(void)err;
	(void)iph;
	(void)data;
	R.warnings++;
}

int
reasm_init(const struct reasm_ops *ops, void *arg, int max_streams, char *errbuf)
{
	R.ops = ops;
	R.arg = arg;
	R.dead = pcap_open_dead(DLT_RAW, REASM_MAX_PACKET);
	if (R.dead == NULL) {
		g_strlcpy(errbuf, "pcap_open_dead failed", ERRBUF_SIZE);
		return -1;
	}
	R.by_real = g_hash_table_new_full(addr_hash, addr_equal, NULL, g_free);
	R.by_fake = g_hash_table_new(g_direct_hash, g_direct_equal);
	nids_params.pcap_desc = R.dead;
	nids_params.filename = NULL;
	nids_params.device = NULL;
	nids_params.pcap_filter = NULL;
	nids_params.scan_num_hosts = 0; /* no port-scan detector */
	nids_params.n_tcp_streams = max_streams;
	nids_params.syslog = nids_warning;
	nids_params.promisc = 0;
	if (!nids_init()) {
		g_snprintf(errbuf, ERRBUF_SIZE, "libnids: %s", nids_errbuf);
		return -1;
	}
	/* Callbacks must be registered after nids_init(), which resets the lists. */
	nids_register_chksum_ctl(&no_checksums, 1);
	nids_register_tcp(tcp_callback);
	R.ready = true;
	return 0;
}

static void
feed_raw(const uint8_t *pkt, size_t len, struct ts ts)
{
	struct pcap_pkthdr h;

	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = (time_t)ts.sec;
	h.ts.tv_usec = ts.usec;
	h.caplen = h.len = (bpf_u_int32)len;
	nids_pcap_handler(NULL, &h, (u_char *)pkt);
}

/* Writes an IPv4 header for a TCP packet of tcplen bytes. */
static void
put_ipv4(uint8_t *ip, uint32_t src, uint32_t dst, size_t tcplen)
{
	uint16_t tot = (uint16_t)(20 + tcplen);

	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
}

/* Writes a 20-byte TCP header (window 65535: libnids does not scale a made-up one). */
static void
put_tcp(uint8_t *t, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	memset(t, 0, 20);
	t[0] = (uint8_t)(sport >> 8);
	t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8);
	t[3] = (uint8_t)dport;
	t[4] = (uint8_t)(seq >> 24);
	t[5] = (uint8_t)(seq >> 16);
	t[6] = (uint8_t)(seq >> 8);
	t[7] = (uint8_t)seq;
	t[8] = (uint8_t)(ack >> 24);
	t[9] = (uint8_t)(ack >> 16);
	t[10] = (uint8_t)(ack >> 8);
	t[11] = (uint8_t)ack;
	t[12] = 5 << 4;
	t[13] = flags;
	t[14] = 0xff;
	t[15] = 0xff;
}

/*
 * Turns TCP timestamp options into NOPs.  Without them libnids skips its
 * PAWS check, which would drop segments popflow hands it late (held
 * behind a hole, sent before the retransmission that filled it).
 */
static void
strip_timestamps(uint8_t *tcp, size_t hdr)
{
	size_t i = 20, len;

	while (i < hdr) {
		if (tcp[i] == 0) /* end of options */
			break;
		if (tcp[i] == 1) { /* NOP */
			i++;
			continue;
		}
		if (i + 1 >= hdr)
			break;
		len = tcp[i + 1];
		if (len < 2 || len > hdr - i)
			break;
		if (tcp[i] == 8)
			memset(tcp + i, 1, len);
		i += len;
	}
}

size_t
reasm_build(const struct segment *seg, uint32_t ack, uint8_t *out)
{
	size_t hdr = seg->tcp_hdrlen, pay = seg->payload_len;
	uint8_t *tcp = out + 20;

	if (hdr + pay > REASM_MAX_PACKET - 20 || hdr < 20)
		return 0;
	put_ipv4(out, v4_of(&seg->src.ip), v4_of(&seg->dst.ip), hdr + pay);
	memcpy(tcp, seg->tcp, hdr);
	strip_timestamps(tcp, hdr);
	tcp[8] = (uint8_t)(ack >> 24);
	tcp[9] = (uint8_t)(ack >> 16);
	tcp[10] = (uint8_t)(ack >> 8);
	tcp[11] = (uint8_t)ack;
	memcpy(tcp + hdr, seg->payload, seg->payload_caplen);
	if (seg->payload_caplen < pay)
		memset(tcp + hdr + seg->payload_caplen, 0, pay - seg->payload_caplen);
	return 20 + hdr + pay;
}

void
reasm_feed_packet(const uint8_t *pkt, size_t len, struct ts ts)
{
	if (R.ready && len > 0)
		feed_raw(pkt, len, ts);
}

void
reasm_feed_filler(const struct endpoint *src, const struct endpoint *dst, uint32_t seq,
    uint32_t ack, uint32_t len, struct ts ts)
{
	uint8_t *t = R.pkt + 20;

	if (!R.ready || len > REASM_MAX_PACKET - 40)
		return;
	put_ipv4(R.pkt, v4_of(&src->ip), v4_of(&dst->ip), 20 + len);
	put_tcp(t, src->port, dst->port, seq, ack, TH_ACK | TH_PSH);
	memset(t + 20, 0, len);
	feed_raw(R.pkt, 40 + len, ts);
}

static void
synth(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint32_t seq, uint32_t ack,
    uint8_t flags, struct ts ts)
{
	put_ipv4(R.pkt, src, dst, 20);
	put_tcp(R.pkt + 20, sport, dport, seq, ack, flags);
	feed_raw(R.pkt, 40, ts);
}

void
reasm_synth_handshake(const struct endpoint *client, const struct endpoint *server, uint32_t cseq,
    uint32_t sseq, uint64_t coff, uint64_t soff, struct ts ts)
{
	uint32_t c = v4_of(&client->ip), s = v4_of(&server->ip);

	if (!R.ready)
		return;
	R.have_base = true;
	R.base[DIR_TO_SERVER] = coff;
	R.base[DIR_TO_CLIENT] = soff;
	synth(c, client->port, s, server->port, cseq - 1, 0, TH_SYN, ts);
	synth(s, server->port, c, client->port, sseq - 1, cseq, TH_SYN | TH_ACK, ts);
	synth(c, client->port, s, server->port, cseq, sseq, TH_ACK, ts);
	R.have_base = false; /* used by the callback, or not at all */
}

void
reasm_feed_ack(const struct endpoint *client, const struct endpoint *server, uint32_t seq,
    uint32_t ack, struct ts ts)
{
	if (R.ready)
		synth(v4_of(&client->ip), client->port, v4_of(&server->ip), server->port, seq, ack,
		    TH_ACK, ts);
}

static struct tcp_stream *
find(const struct endpoint *client, const struct endpoint *server)
{
	struct tuple4 t;

	if (!R.ready)
		return NULL;
	if ((client->ip.family == 6 && g_hash_table_lookup(R.by_real, &client->ip) == NULL) ||
	    (server->ip.family == 6 && g_hash_table_lookup(R.by_real, &server->ip) == NULL))
		return NULL;
	t.saddr = v4_of(&client->ip);
	t.daddr = v4_of(&server->ip);
	t.source = client->port;
	t.dest = server->port;
	return nids_find_tcp_stream(&t);
}

bool
reasm_follows(const struct endpoint *client, const struct endpoint *server)
{
	return find(client, server) != NULL;
}

void
reasm_forget(const struct endpoint *client, const struct endpoint *server)
{
	struct tcp_stream *a = find(client, server);

	if (a == NULL)
		return;
	if (a->user != NULL) {
		rstream_release(a->user);
		a->user = NULL;
	}
	nids_free_tcp_stream(a);
}

void
reasm_finish(void)
{
	if (!R.ready)
		return;
	nids_exit();
	R.ready = false;
	g_hash_table_destroy(R.by_fake);
	g_hash_table_destroy(R.by_real);
	pcap_close(R.dead);
}

uint64_t
reasm_warnings(void)
{
	return R.warnings;
}
