import { MountBackend } from "../../src/backends/mount-backend";
import { runBackendContract } from "./backend.case";
import { MemoryObjectStore } from "./memory-object-store";

const MOUNT = {
  path: "/mnt",
  createdAt: 0,
  bucket: "memory",
  endpoint: "memory:",
  region: "auto",
  keyPrefix: "team/",
  secret: null,
  readOnly: false,
  requesterPays: false,
  forcePathStyle: true,
};

runBackendContract({
  name: "MountBackend over MemoryObjectStore",
  root: MOUNT.path,
  newBackend: async () => new MountBackend(MOUNT, new MemoryObjectStore()),
  skip: [
    {
      reason: "S3 has no rename: ENOTSUP (DESIGN.md, bucket mounts)",
      tests: [
        "move: a file keeps its bytes and ETag, into new parents; the source is gone",
        "move: a directory takes its subtree; siblings stay",
        "move: a missing source is ENOENT, a directory into itself EINVAL",
        "move: onto an existing path without overwrite is EEXIST",
        "move: overwrite follows rename(2): EISDIR, ENOTDIR, ENOTEMPTY; a file replaces a file",
        'move: overwrite "any" replaces whatever is there',
      ],
    },
    {
      reason:
        "S3 directories are implied by keys: removing the last entry of a directory that only mkdir -p implied leaves no key, so the directory is gone too (as on Mountpoint for S3)",
      tests: ["remove: an empty directory goes without recursive"],
    },
    {
      reason: "conditional writes are ENOTSUP on bucket mounts",
      tests: [
        "write: If-None-Match * creates only; a second create is EPRECONDITION",
        "write: If-Match is compare-and-swap; If-Match on a missing file fails",
      ],
    },
    {
      reason: "the uploads API is ENOTSUP on bucket mounts (a PUT without Content-Length streams)",
      tests: [
        "uploads: create, parts, status, complete commit a file like write",
        "uploads: every part but the last is partSize bytes (EINVAL otherwise)",
        "uploads: complete with a missing part is EINVAL",
        "uploads: an aborted or unknown upload is ENOENT",
        "uploads: create fails fast like write: EISDIR, ENOTDIR, EPRECONDITION",
      ],
    },
  ],
});
