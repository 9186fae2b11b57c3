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

#define OUT_LIT(g, lit) out_mem((g), (lit), sizeof(lit) - 1)

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
 * braces, after other members (a comma first); then releases o.  Lets a
 * line be put together from jansson's pieces and popflow's own words and
 * numbers written directly.
 */
static void
raw_members(GString *g, json_t *o)
{
	size_t mark = g->len;

	if (json_object_size(o) > 0) {
		json_dump_callback(o, append_cb, g, JSON_FLAGS);
		/* "{...}" -> ",..." */
		g->str[mark] = ',';
		g_string_truncate(g, g->len - 1);
	}
	json_decref(o);
}

/* Appends ,"key": and v as jansson encodes it, then releases v; nothing when v is NULL. */
static void
raw_value(GString *g, const char *key, json_t *v)
{
	size_t k = strlen(key);
	char *p;

	if (v == NULL)
		return;
	p = out_room(g, k + 4);
	*p++ = ',';
	*p++ = '"';
	memcpy(p, key, k);
	p += k;
	*p++ = '"';
	*p++ = ':';
	out_end(g, p);
	json_dump_callback(v, append_cb, g, JSON_FLAGS);
	json_decref(v);
}

/*
 * popflow's own members, written directly: keys are literals, values
 * numbers and popflow's ASCII words (names, times, addresses), nothing to
 * escape.  Each appends ,"key":value.
 */
static char *
put_key(char *p, const char *key)
{
	size_t k = strlen(key);

	*p++ = ',';
	*p++ = '"';
	memcpy(p, key, k);
	p += k;
	*p++ = '"';
	*p++ = ':';
	return p;
}

static void
raw_int(GString *g, const char *key, int64_t v)
{
	char *p = out_room(g, strlen(key) + 32);

	out_end(g, put_i64(put_key(p, key), v));
}

static void
raw_word(GString *g, const char *key, const char *w)
{
	size_t n = strlen(w);
	char *p = out_room(g, strlen(key) + n + 8);

	p = put_key(p, key);
	*p++ = '"';
	memcpy(p, w, n);
	p += n;
	*p++ = '"';
	out_end(g, p);
}

static void
raw_ts(GString *g, const char *key, struct ts t)
{
	char *p = out_room(g, strlen(key) + 80);

	p = put_key(p, key);
	*p++ = '"';
	p += util_ts_iso(t, p, 64);
	*p++ = '"';
	out_end(g, p);
}

/* ,"key":{"to_server":N,"to_client":N} */
static void
raw_dirs(GString *g, const char *key, const uint64_t v[2])
{
	char *p = out_room(g, strlen(key) + 96);

	p = put_key(p, key);
	p = PUT_LIT(p, "{\"to_server\":");
	p = put_i64(p, (int64_t)v[0]);
	p = PUT_LIT(p, ",\"to_client\":");
	p = put_i64(p, (int64_t)v[1]);
	*p++ = '}';
	out_end(g, p);
}

/* ,"key":{"ip":"192.0.2.1","port":110} */
static void
raw_endpoint(GString *g, const char *key, const struct endpoint *e)
{
	char a[UTIL_ADDR_LEN];
	size_t n;
	char *p;

	util_addr(&e->ip, a, sizeof(a));
	n = strlen(a);
	p = out_room(g, strlen(key) + n + 48);
	p = put_key(p, key);
	p = PUT_LIT(p, "{\"ip\":\"");
	memcpy(p, a, n);
	p += n;
	p = PUT_LIT(p, "\",\"port\":");
	p = put_u64(p, e->port);
	*p++ = '}';
	out_end(g, p);
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

/*
 * Any bytes -> a JSON string (invalid UTF-8 becomes U+FFFD; NUL stays, as
 * \u0000).  Bytes that are valid UTF-8 as they are (checked character by
 * character as util_utf8() does) go to jansson once, unchecked and uncopied
 * by popflow; others through util_utf8() first.  Every character GLib takes
 * for valid UTF-8 jansson does too (its utf8_check: no overlong forms, no
 * surrogates, nothing past U+10FFFF).
 */
static json_t *
jstr(const char *s, size_t n)
{
	size_t i = 0;
	gunichar c;
	GString *u;
	json_t *j;

	while (i < n) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		c = g_utf8_get_char_validated(s + i, (gssize)(n - i));
		if (c == (gunichar)-1 || c == (gunichar)-2)
			break;
		i = (size_t)(g_utf8_next_char(s + i) - s);
	}
	if (i >= n) {
		j = json_stringn_nocheck(n > 0 ? s : "", n);
	} else {
		u = util_utf8(s, n);
		j = json_stringn_nocheck(u->str, u->len);
		g_string_free(u, TRUE);
	}
	return j != NULL ? j : json_string("\xef\xbf\xbd");
}

