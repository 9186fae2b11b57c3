/* util.c - formatting shared by the emitters (addresses, times, flags, safe text), and a hash. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void
util_addr(const struct addr *a, char *buf, size_t len)
{
	if (inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->bytes, buf, (socklen_t)len) == NULL)
		g_strlcpy(buf, "?", len);
}

void
util_endpoint(const struct endpoint *e, char *buf, size_t len)
{
	char a[UTIL_ADDR_LEN];

	util_addr(&e->ip, a, sizeof(a));
	if (e->ip.family == 6)
		g_snprintf(buf, len, "[%s]:%u", a, e->port);
	else
		g_snprintf(buf, len, "%s:%u", a, e->port);
}

static size_t
ts_format(struct ts t, char sep, const char *suffix, char *buf, size_t len)
{
	/* The date and time of day change once a second: kept for the last second formatted. */
	static _Thread_local int64_t last_sec = -1;
	static _Thread_local char last_sep, day[40];
	static _Thread_local size_t day_len;
	struct tm tm;
	time_t sec = (time_t)t.sec;
	size_t slen = strlen(suffix);
	char *p;
	int i;
	uint32_t us = (uint32_t)t.usec;

	if ((int64_t)t.sec != last_sec || sep != last_sep || t.sec < 0) {
		if (gmtime_r(&sec, &tm) == NULL) {
			g_strlcpy(buf, "?", len);
			return strlen(buf);
		}
		g_snprintf(day, sizeof(day), "%04d-%02d-%02d%c%02d:%02d:%02d", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, sep, tm.tm_hour, tm.tm_min, tm.tm_sec);
		day_len = strlen(day);
		last_sec = t.sec < 0 ? -1 : (int64_t)t.sec;
		last_sep = sep;
	}
	if ((int64_t)t.usec < 0 || t.usec > 999999) {
		g_snprintf(buf, len, "%s.%06d%s", day, (int)t.usec, suffix);
		return strlen(buf);
	}
	if (len < day_len + 7 + slen + 1) { /* too small: cut as snprintf would */
		char full[64];
		ts_format(t, sep, suffix, full, sizeof(full));
		g_strlcpy(buf, full, len);
		return strlen(buf);
	}
	/* the date and time of day, then ".uuuuuu" and the suffix, digits by hand */
	memcpy(buf, day, day_len);
	p = buf + day_len;
	p[0] = '.';
	for (i = 6; i >= 1; i--) {
		p[i] = (char)('0' + us % 10);
		us /= 10;
	}
	memcpy(p + 7, suffix, slen + 1);
	return day_len + 7 + slen;
}

/* Local time (TZ): "2026-11-27 11:00:00.123456", with zone " +0100" after it. */
static void
ts_format_local(struct ts t, bool zone, char *buf, size_t len)
{
	struct tm tm;
	time_t sec = (time_t)t.sec;
	char z[16] = "";

	if (localtime_r(&sec, &tm) == NULL) {
		g_strlcpy(buf, "?", len);
		return;
	}
	if (zone) /* the offset from UTC, as strftime's %z writes it */
		strftime(z, sizeof(z), " %z", &tm);
	g_snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%06d%s", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)t.usec, z);
}

void
util_ts_local(struct ts t, char *buf, size_t len)
{
	ts_format_local(t, true, buf, len);
}

void
util_ts_date(struct ts t, bool local, char *buf, size_t len)
{
	if (local)
		ts_format_local(t, false, buf, len);
	else
		ts_format(t, ' ', "", buf, len);
}

void
util_ts_epoch(struct ts t, char *buf, size_t len)
{
	util_us_secs(t.sec * 1000000 + t.usec, buf, len);
}

void
util_us_secs(int64_t us, char *buf, size_t len)
{
	uint64_t a = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;

	g_snprintf(buf, len, "%s%" G_GUINT64_FORMAT ".%06u", us < 0 ? "-" : "", a / 1000000,
	    (unsigned)(a % 1000000));
}

size_t
util_ts_iso(struct ts t, char *buf, size_t len)
{
	return ts_format(t, 'T', "Z", buf, len);
}

void
util_ts_human(struct ts t, char *buf, size_t len)
{
	ts_format(t, ' ', " UTC", buf, len);
}

