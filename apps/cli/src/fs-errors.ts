// A file-system error as the one line a user can act on: the path, what is wrong with it, and what to do.

/** The error codes of Node's file-system calls that say something about a path the user gave or can fix. */
const ADVICE: Readonly<Record<string, (path: string) => string>> = {
  ENOSPC: (p) => `${p}: the disk is full (ENOSPC): free some space or write somewhere else`,
  EDQUOT: (p) => `${p}: the disk quota is used up (EDQUOT): free some space or write somewhere else`,
  EACCES: (p) => `${p}: permission denied (EACCES): choose a place you may write to (or read from), or change its permissions`,
  EPERM: (p) => `${p}: operation not permitted (EPERM): choose another place, or change its permissions`,
  EROFS: (p) => `${p}: the file system is read-only (EROFS): write somewhere else`,
  EEXIST: (p) => `${p}: already exists and is in the way (EEXIST): remove it or choose another path`,
  EISDIR: (p) => `${p}: is a folder (EISDIR): give the path of a file`,
  ENOTDIR: (p) => `${p}: part of this path is a file, not a folder (ENOTDIR): check the path`,
  ENOENT: (p) => `${p}: no such file or folder (ENOENT): check the path`,
  EMFILE: (p) => `${p}: too many open files (EMFILE): raise the limit (ulimit -n) and try again`,
};

export interface FileSystemErrorFields {
  code?: unknown;
  path?: unknown;
  dest?: unknown;
  syscall?: unknown;
}

/** The one-line message of a Node file-system error, or undefined for any other error. */
export function fileSystemMessage(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, path, dest, syscall } = error as FileSystemErrorFields;
  if (typeof code !== "string" || typeof path !== "string" || !ADVICE[code]) return undefined;
  // A rename fails because of where it goes (a folder or a file in the way), not the temporary file it moves.
  const culprit =
    syscall === "rename" &&
    typeof dest === "string" &&
    (code === "EISDIR" || code === "EEXIST" || code === "ENOTDIR" || code === "ENOTEMPTY")
      ? dest
      : path;
  return ADVICE[code]!(culprit);
}
