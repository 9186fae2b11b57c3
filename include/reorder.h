/* reorder.h - hands libnids each connection's segments in an order it can follow, and fills what the capture lost. */
#ifndef REORDER_H
#define REORDER_H

#include "decode.h"
#include "session.h"

/* Out-of-order bytes held per session before a hole is given up (libnids keeps only 64 KiB). */
#define REORDER_MAX_HELD (16u << 20)
/* Segments of a session after the receiver acknowledged a hole's bytes before it is given up. */
#define REORDER_ACKED_PATIENCE 16
/* Ranges of stream bytes known missing, per direction. */
#define REORDER_MAX_MISSING 256

struct reorder;

typedef void (*reorder_deliver_fn)(
    void *arg, enum dir d, const uint8_t *buf, size_t len, uint64_t off);
typedef void (*reorder_gap_fn)(void *arg, enum dir d, uint64_t off, uint64_t len);

struct reorder *reorder_new(void);
void reorder_free(struct reorder *r);
/*
 * Feeds one segment of session s (direction d, already recorded as the
 * last seg_rec) to libnids: in order at once; beyond a hole it is held
 * until the hole is filled, or given up (then the hole is filled with
 * zeros that the dissector is told are missing).  Acknowledgments are
 * clamped to what libnids was given, so an ACK captured before its data
 * does not make libnids drop that data.
 */
void reorder_segment(struct reorder *r, struct session *s, enum dir d, const struct segment *seg);
/* Gives up every hole and feeds what was held (the session is ending). */
void reorder_flush(struct reorder *r, struct session *s);
/* Delivers stream bytes to fn, telling gap about the bytes known missing instead. */
void reorder_deliver(struct reorder *r, enum dir d, const uint8_t *buf, size_t len, uint64_t off,
    reorder_deliver_fn fn, reorder_gap_fn gap, void *arg);
uint64_t reorder_held_bytes(const struct reorder *r);
/* Stream bytes of direction d handed to libnids in order so far. */
uint64_t reorder_contig(const struct reorder *r, enum dir d);

#endif
