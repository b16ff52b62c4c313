// The SDK against a scripted fetch (no server): error mapping, retry policy,
// naming, configuration, URL encoding, paging, multipart and ephemeral shares;
// and where the CLI puts the files a glob matched (paths chosen by the server).
import { afterEach, describe, expect, it } from "vitest";
import {
  globBase,
  localPathsFor,
  type PathApi,
  RefusedPathError,
} from "../../src/cli/local-path.js";
import {
  AuthenticationError,
  EdgefsError,
  ExistsError,
  InvalidRequestError,
  IsADirectoryError,
  LockedError,
  NetworkError,
  NetworkFileSystem,
  NoSpaceError,
  NotADirectoryError,
  NotEmptyError,
  NotFoundError,
  NotSupportedError,
  PermissionError,
  PreconditionError,
  RangeNotSatisfiableError,
  ServerError,
  TooLargeError,
  UpstreamError,
} from "../../src/client/index.js";
import { ERROR_STATUS } from "../../src/core/errors.js";

const BASE = "http://edgefs.test";

interface Call {
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array | undefined;
  streamed: boolean;
}

type Handler = (call: Call, n: number) => Response | Promise<Response>;

/** A fetch that records every call and answers with `handler`. */
function fakeFetch(handler: Handler) {
  const calls: Call[] = [];
  const f = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const streamed = init.body instanceof ReadableStream;
    const request = new Request(input, init);
    const body =
      init.body === undefined || init.body === null
        ? undefined
        : new Uint8Array(await request.arrayBuffer());
    const call: Call = {
      method: request.method,
      url: new URL(request.url),
      headers: request.headers,
      body,
      streamed,
    };
    calls.push(call);
    return handler(call, calls.length);
  };
  return { fetch: f as typeof fetch, calls };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const errorBody = (status: number, code: string, message: string, path?: string) =>
  json({ error: path === undefined ? { code, message } : { code, message, path } }, status);
const entry = (path: string, size = 0) => ({ path, type: "file", size, mtime: 1, etag: '"e"' });
const ok = () => json(entry("/x"));

function nfsWith(handler: Handler, options: { retries?: number; environment?: string } = {}) {
  const fake = fakeFetch(handler);
  const nfs = NetworkFileSystem.fromName("demo", {
    url: BASE,
    token: "tok",
    fetch: fake.fetch,
    ...options,
  });
  return { nfs, calls: fake.calls };
}

