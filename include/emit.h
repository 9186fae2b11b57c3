/* emit.h - output formats: every emitter has the same entry points, found by name. */
#ifndef EMIT_H
#define EMIT_H

#include <stdio.h>

#include "popflow.h"
#include "session.h"

/* Counts over the whole run, for the summary. */
struct run_stats {
	uint64_t packets;       /* frames read */
	uint64_t bytes;         /* captured bytes */
	uint64_t tcp;           /* TCP segments decoded */
	uint64_t pop3_segments; /* TCP segments on POP3 connections */
	uint64_t not_ip, not_tcp, fragments, truncated, malformed;
	uint64_t reassembled_datagrams; /* IP datagrams put together from fragments */
	uint64_t defrag_problems;       /* fragments that could not be put together */
	uint64_t stray;                 /* segments of no session (late ACKs, ...) */
	uint64_t sessions;
	uint64_t attempts;  /* connections refused or unanswered: no session */
	uint64_t other_tcp; /* connections on other ports whose dialogue was not POP3 */
	uint64_t transactions;
	uint64_t anomalies;
	uint64_t reasm_warnings;
	uint64_t late_segments;   /* segments after their connection closed, kept with it */
	uint64_t reassembly_lost; /* stream bytes neither delivered nor reported (a defect) */
	struct ts first, last;
	bool damaged;     /* the capture file ended with an error */
	bool interrupted; /* reading a file was stopped by SIGINT or SIGTERM */
};

struct emit_opts {
	int verbose;           /* -v: segment timeline / "segments" array */
	bool bodies;           /* --bodies: every line of message bodies */
	bool quiet;            /* -q: text without the run's credential roll-up and count line */
	const char *output;    /* -o path (NULL: stdout); for per-session files */
	const char *templates; /* --templates DIR (diagram formats) */
	const char *detail;    /* --detail segments|messages */
	bool fold_acks;
	bool ascii;
	int width;             /* terminal width for -T flow */
	uint64_t only_session; /* --session N, 0 = all */
	/* Diagram formats (diagram.h); all may stay zero. */
	const char *const *aliases; /* --alias ADDR=NAME, as given; ADDR is IP or IP:port */
	size_t naliases;
	int page_rows; /* --page-rows: rows per PNG/PDF page, 0 = 60 */
	bool unicode;  /* --unicode: -T flow box drawing even into a pipe */
	/* Called for every file a diagram emitter writes besides out (main says so). */
	void (*wrote)(void *arg, const char *path);
	void *wrote_arg;
};

/*
 * begin() runs once before the first session and returns the run's
 * context (what the format keeps across sessions), or NULL with errbuf
 * filled; a format that keeps nothing has begin NULL, and its context is
 * NULL.  session() runs once per session as it ends (the session is freed
 * after it returns), end() once with the run's counts; both return 0, or
 * -1 with errbuf filled.  end() is called exactly once after a successful
 * begin() and frees the context; st is NULL when the output has already
 * failed: then end() writes nothing and only frees.  out is the -o stream
 * (stdout by default).
 */
struct emitter {
	const char *name;
	const char *help;
	void *(*begin)(FILE *out, const struct emit_opts *o, char *errbuf);
	int (*session)(
	    void *ctx, FILE *out, const struct session *s, const struct emit_opts *o, char *errbuf);
	int (*end)(void *ctx, FILE *out, const struct run_stats *st, const struct emit_opts *o,
	    char *errbuf);
};

const struct emitter *emit_lookup(const char *name); /* NULL if unknown */
void emit_list(FILE *out);                           /* names and help, for -h */

extern const struct emitter emit_text;
extern const struct emitter emit_json;

#endif
