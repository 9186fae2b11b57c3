/* pop3.c - POP3 (RFC 1939, 2449, 5034, 2595) dissector: stream bytes -> lines -> transactions. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capa.h"
#include "creds.h"
#include "mime.h"
#include "pop3.h"
#include "tls.h"
#include "util.h"

/* Unknown commands before any server status: then it is not POP3. */
#define POP3_MAX_UNKNOWN_BEFORE_STATUS 8
/* Message numbers whose LIST size and UIDL popflow remembers (memory stays bounded). */
#define POP3_MAX_MSGNO 100000
/* Octets of a skipped server line quoted in its anomaly (escaped as util_append_printable does). */
#define POP3_QUOTE_MAX 80

struct cmd_info {
	const char *name;
	unsigned states;
	enum pop3_multi multi;
};

static const struct cmd_info cmd_table[POP3_CMD__COUNT] = {
    [POP3_CMD_NONE] = {"", POP3_IN_A | POP3_IN_T, ML_NEVER},
    [POP3_CMD_GREETING] = {"", 0, ML_NEVER},
    [POP3_CMD_UNKNOWN] = {"", POP3_IN_A | POP3_IN_T, ML_NEVER},
#define POP3_CMD(name, states, ml, ref) [POP3_CMD_##name] = {#name, states, ml},
#include "pop3_cmds.def"
#undef POP3_CMD
};

struct pop3;
static bool scan_num(const char **at, const char *end, guint64 *v);
static const char *known_uid(const struct pop3 *p, guint64 msgno);
static void junk_settle(struct pop3 *p);

/* A line being assembled in one direction. */
struct linebuf {
	GByteArray *buf; /* kept bytes of the line (capped) */
	uint64_t start;  /* stream offset of the line's first byte */
	size_t wire;     /* bytes of the line seen so far, EOL excluded */
	bool active;
	bool flushed;   /* a long body line already handed on in pieces */
	uint8_t last;   /* the last byte seen of the line */
	bool tail_kept; /* that byte is the last byte of buf */
};

/*
 * Empties a line's kept bytes.  g_byte_array_set_size() would shrink through
 * g_array_remove_range(); a GByteArray's len is public and has no clear
 * function to call, so it is set directly (once per line read).
 */
static void
linebuf_clear(struct linebuf *lb)
{
	lb->buf->len = 0;
}

/* A body that ended and waits for its session's number to be written (--extract). */
struct held_body {
	uint32_t txn; /* its transaction's id */
	void *h;      /* the sink's handle */
};

struct pop3 {
	struct session *s;
	const struct pop3_config *cfg;
	enum pop3_state state;
	struct linebuf lb[2];
	uint64_t pos[2]; /* next stream offset expected per direction */
	struct ts now;
	GQueue pending;   /* struct txn *: commands awaiting a reply, in order */
	struct txn *body; /* txn whose multi-line body is being read */
	bool body_keep;
	struct txn *sasl;      /* AUTH exchange in progress */
	bool sasl_full;        /* it reached POP3_MAX_SASL_LINES (reported once) */
	struct msg *line_msg;  /* the message the line being read became (on_cut_line()) */
	struct msg *opaque[2]; /* current unparsed run per direction */
	bool greeted;
	/*
	 * Lines read in both directions, in the order they were read, and the
	 * number of the last server line: a command read after the server's
	 * last line was sent by a client that had seen it (not_a_status()).
	 */
	uint64_t lines_read, last_server_line;
	/* A line that is no status, held as the reply of junk_txn until the next line (not_a_status()). */
	struct txn *junk_txn;
	char *junk_quote; /* the line quoted for its anomaly */
	int junk_anom;    /* index of that anomaly in s->anomalies, -1 if not listed */
	bool resync;      /* mid-session start: skip server lines until a status */
	bool capa_pipelining;
	bool body_gap; /* bytes of the current body are missing */
	bool warned_pipelining;
	bool warned_bare_lf[2];
	unsigned unknown_before_status;
	bool seen_status;
	/* RFC 2595 / RFC 8314: TLS */
	bool implicit_tls;    /* POP3S (port 995), or TLS from the first byte */
	bool tls_sniffed[2];  /* the first bytes after the switch to TLS were looked at */
	bool dir_tls[2];      /* this direction began TLS before the STLS reply */
	struct tls_conn *tls; /* the TLS layer, once TLS began (tls.h) */
	bool tls_on[2];       /* this direction's bytes go to the TLS layer */
	bool inner;           /* parsing decrypted bytes: offsets are plaintext offsets */
	/* Sizes and ids the server announced, indexed by message number. */
	GArray *sizes;                /* gint64, -1 = unknown */
	GPtrArray *uids;              /* char * or NULL */
	gint64 stat_count, stat_size; /* -1 until STAT answered */
	/* The body of the RETR/TOP being read goes to the mail sink. */
	void *sink_h;
	bool sink_done; /* the sink wants no more of this body */
	GArray *held;   /* struct held_body: bodies ended, written when the session is reported */
	bool held_full;
	struct capa *capa; /* the CAPA listing being read */
	/* What the model points to (session.h): freed with the parser. */
	GPtrArray *creds, *capas, *mails, *strs;
};

/*
 * The dissector's pointers into the model: the pending queue, the body being
 * read (p->body) and the AUTH exchange (p->sasl).  They are set and cleared
 * only here, and each marks its transaction held (txn.held, session.h): a
 * held transaction is never settled, so shed_txns() (session.c) never frees
 * one under us, whatever the session's length.  The one other pointer,
 * p->line_msg, lives only while one line is read (see on_cut_line()).
 */
static void
pending_push(struct pop3 *p, struct txn *t)
{
	t->read_at = ++p->lines_read;
	t->held |= TXN_HELD_PENDING;
	g_queue_push_tail(&p->pending, t);
}

static struct txn *
pending_pop(struct pop3 *p)
{
	struct txn *t = g_queue_pop_head(&p->pending);

	if (t != NULL)
		t->held &= (uint8_t)~TXN_HELD_PENDING;
	return t;
}

static void
set_body(struct pop3 *p, struct txn *t)
{
	if (p->body != NULL)
		p->body->held &= (uint8_t)~TXN_HELD_BODY;
	p->body = t;
	if (t != NULL)
		t->held |= TXN_HELD_BODY;
}

static void
set_sasl(struct pop3 *p, struct txn *t)
{
	if (p->sasl != NULL)
		p->sasl->held &= (uint8_t)~TXN_HELD_SASL;
	p->sasl_full = false;
	p->sasl = t;
	if (t != NULL)
		t->held |= TXN_HELD_SASL;
}

/* A message of transaction t (NULL: opaque bytes), remembered as the current line's. */
static struct msg *
msg_new(struct pop3 *p, struct txn *t, enum msg_kind kind, enum dir d, uint64_t off)
{
	struct msg *m = session_msg_new(p->s, t, kind, d, off, p->now);

	p->line_msg = m;
	return m;
}

const char *
pop3_status_name(enum pop3_status st)
{
	switch (st) {
	case POP3_STATUS_OK:
		return "+OK";
	case POP3_STATUS_ERR:
		return "-ERR";
	default:
		return NULL;
	}
}

const char *
pop3_cmd_name(int cmd)
{
	if (cmd < 0 || cmd >= POP3_CMD__COUNT)
		return "";
	return cmd_table[cmd].name;
}

int
pop3_cmd_lookup(const char *verb, size_t len)
{
	int i;

	for (i = POP3_CMD_UNKNOWN + 1; i < POP3_CMD__COUNT; i++)
		if (strlen(cmd_table[i].name) == len &&
		    g_ascii_strncasecmp(cmd_table[i].name, verb, len) == 0)
			return i;
	return POP3_CMD_UNKNOWN;
}

enum pop3_multi
pop3_cmd_multi(int cmd)
{
	return cmd >= 0 && cmd < POP3_CMD__COUNT ? cmd_table[cmd].multi : ML_NEVER;
}

unsigned
pop3_cmd_states(int cmd)
{
	return cmd >= 0 && cmd < POP3_CMD__COUNT ? cmd_table[cmd].states : 0;
}

const char *
pop3_state_name(enum pop3_state st)
{
	switch (st) {
	case POP3_ST_GREETING:
		return "GREETING";
	case POP3_ST_UNKNOWN:
		return "UNKNOWN";
	case POP3_ST_AUTHORIZATION:
		return "AUTHORIZATION";
	case POP3_ST_TRANSACTION:
		return "TRANSACTION";
	case POP3_ST_UPDATE:
		return "UPDATE";
	case POP3_ST_TLS:
		return "TLS";
	case POP3_ST_OPAQUE:
		return "OPAQUE";
	}
	return "?";
}

/* TLS from the first byte (RFC 8314, port 995, or seen in the bytes): counted, not parsed. */
static void
enter_implicit_tls(struct pop3 *p, bool sniffed)
{
	p->implicit_tls = true;
	p->state = POP3_ST_TLS;
	p->s->proto = PROTO_POP3S;
	p->s->tls_start[0] = p->pos[0];
	p->s->tls_start[1] = p->pos[1];
	if (sniffed)
		session_anomaly(p->s, ANOM_IMPLICIT_TLS, DIR_TO_SERVER, 0, NULL,
		    "TLS from the first byte on port %u", p->s->server.port);
}

struct pop3 *
pop3_new(struct session *s, const struct pop3_config *cfg)
{
	struct pop3 *p = g_new0(struct pop3, 1);
	int d;

	p->s = s;
	p->cfg = cfg;
	g_queue_init(&p->pending);
	for (d = 0; d < 2; d++)
		p->lb[d].buf = g_byte_array_new();
	p->sizes = g_array_new(FALSE, FALSE, sizeof(gint64));
	p->uids = g_ptr_array_new_with_free_func(g_free);
	p->stat_count = p->stat_size = -1;
	p->junk_anom = -1;
	p->creds = g_ptr_array_new_with_free_func(cred_free_cb);
	p->capas = g_ptr_array_new_with_free_func(capa_free_cb);
	p->mails = g_ptr_array_new_with_free_func(mail_info_free_cb);
	p->strs = g_ptr_array_new_with_free_func(g_free);
	p->held = g_array_new(FALSE, FALSE, sizeof(struct held_body));
	if (s->handshake == HS_SEEN) {
		p->state = POP3_ST_GREETING;
	} else {
		/* Joined mid-session: no greeting, state unknown, maybe mid-reply. */
		p->state = POP3_ST_UNKNOWN;
		p->greeted = true;
		p->resync = true;
	}
	if (s->proto == PROTO_POP3S)
		enter_implicit_tls(p, false); /* RFC 8314: TLS from the first byte */
	return p;
}

