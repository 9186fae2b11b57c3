/* decode.c - link layers (Ethernet+VLAN/QinQ, SLL, SLL2, NULL/LOOP, raw IP), IPv4, IPv6 and TCP headers. */
#include <stdio.h>
#include <string.h>

#include <pcap/dlt.h>

#include "cursor.h"
#include "decode.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100

/* Stacked VLAN tags we follow before giving up (QinQ is 2; be generous). */
#define DECODE_MAX_VLAN_TAGS 8
/* IPv6 extension headers we walk before giving up. */
#define DECODE_MAX_IPV6_EXT 8

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

/* Link-layer "protocol" results. */
enum l3 { L3_NONE, L3_IPV4, L3_IPV6, L3_BY_VERSION };

static void
set_why(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
}

int
decode_link_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_NULL:
	case DLT_LOOP:
	case DLT_RAW:
	case 14: /* DLT_RAW on OpenBSD */
	case DLT_IPV4:
	case DLT_IPV6:
		return 1;
	default:
		return 0;
	}
}

const char *
decode_rc_name(enum decode_rc rc)
{
	switch (rc) {
	case DECODE_OK:
		return "ok";
	case DECODE_NOT_IP:
		return "not IP";
	case DECODE_NOT_TCP:
		return "not TCP";
	case DECODE_FRAGMENT:
		return "IP fragment";
	case DECODE_TRUNCATED:
		return "truncated";
	case DECODE_MALFORMED:
		return "malformed";
	case DECODE_UNSUPPORTED_LINK:
		return "unsupported link type";
	}
	return "?";
}

static enum l3
l3_from_ethertype(uint16_t type)
{
	if (type == ETHERTYPE_IPV4)
		return L3_IPV4;
	if (type == ETHERTYPE_IPV6)
		return L3_IPV6;
	return L3_NONE;
}

/* BSD address families as written by DLT_NULL / DLT_LOOP captures. */
static enum l3
l3_from_family(uint32_t fam)
{
	switch (fam) {
	case 2:
		return L3_IPV4;
	case 10: /* Linux */
	case 24: /* NetBSD, OpenBSD */
	case 28: /* FreeBSD */
	case 30: /* macOS */
		return L3_IPV6;
	default:
		return L3_NONE;
	}
}

/* Consumes the link header; returns what follows or L3_NONE. */
static enum decode_rc
decode_link(int dlt, struct cursor *c, enum l3 *l3, char *why, size_t whylen)
{
	const uint8_t *h;
	uint16_t type;
	uint32_t fam;
	int tags;

	*l3 = L3_NONE;
	switch (dlt) {
	case DLT_EN10MB:
		h = cur_take(c, 14); /* destination, source, type */
		if (h == NULL) {
			set_why(why, whylen, "frame ends inside the Ethernet header");
			return DECODE_TRUNCATED;
		}
		type = cur_at_be16(h + 12);
		for (tags = 0; (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ ||
		         type == ETHERTYPE_QINQ_OLD);
		     tags++) {
			if (tags == DECODE_MAX_VLAN_TAGS) {
				set_why(why, whylen, "too many VLAN tags");
				return DECODE_MALFORMED;
			}
			cur_skip(c, 2); /* TCI */
			type = cur_be16(c);
		}
		if (c->bad) {
			set_why(why, whylen, "frame ends inside the Ethernet header");
			return DECODE_TRUNCATED;
		}
		*l3 = l3_from_ethertype(type);
		return DECODE_OK;
	case DLT_LINUX_SLL:
		cur_skip(c, 14); /* packet type, ARPHRD, address length, address */
		type = cur_be16(c);
		if (c->bad) {
			set_why(why, whylen, "frame ends inside the Linux cooked (SLL) header");
			return DECODE_TRUNCATED;
		}
		*l3 = l3_from_ethertype(type);
		return DECODE_OK;
	case DLT_LINUX_SLL2:
		type = cur_be16(c);
		cur_skip(c, 18); /* reserved, ifindex, ARPHRD, type, addr len, addr */
		if (c->bad) {
			set_why(why, whylen, "frame ends inside the Linux cooked v2 (SLL2) header");
			return DECODE_TRUNCATED;
		}
		*l3 = l3_from_ethertype(type);
		return DECODE_OK;
	case DLT_NULL:
		/* Host byte order of the capturing machine: accept either. */
		fam = cur_le32(c);
		if (c->bad) {
			set_why(why, whylen, "frame ends inside the loopback header");
			return DECODE_TRUNCATED;
		}
		*l3 = l3_from_family(fam);
		if (*l3 == L3_NONE)
			*l3 = l3_from_family(__builtin_bswap32(fam));
		return DECODE_OK;
	case DLT_LOOP:
		fam = cur_be32(c);
		if (c->bad) {
			set_why(why, whylen, "frame ends inside the loopback header");
			return DECODE_TRUNCATED;
		}
		*l3 = l3_from_family(fam);
		return DECODE_OK;
	case DLT_RAW:
	case 14:
		*l3 = L3_BY_VERSION;
		return DECODE_OK;
	case DLT_IPV4:
		*l3 = L3_IPV4;
		return DECODE_OK;
	case DLT_IPV6:
		*l3 = L3_IPV6;
		return DECODE_OK;
	default:
		set_why(why, whylen, "unsupported link type");
		return DECODE_UNSUPPORTED_LINK;
	}
}

