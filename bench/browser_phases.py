"""Where a bit click's time goes in the browser: a Chromium performance trace (the same one the
DevTools "Performance" panel records) around each click, cut into phases.

Used by ``bench/click_phases.py --browser``; the click itself is the one ``bench/browser.py``
times (``CLICK``), with the page marking htmx's events (``performance.mark``) so the trace
can be cut where htmx moves from one step to the next.

Phases of one click, in order (wall time, ms):

* request: the click handler, htmx building and sending the request (click -> ``beforeSend``);
* server: the answer's time to first byte as the browser's network stack saw it (request sent
  -> response headers received), the server's own time plus loopback;
* transfer: the rest of the body, and the task that hands it to htmx;
* swap: htmx parsing the answer and putting each out-of-band region in place
  (``beforeSwap`` -> ``afterSwap``), with the work it forces (style, layout);
* settle: htmx processing the new content (``afterSwap`` -> the last ``afterSettle``);
* frame: from the settled DOM to the next frame painted (style, layout, paint, composite).

And, over the whole click, the renderer main thread's self time by kind (the DevTools summary
categories): scripting, HTML parsing, style, layout, paint and composite, garbage collection.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from bench.browser import CLICK, click_selector, click_targets, open_page

MARKS = ("click", "htmx:beforeSend", "htmx:beforeSwap", "htmx:afterSwap", "settled", "painted")
PHASES = ("request", "server", "transfer", "swap", "settle", "frame")
KINDS = ("scripting", "parse HTML", "style", "layout", "paint+composite", "gc", "other")

TRACE_CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "disabled-by-default-devtools.timeline.frame",
    "blink.user_timing",
    "v8",
    "toplevel",
]

# Trace event names by DevTools category (self time is counted: a nested event's time goes to
# its own kind, not its parent's).
KIND_OF = {
    "FunctionCall": "scripting",
    "EventDispatch": "scripting",
    "TimerFire": "scripting",
    "FireAnimationFrame": "scripting",
    "FireIdleCallback": "scripting",
    "XHRReadyStateChange": "scripting",
    "XHRLoad": "scripting",
    "EvaluateScript": "scripting",
    "v8.compile": "scripting",
    "v8.callFunction": "scripting",
    "RunMicrotasks": "scripting",
    "V8.Execute": "scripting",
    "MutationObserverCallback": "scripting",
    "ParseHTML": "parse HTML",
    "UpdateLayoutTree": "style",
    "RecalculateStyles": "style",
    "ParseAuthorStyleSheet": "style",
    "Layout": "layout",
    "UpdateLayer": "paint+composite",
    "UpdateLayerTree": "paint+composite",
    "PrePaint": "paint+composite",
    "Paint": "paint+composite",
    "PaintImage": "paint+composite",
    "Layerize": "paint+composite",
    "Commit": "paint+composite",
    "CompositeLayers": "paint+composite",
    "MinorGC": "gc",
    "MajorGC": "gc",
    "V8.GC_SCAVENGER": "gc",
    "BlinkGC.AtomicPhase": "gc",
    "ThreadState::performIdleLazySweep": "gc",
}

# bench/browser.py's click, with htmx's steps marked in the page's timeline (blink.user_timing
# in the trace); that click waits two frames after the settled swap: rAF runs before a frame's
# style and layout, the next one after that frame was painted.
TRACED_CLICK = (
    """
async ([selector, n]) => {
  const click = """
    + CLICK.strip()
    + """;
  const mark = (name) => performance.mark(name + ':' + n);
  const names = ['htmx:beforeSend', 'htmx:beforeSwap', 'htmx:afterSwap', 'htmx:afterSettle'];
  const label = (name) => (name === 'htmx:afterSettle' ? 'settled' : name);
  const marks = names.map(name => [name, () => mark(label(name))]);
  for (const [name, f] of marks) document.body.addEventListener(name, f);
  mark('click');
  const settled = await click(selector);
  mark('painted');
  for (const [name, f] of marks) document.body.removeEventListener(name, f);
  return settled;
}
"""
)


@dataclass
class ClickTrace:
    settled_ms: float
    phases: dict[str, float]
    kinds: dict[str, float]


@dataclass
class Breakdown:
    clicks: list[ClickTrace] = field(default_factory=list)

    def median(self, key: str, kind: bool = False) -> float:
        values = [(c.kinds if kind else c.phases).get(key, 0.0) for c in self.clicks]
        return statistics.median(values) if values else 0.0

    def summary(self, title: str) -> str:
        settled = sorted(c.settled_ms for c in self.clicks)
        n = len(settled)
        lines = [
            f"{title}: {n} traced clicks, click -> settled median "
            f"{statistics.median(settled):.1f} ms (p90 {settled[n * 9 // 10]:.1f})",
            "  phase (wall, median ms)        " + "  ".join(f"{p:>8s}" for p in PHASES),
            "                                 "
            + "  ".join(f"{self.median(p):8.1f}" for p in PHASES),
            "  main thread self time by kind  "
            + "  ".join(f"{k.split('+')[0][:8]:>8s}" for k in KINDS),
            "  (click -> painted, median ms)  "
            + "  ".join(f"{self.median(k, kind=True):8.1f}" for k in KINDS),
        ]
        return "\n".join(lines)


def _main_thread(events: list[dict]) -> tuple[int, int]:
    """(pid, tid) of the page's renderer main thread: the one with our user-timing marks."""
    for e in events:
        if e.get("cat", "").startswith("blink.user_timing") and str(e.get("name", "")).startswith(
            "click:"
        ):
            return e["pid"], e["tid"]
    raise RuntimeError("no click marks in the trace")


