/*
 * fuzz_decode.c - the link, IP and TCP decoder (decode.c) on single frames,
 * and the fragment reassembler (defrag.c) on the fragments among them.
 *
 * Input: one byte choosing the link type, then frames.  Each frame is two
 * bytes of captured length (little-endian; capped by what is left), one
 * byte of octets the snapshot length cut off (wirelen = caplen + it), then
 * the captured bytes.  If the byte after the link type is 0xff, the rest
 * is one frame, nothing cut off.  Every byte decode_frame() says it captured is read,
 * so a pointer past the frame shows under AddressSanitizer; a datagram
 * defrag_add() completes is decoded again as raw IP, as pipeline.c does.
 */
#include <string.h>

#include <glib.h>
#include <pcap/dlt.h>

#include "decode.h"
#include "defrag.h"
#include "fuzz.h"

static const int links[] = {
    DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP, DLT_RAW, 14, DLT_IPV4, DLT_IPV6,
    DLT_PPP, /* not supported: the decoder says so */
};

static volatile uint8_t sink;

/* Reads every byte of a borrowed range: ASan reports any byte outside the frame. */
static void
touch(const uint8_t *p, size_t n)
{
	uint8_t x = 0;
	size_t i;

	for (i = 0; i < n; i++)
		x ^= p[i];
	sink ^= x;
}

static void
decode_one(struct defrag *df, int dlt, const uint8_t *frame, size_t caplen, size_t wirelen,
    struct ts ts, int depth)
{
	struct segment seg;
	char why[128];
	enum decode_rc rc;
	const uint8_t *whole;
	size_t wlen;
	uint64_t problems = 0;

	memset(&seg, 0, sizeof(seg));
	rc = decode_frame(dlt, frame, caplen, wirelen, &seg, why, sizeof(why));
	(void)decode_rc_name(rc);
	switch (rc) {
	case DECODE_OK:
		touch(seg.payload, seg.payload_caplen);
		touch(seg.ip, seg.ip_caplen);
		touch(seg.tcp, seg.tcp_caplen);
		if (seg.tcp_hdrlen > seg.tcp_caplen || seg.payload_caplen > seg.payload_len ||
		    seg.payload_caplen > seg.tcp_caplen)
			__builtin_trap(); /* the segment contradicts itself */
		break;
	case DECODE_FRAGMENT:
		touch(seg.ip, seg.ip_caplen);
		if (seg.uncaptured > 0 || depth > 0)
			break;
		whole = defrag_add(df, &seg, ts, &wlen, &problems);
		if (whole != NULL)
			decode_one(df, DLT_RAW, whole, wlen, wlen, ts, depth + 1);
		break;
	default:
		why[sizeof(why) - 1] = '\0';
		touch((const uint8_t *)why, strlen(why));
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct defrag *df;
	struct ts ts = {1000000000, 0};
	int dlt;

	if (size < 1)
		return 0;
	dlt = links[fuzz_byte(&in) % (sizeof(links) / sizeof(links[0]))];
	(void)decode_link_supported(dlt);
	df = defrag_new();
	if (in.n > 0 && in.p[0] == 0xff) {
		/* A copy of exactly the frame's bytes, so reading past it is caught. */
		uint8_t *frame = g_memdup2(in.p + 1, in.n - 1);
		decode_one(df, dlt, frame, in.n - 1, in.n - 1, ts, 0);
		g_free(frame);
		in.n = 0;
	}
	while (in.n > 0) {
		size_t caplen = fuzz_byte(&in);
		size_t cut;
		uint8_t *frame;

		caplen |= (size_t)fuzz_byte(&in) << 8;
		cut = fuzz_byte(&in);
		if (caplen > in.n)
			caplen = in.n;
		frame = g_memdup2(in.p, caplen);
		decode_one(df, dlt, frame, caplen, caplen + cut, ts, 0);
		g_free(frame);
		in.p += caplen;
		in.n -= caplen;
		ts.sec += cut & 0x0f; /* fragments may time out */
	}
	defrag_free(df);
	return 0;
}
