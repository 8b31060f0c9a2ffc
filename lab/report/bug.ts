/**
 * `lab report --bug RUN`: a report a kernel list would accept, in the form of
 * a syzbot or kernel test robot mail (a subject, the kernel, the bisection,
 * the kernel's report trimmed to the splat, the config fragment), and a
 * standalone reproducer: a shell script that needs only QEMU, the bzImage and
 * the lab's image. It boots the kernel with the lab's command line and a
 * guest script as PID 1 (read from a second, raw disk: no Node, no lab, no
 * SSH, no network), which runs the scenario's set-up and steps and the reads
 * the lab makes after them (the page_owner dump), then powers off. The
 * script exits 1 when the kernel reported an error, and says whether it is
 * the same one (the RIP function of the original).
 */
import type { ScenarioResult } from '../scenario/run.ts';

export interface BugReportInput {
  scenario: Pick<ScenarioResult, 'name' | 'status' | 'kernelReport' | 'knownIssue' | 'regression' | 'judgement' | 'checks' | 'error'>;
  /** The scenario's file (relative to the lab) and its first description line. */
  scenarioFile: string;
  description: string;
  release: string;
  flavor: string;
  /** Where the kernel came from (a tarball, a Debian package, a tree). */
  origin: string;
  fragment: string;
  /** The kernel report with its frames decoded to file:line, or why not. */
  decoded: { lines: string[] } | { why: string };
  bisect?: { before: string; after: string; mode: 'regression' | 'fix'; dir: string; changelog: string[] };
  reproducer: { file: string; usage: string };
  resultsDir: string;
}

/** The function a report names first: the RIP line's, else the function of "BUG: KASAN: ... in f+". */
export function faultingFunction(report: readonly string[]): string | undefined {
  for (const l of report) {
    const m = /RIP: \S+:([A-Za-z_][\w.]*)\+/.exec(l) ?? /BUG: KASAN: \S+ in ([A-Za-z_][\w.]*)\+/.exec(l);
    if (m) return m[1]!.replace(/\.(isra|constprop|part|cold)\.\d+$/, '');
  }
  return undefined;
}

const stripTime = (l: string) => l.replace(/^\[\s*[\d.]+\]\s*/, '').trim();

/** A syzbot-style title: what happened, in which function. */
export function bugTitle(s: BugReportInput['scenario'], release: string): string {
  const report = s.kernelReport ?? [];
  const fn = faultingFunction(report);
  const first = report.map(stripTime).find((l) => /BUG|Oops|general protection fault|WARNING|Kernel panic/.test(l));
  if (first) {
    const kasan = /BUG: KASAN: (\S+) in (\w+)/.exec(first);
    if (kasan) {
      const access = report.map(stripTime).find((l) => /^(Read|Write) of size/.test(l))?.split(' ')[0];
      return `KASAN: ${kasan[1]}${access ? ` ${access}` : ''} in ${kasan[2]}`;
    }
    const kinds: [RegExp, string][] = [
      [/BUG: unable to handle page fault/, 'BUG: unable to handle page fault'],
      [/BUG: unable to handle kernel NULL pointer dereference/, 'BUG: unable to handle kernel NULL pointer dereference'],
      [/general protection fault/, 'general protection fault'],
      [/kernel BUG at/, 'kernel BUG'],
      [/WARNING: CPU: \d+ PID: \d+ at \S+ (\w+)\+/, 'WARNING'],
    ];
    for (const [re, kind] of kinds) if (re.test(first)) return `${kind}${fn ? ` in ${fn}` : ''}`;
    return first;
  }
  const failed = [...(s.judgement?.expectations ?? []), ...(s.checks?.expectations ?? [])].find((e) => e.verdict === 'fail');
  return `page_owner: ${s.name} fails on ${release}${failed ? `: ${failed.expect}` : s.error ? `: ${s.error.message}` : ''}`;
}

