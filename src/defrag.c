/*
 * defrag.c - IPv4 and IPv6 fragment reassembly, bounded, by packet time.
 * popflow puts fragments together itself (not libnids: its
 * ip_defrag_stub() times them by the wall clock, gettimeofday()), so the
 * whole TCP segment then takes the normal path: its session, its segment
 * record, libnids.
 */
#include <string.h>

#include <glib.h>

#include "cursor.h"
#include "defrag.h"

/* Bits per word of the map of bytes received. */
#define DEFRAG_WORD_BITS 64

/*
 * One datagram being put together.  Its size is fixed, whatever its
 * fragments: the bytes received are a bit map, so a fragment costs its
 * length (and a look at the map), never the number of fragments before it
 * (overlapping or repeated fragments can be sent without end).
 */
struct datagram {
	uint8_t version;
	uint8_t key[40];             /* src, dst, id, protocol */
	uint8_t hdr[DEFRAG_MAX_LEN]; /* unfragmentable part of the first fragment */
	size_t hdrlen;               /* 0 until the first fragment is seen */
	uint8_t data[DEFRAG_MAX_LEN];
	/* Bytes received, a bit each. */
	uint64_t have[(DEFRAG_MAX_LEN + DEFRAG_WORD_BITS - 1) / DEFRAG_WORD_BITS];
	uint32_t held;  /* bits set in have */
	uint64_t frags; /* fragments stored (counted as problems if it never completes) */
	uint32_t total; /* payload length, once the last fragment is seen (0: not yet) */
	struct ts first;
	bool bad;
};

struct defrag {
	GPtrArray *open; /* struct datagram *, oldest first */
	uint8_t out[DEFRAG_MAX_LEN + 64];
};

struct defrag *
defrag_new(void)
{
	struct defrag *df = g_new0(struct defrag, 1);

	df->open = g_ptr_array_new();
	return df;
}

static void
datagram_free(struct datagram *g)
{
	g_free(g);
}

uint64_t
defrag_pending(const struct defrag *df)
{
	uint64_t n = 0;
	guint i;

	for (i = 0; i < df->open->len; i++)
		n += ((const struct datagram *)g_ptr_array_index(df->open, i))->frags;
	return n;
}

void
defrag_free(struct defrag *df)
{
	guint i;

	if (df == NULL)
		return;
	for (i = 0; i < df->open->len; i++)
		datagram_free(g_ptr_array_index(df->open, i));
	g_ptr_array_free(df->open, TRUE);
	g_free(df);
}

/* Fragment fields: key, offset, more-fragments, where its payload starts. */
static bool
parse(const struct segment *seg, uint8_t *key, uint32_t *off, bool *more, size_t *payload,
    uint8_t *next)
{
	struct cursor c;
	uint16_t fo;
	uint32_t id;

	memset(key, 0, 40);
	cur_init(&c, seg->ip, seg->ip_caplen);
	if (seg->ip_version == 4) {
		cur_skip(&c, 4);
		id = cur_be16(&c);
		fo = cur_be16(&c);
		cur_skip(&c, 1);
		*next = cur_u8(&c);
		if (c.bad || seg->frag_hdr < 20 || seg->frag_hdr > seg->ip_caplen)
			return false;
		memcpy(key, seg->ip + 12, 8);
		memcpy(key + 32, &id, 4);
		key[36] = *next;
		*off = (uint32_t)(fo & 0x1fff) * 8;
		*more = (fo & 0x2000) != 0;
		*payload = seg->frag_hdr;
		return true;
	}
	cur_skip(&c, seg->frag_hdr);
	*next = cur_u8(&c);
	cur_skip(&c, 1);
	fo = cur_be16(&c);
	id = cur_be32(&c);
	if (c.bad || seg->ip_caplen < 40)
		return false;
	memcpy(key, seg->ip + 8, 32);
	memcpy(key + 32, &id, 4);
	*off = (uint32_t)(fo >> 3) * 8;
	*more = (fo & 1) != 0;
	*payload = seg->frag_hdr + 8;
	return true;
}

