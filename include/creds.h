/* creds.h - login attempts of a session: USER/PASS, APOP, SASL (RFC 5034) decoded; --redact. */
#ifndef CREDS_H
#define CREDS_H

#include <glib.h>

#include "session.h"

/* What --redact puts where a secret was, in every output. */
#define CREDS_REDACTED "<redacted>"

/* What the secret of an attempt is. */
enum cred_secret {
	CRED_SECRET_NONE,     /* no secret seen (USER alone, cancelled, cut) */
	CRED_SECRET_PASSWORD, /* the password itself: USER/PASS, PLAIN, LOGIN */
	CRED_SECRET_DIGEST,   /* a keyed digest of it: APOP, CRAM-MD5 (crackable offline) */
	CRED_SECRET_TOKEN,    /* a bearer token: XOAUTH2, OAUTHBEARER (replayable) */
	CRED_SECRET_RESPONSE, /* a challenge response: NTLM, DIGEST-MD5, SCRAM proof */
	CRED_SECRET_OPAQUE,   /* a token popflow does not decode (GSSAPI, unknown mechanisms) */
};

enum cred_outcome {
	CRED_OUTCOME_NONE,       /* no reply captured */
	CRED_OUTCOME_OK,         /* +OK: logged in */
	CRED_OUTCOME_ERR,        /* -ERR: refused */
	CRED_OUTCOME_CANCELLED,  /* the client cancelled the SASL exchange with "*" */
	CRED_OUTCOME_INCOMPLETE, /* USER accepted (or unanswered) but no PASS followed */
	CRED_OUTCOME_UNKNOWN,    /* the reply was neither +OK nor -ERR (txn.reply_not_pop3) */
};

/* One login attempt.  Strings may hold any bytes (decoded from base64): escape them. */
struct cred {
	uint32_t txn;      /* the PASS / APOP / AUTH transaction (or USER when alone) */
	uint32_t user_txn; /* USER/PASS: the USER transaction, 0 if none */
	char *mechanism;   /* "USER", "APOP", or the SASL mechanism upper-cased */
	char *user;        /* NULL when not known */
	size_t user_len;
	char *authzid; /* SASL authorization identity when one was given, else NULL */
	size_t authzid_len;
	char *secret; /* NULL when none; CREDS_REDACTED after creds_redact() */
	size_t secret_len;
	enum cred_secret secret_kind;
	bool cleartext; /* the password or token itself crossed the wire readable */
	char *salt;     /* APOP: the greeting's timestamp; CRAM-MD5: the decoded challenge */
	size_t salt_len;
	enum cred_outcome outcome;
	char *resp_code; /* RFC 2449 / RFC 3206 code of the final reply, or NULL */
	char *reply;     /* text of the final reply (after the status), or NULL */
	char *note; /* what else can be said (NTLM domain/host, undecodable base64...), or NULL */
	uint64_t frame; /* the frame of the command carrying the secret (0 if unknown) */
	struct ts ts;
};

const char *cred_secret_name(enum cred_secret k); /* "password", "digest", ... "none" */
const char *cred_outcome_name(
    enum cred_outcome o); /* "+OK", "-ERR", "cancelled", "incomplete", "unknown", NULL */

/*
 * Appends the login attempts of a session (struct cred *, freed by
 * cred_free) to out, in the order they were made.  Reads the transactions
 * and their messages; the greeting gives APOP's timestamp.  Needs the
 * session's frames (session_finalize() done) only for cred->frame.
 */
void creds_collect(struct session *s, GPtrArray *out);
void cred_free(struct cred *c);
void cred_free_cb(gpointer c);

/*
 * --redact: replaces every secret in the session's model with
 * CREDS_REDACTED: the PASS argument, the APOP digest, an AUTH initial
 * response, the client lines of SASL exchanges (except "*" and "="),
 * in txn->arg and msg->text alike, and sets txn->redacted.  Every
 * emitter then shows the redacted text without knowing about it.
 */
void creds_redact_session(struct session *s);
/* Replaces the secret of one record (kind and length stay). */
void creds_redact(struct cred *c);

/*
 * Strict base64 (RFC 4648, padding required, no white space).  Returns
 * a new buffer (NUL-terminated, *len bytes) or NULL when s is not base64.
 * "" decodes to an empty buffer.
 */
guchar *creds_b64decode(const char *s, size_t n, size_t *len);

#endif
