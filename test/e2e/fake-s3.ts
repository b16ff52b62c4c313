// A hostile S3 endpoint for tests of what edgefs does with a bucket that
// misbehaves: on 127.0.0.1, a random port, unsigned, path-style. The first
// path segment (the bucket) picks the behaviour:
//   redirect    every request → 302 to /secret-target (which would answer "TOP SECRET")
//   huge-error  every request → 500 with an endless (HUGE_BYTES) XML body
//   huge-list   HEAD → 404; GET → 200 with an endless ListBucketResult
//   keys        a bucket holding KEYS (ListObjectsV2 with prefix and delimiter, HEAD, GET)
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * What an endless body sends at most: the server stops there, so a test is
 * bounded. Tests expect a cut-off reader to have taken well under a quarter of
 * it; socket and proxy buffers between here and the Worker hold tens of MiB
 * on a loaded machine (19 MiB seen), so the quarter must be well above that.
 */
export const HUGE_BYTES = 256 * 1024 * 1024;

export interface FakeS3 {
  endpoint: string;
  /** Every request, in order. */
  requests: { method: string; url: string; hop: string | undefined }[];
  /** Requests for the redirect's target: must stay 0. */
  secretHits: number;
  /** Bytes each endless answer had written when the client stopped reading (or it ended). */
  hugeSent: number[];
  stop(): Promise<void>;
}

export async function startFakeS3(keys: string[]): Promise<FakeS3> {
  const fake: Omit<FakeS3, "endpoint" | "stop"> = { requests: [], secretHits: 0, hugeSent: [] };
  const server = createServer((req, res) => {
    fake.requests.push({
      method: req.method ?? "",
      url: req.url ?? "",
      hop: req.headers["edgefs-hop"] as string | undefined,
    });
    const url = new URL(req.url ?? "/", "http://fake");
    const [bucket = "", ...rest] = url.pathname.slice(1).split("/");
    const key = decodeURIComponent(rest.join("/"));
    if (bucket === "secret-target") {
      fake.secretHits++;
      return res.end("TOP SECRET");
    }
    if (bucket === "redirect") {
      res.writeHead(302, { location: `http://${req.headers.host}/secret-target` });
      return res.end("moved");
    }
    if (bucket === "huge-error") return endless(res, 500, "<Error><Code>InternalError</Code>");
    if (bucket === "huge-list") {
      if (req.method === "HEAD") return notFound(res);
      return endless(res, 200, "<ListBucketResult><Name>huge-list</Name>");
    }
    if (bucket === "keys") return keysBucket(req, res, url, key, keys);
    notFound(res);
  });

  /** Writes `head` then padding up to HUGE_BYTES, with back-pressure; counts what went out. */
  function endless(res: ServerResponse, status: number, head: string) {
    res.writeHead(status, { "content-type": "application/xml" }); // chunked: no length
    const chunk = Buffer.alloc(64 * 1024, " ");
    const at = fake.hugeSent.push(0) - 1;
    res.write(head);
    let sent = Buffer.byteLength(head);
    const pump = () => {
      while (sent < HUGE_BYTES && !res.destroyed) {
        sent += chunk.length;
        fake.hugeSent[at] = sent;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
  }

  const address = await new Promise<AddressInfo>((ok) =>
    server.listen(0, "127.0.0.1", () => ok(server.address() as AddressInfo)),
  );
  return Object.assign(fake, {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  });
}

function notFound(res: ServerResponse) {
  res.writeHead(404, { "content-type": "application/xml" });
  res.end("<Error><Code>NoSuchKey</Code><Message>none</Message></Error>");
}

// Keys travel URL-encoded (as edgefs asks), so control characters survive XML.
const xmlText = (s: string) => encodeURIComponent(s);

/** A plain bucket of `keys`. */
function keysBucket(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  key: string,
  keys: string[],
) {
  if (!url.searchParams.has("list-type")) {
    if (!keys.includes(key)) return notFound(res);
    res.writeHead(200, { "content-length": String(Buffer.byteLength(key)), etag: '"e"' });
    return res.end(req.method === "HEAD" ? undefined : key);
  }
  const prefix = url.searchParams.get("prefix") ?? "";
  const delimiter = url.searchParams.get("delimiter");
  const contents: string[] = [];
  const prefixes = new Set<string>();
  for (const k of keys.filter((k) => k.startsWith(prefix)).sort()) {
    const cut = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
    if (cut >= 0) prefixes.add(k.slice(0, cut + 1));
    else contents.push(k);
  }
  const body = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult><Name>keys</Name><Prefix>${xmlText(prefix)}</Prefix><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>${contents
    .map(
      (k) =>
        `<Contents><Key>${xmlText(k)}</Key><Size>${Buffer.byteLength(k)}</Size><ETag>"e"</ETag><LastModified>2024-01-02T03:04:05.000Z</LastModified></Contents>`,
    )
    .join(
      "",
    )}${[...prefixes].map((p) => `<CommonPrefixes><Prefix>${xmlText(p)}</Prefix></CommonPrefixes>`).join("")}</ListBucketResult>`;
  res.writeHead(200, { "content-type": "application/xml" });
  res.end(body);
}
