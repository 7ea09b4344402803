// Which fields of an input's events a query can read, so a reader may hand it events holding only
// those (a live job's log reader parses a shopper event's eight fields when the query reads two).
// An over-estimate is always safe, an under-estimate never: every doubt answers "the whole event".
import { children, type Expression, type Query, type SelectStatement, type Statement } from '../syntax/ast.js';

/**
 * The lower-cased names of the top-level event fields the query can read, or null when it can
 * see whole events. An event restricted to the fields whose lower-cased name is in the set (in
 * their order, repeats included) gives the same rows as the whole event: field lookups compare
 * names case-insensitively, and they are all in the set.
 *
 * Null when the query uses an input's record as a value (`e`, `e.*`, `*`, a record passed to a
 * function: GetMetadataPropertyValue(e, …) needs the event's metadata), an aggregate or analytic
 * function of whole events (`TopOne()`, `Collect()`, `LAST(*)`; COUNT(*) reads none), CREATE
 * TABLE (conversions see every declared column) or MATCH_RECOGNIZE. A column `a.b` adds both `a`
 * and `b`: `a` may be a field or a source's alias, and the set only needs to hold enough.
 */
export function eventFieldsOf(query: Query): ReadonlySet<string> | null {
  if (query.tables.length > 0) return null;
  const statements: Statement[] = [...query.steps.map((s) => s.body), ...query.statements];
  const selects = statements.flatMap((s): SelectStatement[] => (s.kind === 'union' ? [...s.selects] : [s]));
  const names = new Set<string>(query.steps.map((s) => s.name.name.toLowerCase()));
  for (const s of selects) {
    if (s.matchRecognize) return null;
    for (const source of [s.from, ...s.clauses.flatMap((c) => (c.kind === 'join' ? [c.source] : []))]) {
      names.add(source.name.name.toLowerCase());
      names.add(source.alias.name.toLowerCase());
    }
    for (const c of s.clauses) if (c.kind === 'apply') names.add(c.alias.name.toLowerCase());
  }
  const fields = new Set<string>();
  const expressions: Expression[] = [];
  for (const s of selects) {
    for (const item of s.items) {
      if (item.kind === 'wildcard') return null;
      expressions.push(item.expression);
    }
    for (const source of [s.from, ...s.clauses.flatMap((c) => (c.kind === 'join' ? [c.source] : []))]) {
      if (source.timestampBy) expressions.push(source.timestampBy);
      expressions.push(...source.over);
    }
    for (const c of s.clauses) expressions.push(c.kind === 'join' ? c.on : c.call);
    if (s.where) expressions.push(s.where);
    if (s.having) expressions.push(s.having);
    if (s.groupBy) {
      expressions.push(...s.groupBy.keys);
      if (s.groupBy.window?.kind === 'session') expressions.push(...s.groupBy.window.partitionBy);
    }
  }
  while (expressions.length > 0) {
    const e = expressions.pop()!;
    if (e.kind === 'column') {
      const first = e.path[0]!.name.toLowerCase();
      if (e.path.length === 1 && names.has(first)) return null;
      fields.add(first);
      if (e.path.length > 1) fields.add(e.path[1]!.name.toLowerCase());
    } else if (e.kind === 'call') {
      const star = e.args.some((a) => a.kind === 'star');
      if (e.name !== 'count' && (star || e.args.length === 0)) return null;
    }
    expressions.push(...children(e));
  }
  return fields;
}
