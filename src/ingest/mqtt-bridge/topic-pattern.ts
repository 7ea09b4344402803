// A store broker's topic mapped to a device: `stores/{store}/readers/{reader}/events` matches
// `stores/oslo-1/readers/door-2/events`, names its parts (store = oslo-1, reader = door-2), and a
// device id is made from them (`{store}-{reader}`). The parts become application properties.
import { OmniError } from '../../core/errors.js';

export interface TopicPattern {
  /** The subscription that receives every topic the pattern matches (`{x}` → `+`). */
  readonly filter: string;
  /** The named parts of a topic the pattern matches, or undefined. */
  match(topic: string): Record<string, string> | undefined;
}

const PART = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Compiles `a/{x}/b/{y}`: literal levels, whole-level named parts, no MQTT wildcards. */
export function topicPattern(pattern: string): TopicPattern {
  const levels = pattern.split('/');
  const names: (string | null)[] = [];
  for (const level of levels) {
    if (level.includes('+') || level.includes('#')) throw new OmniError('invalid_argument', `topic pattern '${pattern}': write {name} for a level that varies, not MQTT wildcards`);
    const m = PART.exec(level);
    if (!m && /[{}]/.test(level)) throw new OmniError('invalid_argument', `topic pattern '${pattern}': a {name} takes a whole level (between slashes)`);
    if (m && names.includes(m[1]!)) throw new OmniError('invalid_argument', `topic pattern '${pattern}': {${m[1]}} appears twice`);
    names.push(m ? m[1]! : null);
  }
  return {
    filter: levels.map((l, i) => (names[i] === null ? l : '+')).join('/'),
    match(topic) {
      const parts = topic.split('/');
      if (parts.length !== levels.length) return undefined;
      const out: Record<string, string> = {};
      for (let i = 0; i < parts.length; i++) {
        const name = names[i];
        if (name === null) {
          if (parts[i] !== levels[i]) return undefined;
        } else {
          if (parts[i] === '') return undefined;
          out[name!] = parts[i]!;
        }
      }
      return out;
    },
  };
}

/** `{store}-{reader}` with the topic's parts; every name must be a part of the pattern. */
export function deviceIdTemplate(template: string, pattern: string): (parts: Record<string, string>) => string {
  const known = new Set([...pattern.matchAll(PLACEHOLDER)].map((m) => m[1]!));
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!known.has(m[1]!)) throw new OmniError('invalid_argument', `device id '${template}' names {${m[1]}}, which the topic pattern '${pattern}' has not`);
  }
  return (parts) => template.replace(PLACEHOLDER, (_, name: string) => parts[name] ?? '');
}
