/*
 * creds.c - login attempts: USER/PASS and APOP (RFC 1939), AUTH (RFC 5034)
 * with PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5
 * (RFC 2195), XOAUTH2 (Google), OAUTHBEARER (RFC 7628), DIGEST-MD5
 * (RFC 2831), SCRAM (RFC 5802), NTLM ([MS-NLMP]), GSSAPI (RFC 4752),
 * EXTERNAL and ANONYMOUS (RFC 4422, 4505).  And --redact.
 */
#include <stdarg.h>
#include <string.h>

#include "creds.h"
#include "pop3.h"
#include "util.h"

/* Caps on what one decoded value may hold (a SASL line can be long). */
#define CREDS_MAX_VALUE 4096
#define CREDS_MAX_NOTE 300

const char *
cred_secret_name(enum cred_secret k)
{
	switch (k) {
	case CRED_SECRET_NONE:
		return "none";
	case CRED_SECRET_PASSWORD:
		return "password";
	case CRED_SECRET_DIGEST:
		return "digest";
	case CRED_SECRET_TOKEN:
		return "token";
	case CRED_SECRET_RESPONSE:
		return "response";
	case CRED_SECRET_OPAQUE:
		return "opaque";
	}
	return "?";
}

const char *
cred_outcome_name(enum cred_outcome o)
{
	switch (o) {
	case CRED_OUTCOME_NONE:
		return NULL;
	case CRED_OUTCOME_OK:
		return "+OK";
	case CRED_OUTCOME_ERR:
		return "-ERR";
	case CRED_OUTCOME_CANCELLED:
		return "cancelled";
	case CRED_OUTCOME_INCOMPLETE:
		return "incomplete";
	case CRED_OUTCOME_UNKNOWN:
		return "unknown";
	}
	return NULL;
}

void
cred_free(struct cred *c)
{
	if (c == NULL)
		return;
	g_free(c->mechanism);
	g_free(c->user);
	g_free(c->authzid);
	g_free(c->secret);
	g_free(c->salt);
	g_free(c->resp_code);
	g_free(c->reply);
	g_free(c->note);
	g_free(c);
}

void
cred_free_cb(gpointer c)
{
	cred_free(c);
}

/* ---- small helpers ---- */

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

guchar *
creds_b64decode(const char *s, size_t n, size_t *len)
{
	guchar *out;
	size_t i, o = 0, pad = 0;

	*len = 0;
	if (n % 4 != 0)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '=') {
			/* Only at the end, at most two. */
			if (i + 2 < n || (i + 2 == n && s[i + 1] != '='))
				return NULL;
			pad++;
		} else if (b64val(c) < 0) {
			return NULL;
		}
	}
	if (pad > 2)
		return NULL;
	/* Valid: GLib decodes it (it would skip invalid characters silently, hence the check). */
	{
		char *z = g_strndup(s, n);
		gsize got = 0;
		guchar *dec = n > 0 ? g_base64_decode(z, &got) : NULL;

		g_free(z);
		out = g_malloc(got + 1);
		if (got > 0)
			memcpy(out, dec, got);
		o = got;
		g_free(dec);
	}
	out[o] = '\0';
	*len = o;
	return out;
}

static char *
dupn(const void *b, size_t n, size_t *len)
{
	char *s;

	if (n > CREDS_MAX_VALUE)
		n = CREDS_MAX_VALUE;
	s = g_malloc(n + 1);
	if (n > 0)
		memcpy(s, b, n);
	s[n] = '\0';
	if (len != NULL)
		*len = n;
	return s;
}

static void
set_user(struct cred *c, const void *b, size_t n)
{
	g_free(c->user);
	c->user = dupn(b, n, &c->user_len);
}

static void
set_secret(struct cred *c, const void *b, size_t n, enum cred_secret kind, bool clear)
{
	g_free(c->secret);
	c->secret = dupn(b, n, &c->secret_len);
	c->secret_kind = kind;
	c->cleartext = clear;
}

static void G_GNUC_PRINTF(2, 3) add_note(struct cred *c, const char *fmt, ...)
{
	va_list ap;
	char *n;

	va_start(ap, fmt);
	n = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (c->note == NULL) {
		c->note = n;
	} else {
		char *j = g_strconcat(c->note, "; ", n, NULL);
		g_free(c->note);
		g_free(n);
		c->note = j;
	}
	if (strlen(c->note) > CREDS_MAX_NOTE)
		c->note[CREDS_MAX_NOTE] = '\0';
}

