/* emit_dot.c - -T dot|svg|png|pdf: EventStudio-style diagrams drawn by Graphviz at positions popflow computes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "diagram.h"
#include "util.h"

/*
 * Technique (docs/diagrams.md, "How the Graphviz drawing is made"): every
 * node is pinned with pos="x,y!" and laid out with "nop2", so Graphviz
 * only draws.  Lifelines are dashed edges between invisible points,
 * broken around the phase bands; an arrow is an edge between two
 * invisible points at the same height, so it is always horizontal; names,
 * parameters, times and remarks are plaintext nodes.  Text is measured
 * with Graphviz's own text layout (per-character advances), so the
 * columns fit whatever font the renderer maps Helvetica to.
 */

/* Font sizes (points). */
#define FS_TITLE 13.0
#define FS_SYSTEM 11.0
#define FS_ENTITY 10.0
#define FS_NAME 10.0
#define FS_PARAMS 8.0
#define FS_REMARK 9.0
#define FS_COL 9.0
#define FS_PHASE 10.0
#define FS_TIME 9.0
#define FS_DELTA 7.0
#define LINE_H 1.22 /* line height / font size */

/* Geometry (points). */
#define PAD 18.0
#define REMARK_W 300.0
#define MIN_SPAN 260.0
#define ROW_MIN_H 44.0
#define BAND_H 22.0

/* Colours: EventStudio's grey "background" for TCP, blue requests, dark red replies. */
#define C_BACKGROUND "#9a9a9a"
#define C_BG_TEXT "#7a7a7a"
#define C_REQUEST "#3a66d6"
#define C_REPLY "#a51d1d"
#define C_ERROR "#e00000"
#define C_ERROR_FILL "#fff0f0"
#define C_RETRANS "#e08a00"
#define C_PARAMS "#555555"
#define C_LIFELINE "#555555"
#define C_BAND_FILL "#f2f2f2"
#define C_SYSTEM_FILL "#dfe7f5"
#define C_ENTITY_FILL "#4a6fa5"

enum font { F_REGULAR, F_BOLD };

static GVC_t *gvc;
static bool measured;
static double advance[2][128]; /* per character, at 1 pt */

/* cgraph takes char *; it copies the values. */
static void
set(void *obj, const char *name, const char *value)
{
	agsafeset(obj, (char *)name, (char *)value, (char *)"");
}

