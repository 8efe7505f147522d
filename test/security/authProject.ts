import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../..");
/** Imports of the user's files point at the runtime's sources, so no packed package is needed. */
const source = (path: string) => JSON.stringify(join(repo, path));

/** A bearer-token hook, as docs/auth.md shows it: known tokens are users, others are refused, one crashes. */
export const BEARER_AUTH = `import { ConvoyError } from ${source("runtime/errors.ts")};
import { defineAuth } from ${source("runtime/functions/auth.ts")};

const sessions: Record<string, { id: string; name: string }> = {
  "token-alice": { id: "alice", name: "Alice" },
  "token-bob": { id: "bob", name: "Bob" },
};

export default defineAuth(async (request) => {
  const header = request.headers.authorization;
  if (header === undefined) return null;
  const token = /^Bearer (.+)$/.exec(header)?.[1] ?? "";
  if (token === "token-crash") throw new Error("token store unreachable at postgres://admin:hunter2@db");
  const user = sessions[token];
  if (!user) throw new ConvoyError({ code: "UNAUTHORIZED", message: "Sign in again: this token is unknown or expired" });
  return { subject: user.id, name: user.name };
});
`;

/** A session-cookie hook that replaces {@link BEARER_AUTH} in the reload test. */
export const COOKIE_AUTH = `import { defineAuth } from ${source("runtime/functions/auth.ts")};

export default defineAuth((request) => {
  const session = /(?:^|; )session=([^;]+)/.exec(request.headers.cookie ?? "")?.[1];
  return session ? { subject: \`cookie-\${session}\` } : null;
});
`;

const SCHEMA = `import { z } from "zod";
import { defineSchema } from ${source("runtime/schema/defineSchema.ts")};
import { defineTable } from ${source("runtime/schema/defineTable.ts")};

export const schema = defineSchema({
  notes: defineTable({ owner: z.string(), title: z.string() }).index("by_owner", ["owner"]),
});
`;

const FUNCTIONS = `import { z } from "zod";
import { ConvoyError } from ${source("runtime/errors.ts")};
import { functionBuilders } from ${source("runtime/functions/defineFunction.ts")};

const { query, mutation } = functionBuilders();

export const whoami = query({ handler: (ctx) => ctx.auth });

export const mine = query({
  handler: async (ctx) =>
    (await ctx.db.query("notes").withIndex("by_owner", (q) => q.eq("owner", ctx.auth?.subject ?? "")).collect()).map(
      (note) => note.title,
    ),
});

export const add = mutation({
  args: { title: z.string() },
  handler: (ctx, args) => {
    if (!ctx.auth) throw new ConvoyError({ code: "UNAUTHORIZED", message: "Sign in to add notes" });
    return ctx.db.insert("notes", { owner: ctx.auth.subject, title: args.title });
  },
});
`;

/**
 * A user project with `convoy/schema.ts`, `convoy/functions/notes.ts` and, when given,
 * `convoy/auth.ts`; its node_modules is the repository's (for zod).
 */
export function createAuthProject(auth: string | null): string {
  const root = mkdtempSync(join(tmpdir(), "convoy-auth-"));
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "auth-app", private: true, type: "module" }));
  symlinkSync(join(repo, "node_modules"), join(root, "node_modules"), "dir");
  const files: Record<string, string> = { "schema.ts": SCHEMA, "functions/notes.ts": FUNCTIONS };
  if (auth !== null) files["auth.ts"] = auth;
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, "convoy", path)), { recursive: true });
    writeFileSync(join(root, "convoy", path), text);
  }
  return root;
}

/** The repository root. */
export const repoRoot = repo;
