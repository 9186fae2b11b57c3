/*
 * fuzz_creds.c - the credential and SASL decoders (creds.c): USER/PASS,
 * APOP and every AUTH mechanism, on a session model built from the input,
 * then --redact over that model and the decoders again on what it left.
 *
 * Input: lines (LF).  The first character of a line says what it is, the
 * rest is its bytes:
 *   G  the greeting's text           U P A  USER, PASS, APOP with that argument
 *   H  AUTH: "MECH" or "MECH ir"; h  the same with ir base64-encoded here
 *   C  a client SASL line as is;  c  base64-encoded here
 *   S  a server challenge "+ ..." as is;  s  base64-encoded here
 *   +  -  the reply of the last command (text after the indicator, "[CODE] ..." too)
 *   x  the last message was cut short by a gap
 * Encoding here lets the fuzzer write the decoded bytes (NTLM messages,
 * DIGEST-MD5 fields, GS2 headers) directly.
 */
#include <string.h>

#include <glib.h>

#include "creds.h"
#include "fuzz.h"
#include "pop3.h"
#include "session.h"

struct builder {
	struct session *s;
	struct txn *last;
	struct msg *last_msg;
	uint64_t off[2];
	struct ts ts;
};

static char *
dupn(const void *b, size_t n)
{
	char *r = g_malloc(n + 1);

	memcpy(r, b, n);
	r[n] = '\0';
	return r;
}

/* A message of t holding text (a copy), at the next offset of direction d. */
static struct msg *
add_msg(
    struct builder *b, struct txn *t, enum msg_kind kind, enum dir d, const char *text, size_t len)
{
	struct msg *m = session_msg_new(b->s, t, kind, d, b->off[d], b->ts);

	m->text = dupn(text, len);
	m->text_len = m->wire_len = len;
	m->end = b->off[d] + len + 2;
	b->off[d] = m->end;
	b->ts.usec = (b->ts.usec + 1) % 1000000;
	b->last_msg = m;
	return m;
}

static void
add_command(struct builder *b, int cmd, const char *verb, const char *arg, size_t arg_len)
{
	struct txn *t = session_txn_new(b->s, cmd, false);
	GString *line = g_string_new(verb);

	g_free(t->verb);
	t->verb = g_strdup(verb);
	g_free(t->arg);
	t->arg = dupn(arg, arg_len);
	t->arg_len = arg_len;
	g_string_append_c(line, ' ');
	g_string_append_len(line, arg, (gssize)arg_len);
	t->cmd_msg = add_msg(b, t, MSG_COMMAND, DIR_TO_SERVER, line->str, line->len);
	g_string_free(line, TRUE);
	b->last = t;
}

static void
add_reply(struct builder *b, bool ok, const char *text, size_t len)
{
	struct txn *t = b->last;
	GString *line;
	const char *close;

	if (t == NULL)
		return;
	line = g_string_new(ok ? "+OK " : "-ERR ");
	g_string_append_len(line, text, (gssize)len);
	t->status = ok ? POP3_STATUS_OK : POP3_STATUS_ERR;
	g_free(t->text);
	t->text = dupn(text, len);
	t->text_len = len;
	g_free(t->resp_code);
	t->resp_code = NULL;
	if (len > 1 && text[0] == '[' && (close = memchr(text, ']', len)) != NULL)
		t->resp_code = dupn(text + 1, (size_t)(close - text - 1));
	t->status_msg = add_msg(b, t, MSG_STATUS, DIR_TO_CLIENT, line->str, line->len);
	g_string_free(line, TRUE);
}

