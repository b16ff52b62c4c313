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
      reason:
        "S3 directories are implied by keys: removing the last entry of a directory that only mkdir -p implied leaves no key, so the directory is gone too (as on Mountpoint for S3)",
      tests: ["remove: an empty directory goes without recursive"],
    },
  ],
});