enum pop3_state
pop3_state(const struct pop3 *p)
{
	return p->state;
}

void
pop3_free(struct pop3 *p)
{
	int d;
	guint i;

	if (p == NULL)
		return;
	if (p->sink_h != NULL)
		p->cfg->sink->discard(p->cfg->sink_arg, p->sink_h);
	for (i = 0; i < p->held->len; i++)
		p->cfg->sink->discard(
		    p->cfg->sink_arg, g_array_index(p->held, struct held_body, i).h);
	g_array_free(p->held, TRUE);
	if (p->tls != NULL) {
		p->s->tls = NULL;
		p->s->plain_map = NULL;
		tls_conn_free(p->tls);
	}
	g_queue_clear(&p->pending);
	g_free(p->junk_quote);
	for (d = 0; d < 2; d++)
		g_byte_array_free(p->lb[d].buf, TRUE);
	g_array_free(p->sizes, TRUE);
	g_ptr_array_free(p->uids, TRUE);
	g_ptr_array_free(p->creds, TRUE);
	g_ptr_array_free(p->capas, TRUE);
	g_ptr_array_free(p->mails, TRUE);
	g_ptr_array_free(p->strs, TRUE);
	g_free(p);
}

/* Copies n bytes into a NUL-terminated string (the bytes may hold NULs). */
static char *
dup_bytes(const uint8_t *b, size_t n)
{
	char *s = g_malloc(n + 1);

	if (n > 0)
		memcpy(s, b, n);
	s[n] = '\0';
	return s;
}

/*
 * A message holding one line: its first keep bytes as text, wire bytes on
 * the wire before the line ending of eol bytes.
 */
static struct msg *
line_msg_new(struct pop3 *p, struct txn *t, enum msg_kind kind, enum dir d, uint64_t off,
    const char *line, size_t keep, size_t wire, size_t eol)
{
	struct msg *m = msg_new(p, t, kind, d, off);

	m->text = dup_bytes((const uint8_t *)line, keep);
	m->text_len = keep;
	m->wire_len = wire;
	m->end = off + wire + eol;
	return m;
}

static void
opaque_bytes(struct pop3 *p, enum dir d, uint64_t off, size_t len)
{
	struct msg *m = p->opaque[d];

	if (len == 0)
		return;
	if (m == NULL || m->end != off) {
		m = session_msg_new(p->s, NULL, MSG_OPAQUE, d, off, p->now);
		p->opaque[d] = m;
	}
	m->end = off + len;
	p->s->unparsed[d] += len;
}

/* The traffic is not POP3: forget what was parsed, count bytes from now on. */
static void
declare_not_pop3(struct pop3 *p, enum dir d, uint64_t off, const char *why)
{
	int i;

	while (pending_pop(p) != NULL)
		;
	set_body(p, NULL);
	set_sasl(p, NULL);
	p->junk_txn = NULL;
	g_free(p->junk_quote);
	p->junk_quote = NULL;
	p->junk_anom = -1;
	if (p->sink_h != NULL) {
		p->cfg->sink->discard(p->cfg->sink_arg, p->sink_h);
		p->sink_h = NULL;
	}
	p->capa = NULL;
	p->s->utf8 = false;
	p->s->lang = NULL;
	session_clear_txns(p->s);
	p->line_msg = NULL;            /* freed with the transactions */
	session_clear_anomalies(p->s); /* they were about a protocol it does not speak */
	p->opaque[0] = p->opaque[1] = NULL;
	p->s->unparsed[0] = p->s->unparsed[1] = 0; /* counted again below, from the start */
	for (i = 0; i < 2 && !p->inner; i++)
		opaque_bytes(p, (enum dir)i, 0, p->lb[i].active ? p->lb[i].start : p->pos[i]);
	p->s->proto = PROTO_NOT_POP3;
	p->state = POP3_ST_OPAQUE;
	session_anomaly(p->s, ANOM_NOT_POP3, d, off, NULL, "%s", why);
}

static bool
has_nul(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

/* Valid SASL data: base64, or "*" (cancel), or "=" (empty initial response). */
static bool
sasl_data_ok(const char *s, size_t n)
{
	guchar *dec;
	size_t dl;

	if (n == 1 && (s[0] == '*' || s[0] == '='))
		return true;
	dec = creds_b64decode(s, n, &dl);
	g_free(dec);
	return dec != NULL;
}

/* Line endings and NUL bytes, for every line either side sends. */
static void
check_eol_nul(struct pop3 *p, enum dir d, const char *line, size_t keep, size_t eol, uint64_t off,
    const struct txn *t)
{
	if (eol == 1 && !p->warned_bare_lf[d]) {
		p->warned_bare_lf[d] = true;
		session_anomaly(p->s, ANOM_BARE_LF, d, off, t,
		    "%s line ends with a bare LF (further ones not reported)",
		    d == DIR_TO_SERVER ? "client" : "server");
	}
	if (has_nul(line, keep))
		session_anomaly(p->s, ANOM_NUL_BYTE, d, off, t, "line holds a NUL byte");
}

/*
 * SASL lines (RFC 5034 section 4) are neither commands nor replies: the
 * 255/512-octet limits of RFC 2449 section 4 do not apply to them (an NTLM
 * or Kerberos token is longer), the line ending and NUL checks do.
 */
/*
 * RFC 5034 sets no limit to the rounds of an AUTH exchange, and its
 * transaction is held while the exchange goes on: past POP3_MAX_SASL_LINES
 * lines, further lines are counted (as bytes not parsed), not kept, so an
 * exchange that never ends grows no memory.  True when this line is one of those.
 */
static bool
sasl_line_dropped(struct pop3 *p, enum dir d, uint64_t off, size_t len)
{
	if (p->sasl->msgs->len <= POP3_MAX_SASL_LINES) /* its command, then its lines */
		return false;
	if (!p->sasl_full) {
		p->sasl_full = true;
		session_anomaly(p->s, ANOM_SASL_TOO_LONG, d, off, p->sasl,
		    "more than %d challenge and response lines in one AUTH exchange: "
		    "later ones are counted, not kept",
		    POP3_MAX_SASL_LINES);
	}
	opaque_bytes(p, d, off, len);
	return true;
}

static void
check_sasl_line(struct pop3 *p, enum dir d, const char *line, size_t keep, size_t eol, uint64_t off,
    const struct txn *t)
{
	check_eol_nul(p, d, line, keep, eol, off, t);
	if (d == DIR_TO_SERVER && keep < POP3_LINE_KEEP && !sasl_data_ok(line, keep))
		session_anomaly(p->s, ANOM_SASL_BAD_BASE64, d, off, t,
		    "a SASL response of %zu octet%s is not base64", keep, util_plural(keep));
}

/* What a command's argument tells: message number, UID, APOP and AUTH checks. */
static void
command_details(struct pop3 *p, struct txn *t, uint64_t off)
{
	const char *q = t->arg, *end = t->arg + t->arg_len, *sp;
	const struct txn *g = p->s->greeting;
	guint64 n;

	switch (t->cmd) {
	case POP3_CMD_RETR:
	case POP3_CMD_TOP:
	case POP3_CMD_LIST:
	case POP3_CMD_UIDL:
	case POP3_CMD_DELE:
		if (scan_num(&q, end, &n) && n <= G_MAXUINT32)
			t->msgno = (uint32_t)n;
		if (t->cmd == POP3_CMD_RETR || t->cmd == POP3_CMD_TOP)
			t->uidl = g_strdup(known_uid(p, t->msgno));
		break;
	case POP3_CMD_APOP:
		/* RFC 1939 section 7: APOP needs the greeting's <timestamp>. */
		if (g != NULL &&
		    (memchr(g->text, '<', g->text_len) == NULL ||
		        memchr(g->text, '>', g->text_len) == NULL))
			session_anomaly(p->s, ANOM_APOP_WITHOUT_TIMESTAMP, DIR_TO_SERVER, off, t,
			    "the greeting offered no timestamp to digest");
		break;
	case POP3_CMD_AUTH:
		sp = memchr(t->arg, ' ', t->arg_len);
		if (sp != NULL && t->arg_len < POP3_LINE_KEEP &&
		    !sasl_data_ok(sp + 1, (size_t)(end - sp - 1)))
			session_anomaly(p->s, ANOM_SASL_BAD_BASE64, DIR_TO_SERVER, off, t,
			    "the initial response is not base64");
		break;
	default:
		break;
	}
}

static void
check_line(struct pop3 *p, enum dir d, const char *line, size_t keep, size_t wire, size_t eol,
    uint64_t off, const struct txn *t)
{
	size_t limit = d == DIR_TO_SERVER ? POP3_MAX_CMD_LINE : POP3_MAX_RSP_LINE;

	check_eol_nul(p, d, line, keep, eol, off, t);
	if (wire + 2 > limit)
		session_anomaly(p->s, ANOM_LINE_TOO_LONG, d, off, t,
		    "%zu octets with CRLF, the limit is %zu", wire + 2, limit);
}

static bool
state_allows(enum pop3_state st, int cmd)
{
	unsigned states = pop3_cmd_states(cmd);

	switch (st) {
	case POP3_ST_AUTHORIZATION:
		return (states & POP3_IN_A) != 0;
	case POP3_ST_TRANSACTION:
		return (states & POP3_IN_T) != 0;
	case POP3_ST_UNKNOWN:
		return true;
	default:
		return false;
	}
}

static void
on_command(struct pop3 *p, const char *line, size_t keep, size_t wire, size_t eol, uint64_t off)
{
	struct session *s = p->s;
	const char *sp;
	size_t vlen;
	struct txn *t, *old;
	struct msg *m;
	int cmd;
	size_t i, a;

	junk_settle(p); /* the client went on: a line held as a reply was that reply */
	if (p->sasl != NULL) {
		/* RFC 5034 section 4: during AUTH, client lines answer challenges. */
		p->sasl->read_at = ++p->lines_read; /* the client answered: it waits again */
		if (sasl_line_dropped(p, DIR_TO_SERVER, off, wire + eol))
			return;
		m = line_msg_new(p, p->sasl, MSG_SASL, DIR_TO_SERVER, off, line, keep, wire, eol);
		check_sasl_line(p, DIR_TO_SERVER, line, keep, eol, off, p->sasl);
		return;
	}
	if (wire == 0) {
		session_anomaly(
		    s, ANOM_EMPTY_COMMAND, DIR_TO_SERVER, off, NULL, "empty command line");
		opaque_bytes(p, DIR_TO_SERVER, off, eol);
		return;
	}
	sp = memchr(line, ' ', keep);
	vlen = sp != NULL ? (size_t)(sp - line) : keep;
	cmd = pop3_cmd_lookup(line, vlen);
	t = session_txn_new(s, cmd, false);
	g_free(t->verb);
	t->verb = dup_bytes((const uint8_t *)line, vlen);
	for (i = 0; i < vlen; i++)
		t->verb[i] = g_ascii_toupper(t->verb[i]);
	g_free(t->arg);
	if (sp != NULL) {
		t->arg_len = keep - vlen - 1;
		t->arg = dup_bytes((const uint8_t *)sp + 1, t->arg_len);
	} else {
		t->arg = g_strdup("");
	}
	m = line_msg_new(p, t, MSG_COMMAND, DIR_TO_SERVER, off, line, keep, wire, eol);
	t->cmd_msg = m;
	check_line(p, DIR_TO_SERVER, line, keep, wire, eol, off, t);
	command_details(p, t, off);

	if (cmd == POP3_CMD_UNKNOWN && s->candidate && !s->confirmed) {
		/* Probing a port that is not a POP3 port: the dialogue says no. */
		declare_not_pop3(p, DIR_TO_SERVER, off, "not a POP3 command on a non-POP3 port");
		return;
	}
	if (cmd == POP3_CMD_UNKNOWN) {
		session_anomaly(s, ANOM_UNKNOWN_COMMAND, DIR_TO_SERVER, off, t,
		    "unknown command '%.40s'", t->verb);
		if (!p->seen_status &&
		    ++p->unknown_before_status > POP3_MAX_UNKNOWN_BEFORE_STATUS) {
			declare_not_pop3(
			    p, DIR_TO_SERVER, off, "many unknown commands and no POP3 reply");
			return;
		}
	} else if (p->state == POP3_ST_GREETING) {
		session_anomaly(s, ANOM_DATA_BEFORE_GREETING, DIR_TO_SERVER, off, t,
		    "%s sent before the server's greeting", t->verb);
	} else if (cmd == POP3_CMD_PASS && p->state == POP3_ST_AUTHORIZATION &&
	    !(s->txns->len >= 2 &&
	        ((struct txn *)g_ptr_array_index(s->txns, s->txns->len - 2))->cmd ==
	            POP3_CMD_USER)) {
		session_anomaly(s, ANOM_WRONG_STATE, DIR_TO_SERVER, off, t,
		    "PASS not right after USER (RFC 1939 section 7)");
	}
	/* RFC 1939 section 3: each argument up to 40 characters; PASS and AUTH are exempt. */
	if (cmd != POP3_CMD_PASS && cmd != POP3_CMD_AUTH && cmd != POP3_CMD_UNKNOWN) {
		for (i = 0; i < t->arg_len; i = a + 1) {
			for (a = i; a < t->arg_len && t->arg[a] != ' '; a++)
				;
			if (a - i > POP3_MAX_ARG) {
				session_anomaly(s, ANOM_ARG_TOO_LONG, DIR_TO_SERVER, off, t,
				    "argument of %zu octets (limit %d)", a - i, POP3_MAX_ARG);
				break;
			}
		}
	}
	if (!g_queue_is_empty(&p->pending) && !p->capa_pipelining && !p->warned_pipelining) {
		p->warned_pipelining = true;
		session_anomaly(s, ANOM_PIPELINING_WITHOUT_CAPA, DIR_TO_SERVER, off, t,
		    "%s sent while %u command(s) await a reply", t->verb,
		    g_queue_get_length(&p->pending));
	}
	if (g_queue_get_length(&p->pending) >= POP3_MAX_PENDING) {
		old = pending_pop(p); /* no longer held: it settles (never answered) */
		old->partial = true;
		session_anomaly(s, ANOM_TOO_MANY_PENDING, DIR_TO_SERVER, off, old,
		    "more than %d commands await replies; gave up on #%u", POP3_MAX_PENDING,
		    old->id);
	}
	pending_push(p, t);
	if (cmd == POP3_CMD_AUTH && t->arg_len > 0 && g_queue_get_length(&p->pending) == 1)
		set_sasl(p, t);
}

/* An AUTH pipelined behind other commands starts its exchange when it is next to be answered. */
static void
sasl_at_head(struct pop3 *p)
{
	struct txn *h = g_queue_peek_head(&p->pending);

	if (p->sasl == NULL && h != NULL && h->cmd == POP3_CMD_AUTH && h->arg_len > 0 &&
	    h->status == POP3_STATUS_NONE)
		set_sasl(p, h);
}

/*
 * RFC 2449 section 8: "[" resp-level *("/" resp-level) "]" right after the
 * status and a space; resp-level = 1*rchar, rchar = %x21-2E / %x30-5C / %x5E-7F.
 */
static char *
parse_resp_code(const char *text, size_t len)
{
	size_t i, level = 0;

	if (len < 3 || text[0] != '[')
		return NULL;
	for (i = 1; i < len && text[i] != ']'; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '/') {
			if (level == 0)
				return NULL; /* an empty level */
			level = 0;
		} else if (c < 0x21 || c > 0x7f) {
			return NULL;
		} else {
			level++;
		}
	}
	if (i >= len || level == 0)
		return NULL;
	return dup_bytes((const uint8_t *)text + 1, i - 1);
}

