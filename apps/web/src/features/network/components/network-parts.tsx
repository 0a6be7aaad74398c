import type { NetworkGroup, NetworkLink, NetworkMachine, NetworkWorseReason } from '@farol/protocol';
import { Link } from '../../../app/router.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Pill } from '../../jobs/components/job-parts.js';

/** A round trip in ms, with a precision that suits its size; a dash when unknown. */
export function formatMs(value: number | null, locale: string): string {
  if (value === null) return '—';
  return `${value.toLocaleString(locale, { maximumFractionDigits: value < 10 ? 2 : 1 })} ms`;
}

const machinePath = (name: string): string => `/machines/${encodeURIComponent(name)}`;

/** Why a machine got worse, in the reader's language (the hub sends a code and its figures). */
function ReasonText({ reason }: { reason: NetworkWorseReason }) {
  const { t, locale } = useI18n();
  switch (reason.code) {
    case 'hub_rtt_up':
      return <>{t('network.reason.hubRttUp', { recent: formatMs(reason.recentP50Ms, locale), usual: formatMs(reason.baselineP50Ms, locale) })}</>;
    case 'link_relayed':
      return <>{reason.relay ? t('network.reason.linkRelayedVia', { peer: reason.peerName, region: reason.relay }) : t('network.reason.linkRelayed', { peer: reason.peerName })}</>;
  }
}

export function GroupCard({ group, machines }: { group: NetworkGroup; machines: ReadonlyMap<string, NetworkMachine> }) {
  const { t, locale } = useI18n();
  return (
    <li className="rounded-lg border border-slate-200 p-3 dark:border-slate-800" data-testid="network-group" data-kind={group.kind} data-key={group.key}>
      <div className="flex flex-wrap items-center gap-2">
        <Pill tone={group.kind === 'tailnet' ? 'active' : group.kind === 'lan' ? 'good' : 'neutral'}>{t(`network.kind.${group.kind}`)}</Pill>
        <span className="font-mono text-sm text-slate-900 dark:text-slate-100">{group.key}</span>
      </div>
      <ul className="mt-2 flex flex-col gap-1 text-sm">
        {group.agentIds.map((id) => {
          const machine = machines.get(id);
          if (!machine) return null;
          return (
            <li key={id} className="flex items-center justify-between gap-3" data-testid="network-group-machine" data-name={machine.name}>
              <Link to={machinePath(machine.name)} className="truncate text-indigo-700 hover:underline dark:text-indigo-300">
                {machine.name}
              </Link>
              <span className="flex items-center gap-2 font-mono text-xs tabular-nums text-slate-500 dark:text-slate-400">
                {formatMs(machine.hubRtt.lastMs, locale)}
                {machine.worse && <Pill tone="bad">{t('network.worse')}</Pill>}
              </span>
            </li>
          );
        })}
      </ul>
    </li>
  );
}

export function MachineRow({ machine }: { machine: NetworkMachine }) {
  const { t, locale } = useI18n();
  return (
    <tr data-testid="network-machine" data-name={machine.name} data-worse={String(machine.worse)} className="align-top">
      <td className="px-4 py-3">
        <Link to={machinePath(machine.name)} className="font-medium text-indigo-700 hover:underline dark:text-indigo-300">
          {machine.name}
        </Link>
        {machine.reasons.map((reason, index) => (
          <p key={index} className="mt-0.5 text-xs text-red-700 dark:text-red-300" data-testid="network-reason" data-code={reason.code}>
            <ReasonText reason={reason} />
          </p>
        ))}
      </td>
      <td className="px-4 py-3">
        <Pill tone={machine.status === 'online' ? 'good' : 'neutral'}>{t(machine.status === 'online' ? 'network.online' : 'network.offline')}</Pill>
      </td>
      <td className="px-4 py-3 text-right font-mono text-xs tabular-nums" data-testid="network-rtt">
        {formatMs(machine.hubRtt.lastMs, locale)}
      </td>
      <td className="px-4 py-3 text-right font-mono text-xs tabular-nums">{formatMs(machine.hubRtt.recentP50Ms, locale)}</td>
      <td className="px-4 py-3 text-right font-mono text-xs tabular-nums">{formatMs(machine.hubRtt.baselineP50Ms, locale)}</td>
      <td className="px-4 py-3 text-xs">
        {machine.directLinks + machine.relayedLinks === 0 ? '—' : t('network.linkCounts', { direct: machine.directLinks, relayed: machine.relayedLinks })}
      </td>
      <td className="px-4 py-3">{machine.worse ? <Pill tone="bad">{t('network.worse')}</Pill> : <Pill tone="good">{t('network.ok')}</Pill>}</td>
    </tr>
  );
}

export function LinkRow({ link, machines }: { link: NetworkLink; machines: ReadonlyMap<string, NetworkMachine> }) {
  const { t, locale } = useI18n();
  const from = machines.get(link.from)?.name ?? link.from;
  const to = link.to ? (machines.get(link.to)?.name ?? link.peerName) : link.peerName;
  const path = !link.online ? 'offline' : link.direct ? 'direct' : 'relayed';
  return (
    <tr data-testid="network-link" data-from={from} data-to={to} data-path={path} data-worse={String(link.worse)}>
      <td className="px-4 py-2">{from}</td>
      <td className="px-4 py-2">
        {to}
        {link.to === null && <span className="ml-1 text-xs text-slate-500 dark:text-slate-400">{t('network.noAgent')}</span>}
      </td>
      <td className="px-4 py-2">
        <Pill tone={path === 'direct' ? 'good' : path === 'relayed' ? 'warn' : 'neutral'}>{t(`network.path.${path}`)}</Pill>
      </td>
      <td className="px-4 py-2 font-mono text-xs">{link.direct ? (link.curAddr ?? '—') : link.relay ? t('network.viaDerp', { region: link.relay }) : '—'}</td>
      <td className="px-4 py-2 text-right font-mono text-xs tabular-nums">{formatMs(link.latencyMs, locale)}</td>
      <td className="px-4 py-2">{link.worse && <Pill tone="bad">{t('network.wasDirect')}</Pill>}</td>
    </tr>
  );
}
