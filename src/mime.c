/* mime.c - message headers and attachment count with GMime 3.0 (encoded words, RFC 2047, decoded by it). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "mime.h"

#if !GMIME_CHECK_VERSION(3, 2, 14)
/* Part of GMime's 3.2 API and exported, but declared in its header only from 3.2.14 (GMime issue 128). */
void internet_address_list_append_parse(
    InternetAddressList *list, GMimeParserOptions *options, const char *str);
#endif

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

/*
 * An addr-spec as internet_address_list_to_string() writes it.  GMime puts
 * the domain through libidn2's ToASCII (internet_address_mailbox_get_idn_addr())
 * and keeps it as it is when the result differs only in case or the
 * conversion fails.  For a domain of printable ASCII one of the two always
 * holds (libidn2 copies an ASCII label once UTS #46 has mapped it, which for
 * ASCII lowers the case, or rejects it): such an address is written as it
 * is, without the conversion, which costs more than the rest of the header
 * step.  Others get GMime's.
 */
static const char *
mailbox_addr(InternetAddressMailbox *mb)
{
	const char *addr = internet_address_mailbox_get_addr(mb), *p;

	if (addr == NULL)
		return "";
	for (p = addr; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return internet_address_mailbox_get_idn_addr(mb);
	return addr;
}

/*
 * l as internet_address_list_to_string(l, NULL, FALSE) writes it (GMime's
 * mailbox_to_string() and group_to_string() without folding or encoding):
 * "Name" <addr> with the name through g_mime_utils_quote_string(), addr
 * alone when there is no name, a group as Name: members;, ", " between.
 */
static void
append_list(GString *out, InternetAddressList *l)
{
	int i, n = internet_address_list_length(l);

	for (i = 0; i < n; i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);
		const char *name = internet_address_get_name(a);
		char *q;

		if (i > 0)
			g_string_append(out, ", ");
		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			if (name != NULL) {
				q = g_mime_utils_quote_string(name);
				g_string_append(out, q);
				g_free(q);
			}
			g_string_append(out, ": ");
			append_list(
			    out, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)));
			g_string_append_c(out, ';');
		} else if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			const char *addr = mailbox_addr(INTERNET_ADDRESS_MAILBOX(a));
			if (name != NULL && name[0] != '\0') {
				q = g_mime_utils_quote_string(name);
				g_string_append(out, q);
				g_free(q);
				g_string_append(out, " <");
				g_string_append(out, addr);
				g_string_append_c(out, '>');
			} else {
				g_string_append(out, addr);
			}
		}
	}
}

/*
 * An address list as GMime writes it (RFC 5322 section 3.4), capped; NULL
 * for none.  By_gmime: by internet_address_list_to_string() itself (the
 * reference the fast path is checked against), else by append_list().
 */
