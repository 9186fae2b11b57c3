/* capa.h - a CAPA listing (RFC 2449 section 6, RFC 2595, RFC 3206, RFC 6856) as structured capabilities. */
#ifndef CAPA_H
#define CAPA_H

#include <stdbool.h>

#include <glib.h>

/* RFC 2449 sections 6.5 and 6.7: a number of seconds/days, maybe only for some users. */
struct capa_delay {
	bool present;
	bool never;      /* EXPIRE NEVER */
	long long value; /* seconds (LOGIN-DELAY) or days (EXPIRE); -1 if not a number */
	bool per_user;   /* the "USER" argument: the value may differ per user */
};

struct capa {
	bool top, user, resp_codes, pipelining, uidl; /* RFC 2449 section 6 */
	bool stls;                                    /* RFC 2595 section 4 */
	bool auth_resp_code;                          /* RFC 3206 section 6 */
	bool utf8, utf8_user;  /* RFC 6856 section 2: "UTF8" and "UTF8 USER" */
	bool lang;             /* RFC 6856 section 3 */
	bool sasl;             /* a SASL line was listed (maybe with no mechanism) */
	GPtrArray *sasl_mechs; /* char *, upper-cased, in order */
	struct capa_delay login_delay, expire;
	char *implementation; /* RFC 2449 section 6.9, NULL if absent */
	GPtrArray *other;     /* char *: lines of capabilities not known here, as sent */
	GPtrArray *malformed; /* char *: known tags with arguments that do not parse */
};

/* Parses a CAPA body (dot-unstuffed lines, CRLF or LF ends).  Never fails. */
struct capa *capa_parse(const char *body, size_t len);
/* Parses one capability line (without its line end) into c. */
void capa_add_line(struct capa *c, const char *line, size_t len);
struct capa *capa_new(void);
void capa_free(struct capa *c);
void capa_free_cb(gpointer c);
/* Is mech (case-insensitive) among the SASL mechanisms? */
bool capa_has_mech(const struct capa *c, const char *mech);

#endif
