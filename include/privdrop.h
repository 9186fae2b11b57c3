/* privdrop.h - giving up root once the capture and the output files are open. */
#ifndef PRIVDROP_H
#define PRIVDROP_H

#include "popflow.h"

/* The user popflow becomes when started as root without -Z (as tcpdump does). */
#define PRIVDROP_DEFAULT_USER "nobody"

/*
 * Call after the capture, -o and -w are open and before the first packet is
 * read.  user is -Z's argument, or NULL.
 *
 * Started as root (real or effective uid 0): becomes user (default
 * PRIVDROP_DEFAULT_USER): its groups (initgroups), gid and uid, real, effective
 * and saved, then checks with getresuid/getresgid/getgroups that no way back
 * to root is left (setuid(0) must fail) and that no capability remains.
 * Root is kept only when user itself is root (uid 0): "-Z root".
 *
 * Not root: a capability such as CAP_NET_RAW given to the binary is dropped;
 * -Z naming another user is an error (only root can change user).
 *
 * Either way, no_new_privs is set.  Returns 0, or -1 with errbuf filled
 * (popflow must then exit without reading a packet).  *became, if not NULL,
 * is set to a description such as "nobody (uid 65534, gid 65534)".
 */
int privdrop(const char *user, char *became, size_t became_len, char *errbuf);

/*
 * Call before privdrop(), for each directory popflow writes files in after
 * it (--extract DIR, the directory of a drawing's -o FILE): whether the
 * user privdrop(user) is about to become can create files in dir.  Checked
 * with faccessat(AT_EACCESS) under that user's uid, gid and groups taken as
 * effective ids for the check (root's are restored at once), so ACLs and
 * read-only mounts count.  what names the option and its argument
 * ("--extract /srv/mail").  Returns 0 when the user can, and when popflow
 * stays who it is (not root, or -Z root) or the user does not exist
 * (privdrop() then says so); -1 with errbuf naming the user and -Z.
 */
int privdrop_check_dir(const char *user, const char *what, const char *dir, char *errbuf);

#endif
