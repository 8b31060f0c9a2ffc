/**
 * The repository's root, the shape of the lab's folders (resolved with the
 * rest of the configuration by core/config.ts), and the names of run folders.
 */
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LabPaths {
  repo: string;
  cache: string;
  results: string;
}

/** A results folder name: UTC time, what ran, and a few random characters so parallel runs never collide. */
export function runId(label: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${label.replace(/[^\w.-]+/g, '_')}-${randomBytes(2).toString('hex')}`;
}

/** What a run is labelled by: the kernel spec, or "local" for a tree or tarball of the user's. */
export function kernelLabel(input: { kernel: string; kernelSrc?: string; kernelTarball?: string }): string {
  return input.kernelSrc || input.kernelTarball ? 'local' : input.kernel;
}