static void
add_line(struct builder *b, const char *l, size_t n)
{
	char kind = n > 0 ? l[0] : '\0';
	const char *rest = l + (n > 0), *sp;
	size_t rn = n > 0 ? n - 1 : 0;
	gchar *enc = NULL;
	GString *tmp;

	switch (kind) {
	case 'G':
		if (b->s->greeting == NULL) {
			struct txn *g = session_txn_new(b->s, POP3_CMD_GREETING, true);
			g->status = POP3_STATUS_OK;
			g_free(g->text);
			g->text = dupn(rest, rn);
			g->text_len = rn;
			g->status_msg = add_msg(b, g, MSG_GREETING, DIR_TO_CLIENT, rest, rn);
		}
		break;
	case 'U':
		add_command(b, POP3_CMD_USER, "USER", rest, rn);
		break;
	case 'P':
		add_command(b, POP3_CMD_PASS, "PASS", rest, rn);
		break;
	case 'A':
		add_command(b, POP3_CMD_APOP, "APOP", rest, rn);
		break;
	case 'H':
		add_command(b, POP3_CMD_AUTH, "AUTH", rest, rn);
		break;
	case 'h':
		sp = memchr(rest, ' ', rn);
		if (sp == NULL) {
			add_command(b, POP3_CMD_AUTH, "AUTH", rest, rn);
			break;
		}
		enc = g_base64_encode((const guchar *)sp + 1, rn - (size_t)(sp + 1 - rest));
		tmp = g_string_new_len(rest, sp + 1 - rest);
		g_string_append(tmp, enc[0] != '\0' ? enc : "=");
		add_command(b, POP3_CMD_AUTH, "AUTH", tmp->str, tmp->len);
		g_string_free(tmp, TRUE);
		break;
	case 'C':
	case 'c':
		if (b->last == NULL)
			break;
		if (kind == 'c')
			enc = g_base64_encode((const guchar *)rest, rn);
		add_msg(b, b->last, MSG_SASL, DIR_TO_SERVER, enc != NULL ? enc : rest,
		    enc != NULL ? strlen(enc) : rn);
		break;
	case 'S':
	case 's':
		if (b->last == NULL)
			break;
		tmp = g_string_new("+ ");
		if (kind == 's') {
			enc = g_base64_encode((const guchar *)rest, rn);
			g_string_append(tmp, enc);
		} else {
			g_string_append_len(tmp, rest, (gssize)rn);
		}
		add_msg(b, b->last, MSG_CHALLENGE, DIR_TO_CLIENT, tmp->str, tmp->len);
		g_string_free(tmp, TRUE);
		break;
	case '+':
	case '-':
		add_reply(b, kind == '+', rest, rn);
		break;
	case 'x':
		if (b->last_msg != NULL)
			b->last_msg->cut = true;
		break;
	default:
		break;
	}
	g_free(enc);
}

static volatile size_t sink;

static void
collect(struct session *s, bool redact)
{
	GPtrArray *creds = g_ptr_array_new_with_free_func(cred_free_cb);
	guint i;

	creds_collect(s, creds);
	for (i = 0; i < creds->len; i++) {
		struct cred *c = g_ptr_array_index(creds, i);
		sink += strlen(cred_secret_name(c->secret_kind));
		if (cred_outcome_name(c->outcome) != NULL)
			sink++;
		if (c->note != NULL)
			sink += strlen(c->note);
		if (redact)
			creds_redact(c);
	}
	g_ptr_array_free(creds, TRUE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct endpoint c = {{4, {10, 0, 0, 1}}, 40000}, v = {{4, {10, 0, 0, 2}}, 110};
	struct builder b;
	const char *p = (const char *)data, *end = p + size, *lf;
	guchar *dec;
	size_t dlen;

	/* The strict base64 decoder on the raw bytes too. */
	dec = creds_b64decode(p, size, &dlen);
	g_free(dec);
	memset(&b, 0, sizeof(b));
	b.s = session_new(1, &c, &v);
	b.ts.sec = 1000000000;
	while (p < end) {
		lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL)
			lf = end;
		add_line(&b, p, (size_t)(lf - p));
		p = lf + 1;
	}
	collect(b.s, true);
	creds_redact_session(b.s);
	collect(b.s, false);
	session_free(b.s);
	return 0;
}
