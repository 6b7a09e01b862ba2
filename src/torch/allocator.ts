/**
 * The caching CPU allocator the addon installs (native/src/allocator.cc): freed blocks of 64 KiB and
 * more are kept in size classes and handed out again, already faulted in, instead of going back to the
 * kernel and being faulted in again by the next step. Off with REGTS_CPU_ALLOCATOR=0; the cache holds at
 * most REGTS_CPU_CACHE_MB (default: a quarter of physical memory, at most 8 GiB).
 */
import { native } from './native.js';

/** What the allocator holds and has done since the process started. */
export type MemoryStats =
  | { caching: false }
  | {
      caching: true;
      /** Bytes of live tensors served by the cache (size classes, so ≥ the tensors' own bytes). */
      allocatedBytes: number;
      /** Bytes of freed blocks kept for reuse. */
      cachedBytes: number;
      peakBytes: number;
      capBytes: number;
      /** Requests served from the cache, and those that mapped fresh memory. */
      hits: number;
      misses: number;
      /** 4 KiB pages handed out again instead of being faulted in anew. */
      pageFaultsAvoided: number;
    };

/** The caching allocator's counters ({caching: false} when it is off). */
export function memoryStats(): MemoryStats {
  return native.memoryStats();
}

/** Returns every cached block to the kernel (live tensors are not touched). */
export function emptyCache(): void {
  native.emptyCache();
}