static char *
addresses(InternetAddressList *l, bool by_gmime)
{
	char *s, *r;

	if (l == NULL || internet_address_list_length(l) == 0)
		return NULL;
	if (by_gmime) {
		s = internet_address_list_to_string(l, NULL, FALSE);
	} else {
		GString *out = g_string_new(NULL);
		append_list(out, l);
		s = g_string_free(out, FALSE);
	}
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
addresses_quoted(InternetAddressList *l)
{
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

/* from, to, cc, their quoted forms and from_addr. */
static void
set_addresses(struct mail_info *m, InternetAddressList *from, InternetAddressList *to,
    InternetAddressList *cc, bool by_gmime)
{
	m->from = addresses(from, by_gmime);
	m->from_addr = first_addr(from);
	m->to = addresses(to, by_gmime);
	m->cc = addresses(cc, by_gmime);
	m->from_q = addresses_quoted(from);
	m->to_q = addresses_quoted(to);
	m->cc_q = addresses_quoted(cc);
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

/*
 * GMime's address parser reads a group (RFC 5322 section 3.4: name ':'
 * members ';') by calling itself for the members, so every ':' of a From
 * field can open one more level: 120,000 of them overflow the stack.
 * Groups do not nest in RFC 5322, and no address field needs this many
 * ':' (an IPv6 domain literal has at most 8): in the address fields GMime
 * parses (From, To, Cc, Bcc, Sender, Reply-To, and Return-Path here), of
 * the message and of messages inside it, the ':' after the first
 * MIME_MAX_COLONS are read as spaces.
 */
#define MIME_MAX_COLONS 1000

/*
 * GMime 3.2.13's address parser loses about 128 bytes on an address field
 * that ends inside a comment (RFC 5322 section 3.2.2) after a domain
 * literal ("x@[192.0.2.1] (no end"): a capture of many such messages would
 * make popflow grow by that much each.  In the address fields of a message
 * read from memory, the '(' of a comment that never closes is read as a
 * space (comments_close()).
 */

/*
 * Runs over an address field's value v: true if a comment is still open at
 * its end; with fix, the '(' of every comment left open become spaces.
 * Quoted strings, domain literals and quoted pairs are skipped as RFC 5322
 * section 3.2 reads them.
 */
static bool
comments_close(uint8_t *v, size_t n, bool fix)
{
	GArray *opens = NULL; /* fix: where the comments still open began */
	bool quoted = false, literal = false, escaped = false;
	size_t i, depth = 0;

	for (i = 0; i < n; i++) {
		uint8_t c = v[i];

		if (escaped) {
			escaped = false;
		} else if (c == '\\' && (quoted || depth > 0)) {
			escaped = true;
		} else if (depth > 0) {
			if (c == '(') {
				depth++;
				if (fix)
					g_array_append_val(opens, i);
			} else if (c == ')') {
				depth--;
				if (fix)
					g_array_set_size(opens, opens->len - 1);
			}
		} else if (quoted) {
			quoted = c != '"';
		} else if (literal) {
			literal = c != ']';
		} else if (c == '"') {
			quoted = true;
		} else if (c == '[') {
			literal = true;
		} else if (c == '(') {
			depth = 1;
			if (fix) {
				if (opens == NULL)
					opens = g_array_new(FALSE, FALSE, sizeof(size_t));
				g_array_set_size(opens, 0);
				g_array_append_val(opens, i);
			}
		}
	}
	if (fix && opens != NULL) {
		for (i = 0; depth > 0 && i < opens->len; i++)
			v[g_array_index(opens, size_t, i)] = ' ';
		g_array_free(opens, TRUE);
	}
	return depth > 0;
}

struct tamer {
	bool at_start; /* at the start of a line */
	bool in_name;  /* reading a field name */
	bool addr;     /* in an address field (its first line or folded ones) */
	bool changed;  /* a ':' was (or would be) replaced */
	char name[16]; /* the field name so far */
	size_t name_len;
	unsigned colons; /* in the address field */
	bool comments;   /* also close comments (a message in memory: tame() sees it whole) */
	size_t value_at; /* comments: where the address field's value begins in buf */
};

static bool
tame_is_addr(const char *name, size_t n)
{
	static const char *const names[] = {
	    "From", "To", "Cc", "Bcc", "Sender", "Reply-To", "Return-Path"};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(names); i++)
		if (strlen(names[i]) == n && g_ascii_strncasecmp(names[i], name, n) == 0)
			return true;
	return false;
}

/* An address field ends at end (comments: its comments left open closed). */
static void
tame_field_end(struct tamer *t, uint8_t *buf, size_t end, bool fix)
{
	if (t->comments && t->addr && !t->in_name && end > t->value_at &&
	    comments_close(buf + t->value_at, end - t->value_at, fix))
		t->changed = true;
	t->addr = false;
}

/* Runs over the next n bytes of a message; with fix, replaces the ':' too many. */
static void
tame(struct tamer *t, uint8_t *buf, size_t n, bool fix)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = buf[i];
		const uint8_t *nl;

		if (t->at_start) {
			t->at_start = false;
			if (c == ' ' || c == '\t') {
				t->in_name = false; /* a folded line: the field goes on */
			} else {
				tame_field_end(t, buf, i, fix);
				t->in_name = true;
				t->addr = false;
				t->name_len = 0;
				t->colons = 0;
			}
		}
		if (c == '\n') {
			t->at_start = true;
			t->in_name = false;
			i++;
			continue;
		}
		if (t->in_name) {
			if (c == ':') {
				t->in_name = false;
				t->addr = t->name_len < sizeof(t->name) &&
				    tame_is_addr(t->name, t->name_len);
				t->colons = 1;
				t->value_at = i + 1;
			} else if (c == ' ' || c == '\t') {
				/* left out: GMime drops blanks before ':' (and more is only safer) */
			} else if (t->name_len < sizeof(t->name)) {
				t->name[t->name_len++] = (char)c;
			} else {
				t->in_name = false; /* longer than any address field's name */
			}
			i++;
			continue;
		}
		if (!t->addr) {
			/* The rest of the line does not matter. */
			nl = memchr(buf + i, '\n', n - i);
			i = nl != NULL ? (size_t)(nl - buf) : n;
			continue;
		}
		if (c == ':' && ++t->colons > MIME_MAX_COLONS) {
			t->changed = true;
			if (fix)
				buf[i] = ' ';
		}
		i++;
	}
}

