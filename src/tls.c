/*
 * tls.c - TLS records, handshake messages and record protection
 * (RFC 5246, RFC 8446, RFC 7905, RFC 7366) over one connection's in-order
 * stream.  All cryptography is OpenSSL libcrypto's (EVP ciphers, EVP_KDF
 * TLS1-PRF and HKDF, HMAC); no secret is ever printed.
 */
#include <stdarg.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "session.h"
#include "tls.h"
#include "util.h"

/* Handshake message types (RFC 8446 section 4, RFC 5246 section 7.4). */
#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define HS_ENCRYPTED_EXTENSIONS 8
#define HS_FINISHED 20
#define HS_KEY_UPDATE 24
/* Extensions. */
#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
#define EXT_ENCRYPT_THEN_MAC 22
#define EXT_EXTENDED_MASTER_SECRET 23
#define EXT_SUPPORTED_VERSIONS 43

#define TLS_TAG_LEN 16
#define TLS_MAX_PLAIN (TLS_MAX_RECORD + 256)

enum prot { P_GCM, P_CHACHA, P_CBC };

struct suite {
	uint16_t id;
	const char *name;
	enum prot prot;
	uint8_t key_len;
	const char *mac; /* CBC: HMAC digest */
	uint8_t mac_len;
	const char *hash; /* TLS 1.2 PRF / TLS 1.3 HKDF digest */
	bool tls13;
};

