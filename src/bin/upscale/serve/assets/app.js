// The page of `upscale serve`: uploads files to /api/jobs, follows each job's server-sent
// events, compares before and after, previews edits on a canvas and asks the server to apply
// them to the full-resolution result. No framework, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const jobs = new Map(); // id -> {json, li, es, t0, d0, estimated, warnings, label, scaleTag}
// What the server says about itself (/api/models) and its presets (/api/presets).
const server = { instance: null, maxUpload: 0, maxUploadMib: 0, maxSide: 65535, maxPixels: 0, maxJobs: 0 };
let presets = { presets: [], image_default: null, video_default: null };

function fmtTime(s) {
  if (s == null || !isFinite(s)) return "";
  s = Math.round(s);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

async function api(path, opts = {}) {
  const r = await fetch(path, opts);
  let body = null;
  try { body = await r.json(); } catch (_) { /* empty body */ }
  if (!r.ok) {
    const e = new Error((body && body.error) || `${r.status} ${r.statusText}`);
    e.status = r.status;
    throw e;
  }
  return body;
}

function isVideo(file) {
  return file.type.startsWith("video/") || /\.(mp4|mkv|webm|mov|avi|m4v)$/i.test(file.name || "");
}

// ---- adding files ----

function presetFor(video) {
  const chosen = presets.presets.find((p) => p.id === $("preset").value);
  if (!chosen) return null;
  // A picture-only choice (Photo) does not fit a video: the video preset goes instead, and the
  // card says which network ran.
  if (video && chosen.media === "image") return presets.presets.find((p) => p.id === presets.video_default) || chosen;
  return chosen;
}

// The form for one file, or {error} when the settings cannot work (checked here, before sending).
function settings(file) {
  const video = isVideo(file);
  if (server.maxUpload && file.size > server.maxUpload) {
    return { error: `${file.name || "the file"} is ${(file.size / 1048576).toFixed(0)} MiB, over this server's upload limit of ${server.maxUploadMib} MiB` };
  }
  const f = new FormData();
  f.append("file", file, file.name || "pasted.png");
  const p = presetFor(video);
  const model = $("model").value || (p && p.model) || "";
  if (model) f.append("model", model);
  // The preset's denoise level (or the one chosen among its network's) goes with the preset's
  // own network only.
  if (p && p.denoise != null && model === p.model) {
    f.append("denoise", $("denoise-field").hidden || !$("denoise").value ? String(p.denoise) : $("denoise").value);
  }
  const scale = document.querySelector("input[name=scale]:checked").value;
  if (scale === "1" && (video || !p || !p.clean_only || model !== p.model)) {
    return { error: "1× clean only: for pictures, with the Old scan choice's own network" };
  }
  let scaleTag;
  if (scale === "size") {
    const [w, h] = [$("width").value.trim(), $("height").value.trim()];
    if (!w && !h) return { error: "exact size: give a width, a height or both" };
    for (const [name, v] of [["width", w], ["height", h]]) {
      if (v && !(Number.isInteger(Number(v)) && Number(v) >= 1 && Number(v) <= server.maxSide)) {
        return { error: `exact size: the ${name} must be a whole number from 1 to ${server.maxSide}` };
      }
    }
    if (w) f.append("width", w);
    if (h) f.append("height", h);
    scaleTag = `${w || "auto"}×${h || "auto"}`;
  } else {
    f.append("scale", scale);
    scaleTag = `${scale}×`;
  }
  const fmt = video ? $("video-format").value : $("image-format").value;
  if (fmt) f.append("format", fmt);
  const q = $("quality").value.trim();
  if (!video && q) {
    if (!(Number.isInteger(Number(q)) && Number(q) >= 1 && Number(q) <= 100)) {
      return { error: "JPEG quality: a whole number from 1 to 100" };
    }
    f.append("quality", q);
  }
  if (video && !$("temporal").checked) f.append("temporal", "off");
  // "Preview first": the picture is uploaded and waits for Run (networks compared on it first).
  if (!video && $("preview-first").checked) f.append("start", "later");
  const label = $("model").value ? model : p ? `${p.label} · ${p.model}` : model;
  return { form: f, label, scaleTag };
}

function addFiles(files) {
  for (const file of files) upload(file);
}

// Files wait here, in order, until the server has a place for them: it holds at most
// `--max-jobs` jobs (finished ones included) and refuses more with 429, so a batch larger than
// that is sent as places free (a job removed or expired) instead of being refused file by file.
const waiting = [];
let sending = 0; // uploads in flight
let pumping = false;

function upload(file) {
  const s = settings(file);
  const temp = { json: { id: null, name: file.name || "pasted.png", state: "waiting", progress: { done: 0 } }, label: s.label, scaleTag: s.scaleTag, file, s };
  temp.li = card(temp);
  if (s.error) {
    temp.json.state = "failed";
    temp.json.error = s.error;
    render(temp);
    return;
  }
  waiting.push(temp);
  pump();
}

// Sends waiting files while the server has places (the server's count is the one that holds;
// a 429 puts the file back to wait).
async function pump() {
  if (pumping) return;
  pumping = true;
  try {
    while (waiting.length) {
      let held = 0;
      try { held = (await api("/api/jobs")).jobs.length; } catch (_) { break; }
      if (server.maxJobs && held + sending >= server.maxJobs) break;
      // Refused before the limit was known: wait for the timer rather than send again at once.
      if (!server.maxJobs && waiting.some((t) => t.refused)) break;
      send(waiting.shift());
    }
  } finally {
    pumping = false;
  }
  for (const t of waiting) {
    if (t.json.state !== "waiting") continue;
    setBar(t, 0, 1, `waiting for a place: this server keeps at most ${server.maxJobs} jobs, finished ones included; ` +
      "this file is sent when one is removed or expires");
  }
  if (waiting.length && !pump.timer) pump.timer = setTimeout(() => { pump.timer = null; pump(); }, 1500);
}

function send(temp) {
  const s = temp.s;
  temp.json.state = "uploading";
  render(temp);
  sending++;
  const xhr = new XMLHttpRequest();
  temp.xhr = xhr;
  let ended = false;
  const end = () => { if (!ended) { ended = true; sending--; temp.xhr = null; setTimeout(pump, 0); } };
  xhr.open("POST", "/api/jobs");
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) setBar(temp, e.loaded, e.total, `uploading ${Math.round((100 * e.loaded) / e.total)} %`);
  };
  xhr.onload = () => {
    end();
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
    if (xhr.status === 201 && body.id) {
      temp.li.remove();
      track(body.id, null, { label: s.label, scaleTag: s.scaleTag });
    } else if (xhr.status === 429) {
      // Another client took the place: this file waits again, first in line.
      temp.json.state = "waiting";
      temp.refused = true;
      waiting.unshift(temp);
      render(temp);
    } else {
      temp.json.state = "failed";
      temp.json.error = body.error || `upload refused (${xhr.status})`;
      render(temp);
    }
  };
  xhr.onerror = () => { end(); temp.json.state = "failed"; temp.json.error = "the upload failed: is the server still running?"; render(temp); };
  // Cancelled while sending: the server drops the part it received and keeps no job.
  xhr.onabort = () => { end(); temp.json.state = "cancelled"; temp.json.error = "upload cancelled"; render(temp); };
  xhr.send(s.form);
}