size_t
util_flags(uint8_t flags, char *buf, size_t len)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} order[] = {
	    {TH_FIN, "FIN"},
	    {TH_SYN, "SYN"},
	    {TH_RST, "RST"},
	    {TH_PSH, "PSH"},
	    {TH_ACK, "ACK"},
	    {TH_URG, "URG"},
	    {TH_ECE, "ECE"},
	    {TH_CWR, "CWR"},
	};
	char all[G_N_ELEMENTS(order) * 5]; /* "FIN, SYN, ..., CWR" and the NUL */
	size_t i, n = 0;

	for (i = 0; i < G_N_ELEMENTS(order); i++) {
		if (!(flags & order[i].bit))
			continue;
		if (n > 0) {
			all[n++] = ',';
			all[n++] = ' ';
		}
		memcpy(all + n, order[i].name, 3);
		n += 3;
	}
	if (n == 0) {
		memcpy(all, "none", 4);
		n = 4;
	}
	all[n] = '\0';
	if (n < len) {
		memcpy(buf, all, n + 1);
		return n;
	}
	g_strlcpy(buf, all, len);
	return len > 0 ? len - 1 : 0;
}

void
util_append_printable(GString *out, const char *s, size_t n)
{
	size_t i = 0;
	gunichar c;
	const char *next;

	while (i < n) {
		unsigned char b = (unsigned char)s[i];
		if (b == '\r') {
			g_string_append(out, "<cr>");
			i++;
		} else if (b == '\n') {
			g_string_append(out, "<nl>");
			i++;
		} else if (b == '\t') {
			g_string_append_c(out, '\t');
			i++;
		} else if (b < 0x20 || b == 0x7f) {
			g_string_append_printf(out, "<0x%02x>", b);
			i++;
		} else if (b < 0x80) {
			g_string_append_c(out, (char)b);
			i++;
		} else {
			c = g_utf8_get_char_validated(s + i, (gssize)(n - i));
			if (c == (gunichar)-1 || c == (gunichar)-2 || !g_unichar_isprint(c)) {
				g_string_append_printf(out, "<0x%02x>", b);
				i++;
			} else if (c == 0x2028 || c == 0x2029) {
				/* LINE and PARAGRAPH SEPARATOR break lines (JavaScript, Java, editors). */
				g_string_append_printf(out, "<U+%04X>", (unsigned)c);
				i += 3;
			} else {
				next = g_utf8_next_char(s + i);
				g_string_append_len(out, s + i, next - (s + i));
				i = (size_t)(next - s);
			}
		}
	}
}

GString *
util_utf8(const char *s, size_t n)
{
	GString *out = g_string_sized_new(n);
	size_t i = 0;
	gunichar c;
	const char *next;

	while (i < n) {
		unsigned char b = (unsigned char)s[i];
		if (b < 0x80) {
			g_string_append_c(out, (char)b);
			i++;
			continue;
		}
		c = g_utf8_get_char_validated(s + i, (gssize)(n - i));
		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append(out, "\xef\xbf\xbd"); /* U+FFFD */
			i++;
		} else {
			next = g_utf8_next_char(s + i);
			g_string_append_len(out, s + i, next - (s + i));
			i = (size_t)(next - s);
		}
	}
	return out;
}

bool
util_next_line(const GByteArray *data, size_t *pos, const char **line, size_t *len)
{
	const char *d = (const char *)data->data;
	size_t i = *pos, b;

	if (i >= data->len)
		return false;
	for (b = i; b < data->len && d[b] != '\n'; b++)
		;
	*line = d + i;
	*len = b - i;
	if (b<data->len && * len> 0 && d[b - 1] == '\r')
		(*len)--;
	*pos = b < data->len ? b + 1 : b;
	return true;
}

/*
 * A hash of n bytes taken 8 at a time (multiply and fold, as in
 * splitmix64's finaliser): a connection key of 40 bytes costs five
 * multiplications, not the 40 of a byte-wise hash; it is looked up for every
 * segment.
 */
uint32_t
util_hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0x9e3779b97f4a7c15u ^ n, w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9u;
		h ^= h >> 31;
	}
	if (i < n) {
		w = 0;
		memcpy(&w, b + i, n - i);
		h = (h ^ w) * 0xbf58476d1ce4e5b9u;
		h ^= h >> 31;
	}
	h = (h ^ (h >> 29)) * 0x94d049bb133111ebu;
	return (uint32_t)(h ^ (h >> 32));
}

void
util_write_error(char *errbuf)
{
	g_strlcpy(errbuf, errno != 0 ? g_strerror(errno) : "write error", ERRBUF_SIZE);
}

void
util_path_error(char *buf, size_t len, const char *what, const char *path, const char *reason)
{
	const char *sep = what != NULL ? ": " : "";
	size_t fixed, plen = strlen(path), room, head;

	if (what == NULL)
		what = "";
	fixed = strlen(what) + strlen(sep) + strlen(reason) + 2;
	if (len == 0)
		return;
	if (fixed + plen < len || fixed + 8 >= len) {
		snprintf(buf, len, "%s%s%s: %s", what, sep, path, reason);
		return;
	}
	/* The path loses its middle: its start (the directory) and end (the name) stay. */
	room = len - 1 - fixed - 3;
	head = room / 2;
	snprintf(buf, len, "%s%s%.*s...%s: %s", what, sep, (int)head, path,
	    path + plen - (room - head), reason);
}