/** The splat: from the first kernel error line to the end of its trace (the rest of the console is in the results). */
export function splat(report: readonly string[]): string[] {
  const end = report.findIndex((l) => /---\[ end trace|Kernel Offset:|---\[ end Kernel panic/.test(l));
  return (end >= 0 ? report.slice(0, end + 1) : report).map((l) => l.trimEnd());
}

export function renderBugReport(b: BugReportInput): string {
  const s = b.scenario;
  const lines = [
    `Subject: [page-owner-lab] ${bugTitle(s, b.release)}`,
    '',
    'Hello,',
    '',
    `page-owner-lab's scenario ${s.name} ${s.status === 'FAIL' ? 'failed' : 'took the kernel down'} on:`,
    '',
    `kernel:    Linux ${b.release}, flavor ${b.flavor} (source: ${b.origin})`,
    `config:    tinyconfig + the fragment below (the full .config is kernel.config in the results)`,
    `scenario:  ${s.name} (${b.scenarioFile}): ${b.description}`,
  ];
  if (b.bisect) {
    const [older, newer] = b.bisect.mode === 'regression' ? ['last good', 'first bad'] : ['last bad', 'first fixed'];
    lines.push(`bisected:  ${older} ${b.bisect.before}, ${newer} ${b.bisect.after} (lab bisect across releases: ${b.bisect.dir})`);
    for (const c of b.bisect.changelog) lines.push(`           changelog ${c}`);
  } else lines.push('bisected:  not yet (lab bisect --good RELEASE --bad RELEASE --scenario ' + s.name + ')');
  if (s.knownIssue) lines.push(`known:     ${s.knownIssue.title}${s.knownIssue.fix ? ` (fix: ${s.knownIssue.fix})` : ''}`);
  if (s.regression) lines.push(`REGRESSION: ${s.regression}`);
  lines.push('');
  if (s.kernelReport?.length) {
    lines.push('The kernel reported:', '');
    if ('lines' in b.decoded) lines.push(...b.decoded.lines);
    else lines.push(...splat(s.kernelReport), '', `(frames not decoded to file:line: ${b.decoded.why})`);
  } else {
    const failed = [...(s.judgement?.expectations ?? []), ...(s.checks?.expectations ?? [])].filter((e) => e.verdict === 'fail');
    lines.push('Expectations that did not hold:', '', ...failed.map((e) => `  ${e.expect}: ${e.message}`));
  }
  lines.push(
    '',
    'Reproducer (needs only QEMU, the bzImage and the lab\'s image; no Node, no lab, no network):',
    '',
    `  ${b.reproducer.usage}`,
    '',
    `It boots the kernel with the lab's command line, runs the scenario's set-up and steps as PID 1,`,
    'then what the lab reads after them (the page_owner dump), and exits 1 when the kernel reports an error.',
    `Script: ${b.reproducer.file}`,
    '',
    'Kernel config fragment (merged into tinyconfig with scripts/kconfig/merge_config.sh):',
    '',
    ...b.fragment.trimEnd().split('\n').map((l) => `  ${l}`),
    '',
    `Everything else (console log, kernel.config, the rebuild recipe reproducer.sh): ${b.resultsDir}`,
    '',
  );
  return lines.join('\n');
}

interface GuestScriptInput {
  name: string;
  setup: readonly string[];
  steps: readonly { name: string; run: string }[];
  /** The lab reads the page_owner dump after the steps (the scenario's metrics use it). */
  readsDump: boolean;
}

/** What the guest runs as PID 1: the mounts lab-init would make, the set-up, the steps, the dump, then power off. */
export function guestScript(g: GuestScriptInput): string {
  const say = (what: string) => `echo "lab-reproducer: ${what.replace(/["$`\\]/g, '')}" > /dev/console`;
  return [
    '#!/bin/bash',
    `# ${g.name}: the scenario's set-up and steps, as the lab runs them in its guest`,
    'export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root',
    'mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp',
    'mount -t debugfs debugfs /sys/kernel/debug; mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null',
    'mkdir -p /dev/shm /dev/pts; mount -t tmpfs tmpfs /dev/shm',
    'cd /root',
    say('set-up'),
    ...g.setup.map((c) => `( ${c}\n)`),
    ...g.steps.flatMap((st) => [say(`step: ${st.name}`), `( ${st.run}\n)`]),
    ...(g.readsDump ? [say('reading /sys/kernel/debug/page_owner'), 'cat /sys/kernel/debug/page_owner > /dev/null'] : []),
    say('done'),
    // power off; where the kernel cannot, PID 1 ending panics it, and panic=-1 with -no-reboot ends QEMU
    'echo o > /proc/sysrq-trigger 2>/dev/null; sleep 3',
    'exit 0',
    '',
  ].join('\n');
}

