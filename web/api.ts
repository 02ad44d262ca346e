/**
 * Talking to the server: every API call carries the token the page was opened with (?token=...), and
 * an error answer becomes a thrown ApiError holding the server's {code, message, hint}.
 */
const token = new URLSearchParams(location.search).get('token');

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export type Params = Record<string, string | number | string[] | undefined>;

export function apiUrl(path: string, params: Params = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  const qs = q.toString();
  return `${path}${qs ? `?${qs}` : ''}`;
}

export async function api<T>(path: string, params: Params = {}): Promise<T> {
  const res = await fetch(apiUrl(path, params), { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError('MLO_INTERNAL', `${path} answered ${res.status} with no JSON`);
  }
  const err = (body as { error?: { code: string; message: string; hint?: string } }).error;
  if (!res.ok || err) throw new ApiError(err?.code ?? 'MLO_INTERNAL', err?.message ?? `${path} answered ${res.status}`, err?.hint);
  return body as T;
}
