/* emit.c - the table of output formats, looked up by the name given to -T. */
#include <string.h>

#include "diagram.h"
#include "emit.h"

static const struct emitter *const emitters[] = {
    &emit_text,
    &emit_json,
    &emit_summary,
    &emit_dot,
    &emit_svg,
    &emit_png,
    &emit_pdf,
    &emit_flow,
    &emit_mermaid,
    &emit_plantuml,
    &emit_fdl,
};

const struct emitter *
emit_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(emitters) / sizeof(emitters[0]); i++)
		if (strcmp(emitters[i]->name, name) == 0)
			return emitters[i];
	return NULL;
}

void
emit_list(FILE *out)
{
	size_t i;

	for (i = 0; i < sizeof(emitters) / sizeof(emitters[0]); i++)
		fprintf(out, "    %-9s %s\n", emitters[i]->name, emitters[i]->help);
}

static const char *const time_names[] = {"utc", "local", "epoch", "delta", "session", "capture"};
const char emit_time_names[] = "utc|local|epoch|delta|session|capture";

int
emit_time_parse(const char *name, enum emit_time *t)
{
	size_t i;

	for (i = 0; i < sizeof(time_names) / sizeof(time_names[0]); i++)
		if (strcmp(time_names[i], name) == 0) {
			*t = (enum emit_time)i;
			return 0;
		}
	return -1;
}

void
emit_set_fail(const struct emit_opts *o, enum emit_fail kind)
{
	if (o->fail != NULL)
		*o->fail = kind;
}
