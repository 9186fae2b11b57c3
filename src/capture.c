/* capture.c - libpcap: open a file or an interface, BPF filter, the read loop, stop, statistics. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "capture.h"

struct capture {
	pcap_t *p;
	char *name;
	bool live;
	volatile sig_atomic_t stop;
	uint64_t frames;
	struct bpf_program prog; /* files: applied here, so frame numbers count every frame */
	bool have_prog;
	frame_fn fn;
	void *arg;
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

struct capture *
capture_open_file(const char *path, char *errbuf)
{
	char perr[PCAP_ERRBUF_SIZE];
	pcap_t *p;

	perr[0] = '\0';
	/* Microsecond timestamps whatever the file holds (pcapng may carry ns). */
	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, perr);
	if (p == NULL) {
		g_snprintf(errbuf, ERRBUF_SIZE, "%s: %s", strcmp(path, "-") == 0 ? "stdin" : path,
		    perr);
		return NULL;
	}
	return capture_new(p, strcmp(path, "-") == 0 ? "stdin" : path, false);
}

struct capture *
capture_open_live(const char *ifname, const struct capture_live_opts *o, char *errbuf)
{
	char perr[PCAP_ERRBUF_SIZE];
	pcap_t *p;
	int rc;

	perr[0] = '\0';
	p = pcap_create(ifname, perr);
	if (p == NULL) {
		g_snprintf(errbuf, ERRBUF_SIZE, "%s: %s", ifname, perr);
		return NULL;
	}
	if (o->snaplen > 0)
		pcap_set_snaplen(p, o->snaplen);
	pcap_set_promisc(p, o->promisc ? 1 : 0);
	pcap_set_timeout(p, o->timeout_ms > 0 ? o->timeout_ms : 250);
	if (o->buffer_size > 0)
		pcap_set_buffer_size(p, o->buffer_size);
	rc = pcap_activate(p);
	if (rc < 0) {
		switch (rc) {
		case PCAP_ERROR_NO_SUCH_DEVICE:
			g_snprintf(errbuf, ERRBUF_SIZE, "%s: no such interface (popflow -D lists them)",
			    ifname);
			break;
		case PCAP_ERROR_PERM_DENIED:
			g_snprintf(errbuf, ERRBUF_SIZE,
			    "%s: permission denied: capturing needs root or the CAP_NET_RAW "
			    "capability (%s)",
			    ifname, pcap_geterr(p));
			break;
		default:
			g_snprintf(errbuf, ERRBUF_SIZE, "%s: %s", ifname, pcap_geterr(p));
			break;
		}
		pcap_close(p);
		return NULL;
	}
	return capture_new(p, ifname, true);
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

static void
on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture *c = (struct capture *)user;

	c->frames++;
	if (c->have_prog && pcap_offline_filter(&c->prog, h, bytes) == 0)
		return;
	c->fn(c->arg, c->frames, h, bytes);
}

int
capture_run(struct capture *cap, frame_fn fn, void (*idle_fn)(void *arg), void *arg,
    char *errbuf)
{
	int n;

	cap->fn = fn;
	cap->arg = arg;
	while (!cap->stop) {
		n = pcap_dispatch(cap->p, cap->live ? 256 : 4096, on_packet, (u_char *)cap);
		if (n == PCAP_ERROR_BREAK)
			break;
		if (n == PCAP_ERROR) {
			g_snprintf(errbuf, ERRBUF_SIZE, "%s: after frame %llu: %s", cap->name,
			    (unsigned long long)cap->frames, pcap_geterr(cap->p));
			return -1;
		}
		if (n == 0) {
			if (!cap->live)
				break; /* end of file */
			if (idle_fn != NULL)
				idle_fn(arg);
		}
	}
	return 0;
}

void
capture_stop(struct capture *cap)
{
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

void
capture_close(struct capture *cap)
{
	if (cap == NULL)
		return;
	if (cap->have_prog)
		pcap_freecode(&cap->prog);
	pcap_close(cap->p);
	g_free(cap->name);
	g_free(cap);
}
