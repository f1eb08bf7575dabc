// The Logs tab: the run's console output, virtualised (only the rows on screen exist), stderr marked,
// searchable on the server with the matches highlighted, and following the end while the run is running.
//
// Without a search, line numbers run 0..total-1, so the list is as tall as the whole log and the pages on
// screen are fetched by line number: a million-line log opens at once, at its top or its end. With a search,
// matches are fetched in order as the list is scrolled. While the run is live, new lines (or new matches) are
// polled with `after` = the last line asked about, and the list keeps to the bottom when it was there.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { api, type ConsoleLine, type Run } from "../../api";
import { ErrorBox } from "../../components/common";
import { isLive } from "./useRun";

const ROW = 18; // px, fixed: rows are one line each (long lines scroll sideways)
const OVERSCAN = 40;
const PAGE = 1000;
const TAIL_LIMIT = 5000;
const POLL_MS = 1000;
const SEARCH_DEBOUNCE_MS = 250;

// Colour and cursor escapes (tqdm, rich, logging handlers) are noise in a web view.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

export function stripAnsi(text: string): string {
  return text.includes("\x1b") ? text.replace(ANSI, "") : text;
}

function searchFromUrl(): string {
  return new URLSearchParams(location.search).get("search") ?? "";
}

function writeSearchToUrl(search: string): void {
  const params = new URLSearchParams(location.search);
  if (search) params.set("search", search);
  else params.delete("search");
  const qs = params.toString();
  history.replaceState(null, "", `${location.pathname}${qs ? `?${qs}` : ""}`);
}

