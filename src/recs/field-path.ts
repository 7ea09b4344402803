// Where a value sits in an event body, written as the config writes it: `sku`, `product.id`, or
// `items[].sku` for every element of an array (an order's lines). Compiled once into a function,
// so reading an event walks no text.

/** The ids a path finds in a body: strings, or numbers written as text; anything else is left out. */
export type FieldReader = (body: Readonly<Record<string, unknown>>) => string[];

const SEGMENT = /^[^.[\]]+(\[\])?$/;

/** Whether `path` is a field path (`a`, `a.b`, `a[].b`). */
export function isFieldPath(path: string): boolean {
  return path.split('.').every((s) => SEGMENT.test(s));
}

export function compileFieldPath(path: string): FieldReader {
  if (!isFieldPath(path)) throw new Error(`'${path}' is not a field path (name, name.name, or name[].name for each element of an array)`);
  const steps = path.split('.').map((s) => (s.endsWith('[]') ? { name: s.slice(0, -2), each: true } : { name: s, each: false }));
  if (steps.length === 1 && !steps[0]!.each) {
    // The common case, a top-level field, without the walk.
    const name = steps[0]!.name;
    return (body) => {
      const id = idOf(body[name]);
      return id === undefined ? [] : [id];
    };
  }
  return (body) => {
    const out: string[] = [];
    walk(body, 0);
    return out;

    function walk(value: unknown, at: number): void {
      if (at === steps.length) {
        const id = idOf(value);
        if (id !== undefined) out.push(id);
        return;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
      const step = steps[at]!;
      const next = (value as Record<string, unknown>)[step.name];
      if (!step.each) return walk(next, at + 1);
      if (Array.isArray(next)) for (const element of next) walk(element, at + 1);
    }
  };
}

/** An id as text: a non-empty string, or a finite number; anything else is not an id. */
function idOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** The first id a path finds, or undefined: for fields that hold one id (the event, the shopper). */
export function compileFirstField(path: string): (body: Readonly<Record<string, unknown>>) => string | undefined {
  if (isFieldPath(path) && !path.includes('.') && !path.endsWith('[]')) {
    // A top-level field, read without an array per event.
    return (body) => idOf(body[path]);
  }
  const all = compileFieldPath(path);
  return (body) => all(body)[0];
}
