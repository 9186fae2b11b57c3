/* test_creds.c - login attempts from real-shaped conversations: USER/PASS, APOP, SASL mechanisms, --redact. */
#include <stdlib.h>

#include <glib.h>

#include "creds.h"
#include "pop3.h"
#include "session.h"
#include "testlib.h"

struct conv {
	struct session *s;
	struct pop3 *p;
	struct pop3_config cfg;
	uint64_t off[2];
};

static void
conv_start(struct conv *c, bool redact)
{
	struct endpoint cl = {{4, {10, 0, 0, 1}}, 40000}, sv = {{4, {10, 0, 0, 2}}, 110};

	memset(c, 0, sizeof(*c));
	c->cfg.max_body_keep = 1 << 20;
	c->cfg.redact = redact;
	c->s = session_new(1, &cl, &sv);
	c->s->handshake = HS_SEEN;
	c->p = pop3_new(c->s, &c->cfg);
}

static void
say(struct conv *c, enum dir d, const char *bytes)
{
	struct ts now = {1700000000, 0};
	size_t n = strlen(bytes);

	pop3_feed(c->p, d, (const uint8_t *)bytes, n, c->off[d], now);
	c->off[d] += n;
}

#define C(c, s) say(c, DIR_TO_SERVER, s)
#define S(c, s) say(c, DIR_TO_CLIENT, s)

static const struct cred *
cred(const struct conv *c, guint i)
{
	if (c->s->creds == NULL || i >= c->s->creds->len)
		return NULL;
	return g_ptr_array_index(c->s->creds, i);
}

static void
conv_end(struct conv *c)
{
	pop3_free(c->p);
	session_free(c->s);
}

static bool
has_anomaly(const struct session *s, enum anom k)
{
	return session_anomaly_count(s, k) > 0;
}

static void
test_base64(void)
{
	size_t n;
	guchar *d;

	d = creds_b64decode("AGFsaWNlAHNlY3JldA==", 20, &n);
	CHECK(d != NULL && n == 13 && memcmp(d, "\0alice\0secret", 13) == 0);
	g_free(d);
	d = creds_b64decode("", 0, &n);
	CHECK(d != NULL && n == 0);
	g_free(d);
	CHECK(creds_b64decode("abc", 3, &n) == NULL);      /* not a multiple of 4 */
	CHECK(creds_b64decode("ab=c", 4, &n) == NULL);     /* padding inside */
	CHECK(creds_b64decode("a===", 4, &n) == NULL);     /* three pads */
	CHECK(creds_b64decode("ab c", 4, &n) == NULL);     /* white space */
	CHECK(creds_b64decode("QUJD\r\n", 6, &n) == NULL); /* CR LF */
	d = creds_b64decode("QUI=", 4, &n);
	CHECK(d != NULL && n == 2 && memcmp(d, "AB", 2) == 0);
	g_free(d);
}

