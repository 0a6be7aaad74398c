import type { NetworkMachine } from '@farol/protocol';
import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { Link } from '../../../app/router.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { Panel, Spinner } from '../../../ui/card.js';
import { Field, Select } from '../../../ui/field.js';
import { formatNumber } from '../../../ui/format.js';
import { useNetworkPing } from '../hooks/use-network.js';
import { lossPercent } from '../rtt-series.js';
import { formatMs } from './network-parts.js';

/**
 * `network ping` from the dashboard: machine A pings machine B's tailnet, LAN or public address
 * (the hub picks it) and the figures come back; only the machines the operator sees are offered.
 * Shown only to operators with `commands:exec` (the hub checks it and both machines' scope).
 */
export function PingPanel({ machines }: { machines: readonly NetworkMachine[] }) {
  const { t, locale } = useI18n();
  const ping = useNetworkPing();
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const fromId = machines.some((m) => m.agentId === from) ? from : (machines.find((m) => m.status === 'online')?.agentId ?? machines[0]?.agentId ?? '');
  const toId = machines.some((m) => m.agentId === to) && to !== fromId ? to : (machines.find((m) => m.agentId !== fromId)?.agentId ?? '');
  const result = ping.data;
  const loss = result ? lossPercent(result.sent, result.received) : null;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!fromId || !toId) return;
    ping.mutate({ from: fromId, to: toId });
  };

  return (
    <Panel title={t('network.ping.title')} description={t('network.ping.hint')} data-testid="network-ping">
      <form onSubmit={submit} className="flex flex-wrap items-end gap-3">
        <Field label={t('network.ping.from')} className="w-48">
          {({ id }) => (
            <Select id={id} name="from" value={fromId} onChange={(event) => setFrom(event.target.value)}>
              {machines.map((m) => (
                <option key={m.agentId} value={m.agentId}>
                  {m.name}
                </option>
              ))}
            </Select>
          )}
        </Field>
        <Field label={t('network.ping.to')} className="w-48">
          {({ id }) => (
            <Select id={id} name="to" value={toId} onChange={(event) => setTo(event.target.value)}>
              {machines
                .filter((m) => m.agentId !== fromId)
                .map((m) => (
                  <option key={m.agentId} value={m.agentId}>
                    {m.name}
                  </option>
                ))}
            </Select>
          )}
        </Field>
        <Button type="submit" variant="primary" disabled={ping.isPending || !fromId || !toId}>
          {ping.isPending && <Spinner className="size-3.5" />}
          {ping.isPending ? t('network.ping.running') : t('network.ping.run')}
        </Button>
      </form>
      {ping.error && !ping.isPending && (
        <p role="alert" data-testid="network-ping-error" className="mt-3 text-sm text-red-700 dark:text-red-300">
          {t('network.ping.failed', { detail: describeError(ping.error) })}
        </p>
      )}
      {result && !ping.isPending && !ping.error && (
        <div data-testid="network-ping-result" data-state={result.state} data-received={result.received} className="mt-3 text-sm">
          <p className="text-slate-700 dark:text-slate-200">
            {t('network.ping.route', { from: result.from.name, to: result.to.name, address: result.address, kind: t(`network.kind.${result.addressKind}`) })}
          </p>
          <dl className="mt-2 grid grid-cols-2 gap-x-6 gap-y-1 sm:grid-cols-4">
            {(
              [
                ['min', formatMs(result.rttMinMs, locale)],
                ['avg', formatMs(result.rttAvgMs, locale)],
                ['max', formatMs(result.rttMaxMs, locale)],
                ['loss', loss === null ? '—' : `${formatNumber(loss, locale, 1)} % (${result.received}/${result.sent})`],
              ] as const
            ).map(([key, value]) => (
              <div key={key} data-testid={`network-ping-${key}`}>
                <dt className="text-xs text-slate-500 dark:text-slate-400">{t(`network.ping.${key}`)}</dt>
                <dd className="font-mono tabular-nums text-slate-900 dark:text-slate-100">{value}</dd>
              </div>
            ))}
          </dl>
          {result.error && <p className="mt-2 text-xs text-red-700 dark:text-red-300">{result.error}</p>}
          <p className="mt-2 text-xs">
            <Link to={`/jobs/${encodeURIComponent(result.jobId)}`} className="text-indigo-700 hover:underline dark:text-indigo-300">
              {t('network.ping.job')}
            </Link>
          </p>
        </div>
      )}
    </Panel>
  );
}
