// npm run bench:router — the router's throughput and latency against direct calls and against
// nginx as a reverse proxy, in the same run: the same `simple` JSON infer request, 64 keep-alive
// connections from wrk on loopback, a fixed duration per target, the same model-server
// replicas behind both proxies. The targets take turns over several rounds (the order rotates)
// so a noisy neighbour on the machine hurts them alike; each figure is the median over rounds.
// Prints a table, then the headline as the last line.
//   flags: --duration S per round (default 5)  --rounds N (default 3)  --warmup S (default 2)
//          --connections N (default 64)
//          --replicas N (default 1; with 2, "direct" still hits the first replica only)
//          --nginx-workers N (default 1: the router is one Node process)
//          --fixed-upstream (instead of model servers, a raw TCP server answering every request
//            with the same 300-byte JSON body: the proxies' own cost without the replica's)
//          --router-workers N (default 1; N > 1 runs the router with --workers N: compare with --nginx-workers N)
// A second phase measures the proxies' own latency with one connection (no queueing at the
// replica), where the added p50/p99 is the proxy's cost rather than the machine's scheduling.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseListeningLine } from "../src/listening-line.js";
import { closedPort, demoRepository, REPO_ROOT, simpleJson, startReplica, type Replica } from "../test/upstreams.js";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
  return n;
}

const DURATION_S = flag("duration", 5);
const ROUNDS = flag("rounds", 3);
const WARMUP_S = flag("warmup", 2);
const CONNECTIONS = flag("connections", 64);
const REPLICAS = flag("replicas", 1);
const FIXED_UPSTREAM = process.argv.includes("--fixed-upstream");

/** What the bench needs of an upstream: its address, its process, and a way to stop it. */
type Upstream = Pick<Replica, "http" | "pid" | "stop">;

// A replica that costs next to nothing: reads each request (Content-Length bodies) and writes a
// fixed answer with the headers a node:http server would send, on keep-alive connections.
const FIXED_UPSTREAM_JS = `
const net = require("node:net");
const body = JSON.stringify({ model_name: "simple", model_version: "1", outputs: ["OUTPUT0", "OUTPUT1"].map((name) => ({ name, datatype: "INT32", shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) })) });
const answer = Buffer.from("HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: " + body.length + "\\r\\nConnection: keep-alive\\r\\nKeep-Alive: timeout=5\\r\\n\\r\\n" + body);
const server = net.createServer({ noDelay: true }, (socket) => {
  let buf = "";
  socket.on("error", () => {});
  socket.on("data", (d) => {
    buf += d.toString("latin1");
    for (;;) {
      const end = buf.indexOf("\\r\\n\\r\\n");
      if (end === -1) return;
      const m = /^content-length: *(\\d+)/im.exec(buf.slice(0, end));
      const total = end + 4 + (m ? Number(m[1]) : 0);
      if (buf.length < total) return;
      buf = buf.slice(total);
      socket.write(answer);
    }
  });
});
server.listen(0, "127.0.0.1", () => console.log("FIXED_UPSTREAM " + server.address().port));
process.on("SIGTERM", () => process.exit(0));
`;

function startFixedUpstream(): Promise<Upstream> {
  return startProcess(process.execPath, ["-e", FIXED_UPSTREAM_JS], (line) => (line.startsWith("FIXED_UPSTREAM ") ? Number(line.slice(15)) : undefined), "fixed upstream").then(
    ({ child, port }) => ({ http: `127.0.0.1:${port}`, pid: child.pid!, stop: () => stop(child) }),
  );
}
const NGINX_WORKERS = flag("nginx-workers", 1);
/** The router's processes (`--workers`); compare with as many nginx workers. */
const ROUTER_WORKERS = flag("router-workers", 1);

function need(binary: string, hint: string): string {
  const found = spawnSync("sh", ["-c", `command -v ${binary} || ls /usr/sbin/${binary} 2>/dev/null`], { encoding: "utf8" }).stdout.trim().split("\n")[0];
  if (!found) throw new Error(`${binary} is not installed: ${hint}`);
  return found;
}

interface WrkResult {
  requests: number;
  durationUs: number;
  errors: number;
  non2xx: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  meanUs: number;
}

const WRK_SCRIPT = (body: string) => `
wrk.method = "POST"
wrk.body = ${JSON.stringify(body)}
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nWRK_JSON {"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"meanUs":%f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
`;

function runWrk(wrk: string, script: string, url: string, seconds: number, connections = CONNECTIONS): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(wrk, ["-t", String(Math.min(2, connections)), "-c", String(connections), "-d", `${seconds}s`, "--timeout", "5s", "-s", script, url], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("WRK_JSON "));
      if (code !== 0 || line === undefined) reject(new Error(`wrk exited with ${code}: ${out}`));
      else resolve(JSON.parse(line.slice("WRK_JSON ".length)) as WrkResult);
    });
  });
}

