/* session.h - the model every emitter reads: sessions -> transactions -> messages -> segments. */
#ifndef SESSION_H
#define SESSION_H

#include <glib.h>

#include "decode.h"
#include "popflow.h"

/*
 * Offsets from here up name bytes of decrypted TLS application data
 * (tls.h), not bytes of the TCP stream; session.plain_map turns them into
 * the stream offsets of the records that carried them.
 */
#define SESSION_PLAIN_BASE (UINT64_C(1) << 62)

/* Caps that keep one session's memory bounded, whatever the capture holds. */
#define SESSION_MAX_SEGMENTS (1u << 20)
#define SESSION_MAX_ANOMALIES 1000
/*
 * Transactions kept per session: past SESSION_MAX_TXNS, settled ones after
 * the first SESSION_KEEP_FIRST_TXNS are let go (counted), so a connection
 * flooding commands cannot grow memory without bound.
 */
#define SESSION_MAX_TXNS 100000
#define SESSION_KEEP_FIRST_TXNS 1000

enum anom {
#define ANOM(e, name, desc) ANOM_##e,
#include "anomalies.def"
#undef ANOM
	ANOM__COUNT
};

const char *anom_name(enum anom a);
const char *anom_desc(enum anom a);

enum end_reason {
	END_OPEN = 0,    /* not ended (yet) */
	END_FIN,         /* both sides sent FIN */
	END_RST,         /* a side reset the connection */
	END_TIMEOUT,     /* idle too long, or evicted by the reassembler */
	END_EOF,         /* the capture ended with the connection open */
	END_INTERRUPTED, /* live capture stopped by a signal */
	END_REUSED,      /* a new connection took its 4-tuple */
};
const char *end_reason_name(enum end_reason r);

enum handshake { HS_SEEN, HS_SYNTHETIC, HS_MISSING };
const char *handshake_name(enum handshake h);

/* What the connection turned out to carry. */
enum proto {
	PROTO_POP3,     /* plaintext POP3 (also: nothing seen yet) */
	PROTO_TLS,      /* POP3 until STLS was accepted, then TLS */
	PROTO_POP3S,    /* TLS from the first byte (port 995) */
	PROTO_NOT_POP3, /* something else on a POP3 port */
};
const char *proto_name(enum proto p);

/* seg_rec.marks */
#define SEG_RETRANS 0x01    /* carried only bytes already seen */
#define SEG_OOO 0x02        /* filled a hole: arrived after later bytes */
#define SEG_SYNTHETIC 0x04  /* made by popflow (handshake for mid-session captures) */
#define SEG_TRUNCATED 0x08  /* payload cut by the snapshot length */
#define SEG_GAP_BEFORE 0x10 /* bytes before it were never captured */
#define SEG_DUP_ACK 0x20    /* pure ACK repeating the previous ACK */
#define SEG_CONFLICT 0x40   /* retransmission with different bytes */
#define SEG_LATE 0x80       /* after the connection closed (RST, or both FINs) */

/* One TCP segment of the connection, in capture order. */
struct seg_rec {
	uint64_t frame;
	struct ts ts;
	uint64_t off;              /* stream offset of the first payload byte (0 = ISN+1) */
	uint32_t seq, ack;         /* as on the wire */
	uint32_t rel_seq, rel_ack; /* relative to each side's ISN, as Wireshark shows */
	uint32_t len;              /* payload length by the IP header */
	uint32_t caplen;           /* payload bytes captured */
	uint16_t win;
	uint8_t flags;                 /* TH_* */
	uint8_t dir;                   /* enum dir */
	uint8_t marks;                 /* SEG_* */
	uint8_t wscale;                /* SYN: window scale option, shift + 1 (0: none) */
	uint32_t msg_first, msg_count; /* messages it carries: session.msgs[dir] */
};

enum msg_kind {
	MSG_GREETING,  /* the server's first line */
	MSG_COMMAND,   /* a client command line */
	MSG_STATUS,    /* a reply's status line (+OK / -ERR) */
	MSG_BODY,      /* a multi-line reply's lines, with the final "." */
	MSG_CHALLENGE, /* SASL "+ " line from the server */
	MSG_SASL,      /* SASL client line during AUTH */
	MSG_OPAQUE,    /* bytes not parsed: TLS after STLS, not POP3 */
};

struct txn;
struct capa;
struct tls_info;
struct mail_info;

