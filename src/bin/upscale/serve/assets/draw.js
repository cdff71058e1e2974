// Drawing on the Edit view's preview (#28): text, arrows, lines, rectangles and ellipses made
// with a mouse, a pen or a finger (pointer events), kept as the API's annotation operations in
// pixels of the edited result. app.js puts them in the list Apply sends (after the resize,
// before the watermark: the server's order) and draws them in its preview through
// `annotations.preview`, so what is drawn here is what Apply gives.
"use strict";

const annotations = (() => {
  const KINDS = ["text", "arrow", "line", "rect", "ellipse"];
  const MAX = 64; // the server's limit (edit/spec.rs MAX_ANNOTATIONS)
  const el = (id) => document.getElementById(id);
  let list = []; // the operations drawn, in order
  let pending = null; // the shape being dragged

  const tool = () => el("draw-tool").value;

  function say(text) { el("draw-msg").textContent = text; }

  function showCount() {
    el("draw-undo").disabled = el("draw-clear").disabled = list.length === 0;
    say(list.length ? `${list.length} drawn` : "");
  }

  // The preview takes touches (no scrolling on it): a finger draws with a tool chosen, and
  // crops without one (app.js), as the mouse does.
  function toolChosen() {
    const cv = el("preview");
    cv.style.touchAction = "none";
    cv.style.cursor = tool() ? "crosshair" : "";
    const t = tool();
    el("draw-text-fields").hidden = t !== "text";
    el("draw-shape-fields").hidden = t === "text";
  }

  // The pointer's place in pixels of the result (the preview shows the result whole).
  function at(e) {
    const cv = el("preview");
    const r = cv.getBoundingClientRect();
    const [fw, fh] = (cv.dataset.size || "1x1").split("x").map(Number);
    return [Math.round(((e.clientX - r.left) / r.width) * fw), Math.round(((e.clientY - r.top) / r.height) * fh)];
  }

  function shape(t, x0, y0, x1, y1) {
    const color = el("draw-color").value, w = Number(el("draw-width").value) || 4;
    if (t === "line" || t === "arrow") return { op: t, x1: x0, y1: y0, x2: x1, y2: y1, width: w, color };
    const o = { op: t, x: Math.min(x0, x1), y: Math.min(y0, y1), width: Math.abs(x1 - x0), height: Math.abs(y1 - y0), line: w, color };
    if (el("draw-fill").checked) o.fill = el("draw-fill-color").value;
    return o;
  }

  el("preview").addEventListener("pointerdown", (e) => {
    const t = tool();
    if (!t || typeof editing === "undefined" || !editing) return;
    e.preventDefault();
    if (list.length >= MAX) { say(`at most ${MAX} drawings: undo one first`); return; }
    const cv = el("preview");
    const [x0, y0] = at(e);
    if (t === "text") {
      const text = el("draw-text").value;
      if (!text) { say("type the text first, then click where it goes"); return; }
      list.push({ op: "text", text, x: x0, y: y0, size: Number(el("draw-size").value) || 32, color: el("draw-color").value });
      showCount();
      preview();
      return;
    }
    cv.setPointerCapture(e.pointerId);
    const move = (ev) => { pending = shape(t, x0, y0, ...at(ev)); preview(); };
    const up = (ev) => {
      cv.removeEventListener("pointermove", move);
      cv.removeEventListener("pointerup", up);
      cv.removeEventListener("pointercancel", up);
      const [x1, y1] = at(ev);
      pending = null;
      // A click without a drag draws nothing.
      if (ev.type === "pointerup" && Math.hypot(x1 - x0, y1 - y0) >= 2) list.push(shape(t, x0, y0, x1, y1));
      showCount();
      preview();
    };
    cv.addEventListener("pointermove", move);
    cv.addEventListener("pointerup", up);
    cv.addEventListener("pointercancel", up);
  });

  el("draw-tool").addEventListener("input", toolChosen);
  el("draw-undo").onclick = () => { list.pop(); showCount(); preview(); };
  el("draw-clear").onclick = () => { list = []; showCount(); preview(); };

  // One operation drawn on a copy of `src` (whose pixels are `k` times the result's), with the
  // server's geometry (edit/draw.rs): arrowheads 3 × the width long (8 px at least), outlines
  // centred on the edges.
  function draw(src, op, k) {
    const c = document.createElement("canvas");
    c.width = src.width; c.height = src.height;
    const g = c.getContext("2d");
    g.drawImage(src, 0, 0);
    g.strokeStyle = op.color;
    g.fillStyle = op.color;
    if (op.op === "text") {
      g.font = `bold ${op.size * k}px "DejaVu Sans Mono", monospace`;
      g.textBaseline = "top";
      g.fillText(op.text, op.x * k, op.y * k);
    } else if (op.op === "line" || op.op === "arrow") {
      const arrow = op.op === "arrow";
      const dx = op.x2 - op.x1, dy = op.y2 - op.y1, len = Math.hypot(dx, dy);
      const [ux, uy] = len > 0 ? [dx / len, dy / len] : [1, 0];
      const head = arrow ? Math.max(3 * op.width, 8) : 0;
      const shaft = Math.max(0, len - head * 0.8);
      g.lineWidth = op.width * k;
      g.lineCap = arrow ? "butt" : "round";
      if (shaft > 0 || !arrow) {
        g.beginPath();
        g.moveTo(op.x1 * k, op.y1 * k);
        g.lineTo((op.x1 + ux * shaft) * k, (op.y1 + uy * shaft) * k);
        g.stroke();
      }
      if (arrow) {
        const bx = op.x2 - ux * head, by = op.y2 - uy * head, half = head * 0.55;
        g.beginPath();
        g.moveTo(op.x2 * k, op.y2 * k);
        g.lineTo((bx - uy * half) * k, (by + ux * half) * k);
        g.lineTo((bx + uy * half) * k, (by - ux * half) * k);
        g.closePath();
        g.fill();
      }
    } else {
      g.beginPath();
      if (op.op === "ellipse") g.ellipse((op.x + op.width / 2) * k, (op.y + op.height / 2) * k, (op.width / 2) * k, (op.height / 2) * k, 0, 0, 2 * Math.PI);
      else g.rect(op.x * k, op.y * k, op.width * k, op.height * k);
      if (op.fill) { g.fillStyle = op.fill; g.fill(); }
      if (op.line > 0) { g.lineWidth = op.line * k; g.lineJoin = "miter"; g.stroke(); }
    }
    return c;
  }

  toolChosen();
  showCount();
  return {
    kinds: KINDS,
    // Whether a drawing tool has the pointer (the crop drag then waits).
    active: () => !!tool(),
    // The operations drawn, and the one being dragged.
    operations: () => (pending ? [...list, pending] : list.slice()),
    preview: draw,
    // A new picture in the editor: nothing drawn on it yet.
    reset: () => { list = []; pending = null; showCount(); },
  };
})();
