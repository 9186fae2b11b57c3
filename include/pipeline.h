/* pipeline.h - the data flow wired together: frame -> decode -> sessions -> libnids -> POP3 -> emit. */
#ifndef PIPELINE_H
#define PIPELINE_H

#include <pcap/pcap.h>

#include "emit.h"
#include "pop3.h"
#include "session.h"

struct pipeline_config {
	int dlt;                        /* link type of the capture; < 0: several, each frame's is checked */
	uint8_t pop3_ports[65536 / 8];  /* bitmap of server ports */
	uint8_t pop3s_ports[65536 / 8]; /* of those, the ones speaking TLS from the start */
	struct pop3_config pop3;
	int max_streams;       /* libnids' table; 0: TCP_DEFAULT_NIDS_STREAMS */
	uint32_t idle_timeout; /* seconds; 0: sessions never time out */
	/* A session has ended and is complete: emit it (freed right after). */
	void (*emit)(void *arg, const struct session *s);
	/* A frame could not be decoded: what went wrong (main prints it). */
	void (*warn)(void *arg, uint64_t frame, const char *msg);
	void *arg;
};

struct pipeline;

void pipeline_add_port(struct pipeline_config *cfg, uint16_t port);
/* A POP3 server port where TLS starts with the connection (995, RFC 8314). */
void pipeline_add_tls_port(struct pipeline_config *cfg, uint16_t port);
bool pipeline_is_port(const struct pipeline_config *cfg, uint16_t port);

/* One pipeline per process (libnids has global state).  NULL with errbuf on failure. */
struct pipeline *pipeline_new(const struct pipeline_config *cfg, char *errbuf);
/* A frame_fn for capture_run(): dlt is the frame's link type. */
void pipeline_frame(
    void *pl, int dlt, uint64_t frame_no, const struct pcap_pkthdr *h, const uint8_t *frame);
/* Ends sessions idle longer than the timeout: by packet time for files, the clock for live captures. */
void pipeline_idle(void *pl);
/* Ends every open session with the reason given (EOF, interrupted), emitting each. */
void pipeline_finish(struct pipeline *pl, enum end_reason why);
const struct run_stats *pipeline_stats(const struct pipeline *pl);
void pipeline_free(struct pipeline *pl);

#endif
