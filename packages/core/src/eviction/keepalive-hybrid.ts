// The hybrid histogram policy of Shahrad et al., "Serverless in the Wild" (ATC'20, §4.2),
// per application (here: per lease's model set), from the idle times between uses:
//
// 1. Out of bounds: when at least `oobThreshold` of the idle times exceed the histogram
//    range, the histogram cannot describe the app; the paper forecasts the next idle time
//    with ARIMA and keeps the app warm within `forecastMargin` (15%) of the forecast:
//    pre-warm at forecast x 0.85, keep until forecast x 1.15.
//    Deviation: instead of fitting ARIMA with automatic order selection we forecast with
//    ARIMA(0,1,1), i.e. simple exponential smoothing with a fixed weight (`smoothing`).
// 2. Uncertain: when the histogram is not representative (fewer than `minSamples` idle
//    times, or a coefficient of variation of the bin counts below `cvThreshold`, 2 in the
//    paper's implementations), fall back to a standard keep-alive of the whole range
//    (4 hours) with no pre-warming.
// 3. Histogram: otherwise pre-warm at the head (5th percentile) and keep alive to the tail
//    (99th percentile), with a `histogramMargin` (10%): the pre-warm window is the lower edge
//    of the head bin less 10%, the keep-alive window the upper edge of the tail bin plus 10%.
// `minSamples` is our reading of the paper's "too few idle times" condition, which it gives
// no number for; with 1-minute bins over 4 hours a single sample has a CV of about 15, so
// the CV alone would trust one observation.
import type { DurationMs } from "../units.js";
import { binCv, histogramOf, histogramRange, percentileBin, type IdleHistogram } from "./idle-histogram.js";
import { HOUR, MINUTE, type KeepAliveInput, type KeepAlivePolicy, type KeepAliveWindows } from "./keepalive.js";

export const HYBRID_HISTOGRAM = "hybrid";

export interface HybridOptions {
  readonly range: DurationMs;
  readonly binWidth: DurationMs;
  readonly headPercentile: number;
  readonly tailPercentile: number;
  readonly histogramMargin: number;
  readonly cvThreshold: number;
  readonly minSamples: number;
  readonly oobThreshold: number;
  readonly forecastMargin: number;
  readonly smoothing: number;
}

export const defaultHybridOptions: HybridOptions = {
  range: 4 * HOUR,
  binWidth: MINUTE,
  headPercentile: 0.05,
  tailPercentile: 0.99,
  histogramMargin: 0.1,
  cvThreshold: 2,
  minSamples: 10,
  oobThreshold: 0.5,
  forecastMargin: 0.15,
  smoothing: 0.5,
};

/** ARIMA(0,1,1) forecast of the next value: exponential smoothing of the series. */
export const smoothedForecast = (series: readonly DurationMs[], weight: number): DurationMs => {
  let level = series[0] ?? 0;
  for (let i = 1; i < series.length; i++) level = weight * series[i] + (1 - weight) * level;
  return level;
};

export const hybridWindows = (input: KeepAliveInput, options: HybridOptions = defaultHybridOptions): KeepAliveWindows => {
  const h: IdleHistogram = input.histogram ?? histogramOf(input.idleGaps, options.range, options.binWidth);
  const total = h.inBounds + h.outOfBounds;
  if (total > 0 && h.outOfBounds / total >= options.oobThreshold && input.idleGaps.length > 0) {
    const forecast = smoothedForecast(input.idleGaps, options.smoothing);
    return { prewarm: forecast * (1 - options.forecastMargin), keepAlive: forecast * (1 + options.forecastMargin), mode: "OutOfBounds" };
  }
  if (h.inBounds < options.minSamples || binCv(h) < options.cvThreshold) {
    return { prewarm: 0, keepAlive: histogramRange(h), mode: "Uncertain" };
  }
  const head = percentileBin(h, options.headPercentile);
  const tail = percentileBin(h, options.tailPercentile);
  return {
    prewarm: head * h.binWidth * (1 - options.histogramMargin),
    keepAlive: (tail + 1) * h.binWidth * (1 + options.histogramMargin),
    mode: "Histogram",
  };
};

export const hybridHistogram = (options: HybridOptions = defaultHybridOptions): KeepAlivePolicy => ({
  name: HYBRID_HISTOGRAM,
  windows: (input) => hybridWindows(input, options),
});