// Stops a file that is not on the server yet: taken out of the line, or its upload aborted.
function stopUpload(temp) {
  const i = waiting.indexOf(temp);
  if (i >= 0) {
    waiting.splice(i, 1);
    temp.json.state = "cancelled";
    temp.json.error = "cancelled before it was sent";
    render(temp);
  }
  if (temp.xhr) temp.xhr.abort();
}

// A job uploaded with "Preview first" waits on the server until Run.
// `model`: another network than the one it was added with (chosen after comparing).
async function startJob(id, model) {
  const job = jobs.get(id);
  try {
    const fresh = await api(`/api/jobs/${id}/start`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(model ? { model } : {}),
    });
    if (job && model) { job.label = model; keepLabel(id, model, job.scaleTag); }
    if (job) { job.json = fresh; render(job); }
  } catch (e) {
    if (job) refresh(job);
  }
}

// The labels a card shows ("4× · Photo · network"), kept in this browser by job id: the server's
// list has the file and its state, not which preset the person chose.
const LABELS = "upscale-labels";

function keptLabels() {
  try { return JSON.parse(localStorage.getItem(LABELS) || "{}"); } catch (_) { return {}; }
}

function keepLabel(id, label, scaleTag) {
  try {
    const all = keptLabels();
    all[id] = { label, scaleTag };
    localStorage.setItem(LABELS, JSON.stringify(all));
  } catch (_) { /* storage off: the labels last as long as the page */ }
}

// Only the labels of jobs the server still has are kept.
function pruneLabels(ids) {
  try {
    const all = keptLabels();
    for (const id of Object.keys(all)) if (!ids.includes(id)) delete all[id];
    localStorage.setItem(LABELS, JSON.stringify(all));
  } catch (_) { /* storage off */ }
}

// ---- the queue ----

