// Runs before the stylesheet paints so a dark-mode user never sees a white flash. Mirrors
// src/app/theme.tsx (same storage key and class names).
(function () {
  var stored = null;
  try {
    stored = window.localStorage.getItem('farol.theme');
  } catch {
    // Storage can be disabled (private mode, policy): follow the system instead.
    stored = null;
  }
  var dark = stored === 'dark' || (stored !== 'light' && window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.classList.toggle('dark', dark);
  document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
})();
