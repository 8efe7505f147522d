/** What the generator learned of one function. */
export interface FunctionInfo {
  /** Module path under `functions/` without extension, e.g. `projects` or `admin/users`. */
  modulePath: string;
  exportName: string;
  kind: "query" | "mutation" | "action";
  visibility: "public" | "internal";
}

/** A nested tree of values keyed by module path segments, then export name. */
export interface Tree<TLeaf> {
  [name: string]: TLeaf | Tree<TLeaf>;
}

/** Nests functions by module path segments, then export name; sorted for stable output. */
export function treeOf<TLeaf>(functions: readonly FunctionInfo[], leaf: (fn: FunctionInfo) => TLeaf): Tree<TLeaf> {
  const root: Tree<TLeaf> = {};
  const sorted = [...functions].sort((a, b) =>
    a.modulePath === b.modulePath ? (a.exportName < b.exportName ? -1 : 1) : a.modulePath < b.modulePath ? -1 : 1,
  );
  for (const fn of sorted) {
    let node = root;
    for (const segment of fn.modulePath.split("/")) node = node[segment] ??= {};
    node[fn.exportName] = leaf(fn);
  }
  return root;
}

/** Prints a tree as an object literal whose leaves are already code. */
export function printTree(tree: Tree<string>, indent = "  "): string {
  const lines = Object.entries(tree).map(([name, value]) => {
    const key = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
    return typeof value === "string"
      ? `${indent}${key}: ${value},`
      : `${indent}${key}: ${printTree(value, `${indent}  `)},`;
  });
  return lines.length === 0 ? "{}" : `{\n${lines.join("\n")}\n${indent.slice(2)}}`;
}