/* USER/PASS: wrong then right, a USER rejected alone, spaces and CR/LF bytes in the password. */
static void
test_user_pass(void)
{
	struct conv c;
	const struct cred *k;

	conv_start(&c, false);
	S(&c, "+OK ready\r\n");
	C(&c, "USER nobody\r\n");
	S(&c, "-ERR [AUTH] no such user\r\n");
	C(&c, "USER alice\r\nPASS wrong one\r\n");
	S(&c, "+OK\r\n-ERR [AUTH] Authentication failed.\r\n");
	C(&c, "USER alice\r\n");
	S(&c, "+OK\r\n");
	C(&c, "PASS right\r\n");
	S(&c, "+OK Logged in.\r\n");
	C(&c, "QUIT\r\n");
	S(&c, "+OK bye\r\n");
	pop3_end(c.p);
	CHECK_EQ_U(c.s->creds->len, 3);
	k = cred(&c, 0);
	CHECK_STR(k->mechanism, "USER");
	CHECK_STR(k->user, "nobody");
	CHECK(k->secret == NULL);
	CHECK_EQ_U(k->outcome, CRED_OUTCOME_ERR);
	CHECK_STR(k->resp_code, "AUTH");
	k = cred(&c, 1);
	CHECK_STR(k->user, "alice");
	CHECK_STR(k->secret, "wrong one"); /* RFC 1939: PASS keeps its spaces */
	CHECK(k->cleartext);
	CHECK_EQ_U(k->secret_kind, CRED_SECRET_PASSWORD);
	CHECK_EQ_U(k->outcome, CRED_OUTCOME_ERR);
	CHECK_STR(k->reply, "[AUTH] Authentication failed.");
	CHECK_EQ_U(k->txn, 3);
	CHECK_EQ_U(k->user_txn, 2);
	k = cred(&c, 2);
	CHECK_STR(k->secret, "right");
	CHECK_EQ_U(k->outcome, CRED_OUTCOME_OK);
	conv_end(&c);

	/* USER accepted, then QUIT: an incomplete attempt; PASS with no USER. */
	conv_start(&c, false);
	S(&c, "+OK ready\r\n");
	C(&c, "USER bob\r\n");
	S(&c, "+OK\r\n");
	C(&c, "QUIT\r\n");
	S(&c, "+OK\r\n");
	pop3_end(c.p);
	CHECK_EQ_U(c.s->creds->len, 1);
	CHECK_EQ_U(cred(&c, 0)->outcome, CRED_OUTCOME_INCOMPLETE);
	conv_end(&c);
}

