/* mime.c - message headers and attachment count with GMime 3.0 (encoded words, RFC 2047, decoded by it). */
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "mime.h"

/* Caps on what is kept of one header value. */
#define MIME_MAX_VALUE 998

static gpointer
mime_init_once(gpointer arg)
{
	(void)arg;
	g_mime_init();
	return NULL;
}

static void
mime_init(void)
{
	static GOnce once = G_ONCE_INIT;

	g_once(&once, mime_init_once, NULL);
}

void
mail_info_free(struct mail_info *m)
{
	if (m == NULL)
		return;
	g_free(m->from);
	g_free(m->to);
	g_free(m->from_q);
	g_free(m->to_q);
	g_free(m->cc_q);
	g_free(m->cc);
	g_free(m->subject);
	g_free(m->date);
	g_free(m->message_id);
	g_free(m->return_path);
	g_free(m->from_addr);
	g_free(m->content_type);
	g_free(m);
}

void
mail_info_free_cb(gpointer m)
{
	mail_info_free(m);
}

/* A header value as kept: valid UTF-8 is for the emitters to ensure; here only capped. */
static char *
keep(const char *s)
{
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n > MIME_MAX_VALUE) {
		/* Cut on a character boundary when the text is UTF-8. */
		const char *end = s + MIME_MAX_VALUE;
		if (g_utf8_validate(s, (gssize)n, NULL))
			end = g_utf8_find_prev_char(s, s + MIME_MAX_VALUE + 1);
		return g_strndup(s, (gsize)(end - s));
	}
	return g_strdup(s);
}

static char *
addresses(GMimeMessage *msg, GMimeAddressType type)
{
	InternetAddressList *l = g_mime_message_get_addresses(msg, type);
	char *s, *r;

	if (l == NULL || internet_address_list_length(l) == 0)
		return NULL;
	s = internet_address_list_to_string(l, NULL, FALSE);
	r = keep(s);
	g_free(s);
	return r;
}

/*
 * s as an RFC 5322 quoted-string (section 3.2.4): '"' and '\\' become
 * quoted-pairs, and so does '<', so that in the text report a '<' without
 * one always begins the escape of a byte (<0x01>, <cr>: util_append_printable()).
 */
static void
append_quoted(GString *out, const char *s)
{
	g_string_append_c(out, '"');
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '"' || *s == '\\' || *s == '<')
			g_string_append_c(out, '\\');
		g_string_append_c(out, *s);
	}
	g_string_append_c(out, '"');
}

/*
 * The mailboxes of l as "Name" <addr>, <addr> when there is no name, and a
 * group as "Group": members; (RFC 5322 section 3.4).  Mailboxes that would
 * take it past MIME_MAX_VALUE octets are left out and "..." says so: a
 * quoted-string is never cut.
 */
static void
append_mailboxes(GString *out, InternetAddressList *l, int depth)
{
	int i, n = internet_address_list_length(l);
	size_t before;

	for (i = 0; i < n; i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);
		const char *name = internet_address_get_name(a);

		before = out->len;
		if (i > 0)
			g_string_append(out, ", ");
		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			append_quoted(out, name);
			g_string_append(out, ": ");
			if (depth == 0) /* RFC 5322: groups do not nest */
				append_mailboxes(out,
				    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)),
				    1);
			g_string_append_c(out, ';');
		} else if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			if (name != NULL && name[0] != '\0') {
				append_quoted(out, name);
				g_string_append_c(out, ' ');
			}
			const char *addr =
			    internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
			g_string_append_c(out, '<');
			g_string_append(out, addr != NULL ? addr : "");
			g_string_append_c(out, '>');
		}
		if (out->len > MIME_MAX_VALUE) {
			g_string_truncate(out, before);
			g_string_append(out, before > 0 ? ", ..." : "...");
			return;
		}
	}
}

static char *
addresses_quoted(GMimeMessage *msg, GMimeAddressType type)
{
	InternetAddressList *l = g_mime_message_get_addresses(msg, type);
	GString *out;

	if (l == NULL || internet_address_list_length(l) == 0)
		return NULL;
	out = g_string_new(NULL);
	append_mailboxes(out, l, 0);
	return g_string_free(out, FALSE);
}

