/* options.c - the command line: getopt_long into struct options, and the -h text. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

/*
 * The -h text.  Groups and options are those of README's option tables and
 * docs/popflow.1; tests/package/run.sh checks that the three agree.
 */
void
options_usage(FILE *f)
{
	fprintf(f,
	    "Usage: popflow -r FILE [FILE...] [options] [BPF expression]\n"
	    "       popflow -i IFACE [options] [BPF expression]\n"
	    "       popflow -D | -h | --version\n"
	    "Turns POP3 sessions in a capture into a readable transcript, JSON or diagrams.\n"
	    "\n"
	    "Input:\n"
	    "  -r FILE            read a capture file: pcap, pcapng, compressed (gz, zst,\n"
	    "                     lz4) or not (- for standard input); several (-r each,\n"
	    "                     -r 'ring*.pcap', or the files right after -r FILE) are\n"
	    "                     merged by time, as mergecap does\n"
	    "  -i IFACE           capture live from an interface (any: all of them; a\n"
	    "                     number: that interface of popflow -D's list)\n"
	    "  --port N           also treat TCP port N as POP3 (repeatable; 110 always is)\n"
	    "  --idle-timeout S   end sessions idle for S seconds (default: never for files,\n"
	    "                     by packet time; 900 live, by the clock; 0: never)\n"
	    "  --max-connections N  TCP connections followed at once (default 6144)\n"
	    "  --keylog FILE      decrypt TLS (STLS, port 995) with this NSS key log\n"
	    "                     (SSLKEYLOGFILE); keys inside a pcapng are always used\n"
	    "  -c N               stop reading after N sessions have ended (sessions still\n"
	    "                     open then are reported as interrupted)\n"
	    "Output:\n"
	    "  -T FORMAT          output format (default text):\n");
	emit_list(f);
	fprintf(f,
	    "  -o FILE            write the output to FILE instead of standard output\n"
	    "  -v                 text: add the per-segment timeline; json: add \"segments\"\n"
	    "  -q                 quiet: no progress line on a terminal; text: no credential\n"
	    "                     roll-up and no count line at the end\n"
	    "  --bodies           text: show every line of message bodies, not a summary\n"
	    "  --listings full|summary  text: LIST and UIDL listings line by line\n"
	    "                     (default) or as one line, a count and a total\n"
	    "  --session N        only session N, numbered in output order (diagrams: one\n"
	    "                     file instead of one each)\n"
	    "  --redact           hide passwords, digests, tokens and SASL data everywhere\n"
	    "  --extract DIR      write every RETR/TOP body to DIR as an .eml file, as is\n"
	    "  --mbox FILE        write every retrieved message to FILE (mboxrd)\n"
	    "  -w FILE            also write the packets popflow read (those the filter\n"
	    "                     kept, up to where -c stopped) to a pcap file\n"
	    "  --time FORMAT      text: how times are written: utc (default), local,\n"
	    "                     epoch, delta (since the line before), session (since\n"
	    "                     the session's first packet) or capture (since the\n"
	    "                     capture's first packet)\n"
	    "  --line-times       text: the time on every line of the transcript\n"
	    "  --color WHEN       text, -T flow: colour -ERR replies, anomalies and\n"
	    "                     credentials: auto (default: on a terminal, unless\n"
	    "                     NO_COLOR or TERM=dumb), always or never\n"
	    "Diagrams (-T dot, svg, png, pdf, flow, mermaid, plantuml, fdl):\n"
	    "  --detail segments|messages  one arrow per TCP segment (default) or per\n"
	    "                     POP3 message\n"
	    "  --fold-acks        fold runs of pure ACKs into one row (\"3 x TCP ACK\")\n"
	    "  --alias ADDR=NAME  name a lifeline; ADDR is IP or IP:port (repeatable)\n"
	    "  --templates DIR    remark texts from DIR instead of the installed ones\n"
	    "  --page-rows N      png, pdf, plantuml: rows per page at most (default 60)\n"
	    "  --paper a4|letter  pdf: pages of A4 (default) or US Letter size\n"
	    "  --ascii            -T flow: ASCII characters only, no colour\n"
	    "  --unicode          -T flow: box drawing even into a pipe\n"
	    "  --width N          -T flow: columns (default: the terminal's, else $COLUMNS,\n"
	    "                     else 100)\n"
	    "Live capture (-i):\n"
	    "  -D                 list the interfaces popflow can capture on\n"
	    "  -s SNAPLEN         bytes kept per packet (default and 0: 262144)\n"
	    "  -p                 do not put the interface in promiscuous mode\n"
	    "  -B KIB             kernel capture buffer size in KiB (default 131072)\n"
	    "Other:\n"
	    "  -Z USER            user to become once the input and the output files are\n"
	    "                     open (-i as root: nobody by default; -Z root keeps root)\n"
	    "  -h, --help         this help\n"
	    "  --version          print the version\n"
	    "\n"
	    "Exit status: 0 ok, 1 usage error or bad filter (also: the output is the\n"
	    "input file; -T png/pdf to a terminal; several sessions to standard output\n"
	    "in a format that holds one), 2 input cannot be read (also: the diagram\n"
	    "templates), 3 output cannot be written (also: a directory the user of -Z\n"
	    "cannot write; a closed pipe, quietly), 4 the capture file is damaged\n"
	    "part-way (what was read before the damage is analysed and written), 5\n"
	    "reading a file was interrupted (Ctrl-C, SIGTERM: open sessions are\n"
	    "reported as interrupted), 6 nothing to report: --session N names no\n"
	    "session, or a diagram format found no POP3 session to draw.\n"
	    "Manual: man popflow; JSON contract: docs/json.md.\n");
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

enum {
	OPT_PORT = 256,
	OPT_VERSION,
	OPT_BODIES,
	OPT_IDLE,
	OPT_MAX_CONN,
	OPT_REDACT,
	OPT_EXTRACT,
	OPT_MBOX,
	OPT_KEYLOG,
	OPT_DETAIL,
	OPT_FOLD,
	OPT_TEMPLATES,
	OPT_SESSION,
	OPT_ASCII,
	OPT_UNICODE,
	OPT_ALIAS,
	OPT_PAGE_ROWS,
	OPT_WIDTH,
	OPT_TIME,
	OPT_LINE_TIMES,
	OPT_COLOR,
	OPT_PAPER,
	OPT_LISTINGS,
};

static const struct option options_long[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"version", no_argument, NULL, OPT_VERSION},
    {"bodies", no_argument, NULL, OPT_BODIES},
    {"idle-timeout", required_argument, NULL, OPT_IDLE},
    {"max-connections", required_argument, NULL, OPT_MAX_CONN},
    {"redact", no_argument, NULL, OPT_REDACT},
    {"extract", required_argument, NULL, OPT_EXTRACT},
    {"mbox", required_argument, NULL, OPT_MBOX},
    {"keylog", required_argument, NULL, OPT_KEYLOG},
    {"detail", required_argument, NULL, OPT_DETAIL},
    {"fold-acks", no_argument, NULL, OPT_FOLD},
    {"templates", required_argument, NULL, OPT_TEMPLATES},
    {"session", required_argument, NULL, OPT_SESSION},
    {"ascii", no_argument, NULL, OPT_ASCII},
    {"unicode", no_argument, NULL, OPT_UNICODE},
    {"alias", required_argument, NULL, OPT_ALIAS},
    {"page-rows", required_argument, NULL, OPT_PAGE_ROWS},
    {"width", required_argument, NULL, OPT_WIDTH},
    {"time", required_argument, NULL, OPT_TIME},
    {"line-times", no_argument, NULL, OPT_LINE_TIMES},
    {"color", required_argument, NULL, OPT_COLOR},
    {"paper", required_argument, NULL, OPT_PAPER},
    {"listings", required_argument, NULL, OPT_LISTINGS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void
add_file(struct options *o, const char *path)
{
	o->files = g_renew(char *, o->files, o->nfiles + 2);
	o->files[o->nfiles++] = g_strdup(path);
	o->files[o->nfiles] = NULL;
}

/*
 * -r's argument: a file (or "-"), or, when it has glob characters and names
 * no file, the files glob(3) finds for it, sorted (-r 'ring*.pcap' quoted,
 * so the shell leaves it to popflow).  0, or -1 with errbuf filled.
 */
static int
add_files(struct options *o, const char *arg, char *errbuf)
{
	struct stat st;
	glob_t g;
	size_t i;
	int rc;

	if (strpbrk(arg, "*?[") == NULL || stat(arg, &st) == 0) {
		add_file(o, arg);
		return 0;
	}
	memset(&g, 0, sizeof(g));
	rc = glob(arg, GLOB_ERR, NULL, &g);
	if (rc != 0) {
		snprintf(errbuf, ERRBUF_SIZE, "-r %s: %s", arg,
		    rc == GLOB_NOMATCH       ? "no file matches the pattern"
		        : rc == GLOB_ABORTED ? "a directory of the pattern cannot be read"
		                             : "cannot expand the pattern");
		o->hint = OPTIONS_HINT_INPUT;
		globfree(&g);
		return -1;
	}
	for (i = 0; i < g.gl_pathc; i++)
		add_file(o, g.gl_pathv[i]);
	globfree(&g);
	return 0;
}

/*
 * The capture files together: standard input cannot be merged with other
 * files (it is read as it comes, and once), and a file given twice would
 * have its packets merged with themselves.  0, or -1 with errbuf filled.
 */
static int
check_files(struct options *o, char *errbuf)
{
	struct stat *st;
	bool *known;
	size_t i, j;
	int rc = 0;

	for (i = 0; i < o->nfiles && o->nfiles > 1; i++)
		if (strcmp(o->files[i], "-") == 0) {
			snprintf(errbuf, ERRBUF_SIZE,
			    "-r -: standard input cannot be read together with other capture "
			    "files (merge them first: mergecap -w - FILE... | popflow -r -)");
			return -1;
		}
	st = g_new0(struct stat, o->nfiles);
	known = g_new0(bool, o->nfiles);
	for (i = 0; i < o->nfiles && rc == 0; i++) {
		known[i] = stat(o->files[i], &st[i]) == 0 && !S_ISDIR(st[i].st_mode);
		for (j = 0; j < i && known[i] && rc == 0; j++)
			if (known[j] && st[j].st_dev == st[i].st_dev &&
			    st[j].st_ino == st[i].st_ino) {
				if (strcmp(o->files[i], o->files[j]) == 0)
					snprintf(errbuf, ERRBUF_SIZE,
					    "-r %s: the file is given twice", o->files[i]);
				else
					snprintf(errbuf, ERRBUF_SIZE,
					    "-r %s: the same file as %s, given before", o->files[i],
					    o->files[j]);
				rc = -1;
			}
	}
	g_free(st);
	g_free(known);
	return rc;
}

/* A word after -r's files that names an existing file (not a directory): one more of them. */
static bool
is_more_files(const char *arg)
{
	struct stat st;

	return strcmp(arg, "-") != 0 && stat(arg, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* One option and its argument into o: 0, or -1 with errbuf filled. */
static int
options_one(struct options *o, int c, const char *arg, bool *idle_set, char *errbuf)
{
	unsigned long v;

	switch (c) {
	case 'r':
		return add_files(o, arg, errbuf);
	case 'i':
		o->iface = arg;
		break;
	case 'T':
		o->format = arg;
		break;
	case 'o':
		o->outpath = arg;
		break;
	case 'v':
		o->eo.verbose++;
		break;
	case 'q':
		o->eo.quiet = true;
		break;
	case OPT_PORT:
		if (parse_uint(arg, 65535, &v) < 0 || v == 0) {
			snprintf(errbuf, ERRBUF_SIZE, "--port: '%s' is not a port number", arg);
			return -1;
		}
		pipeline_add_port(&o->pc, (uint16_t)v);
		break;
	case OPT_BODIES:
		o->eo.bodies = true;
		break;
	case OPT_LISTINGS:
		if (strcmp(arg, "full") == 0) {
			o->eo.listings = EMIT_LISTINGS_FULL;
		} else if (strcmp(arg, "summary") == 0) {
			o->eo.listings = EMIT_LISTINGS_SUMMARY;
		} else {
			snprintf(errbuf, ERRBUF_SIZE, "--listings: 'full' or 'summary'");
			return -1;
		}
		break;
	case OPT_IDLE:
		if (parse_uint(arg, 86400 * 365, &v) < 0) {
			snprintf(errbuf, ERRBUF_SIZE,
			    "--idle-timeout: '%s' is not a number of seconds", arg);
			return -1;
		}
		o->pc.idle_timeout = (uint32_t)v;
		*idle_set = true;
		break;
	case 'D':
		o->action = OPTIONS_LIST;
		break;
	case 'c':
		if (parse_uint(arg, ULONG_MAX, &v) < 0 || v == 0) {
			snprintf(errbuf, ERRBUF_SIZE, "-c: '%s' is not a number of sessions", arg);
			return -1;
		}
		o->max_sessions = v;
		break;
	case 'w':
		o->dumppath = arg;
		break;
	case 's':
		if (parse_uint(arg, CAPTURE_DEFAULT_SNAPLEN, &v) < 0) {
			snprintf(errbuf, ERRBUF_SIZE, "-s: '%s' is not a snapshot length (0-%d)",
			    arg, CAPTURE_DEFAULT_SNAPLEN);
			return -1;
		}
		o->lo.snaplen = (int)v;
		break;
	case 'p':
		o->lo.promisc = false;
		break;
	case 'B':
		if (parse_uint(arg, 1ul << 21, &v) < 0 || v == 0) {
			snprintf(errbuf, ERRBUF_SIZE, "-B: '%s' is not a buffer size in KiB", arg);
			return -1;
		}
		o->lo.buffer_size = (int)(v * 1024);
		break;
	case 'Z':
		o->user = arg;
		break;
	case OPT_MAX_CONN:
		/*
		 * libnids follows 3 * size / 4 + 1 connections at once
		 * (it evicts when more than 3 * size / 4 are open).
		 */
		if (parse_uint(arg, 1u << 24, &v) < 0 || v < 2) {
			snprintf(errbuf, ERRBUF_SIZE,
			    "--max-connections: '%s' is not a count from 2 up", arg);
			return -1;
		}
		o->pc.max_streams = (int)((4 * (v - 1) + 2) / 3);
		break;
	case OPT_REDACT:
		o->pc.pop3.redact = true;
		break;
	case OPT_EXTRACT:
		o->xc.dir = arg;
		break;
	case OPT_MBOX:
		o->xc.mbox = arg;
		break;
	case OPT_KEYLOG:
		o->keylog = arg;
		break;
	case OPT_DETAIL:
		if (strcmp(arg, "segments") != 0 && strcmp(arg, "messages") != 0) {
			snprintf(errbuf, ERRBUF_SIZE, "--detail: 'segments' or 'messages'");
			return -1;
		}
		o->eo.detail = arg;
		break;
	case OPT_FOLD:
		o->eo.fold_acks = true;
		break;
	case OPT_TEMPLATES:
		o->eo.templates = arg;
		break;
	case OPT_SESSION:
		if (parse_uint(arg, UINT32_MAX, &v) < 0 || v == 0) {
			snprintf(
			    errbuf, ERRBUF_SIZE, "--session: '%s' is not a session number", arg);
			return -1;
		}
		o->eo.only_session = v;
		break;
	case OPT_ASCII:
		o->eo.ascii = true;
		break;
	case OPT_UNICODE:
		o->eo.unicode = true;
		break;
	case OPT_ALIAS:
		if (strchr(arg, '=') == NULL || o->naliases >= OPTIONS_MAX_ALIASES) {
			snprintf(errbuf, ERRBUF_SIZE, "--alias: ADDR=NAME, at most %d",
			    OPTIONS_MAX_ALIASES);
			return -1;
		}
		o->aliases[o->naliases++] = arg;
		o->eo.aliases = o->aliases;
		o->eo.naliases = (size_t)o->naliases;
		break;
	case OPT_PAGE_ROWS:
		if (parse_uint(arg, 100000, &v) < 0 || v < 5) {
			snprintf(errbuf, ERRBUF_SIZE, "--page-rows: a number from 5 up");
			return -1;
		}
		o->eo.page_rows = (int)v;
		break;
	case OPT_WIDTH:
		if (parse_uint(arg, 1000, &v) < 0 || v < 40) {
			snprintf(errbuf, ERRBUF_SIZE, "--width: a number of columns from 40 up");
			return -1;
		}
		o->eo.width = (int)v;
		break;
	case OPT_TIME:
		if (emit_time_parse(arg, &o->eo.time) < 0) {
			snprintf(errbuf, ERRBUF_SIZE, "--time: '%s' is not one of %s", arg,
			    emit_time_names);
			return -1;
		}
		o->eo.time_given = true;
		break;
	case OPT_LINE_TIMES:
		o->eo.line_times = true;
		break;
	case OPT_COLOR:
		if (strcmp(arg, "auto") == 0)
			o->eo.color_when = EMIT_COLOR_AUTO;
		else if (strcmp(arg, "always") == 0)
			o->eo.color_when = EMIT_COLOR_ALWAYS;
		else if (strcmp(arg, "never") == 0)
			o->eo.color_when = EMIT_COLOR_NEVER;
		else {
			snprintf(errbuf, ERRBUF_SIZE, "--color: 'auto', 'always' or 'never'");
			return -1;
		}
		break;
	case OPT_PAPER:
		if (g_ascii_strcasecmp(arg, "a4") == 0)
			o->eo.letter = false;
		else if (g_ascii_strcasecmp(arg, "letter") == 0)
			o->eo.letter = true;
		else {
			snprintf(errbuf, ERRBUF_SIZE, "--paper: 'a4' or 'letter'");
			return -1;
		}
		break;
	default:
		snprintf(errbuf, ERRBUF_SIZE, "option %d not handled", c);
		return -1;
	}
	return 0;
}

/*
 * What getopt_long refused (opterr is 0, so it printed nothing): the
 * message in errbuf, prefixed by main with "popflow: " whatever argv[0] is.
 * c is getopt's return (':' a missing argument, '?' anything else).
 */
static void
options_refused(int c, char **argv, char *errbuf)
{
	const char *word = optind > 0 ? argv[optind - 1] : "?";
	const struct option *lo;
	GString *cands;
	size_t n;
	int hits = 0;

	if (optopt > 0 && optopt < 256 && strncmp(word, "--", 2) != 0) {
		/* A short option, maybe inside a cluster such as -vx. */
		if (c == ':')
			snprintf(errbuf, ERRBUF_SIZE, "-%c: needs an argument", optopt);
		else
			snprintf(errbuf, ERRBUF_SIZE, "-%c: unknown option", optopt);
		return;
	}
	n = strcspn(word, "=");
	if (c == ':') {
		snprintf(errbuf, ERRBUF_SIZE, "%.*s: needs an argument", (int)n, word);
		return;
	}
	if (optopt != 0) {
		/* A known long option given "=VALUE" though it takes none. */
		snprintf(errbuf, ERRBUF_SIZE, "%.*s: takes no argument", (int)n, word);
		return;
	}
	/* An unknown long option, or an abbreviation of several. */
	cands = g_string_new(NULL);
	for (lo = options_long; lo->name != NULL && n > 2; lo++)
		if (strncmp(lo->name, word + 2, n - 2) == 0) {
			g_string_append_printf(cands, "%s--%s", hits > 0 ? ", " : "", lo->name);
			hits++;
		}
	if (hits > 1)
		snprintf(errbuf, ERRBUF_SIZE, "%.*s: ambiguous: %s", (int)n, word, cands->str);
	else
		snprintf(errbuf, ERRBUF_SIZE, "%.*s: unknown option", (int)n, word);
	g_string_free(cands, TRUE);
}

int
options_parse(struct options *o, int argc, char **argv, char *errbuf)
{
	bool idle_set = false, after_r = false;
	GString *filter;
	int c;

	memset(o, 0, sizeof(*o));
	errbuf[0] = '\0';
	o->action = OPTIONS_RUN;
	o->format = "text";
	o->lo.promisc = true;
	o->xc.headers = true;
	pipeline_add_port(&o->pc, 110);
	pipeline_add_tls_port(&o->pc, 995);
	optind = 0; /* glibc: start afresh, so options_parse() can run more than once */
	opterr = 0; /* getopt would print argv[0]'s full path: options_refused() says it */
	filter = g_string_new(NULL);
	/*
	 * "-": the words that are not options come in their place (as option 1),
	 * so the files that directly follow -r FILE can be told from the filter.
	 */
	while (
	    (c = getopt_long(argc, argv, "-:r:i:T:o:vqhDc:w:s:pB:Z:", options_long, NULL)) != -1) {
		if (c == 1) {
			/*
			 * Existing files right after -r FILE are capture files too (what
			 * the shell makes of -r ring*.pcap); any other word starts, or
			 * continues, the filter.  "--" ends the files: the rest is the filter.
			 */
			if (after_r && is_more_files(optarg)) {
				add_file(o, optarg);
			} else {
				if (filter->len > 0)
					g_string_append_c(filter, ' ');
				g_string_append(filter, optarg);
				after_r = false;
			}
			continue;
		}
		after_r = c == 'r';
		if (c == '?' || c == ':') {
			options_refused(c, argv, errbuf);
			o->hint = OPTIONS_HINT_USAGE;
			g_string_free(filter, TRUE);
			return -1;
		}
		/* -h and --version act at once, as they always have, whatever follows. */
		if (c == 'h' || c == OPT_VERSION) {
			o->action = c == 'h' ? OPTIONS_HELP : OPTIONS_VERSION;
			g_string_free(filter, TRUE);
			return 0;
		}
		if (options_one(o, c, optarg, &idle_set, errbuf) < 0) {
			g_string_free(filter, TRUE);
			return -1;
		}
	}
	/* After "--": the filter, as tcpdump takes it. */
	for (c = optind; c < argc; c++) {
		if (filter->len > 0)
			g_string_append_c(filter, ' ');
		g_string_append(filter, argv[c]);
	}
	o->filter = g_string_free(filter, filter->len == 0); /* NULL when empty */
	if (o->action == OPTIONS_LIST)
		return 0;
	if ((o->nfiles == 0) == (o->iface == NULL)) {
		snprintf(errbuf, ERRBUF_SIZE, "give exactly one of -r FILE or -i IFACE");
		o->hint = OPTIONS_HINT_USAGE;
		return -1;
	}
	if (check_files(o, errbuf) < 0)
		return -1;
	o->em = emit_lookup(o->format);
	if (o->em == NULL) {
		snprintf(errbuf, ERRBUF_SIZE, "-T %s: unknown format; formats:", o->format);
		o->hint = OPTIONS_HINT_FORMATS;
		return -1;
	}
	if (o->iface != NULL && !idle_set)
		o->pc.idle_timeout = OPTIONS_LIVE_IDLE_TIMEOUT;
	return 0;
}

void
options_free(struct options *o)
{
	g_free(o->filter);
	o->filter = NULL;
	g_strfreev(o->files);
	o->files = NULL;
	o->nfiles = 0;
}
