/* emit_flow.c - -T flow: the sequence diagram drawn in the terminal (box drawing, or ASCII in a pipe). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "diagram.h"

#define FLOW_DEFAULT_WIDTH 100
#define FLOW_MIN_WIDTH 60
#define FLOW_MAX_WIDTH 400
#define FLOW_LEFT 15 /* "  12! 123.456  " */
#define FLOW_MIN_SPAN 24
#define FLOW_MIN_REMARKS 24
#define FLOW_GOOD_REMARKS 44
#define FLOW_PREF_SPAN 44 /* fits "(PSH, ACK), TCP Segment Length = 65483" */

enum color { COL_NONE, COL_DIM, COL_CLIENT, COL_SERVER, COL_ERROR, COL_RETRANS, COL_BOLD };

static const char *const ansi[] = {
    "\033[0m",
    "\033[2m",
    "\033[34m",
    "\033[31m",
    "\033[1;31m",
    "\033[33m",
    "\033[1m",
};

struct cell {
	char ch[8]; /* one UTF-8 character */
	uint8_t color;
};

struct flow {
	FILE *out; /* for isatty only */
	GString *buf;
	bool unicode, color;
	int width;
	int cc, cs; /* lifeline columns */
	int cr, rw; /* remarks column and width (rw 0: remarks below the row) */
	struct cell *line;
	const char *v_line, *h_line, *h_dash, *h_dot, *head_r, *head_l, *band;
};

static void
clear_line(struct flow *f)
{
	int i;

	for (i = 0; i < f->width; i++) {
		f->line[i].ch[0] = ' ';
		f->line[i].ch[1] = '\0';
		f->line[i].color = COL_NONE;
	}
}

static void
put(struct flow *f, int col, const char *ch, enum color c)
{
	if (col < 0 || col >= f->width)
		return;
	g_strlcpy(f->line[col].ch, ch, sizeof(f->line[col].ch));
	f->line[col].color = (uint8_t)c;
}

/* Text in ASCII mode: non-ASCII characters become '?', the title's arrow "<->". */
static char *
to_ascii(const char *s)
{
	GString *out = g_string_new(NULL);
	const char *p;

	for (p = s; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c == 0x2194)
			g_string_append(out, "<->");
		else if (c < 0x80)
			g_string_append_c(out, (char)c);
		else
			g_string_append_c(out, '?');
	}
	return g_string_free(out, FALSE);
}

/* Writes text from col, at most max characters ("..." if cut); returns characters put. */
static int
put_text(struct flow *f, int col, const char *text, int max, enum color c)
{
	char *t = f->unicode ? g_strdup(text) : to_ascii(text);
	const char *p = t, *ell = f->unicode ? "\xe2\x80\xa6" : ".";
	int n = (int)g_utf8_strlen(t, -1), i = 0, lim = n, ecount = 0;
	char ch[8];

	if (max < 1) {
		g_free(t);
		return 0;
	}
	if (n > max) {
		ecount = f->unicode ? 1 : (max >= 3 ? 3 : max);
		lim = max - ecount;
	}
	for (; i < lim && *p != '\0'; i++, p = g_utf8_next_char(p)) {
		size_t len = (size_t)(g_utf8_next_char(p) - p);
		memcpy(ch, p, len);
		ch[len] = '\0';
		put(f, col + i, ch, c);
	}
	for (; ecount > 0; ecount--, i++)
		put(f, col + i, ell, c);
	g_free(t);
	return i;
}

static void
put_center(struct flow *f, int from, int to, const char *text, enum color c)
{
	char *t = f->unicode ? g_strdup(text) : to_ascii(text);
	int n = (int)g_utf8_strlen(t, -1), room = to - from, col;

	g_free(t);
	if (n > room)
		n = room;
	col = from + (room - n) / 2;
	put_text(f, col, text, room, c);
}

static void
flush_line(struct flow *f)
{
	int last = f->width - 1, i;
	uint8_t cur = COL_NONE;

	while (last >= 0 && f->line[last].ch[0] == ' ' && f->line[last].ch[1] == '\0')
		last--;
	for (i = 0; i <= last; i++) {
		if (f->color && f->line[i].color != cur) {
			g_string_append(f->buf, ansi[COL_NONE]);
			if (f->line[i].color != COL_NONE)
				g_string_append(f->buf, ansi[f->line[i].color]);
			cur = f->line[i].color;
		}
		g_string_append(f->buf, f->line[i].ch);
	}
	if (f->color && cur != COL_NONE)
		g_string_append(f->buf, ansi[COL_NONE]);
	g_string_append_c(f->buf, '\n');
	clear_line(f);
}

static void
lifelines(struct flow *f)
{
	put(f, f->cc, f->v_line, COL_DIM);
	put(f, f->cs, f->v_line, COL_DIM);
}

