/* frameid.h - a frame of one of several input files, as one uint64_t (docs/json.md, "Frames"). */
#ifndef FRAMEID_H
#define FRAMEID_H

#include <stddef.h>
#include <stdint.h>

#include "popflow.h"

/*
 * Segments, anomalies and credentials keep the frame they came from as a
 * uint64_t: the frame number in its file (1-based, as Wireshark numbers
 * it) in the low 40 bits, the index of the file in the order given in
 * the bits above.  The first file (and a single one) has index 0, so its
 * identifiers are its frame numbers.  0 means "no frame".
 */
#define FRAMEID_FILE_SHIFT 40
#define FRAMEID_MAX_FRAME ((UINT64_C(1) << FRAMEID_FILE_SHIFT) - 1)
/* Input files read at once (each is an open descriptor, as for mergecap). */
#define FRAMEID_MAX_FILES 65536

static inline uint64_t
frameid_make(size_t file, uint64_t frame)
{
	return ((uint64_t)file << FRAMEID_FILE_SHIFT) | (frame & FRAMEID_MAX_FRAME);
}

static inline uint64_t
frameid_number(uint64_t id)
{
	return id & FRAMEID_MAX_FRAME;
}

static inline size_t
frameid_file(uint64_t id)
{
	return (size_t)(id >> FRAMEID_FILE_SHIFT);
}

/*
 * The names of the input files, in the order of their file indices, for
 * display (copied).  Called once by main before reading (never for a live
 * capture); with fewer than two names frames are shown as plain numbers.
 */
void frameid_set_files(const char *const *names, size_t n);
/* More than one input file: frames are shown with their file's name. */
bool frameid_several_files(void);
/* The name of the file a frame is in; NULL with a single input (or id 0). */
const char *frameid_file_name(uint64_t id);
/* The name of the file a frame is in, one input file too; NULL for a live capture (or id 0). */
const char *frameid_capture_name(uint64_t id);
/*
 * A frame as output shows it (docs/json.md, "Frames"): "12", or with
 * several input files "ring1.pcap:12" (the file as named on the command line).
 */
void frameid_format(uint64_t id, char *buf, size_t len);
/* "frame 12", or "frame ring1.pcap:12" with several input files. */
void frameid_phrase(uint64_t id, char *buf, size_t len);
/* Enough for frameid_format() and frameid_phrase() with a long path. */
#define FRAMEID_PHRASE_LEN 4200
/* Frees the names (at exit, for leak checkers). */
void frameid_reset(void);

#endif
