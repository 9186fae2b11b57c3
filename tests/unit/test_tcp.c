/* test_tcp.c - the TCP stage on arrays of segments, without pcap files: bytes, gaps, marks, sessions out. */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "tcp.h"
#include "testlib.h"

/* What the stage handed out. */
static struct out {
	GByteArray *bytes[2]; /* delivered, with '#' for each byte reported missing */
	uint64_t next[2];     /* the next offset expected: deliveries must be in order */
	bool disorder;        /* a delivery or gap was not at next */
	uint64_t gaps[2];
	enum tcp_gap last_why;
	int opened, ended, discarded;
	uint8_t marks; /* every mark of every segment of the ended sessions */
	unsigned late, conflicts, lost, segs, retrans;
	enum end_reason reason;
	enum handshake hs;
} O;

static void
out_reset(void)
{
	int d;

	for (d = 0; d < 2; d++) {
		if (O.bytes[d] != NULL)
			g_byte_array_free(O.bytes[d], TRUE);
	}
	memset(&O, 0, sizeof(O));
	for (d = 0; d < 2; d++)
		O.bytes[d] = g_byte_array_new();
}

static bool
is_port(void *arg, uint16_t port)
{
	(void)arg;
	return port == 110;
}

static void
on_opened(void *arg, struct session *s)
{
	(void)arg;
	(void)s;
	O.opened++;
}

static void
on_data(void *arg, struct session *s, enum dir d, const uint8_t *buf, size_t len, uint64_t off,
    struct ts ts)
{
	(void)arg;
	(void)s;
	(void)ts;
	if (off != O.next[d])
		O.disorder = true;
	g_byte_array_append(O.bytes[d], buf, (guint)len);
	O.next[d] = off + len;
}

static void
on_gap(void *arg, struct session *s, enum dir d, uint64_t off, uint64_t len, enum tcp_gap why)
{
	uint64_t i;

	(void)arg;
	(void)s;
	if (off != O.next[d])
		O.disorder = true;
	O.gaps[d] += len;
	O.last_why = why;
	for (i = 0; i < len && i < 4096; i++)
		g_byte_array_append(O.bytes[d], (const guint8 *)"#", 1);
	O.next[d] = off + len;
}

static void
on_ended(void *arg, struct session *s)
{
	guint i;

	(void)arg;
	O.ended++;
	O.reason = s->end_reason;
	O.hs = s->handshake;
	O.segs = s->segs->len;
	for (i = 0; i < s->segs->len; i++) {
		const struct seg_rec *r = &g_array_index(s->segs, struct seg_rec, i);
		O.marks |= r->marks;
		if (r->marks & SEG_LATE)
			O.late++;
	}
	O.conflicts += (unsigned)session_anomaly_count(s, ANOM_CONFLICTING_RETRANSMISSION);
	O.lost += (unsigned)session_anomaly_count(s, ANOM_REASSEMBLY_LOST);
	O.retrans += (unsigned)session_anomaly_count(s, ANOM_RETRANSMISSION);
}

static void
on_discard(void *arg, struct session *s)
{
	(void)arg;
	(void)s;
	O.discarded++;
}

static const struct tcp_ops ops = {
    .is_pop3_port = is_port,
    .opened = on_opened,
    .data = on_data,
    .gap = on_gap,
    .ended = on_ended,
    .discard = on_discard,
};

/* A segment of the test conversation: client 10.0.0.1:40000, server 10.0.0.2:110. */
struct tseg {
	enum dir d;
	uint32_t seq, ack;
	uint8_t flags;
	const char *data;
	uint32_t len;    /* 0: strlen(data) */
	uint32_t caplen; /* 0: all of it */
};

