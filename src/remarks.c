/* remarks.c - remark templates: find the directory, parse and check every entry, fill placeholders. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "pop3.h"
#include "popflow.h"
#include "remarks.h"
#include "util.h"

/* The files of a template directory, in the order they are read. */
static const char *const tmpl_files[] = {"diagram.tmpl", "tcp.tmpl", "pop3.tmpl"};
#define TMPL_NFILES (sizeof(tmpl_files) / sizeof(tmpl_files[0]))
enum { F_DIAGRAM, F_TCP, F_POP3 };

/* Entries every directory defines (besides the per-command ones). */
static const struct {
	const char *key;
	int file;
} fixed_keys[] = {
    {"title", F_DIAGRAM},
    {"system.client", F_DIAGRAM},
    {"system.server", F_DIAGRAM},
    {"lifeline.client", F_DIAGRAM},
    {"lifeline.server", F_DIAGRAM},
    {"column.step", F_DIAGRAM},
    {"column.time", F_DIAGRAM},
    {"column.remarks", F_DIAGRAM},
    {"phase.setup", F_DIAGRAM},
    {"phase.authorization", F_DIAGRAM},
    {"phase.tls", F_DIAGRAM},
    {"phase.tls_handshake", F_DIAGRAM},
    {"phase.transaction", F_DIAGRAM},
    {"phase.update", F_DIAGRAM},
    {"phase.data", F_DIAGRAM},
    {"phase.release", F_DIAGRAM},
    {"phase.continued", F_DIAGRAM},
    {"anomaly", F_DIAGRAM},
    {"tcp.syn", F_TCP},
    {"tcp.synack", F_TCP},
    {"tcp.handshake_ack", F_TCP},
    {"tcp.ack", F_TCP},
    {"tcp.dup_ack", F_TCP},
    {"tcp.fold", F_TCP},
    {"tcp.fin.client", F_TCP},
    {"tcp.fin.server", F_TCP},
    {"tcp.fin_ack", F_TCP},
    {"tcp.rst", F_TCP},
    {"tcp.retransmission", F_TCP},
    {"tcp.out_of_order", F_TCP},
    {"tcp.synthetic", F_TCP},
    {"tcp.data", F_TCP},
    {"tcp.continued", F_TCP},
    {"tls.data", F_TCP},
    {"tls.record", F_TCP},
    {"tls.decrypted", F_TCP},
    {"greeting", F_POP3},
    {"greeting.err", F_POP3},
    {"err", F_POP3},
    {"cmd.unknown", F_POP3},
    {"reply.unknown", F_POP3},
    {"reply.unsolicited", F_POP3},
    {"reply.not_pop3", F_POP3},
    {"reply.missing", F_POP3},
    {"body.cut", F_POP3},
    {"challenge", F_POP3},
    {"sasl", F_POP3},
};

/* Placeholders a text may use (diagram.c sets them). */
static const char *const known_vars[] = {
    "client",
    "server",
    "client_addr",
    "server_addr",
    "sender",
    "receiver",
    "sender_name",
    "receiver_name",
    "cmd",
    "arg",
    "user",
    "msg",
    "text",
    "status",
    "count",
    "size",
    "octets",
    "lines",
    "segments",
    "wire",
    "len",
    "n",
    "carries",
    "records",
    "anomaly",
    "mechanism",
    "frame",
    "session",
    "flags",
};

struct entry {
	char *text; /* NULL: required but not (yet) defined */
	int file;   /* where it belongs */
	int line;   /* where it was defined */
	bool required;
};

struct remarks {
	char *dir;
	GHashTable *entries; /* key -> struct entry */
};

static void
entry_free(gpointer p)
{
	struct entry *e = p;

	g_free(e->text);
	g_free(e);
}

static void
add_key(GHashTable *h, const char *key, int file, bool required)
{
	struct entry *e = g_new0(struct entry, 1);

	e->file = file;
	e->required = required;
	g_hash_table_replace(h, g_strdup(key), e);
}

/* The keys: fixed ones plus, per command, cmd./ok./err. (and .arg/body. where they apply). */
static GHashTable *
key_table(void)
{
	GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
	char key[64];
	size_t i;
	int c;

	for (i = 0; i < sizeof(fixed_keys) / sizeof(fixed_keys[0]); i++)
		add_key(h, fixed_keys[i].key, fixed_keys[i].file, true);
	for (c = POP3_CMD_UNKNOWN + 1; c < POP3_CMD__COUNT; c++) {
		const char *name = pop3_cmd_name(c);
		enum pop3_multi ml = pop3_cmd_multi(c);

		snprintf(key, sizeof(key), "cmd.%s", name);
		add_key(h, key, F_POP3, true);
		snprintf(key, sizeof(key), "ok.%s", name);
		add_key(h, key, F_POP3, true);
		snprintf(key, sizeof(key), "err.%s", name);
		add_key(h, key, F_POP3, false);
		if (ml == ML_NO_ARG) {
			snprintf(key, sizeof(key), "cmd.%s.arg", name);
			add_key(h, key, F_POP3, true);
			snprintf(key, sizeof(key), "ok.%s.arg", name);
			add_key(h, key, F_POP3, true);
		}
		if (ml != ML_NEVER) {
			snprintf(key, sizeof(key), "body.%s", name);
			add_key(h, key, F_POP3, true);
		}
	}
	return h;
}

