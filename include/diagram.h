/* diagram.h - the diagram model every diagram emitter draws, built once from a session. */
#ifndef DIAGRAM_H
#define DIAGRAM_H

#include <stdio.h>

#include <glib.h>

#include "emit.h"
#include "popflow.h"
#include "remarks.h"
#include "session.h"

/*
 * A diagram is a list of rows (one arrow each) between two lifelines,
 * in capture order, grouped in phases.  diagram.c decides every word
 * (names, parameters, remarks, headings) and every style, so the DOT,
 * SVG, PNG, PDF, terminal, Mermaid, PlantUML and FDL outputs cannot
 * drift apart: they only lay it out.
 */

enum dg_detail { DG_DETAIL_SEGMENTS, DG_DETAIL_MESSAGES };

enum dg_style {
	DG_STYLE_BACKGROUND, /* TCP housekeeping: handshake, pure ACKs, FIN (grey) */
	DG_STYLE_NORMAL,     /* POP3 commands and replies */
	DG_STYLE_ERROR,      /* -ERR, RST, anomalies (red) */
	DG_STYLE_RETRANS,    /* retransmitted or out-of-order segments (dashed) */
};

enum dg_phase {
	DG_PHASE_SETUP,
	DG_PHASE_AUTH,
	DG_PHASE_TLS,
	DG_PHASE_TRANSACTION,
	DG_PHASE_UPDATE,
	DG_PHASE_DATA, /* not POP3 */
	DG_PHASE_RELEASE,
	DG_PHASE__COUNT
};

/* What a row carries (for colours and for FDL message names). */
enum dg_kind {
	DG_KIND_TCP,     /* no payload: SYN, ACK, FIN, RST */
	DG_KIND_COMMAND, /* client -> server POP3 (commands, SASL) */
	DG_KIND_REPLY,   /* server -> client status line, greeting, challenge */
	DG_KIND_BODY,    /* multi-line reply lines */
	DG_KIND_DATA,    /* TLS or unparsed bytes */
};

/* dg_row.flags */
#define DG_F_SYNTHETIC 0x01 /* not captured: made by popflow */
#define DG_F_RETRANS 0x02   /* a retransmission (or out-of-order) */
#define DG_F_ANOMALY 0x04   /* an anomaly is noted in the remark */
#define DG_F_FOLDED 0x08    /* count > 1 pure ACKs drawn as one row */
#define DG_F_PURE_ACK 0x10  /* a pure ACK (no data, no SYN/FIN/RST) */

struct dg_row {
	uint32_t step;    /* 1-based row number */
	uint64_t frame;   /* first frame (0: synthetic or unknown) */
	int64_t t_us;     /* since the session's first packet */
	int64_t delta_us; /* since the previous row */
	enum dir dir;
	enum dg_style style;
	enum dg_kind kind;
	enum dg_phase phase;
	unsigned flags; /* DG_F_* */
	uint32_t count; /* segments in the row (folded ACKs, message's segments) */
	char *name;     /* above the arrow: valid UTF-8, no control characters */
	char *params;   /* below the arrow: "(PSH, ACK), TCP Segment Length = 29" */
	char *remark;   /* plain English; "" for none */
};

struct diagram {
	uint64_t session_id;
	enum dg_detail detail;
	char *title;
	char *system[2];   /* [DIR_TO_SERVER] = client side box, [DIR_TO_CLIENT] = server side */
	char *lifeline[2]; /* "POP3 Client", "POP3 Server" (or --alias names) */
	char *addr[2];     /* "192.0.2.1:40000", "192.0.2.25:110" */
	char *col_step, *col_time, *col_remarks;
	char *phase_title[DG_PHASE__COUNT];
	char *continued; /* " (continued)" */
	GArray *rows;    /* struct dg_row */
};

/* Index helpers: lifeline of the sender / receiver of a row. */
#define DG_CLIENT 0
#define DG_SERVER 1
static inline int
dg_from(const struct dg_row *r)
{
	return r->dir == DIR_TO_SERVER ? DG_CLIENT : DG_SERVER;
}

/*
 * Builds the diagram of s with the loaded templates.  Returns NULL with
 * errbuf filled (a bad --detail or --alias).  Free with diagram_free().
 */
struct diagram *diagram_build(
    const struct session *s, const struct emit_opts *o, const struct remarks *rm, char *errbuf);
void diagram_free(struct diagram *d); /* NULL is fine */

/* "1.234" seconds with millisecond precision; "+0.010" with sign if delta. */
void dg_fmt_time(int64_t us, bool delta, char *buf, size_t len);
/* Word-wraps text to at most width columns (UTF-8 characters); strings owned by the array. */
GPtrArray *dg_wrap(const char *text, size_t width);
/* The same with a measure (points, pixels...): measure(arg, s, nbytes). */
GPtrArray *dg_wrap_measured(const char *text, double width,
    double (*measure)(void *arg, const char *s, size_t n), void *arg);
/* Characters (not bytes) of a UTF-8 string. */
size_t dg_strwidth(const char *s);
/* Label text safe for any renderer: invalid UTF-8, control characters shown as <0x..>. */
char *dg_clean(const char *s);

/*
 * The diagram emitters share one driver.  A renderer turns a diagram
 * into one or more pages (GByteArray each); the driver picks the
 * session (--session), handles several sessions (-o FILE.ext writes
 * FILE-1.ext, FILE-2.ext, ...; pages are FILE-p1.ext or FILE-1-p1.ext)
 * and reports every file written through o->wrote.
 */
struct dg_renderer {
	const char *format; /* the -T name: "svg", "flow" */
	const char *ext;    /* file extension when -o FILE has none: "svg", "txt" */
	bool text;          /* text output: a long session's parts may follow one another */
	bool several;       /* several sessions may follow one another in one stream (DOT graphs,
	                       PlantUML @startuml blocks, the terminal); otherwise standard output
	                       takes one session and more are refused before anything is written */
	int (*render)(const struct diagram *d, FILE *out, const struct emit_opts *o,
	    GPtrArray *pages, char *errbuf);
	void (*cleanup)(void); /* at end(): free what render() keeps (gvc), may be NULL */
};

/* The -o path, or NULL for standard output (no -o, or "-o -"). */
const char *dg_output_path(const struct emit_opts *o);

/*
 * The emitter entry points of every diagram format (emit.h): begin()
 * returns the run's context (templates, sessions drawn, pages held back),
 * session() and end() take it; end() frees it.
 */
void *diagram_begin(
    const struct dg_renderer *rd, FILE *out, const struct emit_opts *o, char *errbuf);
int diagram_session(
    void *run, FILE *out, const struct session *s, const struct emit_opts *o, char *errbuf);
int diagram_end(
    void *run, FILE *out, const struct run_stats *st, const struct emit_opts *o, char *errbuf);

/* Rows per PNG/PDF page when o->page_rows is 0. */
#define DG_PAGE_ROWS 60

extern const struct emitter emit_dot;
extern const struct emitter emit_svg;
extern const struct emitter emit_png;
extern const struct emitter emit_pdf;
extern const struct emitter emit_flow;
extern const struct emitter emit_mermaid;
extern const struct emitter emit_plantuml;
extern const struct emitter emit_fdl;

#endif
