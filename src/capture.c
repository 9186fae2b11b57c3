/* capture.c - packet sources: capture files through wiretap (classic pcap through libpcap while it reads them as wiretap would; merged in time order), interfaces through libpcap; BPF, -w, stop, statistics. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <glib.h>
#include <wiretap/pcap-encap.h>
#include <wiretap/wtap.h>
#include <wsutil/buffer.h>
#include <wsutil/wslog.h>

#include "capture.h"
#include "decode.h"
#include "frameid.h"

/* After a stop, what the kernel already holds is read for at most timeout + this. */
#define CAPTURE_DRAIN_EXTRA_MS 100
/* pcap LINKTYPE_ values looked at when mapping wiretap's encapsulations back to them. */
#define CAPTURE_MAX_LINKTYPE 1024
#define CAPTURE_LINKTYPE_RAW 101 /* LINKTYPE_RAW: DLT_RAW in libpcap */

/* One input file, read through wiretap or libpcap, one record ahead for the merge. */
struct capfile {
	char *name; /* as given; "stdin" for "-" */
	char *path; /* as given, to open it again */
	bool is_stdin;
	/* In frame identifiers (frameid.h): several files are numbered by their first packets. */
	size_t index;
	size_t given; /* its place on the command line */
	wtap *w;
	wtap_rec rec;
	Buffer buf;
	/*
	 * A classic pcap file is read by libpcap (pc), which costs less than half
	 * of what wiretap costs per record (wiretap builds and frees an options
	 * block for every packet).  libpcap and wiretap read the same bytes except
	 * where libpcap would fail or drop bytes of a record longer than the
	 * file's snapshot length (sf-pcap.c keeps the first snaplen bytes):
	 * there the file is handed to wiretap, from that frame on (file_to_wtap).
	 */
	pcap_t *pc;
	char *iobuf;          /* pc: its stdio buffer */
	const uint8_t *data;  /* pc: the pending packet, in libpcap's buffer */
	uint64_t pos;         /* pc: the file offset after the pending record */
	uint64_t size;        /* pc: the file's size */
	int file_dlt;         /* link type of the file's records, as far as known when opened */
	uint64_t frames;      /* records read so far: the frame number of the pending one */
	bool pending;         /* rec and buf hold the next packet, not yet handed on */
	bool done;            /* end of file, or damaged */
	struct pcap_pkthdr h; /* of the pending packet */
	int dlt;              /* of the pending packet (CAPTURE_DLT_UNKNOWN: no pcap link type) */
};

/* A compiled filter for one link type (files: each interface may have its own). */
struct dlt_prog {
	int dlt;
	bool ok;
	struct bpf_program prog;
};

struct capture {
	pcap_t *p; /* live capture; NULL for files */
	char *name;
	bool live;
	int timeout_ms;
	volatile sig_atomic_t stop;
	volatile sig_atomic_t drain; /* with stop: read what the kernel holds first */
	uint64_t frames;             /* handed on (before the filter for files) */
	frame_fn fn;
	void *arg;
	/* files */
	struct capfile *files;
	size_t nfiles;
	size_t *heap; /* indices of files with a pending packet, earliest first */
	size_t nheap;
	int dlt; /* link type of every frame so far known, or CAPTURE_DLT_SEVERAL */
	char *filter;
	GArray *progs; /* struct dlt_prog, files only */
	bool filter_failed;
	GPtrArray *damage; /* messages of files that ended with a read error */
	/* -w */
	pcap_t *dump_dead; /* files: the pcap_t the -w file is written through */
	pcap_dumper_t *dump;
	char *dump_path;
	int dump_errno;      /* a write to the -w file failed (0: none) */
	uint64_t dump_other; /* files: frames of another link type, not written */
	int dump_other_dlt;
};

/* wiretap's encapsulations -> pcap link types (CAPTURE_DLT_UNKNOWN: none). */
static int *capture_encap_dlt;
static int capture_nencaps;

static void
wtap_teardown(void)
{
	g_free(capture_encap_dlt);
	capture_encap_dlt = NULL;
	wtap_cleanup();
}

/* Once per process (wiretap's registries are global); undone at exit. */
static void
wtap_setup(void)
{
	int lt, e;

	if (capture_encap_dlt != NULL)
		return;
	/* wiretap logs its own debugging to stderr unless told otherwise: popflow reports errors. */
	ws_log_set_level(LOG_LEVEL_CRITICAL);
	wtap_init(FALSE);
	capture_nencaps = wtap_get_num_encap_types();
	capture_encap_dlt = g_new(int, capture_nencaps > 0 ? capture_nencaps : 1);
	for (e = 0; e < capture_nencaps; e++)
		capture_encap_dlt[e] = CAPTURE_DLT_UNKNOWN;
	/* The first link type that maps to an encapsulation is the one written back. */
	for (lt = 0; lt < CAPTURE_MAX_LINKTYPE; lt++) {
		e = wtap_pcap_encap_to_wtap_encap(lt);
		if (e > 0 && e < capture_nencaps && capture_encap_dlt[e] == CAPTURE_DLT_UNKNOWN)
			capture_encap_dlt[e] = lt == CAPTURE_LINKTYPE_RAW ? DLT_RAW : lt;
	}
	atexit(wtap_teardown);
}

static int
encap_dlt(int encap)
{
	if (encap <= 0 || encap >= capture_nencaps)
		return CAPTURE_DLT_UNKNOWN;
	return capture_encap_dlt[encap];
}

static struct capture *
capture_new(pcap_t *p, const char *name, bool live)
{
	struct capture *c = g_new0(struct capture, 1);

	c->p = p;
	c->name = g_strdup(name);
	c->live = live;
	return c;
}