static char *
hex(const guchar *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s;
	size_t i;

	if (n > CREDS_MAX_VALUE / 2)
		n = CREDS_MAX_VALUE / 2;
	s = g_malloc(2 * n + 1);
	for (i = 0; i < n; i++) {
		s[2 * i] = digits[b[i] >> 4];
		s[2 * i + 1] = digits[b[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

/* Printable ASCII for a note (non-printable as '?'), at most max characters. */
static char *
ascii(const void *b, size_t n, size_t max)
{
	const unsigned char *p = b;
	char *s;
	size_t i;

	if (n > max)
		n = max;
	s = g_malloc(n + 1);
	for (i = 0; i < n; i++)
		s[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	s[n] = '\0';
	return s;
}

static struct cred *
cred_new(struct session *s, const struct txn *t, const char *mech)
{
	struct cred *c = g_new0(struct cred, 1);

	c->txn = t->id;
	c->mechanism = g_strdup(mech);
	if (t->cmd_msg != NULL) {
		c->frame = session_frame_at(s, DIR_TO_SERVER, t->cmd_msg->off);
		c->ts = t->cmd_msg->ts;
	}
	return c;
}

/* The outcome of the attempt from its transaction's reply. */
static void
set_outcome(struct cred *c, const struct txn *t)
{
	switch (t->status) {
	case POP3_STATUS_OK:
		c->outcome = CRED_OUTCOME_OK;
		break;
	case POP3_STATUS_ERR:
		c->outcome = CRED_OUTCOME_ERR;
		break;
	default:
		c->outcome = t->reply_not_pop3 ? CRED_OUTCOME_UNKNOWN : CRED_OUTCOME_NONE;
		break;
	}
	g_free(c->resp_code);
	g_free(c->reply);
	c->resp_code = t->resp_code != NULL ? g_strdup(t->resp_code) : NULL;
	c->reply = t->status != POP3_STATUS_NONE ? dupn(t->text, t->text_len, NULL) : NULL;
}

/* ---- USER / PASS / APOP ---- */

static struct cred *
from_user_pass(struct session *s, const struct txn *user, const struct txn *pass)
{
	struct cred *c = cred_new(s, pass != NULL ? pass : user, "USER");

	if (user != NULL) {
		c->user_txn = user->id;
		set_user(c, user->arg, user->arg_len);
	}
	if (pass != NULL) {
		/* RFC 1939 section 7: the whole rest of the line, spaces included. */
		set_secret(c, pass->arg, pass->arg_len, CRED_SECRET_PASSWORD, true);
		set_outcome(c, pass);
		if (user == NULL)
			add_note(c, "PASS without a USER before it");
	} else {
		set_outcome(c, user);
		if (user->status != POP3_STATUS_ERR) {
			c->outcome = CRED_OUTCOME_INCOMPLETE;
			add_note(c, "USER without PASS");
		}
	}
	return c;
}

/* The APOP timestamp of a greeting: from '<' to the next '>' (RFC 1939 section 7). */
static bool
greeting_timestamp(const struct session *s, const char **ts, size_t *len)
{
	const struct txn *g = s->greeting;
	const char *lt, *gt;

	if (g == NULL || g->text == NULL)
		return false;
	lt = memchr(g->text, '<', g->text_len);
	if (lt == NULL)
		return false;
	gt = memchr(lt, '>', g->text_len - (size_t)(lt - g->text));
	if (gt == NULL)
		return false;
	*ts = lt;
	*len = (size_t)(gt - lt) + 1;
	return true;
}

static bool
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!g_ascii_isxdigit(s[i]))
			return false;
	return n > 0;
}

static struct cred *
from_apop(struct session *s, const struct txn *t)
{
	struct cred *c = cred_new(s, t, "APOP");
	const char *sp = NULL, *ts;
	size_t i, tslen;

	for (i = t->arg_len; i > 0; i--)
		if (t->arg[i - 1] == ' ') {
			sp = t->arg + i - 1;
			break;
		}
	if (sp == NULL) {
		set_user(c, t->arg, t->arg_len);
		add_note(c, "APOP without a digest");
	} else {
		size_t dlen = t->arg_len - (size_t)(sp - t->arg) - 1;
		set_user(c, t->arg, (size_t)(sp - t->arg));
		/* RFC 1939 section 7: MD5(timestamp + secret), 32 hexadecimal digits. */
		set_secret(c, sp + 1, dlen, CRED_SECRET_DIGEST, false);
		if (dlen != 32 || !is_hex(sp + 1, dlen))
			add_note(c, "the digest is not 32 hexadecimal digits");
	}
	if (greeting_timestamp(s, &ts, &tslen))
		c->salt = dupn(ts, tslen, &c->salt_len);
	else
		add_note(c,
		    s->greeting != NULL ? "the greeting holds no <timestamp>"
		                        : "the greeting was not captured");
	set_outcome(c, t);
	return c;
}

/* ---- SASL ---- */

/* One step of an AUTH exchange, in order. */
struct step {
	const struct msg *m; /* the message it came in (the AUTH line for an initial response) */
	bool client;
	const char *line; /* for the client: the base64 (or "*"); server: after "+ " */
	size_t len;
	guchar *dec; /* decoded, NULL if not base64 */
	size_t dlen;
};

struct exchange {
	struct session *s;
	struct cred *c;
	GArray *steps; /* struct step */
	bool cancelled;
	bool bad_b64;
};

static void
step_add(struct exchange *x, const struct msg *m, bool client, const char *line, size_t len)
{
	struct step st = {m, client, line, len, NULL, 0};

	if (client && len == 1 && line[0] == '*') {
		x->cancelled = true;
	} else if (client && len == 1 && line[0] == '=') {
		/* RFC 5034 section 4: "=" is a zero-length initial response. */
		st.dec = (guchar *)g_strdup("");
	} else {
		st.dec = creds_b64decode(line, len, &st.dlen);
		if (st.dec == NULL && client)
			x->bad_b64 = true;
	}
	g_array_append_val(x->steps, st);
}

static void
exchange_build(struct exchange *x, const struct txn *t, const char *ir, size_t irlen)
{
	guint i;
	const struct msg *m;

	x->steps = g_array_new(FALSE, TRUE, sizeof(struct step));
	x->cancelled = x->bad_b64 = false;
	if (ir != NULL)
		step_add(x, t->cmd_msg, true, ir, irlen);
	for (i = 0; i < t->msgs->len; i++) {
		m = g_ptr_array_index(t->msgs, i);
		if (m->kind == MSG_SASL) {
			step_add(x, m, true, m->text, m->text_len);
		} else if (m->kind == MSG_CHALLENGE) {
			/* "+ base64" or a bare "+" */
			size_t skip = m->text_len >= 2 ? 2 : m->text_len;
			step_add(x, m, false, m->text + skip, m->text_len - skip);
		}
	}
}

static void
exchange_free(struct exchange *x)
{
	guint i;

	for (i = 0; i < x->steps->len; i++)
		g_free(g_array_index(x->steps, struct step, i).dec);
	g_array_free(x->steps, TRUE);
}

/* The secret of c came in step st: its frame is the one to point at. */
static void
secret_in(const struct exchange *x, const struct step *st)
{
	if (st->m != NULL && x->c->secret != NULL) {
		x->c->frame = session_frame_at(x->s, DIR_TO_SERVER, st->m->off);
		x->c->ts = st->m->ts;
	}
}

/* The n-th (0-based) client step that decoded, or NULL. */
static const struct step *
client_step(const struct exchange *x, unsigned n)
{
	guint i;

	for (i = 0; i < x->steps->len; i++) {
		const struct step *st = &g_array_index(x->steps, struct step, i);
		if (!st->client)
			continue;
		if (n-- == 0)
			return st->dec != NULL ? st : NULL;
	}
	return NULL;
}

static const struct step *
server_step(const struct exchange *x, unsigned n)
{
	guint i;

	for (i = 0; i < x->steps->len; i++) {
		const struct step *st = &g_array_index(x->steps, struct step, i);
		if (st->client)
			continue;
		if (n-- == 0)
			return st;
	}
	return NULL;
}

/* RFC 4616: [authzid] NUL authcid NUL passwd */
static void
sasl_plain(struct cred *c, const struct exchange *x)
{
	const struct step *st = client_step(x, 0);
	const guchar *a, *b;

	if (st == NULL)
		return;
	if (st->dlen == 0) {
		add_note(c, "an empty PLAIN response");
		return;
	}
	a = memchr(st->dec, '\0', st->dlen);
	b = a != NULL ? memchr(a + 1, '\0', st->dlen - (size_t)(a + 1 - st->dec)) : NULL;
	if (b == NULL) {
		add_note(c, "the PLAIN response is not authzid NUL user NUL password");
		set_secret(c, st->dec, st->dlen, CRED_SECRET_PASSWORD, true);
		secret_in(x, st);
		return;
	}
	if (a > st->dec)
		c->authzid = dupn(st->dec, (size_t)(a - st->dec), &c->authzid_len);
	set_user(c, a + 1, (size_t)(b - a - 1));
	set_secret(c, b + 1, st->dlen - (size_t)(b + 1 - st->dec), CRED_SECRET_PASSWORD, true);
	secret_in(x, st);
}

/* LOGIN: the server asks "Username:" then "Password:"; the initial response is the user. */
static void
sasl_login(struct cred *c, const struct exchange *x)
{
	guint i;
	const struct step *prompt = NULL;
	unsigned nclient = 0;

	for (i = 0; i < x->steps->len; i++) {
		const struct step *st = &g_array_index(x->steps, struct step, i);
		if (!st->client) {
			prompt = st;
			continue;
		}
		if (st->dec != NULL) {
			bool is_pass;
			if (prompt != NULL && prompt->dec != NULL && prompt->dlen >= 4 &&
			    g_ascii_strncasecmp((const char *)prompt->dec, "pass", 4) == 0)
				is_pass = true;
			else if (prompt != NULL && prompt->dec != NULL && prompt->dlen >= 4 &&
			    g_ascii_strncasecmp((const char *)prompt->dec, "user", 4) == 0)
				is_pass = false;
			else
				is_pass = nclient == 1; /* by order: user, then password */
			if (is_pass) {
				set_secret(c, st->dec, st->dlen, CRED_SECRET_PASSWORD, true);
				secret_in(x, st);
			} else
				set_user(c, st->dec, st->dlen);
		}
		nclient++;
		prompt = NULL;
	}
}

/* RFC 2195: challenge = timestamp, response = user SP hex(HMAC-MD5(secret, challenge)). */
static void
sasl_cram(struct cred *c, const struct exchange *x)
{
	const struct step *ch = server_step(x, 0), *st = client_step(x, 0);
	const guchar *sp = NULL;
	size_t i;

	if (ch != NULL && ch->dec != NULL)
		c->salt = dupn(ch->dec, ch->dlen, &c->salt_len);
	if (st == NULL)
		return;
	for (i = st->dlen; i > 0; i--)
		if (st->dec[i - 1] == ' ') {
			sp = st->dec + i - 1;
			break;
		}
	if (sp == NULL) {
		add_note(c, "the CRAM-MD5 response is not user SP digest");
		set_user(c, st->dec, st->dlen);
		return;
	}
	set_user(c, st->dec, (size_t)(sp - st->dec));
	set_secret(c, sp + 1, st->dlen - (size_t)(sp + 1 - st->dec), CRED_SECRET_DIGEST, false);
	secret_in(x, st);
}

/* Finds "key" in ^A-separated fields; returns its value (after key). */
static bool
field(const guchar *b, size_t n, const char *key, const guchar **v, size_t *vlen)
{
	size_t i = 0, e, kl = strlen(key);

	while (i < n) {
		for (e = i; e < n && b[e] != 0x01; e++)
			;
		if (e - i >= kl && g_ascii_strncasecmp((const char *)b + i, key, kl) == 0) {
			*v = b + i + kl;
			*vlen = e - i - kl;
			return true;
		}
		i = e + 1;
	}
	return false;
}

static void
bearer(struct cred *c, const guchar *b, size_t n)
{
	const guchar *v;
	size_t vl;

	if (field(b, n, "auth=", &v, &vl)) {
		if (vl >= 7 && g_ascii_strncasecmp((const char *)v, "Bearer ", 7) == 0) {
			v += 7;
			vl -= 7;
		}
		set_secret(c, v, vl, CRED_SECRET_TOKEN, true);
	}
}

/* A server's error challenge (XOAUTH2, OAUTHBEARER): JSON, kept short in the note. */
static void
server_error(struct cred *c, const struct exchange *x)
{
	const struct step *ch = server_step(x, 0);
	char *a;

	if (ch == NULL || ch->dec == NULL || ch->dlen == 0)
		return;
	a = ascii(ch->dec, ch->dlen, 160);
	add_note(c, "server error challenge: %s", a);
	g_free(a);
}

/* Google's XOAUTH2: "user=" U ^A "auth=Bearer " T ^A ^A */
static void
sasl_xoauth2(struct cred *c, const struct exchange *x)
{
	const struct step *st = client_step(x, 0);
	const guchar *v;
	size_t vl;

	if (st == NULL)
		return;
	if (field(st->dec, st->dlen, "user=", &v, &vl))
		set_user(c, v, vl);
	bearer(c, st->dec, st->dlen);
	secret_in(x, st);
	server_error(c, x);
}

/* RFC 5801 GS2 header "n,a=authzid," (with =2C and =3D escapes). */
static char *
gs2_unescape(const guchar *b, size_t n, size_t *len)
{
	GString *o = g_string_sized_new(n);
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i] == '=' && i + 2 < n) {
			if (b[i + 1] == '2' && (b[i + 2] == 'C' || b[i + 2] == 'c')) {
				g_string_append_c(o, ',');
				i += 2;
				continue;
			}
			if (b[i + 1] == '3' && (b[i + 2] == 'D' || b[i + 2] == 'd')) {
				g_string_append_c(o, '=');
				i += 2;
				continue;
			}
		}
		g_string_append_c(o, (char)b[i]);
	}
	*len = o->len;
	return g_string_free(o, FALSE);
}

