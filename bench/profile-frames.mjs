// What V8 profiles (CPU and heap) name a frame by: shared by bench/cpu-profile.mjs and
// bench/alloc-profile.mjs.

/** The package, or part of the runtime, a frame belongs to. */
export function groupOf(callFrame) {
  const { url, functionName } = callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node internals';
  const app = /(apps|packages)\/([^/]+)\//.exec(url);
  return app ? `${app[1]}/${app[2]}` : url;
}

/** `function package:line`. */
export const labelOf = (callFrame) => `${callFrame.functionName || '(anonymous)'} ${groupOf(callFrame)}:${callFrame.lineNumber + 1}`;
