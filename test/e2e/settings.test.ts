import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import descriptor from "../../src/config/settings.json" with { type: "json" };

/**
 * src/config/settings.json is the one list of edgefs's settings. The settings
 * table of docs/settings.md and wrangler.jsonc's vars are written by hand for
 * people to read; these checks fail when either drifts from the list.
 */

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");

describe("settings", () => {
  it("docs/settings.md's table shows each setting exactly as settings.json has it", () => {
    const doc = read("docs/settings.md");
    const section = doc.slice(doc.indexOf("| variable | default | meaning |"));
    const lines = section.split("\n").slice(2);
    const rows = lines.slice(
      0,
      lines.findIndex((l) => !l.startsWith("| ")),
    );
    const expected = descriptor.settings.map(
      (s) => `| \`${s.name}\` | ${s.shown} | ${s.meaning} |`,
    );
    expect(rows).toEqual(expected);
  });

  it("wrangler.jsonc's vars are the Worker vars of settings.json with their defaults", () => {
    // JSONC: drop line comments (no string in this file holds "//").
    const config = JSON.parse(read("wrangler.jsonc").replace(/^\s*\/\/.*$/gm, "")) as {
      vars: Record<string, string>;
    };
    const vars = Object.fromEntries(
      descriptor.settings.filter((s) => s.kind === "var").map((s) => [s.name, s.default]),
    );
    expect(config.vars).toEqual(vars);
  });
});