static int64_t
mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* wiretap's error in words: errno values, or its own (negative) codes with their detail. */
static void
wtap_error(char *buf, size_t len, int err, const char *err_info)
{
	if (err > 0)
		g_snprintf(buf, len, "%s", g_strerror(err));
	else if (err_info != NULL && err_info[0] != '\0')
		g_snprintf(buf, len, "%s (%s)", wtap_strerror(err), err_info);
	else
		g_snprintf(buf, len, "%s", wtap_strerror(err));
}

/* The link type a file's records have, as far as known when it is opened. */
static int
file_dlt(wtap *w)
{
	wtapng_iface_descriptions_t *idb;
	const wtapng_if_descr_mandatory_t *m;
	int dlt = CAPTURE_DLT_UNKNOWN, d;
	guint i;

	if (wtap_file_encap(w) != WTAP_ENCAP_PER_PACKET)
		return encap_dlt(wtap_file_encap(w));
	/* pcapng with interfaces of several link types: one if they all agree. */
	idb = wtap_file_get_idb_info(w);
	for (i = 0; idb != NULL && idb->interface_data != NULL && i < idb->interface_data->len;
	     i++) {
		m = wtap_block_get_mandatory_data(
		    g_array_index(idb->interface_data, wtap_block_t, i));
		d = encap_dlt(m->wtap_encap);
		if (i == 0)
			dlt = d;
		else if (d != dlt)
			dlt = CAPTURE_DLT_SEVERAL;
	}
	g_free(idb);
	return dlt;
}

/* wiretap: reads the file's next packet into rec/buf. */
static void
wtap_advance(struct capture *c, struct capfile *f)
{
	char why[ERRBUF_SIZE];
	gchar *err_info = NULL;
	gint64 off;
	int err = 0;

	f->pending = false;
	while (!f->done) {
		wtap_rec_reset(&f->rec);
		if (!wtap_read(f->w, &f->rec, &f->buf, &err, &err_info, &off)) {
			f->done = true;
			if (err != 0) {
				wtap_error(why, sizeof(why), err, err_info);
				g_ptr_array_add(c->damage,
				    g_strdup_printf("%s: after frame %" G_GUINT64_FORMAT ": %s",
				        f->name, f->frames, why));
			}
			g_free(err_info);
			return;
		}
		f->frames++;
		if (f->rec.rec_type != REC_TYPE_PACKET)
			continue;
		f->h.ts.tv_sec = (time_t)f->rec.ts.secs;
		f->h.ts.tv_usec = (suseconds_t)(f->rec.ts.nsecs / 1000);
		f->h.caplen = f->rec.rec_header.packet_header.caplen;
		f->h.len = f->rec.rec_header.packet_header.len;
		f->dlt = encap_dlt(f->rec.rec_header.packet_header.pkt_encap);
		f->data = ws_buffer_start_ptr(&f->buf);
		f->pending = true;
		return;
	}
}

/* The on-disk header of a classic pcap record (struct pcap_sf_pkthdr: 32-bit times). */
#define CAPTURE_PCAP_RECORD_HDR 16
#define CAPTURE_PCAP_FILE_HDR 24
#define CAPTURE_PCAP_IOBUF (64 * 1024) /* each open file keeps one: several files read at once */

/*
 * Hands a file libpcap was reading to wiretap, which reads again the frames
 * before the one libpcap could not read as wiretap would (its frames
 * already handed on are skipped): the error, or the bytes, are then
 * wiretap's.  Returns false, with the damage recorded, if that fails.
 */
static bool
file_to_wtap(struct capture *c, struct capfile *f, uint64_t skip)
{
	char why[ERRBUF_SIZE];
	gchar *err_info = NULL;
	gint64 off;
	int err = 0;
	uint64_t k;

	pcap_close(f->pc);
	f->pc = NULL;
	g_free(f->iobuf);
	f->iobuf = NULL;
	f->data = NULL;
	f->w = wtap_open_offline(f->path, WTAP_TYPE_AUTO, &err, &err_info, FALSE);
	for (k = 0; f->w != NULL && k < skip; k++) {
		wtap_rec_reset(&f->rec);
		if (!wtap_read(f->w, &f->rec, &f->buf, &err, &err_info, &off))
			break;
	}
	if (f->w == NULL || k < skip) {
		if (err == 0)
			g_strlcpy(why, "the file changed while it was read", sizeof(why));
		else
			wtap_error(why, sizeof(why), err, err_info);
		g_ptr_array_add(c->damage,
		    g_strdup_printf(
		        "%s: after frame %" G_GUINT64_FORMAT ": %s", f->name, f->frames, why));
		g_free(err_info);
		f->done = true;
		return false;
	}
	f->frames = skip;
	return true;
}

static void
pcap_advance(struct capture *c, struct capfile *f)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t before = f->frames;
	int rc;
	long at;

	f->pending = false;
	if (f->done)
		return;
	rc = pcap_next_ex(f->pc, &h, &data);
	if (rc == PCAP_ERROR_BREAK) {
		f->done = true;
		return;
	}
	if (rc != 1) {
		/* wiretap's word on it (libpcap refuses a few records wiretap reads). */
		if (file_to_wtap(c, f, before))
			wtap_advance(c, f);
		return;
	}
	if (h->caplen > h->len || h->ts.tv_usec < 0 || h->ts.tv_usec >= 1000000 ||
	    h->ts.tv_sec < 0 || h->ts.tv_sec > INT32_MAX) {
		/* A record wiretap reads its own way (its times are signed; it keeps caplen). */
		if (file_to_wtap(c, f, before))
			wtap_advance(c, f);
		return;
	}
	f->frames++;
	f->pos += CAPTURE_PCAP_RECORD_HDR + (uint64_t)h->caplen;
	if (h->caplen < h->len && h->caplen == (bpf_u_int32)pcap_snapshot(f->pc)) {
		/*
		 * Cut at the snapshot length: by the capture, or by libpcap, which
		 * drops what a record holds beyond it (wiretap keeps it).  The file
		 * offset tells which.
		 */
		at = ftell(pcap_file(f->pc));
		if (at < 0 || (uint64_t)at != f->pos) {
			if (file_to_wtap(c, f, before))
				wtap_advance(c, f);
			return;
		}
	}
	f->h = *h;
	f->data = data;
	f->dlt = f->file_dlt;
	f->pending = true;
}

