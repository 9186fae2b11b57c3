/*
 * fuzz_pop3.c - the POP3 dissector (pop3.c) on a two-direction stream, as
 * tests/unit/test_pop3.c drives it: a session, pop3_feed() per chunk,
 * pop3_gap() for bytes never captured, pop3_end(), then the text and JSON
 * emitters read the model it built.
 *
 * Input: one byte of options, then chunks.  Every chunk starts with the
 * marker "FUZZ" and one control byte, and runs to the next marker:
 *   bit 0   direction: 0 to the server (commands), 1 to the client (replies)
 *   bit 1   a gap before the chunk: the next byte + 1 octets never captured
 *   bit 2   the chunk resends already delivered bytes: it starts the next
 *           byte + 1 octets back (the reassembler normally never does)
 *   bits 4-7  the chunk is fed in pieces of 1 << (bits 4-7) octets (0: whole)
 * Options: bit 0 keep bodies, 1 --redact, 2 the extract sink (headers via
 * GMime), 3 handshake missing (joined mid-session), 4 POP3S port, 5 a port
 * other than 110 (a candidate), 6 emit text and JSON, 7 -v.
 */
#include <string.h>

#include <glib.h>

#include "emit.h"
#include "extract.h"
#include "fuzz.h"
#include "pop3.h"
#include "session.h"

#define FUZZ_MARK "FUZZ"
#define FUZZ_MARK_LEN 4

static const uint8_t *
next_mark(const uint8_t *p, const uint8_t *end)
{
	while (end - p >= FUZZ_MARK_LEN) {
		const uint8_t *m = memchr(p, 'F', (size_t)(end - p - FUZZ_MARK_LEN + 1));
		if (m == NULL)
			break;
		if (memcmp(m, FUZZ_MARK, FUZZ_MARK_LEN) == 0)
			return m;
		p = m + 1;
	}
	return end;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct endpoint c = {{4, {10, 0, 0, 1}}, 40000}, v = {{4, {10, 0, 0, 2}}, 110};
	struct pop3_config cfg;
	struct extract_config xc = {NULL, NULL, true};
	struct extract *ex = NULL;
	struct session *s;
	struct pop3 *p;
	const uint8_t *cur, *end = data + size;
	uint64_t off[2] = {0, 0};
	struct ts now = {1000000000, 0};
	char errbuf[ERRBUF_SIZE];
	uint8_t opt;

	if (size < 1)
		return 0;
	opt = data[0];
	memset(&cfg, 0, sizeof(cfg));
	cfg.keep_bodies = opt & 0x01;
	cfg.max_body_keep = 4096;
	cfg.redact = (opt & 0x02) != 0;
	if (opt & 0x04) {
		ex = extract_new(&xc, errbuf);
		cfg.sink = &extract_sink;
		cfg.sink_arg = ex;
	}
	if (opt & 0x20)
		v.port = 2110;
	s = session_new(1, &c, &v);
	s->handshake = opt & 0x08 ? HS_MISSING : HS_SEEN;
	s->candidate = (opt & 0x20) != 0;
	if (opt & 0x10)
		s->proto = PROTO_POP3S;
	p = pop3_new(s, &cfg);
	cur = next_mark(data + 1, end);
	while (cur < end) {
		struct fuzz_in in = {cur + FUZZ_MARK_LEN, (size_t)(end - cur) - FUZZ_MARK_LEN};
		uint8_t ctl = fuzz_byte(&in);
		enum dir d = ctl & 0x01 ? DIR_TO_CLIENT : DIR_TO_SERVER;
		const uint8_t *chunk, *chunk_end;
		size_t piece, len, at;
		uint64_t o;

		if (ctl & 0x02) {
			uint64_t gap = (uint64_t)fuzz_byte(&in) + 1;
			pop3_gap(p, d, off[d], gap, NULL);
			off[d] += gap;
		}
		o = off[d];
		if (ctl & 0x04) {
			uint64_t back = (uint64_t)fuzz_byte(&in) + 1;
			o = back > o ? 0 : o - back;
		}
		chunk = in.p;
		chunk_end = next_mark(chunk, end);
		len = (size_t)(chunk_end - chunk);
		piece = ctl >> 4 ? (size_t)1 << (ctl >> 4) : len;
		for (at = 0; at < len; at += piece) {
			size_t n = len - at < piece ? len - at : piece;
			pop3_feed(p, d, chunk + at, n, o + at, now);
		}
		if (o + len > off[d])
			off[d] = o + len;
		now.usec = (now.usec + 1000) % 1000000;
		cur = chunk_end;
	}
	pop3_end(p);
	pop3_reported(p); /* --extract: held bodies get their names */
	session_finalize(s);
	if (opt & 0x40) {
		struct emit_opts eo;
		struct run_stats st;
		FILE *out = fuzz_devnull();
		const struct emitter *const ems[] = {&emit_text, &emit_json};
		size_t i;

		memset(&eo, 0, sizeof(eo));
		memset(&st, 0, sizeof(st));
		eo.verbose = opt & 0x80 ? 1 : 0;
		eo.bodies = cfg.keep_bodies;
		for (i = 0; i < sizeof(ems) / sizeof(ems[0]); i++) {
			void *ctx = ems[i]->begin != NULL ? ems[i]->begin(out, &eo, errbuf) : NULL;

			ems[i]->session(ctx, out, s, &eo, errbuf);
			ems[i]->end(ctx, out, &st, &eo, errbuf);
		}
	}
	pop3_free(p);
	session_free(s);
	if (ex != NULL) {
		extract_finish(ex, errbuf);
		extract_free(ex);
	}
	return 0;
}