static bool
known_var(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(known_vars) / sizeof(known_vars[0]); i++)
		if (strlen(known_vars[i]) == len && memcmp(known_vars[i], name, len) == 0)
			return true;
	return false;
}

int
remarks_check_text(const char *text, char *why, size_t whylen)
{
	const char *p = text, *end, *bar;

	while (*p != '\0') {
		if (p[0] == '{' && p[1] == '{') {
			p += 2;
			continue;
		}
		if (p[0] == '}' && p[1] == '}') {
			p += 2;
			continue;
		}
		if (*p == '}') {
			snprintf(why, whylen, "'}' without '{' (write }} for a brace)");
			return -1;
		}
		if (*p != '{') {
			p++;
			continue;
		}
		end = strchr(p, '}');
		if (end == NULL) {
			snprintf(why, whylen, "'{' without '}' (write {{ for a brace)");
			return -1;
		}
		if (memchr(p + 1, '{', (size_t)(end - p - 1)) != NULL) {
			snprintf(why, whylen, "'{' inside a placeholder");
			return -1;
		}
		bar = memchr(p + 1, '|', (size_t)(end - p - 1));
		if (!known_var(p + 1, (size_t)((bar != NULL ? bar : end) - p - 1))) {
			snprintf(why, whylen, "unknown placeholder {%.*s}",
			    (int)((bar != NULL ? bar : end) - p - 1), p + 1);
			return -1;
		}
		if (bar != NULL) {
			const char *bar2 = memchr(bar + 1, '|', (size_t)(end - bar - 1));
			if (bar2 == NULL ||
			    memchr(bar2 + 1, '|', (size_t)(end - bar2 - 1)) != NULL) {
				snprintf(
				    why, whylen, "a counted placeholder is {name|singular|plural}");
				return -1;
			}
		}
		p = end + 1;
	}
	return 0;
}

static bool
is_key_char(char c)
{
	return g_ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
}

/*
 * Parses the text of one file (data: len bytes and a NUL after them) into
 * the table; returns 0 or -1 with errbuf "path:line: why".
 */
static int
parse_file(
    struct remarks *r, int file, const char *path, const char *data, size_t len, char *errbuf)
{
	char **lines = NULL, *k;
	struct entry *cur = NULL;
	int i, rc = -1;
	char why[128];

	if (memchr(data, '\0', len) != NULL || !g_utf8_validate(data, (gssize)len, NULL)) {
		snprintf(errbuf, ERRBUF_SIZE, "%s: not UTF-8 text", path);
		goto out;
	}
	lines = g_strsplit(data, "\n", -1);
	for (i = 0; lines[i] != NULL; i++) {
		char *l = lines[i], *colon, *text;
		size_t n = strlen(l);

		if (n > 0 && l[n - 1] == '\r')
			l[--n] = '\0';
		if (l[0] == '#' || l[strspn(l, " \t")] == '\0') {
			if (l[0] != '#')
				cur = NULL; /* a blank line ends an entry */
			continue;
		}
		if (l[0] == ' ' || l[0] == '\t') {
			if (cur == NULL) {
				snprintf(errbuf, ERRBUF_SIZE,
				    "%s:%d: continuation line outside an entry", path, i + 1);
				goto out;
			}
			text = g_strstrip(l);
			if (remarks_check_text(text, why, sizeof(why)) < 0) {
				snprintf(errbuf, ERRBUF_SIZE, "%s:%d: %s", path, i + 1, why);
				goto out;
			}
			k = cur->text[0] != '\0' ? g_strconcat(cur->text, " ", text, NULL)
			                         : g_strdup(text);
			g_free(cur->text);
			cur->text = k;
			continue;
		}
		colon = strchr(l, ':');
		if (colon == NULL || colon == l) {
			snprintf(errbuf, ERRBUF_SIZE, "%s:%d: expected 'key: text'", path, i + 1);
			goto out;
		}
		for (k = l; k < colon; k++)
			if (!is_key_char(*k)) {
				snprintf(errbuf, ERRBUF_SIZE, "%s:%d: bad character in key '%.*s'",
				    path, i + 1, (int)(colon - l), l);
				goto out;
			}
		*colon = '\0';
		cur = g_hash_table_lookup(r->entries, l);
		if (cur == NULL) {
			snprintf(errbuf, ERRBUF_SIZE, "%s:%d: unknown entry '%s'", path, i + 1, l);
			goto out;
		}
		if (cur->file != file) {
			snprintf(errbuf, ERRBUF_SIZE, "%s:%d: entry '%s' belongs in %s", path,
			    i + 1, l, tmpl_files[cur->file]);
			goto out;
		}
		if (cur->text != NULL) {
			snprintf(errbuf, ERRBUF_SIZE,
			    "%s:%d: entry '%s' already defined on line %d", path, i + 1, l,
			    cur->line);
			goto out;
		}
		text = g_strstrip(colon + 1);
		if (remarks_check_text(text, why, sizeof(why)) < 0) {
			snprintf(errbuf, ERRBUF_SIZE, "%s:%d: %s", path, i + 1, why);
			goto out;
		}
		cur->text = g_strdup(text);
		cur->line = i + 1;
	}
	rc = 0;
out:
	g_strfreev(lines);
	return rc;
}

