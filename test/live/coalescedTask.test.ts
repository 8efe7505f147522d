import { describe, expect, it } from "vitest";
import { CoalescedTask } from "../../runtime/live/coalescedTask.js";

describe("CoalescedTask", () => {
  it("runs a lone request at once, and requests made during a run as one more run, spaced apart", async () => {
    const starts: number[] = [];
    let release!: () => void;
    const task = new CoalescedTask(async () => {
      starts.push(performance.now());
      if (starts.length === 1) await new Promise<void>((resolve) => (release = resolve));
    }, 20);
    task.request();
    expect(starts).toHaveLength(1);
    for (let i = 0; i < 5; i++) task.request();
    release();
    await task.settled();
    expect(starts).toHaveLength(2);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(19.9); // the task notes its start a moment after the runner does
    task.request();
    await task.settled();
    expect(starts).toHaveLength(3);
  });
});
