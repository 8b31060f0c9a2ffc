/**
 * The one way to launch a guest, for lab run, exec, shell and bisect (whose
 * steps are runs): from the config and the built kernel and image, what
 * startSession needs besides the console log: the accelerator (probed), TCG's
 * threads for this use, the lab's SSH key, memory, CPUs, the readiness
 * timeout, the flavor's boot words and timeout factor, and where saved
 * guests live.
 */
import { tcgThreadsFor, type LabConfig, type TcgThreads } from '../core/config.ts';
import { flavorBoot } from '../kernel/inputs.ts';
import { probeAccel } from './accel.ts';
import { ensureKey, type LabKey } from './keys.ts';
import type { Accel } from './qemu.ts';
import { snapshotsDir } from './session.ts';

export interface LaunchSpec {
  bzImage: string;
  image: string;
  accel: { accel: Accel; reason: string };
  tcgThreads: TcgThreads;
  key: LabKey;
  memoryMb: number;
  cpus: number;
  readyTimeoutS?: number;
  readyTimeoutFactor: number;
  /** The flavor's boot words, then the user's --append. */
  append: string[];
  snapshots?: string;
}

export async function launchSpec(
  config: LabConfig,
  built: { bzImage: string; image: string },
  use: { flavor?: string; append?: readonly string[]; interactive?: boolean; guestsAtOnce?: number },
): Promise<LaunchSpec> {
  const boot = await flavorBoot(config.paths.repo, use.flavor, use.append);
  return {
    bzImage: built.bzImage,
    image: built.image,
    accel: await probeAccel(config.accel, { kernel: built.bzImage, cacheDir: config.paths.cache }),
    tcgThreads: tcgThreadsFor(config.tcgThreads, { interactive: use.interactive, vcpus: config.cpus, guestsAtOnce: use.guestsAtOnce }),
    key: await ensureKey(config.paths.cache),
    memoryMb: config.memoryMb,
    cpus: config.cpus,
    readyTimeoutS: config.readyTimeoutS,
    readyTimeoutFactor: boot.readyTimeoutFactor,
    append: boot.append,
    snapshots: snapshotsDir(config),
  };
}
