/* main.c - runs what the command line asks (options.c parses it): wiring the stages, printing
 * errors, choosing the exit code. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "capture.h"
#include "emit.h"
#include "extract.h"
#include "frameid.h"
#include "keylog.h"
#include "options.h"
#include "progress.h"
#include "pipeline.h"
#include "privdrop.h"
#include "util.h"

/* Frame warnings printed before the rest are only counted. */
#define MAIN_MAX_WARNINGS 20

struct run {
	const char *input; /* the file, "N capture files", or the interface: for messages */
	char inputs[32];
	FILE *out;
	struct util_outfile
	    of; /* -o of a drawing (EMIT_WHOLE): kept only when something was drawn */
	const struct emitter *em;
	void *em_ctx; /* what em->begin() returned */
	bool begun;   /* em->begin() succeeded: em->end() is due */
	struct emit_opts eo;
	struct pipeline *pl;
	struct progress *progress; /* on a terminal, for -r FILE (progress.h) */
	uint64_t frames;
	bool out_tty; /* the output is a terminal: the progress line is erased before it */
	uint64_t warnings;
	bool output_failed;
	bool pipe_closed;    /* the reader of standard output went away (| head): stop quietly */
	enum emit_fail fail; /* what kind of failure the emitter reported (emit.h) */
	char errbuf[ERRBUF_SIZE];
	struct capture *cap;
	uint64_t max_sessions; /* -c: stop after this many have ended (0: never) */
	uint64_t ended;        /* sessions that ended on their own (not by the stop) */
	bool count_reached;
	bool only_seen; /* --session N: session N was reported */
};

static struct capture *volatile signal_cap;
static volatile sig_atomic_t signal_seen; /* SIGINT or SIGTERM arrived */

static void
on_warn(void *arg, uint64_t frame, const char *msg)
{
	struct run *r = arg;

	if (r->warnings < MAIN_MAX_WARNINGS + 1)
		progress_clear(r->progress);
	if (r->warnings++ < MAIN_MAX_WARNINGS)
		fprintf(stderr, "popflow: %s: frame %llu: %s\n",
		    frameid_capture_name(frame) != NULL ? frameid_capture_name(frame) : r->input,
		    (unsigned long long)frameid_number(frame), msg);
	else if (r->warnings == MAIN_MAX_WARNINGS + 1)
		fprintf(stderr,
		    "popflow: %s: further frame warnings are counted in the summary only\n",
		    r->input);
}

/* The frame_fn of a file read with a progress line: the pipeline, then the line. */
static void
on_frame(void *arg, int dlt, uint64_t frame_no, const struct pcap_pkthdr *h, const uint8_t *frame)
{
	struct run *r = arg;
	uint64_t done, total;

	pipeline_frame(r->pl, dlt, frame_no, h, frame);
	/* Looking at the file position costs nothing much: progress_update() decides when. */
	if (++r->frames % 256 == 0 && capture_progress(r->cap, &done, &total) == 0)
		progress_update(r->progress, done, pipeline_stats(r->pl)->sessions);
}

static void
on_emit(void *arg, const struct session *s)
{
	struct run *r = arg;

	if (r->out_tty)
		progress_clear(r->progress); /* the output goes to the same terminal */

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
	r->only_seen = true;
	if (r->em->session(r->em_ctx, r->out, s, &r->eo, r->errbuf) < 0) {
		r->output_failed = true;
		r->pipe_closed = errno == EPIPE;
		if (r->cap != NULL)
			capture_stop_now(r->cap);
	}
}

/* Diagram formats write a file per session or page; say which. */
static void
on_wrote(void *arg, const char *path)
{
	struct run *r = arg;

	progress_clear(r->progress);
	fprintf(stderr, "popflow: wrote %s\n", path);
}

static void
on_signal(int sig)
{
	(void)sig;
	signal_seen = 1;
	if (signal_cap != NULL)
		capture_stop(signal_cap);
}

/*
 * --color auto: colour only on a terminal, and not when NO_COLOR is set
 * to anything (no-color.org) or TERM is dumb.
 */
static bool
color_wanted(enum emit_color when, FILE *out)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	if (when != EMIT_COLOR_AUTO)
		return when == EMIT_COLOR_ALWAYS;
	return isatty(fileno(out)) && (no == NULL || no[0] == '\0') &&
	    (term == NULL || strcmp(term, "dumb") != 0);
}

