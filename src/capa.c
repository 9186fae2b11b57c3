/* capa.c - RFC 2449 section 6 capabilities (plus STLS, AUTH-RESP-CODE, UTF8, LANG) from a CAPA listing. */
#include <stdlib.h>
#include <string.h>

#include "capa.h"

/* Keeps memory bounded for a server that lists without end. */
#define CAPA_MAX_ITEMS 256
#define CAPA_MAX_TEXT 512

struct capa *
capa_new(void)
{
	struct capa *c = g_new0(struct capa, 1);

	c->sasl_mechs = g_ptr_array_new_with_free_func(g_free);
	c->other = g_ptr_array_new_with_free_func(g_free);
	c->malformed = g_ptr_array_new_with_free_func(g_free);
	c->login_delay.value = c->expire.value = -1;
	return c;
}

void
capa_free(struct capa *c)
{
	if (c == NULL)
		return;
	g_ptr_array_free(c->sasl_mechs, TRUE);
	g_ptr_array_free(c->other, TRUE);
	g_ptr_array_free(c->malformed, TRUE);
	g_free(c->implementation);
	g_free(c);
}

void
capa_free_cb(gpointer c)
{
	capa_free(c);
}

bool
capa_has_mech(const struct capa *c, const char *mech)
{
	guint i;

	for (i = 0; i < c->sasl_mechs->len; i++)
		if (g_ascii_strcasecmp(g_ptr_array_index(c->sasl_mechs, i), mech) == 0)
			return true;
	return false;
}

static void
add_capped(GPtrArray *a, const char *s, size_t n)
{
	if (a->len >= CAPA_MAX_ITEMS)
		return;
	g_ptr_array_add(a, g_strndup(s, n < CAPA_MAX_TEXT ? n : CAPA_MAX_TEXT));
}

/* Splits at runs of spaces/tabs into at most max words. */
static size_t
words(const char *line, size_t len, const char **w, size_t *wl, size_t max)
{
	size_t i = 0, n = 0, b;

	while (i < len && n < max) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len)
			break;
		for (b = i; i < len && line[i] != ' ' && line[i] != '\t'; i++)
			;
		w[n] = line + b;
		wl[n] = i - b;
		n++;
	}
	return n;
}

static bool
word_is(const char *w, size_t wl, const char *name)
{
	return wl == strlen(name) && g_ascii_strncasecmp(w, name, wl) == 0;
}

static bool
parse_number(const char *w, size_t wl, long long *v)
{
	char buf[24];
	char *end;

	if (wl == 0 || wl >= sizeof(buf) || !g_ascii_isdigit(w[0]))
		return false;
	memcpy(buf, w, wl);
	buf[wl] = '\0';
	*v = strtoll(buf, &end, 10);
	return *end == '\0';
}

/* LOGIN-DELAY secs [USER] / EXPIRE days|NEVER [USER] (RFC 2449 sections 6.5, 6.7). */
static bool
parse_delay(struct capa_delay *d, const char **w, const size_t *wl, size_t n, bool never_ok)
{
	d->present = true;
	if (n < 2 || n > 3)
		return false;
	if (never_ok && word_is(w[1], wl[1], "NEVER")) {
		d->never = true;
	} else if (!parse_number(w[1], wl[1], &d->value)) {
		return false;
	}
	if (n == 3) {
		if (!word_is(w[2], wl[2], "USER"))
			return false;
		d->per_user = true;
	}
	return true;
}

void
capa_add_line(struct capa *c, const char *line, size_t len)
{
	const char *w[CAPA_MAX_ITEMS];
	size_t wl[CAPA_MAX_ITEMS], n, i;
	bool ok = true;

	n = words(line, len, w, wl, CAPA_MAX_ITEMS);
	if (n == 0)
		return;
	if (word_is(w[0], wl[0], "TOP")) {
		c->top = true;
		ok = n == 1;
	} else if (word_is(w[0], wl[0], "USER")) {
		c->user = true;
		ok = n == 1;
	} else if (word_is(w[0], wl[0], "SASL")) {
		c->sasl = true;
		for (i = 1; i < n; i++) {
			char *m = g_ascii_strup(w[i], (gssize)wl[i]);
			if (c->sasl_mechs->len < CAPA_MAX_ITEMS && !capa_has_mech(c, m))
				g_ptr_array_add(c->sasl_mechs, m);
			else
				g_free(m);
		}
	} else if (word_is(w[0], wl[0], "RESP-CODES")) {
		c->resp_codes = true;
		ok = n == 1;
	} else if (word_is(w[0], wl[0], "LOGIN-DELAY")) {
		ok = parse_delay(&c->login_delay, w, wl, n, false);
	} else if (word_is(w[0], wl[0], "PIPELINING")) {
		c->pipelining = true;
		ok = n == 1;
	} else if (word_is(w[0], wl[0], "EXPIRE")) {
		ok = parse_delay(&c->expire, w, wl, n, true);
	} else if (word_is(w[0], wl[0], "UIDL")) {
		c->uidl = true;
		ok = n == 1;
	} else if (word_is(w[0], wl[0], "IMPLEMENTATION")) {
		/* The rest of the line, as sent (it is free text). */
		const char *rest = w[0] + wl[0];
		size_t rl = (size_t)(line + len - rest);
		while (rl > 0 && (*rest == ' ' || *rest == '\t')) {
			rest++;
			rl--;
		}
		g_free(c->implementation);
		c->implementation = g_strndup(rest, rl < CAPA_MAX_TEXT ? rl : CAPA_MAX_TEXT);
	} else if (word_is(w[0], wl[0], "STLS")) {
		c->stls = true;
		ok = n == 1;
	} else if (word_is(w[0], wl[0], "AUTH-RESP-CODE")) {
		c->auth_resp_code = true;
		ok = n == 1;
	} else if (word_is(w[0], wl[0], "UTF8")) {
		c->utf8 = true;
		if (n == 2 && word_is(w[1], wl[1], "USER"))
			c->utf8_user = true;
		else
			ok = n == 1;
	} else if (word_is(w[0], wl[0], "LANG")) {
		c->lang = true;
		ok = n == 1;
	} else {
		add_capped(c->other, line, len);
		return;
	}
	if (!ok)
		add_capped(c->malformed, line, len);
}

struct capa *
capa_parse(const char *body, size_t len)
{
	struct capa *c = capa_new();
	size_t i, b, n;

	for (i = 0; i < len; i = b + 1) {
		for (b = i; b < len && body[b] != '\n'; b++)
			;
		n = b - i;
		if (n > 0 && body[i + n - 1] == '\r')
			n--;
		capa_add_line(c, body + i, n);
	}
	return c;
}
