// Conditional changes raced by two clients (docs/api.md "Batch commits" and
// "Conditional writes": conditions are checked inside the commit, so of two
// writers holding the same condition exactly one wins). Each round sends both
// requests at once; whichever arrives first, the rule is the same: one
// success, one refusal with the documented code, the winner's bytes stored,
// the loser's nowhere (not even as an R2 blob once GC has run).
import { beforeAll, describe, expect, it } from "vitest";
import { Edgefs, type ErrorBody, INLINE_MAX, prngBytes, sha256, uniqueName } from "./helpers.js";

const ROUNDS = 12;
/** Two clients of one server, each with its own connection pool's worth of requests. */
const clients = [Edgefs.shared(), Edgefs.shared()] as const;
const api = clients[0];
let share: string;
let shareId: string;
/** Files over the inline limit that rounds left in the share: what R2 must hold at the end. */
let largeKept = 0;

beforeAll(async () => {
  share = uniqueName("races");
  shareId = (await api.createShare(share)).id;
});

/** Every other round writes R2-sized bytes, so a refused write's blob must also be reclaimed. */
const contentFor = (round: number, k: number) =>
  prngBytes(round * 10 + k + 1, round % 2 === 0 ? INLINE_MAX + 1 + round * 101 + k : 100 + k);

const base64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

async function version(): Promise<number> {
  const { status, body } = await api.json<{ version: number }>(`/v1/shares/${share}`);
  expect(status).toBe(200);
  return body.version;
}

async function commit(client: Edgefs, body: unknown) {
  const { status, body: answer } = await client.json<ErrorBody & { version: number }>(
    `/v1/shares/${share}/commit`,
    { method: "POST", body: JSON.stringify(body) },
  );
  return { status, answer };
}

/** Both answers: exactly one is `ok`, the other is `refused` with `code`; the winner's index. */
function oneWinner(
  answers: { status: number; answer: Partial<ErrorBody> }[],
  ok: number,
  refused: number,
  code: string,
): number {
  const statuses = answers.map((a) => a.status).sort();
  expect(statuses, JSON.stringify(answers)).toEqual([ok, refused].sort());
  const loser = answers.findIndex((a) => a.status === refused);
  expect(answers[loser]?.answer.error?.code).toBe(code);
  return 1 - loser;
}

async function expectBytes(path: string, data: Uint8Array) {
  const got = await api.get(share, path);
  expect(got.status, path).toBe(200);
  expect(sha256(got.bytes), path).toBe(sha256(data));
}

describe("two clients race conditional changes", () => {
  it(`batch commits with the same ifVersion: one 200, one 412 EPRECONDITION (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const v = await version();
      const data = [contentFor(round, 0), contentFor(round, 1)];
      const answers = await Promise.all(
        clients.map((client, k) =>
          commit(client, {
            ifVersion: v,
            ops: [
              {
                op: "put",
                path: `/ifv/${round}/by-${k}.bin`,
                content: base64(data[k] as Uint8Array),
              },
              { op: "put", path: `/ifv/${round}/same.bin`, content: base64(data[k] as Uint8Array) },
            ],
          }),
        ),
      );
      const w = oneWinner(answers, 200, 412, "EPRECONDITION");
      // The winner's batch made exactly the one version after v; the loser's wrote nothing.
      expect(answers[w]?.answer.version).toBe(v + 1);
      expect(await version()).toBe(v + 1);
      await expectBytes(`/ifv/${round}/by-${w}.bin`, data[w] as Uint8Array);
      await expectBytes(`/ifv/${round}/same.bin`, data[w] as Uint8Array);
      expect((await api.stat(share, `/ifv/${round}/by-${1 - w}.bin`)).status).toBe(404);
      if (round % 2 === 0) largeKept += 2;
    }
  });

  it(`force:false batch puts of one new path: one 200, one 409 EEXIST (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const path = `/nof/${round}.bin`;
      const data = [contentFor(round + 100, 0), contentFor(round + 100, 1)];
      const answers = await Promise.all(
        clients.map((client, k) =>
          commit(client, {
            force: false,
            ops: [{ op: "put", path, content: base64(data[k] as Uint8Array) }],
          }),
        ),
      );
      const w = oneWinner(answers, 200, 409, "EEXIST");
      expect(answers[1 - w]?.answer.error?.message).toContain(path);
      await expectBytes(path, data[w] as Uint8Array);
      if (round % 2 === 0) largeKept += 1;
    }
  });

  it(`PUTs with If-None-Match: * of one new path: one 201, one 412 EPRECONDITION (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const path = `/inm/${round}.bin`;
      const data = [contentFor(round + 200, 0), contentFor(round + 200, 1)];
      const answers = await Promise.all(
        clients.map((client, k) =>
          client.json<ErrorBody>(client.route(share, "files", path), {
            method: "PUT",
            headers: { "if-none-match": "*" },
            body: data[k] as Uint8Array<ArrayBuffer>,
          }),
        ),
      );
      const w = oneWinner(
        answers.map(({ status, body }) => ({ status, answer: body })),
        201,
        412,
        "EPRECONDITION",
      );
      await expectBytes(path, data[w] as Uint8Array);
      if (round % 2 === 0) largeKept += 1;
    }
  });

  it("the losers' bytes are not kept: R2 holds exactly the winners' large files", async () => {
    const large = (await api.listAll(share)).filter(
      (e) => e.type === "file" && e.size > INLINE_MAX,
    ).length;
    expect(large).toBe(largeKept);
    expect(await api.waitForR2Count(shareId, largeKept)).toBe(largeKept);
  });
});
