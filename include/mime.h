/* mime.h - the headers of a retrieved message, parsed with GMime 3.0 (RFC 5322, RFC 2045-2047). */
#ifndef MIME_H
#define MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

/* What the message says about itself.  Strings are UTF-8 (encoded words decoded), NULL if absent. */
struct mail_info {
	char *from, *to, *cc, *subject, *date, *message_id;
	/*
	 * From, To and Cc for the text report, read back unambiguously: every
	 * display name an RFC 5322 quoted-string (section 3.2.4: '"', '\' and '<'
	 * as quoted-pairs: in the report a '<' without '\' begins the escape of a
	 * byte), every address in angle brackets ("Carol" <carol@x>).
	 */
	char *from_q, *to_q, *cc_q;
	char *return_path;  /* addr-spec of Return-Path, for mbox "From " lines */
	char *from_addr;    /* addr-spec of the first From: mailbox */
	char *content_type; /* "multipart/mixed", ... of the top level */
	unsigned
	    attachments; /* parts with Content-Disposition attachment, or a file name, or an attached message */
	unsigned parts; /* leaf parts (a plain message has 1) */
};

/*
 * Parses a message held in memory (a whole message, or its header section
 * up to and with its empty line).  Never NULL: an empty info for junk.
 * A header section of plain form is split into fields by popflow, each
 * shown field decoded by GMime; anything else goes through GMime's parser.
 */
struct mail_info *mime_parse_mem(const uint8_t *data, size_t len);
/* The same through GMime's message parser alone: what mime_parse_mem() must equal (tests). */
struct mail_info *mime_parse_mem_gmime(const uint8_t *data, size_t len);
/* Parses a message from a file descriptor (read from offset 0; fd stays open). */
struct mail_info *mime_parse_fd(int fd);
void mail_info_free(struct mail_info *m);
void mail_info_free_cb(gpointer m);

#endif
