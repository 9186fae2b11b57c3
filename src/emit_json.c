/* emit_json.c - JSON Lines: one object per session as it ends, then a summary; encoded by jansson. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "capa.h"
#include "creds.h"
#include "describe.h"
#include "emit.h"
#include "frameid.h"
#include "mime.h"
#include "pop3.h"
#include "tls.h"
#include "util.h"

/*
 * The line buffer: room for n more bytes at the end of g (and its NUL);
 * returns where they go, to be written and closed with out_end().  Lets a
 * segment be written through one pointer, without a call per field.
 */
static inline char *
out_room(GString *g, size_t n)
{
	gsize len = g->len;

	if (g->allocated_len - len <= n) {
		g_string_set_size(g, len + n);
		g->len = len;
	}
	return g->str + len;
}

static inline void
out_end(GString *g, char *p)
{
	g->len = (gsize)(p - g->str);
	*p = '\0';
}

static inline void
out_mem(GString *g, const char *s, size_t n)
{
	char *p = out_room(g, n);

	memcpy(p, s, n);
	out_end(g, p + n);
}

/* p gets the literal lit (no NUL); returns the end */
#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

/* p gets v in decimal; returns the end. */
static inline char *
put_u64(char *p, uint64_t v)
{
	char t[20];
	size_t i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	memcpy(p, t + i, sizeof(t) - i);
	return p + sizeof(t) - i;
}

static inline char *
put_i64(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		return put_u64(p, (uint64_t)0 - (uint64_t)v);
	}
	return put_u64(p, (uint64_t)v);
}

/* json_dump_callback()'s sink: jansson encodes, straight into the line buffer (no copy of the whole dump). */
static int
append_cb(const char *buf, size_t n, void *data)
{
	out_mem((GString *)data, buf, n);
	return 0;
}

#define JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

/*
 * Appends the members of object o, as jansson encodes them, without their
 * braces; a comma first unless *first.  Lets a line be put together from
 * jansson's pieces and members written as they are encoded (the duration,
 * the -v segment list).
 */
static void
raw_members(GString *g, json_t *o, bool *first)
{
	size_t mark = g->len;

	if (json_object_size(o) == 0)
		return;
	json_dump_callback(o, append_cb, g, JSON_FLAGS);
	/* "{...}" -> "..." (or ",..." after other members) */
	g_string_truncate(g, g->len - 1);
	if (*first)
		g_string_erase(g, (gssize)mark, 1);
	else
		g->str[mark] = ',';
	*first = false;
}

/* Writes g and a newline, flushed (JSON Lines, streamed). */
static int
put_gstring(FILE *f, GString *g, char *errbuf)
{
	g_string_append_c(g, '\n');
	if (fwrite(g->str, 1, g->len, f) != g->len || fflush(f) != 0) {
		util_write_error(errbuf);
		return -1;
	}
	return 0;
}

/* Writes one object as a line and frees it. */
static int
put_object(FILE *f, json_t *j, char *errbuf)
{
	GString *g = g_string_sized_new(1024);
	int rc;

	json_dump_callback(j, append_cb, g, JSON_FLAGS);
	json_decref(j);
	rc = put_gstring(f, g, errbuf);
	g_string_free(g, TRUE);
	return rc;
}

/* Appends ,"key":v (the comma unless first). */
static void
raw_int(GString *g, const char *key, int64_t v, bool first)
{
	g_string_append_printf(g, "%s\"%s\":%" PRId64, first ? "" : ",", key, v);
}

/* Any bytes -> a JSON string (invalid UTF-8 becomes U+FFFD; NUL stays, as \u0000). */
static json_t *
jstr(const char *s, size_t n)
{
	GString *u = util_utf8(s, n);
	json_t *j = json_stringn(u->str, u->len);

	g_string_free(u, TRUE);
	return j != NULL ? j : json_string("\xef\xbf\xbd");
}