/* $COLUMNS as a width for -T flow in a pipe; 0 when unset or not a number. */
static int
columns_env(void)
{
	const char *c = getenv("COLUMNS");
	char *end;
	long v;

	if (c == NULL || c[0] == '\0')
		return 0;
	v = strtol(c, &end, 10);
	return *end == '\0' && v > 0 && v <= 100000 ? (int)v : 0;
}

/*
 * -o, -w and --mbox must not name a capture file being read (through a
 * symbolic or hard link too): opening them for writing would destroy it.
 * Prints why and returns -1 when one does.
 */
static int
same_file_as_input(const struct options *o)
{
	const struct {
		const char *opt, *path;
	} outs[] = {{"-o", o->outpath}, {"-w", o->dumppath}, {"--mbox", o->xc.mbox}};
	struct stat in, st;
	size_t i, k;

	for (k = 0; k < o->nfiles; k++) {
		if (strcmp(o->files[k], "-") == 0 || stat(o->files[k], &in) != 0)
			continue;
		for (i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
			if (outs[i].path == NULL || strcmp(outs[i].path, "-") == 0 ||
			    stat(outs[i].path, &st) != 0)
				continue; /* a file that does not exist yet cannot be the input */
			if (st.st_dev == in.st_dev && st.st_ino == in.st_ino) {
				fprintf(stderr,
				    "popflow: %s %s: that is %s being read (-r %s); "
				    "refusing to overwrite it\n",
				    outs[i].opt, outs[i].path,
				    o->nfiles > 1 ? "a capture file" : "the capture file",
				    o->files[k]);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * A filter that does not compile and begins with what looks like a file
 * name: a capture file that does not exist, taken for the filter because
 * only existing files after -r are capture files (options.h).  Says so.
 */
static void
filter_looks_like_file(const struct options *o)
{
	static const char *const exts[] = {".pcap", ".cap", ".gz", ".zst", ".lz4"};
	struct stat st;
	char *word;
	size_t i;
	bool like = false;

	if (o->filter == NULL)
		return;
	word = g_strndup(o->filter, strcspn(o->filter, " "));
	/* BPF words have no '/' first, nor '*' or '?' ("tcp[13]" has '['). */
	like = strchr(word, '/') != NULL || strpbrk(word, "*?") != NULL;
	for (i = 0; i < G_N_ELEMENTS(exts) && !like; i++)
		like = strstr(word, exts[i]) != NULL;
	if (stat(word, &st) == 0 && S_ISDIR(st.st_mode))
		fprintf(stderr,
		    "popflow: '%s' was read as the filter: it is a directory (its capture "
		    "files: -r '%s/*')\n",
		    word, word);
	else if (like && stat(word, &st) != 0)
		fprintf(stderr,
		    "popflow: '%s' was read as the filter: there is no such file (capture "
		    "files are -r FILE, each, or the existing files right after one; a "
		    "pattern in quotes: -r 'ring*.pcap')\n",
		    word);
	g_free(word);
}

/*
 * Files popflow creates after it gives up root (privdrop.h) are created by
 * the new user: --extract's, and a drawing's -o file with its per-session
 * files (FILE-1.svg, ...) beside it.  Checks that user can write those
 * directories before any packet is read; prints why and returns -1 if not.
 */
static int
dirs_writable_after_drop(const struct options *o, const struct util_outfile *of, char *errbuf)
{
	char what[ERRBUF_SIZE], *dir;
	int rc = 0;

	if (o->xc.dir != NULL) {
		g_snprintf(what, sizeof(what), "--extract %s", o->xc.dir);
		rc = privdrop_check_dir(o->user, what, o->xc.dir, errbuf);
	}
	/* A drawing's -o: renamed into place, and FILE-N.ext beside it (unless --session N). */
	if (rc == 0 && of->path != NULL && (of->tmp != NULL || o->eo.only_session == 0)) {
		dir = g_path_get_dirname(o->outpath);
		g_snprintf(what, sizeof(what), "-o %s", o->outpath);
		rc = privdrop_check_dir(o->user, what, dir, errbuf);
		g_free(dir);
	}
	if (rc < 0)
		fprintf(stderr, "popflow: %s\n", errbuf);
	return rc;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct run r;
	struct pipeline *pl = NULL;
	struct extract *ex = NULL;
	struct keylog *kl = NULL;
	uint64_t done, total;
	int rc = EXIT_OK, runrc = 0;
	bool interrupted = false;

	memset(&r, 0, sizeof(r));
	/*
	 * Every session allocates and frees its buffers (the TCP stage's ring,
	 * libnids' halves, GMime's objects): keep up to 32 MiB of freed heap
	 * rather than hand it back to the kernel and fault it in again for the
	 * next session (glibc trims at 128 KiB by default; bench/RESULTS.md).
	 */
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
	if (options_parse(&o, argc, argv, r.errbuf) < 0) {
		if (r.errbuf[0] != '\0')
			fprintf(stderr, "popflow: %s\n", r.errbuf);
		if (o.hint == OPTIONS_HINT_USAGE)
			options_usage(stderr);
		else if (o.hint == OPTIONS_HINT_FORMATS)
			emit_list(stderr);
		options_free(&o);
		return o.hint == OPTIONS_HINT_INPUT ? EXIT_INPUT : EXIT_USAGE;
	}
	switch (o.action) {
	case OPTIONS_HELP:
		options_usage(stdout);
		return EXIT_OK;
	case OPTIONS_VERSION:
		printf("popflow %s (%s)\n", POPFLOW_VERSION, pcap_lib_version());
		return EXIT_OK;
	case OPTIONS_LIST:
		if (capture_list_interfaces(stdout, r.errbuf) < 0) {
			fprintf(stderr, "popflow: %s\n", r.errbuf);
			return EXIT_INPUT;
		}
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_OUTPUT;
	case OPTIONS_RUN:
		break;
	}
	r.em = o.em;
	r.eo = o.eo;
	r.eo.fail = &r.fail;
	if ((r.em->flags & EMIT_BINARY) && (o.outpath == NULL || strcmp(o.outpath, "-") == 0) &&
	    isatty(STDOUT_FILENO)) {
		char *up = g_ascii_strup(o.format, -1);
		fprintf(stderr,
		    "popflow: -T %s: standard output is a terminal, and %s is binary: write it "
		    "to a file with -o FILE (or redirect standard output)\n",
		    o.format, up);
		g_free(up);
		options_free(&o);
		return EXIT_USAGE;
	}
	r.max_sessions = o.max_sessions;
	r.input = o.nfiles > 0 ? (strcmp(o.files[0], "-") == 0 ? "stdin" : o.files[0]) : o.iface;
	if (o.nfiles > 0) {
		r.cap = capture_open_files((const char *const *)o.files, o.nfiles, r.errbuf);
		if (r.cap != NULL && o.nfiles > 1) {
			/* Frames name their file (frameid.h), in the order capture.c numbered them. */
			const char **names = g_new(const char *, o.nfiles);
			for (size_t i = 0; i < o.nfiles; i++)
				names[i] = capture_file_name(r.cap, i);
			frameid_set_files(names, o.nfiles);
			g_free(names);
			g_snprintf(r.inputs, sizeof(r.inputs), "%zu capture files", o.nfiles);
			r.input = r.inputs;
		} else {
			frameid_set_files(&r.input, 1);
		}
	} else {
		r.cap = capture_open_live(o.iface, &o.lo, r.errbuf);
		if (r.cap != NULL && r.errbuf[0] != '\0')
			fprintf(stderr, "popflow: %s\n", r.errbuf); /* libpcap's warning */
	}
	if (r.cap == NULL) {
		fprintf(stderr, "popflow: %s\n", r.errbuf);
		options_free(&o);
		frameid_reset();
		return EXIT_INPUT;
	}
	if (o.iface != NULL)
		r.input = capture_name(r.cap); /* -i 3: the interface it stands for */
	if (capture_set_filter(r.cap, o.filter, r.errbuf) < 0) {
		fprintf(stderr, "popflow: %s\n", r.errbuf);
		filter_looks_like_file(&o);
		rc = EXIT_USAGE;
		goto out;
	}
	if (same_file_as_input(&o) < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	r.out = stdout;
	if (o.outpath != NULL && strcmp(o.outpath, "-") != 0 && (r.em->flags & EMIT_WHOLE)) {
		/* A drawing: a temporary file beside -o, renamed only if something is drawn. */
		if (util_outfile_open(&r.of, o.outpath, r.errbuf) < 0) {
			fprintf(stderr, "popflow: %s\n", r.errbuf);
			rc = EXIT_OUTPUT;
			goto out;
		}
		r.out = r.of.f;
	} else if (o.outpath != NULL && strcmp(o.outpath, "-") != 0) {
		r.out = fopen(o.outpath, "w");
		if (r.out == NULL) {
			fprintf(stderr, "popflow: %s: %s\n", o.outpath, strerror(errno));
			rc = EXIT_OUTPUT;
			goto out;
		}
	}
	if (o.dumppath != NULL) {
		if (strcmp(o.dumppath, "-") == 0 && r.out == stdout) {
			fprintf(stderr,
			    "popflow: -w - needs -o FILE: both would go to standard output\n");
			rc = EXIT_USAGE;
			goto out;
		}
		if (capture_dump_open(r.cap, o.dumppath, r.errbuf) < 0) {
			fprintf(stderr, "popflow: -w %s: %s\n", o.dumppath, r.errbuf);
			rc = EXIT_OUTPUT;
			goto out;
		}
	}
	/* --extract DIR, --mbox FILE; headers of retrieved mail are always read (mime.h). */
	ex = extract_new(&o.xc, r.errbuf);
	if (ex == NULL) {
		fprintf(stderr, "popflow: %s\n", r.errbuf);
		rc = EXIT_OUTPUT;
		goto out;
	}
	o.pc.pop3.sink = &extract_sink;
	o.pc.pop3.sink_arg = ex;
	/* TLS secrets: --keylog FILE, and those a pcapng input carries (keylog.h); before privdrop. */
	kl = keylog_new();
	if (o.keylog != NULL && keylog_load_file(kl, o.keylog, r.errbuf) < 0) {
		fprintf(stderr, "popflow: --keylog: %s\n", r.errbuf);
		rc = EXIT_INPUT;
		goto out;
	}
	for (size_t i = 0; i < o.nfiles; i++)
		if (keylog_load_pcapng(kl, o.files[i], r.errbuf) < 0)
			fprintf(stderr, "popflow: warning: %s\n", r.errbuf);
	if (keylog_bad_lines(kl) > 0)
		fprintf(stderr,
		    "popflow: warning: %llu key log line%s did not parse and %s ignored (the "
		    "first: "
		    "%s)\n",
		    (unsigned long long)keylog_bad_lines(kl), keylog_bad_lines(kl) == 1 ? "" : "s",
		    keylog_bad_lines(kl) == 1 ? "was" : "were", keylog_first_bad(kl));
	o.pc.pop3.keylog = kl;
	/* Capture and output files are open: give up root before the first packet (privdrop.h). */
	if ((o.iface != NULL || o.user != NULL) &&
	    dirs_writable_after_drop(&o, &r.of, r.errbuf) < 0) {
		rc = EXIT_OUTPUT;
		goto out;
	}
	if ((o.iface != NULL || o.user != NULL) && privdrop(o.user, NULL, 0, r.errbuf) < 0) {
		fprintf(stderr, "popflow: %s\n", r.errbuf);
		rc = EXIT_USAGE;
		goto out;
	}
	r.eo.output = o.outpath;
	r.eo.color = color_wanted(r.eo.color_when, r.out);
	r.eo.columns = columns_env();
	r.eo.wrote = on_wrote;
	r.eo.wrote_arg = &r;
	o.pc.dlt = capture_datalink(r.cap);
	o.pc.pop3.keep_bodies = r.eo.bodies;
	o.pc.pop3.max_body_keep = 64u << 20;
	o.pc.emit = on_emit;
	o.pc.warn = on_warn;
	o.pc.arg = &r;
	pl = pipeline_new(&o.pc, r.errbuf);
	if (pl == NULL) {
		fprintf(stderr, "popflow: %s: %s\n", r.input, r.errbuf);
		rc = EXIT_INPUT;
		goto out;
	}
	r.eo.capture_start = &pipeline_stats(pl)->first; /* --time capture */
	if (r.em->begin != NULL && (r.em_ctx = r.em->begin(r.out, &r.eo, r.errbuf)) == NULL) {
		r.output_failed = true;
		r.pipe_closed = errno == EPIPE;
		goto finish;
	}
	r.begun = true;
	signal_cap = r.cap;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* A closed pipe is an EPIPE write error: popflow then stops quietly (EXIT_OUTPUT). */
	signal(SIGPIPE, SIG_IGN);
	if (capture_is_live(r.cap)) {
		/* As tcpdump says it; tests wait for this line. */
		fprintf(stderr,
		    "popflow: listening on %s, link-type %s (%s), snapshot length %d bytes\n",
		    capture_name(r.cap),
		    pcap_datalink_val_to_name(o.pc.dlt) != NULL
		        ? pcap_datalink_val_to_name(o.pc.dlt)
		        : "?",
		    pcap_datalink_val_to_description(o.pc.dlt) != NULL
		        ? pcap_datalink_val_to_description(o.pc.dlt)
		        : "?",
		    pcap_snapshot(capture_pcap(r.cap)));
		fflush(stderr);
	}
	r.pl = pl;
	r.out_tty = isatty(fileno(r.out));
	if (o.nfiles > 0 && !o.eo.quiet && capture_progress(r.cap, &done, &total) == 0) {
		/* A long run shows how far it is on a terminal (progress.h); not for -r -. */
		r.progress = progress_new(stderr, total);
	}
	if (r.progress != NULL)
		runrc = capture_run(r.cap, on_frame, NULL, &r, r.errbuf); /* files: no idle calls */
	else
		runrc = capture_run(r.cap, pipeline_frame, pipeline_idle, pl, r.errbuf);
	progress_free(r.progress);
	r.progress = NULL;
	if (runrc < 0 && capture_filter_failed(r.cap)) {
		fprintf(stderr, "popflow: %s\n", r.errbuf);
		rc = EXIT_USAGE;
	} else if (runrc < 0) {
		/* Frames before the damage were analysed: report them, then the error(s). */
		if (capture_ndamaged(r.cap) == 0)
			fprintf(stderr, "popflow: %s\n", r.errbuf);
		for (size_t i = 0; i < capture_ndamaged(r.cap); i++)
			fprintf(stderr, "popflow: %s\n", capture_damage(r.cap, i));
		rc = EXIT_DAMAGED;
	}
finish:
	/* Ctrl-C while reading a file is no normal end: say so, in the sessions and the summary. */
	interrupted = signal_seen && !capture_is_live(r.cap) && !r.output_failed;
	if (interrupted) {
		fprintf(stderr,
		    "popflow: %s: interrupted: the sessions still open are reported as "
		    "interrupted, the rest of the %s not read\n",
		    r.input, o.nfiles > 1 ? "files were" : "file was");
		if (rc == EXIT_OK)
			rc = EXIT_INTERRUPTED;
	}
	pipeline_finish(pl,
	    capture_is_live(r.cap) || r.count_reached || interrupted ? END_INTERRUPTED : END_EOF);
	if (r.begun && !r.output_failed) {
		struct run_stats st = *pipeline_stats(pl);
		st.damaged = rc == EXIT_DAMAGED;
		st.interrupted = interrupted;
		if (r.em->end(r.em_ctx, r.out, &st, &r.eo, r.errbuf) < 0) {
			r.output_failed = true;
			r.pipe_closed = errno == EPIPE;
		}
	} else if (r.begun) {
		r.em->end(r.em_ctx, r.out, NULL, &r.eo, r.errbuf); /* frees the context only */
	}
	if (r.begun && !r.output_failed && r.eo.only_session != 0 && !r.only_seen) {
		/* In every format: nothing was written for it, so say so (README: exit status). */
		fprintf(stderr, "popflow: --session %llu: no such session (%llu reported)\n",
		    (unsigned long long)r.eo.only_session,
		    (unsigned long long)pipeline_stats(pl)->sessions);
		if (rc == EXIT_OK)
			rc = EXIT_NO_SESSION;
	}
	if (r.output_failed && r.fail != EMIT_FAIL_OUTPUT) {
		/* Not a write error: the format refused, lacked its templates, or drew nothing. */
		fprintf(stderr, "popflow: %s\n", r.errbuf);
		rc = r.fail == EMIT_FAIL_USAGE  ? EXIT_USAGE
		    : r.fail == EMIT_FAIL_INPUT ? EXIT_INPUT
		                                : EXIT_NO_SESSION;
	} else if (r.output_failed && r.pipe_closed && r.out == stdout) {
		rc = EXIT_OUTPUT; /* | head, | less quit early: nothing to say */
	} else if (r.output_failed) {
		fprintf(stderr, "popflow: %s: %s\n", o.outpath != NULL ? o.outpath : "stdout",
		    r.errbuf);
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
	keylog_free(kl);
	capture_close(r.cap);
	if (r.of.path != NULL) {
		/* A drawing is kept whole or not at all (no empty -o file when nothing was drawn). */
		bool keep = (rc == EXIT_OK || rc == EXIT_DAMAGED || rc == EXIT_INTERRUPTED) &&
		    !r.output_failed && fflush(r.out) == 0 && ftello(r.out) > 0;
		if (util_outfile_close(&r.of, keep, r.errbuf) < 0 && rc == EXIT_OK) {
			fprintf(stderr, "popflow: %s\n", r.errbuf);
			rc = EXIT_OUTPUT;
		}
	} else if (r.out != NULL && r.out != stdout && fclose(r.out) != 0 && rc == EXIT_OK) {
		fprintf(stderr, "popflow: %s: %s\n", o.outpath, strerror(errno));
		rc = EXIT_OUTPUT;
	}
	options_free(&o);
	frameid_reset();
	return rc;
}
