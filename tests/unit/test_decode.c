/* test_decode.c - link, IP and TCP header decoding: every link type, and every way a frame can lie. */
#include <string.h>

#include <pcap/dlt.h>

#include "decode.h"
#include "testlib.h"

/* IPv4 + TCP, 4 payload bytes "USER": 192.0.2.10:40000 -> 192.0.2.1:110. */
static const uint8_t ip4_tcp[] = {
    0x45,
    0x00,
    0x00,
    0x2c,
    0x00,
    0x01,
    0x00,
    0x00,
    0x40,
    0x06,
    0x00,
    0x00,
    192,
    0,
    2,
    10,
    192,
    0,
    2,
    1,
    0x9c,
    0x40,
    0x00,
    0x6e,
    0x00,
    0x00,
    0x10,
    0x00,
    0x00,
    0x00,
    0x20,
    0x00,
    0x50,
    0x18,
    0xff,
    0xff,
    0x00,
    0x00,
    0x00,
    0x00,
    'U',
    'S',
    'E',
    'R',
};

/* IPv6 + TCP: 2001:db8::1:40000 -> 2001:db8::2:110, payload "QUIT". */
static uint8_t ip6_tcp[40 + 20 + 4];

static void
build_ip6(void)
{
	uint8_t *p = ip6_tcp;

	memset(p, 0, sizeof(ip6_tcp));
	p[0] = 0x60;
	p[5] = 24; /* payload length */
	p[6] = 6;  /* TCP */
	p[7] = 64;
	p[8] = 0x20, p[9] = 0x01, p[10] = 0x0d, p[11] = 0xb8, p[23] = 1;
	p[24] = 0x20, p[25] = 0x01, p[26] = 0x0d, p[27] = 0xb8, p[39] = 2;
	memcpy(p + 40, ip4_tcp + 20, 20);
	memcpy(p + 60, "QUIT", 4);
}

static size_t
frame(uint8_t *out, const uint8_t *hdr, size_t hlen, const uint8_t *ip, size_t iplen)
{
	memcpy(out, hdr, hlen);
	memcpy(out + hlen, ip, iplen);
	return hlen + iplen;
}

static void
check_ok4(int dlt, const uint8_t *f, size_t n, const char *what)
{
	struct segment seg;
	char why[128];
	enum decode_rc rc = decode_frame(dlt, f, n, n, &seg, why, sizeof(why));

	if (rc != DECODE_OK)
		fprintf(stderr, "%s: %s (%s)\n", what, decode_rc_name(rc), why);
	CHECK_EQ_U(rc, DECODE_OK);
	CHECK_EQ_U(seg.ip_version, 4);
	CHECK_EQ_U(seg.src.port, 40000);
	CHECK_EQ_U(seg.dst.port, 110);
	CHECK_EQ_U(seg.seq, 0x1000);
	CHECK_EQ_U(seg.ack, 0x2000);
	CHECK_EQ_U(seg.flags, 0x18);
	CHECK_EQ_U(seg.payload_len, 4);
	CHECK_EQ_U(seg.payload_caplen, 4);
	CHECK(memcmp(seg.payload, "USER", 4) == 0);
	CHECK(seg.dst.ip.bytes[3] == 1 && seg.src.ip.bytes[3] == 10);
}