/*
 * Reads the file's next packet (records that are not packets are counted as
 * frames, as Wireshark numbers them, and skipped).  At the end, or on a read
 * error (kept in c->damage), the file is done.
 */
static void
file_advance(struct capture *c, struct capfile *f)
{
	if (f->pc != NULL)
		pcap_advance(c, f);
	else
		wtap_advance(c, f);
}

/* Merge order: the earlier packet first; on the same time, the file given first (as mergecap). */
static bool
file_before(const struct capfile *a, const struct capfile *b)
{
	if (a->rec.ts.secs != b->rec.ts.secs)
		return a->rec.ts.secs < b->rec.ts.secs;
	if (a->rec.ts.nsecs != b->rec.ts.nsecs)
		return a->rec.ts.nsecs < b->rec.ts.nsecs;
	return a->given < b->given;
}

static void
heap_swap(size_t *h, size_t i, size_t j)
{
	size_t t = h[i];

	h[i] = h[j];
	h[j] = t;
}

static void
heap_push(struct capture *c, size_t f)
{
	size_t i = c->nheap++, up;

	c->heap[i] = f;
	while (i > 0) {
		up = (i - 1) / 2;
		if (!file_before(&c->files[c->heap[i]], &c->files[c->heap[up]]))
			break;
		heap_swap(c->heap, i, up);
		i = up;
	}
}

static size_t
heap_pop(struct capture *c)
{
	size_t top = c->heap[0], i = 0, l, r, m;

	c->heap[0] = c->heap[--c->nheap];
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < c->nheap && file_before(&c->files[c->heap[l]], &c->files[c->heap[m]]))
			m = l;
		if (r < c->nheap && file_before(&c->files[c->heap[r]], &c->files[c->heap[m]]))
			m = r;
		if (m == i)
			break;
		heap_swap(c->heap, i, m);
		i = m;
	}
	return top;
}

static void
file_close(struct capfile *f)
{
	if (f->pc != NULL)
		pcap_close(f->pc); /* and its FILE: then its buffer can go */
	g_free(f->iobuf);
	if (f->w != NULL)
		wtap_close(f->w);
	if (f->name != NULL) {
		wtap_rec_cleanup(&f->rec);
		ws_buffer_free(&f->buf);
	}
	g_free(f->name);
	g_free(f->path);
}

/*
 * Reads a file wiretap opened as classic pcap (not one of the variants it
 * tells apart by their first records, not compressed) with libpcap instead,
 * if it holds a link type popflow decodes; anything else stays with wiretap
 * (false).
 */
static bool
pcap_try_open(struct capfile *f)
{
	char perr[PCAP_ERRBUF_SIZE];
	struct stat st;
	FILE *fp;
	int ft = wtap_file_type_subtype(f->w);

	if (f->is_stdin || wtap_get_compression_type(f->w) != WTAP_UNCOMPRESSED ||
	    (ft != wtap_name_to_file_type_subtype("pcap") &&
	        ft != wtap_name_to_file_type_subtype("nsecpcap")))
		return false;
	fp = fopen(f->path, "rb");
	if (fp == NULL)
		return false;
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(fp);
		return false;
	}
	/* Fewer, larger reads than stdio's default buffer (glibc sizes it by itself only given none). */
	f->iobuf = g_malloc(CAPTURE_PCAP_IOBUF);
	setvbuf(fp, f->iobuf, _IOFBF, CAPTURE_PCAP_IOBUF);
	/* Microseconds, as wiretap's records are handed on (nanoseconds / 1000). */
	f->pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
	if (f->pc == NULL) {
		fclose(fp);
		g_free(f->iobuf);
		f->iobuf = NULL;
		return false;
	}
	if (pcap_datalink(f->pc) != f->file_dlt || !decode_link_supported(f->file_dlt)) {
		pcap_close(f->pc); /* wiretap names what it is */
		f->pc = NULL;
		g_free(f->iobuf);
		f->iobuf = NULL;
		return false;
	}
	f->pos = CAPTURE_PCAP_FILE_HDR;
	f->size = (uint64_t)st.st_size;
	wtap_close(f->w);
	f->w = NULL;
	return true;
}

static int
file_open(struct capfile *f, const char *path, char *errbuf)
{
	char why[ERRBUF_SIZE];
	gchar *err_info = NULL;
	struct stat st;
	int err = 0;

	f->is_stdin = strcmp(path, "-") == 0;
	f->name = g_strdup(f->is_stdin ? "stdin" : path);
	f->path = g_strdup(path);
	wtap_rec_init(&f->rec);
	ws_buffer_init(&f->buf, 2048);
	/* An empty file would be taken for one of the formats wiretap guesses at. */
	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size == 0) {
		g_snprintf(errbuf, ERRBUF_SIZE, "%s: empty file, not a capture", f->name);
		return -1;
	}
	/* A directory of rotated files: its files are read together with a pattern. */
	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		g_snprintf(errbuf, ERRBUF_SIZE,
		    "%s: a directory, not a capture (its capture files, read together: -r '%s/*')",
		    f->name, f->name);
		return -1;
	}
	f->w = wtap_open_offline(path, WTAP_TYPE_AUTO, &err, &err_info, FALSE);
	if (f->w == NULL) {
		wtap_error(why, sizeof(why), err, err_info);
		g_snprintf(errbuf, ERRBUF_SIZE, "%s: %s", f->name, why);
		g_free(err_info);
		return -1;
	}
	f->file_dlt = file_dlt(f->w);
	if (pcap_try_open(f))
		f->file_dlt = pcap_datalink(f->pc);
	return 0;
}