/* The value of ",key=" in a comma-separated list (SCRAM, GS2). */
static bool
comma_field(const guchar *b, size_t n, const char *key, const guchar **v, size_t *vl)
{
	size_t i = 0, e, kl = strlen(key);

	while (i <= n) {
		for (e = i; e < n && b[e] != ',' && b[e] != 0x01; e++)
			;
		if (e - i >= kl && memcmp(b + i, key, kl) == 0) {
			*v = b + i + kl;
			*vl = e - i - kl;
			return true;
		}
		if (e >= n || b[e] == 0x01)
			break;
		i = e + 1;
	}
	return false;
}

/* RFC 7628: gs2-header ^A "auth=Bearer " T ^A ... ^A ^A; the user is the GS2 a= value. */
static void
sasl_oauthbearer(struct cred *c, const struct exchange *x)
{
	const struct step *st = client_step(x, 0);
	const guchar *v;
	size_t vl, ul;
	char *u;

	if (st == NULL)
		return;
	if (comma_field(st->dec, st->dlen, "a=", &v, &vl)) {
		u = gs2_unescape(v, vl, &ul);
		set_user(c, u, ul);
		g_free(u);
	}
	bearer(c, st->dec, st->dlen);
	secret_in(x, st);
	server_error(c, x);
}

