import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/** What a bench server process says: `ready` once, then one reply per request (by id), or `failed`. */
export type ServerMessage =
  | { type: "ready"; port: number; users: string[] }
  | { type: "failed"; message: string; id?: number | null }
  | { type: string; id: number };

/** A bench server running in its own process (its own event loop), driven over IPC. */
export interface ServerProcess<TReply extends ServerMessage> {
  port: number;
  /** Ids of the users the server created. */
  users: string[];
  /** Sends `{ type, id }` and resolves with the server's reply to it. */
  request<TType extends Exclude<TReply["type"], "ready" | "failed">>(
    type: TType,
  ): Promise<Extract<TReply, { type: TType }>>;
  /** Sends `{ type: "stop" }` and resolves when the process has exited. */
  stop(): Promise<void>;
}

/**
 * Forks `script` (TypeScript, with `--expose-gc`) and waits for its `ready`. A `failed`
 * with a request's id rejects that request; one without fails the start, or every
 * pending request after it.
 */
export async function forkServer<TReply extends ServerMessage>(
  script: URL,
  args: string[],
): Promise<ServerProcess<TReply>> {
  const child = fork(fileURLToPath(script), args, {
    execArgv: ["--import", "tsx", "--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const name = fileURLToPath(script).split("/").pop();
  const waiting = new Map<number, { resolve: (reply: ServerMessage) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const ready = await new Promise<{ port: number; users: string[] }>((resolve, reject) => {
    child.once("exit", (code) => {
      const error = new Error(`${name} exited with ${code}`);
      reject(error);
      for (const pending of waiting.values()) pending.reject(error);
    });
    child.on("message", (raw: unknown) => {
      const reply = raw as ServerMessage;
      const id = "id" in reply && typeof reply.id === "number" ? reply.id : null;
      if (reply.type === "ready") resolve(reply as { port: number; users: string[] });
      else if (reply.type === "failed") {
        const error = new Error((reply as { message: string }).message);
        if (id !== null) waiting.get(id)?.reject(error);
        else {
          reject(error);
          for (const pending of waiting.values()) pending.reject(error);
        }
      } else if (id !== null) waiting.get(id)?.resolve(reply);
    });
  });
  return {
    port: ready.port,
    users: ready.users,
    request: (type) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, {
          resolve: (reply) => {
            waiting.delete(id);
            resolve(reply as never);
          },
          reject: (error) => {
            waiting.delete(id);
            reject(error);
          },
        });
        child.send({ type, id });
      }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.send({ type: "stop" });
      }),
  };
}