static void setf(void *obj, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
setf(void *obj, const char *name, const char *fmt, ...)
{
	va_list ap;
	char buf[256];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	set(obj, name, buf);
}

/* Text for a Graphviz label: backslash starts an escape, "&..;" is an entity. */
static char *
label_escape(const char *s)
{
	GString *out = g_string_new(NULL);

	for (; *s != '\0'; s++) {
		if (*s == '\\')
			g_string_append(out, "\\\\");
		else if (*s == '&')
			g_string_append(out, "&amp;");
		else
			g_string_append_c(out, *s);
	}
	return g_string_free(out, FALSE);
}

/*
 * One Graphviz context for the whole process, freed at exit: the pango
 * plugin of Graphviz 2.42 keeps a pointer into the first context's font
 * cache, so a second context after gvFreeContext() reads freed memory
 * (found with ASan when the unit tests run several emitters).
 */
static void
gvc_free_at_exit(void)
{
	if (gvc != NULL)
		gvFreeContext(gvc);
	gvc = NULL;
}

static int
ensure_gvc(char *errbuf)
{
	if (gvc == NULL) {
		gvc = gvContext();
		if (gvc != NULL)
			atexit(gvc_free_at_exit);
	}
	if (gvc == NULL) {
		snprintf(errbuf, ERRBUF_SIZE, "Graphviz: cannot create a context");
		return -1;
	}
	return 0;
}

static const char *
font_name(enum font f)
{
	return f == F_BOLD ? "Helvetica-Bold" : "Helvetica";
}

/*
 * Measures every printable ASCII character once with Graphviz's text
 * layout (the same one the renderers use): label "|cccccccccc|" minus
 * label "||", divided by ten, at 100 pt.
 */
static int
measure_init(char *errbuf)
{
	Agraph_t *g;
	Agnode_t *n[2][128], *bar[2];
	char name[32], label[80];
	int f, c, i;

	if (measured)
		return 0;
	if (ensure_gvc(errbuf) < 0)
		return -1;
	g = agopen((char *)"measure", Agdirected, NULL);
	agattr(g, AGNODE, (char *)"shape", (char *)"plaintext");
	agattr(g, AGNODE, (char *)"fontsize", (char *)"100");
	agattr(g, AGNODE, (char *)"pos", (char *)"0,0!");
	agattr(g, AGNODE, (char *)"fontname", (char *)"Helvetica");
	agattr(g, AGNODE, (char *)"label", (char *)"");
	for (f = 0; f < 2; f++) {
		snprintf(name, sizeof(name), "bar%d", f);
		bar[f] = agnode(g, name, 1);
		set(bar[f], "label", "||");
		set(bar[f], "fontname", font_name((enum font)f));
		for (c = 32; c < 127; c++) {
			char *esc, one[2] = {(char)c, '\0'}, *p = label;
			snprintf(name, sizeof(name), "c%d_%d", f, c);
			n[f][c] = agnode(g, name, 1);
			esc = label_escape(one);
			*p++ = '|';
			for (i = 0; i < 10; i++)
				p = stpcpy(p, esc);
			*p++ = '|';
			*p = '\0';
			g_free(esc);
			set(n[f][c], "label", label);
			set(n[f][c], "fontname", font_name((enum font)f));
		}
	}
	if (gvLayout(gvc, g, "nop2") != 0) {
		agclose(g);
		snprintf(errbuf, ERRBUF_SIZE, "Graphviz: the nop2 layout is not available");
		return -1;
	}
	for (f = 0; f < 2; f++) {
		double base = ND_label(bar[f])->dimen.x;
		for (c = 32; c < 127; c++)
			advance[f][c] = (ND_label(n[f][c])->dimen.x - base) / 10.0 / 100.0;
		for (c = 0; c < 32; c++)
			advance[f][c] = advance[f]['n'];
		advance[f][127] = advance[f]['n'];
	}
	gvFreeLayout(gvc, g);
	agclose(g);
	measured = true;
	return 0;
}

struct font_size {
	enum font f;
	double size;
};

/* Width in points of n bytes of UTF-8 text; non-ASCII characters count as 'M'. */
static double
measure(void *arg, const char *s, size_t n)
{
	const struct font_size *fs = arg;
	const char *end = s + n;
	double w = 0;

	while (s < end) {
		unsigned char c = (unsigned char)*s;
		if (c < 128) {
			w += advance[fs->f][c];
			s++;
		} else {
			w += advance[fs->f]['M'];
			s = g_utf8_next_char(s);
		}
	}
	return w * fs->size * 1.04; /* a little slack for kerning and browsers' fonts */
}

static double
text_w(const char *s, enum font f, double size)
{
	struct font_size fs = {f, size};

	return measure(&fs, s, strlen(s));
}

/* ---- layout ---- */

struct layout {
	double width;
	double xstep, xtime, xc, xs, xr;
	double sys_w, sys_h, ent_w, ent_h;
	double sys_top, header_bottom;
};

static void
compute_layout(const struct diagram *d, struct layout *L)
{
	double maxlabel = 0, w;
	guint i;
	int side;

	L->ent_w = 130;
	for (side = 0; side < 2; side++) {
		w = text_w(d->lifeline[side], F_REGULAR, FS_ENTITY) + 28;
		if (w > L->ent_w)
			L->ent_w = w;
		w = text_w(d->addr[side], F_REGULAR, FS_ENTITY) + 28;
		if (w > L->ent_w)
			L->ent_w = w;
	}
	L->ent_h = 2 * FS_ENTITY * LINE_H + 12;
	L->sys_w = L->ent_w + 36;
	for (side = 0; side < 2; side++) {
		w = text_w(d->system[side], F_BOLD, FS_SYSTEM) + 24;
		if (w > L->sys_w)
			L->sys_w = w;
	}
	L->sys_h = FS_SYSTEM * LINE_H + 14 + L->ent_h + 12;
	for (i = 0; i < d->rows->len; i++) {
		const struct dg_row *r = &g_array_index(d->rows, struct dg_row, i);
		w = text_w(r->name, F_BOLD, FS_NAME);
		if (w > maxlabel)
			maxlabel = w;
		w = text_w(r->params, F_REGULAR, FS_PARAMS);
		if (w > maxlabel)
			maxlabel = w;
	}
	L->xstep = PAD + 10;
	L->xtime = PAD + 50;
	L->xc = PAD + 86 + L->sys_w / 2;
	w = maxlabel + 50;
	if (w < MIN_SPAN)
		w = MIN_SPAN;
	if (w < L->sys_w + 40)
		w = L->sys_w + 40;
	L->xs = L->xc + w;
	L->xr = L->xs + L->sys_w / 2 + 26;
	L->width = L->xr + REMARK_W + PAD;
	w = text_w(d->title, F_BOLD, FS_TITLE) + 2 * PAD;
	if (w > L->width)
		L->width = w;
	L->sys_top = PAD + FS_TITLE * LINE_H + 14;
	L->header_bottom = L->sys_top + L->sys_h;
}

/* ---- graph building ---- */

struct gb {
	Agraph_t *g;
	unsigned seq; /* node names */
	const struct layout *L;
	GArray *gaps; /* y ranges (pairs) where the lifelines are interrupted */
};

static Agnode_t *
node_at(struct gb *b, double x, double y)
{
	char name[32];
	Agnode_t *n;

	snprintf(name, sizeof(name), "n%u", b->seq++);
	n = agnode(b->g, name, 1);
	setf(n, "pos", "%.2f,%.2f!", x, -y);
	return n;
}

/* A line of text centred at (x, y). */
static Agnode_t *
text_at(
    struct gb *b, double x, double y, const char *text, enum font f, double size, const char *color)
{
	Agnode_t *n = node_at(b, x, y);
	char *esc = label_escape(text);

	set(n, "label", esc);
	g_free(esc);
	if (f == F_BOLD)
		set(n, "fontname", font_name(f));
	setf(n, "fontsize", "%g", size);
	if (color != NULL)
		set(n, "fontcolor", color);
	return n;
}

/* A line of text starting at x (left-aligned), centred vertically on y. */
static Agnode_t *
text_left(
    struct gb *b, double x, double y, const char *text, enum font f, double size, const char *color)
{
	return text_at(b, x + text_w(text, f, size) / 2, y, text, f, size, color);
}

static Agnode_t *
point_at(struct gb *b, double x, double y)
{
	Agnode_t *n = node_at(b, x, y);

	set(n, "shape", "point");
	set(n, "style", "invis");
	set(n, "width", "0.01");
	set(n, "height", "0.01");
	return n;
}

static Agnode_t *
box_at(struct gb *b, double x0, double y0, double x1, double y1)
{
	Agnode_t *n = node_at(b, (x0 + x1) / 2, (y0 + y1) / 2);

	set(n, "shape", "box");
	set(n, "fixedsize", "true");
	setf(n, "width", "%.4f", (x1 - x0) / 72.0);
	setf(n, "height", "%.4f", (y1 - y0) / 72.0);
	return n;
}

static Agedge_t *
edge(struct gb *b, Agnode_t *t, Agnode_t *h)
{
	char name[32];

	snprintf(name, sizeof(name), "e%u", b->seq++);
	return agedge(b->g, t, h, name, 1);
}

static void
header(struct gb *b, const struct diagram *d, const char *title)
{
	const struct layout *L = b->L;
	double ey = L->sys_top + FS_SYSTEM * LINE_H + 14 + L->ent_h / 2, x;
	Agnode_t *n;
	char *lab, *e1, *e2;
	int side;

	text_at(b, L->width / 2, PAD + FS_TITLE * LINE_H / 2, title, F_BOLD, FS_TITLE, NULL);
	for (side = 0; side < 2; side++) {
		x = side == DG_CLIENT ? L->xc : L->xs;
		n = box_at(
		    b, x - L->sys_w / 2, L->sys_top, x + L->sys_w / 2, L->sys_top + L->sys_h);
		set(n, "style", "rounded,filled");
		set(n, "fillcolor", C_SYSTEM_FILL);
		set(n, "color", C_ENTITY_FILL);
		lab = label_escape(d->system[side]);
		set(n, "label", lab);
		g_free(lab);
		set(n, "labelloc", "t");
		set(n, "fontname", font_name(F_BOLD));
		setf(n, "fontsize", "%g", FS_SYSTEM);
		n = box_at(
		    b, x - L->ent_w / 2, ey - L->ent_h / 2, x + L->ent_w / 2, ey + L->ent_h / 2);
		set(n, "style", "filled");
		set(n, "fillcolor", C_ENTITY_FILL);
		set(n, "color", C_ENTITY_FILL);
		set(n, "fontcolor", "white");
		setf(n, "fontsize", "%g", FS_ENTITY);
		e1 = label_escape(d->lifeline[side]);
		e2 = label_escape(d->addr[side]);
		lab = g_strconcat(e1, "\\n", e2, NULL);
		set(n, "label", lab);
		g_free(lab);
		g_free(e1);
		g_free(e2);
	}
	text_at(b, L->xstep, ey, d->col_step, F_BOLD, FS_COL, NULL);
	text_at(b, L->xtime, ey, d->col_time, F_BOLD, FS_COL, NULL);
	text_left(b, L->xr, ey, d->col_remarks, F_BOLD, FS_COL, NULL);
}

static void
band(struct gb *b, double y, const char *title)
{
	const struct layout *L = b->L;
	Agnode_t *n = box_at(b, PAD, y, L->width - PAD, y + BAND_H);
	char *lab = label_escape(title);

	set(n, "style", "filled");
	set(n, "fillcolor", C_BAND_FILL);
	set(n, "color", C_BACKGROUND);
	set(n, "label", lab);
	set(n, "fontname", font_name(F_BOLD));
	setf(n, "fontsize", "%g", FS_PHASE);
	g_free(lab);
	g_array_append_val(b->gaps, y);
	y += BAND_H;
	g_array_append_val(b->gaps, y);
}

static const char *
arrow_color(const struct dg_row *r)
{
	switch (r->style) {
	case DG_STYLE_BACKGROUND:
		return C_BACKGROUND;
	case DG_STYLE_ERROR:
		return C_ERROR;
	case DG_STYLE_RETRANS:
		return C_RETRANS;
	default:
		return r->dir == DIR_TO_SERVER ? C_REQUEST : C_REPLY;
	}
}

static const char *
name_color(const struct dg_row *r)
{
	switch (r->style) {
	case DG_STYLE_BACKGROUND:
		return C_BG_TEXT;
	case DG_STYLE_ERROR:
		return C_ERROR;
	case DG_STYLE_RETRANS:
		return C_RETRANS;
	default:
		return NULL;
	}
}

/* The height of a row whose remark wraps into nlines lines. */
static double
row_h(guint nlines)
{
	double h = 6 + nlines * FS_REMARK * LINE_H + 8;

	return h < ROW_MIN_H ? ROW_MIN_H : h;
}

/* Draws one row with its top at y; returns its height. */
static double
row(struct gb *b, const struct dg_row *r, double y)
{
	const struct layout *L = b->L;
	struct font_size fs = {F_REGULAR, FS_REMARK};
	GPtrArray *lines = dg_wrap_measured(r->remark, REMARK_W - 6, measure, &fs);
	double h, ya = y + 21, lh = FS_REMARK * LINE_H, x0, x1;
	char buf[32], *lab, *esc;
	GString *rl;
	Agnode_t *t, *hd, *n;
	Agedge_t *e;
	guint i;

	h = row_h(lines->len);
	if (r->style == DG_STYLE_ERROR) {
		n = box_at(b, PAD, y + 1, L->width - PAD, y + h - 1);
		set(n, "style", "filled");
		set(n, "fillcolor", C_ERROR_FILL);
		set(n, "color", C_ERROR_FILL);
	}
	snprintf(buf, sizeof(buf), "%u", r->step);
	text_at(b, L->xstep, ya, buf, F_REGULAR, FS_TIME, NULL);
	dg_fmt_time(r->t_us, false, buf, sizeof(buf));
	text_at(b, L->xtime, ya, buf, F_REGULAR, FS_TIME, NULL);
	if (r->step > 1) {
		dg_fmt_time(r->delta_us, true, buf, sizeof(buf));
		text_at(b, L->xtime, ya + 10, buf, F_REGULAR, FS_DELTA, C_BG_TEXT);
	}
	text_at(b, (L->xc + L->xs) / 2, ya - 10, r->name, F_BOLD, FS_NAME, name_color(r));
	text_at(b, (L->xc + L->xs) / 2, ya + 10, r->params, F_REGULAR, FS_PARAMS, C_PARAMS);
	x0 = r->dir == DIR_TO_SERVER ? L->xc : L->xs;
	x1 = r->dir == DIR_TO_SERVER ? L->xs : L->xc;
	t = point_at(b, x0, ya);
	hd = point_at(b, x1, ya);
	e = edge(b, t, hd);
	set(e, "color", arrow_color(r));
	if (r->flags & DG_F_SYNTHETIC)
		set(e, "style", "dotted");
	else if (r->style == DG_STYLE_RETRANS)
		set(e, "style", "dashed");
	if (r->style == DG_STYLE_ERROR || (r->flags & DG_F_FOLDED))
		set(e, "penwidth", "1.6");
	if (lines->len > 0) {
		rl = g_string_new(NULL);
		for (i = 0; i < lines->len; i++) {
			esc = label_escape(g_ptr_array_index(lines, i));
			g_string_append(rl, esc);
			g_string_append(rl, "\\l");
			g_free(esc);
		}
		lab = g_string_free(rl, FALSE);
		n = node_at(b, L->xr + REMARK_W / 2, y + 6 + lines->len * lh / 2);
		set(n, "fixedsize", "true");
		setf(n, "width", "%.4f", REMARK_W / 72.0);
		setf(n, "height", "%.4f", lines->len * lh / 72.0);
		set(n, "label", lab);
		setf(n, "fontsize", "%g", FS_REMARK);
		if (r->style == DG_STYLE_ERROR)
			set(n, "fontcolor", C_ERROR);
		g_free(lab);
	}
	g_ptr_array_free(lines, TRUE);
	return h;
}

static void
lifelines(struct gb *b, double bottom)
{
	const struct layout *L = b->L;
	double from = L->header_bottom, to;
	guint i;
	int side;

	for (i = 0; i <= b->gaps->len; i += 2) {
		to = i < b->gaps->len ? g_array_index(b->gaps, double, i) : bottom;
		if (to > from)
			for (side = 0; side < 2; side++) {
				double x = side == DG_CLIENT ? L->xc : L->xs;
				Agedge_t *e = edge(b, point_at(b, x, from), point_at(b, x, to));
				set(e, "style", "dashed");
				set(e, "color", C_LIFELINE);
				set(e, "arrowhead", "none");
			}
		if (i + 1 < b->gaps->len)
			from = g_array_index(b->gaps, double, i + 1);
	}
}

/*
 * A graph of rows [first, last) of d; page 0 of 0 for the whole diagram.
 * page_h > 0: the drawing is that tall (a PDF page of paper proportions).
 */
static Agraph_t *
build_graph(const struct diagram *d, const struct layout *L, guint first, guint last, unsigned page,
    unsigned npages, double page_h)
{
	struct gb b;
	double y;
	guint i;
	int phase = -1;
	char *title, *ptitle;

	memset(&b, 0, sizeof(b));
	b.L = L;
	b.gaps = g_array_new(FALSE, FALSE, sizeof(double));
	b.g = agopen((char *)"popflow", Agdirected, NULL);
	set(b.g, "splines", "line");
	set(b.g, "outputorder", "nodesfirst");
	set(b.g, "bgcolor", "white");
	set(b.g, "pad", "0.1");
	set(b.g, "layout", "nop2");
	agattr(b.g, AGNODE, (char *)"shape", (char *)"plaintext");
	agattr(b.g, AGNODE, (char *)"margin", (char *)"0");
	agattr(b.g, AGNODE, (char *)"width", (char *)"0");
	agattr(b.g, AGNODE, (char *)"height", (char *)"0");
	agattr(b.g, AGNODE, (char *)"fontname", (char *)"Helvetica");
	agattr(b.g, AGNODE, (char *)"fontsize", (char *)"9");
	agattr(b.g, AGNODE, (char *)"label", (char *)"");
	agattr(b.g, AGEDGE, (char *)"arrowsize", (char *)"0.7");
	agattr(b.g, AGEDGE, (char *)"arrowhead", (char *)"normal");

	title = npages > 1 ? g_strdup_printf("%s (page %u of %u)", d->title, page, npages)
	                   : g_strdup(d->title);
	header(&b, d, title);
	g_free(title);
	y = L->header_bottom + 10;
	for (i = first; i < last; i++) {
		const struct dg_row *r = &g_array_index(d->rows, struct dg_row, i);
		if ((int)r->phase != phase) {
			bool cont = i == first && i > 0 &&
			    g_array_index(d->rows, struct dg_row, i - 1).phase == r->phase;
			ptitle = cont
			    ? g_strdup_printf("%s %s", d->phase_title[r->phase], d->continued)
			    : g_strdup(d->phase_title[r->phase]);
			y += 4;
			band(&b, y, ptitle);
			g_free(ptitle);
			y += BAND_H + 8;
			phase = (int)r->phase;
		}
		y += row(&b, r, y);
	}
	y += 6;
	lifelines(&b, y);
	/* Corners fix the drawing's size. */
	point_at(&b, 0, 0);
	point_at(&b, L->width, page_h > y + 6 ? page_h : y + 6);
	g_array_free(b.gaps, TRUE);
	return b.g;
}

/* ---- PDF pages of paper size ---- */

/* Paper in points: ISO 216 A4 (210 x 297 mm) and US Letter (8.5 x 11 in). */
#define A4_W (210 / 25.4 * 72)
#define A4_H (297 / 25.4 * 72)
#define LETTER_W 612.0
#define LETTER_H 792.0

/*
 * Where PDF pages begin (the first row of each) so that every page, at the
 * drawing's width, is no taller than the paper's proportions allow and holds
 * at most per rows.  Follows build_graph()'s steps down the page: the header,
 * a phase band at the top of each page and where the phase changes, the rows,
 * the lifelines' end.  A page always holds at least one row.
 */
static GArray *
pdf_page_starts(const struct diagram *d, const struct layout *L, guint per, double page_h)
{
	GArray *starts = g_array_new(FALSE, FALSE, sizeof(guint));
	struct font_size fs = {F_REGULAR, FS_REMARK};
	guint i, first = 0;
	double top = L->header_bottom + 10, y = top, h, band = 4 + BAND_H + 8;
	int phase = -1;

	g_array_append_val(starts, first);
	for (i = 0; i < d->rows->len; i++) {
		const struct dg_row *r = &g_array_index(d->rows, struct dg_row, i);
		GPtrArray *lines = dg_wrap_measured(r->remark, REMARK_W - 6, measure, &fs);

		h = row_h(lines->len);
		g_ptr_array_free(lines, TRUE);
		if (i > first &&
		    (i - first >= per ||
		        y + ((int)r->phase != phase ? band : 0) + h + 12 > page_h)) {
			first = i;
			g_array_append_val(starts, first);
			y = top;
			phase = -1;
		}
		if ((int)r->phase != phase)
			y += band;
		y += h;
		phase = (int)r->phase;
	}
	return starts;
}

/* ---- multi-page PDF: cairo writes one page per document; join them ---- */

struct pdf_doc {
	const guint8 *p;
	size_t len;
	GArray *off; /* size_t per object number (0 = none) */
	size_t xref;
	unsigned root, pages, info;
};

static const guint8 *
mem_rfind(const guint8 *p, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = len >= n ? len - n + 1 : 0; i-- > 0;)
		if (memcmp(p + i, needle, n) == 0)
			return p + i;
	return NULL;
}

