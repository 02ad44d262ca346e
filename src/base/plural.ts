/** `plural(3, 'object')` is '3 objects'; `plural(1, 'entry', 'entries')` is '1 entry'. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
