/* test_util.c - util.c: the key hash and the Community ID against published test vectors, and safe text. */
#include <arpa/inet.h>
#include <glib.h>
#include <string.h>

#include "testlib.h"
#include "util.h"

static void
test_hash_bytes(void)
{
	/* Two connection keys (40 bytes) that differ in one bit anywhere hash apart. */
	uint8_t a[40] = {0}, b[40];
	size_t i;
	unsigned same = 0;

	CHECK_EQ_U(util_hash_bytes(a, sizeof(a)), util_hash_bytes(a, sizeof(a)));
	for (i = 0; i < sizeof(a) * 8; i++) {
		memcpy(b, a, sizeof(a));
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
		same += util_hash_bytes(a, sizeof(a)) == util_hash_bytes(b, sizeof(b));
	}
	CHECK_EQ_U(same, 0);
	/* Every byte counts, NUL included, in the tail of fewer than 8 as well. */
	CHECK(util_hash_bytes("ab\0", 3) != util_hash_bytes("ab", 2));
	CHECK(util_hash_bytes("12345678a", 9) != util_hash_bytes("12345678b", 9));
	CHECK(util_hash_bytes("", 0) != util_hash_bytes("\0", 1));
	/* The low bits (GHashTable's bucket index) spread: 4096 keys in 64 buckets. */
	{
		unsigned bucket[64] = {0}, max = 0;
		uint32_t k[10] = {0};
		for (i = 0; i < 4096; i++) {
			k[4] = (uint32_t)i; /* as a port or an address's last word */
			bucket[util_hash_bytes(k, sizeof(k)) % 64]++;
		}
		for (i = 0; i < 64; i++)
			max = bucket[i] > max ? bucket[i] : max;
		CHECK(max < 64 * 2); /* the mean is 64 */
	}
}

static void
test_printable(void)
{
	GString *s = g_string_new(NULL);

	util_append_printable(s, "+OK\r\n\x01\xff", 7);
	CHECK_STR(s->str, "+OK<cr><nl><0x01><0xff>");
	g_string_free(s, TRUE);
}

static struct endpoint
ep(const char *ip, uint16_t port)
{
	struct endpoint e;

	memset(&e, 0, sizeof(e));
	e.port = port;
	if (inet_pton(AF_INET, ip, e.ip.bytes) == 1) {
		e.ip.family = 4;
	} else {
		CHECK(inet_pton(AF_INET6, ip, e.ip.bytes) == 1);
		e.ip.family = 6;
	}
	return e;
}

static void
cid(const char *sa, uint16_t sp, const char *da, uint16_t dp, uint16_t seed, const char *want)
{
	struct endpoint a = ep(sa, sp), b = ep(da, dp);
	char buf[UTIL_COMMUNITY_ID_LEN];

	util_community_id(&a, &b, seed, buf, sizeof(buf));
	CHECK_STR(buf, want);
	util_community_id(&b, &a, seed, buf, sizeof(buf)); /* either way round */
	CHECK_STR(buf, want);
}

static void
test_community_id(void)
{
	/*
	 * The TCP flows of the Community ID spec's baseline (corelight/community-id-spec,
	 * baseline/baseline_deflt.json and baseline_seed1.json), IPv4 and IPv6.
	 */
	cid("128.232.110.120", 34855, "66.35.250.204", 80, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	cid("2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, "2607:f8b0:400c:c03::1a", 25, 0,
	    "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=");
	cid("128.232.110.120", 34855, "66.35.250.204", 80, 1, "1:3V71V58M3Ksw/yuFALMcW0LAHvc=");
	cid("2001:470:e5bf:dead:4957:2174:e82c:4887", 63943, "2607:f8b0:400c:c03::1a", 25, 1,
	    "1:eJYTW6AOzFLlSUoESovMjnu7rMw=");
}

/* Times and flags as JSON -v writes them (straight into its line, by the length returned). */
static void
test_ts_flags(void)
{
	struct ts t = {1700000000, 1230};
	struct ts bad = {1700000000, -5};
	char buf[UTIL_TS_LEN], small[12];

	CHECK_EQ_U(util_ts_iso(t, buf, sizeof(buf)), 27);
	CHECK_STR(buf, "2023-11-14T22:13:20.001230Z");
	t.usec = 999999; /* the same second: the date and time of day kept */
	CHECK_EQ_U(util_ts_iso(t, buf, sizeof(buf)), 27);
	CHECK_STR(buf, "2023-11-14T22:13:20.999999Z");
	t.sec++;
	t.usec = 0;
	util_ts_human(t, buf, sizeof(buf)); /* another separator, same second */
	CHECK_STR(buf, "2023-11-14 22:13:21.000000 UTC");
	CHECK_EQ_U(util_ts_iso(t, buf, sizeof(buf)), 27);
	CHECK_STR(buf, "2023-11-14T22:13:21.000000Z");
	CHECK_EQ_U(util_ts_iso(t, small, sizeof(small)), 11); /* cut, as snprintf would */
	CHECK_STR(small, "2023-11-14T");
	util_ts_iso(bad, buf, sizeof(buf)); /* microseconds out of range: printed as they are */
	CHECK_STR(buf, "2023-11-14T22:13:20.-00005Z");

	CHECK_EQ_U(util_flags(TH_PSH | TH_ACK, buf, sizeof(buf)), 8);
	CHECK_STR(buf, "PSH, ACK");
	CHECK_EQ_U(util_flags(0, buf, sizeof(buf)), 4);
	CHECK_STR(buf, "none");
	CHECK_EQ_U(util_flags(0xff, buf, sizeof(buf)), 38);
	CHECK_STR(buf, "FIN, SYN, RST, PSH, ACK, URG, ECE, CWR");
	CHECK_EQ_U(util_flags(TH_SYN | TH_ACK, small, 6), 5);
	CHECK_STR(small, "SYN, ");
}

int
main(void)
{
	test_hash_bytes();
	test_ts_flags();
	test_community_id();
	test_printable();
	return tl_done();
}
