import { createScreenshotsClient, FarolApiError } from '@farol/client';
import type { Agent } from '@farol/protocol';
import { useMutation } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useSignedIn } from '../../../app/session.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button, buttonClasses } from '../../../ui/button.js';
import { ErrorNote, Spinner } from '../../../ui/card.js';
import { Modal } from '../../../ui/dialog.js';
import { formatBytes, formatDateTime } from '../../../ui/format.js';
import { MonitorIcon } from '../../../ui/icons.js';

interface Shot {
  /** A blob: URL of the PNG (CSP img-src allows blob:), revoked when replaced or closed. */
  url: string;
  width: number;
  height: number;
  bytes: number;
  takenAt: number;
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return png.length >= 24 ? { width: view.getUint32(16), height: view.getUint32(20) } : { width: 0, height: 0 };
}

/**
 * Takes a screenshot when opened and shows it, with a download link. The image is fetched with
 * the operator's token (an <img> cannot send it) and shown from a blob: URL.
 */
function ScreenshotDialog({ agent, onClose }: { agent: Agent; onClose(): void }) {
  const { t, locale } = useI18n();
  const { clientOptions } = useSignedIn();
  const client = useMemo(() => createScreenshotsClient(clientOptions), [clientOptions]);
  const [shot, setShot] = useState<Shot | null>(null);
  const take = useMutation({
    mutationFn: () => client.takeScreenshot(agent.id),
    onSuccess: ({ png }) => {
      const url = URL.createObjectURL(new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
      setShot({ url, ...pngSize(png), bytes: png.length, takenAt: Date.now() });
    },
  });
  const { mutate } = take;
  useEffect(() => mutate(), [mutate]);
  useEffect(() => () => {
    if (shot) URL.revokeObjectURL(shot.url);
  }, [shot]);

  const failure = (() => {
    const error = take.error;
    if (!error) return null;
    if (error instanceof FarolApiError) {
      if (error.code === 'no_display') return t('screenshot.noDisplay', { name: agent.name });
      if (error.code === 'agent_offline') return t('screenshot.offline', { name: agent.name });
      if (error.code === 'command_refused') return t('screenshot.refused', { detail: (error.detail ?? '').replace(/^[^:]+ refused: /, '') });
    }
    return t('screenshot.failed', { detail: describeError(error) });
  })();
  const stamp = shot ? new Date(shot.takenAt).toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-') : '';

  return (
    <Modal open onOpenChange={(open) => !open && onClose()} title={t('screenshot.title', { name: agent.name })} wide>
      <div className="flex flex-col gap-4" data-testid="screenshot-dialog">
        {take.isPending && (
          <div role="status" className="flex items-center justify-center gap-2 py-16 text-sm text-slate-500 dark:text-slate-400">
            <Spinner className="size-5" /> {t('screenshot.taking')}
          </div>
        )}
        {failure && !take.isPending && <ErrorNote>{failure}</ErrorNote>}
        {shot && !take.isPending && (
          <>
            <a href={shot.url} target="_blank" rel="noreferrer" className="block overflow-hidden rounded-lg ring-1 ring-slate-200 dark:ring-slate-800">
              <img src={shot.url} alt={t('screenshot.alt', { name: agent.name, width: shot.width, height: shot.height })} className="h-auto w-full" data-testid="screenshot-image" />
            </a>
            <p className="text-xs text-slate-500 dark:text-slate-400">
              {t('screenshot.meta', { width: shot.width, height: shot.height, size: formatBytes(shot.bytes, locale), time: formatDateTime(shot.takenAt, locale) })}
            </p>
          </>
        )}
        <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
          <Button onClick={() => mutate()} disabled={take.isPending}>
            {t('screenshot.again')}
          </Button>
          {shot && !take.isPending && (
            <a href={shot.url} download={`${agent.name}-${stamp}.png`} className={buttonClasses('primary')} data-testid="screenshot-download">
              {t('screenshot.download')}
            </a>
          )}
        </div>
      </div>
    </Modal>
  );
}

/** The "Screenshot" button of a machine page. */
export function ScreenshotButton({ agent }: { agent: Agent }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button size="sm" onClick={() => setOpen(true)} data-testid="screenshot-button">
        <MonitorIcon className="size-3.5" /> {t('screenshot.button')}
      </Button>
      {open && <ScreenshotDialog agent={agent} onClose={() => setOpen(false)} />}
    </>
  );
}
