/* pop3.c - POP3 (RFC 1939, 2449, 5034, 2595) dissector: stream bytes -> lines -> transactions. */
#include <string.h>
#include <strings.h>

#include "pop3.h"

/* Unknown commands before any server status: then it is not POP3. */
#define POP3_MAX_UNKNOWN_BEFORE_STATUS 8

struct cmd_info {
	const char *name;
	unsigned states;
	enum pop3_multi multi;
};

static const struct cmd_info cmd_table[POP3_CMD__COUNT] = {
	[POP3_CMD_NONE] = { "", POP3_IN_A | POP3_IN_T, ML_NEVER },
	[POP3_CMD_GREETING] = { "", 0, ML_NEVER },
	[POP3_CMD_UNKNOWN] = { "", POP3_IN_A | POP3_IN_T, ML_NEVER },
#define POP3_CMD(name, states, ml, ref) [POP3_CMD_##name] = { #name, states, ml },
#include "pop3_cmds.def"
#undef POP3_CMD
};

/* A line being assembled in one direction. */
struct linebuf {
	GByteArray *buf;  /* kept bytes of the line (capped) */
	uint64_t start;	  /* stream offset of the line's first byte */
	size_t wire;	  /* bytes of the line seen so far, EOL excluded */
	bool active;
	bool flushed;	  /* a long body line already handed on in pieces */
	uint8_t last;	  /* the last byte seen of the line */
	bool tail_kept;	  /* that byte is the last byte of buf */
};

struct pop3 {
	struct session *s;
	const struct pop3_config *cfg;
	enum pop3_state state;
	struct linebuf lb[2];
	uint64_t pos[2];	/* next stream offset expected per direction */
	struct ts now;
	GQueue pending;		/* struct txn *: commands awaiting a reply, in order */
	struct txn *body;	/* txn whose multi-line body is being read */
	bool body_keep;
	struct txn *sasl;	/* AUTH exchange in progress */
	struct msg *opaque[2];	/* current unparsed run per direction */
	bool greeted;
	bool resync;		/* mid-session start: skip server lines until a status */
	bool capa_pipelining;
	bool body_gap;		/* bytes of the current body are missing */
	bool warned_pipelining;
	bool warned_bare_lf[2];
	unsigned unknown_before_status;
	bool seen_status;
};

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
	if (s->handshake == HS_SEEN) {
		p->state = POP3_ST_GREETING;
	} else {
		/* Joined mid-session: no greeting, state unknown, maybe mid-reply. */
		p->state = POP3_ST_UNKNOWN;
		p->greeted = true;
		p->resync = true;
	}
	if (s->proto == PROTO_POP3S)
		p->state = POP3_ST_TLS; /* RFC 8314: TLS from the first byte */
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

	if (p == NULL)
		return;
	g_queue_clear(&p->pending);
	for (d = 0; d < 2; d++)
		g_byte_array_free(p->lb[d].buf, TRUE);
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

	g_queue_clear(&p->pending);
	p->body = NULL;
	p->sasl = NULL;
	session_clear_txns(p->s);
	session_clear_anomalies(p->s); /* they were about a protocol it does not speak */
	p->opaque[0] = p->opaque[1] = NULL;
	p->s->unparsed[0] = p->s->unparsed[1] = 0; /* counted again below, from the start */
	for (i = 0; i < 2; i++)
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

static void
check_line(struct pop3 *p, enum dir d, const char *line, size_t keep, size_t wire,
    size_t eol, uint64_t off, const struct txn *t)
{
	size_t limit = d == DIR_TO_SERVER ? POP3_MAX_CMD_LINE : POP3_MAX_RSP_LINE;

	if (eol == 1 && !p->warned_bare_lf[d]) {
		p->warned_bare_lf[d] = true;
		session_anomaly(p->s, ANOM_BARE_LF, d, off, t,
		    "%s line ends with a bare LF (further ones not reported)",
		    d == DIR_TO_SERVER ? "client" : "server");
	}
	if (has_nul(line, keep))
		session_anomaly(p->s, ANOM_NUL_BYTE, d, off, t, "line holds a NUL byte");
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

	if (p->sasl != NULL) {
		/* RFC 5034 section 4: during AUTH, client lines answer challenges. */
		m = session_msg_new(s, p->sasl, MSG_SASL, DIR_TO_SERVER, off, p->now);
		m->text = dup_bytes((const uint8_t *)line, keep);
		m->text_len = keep;
		m->wire_len = wire;
		m->end = off + wire + eol;
		check_line(p, DIR_TO_SERVER, line, keep, wire, eol, off, p->sasl);
		return;
	}
	if (wire == 0) {
		session_anomaly(s, ANOM_EMPTY_COMMAND, DIR_TO_SERVER, off, NULL, "empty command line");
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
	m = session_msg_new(s, t, MSG_COMMAND, DIR_TO_SERVER, off, p->now);
	m->text = dup_bytes((const uint8_t *)line, keep);
	m->text_len = keep;
	m->wire_len = wire;
	m->end = off + wire + eol;
	t->cmd_msg = m;
	check_line(p, DIR_TO_SERVER, line, keep, wire, eol, off, t);

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
			declare_not_pop3(p, DIR_TO_SERVER, off,
			    "many unknown commands and no POP3 reply");
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
		old = g_queue_pop_head(&p->pending);
		old->partial = true;
		session_anomaly(s, ANOM_TOO_MANY_PENDING, DIR_TO_SERVER, off, old,
		    "more than %d commands await replies; gave up on #%u", POP3_MAX_PENDING,
		    old->id);
	}
	g_queue_push_tail(&p->pending, t);
	if (cmd == POP3_CMD_AUTH && t->arg_len > 0 && g_queue_get_length(&p->pending) == 1)
		p->sasl = t;
}

