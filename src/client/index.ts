// edgefs SDK: the runtime-agnostic entry (Node, browsers, Workers, Deno, Bun).
// Node's extras (local files and directories) are in ./node.js.

export type { HookInfo } from "../core/changes.js";
export { SIGNATURE_HEADER, verifyHookSignature } from "../core/hook-signature.js";
export {
  type MintedToken,
  type Permission,
  Secret,
  type SecretInfo,
  type SecretPutOptions,
  Token,
  type TokenCreateOptions,
  type TokenInfo,
  type TokenScope,
} from "./admin.js";
export type {
  ChangeEvent,
  ChangeOp,
  ChangePage,
  ChangesOptions,
  ChangeWatch,
  WaitForOptions,
  WatchOptions,
} from "./changes.js";
export {
  AuthenticationError,
  EdgefsError,
  type EdgefsErrorInit,
  ExistsError,
  ExpiredError,
  errorFromCode,
  errorFromResponse,
  InvalidRequestError,
  IsADirectoryError,
  LockedError,
  NetworkError,
  NoSpaceError,
  NotADirectoryError,
  NotEmptyError,
  NotFoundError,
  NotSupportedError,
  PermissionError,
  PreconditionError,
  RangeNotSatisfiableError,
  ServerError,
  TimeoutError,
  TooLargeError,
  UpstreamError,
} from "./errors.js";
export { type ClientOptions, encodePath, HttpClient } from "./http.js";
export type { LeaseOptions, LeaseRef, WithLeaseOptions } from "./leases.js";
export {
  type CloudBucketMount,
  type CopyOptions,
  type EphemeralOptions,
  type FileEntry,
  type FromNameOptions,
  type HookRequest,
  type Lease,
  type LeaseHolding,
  type ListOptions,
  type MkdirOptions,
  type Mount,
  type MoveOptions,
  NetworkFileSystem,
  type NetworkFileSystemClass,
  type PresignedUrl,
  type PresignOptions,
  type RemoveOptions,
  type ShareDetail,
  type ShareInfo,
  type ShareQuota,
  type SnapshotInfo,
  type VersionRef,
} from "./nfs.js";
export type { FileReader, ReadOptions } from "./remote-file.js";
export {
  DEFAULT_CONCURRENCY,
  DEFAULT_MULTIPART_THRESHOLD,
  DEFAULT_PART_SIZE,
  type Progress,
  type WriteData,
  type WriteOptions,
} from "./uploads.js";
export {
  BATCH_LIMITS,
  type BatchProgress,
  type BatchUploadOptions,
  type CopyFilesOptions,
  type HistoryEntry,
  type HistoryOptions,
  type PutData,
  type RemoveFileOptions,
  type RestoreOptions,
  type RestoreResult,
  Volume,
  VolumeBatch,
  type VolumeClass,
} from "./volume.js";
