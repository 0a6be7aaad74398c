/** The text the install script templates carry where the hub's URL goes. */
export const HUB_URL_PLACEHOLDER = '__FAROL_HUB_URL__';

/**
 * Characters that could end a quoted string or start an expansion in sh or PowerShell (quotes,
 * backtick, `$`, backslash, whitespace, control characters), or break XML in the launchd plist.
 */
const UNSAFE_URL_CHARACTERS = /["'`$\\\s<>\p{Cc}]/u;

/**
 * Fills the hub URL into an install script template. The URL ends up inside quoted strings of
 * a shell script that machines run as root, so it is checked rather than escaped: it must be an
 * http(s) URL without credentials, query, fragment or any character that is special to sh or
 * PowerShell. Trailing slashes are dropped so the scripts can append paths.
 */
export function renderInstallScript(template: string, hubUrl: string): string {
  const url = checkHubUrl(hubUrl);
  if (!template.includes(HUB_URL_PLACEHOLDER)) throw new Error(`install script template has no ${HUB_URL_PLACEHOLDER}`);
  return template.replaceAll(HUB_URL_PLACEHOLDER, url);
}

/** Returns the URL without trailing slashes, or throws saying what is wrong with it. */
export function checkHubUrl(hubUrl: string): string {
  if (UNSAFE_URL_CHARACTERS.test(hubUrl)) {
    throw new Error(`hub URL ${JSON.stringify(hubUrl)} contains a quote, space, backtick, $, backslash or control character`);
  }
  let url: URL;
  try {
    url = new URL(hubUrl);
  } catch (error) {
    throw new Error(`hub URL ${JSON.stringify(hubUrl)} is not a URL`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`hub URL ${hubUrl} is not http(s)`);
  if (url.username || url.password) throw new Error('hub URL must not carry credentials');
  if (url.search || url.hash || hubUrl.includes('?') || hubUrl.includes('#')) {
    throw new Error(`hub URL ${hubUrl} must not have a query or fragment`);
  }
  return hubUrl.replace(/\/+$/, '');
}