describe("errors", () => {
  const cases: [number, string, new (...args: never[]) => EdgefsError][] = [
    [404, "ENOENT", NotFoundError],
    [409, "EEXIST", ExistsError],
    [409, "EISDIR", IsADirectoryError],
    [409, "ENOTDIR", NotADirectoryError],
    [409, "ENOTEMPTY", NotEmptyError],
    [412, "EPRECONDITION", PreconditionError],
    [423, "ELOCKED", LockedError],
    [403, "EACCES", PermissionError],
    [401, "EUNAUTHENTICATED", AuthenticationError],
    [400, "EINVAL", InvalidRequestError],
    [413, "ETOOLARGE", TooLargeError],
    [416, "ERANGE", RangeNotSatisfiableError],
    [501, "ENOTSUP", NotSupportedError],
    [502, "EUPSTREAM", UpstreamError],
    [507, "ENOSPC", NoSpaceError],
    [500, "EINTERNAL", ServerError],
  ];
  for (const [status, code, Class] of cases) {
    it(`maps ${code} (${status}) to ${Class.name}`, async () => {
      const { nfs } = nfsWith(() => errorBody(status, code, `boom ${code}`, "/a/b"), {
        retries: 0,
      });
      const error = await nfs.stat("/a/b").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Class);
      expect(error).toBeInstanceOf(EdgefsError);
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({ code, status, path: "/a/b", message: `boom ${code}` });
      expect((error as Error).name).toBe(Class.name);
    });
  }

  it("maps every code the server has to a class of its own, with the server's status", async () => {
    const classes = new Set<unknown>();
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      const { nfs } = nfsWith(() => errorBody(status, code, `boom ${code}`, "/a"), { retries: 0 });
      const error = await nfs.stat("/a").catch((e: unknown) => e);
      expect(error, code).toBeInstanceOf(EdgefsError);
      expect(error, code).toMatchObject({ code, status, path: "/a", message: `boom ${code}` });
      const Class = (error as EdgefsError).constructor as new (message: string) => EdgefsError;
      expect(Class, code).not.toBe(EdgefsError);
      classes.add(Class);
      // Raised locally (no answer to take them from), the class still knows both.
      expect(new Class("local"), code).toMatchObject({ code, status, name: Class.name });
    }
    expect(classes.size).toBe(Object.keys(ERROR_STATUS).length);
  });

  it("NoSpaceError (ENOSPC, 507) is still a ServerError, as every 5xx was before it had a class", async () => {
    const { nfs } = nfsWith(() => errorBody(507, "ENOSPC", "too many leases"), { retries: 0 });
    const error = await nfs.stat("/x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoSpaceError);
    expect(error).toBeInstanceOf(ServerError);
    expect(new NoSpaceError("full")).toMatchObject({ code: "ENOSPC", status: 507 });
  });

  it("maps a code named like an Object method to a plain EdgefsError, not a TypeError", async () => {
    for (const code of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      const error = await nfsWith(() => errorBody(400, code, "odd"))
        .nfs.stat("/x")
        .catch((e: unknown) => e);
      expect(error, code).toBeInstanceOf(EdgefsError);
      expect(error, code).toMatchObject({ code, status: 400, message: "odd" });
    }
  });

  it("maps an unknown 4xx code to a plain EdgefsError and an unknown 5xx one to ServerError", async () => {
    const a = await nfsWith(() => errorBody(418, "ETEAPOT", "short and stout"))
      .nfs.stat("/x")
      .catch((e: unknown) => e);
    expect(a).toBeInstanceOf(EdgefsError);
    expect(a).toMatchObject({ code: "ETEAPOT", status: 418, message: "short and stout" });
    const b = await nfsWith(() => errorBody(507, "ESPACE", "full"))
      .nfs.stat("/x")
      .catch((e: unknown) => e);
    expect(b).toBeInstanceOf(ServerError);
    expect(b).toMatchObject({ code: "ESPACE", status: 507 });
  });

  it("maps a non-JSON error answer to ServerError", async () => {
    const { nfs } = nfsWith(() => new Response("<html>bad gateway</html>", { status: 502 }));
    const error = await nfs.stat("/x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ code: "HTTP_502", status: 502 });
    expect((error as Error).message).toContain("bad gateway");
    const notJson = await nfsWith(() => new Response("nope", { status: 404 }))
      .nfs.stat("/x")
      .catch((e: unknown) => e);
    expect(notJson).toBeInstanceOf(ServerError);
    expect(notJson).toMatchObject({ code: "HTTP_404", status: 404 });
  });

  it("maps a fetch that throws to NetworkError (status 0, ENETWORK)", async () => {
    const { nfs } = nfsWith(
      () => {
        throw new TypeError("connection refused");
      },
      { retries: 0 },
    );
    const error = await nfs.stat("/x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ code: "ENETWORK", status: 0 });
    expect((error as Error).message).toContain("connection refused");
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });

  it("exists() is false for ENOENT and rethrows anything else", async () => {
    expect(await nfsWith(() => errorBody(404, "ENOENT", "no")).nfs.exists("/x")).toBe(false);
    expect(await nfsWith(() => json(entry("/x"))).nfs.exists("/x")).toBe(true);
    await expect(
      nfsWith(() => errorBody(403, "EACCES", "no")).nfs.exists("/x"),
    ).rejects.toBeInstanceOf(PermissionError);
  });
});

describe("retries", () => {
  it("retries a GET on 503 until it succeeds", async () => {
    const { nfs, calls } = nfsWith((_, n) => (n < 3 ? errorBody(503, "EINTERNAL", "busy") : ok()));
    expect((await nfs.stat("/x")).path).toBe("/x");
    expect(calls.map((c) => c.method)).toEqual(["GET", "GET", "GET"]);
  });

  it("retries a GET after a network error", async () => {
    const { nfs, calls } = nfsWith((_, n) => {
      if (n === 1) throw new TypeError("socket hang up");
      return ok();
    });
    await nfs.stat("/x");
    expect(calls).toHaveLength(2);
  });

  it("gives up after `retries` retries with the last error", async () => {
    const { nfs, calls } = nfsWith(() => errorBody(500, "EINTERNAL", "bug"), { retries: 2 });
    await expect(nfs.stat("/x")).rejects.toBeInstanceOf(ServerError);
    expect(calls).toHaveLength(3);
  });

  it("does not retry 4xx, 501 or 502", async () => {
    for (const [status, code] of [
      [400, "EINVAL"],
      [404, "ENOENT"],
      [501, "ENOTSUP"],
      [502, "EUPSTREAM"],
    ] as const) {
      const { nfs, calls } = nfsWith(() => errorBody(status, code, "no"));
      await expect(nfs.stat("/x")).rejects.toMatchObject({ code });
      expect(calls).toHaveLength(1);
    }
  });

  it("never retries a POST (move, copy)", async () => {
    const { nfs, calls } = nfsWith(() => errorBody(503, "EINTERNAL", "busy"));
    await expect(nfs.move("/a", "/b")).rejects.toBeInstanceOf(ServerError);
    await expect(nfs.copy("/a", "/b")).rejects.toBeInstanceOf(ServerError);
    const network = nfsWith(() => {
      throw new TypeError("reset");
    });
    await expect(network.nfs.move("/a", "/b")).rejects.toBeInstanceOf(NetworkError);
    expect(calls.map((c) => c.method)).toEqual(["POST", "POST"]);
    expect(network.calls).toHaveLength(1);
  });

  it("retries a PUT of bytes, a Blob, DELETE and mkdir", async () => {
    const flaky = () => {
      const seen = new Set<string>();
      return nfsWith((call) => {
        const key = `${call.method} ${call.url.pathname}`;
        if (!seen.has(key)) {
          seen.add(key);
          return errorBody(503, "EINTERNAL", "busy");
        }
        return call.method === "DELETE" ? new Response(null, { status: 204 }) : ok();
      });
    };
    const { nfs, calls } = flaky();
    expect(await nfs.writeFile("/a.txt", new Uint8Array([1, 2, 3]))).toBe(0); // the server's size
    await nfs.writeFile("/b.txt", new Blob(["hey"]));
    await nfs.removeFile("/c.txt");
    await nfs.mkdir("/d");
    expect(calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([
      "PUT /v1/shares/demo/files/a.txt",
      "PUT /v1/shares/demo/files/a.txt",
      "PUT /v1/shares/demo/files/b.txt",
      "PUT /v1/shares/demo/files/b.txt",
      "DELETE /v1/shares/demo/files/c.txt",
      "DELETE /v1/shares/demo/files/c.txt",
      "PUT /v1/shares/demo/files/d/",
      "PUT /v1/shares/demo/files/d/",
    ]);
    expect(calls[1]?.body).toEqual(new Uint8Array([1, 2, 3]));
    expect(new TextDecoder().decode(calls[3]?.body)).toBe("hey");
  });

  it("never retries a streamed PUT", async () => {
    const { nfs, calls } = nfsWith(() => errorBody(503, "EINTERNAL", "busy"));
    const stream = new Blob(["streamed"]).stream();
    await expect(
      nfs.writeFile("/s.txt", stream, { multipartThreshold: Number.POSITIVE_INFINITY }),
    ).rejects.toBeInstanceOf(ServerError);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.streamed).toBe(true);
    expect(new TextDecoder().decode(calls[0]?.body)).toBe("streamed");
  });

  it("buffers a small stream and sends it as one replayable PUT", async () => {
    const { nfs, calls } = nfsWith((_, n) =>
      n === 1 ? errorBody(503, "EINTERNAL", "busy") : json(entry("/s.txt", 5)),
    );
    const progress: unknown[] = [];
    const n = await nfs.writeFile("/s.txt", new Blob(["hello"]).stream(), {
      onProgress: (p) => progress.push(p),
    });
    expect(n).toBe(5);
    expect(calls).toHaveLength(2);
    expect(calls.every((c) => !c.streamed)).toBe(true);
    expect(new TextDecoder().decode(calls[1]?.body)).toBe("hello");
    expect(progress).toEqual([{ bytes: 5, total: 5 }]);
  });
});

describe("paths and naming", () => {
  it("writes into a directory under options.name, a File's name, or refuses", async () => {
    const { nfs, calls } = nfsWith(() => ok());
    await nfs.writeFile("/docs/", "x", { name: "given.txt" });
    await nfs.writeFile("/docs/", new File(["x"], "own name.txt"));
    await nfs.writeFile("/docs/", new File(["x"], "ignored.txt"), { name: "wins.txt" });
    expect(calls.map((c) => c.url.pathname)).toEqual([
      "/v1/shares/demo/files/docs/given.txt",
      "/v1/shares/demo/files/docs/own%20name.txt",
      "/v1/shares/demo/files/docs/wins.txt",
    ]);
    const error = await nfs.writeFile("/docs/", new Uint8Array(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ code: "EINVAL", status: 0, path: "/docs/" });
    await expect(nfs.writeFile("/docs/", "x", { name: "a/b" })).rejects.toBeInstanceOf(
      InvalidRequestError,
    );
    expect(calls).toHaveLength(3); // refused locally
  });

  it("percent-encodes each path segment on its own", async () => {
    const { nfs, calls } = nfsWith((c) =>
      c.url.pathname.includes("/list/") ? json({ entries: [] }) : ok(),
    );
    await nfs.stat("/a b/ü?#%.txt");
    await nfs.stat("no/leading/slash");
    await nfs.stat("//double");
    await nfs.listdir("/data/**/*.csv");
    await nfs.readFile("/r[1]{a,b}&=+.bin").bytes();
    expect(calls.map((c) => c.url.pathname)).toEqual([
      "/v1/shares/demo/stat/a%20b/%C3%BC%3F%23%25.txt",
      "/v1/shares/demo/stat/no/leading/slash",
      "/v1/shares/demo/stat/double",
      "/v1/shares/demo/list/data/**/*.csv",
      "/v1/shares/demo/files/r%5B1%5D%7Ba%2Cb%7D%26%3D%2B.bin",
    ]);
  });

  it("refuses '.' and '..' segments locally: fetch would resolve them into another share's route", async () => {
    const { nfs, calls } = nfsWith(() => new Response(null, { status: 204 }));
    // Unchecked, "../../victim" became DELETE /v1/shares/victim: the whole other share.
    for (const attempt of [
      () => nfs.removeFile("../../victim", { recursive: true }),
      () => nfs.stat("/a/./b"),
      () => nfs.writeFile("docs/../../other/files/x", "x"),
      () => nfs.readFile("/..").bytes(),
      () => nfs.mkdir("/a/../"),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ code: "EINVAL", status: 0 });
    }
    expect(calls).toEqual([]);
    // Dots inside a name, and percent signs, are plain characters.
    await nfs.removeFile("/..hidden/.../%2e%2e");
    expect(calls.map((c) => c.url.pathname)).toEqual([
      "/v1/shares/demo/files/..hidden/.../%252e%252e",
    ]);
  });

  it("sends move and copy as JSON with absolute paths", async () => {
    const { nfs, calls } = nfsWith(() => json(entry("/b")));
    await nfs.move("a", "/b", { overwrite: true });
    await nfs.copy("/a", "b", { recursive: true });
    expect(
      calls.map((c) => [c.url.pathname, JSON.parse(new TextDecoder().decode(c.body))]),
    ).toEqual([
      ["/v1/shares/demo/move", { from: "/a", to: "/b", overwrite: true }],
      ["/v1/shares/demo/copy", { from: "/a", to: "/b", recursive: true, overwrite: false }],
    ]);
    expect(calls[0]?.headers.get("content-type")).toBe("application/json");
  });

  it("deletes recursively only when asked", async () => {
    const { nfs, calls } = nfsWith(() => new Response(null, { status: 204 }));
    await nfs.removeFile("/a");
    await nfs.removeFile("/b", { recursive: true });
    expect(calls.map((c) => c.url.searchParams.get("recursive"))).toEqual([null, "true"]);
  });
});