/* One protocol message: the bytes [off, end) of one direction. */
struct msg {
	enum msg_kind kind;
	enum dir dir;
	struct txn *txn;   /* NULL for MSG_OPAQUE */
	uint64_t off, end; /* stream range, line endings included */
	struct ts ts;      /* delivery time of its first byte */
	char *text;        /* the line without its EOL, NUL-terminated; NULL for bodies */
	size_t text_len;   /* bytes in text (it may hold NULs) */
	size_t wire_len;   /* length of the line on the wire, without EOL */
	bool cut;          /* the line ends where bytes are missing (gap, snaplen) */
	bool shed;         /* its transaction is being let go (SESSION_MAX_TXNS) */
	/* MSG_BODY */
	uint64_t octets; /* dot-unstuffed, line endings included, without ".CRLF" */
	uint64_t lines;
	bool complete;       /* the terminating "." was seen */
	GByteArray *data;    /* the unstuffed body, if kept (see pop3_config) */
	bool data_truncated; /* data holds only the start of the body */
	GArray *segs;        /* guint: indices into session.segs, set when the session ends */
};

/* txn.held: where the dissector (pop3.c) points to a transaction. */
#define TXN_HELD_PENDING 0x1 /* in the queue of commands awaiting a reply */
#define TXN_HELD_BODY 0x2    /* its multi-line reply is being read */
#define TXN_HELD_SASL 0x4    /* its AUTH exchange is in progress */

enum pop3_status { POP3_STATUS_NONE = 0, POP3_STATUS_OK, POP3_STATUS_ERR };

/* A command and its reply (or a reply alone, or the greeting). */
struct txn {
	uint32_t id; /* 1-based in the session; 0 for the greeting */
	int cmd;     /* enum pop3_cmd (pop3.h) */
	char *verb;  /* the keyword as sent, upper-cased; "" for none */
	char *arg;   /* everything after the keyword and one space */
	size_t arg_len;
	enum pop3_status status;
	char *text; /* status line text after the indicator */
	size_t text_len;
	char *resp_code; /* RFC 2449 [CODE] or NULL */
	bool multiline;
	bool partial; /* cut short: no reply, no final ".", gap or end */
	/*
	 * The line where its reply belongs was neither +OK nor -ERR: status_msg
	 * is that line, text the line itself, status POP3_STATUS_NONE (unknown).
	 */
	bool reply_not_pop3;
	/*
	 * TXN_HELD_* bits, set while the dissector keeps a pointer to the
	 * transaction (pop3.c).  A held transaction is never settled, so never
	 * let go past SESSION_MAX_TXNS: what the dissector holds stays valid.
	 */
	uint8_t held;
	/* pop3.c: when its last client line was read, counted in lines of both directions. */
	uint64_t read_at;
	uint64_t body_octets, body_lines;
	struct msg *cmd_msg, *status_msg, *body_msg;
	GPtrArray *msgs; /* struct msg *, all of this txn's messages in order */
	/*
	 * Protocol details (pop3.c).  Pointers below are owned by the dissector
	 * and stay valid until pop3_free(), which runs after the session is emitted.
	 */
	uint32_t msgno; /* RETR/TOP/LIST/UIDL/DELE: the message number argument, 0 if none */
	int64_t
	    announced_octets; /* RETR: size the server announced, -1 if none (never used for framing) */
	const char *announced_by; /* where that size came from: "LIST", "STAT", "reply" */
	char *uidl;               /* the message's unique id, when UIDL told it before (owned) */
	struct capa *capa;        /* CAPA: the parsed listing (capa.h) */
	struct mail_info *mail;   /* RETR/TOP: headers of the message (mime.h) */
	const char *extracted;    /* --extract: the file the body was written to */
	bool redacted;            /* --redact replaced secrets in arg and in its messages' text */
};

