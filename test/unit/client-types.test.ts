// Type tests of the SDK's public API (checked by tsc; the expectations are no-ops at run time).
import { describe, expectTypeOf, it } from "vitest";
import {
  type AuthenticationError,
  type ClientOptions,
  type EdgefsError,
  type ExistsError,
  type FileEntry,
  type FileReader,
  type InvalidRequestError,
  type IsADirectoryError,
  type LockedError,
  type NetworkError,
  NetworkFileSystem,
  type NotADirectoryError,
  type NotEmptyError,
  type NotFoundError,
  type NotSupportedError,
  type PermissionError,
  type PreconditionError,
  type Progress,
  type RangeNotSatisfiableError,
  type ServerError,
  type ShareDetail,
  type ShareInfo,
  type TooLargeError,
  type UpstreamError,
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
