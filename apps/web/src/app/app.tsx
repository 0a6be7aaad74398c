import { QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { FleetProvider } from '../features/fleet/hooks/use-fleet.js';
import { StepUpProvider } from '../features/step-up/step-up.js';
import { I18nProvider } from '../i18n/i18n.js';
import { FleetPage } from '../routes/fleet-page.js';
import { NotFoundPage } from '../routes/not-found-page.js';
import { SignInPage } from '../routes/sign-in-page.js';
import { Spinner } from '../ui/card.js';
import { TickerProvider } from '../ui/clock.js';
import { ToastProvider } from '../ui/toast.js';
import { TooltipProvider } from '../ui/tooltip.js';
import { alertSectionOf } from './alert-paths.js';
import { Layout } from './layout.js';
import { createQueryClient } from './query-client.js';
import { RealtimeProvider } from './realtime.js';
import { matchPath, usePathname } from './router.js';
import { SessionProvider, useSession } from './session.js';
import { ThemeProvider } from './theme.js';

// Every page but the fleet loads on demand: the machine page brings uPlot, the others are
// opened less often than the fleet, which is the first render that matters.
const MachinePage = lazy(() => import('../routes/machine-page.js').then((module) => ({ default: module.MachinePage })));
const SettingsPage = lazy(() => import('../routes/settings-page.js').then((module) => ({ default: module.SettingsPage })));
const JobsPage = lazy(() => import('../routes/jobs-page.js').then((module) => ({ default: module.JobsPage })));
const JobPage = lazy(() => import('../routes/job-page.js').then((module) => ({ default: module.JobPage })));
const AuditPage = lazy(() => import('../routes/audit-page.js').then((module) => ({ default: module.AuditPage })));
const ChecksPage = lazy(() => import('../routes/checks-page.js').then((module) => ({ default: module.ChecksPage })));
const CheckPage = lazy(() => import('../routes/check-page.js').then((module) => ({ default: module.CheckPage })));
const NetworkPage = lazy(() => import('../routes/network-page.js').then((module) => ({ default: module.NetworkPage })));
const AlertsPage = lazy(() => import('../routes/alerts-page.js').then((module) => ({ default: module.AlertsPage })));
const ChatActionPage = lazy(() => import('../routes/chat-action-page.js').then((module) => ({ default: module.ChatActionPage })));

function PageFallback() {
  return (
    <div className="flex justify-center py-24 text-slate-400">
      <Spinner className="size-6" />
    </div>
  );
}

function Routes() {
  const pathname = usePathname();
  if (pathname === '/') return <FleetPage />;
  const machine = matchPath('/machines/:name', pathname);
  if (machine?.name) return <MachinePage key={machine.name} name={machine.name} />;
  if (pathname === '/settings') return <SettingsPage />;
  if (pathname === '/jobs') return <JobsPage />;
  const job = matchPath('/jobs/:id', pathname);
  if (job?.id) return <JobPage key={job.id} id={job.id} />;
  if (pathname === '/audit') return <AuditPage />;
  if (pathname === '/checks') return <ChecksPage />;
  const check = matchPath('/checks/:name', pathname);
  if (check?.name) return <CheckPage key={check.name} name={check.name} />;
  if (pathname === '/network') return <NetworkPage />;
  const alertSection = alertSectionOf(pathname);
  if (alertSection) return <AlertsPage section={alertSection} />;
  // Issue #20: where a Slack or Discord action link lands.
  const chatAction = matchPath('/chat/act/:token', pathname);
  if (chatAction?.token) return <ChatActionPage key={chatAction.token} token={chatAction.token} />;
  return <NotFoundPage />;
}

function Gate() {
  const { session, restoring } = useSession();
  if (!session) return restoring ? null : <SignInPage />;
  // Keyed by token: a new sign-in gets a fresh connection and fleet.
  return (
    <RealtimeProvider key={session.token} token={session.token}>
      <FleetProvider>
        <StepUpProvider>
          <Layout>
            <Suspense fallback={<PageFallback />}>
              <Routes />
            </Suspense>
          </Layout>
        </StepUpProvider>
      </FleetProvider>
    </RealtimeProvider>
  );
}

/** Mission Control: providers from the outside in, then the sign-in gate and the pages. */
export function App() {
  const [queryClient] = useState(createQueryClient);
  return (
    <I18nProvider>
      <ThemeProvider>
        <QueryClientProvider client={queryClient}>
          <TooltipProvider delayDuration={300}>
            <ToastProvider>
              <TickerProvider>
                <SessionProvider>
                  <Gate />
                </SessionProvider>
              </TickerProvider>
            </ToastProvider>
          </TooltipProvider>
        </QueryClientProvider>
      </ThemeProvider>
    </I18nProvider>
  );
}
