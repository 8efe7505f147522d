import { useState } from "react";
import type { Doc } from "convoy";
import { useMutation } from "convoy/react";
import { api } from "../convoy/_generated/api";
import { ErrorMessage } from "./ErrorMessage";

/** One project: its name, or a rename form, and a delete button. */
export function ProjectItem({ project }: { project: Doc<"projects"> }) {
  const [draft, setDraft] = useState<string | null>(null);
  const rename = useMutation(api.projectEdits.renameProject, { onSuccess: () => setDraft(null) });
  const remove = useMutation(api.projectEdits.deleteProject);

  return (
    <li className="project" data-testid="project-item">
      {draft === null ? (
        <div className="row">
          <span className="name" data-testid="project-name">
            {project.name}
          </span>
          <button
            type="button"
            data-testid="project-rename"
            onClick={() => {
              rename.reset();
              setDraft(project.name);
            }}
          >
            Rename
          </button>
          <button
            type="button"
            className="danger"
            data-testid="project-delete"
            disabled={remove.isPending}
            onClick={() => remove.mutate({ projectId: project._id })}
          >
            Delete
          </button>
        </div>
      ) : (
        <form
          className="row"
          onSubmit={(event) => {
            event.preventDefault();
            rename.mutate({ projectId: project._id, name: draft });
          }}
        >
          <input
            aria-label={`New name of ${project.name}`}
            data-testid="project-rename-input"
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
            autoFocus
          />
          <button type="submit" data-testid="project-rename-save" disabled={rename.isPending}>
            Save
          </button>
          <button
            type="button"
            onClick={() => {
              rename.reset();
              setDraft(null);
            }}
          >
            Cancel
          </button>
        </form>
      )}
      <ErrorMessage error={rename.error ?? remove.error} testId="project-error" />
    </li>
  );
}