/* ---- sizes and unique ids the server announced (RFC 1939 sections 5 and 7) ---- */

/* A decimal number at *at (then skips spaces); false if there is none. */
static bool
scan_num(const char **at, const char *end, guint64 *v)
{
	const char *q = *at;
	guint64 n = 0;

	if (q >= end || !g_ascii_isdigit(*q))
		return false;
	for (; q < end && g_ascii_isdigit(*q); q++) {
		if (n > G_MAXUINT64 / 10 - 1)
			return false;
		n = n * 10 + (guint64)(*q - '0');
	}
	if (q < end && *q != ' ')
		return false;
	while (q < end && *q == ' ')
		q++;
	*at = q;
	*v = n;
	return true;
}

static void
remember_size(struct pop3 *p, guint64 msgno, guint64 size)
{
	gint64 unknown = -1, v = (gint64)size;

	if (msgno == 0 || msgno > POP3_MAX_MSGNO || size > G_MAXINT64)
		return;
	while (p->sizes->len <= msgno)
		g_array_append_val(p->sizes, unknown);
	g_array_index(p->sizes, gint64, msgno) = v;
}

static gint64
known_size(const struct pop3 *p, guint64 msgno)
{
	return msgno > 0 && msgno < p->sizes->len ? g_array_index(p->sizes, gint64, msgno) : -1;
}

/* RFC 1939 section 7: a unique-id is 1 to 70 characters 0x21-0x7E. */
static void
remember_uid(struct pop3 *p, guint64 msgno, const char *uid, size_t n)
{
	size_t i;

	if (msgno == 0 || msgno > POP3_MAX_MSGNO || n == 0 || n > 70)
		return;
	for (i = 0; i < n; i++)
		if ((unsigned char)uid[i] < 0x21 || (unsigned char)uid[i] > 0x7e)
			return;
	if (p->uids->len <= msgno)
		g_ptr_array_set_size(p->uids, (guint)msgno + 1);
	g_free(g_ptr_array_index(p->uids, msgno));
	g_ptr_array_index(p->uids, msgno) = g_strndup(uid, n);
}

static const char *
known_uid(const struct pop3 *p, guint64 msgno)
{
	return msgno > 0 && msgno < p->uids->len ? g_ptr_array_index(p->uids, msgno) : NULL;
}

/* "msg SP size" (LIST) or "msg SP uid" (UIDL): a listing line or a single-line reply. */
static void
listing_entry(struct pop3 *p, int cmd, const char *line, size_t n)
{
	const char *q = line, *end = line + n, *e;
	guint64 msgno, size;

	if (!scan_num(&q, end, &msgno))
		return;
	if (cmd == POP3_CMD_LIST) {
		if (scan_num(&q, end, &size))
			remember_size(p, msgno, size);
	} else if (cmd == POP3_CMD_UIDL) {
		for (e = q; e < end && *e != ' '; e++)
			;
		remember_uid(p, msgno, q, (size_t)(e - q));
	}
}

/* ---- bodies of RETR and TOP go to the mail sink (extract.c) ---- */

static void
mail_begin(struct pop3 *p, struct txn *t)
{
	const struct pop3_mail_sink *k = p->cfg->sink;

	if (k == NULL)
		return;
	if (p->sink_h != NULL)
		k->discard(p->cfg->sink_arg, p->sink_h);
	p->sink_h = k->begin(p->cfg->sink_arg, p->s, t);
	p->sink_done = false;
}

static void
mail_data(struct pop3 *p, const void *b, size_t n)
{
	if (p->sink_h != NULL && n > 0 && !p->sink_done)
		p->sink_done = !p->cfg->sink->data(p->cfg->sink_arg, p->sink_h, b, n);
}

static void
mail_end(struct pop3 *p, struct txn *t, bool complete)
{
	struct mail_info *mi;
	struct held_body hb = {t->id, NULL};

	if (p->sink_h == NULL)
		return;
	mi = p->cfg->sink->end(p->cfg->sink_arg, p->sink_h, p->s, t, complete, &hb.h);
	p->sink_h = NULL;
	if (mi != NULL && p->mails->len >= SESSION_MAX_TXNS) {
		/* As many as transactions are kept: a RETR flood stays bounded too. */
		mail_info_free_cb(mi);
	} else if (mi != NULL) {
		g_ptr_array_add(p->mails, mi);
		t->mail = mi;
	}
	if (hb.h == NULL)
		return;
	if (p->held->len >= SESSION_MAX_TXNS) {
		/* As many bodies wait for the session's number as transactions are kept. */
		p->cfg->sink->discard(p->cfg->sink_arg, hb.h);
		if (!p->held_full)
			session_anomaly(p->s, ANOM_TRANSACTION_LIMIT, DIR_TO_CLIENT,
			    t->status_msg != NULL ? t->status_msg->off : UINT64_MAX, t,
			    "more than %u bodies to extract in one session: this one and later "
			    "ones are not written",
			    SESSION_MAX_TXNS);
		p->held_full = true;
		return;
	}
	g_array_append_val(p->held, hb);
}