static void
run(const struct tseg *v, size_t n)
{
	char errbuf[ERRBUF_SIZE];
	struct tcp *t = tcp_new(&ops, NULL, NULL, errbuf);
	struct endpoint c = {{4, {10, 0, 0, 1}}, 40000}, s = {{4, {10, 0, 0, 2}}, 110};
	size_t i;

	out_reset();
	CHECK(t != NULL);
	for (i = 0; i < n; i++) {
		struct segment g;

		memset(&g, 0, sizeof(g));
		g.frame = i + 1;
		g.ts.sec = 1000;
		g.ts.usec = (int32_t)i;
		g.src = v[i].d == DIR_TO_SERVER ? c : s;
		g.dst = v[i].d == DIR_TO_SERVER ? s : c;
		g.seq = v[i].seq;
		g.ack = v[i].ack;
		g.flags = v[i].flags;
		g.win = 0; /* a zero window: popflow's stage must not care */
		g.ip_version = 4;
		if (v[i].data != NULL) {
			g.payload = (const uint8_t *)v[i].data;
			g.payload_len = v[i].len ? v[i].len : (uint32_t)strlen(v[i].data);
			g.payload_caplen = v[i].caplen ? v[i].caplen : g.payload_len;
		}
		tcp_segment(t, &g);
	}
	tcp_finish(t, END_EOF);
	tcp_free(t);
}

static bool
got(enum dir d, const char *want)
{
	return O.bytes[d]->len == strlen(want) &&
	    memcmp(O.bytes[d]->data, want, O.bytes[d]->len) == 0;
}

#define A TH_ACK
#define PA (TH_PSH | TH_ACK)
#define C DIR_TO_SERVER
#define S DIR_TO_CLIENT

/* Client ISN 100, server ISN 5000. */
static const struct tseg base[] = {
    {C, 100, 0, TH_SYN, NULL, 0, 0},
    {S, 5000, 101, TH_SYN | TH_ACK, NULL, 0, 0},
    {C, 101, 5001, A, NULL, 0, 0},
    {S, 5001, 101, PA, "+OK hi\r\n", 0, 0},
    {C, 101, 5009, PA, "STAT\r\n", 0, 0},
    {S, 5009, 107, PA, "+OK 1 2\r\n", 0, 0},
    {C, 107, 5018, PA, "QUIT\r\n", 0, 0},
    {S, 5018, 113, PA, "+OK bye\r\n", 0, 0},
    {S, 5027, 113, TH_FIN | A, NULL, 0, 0},
    {C, 113, 5028, TH_FIN | A, NULL, 0, 0},
    {S, 5028, 114, A, NULL, 0, 0},
};
static const char base_c[] = "STAT\r\nQUIT\r\n", base_s[] = "+OK hi\r\n+OK 1 2\r\n+OK bye\r\n";

static void
test_in_order(void)
{
	run(base, G_N_ELEMENTS(base));
	CHECK(got(C, base_c));
	CHECK(got(S, base_s));
	CHECK(!O.disorder);
	CHECK(O.ended == 1 && O.reason == END_FIN && O.hs == HS_SEEN);
	CHECK(O.segs == G_N_ELEMENTS(base));
	CHECK(!(O.marks & (SEG_RETRANS | SEG_OOO | SEG_GAP_BEFORE | SEG_CONFLICT | SEG_LATE)));
	CHECK(O.lost == 0);
}

/* The same conversation reordered, duplicated, re-packetized and split gives the same bytes. */
static void
test_reorder_invariance(void)
{
	static const struct tseg v[] = {
	    {C, 100, 0, TH_SYN, NULL, 0, 0},
	    {S, 5000, 101, TH_SYN | TH_ACK, NULL, 0, 0},
	    {C, 101, 5001, A, NULL, 0, 0},
	    {S, 5005, 101, PA, "hi\r\n", 0, 0},     /* second half first */
	    {S, 5001, 101, PA, "+OK ", 0, 0},       /* then the first */
	    {S, 5001, 101, PA, "+OK hi\r\n", 0, 0}, /* an exact duplicate */
	    {C, 104, 5009, PA, "T\r\n", 0, 0},      /* client: end before start */
	    {C, 101, 5009, PA, "STA", 0, 0},
	    {S, 5015, 107, PA, "2\r\n+OK", 0, 0}, /* re-packetized across two replies */
	    {S, 5009, 107, PA, "+OK 1 ", 0, 0},
	    {C, 107, 5018, PA, "QUIT\r\n", 0, 0},
	    {S, 5018, 113, PA, "+OK bye\r\n", 0, 0},
	    {S, 5013, 113, PA, "1 2\r\n+OK b", 0, 0}, /* an overlapping late copy */
	    {S, 5027, 113, TH_FIN | A, NULL, 0, 0},
	    {C, 113, 5028, TH_FIN | A, NULL, 0, 0},
	    {S, 5028, 114, A, NULL, 0, 0},
	};

	run(v, G_N_ELEMENTS(v));
	CHECK(got(C, base_c));
	CHECK(got(S, base_s));
	CHECK(!O.disorder);
	CHECK(O.gaps[0] == 0 && O.gaps[1] == 0);
	CHECK((O.marks & SEG_OOO) && (O.marks & SEG_RETRANS));
	CHECK(O.conflicts == 0);
	CHECK(O.ended == 1 && O.reason == END_FIN);
}