/* RFC 5802: client-first "gs2-header n=user,r=nonce", client-final "...,p=proof". */
static void
sasl_scram(struct cred *c, const struct exchange *x)
{
	const struct step *first = client_step(x, 0), *final = client_step(x, 1);
	const guchar *v, *body;
	size_t vl, ul, n;
	char *u;

	if (first == NULL)
		return;
	/* Skip the GS2 header: two commas in. */
	body = first->dec;
	n = first->dlen;
	{
		const guchar *c1 = memchr(body, ',', n), *c2;
		c2 = c1 != NULL ? memchr(c1 + 1, ',', n - (size_t)(c1 + 1 - body)) : NULL;
		if (c2 != NULL) {
			if (comma_field(body, (size_t)(c2 - body), "a=", &v, &vl)) {
				u = gs2_unescape(v, vl, &ul);
				c->authzid = dupn(u, ul, &c->authzid_len);
				g_free(u);
			}
			n -= (size_t)(c2 + 1 - body);
			body = c2 + 1;
		}
	}
	if (comma_field(body, n, "n=", &v, &vl)) {
		u = gs2_unescape(v, vl, &ul);
		set_user(c, u, ul);
		g_free(u);
	}
	if (final != NULL && comma_field(final->dec, final->dlen, "p=", &v, &vl)) {
		set_secret(c, v, vl, CRED_SECRET_RESPONSE, false);
		secret_in(x, final);
	}
}