/* RFC 2449 section 3: "[" resp-code "]" right after the status and a space. */
static char *
parse_resp_code(const char *text, size_t len)
{
	size_t i;

	if (len < 3 || text[0] != '[')
		return NULL;
	for (i = 1; i < len && text[i] != ']'; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x21 || c > 0x7f || c == '[')
			return NULL;
	}
	if (i >= len || i == 1)
		return NULL;
	return dup_bytes((const uint8_t *)text + 1, i - 1);
}

static void
body_line(struct pop3 *p, const char *line, size_t keep, size_t wire, size_t eol, uint64_t off,
    bool first_piece, bool last_piece)
{
	struct txn *t = p->body;
	struct msg *m = t->body_msg;
	const char *content = line;
	size_t n = keep;

	if (m == NULL) {
		m = session_msg_new(p->s, t, MSG_BODY, DIR_TO_CLIENT, off, p->now);
		t->body_msg = m;
		if (p->body_keep)
			m->data = g_byte_array_new();
	}
	/* RFC 1939 section 3: a leading "." is byte-stuffed; strip exactly one. */
	if (first_piece && n > 0 && content[0] == '.') {
		content++;
		n--;
	}
	(void)wire;
	m->octets += n + (last_piece ? eol : 0);
	if (last_piece)
		m->lines++;
	if (m->data != NULL && !m->data_truncated) {
		size_t cap = t->cmd == POP3_CMD_RETR || t->cmd == POP3_CMD_TOP
		    ? p->cfg->max_body_keep : POP3_KEEP_LIST_BYTES;
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
	if (last_piece && t->cmd == POP3_CMD_CAPA && n == 10 &&
	    g_ascii_strncasecmp(content, "PIPELINING", 10) == 0)
		p->capa_pipelining = true;
	t->body_octets = m->octets;
	t->body_lines = m->lines;
}

static void
body_end(struct pop3 *p, uint64_t end)
{
	struct txn *t = p->body;
	struct msg *m = t->body_msg;

	if (m == NULL) {
		/* An empty body: only the terminating line. */
		m = session_msg_new(p->s, t, MSG_BODY, DIR_TO_CLIENT, end, p->now);
		t->body_msg = m;
	}
	m->end = end;
	m->complete = true;
	t->body_octets = m->octets;
	t->body_lines = m->lines;
	p->body = NULL;
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
	p->body = NULL;
	p->body_gap = false;
	return true;
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
		/* RFC 2595 section 4: TLS starts right after this line's CRLF. */
		p->state = POP3_ST_TLS;
		p->s->proto = PROTO_TLS;
		if (!g_queue_is_empty(&p->pending))
			session_anomaly(p->s, ANOM_PLAINTEXT_AFTER_STLS, DIR_TO_SERVER,
			    UINT64_MAX, t,
			    "%u command(s) sent in cleartext after STLS, before TLS began",
			    g_queue_get_length(&p->pending));
		break;
	default:
		if (p->state == POP3_ST_UNKNOWN && pop3_cmd_states(t->cmd) == POP3_IN_T)
			p->state = POP3_ST_TRANSACTION;
		break;
	}
}

