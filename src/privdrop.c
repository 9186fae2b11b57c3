/* privdrop.c - giving up root (or a file capability) once the capture and the output files are open. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <linux/capability.h>

#include <glib.h>

#include "privdrop.h"

/* Most groups a user may belong to that the check below looks at. */
#define PRIVDROP_MAX_GROUPS 4096

static int
caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};

	return (int)syscall(SYS_capget, &h, d);
}

/* Empties the effective, permitted and inheritable sets (a binary given CAP_NET_RAW). */
static int
caps_clear(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return (int)syscall(SYS_capset, &h, d);
}

/* 0 if no capability is left, -1 with errbuf otherwise. */
static int
caps_check_none(char *errbuf)
{
	struct __user_cap_data_struct d[2];

	if (caps_get(d) < 0) {
		g_snprintf(errbuf, ERRBUF_SIZE, "capget: %s", g_strerror(errno));
		return -1;
	}
	if (d[0].effective | d[1].effective | d[0].permitted | d[1].permitted | d[0].inheritable |
	    d[1].inheritable) {
		g_snprintf(errbuf, ERRBUF_SIZE,
		    "capabilities are still held after dropping privileges (permitted %08x%08x)",
		    d[1].permitted, d[0].permitted);
		return -1;
	}
	return 0;
}

static int
no_new_privs(char *errbuf)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		g_snprintf(
		    errbuf, ERRBUF_SIZE, "prctl(PR_SET_NO_NEW_PRIVS): %s", g_strerror(errno));
		return -1;
	}
	return 0;
}

/* The supplementary groups now held must be the user's own, nothing else (root's 0 in particular). */
static int
groups_check(const char *name, gid_t gid, char *errbuf)
{
	gid_t *want = g_new(gid_t, PRIVDROP_MAX_GROUPS), *have = g_new(gid_t, PRIVDROP_MAX_GROUPS);
	int nwant = PRIVDROP_MAX_GROUPS, nhave, i, j, rc = 0;

	if (getgrouplist(name, gid, want, &nwant) < 0) {
		g_snprintf(errbuf, ERRBUF_SIZE, "%s belongs to more than %d groups", name,
		    PRIVDROP_MAX_GROUPS);
		rc = -1;
		goto out;
	}
	nhave = getgroups(PRIVDROP_MAX_GROUPS, have);
	if (nhave < 0) {
		g_snprintf(errbuf, ERRBUF_SIZE, "getgroups: %s", g_strerror(errno));
		rc = -1;
		goto out;
	}
	for (i = 0; i < nhave; i++) {
		for (j = 0; j < nwant && want[j] != have[i]; j++)
			;
		if (j == nwant) {
			g_snprintf(errbuf, ERRBUF_SIZE,
			    "still in group %u after becoming %s (setgroups did not take)",
			    (unsigned)have[i], name);
			rc = -1;
			goto out;
		}
	}
out:
	g_free(want);
	g_free(have);
	return rc;
}