void
pop3_reported(struct pop3 *p)
{
	const struct held_body *hb;
	struct txn *t;
	char *path;
	guint i, k = 0;

	if (p == NULL)
		return;
	for (i = 0; i < p->held->len; i++) {
		hb = &g_array_index(p->held, struct held_body, i);
		path = p->cfg->sink->place(p->cfg->sink_arg, hb->h, p->s);
		if (path == NULL)
			continue;
		/* Bodies end in transaction order: one walk finds each kept transaction. */
		t = NULL;
		while (k < p->s->txns->len) {
			struct txn *c = g_ptr_array_index(p->s->txns, k);
			if (c->id > hb->txn)
				break;
			k++;
			if (c->id == hb->txn) {
				t = c;
				break;
			}
		}
		if (t != NULL && p->strs->len < SESSION_MAX_TXNS) {
			g_ptr_array_add(p->strs, path);
			t->extracted = path;
		} else {
			g_free(
			    path); /* the transaction was let go (SESSION_MAX_TXNS): the file stays */
		}
	}
	g_array_set_size(p->held, 0);
}

/* RETR: the size after unstuffing against every size the server announced (never for framing). */
static void
check_size(struct pop3 *p, struct txn *t)
{
	gint64 list = known_size(p, t->msgno), reply = -1, stat = -1;
	const char *q = t->text, *end = t->text + t->text_len;
	guint64 v;

	if (t->cmd != POP3_CMD_RETR || t->partial || t->msgno == 0)
		return;
	/* "+OK 120 octets" (RFC 1939 section 5 example): only a number followed by "octet". */
	if (scan_num(&q, end, &v) && end - q >= 5 && g_ascii_strncasecmp(q, "octet", 5) == 0)
		reply = (gint64)v;
	/* STAT counts every message: its size is this one's only in a mailbox of one. */
	if (p->stat_count == 1 && t->msgno == 1)
		stat = p->stat_size;
	if (list >= 0) {
		t->announced_octets = list;
		t->announced_by = "LIST";
	} else if (reply >= 0) {
		t->announced_octets = reply;
		t->announced_by = "reply";
	} else if (stat >= 0) {
		t->announced_octets = stat;
		t->announced_by = "STAT";
	}
	if (list >= 0 && (guint64)list != t->body_octets)
		session_anomaly(p->s, ANOM_SIZE_MISMATCH, DIR_TO_CLIENT, t->body_msg->off, t,
		    "message %u: %llu octet%s after unstuffing, LIST said %lld", t->msgno,
		    (unsigned long long)t->body_octets, util_plural(t->body_octets),
		    (long long)list);
	if (reply >= 0 && (guint64)reply != t->body_octets)
		session_anomaly(p->s, ANOM_SIZE_MISMATCH, DIR_TO_CLIENT, t->body_msg->off, t,
		    "message %u: %llu octet%s after unstuffing, the RETR reply said %lld", t->msgno,
		    (unsigned long long)t->body_octets, util_plural(t->body_octets),
		    (long long)reply);
	if (list < 0 && stat >= 0 && (guint64)stat != t->body_octets)
		session_anomaly(p->s, ANOM_SIZE_MISMATCH, DIR_TO_CLIENT, t->body_msg->off, t,
		    "message %u: %llu octet%s after unstuffing, STAT said %lld for its only "
		    "message",
		    t->msgno, (unsigned long long)t->body_octets, util_plural(t->body_octets),
		    (long long)stat);
}

/* The body's message, made at off (its first line) when its first bytes come. */
static struct msg *
body_msg(struct pop3 *p, uint64_t off)
{
	struct txn *t = p->body;
	struct msg *m = t->body_msg;

	if (m == NULL) {
		m = msg_new(p, t, MSG_BODY, DIR_TO_CLIENT, off);
		t->body_msg = m;
		if (p->body_keep)
			m->data = g_byte_array_new();
	}
	return m;
}

static void
body_line(struct pop3 *p, const char *line, size_t keep, size_t wire, size_t eol, uint64_t off,
    bool first_piece, bool last_piece)
{
	struct txn *t = p->body;
	struct msg *m = body_msg(p, off);
	const char *content = line;
	size_t n = keep;

	/* RFC 1939 section 3: a leading "." is byte-stuffed; strip exactly one. */
	if (first_piece && n > 0 && content[0] == '.') {
		content++;
		n--;
	}
	/* wire: bytes of the line seen so far; the body reaches at least that far. */
	if (off + wire + (last_piece ? eol : 0) > m->end)
		m->end = off + wire + (last_piece ? eol : 0);
	m->octets += n + (last_piece ? eol : 0);
	if (last_piece)
		m->lines++;
	if (m->data != NULL && !m->data_truncated) {
		size_t cap = t->cmd == POP3_CMD_RETR || t->cmd == POP3_CMD_TOP
		    ? p->cfg->max_body_keep
		    : POP3_KEEP_LIST_BYTES;
		size_t add = n + (last_piece ? eol : 0);
		if (m->data->len + add > cap) {
			m->data_truncated = true;
		} else {
			g_byte_array_append(m->data, (const guint8 *)content, (guint)n);
			if (last_piece)
				g_byte_array_append(m->data,
				    (const guint8 *)(eol == 2 ? "\r\n" : "\n"), (guint)eol);
		}
	}
	if (t->cmd == POP3_CMD_RETR || t->cmd == POP3_CMD_TOP) {
		mail_data(p, content, n);
		if (last_piece)
			mail_data(p, eol == 2 ? "\r\n" : "\n", eol);
	} else if (first_piece && last_piece) {
		if (t->cmd == POP3_CMD_CAPA && p->capa != NULL) {
			capa_add_line(p->capa, content, n);
			if (p->capa->pipelining)
				p->capa_pipelining = true;
			/* RFC 2449 section 4: each capability line obeys the 512-octet limit. */
			if (wire + 2 > POP3_MAX_RSP_LINE)
				session_anomaly(p->s, ANOM_LINE_TOO_LONG, DIR_TO_CLIENT, off, t,
				    "CAPA line of %zu octets with CRLF, the limit is %d", wire + 2,
				    POP3_MAX_RSP_LINE);
		} else if ((t->cmd == POP3_CMD_LIST || t->cmd == POP3_CMD_UIDL) && !p->body_gap) {
			listing_entry(p, t->cmd, content, n);
		}
	}
	t->body_octets = m->octets;
	t->body_lines = m->lines;
}

/*
 * n bytes of whole lines of a RETR or TOP body ending at stream offset
 * end, already unstuffed (the stuffing "." of the first was skipped): what
 * body_line() does line by line, for the lines at once.  A line and its
 * CRLF or LF are the body's bytes as they are, so the run goes on as it is.
 * first: where the first line body_bulk() read in this chunk begins.
 */
static void
body_run(struct pop3 *p, const uint8_t *b, size_t n, uint64_t lines, uint64_t first, uint64_t end)
{
	struct txn *t = p->body;
	/* No message yet: no byte of the body came before the first line read with this run. */
	struct msg *m = body_msg(p, first);
	const uint8_t *lf;
	size_t room;

	if (end > m->end)
		m->end = end;
	m->octets += n;
	m->lines += lines;
	if (m->data != NULL && !m->data_truncated) {
		/* Kept up to the cap in whole lines, as body_line() keeps them. */
		room =
		    m->data->len < p->cfg->max_body_keep ? p->cfg->max_body_keep - m->data->len : 0;
		if (n <= room) {
			g_byte_array_append(m->data, b, (guint)n);
		} else {
			lf = memrchr(b, '\n', room);
			if (lf != NULL)
				g_byte_array_append(m->data, b, (guint)(lf - b + 1));
			m->data_truncated = true;
		}
	}
	mail_data(p, b, n);
	t->body_octets = m->octets;
	t->body_lines = m->lines;
	p->lines_read += lines;
	p->last_server_line = p->lines_read;
}

/* Does the body being read take its lines in runs (body_bulk())? */
static bool
body_bulk_ok(const struct pop3 *p)
{
	/* A gap may have swallowed the final ".": every line is then checked (listing_cut()). */
	return p->body != NULL && (p->body->cmd == POP3_CMD_RETR || p->body->cmd == POP3_CMD_TOP) &&
	    !p->body_gap;
}

/*
 * The complete lines of a RETR or TOP body at the start of buf (none of it
 * part of a line already begun), read with one memchr() per line and handed
 * on in runs: a run ends only where a line is dot-stuffed (RFC 1939 section
 * 3: its first "." is not part of the body).  Stops before the final ".",
 * before a line longer than POP3_BODY_LINE_BUF (read in pieces by the
 * caller) and before a line that does not end in buf.  Returns the bytes
 * read; *stop_lf is the LF ending the line it stopped at (NULL: none in buf).
 */
static size_t
body_bulk(struct pop3 *p, const uint8_t *buf, size_t len, uint64_t off, const uint8_t **stop_lf)
{
	size_t i = 0, run = 0, n;
	uint64_t lines = 0;
	const uint8_t *lf = NULL;

	while (i < len) {
		lf = memchr(buf + i, '\n', len - i);
		if (lf == NULL)
			break;
		n = (size_t)(lf - (buf + i)); /* the line without its LF */
		if (n > POP3_BODY_LINE_BUF)
			break;
		if (buf[i] == '.') {
			if (n == 1 || (n == 2 && buf[i + 1] == '\r'))
				break; /* ".CRLF" (or ".LF"): the end of the body */
			if (i > run)
				body_run(p, buf + run, i - run, lines, off, off + i);
			lines = 0;
			run = i + 1; /* the stuffing "." */
		}
		lines++;
		i += n + 1;
	}
	if (i > run)
		body_run(p, buf + run, i - run, lines, off, off + i);
	*stop_lf = i < len ? lf : NULL;
	return i;
}

/*
 * The start of a RETR or TOP body line that does not end in this chunk,
 * handed on now as the line's first piece, as flush_body_piece() hands on a
 * long line, without copying it first.  Only where that changes nothing:
 * the body's message exists (a line cut by a gap marks only a message it
 * made, on_cut_line()), no copy of the body is kept (kept bytes are capped
 * in whole lines), it is no longer than a piece, and it cannot be the final
 * "." (".", ".CR").  False: the caller keeps the line as any other.
 */
