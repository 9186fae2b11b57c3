/*
 * mkpcap - build a pcap file from a readable text script (*.pfs).
 *
 * Usage:  mkpcap [-v] SCRIPT.pfs OUT.pcap
 *         -v   list every written frame on stderr
 *
 * Build:  cc -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -O2 -o mkpcap mkpcap.c \
 *             $(pkg-config --cflags --libs libpcap)
 *
 * The output depends only on the script: timestamps come from the script,
 * never from the clock, so the same script always gives the same bytes
 * (on hosts of the same byte order: the pcap header and DLT_NULL family
 * are written in host order, as libpcap does).
 *
 * ====================================================================
 * SCRIPT LANGUAGE
 * ====================================================================
 * One statement per line.  '#' starts a comment (outside strings).  A line
 * whose last token is a lone '\' continues on the next line (a comment line
 * in between ends the statement).  Numbers are decimal or 0x-hex; times are
 * seconds with up to 6 decimals.  Errors name the file and line and stop.
 *
 * Strings are C-like: "USER alice\r\n" with escapes \r \n \t \0 \\ \" \'
 * \a \b \f \v \e and \xHH (exactly two hex digits).  Any byte may appear.
 *
 * --- File settings (before the first frame) -------------------------
 *   link ethernet [vlan ID] [qinq OUTER INNER] [minframe N]
 *        vlan: one 802.1Q tag (0x8100); qinq: 0x88a8 tag OUTER then a
 *        0x8100 tag INNER; minframe: pad frames with zeros to N octets
 *        (60 = Ethernet minimum without FCS)
 *   link sll                     Linux cooked v1 (DLT 113)
 *   link sll2                    Linux cooked v2 (DLT 276, ifindex 2)
 *        The capture is taken on the server: packet type 0 (to us) for
 *        frames from the client, 4 (outgoing) for frames from the server.
 *        MAC addresses (Ethernet, SLL) are 02:00 + the last 4 octets of the
 *        IP address.
 *   link null [inet6 24|28|30] [swapped]
 *        DLT_NULL: 4-byte family in host order (2 for IPv4, the inet6
 *        value for IPv6, default 30); `swapped` writes it in the other
 *        byte order (a capture from a host of the other endianness)
 *   link loop [inet6 N]          DLT_LOOP (108): family in network order
 *                                (IPv6 default 24, OpenBSD)
 *   link raw [12|14]             raw IP; without a number the header says
 *                                101 (LINKTYPE_RAW, what libpcap writes for
 *                                DLT_RAW); 12 or 14 patches the header to
 *                                that value as some writers do
 *   link ipv4 | link ipv6        LINKTYPE_IPV4 228 / LINKTYPE_IPV6 229
 *   snaplen N                    file snaplen: every frame is cut to N
 *   time SECONDS                 timestamp of the first frame
 *                                (default 1700000000, 2023-11-14 22:13:20 UTC)
 *   step SECONDS                 default time between frames (0.0001)
 *   mss N                        default split size of long payloads
 *                                (default 1448 for IPv4, 1428 for IPv6)
 *   seed N                       seed of the `bytes N` generator
 *
 * --- Hosts and connections (anywhere) -------------------------------
 *   host NAME ADDRESS            alias, e.g. host srv 192.0.2.1
 *   conn NAME CLIENT:PORT [->] SERVER:PORT [options]
 *        endpoints: 192.0.2.10:50000, [2001:db8::1]:110, alias:50000
 *        options: isn CLIENT_ISN SERVER_ISN   (default derived from the
 *                                               conn's position)
 *                 win N | cwin N | swin N     window (default 65535)
 *                 mss N      split size for this conn
 *                 synmss N   MSS option value in SYN/SYN-ACK (1460/1440)
 *                 ts         TCP timestamps option on every segment
 *                 ttl N      IPv4 TTL / IPv6 hop limit (default 64)
 *   A conn may be redefined later under another name with the same
 *   4-tuple (port reuse); its state starts afresh.
 *
 * --- Time --------------------------------------------------------------
 *   +SECONDS   advance the clock; alone on a line or before a frame line
 *   @SECONDS   set the clock to (start + SECONDS)
 *   Each frame without such a prefix is `step` after the previous one.
 *   A prefix on a `hold` line moves the clock although nothing is written.
 *
 * --- TCP segments ------------------------------------------------------
 *   CONN syn    [items]   client SYN (seq = client ISN, no ACK flag)
 *   CONN synack [items]   server SYN+ACK
 *   CONN ack    [items]   client pure ACK (the third handshake segment)
 *   CONN client [items]   a segment from the client   (alias: c, >)
 *   CONN server [items]   a segment from the server   (alias: s, <)
 *
 *   Payload items (concatenated in order):
 *     "string"                      escaped bytes
 *     hex "16 03 01 00 2a"          hex bytes (spaces and ':' ignored)
 *     repeat "x" 5000               a string (or hex "..") N times
 *     body N lines of M chars       N CRLF lines of M printable chars each
 *                                   ("000001 " line number then letters;
 *                                   no line starts with '.'); each line is
 *                                   M+2 octets
 *     bytes N                       N pseudo-random bytes (see `seed`)
 *
 *   Flags: by default every segment has ACK, and the last segment of a
 *   line with payload has PSH.  Items:
 *     fin          FIN on the last segment     rst   RST (with ACK)
 *     syn          SYN, no ACK                 psh   PSH on every segment
 *     urg N        URG flag, urgent pointer N
 *     flags LETTERS  exactly these flags: F S R P A U E C
 *                  (e.g. flags R, flags FPA); F stays on the last
 *                  segment, S on the first
 *   Sequence numbers: tracked per side.  Each side starts at ISN+1 (so a
 *   capture may start without a handshake); SYN and FIN count one.  A
 *   segment's ack is the peer's next sequence number.
 *     seq N        relative seq (ISN + N; the first data octet is 1)
 *     rawseq N     absolute seq
 *     ack N        relative ack (peer ISN + N); rawack N: absolute
 *     ack same     the ack of this side's previous segment (duplicate ACK)
 *     skip N       leave a hole of N octets before this segment
 *     The side's next seq becomes max(next, end of this segment), so an
 *     explicit old seq (retransmission, overlap) does not move it back.
 *   Other items:
 *     win N        window of this segment
 *     opts LIST    TCP options instead of the defaults, comma-separated:
 *                  mss=N, sackok, ts (auto values), ts=VAL/ECR, wscale=N,
 *                  nop, eol, sack=L-R (raw seq); `opts none` for none.
 *                  Padded with EOL to a multiple of 4.  Defaults: SYN and
 *                  SYN-ACK: mss,nop,nop,sackok (with ts: mss,sackok,ts);
 *                  others: none (with ts: nop,nop,ts).
 *                  Auto ts: TSval = base + elapsed ms, TSecr = last TSval
 *                  sent by the peer.
 *     mss N        split this payload into N-octet segments (0 = never)
 *     split A,B,.. first segments of exactly A, B, .. octets; the rest
 *                  is split by mss
 *     gap SECONDS  time between the segments of a split payload
 *     ackevery N   the peer sends a pure ACK after every N segments of
 *                  this line and after the last one
 *     as LABEL     write and remember the segments under LABEL
 *     hold LABEL   build (sequence numbers advance) but do not write;
 *                  never emitted = a segment missing from the capture
 *     stray        the segment does not advance this side's sequence
 *                  state (junk or malformed copies at the expected seq)
 *
 *   emit LABEL [K]   write the segments remembered under LABEL again, or
 *                    for the first time if held, byte for byte (K: only
 *                    the K-th segment, 1-based).  Retransmissions and
 *                    out-of-order delivery.
 *
 * --- Other frames ----------------------------------------------------
 *   udp SRC:PORT DST:PORT PAYLOAD [modifiers]
 *   ip SRC DST proto N PAYLOAD [modifiers]        bare IP packet
 *   arp request|reply SENDER_IP TARGET_IP          ethernet/sll only
 *   frame PAYLOAD                                  raw link-layer bytes
 *
 * --- Modifiers for breaking frames (TCP, udp, ip lines) ----------------
 *   Checksums are correct unless one of these says otherwise:
 *     ipsum bad|zero|0xHHHH      IPv4 header checksum
 *     tcpsum bad|zero|0xHHHH     TCP (or UDP) checksum; bad = right ^ 0x00ff
 *     snaplen N                  captured length N (wire length unchanged)
 *     cut ip N                   IP packet is only N octets on the wire
 *     cut tcp N                  IP header + N octets of the TCP header
 *     cut frame N                frame is only N octets on the wire
 *     ihl N                      IPv4 header length field (words)
 *     doff N                     TCP data offset field (words)
 *     iplen N | +N | -N          IPv4 total length / IPv6 payload length
 *     ttl N  ipid N  df  nodf    IPv4 header fields (TCP default: DF set)
 *     mf  fragoff N              IPv4 More-Fragments, offset in octets
 *                                (multiple of 8)
 *     family N                   DLT_NULL/DLT_LOOP family of this frame
 *     trailer PAYLOAD            bytes after the IP packet (like padding)
 *   Checksums are computed over the whole packet before any cut, after
 *   iplen/ihl/doff are set.
 *
 * Example:
 *   link ethernet
 *   conn c1 192.0.2.10:50000 -> 192.0.2.1:110 isn 1000 5000
 *   c1 syn
 *   c1 synack
 *   c1 ack
 *   +0.010 c1 server "+OK POP3 server ready\r\n"
 *   c1 client "USER alice\r\n"
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_RST	0x04
#define TH_PSH	0x08
#define TH_ACK	0x10
#define TH_URG	0x20
#define TH_ECE	0x40
#define TH_CWR	0x80

#define MAX_FRAME	(256 * 1024)

/* ---------------------------------------------------------------- util */

