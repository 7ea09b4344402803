// Matches a request path to routes. Paths are split into segments once; a route's literal
// segments compare exactly and `:param` segments capture.
import { OmniError } from '../core/errors.js';
import type { Route } from './route.js';

interface CompiledRoute {
  readonly route: Route;
  readonly segments: readonly string[];
}

export interface Match {
  readonly route: Route;
  readonly params: Record<string, string>;
}

export class Router {
  /** Routes by segment count, so a request is compared only with routes of its shape. */
  private readonly bySize = new Map<number, CompiledRoute[]>();

  constructor(routes: readonly Route[]) {
    for (const route of routes) {
      const segments = route.path.split('/');
      const list = this.bySize.get(segments.length) ?? [];
      list.push({ route, segments });
      this.bySize.set(segments.length, list);
    }
  }

  /** Every route whose path matches, whatever its method (for 405 and CORS preflights). */
  matchPath(path: string): Match[] {
    const parts = path.split('/');
    const out: Match[] = [];
    for (const c of this.bySize.get(parts.length) ?? []) {
      let params: Record<string, string> | undefined = {};
      for (let i = 0; i < parts.length && params; i++) {
        const want = c.segments[i]!;
        const got = parts[i]!;
        if (want.startsWith(':')) {
          if (got === '') params = undefined;
          else params[want.slice(1)] = decodeSegment(got);
        } else if (want !== got) params = undefined;
      }
      if (params) out.push({ route: c.route, params });
    }
    return out;
  }
}

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch (cause) {
    throw new OmniError('invalid_argument', `Malformed percent-encoding in path segment '${segment}'`, { cause });
  }
}