static void
on_server_line(struct pop3 *p, const char *line, size_t keep, size_t wire, size_t eol,
    uint64_t off)
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
			body_end(p, off + wire + eol);
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
	if (p->resync) {
		if (st == POP3_STATUS_NONE) {
			opaque_bytes(p, DIR_TO_CLIENT, off, wire + eol);
			if (session_anomaly_count(s, ANOM_MIDSTREAM_SKIP) == 0)
				session_anomaly(s, ANOM_MIDSTREAM_SKIP, DIR_TO_CLIENT, off, NULL,
				    "server lines before the first status line were skipped");
			return;
		}
		p->resync = false;
	}
	if (st == POP3_STATUS_NONE && !cont) {
		if (!p->seen_status) {
			declare_not_pop3(p, DIR_TO_CLIENT, off,
			    "the server's first line is not a POP3 status");
			opaque_bytes(p, DIR_TO_CLIENT, off, wire + eol);
			return;
		}
		/* Junk where a status belongs: skip it, the next status answers (as Zeek does). */
		session_anomaly(s, ANOM_NOT_A_STATUS, DIR_TO_CLIENT, off, NULL,
		    "server line is neither +OK nor -ERR: skipped");
		opaque_bytes(p, DIR_TO_CLIENT, off, wire + eol);
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
			m = session_msg_new(s, p->sasl, MSG_CHALLENGE, DIR_TO_CLIENT, off, p->now);
			m->text = dup_bytes((const uint8_t *)line, keep);
			m->text_len = keep;
			m->wire_len = wire;
			m->end = off + wire + eol;
			check_line(p, DIR_TO_CLIENT, line, keep, wire, eol, off, p->sasl);
			return;
		}
		session_anomaly(s, ANOM_UNEXPECTED_CONTINUATION, DIR_TO_CLIENT, off, NULL,
		    "'+ ' continuation outside an AUTH exchange");
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
		m = session_msg_new(s, t, MSG_GREETING, DIR_TO_CLIENT, off, p->now);
		if (st == POP3_STATUS_ERR)
			session_anomaly(s, ANOM_NEGATIVE_GREETING, DIR_TO_CLIENT, off, t,
			    "the server refused the session in its greeting");
		p->state = POP3_ST_AUTHORIZATION;
	} else {
		t = g_queue_pop_head(&p->pending);
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
		m = session_msg_new(s, t, MSG_STATUS, DIR_TO_CLIENT, off, p->now);
	}
	m->text = dup_bytes((const uint8_t *)line, keep);
	m->text_len = keep;
	m->wire_len = wire;
	m->end = off + wire + eol;
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
		p->sasl = NULL;
	if (t->cmd == POP3_CMD_GREETING)
		return;
	if (st == POP3_STATUS_OK) {
		enum pop3_multi ml = pop3_cmd_multi(t->cmd);
		/* LIST, UIDL, LANG, AUTH: multi-line only without an argument. */
		t->multiline = ml == ML_ALWAYS || (ml == ML_NO_ARG && t->arg_len == 0);
		if (t->multiline) {
			p->body = t;
			p->body_keep = (t->cmd != POP3_CMD_RETR && t->cmd != POP3_CMD_TOP) ||
			    p->cfg->keep_bodies;
		}
		on_reply_ok(p, t);
	}
}

/* One complete line (keep bytes kept of wire; eol is 1 for LF, 2 for CRLF). */
static void
on_line(struct pop3 *p, enum dir d, size_t eol)
{
	struct linebuf *lb = &p->lb[d];
	const char *line = (const char *)lb->buf->data;
	size_t keep = lb->buf->len;

	if (d == DIR_TO_SERVER)
		on_command(p, line, keep, lb->wire, eol, lb->start);
	else if (lb->flushed)
		body_line(p, line, keep, lb->wire, eol, lb->start, false, true);
	else
		on_server_line(p, line, keep, lb->wire, eol, lb->start);
	lb->active = false;
	lb->flushed = false;
	g_byte_array_set_size(lb->buf, 0);
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
	body_line(p, (const char *)lb->buf->data, n, n, 0, lb->start, !lb->flushed, false);
	lb->flushed = true;
	g_byte_array_remove_range(lb->buf, 0, (guint)n);
}

static bool
parsing(const struct pop3 *p)
{
	return p->state != POP3_ST_TLS && p->state != POP3_ST_OPAQUE;
}

static void on_cut_line_parse(struct pop3 *p, enum dir d);

/* The line in the buffer ends at a gap: take it as it is (no EOL), marked partial. */
static void
on_cut_line(struct pop3 *p, enum dir d)
{
	guint n = p->s->msgs[d]->len;

	on_cut_line_parse(p, d);
	/* Mark the message that line became, if it became one. */
	if (p->s->msgs[d]->len > n)
		((struct msg *)g_ptr_array_index(p->s->msgs[d], p->s->msgs[d]->len - 1))->cut = true;
}