static const char *g_file = "-";
static int g_line;

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mkpcap: %s:%d: ", g_file, g_line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "mkpcap: out of memory\n");
		exit(1);
	}
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "mkpcap: out of memory\n");
		exit(1);
	}
	return p;
}

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);

	memcpy(p, s, n);
	return p;
}

struct buf {
	uint8_t	*p;
	size_t	 len, cap;
};

static void
buf_add(struct buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void
buf_u8(struct buf *b, unsigned v)
{
	uint8_t c = (uint8_t)v;

	buf_add(b, &c, 1);
}

static void
buf_be16(struct buf *b, unsigned v)
{
	uint8_t c[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	buf_add(b, c, 2);
}

static void
buf_be32(struct buf *b, uint32_t v)
{
	uint8_t c[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	buf_add(b, c, 4);
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static void
put_be16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ------------------------------------------------------------- tokens */

enum { T_WORD, T_STR };

struct tok {
	int	 type;
	char	*text;		/* T_WORD: NUL-terminated */
	uint8_t	*bytes;		/* T_STR: decoded bytes */
	size_t	 len;
};

struct toks {
	struct tok	*v;
	int		 n, cap, i;
};

static void
toks_push(struct toks *t, struct tok k)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = xrealloc(t->v, (size_t)t->cap * sizeof(*t->v));
	}
	t->v[t->n++] = k;
}

static void
toks_clear(struct toks *t)
{
	for (int i = 0; i < t->n; i++) {
		free(t->v[i].text);
		free(t->v[i].bytes);
	}
	t->n = 0;
	t->i = 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Tokenize one physical line into t.  Returns 1 if the line ends with a
 * continuation backslash.
 */
static int
tokenize(const char *s, struct toks *t)
{
	int cont = 0;

	while (*s) {
		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (*s == '#')
			break;
		cont = 0;
		if (*s == '"') {
			struct buf b = { 0 };
			struct tok k = { T_STR, NULL, NULL, 0 };

			s++;
			while (*s && *s != '"') {
				int c = (unsigned char)*s++;

				if (c != '\\') {
					buf_u8(&b, (unsigned)c);
					continue;
				}
				c = (unsigned char)*s++;
				switch (c) {
				case 'r': buf_u8(&b, '\r'); break;
				case 'n': buf_u8(&b, '\n'); break;
				case 't': buf_u8(&b, '\t'); break;
				case '0': buf_u8(&b, 0); break;
				case 'a': buf_u8(&b, 7); break;
				case 'b': buf_u8(&b, 8); break;
				case 'f': buf_u8(&b, 12); break;
				case 'v': buf_u8(&b, 11); break;
				case 'e': buf_u8(&b, 27); break;
				case '\\': buf_u8(&b, '\\'); break;
				case '"': buf_u8(&b, '"'); break;
				case '\'': buf_u8(&b, '\''); break;
				case 'x': {
					int h1 = hexval((unsigned char)s[0]);
					int h2 = h1 < 0 ? -1 :
					    hexval((unsigned char)s[1]);

					if (h1 < 0 || h2 < 0)
						die("\\x needs two hex digits");
					buf_u8(&b, (unsigned)(h1 * 16 + h2));
					s += 2;
					break;
				}
				case 0:
					die("unterminated string");
					break;
				default:
					die("unknown escape \\%c", c);
				}
			}
			if (*s != '"')
				die("unterminated string");
			s++;
			k.bytes = b.p;
			k.len = b.len;
			toks_push(t, k);
			continue;
		}
		{
			const char *e = s;
			struct tok k = { T_WORD, NULL, NULL, 0 };

			while (*e && !isspace((unsigned char)*e) && *e != '"' &&
			    *e != '#')
				e++;
			k.len = (size_t)(e - s);
			k.text = xmalloc(k.len + 1);
			memcpy(k.text, s, k.len);
			k.text[k.len] = 0;
			if (strcmp(k.text, "\\") == 0) {
				free(k.text);
				cont = 1;
			} else
				toks_push(t, k);
			s = e;
		}
	}
	return cont;
}

static int
at_end(struct toks *t)
{
	return t->i >= t->n;
}

static struct tok *
peek(struct toks *t)
{
	return t->i < t->n ? &t->v[t->i] : NULL;
}

static int
peek_word(struct toks *t, const char *w)
{
	struct tok *k = peek(t);

	return k && k->type == T_WORD && strcmp(k->text, w) == 0;
}

static const char *
next_word(struct toks *t, const char *what)
{
	struct tok *k = peek(t);

	if (k == NULL || k->type != T_WORD)
		die("expected %s", what);
	t->i++;
	return k->text;
}

static int
accept_word(struct toks *t, const char *w)
{
	if (peek_word(t, w)) {
		t->i++;
		return 1;
	}
	return 0;
}

static long long
parse_int(const char *s, const char *what)
{
	char *e;
	long long v;

	errno = 0;
	v = strtoll(s, &e, 0);
	if (errno || e == s || *e)
		die("bad %s '%s'", what, s);
	return v;
}

static long long
next_int(struct toks *t, const char *what, long long lo, long long hi)
{
	long long v = parse_int(next_word(t, what), what);

	if (v < lo || v > hi)
		die("%s %lld out of range %lld..%lld", what, v, lo, hi);
	return v;
}

/* Seconds with up to 6 decimals -> microseconds. */
static int64_t
parse_secs(const char *s)
{
	int64_t v = 0, frac = 0;
	int nd = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p) && *p != '.')
		die("bad time '%s'", s);
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (*p - '0');
		if (v > INT64_MAX / 10000000)
			die("time '%s' too large", s);
		p++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (nd == 6)
				die("time '%s': at most 6 decimals", s);
			frac = frac * 10 + (*p - '0');
			nd++;
			p++;
		}
	}
	if (*p)
		die("bad time '%s'", s);
	while (nd++ < 6)
		frac *= 10;
	return v * 1000000 + frac;
}

/* ------------------------------------------------------------ globals */

enum link {
	L_NONE, L_ETH, L_SLL, L_SLL2, L_NULL, L_LOOP, L_RAW, L_IPV4, L_IPV6
};

static struct {
	enum link	link;
	int		vlan, qinq_outer, qinq_inner;	/* -1 = none */
	int		minframe;
	int		null_inet6, null_swapped;
	int		raw_hdr;	/* 0 = 101; 12 or 14: patch header */
	int		snaplen;
	int64_t		start, now, step;
	int		first_frame, time_set;
	int		mss;		/* 0 = by family */
	uint64_t	seed;
	int		verbose;
	const char	*out;
	pcap_t		*pd;
	pcap_dumper_t	*dumper;
	unsigned long	nframes;
} G;

struct addr {
	int	fam;		/* 4 or 6 */
	uint8_t	a[16];
};

struct host {
	char		*name;
	struct addr	 addr;
};

static struct host	*hosts;
static int		 nhosts;

struct side {
	uint32_t	isn, nxt;
	uint16_t	ipid;
	uint32_t	win;
	uint32_t	tsbase, last_tsval;
	uint32_t	last_ack;	/* ack field of the last segment sent */
	uint8_t		mac[6];
};

struct conn {
	char		*name;
	int		 idx;
	struct addr	 addr[2];	/* 0 = client, 1 = server */
	uint16_t	 port[2];
	struct side	 s[2];
	int		 mss, synmss, ts, ttl;
};

static struct conn	**conns;
static int		 nconns;

struct frame {
	uint8_t		*data;
	uint32_t	 len, caplen;
	char		*desc;
};

struct label {
	char		*name;
	struct frame	*f;
	int		 nf;
};

static struct label	*labels;
static int		 nlabels;

/* ------------------------------------------------------------ addresses */

static const char *
addr_str(const struct addr *a, char *out, size_t n)
{
	inet_ntop(a->fam == 4 ? AF_INET : AF_INET6, a->a, out, (socklen_t)n);
	return out;
}

static int
parse_addr(const char *s, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1) {
		a->fam = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		a->fam = 6;
		return 0;
	}
	for (int i = 0; i < nhosts; i++)
		if (strcmp(hosts[i].name, s) == 0) {
			*a = hosts[i].addr;
			return 0;
		}
	return -1;
}

static void
parse_host(const char *s, struct addr *a)
{
	if (parse_addr(s, a) < 0)
		die("unknown host or bad address '%s'", s);
}

