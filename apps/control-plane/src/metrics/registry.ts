// A small Prometheus text-format (0.0.4) registry: counters, gauges and histograms with labels.
// berthd needs a dozen series; a client library would add a dependency for little.

type Labels = Readonly<Record<string, string | number>>;

const escape = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

export const formatLabels = (labels: Labels): string => {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? "" : `{${keys.map((k) => `${k}="${escape(String(labels[k]))}"`).join(",")}}`;
};

const formatValue = (n: number): string => (Number.isNaN(n) ? "NaN" : n === Infinity ? "+Inf" : n === -Infinity ? "-Inf" : String(n));

export interface Metric {
  render(): string;
}

abstract class Family implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
  ) {}
  protected header(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`;
  }
  abstract render(): string;
}

export class Counter extends Family {
  private readonly values = new Map<string, number>();
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = formatLabels(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(formatLabels(labels)) ?? 0;
  }
  render(): string {
    const body = [...this.values].map(([k, v]) => `${this.name}${k} ${formatValue(v)}\n`).join("");
    return this.header() + (body === "" ? `${this.name} 0\n` : body);
  }
}

/** A gauge whose samples are computed when scraped (from the current state). */
export class ComputedGauge extends Family {
  constructor(
    name: string,
    help: string,
    private readonly collect: () => Iterable<readonly [Labels, number]>,
  ) {
    super(name, help, "gauge");
  }
  render(): string {
    let body = "";
    for (const [labels, value] of this.collect()) body += `${this.name}${formatLabels(labels)} ${formatValue(value)}\n`;
    return this.header() + body;
  }
}

export class Histogram extends Family {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets: readonly number[],
  ) {
    super(name, help, "histogram");
  }
  observe(value: number, labels: Labels = {}): void {
    const key = formatLabels(labels);
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]!++;
    });
    s.sum += value;
    s.count++;
  }
  count(labels: Labels = {}): number {
    return this.series.get(formatLabels(labels))?.count ?? 0;
  }
  render(): string {
    let body = "";
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => (body += `${this.name}_bucket${formatLabels({ ...s.labels, le: formatValue(b) })} ${s.counts[i]}\n`));
      body += `${this.name}_bucket${formatLabels({ ...s.labels, le: "+Inf" })} ${s.count}\n`;
      body += `${this.name}_sum${formatLabels(s.labels)} ${formatValue(s.sum)}\n`;
      body += `${this.name}_count${formatLabels(s.labels)} ${s.count}\n`;
    }
    return this.header() + body;
  }
}

export const renderAll = (metrics: readonly Metric[]): string => metrics.map((m) => m.render()).join("");