/* Reads and parses one file of r's directory. */
static int
load_file(struct remarks *r, int file, char *errbuf)
{
	char *path = g_build_filename(r->dir, tmpl_files[file], NULL);
	char *data = NULL;
	size_t len;
	int rc = -1;

	if (util_read_file(path, &data, &len, errbuf) == 0) {
		rc = parse_file(r, file, path, data, len, errbuf);
	}
	g_free(data);
	g_free(path);
	return rc;
}

static bool
dir_has_templates(const char *dir)
{
	char *p = g_build_filename(dir, tmpl_files[F_POP3], NULL);
	bool ok = access(p, R_OK) == 0;

	g_free(p);
	return ok;
}

/* The default directory: compiled in, else beside the executable. */
static char *
default_dir(char *errbuf)
{
	char exe[PATH_MAX], *d, *cand;
	ssize_t n;

	if (dir_has_templates(POPFLOW_TEMPLATE_DIR))
		return g_strdup(POPFLOW_TEMPLATE_DIR);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		d = g_path_get_dirname(exe);
		cand = g_build_filename(d, "templates", NULL);
		if (dir_has_templates(cand)) {
			g_free(d);
			return cand;
		}
		g_free(cand);
		cand = g_build_filename(d, "..", "share", "popflow", "templates", NULL);
		g_free(d);
		if (dir_has_templates(cand))
			return cand;
		g_free(cand);
	}
	snprintf(errbuf, ERRBUF_SIZE,
	    "none in %s nor beside the executable (templates/ or ../share/popflow/templates); "
	    "install popflow (make install) or use --templates DIR",
	    POPFLOW_TEMPLATE_DIR);
	return NULL;
}

/* Every required entry is defined; otherwise -1 with errbuf naming one missing. */
static int
check_required(struct remarks *r, char *errbuf)
{
	GHashTableIter it;
	gpointer key, val;

	g_hash_table_iter_init(&it, r->entries);
	while (g_hash_table_iter_next(&it, &key, &val)) {
		struct entry *e = val;
		if (e->required && e->text == NULL) {
			char *path = g_build_filename(r->dir, tmpl_files[e->file], NULL);
			snprintf(errbuf, ERRBUF_SIZE, "%s: no entry '%s'", path, (char *)key);
			g_free(path);
			return -1;
		}
	}
	return 0;
}

struct remarks *
remarks_load(const char *dir, char *errbuf)
{
	struct remarks *r;
	size_t f;

	r = g_new0(struct remarks, 1);
	r->dir = dir != NULL ? g_strdup(dir) : default_dir(errbuf);
	if (r->dir == NULL) {
		g_free(r);
		return NULL;
	}
	r->entries = key_table();
	for (f = 0; f < TMPL_NFILES; f++)
		if (load_file(r, (int)f, errbuf) < 0)
			goto fail;
	if (check_required(r, errbuf) < 0)
		goto fail;
	return r;
fail:
	remarks_free(r);
	return NULL;
}

struct remarks *
remarks_load_texts(const char *name, const char *const text[3], const size_t len[3], char *errbuf)
{
	struct remarks *r = g_new0(struct remarks, 1);
	size_t f;

	r->dir = g_strdup(name);
	r->entries = key_table();
	for (f = 0; f < TMPL_NFILES; f++) {
		char *path = g_build_filename(name, tmpl_files[f], NULL);
		char *data = g_malloc(len[f] + 1);
		int rc;

		memcpy(data, text[f], len[f]);
		data[len[f]] = '\0';
		rc = parse_file(r, (int)f, path, data, len[f], errbuf);
		g_free(data);
		g_free(path);
		if (rc < 0)
			goto fail;
	}
	if (check_required(r, errbuf) < 0)
		goto fail;
	return r;
fail:
	remarks_free(r);
	return NULL;
}