/* ADDR:PORT, [V6]:PORT or ALIAS:PORT */
static void
parse_endpoint(const char *s, struct addr *a, uint16_t *port)
{
	char tmp[128];
	const char *colon;
	size_t n;

	if (strlen(s) >= sizeof(tmp))
		die("endpoint too long");
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			die("bad endpoint '%s' (want [v6addr]:port)", s);
		n = (size_t)(rb - s - 1);
		memcpy(tmp, s + 1, n);
		tmp[n] = 0;
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			die("bad endpoint '%s' (want addr:port)", s);
		n = (size_t)(colon - s);
		memcpy(tmp, s, n);
		tmp[n] = 0;
		if (strchr(tmp, ':'))
			die("IPv6 endpoint '%s' needs brackets: [addr]:port", s);
	}
	parse_host(tmp, a);
	{
		long long p = parse_int(colon + 1, "port");

		if (p < 0 || p > 65535)
			die("port out of range in '%s'", s);
		*port = (uint16_t)p;
	}
}

static void
mac_of(const struct addr *a, uint8_t mac[6])
{
	const uint8_t *last = a->fam == 4 ? a->a : a->a + 12;

	mac[0] = 0x02;		/* locally administered */
	mac[1] = 0x00;
	memcpy(mac + 2, last, 4);
}

/* ------------------------------------------------------------ checksum */

static uint32_t
sum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static uint16_t
sum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)(~sum & 0xffff);
}

static uint32_t
pseudo_sum(const struct addr *src, const struct addr *dst, unsigned proto,
    size_t l4len)
{
	uint8_t ph[40];
	size_t n;

	if (src->fam == 4) {
		memcpy(ph, src->a, 4);
		memcpy(ph + 4, dst->a, 4);
		ph[8] = 0;
		ph[9] = (uint8_t)proto;
		put_be16(ph + 10, (unsigned)l4len);
		n = 12;
	} else {
		memcpy(ph, src->a, 16);
		memcpy(ph + 16, dst->a, 16);
		ph[32] = (uint8_t)(l4len >> 24);
		ph[33] = (uint8_t)(l4len >> 16);
		ph[34] = (uint8_t)(l4len >> 8);
		ph[35] = (uint8_t)l4len;
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = (uint8_t)proto;
		n = 40;
	}
	return sum_add(0, ph, n);
}

/* ------------------------------------------------------------ modifiers */

enum { SUM_OK, SUM_BAD, SUM_ZERO, SUM_VAL };
enum { CUT_NONE, CUT_IP, CUT_TCP, CUT_FRAME };

struct mods {
	int		snaplen;		/* -1 */
	int		cut_kind, cut_n;
	int		ihl, doff;		/* -1 */
	int		iplen_mode;		/* 0 none, 1 abs, 2 rel */
	long		iplen;
	int		ipsum, tcpsum;
	unsigned	ipsum_val, tcpsum_val;
	int		ttl, ipid, df, mf, fragoff, family;	/* -1 */
	struct buf	trailer;
};

static void
mods_init(struct mods *m)
{
	memset(m, 0, sizeof(*m));
	m->snaplen = m->ihl = m->doff = -1;
	m->ttl = m->ipid = m->df = m->fragoff = m->family = -1;
}

static int parse_payload_item(struct toks *t, struct buf *b);

static void
parse_sum(struct toks *t, int *mode, unsigned *val)
{
	const char *w = next_word(t, "bad|zero|0xHHHH");

	if (strcmp(w, "bad") == 0)
		*mode = SUM_BAD;
	else if (strcmp(w, "zero") == 0)
		*mode = SUM_ZERO;
	else {
		long long v = parse_int(w, "checksum");

		if (v < 0 || v > 0xffff)
			die("checksum out of range");
		*mode = SUM_VAL;
		*val = (unsigned)v;
	}
}

/* Returns 1 if the current token was a modifier (and consumes it). */
static int
parse_mod(struct toks *t, struct mods *m)
{
	struct tok *k = peek(t);
	const char *w;

	if (k == NULL || k->type != T_WORD)
		return 0;
	w = k->text;
	if (strcmp(w, "snaplen") == 0) {
		t->i++;
		m->snaplen = (int)next_int(t, "snaplen", 0, MAX_FRAME);
	} else if (strcmp(w, "cut") == 0) {
		const char *kind;

		t->i++;
		kind = next_word(t, "ip|tcp|frame");
		if (strcmp(kind, "ip") == 0)
			m->cut_kind = CUT_IP;
		else if (strcmp(kind, "tcp") == 0)
			m->cut_kind = CUT_TCP;
		else if (strcmp(kind, "frame") == 0)
			m->cut_kind = CUT_FRAME;
		else
			die("cut ip|tcp|frame N");
		m->cut_n = (int)next_int(t, "cut length", 0, MAX_FRAME);
	} else if (strcmp(w, "ihl") == 0) {
		t->i++;
		m->ihl = (int)next_int(t, "ihl", 0, 15);
	} else if (strcmp(w, "doff") == 0) {
		t->i++;
		m->doff = (int)next_int(t, "doff", 0, 15);
	} else if (strcmp(w, "iplen") == 0) {
		const char *v;

		t->i++;
		v = next_word(t, "iplen value");
		if (v[0] == '+' || v[0] == '-') {
			m->iplen_mode = 2;
			m->iplen = (long)parse_int(v, "iplen");
		} else {
			m->iplen_mode = 1;
			m->iplen = (long)parse_int(v, "iplen");
			if (m->iplen < 0 || m->iplen > 65535)
				die("iplen out of range");
		}
	} else if (strcmp(w, "ipsum") == 0) {
		t->i++;
		parse_sum(t, &m->ipsum, &m->ipsum_val);
	} else if (strcmp(w, "tcpsum") == 0 || strcmp(w, "udpsum") == 0 ||
	    strcmp(w, "l4sum") == 0) {
		t->i++;
		parse_sum(t, &m->tcpsum, &m->tcpsum_val);
	} else if (strcmp(w, "ttl") == 0) {
		t->i++;
		m->ttl = (int)next_int(t, "ttl", 0, 255);
	} else if (strcmp(w, "ipid") == 0) {
		t->i++;
		m->ipid = (int)next_int(t, "ipid", 0, 65535);
	} else if (strcmp(w, "df") == 0) {
		t->i++;
		m->df = 1;
	} else if (strcmp(w, "nodf") == 0) {
		t->i++;
		m->df = 0;
	} else if (strcmp(w, "mf") == 0) {
		t->i++;
		m->mf = 1;
	} else if (strcmp(w, "fragoff") == 0) {
		t->i++;
		m->fragoff = (int)next_int(t, "fragoff", 0, 65528);
		if (m->fragoff % 8)
			die("fragoff must be a multiple of 8");
	} else if (strcmp(w, "family") == 0) {
		t->i++;
		m->family = (int)next_int(t, "family", 0, 0x7fffffff);
	} else if (strcmp(w, "trailer") == 0) {
		t->i++;
		if (!parse_payload_item(t, &m->trailer))
			die("trailer needs a payload");
	} else
		return 0;
	return 1;
}

/* ------------------------------------------------------------- payload */

static uint64_t g_rng;

static uint8_t
rng_byte(void)
{
	/* xorshift64* */
	g_rng ^= g_rng >> 12;
	g_rng ^= g_rng << 25;
	g_rng ^= g_rng >> 27;
	return (uint8_t)((g_rng * 2685821657736338717ULL) >> 56);
}