int
privdrop(const char *user, char *became, size_t became_len, char *errbuf)
{
	bool root = getuid() == 0 || geteuid() == 0;
	const char *name = user != NULL ? user : PRIVDROP_DEFAULT_USER;
	struct passwd *pw;
	uid_t uid, ruid = (uid_t)-1, euid = (uid_t)-1, suid = (uid_t)-1;
	gid_t gid, rgid = (gid_t)-1, egid = (gid_t)-1, sgid = (gid_t)-1;
	char *pname;
	int rc = -1;

	if (became != NULL && became_len > 0)
		became[0] = '\0';
	if (user != NULL && user[0] == '\0') {
		g_snprintf(errbuf, ERRBUF_SIZE, "-Z: empty user name");
		return -1;
	}
	errno = 0;
	pw = root || user != NULL ? getpwnam(name) : NULL;
	if ((root || user != NULL) && pw == NULL) {
		if (errno != 0)
			g_snprintf(errbuf, ERRBUF_SIZE, "-Z %s: cannot look the user up: %s", name,
			    g_strerror(errno));
		else if (user == NULL)
			g_snprintf(errbuf, ERRBUF_SIZE,
			    "running as root, popflow becomes the user '%s' after opening the "
			    "capture, "
			    "but there is no such user: name an unprivileged one with -Z USER "
			    "(-Z root keeps root)",
			    name);
		else
			g_snprintf(errbuf, ERRBUF_SIZE, "-Z %s: no such user", name);
		return -1;
	}
	if (!root) {
		if (pw != NULL && pw->pw_uid != getuid()) {
			g_snprintf(errbuf, ERRBUF_SIZE,
			    "-Z %s: only root can change user (popflow runs as uid %u)", name,
			    (unsigned)getuid());
			return -1;
		}
		/* A capability given to the binary (setcap cap_net_raw+ep) is no longer needed. */
		if (caps_clear() < 0) {
			g_snprintf(errbuf, ERRBUF_SIZE, "capset: %s", g_strerror(errno));
			return -1;
		}
		if (caps_check_none(errbuf) < 0 || no_new_privs(errbuf) < 0)
			return -1;
		if (became != NULL)
			g_snprintf(became, became_len, "uid %u, gid %u (capabilities dropped)",
			    (unsigned)getuid(), (unsigned)getgid());
		return 0;
	}
	if (pw->pw_uid == 0) {
		if (user == NULL) {
			g_snprintf(errbuf, ERRBUF_SIZE,
			    "the user '%s' has uid 0: name an unprivileged user with -Z USER",
			    name);
			return -1;
		}
		/* Asked for explicitly (-Z root). */
		if (became != NULL)
			g_snprintf(became, became_len, "%s (uid 0: root kept, as -Z asked)", name);
		return 0;
	}
	/* getpwnam's result is overwritten by the NSS calls below. */
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	pname = g_strdup(pw->pw_name);
	if (initgroups(pname, gid) < 0) {
		g_snprintf(errbuf, ERRBUF_SIZE, "initgroups(%s): %s", pname, g_strerror(errno));
		goto out;
	}
	if (setresgid(gid, gid, gid) < 0) {
		g_snprintf(
		    errbuf, ERRBUF_SIZE, "setresgid(%u): %s", (unsigned)gid, g_strerror(errno));
		goto out;
	}
	if (setresuid(uid, uid, uid) < 0) {
		g_snprintf(
		    errbuf, ERRBUF_SIZE, "setresuid(%u): %s", (unsigned)uid, g_strerror(errno));
		goto out;
	}
	/* Check it took: every id is the user's, and there is no way back. */
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0 ||
	    ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid ||
	    sgid != gid) {
		g_snprintf(errbuf, ERRBUF_SIZE,
		    "after becoming %s: uid %u/%u/%u gid %u/%u/%u, not %u/%u", pname,
		    (unsigned)ruid, (unsigned)euid, (unsigned)suid, (unsigned)rgid, (unsigned)egid,
		    (unsigned)sgid, (unsigned)uid, (unsigned)gid);
		goto out;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		g_snprintf(
		    errbuf, ERRBUF_SIZE, "after becoming %s, root could still be regained", pname);
		goto out;
	}
	if (groups_check(pname, gid, errbuf) < 0 || caps_check_none(errbuf) < 0 ||
	    no_new_privs(errbuf) < 0)
		goto out;
	if (became != NULL)
		g_snprintf(
		    became, became_len, "%s (uid %u, gid %u)", pname, (unsigned)uid, (unsigned)gid);
	rc = 0;
out:
	g_free(pname);
	return rc;
}

int
privdrop_check_dir(const char *user, const char *what, const char *dir, char *errbuf)
{
	const char *name = user != NULL ? user : PRIVDROP_DEFAULT_USER;
	gid_t *groups, *saved, egid = getegid(), gid;
	int ngroups = PRIVDROP_MAX_GROUPS, nsaved, r = 0, e = 0, rc = 0;
	struct passwd *pw;
	uid_t uid;
	char *pname;

	if (geteuid() != 0 || (user != NULL && user[0] == '\0'))
		return 0; /* no change of user ahead (privdrop() reports an empty -Z) */
	pw = getpwnam(name);
	if (pw == NULL || pw->pw_uid == 0)
		return 0;
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	pname = g_strdup(pw->pw_name);
	groups = g_new(gid_t, PRIVDROP_MAX_GROUPS);
	saved = g_new(gid_t, PRIVDROP_MAX_GROUPS);
	if (getgrouplist(pname, gid, groups, &ngroups) < 0) {
		groups[0] =
		    gid; /* too many groups: privdrop() will refuse; check with the main one */
		ngroups = 1;
	}
	nsaved = getgroups(PRIVDROP_MAX_GROUPS, saved);
	if (nsaved < 0 || setgroups((size_t)ngroups, groups) < 0 || setegid(gid) < 0 ||
	    seteuid(uid) < 0) {
		e = errno;
		g_snprintf(errbuf, ERRBUF_SIZE, "%s: cannot check it as %s: %s", what, pname,
		    g_strerror(e));
		rc = -1;
	} else {
		r = faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS);
		e = errno;
	}
	/* Root's ids back: the capture and the outputs are still to be set up as root. */
	if (seteuid(0) < 0 || setegid(egid) < 0 ||
	    (nsaved >= 0 && setgroups((size_t)nsaved, saved) < 0)) {
		g_snprintf(errbuf, ERRBUF_SIZE,
		    "%s: after checking it as %s, root's ids could not be restored: %s", what,
		    pname, g_strerror(errno));
		rc = -1;
	} else if (rc == 0 && r < 0) {
		g_snprintf(errbuf, ERRBUF_SIZE,
		    "%s: %s (uid %u), the user popflow becomes%s, cannot write %s%s (%s): "
		    "use -Z USER for one who can (-Z root keeps root)",
		    what, pname, (unsigned)uid,
		    user != NULL ? " (-Z)" : " after opening the capture",
		    g_str_has_suffix(what, dir) ? "there" : "in ",
		    g_str_has_suffix(what, dir) ? "" : dir, g_strerror(e));
		rc = -1;
	}
	g_free(groups);
	g_free(saved);
	g_free(pname);
	return rc;
}
