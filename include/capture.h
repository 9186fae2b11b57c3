/* capture.h - one packet source: a capture file (pcap, pcapng, stdin) or a live interface. */
#ifndef CAPTURE_H
#define CAPTURE_H

#include <stdint.h>
#include <stdio.h>

#include <pcap/pcap.h>

#include "popflow.h"

struct capture;

/* Called for every frame; frame is borrowed for the call, frame_no is 1-based. */
typedef void (*frame_fn)(
    void *arg, uint64_t frame_no, const struct pcap_pkthdr *h, const uint8_t *frame);

/* libpcap's default snapshot length, used for -s 0 as tcpdump does. */
#define CAPTURE_DEFAULT_SNAPLEN 262144
/*
 * Read timeout of live captures: the longest a captured packet waits in the
 * kernel before popflow sees it, and how often idle sessions are looked at.
 */
#define CAPTURE_DEFAULT_TIMEOUT_MS 100

/*
 * Kernel capture buffer (the TPACKET_V3 ring) when -B is not given: 64 MiB,
 * half a second of a saturated 1 Gbit/s link.  libpcap's own 2 MiB holds
 * four blocks at the default snapshot length and dropped packets already
 * at 100 Mbit/s when popflow lost the CPU for a moment (docs/live.md).
 */
#define CAPTURE_DEFAULT_BUFFER (64 << 20)

struct capture_live_opts {
	int snaplen; /* 0: CAPTURE_DEFAULT_SNAPLEN */
	bool promisc;
	int buffer_size; /* bytes; 0: CAPTURE_DEFAULT_BUFFER */
	int timeout_ms;  /* read timeout so signals and idle checks are seen; 0: default */
};

/* path "-" is standard input.  Returns NULL with errbuf filled. */
struct capture *capture_open_file(const char *path, char *errbuf);
/*
 * Opens an interface ("any": Linux cooked capture v2).  Packets reach
 * popflow at most the read timeout after they were captured.  Needs root or
 * CAP_NET_RAW; errbuf says so when it is missing.  On success errbuf holds
 * libpcap's warning, if it gave one, or "".
 */
struct capture *capture_open_live(
    const char *ifname, const struct capture_live_opts *o, char *errbuf);
/* Prints the interfaces libpcap can capture on, numbered as tcpdump -D does. */
int capture_list_interfaces(FILE *out, char *errbuf);
/* Compiles and installs a tcpdump filter expression (NULL or "" = none). */
int capture_set_filter(struct capture *cap, const char *expr, char *errbuf);
/*
 * Also writes every frame handed to the frame_fn (after the filter) to a
 * pcap file ("-": standard output), flushed after every batch of a live
 * capture.  Open it before dropping privileges.
 */
int capture_dump_open(struct capture *cap, const char *path, char *errbuf);
/*
 * Reads frames until the end of the file, capture_stop(), or an error.
 * Returns 0 at the end or on stop, -1 on a read error (errbuf filled; the
 * frames before it were delivered).  idle_fn (may be NULL) is called for a
 * live capture about once a second (wall clock), whether packets arrive or
 * not, so the caller can expire idle sessions.
 */
int capture_run(
    struct capture *cap, frame_fn fn, void (*idle_fn)(void *arg), void *arg, char *errbuf);
/*
 * Async-signal-safe: makes capture_run() return soon.  A live capture first
 * reads what the kernel already holds (for the read timeout plus a little),
 * so packets that arrived before the signal are analysed.  A second call
 * stops at once.
 */
void capture_stop(struct capture *cap);
/* Stops after the current frame, without reading what the kernel holds (-c, errors). */
void capture_stop_now(struct capture *cap);
int capture_datalink(const struct capture *cap);
const char *capture_name(const struct capture *cap);
bool capture_is_live(const struct capture *cap);
pcap_t *capture_pcap(struct capture *cap);
/* Frames handed to the frame_fn so far (tcpdump's "packets captured"). */
uint64_t capture_frames(const struct capture *cap);
/* Kernel counters of a live capture: 0, or -1 if not available. */
int capture_stats(struct capture *cap, struct pcap_stat *st, char *errbuf);
/*
 * Writes the end-of-capture report as tcpdump does: packets captured,
 * received by filter, dropped by kernel, dropped by interface (always
 * printed).  Returns -1 with errbuf if pcap_stats() failed.
 */
int capture_print_stats(struct capture *cap, FILE *f, char *errbuf);
/*
 * Flushes and closes the -w file: 0, or -1 with errbuf if a write failed
 * (then, during a live capture, the capture was stopped at the failure).
 */
int capture_dump_close(struct capture *cap, char *errbuf);
/* Closes the capture (and the -w file if still open; NULL is fine). */
void capture_close(struct capture *cap);

#endif