/* popflow's own ASCII words (names of statuses, directions, times): nothing to check */
static json_t *
jword(const char *w)
{
	return json_string_nocheck(w);
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

	json_object_set_new_nocheck(j, "version",
	    t != NULL && t->version != 0 ? json_string(tls_version_name(t->version, b, sizeof(b)))
	                                 : json_null());
	json_object_set_new_nocheck(j, "cipher",
	    t != NULL && t->cipher != 0 ? json_string(tls_cipher_name(t->cipher, b, sizeof(b)))
	                                : json_null());
	json_object_set_new_nocheck(
	    j, "sni", t != NULL && t->sni != NULL ? jstr(t->sni, strlen(t->sni)) : json_null());
	json_object_set_new_nocheck(
	    j, "alpn", t != NULL && t->alpn != NULL ? jstr(t->alpn, strlen(t->alpn)) : json_null());
	json_object_set_new_nocheck(j, "decrypted", json_boolean(t != NULL && t->decrypted));
	json_object_set_new_nocheck(j, "keys_found", json_boolean(t != NULL && t->keys));
	json_object_set_new_nocheck(
	    j, "encrypt_then_mac", json_boolean(t != NULL && t->encrypt_then_mac));
	json_object_set_new_nocheck(j, "records", jdirs(t != NULL ? t->records : none));
	json_object_set_new_nocheck(j, "bytes", jdirs(t != NULL ? t->bytes : none));
	if (t != NULL && (t->failed[0] > 0 || t->failed[1] > 0))
		json_object_set_new_nocheck(j, "records_not_verified", jdirs(t->failed));
	json_object_set_new_nocheck(j, "start_offset", jdirs(s->tls_start));
	json_object_set_new_nocheck(j, "segments", jdirs(s->tls_segments));
	return j;
}

/* {"k1":v1,"k2":v2}; NULL (and v1, v2 released) when either is NULL, as json_pack() would. */
static json_t *
jpair(const char *k1, json_t *v1, const char *k2, json_t *v2)
{
	json_t *o;

	if (v1 == NULL || v2 == NULL) {
		json_decref(v1);
		json_decref(v2);
		return NULL;
	}
	o = json_object();
	json_object_set_new_nocheck(o, k1, v1);
	json_object_set_new_nocheck(o, k2, v2);
	return o;
}

static json_t *
jstatus(enum pop3_status st)
{
	const char *n = pop3_status_name(st);

	return n != NULL ? jword(n) : json_null();
}

static json_t *
jts(struct ts t)
{
	char buf[UTIL_TS_LEN];
	size_t n = util_ts_iso(t, buf, sizeof(buf));

	return json_stringn_nocheck(buf, n);
}

static json_t *
jframe(uint64_t f)
{
	return f > 0 ? json_integer((json_int_t)frameid_number(f)) : json_null();
}

