/* global self */
// Mission Control's service worker (issue #20): shows the alert notices the hub pushes to this
// browser (Web Push, decrypted by the browser) and opens the alert when one is clicked. It is
// served from the root so its scope is the whole dashboard; it caches nothing.
'use strict';

self.addEventListener('push', (event) => {
  let message = null;
  try {
    message = event.data ? event.data.json() : null;
  } catch (error) {
    console.warn('farol: a push message that is not JSON was ignored', error);
  }
  if (!message || message.kind !== 'alert' || !message.notice) return;
  const notice = message.notice;
  const mark = notice.event === 'resolved' ? '✓' : notice.severity === 'critical' ? '‼' : '⚠';
  const title = `${mark} ${notice.ruleName}${notice.agentName ? ` · ${notice.agentName}` : ''}`;
  event.waitUntil(
    self.registration.showNotification(title, {
      body: notice.summary,
      // One notification per alert: a repeat or its resolution replaces the earlier one.
      tag: notice.alertId,
      renotify: notice.event !== 'resolved',
      requireInteraction: notice.severity === 'critical' && notice.event !== 'resolved',
      icon: '/favicon.svg',
      data: { path: '/alerts' },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const path = (event.notification.data && event.notification.data.path) || '/alerts';
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      for (const client of windows) {
        if (new URL(client.url).origin === self.location.origin && 'focus' in client) {
          return client.navigate(path).then((navigated) => (navigated || client).focus());
        }
      }
      return self.clients.openWindow(path);
    }),
  );
});