static void
gen_body(struct buf *b, long long nlines, long long width)
{
	static const char pat[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	const size_t plen = sizeof(pat) - 1;
	char num[16];

	for (long long i = 1; i <= nlines; i++) {
		long long col = 0;

		if (width >= 8) {
			snprintf(num, sizeof(num), "%06lld ", i % 1000000);
			buf_add(b, num, 7);
			col = 7;
		}
		for (; col < width; col++)
			buf_u8(b, (unsigned char)pat[(size_t)(i + col) % plen]);
		buf_add(b, "\r\n", 2);
	}
}

static void
parse_hex(const struct tok *k, struct buf *b)
{
	int hi = -1;

	for (size_t i = 0; i < k->len; i++) {
		int c = k->bytes[i];
		int v;

		if (isspace(c) || c == ':' || c == '-')
			continue;
		v = hexval(c);
		if (v < 0)
			die("bad hex digit '%c'", c);
		if (hi < 0)
			hi = v;
		else {
			buf_u8(b, (unsigned)(hi * 16 + v));
			hi = -1;
		}
	}
	if (hi >= 0)
		die("odd number of hex digits");
}

/* Returns 1 if a payload item was consumed. */
static int
parse_payload_item(struct toks *t, struct buf *b)
{
	struct tok *k = peek(t);

	if (k == NULL)
		return 0;
	if (k->type == T_STR) {
		buf_add(b, k->bytes, k->len);
		t->i++;
		return 1;
	}
	if (strcmp(k->text, "hex") == 0) {
		t->i++;
		k = peek(t);
		if (k == NULL || k->type != T_STR)
			die("hex needs a \"string\" of hex digits");
		parse_hex(k, b);
		t->i++;
		return 1;
	}
	if (strcmp(k->text, "repeat") == 0) {
		struct buf one = { 0 };
		long long n;

		t->i++;
		k = peek(t);
		if (k == NULL || (k->type != T_STR && !peek_word(t, "hex")))
			die("repeat \"string\" N");
		parse_payload_item(t, &one);
		n = next_int(t, "repeat count", 0, 100000000);
		for (long long i = 0; i < n; i++)
			buf_add(b, one.p, one.len);
		buf_free(&one);
		return 1;
	}
	if (strcmp(k->text, "body") == 0) {
		long long n, m;

		t->i++;
		n = next_int(t, "line count", 0, 10000000);
		if (!accept_word(t, "lines") && !accept_word(t, "line"))
			die("body N lines of M chars");
		if (!accept_word(t, "of"))
			die("body N lines of M chars");
		m = next_int(t, "line width", 0, 100000);
		if (!accept_word(t, "chars") && !accept_word(t, "char"))
			die("body N lines of M chars");
		gen_body(b, n, m);
		return 1;
	}
	if (strcmp(k->text, "bytes") == 0) {
		long long n;

		t->i++;
		n = next_int(t, "byte count", 0, 100000000);
		for (long long i = 0; i < n; i++)
			buf_u8(b, rng_byte());
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------- output */

static int
dlt_of_link(void)
{
	switch (G.link) {
	case L_ETH: return DLT_EN10MB;
	case L_SLL: return DLT_LINUX_SLL;
	case L_SLL2: return 276;
	case L_NULL: return DLT_NULL;
	case L_LOOP: return 108;
	case L_RAW: return DLT_RAW;
	case L_IPV4: return 228;
	case L_IPV6: return 229;
	case L_NONE: break;
	}
	die("no link type given");
	return -1;
}

static void
open_output(void)
{
	if (G.dumper)
		return;
	if (G.link == L_NONE)
		die("`link` must come before the first frame");
	G.pd = pcap_open_dead(dlt_of_link(), G.snaplen);
	if (G.pd == NULL)
		die("pcap_open_dead failed");
	G.dumper = pcap_dump_open(G.pd, G.out);
	if (G.dumper == NULL)
		die("%s", pcap_geterr(G.pd));
}

/* Clock for the next frame: +/@ prefix already applied, or one step. */
static void
tick(void)
{
	if (G.first_frame)
		G.first_frame = 0;
	else if (G.time_set)
		;
	else
		G.now += G.step;
	G.time_set = 0;
}

static void
write_frame(const struct frame *f)
{
	struct pcap_pkthdr h;

	open_output();
	tick();
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = (time_t)(G.now / 1000000);
	h.ts.tv_usec = (suseconds_t)(G.now % 1000000);
	h.len = f->len;
	h.caplen = f->caplen;
	if (G.snaplen > 0 && h.caplen > (uint32_t)G.snaplen)
		h.caplen = (uint32_t)G.snaplen;
	pcap_dump((u_char *)G.dumper, &h, f->data);
	G.nframes++;
	if (G.verbose)
		fprintf(stderr, "%5lu %" PRId64 ".%06" PRId64 " len %u cap %u  %s\n",
		    G.nframes, G.now / 1000000, G.now % 1000000, h.len,
		    h.caplen, f->desc ? f->desc : "");
}

static void
frame_free(struct frame *f)
{
	free(f->data);
	free(f->desc);
	f->data = NULL;
	f->desc = NULL;
}

/* --------------------------------------------------------- link layer */

#define ETH_IPV4	0x0800
#define ETH_IPV6	0x86dd
#define ETH_ARP		0x0806

/*
 * Wrap an L3 packet.  dir: 0 = towards the capture host's peer (client
 * to server), 1 = from the server; used for the SLL packet type (the
 * capture is taken on the server: 0 PACKET_HOST, 4 PACKET_OUTGOING).
 */
static void
wrap_link(struct buf *out, unsigned ethertype, int ipver, const uint8_t src[6],
    const uint8_t dst[6], int from_server, const struct buf *l3,
    const struct mods *m)
{
	uint32_t fam;

	switch (G.link) {
	case L_ETH:
		buf_add(out, dst, 6);
		buf_add(out, src, 6);
		if (G.qinq_outer >= 0) {
			buf_be16(out, 0x88a8);
			buf_be16(out, (unsigned)G.qinq_outer);
			buf_be16(out, 0x8100);
			buf_be16(out, (unsigned)G.qinq_inner);
		} else if (G.vlan >= 0) {
			buf_be16(out, 0x8100);
			buf_be16(out, (unsigned)G.vlan);
		}
		buf_be16(out, ethertype);
		break;
	case L_SLL:
		buf_be16(out, from_server ? 4 : 0);
		buf_be16(out, 1);		/* ARPHRD_ETHER */
		buf_be16(out, 6);
		buf_add(out, src, 6);
		buf_be16(out, 0);
		buf_be16(out, ethertype);
		break;
	case L_SLL2:
		buf_be16(out, ethertype);
		buf_be16(out, 0);		/* reserved */
		buf_be32(out, 2);		/* interface index */
		buf_be16(out, 1);		/* ARPHRD_ETHER */
		buf_u8(out, from_server ? 4 : 0);
		buf_u8(out, 6);
		buf_add(out, src, 6);
		buf_be16(out, 0);
		break;
	case L_NULL:
	case L_LOOP:
		if (ipver != 4 && ipver != 6)
			die("this link type carries only IPv4/IPv6");
		fam = ipver == 4 ? 2u : (uint32_t)G.null_inet6;
		if (m && m->family >= 0)
			fam = (uint32_t)m->family;
		if (G.link == L_LOOP)
			buf_be32(out, fam);
		else {
			uint32_t v = fam;
			uint8_t b[4];

			memcpy(b, &v, 4);	/* host order */
			if (G.null_swapped) {
				uint8_t x = b[0];

				b[0] = b[3];
				b[3] = x;
				x = b[1];
				b[1] = b[2];
				b[2] = x;
			}
			buf_add(out, b, 4);
		}
		break;
	case L_RAW:
		if (ipver != 4 && ipver != 6)
			die("raw link carries only IP");
		break;
	case L_IPV4:
		if (ipver != 4)
			die("link ipv4 carries only IPv4");
		break;
	case L_IPV6:
		if (ipver != 6)
			die("link ipv6 carries only IPv6");
		break;
	case L_NONE:
		die("no link type");
	}
	buf_add(out, l3->p, l3->len);
	if (m)
		buf_add(out, m->trailer.p, m->trailer.len);
	if (G.link == L_ETH && G.minframe > 0)
		while (out->len < (size_t)G.minframe)
			buf_u8(out, 0);
}

/* ------------------------------------------------------------ IP layer */

/*
 * Build an IP packet around an L4 payload (checksum already set in l4).
 * Applies ihl/iplen/ipsum/ttl/ipid/df/mf/fragoff and `cut ip|tcp`.
 */
static void
build_ip(struct buf *out, const struct addr *src, const struct addr *dst,
    unsigned proto, const struct buf *l4, const struct mods *m,
    unsigned def_ipid, int def_df, int def_ttl)
{
	size_t hlen;

	if (src->fam != dst->fam)
		die("source and destination address families differ");
	if (src->fam == 4) {
		uint8_t h[20];
		long total = 20 + (long)l4->len;
		unsigned ihl = m->ihl >= 0 ? (unsigned)m->ihl : 5;
		unsigned frag = 0;
		int df = m->df >= 0 ? m->df : def_df;
		uint16_t sum;

		if (m->iplen_mode == 1)
			total = m->iplen;
		else if (m->iplen_mode == 2)
			total += m->iplen;
		if (total < 0 || total > 65535)
			die("IP total length out of range");
		if (df)
			frag |= 0x4000;
		if (m->mf)
			frag |= 0x2000;
		if (m->fragoff > 0)
			frag |= (unsigned)m->fragoff / 8;
		h[0] = (uint8_t)(0x40 | ihl);
		h[1] = 0;
		put_be16(h + 2, (unsigned)total);
		put_be16(h + 4, m->ipid >= 0 ? (unsigned)m->ipid : def_ipid);
		put_be16(h + 6, frag);
		h[8] = (uint8_t)(m->ttl >= 0 ? m->ttl : def_ttl);
		h[9] = (uint8_t)proto;
		h[10] = h[11] = 0;
		memcpy(h + 12, src->a, 4);
		memcpy(h + 16, dst->a, 4);
		sum = sum_fold(sum_add(0, h, 20));
		switch (m->ipsum) {
		case SUM_BAD: sum ^= 0x00ff; break;
		case SUM_ZERO: sum = 0; break;
		case SUM_VAL: sum = (uint16_t)m->ipsum_val; break;
		default: break;
		}
		put_be16(h + 10, sum);
		buf_add(out, h, 20);
		hlen = 20;
	} else {
		uint8_t h[40];
		long plen = (long)l4->len;

		if (m->ihl >= 0 || m->ipsum != SUM_OK || m->mf ||
		    m->fragoff >= 0 || m->df >= 0 || m->ipid >= 0)
			die("ihl/ipsum/mf/fragoff/df/ipid are IPv4 only");
		if (m->iplen_mode == 1)
			plen = m->iplen;
		else if (m->iplen_mode == 2)
			plen += m->iplen;
		if (plen < 0 || plen > 65535)
			die("IPv6 payload length out of range");
		h[0] = 0x60;
		h[1] = h[2] = h[3] = 0;
		put_be16(h + 4, (unsigned)plen);
		h[6] = (uint8_t)proto;
		h[7] = (uint8_t)(m->ttl >= 0 ? m->ttl : def_ttl);
		memcpy(h + 8, src->a, 16);
		memcpy(h + 24, dst->a, 16);
		buf_add(out, h, 40);
		hlen = 40;
	}
	buf_add(out, l4->p, l4->len);
	if (m->cut_kind == CUT_IP) {
		if ((size_t)m->cut_n < out->len)
			out->len = (size_t)m->cut_n;
	} else if (m->cut_kind == CUT_TCP) {
		if (hlen + (size_t)m->cut_n < out->len)
			out->len = hlen + (size_t)m->cut_n;
	}
}

static void
finish_frame(struct frame *f, struct buf *fb, const struct mods *m)
{
	if (m->cut_kind == CUT_FRAME && (size_t)m->cut_n < fb->len)
		fb->len = (size_t)m->cut_n;
	f->data = fb->p;
	f->len = (uint32_t)fb->len;
	f->caplen = f->len;
	if (m->snaplen >= 0 && (uint32_t)m->snaplen < f->caplen)
		f->caplen = (uint32_t)m->snaplen;
	fb->p = NULL;
	fb->len = fb->cap = 0;
}

static void
apply_l4sum(uint8_t *sumfield, uint16_t sum, const struct mods *m)
{
	switch (m->tcpsum) {
	case SUM_BAD: sum ^= 0x00ff; break;
	case SUM_ZERO: sum = 0; break;
	case SUM_VAL: sum = (uint16_t)m->tcpsum_val; break;
	default: break;
	}
	put_be16(sumfield, sum);
}

/* ------------------------------------------------------------- labels */

static struct label *
label_find(const char *name)
{
	for (int i = 0; i < nlabels; i++)
		if (strcmp(labels[i].name, name) == 0)
			return &labels[i];
	return NULL;
}

static struct label *
label_new(const char *name)
{
	struct label *l;

	if (label_find(name))
		die("label '%s' already used", name);
	labels = xrealloc(labels, (size_t)(nlabels + 1) * sizeof(*labels));
	l = &labels[nlabels++];
	l->name = xstrdup(name);
	l->f = NULL;
	l->nf = 0;
	return l;
}

static void
label_add(struct label *l, const struct frame *f)
{
	struct frame c;

	c.data = xmalloc(f->len);
	memcpy(c.data, f->data, f->len);
	c.len = f->len;
	c.caplen = f->caplen;
	c.desc = f->desc ? xstrdup(f->desc) : NULL;
	l->f = xrealloc(l->f, (size_t)(l->nf + 1) * sizeof(*l->f));
	l->f[l->nf++] = c;
}

/* --------------------------------------------------------------- TCP */

struct tcpseg {
	unsigned	flags;
	uint32_t	seq, ack;
	uint32_t	win;
	unsigned	urp;
	int		have_opts;
	char		*opts;		/* option list text, or NULL */
	const uint8_t	*data;
	size_t		 len;
};

static uint32_t
ms_now(void)
{
	return (uint32_t)((G.now - G.start) / 1000);
}

static void
build_opts(struct buf *o, const char *list, struct conn *c, int side)
{
	char *dup, *save = NULL, *it;

	if (list == NULL || strcmp(list, "none") == 0)
		return;
	dup = xstrdup(list);
	for (it = strtok_r(dup, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		if (strncmp(it, "mss=", 4) == 0) {
			buf_u8(o, 2);
			buf_u8(o, 4);
			buf_be16(o, (unsigned)parse_int(it + 4, "mss"));
		} else if (strcmp(it, "sackok") == 0) {
			buf_u8(o, 4);
			buf_u8(o, 2);
		} else if (strcmp(it, "ts") == 0 || strncmp(it, "ts=", 3) == 0) {
			uint32_t val, ecr;

			if (it[2] == '=') {
				char *slash = strchr(it + 3, '/');

				if (slash == NULL)
					die("ts=VAL/ECR");
				*slash = 0;
				val = (uint32_t)parse_int(it + 3, "tsval");
				ecr = (uint32_t)parse_int(slash + 1, "tsecr");
			} else {
				/*
				 * The clock is advanced when the frame is
				 * written; use the value it will have.
				 */
				int64_t saved = G.now;

				if (!G.first_frame && !G.time_set)
					G.now += G.step;
				val = c->s[side].tsbase + ms_now();
				G.now = saved;
				ecr = c->s[!side].last_tsval;
			}
			c->s[side].last_tsval = val;
			buf_u8(o, 8);
			buf_u8(o, 10);
			buf_be32(o, val);
			buf_be32(o, ecr);
		} else if (strncmp(it, "wscale=", 7) == 0) {
			buf_u8(o, 3);
			buf_u8(o, 3);
			buf_u8(o, (unsigned)parse_int(it + 7, "wscale"));
		} else if (strcmp(it, "nop") == 0) {
			buf_u8(o, 1);
		} else if (strcmp(it, "eol") == 0) {
			buf_u8(o, 0);
		} else if (strncmp(it, "sack=", 5) == 0) {
			char *dash = strchr(it + 5, '-');

			if (dash == NULL)
				die("sack=L-R");
			*dash = 0;
			buf_u8(o, 5);
			buf_u8(o, 10);
			buf_be32(o, (uint32_t)parse_int(it + 5, "sack left"));
			buf_be32(o, (uint32_t)parse_int(dash + 1, "sack right"));
		} else
			die("unknown TCP option '%s'", it);
	}
	free(dup);
	while (o->len % 4)
		buf_u8(o, 0);
	if (o->len > 40)
		die("TCP options longer than 40 octets");
}

static const char *
flagstr(unsigned f, char *b)
{
	static const char n[] = "FSRPAUEC";
	int k = 0;

	for (int i = 0; i < 8; i++)
		if (f & (1u << i))
			b[k++] = n[i];
	if (k == 0)
		b[k++] = '.';
	b[k] = 0;
	return b;
}

/* Build one TCP frame of conn c from side (0 client, 1 server). */
static void
build_tcp(struct frame *f, struct conn *c, int side, const struct tcpseg *s,
    const struct mods *m)
{
	struct buf l4 = { 0 }, opt = { 0 }, l3 = { 0 }, fb = { 0 };
	struct side *me = &c->s[side];
	const char *optlist = s->opts;
	unsigned doff;
	uint32_t sum;
	char desc[200], fl[10], a1[64], a2[64];

	if (!s->have_opts) {
		if (s->flags & TH_SYN)
			optlist = c->ts ? "mss,sackok,ts" : "mss,nop,nop,sackok";
		else
			optlist = c->ts ? "nop,nop,ts" : NULL;
	}
	if (optlist && strstr(optlist, "mss") && !strstr(optlist, "mss=")) {
		/* bare "mss" in defaults: use the conn's synmss */
		char tmp[128];
		const char *p = strstr(optlist, "mss");

		snprintf(tmp, sizeof(tmp), "%.*smss=%d%s", (int)(p - optlist),
		    optlist, c->synmss, p + 3);
		build_opts(&opt, tmp, c, side);
	} else
		build_opts(&opt, optlist, c, side);

	doff = (unsigned)(20 + opt.len) / 4;
	buf_be16(&l4, c->port[side]);
	buf_be16(&l4, c->port[!side]);
	buf_be32(&l4, s->seq);
	buf_be32(&l4, s->ack);
	buf_u8(&l4, (unsigned)(m->doff >= 0 ? m->doff : (int)doff) << 4);
	buf_u8(&l4, s->flags);
	buf_be16(&l4, s->win > 65535 ? 65535 : s->win);
	buf_be16(&l4, 0);
	buf_be16(&l4, s->urp);
	buf_add(&l4, opt.p, opt.len);
	buf_add(&l4, s->data, s->len);
	sum = pseudo_sum(&c->addr[side], &c->addr[!side], 6, l4.len);
	apply_l4sum(l4.p + 16, sum_fold(sum_add(sum, l4.p, l4.len)), m);

	build_ip(&l3, &c->addr[side], &c->addr[!side], 6, &l4, m, me->ipid++,
	    1, c->ttl);
	wrap_link(&fb, c->addr[side].fam == 4 ? ETH_IPV4 : ETH_IPV6,
	    c->addr[side].fam, me->mac, c->s[!side].mac, side, &l3, m);
	finish_frame(f, &fb, m);
	snprintf(desc, sizeof(desc), "%s %s %s:%u > %s:%u [%s] seq %" PRIu32
	    " ack %" PRIu32 " len %zu", c->name, side ? "server" : "client",
	    addr_str(&c->addr[side], a1, sizeof(a1)), c->port[side],
	    addr_str(&c->addr[!side], a2, sizeof(a2)), c->port[!side],
	    flagstr(s->flags, fl), s->seq - me->isn,
	    (s->flags & TH_ACK) ? s->ack - c->s[!side].isn : 0, s->len);
	f->desc = xstrdup(desc);
	buf_free(&l4);
	buf_free(&opt);
	buf_free(&l3);
}

static int
seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static struct conn *
conn_find(const char *name)
{
	for (int i = 0; i < nconns; i++)
		if (strcmp(conns[i]->name, name) == 0)
			return conns[i];
	return NULL;
}

static void
send_pure_ack(struct conn *c, int side, uint32_t ack)
{
	struct tcpseg s = { 0 };
	struct mods m;
	struct frame f;

	mods_init(&m);
	s.flags = TH_ACK;
	s.seq = c->s[side].nxt;
	s.ack = ack;
	s.win = c->s[side].win;
	build_tcp(&f, c, side, &s, &m);
	c->s[side].last_ack = ack;
	write_frame(&f);
	frame_free(&f);
}

static unsigned
parse_flag_letters(const char *w)
{
	unsigned f = 0;

	for (; *w; w++) {
		const char *p = strchr("FSRPAUEC", toupper((unsigned char)*w));

		if (p == NULL)
			die("bad flag letter '%c' (use F S R P A U E C)", *w);
		f |= 1u << (p - "FSRPAUEC");
	}
	return f;
}

static void
do_tcp(struct toks *t, struct conn *c, const char *verb)
{
	int side;
	unsigned addf = 0, explicit_flags = 0;
	int have_flags = 0, no_ack = 0, psh_all = 0;
	int have_seq = 0, have_ack = 0;
	uint32_t seq = 0, ack = 0;
	long long win = -1, urp = -1, mss = -1, ackevery = 0, skip = 0;
	int64_t gap = -1;
	char *opts = NULL;
	int have_opts = 0;
	long long *split = NULL;
	int nsplit = 0;
	const char *as = NULL, *hold = NULL;
	int stray = 0;
	struct buf pl = { 0 };
	struct mods m;
	struct side *me;

	mods_init(&m);
	if (strcmp(verb, "syn") == 0) {
		side = 0;
		addf |= TH_SYN;
		no_ack = 1;
	} else if (strcmp(verb, "synack") == 0) {
		side = 1;
		addf |= TH_SYN;
	} else if (strcmp(verb, "ack") == 0) {
		side = 0;
	} else if (strcmp(verb, "client") == 0 || strcmp(verb, "c") == 0 ||
	    strcmp(verb, ">") == 0) {
		side = 0;
	} else if (strcmp(verb, "server") == 0 || strcmp(verb, "s") == 0 ||
	    strcmp(verb, "<") == 0) {
		side = 1;
	} else {
		die("expected syn|synack|ack|client|server after '%s', got '%s'",
		    c->name, verb);
		return;
	}
	me = &c->s[side];

	while (!at_end(t)) {
		struct tok *k = peek(t);
		const char *w;

		if (parse_payload_item(t, &pl))
			continue;
		if (parse_mod(t, &m))
			continue;
		if (k->type != T_WORD)
			die("unexpected string");
		w = k->text;
		t->i++;
		if (strcmp(w, "fin") == 0)
			addf |= TH_FIN;
		else if (strcmp(w, "rst") == 0)
			addf |= TH_RST;
		else if (strcmp(w, "syn") == 0) {
			addf |= TH_SYN;
			no_ack = 1;
		} else if (strcmp(w, "psh") == 0)
			psh_all = 1;
		else if (strcmp(w, "urg") == 0) {
			addf |= TH_URG;
			urp = next_int(t, "urgent pointer", 0, 65535);
		} else if (strcmp(w, "flags") == 0) {
			have_flags = 1;
			explicit_flags = parse_flag_letters(next_word(t, "flags"));
		} else if (strcmp(w, "seq") == 0) {
			have_seq = 1;
			seq = me->isn + (uint32_t)next_int(t, "seq", 0, UINT32_MAX);
		} else if (strcmp(w, "rawseq") == 0) {
			have_seq = 1;
			seq = (uint32_t)next_int(t, "seq", 0, UINT32_MAX);
		} else if (strcmp(w, "ack") == 0) {
			struct tok *n = peek(t);

			if (n && n->type == T_WORD && isdigit((unsigned char)n->text[0])) {
				have_ack = 1;
				ack = c->s[!side].isn +
				    (uint32_t)next_int(t, "ack", 0, UINT32_MAX);
			} else if (n && n->type == T_WORD &&
			    strcmp(n->text, "same") == 0) {
				t->i++;
				have_ack = 1;
				ack = me->last_ack;
			}
			/* a bare `ack` just says "pure ACK" (the default) */
		} else if (strcmp(w, "rawack") == 0) {
			have_ack = 1;
			ack = (uint32_t)next_int(t, "ack", 0, UINT32_MAX);
		} else if (strcmp(w, "skip") == 0)
			skip = next_int(t, "skip", 0, 0x7fffffff);
		else if (strcmp(w, "win") == 0)
			win = next_int(t, "window", 0, 65535);
		else if (strcmp(w, "opts") == 0) {
			free(opts);
			opts = xstrdup(next_word(t, "option list"));
			have_opts = 1;
		} else if (strcmp(w, "mss") == 0)
			mss = next_int(t, "mss", 0, 65535);
		else if (strcmp(w, "split") == 0) {
			char *list = xstrdup(next_word(t, "split sizes")), *sv = NULL;

			for (char *p = strtok_r(list, ",", &sv); p;
			    p = strtok_r(NULL, ",", &sv)) {
				split = xrealloc(split, (size_t)(nsplit + 1) *
				    sizeof(*split));
				split[nsplit] = parse_int(p, "split size");
				if (split[nsplit] <= 0)
					die("split sizes must be > 0");
				nsplit++;
			}
			free(list);
		} else if (strcmp(w, "gap") == 0)
			gap = parse_secs(next_word(t, "gap"));
		else if (strcmp(w, "ackevery") == 0)
			ackevery = next_int(t, "ackevery", 1, 1000000);
		else if (strcmp(w, "as") == 0)
			as = next_word(t, "label");
		else if (strcmp(w, "hold") == 0)
			hold = next_word(t, "label");
		else if (strcmp(w, "stray") == 0)
			stray = 1;
		else
			die("unknown item '%s'", w);
	}
	if (as && hold)
		die("use either `as` or `hold`");
	if (hold && ackevery)
		die("`ackevery` cannot be used with `hold`");

	{
		struct label *lab = NULL;
		unsigned base;
		uint32_t seq0, end;
		size_t off = 0, segsz;
		int nseg = 0, i = 0, since_ack = 0;
		int64_t seg_gap = gap >= 0 ? gap : G.step;
		size_t chunks_cap = 16, nchunks = 0;
		size_t *chunks = xmalloc(chunks_cap * sizeof(*chunks));

		if (as)
			lab = label_new(as);
		if (hold)
			lab = label_new(hold);
		if (skip)
			me->nxt += (uint32_t)skip;
		seq0 = have_seq ? seq : (addf & TH_SYN) ? me->isn : me->nxt;
		if (!have_ack)
			ack = c->s[!side].nxt;

		if (have_flags)
			base = explicit_flags;
		else {
			base = addf | (no_ack ? 0 : TH_ACK);
			if (psh_all)
				base |= TH_PSH;
		}
		if (!(base & TH_ACK) && !have_ack)
			ack = 0;

		/* chunk sizes */
		segsz = mss >= 0 ? (size_t)mss : (size_t)c->mss;
		{
			size_t left = pl.len;
			int si = 0;

			while (left > 0 || nchunks == 0) {
				size_t n = left;

				if (si < nsplit)
					n = (size_t)split[si++];
				else if (segsz > 0 && n > segsz)
					n = segsz;
				if (n > left)
					n = left;
				if (nchunks == chunks_cap) {
					chunks_cap *= 2;
					chunks = xrealloc(chunks, chunks_cap *
					    sizeof(*chunks));
				}
				chunks[nchunks++] = n;
				left -= n;
				if (left == 0)
					break;
			}
		}
		nseg = (int)nchunks;

		end = seq0;
		for (i = 0; i < nseg; i++) {
			struct tcpseg s = { 0 };
			struct frame f;
			int first = i == 0, last = i == nseg - 1;
			unsigned fl = base;

			if (!first)
				fl &= ~(unsigned)TH_SYN;
			if (!last)
				fl &= ~(unsigned)TH_FIN;
			if (!have_flags && !psh_all) {
				fl &= ~(unsigned)TH_PSH;
				if (last && pl.len > 0 && !(fl & (TH_SYN | TH_RST)))
					fl |= TH_PSH;
			}
			s.flags = fl;
			s.seq = seq0 + (uint32_t)off +
			    ((base & TH_SYN) && !first ? 1u : 0u);
			s.ack = ack;
			s.win = win >= 0 ? (uint32_t)win : me->win;
			s.urp = urp >= 0 ? (unsigned)urp : 0;
			s.have_opts = have_opts;
			s.opts = opts;
			s.data = pl.p + off;
			s.len = chunks[i];
			if (!first && !hold) {
				/* time between the segments of one line */
				G.now += seg_gap;
				G.time_set = 1;
			}
			build_tcp(&f, c, side, &s, &m);
			if (fl & TH_ACK)
				me->last_ack = s.ack;
			off += chunks[i];
			end = s.seq + (uint32_t)s.len + ((fl & TH_SYN) ? 1u : 0u) +
			    ((fl & TH_FIN) ? 1u : 0u);
			if (!stray && seq_after(end, me->nxt))
				me->nxt = end;
			if (lab)
				label_add(lab, &f);
			if (!hold) {
				write_frame(&f);
				if (ackevery && (++since_ack == ackevery || last)) {
					since_ack = 0;
					send_pure_ack(c, !side, end);
				}
			}
			frame_free(&f);
		}
		free(chunks);
	}
	free(opts);
	free(split);
	buf_free(&pl);
	buf_free(&m.trailer);
}

/* --------------------------------------------------------- other frames */

static void
desc_set(struct frame *f, const char *fmt, ...)
{
	char b[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	f->desc = xstrdup(b);
}

static void
do_udp(struct toks *t)
{
	struct addr src, dst;
	uint16_t sp, dp;
	struct buf pl = { 0 }, l4 = { 0 }, l3 = { 0 }, fb = { 0 };
	struct mods m;
	struct frame f;
	uint8_t smac[6], dmac[6];
	uint16_t sum;

	mods_init(&m);
	parse_endpoint(next_word(t, "source endpoint"), &src, &sp);
	parse_endpoint(next_word(t, "destination endpoint"), &dst, &dp);
	while (!at_end(t)) {
		if (parse_payload_item(t, &pl) || parse_mod(t, &m))
			continue;
		die("unknown item in udp line");
	}
	buf_be16(&l4, sp);
	buf_be16(&l4, dp);
	buf_be16(&l4, (unsigned)(8 + pl.len));
	buf_be16(&l4, 0);
	buf_add(&l4, pl.p, pl.len);
	sum = sum_fold(sum_add(pseudo_sum(&src, &dst, 17, l4.len), l4.p, l4.len));
	if (sum == 0)
		sum = 0xffff;
	apply_l4sum(l4.p + 6, sum, &m);
	build_ip(&l3, &src, &dst, 17, &l4, &m, 0x5500, 0, 64);
	mac_of(&src, smac);
	mac_of(&dst, dmac);
	wrap_link(&fb, src.fam == 4 ? ETH_IPV4 : ETH_IPV6, src.fam, smac, dmac,
	    0, &l3, &m);
	finish_frame(&f, &fb, &m);
	desc_set(&f, "udp %u > %u len %zu", sp, dp, pl.len);
	write_frame(&f);
	frame_free(&f);
	buf_free(&pl);
	buf_free(&l4);
	buf_free(&l3);
	buf_free(&m.trailer);
}

static void
do_ip(struct toks *t)
{
	struct addr src, dst;
	struct buf pl = { 0 }, l3 = { 0 }, fb = { 0 };
	struct mods m;
	struct frame f;
	uint8_t smac[6], dmac[6];
	unsigned proto;

	mods_init(&m);
	parse_host(next_word(t, "source address"), &src);
	parse_host(next_word(t, "destination address"), &dst);
	if (!accept_word(t, "proto"))
		die("ip SRC DST proto N PAYLOAD");
	proto = (unsigned)next_int(t, "protocol", 0, 255);
	while (!at_end(t)) {
		if (parse_payload_item(t, &pl) || parse_mod(t, &m))
			continue;
		die("unknown item in ip line");
	}
	build_ip(&l3, &src, &dst, proto, &pl, &m, 0x6600, 0, 64);
	mac_of(&src, smac);
	mac_of(&dst, dmac);
	wrap_link(&fb, src.fam == 4 ? ETH_IPV4 : ETH_IPV6, src.fam, smac, dmac,
	    0, &l3, &m);
	finish_frame(&f, &fb, &m);
	desc_set(&f, "ip proto %u len %zu", proto, pl.len);
	write_frame(&f);
	frame_free(&f);
	buf_free(&pl);
	buf_free(&l3);
	buf_free(&m.trailer);
}

static void
do_arp(struct toks *t)
{
	const char *op = next_word(t, "request|reply");
	struct addr sa, ta;
	uint8_t smac[6], tmac[6], bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct buf l3 = { 0 }, fb = { 0 };
	struct mods m;
	struct frame f;
	int reply;

	mods_init(&m);
	if (strcmp(op, "request") == 0)
		reply = 0;
	else if (strcmp(op, "reply") == 0)
		reply = 1;
	else
		die("arp request|reply SENDER TARGET");
	parse_host(next_word(t, "sender address"), &sa);
	parse_host(next_word(t, "target address"), &ta);
	while (!at_end(t))
		if (!parse_mod(t, &m))
			die("unknown item in arp line");
	if (sa.fam != 4 || ta.fam != 4)
		die("arp needs IPv4 addresses");
	if (G.link != L_ETH && G.link != L_SLL && G.link != L_SLL2)
		die("arp needs link ethernet, sll or sll2");
	mac_of(&sa, smac);
	mac_of(&ta, tmac);
	buf_be16(&l3, 1);
	buf_be16(&l3, 0x0800);
	buf_u8(&l3, 6);
	buf_u8(&l3, 4);
	buf_be16(&l3, reply ? 2 : 1);
	buf_add(&l3, smac, 6);
	buf_add(&l3, sa.a, 4);
	if (reply)
		buf_add(&l3, tmac, 6);
	else
		buf_add(&l3, "\0\0\0\0\0\0", 6);
	buf_add(&l3, ta.a, 4);
	wrap_link(&fb, ETH_ARP, 0, smac, reply ? tmac : bcast, 0, &l3, &m);
	finish_frame(&f, &fb, &m);
	desc_set(&f, "arp %s", op);
	write_frame(&f);
	frame_free(&f);
	buf_free(&l3);
	buf_free(&m.trailer);
}

static void
do_frame(struct toks *t)
{
	struct buf fb = { 0 };
	struct mods m;
	struct frame f;

	mods_init(&m);
	while (!at_end(t)) {
		if (parse_payload_item(t, &fb) || parse_mod(t, &m))
			continue;
		die("unknown item in frame line");
	}
	finish_frame(&f, &fb, &m);
	desc_set(&f, "raw frame");
	write_frame(&f);
	frame_free(&f);
	buf_free(&m.trailer);
}

static void
do_emit(struct toks *t)
{
	const char *name = next_word(t, "label");
	struct label *l = label_find(name);
	long long k = 0;

	if (l == NULL)
		die("unknown label '%s'", name);
	if (!at_end(t))
		k = next_int(t, "segment index", 1, l->nf);
	if (!at_end(t))
		die("emit LABEL [K]");
	for (int i = 0; i < l->nf; i++)
		if (k == 0 || i == k - 1)
			write_frame(&l->f[i]);
}

/* ------------------------------------------------------------ settings */

static void
do_link(struct toks *t)
{
	const char *w = next_word(t, "link type");

	if (G.dumper)
		die("`link` must come before the first frame");
	G.vlan = G.qinq_outer = G.qinq_inner = -1;
	if (strcmp(w, "ethernet") == 0 || strcmp(w, "eth") == 0) {
		G.link = L_ETH;
		while (!at_end(t)) {
			if (accept_word(t, "vlan"))
				G.vlan = (int)next_int(t, "vlan id", 0, 0xffff);
			else if (accept_word(t, "qinq")) {
				G.qinq_outer = (int)next_int(t, "outer tag", 0, 0xffff);
				G.qinq_inner = (int)next_int(t, "inner tag", 0, 0xffff);
			} else if (accept_word(t, "minframe"))
				G.minframe = (int)next_int(t, "minframe", 0, 1514);
			else
				die("link ethernet [vlan ID] [qinq OUTER INNER] [minframe N]");
		}
	} else if (strcmp(w, "sll") == 0)
		G.link = L_SLL;
	else if (strcmp(w, "sll2") == 0)
		G.link = L_SLL2;
	else if (strcmp(w, "null") == 0 || strcmp(w, "loop") == 0) {
		G.link = strcmp(w, "null") == 0 ? L_NULL : L_LOOP;
		G.null_inet6 = G.link == L_NULL ? 30 : 24;
		while (!at_end(t)) {
			if (accept_word(t, "inet6"))
				G.null_inet6 = (int)next_int(t, "inet6 family", 0,
				    0x7fffffff);
			else if (G.link == L_NULL && accept_word(t, "swapped"))
				G.null_swapped = 1;
			else
				die("link null|loop [inet6 N] [swapped]");
		}
	} else if (strcmp(w, "raw") == 0) {
		G.link = L_RAW;
		if (!at_end(t)) {
			G.raw_hdr = (int)next_int(t, "raw linktype", 12, 14);
			if (G.raw_hdr != 12 && G.raw_hdr != 14)
				die("link raw [12|14]");
		}
	} else if (strcmp(w, "ipv4") == 0)
		G.link = L_IPV4;
	else if (strcmp(w, "ipv6") == 0)
		G.link = L_IPV6;
	else
		die("unknown link type '%s'", w);
	if (!at_end(t))
		die("trailing words after link");
}

static void
do_conn(struct toks *t)
{
	const char *name = next_word(t, "conn name");
	struct conn *c;
	static const char *reserved[] = { "link", "snaplen", "time", "step",
	    "mss", "seed", "host", "conn", "udp", "ip", "arp", "frame", "emit",
	    NULL };

	for (int i = 0; reserved[i]; i++)
		if (strcmp(name, reserved[i]) == 0)
			die("'%s' cannot name a conn", name);
	if (conn_find(name))
		die("conn '%s' already defined", name);
	c = xmalloc(sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(name);
	c->idx = nconns;
	parse_endpoint(next_word(t, "client endpoint"), &c->addr[0], &c->port[0]);
	accept_word(t, "->");
	parse_endpoint(next_word(t, "server endpoint"), &c->addr[1], &c->port[1]);
	if (c->addr[0].fam != c->addr[1].fam)
		die("client and server must be the same address family");
	c->s[0].isn = 0x10000000u + (uint32_t)c->idx * 0x01000000u;
	c->s[1].isn = 0x80000000u + (uint32_t)c->idx * 0x01000000u;
	c->s[0].win = c->s[1].win = 65535;
	c->mss = G.mss ? G.mss : c->addr[0].fam == 4 ? 1448 : 1428;
	c->synmss = c->addr[0].fam == 4 ? 1460 : 1440;
	c->ttl = 64;
	while (!at_end(t)) {
		const char *w = next_word(t, "conn option");

		if (strcmp(w, "isn") == 0) {
			c->s[0].isn = (uint32_t)next_int(t, "client isn", 0, UINT32_MAX);
			c->s[1].isn = (uint32_t)next_int(t, "server isn", 0, UINT32_MAX);
		} else if (strcmp(w, "win") == 0)
			c->s[0].win = c->s[1].win = (uint32_t)next_int(t, "win", 0, 65535);
		else if (strcmp(w, "cwin") == 0)
			c->s[0].win = (uint32_t)next_int(t, "cwin", 0, 65535);
		else if (strcmp(w, "swin") == 0)
			c->s[1].win = (uint32_t)next_int(t, "swin", 0, 65535);
		else if (strcmp(w, "mss") == 0)
			c->mss = (int)next_int(t, "mss", 0, 65535);
		else if (strcmp(w, "synmss") == 0)
			c->synmss = (int)next_int(t, "synmss", 0, 65535);
		else if (strcmp(w, "ts") == 0)
			c->ts = 1;
		else if (strcmp(w, "ttl") == 0)
			c->ttl = (int)next_int(t, "ttl", 0, 255);
		else
			die("unknown conn option '%s'", w);
	}
	for (int s = 0; s < 2; s++) {
		c->s[s].nxt = c->s[s].isn + 1;
		c->s[s].ipid = (uint16_t)(0x1000 * (s + 1) + 0x100 * c->idx);
		c->s[s].tsbase = 100000u * (uint32_t)(s + 1) +
		    1000u * (uint32_t)c->idx;
		mac_of(&c->addr[s], c->s[s].mac);
	}
	conns = xrealloc(conns, (size_t)(nconns + 1) * sizeof(*conns));
	conns[nconns++] = c;
}

static void
do_line(struct toks *t)
{
	struct tok *k = peek(t);
	const char *w;

	if (k == NULL)
		return;
	if (k->type != T_WORD)
		die("a line cannot start with a string");
	w = k->text;
	if ((w[0] == '+' || w[0] == '@') && (isdigit((unsigned char)w[1]) ||
	    w[1] == '.')) {
		int64_t v = parse_secs(w + 1);

		if (w[0] == '+')
			G.now += v;
		else {
			if (G.start + v < G.now)
				die("@%s goes back in time", w + 1);
			G.now = G.start + v;
		}
		G.time_set = 1;
		G.first_frame = 0;
		t->i++;
		if (at_end(t))
			return;
		k = peek(t);
		if (k->type != T_WORD)
			die("a line cannot start with a string");
		w = k->text;
	}
	t->i++;
	if (G.link == L_NONE && (strcmp(w, "udp") == 0 ||
	    strcmp(w, "ip") == 0 || strcmp(w, "arp") == 0 ||
	    strcmp(w, "frame") == 0 || strcmp(w, "emit") == 0 ||
	    conn_find(w) != NULL))
		die("`link` must come before the first frame");
	if (strcmp(w, "link") == 0)
		do_link(t);
	else if (strcmp(w, "snaplen") == 0) {
		if (G.dumper)
			die("`snaplen` must come before the first frame");
		G.snaplen = (int)next_int(t, "snaplen", 1, MAX_FRAME);
	} else if (strcmp(w, "time") == 0) {
		if (G.dumper)
			die("`time` must come before the first frame");
		G.start = G.now = parse_secs(next_word(t, "start time"));
	} else if (strcmp(w, "step") == 0)
		G.step = parse_secs(next_word(t, "step"));
	else if (strcmp(w, "mss") == 0)
		G.mss = (int)next_int(t, "mss", 1, 65535);
	else if (strcmp(w, "seed") == 0)
		g_rng = (uint64_t)next_int(t, "seed", 1, LLONG_MAX);
	else if (strcmp(w, "host") == 0) {
		const char *name = next_word(t, "host name");
		struct addr a;

		parse_host(next_word(t, "address"), &a);
		hosts = xrealloc(hosts, (size_t)(nhosts + 1) * sizeof(*hosts));
		hosts[nhosts].name = xstrdup(name);
		hosts[nhosts].addr = a;
		nhosts++;
	} else if (strcmp(w, "conn") == 0)
		do_conn(t);
	else if (strcmp(w, "udp") == 0)
		do_udp(t);
	else if (strcmp(w, "ip") == 0)
		do_ip(t);
	else if (strcmp(w, "arp") == 0)
		do_arp(t);
	else if (strcmp(w, "frame") == 0)
		do_frame(t);
	else if (strcmp(w, "emit") == 0)
		do_emit(t);
	else {
		struct conn *c = conn_find(w);

		if (c == NULL)
			die("unknown statement or conn '%s'", w);
		do_tcp(t, c, next_word(t, "syn|synack|ack|client|server"));
	}
	if (!at_end(t))
		die("trailing words");
}

/* Rewrite the linktype field of the pcap file header (offset 20). */
static void
patch_linktype(const char *path, uint32_t lt)
{
	FILE *fp = fopen(path, "r+b");

	if (fp == NULL || fseek(fp, 20, SEEK_SET) != 0 ||
	    fwrite(&lt, 4, 1, fp) != 1 || fclose(fp) != 0) {
		fprintf(stderr, "mkpcap: cannot patch %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	FILE *in;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct toks t = { 0 };
	int cont = 0, start_line = 0, phys = 0;
	int argi = 1;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		G.verbose = 1;
		argi++;
	}
	if (argc - argi != 2) {
		fprintf(stderr, "usage: mkpcap [-v] SCRIPT.pfs OUT.pcap\n");
		return 2;
	}
	g_file = argv[argi];
	G.out = argv[argi + 1];
	if (strcmp(G.out, "-") == 0) {
		fprintf(stderr, "mkpcap: write to a file, not stdout\n");
		return 2;
	}
	in = fopen(g_file, "r");
	if (in == NULL) {
		fprintf(stderr, "mkpcap: %s: %s\n", g_file, strerror(errno));
		return 1;
	}
	G.snaplen = 262144;
	G.start = G.now = 1700000000LL * 1000000;
	G.step = 100;
	G.first_frame = 1;
	G.vlan = G.qinq_outer = G.qinq_inner = -1;
	g_rng = 0x9e3779b97f4a7c15ULL;

	while ((n = getline(&line, &cap, in)) != -1) {
		phys++;
		if (!cont) {
			toks_clear(&t);
			start_line = phys;
		}
		g_line = phys;
		cont = tokenize(line, &t);
		if (cont)
			continue;
		g_line = start_line;
		do_line(&t);
	}
	if (cont)
		die("file ends after a continuation backslash");
	toks_clear(&t);
	free(t.v);
	free(line);
	fclose(in);
	open_output();
	pcap_dump_close(G.dumper);
	pcap_close(G.pd);
	if (G.link == L_RAW && G.raw_hdr)
		patch_linktype(G.out, (uint32_t)G.raw_hdr);
	if (G.verbose)
		fprintf(stderr, "mkpcap: %lu frames -> %s\n", G.nframes, G.out);
	return 0;
}
