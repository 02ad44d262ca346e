/**
 * The runs table: every run of `GET /api/runs` (the `exp show --json` document), sortable by any
 * column, filtered by the filter box, with a column chooser. Only the rows in view are in the DOM (a
 * fixed row height and two spacer rows), so 10,000 runs x 20 metrics draw as fast as 40 do.
 */
import { api } from './api.js';
import { empty, fmt, h, short } from './dom.js';
import { parseFilter, sortRuns, runValue, type RunRow } from './filter.js';

interface ShowResult {
  columns: { params: string[]; metrics: string[] };
  runs: RunRow[];
  best: Record<string, { run: string; value: number; goal: 'min' | 'max' }>;
  total: number;
}

interface Column {
  key: string;
  label: string;
  kind: 'field' | 'param' | 'metric' | 'tag';
}

const ROW_H = 26;
/** Runs fetched for the first paint. */
const FIRST_PAGE = 200;
/** Rows drawn above and below the visible ones, so a fast scroll shows no blank band. */
const OVERSCAN = 10;
const FIELD_COLUMNS: Column[] = [
  { key: 'name', label: 'run', kind: 'field' },
  { key: 'status', label: 'status', kind: 'field' },
  { key: 'experiment', label: 'experiment', kind: 'field' },
  { key: 'branch', label: 'branch', kind: 'field' },
  { key: 'commit', label: 'commit', kind: 'field' },
  { key: 'start', label: 'started', kind: 'field' },
];

/** What survives a refresh (new runs arriving): selection, sort, filter and chosen columns. */
const state = {
  selected: new Set<string>(),
  sort: undefined as { key: string; desc: boolean } | undefined,
  filter: '',
  hidden: new Set<string>(),
  /** Tag columns the user turned on (they are off by default: stage timings, -S overrides). */
  shownTags: new Set<string>(),
};

function cellText(r: RunRow, c: Column): string {
  if (c.key === 'name') return r.name ? `${r.name} (${short(r.id)})` : short(r.id);
  if (c.key === 'commit') return short(r.commit);
  if (c.key === 'start') return r.start ? r.start.slice(0, 19).replace('T', ' ') : '';
  return fmt(runValue(r, c.key));
}

