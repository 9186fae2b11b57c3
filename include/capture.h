/* capture.h - one packet source: a capture file (pcap, pcapng, stdin) or a live interface. */
#ifndef CAPTURE_H
#define CAPTURE_H

#include <stdint.h>

#include <pcap/pcap.h>

#include "popflow.h"

struct capture;

/* Called for every frame; frame is borrowed for the call, frame_no is 1-based. */
typedef void (*frame_fn)(void *arg, uint64_t frame_no, const struct pcap_pkthdr *h,
    const uint8_t *frame);

struct capture_live_opts {
	int snaplen;	 /* 0: libpcap's default (262144) */
	bool promisc;
	int buffer_size; /* bytes; 0: default */
	int timeout_ms;	 /* read timeout so signals and idle checks are seen */
};

/* path "-" is standard input.  Returns NULL with errbuf filled. */
struct capture *capture_open_file(const char *path, char *errbuf);
struct capture *capture_open_live(const char *ifname, const struct capture_live_opts *o,
    char *errbuf);
/* Compiles and installs a tcpdump filter expression (NULL or "" = none). */
int capture_set_filter(struct capture *cap, const char *expr, char *errbuf);
/*
 * Reads frames until the end of the file, capture_stop(), or an error.
 * Returns 0 at the end or on stop, -1 on a read error (errbuf filled; the
 * frames before it were delivered).  idle_fn (may be NULL) is called when
 * a live read times out, so the caller can expire idle sessions.
 */
int capture_run(struct capture *cap, frame_fn fn, void (*idle_fn)(void *arg), void *arg,
    char *errbuf);
/* Async-signal-safe: makes capture_run() return soon. */
void capture_stop(struct capture *cap);
int capture_datalink(const struct capture *cap);
const char *capture_name(const struct capture *cap);
bool capture_is_live(const struct capture *cap);
pcap_t *capture_pcap(struct capture *cap);
/* Kernel counters of a live capture: 0, or -1 if not available. */
int capture_stats(struct capture *cap, struct pcap_stat *st, char *errbuf);
void capture_close(struct capture *cap);

#endif
