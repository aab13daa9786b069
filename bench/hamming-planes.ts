/**
 * The 1:N prefilter's Hamming kernels alone, over random 512-bit codes: the whole-code scan
 * (hammingTopK over 64 bytes per row), the head plane's scan (32 bytes per row), and the
 * two-plane kernel the index uses (hammingTopK2: head scan to k1, whole-code distance of those
 * to k). CPU time per call (median and p99 of --reps), so a loaded machine's waiting is not
 * counted; the scans are memory-bandwidth bound, so contention still shows.
 *
 *   node dist/bench/hamming-planes.js [--rows 1000000] [--k 5000] [--k1 20000,50000,100000]
 *       [--reps 40] [--threads 1,2] [--js] [--no-huge]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../src/shared/prng.js';
import { jsKernels, kernels, kernelsName } from '../src/worker/matching/native-codes.js';
import { r2 } from './stats.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    k: { type: 'string', default: '5000' },
    k1: { type: 'string', default: '20000,50000,100000' },
    reps: { type: 'string', default: '40' },
    threads: { type: 'string', default: '1,2' },
    js: { type: 'boolean', default: false },
    'no-huge': { type: 'boolean', default: false },
  },
});
const rows = Number(args.rows);
const k = Number(args.k);
const reps = Number(args.reps);
const kern = args.js ? jsKernels : kernels;
const rand = mulberry32(1);
const words = new Uint32Array(rows * 16);
for (let i = 0; i < words.length; i++) words[i] = Math.floor(rand() * 2 ** 32);
const codes = new Uint8Array(words.buffer);
const head = new Uint8Array(rows * 32);
const tail = new Uint8Array(rows * 32);
const huge = args['no-huge'] ? false : kernels.adviseHugePages(tail) && kernels.adviseHugePages(head);
for (let r = 0; r < rows; r++) {
  head.set(codes.subarray(r * 64, r * 64 + 32), r * 32);
  tail.set(codes.subarray(r * 64 + 32, r * 64 + 64), r * 32);
}

/**
 * CPU ms per call of each variant on the same fresh queries, the variants taking turns (so a
 * change of the machine's load hits them alike): [median, p99] each. The last `wall` variants
 * are timed by the clock instead (their CPU time is summed over their threads).
 */
function time(variants: ((q: Uint8Array) => void)[], wall = 0): [number, number][] {
  const ms = variants.map(() => [] as number[]);
  for (let i = 0; i < reps + 3; i++) {
    const r = Math.floor(rand() * rows);
    const q = codes.slice(r * 64, r * 64 + 64);
    variants.forEach((f, v) => {
      const byClock = v >= variants.length - wall;
      const t = process.cpuUsage();
      const w = performance.now();
      f(q);
      const d = process.cpuUsage(t);
      const took = byClock ? performance.now() - w : (d.user + d.system) / 1000;
      if (i >= 3) ms[v]?.push(took);
    });
  }
  return ms.map((m) => {
    m.sort((a, b) => a - b);
    return [
      m[Math.floor(m.length / 2)] as number,
      m[Math.min(m.length - 1, Math.floor(m.length * 0.99))] as number,
    ];
  });
}

console.log(
  `hamming-planes: ${rows} rows, k ${k}, ${reps} queries, kernel ${args.js ? 'javascript' : kernelsName}, huge pages ${huge ? 'asked' : 'no'}`,
);
const k1s = args.k1.split(',').map(Number);
const threads = args.threads.split(',').map(Number);
const names = [
  'hammingTopK, 64-byte codes (the old scan)',
  'hammingTopK, 32-byte head plane alone',
  ...k1s.map((k1) => `hammingTopK2, k1 ${k1}`),
  ...threads.map((t) => `hammingTopK2, k1 = rows, ${t} thread(s) (wall)`),
];
const got = time(
  [
    (q) => kern.hammingTopK(codes, rows, q, k),
    (q) => kern.hammingTopK(head, rows, q.subarray(0, 32), k),
    ...k1s.map(
      (k1) => (q: Uint8Array) =>
        kern.hammingTopK2(head, tail, rows, q.subarray(0, 32), q.subarray(32), k1, k),
    ),
    ...threads.map(
      (t) => (q: Uint8Array) =>
        kern.hammingTopK2(head, tail, rows, q.subarray(0, 32), q.subarray(32), rows, k, t),
    ),
  ],
  threads.length,
);
got.forEach(([p50, p99], i) =>
  console.log(`  ${(names[i] as string).padEnd(44)} CPU p50 ${r2(p50)} ms  p99 ${r2(p99)} ms`),
);