/*
 * data with the ':' too many replaced and the comments left open in address
 * fields closed (a copy), or NULL when there are none.
 */
static uint8_t *
tame_copy(const uint8_t *data, size_t len)
{
	struct tamer t = {.at_start = true, .comments = true};
	uint8_t *copy;

	if (memchr(data, '(', len) == NULL && len <= MIME_MAX_COLONS)
		return NULL; /* no comment, and too short to hold a ':' too many */
	tame(&t, (uint8_t *)data, len, false);
	tame_field_end(&t, (uint8_t *)data, len, false);
	if (!t.changed)
		return NULL;
	copy = g_memdup2(data, len);
	t = (struct tamer){.at_start = true, .comments = true};
	tame(&t, copy, len, true);
	tame_field_end(&t, copy, len, true);
	return copy;
}

/*
 * Return-Path is parsed from its decoded value (g_mime_object_get_header()),
 * where encoded words may have made the ':': the same cap, on a copy.
 */
static InternetAddressList *
return_path_parse(const char *v)
{
	char *copy = g_strdup(v), *p;
	unsigned colons = 0;
	InternetAddressList *l;

	for (p = copy; *p != '\0'; p++)
		if (*p == ':' && ++colons > MIME_MAX_COLONS)
			*p = ' ';
	comments_close((uint8_t *)copy, strlen(copy), true);
	l = internet_address_list_parse(NULL, copy);
	g_free(copy);
	return l;
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
	set_addresses(m, g_mime_message_get_from(msg), g_mime_message_get_to(msg),
	    g_mime_message_get_cc(msg), true);
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
		InternetAddressList *l = return_path_parse(v);
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

/*
 * The header fields read without building a GMimeMessage: GMime's parser
 * keeps every field, parses every address list and date, and builds objects
 * for all of it; popflow shows a few.  A header section of plain form is
 * split here into fields (RFC 5322 section 2.2: a name of printable
 * characters up to ':', folded lines begin with a space or a tab), and each
 * field shown goes through the GMime function its parser would call on it,
 * so that the values are those GMime gives.  Anything else is left to GMime.
 */
enum mime_field {
	MF_FROM,
	MF_TO,
	MF_CC,
	MF_SUBJECT,
	MF_DATE,
	MF_MESSAGE_ID,
	MF_RETURN_PATH,
	MF_CONTENT_TYPE,
	MF_CONTENT_DISPOSITION,
	MF_COUNT
};

static const char *const mime_fields[MF_COUNT] = {
    [MF_FROM] = "From",
    [MF_TO] = "To",
    [MF_CC] = "Cc",
    [MF_SUBJECT] = "Subject",
    [MF_DATE] = "Date",
    [MF_MESSAGE_ID] = "Message-Id",
    [MF_RETURN_PATH] = "Return-Path",
    [MF_CONTENT_TYPE] = "Content-Type",
    [MF_CONTENT_DISPOSITION] = "Content-Disposition",
};

/* A field's raw value: the bytes after its ':', line breaks included (as GMime's parser keeps it). */
struct span {
	const char *p;
	size_t n;
};

static int
field_index(const char *name, size_t n)
{
	int i;

	for (i = 0; i < MF_COUNT; i++)
		if (strlen(mime_fields[i]) == n &&
		    g_ascii_strncasecmp(mime_fields[i], name, n) == 0)
			return i;
	return -1;
}

/* A character of a field name (RFC 5322 section 3.6.8: printable, not ':'). */
static bool
is_ftext(uint8_t c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* Does [p, p+n) hold s, in any case? */
static bool
has_word(const char *p, size_t n, const char *s)
{
	size_t k = strlen(s), i;

	for (i = 0; i + k <= n; i++)
		if (g_ascii_strncasecmp(p + i, s, k) == 0)
			return true;
	return false;
}

/*
 * Splits the header section at the start of data into the fields popflow
 * shows.  False when the section is not of the plain form this reads the
 * same way as GMime's parser (every line ends in LF or CRLF; a field line
 * begins with a name of characters 33-126 and its ':' with no space before;
 * no control byte but HT; an empty line ends the section) or names a type
 * whose parts GMime would look into (multipart/..., message/...), or
 * holds a shown field twice: which one counts, or whether both do, is
 * GMime's to say (for two From fields, 3.2.13 upstream keeps the last,
 * 3.2.14 and Debian's 3.2.13 both).
 */
static bool
split_fields(const uint8_t *data, size_t len, struct span f[MF_COUNT])
{
	const uint8_t *p = data, *end = data + len;
	const uint8_t *val = NULL; /* the value of the field being read */
	int cur = -1;              /* ... its index, -1 if popflow does not show it */

	memset(f, 0, sizeof(struct span) * MF_COUNT);
	while (p < end) {
		const uint8_t *lf = memchr(p, '\n', (size_t)(end - p)), *eol, *q;

		if (lf == NULL)
			return false; /* no empty line: the section is cut short */
		eol = lf > p && lf[-1] == '\r' ? lf - 1 : lf;
		for (q = p; q < eol; q++)
			if ((*q < 0x20 && *q != '\t') || *q == 0x7f)
				return false;
		if ((*p == ' ' || *p == '\t') && val == NULL)
			return false; /* a folded line with no field before it */
		if (eol == p || (*p != ' ' && *p != '\t')) {
			/* The field read so far ends here. */
			if (cur >= 0) {
				if (f[cur].p != NULL)
					return false;
				f[cur].p = (const char *)val;
				f[cur].n = (size_t)(p - val);
				if (cur == MF_CONTENT_TYPE &&
				    (has_word(f[cur].p, f[cur].n, "multipart") ||
				        has_word(f[cur].p, f[cur].n, "message")))
					return false;
			}
			if (eol == p)
				return true;
			for (q = p; q < eol && is_ftext(*q); q++)
				;
			if (q == p || q == eol || *q != ':')
				return false;
			cur = field_index((const char *)p, (size_t)(q - p));
			val = q + 1;
		}
		p = lf + 1;
	}
	return false;
}

/*
 * A raw value as GMime's header gives it (g_mime_header_get_value()):
 * unfolded, encoded words decoded.  ASCII text without "=?" is no encoded
 * word and GMime's decoder gives it back as it is (its words and spaces
 * copied): it is not passed through it.
 */
static char *
field_value(const struct span *s)
{
	char *raw = g_strndup(s->p, s->n), *unfolded, *v;
	const char *p;

	unfolded = g_mime_utils_header_unfold(raw);
	g_free(raw);
	for (p = unfolded; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80 || (p[0] == '=' && p[1] == '?'))
			break;
	if (*p == '\0')
		return unfolded;
	v = g_mime_utils_header_decode_text(NULL, unfolded);
	g_free(unfolded);
	return v;
}

/* An address field's mailboxes as GMimeMessage parses them (from the raw value); NULL if absent. */
static InternetAddressList *
field_addresses(const struct span *s)
{
	InternetAddressList *l;
	char *raw;

	if (s->p == NULL)
		return NULL;
	raw = g_strndup(s->p, s->n);
	l = internet_address_list_new();
	internet_address_list_append_parse(l, NULL, raw);
	g_free(raw);
	return l;
}

/* The headers of a message of one part (not multipart/..., message/...), from its fields. */
static struct mail_info *
parse_fields(const struct span f[MF_COUNT])
{
	struct mail_info *m = g_new0(struct mail_info, 1);
	InternetAddressList *from = field_addresses(&f[MF_FROM]), *to = field_addresses(&f[MF_TO]),
	                    *cc = field_addresses(&f[MF_CC]);
	GMimeContentType *ct = NULL;
	GMimeContentDisposition *cd = NULL;
	const char *filename = NULL;
	char *v;

	set_addresses(m, from, to, cc, false);
	g_clear_object(&from);
	g_clear_object(&to);
	g_clear_object(&cc);
	if (f[MF_SUBJECT].p != NULL) {
		v = field_value(&f[MF_SUBJECT]);
		m->subject = keep(v);
		g_free(v);
	}
	if (f[MF_DATE].p != NULL) {
		v = field_value(&f[MF_DATE]);
		m->date = keep(v);
		g_free(v);
	}
	if (f[MF_MESSAGE_ID].p != NULL) {
		char *id;
		v = field_value(&f[MF_MESSAGE_ID]);
		id = g_mime_utils_decode_message_id(v);
		g_free(v);
		if (id != NULL) {
			v = g_strdup_printf("<%s>", id);
			m->message_id = keep(v);
			g_free(v);
			g_free(id);
		}
	}
	if (f[MF_RETURN_PATH].p != NULL) {
		InternetAddressList *l;
		v = field_value(&f[MF_RETURN_PATH]);
		l = return_path_parse(v);
		g_free(v);
		m->return_path = first_addr(l);
		g_clear_object(&l);
	}
	/*
	 * The part: text/plain, with no parameter, unless it says (RFC 2045
	 * section 5.2; GMime's parser sets g_mime_content_type_new("text", "plain")).
	 */
	if (f[MF_CONTENT_TYPE].p != NULL) {
		v = field_value(&f[MF_CONTENT_TYPE]);
		ct = g_mime_content_type_parse(NULL, v);
		g_free(v);
		m->content_type = g_mime_content_type_get_mime_type(ct);
	} else {
		m->content_type = g_strdup("text/plain");
	}
	if (f[MF_CONTENT_DISPOSITION].p != NULL) {
		v = field_value(&f[MF_CONTENT_DISPOSITION]);
		cd = g_mime_content_disposition_parse(NULL, v);
		g_free(v);
	}
	/* As count_part() counts a GMimePart. */
	m->parts = 1;
	if (cd != NULL)
		filename = g_mime_content_disposition_get_parameter(cd, "filename");
	if (filename == NULL && ct != NULL)
		filename = g_mime_content_type_get_parameter(ct, "name");
	if ((cd != NULL && g_mime_content_disposition_is_attachment(cd)) ||
	    ((cd == NULL || g_mime_content_disposition_get_disposition(cd) == NULL) &&
	        filename != NULL))
		m->attachments = 1;
	g_clear_object(&cd);
	g_clear_object(&ct);
	return m;
}

/* Through GMime's parser alone (mime.h). */
struct mail_info *
mime_parse_mem_gmime(const uint8_t *data, size_t len)
{
	GMimeStream *st;
	struct mail_info *m;
	uint8_t *tamed = data != NULL ? tame_copy(data, len) : NULL;

	mime_init();
	if (tamed != NULL)
		data = tamed;
	/* An empty body may come as NULL (an empty GByteArray): GMime wants a buffer. */
	st = g_mime_stream_mem_new_with_buffer(data != NULL ? (const char *)data : "", len);
	m = parse_stream(st);
	g_object_unref(st);
	g_free(tamed);
	return m;
}

struct mail_info *
mime_parse_mem(const uint8_t *data, size_t len)
{
	struct span f[MF_COUNT];
	struct mail_info *m;
	uint8_t *tamed;

	if (data == NULL)
		return mime_parse_mem_gmime(data, len);
	tamed = tame_copy(data, len);
	if (tamed != NULL)
		data = tamed;
	if (split_fields(data, len, f)) {
		mime_init();
		m = parse_fields(f);
	} else {
		m = mime_parse_mem_gmime(data, len);
	}
	g_free(tamed);
	return m;
}

/*
 * Reads fd from its start to see whether any ':' is too many (tame()); if
 * so, *copy is an unlinked temporary file holding the message with them
 * replaced.  fd and the copy are left at offset 0.  False on a read error.
 */
static bool
fd_tamed(int fd, FILE **copy)
{
	struct tamer t = {.at_start = true};
	uint8_t buf[65536];
	ssize_t n;

	*copy = NULL;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return false;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && !t.changed)
		tame(&t, buf, (size_t)n, false);
	if (n < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return false;
	if (!t.changed)
		return true;
	*copy = tmpfile();
	if (*copy == NULL)
		return false;
	t = (struct tamer){.at_start = true};
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		tame(&t, buf, (size_t)n, true);
		if (fwrite(buf, 1, (size_t)n, *copy) != (size_t)n)
			break;
	}
	if (n != 0 || fflush(*copy) != 0 || lseek(fileno(*copy), 0, SEEK_SET) < 0) {
		fclose(*copy);
		*copy = NULL;
		return false;
	}
	return true;
}

struct mail_info *
mime_parse_fd(int fd)
{
	GMimeStream *st;
	struct mail_info *m;

	FILE *copy = NULL;

	mime_init();
	if (!fd_tamed(fd, &copy))
		return g_new0(struct mail_info, 1);
	if (copy != NULL)
		fd = fileno(copy);
	st = g_mime_stream_fs_new(fd);
	g_mime_stream_fs_set_owner(GMIME_STREAM_FS(st), FALSE);
	m = parse_stream(st);
	g_object_unref(st);
	if (copy != NULL)
		fclose(copy);
	return m;
}