function card(job) {
  const li = document.createElement("li");
  li.className = "job";
  li.innerHTML = `<span class="thumb-box"></span><div class="body">
    <div class="row"><span><span class="name"></span><span class="scale"></span><span class="network"></span></span><span class="state"></span></div>
    <progress max="1" value="0"></progress><div class="row"><span class="info"></span><span class="sizes"></span></div>
    <ul class="warnings" hidden></ul>
    <div class="row"><span></span><span class="actions">
      <button type="button" class="cancel">Cancel</button>
      <button type="button" class="networks" hidden>Compare networks</button>
      <button type="button" class="start primary" hidden>Run</button>
      <button type="button" class="compare" hidden>Compare</button>
      <button type="button" class="edit" hidden>Edit</button>
      <a class="button download" hidden>Download</a>
      <button type="button" class="delete">Remove</button></span></div></div>`;
  job.li = li;
  job.warnings = job.warnings || [];
  $("queue").append(li);
  $("empty").hidden = true;
  li.querySelector(".cancel").onclick = () => {
    if (!job.json.id) { stopUpload(job); return; }
    api(`/api/jobs/${job.json.id}/cancel`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" })
      .then((fresh) => { if (fresh && fresh.state === "cancelled") { job.json = fresh; render(job); } })
      .catch(() => {});
  };
  li.querySelector(".delete").onclick = () => {
    if (!job.json.id) stopUpload(job);
    const gone = job.json.id ? api(`/api/jobs/${job.json.id}`, { method: "DELETE" }).catch(() => {}) : null;
    forget(job);
    // A place may have freed for a file waiting to be sent.
    if (gone) gone.then(() => pump());
  };
  li.querySelector(".networks").onclick = () => openNetworks(job);
  li.querySelector(".start").onclick = () => startJob(job.json.id);
  li.querySelector(".compare").onclick = () => openCompare(job);
  li.querySelector(".edit").onclick = () => openEdit(job);
  render(job);
  return li;
}

function forget(job) {
  if (job.es) job.es.close();
  jobs.delete(job.json.id);
  job.li.remove();
  $("empty").hidden = $("queue").children.length > 0;
  updateZip();
}

// The "before" picture (or a video's first picture, made by the server) as the card's
// thumbnail; its size is the "before" of the sizes shown.
function thumbnail(job) {
  const j = job.json;
  if (!j.id || job.thumb || !j.media) return;
  // An edit's "before" is its source's result (a video the server wrote, which plays here); an
  // upload's is its preview, a still every browser shows whatever the codec.
  const video = j.task === "edit" && j.media === "video";
  const src = j.task === "edit" ? `/api/jobs/${j.source}/result?inline=1` : `/api/jobs/${j.id}/preview`;
  const el = document.createElement(video ? "video" : "img");
  el.className = "thumb";
  if (video) {
    el.muted = true; el.preload = "metadata"; el.playsInline = true;
    el.onloadedmetadata = () => { job.before = [el.videoWidth, el.videoHeight]; render(job); };
    el.src = `${src}#t=0.1`;
  } else {
    el.alt = "";
    el.onload = () => { job.before = [el.naturalWidth, el.naturalHeight]; render(job); };
    el.src = src;
  }
  job.thumb = el;
  job.li.querySelector(".thumb-box").replaceChildren(el);
}

function setBar(job, done, total, text) {
  const bar = job.li.querySelector("progress");
  if (total) { bar.max = total; bar.value = done; } else { bar.removeAttribute("value"); }
  job.li.querySelector(".info").textContent = text;
}

function sizesText(job) {
  const j = job.json;
  const b = job.before, a = j.width ? [j.width, j.height] : null;
  if (b && a) return `${b[0]}×${b[1]} → ${a[0]}×${a[1]}`;
  if (b) return `${b[0]}×${b[1]}`;
  return a ? `${a[0]}×${a[1]}` : "";
}

// Percent, count, rate and time left, from the totals the start event gave.
function progressText(job) {
  const p = job.json.progress || {};
  const unit = p.unit || "";
  if (!p.total) return p.done ? `${p.done} ${unit} done…` : "starting…";
  const pct = Math.min(100, Math.floor((100 * p.done) / p.total));
  const parts = [`${pct} %`, `${p.done}/${job.estimated ? "≈" : ""}${p.total} ${unit}`];
  const since = p.done - (job.d0 || 0);
  if (job.t0 && since > 0) {
    const secs = (performance.now() - job.t0) / 1000;
    const rate = since / Math.max(secs, 0.001);
    parts.push(`${rate >= 10 ? Math.round(rate) : rate.toFixed(1)} ${unit}/s`);
    if (p.total > p.done) parts.push(`about ${fmtTime((p.total - p.done) / rate)} left`);
  }
  return parts.join(" · ");
}

function render(job) {
  const j = job.json, li = job.li;
  li.dataset.id = j.id || "";
  li.dataset.state = j.state;
  li.querySelector(".name").textContent = j.task === "edit" ? `${j.name} (edited)` : (j.original || j.name);
  li.querySelector(".scale").textContent = j.task === "edit" ? "" : job.scaleTag || "";
  li.querySelector(".network").textContent = job.label || "";
  li.querySelector(".state").textContent = j.state;
  li.querySelector(".sizes").textContent = sizesText(job);
  const running = ["held", "queued", "running", "uploading", "waiting"].includes(j.state);
  li.querySelector(".cancel").hidden = !running;
  const held = j.state === "held";
  li.querySelector(".networks").hidden = !held || j.media !== "image";
  li.querySelector(".start").hidden = !held;
  const done = j.state === "done";
  // An edit changes the geometry: its "before" would not line up.
  li.querySelector(".compare").hidden = !done || j.task === "edit";
  li.querySelector(".edit").hidden = !done;
  const dl = li.querySelector(".download");
  dl.hidden = !done;
  if (done) { dl.href = `/api/jobs/${j.id}/result`; dl.setAttribute("download", j.name); }
  const warn = li.querySelector(".warnings");
  warn.hidden = job.warnings.length === 0;
  if (warn.children.length !== job.warnings.length) {
    warn.replaceChildren(...job.warnings.map((w) => { const x = document.createElement("li"); x.textContent = `warning: ${w}`; return x; }));
  }
  const p = j.progress || {};
  if (j.state === "failed") setBar(job, 0, 1, j.error || "failed");
  else if (done) setBar(job, 1, 1, j.width ? `${j.name}: ${j.width}×${j.height}` : j.name);
  else if (j.state === "cancelled") setBar(job, 0, 1, j.error || "cancelled");
  else if (j.state === "queued") setBar(job, 0, 1, "waiting for the jobs before it");
  else if (held) setBar(job, 0, 1, "uploaded, not started: compare networks on it, then Run");
  else if (j.state === "running") setBar(job, p.total ? p.done : 0, p.total || 0, progressText(job));
  thumbnail(job);
  updateZip();
}

// The job's state from the server (the one source of the final state); a job the server no
// longer has is taken off the page, saying so.
async function refresh(job) {
  try {
    const fresh = await api(`/api/jobs/${job.json.id}`);
    // The stream's totals stay when the status has none.
    if (fresh.progress && fresh.progress.total == null && job.json.progress) fresh.progress.total = job.json.progress.total;
    job.json = fresh;
    render(job);
  } catch (e) {
    if (e.status === 404 && jobs.has(job.json.id)) {
      forget(job);
      banner(`${job.json.original || job.json.name}: the server no longer has this job (deleted, expired or the server was restarted)`);
    }
  }
}

const finished = (j) => ["done", "failed", "cancelled"].includes(j.state);

// Re-reads the state until it is final (the stream may end just before the state is set).
async function settle(job) {
  for (let i = 0; i < 40 && jobs.has(job.json.id); i++) {
    await refresh(job);
    if (finished(job.json)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function track(id, known, extra = {}) {
  if (extra.label != null || extra.scaleTag != null) keepLabel(id, extra.label, extra.scaleTag);
  else extra = { ...(keptLabels()[id] || {}), ...extra };
  const job = { json: known || { id, state: "queued", progress: {} }, warnings: [], ...extra };
  jobs.set(id, job);
  job.li = card(job);
  refresh(job);
  follow(job);
  return job;
}

// The job's events: replayed from its first, then live until it ends. Warnings go on the card.
function follow(job) {
  const es = new EventSource(`/api/jobs/${job.json.id}/events`);
  job.es = es;
  es.onmessage = (m) => {
    const e = JSON.parse(m.data);
    if (e.event === "start") {
      job.estimated = !!e.estimated;
      job.t0 = null;
      job.json.state = "running";
      job.json.progress = { done: 0, total: e.total, unit: e.unit };
    }
    if (e.event === "progress") {
      const p = job.json.progress || {};
      if (e.unit !== "files" || !p.unit || p.unit === "files") {
        if (!job.t0 && e.done > 0) { job.t0 = performance.now(); job.d0 = e.done; }
        job.json.state = "running";
        // Video progress events carry no total: the start's stays.
        job.json.progress = { done: e.done, total: e.total != null ? e.total : p.total, unit: e.unit };
      }
    }
    if (e.event === "warning") job.warnings.push(e.message);
    if (e.event === "summary") { es.close(); settle(job); return; }
    render(job);
  };
  // The stream ended (job finished, server stopping) or broke: the state is read again.
  es.onerror = () => { es.close(); settle(job); };
}

function updateZip() {
  const done = [...jobs.values()].filter((j) => j.json.state === "done").map((j) => j.json.id);
  $("zip").hidden = done.length < 2;
  $("zip").href = `/api/zip?ids=${done.join(",")}`;
}

function banner(text) {
  $("banner").textContent = text;
  $("banner").hidden = !text;
}

// A restarted server has none of this tab's jobs (their files were deleted with its work
// folder): the tab is told and its cards cleared.
async function watchServer() {
  try {
    const r = await api("/api/instance");
    if (server.instance && r.instance !== server.instance) {
      for (const job of [...jobs.values()]) forget(job);
      banner("The server was restarted: the jobs this page showed are gone, with their files. Add the files again to redo them.");
    } else if ($("banner").dataset.down) {
      banner("");
    }
    delete $("banner").dataset.down;
    server.instance = r.instance;
  } catch (_) {
    banner("The server is not answering: it may have been stopped.");
    $("banner").dataset.down = "1";
  }
}

// ---- compare: before/after slider, zoom in step, synced videos ----

let current = null;

function mediaEl(job, src) {
  const el = document.createElement(job.json.media === "video" ? "video" : "img");
  el.src = src;
  if (el.tagName === "VIDEO") { el.muted = true; el.preload = "auto"; el.playsInline = true; el.loop = true; }
  else el.alt = "";
  return el;
}

// Results with a side over BIG pixels are shown through the server's scaled copy (VIEW px a
// side): browsers fail on very large pictures, with an empty stage and no error.
const BIG = 8192, VIEW = 4096;
const tooLarge = (j) => Math.max(j.width || 0, j.height || 0) > BIG;

function openCompare(job) {
  current = job;
  $("compare-panel").hidden = false;
  $("compare-name").textContent = job.json.name;
  const sizes = () => { $("compare-sizes").textContent = [job.scaleTag, sizesText(job), job.label, job.beforeNote].filter(Boolean).join(" · "); };
  sizes();
  const id = job.json.id;
  const upload = job.json.task !== "edit";
  const beforeSrc = upload ? `/api/jobs/${id}/input` : `/api/jobs/${job.json.source}/result?inline=1`;
  // A picture too large for a browser to show whole (an exact width of 30000) is shown as the
  // server's scaled copy, and the view says so.
  const scaled = job.json.media === "image" && tooLarge(job.json);
  job.beforeNote = scaled ? `shown scaled to ${VIEW} px a side: the result is ${job.json.width}×${job.json.height}, whole in the download` : null;
  sizes();
  const after = mediaEl(job, scaled ? `/api/jobs/${id}/result?fit=${VIEW}` : `/api/jobs/${id}/result?inline=1`);
  const before = mediaEl(job, beforeSrc);
  after.addEventListener("error", () => {
    // Not shown whole after all (a browser's own limit): the scaled copy, or words.
    if (job.json.media === "image" && !after.src.includes("fit=")) {
      job.beforeNote = `shown scaled to ${VIEW} px a side: this browser cannot show the ${job.json.width}×${job.json.height} result whole; the download has it`;
      after.src = `/api/jobs/${id}/result?fit=${VIEW}`;
    } else {
      job.beforeNote = `this browser could not show the result (${job.json.width}×${job.json.height}): download it to see it`;
    }
    sizes();
  });
  after.id = "after"; before.id = "before";
  $("after-layer").replaceChildren(after);
  $("before-layer").replaceChildren(before);
  $("compare-download").href = `/api/jobs/${id}/result`;
  $("compare-download").setAttribute("download", job.json.name);
  $("video-controls").hidden = job.json.media !== "video";
  setMuted(true);
  const ready = () => applyZoom();
  after.addEventListener(after.tagName === "VIDEO" ? "loadedmetadata" : "load", ready);
  // The "before" size, from the picture or video itself once it is loaded.
  const measure = (el) => () => {
    const [w, h] = naturalSize(el);
    if (w) { job.before = [w, h]; sizes(); render(job); }
  };
  if (job.json.media === "video") {
    // An uploaded video this browser cannot play (HEVC, FFV1…): its first picture, made by the
    // server, is the "before", beside the playing result.
    const still = () => {
      if (!upload || $("before") !== before) return;
      const img = document.createElement("img");
      img.id = "before"; img.alt = "";
      img.addEventListener("load", measure(img));
      img.src = `/api/jobs/${id}/preview`;
      $("before-layer").replaceChildren(img);
      job.beforeNote = "before: the first picture (this browser cannot play the original)";
      sizes();
    };
    if (upload) before.poster = `/api/jobs/${id}/preview`;
    before.addEventListener("error", still);
    before.addEventListener("loadedmetadata", () => { if (!before.videoWidth) still(); else measure(before)(); });
    syncVideos(before, after);
  } else {
    before.addEventListener("load", measure(before));
  }
  setSplit($("slider").value);
  $("compare-panel").scrollIntoView({ block: "nearest" });
  // compare.js: networks side by side on an uploaded picture.
  document.dispatchEvent(new CustomEvent("upscale:compare-open", { detail: { id, media: job.json.media, upload } }));
}

// The networks panel (compare.js) for a job that waits for Run ("Preview first").
function openNetworks(job) {
  document.dispatchEvent(new CustomEvent("upscale:compare-open",
    { detail: { id: job.json.id, media: job.json.media, upload: true, held: job.json.state === "held", name: job.json.original } }));
  const p = $("models-panel");
  if (p) p.scrollIntoView({ block: "nearest" });
}

// The "before" follows the "after" while both are videos (a still "before" stays as it is).
function syncVideos(before, after) {
  const playing = () => $("before") === before;
  after.ontimeupdate = () => {
    if (playing() && Math.abs(before.currentTime - after.currentTime) > 0.08) before.currentTime = after.currentTime;
    if (after.duration) $("seek").value = Math.round((1000 * after.currentTime) / after.duration);
  };
  after.onplay = () => { if (playing()) before.play().catch(() => {}); $("play").textContent = "Pause"; };
  after.onpause = () => {
    if (playing()) { before.pause(); before.currentTime = after.currentTime; }
    $("play").textContent = "Play";
  };
}

// The sound comes from the "after" video (the other stays muted: one sound, in step).
function setMuted(m) {
  const a = $("after");
  if (a && a.tagName === "VIDEO") a.muted = m;
  $("mute").textContent = m ? "Sound off" : "Sound on";
  $("mute").setAttribute("aria-pressed", String(m));
}
$("mute").onclick = () => { const a = $("after"); if (a) setMuted(!a.muted); };
$("play").onclick = () => { const a = $("after"); if (a) (a.paused ? a.play() : a.pause()); };
$("seek").oninput = () => {
  const a = $("after"), b = $("before");
  if (a && a.duration) {
    a.currentTime = ($("seek").value / 1000) * a.duration;
    if (b && b.tagName === "VIDEO") b.currentTime = a.currentTime;
  }
};

function naturalSize(el) {
  return el.tagName === "VIDEO" ? [el.videoWidth, el.videoHeight] : [el.naturalWidth, el.naturalHeight];
}

function applyZoom() {
  const after = $("after");
  if (!after) return;
  const [w, h] = naturalSize(after);
  if (!w) return;
  const z = $("zoom").value;
  const stage = $("stage");
  const fitW = $("viewport").clientWidth;
  const fitH = window.innerHeight * 0.68;
  const width = z === "fit" ? Math.min(fitW, (fitH * w) / h) : (w * Number(z)) / (window.devicePixelRatio || 1);
  // Both layers live in one stage: zooming the stage keeps them in step.
  stage.style.width = `${width}px`;
  stage.style.height = `${(width * h) / w}px`;
}

function setSplit(v) {
  $("before-layer").style.clipPath = `inset(0 ${100 - v}% 0 0)`;
  $("divider").style.left = `${v}%`;
  $("slider-value").textContent = `${v} %`;
}

$("slider").addEventListener("input", () => setSplit($("slider").value));
$("zoom").addEventListener("change", applyZoom);
window.addEventListener("resize", applyZoom);
$("stage").addEventListener("pointerdown", (e) => {
  const move = (ev) => {
    const r = $("stage").getBoundingClientRect();
    const v = Math.max(0, Math.min(100, Math.round((100 * (ev.clientX - r.left)) / r.width)));
    $("slider").value = v;
    setSplit(v);
  };
  move(e);
  $("stage").setPointerCapture(e.pointerId);
  $("stage").onpointermove = move;
  $("stage").onpointerup = () => { $("stage").onpointermove = null; };
});
$("edit-open").onclick = () => current && openEdit(current);

// ---- edit: canvas preview, operations replayed on the server ----

let editing = null; // {job, src: canvas of the result (at most 1600 px), W, H (full size), k}

function openEdit(job) {
  const [W, H] = [job.json.width, job.json.height];
  if (!W) return;
  $("edit-panel").hidden = false;
  $("edit-name").textContent = job.json.name;
  $("edit-msg").textContent = "loading…";
  for (const [id, v] of [["crop-x", 0], ["crop-y", 0], ["crop-w", W], ["crop-h", H], ["rotate", "0"],
    ["brightness", 0], ["contrast", 1], ["saturation", 1], ["filter", ""], ["filter-amount", 1], ["wm-text", ""], ["out-w", ""], ["out-h", ""],
    ["wm-size", 0], ["wm-opacity", 0.8]]) $(id).value = v;
  $("flip-h").checked = $("flip-v").checked = false;
  $("wm-image").value = "";
  if (typeof annotations !== "undefined") annotations.reset(); // draw.js
  const k = Math.min(1, 1600 / Math.max(W, H));
  const src = document.createElement("canvas");
  src.width = Math.max(1, Math.round(W * k));
  src.height = Math.max(1, Math.round(H * k));
  editing = { job, src, W, H, k };
  const draw = (el) => {
    src.getContext("2d").drawImage(el, 0, 0, src.width, src.height);
    $("edit-msg").textContent = "";
    preview();
  };
  const url = `/api/jobs/${job.json.id}/result?inline=1`;
  if (job.json.media === "video") {
    const v = document.createElement("video");
    v.muted = true; v.preload = "auto"; v.src = url;
    v.onloadeddata = () => { v.currentTime = Math.min(0.5, (v.duration || 1) / 2); };
    v.onseeked = () => draw(v);
    v.onerror = () => { $("edit-msg").textContent = "this browser could not load the result for the preview; Apply still works on it whole"; };
  } else {
    const img = new Image();
    img.onload = () => draw(img);
    const scaled = `/api/jobs/${job.json.id}/result?fit=1600`;
    img.onerror = () => {
      // The browser could not take it whole: the server's copy at the preview's own size, or words.
      if (!img.src.includes("fit=")) { img.src = scaled; return; }
      $("edit-msg").textContent = "this browser could not load the result for the preview; Apply still works on it whole";
    };
    // A very large result: the server's copy scaled to the preview's own size.
    img.src = tooLarge(job.json) ? scaled : url;
  }
  $("edit-panel").scrollIntoView({ block: "nearest" });
}

function num(id) { return Number($(id).value); }

function operations() {
  const { W, H } = editing;
  const ops = [];
  const [x, y, w, h] = [num("crop-x"), num("crop-y"), num("crop-w"), num("crop-h")];
  if (x || y || w !== W || h !== H) ops.push({ op: "crop", x, y, width: w, height: h });
  const deg = Number($("rotate").value);
  if (deg) ops.push({ op: "rotate", degrees: deg });
  if ($("flip-h").checked) ops.push({ op: "flip", direction: "horizontal" });
  if ($("flip-v").checked) ops.push({ op: "flip", direction: "vertical" });
  const [b, c, s] = [num("brightness"), num("contrast"), num("saturation")];
  if (b !== 0 || c !== 1 || s !== 1) ops.push({ op: "adjust", brightness: b, contrast: c, saturation: s });
  if ($("filter").value) ops.push({ op: "filter", name: $("filter").value, amount: num("filter-amount") });
  if ($("out-w").value && $("out-h").value) ops.push({ op: "resize", width: num("out-w"), height: num("out-h") });
  if (typeof annotations !== "undefined") ops.push(...annotations.operations()); // draw.js
  const mark = { position: $("wm-pos").value, opacity: num("wm-opacity") };
  if (num("wm-size") > 0) mark.size = num("wm-size");
  if ($("wm-text").value) ops.push({ op: "watermark", text: $("wm-text").value, ...mark });
  if (editing.logo) ops.push({ op: "watermark", image: editing.logo.data, ...mark });
  return ops;
}

// A filter on RGBA pixels with the server's maths (edit/picture.rs); `scale` is the preview's
// size over the full picture's, so a blur's radius shrinks with it.
function filterPixels(d, op, scale) {
  const p = d.data, w = d.width, h = d.height, a = op.amount;
  const mix = (m) => {
    for (let i = 0; i < p.length; i += 4) {
      const v = [p[i] / 255, p[i + 1] / 255, p[i + 2] / 255];
      for (let k = 0; k < 3; k++) {
        const t = m[k][0] * v[0] + m[k][1] * v[1] + m[k][2] * v[2];
        p[i + k] = Math.round(255 * Math.min(1, Math.max(0, v[k] + (t - v[k]) * a)));
      }
    }
  };
  const gauss = (sigma) => {
    const out = new Float32Array(w * h * 3);
    for (let i = 0, j = 0; i < p.length; i += 4, j += 3) { out[j] = p[i] / 255; out[j + 1] = p[i + 1] / 255; out[j + 2] = p[i + 2] / 255; }
    if (sigma <= 0) return out;
    const r = Math.ceil(3 * sigma), ker = [];
    let sum = 0;
    for (let i = -r; i <= r; i++) { ker.push(Math.exp(-(i * i) / (2 * sigma * sigma))); sum += ker[ker.length - 1]; }
    for (let i = 0; i < ker.length; i++) ker[i] /= sum;
    const tmp = new Float32Array(out.length);
    const pass = (src, dst, horizontal) => {
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < 3; k++) {
        let s = 0;
        for (let j = -r; j <= r; j++) {
          const xx = horizontal ? Math.min(w - 1, Math.max(0, x + j)) : x;
          const yy = horizontal ? y : Math.min(h - 1, Math.max(0, y + j));
          s += ker[j + r] * src[(yy * w + xx) * 3 + k];
        }
        dst[(y * w + x) * 3 + k] = s;
      }
    };
    pass(out, tmp, true);
    pass(tmp, out, false);
    return out;
  };
  if (op.name === "grayscale") mix([[0.2126, 0.7152, 0.0722], [0.2126, 0.7152, 0.0722], [0.2126, 0.7152, 0.0722]]);
  else if (op.name === "sepia") mix([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]);
  else if (op.name === "invert") for (let i = 0; i < p.length; i += 4) for (let k = 0; k < 3; k++) p[i + k] = Math.round(p[i + k] + (255 - 2 * p[i + k]) * a);
  else if (op.name === "blur" || op.name === "sharpen") {
    const b = gauss((op.name === "blur" ? a : 1) * scale);
    for (let i = 0, j = 0; i < p.length; i += 4, j += 3) for (let k = 0; k < 3; k++) {
      const v = p[i + k] / 255;
      const out = op.name === "blur" ? b[j + k] : v + (v - b[j + k]) * a;
      p[i + k] = Math.round(255 * Math.min(1, Math.max(0, out)));
    }
  } else if (op.name === "vignette") {
    const cx = (w - 1) / 2, cy = (h - 1) / 2, far = Math.max(1, cx * cx + cy * cy);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const gain = 1 - (a * ((x - cx) ** 2 + (y - cy) ** 2)) / far;
      for (let k = 0; k < 3; k++) p[(y * w + x) * 4 + k] = Math.round(p[(y * w + x) * 4 + k] * gain);
    }
  }
}

// The same operations on the small copy, in the same order and with the same colour maths as
// the server (edit.rs), so the preview shows what Apply gives.
function preview() {
  if (!editing) return;
  const { src, k } = editing;
  let cur = src, fw = editing.W, fh = editing.H; // full-size dimensions so far
  const canvas = (w, h) => { const c = document.createElement("canvas"); c.width = Math.max(1, w); c.height = Math.max(1, h); return c; };
  for (const op of operations()) {
    if (op.op === "crop") {
      const c = canvas(Math.round(op.width * k), Math.round(op.height * k));
      c.getContext("2d").drawImage(cur, op.x * k, op.y * k, op.width * k, op.height * k, 0, 0, c.width, c.height);
      cur = c; fw = op.width; fh = op.height;
    } else if (op.op === "rotate") {
      const turn = op.degrees !== 180;
      const c = canvas(turn ? cur.height : cur.width, turn ? cur.width : cur.height);
      const g = c.getContext("2d");
      g.translate(c.width / 2, c.height / 2);
      g.rotate((op.degrees * Math.PI) / 180);
      g.drawImage(cur, -cur.width / 2, -cur.height / 2);
      cur = c;
      if (turn) [fw, fh] = [fh, fw];
    } else if (op.op === "flip") {
      const c = canvas(cur.width, cur.height);
      const g = c.getContext("2d");
      if (op.direction === "horizontal") { g.translate(c.width, 0); g.scale(-1, 1); } else { g.translate(0, c.height); g.scale(1, -1); }
      g.drawImage(cur, 0, 0);
      cur = c;
    } else if (op.op === "adjust") {
      const c = canvas(cur.width, cur.height);
      const g = c.getContext("2d");
      g.drawImage(cur, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height);
      const p = d.data;
      for (let i = 0; i < p.length; i += 4) {
        const r = p[i] / 255, gg = p[i + 1] / 255, bl = p[i + 2] / 255;
        const l = 0.2126 * r + 0.7152 * gg + 0.0722 * bl;
        for (let j = 0; j < 3; j++) {
          const v = p[i + j] / 255;
          const sat = l + (v - l) * op.saturation;
          p[i + j] = Math.round(255 * Math.min(1, Math.max(0, (sat - 0.5) * op.contrast + 0.5 + op.brightness)));
        }
      }
      g.putImageData(d, 0, 0);
      cur = c;
    } else if (op.op === "filter") {
      const c = canvas(cur.width, cur.height);
      const g = c.getContext("2d");
      g.drawImage(cur, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height);
      filterPixels(d, op, c.width / fw);
      g.putImageData(d, 0, 0);
      cur = c;
    } else if (op.op === "resize") {
      const kk = Math.min(1, 1600 / Math.max(op.width, op.height));
      const c = canvas(Math.round(op.width * kk), Math.round(op.height * kk));
      c.getContext("2d").drawImage(cur, 0, 0, c.width, c.height);
      cur = c; fw = op.width; fh = op.height;
    } else if (typeof annotations !== "undefined" && annotations.kinds.includes(op.op)) {
      cur = annotations.preview(cur, op, cur.width / fw); // draw.js
    } else if (op.op === "watermark" && op.image) {
      const c = canvas(cur.width, cur.height);
      const g = c.getContext("2d");
      g.drawImage(cur, 0, 0);
      const scale = c.width / fw, img = editing.logo.img;
      const mh = (op.size || Math.max(1, Math.floor(Math.min(fw, fh) / 8))) * scale;
      const mw = (img.naturalWidth * mh) / Math.max(1, img.naturalHeight);
      const m = Math.floor(Math.min(fw, fh) / 40) * scale;
      const pos = {
        "top-left": [m, m], "top-right": [c.width - mw - m, m], "bottom-left": [m, c.height - mh - m],
        "bottom-right": [c.width - mw - m, c.height - mh - m], center: [(c.width - mw) / 2, (c.height - mh) / 2],
      }[op.position];
      g.globalAlpha = op.opacity;
      g.drawImage(img, pos[0], pos[1], mw, mh);
      cur = c;
    } else if (op.op === "watermark") {
      const c = canvas(cur.width, cur.height);
      const g = c.getContext("2d");
      g.drawImage(cur, 0, 0);
      const scale = c.width / fw;
      const size = (op.size || Math.max(8, Math.floor(Math.min(fw, fh) / 20))) * scale;
      const margin = Math.floor(Math.min(fw, fh) / 40) * scale;
      g.font = `bold ${size}px monospace`;
      g.globalAlpha = op.opacity;
      g.textBaseline = "top";
      const tw = g.measureText(op.text).width + size / 4;
      const th = size * 1.25;
      const pos = {
        "top-left": [margin, margin], "top-right": [c.width - tw - margin, margin],
        "bottom-left": [margin, c.height - th - margin], "bottom-right": [c.width - tw - margin, c.height - th - margin],
        center: [(c.width - tw) / 2, (c.height - th) / 2],
      }[op.position];
      g.lineWidth = Math.max(1, size / 8);
      g.strokeStyle = "rgba(0,0,0,0.63)";
      g.strokeText(op.text, pos[0] + size / 8, pos[1] + size / 8);
      g.fillStyle = "#fff";
      g.fillText(op.text, pos[0] + size / 8, pos[1] + size / 8);
      cur = c;
    }
  }
  const out = $("preview");
  const fit = Math.min(720 / cur.width, 480 / cur.height);
  out.width = Math.max(1, Math.round(cur.width * fit));
  out.height = Math.max(1, Math.round(cur.height * fit));
  out.getContext("2d").drawImage(cur, 0, 0, out.width, out.height);
  $("preview").dataset.size = `${fw}x${fh}`;
  showValues();
  drawCrop();
}

// The slider values beside the sliders.
function showValues() {
  for (const id of ["brightness", "contrast", "saturation"]) $(`${id}-value`).textContent = Number($(id).value).toFixed(2);
  $("wm-size-value").textContent = num("wm-size") > 0 ? `${num("wm-size")} px` : "auto";
  // The amount's range is the filter's: a radius in pixels for blur, a gain for sharpen.
  const max = { blur: 50, sharpen: 5 }[$("filter").value] || 1;
  if (Number($("filter-amount").max) !== max) {
    $("filter-amount").max = String(max);
    $("filter-amount").step = max > 1 ? "0.1" : "0.05";
  }
  $("filter-amount-value").textContent = Number($("filter-amount").value).toFixed(2);
  $("wm-opacity-value").textContent = `${Math.round(100 * num("wm-opacity"))} %`;
}

// The whole result, small, with the crop rectangle drawn on it and the rest dimmed.
function drawCrop() {
  if (!editing) return;
  const { src, W, H } = editing;
  const cv = $("crop-view");
  const k = Math.min(240 / W, 160 / H);
  cv.width = Math.max(1, Math.round(W * k));
  cv.height = Math.max(1, Math.round(H * k));
  const g = cv.getContext("2d");
  g.drawImage(src, 0, 0, cv.width, cv.height);
  const [x, y, w, h] = [num("crop-x"), num("crop-y"), num("crop-w"), num("crop-h")].map((v) => v * k);
  g.fillStyle = "rgba(0,0,0,0.55)";
  g.fillRect(0, 0, cv.width, y);
  g.fillRect(0, y + h, cv.width, cv.height - y - h);
  g.fillRect(0, y, x, h);
  g.fillRect(x + w, y, cv.width - x - w, h);
  g.strokeStyle = "#2f6fdf";
  g.lineWidth = 2;
  g.strokeRect(x + 1, y + 1, Math.max(0, w - 2), Math.max(0, h - 2));
  cv.dataset.crop = `${num("crop-x")},${num("crop-y")},${num("crop-w")},${num("crop-h")}`;
}

// The size before the resize step: the crop's, turned by a quarter turn.
function geometry() {
  const [w, h] = [num("crop-w") || editing.W, num("crop-h") || editing.H];
  return [90, 270].includes(Number($("rotate").value)) ? [h, w] : [w, h];
}

// With "keep the shape", one dimension follows the other.
for (const [from, to, i] of [["out-w", "out-h", 0], ["out-h", "out-w", 1]]) {
  $(from).addEventListener("input", () => {
    if (!editing || !$("out-lock").checked || !$(from).value) return;
    const g = geometry();
    $(to).value = Math.max(1, Math.round((num(from) * g[1 - i]) / g[i]));
  });
}

for (const id of ["crop-x", "crop-y", "crop-w", "crop-h", "rotate", "flip-h", "flip-v", "brightness", "contrast",
  "saturation", "filter", "filter-amount", "wm-text", "wm-pos", "out-w", "out-h", "wm-size", "wm-opacity"]) $(id).addEventListener("input", preview);
$("wm-image").addEventListener("change", () => {
  const f = $("wm-image").files[0];
  if (!editing) return;
  editing.logo = null;
  if (!f) { preview(); return; }
  const r = new FileReader();
  r.onload = () => {
    const img = new Image();
    img.onload = () => { editing.logo = { data: r.result, img }; preview(); };
    img.src = r.result;
  };
  r.readAsDataURL(f);
});
$("crop-reset").onclick = () => {
  if (!editing) return;
  $("crop-x").value = 0; $("crop-y").value = 0; $("crop-w").value = editing.W; $("crop-h").value = editing.H;
  preview();
};
$("edit-close").onclick = () => { $("edit-panel").hidden = true; editing = null; };

// Drag on the preview to crop (only before rotations and flips, where the preview maps
// straight onto the result).
$("preview").addEventListener("pointerdown", (e) => {
  if (!editing || Number($("rotate").value) || $("flip-h").checked || $("flip-v").checked) return;
  if (typeof annotations !== "undefined" && annotations.active()) return; // drawing (draw.js)
  const cv = $("preview");
  const r = cv.getBoundingClientRect();
  // Full-size pixels of the (possibly already cropped) preview: start from the whole picture.
  const [cx, cy, cw, ch] = [num("crop-x"), num("crop-y"), num("crop-w"), num("crop-h")];
  const toFull = (ev) => [
    Math.round(cx + ((ev.clientX - r.left) / r.width) * cw),
    Math.round(cy + ((ev.clientY - r.top) / r.height) * ch),
  ];
  const [x0, y0] = toFull(e);
  cv.setPointerCapture(e.pointerId);
  cv.onpointerup = (ev) => {
    cv.onpointerup = null;
    const [x1, y1] = toFull(ev);
    const [x, y] = [Math.max(0, Math.min(x0, x1)), Math.max(0, Math.min(y0, y1))];
    const w = Math.min(editing.W - x, Math.abs(x1 - x0)), h = Math.min(editing.H - y, Math.abs(y1 - y0));
    if (w < 2 || h < 2) return;
    $("crop-x").value = x; $("crop-y").value = y; $("crop-w").value = w; $("crop-h").value = h;
    preview();
  };
});

$("apply").onclick = async () => {
  if (!editing) return;
  const ops = operations();
  if (!ops.length) { $("edit-msg").textContent = "nothing to apply"; return; }
  $("edit-msg").textContent = "applying…";
  try {
    const r = await api(`/api/jobs/${editing.job.json.id}/edit`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ operations: ops }),
    });
    track(r.id);
    $("edit-msg").textContent = "queued as a new result";
  } catch (e) {
    $("edit-msg").textContent = e.message;
  }
};