export function LogsTab({ run }: { run: Run }) {
  const live = isLive(run);
  const [input, setInput] = useState(searchFromUrl);
  const [search, setSearch] = useState(searchFromUrl);
  const [showTime, setShowTime] = useState(false);
  const [status, setStatus] = useState<ComponentChildren>(null);
  const field = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const next = input.trim();
    if (next === search) return;
    const timer = window.setTimeout(() => setSearch(next), SEARCH_DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [input]);
  useEffect(() => writeSearchToUrl(search), [search]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
      if (e.key === "/" && !typing) {
        e.preventDefault();
        field.current?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  return (
    <div class="logs-tab" data-testid="logs-tab">
      <div class="logs-toolbar">
        <input
          ref={field}
          type="search"
          class="logs-search"
          placeholder="Search the output…  ( / )"
          aria-label="Search the console output"
          data-testid="logs-search"
          value={input}
          onInput={(e) => setInput(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") setSearch(input.trim());
            if (e.key === "Escape") {
              setInput("");
              setSearch("");
            }
          }}
        />
        <label class="logs-check">
          <input type="checkbox" checked={showTime} onChange={(e) => setShowTime(e.currentTarget.checked)} data-testid="logs-time" />{" "}
          Timestamps
        </label>
        <span class="logs-status muted" data-testid="logs-status">
          {status}
        </span>
        {live && (
          <span class="live-dot" title="New output appears as the run prints it" data-testid="logs-live">
            live
          </span>
        )}
        <a
          class="logs-download"
          href={api.fileUrl(run.entity, run.project, run.id, "output.log")}
          download={`${run.name || run.id}-output.log`}
          data-testid="logs-download"
        >
          Download output.log
        </a>
      </div>
      {search ? (
        <SearchLog key={`${run.id}|${search}`} run={run} live={live} search={search} showTime={showTime} onStatus={setStatus} />
      ) : (
        <FullLog key={run.id} run={run} live={live} showTime={showTime} onStatus={setStatus} />
      )}
    </div>
  );
}

interface ModeProps {
  run: Run;
  live: boolean;
  showTime: boolean;
  onStatus: (status: ComponentChildren) => void;
}

/** The whole log, fetched by pages of line numbers as they come on screen; new lines tailed while live. */
function FullLog({ run, live, showTime, onStatus }: ModeProps) {
  const held = useRef({
    lines: new Map<number, ConsoleLine>(),
    fetched: new Set<number>(),
    inflight: new Set<number>(),
    tail: -1, // the last line number the tail has asked about
    started: false,
  });
  const [total, setTotal] = useState<number | null>(null);
  const totalRef = useRef(0);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const liveRef = useRef(live);
  liveRef.current = live;

  const grow = (n: number) => {
    totalRef.current = Math.max(n, totalRef.current);
    setTotal(totalRef.current);
  };
  const keep = (lines: ConsoleLine[]) => {
    for (const l of lines) held.current.lines.set(l.line_no, l);
    const last = lines[lines.length - 1];
    return last ? last.line_no + 1 : 0;
  };

  // the first page, then the tail while live (and once more when the run ends, for its last lines)
  useEffect(() => {
    let stop = false;
    let timer = 0;
    const h = held.current;
    const step = async () => {
      let again = false;
      try {
        if (!h.started) {
          const r = await api.console(run.entity, run.project, run.id, -1, PAGE);
          if (stop) return;
          const end = keep(r.lines);
          h.fetched.add(0);
          h.tail = Math.max(r.total - 1, -1);
          h.started = true;
          grow(Math.max(r.total, end));
        } else {
          const r = await api.console(run.entity, run.project, run.id, h.tail, TAIL_LIMIT);
          if (stop) return;
          const end = keep(r.lines);
          h.tail = Math.max(h.tail, r.next_after);
          grow(Math.max(r.total, end));
          again = r.lines.length === TAIL_LIMIT;
          if (r.lines.length) setVersion((v) => v + 1);
        }
        setError(null);
      } catch (err) {
        if (!stop) setError(err);
      }
      if (!stop && (again || liveRef.current)) timer = window.setTimeout(step, again ? 0 : POLL_MS);
    };
    void step();
    return () => {
      stop = true;
      window.clearTimeout(timer);
    };
  }, [run.entity, run.project, run.id, live]);

  const onRange = useCallback(
    (first: number, last: number) => {
      const h = held.current;
      if (!h.started) return;
      const end = Math.min(last, totalRef.current - 1);
      for (let p = Math.floor(first / PAGE); p <= Math.floor(end / PAGE); p++) {
        if (h.fetched.has(p) || h.inflight.has(p)) continue;
        h.inflight.add(p);
        api
          .console(run.entity, run.project, run.id, p * PAGE - 1, PAGE)
          .then((r) => {
            h.fetched.add(p);
            grow(keep(r.lines));
            setVersion((v) => v + 1);
          })
          .catch((err: unknown) => setError(err))
          .finally(() => h.inflight.delete(p));
      }
    },
    [run.entity, run.project, run.id],
  );

  const count = total ?? 0;
  useEffect(() => {
    if (total === null) onStatus(null);
    else onStatus(`${count.toLocaleString("en-US")} ${count === 1 ? "line" : "lines"}`);
  }, [total]);

  if (error !== null && total === null) return <ErrorBox error={error} />;
  if (total === null) return <div class="tab-loading" aria-busy="true" />;
  return (
    <>
      {error !== null && <ErrorBox error={error} />}
      <LogList
        count={count}
        version={version}
        line={(i) => held.current.lines.get(i)}
        onRange={onRange}
        highlight=""
        showTime={showTime}
        startAtBottom={live}
        follow={live}
        empty={
          live
            ? "No output yet. Lines the run prints (stdout and stderr) appear here as it prints them."
            : "This run printed nothing (or its console capture was off: console=\"off\")."
        }
      />
    </>
  );
}

/** The lines matching a search, fetched in order as the list is scrolled; new matches tailed while live. */
function SearchLog({ run, live, search, showTime, onStatus }: ModeProps & { search: string }) {
  const held = useRef({ lines: [] as ConsoleLine[], cursor: -1, busy: false });
  const [done, setDone] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const doneRef = useRef(false);

  const more = useCallback(async () => {
    const h = held.current;
    if (h.busy) return;
    h.busy = true;
    try {
      const r = await api.console(run.entity, run.project, run.id, h.cursor, PAGE, search);
      h.lines.push(...r.lines);
      h.cursor = Math.max(h.cursor, r.next_after);
      doneRef.current = r.lines.length < PAGE;
      setDone(doneRef.current);
      setLoaded(true);
      setError(null);
      if (r.lines.length) setVersion((v) => v + 1);
    } catch (err) {
      setError(err);
    } finally {
      h.busy = false;
    }
  }, [run.entity, run.project, run.id, search]);

  useEffect(() => {
    void more();
  }, [more]);

  // live: new matches, once the search has reached the end of what was printed
  useEffect(() => {
    if (!live) return;
    const timer = window.setInterval(() => {
      if (doneRef.current) void more();
    }, POLL_MS);
    return () => window.clearInterval(timer);
  }, [live, more]);

  const onRange = useCallback(
    (_first: number, last: number) => {
      if (!doneRef.current && last >= held.current.lines.length - OVERSCAN) void more();
    },
    [more],
  );

  const n = held.current.lines.length;
  useEffect(() => {
    if (!loaded) onStatus("searching…");
    else onStatus(`${n.toLocaleString("en-US")}${done ? "" : "+"} matching ${n === 1 ? "line" : "lines"}`);
  }, [n, done, loaded]);

  if (error !== null && !loaded) return <ErrorBox error={error} />;
  if (!loaded) return <div class="tab-loading" aria-busy="true" />;
  return (
    <>
      {error !== null && <ErrorBox error={error} />}
      <LogList
        count={n}
        version={version}
        line={(i) => held.current.lines[i]}
        onRange={onRange}
        highlight={search}
        showTime={showTime}
        startAtBottom={false}
        follow={live}
        empty={`No line contains “${search}”.`}
      />
    </>
  );
}

function formatClock(t: number): string {
  const d = new Date(t * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function Highlight({ text, query }: { text: string; query: string }) {
  if (!query) return <>{text}</>;
  const lower = text.toLowerCase();
  const q = query.toLowerCase();
  const parts: ComponentChildren[] = [];
  let at = 0;
  for (let i = lower.indexOf(q); i !== -1 && q; i = lower.indexOf(q, at)) {
    if (i > at) parts.push(text.slice(at, i));
    parts.push(<mark key={i}>{text.slice(i, i + q.length)}</mark>);
    at = i + q.length;
  }
  parts.push(text.slice(at));
  return <>{parts}</>;
}

/** A virtual list of fixed-height rows: only the rows on screen (and a margin) are in the DOM. */
function LogList(props: {
  count: number;
  version: number;
  line: (i: number) => ConsoleLine | undefined;
  onRange: (first: number, last: number) => void;
  highlight: string;
  showTime: boolean;
  startAtBottom: boolean;
  follow: boolean;
  empty: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  const atBottom = useRef(props.startAtBottom);
  const [away, setAway] = useState(false);

  const measure = () => {
    const el = box.current;
    if (!el) return;
    atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW / 2;
    setAway(!atBottom.current && el.scrollHeight > el.clientHeight);
    setView({ top: el.scrollTop, height: el.clientHeight });
  };

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // keep to the end while the reader is there (follow the live tail)
  useLayoutEffect(() => {
    const el = box.current;
    if (el && atBottom.current) {
      el.scrollTop = el.scrollHeight;
      measure();
    }
  }, [props.count]);

  const first = Math.max(0, Math.floor(view.top / ROW) - OVERSCAN);
  const last = Math.min(props.count - 1, Math.ceil((view.top + view.height) / ROW) + OVERSCAN);
  useEffect(() => {
    if (props.count > 0) props.onRange(first, last);
  }, [first, last, props.count, props.onRange]);

  const rows: ComponentChildren[] = [];
  for (let i = first; i <= last; i++) {
    const l = props.line(i);
    if (!l) {
      rows.push(
        <div key={i} class="log-row log-pending">
          <span class="log-no">{i + 1}</span>
          <span class="log-text">…</span>
        </div>,
      );
      continue;
    }
    rows.push(
      <div key={i} class={`log-row ${l.stream === "stderr" ? "log-stderr" : ""}`} data-testid="log-line" data-stream={l.stream} data-line-no={l.line_no}>
        <span class="log-no">{l.line_no + 1}</span>
        <span class="log-mark" title={l.stream === "stderr" ? "stderr" : undefined}>
          {l.stream === "stderr" ? "err" : ""}
        </span>
        {props.showTime && <span class="log-time">{formatClock(l.t)}</span>}
        <span class="log-text">
          <Highlight text={stripAnsi(l.text)} query={props.highlight} />
        </span>
      </div>,
    );
  }

  const toEnd = () => {
    const el = box.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    atBottom.current = true;
    measure();
  };

  return (
    <div class="log-frame">
      <div ref={box} class="log-view" onScroll={measure} data-testid="log-view" data-count={props.count} tabIndex={0}>
        {props.count === 0 ? (
          <div class="log-empty muted" data-testid="logs-empty">
            {props.empty}
          </div>
        ) : (
          <div class="log-spacer" style={{ height: `${props.count * ROW}px` }}>
            <div class="log-rows" style={{ transform: `translateY(${first * ROW}px)` }}>
              {rows}
            </div>
          </div>
        )}
      </div>
      {away && (
        <button type="button" class="log-jump" onClick={toEnd} data-testid="logs-jump-end">
          {props.follow ? "↓ Follow new output" : "↓ Jump to the end"}
        </button>
      )}
    </div>
  );
}
