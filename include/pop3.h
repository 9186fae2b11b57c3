/* pop3.h - POP3 dissector (RFC 1939, 2449, 5034, 2595): stream bytes -> transactions. */
#ifndef POP3_H
#define POP3_H

#include <stddef.h>
#include <stdint.h>

#include "popflow.h"
#include "session.h"

/* RFC limits, as named constants. */
#define POP3_MAX_CMD_LINE 255 /* RFC 2449 section 4: command line incl. CRLF */
#define POP3_MAX_RSP_LINE                                                                          \
	512             /* RFC 1939 section 3 / RFC 2449 section 4: first reply line incl. CRLF */
#define POP3_MAX_ARG 40 /* RFC 1939 section 3: each argument */
/* Implementation limits: memory stays bounded whatever the peer sends. */
#define POP3_MAX_PENDING 64             /* pipelined commands awaiting a reply */
#define POP3_MAX_SASL_LINES 64          /* lines kept per AUTH exchange (RFC 5034: no limit) */
#define POP3_LINE_KEEP 4096             /* bytes of a command/status line kept */
#define POP3_BODY_LINE_BUF 65536        /* a longer body line is handled in pieces */
#define POP3_KEEP_LIST_BYTES (1u << 20) /* LIST/UIDL/CAPA... lines kept for display */

#define POP3_IN_A 0x1 /* AUTHORIZATION */
#define POP3_IN_T 0x2 /* TRANSACTION */

enum pop3_multi { ML_NEVER, ML_ALWAYS, ML_NO_ARG };

enum pop3_cmd {
	POP3_CMD_NONE = 0, /* a reply without a command */
	POP3_CMD_GREETING,
	POP3_CMD_UNKNOWN,
#define POP3_CMD(name, states, ml, ref) POP3_CMD_##name,
#include "pop3_cmds.def"
#undef POP3_CMD
	POP3_CMD__COUNT
};

enum pop3_state {
	POP3_ST_GREETING, /* waiting for the server's greeting */
	POP3_ST_UNKNOWN,  /* joined mid-session: state not known */
	POP3_ST_AUTHORIZATION,
	POP3_ST_TRANSACTION,
	POP3_ST_UPDATE, /* after QUIT in TRANSACTION */
	POP3_ST_TLS,    /* after STLS +OK: TLS; parsed again once decrypted bytes come (tls.h) */
	POP3_ST_OPAQUE, /* not POP3: bytes are counted only */
};

/*
 * Where RETR and TOP bodies go as they arrive (extract.c): the dissector
 * hands on each body dot-unstuffed, in pieces, without keeping it.
 */
struct pop3_mail_sink {
	/* A body begins (after its +OK).  Returns a handle, or NULL: not wanted. */
	void *(*begin)(void *arg, const struct session *s, const struct txn *t);
	/*
	 * The next bytes of the body, exactly as the client stores them.  Returns
	 * false when it wants no more of this body (end() still comes): the
	 * parser stops handing it bytes, so a body no output keeps is not touched.
	 */
	bool (*data)(void *arg, void *h, const uint8_t *buf, size_t len);
	/*
	 * The body ended: complete (its final "." seen) or cut (gap, end of the
	 * connection, not POP3 after all).  Returns the message's headers
	 * (mime.h) or NULL.  A body still to be written under its session's
	 * number (--extract: sessions are numbered when reported) is returned
	 * in *held (NULL if none): place() or discard() it later.
	 */
	struct mail_info *(*end)(void *arg, void *h, const struct session *s, const struct txn *t,
	    bool complete, void **held);
	/* The session is reported, s->id is its number: writes a held body; its path (g_free) or NULL. */
	char *(*place)(void *arg, void *held, const struct session *s);
	/* Forget a body, open or held (the connection is not POP3 after all): nothing is written. */
	void (*discard)(void *arg, void *h);
};

struct pop3_config {
	bool keep_bodies;                  /* keep RETR/TOP bodies (text --bodies, extraction) */
	size_t max_body_keep;              /* cap on a kept body, bytes */
	bool redact;                       /* --redact: replace secrets in the model (creds.h) */
	const struct keylog *keylog;       /* TLS secrets (keylog.h); NULL: TLS is not decrypted */
	const struct pop3_mail_sink *sink; /* NULL: bodies go nowhere */
	void *sink_arg;
};

/* Command table lookups. */
const char *pop3_cmd_name(int cmd);                /* "RETR"; "" for NONE/GREETING/UNKNOWN */
int pop3_cmd_lookup(const char *verb, size_t len); /* case-insensitive; POP3_CMD_UNKNOWN */
enum pop3_multi pop3_cmd_multi(int cmd);
unsigned pop3_cmd_states(int cmd);
const char *pop3_state_name(enum pop3_state st);
const char *pop3_status_name(enum pop3_status st); /* "+OK", "-ERR", NULL */

struct pop3;

/* Returns a parser writing into s; cfg is borrowed for the parser's life. */
struct pop3 *pop3_new(struct session *s, const struct pop3_config *cfg);
/*
 * Feeds len bytes of direction d starting at stream offset off; consumes
 * them all (partial lines are kept inside, bounded).  buf is borrowed.
 */
void pop3_feed(
    struct pop3 *p, enum dir d, const uint8_t *buf, size_t len, uint64_t off, struct ts now);
/*
 * len bytes of direction d at offset off will never come (why: a short
 * reason for the anomaly, or NULL): the parser resynchronises.
 */
void pop3_gap(struct pop3 *p, enum dir d, uint64_t off, uint64_t len, const char *why);
/* The connection ended: pending commands get no reply, cut bodies are partial. */
void pop3_end(struct pop3 *p);
/*
 * The session is reported under its number (session.id, pipeline.c):
 * bodies held for --extract are written to their files, and their
 * transactions' extracted paths set.  Before it, none of them has a name.
 */
void pop3_reported(struct pop3 *p);
enum pop3_state pop3_state(const struct pop3 *p);
void pop3_free(struct pop3 *p);

#endif