static const guint8 *
mem_find(const guint8 *p, size_t len, const char *needle)
{
	return memmem(p, len, needle, strlen(needle));
}

/* "/Key N 0 R" inside [p, p+len): N or 0. */
static unsigned
dict_ref(const guint8 *p, size_t len, const char *key)
{
	const guint8 *k = mem_find(p, len, key);

	if (k == NULL)
		return 0;
	return (unsigned)strtoul((const char *)k + strlen(key), NULL, 10);
}

static size_t
obj_end(const struct pdf_doc *d, unsigned num)
{
	size_t start = g_array_index(d->off, size_t, num), best = d->xref;
	guint i;

	for (i = 1; i < d->off->len; i++) {
		size_t o = g_array_index(d->off, size_t, i);
		if (o > start && o < best)
			best = o;
	}
	return best;
}

static int
pdf_parse(struct pdf_doc *d, const GByteArray *b)
{
	const guint8 *sx, *p, *end, *tr;
	unsigned first, count, i;
	char *e;

	d->p = b->data;
	d->len = b->len;
	sx = mem_rfind(d->p, d->len, "startxref");
	if (sx == NULL)
		return -1;
	d->xref = strtoul((const char *)sx + 9, NULL, 10);
	if (d->xref >= d->len || memcmp(d->p + d->xref, "xref", 4) != 0)
		return -1;
	p = d->p + d->xref + 4;
	end = d->p + d->len;
	first = (unsigned)strtoul((const char *)p, &e, 10);
	count = (unsigned)strtoul(e, &e, 10);
	if (first != 0 || count == 0 || count > 100000)
		return -1;
	p = (const guint8 *)e;
	while (p < end && (*p == '\r' || *p == '\n' || *p == ' '))
		p++;
	if (p + (size_t)count * 20 > end)
		return -1;
	d->off = g_array_sized_new(FALSE, TRUE, sizeof(size_t), count);
	g_array_set_size(d->off, count);
	for (i = 0; i < count; i++, p += 20) {
		size_t o = strtoul((const char *)p, NULL, 10);
		if (p[17] == 'n' && i > 0 && o < d->xref)
			g_array_index(d->off, size_t, i) = o;
	}
	tr = mem_find(p, (size_t)(end - p), "trailer");
	if (tr == NULL)
		return -1;
	d->root = dict_ref(tr, (size_t)(end - tr), "/Root");
	d->info = dict_ref(tr, (size_t)(end - tr), "/Info");
	if (d->root == 0 || d->root >= count || g_array_index(d->off, size_t, d->root) == 0)
		return -1;
	p = d->p + g_array_index(d->off, size_t, d->root);
	d->pages =
	    dict_ref(p, obj_end(d, d->root) - g_array_index(d->off, size_t, d->root), "/Pages");
	if (d->pages == 0 || d->pages >= count)
		return -1;
	return 0;
}

