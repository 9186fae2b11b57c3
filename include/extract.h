/* extract.h - RETR/TOP bodies to .eml files (--extract DIR) and an mboxrd file (--mbox FILE), and their headers. */
#ifndef EXTRACT_H
#define EXTRACT_H

#include <stdio.h>

#include "pop3.h"

/* A body is kept in memory up to this size, then spooled to a temporary file. */
#define EXTRACT_SPOOL_MEM (1u << 20)
/* ... and all bodies of the run together up to this much memory. */
#define EXTRACT_SPOOL_MEM_TOTAL (64u << 20)

struct extract_config {
	const char *dir;  /* --extract DIR (must exist), or NULL */
	const char *mbox; /* --mbox FILE (created or truncated), or NULL */
	bool headers;     /* parse every body's headers with GMime (mime.h) */
};

struct extract;

/* NULL with errbuf (ERRBUF_SIZE) filled when DIR or FILE cannot be used. */
struct extract *extract_new(const struct extract_config *cfg, char *errbuf);
/* Closes the mbox file.  0, or -1 with errbuf: the first write error of the run. */
int extract_finish(struct extract *x, char *errbuf);
void extract_free(struct extract *x);
uint64_t extract_files(const struct extract *x);      /* .eml files written */
uint64_t extract_mbox_count(const struct extract *x); /* messages written to the mbox */

/* The pop3_mail_sink for pop3_config.sink; sink_arg is the struct extract *. */
extern const struct pop3_mail_sink extract_sink;

/*
 * The file name of a body: "session<S>-msg<N>[-uid-<UID>][-top[<L>]][-partial].eml",
 * the UID with bytes outside [A-Za-z0-9._+=@-] as %XX, L the digits TOP's
 * second argument holds (none if it is not a number).  A UID or L longer than
 * 80 characters is cut and ends in "~" and 16 hex digits of its SHA-256: the
 * name stays within NAME_MAX.  Returns a new string.
 */
char *extract_name(const struct session *s, const struct txn *t, bool complete);
/*
 * mboxrd: the "From " line for a message retrieved at time t (packet time)
 * from sender (NULL: MAILER-DAEMON).  Returns a new string with its LF.
 */
char *extract_from_line(const char *sender, struct ts t);

/* mboxrd writer for one message: CRLF -> LF, ">*From " lines get one more '>'. */
struct mboxrd {
	FILE *f;
	bool bol;       /* at the beginning of a line */
	bool in_prefix; /* matching ">*From " */
	uint64_t gt;    /* '>' seen in the prefix */
	size_t from;    /* characters of "From " matched */
	bool cr;        /* a CR is held back */
	bool any;       /* a byte was written */
	bool last_lf;   /* the last byte written was LF */
};
void mboxrd_begin(struct mboxrd *w, FILE *f);
void mboxrd_write(struct mboxrd *w, const uint8_t *buf, size_t len);
/* Ends the message: a final LF if missing, then the empty separator line. */
void mboxrd_end(struct mboxrd *w);

#endif
