/** Types for build-staleness.mjs, which the build script runs as plain JavaScript. */
export declare const OUTPUTS: readonly string[];
export declare const INPUTS: readonly string[];
export declare function isUpToDate(root: string): boolean;
