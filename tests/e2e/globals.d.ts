// Values the browser tests park on the page's window (page.evaluate): any
// property whose name starts with two underscores.
export {};
declare global {
  interface Window {
    [key: `__${string}`]: any;
  }
}
