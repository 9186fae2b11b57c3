/* emit_fdl.c - -T fdl: EventStudio FDL (Feature Description Language) source of the sequence diagram. */
#include <stdio.h>
#include <string.h>

#include "diagram.h"

/*
 * FDL as EventStudio 2.5-4 reads it: modules (systems), processors,
 * eternal objects (lifelines), then a feature of messages
 * "Name(params) : from -> to", each followed by its remark "(* ... *)",
 * and "heading" statements for the phases.  Message names are
 * identifiers; what does not fit an identifier goes into the quoted
 * parameters.
 */

/* An FDL identifier from text: letters, digits and '_' (never empty, never a digit first). */
static void
append_ident(GString *out, const char *s, size_t n)
{
	size_t i, start = out->len;
	bool under = false;

	for (i = 0; i < n && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (g_ascii_isalnum(c)) {
			g_string_append_c(out, (char)c);
			under = false;
		} else if (!under && out->len > start) {
			g_string_append_c(out, '_');
			under = true;
		}
	}
	while (out->len > start && out->str[out->len - 1] == '_')
		g_string_truncate(out, out->len - 1);
	if (out->len == start)
		g_string_append(out, "Data");
	else if (g_ascii_isdigit(out->str[start]))
		g_string_insert_c(out, (gssize)start, '_');
	/* FDL's keywords are lower-case words (feature, end, case, heading...): never one of them. */
	for (i = start; i < out->len && g_ascii_islower(out->str[i]); i++)
		;
	if (i == out->len)
		g_string_append_c(out, '_');
}

/* Inside "...": no double quote, no backslash, no line break. */
static void
append_string(GString *out, const char *s)
{
	g_string_append_c(out, '"');
	for (; *s != '\0'; s++)
		g_string_append_c(out, *s == '"' ? '\'' : *s == '\\' ? '/' : *s);
	g_string_append_c(out, '"');
}

/*
 * Inside a remark "(* ... *)" or a C comment: neither may be closed (or
 * opened again) by the text, so "*)", "(*", "*" "/" and "/" "*" get a space.
 */
static void
append_remark(GString *out, const char *s)
{
	for (; *s != '\0'; s++) {
		g_string_append_c(out, *s);
		if ((s[0] == '*' && (s[1] == ')' || s[1] == '/')) ||
		    ((s[0] == '(' || s[0] == '/') && s[1] == '*'))
			g_string_append_c(out, ' ');
	}
}

/*
 * "TCP SYN+ACK" -> TCP_SYN_ACK("(SYN, ACK)"); "USER john" -> USER("john", ...);
 * "+OK 1 1317" -> OK("1 1317", ...); a body or other data -> Body("...", ...).
 */
static void
message(GString *out, const struct dg_row *r)
{
	const char *name = r->name, *sp = strchr(name, ' ');
	bool ok = g_str_has_prefix(name, "+OK"), err = g_str_has_prefix(name, "-ERR");

	if (r->kind == DG_KIND_TCP || name[0] == '[') {
		append_ident(out, name, strlen(name));
		g_string_append_c(out, '(');
	} else if ((ok || err) && (sp == NULL || sp == name + (ok ? 3 : 4))) {
		g_string_append(out, ok ? "OK(" : "ERR(");
		if (sp != NULL) {
			append_string(out, sp + 1);
			g_string_append(out, ", ");
		}
	} else if (r->kind == DG_KIND_COMMAND && strstr(name, "<cr>") != NULL) {
		/* Several pipelined commands in one segment. */
		g_string_append(out, "Commands(");
		append_string(out, name);
		g_string_append(out, ", ");
	} else if (r->kind == DG_KIND_COMMAND && sp != NULL) {
		append_ident(out, name, (size_t)(sp - name));
		g_string_append_c(out, '(');
		append_string(out, sp + 1);
		g_string_append(out, ", ");
	} else if (r->kind == DG_KIND_COMMAND) {
		append_ident(out, name, strlen(name));
		g_string_append_c(out, '(');
	} else {
		g_string_append(out,
		    r->kind == DG_KIND_BODY       ? "Body("
		        : r->kind == DG_KIND_DATA ? "Data("
		                                  : "Reply(");
		append_string(out, name);
		g_string_append(out, ", ");
	}
	append_string(out, r->params);
	g_string_append_c(out, ')');
}