interface ReproducerInput {
  title: string;
  bzImage: string;
  rootfs: string;
  memoryMb: number;
  cpus: number;
  /** The kernel command line the lab booted with, without its own words (init, token, key). */
  cmdline: string;
  guest: string;
  /** The function the original report names: the reproducer says whether it is the same. */
  faulting?: string;
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const DELIMITER = 'LAB_GUEST_SCRIPT_END';

/** reproducer.sh of a bug report: POSIX sh, QEMU and coreutils only. */
export function reproducerScript(r: ReproducerInput): string {
  if (r.guest.split('\n').includes(DELIMITER)) throw new Error(`the guest script contains the line ${DELIMITER}`);
  return `#!/bin/sh
# Reproducer: ${r.title}
# Needs only qemu-system-x86_64 and coreutils: the kernel, the lab's image, and this script.
# Usage: sh reproducer.sh [bzImage] [rootfs.ext4]   (ACCEL=kvm to use KVM; TIMEOUT=seconds, default 1200)
# Boots the kernel with the guest script below as PID 1 (from a second, raw disk), no network.
# Exit status: 1 the kernel reported an error (printed), 0 it did not, 2 QEMU could not run.
set -u
BZIMAGE=\${1:-${sq(r.bzImage)}}
ROOTFS=\${2:-${sq(r.rootfs)}}
ACCEL=\${ACCEL:-tcg}
for f in "$BZIMAGE" "$ROOTFS"; do [ -r "$f" ] || { echo "reproducer: cannot read $f" >&2; exit 2; }; done
command -v qemu-system-x86_64 > /dev/null || { echo "reproducer: qemu-system-x86_64 is not installed" >&2; exit 2; }
work=$(mktemp -d) || exit 2
trap 'rm -rf "$work"' EXIT INT TERM
cat > "$work/guest.sh" <<'${DELIMITER}'
${r.guest}${DELIMITER}
# a raw disk's size is whole sectors: pad the script with newlines
size=$(wc -c < "$work/guest.sh")
head -c $(( (512 - size % 512) % 512 )) /dev/zero | tr '\\000' '\\n' >> "$work/guest.sh"
accel=$ACCEL; [ "$ACCEL" = tcg ] && accel=tcg,thread=multi
echo "reproducer: booting $BZIMAGE ($ACCEL, ${r.memoryMb} MiB, ${r.cpus} CPUs); the console follows" >&2
timeout "\${TIMEOUT:-1200}" qemu-system-x86_64 -nodefaults -no-user-config -display none -machine q35 -accel "$accel" -cpu max \\
  -smp ${r.cpus} -m ${r.memoryMb}M -kernel "$BZIMAGE" \\
  -append ${sq(`${r.cmdline} init=/bin/bash -- /dev/vdb`)} \\
  -drive file="$ROOTFS",if=virtio,format=raw,snapshot=on \\
  -drive file="$work/guest.sh",if=virtio,format=raw,readonly=on \\
  -serial stdio -monitor none -no-reboot < /dev/null | tee "$work/console.log"
status=$?
# only what the kernel said before the script finished (PID 1 ending is no error of the kernel's)
errors=$(sed '/lab-reproducer: done/q' "$work/console.log" | grep -E 'Kernel panic - not syncing|BUG: |kernel BUG at |Oops: |WARNING: CPU: |general protection fault')
if [ -z "$errors" ]; then
  if grep -q 'lab-reproducer: done' "$work/console.log"; then echo "reproducer: the kernel reported no error"; exit 0; fi
  echo "reproducer: the guest did not finish (QEMU exit status $status), and the kernel reported no error" >&2; exit 2
fi
echo "reproducer: the kernel reported an error:"
echo "$errors" | head -5
${r.faulting ? `if grep -qE 'RIP: [^ ]+:${r.faulting}\\+|BUG: KASAN: [^ ]+ in ${r.faulting}\\+' "$work/console.log"; then echo "reproducer: same as the report (${r.faulting})"; else echo "reproducer: a different report from the original (${r.faulting})"; fi` : ''}
exit 1
`;
}
