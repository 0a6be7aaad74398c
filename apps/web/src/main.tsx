import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { z } from 'zod';
import { App } from './app/app.js';
import './styles.css';

// zod compiles validators with `new Function` unless told not to; the CSP (script-src 'self',
// no 'unsafe-eval') forbids that, and each attempt would be reported as a violation.
z.config({ jitless: true });

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
