/* keylog.h - TLS session secrets: NSS key log files and pcapng Decryption Secrets Blocks. */
#ifndef KEYLOG_H
#define KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "popflow.h"

/* Secrets kept per client random (never printed anywhere). */
#define KEYLOG_RANDOM_LEN 32
#define KEYLOG_MAX_SECRET 48 /* SHA-384: the longest secret a supported suite uses */
/* Implementation limits: memory stays bounded whatever a file holds. */
#define KEYLOG_MAX_ENTRIES 1000000
#define KEYLOG_MAX_LINE 1024
#define KEYLOG_MAX_DSB (64u << 20) /* bytes of one Decryption Secrets Block read */

/* The secrets of one key log line label (NSS key log format). */
enum keylog_secret {
	KEYLOG_MASTER,       /* CLIENT_RANDOM: TLS 1.2 and earlier master secret (48 bytes) */
	KEYLOG_CLIENT_HS,    /* CLIENT_HANDSHAKE_TRAFFIC_SECRET (TLS 1.3) */
	KEYLOG_SERVER_HS,    /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
	KEYLOG_CLIENT_APP_0, /* CLIENT_TRAFFIC_SECRET_0 */
	KEYLOG_SERVER_APP_0, /* SERVER_TRAFFIC_SECRET_0 */
	KEYLOG__COUNT
};

struct keylog_entry {
	uint8_t random[KEYLOG_RANDOM_LEN];
	uint8_t secret[KEYLOG__COUNT][KEYLOG_MAX_SECRET];
	uint8_t len[KEYLOG__COUNT]; /* 0: not in the key log */
};

struct keylog;

struct keylog *keylog_new(void);
void keylog_free(struct keylog *kl);
/*
 * Adds the lines of an NSS key log text.  Comments, blank lines and labels
 * popflow does not use are skipped; lines that do not parse are counted
 * (keylog_bad_lines); source names the text in keylog_first_bad().  Never fails.
 */
void keylog_add_text(struct keylog *kl, const char *source, const char *text, size_t len);
/* Reads an NSS key log file.  Returns 0, or -1 with errbuf filled (the file cannot be read). */
int keylog_load_file(struct keylog *kl, const char *path, char *errbuf);
/*
 * Reads the TLS key logs a pcapng file carries in Decryption Secrets Blocks
 * (pcapng draft section 4.7, secrets type 0x544c534b) and in the key log
 * lines of its Section Header Block comments.  A file that is not a regular
 * pcapng file is left alone (returns 0).  Returns the number of blocks read,
 * or -1 with errbuf filled when the file is damaged (what was read is kept).
 */
int keylog_load_pcapng(struct keylog *kl, const char *path, char *errbuf);
/* Secrets for a client random, or NULL. */
const struct keylog_entry *keylog_find(const struct keylog *kl, const uint8_t *client_random);
size_t keylog_count(const struct keylog *kl);       /* client randoms with secrets */
uint64_t keylog_bad_lines(const struct keylog *kl); /* lines that did not parse */
/* The first line that did not parse: "FILE line N" (no secret in it), or NULL. */
const char *keylog_first_bad(const struct keylog *kl);

#endif