static json_t *jdirs(const uint64_t v[2]);

/* The TLS layer (docs/json.md): what the handshake told, and what was decrypted. */
static json_t *
jtls(const struct session *s)
{
	const struct tls_info *t = s->tls;
	json_t *j = json_object();
	char b[16];
	uint64_t none[2] = {0, 0};

	json_object_set_new(j, "version",
	    t != NULL && t->version != 0 ? json_string(tls_version_name(t->version, b, sizeof(b)))
	                                 : json_null());
	json_object_set_new(j, "cipher",
	    t != NULL && t->cipher != 0 ? json_string(tls_cipher_name(t->cipher, b, sizeof(b)))
	                                : json_null());
	json_object_set_new(
	    j, "sni", t != NULL && t->sni != NULL ? jstr(t->sni, strlen(t->sni)) : json_null());
	json_object_set_new(
	    j, "alpn", t != NULL && t->alpn != NULL ? jstr(t->alpn, strlen(t->alpn)) : json_null());
	json_object_set_new(j, "decrypted", json_boolean(t != NULL && t->decrypted));
	json_object_set_new(j, "keys_found", json_boolean(t != NULL && t->keys));
	json_object_set_new(j, "encrypt_then_mac", json_boolean(t != NULL && t->encrypt_then_mac));
	json_object_set_new(j, "records", jdirs(t != NULL ? t->records : none));
	json_object_set_new(j, "bytes", jdirs(t != NULL ? t->bytes : none));
	if (t != NULL && (t->failed[0] > 0 || t->failed[1] > 0))
		json_object_set_new(j, "records_not_verified", jdirs(t->failed));
	json_object_set_new(j, "start_offset", jdirs(s->tls_start));
	json_object_set_new(j, "segments", jdirs(s->tls_segments));
	return j;
}

static json_t *
jstatus(enum pop3_status st)
{
	const char *n = pop3_status_name(st);

	return n != NULL ? json_string(n) : json_null();
}