/* The addr-spec of a list's first mailbox, or NULL. */
static char *
first_addr(InternetAddressList *l)
{
	InternetAddress *a;

	if (l == NULL || internet_address_list_length(l) == 0)
		return NULL;
	a = internet_address_list_get_address(l, 0);
	if (!INTERNET_ADDRESS_IS_MAILBOX(a))
		return NULL;
	return keep(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)));
}

struct count {
	unsigned parts, attachments;
};

static void
count_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	struct count *c = data;

	(void)parent;
	if (GMIME_IS_MESSAGE_PART(part)) {
		/* An attached message (message/rfc822). */
		c->parts++;
		c->attachments++;
	} else if (GMIME_IS_PART(part)) {
		GMimePart *p = GMIME_PART(part);
		c->parts++;
		if (g_mime_part_is_attachment(p) ||
		    (g_mime_object_get_disposition(part) == NULL &&
		        g_mime_part_get_filename(p) != NULL))
			c->attachments++;
	}
}

static struct mail_info *
parse_stream(GMimeStream *st)
{
	struct mail_info *m = g_new0(struct mail_info, 1);
	GMimeParser *parser = g_mime_parser_new_with_stream(st);
	GMimeMessage *msg;
	GMimeObject *top;
	const char *v;
	struct count c = {0, 0};

	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	if (msg == NULL)
		return m;
	m->from = addresses(msg, GMIME_ADDRESS_TYPE_FROM);
	m->from_addr = first_addr(g_mime_message_get_from(msg));
	m->to = addresses(msg, GMIME_ADDRESS_TYPE_TO);
	m->cc = addresses(msg, GMIME_ADDRESS_TYPE_CC);
	m->from_q = addresses_quoted(msg, GMIME_ADDRESS_TYPE_FROM);
	m->to_q = addresses_quoted(msg, GMIME_ADDRESS_TYPE_TO);
	m->cc_q = addresses_quoted(msg, GMIME_ADDRESS_TYPE_CC);
	m->subject = keep(g_mime_message_get_subject(msg));
	m->date = keep(g_mime_object_get_header(GMIME_OBJECT(msg), "Date"));
	v = g_mime_message_get_message_id(msg);
	if (v != NULL) {
		char *id = g_strdup_printf("<%s>", v);
		m->message_id = keep(id);
		g_free(id);
	}
	v = g_mime_object_get_header(GMIME_OBJECT(msg), "Return-Path");
	if (v != NULL) {
		InternetAddressList *l = internet_address_list_parse(NULL, v);
		m->return_path = first_addr(l);
		if (l != NULL)
			g_object_unref(l);
	}
	top = g_mime_message_get_mime_part(msg);
	if (top != NULL) {
		GMimeContentType *ct = g_mime_object_get_content_type(top);
		if (ct != NULL)
			m->content_type = g_mime_content_type_get_mime_type(ct);
		if (GMIME_IS_MULTIPART(top) || GMIME_IS_PART(top) || GMIME_IS_MESSAGE_PART(top)) {
			if (GMIME_IS_MULTIPART(top))
				g_mime_message_foreach(msg, count_part, &c);
			else
				count_part(NULL, top, &c);
		}
	}
	m->parts = c.parts;
	m->attachments = c.attachments;
	g_object_unref(msg);
	return m;
}

struct mail_info *
mime_parse_mem(const uint8_t *data, size_t len)
{
	GMimeStream *st;
	struct mail_info *m;

	mime_init();
	/* An empty body may come as NULL (an empty GByteArray): GMime wants a buffer. */
	st = g_mime_stream_mem_new_with_buffer(data != NULL ? (const char *)data : "", len);
	m = parse_stream(st);
	g_object_unref(st);
	return m;
}

struct mail_info *
mime_parse_fd(int fd)
{
	GMimeStream *st;
	struct mail_info *m;

	mime_init();
	if (lseek(fd, 0, SEEK_SET) < 0)
		return g_new0(struct mail_info, 1);
	st = g_mime_stream_fs_new(fd);
	g_mime_stream_fs_set_owner(GMIME_STREAM_FS(st), FALSE);
	m = parse_stream(st);
	g_object_unref(st);
	return m;
}
