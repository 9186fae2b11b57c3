/* describe.c - words for segments and messages, in the seed document's style. */
#include <string.h>

#include "describe.h"
#include "pop3.h"
#include "tls.h"
#include "util.h"

bool
describe_is_mail(const struct msg *m)
{
	return m->kind == MSG_BODY && m->txn != NULL &&
	    (m->txn->cmd == POP3_CMD_RETR || m->txn->cmd == POP3_CMD_TOP);
}

static void
append_capped(GString *out, const char *s, size_t n, size_t start_len)
{
	util_append_printable(out, s, n);
	if (out->len - start_len > DESCRIBE_MAX_LABEL) {
		g_string_truncate(out, start_len + DESCRIBE_MAX_LABEL);
		/* Do not leave half a UTF-8 character behind. */
		while (
		    out->len > start_len && ((unsigned char)out->str[out->len - 1] & 0xc0) == 0x80)
			g_string_truncate(out, out->len - 1);
		if (out->len > start_len && (unsigned char)out->str[out->len - 1] >= 0xc0)
			g_string_truncate(out, out->len - 1);
		g_string_append(out, "...");
	}
}

/* Lines of a listing body (kept data), re-stuffed as on the wire. */
static void
append_listing(GString *out, const struct msg *m)
{
	size_t start = out->len, pos = 0, n;
	const char *line;
	bool first = true;

	if (m->data == NULL)
		return;
	while (util_next_line(m->data, &pos, &line, &n)) {
		if (!first)
			g_string_append(out, "<cr><nl>");
		first = false;
		if (n > 0 && line[0] == '.')
			g_string_append_c(out, '.'); /* as on the wire: stuffed */
		util_append_printable(out, line, n);
		if (out->len - start > DESCRIBE_MAX_LABEL) {
			g_string_truncate(out, start + DESCRIBE_MAX_LABEL);
			g_string_append(out, "...");
			return;
		}
	}
}

static void
append_msg_part(
    GString *out, const struct session *s, const struct msg *m, uint64_t from, uint64_t to)
{
	bool has_start = from <= m->off, has_end = to >= m->end;

	switch (m->kind) {
	case MSG_BODY:
		if (m->lines == 0 && m->octets == 0) {
			/* An empty body: only its final "." line. */
			if (has_end && m->complete)
				g_string_append(out, ".<cr><nl>");
			break;
		}
		if (describe_is_mail(m))
			g_string_append(
			    out, has_start ? "E-mail message" : "E-mail message (cont.)");
		else if (has_start)
			append_listing(out, m);
		else
			g_string_append(out, "(listing cont.)");
		if (has_end && m->complete)
			g_string_append(out, "<cr><nl>.<cr><nl>");
		break;
	case MSG_OPAQUE: {
		char label[400];
		bool hs;
		/* The TLS records the bytes belong to, when the session was decrypted (tls.h). */
		if (s->tls != NULL && s->tls->decrypted &&
		    tls_info_label(s->tls, m->dir, from > m->off ? from : m->off,
		        to < m->end ? to : m->end, &hs, label, sizeof(label)))
			g_string_append_printf(out, "TLS %s", label);
		else
			g_string_append(out,
			    s->proto == PROTO_TLS || s->proto == PROTO_POP3S ? "TLS data"
			                                                     : "Unparsed data");
		break;
	}
	default:
		if (has_start)
			append_capped(out, m->text, m->text_len, out->len);
		else
			g_string_append(out, "(line cont.)");
		break;
	}
}

void
describe_segment_append(GString *out, const struct session *s, const struct seg_rec *r)
{
	uint8_t f = r->flags;
	uint32_t i;
	const struct msg *m;

	if (r->marks & SEG_CONFLICT) {
		/* Its bytes differ from the copy the transcript kept: do not show the kept ones. */
		g_string_append_printf(out, "Conflicting retransmission (%u byte%s, not used)",
		    r->len, util_plural(r->len));
		return;
	}
	if (r->len > 0 && r->msg_count > 0) {
		for (i = 0; i < r->msg_count; i++) {
			m = g_ptr_array_index(s->msgs[r->dir], r->msg_first + i);
			if (i > 0)
				g_string_append(out, "<cr><nl>");
			append_msg_part(out, s, m, r->off, r->off + r->len);
		}
		return;
	}
	if (r->len > 0) {
		g_string_append_printf(out, "TCP data (%u byte%s)", r->len, util_plural(r->len));
		return;
	}
	g_string_append(out, "TCP ");
	if (f & TH_SYN)
		g_string_append(out, (f & TH_ACK) ? "SYN+ACK" : "SYN");
	else if (f & TH_RST)
		g_string_append(out, (f & TH_ACK) ? "RST+ACK" : "RST");
	else if (f & TH_FIN)
		g_string_append(out, (f & TH_ACK) ? "FIN+ACK" : "FIN");
	else if (f & TH_ACK)
		g_string_append(out, "ACK");
	else
		g_string_append(out, "segment");
}

char *
describe_segment(const struct session *s, const struct seg_rec *r)
{
	GString *out = g_string_new(NULL);

	describe_segment_append(out, s, r);
	return g_string_free(out, FALSE);
}

char *
describe_params(const struct seg_rec *r, bool len_zero)
{
	char flags[64];

	util_flags(r->flags, flags, sizeof(flags));
	if (r->len > 0)
		return g_strdup_printf("(%s), TCP Segment Length = %u", flags, r->len);
	if (len_zero)
		return g_strdup_printf("(%s), tcp.len = 0", flags);
	return g_strdup_printf("(%s)", flags);
}

char *
describe_msg(const struct session *s, const struct msg *m)
{
	GString *out = g_string_new(NULL);

	if (m->kind == MSG_BODY && describe_is_mail(m)) {
		g_string_append_printf(out, "E-mail message (%llu octets%s)",
		    (unsigned long long)m->octets, m->complete ? "" : ", cut short");
	} else {
		append_msg_part(out, s, m, m->off, m->end);
	}
	return g_string_free(out, FALSE);
}

const char *
describe_marks(uint8_t marks, char *buf, size_t len)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = {
	    {SEG_SYNTHETIC, "synthetic"},
	    {SEG_RETRANS, "retransmission"},
	    {SEG_OOO, "out-of-order"},
	    {SEG_GAP_BEFORE, "previous segment not captured"},
	    {SEG_TRUNCATED, "payload cut by snaplen"},
	    {SEG_DUP_ACK, "duplicate ACK"},
	    {SEG_CONFLICT, "conflicting retransmission"},
	};
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < G_N_ELEMENTS(names); i++) {
		if (!(marks & names[i].bit))
			continue;
		if (buf[0] != '\0')
			g_strlcat(buf, ", ", len);
		g_strlcat(buf, names[i].name, len);
	}
	return buf;
}
