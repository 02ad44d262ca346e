import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_AREA, commandWord } from './main.js';

describe('COMMAND_AREA', () => {
  it('names every command and alias each area registers, and nothing else', async () => {
    const table: Record<string, string> = {};
    for (const area of ['data', 'remote', 'pipeline', 'tracking', 'model', 'monitor']) {
      const program = new Command('mlo');
      ((await import(`./areas/${area}.ts`)) as { register: (p: Command) => void }).register(program);
      for (const c of program.commands) for (const name of [c.name(), ...c.aliases()]) table[name] = area;
    }
    expect(COMMAND_AREA).toEqual(table);
  });
});

describe('commandWord', () => {
  it('skips global flags and the value of -C', () => {
    expect(commandWord(['node', 'mlo', 'status'])).toBe('status');
    expect(commandWord(['node', 'mlo', '--json', '-C', 'sub', 'run', '-f'])).toBe('run');
    expect(commandWord(['node', 'mlo', '--cwd', 'status', 'add'])).toBe('add');
    expect(commandWord(['node', 'mlo', '--help'])).toBeUndefined();
  });
});