/* RFC 2831: username="...",realm="...",...,response=32HEX */
static bool
digest_field(const guchar *b, size_t n, const char *key, const guchar **v, size_t *vl)
{
	size_t kl = strlen(key), i;

	for (i = 0; i + kl < n; i++) {
		if ((i == 0 || b[i - 1] == ',' || b[i - 1] == ' ') &&
		    g_ascii_strncasecmp((const char *)b + i, key, kl) == 0 && b[i + kl] == '=') {
			const guchar *p = b + i + kl + 1, *end = b + n, *q;
			if (p < end && *p == '"') {
				p++;
				for (q = p; q < end && *q != '"'; q++)
					if (*q == '\\' && q + 1 < end)
						q++;
			} else {
				for (q = p; q < end && *q != ','; q++)
					;
			}
			*v = p;
			*vl = (size_t)(q - p);
			return true;
		}
	}
	return false;
}

static void
sasl_digest_md5(struct cred *c, const struct exchange *x)
{
	const struct step *st = client_step(x, 0);
	const guchar *v;
	size_t vl;

	if (st == NULL)
		return;
	if (digest_field(st->dec, st->dlen, "username", &v, &vl))
		set_user(c, v, vl);
	if (digest_field(st->dec, st->dlen, "authzid", &v, &vl))
		c->authzid = dupn(v, vl, &c->authzid_len);
	if (digest_field(st->dec, st->dlen, "realm", &v, &vl)) {
		char *a = ascii(v, vl, 80);
		add_note(c, "realm %s", a);
		g_free(a);
	}
	if (digest_field(st->dec, st->dlen, "response", &v, &vl)) {
		set_secret(c, v, vl, CRED_SECRET_RESPONSE, false);
		secret_in(x, st);
	}
}

