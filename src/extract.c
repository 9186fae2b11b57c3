/*
 * extract.c - where RETR and TOP bodies go: spooled as they arrive (memory,
 * then a file), their headers parsed with GMime (mime.c), written as .eml
 * files (--extract DIR) byte for byte as the client stored them, and as
 * mboxrd (--mbox FILE).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "extract.h"
#include "mime.h"
#include "pop3.h"
#include "util.h"

struct extract {
	char *dir;
	FILE *mbox;
	char *mbox_path;
	bool headers;
	uint64_t files, mbox_msgs;
	size_t mem_total; /* bytes of bodies held in memory now */
	char *error;      /* the first error of the run */
};

/* One body on its way. */
struct body {
	struct extract *x;
	int fd;           /* spool file, -1 while in memory (or failed) */
	char *tmp;        /* the spool's name in DIR (renamed at the end), or NULL */
	GByteArray *mem;  /* the body while small */
	GByteArray *wbuf; /* bytes for fd not written yet (fewer system calls) */
	GByteArray *hdr;  /* the header section, up to its empty line (RFC 5322 section 2.1) */
	size_t line_len;  /* bytes of the header line being read */
	bool line_cr;     /* ... and it is a lone CR so far */
	bool hdr_done;    /* the empty line was seen: hdr is the whole header section */
	bool need_all;    /* multipart or message/: counting parts needs the whole body */
	uint64_t len;
	bool failed;
	char *rest; /* held for its session's number: the name after "session<S>" */
};

/* A header section longer than this is not kept apart: the whole body is parsed. */
#define EXTRACT_HDR_MAX (256u << 10)

#define EXTRACT_WBUF (64u << 10)

static void G_GNUC_PRINTF(2, 3) fail(struct extract *x, const char *fmt, ...)
{
	va_list ap;

	if (x->error != NULL)
		return;
	va_start(ap, fmt);
	x->error = g_strdup_vprintf(fmt, ap);
	va_end(ap);
}

/* "WHAT: PATH: REASON", the reason kept whole however long PATH is (util_path_error()). */
static void
fail_path(struct extract *x, const char *what, const char *path, int err)
{
	char buf[ERRBUF_SIZE];

	if (x->error != NULL)
		return;
	util_path_error(buf, sizeof(buf), what, path, g_strerror(err));
	x->error = g_strdup(buf);
}

struct extract *
extract_new(const struct extract_config *cfg, char *errbuf)
{
	struct extract *x = g_new0(struct extract, 1);
	struct stat st;

	x->headers = cfg->headers;
	if (cfg->dir != NULL) {
		int e = 0;
		if (stat(cfg->dir, &st) < 0)
			e = errno;
		else if (!S_ISDIR(st.st_mode))
			e = ENOTDIR;
		else if (access(cfg->dir, W_OK | X_OK) < 0)
			e = errno;
		if (e != 0) {
			util_path_error(errbuf, ERRBUF_SIZE, "--extract", cfg->dir, g_strerror(e));
			g_free(x);
			return NULL;
		}
		x->dir = g_strdup(cfg->dir);
	}
	if (cfg->mbox != NULL) {
		x->mbox = fopen(cfg->mbox, "w");
		if (x->mbox == NULL) {
			util_path_error(
			    errbuf, ERRBUF_SIZE, "--mbox", cfg->mbox, g_strerror(errno));
			g_free(x->dir);
			g_free(x);
			return NULL;
		}
		x->mbox_path = g_strdup(cfg->mbox);
	}
	return x;
}

int
extract_finish(struct extract *x, char *errbuf)
{
	if (x->mbox != NULL) {
		if ((fflush(x->mbox) != 0 || ferror(x->mbox)) && x->error == NULL)
			fail_path(x, "--mbox", x->mbox_path, errno);
		if (fclose(x->mbox) != 0 && x->error == NULL)
			fail_path(x, "--mbox", x->mbox_path, errno);
		x->mbox = NULL;
	}
	if (x->error != NULL) {
		g_strlcpy(errbuf, x->error, ERRBUF_SIZE);
		return -1;
	}
	return 0;
}

void
extract_free(struct extract *x)
{
	if (x == NULL)
		return;
	if (x->mbox != NULL)
		fclose(x->mbox);
	g_free(x->dir);
	g_free(x->mbox_path);
	g_free(x->error);
	g_free(x);
}

