/* remarks.h - remark templates for the diagrams: loading, checking, filling placeholders. */
#ifndef REMARKS_H
#define REMARKS_H

#include <stddef.h>

/*
 * A template directory holds three files (tcp.tmpl, pop3.tmpl,
 * diagram.tmpl) of entries
 *
 *     key: text
 *         continuation lines start with white space
 *
 * Text may hold placeholders: {name} is replaced by a value of the
 * session, {name|one|many} by the value and a noun ("one message",
 * "3 messages", "no messages"); {{ and }} are literal braces.  A
 * sentence holding a placeholder the session has no value for (no
 * USER seen, a reply without figures) is left out.  The keys
 * a directory must define, and the placeholders a text may use, are
 * fixed (remarks.c); anything else is an error naming file and line.
 */

/* The default directory compiled in by the Makefile. */
#ifndef POPFLOW_TEMPLATE_DIR
#define POPFLOW_TEMPLATE_DIR "/usr/local/share/popflow/templates"
#endif

struct remarks;

/*
 * Loads and checks every template of dir; dir NULL means the default:
 * POPFLOW_TEMPLATE_DIR if it exists, else "templates" beside the
 * executable, else "../share/popflow/templates" relative to it.
 * Returns NULL with errbuf (ERRBUF_SIZE) filled: "FILE:LINE: reason".
 */
struct remarks *remarks_load(const char *dir, char *errbuf);
/*
 * The same from memory: text[i] (len[i] bytes) is the content of
 * diagram.tmpl, tcp.tmpl and pop3.tmpl in that order; name stands for the
 * directory in messages (the fuzz target uses it).
 */
struct remarks *remarks_load_texts(
    const char *name, const char *const text[3], const size_t len[3], char *errbuf);
void remarks_free(struct remarks *r); /* NULL is fine */
/* Raw text of an entry, or NULL if the key is not defined. */
const char *remarks_get(const struct remarks *r, const char *key);

/* Placeholder values for one fill; a sentence using a name not set is left out. */
#define REMARK_VARS_MAX 40
struct remark_vars {
	size_t n;
	const char *name[REMARK_VARS_MAX];
	char *value[REMARK_VARS_MAX]; /* owned */
};

void rvars_set(struct remark_vars *v, const char *name, const char *value);
void rvars_setf(struct remark_vars *v, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rvars_setu(struct remark_vars *v, const char *name, unsigned long long n);
const char *rvars_get(const struct remark_vars *v, const char *name);
void rvars_clear(struct remark_vars *v);

/*
 * Fills the entry key with v's values; returns a newly allocated string
 * (g_free), "" if the entry is empty.  key must be defined unless
 * fallback names another key that is (optional entries).
 */
char *remarks_fill(
    const struct remarks *r, const char *key, const char *fallback, const struct remark_vars *v);
/* Fills an arbitrary template text (used by the tests). */
char *remarks_expand(const char *text, const struct remark_vars *v);

/* Checks one text's placeholders; returns 0 or -1 with why filled. */
int remarks_check_text(const char *text, char *why, size_t whylen);

#endif
