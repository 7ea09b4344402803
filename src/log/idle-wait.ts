// The pause of a log reader that has caught up: it sleeps until its next look, unless an append
// (or a stop) wakes it first. Jobs and the recommender both wait this way.
export class IdleWait {
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** Resolves after `ms`, or at the next wakeUp, whichever comes first. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        clearTimeout(this.timer);
        resolve();
      };
      this.timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
    });
  }

  /** Ends the sleep under way, if any. */
  wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
