// convoy/http.ts: HTTP routes, served under /http (docs/http.md).
import { createHmac, timingSafeEqual } from "node:crypto";
import { httpAction, httpRouter } from "convoy";
import { api } from "./_generated/api";
import type { Id } from "./_generated/server";

const http = httpRouter();

/**
 * POST /http/webhooks/projects: another system creates a project. The body is JSON
 * `{ "userId": "...", "name": "..." }`, signed with HMAC-SHA256 under the shared secret
 * PROJECTS_WEBHOOK_SECRET and sent as `x-webhook-signature: sha256=<hex>`.
 */
http.route({
  path: "/webhooks/projects",
  method: "POST",
  handler: httpAction(async (ctx, request) => {
    const secret = process.env.PROJECTS_WEBHOOK_SECRET;
    if (!secret) return new Response("Set PROJECTS_WEBHOOK_SECRET to accept webhooks", { status: 503 });
    // Check the signature over the exact bytes received, before parsing anything.
    const body = Buffer.from(await request.arrayBuffer());
    const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(body).digest("hex")}`);
    const given = Buffer.from(request.headers.get("x-webhook-signature") ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return new Response("Bad signature", { status: 401 });
    }
    let event: { userId: Id<"users">; name: string };
    try {
      event = JSON.parse(body.toString("utf8"));
    } catch {
      return new Response("The body is not JSON", { status: 400 });
    }
    // createProject checks the arguments: a bad userId or name is a 400 that says why.
    const projectId = await ctx.runMutation(api.projects.createProject, { userId: event.userId, name: event.name });
    return Response.json({ projectId }, { status: 201 });
  }),
});

export default http;
