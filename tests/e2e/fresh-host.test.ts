import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../lab/core/config.ts';
import { repoRoot } from '../../lab/core/paths.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { testRequirements } from '../../lab/host/requirements.ts';
import { ensureHost } from '../../lab/host/setup.ts';
import { lab } from '../helpers/cli.ts';

/**
 * The README's set-up on a fresh Debian 12 machine: a clean root made by
 * mmdebstrap with a base system and Node only (plus the site's CA certificates
 * and apt and npm settings), a clean clone of the repository, then the README's
 * own main command as root, exactly as the README writes it. The host's lab
 * cache is shown in the root through overlays of its kernels, sources and
 * images (never its saved guests or modules), so this tests the install path
 * and the cache keys, not a 12-minute build: the kernel must be a cache hit.
 * Then a user without root, with the packages present, boots the same cache,
 * and a kernel source that needs a Debian package falls through to a local
 * tarball. LAB_FRESH_REV=<rev> tests another revision of the repository (an
 * older main, to see it fail). Logs: results/fresh-host-<time>/.
 */
const HELPER = join(repoRoot, 'tests', 'helpers', 'fresh-root.sh');
const logs = join(resolveConfig().paths.results, `fresh-host-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`);

/** The README's first command of "The two commands", without its comment: what a newcomer types. */
export function readmeMainCommand(readme: string): string {
  const section = readme.split(/^## The two commands$/m)[1] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const first = block.split('\n').find((l) => l.trim()) ?? '';
  return first.replace(/\s+#.*$/, '').trim();
}

describe('a fresh Debian 12 machine', () => {
  const root = join(mkdtempSync('/var/tmp/lab-fresh-'), 'root');
  const cache = resolveConfig().paths.cache;
  const mainCommand = readmeMainCommand(readFileSync(join(repoRoot, 'README.md'), 'utf8'));

  /** A command in the fresh root, as root or as the user `newcomer`; its output is kept in the logs folder. */
  async function inRoot(user: 'root' | 'newcomer', name: string, command: string) {
    const r = await execa(HELPER, ['enter', root, cache, user, command], { reject: false, all: true, stdin: 'ignore' });
    writeFileSync(join(logs, `${name}.log`), `$ ${command}   (as ${user})\n${String(r.all)}\nexit ${r.exitCode}\n`);
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), all: String(r.all) };
  }

  beforeAll(async () => {
    mkdirSync(logs, { recursive: true });
    await ensureHost(consoleReporter({ quiet: true }));
    await ensureHost(consoleReporter({ quiet: true }), { requirements: testRequirements });
    // the host's cache holds the default kernel and the image (built here only on a cold machine)
    const warm = await lab(['exec', '--kernel', '6.12', '--', 'true']);
    expect(warm.exitCode, warm.stderr).toBe(0);
    const started = Date.now();
    const made = await execa(HELPER, ['create', root], { reject: false, all: true });
    writeFileSync(join(logs, 'create-root.log'), String(made.all));
    expect(made.exitCode, `mmdebstrap failed: see ${join(logs, 'create-root.log')}`).toBe(0);
    // a clean clone, as a newcomer makes it
    const clone = join(root, 'root', 'page-owner-lab');
    await execa('git', ['clone', '--quiet', '--no-local', repoRoot, clone]);
    if (process.env.LAB_FRESH_REV) await execa('git', ['-C', clone, 'checkout', '--quiet', process.env.LAB_FRESH_REV]);
    writeFileSync(join(logs, 'timing.txt'), `root created and cloned in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });

  afterAll(async () => {
    // the root holds only what the test made; its mounts ended with each command's namespace
    await execa('rm', ['-rf', join(root, '..')]);
  });

  it('the README names its main command', () => {
    expect(mainCommand).toBe('npm ci && npm run lab -- --kernel 6.12');
  });

  it('has none of what the lab installs: no QEMU, no compiler', async () => {
    const r = await inRoot('root', 'before', 'command -v qemu-system-x86_64 qemu-img mmdebstrap gcc make; node --version; id -un');
    expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^v2\d\./) as string, 'root']);
  });

  it('as root, the README main command installs what it needs, reuses the copied kernel, boots and judges', async () => {
    const started = Date.now();
    const r = await inRoot('root', 'main-command', `cd /root/page-owner-lab && ${mainCommand}`);
    const seconds = (Date.now() - started) / 1000;
    writeFileSync(join(logs, 'timing.txt'), `main command: ${seconds.toFixed(1)} s, exit ${r.exitCode}\n`, { flag: 'a' });
    expect(r.exitCode, `the main command failed: see ${join(logs, 'main-command.log')}\n${r.all.split('\n').slice(-15).join('\n')}`).toBe(0);
    expect(r.all).toMatch(/\[setup\] installing .*\bqemu-utils\b/);
    // the same inputs gave the same key as on the warm host: no build. The root installs the current
    // linux-source-6.12 (6.12.118 since 2026-12-02), whose build the host's cache must hold: the release
    // bisections of this host built it. A host whose cache has only its own installed release fails here
    // (the root builds the newer one): open in the closing note of 2026-12-02
    expect(r.all).toMatch(/\[kernel\] cache hit: 6\.12\.\d+/);
    expect(r.all).not.toMatch(/\[kernel\] (configuring|building)/);
    expect(r.all).toMatch(/\[image\] cache hit/);
    expect(r.all).toMatch(/PASS/);
    const exec = await inRoot('root', 'exec-root', 'cd /root/page-owner-lab && npm run -s lab -- exec -- uname -r');
    expect(exec.exitCode, exec.all).toBe(0);
    expect(exec.stdout.trim().split('\n').at(-1)).toMatch(/^6\.12\.\d+$/);
  });

  it('as a user without root, with the packages present, lab exec and lab run boot the existing cache', async () => {
    // the newcomer's own clone (npm run lab writes its bundle and results beside the code)
    const copy = await inRoot('root', 'newcomer-clone', 'cp -a /root/page-owner-lab /home/newcomer/ && chown -R newcomer: /home/newcomer/page-owner-lab');
    expect(copy.exitCode, copy.all).toBe(0);
    const env = 'export LAB_CACHE_DIR=/root/.cache/page-owner-lab; cd ~/page-owner-lab';
    const doctor = await inRoot('newcomer', 'newcomer-doctor', `${env} && npm run -s lab -- doctor`);
    expect(doctor.stdout).toMatch(/^ok\s+host programs\s+all \d+ present/m);
    expect(doctor.stdout).toMatch(/^warn\s+user\s+not root/m);
    const exec = await inRoot('newcomer', 'newcomer-exec', `${env} && npm run -s lab -- exec -- uname -r`);
    expect(exec.exitCode, exec.all).toBe(0);
    expect(exec.stdout.trim().split('\n').at(-1)).toMatch(/^6\.12\.\d+$/);
    // and a scenario: the module built against the cached kernel, bpftrace, the judge
    const run = await inRoot('newcomer', 'newcomer-run', `${env} && npm run -s lab -- --kernel 6.12 --scenario idle-baseline`);
    expect(run.exitCode, run.all).toBe(0);
    expect(run.all).toMatch(/^PASS: 6\.12\.\d+/m);
  });

  it('as a user without root, a source that needs a Debian package falls through to a local tarball, and exit 4 only when nothing serves', async () => {
    // a release tarball of the user's (a stand-in tree: the keys need its Makefile, not a compiler run)
    const tarballs = join(root, 'srv', 'kernels');
    const tree = mkdtempSync('/var/tmp/lab-fresh-tree-');
    mkdirSync(join(tree, 'linux-6.1.999'));
    writeFileSync(join(tree, 'linux-6.1.999', 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 999\nEXTRAVERSION =\n');
    mkdirSync(tarballs, { recursive: true });
    await execa('tar', ['-C', tree, '-cJf', join(tarballs, 'linux-6.1.999.tar.xz'), 'linux-6.1.999']);
    rmSync(tree, { recursive: true, force: true });
    expect(existsSync(join(root, 'usr', 'src', 'linux-source-6.1.tar.xz'))).toBe(false);
    const env = 'export LAB_CACHE_DIR=$HOME/other-cache LAB_KERNEL_MIRROR=http://127.0.0.1:9/pub/linux/kernel; cd ~/page-owner-lab';
    const found = await inRoot('newcomer', 'newcomer-keys-tarball', `${env} && LAB_TARBALL_DIR=/srv/kernels npm run -s lab -- keys --kernel 6.1 --json`);
    expect(found.exitCode, found.all).toBe(0);
    expect(JSON.parse(found.stdout)).toMatchObject({ kernel: { version: '6.1.999' } });
    // another empty cache: the first call's extracted tree would serve from the cache
    // Debian's archive off (it serves any user: that is a download of 150 MB, tried by the 7.x tests)
    const none = await inRoot('newcomer', 'newcomer-keys-none', `${env} && LAB_CACHE_DIR=$HOME/empty-cache LAB_DEBIAN_ARCHIVE=off npm run -s lab -- keys --kernel 6.1 --json`);
    expect(none.exitCode, none.all).toBe(4);
    expect(none.stderr).toMatch(/Debian package linux-source-6\.1: installing it needs root/);
    expect(none.stderr).toMatch(/run: sudo apt-get update && sudo apt-get install -y --no-install-recommends linux-source-6\.1/);
  });
});
