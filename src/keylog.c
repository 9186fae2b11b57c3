/* keylog.c - NSS key log lines and pcapng Decryption Secrets Blocks -> secrets per client random. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "keylog.h"
#include "util.h"

struct keylog {
	GHashTable *by_random; /* GBytes (client random) -> struct keylog_entry * */
	uint64_t bad_lines;
	char *first_bad;
};

static const struct {
	const char *label;
	enum keylog_secret which;
} labels[] = {
    {"CLIENT_RANDOM", KEYLOG_MASTER},
    {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", KEYLOG_CLIENT_HS},
    {"SERVER_HANDSHAKE_TRAFFIC_SECRET", KEYLOG_SERVER_HS},
    {"CLIENT_TRAFFIC_SECRET_0", KEYLOG_CLIENT_APP_0},
    {"SERVER_TRAFFIC_SECRET_0", KEYLOG_SERVER_APP_0},
};

/* Labels of the format that popflow has no use for: valid lines, skipped. */
static const char *const unused_labels[] = {
    "RSA",
    "CLIENT_EARLY_TRAFFIC_SECRET",
    "EARLY_EXPORTER_SECRET",
    "EXPORTER_SECRET",
    "PMS_CLIENT_RANDOM",
};

static void
entry_free(gpointer p)
{
	/* Secrets do not linger in freed memory. */
	memset(p, 0, sizeof(struct keylog_entry));
	g_free(p);
}

struct keylog *
keylog_new(void)
{
	struct keylog *kl = g_new0(struct keylog, 1);

	kl->by_random = g_hash_table_new_full(
	    g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, entry_free);
	return kl;
}

void
keylog_free(struct keylog *kl)
{
	if (kl == NULL)
		return;
	g_hash_table_destroy(kl->by_random);
	g_free(kl->first_bad);
	g_free(kl);
}

/* Hex digits -> bytes; returns the byte count, or -1 (odd length, not hex, too long). */
static int
unhex(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t i;

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (i = 0; i < n; i += 2) {
		int hi = g_ascii_xdigit_value(s[i]), lo = g_ascii_xdigit_value(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

/* Splits a line into up to 4 space-separated fields; returns how many. */
static int
fields(const char *line, size_t n, const char **f, size_t *fl)
{
	size_t i = 0;
	int k = 0;

	while (i < n && k < 4) {
		while (i < n && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == n)
			break;
		f[k] = line + i;
		while (i < n && line[i] != ' ' && line[i] != '\t')
			i++;
		fl[k] = (size_t)(line + i - f[k]);
		k++;
	}
	return k;
}

static void
bad_line(struct keylog *kl, const char *source, uint64_t lineno)
{
	kl->bad_lines++;
	if (kl->first_bad == NULL)
		kl->first_bad = g_strdup_printf("%s line %llu", source, (unsigned long long)lineno);
}

/* One line; returns false when it does not parse. */
static bool
add_line(struct keylog *kl, const char *line, size_t n)
{
	const char *f[4];
	size_t fl[4], i;
	int k = fields(line, n, f, fl), which = -1, len;
	uint8_t random[KEYLOG_RANDOM_LEN], secret[KEYLOG_MAX_SECRET];
	struct keylog_entry *e;
	GBytes *key;

	if (k == 0 || f[0][0] == '#')
		return true;
	for (i = 0; i < G_N_ELEMENTS(unused_labels); i++)
		if (fl[0] == strlen(unused_labels[i]) && memcmp(f[0], unused_labels[i], fl[0]) == 0)
			return k == 3;
	for (i = 0; i < G_N_ELEMENTS(labels); i++)
		if (fl[0] == strlen(labels[i].label) && memcmp(f[0], labels[i].label, fl[0]) == 0)
			which = (int)labels[i].which;
	if (which < 0 || k != 3)
		return false;
	if (unhex(f[1], fl[1], random, sizeof(random)) != KEYLOG_RANDOM_LEN)
		return false;
	len = unhex(f[2], fl[2], secret, sizeof(secret));
	/* RFC 5246 section 8.1: 48 bytes; TLS 1.3 secrets: the suite's hash length. */
	if (which == KEYLOG_MASTER ? len != 48 : (len != 32 && len != 48))
		return false;
	key = g_bytes_new(random, sizeof(random));
	e = g_hash_table_lookup(kl->by_random, key);
	if (e == NULL) {
		if (g_hash_table_size(kl->by_random) >= KEYLOG_MAX_ENTRIES) {
			g_bytes_unref(key);
			return false;
		}
		e = g_new0(struct keylog_entry, 1);
		memcpy(e->random, random, sizeof(random));
		g_hash_table_insert(kl->by_random, key, e);
	} else {
		g_bytes_unref(key);
	}
	memcpy(e->secret[which], secret, (size_t)len);
	e->len[which] = (uint8_t)len;
	memset(secret, 0, sizeof(secret));
	return true;
}

void
keylog_add_text(struct keylog *kl, const char *source, const char *text, size_t len)
{
	size_t i = 0, n;
	uint64_t lineno = 0;
	const char *nl;

	while (i < len) {
		nl = memchr(text + i, '\n', len - i);
		n = nl != NULL ? (size_t)(nl - (text + i)) : len - i;
		lineno++;
		if (n > 0 && text[i + n - 1] == '\r')
			n--;
		if (n > KEYLOG_MAX_LINE || !add_line(kl, text + i, n))
			bad_line(kl, source, lineno);
		i += (nl != NULL ? (size_t)(nl - (text + i)) + 1 : len - i);
	}
}

int
keylog_load_file(struct keylog *kl, const char *path, char *errbuf)
{
	char *text = NULL;
	size_t len = 0;

	if (util_read_file(path, &text, &len, errbuf) < 0)
		return -1; /* "PATH: reason" */
	keylog_add_text(kl, path, text, len);
	memset(text, 0, len);
	g_free(text);
	return 0;
}

/* ---- pcapng (draft-ietf-opsawg-pcapng): a bounded walk over the blocks ---- */

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_DSB 0x0000000Au
#define PCAPNG_BOM 0x1A2B3C4Du
#define PCAPNG_SECRETS_TLS 0x544c534bu /* "TLSK": an NSS key log */
#define PCAPNG_OPT_COMMENT 1

static uint32_t
get32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? GUINT32_SWAP_LE_BE(v) : v;
}

static uint16_t
get16(const uint8_t *p, bool swap)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return swap ? GUINT16_SWAP_LE_BE(v) : v;
}

/* SHB options: comments holding key log lines (how some captures carry their keys). */
static void
shb_comments(struct keylog *kl, const char *path, const uint8_t *b, size_t n, bool swap)
{
	size_t i = 16; /* after BOM, versions and section length */
	uint16_t code, len;
	struct keylog *tmp;

	while (i + 4 <= n) {
		code = get16(b + i, swap);
		len = get16(b + i + 2, swap);
		i += 4;
		if (code == 0 || i + len > n)
			break;
		/* Only a comment that is a key log: any other comment is text for people. */
		if (code == PCAPNG_OPT_COMMENT) {
			tmp = keylog_new();
			keylog_add_text(tmp, path, (const char *)b + i, len);
			if (tmp->bad_lines == 0 && keylog_count(tmp) > 0)
				keylog_add_text(kl, path, (const char *)b + i, len);
			keylog_free(tmp);
		}
		i += ((size_t)len + 3) & ~(size_t)3;
	}
}

int
keylog_load_pcapng(struct keylog *kl, const char *path, char *errbuf)
{
	FILE *f;
	struct stat st;
	uint8_t hdr[12];
	uint8_t *body;
	uint32_t type, blen, stype, slen;
	bool swap = false, have_shb = false;
	int found = 0, ret = 0;
	uint64_t pos = 0;

	if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	f = fopen(path, "rb");
	if (f == NULL)
		return 0; /* the capture reader says why */
	while (fread(hdr, 1, 12, f) == 12) {
		memcpy(&type, hdr, 4);
		if (type == PCAPNG_SHB) {
			uint32_t bom;
			memcpy(&bom, hdr + 8, 4);
			if (bom != PCAPNG_BOM && bom != GUINT32_SWAP_LE_BE(PCAPNG_BOM))
				break;
			swap = bom != PCAPNG_BOM;
			have_shb = true;
		} else if (!have_shb) {
			break; /* not pcapng (pcap, compressed...): nothing to look for */
		}
		type = get32(hdr, swap);
		blen = get32(hdr + 4, swap);
		if (blen < 12 || blen % 4 != 0 || (uint64_t)blen > (uint64_t)st.st_size - pos) {
			snprintf(errbuf, ERRBUF_SIZE,
			    "%s: pcapng block of %u bytes at offset %llu is damaged; key blocks "
			    "after "
			    "it were not read",
			    path, blen, (unsigned long long)pos);
			ret = -1;
			break;
		}
		if ((type == PCAPNG_DSB || type == PCAPNG_SHB) && blen - 8 <= KEYLOG_MAX_DSB) {
			/* The body after the 8-byte header, with the trailing length. */
			body = g_malloc(blen - 8);
			memcpy(body, hdr + 8, 4);
			if (fread(body + 4, 1, blen - 12, f) != blen - 12) {
				g_free(body);
				break;
			}
			if (type == PCAPNG_SHB) {
				shb_comments(kl, path, body, blen - 12, swap);
			} else if (blen >= 20) {
				stype = get32(body, swap);
				slen = get32(body + 4, swap);
				if (stype == PCAPNG_SECRETS_TLS && slen <= blen - 20) {
					keylog_add_text(kl, path, (const char *)body + 8, slen);
					found++;
				}
			}
			memset(body, 0, blen - 8);
			g_free(body);
		} else if (fseeko(f, (off_t)blen - 12, SEEK_CUR) != 0) {
			break;
		}
		pos += blen;
	}
	fclose(f);
	return ret < 0 ? ret : found;
}

const struct keylog_entry *
keylog_find(const struct keylog *kl, const uint8_t *client_random)
{
	GBytes *key;
	const struct keylog_entry *e;

	if (kl == NULL)
		return NULL;
	key = g_bytes_new_static(client_random, KEYLOG_RANDOM_LEN);
	e = g_hash_table_lookup(kl->by_random, key);
	g_bytes_unref(key);
	return e;
}

size_t
keylog_count(const struct keylog *kl)
{
	return kl != NULL ? g_hash_table_size(kl->by_random) : 0;
}

uint64_t
keylog_bad_lines(const struct keylog *kl)
{
	return kl != NULL ? kl->bad_lines : 0;
}

const char *
keylog_first_bad(const struct keylog *kl)
{
	return kl != NULL ? kl->first_bad : NULL;
}