static const struct suite suites[] = {
    {0x1301, "TLS_AES_128_GCM_SHA256", P_GCM, 16, NULL, 0, "SHA256", true},
    {0x1302, "TLS_AES_256_GCM_SHA384", P_GCM, 32, NULL, 0, "SHA384", true},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", P_CHACHA, 32, NULL, 0, "SHA256", true},
    {0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", P_GCM, 16, NULL, 0, "SHA256", false},
    {0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", P_GCM, 32, NULL, 0, "SHA384", false},
    {0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", P_GCM, 16, NULL, 0, "SHA256", false},
    {0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", P_GCM, 32, NULL, 0, "SHA384", false},
    {0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", P_GCM, 16, NULL, 0, "SHA256", false},
    {0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", P_GCM, 32, NULL, 0, "SHA384", false},
    {0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", P_GCM, 16, NULL, 0, "SHA256", false},
    {0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", P_GCM, 32, NULL, 0, "SHA384", false},
    {0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", P_CHACHA, 32, NULL, 0, "SHA256", false},
    {0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", P_CHACHA, 32, NULL, 0, "SHA256",
        false},
    {0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", P_CHACHA, 32, NULL, 0, "SHA256", false},
    {0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", P_CBC, 16, "SHA1", 20, "SHA256", false},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", P_CBC, 32, "SHA1", 20, "SHA256", false},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", P_CBC, 16, "SHA1", 20, "SHA256", false},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", P_CBC, 32, "SHA1", 20, "SHA256", false},
    {0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", P_CBC, 16, "SHA1", 20, "SHA256", false},
    {0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", P_CBC, 32, "SHA1", 20, "SHA256", false},
    {0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", P_CBC, 16, "SHA1", 20, "SHA256", false},
    {0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", P_CBC, 32, "SHA1", 20, "SHA256", false},
    {0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", P_CBC, 16, "SHA256", 32, "SHA256", false},
    {0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", P_CBC, 32, "SHA256", 32, "SHA256", false},
    {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", P_CBC, 16, "SHA256", 32, "SHA256", false},
    {0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", P_CBC, 32, "SHA256", 32, "SHA256", false},
    {0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", P_CBC, 16, "SHA256", 32, "SHA256", false},
    {0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", P_CBC, 32, "SHA384", 48, "SHA384", false},
    {0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", P_CBC, 16, "SHA256", 32, "SHA256", false},
    {0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", P_CBC, 32, "SHA384", 48, "SHA384", false},
};

/* RFC 8446 section 4.1.3: the ServerHello.random of a HelloRetryRequest. */
static const uint8_t hrr_random[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d,
    0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e,
    0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

/* One direction's record protection. */
struct cipher {
	const struct suite *su;
	uint16_t version;
	EVP_CIPHER_CTX *ctx;
	uint8_t key[32], iv[16], mac_key[48];
	uint64_t seq;
	uint8_t secret[KEYLOG_MAX_SECRET]; /* TLS 1.3 traffic secret (KeyUpdate) */
	size_t secret_len;
	bool etm;
	bool app; /* TLS 1.3: application traffic keys (else handshake keys) */
};

/* A decrypted (or lost) record's place in both offset spaces. */
struct pmap {
	uint64_t pstart, plen;        /* plaintext range */
	uint64_t cstart, cdata, cend; /* record start, its first content byte, record end */
};

/* A handshake message being put together from records. */
struct hsbuf {
	uint8_t hdr[4];
	size_t hdr_have;
	uint32_t need, got;
	GByteArray *body;
};

struct tdir {
	uint8_t hdr[TLS_RECORD_HEADER];
	size_t hdr_have;
	GByteArray *rec; /* body of the record in progress */
	uint32_t need;
	uint64_t rec_off; /* stream offset of the record's first header byte */
	uint64_t pos;     /* next stream offset expected */
	bool started, dead;
	bool enc;                  /* records are protected from here on */
	struct cipher *cur;        /* NULL: not decryptable */
	struct cipher *pend;       /* TLS 1.2: keys that the next ChangeCipherSpec puts in use */
	bool finished, key_update; /* TLS 1.3: switch after this record */
	uint64_t poff;             /* next plaintext offset */
	GArray *map;               /* struct pmap */
	struct hsbuf hs;
	bool warned_fail, warned_fail_more;
	uint64_t tls13_app_seq_tries;
};

struct tls_conn {
	struct session *s;
	const struct keylog *kl;
	const struct tls_sink *sink;
	void *arg;
	struct tls_info info;
	struct tdir d[2];
	uint8_t client_random[32], server_random[32];
	bool have_client_random, have_server_random;
	const struct suite *su;
	uint16_t version;
	bool tls13;
	const struct keylog_entry *keys;
	bool warned_nokey, warned_unsupported;
	char *alpn_offered;
	uint8_t *scratch;      /* TLS_MAX_PLAIN + 64 bytes */
	uint32_t cur_hs_types; /* handshake types seen in the record being read */
};

/* ---- names ---- */

const char *
tls_version_name(uint16_t v, char *buf, size_t len)
{
	switch (v) {
	case 0x0300:
		return "SSL 3.0";
	case 0x0301:
		return "TLS 1.0";
	case 0x0302:
		return "TLS 1.1";
	case 0x0303:
		return "TLS 1.2";
	case 0x0304:
		return "TLS 1.3";
	default:
		snprintf(buf, len, "0x%04x", v);
		return buf;
	}
}

static const struct suite *
suite_find(uint16_t id)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(suites); i++)
		if (suites[i].id == id)
			return &suites[i];
	return NULL;
}

const char *
tls_cipher_name(uint16_t id, char *buf, size_t len)
{
	const struct suite *su = suite_find(id);

	if (su != NULL)
		return su->name;
	snprintf(buf, len, "0x%04x", id);
	return buf;
}

const char *
tls_hs_name(unsigned type)
{
	switch (type) {
	case 0:
		return "HelloRequest";
	case 1:
		return "ClientHello";
	case 2:
		return "ServerHello";
	case 4:
		return "NewSessionTicket";
	case 5:
		return "EndOfEarlyData";
	case 8:
		return "EncryptedExtensions";
	case 11:
		return "Certificate";
	case 12:
		return "ServerKeyExchange";
	case 13:
		return "CertificateRequest";
	case 14:
		return "ServerHelloDone";
	case 15:
		return "CertificateVerify";
	case 16:
		return "ClientKeyExchange";
	case 20:
		return "Finished";
	case 22:
		return "CertificateStatus";
	case 24:
		return "KeyUpdate";
	case 31: /* the bit for "some type above 30" */
		return "other handshake";
	default:
		return "handshake";
	}
}

static const char *
alert_name(uint8_t desc)
{
	switch (desc) {
	case 0:
		return "close_notify";
	case 10:
		return "unexpected_message";
	case 20:
		return "bad_record_mac";
	case 40:
		return "handshake_failure";
	case 42:
		return "bad_certificate";
	case 46:
		return "certificate_unknown";
	case 48:
		return "unknown_ca";
	case 50:
		return "decode_error";
	case 51:
		return "decrypt_error";
	case 70:
		return "protocol_version";
	case 71:
		return "insufficient_security";
	case 80:
		return "internal_error";
	case 90:
		return "user_canceled";
	case 100:
		return "no_renegotiation";
	case 109:
		return "missing_extension";
	case 112:
		return "unrecognized_name";
	case 116:
		return "certificate_required";
	case 120:
		return "no_application_protocol";
	default:
		return "alert";
	}
}

void
tls_rec_label(const struct tls_rec *r, char *buf, size_t len)
{
	GString *g = g_string_new(NULL);
	uint8_t type = r->inner != 0 ? r->inner : r->type;
	unsigned i;

	if (r->encrypted && r->inner == 0) {
		g_string_append(
		    g, type == TLS_CT_HANDSHAKE ? "encrypted handshake" : "encrypted record");
	} else if (type == TLS_CT_CCS) {
		g_string_append(g, "ChangeCipherSpec");
	} else if (type == TLS_CT_ALERT) {
		g_string_append_printf(
		    g, "Alert (%s%s)", r->alert[0] == 2 ? "fatal: " : "", alert_name(r->alert[1]));
	} else if (type == TLS_CT_HANDSHAKE) {
		for (i = 0; i < 32; i++)
			if (r->hs_types & (1u << i))
				g_string_append_printf(
				    g, "%s%s", g->len > 0 ? ", " : "", tls_hs_name(i));
		if (g->len == 0)
			g_string_append(g, "handshake (continued)");
	} else if (type == TLS_CT_APPDATA) {
		g_string_append(g, "application data");
	} else {
		g_string_append_printf(g, "record type %u", type);
	}
	snprintf(buf, len, "%s", g->str);
	g_string_free(g, TRUE);
}

bool
tls_info_label(const struct tls_info *t, enum dir d, uint64_t from, uint64_t to, bool *handshake,
    char *buf, size_t len)
{
	GString *g = g_string_new(NULL);
	char one[160];
	guint i, n = 0;
	bool found;

	*handshake = false;
	for (i = 0; t != NULL && t->recs != NULL && i < t->recs->len; i++) {
		const struct tls_rec *r = &g_array_index(t->recs, struct tls_rec, i);
		uint8_t type = r->inner != 0 ? r->inner : r->type;
		if (r->dir != d || r->end <= from || r->off >= to)
			continue;
		if (type == TLS_CT_HANDSHAKE || type == TLS_CT_CCS)
			*handshake = true;
		if (++n > 4)
			continue;
		tls_rec_label(r, one, sizeof(one));
		g_string_append_printf(g, "%s%s", g->len > 0 ? "; " : "", n == 4 ? "..." : one);
	}
	found = n > 0;
	snprintf(buf, len, "%s", g->str);
	g_string_free(g, TRUE);
	return found;
}

/* ---- key derivations ---- */

int
tls_prf(const char *md, const uint8_t *secret, size_t secret_len, const char *label,
    const uint8_t *seed, size_t seed_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *kctx;
	OSSL_PARAM params[5], *p = params;
	size_t llen = strlen(label);
	uint8_t *s;
	int ret = -1;

	if (kdf == NULL)
		return -1;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return -1;
	/* RFC 5246 section 5: PRF(secret, label, seed) = P_<hash>(secret, label + seed). */
	s = g_malloc(llen + seed_len + 1);
	memcpy(s, label, llen);
	memcpy(s + llen, seed, seed_len);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, secret_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, s, llen + seed_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) > 0)
		ret = 0;
	EVP_KDF_CTX_free(kctx);
	g_free(s);
	return ret;
}

int
tls13_expand_label(const char *md, const uint8_t *secret, size_t secret_len, const char *label,
    const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	OSSL_PARAM params[5], *p = params;
	uint8_t info[2 + 1 + 255 + 1 + 255];
	size_t llen = strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, ret = -1;

	if (6 + llen > 255 || ctx_len > 255 || out_len > 0xffff)
		return -1;
	/* RFC 8446 section 7.1: struct HkdfLabel { length; "tls13 " + label; context }. */
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(6 + llen);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, llen);
	n += llen;
	info[n++] = (uint8_t)ctx_len;
	if (ctx_len > 0)
		memcpy(info + n, ctx, ctx_len);
	n += ctx_len;
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf == NULL)
		return -1;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (kctx == NULL)
		return -1;
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) > 0)
		ret = 0;
	EVP_KDF_CTX_free(kctx);
	OPENSSL_cleanse(info, sizeof(info));
	return ret;
}

static const EVP_CIPHER *
evp_cipher(const struct suite *su)
{
	switch (su->prot) {
	case P_GCM:
		return su->key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
	case P_CHACHA:
		return EVP_chacha20_poly1305();
	case P_CBC:
		return su->key_len == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
	}
	return NULL;
}

static void
cipher_free(struct cipher *k)
{
	if (k == NULL)
		return;
	EVP_CIPHER_CTX_free(k->ctx);
	OPENSSL_cleanse(k, sizeof(*k));
	g_free(k);
}

static struct cipher *
cipher_new(const struct suite *su, uint16_t version)
{
	struct cipher *k = g_new0(struct cipher, 1);

	k->su = su;
	k->version = version;
	k->ctx = EVP_CIPHER_CTX_new();
	return k;
}

/* TLS 1.3 (RFC 8446 section 7.3): key and iv from a traffic secret. */
static int
cipher_set_secret13(struct cipher *k, const uint8_t *secret, size_t len)
{
	if (len > sizeof(k->secret))
		return -1;
	memcpy(k->secret, secret, len);
	k->secret_len = len;
	k->seq = 0;
	if (tls13_expand_label(k->su->hash, secret, len, "key", NULL, 0, k->key, k->su->key_len) <
	        0 ||
	    tls13_expand_label(k->su->hash, secret, len, "iv", NULL, 0, k->iv, 12) < 0)
		return -1;
	return 0;
}

/* RFC 8446 section 7.2: application_traffic_secret_N+1. */
static int
cipher_key_update(struct cipher *k)
{
	uint8_t next[KEYLOG_MAX_SECRET];
	int r;

	if (tls13_expand_label(k->su->hash, k->secret, k->secret_len, "traffic upd", NULL, 0, next,
	        k->secret_len) < 0)
		return -1;
	r = cipher_set_secret13(k, next, k->secret_len);
	OPENSSL_cleanse(next, sizeof(next));
	return r;
}

static void
put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* AEAD open: 1 verified (out holds ct_len bytes), 0 not verified. */
static int
aead_open(struct cipher *k, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
    const uint8_t *ct, size_t ct_len, const uint8_t *tag, uint8_t *out)
{
	EVP_CIPHER_CTX *c = k->ctx;
	int outl, ok;

	if (EVP_DecryptInit_ex(c, evp_cipher(k->su), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_DecryptInit_ex(c, NULL, NULL, k->key, nonce) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &outl, aad, (int)aad_len) != 1)
		return 0;
	if (ct_len > 0 && EVP_DecryptUpdate(c, out, &outl, ct, (int)ct_len) != 1)
		return 0;
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TLS_TAG_LEN, (void *)tag) != 1)
		return 0;
	ok = EVP_DecryptFinal_ex(c, out + ct_len, &outl);
	return ok > 0;
}

static bool
hmac_ok(struct cipher *k, uint8_t *scratch, const uint8_t hdr[5], const uint8_t *data, size_t len,
    const uint8_t *mac)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdl = 0;

	/* RFC 5246 section 6.2.3.1: MAC(seq_num + type + version + length + content). */
	put64(scratch, k->seq);
	scratch[8] = hdr[0];
	scratch[9] = hdr[1];
	scratch[10] = hdr[2];
	scratch[11] = (uint8_t)(len >> 8);
	scratch[12] = (uint8_t)len;
	memcpy(scratch + 13, data, len);
	if (HMAC(EVP_get_digestbyname(k->su->mac), k->mac_key, k->su->mac_len, scratch, 13 + len,
	        md, &mdl) == NULL ||
	    mdl != k->su->mac_len)
		return false;
	return CRYPTO_memcmp(md, mac, mdl) == 0;
}

static bool
cbc_decrypt(struct cipher *k, const uint8_t *iv, const uint8_t *ct, size_t n, uint8_t *out)
{
	int outl;

	return EVP_DecryptInit_ex(k->ctx, evp_cipher(k->su), NULL, k->key, iv) == 1 &&
	    EVP_CIPHER_CTX_set_padding(k->ctx, 0) == 1 &&
	    EVP_DecryptUpdate(k->ctx, out, &outl, ct, (int)n) == 1 && (size_t)outl == n;
}

/*
 * Removes a record's protection.  Returns the plaintext length (content
 * only) in out, its content type in *type, and the offset in the body of
 * its first byte in *data_at; -1 if it does not verify.
 */
static int
record_open(struct tls_conn *c, struct cipher *k, const uint8_t hdr[5], const uint8_t *body,
    size_t n, uint8_t *out, uint8_t *type, size_t *data_at)
{
	uint8_t nonce[12], aad[13];
	size_t i, ct_len, pad, mlen = k->su->mac_len, ivlen;
	uint8_t *mac_scratch = c->scratch + TLS_MAX_PLAIN;

	*type = hdr[0];
	*data_at = 0;
	if (k->su->prot != P_CBC) {
		if (k->version == 0x0304) {
			/* RFC 8446 section 5.3 and 5.2: nonce = iv ^ seq, AAD = the record header. */
			if (n < TLS_TAG_LEN + 1)
				return -1;
			memcpy(nonce, k->iv, 12);
			for (i = 0; i < 8; i++)
				nonce[4 + i] ^= (uint8_t)(k->seq >> (56 - 8 * i));
			ct_len = n - TLS_TAG_LEN;
			if (!aead_open(k, nonce, hdr, 5, body, ct_len, body + ct_len, out))
				return -1;
			/* The inner content type: the last non-zero byte. */
			while (ct_len > 0 && out[ct_len - 1] == 0)
				ct_len--;
			if (ct_len == 0)
				return -1;
			*type = out[ct_len - 1];
			return (int)(ct_len - 1);
		}
		if (k->su->prot == P_GCM) {
			/* RFC 5288 section 3: nonce = salt(4) + explicit(8) sent in the record. */
			if (n < 8 + TLS_TAG_LEN)
				return -1;
			memcpy(nonce, k->iv, 4);
			memcpy(nonce + 4, body, 8);
			*data_at = 8;
		} else {
			/* RFC 7905 section 2: nonce = iv ^ seq. */
			if (n < TLS_TAG_LEN)
				return -1;
			memcpy(nonce, k->iv, 12);
			for (i = 0; i < 8; i++)
				nonce[4 + i] ^= (uint8_t)(k->seq >> (56 - 8 * i));
		}
		ct_len = n - *data_at - TLS_TAG_LEN;
		/* RFC 5246 section 6.2.3.3: AAD = seq_num + type + version + length. */
		put64(aad, k->seq);
		aad[8] = hdr[0];
		aad[9] = hdr[1];
		aad[10] = hdr[2];
		aad[11] = (uint8_t)(ct_len >> 8);
		aad[12] = (uint8_t)ct_len;
		if (!aead_open(
		        k, nonce, aad, 13, body + *data_at, ct_len, body + n - TLS_TAG_LEN, out))
			return -1;
		return (int)ct_len;
	}
	/* CBC: TLS 1.1+ send the IV before each record; TLS 1.0 chains it (RFC 4346 6.2.3.2). */
	ivlen = k->version >= 0x0302 ? 16 : 0;
	*data_at = ivlen;
	if (k->etm) {
		/* RFC 7366: MAC over the IV and ciphertext, checked before decrypting. */
		if (n < ivlen + 16 + mlen || (n - ivlen - mlen) % 16 != 0)
			return -1;
		if (!hmac_ok(k, mac_scratch, hdr, body, n - mlen, body + n - mlen))
			return -1;
		ct_len = n - ivlen - mlen;
		if (!cbc_decrypt(k, ivlen > 0 ? body : k->iv, body + ivlen, ct_len, out))
			return -1;
		if (ivlen == 0)
			memcpy(k->iv, body + ct_len - 16, 16);
		pad = out[ct_len - 1];
		if (pad + 1 > ct_len)
			return -1;
		for (i = 0; i <= pad; i++)
			if (out[ct_len - 1 - i] != pad)
				return -1;
		return (int)(ct_len - pad - 1);
	}
	if (n < ivlen + 16 || (n - ivlen) % 16 != 0)
		return -1;
	ct_len = n - ivlen;
	if (!cbc_decrypt(k, ivlen > 0 ? body : k->iv, body + ivlen, ct_len, out))
		return -1;
	if (ivlen == 0)
		memcpy(k->iv, body + ct_len - 16, 16);
	pad = out[ct_len - 1];
	if (pad + 1 + mlen > ct_len)
		return -1;
	for (i = 0; i <= pad; i++)
		if (out[ct_len - 1 - i] != pad)
			return -1;
	ct_len -= pad + 1 + mlen;
	if (!hmac_ok(k, mac_scratch, hdr, out, ct_len, out + ct_len))
		return -1;
	return (int)ct_len;
}

/* ---- the connection ---- */

struct tls_conn *
tls_conn_new(struct session *s, const struct keylog *kl, const struct tls_sink *sink, void *arg)
{
	struct tls_conn *c = g_new0(struct tls_conn, 1);
	int d;

	c->s = s;
	c->kl = kl;
	c->sink = sink;
	c->arg = arg;
	c->info.recs = g_array_new(FALSE, FALSE, sizeof(struct tls_rec));
	c->scratch = g_malloc(TLS_MAX_PLAIN + 64 + TLS_MAX_PLAIN);
	for (d = 0; d < 2; d++) {
		c->d[d].rec = g_byte_array_new();
		c->d[d].map = g_array_new(FALSE, FALSE, sizeof(struct pmap));
		c->d[d].hs.body = g_byte_array_new();
		c->d[d].poff = SESSION_PLAIN_BASE;
	}
	return c;
}

void
tls_conn_free(struct tls_conn *c)
{
	int d;

	if (c == NULL)
		return;
	for (d = 0; d < 2; d++) {
		g_byte_array_free(c->d[d].rec, TRUE);
		g_array_free(c->d[d].map, TRUE);
		g_byte_array_free(c->d[d].hs.body, TRUE);
		cipher_free(c->d[d].cur);
		cipher_free(c->d[d].pend);
	}
	g_array_free(c->info.recs, TRUE);
	g_free(c->info.sni);
	g_free(c->info.alpn);
	g_free(c->alpn_offered);
	OPENSSL_cleanse(c->scratch, TLS_MAX_PLAIN + 64 + TLS_MAX_PLAIN);
	g_free(c->scratch);
	g_free(c);
}

const struct tls_info *
tls_conn_info(const struct tls_conn *c)
{
	return &c->info;
}

/* A printable copy of a name from the wire. */
static char *
clean_name(const uint8_t *b, size_t n)
{
	GString *g = g_string_new(NULL);

	util_append_printable(g, (const char *)b, n < TLS_MAX_NAME ? n : TLS_MAX_NAME);
	return g_string_free(g, FALSE);
}

/* A bounded reader over a handshake message. */
struct rd {
	const uint8_t *p, *end;
	bool bad;
};

/* A reader over n bytes at b; b may be NULL when n is 0 (no arithmetic on NULL). */
static struct rd
rd_of(const uint8_t *b, size_t n)
{
	struct rd r = {b, b != NULL ? b + n : b, false};

	return r;
}

static unsigned
rd_u(struct rd *r, int bytes)
{
	unsigned v = 0;
	int i;

	if (r->bad || r->end - r->p < bytes) {
		r->bad = true;
		return 0;
	}
	for (i = 0; i < bytes; i++)
		v = v << 8 | *r->p++;
	return v;
}

static const uint8_t *
rd_take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	return p;
}

/*
 * The vector that comes next in r (its length in lenbytes bytes, as TLS
 * writes them, RFC 8446 section 3.4) as a reader of its own, r past it; bad
 * if it does not fit.  Lengths are compared, no pointer is made past r.
 */
static struct rd
rd_vec(struct rd *r, int lenbytes)
{
	size_t n = rd_u(r, lenbytes);
	const uint8_t *p = rd_take(r, n);
	struct rd v = rd_of(p, p != NULL ? n : 0);

	v.bad = r->bad;
	return v;
}

/* ALPN ProtocolNameList (RFC 7301 section 3.1) -> "a,b". */
static char *
alpn_list(const uint8_t *b, size_t n)
{
	struct rd r = rd_of(b, n);
	GString *g = g_string_new(NULL);
	unsigned len;
	const uint8_t *name;
	char *s;

	rd_u(&r, 2);
	while (!r.bad && r.p < r.end && g->len < TLS_MAX_NAME) {
		len = rd_u(&r, 1);
		name = rd_take(&r, len);
		if (name == NULL)
			break;
		s = clean_name(name, len);
		g_string_append_printf(g, "%s%s", g->len > 0 ? "," : "", s);
		g_free(s);
	}
	if (g->len == 0) {
		g_string_free(g, TRUE);
		return NULL;
	}
	return g_string_free(g, FALSE);
}

static void anomaly(struct tls_conn *c, enum anom kind, enum dir d, uint64_t off, const char *fmt,
    ...) G_GNUC_PRINTF(5, 6);

static void
anomaly(struct tls_conn *c, enum anom kind, enum dir d, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	session_anomaly(c->s, kind, d, off, NULL, "%s", s);
	g_free(s);
}

static void
client_hello(struct tls_conn *c, const uint8_t *b, size_t n)
{
	struct rd r = rd_of(b, n), e;
	const uint8_t *random, *ext;
	unsigned type, len, nlen;

	rd_u(&r, 2);
	random = rd_take(&r, 32);
	rd_take(&r, rd_u(&r, 1)); /* session id */
	rd_take(&r, rd_u(&r, 2)); /* cipher suites */
	rd_take(&r, rd_u(&r, 1)); /* compression */
	if (random == NULL)
		return;
	memcpy(c->client_random, random, 32);
	c->have_client_random = true;
	if (r.p == r.end)
		return;
	e = rd_vec(&r, 2);
	while (!e.bad && e.p < e.end) {
		type = rd_u(&e, 2);
		len = rd_u(&e, 2);
		ext = rd_take(&e, len);
		if (ext == NULL)
			break;
		if (type == EXT_SERVER_NAME && c->info.sni == NULL) {
			/* RFC 6066 section 3: list length, type 0 (host_name), name. */
			struct rd x = {ext, ext + len, false};
			rd_u(&x, 2);
			if (rd_u(&x, 1) == 0) {
				nlen = rd_u(&x, 2);
				const uint8_t *name = rd_take(&x, nlen);
				if (name != NULL)
					c->info.sni = clean_name(name, nlen);
			}
		} else if (type == EXT_ALPN) {
			g_free(c->alpn_offered);
			c->alpn_offered = alpn_list(ext, len);
		}
	}
}

/* Keys for the handshake just agreed: TLS 1.2 key block, or TLS 1.3 handshake secrets. */
static void
setup_keys(struct tls_conn *c, bool etm)
{
	const struct keylog_entry *e;
	uint8_t seed[64], block[2 * 48 + 2 * 32 + 2 * 16];
	size_t mlen, klen, ivlen, o = 0;
	const char *prf;
	int d;

	e = c->have_client_random ? keylog_find(c->kl, c->client_random) : NULL;
	c->keys = e;
	if (e == NULL) {
		if (keylog_count(c->kl) > 0 && !c->warned_nokey) {
			c->warned_nokey = true;
			anomaly(c, ANOM_TLS_NO_KEY, DIR_TO_CLIENT, c->d[DIR_TO_CLIENT].rec_off,
			    "the key log holds no secrets for this connection's client random: "
			    "not decrypted");
		}
		return;
	}
	if (c->su == NULL) {
		if (!c->warned_unsupported) {
			char b[16];
			c->warned_unsupported = true;
			anomaly(c, ANOM_TLS_UNSUPPORTED, DIR_TO_CLIENT, c->d[DIR_TO_CLIENT].rec_off,
			    "cipher suite %s is not one popflow decrypts",
			    tls_cipher_name(c->info.cipher, b, sizeof(b)));
		}
		return;
	}
	if (c->tls13) {
		if (!c->su->tls13)
			return;
		for (d = 0; d < 2; d++) {
			enum keylog_secret w =
			    d == DIR_TO_SERVER ? KEYLOG_CLIENT_HS : KEYLOG_SERVER_HS;
			cipher_free(c->d[d].cur);
			c->d[d].cur = NULL;
			if (e->len[w] == 0)
				continue;
			c->d[d].cur = cipher_new(c->su, 0x0304);
			if (cipher_set_secret13(c->d[d].cur, e->secret[w], e->len[w]) < 0) {
				cipher_free(c->d[d].cur);
				c->d[d].cur = NULL;
			}
		}
		c->info.keys = c->d[0].cur != NULL || c->d[1].cur != NULL ||
		    e->len[KEYLOG_CLIENT_APP_0] > 0 || e->len[KEYLOG_SERVER_APP_0] > 0;
		return;
	}
	if (c->su->tls13 || e->len[KEYLOG_MASTER] == 0 || !c->have_server_random)
		return;
	/* RFC 5246 section 6.3: key_block = PRF(master, "key expansion", server + client random). */
	memcpy(seed, c->server_random, 32);
	memcpy(seed + 32, c->client_random, 32);
	mlen = c->su->mac_len;
	klen = c->su->key_len;
	ivlen = c->su->prot == P_GCM ? 4 : c->su->prot == P_CHACHA ? 12 : 16;
	prf = c->version >= 0x0303 ? c->su->hash : "MD5-SHA1";
	if (tls_prf(prf, e->secret[KEYLOG_MASTER], 48, "key expansion", seed, 64, block,
	        2 * (mlen + klen + ivlen)) < 0)
		return;
	for (d = 0; d < 2; d++) {
		cipher_free(c->d[d].pend);
		c->d[d].pend = cipher_new(c->su, c->version);
		c->d[d].pend->etm = etm && c->su->prot == P_CBC;
	}
	/* client_write_MAC, server_write_MAC, client_write_key, server_write_key, IVs. */
	memcpy(c->d[DIR_TO_SERVER].pend->mac_key, block + o, mlen);
	o += mlen;
	memcpy(c->d[DIR_TO_CLIENT].pend->mac_key, block + o, mlen);
	o += mlen;
	memcpy(c->d[DIR_TO_SERVER].pend->key, block + o, klen);
	o += klen;
	memcpy(c->d[DIR_TO_CLIENT].pend->key, block + o, klen);
	o += klen;
	memcpy(c->d[DIR_TO_SERVER].pend->iv, block + o, ivlen);
	o += ivlen;
	memcpy(c->d[DIR_TO_CLIENT].pend->iv, block + o, ivlen);
	OPENSSL_cleanse(block, sizeof(block));
	c->info.keys = true;
}

static void
server_hello(struct tls_conn *c, const uint8_t *b, size_t n)
{
	struct rd r = rd_of(b, n), e;
	const uint8_t *random, *ext;
	unsigned version, suite, type, len;
	bool etm = false, ems = false;
	char *alpn = NULL;

	version = rd_u(&r, 2);
	random = rd_take(&r, 32);
	rd_take(&r, rd_u(&r, 1));
	suite = rd_u(&r, 2);
	rd_u(&r, 1);
	if (random == NULL || r.bad) {
		anomaly(c, ANOM_TLS_MALFORMED, DIR_TO_CLIENT, c->d[DIR_TO_CLIENT].rec_off,
		    "a ServerHello too short to parse");
		return;
	}
	if (r.p < r.end) {
		e = rd_vec(&r, 2);
		while (!e.bad && e.p < e.end) {
			type = rd_u(&e, 2);
			len = rd_u(&e, 2);
			ext = rd_take(&e, len);
			if (ext == NULL)
				break;
			if (type == EXT_SUPPORTED_VERSIONS && len == 2)
				version =
				    (unsigned)ext[0] << 8 | ext[1]; /* RFC 8446 section 4.2.1 */
			else if (type == EXT_ENCRYPT_THEN_MAC)
				etm = true;
			else if (type == EXT_EXTENDED_MASTER_SECRET)
				ems = true;
			else if (type == EXT_ALPN) {
				g_free(alpn);
				alpn = alpn_list(ext, len);
			}
		}
	}
	if (memcmp(random, hrr_random, 32) == 0) {
		c->info.hello_retry =
		    true; /* RFC 8446 section 4.1.4: a second ClientHello follows */
		g_free(alpn);
		return;
	}
	memcpy(c->server_random, random, 32);
	c->have_server_random = true;
	c->version = (uint16_t)version;
	c->tls13 = version == 0x0304;
	c->info.version = (uint16_t)version;
	c->info.cipher = (uint16_t)suite;
	c->info.encrypt_then_mac = etm;
	c->info.extended_master_secret = ems;
	c->info.handshakes++;
	if (alpn != NULL) {
		g_free(c->info.alpn);
		c->info.alpn = alpn;
	}
	c->su = suite_find((uint16_t)suite);
	if (c->su != NULL && c->su->tls13 != c->tls13)
		c->su = NULL;
	setup_keys(c, etm);
}

static void
hs_message(struct tls_conn *c, enum dir d, unsigned type, const uint8_t *b, size_t n, bool whole)
{
	c->cur_hs_types |= 1u << (type < 31 ? type : 31);
	switch (type) {
	case HS_CLIENT_HELLO:
		if (d == DIR_TO_SERVER && whole)
			client_hello(c, b, n);
		break;
	case HS_SERVER_HELLO:
		if (d == DIR_TO_CLIENT && whole)
			server_hello(c, b, n);
		break;
	case HS_ENCRYPTED_EXTENSIONS: {
		/* TLS 1.3: the server's ALPN choice travels here (RFC 8446 section 4.3.1). */
		struct rd r = rd_of(b, n), e;
		unsigned t, len;
		const uint8_t *ext;
		if (!whole)
			break;
		e = rd_vec(&r, 2);
		while (!e.bad && e.p < e.end) {
			t = rd_u(&e, 2);
			len = rd_u(&e, 2);
			ext = rd_take(&e, len);
			if (ext != NULL && t == EXT_ALPN) {
				g_free(c->info.alpn);
				c->info.alpn = alpn_list(ext, len);
			}
		}
		break;
	}
	case HS_FINISHED:
		if (c->tls13)
			c->d[d].finished = true;
		break;
	case HS_KEY_UPDATE:
		if (c->tls13)
			c->d[d].key_update = true;
		break;
	default:
		break;
	}
}

/* Handshake bytes of direction d (plaintext or decrypted), split into messages. */
static void
hs_feed(struct tls_conn *c, enum dir d, const uint8_t *b, size_t n)
{
	struct hsbuf *h = &c->d[d].hs;
	size_t take;

	while (n > 0) {
		if (h->hdr_have < 4) {
			h->hdr[h->hdr_have++] = *b++;
			n--;
			if (h->hdr_have == 4) {
				h->need = (uint32_t)h->hdr[1] << 16 | (uint32_t)h->hdr[2] << 8 |
				    h->hdr[3];
				h->got = 0;
				g_byte_array_set_size(h->body, 0);
			} else {
				continue;
			}
		} else {
			take = h->need - h->got < n ? h->need - h->got : n;
			if (h->body->len + take <= TLS_MAX_HS_KEEP)
				g_byte_array_append(h->body, b, (guint)take);
			h->got += (uint32_t)take;
			b += take;
			n -= take;
		}
		if (h->got == h->need) {
			hs_message(
			    c, d, h->hdr[0], h->body->data, h->body->len, h->body->len == h->need);
			h->hdr_have = 0;
		}
	}
}

static void
keep_rec(struct tls_conn *c, enum dir d, uint8_t type, uint8_t inner, bool encrypted,
    const uint8_t *plain, size_t plen, uint64_t off, uint64_t end)
{
	struct tls_rec r;

	if ((inner != 0 ? inner : type) == TLS_CT_APPDATA)
		return;
	if (c->info.recs->len >= TLS_MAX_RECS) {
		c->info.recs_dropped++;
		return;
	}
	memset(&r, 0, sizeof(r));
	r.dir = (uint8_t)d;
	r.type = type;
	r.inner = inner;
	r.encrypted = encrypted;
	r.hs_types = c->cur_hs_types;
	if ((inner != 0 ? inner : type) == TLS_CT_ALERT && plain != NULL && plen >= 2) {
		r.alert[0] = plain[0];
		r.alert[1] = plain[1];
	}
	r.off = off;
	r.end = end;
	g_array_append_val(c->info.recs, r);
}

static void
add_map(
    struct tls_conn *c, enum dir d, uint64_t plen, uint64_t cstart, uint64_t cdata, uint64_t cend)
{
	struct tdir *t = &c->d[d];
	struct pmap m = {t->poff, plen, cstart, cdata, cend};

	if (t->map->len < TLS_MAX_MAP)
		g_array_append_val(t->map, m);
	t->poff += plen;
}

static void
decrypt_failed(struct tls_conn *c, enum dir d, uint64_t off, size_t n)
{
	struct tdir *t = &c->d[d];
	uint64_t p = t->poff;

	c->info.failed[d]++;
	if (!t->warned_fail) {
		t->warned_fail = true;
		anomaly(c, ANOM_TLS_DECRYPT_FAILED, d, off,
		    "a %zu-byte TLS record from the %s does not verify (wrong key, or altered "
		    "bytes): not decrypted",
		    n, d == DIR_TO_SERVER ? "client" : "server");
	}
	/* Its content is lost to the dissector, which resynchronises after it. */
	add_map(c, d, n, off, off + TLS_RECORD_HEADER, off + TLS_RECORD_HEADER + n);
	if (c->sink->plain_gap != NULL)
		c->sink->plain_gap(c->arg, d, p, n);
	c->sink->opaque(c->arg, d, off, TLS_RECORD_HEADER + n);
}

/* TLS 1.3: application traffic keys for direction d. */
static struct cipher *
app_cipher13(struct tls_conn *c, enum dir d)
{
	enum keylog_secret w = d == DIR_TO_SERVER ? KEYLOG_CLIENT_APP_0 : KEYLOG_SERVER_APP_0;
	struct cipher *k;

	if (c->keys == NULL || c->su == NULL || c->keys->len[w] == 0)
		return NULL;
	k = cipher_new(c->su, 0x0304);
	k->app = true;
	if (cipher_set_secret13(k, c->keys->secret[w], c->keys->len[w]) < 0) {
		cipher_free(k);
		return NULL;
	}
	return k;
}

/* One whole record of direction d. */
static void
record(struct tls_conn *c, enum dir d, const uint8_t *hdr, const uint8_t *body, size_t n)
{
	struct tdir *t = &c->d[d];
	uint64_t off = t->rec_off, end = off + TLS_RECORD_HEADER + n;
	uint8_t type = hdr[0], inner;
	uint8_t *out = c->scratch;
	size_t data_at;
	int plen;
	struct cipher *alt;

	c->info.records[d]++;
	c->cur_hs_types = 0;
	t->finished = t->key_update = false;
	/* TLS 1.3 protects records as application_data; TLS 1.2 everything after CCS. */
	if (c->tls13 ? type != TLS_CT_APPDATA : !t->enc) {
		if (type == TLS_CT_HANDSHAKE)
			hs_feed(c, d, body, n);
		if (type == TLS_CT_CCS && !c->tls13) {
			/* RFC 5246 section 7.1: the pending keys take over in this direction. */
			t->enc = true;
			cipher_free(t->cur);
			t->cur = t->pend;
			t->pend = NULL;
		}
		keep_rec(c, d, type, 0, false, body, n, off, end);
		c->sink->opaque(c->arg, d, off, end - off);
		return;
	}
	t->enc = true;
	if (c->tls13 && t->cur == NULL && c->keys != NULL) {
		/* A key log without handshake secrets: try the application keys. */
		t->cur = app_cipher13(c, d);
	}
	if (t->cur == NULL) {
		keep_rec(c, d, type, 0, true, NULL, 0, off, end);
		c->sink->opaque(c->arg, d, off, end - off);
		return;
	}
	plen = record_open(c, t->cur, hdr, body, n, out, &inner, &data_at);
	if (plen < 0 && c->tls13 && !t->cur->app && (alt = app_cipher13(c, d)) != NULL) {
		/* The handshake ended without a Finished popflow saw: application keys. */
		plen = record_open(c, alt, hdr, body, n, out, &inner, &data_at);
		if (plen >= 0) {
			cipher_free(t->cur);
			t->cur = alt;
		} else {
			cipher_free(alt);
		}
	}
	if (plen < 0) {
		t->cur->seq++;
		decrypt_failed(c, d, off, n);
		return;
	}
	t->cur->seq++;
	if (inner == TLS_CT_APPDATA) {
		uint64_t p = t->poff;
		add_map(c, d, (uint64_t)plen, off, off + TLS_RECORD_HEADER + data_at, end);
		c->info.app_records[d]++;
		c->info.bytes[d] += (uint64_t)plen;
		c->info.decrypted = true;
		if (plen > 0)
			c->sink->plain(c->arg, d, out, (size_t)plen, p);
		return;
	}
	if (inner == TLS_CT_HANDSHAKE)
		hs_feed(c, d, out, (size_t)plen);
	keep_rec(c, d, type, inner, true, out, (size_t)plen, off, end);
	c->sink->opaque(c->arg, d, off, end - off);
	if (inner == TLS_CT_CCS && !c->tls13) {
		/* A renegotiation's ChangeCipherSpec, itself protected: the new keys take over. */
		cipher_free(t->cur);
		t->cur = t->pend;
		t->pend = NULL;
		return;
	}
	if (t->finished && c->tls13 && !t->cur->app) {
		/* RFC 8446 section 7.1: after Finished, the application traffic secret. */
		alt = app_cipher13(c, d);
		if (alt != NULL) {
			cipher_free(t->cur);
			t->cur = alt;
		}
	}
	if (t->key_update && c->tls13 && t->cur->app && cipher_key_update(t->cur) < 0) {
		cipher_free(t->cur);
		t->cur = NULL;
	}
}

static bool
plausible_header(const uint8_t *h)
{
	unsigned len = (unsigned)h[3] << 8 | h[4];

	/* RFC 8446 section 5.1 / RFC 5246 section 6.2.1: type 20..24, major version 3. */
	return h[0] >= TLS_CT_CCS && h[0] <= 24 && h[1] == 3 && len <= TLS_MAX_RECORD;
}

void
tls_conn_feed(struct tls_conn *c, enum dir d, const uint8_t *buf, size_t len, uint64_t off)
{
	struct tdir *t = &c->d[d];
	size_t take;

	if (!t->started) {
		t->started = true;
		t->pos = off;
	}
	if (off > t->pos)
		tls_conn_gap(c, d, t->pos, off - t->pos);
	if (off < t->pos) {
		if (t->pos - off >= len)
			return;
		buf += t->pos - off;
		len -= (size_t)(t->pos - off);
		off = t->pos;
	}
	t->pos = off + len;
	while (len > 0) {
		if (t->dead) {
			c->sink->opaque(c->arg, d, off, len);
			return;
		}
		if (t->hdr_have < TLS_RECORD_HEADER) {
			if (t->hdr_have == 0)
				t->rec_off = off;
			take = TLS_RECORD_HEADER - t->hdr_have < len
			    ? TLS_RECORD_HEADER - t->hdr_have
			    : len;
			memcpy(t->hdr + t->hdr_have, buf, take);
			t->hdr_have += take;
			buf += take;
			len -= take;
			off += take;
			if (t->hdr_have < TLS_RECORD_HEADER)
				return;
			if (!plausible_header(t->hdr)) {
				t->dead = true;
				if (c->info.keys)
					anomaly(c, ANOM_TLS_MALFORMED, d, t->rec_off,
					    "not a TLS record header at stream offset %llu: the "
					    "rest of "
					    "this "
					    "direction is not decrypted",
					    (unsigned long long)t->rec_off);
				c->sink->opaque(c->arg, d, t->rec_off, TLS_RECORD_HEADER);
				continue;
			}
			t->need = (uint32_t)t->hdr[3] << 8 | t->hdr[4];
			g_byte_array_set_size(t->rec, 0);
		}
		take = t->need - t->rec->len < len ? t->need - t->rec->len : len;
		g_byte_array_append(t->rec, buf, (guint)take);
		buf += take;
		len -= take;
		off += take;
		if (t->rec->len == t->need) {
			record(c, d, t->hdr, t->rec->data, t->rec->len);
			t->hdr_have = 0;
			g_byte_array_set_size(t->rec, 0);
		}
	}
}

/* The record in progress is given up: its bytes are opaque. */
static void
drop_partial(struct tls_conn *c, enum dir d)
{
	struct tdir *t = &c->d[d];

	if (t->hdr_have > 0)
		c->sink->opaque(c->arg, d, t->rec_off, t->hdr_have + t->rec->len);
	t->hdr_have = 0;
	g_byte_array_set_size(t->rec, 0);
}

void
tls_conn_gap(struct tls_conn *c, enum dir d, uint64_t off, uint64_t len)
{
	struct tdir *t = &c->d[d];

	if (!t->started || len == 0 || off + len <= t->pos)
		return;
	t->pos = off + len;
	if (t->dead)
		return;
	/*
	 * Record boundaries are lost: nothing after a gap can be followed (nor
	 * its sequence number).  Without keys, the gap anomaly says it all.
	 */
	if (!c->info.keys)
		;
	else if (t->hdr_have > 0)
		anomaly(c, ANOM_TLS_RECORD_CUT, d, t->rec_off,
		    "a TLS record from the %s is cut by missing bytes: the rest of this "
		    "direction is not decrypted",
		    d == DIR_TO_SERVER ? "client" : "server");
	else
		anomaly(c, ANOM_TLS_RECORD_CUT, d, off,
		    "bytes of the %s's TLS stream are missing: the rest of this direction is not "
		    "decrypted",
		    d == DIR_TO_SERVER ? "client" : "server");
	drop_partial(c, d);
	t->dead = true;
}

void
tls_conn_end(struct tls_conn *c)
{
	int d;
	struct tdir *t;

	for (d = 0; d < 2; d++) {
		t = &c->d[d];
		if (t->hdr_have > 0 && !t->dead && c->info.keys) {
			anomaly(c, ANOM_TLS_RECORD_CUT, (enum dir)d, t->rec_off,
			    "the connection ended inside a TLS record from the %s (%zu of %u "
			    "bytes)",
			    d == DIR_TO_SERVER ? "client" : "server",
			    t->hdr_have + (size_t)t->rec->len,
			    t->hdr_have == TLS_RECORD_HEADER ? TLS_RECORD_HEADER + t->need : 0);
		}
		drop_partial(c, (enum dir)d);
		if (c->info.failed[d] > 1)
			anomaly(c, ANOM_TLS_DECRYPT_FAILED, (enum dir)d, UINT64_MAX,
			    "%llu TLS records from the %s did not verify in all",
			    (unsigned long long)c->info.failed[d],
			    d == DIR_TO_SERVER ? "client" : "server");
	}
}

uint64_t
tls_conn_map(const struct tls_conn *c, enum dir d, uint64_t poff, bool end)
{
	const GArray *a = c->d[d].map;
	const struct pmap *m;
	guint lo = 0, hi, mid;
	uint64_t p;

	if (a->len == 0 || poff < SESSION_PLAIN_BASE)
		return poff;
	/* The record holding the byte (for an end: the last byte before it). */
	p = end && poff > SESSION_PLAIN_BASE ? poff - 1 : poff;
	hi = a->len;
	while (hi - lo > 1) {
		mid = (lo + hi) / 2;
		if (g_array_index(a, struct pmap, mid).pstart <= p)
			lo = mid;
		else
			hi = mid;
	}
	m = &g_array_index(a, struct pmap, lo);
	if (p >= m->pstart + m->plen && m->plen > 0)
		return m->cend; /* past the last record kept */
	if (!end)
		return poff == m->pstart ? m->cstart : m->cdata + (poff - m->pstart);
	if (poff == m->pstart)
		return m->cstart;
	return poff >= m->pstart + m->plen ? m->cend : m->cdata + (poff - m->pstart);
}
