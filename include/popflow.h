/* popflow.h - small types shared by every module: directions, times, addresses, exit codes. */
#ifndef POPFLOW_H
#define POPFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define POPFLOW_VERSION "0.1.0"

/* Size of every caller-supplied error buffer (like PCAP_ERRBUF_SIZE). */
#define ERRBUF_SIZE 256

/*
 * Directions are always named from the server's point of view of the
 * bytes: to the server (commands) or to the client (replies).  libnids'
 * "client"/"server" half-streams are translated once, in tcp_nids.c.
 */
enum dir { DIR_TO_SERVER = 0, DIR_TO_CLIENT = 1 };

/* Exit codes; only main.c picks one (README documents them). */
enum exit_code {
	EXIT_OK = 0,
	EXIT_USAGE = 1,   /* bad option or filter */
	EXIT_INPUT = 2,   /* input cannot be opened or read at all */
	EXIT_OUTPUT = 3,  /* output cannot be written */
	EXIT_DAMAGED = 4, /* input damaged part-way: analysed what was read */
	EXIT_INTERRUPTED =
	    5, /* a file's reading stopped by SIGINT/SIGTERM: what was read is reported */
	EXIT_NO_SESSION = 6, /* --session N: no session N was reported; a diagram format: no POP3
	                        session to draw */
};

/* Packet time, as in the capture (never the wall clock). */
struct ts {
	int64_t sec;
	int32_t usec;
};

struct addr {
	uint8_t family; /* 4 or 6 */
	uint8_t bytes[16];
};

struct endpoint {
	struct addr ip;
	uint16_t port;
};

/* TCP flags, as in the header byte (plus ECE/CWR). */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20
#define TH_ECE 0x40
#define TH_CWR 0x80

static inline const char *
dir_name(enum dir d)
{
	return d == DIR_TO_SERVER ? "to_server" : "to_client";
}

/* The other direction: replies for commands, commands for replies. */
static inline enum dir
dir_opposite(enum dir d)
{
	return d == DIR_TO_SERVER ? DIR_TO_CLIENT : DIR_TO_SERVER;
}

/* Microseconds from a to b (b later gives a positive result). */
static inline int64_t
ts_diff_us(struct ts a, struct ts b)
{
	return (b.sec - a.sec) * 1000000 + (b.usec - a.usec);
}

static inline int
ts_cmp(struct ts a, struct ts b)
{
	if (a.sec != b.sec)
		return a.sec < b.sec ? -1 : 1;
	if (a.usec != b.usec)
		return a.usec < b.usec ? -1 : 1;
	return 0;
}

static inline bool
endpoint_equal(const struct endpoint *a, const struct endpoint *b)
{
	return a->port == b->port && a->ip.family == b->ip.family &&
	    memcmp(a->ip.bytes, b->ip.bytes, sizeof(a->ip.bytes)) == 0;
}

#endif
