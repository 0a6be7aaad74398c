import { createHash } from 'node:crypto';
import { FarolError, StatusPageInputSchema, toFieldIssues, type CheckSource, type StatusPage, type StatusPageInput, type StatusPageSpec } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { AuditService } from '../audit/audit.service.js';
import type { ChecksRepository, StatusPageRecord } from './checks.repository.js';
import type { ChecksService } from './checks.service.js';
import { pickPageLanguage, renderStatusPage, type PageLanguage, type StatusPageRow } from './status-page.view.js';

const DAY_MS = 86_400_000;
/** Days of uptime bars on a public page. */
export const STATUS_PAGE_DAYS = 90;
/** A rendered public page is reused this long (also its Cache-Control max-age). */
export const STATUS_PAGE_CACHE_MS = 30_000;

export interface RenderedStatusPage {
  html: string;
  etag: string;
  language: PageLanguage;
  /** The page follows the visitor's Accept-Language (its setting is `auto`): caches must vary on it. */
  negotiated: boolean;
}

/**
 * Public status pages (issue #19): which checks a page shows and under which names, and the
 * page itself. Pages are read from the database on each change and each render (they are few),
 * so every hub of a cluster serves the same; a rendered page is kept STATUS_PAGE_CACHE_MS.
 */
export function createStatusPagesService({
  repo,
  checks,
  audit,
  clock,
}: {
  repo: Pick<ChecksRepository, 'statusPages' | 'insertStatusPage' | 'updateStatusPage' | 'deleteStatusPage'>;
  checks: Pick<ChecksService, 'definition' | 'list' | 'hourlyTotals'>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
}) {
  /** By `slug|language`. */
  const rendered = new Map<string, { at: number; page: RenderedStatusPage }>();
  const forget = (slug: string): void => {
    for (const language of ['en', 'pt-BR'] as const) rendered.delete(`${slug}|${language}`);
  };

  async function find(ref: string): Promise<StatusPageRecord> {
    const found = (await repo.statusPages()).find((page) => page.slug === ref || page.id === ref);
    if (!found) throw new FarolError('not_found', `no status page "${ref}"`);
    return found;
  }

  function validate(input: StatusPageInput): StatusPageSpec {
    const parsed = StatusPageInputSchema.safeParse(input);
    if (!parsed.success) throw new FarolError('validation_failed', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), { issues: toFieldIssues(parsed.error) });
    return parsed.data;
  }

  /** Check names or ids → ids; a check that does not exist is a field problem. */
  function resolveEntries(spec: StatusPageSpec): StatusPageRecord['entries'] {
    const entries: StatusPageRecord['entries'] = [];
    const issues: Array<{ path: string; message: string }> = [];
    spec.checks.forEach((entry, index) => {
      try {
        entries.push({ checkId: checks.definition(entry.check).id, name: entry.name });
      } catch (error) {
        if (!(error instanceof FarolError) || error.code !== 'not_found') throw error;
        issues.push({ path: `checks.${index}.check`, message: `no check "${entry.check}"` });
      }
    });
    if (issues.length > 0) throw new FarolError('validation_failed', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
    const ids = new Set<string>();
    for (const [index, entry] of entries.entries()) {
      if (ids.has(entry.checkId)) throw new FarolError('validation_failed', `checks.${index}.check: the same check is listed twice`, { issues: [{ path: `checks.${index}.check`, message: 'the same check is listed twice' }] });
      ids.add(entry.checkId);
    }
    return entries;
  }

  function view(page: StatusPageRecord): StatusPage {
    return {
      id: page.id,
      slug: page.slug,
      title: page.title,
      description: page.description,
      language: page.language,
      checks: page.entries.map((entry) => {
        let checkName: string | null = null;
        try {
          checkName = checks.definition(entry.checkId).name;
        } catch (error) {
          // Deleted since: the page leaves it out; the listing says so with null.
          if (!(error instanceof FarolError) || error.code !== 'not_found') throw error;
        }
        return { checkId: entry.checkId, checkName, name: entry.name };
      }),
      source: page.source,
      path: `/status/${page.slug}`,
      createdAt: page.createdAt,
      updatedAt: page.updatedAt,
    };
  }

  async function refuseTaken(slug: string, exceptId?: string): Promise<void> {
    if ((await repo.statusPages()).some((page) => page.slug === slug && page.id !== exceptId)) throw new FarolError('name_taken', `a status page "${slug}" exists`);
  }

  function refuseFilePage(page: StatusPageRecord): void {
    if (page.source === 'file') throw new FarolError('conflict', `status page "${page.slug}" comes from FAROL_CHECKS_FILE: change it there`);
  }

  function recordFrom(spec: StatusPageSpec, base: { id: string; createdAt: number; source: CheckSource }): StatusPageRecord {
    return {
      ...base,
      slug: spec.slug,
      title: spec.title,
      description: spec.description || null,
      entries: resolveEntries(spec),
      language: spec.language,
      updatedAt: clock.now(),
    };
  }

  const auditDetails = (page: StatusPageRecord) => ({ statusPageId: page.id, slug: page.slug, title: page.title, language: page.language, checks: page.entries.length });

  async function build(page: StatusPageRecord, language: PageLanguage): Promise<RenderedStatusPage> {
    const now = clock.now();
    const today = Math.floor(now / DAY_MS) * DAY_MS;
    const since = today - (STATUS_PAGE_DAYS - 1) * DAY_MS;
    const states = new Map((await checks.list()).map((check) => [check.id, check]));
    const live = page.entries.filter((entry) => states.has(entry.checkId));
    const perDay = new Map<string, { up: number; down: number }>();
    for (const row of await checks.hourlyTotals(
      live.map((entry) => entry.checkId),
      since,
    )) {
      const key = `${row.checkId}|${Math.floor(row.hour / DAY_MS) * DAY_MS}`;
      const total = perDay.get(key) ?? { up: 0, down: 0 };
      total.up += row.up;
      total.down += row.down;
      perDay.set(key, total);
    }
    const rows: StatusPageRow[] = live.map((entry) => {
      let up = 0;
      let down = 0;
      const days: StatusPageRow['days'] = [];
      for (let day = since; day <= today; day += DAY_MS) {
        const total = perDay.get(`${entry.checkId}|${day}`);
        up += total?.up ?? 0;
        down += total?.down ?? 0;
        days.push({ day, uptime: total && total.up + total.down > 0 ? (total.up / (total.up + total.down)) * 100 : null });
      }
      return { name: entry.name, status: states.get(entry.checkId)!.status, days, uptime: up + down > 0 ? (up / (up + down)) * 100 : null };
    });
    const html = renderStatusPage({ title: page.title, description: page.description, rows, generatedAt: now }, language);
    return { html, etag: `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"`, language, negotiated: page.language === 'auto' };
  }

  return {
    async list(): Promise<StatusPage[]> {
      return (await repo.statusPages()).map(view);
    },

    async get(ref: string): Promise<StatusPage> {
      return view(await find(ref));
    },

    async create(input: StatusPageInput, actor: string): Promise<StatusPage> {
      const spec = validate(input);
      await refuseTaken(spec.slug);
      const now = clock.now();
      const page = recordFrom(spec, { id: randomId('stp'), createdAt: now, source: 'api' });
      await repo.insertStatusPage(page);
      await audit.record({ actor, action: 'status_page.create', details: auditDetails(page) });
      return view(page);
    },

    async replace(ref: string, input: StatusPageInput, actor: string): Promise<StatusPage> {
      const current = await find(ref);
      refuseFilePage(current);
      const spec = validate(input);
      await refuseTaken(spec.slug, current.id);
      const page = recordFrom(spec, current);
      await repo.updateStatusPage(page);
      await audit.record({ actor, action: 'status_page.update', details: { ...auditDetails(page), ...(current.slug !== page.slug ? { previousSlug: current.slug } : {}) } });
      forget(current.slug);
      return view(page);
    },

    async remove(ref: string, actor: string): Promise<void> {
      const page = await find(ref);
      refuseFilePage(page);
      await repo.deleteStatusPage(page.id);
      await audit.record({ actor, action: 'status_page.delete', details: auditDetails(page) });
      forget(page.slug);
    },

    /** FAROL_CHECKS_FILE's `statusPages:` at start, after its checks: created, replaced or deleted by slug. */
    async applyFilePages(specs: readonly StatusPageSpec[], file: string): Promise<{ created: number; updated: number; deleted: number }> {
      const counts = { created: 0, updated: 0, deleted: 0 };
      const actor = `file:${file}`;
      const stored = await repo.statusPages();
      for (const input of specs) {
        const spec = validate(input);
        const existing = stored.find((page) => page.slug === spec.slug);
        if (existing) {
          const page = recordFrom(spec, { id: existing.id, createdAt: existing.createdAt, source: 'file' });
          if (JSON.stringify({ ...page, updatedAt: 0 }) === JSON.stringify({ ...existing, updatedAt: 0 })) continue;
          await repo.updateStatusPage(page);
          await audit.record({ actor, action: 'status_page.update', details: auditDetails(page) });
          counts.updated++;
        } else {
          const page = recordFrom(spec, { id: randomId('stp'), createdAt: clock.now(), source: 'file' });
          await repo.insertStatusPage(page);
          await audit.record({ actor, action: 'status_page.create', details: auditDetails(page) });
          counts.created++;
        }
      }
      const slugs = new Set(specs.map((spec) => spec.slug));
      for (const page of stored) {
        if (page.source !== 'file' || slugs.has(page.slug)) continue;
        await repo.deleteStatusPage(page.id);
        await audit.record({ actor, action: 'status_page.delete', details: auditDetails(page) });
        counts.deleted++;
      }
      rendered.clear();
      return counts;
    },

    /**
     * The public page in the visitor's language (the page's setting, or with `auto` the
     * browser's Accept-Language), or undefined when there is no such slug. Each language's
     * rendering is reused for STATUS_PAGE_CACHE_MS.
     */
    async publicPage(slug: string, acceptLanguage?: string): Promise<RenderedStatusPage | undefined> {
      const now = clock.now();
      const negotiated = pickPageLanguage('auto', acceptLanguage);
      const cached = rendered.get(`${slug}|${negotiated}`) ?? rendered.get(`${slug}|${negotiated === 'en' ? 'pt-BR' : 'en'}`);
      // A page fixed to one language is cached under it, whatever the visitor asked for.
      if (cached && now - cached.at < STATUS_PAGE_CACHE_MS && (cached.page.language === negotiated || !cached.page.negotiated)) return cached.page;
      const page = (await repo.statusPages()).find((candidate) => candidate.slug === slug);
      if (!page) {
        forget(slug);
        return undefined;
      }
      const language = pickPageLanguage(page.language, acceptLanguage);
      const built = await build(page, language);
      // Bounded: only existing slugs are kept (two languages each), and pages are few.
      rendered.set(`${slug}|${language}`, { at: now, page: built });
      return built;
    },
  };
}
export type StatusPagesService = ReturnType<typeof createStatusPagesService>;
