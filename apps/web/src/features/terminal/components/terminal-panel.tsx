import { openTerminal, TerminalError, type TerminalSession } from '@farol/client';
import type { TerminalClosed } from '@farol/protocol';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import { useRealtime } from '../../../app/realtime.js';
import { useI18n } from '../../../i18n/i18n.js';
import type { MessageKey } from '../../../i18n/messages.js';
import { Button } from '../../../ui/button.js';
import { Spinner } from '../../../ui/card.js';
import { isMfaRequired, useStepUp } from '../../step-up/step-up.js';
import { installXtermCspAdapter } from '../xterm-csp.js';

type PanelState =
  | { kind: 'opening' }
  | { kind: 'open'; shell: string }
  | { kind: 'closed'; closed: TerminalClosed }
  | { kind: 'refused'; error: TerminalError | Error };

const REFUSALS: Partial<Record<string, MessageKey>> = {
  command_refused: 'terminal.refusedPolicy',
  session_limit: 'terminal.refusedLimit',
  agent_offline: 'terminal.refusedOffline',
  terminal_unavailable: 'terminal.refusedUnavailable',
  mfa_required: 'terminal.refusedMfa',
  forbidden: 'terminal.refusedForbidden',
};

const ENDINGS: Record<TerminalClosed['reason'], MessageKey> = {
  exited: 'terminal.endedExited',
  closed: 'terminal.endedClosed',
  idle_timeout: 'terminal.endedIdle',
  agent_disconnected: 'terminal.endedAgent',
  operator_disconnected: 'terminal.endedConnection',
  hub_shutdown: 'terminal.endedHub',
  error: 'terminal.endedError',
};

/**
 * A live shell on a machine in xterm.js. Bytes from the machine go to xterm as they are (it
 * decodes UTF-8 across chunks) and each chunk is acknowledged from xterm's write callback, so a
 * flood is paced by what the browser can draw. The session closes when the panel goes away.
 */
export function TerminalPanel({ agentId, agentName, attempt, onAgain }: { agentId: string; agentName: string; attempt: number; onAgain(): void }) {
  const { t } = useI18n();
  // Read by the open session's callbacks: a language switch must not reopen the shell.
  const tRef = useRef(t);
  useEffect(() => {
    tRef.current = t;
  }, [t]);
  const { socket } = useRealtime();
  const host = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<PanelState>({ kind: 'opening' });
  const stepUp = useStepUp();
  const onAgainRef = useRef(onAgain);
  useEffect(() => {
    onAgainRef.current = onAgain;
  }, [onAgain]);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    installXtermCspAdapter();
    setState({ kind: 'opening' });
    const term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
      fontSize: 13,
      scrollback: 5_000,
      theme: { background: '#0b1120', foreground: '#e2e8f0', cursor: '#fbbf24', selectionBackground: '#334155' },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(element);
    fit.fit();
    let session: TerminalSession | null = null;
    let disposed = false;
    openTerminal(socket, {
      agent: agentId,
      cols: term.cols,
      rows: term.rows,
      onOutput: (data, done) => term.write(data, done),
      onClosed: (closed) => {
        if (!disposed) setState({ kind: 'closed', closed });
      },
      // Shown in the terminal itself, where the operator is looking; the session stays open.
      onSendError: (error) => {
        if (!disposed) term.write(`\r\n\x1b[33m${tRef.current('terminal.sendFailed', { detail: error.message })}\x1b[0m\r\n`);
      },
    }).then(
      (opened) => {
        if (disposed) {
          void opened.close().catch(() => undefined);
          return;
        }
        session = opened;
        setState({ kind: 'open', shell: opened.shell });
        term.focus();
      },
      (error: unknown) => {
        if (disposed) return;
        const refusal = error instanceof Error ? error : new Error(String(error));
        setState({ kind: 'refused', error: refusal });
        // A terminal needs a recent second factor: ask for it here and open again once given.
        if (isMfaRequired(refusal)) void stepUp.ask().then((ok) => ok && !disposed && onAgainRef.current());
      },
    );
    const subscriptions = [
      term.onData((data) => session?.write(data)),
      // Mouse reports in X10 mode: one byte per character, not UTF-8.
      term.onBinary((data) => session?.write(Uint8Array.from(data, (char) => char.charCodeAt(0) & 0xff))),
      term.onResize(({ cols, rows }) => session?.resize(cols, rows)),
    ];
    const observer = new ResizeObserver(() => {
      if (element.clientWidth > 0 && element.clientHeight > 0) fit.fit();
    });
    observer.observe(element);
    return () => {
      disposed = true;
      observer.disconnect();
      subscriptions.forEach((subscription) => subscription.dispose());
      const open = session as TerminalSession | null;
      if (open) {
        void open.close().catch(() => undefined);
        open.dispose();
      }
      term.dispose();
    };
  }, [socket, agentId, attempt, stepUp]);

  const status = (() => {
    switch (state.kind) {
      case 'opening':
        return (
          <span className="flex items-center gap-2">
            <Spinner className="size-3.5" /> {t('terminal.opening', { name: agentName })}
          </span>
        );
      case 'open':
        return t('terminal.connected', { shell: state.shell });
      case 'closed':
        return t(ENDINGS[state.closed.reason], { code: state.closed.exitCode ?? '?', detail: state.closed.message ?? '' });
      case 'refused': {
        const key = state.error instanceof TerminalError ? REFUSALS[state.error.code] : undefined;
        return key ? t(key, { name: agentName, detail: state.error.message }) : t('terminal.refusedOther', { detail: state.error.message });
      }
    }
  })();
  const over = state.kind === 'closed' || state.kind === 'refused';

  return (
    <div className="flex min-h-0 flex-1 flex-col gap-3">
      <div className="flex min-h-8 flex-wrap items-center justify-between gap-2 text-sm">
        <p role="status" data-testid="terminal-status" data-state={state.kind} className={over ? 'text-amber-700 dark:text-amber-400' : 'text-slate-500 dark:text-slate-400'}>
          {status}
        </p>
        {over && (
          <Button size="sm" onClick={onAgain} data-testid="terminal-again">
            {t('terminal.again')}
          </Button>
        )}
      </div>
      <div className="min-h-0 flex-1 overflow-hidden rounded-lg bg-[#0b1120] p-2 ring-1 ring-slate-800">
        <div ref={host} className="h-full w-full" data-testid="terminal" aria-label={t('terminal.label', { name: agentName })} />
      </div>
    </div>
  );
}