/* A file whose frames popflow cannot decode: say what wiretap took it for. */
static void
file_unsupported(const struct capfile *f, int dlt, char *errbuf)
{
	wtap_compression_type comp = wtap_get_compression_type(f->w);
	const char *lt = dlt >= 0 ? pcap_datalink_val_to_name(dlt) : NULL;

	g_snprintf(errbuf, ERRBUF_SIZE,
	    "%s: read as %s%s%s with %s frames (link type %s): popflow decodes Ethernet, Linux "
	    "cooked v1/v2, BSD loopback and raw IP frames",
	    f->name, comp != WTAP_UNCOMPRESSED ? wtap_compression_type_description(comp) : "",
	    comp != WTAP_UNCOMPRESSED ? " " : "",
	    wtap_file_type_subtype_description(wtap_file_type_subtype(f->w)),
	    wtap_encap_description(wtap_file_encap(f->w)), lt != NULL ? lt : "none");
}

/* Files with a packet first, the earlier first packet first, then as given. */
static int
file_order_cmp(const void *pa, const void *pb)
{
	const struct capfile *a = pa, *b = pb;

	if (a->pending != b->pending)
		return a->pending ? -1 : 1;
	if (a->pending && file_before(a, b))
		return -1;
	if (a->pending && file_before(b, a))
		return 1;
	return a->given < b->given ? -1 : a->given > b->given;
}

/*
 * Several files: each one's first packet is read now, and the files are
 * numbered (frame identifiers, frameid.h) in the order of their first
 * packets, whatever the order they were given in: the rotated files of
 * tcpdump -C are then numbered in time order even when a glob sorted
 * "ring10" before "ring2", and so are the frames of a session that spans
 * them.  The merge itself is by time (files_run()), ties going to the file
 * given first, as mergecap.
 */
static void
files_order(struct capture *c)
{
	size_t i;

	for (i = 0; i < c->nfiles; i++)
		file_advance(c, &c->files[i]);
	qsort(c->files, c->nfiles, sizeof(c->files[0]), file_order_cmp);
	for (i = 0; i < c->nfiles; i++) {
		c->files[i].index = i;
		if (c->files[i].pending)
			heap_push(c, i);
	}
}

struct capture *
capture_open_files(const char *const *paths, size_t n, char *errbuf)
{
	struct capture *c;
	size_t i;
	int d;

	if (n == 0 || n > FRAMEID_MAX_FILES) {
		g_snprintf(errbuf, ERRBUF_SIZE, "%zu input files: from 1 to %d can be read at once",
		    n, FRAMEID_MAX_FILES);
		return NULL;
	}
	wtap_setup();
	c = capture_new(
	    NULL, n == 1 ? (strcmp(paths[0], "-") == 0 ? "stdin" : paths[0]) : "", false);
	c->files = g_new0(struct capfile, n);
	c->heap = g_new(size_t, n);
	c->damage = g_ptr_array_new_with_free_func(g_free);
	c->progs = g_array_new(FALSE, TRUE, sizeof(struct dlt_prog));
	c->dlt = CAPTURE_DLT_UNKNOWN;
	for (i = 0; i < n; i++) {
		c->nfiles = i + 1;
		c->files[i].index = c->files[i].given = i;
		if (file_open(&c->files[i], paths[i], errbuf) < 0) {
			capture_close(c);
			return NULL;
		}
		d = c->files[i].file_dlt;
		if (d < 0 && c->files[i].w != NULL &&
		    wtap_file_type_subtype(c->files[i].w) == wtap_pcapng_file_type_subtype())
			/*
			 * A pcapng whose first interface comes after other blocks (a
			 * Decryption Secrets Block written by editcap --inject-secrets):
			 * each frame is decoded with its own interface's link type.
			 */
			d = CAPTURE_DLT_SEVERAL;
		if (d != CAPTURE_DLT_SEVERAL && (d < 0 || !decode_link_supported(d))) {
			file_unsupported(&c->files[i], d, errbuf);
			capture_close(c);
			return NULL;
		}
		if (i == 0)
			c->dlt = d;
		else if (d != c->dlt)
			c->dlt = CAPTURE_DLT_SEVERAL;
	}
	if (n > 1)
		files_order(c);
	return c;
}

struct capture *
capture_open_file(const char *path, char *errbuf)
{
	return capture_open_files(&path, 1, errbuf);
}

/*
 * -i N, as tcpdump reads it: the interface named N if there is one, else
 * the N-th of the list popflow -D prints (pcap_findalldevs' order, from 1).
 * A new string, or NULL with errbuf filled.
 */