/* APOP with the greeting's timestamp (RFC 1939 section 7's example). */
static void
test_apop(void)
{
	struct conv c;
	const struct cred *k;

	conv_start(&c, false);
	S(&c, "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n");
	C(&c, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
	S(&c, "+OK maildrop has 1 message (369 octets)\r\n");
	pop3_end(c.p);
	k = cred(&c, 0);
	CHECK(k != NULL);
	CHECK_STR(k->mechanism, "APOP");
	CHECK_STR(k->user, "mrose");
	CHECK_STR(k->secret, "c4c9334bac560ecc979e58001b3e22fb");
	CHECK_EQ_U(k->secret_kind, CRED_SECRET_DIGEST);
	CHECK(!k->cleartext);
	CHECK_STR(k->salt, "<1896.697170952@dbc.mtview.ca.us>");
	CHECK(k->note == NULL);
	CHECK(!has_anomaly(c.s, ANOM_APOP_WITHOUT_TIMESTAMP));
	conv_end(&c);

	conv_start(&c, false);
	S(&c, "+OK no timestamp here\r\n");
	C(&c, "APOP mrose 123\r\n");
	S(&c, "-ERR\r\n");
	pop3_end(c.p);
	k = cred(&c, 0);
	CHECK(k != NULL && k->salt == NULL && k->note != NULL);
	CHECK(has_anomaly(c.s, ANOM_APOP_WITHOUT_TIMESTAMP));
	conv_end(&c);
}

/* PLAIN with and without an initial response, "=", cancel, bad base64. */
static void
test_plain(void)
{
	struct conv c;
	const struct cred *k;

	conv_start(&c, false);
	S(&c, "+OK ready\r\n");
	/* "\0alice\0secret" */
	C(&c, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
	S(&c, "-ERR [AUTH] no\r\n");
	C(&c, "AUTH PLAIN\r\n");
	S(&c, "+ \r\n");
	/* "admin\0alice\0pa\r\nss" : authzid, and CR LF inside the password */
	C(&c, "YWRtaW4AYWxpY2UAcGENCnNz\r\n");
	S(&c, "+OK welcome\r\n");
	pop3_end(c.p);
	CHECK_EQ_U(c.s->creds->len, 2);
	k = cred(&c, 0);
	CHECK_STR(k->mechanism, "PLAIN");
	CHECK_STR(k->user, "alice");
	CHECK_STR(k->secret, "secret");
	CHECK(k->authzid == NULL);
	CHECK(k->cleartext);
	CHECK_EQ_U(k->outcome, CRED_OUTCOME_ERR);
	k = cred(&c, 1);
	CHECK_STR(k->authzid, "admin");
	CHECK_STR(k->user, "alice");
	CHECK(k->secret_len == 6 && memcmp(k->secret, "pa\r\nss", 6) == 0);
	CHECK_EQ_U(k->outcome, CRED_OUTCOME_OK);
	CHECK(!has_anomaly(c.s, ANOM_SASL_BAD_BASE64));
	conv_end(&c);

	conv_start(&c, false);
	S(&c, "+OK ready\r\n");
	C(&c, "AUTH PLAIN =\r\n"); /* RFC 5034: "=" is an empty initial response */
	S(&c, "-ERR [AUTH] empty\r\n");
	C(&c, "AUTH PLAIN\r\n");
	S(&c, "+ \r\n");
	C(&c, "*\r\n");
	S(&c, "-ERR cancelled\r\n");
	C(&c, "AUTH PLAIN not!base64\r\n");
	S(&c, "-ERR bad\r\n");
	pop3_end(c.p);
	CHECK_EQ_U(c.s->creds->len, 3);
	CHECK(cred(&c, 0)->secret == NULL);
	CHECK(cred(&c, 0)->note != NULL); /* not authzid NUL user NUL password */
	CHECK_EQ_U(cred(&c, 1)->outcome, CRED_OUTCOME_CANCELLED);
	CHECK(cred(&c, 1)->secret == NULL);
	CHECK(cred(&c, 2)->secret == NULL);
	CHECK(has_anomaly(c.s, ANOM_SASL_BAD_BASE64));
	conv_end(&c);
}

/* LOGIN: "Username:" / "Password:" prompts, with and without the initial response. */
static void
test_login(void)
{
	struct conv c;
	const struct cred *k;

	conv_start(&c, false);
	S(&c, "+OK ready\r\n");
	C(&c, "AUTH LOGIN\r\n");
	S(&c, "+ VXNlcm5hbWU6\r\n");
	C(&c, "Ym9i\r\n");
	S(&c, "+ UGFzc3dvcmQ6\r\n");
	C(&c, "aHVudGVyMg==\r\n");
	S(&c, "+OK Logged in.\r\n");
	C(&c, "QUIT\r\n");
	S(&c, "+OK\r\n");
	pop3_end(c.p);
	k = cred(&c, 0);
	CHECK(k != NULL);
	CHECK_STR(k->mechanism, "LOGIN");
	CHECK_STR(k->user, "bob");
	CHECK_STR(k->secret, "hunter2");
	CHECK_EQ_U(k->outcome, CRED_OUTCOME_OK);
	CHECK_EQ_U(c.s->txns->len, 2); /* the exchange is one transaction */
	conv_end(&c);

	conv_start(&c, false);
	S(&c, "+OK ready\r\n");
	C(&c, "AUTH LOGIN Ym9i\r\n");
	S(&c, "+ UGFzc3dvcmQ6\r\n");
	C(&c, "aHVudGVyMg==\r\n");
	S(&c, "-ERR [AUTH] no\r\n");
	pop3_end(c.p);
	k = cred(&c, 0);
	CHECK_STR(k->user, "bob");
	CHECK_STR(k->secret, "hunter2");
	CHECK_EQ_U(k->outcome, CRED_OUTCOME_ERR);
	conv_end(&c);
}

/* CRAM-MD5 (RFC 2195 section 2's example exchange). */
static void
test_cram(void)
{
	struct conv c;
	const struct cred *k;

	conv_start(&c, false);
	S(&c, "+OK ready\r\n");
	C(&c, "AUTH CRAM-MD5\r\n");
	S(&c, "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n");
	C(&c, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n");
	S(&c, "+OK\r\n");
	pop3_end(c.p);
	k = cred(&c, 0);
	CHECK(k != NULL);
	CHECK_STR(k->user, "tim");
	CHECK_STR(k->secret, "b913a602c7eda7a495b4e6e7334d3890");
	CHECK_STR(k->salt, "<1896.697170952@postoffice.reston.mci.net>");
	CHECK_EQ_U(k->secret_kind, CRED_SECRET_DIGEST);
	CHECK(!k->cleartext);
	conv_end(&c);
}

/* XOAUTH2 accepted, and refused with the server's JSON error challenge; OAUTHBEARER. */
static void
test_oauth(void)
{
	struct conv c;
	const struct cred *k;
	char *ir, *line;

	conv_start(&c, false);
	S(&c, "+OK ready\r\n");
	ir = g_base64_encode(
	    (const guchar *)"user=joe@example.com\001auth=Bearer ya29.tok\001\001", 43);
	line = g_strdup_printf("AUTH XOAUTH2 %s\r\n", ir);
	C(&c, line);
	g_free(line);
	g_free(ir);
	S(&c, "+ eyJzdGF0dXMiOiI0MDEifQ==\r\n"); /* {"status":"401"} */
	C(&c, "\r\n");
	S(&c, "-ERR [AUTH] Invalid credentials\r\n");
	ir = g_base64_encode(
	    (const guchar *)"n,a=joe@example.com,\001host=x\001auth=Bearer tok2\001\001", 46);
	line = g_strdup_printf("AUTH OAUTHBEARER %s\r\n", ir);
	C(&c, line);
	g_free(line);
	g_free(ir);
	S(&c, "+OK\r\n");
	pop3_end(c.p);
	CHECK_EQ_U(c.s->creds->len, 2);
	k = cred(&c, 0);
	CHECK_STR(k->mechanism, "XOAUTH2");
	CHECK_STR(k->user, "joe@example.com");
	CHECK_STR(k->secret, "ya29.tok");
	CHECK_EQ_U(k->secret_kind, CRED_SECRET_TOKEN);
	CHECK(k->cleartext);
	CHECK_EQ_U(k->outcome, CRED_OUTCOME_ERR);
	CHECK(k->note != NULL && strstr(k->note, "401") != NULL);
	CHECK(!has_anomaly(c.s, ANOM_SASL_BAD_BASE64)); /* the empty line is valid */
	k = cred(&c, 1);
	CHECK_STR(k->mechanism, "OAUTHBEARER");
	CHECK_STR(k->user, "joe@example.com");
	CHECK_STR(k->secret, "tok2");
	conv_end(&c);
}

/* NTLM: the arkime synthetic capture's type 2 and type 3 messages. */
static void
test_ntlm(void)
{
	struct conv c;
	const struct cred *k;

	conv_start(&c, false);
	S(&c, "+OK POP3 server ready\r\n");
	C(&c, "AUTH NTLM\r\n");
	S(&c, "+ \r\n");
	C(&c, "TlRMTVNTUAABAAAABwIAAgcABwAoAAAACAAIAC8AAAAKAGFKAAAAD1BPUDNET01QT1AzSE9TVA==\r\n");
	S(&c,
	    "+ TlRMTVNTUAACAAAADgAOADgAAAAFAgACASNFZ4mrze8AAAAAAAAAAAQABABGAAAACgBhSgAAAA9QAE8AUAAz"
	    "AFQARwBUAAAAAAA=\r\n");
	C(&c,
	    "TlRMTVNTUAADAAAAGAAYAFgAAAAYABgAcAAAAA4ADgCIAAAACAAIAJYAAAAQABAAngAAABAAEACuAAAABQIAAg"
	    "oAYU"
	    "oAAAAPAAAAAAAAAAAAAAAAAAAAAExMTExMTExMTExMTExMTExMTExMTExMTE5OTk5OTk5OTk5OTk5OTk5OTk5O"
	    "Tk5OTl"
	    "AATwBQADMARABPAE0AbABpAGEAbQBQAE8AUAAzAEgATwBTAFQAS0tLS0tLS0tLS0tLS0tLSw==\r\n");
	S(&c, "+OK Logged in\r\n");
	pop3_end(c.p);
	k = cred(&c, 0);
	CHECK(k != NULL);
	CHECK_STR(k->user, "liam");
	CHECK_EQ_U(k->secret_kind, CRED_SECRET_RESPONSE);
	CHECK_STR(k->secret, "4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e");
	CHECK(k->note != NULL && strstr(k->note, "domain POP3DOM") != NULL &&
	    strstr(k->note, "workstation POP3HOST") != NULL &&
	    strstr(k->note, "server challenge 0123456789abcdef") != NULL &&
	    strstr(k->note, "NTLMv1") != NULL);
	CHECK(!has_anomaly(c.s, ANOM_LINE_TOO_LONG)); /* SASL lines have no 255 limit */
	conv_end(&c);
}

/* SCRAM (RFC 5802 section 5's example), DIGEST-MD5, GSSAPI, an unknown mechanism. */
static void
test_other_mechs(void)
{
	struct conv c;
	char *b;
	const char *first = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
	const char *final = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	                    "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
	const char *digest = "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\","
	                     "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
	                     "digest-uri=\"pop/elwood.innosoft.com\","
	                     "response=d388dad90d4bbd760a152321f2143af7,qop=auth";
	static const guchar gss[] = {0x60, 0x82, 0x02, 0x00, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	    0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00, 0x6e};

	conv_start(&c, false);
	S(&c, "+OK ready\r\n");
	C(&c, "AUTH SCRAM-SHA-1\r\n");
	S(&c, "+ \r\n");
	b = g_base64_encode((const guchar *)first, strlen(first));
	C(&c, b);
	C(&c, "\r\n");
	g_free(b);
	S(&c,
	    "+ "
	    "cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0wzcmZjTkhZSlkxWlZ2V1ZzN2oscz1RU1hDUitRNnNlazhiZjkyLG"
	    "k9NDA5Ng==\r\n");
	b = g_base64_encode((const guchar *) final, strlen(final));
	C(&c, b);
	C(&c, "\r\n");
	g_free(b);
	S(&c, "+ dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9\r\n");
	C(&c, "\r\n");
	S(&c, "+OK\r\n");
	C(&c, "AUTH DIGEST-MD5\r\n");
	S(&c, "+ cmVhbG09ImVsd29vZC5pbm5vc29mdC5jb20iLG5vbmNlPSJPQTZNRzl0RVFHbTJoaCI=\r\n");
	b = g_base64_encode((const guchar *)digest, strlen(digest));
	C(&c, b);
	C(&c, "\r\n");
	g_free(b);
	S(&c, "-ERR\r\n");
	C(&c, "AUTH GSSAPI\r\n");
	S(&c, "+ \r\n");
	b = g_base64_encode(gss, sizeof(gss));
	C(&c, b);
	C(&c, "\r\n");
	g_free(b);
	S(&c, "-ERR\r\n");
	C(&c, "AUTH X-SECRET-SAUCE c2VjcmV0\r\n");
	S(&c, "-ERR unknown mechanism\r\n");
	pop3_end(c.p);
	CHECK_EQ_U(c.s->creds->len, 4);
	CHECK_STR(cred(&c, 0)->user, "user");
	CHECK_STR(cred(&c, 0)->secret, "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
	CHECK_EQ_U(cred(&c, 0)->outcome, CRED_OUTCOME_OK);
	CHECK_STR(cred(&c, 1)->user, "chris");
	CHECK_STR(cred(&c, 1)->secret, "d388dad90d4bbd760a152321f2143af7");
	CHECK(strstr(cred(&c, 1)->note, "realm elwood.innosoft.com") != NULL);
	CHECK(cred(&c, 2)->user == NULL);
	CHECK(strstr(cred(&c, 2)->note, "Kerberos V5") != NULL);
	CHECK_EQ_U(cred(&c, 3)->secret_kind, CRED_SECRET_OPAQUE);
	CHECK(cred(&c, 3)->secret == NULL);
	CHECK_STR(cred(&c, 3)->mechanism, "X-SECRET-SAUCE");
	conv_end(&c);
}

/* --redact: secrets leave the model; user names and the structure stay. */
static void
test_redact(void)
{
	struct conv c;
	const struct txn *t;
	const struct msg *m;

	conv_start(&c, true);
	S(&c, "+OK ready <1.2@x>\r\n");
	C(&c, "USER alice\r\npass a very long secret password\r\n");
	S(&c, "+OK\r\n-ERR\r\n");
	C(&c, "APOP alice 0123456789abcdef0123456789abcdef\r\n");
	S(&c, "-ERR\r\n");
	C(&c, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
	S(&c, "-ERR\r\n");
	C(&c, "AUTH LOGIN\r\n");
	S(&c, "+ VXNlcm5hbWU6\r\n");
	C(&c, "YWxpY2U=\r\n");
	S(&c, "+ UGFzc3dvcmQ6\r\n");
	C(&c, "*\r\n");
	S(&c, "-ERR cancelled\r\n");
	C(&c, "AUTH PLAIN =\r\n");
	S(&c, "-ERR\r\n");
	pop3_end(c.p);
	t = g_ptr_array_index(c.s->txns, 0);
	CHECK_STR(t->arg, "alice");
	CHECK(!t->redacted);
	t = g_ptr_array_index(c.s->txns, 1);
	CHECK_STR(t->arg, CREDS_REDACTED);
	CHECK_STR(t->cmd_msg->text, "pass " CREDS_REDACTED); /* the verb as sent */
	CHECK_EQ_U(t->cmd_msg->wire_len, t->cmd_msg->text_len);
	CHECK(t->redacted);
	t = g_ptr_array_index(c.s->txns, 2);
	CHECK_STR(t->arg, "alice " CREDS_REDACTED);
	CHECK_STR(t->cmd_msg->text, "APOP alice " CREDS_REDACTED);
	t = g_ptr_array_index(c.s->txns, 3);
	CHECK_STR(t->cmd_msg->text, "AUTH PLAIN " CREDS_REDACTED);
	t = g_ptr_array_index(c.s->txns, 4);
	CHECK_STR(t->arg, "LOGIN");
	m = g_ptr_array_index(t->msgs, 2); /* command, challenge, response */
	CHECK_EQ_U(m->kind, MSG_SASL);
	CHECK_STR(m->text, CREDS_REDACTED);
	m = g_ptr_array_index(t->msgs, 4);
	CHECK_STR(m->text, "*"); /* the cancel is no secret */
	t = g_ptr_array_index(c.s->txns, 5);
	CHECK_STR(t->arg, "PLAIN =");
	CHECK_STR(cred(&c, 0)->secret, CREDS_REDACTED);
	CHECK_STR(cred(&c, 0)->user, "alice");
	CHECK_STR(cred(&c, 1)->secret, CREDS_REDACTED);
	CHECK_STR(cred(&c, 1)->salt, "<1.2@x>");
	CHECK_STR(cred(&c, 2)->secret, CREDS_REDACTED);
	CHECK_STR(cred(&c, 2)->user, "alice");
	conv_end(&c);
}

int
main(void)
{
	test_base64();
	test_user_pass();
	test_apop();
	test_plain();
	test_login();
	test_cram();
	test_oauth();
	test_ntlm();
	test_other_mechs();
	test_redact();
	return tl_done();
}
