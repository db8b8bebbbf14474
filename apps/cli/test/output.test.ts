import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { age, formatTable, humanBytes, humanSpan, porcelainLine, until } from "../src/output.js";

const cell = fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,12}$/);

describe("formatTable", () => {
  it("starts every column at the same offset on every line, three spaces apart, no trailing spaces", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(fc.array(cell, { minLength: n, maxLength: n }), fc.array(fc.array(cell, { minLength: n, maxLength: n }), { maxLength: 8 }))), ([headers, rows]) => {
      const lines = formatTable(headers, rows).split("\n").slice(0, -1);
      expect(lines).toHaveLength(rows.length + 1);
      const cells = [headers, ...rows];
      let offset = 0;
      headers.forEach((_, column) => {
        lines.forEach((line, i) => expect(line.slice(offset, offset + cells[i][column].length)).toBe(cells[i][column]));
        offset += Math.max(...cells.map((r) => r[column].length)) + 3;
      });
      for (const line of lines) expect(line).toBe(line.trimEnd());
    }));
  });
});

describe("porcelainLine", () => {
  it("keeps one field per value: tabs and newlines inside become spaces, empty becomes -", () => {
    fc.assert(fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 8 }), (fields) => {
      const line = porcelainLine(fields);
      expect(line.endsWith("\n")).toBe(true);
      const parts = line.slice(0, -1).split("\t");
      expect(parts).toHaveLength(fields.length);
      parts.forEach((p, i) => expect(p).toBe(fields[i] === "" ? "-" : fields[i].replace(/[\t\n\r]/g, " ")));
    }));
  });
});

describe("human values", () => {
  it("writes spans the way kubectl does", () => {
    expect([0, 45_000, 119_000, 5 * 60_000, 3 * 3_600_000 + 20 * 60_000, 9 * 3_600_000, 20 * 3_600_000, 3 * 86_400_000].map(humanSpan))
      .toEqual(["0s", "45s", "119s", "5m", "3h20m", "9h", "20h", "3d"]);
    expect(age(undefined, 0)).toBe("-");
    expect(until(1000, 2000)).toBe("expired");
    expect(until(61 * 60_000, 0)).toBe("1h1m");
  });

  it("writes bytes in binary units", () => {
    expect([512, 1024, 1536 * 2 ** 20, 4 * 2 ** 30, 2 ** 40].map(humanBytes)).toEqual(["512", "1Ki", "1.5Gi", "4Gi", "1Ti"]);
  });
});
