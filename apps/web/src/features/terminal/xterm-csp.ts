/**
 * Makes xterm.js work under the dashboard's Content-Security-Policy (`style-src 'self'`, no
 * 'unsafe-inline') without weakening it. xterm injects its theme, cell metrics and scrollbar
 * colours as `<style>` elements, and colours 24-bit cells with `setAttribute('style', …)`; the
 * CSP blocks both (they are inline style markup). What it allows is CSSOM: constructed
 * stylesheets and `element.style`. So, once, for the whole page:
 *
 * - `document.createElement('style')` returns a `<farol-csp-style>` element whose text goes
 *   into a constructed stylesheet, adopted by the document while the element is connected;
 * - `setAttribute('style', text)` sets `element.style.cssText` instead, the same declarations
 *   through CSSOM.
 *
 * No script or style markup becomes allowed; inline `<style>` could never work on this page
 * anyway, so nothing else can depend on the originals. (Radix's `<style>` is handled the same
 * way by app/csp-style-singleton.ts.)
 */
let installed = false;

class CspStyleElement extends HTMLElement {
  readonly #sheet = new CSSStyleSheet();
  #text = '';

  override get textContent(): string {
    return this.#text;
  }

  override set textContent(text: string | null) {
    this.#text = text ?? '';
    this.#sheet.replaceSync(this.#text);
  }

  get sheet(): CSSStyleSheet {
    return this.#sheet;
  }

  connectedCallback(): void {
    if (!document.adoptedStyleSheets.includes(this.#sheet)) document.adoptedStyleSheets = [...document.adoptedStyleSheets, this.#sheet];
  }

  disconnectedCallback(): void {
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((sheet) => sheet !== this.#sheet);
  }
}

export function installXtermCspAdapter(): void {
  if (installed) return;
  installed = true;
  // A module loaded twice (hot reload) finds the element already defined.
  if (!customElements.get('farol-csp-style')) customElements.define('farol-csp-style', CspStyleElement);
  const createElement = Document.prototype.createElement;
  Document.prototype.createElement = function patchedCreateElement(this: Document, tagName: string, options?: ElementCreationOptions) {
    if (typeof tagName === 'string' && tagName.toLowerCase() === 'style') return createElement.call(this, 'farol-csp-style', options);
    return createElement.call(this, tagName, options);
  } as typeof Document.prototype.createElement;
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function patchedSetAttribute(this: Element, name: string, value: string) {
    if (name.toLowerCase() === 'style' && (this instanceof HTMLElement || this instanceof SVGElement)) {
      this.style.cssText = value;
      return;
    }
    setAttribute.call(this, name, value);
  };
}
