// The drawing canvas (runs as gr.HTML's js_on_load: `element`, `props`, `trigger`, `watch` are given).
//
// Why not gr.Sketchpad: after each stroke it exports its layers as full-size images and sends them
// in six requests (three uploads, three component_server calls) before the event itself, about
// 1.5 s here, and loses strokes drawn meanwhile; here a stroke ends with one small PNG data URL
// (the model's size, a few kB) written into props.value and one `input` event.
//
// While the pen moves, the picture so far is sent the same way, at most data-live-fps times a
// second (the operator's --live-fps; 0: only when the pen lifts). The event's
// trigger_mode="always_last" keeps one request of this page in flight: a picture written while one
// is being translated waits, the newest replaces it, and it is sent the moment the photo comes
// back. So photos follow the pen as fast as the server keeps up, and the drawing never waits for
// the network: the handlers only draw, and the export runs in a timer at most that often.
//
// The drawing is a list of operations (strokes, loaded pictures, clears) replayed onto white, which
// makes undo, redo and clear exact. Performance marks "sketch:release" and "sketch:sent" let
// benchmarks/app_latency.py split the time a stroke takes.

const pad = element.querySelector(".pad");
const canvas = element.querySelector("canvas");
const ctx = canvas.getContext("2d");
const sizeInput = element.querySelector(".size input");
const liveInput = element.querySelector(".live input");
const exportSize = Number(pad.dataset.exportSize) || 256;
const liveFps = Number(pad.dataset.liveFps) || 0;
const liveUrl = pad.dataset.liveUrl || ""; // the live route, when the server has one (live.py)
const small = document.createElement("canvas");
small.width = small.height = exportSize;
const smallCtx = small.getContext("2d");

const colours = element.querySelector(".colours");
const picker = colours.querySelector("input[type=color]");

// Widths in canvas pixels (512 across); the size slider edits the current tool's. A colour pen is
// wide: split_drawing reads a coloured stroke as a colour hint only when it is at least 3 pixels
// wide at the model's size (256: half the canvas's), and a hint is meant to be scribbled over an
// area. 20 px here is 10 px at 256.
const widths = { pen: 6, colour: 20, eraser: 32 };
let tool = "pen";
let colour = "#000000"; // the pen's: black draws lines, any other colour a hint
let ops = []; // what is drawn, oldest first
let undone = []; // what undo took back, for redo
let stroke = null; // the stroke being drawn
let sent = ""; // the value this canvas last produced or showed
let liveTimer = null; // the next export during a stroke, when one is due
let liveAt = -Infinity; // when the last picture was sent during a stroke
let inFlight = false; // a picture is at the live route
let waiting = null; // the newest picture drawn meanwhile, to send when its photo comes

function point(event) {
  const box = canvas.getBoundingClientRect();
  return [
    ((event.clientX - box.left) * canvas.width) / box.width,
    ((event.clientY - box.top) * canvas.height) / box.height,
  ];
}

// Draw a stroke's line through `points`. A zero-length line draws nothing, so every point is
// nudged a hundredth of a pixel: a tap leaves a dot.
function line(stroke, points) {
  ctx.strokeStyle = stroke.colour;
  ctx.lineWidth = stroke.width;
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(...points[0]);
  for (const p of points) ctx.lineTo(p[0] + 0.01, p[1]);
  ctx.stroke();
}

function paint(op) {
  if (op.kind === "clear") {
    ctx.fillStyle = "white";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  } else if (op.kind === "picture") {
    ctx.drawImage(op.picture, 0, 0, canvas.width, canvas.height);
  } else {
    line(op, op.points);
  }
}

function visibleOps() {
  const start = ops.map((op) => op.kind).lastIndexOf("clear");
  return ops.slice(start + 1);
}

function redraw() {
  paint({ kind: "clear" });
  visibleOps().forEach(paint);
  element.querySelector("[data-action=undo]").disabled = ops.length === 0;
  element.querySelector("[data-action=redo]").disabled = undone.length === 0;
}

// The drawing changed: hand it to Gradio. An empty canvas is "" (the photo is cleared).
function commit() {
  redraw();
  send(visibleOps().length > 0);
}

// What the canvas shows now (or "" for nothing drawn) -> props.value, and its photo when live:
// from the live route when the server has one, else through an `input` event on Gradio's queue.
function send(drawn) {
  smallCtx.drawImage(canvas, 0, 0, exportSize, exportSize);
  sent = drawn ? small.toDataURL("image/png") : "";
  props.value = sent;
  performance.mark("sketch:sent"); // before the request leaves: benchmarks pair them in this order
  if (liveInput.checked) (liveUrl ? photoOf(sent) : trigger("input"));
}

// The live route (live.py): one request of this page in flight. A picture drawn meanwhile waits,
// the newest replacing it, and goes the moment the photo comes back; a busy server (503) or a
// lost connection is retried after a moment with the newest picture, so the last one always gets
// its photo.
async function photoOf(sketch) {
  if (inFlight) {
    waiting = sketch;
    return;
  }
  inFlight = true;
  try {
    const options = window.sketch2photoOptions || { model: "", variation: false, seed: 0 };
    const response = await fetch(liveUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sketch, ...options }),
    });
    const answer = await response.json().catch(() => ({}));
    if (response.status === 503) throw new Error("The app is busy");
    showPhoto(response.ok ? answer.photo : null, response.ok ? "" : answer.error || "No photo.");
  } catch (problem) {
    showBusy(`${problem.message || "No connection"}: your drawing waits for its turn.`);
    await new Promise((done) => setTimeout(done, 500));
    if (waiting === null) waiting = sketch;
  } finally {
    inFlight = false;
    if (waiting !== null) {
      const next = waiting;
      waiting = null;
      photoOf(next);
    }
  }
}

