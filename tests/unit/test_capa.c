/* test_capa.c - CAPA listings into capabilities (RFC 2449 section 6, RFC 2595, 3206, 6856). */
#include <glib.h>

#include "capa.h"
#include "testlib.h"

static void
test_full(void)
{
	/* Every RFC 2449 section 6 tag, plus STLS, AUTH-RESP-CODE, UTF8, LANG and an extension. */
	const char *body = "TOP\r\n"
	                   "USER\r\n"
	                   "SASL CRAM-MD5 KERBEROS_V4 plain\r\n"
	                   "RESP-CODES\r\n"
	                   "LOGIN-DELAY 900\r\n"
	                   "PIPELINING\r\n"
	                   "EXPIRE 60 USER\r\n"
	                   "UIDL\r\n"
	                   "IMPLEMENTATION Shlemazle-Plotz-v302\r\n"
	                   "STLS\r\n"
	                   "AUTH-RESP-CODE\r\n"
	                   "UTF8 USER\r\n"
	                   "LANG\r\n"
	                   "X-GOOGLE-RICO\r\n";
	struct capa *c = capa_parse(body, strlen(body));

	CHECK(c->top && c->user && c->resp_codes && c->pipelining && c->uidl);
	CHECK(c->stls && c->auth_resp_code && c->utf8 && c->utf8_user && c->lang);
	CHECK(c->sasl);
	CHECK_EQ_U(c->sasl_mechs->len, 3);
	CHECK_STR(g_ptr_array_index(c->sasl_mechs, 0), "CRAM-MD5");
	CHECK_STR(g_ptr_array_index(c->sasl_mechs, 2), "PLAIN"); /* upper-cased */
	CHECK(capa_has_mech(c, "plain"));
	CHECK(!capa_has_mech(c, "LOGIN"));
	CHECK(c->login_delay.present && c->login_delay.value == 900 && !c->login_delay.per_user);
	CHECK(c->expire.present && c->expire.value == 60 && c->expire.per_user && !c->expire.never);
	CHECK_STR(c->implementation, "Shlemazle-Plotz-v302");
	CHECK_EQ_U(c->other->len, 1);
	CHECK_STR(g_ptr_array_index(c->other, 0), "X-GOOGLE-RICO");
	CHECK_EQ_U(c->malformed->len, 0);
	capa_free(c);
}

static void
test_odd(void)
{
	/* LF ends, lower case, EXPIRE NEVER, bad arguments, an empty line. */
	const char *body = "top\nexpire never\nlogin-delay soon\nPIPELINING now\n\nUTF8 ALL\n";
	struct capa *c = capa_parse(body, strlen(body));

	CHECK(c->top);
	CHECK(c->expire.present && c->expire.never);
	CHECK(c->login_delay.present && c->login_delay.value == -1);
	CHECK(c->pipelining);
	CHECK(c->utf8 && !c->utf8_user);
	CHECK_EQ_U(c->malformed->len, 3);
	CHECK_STR(g_ptr_array_index(c->malformed, 0), "login-delay soon");
	CHECK(!c->sasl);
	capa_free(c);
}

int
main(void)
{
	test_full();
	test_odd();
	return tl_done();
}
