import { createHash } from 'node:crypto';
import type { CheckStatus, StatusPageLanguage } from '@farol/protocol';

/** What a public status page shows of one check: its display name, never the check itself. */
export interface StatusPageRow {
  name: string;
  status: CheckStatus | null;
  /** Oldest first, one per UTC day; null: no runs that day. */
  days: Array<{ day: number; uptime: number | null }>;
  uptime: number | null;
}

export interface StatusPageViewModel {
  title: string;
  description: string | null;
  rows: StatusPageRow[];
  generatedAt: number;
}

/**
 * The one style sheet of every status page. The page carries no script at all; its Content
 * Security Policy allows this style by hash and nothing else (no style attributes, no images,
 * no connections, no forms, no framing).
 */
const STYLE = `
:root{color-scheme:light dark;--bg:#f8fafc;--card:#fff;--text:#0f172a;--muted:#64748b;--line:#e2e8f0;--none:#cbd5e1}
@media (prefers-color-scheme:dark){:root{--bg:#020617;--card:#0f172a;--text:#e2e8f0;--muted:#94a3b8;--line:#1e293b;--none:#334155}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:880px;margin:0 auto;padding:32px 16px}
h1{font-size:26px;margin:0 0 4px}
.lead{color:var(--muted);margin:0 0 20px}
.banner{border-radius:10px;padding:14px 18px;font-weight:600;margin-bottom:20px;color:#fff}
.b-ok{background:#16a34a}.b-degraded{background:#d97706}.b-down{background:#dc2626}.b-unknown{background:#64748b}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin-bottom:12px}
.head{display:flex;justify-content:space-between;gap:12px;flex-wrap:wrap;margin-bottom:10px}
.name{font-weight:600}
.st{font-size:13px;font-weight:600}
.s-ok{color:#16a34a}.s-degraded{color:#d97706}.s-down{color:#dc2626}.s-unknown{color:var(--muted)}
.bars{display:flex;gap:2px;height:34px}
.bars span{flex:1;border-radius:2px;min-width:2px}
.d0{background:var(--none)}.d1{background:#16a34a}.d2{background:#65a30d}.d3{background:#d97706}.d4{background:#dc2626}
.scale{display:flex;justify-content:space-between;color:var(--muted);font-size:12px;margin-top:6px}
footer{color:var(--muted);font-size:12px;margin-top:24px;text-align:center}
`;

export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);

type Shown = 'ok' | 'degraded' | 'down' | 'unknown';
/** The languages a page is written in (the dashboard's two). */
export type PageLanguage = Exclude<StatusPageLanguage, 'auto'>;

interface Words {
  status: Record<Shown, string>;
  banner: Record<Shown, string>;
  noData: string;
  decimal: string;
  dailyUptime: (days: number) => string;
  daysAgo: (days: number) => string;
  uptime: (percent: string) => string;
  today: string;
  updated: (when: string) => string;
  when: (date: Date) => string;
}

const iso = (date: Date): string => date.toISOString().replace('T', ' ').slice(0, 16);
const WORDS: Record<PageLanguage, Words> = {
  en: {
    status: { ok: 'Operational', degraded: 'Degraded', down: 'Down', unknown: 'No data' },
    banner: { ok: 'All services are operational', degraded: 'Some services are degraded', down: 'Some services are down', unknown: 'Status unknown for some services' },
    noData: 'no data',
    decimal: '.',
    dailyUptime: (days) => `Daily uptime, last ${days} days`,
    daysAgo: (days) => `${days} days ago`,
    uptime: (percent) => `${percent} uptime`,
    today: 'Today',
    updated: (when) => `Updated ${when} UTC`,
    when: iso,
  },
  'pt-BR': {
    status: { ok: 'Operacional', degraded: 'Degradado', down: 'Fora do ar', unknown: 'Sem dados' },
    banner: {
      ok: 'Todos os serviços estão operacionais',
      degraded: 'Alguns serviços estão degradados',
      down: 'Alguns serviços estão fora do ar',
      unknown: 'Situação desconhecida de alguns serviços',
    },
    noData: 'sem dados',
    decimal: ',',
    dailyUptime: (days) => `Disponibilidade diária, últimos ${days} dias`,
    daysAgo: (days) => `há ${days} dias`,
    uptime: (percent) => `${percent} de disponibilidade`,
    today: 'Hoje',
    updated: (when) => `Atualizado em ${when} UTC`,
    when: (date) => {
      const text = iso(date);
      return `${text.slice(8, 10)}/${text.slice(5, 7)}/${text.slice(0, 4)} ${text.slice(11)}`;
    },
  },
};

/**
 * The language for a visitor: the page's own, or with `auto` the first language of the
 * browser's Accept-Language (by weight) that a page is written in; English otherwise.
 */
export function pickPageLanguage(setting: StatusPageLanguage, acceptLanguage: string | undefined): PageLanguage {
  if (setting !== 'auto') return setting;
  const wanted = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const weight = q === undefined ? 1 : Number(q.slice(2));
      return { primary: tag.trim().toLowerCase().split('-')[0] ?? '', weight: Number.isFinite(weight) ? weight : 0, index };
    })
    .filter((entry) => entry.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index);
  for (const { primary } of wanted) {
    if (primary === 'pt') return 'pt-BR';
    if (primary === 'en') return 'en';
  }
  return 'en';
}

function shown(status: CheckStatus | null): Shown {
  if (status === 'ok') return 'ok';
  if (status === 'warning') return 'degraded';
  if (status === 'critical') return 'down';
  return 'unknown';
}

function dayClass(uptime: number | null): string {
  if (uptime === null) return 'd0';
  if (uptime >= 100) return 'd1';
  if (uptime >= 99) return 'd2';
  if (uptime >= 95) return 'd3';
  return 'd4';
}

const percentText = (value: number | null, words: Words): string =>
  value === null ? words.noData : `${value.toFixed(value >= 99.995 || value === 0 ? 0 : 2).replace('.', words.decimal)}%`;

function banner(rows: readonly StatusPageRow[]): Shown {
  const states = rows.map((row) => shown(row.status));
  if (states.includes('down')) return 'down';
  if (states.includes('degraded')) return 'degraded';
  if (states.length > 0 && states.every((state) => state === 'ok')) return 'ok';
  return 'unknown';
}

/** The whole page in one language: plain HTML, every value escaped, the style inline (allowed by hash, the same for every language). */
export function renderStatusPage(page: StatusPageViewModel, language: PageLanguage = 'en'): string {
  const words = WORDS[language];
  const top = banner(page.rows);
  const sections = page.rows
    .map((row) => {
      const state = shown(row.status);
      const bars = row.days
        .map((day) => `<span class="${dayClass(day.uptime)}" title="${words.when(new Date(day.day)).slice(0, 10)}: ${percentText(day.uptime, words)}"></span>`)
        .join('');
      return `<section data-check>
<div class="head"><span class="name">${escapeHtml(row.name)}</span><span class="st s-${state}">${words.status[state]}</span></div>
<div class="bars" aria-label="${words.dailyUptime(row.days.length)}">${bars}</div>
<div class="scale"><span>${words.daysAgo(row.days.length)}</span><span>${words.uptime(percentText(row.uptime, words))}</span><span>${words.today}</span></div>
</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(page.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(page.title)}</h1>
${page.description ? `<p class="lead">${escapeHtml(page.description)}</p>` : '<p class="lead"></p>'}
<div class="banner b-${top}" data-overall="${top}">${words.banner[top]}</div>
${sections}
<footer>${words.updated(words.when(new Date(page.generatedAt)))}</footer>
</main>
</body>
</html>
`;
}