#define L2TP_PORT 1701
/* Tunnels followed inside one frame (L2TP inside L2TP is not). */
#define DECODE_MAX_TUNNELS 1

static enum decode_rc decode_ipv4(
    struct cursor *c, struct segment *seg, int depth, char *why, size_t whylen);
static enum decode_rc decode_ipv6(
    struct cursor *c, struct segment *seg, int depth, char *why, size_t whylen);
static bool length_beyond_wire(const struct segment *seg, size_t declared, size_t captured);

/*
 * UDP: only L2TPv2 data (RFC 2661) is followed, to the PPP frame and the IP
 * packet inside it, so POP3 carried through a VPN tunnel is analysed too.
 */
static enum decode_rc
decode_udp(struct cursor *c, struct segment *seg, int depth, char *why, size_t whylen)
{
	uint16_t sport, dport, flags, proto;
	uint8_t b;

	sport = cur_be16(c);
	dport = cur_be16(c);
	cur_skip(c, 4); /* length, checksum */
	if (c->bad || depth >= DECODE_MAX_TUNNELS || (sport != L2TP_PORT && dport != L2TP_PORT))
		return DECODE_NOT_TCP;
	flags = cur_be16(c);
	if ((flags & 0x000f) != 2 || (flags & 0x8000)) /* not version 2, or a control message */
		return DECODE_NOT_TCP;
	if (flags & 0x4000)
		cur_skip(c, 2); /* length */
	cur_skip(c, 4);         /* tunnel id, session id */
	if (flags & 0x0800)
		cur_skip(c, 4); /* Ns, Nr */
	if (flags & 0x0200)
		cur_skip(c, cur_be16(c)); /* offset size, padding */
	/* PPP: optional address/control 0xff 0x03, then a 1- or 2-byte protocol. */
	if (cur_left(c) >= 2 && cur_ptr(c)[0] == 0xff && cur_ptr(c)[1] == 0x03)
		cur_skip(c, 2);
	b = cur_u8(c);
	proto = b & 1 ? b : (uint16_t)(b << 8 | cur_u8(c));
	if (c->bad) {
		set_why(why, whylen, "frame ends inside the L2TP/PPP header");
		return DECODE_TRUNCATED;
	}
	if (proto == 0x0021)
		return decode_ipv4(c, seg, depth + 1, why, whylen);
	if (proto == 0x0057)
		return decode_ipv6(c, seg, depth + 1, why, whylen);
	return DECODE_NOT_TCP;
}

/*
 * A SYN's window scale option (RFC 7323 section 2.2: kind 3, length 3,
 * shift count; a shift above 14 is used as 14): the shift + 1, or 0 when
 * the n option bytes at p hold none.
 */
static uint8_t
tcp_wscale(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] != 0) { /* kind 0: end of the option list */
		if (p[i] == 1) {     /* NOP */
			i++;
			continue;
		}
		if (i + 1 >= n || p[i + 1] < 2)
			break; /* a length below 2 would never end */
		if (p[i] == 3 && p[i + 1] == 3 && i + 2 < n)
			return (uint8_t)((p[i + 2] > 14 ? 14 : p[i + 2]) + 1);
		i += p[i + 1];
	}
	return 0;
}

/*
 * declared: the TCP length by the IP header.  A header longer than that is
 * a lie (MALFORMED); one the capture cut short is TRUNCATED.
 */
