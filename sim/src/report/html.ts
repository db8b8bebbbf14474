// Self-contained HTML reports: inline SVG charts and tables, no scripts, no network, so a
// report opens in any browser straight from disk.

export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Draw points only (a scatter) instead of lines. */
  readonly markers?: boolean;
  readonly yMin?: number;
  readonly yMax?: number;
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const fmt = (v: number): string => (Math.abs(v) >= 1000 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toPrecision(3));

const extent = (values: number[], lo?: number, hi?: number): [number, number] => {
  let min = lo ?? Math.min(...values);
  let max = hi ?? Math.max(...values);
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) { min -= 1; max += 1; }
  return [min, max];
};

/** An SVG chart of one or more series, with axes, ticks and a legend. */
export const chart = (spec: ChartSpec): string => {
  const W = 760, H = 380, L = 64, R = 180, T = 36, B = 48;
  const all = spec.series.flatMap((s) => s.points);
  const [x0, x1] = extent(all.map((p) => p[0]));
  const [y0, y1] = extent(all.map((p) => p[1]), spec.yMin, spec.yMax);
  const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y: number) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  const ticks = (a: number, b: number) => Array.from({ length: 6 }, (_, i) => a + ((b - a) * i) / 5);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${L}" y="20" font-size="14" font-weight="bold">${escapeHtml(spec.title)}</text>`);
  parts.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`);
  for (const t of ticks(x0, x1)) parts.push(`<line x1="${sx(t)}" y1="${H - B}" x2="${sx(t)}" y2="${H - B + 4}" stroke="#333"/><text x="${sx(t)}" y="${H - B + 16}" text-anchor="middle">${fmt(t)}</text>`);
  for (const t of ticks(y0, y1)) parts.push(`<line x1="${L}" y1="${sy(t)}" x2="${W - R}" y2="${sy(t)}" stroke="#eee"/><text x="${L - 6}" y="${sy(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">${escapeHtml(spec.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    if (spec.markers) {
      for (const [x, y] of s.points) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="4" fill="${color}"><title>${escapeHtml(s.name)}: (${fmt(x)}, ${fmt(y)})</title></circle>`);
    } else if (s.points.length > 0) {
      const d = s.points.map(([x, y], j) => `${j === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6"><title>${escapeHtml(s.name)}</title></path>`);
    }
    parts.push(`<rect x="${W - R + 12}" y="${T + i * 18}" width="12" height="12" fill="${color}"/><text x="${W - R + 30}" y="${T + i * 18 + 10}">${escapeHtml(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("");
};

/** An HTML table; cells are escaped, numbers formatted by the caller. */
export const table = (headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string =>
  `<table><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(c))}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;

export interface Section {
  readonly heading: string;
  /** HTML produced by `chart`, `table` or escaped text. */
  readonly body: string;
}

/** A whole self-contained page. */
export const page = (title: string, intro: string, sections: readonly Section[]): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(intro)}</p>
${sections.map((s) => `<h2>${escapeHtml(s.heading)}</h2>\n${s.body}`).join("\n")}
</body></html>
`;
