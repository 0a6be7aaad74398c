import type { Labels } from './agents.js';

/** One `key=value` or `key!=value` term of a label selector. */
export interface LabelTerm {
  key: string;
  value: string;
  negate: boolean;
}

/**
 * Parses `role=gpu,env!=dev` (terms separated by commas, all must hold). Throws with a message
 * fit for the operator when a term is malformed.
 */
export function parseLabelSelector(text: string | string[]): LabelTerm[] {
  const parts = (Array.isArray(text) ? text : [text]).flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  return parts.map((part) => {
    const match = /^([A-Za-z0-9._/-]+)\s*(!=|=)\s*([A-Za-z0-9._-]*)$/.exec(part);
    if (!match) throw new Error(`bad label term "${part}": use key=value or key!=value`);
    return { key: match[1]!, value: match[3]!, negate: match[2] === '!=' };
  });
}

export function matchesLabels(labels: Labels, terms: LabelTerm[]): boolean {
  return terms.every((term) => (labels[term.key] === term.value) !== term.negate);
}
