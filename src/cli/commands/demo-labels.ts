/**
 * The classes `reg demo` asks for. A model may be conditioned on finer classes than the ones it is shown
 * and scored by (emoji subcategories or single emoji inside their categories); `parents` maps a model class to its
 * scored class, null when they are the same. The q-th of the n_c samples requested for scored class c
 * takes the model class of training image ⌊(q + ½)·m_c / n_c⌋ among the m_c images of c, in dataset
 * order, so that each scored class's samples mix its model classes as its training images do.
 */
import type { ImageDataset } from '../../data/dataset.js';

/** Model classes for samples requested as scored classes `scored` (see the file comment). */
export function modelLabelsFor(scored: Int32Array, train: Pick<ImageDataset, 'labels'>, parents: Int32Array | null): Int32Array {
  if (parents === null) return Int32Array.from(scored);
  const members = new Map<number, number[]>();
  for (const label of train.labels) {
    const c = parents[label]!;
    let list = members.get(c);
    if (!list) members.set(c, (list = []));
    list.push(label);
  }
  const wanted = new Map<number, number>();
  for (const c of scored) wanted.set(c, (wanted.get(c) ?? 0) + 1);
  const seen = new Map<number, number>();
  return Int32Array.from(scored, (c) => {
    const list = members.get(c);
    if (!list) throw new RangeError(`no training image belongs to scored class ${c}`);
    const q = seen.get(c) ?? 0;
    seen.set(c, q + 1);
    return list[Math.floor(((q + 0.5) * list.length) / wanted.get(c)!)]!;
  });
}

/** Scored classes of a grid with one row of `perRow` samples per class: row r is class r. */
export const gridClasses = (classes: number, perRow: number): Int32Array =>
  Int32Array.from({ length: classes * perRow }, (_, i) => Math.floor(i / perRow));

/** Scored classes of `n` evaluation samples balanced over `classes`: sample i is class i mod `classes`. */
export const balancedClasses = (classes: number, n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i % classes);