void
remarks_free(struct remarks *r)
{
	if (r == NULL)
		return;
	if (r->entries != NULL)
		g_hash_table_destroy(r->entries);
	g_free(r->dir);
	g_free(r);
}

const char *
remarks_get(const struct remarks *r, const char *key)
{
	struct entry *e = g_hash_table_lookup(r->entries, key);

	return e != NULL ? e->text : NULL;
}

void
rvars_set(struct remark_vars *v, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->name[i], name) == 0) {
			g_free(v->value[i]);
			v->value[i] = g_strdup(value);
			return;
		}
	if (v->n == REMARK_VARS_MAX)
		return;
	v->name[v->n] = name;
	v->value[v->n++] = g_strdup(value);
}

void
rvars_setf(struct remark_vars *v, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	rvars_set(v, name, s);
	g_free(s);
}

void
rvars_setu(struct remark_vars *v, const char *name, unsigned long long n)
{
	rvars_setf(v, name, "%llu", n);
}

const char *
rvars_get(const struct remark_vars *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->name[i], name) == 0)
			return v->value[i];
	return NULL;
}

void
rvars_clear(struct remark_vars *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		g_free(v->value[i]);
	v->n = 0;
}

/* {name|one|many}: "one message", "no messages", "3 messages". */
static void
append_counted(GString *out, const char *value, const char *one, size_t one_len, const char *many,
    size_t many_len)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0') {
		g_string_append_printf(out, "%s %.*s", value, (int)many_len, many);
		return;
	}
	if (n == 0)
		g_string_append_printf(out, "no %.*s", (int)many_len, many);
	else if (n == 1)
		g_string_append_printf(out, "one %.*s", (int)one_len, one);
	else
		g_string_append_printf(out, "%llu %.*s", n, (int)many_len, many);
}

/*
 * Expands one sentence; returns false if a placeholder in it has no
 * value (the caller then leaves the sentence out).
 */
static bool
expand_sentence(GString *out, const char *p, const char *stop, const struct remark_vars *v)
{
	const char *end, *bar, *bar2, *val;
	char name[32];
	size_t nlen;

	while (p < stop) {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			g_string_append_c(out, p[0]);
			p += 2;
			continue;
		}
		if (*p != '{' || (end = strchr(p, '}')) == NULL) {
			g_string_append_c(out, *p++);
			continue;
		}
		bar = memchr(p + 1, '|', (size_t)(end - p - 1));
		nlen = (size_t)((bar != NULL ? bar : end) - p - 1);
		if (nlen >= sizeof(name))
			nlen = sizeof(name) - 1;
		memcpy(name, p + 1, nlen);
		name[nlen] = '\0';
		val = rvars_get(v, name);
		if (val == NULL)
			return false;
		bar2 = bar != NULL ? memchr(bar + 1, '|', (size_t)(end - bar - 1)) : NULL;
		if (bar2 != NULL)
			append_counted(out, val, bar + 1, (size_t)(bar2 - bar - 1), bar2 + 1,
			    (size_t)(end - bar2 - 1));
		else
			g_string_append(out, val);
		p = end + 1;
	}
	return true;
}

/* End of the sentence starting at p: after ". ", "! " or "? " outside a placeholder, or the end. */
static const char *
sentence_end(const char *p)
{
	int depth = 0;

	for (; *p != '\0'; p++) {
		if (*p == '{')
			depth++;
		else if (*p == '}' && depth > 0)
			depth--;
		else if (depth == 0 && (*p == '.' || *p == '!' || *p == '?') && p[1] == ' ')
			return p + 2;
	}
	return p;
}

char *
remarks_expand(const char *text, const struct remark_vars *v)
{
	GString *out = g_string_new(NULL);
	const char *p = text, *end;
	size_t mark;

	while (*p != '\0') {
		end = sentence_end(p);
		mark = out->len;
		if (!expand_sentence(out, p, end, v))
			g_string_truncate(out, mark);
		p = end;
	}
	while (out->len > 0 && out->str[out->len - 1] == ' ')
		g_string_truncate(out, out->len - 1);
	return g_string_free(out, FALSE);
}

char *
remarks_fill(
    const struct remarks *r, const char *key, const char *fallback, const struct remark_vars *v)
{
	const char *text = remarks_get(r, key);

	if (text == NULL && fallback != NULL)
		text = remarks_get(r, fallback);
	if (text == NULL)
		return g_strdup("");
	return remarks_expand(text, v);
}
