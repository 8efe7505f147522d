// The example app (examples/users-projects), built with Vite and served by the real CLI
// (`convoy serve --static`), in two Chromium pages: every change shows in both, live.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildExample,
  repoRoot,
  runCli,
  startExampleServer,
  typecheckExample,
  type ExampleServer,
} from "./exampleHarness.js";
import { launchChromium, skipWithoutChromium } from "../support/chromium.js";

const skip = skipWithoutChromium("e2e", "The example app's browser test");

const LIVE = { timeout: 10_000, interval: 50 };

describe.skipIf(skip)("the example app in Chromium", () => {
  let scratch: string;
  let webDir: string;
  let dataDir: string;
  let server: ExampleServer;
  let browser: Browser;
  let pageA: Page;
  let pageB: Page;
  let typechecked: Promise<unknown>;
  const pageErrors: string[] = [];

  async function openPage(): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(server.url);
    // Set once; a reload would drop it.
    await page.evaluate(() => ((window as { loadedOnce?: boolean }).loadedOnce = true));
    return page;
  }

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "convoy-e2e-"));
    webDir = join(scratch, "web");
    dataDir = join(scratch, "data");
    // dist/, which the CLI runs from, is built by the suite's globalSetup.
    await buildExample({ outDir: webDir, dataDir });
    typechecked = typecheckExample().then(
      () => null,
      (error: unknown) => error,
    );
    [server, browser] = await Promise.all([startExampleServer({ webDir, dataDir, port: 0 }), launchChromium()]);
    [pageA, pageB] = await Promise.all([openPage(), openPage()]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const projectNames = (page: Page) => page.getByTestId("project-name").allTextContents();
  const userNames = (page: Page) => page.getByTestId("user-item").allTextContents();
  const selectUser = (page: Page, name: string) =>
    page
      .getByTestId("user-item")
      .filter({ hasText: new RegExp(`^${name}$`) })
      .click();
  const project = (page: Page, name: string) =>
    page.getByTestId("project-item").filter({ has: page.getByTestId("project-name").getByText(name, { exact: true }) });

  async function createUser(page: Page, name: string): Promise<void> {
    await page.getByTestId("new-user-name").fill(name);
    await page.getByTestId("new-user-submit").click();
  }

  async function createProject(page: Page, name: string): Promise<void> {
    await page.getByTestId("new-project-name").fill(name);
    await page.getByTestId("new-project-submit").click();
  }

  it("the example type-checks: its functions, its React app and its Vite config", async () => {
    expect(await typechecked).toBeNull();
  });

  it("convoy serve --static serves the built app, its client-side routes, and the API beside it", async () => {
    const home = await fetch(server.url);
    expect(home.status).toBe(200);
    const html = await home.text();
    expect(html).toContain('<div id="root"></div>');
    const route = await fetch(`${server.url}/users/some-client-route`);
    expect(route.headers.get("content-type")).toMatch(/text\/html/);
    expect(await route.text()).toBe(html);
    expect((await fetch(`${server.url}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/nope`)).status).toBe(404);
    const listed = await fetch(`${server.url}/api/query`, {
      method: "POST",
      body: JSON.stringify({ path: "users.listUsers", args: {} }),
    });
    expect(await listed.json()).toEqual({ value: [] });
    expect(await pageA.title()).toBe("Convoy · users and projects");
    await expect.poll(() => pageA.getByTestId("no-user").isVisible(), LIVE).toBe(true);

    const missing = await runCli(["serve", "--static", join(scratch, "no-such-build"), "--data-dir", dataDir]);
    expect(missing.code).toBe(1);
    expect(missing.output).toContain(`--static ${join(scratch, "no-such-build")}: no such folder`);
  });

  it("a user and projects created in page A appear in page B without a reload", async () => {
    await createUser(pageA, "Ada");
    await expect.poll(() => pageA.getByTestId("projects-title").textContent(), LIVE).toBe("Ada’s projects");
    await expect.poll(() => userNames(pageB), LIVE).toEqual(["Ada"]);
    await selectUser(pageB, "Ada");
    await createProject(pageA, "Apollo");
    await expect.poll(() => projectNames(pageB), LIVE).toEqual(["Apollo"]);
    await createProject(pageA, "Gemini");
    await expect.poll(() => projectNames(pageB), LIVE).toEqual(["Gemini", "Apollo"]);
    await expect.poll(() => projectNames(pageA), LIVE).toEqual(["Gemini", "Apollo"]);
  });

  it("a rename in page A and deletes in page B show in the other page", async () => {
    await project(pageA, "Apollo").getByTestId("project-rename").click();
    await pageA.getByTestId("project-rename-input").fill("Apollo 11");
    await pageA.getByTestId("project-rename-save").click();
    await expect.poll(() => projectNames(pageB), LIVE).toEqual(["Gemini", "Apollo 11"]);

    await project(pageB, "Gemini").getByTestId("project-delete").click();
    await expect.poll(() => projectNames(pageA), LIVE).toEqual(["Apollo 11"]);

    await createUser(pageA, "Temporary");
    await expect.poll(() => userNames(pageB), LIVE).toEqual(["Temporary", "Ada"]);
    await selectUser(pageB, "Temporary");
    await pageB.getByTestId("delete-user").click();
    await expect.poll(() => userNames(pageA), LIVE).toEqual(["Ada"]);
    await expect.poll(() => pageA.getByTestId("no-user").isVisible(), LIVE).toBe(true);
    await selectUser(pageA, "Ada");
    await selectUser(pageB, "Ada");
    await expect.poll(() => projectNames(pageB), LIVE).toEqual(["Apollo 11"]);
  });

  it("the server's validation errors are shown in the page", async () => {
    await createUser(pageA, "");
    await expect
      .poll(() => pageA.getByTestId("new-user-error").textContent(), LIVE)
      .toBe("Invalid arguments for users.createUser: name: A user needs a name");

    await project(pageA, "Apollo 11").getByTestId("project-rename").click();
    await pageA.getByTestId("project-rename-input").fill("   ");
    await pageA.getByTestId("project-rename-save").click();
    await expect.poll(() => pageA.getByTestId("project-error").textContent(), LIVE).toMatch(/A project needs a name/);
    await pageA.getByRole("button", { name: "Cancel" }).click();
    expect(await pageA.getByTestId("project-error").count()).toBe(0);
    expect(await projectNames(pageB)).toEqual(["Apollo 11"]);
  });

  it("after the server is killed and restarted, both pages recover by themselves and stay live", async () => {
    const port = server.port;
    await server.stop("SIGKILL");
    server = await startExampleServer({ webDir, dataDir, port });

    await createProject(pageA, "After the restart");
    await expect
      .poll(() => projectNames(pageB), { ...LIVE, timeout: 20_000 })
      .toEqual(["After the restart", "Apollo 11"]);
    await expect.poll(() => projectNames(pageA), LIVE).toEqual(["After the restart", "Apollo 11"]);
    await createProject(pageB, "From page B");
    await expect.poll(() => projectNames(pageA), LIVE).toEqual(["From page B", "After the restart", "Apollo 11"]);

    for (const page of [pageA, pageB]) {
      expect(await page.evaluate(() => (window as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    }
    expect(pageErrors).toEqual([]);

    mkdirSync(join(repoRoot, "test-output"), { recursive: true });
    const screenshot = join(repoRoot, "test-output/example-app.png");
    await pageA.setViewportSize({ width: 1000, height: 640 });
    await pageA.screenshot({ path: screenshot });
    console.log(`[e2e] Screenshot of the example app: ${screenshot}`);
  });
});