/* Any retransmitted byte that differs from the first copy is flagged, whatever the overlap. */
static void
test_conflicting_overlap(void)
{
	static const struct tseg v[] = {
	    {C, 100, 0, TH_SYN, NULL, 0, 0}, {S, 5000, 101, TH_SYN | TH_ACK, NULL, 0, 0},
	    {C, 101, 5001, A, NULL, 0, 0}, {S, 5001, 101, PA, "+OK hi\r\n", 0, 0},
	    {C, 101, 5009, PA, "USER alice\r\n", 0, 0},
	    {C, 106, 5009, PA, "mallory\r\n", 0, 0}, /* overlaps "alice\r\n" with other bytes */
	};

	run(v, G_N_ELEMENTS(v));
	CHECK(O.conflicts == 1);
	CHECK(O.marks & SEG_CONFLICT);
	/* The first copy is kept; the two bytes beyond it are new. */
	CHECK(got(C, "USER alice\r\n\r\n"));
}

/* Sequence numbers wrapping at 2^32, a window of zero, no ACK from the receiver at all. */
static void
test_wrap_and_no_acks(void)
{
	GString *body = g_string_new(NULL);
	GPtrArray *keep = g_ptr_array_new_with_free_func(g_free);
	struct tseg *v = g_new0(struct tseg, 3 + 2000);
	uint32_t isn = 0xfffff000u, seq;
	size_t n = 0, i;

	v[n++] = (struct tseg){C, 100, 0, TH_SYN, NULL, 0, 0};
	v[n++] = (struct tseg){S, isn, 101, TH_SYN | TH_ACK, NULL, 0, 0};
	v[n++] = (struct tseg){C, 101, isn + 1, A, NULL, 0, 0};
	seq = isn + 1;
	for (i = 0; i < 2000; i++) {
		char *line = g_strdup_printf("%01199zu\r\n", i); /* 1201-byte lines: 2.4 MB */
		g_ptr_array_add(keep, line);
		g_string_append(body, line);
		v[n++] = (struct tseg){S, seq, 101, PA, line, 0, 0};
		seq += (uint32_t)strlen(line);
	}
	run(v, n);
	CHECK(O.bytes[S]->len == body->len);
	CHECK(O.bytes[S]->len == body->len && memcmp(O.bytes[S]->data, body->str, body->len) == 0);
	CHECK(O.gaps[S] == 0 && !O.disorder && O.lost == 0);
	g_free(v);
	g_ptr_array_free(keep, TRUE);
	g_string_free(body, TRUE);
}

/* A capture started mid-session: followed from the first byte seen, with a synthetic handshake. */
static void
test_midstream(void)
{
	run(base + 4, G_N_ELEMENTS(base) - 4);
	CHECK(got(C, base_c));
	CHECK(got(S, "+OK 1 2\r\n+OK bye\r\n"));
	CHECK(O.hs == HS_SYNTHETIC);
	CHECK(O.marks & SEG_SYNTHETIC);
	CHECK(O.ended == 1 && O.reason == END_FIN);
}

/* Joined mid-session, bytes retransmitted from before the first one followed are reported. */
static void
test_midstream_before_start(void)
{
	struct tseg v[G_N_ELEMENTS(base)];
	size_t n = G_N_ELEMENTS(base) - 4;

	/* STAT, its reply, then the greeting again (sent before the capture began), then the rest. */
	memcpy(v, base + 4, sizeof(base[0]) * 2);
	v[2] = (struct tseg){S, 5001, 107, PA, "+OK hi\r\n", 0, 0};
	memcpy(v + 3, base + 6, sizeof(base[0]) * (n - 2));
	run(v, n + 1);
	CHECK(got(S, "+OK 1 2\r\n+OK bye\r\n"));
	CHECK(O.retrans >= 1);
	CHECK(O.lost == 0);
}