static int
terminal_width(FILE *out, const struct emit_opts *o)
{
	struct winsize ws;
	int w = o->width;

	if (w <= 0 && isatty(fileno(out)) && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col > 0)
		w = ws.ws_col;
	if (w <= 0)
		w = o->columns; /* $COLUMNS (main reads it): a pipe, or a terminal that says nothing */
	if (w <= 0)
		w = FLOW_DEFAULT_WIDTH;
	if (w < FLOW_MIN_WIDTH)
		w = FLOW_MIN_WIDTH;
	if (w > FLOW_MAX_WIDTH)
		w = FLOW_MAX_WIDTH;
	return w;
}

static void
layout(struct flow *f, const struct diagram *d)
{
	int maxl = 0, n, side, span;
	guint i;

	for (i = 0; i < d->rows->len; i++) {
		const struct dg_row *r = &g_array_index(d->rows, struct dg_row, i);
		n = (int)dg_strwidth(r->name);
		if (n > maxl)
			maxl = n;
		n = (int)dg_strwidth(r->params);
		if (n > maxl)
			maxl = n;
	}
	for (side = 0; side < 2; side++) {
		n = (int)dg_strwidth(d->addr[side]);
		if (n > maxl)
			maxl = n;
	}
	span = maxl + 4;
	if (span < FLOW_MIN_SPAN)
		span = FLOW_MIN_SPAN;
	f->cc = FLOW_LEFT + 6;
	/*
	 * Remarks beside the arrows get at least FLOW_GOOD_REMARKS columns
	 * when the terminal allows (long names are cut with an ellipsis),
	 * FLOW_MIN_REMARKS otherwise; below that they go under the row.
	 */
	n = f->width - f->cc - 3 - FLOW_GOOD_REMARKS;
	if (n < FLOW_PREF_SPAN)
		n = FLOW_PREF_SPAN;
	if (span > n)
		span = n;
	if (f->cc + span + 3 + FLOW_MIN_REMARKS > f->width) {
		int room = f->width - f->cc - 3 - FLOW_MIN_REMARKS;
		if (room >= FLOW_MIN_SPAN && room >= span * 2 / 3)
			span = room;
	}
	if (f->cc + span + 2 > f->width)
		span = f->width - f->cc - 2;
	f->cs = f->cc + span;
	f->cr = f->cs + 3;
	f->rw = f->width - f->cr;
	if (f->rw < FLOW_MIN_REMARKS) {
		f->rw = 0; /* remarks go below the row */
		f->cr = FLOW_LEFT + 2;
	}
}

static void
header(struct flow *f, const struct diagram *d)
{
	int side, x;

	put_center(f, 0, f->width, d->title, COL_BOLD);
	flush_line(f);
	flush_line(f);
	for (side = 0; side < 2; side++) {
		x = side == DG_CLIENT ? f->cc : f->cs;
		put_center(f, x - 20, x + 21, d->lifeline[side], COL_BOLD);
	}
	flush_line(f);
	for (side = 0; side < 2; side++) {
		x = side == DG_CLIENT ? f->cc : f->cs;
		put_center(f, x - 20, x + 21, d->addr[side], COL_NONE);
	}
	flush_line(f);
	put_text(f, 1, d->col_step, 4, COL_BOLD);
	put_text(f, 6, d->col_time, 9, COL_BOLD);
	if (f->rw > 0)
		put_text(f, f->cr, d->col_remarks, f->rw, COL_BOLD);
	lifelines(f);
	flush_line(f);
}

static void
band(struct flow *f, const char *title)
{
	int i, n;

	for (i = 0; i < f->width; i++)
		put(f, i, f->band, COL_DIM);
	n = put_text(f, 4, " ", 1, COL_NONE);
	n += put_text(f, 5, title, f->width - 10, COL_BOLD);
	put_text(f, 5 + n - 1, " ", 1, COL_NONE);
	flush_line(f);
}

static enum color
row_color(const struct dg_row *r)
{
	switch (r->style) {
	case DG_STYLE_BACKGROUND:
		return COL_DIM;
	case DG_STYLE_ERROR:
		return COL_ERROR;
	case DG_STYLE_RETRANS:
		return COL_RETRANS;
	default:
		return r->dir == DIR_TO_SERVER ? COL_CLIENT : COL_SERVER;
	}
}

