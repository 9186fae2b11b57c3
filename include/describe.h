/* describe.h - words for segments and messages, in the seed document's style, shared by text and diagrams. */
#ifndef DESCRIBE_H
#define DESCRIBE_H

#include <glib.h>

#include "session.h"

#define DESCRIBE_MAX_LABEL 72 /* characters of carried text before "..." */

/*
 * The name of a segment as the seed writes it: "TCP SYN", "TCP SYN+ACK",
 * "TCP ACK", "TCP FIN+ACK", "TCP RST", or for data what it carries:
 * "USER john.doe@anydomain.com", "+OK 1317 octets",
 * "E-mail message<cr><nl>.<cr><nl>", "1 1317<cr><nl>.<cr><nl>".
 * Requires session_finalize().  Returns a new string (g_free).
 */
char *describe_segment(const struct session *s, const struct seg_rec *r);
/* The same words appended to out (a buffer reused from one segment to the next). */
void describe_segment_append(GString *out, const struct session *s, const struct seg_rec *r);
/* "(PSH, ACK)" plus ", TCP Segment Length = N" for data; "(ACK), tcp.len = 0" if len_zero. */
char *describe_params(const struct seg_rec *r, bool len_zero);
/* A message in words: "USER alice", "+OK 2 messages", "E-mail message (1317 octets)". */
char *describe_msg(const struct session *s, const struct msg *m);
/* Notes on a segment: "retransmission", "out-of-order", "synthetic", ... ("" if none). */
const char *describe_marks(uint8_t marks, char *buf, size_t len);
/* True for RETR and TOP bodies (mail), false for LIST/UIDL/CAPA listings. */
bool describe_is_mail(const struct msg *m);

#endif
