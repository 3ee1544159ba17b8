/** Command-line arguments of `npm run bench`. */

/** Sections that can be selected with --section. */
export const SECTION_NAMES = ['rpc-latency', 'cri', 'density', 'parallel-start', 'kubelet', 'daemon-startup', 'streaming', 'image-throughput', 'userns-start'] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

/** Sections run without --section (image-throughput pulls ~150 MB through berth's image layer directly; userns-start starts its own berthd). */
export const DEFAULT_SECTIONS: readonly SectionName[] = ['rpc-latency', 'cri', 'density', 'parallel-start', 'kubelet', 'daemon-startup', 'streaming'];

/** Sections that start pods on each runtime (they need the bench images). */
export const POD_SECTIONS: readonly SectionName[] = ['cri', 'density', 'parallel-start', 'kubelet'];

/** Parsed arguments. */
export interface BenchArgs {
  /** Socket of another runtime to bench instead of starting berthd (`unix://` stripped). */
  endpoint?: string;
  /** Also start and bench this runtime ("containerd"). */
  vs?: 'containerd';
  sections: SectionName[];
  pods: number;
  containers: number;
  pulls: number;
  scratch: number;
  /** Unmeasured status calls on a warm-up pod before the CRI sequence (0: measure a cold daemon). */
  warmupCalls: number;
  densityPods: number;
  listPods: number;
  /** Calls per RPC in rpc-latency. */
  calls: number;
  /** berthd starts in daemon-startup. */
  starts: number;
  /** Where the HTML report goes (default: a timestamped file in /tmp). */
  html?: string;
  /** Where the raw JSON goes (default: none). */
  json?: string;
  /** Idle time after each step when runtimes are interleaved (ms). */
  settleMs: number;
  /** Directory for berthd's --cpu-prof output (default: no profile). */
  cpuProfDir?: string;
  /** Pods of the kubelet steady state. */
  kubeletPods: number;
  /** Length of the kubelet polling window (s). */
  durationS: number;
  /** Share of the kubelet pods with an exec probe (0..1). */
  probeShare: number;
  /** Pods of parallel-start. */
  startPods: number;
  /** Pods started (and removed) at once in parallel-start and the kubelet section. */
  inFlight: number;
  /** Wait after parallel-start's pods are gone before reading the daemon's PSS (s). */
  memoryWaitS: number;
  /** parallel-start: idle time before each runtime's burst (s). */
  quietBeforeS: number;
  /** Parts the kubelet window is cut into, played in turn on each runtime (1: one runtime after the other). */
  rounds: number;
}

export const USAGE = `usage: npm run bench -- [options]
  --endpoint unix:///path   bench that CRI runtime instead of starting berthd (it must reach the
                            bench's registry on 127.0.0.1 over plain HTTP)
  --vs containerd           also start Debian's containerd (installed if missing) and compare
  --section a,b             only these sections: ${SECTION_NAMES.join(', ')}
                            (default: all but image-throughput and userns-start)
  --pods N                  pods of the CRI sequence (40) and of the kubelet section (110)
  --containers N (40) --pulls N (10) --scratch N (5)
  --warmup-calls N (300)    CRI sequence: unmeasured Pod/Container/ImageStatus calls first (0: cold)
  --density-pods N (30) --list-pods N (110) -n N (RPC calls, 1000) --starts N (10)
  --kubelet-pods N (110)    pods of the kubelet section only
  --duration S (60)         kubelet polling window in seconds
  --probe-share F (1/4)     share of kubelet pods with an ExecSync probe (0.25 or 1/4)
  --start-pods N (30) --in-flight N (10)   parallel-start pods and how many start at once
  --memory-wait S (30)      parallel-start: daemon PSS read this long after the pods are gone
  --quiet-before S (30)     parallel-start: idle time before each runtime's burst
  --rounds N (1)            kubelet: both runtimes' pods up at once, the window cut into N parts
                            played in turn (berth, containerd, berth, …); 1: one after the other
  --settle-ms N (100)       idle time after each interleaved step (two runtimes only)
  --html FILE  --json FILE  --cpu-prof DIR (berthd CPU profile, written when it stops)`;

/** Parses argv (without node and the script); throws with a message naming the bad argument. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const out: BenchArgs = { sections: [...DEFAULT_SECTIONS], pods: 40, containers: 40, pulls: 10, scratch: 5, warmupCalls: 300, densityPods: 30, listPods: 110, calls: 1000, starts: 10, settleMs: 100, kubeletPods: 110, durationS: 60, probeShare: 0.25, startPods: 30, inFlight: 10, memoryWaitS: 30, quietBeforeS: 30, rounds: 1 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    const count = (): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag}: not a count: ${v}`);
      return n;
    };
    switch (flag) {
      case '--endpoint': out.endpoint = value().replace(/^unix:\/\//, ''); break;
      case '--vs': {
        const v = value();
        if (v !== 'containerd') throw new Error(`--vs: only containerd is supported, got ${v}`);
        out.vs = v;
        break;
      }
      case '--section':
      case '--sections': {
        const names = value().split(',').filter(Boolean);
        for (const n of names) if (!(SECTION_NAMES as readonly string[]).includes(n)) throw new Error(`${flag}: unknown section ${n} (known: ${SECTION_NAMES.join(', ')})`);
        out.sections = names as SectionName[];
        break;
      }
      case '--pods': out.pods = out.kubeletPods = count(); break;
      case '--kubelet-pods': out.kubeletPods = count(); break;
      case '--duration': out.durationS = count(); break;
      case '--probe-share': out.probeShare = share(flag, value()); break;
      case '--start-pods': out.startPods = count(); break;
      case '--in-flight': {
        out.inFlight = count();
        if (out.inFlight === 0) throw new Error('--in-flight: at least 1');
        break;
      }
      case '--memory-wait': out.memoryWaitS = count(); break;
      case '--quiet-before': out.quietBeforeS = count(); break;
      case '--rounds': {
        out.rounds = count();
        if (out.rounds === 0) throw new Error('--rounds: at least 1');
        break;
      }
      case '--containers': out.containers = count(); break;
      case '--pulls': out.pulls = count(); break;
      case '--scratch': out.scratch = count(); break;
      case '--warmup-calls': out.warmupCalls = count(); break;
      case '--density-pods': out.densityPods = count(); break;
      case '--list-pods': out.listPods = count(); break;
      case '-n': out.calls = count(); break;
      case '--starts': out.starts = count(); break;
      case '--html': out.html = value(); break;
      case '--json': out.json = value(); break;
      case '--cpu-prof': out.cpuProfDir = value(); break;
      case '--settle-ms': out.settleMs = count(); break;
      default: throw new Error(`unknown argument ${flag}\n${USAGE}`);
    }
  }
  if (out.endpoint && out.vs) throw new Error('--endpoint and --vs exclude each other (--vs compares the bench\'s own berthd with containerd)');
  return out;
}

/** A share in 0..1 written as a decimal ("0.25") or a fraction ("1/4"). */
export function share(flag: string, v: string): number {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const x = m ? Number(m[1]) / Number(m[2]) : Number(v);
  if (!Number.isFinite(x) || x < 0 || x > 1 || v.trim() === '') throw new Error(`${flag}: not a share between 0 and 1: ${v}`);
  return x;
}
