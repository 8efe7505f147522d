import type { Doc, Id } from "convoy";

/** The users, newest first; clicking one selects it. */
export function UserList({
  users,
  selectedId,
  onSelect,
}: {
  users: Doc<"users">[];
  selectedId: Id<"users"> | null;
  onSelect: (userId: Id<"users">) => void;
}) {
  if (users.length === 0) return <p className="muted">No users yet.</p>;
  return (
    <ul className="list" data-testid="user-list">
      {users.map((user) => (
        <li key={user._id}>
          <button
            type="button"
            className="user"
            data-testid="user-item"
            aria-pressed={user._id === selectedId}
            onClick={() => onSelect(user._id)}
          >
            {user.name}
          </button>
        </li>
      ))}
    </ul>
  );
}
