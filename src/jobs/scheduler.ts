import type { Logger } from "../logger";

interface Task {
  name: string;
  intervalMs: number;
  run: () => Promise<unknown>;
  timer?: ReturnType<typeof setTimeout>;
  running?: Promise<unknown>;
  /** Poked while running: run again as soon as this run ends. */
  again?: boolean;
}

/**
 * In-process periodic jobs. Each task runs serially (never overlapping itself), first soon after
 * start, then `intervalMs` after the previous run ended; a failing run is logged and retried on the
 * next tick. Jobs themselves read time from the injected clock, so tests call them directly
 * instead of waiting for this scheduler.
 */
export class Scheduler {
  private readonly tasks: Task[] = [];
  private stopped = false;

  constructor(private readonly logger: Logger) {}

  every(name: string, intervalMs: number, run: () => Promise<unknown>): this {
    const task: Task = { name, intervalMs, run };
    this.tasks.push(task);
    this.schedule(task, Math.min(intervalMs, 250));
    return this;
  }

  /**
   * Runs a task now (outside its timer), e.g. to wake the webhook sender after an event; if it is
   * running, it runs again as soon as the run ends (the run may have looked before the event).
   */
  poke(name: string): void {
    const task = this.tasks.find((t) => t.name === name);
    if (!task || this.stopped) return;
    if (task.running) {
      task.again = true;
      return;
    }
    clearTimeout(task.timer);
    this.schedule(task, 0);
  }

  private schedule(task: Task, delay: number) {
    if (this.stopped) return;
    task.timer = setTimeout(() => {
      task.running = task
        .run()
        .catch((err) =>
          this.logger.error("job failed", { job: task.name, err: err instanceof Error ? err.message : String(err) }),
        )
        .finally(() => {
          task.running = undefined;
          const again = task.again;
          task.again = false;
          this.schedule(task, again ? 0 : task.intervalMs);
        });
    }, delay);
  }

  /** Stops scheduling and waits for runs in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.tasks) clearTimeout(t.timer);
    await Promise.all(this.tasks.map((t) => t.running));
  }
}