static bool
body_head(struct pop3 *p, struct linebuf *lb, const uint8_t *b, size_t n, uint64_t off)
{
	const struct msg *m = p->body->body_msg;
	size_t keep = n;

	if (m == NULL || (m->data != NULL && !m->data_truncated) || n > POP3_BODY_LINE_BUF ||
	    (b[0] == '.' && (n == 1 || (n == 2 && b[1] == '\r'))))
		return false;
	if (b[n - 1] == '\r')
		keep--; /* held back: it may be the first half of CRLF */
	lb->active = true;
	lb->start = off;
	lb->wire = n;
	lb->last = b[n - 1];
	lb->tail_kept = true;
	body_line(p, (const char *)b, keep, keep, 0, off, true, false);
	lb->flushed = true;
	if (keep < n)
		g_byte_array_append(lb->buf, b + keep, 1);
	return true;
}

/* The CAPA listing is complete: what did not parse is an anomaly. */
static void
capa_done(struct pop3 *p, struct txn *t)
{
	guint i;

	for (i = 0; i < p->capa->malformed->len; i++)
		session_anomaly(p->s, ANOM_CAPA_MALFORMED, DIR_TO_CLIENT, t->body_msg->off, t,
		    "'%.60s'", (const char *)g_ptr_array_index(p->capa->malformed, i));
	p->capa = NULL;
}

static void
body_end(struct pop3 *p, uint64_t dot, uint64_t end)
{
	struct txn *t = p->body;
	struct msg *m = t->body_msg;

	if (m == NULL) {
		/* An empty body: only the terminating line, which it spans. */
		m = msg_new(p, t, MSG_BODY, DIR_TO_CLIENT, dot);
		t->body_msg = m;
	}
	m->end = end;
	m->complete = true;
	t->body_octets = m->octets;
	t->body_lines = m->lines;
	if (t->cmd == POP3_CMD_RETR || t->cmd == POP3_CMD_TOP) {
		check_size(p, t);
		mail_end(p, t, !t->partial);
	} else if (t->cmd == POP3_CMD_CAPA && p->capa != NULL) {
		capa_done(p, t);
	}
	set_body(p, NULL);
	p->body_gap = false;
}

/*
 * A LIST or UIDL listing has lines "msg SP ...".  A status line inside one,
 * while the client already waits for another reply, means the server never
 * ended the listing: cut it there and read the line as that reply.  The
 * same holds for any body after a gap, which may have swallowed its ".".
 */
static bool
listing_cut(struct pop3 *p, const char *line, size_t keep, uint64_t off)
{
	struct txn *t = p->body;

	if ((t->cmd != POP3_CMD_LIST && t->cmd != POP3_CMD_UIDL && !p->body_gap) ||
	    g_queue_is_empty(&p->pending) || keep < 3 || g_ascii_isdigit(line[0]) ||
	    !(g_ascii_strncasecmp(line, "+OK", 3) == 0 ||
	        (keep >= 4 && g_ascii_strncasecmp(line, "-ERR", 4) == 0)))
		return false;
	t->partial = true;
	session_anomaly(p->s, ANOM_BODY_CUT, DIR_TO_CLIENT, off, t,
	    "%s reply not ended by '.': a status line for the next command follows", t->verb);
	if (t->cmd == POP3_CMD_RETR || t->cmd == POP3_CMD_TOP)
		mail_end(p, t, false);
	set_body(p, NULL);
	p->body_gap = false;
	return true;
}

/* ---- TLS ---- */

/* TLS records start with a content type 20-24 (RFC 8446 section 5.1); SSLv2 hellos with bit 7. */
static bool
looks_tls(uint8_t c)
{
	return (c >= 0x14 && c <= 0x18) || (c & 0x80) != 0;
}

/* A short, safe quote of plaintext: the first word of a client line, the first 40 octets of a server's. */
static void
quote_start(const uint8_t *b, size_t n, enum dir d, char *out, size_t outlen)
{
	size_t i, max = d == DIR_TO_SERVER ? 8 : 40;

	for (i = 0; i < n && i < max && i + 1 < outlen; i++) {
		if (b[i] == '\r' || b[i] == '\n' || (d == DIR_TO_SERVER && b[i] == ' '))
			break;
		out[i] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
	}
	out[i] = '\0';
}

/*
 * The first bytes of direction d after TLS should have begun.  Plaintext
 * there is the STARTTLS-injection class (CVE-2011-0411); on a POP3S port
 * it means the session is plain POP3 after all (then parsed as such).
 */
static void
tls_first_bytes(struct pop3 *p, enum dir d, const uint8_t *b, size_t n, uint64_t off)
{
	char q[48];

	if (n == 0 || p->tls_sniffed[d])
		return;
	p->tls_sniffed[d] = true;
	if (looks_tls(b[0]))
		return;
	quote_start(b, n, d, q, sizeof(q));
	if (p->implicit_tls && !p->tls_sniffed[dir_opposite(d)]) {
		session_anomaly(p->s, ANOM_PLAINTEXT_ON_TLS_PORT, d, off, NULL,
		    "the %s sent '%s' where TLS was expected: parsed as POP3",
		    d == DIR_TO_SERVER ? "client" : "server", q);
		p->implicit_tls = false;
		p->tls_sniffed[d] = false;
		p->s->proto = PROTO_POP3;
		p->s->tls_start[0] = p->s->tls_start[1] = 0;
		p->state = p->s->handshake == HS_SEEN ? POP3_ST_GREETING : POP3_ST_UNKNOWN;
		return;
	}
	session_anomaly(p->s,
	    p->implicit_tls ? ANOM_PLAINTEXT_ON_TLS_PORT : ANOM_PLAINTEXT_AFTER_STLS, d, off, NULL,
	    "the %s sent cleartext starting '%s' where TLS was expected",
	    d == DIR_TO_SERVER ? "client" : "server", q);
}

static bool
stls_pending(const struct pop3 *p)
{
	GList *l;

	for (l = p->pending.head; l != NULL; l = l->next)
		if (((const struct txn *)l->data)->cmd == POP3_CMD_STLS)
			return true;
	return false;
}

/* ---- TLS decryption (tls.h): ciphertext goes to the TLS layer, plaintext comes back ---- */

static void parse_bytes(struct pop3 *p, enum dir d, const uint8_t *buf, size_t len, uint64_t off);
static void line_gap(struct pop3 *p, enum dir d);
static bool parsing(const struct pop3 *p);

/*
 * The first decrypted bytes: POP3 starts again inside TLS.  On a POP3S
 * port the server greets first (RFC 8314 section 3.3); after STLS there is
 * no new greeting, the session stays in AUTHORIZATION and the client
 * forgets what it learnt before (RFC 2595 section 4).
 */
static void
inner_begin(struct pop3 *p)
{
	int d;

	p->inner = true;
	for (d = 0; d < 2; d++) {
		p->lb[d].active = false;
		p->lb[d].flushed = false;
		g_byte_array_set_size(p->lb[d].buf, 0);
		p->opaque[d] = NULL;
	}
	if (p->implicit_tls) {
		p->state = p->greeted ? POP3_ST_UNKNOWN : POP3_ST_GREETING;
	} else {
		p->state = POP3_ST_AUTHORIZATION;
		p->capa_pipelining = false;
	}
}

static void
tls_plain_cb(void *arg, enum dir d, const uint8_t *buf, size_t len, uint64_t poff)
{
	struct pop3 *p = arg;

	if (!p->inner)
		inner_begin(p);
	parse_bytes(p, d, buf, len, poff);
}

/* A record that did not verify: the plaintext it held is missing. */
static void
tls_plain_gap_cb(void *arg, enum dir d, uint64_t poff, uint64_t len)
{
	struct pop3 *p = arg;

	(void)poff;
	(void)len;
	if (p->inner && parsing(p))
		line_gap(p, d);
}

static void
tls_opaque_cb(void *arg, enum dir d, uint64_t off, uint64_t len)
{
	opaque_bytes(arg, d, off, (size_t)len);
}

static const struct tls_sink tls_sink = {tls_plain_cb, tls_plain_gap_cb, tls_opaque_cb};

static uint64_t
plain_map_cb(const void *arg, enum dir d, uint64_t off)
{
	return tls_conn_map(arg, d, off, false);
}

/* Direction d's bytes from here on are TLS (first byte c): the TLS layer takes them. */
static bool
tls_begin(struct pop3 *p, enum dir d, uint8_t c)
{
	if (p->tls_on[d])
		return true;
	if (p->inner || !(p->state == POP3_ST_TLS || p->dir_tls[d]) || !looks_tls(c))
		return false;
	if (p->tls == NULL) {
		p->tls = tls_conn_new(p->s, p->cfg->keylog, &tls_sink, p);
		p->s->tls = tls_conn_info(p->tls);
		p->s->plain_map = plain_map_cb;
		p->s->plain_arg = p->tls;
	}
	p->tls_on[d] = true;
	return true;
}