static enum decode_rc
decode_tcp(struct cursor *c, struct segment *seg, size_t declared, char *why, size_t whylen)
{
	size_t start = c->off;
	const uint8_t *h;
	uint8_t doff;

	if (declared < 20) {
		set_why(why, whylen, "IP length ends inside the TCP header");
		return DECODE_MALFORMED;
	}
	seg->tcp = cur_ptr(c);
	seg->tcp_caplen = cur_left(c);
	h = cur_take(c, 20);
	if (h == NULL) {
		set_why(why, whylen, "frame ends inside the TCP header");
		return DECODE_TRUNCATED;
	}
	seg->src.port = cur_at_be16(h);
	seg->dst.port = cur_at_be16(h + 2);
	seg->seq = cur_at_be32(h + 4);
	seg->ack = cur_at_be32(h + 8);
	doff = h[12] >> 4;
	seg->flags = h[13];
	seg->win = cur_at_be16(h + 14);
	/* h + 16: the checksum, not verified (offload makes it wrong) */
	seg->urg = cur_at_be16(h + 18);
	if (doff < 5) {
		set_why(why, whylen, "TCP data offset below 5");
		return DECODE_MALFORMED;
	}
	if ((size_t)doff * 4 > declared) {
		set_why(why, whylen, "TCP data offset beyond the IP length");
		return DECODE_MALFORMED;
	}
	seg->wscale = 0;
	if ((seg->flags & TH_SYN) && doff > 5)
		seg->wscale = tcp_wscale(cur_ptr(c),
		    cur_left(c) < (size_t)(doff - 5) * 4 ? cur_left(c) : (size_t)(doff - 5) * 4);
	cur_skip(c, (size_t)(doff - 5) * 4); /* options */
	if (c->bad) {
		set_why(why, whylen, "frame ends inside the TCP options");
		return DECODE_TRUNCATED;
	}
	seg->tcp_hdrlen = c->off - start;
	seg->payload = cur_ptr(c);
	seg->payload_caplen = (uint32_t)cur_left(c);
	return DECODE_OK;
}

/*
 * IPv4: the usable length is the smaller of what was captured and what
 * the header claims; a total length of 0 (TCP segmentation offload on
 * the capturing host) means "as captured".
 */
static enum decode_rc
decode_ipv4(struct cursor *c, struct segment *seg, int depth, char *why, size_t whylen)
{
	size_t captured = cur_left(c);
	const uint8_t *h;
	uint8_t vihl, proto;
	size_t ihl, tot;
	uint16_t frag;
	enum decode_rc rc;

	seg->ip = cur_ptr(c);
	seg->ip_version = 4;
	seg->src.ip.family = seg->dst.ip.family = 4;
	memset(seg->src.ip.bytes, 0, sizeof(seg->src.ip.bytes));
	memset(seg->dst.ip.bytes, 0, sizeof(seg->dst.ip.bytes));
	h = cur_take(c, 20);
	if (h == NULL) {
		set_why(why, whylen, "frame ends inside the IPv4 header");
		return DECODE_TRUNCATED;
	}
	vihl = h[0];
	tot = cur_at_be16(h + 2);
	frag = cur_at_be16(h + 6);
	proto = h[9];
	memcpy(seg->src.ip.bytes, h + 12, 4);
	memcpy(seg->dst.ip.bytes, h + 16, 4);
	if (vihl >> 4 != 4) {
		set_why(why, whylen, "IP version is not 4");
		return DECODE_MALFORMED;
	}
	ihl = (size_t)(vihl & 0x0f) * 4;
	if (ihl < 20) {
		set_why(why, whylen, "IPv4 header length below 20");
		return DECODE_MALFORMED;
	}
	if (tot == 0)
		tot = captured;
	if (tot < ihl) {
		set_why(why, whylen, "IPv4 total length smaller than its header");
		return DECODE_MALFORMED;
	}
	if (length_beyond_wire(seg, tot, captured)) {
		set_why(why, whylen, "IPv4 total length larger than the frame on the wire");
		return DECODE_MALFORMED;
	}
	seg->ip_caplen = tot < captured ? tot : captured;
	cur_skip(c, ihl - 20);
	if (c->bad) {
		set_why(why, whylen, "frame ends inside the IPv4 options");
		return DECODE_TRUNCATED;
	}
	if ((frag & 0x3fff) != 0) { /* MF set or a non-zero offset */
		seg->frag_hdr = ihl;
		set_why(why, whylen, "IPv4 fragment");
		return DECODE_FRAGMENT;
	}
	/* Bytes after the IP datagram (Ethernet padding) are not payload. */
	cur_limit(c, seg->ip_caplen - ihl);
	if (proto == 17)
		return decode_udp(c, seg, depth, why, whylen);
	if (proto != 6)
		return DECODE_NOT_TCP;
	rc = decode_tcp(c, seg, tot - ihl, why, whylen);
	if (rc != DECODE_OK)
		return rc;
	seg->payload_len = (uint32_t)(tot - ihl - seg->tcp_hdrlen);
	return DECODE_OK;
}

