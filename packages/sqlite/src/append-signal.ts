import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Wakes subscribers when events may have committed to a database file.
 *
 * - Appends through any store in this process emit on a process-wide emitter per file.
 * - Appends from other processes touch the `-wal` file; an inotify watch on the directory
 *   (which survives the WAL being deleted and recreated) turns that into a wake-up.
 * - A slow safety tick covers file systems where watches are not delivered (network
 *   mounts). It is a backstop, not the mechanism: a catch-up read costs one indexed query.
 */
export class AppendSignal {
  private static readonly local = new Map<string, EventEmitter>();
  private readonly emitter: EventEmitter;
  private watcher: FSWatcher | undefined;
  private tick: NodeJS.Timeout | undefined;
  private listeners = 0;

  constructor(
    private readonly file: string,
    private readonly safetyTickMs: number,
  ) {
    let emitter = AppendSignal.local.get(file);
    if (!emitter) {
      emitter = new EventEmitter().setMaxListeners(0);
      AppendSignal.local.set(file, emitter);
    }
    this.emitter = emitter;
  }

  /** Tell every subscriber of this file in this process that an append committed. */
  notify(): void {
    this.emitter.emit('append');
  }

  /** Listen for appends; returns the function that stops listening. */
  on(wake: () => void): () => void {
    this.emitter.on('append', wake);
    if (this.listeners++ === 0) this.startWatching();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.emitter.off('append', wake);
      if (--this.listeners === 0) this.stopWatching();
    };
  }

  close(): void {
    this.stopWatching();
  }

  private startWatching(): void {
    if (this.file === ':memory:') return;
    const wal = `${basename(this.file)}-wal`;
    try {
      this.watcher = watch(dirname(this.file), { persistent: false }, (_event, name) => {
        if (name === wal) this.emitter.emit('append');
      });
      this.watcher.on('error', () => this.stopWatcherOnly());
    } catch {
      this.watcher = undefined;
    }
    this.tick = setInterval(() => this.emitter.emit('append'), this.safetyTickMs);
    this.tick.unref();
  }

  private stopWatcherOnly(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private stopWatching(): void {
    this.stopWatcherOnly();
    if (this.tick) clearInterval(this.tick);
    this.tick = undefined;
  }
}