static struct datagram *
find(struct defrag *df, uint8_t version, const uint8_t *key, struct ts ts, uint64_t *problems)
{
	struct datagram *g;
	guint i;

	for (i = 0; i < df->open->len; i++) {
		g = g_ptr_array_index(df->open, i);
		if (ts_diff_us(g->first, ts) > (int64_t)DEFRAG_TIMEOUT * 1000000) {
			/* Too old: its missing fragments will not come. */
			g_ptr_array_remove_index(df->open, i);
			*problems += g->frags;
			datagram_free(g);
			i--;
			continue;
		}
		if (g->version == version && memcmp(g->key, key, 40) == 0)
			return g;
	}
	if (df->open->len >= DEFRAG_MAX_DATAGRAMS) {
		g = g_ptr_array_index(df->open, 0);
		*problems += g->frags;
		datagram_free(g);
		g_ptr_array_remove_index(df->open, 0);
	}
	g = g_new0(struct datagram, 1);
	g->version = version;
	memcpy(g->key, key, 40);
	g->first = ts;
	g_ptr_array_add(df->open, g);
	return g;
}

static bool
is_held(const struct datagram *g, uint32_t i)
{
	return (g->have[i / DEFRAG_WORD_BITS] >> (i % DEFRAG_WORD_BITS) & 1) != 0;
}

/* Stores bytes [off, off+len); bytes already held are kept (first copy wins). */
static void
store(struct datagram *g, uint32_t off, const uint8_t *p, uint32_t len, uint64_t *problems)
{
	uint32_t k, i;

	for (k = 0; k < len; k++) {
		i = off + k;
		if (!is_held(g, i)) {
			g->data[i] = p[k];
			g->have[i / DEFRAG_WORD_BITS] |= UINT64_C(1) << (i % DEFRAG_WORD_BITS);
			g->held++;
		} else if (g->data[i] != p[k] && !g->bad) {
			g->bad = true;
			(*problems)++; /* overlapping fragments with other bytes */
		}
	}
	g->frags++;
}

/* Every byte of [0, total) received: at most DEFRAG_MAX_LEN / 64 words looked at. */
static bool
complete(const struct datagram *g)
{
	uint32_t w, full = g->total / DEFRAG_WORD_BITS, rest = g->total % DEFRAG_WORD_BITS;

	if (g->total == 0 || g->hdrlen == 0 || g->held < g->total)
		return false;
	for (w = 0; w < full; w++)
		if (g->have[w] != UINT64_MAX)
			return false;
	return rest == 0 ||
	    (g->have[full] & ((UINT64_C(1) << rest) - 1)) == ((UINT64_C(1) << rest) - 1);
}

const uint8_t *
defrag_add(
    struct defrag *df, const struct segment *seg, struct ts ts, size_t *len, uint64_t *problems)
{
	uint8_t key[40], next = 0;
	uint32_t off, n;
	size_t payload, plen;
	bool more;
	struct datagram *g;
	guint i;

	/* IPv6: only a fragment header right after the fixed header (the common case). */
	if (!parse(seg, key, &off, &more, &payload, &next) || payload > seg->ip_caplen ||
	    (seg->ip_version == 6 && seg->frag_hdr != 40)) {
		(*problems)++;
		return NULL;
	}
	n = (uint32_t)(seg->ip_caplen - payload);
	if ((size_t)off + n + payload > DEFRAG_MAX_LEN) {
		(*problems)++;
		return NULL;
	}
	g = find(df, seg->ip_version, key, ts, problems);
	if (off == 0) {
		/* The unfragmentable part, with the protocol of what follows. */
		memcpy(g->hdr, seg->ip, seg->ip_version == 4 ? payload : seg->frag_hdr);
		g->hdrlen = seg->ip_version == 4 ? payload : seg->frag_hdr;
		if (seg->ip_version == 6)
			g->hdr[6] =
			    next; /* the fixed header now names what the fragments carried */
	}
	store(g, off, seg->ip + payload, n, problems);
	if (!more)
		g->total = off + n;
	if (!complete(g))
		return NULL;
	plen = g->hdrlen + g->total;
	memcpy(df->out, g->hdr, g->hdrlen);
	memcpy(df->out + g->hdrlen, g->data, g->total);
	if (g->version == 4) {
		df->out[2] = (uint8_t)(plen >> 8);
		df->out[3] = (uint8_t)plen;
		df->out[6] = df->out[7] = 0; /* no longer a fragment */
	} else {
		df->out[4] = (uint8_t)((plen - 40) >> 8);
		df->out[5] = (uint8_t)(plen - 40);
	}
	for (i = 0; i < df->open->len; i++)
		if (g_ptr_array_index(df->open, i) == g) {
			g_ptr_array_remove_index(df->open, i);
			break;
		}
	datagram_free(g);
	*len = plen;
	return df->out;
}