static void
on_cut_line_parse(struct pop3 *p, enum dir d)
{
	struct linebuf *lb = &p->lb[d];
	struct txn *last;

	if (d == DIR_TO_CLIENT && p->body != NULL) {
		body_line(p, (const char *)lb->buf->data, lb->buf->len, lb->wire, 0, lb->start,
		    !lb->flushed, false);
		return;
	}
	if (d == DIR_TO_SERVER && p->sasl == NULL) {
		on_command(p, (const char *)lb->buf->data, lb->buf->len, lb->wire, 0, lb->start);
		last = p->s->txns->len > 0 ? g_ptr_array_index(p->s->txns, p->s->txns->len - 1)
					    : NULL;
		if (last != NULL && last->cmd_msg != NULL && last->cmd_msg->off == lb->start)
			last->partial = true;
		return;
	}
	if (d == DIR_TO_CLIENT) {
		last = g_queue_peek_head(&p->pending);
		on_server_line(p, (const char *)lb->buf->data, lb->buf->len, lb->wire, 0, lb->start);
		if (last != NULL && last->status != POP3_STATUS_NONE)
			last->partial = true;
		else if (p->s->greeting != NULL && p->s->greeting->status_msg != NULL &&
		    p->s->greeting->status_msg->off == lb->start)
			p->s->greeting->partial = true;
	}
}

void
pop3_gap(struct pop3 *p, enum dir d, uint64_t off, uint64_t len)
{
	struct linebuf *lb = &p->lb[d];

	if (len == 0 || off + len <= p->pos[d])
		return;
	session_anomaly(p->s, ANOM_GAP, d, off, NULL,
	    "%llu bytes missing at stream offset %llu", (unsigned long long)len,
	    (unsigned long long)off);
	/*
	 * A line cut by the gap is read as far as it goes (a status or a
	 * command keeps its pairing); what follows the gap starts a line,
	 * as servers and clients write whole lines per segment.
	 */
	if (lb->active && lb->wire > 0 && parsing(p))
		on_cut_line(p, d);
	lb->active = false;
	lb->flushed = false;
	g_byte_array_set_size(lb->buf, 0);
	if (d == DIR_TO_CLIENT && p->body != NULL) {
		/*
		 * The body goes on after the gap: its final "." still ends it.
		 * Should the gap have swallowed that ".", a status line for a
		 * command already sent ends it instead (listing_cut()).
		 */
		p->body->partial = true;
		p->body_gap = true;
	}
	p->pos[d] = off + len;
}

void
pop3_feed(struct pop3 *p, enum dir d, const uint8_t *buf, size_t len, uint64_t off,
    struct ts now)
{
	struct linebuf *lb = &p->lb[d];
	const uint8_t *lf;
	size_t n, take, cap, room;
	bool in_body;

	p->now = now;
	if (off > p->pos[d])
		pop3_gap(p, d, p->pos[d], off - p->pos[d]);
	if (off < p->pos[d]) {
		/* Bytes already seen (the reassembler should not resend them). */
		if (p->pos[d] - off >= len)
			return;
		buf += p->pos[d] - off;
		len -= (size_t)(p->pos[d] - off);
		off = p->pos[d];
	}
	p->pos[d] = off + len;
	while (len > 0) {
		if (!parsing(p)) {
			opaque_bytes(p, d, off, len);
			return;
		}
		if (!lb->active) {
			lb->active = true;
			lb->start = off;
			lb->wire = 0;
			lb->last = 0;
			lb->tail_kept = false;
		}
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
					g_byte_array_set_size(lb->buf, lb->buf->len - 1);
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

void
pop3_end(struct pop3 *p)
{
	struct session *s = p->s;
	struct txn *t;
	int d;

	for (d = 0; d < 2; d++) {
		struct linebuf *lb = &p->lb[d];
		if (!lb->active || lb->wire == 0 || !parsing(p))
			continue;
		session_anomaly(s, ANOM_UNTERMINATED_LINE, (enum dir)d, lb->start, NULL,
		    "the connection ended inside a line of %zu octets", lb->wire);
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
		    "%s reply ended after %llu octets without its final '.'", t->verb,
		    (unsigned long long)t->body_octets);
		p->body = NULL;
	}
	while ((t = g_queue_pop_head(&p->pending)) != NULL) {
		t->partial = true;
		if (parsing(p))
			session_anomaly(s, ANOM_NO_REPLY, DIR_TO_SERVER, UINT64_MAX, t,
			    "%s got no reply before the connection ended", t->verb);
	}
	p->sasl = NULL;
}
