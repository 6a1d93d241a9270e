/** `*` matches any run of characters (dots included), `?` one character; everything else is literal. */
export function globToRegExp(glob: string, flags = ''): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, flags);
}

/** How specific a glob is: literal characters count, wildcards do not. */
export function specificity(glob: string): number {
  return glob.replace(/[*?]/g, '').length;
}
