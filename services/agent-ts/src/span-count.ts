// A count of ended spans shared by a runtime's worker processes. Each process keeps its own
// count and, every tick when it changed, writes it to a file of its own in one directory
// (TRACING_STATS_DIR: chosen by the first process, inherited by the workers it starts); the
// total is its own count plus the other processes' files. A flush asked of one process is
// written there too, and every other process flushes at its next tick. A request reaches
// one process only (they share the port), so this is how it speaks for all of them.

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

const TICK_MS = 100;

export class SharedSpanCount {
  readonly dir: string;
  private own = 0;
  private written = -1;
  private flushSeen: string;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly flush: () => Promise<void> | undefined) {
    let dir = process.env.TRACING_STATS_DIR;
    if (!dir) {
      // The first process: a directory of its own, empty.
      dir = `/tmp/agent-tracing-${process.pid}`;
      rmSync(dir, { recursive: true, force: true });
      process.env.TRACING_STATS_DIR = dir;
    }
    this.dir = dir;
    mkdirSync(this.dir, { recursive: true });
    this.flushSeen = this.read("flush");
  }

  add(spans: number): void {
    this.own += spans;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.tick();
  }

  total(): number {
    let sum = this.own;
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(".count") || name === `${process.pid}.count`) continue;
      sum += Number(this.read(name)) || 0;
    }
    return sum;
  }

  requestFlush(): void {
    const token = `${process.pid}-${Date.now()}-${Math.random()}`;
    this.write("flush", token);
    this.flushSeen = token;
  }

  private tick(): void {
    if (this.own !== this.written) {
      this.write(`${process.pid}.count`, String(this.own));
      this.written = this.own;
    }
    const asked = this.read("flush");
    if (asked !== this.flushSeen) {
      this.flushSeen = asked;
      void this.flush()?.catch((error) => console.error("tracing flush failed", error));
    }
  }

  // Written whole (a temporary name, then a rename), so a reader never sees half a file.
  private write(name: string, text: string): void {
    const temporary = `${this.dir}/.${name}.${process.pid}`;
    writeFileSync(temporary, text);
    renameSync(temporary, `${this.dir}/${name}`);
  }

  private read(name: string): string {
    try {
      return readFileSync(`${this.dir}/${name}`, "utf8").trim();
    } catch {
      return "";
    }
  }
}
