/**
 * A promise that resolves on SIGINT or SIGTERM (or when `finish` is called), holding the
 * event loop open meanwhile: the store's and transport's wake-ups do not. Call `dispose`
 * when done to remove the listeners.
 */
export function untilSignal(): {
  finished: Promise<void>;
  finish: () => void;
  dispose: () => void;
} {
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  process.once('SIGINT', finish);
  process.once('SIGTERM', finish);
  return {
    finished,
    finish,
    dispose: () => {
      clearInterval(keepAlive);
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
    },
  };
}