static enum decode_rc
decode_ipv6(struct cursor *c, struct segment *seg, int depth, char *why, size_t whylen)
{
	size_t captured = cur_left(c);
	size_t plen, hdrs, extlen;
	const uint8_t *h;
	uint8_t next;
	uint32_t vtf;
	int n;
	enum decode_rc rc;

	seg->ip = cur_ptr(c);
	seg->ip_version = 6;
	seg->src.ip.family = seg->dst.ip.family = 6;
	h = cur_take(c, 40);
	if (h == NULL) {
		memset(seg->src.ip.bytes, 0, sizeof(seg->src.ip.bytes));
		memset(seg->dst.ip.bytes, 0, sizeof(seg->dst.ip.bytes));
		set_why(why, whylen, "frame ends inside the IPv6 header");
		return DECODE_TRUNCATED;
	}
	vtf = cur_at_be32(h);
	plen = cur_at_be16(h + 4);
	next = h[6];
	memcpy(seg->src.ip.bytes, h + 8, 16);
	memcpy(seg->dst.ip.bytes, h + 24, 16);
	if (vtf >> 28 != 6) {
		set_why(why, whylen, "IP version is not 6");
		return DECODE_MALFORMED;
	}
	if (plen == 0) /* jumbogram or offload: as captured */
		plen = captured - 40;
	if (length_beyond_wire(seg, 40 + plen, captured)) {
		set_why(why, whylen, "IPv6 payload length larger than the frame on the wire");
		return DECODE_MALFORMED;
	}
	seg->ip_caplen = 40 + plen < captured ? 40 + plen : captured;
	cur_limit(c, seg->ip_caplen - 40);
	hdrs = 0;
	for (n = 0; next != 6; n++) {
		switch (next) {
		case 0:  /* hop-by-hop */
		case 43: /* routing */
		case 60: /* destination options */
			if (n == DECODE_MAX_IPV6_EXT) {
				set_why(why, whylen, "too many IPv6 extension headers");
				return DECODE_MALFORMED;
			}
			next = cur_u8(c);
			extlen = ((size_t)cur_u8(c) + 1) * 8;
			cur_skip(c, extlen - 2);
			hdrs += extlen;
			if (c->bad) {
				set_why(why, whylen, "frame ends inside an IPv6 extension header");
				return DECODE_TRUNCATED;
			}
			break;
		case 44:
			/* Where the fragment header starts: the defragmenter needs it. */
			seg->frag_hdr = 40 + hdrs;
			set_why(why, whylen, "IPv6 fragment");
			return DECODE_FRAGMENT;
		case 17:
			return decode_udp(c, seg, depth, why, whylen);
		default:
			return DECODE_NOT_TCP;
		}
	}
	if (hdrs > plen) {
		set_why(why, whylen, "IPv6 extension headers longer than the payload length");
		return DECODE_MALFORMED;
	}
	rc = decode_tcp(c, seg, plen - hdrs, why, whylen);
	if (rc != DECODE_OK)
		return rc;
	seg->payload_len = (uint32_t)(plen - hdrs - seg->tcp_hdrlen);
	return DECODE_OK;
}

/*
 * A length field may exceed what was captured only by what the snapshot
 * length cut off (wire length - captured length); beyond that it lies.
 */
static bool
length_beyond_wire(const struct segment *seg, size_t declared, size_t captured)
{
	return declared > captured && declared - captured > seg->uncaptured;
}

enum decode_rc
decode_frame(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen, struct segment *out,
    char *why, size_t whylen)
{
	struct cursor c;
	enum decode_rc rc;
	enum l3 l3;
	uint8_t version;

	memset(out, 0, sizeof(*out));
	out->uncaptured = wirelen > caplen ? wirelen - caplen : 0;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	cur_init(&c, frame, caplen);
	rc = decode_link(dlt, &c, &l3, why, whylen);
	if (rc != DECODE_OK)
		return rc;
	if (l3 == L3_BY_VERSION) {
		if (cur_left(&c) == 0) {
			set_why(why, whylen, "empty raw IP frame");
			return DECODE_TRUNCATED;
		}
		version = cur_ptr(&c)[0] >> 4;
		l3 = version == 4 ? L3_IPV4 : version == 6 ? L3_IPV6 : L3_NONE;
		if (l3 == L3_NONE) {
			set_why(why, whylen, "raw IP frame with an unknown IP version");
			return DECODE_MALFORMED;
		}
	}
	if (l3 == L3_IPV4)
		return decode_ipv4(&c, out, 0, why, whylen);
	if (l3 == L3_IPV6)
		return decode_ipv6(&c, out, 0, why, whylen);
	return DECODE_NOT_IP;
}
