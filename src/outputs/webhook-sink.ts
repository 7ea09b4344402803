// Rows POSTed as JSON batches to a URL. Each row carries its identity (`key`), and the batch an
// Idempotency-Key, so a receiver can drop a batch it already has: after a crash or a failed
// answer, the same rows are sent again.
import { createHash } from 'node:crypto';
import { rowKey, type OutputRow } from './output-row.js';
import type { OutputSink } from './output-sink.js';

export interface WebhookSinkOptions {
  readonly url: string;
  /** Sent with every request (a shared secret, say). */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export class WebhookError extends Error {
  override readonly name = 'WebhookError';
}

export class WebhookSink implements OutputSink {
  constructor(private readonly options: WebhookSinkOptions) {}

  async write(rows: readonly OutputRow[]): Promise<void> {
    if (rows.length === 0) return;
    const items = rows.map((r) => ({ key: rowKey(r), job: r.job, output: r.output, tenant: r.tenant, timestamp: new Date(r.timestampMs).toISOString(), row: r.row }));
    const idempotencyKey = createHash('sha256').update(items.map((i) => i.key).join('\n')).digest('base64url');
    let res: Response;
    try {
      res = await fetch(this.options.url, {
        method: 'POST',
        headers: { ...this.options.headers, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify({ output: rows[0]!.output, rows: items }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      throw new WebhookError(`POST ${this.options.url} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    // The body is not needed, but must be read for the connection to be reused.
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new WebhookError(`POST ${this.options.url} answered ${res.status} ${res.statusText}`);
  }

  async forget(): Promise<void> {
    // A webhook cannot unsend: a replay sends the recomputed rows again, with the same keys.
  }

  async close(): Promise<void> {}
}
