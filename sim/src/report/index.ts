export { chart, escapeHtml, page, table, type ChartSpec, type Section, type Series } from "./html.js";