// Where Gradio's #photo component shows the photo (app_static/photo.html).
const photoBox = () => document.querySelector("#photo .photo");
const note = (className, text) => Object.assign(document.createElement("p"), { className, textContent: text });

// A note under the photo shown, until the next photo replaces both.
function showBusy(text) {
  photoBox()?.querySelector(".busy")?.remove();
  photoBox()?.append(note("problem busy", text));
}

// The photo, as photo.html shows it, or what went wrong.
function showPhoto(url, problem) {
  const box = photoBox();
  if (!box) return;
  box.replaceChildren();
  if (url) {
    const img = Object.assign(document.createElement("img"), { src: url });
    img.alt = "The photo made from the drawing";
    const link = Object.assign(document.createElement("a"), { href: url, className: "download" });
    Object.assign(link, { download: "photo.jpg", title: "Download the photo", textContent: "Download" });
    box.append(img, link);
  } else if (problem) {
    box.append(note("problem", problem));
  }
}

// During a stroke: send the picture so far once 1/liveFps s has passed since the last one.
function sendLiveSoon() {
  if (!liveFps || !liveInput.checked || liveTimer !== null) return;
  const wait = Math.max(0, liveAt + 1000 / liveFps - performance.now());
  liveTimer = setTimeout(() => {
    liveTimer = null;
    if (!stroke) return; // the pen lifted meanwhile: release() sent the whole drawing
    liveAt = performance.now();
    send(true);
  }, wait);
}

function push(op) {
  ops.push(op);
  undone = [];
}

canvas.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  canvas.setPointerCapture(event.pointerId);
  const ink = tool === "eraser" ? "white" : penColour();
  stroke = { kind: "stroke", colour: ink, width: widths[widthOf()], points: [point(event)] };
  line(stroke, stroke.points);
});

canvas.addEventListener("pointermove", (event) => {
  if (!stroke) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) {
    const p = point(e);
    line(stroke, [stroke.points[stroke.points.length - 1], p]);
    stroke.points.push(p);
  }
  sendLiveSoon();
});

function release() {
  if (!stroke) return;
  performance.mark("sketch:release");
  push(stroke);
  stroke = null;
  clearTimeout(liveTimer);
  liveTimer = null;
  commit();
}
canvas.addEventListener("pointerup", release);
canvas.addEventListener("pointercancel", release);

function undo() {
  if (ops.length) undone.push(ops.pop());
  commit();
}
function redo() {
  if (undone.length) ops.push(undone.pop());
  commit();
}
const actions = {
  undo,
  redo,
  clear: () => {
    if (visibleOps().length) push({ kind: "clear" });
    commit();
  },
};

// The colour the pen draws in: black while the colours are hidden (the model takes no hints).
function penColour() {
  return colours.offsetParent === null ? "#000000" : colour;
}

// Which width the size slider shows and edits: the eraser's, the black pen's or the colour pen's.
function widthOf() {
  if (tool === "eraser") return "eraser";
  return penColour() === "#000000" ? "pen" : "colour";
}

function choose(name) {
  tool = name;
  sizeInput.value = widths[widthOf()];
  for (const b of element.querySelectorAll(".tool")) b.classList.toggle("active", b.dataset.tool === name);
}

// A swatch or the picker: the pen takes that colour.
function chooseColour(value) {
  colour = value.toLowerCase();
  for (const b of colours.querySelectorAll(".swatch")) b.classList.toggle("active", b.dataset.colour === colour);
  choose("pen");
}
colours.addEventListener("click", (event) => {
  const swatch = event.target.closest(".swatch");
  if (swatch) chooseColour(swatch.dataset.colour);
});
picker.addEventListener("input", () => chooseColour(picker.value));

element.querySelector(".toolbar").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.dataset.tool) choose(button.dataset.tool);
  if (button.dataset.action) actions[button.dataset.action]();
});
sizeInput.addEventListener("input", () => (widths[widthOf()] = Number(sizeInput.value)));
liveInput.addEventListener("change", () => liveInput.checked && commit());

pad.addEventListener("keydown", (event) => {
  const key = event.key.toLowerCase();
  if ((event.ctrlKey || event.metaKey) && key === "z") (event.shiftKey ? redo : undo)();
  else if ((event.ctrlKey || event.metaKey) && key === "y") redo();
  else if (key === "p" || key === "e") choose(key === "p" ? "pen" : "eraser");
  else return;
  event.preventDefault();
});

// A picture from the server (an upload or an example) becomes one more operation: undo removes it.
watch("value", () => {
  if (!props.value || props.value === sent) return;
  const picture = new Image();
  picture.onload = () => {
    push({ kind: "picture", picture });
    commit();
  };
  picture.src = props.value;
});

redraw();
pad.dataset.ready = "true"; // strokes drawn before this point would be lost: tests wait for it
