/*
 * floor.c - the floors popflow is measured against (make bench): the least a
 * libpcap- or libnids-based POP3 dissector must do on a capture file.
 *
 *   floor pcap FILE    read every frame with libpcap, nothing else
 *   floor nids FILE    libnids reassembles every TCP stream, the callback only collects
 *   floor lines FILE   as nids, and the callback finds every line end (memchr)
 *
 * libnids is set up as popflow sets it up (src/reasm.c): checksums not
 * verified, no port-scan detector, no syslog, and the same connection table
 * (FLOOR_STREAMS, default 8192: libnids' n_tcp_streams).  Prints what it
 * counted, so the work cannot be optimised away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nids.h>
#include <pcap/pcap.h>

static unsigned long long frames, bytes, streams, lines;
static int count_lines;

static void
on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	(void)user;
	(void)data;
	frames++;
	bytes += h->caplen;
}

static void
no_syslog(int type, int err, struct ip *iph, void *data)
{
	(void)type;
	(void)err;
	(void)iph;
	(void)data;
}

static void
on_tcp(struct tcp_stream *a, void **param)
{
	struct half_stream *h;
	const char *p, *end, *lf;

	(void)param;
	if (a->nids_state == NIDS_JUST_EST) {
		a->client.collect++;
		a->server.collect++;
		streams++;
		return;
	}
	if (a->nids_state != NIDS_DATA)
		return;
	h = a->client.count_new > 0 ? &a->client : &a->server;
	bytes += (unsigned long long)h->count_new;
	if (count_lines) {
		p = h->data + (h->count - h->offset - h->count_new);
		end = p + h->count_new;
		while (p < end && (lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			lines++;
			p = lf + 1;
		}
	}
}

int
main(int argc, char **argv)
{
	static struct nids_chksum_ctl no_checksums = {0, 0, NIDS_DONT_CHKSUM, 0};
	char err[PCAP_ERRBUF_SIZE];
	const char *env = getenv("FLOOR_STREAMS");
	pcap_t *p;

	if (argc != 3) {
		fprintf(stderr, "usage: floor pcap|nids|lines FILE\n");
		return 1;
	}
	if (strcmp(argv[1], "pcap") == 0) {
		p = pcap_open_offline(argv[2], err);
		if (p == NULL) {
			fprintf(stderr, "floor: %s\n", err);
			return 2;
		}
		if (pcap_loop(p, -1, on_frame, NULL) < 0) {
			fprintf(stderr, "floor: %s\n", pcap_geterr(p));
			return 2;
		}
		pcap_close(p);
		printf("%llu frames, %llu bytes\n", frames, bytes);
		return 0;
	}
	count_lines = strcmp(argv[1], "lines") == 0;
	if (!count_lines && strcmp(argv[1], "nids") != 0) {
		fprintf(stderr, "floor: pcap, nids or lines\n");
		return 1;
	}
	nids_params.filename = argv[2];
	nids_params.scan_num_hosts = 0;
	nids_params.syslog = no_syslog;
	nids_params.n_tcp_streams = env != NULL ? atoi(env) : 8192;
	nids_params.promisc = 0;
	if (!nids_init()) {
		fprintf(stderr, "floor: %s\n", nids_errbuf);
		return 2;
	}
	nids_register_chksum_ctl(&no_checksums, 1);
	nids_register_tcp(on_tcp);
	nids_run();
	printf("%llu streams, %llu bytes, %llu lines\n", streams, bytes, lines);
	return 0;
}