static char *
live_ifname(const char *arg, char *errbuf)
{
	char perr[PCAP_ERRBUF_SIZE], *name = NULL;
	pcap_if_t *all = NULL, *d;
	const char *q;
	guint64 n, i = 0;

	for (q = arg; *q >= '0' && *q <= '9'; q++)
		;
	if (q == arg || *q != '\0')
		return g_strdup(arg);
	perr[0] = '\0';
	if (pcap_findalldevs(&all, perr) < 0) {
		g_snprintf(errbuf, ERRBUF_SIZE, "-i %s: cannot list the interfaces to find it: %s",
		    arg, perr);
		return NULL;
	}
	for (d = all; d != NULL; d = d->next)
		if (strcmp(d->name, arg) == 0)
			break; /* an interface literally named so */
	n = g_ascii_strtoull(arg, NULL, 10);
	if (d == NULL)
		for (d = all, i = 1; d != NULL && i < n; d = d->next)
			i++;
	if (d != NULL && n > 0) {
		name = g_strdup(d->name);
	} else {
		for (d = all, i = 0; d != NULL; d = d->next)
			i++;
		g_snprintf(errbuf, ERRBUF_SIZE,
		    "-i %s: no interface of that name or number (popflow -D lists %llu, numbered "
		    "from 1)",
		    arg, (unsigned long long)i);
	}
	pcap_freealldevs(all);
	return name;
}

static struct capture *open_live(
    const char *ifname, const struct capture_live_opts *o, char *errbuf);

struct capture *
capture_open_live(const char *arg, const struct capture_live_opts *o, char *errbuf)
{
	char *ifname = live_ifname(arg, errbuf);
	struct capture *c;

	if (ifname == NULL)
		return NULL;
	c = open_live(ifname, o, errbuf);
	g_free(ifname);
	return c;
}

static struct capture *
open_live(const char *ifname, const struct capture_live_opts *o, char *errbuf)
{
	char perr[PCAP_ERRBUF_SIZE];
	struct capture *c;
	pcap_t *p;
	int rc, timeout = o->timeout_ms > 0 ? o->timeout_ms : CAPTURE_DEFAULT_TIMEOUT_MS;

	errbuf[0] = '\0';
	perr[0] = '\0';
	p = pcap_create(ifname, perr);
	if (p == NULL) {
		g_snprintf(errbuf, ERRBUF_SIZE, "%s: %s", ifname, perr);
		return NULL;
	}
	pcap_set_snaplen(p, o->snaplen > 0 ? o->snaplen : CAPTURE_DEFAULT_SNAPLEN);
	/* "any" cannot be promiscuous; libpcap would only warn about it. */
	pcap_set_promisc(p, o->promisc && strcmp(ifname, "any") != 0 ? 1 : 0);
	/*
	 * Not immediate mode: on Linux that means TPACKET_V2, whose ring slots are
	 * sized for the snapshot length, so a 2 MiB buffer holds a handful of the
	 * 64 kB segments lo and veth carry, and bursts are dropped.  TPACKET_V3
	 * blocks hold packets of any size; a block is handed over when full or
	 * after the timeout, which is then the most a session's report waits.
	 */
	pcap_set_timeout(p, timeout);
	if (o->buffer_size > 0)
		pcap_set_buffer_size(p, o->buffer_size);
	rc = pcap_activate(p);
	if (rc < 0) {
		switch (rc) {
		case PCAP_ERROR_NO_SUCH_DEVICE:
			g_snprintf(errbuf, ERRBUF_SIZE,
			    "%s: no such interface (popflow -D lists them) (%s)", ifname,
			    pcap_geterr(p));
			break;
		case PCAP_ERROR_PERM_DENIED:
			g_snprintf(errbuf, ERRBUF_SIZE,
			    "%s: permission denied: capturing needs root or the CAP_NET_RAW "
			    "capability (%s)",
			    ifname, pcap_geterr(p));
			break;
		case PCAP_ERROR_PROMISC_PERM_DENIED:
			g_snprintf(errbuf, ERRBUF_SIZE,
			    "%s: promiscuous mode not permitted (-p captures without it) (%s)",
			    ifname, pcap_geterr(p));
			break;
		case PCAP_ERROR_IFACE_NOT_UP:
			g_snprintf(errbuf, ERRBUF_SIZE, "%s: the interface is down (%s)", ifname,
			    pcap_geterr(p));
			break;
		default:
			g_snprintf(errbuf, ERRBUF_SIZE, "%s: %s (%s)", ifname, pcap_statustostr(rc),
			    pcap_geterr(p));
			break;
		}
		pcap_close(p);
		return NULL;
	}
	if (rc > 0)
		g_snprintf(errbuf, ERRBUF_SIZE, "%s: warning: %s (%s)", ifname,
		    pcap_statustostr(rc), pcap_geterr(p));
	/* "any": Linux cooked capture v2 (with the interface index), as tcpdump picks it. */
	if (strcmp(ifname, "any") == 0 && pcap_datalink(p) == DLT_LINUX_SLL)
		(void)pcap_set_datalink(p, DLT_LINUX_SLL2);
	/*
	 * With TPACKET_V3 libpcap's own poll() waits forever on a quiet interface
	 * (the kernel hands over no empty block), so idle sessions would never be
	 * expired: capture_run() polls the descriptor itself with the timeout.
	 */
	if (pcap_setnonblock(p, 1, perr) < 0 || pcap_get_selectable_fd(p) < 0) {
		g_snprintf(errbuf, ERRBUF_SIZE, "%s: cannot poll the capture: %s", ifname,
		    perr[0] != '\0' ? perr : "no selectable descriptor");
		pcap_close(p);
		return NULL;
	}
	c = capture_new(p, ifname, true);
	c->timeout_ms = timeout;
	return c;
}