static json_t *
jdirs(const uint64_t v[2])
{
	json_t *o = json_object();

	json_object_set_new_nocheck(o, "to_server", json_integer((json_int_t)v[0]));
	json_object_set_new_nocheck(o, "to_client", json_integer((json_int_t)v[1]));
	return o;
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

/*
 * Sets KEY (a frame number in its file) and, when several capture files
 * are read, FILE_KEY (the file's name; null when there is no frame): the
 * keys of one file's output do not change (docs/json.md, "Frames").
 */
static void
set_frame(json_t *o, const char *key, const char *file_key, uint64_t f)
{
	json_object_set_new_nocheck(o, key, jframe(f));
	if (frameid_several_files())
		json_object_set_new_nocheck(o, file_key, jcstr(frameid_file_name(f)));
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
		json_object_set_new_nocheck(o, "value", json_string("NEVER"));
	else
		json_object_set_new_nocheck(
		    o, "value", d->value >= 0 ? json_integer((json_int_t)d->value) : json_null());
	json_object_set_new_nocheck(o, "per_user", json_boolean(d->per_user));
	return o;
}

static json_t *
jutf8(const struct capa *c)
{
	json_t *o = json_object();

	json_object_set_new_nocheck(o, "user", json_boolean(c->utf8_user));
	return o;
}

/* RFC 2449 section 6 (and 2595, 3206, 6856) capabilities: present ones only. */
static json_t *
jcapa(const struct capa *c)
{
	json_t *o = json_object();

#define FLAG(field, name)                                                                          \
	if (c->field)                                                                              \
	json_object_set_new_nocheck(o, name, json_true())
	FLAG(top, "TOP");
	FLAG(user, "USER");
	if (c->sasl)
		json_object_set_new_nocheck(o, "SASL", jstrings(c->sasl_mechs));
	FLAG(resp_codes, "RESP-CODES");
	if (c->login_delay.present)
		json_object_set_new_nocheck(o, "LOGIN-DELAY", jdelay(&c->login_delay));
	FLAG(pipelining, "PIPELINING");
	if (c->expire.present)
		json_object_set_new_nocheck(o, "EXPIRE", jdelay(&c->expire));
	FLAG(uidl, "UIDL");
	if (c->implementation != NULL)
		json_object_set_new_nocheck(o, "IMPLEMENTATION", jcstr(c->implementation));
	FLAG(stls, "STLS");
	FLAG(auth_resp_code, "AUTH-RESP-CODE");
	if (c->utf8)
		json_object_set_new_nocheck(o, "UTF8", jutf8(c));
	FLAG(lang, "LANG");
#undef FLAG
	json_object_set_new_nocheck(o, "other", jstrings(c->other));
	return o;
}

static json_t *
jmail(const struct mail_info *m)
{
	json_t *o = json_object();

	json_object_set_new_nocheck(o, "from", jcstr(m->from));
	json_object_set_new_nocheck(o, "to", jcstr(m->to));
	if (m->cc != NULL)
		json_object_set_new_nocheck(o, "cc", jcstr(m->cc));
	json_object_set_new_nocheck(o, "subject", jcstr(m->subject));
	json_object_set_new_nocheck(o, "date", jcstr(m->date));
	json_object_set_new_nocheck(o, "message_id", jcstr(m->message_id));
	json_object_set_new_nocheck(o, "content_type", jcstr(m->content_type));
	json_object_set_new_nocheck(o, "parts", json_integer(m->parts));
	json_object_set_new_nocheck(o, "attachments", json_integer(m->attachments));
	return o;
}

static json_t *
jbytes(const char *s, size_t n)
{
	return s != NULL ? jstr(s, n) : json_null();
}

/* An anomaly; NULL when its detail is not valid UTF-8 (jansson refuses it: not listed). */
static json_t *
janomaly(const struct anomaly *an)
{
	json_t *o, *detail = an->detail != NULL ? json_string(an->detail) : NULL;

	if (detail == NULL)
		return NULL;
	o = json_object();
	json_object_set_new_nocheck(o, "type", jword(anom_name(an->kind)));
	set_frame(o, "frame", "file", an->frame);
	json_object_set_new_nocheck(o, "dir", jword(dir_name(an->dir)));
	json_object_set_new_nocheck(
	    o, "transaction", an->txn > 0 ? json_integer(an->txn) : json_null());
	json_object_set_new_nocheck(o, "detail", detail);
	return o;
}

static json_t *
jcred(const struct cred *c)
{
	json_t *o = json_object();
	const char *oc = cred_outcome_name(c->outcome);

	json_object_set_new_nocheck(o, "transaction", json_integer(c->txn));
	if (c->user_txn > 0)
		json_object_set_new_nocheck(o, "user_transaction", json_integer(c->user_txn));
	set_frame(o, "frame", "file", c->frame);
	json_object_set_new_nocheck(o, "time", jts(c->ts));
	json_object_set_new_nocheck(o, "mechanism", jcstr(c->mechanism));
	json_object_set_new_nocheck(o, "user", jbytes(c->user, c->user_len));
	if (c->authzid != NULL)
		json_object_set_new_nocheck(o, "authzid", jbytes(c->authzid, c->authzid_len));
	json_object_set_new_nocheck(o, "secret_type", jword(cred_secret_name(c->secret_kind)));
	json_object_set_new_nocheck(o, "secret", jbytes(c->secret, c->secret_len));
	json_object_set_new_nocheck(o, "cleartext", json_boolean(c->cleartext));
	if (c->salt != NULL)
		json_object_set_new_nocheck(o, "challenge", jbytes(c->salt, c->salt_len));
	json_object_set_new_nocheck(o, "outcome", oc != NULL ? jword(oc) : json_null());
	if (c->resp_code != NULL)
		json_object_set_new_nocheck(o, "response_code", jcstr(c->resp_code));
	json_object_set_new_nocheck(o, "reply", jcstr(c->reply));
	if (c->note != NULL)
		json_object_set_new_nocheck(o, "note", jcstr(c->note));
	return o;
}

static json_t *
jtxn(const struct session *s, const struct txn *t)
{
	json_t *o = json_object();
	guint i;
	json_t *steps;
	const struct msg *m;

	json_object_set_new_nocheck(o, "id", json_integer(t->id));
	json_object_set_new_nocheck(
	    o, "command", t->cmd == POP3_CMD_NONE ? json_null() : jstr(t->verb, strlen(t->verb)));
	json_object_set_new_nocheck(o, "argument", jstr(t->arg, t->arg_len));
	json_object_set_new_nocheck(o, "status", jstatus(t->status));
	if (t->reply_not_pop3)
		json_object_set_new_nocheck(o, "reply_not_pop3", json_true());
	json_object_set_new_nocheck(o, "text", jstr(t->text, t->text_len));
	if (t->resp_code != NULL)
		json_object_set_new_nocheck(
		    o, "response_code", jstr(t->resp_code, strlen(t->resp_code)));
	json_object_set_new_nocheck(o, "multiline", json_boolean(t->multiline));
	if (t->multiline) {
		json_object_set_new_nocheck(
		    o, "body_octets", json_integer((json_int_t)t->body_octets));
		json_object_set_new_nocheck(
		    o, "body_lines", json_integer((json_int_t)t->body_lines));
		if (t->body_msg != NULL && t->body_msg->data != NULL &&
		    !describe_is_mail(t->body_msg)) {
			json_object_set_new_nocheck(o, "lines", jlines(t->body_msg));
			if (t->body_msg->data_truncated)
				json_object_set_new_nocheck(o, "lines_truncated", json_true());
		}
	}
	json_object_set_new_nocheck(o, "partial", json_boolean(t->partial));
	if (t->cmd_msg != NULL) {
		set_frame(o, "command_frame", "command_file", msg_first_frame(s, t->cmd_msg));
		json_object_set_new_nocheck(o, "command_time", jts(t->cmd_msg->ts));
	}
	if (t->status_msg != NULL) {
		set_frame(o, "reply_frame", "reply_file", msg_first_frame(s, t->status_msg));
		json_object_set_new_nocheck(o, "reply_time", jts(t->status_msg->ts));
	}
	steps = json_array();
	for (i = 0; i < t->msgs->len; i++) {
		m = g_ptr_array_index(t->msgs, i);
		if (m->kind != MSG_CHALLENGE && m->kind != MSG_SASL)
			continue;
		json_array_append_new(steps,
		    jpair("dir", jword(dir_name(m->dir)), "line", jstr(m->text, m->text_len)));
	}
	json_object_set_new_nocheck(o, "sasl", steps);
	if (t->redacted)
		json_object_set_new_nocheck(o, "redacted", json_true());
	if (t->uidl != NULL)
		json_object_set_new_nocheck(o, "uid", jstr(t->uidl, strlen(t->uidl)));
	if (t->announced_by != NULL) {
		json_object_set_new_nocheck(
		    o, "announced_octets", json_integer((json_int_t)t->announced_octets));
		json_object_set_new_nocheck(o, "announced_by", jword(t->announced_by));
	}
	if (t->capa != NULL)
		json_object_set_new_nocheck(o, "capabilities", jcapa(t->capa));
	if (t->mail != NULL)
		json_object_set_new_nocheck(o, "mail", jmail(t->mail));
	if (t->extracted != NULL)
		json_object_set_new_nocheck(
		    o, "extracted", jstr(t->extracted, strlen(t->extracted)));
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
		p = put_i64(p, (int64_t)frameid_number(r->frame));
	else
		p = PUT_LIT(p, "null");
	if (frameid_several_files()) { /* the frame's file (docs/json.md, "Frames") */
		json_t *fj = jcstr(frameid_file_name(r->frame)); /* null when synthetic */
		p = PUT_LIT(p, ",\"file\":");
		out_end(g, p);
		json_dump_callback(fj, append_cb, g, JSON_FLAGS);
		json_decref(fj);
		p = out_room(g, 512 + dlen);
	}
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
		OUT_LIT(g, ",\"label\":");
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

/* What JSON keeps from one session to the next: buffers, not data. */
struct json_ctx {
	GString *line;  /* the line being put together */
	GString *label; /* a -v segment's label */
	json_t *js;     /* a string for labels jansson escapes */
};

static void *
json_begin(FILE *out, const struct emit_opts *o, char *errbuf)
{
	struct json_ctx *c = g_new0(struct json_ctx, 1);

	(void)out;
	(void)o;
	(void)errbuf;
	c->line = g_string_sized_new(4096);
	c->label = g_string_sized_new(256);
	c->js = json_string("");
	return c;
}

/* The line buffer, empty; one that grew past 1 MiB (a long session) is given back. */
static GString *
ctx_line(struct json_ctx *c)
{
	if (c->line->allocated_len > (1u << 20)) {
		g_string_free(c->line, TRUE);
		c->line = g_string_sized_new(4096);
	}
	g_string_truncate(c->line, 0);
	return c->line;
}

/*
 * Appends the session's segment list (-v), writing g out 64 KiB at a time
 * as it is encoded: a session of a million segments does not hold its line
 * in memory.  False on a write error.
 */
static bool
raw_segments(FILE *f, GString *g, struct json_ctx *c, const struct session *s)
{
	int shift[2] = {session_win_shift(s, DIR_TO_SERVER), session_win_shift(s, DIR_TO_CLIENT)};
	bool ok = true;
	guint i;

	OUT_LIT(g, ",\"segments\":[");
	for (i = 0; ok && i < s->segs->len; i++) {
		if (i > 0)
			out_mem(g, ",", 1);
		raw_segment(
		    g, c->label, c->js, s, &g_array_index(s->segs, struct seg_rec, i), shift);
		if (g->len >= 65536)
			ok = put_part(f, g);
	}
	out_mem(g, "]", 1);
	if (s->segs_dropped > 0)
		raw_int(g, "segments_not_listed", (int64_t)s->segs_dropped);
	return ok;
}

/*
 * One session as one line, the members in docs/json.md's order: popflow's
 * own words and numbers written directly (the duration with exactly six
 * decimals: jansson prints reals with up to 17 digits, 1.8061579999999999),
 * everything that carries the capture's bytes (the file name, greeting,
 * transactions, anomalies, credentials, language, TLS) built and encoded by
 * jansson.
 */
static int
json_session(void *ctx, FILE *f, const struct session *s, const struct emit_opts *o, char *errbuf)
{
	struct json_ctx *c = ctx;
	GString *g = ctx_line(c);
	json_t *j, *a;
	const struct txn *gr = s->greeting;
	const struct anomaly *an;
	const char *file = frameid_capture_name(s->first_frame);
	int64_t us = ts_diff_us(s->start, s->last);
	uint64_t mag = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
	char cid[UTIL_COMMUNITY_ID_LEN];
	bool ok = true;
	uint32_t frac;
	char *p;
	guint i;
	int rc;

	OUT_LIT(g, "{\"type\":\"session\"");
	raw_int(g, "session", (int64_t)s->id);
	/* What identifies the session whatever the filter: the flow hash, the file and first frame. */
	util_community_id(&s->client, &s->server, 0, cid, sizeof(cid));
	raw_word(g, "community_id", cid);
	raw_value(g, "file", file != NULL ? jcstr(file) : json_null());
	raw_endpoint(g, "client", &s->client);
	raw_endpoint(g, "server", &s->server);
	raw_int(g, "ip_version", s->client.ip.family);
	raw_int(g, "first_frame", (int64_t)frameid_number(s->first_frame));
	raw_int(g, "last_frame", (int64_t)frameid_number(s->last_frame));
	if (frameid_several_files()) /* the last frame's file (docs/json.md, "Frames") */
		raw_value(g, "last_file", jcstr(frameid_file_name(s->last_frame)));
	raw_ts(g, "start", s->start);
	raw_ts(g, "end", s->last);
	p = put_key(out_room(g, 48), "duration");
	if (us < 0)
		*p++ = '-';
	p = put_u64(p, mag / 1000000);
	*p++ = '.';
	for (i = 6, frac = (uint32_t)(mag % 1000000); i > 0; i--, frac /= 10)
		p[i - 1] = (char)('0' + frac % 10);
	out_end(g, p + 6);
	raw_word(g, "end_reason", end_reason_name(s->end_reason));
	raw_word(g, "handshake", handshake_name(s->handshake));
	raw_word(g, "protocol", proto_name(s->proto));
	j = json_object();
	if (gr != NULL)
		json_object_set_new_nocheck(j, "greeting",
		    jpair("status", jstatus(gr->status), "text", jstr(gr->text, gr->text_len)));
	else
		json_object_set_new_nocheck(j, "greeting", json_null());
	a = json_array();
	for (i = 0; i < s->txns->len; i++)
		json_array_append_new(a, jtxn(s, g_ptr_array_index(s->txns, i)));
	json_object_set_new_nocheck(j, "transactions", a);
	a = json_array();
	for (i = 0; i < s->anomalies->len; i++) {
		an = &g_array_index(s->anomalies, struct anomaly, i);
		json_array_append_new(a, janomaly(an));
	}
	json_object_set_new_nocheck(j, "anomalies", a);
	a = json_array();
	for (i = 0; s->creds != NULL && i < s->creds->len; i++)
		json_array_append_new(a, jcred(g_ptr_array_index(s->creds, i)));
	json_object_set_new_nocheck(j, "credentials", a);
	raw_members(g, j);
	if (s->utf8)
		OUT_LIT(g, ",\"utf8\":true");
	if (s->lang != NULL)
		raw_value(g, "language", jcstr(s->lang));
	if (s->anomalies_dropped > 0)
		raw_int(g, "anomalies_not_listed", (int64_t)s->anomalies_dropped);
	if (s->txns_dropped > 0)
		raw_int(g, "transactions_not_listed", (int64_t)s->txns_dropped);
	raw_dirs(g, "packets", s->packets);
	raw_dirs(g, "payload_bytes", s->payload);
	if (s->proto != PROTO_POP3)
		raw_dirs(g, "unparsed_bytes", s->unparsed);
	if (s->proto == PROTO_TLS || s->proto == PROTO_POP3S)
		raw_value(g, "tls", jtls(s));
	if (o->verbose)
		ok = raw_segments(f, g, c, s);
	out_mem(g, "}", 1);
	if (!ok) {
		util_write_error(errbuf);
		rc = -1;
	} else {
		rc = put_gstring(f, g, errbuf);
	}
	return rc;
}

/* The run's summary line. */
static int
json_summary(FILE *f, const struct run_stats *st, char *errbuf)
{
	json_t *j = json_object();

	json_object_set_new_nocheck(j, "type", json_string("summary"));
	json_object_set_new_nocheck(j, "packets", json_integer((json_int_t)st->packets));
	json_object_set_new_nocheck(j, "bytes", json_integer((json_int_t)st->bytes));
	json_object_set_new_nocheck(j, "tcp_segments", json_integer((json_int_t)st->tcp));
	json_object_set_new_nocheck(
	    j, "pop3_segments", json_integer((json_int_t)st->pop3_segments));
	json_object_set_new_nocheck(j, "sessions", json_integer((json_int_t)st->sessions));
	json_object_set_new_nocheck(
	    j, "connection_attempts", json_integer((json_int_t)st->attempts));
	json_object_set_new_nocheck(
	    j, "other_tcp_connections", json_integer((json_int_t)st->other_tcp));
	json_object_set_new_nocheck(j, "transactions", json_integer((json_int_t)st->transactions));
	json_object_set_new_nocheck(j, "anomalies", json_integer((json_int_t)st->anomalies));
	json_object_set_new_nocheck(j, "not_ip", json_integer((json_int_t)st->not_ip));
	json_object_set_new_nocheck(j, "not_tcp", json_integer((json_int_t)st->not_tcp));
	json_object_set_new_nocheck(j, "fragments", json_integer((json_int_t)st->fragments));
	json_object_set_new_nocheck(
	    j, "reassembled_datagrams", json_integer((json_int_t)st->reassembled_datagrams));
	json_object_set_new_nocheck(
	    j, "fragment_problems", json_integer((json_int_t)st->defrag_problems));
	json_object_set_new_nocheck(j, "truncated_frames", json_integer((json_int_t)st->truncated));
	json_object_set_new_nocheck(j, "malformed_frames", json_integer((json_int_t)st->malformed));
	json_object_set_new_nocheck(j, "stray_segments", json_integer((json_int_t)st->stray));
	json_object_set_new_nocheck(
	    j, "reassembler_warnings", json_integer((json_int_t)st->reasm_warnings));
	if (st->packets > 0) {
		json_object_set_new_nocheck(j, "first", jts(st->first));
		json_object_set_new_nocheck(j, "last", jts(st->last));
	}
	json_object_set_new_nocheck(j, "damaged", json_boolean(st->damaged));
	json_object_set_new_nocheck(j, "interrupted", json_boolean(st->interrupted));
	return put_object(f, j, errbuf);
}

static int
json_end(void *ctx, FILE *f, const struct run_stats *st, const struct emit_opts *o, char *errbuf)
{
	struct json_ctx *c = ctx;
	int rc = st != NULL ? json_summary(f, st, errbuf) : 0;

	(void)o;
	g_string_free(c->line, TRUE);
	g_string_free(c->label, TRUE);
	json_decref(c->js);
	g_free(c);
	return rc;
}

const struct emitter emit_json = {
    .name = "json",
    .help = "JSON Lines: one object per session, then a summary (-v adds segments)",
    .begin = json_begin,
    .session = json_session,
    .end = json_end,
};