static void
test_links(void)
{
	uint8_t f[256];
	const uint8_t eth[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00};
	const uint8_t vlan[] = {
	    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00};
	const uint8_t qinq[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x88, 0xa8, 0x00, 0xc8, 0x81,
	    0x00, 0x00, 0x64, 0x08, 0x00};
	const uint8_t sll[16] = {0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00};
	const uint8_t sll2[20] = {0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0};
	const uint8_t null_le[4] = {2, 0, 0, 0}, null_be[4] = {0, 0, 0, 2};
	const uint8_t loop[4] = {0, 0, 0, 2};
	struct segment seg;
	char why[128];
	size_t n;

	check_ok4(DLT_EN10MB, f, frame(f, eth, sizeof(eth), ip4_tcp, sizeof(ip4_tcp)), "ethernet");
	check_ok4(DLT_EN10MB, f, frame(f, vlan, sizeof(vlan), ip4_tcp, sizeof(ip4_tcp)), "802.1Q");
	check_ok4(DLT_EN10MB, f, frame(f, qinq, sizeof(qinq), ip4_tcp, sizeof(ip4_tcp)), "QinQ");
	check_ok4(DLT_LINUX_SLL, f, frame(f, sll, sizeof(sll), ip4_tcp, sizeof(ip4_tcp)), "SLL");
	check_ok4(276, f, frame(f, sll2, sizeof(sll2), ip4_tcp, sizeof(ip4_tcp)), "SLL2");
	check_ok4(DLT_NULL, f, frame(f, null_le, 4, ip4_tcp, sizeof(ip4_tcp)), "NULL le");
	check_ok4(DLT_NULL, f, frame(f, null_be, 4, ip4_tcp, sizeof(ip4_tcp)), "NULL be");
	check_ok4(DLT_LOOP, f, frame(f, loop, 4, ip4_tcp, sizeof(ip4_tcp)), "LOOP");
	check_ok4(DLT_RAW, ip4_tcp, sizeof(ip4_tcp), "RAW");
	check_ok4(228, ip4_tcp, sizeof(ip4_tcp), "IPV4");
	/* Ethernet padding after the IP datagram is not payload. */
	n = frame(f, eth, sizeof(eth), ip4_tcp, sizeof(ip4_tcp));
	memset(f + n, 0xee, 10);
	check_ok4(DLT_EN10MB, f, n + 10, "ethernet + padding");
	/* IPv6 over Ethernet and raw. */
	build_ip6();
	{
		uint8_t e6[14];
		memcpy(e6, eth, 12);
		e6[12] = 0x86, e6[13] = 0xdd;
		n = frame(f, e6, 14, ip6_tcp, sizeof(ip6_tcp));
		CHECK_EQ_U(decode_frame(DLT_EN10MB, f, n, n, &seg, why, sizeof(why)), DECODE_OK);
		CHECK_EQ_U(seg.ip_version, 6);
		CHECK_EQ_U(seg.payload_len, 4);
		CHECK(memcmp(seg.payload, "QUIT", 4) == 0);
		CHECK(seg.src.ip.family == 6 && seg.src.ip.bytes[15] == 1 &&
		    seg.src.ip.bytes[0] == 0x20);
	}
	CHECK_EQ_U(
	    decode_frame(229, ip6_tcp, sizeof(ip6_tcp), sizeof(ip6_tcp), &seg, why, sizeof(why)),
	    DECODE_OK);
	CHECK_EQ_U(decode_frame(
	               DLT_RAW, ip6_tcp, sizeof(ip6_tcp), sizeof(ip6_tcp), &seg, why, sizeof(why)),
	    DECODE_OK);
	/* Not IP, unsupported link. */
	n = frame(f, eth, sizeof(eth), ip4_tcp, sizeof(ip4_tcp));
	f[12] = 0x08, f[13] = 0x06; /* ARP */
	CHECK_EQ_U(decode_frame(DLT_EN10MB, f, n, n, &seg, why, sizeof(why)), DECODE_NOT_IP);
	CHECK_EQ_U(decode_frame(147, f, n, n, &seg, why, sizeof(why)), DECODE_UNSUPPORTED_LINK);
	CHECK(!decode_link_supported(147));
}

static void
test_lies(void)
{
	uint8_t p[sizeof(ip4_tcp)];
	struct segment seg;
	char why[128];
	size_t cut;

	/* A snaplen cut inside the headers is TRUNCATED, never a read past the end. */
	for (cut = 0; cut < 40; cut++)
		CHECK_EQ_U(
		    decode_frame(DLT_RAW, ip4_tcp, cut, sizeof(ip4_tcp), &seg, why, sizeof(why)),
		    DECODE_TRUNCATED);
	/* A frame that short on the wire: inside the IP header truncated, after it the IP length lies. */
	for (cut = 0; cut < 40; cut++)
		CHECK_EQ_U(decode_frame(DLT_RAW, ip4_tcp, cut, cut, &seg, why, sizeof(why)),
		    cut < 20 ? DECODE_TRUNCATED : DECODE_MALFORMED);
	/* Cut in the payload by the snapshot length: OK, payload partly captured. */
	CHECK_EQ_U(
	    decode_frame(DLT_RAW, ip4_tcp, 42, sizeof(ip4_tcp), &seg, why, sizeof(why)), DECODE_OK);
	CHECK_EQ_U(seg.payload_len, 4);
	CHECK_EQ_U(seg.payload_caplen, 2);
	/* The same shortness without a snaplen cut: the IP length lies. */
	CHECK_EQ_U(
	    decode_frame(DLT_RAW, ip4_tcp, 42, 42, &seg, why, sizeof(why)), DECODE_MALFORMED);
	memcpy(p, ip4_tcp, sizeof(p));
	p[0] = 0x44; /* IHL 4 */
	CHECK_EQ_U(decode_frame(DLT_RAW, p, sizeof(p), sizeof(p), &seg, why, sizeof(why)),
	    DECODE_MALFORMED);
	memcpy(p, ip4_tcp, sizeof(p));
	p[32] = 0x30; /* data offset 3 */
	CHECK_EQ_U(decode_frame(DLT_RAW, p, sizeof(p), sizeof(p), &seg, why, sizeof(why)),
	    DECODE_MALFORMED);
	memcpy(p, ip4_tcp, sizeof(p));
	p[32] = 0xf0; /* data offset 15: 60 bytes of header, frame has 24 */
	CHECK(decode_frame(DLT_RAW, p, sizeof(p), sizeof(p), &seg, why, sizeof(why)) != DECODE_OK);
	memcpy(p, ip4_tcp, sizeof(p));
	p[2] = 0, p[3] = 10; /* total length below the header */
	CHECK_EQ_U(decode_frame(DLT_RAW, p, sizeof(p), sizeof(p), &seg, why, sizeof(why)),
	    DECODE_MALFORMED);
	memcpy(p, ip4_tcp, sizeof(p));
	p[6] = 0x20; /* more fragments */
	CHECK_EQ_U(decode_frame(DLT_RAW, p, sizeof(p), sizeof(p), &seg, why, sizeof(why)),
	    DECODE_FRAGMENT);
	memcpy(p, ip4_tcp, sizeof(p));
	p[9] = 17; /* UDP, not L2TP */
	CHECK_EQ_U(
	    decode_frame(DLT_RAW, p, sizeof(p), sizeof(p), &seg, why, sizeof(why)), DECODE_NOT_TCP);
	memcpy(p, ip4_tcp, sizeof(p));
	p[2] = 0, p[3] = 0; /* total length 0 (segmentation offload): as captured */
	CHECK_EQ_U(
	    decode_frame(DLT_RAW, p, sizeof(p), sizeof(p), &seg, why, sizeof(why)), DECODE_OK);
	CHECK_EQ_U(seg.payload_len, 4);
	p[0] = 0x75; /* version 7 */
	CHECK_EQ_U(decode_frame(DLT_RAW, p, sizeof(p), sizeof(p), &seg, why, sizeof(why)),
	    DECODE_MALFORMED);
}

