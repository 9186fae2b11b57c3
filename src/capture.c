/* capture.c - libpcap: open a file or an interface, BPF filter, the read loop, -w, stop, statistics. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "capture.h"

/* stdio buffer of a capture file (fewer read system calls). */
#define CAPTURE_READ_BUFFER (1u << 20)
/* After a stop, what the kernel already holds is read for at most timeout + this. */
#define CAPTURE_DRAIN_EXTRA_MS 100

struct capture {
	pcap_t *p;
	char *name;
	bool live;
	int timeout_ms;
	volatile sig_atomic_t stop;
	volatile sig_atomic_t drain; /* with stop: read what the kernel holds first */
	uint64_t frames;
	struct bpf_program prog; /* files: applied here, so frame numbers count every frame */
	bool have_prog;
	frame_fn fn;
	void *arg;
	pcap_dumper_t *dump; /* -w */
	char *dump_path;
	int dump_errno; /* a write to the -w file failed (0: none) */
	char *iobuf;    /* the stdio buffer of a capture file */
};

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

static char stdin_buf[CAPTURE_READ_BUFFER];

struct capture *
capture_open_file(const char *path, char *errbuf)
{
	char perr[PCAP_ERRBUF_SIZE];
	pcap_t *p;
	FILE *fp;
	char *iobuf;
	struct capture *c;

	perr[0] = '\0';
	/*
	 * Opened here rather than by libpcap so the stream gets a large buffer:
	 * stdio's own (4 KiB) meant a read() for every two or three frames.
	 */
	fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (fp == NULL) {
		g_snprintf(errbuf, ERRBUF_SIZE, "%s: %s", path, g_strerror(errno));
		return NULL;
	}
	/*
	 * glibc ignores the size unless it is given the buffer too.  libpcap
	 * never closes stdin, so its buffer must outlive the capture: static.
	 */
	iobuf = fp == stdin ? NULL : g_malloc(CAPTURE_READ_BUFFER);
	setvbuf(fp, iobuf != NULL ? iobuf : stdin_buf, _IOFBF, CAPTURE_READ_BUFFER);
	/* Microsecond timestamps whatever the file holds (pcapng may carry ns). */
	p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
	if (p == NULL) {
		if (fp != stdin)
			fclose(fp);
		g_free(iobuf);
		g_snprintf(
		    errbuf, ERRBUF_SIZE, "%s: %s", strcmp(path, "-") == 0 ? "stdin" : path, perr);
		return NULL;
	}
	c = capture_new(p, strcmp(path, "-") == 0 ? "stdin" : path, false);
	c->iobuf = iobuf;
	return c;
}

struct capture *
capture_open_live(const char *ifname, const struct capture_live_opts *o, char *errbuf)
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
	pcap_set_buffer_size(p, o->buffer_size > 0 ? o->buffer_size : CAPTURE_DEFAULT_BUFFER);
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

int
capture_set_filter(struct capture *cap, const char *expr, char *errbuf)
{
	struct bpf_program prog;

	if (expr == NULL || expr[0] == '\0')
		return 0;
	if (pcap_compile(cap->p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		g_snprintf(errbuf, ERRBUF_SIZE, "filter '%s': %s", expr, pcap_geterr(cap->p));
		return -1;
	}
	if (!cap->live) {
		/* Filter files ourselves: frame numbers then match Wireshark's. */
		cap->prog = prog;
		cap->have_prog = true;
		return 0;
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
	cap->dump = pcap_dump_open(cap->p, path);
	if (cap->dump == NULL) {
		g_snprintf(errbuf, ERRBUF_SIZE, "%s", pcap_geterr(cap->p));
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
	if (c->have_prog && pcap_offline_filter(&c->prog, h, bytes) == 0)
		return;
	if (c->dump != NULL && c->dump_errno == 0)
		pcap_dump((u_char *)c->dump, h, bytes);
	c->fn(c->arg, c->frames, h, bytes);
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

int
capture_run(struct capture *cap, frame_fn fn, void (*idle_fn)(void *arg), void *arg, char *errbuf)
{
	int64_t last_idle = mono_ms(), now;
	struct pollfd pfd;
	int n;

	cap->fn = fn;
	cap->arg = arg;
	pfd.fd = cap->live ? pcap_get_selectable_fd(cap->p) : -1;
	pfd.events = POLLIN;
	while (!cap->stop) {
		/* Live: non-blocking reads; wait here, at most the timeout, when none is ready. */
		n = pcap_dispatch(cap->p, cap->live ? 256 : 4096, on_packet, (u_char *)cap);
		if (n == 0 && cap->live && !cap->stop) {
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
		if (!cap->live) {
			if (n == 0)
				break; /* end of file */
			continue;
		}
		if (n > 0)
			dump_flush(cap);
		now = mono_ms();
		if (idle_fn != NULL && !cap->stop && now - last_idle >= 1000) {
			idle_fn(arg);
			last_idle = now;
		}
	}
	if (cap->live && cap->drain)
		drain(cap);
	return 0;
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
	pcap_breakloop(cap->p);
}

void
capture_stop_now(struct capture *cap)
{
	cap->drain = 0;
	cap->stop = 1;
	pcap_breakloop(cap->p);
}

int
capture_datalink(const struct capture *cap)
{
	return pcap_datalink(cap->p);
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
	}
	pcap_dump_close(cap->dump);
	cap->dump = NULL;
	return rc;
}

void
capture_close(struct capture *cap)
{
	if (cap == NULL)
		return;
	if (cap->dump != NULL)
		pcap_dump_close(cap->dump);
	if (cap->have_prog)
		pcap_freecode(&cap->prog);
	pcap_close(cap->p); /* closes the file (not stdin), which used iobuf */
	g_free(cap->iobuf);
	g_free(cap->dump_path);
	g_free(cap->name);
	g_free(cap);
}