export async function runsPage(root: HTMLElement): Promise<() => Promise<void>> {
  // The newest runs first, so the table is on screen before 10,000 runs have crossed the wire; the
  // whole list follows and replaces them.
  let data: ShowResult = await api<ShowResult>('/api/runs', { limit: FIRST_PAGE });
  let complete = data.runs.length >= data.total;
  let view: RunRow[] = [];
  let columns: Column[] = [];
  let tagKeys: string[] = [];

  const count = h('span', { class: 'count', 'data-testid': 'run-count' });
  const filterBox = h('input', {
    type: 'search',
    placeholder: 'filter: acc>0.9 lr=0.1 status=finished branch~exp TAG=value',
    value: state.filter,
    'data-testid': 'filter',
    size: 40,
  });
  const compareButton = h('button', { 'data-testid': 'compare', disabled: true }, 'Compare');
  const chooser = h('details', { class: 'columns' }, h('summary', {}, 'Columns'));
  const headRow = h('tr');
  const body = h('tbody');
  const scroller = h(
    'div',
    { class: 'scroller', 'data-testid': 'runs-scroller' },
    h('table', { class: 'runs', 'data-testid': 'runs-table' }, h('thead', {}, headRow), body),
  );
  const note = h('div');
  root.append(h('div', { class: 'toolbar' }, filterBox, compareButton, chooser, count), note, scroller);

  const updateCompare = () => {
    compareButton.disabled = state.selected.size === 0;
    compareButton.textContent = state.selected.size ? `Compare ${state.selected.size}` : 'Compare';
  };
  compareButton.addEventListener('click', () => {
    location.hash = `#/compare?runs=${encodeURIComponent([...state.selected].join(','))}`;
  });

  const buildColumns = () => {
    const all: Column[] = [
      ...FIELD_COLUMNS,
      ...data.columns.params.map((k): Column => ({ key: k, label: k, kind: 'param' })),
      ...data.columns.metrics.map((k): Column => ({ key: k, label: k, kind: 'metric' })),
      ...tagKeys.map((k): Column => ({ key: k, label: k, kind: 'tag' })),
    ];
    const shown = (c: Column) => (c.kind === 'tag' ? state.shownTags.has(c.key) : !state.hidden.has(`${c.kind}:${c.key}`));
    columns = all.filter(shown);
    chooser.replaceChildren(
      h('summary', {}, `Columns (${columns.length}/${all.length})`),
      ...all.map((c) => {
        const id = `${c.kind}:${c.key}`;
        const box = h('input', { type: 'checkbox', checked: shown(c) });
        box.addEventListener('change', () => {
          if (c.kind === 'tag') {
            if (box.checked) state.shownTags.add(c.key);
            else state.shownTags.delete(c.key);
          } else if (box.checked) state.hidden.delete(id);
          else state.hidden.add(id);
          buildColumns();
          drawHead();
          drawRows();
        });
        return h('label', {}, box, ` ${c.kind === 'field' ? '' : `${c.kind} `}${c.label}`);
      }),
    );
  };

  const drawHead = () => {
    headRow.replaceChildren(
      h('th', { class: 'sel' }, ''),
      ...columns.map((c) => {
        const mark = state.sort?.key === c.key ? (state.sort.desc ? ' \u25BC' : ' \u25B2') : '';
        return h(
          'th',
          {
            class: c.kind,
            title: `${c.kind} ${c.key}: click to sort`,
            'data-key': c.key,
            onclick: () => {
              state.sort = { key: c.key, desc: state.sort?.key === c.key ? !state.sort.desc : c.kind === 'metric' && data.best[c.key]?.goal !== 'min' };
              applyView();
              drawHead();
              drawRows();
            },
          },
          c.label + mark,
        );
      }),
    );
  };

  const applyView = () => {
    let pred: ReturnType<typeof parseFilter>;
    note.replaceChildren();
    try {
      pred = parseFilter(state.filter);
    } catch (err) {
      note.replaceChildren(empty(`filter: ${(err as Error).message}`));
    }
    view = pred ? data.runs.filter(pred) : data.runs.slice();
    if (state.sort) sortRuns(view, state.sort.key, state.sort.desc);
    const loading = complete ? '' : ` (loading all ${data.total})`;
    count.textContent = (pred ? `${view.length} of ${data.runs.length} runs` : `${data.runs.length} runs`) + loading;
    if (!data.runs.length) note.replaceChildren(empty('No runs recorded yet: `mlo run` or `mlo exp run` records one.'));
    else if (!view.length) note.replaceChildren(empty(`No run matches the filter '${state.filter}'.`));
  };

  let frame = 0;
  const drawRows = () => {
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_H) - OVERSCAN);
    const visible = Math.ceil((scroller.clientHeight || 600) / ROW_H) + OVERSCAN * 2;
    const last = Math.min(view.length, first + visible);
    const span = columns.length + 1;
    const rows: HTMLElement[] = [h('tr', { class: 'spacer', style: `height:${first * ROW_H}px` }, h('td', { colspan: span }))];
    for (let i = first; i < last; i++) {
      const r = view[i];
      const box = h('input', { type: 'checkbox', checked: state.selected.has(r.id), 'aria-label': `select ${r.id}` });
      box.addEventListener('change', () => {
        if (box.checked) state.selected.add(r.id);
        else state.selected.delete(r.id);
        updateCompare();
      });
      rows.push(
        h(
          'tr',
          { 'data-run': r.id, class: `run ${r.status}` },
          h('td', { class: 'sel' }, box),
          ...columns.map((c) => h('td', { class: `${c.kind}${c.kind === 'metric' && data.best[c.key]?.run === r.id ? ' best' : ''}` }, cellText(r, c))),
        ),
      );
    }
    rows.push(h('tr', { class: 'spacer', style: `height:${(view.length - last) * ROW_H}px` }, h('td', { colspan: span })));
    body.replaceChildren(...rows);
  };
  scroller.addEventListener('scroll', () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(drawRows);
  });
  filterBox.addEventListener('input', () => {
    state.filter = filterBox.value;
    applyView();
    scroller.scrollTop = 0;
    drawRows();
  });

  const render = () => {
    for (const id of state.selected) if (!data.runs.some((r) => r.id === id)) state.selected.delete(id);
    buildColumns();
    applyView();
    drawHead();
    drawRows();
    updateCompare();
  };
  render();
  // When the first rows reached the screen, in ms since navigation (bench/ui.mjs reads it).
  requestAnimationFrame(() => {
    root.dataset.paintMs = performance.now().toFixed(1);
  });
  const reload = async () => {
    const [all, t] = await Promise.all([api<ShowResult>('/api/runs'), api<{ tags: Record<string, Record<string, string>> }>('/api/tags')]);
    data = all;
    for (const r of data.runs) r.tags = t.tags[r.id];
    tagKeys = [...new Set(Object.values(t.tags).flatMap((kv) => Object.keys(kv)))].sort();
    complete = true;
    render();
  };
  // Always: the whole list when the first page was not all of it, and the tags either way.
  await reload();
  return reload;
}