uint64_t
extract_files(const struct extract *x)
{
	return x->files;
}

uint64_t
extract_mbox_count(const struct extract *x)
{
	return x->mbox_msgs;
}

/* ---- names ---- */

/*
 * A part of a name taken from the capture (the UID, TOP's line count) longer
 * than EXTRACT_NAME_PART is cut, and "~" and the start of its SHA-256 (hex)
 * end it instead: names stay within NAME_MAX and still tell long UIDs apart.
 */
#define EXTRACT_NAME_PART 80
#define EXTRACT_NAME_HASH 16
/* "session" S "-msg" N "-uid-" UID "-top" L "-partial" ".eml", then place()'s "-9999". */
G_STATIC_ASSERT(
    7 + 20 + 4 + 10 + 5 + EXTRACT_NAME_PART + 4 + EXTRACT_NAME_PART + 8 + 4 + 5 <= NAME_MAX);

static void
append_part(GString *n, const char *part, size_t len)
{
	size_t keep = EXTRACT_NAME_PART - 1 - EXTRACT_NAME_HASH;
	char *h;

	if (len <= EXTRACT_NAME_PART) {
		g_string_append_len(n, part, (gssize)len);
		return;
	}
	/* Not in the middle of a %XX. */
	if (part[keep - 1] == '%')
		keep--;
	else if (part[keep - 2] == '%')
		keep -= 2;
	h = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)part, len);
	g_string_append_len(n, part, (gssize)keep);
	g_string_append_c(n, '~');
	g_string_append_len(n, h, EXTRACT_NAME_HASH);
	g_free(h);
}

/* The name after "session<S>": "-msg<N>[-uid-<UID>][-top[<L>]][-partial].eml". */
static char *
name_rest(const struct txn *t, bool complete)
{
	GString *n = g_string_new(NULL), *uid;
	const char *p, *q, *end;

	g_string_append(n, "-msg");
	if (t->msgno > 0)
		g_string_append_printf(n, "%" PRIu32, t->msgno);
	else
		g_string_append_c(n, 'x');
	if (t->uidl != NULL) {
		uid = g_string_new(NULL);
		for (p = t->uidl; *p != '\0'; p++) {
			if (g_ascii_isalnum(*p) || strchr("._+=@-", *p) != NULL)
				g_string_append_c(uid, *p);
			else
				g_string_append_printf(uid, "%%%02X", (unsigned char)*p);
		}
		g_string_append(n, "-uid-");
		append_part(n, uid->str, uid->len);
		g_string_free(uid, TRUE);
	}
	if (t->cmd == POP3_CMD_TOP) {
		/* TOP msg n: the second argument's digits as the client sent them, if it is a number. */
		g_string_append(n, "-top");
		p = memchr(t->arg, ' ', t->arg_len);
		end = t->arg + t->arg_len;
		if (p != NULL) {
			for (p++; p < end && *p == ' '; p++)
				;
			for (q = p; q < end && g_ascii_isdigit(*q); q++)
				;
			if (q > p && (q == end || *q == ' '))
				append_part(n, p, (size_t)(q - p));
		}
	}
	if (!complete)
		g_string_append(n, "-partial");
	g_string_append(n, ".eml");
	return g_string_free(n, FALSE);
}

char *
extract_name(const struct session *s, const struct txn *t, bool complete)
{
	char *rest = name_rest(t, complete), *n;

	n = g_strdup_printf("session%" PRIu64 "%s", s->id, rest);
	g_free(rest);
	return n;
}