static json_t *
jts(struct ts t)
{
	char buf[UTIL_TS_LEN];

	util_ts_iso(t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
jframe(uint64_t f)
{
	return f > 0 ? json_integer((json_int_t)f) : json_null();
}

static json_t *
jendpoint(const struct endpoint *e)
{
	char a[UTIL_ADDR_LEN];

	util_addr(&e->ip, a, sizeof(a));
	return json_pack("{s:s, s:i}", "ip", a, "port", (int)e->port);
}

static json_t *
jdirs(const uint64_t v[2])
{
	return json_pack(
	    "{s:I, s:I}", "to_server", (json_int_t)v[0], "to_client", (json_int_t)v[1]);
}

/* Lines of a kept listing body (LIST, UIDL, CAPA, ...), unstuffed, without EOL. */
static json_t *
jlines(const struct msg *m)
{
	json_t *a = json_array();
	const char *line;
	size_t pos = 0, n;

	while (util_next_line(m->data, &pos, &line, &n))
		json_array_append_new(a, jstr(line, n));
	return a;
}

static json_t *
jcstr(const char *s)
{
	return s != NULL ? jstr(s, strlen(s)) : json_null();
}

static json_t *
jstrings(const GPtrArray *a)
{
	json_t *j = json_array();
	guint i;

	for (i = 0; i < a->len; i++)
		json_array_append_new(j, jcstr(g_ptr_array_index(a, i)));
	return j;
}

static json_t *
jdelay(const struct capa_delay *d)
{
	json_t *o = json_object();

	if (d->never)
		json_object_set_new(o, "value", json_string("NEVER"));
	else
		json_object_set_new(
		    o, "value", d->value >= 0 ? json_integer((json_int_t)d->value) : json_null());
	json_object_set_new(o, "per_user", json_boolean(d->per_user));
	return o;
}

/* RFC 2449 section 6 (and 2595, 3206, 6856) capabilities: present ones only. */
static json_t *
jcapa(const struct capa *c)
{
	json_t *o = json_object();

#define FLAG(field, name)                                                                          \
	if (c->field)                                                                              \
	json_object_set_new(o, name, json_true())
	FLAG(top, "TOP");
	FLAG(user, "USER");
	if (c->sasl)
		json_object_set_new(o, "SASL", jstrings(c->sasl_mechs));
	FLAG(resp_codes, "RESP-CODES");
	if (c->login_delay.present)
		json_object_set_new(o, "LOGIN-DELAY", jdelay(&c->login_delay));
	FLAG(pipelining, "PIPELINING");
	if (c->expire.present)
		json_object_set_new(o, "EXPIRE", jdelay(&c->expire));
	FLAG(uidl, "UIDL");
	if (c->implementation != NULL)
		json_object_set_new(o, "IMPLEMENTATION", jcstr(c->implementation));
	FLAG(stls, "STLS");
	FLAG(auth_resp_code, "AUTH-RESP-CODE");
	if (c->utf8)
		json_object_set_new(o, "UTF8", json_pack("{s:b}", "user", c->utf8_user));
	FLAG(lang, "LANG");
#undef FLAG
	json_object_set_new(o, "other", jstrings(c->other));
	return o;
}

static json_t *
jmail(const struct mail_info *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "from", jcstr(m->from));
	json_object_set_new(o, "to", jcstr(m->to));
	if (m->cc != NULL)
		json_object_set_new(o, "cc", jcstr(m->cc));
	json_object_set_new(o, "subject", jcstr(m->subject));
	json_object_set_new(o, "date", jcstr(m->date));
	json_object_set_new(o, "message_id", jcstr(m->message_id));
	json_object_set_new(o, "content_type", jcstr(m->content_type));
	json_object_set_new(o, "parts", json_integer(m->parts));
	json_object_set_new(o, "attachments", json_integer(m->attachments));
	return o;
}

static json_t *
jbytes(const char *s, size_t n)
{
	return s != NULL ? jstr(s, n) : json_null();
}

static json_t *
jcred(const struct cred *c)
{
	json_t *o = json_object();
	const char *oc = cred_outcome_name(c->outcome);

	json_object_set_new(o, "transaction", json_integer(c->txn));
	if (c->user_txn > 0)
		json_object_set_new(o, "user_transaction", json_integer(c->user_txn));
	json_object_set_new(o, "frame", jframe(c->frame));
	json_object_set_new(o, "time", jts(c->ts));
	json_object_set_new(o, "mechanism", jcstr(c->mechanism));
	json_object_set_new(o, "user", jbytes(c->user, c->user_len));
	if (c->authzid != NULL)
		json_object_set_new(o, "authzid", jbytes(c->authzid, c->authzid_len));
	json_object_set_new(o, "secret_type", json_string(cred_secret_name(c->secret_kind)));
	json_object_set_new(o, "secret", jbytes(c->secret, c->secret_len));
	json_object_set_new(o, "cleartext", json_boolean(c->cleartext));
	if (c->salt != NULL)
		json_object_set_new(o, "challenge", jbytes(c->salt, c->salt_len));
	json_object_set_new(o, "outcome", oc != NULL ? json_string(oc) : json_null());
	if (c->resp_code != NULL)
		json_object_set_new(o, "response_code", jcstr(c->resp_code));
	json_object_set_new(o, "reply", jcstr(c->reply));
	if (c->note != NULL)
		json_object_set_new(o, "note", jcstr(c->note));
	return o;
}

static json_t *
jtxn(const struct session *s, const struct txn *t)
{
	json_t *o = json_object();
	guint i;
	json_t *steps;
	const struct msg *m;

	json_object_set_new(o, "id", json_integer(t->id));
	json_object_set_new(
	    o, "command", t->cmd == POP3_CMD_NONE ? json_null() : jstr(t->verb, strlen(t->verb)));
	json_object_set_new(o, "argument", jstr(t->arg, t->arg_len));
	json_object_set_new(o, "status", jstatus(t->status));
	if (t->reply_not_pop3)
		json_object_set_new(o, "reply_not_pop3", json_true());
	json_object_set_new(o, "text", jstr(t->text, t->text_len));
	if (t->resp_code != NULL)
		json_object_set_new(o, "response_code", jstr(t->resp_code, strlen(t->resp_code)));
	json_object_set_new(o, "multiline", json_boolean(t->multiline));
	if (t->multiline) {
		json_object_set_new(o, "body_octets", json_integer((json_int_t)t->body_octets));
		json_object_set_new(o, "body_lines", json_integer((json_int_t)t->body_lines));
		if (t->body_msg != NULL && t->body_msg->data != NULL &&
		    !describe_is_mail(t->body_msg)) {
			json_object_set_new(o, "lines", jlines(t->body_msg));
			if (t->body_msg->data_truncated)
				json_object_set_new(o, "lines_truncated", json_true());
		}
	}
	json_object_set_new(o, "partial", json_boolean(t->partial));
	if (t->cmd_msg != NULL) {
		json_object_set_new(o, "command_frame", jframe(msg_first_frame(s, t->cmd_msg)));
		json_object_set_new(o, "command_time", jts(t->cmd_msg->ts));
	}
	if (t->status_msg != NULL) {
		json_object_set_new(o, "reply_frame", jframe(msg_first_frame(s, t->status_msg)));
		json_object_set_new(o, "reply_time", jts(t->status_msg->ts));
	}
	steps = json_array();
	for (i = 0; i < t->msgs->len; i++) {
		m = g_ptr_array_index(t->msgs, i);
		if (m->kind != MSG_CHALLENGE && m->kind != MSG_SASL)
			continue;
		json_array_append_new(steps,
		    json_pack(
		        "{s:s, s:o}", "dir", dir_name(m->dir), "line", jstr(m->text, m->text_len)));
	}
	json_object_set_new(o, "sasl", steps);
	if (t->redacted)
		json_object_set_new(o, "redacted", json_true());
	if (t->uidl != NULL)
		json_object_set_new(o, "uid", jstr(t->uidl, strlen(t->uidl)));
	if (t->announced_by != NULL) {
		json_object_set_new(
		    o, "announced_octets", json_integer((json_int_t)t->announced_octets));
		json_object_set_new(o, "announced_by", json_string(t->announced_by));
	}
	if (t->capa != NULL)
		json_object_set_new(o, "capabilities", jcapa(t->capa));
	if (t->mail != NULL)
		json_object_set_new(o, "mail", jmail(t->mail));
	if (t->extracted != NULL)
		json_object_set_new(o, "extracted", jstr(t->extracted, strlen(t->extracted)));
	return o;
}

/*
 * True when jansson would write s as it is between its quotes: printable
 * ASCII without '"' or '\\' (docs/json.md: nothing else is escaped).
 */
static bool
plain_ascii(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			return false;
	}
	return true;
}

