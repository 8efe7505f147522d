// The example app's own tests, written with convoy/test (docs/testing.md).
import { createHmac } from "node:crypto";
import { convoyTest } from "convoy/test";
import { describe, expect, it } from "vitest";
import { api } from "../convoy/_generated/api";
import { functions } from "../convoy/_generated/functions";
import http from "../convoy/http";
import { schema } from "../convoy/schema";

const newTest = () => convoyTest(schema, functions, { http });

describe("users and projects", () => {
  it("lists a user's projects, newest first", async () => {
    const t = newTest();
    const userId = await t.mutation(api.users.createUser, { name: "Ada" });
    await t.mutation(api.projects.createProject, { userId, name: "Engine" });
    await t.mutation(api.projects.createProject, { userId, name: "Notes" });
    const projects = await t.query(api.projects.listProjects, { userId });
    expect(projects.map((project) => project.name)).toEqual(["Notes", "Engine"]);
  });

  it("creating a user schedules its welcome action, which runs once", async () => {
    const t = newTest();
    await t.mutation(api.users.createUser, { name: "Linus" });
    const jobs = () => t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect());
    expect((await jobs()).map((job) => [job.name, job.state.kind])).toEqual([["users.sendWelcome", "pending"]]);
    await t.finishScheduledFunctions();
    expect((await jobs()).map((job) => [job.name, job.state.kind])).toEqual([["users.sendWelcome", "success"]]);
  });

  it("deleting a user deletes their projects", async () => {
    const t = newTest();
    const userId = await t.run((ctx) => ctx.db.insert("users", { name: "Grace", createdAt: 1 }));
    await t.run((ctx) => ctx.db.insert("projects", { userId, name: "Compiler", createdAt: 2 }));
    await t.mutation(api.users.deleteUser, { userId });
    expect(await t.run((ctx) => ctx.db.query("projects").collect())).toEqual([]);
  });

  it("refuses a project without a name, with the reason", async () => {
    const t = newTest();
    const userId = await t.mutation(api.users.createUser, { name: "Ada" });
    const projectId = await t.mutation(api.projects.createProject, { userId, name: "x" });
    await expect(t.mutation(api.projectEdits.renameProject, { projectId, name: "  " })).rejects.toThrow(
      "A project needs a name",
    );
  });
});

describe("POST /http/webhooks/projects", () => {
  const secret = "test-secret";
  const sign = (body: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

  it("creates a project from a signed webhook", async () => {
    process.env.PROJECTS_WEBHOOK_SECRET = secret;
    const t = newTest();
    const userId = await t.mutation(api.users.createUser, { name: "Ada" });
    // Whitespace and key order as the sender wrote them: the signature covers these bytes.
    const body = `{ "name": "From a webhook",\n  "userId": "${userId}" }\n`;
    const response = await t.fetch("/webhooks/projects", {
      method: "POST",
      headers: { "x-webhook-signature": sign(body) },
      body,
    });
    expect(response.status).toBe(201);
    const projects = await t.query(api.projects.listProjects, { userId });
    expect(projects.map((project) => project.name)).toEqual(["From a webhook"]);
  });

  it("refuses a bad signature and creates nothing", async () => {
    process.env.PROJECTS_WEBHOOK_SECRET = secret;
    const t = newTest();
    const userId = await t.mutation(api.users.createUser, { name: "Ada" });
    const body = JSON.stringify({ userId, name: "Forged" });
    const response = await t.fetch("/webhooks/projects", {
      method: "POST",
      headers: { "x-webhook-signature": sign(`${body} `) },
      body,
    });
    expect(response.status).toBe(401);
    expect(await t.query(api.projects.listProjects, { userId })).toEqual([]);
  });
});