int
util_read_file(const char *path, char **data, size_t *len, char *errbuf)
{
	FILE *f = fopen(path, "rb");
	GByteArray *b;
	guint8 buf[65536];
	size_t n;
	int err;

	if (f == NULL) {
		util_path_error(errbuf, ERRBUF_SIZE, NULL, path, g_strerror(errno));
		return -1;
	}
	b = g_byte_array_new();
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		g_byte_array_append(b, buf, (guint)n);
	err = ferror(f) ? errno : 0;
	fclose(f);
	if (err != 0) {
		util_path_error(errbuf, ERRBUF_SIZE, NULL, path, g_strerror(err));
		g_byte_array_free(b, TRUE);
		return -1;
	}
	*len = b->len;
	g_byte_array_append(b, (const guint8 *)"", 1);
	*data = (char *)g_byte_array_free(b, FALSE);
	return 0;
}

int
util_outfile_open(struct util_outfile *o, const char *path, char *errbuf)
{
	struct stat st;
	char *dir, *base;
	mode_t mask;
	int fd;

	memset(o, 0, sizeof(*o));
	o->path = g_strdup(path);
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		o->f = fopen(path, "w");
		if (o->f == NULL)
			goto fail;
		return 0;
	}
	dir = g_path_get_dirname(path);
	base = g_path_get_basename(path);
	o->tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
	g_free(dir);
	g_free(base);
	fd = mkstemp(o->tmp);
	if (fd < 0)
		goto fail;
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0 || (o->f = fdopen(fd, "w")) == NULL) {
		int e = errno;
		close(fd);
		unlink(o->tmp);
		errno = e;
		goto fail;
	}
	return 0;
fail:
	snprintf(errbuf, ERRBUF_SIZE, "%s: %s", path, g_strerror(errno));
	g_free(o->tmp);
	g_free(o->path);
	memset(o, 0, sizeof(*o));
	return -1;
}

int
util_outfile_close(struct util_outfile *o, bool keep, char *errbuf)
{
	int rc = 0, e = 0;

	if (o->f != NULL && fclose(o->f) != 0) {
		e = errno;
		keep = false;
	}
	o->f = NULL;
	if (o->tmp != NULL) {
		if (keep && rename(o->tmp, o->path) < 0) {
			e = errno;
			keep = false;
		}
		if (!keep)
			unlink(o->tmp);
	}
	if (e != 0) {
		snprintf(errbuf, ERRBUF_SIZE, "%s: %s", o->path, g_strerror(e));
		rc = -1;
	}
	g_free(o->tmp);
	g_free(o->path);
	memset(o, 0, sizeof(*o));
	return rc;
}

void
util_community_id(
    const struct endpoint *a, const struct endpoint *b, uint16_t seed, char *buf, size_t len)
{
	const struct endpoint *lo = a, *hi = b;
	size_t alen = a->ip.family == 6 ? 16 : 4;
	uint8_t in[2 + 16 + 16 + 2 + 4], digest[20];
	gsize dlen = sizeof(digest), n = 0;
	GChecksum *sha;
	gchar *b64;
	int c;

	/* The smaller address first; with equal addresses, the smaller port. */
	c = memcmp(a->ip.bytes, b->ip.bytes, alen);
	if (c > 0 || (c == 0 && a->port > b->port)) {
		lo = b;
		hi = a;
	}
	in[n++] = (uint8_t)(seed >> 8);
	in[n++] = (uint8_t)seed;
	memcpy(in + n, lo->ip.bytes, alen);
	n += alen;
	memcpy(in + n, hi->ip.bytes, alen);
	n += alen;
	in[n++] = 6; /* TCP */
	in[n++] = 0; /* padding */
	in[n++] = (uint8_t)(lo->port >> 8);
	in[n++] = (uint8_t)lo->port;
	in[n++] = (uint8_t)(hi->port >> 8);
	in[n++] = (uint8_t)hi->port;
	sha = g_checksum_new(G_CHECKSUM_SHA1);
	g_checksum_update(sha, in, n);
	g_checksum_get_digest(sha, digest, &dlen);
	g_checksum_free(sha);
	b64 = g_base64_encode(digest, dlen);
	g_snprintf(buf, len, "1:%s", b64);
	g_free(b64);
}
