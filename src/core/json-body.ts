// Whether a message body is JSON by the feed's rule (docs/feed.md, "Bodies"). The log stores the
// answer with each message; the feed asks again only for rows stored without it.
import { isUtf8 } from 'node:buffer';
import { isJsonText } from './json-text.js';

function declaredJson(contentType: string | undefined | null): boolean | undefined {
  if (contentType === undefined || contentType === null) return undefined;
  const [media, ...params] = contentType.toLowerCase().split(';');
  const type = media!.trim();
  if (type !== 'application/json' && !type.endsWith('+json')) return false;
  const charset = params.map((p) => p.trim()).find((p) => p.startsWith('charset='));
  return charset === undefined || /^charset="?utf-?8"?$/.test(charset);
}

function utf8Encoding(contentEncoding: string | undefined | null): boolean {
  return contentEncoding === undefined || contentEncoding === null || /^utf-?8$/i.test(contentEncoding.trim());
}

/**
 * Whether a body is JSON, so the feed can inline its bytes (docs/feed.md, "Bodies"): valid UTF-8
 * that JSON.parse would accept, no content encoding other than UTF-8, and a content type that is
 * absent, `application/json` or `…+json` (charset UTF-8 if given). The appender stores the answer
 * with the message; the feed calls this only for rows stored without it.
 */
export function isJsonBody(body: Buffer, contentType: string | undefined | null, contentEncoding: string | undefined | null): boolean {
  return declaredJson(contentType) !== false && utf8Encoding(contentEncoding) && isUtf8(body) && isJsonText(body);
}
