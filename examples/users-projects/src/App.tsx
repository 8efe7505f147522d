import { useState } from "react";
import type { Id } from "convoy";
import { useQuery } from "convoy/react";
import { api } from "../convoy/_generated/api";
import { ErrorMessage } from "./ErrorMessage";
import { NewUserForm } from "./NewUserForm";
import { ProjectsPanel } from "./ProjectsPanel";
import { UserList } from "./UserList";

/** The users list on the left, the selected user's projects on the right; both live. */
export function App() {
  const users = useQuery(api.users.listUsers, {});
  const [selectedId, setSelectedId] = useState<Id<"users"> | null>(null);
  // A user deleted elsewhere drops out of the list, and out of the selection with it.
  const selected = users.data?.find((user) => user._id === selectedId) ?? null;

  return (
    <main className="app">
      <header className="app-header">
        <h1>Users &amp; projects</h1>
        <p>Open this page twice: every change shows in both, live.</p>
      </header>
      <div className="columns">
        <section className="card users" aria-label="Users">
          <h2>Users</h2>
          <NewUserForm onCreated={setSelectedId} />
          <ErrorMessage error={users.error} testId="users-error" />
          {users.isLoading ? <p className="muted">Loading…</p> : null}
          {users.data ? (
            <UserList users={users.data} selectedId={selected?._id ?? null} onSelect={setSelectedId} />
          ) : null}
        </section>
        <section className="card projects" aria-label="Projects">
          {selected ? (
            <ProjectsPanel key={selected._id} user={selected} />
          ) : (
            <p className="muted" data-testid="no-user">
              Select or create a user to see their projects.
            </p>
          )}
        </section>
      </div>
    </main>
  );
}
