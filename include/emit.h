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

/*
 * What kind of failure an emitter's entry point reported (through
 * emit_opts.fail): main picks the exit status and the wording from it.
 */
enum emit_fail {
	EMIT_FAIL_OUTPUT = 0, /* writing failed (the default): EXIT_OUTPUT */
	EMIT_FAIL_USAGE,      /* the options ask what the format cannot do here: EXIT_USAGE */
	EMIT_FAIL_INPUT,   /* a file the format reads (templates) is missing or bad: EXIT_INPUT */
	EMIT_FAIL_NOTHING, /* nothing to write: no POP3 session to draw: EXIT_NO_SESSION */
};

/* --listings: how the text shows LIST and UIDL listings. */
enum emit_listings {
	EMIT_LISTINGS_FULL = 0, /* every line (the default) */
	EMIT_LISTINGS_SUMMARY,  /* one line: how many messages, and LIST's total octets */
};

/*
 * --time: how text writes times (JSON always writes ISO 8601 UTC).  The
 * names follow tcpdump's -t family where one fits (docs/popflow.1).
 */
enum emit_time {
	EMIT_TIME_UTC,     /* dates in UTC (the default; tcpdump -tttt with TZ=UTC) */
	EMIT_TIME_LOCAL,   /* dates in the local time zone, with its offset (tcpdump -tttt) */
	EMIT_TIME_EPOCH,   /* seconds since 1970 (tcpdump -tt) */
	EMIT_TIME_DELTA,   /* seconds since the previous line (tcpdump -ttt) */
	EMIT_TIME_SESSION, /* seconds since the session's first packet */
	EMIT_TIME_CAPTURE, /* seconds since the capture's first packet (tcpdump -ttttt) */
};

/* --color */
enum emit_color { EMIT_COLOR_AUTO, EMIT_COLOR_ALWAYS, EMIT_COLOR_NEVER };

struct emit_opts {
	int verbose;                    /* -v: segment timeline / "segments" array */
	enum emit_time time;            /* --time (text) */
	bool time_given;                /* --time was given: the -v timeline uses it too */
	bool line_times;                /* --line-times: the time on every transcript line (text) */
	enum emit_color color_when;     /* --color as given */
	bool color;                     /* colour the text and -T flow: --color resolved by main */
	const struct ts *capture_start; /* the capture's first packet (NULL: the session's) */
	int columns;                    /* $COLUMNS (0: not set): -T flow's width in a pipe */
	bool bodies;                    /* --bodies: every line of message bodies */
	bool quiet; /* -q: text without the run's credential roll-up and count line */
	enum emit_listings listings; /* --listings (text) */
	const char *output;          /* -o path (NULL: stdout); for per-session files */
	const char *templates;       /* --templates DIR (diagram formats) */
	const char *detail;          /* --detail segments|messages */
	bool fold_acks;
	bool ascii;
	int width;             /* terminal width for -T flow */
	uint64_t only_session; /* --session N, 0 = all */
	/* Diagram formats (diagram.h); all may stay zero. */
	const char *const *aliases; /* --alias ADDR=NAME, as given; ADDR is IP or IP:port */
	size_t naliases;
	int page_rows; /* --page-rows: rows per PNG/PDF page, 0 = 60 */
	bool unicode;  /* --unicode: -T flow box drawing even into a pipe */
	bool letter;   /* --paper letter: PDF pages of US Letter proportions (default A4) */
	/* Called for every file a diagram emitter writes besides out (main says so). */
	void (*wrote)(void *arg, const char *path);
	void *wrote_arg;
	/* Where an entry point that fails says what kind of failure it is (NULL: not asked). */
	enum emit_fail *fail;
};

/* struct emitter.flags */
/*
 * EMIT_WHOLE: a drawing; its -o file is only worth keeping whole, so main
 * writes a temporary file beside it and renames it when the run succeeds.
 * EMIT_BINARY: binary output (PNG, PDF), refused on a terminal.
 */
#define EMIT_WHOLE 0x1
#define EMIT_BINARY 0x2

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
	unsigned flags; /* EMIT_* */
};

/* Sets *o->fail (when main asked) to say what kind of failure errbuf describes. */
void emit_set_fail(const struct emit_opts *o, enum emit_fail kind);

const struct emitter *emit_lookup(const char *name); /* NULL if unknown */
void emit_list(FILE *out);                           /* names and help, for -h */
/* --time NAME: 0 with *t set, or -1 for a name not in emit_time_names. */
int emit_time_parse(const char *name, enum emit_time *t);
/* "utc|local|epoch|delta|session|capture", for messages. */
extern const char emit_time_names[];

extern const struct emitter emit_text;
extern const struct emitter emit_json;
extern const struct emitter emit_summary;

#endif
