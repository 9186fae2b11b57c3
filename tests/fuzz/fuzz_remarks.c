/*
 * fuzz_remarks.c - the remark template parser and filler (remarks.c).
 *
 * Input: one byte of options, then text.  Options bits 0-1 say what the
 * text is: 0-2 the content of diagram.tmpl, tcp.tmpl or pop3.tmpl (the
 * other two are the shipped ones, so a load can succeed and be filled),
 * 3 a single template text, checked and then expanded.  Bits 2-7 choose
 * which placeholder values are set, so sentences are kept or left out.
 */
#include <string.h>

#include <glib.h>

#include "fuzz.h"
#include "popflow.h"
#include "remarks.h"

static char *shipped[3];
static size_t shipped_len[3];
static const char *const files[3] = {"diagram.tmpl", "tcp.tmpl", "pop3.tmpl"};
/* Keys filled after a successful load: fixed ones and per-command ones (remarks.c). */
static const char *const keys[] = {"title", "system.client", "system.server", "lifeline.client",
    "cmd.USER", "ok.USER", "err.USER", "cmd.RETR", "ok.RETR", "body.RETR", "cmd.LIST.arg",
    "ok.LIST.arg", "cmd.AUTH", "no.such.key"};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	for (i = 0; i < 3; i++) {
		char *path = g_build_filename(FUZZ_SRCDIR, "templates", files[i], NULL);
		gsize len = 0;

		if (!g_file_get_contents(path, &shipped[i], &len, NULL)) {
			fprintf(stderr, "fuzz_remarks: cannot read %s\n", path);
			abort();
		}
		shipped_len[i] = len;
		g_free(path);
	}
	return 0;
}

static void
set_vars(struct remark_vars *v, uint8_t mask, const char *text)
{
	if (mask & 0x01) {
		rvars_set(v, "client", "10.0.0.1:40000");
		rvars_set(v, "server", "mail {server}|");
	}
	if (mask & 0x02) {
		rvars_set(v, "user", "{user}");
		rvars_set(v, "text", text);
	}
	if (mask & 0x04) {
		rvars_setu(v, "count", 0);
		rvars_setu(v, "n", 1);
		rvars_setu(v, "octets", 18446744073709551615ull);
	}
	if (mask & 0x08) {
		rvars_set(v, "count", "3");
		rvars_set(v, "size", "not a number");
		rvars_set(v, "lines", "");
	}
	if (mask & 0x10) {
		rvars_setf(v, "cmd", "%s", "RETR");
		rvars_set(v, "arg", "1");
		rvars_set(v, "mechanism", "PLAIN");
	}
	if (mask & 0x20) {
		rvars_set(v, "anomaly", "gap}}{{");
		rvars_set(v, "frame", "-1");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct remark_vars v;
	char errbuf[ERRBUF_SIZE], why[128];
	const char *text[3];
	size_t len[3], i;
	unsigned which;
	char *str, *out;

	if (size < 1)
		return 0;
	if (shipped[0] == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	which = data[0] & 0x03;
	memset(&v, 0, sizeof(v));
	str = g_strndup((const char *)data + 1, size - 1); /* to the first NUL */
	set_vars(&v, (uint8_t)(data[0] >> 2), str);
	if (which == 3) {
		if (remarks_check_text(str, why, sizeof(why)) == 0) {
			out = remarks_expand(str, &v);
			g_free(out);
		}
	} else {
		struct remarks *r;

		for (i = 0; i < 3; i++) {
			text[i] = shipped[i];
			len[i] = shipped_len[i];
		}
		text[which] = (const char *)data + 1;
		len[which] = size - 1;
		r = remarks_load_texts("fuzz", text, len, errbuf);
		if (r != NULL) {
			for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
				out = remarks_fill(r, keys[i], i % 2 ? "title" : NULL, &v);
				g_free(out);
				(void)remarks_get(r, keys[i]);
			}
			remarks_free(r);
		} else if (memchr(errbuf, '\0', sizeof(errbuf)) == NULL) {
			__builtin_trap(); /* the message must be terminated */
		}
	}
	rvars_clear(&v);
	g_free(str);
	return 0;
}