/* Copies [p, p+len) renumbering "N 0 R" and "N 0 obj" with map. */
static void
renumber(GByteArray *out, const guint8 *p, size_t len, unsigned base, unsigned pages_old,
    unsigned pages_new)
{
	size_t i = 0, j, k;

	while (i < len) {
		if (g_ascii_isdigit(p[i]) && (i == 0 || !g_ascii_isalnum(p[i - 1]))) {
			unsigned long n = 0;
			for (j = i; j < len && g_ascii_isdigit(p[j]); j++)
				n = n * 10 + (p[j] - '0');
			k = j;
			if (k + 3 < len && p[k] == ' ' && p[k + 1] == '0' && p[k + 2] == ' ' &&
			    (p[k + 3] == 'R' ||
			        (k + 5 < len && memcmp(p + k + 3, "obj", 3) == 0))) {
				char buf[24];
				unsigned nn = n == pages_old ? pages_new : (unsigned)n + base;
				snprintf(buf, sizeof(buf), "%u", nn);
				g_byte_array_append(out, (const guint8 *)buf, (guint)strlen(buf));
				i = j;
				continue;
			}
			g_byte_array_append(out, p + i, (guint)(j - i));
			i = j;
			continue;
		}
		g_byte_array_append(out, p + i, 1);
		i++;
	}
}

