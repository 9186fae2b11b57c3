/* reasm.h - TCP reassembly: libnids behind a typed interface (one instance per process). */
#ifndef REASM_H
#define REASM_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "popflow.h"

enum reasm_end {
	REASM_CLOSE,   /* both FINs acknowledged */
	REASM_RESET,   /* RST */
	REASM_TIMEOUT, /* evicted: too many streams */
	REASM_EXIT,    /* reasm_finish() flushed it */
};

struct reasm_ops {
	/* A connection was established; return per-stream data, or NULL to ignore it. */
	void *(*established)(
	    void *arg, const struct endpoint *client, const struct endpoint *server);
	/* len new bytes of direction d at stream offset off (0 = first byte after the SYN). */
	void (*data)(
	    void *arg, void *user, enum dir d, const uint8_t *buf, size_t len, uint64_t off);
	void (*closed)(void *arg, void *user, enum reasm_end how);
};

/*
 * Sets libnids up to be fed by popflow's own loop: raw IPv4 stand-ins (so
 * any link type and IPv6 work), no checksum checks (offload), no port-scan
 * detection, max_streams connection slots.  Returns 0, or -1 with errbuf.
 */
int reasm_init(const struct reasm_ops *ops, void *arg, int max_streams, char *errbuf);
/* Largest stand-in packet reasm_build() writes. */
#define REASM_MAX_PACKET (65535 + 64)
/*
 * Builds the IPv4 stand-in libnids gets for one decoded TCP segment (IPv6
 * addresses mapped, a payload cut by snaplen padded with zeros), with ack
 * as its acknowledgment number.  Returns its length (0 if too large).
 */
size_t reasm_build(const struct segment *seg, uint32_t ack, uint8_t *out);
/* Hands a packet from reasm_build() to libnids. */
void reasm_feed_packet(const uint8_t *pkt, size_t len, struct ts ts);
/*
 * Hands libnids len zero bytes at seq from src to dst: a filler for bytes
 * the capture never held, so the stream after them is not lost.
 */
void reasm_feed_filler(const struct endpoint *src, const struct endpoint *dst, uint32_t seq,
    uint32_t ack, uint32_t len, struct ts ts);
/*
 * For a connection whose handshake was not captured, or that libnids
 * gave up: gives libnids a SYN, SYN-ACK and ACK so it follows the
 * connection from the client's next sequence number cseq and the
 * server's sseq, whose bytes are at stream offsets coff and soff.
 */
void reasm_synth_handshake(const struct endpoint *client, const struct endpoint *server,
    uint32_t cseq, uint32_t sseq, uint64_t coff, uint64_t soff, struct ts ts);
/* Hands libnids a bare ACK from the client (a handshake's third step). */
void reasm_feed_ack(const struct endpoint *client, const struct endpoint *server, uint32_t seq,
    uint32_t ack, struct ts ts);
/* Is libnids following this connection? */
bool reasm_follows(const struct endpoint *client, const struct endpoint *server);
/* Makes libnids forget a connection without calling back (its session ended). */
void reasm_forget(const struct endpoint *client, const struct endpoint *server);
/* nids_exit(): every open stream gets closed(REASM_EXIT). */
void reasm_finish(void);
uint64_t reasm_warnings(void);

#endif
