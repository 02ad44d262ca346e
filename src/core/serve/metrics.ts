/**
 * Prometheus text exposition (format 0.0.4) for the server: request and error counters, a latency
 * histogram and a batch-size histogram, each labelled by model and version. Series are kept in maps
 * keyed by their label string so the hot path is one map lookup and a few additions.
 */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

class Histogram {
  counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: number[]) {
    this.counts = new Array(buckets.length).fill(0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]) {
        this.counts[i]++;
        return;
      }
    }
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labels(model: string, version: string | number): string {
  return `model="${escapeLabel(model)}",version="${escapeLabel(String(version))}"`;
}

export class ServerMetrics {
  private requests = new Map<string, number>();
  private errors = new Map<string, number>();
  private latency = new Map<string, Histogram>();
  private batches = new Map<string, Histogram>();
  inflight = 0;

  request(model: string, version: string | number, status: number, seconds: number): void {
    const l = labels(model, version);
    const key = `${l},code="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    if (status >= 400) this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
    let h = this.latency.get(l);
    if (!h) this.latency.set(l, (h = new Histogram(LATENCY_BUCKETS)));
    h.observe(seconds);
  }

  batch(model: string, version: string | number, size: number): void {
    const l = labels(model, version);
    let h = this.batches.get(l);
    if (!h) this.batches.set(l, (h = new Histogram(BATCH_BUCKETS)));
    h.observe(size);
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP mlo_requests_total Inference requests by model, version and HTTP status.');
    out.push('# TYPE mlo_requests_total counter');
    for (const [k, v] of this.requests) out.push(`mlo_requests_total{${k}} ${v}`);
    out.push('# HELP mlo_request_errors_total Inference requests answered with a 4xx or 5xx status.');
    out.push('# TYPE mlo_request_errors_total counter');
    for (const [k, v] of this.errors) out.push(`mlo_request_errors_total{${k}} ${v}`);
    histogram(out, 'mlo_request_duration_seconds', 'Time from request start to response, in seconds.', this.latency);
    histogram(out, 'mlo_batch_size', 'Rows per onnxruntime run (micro-batches of concurrent requests).', this.batches);
    out.push('# HELP mlo_inflight_requests Requests being processed now.');
    out.push('# TYPE mlo_inflight_requests gauge');
    out.push(`mlo_inflight_requests ${this.inflight}`);
    return `${out.join('\n')}\n`;
  }
}

function histogram(out: string[], name: string, help: string, series: Map<string, Histogram>): void {
  out.push(`# HELP ${name} ${help}`);
  out.push(`# TYPE ${name} histogram`);
  for (const [l, h] of series) {
    let cum = 0;
    h.buckets.forEach((b, i) => {
      cum += h.counts[i];
      out.push(`${name}_bucket{${l},le="${b}"} ${cum}`);
    });
    out.push(`${name}_bucket{${l},le="+Inf"} ${h.count}`);
    out.push(`${name}_sum{${l}} ${h.sum}`);
    out.push(`${name}_count{${l}} ${h.count}`);
  }
}
