/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * file: savecore's *.last links, moved to each complete dump stored
 * whole (savecore layout: "<stem>.last<ext>"; netdumpd: the client's own
 * "<stem>.<client>.last").
 */
#include "file.h"

/* "<stem>.last<ext>" (savecore) or "<stem>.<client>.last" (netdumpd). */
static int
link_name(const struct file_dump *d, const char *stem, const char *ext,
    char name[NAME_MAX + 1])
{
	if (d->layout == LAYOUT_NETDUMPD)
		return fmtname(name, NAME_MAX + 1, "%s.%s.last%s", stem,
		    d->dump->client_name, ext);
	return fmtname(name, NAME_MAX + 1, "%s.last%s", stem, ext);
}

/*
 * Point the symlink name at target, atomically. Anything but a symlink at
 * name (a file someone put there) stays, with a warning, as savecore's
 * symlinkat would leave it: 1.
 */
static int
replace_link(const struct file_dump *d, const char *name, const char *target)
{
	char tmp[NAME_MAX + 1];
	struct stat sb;
	int save;

	if (fstatat(d->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISLNK(sb.st_mode)) {
		d->fs->host->log(d->fs->ctx, NDS_LOG_WARNING, "%s%s%s: not a "
		    "symbolic link: left alone, not pointed at %s", d->rel,
		    d->rel[0] != '\0' ? "/" : "", name, target);
		return 1;
	}
	/* The number keeps concurrent dumps of one client apart. */
	if (fmtname(tmp, sizeof(tmp), ".%s.%u.tmp", name, d->number) == -1)
		return -1;
	if (unlinkat(d->dirfd, tmp, 0) == -1 && errno != ENOENT)
		return -1;
	if (symlinkat(target, d->dirfd, tmp) == -1)
		return -1;
	if (renameat(d->dirfd, tmp, d->dirfd, name) == -1) {
		save = errno;
		unlinkat(d->dirfd, tmp, 0);
		errno = save;
		return -1;
	}
	return 0;
}

/*
 * Every "*.last" name a dump directory may hold. Before the new dump is
 * linked, those that are symlinks go (never anything else), as in
 * savecore's symlinks_remove() (sbin/savecore/savecore.c), so that no link
 * of another kind is left naming an older dump: a plain dump after an
 * encrypted one leaves no key.last and no vmcore_encrypted.last*. The
 * list is savecore's, plus vmcore_encrypted.last.zst, which savecore
 * forgets (a stale one would name an older dump), and manifest.last.json,
 * which only this sink makes. The netdumpd layout names them
 * "<stem>.<client>.last<ext>": each client's own set.
 */
static const struct {
	const char	*stem, *ext;
} last_links[] = {
	{ "info", "" }, { "key", "" },
	{ "vmcore", "" }, { "vmcore", ".gz" }, { "vmcore", ".zst" },
	{ "vmcore_encrypted", "" }, { "vmcore_encrypted", ".gz" },
	{ "vmcore_encrypted", ".zst" },
	{ "textdump.tar", "" }, { "textdump.tar", ".gz" },
	{ "livecore", "" }, { "livecore", ".gz" }, { "livecore", ".zst" },
	{ "manifest", ".json" },
};

/* One link update_links makes. */
struct new_link {
	char	name[NAME_MAX + 1];
	char	target[NAME_MAX + 1];
};

/*
 * The vmcore's link. savecore: "<stem>.last" and the file's suffix, but
 * for an encrypted kernel-compressed dump the suffix of the KDH's
 * compression though the file has none, as DoFile names it:
 * vmcore_encrypted.last.zst -> vmcore_encrypted.N. netdumpd:
 * "vmcore.<client>.last" whatever the file, as the ports daemon does.
 */
static int
vmcore_link_name(const struct file_dump *d, char name[NAME_MAX + 1])
{
	const struct nds_kdh *kdh = d->dump->kdh;
	const char *suffix = d->suffix[NDS_OBJ_VMCORE];

	if (d->layout == LAYOUT_NETDUMPD)
		return link_name(d, "vmcore", "", name);
	if (suffix[0] == '\0' && d->dump->encrypted && kdh != NULL)
		suffix = kdh->compression == NDS_COMP_GZIP ? ".gz" :
		    kdh->compression == NDS_COMP_ZSTD ? ".zst" : "";
	/* Only a complete dump is linked: the host adds no ".incomplete". */
	return host_name(d, NDS_OBJ_VMCORE, suffix, ".last", name);
}

/*
 * Remove every symlink of last_links[], before any is made anew, as
 * savecore does (symlinks_remove): a server killed while it links leaves
 * some links missing, never links to two different dumps.
 */
static void
remove_last_links(const struct file_dump *d)
{
	char name[NAME_MAX + 1], ebuf[128];
	struct stat sb;
	size_t i;

	for (i = 0; i < NITEMS(last_links); i++) {
		if (link_name(d, last_links[i].stem, last_links[i].ext,
		    name) == -1)
			continue;
		if (fstatat(d->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISLNK(sb.st_mode))
			continue;
		if (unlinkat(d->dirfd, name, 0) == -1 && errno != ENOENT)
			d->fs->host->log(d->fs->ctx, NDS_LOG_WARNING,
			    "%s%s%s: unlink: %s", d->rel, d->rel[0] != '\0' ?
			    "/" : "", name, sink_errstr(errno, ebuf,
			    sizeof(ebuf)));
	}
}

/*
 * Point the *.last symlinks at this dump, as savecore and netdumpd do: the
 * old ones go first, the vmcore's comes last, so that a vmcore.last always
 * has its info.last (and key.last) beside it.
 */
int
update_links(struct file_dump *d, char *err)
{
	static const struct {
		enum nds_object_kind	 kind;
		const char		*stem, *ext;
		bool			 netdumpd; /* netdumpd links it too */
	} links[] = {
		{ NDS_OBJ_INFO, "info", "", true },
		{ NDS_OBJ_KEY, "key", "", false },
		{ NDS_OBJ_MANIFEST, "manifest", ".json", false },
	};
	struct new_link nl[1 + NITEMS(links)];
	char ebuf[128];
	const char *what = "vmcore";
	size_t i, n = 0;

	for (i = 0; i < NITEMS(links); i++) {
		/* A dump without a key links none: key.last goes. */
		if (!d->stored[links[i].kind] || (d->layout ==
		    LAYOUT_NETDUMPD && !links[i].netdumpd))
			continue;
		what = links[i].stem;
		if (link_name(d, links[i].stem, links[i].ext,
		    nl[n].name) == -1 ||
		    final_name(d, links[i].kind, nl[n].target) == -1)
			goto fail;
		n++;
	}
	what = "vmcore";
	if (vmcore_link_name(d, nl[n].name) == -1)
		goto fail;
	snprintf(nl[n++].target, sizeof(nl[0].target), "%s", d->vmcore);
	remove_last_links(d);
	for (i = 0; i < n; i++) {
		what = nl[i].name;
		if (replace_link(d, nl[i].name, nl[i].target) == -1)
			goto fail;
	}
	return 0;
fail:
	sink_seterr(err, "%s: symlink: %s", what, sink_errstr(errno, ebuf,
	    sizeof(ebuf)));
	return -1;
}