static void
row(struct flow *f, const struct dg_row *r)
{
	enum color c = row_color(r);
	GPtrArray *rl = dg_wrap(r->remark, (size_t)(f->rw > 0 ? f->rw : f->width - f->cr));
	const char *h = (r->flags & DG_F_SYNTHETIC) ? f->h_dot
	    : r->style == DG_STYLE_RETRANS          ? f->h_dash
	                                            : f->h_line;
	char buf[32];
	guint li = 0, nlines;
	int x, line;

	nlines = 3;
	if (f->rw > 0 && rl->len > nlines)
		nlines = rl->len;
	for (line = 0; line < (int)nlines; line++) {
		lifelines(f);
		if (line == 0) {
			put_center(f, f->cc + 1, f->cs, r->name, c == COL_DIM ? COL_DIM : COL_BOLD);
		} else if (line == 1) {
			snprintf(buf, sizeof(buf), "%4u", r->step);
			put_text(f, 0, buf, 4, COL_NONE);
			if (r->style == DG_STYLE_ERROR)
				put(f, 4, "!", COL_ERROR);
			else if (r->style == DG_STYLE_RETRANS)
				put(f, 4, "~", COL_RETRANS);
			else if (r->flags & DG_F_SYNTHETIC)
				put(f, 4, "*", COL_DIM);
			dg_fmt_time(r->t_us, false, buf, sizeof(buf));
			put_text(f, 6 + 8 - (int)strlen(buf), buf, 8, COL_NONE);
			for (x = f->cc + 1; x < f->cs; x++)
				put(f, x, h, c);
			if (r->dir == DIR_TO_SERVER)
				put(f, f->cs - 1, f->head_r, c);
			else
				put(f, f->cc + 1, f->head_l, c);
		} else if (line == 2) {
			put_center(f, f->cc + 1, f->cs, r->params, COL_DIM);
		}
		if (f->rw > 0 && li < rl->len)
			put_text(f, f->cr, g_ptr_array_index(rl, li++), f->rw,
			    r->style == DG_STYLE_ERROR ? COL_ERROR : COL_NONE);
		flush_line(f);
	}
	/* Narrow terminal: the remark below the arrow. */
	for (; li < rl->len; li++) {
		lifelines(f);
		put_text(f, f->cr, g_ptr_array_index(rl, li), f->width - f->cr,
		    r->style == DG_STYLE_ERROR ? COL_ERROR : COL_NONE);
		flush_line(f);
	}
	g_ptr_array_free(rl, TRUE);
}

static int
render_flow(
    const struct diagram *d, FILE *out, const struct emit_opts *o, GPtrArray *pages, char *errbuf)
{
	struct flow f;
	GByteArray *b;
	guint i;
	int phase = -1;

	(void)errbuf;
	memset(&f, 0, sizeof(f));
	f.out = out;
	f.width = terminal_width(out, o);
	f.unicode = !o->ascii && (o->unicode || isatty(fileno(out)));
	/* --color (main decided: auto is a terminal without NO_COLOR or TERM=dumb). */
	f.color = !o->ascii && o->color &&
	    (o->color_when == EMIT_COLOR_ALWAYS || dg_output_path(o) == NULL);
	if (f.unicode) {
		f.v_line = "\xe2\x94\x82"; /* U+2502 */
		f.h_line = "\xe2\x94\x80"; /* U+2500 */
		f.h_dash = "\xe2\x95\x8c"; /* U+254C */
		f.h_dot = "\xc2\xb7";      /* U+00B7 */
		f.head_r = "\xe2\x96\xb6"; /* U+25B6 */
		f.head_l = "\xe2\x97\x80"; /* U+25C0 */
		f.band = "\xe2\x94\x80";
	} else {
		f.v_line = "|";
		f.h_line = "-";
		f.h_dash = "~";
		f.h_dot = ".";
		f.head_r = ">";
		f.head_l = "<";
		f.band = "=";
	}
	f.line = g_new(struct cell, (gsize)f.width);
	f.buf = g_string_new(NULL);
	clear_line(&f);
	layout(&f, d);
	header(&f, d);
	for (i = 0; i < d->rows->len; i++) {
		const struct dg_row *r = &g_array_index(d->rows, struct dg_row, i);
		if ((int)r->phase != phase) {
			band(&f, d->phase_title[r->phase]);
			phase = (int)r->phase;
		}
		row(&f, r);
	}
	lifelines(&f);
	flush_line(&f);
	g_string_append_c(f.buf, '\n');
	b = g_byte_array_new();
	g_byte_array_append(b, (const guint8 *)f.buf->str, (guint)f.buf->len);
	g_ptr_array_add(pages, b);
	g_string_free(f.buf, TRUE);
	g_free(f.line);
	return 0;
}

static const struct dg_renderer rd_flow = {"flow", "txt", true, true, render_flow, NULL};

static void *
flow_begin(FILE *out, const struct emit_opts *o, char *errbuf)
{
	return diagram_begin(&rd_flow, out, o, errbuf);
}

static int
flow_session(void *ctx, FILE *out, const struct session *s, const struct emit_opts *o, char *errbuf)
{
	return diagram_session(ctx, out, s, o, errbuf);
}

static int
flow_end(void *ctx, FILE *out, const struct run_stats *st, const struct emit_opts *o, char *errbuf)
{
	return diagram_end(ctx, out, st, o, errbuf);
}

const struct emitter emit_flow = {"flow",
    "the sequence diagram in the terminal (box drawing; ASCII in a pipe or with --ascii)",
    flow_begin, flow_session, flow_end, EMIT_WHOLE};
