import { useState } from "react";
import type { Id } from "convoy";
import { useMutation } from "convoy/react";
import { api } from "../convoy/_generated/api";
import { ErrorMessage } from "./ErrorMessage";

/** Creates a user; the server validates the name (an empty one is refused with its message). */
export function NewUserForm({ onCreated }: { onCreated: (userId: Id<"users">) => void }) {
  const [name, setName] = useState("");
  const createUser = useMutation(api.users.createUser, {
    onSuccess: (userId) => {
      setName("");
      onCreated(userId);
    },
  });
  return (
    <form
      className="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        createUser.mutate({ name });
      }}
    >
      <input
        aria-label="New user’s name"
        placeholder="New user’s name"
        data-testid="new-user-name"
        value={name}
        onChange={(event) => {
          setName(event.target.value);
          createUser.reset();
        }}
      />
      <button type="submit" data-testid="new-user-submit" disabled={createUser.isPending}>
        Add user
      </button>
      <ErrorMessage error={createUser.error} testId="new-user-error" />
    </form>
  );
}