static void
append_str(GByteArray *out, const char *s)
{
	g_byte_array_append(out, (const guint8 *)s, (guint)strlen(s));
}

/* Joins single-page PDFs (as cairo writes them) into one document. */
static GByteArray *
pdf_join(GPtrArray *docs, char *errbuf)
{
	GByteArray *out = g_byte_array_new();
	GArray *offs = g_array_new(FALSE, TRUE, sizeof(size_t));
	GString *kids = g_string_new(NULL);
	struct pdf_doc *d = g_new0(struct pdf_doc, docs->len);
	unsigned base = 2, num, maxnum = 2, npages = 0;
	guint i;
	char buf[128];
	size_t xref;

	for (i = 0; i < docs->len; i++)
		if (pdf_parse(&d[i], g_ptr_array_index(docs, i)) < 0) {
			snprintf(
			    errbuf, ERRBUF_SIZE, "PDF page %u: cannot read cairo's output", i + 1);
			goto fail;
		}
	append_str(out, "%PDF-1.5\n%\xb5\xed\xae\xfb\n");
	g_array_set_size(offs, 3);
	for (i = 0; i < docs->len; i++) {
		for (num = 1; num < d[i].off->len; num++) {
			size_t o = g_array_index(d[i].off, size_t, num), e, dict_end;
			const guint8 *op, *st;
			if (o == 0 || num == d[i].root || num == d[i].pages || num == d[i].info)
				continue;
			e = obj_end(&d[i], num);
			op = d[i].p + o;
			if (g_array_index(offs, size_t, 0) == 0 && offs->len < base + num + 1)
				g_array_set_size(offs, base + num + 1);
			if (offs->len < base + num + 1)
				g_array_set_size(offs, base + num + 1);
			g_array_index(offs, size_t, base + num) = out->len;
			if (base + num > maxnum)
				maxnum = base + num;
			/* Only the dictionary before "stream" holds references. */
			st = mem_find(op, e - o, ">>\nstream");
			dict_end = st != NULL ? (size_t)(st - op) + 2 : e - o;
			renumber(out, op, dict_end, base, d[i].pages, 2);
			g_byte_array_append(out, op + dict_end, (guint)(e - o - dict_end));
			if (mem_find(op, dict_end, "/Type /Page") != NULL &&
			    mem_find(op, dict_end, "/Type /Pages") == NULL) {
				g_string_append_printf(kids, "%u 0 R ", base + num);
				npages++;
			}
		}
		base += (unsigned)d[i].off->len;
	}
	g_array_index(offs, size_t, 1) = out->len;
	append_str(out, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
	g_array_index(offs, size_t, 2) = out->len;
	snprintf(buf, sizeof(buf), "2 0 obj\n<< /Type /Pages /Count %u /Kids [ ", npages);
	append_str(out, buf);
	append_str(out, kids->str);
	append_str(out, "] >>\nendobj\n");
	xref = out->len;
	snprintf(buf, sizeof(buf), "xref\n0 %u\n0000000000 65535 f \n", maxnum + 1);
	append_str(out, buf);
	for (num = 1; num <= maxnum; num++) {
		size_t o = num < offs->len ? g_array_index(offs, size_t, num) : 0;
		if (o != 0)
			snprintf(buf, sizeof(buf), "%010zu 00000 n \n", o);
		else
			snprintf(buf, sizeof(buf), "0000000000 65535 f \n");
		append_str(out, buf);
	}
	snprintf(buf, sizeof(buf), "trailer\n<< /Size %u /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
	    maxnum + 1, xref);
	append_str(out, buf);
	for (i = 0; i < docs->len; i++)
		if (d[i].off != NULL)
			g_array_free(d[i].off, TRUE);
	g_free(d);
	g_array_free(offs, TRUE);
	g_string_free(kids, TRUE);
	return out;
fail:
	for (i = 0; i < docs->len; i++)
		if (d[i].off != NULL)
			g_array_free(d[i].off, TRUE);
	g_free(d);
	g_array_free(offs, TRUE);
	g_string_free(kids, TRUE);
	g_byte_array_free(out, TRUE);
	return NULL;
}

/* ---- renderers ---- */

static int
render_graph(Agraph_t *g, const char *format, GByteArray **out, char *errbuf)
{
	char *data = NULL;
	unsigned int len = 0;

	if (gvLayout(gvc, g, "nop2") != 0) {
		snprintf(errbuf, ERRBUF_SIZE, "Graphviz: layout failed");
		return -1;
	}
	if (gvRenderData(gvc, g, format, &data, &len) != 0 || data == NULL) {
		gvFreeLayout(gvc, g);
		snprintf(errbuf, ERRBUF_SIZE,
		    "Graphviz cannot write %s here (is its cairo plugin, libgvplugin_pango, "
		    "installed?); -T svg and -T dot need no plugin",
		    format);
		return -1;
	}
	*out = g_byte_array_new();
	g_byte_array_append(*out, (const guint8 *)data, len);
	gvFreeRenderData(data);
	gvFreeLayout(gvc, g);
	return 0;
}

static int
render_common(const struct diagram *d, const struct emit_opts *o, const char *format,
    GPtrArray *pages, char *errbuf)
{
	struct layout L;
	GPtrArray *docs;
	GByteArray *b;
	Agraph_t *g;
	guint per, first, n = d->rows->len;
	unsigned npages, p;
	int rc = 0;
	bool pdf;
	double paper_w = 0, paper_h = 0, page_h = 0;
	GArray *starts;

	if (measure_init(errbuf) < 0)
		return -1;
	compute_layout(d, &L);
	if (strcmp(format, "dot") == 0 || strcmp(format, "svg") == 0) {
		g = build_graph(d, &L, 0, n, 0, 0, 0);
		if (strcmp(format, "svg") == 0) {
			rc = render_graph(g, "svg", &b, errbuf);
		} else {
			char *buf = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&buf, &len);
			fprintf(f,
			    "/* popflow %s: positions are pinned (pos=\"x,y!\", layout=nop2);\n"
			    "   render with: dot -Tsvg FILE.dot  (or neato -n2 -Tsvg FILE.dot) "
			    "*/\n",
			    POPFLOW_VERSION);
			agwrite(g, f);
			fclose(f);
			b = g_byte_array_new();
			g_byte_array_append(b, (const guint8 *)buf, (guint)len);
			free(buf);
		}
		agclose(g);
		if (rc == 0)
			g_ptr_array_add(pages, b);
		return rc;
	}
	/*
	 * PNG and PDF: pages of readable size, the header repeated on each.
	 * PDF pages are A4 or Letter (--paper): the drawing is cut where a
	 * page of the paper's proportions is full, then scaled to the paper.
	 */
	per = o->page_rows > 0 ? (guint)o->page_rows : DG_PAGE_ROWS;
	pdf = strcmp(format, "pdf") == 0;
	if (pdf) {
		paper_w = o->letter ? LETTER_W : A4_W;
		paper_h = o->letter ? LETTER_H : A4_H;
		page_h = L.width * paper_h / paper_w;
		starts = pdf_page_starts(d, &L, per, page_h);
	} else {
		starts = g_array_new(FALSE, FALSE, sizeof(guint));
		for (first = 0; first == 0 || first < n; first += per)
			g_array_append_val(starts, first);
	}
	npages = starts->len;
	docs = g_ptr_array_new();
	for (p = 0; p < npages && rc == 0; p++) {
		guint last = p + 1 < npages ? g_array_index(starts, guint, p + 1) : n;
		first = g_array_index(starts, guint, p);
		g = build_graph(d, &L, first, last, p + 1, npages, page_h);
		if (pdf) {
			set(g, "pad", "0"); /* the drawing's own margins: the page is the paper */
			set(g, "margin", "0");
			setf(g, "size", "%.4f,%.4f!", paper_w / 72, paper_h / 72);
		}
		rc = render_graph(g, format, &b, errbuf);
		agclose(g);
		if (rc == 0)
			g_ptr_array_add(docs, b);
	}
	if (rc == 0 && strcmp(format, "pdf") == 0 && docs->len > 1) {
		b = pdf_join(docs, errbuf);
		if (b == NULL)
			rc = -1;
		else
			g_ptr_array_add(pages, b);
		for (p = 0; p < docs->len; p++)
			g_byte_array_free(g_ptr_array_index(docs, p), TRUE);
	} else {
		for (p = 0; p < docs->len; p++)
			g_ptr_array_add(pages, g_ptr_array_index(docs, p));
	}
	g_ptr_array_free(docs, TRUE);
	g_array_free(starts, TRUE);
	return rc;
}