/*
 * One segment of -v, as {...}, written straight into g (a session can list
 * a million: no jansson object, no allocation, no printf per segment); the
 * members and their order as docs/json.md.  shift: session_win_shift() of
 * each direction; lab: a buffer for the label, reused from one segment to
 * the next; js: a jansson string for labels that need escaping.
 */
static void
raw_segment(GString *g, GString *lab, json_t *js, const struct session *s, const struct seg_rec *r,
    const int shift[2])
{
	const char *dir = dir_name(r->dir);
	size_t dlen = strlen(dir);
	char marks[128];
	char *p = out_room(g, 512 + dlen);

	/* frame, time, dir, flags and the numbers are popflow's own ASCII: nothing to escape */
	p = PUT_LIT(p, "{\"frame\":");
	if (r->frame > 0)
		p = put_i64(p, (int64_t)r->frame);
	else
		p = PUT_LIT(p, "null");
	p = PUT_LIT(p, ",\"time\":\"");
	p += util_ts_iso(r->ts, p, 64);
	p = PUT_LIT(p, "\",\"dir\":\"");
	memcpy(p, dir, dlen);
	p += dlen;
	p = PUT_LIT(p, "\",\"flags\":\"");
	p += util_flags(r->flags, p, 64);
	p = PUT_LIT(p, "\",\"seq\":");
	p = put_u64(p, r->rel_seq);
	p = PUT_LIT(p, ",\"ack\":");
	p = put_u64(p, r->rel_ack);
	p = PUT_LIT(p, ",\"win\":");
	p = put_u64(p, r->win);
	/* RFC 7323: the window as the receiver reads it; null when no SYN says the scale. */
	p = PUT_LIT(p, ",\"win_scaled\":");
	if ((r->flags & TH_SYN) || (r->marks & SEG_SYNTHETIC) || shift[r->dir] == 0)
		p = put_u64(p, r->win);
	else if (shift[r->dir] < 0)
		p = PUT_LIT(p, "null");
	else
		p = put_u64(p, (uint64_t)r->win << shift[r->dir]);
	p = PUT_LIT(p, ",\"len\":");
	p = put_u64(p, r->len);
	if (r->caplen < r->len) {
		p = PUT_LIT(p, ",\"captured_len\":");
		p = put_u64(p, r->caplen);
	}
	out_end(g, p);
	/* the label carries the capture's text: jansson escapes it unless it is plain */
	g_string_truncate(lab, 0);
	describe_segment_append(lab, s, r);
	if (plain_ascii(lab->str, lab->len)) {
		p = out_room(g, lab->len + 16);
		p = PUT_LIT(p, ",\"label\":\"");
		memcpy(p, lab->str, lab->len);
		p += lab->len;
		*p++ = '"';
		out_end(g, p);
	} else if (json_string_set(js, lab->str) == 0) {
		out_mem(g, ",\"label\":", 9);
		json_dump_callback(js, append_cb, g, JSON_FLAGS);
	}
	describe_marks(r->marks, marks, sizeof(marks));
	if (marks[0] != '\0') { /* popflow's own words */
		size_t n = strlen(marks);
		p = out_room(g, n + 16);
		p = PUT_LIT(p, ",\"notes\":\"");
		memcpy(p, marks, n);
		p += n;
		*p++ = '"';
		out_end(g, p);
	}
	out_mem(g, "}", 1);
}

