/** Replaced at build time by the version in the root package.json (scripts/build.mjs). */
declare const __FAROL_VERSION__: string;

declare module '*.sh' {
  const text: string;
  export default text;
}
declare module '*.ps1' {
  const text: string;
  export default text;
}