#define GV_RENDERER(fmt, is_text, several)                                                         \
	static int render_##fmt(const struct diagram *d, FILE *out, const struct emit_opts *o,     \
	    GPtrArray *pages, char *errbuf)                                                        \
	{                                                                                          \
		(void)out;                                                                         \
		return render_common(d, o, #fmt, pages, errbuf);                                   \
	}                                                                                          \
	static const struct dg_renderer rd_##fmt = {                                               \
	    #fmt, #fmt, is_text, several, render_##fmt, NULL};                                     \
	static void *fmt##_begin(FILE *out, const struct emit_opts *o, char *errbuf)               \
	{                                                                                          \
		return diagram_begin(&rd_##fmt, out, o, errbuf);                                   \
	}

#define GV_EMITTER(fmt, help, flags)                                                               \
	const struct emitter emit_##fmt = {                                                        \
	    #fmt, help, fmt##_begin, diagram_session, diagram_end, EMIT_WHOLE | (flags)}

GV_RENDERER(dot, true, true) /* dot reads several graphs from one file */
GV_RENDERER(svg, false, false)
GV_RENDERER(png, false, false)
GV_RENDERER(pdf, false, false)

GV_EMITTER(dot, "Graphviz DOT of the sequence diagram (positions pinned; render with dot)", 0);
GV_EMITTER(svg, "sequence diagram as SVG (one piece)", 0);
GV_EMITTER(
    png, "sequence diagram as PNG (pages of --page-rows rows: FILE-p1.png, ...)", EMIT_BINARY);
GV_EMITTER(pdf, "sequence diagram as PDF, one page per --page-rows rows", EMIT_BINARY);
