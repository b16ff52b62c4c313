import { describe, expect, it } from "vitest";
import { crc32, crc32c, crc64nvme } from "../../src/core/crc";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const check = new TextEncoder().encode("123456789");

/** Bit-at-a-time reference of a reflected CRC, as the definitions state it. */
function reference(bits: 32 | 64, poly: bigint, data: Uint8Array): string {
  const mask = (1n << BigInt(bits)) - 1n;
  let crc = mask;
  for (const b of data) {
    crc ^= BigInt(b);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return ((crc ^ mask) & mask).toString(16).padStart(bits / 4, "0");
}

const ALGORITHMS = [
  ["crc32", crc32, 32, 0xedb88320n, "cbf43926"],
  ["crc32c", crc32c, 32, 0x82f63b78n, "e3069283"],
  ["crc64nvme", crc64nvme, 64, 0x9a6c9329ac4bc9b5n, "ae8b14860a799888"],
] as const;

describe("CRC checksums", () => {
  for (const [name, make, bits, poly, published] of ALGORITHMS) {
    it(`${name} of "123456789" is the published check value`, () => {
      const c = make();
      c.update(check);
      expect(hex(c.digest())).toBe(published);
    });
    it(`${name} of nothing`, () => {
      expect(hex(make().digest())).toBe(reference(bits, poly, new Uint8Array(0)));
    });
    it(`${name} matches the bitwise definition on any bytes, however they are split`, () => {
      const data = new Uint8Array(1031);
      let x = 12345;
      for (let i = 0; i < data.length; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        data[i] = x >>> 24;
      }
      const whole = make();
      whole.update(data);
      expect(hex(whole.digest())).toBe(reference(bits, poly, data));
      for (const step of [1, 3, 7, 8, 9, 64, 1000]) {
        const pieces = make();
        for (let i = 0; i < data.length; i += step) pieces.update(data.subarray(i, i + step));
        expect(hex(pieces.digest()), `step ${step}`).toBe(reference(bits, poly, data));
      }
    });
  }
});
