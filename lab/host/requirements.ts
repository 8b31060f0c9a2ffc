/**
 * What the host needs, as data: every program the lab runs (itself, or
 * through kbuild and mmdebstrap), and every header file the kernel build
 * compiles against, each with the Debian package that provides it and why.
 * `lab doctor` checks the programs and files themselves, never only the
 * package database (a package's Recommends are not installed, and qemu-img
 * came with one of those); `lab setup` and every run install the packages of
 * what is missing, then check again. tests/host/requirements.test.ts scans
 * lab/ for every program it spawns and fails when one is not listed here.
 */
export interface HostRequirement {
  /** A program looked up on PATH (plus the system's sbin folders), or an absolute file path. */
  program?: string;
  file?: string;
  pkg: string;
  why: string;
  /** Used when present (the lab says what it misses), never installed for the user. */
  optional?: boolean;
}

export const hostRequirements: readonly HostRequirement[] = [
  // guests
  { program: 'qemu-system-x86_64', pkg: 'qemu-system-x86', why: 'boots the lab kernels' },
  { program: 'qemu-img', pkg: 'qemu-utils', why: 'the qcow2 disk overlay of a guest that is saved for later restores' },
  // the guest image
  { program: 'mmdebstrap', pkg: 'mmdebstrap', why: 'builds the guest root filesystem' },
  { program: 'mkfs.ext4', pkg: 'e2fsprogs', why: 'mkfs.ext4 -d turns the guest tree into a disk image' },
  { program: 'chroot', pkg: 'coreutils', why: 'lists the packages of the built guest tree' },
  // kernel sources
  { program: 'xz', pkg: 'xz-utils', why: 'decompresses kernel source tarballs' },
  { program: 'apt-cache', pkg: 'apt', why: "finds linux-source-<series> in Debian's suites (the lab's own apt state)" },
  { program: 'dpkg-deb', pkg: 'dpkg', why: 'takes the kernel tarball out of a linux-source .deb without installing it' },
  { program: 'git', pkg: 'git', why: 'identifies --kernel-src trees by commit; lab bisect' },
  { program: 'gpg', pkg: 'gpg', why: "verifies a kernel.org mirror's signed checksums when the keys are present", optional: true },
  // kernel and module builds: what make runs, through kbuild
  { program: 'make', pkg: 'make', why: 'kernel and page_order module builds' },
  { program: 'gcc', pkg: 'gcc', why: 'compiles the kernel, the page_order module and the workload helpers' },
  { program: 'ld', pkg: 'binutils', why: 'links the kernel (kbuild also runs as, objcopy, nm)' },
  { file: '/usr/include/stdio.h', pkg: 'libc6-dev', why: "the C library's headers for kbuild's host programs" },
  { program: 'flex', pkg: 'flex', why: 'kernel build (Kconfig lexer)' },
  { program: 'bison', pkg: 'bison', why: 'kernel build (Kconfig parser)' },
  { program: 'bc', pkg: 'bc', why: 'kernel build (timeconst)' },
  { program: 'perl', pkg: 'perl-base', why: 'kernel build (headers_install, scripts)' },
  { program: 'cpio', pkg: 'cpio', why: 'kernel build (kheaders)' },
  { program: 'lz4', pkg: 'lz4', why: 'kernel build (LZ4-compressed bzImage: quicker to decompress at boot)' },
  { program: 'depmod', pkg: 'kmod', why: 'module builds' },
  { file: '/usr/include/gelf.h', pkg: 'libelf-dev', why: 'kernel build (objtool, resolve_btfids)' },
  { file: '/usr/include/openssl/opensslv.h', pkg: 'libssl-dev', why: 'kernel build (sign-file, certificates)' },
  { program: 'ccache', pkg: 'ccache', why: 'makes kernel rebuilds cheap' },
  // the lab's own bookkeeping
  { program: 'dpkg-query', pkg: 'dpkg', why: 'tells which Debian packages are installed' },
  { program: 'apt-get', pkg: 'apt', why: 'installs what is missing (as root)' },
  { program: 'sh', pkg: 'dash', why: 'kbuild and merge_config.sh' },
  { program: 'bash', pkg: 'bash', why: "lab report --bug: the kernel's scripts/decode_stacktrace.sh" },
  { program: 'cp', pkg: 'coreutils', why: "copies a kept build tree into the cache; links a release's tree into a release bisection's kept tree" },
  { program: 'grep', pkg: 'grep', why: 'lab bisect across releases: finds the files that define the probed functions' },
  { program: 'diff', pkg: 'diffutils', why: 'lab bisect across releases: what changed between the last good and first bad release' },
  { program: 'rm', pkg: 'coreutils', why: 'deletes large folders in the background' },
  { program: 'setpriv', pkg: 'util-linux', why: 'QEMU runs under setpriv with KILL as its parent-death signal: it dies with the lab, kill -9 included' },
  { program: 'du', pkg: 'coreutils', why: 'lab cache ls sizes' },
  { program: 'find', pkg: 'findutils', why: "prunes a kept tree's copy" },
];

/** What only the lab's own tests need: installed by the end-to-end tests that use them (as root), never by `lab setup`. */
export const testRequirements: readonly HostRequirement[] = [
  { program: 'tmux', pkg: 'tmux', why: 'a real terminal for the lab shell end-to-end test (tests/e2e/shell.test.ts)' },
  { program: 'chromium', pkg: 'chromium', why: 'the browser test of report.html (tests/e2e/report-browser.test.ts), driven by playwright-core' },
  { program: 'unshare', pkg: 'util-linux', why: 'the fresh-host test enters its clean Debian root in a mount namespace of its own' },
  { program: 'rsync', pkg: 'rsync', why: 'gitlab-ci-local copies the project into each job of the GitLab pipeline test (tests/e2e/gitlab-pipeline.test.ts)' },
];

/** The Debian packages of a list of requirements, each once, in order. */
export function packagesOf(reqs: readonly HostRequirement[]): string[] {
  return [...new Set(reqs.map((r) => r.pkg))];
}

/** How a requirement is named to a person: `qemu-img (Debian package qemu-utils)`. */
export function describeRequirement(r: HostRequirement): string {
  return `${r.program ?? r.file} (Debian package ${r.pkg})`;
}

/** Debian ships kernel sources for these series as linux-source-<series>. */
export const debianSourceSeries: readonly string[] = ['6.1', '6.12'];
export const defaultKernel = '6.12';

export function sourcePackage(series: string): string {
  return `linux-source-${series}`;
}
