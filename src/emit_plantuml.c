/* emit_plantuml.c - -T plantuml: PlantUML sequence diagram source, "newpage" every --page-rows rows. */
#include <stdio.h>
#include <string.h>

#include "diagram.h"

#define PUML_NOTE_WIDTH 60

#define PUML_BACKGROUND "#9A9A9A"
#define PUML_REQUEST "#3A66D6"
#define PUML_REPLY "#A51D1D"
#define PUML_ERROR "#E00000"
#define PUML_RETRANS "#E08A00"

/*
 * Text of a message, note or title, which may come from the capture.  It
 * is only ever written after our own syntax on one line (notes too, with
 * "\n" between their lines), so it never starts a line: no "end note",
 * "@enduml", "newpage" or "participant" of a peer's can be read as syntax.
 * Within the line, what PlantUML would interpret is written as a Unicode
 * code point (<U+003C>), printed as that character: a backslash (an
 * escape such as \n), "<" (a Creole tag), "~" (Creole's escape), '"',
 * "%" (a preprocessor function: %getenv("HOME") is expanded when the
 * diagram is drawn), and the second "[" of "[[" (a link) and "{" of "{{".
 */
static void
append_escaped(GString *out, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\\':
			g_string_append(out, "<U+005C>");
			break;
		case '<':
			g_string_append(out, "<U+003C>");
			break;
		case '>':
			g_string_append(out, "<U+003E>");
			break;
		case '~':
			g_string_append(out, "<U+007E>");
			break;
		case '"':
			g_string_append(out, "<U+0022>");
			break;
		case '%':
			g_string_append(out, "<U+0025>");
			break;
		case '[':
		case '{':
			g_string_append_c(out, *s);
			if (s[1] == s[0]) {
				g_string_append(out, *s == '[' ? "<U+005B>" : "<U+007B>");
				s++;
			}
			break;
		default:
			g_string_append_c(out, *s);
		}
	}
}

static const char *
color(const struct dg_row *r)
{
	switch (r->style) {
	case DG_STYLE_BACKGROUND:
		return PUML_BACKGROUND;
	case DG_STYLE_ERROR:
		return PUML_ERROR;
	case DG_STYLE_RETRANS:
		return PUML_RETRANS;
	default:
		return r->dir == DIR_TO_SERVER ? PUML_REQUEST : PUML_REPLY;
	}
}

static int
render_plantuml(
    const struct diagram *d, FILE *out, const struct emit_opts *o, GPtrArray *pages, char *errbuf)
{
	GString *s = g_string_new(NULL);
	GByteArray *b;
	GPtrArray *lines;
	guint i, k, per = o->page_rows > 0 ? (guint)o->page_rows : DG_PAGE_ROWS;
	int phase = -1, side;
	char t[32], dt[32];

	(void)out;
	(void)errbuf;
	g_string_append(s, "@startuml\n");
	g_string_append(s,
	    "skinparam shadowing false\n"
	    "skinparam defaultFontName Helvetica\n"
	    "skinparam sequenceMessageAlign center\n"
	    "skinparam noteBackgroundColor #FFFFFF\n"
	    "skinparam noteBorderColor #FFFFFF\n"
	    "skinparam participantBackgroundColor #4A6FA5\n"
	    "skinparam participantFontColor #FFFFFF\n"
	    "skinparam boxPadding 10\n");
	g_string_append(s, "title ");
	append_escaped(s, d->title);
	g_string_append_c(s, '\n');
	for (side = 0; side < 2; side++) {
		g_string_append(s, "box \"");
		append_escaped(s, d->system[side]);
		g_string_append(s, "\" #DFE7F5\n  participant \"");
		append_escaped(s, d->lifeline[side]);
		g_string_append(s, "\\n");
		append_escaped(s, d->addr[side]);
		g_string_append_printf(s, "\" as %c\nend box\n", side == DG_CLIENT ? 'C' : 'S');
	}
	for (i = 0; i < d->rows->len; i++) {
		const struct dg_row *r = &g_array_index(d->rows, struct dg_row, i);
		bool newpage = i > 0 && i % per == 0;

		if (newpage)
			g_string_append(s, "newpage\n");
		if ((int)r->phase != phase || newpage) {
			g_string_append(s, "== ");
			append_escaped(s, d->phase_title[r->phase]);
			if ((int)r->phase == phase) {
				g_string_append_c(s, ' ');
				append_escaped(s, d->continued);
			}
			g_string_append(s, " ==\n");
			phase = (int)r->phase;
		}
		dg_fmt_time(r->t_us, false, t, sizeof(t));
		dg_fmt_time(r->delta_us, true, dt, sizeof(dt));
		/* "-[#colour]>" solid, "-[#colour]->" dotted (retransmitted, not captured). */
		g_string_append_printf(s, "%c -[%s]%s> %c : <b>%u</b> ",
		    r->dir == DIR_TO_SERVER ? 'C' : 'S', color(r),
		    (r->flags & DG_F_SYNTHETIC) || r->style == DG_STYLE_RETRANS ? "-" : "",
		    r->dir == DIR_TO_SERVER ? 'S' : 'C', r->step);
		if (r->style != DG_STYLE_NORMAL)
			g_string_append_printf(s, "<color:%s>", color(r));
		g_string_append(s, "<b>");
		append_escaped(s, r->name);
		g_string_append(s, "</b>");
		if (r->style != DG_STYLE_NORMAL)
			g_string_append(s, "</color>");
		g_string_append(s, "\\n<size:9><color:#555555>");
		append_escaped(s, r->params);
		g_string_append_printf(s, "  [%s s, %s]</color></size>\n", t, dt);
		if (r->remark[0] != '\0') {
			/* One line: a remark's wrapped lines never start a line of source. */
			lines = dg_wrap(r->remark, PUML_NOTE_WIDTH);
			g_string_append(s, "note right : ");
			for (k = 0; k < lines->len; k++) {
				if (k > 0)
					g_string_append(s, "\\n");
				if (r->style == DG_STYLE_ERROR)
					g_string_append_printf(s, "<color:%s>", PUML_ERROR);
				append_escaped(s, g_ptr_array_index(lines, k));
				if (r->style == DG_STYLE_ERROR)
					g_string_append(s, "</color>");
			}
			g_string_append_c(s, '\n');
			g_ptr_array_free(lines, TRUE);
		}
	}
	g_string_append(s, "@enduml\n");
	b = g_byte_array_new();
	g_byte_array_append(b, (const guint8 *)s->str, (guint)s->len);
	g_ptr_array_add(pages, b);
	g_string_free(s, TRUE);
	return 0;
}

static const struct dg_renderer rd_plantuml = {
    "plantuml", "puml", true, true, render_plantuml, NULL};

static void *
plantuml_begin(FILE *out, const struct emit_opts *o, char *errbuf)
{
	return diagram_begin(&rd_plantuml, out, o, errbuf);
}

static int
plantuml_session(
    void *ctx, FILE *out, const struct session *s, const struct emit_opts *o, char *errbuf)
{
	return diagram_session(ctx, out, s, o, errbuf);
}

static int
plantuml_end(
    void *ctx, FILE *out, const struct run_stats *st, const struct emit_opts *o, char *errbuf)
{
	return diagram_end(ctx, out, st, o, errbuf);
}

const struct emitter emit_plantuml = {"plantuml",
    "PlantUML sequence diagram source (newpage every --page-rows rows)", plantuml_begin,
    plantuml_session, plantuml_end, EMIT_WHOLE};
