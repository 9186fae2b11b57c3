/* capture.h - one packet source: a capture file (pcap, pcapng, stdin) or a live interface. */
#ifndef CAPTURE_H
#define CAPTURE_H

#include <stdint.h>
#include <stdio.h>

#include <pcap/pcap.h>

#include "popflow.h"

struct capture;

/*
 * Called for every frame; frame is borrowed for the call.  dlt is the
 * frame's link type (interfaces of a pcapng file, and files, may differ;
 * CAPTURE_DLT_UNKNOWN when it has no pcap link type); frame_id is the frame
 * as frameid.h encodes it (for a single file or a live capture: the frame
 * number, 1-based).
 */
typedef void (*frame_fn)(
    void *arg, int dlt, uint64_t frame_id, const struct pcap_pkthdr *h, const uint8_t *frame);

/* capture_datalink() when frames come with several link types. */
#define CAPTURE_DLT_SEVERAL (-1)
/* A link type with no pcap value (wiretap reads formats libpcap does not). */
#define CAPTURE_DLT_UNKNOWN (-2)

/* libpcap's default snapshot length, used for -s 0 as tcpdump does. */
#define CAPTURE_DEFAULT_SNAPLEN 262144
/*
 * Read timeout of live captures: the longest a captured packet waits in the
 * kernel before popflow sees it, and how often idle sessions are looked at.
 */
#define CAPTURE_DEFAULT_TIMEOUT_MS 100

/*
 * Kernel capture buffer (the TPACKET_V3 ring) when -B is not given: 128 MiB,
 * a second of a saturated 1 Gbit/s link.  libpcap's own 2 MiB holds four
 * blocks at the default snapshot length and dropped packets already at 100
 * Mbit/s when popflow lost the CPU for a moment; 64 MiB dropped a few
 * thousand packets in 3 of 5 replays of 1 GB at 1 Gbit/s, 128 MiB none in 5
 * (docs/live.md).
 */
#define CAPTURE_DEFAULT_BUFFER (128 << 20)

struct capture_live_opts {
	int snaplen; /* 0: CAPTURE_DEFAULT_SNAPLEN */
	bool promisc;
	int buffer_size; /* bytes; 0: CAPTURE_DEFAULT_BUFFER */
	int timeout_ms;  /* read timeout so signals and idle checks are seen; 0: default */
};

/*
 * Capture files are read with wiretap, Wireshark's reader: pcap, pcapng
 * (any number of interfaces, each with its own link type and snapshot
 * length), the other formats tshark reads, compressed with gzip, zstd or
 * lz4 or not (docs/inputs.md).  Several files are merged into one stream
 * in time order, as mergecap does: the earlier packet first, on the same
 * time the file given first, each file's packets in their order.  Every
 * file is opened here (a path "-" is standard input) and, when there are
 * several, numbered in the order of their first packets (the file index
 * of frame identifiers, frameid.h; capture_file_name() gives the names in
 * that order).  Returns NULL with errbuf naming the file that cannot be read.
 */
struct capture *capture_open_files(const char *const *paths, size_t n, char *errbuf);
/* One file: capture_open_files(&path, 1, errbuf). */
struct capture *capture_open_file(const char *path, char *errbuf);
/*
 * Opens an interface ("any": Linux cooked capture v2); a number N, as
 * tcpdump reads it, is the interface named N if there is one, else the N-th
 * that capture_list_interfaces() prints (capture_name() then says which).
 * Packets reach
 * popflow at most the read timeout after they were captured.  Needs root or
 * CAP_NET_RAW; errbuf says so when it is missing.  On success errbuf holds
 * libpcap's warning, if it gave one, or "".
 */
struct capture *capture_open_live(
    const char *ifname, const struct capture_live_opts *o, char *errbuf);
/* Prints the interfaces libpcap can capture on, numbered as tcpdump -D does. */
int capture_list_interfaces(FILE *out, char *errbuf);
/*
 * Compiles and installs a tcpdump filter expression (NULL or "" = none).
 * Files: compiled for each link type, checked here for those known when
 * the files were opened, and for another one when its first frame comes.
 */
int capture_set_filter(struct capture *cap, const char *expr, char *errbuf);
/*
 * Also writes every frame handed to the frame_fn (after the filter) to a
 * pcap file ("-": standard output), flushed after every batch of a live
 * capture.  Open it before dropping privileges.  A pcap file holds one
 * link type: refused when the input files hold several.
 */
int capture_dump_open(struct capture *cap, const char *path, char *errbuf);
/*
 * Reads frames until the end of the input, capture_stop(), or an error.
 * Returns 0 at the end or on stop, -1 on a read error (errbuf filled; the
 * frames before it were delivered) or when the filter cannot be compiled
 * for a link type first met part-way (capture_filter_failed()).  A file
 * that is damaged part-way ends there; the other files are read to their
 * end, and capture_damage() lists what went wrong in each.  idle_fn (may be NULL) is called for a
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
/* Files: how many, and the name of file index i (frameid.h) as given ("stdin" for "-"). */
size_t capture_nfiles(const struct capture *cap);
const char *capture_file_name(const struct capture *cap, size_t i);
/* capture_run() stopped because the filter does not compile for a link type met part-way. */
bool capture_filter_failed(const struct capture *cap);
/* Files that ended with a read error, and what the error was ("FILE: after frame N: why"). */
size_t capture_ndamaged(const struct capture *cap);
const char *capture_damage(const struct capture *cap, size_t i);
/* Stops after the current frame, without reading what the kernel holds (-c, errors). */
void capture_stop_now(struct capture *cap);
/* The link type of every frame, or CAPTURE_DLT_SEVERAL (files: as known when opened). */
int capture_datalink(const struct capture *cap);
const char *capture_name(const struct capture *cap);
bool capture_is_live(const struct capture *cap);
/* The libpcap handle of a live capture (NULL for files). */
pcap_t *capture_pcap(struct capture *cap);
/*
 * Files: the bytes of the input files, as stored (compressed or not), read
 * so far and in all, for a progress line.  -1 when not known (a live
 * capture, standard input, a pipe).
 */
int capture_progress(const struct capture *cap, uint64_t *done, uint64_t *total);
/* Frames read so far (tcpdump's "packets captured"; files: before the filter). */
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
