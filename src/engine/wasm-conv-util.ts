/** Throws unless a conv kernel's `dataFormat` attribute is NHWC (the only layout wasm runs). */
export function assertNhwc(dataFormat: string | undefined, kernel: string): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${kernel} on wasm: dataFormat '${dataFormat}' is not supported; expected 'NHWC'`);
  }
}
