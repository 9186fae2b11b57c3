/* options.h - the command line parsed into one struct; main.c runs what it says. */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stdio.h>

#include "capture.h"
#include "emit.h"
#include "extract.h"
#include "pipeline.h"

/* --alias options kept. */
#define OPTIONS_MAX_ALIASES 16
/*
 * Live captures: sessions idle this long are reported and freed.  RFC 1939
 * servers may wait 10 minutes before logging an idle client out.
 */
#define OPTIONS_LIVE_IDLE_TIMEOUT 900

/* What the command line asks for. */
enum options_action {
	OPTIONS_RUN,     /* read -r FILE or -i IFACE */
	OPTIONS_HELP,    /* -h: print options_usage() to stdout */
	OPTIONS_VERSION, /* --version */
	OPTIONS_LIST,    /* -D: list the interfaces */
};

/* What main prints after the error message when options_parse() fails. */
enum options_hint {
	OPTIONS_HINT_NONE,
	OPTIONS_HINT_USAGE,   /* the usage text (options_usage) */
	OPTIONS_HINT_FORMATS, /* the list of formats (emit_list) */
	OPTIONS_HINT_INPUT,   /* none, and the input cannot be read: exit status 2 (a glob matched
	                         no file) */
};

struct options {
	enum options_action action;
	enum options_hint hint; /* set when options_parse() fails */
	/*
	 * The capture files, in the order given: each -r FILE (a FILE with glob
	 * characters that names no file is expanded with glob(3), sorted), and
	 * the existing files that directly follow one ("-r ring*.pcap" as the
	 * shell expands it).  "-": standard input, alone.  NULL-terminated, owned.
	 */
	char **files;
	size_t nfiles;
	const char *iface;           /* -i IFACE, or NULL */
	const char *format;          /* -T (default "text") */
	const struct emitter *em;    /* the -T format's emitter */
	const char *outpath;         /* -o FILE, or NULL */
	const char *dumppath;        /* -w FILE, or NULL */
	const char *user;            /* -Z USER, or NULL */
	uint64_t max_sessions;       /* -c N (0: never stop) */
	char *filter;                /* the BPF expression (the rest of the line), or NULL; owned */
	struct pipeline_config pc;   /* ports, --idle-timeout, --max-connections, --redact */
	struct capture_live_opts lo; /* -s, -p, -B */
	struct extract_config xc;    /* --extract, --mbox */
	const char *keylog;          /* --keylog FILE: TLS secrets (keylog.h), or NULL */
	struct emit_opts eo;         /* -v, --bodies and the diagram options */
	const char *aliases[OPTIONS_MAX_ALIASES]; /* eo.aliases points here */
	int naliases;
};

/*
 * Parses argv into o (which must not be copied afterwards: o->eo.aliases
 * points into it).  0, or -1 with errbuf filled (getopt's own messages
 * are off: options.c words them) and o->hint saying what else to print.
 * Call options_free() either way.
 */
int options_parse(struct options *o, int argc, char **argv, char *errbuf);
void options_free(struct options *o);
/* The -h text. */
void options_usage(FILE *f);

#endif
