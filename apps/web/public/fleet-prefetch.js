// The fleet page's one request, started while the bundle is still downloading and parsing: on a
// slow or busy machine that is most of the first render, and the list (1,000 machines: ~300 KB)
// arrives meanwhile. src/features/fleet/hooks/use-fleet.tsx takes the answer once, checks it
// against the protocol's schema, and asks again itself if anything is off. Same storage keys as
// src/app/session.tsx; only on the fleet page, only with a stored token.
(function () {
  if (window.location.pathname !== '/') return;
  var token = null;
  try {
    token = window.sessionStorage.getItem('farol.token') || window.localStorage.getItem('farol.token');
  } catch {
    // Storage can be disabled (private mode, policy): the page signs in and asks by itself.
    token = null;
  }
  if (!token) return;
  window.__farolFleetPrefetch = {
    token: token,
    requestedAt: Date.now(),
    body: window
      .fetch('/api/agents?view=summary', { headers: { authorization: 'Bearer ' + token, accept: 'application/json' } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .catch(function () {
        // Unreachable hub: the page's own request reports it.
        return null;
      }),
  };
})();
