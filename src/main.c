/* main.c - the command line: options, wiring the stages, printing errors, choosing the exit code. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "emit.h"
#include "extract.h"
#include "pipeline.h"
#include "privdrop.h"

/* --alias options kept. */
#define MAIN_MAX_ALIASES 16
/* Frame warnings printed before the rest are only counted. */
#define MAIN_MAX_WARNINGS 20
/*
 * Live captures: sessions idle this long are reported and freed.  RFC 1939
 * servers may wait 10 minutes before logging an idle client out.
 */
#define MAIN_LIVE_IDLE_TIMEOUT 900

struct run {
	const char *input;
	FILE *out;
	const struct emitter *em;
	struct emit_opts eo;
	uint64_t warnings;
	bool output_failed;
	char errbuf[ERRBUF_SIZE];
	struct capture *cap;
	uint64_t max_sessions; /* -c: stop after this many have ended (0: never) */
	uint64_t ended;        /* sessions that ended on their own (not by the stop) */
	bool count_reached;
	const char *aliases[MAIN_MAX_ALIASES];
	int naliases;
};

static struct capture *volatile signal_cap;

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: popflow -r FILE [options] [BPF expression]\n"
	    "       popflow -i IFACE [options] [BPF expression]\n"
	    "Turns POP3 sessions in a capture into a readable transcript, JSON or diagrams.\n"
	    "\n"
	    "  -r FILE          read a pcap or pcapng file (- for standard input)\n"
	    "  -i IFACE         capture live from an interface (any: all of them)\n"
	    "  -D               list the interfaces popflow can capture on\n"
	    "  -T FORMAT        output format (default text):\n");
	emit_list(f);
	fprintf(f,
	    "  -o FILE          write the output to FILE instead of standard output\n"
	    "  -v               text: add the per-segment timeline; json: add \"segments\"\n"
	    "  --port N         also treat TCP port N as POP3 (repeatable; 110 always is)\n"
	    "  --bodies         text: show every line of message bodies, not a summary\n"
	    "  --idle-timeout S end sessions idle for S seconds (default: 900 live, never for "
	    "files)\n"
	    "  --redact         hide passwords, digests, tokens and SASL data in every output\n"
	    "  --extract DIR    write every RETR/TOP body to DIR as an .eml file, byte for byte\n"
	    "  --mbox FILE      write every retrieved message to FILE (mboxrd)\n"
	    "Live captures (-i):\n"
	    "  -c N             stop after N sessions have ended (open ones: interrupted)\n"
	    "  -w FILE          also write the packets popflow read to a pcap file\n"
	    "  -s SNAPLEN       bytes kept per packet (default and 0: 262144)\n"
	    "  -p               do not put the interface in promiscuous mode\n"
	    "  -B KIB           kernel capture buffer size in KiB\n"
	    "  -Z USER          user to become once the capture is open (default when\n"
	    "                   root: nobody; -Z root keeps root)\n"
	    "  --max-connections N  TCP connections followed at once (default 49152)\n"
	    "  -h, --help       this help\n"
	    "  --version        print the version\n"
	    "\n"
	    "Exit status: 0 ok, 1 usage error or bad filter, 2 input cannot be read,\n"
	    "3 output cannot be written, 4 the capture file is damaged part-way (what\n"
	    "was read before the damage is analysed and written).\n");
}

static void
on_warn(void *arg, uint64_t frame, const char *msg)
{
	struct run *r = arg;

	if (r->warnings++ < MAIN_MAX_WARNINGS)
		fprintf(stderr, "popflow: %s: frame %llu: %s\n", r->input,
		    (unsigned long long)frame, msg);
	else if (r->warnings == MAIN_MAX_WARNINGS + 1)
		fprintf(stderr,
		    "popflow: %s: further frame warnings are counted in the summary only\n",
		    r->input);
}

static void
on_emit(void *arg, const struct session *s)
{
	struct run *r = arg;

	if (r->output_failed)
		return;
	if (r->max_sessions != 0 && s->end_reason != END_INTERRUPTED && s->end_reason != END_EOF &&
	    ++r->ended >= r->max_sessions && !r->count_reached) {
		/* -c: this one is still written; sessions open now end as interrupted. */
		r->count_reached = true;
		if (r->cap != NULL)
			capture_stop_now(r->cap);
	}
	if (r->eo.only_session != 0 && s->id != r->eo.only_session)
		return;
	if (r->em->session(r->out, s, &r->eo, r->errbuf) < 0) {
		r->output_failed = true;
		if (r->cap != NULL)
			capture_stop_now(r->cap);
	}
}

/* Diagram formats write a file per session or page; say which. */
static void
on_wrote(void *arg, const char *path)
{
	(void)arg;
	fprintf(stderr, "popflow: wrote %s\n", path);
}

