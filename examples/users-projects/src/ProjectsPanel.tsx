import { useState } from "react";
import type { Doc } from "convoy";
import { useMutation, useQuery } from "convoy/react";
import { api } from "../convoy/_generated/api";
import { ErrorMessage } from "./ErrorMessage";
import { ProjectItem } from "./ProjectItem";

/** A user's projects, live, with a form to add one and a button to delete the user. */
export function ProjectsPanel({ user }: { user: Doc<"users"> }) {
  const projects = useQuery(api.projects.listProjects, { userId: user._id });
  const [name, setName] = useState("");
  const createProject = useMutation(api.projects.createProject, { onSuccess: () => setName("") });
  const deleteUser = useMutation(api.users.deleteUser);

  return (
    <>
      <div className="panel-header">
        <h2 data-testid="projects-title">{user.name}’s projects</h2>
        <button
          type="button"
          className="danger"
          data-testid="delete-user"
          disabled={deleteUser.isPending}
          onClick={() => deleteUser.mutate({ userId: user._id })}
        >
          Delete user
        </button>
      </div>
      <ErrorMessage error={deleteUser.error} testId="delete-user-error" />
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          createProject.mutate({ userId: user._id, name });
        }}
      >
        <input
          aria-label="New project’s name"
          placeholder="New project’s name"
          data-testid="new-project-name"
          value={name}
          onChange={(event) => {
            setName(event.target.value);
            createProject.reset();
          }}
        />
        <button type="submit" data-testid="new-project-submit" disabled={createProject.isPending}>
          Add project
        </button>
        <ErrorMessage error={createProject.error} testId="new-project-error" />
      </form>
      <ErrorMessage error={projects.error} testId="projects-error" />
      {projects.isLoading ? <p className="muted">Loading…</p> : null}
      {projects.data?.length === 0 ? <p className="muted">No projects yet.</p> : null}
      {projects.data && projects.data.length > 0 ? (
        <ul className="list" data-testid="project-list">
          {projects.data.map((project) => (
            <ProjectItem key={project._id} project={project} />
          ))}
        </ul>
      ) : null}
    </>
  );
}