/* Writes what g holds to f and empties it; false on a write error. */
static bool
put_part(FILE *f, GString *g)
{
	bool ok = fwrite(g->str, 1, g->len, f) == g->len;

	g_string_truncate(g, 0);
	return ok;
}

/*
 * Writes head's keys, then "key": a number printed with exactly six decimals
 * (jansson prints reals with up to 17 digits: 1.8061579999999999), then
 * tail's keys, then (segs not NULL: -v) that session's segment list, as one
 * object on one line; frees head and tail.  The segment list is written as
 * it is encoded, 64 KiB at a time: a session of a million segments does not
 * hold its line in memory.
 */
static int
put_object_us(FILE *f, json_t *head, const char *key, int64_t us, json_t *tail,
    const struct session *segs, char *errbuf)
{
	GString *g = g_string_sized_new(4096);
	uint64_t mag = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
	bool first = true, ok = true;
	guint i;
	int rc;

	g_string_append_c(g, '{');
	raw_members(g, head, &first);
	g_string_append_printf(g, "%s\"%s\":%s%" PRIu64 ".%06" PRIu64, first ? "" : ",", key,
	    us < 0 ? "-" : "", mag / 1000000, mag % 1000000);
	raw_members(g, tail, &first);
	json_decref(head);
	json_decref(tail);
	if (segs != NULL) {
		int shift[2] = {
		    session_win_shift(segs, DIR_TO_SERVER), session_win_shift(segs, DIR_TO_CLIENT)};
		json_t *js = json_string("");
		GString *lab = g_string_sized_new(256);

		g_string_append(g, ",\"segments\":[");
		for (i = 0; ok && i < segs->segs->len; i++) {
			if (i > 0)
				out_mem(g, ",", 1);
			raw_segment(
			    g, lab, js, segs, &g_array_index(segs->segs, struct seg_rec, i), shift);
			if (g->len >= 65536)
				ok = put_part(f, g);
		}
		json_decref(js);
		g_string_free(lab, TRUE);
		g_string_append_c(g, ']');
		if (segs->segs_dropped > 0)
			raw_int(g, "segments_not_listed", (int64_t)segs->segs_dropped, false);
	}
	g_string_append_c(g, '}');
	if (!ok) {
		util_write_error(errbuf);
		rc = -1;
	} else {
		rc = put_gstring(f, g, errbuf);
	}
	g_string_free(g, TRUE);
	return rc;
}

