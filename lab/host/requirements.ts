/**
 * What the host needs, as data: each Debian package and why. `setup` installs
 * the missing ones; `lab` checks them before any stage that needs them.
 */
export interface HostPackage {
  pkg: string;
  why: string;
}

export const hostPackages: readonly HostPackage[] = [
  { pkg: 'qemu-system-x86', why: 'boots the lab kernels (qemu-system-x86_64)' },
  { pkg: 'mmdebstrap', why: 'builds the guest root filesystem' },
  { pkg: 'e2fsprogs', why: 'mkfs.ext4 -d turns the guest tree into a disk image' },
  { pkg: 'build-essential', why: 'gcc and make for the kernel and the page_order module' },
  { pkg: 'flex', why: 'kernel build (Kconfig lexer)' },
  { pkg: 'bison', why: 'kernel build (Kconfig parser)' },
  { pkg: 'bc', why: 'kernel build (timeconst)' },
  { pkg: 'libelf-dev', why: 'kernel build (objtool, resolve_btfids)' },
  { pkg: 'libssl-dev', why: 'kernel build (sign-file, certificates)' },
  { pkg: 'cpio', why: 'kernel build (kheaders)' },
  { pkg: 'xz-utils', why: 'decompresses kernel source tarballs' },
  { pkg: 'kmod', why: 'depmod during module builds' },
  { pkg: 'ccache', why: 'makes kernel rebuilds cheap' },
  { pkg: 'lz4', why: 'kernel build (LZ4-compressed bzImage: quicker to decompress at boot)' },
];

/** What only the lab's own tests need: installed by the end-to-end tests that use them (as root), never by `lab setup`. */
export const testPackages: readonly HostPackage[] = [
  { pkg: 'tmux', why: 'a real terminal for the lab shell end-to-end test (tests/e2e/shell.test.ts)' },
  { pkg: 'chromium', why: 'the browser test of report.html (tests/e2e/report-browser.test.ts), driven by playwright-core' },
];

/** Debian ships kernel sources for these series as linux-source-<series>. */
export const debianSourceSeries: readonly string[] = ['6.1', '6.12'];
export const defaultKernel = '6.12';

export function sourcePackage(series: string): string {
  return `linux-source-${series}`;
}