/* A jump of more than 2^31: a gap of its true size, and the bytes after it delivered. */
static void
test_seq_jump(void)
{
	static const struct tseg v[] = {
	    {C, 100, 0, TH_SYN, NULL, 0, 0},
	    {S, 5000, 101, TH_SYN | TH_ACK, NULL, 0, 0},
	    {C, 101, 5001, A, NULL, 0, 0},
	    {S, 5001, 101, PA, "+OK hi\r\n", 0, 0},
	    {S, 5009u + 2500000000u, 101, PA, "after\r\n", 0, 0},
	};

	run(v, G_N_ELEMENTS(v));
	CHECK(O.gaps[S] == 2500000000u);
	CHECK(O.bytes[S]->len >= 7 &&
	    memcmp(O.bytes[S]->data + O.bytes[S]->len - 7, "after\r\n", 7) == 0);
	CHECK(!O.disorder && O.lost == 0);
}

/* Bytes cut by the snapshot length are a gap with that reason. */
static void
test_snaplen(void)
{
	static const struct tseg v[] = {
	    {C, 100, 0, TH_SYN, NULL, 0, 0},
	    {S, 5000, 101, TH_SYN | TH_ACK, NULL, 0, 0},
	    {C, 101, 5001, A, NULL, 0, 0},
	    {S, 5001, 101, PA, "+OK hi\r\n", 8, 4},
	    {S, 5009, 101, PA, "+OK\r\n", 0, 0},
	};

	run(v, G_N_ELEMENTS(v));
	CHECK(got(S, "+OK ####+OK\r\n"));
	CHECK(O.gaps[S] == 4 && O.last_why == TCP_GAP_SNAPLEN);
	CHECK(O.marks & SEG_TRUNCATED);
}

/* A hole nobody fills: held data is delivered after it at the end, the hole reported. */
static void
test_hole_at_end(void)
{
	static const struct tseg v[] = {
	    {C, 100, 0, TH_SYN, NULL, 0, 0}, {S, 5000, 101, TH_SYN | TH_ACK, NULL, 0, 0},
	    {C, 101, 5001, A, NULL, 0, 0}, {S, 5001, 101, PA, "+OK hi\r\n", 0, 0},
	    {S, 5019, 101, PA, "+OK bye\r\n", 0, 0}, /* 10 bytes before it never come */
	};

	run(v, G_N_ELEMENTS(v));
	CHECK(got(S, "+OK hi\r\n##########+OK bye\r\n"));
	CHECK(O.last_why == TCP_GAP_AT_END);
	CHECK(O.marks & SEG_GAP_BEFORE);
}

/* A client reset with data in flight: one session; the late segments stay with it. */
static void
test_reset_in_flight(void)
{
	static const struct tseg v[] = {
	    {C, 100, 0, TH_SYN, NULL, 0, 0},
	    {S, 5000, 101, TH_SYN | TH_ACK, NULL, 0, 0},
	    {C, 101, 5001, A, NULL, 0, 0},
	    {S, 5001, 101, PA, "+OK hi\r\n", 0, 0},
	    {C, 101, 5009, TH_FIN | A, NULL, 0, 0},
	    {C, 102, 0, TH_RST, NULL, 0, 0},
	    {S, 5009, 102, PA, "line 1\r\n", 0, 0},
	    {S, 5017, 102, PA, "line 2\r\n", 0, 0},
	    {C, 102, 0, TH_RST, NULL, 0, 0},
	};

	run(v, G_N_ELEMENTS(v));
	CHECK(O.ended == 1);
	CHECK(O.reason == END_RST);
	CHECK(O.late == 3);
	CHECK(got(S, "+OK hi\r\nline 1\r\nline 2\r\n"));
}