/* L2TPv2 data over UDP 1701 carrying PPP carrying the IPv4/TCP packet. */
static void
test_l2tp(void)
{
	uint8_t f[256];
	uint8_t *u;
	struct segment seg;
	char why[128];
	size_t n;

	memset(f, 0, sizeof(f));
	f[0] = 0x45;
	f[9] = 17;
	f[12] = 10, f[15] = 1, f[16] = 10, f[19] = 2;
	u = f + 20;
	u[0] = 0x06, u[1] = 0xa5, u[2] = 0x06, u[3] = 0xa5;     /* 1701 -> 1701 */
	u[8] = 0x40, u[9] = 0x02;                               /* L bit, version 2 */
	u[10] = 0, u[11] = 0;                                   /* length (not checked) */
	u[12] = 0, u[13] = 1, u[14] = 0, u[15] = 1;             /* tunnel, session */
	u[16] = 0xff, u[17] = 0x03, u[18] = 0x00, u[19] = 0x21; /* PPP, IPv4 */
	memcpy(u + 20, ip4_tcp, sizeof(ip4_tcp));
	n = 20 + 20 + sizeof(ip4_tcp);
	f[2] = (uint8_t)(n >> 8), f[3] = (uint8_t)n;
	CHECK_EQ_U(decode_frame(DLT_RAW, f, n, n, &seg, why, sizeof(why)), DECODE_OK);
	CHECK_EQ_U(seg.dst.port, 110);
	CHECK(seg.src.ip.bytes[0] == 192); /* the inner addresses */
	u[8] = 0xc0;                       /* a control message: not followed */
	CHECK_EQ_U(decode_frame(DLT_RAW, f, n, n, &seg, why, sizeof(why)), DECODE_NOT_TCP);
}

/* Every cut inside the headers of Ethernet + VLAN + IPv6 + TCP: TRUNCATED, naming that header. */
static void
test_cuts(void)
{
	static const uint8_t eth_vlan[] = {
	    2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0x00, 0x00, 0x05, 0x86, 0xdd};
	uint8_t f[sizeof(eth_vlan) + sizeof(ip6_tcp)];
	size_t n, cut;
	struct segment seg;
	char why[128];
	const char *want;

	build_ip6();
	n = frame(f, eth_vlan, sizeof(eth_vlan), ip6_tcp, sizeof(ip6_tcp));
	for (cut = 0; cut < 18 + 40 + 20; cut++) {
		want = cut < 18 ? "frame ends inside the Ethernet header"
		    : cut < 58  ? "frame ends inside the IPv6 header"
		                : "frame ends inside the TCP header";
		CHECK_EQ_U(
		    decode_frame(DLT_EN10MB, f, cut, n, &seg, why, sizeof(why)), DECODE_TRUNCATED);
		CHECK_STR(why, want);
	}
	CHECK_EQ_U(decode_frame(DLT_EN10MB, f, n, n, &seg, why, sizeof(why)), DECODE_OK);
	CHECK(seg.ip_version == 6 && seg.src.ip.bytes[15] == 1 && seg.dst.ip.bytes[15] == 2);
	CHECK(seg.src.port == 40000 && seg.dst.port == 110 && seg.payload_len == 4);
	CHECK(memcmp(seg.payload, "QUIT", 4) == 0);
}

int
main(void)
{
	test_links();
	test_lies();
	test_l2tp();
	test_cuts();
	return tl_done();
}
