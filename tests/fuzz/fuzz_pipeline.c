/*
 * fuzz_pipeline.c - the whole program on a capture file, as main.c wires
 * it: capture -> pipeline (decode, defrag, sessions, libnids, POP3) ->
 * an emitter and the extract sink, output to /dev/null.
 *
 * Input: two bytes of options, then the capture file (pcap or pcapng).
 * Byte 0: bits 0-2 the format (text json dot svg flow mermaid plantuml
 * fdl), 3 -v, 4 --bodies, 5 --redact, 6 --fold-acks, 7 --detail messages.
 * Byte 1: 0 --mbox /dev/null, 1 --idle-timeout 60, 2 --port 2110,
 * 3 --ascii, 4 --unicode, 5 libnids follows only 3 connections (eviction),
 * 6 --page-rows 5, 7 --width 40.
 *
 * libnids keeps its state in globals (tcp_nids.c): every input gets a new
 * pipeline (nids_init) and ends it (nids_exit) before the next, in the
 * same process, as libnids 1.26 allows (nids_init() first calls nids_exit()).
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <nids.h>

#include "capture.h"
#include "emit.h"
#include "extract.h"
#include "fuzz.h"
#include "pipeline.h"

/*
 * libnids 1.26 drops its TCP callback list at nids_init() without freeing it
 * (init_procs()), so each pipeline would leak reasm.c's registration; the
 * list head is exported, and nids_unregister_tcp() frees a node.  (A leak
 * per input would also make libFuzzer scan the heap after every input.)
 */
struct nids_proc {
	void *item;
	struct nids_proc *next;
};
extern struct nids_proc *tcp_procs;

static const char *const formats[8] = {
    "text", "json", "dot", "svg", "flow", "mermaid", "plantuml", "fdl"};
static int memfd = -1;
static char memfd_path[64];

struct frun {
	const struct emitter *em;
	void *em_ctx; /* what em->begin() returned */
	struct emit_opts eo;
	FILE *out;
	bool failed;
	uint64_t warnings;
	char errbuf[ERRBUF_SIZE];
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memfd = memfd_create("fuzz-pipeline", 0);
	if (memfd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
	return 0;
}

static void
on_emit(void *arg, const struct session *s)
{
	struct frun *r = arg;

	if (!r->failed && r->em->session(r->em_ctx, r->out, s, &r->eo, r->errbuf) < 0)
		r->failed = true;
}

static void
on_warn(void *arg, uint64_t frame, const char *msg)
{
	struct frun *r = arg;

	(void)frame;
	r->warnings += msg[0] != '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pipeline_config pc; /* 16 KiB of port bitmaps: not on the stack */
	struct frun r;
	struct extract_config xc = {NULL, NULL, true};
	struct extract *ex;
	struct capture *cap;
	struct pipeline *pl;
	uint8_t o0, o1;
	int runrc;

	if (size < 2)
		return 0;
	if (memfd < 0)
		LLVMFuzzerInitialize(NULL, NULL);
	o0 = data[0];
	o1 = data[1];
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data + 2, size - 2, 0) != (ssize_t)(size - 2))
		abort();
	memset(&r, 0, sizeof(r));
	memset(&pc, 0, sizeof(pc));
	r.out = fuzz_devnull();
	r.em = emit_lookup(formats[o0 & 7]);
	r.eo.verbose = (o0 >> 3) & 1;
	r.eo.bodies = (o0 >> 4) & 1;
	pc.pop3.redact = (o0 >> 5) & 1;
	r.eo.fold_acks = (o0 >> 6) & 1;
	r.eo.detail = o0 & 0x80 ? "messages" : NULL;
	r.eo.templates = FUZZ_SRCDIR "/templates";
	if (o1 & 0x01)
		xc.mbox = "/dev/null";
	if (o1 & 0x02)
		pc.idle_timeout = 60;
	pipeline_add_port(&pc, 110);
	pipeline_add_tls_port(&pc, 995);
	if (o1 & 0x04)
		pipeline_add_port(&pc, 2110);
	r.eo.ascii = (o1 >> 3) & 1;
	r.eo.unicode = (o1 >> 4) & 1;
	/* libnids follows 3/4 of max_streams (tcp.h); few slots keep nids_init() cheap. */
	pc.max_streams = o1 & 0x20 ? 4 : 64;
	r.eo.page_rows = o1 & 0x40 ? 5 : 0;
	r.eo.width = o1 & 0x80 ? 40 : 0;

	cap = capture_open_file(memfd_path, r.errbuf);
	if (cap == NULL)
		return 0;
	ex = extract_new(&xc, r.errbuf);
	if (ex == NULL)
		abort();
	pc.pop3.sink = &extract_sink;
	pc.pop3.sink_arg = ex;
	pc.dlt = capture_datalink(cap);
	pc.pop3.keep_bodies = r.eo.bodies;
	pc.pop3.max_body_keep = 64u << 10;
	pc.emit = on_emit;
	pc.warn = on_warn;
	pc.arg = &r;
	pl = pipeline_new(&pc, r.errbuf);
	if (pl != NULL) {
		bool begun =
		    r.em->begin == NULL || (r.em_ctx = r.em->begin(r.out, &r.eo, r.errbuf)) != NULL;

		r.failed = !begun;
		runrc = begun ? capture_run(cap, pipeline_frame, pipeline_idle, pl, r.errbuf) : 0;
		pipeline_finish(pl, END_EOF);
		if (begun) {
			/* After a failed write, end() only frees the context (st NULL), as in main.c. */
			struct run_stats st = *pipeline_stats(pl);
			st.damaged = runrc < 0;
			r.em->end(r.em_ctx, r.out, r.failed ? NULL : &st, &r.eo, r.errbuf);
		}
		pipeline_free(pl);
		while (tcp_procs != NULL)
			nids_unregister_tcp(tcp_procs->item);
	}
	extract_finish(ex, r.errbuf);
	extract_free(ex);
	capture_close(cap);
	return 0;
}
