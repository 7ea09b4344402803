// How a command talks to a RUNNING server: the address comes from the settings the server uses
// (or --url), the token is minted from the data directory's `service` policy, so an operator on
// the server's machine needs none, and a failure says what the server said, or that none answered.
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkServerIdentity, rootCertificates, type PeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { signSasToken } from '../auth/sas.js';
import type { Config } from '../config/index.js';
import { openKeyStore } from '../storage.js';
import { generatedCertificateFiles } from '../tls/tls-certificate.js';
import { UsageError } from './common.js';

/** The policy whose key signs the CLI's token: it holds ServiceConnect, which the admin routes need. */
const POLICY = 'service';
const TOKEN_TTL_SECONDS = 600;
/** Stopping a job waits for its current step; nothing the CLI asks takes longer than this. */
const REQUEST_TIMEOUT_MS = 30_000;

/** The server could not be asked, or said no: the message is for the operator, exit 1. */
export class ServerRequestError extends Error {
  constructor(message: string, readonly status?: number, readonly code?: string) {
    super(message);
    this.name = 'ServerRequestError';
  }
}

/**
 * The server's base URL: `--url` when given, else the plain HTTP port `start` with these settings
 * listens on, written as the server logs it (a wildcard address is reached on 127.0.0.1).
 */
export function serverUrl(config: Config, given: string | undefined): URL {
  if (given !== undefined) {
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw new UsageError(`--url takes the server's address, such as http://127.0.0.1:8080, not '${given}'`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url takes an http:// or https:// address, not '${given}'`);
    // A server behind a proxy may sit under a path: requests resolve below it.
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    url.search = '';
    url.hash = '';
    return url;
  }
  const { host, port } = config.http;
  if (port === 0) throw new UsageError('http.port is 0, so the server picked a free port; give its address with --url URL');
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return new URL(`http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}/`);
}

export class ServerClient {
  private constructor(
    readonly url: URL,
    private readonly token: string,
    private readonly dataDir: string,
    /** The server's certificate (configured, or generated in its data directory): trusted, and accepted whatever name the address has. */
    private readonly certificate: { readonly pem: string; readonly der: Buffer } | undefined,
  ) {}

  /** A client for the server these settings describe (or `url`), with a fresh ServiceConnect token. */
  static async connect(config: Config, url: string | undefined): Promise<ServerClient> {
    const base = serverUrl(config, url);
    if (config.db.url === null && !existsSync(config.dataDir)) {
      throw new ServerRequestError(`no data directory at ${config.dataDir}, so no key to sign a token with; give the server's --data DIR or --config FILE`);
    }
    const keys = await openKeyStore(config);
    let token: string;
    try {
      const policy = keys.policy(POLICY);
      if (!policy) throw new ServerRequestError(`${config.dataDir} has no '${POLICY}' policy to sign a token with`);
      token = signSasToken({ resource: config.hostName, key: policy.primaryKey, keyName: policy.name, expiry: Math.floor(Date.now() / 1000) + TOKEN_TTL_SECONDS });
    } finally {
      await keys.close();
    }
    let certificate: ServerClient['certificate'];
    const certFile = config.http.tlsCert ?? generatedCertificateFiles(config.dataDir).cert;
    if (base.protocol === 'https:' && (config.http.tlsCert || existsSync(certFile))) {
      try {
        const pem = readFileSync(certFile, 'utf8');
        certificate = { pem, der: new X509Certificate(pem).raw };
      } catch (cause) {
        throw new ServerRequestError(`cannot read the server's certificate ${certFile}${config.http.tlsCert ? ' (http.tlsCert)' : ''}: ${cause instanceof Error ? cause.message : String(cause)}`);
      }
    }
    return new ServerClient(base, token, config.dataDir, certificate);
  }

  /** The base URL as messages name it. */
  get address(): string {
    return this.url.pathname === '/' ? this.url.origin : this.url.href;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  /** `path` is relative to the base URL (`api/jobs`); the answer is the JSON body of a 2xx. */
  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const target = new URL(path, this.url);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const options: RequestOptions & { ca?: string[]; checkServerIdentity?: typeof checkServerIdentity } = {
      method,
      headers: {
        authorization: this.token,
        accept: 'application/json',
        ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : { 'content-length': 0 }),
      },
      timeout: REQUEST_TIMEOUT_MS,
    };
    const certificate = this.certificate;
    if (target.protocol === 'https:' && certificate) {
      // The operator's own server: its configured certificate is trusted even when self-signed,
      // and it is the server whatever name it was reached by (127.0.0.1 for 0.0.0.0).
      options.ca = [...rootCertificates, certificate.pem];
      options.checkServerIdentity = (host: string, cert: PeerCertificate) => (cert.raw.equals(certificate.der) ? undefined : checkServerIdentity(host, cert));
    }
    const { status, type, text } = await new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
      const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, options, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(this.unreachable(err)));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => reject(this.unreachable(err)));
      req.end(payload);
    });
    let json: unknown;
    try {
      json = /json/i.test(type) ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (status >= 200 && status < 300 && json !== undefined) return json as T;
    const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    if (error && typeof error.message === 'string') {
      const hint = status === 401 ? `\nthe token was signed with the '${POLICY}' policy's key in ${this.dataDir}; is that the data directory of the server at ${this.address}? (--data, --config)` : '';
      throw new ServerRequestError(`${error.message}${hint}`, status, typeof error.code === 'string' ? error.code : undefined);
    }
    throw new ServerRequestError(`the server at ${this.address} answered ${method} /${path} with ${status} ${type || 'and no content type'}, not Omnistream's JSON; is it an Omnistream server?`, status);
  }

  private unreachable(err: Error & { code?: string }): ServerRequestError {
    const code = err.code ?? '';
    if (/CERT|SELF_SIGNED|SIGNATURE|ALTNAME/.test(code)) {
      return new ServerRequestError(`the server at ${this.address} presented a certificate this machine does not trust (${err.message}); `
        + 'the --config FILE it was started with (http.tlsCert), or NODE_EXTRA_CA_CERTS=FILE, makes it trusted');
    }
    if (code === 'EPROTO' && /wrong version number/.test(err.message)) {
      return new ServerRequestError(`the server at ${this.address} does not speak https (TLS: wrong version number); is its address http://…?`);
    }
    const why = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' ? 'no such host' : err.message.split('\n')[0];
    const hint = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET'].includes(code)
      ? ': is `omnistream start` running there? Name the server with --url URL, or with the --config FILE (or --http-port N) it was started with'
      : '';
    return new ServerRequestError(`cannot reach the server at ${this.address} (${why})${hint}`);
  }
}