struct session {
	/* 1-based in report order: given when the session is reported (pipeline.c), 0 before. */
	uint64_t id;
	struct endpoint client, server;
	struct ts start, last; /* first and last packet */
	uint64_t first_frame, last_frame;
	enum end_reason end_reason;
	enum handshake handshake;
	enum proto proto;
	struct txn *greeting; /* NULL if none captured */
	GPtrArray *txns;      /* struct txn *, owned */
	uint32_t txn_next_id;
	uint64_t txns_dropped; /* settled transactions let go (SESSION_MAX_TXNS) */
	GArray *anomalies;     /* struct anomaly */
	uint64_t anomalies_dropped;
	GArray *segs; /* struct seg_rec */
	uint64_t segs_dropped;
	/* session_frame_at()'s index, built on demand: per direction, the indices into segs of the
	 * segments that carried bytes beyond all before them (so their ends increase). */
	GArray *frame_index[2];
	guint frame_indexed;          /* segs entries looked at so far */
	uint64_t frame_index_end[2];  /* the highest end among them */
	GPtrArray *msgs[2];              /* struct msg *, per direction in stream order */
	GPtrArray *opaque;               /* MSG_OPAQUE messages, owned */
	uint64_t packets[2], payload[2]; /* per direction, as captured */
	uint64_t unparsed[2];            /* bytes delivered but not parsed as POP3 */
	bool candidate;                  /* on a non-POP3 port: POP3 only if its dialogue says so */
	bool confirmed;                  /* a POP3 command got a POP3 reply */
	void *pop3;                      /* struct pop3 *: the dissector's state */
	void *user;                      /* the wiring's per-session data */
	/* Protocol details (pop3.c); pointers owned by the dissector, valid until pop3_free(). */
	GPtrArray *creds;      /* struct cred * (creds.h): login attempts, in order; NULL if none */
	bool utf8;             /* RFC 6856: the UTF8 command was accepted */
	const char *lang;      /* RFC 6856: the language a LANG command switched to, or NULL */
	uint64_t tls_start[2]; /* PROTO_TLS/POP3S: stream offset where TLS begins per direction */
	uint64_t tls_segments[2]; /* segments carrying TLS bytes per direction (set at the end) */
	const struct tls_info
	    *tls; /* the TLS layer (tls.h), NULL if none; owned by the dissector */
	/* Plaintext offset (>= SESSION_PLAIN_BASE) -> stream offset; NULL when nothing was decrypted. */
	uint64_t (*plain_map)(const void *arg, enum dir d, uint64_t off);
	const void *plain_arg;
};

struct anomaly {
	enum anom kind;
	enum dir dir;
	uint64_t frame; /* 0 if unknown */
	uint32_t txn;   /* txn id, 0 if none */
	char *detail;   /* NUL-terminated, printable ASCII */
};

/* Model building (pop3.c and session.c use these). */
/* A new transaction: appended to s->txns, or (greeting) stored as s->greeting. */
struct txn *session_txn_new(struct session *s, int cmd, bool greeting);
/* Drops every transaction and message (the connection turned out not to be POP3). */
void session_clear_txns(struct session *s);
void session_clear_anomalies(struct session *s);
struct msg *session_msg_new(
    struct session *s, struct txn *t, enum msg_kind kind, enum dir d, uint64_t off, struct ts ts);
void session_anomaly(struct session *s, enum anom kind, enum dir d, uint64_t off,
    const struct txn *t, const char *fmt, ...) G_GNUC_PRINTF(6, 7);
/* The same, for an anomaly tied to a frame rather than to stream bytes. */
void session_anomaly_at(struct session *s, enum anom kind, enum dir d, uint64_t frame,
    const struct txn *t, const char *fmt, ...) G_GNUC_PRINTF(6, 7);
/* Frame that carried byte off of direction d; for bytes never captured, the frame after them (0 if none). */
uint64_t session_frame_at(struct session *s, enum dir d, uint64_t off);
void session_clear_segs(struct session *s);
/*
 * RFC 7323 window scaling of direction d's windows: the shift count d's SYN
 * asked for when both SYNs carried the option, 0 when one did not (no
 * scaling), -1 when a SYN is not in the capture (scale unknown).  A SYN's
 * own window is never scaled.
 */
int session_win_shift(const struct session *s, enum dir d);
/* Frame of a message's first segment (0 if none recorded). */
uint64_t msg_first_frame(const struct session *s, const struct msg *m);
int session_anomaly_count(const struct session *s, enum anom kind);
/*
 * Puts the anomalies in frame order (those of no frame last, the
 * anomaly_limit record last of all); equal frames keep the order they were
 * found in.  The wiring calls it once the session has ended.
 */
void session_sort_anomalies(struct session *s);

/* A new empty session (the TCP stage makes them; tests may too). */
struct session *session_new(
    uint64_t id, const struct endpoint *client, const struct endpoint *server);
/* Frees a session and everything it owns except ->pop3 and ->user (NULL is fine). */
void session_free(struct session *s);
/* Maps segments to messages; the TCP stage calls it when a session ends. Idempotent. */
void session_finalize(struct session *s);

#endif