/* A SYN nobody answered is no session, and costs no model. */
static void
test_attempt(void)
{
	static const struct tseg v[] = {
	    {C, 100, 0, TH_SYN, NULL, 0, 0},
	    {C, 100, 0, TH_SYN, NULL, 0, 0},
	};

	run(v, G_N_ELEMENTS(v));
	CHECK(O.opened == 0 && O.ended == 0 && O.discarded == 0);
}

/* More than 2^20 segments: the log stops listing, the bytes do not stop. */
static void
test_many_segments(void)
{
	size_t n = 3 + (1u << 20) + 5000, i;
	struct tseg *v = g_new0(struct tseg, n + 1);
	uint32_t seq = 5001;

	v[0] = (struct tseg){C, 100, 0, TH_SYN, NULL, 0, 0};
	v[1] = (struct tseg){S, 5000, 101, TH_SYN | TH_ACK, NULL, 0, 0};
	v[2] = (struct tseg){C, 101, 5001, A, NULL, 0, 0};
	for (i = 3; i < n; i++) {
		v[i] = (struct tseg){S, seq, 101, PA, "x", 0, 0};
		seq++;
	}
	v[n] = (struct tseg){S, seq, 101, PA, "END\r\n", 0, 0};
	run(v, n + 1);
	CHECK(O.bytes[S]->len == n - 3 + 5);
	CHECK(O.bytes[S]->len >= 5 &&
	    memcmp(O.bytes[S]->data + O.bytes[S]->len - 5, "END\r\n", 5) == 0);
	CHECK(O.gaps[S] == 0 && !O.disorder && O.lost == 0);
	CHECK(O.segs == SESSION_MAX_SEGMENTS);
	g_free(v);
}

/*
 * session_frame_at() for a byte more than 65536 segments back (a line of
 * 100 MB, say): the frame that carried it, not the newest segment's.
 */
static void
test_frame_at_far_back(void)
{
	struct endpoint c = {0}, v = {0};
	struct session *s = session_new(1, &c, &v);
	struct seg_rec r;
	guint i, n = 70000;

	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		r.frame = 10 + 2 * (uint64_t)i;
		r.dir = DIR_TO_CLIENT;
		r.off = 1 + 1000 * (uint64_t)i;
		r.len = 1000;
		g_array_append_val(s->segs, r);
		memset(&r, 0, sizeof(r)); /* an ACK the other way */
		r.frame = 11 + 2 * (uint64_t)i;
		r.dir = DIR_TO_SERVER;
		r.off = 7;
		g_array_append_val(s->segs, r);
	}
	CHECK_EQ_U(session_frame_at(s, DIR_TO_CLIENT, 1), 10);
	CHECK_EQ_U(session_frame_at(s, DIR_TO_CLIENT, 999), 10);
	CHECK_EQ_U(session_frame_at(s, DIR_TO_CLIENT, 1001), 12);
	CHECK_EQ_U(session_frame_at(s, DIR_TO_CLIENT, 1 + 1000 * 5000 + 17), 10 + 2 * 5000);
	CHECK_EQ_U(session_frame_at(s, DIR_TO_CLIENT, 1 + 1000 * (uint64_t)(n - 1)), 10 + 2 * (n - 1));
	/* the log grows after a look-up: the index follows */
	memset(&r, 0, sizeof(r));
	r.frame = 999999;
	r.dir = DIR_TO_CLIENT;
	r.off = 1 + 1000 * (uint64_t)n;
	r.len = 1000;
	g_array_append_val(s->segs, r);
	CHECK_EQ_U(session_frame_at(s, DIR_TO_CLIENT, 1 + 1000 * (uint64_t)n + 5), 999999);
	CHECK_EQ_U(session_frame_at(s, DIR_TO_CLIENT, 1 + 1000 * 3), 16);
	session_clear_segs(s);
	CHECK_EQ_U(session_frame_at(s, DIR_TO_CLIENT, 1), 0);
	session_free(s);
}

int
main(void)
{
	test_in_order();
	test_reorder_invariance();
	test_conflicting_overlap();
	test_wrap_and_no_acks();
	test_midstream();
	test_midstream_before_start();
	test_seq_jump();
	test_snaplen();
	test_hole_at_end();
	test_reset_in_flight();
	test_attempt();
	test_many_segments();
	test_frame_at_far_back();
	out_reset();
	return tl_done();
}