static int
json_session(void *ctx, FILE *f, const struct session *s, const struct emit_opts *o, char *errbuf)
{
	json_t *j = json_object(), *a, *head;
	const struct txn *g = s->greeting;
	const struct anomaly *an;
	int64_t us = ts_diff_us(s->start, s->last);
	char cid[UTIL_COMMUNITY_ID_LEN];
	guint i;

	(void)ctx;
	json_object_set_new(j, "type", json_string("session"));
	json_object_set_new(j, "session", json_integer((json_int_t)s->id));
	/* What identifies the session whatever the filter: the flow hash, the file and first frame. */
	util_community_id(&s->client, &s->server, 0, cid, sizeof(cid));
	json_object_set_new(j, "community_id", json_string(cid));
	json_object_set_new(j, "file",
	    frameid_capture_name(s->first_frame) != NULL
	        ? jcstr(frameid_capture_name(s->first_frame))
	        : json_null());
	json_object_set_new(j, "client", jendpoint(&s->client));
	json_object_set_new(j, "server", jendpoint(&s->server));
	json_object_set_new(j, "ip_version", json_integer(s->client.ip.family));
	json_object_set_new(j, "first_frame", json_integer((json_int_t)s->first_frame));
	json_object_set_new(j, "last_frame", json_integer((json_int_t)s->last_frame));
	json_object_set_new(j, "start", jts(s->start));
	json_object_set_new(j, "end", jts(s->last));
	head = j;
	j = json_object(); /* the keys after "duration" */
	json_object_set_new(j, "end_reason", json_string(end_reason_name(s->end_reason)));
	json_object_set_new(j, "handshake", json_string(handshake_name(s->handshake)));
	json_object_set_new(j, "protocol", json_string(proto_name(s->proto)));
	if (g != NULL)
		json_object_set_new(j, "greeting",
		    json_pack("{s:o, s:o}", "status", jstatus(g->status), "text",
		        jstr(g->text, g->text_len)));
	else
		json_object_set_new(j, "greeting", json_null());
	a = json_array();
	for (i = 0; i < s->txns->len; i++)
		json_array_append_new(a, jtxn(s, g_ptr_array_index(s->txns, i)));
	json_object_set_new(j, "transactions", a);
	a = json_array();
	for (i = 0; i < s->anomalies->len; i++) {
		an = &g_array_index(s->anomalies, struct anomaly, i);
		json_array_append_new(a,
		    json_pack("{s:s, s:o, s:s, s:o, s:s}", "type", anom_name(an->kind), "frame",
		        jframe(an->frame), "dir", dir_name(an->dir), "transaction",
		        an->txn > 0 ? json_integer(an->txn) : json_null(), "detail", an->detail));
	}
	json_object_set_new(j, "anomalies", a);
	a = json_array();
	for (i = 0; s->creds != NULL && i < s->creds->len; i++)
		json_array_append_new(a, jcred(g_ptr_array_index(s->creds, i)));
	json_object_set_new(j, "credentials", a);
	if (s->utf8)
		json_object_set_new(j, "utf8", json_true());
	if (s->lang != NULL)
		json_object_set_new(j, "language", jcstr(s->lang));
	if (s->anomalies_dropped > 0)
		json_object_set_new(
		    j, "anomalies_not_listed", json_integer((json_int_t)s->anomalies_dropped));
	if (s->txns_dropped > 0)
		json_object_set_new(
		    j, "transactions_not_listed", json_integer((json_int_t)s->txns_dropped));
	json_object_set_new(j, "packets", jdirs(s->packets));
	json_object_set_new(j, "payload_bytes", jdirs(s->payload));
	if (s->proto != PROTO_POP3)
		json_object_set_new(j, "unparsed_bytes", jdirs(s->unparsed));
	if (s->proto == PROTO_TLS || s->proto == PROTO_POP3S)
		json_object_set_new(j, "tls", jtls(s));
	return put_object_us(f, head, "duration", us, j, o->verbose ? s : NULL, errbuf);
}

