// Type tests of the SDK's public API (checked by tsc; the expectations are no-ops at run time).
import { describe, expectTypeOf, it } from "vitest";
import {
  type AuthenticationError,
  type ChangeEvent,
  type ChangePage,
  type ChangeWatch,
  type ClientOptions,
  type EdgefsError,
  type ExistsError,
  type FileEntry,
  type FileReader,
  type InvalidRequestError,
  type IsADirectoryError,
  type Lease,
  type LockedError,
  type MintedToken,
  type Mount,
  type NetworkError,
  NetworkFileSystem,
  type NotADirectoryError,
  type NotEmptyError,
  type NotFoundError,
  type NotSupportedError,
  type PermissionError,
  type PreconditionError,
  type PresignedUrl,
  type Progress,
  type RangeNotSatisfiableError,
  Secret,
  type SecretInfo,
  type ServerError,
  type ShareDetail,
  type ShareInfo,
  type TimeoutError,
  Token,
  type TokenInfo,
  type TooLargeError,
  type UpstreamError,
  Volume,
  type WriteData,
  type WriteOptions,
} from "../../src/client/index.js";

/** Type-checked by tsc, never run: the calls inside would reach for a server. */
function typeOnly(_body: () => unknown): void {}

describe("public types", () => {
  it("factories", () => {
    expectTypeOf(NetworkFileSystem.fromName).parameter(0).toEqualTypeOf<string>();
    expectTypeOf(NetworkFileSystem.fromName("x")).toEqualTypeOf<NetworkFileSystem>();
    expectTypeOf(
      NetworkFileSystem.fromName("x", { createIfMissing: true, environment: "e", retries: 1 }),
    ).toEqualTypeOf<NetworkFileSystem>();
    expectTypeOf(NetworkFileSystem.ephemeral).returns.resolves.toExtend<NetworkFileSystem>();
    expectTypeOf(NetworkFileSystem.ephemeral).returns.resolves.toExtend<AsyncDisposable>();
    expectTypeOf(NetworkFileSystem.ephemeral).toBeCallableWith({ ttlSeconds: 60, url: "u" });
    expectTypeOf(NetworkFileSystem.delete).returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(NetworkFileSystem.list).returns.toEqualTypeOf<Promise<ShareInfo[]>>();
    expectTypeOf<ClientOptions["fetch"]>().toEqualTypeOf<typeof fetch | undefined>();
  });

  it("the change feed: changes, watch, waitFor", () =>
    typeOnly(async () => {
      const nfs = NetworkFileSystem.fromName("x");
      expectTypeOf(nfs.changes({ since: "57:3", path: "/a/**", limit: 10, wait: 5 })).toEqualTypeOf<
        Promise<ChangePage>
      >();
      const watch = nfs.watch("/a/**", { since: 57, signal: new AbortController().signal });
      expectTypeOf(watch).toEqualTypeOf<ChangeWatch>();
      expectTypeOf(watch.cursor).toEqualTypeOf<string | undefined>();
      for await (const change of watch) {
        expectTypeOf(change).toEqualTypeOf<ChangeEvent>();
        expectTypeOf(change.op).toEqualTypeOf<
          "put" | "mkdir" | "delete" | "move" | "copy" | "restore"
        >();
      }
      expectTypeOf(nfs.waitFor("/a", { timeout: 5 })).toEqualTypeOf<Promise<FileEntry>>();
      const vol = Volume.fromName("x");
      expectTypeOf(vol.watch()).toEqualTypeOf<ChangeWatch>();
      expectTypeOf(vol.waitFor("/a")).toEqualTypeOf<Promise<FileEntry>>();
      expectTypeOf<TimeoutError>().toExtend<EdgefsError>();
      // @ts-expect-error: an unknown option is a compile error
      nfs.watch("/a", { sinse: 1 });
    }));

  it("subclasses get themselves back from the factories", () => {
    class Mine extends NetworkFileSystem {
      extra(): number {
        return 1;
      }
    }
    expectTypeOf(Mine.fromName("x")).toEqualTypeOf<Mine>();
    typeOnly(() => expectTypeOf(Mine.ephemeral()).toEqualTypeOf<Promise<Mine & AsyncDisposable>>());
  });

  it("file operations", () =>
    typeOnly(async () => {
      const nfs = NetworkFileSystem.fromName("x");
      await using scratch = await NetworkFileSystem.ephemeral();
      expectTypeOf(scratch).toExtend<NetworkFileSystem>();
      expectTypeOf(nfs.name).toEqualTypeOf<string>();
      expectTypeOf(nfs.environment).toEqualTypeOf<string>();
      expectTypeOf(nfs.info()).toEqualTypeOf<Promise<ShareDetail>>();
      expectTypeOf(nfs.info()).resolves.toExtend<ShareInfo>();
      expectTypeOf<ShareDetail["usage"]["files"]>().toEqualTypeOf<number>();
      expectTypeOf(nfs.setQuota({ bytes: 1, files: null })).toEqualTypeOf<Promise<ShareDetail>>();
      expectTypeOf(nfs.readFile("/a")).toEqualTypeOf<FileReader>();
      expectTypeOf(nfs.readFile("/a")).toExtend<AsyncIterable<Uint8Array>>();
      expectTypeOf(nfs.readFile("/a", { offset: 1, length: 2 }).bytes()).toEqualTypeOf<
        Promise<Uint8Array>
      >();
      expectTypeOf(nfs.readFile("/a").text()).toEqualTypeOf<Promise<string>>();
      expectTypeOf(nfs.readFile("/a").stream()).toEqualTypeOf<
        Promise<ReadableStream<Uint8Array>>
      >();
      expectTypeOf(nfs.writeFile).returns.toEqualTypeOf<Promise<number>>();
      expectTypeOf(nfs.writeFile).parameter(1).toEqualTypeOf<WriteData>();
      expectTypeOf(nfs.writeFile).toBeCallableWith("/a", "text");
      expectTypeOf(nfs.writeFile).toBeCallableWith("/a", new Uint8Array(1));
      expectTypeOf(nfs.writeFile).toBeCallableWith("/a", new ArrayBuffer(1));
      expectTypeOf(nfs.writeFile).toBeCallableWith("/a/", new Blob([]), { name: "b" });
      expectTypeOf(nfs.writeFile).toBeCallableWith("/a", new Blob([]).stream(), {
        partSize: 1,
        concurrency: 2,
        multipartThreshold: 3,
        onProgress: (p: Progress) => p.bytes,
      });
      expectTypeOf<WriteOptions["onProgress"]>().toEqualTypeOf<
        ((p: Progress) => void) | undefined
      >();
      expectTypeOf(nfs.iterdir("/")).toExtend<AsyncIterable<FileEntry>>();
      expectTypeOf(nfs.listdir("/", { recursive: true })).toEqualTypeOf<Promise<FileEntry[]>>();
      expectTypeOf(nfs.stat("/")).toEqualTypeOf<Promise<FileEntry>>();
      expectTypeOf(nfs.exists("/")).toEqualTypeOf<Promise<boolean>>();
      expectTypeOf(nfs.mkdir("/")).toEqualTypeOf<Promise<void>>();
      expectTypeOf(nfs.removeFile).toBeCallableWith("/", { recursive: true });
      expectTypeOf(nfs.move("/a", "/b", { overwrite: true })).toEqualTypeOf<Promise<FileEntry>>();
      expectTypeOf(nfs.copy("/a", "/b", { recursive: true })).toEqualTypeOf<Promise<FileEntry>>();
      expectTypeOf<FileEntry["type"]>().toEqualTypeOf<"file" | "directory">();
      expectTypeOf<ShareInfo["expiresAt"]>().toEqualTypeOf<number | undefined>();
    }));

  it("conditional writes, leases, presign, mounts, secrets, tokens", () =>
    typeOnly(async () => {
      const nfs = NetworkFileSystem.fromName("x");
      expectTypeOf(nfs.writeFile).toBeCallableWith("/a", "x", { ifNoneMatch: "*" });
      expectTypeOf(nfs.writeFile).toBeCallableWith("/a", "x", { ifMatch: '"e"', lease: "id" });
      expectTypeOf(
        nfs.acquireLease("/a", { ttlSeconds: 1, exclusive: false, depth: "0" }),
      ).toEqualTypeOf<Promise<Lease>>();
      expectTypeOf(nfs.renewLease("id")).toEqualTypeOf<Promise<Lease>>();
      expectTypeOf(nfs.releaseLease).toBeCallableWith({ leaseId: "id" });
      expectTypeOf(nfs.listLeases({ path: "/" })).toEqualTypeOf<Promise<Lease[]>>();
      expectTypeOf(nfs.withLease("/a", async () => 1)).toEqualTypeOf<Promise<number>>();
      expectTypeOf(nfs.holding("id")).toEqualTypeOf<NetworkFileSystem>();
      expectTypeOf(nfs.presign("/a", { method: "PUT", expiresIn: 1 })).toEqualTypeOf<
        Promise<PresignedUrl>
      >();
      expectTypeOf(nfs.addMount("/m", { bucket: "b", readOnly: true })).toEqualTypeOf<
        Promise<Mount>
      >();
      expectTypeOf(nfs.listMounts()).toEqualTypeOf<Promise<Mount[]>>();
      expectTypeOf(Secret.list()).toEqualTypeOf<Promise<SecretInfo[]>>();
      expectTypeOf(Secret.put).toBeCallableWith("s", { A: "1" }, { shares: ["x"], url: "u" });
      expectTypeOf(Token.create({ permissions: ["read"] })).toEqualTypeOf<Promise<MintedToken>>();
      expectTypeOf(Token.list()).toEqualTypeOf<Promise<TokenInfo[]>>();

      // Unknown options are type errors (and InvalidRequestError at run time).
      // @ts-expect-error misspelt
      await nfs.writeFile("/a", "x", { ifNoneMach: "*" });
      // @ts-expect-error not an option of removeFile
      await nfs.removeFile("/a", { force: true });
      // @ts-expect-error not a lease option
      await nfs.acquireLease("/a", { ttl: 5 });
      // @ts-expect-error not a method presign takes
      await nfs.presign("/a", { method: "DELETE" });
      // @ts-expect-error permissions are read, write, admin
      await Token.create({ permissions: ["root"] });
      // @ts-expect-error not a client option
      NetworkFileSystem.fromName("x", { createIfMising: true });
    }));

  it("errors", () => {
    expectTypeOf<EdgefsError>().toExtend<Error>();
    expectTypeOf<EdgefsError["code"]>().toEqualTypeOf<string>();
    expectTypeOf<EdgefsError["status"]>().toEqualTypeOf<number>();
    expectTypeOf<EdgefsError["path"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<NotFoundError>().toExtend<EdgefsError>();
    expectTypeOf<ExistsError>().toExtend<EdgefsError>();
    expectTypeOf<IsADirectoryError>().toExtend<EdgefsError>();
    expectTypeOf<NotADirectoryError>().toExtend<EdgefsError>();
    expectTypeOf<NotEmptyError>().toExtend<EdgefsError>();
    expectTypeOf<PreconditionError>().toExtend<EdgefsError>();
    expectTypeOf<LockedError>().toExtend<EdgefsError>();
    expectTypeOf<PermissionError>().toExtend<EdgefsError>();
    expectTypeOf<AuthenticationError>().toExtend<EdgefsError>();
    expectTypeOf<InvalidRequestError>().toExtend<EdgefsError>();
    expectTypeOf<TooLargeError>().toExtend<EdgefsError>();
    expectTypeOf<RangeNotSatisfiableError>().toExtend<EdgefsError>();
    expectTypeOf<NotSupportedError>().toExtend<EdgefsError>();
    expectTypeOf<UpstreamError>().toExtend<EdgefsError>();
    expectTypeOf<ServerError>().toExtend<EdgefsError>();
    expectTypeOf<NetworkError>().toExtend<EdgefsError>();
  });
});
