import { runBackendContract } from "./backend.case";
import { newShare } from "./http-backend";
import { WebDavBackend } from "./webdav-backend";

// WebDAV (/dav), through the whole Worker, over share storage.
runBackendContract({
  name: "WebDAV /dav over share storage",
  newBackend: async () => new WebDavBackend(await newShare("dav")),
  skip: [
    {
      reason: "WebDAV has no key listing: S3's ListObjectsV2 is the S3 front-end's (src/s3api)",
      tests: [
        "listKeys: whole keys in byte order; files as stat gives them, an empty directory as dir/",
        "listKeys: the delimiter rolls up the prefix's directories; a prefix may end mid-name",
        "listKeys: startAfter may be any string; next pages without gaps or repeats",
        "listKeys: a bad prefix, startAfter or limit is EINVAL",
      ],
    },
    {
      reason:
        "WebDAV has no globs, cursors or recursive listings (PROPFIND Depth: infinity is refused)",
      tests: [
        "list: recursive lists the whole subtree relative to the directory",
        "list: a glob matches * within a segment and ** across, with absolute paths",
        "list: limit and cursor page a directory in order, none lost or repeated",
        "list: a glob pages with limit and cursor, none lost or repeated",
        "list: recursive and glob entries carry absolutePath too",
        "list: a glob takes ?, [...], [!...] and {a,b} with or without a *; a bad one is EINVAL",
        "list: a missing path is ENOENT, a malformed cursor EINVAL",
      ],
    },
    {
      reason: "GET of a collection is an HTML index of its members, not EISDIR (RFC 4918 §9.4)",
      tests: ["read: a directory is EISDIR, a missing file ENOENT"],
    },
    {
      reason: "WebDAV DELETE is always Depth: infinity (RFC 4918 §9.6.1): there is no ENOTEMPTY",
      tests: ["remove: a non-empty directory needs recursive (ENOTEMPTY), then all of it goes"],
    },
    {
      reason:
        "WebDAV's Overwrite: T replaces whatever is there (the contract's \"any\", RFC 4918 §9.9.3): rename(2)'s refusals cannot be asked for",
      tests: [
        "move: overwrite follows rename(2): EISDIR, ENOTDIR, ENOTEMPTY; a file replaces a file",
        "copy: overwrite follows rename(2) like move: EISDIR, ENOTDIR, ENOTEMPTY; a file replaces a file",
      ],
    },
    {
      reason:
        "COPY of a collection with Depth: 0 copies it without its members (RFC 4918 §9.8.3): there is no EISDIR",
      tests: ["copy: a directory needs recursive (EISDIR), then copies the whole subtree"],
    },
  ],
});
