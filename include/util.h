/* util.h - formatting shared by the emitters (addresses, times, flags, safe text), and a hash. */
#ifndef UTIL_H
#define UTIL_H

#include <stdio.h>

#include <glib.h>

#include "popflow.h"

#define UTIL_ADDR_LEN 64
#define UTIL_TS_LEN 40

/* "192.0.2.1" or "2001:db8::1". */
void util_addr(const struct addr *a, char *buf, size_t len);
/* "192.0.2.1:110" or "[2001:db8::1]:110". */
void util_endpoint(const struct endpoint *e, char *buf, size_t len);
/* ISO 8601 UTC with microseconds: "2026-11-27T10:00:00.123456Z"; returns its length. */
size_t util_ts_iso(struct ts t, char *buf, size_t len);
/* "2026-11-27 10:00:00.123456 UTC". */
void util_ts_human(struct ts t, char *buf, size_t len);
/* "2026-11-27 11:00:00.123456 +0100": local time (TZ), with its offset from UTC. */
void util_ts_local(struct ts t, char *buf, size_t len);
/* The date and time alone ("2026-11-27 10:00:00.123456"), in UTC or local time. */
void util_ts_date(struct ts t, bool local, char *buf, size_t len);
/* "1764241200.123456": seconds since 1970 (tcpdump -tt). */
void util_ts_epoch(struct ts t, char *buf, size_t len);
/* "12.000300", "-0.000100": a time difference in seconds. */
void util_us_secs(int64_t us, char *buf, size_t len);
/* TCP flags in Wireshark's words: "SYN, ACK", "PSH, ACK", "FIN, ACK"; returns its length. */
size_t util_flags(uint8_t flags, char *buf, size_t len);
/*
 * Appends text safe for a terminal or a diagram label to out: valid UTF-8
 * and printable characters kept, CR and LF shown as <cr> and <nl>, U+2028
 * and U+2029 (line and paragraph separators) as <U+2028> and <U+2029>,
 * other control bytes and invalid UTF-8 as <0xNN>.
 */
void util_append_printable(GString *out, const char *s, size_t n);
/*
 * Valid UTF-8 for JSON: invalid bytes become U+FFFD; NUL bytes are kept
 * (the JSON encoder writes them as \u0000).  Returns a GString (free it).
 */
GString *util_utf8(const char *s, size_t n);
/*
 * Steps through the lines of kept body data (each ending in LF or CRLF,
 * the last one maybe in neither): *line and *len get the next line
 * without its line ending.  Returns false when none is left.
 */
bool util_next_line(const GByteArray *data, size_t *pos, const char **line, size_t *len);

/*
 * A 32-bit hash of the n bytes at p, taken 8 at a time: the hash for
 * GHashTable keys compared with memcmp().  Not for anything that must resist
 * chosen collisions beyond GHashTable's own probing.
 */
uint32_t util_hash_bytes(const void *p, size_t n);
/*
 * "WHAT: PATH: REASON" in buf (len bytes, e.g. ERRBUF_SIZE): a PATH too
 * long to fit loses its middle ("..."), so the reason is never cut off.
 * what NULL: "PATH: REASON".
 */
void util_path_error(char *buf, size_t len, const char *what, const char *path, const char *reason);

/* "s" for a count other than 1: "%" PRIu64 " session%s", n, util_plural(n). */
static inline const char *
util_plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/*
 * Reads the whole file at path into *data (NUL-terminated; g_free() it)
 * and *len.  0, or -1 with errbuf (ERRBUF_SIZE) "PATH: reason": the path
 * once, the reason from errno ("No such file or directory").
 */
int util_read_file(const char *path, char **data, size_t *len, char *errbuf);

/* "1:" and 28 base64 characters of a SHA-1, and the NUL. */
#define UTIL_COMMUNITY_ID_LEN 31
/*
 * The Community ID v1 flow hash of a TCP flow between a and b (either way
 * round: the same ID), as Zeek, Suricata and Wireshark write it
 * (github.com/corelight/community-id-spec): "1:" + base64(SHA-1(seed, the
 * smaller address:port first, the other, protocol 6, a zero byte, their
 * ports)), every field in network byte order.  seed 0 is the default.
 */
void util_community_id(
    const struct endpoint *a, const struct endpoint *b, uint16_t seed, char *buf, size_t len);

/* After a failed write (fwrite, fputs, fflush): errbuf gets why, from errno ("No space left on device"). */
void util_write_error(char *errbuf);

/*
 * A file written whole or not at all.  When path is a regular file or does
 * not exist yet, util_outfile_open() creates a temporary file beside it
 * (".NAME.XXXXXX" in the same directory, mode 0666 less the umask, as fopen
 * makes files), and util_outfile_close() renames it over path (keep) or
 * removes it: path is never left empty or partial, and an existing file
 * stays as it was unless a new one replaces it.  Any other path (a device
 * such as /dev/null, a FIFO, a symbolic link) is opened directly.
 */
struct util_outfile {
	FILE *f;
	char *path; /* as given */
	char *tmp;  /* the temporary file, or NULL when path itself was opened */
};
/* 0, or -1 with errbuf "PATH: reason"; o is zeroed either way first. */
int util_outfile_open(struct util_outfile *o, const char *path, char *errbuf);
/* Closes o->f, then renames (keep) or removes the temporary file: 0, or -1 with errbuf. */
int util_outfile_close(struct util_outfile *o, bool keep, char *errbuf);

#endif
