import { request, type Agent } from "node:http";

/** POSTs `projects.create` with `args` to a Convoy server's `/api/mutation`; rejects on any status but 200. */
export function postMutation(port: number, args: unknown, agent: Agent): Promise<void> {
  const body = JSON.stringify({ path: "projects.create", args });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/api/mutation",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () =>
          response.statusCode === 200 ? resolve() : reject(new Error(`mutation ${response.statusCode}: ${text}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