/* ---- NTLM ([MS-NLMP] section 2.2) ---- */

static uint16_t
le16(const guchar *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const guchar *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A security buffer (len, maxlen, offset) at off; false if it points outside. */
static bool
ntlm_buf(const guchar *b, size_t n, size_t off, const guchar **v, size_t *vl)
{
	uint16_t len;
	uint32_t at;

	if (off + 8 > n)
		return false;
	len = le16(b + off);
	at = le32(b + off + 4);
	if (at > n || len > n - at)
		return false;
	*v = b + at;
	*vl = len;
	return true;
}

/* UTF-16LE (NEGOTIATE_UNICODE) or OEM bytes -> UTF-8 (or the bytes as they are). */
static char *
ntlm_str(const guchar *v, size_t vl, bool unicode, size_t *len)
{
	if (unicode && vl % 2 == 0) {
		gunichar2 *w = g_new(gunichar2, vl / 2 + 1);
		glong out = 0;
		char *u;
		size_t i;

		for (i = 0; i < vl / 2; i++)
			w[i] = (gunichar2)le16(v + 2 * i);
		u = g_utf16_to_utf8(w, (glong)(vl / 2), NULL, &out, NULL);
		g_free(w);
		if (u != NULL) {
			*len = (size_t)out;
			return u;
		}
	}
	return dupn(v, vl, len);
}

static const guchar ntlm_sig[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

static void
sasl_ntlm(struct cred *c, const struct exchange *x)
{
	guint i;
	const guchar *v;
	size_t vl, l;
	char *dom = NULL, *host = NULL, *chal = NULL;
	bool seen3 = false;

	for (i = 0; i < x->steps->len; i++) {
		const struct step *st = &g_array_index(x->steps, struct step, i);
		const guchar *b = st->dec;
		size_t n = st->dlen;
		uint32_t type, flags;

		if (b == NULL || n < 12 || memcmp(b, ntlm_sig, 8) != 0)
			continue;
		type = le32(b + 8);
		if (type == 2 && !st->client && n >= 32) {
			g_free(chal);
			chal = hex(b + 24, 8);
		} else if (type == 3 && st->client && n >= 64) {
			bool uni;
			seen3 = true;
			flags = le32(b + 60);
			uni = (flags & 0x1) != 0;
			if (ntlm_buf(b, n, 28, &v, &vl) && vl > 0) {
				g_free(dom);
				dom = ntlm_str(v, vl, uni, &l);
			}
			if (ntlm_buf(b, n, 36, &v, &vl)) {
				char *u = ntlm_str(v, vl, uni, &l);
				set_user(c, u, l);
				g_free(u);
			}
			if (ntlm_buf(b, n, 44, &v, &vl) && vl > 0) {
				g_free(host);
				host = ntlm_str(v, vl, uni, &l);
			}
			if (ntlm_buf(b, n, 20, &v, &vl) && vl > 0) {
				char *h = hex(v, vl);
				set_secret(c, h, strlen(h), CRED_SECRET_RESPONSE, false);
				secret_in(x, st);
				g_free(h);
				add_note(c, "%s response (%zu octets)",
				    vl == 24 ? "NTLMv1" : "NTLMv2", vl);
			} else if (ntlm_buf(b, n, 12, &v, &vl) && vl > 0) {
				char *h = hex(v, vl);
				set_secret(c, h, strlen(h), CRED_SECRET_RESPONSE, false);
				secret_in(x, st);
				g_free(h);
				add_note(c, "LM response only (%zu octet%s)", vl, util_plural(vl));
			} else {
				add_note(c, "no challenge response (anonymous)");
			}
		}
	}
	if (dom != NULL) {
		char *a = ascii(dom, strlen(dom), 80);
		add_note(c, "domain %s", a);
		g_free(a);
	}
	if (host != NULL) {
		char *a = ascii(host, strlen(host), 80);
		add_note(c, "workstation %s", a);
		g_free(a);
	}
	if (chal != NULL)
		add_note(c, "server challenge %s", chal);
	if (!seen3)
		add_note(c, "no NTLM authenticate (type 3) message");
	g_free(dom);
	g_free(host);
	g_free(chal);
}

/* RFC 4752: a Kerberos V5 token; the client's name travels encrypted. */
static void
sasl_gssapi(struct cred *c, const struct exchange *x)
{
	static const guchar krb5_oid[] = {
	    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
	static const guchar spnego_oid[] = {0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
	const struct step *st = client_step(x, 0);
	size_t i;

	if (st == NULL || st->dlen == 0) {
		add_note(c, "no GSSAPI token");
		return;
	}
	c->secret_kind = CRED_SECRET_OPAQUE;
	for (i = 0; i + sizeof(krb5_oid) <= st->dlen && i < 8; i++) {
		if (memcmp(st->dec + i, krb5_oid, sizeof(krb5_oid)) == 0) {
			add_note(c, "Kerberos V5 token of %zu octets; the user name is encrypted",
			    st->dlen);
			return;
		}
		if (i + sizeof(spnego_oid) <= st->dlen &&
		    memcmp(st->dec + i, spnego_oid, sizeof(spnego_oid)) == 0) {
			add_note(c, "SPNEGO token of %zu octets", st->dlen);
			return;
		}
	}
	add_note(c, "GSSAPI token of %zu octet%s", st->dlen, util_plural(st->dlen));
}

static struct cred *
from_auth(struct session *s, const struct txn *t)
{
	const char *sp = memchr(t->arg, ' ', t->arg_len);
	size_t mlen = sp != NULL ? (size_t)(sp - t->arg) : t->arg_len;
	char *mech = g_ascii_strup(t->arg, (gssize)mlen);
	struct cred *c = cred_new(s, t, mech);
	struct exchange x;

	x.s = s;
	x.c = c;
	exchange_build(&x, t, sp != NULL ? sp + 1 : NULL, sp != NULL ? t->arg_len - mlen - 1 : 0);
	if (strcmp(mech, "PLAIN") == 0) {
		sasl_plain(c, &x);
	} else if (strcmp(mech, "LOGIN") == 0) {
		sasl_login(c, &x);
	} else if (strcmp(mech, "CRAM-MD5") == 0) {
		sasl_cram(c, &x);
	} else if (strcmp(mech, "XOAUTH2") == 0) {
		sasl_xoauth2(c, &x);
	} else if (strcmp(mech, "OAUTHBEARER") == 0) {
		sasl_oauthbearer(c, &x);
	} else if (g_str_has_prefix(mech, "SCRAM-")) {
		sasl_scram(c, &x);
	} else if (strcmp(mech, "DIGEST-MD5") == 0) {
		sasl_digest_md5(c, &x);
	} else if (strcmp(mech, "NTLM") == 0) {
		sasl_ntlm(c, &x);
	} else if (strcmp(mech, "GSSAPI") == 0 || strcmp(mech, "GSS-SPNEGO") == 0) {
		sasl_gssapi(c, &x);
	} else if (strcmp(mech, "EXTERNAL") == 0) {
		const struct step *st = client_step(&x, 0);
		if (st != NULL && st->dlen > 0)
			c->authzid = dupn(st->dec, st->dlen, &c->authzid_len);
		add_note(c, "identity from the TLS client certificate or the transport");
	} else if (strcmp(mech, "ANONYMOUS") == 0) {
		const struct step *st = client_step(&x, 0);
		if (st != NULL && st->dlen > 0) {
			char *a = ascii(st->dec, st->dlen, 80);
			add_note(c, "trace information: %s", a);
			g_free(a);
		}
	} else {
		if (x.steps->len > 0)
			c->secret_kind = CRED_SECRET_OPAQUE;
		add_note(c, "mechanism not decoded by popflow");
	}
	if (x.bad_b64)
		add_note(c, "a client line is not valid base64");
	set_outcome(c, t);
	if (x.cancelled) {
		c->outcome = CRED_OUTCOME_CANCELLED;
		add_note(c, "the client cancelled the exchange with \"*\"");
	}
	exchange_free(&x);
	g_free(mech);
	return c;
}

/* A client line of t ends where the capture lost bytes (snaplen, gap): say so. */
static struct cred *
note_cut(struct cred *c, const struct txn *t)
{
	guint i;

	for (i = 0; t != NULL && i < t->msgs->len; i++) {
		const struct msg *m = g_ptr_array_index(t->msgs, i);
		if (m->dir == DIR_TO_SERVER && m->cut) {
			add_note(c,
			    "a line of it is cut short in the capture: values may be incomplete");
			break;
		}
	}
	return c;
}

void
creds_collect(struct session *s, GPtrArray *out)
{
	const struct txn *user = NULL, *t;
	guint i;

	for (i = 0; i < s->txns->len; i++) {
		t = g_ptr_array_index(s->txns, i);
		if (t->cmd == POP3_CMD_PASS) {
			g_ptr_array_add(
			    out, note_cut(note_cut(from_user_pass(s, user, t), user), t));
			user = NULL;
			continue;
		}
		if (user != NULL) {
			/* USER not followed by PASS. */
			g_ptr_array_add(out, note_cut(from_user_pass(s, user, NULL), user));
			user = NULL;
		}
		if (t->cmd == POP3_CMD_USER)
			user = t;
		else if (t->cmd == POP3_CMD_APOP)
			g_ptr_array_add(out, note_cut(from_apop(s, t), t));
		else if (t->cmd == POP3_CMD_AUTH && t->arg_len > 0)
			g_ptr_array_add(out, note_cut(from_auth(s, t), t));
	}
	if (user != NULL)
		g_ptr_array_add(out, note_cut(from_user_pass(s, user, NULL), user));
}

/* ---- --redact ---- */

void
creds_redact(struct cred *c)
{
	if (c->secret == NULL)
		return;
	g_free(c->secret);
	c->secret = g_strdup(CREDS_REDACTED);
	c->secret_len = strlen(CREDS_REDACTED);
}

/* Keeps the first keep bytes of *s (length *n) and appends the marker. */
static void
redact_tail(char **s, size_t *n, size_t keep)
{
	char *r;

	if (keep > *n)
		keep = *n;
	r = g_malloc(keep + sizeof(CREDS_REDACTED));
	memcpy(r, *s, keep);
	memcpy(r + keep, CREDS_REDACTED, sizeof(CREDS_REDACTED));
	g_free(*s);
	*s = r;
	*n = keep + strlen(CREDS_REDACTED);
}

/* Offset in arg where the secret starts, or -1 when there is none. */
static gssize
secret_start(const struct txn *t)
{
	const char *sp;
	size_t i;

	switch (t->cmd) {
	case POP3_CMD_PASS:
		return t->arg_len > 0 ? 0 : -1;
	case POP3_CMD_APOP:
		for (i = t->arg_len; i > 0; i--)
			if (t->arg[i - 1] == ' ')
				return (gssize)i;
		return -1;
	case POP3_CMD_AUTH:
		sp = memchr(t->arg, ' ', t->arg_len);
		if (sp == NULL)
			return -1;
		i = (size_t)(sp - t->arg) + 1;
		if (t->arg_len - i == 1 && t->arg[i] == '=')
			return -1; /* the empty initial response */
		return (gssize)i;
	default:
		return -1;
	}
}

void
creds_redact_session(struct session *s)
{
	guint i, j;

	for (i = 0; i < s->txns->len; i++) {
		struct txn *t = g_ptr_array_index(s->txns, i);
		gssize at = secret_start(t);

		if (at >= 0) {
			/* The command line holds the verb, one space, then arg. */
			size_t in_line = t->cmd_msg != NULL
			    ? t->cmd_msg->text_len - (t->arg_len - (size_t)at)
			    : 0;
			redact_tail(&t->arg, &t->arg_len, (size_t)at);
			if (t->cmd_msg != NULL && t->cmd_msg->text != NULL) {
				redact_tail(&t->cmd_msg->text, &t->cmd_msg->text_len, in_line);
				t->cmd_msg->wire_len = t->cmd_msg->text_len; /* no length hint */
			}
			t->redacted = true;
		}
		if (t->cmd != POP3_CMD_AUTH)
			continue;
		for (j = 0; j < t->msgs->len; j++) {
			struct msg *m = g_ptr_array_index(t->msgs, j);
			if (m->kind != MSG_SASL || m->text == NULL || m->text_len == 0 ||
			    (m->text_len == 1 && (m->text[0] == '*' || m->text[0] == '=')))
				continue;
			redact_tail(&m->text, &m->text_len, 0);
			m->wire_len = m->text_len;
			t->redacted = true;
		}
	}
}