int
capture_list_interfaces(FILE *out, char *errbuf)
{
	static const struct {
		bpf_u_int32 bit;
		const char *name;
	} flags[] = {
	    {PCAP_IF_UP, "Up"},
	    {PCAP_IF_RUNNING, "Running"},
	    {PCAP_IF_WIRELESS, "Wireless"},
	    {PCAP_IF_LOOPBACK, "Loopback"},
	};
	char perr[PCAP_ERRBUF_SIZE];
	pcap_if_t *all, *d;
	int i = 0;
	size_t k;
	const char *sep;

	perr[0] = '\0';
	if (pcap_findalldevs(&all, perr) < 0) {
		g_snprintf(errbuf, ERRBUF_SIZE, "cannot list interfaces: %s", perr);
		return -1;
	}
	if (all == NULL) {
		g_snprintf(errbuf, ERRBUF_SIZE,
		    "no interfaces to capture on (capturing needs root or CAP_NET_RAW)");
		return -1;
	}
	/* The form of tcpdump -D: "1.eth0 [Up, Running, Connected]". */
	for (d = all; d != NULL; d = d->next) {
		fprintf(out, "%d.%s", ++i, d->name);
		if (d->description != NULL)
			fprintf(out, " (%s)", d->description);
		if (d->flags != 0) {
			sep = "";
			fputs(" [", out);
			for (k = 0; k < G_N_ELEMENTS(flags); k++) {
				if (d->flags & flags[k].bit) {
					fprintf(out, "%s%s", sep, flags[k].name);
					sep = ", ";
				}
			}
			if (sep[0] == '\0') {
				fputs("none", out);
				sep = ", ";
			}
			if (!(d->flags & PCAP_IF_LOOPBACK)) {
				switch (d->flags & PCAP_IF_CONNECTION_STATUS) {
				case PCAP_IF_CONNECTION_STATUS_CONNECTED:
					fprintf(out, "%sConnected", sep);
					break;
				case PCAP_IF_CONNECTION_STATUS_DISCONNECTED:
					fprintf(out, "%sDisconnected", sep);
					break;
				default:
					break;
				}
			}
			fputc(']', out);
		}
		fputc('\n', out);
	}
	pcap_freealldevs(all);
	return 0;
}

