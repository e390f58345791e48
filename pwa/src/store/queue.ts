// Writes to the local store, one at a time, in the order they were asked for:
// a document's change records must be committed in the order they were made,
// and a wipe must come after every write before it.

export class WriteQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Run `f` after every write queued before it; resolves or rejects with its outcome. */
  run<T>(f: () => Promise<T>): Promise<T> {
    const p = this.tail.then(f, f);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** Wait until every queued write is settled. */
  async flush(): Promise<void> {
    await this.tail.catch(() => undefined);
  }
}