def _slices(events: list[dict], pid: int, tid: int) -> list[tuple[float, float, str]]:
    """Complete slices (start us, end us, name) of one thread, B/E pairs joined."""
    out: list[tuple[float, float, str]] = []
    open_: list[dict] = []
    for e in events:
        if e.get("pid") != pid or e.get("tid") != tid:
            continue
        ph = e.get("ph")
        if ph == "X":
            out.append((e["ts"], e["ts"] + e.get("dur", 0), e["name"]))
        elif ph == "B":
            open_.append(e)
        elif ph == "E" and open_:
            b = open_.pop()
            out.append((b["ts"], e["ts"], b["name"]))
    out.sort(key=lambda s: (s[0], -s[1]))
    return out


def _self_times(slices, start: float, end: float) -> dict[str, float]:
    """Self time (ms) by kind of the slices inside [start, end] on one thread."""
    kinds: dict[str, float] = defaultdict(float)
    stack: list[list] = []  # [end, kind, child time]

    def close(until: float) -> None:
        while stack and stack[-1][0] <= until:
            s_end, kind, child, s_start = stack.pop()
            own = (s_end - s_start) - child
            if kind is not None and own > 0:
                kinds[kind] += own / 1000
            if stack:
                stack[-1][2] += s_end - s_start

    for s_start, s_end, name in slices:
        if s_end < start or s_start > end:
            continue
        s_start, s_end = max(s_start, start), min(s_end, end)
        close(s_start)
        kind = KIND_OF.get(name)
        if kind is None and not stack:
            kind = "other" if name not in ("RunTask", "ThreadControllerImpl::RunTask") else None
        elif kind is None:
            kind = stack[-1][1]  # an unknown nested slice counts as its parent's kind
        stack.append([s_end, kind, 0.0, s_start])
    close(float("inf"))
    return dict(kinds)


def analyse(trace: bytes, settled: list[float]) -> Breakdown:
    events = json.loads(trace)
    events = events["traceEvents"] if isinstance(events, dict) else events
    pid, tid = _main_thread(events)
    marks: dict[str, float] = {}  # the first of each name; the last for "settled"
    for e in sorted(events, key=lambda e: e.get("ts", 0)):
        name = str(e.get("name", ""))
        timing = e.get("cat", "").startswith("blink.user_timing") and ":" in name
        if timing and (name.startswith("settled:") or name not in marks):
            marks[name] = e["ts"]
    # network: the explorer's requests, in order (send, response headers, finish)
    sends: list[tuple[float, str]] = []
    headers: dict[str, float] = {}
    finish: dict[str, float] = {}
    for e in events:
        data = e.get("args", {}).get("data", {})
        if e.get("name") == "ResourceSendRequest" and "flip=" in data.get("url", ""):
            sends.append((e["ts"], data["requestId"]))
        elif e.get("name") == "ResourceReceiveResponse":
            timing = data.get("timing") or {}
            if timing:
                base = timing["requestTime"] * 1e6
                headers[data["requestId"]] = (
                    base + timing["receiveHeadersEnd"] * 1e3,
                    base + timing["sendEnd"] * 1e3,
                )
        elif e.get("name") == "ResourceFinish":
            finish[data.get("requestId")] = e["ts"]
    slices = _slices(events, pid, tid)
    out = Breakdown()
    for n, settled_ms in enumerate(settled):
        m = {k: marks.get(f"{k}:{n}") for k in MARKS}
        if any(v is None for v in m.values()):
            continue
        request = next((rid for ts, rid in sends if ts >= m["click"]), None)
        received, sent = headers.get(request, (m["htmx:beforeSwap"], m["htmx:beforeSend"]))
        # the trace clock of network timings is the same monotonic clock (microseconds)
        server = max(0.0, received - sent)
        phases = {
            "request": (m["htmx:beforeSend"] - m["click"]) / 1000,
            "server": server / 1000,
            "transfer": max(0.0, m["htmx:beforeSwap"] - m["htmx:beforeSend"] - server) / 1000,
            "swap": (m["htmx:afterSwap"] - m["htmx:beforeSwap"]) / 1000,
            "settle": (m["settled"] - m["htmx:afterSwap"]) / 1000,
            "frame": (m["painted"] - m["settled"]) / 1000,
        }
        kinds = _self_times(slices, m["click"], m["painted"])
        out.clicks.append(ClickTrace(settled_ms, phases, kinds))
    return out


def trace_clicks(browser, url: str, preset: str, clicks: int) -> Breakdown:
    """Open the preset's page and click ``clicks`` bits (as bench/browser.py does) under one
    Chromium trace."""
    context, page, _ = open_page(browser, url, preset)
    targets = click_targets(preset)
    # a bit on and off again untraced first: the first answers compile htmx's swap paths
    page.evaluate(TRACED_CLICK, [click_selector(targets[0]), -1])
    page.evaluate(TRACED_CLICK, [click_selector(targets[0]), -2])
    browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
    settled: list[float] = []
    for i in range(clicks):
        bit = targets[(i // 2) % len(targets)]
        settled.append(page.evaluate(TRACED_CLICK, [click_selector(bit), i]))
    trace = browser.stop_tracing()
    context.close()
    return analyse(trace, settled)