function startProcess(command: string, args: string[], ready: (line: string) => number | undefined, what: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${stderr}`)), 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const port = ready(line);
      if (port === undefined) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      resolve({ child, port });
    });
  });
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const stop = (child: ChildProcess | undefined) =>
  new Promise<void>((resolve) => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
  });

const ms = (us: number) => (us / 1000).toFixed(2);

// CPU seconds a process group has used (user + system, from /proc), so each proxy's cost per
// request can be read apart from how busy the rest of the machine was during the run. User and
// system time apart too: the proxies make the same system calls, so their difference is user time.
const TICKS_PER_S = 100;
function cpuTimes(pids: readonly number[]): { user: number; system: number } {
  let user = 0;
  let system = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      user += Number(fields[11]);
      system += Number(fields[12]);
    } catch {
      // gone
    }
  }
  return { user: user / TICKS_PER_S, system: system / TICKS_PER_S };
}
const cpuSeconds = (pids: readonly number[]): number => {
  const t = cpuTimes(pids);
  return t.user + t.system;
};

/** A process and its children (nginx's master and workers). */
function withChildren(pid: number): number[] {
  const out = [pid];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}
const perSecond = (r: WrkResult) => r.requests / (r.durationUs / 1e6);

async function main(): Promise<void> {
  const wrk = need("wrk", "apt-get install -y wrk");
  const nginx = need("nginx", "apt-get install -y nginx-light (or nginx)");
  const work = await mkdtemp(join(tmpdir(), "berth-router-bench-"));
  const repo = await demoRepository();
  let replicas: Upstream[] = [];
  let router: ChildProcess | undefined;
  let nginxChild: ChildProcess | undefined;
  try {
    replicas = await Promise.all(Array.from({ length: REPLICAS }, () => (FIXED_UPSTREAM ? startFixedUpstream() : startReplica(repo.dir))));
    const routesFile = join(work, "routes.json");
    await writeFile(routesFile, JSON.stringify({ leases: [{ name: "bench", models: ["simple"], replicas: replicas.map((r, i) => ({ id: `r${i + 1}`, http: r.http })) }] }));
    const started = await startProcess(
      process.execPath,
      ["--import", "tsx", join(REPO_ROOT, "apps/router/src/main.ts"), "--routes", routesFile, "--http-port", "0", "--grpc-port", "off", "--host", "127.0.0.1", "--workers", String(ROUTER_WORKERS)],
      (line) => parseListeningLine(line)?.http,
      "router",
    );
    router = started.child;
    const routerPort = started.port;

    const nginxPort = await closedPort();
    const prefix = join(work, "nginx");
    await writeFile(join(work, "nginx.conf"), nginxConf(prefix, nginxPort, replicas.map((r) => r.http)));
    await import("node:fs/promises").then((fs) => fs.mkdir(prefix, { recursive: true }));
    nginxChild = spawn(nginx, ["-p", prefix, "-c", join(work, "nginx.conf"), "-e", join(prefix, "error.log"), "-g", "daemon off;"], { stdio: "inherit" });
    await waitForHttp(`http://127.0.0.1:${nginxPort}/v2/models/simple/ready`, 10_000);

    const script = join(work, "post.lua");
    await writeFile(script, WRK_SCRIPT(simpleJson(1).body));
    const proxyPids = { direct: [] as number[], router: withChildren(router.pid!), nginx: withChildren(nginxChild.pid!) };
    const replicaPids = replicas.map((r) => r.pid);
    const targets = [
      { name: "direct", url: `http://${replicas[0].http}/v2/models/simple/infer`, pids: proxyPids.direct },
      { name: "router", url: `http://127.0.0.1:${routerPort}/v2/models/simple/infer`, pids: proxyPids.router },
      { name: "nginx", url: `http://127.0.0.1:${nginxPort}/v2/models/simple/infer`, pids: proxyPids.nginx },
    ];
    /** Proxy CPU microseconds per request, by target, over the 64-connection rounds. */
    const cpu = new Map(targets.map((t) => [t.name, { proxyS: 0, proxyUserS: 0, replicaS: 0, requests: 0 }]));
    const cpus = (await import("node:os")).cpus().length;
    console.log(
      `router bench: ${REPLICAS} ${FIXED_UPSTREAM ? "fixed-answer upstream(s)" : "model-server replica(s) of 'simple'"}, ${CONNECTIONS} connections, ${ROUNDS} round(s) of ${DURATION_S} s per target after ${WARMUP_S} s warm-up, wrk -t2, router ${ROUTER_WORKERS} process(es), nginx ${NGINX_WORKERS} worker(s), ${cpus} CPU(s), load average ${(await import("node:os")).loadavg()[0].toFixed(1)}`,
    );
    for (const t of targets) await runWrk(wrk, script, t.url, WARMUP_S);
    const measure = async (connections: number) => {
      const rounds = new Map<string, WrkResult[]>(targets.map((t) => [t.name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (let k = 0; k < targets.length; k++) {
          const t = targets[(round + k) % targets.length];
          const before = { proxy: cpuTimes(t.pids), replica: cpuSeconds(replicaPids) };
          const r = await runWrk(wrk, script, t.url, DURATION_S, connections);
          if (connections === CONNECTIONS) {
            const c = cpu.get(t.name)!;
            const proxy = cpuTimes(t.pids);
            c.proxyS += proxy.user + proxy.system - before.proxy.user - before.proxy.system;
            c.proxyUserS += proxy.user - before.proxy.user;
            c.replicaS += cpuSeconds(replicaPids) - before.replica;
            c.requests += r.requests;
          }
          if (r.errors > 0 || r.non2xx > 0) throw new Error(`${t.name}: ${r.errors} socket errors, ${r.non2xx} non-2xx answers`);
          rounds.get(t.name)!.push(r);
          console.log(`  ${connections} conn round ${round + 1} ${t.name.padEnd(7)} ${perSecond(r).toFixed(0).padStart(7)} req/s   p50 ${ms(r.p50Us)} ms   p99 ${ms(r.p99Us)} ms`);
        }
      }
      return rounds;
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const rounds = await measure(CONNECTIONS);
    const single = await measure(1);
    const lat = (n: string, pick: (r: WrkResult) => number) => median(single.get(n)!.map(pick));
    console.log(`one connection (medians): ${targets.map((t) => `${t.name} p50 ${ms(lat(t.name, (r) => r.p50Us))} ms p99 ${ms(lat(t.name, (r) => r.p99Us))} ms`).join("; ")}`);
    const added1 = (n: string, pick: (r: WrkResult) => number) => lat(n, pick) - lat("direct", pick);
    console.log(
      `added by the proxy at one connection: router p50 ${ms(added1("router", (r) => r.p50Us))} ms p99 ${ms(added1("router", (r) => r.p99Us))} ms; nginx p50 ${ms(added1("nginx", (r) => r.p50Us))} ms p99 ${ms(added1("nginx", (r) => r.p99Us))} ms`,
    );
    const us = (n: string, k: "proxyS" | "proxyUserS" | "replicaS") => (cpu.get(n)![k] / cpu.get(n)!.requests) * 1e6;
    console.log(
      `CPU per request at ${CONNECTIONS} connections: router ${us("router", "proxyS").toFixed(0)} us (user ${us("router", "proxyUserS").toFixed(0)}), nginx ${us("nginx", "proxyS").toFixed(0)} us (user ${us("nginx", "proxyUserS").toFixed(0)}); replica ${us("direct", "replicaS").toFixed(0)} us direct, ${us("router", "replicaS").toFixed(0)} us via router, ${us("nginx", "replicaS").toFixed(0)} us via nginx`,
    );
    const rpsOf = new Map([...rounds].map(([n, rs]) => [n, median(rs.map(perSecond))]));
    const p50Of = new Map([...rounds].map(([n, rs]) => [n, median(rs.map((r) => r.p50Us))]));
    const p99Of = new Map([...rounds].map(([n, rs]) => [n, median(rs.map((r) => r.p99Us))]));
    for (const t of targets) {
      console.log(`${t.name.padEnd(7)} ${rpsOf.get(t.name)!.toFixed(0).padStart(7)} req/s   p50 ${ms(p50Of.get(t.name)!)} ms   p99 ${ms(p99Of.get(t.name)!)} ms   (medians)`);
    }
    const rps = (n: string) => rpsOf.get(n)!;
    const added = (n: string) => p99Of.get(n)! - p99Of.get("direct")!;
    console.log(`added p99 vs direct at ${CONNECTIONS} connections: router ${ms(added("router"))} ms, nginx ${ms(added("nginx"))} ms`);
    console.log(
      `router: ${us("router", "proxyS").toFixed(0)} us CPU/request vs nginx ${us("nginx", "proxyS").toFixed(0)} us; ${rps("router").toFixed(0)} req/s vs nginx ${rps("nginx").toFixed(0)} req/s (${((rps("router") / rps("nginx")) * 100).toFixed(0)}%), direct ${rps("direct").toFixed(0)} req/s at ${CONNECTIONS} connections; added p99 ${ms(added1("router", (r) => r.p99Us))} ms at 1 connection (nginx ${ms(added1("nginx", (r) => r.p99Us))} ms), ${ms(added("router"))} ms at ${CONNECTIONS} (nginx ${ms(added("nginx"))} ms)`,
    );
  } finally {
    await Promise.all([stop(router), stop(nginxChild), ...replicas.map((r) => r.stop())]);
    await repo.remove();
    await rm(work, { recursive: true, force: true });
  }
}

function nginxConf(prefix: string, port: number, upstreams: string[]): string {
  return `
worker_processes ${NGINX_WORKERS};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream replicas {
    least_conn;
${upstreams.map((u) => `    server ${u};`).join("\n")}
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port} reuseport;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://replicas;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
`;
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack : String(e));
    process.exit(1);
  },
);