static void
on_signal(int sig)
{
	(void)sig;
	if (signal_cap != NULL)
		capture_stop(signal_cap);
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
	OPT_DETAIL,
	OPT_FOLD,
	OPT_TEMPLATES,
	OPT_SESSION,
	OPT_ASCII,
	OPT_UNICODE,
	OPT_ALIAS,
	OPT_PAGE_ROWS,
	OPT_WIDTH,
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"port", required_argument, NULL, OPT_PORT},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {"bodies", no_argument, NULL, OPT_BODIES},
	    {"idle-timeout", required_argument, NULL, OPT_IDLE},
	    {"max-connections", required_argument, NULL, OPT_MAX_CONN},
	    {"redact", no_argument, NULL, OPT_REDACT},
	    {"extract", required_argument, NULL, OPT_EXTRACT},
	    {"mbox", required_argument, NULL, OPT_MBOX},
	    {"detail", required_argument, NULL, OPT_DETAIL},
	    {"fold-acks", no_argument, NULL, OPT_FOLD},
	    {"templates", required_argument, NULL, OPT_TEMPLATES},
	    {"session", required_argument, NULL, OPT_SESSION},
	    {"ascii", no_argument, NULL, OPT_ASCII},
	    {"unicode", no_argument, NULL, OPT_UNICODE},
	    {"alias", required_argument, NULL, OPT_ALIAS},
	    {"page-rows", required_argument, NULL, OPT_PAGE_ROWS},
	    {"width", required_argument, NULL, OPT_WIDTH},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct run r;
	struct pipeline_config pc;
	struct pipeline *pl = NULL;
	struct capture_live_opts lo;
	const char *file = NULL, *iface = NULL, *format = "text", *outpath = NULL;
	const char *dumppath = NULL, *user = NULL;
	bool list_ifaces = false, idle_set = false;
	struct extract_config xc = {NULL, NULL, true};
	struct extract *ex = NULL;
	char *filter = NULL;
	unsigned long v;
	int c, rc = EXIT_OK, runrc = 0;

	memset(&r, 0, sizeof(r));
	memset(&pc, 0, sizeof(pc));
	memset(&lo, 0, sizeof(lo));
	lo.promisc = true;
	pipeline_add_port(&pc, 110);
	pipeline_add_tls_port(&pc, 995);
	while ((c = getopt_long(argc, argv, "r:i:T:o:vhDc:w:s:pB:Z:", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			file = optarg;
			break;
		case 'i':
			iface = optarg;
			break;
		case 'T':
			format = optarg;
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'v':
			r.eo.verbose++;
			break;
		case OPT_PORT:
			if (parse_uint(optarg, 65535, &v) < 0 || v == 0) {
				fprintf(
				    stderr, "popflow: --port: '%s' is not a port number\n", optarg);
				return EXIT_USAGE;
			}
			pipeline_add_port(&pc, (uint16_t)v);
			break;
		case OPT_BODIES:
			r.eo.bodies = true;
			break;
		case OPT_IDLE:
			if (parse_uint(optarg, 86400 * 365, &v) < 0) {
				fprintf(stderr,
				    "popflow: --idle-timeout: '%s' is not a number of seconds\n",
				    optarg);
				return EXIT_USAGE;
			}
			pc.idle_timeout = (uint32_t)v;
			idle_set = true;
			break;
		case 'D':
			list_ifaces = true;
			break;
		case 'c':
			if (parse_uint(optarg, ULONG_MAX, &v) < 0 || v == 0) {
				fprintf(stderr, "popflow: -c: '%s' is not a number of sessions\n",
				    optarg);
				return EXIT_USAGE;
			}
			r.max_sessions = v;
			break;
		case 'w':
			dumppath = optarg;
			break;
		case 's':
			if (parse_uint(optarg, CAPTURE_DEFAULT_SNAPLEN, &v) < 0) {
				fprintf(stderr,
				    "popflow: -s: '%s' is not a snapshot length (0-%d)\n", optarg,
				    CAPTURE_DEFAULT_SNAPLEN);
				return EXIT_USAGE;
			}
			lo.snaplen = (int)v;
			break;
		case 'p':
			lo.promisc = false;
			break;
		case 'B':
			if (parse_uint(optarg, 1ul << 21, &v) < 0 || v == 0) {
				fprintf(stderr, "popflow: -B: '%s' is not a buffer size in KiB\n",
				    optarg);
				return EXIT_USAGE;
			}
			lo.buffer_size = (int)(v * 1024);
			break;
		case 'Z':
			user = optarg;
			break;
		case OPT_MAX_CONN:
			/*
			 * libnids follows 3 * size / 4 + 1 connections at once
			 * (it evicts when more than 3 * size / 4 are open).
			 */
			if (parse_uint(optarg, 1u << 24, &v) < 0 || v < 2) {
				fprintf(stderr,
				    "popflow: --max-connections: '%s' is not a count from 2 up\n",
				    optarg);
				return EXIT_USAGE;
			}
			pc.max_streams = (int)((4 * (v - 1) + 2) / 3);
			break;
		case OPT_REDACT:
			pc.pop3.redact = true;
			break;
		case OPT_EXTRACT:
			xc.dir = optarg;
			break;
		case OPT_MBOX:
			xc.mbox = optarg;
			break;
		case OPT_DETAIL:
			if (strcmp(optarg, "segments") != 0 && strcmp(optarg, "messages") != 0) {
				fprintf(stderr, "popflow: --detail: 'segments' or 'messages'\n");
				return EXIT_USAGE;
			}
			r.eo.detail = optarg;
			break;
		case OPT_FOLD:
			r.eo.fold_acks = true;
			break;
		case OPT_TEMPLATES:
			r.eo.templates = optarg;
			break;
		case OPT_SESSION:
			if (parse_uint(optarg, UINT32_MAX, &v) < 0 || v == 0) {
				fprintf(stderr,
				    "popflow: --session: '%s' is not a session number\n", optarg);
				return EXIT_USAGE;
			}
			r.eo.only_session = v;
			break;
		case OPT_ASCII:
			r.eo.ascii = true;
			break;
		case OPT_UNICODE:
			r.eo.unicode = true;
			break;
		case OPT_ALIAS:
			if (strchr(optarg, '=') == NULL || r.naliases >= MAIN_MAX_ALIASES) {
				fprintf(stderr, "popflow: --alias: ADDR=NAME, at most %d\n",
				    MAIN_MAX_ALIASES);
				return EXIT_USAGE;
			}
			r.aliases[r.naliases++] = optarg;
			r.eo.aliases = r.aliases;
			r.eo.naliases = r.naliases;
			break;
		case OPT_PAGE_ROWS:
			if (parse_uint(optarg, 100000, &v) < 0 || v < 5) {
				fprintf(stderr, "popflow: --page-rows: a number from 5 up\n");
				return EXIT_USAGE;
			}
			r.eo.page_rows = (int)v;
			break;
		case OPT_WIDTH:
			if (parse_uint(optarg, 1000, &v) < 0 || v < 40) {
				fprintf(
				    stderr, "popflow: --width: a number of columns from 40 up\n");
				return EXIT_USAGE;
			}
			r.eo.width = (int)v;
			break;
		case OPT_VERSION:
			printf("popflow %s (%s)\n", POPFLOW_VERSION, pcap_lib_version());
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (list_ifaces) {
		if (capture_list_interfaces(stdout, r.errbuf) < 0) {
			fprintf(stderr, "popflow: %s\n", r.errbuf);
			return EXIT_INPUT;
		}
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_OUTPUT;
	}
	if ((file == NULL) == (iface == NULL)) {
		fprintf(stderr, "popflow: give exactly one of -r FILE or -i IFACE\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	r.em = emit_lookup(format);
	if (r.em == NULL) {
		fprintf(stderr, "popflow: -T %s: unknown format; formats:\n", format);
		emit_list(stderr);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		/* The filter is the rest of the command line, as tcpdump takes it. */
		GString *f = g_string_new(NULL);
		for (c = optind; c < argc; c++) {
			if (f->len > 0)
				g_string_append_c(f, ' ');
			g_string_append(f, argv[c]);
		}
		filter = g_string_free(f, FALSE);
	}
	r.input = file != NULL ? (strcmp(file, "-") == 0 ? "stdin" : file) : iface;
	if (file != NULL) {
		r.cap = capture_open_file(file, r.errbuf);
	} else {
		if (!idle_set)
			pc.idle_timeout = MAIN_LIVE_IDLE_TIMEOUT;
		r.cap = capture_open_live(iface, &lo, r.errbuf);
		if (r.cap != NULL && r.errbuf[0] != '\0')
			fprintf(stderr, "popflow: %s\n", r.errbuf); /* libpcap's warning */
	}
	if (r.cap == NULL) {
		fprintf(stderr, "popflow: %s\n", r.errbuf);
		g_free(filter);
		return EXIT_INPUT;
	}
	if (capture_set_filter(r.cap, filter, r.errbuf) < 0) {
		fprintf(stderr, "popflow: %s\n", r.errbuf);
		rc = EXIT_USAGE;
		goto out;
	}
	r.out = stdout;
	if (outpath != NULL && strcmp(outpath, "-") != 0) {
		r.out = fopen(outpath, "w");
		if (r.out == NULL) {
			fprintf(stderr, "popflow: %s: %s\n", outpath, strerror(errno));
			rc = EXIT_OUTPUT;
			goto out;
		}
	}
	if (dumppath != NULL) {
		if (strcmp(dumppath, "-") == 0 && r.out == stdout) {
			fprintf(stderr,
			    "popflow: -w - needs -o FILE: both would go to standard output\n");
			rc = EXIT_USAGE;
			goto out;
		}
		if (capture_dump_open(r.cap, dumppath, r.errbuf) < 0) {
			fprintf(stderr, "popflow: -w %s: %s\n", dumppath, r.errbuf);
			rc = EXIT_OUTPUT;
			goto out;
		}
	}
	/* --extract DIR, --mbox FILE; headers of retrieved mail are always read (mime.h). */
	ex = extract_new(&xc, r.errbuf);
	if (ex == NULL) {
		fprintf(stderr, "popflow: %s\n", r.errbuf);
		rc = EXIT_OUTPUT;
		goto out;
	}
	pc.pop3.sink = &extract_sink;
	pc.pop3.sink_arg = ex;
	/* Capture and output files are open: give up root before the first packet (privdrop.h). */
	if ((iface != NULL || user != NULL) && privdrop(user, NULL, 0, r.errbuf) < 0) {
		fprintf(stderr, "popflow: %s\n", r.errbuf);
		rc = EXIT_USAGE;
		goto out;
	}
	r.eo.output = outpath;
	r.eo.wrote = on_wrote;
	r.eo.wrote_arg = &r;
	pc.dlt = capture_datalink(r.cap);
	pc.pop3.keep_bodies = r.eo.bodies;
	pc.pop3.max_body_keep = 64u << 20;
	pc.emit = on_emit;
	pc.warn = on_warn;
	pc.arg = &r;
	pl = pipeline_new(&pc, r.errbuf);
	if (pl == NULL) {
		fprintf(stderr, "popflow: %s: %s\n", r.input, r.errbuf);
		rc = EXIT_INPUT;
		goto out;
	}
	if (r.em->begin != NULL && r.em->begin(r.out, &r.eo, r.errbuf) < 0) {
		r.output_failed = true;
		goto finish;
	}
	signal_cap = r.cap;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (capture_is_live(r.cap)) {
		/* As tcpdump says it; tests wait for this line. */
		fprintf(stderr,
		    "popflow: listening on %s, link-type %s (%s), snapshot length %d bytes\n",
		    iface,
		    pcap_datalink_val_to_name(pc.dlt) != NULL ? pcap_datalink_val_to_name(pc.dlt)
		                                              : "?",
		    pcap_datalink_val_to_description(pc.dlt) != NULL
		        ? pcap_datalink_val_to_description(pc.dlt)
		        : "?",
		    pcap_snapshot(capture_pcap(r.cap)));
		fflush(stderr);
	}
	runrc = capture_run(r.cap, pipeline_frame, pipeline_idle, pl, r.errbuf);
	if (runrc < 0) {
		/* Frames before the damage were analysed: report them, then the error. */
		fprintf(stderr, "popflow: %s\n", r.errbuf);
		rc = EXIT_DAMAGED;
	}
finish:
	pipeline_finish(pl, capture_is_live(r.cap) || r.count_reached ? END_INTERRUPTED : END_EOF);
	if (!r.output_failed) {
		struct run_stats st = *pipeline_stats(pl);
		st.damaged = runrc < 0;
		if (r.em->end != NULL && r.em->end(r.out, &st, &r.eo, r.errbuf) < 0)
			r.output_failed = true;
	}
	if (r.output_failed) {
		fprintf(
		    stderr, "popflow: %s: %s\n", outpath != NULL ? outpath : "stdout", r.errbuf);
		rc = EXIT_OUTPUT;
	}
	if (extract_finish(ex, r.errbuf) < 0) {
		fprintf(stderr, "popflow: %s\n", r.errbuf);
		rc = EXIT_OUTPUT;
	}
	if (capture_is_live(r.cap) && capture_print_stats(r.cap, stderr, r.errbuf) < 0)
		fprintf(stderr, "popflow: %s\n", r.errbuf); /* tcpdump's report, from pcap_stats */
out:
	if (capture_dump_close(r.cap, r.errbuf) < 0) {
		fprintf(stderr, "popflow: -w %s\n", r.errbuf);
		if (rc == EXIT_OK)
			rc = EXIT_OUTPUT;
	}
	signal_cap = NULL;
	pipeline_free(pl);
	extract_free(ex);
	capture_close(r.cap);
	if (r.out != NULL && r.out != stdout && fclose(r.out) != 0 && rc == EXIT_OK) {
		fprintf(stderr, "popflow: %s: %s\n", outpath, strerror(errno));
		rc = EXIT_OUTPUT;
	}
	g_free(filter);
	return rc;
}
