/* emit_mermaid.c - -T mermaid: Mermaid sequenceDiagram source (GitHub renders it in Markdown). */
#include <stdio.h>
#include <string.h>

#include "diagram.h"

/*
 * Mermaid refuses a diagram longer than its maxTextSize (50,000
 * characters by default), so a long session is split into parts, each a
 * complete diagram with its participants: FILE-p1.mmd, FILE-p2.mmd with
 * -o, one after the other (with a "%% part" comment) on standard output.
 */
#define MERMAID_MAX_TEXT 40000
#define MERMAID_NOTE_WIDTH 60

/* Text inside a message or note: Mermaid's entity codes for what it would parse. */
static void
append_escaped(GString *out, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<':
			g_string_append(out, "#lt;");
			break;
		case '>':
			g_string_append(out, "#gt;");
			break;
		case '#':
			g_string_append(out, "#35;");
			break;
		case ';':
			g_string_append(out, "#59;");
			break;
		case '&':
			g_string_append(out, "#amp;");
			break;
		case '"':
			g_string_append(out, "#quot;");
			break;
		case '%':
			g_string_append(out, "#37;");
			break;
		default:
			g_string_append_c(out, *s);
		}
	}
}

static void
preamble(GString *out, const struct diagram *d, unsigned part, unsigned nparts)
{
	int side;

	g_string_append(out, "sequenceDiagram\n    title ");
	append_escaped(out, d->title);
	if (nparts > 1)
		g_string_append_printf(out, " (part %u of %u)", part, nparts);
	g_string_append_c(out, '\n');
	for (side = 0; side < 2; side++) {
		g_string_append_printf(
		    out, "    participant %c as ", side == DG_CLIENT ? 'C' : 'S');
		append_escaped(out, d->lifeline[side]);
		g_string_append(out, "<br/>");
		append_escaped(out, d->addr[side]);
		g_string_append_c(out, '\n');
	}
}

static const char *
arrow(const struct dg_row *r)
{
	switch (r->style) {
	case DG_STYLE_BACKGROUND:
		return "-->>";
	case DG_STYLE_ERROR:
		return "-x";
	case DG_STYLE_RETRANS:
		return "--)";
	default:
		return "->>";
	}
}

static void
row_text(GString *out, const struct diagram *d, const struct dg_row *r, bool band, bool cont)
{
	char t[32];
	GPtrArray *lines;
	guint i;

	if (band) {
		g_string_append(out, "    Note over C,S: ");
		append_escaped(out, d->phase_title[r->phase]);
		if (cont) {
			g_string_append_c(out, ' ');
			append_escaped(out, d->continued);
		}
		g_string_append_c(out, '\n');
	}
	dg_fmt_time(r->t_us, false, t, sizeof(t));
	g_string_append_printf(out, "    %c%s%c: %u. ", r->dir == DIR_TO_SERVER ? 'C' : 'S',
	    arrow(r), r->dir == DIR_TO_SERVER ? 'S' : 'C', r->step);
	append_escaped(out, r->name);
	g_string_append(out, "<br/>");
	append_escaped(out, r->params);
	g_string_append_printf(out, " [%s s]\n", t);
	if (r->remark[0] != '\0') {
		lines = dg_wrap(r->remark, MERMAID_NOTE_WIDTH);
		g_string_append(out, "    Note right of S: ");
		for (i = 0; i < lines->len; i++) {
			if (i > 0)
				g_string_append(out, "<br/>");
			append_escaped(out, g_ptr_array_index(lines, i));
		}
		g_string_append_c(out, '\n');
		g_ptr_array_free(lines, TRUE);
	}
}

static int
render_mermaid(
    const struct diagram *d, FILE *out, const struct emit_opts *o, GPtrArray *pages, char *errbuf)
{
	GPtrArray *bodies = g_ptr_array_new();
	GString *cur = g_string_new(NULL), *one, *pre;
	guint i, p;
	int phase = -1;

	(void)out;
	(void)o;
	(void)errbuf;
	/* First the rows, cut into parts that stay under the limit. */
	for (i = 0; i < d->rows->len; i++) {
		const struct dg_row *r = &g_array_index(d->rows, struct dg_row, i);
		bool band = (int)r->phase != phase;

		one = g_string_new(NULL);
		row_text(one, d, r, band || cur->len == 0, !band && cur->len == 0 && i > 0);
		phase = (int)r->phase;
		if (cur->len > 0 && cur->len + one->len > MERMAID_MAX_TEXT) {
			g_ptr_array_add(bodies, cur);
			cur = g_string_new(NULL);
			g_string_free(one, TRUE);
			one = g_string_new(NULL);
			row_text(one, d, r, true, !band);
		}
		g_string_append(cur, one->str);
		g_string_free(one, TRUE);
	}
	g_ptr_array_add(bodies, cur);
	for (p = 0; p < bodies->len; p++) {
		GByteArray *b = g_byte_array_new();
		pre = g_string_new(NULL);
		if (bodies->len > 1 && dg_output_path(o) == NULL)
			g_string_append_printf(pre, "%%%% part %u of %u\n", p + 1, bodies->len);
		preamble(pre, d, p + 1, bodies->len);
		g_string_append(pre, ((GString *)g_ptr_array_index(bodies, p))->str);
		if (bodies->len > 1 && dg_output_path(o) == NULL && p + 1 < bodies->len)
			g_string_append_c(pre, '\n');
		g_byte_array_append(b, (const guint8 *)pre->str, (guint)pre->len);
		g_ptr_array_add(pages, b);
		g_string_free(pre, TRUE);
		g_string_free(g_ptr_array_index(bodies, p), TRUE);
	}
	g_ptr_array_free(bodies, TRUE);
	return 0;
}

static const struct dg_renderer rd_mermaid = {"mermaid", "mmd", true, false, render_mermaid, NULL};

static void *
mermaid_begin(FILE *out, const struct emit_opts *o, char *errbuf)
{
	return diagram_begin(&rd_mermaid, out, o, errbuf);
}

static int
mermaid_session(
    void *ctx, FILE *out, const struct session *s, const struct emit_opts *o, char *errbuf)
{
	return diagram_session(ctx, out, s, o, errbuf);
}

static int
mermaid_end(
    void *ctx, FILE *out, const struct run_stats *st, const struct emit_opts *o, char *errbuf)
{
	return diagram_end(ctx, out, st, o, errbuf);
}

const struct emitter emit_mermaid = {"mermaid",
    "Mermaid sequenceDiagram source (long sessions split into parts)", mermaid_begin,
    mermaid_session, mermaid_end, EMIT_WHOLE};
