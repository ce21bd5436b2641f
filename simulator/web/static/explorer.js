// Live updates for the explorer's pages, without reloading them.
// A page that may still change names its event stream in data-stream (simulator/web/live.py);
// new messages, summaries and grids arrive as HTML the server rendered and escaped, and are put
// where they belong. A message or summary the page already shows is skipped.
"use strict";

function nearBottom() {
  return window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
}

function follow(container, html, id) {
  if (id && document.getElementById(id)) return;
  const stick = nearBottom();
  container.insertAdjacentHTML("beforeend", html);
  if (stick) window.scrollTo(0, document.body.scrollHeight);
}

function watchConversation(main, source) {
  const transcript = document.getElementById("transcript");
  const status = document.getElementById("status");
  source.addEventListener("message", (e) => {
    const data = JSON.parse(e.data);
    follow(transcript, data.html, "m-" + data.index);
    const count = document.getElementById("count");
    if (count) count.textContent = String(transcript.querySelectorAll(".msg").length);
  });
  source.addEventListener("summary", (e) => {
    const data = JSON.parse(e.data);
    follow(transcript, data.html, "summary-" + data.day);
  });
  source.addEventListener("status", (e) => {
    const data = JSON.parse(e.data);
    status.textContent = data.status;
    status.className = "status status-" + data.status;
    const ending = document.getElementById("ending");
    if (ending) ending.textContent = data.ending;
  });
}

function watchBatch(main, source) {
  source.addEventListener("grid", (e) => {
    const data = JSON.parse(e.data);
    document.getElementById("grid").innerHTML = data.html;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const main = document.querySelector("main[data-stream]");
  if (!main || !window.EventSource) return;
  const source = new EventSource(main.dataset.stream);
  main.classList.add("is-live");
  if (main.dataset.kind === "batch") watchBatch(main, source); else watchConversation(main, source);
  source.addEventListener("end", () => { source.close(); main.classList.remove("is-live"); });
});
