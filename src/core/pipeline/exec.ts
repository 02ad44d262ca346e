/**
 * Runs a stage's command through the shell. The child gets its own process group (detached), so an
 * abort (Ctrl-C in `mlo run`) can end it and everything it started with one kill(-pgid); a Ctrl-C
 * typed in the terminal reaches mlo, which then ends the group, and never leaves orphans behind.
 */
import type { execa as Execa } from 'execa';

// execa takes ~75 ms to import: loaded only when a stage actually runs, so a no-op `mlo run` never pays it.
let execaFn: typeof Execa | undefined;

export interface ExecOptions {
  cwd: string;
  env: Record<string, string>;
  signal: AbortSignal;
  /** One line of the command's output (without the newline). */
  onLine(stream: 'stdout' | 'stderr', line: string): void;
}

export interface ExecResult {
  exitCode: number;
  /** The signal that ended the command, if one did. */
  signal?: string;
  interrupted: boolean;
  /** Index of the command (in a list cmd) that failed. */
  failedAt?: number;
}

/** How long a command may take to exit after SIGTERM before it gets SIGKILL. */
const KILL_GRACE_MS = 5000;

export async function execCommands(cmd: string | string[], options: ExecOptions): Promise<ExecResult> {
  const list = Array.isArray(cmd) ? cmd : [cmd];
  for (let i = 0; i < list.length; i++) {
    if (options.signal.aborted) return { exitCode: 130, interrupted: true, failedAt: i };
    const r = await execOne(list[i], options);
    if (r.exitCode !== 0 || r.interrupted) return { ...r, failedAt: i };
  }
  return { exitCode: 0, interrupted: false };
}

async function execOne(command: string, options: ExecOptions): Promise<ExecResult> {
  execaFn ??= (await import('execa')).execa;
  const child = execaFn(command, {
    shell: true,
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    detached: true,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    stripFinalNewline: false,
  });
  const pump = (stream: 'stdout' | 'stderr') => {
    let rest = '';
    const s = child[stream];
    if (!s) return;
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      const text = rest + chunk;
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) options.onLine(stream, line.replace(/\r$/, ''));
    });
    s.on('end', () => {
      if (rest) options.onLine(stream, rest);
      rest = '';
    });
  };
  pump('stdout');
  pump('stderr');
  let interrupted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const killGroup = (sig: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // The group is already gone.
    }
  };
  const onAbort = () => {
    interrupted = true;
    killGroup('SIGTERM');
    killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    killTimer.unref();
  };
  if (options.signal.aborted) onAbort();
  else options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const r = await child;
    return { exitCode: r.exitCode ?? (r.signal ? 128 : 1), signal: r.signal ?? undefined, interrupted };
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
  }
}
