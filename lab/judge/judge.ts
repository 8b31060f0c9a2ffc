/**
 * Judge a scenario's observations against its expectations. A failed
 * expectation explains itself with the numbers behind it; a metric that the
 * kernel did not provide makes that expectation an error, not a failure.
 */
import type { Observations } from '../observe/observations.ts';
import { kernelMatches, type Expectation } from '../scenario/schema.ts';
import { compare, comparisonRefs, evaluate, parseArithmetic, parseComparison, UnknownReferenceError, type Lookup } from './expr.ts';

export type Verdict = 'pass' | 'fail' | 'error' | 'skip';

export interface ExpectationResult {
  expect: string;
  verdict: Verdict;
  left?: number;
  right?: number;
  /** Every metric and variable the expectation used, with its value. */
  values: Record<string, number>;
  message: string;
}

export interface Judgement {
  verdict: Verdict;
  variables: Record<string, number>;
  expectations: ExpectationResult[];
}

/** Metric names -> values from the observers. Counters absent from a per-order table are 0. */
export function metricLookup(obs: Observations): Lookup {
  const sum = (m: Record<string, number> | undefined) => Object.values(m ?? {}).reduce((a, b) => a + b, 0);
  /** bpftrace events count only when their hook was probed in this kernel. */
  const probed = (event: string) => obs.bpf !== undefined && (obs.probes ?? []).some((p) => p.event === event && (p.status === 'probed' || p.status === 'renamed'));
  const bpfMap = (name: string) => obs.bpf?.maps[name] ?? {};
  return (name) => {
    let m: RegExpExecArray | null;
    if ((m = /^module\.(seen|recorded|participation)\[(\d+)\]$/.exec(name))) {
      const row = obs.module?.rows.find((r) => r.order === Number(m![2]));
      return row ? row[m[1] as 'seen' | 'recorded' | 'participation'] : undefined;
    }
    if ((m = /^module\.(seen|recorded)$/.exec(name))) return obs.module?.rows.reduce((a, r) => a + r[m![1] as 'seen' | 'recorded'], 0);
    if (name === 'module.nmissed') return obs.module?.nmissed;
    if (name === 'module.other') return obs.module?.otherSeen;
    if ((m = /^bpf\.((set|reset)(?:_lab|_comm)?)(?:\[(\d+)\])?$/.exec(name))) {
      if (!probed(m[2]!)) return undefined;
      return m[3] === undefined ? sum(bpfMap(m[1]!)) : (bpfMap(m[1]!)[m[3]] ?? 0);
    }
    if ((m = /^bpf\.migrate(?:\[(\w+)\])?$/.exec(name))) {
      if (!probed('set migrate')) return undefined;
      if (m[1] === undefined) return sum(bpfMap('migrate'));
      const index = /^\d+$/.test(m[1]) ? Number(m[1]) : (obs.migrateReasons ?? []).indexOf(m[1]);
      return index < 0 ? undefined : (bpfMap('migrate')[String(index)] ?? 0);
    }
    if ((m = /^bpf\.(split|split_pages|copy|dump|read)$/.exec(name))) {
      return probed(m[1] === 'split_pages' ? 'split' : m[1]!) ? (bpfMap(m[1]!)[''] ?? 0) : undefined;
    }
    if (name === 'bpf.lost') return obs.bpf?.lostEvents;
    if ((m = /^bpf\.traced\[(\w+)\]$/.exec(name))) return obs.bpf ? (obs.bpf.traced[m[1]!] ?? 0) : undefined;
    if ((m = /^debugfs\.(\w+)(?:\[(\w+)\])?$/.exec(name))) {
      const d = obs.debugfs;
      if (!d) return undefined;
      if (m[1] === 'records') return m[2] === undefined ? d.records : (d.byOrder[m[2]] ?? 0);
      if (m[1] === 'migrated') return m[2] === undefined ? d.migrated : (d.migratedByReason[m[2]] ?? 0);
      if (m[1] === 'pages') return d.pages;
      if (m[1] === 'unparsed') return d.unparsed;
      if (m[1] === 'stack_pages') return d.stackPages;
      return undefined;
    }
    if (name === 'dmesg.page_ext_bytes') return obs.dmesg?.pageExtBytes;
    if (name === 'dmesg.early_allocated_pages') return obs.dmesg?.earlyAllocatedPages;
    if (name === 'dmesg.kernel_errors') return obs.dmesg?.kernelErrors.length;
    if ((m = /^vmstat\.(\w+)\.(delta|before|after)$/.exec(name))) {
      const before = obs.vmstatBefore?.[m[1]!];
      const after = obs.vmstatAfter?.[m[1]!];
      if (before === undefined || after === undefined) return undefined;
      return m[2] === 'before' ? before : m[2] === 'after' ? after : after - before;
    }
    return undefined;
  };
}

export function judge(
  spec: { vars: Record<string, string>; expect: Expectation[] },
  obs: Observations,
  captured: Record<string, number>,
  release?: string,
): Judgement {
  const metrics = metricLookup(obs);
  const variables: Record<string, number> = { ...captured };
  const lookup: Lookup = (name) => (name in variables ? variables[name] : metrics(name));
  const expectations: ExpectationResult[] = [];
  const varErrors: string[] = [];
  for (const [name, src] of Object.entries(spec.vars)) {
    try {
      variables[name] = evaluate(parseArithmetic(src), lookup);
    } catch (e) {
      varErrors.push(`${name}: ${(e as Error).message}`);
    }
  }
  for (const { expect: src, when } of spec.expect) {
    if (when && release && !kernelMatches(when, release)) {
      expectations.push({ expect: src, verdict: 'skip', values: {}, message: `${src}: skipped: ${release} does not match "${when}"` });
      continue;
    }
    const c = parseComparison(src);
    const values: Record<string, number> = {};
    for (const ref of comparisonRefs(c)) {
      const v = lookup(ref);
      if (v !== undefined) values[ref] = v;
    }
    try {
      const left = evaluate(c.left, lookup);
      const right = evaluate(c.right, lookup);
      const ok = compare(left, c.op, right, c.tolerance);
      const tol = c.tolerance ? ` +- ${c.tolerance.value}${c.tolerance.percent ? '%' : ''}` : '';
      const detail = Object.entries(values)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      expectations.push({
        expect: src,
        verdict: ok ? 'pass' : 'fail',
        left,
        right,
        values,
        message: `${src}: ${left} ${c.op} ${right}${tol} is ${ok}${detail ? ` (${detail})` : ''}`,
      });
    } catch (e) {
      const why =
        e instanceof UnknownReferenceError
          ? `${e.ref} was not observed${varErrors.length ? ` (${varErrors.join('; ')})` : ' (absent from this kernel or its observer failed)'}`
          : (e as Error).message;
      expectations.push({ expect: src, verdict: 'error', values, message: `${src}: cannot evaluate: ${why}` });
    }
  }
  const verdict: Verdict = expectations.some((e) => e.verdict === 'error')
    ? 'error'
    : expectations.some((e) => e.verdict === 'fail')
      ? 'fail'
      : 'pass';
  return { verdict, variables, expectations };
}
