import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { FarolError } from '@farol/protocol';

/** First path segments that belong to the hub itself: never answered with the dashboard. */
const HUB_SEGMENTS = new Set(['api', 'socket.io', 'metrics', 'health', 'ready', 'download']);

/**
 * First path segments of the dashboard's own pages (apps/web/src/app/app.tsx): always the page.
 * Any other path gets the page only when a browser navigates to it (it shows its "not found"
 * page); a probe or script asking for `/healthz` gets a 404, not HTML with 200 (#21).
 */
const PAGE_SEGMENTS = new Set(['', 'machines', 'jobs', 'alerts', 'settings', 'audit', 'sign-in', 'login']);

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Files the build also writes as `.br` and `.gz` (scripts/build.mjs). */
const PRECOMPRESSED = new Set(['.js', '.mjs', '.css', '.svg', '.json', '.html']);

/** Vite puts content-hashed files under /assets: their URL changes whenever they do. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Everything else (index.html above all) is revalidated on every load, so a new build shows at once. */
const REVALIDATE = 'no-cache';

interface StaticFile {
  filePath: string;
  size: number;
  mtimeMs: number;
}

/** True for paths the hub answers itself (API, sockets, probes, installers). */
export function isHubPath(urlPath: string): boolean {
  const first = urlPath.split('/')[1] ?? '';
  return HUB_SEGMENTS.has(first) || first.startsWith('install.');
}

/** True for the dashboard's pages, and for other paths a browser navigates to (not files). */
export function isPagePath(urlPath: string, accept: string | undefined): boolean {
  const first = urlPath.split('/')[1] ?? '';
  if (PAGE_SEGMENTS.has(first)) return true;
  if (path.posix.extname(urlPath) !== '') return false;
  return (accept ?? '').split(',').some((type) => type.trim().toLowerCase().startsWith('text/html'));
}

/** `/favicon.ico`, `/robots.txt`: a file name at the root, as opposed to `/machines/db.prod`. */
function isTopLevelFile(urlPath: string): boolean {
  return urlPath.lastIndexOf('/') === 0 && path.extname(urlPath) !== '';
}

async function fileAt(filePath: string): Promise<StaticFile | undefined> {
  try {
    const info = await stat(filePath);
    return info.isFile() ? { filePath, size: info.size, mtimeMs: info.mtimeMs } : undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A missing file is an ordinary answer here (SPA routes are not files); anything else is not.
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG') return undefined;
    throw error;
  }
}

/** Which of the encodings the client accepts (`q=0` means refused). */
export function acceptedEncodings(header: string | undefined): Set<string> {
  const accepted = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) continue;
    accepted.add(name);
  }
  return accepted;
}

/** Maps a URL path to a file inside `root`, or undefined when it would escape it. */
export function resolveInside(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    // Malformed percent-encoding cannot name a file we serve.
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const resolved = path.resolve(root, `.${path.posix.normalize(`/${decoded}`)}`);
  return resolved === root || resolved.startsWith(`${root}${path.sep}`) ? resolved : undefined;
}

async function sendFile(request: FastifyRequest, reply: FastifyReply, file: StaticFile, cacheControl: string): Promise<FastifyReply> {
  const extension = path.extname(file.filePath).toLowerCase();
  const etag = `W/"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}"`;
  reply.header('cache-control', cacheControl).header('etag', etag);
  reply.type(CONTENT_TYPES[extension] ?? 'application/octet-stream');
  if (request.headers['if-none-match'] === etag) return reply.status(304).send();

  let body = file;
  if (PRECOMPRESSED.has(extension)) {
    reply.header('vary', 'accept-encoding');
    const accepted = acceptedEncodings(request.headers['accept-encoding']);
    for (const [encoding, suffix] of [['br', '.br'], ['gzip', '.gz']] as const) {
      if (!accepted.has(encoding)) continue;
      const variant = await fileAt(`${file.filePath}${suffix}`);
      if (!variant) continue;
      reply.header('content-encoding', encoding);
      body = variant;
      break;
    }
  }
  return reply.header('content-length', body.size).send(createReadStream(body.filePath));
}

/**
 * Mission Control: serves the built dashboard (`apps/web/dist`) from the hub's own port.
 * Files are served as they are; any other GET that is not a hub path gets index.html, so the
 * dashboard's own routes (/machines/web-1) survive a reload.
 */
export function webRoutes({ distPath }: { distPath: string }): FastifyPluginAsync {
  const root = path.resolve(distPath);
  const indexPath = path.join(root, 'index.html');

  return async (app) => {
    const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const urlPath = request.url.split('?')[0] ?? '/';
      if (isHubPath(urlPath)) throw new FarolError('not_found', `no route ${request.method} ${urlPath}`);

      const index = await fileAt(indexPath);
      if (!index) throw new FarolError('unavailable', 'dashboard not built; run npm run build');

      const target = resolveInside(root, urlPath);
      const file = target && target !== root ? await fileAt(target) : undefined;
      if (file) return sendFile(request, reply, file, urlPath.startsWith('/assets/') ? IMMUTABLE : REVALIDATE);
      // A missing script or image must not turn into HTML: browsers would try to run the page.
      if (urlPath.startsWith('/assets/') || isTopLevelFile(urlPath)) {
        throw new FarolError('not_found', `no file ${urlPath}`);
      }
      if (!isPagePath(urlPath, request.headers.accept)) throw new FarolError('not_found', `no route ${request.method} ${urlPath}`);
      return sendFile(request, reply, index, REVALIDATE);
    };
    app.get('/', { schema: { hide: true } }, serve);
    app.get('/*', { schema: { hide: true } }, serve);
  };
}