static int
render_fdl(
    const struct diagram *d, FILE *out, const struct emit_opts *o, GPtrArray *pages, char *errbuf)
{
	GString *s = g_string_new(NULL);
	GByteArray *b;
	guint i;
	int phase = -1, side;
	char t[32];
	static const char *const obj[2] = {"pop3_client", "pop3_server"};
	static const char *const proc[2] = {"client_host", "server_host"};
	static const char *const mod[2] = {"client_side", "server_side"};

	(void)out;
	(void)o;
	(void)errbuf;
	g_string_append(s, "/* ");
	append_remark(s, d->title);
	g_string_append_printf(s,
	    " */\n/* Written by popflow %s from a capture; step numbers and times"
	    " are in the remarks. */\n\n",
	    POPFLOW_VERSION);
	g_string_append_printf(s, "module : %s, %s\n", mod[0], mod[1]);
	g_string_append_printf(
	    s, "processor : %s in %s, %s in %s\n", proc[0], mod[0], proc[1], mod[1]);
	g_string_append_printf(
	    s, "eternal : %s in %s, %s in %s\n\n", obj[0], proc[0], obj[1], proc[1]);
	for (side = 0; side < 2; side++) {
		g_string_append_printf(s, "/* %s: ", obj[side]);
		append_remark(s, d->lifeline[side]);
		g_string_append(s, " ");
		append_remark(s, d->addr[side]);
		g_string_append(s, " (");
		append_remark(s, d->system[side]);
		g_string_append(s, ") */\n");
	}
	g_string_append(s, "\nfeature ");
	append_string(s, d->title);
	g_string_append_c(s, '\n');
	for (i = 0; i < d->rows->len; i++) {
		const struct dg_row *r = &g_array_index(d->rows, struct dg_row, i);
		int from = dg_from(r);

		if ((int)r->phase != phase) {
			g_string_append(s, "  heading ");
			append_string(s, d->phase_title[r->phase]);
			g_string_append_c(s, '\n');
			phase = (int)r->phase;
		}
		g_string_append(s, "  ");
		message(s, r);
		g_string_append_printf(s, " : %s -> %s\n", obj[from], obj[1 - from]);
		dg_fmt_time(r->t_us, false, t, sizeof(t));
		g_string_append_printf(s, "  (* %u, %s s", r->step, t);
		if (r->remark[0] != '\0') {
			g_string_append(s, ". ");
			append_remark(s, r->remark);
		}
		g_string_append(s, " *)\n");
	}
	g_string_append(s, "endfeature\n");
	b = g_byte_array_new();
	g_byte_array_append(b, (const guint8 *)s->str, (guint)s->len);
	g_ptr_array_add(pages, b);
	g_string_free(s, TRUE);
	return 0;
}

static const struct dg_renderer rd_fdl = {"fdl", "fdl", true, false, render_fdl, NULL};

static void *
fdl_begin(FILE *out, const struct emit_opts *o, char *errbuf)
{
	return diagram_begin(&rd_fdl, out, o, errbuf);
}

static int
fdl_session(void *ctx, FILE *out, const struct session *s, const struct emit_opts *o, char *errbuf)
{
	return diagram_session(ctx, out, s, o, errbuf);
}

static int
fdl_end(void *ctx, FILE *out, const struct run_stats *st, const struct emit_opts *o, char *errbuf)
{
	return diagram_end(ctx, out, st, o, errbuf);
}

const struct emitter emit_fdl = {"fdl", "EventStudio FDL source of the sequence diagram", fdl_begin,
    fdl_session, fdl_end, EMIT_WHOLE};