static int
json_end(void *ctx, FILE *f, const struct run_stats *st, const struct emit_opts *o, char *errbuf)
{
	json_t *j;

	(void)ctx; /* JSON keeps nothing across sessions (begin is NULL) */
	(void)o;
	if (st == NULL)
		return 0;
	j = json_object();
	json_object_set_new(j, "type", json_string("summary"));
	json_object_set_new(j, "packets", json_integer((json_int_t)st->packets));
	json_object_set_new(j, "bytes", json_integer((json_int_t)st->bytes));
	json_object_set_new(j, "tcp_segments", json_integer((json_int_t)st->tcp));
	json_object_set_new(j, "pop3_segments", json_integer((json_int_t)st->pop3_segments));
	json_object_set_new(j, "sessions", json_integer((json_int_t)st->sessions));
	json_object_set_new(j, "connection_attempts", json_integer((json_int_t)st->attempts));
	json_object_set_new(j, "other_tcp_connections", json_integer((json_int_t)st->other_tcp));
	json_object_set_new(j, "transactions", json_integer((json_int_t)st->transactions));
	json_object_set_new(j, "anomalies", json_integer((json_int_t)st->anomalies));
	json_object_set_new(j, "not_ip", json_integer((json_int_t)st->not_ip));
	json_object_set_new(j, "not_tcp", json_integer((json_int_t)st->not_tcp));
	json_object_set_new(j, "fragments", json_integer((json_int_t)st->fragments));
	json_object_set_new(
	    j, "reassembled_datagrams", json_integer((json_int_t)st->reassembled_datagrams));
	json_object_set_new(j, "fragment_problems", json_integer((json_int_t)st->defrag_problems));
	json_object_set_new(j, "truncated_frames", json_integer((json_int_t)st->truncated));
	json_object_set_new(j, "malformed_frames", json_integer((json_int_t)st->malformed));
	json_object_set_new(j, "stray_segments", json_integer((json_int_t)st->stray));
	json_object_set_new(
	    j, "reassembler_warnings", json_integer((json_int_t)st->reasm_warnings));
	if (st->packets > 0) {
		json_object_set_new(j, "first", jts(st->first));
		json_object_set_new(j, "last", jts(st->last));
	}
	json_object_set_new(j, "damaged", json_boolean(st->damaged));
	json_object_set_new(j, "interrupted", json_boolean(st->interrupted));
	return put_object(f, j, errbuf);
}

const struct emitter emit_json = {
    .name = "json",
    .help = "JSON Lines: one object per session, then a summary (-v adds segments)",
    .begin = NULL,
    .session = json_session,
    .end = json_end,
};