/* Compiles the filter for a link type once; NULL with errbuf if it cannot be. */
static const struct dlt_prog *
prog_for(struct capture *c, int dlt, char *errbuf)
{
	struct dlt_prog dp, *q;
	pcap_t *dead;
	guint i;

	for (i = 0; i < c->progs->len; i++) {
		q = &g_array_index(c->progs, struct dlt_prog, i);
		if (q->dlt == dlt)
			return q;
	}
	memset(&dp, 0, sizeof(dp));
	dp.dlt = dlt;
	if (dlt < 0) {
		/* No pcap link type: such frames are not decoded either, only counted. */
		g_array_append_val(c->progs, dp);
		return &g_array_index(c->progs, struct dlt_prog, c->progs->len - 1);
	}
	dead = pcap_open_dead(dlt, CAPTURE_DEFAULT_SNAPLEN);
	if (dead == NULL) {
		g_snprintf(errbuf, ERRBUF_SIZE, "filter '%s': cannot compile for link type %d",
		    c->filter, dlt);
		return NULL;
	}
	if (pcap_compile(dead, &dp.prog, c->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		g_snprintf(errbuf, ERRBUF_SIZE, "filter '%s': %s%s%s", c->filter, pcap_geterr(dead),
		    c->dlt == CAPTURE_DLT_SEVERAL ? " (link type " : "",
		    c->dlt == CAPTURE_DLT_SEVERAL
		        ? (pcap_datalink_val_to_name(dlt) != NULL ? pcap_datalink_val_to_name(dlt)
		                                                  : "?")
		        : "");
		if (c->dlt == CAPTURE_DLT_SEVERAL)
			g_strlcat(errbuf, ")", ERRBUF_SIZE);
		pcap_close(dead);
		return NULL;
	}
	pcap_close(dead);
	dp.ok = true;
	g_array_append_val(c->progs, dp);
	return &g_array_index(c->progs, struct dlt_prog, c->progs->len - 1);
}

int
capture_set_filter(struct capture *cap, const char *expr, char *errbuf)
{
	struct bpf_program prog;
	size_t i;

	if (expr == NULL || expr[0] == '\0')
		return 0;
	if (!cap->live) {
		/*
		 * Files are filtered here, per frame, with a program compiled for
		 * its link type: frame numbers then match Wireshark's, and
		 * interfaces of several link types each get the right program.
		 */
		cap->filter = g_strdup(expr);
		if (prog_for(cap, cap->dlt >= 0 ? cap->dlt : DLT_EN10MB, errbuf) == NULL)
			return -1;
		for (i = 0; i < cap->nfiles; i++) {
			int d = cap->files[i].file_dlt;
			if (d >= 0 && prog_for(cap, d, errbuf) == NULL)
				return -1;
		}
		return 0;
	}
	if (pcap_compile(cap->p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		g_snprintf(errbuf, ERRBUF_SIZE, "filter '%s': %s", expr, pcap_geterr(cap->p));
		return -1;
	}
	if (pcap_setfilter(cap->p, &prog) < 0) {
		g_snprintf(errbuf, ERRBUF_SIZE, "filter '%s': %s", expr, pcap_geterr(cap->p));
		pcap_freecode(&prog);
		return -1;
	}
	pcap_freecode(&prog);
	return 0;
}

int
capture_dump_open(struct capture *cap, const char *path, char *errbuf)
{
	pcap_t *via = cap->p;

	if (!cap->live) {
		if (cap->dlt < 0) {
			g_snprintf(errbuf, ERRBUF_SIZE,
			    "the input holds frames of several link types; a pcap file holds one "
			    "(write each interface's frames apart with tshark -w and a filter "
			    "on frame.interface_id)");
			return -1;
		}
		cap->dump_dead = pcap_open_dead_with_tstamp_precision(
		    cap->dlt, CAPTURE_DEFAULT_SNAPLEN, PCAP_TSTAMP_PRECISION_MICRO);
		if (cap->dump_dead == NULL) {
			g_snprintf(errbuf, ERRBUF_SIZE, "cannot write link type %d", cap->dlt);
			return -1;
		}
		via = cap->dump_dead;
	}
	cap->dump = pcap_dump_open(via, path);
	if (cap->dump == NULL) {
		g_snprintf(errbuf, ERRBUF_SIZE, "%s", pcap_geterr(via));
		return -1;
	}
	cap->dump_path = g_strdup(strcmp(path, "-") == 0 ? "stdout" : path);
	return 0;
}

static void
dump_flush(struct capture *c)
{
	if (c->dump == NULL || c->dump_errno != 0)
		return;
	if (pcap_dump_flush(c->dump) < 0) {
		c->dump_errno = errno != 0 ? errno : EIO;
		capture_stop_now(c);
	}
}

static void
on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture *c = (struct capture *)user;

	if (c->stop && !c->drain)
		return; /* stopped in the middle of a batch (-c, output error): not counted */
	c->frames++;
	if (c->dump != NULL && c->dump_errno == 0)
		pcap_dump((u_char *)c->dump, h, bytes);
	c->fn(c->arg, pcap_datalink(c->p), c->frames, h, bytes);
}

/*
 * After capture_stop(): the packets the kernel captured before the stop are
 * analysed too.  The kernel hands a partly filled block over only when the
 * read timeout expires, so this reads for the timeout plus a little.
 */
static void
drain(struct capture *c)
{
	int64_t deadline = mono_ms() + c->timeout_ms + CAPTURE_DRAIN_EXTRA_MS;
	struct timespec pause = {0, 10 * 1000000};
	int n;

	while (c->drain && mono_ms() < deadline) {
		n = pcap_dispatch(c->p, 256, on_packet, (u_char *)c);
		if (n == PCAP_ERROR_BREAK)
			continue; /* the stop's own breakloop, or a second signal (drain is 0 then) */
		if (n < 0)
			break;
		if (n == 0)
			nanosleep(&pause, NULL);
	}
	dump_flush(c);
}

/* Hands one file packet on: filter, -w, the frame_fn.  -1 if the filter cannot be compiled. */
static int
file_deliver(struct capture *c, struct capfile *f, char *errbuf)
{
	const uint8_t *bytes = f->data;
	const struct dlt_prog *dp;

	c->frames++;
	if (c->filter != NULL) {
		dp = prog_for(c, f->dlt, errbuf);
		if (dp == NULL) {
			c->filter_failed = true;
			return -1;
		}
		if (!dp->ok || pcap_offline_filter(&dp->prog, &f->h, bytes) == 0)
			return 0;
	}
	if (c->dump != NULL && c->dump_errno == 0) {
		if (f->dlt == c->dlt) {
			pcap_dump((u_char *)c->dump, &f->h, bytes);
		} else if (c->dump_other++ == 0) {
			c->dump_other_dlt = f->dlt;
		}
	}
	c->fn(c->arg, f->dlt, frameid_make(f->index, f->frames), &f->h, bytes);
	return 0;
}

static int
files_run(struct capture *c, char *errbuf)
{
	struct capfile *f;
	size_t i;

	if (c->nheap == 0 && c->stop == 0) {
		for (i = 0; i < c->nfiles; i++) {
			file_advance(c, &c->files[i]);
			if (c->files[i].pending)
				heap_push(c, i);
		}
	}
	while (!c->stop && c->nheap > 0) {
		f = &c->files[heap_pop(c)];
		if (file_deliver(c, f, errbuf) < 0)
			return -1;
		file_advance(c, f);
		if (f->pending)
			heap_push(c, f->index);
	}
	dump_flush(c);
	if (c->damage->len > 0) {
		g_strlcpy(errbuf, g_ptr_array_index(c->damage, 0), ERRBUF_SIZE);
		return -1;
	}
	return 0;
}

int
capture_run(struct capture *cap, frame_fn fn, void (*idle_fn)(void *arg), void *arg, char *errbuf)
{
	int64_t last_idle = mono_ms(), now;
	struct pollfd pfd;
	int n;

	cap->fn = fn;
	cap->arg = arg;
	if (!cap->live)
		return files_run(cap, errbuf);
	pfd.fd = pcap_get_selectable_fd(cap->p);
	pfd.events = POLLIN;
	while (!cap->stop) {
		/* Non-blocking reads; wait here, at most the timeout, when none is ready. */
		n = pcap_dispatch(cap->p, 256, on_packet, (u_char *)cap);
		if (n == 0 && !cap->stop) {
			pfd.revents = 0;
			if (poll(&pfd, 1, cap->timeout_ms) > 0) {
				if (pfd.revents & POLLIN)
					continue; /* a block is ready */
				/* POLLERR and the like: the next read reports it; do not spin */
				nanosleep(&(struct timespec){0, cap->timeout_ms * 1000000L}, NULL);
			}
			/* timeouts and signals (EINTR) go on to the idle check and the stop test */
		}
		if (n == PCAP_ERROR_BREAK)
			break;
		if (n == PCAP_ERROR) {
			g_snprintf(errbuf, ERRBUF_SIZE, "%s: after frame %llu: %s", cap->name,
			    (unsigned long long)cap->frames, pcap_geterr(cap->p));
			dump_flush(cap);
			return -1;
		}
		if (n > 0)
			dump_flush(cap);
		now = mono_ms();
		if (idle_fn != NULL && !cap->stop && now - last_idle >= 1000) {
			idle_fn(arg);
			last_idle = now;
		}
	}
	if (cap->drain)
		drain(cap);
	return 0;
}

int
capture_progress(const struct capture *cap, uint64_t *done, uint64_t *total)
{
	gint64 so_far, size;
	size_t i;
	int err;

	*done = *total = 0;
	if (cap->live)
		return -1;
	for (i = 0; i < cap->nfiles; i++) {
		if (cap->files[i].is_stdin)
			return -1; /* as a pipe; its size, if any, is not what the user sees */
		err = 0;
		if (cap->files[i].pc != NULL) {
			size = (gint64)cap->files[i].size;
			so_far = (gint64)cap->files[i].pos;
		} else {
			size = wtap_file_size(cap->files[i].w, &err);
			so_far = wtap_read_so_far(cap->files[i].w);
		}
		if (size <= 0 || err != 0 || so_far < 0)
			return -1;
		*total += (uint64_t)size;
		*done += cap->files[i].done ? (uint64_t)size : (uint64_t)so_far;
	}
	return 0;
}

size_t
capture_nfiles(const struct capture *cap)
{
	return cap->nfiles;
}

const char *
capture_file_name(const struct capture *cap, size_t i)
{
	return i < cap->nfiles ? cap->files[i].name : NULL;
}

bool
capture_filter_failed(const struct capture *cap)
{
	return cap->filter_failed;
}

size_t
capture_ndamaged(const struct capture *cap)
{
	return cap->damage != NULL ? cap->damage->len : 0;
}

const char *
capture_damage(const struct capture *cap, size_t i)
{
	return cap->damage != NULL && i < cap->damage->len ? g_ptr_array_index(cap->damage, i)
	                                                   : NULL;
}

void
capture_stop(struct capture *cap)
{
	if (cap->stop) {
		cap->drain = 0; /* asked twice: stop now */
	} else {
		cap->drain = cap->live ? 1 : 0;
		cap->stop = 1;
	}
	if (cap->p != NULL)
		pcap_breakloop(cap->p);
}

void
capture_stop_now(struct capture *cap)
{
	cap->drain = 0;
	cap->stop = 1;
	if (cap->p != NULL)
		pcap_breakloop(cap->p);
}

int
capture_datalink(const struct capture *cap)
{
	return cap->live ? pcap_datalink(cap->p) : cap->dlt;
}

const char *
capture_name(const struct capture *cap)
{
	return cap->name;
}

bool
capture_is_live(const struct capture *cap)
{
	return cap->live;
}

pcap_t *
capture_pcap(struct capture *cap)
{
	return cap->p;
}

uint64_t
capture_frames(const struct capture *cap)
{
	return cap->frames;
}

int
capture_stats(struct capture *cap, struct pcap_stat *st, char *errbuf)
{
	if (!cap->live || pcap_stats(cap->p, st) < 0) {
		g_snprintf(errbuf, ERRBUF_SIZE, "%s: no statistics: %s", cap->name,
		    cap->live ? pcap_geterr(cap->p) : "not a live capture");
		return -1;
	}
	return 0;
}

static const char *
plural(unsigned long long n)
{
	return n == 1 ? "" : "s";
}

int
capture_print_stats(struct capture *cap, FILE *f, char *errbuf)
{
	struct pcap_stat st;
	unsigned long long n = cap->frames;

	if (capture_stats(cap, &st, errbuf) < 0)
		return -1;
	fprintf(f, "%llu packet%s captured\n", n, plural(n));
	fprintf(f, "%u packet%s received by filter\n", st.ps_recv, plural(st.ps_recv));
	fprintf(f, "%u packet%s dropped by kernel\n", st.ps_drop, plural(st.ps_drop));
	fprintf(f, "%u packet%s dropped by interface\n", st.ps_ifdrop, plural(st.ps_ifdrop));
	fflush(f);
	return 0;
}

int
capture_dump_close(struct capture *cap, char *errbuf)
{
	FILE *f;
	int rc = 0;
	const char *lt;

	if (cap == NULL || cap->dump == NULL)
		return 0;
	dump_flush(cap);
	f = pcap_dump_file(cap->dump);
	if (cap->dump_errno == 0 && f != NULL && ferror(f))
		cap->dump_errno = EIO;
	if (cap->dump_errno != 0) {
		g_snprintf(
		    errbuf, ERRBUF_SIZE, "%s: %s", cap->dump_path, g_strerror(cap->dump_errno));
		rc = -1;
	} else if (cap->dump_other > 0) {
		lt = cap->dump_other_dlt >= 0 ? pcap_datalink_val_to_name(cap->dump_other_dlt)
		                              : NULL;
		g_snprintf(errbuf, ERRBUF_SIZE,
		    "%s: %" G_GUINT64_FORMAT " frame%s of link type %s not written (a pcap file "
		    "holds one link type)",
		    cap->dump_path, cap->dump_other, plural(cap->dump_other),
		    lt != NULL ? lt : "?");
		rc = -1;
	}
	pcap_dump_close(cap->dump);
	cap->dump = NULL;
	return rc;
}

void
capture_close(struct capture *cap)
{
	size_t i;
	guint k;

	if (cap == NULL)
		return;
	if (cap->dump != NULL)
		pcap_dump_close(cap->dump);
	if (cap->dump_dead != NULL)
		pcap_close(cap->dump_dead);
	if (cap->p != NULL)
		pcap_close(cap->p);
	if (cap->files != NULL) {
		for (i = 0; i < cap->nfiles; i++)
			file_close(&cap->files[i]);
		g_free(cap->files);
		g_free(cap->heap);
	}
	if (cap->progs != NULL) {
		for (k = 0; k < cap->progs->len; k++)
			if (g_array_index(cap->progs, struct dlt_prog, k).ok)
				pcap_freecode(&g_array_index(cap->progs, struct dlt_prog, k).prog);
		g_array_free(cap->progs, TRUE);
	}
	if (cap->damage != NULL)
		g_ptr_array_free(cap->damage, TRUE);
	g_free(cap->filter);
	g_free(cap->dump_path);
	g_free(cap->name);
	g_free(cap);
}
