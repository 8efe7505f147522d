/** A failed query's or mutation's message, announced to screen readers. */
export function ErrorMessage({ error, testId }: { error: Error | null | undefined; testId: string }) {
  if (!error) return null;
  return (
    <p className="error" role="alert" data-testid={testId}>
      {error.message}
    </p>
  );
}