char *
extract_from_line(const char *sender, struct ts t)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {
	    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t.sec;
	struct tm tm;
	const char *p;

	if (sender == NULL || sender[0] == '\0')
		sender = "MAILER-DAEMON";
	for (p = sender; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			sender = "MAILER-DAEMON";
			break;
		}
	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	/* asctime() form, in UTC: "From sender Thu Nov 14 22:13:20 2023" */
	return g_strdup_printf("From %s %s %s %2d %02d:%02d:%02d %d\n", sender,
	    days[tm.tm_wday % 7], months[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, tm.tm_year + 1900);
}

/* ---- mboxrd ---- */

static void
mb_put(struct mboxrd *w, const void *b, size_t n)
{
	if (n == 0)
		return;
	fwrite(b, 1, n, w->f);
	w->any = true;
	w->last_lf = ((const char *)b)[n - 1] == '\n';
}

static void
mb_flush_prefix(struct mboxrd *w, bool quote)
{
	uint64_t k;

	for (k = w->gt + (quote ? 1 : 0); k > 0; k--)
		mb_put(w, ">", 1);
	mb_put(w, "From ", w->from);
	w->in_prefix = false;
	w->gt = 0;
	w->from = 0;
}

void
mboxrd_begin(struct mboxrd *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	w->bol = w->in_prefix = true;
}

void
mboxrd_write(struct mboxrd *w, const uint8_t *buf, size_t len)
{
	size_t i = 0, run;

	while (i < len) {
		uint8_t c = buf[i];

		if (w->in_prefix) {
			if (w->from == 0 && c == '>') {
				w->gt++;
				i++;
				continue;
			}
			if (c == (uint8_t) "From "[w->from]) {
				w->from++;
				i++;
				if (w->from == 5)
					mb_flush_prefix(w, true); /* mboxrd: one more '>' */
				continue;
			}
			mb_flush_prefix(w, false);
		}
		if (w->cr) {
			w->cr = false;
			if (c == '\n') {
				mb_put(w, "\n", 1); /* CRLF -> LF */
				w->in_prefix = true;
				i++;
				continue;
			}
			mb_put(w, "\r", 1);
		}
		if (c == '\r') {
			w->cr = true;
			i++;
			continue;
		}
		if (c == '\n') {
			mb_put(w, "\n", 1);
			w->in_prefix = true;
			i++;
			continue;
		}
		for (run = i; run < len && buf[run] != '\r' && buf[run] != '\n'; run++)
			;
		mb_put(w, buf + i, run - i);
		i = run;
	}
}

void
mboxrd_end(struct mboxrd *w)
{
	if (w->in_prefix)
		mb_flush_prefix(w, false);
	if (w->cr)
		mb_put(w, "\r", 1);
	w->cr = false;
	if (w->any && !w->last_lf)
		mb_put(w, "\n", 1); /* an empty message stays empty */
	mb_put(w, "\n", 1);         /* the empty line before the next "From " */
}

/* ---- the sink ---- */

static bool
write_all(int fd, const uint8_t *b, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

static void *
sink_begin(void *arg, const struct session *s, const struct txn *t)
{
	struct extract *x = arg;
	struct body *b;

	(void)s;
	(void)t;
	if (x->dir == NULL && x->mbox == NULL && !x->headers)
		return NULL;
	b = g_new0(struct body, 1);
	b->x = x;
	b->fd = -1;
	b->wbuf = g_byte_array_new();
	if (x->headers)
		b->hdr = g_byte_array_new();
	if (x->dir != NULL) {
		/* Straight to a file in DIR: renamed to its name when the body ends. */
		b->tmp = g_build_filename(x->dir, ".popflow-XXXXXX", NULL);
		b->fd = g_mkstemp_full(b->tmp, O_RDWR | O_CLOEXEC, 0644);
		if (b->fd < 0) {
			fail_path(x, "--extract", x->dir, errno);
			g_free(b->tmp);
			b->tmp = NULL;
			b->failed = true;
		}
	} else {
		b->mem = g_byte_array_new();
	}
	return b;
}

/* Moves a body held in memory to an unlinked temporary file. */
static void
spill(struct body *b)
{
	char *path = NULL;
	GError *err = NULL;
	int fd = g_file_open_tmp("popflow-XXXXXX", &path, &err);

	if (fd >= 0) {
		unlink(path);
		if (!write_all(fd, b->mem->data, b->mem->len)) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		fail(b->x, "temporary file: %s", err != NULL ? err->message : g_strerror(errno));
		b->failed = true;
	}
	if (err != NULL)
		g_error_free(err);
	g_free(path);
	b->x->mem_total -= b->mem->len;
	g_byte_array_free(b->mem, TRUE);
	b->mem = NULL;
	b->fd = fd;
}

static void
flush_wbuf(struct body *b)
{
	if (b->wbuf->len > 0 && b->fd >= 0 && !b->failed &&
	    !write_all(b->fd, b->wbuf->data, b->wbuf->len)) {
		fail_path(b->x, "--extract", b->tmp != NULL ? b->tmp : "temporary file", errno);
		b->failed = true;
	}
	g_byte_array_set_size(b->wbuf, 0);
}

/* Does the header section name a type whose parts are in the body (multipart/..., message/...)? */
static bool
hdr_needs_body(const GByteArray *h)
{
	size_t i;

	for (i = 0; i < h->len; i++) {
		size_t left = h->len - i;
		if ((h->data[i] | 0x20) != 'm') /* both words begin with m or M */
			continue;
		if ((left >= 9 &&
		        g_ascii_strncasecmp((const char *)h->data + i, "multipart", 9) == 0) ||
		    (left >= 8 &&
		        g_ascii_strncasecmp((const char *)h->data + i, "message/", 8) == 0))
			return true;
	}
	return false;
}

/*
 * Keeps the header section apart, up to its empty line: the headers popflow
 * shows (mime.h) are read from it alone unless the body holds MIME parts.
 */
static void
hdr_take(struct body *b, const uint8_t *buf, size_t len)
{
	size_t i = 0, end;
	const uint8_t *lf;

	while (i < len && !b->hdr_done) {
		lf = memchr(buf + i, '\n', len - i);
		end = lf != NULL ? (size_t)(lf - buf) + 1 : len;
		if (b->hdr->len + (end - i) > EXTRACT_HDR_MAX) {
			/* Not a header section popflow keeps apart: parse the whole body. */
			b->hdr_done = b->need_all = true;
			g_byte_array_set_size(b->hdr, 0);
			return;
		}
		g_byte_array_append(b->hdr, buf + i, (guint)(end - i));
		if (b->line_len == 0)
			b->line_cr = buf[i] == '\r';
		b->line_len += (lf != NULL ? end - 1 : end) - i;
		if (lf != NULL) {
			if (b->line_len == 0 || (b->line_len == 1 && b->line_cr)) {
				b->hdr_done = true;
				b->need_all = hdr_needs_body(b->hdr);
			}
			b->line_len = 0;
		}
		i = end;
	}
}

static bool
sink_data(void *arg, void *h, const uint8_t *buf, size_t len)
{
	struct body *b = h;

	(void)arg;
	if (b->failed)
		return false;
	if (len == 0)
		return true;
	b->len += len;
	if (b->hdr != NULL && !b->hdr_done)
		hdr_take(b, buf, len);
	if (b->mem != NULL && b->hdr_done && !b->need_all && b->x->dir == NULL &&
	    b->x->mbox == NULL) {
		/* Only the headers are wanted, and they are kept apart: no copy of the body. */
		b->x->mem_total -= b->mem->len;
		g_byte_array_free(b->mem, TRUE);
		b->mem = NULL;
		return false;
	}
	if (b->mem != NULL) {
		g_byte_array_append(b->mem, buf, (guint)len);
		b->x->mem_total += len;
		if (b->mem->len > EXTRACT_SPOOL_MEM || b->x->mem_total > EXTRACT_SPOOL_MEM_TOTAL)
			spill(b);
		return true;
	}
	if (b->fd >= 0) {
		g_byte_array_append(b->wbuf, buf, (guint)len);
		if (b->wbuf->len >= EXTRACT_WBUF)
			flush_wbuf(b);
		return true;
	}
	/* Neither kept nor written: only a header section still being read wants more. */
	return b->hdr != NULL && !b->hdr_done;
}

static void
body_free(struct body *b)
{
	if (b->wbuf != NULL)
		g_byte_array_free(b->wbuf, TRUE);
	if (b->hdr != NULL)
		g_byte_array_free(b->hdr, TRUE);
	if (b->fd >= 0)
		close(b->fd);
	if (b->tmp != NULL) {
		unlink(b->tmp);
		g_free(b->tmp);
	}
	g_free(b->rest);
	if (b->mem != NULL) {
		b->x->mem_total -= b->mem->len;
		g_byte_array_free(b->mem, TRUE);
	}
	g_free(b);
}

static void
sink_discard(void *arg, void *h)
{
	(void)arg;
	body_free(h);
}

/* Copies the body into the mbox. */
static void
to_mbox(struct body *b, const struct txn *t, const struct mail_info *mi)
{
	struct extract *x = b->x;
	struct mboxrd w;
	char *from;
	uint8_t buf[65536];
	ssize_t n;
	struct ts when = t->status_msg != NULL
	    ? t->status_msg->ts
	    : (t->body_msg != NULL ? t->body_msg->ts : (struct ts){0, 0});

	/* The envelope sender is not in POP3: Return-Path if the server added one, else From. */
	from = extract_from_line(mi == NULL                             ? NULL
	        : mi->return_path != NULL && mi->return_path[0] != '\0' ? mi->return_path
	                                                                : mi->from_addr,
	    when);
	fputs(from, x->mbox);
	g_free(from);
	mboxrd_begin(&w, x->mbox);
	if (b->mem != NULL) {
		mboxrd_write(&w, b->mem->data, b->mem->len);
	} else if (b->fd >= 0 && lseek(b->fd, 0, SEEK_SET) == 0) {
		while ((n = read(b->fd, buf, sizeof(buf))) > 0)
			mboxrd_write(&w, buf, (size_t)n);
		if (n < 0)
			fail(x, "reading back a spooled message: %s", g_strerror(errno));
	}
	mboxrd_end(&w);
	if (ferror(x->mbox))
		fail_path(x, "--mbox", x->mbox_path, EIO);
	x->mbox_msgs++;
}

/* Gives the spool file its name in DIR without replacing any file there. */
static char *
place(struct body *b, const struct session *s)
{
	struct extract *x = b->x;
	char *name = g_strdup_printf("session%" PRIu64 "%s", s->id, b->rest), *path = NULL, *base;
	int k;

	base = g_strndup(name, strlen(name) - 4); /* without ".eml" */
	for (k = 1; k < 10000; k++) {
		char *cand = k == 1 ? g_build_filename(x->dir, name, NULL)
		                    : g_strdup_printf("%s/%s-%d.eml", x->dir, base, k);
		if (link(b->tmp, cand) == 0) {
			path = cand;
			break;
		}
		if (errno != EEXIST) {
			/* A file system without hard links: rename, unless the name is taken. */
			struct stat st;
			if (errno == EPERM || errno == EOPNOTSUPP || errno == EXDEV) {
				if (stat(cand, &st) < 0 && rename(b->tmp, cand) == 0) {
					g_free(b->tmp);
					b->tmp = NULL;
					path = cand;
					break;
				}
				if (stat(cand, &st) == 0) {
					g_free(cand);
					continue;
				}
			}
			fail_path(x, "--extract", cand, errno);
			g_free(cand);
			break;
		}
		g_free(cand);
	}
	g_free(name);
	g_free(base);
	if (path != NULL)
		x->files++;
	return path;
}

static struct mail_info *
sink_end(
    void *arg, void *h, const struct session *s, const struct txn *t, bool complete, void **held)
{
	struct extract *x = arg;
	struct body *b = h;
	struct mail_info *mi = NULL;

	(void)s;
	*held = NULL;
	flush_wbuf(b);
	if (!b->failed && x->headers) {
		if (b->hdr != NULL && b->hdr_done && !b->need_all)
			mi = mime_parse_mem(b->hdr->data, b->hdr->len);
		else if (b->mem != NULL)
			mi = mime_parse_mem(b->mem->data, b->mem->len);
		else if (b->fd >= 0)
			mi = mime_parse_fd(b->fd);
	}
	if (!b->failed && x->mbox != NULL && complete)
		to_mbox(b, t, mi);
	if (!b->failed && b->tmp != NULL && b->fd >= 0) {
		/*
		 * Sessions are numbered when they are reported: the spool file
		 * waits in DIR under its temporary name until then (sink_place()).
		 * Its name is made now: the transaction may be let go before.
		 */
		b->rest = name_rest(t, complete);
		close(b->fd);
		b->fd = -1;
		/* Held bodies keep only their names: many may wait in a long session. */
		g_byte_array_free(b->wbuf, TRUE);
		b->wbuf = NULL;
		if (b->hdr != NULL)
			g_byte_array_free(b->hdr, TRUE);
		b->hdr = NULL;
		*held = b;
		return mi;
	}
	body_free(b);
	return mi;
}

static char *
sink_place(void *arg, void *h, const struct session *s)
{
	struct body *b = h;
	char *path;

	(void)arg;
	path = place(b, s);
	body_free(b);
	return path;
}

const struct pop3_mail_sink extract_sink = {
    .begin = sink_begin,
    .data = sink_data,
    .end = sink_end,
    .place = sink_place,
    .discard = sink_discard,
};
