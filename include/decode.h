/* decode.h - link, IP and TCP headers of one captured frame; never reads past caplen. */
#ifndef DECODE_H
#define DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "popflow.h"

/* One TCP segment as seen on the wire, in wire direction (src -> dst). */
struct segment {
	uint64_t frame; /* 1-based frame number in the capture */
	struct ts ts;
	struct endpoint src, dst;
	uint32_t seq, ack;
	uint16_t win;
	uint16_t urg;
	uint8_t flags; /* TH_* */
	uint8_t ip_version;
	uint8_t wscale;       /* SYN: RFC 7323 window scale option, its shift + 1 (0: no option) */
	uint32_t payload_len; /* TCP payload length by the IP header */
	uint32_t payload_caplen; /* how much of it the capture holds */
	const uint8_t *payload;  /* borrowed: payload_caplen bytes */
	const uint8_t *ip;       /* borrowed: the IP header, as captured */
	size_t ip_caplen;        /* bytes of ip[] captured (<= IP length) */
	const uint8_t *tcp;      /* borrowed: the TCP header */
	size_t tcp_caplen;       /* TCP header + captured payload */
	size_t tcp_hdrlen;
	size_t uncaptured; /* bytes of the frame the snapshot length cut off */
	size_t
	    frag_hdr; /* DECODE_FRAGMENT: IPv4 header length, or offset of the IPv6 fragment header */
};

enum decode_rc {
	DECODE_OK,
	DECODE_NOT_IP,    /* ARP, LLDP, ...: not an error */
	DECODE_NOT_TCP,   /* UDP, ICMP, ...: not an error */
	DECODE_FRAGMENT,  /* IP fragment: headers beyond IP not decoded */
	DECODE_TRUNCATED, /* the frame ends inside a header */
	DECODE_MALFORMED, /* a header field is impossible */
	DECODE_UNSUPPORTED_LINK,
};

/*
 * Decodes one frame of link type dlt (a DLT_* value from pcap_datalink),
 * caplen bytes captured of wirelen on the wire.
 * On DECODE_OK, out is filled and its pointers borrow from frame.  For
 * DECODE_FRAGMENT, out->ip/ip_caplen/ip_version/frag_hdr are set.  For errors,
 * why (if not NULL) receives a short explanation.
 */
enum decode_rc decode_frame(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen,
    struct segment *out, char *why, size_t whylen);

/* True if decode_frame() knows the link type. */
int decode_link_supported(int dlt);

const char *decode_rc_name(enum decode_rc rc);

#endif
