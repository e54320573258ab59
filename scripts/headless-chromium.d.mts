// Types of scripts/headless-chromium.mjs (plain JavaScript so that examples/browser/build.mjs runs without a compiler).

/** The headers under which a page is cross-origin isolated. */
export declare const ISOLATION_HEADERS: Readonly<Record<string, string>>;
/** The Chromium executable ($CHROMIUM, chromium, chromium-browser), or null. */
export declare function findChromium(): string | null;
/** `chromium --version`, or null. */
export declare function chromiumVersion(bin?: string | null): string | null;
/** Copies onnxruntime-web's runtime files into dest; returns their names. */
export declare function copyOrtWebFiles(dest: string): string[];
/** Copies tfjs-backend-wasm's binaries into dest; returns their names. */
export declare function copyTfjsWasmFiles(dest: string): string[];
/** A served folder. */
export interface ServedFolder {
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  /** The page's POST /report body. */
  report: Promise<any>;
  /** Stops the server. */
  close(): Promise<void>;
}
/** Serves dir on 127.0.0.1 with the cross-origin isolation headers (unless isolate: false). */
export declare function serveFolder(dir: string, options?: { isolate?: boolean; port?: number; onLog?: (line: string) => void; files?: Record<string, Uint8Array> }): Promise<ServedFolder>;
/** Chromium's flags for a headless run. */
export declare function chromiumFlags(profile: string, options?: { gpu?: 'software' | 'off'; extraFlags?: string[] }): string[];
/** A DevTools Protocol session attached to the page (see runInChromium's `devtools`). */
export interface DevToolsPage {
  /** A command of the page's domains (Page, Runtime, DOM, Input, Emulation, ...). */
  send(method: string, params?: Record<string, unknown>): Promise<any>;
  /** A command of the browser's domains (Browser, Target, ...). */
  browser(method: string, params?: Record<string, unknown>): Promise<any>;
  /** Listens for an event (e.g. 'Browser.downloadProgress'). */
  on(method: string, listener: (params: any, sessionId?: string) => void): void;
}
/** Loads url in headless Chromium and waits for the page's report, or for `devtools(page)` driving it over the DevTools Protocol. */
export declare function runInChromium(url: string, options: { report?: Promise<any>; devtools?: (page: DevToolsPage) => Promise<any>; timeoutS?: number; gpu?: 'software' | 'off'; extraFlags?: string[]; chromium?: string }): Promise<any>;