/* Plaintext offsets of decrypted messages become the stream offsets of their records. */
static gint
msg_off_cmp(gconstpointer a, gconstpointer b)
{
	const struct msg *x = *(struct msg *const *)a, *y = *(struct msg *const *)b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static void
tls_translate(struct pop3 *p)
{
	struct session *s = p->s;
	struct msg *m;
	guint i;
	int d;

	for (d = 0; d < 2; d++) {
		for (i = 0; i < s->msgs[d]->len; i++) {
			m = g_ptr_array_index(s->msgs[d], i);
			if (m->off >= SESSION_PLAIN_BASE)
				m->off = tls_conn_map(p->tls, (enum dir)d, m->off, false);
			if (m->end >= SESSION_PLAIN_BASE)
				m->end = tls_conn_map(p->tls, (enum dir)d, m->end, true);
		}
		/* Stable (GLib >= 2.32): messages of one record keep their order. */
		g_ptr_array_sort(s->msgs[d], msg_off_cmp);
	}
}

/* STLS got +OK: from the next octet on, both directions are TLS. */
static void
stls_accepted(struct pop3 *p, struct txn *t)
{
	struct linebuf *lb = &p->lb[DIR_TO_SERVER];

	p->state = POP3_ST_TLS;
	p->s->proto = PROTO_TLS;
	p->s->tls_start[DIR_TO_CLIENT] = t->status_msg->end;
	if (!g_queue_is_empty(&p->pending))
		session_anomaly(p->s, ANOM_PLAINTEXT_AFTER_STLS, DIR_TO_SERVER, UINT64_MAX, t,
		    "%u command(s) sent in cleartext after STLS, before TLS began",
		    g_queue_get_length(&p->pending));
	if (p->dir_tls[DIR_TO_SERVER])
		return; /* the client began TLS already: its start is known */
	if (lb->active && lb->wire > 0) {
		/* Client bytes after STLS, not yet a line: the start of its TLS. */
		GByteArray *kept = lb->buf;
		size_t wire = lb->wire;
		uint64_t start = lb->start;
		p->s->tls_start[DIR_TO_SERVER] = start;
		tls_first_bytes(p, DIR_TO_SERVER, kept->data, kept->len, start);
		lb->active = false;
		lb->buf = g_byte_array_new();
		if (kept->len > 0 && tls_begin(p, DIR_TO_SERVER, kept->data[0])) {
			tls_conn_feed(p->tls, DIR_TO_SERVER, kept->data, kept->len, start);
			if (wire > kept->len)
				tls_conn_gap(
				    p->tls, DIR_TO_SERVER, start + kept->len, wire - kept->len);
		} else {
			opaque_bytes(p, DIR_TO_SERVER, start, wire);
		}
		g_byte_array_free(kept, TRUE);
	} else {
		p->s->tls_start[DIR_TO_SERVER] = p->pos[DIR_TO_SERVER];
	}
}

static void
on_reply_ok(struct pop3 *p, struct txn *t)
{
	switch (t->cmd) {
	case POP3_CMD_PASS:
	case POP3_CMD_APOP:
	case POP3_CMD_AUTH:
		if (t->cmd != POP3_CMD_AUTH || t->arg_len > 0)
			p->state = POP3_ST_TRANSACTION; /* RFC 1939 section 4 */
		break;
	case POP3_CMD_QUIT:
		if (p->state == POP3_ST_TRANSACTION)
			p->state = POP3_ST_UPDATE; /* RFC 1939 section 6 */
		break;
	case POP3_CMD_STLS:
		/* RFC 2595 section 4: TLS starts right after this line's CRLF, with or without text. */
		stls_accepted(p, t);
		break;
	case POP3_CMD_UTF8:
		p->s->utf8 = true; /* RFC 6856 section 2 */
		break;
	case POP3_CMD_LANG:
		/* RFC 6856 section 3: "LANG tag" switches the language of the replies. */
		if (t->arg_len > 0) {
			char *tag = g_strndup(t->arg, t->arg_len < 64 ? t->arg_len : 64);
			g_ptr_array_add(p->strs, tag);
			p->s->lang = tag;
		}
		break;
	default:
		if (p->state == POP3_ST_UNKNOWN && pop3_cmd_states(t->cmd) == POP3_IN_T)
			p->state = POP3_ST_TRANSACTION;
		break;
	}
}

/* What a +OK tells besides the status: STAT/LIST/UIDL figures; a body or a CAPA listing begins. */
static void
reply_details(struct pop3 *p, struct txn *t)
{
	const char *q = t->text, *end = t->text + t->text_len;
	guint64 a, b;

	switch (t->cmd) {
	case POP3_CMD_STAT:
		/* RFC 1939 section 5: "+OK nn mm", count and size of the maildrop. */
		if (scan_num(&q, end, &a) && scan_num(&q, end, &b) && a <= G_MAXINT64 &&
		    b <= G_MAXINT64) {
			p->stat_count = (gint64)a;
			p->stat_size = (gint64)b;
		}
		break;
	case POP3_CMD_LIST:
	case POP3_CMD_UIDL:
		if (!t->multiline)
			listing_entry(p, t->cmd, t->text, t->text_len);
		break;
	case POP3_CMD_RETR:
	case POP3_CMD_TOP:
		/* A UIDL pipelined before it is answered before it. */
		if (t->uidl == NULL)
			t->uidl = g_strdup(known_uid(p, t->msgno));
		mail_begin(p, t);
		break;
	case POP3_CMD_CAPA:
		p->capa = capa_new();
		g_ptr_array_add(p->capas, p->capa);
		t->capa = p->capa;
		break;
	default:
		break;
	}
}

/*
 * "LINE" for an anomaly's detail (g_free): cut at POP3_QUOTE_MAX octets,
 * printable ASCII kept, other bytes as <0xNN> (details stay ASCII, session.h).
 */
static char *
quote_line(const char *line, size_t keep, size_t wire)
{
	size_t i, n = keep < POP3_QUOTE_MAX ? keep : POP3_QUOTE_MAX;
	GString *q = g_string_new("\"");

	for (i = 0; i < n; i++) {
		unsigned char b = (unsigned char)line[i];
		if (b >= 0x20 && b < 0x7f)
			g_string_append_c(q, (char)b);
		else
			g_string_append_printf(q, "<0x%02x>", b);
	}
	g_string_append_c(q, '"');
	if (n < wire)
		g_string_append_printf(q, " (the first %zu of %zu octets)", n, wire);
	return g_string_free(q, FALSE);
}

/*
 * A server line that is neither +OK nor -ERR (nor a continuation), once
 * the server has spoken POP3, is quoted in a not_a_status anomaly and
 * checked like any server line (line_too_long, bare LF, NUL).  What it
 * answered is decided by what the client does next:
 *
 * - If the command next to be answered was sent after the server's previous
 *   line (the client had seen everything before and waits for this reply),
 *   the line stands where that reply belongs.  It is held as the reply
 *   (p->junk_txn, txn.reply_not_pop3: status unknown) until the next line
 *   tells: a client line means the client took it as the reply and moved on
 *   (junk_settle(): the command is answered, and the next status answers the
 *   next command: skipping the line paired every later reply with the
 *   command before its own); a status line first means the server was still
 *   to answer, the line was noise before the reply (as Zeek skips it):
 *   junk_skip() makes it skipped bytes again.  At the end it stays the reply.
 * - Otherwise it follows a reply the client had not waited for (a stray line
 *   after a listing or a body while pipelined commands wait: Dovecot sends a
 *   "." after a message that is a lone "."), or no command waits: it answers
 *   nothing and is skipped.
 */
static void
not_a_status(struct pop3 *p, const char *line, size_t keep, size_t wire, size_t eol, uint64_t off)
{
	struct session *s = p->s;
	struct txn *h = g_queue_peek_head(&p->pending);
	char *q = quote_line(line, keep, wire);
	guint n = s->anomalies->len;

	if (h == NULL || h->read_at < p->last_server_line || p->junk_txn != NULL) {
		session_anomaly(s, ANOM_NOT_A_STATUS, DIR_TO_CLIENT, off, NULL,
		    "server line is neither +OK nor -ERR: skipped: %s", q);
		g_free(q);
		check_line(p, DIR_TO_CLIENT, line, keep, wire, eol, off, NULL);
		opaque_bytes(p, DIR_TO_CLIENT, off, wire + eol);
		return;
	}
	session_anomaly(s, ANOM_NOT_A_STATUS, DIR_TO_CLIENT, off, h,
	    "server line is neither +OK nor -ERR where the reply to %.40s belongs: %s",
	    h->verb[0] != '\0' ? h->verb : "the command", q);
	p->junk_anom = s->anomalies->len > n &&
	        g_array_index(s->anomalies, struct anomaly, n).kind == ANOM_NOT_A_STATUS
	    ? (int)n
	    : -1;
	p->junk_quote = q;
	p->junk_txn = h;
	h->status_msg = line_msg_new(p, h, MSG_STATUS, DIR_TO_CLIENT, off, line, keep, wire, eol);
	h->reply_not_pop3 = true;
	g_free(h->text);
	h->text = dup_bytes((const uint8_t *)line, keep);
	h->text_len = keep;
	check_line(p, DIR_TO_CLIENT, line, keep, wire, eol, off, h);
}

/* The held line's anomaly says what became of it. */
static void
junk_detail(struct pop3 *p, const char *what)
{
	struct anomaly *a;
	char buf[512];
	size_t i;

	if (p->junk_anom >= 0 && (guint)p->junk_anom < p->s->anomalies->len) {
		a = &g_array_index(p->s->anomalies, struct anomaly, p->junk_anom);
		g_snprintf(buf, sizeof(buf),
		    "server line is neither +OK nor -ERR where the reply to %.40s belongs: %s: %s",
		    p->junk_txn->verb[0] != '\0' ? p->junk_txn->verb : "the command", what,
		    p->junk_quote);
		/* As session_anomaly() keeps every detail: printable ASCII. */
		for (i = 0; buf[i] != '\0'; i++)
			if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
				buf[i] = '?';
		g_free(a->detail);
		a->detail = g_strdup(buf);
	}
	g_free(p->junk_quote);
	p->junk_quote = NULL;
	p->junk_anom = -1;
	p->junk_txn = NULL;
}

/* The client went on after the held line: it was the reply (outcome unknown). */
static void
junk_settle(struct pop3 *p)
{
	struct txn *t = p->junk_txn;

	if (t == NULL)
		return;
	junk_detail(p, "taken as that reply, outcome unknown");
	(void)pending_pop(p); /* t: it stayed the head */
	if (t->status_msg->cut)
		t->partial = true;
	if (t == p->sasl)
		set_sasl(p, NULL);
	sasl_at_head(p);
}

/* A status line came before the client went on: the held line was noise before it. */
static void
junk_skip(struct pop3 *p)
{
	struct txn *t = p->junk_txn;
	struct msg *m;

	if (t == NULL)
		return;
	junk_detail(p, "skipped, the reply followed");
	m = t->status_msg;
	g_ptr_array_remove(t->msgs, m);
	m->kind = MSG_OPAQUE;
	m->txn = NULL;
	g_free(m->text);
	m->text = NULL;
	m->text_len = 0;
	g_ptr_array_add(p->s->opaque, m);
	p->s->unparsed[DIR_TO_CLIENT] += m->end - m->off;
	t->status_msg = NULL;
	t->reply_not_pop3 = false;
	g_free(t->text);
	t->text = g_strdup("");
	t->text_len = 0;
}

static void
on_server_line(struct pop3 *p, const char *line, size_t keep, size_t wire, size_t eol, uint64_t off)
{
	struct session *s = p->s;
	enum pop3_status st = POP3_STATUS_NONE;
	bool cont = false;
	size_t skip = 0;
	struct txn *t;
	struct msg *m;
	const char *text;
	size_t tlen;

	if (p->body != NULL) {
		if (wire == 1 && keep == 1 && line[0] == '.') {
			body_end(p, off, off + wire + eol);
			return;
		}
		if (!listing_cut(p, line, keep, off)) {
			body_line(p, line, keep, wire, eol, off, true, true);
			return;
		}
	}
	if (keep >= 3 && g_ascii_strncasecmp(line, "+OK", 3) == 0) {
		st = POP3_STATUS_OK;
		skip = 3;
	} else if (keep >= 4 && g_ascii_strncasecmp(line, "-ERR", 4) == 0) {
		st = POP3_STATUS_ERR;
		skip = 4;
	} else if (keep >= 1 && line[0] == '+' && (keep == 1 || line[1] == ' ')) {
		cont = true;
		skip = 1;
	}
	if (p->resync && cont) {
		/* A continuation answers an AUTH seen after the capture began: in step again. */
		const struct txn *h = g_queue_peek_head(&p->pending);

		if (h != NULL && h->cmd == POP3_CMD_AUTH)
			p->resync = false;
	}
	if (p->resync) {
		if (st == POP3_STATUS_NONE) {
			opaque_bytes(p, DIR_TO_CLIENT, off, wire + eol);
			if (session_anomaly_count(s, ANOM_MIDSTREAM_SKIP) == 0) {
				char *q = quote_line(line, keep, wire);
				session_anomaly(s, ANOM_MIDSTREAM_SKIP, DIR_TO_CLIENT, off, NULL,
				    "server lines before the first status line were skipped, the "
				    "first: %s",
				    q);
				g_free(q);
			}
			return;
		}
		p->resync = false;
	}
	if (st != POP3_STATUS_NONE || cont)
		junk_skip(p); /* a line held as the reply came before this one: noise */
	if (st == POP3_STATUS_NONE && !cont) {
		if (!p->seen_status) {
			declare_not_pop3(
			    p, DIR_TO_CLIENT, off, "the server's first line is not a POP3 status");
			opaque_bytes(p, DIR_TO_CLIENT, off, wire + eol);
			return;
		}
		not_a_status(p, line, keep, wire, eol, off);
		return;
	}
	p->seen_status = true;
	/* RFC 1939 section 3: servers MUST send the indicators in upper case. */
	if (st != POP3_STATUS_NONE &&
	    memcmp(line, st == POP3_STATUS_OK ? "+OK" : "-ERR", skip) != 0)
		session_anomaly(s, ANOM_LOWERCASE_STATUS, DIR_TO_CLIENT, off, NULL,
		    "status indicator not in upper case");
	if (skip < keep && line[skip] == ' ')
		skip++;
	text = line + (skip < keep ? skip : keep);
	tlen = skip < keep ? keep - skip : 0;

	if (cont) {
		if (p->sasl != NULL && g_queue_peek_head(&p->pending) == p->sasl) {
			if (sasl_line_dropped(p, DIR_TO_CLIENT, off, wire + eol))
				return;
			m = line_msg_new(
			    p, p->sasl, MSG_CHALLENGE, DIR_TO_CLIENT, off, line, keep, wire, eol);
			check_sasl_line(p, DIR_TO_CLIENT, line, keep, eol, off, p->sasl);
			return;
		}
		session_anomaly(s, ANOM_UNEXPECTED_CONTINUATION, DIR_TO_CLIENT, off, NULL,
		    "'+ ' continuation outside an AUTH exchange");
	}

	if (!p->greeted && !g_queue_is_empty(&p->pending) &&
	    ((struct txn *)g_queue_peek_head(&p->pending))->cmd == POP3_CMD_UNKNOWN) {
		/*
		 * The client spoke first, and not in POP3 (Redis answers "+OK"
		 * to its own protocol): a POP3 server always speaks first.
		 */
		declare_not_pop3(
		    p, DIR_TO_CLIENT, off, "the client spoke first, with no POP3 command");
		opaque_bytes(p, DIR_TO_CLIENT, off, wire + eol);
		return;
	}
	if (!p->greeted && !g_queue_is_empty(&p->pending)) {
		/*
		 * The client spoke before any server line: a server that never
		 * greeted (seen in synthetic captures).  Its first line answers
		 * the first command.
		 */
		p->greeted = true;
		p->state = POP3_ST_UNKNOWN;
		session_anomaly(s, ANOM_NO_GREETING, DIR_TO_CLIENT, off, NULL,
		    "the client spoke first and the server sent no greeting");
	}
	if (!p->greeted) {
		t = session_txn_new(s, POP3_CMD_GREETING, true);
		p->greeted = true;
		m = line_msg_new(p, t, MSG_GREETING, DIR_TO_CLIENT, off, line, keep, wire, eol);
		if (st == POP3_STATUS_ERR)
			session_anomaly(s, ANOM_NEGATIVE_GREETING, DIR_TO_CLIENT, off, t,
			    "the server refused the session in its greeting");
		p->state = POP3_ST_AUTHORIZATION;
	} else {
		t = pending_pop(p);
		if (t == NULL) {
			t = session_txn_new(s, POP3_CMD_NONE, false);
			session_anomaly(s, ANOM_UNSOLICITED_REPLY, DIR_TO_CLIENT, off, t,
			    "reply with no command waiting for it");
		}
		/*
		 * The state a command meets is the state after the replies before
		 * it: with pipelining that is known only now (RFC 2449 section 6.6).
		 */
		if (t->cmd > POP3_CMD_UNKNOWN && !state_allows(p->state, t->cmd))
			session_anomaly(s, ANOM_WRONG_STATE, DIR_TO_SERVER, t->cmd_msg->off, t,
			    "%s is not allowed in the %s state", t->verb,
			    pop3_state_name(p->state));
		m = line_msg_new(p, t, MSG_STATUS, DIR_TO_CLIENT, off, line, keep, wire, eol);
	}
	t->status_msg = m;
	t->status = st;
	if (t->cmd > POP3_CMD_UNKNOWN && st != POP3_STATUS_NONE)
		s->confirmed = true; /* a POP3 command got a POP3 reply */
	g_free(t->text);
	t->text = dup_bytes((const uint8_t *)text, tlen);
	t->text_len = tlen;
	t->resp_code = parse_resp_code(text, tlen);
	check_line(p, DIR_TO_CLIENT, line, keep, wire, eol, off, t);
	if (t == p->sasl)
		set_sasl(p, NULL);
	sasl_at_head(p);
	if (t->cmd == POP3_CMD_GREETING)
		return;
	if (st == POP3_STATUS_OK) {
		enum pop3_multi ml = pop3_cmd_multi(t->cmd);
		/* LIST, UIDL, LANG, AUTH: multi-line only without an argument. */
		t->multiline = ml == ML_ALWAYS || (ml == ML_NO_ARG && t->arg_len == 0);
		if (t->multiline) {
			set_body(p, t);
			p->body_keep = (t->cmd != POP3_CMD_RETR && t->cmd != POP3_CMD_TOP) ||
			    p->cfg->keep_bodies;
		}
		reply_details(p, t);
		on_reply_ok(p, t);
	}
}

/* One complete line (keep bytes kept of wire; eol is 1 for LF, 2 for CRLF). */
/* One complete line at line (keep bytes; in lb->buf, or straight from the stream). */
static void
on_line_at(struct pop3 *p, enum dir d, const char *line, size_t keep, size_t eol)
{
	struct linebuf *lb = &p->lb[d];

	if (d == DIR_TO_SERVER)
		on_command(p, line, keep, lb->wire, eol, lb->start);
	else if (lb->flushed)
		body_line(p, line, keep, lb->wire, eol, lb->start, false, true);
	else
		on_server_line(p, line, keep, lb->wire, eol, lb->start);
	if (d == DIR_TO_CLIENT)
		p->last_server_line = ++p->lines_read;
	lb->active = false;
	lb->flushed = false;
	linebuf_clear(lb);
}

static void
on_line(struct pop3 *p, enum dir d, size_t eol)
{
	struct linebuf *lb = &p->lb[d];

	on_line_at(p, d, (const char *)lb->buf->data, lb->buf->len, eol);
}

/* A body line too long to buffer: hand on what we have, keep reading the line. */
static void
flush_body_piece(struct pop3 *p, enum dir d)
{
	struct linebuf *lb = &p->lb[d];
	size_t n = lb->buf->len;

	/* Hold back a trailing CR: it may be the first half of CRLF. */
	if (n > 0 && lb->buf->data[n - 1] == '\r')
		n--;
	body_line(p, (const char *)lb->buf->data, n, lb->wire - (lb->buf->len - n), 0, lb->start,
	    !lb->flushed, false);
	lb->flushed = true;
	g_byte_array_remove_range(lb->buf, 0, (guint)n);
}

static bool
parsing(const struct pop3 *p)
{
	return p->state != POP3_ST_TLS && p->state != POP3_ST_OPAQUE;
}

static bool
parsing_dir(const struct pop3 *p, enum dir d)
{
	return parsing(p) && (p->inner || !p->dir_tls[d]);
}

/*
 * At the start of a line: TLS where POP3 text belongs?  From the first
 * byte of the connection it is implicit TLS (POP3S on another port, or a
 * capture that starts after STLS); from the client while its STLS awaits
 * a reply, the client did not wait for the +OK.
 */
static void
sniff_line_start(struct pop3 *p, enum dir d, uint8_t c, uint64_t off)
{
	if (p->inner || c < 0x14 || c > 0x18)
		return; /* not a TLS record's content type: no line of POP3 starts so */
	if ((p->state == POP3_ST_GREETING || p->state == POP3_ST_UNKNOWN) &&
	    p->s->greeting == NULL && p->s->txns->len == 0 && !p->lb[dir_opposite(d)].active &&
	    !(p->s->candidate && !p->s->confirmed)) {
		enter_implicit_tls(p, true);
		p->s->tls_start[d] = off; /* pos[d] already counts this chunk */
		return;
	}
	if (d == DIR_TO_SERVER && stls_pending(p)) {
		p->dir_tls[d] = true;
		p->tls_sniffed[d] = true;
		p->s->tls_start[d] = off;
		session_anomaly(p->s, ANOM_TLS_BEFORE_STLS_REPLY, d, off, NULL,
		    "TLS from the client before the server answered STLS");
	}
}

/*
 * The line in the buffer ends at a gap: read it as it is (no EOL), and mark
 * the message it became cut.  Nothing is kept across the parse but
 * p->line_msg, which the parse sets for each message it makes and clears
 * when it frees them (declare_not_pop3()): a line that turns out not to be
 * POP3 leaves nothing to mark.
 */
static void
on_cut_line(struct pop3 *p, enum dir d)
{
	struct linebuf *lb = &p->lb[d];
	const char *line = (const char *)lb->buf->data;
	struct msg *m;

	p->line_msg = NULL;
	if (d == DIR_TO_CLIENT && p->body != NULL &&
	    (lb->flushed || !listing_cut(p, line, lb->buf->len, lb->start))) {
		/*
		 * A cut line inside a body is body, unless it is a status line for a
		 * command already sent while the body itself lost bytes (listing_cut()):
		 * then the gap swallowed the body's ".", and the line is that reply.
		 */
		body_line(p, line, lb->buf->len, lb->wire, 0, lb->start, !lb->flushed, false);
	} else if (d == DIR_TO_SERVER) {
		on_command(p, line, lb->buf->len, lb->wire, 0, lb->start);
	} else {
		on_server_line(p, line, lb->buf->len, lb->wire, 0, lb->start);
	}
	if (d == DIR_TO_CLIENT)
		p->last_server_line = ++p->lines_read;
	m = p->line_msg;
	p->line_msg = NULL;
	if (m == NULL || m->off != lb->start)
		return;
	m->cut = true;
	/* A command or a status line cut short: its transaction is partial (not a SASL line). */
	if (m->kind == MSG_COMMAND || m->kind == MSG_GREETING ||
	    (m->kind == MSG_STATUS && m->txn->cmd != POP3_CMD_NONE && m->txn != p->junk_txn))
		m->txn->partial = true;
}

/* Bytes of direction d are missing: a line they cut is taken as it is, a body goes on. */
static void
line_gap(struct pop3 *p, enum dir d)
{
	struct linebuf *lb = &p->lb[d];

	/*
	 * A line cut by the gap is read as far as it goes (a status or a
	 * command keeps its pairing); what follows the gap starts a line,
	 * as servers and clients write whole lines per segment.
	 */
	if (lb->active && lb->wire > 0 && parsing_dir(p, d))
		on_cut_line(p, d);
	lb->active = false;
	lb->flushed = false;
	linebuf_clear(lb);
	if (d == DIR_TO_CLIENT && p->body != NULL) {
		/*
		 * The body goes on after the gap: its final "." still ends it.
		 * Should the gap have swallowed that ".", a status line for a
		 * command already sent ends it instead (listing_cut()).
		 */
		p->body->partial = true;
		p->body_gap = true;
	}
}

void
pop3_gap(struct pop3 *p, enum dir d, uint64_t off, uint64_t len, const char *why)
{
	if (len == 0 || off + len <= p->pos[d])
		return;
	session_anomaly(p->s, ANOM_GAP, d, off, NULL,
	    "%llu byte%s missing at stream offset %llu: %s", (unsigned long long)len,
	    util_plural(len), (unsigned long long)off, why != NULL ? why : "never captured");
	if (p->tls_on[d])
		tls_conn_gap(p->tls, d, off, len); /* the TLS layer gives up this direction */
	else if (!p->inner)
		line_gap(p, d);
	p->pos[d] = off + len;
}

void
pop3_feed(struct pop3 *p, enum dir d, const uint8_t *buf, size_t len, uint64_t off, struct ts now)
{
	p->now = now;
	if (off > p->pos[d])
		pop3_gap(p, d, p->pos[d], off - p->pos[d], NULL);
	if (off < p->pos[d]) {
		/* Bytes already seen (the reassembler should not resend them). */
		if (p->pos[d] - off >= len)
			return;
		buf += p->pos[d] - off;
		len -= (size_t)(p->pos[d] - off);
		off = p->pos[d];
	}
	p->pos[d] = off + len;
	if (p->tls_on[d])
		tls_conn_feed(p->tls, d, buf, len, off); /* plaintext comes back to parse_bytes() */
	else
		parse_bytes(p, d, buf, len, off);
}

/* Lines of direction d: stream bytes, or (p->inner) decrypted bytes at plaintext offsets. */
static void
parse_bytes(struct pop3 *p, enum dir d, const uint8_t *buf, size_t len, uint64_t off)
{
	struct linebuf *lb = &p->lb[d];
	const uint8_t *lf;
	size_t n, take, cap, room;
	bool in_body, lf_known;

	while (len > 0) {
		if (!lb->active && parsing_dir(p, d))
			sniff_line_start(p, d, buf[0], off);
		if (!parsing_dir(p, d)) {
			if (p->state == POP3_ST_TLS && !p->dir_tls[d] && !p->inner)
				tls_first_bytes(p, d, buf, len, off);
			if (!parsing_dir(p, d)) {
				if (tls_begin(p, d, buf[0])) {
					tls_conn_feed(p->tls, d, buf, len, off);
					return;
				}
				opaque_bytes(p, d, off, len);
				return;
			}
		}
		lf_known = false;
		if (!lb->active && d == DIR_TO_CLIENT && body_bulk_ok(p)) {
			/* Body lines in runs; then the line it stopped at, as any line. */
			take = body_bulk(p, buf, len, off, &lf);
			buf += take;
			len -= take;
			off += take;
			if (len == 0 || (lf == NULL && body_head(p, lb, buf, len, off)))
				break;
			lf_known = true;
		}
		if (!lb->active) {
			lb->active = true;
			lb->start = off;
			lb->wire = 0;
			lb->last = 0;
			lb->tail_kept = false;
		}
		if (!lf_known)
			lf = memchr(buf, '\n', len);
		n = lf != NULL ? (size_t)(lf - buf) : len;
		in_body = d == DIR_TO_CLIENT && p->body != NULL;
		cap = in_body ? POP3_BODY_LINE_BUF : POP3_LINE_KEEP;
		room = lb->buf->len < cap ? cap - lb->buf->len : 0;
		if (in_body && n > room) {
			/* A body line longer than the buffer: fill it, hand it on, go on. */
			if (room > 0) {
				g_byte_array_append(lb->buf, buf, (guint)room);
				lb->wire += room;
				lb->last = buf[room - 1];
				lb->tail_kept = true;
			}
			flush_body_piece(p, d);
			buf += room;
			len -= room;
			off += room;
			continue;
		}
		if (lf != NULL && lb->wire == 0 && lb->buf->len == 0 && n <= cap) {
			/* A whole line in this chunk: read where it is, not copied (most lines). */
			size_t eol = n > 0 && buf[n - 1] == '\r' ? 2 : 1;
			lb->wire = n + 1 - eol;
			lb->last = n > 0 ? buf[n - 1] : 0;
			lb->tail_kept = true;
			on_line_at(p, d, (const char *)buf, n + 1 - eol, eol);
			buf += n + 1;
			len -= n + 1;
			off += n + 1;
			continue;
		}
		if (lf != NULL && lb->flushed && lb->buf->len == 0) {
			/* The end of a line handed on in pieces: its last piece, read where it is. */
			size_t eol = n > 0 && buf[n - 1] == '\r' ? 2 : 1;
			lb->wire += n + 1 - eol;
			on_line_at(p, d, (const char *)buf, n + 1 - eol, eol);
			buf += n + 1;
			len -= n + 1;
			off += n + 1;
			continue;
		}
		take = n < room ? n : room;
		g_byte_array_append(lb->buf, buf, (guint)take);
		lb->wire += n;
		if (n > 0) {
			lb->last = buf[n - 1];
			lb->tail_kept = take == n;
		}
		if (lf != NULL) {
			/* The CR of CRLF is line ending, not line (it may have come in an earlier chunk). */
			size_t eol = 1;
			if (lb->wire > 0 && lb->last == '\r') {
				eol = 2;
				lb->wire--;
				if (lb->tail_kept && lb->buf->len > 0)
					lb->buf->len--; /* as linebuf_clear() */
			}
			on_line(p, d, eol);
			n++;
		} else if (in_body && lb->buf->len >= cap) {
			flush_body_piece(p, d);
		}
		buf += n;
		len -= n;
		off += n;
	}
}

/* Segments that carried TLS bytes, per direction (the segment log may be capped). */
static void
count_tls_segments(struct pop3 *p)
{
	struct session *s = p->s;
	guint i;

	s->tls_segments[0] = s->tls_segments[1] = 0;
	if (s->proto != PROTO_TLS && s->proto != PROTO_POP3S)
		return;
	for (i = 0; i < s->segs->len; i++) {
		const struct seg_rec *r = &g_array_index(s->segs, struct seg_rec, i);
		if (r->len > 0 && !(r->marks & SEG_SYNTHETIC) &&
		    r->off + r->len > s->tls_start[r->dir])
			s->tls_segments[r->dir]++;
	}
}

void
pop3_end(struct pop3 *p)
{
	struct session *s = p->s;
	struct txn *t;
	int d;

	if (p->tls != NULL)
		tls_conn_end(p->tls); /* a record cut short; the figures settle */
	for (d = 0; d < 2; d++) {
		struct linebuf *lb = &p->lb[d];
		if (!lb->active || lb->wire == 0 || !parsing_dir(p, (enum dir)d))
			continue;
		session_anomaly(s, ANOM_UNTERMINATED_LINE, (enum dir)d, lb->start, NULL,
		    "the connection ended inside a line of %zu octet%s", lb->wire,
		    util_plural(lb->wire));
		if (d == DIR_TO_CLIENT && p->body != NULL) {
			body_line(p, (const char *)lb->buf->data, lb->buf->len, lb->wire, 0,
			    lb->start, !lb->flushed, false);
			p->body->body_msg->end = lb->start + lb->wire;
		} else {
			opaque_bytes(p, (enum dir)d, lb->start, lb->wire);
		}
		lb->active = false;
	}
	if (p->body != NULL) {
		t = p->body;
		t->partial = true;
		session_anomaly(s, ANOM_BODY_CUT, DIR_TO_CLIENT, UINT64_MAX, t,
		    "%s reply ended after %llu octet%s without its final '.'", t->verb,
		    (unsigned long long)t->body_octets, util_plural(t->body_octets));
		if (t->cmd == POP3_CMD_RETR || t->cmd == POP3_CMD_TOP)
			mail_end(p, t, false);
		set_body(p, NULL);
	}
	junk_settle(p); /* nothing came after a line held as a reply: it stays the reply */
	while ((t = pending_pop(p)) != NULL) {
		t->partial = true;
		if (parsing(p))
			session_anomaly(s, ANOM_NO_REPLY, DIR_TO_SERVER, UINT64_MAX, t,
			    "%s got no reply before the connection ended", t->verb);
	}
	set_sasl(p, NULL);
	if (p->tls != NULL)
		tls_translate(p);
	count_tls_segments(p);
	/* Login attempts, then (--redact) the secrets out of the model for every emitter. */
	g_ptr_array_set_size(p->creds, 0);
	creds_collect(s, p->creds);
	s->creds = p->creds->len > 0 ? p->creds : NULL;
	if (p->cfg->redact) {
		guint i;
		creds_redact_session(s);
		for (i = 0; i < p->creds->len; i++)
			creds_redact(g_ptr_array_index(p->creds, i));
	}
}
