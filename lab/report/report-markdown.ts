/** report.md: the report as Markdown (also what CI writes to its job summary). */
import { OTHER_STACK } from '../observe/debugfs.ts';
import { fmtNum, fmtSpread } from './noise.ts';
import { shortStack, type Report } from './report.ts';

const cell = (s: string) => s.replace(/\|/g, '\\|');
const table = (head: string[], rows: string[][]) => [`| ${head.map(cell).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];

/** The lines of the findings: flagged metrics, then call-site changes (what a reader needs first). */
export function headline(r: Report): string[] {
  const labels = r.columns.map((c) => c.label);
  const flagged = r.metrics.flatMap((m) =>
    m.pairs
      .filter((p) => p.movement === 'changed')
      .map((p) => `${m.scenario}: \`${m.metric}\` ${fmtSpread(m.spreads[p.from])} -> ${fmtSpread(m.spreads[p.to])} (${labels[p.from]} -> ${labels[p.to]}, ${p.changePct > 0 ? '+' : ''}${p.changePct.toFixed(0)} %)`),
  );
  return [...flagged, ...r.callSites.flatMap((c) => c.lines)];
}

/** "affected 6.12.117; fixed 7.3.4; not affected 6.12.107", as the scenario's record lists them. */
export function recordText(k: Report['knownIssues'][number]['record']): string {
  if (!k) return '(no record in these results)';
  const parts = [k.affected.length && `affected ${k.affected.join(', ')}`, k.fixed.length && `fixed ${k.fixed.join(', ')}`, k.unaffected.length && `not affected ${k.unaffected.join(', ')}`].filter(Boolean);
  return parts.length ? parts.join('; ') : '(no versions recorded)';
}

