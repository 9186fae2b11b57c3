/*
 * tls.h - TLS (RFC 5246, RFC 8446) on the in-order stream of a POP3
 * connection: records and handshake messages per direction, and, given the
 * session's secrets (keylog.h), the decrypted application data, each byte
 * still tied to the stream offset that carried it.
 */
#ifndef TLS_H
#define TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "keylog.h"
#include "popflow.h"

struct session;

/* RFC 8446 section 5.1 / RFC 5246 section 6.2: record sizes. */
#define TLS_RECORD_HEADER 5
#define TLS_MAX_RECORD (16384 + 2048) /* TLSCiphertext.length limit (RFC 5246 6.2.3) */
/* Implementation limits: memory stays bounded whatever the peer sends. */
#define TLS_MAX_HS_KEEP 65536  /* bytes of one handshake message kept to be parsed */
#define TLS_MAX_RECS 512       /* records kept for diagrams (not application data) */
#define TLS_MAX_MAP (1u << 20) /* decrypted records whose offsets are kept */
#define TLS_MAX_NAME 255       /* SNI / ALPN shown */

/* Content types (RFC 8446 section 5.1). */
#define TLS_CT_CCS 20
#define TLS_CT_ALERT 21
#define TLS_CT_HANDSHAKE 22
#define TLS_CT_APPDATA 23

/* One record, as drawn in diagrams (only records that are not application data are kept). */
struct tls_rec {
	uint8_t dir;       /* enum dir */
	uint8_t type;      /* content type on the wire */
	uint8_t inner;     /* decrypted content type (TLS 1.3 inner type), 0 if not decrypted */
	bool encrypted;    /* sent under a record protection */
	uint32_t hs_types; /* bit n: handshake message type n was in it (n < 32) */
	uint8_t alert[2];  /* level, description (decrypted or plaintext alerts) */
	uint64_t off, end; /* stream range [off, end), header included */
};

/* What the TLS layer of a connection showed (the session points to it). */
struct tls_info {
	uint16_t version;            /* negotiated (0x0303 TLS 1.2, 0x0304 TLS 1.3); 0 unknown */
	uint16_t cipher;             /* negotiated suite; 0 unknown */
	char *sni;                   /* ClientHello server_name, printable; NULL if none */
	char *alpn;                  /* the protocol chosen, else those offered ("a,b"); NULL */
	bool keys;                   /* the key log held secrets for this connection */
	bool decrypted;              /* application data was decrypted and verified */
	bool encrypt_then_mac;       /* RFC 7366 negotiated (CBC suites) */
	bool extended_master_secret; /* RFC 7627 negotiated (the key log gives the master secret) */
	bool hello_retry;            /* the server sent a HelloRetryRequest */
	unsigned handshakes;         /* ServerHellos seen: more than one is a renegotiation */
	uint64_t records[2];         /* records seen per direction */
	uint64_t app_records[2];     /* application data records decrypted per direction */
	uint64_t bytes[2];           /* plaintext application data bytes per direction */
	uint64_t failed[2];          /* records that did not verify */
	GArray *recs;                /* struct tls_rec: records that are not application data */
	uint64_t recs_dropped;
};

/* Where decrypted bytes go (pop3.c). Plaintext offsets start at SESSION_PLAIN_BASE. */
struct tls_sink {
	/* len decrypted application bytes of direction d at plaintext offset poff. */
	void (*plain)(void *arg, enum dir d, const uint8_t *buf, size_t len, uint64_t poff);
	/* len plaintext bytes at poff are lost (a record that did not verify). */
	void (*plain_gap)(void *arg, enum dir d, uint64_t poff, uint64_t len);
	/* Stream bytes [off, off+len) were not turned into application plaintext. */
	void (*opaque)(void *arg, enum dir d, uint64_t off, uint64_t len);
};

struct tls_conn;

/* kl may be NULL (no keys: records and hellos are still parsed). */
struct tls_conn *tls_conn_new(
    struct session *s, const struct keylog *kl, const struct tls_sink *sink, void *arg);
/* Stream bytes of direction d from offset off, in order (TLS begins at the first one). */
void tls_conn_feed(struct tls_conn *c, enum dir d, const uint8_t *buf, size_t len, uint64_t off);
/* len bytes of direction d at off were never captured. */
void tls_conn_gap(struct tls_conn *c, enum dir d, uint64_t off, uint64_t len);
/* The connection ended: a record cut short is reported, figures settle. */
void tls_conn_end(struct tls_conn *c);
/*
 * The stream offset of plaintext offset poff of direction d.  A message
 * start (end false) that is a record's first byte maps to the record's
 * header; an end (exclusive, end true) that is a record's last byte maps to
 * the end of the record (tag and padding included).
 */
uint64_t tls_conn_map(const struct tls_conn *c, enum dir d, uint64_t poff, bool end);
const struct tls_info *tls_conn_info(const struct tls_conn *c);
void tls_conn_free(struct tls_conn *c);

/* Names for output: "TLS 1.2"; "TLS_AES_128_GCM_SHA256" (or "0xc0ff"); "ClientHello". */
const char *tls_version_name(uint16_t v, char *buf, size_t len);
const char *tls_cipher_name(uint16_t id, char *buf, size_t len);
const char *tls_hs_name(unsigned type);
/* "ClientHello", "ServerHello, Certificate, ...", "ChangeCipherSpec", "Alert (close_notify)"... */
void tls_rec_label(const struct tls_rec *r, char *buf, size_t len);
/*
 * The records of direction d kept in t that overlap stream bytes [from, to),
 * as "ClientHello" or "ServerHello, Certificate; ChangeCipherSpec"; false if none.
 * *handshake says whether one of them is a handshake or ChangeCipherSpec record.
 */
bool tls_info_label(const struct tls_info *t, enum dir d, uint64_t from, uint64_t to,
    bool *handshake, char *buf, size_t len);

/* ---- key derivations, exposed for the unit tests (RFC 5246 section 5, RFC 8446 section 7) ---- */
/* TLS 1.2 PRF with P_<md>, md "SHA256" or "SHA384" ("MD5-SHA1": TLS 1.0/1.1). 0 or -1. */
int tls_prf(const char *md, const uint8_t *secret, size_t secret_len, const char *label,
    const uint8_t *seed, size_t seed_len, uint8_t *out, size_t out_len);
/* TLS 1.3 HKDF-Expand-Label(secret, label, context, out_len); md "SHA256"/"SHA384". 0 or -1. */
int tls13_expand_label(const char *md, const uint8_t *secret, size_t secret_len, const char *label,
    const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t out_len);

#endif