// ---- settings kept across reloads (this browser only) ----

const KEPT = ["preset", "denoise", "model", "image-format", "video-format", "quality", "width", "height"];

function keep() {
  try {
    const s = Object.fromEntries(KEPT.map((id) => [id, $(id).value]));
    s.scale = document.querySelector("input[name=scale]:checked").value;
    s.temporal = $("temporal").checked;
    localStorage.setItem("upscale-settings", JSON.stringify(s));
  } catch (e) { /* storage off: nothing kept */ }
}

// Puts back the kept values of `ids` (a choice a list no longer offers is left as it is).
function restore(ids) {
  let s = {};
  try { s = JSON.parse(localStorage.getItem("upscale-settings") || "{}"); } catch (e) { return; }
  for (const id of ids.filter((i) => i !== "scale")) {
    const el = $(id), v = s[id];
    if (v == null || !el) continue;
    if (el.tagName === "SELECT" && ![...el.options].some((o) => o.value === v)) continue;
    el.value = v;
  }
  if (typeof s.temporal === "boolean") $("temporal").checked = s.temporal;
  if (ids.includes("scale") && s.scale) {
    const r = document.querySelector(`input[name=scale][value="${s.scale}"]`);
    if (r) { r.checked = true; r.dispatchEvent(new Event("change")); }
  }
}

