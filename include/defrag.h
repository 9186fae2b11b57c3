/* defrag.h - IPv4 and IPv6 fragment reassembly, bounded, by packet time. */
#ifndef DEFRAG_H
#define DEFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "popflow.h"

#define DEFRAG_MAX_DATAGRAMS 256 /* datagrams being put together at once */
#define DEFRAG_TIMEOUT 30        /* seconds of packet time a datagram may take */
#define DEFRAG_MAX_LEN 65535     /* an IP datagram cannot be larger */

struct defrag;

struct defrag *defrag_new(void);
void defrag_free(struct defrag *df);
/* Fragments still waiting for the rest of their datagram. */
uint64_t defrag_pending(const struct defrag *df);
/*
 * Adds the fragment seg (DECODE_FRAGMENT from decode_frame) seen at ts.
 * When it completes a datagram, returns the whole IP packet (valid until
 * the next call) and its length in *len; otherwise NULL.  Fragments that
 * cannot be used (malformed, too long, given up with their datagram after
 * the timeout or when the table is full) are added to *problems; a
 * datagram whose fragments overlap with other bytes adds one and keeps
 * the first copy.
 */
const uint8_t *defrag_add(
    struct defrag *df, const struct segment *seg, struct ts ts, size_t *len, uint64_t *problems);

#endif
