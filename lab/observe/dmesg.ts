/** Facts from the guest's kernel log: the page_owner boot lines and kernel errors. */
import { KERNEL_ERROR_PATTERNS } from './kernel-errors.ts';

export interface DmesgFacts {
  /** "allocated N bytes of page_ext": need_page_owner/page_ext ran at boot. */
  pageExtBytes?: number;
  /** "page owner found early allocated N pages", summed over zones: init_page_owner ran. */
  earlyAllocatedPages?: number;
  pageOwnerDisabled: boolean;
  kernelErrors: string[];
}

export function parseDmesg(text: string): DmesgFacts {
  const facts: DmesgFacts = { pageOwnerDisabled: false, kernelErrors: [] };
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /allocated (\d+) bytes of page_ext/.exec(line))) facts.pageExtBytes = (facts.pageExtBytes ?? 0) + Number(m[1]);
    else if ((m = /page owner found early allocated (\d+) pages/.exec(line))) {
      facts.earlyAllocatedPages = (facts.earlyAllocatedPages ?? 0) + Number(m[1]);
    } else if (/page_owner is disabled/.test(line)) facts.pageOwnerDisabled = true;
    if (KERNEL_ERROR_PATTERNS.some((p) => p.test(line))) facts.kernelErrors.push(line.trim());
  }
  return facts;
}