describe("configuration", () => {
  const proc = globalThis as { process?: { env?: Record<string, string | undefined> } };
  const saved = proc.process;
  afterEach(() => {
    if (saved === undefined) delete proc.process;
    else proc.process = saved;
  });

  it("sends the url, token and environment of the options", async () => {
    const { nfs, calls } = nfsWith(() => ok(), { environment: "staging" });
    await nfs.stat("/x");
    const call = calls[0] as Call;
    expect(call.url.origin).toBe(BASE);
    expect(call.url.searchParams.get("env")).toBe("staging");
    expect(call.headers.get("authorization")).toBe("Bearer tok");
    expect(nfs.environment).toBe("staging");
    expect(nfs.name).toBe("demo");
  });

  it("adds ?env=main by default, on every request, and strips a trailing slash of the url", async () => {
    const fake = fakeFetch((c) => (c.url.pathname === "/v1/shares" ? json({ shares: [] }) : ok()));
    const nfs = NetworkFileSystem.fromName("demo", { url: `${BASE}/`, fetch: fake.fetch });
    await nfs.stat("/x");
    await NetworkFileSystem.list({ url: `${BASE}/`, fetch: fake.fetch });
    for (const call of fake.calls) {
      expect(call.url.searchParams.get("env")).toBe("main");
      expect(call.url.href.startsWith(`${BASE}/v1/`)).toBe(true);
    }
  });

  it("falls back to EDGEFS_URL and EDGEFS_TOKEN, then to the local default", async () => {
    proc.process = { ...saved, env: { EDGEFS_URL: "https://env.example", EDGEFS_TOKEN: "envtok" } };
    const fake = fakeFetch(() => ok());
    await NetworkFileSystem.fromName("demo", { fetch: fake.fetch }).stat("/x");
    expect(fake.calls[0]?.url.origin).toBe("https://env.example");
    expect(fake.calls[0]?.headers.get("authorization")).toBe("Bearer envtok");
    // Options win over the environment.
    await NetworkFileSystem.fromName("demo", { fetch: fake.fetch, url: BASE, token: "t" }).stat(
      "/x",
    );
    expect(fake.calls[1]?.url.origin).toBe(BASE);
    expect(fake.calls[1]?.headers.get("authorization")).toBe("Bearer t");
    // No process at all (a browser): the default URL, no Authorization header.
    delete proc.process;
    await NetworkFileSystem.fromName("demo", { fetch: fake.fetch }).stat("/x");
    expect(fake.calls[2]?.url.origin).toBe("http://127.0.0.1:8787");
    expect(fake.calls[2]?.headers.has("authorization")).toBe(false);
  });

  it("is lazy, and with createIfMissing creates the share once, on first use", async () => {
    const fake = fakeFetch((c) => (c.method === "PUT" ? json({ name: "demo" }, 201) : ok()));
    const lazy = NetworkFileSystem.fromName("demo", { url: BASE, fetch: fake.fetch });
    const created = NetworkFileSystem.fromName("demo", {
      url: BASE,
      fetch: fake.fetch,
      createIfMissing: true,
    });
    expect(fake.calls).toHaveLength(0);
    await lazy.stat("/x");
    await Promise.all([created.stat("/x"), created.exists("/y")]);
    await created.stat("/z");
    expect(fake.calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([
      "GET /v1/shares/demo/stat/x",
      "PUT /v1/shares/demo",
      "GET /v1/shares/demo/stat/x",
      "GET /v1/shares/demo/stat/y",
      "GET /v1/shares/demo/stat/z",
    ]);
  });
});

describe("listing", () => {
  it("iterdir follows cursors page by page", async () => {
    const pages: Record<string, unknown> = {
      "": { entries: [entry("a"), entry("b")], cursor: "c1" },
      c1: { entries: [entry("c")], cursor: "c2" },
      c2: { entries: [entry("d")] },
    };
    const { nfs, calls } = nfsWith((c) => json(pages[c.url.searchParams.get("cursor") ?? ""]));
    const seen: string[] = [];
    for await (const e of nfs.iterdir("/dir", { recursive: true })) {
      seen.push(e.path);
      // Lazy: a page is fetched only when the previous one is used up.
      expect(calls.length).toBe(seen.length <= 2 ? 1 : seen.length - 1);
    }
    expect(seen).toEqual(["a", "b", "c", "d"]);
    expect(
      calls.map((c) => [c.url.searchParams.get("cursor"), c.url.searchParams.get("recursive")]),
    ).toEqual([
      [null, "true"],
      ["c1", "true"],
      ["c2", "true"],
    ]);
    expect(calls[0]?.url.pathname).toBe("/v1/shares/demo/list/dir");
    expect((await nfs.listdir()).length).toBe(4);
    expect(calls[3]?.url.pathname).toBe("/v1/shares/demo/list/");
    expect(calls[3]?.url.searchParams.get("recursive")).toBeNull();
  });

  it("refuses a cursor that repeats", async () => {
    const { nfs } = nfsWith(() => json({ entries: [entry("a")], cursor: "same" }));
    await expect(nfs.listdir("/")).rejects.toBeInstanceOf(ServerError);
  });

  it("list() follows share cursors", async () => {
    const fake = fakeFetch((c) =>
      c.url.searchParams.get("cursor") === "n"
        ? json({ shares: [{ name: "b" }] })
        : json({ shares: [{ name: "a" }], cursor: "n" }),
    );
    const shares = await NetworkFileSystem.list({ url: BASE, fetch: fake.fetch });
    expect(shares.map((s) => s.name)).toEqual(["a", "b"]);
  });
});

describe("reading", () => {
  it("streams a GET, with Range for offset and length", async () => {
    const { nfs, calls } = nfsWith(() => new Response("0123456789"));
    expect(await nfs.readFile("/f").text()).toBe("0123456789");
    await nfs.readFile("/f", { offset: 3 }).bytes();
    await nfs.readFile("/f", { offset: 3, length: 4 }).bytes();
    await nfs.readFile("/f", { length: 2 }).bytes();
    expect(calls.map((c) => c.headers.get("range"))).toEqual([
      null,
      "bytes=3-",
      "bytes=3-6",
      "bytes=0-1",
    ]);
    const chunks: Uint8Array[] = [];
    for await (const chunk of nfs.readFile("/f")) chunks.push(chunk);
    expect(new TextDecoder().decode(chunks[0])).toBe("0123456789");
    expect(() => nfs.readFile("/f", { offset: -1 })).toThrow(InvalidRequestError);
  });
});

describe("multipart uploads", () => {
  const MiB = 1024 * 1024;

  /** A server of multipart uploads: records parts, can fail one part number. */
  function uploadServer(failPart?: { n: number; times: number; status: number }) {
    const parts = new Map<number, Uint8Array>();
    let failures = 0;
    const fake = nfsWith((c) => {
      const p = c.url.pathname;
      if (c.method === "POST" && p.endsWith("/uploads")) {
        const body = JSON.parse(new TextDecoder().decode(c.body));
        return json({ uploadId: "ab".repeat(16), path: body.path, partSize: body.partSize }, 201);
      }
      const part = /\/parts\/(\d+)$/.exec(p);
      if (c.method === "PUT" && part) {
        const n = Number(part[1]);
        if (failPart?.n === n && failures < failPart.times) {
          failures++;
          return errorBody(failPart.status, failPart.status === 503 ? "EINTERNAL" : "EINVAL", "no");
        }
        parts.set(n, c.body ?? new Uint8Array(0));
        return json({ partNumber: n, size: c.body?.byteLength, etag: "x" });
      }
      if (c.method === "POST" && p.endsWith("/complete")) {
        const size = [...parts.values()].reduce((s, b) => s + b.byteLength, 0);
        return json({ path: "/big", type: "file", size, mtime: 1 }, 201);
      }
      if (c.method === "DELETE") return new Response(null, { status: 204 });
      return errorBody(404, "ENOENT", "no route");
    });
    const assembled = () => {
      const ordered = [...parts.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
      const out = new Uint8Array(ordered.reduce((s, b) => s + b.byteLength, 0));
      let at = 0;
      for (const b of ordered) {
        out.set(b, at);
        at += b.byteLength;
      }
      return out;
    };
    return { ...fake, parts, assembled };
  }

  const data = (size: number) => {
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) out[i] = (i * 31) % 251;
    return out;
  };
  const opts = { partSize: 1 * MiB, multipartThreshold: 2 * MiB };

  it("sends a known-size body over the threshold in parts, retrying a failed part", async () => {
    const server = uploadServer({ n: 2, times: 1, status: 503 });
    const body = data(3 * MiB + 5);
    const progress: { bytes: number; total?: number }[] = [];
    const n = await server.nfs.writeFile("/big", body, {
      ...opts,
      concurrency: 2,
      onProgress: (p) => progress.push(p),
    });
    expect(n).toBe(body.byteLength);
    expect(server.assembled()).toEqual(body);
    expect([...server.parts.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect(server.calls.filter((c) => c.url.pathname.endsWith("/parts/2"))).toHaveLength(2);
    const bytes = progress.map((p) => p.bytes);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    expect(progress.at(-1)).toEqual({ bytes: body.byteLength, total: body.byteLength });
    const create = server.calls[0] as Call;
    // The size is declared (the server checks parts and complete against it).
    expect(JSON.parse(new TextDecoder().decode(create.body))).toEqual({
      path: "/big",
      partSize: MiB,
      size: body.byteLength,
    });
  });

  it("sends a stream that turns out bigger than the threshold in parts", async () => {
    const server = uploadServer();
    const body = data(5 * MiB + 17);
    const stream = new Blob([body]).stream();
    expect(await server.nfs.writeFile("/big", stream, opts)).toBe(body.byteLength);
    expect(server.assembled()).toEqual(body);
    expect(server.parts.size).toBe(6);
    expect(server.calls.some((c) => c.streamed)).toBe(false);
  });

  it("aborts the upload when a part fails for good", async () => {
    const server = uploadServer({ n: 2, times: 99, status: 400 });
    await expect(server.nfs.writeFile("/big", data(3 * MiB), opts)).rejects.toBeInstanceOf(
      InvalidRequestError,
    );
    const last = server.calls.at(-1) as Call;
    expect(last.method).toBe("DELETE");
    expect(last.url.pathname).toBe(`/v1/shares/demo/uploads/${"ab".repeat(16)}`);
    expect(server.calls.some((c) => c.url.pathname.endsWith("/complete"))).toBe(false);
  });

  it("never retries the create or the complete", async () => {
    const fake = nfsWith(() => errorBody(503, "EINTERNAL", "busy"));
    await expect(fake.nfs.writeFile("/big", data(3 * MiB), opts)).rejects.toBeInstanceOf(
      ServerError,
    );
    expect(fake.calls.map((c) => c.method)).toEqual(["POST"]);
  });
});

describe("ephemeral shares", () => {
  it("creates with a ttl, and deletes the share when disposed", async () => {
    const fake = fakeFetch((c) => {
      if (c.method === "POST") {
        return json(
          { name: "ephemeral-x", env: "main", id: "i", kind: "nfs", ephemeral: true, createdAt: 1 },
          201,
        );
      }
      return new Response(null, { status: 204 });
    });
    const nfs = await NetworkFileSystem.ephemeral({ url: BASE, fetch: fake.fetch, ttlSeconds: 60 });
    expect(nfs.name).toBe("ephemeral-x");
    expect(JSON.parse(new TextDecoder().decode(fake.calls[0]?.body))).toEqual({
      ephemeral: true,
      ttlSeconds: 60,
    });
    await nfs[Symbol.asyncDispose]();
    await nfs[Symbol.asyncDispose](); // idempotent
    expect(fake.calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([
      "POST /v1/shares",
      "DELETE /v1/shares/ephemeral-x",
    ]);
  });
});

describe("local paths of a glob's matches (edgefs nfs get)", async () => {
  // Node's path module, which workerd provides at run time; this project's
  // types are the Workers' (no node:*), hence the untyped specifier.
  const nodePath: string = "node:path";
  const { posix, win32 } = (await import(nodePath)) as { posix: PathApi; win32: PathApi };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

  it("keeps the path below the glob's base, under the destination", () => {
    expect(globBase("/runs/**/*.json")).toBe("/runs");
    expect(globBase("/*.txt")).toBe("/");
    const of = localPathsFor("/home/me/out", "/runs/**/*.json", posix);
    expect(of("/runs/42/metrics.json")).toBe("/home/me/out/42/metrics.json");
    expect(of("/runs/a/b/c.json")).toBe("/home/me/out/a/b/c.json");
    expect(localPathsFor("out", "/**", posix)("/x/.hidden")).toBe(posix.resolve("out/x/.hidden"));
    expect(localPathsFor("C:\\Users\\me\\out", "/runs/**", win32)("/runs/42/a.json")).toBe(
      "C:\\Users\\me\\out\\42\\a.json",
    );
  });

  it("refuses, naming it, every path that is not a plain name below the base", () => {
    const hostile: [glob: string, remote: string][] = [
      ["/base/**", "/base/../../x"],
      ["/base/**", "/base/a/../../x"],
      ["/base/**", "/base/./x"],
      ["/**", "/../../x"],
      ["/base/**", "/base/..\\..\\x"],
      ["/base/**", "/base/a\\b"],
      ["/base/**", "/other/x"],
      ["/base/**", "/basement/x"], // a string prefix of the base is not under it
      ["/base/**", "/base"],
      ["/base/**", "/base/"],
      ["/base/**", "/base//x"],
      ["/base/**", "/base/x/"],
      ["/**", "C:/x"],
      ["/**", "/C:/x"],
      ["/**", "/x:stream"],
      ["/**", "x"],
      ["/**", ""],
      ["/**", "/a\u0000b"],
      ["/**", "/a\nb"],
      ["/**", "/\u001b[2Jx"],
      ["/**", "/a\u009bb"],
      ["/base/*.txt", "/base/.bashrc"], // under the base, but not a match of the glob
      ["/base/*.txt", "/base/sub/a.txt"],
    ];
    for (const platform of [posix, win32]) {
      const dest = platform === posix ? "/tmp/dest" : "C:\\tmp\\dest";
      for (const [glob, remote] of hostile) {
        const of = localPathsFor(dest, glob, platform);
        let refused: unknown;
        try {
          of(remote);
        } catch (e) {
          refused = e;
        }
        expect(
          refused,
          `${platform === posix ? "posix" : "win32"} ${glob} ${remote}`,
        ).toBeInstanceOf(RefusedPathError);
        const message = (refused as Error).message;
        expect(message).toContain("refusing the server's path");
        // The message names the entry, with its control characters escaped for the terminal.
        expect(message).not.toMatch(CONTROL);
        if (!CONTROL.test(remote)) expect(message).toContain(JSON.stringify(remote));
      }
    }
  });

  it("on Windows also refuses device names and names Windows would shorten", () => {
    const of = localPathsFor("C:\\dest", "/**", win32);
    for (const remote of ["/CON", "/nul.txt", "/a/com1.log", "/LPT9", "/x.", "/x "]) {
      expect(() => of(remote), remote).toThrow(RefusedPathError);
    }
    const posixOf = localPathsFor("/dest", "/**", posix);
    expect(posixOf("/CON")).toBe("/dest/CON");
    expect(posixOf("/x.")).toBe("/dest/x.");
  });
});
