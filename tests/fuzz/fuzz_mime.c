/*
 * fuzz_mime.c - the header step (mime.c): mime_parse_mem() splits a plain
 * header section itself and decodes each shown field with GMime; whatever
 * it gives must equal what GMime's message parser gives for the same bytes
 * (mime_parse_mem_gmime()).  Any difference aborts, naming the field.
 *
 * Input: the bytes of a message (a header section, with or without the
 * empty line and a body after it), as a retrieved message's are passed.
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "fuzz.h"
#include "mime.h"

static void
same_str(const char *what, const char *a, const char *b)
{
	if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0)) {
		fprintf(stderr, "fuzz_mime: %s differs: popflow's [%s], GMime's [%s]\n", what,
		    a != NULL ? a : "(null)", b != NULL ? b : "(null)");
		abort();
	}
}

static void
same_uint(const char *what, unsigned a, unsigned b)
{
	if (a != b) {
		fprintf(stderr, "fuzz_mime: %s differs: popflow's %u, GMime's %u\n", what, a, b);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_info *a = mime_parse_mem(data, size), *b = mime_parse_mem_gmime(data, size);

	same_str("from", a->from, b->from);
	same_str("to", a->to, b->to);
	same_str("cc", a->cc, b->cc);
	same_str("from_q", a->from_q, b->from_q);
	same_str("to_q", a->to_q, b->to_q);
	same_str("cc_q", a->cc_q, b->cc_q);
	same_str("subject", a->subject, b->subject);
	same_str("date", a->date, b->date);
	same_str("message_id", a->message_id, b->message_id);
	same_str("return_path", a->return_path, b->return_path);
	same_str("from_addr", a->from_addr, b->from_addr);
	same_str("content_type", a->content_type, b->content_type);
	same_uint("parts", a->parts, b->parts);
	same_uint("attachments", a->attachments, b->attachments);
	mail_info_free(a);
	mail_info_free(b);
	return 0;
}
