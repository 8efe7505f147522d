/** Flattens an intersection for readable hover types. @internal */
export type Expand<T> = T extends object ? { [K in keyof T]: T[K] } : T;

type Scalar = string | number | boolean | bigint | null | undefined;
type Depth = [never, 0, 1, 2, 3];

/**
 * Every path of a document that a filter, an index or an ordering can name: the
 * top-level fields and, for nested objects, dotted paths such as `"address.city"`.
 */
export type FieldPath<TDocument, TDepth extends number = 4> = [TDepth] extends [never]
  ? never
  : {
      [K in keyof TDocument & string]:
        | K
        | (NonNullable<TDocument[K]> extends Scalar | readonly unknown[]
            ? never
            : NonNullable<TDocument[K]> extends object
              ? `${K}.${FieldPath<NonNullable<TDocument[K]>, Depth[TDepth]>}`
              : never);
    }[keyof TDocument & string];

/** The type of the value at `TPath` in `TDocument` (`undefined` where a step may be missing). */
export type FieldValue<TDocument, TPath extends string> = TPath extends `${infer Head}.${infer Rest}`
  ? Head extends keyof TDocument
    ? FieldValue<NonNullable<TDocument[Head]>, Rest> | (undefined extends TDocument[Head] ? undefined : never)
    : undefined
  : TPath extends keyof TDocument
    ? TDocument[TPath]
    : undefined;
