/**
 * Runs a stage's command through the shell. The child gets its own process group (detached), so an
 * abort (Ctrl-C in `mlo run`) can end it and everything it started with one kill(-pgid); a Ctrl-C
 * typed in the terminal reaches mlo, which then ends the group, and never leaves orphans behind.
 * Processes the command left running in the background are ended when it exits (they would write the
 * outs after mlo hashed them), and groups still running when mlo exits are killed. Only a SIGKILL of
 * mlo itself, which runs no code, leaves a running command behind.
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
  /** The command exited but left processes running in its group; they were ended. */
  leftovers?: boolean;
}

/** How long a command may take to exit after SIGTERM before it gets SIGKILL. */
const KILL_GRACE_MS = 5000;

/** Process groups of the commands started by this process that may still have members. */
const groups = new Set<number>();
let exitHooked = false;

/** Kills what is left of the groups when mlo exits, however it exits (short of SIGKILL). */
function trackGroup(pgid: number): void {
  groups.add(pgid);
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    // Exiting: there is no time for a grace period.
    for (const g of groups) signalGroup(g, 'SIGKILL');
  });
}

/** Sends `sig` to the group; false when the group has no process left. */
function signalGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

/** After the command's shell exited: ends whatever it left running (SIGTERM, SIGKILL after the grace period). */
async function endLeftovers(pgid: number): Promise<boolean> {
  if (!signalGroup(pgid, 0)) return false;
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + KILL_GRACE_MS;
  while (signalGroup(pgid, 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  signalGroup(pgid, 'SIGKILL');
  return true;
}

export async function execCommands(cmd: string | string[], options: ExecOptions): Promise<ExecResult> {
  const list = Array.isArray(cmd) ? cmd : [cmd];
  let leftovers = false;
  for (let i = 0; i < list.length; i++) {
    if (options.signal.aborted) return { exitCode: 130, interrupted: true, failedAt: i };
    const r = await execOne(list[i], options);
    leftovers ||= Boolean(r.leftovers);
    if (r.exitCode !== 0 || r.interrupted) return { ...r, failedAt: i, leftovers: leftovers || undefined };
  }
  return { exitCode: 0, interrupted: false, leftovers: leftovers || undefined };
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
  const pgid = child.pid;
  if (pgid !== undefined) trackGroup(pgid);
  let interrupted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const killGroup = (sig: NodeJS.Signals) => {
    if (pgid !== undefined) signalGroup(pgid, sig);
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
    const leftovers = pgid !== undefined && (await endLeftovers(pgid));
    return { exitCode: r.exitCode ?? (r.signal ? 128 : 1), signal: r.signal ?? undefined, interrupted, ...(leftovers ? { leftovers } : {}) };
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
    // The group is empty (or killed) now; its id may be reused, so it is no longer ours to kill.
    if (pgid !== undefined) groups.delete(pgid);
  }
}
