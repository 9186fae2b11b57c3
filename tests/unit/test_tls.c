/* test_tls.c - TLS key derivations (RFC 5246 PRF, RFC 8448 traces) and NSS key log parsing. */
#include <glib.h>

#include "keylog.h"
#include "testlib.h"
#include "tls.h"

static size_t
unhex(const char *s, uint8_t *out)
{
	size_t n = 0;

	for (; s[0] != '\0' && s[1] != '\0'; s += 2)
		out[n++] = (uint8_t)(g_ascii_xdigit_value(s[0]) << 4 | g_ascii_xdigit_value(s[1]));
	return n;
}

static bool
same(const uint8_t *got, size_t n, const char *hex)
{
	uint8_t want[512];

	return unhex(hex, want) == n && memcmp(got, want, n) == 0;
}

/*
 * The TLS 1.2 PRF test vectors circulated on the IETF TLS working group
 * list (used by BearSSL, Botan, Go...): P_SHA256 and P_SHA384 with
 * label "test label" (RFC 5246 section 5).
 */
static void
test_prf(void)
{
	uint8_t secret[16], seed[16], out[148];

	unhex("9bbe436ba940f017b17652849a71db35", secret);
	unhex("a0ba9f936cda311827a6f796ffd5198c", seed);
	CHECK(tls_prf("SHA256", secret, 16, "test label", seed, 16, out, 100) == 0);
	CHECK(same(out, 100,
	    "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
	    "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
	    "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
	    "87347b66"));
	unhex("b80b733d6ceefcdc71566ea48e5567df", secret);
	unhex("cd665cf6a8447dd6ff8b27555edb7465", seed);
	CHECK(tls_prf("SHA384", secret, 16, "test label", seed, 16, out, 148) == 0);
	CHECK(same(out, 148,
	    "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd"
	    "e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd"
	    "8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425"
	    "9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6"
	    "91c8f3a26854308d5eaa3be85e0990703d73e56f"));
	/* Another secret gives other bytes: the check can fail. */
	secret[0] ^= 1;
	CHECK(tls_prf("SHA384", secret, 16, "test label", seed, 16, out, 148) == 0);
	CHECK(!same(out, 32, "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd"));
}

/* RFC 8448 section 3 (Simple 1-RTT Handshake, TLS_AES_128_GCM_SHA256). */
static void
test_rfc8448(void)
{
	uint8_t hs[32], th[32], sec[32], out[32];

	/* Derive-Secret(handshake secret, "s hs traffic" / "c hs traffic", ClientHello..ServerHello). */
	unhex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac", hs);
	unhex("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8", th);
	CHECK(tls13_expand_label("SHA256", hs, 32, "s hs traffic", th, 32, out, 32) == 0);
	CHECK(same(out, 32, "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"));
	CHECK(tls13_expand_label("SHA256", hs, 32, "c hs traffic", th, 32, out, 32) == 0);
	CHECK(same(out, 32, "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21"));

	/* Traffic keys and IVs (RFC 8446 section 7.3) from the traffic secrets. */
	unhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38", sec);
	CHECK(tls13_expand_label("SHA256", sec, 32, "key", NULL, 0, out, 16) == 0);
	CHECK(same(out, 16, "3fce516009c21727d0f2e4e86ee403bc"));
	CHECK(tls13_expand_label("SHA256", sec, 32, "iv", NULL, 0, out, 12) == 0);
	CHECK(same(out, 12, "5d313eb2671276ee13000b30"));
	unhex("b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21", sec);
	CHECK(tls13_expand_label("SHA256", sec, 32, "key", NULL, 0, out, 16) == 0);
	CHECK(same(out, 16, "dbfaa693d1762c5b666af5d950258d01"));
	CHECK(tls13_expand_label("SHA256", sec, 32, "iv", NULL, 0, out, 12) == 0);
	CHECK(same(out, 12, "5bd3c71b836e0b76bb73265f"));
	unhex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643", sec);
	CHECK(tls13_expand_label("SHA256", sec, 32, "key", NULL, 0, out, 16) == 0);
	CHECK(same(out, 16, "9f02283b6c9c07efc26bb9f2ac92e356"));
	CHECK(tls13_expand_label("SHA256", sec, 32, "iv", NULL, 0, out, 12) == 0);
	CHECK(same(out, 12, "cf782b88dd83549aadf1e984"));
	unhex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5", sec);
	CHECK(tls13_expand_label("SHA256", sec, 32, "key", NULL, 0, out, 16) == 0);
	CHECK(same(out, 16, "17422dda596ed5d9acd890e3c63f5051"));
	/* A label too long for HkdfLabel is refused, not truncated. */
	CHECK(
	    tls13_expand_label("SHA256", sec, 32,
	        "0123456789012345678901234567890123456789012345678901234567890123456789012345678901"
	        "2345678901234567890123456789012345678901234567890123456789012345678901234567890123"
	        "4567890123456789012345678901234567890123456789012345678901234567890123456789012301"
	        "23456789",
	        NULL, 0, out, 16) < 0);
}