export function renderReportMarkdown(r: Report): string {
  const labels = r.columns.map((c) => c.label);
  const n = (c: (typeof r.columns)[number]) => `${c.label} (${c.runs.length} run${c.runs.length === 1 ? '' : 's'})`;
  const out: string[] = [
    `# page-owner-lab report: ${labels.join(', ')}`,
    '',
    `${r.columns.reduce((a, c) => a + c.runs.length, 0)} runs, one column per ${r.groupBy === 'kernel' ? 'kernel (release and flavor), in version order' : 'run, in time order'}; generated ${r.generatedAt}.`,
    '',
    `Noise model: the samples of a column (its runs and their repetitions) give each metric a spread, median [min..max]. A metric is **flagged** only when two neighbouring columns' spreads do not overlap and the median moved by more than ${r.thresholdPct} %. **${r.flagged} metric change(s) flagged.**`,
  ];
  if (r.singleSamples) {
    const byProfile = r.metrics.filter((m) => m.pairs.some((p) => p.model === 'profile')).length;
    out.push(
      '',
      byProfile
        ? `Where a column has one sample of a metric, the move is judged by the noise profile (${r.noiseProfile ?? 'kernels/noise.yaml'}: how far that metric family moved from run to run on real kernels): a move beyond it is flagged (${byProfile} metric(s) judged by the noise profile).`
        : 'Where a column has one sample of a metric there is **no noise estimate**: a move there is listed as "no noise estimate", never flagged.',
    );
  }
  if (r.gate) {
    const g = r.gate;
    const byModel = (m: string) => g.metrics.filter((x) => x.model === m).length;
    out.push(
      '',
      '## Baseline gate',
      '',
      `${g.regressions.length ? `**${g.regressions.length} regression(s)**` : 'No regression'} against ${g.baseline.length} baseline run(s) (${[...new Set(g.baseline.map((b) => b.column))].join(', ')}); tolerance ${g.tolerancePct} %. ${g.metrics.length} metric(s) gated: ${byModel('baseline')} by the baseline's own spread (3 samples or more), ${byModel('profile')} by the noise profile.`,
    );
    if (g.missing.length) out.push('', `**Incomplete: ${g.missing.length} scenario(s) missing** (such a night is never a baseline):`, '', ...g.missing.map((m) => `- ${m.column} ${m.scenario}`));
    if (g.infrastructure.length) out.push('', `**Infrastructure: ${g.infrastructure.length} ERROR(s) of the lab's own**, not verdicts:`, '', ...g.infrastructure.map((m) => `- ${m.column} ${m.scenario}: ${m.what}`));
    if (g.unmatched.length) out.push('', `No baseline of the same kernel for: ${g.unmatched.join(', ')} (not gated).`);
    if (g.regressions.length) out.push('', ...g.regressions.map((x) => `- ${x.column} ${x.scenario}: ${x.what}`));
  }
  out.push('', '## Verdicts', '', ...table(['scenario', ...r.columns.map(n), 'changes'], r.verdicts.map((v) => [v.scenario, ...v.cells.map((c) => c?.summary ?? '-'), v.changes.map((c) => `**${c}**`).join('; ')])));

  const head = ['scenario', 'metric', ...labels, 'change'];
  const rowsOf = (kind: string) =>
    r.metrics
      .filter((m) => m.pairs.some((p) => p.movement === kind))
      .map((m) => [
        m.scenario,
        `\`${m.metric}\``,
        ...m.spreads.map(fmtSpread),
        m.pairs
          .filter((p) => p.movement === kind)
          .map((p) => `${labels[p.from]} -> ${labels[p.to]}: ${p.changePct > 0 ? '+' : ''}${p.changePct.toFixed(1)} %`)
          .join('; '),
      ]);
  const flagged = rowsOf('changed');
  out.push('', '## Flagged metrics', '', ...(flagged.length ? table(head, flagged) : ['None: no metric moved beyond the noise.']));
  const unsure = rowsOf('unsure');
  if (unsure.length) out.push('', `## Moved by more than ${r.thresholdPct} %, no noise estimate (one sample)`, '', ...table(head, unsure));
  const noise = rowsOf('noise').length;
  out.push('', `${noise} more metric(s) moved by more than ${r.thresholdPct} % within the noise (the spreads overlap); report.html shows every metric.`);

  const sites = r.callSites.filter((c) => c.lines.length);
  out.push('', '## Call sites (page_owner dump, live records per order)', '');
  if (!sites.length) out.push(r.callSites.length ? 'No top call site or per-order count changed.' : 'No run read the page_owner dump with call sites (results of this lab from before they were kept, or no scenario that reads the dump).');
  for (const c of sites) {
    out.push(...c.lines.map((l) => `- ${l}`));
    out.push(
      '',
      ...table(
        ['', ...labels],
        [0, 1, 2].map((i) => [`top ${i + 1}`, ...c.top.map((t) => {
          const row = t?.filter((x) => x.stack !== OTHER_STACK)[i];
          return row ? `${fmtNum(Math.round(row.records))}: ${shortStack(row.stack)}` : '-';
        })]),
      ),
      '',
    );
  }

  for (const k of r.kernelStacks) {
    out.push('', `## show_stacks (6.9+): ${k.scenario}, top stacks by base pages`, '');
    out.push(...table(['', ...labels], [0, 1, 2].map((i) => [`top ${i + 1}`, ...k.top.map((t) => {
      const row = t?.filter((x) => x.stack !== OTHER_STACK)[i];
      return row ? `${fmtNum(Math.round(row.pages))} pages: ${shortStack(row.stack)}` : '-';
    })])));
  }
  if (r.knownIssues.length) {
    const regressions = r.knownIssues.flatMap((k) => k.regressions.map((c) => `${c} ${k.scenario}`));
    out.push(
      '',
      '## Known kernel issues',
      '',
      `Each scenario's \`known_issues\` on each kernel: **hit** (the kernel's report matched it), **clean** (the scenario passed), **REGRESSION** (a FAIL or ERROR on a version the record lists as fixed or not affected, or after a fixed one).${regressions.length ? ` **${regressions.length} regression(s)**: ${regressions.join(', ')}.` : ''}`,
      '',
      ...table(
        ['scenario', 'known issue', ...labels, 'record'],
        r.knownIssues.map((k) => [k.scenario, k.title, ...k.cells.map((c) => (c?.includes('REGRESSION') ? `**${c}**` : (c ?? '-'))), recordText(k.record)]),
      ),
    );
  }
  out.push('', '## Probe map', '', ...table(['event', ...labels], r.probes.map((p) => [p.event, ...p.values.map((v) => v ?? '-')])));
  out.push('', '## Kernel config (relevant options that differ)', '');
  out.push(...(r.configDiff.length ? table(['option', ...labels], r.configDiff.map((d) => [d.option, ...d.values.map((v) => v ?? '(no kernel.config)')])) : ['No relevant option differs (or no kernel.config beside the results).']));
  out.push('', '## Runs', '', ...table(['column', 'run', 'started', 'status', 'source'], r.columns.flatMap((c) => c.runs.map((x) => [c.label, x.runId, x.startedAt, x.status, x.source]))), '');
  return out.join('\n');
}
