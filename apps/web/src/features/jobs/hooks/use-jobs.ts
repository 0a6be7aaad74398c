import { onUiEvent, unwatchJob, watchJob } from '@farol/client';
import type { Job, JobCreate, JobList, JobState } from '@farol/protocol';
import { useInfiniteQuery, useMutation, useQueryClient, type InfiniteData } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useRealtime } from '../../../app/realtime.js';
import { useSignedIn } from '../../../app/session.js';
import { useStepUp } from '../../step-up/step-up.js';
import { applyOutput, applySummary, applyTarget, liveJobFrom, type LiveJob } from '../job-live.js';

export const JOBS_QUERY_KEY = ['jobs'] as const;
const PAGE_SIZE = 25;

function logInvalid(event: string, error: Error): void {
  console.warn(`farol: ignored an invalid ${event} event from the hub`, error);
}

/**
 * The job history, newest first, a page at a time; `job:update` events keep the loaded
 * summaries current, and a job this list has not seen (started elsewhere) reloads it.
 */
export function useJobHistory(state: JobState | undefined) {
  const { client } = useSignedIn();
  const { socket } = useRealtime();
  const queryClient = useQueryClient();
  const queryKey = [...JOBS_QUERY_KEY, state ?? 'all'] as const;
  const query = useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam }) => client.listJobs({ state, limit: PAGE_SIZE, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });

  useEffect(
    () =>
      onUiEvent(
        socket,
        'job:update',
        ({ job }) => {
          let found = false;
          queryClient.setQueriesData<InfiniteData<JobList>>({ queryKey: JOBS_QUERY_KEY }, (data) => {
            if (!data) return data;
            return {
              ...data,
              pages: data.pages.map((page) => ({
                ...page,
                jobs: page.jobs.map((known) => {
                  if (known.id !== job.id) return known;
                  found = true;
                  return job;
                }),
              })),
            };
          });
          if (!found) void queryClient.invalidateQueries({ queryKey: JOBS_QUERY_KEY });
        },
        logInvalid,
      ),
    [socket, queryClient],
  );
  return query;
}

type Change = (live: LiveJob) => LiveJob;

/**
 * One job, live: `job:watch` for the state now and the output so far, then `job:output`,
 * `job:target` and `job:update`. Events that arrive before the watch answer are applied after
 * it (duplicates are recognised by their seq). Changes reach React at most once per frame, so
 * a chatty command does not re-render for every chunk. Watches again after a reconnect.
 */
export function useLiveJob(jobId: string, initial?: Job): { live: LiveJob | null; error: unknown } {
  const { client } = useSignedIn();
  const { socket } = useRealtime();
  const [live, setLive] = useState<LiveJob | null>(() => (initial && initial.id === jobId ? liveJobFrom(initial) : null));
  const [error, setError] = useState<unknown>(null);
  const queue = useRef<Change[]>([]);

  useEffect(() => {
    let active = true;
    let ready = false;
    let frame: number | undefined;
    queue.current = [];
    const flush = () => {
      frame = undefined;
      if (!ready || queue.current.length === 0) return;
      const pending = queue.current;
      queue.current = [];
      setLive((current) => (current ? pending.reduce((next, change) => change(next), current) : current));
    };
    const enqueue = (change: Change) => {
      queue.current.push(change);
      frame ??= requestAnimationFrame(flush);
    };

    const watch = () => {
      ready = false;
      watchJob(socket, jobId)
        .then((answer) => {
          if (!active) return;
          // Chunks queued meanwhile may repeat what the snapshot has: their seq says which.
          setLive(liveJobFrom(answer.job, answer.outputSeq));
          setError(null);
          ready = true;
          flush();
        })
        .catch((failure: unknown) => {
          if (!active) return;
          // Without live events, show the job as stored; the next reconnect tries to watch again.
          client
            .getJob(jobId)
            .then((job) => {
              if (!active) return;
              setLive(liveJobFrom(job));
              setError(null);
            })
            .catch((loadError: unknown) => active && setError(loadError ?? failure));
        });
    };

    const unsubscribers = [
      onUiEvent(socket, 'job:output', (event) => event.jobId === jobId && enqueue((current) => applyOutput(current, event)), logInvalid),
      onUiEvent(socket, 'job:target', (event) => event.jobId === jobId && enqueue((current) => applyTarget(current, event.jobId, event.target)), logInvalid),
      onUiEvent(socket, 'job:update', ({ job }) => job.id === jobId && enqueue((current) => applySummary(current, job)), logInvalid),
      // Events may have been missed (the hub was cut off from the others): a fresh snapshot.
      onUiEvent(socket, 'hub:resync', () => watch(), logInvalid),
    ];
    const onConnect = () => watch();
    socket.on('connect', onConnect);
    if (socket.connected) watch();
    else if (!live) {
      // Not connected yet: show the stored job meanwhile; the connect handler starts the watch.
      client
        .getJob(jobId)
        .then((job) => active && setLive((current) => current ?? liveJobFrom(job)))
        .catch((loadError: unknown) => active && setError(loadError));
    }

    return () => {
      active = false;
      if (frame !== undefined) cancelAnimationFrame(frame);
      socket.off('connect', onConnect);
      unsubscribers.forEach((unsubscribe) => unsubscribe());
      if (socket.connected) unwatchJob(socket, jobId).catch((failure: unknown) => console.warn(`farol: could not stop watching ${jobId}`, failure));
    };
    // `live` is read only to decide whether to fetch a first copy.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [socket, client, jobId]);

  return { live, error };
}

/** Starts a job on a selector; answers with the job (targets queued or sent). */
export function useCreateJob() {
  const { client } = useSignedIn();
  const queryClient = useQueryClient();
  const stepUp = useStepUp();
  return useMutation({
    // Shell scripts need a recent second factor: asked for inline, then the job is sent again.
    mutationFn: (request: JobCreate) => stepUp.run(() => client.createJob(request)),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: JOBS_QUERY_KEY }),
  });
}

export function useCancelJob(jobId: string) {
  const { client } = useSignedIn();
  return useMutation({ mutationFn: () => client.cancelJob(jobId) });
}
