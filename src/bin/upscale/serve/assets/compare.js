// Networks side by side on the page of `upscale serve`: for an uploaded picture opened in the
// Compare view, or one uploaded with "Preview first" that waits for Run, pick 2 to 4 networks and optionally a region (dragged on the picture with a
// mouse, a pen or a finger), and POST /api/jobs/{id}/compare draws them in one labelled grid
// (the library's `compare_picture`, the same grid as `upscale compare -m A,B,C --region`).
// app.js only announces the view it opens ("upscale:compare-open"). No framework.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const MIN = 2, MAX = 4;
  const state = { id: null, img: null, region: null, drag: null, url: null };

  function build() {
    const s = document.createElement("section");
    s.className = "panel";
    s.id = "models-panel";
    s.hidden = true;
    s.setAttribute("aria-labelledby", "models-title");
    s.innerHTML = `<h2 id="models-title">Networks side by side</h2>
      <p class="hint">Choose ${MIN} to ${MAX} networks and, to see a detail in seconds, drag a rectangle on the
        picture: the networks run on it alone, at this job's scale.</p>
      <fieldset id="models-list"><legend>Networks</legend></fieldset>
      <div class="region">
        <canvas id="region-view" width="320" height="200" aria-label="The uploaded picture: drag to choose a region"></canvas>
        <fieldset><legend>Region (picture pixels)</legend>
          <label>x <input type="number" id="region-x" min="0"></label>
          <label>y <input type="number" id="region-y" min="0"></label>
          <label>w <input type="number" id="region-w" min="1"></label>
          <label>h <input type="number" id="region-h" min="1"></label>
          <button type="button" id="region-whole">Whole picture</button>
        </fieldset>
      </div>
      <p><label><input type="checkbox" id="models-classic"> also nearest, bicubic and Lanczos</label></p>
      <p><button type="button" id="models-run">Compare networks</button> <span id="models-msg" role="status"></span></p>
      <p id="models-held" hidden>This file waits for you: <label>run it with <select id="models-start-model">
        <option value="">the network it was added with</option></select></label>
        <button type="button" id="models-start" class="primary">Run the whole file</button></p>
      <div id="models-result"><img id="models-grid" alt="" hidden></div>`;
    const css = document.createElement("style");
    css.textContent = `#models-panel .region { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
      #region-view { max-width: 100%; cursor: crosshair; border: 1px solid #767676; }
      #models-list label { display: inline-block; margin: 0.2rem 0.8rem 0.2rem 0; min-height: 24px; }
      #models-result { overflow: auto; max-width: 100%; }
      #models-grid { image-rendering: pixelated; height: auto; max-width: none; }`;
    document.head.append(css);
    const after = $("compare-panel");
    after.parentNode.insertBefore(s, after.nextSibling);
    for (const k of ["x", "y", "w", "h"]) $(`region-${k}`).addEventListener("input", fromFields);
    $("region-whole").onclick = () => { state.region = null; showRegion(); };
    $("models-run").onclick = run;
    $("models-start").onclick = () => {
      $("models-held").hidden = true;
      if (typeof startJob === "function") startJob(state.id, $("models-start-model").value); // app.js
    };
    const c = $("region-view");
    c.style.touchAction = "none";
    c.addEventListener("pointerdown", (e) => {
      if (!state.img) return;
      c.setPointerCapture(e.pointerId);
      state.drag = point(e);
      e.preventDefault();
    });
    c.addEventListener("pointermove", (e) => {
      if (!state.drag) return;
      const p = point(e), d = state.drag;
      const x = Math.min(p[0], d[0]), y = Math.min(p[1], d[1]);
      const w = Math.abs(p[0] - d[0]), h = Math.abs(p[1] - d[1]);
      state.region = w >= 1 && h >= 1 ? [x, y, w, h] : null;
      showRegion();
    });
    const end = () => { state.drag = null; };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
    fetch("/api/models").then((r) => r.json()).then((m) => {
      for (const x of m.models.filter((x) => x.scales.length)) {
        const l = document.createElement("label");
        const i = document.createElement("input");
        i.type = "checkbox"; i.name = "model-choice"; i.value = x.name;
        i.addEventListener("change", limit);
        l.append(i, ` ${x.name}`);
        $("models-list").append(l);
      }
    }).catch(() => {});
  }

  // The pointer's position in picture pixels.
  function point(e) {
    const c = $("region-view"), r = c.getBoundingClientRect();
    const [w, h] = [state.img.naturalWidth, state.img.naturalHeight];
    const fx = Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1);
    const fy = Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1);
    return [Math.round(fx * w), Math.round(fy * h)];
  }

  function chosen() {
    return [...document.querySelectorAll("input[name=model-choice]:checked")].map((i) => i.value);
  }

  // The networks checked are offered to run the waiting file with.
  function offerRun() {
    const sel = $("models-start-model"), keep = sel.value;
    sel.replaceChildren(sel.options[0], ...chosen().map((m) => {
      const o = document.createElement("option");
      o.value = o.textContent = m;
      return o;
    }));
    sel.value = chosen().includes(keep) ? keep : "";
  }

  // No more than MAX networks: the others are greyed out once MAX are checked.
  function limit() {
    offerRun();
    const full = chosen().length >= MAX;
    for (const i of document.querySelectorAll("input[name=model-choice]")) i.disabled = full && !i.checked;
  }

  function fromFields() {
    const v = ["x", "y", "w", "h"].map((k) => $(`region-${k}`).value);
    state.region = v.every((x) => x !== "") ? v.map(Number) : null;
    draw();
  }

  function showRegion() {
    const r = state.region || ["", "", "", ""];
    ["x", "y", "w", "h"].forEach((k, i) => { $(`region-${k}`).value = r[i]; });
    draw();
  }

  function draw() {
    const c = $("region-view"), img = state.img;
    if (!img || !img.naturalWidth) return;
    const s = Math.min(320 / img.naturalWidth, 240 / img.naturalHeight, 4);
    c.width = Math.max(1, Math.round(img.naturalWidth * s));
    c.height = Math.max(1, Math.round(img.naturalHeight * s));
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0, c.width, c.height);
    if (state.region) {
      const [x, y, w, h] = state.region.map((v) => v * s);
      g.fillStyle = "rgba(0,0,0,0.45)";
      g.fillRect(0, 0, c.width, c.height);
      g.drawImage(img, state.region[0], state.region[1], state.region[2], state.region[3], x, y, w, h);
      g.strokeStyle = "#ffd400"; g.lineWidth = 2;
      g.strokeRect(x, y, w, h);
    }
  }

  async function run() {
    const models = chosen();
    const msg = $("models-msg");
    if (models.length < MIN || models.length > MAX) {
      msg.textContent = `Choose ${MIN} to ${MAX} networks (${models.length} chosen).`;
      return;
    }
    const body = { models, classic: $("models-classic").checked };
    if (state.region) {
      const [x, y, width, height] = state.region;
      body.region = { x, y, width, height };
    }
    msg.textContent = `Running ${models.length} networks…`;
    $("models-run").disabled = true;
    const t0 = performance.now();
    try {
      const r = await fetch(`/api/jobs/${state.id}/compare`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      if (!r.ok) {
        let e = `${r.status} ${r.statusText}`;
        try { e = (await r.json()).error || e; } catch (_) { /* not JSON */ }
        msg.textContent = e;
        return;
      }
      const blob = await r.blob();
      if (state.url) URL.revokeObjectURL(state.url);
      state.url = URL.createObjectURL(blob);
      const grid = $("models-grid");
      grid.onload = () => {
        // A small grid (a region) is shown enlarged by a whole factor, pixels kept square and sharp.
        const room = $("models-result").clientWidth || grid.naturalWidth;
        const k = Math.max(1, Math.min(4, Math.floor(room / grid.naturalWidth)));
        grid.style.width = `${grid.naturalWidth * k}px`;
        grid.title = k > 1 ? `shown at ${k}×` : "";
        const where = state.region ? `a ${state.region[2]}×${state.region[3]} region` : "the whole picture";
        msg.textContent = `${models.join(", ")} on ${where} in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
        grid.dataset.models = models.join(",");
      };
      grid.alt = `Side by side, left to right: ${($("models-classic").checked ? ["nearest", "bicubic", "Lanczos"] : []).concat(models).join(", ")}`;
      grid.hidden = false;
      grid.src = state.url;
    } catch (_) {
      msg.textContent = "The server is not answering.";
    } finally {
      $("models-run").disabled = false;
    }
  }

  // The Compare view opened a job: pictures that were uploaded get the networks panel.
  document.addEventListener("upscale:compare-open", (e) => {
    const { id, media, upload, held } = e.detail;
    if (!$("models-panel")) build();
    const panel = $("models-panel");
    panel.hidden = !(upload && media !== "video");
    // A file uploaded with "Preview first" waits for Run, offered here too.
    $("models-held").hidden = !held;
    if (panel.hidden || state.id === id) return;
    state.id = id;
    state.region = null;
    showRegion();
    $("models-grid").hidden = true;
    $("models-msg").textContent = "";
    const img = new Image();
    img.onload = () => { state.img = img; draw(); };
    img.src = `/api/jobs/${id}/input`;
  });
})();