static void
test_keylog(void)
{
	struct keylog *kl = keylog_new();
	const char *text =
	    "# a comment\n"
	    "\n"
	    "CLIENT_RANDOM 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaa"
	    "aaaaaa\r\n"
	    "SERVER_HANDSHAKE_TRAFFIC_SECRET "
	    "FF0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F "
	    "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38\n"
	    "EXPORTER_SECRET ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
	    "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38\n"
	    "CLIENT_RANDOM 0001 aa\n" /* random too short */
	    "CLIENT_RANDOM zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f aa\n"
	    "NOT_A_LABEL 00 11\n" /* unknown label */
	    "CLIENT_TRAFFIC_SECRET_0 "
	    "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    " 0011\n"; /* secret of a length no suite has */
	uint8_t r1[32], r2[32];
	const struct keylog_entry *e;

	keylog_add_text(kl, "test", text, strlen(text));
	CHECK_EQ_U(keylog_count(kl), 2);
	CHECK_EQ_U(keylog_bad_lines(kl), 4);
	CHECK_STR(keylog_first_bad(kl), "test line 6");
	unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", r1);
	unhex("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", r2);
	e = keylog_find(kl, r1);
	CHECK(e != NULL && e->len[KEYLOG_MASTER] == 48 && e->secret[KEYLOG_MASTER][47] == 0xaa);
	CHECK(e != NULL && e->len[KEYLOG_SERVER_HS] == 0);
	e = keylog_find(kl, r2);
	CHECK(
	    e != NULL && e->len[KEYLOG_SERVER_HS] == 32 && e->secret[KEYLOG_SERVER_HS][0] == 0xb6);
	CHECK(e != NULL && e->len[KEYLOG_CLIENT_APP_0] == 0);
	r2[31] ^= 1;
	CHECK(keylog_find(kl, r2) == NULL);
	keylog_free(kl);
}

static void
test_names(void)
{
	char b[16];
	struct tls_rec r = {0};

	CHECK_STR(tls_version_name(0x0304, b, sizeof(b)), "TLS 1.3");
	CHECK_STR(tls_version_name(0x7f1c, b, sizeof(b)), "0x7f1c");
	CHECK_STR(tls_cipher_name(0xc02f, b, sizeof(b)), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
	CHECK_STR(tls_cipher_name(0x00ff, b, sizeof(b)), "0x00ff");
	r.type = 22;
	r.hs_types = 1u << 2 | 1u << 11 | 1u << 14;
	{
		char l[128];
		tls_rec_label(&r, l, sizeof(l));
		CHECK_STR(l, "ServerHello, Certificate, ServerHelloDone");
		r.type = 21;
		r.alert[0] = 1;
		tls_rec_label(&r, l, sizeof(l));
		CHECK_STR(l, "Alert (close_notify)");
	}
}

int
main(void)
{
	test_prf();
	test_rfc8448();
	test_keylog();
	test_names();
	return tl_done();
}