// ---- start ----

function setUp() {
  // A file dropped beside the drop zone would make the browser open it in place of the page.
  for (const t of ["dragover", "drop"]) window.addEventListener(t, (e) => e.preventDefault());
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addFiles(e.dataTransfer.files); });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("file").click(); } });
  $("file").addEventListener("change", () => { addFiles($("file").files); $("file").value = ""; });
  document.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData ? e.clipboardData.files : [])];
    if (files.length) { e.preventDefault(); addFiles(files); }
  });
  for (const r of document.querySelectorAll("input[name=scale]")) {
    r.addEventListener("change", () => { $("size-fields").hidden = r.value !== "size" || !r.checked; });
  }
  $("settings-msg").hidden = true;
  const check = () => {
    const size = document.querySelector("input[name=scale]:checked").value === "size";
    const blank = size && !$("width").value.trim() && !$("height").value.trim();
    $("settings-msg").textContent = blank ? "Exact size: give a width, a height or both." : "";
    $("settings-msg").hidden = !blank;
  };
  for (const id of ["width", "height"]) $(id).addEventListener("input", check);
  for (const r of document.querySelectorAll("input[name=scale]")) r.addEventListener("change", check);
  restore(["image-format", "video-format", "quality", "width", "height", "scale"]);
  for (const id of KEPT) { $(id).addEventListener("change", keep); $(id).addEventListener("input", keep); }
  for (const r of document.querySelectorAll("input[name=scale]")) r.addEventListener("change", keep);
  $("temporal").addEventListener("change", keep);
  api("/api/models").then((m) => {
    Object.assign(server, {
      instance: m.instance, maxUpload: m.max_upload_bytes, maxUploadMib: m.max_upload_mib,
      maxSide: m.max_side, maxPixels: m.max_pixels, maxJobs: m.max_jobs || 0,
    });
    pump();
    $("width").max = $("height").max = m.max_side;
    $("limits").textContent = `Files up to ${m.max_upload_mib} MiB; pictures and video frames up to ` +
      `${Math.round(m.max_pixels / 1e6)} megapixels; results up to ${m.max_side} pixels a side.`;
    for (const x of m.models) {
      const o = document.createElement("option");
      o.value = x.name;
      o.textContent = `${x.name} (${x.scales.length ? "×" + x.scales.join(",") : "classic"})`;
      $("model").append(o);
    }
    restore(["model"]);
    setInterval(watchServer, 4000);
  }).catch(() => banner("The server is not answering."));
  api("/api/presets").then((p) => {
    presets = p;
    for (const x of p.presets) {
      const o = document.createElement("option");
      o.value = x.id;
      o.textContent = `${x.label} — ${x.model}`;
      o.dataset.model = x.model;
      if (x.id === p.image_default) o.selected = true;
      $("preset").append(o);
    }
    const purpose = () => {
      const x = p.presets.find((y) => y.id === $("preset").value);
      $("preset-purpose").textContent = x ? `${x.purpose}; network ${x.model}` : "";
      // A network made for something else than some of what the preset is used on says so.
      $("preset-note").textContent = x && x.note ? `Note: ${x.note}.` : "";
      $("preset-note").hidden = !(x && x.note);
      // The network's denoise levels, and its 1× clean-up, where the preset has them.
      const levels = (x && x.denoise_levels) || [];
      const names = { "-1": "conservative", 0: "none", 1: "light", 2: "medium", 3: "strong" };
      $("denoise").replaceChildren(...levels.map((l) => {
        const o = document.createElement("option");
        o.value = String(l);
        o.textContent = `${names[l] || l} (${l})`;
        o.selected = l === x.denoise;
        return o;
      }));
      $("denoise-field").hidden = levels.length === 0;
      $("scale-1").hidden = !(x && x.clean_only);
      if ($("scale-1").hidden && $("scale-1").querySelector("input").checked) {
        click2();
      }
    };
    // The 1× choice gone with its preset: back to 2×.
    const click2 = () => {
      const two = document.querySelector("input[name=scale][value='2']");
      two.checked = true;
      two.dispatchEvent(new Event("change"));
    };
    $("preset").addEventListener("change", purpose);
    restore(["preset"]);
    purpose();
    restore(["denoise"]);
  }).catch(() => {});
  api("/api/jobs").then((l) => {
    pruneLabels(l.jobs.map((j) => j.id));
    for (const j of l.jobs) track(j.id, j);
  }).catch(() => {});
}

setUp();
