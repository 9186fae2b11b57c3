/*
 * tcp.h - TCP following: one stage from decoded segments to in-order stream bytes.
 *
 * The stage keeps the table of connections, tells client from server,
 * tracks sequence numbers (64-bit stream offsets), writes each session's
 * segment log with its marks (retransmitted, out of order, ...), puts
 * segments in order, and hands the bytes to libnids, which delivers them
 * back in order (src/tcp_nids.c).  What comes out, through struct
 * tcp_ops, is per connection: it opened, in-order bytes with their stream
 * offset, gaps with their reason, and its end, after its last bytes.
 *
 * The promise (docs/tcp.md): for every connection and direction, each
 * stream byte the capture held is either delivered exactly once or
 * reported as a gap with its reason.  A byte that is neither is reported
 * as a reassembly_lost anomaly when the connection ends: never silent.
 *
 * One struct tcp per process: libnids has global state.
 */
#ifndef TCP_H
#define TCP_H

#include "decode.h"
#include "popflow.h"
#include "session.h"

/* Why bytes of a stream are not delivered. */
enum tcp_gap {
	TCP_GAP_NOT_CAPTURED, /* the receiver acknowledged them, or the stream went on: never captured */
	TCP_GAP_SNAPLEN,      /* cut off by the capture's snapshot length */
	TCP_GAP_HELD_LIMIT, /* too much waited behind the hole (TCP_MAX_HELD) */
	TCP_GAP_AT_END,     /* the connection ended with the hole still open */
	TCP_GAP_LOST,       /* libnids did not deliver them (reassembly_lost) */
};
const char *tcp_gap_name(enum tcp_gap why);

/* Connection states that end a session without a FIN/RST exchange are passed to tcp_finish(). */

struct tcp_ops {
	/* Is this TCP port a POP3 server port?  (Other ports are probed from their SYN.) */
	bool (*is_pop3_port)(void *arg, uint16_t port);
	/* A session begins (its first payload, or it is about to be reported): attach a consumer. */
	void (*opened)(void *arg, struct session *s);
	/* len in-order bytes of direction d at stream offset off (0 = first byte after the SYN). */
	void (*data)(void *arg, struct session *s, enum dir d, const uint8_t *buf, size_t len,
	    uint64_t off, struct ts ts);
	/* Bytes [off, off + len) of direction d will never be delivered. */
	void (*gap)(
	    void *arg, struct session *s, enum dir d, uint64_t off, uint64_t len, enum tcp_gap why);
	/* The session ends: every byte was delivered; flush the consumer (before finalising). */
	void (*closing)(void *arg, struct session *s);
	/* The session has ended and is complete (finalised): emit it. Freed right after. */
	void (*ended)(void *arg, struct session *s);
	/* The session ended and is not reported (not POP3, a refused attempt): free the consumer. */
	void (*discard)(void *arg, struct session *s);
};

/* Limits; zero fields take the defaults below. */
struct tcp_limits {
	int nids_streams;  /* libnids' table: it follows 3/4 of this at once */
	uint64_t max_held; /* bytes held behind holes per connection and direction */
};

/* libnids' table size when none is asked for: 6144 connections with data at once.  It only holds
 * connections while they carry data (the stage frees each stream when its connection ends), and
 * one it lets go when full is followed again with nothing lost (ANOM_EVICTED), so the size is a
 * cost, not a limit.  Not larger, because tcp_init() in libnids writes to every entry of its
 * stream pool at start: 65536 cost 35 ms and 3000 page faults per run, more than reading a
 * small capture. */
#define TCP_DEFAULT_NIDS_STREAMS 8192
/* Bytes (payload plus TCP_HELD_OVERHEAD per segment) held behind a hole per direction. */
#define TCP_MAX_HELD (64u << 20)
#define TCP_HELD_OVERHEAD 128u
/*
 * A hole the receiver has acknowledged past is given up after this many
 * more segments of the connection and TCP_ACKED_PATIENCE_US of packet time:
 * the receiver had the bytes, the capture lost them.  Both, so a capture's
 * own reordering (merged taps, a delayed copy) is still waited for.
 */
#define TCP_ACKED_PATIENCE_SEGS 256
#define TCP_ACKED_PATIENCE_US 500000
/*
 * A connection closed by RST or by both FINs lingers this long (packet time;
 * the clock for live captures) before it is reported: segments still in
 * flight when a side reset belong to it, not to a new session (Zeek's
 * tcp_reset_delay and tcp_close_delay work alike).
 */
#define TCP_CLOSE_LINGER_US 2000000
/*
 * Recently delivered bytes kept per direction, so that any retransmitted
 * byte can be compared with the first copy (conflicting retransmissions).
 */
#define TCP_RECENT_BYTES (64u << 10)
/*
 * The largest TCP window is 2^30 bytes (RFC 7323 section 2.3): a sequence
 * number further behind the highest one seen cannot be a retransmission,
 * so it is read as a jump forward.
 */
#define TCP_MAX_BEHIND (1u << 30)

struct tcp_stats {
	uint64_t segments;      /* segments handed to tcp_segment() */
	uint64_t pop3_segments; /* of those, on POP3 connections (and strays on POP3 ports) */
	uint64_t stray;         /* segments of no connection (late ACKs, ...) */
	uint64_t late;          /* segments after a connection closed, kept with it */
	uint64_t attempts;      /* connections refused or unanswered: no session */
	uint64_t other_tcp;     /* probed connections that were not POP3 */
	uint64_t evictions;     /* libnids' table was full and let a connection go */
	uint64_t lost_bytes;    /* bytes neither delivered nor reported (reassembly_lost) */
	uint64_t nids_warnings; /* libnids' own warnings */
	uint64_t held_peak;     /* most bytes held behind holes at once, one direction */
};

struct tcp;

/* NULL with errbuf filled on failure. */
struct tcp *tcp_new(
    const struct tcp_ops *ops, void *arg, const struct tcp_limits *lim, char *errbuf);
/* The only per-frame call: one decoded segment, in capture order. */
void tcp_segment(struct tcp *t, const struct segment *seg);
/* The consumer found the session is not POP3: stop following; its segments are only counted. */
void tcp_ignore(struct tcp *t, struct session *s);
/* Ends sessions idle longer than idle_sec (0: none) and closed ones whose linger is over. */
void tcp_expire(struct tcp *t, struct ts now, uint32_t idle_sec);
/* Ends every open session (EOF, interrupted): closed ones first, in order of closing. */
void tcp_finish(struct tcp *t, enum end_reason why);
size_t tcp_open(const struct tcp *t);
const struct tcp_stats *tcp_stats(const struct tcp *t);
void tcp_free(struct tcp *t);

#endif
