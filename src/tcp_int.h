/*
 * tcp_int.h - what the three files of the TCP stage share: tcp.c (table,
 * sequence tracking, segment log, lifecycle), tcp_order.c (holding,
 * filling, comparing retransmissions) and tcp_nids.c (libnids).  Nothing
 * outside the stage includes it; the stage's interface is include/tcp.h.
 */
#ifndef TCP_INT_H
#define TCP_INT_H

#include <glib.h>

#include "tcp.h"

#define TCP_NO_REC G_MAXUINT /* a segment not in the log (log full, or none) */

/* One direction of a connection, from its sender's side: sequence tracking (tcp.c). */
struct tcp_half {
	uint32_t isn;
	uint32_t last_ack; /* last acknowledgment number this side sent */
	bool isn_known;
	bool fin;          /* a FIN was seen */
	uint64_t seen_end; /* highest stream offset + 1 seen */
	GArray *holes;     /* struct tcp_range: not seen yet, for marking (bounded) */
	uint64_t packets, payload;
};

/*
 * One direction's bytes on their way to the consumer: made at the
 * connection's first payload, so a connection without data stays small.
 */
struct tcp_flow {
	/* Ordering (tcp_order.c). */
	uint64_t next;       /* every byte before it was delivered or reported missing */
	GTree *held;         /* struct tcp_held, by (off, serial) */
	uint64_t held_bytes; /* payload + TCP_HELD_OVERHEAD per segment */
	uint64_t serial;
	bool acked_past;     /* the receiver acknowledged bytes beyond next while some are held */
	uint32_t acked_segs; /* segments of the connection since */
	struct ts acked_ts;
	uint8_t *recent; /* ring of the last delivered bytes, indexed by offset % recent_cap */
	uint32_t recent_cap;
	uint64_t recent_from;  /* the ring holds [recent_from, next) (at most recent_cap bytes) */
	uint64_t delivered;    /* bytes delivered through libnids */
	uint64_t gapped;       /* bytes reported missing */
	uint64_t before_start; /* bytes from before the first byte followed: not analysed */
	/* libnids (tcp_nids.c). */
	uint32_t nisn;   /* the sequence number libnids' stream counts from */
	uint64_t nbase;  /* the stream offset of libnids' first byte */
	uint64_t fed;    /* offset + 1 of the last byte handed to libnids */
	uint64_t got;    /* offset + 1 of the last byte libnids delivered */
	uint64_t nacked; /* the peer's last acknowledgment libnids saw, as an offset of ours */
};

struct tcp_range {
	uint64_t from, to;
};

struct tcp_conn_key {
	struct endpoint a, b; /* a is the smaller endpoint */
};

struct tcp_conn {
	struct tcp *t;
	struct tcp_conn_key key;
	struct endpoint client, server;
	uint64_t serial;   /* order of creation */
	struct session *s; /* the model, made at the first payload or when it is reported */
	/* The log before the session exists: one record inline (a SYN costs no allocation), then pre. */
	struct seg_rec first;
	bool has_first;
	GArray *pre; /* struct seg_rec */
	struct tcp_half h[2];
	struct tcp_flow *f; /* [2], NULL until the first payload */
	struct ts start, last;
	uint64_t first_frame, last_frame;
	enum handshake handshake;
	bool candidate; /* another port, probed from its SYN */
	bool ignored;   /* not POP3: counted, not followed */
	bool synack, est, rst;
	bool closed;       /* reset: lingering for segments in flight */
	bool fin_wait;     /* both FINs seen: the peer\'s ACK of the last one ends it */
	enum dir fin_from; /* the direction of the last FIN */
	struct ts closed_at;
	GList *linger; /* its link in tcp.lingering */
	uint64_t truncated_segs;
	uint64_t segs_dropped;
	/* libnids (tcp_nids.c). */
	void *stream; /* struct tcp_stream *, or NULL */
	bool evicted; /* libnids let it go; followed again at the next bytes */
	/* Re-entrancy: libnids calls back inside a feed; ending waits until it returns. */
	unsigned busy;
	bool end_pending, ignore_pending;
	enum end_reason end_why;
};

struct tcp {
	const struct tcp_ops *ops;
	void *arg;
	struct tcp_limits lim;
	GHashTable *conns; /* struct tcp_conn_key * -> struct tcp_conn * */
	GQueue lingering;  /* struct tcp_conn *, in order of closing */
	uint64_t next_serial;
	struct tcp_stats st;
	uint64_t frame; /* the frame being processed */
	struct ts now;
};

/* tcp.c: what the other two files call. */
struct session *tcp_session(struct tcp_conn *c);        /* makes the model if not yet made */
struct seg_rec *tcp_rec(struct tcp_conn *c, guint rec); /* NULL for TCP_NO_REC */
/* Frame of the first logged copy of byte off of direction d, other than record exclude (0: none). */
uint64_t tcp_first_copy(struct tcp_conn *c, enum dir d, uint64_t off, guint exclude);
void tcp_deliver(struct tcp_conn *c, enum dir d, const uint8_t *buf, size_t len, uint64_t off);
void tcp_report_gap(struct tcp_conn *c, enum dir d, uint64_t off, uint64_t len, enum tcp_gap why);

/* tcp_order.c */
void tcp_order_data(struct tcp_conn *c, enum dir d, uint64_t off, const uint8_t *p, uint32_t caplen,
    uint32_t len, struct ts ts, uint64_t frame, guint rec);
void tcp_order_ack(struct tcp_conn *c, enum dir o, uint64_t ack_off, struct ts ts);
void tcp_order_flush(struct tcp_conn *c, enum dir d, enum tcp_gap why);
void tcp_order_skip_start(struct tcp_conn *c, enum dir d, uint64_t to);
void tcp_order_free(struct tcp_flow *f);

/* tcp_nids.c */
int tcp_nids_init(struct tcp *t, int n_streams, char *errbuf);
void tcp_nids_feed(
    struct tcp_conn *c, enum dir d, const uint8_t *buf, size_t len, uint64_t off, struct ts ts);
void tcp_nids_forget(struct tcp_conn *c);
void tcp_nids_finish(void);
uint64_t tcp_nids_warnings(void);

#endif
